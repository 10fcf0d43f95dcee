import SluiceConfig
import SluiceMedia

/// What each fuzz target (Fuzz/) does with one input, shared with the unit test that replays
/// the seed corpus and every input that once crashed (Fuzz/Regressions). A broken invariant
/// stops the process: libFuzzer records the input that did it.
public enum FuzzHarness {
    /// RTSP requests arriving in two pieces (split where the first byte says), pipelined requests
    /// taken out until the parser wants more or refuses; then the header values the director reads.
    public static func rtsp(_ bytes: [UInt8]) {
        let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        var parser = RTSPRequestParser()
        for piece in [bytes[..<split], bytes[split...]] {
            parser.append(piece)
            while true {
                do {
                    guard let request = try parser.nextRequest() else { break }
                    precondition(request.uri.utf8.count <= parser.limits.maxURILength, "URI over the limit")
                    precondition(request.body.count <= parser.limits.maxBodyBytes, "body over the limit")
                    for offer in RTSPTransport.parse(request.headers["Transport"] ?? "") { _ = offer.isUDP }
                    if let start = NormalPlayTime.start(request.headers["Range"]) {
                        precondition(start.isFinite && start >= 0 && start <= NormalPlayTime.maxSeconds)
                        _ = Int64(start * 1000)
                    }
                } catch {
                    _ = error.status
                    break
                }
            }
            precondition(parser.pendingByteCount <= parser.limits.maxHeaderBytes + parser.limits.maxBodyBytes + 65_536, "parser buffers without bound")
        }
        var responses = RTSPResponseParser()
        responses.append(bytes)
        while let response = try? responses.nextResponse() { _ = response.status }
    }

    /// `Range` headers against object lengths from empty to huge: every range the parser accepts
    /// lies inside the object.
    public static func range(_ bytes: [UInt8]) {
        let header = String(decoding: bytes, as: UTF8.self)
        for length: Int64 in [0, 1, 188, 1_000_000, Int64.max / 2, Int64.max] {
            do {
                guard let range = try ByteRange.parse(header, length: length) else { continue }
                precondition(range.first >= 0 && range.first <= range.last && range.last < length, "range \(range) outside 0..<\(length)")
                _ = range.contentRange(length: length)
            } catch {
                _ = error.httpStatus
            }
        }
    }

    /// Arbitrary bytes through the MPEG-TS scanner in uneven chunks, then the seek index.
    public static func transportStream(_ bytes: [UInt8]) {
        var scanner = TransportStreamScanner(minimumSeekSpacingMilliseconds: 0, maxSeekEntries: 64)
        var offset = 0
        var step = 1
        do {
            while offset < bytes.count {
                let end = min(bytes.count, offset + step)
                try scanner.consume(bytes[offset..<end])
                offset = end
                step = step * 3 % 1000 + 1
            }
            let summary = try scanner.finish()
            precondition(summary.durationMilliseconds >= 0 && summary.averageBitsPerSecond >= 0, "negative timing")
            for milliseconds: Int64 in [-1, 0, 500, summary.durationMilliseconds, Int64.max] {
                let position = summary.seekIndex.byteOffset(forMilliseconds: milliseconds)
                precondition(position >= 0 && position <= Int64(bytes.count), "seek outside the file")
            }
        } catch {
            _ = error.message
        }
    }

    /// Arbitrary datagrams as RTCP compound packets (receiver reports from players).
    public static func rtcp(_ bytes: [UInt8]) {
        if let parsed = RTCP.parse(bytes[...]) {
            precondition(parsed.reports.count <= bytes.count / 24 + 1, "more report blocks than bytes allow")
        }
        if bytes.count > 1 { _ = RTCP.parse(bytes[1...]) }
    }

    /// Arbitrary text as the YAML configuration: a clear error or a valid configuration, never a crash.
    public static func configuration(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        do {
            let configuration = try Configuration.parse(yaml: text)
            precondition(!configuration.topology.nodes.isEmpty && configuration.grantSecret.utf8.count >= 16)
        } catch {
            _ = "\(error)"
        }
    }
}
