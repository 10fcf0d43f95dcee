import Logging
import SluiceCore

/// The streams this engine is sending, by stream ID.
///
/// An HTTP player seeks by opening a new connection with a `Range`, so a stream outlives its
/// connections: a new connection supersedes the old one, and the end is reported to the
/// director only when no connection has come back within `reconnectGrace`.
public actor StreamTable {
    struct Entry {
        var generation: UInt64
        var bytesSent: Int64
        var connected: Bool
        var object: String
        /// The licensed I/O profile the stream reads with (nil: traditional).
        var profile: IOProfile?
        var since: Timestamp
    }

    private var entries: [UInt32: Entry] = [:]
    /// Streams the director revoked, and when: their grants open nothing any more.
    private var revoked: [UInt32: ContinuousClock.Instant] = [:]
    static let revokedMemory: Duration = .seconds(24 * 3600)
    static let maxRevoked = 100_000
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

    /// A connection for `streamID` starts; any older connection of it must stop.
    func attach(_ streamID: UInt32, object: String, profile: IOProfile?) -> UInt64 {
        let generation = nextGeneration
        nextGeneration += 1
        var entry = entries[streamID] ?? Entry(
            generation: generation, bytesSent: 0, connected: true, object: object, profile: profile, since: SystemClock().now())
        entry.generation = generation
        entry.connected = true
        entries[streamID] = entry
        return generation
    }

    /// The director revoked these streams: their connections stop before their next write, and
    /// their grants are refused from now on. Returns how many were sending.
    func revoke(_ ids: [UInt32]) -> Int {
        let now = ContinuousClock.now
        if revoked.count + ids.count > Self.maxRevoked {
            revoked = revoked.filter { now - $0.value < Self.revokedMemory }
            // Still full: forget the oldest (their grants have long expired).
            if revoked.count + ids.count > Self.maxRevoked {
                for (id, _) in revoked.sorted(by: { $0.value < $1.value }).prefix(revoked.count + ids.count - Self.maxRevoked) { revoked[id] = nil }
            }
        }
        var sending = 0
        for id in ids {
            revoked[id] = now
            if entries.removeValue(forKey: id) != nil { sending += 1 }
        }
        return sending
    }

    /// Each live stream and the I/O profile it reads with.
    var profiles: [ClusterMessages.StreamProfile] {
        entries.map { .init(streamID: $0.key, object: $0.value.object, transport: "http", profile: $0.value.profile, since: $0.value.since) }
    }

    func isRevoked(_ streamID: UInt32) -> Bool { revoked[streamID] != nil }

    func isCurrent(_ streamID: UInt32, generation: UInt64) -> Bool {
        entries[streamID]?.generation == generation
    }

    func add(_ bytes: Int, to streamID: UInt32) -> Int64 {
        entries[streamID]?.bytesSent += Int64(bytes)
        return entries[streamID]?.bytesSent ?? 0
    }

    /// The connection of `generation` is done. Unless another connection takes over within
    /// the grace period, the stream ends with `reason`. `revoked` ends it at once, silently.
    func detach(_ streamID: UInt32, generation: UInt64, reason: UsageRecord.EndReason, revoked: Bool) {
        guard var entry = entries[streamID], entry.generation == generation else { return }
        if revoked {
            entries[streamID] = nil
            logger.info("stream stopped", metadata: ["stream_id": "\(streamID)", "reason": "\(reason.rawValue)"])
            return
        }
        entry.connected = false
        entries[streamID] = entry
        let grace = reconnectGrace
        Task {
            try? await Task.sleep(for: grace)
            await self.endIfIdle(streamID, generation: generation, reason: reason)
        }
    }

    private func endIfIdle(_ streamID: UInt32, generation: UInt64, reason: UsageRecord.EndReason) async {
        guard let entry = entries[streamID], entry.generation == generation, !entry.connected else { return }
        entries[streamID] = nil
        logger.info("stream ended", metadata: ["stream_id": "\(streamID)", "bytes": "\(entry.bytesSent)", "reason": "\(reason.rawValue)"])
        do {
            try await director.end(streamID: streamID, bytesSent: entry.bytesSent, reason: reason)
        } catch {
            logger.warning("could not report stream end; the lease will expire by itself", metadata: ["stream_id": "\(streamID)", "error": "\(error)"])
        }
    }
}
