import Hummingbird
import NIOCore
import SluiceCore
import SluiceGrant
import SluiceMedia

/// HLS on the engine: one admitted stream (one lease, one reservation, one usage record)
/// however many requests its player makes. The playlist and every segment URL carry the
/// stream's grant (bound to the stream and the client's address, dead with the lease); each
/// segment is a byte range of the stored file, paced at the reserved rate like any HTTP
/// connection of the stream, and renews the lease. A session that asks for nothing for
/// `idleTime(_:)` ends and frees its path; its usage record counts every segment's bytes.
extension EngineRoutes {
    /// `engines[].hlsIdleTime`, else about three target durations, within 6-60 s.
    func idleTime(_ playlist: HLSPlaylist) -> Duration {
        hlsIdleTime ?? .seconds(min(60, max(6, 3 * playlist.targetDurationSeconds)))
    }

    /// Startup allowance: the session's token bucket starts with its first segment twice, the
    /// second once and a second more (at most 16 MiB): Chromium fetches the first segment twice
    /// (to probe, then to play) and starts once it holds about two, so startup stays near a
    /// second; from then on segments come at the reserved rate.
    func startupBurst(_ playlist: HLSPlaylist, _ grant: StreamGrant) -> Int {
        let first = playlist.segments.first.map { Int($0.length) } ?? 0
        let second = playlist.segments.dropFirst().first.map { Int($0.length) } ?? 0
        return max(burstBytes, min(16 << 20, 2 * first + second + Int(grant.bitsPerSecond / 8)))
    }

    /// The play grant of a playlist or segment URL. One that does not verify (forged, expired,
    /// another client's) is `410`, as for an ended session: a player stops asking, and the
    /// answer tells nothing of why.
    func sessionGrant(_ request: Request, object name: String, context: EngineRequestContext) throws -> StreamGrant {
        do {
            return try playGrant(request, object: name, context: context)
        } catch {
            throw HTTPError(.gone, message: "this HLS session is not valid here (ended, forged, or another client's); ask the director to play again")
        }
    }

    @Sendable func hlsPlaylist(_ request: Request, context: EngineRequestContext) async throws -> Response {
        let name = try context.parameters.require("object")
        let grant = try sessionGrant(request, object: name, context: context)
        try await requireLiveStream(grant, object: name, claiming: true)
        let playlist = try await hlsPlaylist(of: name)
        // The idle clock starts with the playlist: a player that fetches it and nothing more
        // frees the path after the idle time, not at the lease's end.
        if let generation = await streams.attach(
            grant.streamID, object: name, profile: grant.profile, bitsPerSecond: grant.bitsPerSecond,
            burstBytes: startupBurst(playlist, grant), grace: idleTime(playlist), concurrent: true) {
            await streams.detach(grant.streamID, generation: generation, reason: .unclaimed, revoked: false)
        }
        logger.debug("hls playlist", metadata: ["stream_id": "\(grant.streamID)", "segments": "\(playlist.segments.count)"])
        let token = request.uri.queryParameters.get("grant") ?? ""
        let text = playlist.render { "seg/\($0.index).ts?grant=\(token)" }
        return Response(
            status: .ok, headers: [.contentType: "application/vnd.apple.mpegurl", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    @Sendable func hlsSegment(_ request: Request, context: EngineRequestContext) async throws -> Response {
        let name = try context.parameters.require("object")
        let grant = try sessionGrant(request, object: name, context: context)
        let file = try context.parameters.require("segment")
        guard file.hasSuffix(".ts"), let index = Int(file.dropLast(3)), index >= 0 else {
            throw HTTPError(.notFound, message: "'\(file.prefix(32))' is not a segment of this playlist")
        }
        try await requireLiveStream(grant, object: name, claiming: true)
        let playlist = try await hlsPlaylist(of: name)
        guard index < playlist.segments.count else {
            throw HTTPError(.notFound, message: "segment \(index) is past the end (\(playlist.segments.count) segments)")
        }
        let segment = playlist.segments[index]
        logger.debug("hls segment", metadata: [
            "stream_id": "\(grant.streamID)", "segment": "\(index)", "bytes": "\(segment.length)", "range": "\(request.headers[.range] ?? "-")",
        ])
        var sender = PacedSender(
            path: objects.path(of: name), range: segment.byteRange, grant: grant,
            burstBytes: startupBurst(playlist, grant), renewInterval: renewInterval, streams: streams,
            director: director, metrics: metrics, logger: logger)
        sender.channel = context.channel
        sender.idleGrace = idleTime(playlist)
        sender.concurrent = true
        // A session idle after anything but the last segment stopped short of the end.
        sender.reasonWhenDone = index == playlist.segments.count - 1 ? .completed : .clientGone
        return Response(
            status: .ok, headers: [.contentType: "video/mp2t", .contentLength: "\(segment.length)", .cacheControl: "no-store"],
            body: sender.body())
    }

    private func hlsPlaylist(of name: String) async throws -> HLSPlaylist {
        guard await objects.object(named: name) != nil else {
            throw HTTPError(.notFound, message: "engine '\(self.name)' does not hold '\(name)'")
        }
        return try await objects.playlist(of: name)
    }
}
