import ECSVPCCore

/// One observation of the watched names: each name resolved (configured resolvers and, when on, the Amazon
/// resolver) and its addresses probed as soon as its answer arrives, every name at once.
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

    public func observe(_ names: [WatchedName]) async -> [EndpointObservation] {
        await withTaskGroup(of: (Int, EndpointObservation).self) { group in
            for (index, watched) in names.enumerated() {
                group.addTask {
                    async let amazon = amazonResolver?.resolve(watched.name)
                    let resolution = await resolver.resolve(watched.name)
                    let probes = await probe.probe(
                        resolution.addresses.map(\.address),
                        port: probePort,
                        timeout: probeTimeout
                    )
                    return (
                        index,
                        EndpointObservation(
                            watched: watched,
                            resolution: resolution,
                            amazonResolution: await amazon,
                            probes: probes
                        )
                    )
                }
            }
            var results: [(Int, EndpointObservation)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }
}
