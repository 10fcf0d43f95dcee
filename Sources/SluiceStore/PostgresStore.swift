import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import SluiceCore

/// The store several directors share: PostgreSQL, selected with `--store postgres://...`.
///
/// Admission and ending are server-side function calls (`sluice_admit_batch`, for every
/// admission that arrived while the previous batch was in flight, and `sluice_end`, in
/// `PostgresSchema`), so a burst of streams costs one round trip to book, and the database, not
/// any director's memory, decides whether a link still has room.
public final class PostgresStore: SharedStore {
    public let directorID: String
    public let path: String
    let client: PostgresClient
    private let runner: Task<Void, Never>
    private let listener: Task<Void, Never>
    private let events: AsyncStream<SharedChange>
    let logger: Logger
    let lead = PostgresReplicationLead()
    private let admissions: AdmissionBatcher

    private init(client: PostgresClient, directorID: String, path: String, logger: Logger) {
        self.client = client
        self.directorID = directorID
        self.path = path
        self.logger = logger
        runner = Task.immediate { await client.run() }
        let (events, continuation) = AsyncStream.makeStream(of: SharedChange.self, bufferingPolicy: .bufferingNewest(4096))
        self.events = events
        listener = Task { await Self.listen(client: client, to: continuation, logger: logger) }
        admissions = AdmissionBatcher { streams in
            try await Self.admitBatch(streams, client: client, directorID: directorID, path: path, logger: logger)
        }
    }

    /// Connects to `url` (`postgres://user:password@host:port/database?sslmode=disable|prefer|require`)
    /// and migrates the schema.
    public static func open(url: String, directorID: String, logger: Logger) async throws -> PostgresStore {
        let configuration = try configuration(from: url)
        let lockConfiguration = try connectionConfiguration(from: url)
        let redacted = "postgres://\(configuration.username)@\(configuration.host ?? "localhost"):\(configuration.port ?? 5432)/\(configuration.database ?? configuration.username)"
        try await waitUntilReachable(host: configuration.host ?? "127.0.0.1", port: configuration.port ?? 5432, url: redacted, logger: logger)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let store = PostgresStore(client: client, directorID: directorID, path: redacted, logger: logger)
        do {
            try await store.bounded(
                timeout: startupDeadline,
                "no answer from the PostgreSQL store at \(redacted) within \(startupDeadline) (wrong password or database, or a server that does not answer)"
            ) { try await store.migrate() }
        } catch let error as StoreError {
            try? await store.close()
            throw error
        } catch {
            try? await store.close()
            throw StoreError("cannot use the PostgreSQL store at \(redacted): \(String(reflecting: error))")
        }
        store.lead.start(configuration: lockConfiguration, logger: logger)
        return store
    }

    /// How often a director tries to reach its PostgreSQL at start, one second apart, before it
    /// gives up and exits non-zero.
    static let startupAttempts = 10
    static let startupDeadline: Duration = .seconds(30)

    /// Waits (bounded, a warning per failed attempt) until the server accepts TCP connections, so
    /// a store that is down is reported in seconds, naming its URL, instead of waited for forever.
    static func waitUntilReachable(host: String, port: Int, url: String, logger: Logger) async throws {
        for attempt in 1...startupAttempts {
            do {
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connectTimeout(.seconds(2)).connect(host: host, port: port).get()
                try? await channel.close()
                return
            } catch {
                let underlying = (error as? NIOConnectionError)?.connectionErrors.first?.error ?? error
                let cause = (underlying as? IOError).map { String(cString: strerror($0.errnoCode)).lowercased() } ?? "\(underlying)"
                if attempt == startupAttempts {
                    throw StoreError("cannot reach the PostgreSQL store at \(url): \(cause) (\(startupAttempts) attempts)")
                }
                logger.warning("PostgreSQL store not reachable; retrying", metadata: [
                    "url": "\(url)", "attempt": "\(attempt)/\(startupAttempts)", "error": "\(cause)",
                ])
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    static func configuration(from url: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw StoreError("'\(url)' is not a postgres:// URL (postgres://user:password@host:port/database)")
        }
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        let tls: PostgresClient.Configuration.TLS
        switch mode {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require": tls = .require(.makeClientConfiguration())
        default: throw StoreError("sslmode '\(mode)' is not one of disable, prefer, require")
        }
        let user = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let database = String(components.path.drop { $0 == "/" })
        var configuration = PostgresClient.Configuration(
            host: components.host ?? "127.0.0.1", port: components.port ?? 5432, username: user,
            password: components.password.flatMap { $0.removingPercentEncoding },
            database: database.isEmpty ? nil : database, tls: tls)
        configuration.options.maximumConnections = 16
        configuration.options.minimumConnections = 2
        configuration.options.connectTimeout = .seconds(3)
        return configuration
    }

    /// The same server, user and TLS as the pool's, for a single connection of our own.
    static func connectionConfiguration(from url: String) throws -> PostgresConnection.Configuration {
        let pool = try configuration(from: url)
        let mode = URLComponents(string: url)?.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        let tls: PostgresConnection.Configuration.TLS
        switch mode {
        case "disable": tls = .disable
        case "require": tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        default: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        return PostgresConnection.Configuration(
            host: pool.host ?? "127.0.0.1", port: pool.port ?? 5432, username: pool.username, password: pool.password,
            database: pool.database, tls: tls)
    }

    private func migrate() async throws {
        let applied = try await client.withTransaction(logger: logger) { connection -> [Int] in
            // Directors that start together queue on this lock; the loser finds the work done.
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock))", logger: logger)
            try await connection.query("CREATE TABLE IF NOT EXISTS sluice_schema (version integer NOT NULL)", logger: logger)
            var version = 0
            for try await value in try await connection.query("SELECT version FROM sluice_schema", logger: logger).decode(Int.self) {
                version = value
            }
            guard version <= PostgresSchema.migrations.count else {
                throw StoreError("the database has schema version \(version), newer than this sluice (\(PostgresSchema.migrations.count)); upgrade sluice")
            }
            var applied: [Int] = []
            for (index, statements) in PostgresSchema.migrations.enumerated().dropFirst(version) {
                for statement in statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                applied.append(index + 1)
            }
            if version == 0 {
                try await connection.query("INSERT INTO sluice_schema (version) VALUES (\(PostgresSchema.migrations.count))", logger: logger)
            } else if !applied.isEmpty {
                try await connection.query("UPDATE sluice_schema SET version = \(PostgresSchema.migrations.count)", logger: logger)
            }
            return applied
        }
        for version in applied {
            logger.info("store migrated", metadata: ["store": "\(path)", "schema_version": "\(version)"])
        }
    }

    // MARK: SluiceStore

    public func load() async throws -> StoreSnapshot {
        var snapshot = StoreSnapshot()
        try await loadCatalog(into: &snapshot)
        let rows = try await query(
            "SELECT body, lease_expiry_ms, claimed, bytes FROM streams WHERE director = \(directorID) ORDER BY id")
        for try await row in rows.decode((String, Int64, Bool, Int64).self) {
            snapshot.streams.append(try Self.lease(row))
        }
        return snapshot
    }

    public func catalog() async throws -> StoreSnapshot {
        var snapshot = StoreSnapshot()
        try await loadCatalog(into: &snapshot)
        return snapshot
    }

    /// Objects, replicas and engines (engines load as down until a heartbeat is seen).
    private func loadCatalog(into snapshot: inout StoreSnapshot) async throws {
        let objects = try await query("SELECT name, size_bytes, duration_ms, average_bps, sha256 FROM objects")
        for try await (name, size, duration, rate, sha) in objects.decode((String, Int64, Int64, Int64, String).self) {
            snapshot.objects.append(MediaObject(name: name, sizeBytes: size, durationMilliseconds: duration, averageBitsPerSecond: rate, sha256: sha))
        }
        for try await (object, engine, kind) in try await query("SELECT object, engine, kind FROM replicas").decode((String, String, String).self) {
            snapshot.replicas.append((object, engine, ReplicaKind(rawValue: kind) ?? .static))
        }
        let decoder = JSONDecoder()
        let engines = try await query("SELECT name, url, capacity, last_heartbeat_ms FROM engines")
        for try await (name, url, capacity, heartbeat) in engines.decode((String, String, String, Int64).self) {
            snapshot.engines.append(EngineRecord(
                name: name, url: url, capacity: try decoder.decode(EngineCapacity.self, from: Data(capacity.utf8)), isUp: false,
                lastHeartbeat: Timestamp(millisecondsSinceEpoch: heartbeat)))
        }
        for try await engine in try await query("SELECT engine FROM drains").decode(String.self) { snapshot.draining.insert(engine) }
    }

    public func save(object: MediaObject) async throws {
        try await query(
            """
            INSERT INTO objects (name, size_bytes, duration_ms, average_bps, sha256)
            VALUES (\(object.name), \(object.sizeBytes), \(object.durationMilliseconds), \(object.averageBitsPerSecond), \(object.sha256))
            ON CONFLICT (name) DO UPDATE SET size_bytes = EXCLUDED.size_bytes, duration_ms = EXCLUDED.duration_ms,
              average_bps = EXCLUDED.average_bps, sha256 = EXCLUDED.sha256
            """)
        try await notifyCatalog()
    }

    public func save(replicaOf object: String, on engine: String, kind: ReplicaKind) async throws {
        try await query(
            """
            INSERT INTO replicas (object, engine, kind) VALUES (\(object), \(engine), \(kind.rawValue))
            ON CONFLICT (object, engine) DO UPDATE SET kind = EXCLUDED.kind
            """)
        try await notifyCatalog()
    }

    public func ping() async throws {
        _ = try await query("SELECT 1")
    }

    public func delete(object: String) async throws {
        _ = try await client.withTransaction(logger: logger) { connection in
            try await connection.query("DELETE FROM replicas WHERE object = \(object)", logger: self.logger)
            try await connection.query("DELETE FROM object_access WHERE object = \(object)", logger: self.logger)
            try await connection.query("DELETE FROM objects WHERE name = \(object)", logger: self.logger)
        }
        try await notifyCatalog()
    }

    public func delete(replicaOf object: String, on engine: String) async throws {
        try await query("DELETE FROM replicas WHERE object = \(object) AND engine = \(engine)")
        try await notifyCatalog()
    }

    public func save(engine: EngineRecord) async throws {
        let capacity = String(decoding: try JSONEncoder().encode(engine.capacity), as: UTF8.self)
        let limits = engine.capacity
        try await query(
            """
            INSERT INTO engines (name, url, capacity, max_streams, buffer_bytes, ingest_bps, disk_bytes, last_heartbeat_ms)
            VALUES (\(engine.name), \(engine.url), \(capacity), \(Int64(limits.maxStreams)), \(limits.bufferBytes),
              \(limits.ingestBitsPerSecond), \(limits.diskBytes), \(engine.lastHeartbeat.millisecondsSinceEpoch))
            ON CONFLICT (name) DO UPDATE SET url = EXCLUDED.url, capacity = EXCLUDED.capacity, max_streams = EXCLUDED.max_streams,
              buffer_bytes = EXCLUDED.buffer_bytes, ingest_bps = EXCLUDED.ingest_bps, disk_bytes = EXCLUDED.disk_bytes,
              last_heartbeat_ms = GREATEST(engines.last_heartbeat_ms, EXCLUDED.last_heartbeat_ms)
            """)
        try await notifyCatalog()
    }

    /// A renewal of a stream this director holds: its lease, claim and byte count.
    public func save(stream: LiveStream) async throws {
        _ = try await renew([LeaseRenewal(streamID: stream.id, expiry: stream.leaseExpiry, bytesSent: stream.bytesSent)])
    }

    public func deleteStream(id: UInt32) async throws {
        _ = try await end(id, StreamEnding(at: Timestamp(millisecondsSinceEpoch: 0), reason: nil))
    }

    /// Usage records are written by `end`, in the same transaction that frees the stream.
    public func append(usage record: UsageRecord) async throws {
        let quality = record.quality
        try await query(
            """
            INSERT INTO usage (stream_id, kind, object, engine, client, started_ms, ended_ms, bytes, reserved_bps, end_reason,
              fraction_lost, cumulative_lost, jitter_ms, director)
            VALUES (\(Int64(record.streamID)), \(record.kind.rawValue), \(record.object), \(record.engine), \(record.clientAddress),
              \(record.startedAt.millisecondsSinceEpoch), \(record.endedAt.millisecondsSinceEpoch), \(record.bytes),
              \(record.reservedBitsPerSecond), \(record.endReason.rawValue), \(quality?.fractionLost), \(quality?.cumulativeLost),
              \(quality?.jitterMilliseconds), \(directorID))
            """)
    }

    public func usage(since: Timestamp, limit: Int) async throws -> [UsageRecord] {
        try await usageRows(try await query(
            """
            SELECT seq, stream_id, kind, object, engine, client, started_ms, ended_ms, bytes, reserved_bps, end_reason,
              fraction_lost, cumulative_lost, jitter_ms, user_name
            FROM usage WHERE ended_ms >= \(since.millisecondsSinceEpoch) ORDER BY seq LIMIT \(Int64(max(0, limit)))
            """)).map(\.record)
    }

    public func usage(streamID: UInt32) async throws -> UsageRecord? {
        try await usageRows(try await query(
            """
            SELECT seq, stream_id, kind, object, engine, client, started_ms, ended_ms, bytes, reserved_bps, end_reason,
              fraction_lost, cumulative_lost, jitter_ms, user_name
            FROM usage WHERE stream_id = \(Int64(streamID)) ORDER BY seq DESC LIMIT 1
            """)).first?.record
    }

    public func usage(afterSequence sequence: Int64, limit: Int) async throws -> [(sequence: Int64, record: UsageRecord)] {
        try await usageRows(try await query(
            """
            SELECT seq, stream_id, kind, object, engine, client, started_ms, ended_ms, bytes, reserved_bps, end_reason,
              fraction_lost, cumulative_lost, jitter_ms, user_name
            FROM usage WHERE seq > \(sequence) ORDER BY seq LIMIT \(Int64(max(0, limit)))
            """))
    }

    public func usageCount(afterSequence sequence: Int64) async throws -> Int {
        var count: Int64 = 0
        for try await n in try await query("SELECT count(*) FROM usage WHERE seq > \(sequence)").decode(Int64.self) { count = n }
        return Int(count)
    }

    public func deliveryCursor(_ consumer: String) async throws -> Int64 {
        let rows = try await query("SELECT sequence FROM delivery_cursors WHERE consumer = \(consumer)")
        var found: Int64 = 0
        for try await sequence in rows.decode(Int64.self) { found = sequence }
        return found
    }

    public func saveDeliveryCursor(_ consumer: String, _ sequence: Int64) async throws {
        // Never backwards: two directors delivering at once keep the furthest position.
        try await query(
            """
            INSERT INTO delivery_cursors (consumer, sequence) VALUES (\(consumer), \(sequence))
            ON CONFLICT (consumer) DO UPDATE SET sequence = greatest(delivery_cursors.sequence, EXCLUDED.sequence)
            """)
    }

    public func identities() async throws -> (users: [User], keys: [KeyRecord]) {
        let decoder = JSONDecoder()
        var users: [User] = []
        for try await body in try await query("SELECT body FROM users ORDER BY name").decode(String.self) {
            users.append(try decoder.decode(User.self, from: Data(body.utf8)))
        }
        var keys: [KeyRecord] = []
        for try await body in try await query("SELECT body FROM api_keys ORDER BY id").decode(String.self) {
            keys.append(try decoder.decode(KeyRecord.self, from: Data(body.utf8)))
        }
        return (users, keys)
    }

    public func save(user: User) async throws {
        let body = String(decoding: try JSONEncoder().encode(user), as: UTF8.self)
        try await query("INSERT INTO users (name, body) VALUES (\(user.name), \(body)) ON CONFLICT (name) DO UPDATE SET body = EXCLUDED.body")
        try await notifyCatalog()  // other directors reload users and keys (and end revoked ones' streams)
    }

    public func accessRules() async throws -> [ObjectAccess] {
        let decoder = JSONDecoder()
        var rules: [ObjectAccess] = []
        for try await body in try await query("SELECT body FROM object_access ORDER BY object").decode(String.self) {
            rules.append(try decoder.decode(ObjectAccess.self, from: Data(body.utf8)))
        }
        return rules
    }

    public func save(access: ObjectAccess) async throws {
        let body = String(decoding: try JSONEncoder().encode(access), as: UTF8.self)
        try await query(
            "INSERT INTO object_access (object, body) VALUES (\(access.object), \(body)) ON CONFLICT (object) DO UPDATE SET body = EXCLUDED.body")
        try await notifyCatalog()  // other directors reload who may play what
    }

    public func save(key: KeyRecord) async throws {
        let body = String(decoding: try JSONEncoder().encode(key), as: UTF8.self)
        try await query(
            "INSERT INTO api_keys (id, user_name, body) VALUES (\(key.id), \(key.user), \(body)) ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body")
        try await notifyCatalog()
    }

    private func usageRows(_ rows: PostgresRowSequence) async throws -> [(sequence: Int64, record: UsageRecord)] {
        var records: [(sequence: Int64, record: UsageRecord)] = []
        typealias Row = (Int64, Int64, String, String, String, String, Int64, Int64, Int64, Int64, String, Double?, Int64?, Double?, String?)
        for try await (seq, id, kind, object, engine, client, started, ended, bytes, rate, reason, lost, cumulative, jitter, user) in rows.decode(Row.self) {
            records.append((seq, UsageRecord.stored(
                streamID: id, kind: kind, object: object, engine: engine, client: client, startedMs: started, endedMs: ended,
                bytes: bytes, reservedBitsPerSecond: rate, endReason: reason, fractionLost: lost, cumulativeLost: cumulative,
                jitterMilliseconds: jitter, user: user)))
        }
        return records
    }

    public func close() async throws {
        lead.stop()
        listener.cancel()
        // `run()` closes the pool's connections when cancelled. Not awaited: with the server
        // gone, connection attempts may take their time, and a director must still stop.
        runner.cancel()
    }

    // MARK: SharedStore

    public func publish(links: [Link]) async throws {
        guard !links.isEmpty else { return }
        let sorted = links.sorted { $0.name < $1.name }
        try await query(
            """
            INSERT INTO links (name, capacity_bps)
            SELECT * FROM unnest(\(sorted.map(\.name))::text[], \(sorted.map(\.capacityBitsPerSecond))::bigint[])
            ON CONFLICT (name) DO UPDATE SET capacity_bps = EXCLUDED.capacity_bps
            """)
    }

    /// Books through the batcher: admissions that arrive while others are in flight share one
    /// `sluice_admit_batch` call (see `AdmissionBatcher`).
    public func admit(_ stream: LiveStream) async throws -> SharedAdmission {
        try await admissions.admit(stream)
    }

    /// One batch, one round trip and one transaction; retried whole on a serialization failure
    /// (another director took an ID or label between the batch's checks and its inserts).
    static func admitBatch(
        _ streams: [LiveStream], client: PostgresClient, directorID: String, path: String, logger: Logger
    ) async throws -> [SharedAdmission] {
        let statement = AdmitBatchStatement(streams: streams, directorID: directorID)
        let outcomes = try await retrying(logger: logger) {
            try await bounded(timeout: statementTimeout, "PostgreSQL at \(path) did not answer within \(statementTimeout)") {
                var result: [String] = []
                for try await value in try await client.execute(statement, logger: logger) { result = value }
                return result
            }
        }
        return outcomes.map(Self.admission(from:))
    }

    static func admission(from outcome: String) -> SharedAdmission {
        if outcome.isEmpty { return .admitted }
        if outcome == "engine" { return .engineFull }
        if outcome == "id" { return .idTaken }
        if outcome.hasPrefix("link ") { return .linkFull(String(outcome.dropFirst(5))) }
        let parts = outcome.split(separator: " ", maxSplits: 2)
        if parts.count == 3, parts[0] == "label", let label = UInt32(parts[1]) { return .labelTaken(node: String(parts[2]), label: label) }
        return .engineFull
    }

    public func end(_ streamID: UInt32, _ ending: StreamEnding) async throws -> LiveStream? {
        let quality = ending.quality
        let body: String? = try await retrying {
            let rows = try await self.query(
                """
                SELECT sluice_end(\(Int64(streamID)), \(self.directorID), \(ending.at.millisecondsSinceEpoch), \(ending.bytesSent),
                  \(ending.reason?.rawValue), \(quality?.fractionLost), \(quality?.cumulativeLost), \(quality?.jitterMilliseconds),
                  \(ending.expiredBy?.millisecondsSinceEpoch), \(ending.unclaimedSince?.millisecondsSinceEpoch))
                """)
            var body: String?
            for try await value in rows.decode(String?.self) { body = value }
            return body
        }
        guard let body else { return nil }
        var stream = try JSONDecoder().decode(LiveStream.self, from: Data(body.utf8))
        if let bytes = ending.bytesSent { stream.bytesSent = bytes }
        return stream
    }

    public func renew(_ renewals: [LeaseRenewal]) async throws -> [UInt32] {
        guard !renewals.isEmpty else { return [] }
        let ids = renewals.map { Int64($0.streamID) }
        let expiries = renewals.map(\.expiry.millisecondsSinceEpoch)
        let bytes = renewals.map { $0.bytesSent ?? -1 }
        let rows = try await query(
            """
            UPDATE streams SET lease_expiry_ms = GREATEST(streams.lease_expiry_ms, r.expiry), claimed = true,
              bytes = CASE WHEN r.bytes >= 0 THEN r.bytes ELSE streams.bytes END
            FROM unnest(\(ids)::bigint[], \(expiries)::bigint[], \(bytes)::bigint[]) AS r(id, expiry, bytes)
            WHERE streams.id = r.id
            RETURNING streams.id
            """)
        var alive = Set<Int64>()
        for try await id in rows.decode(Int64.self) { alive.insert(id) }
        return renewals.map(\.streamID).filter { !alive.contains(Int64($0)) }
    }

    public func expiredStreams(at now: Timestamp, limit: Int) async throws -> [UInt32] {
        let rows = try await query(
            // Most overdue first: the expiry index finds them without reading the live leases
            // (ordered by ID, PostgreSQL walked the whole key index past every live one).
            "SELECT id FROM streams WHERE lease_expiry_ms <= \(now.millisecondsSinceEpoch) ORDER BY lease_expiry_ms, id LIMIT \(Int64(limit))")
        var ids: [UInt32] = []
        for try await id in rows.decode(Int64.self) { ids.append(UInt32(truncatingIfNeeded: id)) }
        return ids
    }

    public func stream(_ id: UInt32) async throws -> LiveStream? {
        let rows = try await query(
            "SELECT body, lease_expiry_ms, claimed, bytes FROM streams WHERE id = \(Int64(id))")
        for try await row in rows.decode((String, Int64, Bool, Int64).self) {
            return try Self.lease(row)
        }
        return nil
    }

    /// A lease row (`body, lease_expiry_ms, claimed, bytes`): the body as admitted, with what
    /// renewals changed since.
    private static func lease(_ row: (body: String, expiry: Int64, claimed: Bool, bytes: Int64)) throws -> LiveStream {
        var stream = try JSONDecoder().decode(LiveStream.self, from: Data(row.body.utf8))
        stream.leaseExpiry = Timestamp(millisecondsSinceEpoch: row.expiry)
        stream.isClaimed = row.claimed
        stream.bytesSent = row.bytes
        return stream
    }

    public func sharedLoad() async throws -> SharedLoad {
        var load = SharedLoad()
        for try await (name, reserved) in try await query("SELECT name, reserved_bps FROM links").decode((String, Int64).self) {
            load.links[name] = reserved
        }
        let engines = try await query(
            "SELECT name, streams_reserved, buffer_reserved, ingest_reserved, disk_reserved, last_heartbeat_ms FROM engines")
        for try await (name, streams, buffer, ingest, disk, heartbeat) in engines.decode((String, Int64, Int64, Int64, Int64, Int64).self) {
            load.engines[name] = EngineUsage(streams: Int(streams), bufferBytes: buffer, ingestBitsPerSecond: ingest, diskBytes: disk)
            load.heartbeats[name] = Timestamp(millisecondsSinceEpoch: heartbeat)
        }
        return load
    }

    public func heartbeat(engine: String, at now: Timestamp) async throws {
        try await query(
            "UPDATE engines SET last_heartbeat_ms = GREATEST(last_heartbeat_ms, \(now.millisecondsSinceEpoch)) WHERE name = \(engine)")
    }

    public func announce(_ director: DirectorPresence) async throws {
        try await query(
            """
            INSERT INTO directors (id, http_url, rtsp_url, queue_length, queue_capacity, seen_ms)
            VALUES (\(director.id), \(director.httpURL), \(director.rtspURL), \(Int64(director.queueLength)),
              \(Int64(director.queueCapacity)), \(director.seenAt.millisecondsSinceEpoch))
            ON CONFLICT (id) DO UPDATE SET http_url = EXCLUDED.http_url, rtsp_url = EXCLUDED.rtsp_url,
              queue_length = EXCLUDED.queue_length, queue_capacity = EXCLUDED.queue_capacity, seen_ms = EXCLUDED.seen_ms
            """)
    }

    public func directors() async throws -> [DirectorPresence] {
        let rows = try await query(
            "SELECT id, http_url, rtsp_url, queue_length, queue_capacity, seen_ms FROM directors ORDER BY id")
        var directors: [DirectorPresence] = []
        for try await (id, http, rtsp, length, capacity, seen) in rows.decode((String, String, String, Int64, Int64, Int64).self) {
            directors.append(DirectorPresence(
                id: id, httpURL: http, rtspURL: rtsp, queueLength: Int(length), queueCapacity: Int(capacity),
                seenAt: Timestamp(millisecondsSinceEpoch: seen)))
        }
        return directors
    }

    public func changes() -> AsyncStream<SharedChange> { events }

    // MARK: RTSP sessions

    public func saveRTSPSession(id: String, body: String) async throws {
        try await query(
            """
            INSERT INTO rtsp_sessions (id, director, body) VALUES (\(id), \(directorID), \(body))
            ON CONFLICT (id) DO UPDATE SET director = EXCLUDED.director, body = EXCLUDED.body
            """)
    }

    public func deleteRTSPSession(id: String) async throws {
        try await query("DELETE FROM rtsp_sessions WHERE id = \(id)")
    }

    public func rtspSession(id: String) async throws -> String? {
        for try await body in try await query("SELECT body FROM rtsp_sessions WHERE id = \(id)").decode(String.self) { return body }
        return nil
    }

    public func adoptRTSPSession(id: String) async throws -> String? {
        let rows = try await query("UPDATE rtsp_sessions SET director = \(directorID) WHERE id = \(id) RETURNING body")
        for try await body in rows.decode(String.self) { return body }
        return nil
    }

    public func adoptOrphanedRTSPSessions(seenBefore cutoff: Timestamp, limit: Int) async throws -> [String] {
        // A session is an orphan when no director row is fresher than the cutoff for its holder;
        // SKIP LOCKED lets two survivors share the orphans instead of waiting on each other.
        let rows = try await query(
            """
            UPDATE rtsp_sessions SET director = \(directorID) WHERE id IN (
              SELECT s.id FROM rtsp_sessions s LEFT JOIN directors d ON d.id = s.director
              WHERE s.director <> \(directorID) AND (d.seen_ms IS NULL OR d.seen_ms < \(cutoff.millisecondsSinceEpoch))
              ORDER BY s.id LIMIT \(Int64(limit)) FOR UPDATE OF s SKIP LOCKED)
            RETURNING body
            """)
        var bodies: [String] = []
        for try await body in rows.decode(String.self) { bodies.append(body) }
        return bodies
    }

    public func heldRTSPSessions() async throws -> Set<String> {
        var ids: Set<String> = []
        for try await id in try await query("SELECT id FROM rtsp_sessions WHERE director = \(directorID)").decode(String.self) {
            ids.insert(id)
        }
        return ids
    }

    // MARK: Internals

    /// How long one statement may take, waiting for a connection included, before the caller
    /// hears that the store is unreachable (and a director shutting down is not held up).
    static let statementTimeout: Duration = .seconds(5)

    @discardableResult
    func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        try await bounded { try await self.client.query(query) }
    }

    /// `body`, or a `StoreError` saying `failure` (default: the statement timed out) once `timeout` passes.
    private func bounded<T: Sendable>(
        timeout: Duration = statementTimeout, _ failure: String? = nil, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await Self.bounded(timeout: timeout, failure ?? "PostgreSQL at \(path) did not answer within \(timeout)", body)
    }

    static func bounded<T: Sendable>(
        timeout: Duration, _ failure: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw StoreError(failure)
            }
            defer { group.cancelAll() }
            guard let result = try await group.next() else { throw CancellationError() }
            return result
        }
    }

    func notifyCatalog() async throws {
        try await query("SELECT pg_notify(\(PostgresSchema.eventChannel), 'catalog')")
    }

    /// Holds one connection listening on the event channel; reconnects after a failure and then
    /// reports a catalog change, since notifications sent meanwhile were lost.
    private static func listen(client: PostgresClient, to continuation: AsyncStream<SharedChange>.Continuation, logger: Logger) async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: PostgresSchema.eventChannel) { notifications in
                        continuation.yield(.catalog)
                        for try await notification in notifications {
                            if notification.payload == "catalog" {
                                continuation.yield(.catalog)
                            } else if let id = UInt32(notification.payload.dropFirst(4)), notification.payload.hasPrefix("end:") {
                                continuation.yield(.streamEnded(id))
                            }
                        }
                    }
                }
            } catch {
                if Task.isCancelled { break }
                logger.warning("store notifications interrupted; listening again in 1 s", metadata: ["error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
        continuation.finish()
    }

    /// Runs `body` again (three tries in all) when PostgreSQL aborts it for a serialization
    /// failure or a deadlock; anything else is thrown at once.
    private func retrying<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await Self.retrying(logger: logger, body)
    }

    static func retrying<T: Sendable>(logger: Logger, _ body: @Sendable () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch let error as PSQLError {
                let state = error.serverInfo?[.sqlState]
                guard attempt < 3, state == "40001" || state == "40P01" else { throw error }
                logger.info("store transaction retried", metadata: ["sql_state": "\(state ?? "")", "attempt": "\(attempt)"])
                attempt += 1
            }
        }
    }
}
