/// Requests waiting for capacity, first come first served, each with its own deadline.
public struct AdmissionQueue: Sendable {
    public struct Waiter: Sendable, Hashable {
        public var request: AdmissionRequest
        public var enqueuedAt: Timestamp
        /// Why it could not be admitted the last time it was tried.
        public var lastRefusal: AdmissionRefusal
    }

    public let capacity: Int
    public private(set) var waiters: [Waiter] = []

    public init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    public var isFull: Bool { waiters.count >= capacity }
    public var count: Int { waiters.count }

    /// Adds a waiter at the back; false when the queue is full.
    public mutating func enqueue(_ request: AdmissionRequest, at now: Timestamp, refusal: AdmissionRefusal) -> Bool {
        guard !isFull else { return false }
        waiters.append(Waiter(request: request, enqueuedAt: now, lastRefusal: refusal))
        return true
    }

    @discardableResult
    public mutating func remove(ticket: UInt64) -> Waiter? {
        guard let index = waiters.firstIndex(where: { $0.request.ticket == ticket }) else { return nil }
        return waiters.remove(at: index)
    }

    public mutating func updateRefusal(ticket: UInt64, _ refusal: AdmissionRefusal) {
        if let index = waiters.firstIndex(where: { $0.request.ticket == ticket }) {
            waiters[index].lastRefusal = refusal
        }
    }

    /// Removes and returns, in queue order, every waiter whose deadline has passed.
    public mutating func removeExpired(at now: Timestamp) -> [Waiter] {
        guard !waiters.isEmpty else { return [] }
        let expired = waiters.filter { $0.request.deadline <= now }
        waiters.removeAll { $0.request.deadline <= now }
        return expired
    }
}
