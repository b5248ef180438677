import ECSVPCCore
import Foundation
import Testing

@Suite("Prometheus metrics of the status")
struct StatusMetricsTests {
    /// `name{labels} value` lines, without comments.
    static func samples(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            result[String(line[..<space])] = String(line[line.index(after: space)...])
        }
        return result
    }

    @Test("values match a known daemon state")
    func valuesOfKnownState() {
        var metrics = StatusMetrics()
        let history = [
            FleetReportingFixture.record(-90000, "docker", "failed"),
            FleetReportingFixture.record(-7200, "systemd", "verified"),
            FleetReportingFixture.record(-3000, "none", "moved-by-itself"),
            FleetReportingFixture.record(-60, "systemd", "settling"),
        ]
        let document = FleetReportingFixture.document(history: history)
        metrics.observe(document, cycleSeconds: 0.03125)
        metrics.observe(document, cycleSeconds: 2)
        metrics.observe(document, cycleSeconds: 400)
        let text = metrics.render(document, version: "0.1.0")
        let samples = Self.samples(text)
        #expect(samples["ecsvpcd_health"] == "2")
        #expect(samples[#"ecsvpcd_configuration{state="partial"}"#] == "1")
        #expect(samples[#"ecsvpcd_configuration{state="vpc-endpoints"}"#] == "0")
        #expect(samples[#"ecsvpcd_endpoint_route{service="ecs",name="ecs.us-east-1.amazonaws.com",route="public"}"#] == "1")
        #expect(samples[#"ecsvpcd_endpoint_route{service="ecs",name="ecs.us-east-1.amazonaws.com",route="vpc-endpoint"}"#] == "0")
        #expect(samples[#"ecsvpcd_endpoint_route{service="ecs-agent",name="ecs-a.us-east-1.amazonaws.com",route="vpc-endpoint"}"#] == "1")
        #expect(samples[#"ecsvpcd_endpoint_tcp_open{service="ecs-agent",name="ecs-a.us-east-1.amazonaws.com",address="10.0.2.11"}"#] == "1")
        #expect(samples[#"ecsvpcd_endpoint_tcp_open{service="ecs-telemetry",name="ecs-t.us-east-1.amazonaws.com",address="10.0.1.12"}"#] == "0")
        // Not probed: no sample.
        #expect(samples[#"ecsvpcd_endpoint_tcp_open{service="ecs",name="ecs.us-east-1.amazonaws.com",address="54.239.1.3"}"#] == nil)
        #expect(samples["ecsvpcd_agent_on_endpoints"] == "0")
        // The settling restart is not counted yet; the agent's own move is no restart.
        #expect(samples[#"ecsvpcd_restarts_total{via="docker",result="failed"}"#] == "1")
        #expect(samples[#"ecsvpcd_restarts_total{via="systemd",result="verified"}"#] == "1")
        #expect(text.components(separatedBy: "ecsvpcd_restarts_total{").count - 1 == 2)
        #expect(samples["ecsvpcd_restart_budget_remaining"] == "2")
        #expect(samples[#"ecsvpcd_cycle_duration_seconds_bucket{le="0.025"}"#] == "0")
        #expect(samples[#"ecsvpcd_cycle_duration_seconds_bucket{le="0.05"}"#] == "1")
        #expect(samples[#"ecsvpcd_cycle_duration_seconds_bucket{le="2.5"}"#] == "2")
        #expect(samples[#"ecsvpcd_cycle_duration_seconds_bucket{le="180"}"#] == "2")
        #expect(samples[#"ecsvpcd_cycle_duration_seconds_bucket{le="+Inf"}"#] == "3")
        #expect(samples["ecsvpcd_cycle_duration_seconds_count"] == "3")
        #expect(samples["ecsvpcd_cycle_duration_seconds_sum"] == "402.03125")
        #expect(samples[#"ecsvpcd_findings{id="endpoint-not-accepting",severity="critical"}"#] == "1")
        #expect(samples[#"ecsvpcd_findings{id="partial-configuration",severity="warning"}"#] == "1")
        #expect(samples[#"ecsvpcd_build_info{version="0.1.0"}"#] == "1")
    }

    @Test("every family has HELP and TYPE, and the restart counter never goes back as the history is trimmed")
    func helpTypeAndMonotonicCounter() {
        var metrics = StatusMetrics()
        var document = FleetReportingFixture.document(history: [FleetReportingFixture.record(-60, "systemd", "settling")])
        metrics.observe(document, cycleSeconds: 0.1)
        #expect(metrics.restarts.counts.isEmpty)
        document.restart?.history = [FleetReportingFixture.record(-60, "systemd", "verified")]
        metrics.observe(document, cycleSeconds: 0.1)
        metrics.observe(document, cycleSeconds: 0.1)
        #expect(metrics.restarts.counts.values.reduce(0, +) == 1)
        // Trimmed away, then a new restart: 2, not 1.
        document.restart?.history = [FleetReportingFixture.record(3600, "docker", "lost-after-restart")]
        metrics.observe(document, cycleSeconds: 0.1)
        #expect(metrics.restarts.counts.values.reduce(0, +) == 2)

        let text = metrics.render(document, version: "0.1.0")
        let families = [
            "ecsvpcd_health", "ecsvpcd_configuration", "ecsvpcd_endpoint_route", "ecsvpcd_endpoint_tcp_open",
            "ecsvpcd_agent_on_endpoints", "ecsvpcd_restarts_total", "ecsvpcd_restart_budget_remaining",
            "ecsvpcd_cycle_duration_seconds", "ecsvpcd_findings", "ecsvpcd_build_info",
        ]
        for family in families {
            #expect(text.contains("# HELP \(family) "), "\(family)")
            #expect(text.contains("# TYPE \(family) "), "\(family)")
        }
        #expect(text.contains("# TYPE ecsvpcd_cycle_duration_seconds histogram"))
        #expect(text.contains("# TYPE ecsvpcd_restarts_total counter"))
    }

    @Test("label values are bounded and escaped: a hand-edited history's words become other")
    func boundedLabels() {
        var metrics = StatusMetrics()
        let document = FleetReportingFixture.document(history: [FleetReportingFixture.record(-60, "ssh \"by hand\"", "at 12:00")])
        metrics.observe(document, cycleSeconds: 0.1)
        let text = metrics.render(document, version: "0.1.0-\"dev\"\\x")
        #expect(text.contains(#"ecsvpcd_restarts_total{via="other",result="other"} 1"#))
        #expect(text.contains(#"ecsvpcd_build_info{version="0.1.0-\"dev\"\\x"} 1"#))
        #expect(!text.contains("12:00"))
    }
}
