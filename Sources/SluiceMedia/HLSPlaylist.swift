/// One segment of an HLS media playlist: a byte range of the stored MPEG-TS (nothing is copied)
/// and the stretch of time it covers.
public struct HLSSegment: Hashable, Sendable {
    public var index: Int
    public var byteOffset: Int64
    public var length: Int64
    public var startMilliseconds: Int64
    public var durationMilliseconds: Int64

    public var byteRange: Range<Int64> { byteOffset..<(byteOffset + length) }
}

/// A VoD media playlist (RFC 8216) cut from a scanned object: segments start at key frames
/// (at the PAT before each, so a segment carries its tables) and last about `target`, never
/// less than `minimum` unless the object ends; an object whose muxer marks no key frames is
/// cut at its seek points (PATs) every `target`, or by bytes when it has none. Segments are
/// contiguous, cover the whole file, and their durations add up to the object's.
public struct HLSPlaylist: Hashable, Sendable {
    public var segments: [HLSSegment]
    /// Whether every segment starts at a key frame (`EXT-X-INDEPENDENT-SEGMENTS`).
    public var startsAtKeyFrames: Bool

    public struct Cutting: Hashable, Sendable {
        public var targetMilliseconds: Int64 = 4_000
        public var minimumMilliseconds: Int64 = 2_000
        public var maximumMilliseconds: Int64 = 6_000
        public init() {}
    }

    public init(summary: TransportStreamSummary, cutting: Cutting = Cutting()) {
        let duration = max(summary.durationMilliseconds, 1)
        let size = summary.sizeBytes
        // Cut points after the start: key frames if the muxer marks them, else seek points.
        let marks = summary.keyFrames.isEmpty ? summary.seekIndex.entries : summary.keyFrames
        startsAtKeyFrames = !summary.keyFrames.isEmpty
        var starts: [SeekIndex.Entry] = [SeekIndex.Entry(milliseconds: 0, byteOffset: 0)]
        let usable = marks.filter { $0.byteOffset > 0 && $0.byteOffset < size && $0.milliseconds > 0 && $0.milliseconds < duration }
        if usable.isEmpty {
            // Nothing to cut at: by bytes, on packet boundaries, about `target` of average rate each.
            let packet = Int64(TransportStreamScanner.packetSize)
            let step = max(packet, (size * cutting.targetMilliseconds / duration) / packet * packet)
            var offset = step
            while offset < size, size - offset >= step / 2 {
                starts.append(SeekIndex.Entry(milliseconds: offset * duration / size, byteOffset: offset))
                offset += step
            }
        } else {
            var index = 0
            while index < usable.count {
                let from = starts[starts.count - 1]
                // Candidates: marks at least `minimum` after this segment's start.
                while index < usable.count, usable[index].milliseconds - from.milliseconds < cutting.minimumMilliseconds
                    || usable[index].byteOffset <= from.byteOffset {
                    index += 1
                }
                guard index < usable.count else { break }
                // The one nearest `target` within `maximum`, else the first (a long GOP).
                var best = index
                var probe = index
                while probe < usable.count, usable[probe].milliseconds - from.milliseconds <= cutting.maximumMilliseconds {
                    if abs(usable[probe].milliseconds - from.milliseconds - cutting.targetMilliseconds)
                        < abs(usable[best].milliseconds - from.milliseconds - cutting.targetMilliseconds) {
                        best = probe
                    }
                    probe += 1
                }
                // A last segment shorter than `minimum` joins the one before it.
                if duration - usable[best].milliseconds < cutting.minimumMilliseconds { break }
                starts.append(usable[best])
                index = best + 1
            }
        }
        segments = starts.indices.map { i in
            let next = i + 1 < starts.count ? starts[i + 1] : SeekIndex.Entry(milliseconds: duration, byteOffset: size)
            return HLSSegment(
                index: i, byteOffset: starts[i].byteOffset, length: next.byteOffset - starts[i].byteOffset,
                startMilliseconds: starts[i].milliseconds, durationMilliseconds: next.milliseconds - starts[i].milliseconds)
        }
    }

    /// The longest segment, rounded up to whole seconds (`EXT-X-TARGETDURATION`).
    public var targetDurationSeconds: Int64 {
        ((segments.map(\.durationMilliseconds).max() ?? 0) + 999) / 1000
    }

    /// The segment that holds `milliseconds` (the last one past the end).
    public func segment(at milliseconds: Int64) -> HLSSegment? {
        segments.last { $0.startMilliseconds <= milliseconds } ?? segments.first
    }

    /// The playlist's text. `uri` names each segment; with `byteRanges` every segment also
    /// carries `EXT-X-BYTERANGE` (then `uri` may name the whole object for each).
    public func render(byteRanges: Bool = false, uri: (HLSSegment) -> String) -> String {
        var lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:\(byteRanges ? 4 : 3)",
            "#EXT-X-TARGETDURATION:\(targetDurationSeconds)",
            "#EXT-X-MEDIA-SEQUENCE:0",
            "#EXT-X-PLAYLIST-TYPE:VOD",
        ]
        if startsAtKeyFrames { lines.append("#EXT-X-INDEPENDENT-SEGMENTS") }
        for segment in segments {
            let seconds = Double(segment.durationMilliseconds) / 1000
            lines.append("#EXTINF:\(Self.decimal(seconds)),")
            if byteRanges { lines.append("#EXT-X-BYTERANGE:\(segment.length)@\(segment.byteOffset)") }
            lines.append(uri(segment))
        }
        lines.append("#EXT-X-ENDLIST")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Three decimals, no exponent: `4.000`.
    static func decimal(_ value: Double) -> String {
        let thousandths = Int64((value * 1000).rounded())
        let fraction = String(thousandths % 1000)
        return "\(thousandths / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}
