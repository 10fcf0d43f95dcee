/// Delivered quality a player reported in its RTCP receiver reports.
public struct ReceptionQuality: Codable, Hashable, Sendable {
    public var fractionLost: Double
    public var cumulativeLost: Int64
    public var jitterMilliseconds: Double
    public init(fractionLost: Double, cumulativeLost: Int64, jitterMilliseconds: Double) {
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.jitterMilliseconds = jitterMilliseconds
    }
}

/// One durable record per finished stream or upload: who, what, when, how much.
public struct UsageRecord: Hashable, Sendable, Codable {
    public enum EndReason: String, Hashable, Sendable, Codable {
        /// The engine sent everything asked for.
        case completed
        /// The client closed the connection early.
        case clientGone = "client_gone"
        /// The lease ran out without renewal.
        case leaseExpired = "lease_expired"
        /// The client never came to the engine with its grant.
        case unclaimed
        /// An operator tore the stream down.
        case tornDown = "torn_down"
        /// The player ended the session (RTSP TEARDOWN).
        case playerStopped = "player_stopped"
        /// The upload failed its checks or was cut off.
        case failed
        /// The engine stopped answering; a stream moved to another replica ends with this
        /// record and goes on under a new one.
        case engineFailed = "engine_failed"
        /// The user or the key that asked for it was revoked.
        case revoked
        /// An RTSP session stayed paused longer than the director's `rtspPauseTimeout`.
        case pausedTooLong = "paused_too_long"
        /// The director restarted while it was live; the bytes are those last reported.
        case directorRestart = "director_restart"
        /// Its object was deleted while it played (`DELETE /v1/objects/{name}?force=1`).
        case deleted
    }

    public var streamID: UInt32
    public var kind: LiveStream.Kind
    public var object: String
    public var engine: String
    public var clientAddress: String
    public var startedAt: Timestamp
    public var endedAt: Timestamp
    public var bytes: Int64
    public var reservedBitsPerSecond: Int64
    public var endReason: EndReason
    /// Loss and jitter the player reported over RTCP (RTP streams only).
    public var quality: ReceptionQuality?
    /// Who asked for it (nil: an operator key from the configuration, or an open director).
    public var user: String?

    public init(stream: LiveStream, endedAt: Timestamp, bytes: Int64, endReason: EndReason) {
        streamID = stream.id
        kind = stream.kind
        object = stream.object
        engine = stream.engine
        clientAddress = stream.clientAddress
        startedAt = stream.admittedAt
        self.endedAt = endedAt
        self.bytes = bytes
        reservedBitsPerSecond = stream.bitsPerSecond
        self.endReason = endReason
        quality = stream.quality
        user = stream.user
    }
}
