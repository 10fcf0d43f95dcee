import SluiceCore
import Synchronization

/// Coalesces lease renewals. Every stream renews about once a second; sent one by one, a
/// thousand streams cost the engine and the director a thousand HTTP requests a second. The
/// first renewal to arrive opens a short window; all renewals made in it go in one request
/// (at most `ClusterMessages.Renewals.maxItems`), and each caller gets its own answer.
final class RenewalBatcher: Sendable {
    typealias Waiter = (item: ClusterMessages.Renewals.Item, continuation: CheckedContinuation<Bool, any Error>)

    /// How long the first renewal waits for company.
    static let window: Duration = .milliseconds(20)

    private let pending = Mutex<(waiters: [Waiter], scheduled: Bool)>(([], false))

    func renew(_ item: ClusterMessages.Renewals.Item, link: DirectorLink) async throws -> Bool {
        try await withCheckedThrowingContinuation { continuation in
            let opensWindow = pending.withLock { state in
                state.waiters.append((item, continuation))
                defer { state.scheduled = true }
                return !state.scheduled
            }
            if opensWindow {
                Task {
                    try? await Task.sleep(for: Self.window)
                    await self.flush(link: link)
                }
            }
        }
    }

    private func flush(link: DirectorLink) async {
        let waiters = pending.withLock { state in
            defer { state = ([], false) }
            return state.waiters
        }
        var start = 0
        while start < waiters.count {
            let batch = waiters[start..<min(waiters.count, start + ClusterMessages.Renewals.maxItems)]
            start = batch.endIndex
            do {
                let gone = try await link.sendRenewals(batch.map(\.item))
                for waiter in batch { waiter.continuation.resume(returning: !gone.contains(waiter.item.streamID)) }
            } catch {
                for waiter in batch { waiter.continuation.resume(throwing: error) }
            }
        }
    }
}
