import Synchronization

/// A lease renewal that runs beside a send loop instead of inside it. A director that does not
/// answer must not stall the media: a host that drops packets makes each connection attempt
/// wait out its timeout (a second per director tried) and a slow one holds the request up to
/// five, while the RTP feeder keeps only half a second queued. The loop starts a renewal when
/// one is due (not while one is still in flight) and takes its outcome on a later turn.
final class BackgroundRenewal: Sendable {
    enum Outcome: Sendable, Equatable {
        case alive
        /// The director says the lease is gone (ended, revoked, expired).
        case gone
        /// No director answered.
        case unreachable
    }

    private let state = Mutex<(inFlight: Bool, outcome: Outcome?)>((false, nil))

    /// Runs `renew` (true: the lease lives) unless a renewal is in flight; true when started.
    @discardableResult
    func start(_ renew: @escaping @Sendable () async throws -> Bool) -> Bool {
        let begins = state.withLock { state in
            guard !state.inFlight else { return false }
            state.inFlight = true
            return true
        }
        guard begins else { return false }
        Task {
            let outcome: Outcome
            do {
                outcome = try await renew() ? .alive : .gone
            } catch {
                outcome = .unreachable
            }
            self.state.withLock { $0 = (false, outcome) }
        }
        return true
    }

    /// The outcome of a renewal that finished since the last call, if one did.
    func take() -> Outcome? {
        state.withLock { state in
            defer { state.outcome = nil }
            return state.outcome
        }
    }
}
