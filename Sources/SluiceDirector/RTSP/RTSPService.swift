import Foundation
import Logging
import SluiceCore
import SluiceGrant
import SluiceMedia

/// The RTSP front door's decisions (RFC 2326): admission at SETUP with the same core as HTTP,
/// then PLAY/PAUSE/TEARDOWN relayed to the engine's control API. The director answers the
/// player; the engine sends RTP straight to it (`source=` in the Transport reply).
actor RTSPService {
    struct Session {
        var id: String
        var streamID: UInt32
        var object: String
        var engine: String
        var engineURL: String
        /// Where the player receives, to open the stream again on another engine.
        var clientHost: String
        var clientRTPPort: UInt16
        var clientRTCPPort: UInt16
        /// Who asked, and the I/O profile their license gave: a moved stream keeps both.
        var principal: Principal
        var profile: IOProfile?
        var isPlaying = false
        var lastSeen: ContinuousClock.Instant
        /// When its stream ended (end of object, expiry, operator teardown). The session stays
        /// for `endedSessionLinger` so the player's PAUSE and TEARDOWN after the BYE succeed.
        var endedAt: ContinuousClock.Instant?
    }

    static let endedSessionLinger: Duration = .seconds(30)

    /// Where the request came from and arrived, for URLs and admission.
    struct Peer: Sendable {
        var clientHost: String
        var serverHost: String
        var serverPort: Int
    }

    static let methods = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"

    let director: Director
    let signer: GrantSigner
    let engines: EngineControl
    let sessionTimeout: Duration
    let logger: Logger
    private var sessions: [String: Session] = [:]

    init(director: Director, signer: GrantSigner, engines: EngineControl, sessionTimeout: Duration, logger: Logger) {
        self.director = director
        self.signer = signer
        self.engines = engines
        self.sessionTimeout = sessionTimeout
        self.logger = logger
    }

    var sessionCount: Int { sessions.count }

    func handle(_ request: RTSPRequest, peer: Peer) async -> RTSPResponse {
        var response = await respond(to: request, peer: peer)
        response.headers.set("CSeq", request.cseq ?? "0")
        response.headers.add("Server", "sluice")
        return response
    }

    private func respond(to request: RTSPRequest, peer: Peer) async -> RTSPResponse {
        let target = RTSPTarget(request.uri)
        if let id = sessionID(request), var session = sessions[id] {
            session.lastSeen = .now
            sessions[id] = session
        }
        switch request.method {
        case "OPTIONS":
            return RTSPResponse(status: 200, headers: RTSPHeaders([("Public", Self.methods)]))
        case "GET_PARAMETER", "SET_PARAMETER":
            if let id = sessionID(request), sessions[id] == nil { return RTSPResponse(status: 454) }
            return RTSPResponse(status: 200)
        case "PLAY", "PAUSE", "TEARDOWN":
            break  // holding the (unguessable) session ID is the authorisation
        case "DESCRIBE", "SETUP":
            let (found, stale) = await principal(request, target: target)
            guard let principal = found else {
                // Both schemes: players pick Digest (the key never crosses the network) when they can.
                var challenges = RTSPHeaders([("WWW-Authenticate", "Basic realm=\"\(DigestAuthenticator.realm)\"")])
                if let digest = await director.digestChallenge(stale: stale) { challenges.add("WWW-Authenticate", digest) }
                return RTSPResponse(status: 401, headers: challenges)
            }
            if request.method == "SETUP" { return await setup(request, target: target, peer: peer, by: principal) }
            return await describe(request, target: target, peer: peer, by: principal)
        case "ANNOUNCE", "RECORD", "REDIRECT":
            return RTSPResponse(status: 405, headers: RTSPHeaders([("Allow", Self.methods)]))
        default:
            return RTSPResponse(status: 501, headers: RTSPHeaders([("Public", Self.methods)]))
        }
        switch request.method {
        case "PLAY": return await play(request)
        case "PAUSE": return await pause(request)
        default: return await teardown(request)
        }
    }

    // MARK: Methods

    private func describe(_ request: RTSPRequest, target: RTSPTarget, peer: Peer, by principal: Principal) async -> RTSPResponse {
        guard let name = target.object, MediaObject.isValidName(name) else { return RTSPResponse(status: 400) }
        guard await director.access(of: name, for: principal) != nil, let object = await director.controller.directory.objects[name] else {
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
        if sessionID(request) != nil { return RTSPResponse(status: 459) }  // one track per session
        let offers = RTSPTransport.parse(request.headers["Transport"] ?? "")
        guard let transport = offers.first(where: { $0.isUDP && $0.isUnicast && $0.clientRTPPort != nil }),
              let rtpPort = transport.clientRTPPort else {
            // Interleaved TCP would put the director in the media path.
            return RTSPResponse(status: 461, headers: RTSPHeaders([("X-Sluice-Reason", "only unicast RTP over UDP with client_port is served")]))
        }
        let rtcpPort = transport.clientRTCPPort ?? rtpPort &+ 1
        let result = await director.admit(.play(object: name), clientAddress: peer.clientHost, maxWait: target.maxWait, by: principal)
        let stream: LiveStream
        switch result {
        case .failure(let refusal):
            // Players that skip DESCRIBE (VLC) meet the full queue here; a redirect again.
            if let handOff = refusal.handOff, !target.handedOff { return redirect(request, to: handOff, target: target) }
            logger.info("rtsp setup refused", metadata: ["object": "\(name)", "reason": "\(refusal)"])
            let status = switch refusal.code {
            case .unknownObject: 404
            case .pathFull, .engineFull, .queueFull, .waitExpired, .noRoute: 453
            default: 503
            }
            return RTSPResponse(status: status, headers: RTSPHeaders([("X-Sluice-Reason", refusal.message)]))
        case .success(let admitted):
            stream = admitted
        }
        guard let engine = await director.controller.directory.engines[stream.engine] else {
            await director.end(streamID: stream.id, bytesSent: 0, reason: .failed)
            return RTSPResponse(status: 503)
        }
        let licensed = await director.license(
            request.headers["X-Sluice-License"] ?? target.license, requested: target.profile, by: principal, for: stream)
        let grant = StreamGrant(playing: stream, profile: licensed.profile)
        let created: ClusterMessages.RTPSessionCreated
        do {
            created = try await engines.open(engineURL: engine.url, .init(
                grant: signer.sign(grant), object: name, clientHost: peer.clientHost, clientRTPPort: rtpPort, clientRTCPPort: rtcpPort))
        } catch {
            logger.error("engine refused the rtp session", metadata: ["engine": "\(engine.name)", "error": "\(error)"])
            await director.end(streamID: stream.id, bytesSent: 0, reason: .failed)
            return RTSPResponse(status: 503, headers: RTSPHeaders([("X-Sluice-Reason", "engine '\(engine.name)' could not open the stream")]))
        }
        let id = Self.newSessionID()
        sessions[id] = Session(
            id: id, streamID: stream.id, object: name, engine: engine.name, engineURL: engine.url, clientHost: peer.clientHost,
            clientRTPPort: rtpPort, clientRTCPPort: rtcpPort, principal: principal, profile: licensed.profile, lastSeen: .now)
        let ssrc = String(created.ssrc, radix: 16, uppercase: true)
        let transportReply = "RTP/AVP;unicast;client_port=\(rtpPort)-\(rtcpPort);source=\(created.sourceHost);"
            + "server_port=\(created.serverRTPPort)-\(created.serverRTCPPort);ssrc=\(String(repeating: "0", count: 8 - ssrc.count) + ssrc)"
        logger.info("rtsp session set up", metadata: ["session": "\(id)", "stream_id": "\(stream.id)", "object": "\(name)", "engine": "\(engine.name)"])
        return RTSPResponse(status: 200, headers: RTSPHeaders([
            ("Transport", transportReply), ("Session", "\(id);timeout=\(Int(sessionTimeout.seconds))"), ("X-Sluice-Profile", licensed.header),
        ]))
    }

    private func play(_ request: RTSPRequest) async -> RTSPResponse {
        guard let id = sessionID(request), let session = sessions[id] else { return RTSPResponse(status: 454) }
        if session.endedAt != nil { return Self.ended() }
        let start = NormalPlayTime.start(request.headers["Range"]).map { Int64($0 * 1000) }
        let duration = await director.controller.directory.objects[session.object]?.durationMilliseconds ?? 0
        // libavformat (ffmpeg, and players built on it) asks for npt = wanted time + the
        // stream's first PTS; GStreamer and live555 count from zero.
        let countsFromFirstPTS = request.headers["User-Agent"]?.contains("Lavf") == true
        if let start, start > duration, !countsFromFirstPTS { return RTSPResponse(status: 457) }
        do {
            let playing = try await engines.play(
                engineURL: session.engineURL, streamID: session.streamID, startMilliseconds: start, countsFromFirstPTS: countsFromFirstPTS)
            sessions[id]?.isPlaying = true
            let url = request.uri.split(separator: "?").first.map(String.init) ?? request.uri
            return RTSPResponse(status: 200, headers: RTSPHeaders([
                ("Session", "\(id);timeout=\(Int(sessionTimeout.seconds))"),
                ("Range", "npt=\(Self.seconds(playing.startMilliseconds))-\(Self.seconds(duration))"),
                ("RTP-Info", "url=\(url);seq=\(playing.sequence);rtptime=\(playing.rtpTime)"),
            ]))
        } catch {
            logger.warning("engine could not play", metadata: ["session": "\(id)", "error": "\(error)"])
            await drop(id, reason: .failed)
            return RTSPResponse(status: 454)
        }
    }

    private func pause(_ request: RTSPRequest) async -> RTSPResponse {
        guard let id = sessionID(request), let session = sessions[id] else { return RTSPResponse(status: 454) }
        // Players pause at the end of the stream (after the BYE): nothing is left to pause. The
        // engine may have reported the end before the sweep marked the session: ask the director
        // (unless its engine failed: then the stream is being moved, as the sweep knows too).
        let controller = await director.controller
        let gone = controller.streams[session.streamID] == nil && controller.directory.engines[session.engine]?.isUp != false
        if session.endedAt != nil || gone {
            if sessions[id]?.endedAt == nil { sessions[id]?.endedAt = .now }
            return RTSPResponse(status: 200, headers: RTSPHeaders([("Session", id)]))
        }
        do {
            try await engines.pause(engineURL: session.engineURL, streamID: session.streamID)
        } catch let failure as EngineControl.Failure where failure.status == 404 || failure.status == 410 {
            // The stream ended at the engine while the player asked: the same as above.
            sessions[id]?.endedAt = .now
            return RTSPResponse(status: 200, headers: RTSPHeaders([("Session", id)]))
        } catch {
            await drop(id, reason: .failed)
            return RTSPResponse(status: 454)
        }
        sessions[id]?.isPlaying = false
        return RTSPResponse(status: 200, headers: RTSPHeaders([("Session", id)]))
    }

    private func teardown(_ request: RTSPRequest) async -> RTSPResponse {
        guard let id = sessionID(request), let session = sessions[id] else { return RTSPResponse(status: 454) }
        if session.endedAt != nil {
            sessions[id] = nil
        } else {
            await drop(id, reason: .playerStopped)
        }
        return RTSPResponse(status: 200, headers: RTSPHeaders([("Session", id)]))
    }

    // MARK: Timeouts

    /// Ends sessions whose player went quiet (no RTSP and no RTCP within the timeout), marks
    /// those whose stream already ended (end of object, expiry, operator teardown), and
    /// forgets ended ones after `endedSessionLinger`.
    func sweep() async {
        let now = ContinuousClock.now
        let controller = await director.controller
        let wall = await director.now()
        for session in sessions.values {
            if let endedAt = session.endedAt {
                if now - endedAt > Self.endedSessionLinger { sessions[session.id] = nil }
                continue
            }
            // A failed engine's sessions are being moved (`engineFailed`).
            if controller.directory.engines[session.engine]?.isUp == false { continue }
            guard let stream = controller.streams[session.streamID] else {
                sessions[session.id]?.endedAt = now
                _ = try? await engines.stop(engineURL: session.engineURL, streamID: session.streamID)
                continue
            }
            let rtcpAge = stream.lastReceiverReport.map { wall - $0 }
            let quiet = now - session.lastSeen
            if quiet > sessionTimeout && (rtcpAge.map { $0 > sessionTimeout } ?? true) {
                logger.info("rtsp session timed out", metadata: ["session": "\(session.id)", "stream_id": "\(session.streamID)"])
                await drop(session.id, reason: .clientGone)
            }
        }
    }

    // MARK: Engine failure

    /// An engine failed and the director ended its streams: each session it served continues
    /// on another replica from where the engine last reported, under the same session ID and
    /// SSRC, its RTP numbering carried on; a session that cannot be moved ends (logged why).
    func engineFailed(_ engine: String, _ streams: [LiveStream]) async {
        let byID = Dictionary(streams.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for session in sessions.values.sorted(by: { $0.id < $1.id }) where session.engine == engine && session.endedAt == nil {
            guard let stream = byID[session.streamID] else {
                sessions[session.id]?.endedAt = .now
                continue
            }
            await move(session, stream)
        }
    }

    private func move(_ session: Session, _ stream: LiveStream) async {
        let now = await director.now()
        let duration = await director.controller.directory.objects[session.object]?.durationMilliseconds ?? 0
        let reported = stream.rtpPosition ?? RTPPosition(milliseconds: 0, sequence: 0, rtpTime: 0, isPlaying: session.isPlaying, packetsPerSecond: 100)
        let resume = reported.continued(after: stream.positionReportedAt.map { now - $0 } ?? .zero)
        func fail(_ reason: String) {
            logger.error("rtsp stream could not be moved off the failed engine: session ended", metadata: [
                "session": "\(session.id)", "object": "\(session.object)", "engine": "\(session.engine)", "reason": "\(reason)",
            ])
            sessions[session.id]?.endedAt = .now
        }
        guard resume.milliseconds < duration else { return fail("the stream was at its end") }
        let result = await director.admit(
            .play(object: session.object), clientAddress: session.clientHost, maxWait: .seconds(2), preferredStreamID: session.streamID,
            by: session.principal)
        guard case .success(let moved) = result else {
            if case .failure(let refusal) = result { fail(refusal.message) }
            return
        }
        guard let engine = await director.controller.directory.engines[moved.engine] else {
            await director.end(streamID: moved.id, bytesSent: 0, reason: .failed)
            return fail("engine '\(moved.engine)' vanished")
        }
        let grant = StreamGrant(playing: moved, profile: session.profile)
        do {
            _ = try await engines.open(engineURL: engine.url, .init(
                grant: signer.sign(grant), object: session.object, clientHost: session.clientHost, clientRTPPort: session.clientRTPPort,
                clientRTCPPort: session.clientRTCPPort, continueAt: resume))
            if resume.isPlaying {
                _ = try await engines.play(engineURL: engine.url, streamID: moved.id, startMilliseconds: resume.milliseconds, countsFromFirstPTS: false)
            }
        } catch {
            _ = try? await engines.stop(engineURL: engine.url, streamID: moved.id)
            await director.end(streamID: moved.id, bytesSent: 0, reason: .failed)
            return fail("engine '\(moved.engine)' could not open the stream: \(error)")
        }
        sessions[session.id]?.streamID = moved.id
        sessions[session.id]?.engine = engine.name
        sessions[session.id]?.engineURL = engine.url
        logger.warning("rtsp stream moved to another replica", metadata: [
            "session": "\(session.id)", "from": "\(session.engine)", "to": "\(engine.name)", "stream_id": "\(moved.id)",
            "position_ms": "\(resume.milliseconds)", "seq": "\(resume.sequence)", "same_ssrc": "\(moved.id == session.streamID)",
        ])
    }

    private func drop(_ id: String, reason: UsageRecord.EndReason) async {
        guard let session = sessions.removeValue(forKey: id) else { return }
        let stopped = try? await engines.stop(engineURL: session.engineURL, streamID: session.streamID)
        await director.end(streamID: session.streamID, bytesSent: stopped?.bytesSent, reason: reason, quality: stopped?.quality)
    }

    // MARK: Helpers

    private static func ended() -> RTSPResponse {
        var response = RTSPResponse(status: 454)
        response.headers.add("X-Sluice-Reason", "the stream of this session has ended; SETUP a new one")
        return response
    }

    private func sessionID(_ request: RTSPRequest) -> String? {
        guard let value = request.headers["Session"] else { return nil }
        return value.split(separator: ";").first.map { String($0).trimmingCharacters(in: .whitespaces) }
    }

    /// Who made the request: a key in the URL, a bearer token, Basic (either half a key), or a
    /// Digest answer for the request's own URI. `stale`: a Digest nonce merely expired.
    private func principal(_ request: RTSPRequest, target: RTSPTarget) async -> (Principal?, stale: Bool) {
        if let authorization = request.headers["Authorization"], authorization.lowercased().hasPrefix("digest ") {
            guard let answer = DigestAnswer(header: authorization), answer.uri == request.uri else { return (nil, false) }
            return await director.authenticate(digest: answer, method: request.method)
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
        "rtsp://\(peer.serverHost.contains(":") ? "[\(peer.serverHost)]" : peer.serverHost):\(peer.serverPort)/\(object ?? "")"
    }
}
