import Foundation
import Logging
import SluiceCore
import SluiceStore
import SluiceTestKit
import Testing

extension PostgresSuites {
/// What the usage webhook reads: records in write order after a position, and a saved
/// position that survives reopening the store. Same behaviour from SQLite and PostgreSQL.
@Suite struct UsageDeliveryStoreTests {
    static func record(_ id: UInt32) -> UsageRecord {
        let stream = LiveStream(
            id: id, kind: .play, object: "movie", engine: "e", clientAddress: "10.0.0.1", hops: [],
            reservation: Reservation(engine: "e", links: [], bitsPerSecond: 1_000_000),
            admittedAt: Timestamp(millisecondsSinceEpoch: 1_000), leaseExpiry: Timestamp(millisecondsSinceEpoch: 9_000))
        return UsageRecord(stream: stream, endedAt: Timestamp(millisecondsSinceEpoch: 5_000), bytes: 100, endReason: .completed)
    }

    func exercise(_ open: () async throws -> any SluiceStore) async throws {
        var store = try await open()
        for id in 1...5 as ClosedRange<UInt32> { try await store.append(usage: Self.record(id)) }
        #expect(try await store.deliveryCursor("webhook") == 0)
        let all = try await store.usage(afterSequence: 0, limit: 100)
        #expect(all.map(\.record.streamID) == [1, 2, 3, 4, 5])
        let third = all[2].sequence
        try await store.saveDeliveryCursor("webhook", third)
        try await store.close()
        store = try await open()
        let position = try await store.deliveryCursor("webhook")
        #expect(position == third)
        let rest = try await store.usage(afterSequence: position, limit: 1)
        #expect(rest.map(\.record.streamID) == [4], "after the saved position, in order, at most `limit`")
        #expect(try await store.deliveryCursor("other") == 0)
        try await store.close()
    }

    @Test func sqlite() async throws {
        let directory = NSTemporaryDirectory() + "sluice-delivery-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await exercise { try await SQLiteStore.open(directory: directory, logger: Logger(label: "test")) }
    }

    @Test func postgres() async throws {
        let server = try TemporaryPostgres.start()
        defer { server.stop() }
        let url = try server.createDatabase("delivery")
        try await exercise { try await PostgresStore.open(url: url, directorID: "d", logger: Logger(label: "test")) }
        // Two directors saving positions: the furthest one stays.
        let store = try await PostgresStore.open(url: url, directorID: "d2", logger: Logger(label: "test"))
        try await store.saveDeliveryCursor("webhook", 1)
        #expect(try await store.deliveryCursor("webhook") >= 3)
        try await store.close()
    }
}
}
