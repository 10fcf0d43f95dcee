import SluiceMedia
import Testing

@Suite(.timeLimit(.minutes(1))) struct TransportStreamScannerTests {
    func scan(_ bytes: [UInt8], chunk: Int = 4096) throws -> TransportStreamSummary {
        var scanner = TransportStreamScanner()
        var index = 0
        while index < bytes.count {
            let end = min(bytes.count, index + chunk)
            try scanner.consume(bytes[index..<end])
            index = end
        }
        return try scanner.finish()
    }

    @Test(arguments: [1, 187, 188, 189, 5000])
    func measuresDurationAndBitrateInAnyChunking(chunk: Int) throws {
        let stream = SyntheticTransportStream.make(durationMilliseconds: 4_000, bitsPerSecond: 1_000_000)
        let summary = try scan(stream, chunk: chunk)
        #expect(summary.sizeBytes == Int64(stream.count))
        #expect(abs(summary.averageBitsPerSecond - 1_000_000) < 2_000)
        #expect(abs(summary.durationMilliseconds - 4_000) <= 40)
        #expect(summary.pcrPID == 0x100)
    }

    @Test func seekIndexPointsAtPATPacketsAtOrBeforeTheTime() throws {
        let stream = SyntheticTransportStream.make(durationMilliseconds: 10_000, bitsPerSecond: 500_000)
        let index = try scan(stream).seekIndex
        #expect(index.entries.count >= 15)
        #expect(index.byteOffset(forMilliseconds: 0) == 0)
        for seconds in [1, 3, 7] as [Int64] {
            let offset = index.byteOffset(forMilliseconds: seconds * 1000)
            #expect(offset % 188 == 0)
            #expect(stream[Int(offset)] == 0x47)
            #expect(stream[Int(offset) + 1] & 0x1f == 0 && stream[Int(offset) + 2] == 0)  // PID 0: a PAT
            // At or before the time: the entry's bytes sit no later than the time at this rate.
            #expect(offset * 8 * 1000 / 500_000 <= seconds * 1000 + 100)
        }
        #expect(index.byteOffset(forMilliseconds: 10_000_000) == index.entries.last?.byteOffset)
    }

    @Test func rejectsLostSync() {
        var stream = SyntheticTransportStream.make(durationMilliseconds: 1_000, bitsPerSecond: 500_000)
        stream[188 * 3] = 0x00
        #expect { try scan(stream) } throws: { ($0 as? TransportStreamError)?.code == .lostSync && ($0 as? TransportStreamError)?.byteOffset == 564 }
    }

    @Test func rejectsATruncatedLastPacket() {
        let stream = SyntheticTransportStream.make(durationMilliseconds: 1_000, bitsPerSecond: 500_000)
        #expect { try scan(Array(stream.dropLast(10))) } throws: { ($0 as? TransportStreamError)?.code == .truncatedPacket }
    }

    @Test func rejectsAnAdaptationFieldLongerThanThePacket() {
        var packet = [UInt8](repeating: 0xff, count: 188)
        packet[0] = 0x47
        packet[1] = 0x01
        packet[2] = 0x00
        packet[3] = 0x30
        packet[4] = 184
        #expect { try scan(packet) } throws: { ($0 as? TransportStreamError)?.code == .badAdaptationField }
    }

    @Test func rejectsStreamsWithoutTimingAndEmptyInput() {
        var packet = [UInt8](repeating: 0xff, count: 188)
        packet[0] = 0x47
        packet[3] = 0x10
        #expect { try scan(packet + packet) } throws: { ($0 as? TransportStreamError)?.code == .noTiming }
        #expect { try scan([]) } throws: { ($0 as? TransportStreamError)?.code == .empty }
    }

    @Test func neverCrashesOnRandomBytes() {
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 187, 188, 376, 1000, 18_800] {
            for _ in 0..<20 {
                var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                // Keep sync bytes so the parser gets past the first check and into the fields.
                for offset in stride(from: 0, to: length, by: 188) { bytes[offset] = 0x47 }
                _ = try? scan(bytes, chunk: 100)
            }
        }
    }

    @Test func crcMatchesTheMPEGCheckValue() {
        #expect(MPEGCRC32.checksum(Array("123456789".utf8)) == 0x0376_E6E7)
    }
}

@Suite(.timeLimit(.minutes(1))) struct ByteRangeTests {
    @Test(arguments: [
        ("bytes=0-99", 0, 99), ("bytes=100-", 100, 999), ("bytes=-100", 900, 999), ("bytes=990-5000", 990, 999),
        ("bytes=-5000", 0, 999), (" bytes=5-5 ", 5, 5),
    ] as [(String, Int64, Int64)])
    func parsesSingleRanges(header: String, first: Int64, last: Int64) throws {
        let range = try #require(try ByteRange.parse(header, length: 1000))
        #expect(range == ByteRange(first: first, last: last))
    }

    @Test func noHeaderMeansTheWholeObject() throws {
        #expect(try ByteRange.parse(nil, length: 1000) == nil)
    }

    @Test(arguments: [
        ("bytes=1000-", ByteRangeError.Code.unsatisfiable), ("bytes=5000-6000", .unsatisfiable), ("bytes=-0", .unsatisfiable),
        ("bytes=0-1,5-6", .multipleRanges), ("items=0-1", .malformed), ("bytes=abc", .malformed), ("bytes=5-1", .malformed),
        ("bytes=--1", .malformed), ("bytes=99999999999999999999-", .malformed), ("bytes=", .malformed),
        (String(repeating: "bytes=0-1", count: 40), .malformed),
    ] as [(String, ByteRangeError.Code)])
    func rejectsBadRanges(header: String, code: ByteRangeError.Code) {
        #expect { try ByteRange.parse(header, length: 1000) } throws: { ($0 as? ByteRangeError)?.code == code }
    }

    @Test func unsatisfiableMapsTo416AndSyntaxTo400() {
        #expect(ByteRangeError(.unsatisfiable, "").httpStatus == 416)
        #expect(ByteRangeError(.malformed, "").httpStatus == 400)
        #expect(ByteRange(first: 10, last: 19).contentRange(length: 100) == "bytes 10-19/100")
    }
}
