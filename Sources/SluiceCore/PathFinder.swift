/// Constrained shortest path from an engine to a client's edge.
///
/// Only links whose residual capacity covers the stream's rate are usable. Among the
/// shortest usable paths (fewest hops), the one whose busiest link would be least utilised
/// wins; remaining ties go to declaration order, so results are deterministic.
public struct PathFinder: Sendable {
    public let topology: Topology

    public init(topology: Topology) {
        self.topology = topology
    }

    /// The links of the best feasible path, or `nil` when none exists.
    /// `reserved` gives the bit/s already booked on a link.
    public func path(
        from source: String,
        to destination: String,
        bitsPerSecond rate: Int64,
        reserved: (String) -> Int64
    ) -> [String]? {
        search(from: source, to: destination) { link in
            let booked = reserved(link.name)
            guard booked + rate <= link.capacityBitsPerSecond else { return nil }
            return Double(booked + rate) / Double(link.capacityBitsPerSecond)
        }
    }

    /// The path that would be used if every link were empty, for explaining a refusal.
    public func unconstrainedPath(from source: String, to destination: String) -> [String]? {
        search(from: source, to: destination) { _ in 0 }
    }

    /// Dijkstra over (hops, utilisation of the busiest link), compared lexicographically.
    /// `utilisation` returns nil for a link that cannot be used.
    private func search(
        from source: String,
        to destination: String,
        utilisation: (Link) -> Double?
    ) -> [String]? {
        guard topology.nodes[source] != nil, topology.nodes[destination] != nil else { return nil }
        if source == destination { return [] }
        struct Cost: Comparable {
            var hops: Int
            var busiest: Double
            static func < (a: Cost, b: Cost) -> Bool { (a.hops, a.busiest) < (b.hops, b.busiest) }
        }
        var best: [String: Cost] = [source: Cost(hops: 0, busiest: 0)]
        var via: [String: String] = [:]  // node -> link used to reach it
        var settled: Set<String> = []
        var frontier: [String] = [source]
        let unreachable = Cost(hops: .max, busiest: .infinity)
        while !frontier.isEmpty {
            // Networks here are small (tens of nodes): a linear scan beats a heap's bookkeeping.
            var bestIndex = 0
            for index in frontier.indices.dropFirst() where best[frontier[index], default: unreachable] < best[frontier[bestIndex], default: unreachable] {
                bestIndex = index
            }
            let node = frontier.remove(at: bestIndex)
            if node == destination { break }
            guard settled.insert(node).inserted else { continue }
            let cost = best[node, default: unreachable]
            for linkName in topology.outgoing[node] ?? [] {
                guard let link = topology.links[linkName], !settled.contains(link.to),
                      let used = utilisation(link) else { continue }
                let candidate = Cost(hops: cost.hops + 1, busiest: max(cost.busiest, used))
                if best[link.to].map({ candidate < $0 }) ?? true {
                    if best[link.to] == nil { frontier.append(link.to) }
                    best[link.to] = candidate
                    via[link.to] = linkName
                }
            }
        }
        guard best[destination] != nil else { return nil }
        var links: [String] = []
        var node = destination
        while node != source, let linkName = via[node], let link = topology.links[linkName] {
            links.append(linkName)
            node = link.from
        }
        return links.reversed()
    }
}
