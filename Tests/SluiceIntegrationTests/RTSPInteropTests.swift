import Foundation
import SluiceCore
import Synchronization
import Testing

extension IntegrationTests {
/// Real players against a real director and two real engines: RTSP to the director, RTP
/// straight from the engine.
@Suite struct RTSPInteropTests {
    static let ffmpeg = "/usr/bin/ffmpeg"
    static let gstreamer = "/usr/bin/gst-launch-1.0"
    static let vlc = "/usr/bin/cvlc"

    /// A short H.264 + AAC clip made with ffmpeg, uploaded as `name`.
    static func video(_ cluster: Cluster, name: String, seconds: Int) throws -> String {
        let path = cluster.directory + "/\(name).ts"
        let made = try Cluster.runTool(ffmpeg, [
            "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "\(seconds)",
            "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "600k", "-g", "25", "-c:a", "aac", "-b:a", "64k", "-f", "mpegts", path,
        ])
        guard made.status == 0 else { throw ClusterError("ffmpeg could not make the clip: \(made.output)") }
        try cluster.put(path, as: name)
        return path
    }

    /// `ffmpeg` receiving `object` over RTSP/UDP and remuxing it, untouched, into `out`.
    static func ffmpegCopy(_ cluster: Cluster, object: String, to out: String, seekSeconds: Int? = nil) throws -> (status: Int32, output: String) {
        let seek = seekSeconds.map { ["-ss", "\($0)"] } ?? []
        return try Cluster.runTool(ffmpeg, [
            "-hide_banner", "-loglevel", "error", "-timeout", "10000000",
        ] + seek + [
            "-rtsp_transport", "udp", "-i", cluster.rtspURL + "/\(object)?key=\(cluster.apiKey)", "-c", "copy", "-f", "mpegts", out,
        ])
    }

    static func frameHashes(_ path: String) throws -> [String] {
        let result = try Cluster.runTool(ffmpeg, ["-hide_banner", "-loglevel", "error", "-i", path, "-map", "0:v", "-f", "framemd5", "-"])
        return result.output.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { $0.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } }
    }

    func requirePlayers() throws {
        for tool in [Self.ffmpeg, Self.gstreamer] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw ClusterError("\(tool) is not installed; .ci/run installs it")
        }
    }

    @Test func ffmpegPlaysToTheEndAndExitsWithTheSourceFrames() async throws {
        try requirePlayers()
        let cluster = try Cluster()
        defer { cluster.stop() }
        try await cluster.start()
        let source = try Self.video(cluster, name: "clip", seconds: 4)
        let out = cluster.directory + "/ffmpeg.ts"
        let played = try Self.ffmpegCopy(cluster, object: "clip", to: out)
        #expect(played.status == 0, "\(played.output)")
        let expected = try Self.frameHashes(source)
        let received = try Self.frameHashes(out)
        #expect(expected.count == 100)
        // ffmpeg's RTP/MPEG-TS demuxer does not flush the PES still open at BYE, so the very
        // last frame may be missing; every frame it has must be the source's, in order.
        #expect(received.count >= expected.count - 1, "received \(received.count) of \(expected.count) frames")
        #expect(Array(expected.prefix(received.count)) == received)
        try await cluster.waitUntil("the path to be released") { try await cluster.links()["core-edge"]?.reservedBitsPerSecond == 0 }
        let usage = try await cluster.json([UsageRecord].self, "/v1/usage").filter { $0.kind == .play }
        #expect(usage.count == 1)
        #expect(usage.first?.bytes == Int64(try #require(FileManager.default.contents(atPath: source)).count))
    }

    @Test func sluicePlayReceivesIdenticalBytesAndTheEngineRecordsItsReceiverReports() async throws {
        let cluster = try Cluster()
        defer { cluster.stop() }
        try await cluster.start()
        let source = try cluster.makeSample(name: "clip", seconds: 5, bitrate: 1_000_000)
        try cluster.put(source, as: "clip")
        let out = cluster.directory + "/played.ts"
        let played = try cluster.run([
            "play", cluster.rtspURL + "/clip", "--key", cluster.apiKey, "--out", out, "--director", cluster.directorURL, "--json",
        ])
        #expect(played.status == 0, "\(played.output)")
        struct Report: Decodable { var sha256: String; var expectedSHA256: String?; var packetsLost: Int64?; var packetsReceived: Int64? }
        let report = try JSONDecoder().decode(Report.self, from: Data(played.output.utf8))
        #expect(report.sha256 == report.expectedSHA256)
        #expect(report.packetsLost == 0)
        #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: source))
        try await cluster.waitUntil("the usage record") {
            try await cluster.json([UsageRecord].self, "/v1/usage").contains { $0.kind == .play }
        }
        let usage = try #require(try await cluster.json([UsageRecord].self, "/v1/usage").first { $0.kind == .play })
        // The client sent receiver reports every 2 s; the engine passed them on with the end.
        let quality = try #require(usage.quality)
        #expect(quality.cumulativeLost == 0)
        #expect(quality.jitterMilliseconds < 50)
    }

    @Test func gstreamerReceivesBytesIdenticalToTheObject() async throws {
        try requirePlayers()
        let cluster = try Cluster()
        defer { cluster.stop() }
        try await cluster.start()
        let source = try Self.video(cluster, name: "clip", seconds: 3)
        let out = cluster.directory + "/gst.ts"
        let played = try Cluster.runTool(Self.gstreamer, [
            "-q", "rtspsrc", "location=\(cluster.rtspURL)/clip?key=\(cluster.apiKey)", "protocols=udp",
            "!", "rtpmp2tdepay", "!", "filesink", "location=\(out)",
        ])
        // At the BYE, gst-launch shuts the pipeline down: rtspsrc queues PAUSE and then CLOSE,
        // and CLOSE sometimes flushes the connection before PAUSE is written, so rtspsrc
        // reports its own PAUSE as "Received end-of-file" and gst-launch exits 1 (seen with
        // GST_DEBUG=rtspsrc:5: "connection flush busy PAUSE" precedes "sending message"). Its
        // TEARDOWN still goes out and gets 200. Any other failure counts.
        let ownShutdownRace = played.output.contains("gst_rtspsrc_pause") && played.output.contains("Received end-of-file")
        #expect(played.status == 0 || ownShutdownRace, "\(played.output)\ndirector log:\n\(cluster.director?.log.suffix(3000) ?? "")")
        #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: source))
    }

    @Test func vlcPlaysToTheEndAndExits() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.vlc) else { throw ClusterError("cvlc is not installed; .ci/run installs it") }
        let cluster = try Cluster()
        defer { cluster.stop() }
        try await cluster.start()
        let source = try Self.video(cluster, name: "clip", seconds: 3)
        // cvlc refuses to run as root: run it as nobody, with a home it may write.
        let home = cluster.directory + "/vlc-home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        chmod(cluster.directory, 0o755)
        chmod(home, 0o777)
        let played = try Cluster.runTool("/usr/bin/setpriv", [
            "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/env", "HOME=\(home)",
            "/usr/bin/timeout", "60", Self.vlc, "-I", "dummy", "--play-and-exit", "--vout=dummy", "--aout=dummy",
            cluster.rtspURL + "/clip?key=\(cluster.apiKey)",
        ])
        #expect(played.status == 0, "\(played.output.suffix(2000))")
        try await cluster.waitUntil("the stream to end") { try await cluster.links()["core-edge"]?.reservedBitsPerSecond == 0 }
        let usage = try await cluster.json([UsageRecord].self, "/v1/usage").filter { $0.kind == .play }
        #expect(usage.count == 1)
        #expect(usage.first?.bytes == Int64(try #require(FileManager.default.contents(atPath: source)).count))
    }

    @Test func ffmpegSeekStartsAtTheAskedTime() async throws {
        try requirePlayers()
        let cluster = try Cluster()
        defer { cluster.stop() }
        try await cluster.start()
        let source = try Self.video(cluster, name: "clip", seconds: 8)
        let out = cluster.directory + "/seek.ts"
        let played = try Self.ffmpegCopy(cluster, object: "clip", to: out, seekSeconds: 5)
        #expect(played.status == 0, "\(played.output)")
        let expected = try Self.frameHashes(source)
        let received = try Self.frameHashes(out)
        // The first whole frame received is the source's frame at about 5 s (25 fps, 1 s GOPs).
        let first = try #require(received.first)
        let index = try #require(expected.firstIndex(of: first), "first received frame is not a source frame")
        #expect(abs(Double(index) / 25 - 5) <= 1.1, "playback started at \(Double(index) / 25) s")
        #expect(received.count < expected.count / 2)
    }

    @Test func excessSetupsGet453AndLinksAreNeverOverbooked() async throws {
        try requirePlayers()
        // Each stream reserves 0.735 Mbit/s; 2.4 Mbit/s holds three.
        let cluster = try Cluster(coreEdge: "2400000", maxWait: "1s")
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "long", seconds: 60, bitrate: 700_000), as: "long")
        final class Maximum: Sendable { let value = Mutex<Int64>(0) }
        let maximum = Maximum()
        let poller = Task {
            while !Task.isCancelled {
                if let reserved = try? await cluster.links()["core-edge"]?.reservedBitsPerSecond { maximum.value.withLock { $0 = max($0, reserved) } }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        func player() throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.gstreamer)
            process.arguments = ["-q", "rtspsrc", "location=\(cluster.rtspURL)/long?key=\(cluster.apiKey)&maxWait=0.3", "protocols=udp", "!", "fakesink"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        let holders = try (0..<3).map { _ in try player() }
        defer { for holder in holders { holder.terminate() } }
        try await cluster.waitUntil("three streams playing") {
            try await cluster.json([LiveStream].self, "/v1/streams").filter(\.isClaimed).count == 3
        }
        // Two more while the path is full: each waits 0.3 s, then is refused with 453.
        let excess = try (0..<2).map { _ in try player() }
        for process in excess { process.waitUntilExit() }
        poller.cancel()
        #expect(excess.allSatisfy { $0.terminationStatus != 0 })
        let holdersRunning = holders.allSatisfy { $0.isRunning }
        #expect(holdersRunning)
        let peak = maximum.value.withLock { $0 }
        #expect(peak == 3 * 735_000)
        let refusals = (cluster.director?.log ?? "").components(separatedBy: "rtsp setup refused").count - 1
        #expect(refusals >= 2)
    }

    @Test func aKilledPlayerTimesOutAndItsPathIsReleased() async throws {
        try requirePlayers()
        let cluster = try Cluster(rtspSessionTimeout: "2s")
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "long", seconds: 60, bitrate: 500_000), as: "long")
        let player = Process()
        player.executableURL = URL(fileURLWithPath: Self.ffmpeg)
        player.arguments = ["-hide_banner", "-loglevel", "quiet", "-rtsp_transport", "udp", "-i", cluster.rtspURL + "/long?key=\(cluster.apiKey)", "-f", "null", "-"]
        try player.run()
        try await cluster.waitUntil("the stream to start") {
            try await cluster.json([LiveStream].self, "/v1/streams").first?.isClaimed == true
        }
        kill(player.processIdentifier, SIGKILL)
        player.waitUntilExit()
        try await cluster.waitUntil("the session to time out and the path to be released", timeout: .seconds(15)) {
            let streams = try await cluster.json([LiveStream].self, "/v1/streams")
            let reserved = try await cluster.links()["core-edge"]?.reservedBitsPerSecond
            return streams.isEmpty && reserved == 0
        }
        let usage = try await cluster.json([UsageRecord].self, "/v1/usage").filter { $0.kind == .play }
        #expect(usage.first?.endReason == .clientGone)
        #expect((usage.first?.bytes ?? 0) < 60 * 500_000 / 8 / 2)
    }

    /// GStreamer pauses when the BYE comes, and tears down after: both must succeed although
    /// the stream is over. The session lingers after its stream, then is gone.
    @Test func pauseAndTeardownAfterTheEndOfTheStreamSucceed() async throws {
        let cluster = try Cluster()
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "short", seconds: 1, bitrate: 500_000), as: "short")
        let url = cluster.rtspURL + "/short"
        func request(_ method: String, _ headers: String) throws -> String {
            let text = "\(method) \(url) RTSP/1.0\r\nCSeq: 1\r\nAuthorization: Bearer \(cluster.apiKey)\r\n\(headers)\r\n"
            return try RawTCP.exchange(url: url, bytes: Array(text.utf8), timeout: 1)
        }
        let setup = try request("SETUP", "Transport: RTP/AVP;unicast;client_port=40000-40001\r\n")
        #expect(setup.hasPrefix("RTSP/1.0 200"), "\(setup)")
        let session = try #require(RTSPConnection.sessionID(in: setup))
        #expect(try request("PLAY", "Session: \(session)\r\n").hasPrefix("RTSP/1.0 200"))
        try await cluster.waitUntil("the stream to end") {
            try await cluster.json([LiveStream].self, "/v1/streams").isEmpty
        }
        try await Task.sleep(for: .seconds(2))  // the director's RTSP sweep notices the end
        let pause = try request("PAUSE", "Session: \(session)\r\n")
        #expect(pause.hasPrefix("RTSP/1.0 200"), "\(pause)")
        let replay = try request("PLAY", "Session: \(session)\r\n")
        #expect(replay.hasPrefix("RTSP/1.0 454") && replay.contains("has ended"), "\(replay)")
        #expect(try request("TEARDOWN", "Session: \(session)\r\n").hasPrefix("RTSP/1.0 200"))
        #expect(try request("PAUSE", "Session: \(session)\r\n").hasPrefix("RTSP/1.0 454"))
        let usage = try await cluster.json([UsageRecord].self, "/v1/usage").filter { $0.kind == .play }
        #expect(usage.map(\.endReason) == [.completed])
    }

    @Test func malformedRTSPGetsClearErrorsWhileAPlayerStreamsUnaffected() async throws {
        try requirePlayers()
        let cluster = try Cluster()
        defer { cluster.stop() }
        try await cluster.start()
        let source = try Self.video(cluster, name: "clip", seconds: 4)
        let out = cluster.directory + "/ffmpeg.ts"
        let player = Task {
            try Self.ffmpegCopy(cluster, object: "clip", to: out)
        }
        let url = cluster.rtspURL.replacingOccurrences(of: "rtsp://", with: "http://")
        let corpus: [(String, String)] = [
            ("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX-Big: " + String(repeating: "a", count: 20_000) + "\r\n\r\n", "RTSP/1.0 431"),
            ("OPTIONS * RTSP/1.0\r\nUser-Agent: x\r\n\r\n", "RTSP/1.0 400"),
            ("SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: abc\r\n\r\n", "RTSP/1.0 400"),
            ("\u{0}\u{1}\u{2}\u{3}\u{ff}\u{fe} junk\r\n\r\n", "RTSP/1.0 400"),
            ("DESCRIBE rtsp://x/" + String(repeating: "a", count: 3000) + " RTSP/1.0\r\nCSeq: 1\r\n\r\n", "RTSP/1.0 414"),
            ("OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n", "RTSP/1.0 505"),
            ("DESCRIBE \(cluster.rtspURL)/clip RTSP/1.0\r\nCSeq: 1\r\n\r\n", "RTSP/1.0 401"),
            ("DESCRIBE \(cluster.rtspURL)/nothing?key=\(cluster.apiKey) RTSP/1.0\r\nCSeq: 1\r\n\r\n", "RTSP/1.0 404"),
            ("SETUP \(cluster.rtspURL)/clip?key=\(cluster.apiKey) RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n", "RTSP/1.0 461"),
            ("PLAY \(cluster.rtspURL)/clip RTSP/1.0\r\nCSeq: 1\r\nSession: nosuch\r\n\r\n", "RTSP/1.0 454"),
            ("RECORD \(cluster.rtspURL)/clip RTSP/1.0\r\nCSeq: 1\r\n\r\n", "RTSP/1.0 405"),
        ]
        for (request, expected) in corpus {
            let reply = try RawTCP.exchange(url: url, bytes: Array(request.utf8), timeout: 1)
            #expect(reply.hasPrefix(expected), "\(request.prefix(60)) -> \(reply.prefix(120))")
        }
        // One byte a second: cut off once the request has taken too long, without a reply to it.
        let slow = Task {
            try RawTCP.trickle(url: url, bytes: Array("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n".utf8), interval: .seconds(1))
        }
        let played = try await player.value
        #expect(played.status == 0, "\(played.output)")
        let expected = try Self.frameHashes(source)
        let received = try Self.frameHashes(out)
        #expect(received.count >= expected.count - 1 && Array(expected.prefix(received.count)) == received)
        let trickled = try await slow.value
        #expect(trickled.hasPrefix("RTSP/1.0 408") || trickled.isEmpty, "\(trickled.prefix(100))")
    }
}
}
