/// Paces a byte stream at a fixed rate with a bounded burst.
///
/// Time is `elapsed` since the stream started, passed in by the caller, so the schedule is
/// exact (no drift from sleeps that oversleep: lateness is caught up within the burst) and the
/// arithmetic is unit-testable.
public struct TokenBucket: Sendable {
    public let bytesPerSecond: Double
    public let burstBytes: Double
    private var tokens: Double
    private var last: Duration = .zero

    public init(bitsPerSecond: Int64, burstBytes: Int) {
        bytesPerSecond = max(1, Double(bitsPerSecond) / 8)
        self.burstBytes = Double(max(1, burstBytes))
        tokens = self.burstBytes
    }

    /// How long to wait before `bytes` may be sent; the bytes are taken from the bucket.
    public mutating func delay(sending bytes: Int, at elapsed: Duration) -> Duration {
        refill(at: elapsed)
        tokens -= Double(bytes)
        guard tokens < 0 else { return .zero }
        return .nanoseconds(Int64((-tokens / bytesPerSecond * 1e9).rounded(.up)))
    }

    private mutating func refill(at elapsed: Duration) {
        guard elapsed > last else { return }
        tokens = min(burstBytes, tokens + (elapsed - last).seconds * bytesPerSecond)
        last = elapsed
    }
}
