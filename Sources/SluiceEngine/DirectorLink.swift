import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SluiceCore

/// The engine's calls to the director: register, heartbeat, renew, end, upload completed.
public struct DirectorLink: Sendable {
    public let baseURL: String
    let token: String
    let client: HTTPClient
    private let renewals = RenewalBatcher()

    /// How long a stream (HTTP or RTP) goes on while its director cannot be reached to renew
    /// the lease: a restarting director keeps the lease in its store, but no stream goes on for
    /// ever without a live reservation.
    static let silenceLimit: Duration = .seconds(30)

    public init(baseURL: String, token: String, client: HTTPClient = .shared) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.client = client
    }

    public struct Reply: Sendable {
        public var status: Int
        public var body: Data
    }

    /// POSTs a JSON body; throws only when the director could not be reached.
    public func post(_ path: String, _ body: some Encodable, timeout: TimeAmount = .seconds(5)) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        let response = try await client.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return Reply(status: Int(response.status.code), body: Data(bytes.readableBytesView))
    }

    public func register(_ message: ClusterMessages.RegisterEngine) async throws -> Reply {
        try await post("/v1/engines/register", message)
    }

    public func heartbeat(engine: String) async throws -> Reply {
        try await post("/v1/engines/\(engine)/heartbeat", [String: String]())
    }

    /// True while the lease lives; false when the director says the stream is gone. Renewals
    /// made within a few milliseconds of each other travel in one request.
    public func renew(
        streamID: UInt32, bytesSent: Int64, quality: ReceptionQuality? = nil, receiverReportAge: Duration? = nil, position: RTPPosition? = nil
    ) async throws -> Bool {
        let message = ClusterMessages.Renew(
            bytesSent: bytesSent, quality: quality, receiverReportAgeMilliseconds: receiverReportAge?.wholeMilliseconds, position: position)
        return try await renewals.renew(.init(streamID: streamID, renewal: message), link: self)
    }

    /// Sends one batch; the IDs the director says are gone.
    func sendRenewals(_ items: [ClusterMessages.Renewals.Item]) async throws -> Set<UInt32> {
        let reply = try await post("/v1/streams/renewals", ClusterMessages.Renewals(items: items))
        guard reply.status == 200, let results = try? JSONDecoder().decode(ClusterMessages.RenewalResults.self, from: reply.body) else {
            throw DirectorLinkError(message: "the director answered \(reply.status) to a batch of \(items.count) renewals")
        }
        return Set(results.gone)
    }

    public func end(streamID: UInt32, bytesSent: Int64, reason: UsageRecord.EndReason, quality: ReceptionQuality? = nil) async throws {
        _ = try await post("/v1/streams/\(streamID)/end", ClusterMessages.End(bytesSent: bytesSent, reason: reason, quality: quality))
    }

    public func uploadCompleted(_ message: ClusterMessages.UploadCompleted) async throws -> Bool {
        let reply = try await post("/v1/uploads/\(message.streamID)/complete", message)
        return reply.status == 200
    }
}

struct DirectorLinkError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
