import Foundation
import Logging
import SQLiteNIO
import SluiceCore

/// The embedded default store: one SQLite file in the director's data directory (WAL mode).
public final class SQLiteStore: SluiceStore {
    private let connection: SQLiteConnection
    /// Lease rows (saved on every admission and lease extension) go through it, in order.
    private let leases: LeaseRowWriter
    private let checkpointer: WALCheckpointer
    public let path: String

    /// Schema versions, applied in order; `PRAGMA user_version` records how far a file got.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE objects (name TEXT PRIMARY KEY, size_bytes INTEGER NOT NULL,
              duration_ms INTEGER NOT NULL, average_bps INTEGER NOT NULL, sha256 TEXT NOT NULL)
            """,
            "CREATE TABLE replicas (object TEXT NOT NULL, engine TEXT NOT NULL, PRIMARY KEY (object, engine))",
            "CREATE TABLE engines (name TEXT PRIMARY KEY, url TEXT NOT NULL, capacity TEXT NOT NULL, last_heartbeat_ms INTEGER NOT NULL)",
            "CREATE TABLE streams (id INTEGER PRIMARY KEY, engine TEXT NOT NULL, object TEXT NOT NULL, lease_expiry_ms INTEGER NOT NULL, body TEXT NOT NULL)",
            """
            CREATE TABLE usage (seq INTEGER PRIMARY KEY AUTOINCREMENT, stream_id INTEGER NOT NULL, kind TEXT NOT NULL,
              object TEXT NOT NULL, engine TEXT NOT NULL, client TEXT NOT NULL, started_ms INTEGER NOT NULL,
              ended_ms INTEGER NOT NULL, bytes INTEGER NOT NULL, reserved_bps INTEGER NOT NULL, end_reason TEXT NOT NULL)
            """,
            "CREATE INDEX usage_ended ON usage (ended_ms)",
        ],
        [
            "ALTER TABLE usage ADD COLUMN fraction_lost REAL",
            "ALTER TABLE usage ADD COLUMN cumulative_lost INTEGER",
            "ALTER TABLE usage ADD COLUMN jitter_ms REAL",
        ],
        ["ALTER TABLE replicas ADD COLUMN kind TEXT NOT NULL DEFAULT 'static'"],
        ["CREATE TABLE delivery_cursors (consumer TEXT PRIMARY KEY, sequence INTEGER NOT NULL)"],
        [
            "CREATE TABLE users (name TEXT PRIMARY KEY, body TEXT NOT NULL)",
            "CREATE TABLE api_keys (id TEXT PRIMARY KEY, user_name TEXT NOT NULL, body TEXT NOT NULL)",
            "ALTER TABLE usage ADD COLUMN user_name TEXT",
        ],
        ["CREATE TABLE object_access (object TEXT PRIMARY KEY, body TEXT NOT NULL)"],
        // What became of one stream (`GET /v1/streams/{id}`), without reading the whole table.
        ["CREATE INDEX usage_stream ON usage (stream_id)"],
        // Engines an operator drains stay drained across a restart.
        ["CREATE TABLE drains (engine TEXT PRIMARY KEY)"],
    ]

    private init(connection: SQLiteConnection, checkpointer: WALCheckpointer, path: String) {
        self.connection = connection
        leases = LeaseRowWriter(connection: connection)
        self.checkpointer = checkpointer
        self.path = path
    }

    /// How often the log is copied into the database file, off the commit path.
    public static let defaultCheckpointInterval: Duration = .seconds(1)

    /// Opens (creating if needed) `directory/sluice.sqlite` and migrates it.
    public static func open(directory: String, checkpointInterval: Duration = defaultCheckpointInterval, logger: Logger) async throws -> SQLiteStore {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = (directory as NSString).appendingPathComponent("sluice.sqlite")
        let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        do {
            try await migrate(connection, path: path, logger: logger)
            let checkpointer = try await WALCheckpointer.start(path: path, writer: connection, interval: checkpointInterval, logger: logger)
            return SQLiteStore(connection: connection, checkpointer: checkpointer, path: path)
        } catch {
            try? await connection.close()
            throw error
        }
    }

    private static func migrate(_ connection: SQLiteConnection, path: String, logger: Logger) async throws {
        _ = try await connection.query("PRAGMA journal_mode=WAL")
        // WAL with synchronous=NORMAL: a commit survives a crash of the director; only a power
        // loss can roll back the last commits (engines renew, so their leases come back). FULL
        // fsyncs every admission, which was a quarter of the director's time per /play.
        _ = try await connection.query("PRAGMA synchronous=NORMAL")
        let version = try await connection.query("PRAGMA user_version").first?.column("user_version")?.integer ?? 0
        guard version <= Self.migrations.count else {
            throw StoreError("the store at \(path) has schema version \(version), newer than this sluice (\(Self.migrations.count)); upgrade sluice")
        }
        for (index, statements) in Self.migrations.enumerated().dropFirst(version) {
            _ = try await connection.query("BEGIN IMMEDIATE")
            do {
                for statement in statements { _ = try await connection.query(statement) }
                _ = try await connection.query("PRAGMA user_version = \(index + 1)")
                _ = try await connection.query("COMMIT")
            } catch {
                _ = try? await connection.query("ROLLBACK")
                throw error
            }
            logger.info("store migrated", metadata: ["path": "\(path)", "schema_version": "\(index + 1)"])
        }
    }

    public func load() async throws -> StoreSnapshot {
        var snapshot = StoreSnapshot()
        for row in try await connection.query("SELECT name, size_bytes, duration_ms, average_bps, sha256 FROM objects") {
            snapshot.objects.append(MediaObject(
                name: row.string("name"), sizeBytes: row.int64("size_bytes"), durationMilliseconds: row.int64("duration_ms"),
                averageBitsPerSecond: row.int64("average_bps"), sha256: row.string("sha256")))
        }
        for row in try await connection.query("SELECT object, engine, kind FROM replicas") {
            snapshot.replicas.append((row.string("object"), row.string("engine"), ReplicaKind(rawValue: row.string("kind")) ?? .static))
        }
        let decoder = JSONDecoder()
        for row in try await connection.query("SELECT name, url, capacity, last_heartbeat_ms FROM engines") {
            let capacity = try decoder.decode(EngineCapacity.self, from: Data(row.string("capacity").utf8))
            snapshot.engines.append(EngineRecord(
                name: row.string("name"), url: row.string("url"), capacity: capacity, isUp: false,
                lastHeartbeat: Timestamp(millisecondsSinceEpoch: row.int64("last_heartbeat_ms"))))
        }
        for row in try await connection.query("SELECT engine FROM drains") { snapshot.draining.insert(row.string("engine")) }
        for row in try await connection.query("SELECT body FROM streams ORDER BY id") {
            snapshot.streams.append(try decoder.decode(LiveStream.self, from: Data(row.string("body").utf8)))
        }
        return snapshot
    }

    public func save(object: MediaObject) async throws {
        _ = try await connection.query(
            "INSERT OR REPLACE INTO objects (name, size_bytes, duration_ms, average_bps, sha256) VALUES (?, ?, ?, ?, ?)",
            [.text(object.name), .integer(Int(object.sizeBytes)), .integer(Int(object.durationMilliseconds)),
             .integer(Int(object.averageBitsPerSecond)), .text(object.sha256)])
    }

    public func save(replicaOf object: String, on engine: String, kind: ReplicaKind) async throws {
        _ = try await connection.query(
            "INSERT INTO replicas (object, engine, kind) VALUES (?, ?, ?) ON CONFLICT (object, engine) DO UPDATE SET kind = excluded.kind",
            [.text(object), .text(engine), .text(kind.rawValue)])
    }

    public func ping() async throws {
        _ = try await connection.query("SELECT 1")
    }

    public func delete(object: String) async throws {
        _ = try await connection.query("DELETE FROM replicas WHERE object = ?", [.text(object)])
        _ = try await connection.query("DELETE FROM object_access WHERE object = ?", [.text(object)])
        _ = try await connection.query("DELETE FROM objects WHERE name = ?", [.text(object)])
    }

    public func delete(replicaOf object: String, on engine: String) async throws {
        _ = try await connection.query("DELETE FROM replicas WHERE object = ? AND engine = ?", [.text(object), .text(engine)])
    }

    public func save(engine: EngineRecord) async throws {
        let capacity = String(decoding: try JSONEncoder().encode(engine.capacity), as: UTF8.self)
        _ = try await connection.query(
            "INSERT OR REPLACE INTO engines (name, url, capacity, last_heartbeat_ms) VALUES (?, ?, ?, ?)",
            [.text(engine.name), .text(engine.url), .text(capacity), .integer(Int(engine.lastHeartbeat.millisecondsSinceEpoch))])
    }

    public func save(draining engine: String, _ draining: Bool) async throws {
        _ = try await connection.query(
            draining ? "INSERT OR IGNORE INTO drains (engine) VALUES (?)" : "DELETE FROM drains WHERE engine = ?", [.text(engine)])
    }

    public func save(stream: LiveStream) async throws {
        try await leases.perform(.save(stream))
    }

    public func deleteStream(id: UInt32) async throws {
        try await leases.perform(.delete(id))
    }

    public func append(usage record: UsageRecord) async throws {
        _ = try await connection.query(
            """
            INSERT INTO usage (stream_id, kind, object, engine, client, started_ms, ended_ms, bytes, reserved_bps, end_reason,
              fraction_lost, cumulative_lost, jitter_ms, user_name)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.integer(Int(record.streamID)), .text(record.kind.rawValue), .text(record.object), .text(record.engine),
             .text(record.clientAddress), .integer(Int(record.startedAt.millisecondsSinceEpoch)),
             .integer(Int(record.endedAt.millisecondsSinceEpoch)), .integer(Int(record.bytes)),
             .integer(Int(record.reservedBitsPerSecond)), .text(record.endReason.rawValue),
             record.quality.map { .float($0.fractionLost) } ?? .null,
             record.quality.map { .integer(Int($0.cumulativeLost)) } ?? .null,
             record.quality.map { .float($0.jitterMilliseconds) } ?? .null, record.user.map { .text($0) } ?? .null])
    }

    public func usage(since: Timestamp, limit: Int) async throws -> [UsageRecord] {
        try await usageRows("ended_ms >= ?", after: since.millisecondsSinceEpoch, limit: limit).map(\.record)
    }

    public func usage(streamID: UInt32) async throws -> UsageRecord? {
        // One stream has few records (an RTSP session moved off a failed engine keeps its ID).
        try await usageRows("stream_id = ?", after: Int64(streamID), limit: 64).last?.record
    }

    public func usage(afterSequence sequence: Int64, limit: Int) async throws -> [(sequence: Int64, record: UsageRecord)] {
        try await usageRows("seq > ?", after: sequence, limit: limit)
    }

    public func usageCount(afterSequence sequence: Int64) async throws -> Int {
        let rows = try await connection.query("SELECT count(*) AS n FROM usage WHERE seq > ?", [.integer(Int(sequence))])
        return rows.first.map { Int($0.int64("n")) } ?? 0
    }

    public func deliveryCursor(_ consumer: String) async throws -> Int64 {
        let rows = try await connection.query("SELECT sequence FROM delivery_cursors WHERE consumer = ?", [.text(consumer)])
        return rows.first.map { $0.int64("sequence") } ?? 0
    }

    public func saveDeliveryCursor(_ consumer: String, _ sequence: Int64) async throws {
        _ = try await connection.query(
            "INSERT INTO delivery_cursors (consumer, sequence) VALUES (?, ?) ON CONFLICT (consumer) DO UPDATE SET sequence = excluded.sequence",
            [.text(consumer), .integer(Int(sequence))])
    }

    public func identities() async throws -> (users: [User], keys: [KeyRecord]) {
        let decoder = JSONDecoder()
        let users = try await connection.query("SELECT body FROM users ORDER BY name").map {
            try decoder.decode(User.self, from: Data($0.string("body").utf8))
        }
        let keys = try await connection.query("SELECT body FROM api_keys ORDER BY id").map {
            try decoder.decode(KeyRecord.self, from: Data($0.string("body").utf8))
        }
        return (users, keys)
    }

    public func save(user: User) async throws {
        let body = String(decoding: try JSONEncoder().encode(user), as: UTF8.self)
        _ = try await connection.query("INSERT OR REPLACE INTO users (name, body) VALUES (?, ?)", [.text(user.name), .text(body)])
    }

    public func accessRules() async throws -> [ObjectAccess] {
        let decoder = JSONDecoder()
        return try await connection.query("SELECT body FROM object_access ORDER BY object").map {
            try decoder.decode(ObjectAccess.self, from: Data($0.string("body").utf8))
        }
    }

    public func save(access: ObjectAccess) async throws {
        let body = String(decoding: try JSONEncoder().encode(access), as: UTF8.self)
        _ = try await connection.query("INSERT OR REPLACE INTO object_access (object, body) VALUES (?, ?)", [.text(access.object), .text(body)])
    }

    public func save(key: KeyRecord) async throws {
        let body = String(decoding: try JSONEncoder().encode(key), as: UTF8.self)
        _ = try await connection.query(
            "INSERT OR REPLACE INTO api_keys (id, user_name, body) VALUES (?, ?, ?)", [.text(key.id), .text(key.user), .text(body)])
    }

    private func usageRows(_ condition: String, after value: Int64, limit: Int) async throws -> [(sequence: Int64, record: UsageRecord)] {
        let rows = try await connection.query(
            """
            SELECT seq, stream_id, kind, object, engine, client, started_ms, ended_ms, bytes, reserved_bps, end_reason,
              fraction_lost, cumulative_lost, jitter_ms, user_name
            FROM usage WHERE \(condition) ORDER BY seq LIMIT ?
            """,
            [.integer(Int(value)), .integer(max(0, limit))])
        return rows.map { row in
            (row.int64("seq"), UsageRecord.stored(
                streamID: row.int64("stream_id"), kind: row.string("kind"), object: row.string("object"), engine: row.string("engine"),
                client: row.string("client"), startedMs: row.int64("started_ms"), endedMs: row.int64("ended_ms"), bytes: row.int64("bytes"),
                reservedBitsPerSecond: row.int64("reserved_bps"), endReason: row.string("end_reason"),
                fractionLost: row.column("fraction_lost")?.double, cumulativeLost: row.column("cumulative_lost")?.integer.map(Int64.init),
                jitterMilliseconds: row.column("jitter_ms")?.double, user: row.column("user_name")?.string))
        }
    }

    public func close() async throws {
        await leases.flush()
        await checkpointer.stop()
        try await connection.close()
    }
}

public struct StoreError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension SQLiteRow {
    func string(_ name: String) -> String { column(name)?.string ?? "" }
    func int64(_ name: String) -> Int64 { Int64(column(name)?.integer ?? 0) }
}
