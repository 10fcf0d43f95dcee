import SluiceCore
import Synchronization

/// A clock that moves only when a test says so.
public final class MockClock: SluiceClock {
    private let current: Mutex<Timestamp>

    public init(start: Timestamp = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)) {
        current = Mutex(start)
    }

    public func now() -> Timestamp { current.withLock { $0 } }

    public func advance(by duration: Duration) {
        current.withLock { $0 = $0 + duration }
    }

    public func advance(to instant: Timestamp) {
        current.withLock { $0 = max($0, instant) }
    }
}
