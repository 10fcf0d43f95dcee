import Foundation
import Hummingbird
import Logging
import SluiceCore

/// The director's orders about streams in flight: stop these now (a revoked key, user or
/// grant), without waiting for their next lease renewal; and the table of authenticated
/// streams with the I/O profile each reads with.
struct StreamControlRoutes {
    let streams: StreamTable
    let rtpSessions: RTPSessionTable
    let cluster: ClusterCredentials
    let logger: Logger

    func register(on router: Router<EngineRequestContext>) {
        router.post("/v1/streams/stop", use: stop)
        router.get("/v1/profiles", use: profiles)
    }

    private func authorize(_ request: Request, _ context: EngineRequestContext) async throws {
        try await cluster.check(request, context, for: "stream orders and views")
    }

    /// An entry exists from the stream's start to its end or revocation, and no longer.
    @Sendable func profiles(_ request: Request, context: EngineRequestContext) async throws -> Response {
        try await authorize(request, context)
        var rows = await streams.profiles
        rows += rtpSessions.all.filter { !$0.isFinished }.map {
            ClusterMessages.StreamProfile(streamID: $0.streamID, object: $0.object.name, transport: "rtp", profile: $0.profile, since: $0.openedAt)
        }
        return Response.json(rows.sorted { $0.streamID < $1.streamID })
    }

    @Sendable func stop(_ request: Request, context: EngineRequestContext) async throws -> Response {
        try await authorize(request, context)
        let order = try await request.decodeJSON(ClusterMessages.StopStreams.self, limit: 1 << 20)
        guard order.ids.count <= ClusterMessages.StopStreams.maxItems else {
            throw HTTPError(.badRequest, message: "at most \(ClusterMessages.StopStreams.maxItems) stream IDs per order")
        }
        var sent = await streams.revoke(order.ids)
        for id in order.ids {
            guard let session = rtpSessions.session(id) else { continue }
            rtpSessions.remove(id)
            sent[id] = await session.stop().bytesSent  // SR + BYE: the player knows it is over
        }
        logger.warning("streams stopped by the director", metadata: ["ids": "\(order.ids.prefix(20))", "were_sending": "\(sent.count)"])
        return Response.json(ClusterMessages.StreamsStopped(
            stopped: sent.count, bytesSent: Dictionary(uniqueKeysWithValues: sent.map { (String($0.key), $0.value) })))
    }
}
