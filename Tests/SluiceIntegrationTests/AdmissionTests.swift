import Foundation
import SluiceCore
import Synchronization
import Testing

extension IntegrationTests {
/// Over-admission against a bottleneck that fits exactly three streams.
@Suite struct AdmissionTests {
    /// 1 Mbit/s objects reserve 1.05 Mbit/s; 3.2 Mbit/s holds three of them, not four.
    static let bottleneck = "3200000"

    final class Samples: Sendable {
        let maxReserved = Mutex<Int64>(0)
        let samples = Mutex(0)
    }

    @Test func threeAreAdmittedTheOthersWaitAndAreAdmittedInOrderAsStreamsEnd() async throws {
        let cluster = try Cluster(coreEdge: Self.bottleneck, maxWait: "60s", engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "clip", seconds: 2, bitrate: 1_000_000), as: "clip")

        let samples = Samples()
        let poller = Task {
            while !Task.isCancelled {
                if let reserved = try? await cluster.links()["core-edge"]?.reserved_bps {
                    samples.maxReserved.withLock { $0 = max($0, reserved) }
                    samples.samples.withLock { $0 += 1 }
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        struct Outcome: Sendable { var index: Int; var status: Int; var streamID: UInt32?; var bytes: Int }
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for index in 0..<6 {
                // Staggered so the queue order is the index order.
                try await Task.sleep(for: .milliseconds(150))
                group.addTask {
                    let reply = try await cluster.get("/play/clip?maxWait=60")
                    let id = reply.headers.first { $0.0.lowercased() == "x-sluice-stream-id" }.flatMap { UInt32($0.1) }
                    guard reply.status == 302, let location = reply.headers.first(where: { $0.0.lowercased() == "location" })?.1 else {
                        return Outcome(index: index, status: reply.status, streamID: id, bytes: 0)
                    }
                    let media = try await cluster.get("", headers: [], base: location)
                    return Outcome(index: index, status: reply.status, streamID: id, bytes: media.body.count)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }.sorted { $0.index < $1.index }
        }
        try await cluster.waitUntil("links back to zero") { try await cluster.links()["core-edge"]?.reserved_bps == 0 }
        poller.cancel()

        #expect(outcomes.allSatisfy { $0.status == 302 && $0.bytes > 0 })
        let usage = try await cluster.json([UsageRecord].self, "/v1/usage").filter { $0.kind == .play }
        let started = outcomes.compactMap { outcome in usage.first { $0.streamID == outcome.streamID }?.startedAt }
        let ended = outcomes.compactMap { outcome in usage.first { $0.streamID == outcome.streamID }?.endedAt }
        try #require(started.count == 6 && ended.count == 6)
        let firstEnd = try #require(ended.prefix(3).min())
        // The first three went straight in; the last three only after a stream had ended, in request order.
        #expect(started.prefix(3).allSatisfy { $0 < firstEnd })
        #expect(started.suffix(3).allSatisfy { $0 >= firstEnd })
        #expect(started[3] <= started[4] && started[4] <= started[5])
        #expect(samples.samples.withLock { $0 } > 10)
        #expect(samples.maxReserved.withLock { $0 } <= 3_200_000)
        #expect(samples.maxReserved.withLock { $0 } == 3_150_000)
    }

    @Test func withAShortMaxWaitTheLateRequestsGet503NamingTheFullLink() async throws {
        let cluster = try Cluster(coreEdge: Self.bottleneck, maxWait: "10s", engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "clip", seconds: 2, bitrate: 1_000_000), as: "clip")
        for _ in 0..<3 {
            #expect(try await cluster.get("/play/clip").status == 302)  // admitted, held by their leases
        }
        let refused = try await cluster.get("/play/clip?maxWait=0.3")
        #expect(refused.status == 503)
        #expect(refused.headers.contains { $0.0.lowercased() == "retry-after" })
        let problem = try JSONDecoder().decode(ClusterMessages.Problem.self, from: refused.body)
        #expect(problem.error == "wait_expired")
        #expect(problem.link == "core-edge")
        #expect(problem.availableBitsPerSecond == 50_000)
        #expect(try await cluster.links()["core-edge"]?.reserved_bps == 3_150_000)
    }
}
}
