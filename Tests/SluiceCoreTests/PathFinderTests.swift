import SluiceCore
import Testing

@Suite(.timeLimit(.minutes(1))) struct PathFinderTests {
    let finder = PathFinder(topology: Fixtures.topology())

    @Test func takesTheShortestFeasiblePath() {
        let path = finder.path(from: "engine-a", to: "edge", bitsPerSecond: 1_000_000) { (_: String) in 0 }
        #expect(path == ["a-core", "core-edge"])
    }

    @Test func detoursAroundAFullLink() {
        let path = finder.path(from: "engine-a", to: "edge", bitsPerSecond: 2_000_000) { $0 == "core-edge" ? 9_000_000 : 0 }
        #expect(path == ["a-core", "core-alt", "alt-edge"])
    }

    @Test func refusesWhenEveryPathHasAFullLink() {
        let path = finder.path(from: "engine-a", to: "edge", bitsPerSecond: 2_000_000) { $0 == "a-core" ? 99_000_000 : 0 }
        #expect(path == nil)
    }

    @Test func breaksTiesTowardTheLeastUtilisedBusiestLink() throws {
        // Two 2-hop paths: via s1 (busier) and via s2 (idler).
        let topology = try Topology(
            nodes: [Node(name: "e", kind: .engine), Node(name: "s1", kind: .switch), Node(name: "s2", kind: .switch), Node(name: "x", kind: .edge)],
            links: [
                Link(name: "e-s1", from: "e", to: "s1", capacityBitsPerSecond: 100),
                Link(name: "s1-x", from: "s1", to: "x", capacityBitsPerSecond: 100),
                Link(name: "e-s2", from: "e", to: "s2", capacityBitsPerSecond: 100),
                Link(name: "s2-x", from: "s2", to: "x", capacityBitsPerSecond: 100),
            ])
        let finder = PathFinder(topology: topology)
        #expect(finder.path(from: "e", to: "x", bitsPerSecond: 10) { $0 == "s1-x" ? 50 : 0 } == ["e-s2", "s2-x"])
        #expect(finder.path(from: "e", to: "x", bitsPerSecond: 10) { $0 == "e-s2" ? 60 : 0 } == ["e-s1", "s1-x"])
    }

    @Test func unknownNodesHaveNoPath() {
        #expect(finder.path(from: "nowhere", to: "edge", bitsPerSecond: 1) { (_: String) in 0 } == nil)
    }

    @Test func topologyListsEveryProblem() {
        #expect(throws: TopologyError.self) {
            try Topology(nodes: [Node(name: "a", kind: .engine), Node(name: "a", kind: .edge)],
                         links: [Link(name: "l", from: "a", to: "b", capacityBitsPerSecond: 0)])
        }
        do {
            _ = try Topology(nodes: [Node(name: "a", kind: .engine)], links: [Link(name: "l", from: "a", to: "b", capacityBitsPerSecond: -1)])
        } catch {
            #expect(error.problems.count == 2)
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct ClientNetworkTests {
    @Test func longestPrefixWins() throws {
        let networks = ClientNetworks(entries: [
            .init(block: try #require(CIDRBlock("10.0.0.0/8")), edge: "wide"),
            .init(block: try #require(CIDRBlock("10.1.0.0/16")), edge: "narrow"),
            .init(block: try #require(CIDRBlock("fd00::/8")), edge: "v6"),
        ], defaultEdge: "default")
        #expect(networks.edge(for: "10.1.2.3") == "narrow")
        #expect(networks.edge(for: "10.2.2.3") == "wide")
        #expect(networks.edge(for: "::ffff:10.1.0.9") == "narrow")
        #expect(networks.edge(for: "fd12::1") == "v6")
        #expect(networks.edge(for: "192.168.1.1") == "default")
        #expect(networks.edge(for: "not an address") == "default")
    }

    @Test(arguments: ["1.2.3", "1.2.3.256", "1.2.3.4.5", "::1::2", "12345::", "a.b.c.d", "", "1.2.3.4/33"])
    func rejectsMalformedAddresses(_ text: String) {
        #expect(IPAddress(text) == nil || CIDRBlock(text) == nil)
        #expect(CIDRBlock(text) == nil)
    }

    @Test func parsesIPv6Forms() throws {
        #expect(try #require(IPAddress("::1")).bytes == Array(repeating: 0, count: 15) + [1])
        #expect(try #require(IPAddress("[2001:db8::8]")).bytes.count == 16)
        #expect(try #require(IPAddress("::ffff:127.0.0.1")).isIPv4)
    }
}
