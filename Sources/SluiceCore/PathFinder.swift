/// Constrained shortest path from an engine to a client's edge (or to another engine, for a
/// copy). Paths never pass through a third engine.
///
/// Only links whose residual capacity covers the stream's rate are usable. Among the
/// shortest usable paths (fewest hops), the one whose busiest link would be least utilised
/// wins; remaining ties go to declaration order, so results are deterministic. The search
/// runs over the topology's dense indices (arrays, a binary heap): it is on every admission.
public struct PathFinder: Sendable {
    public let topology: Topology

    public init(topology: Topology) {
        self.topology = topology
    }

    /// The links of the best feasible path, or `nil` when none exists.
    /// `reserved` gives the bit/s already booked on a link, by name.
    public func path(
        from source: String,
        to destination: String,
        bitsPerSecond rate: Int64,
        reserved: (String) -> Int64
    ) -> [String]? {
        path(from: source, to: destination, bitsPerSecond: rate) { reserved(topology.linkList[$0].name) }
    }

    /// The same, with `reservedAt` giving the bit/s booked on the link at a topology index.
    public func path(
        from source: String,
        to destination: String,
        bitsPerSecond rate: Int64,
        reservedAt: (Int) -> Int64
    ) -> [String]? {
        search(from: source, to: destination) { index in
            let capacity = topology.linkList[index].capacityBitsPerSecond
            let booked = reservedAt(index)
            guard booked + rate <= capacity else { return nil }
            return Double(booked + rate) / Double(capacity)
        }
    }

    /// The path that would be used if every link were empty, for explaining a refusal.
    public func unconstrainedPath(from source: String, to destination: String) -> [String]? {
        search(from: source, to: destination) { _ in 0 }
    }

    private struct Entry: Comparable {
        var hops: Int
        var busiest: Double
        var node: Int
        static func < (a: Entry, b: Entry) -> Bool { (a.hops, a.busiest, a.node) < (b.hops, b.busiest, b.node) }
    }

    /// Dijkstra over (hops, utilisation of the busiest link), compared lexicographically.
    /// `utilisation` returns nil for a link that cannot be used.
    private func search(from source: String, to destination: String, utilisation: (Int) -> Double?) -> [String]? {
        guard let start = topology.nodeIndex[source], let goal = topology.nodeIndex[destination] else { return nil }
        if start == goal { return [] }
        let count = topology.adjacency.count
        var hops = [Int](repeating: .max, count: count)
        var busiest = [Double](repeating: .infinity, count: count)
        var via = [Int](repeating: -1, count: count)
        var settled = [Bool](repeating: false, count: count)
        var heap = BinaryHeap<Entry>()
        hops[start] = 0
        busiest[start] = 0
        heap.push(Entry(hops: 0, busiest: 0, node: start))
        while let entry = heap.pop() {
            let node = entry.node
            if settled[node] { continue }
            settled[node] = true
            if node == goal { break }
            // An engine's interface sends and receives; it does not forward other engines' media.
            if node != start && topology.isEngine[node] { continue }
            for link in topology.adjacency[node] {
                let next = topology.linkTo[link]
                guard !settled[next], let used = utilisation(link) else { continue }
                let candidate = Entry(hops: entry.hops + 1, busiest: max(entry.busiest, used), node: next)
                if (candidate.hops, candidate.busiest) < (hops[next], busiest[next]) {
                    hops[next] = candidate.hops
                    busiest[next] = candidate.busiest
                    via[next] = link
                    heap.push(candidate)
                }
            }
        }
        guard settled[goal] else { return nil }
        var links: [String] = []
        var node = goal
        while node != start {
            let link = via[node]
            guard link >= 0 else { return nil }
            let declared = topology.linkList[link]
            links.append(declared.name)
            node = topology.nodeIndex[declared.from] ?? start
        }
        return links.reversed()
    }
}

/// A minimal binary min-heap.
struct BinaryHeap<Element: Comparable> {
    private var items: [Element] = []

    /// The smallest element, without removing it.
    var first: Element? { items.first }

    mutating func push(_ element: Element) {
        items.append(element)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count && items[left] < items[smallest] { smallest = left }
            if right < items.count && items[right] < items[smallest] { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}

extension BinaryHeap: Sendable where Element: Sendable {}
