import ECSVPCCore

/// One observation of the watched names: every name resolved at once (configured resolvers and, when on, the
/// Amazon resolver), then every address they gave probed at once.
public struct EndpointObserver: Sendable {
    let resolver: any NameResolving
    let amazonResolver: (any NameResolving)?
    let probe: any TCPProbing
    let probePort: Int
    let probeTimeout: Duration

    public init(
        resolver: any NameResolving,
        amazonResolver: (any NameResolving)?,
        probe: any TCPProbing,
        probePort: Int,
        probeTimeout: Duration
    ) {
        self.resolver = resolver
        self.amazonResolver = amazonResolver
        self.probe = probe
        self.probePort = probePort
        self.probeTimeout = probeTimeout
    }

    /// - Parameter compareAmazon: also ask the Amazon-provided resolver (for the ECS names; the agent's cell hosts
    ///   need no second opinion, and it would double their queries every cycle).
    public func observe(_ names: [WatchedName], compareAmazon: Bool = true) async -> [EndpointObservation] {
        let amazonResolver = compareAmazon ? amazonResolver : nil
        let resolved = await withTaskGroup(of: (Int, NameResolution, NameResolution?).self) { group in
            for (index, watched) in names.enumerated() {
                group.addTask {
                    async let amazon = amazonResolver?.resolve(watched.name)
                    let resolution = await resolver.resolve(watched.name)
                    return (index, resolution, await amazon)
                }
            }
            var results: [(Int, NameResolution, NameResolution?)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }
        }
        let outcomes = await probe.probe(
            resolved.flatMap { $0.1.addresses.map(\.address) },
            port: probePort,
            timeout: probeTimeout
        )
        return resolved.map { index, resolution, amazon in
            EndpointObservation(
                watched: names[index],
                resolution: resolution,
                amazonResolution: amazon,
                probes: outcomes.filter { address, _ in resolution.addresses.contains { $0.address == address } }
            )
        }
    }
}
