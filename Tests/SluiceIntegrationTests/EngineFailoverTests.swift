import Foundation
import SluiceCore
import Testing

extension IntegrationTests {
/// An engine killed mid-stream: its reservations are released and an RTSP player's stream
/// continues from another replica.
@Suite struct EngineFailoverTests {
    /// Packet presentation times (seconds) of the first video stream in `path`, in file order.
    static func videoPTS(_ path: String) throws -> [Double] {
        let probe = try Cluster.runTool("/usr/bin/ffprobe", [
            "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0", path,
        ])
        return probe.output.split(separator: "\n").compactMap { Double($0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: ","))) }
    }

    /// ffmpeg only: GStreamer's rtpsession ignores an SSRC it already knows arriving from a new
    /// address ("third-party collision or loop", RFC 3550 §8.2), so a moved stream that keeps its
    /// SSRC is dropped there (seen with GST_DEBUG=rtpsession:6; noted in the README).
    @Test func anRTSPStreamContinuesFromAnotherReplicaWhenItsEngineIsKilled() async throws {
        let cluster = try Cluster(heartbeatTimeout: "2500ms")
        defer { cluster.stop() }
        try await cluster.start()
        let seconds = 14
        _ = try RTSPInteropTests.video(cluster, name: "clip", seconds: seconds)
        let copy = try cluster.run(["replicate", "clip", "--to", "engine-b", "--director", cluster.directorURL, "--key", cluster.apiKey])
        try #require(copy.status == 0, "\(copy.output)")

        let out = cluster.directory + "/moved.ts"
        let log = cluster.directory + "/ffmpeg.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let player = Process()
        player.executableURL = URL(fileURLWithPath: RTSPInteropTests.ffmpeg)
        player.arguments = [
            "-hide_banner", "-loglevel", "warning", "-timeout", "20000000", "-rtsp_transport", "udp",
            "-i", cluster.rtspURL + "/clip?key=\(cluster.apiKey)", "-c", "copy", "-f", "mpegts", out,
        ]
        player.standardOutput = FileHandle(forWritingAtPath: log)
        player.standardError = FileHandle(forWritingAtPath: log)
        try player.run()
        defer { if player.isRunning { player.terminate() } }

        try await cluster.waitUntil("the stream to be playing") {
            try await cluster.json([LiveStream].self, "/v1/streams").first { $0.kind == .play }?.isClaimed == true
        }
        try await Task.sleep(for: .seconds(4))
        let before = try #require(try await cluster.json([LiveStream].self, "/v1/streams").first { $0.kind == .play })
        let dead = before.engine
        let survivor = dead == "engine-a" ? "engine-b" : "engine-a"
        cluster.engines[dead]?.stop(signal: SIGKILL)

        try await cluster.waitUntil("the stream to move", timeout: .seconds(15)) {
            try await cluster.json([LiveStream].self, "/v1/streams").first { $0.kind == .play }?.engine == survivor
        }
        let moved = try #require(try await cluster.json([LiveStream].self, "/v1/streams").first { $0.kind == .play })
        #expect(moved.id == before.id, "same stream ID, hence the same SSRC")
        let links = try await cluster.links()
        #expect(links["\(dead)-core"]?.reservedBitsPerSecond == 0, "the dead engine's reservations are released")
        #expect(links["\(survivor)-core"]?.reservedBitsPerSecond == moved.bitsPerSecond)

        let deadline = ContinuousClock.now + .seconds(40)
        while player.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(200)) }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(!player.isRunning && player.terminationStatus == 0, "ffmpeg: \(output.suffix(2000))")

        // The received video runs forward: no timestamp goes back, one gap of a few seconds
        // where the engine died, then on to the end of the clip from the other replica.
        let pts = try Self.videoPTS(out)
        try #require(pts.count > 100, "ffmpeg wrote \(pts.count) video packets; log: \(output.suffix(2000))")
        let steps = zip(pts, pts.dropFirst()).map { $1 - $0 }
        #expect(steps.allSatisfy { $0 >= 0 }, "a timestamp went backwards: no rewind past the gap")
        let gap = steps.max() ?? 0
        #expect(gap > 0.5 && gap < 6, "gap of \(gap) s")
        #expect((pts.last ?? 0) - (pts.first ?? 0) > Double(seconds) - 2, "played on to the end: \(pts.first ?? 0)...\(pts.last ?? 0)")

        let usage = try await cluster.json([UsageRecord].self, "/v1/usage").filter { $0.streamID == before.id }
        #expect(usage.contains { $0.endReason == .engineFailed && $0.engine == dead })
        #expect(cluster.director?.log.contains("rtsp stream moved to another replica") == true)
    }

    @Test func httpStreamsOfADeadEngineEndAndAReconnectingPlayerGoesToALiveReplica() async throws {
        let cluster = try Cluster(heartbeatTimeout: "2500ms")
        defer { cluster.stop() }
        try await cluster.start()
        let sample = try cluster.makeSample(name: "long", seconds: 30, bitrate: 1_000_000)
        try cluster.put(sample, as: "long")
        let copy = try cluster.run(["replicate", "long", "--to", "engine-b", "--director", cluster.directorURL, "--key", cluster.apiKey])
        try #require(copy.status == 0, "\(copy.output)")
        let reply = try await cluster.get("/play/long")
        let location = try #require(reply.headers.first { $0.0.lowercased() == "location" }?.1)
        let fetch = Task { try? await cluster.get("", headers: [], base: location) }
        try await cluster.waitUntil("the stream to be playing") {
            try await cluster.json([LiveStream].self, "/v1/streams").first { $0.kind == .play }?.isClaimed == true
        }
        let dead = try #require(try await cluster.json([LiveStream].self, "/v1/streams").first { $0.kind == .play }?.engine)
        let survivor = dead == "engine-a" ? "engine-b" : "engine-a"
        cluster.engines[dead]?.stop(signal: SIGKILL)
        try await cluster.waitUntil("the path to be released", timeout: .seconds(15)) {
            let streams = try await cluster.json([LiveStream].self, "/v1/streams").filter { $0.kind == .play }
            let links = try await cluster.links()
            return streams.isEmpty && links.values.allSatisfy { $0.reservedBitsPerSecond == 0 }
        }
        fetch.cancel()
        let usage = try await cluster.json([UsageRecord].self, "/v1/usage").filter { $0.kind == .play }
        #expect(usage.first?.endReason == .engineFailed)

        // The player reconnects where it was (a Range): a fresh redirect to the live replica.
        let again = try await cluster.get("/play/long")
        let next = try #require(again.headers.first { $0.0.lowercased() == "location" }?.1)
        #expect(next.hasPrefix(try #require(cluster.engineURLs[survivor])), "\(next)")
        let original = try Data(contentsOf: URL(fileURLWithPath: sample))
        let resumed = try await cluster.request(.HEAD, "", headers: [("Range", "bytes=1000000-")], base: next)
        #expect(resumed.status == 206)
        #expect(resumed.headers.first { $0.0.lowercased() == "content-range" }?.1 == "bytes 1000000-\(original.count - 1)/\(original.count)")

        // With no replica left up, a request is refused with a clear reason.
        cluster.engines[survivor]?.stop(signal: SIGKILL)
        try await cluster.waitUntil("the other engine to be down", timeout: .seconds(15)) {
            try await cluster.json([Cluster.EngineRow].self, "/v1/engines").allSatisfy { !$0.engine.isUp }
        }
        let refused = try await cluster.get("/play/long?maxWait=0")
        #expect(refused.status == 503 || refused.status == 404, "\(refused.status)")
        #expect(String(decoding: refused.body, as: UTF8.self).contains("no engine that holds 'long' is up"))
    }
}
}
