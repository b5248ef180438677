import ECSVPCCore
import Testing

@testable import ECSVPCD

@Suite("Settings loader")
struct SettingsLoaderTests {
    @Test("a file written on Windows (byte order mark, CRLF, a comment first) applies its keys")
    func windowsFile() throws {
        let directory = try TemporaryDirectory()
        try directory.write("ecsvpcd.conf", "\u{FEFF}# ecsvpcd\r\nECSVPCD_RESTART=never\r\nECSVPCD_RESOLV_CONF=/x\r\n")
        let settings = try SettingsLoader.load(path: directory.file("ecsvpcd.conf"), explicit: true, environment: [:])
        #expect(settings.restart == .never)
        #expect(settings.resolvConf == "/x")
    }
}
