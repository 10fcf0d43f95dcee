import SQLiteNIO
import SluiceCore

/// Writes lease rows in arrival order, grouping what piles up. While one statement is in
/// flight, the saves and deletes that arrive wait; the next statement carries the longest run
/// of one kind at the front of the line (one multi-row `INSERT OR REPLACE`, or one
/// `DELETE ... IN`), at most `maxRows`. A burst of admissions then costs one statement and one
/// commit instead of one each, every caller still returns only once its row is committed, and a
/// stream deleted right after its save never comes back.
actor LeaseRowWriter {
    enum Operation: Sendable {
        case save(LiveStream)
        case delete(UInt32)

        var isSave: Bool { if case .save = self { true } else { false } }
    }

    typealias Waiter = (operation: Operation, continuation: CheckedContinuation<Void, any Error>)

    static let maxRows = 256

    private let connection: SQLiteConnection
    private var pending: [Waiter] = []
    private var isWriting = false
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []

    init(connection: SQLiteConnection) {
        self.connection = connection
    }

    func perform(_ operation: Operation) async throws {
        try await withCheckedThrowingContinuation { continuation in
            pending.append((operation, continuation))
            if !isWriting {
                isWriting = true
                Task { await self.drain() }
            }
        }
    }

    /// Returns once everything handed in so far is written.
    func flush() async {
        guard isWriting else { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    private func drain() async {
        while let first = pending.first {
            var count = 1
            while count < pending.count, count < Self.maxRows, pending[count].operation.isSave == first.operation.isSave { count += 1 }
            let batch = Array(pending.prefix(count))
            pending.removeFirst(count)
            do {
                try await write(batch.map(\.operation))
                for waiter in batch { waiter.continuation.resume() }
            } catch {
                for waiter in batch { waiter.continuation.resume(throwing: error) }
            }
        }
        isWriting = false
        let waiters = idleWaiters
        idleWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    private func write(_ operations: [Operation]) async throws {
        var binds: [SQLiteData] = []
        var rows = 0
        for operation in operations {
            switch operation {
            case .save(let stream):
                binds += [
                    .integer(Int(stream.id)), .text(stream.engine), .text(stream.object),
                    .integer(Int(stream.leaseExpiry.millisecondsSinceEpoch)), .text(String(decoding: stream.jsonBytes, as: UTF8.self)),
                ]
            case .delete(let id):
                binds.append(.integer(Int(id)))
            }
            rows += 1
        }
        if operations[0].isSave {
            let values = Array(repeating: "(?, ?, ?, ?, ?)", count: rows).joined(separator: ", ")
            _ = try await connection.query("INSERT OR REPLACE INTO streams (id, engine, object, lease_expiry_ms, body) VALUES \(values)", binds)
        } else {
            let list = Array(repeating: "?", count: rows).joined(separator: ", ")
            _ = try await connection.query("DELETE FROM streams WHERE id IN (\(list))", binds)
        }
    }
}
