import Foundation
import SluiceMedia
import Testing

extension IntegrationTests {
/// The HLS cut of a real H.264/AAC MPEG-TS made by ffmpeg: every segment, on its own, starts
/// with the tables and a key frame that ffprobe decodes.
@Suite struct HLSSegmentingTests {
    @Test func everySegmentOfAnFFmpegClipStartsWithAKeyFrameThatDecodes() throws {
        let directory = NSTemporaryDirectory() + "sluice-hls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/clip.ts"
        // A key frame every 2 s (-g 50 at 25 fps), as the demo's sample has.
        let made = try Cluster.runTool(RTSPInteropTests.ffmpeg, [
            "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "13",
            "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "600k", "-g", "50", "-c:a", "aac", "-b:a", "64k", "-f", "mpegts", path,
        ])
        #expect(made.status == 0, "\(made.output)")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var scanner = TransportStreamScanner()
        try scanner.consume(bytes)
        let summary = try scanner.finish()
        #expect((6...7).contains(summary.keyFrames.count), "one key frame each 2 s: \(summary.keyFrames.map(\.milliseconds))")

        let playlist = HLSPlaylist(summary: summary)
        #expect(playlist.startsAtKeyFrames && (3...4).contains(playlist.segments.count), "\(playlist.segments)")
        #expect(playlist.segments.map(\.durationMilliseconds).reduce(0, +) == summary.durationMilliseconds)
        for segment in playlist.segments {
            let file = directory + "/segment\(segment.index).ts"
            try Data(bytes[Int(segment.byteOffset)..<Int(segment.byteRange.upperBound)]).write(to: URL(fileURLWithPath: file))
            let probe = try Cluster.runTool("/usr/bin/ffprobe", [
                "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=key_frame,pict_type", "-of", "csv=p=0",
                "-read_intervals", "%+#1", file,
            ])
            #expect(probe.status == 0)
            #expect(probe.output.hasPrefix("1,I"), "segment \(segment.index) starts with \(probe.output.prefix(300))")
            #expect(!probe.output.contains("non-existing PPS"), "segment \(segment.index) decodes on its own")
        }
    }
}
}
