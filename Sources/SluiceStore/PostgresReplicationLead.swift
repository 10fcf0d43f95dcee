import Logging
import PostgresNIO
import Synchronization

/// Which director plans replication for the cluster: the one holding a session-level advisory
/// lock, on a connection of its own. (Not one of the pool's: a pooled connection handed back
/// would keep the lock for whoever borrows it next.) When the holder dies, PostgreSQL ends its
/// session and frees the lock, and a survivor's next try, at most a second later, takes it.
final class PostgresReplicationLead: Sendable {
    /// Any constant shared by every director (next to the migration lock's).
    static let lockKey: Int64 = 0x5111CF
    static let interval: Duration = .seconds(1)
    /// A holder whose connection does not answer this fast stops planning and reconnects (its
    /// session, and so the lock, ends when the connection closes).
    static let checkTimeout: Duration = .seconds(3)

    private let held = Mutex(false)
    private let contender = Mutex<Task<Void, Never>?>(nil)

    var isHeld: Bool { held.withLock { $0 } }

    func start(configuration: PostgresConnection.Configuration, logger: Logger) {
        let task = Task { await self.contend(configuration, logger: logger) }
        contender.withLock { $0 = task }
    }

    func stop() {
        contender.withLock { $0?.cancel() }
        held.withLock { $0 = false }
    }

    /// Tries the lock once a second; once held, checks once a second that the connection (and
    /// so the session holding it) is alive.
    private func contend(_ configuration: PostgresConnection.Configuration, logger: Logger) async {
        var attempt = 0
        var failing = false
        while !Task.isCancelled {
            attempt += 1
            var connection: PostgresConnection?
            do {
                let open = try await PostgresConnection.connect(configuration: configuration, id: attempt, logger: logger)
                connection = open
                failing = false
                while !Task.isCancelled {
                    let holding = isHeld
                    let answer = try await PostgresStore.bounded(timeout: Self.checkTimeout, "the planner's lock check timed out") {
                        let query: PostgresQuery = holding ? "SELECT true" : "SELECT pg_try_advisory_lock(\(Self.lockKey))"
                        var value = false
                        for try await row in try await open.query(query, logger: logger).decode(Bool.self) { value = row }
                        return value
                    }
                    held.withLock { $0 = answer }
                    try await Task.sleep(for: Self.interval)
                }
            } catch {
                held.withLock { $0 = false }
                if !failing && !Task.isCancelled {
                    logger.warning("replication planner lock: connection lost; trying again every second", metadata: ["error": "\(String(reflecting: error))"])
                }
                failing = true
            }
            held.withLock { $0 = false }
            try? await connection?.close()
            if !Task.isCancelled { try? await Task.sleep(for: Self.interval) }
        }
    }
}
