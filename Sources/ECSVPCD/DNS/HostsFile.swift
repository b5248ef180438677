import ECSVPCCore

/// The hosts file (`/etc/hosts` format), which glibc consults before DNS.
public struct HostsFile: Sendable, Hashable {
    /// Lower-cased name (without trailing dot) → addresses, in file order, without repeats.
    private var entries: [String: [IPAddress]]

    /// Parses `ADDRESS NAME [ALIAS…]` lines; `#` starts a comment; lines whose address does not parse are skipped.
    public static func parse(_ text: String) -> HostsFile {
        var entries: [String: [IPAddress]] = [:]
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard fields.count >= 2 else { continue }
            var addressText = fields[0]
            if let percent = addressText.firstIndex(of: "%") { addressText = addressText[..<percent] }
            guard let address = IPAddress(addressText) else { continue }
            for name in fields.dropFirst() {
                let key = normalize(name)
                guard !key.isEmpty else { continue }
                if !(entries[key]?.contains(address) ?? false) {
                    entries[key, default: []].append(address)
                }
            }
        }
        return HostsFile(entries: entries)
    }

    /// Every address listed for `name`, IPv4 and IPv6, in file order; case-insensitive, trailing dot ignored.
    public func addresses(for name: String) -> [IPAddress] {
        entries[Self.normalize(name)] ?? []
    }

    /// Lower-cased ASCII, one trailing dot removed: how names are compared throughout the resolver.
    static func normalize(_ name: some StringProtocol) -> String {
        var text = Substring(name)
        if text.hasSuffix(".") { text = text.dropLast() }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { scalar in
            (0x41...0x5a).contains(scalar.value) ? Unicode.Scalar(scalar.value | 0x20) ?? scalar : scalar
        }))
    }
}
