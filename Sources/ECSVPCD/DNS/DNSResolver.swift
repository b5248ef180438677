import ECSVPCCore
import FoundationEssentials
import Glibc
import NIOCore
import NIOPosix
import Synchronization

/// Resolves names the way glibc would for the agent: the hosts file, then the nameservers of resolv.conf.
///
/// A and AAAA are asked in parallel, each walking the servers on its own: UDP first, TCP when the answer is
/// truncated. SERVFAIL, REFUSED, NOTIMP, an unreadable answer, an unreachable server (ICMP port unreachable
/// on a connected socket) or no answer within `timeout` moves on to the next server, for `attempts` rounds;
/// NXDOMAIN and any other answer are final. When no server gave a final answer, the outcome is the last
/// failing rcode if some server answered, else `.timeout` if some try timed out, else `.error` naming why
/// the servers could not be reached (so "nothing listens there" reads differently from "nothing answers").
///
/// Built on a `ResolvConfFile`, each lookup takes the configuration from resolv.conf as it is then.
public struct DNSResolver: NameResolving {
    private let source: Source
    private let exchange: DNSExchange
    private let rotation = RotationCounter()

    /// Where lookups get their configuration.
    private enum Source: Sendable {
        case fixed(ResolverConfiguration)
        case resolvConf(ResolvConfFile)
    }

    public init(configuration: ResolverConfiguration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.source = .fixed(configuration)
        self.exchange = DNSExchange(group: eventLoopGroup)
    }

    public init(resolvConf: ResolvConfFile, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.source = .resolvConf(resolvConf)
        self.exchange = DNSExchange(group: eventLoopGroup)
    }

    /// The configuration the next lookup uses (resolv.conf is looked at again for it).
    public var configuration: ResolverConfiguration {
        switch source {
        case .fixed(let configuration): configuration
        case .resolvConf(let file): file.current()
        }
    }

    public func resolve(_ name: String) async -> NameResolution {
        let configuration = self.configuration
        // SystemFile, not Foundation's String(contentsOfFile:): that leaks 4 KiB on every read of an empty file,
        // and an empty hosts file is read three times a cycle.
        if let path = configuration.hostsFile, let text = try? SystemFile.readText(path) {
            let found = HostsFile.parse(text).addresses(for: name)
            if !found.isEmpty {
                return NameResolution(
                    name: name, outcome: .answered, addresses: found.map { ResolvedAddress(address: $0, ttl: 0) },
                    source: .hostsFile(path: path))
            }
        }
        let question: DNSName
        do {
            question = try DNSName(name)
        } catch {
            return NameResolution(name: name, outcome: .error("not a valid name: \(error)"))
        }
        guard !question.labels.isEmpty else {
            return NameResolution(name: name, outcome: .error("not a valid name: empty"))
        }
        var servers = configuration.effectiveServers
        if configuration.rotate {
            let start = rotation.next() % servers.count
            servers = Array(servers[start...] + servers[..<start])
        }
        async let v4 = lookup(question, type: .a, servers: servers, configuration: configuration)
        async let v6 = lookup(question, type: .aaaa, servers: servers, configuration: configuration)
        return Self.combine(name: name, await v4, await v6)
    }

    /// One record type's walk over the servers.
    struct TypeLookup: Sendable {
        var outcome: ResolutionOutcome
        var addresses: [ResolvedAddress] = []
        var chain: [String] = []
        var server: DNSServer?
        var retriedOverTCP = false
    }

    func lookup(
        _ name: DNSName, type: DNSRecordType, servers: [DNSServer], configuration: ResolverConfiguration
    ) async -> TypeLookup {
        var retriedOverTCP = false
        var failedAnswer: TypeLookup?
        var sawTimeout = false
        var lastError: String?
        for _ in 0..<max(configuration.attempts, 1) {
            for server in servers {
                if Task.isCancelled { return TypeLookup(outcome: .error("cancelled"), retriedOverTCP: retriedOverTCP) }
                let query = DNSMessage.query(id: UInt16.random(in: 0...UInt16.max), name: name, type: type)
                var reply = await exchange.udp(query, to: server, timeout: configuration.timeout)
                if case .success(.truncated) = reply {
                    retriedOverTCP = true
                    reply = await exchange.tcp(query, to: server, timeout: configuration.timeout)
                }
                switch reply {
                case .success(.answer(let message)):
                    var result = Self.interpret(message, name: name, type: type)
                    result.server = server
                    result.retriedOverTCP = retriedOverTCP
                    switch message.responseCode {
                    case .serverFailure, .refused, .notImplemented:
                        failedAnswer = result
                    default:
                        return result
                    }
                case .success(.malformed(let reason)):
                    lastError = "\(server): \(reason)"
                case .success(.truncated):
                    lastError = "\(server): truncated answer over TCP"
                case .failure(.timeout):
                    sawTimeout = true
                case .failure(.unreachable(let reason)):
                    lastError = "\(server): \(reason)"
                }
            }
        }
        if let failedAnswer { return failedAnswer }
        if sawTimeout { return TypeLookup(outcome: .timeout, retriedOverTCP: retriedOverTCP) }
        return TypeLookup(outcome: .error(lastError ?? "no nameserver"), retriedOverTCP: retriedOverTCP)
    }

    static func interpret(_ message: DNSMessage, name: DNSName, type: DNSRecordType) -> TypeLookup {
        let (chain, records) = message.addresses(for: name, type: type)
        let outcome: ResolutionOutcome
        switch message.responseCode {
        case .noError: outcome = records.isEmpty ? .noData : .answered
        case .nameError: outcome = .nxdomain
        case .serverFailure: outcome = .servfail
        default: outcome = .rcode(Int(message.responseCode.rawValue))
        }
        return TypeLookup(
            outcome: outcome,
            addresses: records.map { ResolvedAddress(address: $0.0, ttl: $0.1) },
            chain: chain.map(\.description))
    }

    /// Both lookups as one resolution: any address answers; NXDOMAIN beats "no data"; else the failure, A's first.
    static func combine(name: String, _ v4: TypeLookup, _ v6: TypeLookup) -> NameResolution {
        let addresses = v4.addresses + v6.addresses
        let outcome: ResolutionOutcome
        if !addresses.isEmpty {
            outcome = .answered
        } else if v4.outcome == .nxdomain || v6.outcome == .nxdomain {
            outcome = .nxdomain
        } else if v4.outcome == .noData && v6.outcome == .noData {
            outcome = .noData
        } else {
            outcome = v4.outcome != .noData ? v4.outcome : v6.outcome
        }
        let primary = !v4.addresses.isEmpty || (v4.server != nil && v6.addresses.isEmpty) ? v4 : v6
        let source: ResolutionSource = (primary.server ?? v4.server ?? v6.server).map { .nameserver($0.description) } ?? .none
        return NameResolution(
            name: name,
            outcome: outcome,
            addresses: addresses,
            cnameChain: v4.chain.isEmpty ? v6.chain : v4.chain,
            source: source,
            retriedOverTCP: v4.retriedOverTCP || v6.retriedOverTCP)
    }
}

/// Where `options rotate` starts the next lookup.
private final class RotationCounter: Sendable {
    private let value = Mutex(0)

    func next() -> Int {
        value.withLock { current in
            defer { current = current &+ 1 }
            return current & Int.max
        }
    }
}
