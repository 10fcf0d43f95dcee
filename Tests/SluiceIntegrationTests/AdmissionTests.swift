import Foundation
import SluiceCore
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

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
                if let reserved = try? await cluster.links()["core-edge"]?.reservedBitsPerSecond {
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
        try await cluster.waitUntil("links back to zero") { try await cluster.links()["core-edge"]?.reservedBitsPerSecond == 0 }
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

    /// Two viewers queue and hang up (one over HTTP, one over RTSP); the one queued behind
    /// them is admitted as soon as capacity frees, not after their waits run out.
    @Test func queuedViewersWhoHangUpLeaveTheQueueAndTheNextIsAdmittedFirst() async throws {
        let cluster = try Cluster(coreEdge: Self.bottleneck, maxWait: "60s", engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "clip", seconds: 2, bitrate: 1_000_000), as: "clip")
        var held: [UInt32] = []
        for _ in 0..<3 {
            let reply = try await cluster.get("/play/clip")
            #expect(reply.status == 302)
            held += reply.headers.filter { $0.0.lowercased() == "x-sluice-stream-id" }.compactMap { UInt32($0.1) }
        }
        let play = "GET /play/clip?maxWait=60&key=\(cluster.apiKey) HTTP/1.1\r\nHost: sluice\r\n\r\n"
        let setup = "SETUP \(cluster.rtspURL)/clip?key=\(cluster.apiKey)&maxWait=60 RTSP/1.0\r\nCSeq: 1\r\n"
            + "Transport: RTP/AVP;unicast;client_port=40000-40001\r\n\r\n"
        let httpLeaver = try RawTCP.connect(cluster.directorURL)
        let rtspLeaver = try RawTCP.connect(cluster.rtspURL.replacingOccurrences(of: "rtsp://", with: "http://"))
        let stayer = try RawTCP.connect(cluster.directorURL)
        defer { close(stayer) }
        for (fd, request) in [(httpLeaver, play), (rtspLeaver, setup), (stayer, play)] {
            #expect(Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == request.utf8.count)
            try await Task.sleep(for: .milliseconds(300))  // queued in this order
        }
        close(httpLeaver)
        close(rtspLeaver)
        try await Task.sleep(for: .milliseconds(300))
        let freed = Int(held[0])
        #expect(try await cluster.request(.DELETE, "/v1/streams/\(freed)").status == 200)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(stayer, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(stayer, &buffer, buffer.count, 0)
        let reply = String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
        #expect(reply.hasPrefix("HTTP/1.1 302"), "the viewer behind the two who left was not admitted: \(reply.prefix(200))")
        let streams = try await cluster.json([LiveStream].self, "/v1/streams")
        #expect(streams.count == 3)
        #expect(try await cluster.links()["core-edge"]?.reservedBitsPerSecond == 3_150_000)
    }

    /// SIGTERM while a viewer waits in the queue: the director refuses the wait and exits at
    /// once instead of holding shutdown up for the viewer's `maxWait`.
    @Test func aDirectorWithAViewerQueuedStopsAtOnceAndRefusesTheWait() async throws {
        let cluster = try Cluster(coreEdge: Self.bottleneck, maxWait: "60s", engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "clip", seconds: 2, bitrate: 1_000_000), as: "clip")
        for _ in 0..<3 { #expect(try await cluster.get("/play/clip").status == 302) }
        let waiter = Task { try await cluster.get("/play/clip?maxWait=60") }
        try await Task.sleep(for: .milliseconds(500))
        let director = try #require(cluster.director)
        let start = ContinuousClock.now
        director.stop()
        let took = ContinuousClock.now - start
        #expect(took < .seconds(2), "the director took \(took) to stop")
        #expect(director.process.terminationStatus == 0)
        let reply = try await waiter.value
        #expect(reply.status == 503)
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
        #expect(try await cluster.links()["core-edge"]?.reservedBitsPerSecond == 3_150_000)
    }
}
}
