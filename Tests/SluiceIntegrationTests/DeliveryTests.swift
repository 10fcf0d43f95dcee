import Foundation
import SluiceCore
import Testing

extension IntegrationTests {
/// Real director and engine processes on loopback: upload, play, pace, restart.
@Suite struct DeliveryTests {
    struct PlayReport: Decodable {
        var status: Int
        var bytes: Int64
        var averageBitsPerSecond: Double
        var sha256: String
        var expectedSHA256: String?
        var errorMessage: String?
    }

    @Test func putThenPlayWithTheClientAndCurlDeliversIdenticalBytesAtTheReservedRate() async throws {
        let cluster = try Cluster()
        defer { cluster.stop() }
        try await cluster.start()
        let source = try cluster.makeSample(name: "clip", seconds: 4, bitrate: 2_000_000)
        try cluster.put(source, as: "clip")

        let objects = try await cluster.json([Cluster.ObjectRow].self, "/v1/objects")
        let listed = try #require(objects.first { $0.object.name == "clip" })
        #expect(abs(listed.object.averageBitsPerSecond - 2_000_000) < 5_000)
        #expect(listed.replicas.count == 1)

        let out = cluster.directory + "/played.ts"
        let played = try cluster.run(["play", cluster.directorURL + "/play/clip", "--key", cluster.apiKey, "--out", out, "--json"])
        #expect(played.status == 0, "\(played.output)")
        let report = try JSONDecoder().decode(PlayReport.self, from: Data(played.output.utf8))
        #expect(report.sha256 == report.expectedSHA256)
        #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: source))
        // The reservation is a link rate: the payload goes at what is left after TCP/IP headers.
        let reserved = Double(listed.object.averageBitsPerSecond) * 1.05
        let payload = reserved * Double(WireFraming.tcpPayloadBytes) / Double(WireFraming.ethernetFrameBytes)
        #expect(abs(report.averageBitsPerSecond - payload) / payload < 0.04, "delivered \(report.averageBitsPerSecond) bit/s, payload rate \(payload) of reserved \(reserved)")

        let curlOut = cluster.directory + "/curl.ts"
        let curl = try Cluster.runTool("/usr/bin/curl", ["-sS", "-L", "-f", "-o", curlOut, "-H", "Authorization: Bearer \(cluster.apiKey)", cluster.directorURL + "/play/clip"])
        #expect(curl.status == 0, "\(curl.output)")
        #expect(FileManager.default.contents(atPath: curlOut) == FileManager.default.contents(atPath: source))

        try await cluster.waitUntil("links back to zero") {
            try await cluster.links().values.allSatisfy { $0.reservedBitsPerSecond == 0 }
        }
        let usage = try await cluster.json([UsageRecord].self, "/v1/usage")
        let plays = usage.filter { $0.kind == .play }
        #expect(plays.count == 2)
        #expect(plays.allSatisfy { $0.bytes == listed.object.sizeBytes && $0.endReason == .completed })
    }

    @Test func theDemoLoadsASampleAndStopsCleanly() throws {
        let cluster = try Cluster()  // only its config (every port 0) and directory are used
        defer { cluster.stop() }
        let demo = try cluster.run([
            "demo", "--config", cluster.configPath, "--data-dir", cluster.directory + "/demo", "--sample-seconds", "2", "--exit-after", "2",
        ])
        #expect(demo.status == 0, "\(demo.output.suffix(3000))")
        #expect(demo.output.contains("stored 'sample' on engine-"))
        #expect(demo.output.contains("rtsp://127.0.0.1:"))
        #expect(demo.output.contains("--exit-after reached"))
        #expect(!demo.output.contains("crashed"))
    }

    @Test func ffmpegPlaysThroughTheRedirect() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg") else {
            Issue.record("ffmpeg is not installed; .ci/run installs it")
            return
        }
        let cluster = try Cluster()
        defer { cluster.stop() }
        try await cluster.start()
        let source = cluster.directory + "/video.ts"
        let made = try Cluster.runTool("/usr/bin/ffmpeg", [
            "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "2",
            "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "800k", "-f", "mpegts", source,
        ])
        #expect(made.status == 0, "\(made.output)")
        try cluster.put(source, as: "video")
        let copy = cluster.directory + "/copy.ts"
        let played = try Cluster.runTool("/usr/bin/ffmpeg", [
            "-hide_banner", "-loglevel", "error", "-i", cluster.directorURL + "/play/video?key=\(cluster.apiKey)", "-c", "copy", "-f", "mpegts", copy,
        ])
        #expect(played.status == 0, "\(played.output)")
        let frames = try Cluster.runTool("/usr/bin/ffprobe", [
            "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", copy,
        ])
        // ffprobe prints the stream once per section it appears in (stream, program).
        #expect(frames.output.split(separator: "\n").first == "50", "\(frames.output)")
    }

    @Test func aDirectorRestartKeepsTheCatalogAndLiveLeases() async throws {
        let cluster = try Cluster()
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "long", seconds: 2, bitrate: 1_000_000), as: "long")
        // Admit a stream without playing it: the lease holds the path until it expires.
        let admitted = try await cluster.get("/play/long")
        #expect(admitted.status == 302)
        let before = try await cluster.links()
        #expect(before["core-edge"]?.reservedBitsPerSecond == 1_050_000)

        cluster.director?.stop()
        try await cluster.startDirector()
        let after = try await cluster.links()
        #expect(after["core-edge"]?.reservedBitsPerSecond == 1_050_000)
        let objects = try await cluster.json([Cluster.ObjectRow].self, "/v1/objects")
        #expect(objects.map(\.object.name) == ["long"])
        let streams = try await cluster.json([LiveStream].self, "/v1/streams")
        #expect(streams.count == 1)
        // Operator teardown releases it at once and records it.
        let id = try #require(streams.first?.id)
        let deleted = try await cluster.request(.DELETE, "/v1/streams/\(id)")
        #expect(deleted.status == 200)
        #expect(try await cluster.links()["core-edge"]?.reservedBitsPerSecond == 0)
        let usage = try await cluster.json([UsageRecord].self, "/v1/usage")
        #expect(usage.contains { $0.streamID == id && $0.endReason == .tornDown })
    }

    @Test func tearingAStreamDownStopsTheEngineWithinAboutASecond() async throws {
        let cluster = try Cluster()
        defer { cluster.stop() }
        try await cluster.start()
        let source = try cluster.makeSample(name: "film", seconds: 30, bitrate: 1_000_000)
        try cluster.put(source, as: "film")
        let size = try #require(FileManager.default.contents(atPath: source)).count
        let admitted = try await cluster.get("/play/film")
        let url = try #require(admitted.headers.first { $0.0.lowercased() == "location" }?.1)
        let id = try #require(admitted.headers.first { $0.0.lowercased() == "x-sluice-stream-id" }.flatMap { UInt32($0.1) })
        let download = Task { try? await cluster.get("", headers: [], base: url) }
        try await cluster.waitUntil("the stream to start") {
            try await cluster.json([LiveStream].self, "/v1/streams").first?.isClaimed == true
        }
        #expect(try await cluster.request(.DELETE, "/v1/streams/\(id)").status == 200)
        #expect(try await cluster.links()["core-edge"]?.reservedBitsPerSecond == 0)
        // The engine learns at its next renewal and closes the connection: far short of 30 s of media.
        let received = await download.value?.body.count ?? 0
        #expect(received < size / 4, "received \(received) of \(size) bytes")
    }

    @Test func aClientThatVanishesMidStreamEndsItsLease() async throws {
        let cluster = try Cluster()
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "film", seconds: 20, bitrate: 1_000_000), as: "film")
        // curl gives up after a second, long before the 20 s object is sent.
        let curl = try Cluster.runTool("/usr/bin/curl", ["-sS", "-L", "-o", "/dev/null", "--max-time", "1", cluster.directorURL + "/play/film?key=\(cluster.apiKey)"])
        #expect(curl.status == 28)  // curl's "operation timed out"
        try await cluster.waitUntil("the lease to end", timeout: .seconds(10)) {
            let links = try await cluster.links()
            let streams = try await cluster.json([LiveStream].self, "/v1/streams")
            return streams.isEmpty && links.values.allSatisfy { $0.reservedBitsPerSecond == 0 }
        }
        let usage = try await cluster.json([UsageRecord].self, "/v1/usage")
        let record = try #require(usage.first { $0.kind == .play })
        #expect(record.endReason == .clientGone)
        #expect(record.bytes > 0 && record.bytes < 2_500_000)
    }
}
}
