import Foundation
import SluiceCore
import SluiceTestKit
import Testing

/// An engine writes its renewal batches by hand; the director reads them with `JSONDecoder`.
/// Whatever the items hold, what the director reads is what `JSONEncoder` would have sent.
@Suite(.timeLimit(.minutes(1))) struct RenewalsEncodingTests {
    func canonical(_ renewals: ClusterMessages.Renewals) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(renewals), as: UTF8.self)
    }

    @Test func randomBatchesReadBackAsSent() throws {
        var generator = SeededGenerator(seed: 22)
        for _ in 0..<200 {
            let items = (0..<Int.random(in: 0...20, using: &generator)).map { _ -> ClusterMessages.Renewals.Item in
                let quality = Bool.random(using: &generator) ? nil : ReceptionQuality(
                    fractionLost: Double.random(in: 0...1, using: &generator), cumulativeLost: Int64.random(in: -8_388_608...8_388_607, using: &generator),
                    jitterMilliseconds: Double.random(in: 0...10_000, using: &generator))
                let position = Bool.random(using: &generator) ? nil : RTPPosition(
                    milliseconds: Int64.random(in: 0...Int64.max, using: &generator), sequence: UInt16.random(in: 0...UInt16.max, using: &generator),
                    rtpTime: UInt32.random(in: 0...UInt32.max, using: &generator), isPlaying: Bool.random(using: &generator),
                    packetsPerSecond: Int.random(in: 0...100_000, using: &generator))
                return .init(streamID: UInt32.random(in: 0...UInt32.max, using: &generator), renewal: .init(
                    bytesSent: Int64.random(in: 0...Int64.max, using: &generator), quality: quality,
                    receiverReportAgeMilliseconds: Bool.random(using: &generator) ? nil : Int64.random(in: 0...86_400_000, using: &generator),
                    position: position))
            }
            let renewals = ClusterMessages.Renewals(items: items)
            let read = try JSONDecoder().decode(ClusterMessages.Renewals.self, from: Data(renewals.jsonBytes))
            #expect(try canonical(read) == canonical(renewals))
        }
    }

    @Test func anEmptyBatchAndOddNumbers() throws {
        let empty = ClusterMessages.Renewals(items: [])
        #expect(String(decoding: empty.jsonBytes, as: UTF8.self) == #"{"items":[]}"#)
        let odd = ClusterMessages.Renewals(items: [.init(streamID: 7, renewal: .init(
            bytesSent: 0, quality: ReceptionQuality(fractionLost: 1.0 / 3, cumulativeLost: -1, jitterMilliseconds: 5e-324)))])
        let read = try JSONDecoder().decode(ClusterMessages.Renewals.self, from: Data(odd.jsonBytes))
        #expect(read.items.first?.renewal.quality == odd.items.first?.renewal.quality)
    }
}
