import AsyncHTTPClient
import Foundation
import Logging
import Prometheus
import NIOCore
import ServiceLifecycle
import SluiceCore
import SluiceGrant
import SluiceStore
import Synchronization

/// Passes every usage record on to the operator's billing system (`director.usageWebhook`):
/// records are POSTed in the order they were written, in batches, and the position reached is
/// saved only after a 2xx answer. Delivery is at least once: a receiver that is down or fails
/// gets the same records again (with backoff) until it takes them; nothing is lost, since the
/// records stay in the store. Each record carries its `sequence`, for receivers to drop repeats.
struct UsageWebhook: Service {
    static let consumer = "webhook"
    static let batchSize = 100

    /// One POST body: `{"records": [{"sequence": N, "record": {...}}, ...]}`.
    struct Batch: Codable, Sendable {
        struct Item: Codable, Sendable {
            var sequence: Int64
            var record: UsageRecord
        }
        var records: [Item]
    }

    /// Where records go; a reload may point it elsewhere.
    let target: WebhookTarget
    var url: String { target.url }
    let store: any SluiceStore
    let grantSecret: String
    /// Records not yet taken by the receiver (a metric), counted after each batch.
    let backlog: Gauge
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await deliver() }
    }

    private func deliver() async {
        var cursor: Int64?
        var backoff = Self.initialBackoff
        var failing = false
        while !Task.isCancelled {
            do {
                if cursor == nil { cursor = try await store.deliveryCursor(Self.consumer) }
                let position = cursor ?? 0
                let batch = try await store.usage(afterSequence: position, limit: Self.batchSize)
                backlog.set(Double(batch.count < Self.batchSize ? batch.count : try await store.usageCount(afterSequence: position)))
                guard let last = batch.last?.sequence else {
                    try await Task.sleep(for: .seconds(1))
                    continue
                }
                try await post(Batch(records: batch.map { .init(sequence: $0.sequence, record: $0.record) }))
                try await store.saveDeliveryCursor(Self.consumer, last)
                cursor = last
                if failing {
                    logger.info("usage webhook delivers again", metadata: ["url": "\(url)", "through_sequence": "\(last)"])
                    failing = false
                }
                backoff = Self.initialBackoff
            } catch is CancellationError {
                return
            } catch {
                if !failing {
                    logger.warning("usage webhook failed; the records are kept and sent again", metadata: ["url": "\(url)", "error": "\(error)"])
                    failing = true
                }
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, Self.maxBackoff)
            }
        }
    }

    static let initialBackoff: Duration = .milliseconds(250)
    static let maxBackoff: Duration = .seconds(10)

    private func post(_ batch: Batch) async throws {
        let body = try JSONEncoder().encode(batch)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-Sluice-Signature", value: "sha256=" + GrantSigner.webhookSignature(body: Array(body), secret: grantSecret))
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        _ = try? await response.body.collect(upTo: 1 << 16)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw WebhookError(description: "receiver answered \(response.status.code)")
        }
    }

    struct WebhookError: Error, CustomStringConvertible {
        var description: String
    }
}

/// The webhook's URL, replaced when the configuration is reloaded.
final class WebhookTarget: Sendable {
    private let current: Mutex<String>
    init(_ url: String) { current = Mutex(url) }
    var url: String { current.withLock { $0 } }
    func set(_ url: String) { current.withLock { $0 = url } }
}
