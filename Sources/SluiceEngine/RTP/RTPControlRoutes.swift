import Foundation
import Hummingbird
import Logging
import NIOCore
import SluiceCore
import SluiceGrant
import SluiceMedia

/// The director's control API for RTP delivery: open a session for an admitted stream, play
/// from a time, pause, stop. The director speaks RTSP to the player; the engine sends RTP.
struct RTPControlRoutes {
    let engineName: String
    let objects: ObjectStore
    let sessions: RTPSessionTable
    let sockets: RTPSockets
    let director: DirectorLink
    let signer: GrantSigner
    let cluster: ClusterCredentials
    let sourceHost: String
    let renewInterval: Duration
    let clock: any SluiceClock
    /// Where each session's send loop runs.
    let work: BackgroundWork
    let logger: Logger

    func register(on router: Router<EngineRequestContext>) {
        router.post("/v1/rtp/sessions", use: create)
        router.post("/v1/rtp/sessions/:id/play", use: play)
        router.post("/v1/rtp/sessions/:id/pause", use: pause)
        router.delete("/v1/rtp/sessions/:id", use: stop)
    }

    private func authorize(_ request: Request, _ context: EngineRequestContext) async throws {
        try await cluster.check(request, context, for: "RTP controls")
    }

    private func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        try await request.decodeJSON(type, limit: 1 << 16)
    }

    private func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        Response.json(value, status: status)
    }

    private func session(_ context: EngineRequestContext) throws -> RTPSession {
        guard let id = UInt32(try context.parameters.require("id")), let session = sessions.session(id) else {
            throw HTTPError(.notFound, message: "no RTP session with that stream ID")
        }
        return session
    }

    @Sendable func create(_ request: Request, context: EngineRequestContext) async throws -> Response {
        try await authorize(request, context)
        let body = try await decode(ClusterMessages.RTPSessionRequest.self, request)
        let grant: StreamGrant
        do throws(GrantError) {
            // The grant names the player's address: RTP goes nowhere else.
            grant = try signer.verify(body.grant, object: body.object, engine: engineName, clientAddress: body.clientHost, action: .play, now: clock.now())
        } catch {
            throw HTTPError(.forbidden, message: error.message)
        }
        guard let object = await objects.object(named: body.object) else {
            throw HTTPError(.notFound, message: "engine '\(engineName)' does not hold '\(body.object)'")
        }
        // The director checked the ports; the engine checks again, as no session may send
        // where the shared sockets cannot (port 0 fails every later send on them) or to itself.
        if case .failure(let problem) = ClientPorts.validate(rtp: Int(body.clientRTPPort), rtcp: Int(body.clientRTCPPort)) {
            throw HTTPError(.badRequest, message: problem.message)
        }
        guard let client = try? SocketAddress(ipAddress: body.clientHost, port: Int(body.clientRTPPort)),
              let clientRTCP = try? SocketAddress(ipAddress: body.clientHost, port: Int(body.clientRTCPPort)) else {
            throw HTTPError(.badRequest, message: "client address \(body.clientHost):\(body.clientRTPPort) is not usable")
        }
        if sockets.isOwnAddress(client) || sockets.isOwnAddress(clientRTCP) {
            throw HTTPError(.badRequest, message: "client_port names the engine's own RTP or RTCP socket")
        }
        let timing = try await objects.timing(of: object.name)
        let session = RTPSession(
            grant: grant, object: object, path: objects.path(of: object.name), timing: timing, client: client, clientRTCP: clientRTCP,
            continueAt: body.continueAt)
        if let old = sessions.insert(session) { _ = await old.stop() }
        let streamer = RTPStreamer(
            session: session, sockets: sockets, director: director, renewInterval: renewInterval, cname: "sluice-\(engineName)", logger: logger)
        let sessions = self.sessions
        let started = work.start {
            await streamer.run()
            if sessions.session(session.streamID) === session { sessions.remove(session.streamID) }
        }
        guard started else {
            sessions.remove(session.streamID)
            throw HTTPError(.serviceUnavailable, message: "engine '\(engineName)' is shutting down")
        }
        logger.info("rtp session opened", metadata: ["stream_id": "\(grant.streamID)", "object": "\(object.name)", "client": "\(body.clientHost):\(body.clientRTPPort)"])
        return json(ClusterMessages.RTPSessionCreated(
            serverRTPPort: sockets.rtpPort, serverRTCPPort: sockets.rtcpPort, ssrc: grant.streamID,
            sequence: session.nextSequence, rtpTime: session.initialRTPTime, sourceHost: sourceHost), status: .created)
    }

    @Sendable func play(_ request: Request, context: EngineRequestContext) async throws -> Response {
        try await authorize(request, context)
        let session = try session(context)
        let body = try await decode(ClusterMessages.RTPPlay.self, request)
        guard !session.isFinished else { throw HTTPError(.gone, message: "the stream has ended") }
        var requested = body.startMilliseconds
        if body.countsFromFirstPTS, let start = requested, let firstPTS = session.firstPTSMilliseconds {
            requested = start - firstPTS
        }
        let start = await session.play(fromMilliseconds: requested.map { max(0, $0) })
        return json(ClusterMessages.RTPPlaying(sequence: start.sequence, rtpTime: start.rtpTime, startMilliseconds: start.startMilliseconds))
    }

    @Sendable func pause(_ request: Request, context: EngineRequestContext) async throws -> Response {
        try await authorize(request, context)
        try await session(context).pause()
        return json(["paused": true])
    }

    @Sendable func stop(_ request: Request, context: EngineRequestContext) async throws -> Response {
        try await authorize(request, context)
        let session = try session(context)
        let summary = await session.stop()
        sessions.remove(session.streamID)
        return json(ClusterMessages.RTPStopped(bytesSent: summary.bytesSent, packetsSent: summary.packetsSent, quality: summary.quality))
    }
}
