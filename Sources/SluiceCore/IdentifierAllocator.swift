/// Allocates 32-bit stream IDs (the RTP SSRC): never 0, unique among live streams. A director
/// draws them at random (RFC 3550 §8.1: an SSRC is random, and a stream ID must not let one
/// client guess another's); tests may count from a seed.
public struct StreamIDAllocator: Sendable {
    public private(set) var live: Set<UInt32> = []
    private var next: UInt32
    private let unpredictable: Bool

    public init(seed: UInt32 = 1, unpredictable: Bool = false) {
        next = seed == 0 ? 1 : seed
        self.unpredictable = unpredictable
    }

    public mutating func allocate() -> UInt32 {
        if unpredictable {
            // A live set far smaller than 2^32 means this loop ends after a draw or two.
            var id = UInt32.random(in: 1...UInt32.max)
            while live.contains(id) { id = UInt32.random(in: 1...UInt32.max) }
            live.insert(id)
            return id
        }
        // A live set far smaller than 2^32 means this loop ends after a step or two.
        while next == 0 || live.contains(next) { next &+= 1 }
        let id = next
        live.insert(id)
        next &+= 1
        return id
    }

    /// Marks an ID taken again (after a restart); false if it was already live.
    @discardableResult
    public mutating func claim(_ id: UInt32) -> Bool {
        id != 0 && live.insert(id).inserted
    }

    public mutating func free(_ id: UInt32) {
        live.remove(id)
    }

    /// Continues from `position`: another director allocates around the current one.
    public mutating func jump(to position: UInt32) {
        next = position == 0 ? 1 : position
    }
}

/// Allocates per-node 20-bit labels of the label-switched path (16...1048575; 0-15 are
/// reserved as in MPLS), unique per node among live streams.
public struct LabelAllocator: Sendable {
    public static let range: ClosedRange<UInt32> = 16...1_048_575
    private var inUse: [String: Set<UInt32>] = [:]
    private var next: [String: UInt32] = [:]
    /// Where each node's search starts: directors sharing a store start at different places,
    /// so they rarely pick the same label (the store refuses a duplicate; the next one is tried).
    private let start: UInt32

    public init(seed: UInt32 = 0) {
        start = Self.label(from: seed)
    }

    /// The label `seed` points at, wrapped into the range.
    private static func label(from seed: UInt32) -> UInt32 {
        range.lowerBound + seed % UInt32(range.count)
    }

    public func labels(atNode node: String) -> Set<UInt32> { inUse[node, default: []] }

    /// A free label at `node`, or nil if all 1,048,560 are live.
    public mutating func allocate(atNode node: String) -> UInt32? {
        // Mutated in place: copying a node's set would make each admission O(live streams).
        guard inUse[node, default: []].count < Self.range.count else { return nil }
        var candidate = next[node, default: start]
        while inUse[node, default: []].contains(candidate) {
            candidate = candidate >= Self.range.upperBound ? Self.range.lowerBound : candidate + 1
        }
        inUse[node, default: []].insert(candidate)
        next[node] = candidate >= Self.range.upperBound ? Self.range.lowerBound : candidate + 1
        return candidate
    }

    @discardableResult
    public mutating func claim(_ label: UInt32, atNode node: String) -> Bool {
        Self.range.contains(label) && inUse[node, default: []].insert(label).inserted
    }

    /// Continues at `node` from a point derived from `seed`: another director allocates around
    /// the current one.
    public mutating func jump(atNode node: String, seed: UInt32) {
        next[node] = Self.label(from: seed)
    }

    public mutating func free(_ label: UInt32, atNode node: String) {
        inUse[node]?.remove(label)
        if inUse[node]?.isEmpty == true { inUse[node] = nil }
    }
}
