import ECSVPCCore
import FoundationEssentials
import Glibc

/// The last status document the daemon saved (`ECSVPCD_STATE_DIR/status.json`), shown by `ecsvpcd status`
/// when the daemon is not running, so an operator still sees what it last knew and how old that is.
public enum SavedStatus {
    /// The file name inside the state directory.
    public static let fileName = "status.json"

    /// What reading the saved document found.
    public enum Outcome: Sendable {
        case absent
        /// The document, and how long ago it was taken (its `updatedAt`, never negative).
        case loaded(StatusDocument, age: Duration)
        /// The file is there but unusable; the message names the file and the problem.
        case unreadable(message: String)
    }

    public static func path(stateDir: String) -> String {
        URL(fileURLWithPath: stateDir).appendingPathComponent(fileName).path
    }

    /// The saved document and its age, or nil when there is none or it cannot be read (see `read`).
    public static func load(stateDir: String) -> (StatusDocument, age: Duration)? {
        if case .loaded(let document, let age) = read(stateDir: stateDir) { return (document, age) }
        return nil
    }

    public static func read(stateDir: String, now: Date = Date()) -> Outcome {
        let path = path(stateDir: stateDir)
        let data: Data
        // stat(2) rather than "exists": the state directory is root's alone (0700), and a status reader of the
        // adm group who cannot look in must be told that, not that there is nothing saved.
        var info = stat()
        if stat(path, &info) != 0 {
            if errno == EACCES {
                return .unreadable(message: "\(path): permission denied (the state directory is root's only); run with sudo")
            }
            return .absent
        }
        do {
            data = Data(try SystemFile.read(path))
        } catch {
            return .unreadable(message: "cannot read the saved status: \(error)")
        }
        do {
            let document = try StatusDocument.decoder().decode(StatusDocument.self, from: data)
            let seconds = max(0, now.timeIntervalSince(document.updatedAt))
            return .loaded(document, age: .milliseconds(Int64(seconds * 1000)))
        } catch {
            return .unreadable(message: "\(path): the saved status is not a status document (\(Self.reason(error)))")
        }
    }

    private static func reason(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): "corrupt JSON" + Self.at(context)
        case DecodingError.keyNotFound(let key, let context): "missing \(key.stringValue)" + Self.at(context)
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            context.debugDescription + Self.at(context)
        default: "\(error)"
        }
    }

    private static func at(_ context: DecodingError.Context) -> String {
        context.codingPath.isEmpty ? "" : " at " + context.codingPath.map(\.stringValue).joined(separator: ".")
    }
}
