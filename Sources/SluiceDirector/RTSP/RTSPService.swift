import Foundation
import Logging
import NIOCore
import SluiceCore
import SluiceGrant
import SluiceMedia

/// The RTSP front door's decisions (RFC 2326): admission at SETUP with the same core as HTTP,
/// then PLAY/PAUSE/TEARDOWN relayed to the engine's control API. The director answers the
/// player; the engine sends RTP straight to it (`source=` in the Transport reply).
actor RTSPService {
    /// Where the request came from and arrived, for URLs and admission.
    struct Peer: Sendable {
        var clientHost: String
        var serverHost: String
        var serverPort: Int
        /// `rtsp` or `rtsps`: what the session's URLs (Content-Base) say.
        var scheme = "rtsp"
        /// The connection's close: a SETUP waiting in the queue leaves it when the player goes.
        var hangUp: EventLoopFuture<Void>? = nil
        /// Random per connection: sessions remember the connection that set them up, and Digest
        /// nonces are bound to the connection they were issued on (a captured answer does not
        /// work on another one).
        var connection: UInt64 = UInt64.random(in: 1...UInt64.max)
    }

    static let methods = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"

    let director: any RTSPDirector
    let engines: EngineControl
    let clock: any SluiceClock
    let logger: Logger
    private var machine: RTSPSessionStateMachine
    /// With a shared store: each session as last saved there (`Session.persisted`).
    private var saved: [String: RTSPSessionStateMachine.Session] = [:]

    init(
        director: any RTSPDirector, engines: EngineControl, clock: any SluiceClock, sessionTimeout: Duration, claimTimeout: Duration,
        pauseTimeout: Duration = .seconds(300), logger: Logger
    ) {
        self.director = director
        self.engines = engines
        self.clock = clock
        self.machine = RTSPSessionStateMachine(sessionTimeout: sessionTimeout, claimTimeout: claimTimeout, pauseTimeout: pauseTimeout)
        self.logger = logger
    }

    func handle(_ request: RTSPRequest, peer: Peer) async -> RTSPResponse {
        var response = await respond(to: request, peer: peer)
        if director.sharesSessions {
            await saveSessions([sessionID(request), response.headers["Session"].flatMap(Self.sessionID)].compactMap(\.self))
        }
        response.headers.set("CSeq", request.cseq ?? "0")
        response.headers.add("Server", "sluice")
        return response
    }

    private func respond(to request: RTSPRequest, peer: Peer) async -> RTSPResponse {
        let target = RTSPTarget(request.uri)
        let sessionID = sessionID(request)
        if let sessionID, machine.sessions[sessionID] == nil, director.sharesSessions,
           ["GET_PARAMETER", "SET_PARAMETER", "PLAY", "PAUSE", "TEARDOWN"].contains(request.method) {
            if let refusal = await adopt(sessionID, request: request, target: target, peer: peer) { return refusal }
        }
        if let sessionID, ["GET_PARAMETER", "SET_PARAMETER", "PLAY", "PAUSE", "TEARDOWN"].contains(request.method),
           let refusal = await authorizeControl(request, target: target, session: sessionID, peer: peer) {
            return refusal
        }
        let known = sessionID.map { machine.requestReceived(session: $0, now: clock.now()) }
        switch request.method {
        case "OPTIONS":
            return RTSPResponse(status: 200, headers: RTSPHeaders([("Public", Self.methods)]))
        case "GET_PARAMETER", "SET_PARAMETER":
            return RTSPResponse(status: known == false ? 454 : 200)
        case "PLAY", "PAUSE", "TEARDOWN":
            guard let sessionID else { return RTSPResponse(status: 454) }
            switch request.method {
            case "PLAY": return await play(request, session: sessionID)
            case "PAUSE": return await pause(session: sessionID)
            default: return await perform(machine.teardownReceived(session: sessionID), session: sessionID)
            }
        case "DESCRIBE", "SETUP":
            let (found, stale) = await principal(request, target: target, peer: peer)
            guard let principal = found else { return await challenge(stale: stale, peer: peer) }
            if request.method == "SETUP" { return await setup(request, target: target, peer: peer, by: principal) }
            return await describe(request, target: target, peer: peer, by: principal)
        case "ANNOUNCE", "RECORD", "REDIRECT":
            return RTSPResponse(status: 405, headers: RTSPHeaders([("Allow", Self.methods)]))
        default:
            return RTSPResponse(status: 501, headers: RTSPHeaders([("Public", Self.methods)]))
        }
    }

    // MARK: Methods

    private func describe(_ request: RTSPRequest, target: RTSPTarget, peer: Peer, by principal: Principal) async -> RTSPResponse {
        guard let name = target.object, MediaObject.isValidName(name) else { return RTSPResponse(status: 400) }
        guard let object = await director.playableObject(name, for: principal) else {
            return RTSPResponse(status: 404, headers: RTSPHeaders([("X-Sluice-Reason", Entitlements.notFoundMessage(name))]))
        }
        // Players follow a redirect of DESCRIBE (not of SETUP): a director whose queue is full
        // hands the player to one that has room before it asks for the stream.
        if !target.handedOff, let handOff = await director.handOff(for: .play(object: name), clientAddress: peer.clientHost) {
            return redirect(request, to: handOff, target: target)
        }
        let query = target.query.map { "?" + $0 } ?? ""
        let sdp = SDPWriter.mpegTransportStream(
            sessionID: UInt64(Date().timeIntervalSince1970), originAddress: peer.serverHost, name: name,
            durationSeconds: Double(object.durationMilliseconds) / 1000,
            trackControl: query.isEmpty ? "track0" : target.base(peer: peer) + "/track0" + query)
        return RTSPResponse(status: 200, headers: RTSPHeaders([
            ("Content-Type", "application/sdp"), ("Content-Base", target.base(peer: peer) + "/"),
        ]), body: Array(sdp.utf8))
    }

    /// 401 with both schemes: players pick Digest (the key never crosses the network) when they can.
    private func challenge(stale: Bool, peer: Peer) async -> RTSPResponse {
        var challenges = RTSPHeaders([("WWW-Authenticate", "Basic realm=\"\(DigestAuthenticator.realm)\"")])
        if let digest = await director.digestChallenge(stale: stale, connection: peer.connection) { challenges.add("WWW-Authenticate", digest) }
        return RTSPResponse(status: 401, headers: challenges)
    }

    /// A session is controlled from the connection that set it up, or with the credentials of
    /// whoever did; anything else is refused (401 without credentials, 454 with someone else's).
    /// nil: go on.
    private func authorizeControl(_ request: RTSPRequest, target: RTSPTarget, session id: String, peer: Peer) async -> RTSPResponse? {
        switch machine.control(session: id, connection: peer.connection) {
        case .unknownSession, .owner:
            return nil
        case .needs(let owner):
            let (found, stale) = await principal(request, target: target, peer: peer)
            guard let caller = found else {
                logger.info("rtsp control refused: no credentials on another connection", metadata: ["session": "\(id)", "client": "\(peer.clientHost)"])
                return await challenge(stale: stale, peer: peer)
            }
            guard RTSPSessionStateMachine.mayControl(owner: owner, caller: caller) else {
                logger.warning("rtsp control refused: the session belongs to someone else", metadata: [
                    "session": "\(id)", "client": "\(peer.clientHost)", "user": "\(caller.name)",
                ])
                return RTSPResponse(status: 454)
            }
            return nil
        }
    }

    /// `302 Moved Temporarily` to the same path on another director, marked so that it does not
    /// send the player on again.
    private func redirect(_ request: RTSPRequest, to handOff: AdmissionRefusal.HandOff, target: RTSPTarget) -> RTSPResponse {
        let query = target.query.map { $0 + "&" } ?? ""
        let location = "\(handOff.rtspURL)\(target.path)?\(query)handedOff=1"
        logger.info("rtsp request handed to another director", metadata: ["location": "\(location)"])
        return RTSPResponse(status: 302, headers: RTSPHeaders([("Location", location)]))
    }

    private func setup(_ request: RTSPRequest, target: RTSPTarget, peer: Peer, by principal: Principal) async -> RTSPResponse {
        guard let name = target.object, MediaObject.isValidName(name) else { return RTSPResponse(status: 400) }
        if let refusal = machine.setupReceived(session: sessionID(request)) { return await perform(refusal, session: nil) }
        let offers = RTSPTransport.parse(request.headers["Transport"] ?? "")
        let udp = offers.filter { $0.isUDP && $0.isUnicast }
        guard let transport = udp.first(where: { $0.clientRTPPort != nil }),
              let rtpPort = transport.clientRTPPort, let rtcpPort = transport.clientRTCPPort else {
            // Interleaved TCP would put the director in the media path.
            let reason = udp.compactMap(\.clientPortProblem).first ?? "only unicast RTP over UDP with client_port is served"
            logger.info("rtsp setup refused: unusable transport", metadata: ["client": "\(peer.clientHost)", "reason": "\(reason)"])
            return RTSPResponse(status: 461, headers: RTSPHeaders([("X-Sluice-Reason", reason)]))
        }
        var play = PlayRequest(
            object: name, clientAddress: peer.clientHost, principal: principal, maxWait: target.maxWait,
            profile: .licensed(license: request.headers["X-Sluice-License"] ?? target.license, requested: target.profile),
            hangUp: peer.hangUp)
        play.transport = "rtsp"
        let ticket: PlayTicket
        switch await director.admitPlay(play) {
        case .failure(let refusal):
            // Players that skip DESCRIBE (VLC) meet the full queue here; a redirect again.
            if let handOff = refusal.handOff, !target.handedOff { return redirect(request, to: handOff, target: target) }
            logger.info("rtsp setup refused", metadata: ["object": "\(name)", "reason": "\(refusal)"])
            return RTSPResponse(status: RefusalAnswer(refusal.code).rtsp, headers: RTSPHeaders([("X-Sluice-Reason", refusal.message)]))
        case .success(let admitted):
            ticket = admitted
        }
        let created: ClusterMessages.RTPSessionCreated
        do {
            created = try await engines.open(engineURL: ticket.engine.url, .init(
                grant: ticket.grant, object: name, clientHost: peer.clientHost, clientRTPPort: rtpPort, clientRTCPPort: rtcpPort))
        } catch {
            logger.error("engine refused the rtp session", metadata: ["engine": "\(ticket.engine.name)", "error": "\(error)"])
            await director.end(streamID: ticket.stream.id, bytesSent: 0, reason: .failed)
            return RTSPResponse(status: 503, headers: RTSPHeaders([("X-Sluice-Reason", "engine '\(ticket.engine.name)' could not open the stream")]))
        }
        let now = clock.now()
        let id = Self.newSessionID()
        machine.setupAdmitted(.init(
            id: id, streamID: ticket.stream.id, object: name, durationMilliseconds: ticket.object.durationMilliseconds,
            engine: ticket.engine.name, engineURL: ticket.engine.url, clientHost: peer.clientHost, clientRTPPort: rtpPort,
            clientRTCPPort: rtcpPort, principal: principal, connection: peer.connection, profile: ticket.profile, lastSeen: now, setUpAt: now))
        let ssrc = String(created.ssrc, radix: 16, uppercase: true)
        let transportReply = "RTP/AVP;unicast;client_port=\(rtpPort)-\(rtcpPort);source=\(created.sourceHost);"
            + "server_port=\(created.serverRTPPort)-\(created.serverRTCPPort);ssrc=\(String(repeating: "0", count: 8 - ssrc.count) + ssrc)"
        logger.info("rtsp session set up", metadata: [
            "session": "\(id)", "stream_id": "\(ticket.stream.id)", "object": "\(name)", "engine": "\(ticket.engine.name)",
        ])
        return RTSPResponse(status: 200, headers: RTSPHeaders([
            ("Transport", transportReply), ("Session", "\(id);timeout=\(Int(machine.sessionTimeout.seconds))"),
            ("X-Sluice-Profile", ticket.profileHeader),
        ]))
    }

    private func play(_ request: RTSPRequest, session id: String) async -> RTSPResponse {
        let start = NormalPlayTime.start(request.headers["Range"]).map { Int64($0 * 1000) }
        // libavformat (ffmpeg, and players built on it) asks for npt = wanted time + the
        // stream's first PTS; GStreamer and live555 count from zero.
        let countsFromFirstPTS = request.headers["User-Agent"]?.contains("Lavf") == true
        let action = machine.playReceived(session: id, startMilliseconds: start, countsFromFirstPTS: countsFromFirstPTS, now: clock.now())
        guard case .playOnEngine(let session, let start, let countsFromFirstPTS) = action else { return await perform(action, session: id) }
        do {
            let playing = try await engines.play(
                engineURL: session.engineURL, streamID: session.streamID, startMilliseconds: start, countsFromFirstPTS: countsFromFirstPTS)
            machine.playSucceeded(session: id)
            let url = request.uri.split(separator: "?").first.map(String.init) ?? request.uri
            return RTSPResponse(status: 200, headers: RTSPHeaders([
                ("Session", "\(id);timeout=\(Int(machine.sessionTimeout.seconds))"),
                ("Range", "npt=\(Self.seconds(playing.startMilliseconds))-\(Self.seconds(session.durationMilliseconds))"),
                ("RTP-Info", "url=\(url);seq=\(playing.sequence);rtptime=\(playing.rtpTime)"),
            ]))
        } catch {
            logger.warning("engine could not play", metadata: ["session": "\(id)", "error": "\(error)"])
            _ = await perform(machine.engineCallFailed(session: id), session: id)
            return RTSPResponse(status: 454)
        }
    }

    private func pause(session id: String) async -> RTSPResponse {
        // The engine may have reported the end before the sweep marked the session: ask.
        var state = Director.PlayState.ended
        if let session = machine.sessions[id] {
            state = await director.playStates([(session.streamID, session.engine)])[session.streamID] ?? .ended
        }
        let action = machine.pauseReceived(session: id, stream: state, now: clock.now())
        guard case .pauseOnEngine(let session) = action else { return await perform(action, session: id) }
        do {
            try await engines.pause(engineURL: session.engineURL, streamID: session.streamID)
            machine.pauseSucceeded(session: id, now: clock.now())
        } catch let failure as EngineControl.Failure where failure.status == 404 || failure.status == 410 {
            // The stream ended at the engine while the player asked: the same as above.
            machine.streamFoundGone(session: id, now: clock.now())
        } catch {
            _ = await perform(machine.engineCallFailed(session: id), session: id)
            return RTSPResponse(status: 454)
        }
        return RTSPResponse(status: 200, headers: RTSPHeaders([("Session", id)]))
    }

    /// Carries out an action of the state machine; the reply to the request that caused it.
    @discardableResult
    private func perform(_ action: RTSPSessionStateMachine.Action, session id: String?) async -> RTSPResponse {
        switch action {
        case .reply(let status, let reason):
            var response = RTSPResponse(status: status)
            if status == 200, let id { response.headers.add("Session", id) }
            if let reason { response.headers.add("X-Sluice-Reason", reason) }
            return response
        case .stopAndEnd(let session, let reason):
            let stopped = try? await engines.stop(engineURL: session.engineURL, streamID: session.streamID)
            await director.end(streamID: session.streamID, bytesSent: stopped?.bytesSent, reason: reason, quality: stopped?.quality)
        case .stopOnEngine(let session):
            _ = try? await engines.stop(engineURL: session.engineURL, streamID: session.streamID)
        case .move(let session, let stream):
            await move(session, stream)
        case .playOnEngine, .pauseOnEngine:
            break  // performed where the request is answered (`play`, `pause`)
        }
        return RTSPResponse(status: 200, headers: id.map { RTSPHeaders([("Session", $0)]) } ?? RTSPHeaders())
    }

    // MARK: Timeouts

    /// Once a second: the state machine's tick with the director's view of each session's stream.
    func sweep() async {
        if director.sharesSessions { await reconcileSharedSessions() }
        let states = await director.playStates(machine.liveStreams)
        for action in machine.tick(now: clock.now(), streams: states) {
            if case .stopAndEnd(let session, let reason) = action {
                logger.info(reason == .unclaimed ? "rtsp session never played: released" : "rtsp session timed out", metadata: [
                    "session": "\(session.id)", "stream_id": "\(session.streamID)",
                ])
            }
            await perform(action, session: nil)
        }
        if director.sharesSessions { await saveSessions(Set(machine.sessions.keys).union(saved.keys)) }
    }

    // MARK: Sessions in the shared store

    /// Saves the named sessions that changed since they were last saved; removes those that ended.
    private func saveSessions(_ ids: some Sequence<String>) async {
        for id in Set(ids) {
            if let session = machine.sessions[id]?.persisted {
                guard saved[id] != session, let body = try? JSONEncoder().encode(session) else { continue }
                await director.saveSession(id: id, body: String(decoding: body, as: UTF8.self))
                saved[id] = session
            } else if saved.removeValue(forKey: id) != nil {
                await director.forgetSession(id: id)
            }
        }
    }

    /// A request named a session this director does not hold: if the store has it and the
    /// caller may control it, take it over (nil: go on). Someone else's session ID is not
    /// enough: without the owner's credentials nothing moves (401, or 454 for another user).
    private func adopt(_ id: String, request: RTSPRequest, target: RTSPTarget, peer: Peer) async -> RTSPResponse? {
        guard let body = await director.peekSession(id: id), let stored = decodeSession(body) else { return nil }
        let (found, stale) = await principal(request, target: target, peer: peer)
        guard let caller = found else { return await challenge(stale: stale, peer: peer) }
        guard RTSPSessionStateMachine.mayControl(owner: stored.principal, caller: caller) else {
            logger.warning("rtsp control refused: the session belongs to someone else", metadata: [
                "session": "\(id)", "client": "\(peer.clientHost)", "user": "\(caller.name)",
            ])
            return RTSPResponse(status: 454)
        }
        guard let taken = await director.adoptSession(id: id), let session = adopted(taken) else { return nil }
        await director.streamAdopted(session.streamID)
        logger.info("rtsp session taken over from another director", metadata: ["session": "\(id)", "client": "\(peer.clientHost)"])
        return nil
    }

    private func decodeSession(_ body: String) -> RTSPSessionStateMachine.Session? {
        guard let session = try? JSONDecoder().decode(RTSPSessionStateMachine.Session.self, from: Data(body.utf8)) else {
            logger.error("rtsp session in the store could not be read", metadata: ["body": "\(body.prefix(200))"])
            return nil
        }
        return session
    }

    /// Holds a session read from the store; its stream is booked in this director's core.
    private func adopted(_ body: String) -> RTSPSessionStateMachine.Session? {
        guard let session = decodeSession(body) else {
            return nil
        }
        machine.adopted(session, now: clock.now())
        saved[session.id] = session.persisted
        return session
    }

    /// Drops the sessions another director took over, and takes over those of dead directors.
    private func reconcileSharedSessions() async {
        let before = Set(saved.keys)
        if let held = await director.heldSessions() {
            for id in before.subtracting(held) where machine.sessions[id] != nil {
                machine.handedOver(session: id)
                saved[id] = nil
                logger.info("rtsp session handed over to another director", metadata: ["session": "\(id)"])
            }
        }
        for body in await director.adoptOrphanedSessions() {
            guard let session = adopted(body) else { continue }
            await director.streamAdopted(session.streamID)
            logger.warning("rtsp session taken over from a director that stopped", metadata: [
                "session": "\(session.id)", "stream_id": "\(session.streamID)", "object": "\(session.object)",
            ])
        }
    }

    // MARK: Engine failure

    /// An engine failed and the director ended its streams: each session it served continues
    /// on another replica from where the engine last reported, under the same session ID and
    /// SSRC, its RTP numbering carried on; a session that cannot be moved ends (logged why).
    func engineFailed(_ engine: String, _ streams: [LiveStream]) async {
        for action in machine.engineFailed(engine, streams: streams, now: clock.now()) {
            await perform(action, session: nil)
        }
    }

    private func move(_ session: RTSPSessionStateMachine.Session, _ stream: LiveStream) async {
        let now = clock.now()
        let reported = stream.rtpPosition ?? RTPPosition(
            milliseconds: 0, sequence: 0, rtpTime: 0, isPlaying: session.phase == .playing, packetsPerSecond: 100)
        let resume = reported.continued(after: stream.positionReportedAt.map { now - $0 } ?? .zero)
        func fail(_ reason: String) {
            logger.error("rtsp stream could not be moved off the failed engine: session ended", metadata: [
                "session": "\(session.id)", "object": "\(session.object)", "engine": "\(session.engine)", "reason": "\(reason)",
            ])
            machine.moveFailed(session: session.id, now: clock.now())
        }
        guard resume.milliseconds < session.durationMilliseconds else { return fail("the stream was at its end") }
        var play = PlayRequest(
            object: session.object, clientAddress: session.clientHost, principal: session.principal, maxWait: .seconds(2),
            profile: .kept(session.profile), preferredStreamID: session.streamID)
        play.transport = "rtsp"
        let ticket: PlayTicket
        switch await director.admitPlay(play) {
        case .failure(let refusal): return fail(refusal.message)
        case .success(let admitted): ticket = admitted
        }
        do {
            _ = try await engines.open(engineURL: ticket.engine.url, .init(
                grant: ticket.grant, object: session.object, clientHost: session.clientHost, clientRTPPort: session.clientRTPPort,
                clientRTCPPort: session.clientRTCPPort, continueAt: resume))
            if resume.isPlaying {
                _ = try await engines.play(engineURL: ticket.engine.url, streamID: ticket.stream.id, startMilliseconds: resume.milliseconds, countsFromFirstPTS: false)
            }
        } catch {
            _ = try? await engines.stop(engineURL: ticket.engine.url, streamID: ticket.stream.id)
            await director.end(streamID: ticket.stream.id, bytesSent: 0, reason: .failed)
            return fail("engine '\(ticket.engine.name)' could not open the stream: \(error)")
        }
        machine.moveSucceeded(session: session.id, streamID: ticket.stream.id, engine: ticket.engine.name, engineURL: ticket.engine.url)
        director.streamMovedOffFailedEngine()
        logger.warning("rtsp stream moved to another replica", metadata: [
            "session": "\(session.id)", "from": "\(session.engine)", "to": "\(ticket.engine.name)", "stream_id": "\(ticket.stream.id)",
            "position_ms": "\(resume.milliseconds)", "seq": "\(resume.sequence)", "same_ssrc": "\(ticket.stream.id == session.streamID)",
        ])
    }

    // MARK: Helpers

    private func sessionID(_ request: RTSPRequest) -> String? {
        request.headers["Session"].flatMap(Self.sessionID)
    }

    static func sessionID(_ header: String) -> String? {
        header.split(separator: ";").first.map { String($0).trimmingCharacters(in: .whitespaces) }
    }

    /// Who made the request: a key in the URL, a bearer token, Basic (either half a key), or a
    /// Digest answer for the request's own URI. `stale`: a Digest nonce merely expired.
    private func principal(_ request: RTSPRequest, target: RTSPTarget, peer: Peer) async -> (Principal?, stale: Bool) {
        if let authorization = request.headers["Authorization"], authorization.lowercased().hasPrefix("digest ") {
            guard let answer = DigestAnswer(header: authorization), answer.uri == request.uri else { return (nil, false) }
            return await director.authenticate(digest: answer, method: request.method, connection: peer.connection)
        }
        var candidates: [String?] = [target.key]
        if let authorization = request.headers["Authorization"] {
            if authorization.lowercased().hasPrefix("bearer ") { candidates.append(String(authorization.dropFirst(7))) }
            if authorization.lowercased().hasPrefix("basic "),
               let data = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
               let pair = String(data: data, encoding: .utf8) {
                candidates += pair.split(separator: ":", maxSplits: 1).map(String.init)
            }
        }
        if candidates.allSatisfy({ $0 == nil }) { candidates = [nil] }
        for candidate in candidates {
            if case .success(let principal) = await director.authenticate(candidate) { return (principal, false) }
        }
        return (nil, false)
    }

    static func newSessionID() -> String {
        (0..<2).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16) }.joined().padding(toLength: 16, withPad: "0", startingAt: 0)
    }

    static func seconds(_ milliseconds: Int64) -> String {
        String(format: "%.3f", Double(milliseconds) / 1000)
    }
}

/// What an RTSP URL names: `rtsp://host:port/OBJECT[/track0][?key=K&maxWait=S]`.
struct RTSPTarget {
    var object: String?
    var key: String?
    var maxWait: Duration?
    /// A license (`?license=`), and the profile asked of it (`?profile=`).
    var license: String?
    var profile: String?
    var path: String
    /// The query as the player sent it (carried into control URLs and redirects).
    var query: String?
    /// Another director sent the player here: do not send it on again.
    var handedOff: Bool

    init(_ uri: String) {
        let components = URLComponents(string: uri)
        query = uri.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init)
        path = components?.path ?? ""
        object = path.split(separator: "/").first.map(String.init)
        key = components?.queryItems?.first { $0.name == "key" }?.value
        license = components?.queryItems?.first { $0.name == "license" }?.value
        profile = components?.queryItems?.first { $0.name == "profile" }?.value
        handedOff = components?.queryItems?.contains { $0.name == "handedOff" } ?? false
        maxWait = Duration.requestedWait(components?.queryItems?.first { $0.name == "maxWait" }?.value)
    }

    func base(peer: RTSPService.Peer) -> String {
        "\(peer.scheme)://\(peer.serverHost.contains(":") ? "[\(peer.serverHost)]" : peer.serverHost):\(peer.serverPort)/\(object ?? "")"
    }
}
