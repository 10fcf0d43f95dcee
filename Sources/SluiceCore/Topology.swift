/// A node of the declared network: an engine's network interface, a switch, a router or the
/// edge where a client network attaches.
public struct Node: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable, CaseIterable {
        case engine, `switch`, router, edge
    }

    public var name: String
    public var kind: Kind

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }
}

/// A directed link carrying media downstream (engine side to client side) with a capacity.
public struct Link: Hashable, Sendable, Codable {
    public var name: String
    public var from: String
    public var to: String
    public var capacityBitsPerSecond: Int64

    public init(name: String, from: String, to: String, capacityBitsPerSecond: Int64) {
        self.name = name
        self.from = from
        self.to = to
        self.capacityBitsPerSecond = capacityBitsPerSecond
    }
}

/// The validated network: nodes, links and an adjacency list for path search.
public struct Topology: Sendable {
    public private(set) var nodes: [String: Node]
    public private(set) var links: [String: Link]
    /// Link names leaving each node, in declaration order (for deterministic search).
    public private(set) var outgoing: [String: [String]]

    // Dense indices for the hot path: path search and link bookkeeping use arrays, not names.
    public let nodeIndex: [String: Int]
    public let linkList: [Link]
    public let linkIndex: [String: Int]
    let linkTo: [Int]
    /// Whether each node (by index) is an engine.
    let isEngine: [Bool]
    /// Indices of the links leaving each node, in declaration order.
    let adjacency: [[Int]]

    public init(nodes: [Node], links: [Link]) throws(TopologyError) {
        var problems: [String] = []
        var nodeTable: [String: Node] = [:]
        for node in nodes {
            if node.name.isEmpty { problems.append("a node has an empty name") }
            if nodeTable.updateValue(node, forKey: node.name) != nil {
                problems.append("node '\(node.name)' is declared twice")
            }
        }
        var linkTable: [String: Link] = [:]
        var outgoing: [String: [String]] = [:]
        for link in links {
            if linkTable.updateValue(link, forKey: link.name) != nil {
                problems.append("link '\(link.name)' is declared twice")
            }
            if nodeTable[link.from] == nil { problems.append("link '\(link.name)' starts at unknown node '\(link.from)'") }
            if nodeTable[link.to] == nil { problems.append("link '\(link.name)' ends at unknown node '\(link.to)'") }
            if link.from == link.to { problems.append("link '\(link.name)' loops on node '\(link.from)'") }
            if link.capacityBitsPerSecond <= 0 {
                problems.append("link '\(link.name)' has capacity \(link.capacityBitsPerSecond) bit/s; it must be positive")
            }
            outgoing[link.from, default: []].append(link.name)
        }
        if !problems.isEmpty { throw TopologyError(problems: problems) }
        self.nodes = nodeTable
        self.links = linkTable
        self.outgoing = outgoing
        let nodeIndex = Dictionary(uniqueKeysWithValues: nodes.enumerated().map { ($1.name, $0) })
        self.nodeIndex = nodeIndex
        linkList = links
        linkIndex = Dictionary(uniqueKeysWithValues: links.enumerated().map { ($1.name, $0) })
        linkTo = links.map { nodeIndex[$0.to] ?? 0 }
        isEngine = nodes.map { $0.kind == .engine }
        var adjacency = Array(repeating: [Int](), count: nodes.count)
        for (index, link) in links.enumerated() {
            if let from = nodeIndex[link.from] { adjacency[from].append(index) }
        }
        self.adjacency = adjacency
    }
}

/// Every problem found in a declared topology, listed at once.
public struct TopologyError: Error, Sendable, CustomStringConvertible {
    public var problems: [String]
    public var description: String { "invalid topology: " + problems.joined(separator: "; ") }
}
