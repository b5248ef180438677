import Foundation
import Testing

@testable import ECSVPCD

@Suite("systemd/ecsvpcd.catalog")
struct SystemdCatalogTests {
    struct Entry {
        let id: String
        var headers: [String: String] = [:]
        var body: [String] = []
    }

    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let catalogPath = repository.appendingPathComponent("systemd/ecsvpcd.catalog").path

    /// The catalog format of journalctl --update-catalog, read strictly: journalctl itself skips what it
    /// does not understand without saying so.
    static func parse(_ text: String) throws -> [Entry] {
        var entries: [Entry] = []
        var inHeaders = false
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(line)
            let location = "line \(number + 1): \(line)"
            if line.hasPrefix("#") { continue }
            if line.hasPrefix("-- ") {
                let id = String(line.dropFirst(3))
                try #require(
                    id.count == 32 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase },
                    "bad id, \(location)"
                )
                entries.append(Entry(id: id))
                inHeaders = true
                continue
            }
            guard !entries.isEmpty else {
                try #require(line.isEmpty, "text before the first entry, \(location)")
                continue
            }
            if inHeaders {
                if line.isEmpty {
                    inHeaders = false
                    continue
                }
                let parts = line.split(separator: ":", maxSplits: 1)
                try #require(
                    parts.count == 2 && parts[1].hasPrefix(" ") && parts[0].allSatisfy { $0.isLetter || $0 == "-" },
                    "bad header, \(location)"
                )
                try #require(entries[entries.count - 1].headers[String(parts[0])] == nil, "header twice, \(location)")
                entries[entries.count - 1].headers[String(parts[0])] = String(parts[1].dropFirst())
            } else {
                entries[entries.count - 1].body.append(line)
            }
        }
        return entries
    }

    @Test("lists exactly the MessageID ids, each once")
    func sameIDs() throws {
        let entries = try Self.parse(String(contentsOfFile: Self.catalogPath, encoding: .utf8))
        #expect(entries.map(\.id).sorted() == MessageID.allCases.map(\.rawValue).sorted())
        #expect(Set(entries.map(\.id)).count == entries.count)
        #expect(Set(MessageID.allCases.map(\.rawValue)).count == MessageID.allCases.count)
    }

    @Test("every entry has Subject, Defined-By, Documentation and a text with ECSVPCD_ substitutions only")
    func entryFormat() throws {
        let entries = try Self.parse(String(contentsOfFile: Self.catalogPath, encoding: .utf8))
        for entry in entries {
            #expect(entry.headers.keys.sorted() == ["Defined-By", "Documentation", "Subject"], "\(entry.id)")
            #expect(entry.headers["Defined-By"] == "ecsvpcd")
            #expect(entry.headers["Documentation"] == "man:ecsvpcd(8)")
            #expect(entry.headers["Subject"]?.isEmpty == false)
            let text = entry.body.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(text.count > 80, "\(entry.id) says too little")
            let pieces = text.split(separator: "@", omittingEmptySubsequences: false)
            #expect(pieces.count % 2 == 1, "\(entry.id): unpaired @")
            for (index, piece) in pieces.enumerated() where index % 2 == 1 {
                #expect(
                    piece.hasPrefix("ECSVPCD_") && piece.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" },
                    "\(entry.id): @\(piece)@"
                )
            }
        }
    }

    @Test(
        "journalctl --update-catalog compiles it and lists every id with its subject",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/journalctl"))
    )
    func journalctlAcceptsIt() throws {
        let root = try TemporaryDirectory()
        let catalogDirectory = root.url.appendingPathComponent("usr/lib/systemd/catalog")
        try FileManager.default.createDirectory(at: catalogDirectory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: Self.catalogPath,
            toPath: catalogDirectory.appendingPathComponent("ecsvpcd.catalog").path
        )

        let update = try Self.journalctl(["--root=\(root.path)", "--update-catalog"])
        #expect(update.status == 0, "\(update.output)")
        let list = try Self.journalctl(["--root=\(root.path)", "--list-catalog"])
        #expect(list.status == 0)

        let entries = try Self.parse(String(contentsOfFile: Self.catalogPath, encoding: .utf8))
        let expected = entries.map { "\($0.id) ecsvpcd: \($0.headers["Subject"] ?? "")" }.sorted()
        #expect(list.output.split(separator: "\n").map(String.init).sorted() == expected)
    }

    private static func journalctl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runTool("/usr/bin/journalctl", arguments + ["--no-pager"])
    }
}
