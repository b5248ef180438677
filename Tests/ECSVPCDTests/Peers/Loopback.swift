import ECSVPCCore
import Foundation
import Synchronization

/// Hands out loopback addresses no other test in this run uses, so tests can run in parallel.
///
/// Ranges: "VPC" 127.16/16, "shared endpoint" 127.17/16, "public" 127.200/16, "dropped" 127.250/16
/// (scripts/test installs an iptables DROP for it), DNS servers 127.53/16, instance metadata 127.54/16.
enum Loopback {
    static let vpcCIDR = CIDR("127.16.0.0/16")!
    static let sharedCIDR = CIDR("127.17.0.0/16")!
    static let publicCIDR = CIDR("127.200.0.0/16")!
    static let droppedCIDR = CIDR("127.250.0.0/16")!

    private static let counter = Mutex<UInt32>(0)

    /// A fresh address in `cidr` (a /16): third octet from the pid, fourth from a counter.
    static func next(in cidr: CIDR) -> IPAddress {
        guard case .v4(let base) = cidr.network else { fatalError("IPv4 only") }
        let n = counter.withLock { value -> UInt32 in
            value += 1
            return value
        }
        let third = (UInt32(getpid()) &+ n / 250) % 250 + 1
        let fourth = n % 250 + 1
        return .v4(base | third << 8 | fourth)
    }

    static func vpc() -> IPAddress { next(in: vpcCIDR) }
    static func shared() -> IPAddress { next(in: sharedCIDR) }
    static func publicAddress() -> IPAddress { next(in: publicCIDR) }
    static func dropped() -> IPAddress { next(in: droppedCIDR) }
    static func dnsServer() -> IPAddress { next(in: CIDR("127.53.0.0/16")!) }
    static func metadataServer() -> IPAddress { next(in: CIDR("127.54.0.0/16")!) }
}
