import Foundation
import SluiceCore
import Testing

extension IntegrationTests {
/// HLS through the director: one admitted stream for the whole session, however many segment
/// requests the player makes.
@Suite struct HLSTests {
    /// The video frames' MD5s of an MPEG-TS (ffmpeg's framemd5, stream copy: no decode).
    static func frameHashes(_ path: String) throws -> [String] {
        let result = try Cluster.runTool(RTSPInteropTests.ffmpeg, ["-hide_banner", "-loglevel", "error", "-i", path, "-map", "0:v", "-c", "copy", "-f", "framemd5", "-"])
        #expect(result.status == 0, "\(result.output.prefix(500))")
        return result.output.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { $0.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } }
    }

    @Test func ffmpegPlaysAnHLSSessionAsOneReservedStream() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"], engineSettings: "hlsIdleTime: 2s")
        defer { cluster.stop() }
        try await cluster.start()
        let source = try RTSPInteropTests.video(cluster, name: "clip", seconds: 10)
        let size = try #require(FileManager.default.attributesOfItem(atPath: source)[.size] as? Int)
        let objects = try await cluster.json([Cluster.ObjectRow].self, "/v1/objects")
        let rate = try #require(objects.first { $0.object.name == "clip" }).object.averageBitsPerSecond

        let out = cluster.directory + "/hls.ts"
        let url = cluster.directorURL + "/play/clip.m3u8?key=\(Cluster.apiKey)"
        let player = Task.detached { try Cluster.runTool(RTSPInteropTests.ffmpeg, ["-hide_banner", "-loglevel", "error", "-i", url, "-c", "copy", out]) }
        // While it plays: exactly one reservation on the shared link, for the object's rate.
        try await cluster.waitUntil("the session's one reservation", timeout: .seconds(10)) {
            let reserved = try await cluster.links()["core-edge"]?.reservedBitsPerSecond ?? 0
            return reserved > 0
        }
        let during = try await cluster.links()["core-edge"]?.reservedBitsPerSecond ?? 0
        #expect(Double(during) >= Double(rate) && Double(during) < Double(rate) * 1.2, "one stream's rate: \(during) for \(rate)")
        let played = try await player.value
        #expect(played.status == 0, "\(played.output.prefix(1000))")

        let original = try Self.frameHashes(source)
        let received = try Self.frameHashes(out)
        let same = zip(original, received).filter { $0 == $1 }.count
        #expect(original.count > 200 && Double(same) >= Double(original.count) * 0.95, "\(same) of \(original.count) frames identical")

        // Idle for hlsIdleTime: the session ends, the path is free, one usage record with every byte.
        try await cluster.waitUntil("the path freed after the idle time", timeout: .seconds(15)) {
            try await cluster.links()["core-edge"]?.reservedBitsPerSecond == 0
        }
        let plays = try await cluster.json([UsageRecord].self, "/v1/usage").filter { $0.kind == .play }
        #expect(plays.count == 1, "\(plays)")
        #expect(plays.first?.bytes == Int64(size) && plays.first?.endReason == .completed, "\(plays)")
    }

    /// A segment URL works only with its session's grant, from its client, while the session
    /// lives; a seek is a segment request, not a new admission.
    @Test func segmentURLsAreBoundToTheirLiveSession() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"], engineSettings: "hlsIdleTime: 2s")
        defer { cluster.stop() }
        try await cluster.start()
        let source = try RTSPInteropTests.video(cluster, name: "clip", seconds: 10)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
        let admitted = try await cluster.get("/play/clip.m3u8", headers: [("Authorization", "Bearer \(Cluster.apiKey)")])
        #expect(admitted.status == 302)
        let location = try #require(admitted.headers.first { $0.0.lowercased() == "location" }?.1)
        #expect(location.contains("/hls/clip/index.m3u8?grant="))
        let playlist = try await cluster.get(String(location.dropFirst(cluster.engineURLs["engine-a"]!.count)), base: cluster.engineURLs["engine-a"])
        #expect(playlist.status == 200)
        let text = String(decoding: playlist.body, as: UTF8.self)
        #expect(text.hasPrefix("#EXTM3U") && text.contains("#EXT-X-PLAYLIST-TYPE:VOD") && text.contains("#EXT-X-ENDLIST"))
        let segments = text.split(separator: "\n").filter { $0.hasPrefix("seg/") }.map(String.init)
        #expect(segments.count >= 2)
        let base = String(location.prefix { $0 != "?" }).replacingOccurrences(of: "index.m3u8", with: "")

        // Seek: the last segment first, then the first; each is exactly its bytes of the file.
        var total = 0
        for segment in [segments.last!, segments.first!] {
            let reply = try await cluster.get(String((base + segment).dropFirst(cluster.engineURLs["engine-a"]!.count)), base: cluster.engineURLs["engine-a"])
            #expect(reply.status == 200)
            #expect(bytes.range(of: reply.body) != nil && reply.body.count > 0, "a segment is a range of the object")
            total += reply.body.count
        }
        #expect(try await cluster.json([LiveStream].self, "/v1/streams").count == 1, "seeking made no new admission")
        // A forged grant: gone, as an ended session's.
        let forged = segments[0].replacingOccurrences(of: "grant=", with: "grant=x")
        #expect(try await cluster.get(String((base + forged).dropFirst(cluster.engineURLs["engine-a"]!.count)), base: cluster.engineURLs["engine-a"]).status == 410)
        // Past the end: 404.
        #expect(try await cluster.get(String((base + "seg/999.ts?" + segments[0].split(separator: "?")[1]).dropFirst(cluster.engineURLs["engine-a"]!.count)), base: cluster.engineURLs["engine-a"]).status == 404)

        // Idle: the session ends, counting what was sent, and its URLs open nothing more.
        try await cluster.waitUntil("the session ended after the idle time", timeout: .seconds(15)) {
            try await cluster.json([LiveStream].self, "/v1/streams").isEmpty
        }
        let ended = try await cluster.get(String((base + segments[0]).dropFirst(cluster.engineURLs["engine-a"]!.count)), base: cluster.engineURLs["engine-a"])
        #expect(ended.status == 410)
        let plays = try await cluster.json([UsageRecord].self, "/v1/usage").filter { $0.kind == .play }
        #expect(plays.count == 1 && plays.first?.bytes == Int64(total), "\(plays)")
    }

    /// GStreamer's `souphttpsrc ! hlsdemux` plays the session to the end: its output is the
    /// stored object, byte for byte (the segments are contiguous ranges of it).
    @Test func gstreamerHLSDemuxPlaysToTheEnd() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"], engineSettings: "hlsIdleTime: 2s")
        defer { cluster.stop() }
        try await cluster.start()
        let source = try RTSPInteropTests.video(cluster, name: "clip", seconds: 8)
        let out = cluster.directory + "/gst.ts"
        let played = try Cluster.runTool(RTSPInteropTests.gstreamer, [
            "-q", "souphttpsrc", "location=\(cluster.directorURL)/play/clip.m3u8?key=\(Cluster.apiKey)", "!", "hlsdemux", "!", "filesink", "location=\(out)",
        ])
        #expect(played.status == 0, "\(played.output.prefix(1000))")
        #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: source))
    }

    /// Headless Chromium plays `/watch/clip`: the page logs the viewer in, the `<video>` passes
    /// 5 s while the shared link holds exactly one reservation for it, and the path is free
    /// again after the idle time once the page is gone.
    @Test(.enabled(if: WebDriver.isAvailable, "needs chromium and chromium-driver (Debian)"))
    func chromiumPlaysTheWatchPageOnOneReservation() async throws {
        // An idle time longer than a segment's pacing: the browser fetches ahead and plays
        // buffered video while it asks for nothing.
        let cluster = try Cluster(engineNames: ["engine-a"], engineSettings: "hlsIdleTime: 6s")
        defer { cluster.stop() }
        try await cluster.start()
        _ = try RTSPInteropTests.video(cluster, name: "clip", seconds: 20)
        let objects = try await cluster.json([Cluster.ObjectRow].self, "/v1/objects")
        let rate = try #require(objects.first { $0.object.name == "clip" }).object.averageBitsPerSecond

        let browser = try await WebDriver(windowWidth: 1100, windowHeight: 800)
        do {
            try await browser.open(cluster.directorURL + "/watch/clip")
            try await browser.type(Cluster.apiKey + "\n", into: "#key")
            try await browser.waitUntil("the video past 5 s", timeout: .seconds(30), """
                const v = document.getElementById('player'); return v !== null && v.currentTime > 5
                """)
            let reserved = try await cluster.links()["core-edge"]?.reservedBitsPerSecond ?? 0
            #expect(Double(reserved) >= Double(rate) && Double(reserved) < Double(rate) * 1.2, "exactly one reservation: \(reserved) for \(rate)")
            #expect(try await cluster.json([LiveStream].self, "/v1/streams").count == 1)
            let startup = try await browser.evaluate("return document.body.dataset.startupMilliseconds") as? String
            #expect(startup != nil)
            try await browser.screenshot(to: Cluster.packageRoot + "/.build/test-artifacts/watch.png")
            try await browser.open("about:blank")
        } catch {
            await browser.quit()
            throw error
        }
        await browser.quit()
        try await cluster.waitUntil("the path freed after the idle time", timeout: .seconds(40)) {
            try await cluster.links()["core-edge"]?.reservedBitsPerSecond == 0
        }
    }
}
}
