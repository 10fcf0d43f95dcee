import SluiceCore

/// Every RTSP session of a director, as a value: events in (a request, the engine's answer,
/// a clock tick with the streams' states, an engine failure), actions out (reply, call the
/// engine, end the stream). `RTSPService` only performs the actions; no decision here waits.
struct RTSPSessionStateMachine {
    struct Session: Sendable, Equatable, Codable {
        enum Phase: Sendable, Equatable, Codable {
            /// Set up (or paused): the reservation is held, nothing is sent.
            case ready
            case playing
            /// Its engine failed; the stream is being admitted again on another replica.
            case moving(wasPlaying: Bool)
            /// Its stream ended (end of object, expiry, operator or failure). The session
            /// lingers so the player's PAUSE and TEARDOWN after the BYE still succeed.
            case ended(since: Timestamp)
        }

        var id: String
        var streamID: UInt32
        var object: String
        var durationMilliseconds: Int64
        var engine: String
        var engineURL: String
        /// Where the player receives, to open the stream again on another engine.
        var clientHost: String
        var clientRTPPort: UInt16
        var clientRTCPPort: UInt16
        /// Who asked, and the I/O profile their license gave: a moved stream keeps both. Only
        /// this principal, or the connection that set the session up, may control it.
        var principal: Principal
        var connection: UInt64
        var profile: IOProfile?
        var phase: Phase = .ready
        /// The last RTSP request naming it.
        var lastSeen: Timestamp
        /// When it was set up; a session never played within the claim timeout is released.
        var setUpAt: Timestamp
        var hasPlayed = false
        /// Since when a played session is paused: it holds its reservation for `pauseTimeout`.
        var pausedAt: Timestamp?

        var isEnded: Bool { if case .ended = phase { true } else { false } }

        /// The session as the shared store needs it: keep-alives alone do not make it change.
        var persisted: Session {
            var session = self
            session.lastSeen = Timestamp(millisecondsSinceEpoch: 0)
            return session
        }
        var isMoving: Bool { if case .moving = phase { true } else { false } }
    }

    enum Action: Sendable, Equatable {
        case reply(status: Int, reason: String? = nil)
        /// Ask the engine to play from `startMilliseconds` (nil: where it paused); then
        /// `playSucceeded` or `engineCallFailed`.
        case playOnEngine(Session, startMilliseconds: Int64?, countsFromFirstPTS: Bool)
        /// Ask the engine to pause; then `pauseSucceeded`, `streamFoundGone` or `engineCallFailed`.
        case pauseOnEngine(Session)
        /// The session is gone: stop the engine's stream and end it with `reason`.
        case stopAndEnd(Session, reason: UsageRecord.EndReason)
        /// The stream already ended at the director: make sure the engine stopped too.
        case stopOnEngine(Session)
        /// Its engine failed: admit the stream again elsewhere and continue it; then
        /// `moveSucceeded` or `moveFailed`.
        case move(Session, LiveStream)
    }

    static let endedSessionLinger: Duration = .seconds(30)
    static let endedReason = "the stream of this session has ended; SETUP a new one"
    static let movingReason = "the stream is moving off a failed engine; try again in a moment"

    let sessionTimeout: Duration
    let claimTimeout: Duration
    let pauseTimeout: Duration
    private(set) var sessions: [String: Session] = [:]

    init(sessionTimeout: Duration, claimTimeout: Duration, pauseTimeout: Duration = .seconds(300)) {
        self.sessionTimeout = sessionTimeout
        self.claimTimeout = claimTimeout
        self.pauseTimeout = pauseTimeout
    }

    // MARK: Requests

    /// Who may control a session from `connection`.
    enum Control: Equatable {
        case unknownSession
        /// The connection that set it up.
        case owner
        /// Another connection: only with the credentials of this principal.
        case needs(Principal)
    }

    func control(session id: String, connection: UInt64) -> Control {
        guard let session = sessions[id] else { return .unknownSession }
        return session.connection == connection ? .owner : .needs(session.principal)
    }

    /// Whether `caller` may control a session `owner` set up from another connection: the same
    /// user (and the same key, when a key was presented), or an admin.
    static func mayControl(owner: Principal, caller: Principal) -> Bool {
        caller.role == .admin || (caller.name == owner.name && (owner.keyID == nil || caller.keyID == owner.keyID))
    }

    /// Any request that names a session keeps it alive (GET_PARAMETER is the usual keep-alive);
    /// false when the session is unknown.
    mutating func requestReceived(session id: String, now: Timestamp) -> Bool {
        guard sessions[id] != nil else { return false }
        sessions[id]?.lastSeen = now
        return true
    }

    /// SETUP: one track per session, so a SETUP inside a session is refused (RFC 2326 §10.4:
    /// 459 Aggregate Operation Not Allowed); nil: go on and admit.
    func setupReceived(session id: String?) -> Action? {
        id == nil ? nil : .reply(status: 459)
    }

    /// The director admitted the SETUP and the engine opened the RTP session.
    mutating func setupAdmitted(_ session: Session) {
        sessions[session.id] = session
    }

    // MARK: Sessions shared between directors

    /// A session another director held (its player came here, or that director died): held here
    /// from now. No connection of this director set it up, so each request needs the
    /// credentials of whoever did; the player has a full session timeout to show up.
    mutating func adopted(_ session: Session, now: Timestamp) {
        var session = session
        session.connection = 0
        session.lastSeen = now
        sessions[session.id] = session
    }

    /// Another director took the session over: it is no longer this one's to answer or time out.
    mutating func handedOver(session id: String) {
        sessions[id] = nil
    }

    mutating func playReceived(session id: String, startMilliseconds: Int64?, countsFromFirstPTS: Bool, now: Timestamp) -> Action {
        guard let session = sessions[id] else { return .reply(status: 454) }
        if session.isEnded { return .reply(status: 454, reason: Self.endedReason) }
        if session.isMoving { return .reply(status: 503, reason: Self.movingReason) }
        // libavformat counts from the stream's first PTS, so its npt may lie past the duration.
        if let start = startMilliseconds, start > session.durationMilliseconds, !countsFromFirstPTS {
            return .reply(status: 457)  // Invalid Range
        }
        return .playOnEngine(session, startMilliseconds: startMilliseconds, countsFromFirstPTS: countsFromFirstPTS)
    }

    mutating func playSucceeded(session id: String) {
        guard let session = sessions[id], !session.isEnded else { return }
        sessions[id]?.phase = .playing
        sessions[id]?.hasPlayed = true
        sessions[id]?.pausedAt = nil
    }

    /// PAUSE, with what the director knows of the session's stream.
    mutating func pauseReceived(session id: String, stream state: Director.PlayState, now: Timestamp) -> Action {
        guard let session = sessions[id] else { return .reply(status: 454) }
        // Players pause at the end of the stream (after the BYE): nothing is left to pause.
        if session.isEnded || state == .ended {
            if !session.isEnded { sessions[id]?.phase = .ended(since: now) }
            return .reply(status: 200)
        }
        if session.isMoving { return .reply(status: 503, reason: Self.movingReason) }
        return .pauseOnEngine(session)
    }

    mutating func pauseSucceeded(session id: String, now: Timestamp) {
        guard let session = sessions[id], !session.isEnded else { return }
        sessions[id]?.phase = .ready
        if session.pausedAt == nil { sessions[id]?.pausedAt = now }
    }

    /// The engine no longer had the stream (it ended while the player asked).
    mutating func streamFoundGone(session id: String, now: Timestamp) {
        guard let session = sessions[id], !session.isEnded else { return }
        sessions[id]?.phase = .ended(since: now)
    }

    /// The engine failed a PLAY or PAUSE: the session is dropped and its stream ended.
    mutating func engineCallFailed(session id: String) -> Action {
        guard let session = sessions.removeValue(forKey: id) else { return .reply(status: 454) }
        return session.isEnded ? .reply(status: 454) : .stopAndEnd(session, reason: .failed)
    }

    mutating func teardownReceived(session id: String) -> Action {
        guard let session = sessions.removeValue(forKey: id) else { return .reply(status: 454) }
        return session.isEnded ? .reply(status: 200) : .stopAndEnd(session, reason: .playerStopped)
    }

    // MARK: Time

    /// The streams whose state a tick needs, with their engines.
    var liveStreams: [(id: UInt32, engine: String)] {
        sessions.values.filter { !$0.isEnded && !$0.isMoving }.map { ($0.streamID, $0.engine) }
    }

    /// Once a second, with the state of each live session's stream: forget sessions ended
    /// long enough ago; mark those whose stream ended; end those whose player went quiet (no
    /// RTSP request and no RTCP receiver report within the session timeout) and those set up
    /// but never played within the claim timeout (keep-alives do not count: only PLAY claims),
    /// and those paused for longer than the pause timeout.
    mutating func tick(now: Timestamp, streams states: [UInt32: Director.PlayState]) -> [Action] {
        var actions: [Action] = []
        for session in sessions.values.sorted(by: { $0.id < $1.id }) {
            if case .ended(let since) = session.phase {
                if now - since > Self.endedSessionLinger { sessions[session.id] = nil }
                continue
            }
            if session.isMoving { continue }
            switch states[session.streamID] {
            case .engineDown?, nil:
                continue  // about to be moved (`engineFailed`), or not asked about
            case .ended?:
                sessions[session.id]?.phase = .ended(since: now)
                actions.append(.stopOnEngine(session))
            case .live(let lastReceiverReport)?:
                let quiet = now - session.lastSeen > sessionTimeout && lastReceiverReport.map { now - $0 > sessionTimeout } ?? true
                if quiet {
                    sessions[session.id] = nil
                    actions.append(.stopAndEnd(session, reason: .clientGone))
                } else if !session.hasPlayed, now - session.setUpAt > claimTimeout {
                    sessions[session.id] = nil
                    actions.append(.stopAndEnd(session, reason: .unclaimed))
                } else if session.phase == .ready, let pausedAt = session.pausedAt, now - pausedAt > pauseTimeout {
                    sessions[session.id] = nil
                    actions.append(.stopAndEnd(session, reason: .pausedTooLong))
                }
            }
        }
        return actions
    }

    // MARK: Engine failure

    /// An engine failed and the director ended its streams: each of its sessions whose stream
    /// is among them moves to another replica; the others end.
    mutating func engineFailed(_ engine: String, streams: [LiveStream], now: Timestamp) -> [Action] {
        let byID = Dictionary(streams.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var actions: [Action] = []
        for session in sessions.values.sorted(by: { $0.id < $1.id }) where session.engine == engine && !session.isEnded && !session.isMoving {
            if let stream = byID[session.streamID] {
                sessions[session.id]?.phase = .moving(wasPlaying: session.phase == .playing)
                actions.append(.move(session, stream))
            } else {
                sessions[session.id]?.phase = .ended(since: now)
            }
        }
        return actions
    }

    /// The session continues as `streamID` on `engine`.
    mutating func moveSucceeded(session id: String, streamID: UInt32, engine: String, engineURL: String) {
        guard case .moving(let wasPlaying)? = sessions[id]?.phase else { return }
        sessions[id]?.phase = wasPlaying ? .playing : .ready
        sessions[id]?.streamID = streamID
        sessions[id]?.engine = engine
        sessions[id]?.engineURL = engineURL
    }

    mutating func moveFailed(session id: String, now: Timestamp) {
        guard let session = sessions[id], !session.isEnded else { return }
        sessions[id]?.phase = .ended(since: now)
    }
}
