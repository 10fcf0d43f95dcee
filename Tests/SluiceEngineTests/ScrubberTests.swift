import Foundation
import Logging
import SluiceCore
@testable import SluiceEngine
import Testing

@Suite(.timeLimit(.minutes(1))) struct ScrubberTests {
    @Test func theReadCapWaitsOnlyWhenTheReaderIsAheadOfItsRate() {
        var cap = ReadRateCap(bitsPerSecond: 8_000_000)  // 1,000,000 bytes/s
        #expect(cap.read(250_000, elapsed: .zero) == .milliseconds(250))
        #expect(cap.read(250_000, elapsed: .milliseconds(250)) == .milliseconds(250), "half a second of reading is due at 0.5 s")
        #expect(cap.read(500_000, elapsed: .seconds(2)) == .zero, "a reader behind its rate reads on at once")
        #expect(cap.bytes == 1_000_000)
    }

    /// An object stored as an engine stores it (the file and its metadata), then the store opened.
    static func store(_ contents: [String: Data]) async throws -> ObjectStore {
        let root = NSTemporaryDirectory() + "sluice-scrub-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root + "/objects", withIntermediateDirectories: true)
        for (name, data) in contents {
            let path = root + "/objects/" + name
            try data.write(to: URL(fileURLWithPath: path))
            let object = MediaObject(
                name: name, sizeBytes: Int64(data.count), durationMilliseconds: 1000, averageBitsPerSecond: 1_000_000,
                sha256: try #require(ObjectStore.sha256(ofFile: path)))
            try JSONEncoder().encode(object).write(to: URL(fileURLWithPath: path + ".json"))
        }
        let store = ObjectStore(root: root, logger: Logger(label: "test"))
        try await store.open()
        return store
    }

    @Test func aReplicaThatRotsIsFoundAndQuarantinedAndAnIntactOneIsLeftAlone() async throws {
        let bytes = Data((0..<700_000).map { UInt8($0 % 251) })
        let store = try await Self.store(["good": bytes, "rots": bytes, "deleted": bytes])
        let root = await store.root
        defer { try? FileManager.default.removeItem(atPath: root) }
        let scrubber = Scrubber(
            engine: "engine-a", objects: store, director: DirectorLink(baseURL: "http://127.0.0.1:9", token: "t"),
            bitsPerSecond: 400_000_000, interval: .seconds(60), metrics: EngineMetrics(engine: "engine-a"), logger: Logger(label: "test"))
        let good = try #require(await store.object(named: "good"))
        let rots = try #require(await store.object(named: "rots"))
        let deleted = try #require(await store.object(named: "deleted"))

        // One byte flipped in the middle, size unchanged (what bit rot looks like).
        let handle = try #require(FileHandle(forUpdatingAtPath: store.path(of: "rots")))
        try handle.seek(toOffset: 350_000)
        try handle.write(contentsOf: Data([bytes[350_000] ^ 0xFF]))
        try handle.close()
        await store.remove("deleted")

        #expect(await scrubber.verify(good) == .intact(bytes: 700_000))
        guard case .corrupt(let reason) = await scrubber.verify(rots) else { Issue.record("rot not found"); return }
        #expect(reason.contains("SHA-256"))
        #expect(await scrubber.verify(deleted) == .gone)

        // A pass quarantines it (its report fails: no director listens on port 9) and keeps the rest.
        #expect(await scrubber.pass())
        #expect(await store.object(named: "rots") == nil)
        #expect(await store.object(named: "good") == good)
        #expect(FileManager.default.fileExists(atPath: await store.root + "/quarantine/rots"))
        #expect(!FileManager.default.fileExists(atPath: store.path(of: "rots")))
    }
}
