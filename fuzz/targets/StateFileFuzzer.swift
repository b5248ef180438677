// The state directory's files (Sources/ECSVPCD/State/StateStore.swift): state.json (the restart ledger) and
// status.json (the last status document), which a person may edit and a disk may damage. Input: a file.
// Checks: what reads writes back and reads again to the same bytes (a round trip, stable after the first); the
// loader moves a file it cannot read aside and starts with an empty ledger, never fails.
import ECSVPCCore
import FoundationEssentials
import Glibc
import Logging

private let scratch: String = {
    var template = Array("/tmp/ecsvpcd-fuzz-state.XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { fatalError("mkdtemp: \(errno)") }
    return String(cString: made)
}()

func fuzzStateFile(_ bytes: [UInt8]) {
    let data = Data(bytes)
    if let file = try? StatusDocument.decoder().decode(StateStore.StateFile.self, from: data) {
        guard let once = try? StatusDocument.encoder().encode(file) else { preconditionFailure("a read ledger does not write") }
        guard let reread = try? StatusDocument.decoder().decode(StateStore.StateFile.self, from: once),
            let twice = try? StatusDocument.encoder().encode(reread)
        else { preconditionFailure("a written ledger does not read back") }
        precondition(once == twice, "the ledger's round trip is not stable")
        precondition(reread.ledger.history.count == file.ledger.history.count)
    }
    if let document = try? StatusDocument.decoder().decode(StatusDocument.self, from: data) {
        guard let once = try? StatusDocument.encoder().encode(document),
            let reread = try? StatusDocument.decoder().decode(StatusDocument.self, from: once),
            let twice = try? StatusDocument.encoder().encode(reread)
        else { preconditionFailure("a status document does not write and read back") }
        precondition(once == twice, "the status document's round trip is not stable")
    }
    // The daemon's own loader, on the file as it would find it: it always starts.
    let store = StateStore(directory: scratch)
    _ = data.withUnsafeBytes { buffer in
        let fd = open(store.statePath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        return write(fd, buffer.baseAddress, buffer.count)
    }
    var logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .critical
    _ = store.loadLedger(logger: logger)
    // A file it could not read was moved aside: keep the scratch directory from filling up.
    if let names = try? FileManager.default.contentsOfDirectory(atPath: scratch) {
        for name in names { unlink(scratch + "/" + name) }
    }
}
