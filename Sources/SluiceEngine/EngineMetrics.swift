import Foundation
import Prometheus
import SluiceListeners
import SluiceCore
import SluiceMedia
import Synchronization

/// The engine's Prometheus metrics (`GET /metrics`). The send paths count bytes and packets and
/// record how late each packet or chunk left against its schedule; gauges of state (streams,
/// objects, disk) are read at each scrape. Every series carries the engine's name and nothing
/// finer than a transport or an I/O profile: never a stream or a client.
public final class EngineMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let engine: String

    /// How late a packet (RTP) or chunk (HTTP) left against the instant its pace allowed: the
    /// engine's own measure of pacing, taken where the packet is handed to the socket.
    let rtpLateness: DurationHistogram
    let httpLateness: DurationHistogram
    let rtpBytes: Counter
    let rtpPackets: Counter
    let httpBytes: Counter
    /// How long one read of an object took, page cache or disk.
    let readLatency: DurationHistogram
    /// What players' RTCP receiver reports say: the fraction lost since their last report, and
    /// the interarrival jitter.
    let reportedLoss: ValueHistogram
    let reportedJitter: DurationHistogram
    let receiverReports: Counter
    /// Background re-verification: bytes read, and replicas found corrupt.
    let scrubBytes: Counter
    let scrubCorrupt: Counter
    /// Stream gauges already made, so one whose streams all ended reads 0, not its last value.
    private let streamSeries = Mutex<Set<State.Key>>([.init(transport: "http", profile: "traditional"), .init(transport: "rtp", profile: "traditional")])

    static let latenessBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(500),
    ]
    static let readBuckets: [Duration] = [
        .microseconds(10), .microseconds(50), .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5),
        .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(500),
    ]

    public init(engine: String, version: String = "dev", registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.engine = engine
        let name = ("engine", engine)
        registry.gauge(name: "sluice_build_info", labels: [("version", version), name], help: "Always 1; the label says the version").set(Double(1))
        func lateness(_ transport: String) -> DurationHistogram {
            registry.durationHistogram(
                name: "sluice_engine_pacing_lateness_seconds", labels: [name, ("transport", transport)], buckets: Self.latenessBuckets,
                help: "How late each RTP packet or HTTP chunk left against its pacing schedule, measured at the engine")
        }
        rtpLateness = lateness("rtp")
        httpLateness = lateness("http")
        rtpBytes = registry.counter(name: "sluice_engine_sent_bytes_total", labels: [name, ("transport", "rtp")], help: "Media bytes sent")
        httpBytes = registry.counter(name: "sluice_engine_sent_bytes_total", labels: [name, ("transport", "http")], help: "Media bytes sent")
        rtpPackets = registry.counter(name: "sluice_engine_sent_packets_total", labels: [name, ("transport", "rtp")], help: "RTP packets sent")
        readLatency = registry.durationHistogram(
            name: "sluice_engine_read_seconds", labels: [name], buckets: Self.readBuckets, help: "Time of one read of an object (page cache or disk)")
        reportedLoss = registry.valueHistogram(
            name: "sluice_engine_rtcp_fraction_lost", labels: [name], buckets: [0, 0.001, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
            help: "Fraction of packets lost, as each RTCP receiver report says")
        reportedJitter = registry.durationHistogram(
            name: "sluice_engine_rtcp_jitter_seconds", labels: [name], buckets: Self.latenessBuckets,
            help: "Interarrival jitter, as each RTCP receiver report says")
        receiverReports = registry.counter(name: "sluice_engine_rtcp_reports_total", labels: [name], help: "RTCP receiver reports taken from players")
        scrubBytes = registry.counter(name: "sluice_engine_scrub_bytes_total", labels: [name], help: "Bytes of stored objects re-read and hashed by the scrubber")
        scrubCorrupt = registry.counter(
            name: "sluice_engine_scrub_corrupt_total", labels: [name], help: "Objects the scrubber found corrupt (quarantined and reported)")
        scrubCorrupt.increment(by: Int64(0))
    }

    /// A player's receiver report about one of our streams.
    func receiverReport(_ quality: ReceptionQuality) {
        receiverReports.increment()
        reportedLoss.record(quality.fractionLost)
        reportedJitter.record(.nanoseconds(Int64(quality.jitterMilliseconds * 1_000_000)))
    }

    /// What the engine holds and sends now, as the scrape reads it.
    struct State {
        /// Live streams by transport and I/O profile name.
        var streams: [Key: Int]
        var objects: Int
        var objectBytes: Int64
        var diskFreeBytes: Int64?

        struct Key: Hashable { var transport: String; var profile: String }
    }

    func scrape(_ state: State) -> [UInt8] {
        let name = ("engine", engine)
        let keys = streamSeries.withLock { seen in
            seen.formUnion(state.streams.keys)
            return seen
        }
        for key in keys {
            registry.gauge(
                name: "sluice_engine_streams", labels: [name, ("transport", key.transport), ("profile", key.profile)],
                help: "Streams sending now, by transport and I/O profile"
            ).set(Double(state.streams[key] ?? 0))
        }
        registry.gauge(name: "sluice_engine_objects", labels: [name], help: "Objects held and verified").set(Double(state.objects))
        registry.gauge(name: "sluice_engine_object_bytes", labels: [name], help: "Bytes of the objects held").set(Double(state.objectBytes))
        if let free = state.diskFreeBytes {
            registry.gauge(name: "sluice_engine_disk_free_bytes", labels: [name], help: "Free bytes on the data directory's file system").set(Double(free))
        }
        return registry.emitToBuffer()
    }

    /// Free bytes on the file system holding `path` (nil when it cannot be read).
    static func diskFree(at path: String) -> Int64? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        return Int64(stats.f_bavail) * Int64(stats.f_frsize)
    }
}
