@testable import SluiceEngine
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1))) struct BackgroundRenewalTests {
    /// A renewal the test lets finish when it wants.
    final class Gate: Sendable {
        let waiter = Mutex<CheckedContinuation<Bool, any Error>?>(nil)
        func renew() async throws -> Bool {
            try await withCheckedThrowingContinuation { continuation in waiter.withLock { $0 = continuation } }
        }
        func open(_ result: Result<Bool, any Error>) async {
            while waiter.withLock({ $0 == nil }) { await Task.yield() }
            waiter.withLock { $0?.resume(with: result); $0 = nil }
        }
    }

    struct Unreachable: Error {}

    static func outcome(_ renewal: BackgroundRenewal) async -> BackgroundRenewal.Outcome {
        while true {
            if let outcome = renewal.take() { return outcome }
            await Task.yield()
        }
    }

    @Test func oneRenewalAtATimeAndEachOutcomeIsTakenOnce() async {
        let renewal = BackgroundRenewal()
        let gate = Gate()
        #expect(renewal.start { try await gate.renew() })
        #expect(!renewal.start { true }, "not while one is in flight")
        #expect(renewal.take() == nil, "the loop goes on meanwhile")
        await gate.open(.success(true))
        #expect(await Self.outcome(renewal) == .alive)
        #expect(renewal.take() == nil, "taken once")

        #expect(renewal.start { try await gate.renew() })
        await gate.open(.success(false))
        #expect(await Self.outcome(renewal) == .gone)
        #expect(renewal.start { try await gate.renew() })
        await gate.open(.failure(Unreachable()))
        #expect(await Self.outcome(renewal) == .unreachable)
    }
}
