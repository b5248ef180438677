// The one libFuzzer entry point of fuzz/out/ecsvpcd-fuzzer: FUZZ_TARGET picks the harness (fuzz/run sets it).
import Glibc

/// Every fuzz target: its name (FUZZ_TARGET, and fuzz/seeds/NAME) and its harness.
let fuzzTargets: [(name: String, harness: @Sendable ([UInt8]) -> Void)] = [
    ("dns-response", fuzzDNSResponse),
    ("agent-log", fuzzAgentLog),
    ("settings", fuzzSettings),
    ("ecs-config", fuzzAgentConfig),
    ("ecs-config-json", fuzzAgentJSONConfig),
    ("proc-net-tcp", fuzzProcNetTCP),
    ("http-response", fuzzHTTPResponse),
    ("instance-metadata", fuzzInstanceMetadata),
    ("docker-json", fuzzDockerJSON),
    ("introspection-json", fuzzIntrospectionJSON),
    ("control-request", fuzzControlRequest),
    ("state-file", fuzzStateFile),
    ("partial-json", fuzzPartialJSON),
    ("endpoint-policy", fuzzEndpointPolicy),
]

private let selectedHarness: @Sendable ([UInt8]) -> Void = {
    let name = getenv("FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = fuzzTargets.first(where: { $0.name == name }) else {
        let known = fuzzTargets.map(\.name).joined(separator: ", ")
        fatalError("FUZZ_TARGET=\(name): not a fuzz target; set it to one of: \(known)")
    }
    return target.harness
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selectedHarness(bytes)
    return 0
}
