import Crypto
import Foundation
import SluiceCore
import Testing

extension IntegrationTests {
/// Usage records reach the billing webhook at least once, even across its downtime.
@Suite struct UsageWebhookTests {
    struct Batch: Decodable {
        struct Item: Decodable { var sequence: Int64; var record: UsageRecord }
        var records: [Item]
    }

    @Test func everyRecordArrivesAfterTheReceiverComesBack() async throws {
        let port = try await WebhookReceiver.freePort()
        let cluster = try Cluster(engineNames: ["engine-a"], directorSettings: "usageWebhook: http://127.0.0.1:\(port)/usage")
        defer { cluster.stop() }
        try await cluster.start()
        // The receiver is down: an upload and three plays make four records meanwhile.
        try cluster.put(try cluster.makeSample(name: "clip", seconds: 1, bitrate: 500_000), as: "clip")
        for _ in 0..<3 {
            let reply = try await cluster.get("/play/clip")
            let location = try #require(reply.headers.first { $0.0.lowercased() == "location" }?.1)
            _ = try await cluster.get("", headers: [], base: location)
        }
        try await cluster.waitUntil("four usage records") { try await cluster.json([UsageRecord].self, "/v1/usage").count == 4 }
        try await cluster.waitUntil("the director to notice the receiver is down") {
            cluster.director?.log.contains("usage webhook failed") == true
        }

        // Back, but failing its first two requests.
        let receiver = try await WebhookReceiver(port: port, failing: 2)
        defer { receiver.stop() }
        try await cluster.waitUntil("the four records delivered", timeout: .seconds(30)) {
            let sequences = Set(try Self.items(receiver).map(\.sequence))
            return sequences.isSuperset(of: [1, 2, 3, 4])
        }
        // One more record while it is up goes straight through.
        let reply = try await cluster.get("/play/clip")
        let location = try #require(reply.headers.first { $0.0.lowercased() == "location" }?.1)
        _ = try await cluster.get("", headers: [], base: location)
        try await cluster.waitUntil("the fifth record delivered", timeout: .seconds(30)) {
            Set(try Self.items(receiver).map(\.sequence)).contains(5)
        }

        let stored = try await cluster.json([UsageRecord].self, "/v1/usage")
        let delivered = try Self.items(receiver)
        #expect(Set(delivered.map(\.record.streamID)) == Set(stored.map(\.streamID)), "every record, none lost")
        #expect(Set(delivered.map(\.sequence)) == Set(1...5))
        #expect(delivered.map(\.record.kind).contains(.ingest))
        // Each body is signed with the cluster secret.
        let key = SymmetricKey(data: SHA256.hash(data: Data("sluice-webhook-v1:integration-test-secret-0123456789".utf8)))
        for delivery in receiver.deliveries.withLock({ $0 }) {
            let expected = HMAC<SHA256>.authenticationCode(for: delivery.body, using: key).map { String(format: "%02x", $0) }.joined()
            #expect(delivery.signature == "sha256=" + expected)
        }
        #expect(cluster.director?.log.contains("usage webhook delivers again") == true)
    }

    static func items(_ receiver: WebhookReceiver) throws -> [Batch.Item] {
        try receiver.deliveries.withLock { $0 }.flatMap { try JSONDecoder().decode(Batch.self, from: $0.body).records }
    }
}
}
