import PostgresNIO
import SluiceCore

/// Admissions go to PostgreSQL in batches: while one batch is in flight (at most
/// `maxInFlight`), the admissions that arrive wait and leave together in the next, one
/// `sluice_admit_batch` call and one transaction for up to `maxBatch` of them. Each is still
/// all-or-nothing on its own (its engine, every link of its path, its labels and lease), and
/// each caller hears its own outcome once the batch has committed. An idle director sends an
/// admission at once, alone: batching costs no latency, it only absorbs a burst.
///
/// One batch in flight per director: a second one would wait on the first's row locks anyway
/// (the same engine and links), and with two the batches were smaller and the director spent
/// more per admission (BENCHMARKS.md: 8,477/s with two in flight, 12,946-13,693/s with one).
actor AdmissionBatcher {
    typealias Waiter = (stream: LiveStream, continuation: CheckedContinuation<SharedAdmission, any Error>)
    typealias Submit = @Sendable ([LiveStream]) async throws -> [SharedAdmission]

    static let maxBatch = 256
    static let maxInFlight = 1

    private let submit: Submit
    private var pending: [Waiter] = []
    private var inFlight = 0

    init(submit: @escaping Submit) {
        self.submit = submit
    }

    func admit(_ stream: LiveStream) async throws -> SharedAdmission {
        try await withCheckedThrowingContinuation { continuation in
            pending.append((stream, continuation))
            startBatches()
        }
    }

    private func startBatches() {
        while inFlight < Self.maxInFlight, !pending.isEmpty {
            let batch = Array(pending.prefix(Self.maxBatch))
            pending.removeFirst(batch.count)
            inFlight += 1
            Task { await self.run(batch) }
        }
    }

    private func run(_ batch: [Waiter]) async {
        do {
            let outcomes = try await submit(batch.map(\.stream))
            guard outcomes.count == batch.count else {
                throw StoreError("sluice_admit_batch answered \(outcomes.count) outcomes for \(batch.count) admissions")
            }
            for (waiter, outcome) in zip(batch, outcomes) { waiter.continuation.resume(returning: outcome) }
        } catch {
            for waiter in batch { waiter.continuation.resume(throwing: error) }
        }
        inFlight -= 1
        startBatches()
    }
}
