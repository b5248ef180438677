import ECSVPCCore
import Foundation
import Testing

/// `packaging/ecsvpcd.conf`, installed as /etc/ecsvpcd/ecsvpcd.conf: every key commented out at its default.
/// It is written by hand; these tests keep it in step with `SettingsParser.keys`.
@Suite("Packaged configuration file")
struct PackagedConfigTests {
    static let path = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("packaging/ecsvpcd.conf").path

    let text: String
    let lines: [String]

    init() throws {
        text = try String(contentsOfFile: Self.path, encoding: .utf8)
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// The `#KEY=VALUE` lines: a commented-out setting, not prose.
    var settingLines: [(index: Int, name: String, value: String)] {
        lines.enumerated().compactMap { index, line in
            guard line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { return nil }
            let name = line[line.index(after: line.startIndex)..<equals]
            guard !name.isEmpty, name.allSatisfy({ $0.isUppercase || $0.isNumber || $0 == "_" }) else { return nil }
            return (index, String(name), String(line[line.index(after: equals)...]))
        }
    }

    /// The comment lines right above line `index`, up to the previous blank line.
    func block(above index: Int) -> [String] {
        var start = index
        while start > 0, lines[start - 1].hasPrefix("# ") { start -= 1 }
        return Array(lines[start..<index])
    }

    /// What a key's block must say, for a failure message that shows how to write it.
    func suggestedBlock(_ key: SettingsParser.Key, concrete: Bool) -> Comment {
        let setting = concrete ? "#\(key.name)=\(key.defaultText)" : "# Default: \(key.defaultText).\n#\(key.name)="
        return "write \(key.name) once, as:\n# Expects \(key.expected).\n\(setting)"
    }

    /// Whether `KEY=defaultText` written out means exactly the defaults (so the line can carry the value).
    static func isConcrete(_ key: SettingsParser.Key) -> Bool {
        let settings = try? SettingsParser.parse(file: ("default", "\(key.name)=\(key.defaultText)"), environment: [:])
        return settings == Settings()
    }

    @Test("as installed, everything commented out, it parses to the defaults")
    func parsesToDefaults() throws {
        let settings = try SettingsParser.parse(file: (Self.path, text), environment: [:])
        #expect(settings == Settings())
    }

    @Test(
        "every key appears exactly once, with what it expects and its default",
        arguments: SettingsParser.keys.map(\.name)
    )
    func keyAppearsOnceWithDefault(name: String) throws {
        let key = try #require(SettingsParser.keys.first { $0.name == name })
        let concrete = Self.isConcrete(key)
        let hint = suggestedBlock(key, concrete: concrete)
        let matches = settingLines.filter { $0.name == key.name }
        try #require(matches.count == 1, hint)
        let comments = block(above: matches[0].index)
        #expect(comments.contains("# Expects \(key.expected)."), hint)
        if concrete {
            #expect(matches[0].value == key.defaultText, hint)
        } else {
            #expect(matches[0].value.isEmpty, hint)
            #expect(comments.contains("# Default: \(key.defaultText)."), hint)
        }
    }

    @Test("no commented-out line names a key ecsvpcd does not know")
    func noUnknownKeys() {
        let known = Set(SettingsParser.keys.map(\.name))
        let unknown = settingLines.map(\.name).filter { !known.contains($0) }
        #expect(unknown.isEmpty, "not settings of ecsvpcd: \(unknown)")
    }

    @Test("uncommenting every setting line still parses, to the defaults")
    func uncommentedParsesToDefaults() throws {
        let settingIndexes = Set(settingLines.map(\.index))
        let uncommented = lines.enumerated().map { index, line in
            settingIndexes.contains(index) ? String(line.dropFirst()) : line
        }.joined(separator: "\n")
        #expect(settingIndexes.count == SettingsParser.keys.count)
        let settings = try SettingsParser.parse(file: (Self.path, uncommented), environment: [:])
        #expect(settings == Settings())
    }
}
