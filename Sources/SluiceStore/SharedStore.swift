import SluiceCore

/// A store several directors share (PostgreSQL). It is the arbiter of capacity: a director's
/// in-memory core chooses a path, the store books it in one transaction or says what was full.
public protocol SharedStore: SluiceStore {
    /// This director's name in the store (its own leases, its row in `directors`).
    var directorID: String { get }

    /// Objects, replicas and engines (engines as down; heartbeats come with `sharedLoad`).
    func catalog() async throws -> StoreSnapshot

    /// Writes the topology's links (capacity only; what is reserved stays).
    func publish(links: [Link]) async throws

    /// Books the stream's engine slot, every link of its path and its labels, and saves its
    /// lease: all of it, or nothing.
    func admit(_ stream: LiveStream) async throws -> SharedAdmission

    /// Ends a stream exactly once, whichever director asks: frees what it booked and writes its
    /// usage record. Nil when it was already gone or does not meet the condition.
    func end(_ streamID: UInt32, _ ending: StreamEnding) async throws -> LiveStream?

    /// Extends leases (any director may renew any stream); returns the IDs that are gone.
    func renew(_ renewals: [LeaseRenewal]) async throws -> [UInt32]

    /// Streams whose lease ran out by `now`, whoever admitted them.
    func expiredStreams(at now: Timestamp, limit: Int) async throws -> [UInt32]

    /// One stream's row as the store has it now.
    func stream(_ id: UInt32) async throws -> LiveStream?

    /// What every director together has booked, and when each engine was last heard from.
    func sharedLoad() async throws -> SharedLoad

    func heartbeat(engine: String, at: Timestamp) async throws

    /// Advertises this director (its URLs and how full its queue is) for hand-offs.
    func announce(_ director: DirectorPresence) async throws
    func directors() async throws -> [DirectorPresence]

    /// Capacity released or the catalog changed somewhere: wakes the caller's waiters.
    func changes() -> AsyncStream<SharedChange>

    // MARK: RTSP sessions (a player may control its session through any director)

    /// Saves a session this director holds (its body is the RTSP front door's JSON).
    func saveRTSPSession(id: String, body: String) async throws
    func deleteRTSPSession(id: String) async throws
    /// A session's body, whoever holds it; nil when unknown.
    func rtspSession(id: String) async throws -> String?
    /// Takes the session over from whichever director holds it: its body, nil when unknown.
    func adoptRTSPSession(id: String) async throws -> String?
    /// Takes over at most `limit` sessions whose director was not seen since `cutoff` (it died).
    func adoptOrphanedRTSPSessions(seenBefore cutoff: Timestamp, limit: Int) async throws -> [String]
    /// The IDs of the sessions this director holds.
    func heldRTSPSessions() async throws -> Set<String>

    // MARK: Replication (one planner for the cluster)

    /// True while this director holds the planner's lock (a PostgreSQL advisory lock on a
    /// connection of its own, released by the server when the director dies).
    var leadsReplication: Bool { get }
    /// Replaces this director's published demand with `demand` (the planner reads it).
    func publish(demand: [ObjectDemand], at now: Timestamp) async throws
    /// The other directors' demand published since `cutoff`, and every copy in flight.
    func clusterActivity(since cutoff: Timestamp) async throws -> ClusterActivity
    /// Whether any director's stream plays `object` from `engine` now.
    func isPlaying(object: String, on engine: String) async throws -> Bool
}

public enum SharedAdmission: Equatable, Sendable {
    case admitted
    /// The engine row had no room for the stream's slot, buffers, write rate or disk.
    case engineFull
    case linkFull(String)
    /// Another director holds this label at this node (or this stream ID): pick another.
    case labelTaken(node: String, label: UInt32)
    case idTaken
}

public struct StreamEnding: Sendable {
    public var at: Timestamp
    public var bytesSent: Int64?
    public var quality: ReceptionQuality?
    /// Nil ends it without a usage record.
    public var reason: UsageRecord.EndReason?
    /// Only if its lease ran out by then (a sweep).
    public var expiredBy: Timestamp?
    /// Only if nobody claimed it and it was admitted by then.
    public var unclaimedSince: Timestamp?

    public init(at: Timestamp, bytesSent: Int64? = nil, quality: ReceptionQuality? = nil, reason: UsageRecord.EndReason?,
                expiredBy: Timestamp? = nil, unclaimedSince: Timestamp? = nil) {
        self.at = at
        self.bytesSent = bytesSent
        self.quality = quality
        self.reason = reason
        self.expiredBy = expiredBy
        self.unclaimedSince = unclaimedSince
    }
}

public struct LeaseRenewal: Sendable {
    public var streamID: UInt32
    public var expiry: Timestamp
    public var bytesSent: Int64?
    public init(streamID: UInt32, expiry: Timestamp, bytesSent: Int64?) {
        self.streamID = streamID
        self.expiry = expiry
        self.bytesSent = bytesSent
    }
}

public struct SharedLoad: Sendable {
    public var links: [String: Int64] = [:]
    public var engines: [String: EngineUsage] = [:]
    public var heartbeats: [String: Timestamp] = [:]
    public init() {}
}

public struct DirectorPresence: Sendable, Equatable {
    public var id: String
    public var httpURL: String
    public var rtspURL: String
    public var queueLength: Int
    public var queueCapacity: Int
    public var seenAt: Timestamp
    public init(id: String, httpURL: String, rtspURL: String, queueLength: Int, queueCapacity: Int, seenAt: Timestamp) {
        self.id = id
        self.httpURL = httpURL
        self.rtspURL = rtspURL
        self.queueLength = queueLength
        self.queueCapacity = queueCapacity
        self.seenAt = seenAt
    }
    public var hasRoom: Bool { queueLength < queueCapacity }
}

public enum SharedChange: Sendable, Equatable {
    /// A stream ended somewhere; its capacity is free.
    case streamEnded(UInt32)
    /// Engines, objects or replicas changed.
    case catalog
}
