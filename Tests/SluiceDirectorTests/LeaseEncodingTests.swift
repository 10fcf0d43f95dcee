import Foundation
import SluiceCore
@testable import SluiceStore
import Testing

/// The lease rows are written by hand and read by `JSONDecoder`: both must agree on every field.
@Suite struct LeaseEncodingTests {
    func stream(quality: ReceptionQuality?, report: Timestamp?) -> LiveStream {
        var stream = LiveStream(
            id: .max, kind: .ingest, object: "odd \"name\"\\\n", engine: "é-1", clientAddress: "2001:db8::1",
            hops: [Hop(link: "a-b", node: "b", label: 1), Hop(link: "b-edge", node: "edge", label: 0xFFFFF)],
            reservation: Reservation(engine: "é-1", links: ["a-b", "b-edge"], bitsPerSecond: 4_200_000, streamSlots: 1,
                                     bufferBytes: 1 << 20, ingestBitsPerSecond: 200_000_000, diskBytes: 1 << 40),
            admittedAt: Timestamp(millisecondsSinceEpoch: 1_795_000_000_000),
            leaseExpiry: Timestamp(millisecondsSinceEpoch: 1_795_000_060_000), bytesSent: 123_456_789, isClaimed: true)
        stream.quality = quality
        stream.lastReceiverReport = report
        return stream
    }

    @Test(arguments: [false, true])
    func handWrittenRowReadsBackAsTheSameStream(withQuality: Bool) throws {
        let original = withQuality
            ? stream(quality: ReceptionQuality(fractionLost: 0.015625, cumulativeLost: 7, jitterMilliseconds: 1.0 / 3), report: Timestamp(millisecondsSinceEpoch: 5))
            : stream(quality: nil, report: nil)
        let decoded = try JSONDecoder().decode(LiveStream.self, from: Data(original.jsonBytes))
        #expect(decoded == original)
    }

    @Test func emptyPathAndPlainValues() throws {
        var plain = stream(quality: nil, report: nil)
        plain.hops = []
        plain.reservation.links = []
        plain.kind = .play
        plain.isClaimed = false
        #expect(try JSONDecoder().decode(LiveStream.self, from: Data(plain.jsonBytes)) == plain)
    }
}
