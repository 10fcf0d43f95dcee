import Foundation
import PropertyBased
import SluiceCore
import Testing

/// Times in the API, the store and the cluster's messages are RFC 3339 text.
@Suite struct TimestampTests {
    @Test func writesRFC3339InUTCWithMilliseconds() {
        #expect(Timestamp(millisecondsSinceEpoch: 0).rfc3339 == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(millisecondsSinceEpoch: 1_796_212_030_123).rfc3339 == "2026-12-02T11:47:10.123Z")
        #expect(Timestamp(millisecondsSinceEpoch: 951_782_400_000).rfc3339 == "2000-02-29T00:00:00.000Z")
        #expect(Timestamp(millisecondsSinceEpoch: -1).rfc3339 == "1969-12-31T23:59:59.999Z")
    }

    @Test func readsEveryRFC3339FormAndRefusesTheRest() {
        #expect(Timestamp(rfc3339: "2026-12-02T11:47:10Z")?.millisecondsSinceEpoch == 1_796_212_030_000)
        #expect(Timestamp(rfc3339: "2026-12-02T12:47:10.5+01:00")?.millisecondsSinceEpoch == 1_796_212_030_500)
        #expect(Timestamp(rfc3339: "2026-12-02 11:47:10.123456789z")?.millisecondsSinceEpoch == 1_796_212_030_123)
        for bad in ["2026-13-02T11:47:10Z", "2026-02-30T11:47:10Z", "2026-12-02T24:00:00Z", "2026-12-02T11:47:10", "2026-12-02T11:47:10.Z",
                    "2026-12-02T11:47:10.1234567891Z", "2026-12-02T11:47:10+0100", "2026-12-02T11:47:10Zjunk", "yesterday", ""] {
            #expect(Timestamp(rfc3339: bad) == nil, "\(bad)")
        }
    }

    @Test func roundTripsAndAgreesWithFoundation() async {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        await propertyCheck(count: 500, input: Gen.int(in: -2_208_988_800_000...253_402_300_799_999)) { milliseconds in
            let timestamp = Timestamp(millisecondsSinceEpoch: Int64(milliseconds))
            #expect(Timestamp(rfc3339: timestamp.rfc3339) == timestamp)
            #expect(timestamp.rfc3339 == formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000)))
        }
    }

    @Test func decodesWhatEarlierVersionsWrote() throws {
        struct Box: Codable, Equatable { var at: Timestamp }
        let legacy = try JSONDecoder().decode(Box.self, from: Data(#"{"at":{"millisecondsSinceEpoch":1796212030123}}"#.utf8))
        let integer = try JSONDecoder().decode(Box.self, from: Data(#"{"at":1796212030123}"#.utf8))
        let text = try JSONDecoder().decode(Box.self, from: Data(#"{"at":"2026-12-02T11:47:10.123Z"}"#.utf8))
        #expect(legacy == text && integer == text && text.at.millisecondsSinceEpoch == 1_796_212_030_123)
        #expect(String(decoding: try JSONEncoder().encode(text), as: UTF8.self) == #"{"at":"2026-12-02T11:47:10.123Z"}"#)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Box.self, from: Data(#"{"at":"soon"}"#.utf8)) }
        // Past year 9999 ("never"): integer milliseconds, still a round trip.
        let never = Box(at: Timestamp(millisecondsSinceEpoch: Int64.max / 2))
        #expect(try JSONDecoder().decode(Box.self, from: JSONEncoder().encode(never)) == never)
    }
}
