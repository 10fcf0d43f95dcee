import Prometheus
import SluiceListeners
import SluiceCore

/// The director's Prometheus metrics (`GET /metrics`, text exposition format). Counters move
/// where decisions are carried out; gauges of state (links, queue, live streams) are read from
/// the admission core at each scrape, so they cannot drift from it. Labels are low-cardinality:
/// transport, result, reason, link, kind; never a stream or a client.
public final class DirectorMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// What `sluice_build_info` says (the console shows it too).
    public let version: String

    /// How long queued requests waited, by how the wait ended (admitted, refused).
    let queueWaitAdmitted: DurationHistogram
    let queueWaitRefused: DurationHistogram
    /// Round trips to the store, by operation (admit, renew, end, write).
    private let storeBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(2),
    ]
    let webhookBacklog: Gauge
    /// 1 while this director plans replication for the cluster.
    let replicationPlanner: Gauge

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), version: String = "dev") {
        self.registry = registry
        self.version = version
        registry.gauge(name: "sluice_build_info", labels: [("version", version)], help: "Always 1; the label says the version").set(Double(1))
        let waitBuckets: [Duration] = [
            .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        func wait(_ result: String) -> DurationHistogram {
            registry.durationHistogram(
                name: "sluice_queue_wait_seconds", labels: [("result", result)], buckets: waitBuckets,
                help: "How long queued requests waited, by how the wait ended")
        }
        queueWaitAdmitted = wait("admitted")
        queueWaitRefused = wait("refused")
        webhookBacklog = registry.gauge(name: "sluice_webhook_backlog_records", help: "Usage records not yet taken by the usage webhook")
        replicationPlanner = registry.gauge(
            name: "sluice_replication_planner", help: "1 while this director plans replication for the cluster (it holds the planner's lock)")
        // Every series a dashboard may query exists from the start, at 0.
        for transport in ["http", "rtsp", "hls"] {
            for result in ["admitted", "refused"] { admissionCounter(transport: transport, result: result).increment(by: Int64(0)) }
        }
        for code in AdmissionRefusal.Code.allCases { refusalCounter(code).increment(by: Int64(0)) }
        for event in LeaseEvent.allCases { lease(event, count: 0) }
        for result in CopyEvent.allCases { copy(result, count: 0) }
        for kind in HandOff.allCases { handOff(kind, count: 0) }
    }

    enum LeaseEvent: String, CaseIterable { case renewed, expired, unclaimed }
    enum CopyEvent: String, CaseIterable { case started, finished, failed }
    enum HandOff: String, CaseIterable {
        /// An RTSP session moved to another replica when its engine failed.
        case engineFailover = "engine_failover"
        /// A request refused with a full queue was pointed at a peer director with room.
        case peerDirector = "peer_director"
    }

    /// Lease renewals, and leases the sweep ended (expired, or never claimed by their client).
    func lease(_ event: LeaseEvent, count: Int = 1) {
        registry.counter(name: "sluice_leases_total", labels: [("event", event.rawValue)], help: "Leases renewed, and ended by the sweep (expired, unclaimed)")
            .increment(by: Int64(count))
    }

    func copy(_ event: CopyEvent, count: Int = 1) {
        registry.counter(name: "sluice_copies_total", labels: [("result", event.rawValue)], help: "Replica copies started, finished and failed")
            .increment(by: Int64(count))
    }

    func handOff(_ kind: HandOff, count: Int = 1) {
        registry.counter(name: "sluice_handoffs_total", labels: [("kind", kind.rawValue)], help: "Streams moved to another engine, and requests sent to a peer director")
            .increment(by: Int64(count))
    }

    /// A queued request's wait ended.
    func queueWait(_ waited: Duration, admitted: Bool) {
        (admitted ? queueWaitAdmitted : queueWaitRefused).record(waited)
    }

    /// One round trip to the store.
    func store(_ operation: String, took: Duration) {
        registry.durationHistogram(
            name: "sluice_store_seconds", labels: [("operation", operation)], buckets: storeBuckets,
            help: "Time of the director's store round trips, by operation"
        ).record(took)
    }

    /// A play request was admitted or refused (by its refusal code).
    func admission(transport: String, refusal: AdmissionRefusal?) {
        admissionCounter(transport: transport, result: refusal == nil ? "admitted" : "refused").increment()
        if let refusal { refusalCounter(refusal.code).increment() }
    }

    private func admissionCounter(transport: String, result: String) -> Prometheus.Counter {
        registry.counter(name: "sluice_admissions_total", labels: [("transport", transport), ("result", result)], help: "Play requests by transport and result")
    }

    private func refusalCounter(_ code: AdmissionRefusal.Code) -> Prometheus.Counter {
        registry.counter(name: "sluice_refusals_total", labels: [("reason", code.rawValue)], help: "Refused requests by reason")
    }

    /// Sets the gauges of state from a view of the core, then writes every metric.
    /// `live` counts play streams by transport (http, rtsp) and the others by kind (ingest, copy).
    func scrape(links: [Director.LinkView], queueDepth: Int, live: [String: Int]) -> [UInt8] {
        for link in links {
            registry.gauge(name: "sluice_link_capacity_bps", labels: [("link", link.name)], help: "Declared capacity of each link, bit/s").set(Double(link.capacityBitsPerSecond))
            registry.gauge(name: "sluice_link_reserved_bps", labels: [("link", link.name)], help: "Bandwidth reserved on each link now, bit/s").set(Double(link.reservedBitsPerSecond))
        }
        registry.gauge(name: "sluice_queue_depth", help: "Requests waiting for capacity now").set(Double(queueDepth))
        for transport in ["http", "rtsp", "hls", "ingest", "copy"] {
            registry.gauge(name: "sluice_live_streams", labels: [("transport", transport)], help: "Live leases: play streams by transport, uploads (ingest) and copies")
                .set(Double(live[transport] ?? 0))
        }
        return registry.emitToBuffer()
    }
}
