import Crypto
import Hummingbird
import NIOCore
import SluiceListeners

/// `GET /metrics` on an engine: Prometheus text for the cluster token (the director) or the
/// scraper's metrics token. The gauges of state are read here, at the scrape.
struct MetricsRoute {
    let metrics: EngineMetrics
    let objects: ObjectStore
    let streams: StreamTable
    let rtpSessions: RTPSessionTable
    let dataDirectory: String
    /// Bearer tokens that may read; compared as digests, so the comparison takes the same time.
    let tokens: [String]

    func register(on router: Router<EngineRequestContext>) {
        let digests = tokens.map { Array(SHA256.hash(data: Array($0.utf8))) }
        router.get("/metrics") { request, _ in
            let presented = request.headers[.authorization].flatMap { value -> [UInt8]? in
                guard value.lowercased().hasPrefix("bearer ") else { return nil }
                return Array(SHA256.hash(data: Array(value.utf8.dropFirst(7))))
            }
            guard let presented, digests.contains(presented) else {
                throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "metrics need the metrics token (director.metricsToken) or the cluster token")
            }
            return Response(
                status: .ok, headers: [.contentType: HTTPMetrics.contentType],
                body: .init(byteBuffer: ByteBuffer(bytes: await scrape())))
        }
    }

    func scrape() async -> [UInt8] {
        var streamCounts: [EngineMetrics.State.Key: Int] = [:]
        for (profile, count) in await streams.countsByProfile { streamCounts[.init(transport: "http", profile: profile)] = count }
        for session in rtpSessions.all { streamCounts[.init(transport: "rtp", profile: session.profile?.name ?? "traditional"), default: 0] += 1 }
        let held = await objects.all
        let state = EngineMetrics.State(
            streams: streamCounts, objects: held.count, objectBytes: held.reduce(0) { $0 + $1.sizeBytes },
            diskFreeBytes: EngineMetrics.diskFree(at: dataDirectory))
        return metrics.scrape(state) + HTTPMetrics.registry.emitToBuffer()
    }
}
