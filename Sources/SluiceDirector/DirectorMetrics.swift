import Prometheus
import SluiceCore

/// The director's Prometheus metrics (`GET /metrics`, text exposition format). Counters move
/// where decisions are carried out; gauges of state (links, queue, live streams) are read from
/// the admission core at each scrape, so they cannot drift from it. Labels are low-cardinality:
/// transport, result, reason, link, kind; never a stream or a client.
public final class DirectorMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), version: String = "dev") {
        self.registry = registry
        registry.makeGauge(name: "sluice_build_info", labels: [("version", version)], help: "Always 1; the label says the version").set(Double(1))
    }

    /// A play request was admitted or refused (by its refusal code).
    func admission(transport: String, refusal: AdmissionRefusal?) {
        let result = refusal == nil ? "admitted" : "refused"
        registry.makeCounter(name: "sluice_admissions_total", labels: [("transport", transport), ("result", result)], help: "Play requests by transport and result").increment()
        if let refusal {
            registry.makeCounter(name: "sluice_refusals_total", labels: [("reason", refusal.code.rawValue)], help: "Refused requests by reason").increment()
        }
    }

    /// Sets the gauges of state from a view of the core, then writes every metric.
    func scrape(links: [Director.LinkView], queueDepth: Int, live: [LiveStream.Kind: Int]) -> [UInt8] {
        for link in links {
            registry.makeGauge(name: "sluice_link_capacity_bps", labels: [("link", link.name)], help: "Declared capacity of each link, bit/s").set(Double(link.capacityBitsPerSecond))
            registry.makeGauge(name: "sluice_link_reserved_bps", labels: [("link", link.name)], help: "Bandwidth reserved on each link now, bit/s").set(Double(link.reservedBitsPerSecond))
        }
        registry.makeGauge(name: "sluice_queue_depth", help: "Requests waiting for capacity now").set(Double(queueDepth))
        for kind in [LiveStream.Kind.play, .ingest, .copy] {
            registry.makeGauge(name: "sluice_live_streams", labels: [("kind", kind.rawValue)], help: "Live leases by kind").set(Double(live[kind] ?? 0))
        }
        return registry.emitToBuffer()
    }
}
