import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SluiceCore

/// The engine's calls to the directors: register, heartbeat, renew, end, upload completed.
/// Every call goes to the director that answered last; when it cannot be reached the next
/// candidate is tried at once (configured directors, then those the store lists as live), so
/// a director's death costs its engines one refused connection, not their streams.
public struct DirectorLink: Sendable {
    let directors: DirectorSet
    let token: String
    let client: HTTPClient
    let logger: Logger?
    private let renewals = RenewalBatcher()

    /// How long a stream (HTTP or RTP) goes on while no director can be reached to renew the
    /// lease: a restarting director keeps the lease in its store, but no stream goes on for
    /// ever without a live reservation.
    static let silenceLimit: Duration = .seconds(30)

    /// The director calls' own client: a refused connection fails the call at once (the shared
    /// client retries with a growing backoff until the deadline, which after a long outage left
    /// an engine unregistered for a minute after its director was back) and an unanswered
    /// connect gives up after a second, so the next director is tried within one.
    public static let failFastClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(1)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    public init(baseURL: String, token: String, client: HTTPClient = DirectorLink.failFastClient, logger: Logger? = nil) {
        self.init(baseURLs: [baseURL], token: token, client: client, logger: logger)
    }

    public init(baseURLs: [String], token: String, client: HTTPClient = DirectorLink.failFastClient, logger: Logger? = nil) {
        directors = DirectorSet(urls: baseURLs)
        self.token = token
        self.client = client
        self.logger = logger
    }

    /// The director calls go to now.
    public var baseURL: String { directors.current }

    /// The live directors a director listed in a reply, tried after the configured ones.
    func learnDirectors(from body: Data) {
        guard let reply = try? JSONDecoder().decode(ClusterMessages.DirectorList.self, from: body), let urls = reply.directors else { return }
        if directors.announced(urls) {
            logger?.info("live directors listed by the store", metadata: ["directors": "\(urls.joined(separator: " "))"])
        }
    }

    public struct Reply: Sendable {
        public var status: Int
        public var body: Data
    }

    /// POSTs a JSON body to the current director, failing over to the next candidate when it
    /// cannot be reached; throws only when no director could be. Every call is one the
    /// directors take twice safely (renewals and ends are settled once in the store).
    public func post(_ path: String, _ body: some Encodable, timeout: TimeAmount = .seconds(5)) async throws -> Reply {
        try await post(path, body: try JSONEncoder().encode(body), timeout: timeout)
    }

    /// `post` with a body already encoded.
    func post(_ path: String, body bytes: Data, timeout: TimeAmount = .seconds(5)) async throws -> Reply {
        var failure: (any Error)?
        for url in directors.candidates {
            do {
                let reply = try await post(url + path, bytes, timeout: timeout)
                if let previous = directors.answered(url) {
                    logger?.warning("director failover: reporting to another director", metadata: ["from": "\(previous)", "to": "\(url)", "path": "\(path)"])
                }
                return reply
            } catch {
                failure = failure ?? error
            }
        }
        throw failure ?? DirectorLinkError(message: "no director to report to")
    }

    private func post(_ url: String, _ bytes: Data, timeout: TimeAmount) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: bytes))
        let response = try await client.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 1 << 20)
        return Reply(status: Int(response.status.code), body: Data(body.readableBytesView))
    }

    public func register(_ message: ClusterMessages.RegisterEngine) async throws -> Reply {
        let reply = try await post("/v1/engines/register", message)
        if reply.status == 200 { learnDirectors(from: reply.body) }
        return reply
    }

    public func heartbeat(engine: String) async throws -> Reply {
        let reply = try await post("/v1/engines/\(engine)/heartbeat", [String: String]())
        if reply.status == 200 { learnDirectors(from: reply.body) }
        return reply
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
        let reply = try await post("/v1/streams/renewals", body: Data(ClusterMessages.Renewals(items: items).jsonBytes))
        guard reply.status == 200, let results = try? JSONDecoder().decode(ClusterMessages.RenewalResults.self, from: reply.body) else {
            throw DirectorLinkError(message: "the director answered \(reply.status) to a batch of \(items.count) renewals")
        }
        return Set(results.gone)
    }

    public func end(streamID: UInt32, bytesSent: Int64, reason: UsageRecord.EndReason, quality: ReceptionQuality? = nil) async throws {
        _ = try await post("/v1/streams/\(streamID)/end", ClusterMessages.End(bytesSent: bytesSent, reason: reason, quality: quality))
    }

    /// How often, two seconds apart, a stream's end is reported before it is given up (its lease
    /// then expires by itself at the director).
    static let endReportAttempts = 30

    /// Reports a stream's end, again every two seconds while no director answers (one that is
    /// restarting hears of it when it is back, so its usage record has the bytes sent and why
    /// the stream ended). False when it never got through, or the engine is stopping.
    @discardableResult
    func reportEnd(
        streamID: UInt32, bytesSent: Int64, reason: UsageRecord.EndReason, quality: ReceptionQuality? = nil, logger: Logger
    ) async -> Bool {
        for attempt in 1...Self.endReportAttempts {
            do {
                try await end(streamID: streamID, bytesSent: bytesSent, reason: reason, quality: quality)
                return true
            } catch {
                if attempt == 1 {
                    logger.warning("could not report stream end; retrying", metadata: ["stream_id": "\(streamID)", "error": "\(error)"])
                }
                do { try await Task.sleep(for: .seconds(2)) } catch { return false }
            }
        }
        logger.warning("stream end never reached a director; its lease will expire by itself", metadata: ["stream_id": "\(streamID)"])
        return false
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
