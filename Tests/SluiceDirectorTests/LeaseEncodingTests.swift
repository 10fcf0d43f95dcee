import Foundation
import Logging
import SluiceCore
@testable import SluiceStore
import Testing

/// The lease rows are written by hand and read by `JSONDecoder`: both must agree on every field.
@Suite(.timeLimit(.minutes(1))) struct LeaseEncodingTests {
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
        if quality != nil {
            stream.user = "vera \"v\""
            stream.keyID = "0123456789ab"
        }
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

/// Lease rows written by many callers at once land in grouped statements; what is read back
/// after a reopen is exactly what was saved and not deleted, with the last body saved.
@Suite(.timeLimit(.minutes(1))) struct LeaseRowWriterTests {
    @Test func concurrentSavesAndDeletesReadBackExactly() async throws {
        let directory = NSTemporaryDirectory() + "sluice-leases-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLiteStore.open(directory: directory, logger: Logger(label: "test"))
        func stream(_ id: UInt32, bytes: Int64) -> LiveStream {
            LiveStream(
                id: id, kind: .play, object: "o\(id % 7)", engine: "e", clientAddress: "10.0.0.1",
                hops: [Hop(link: "e-x", node: "x", label: id)], reservation: Reservation(engine: "e", links: ["e-x"], bitsPerSecond: 1),
                admittedAt: Timestamp(millisecondsSinceEpoch: 0), leaseExpiry: Timestamp(millisecondsSinceEpoch: Int64(id)), bytesSent: bytes)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in 1...600 as ClosedRange<UInt32> { group.addTask { try await store.save(stream: stream(id, bytes: 1)) } }
            try await group.waitForAll()
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in 1...600 as ClosedRange<UInt32> {
                group.addTask {
                    if id % 2 == 0 { try await store.deleteStream(id: id) } else { try await store.save(stream: stream(id, bytes: 2)) }
                }
            }
            try await group.waitForAll()
        }
        try await store.close()

        let reopened = try await SQLiteStore.open(directory: directory, logger: Logger(label: "test"))
        let streams = try await reopened.load().streams
        try await reopened.close()
        let expected = Set((1...600 as ClosedRange<UInt32>).filter { $0 % 2 == 1 })
        #expect(Set(streams.map(\.id)) == expected)
        #expect(streams.allSatisfy { $0 == stream($0.id, bytes: 2) })
    }

    /// The writing connection never checkpoints (a commit that did waited for the copy, and
    /// every admission behind it); the checkpointer's connection does, while the store is open:
    /// the database file itself grows, not only its log.
    @Test func theLogReachesTheDatabaseFileWhileTheStoreIsOpen() async throws {
        let directory = NSTemporaryDirectory() + "sluice-checkpoint-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLiteStore.open(directory: directory, checkpointInterval: .milliseconds(50), logger: Logger(label: "test"))
        let file = directory + "/sluice.sqlite"
        func size(_ path: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }
        let before = size(file)
        for id in 1...500 as ClosedRange<UInt32> {
            try await store.save(stream: LiveStream(
                id: id, kind: .play, object: "object-\(id)", engine: "e", clientAddress: "10.0.0.1",
                hops: [Hop(link: "e-x", node: "x", label: id)], reservation: Reservation(engine: "e", links: ["e-x"], bitsPerSecond: 1),
                admittedAt: Timestamp(millisecondsSinceEpoch: 0), leaseExpiry: Timestamp(millisecondsSinceEpoch: Int64(id))))
        }
        #expect(size(file + "-wal") > 100_000)
        let deadline = ContinuousClock.now + .seconds(10)
        while size(file) < before + 100_000, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(size(file) >= before + 100_000, "the rows never left the log: nothing checkpoints")
        try await store.close()
    }
}
