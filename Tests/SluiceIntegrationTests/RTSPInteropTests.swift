import Foundation
import SluiceCore
import Synchronization
import Testing

/// Real players against a real director and two real engines: RTSP to the director, RTP
/// straight from the engine.
@Suite(.serialized) struct RTSPInteropTests {
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
        let played = try Cluster.runTool(Self.ffmpeg, [
            "-hide_banner", "-loglevel", "error", "-timeout", "10000000", "-rtsp_transport", "udp",
            "-i", cluster.rtspURL + "/clip?key=\(cluster.apiKey)", "-c", "copy", "-f", "mpegts", out,
        ])
        #expect(played.status == 0, "\(played.output)")
        let expected = try Self.frameHashes(source)
        let received = try Self.frameHashes(out)
        #expect(expected.count == 100)
        // ffmpeg's RTP/MPEG-TS demuxer does not flush the PES still open at BYE, so the very
        // last frame may be missing; every frame it has must be the source's, in order.
        #expect(received.count >= expected.count - 1, "received \(received.count) of \(expected.count) frames")
        #expect(Array(expected.prefix(received.count)) == received)
        try await cluster.waitUntil("the path to be released") { try await cluster.links()["core-edge"]?.reserved_bps == 0 }
        let usage = try await cluster.json([UsageRecord].self, "/v1/usage").filter { $0.kind == .play }
        #expect(usage.count == 1)
        #expect(usage.first?.bytes == Int64(try #require(FileManager.default.contents(atPath: source)).count))
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
        #expect(played.status == 0, "\(played.output)")
        #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: source))
    }
}
