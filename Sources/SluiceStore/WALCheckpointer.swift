import Logging
import SQLiteNIO

/// Copies the write-ahead log back into the database file from a connection of its own, off
/// the commit path. SQLite's automatic checkpoint runs inside the commit that crosses 1,000
/// pages of log, on the writing connection: every admission queued behind that commit waited
/// for it (a tenth of the director's time at 8,000 admissions/s was a checkpoint under a
/// lease insert). Here the writer never checkpoints (`wal_autocheckpoint=0`) and this
/// connection runs a PASSIVE checkpoint each `interval`, which never blocks the writer: it
/// copies what no reader still needs, and the writer starts the log over once all of it is in.
final class WALCheckpointer: Sendable {
    private let connection: SQLiteConnection
    private let task: Task<Void, Never>

    private init(connection: SQLiteConnection, task: Task<Void, Never>) {
        self.connection = connection
        self.task = task
    }

    /// Opens a second connection to `path`; `writer` must stop checkpointing by itself first.
    static func start(path: String, writer: SQLiteConnection, interval: Duration, logger: Logger) async throws -> WALCheckpointer {
        _ = try await writer.query("PRAGMA wal_autocheckpoint=0")
        let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        // Its schema reads wait out the writer's locks instead of failing with SQLITE_BUSY (the
        // PASSIVE checkpoint itself never waits: it copies what it can and returns).
        _ = try await connection.query("PRAGMA busy_timeout=5000")
        let task = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled else { break }
                do {
                    _ = try await connection.query("PRAGMA wal_checkpoint(PASSIVE)")
                } catch where !Task.isCancelled {
                    logger.warning("store checkpoint failed", metadata: ["path": "\(path)", "error": "\(error)"])
                } catch {
                    break  // stopping
                }
            }
        }
        return WALCheckpointer(connection: connection, task: task)
    }

    /// Stops checkpointing; closing the last connection afterwards checkpoints what is left.
    func stop() async {
        task.cancel()
        await task.value
        try? await connection.close()
    }
}
