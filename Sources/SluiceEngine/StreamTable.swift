import Logging
import SluiceCore

/// The streams this engine is sending, by stream ID.
///
/// An HTTP player seeks by opening a new connection with a `Range`, so a stream outlives its
/// connections: a new connection supersedes the old one (never two at once), all of them draw
/// on one token bucket at the granted rate, and the end is reported to the director only when
/// no connection has come back within `reconnectGrace`. Once a stream has ended (or was
/// revoked, or the director said its lease is gone) its grant opens nothing any more.
public actor StreamTable {
    struct Entry {
        /// The latest connection's number.
        var generation: UInt64
        var bytesSent: Int64
        var object: String
        /// The licensed I/O profile the stream reads with (nil: traditional).
        var profile: IOProfile?
        var since: Timestamp
        /// The stream's pace, shared by its connections, and the time it counts from.
        var bucket: TokenBucket
        var start: ContinuousClock.Instant
        /// How long the stream waits for its next connection before it ends (HLS: the idle time).
        var grace: Duration?
        /// The connections that may send: the newest only, unless the stream is `concurrent`
        /// (HLS: a player may fetch two segments at once).
        var open: Set<UInt64> = []
        var concurrent = false
        /// HLS: the last segment was sent whole (its connections may finish in any order).
        var reachedEnd = false

        var connected: Bool { !open.isEmpty }
        /// Whether the connection of `generation` may go on sending.
        func admits(_ generation: UInt64) -> Bool { open.contains(generation) }
    }

    /// What a new connection with a grant may do.
    enum Opening: Equatable {
        /// The stream is live here: the new connection supersedes the older one.
        case live
        /// The engine has not seen this stream: the director must confirm its lease first.
        case unknown
        /// The stream ended, was revoked or its lease is gone: 410.
        case gone
    }

    private var entries: [UInt32: Entry] = [:]
    /// Uploads being written, by stream ID: one writer per upload grant.
    private var uploading: Set<UInt32> = []
    /// Streams that ended here or were revoked, and when: their grants open nothing any more.
    private var closed: [UInt32: ContinuousClock.Instant] = [:]
    /// Longer than any grant lives, so a grant never outlives its tombstone.
    static let closedMemory: Duration = .seconds(24 * 3600)
    static let maxClosed = 200_000
    private var nextGeneration: UInt64 = 1
    private let director: DirectorLink
    private let reconnectGrace: Duration
    private let logger: Logger

    public init(director: DirectorLink, reconnectGrace: Duration, logger: Logger) {
        self.director = director
        self.reconnectGrace = reconnectGrace
        self.logger = logger
    }

    public var liveCount: Int { entries.count }

    /// Whether a connection for `streamID` may start without asking the director.
    func opening(_ streamID: UInt32) -> Opening {
        if closed[streamID] != nil { return .gone }
        return entries[streamID] == nil ? .unknown : .live
    }

    /// A connection for `streamID` starts (its lease confirmed live); any older connection of it
    /// must stop. nil when the stream has ended meanwhile.
    func attach(
        _ streamID: UInt32, object: String, profile: IOProfile?, bitsPerSecond: Int64, burstBytes: Int, grace: Duration? = nil,
        concurrent: Bool = false
    ) -> UInt64? {
        guard closed[streamID] == nil else { return nil }
        let generation = nextGeneration
        nextGeneration += 1
        var entry = entries[streamID] ?? Entry(
            generation: generation, bytesSent: 0, object: object, profile: profile, since: SystemClock().now(),
            bucket: TokenBucket(bitsPerSecond: bitsPerSecond, burstBytes: burstBytes), start: .now, grace: grace)
        entry.generation = generation
        entry.concurrent = concurrent
        // A new connection supersedes the others, unless they run side by side.
        if !concurrent { entry.open.removeAll() }
        entry.open.insert(generation)
        entries[streamID] = entry
        return generation
    }

    /// Takes `bytes` from the stream's bucket: how long to wait before sending them, or nil when
    /// this connection was superseded or the stream stopped.
    func take(_ bytes: Int, for streamID: UInt32, generation: UInt64) -> Duration? {
        guard var entry = entries[streamID], entry.admits(generation) else { return nil }
        let wait = entry.bucket.delay(sending: bytes, at: .now - entry.start)
        entries[streamID] = entry
        return wait
    }

    enum UploadStart: Equatable { case write, busy, gone }

    /// A PUT with an upload grant begins: the only writer, unless another connection is writing
    /// with that grant (busy) or the grant was used up (gone).
    func beginUpload(_ streamID: UInt32) -> UploadStart {
        if closed[streamID] != nil { return .gone }
        return uploading.insert(streamID).inserted ? .write : .busy
    }

    /// The upload ended, stored or not: its grant opens nothing more.
    func finishUpload(_ streamID: UInt32) {
        uploading.remove(streamID)
        close(streamID)
    }

    /// The director revoked these streams: their connections stop before their next write, and
    /// their grants are refused from now on. Returns the bytes each one sending had sent.
    func revoke(_ ids: [UInt32]) -> [UInt32: Int64] {
        var sent: [UInt32: Int64] = [:]
        for id in ids {
            close(id)
            if let entry = entries.removeValue(forKey: id) { sent[id] = entry.bytesSent }
        }
        return sent
    }

    /// The director says the stream's lease is gone: its grant opens nothing any more.
    func leaseGone(_ streamID: UInt32) {
        close(streamID)
        entries[streamID] = nil
    }

    private func close(_ streamID: UInt32) {
        let now = ContinuousClock.now
        if closed.count >= Self.maxClosed {
            closed = closed.filter { now - $0.value < Self.closedMemory }
            // Still full: forget the oldest half (their grants have long expired).
            if closed.count >= Self.maxClosed {
                for (id, _) in closed.sorted(by: { $0.value < $1.value }).prefix(closed.count / 2) { closed[id] = nil }
            }
        }
        closed[streamID] = now
    }

    /// How many streams send with each I/O profile ("traditional" when none).
    var countsByProfile: [String: Int] {
        entries.values.reduce(into: [:]) { counts, entry in counts[entry.profile?.name ?? "traditional", default: 0] += 1 }
    }

    /// Each live stream and the I/O profile it reads with.
    var profiles: [ClusterMessages.StreamProfile] {
        entries.map { .init(streamID: $0.key, object: $0.value.object, transport: "http", profile: $0.value.profile, since: $0.value.since) }
    }

    func add(_ bytes: Int, to streamID: UInt32) -> Int64 {
        entries[streamID]?.bytesSent += Int64(bytes)
        return entries[streamID]?.bytesSent ?? 0
    }

    /// Counts `bytes` about to be written, unless the stream was revoked or superseded
    /// meanwhile (nil: write nothing more). Counting before the write means a revocation that
    /// arrives while the bytes are on their way bills them.
    func sending(_ bytes: Int, for streamID: UInt32, generation: UInt64) -> Int64? {
        guard entries[streamID]?.admits(generation) == true else { return nil }
        return add(bytes, to: streamID)
    }

    /// The connection of `generation` is done. Unless another connection takes over within
    /// the grace period, the stream ends with `reason`. `revoked` ends it at once, silently.
    func detach(_ streamID: UInt32, generation: UInt64, reason: UsageRecord.EndReason, revoked: Bool) {
        guard var entry = entries[streamID], entry.admits(generation) else { return }
        if revoked {
            entries[streamID] = nil
            close(streamID)
            logger.info("stream stopped", metadata: ["stream_id": "\(streamID)", "reason": "\(reason.rawValue)"])
            return
        }
        entry.open.remove(generation)
        if entry.concurrent && reason == .completed { entry.reachedEnd = true }
        entries[streamID] = entry
        guard !entry.connected else { return }
        // The latest connection's number: any newer one that comes within the grace keeps it.
        let latest = entry.generation
        let grace = entry.grace ?? reconnectGrace
        Task {
            try? await Task.sleep(for: grace)
            await self.endIfIdle(streamID, generation: latest, reason: reason)
        }
    }

    private func endIfIdle(_ streamID: UInt32, generation: UInt64, reason: UsageRecord.EndReason) async {
        guard let entry = entries[streamID], entry.generation == generation, !entry.connected else { return }
        let reason: UsageRecord.EndReason = entry.reachedEnd ? .completed : reason
        entries[streamID] = nil
        close(streamID)
        logger.info("stream ended", metadata: ["stream_id": "\(streamID)", "bytes": "\(entry.bytesSent)", "reason": "\(reason.rawValue)"])
        await director.reportEnd(streamID: streamID, bytesSent: entry.bytesSent, reason: reason, logger: logger)
    }
}
