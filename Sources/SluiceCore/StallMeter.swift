/// How long a player would stand still: it starts playing once `prebufferSeconds` of media
/// have arrived, then plays in real time at the media's bit rate; whenever it has played
/// everything that arrived, it stalls until more comes. Fed with arrivals in time order.
public struct StallMeter: Sendable {
    public let bitsPerSecond: Double
    public let prebufferSeconds: Double
    /// Seconds of media received so far.
    public private(set) var receivedSeconds = 0.0
    /// Seconds stalled since playback started.
    public private(set) var stalledSeconds = 0.0
    /// Where the player is in the media, and when that was (seconds on the caller's clock).
    private var position = 0.0
    private var positionTime: Double?

    public init(bitsPerSecond: Double, prebufferSeconds: Double = 1) {
        precondition(bitsPerSecond > 0 && prebufferSeconds >= 0)
        self.bitsPerSecond = bitsPerSecond
        self.prebufferSeconds = prebufferSeconds
    }

    /// `bytes` arrived at `time` (seconds, any origin, never decreasing).
    public mutating func arrive(bytes: Int, at time: Double) {
        advance(to: time)
        receivedSeconds += Double(bytes) * 8 / bitsPerSecond
        if positionTime == nil && receivedSeconds >= prebufferSeconds { positionTime = time }
    }

    /// Plays on to `time` (the end of the measurement) without new data.
    public mutating func advance(to time: Double) {
        guard let since = positionTime, time > since else { return }
        let elapsed = time - since
        let playable = receivedSeconds - position
        if elapsed > playable {
            stalledSeconds += elapsed - playable
            position = receivedSeconds
        } else {
            position += elapsed
        }
        positionTime = time
    }

    /// Whether playback has started (the prebuffer filled).
    public var started: Bool { positionTime != nil }
}
