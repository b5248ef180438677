import ECSVPCCore
import Testing

@testable import ECSVPCD

@Suite("Settings loader")
struct SettingsLoaderTests {
    @Test("a misspelt ECSVPCD_ variable in the environment comes back as a warning, and the settings still load")
    func environmentTypoIsAWarning() throws {
        let directory = try TemporaryDirectory()
        try directory.write("ecsvpcd.conf", "ECSVPCD_LOG=stderr\n")
        let environment = ["ECSVPCD_RESTRAT": "never", "ECSVPCD_BIN": "/usr/bin/ecsvpcd", "LANG": "C.UTF-8"]
        let (settings, warnings) = try SettingsLoader.loadReportingWarnings(
            path: directory.file("ecsvpcd.conf"), explicit: true, environment: environment)
        #expect(settings.log == "stderr")
        #expect(settings.restart == .auto)
        // ECSVPCD_BIN is three edits from ECSVPCD_LOG, too many for so short a name: a script's, not a typo.
        #expect(warnings.map(\.key) == ["ECSVPCD_RESTRAT"])
        let typo = try #require(warnings.last)
        #expect(typo.source == "environment")
        #expect(typo.description.hasPrefix("environment: unknown key ECSVPCD_RESTRAT: "))
        #expect(typo.detail.contains("did you mean ECSVPCD_RESTART?"))

        let clean = try SettingsLoader.loadReportingWarnings(
            path: directory.file("missing.conf"), explicit: false, environment: ["ECSVPCD_RESTART": "never"])
        #expect(clean.settings.restart == .never)
        #expect(clean.warnings.isEmpty)
    }

    @Test("a file written on Windows (byte order mark, CRLF, a comment first) applies its keys")
    func windowsFile() throws {
        let directory = try TemporaryDirectory()
        try directory.write("ecsvpcd.conf", "\u{FEFF}# ecsvpcd\r\nECSVPCD_RESTART=never\r\nECSVPCD_RESOLV_CONF=/x\r\n")
        let settings = try SettingsLoader.load(path: directory.file("ecsvpcd.conf"), explicit: true, environment: [:])
        #expect(settings.restart == .never)
        #expect(settings.resolvConf == "/x")
    }

    @Test("a URL the HTTP client would refuse is a configuration error naming the file, the line and the key")
    func badURLIsAConfigurationError() throws {
        let directory = try TemporaryDirectory()
        try directory.write("ecsvpcd.conf", "# urls\nECSVPCD_AGENT_INTROSPECTION=http://127.0.0.1:51678/v1\n")
        let path = directory.file("ecsvpcd.conf")
        let failure = try #require(throws: ConfigurationError.self) {
            try SettingsLoader.load(path: path, explicit: true, environment: [:])
        }
        #expect(failure.description.hasPrefix("\(path):2: bad value ECSVPCD_AGENT_INTROSPECTION: "))
    }
}
