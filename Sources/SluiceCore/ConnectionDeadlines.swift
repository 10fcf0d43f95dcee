/// The limits every listener (director HTTP, RTSP, engine HTTP) puts on a client's connections.
public struct ListenerLimits: Hashable, Sendable {
    /// From a request's first byte to the end of its head (slowloris): 408 and close.
    public var requestHeadTimeout: Duration = .seconds(10)
    /// The longest silence inside a request body (a stalled upload): 408 and close.
    public var requestBodyTimeout: Duration = .seconds(30)
    /// A kept-alive connection with no request in flight is closed after this: longer than the
    /// 60 s after which HTTP clients (AsyncHTTPClient, browsers) drop idle connections
    /// themselves, so a client never reuses one the server is closing (as nginx's 75 s).
    public var idleTimeout: Duration = .seconds(75)
    /// A client that takes none of a response for this long (its window stays shut) is cut.
    public var sendTimeout: Duration = .seconds(60)
    /// Connections one client address may hold open on one listener.
    public var maxConnectionsPerClient: Int = 128

    public init() {}
}

/// One connection's deadlines as a value: events in with the time they happened, and at each
/// tick what to do. The listener's channel handler only feeds it and acts.
public struct ConnectionDeadlines: Sendable {
    public enum Action: Equatable, Sendable {
        case none
        /// Answer `408 Request Timeout` (when no response has begun) and close.
        case requestTimeout(reason: String)
        /// Close without a word (idle keep-alive, or a client that reads nothing).
        case close(reason: String)
    }

    enum Phase: Equatable {
        /// No request in flight since `since`.
        case idle(since: ContinuousClock.Instant)
        /// A request's first byte came at `since`; its head is not complete.
        case head(since: ContinuousClock.Instant)
        /// The head came; body bytes last arrived at `lastProgress`.
        case body(lastProgress: ContinuousClock.Instant)
        /// The request is read; the server is answering.
        case answering
    }

    let limits: ListenerLimits
    private(set) var phase: Phase
    /// Whether the response to the current request has begun (a 408 would be too late).
    private(set) var responseBegun = false
    private var responseEnded = false
    /// Since when the client has not taken what the server writes (nil: it does).
    private var stalledSince: ContinuousClock.Instant?

    public init(limits: ListenerLimits, now: ContinuousClock.Instant) {
        self.limits = limits
        phase = .idle(since: now)
    }

    /// Raw bytes arrived (before any HTTP parsing): a request may be starting.
    public mutating func bytesArrived(now: ContinuousClock.Instant) {
        switch phase {
        case .idle: phase = .head(since: now)
        case .body: phase = .body(lastProgress: now)
        case .head, .answering: break
        }
    }

    public mutating func headReceived(now: ContinuousClock.Instant) {
        phase = .body(lastProgress: now)
        responseBegun = false
        responseEnded = false
    }

    public mutating func requestEnded(now: ContinuousClock.Instant) {
        phase = responseEnded ? .idle(since: now) : .answering
    }

    public mutating func responseHeadSent() { responseBegun = true }

    public mutating func responseEnded(now: ContinuousClock.Instant) {
        responseEnded = true
        // A response sent before the request was read (an early refusal) leaves the body's clock running.
        if phase == .answering { phase = .idle(since: now) }
    }

    public mutating func writabilityChanged(isWritable: Bool, now: ContinuousClock.Instant) {
        stalledSince = isWritable ? nil : (stalledSince ?? now)
    }

    public func tick(now: ContinuousClock.Instant) -> Action {
        if let stalledSince, now - stalledSince >= limits.sendTimeout {
            return .close(reason: "the client took nothing of the response for \(Self.seconds(limits.sendTimeout))")
        }
        switch phase {
        case .idle(let since):
            return now - since >= limits.idleTimeout ? .close(reason: "idle for \(Self.seconds(limits.idleTimeout))") : .none
        case .head(let since):
            return now - since >= limits.requestHeadTimeout
                ? .requestTimeout(reason: "the request head was not complete within \(Self.seconds(limits.requestHeadTimeout))") : .none
        case .body(let lastProgress):
            guard now - lastProgress >= limits.requestBodyTimeout else { return .none }
            let reason = "no byte of the request body for \(Self.seconds(limits.requestBodyTimeout))"
            return responseBegun ? .close(reason: reason) : .requestTimeout(reason: reason)
        case .answering:
            return .none
        }
    }

    static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}
