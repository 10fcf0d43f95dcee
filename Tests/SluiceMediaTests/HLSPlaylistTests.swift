import SluiceMedia
import Testing

/// HLS playlists cut from the scanner's index: segments start on key frames (at the PAT before
/// each), are contiguous, cover the file, and their durations add up to the object's.
@Suite(.timeLimit(.minutes(1))) struct HLSPlaylistTests {
    func scan(_ bytes: [UInt8]) throws -> TransportStreamSummary {
        var scanner = TransportStreamScanner()
        try scanner.consume(bytes)
        return try scanner.finish()
    }

    /// What every playlist must hold, whatever the object.
    func checkInvariants(_ playlist: HLSPlaylist, _ summary: TransportStreamSummary, _ stream: [UInt8]) {
        #expect(!playlist.segments.isEmpty)
        #expect(playlist.segments.first?.byteOffset == 0)
        #expect(playlist.segments.map(\.durationMilliseconds).reduce(0, +) == summary.durationMilliseconds)
        #expect(playlist.segments.map(\.length).reduce(0, +) == summary.sizeBytes)
        for (segment, next) in zip(playlist.segments, playlist.segments.dropFirst()) {
            #expect(segment.byteRange.upperBound == next.byteOffset, "contiguous")
            #expect(next.startMilliseconds == segment.startMilliseconds + segment.durationMilliseconds)
        }
        for segment in playlist.segments {
            #expect(segment.length > 0 && segment.durationMilliseconds > 0)
            #expect(segment.byteOffset % 188 == 0 && stream[Int(segment.byteOffset)] == 0x47, "a segment starts on a packet")
        }
        #expect(playlist.targetDurationSeconds * 1000 >= playlist.segments.map(\.durationMilliseconds).max() ?? 0)
    }

    @Test(arguments: [500, 1_000, 2_000, 3_000, 5_000] as [Int64])
    func segmentsStartAtKeyFramesAndAddUpToTheObject(gop: Int64) throws {
        let stream = SyntheticTransportStream.make(durationMilliseconds: 30_000, bitsPerSecond: 1_000_000, keyFrameEvery: gop)
        let summary = try scan(stream)
        #expect(summary.keyFrames.count >= Int(30_000 / gop) - 1)
        let playlist = HLSPlaylist(summary: summary)
        checkInvariants(playlist, summary, stream)
        #expect(playlist.startsAtKeyFrames)
        let starts = Set(summary.keyFrames.map(\.byteOffset))
        for segment in playlist.segments.dropFirst() {
            #expect(starts.contains(segment.byteOffset), "segment \(segment.index) starts at a key frame's PAT")
            // The PAT the segment starts with: the tables come first.
            #expect(stream[Int(segment.byteOffset) + 1] & 0x1f == 0 && stream[Int(segment.byteOffset) + 2] == 0)
        }
        // Between 2 and 6 s each (a GOP longer than 6 s would make a longer one), the last one
        // possibly up to 2 s longer (a short tail joins it).
        for segment in playlist.segments.dropLast() {
            #expect(segment.durationMilliseconds >= 2_000 - 50 && segment.durationMilliseconds <= max(6_000, gop) + 50, "\(segment)")
        }
    }

    @Test func objectsWithoutKeyFrameMarksAreCutAtTheirSeekPoints() throws {
        let stream = SyntheticTransportStream.make(durationMilliseconds: 20_000, bitsPerSecond: 2_000_000)
        let summary = try scan(stream)
        #expect(summary.keyFrames.isEmpty)
        let playlist = HLSPlaylist(summary: summary)
        checkInvariants(playlist, summary, stream)
        #expect(!playlist.startsAtKeyFrames)
        #expect((4...6).contains(playlist.segments.count), "about 4 s each: \(playlist.segments.map(\.durationMilliseconds))")
    }

    @Test func aShortObjectIsOneSegment() throws {
        let stream = SyntheticTransportStream.make(durationMilliseconds: 1_500, bitsPerSecond: 1_000_000, keyFrameEvery: 500)
        let summary = try scan(stream)
        let playlist = HLSPlaylist(summary: summary)
        checkInvariants(playlist, summary, stream)
        #expect(playlist.segments.count == 1)
    }

    @Test func theSegmentOfATimeIsTheOneThatHoldsIt() throws {
        let summary = try scan(SyntheticTransportStream.make(durationMilliseconds: 30_000, bitsPerSecond: 1_000_000, keyFrameEvery: 2_000))
        let playlist = HLSPlaylist(summary: summary)
        for time in [0, 1, 3_999, 4_000, 17_500, 29_999, 60_000] as [Int64] {
            let segment = try #require(playlist.segment(at: time))
            #expect(segment.startMilliseconds <= time)
            #expect(time < segment.startMilliseconds + segment.durationMilliseconds || segment.index == playlist.segments.count - 1)
        }
    }

    @Test func theTextIsAVoDMediaPlaylist() throws {
        let summary = try scan(SyntheticTransportStream.make(durationMilliseconds: 10_000, bitsPerSecond: 1_000_000, keyFrameEvery: 2_000))
        let playlist = HLSPlaylist(summary: summary)
        let text = playlist.render { "seg/\($0.index).ts?grant=G" }
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.first == "#EXTM3U" && lines.last == "#EXT-X-ENDLIST" && text.hasSuffix("\n"))
        #expect(lines.contains("#EXT-X-PLAYLIST-TYPE:VOD") && lines.contains("#EXT-X-INDEPENDENT-SEGMENTS"))
        #expect(lines.contains("#EXT-X-TARGETDURATION:\(playlist.targetDurationSeconds)"))
        #expect(lines.filter { $0.hasPrefix("#EXTINF:") }.count == playlist.segments.count)
        #expect(lines.contains("seg/0.ts?grant=G") && !text.contains("BYTERANGE"))
        let first = playlist.segments[0]
        #expect(lines.contains("#EXTINF:\(String(format: "%.3f", Double(first.durationMilliseconds) / 1000)),"))
        let ranged = playlist.render(byteRanges: true) { _ in "object.ts" }
        #expect(ranged.contains("#EXT-X-VERSION:4") && ranged.contains("#EXT-X-BYTERANGE:\(first.length)@0"))
    }
}
