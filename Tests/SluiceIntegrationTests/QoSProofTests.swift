import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
/// The guarantee on links that really have the capacities the topology declares:
/// `Benchmarks/qos-proof.sh --check` builds two engines, a core, an edge and the viewers in
/// network namespaces joined by veth pairs shaped with tc (40 Mbit/s engine uplinks, a
/// 60 Mbit/s bottleneck), and asks for twice what the bottleneck carries. Needs root.
@Suite struct QoSProofTests {
    static let canShape = getuid() == 0 && ["/usr/sbin/tc", "/sbin/tc"].contains { FileManager.default.isExecutableFile(atPath: $0) }

    struct Summary: Decodable {
        struct Run: Decodable {
            var viewers: Int
            var admitted: Int
            var refused: Int
            var rtpAdmitted: Int
            var lossPercentMax: Double
            var stallSecondsMax: Double
            var tcDrops: Int
            var uplinkDrops: Int
        }
        var runs: [String: Run]
    }

    @Test(.enabled(if: canShape, "needs root and tc (network namespaces)"))
    func admittedViewersLoseNothingOnAShapedBottleneckAndTheExcessIsRefused() throws {
        let script = Cluster.packageRoot + "/Benchmarks/qos-proof.sh"
        let result = try Cluster.runTool("/bin/bash", [script, "--check"], environment: ["SLUICE_BIN": Cluster.binary])
        #expect(result.status == 0, "\(result.output)")
        let line = try #require(result.output.split(separator: "\n").last { $0.hasPrefix("{") }, "no summary: \(result.output)")
        let run = try #require(try JSONDecoder().decode(Summary.self, from: Data(line.utf8)).runs["sluice"])
        // 60 Mbit/s holds 14 streams of 4.2 Mbit/s; 28 asked.
        #expect(run.admitted == 14 && run.refused == run.viewers - 14, "\(line)")
        #expect(run.rtpAdmitted > 0 && run.lossPercentMax == 0, "\(line)")
        #expect(run.stallSecondsMax == 0, "\(line)")
        #expect(run.tcDrops == 0 && run.uplinkDrops == 0, "\(line)")
        // Everything the script made is gone.
        let namespaces = try Cluster.runTool("/usr/bin/env", ["ip", "netns", "list"])
        #expect(!namespaces.output.contains("qos"), "left behind: \(namespaces.output)")
    }
}
}
