import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import SluiceCore

/// What `sluice play` measured.
public struct PlayReport: Sendable, Codable {
    public var status: Int
    public var engineURL: String?
    /// Request sent to first media byte received.
    public var startupMilliseconds: Double
    /// First byte to last byte.
    public var transferMilliseconds: Double
    public var bytes: Int64
    public var averageBitsPerSecond: Double
    public var sha256: String
    /// Nil when the director's catalog could not be read.
    public var expectedSHA256: String?
    public var errorMessage: String?
    /// RTP only: packets received and lost, and interarrival jitter.
    public var packetsReceived: Int64?
    public var packetsLost: Int64?
    public var jitterMilliseconds: Double?
    /// Per-packet lateness against the RTP schedule (benchmarks only; not encoded).
    public var latenessMicroseconds: [Int32]?
    /// The I/O profile the director said the engine reads the stream with (`X-Sluice-Profile`).
    public var profile: String?
    /// How it ended; nil in benchmark reports.
    public var ending: PlayEnding?
    /// The stream's ID at the director (HTTP `X-Sluice-Stream-ID`, RTSP `ssrc`).
    public var streamID: UInt32?
    /// RTSP: the server's BYE came and the session was still there at the player's TEARDOWN.
    var goodbyeSeen = false

    enum CodingKeys: String, CodingKey {
        case status, engineURL, startupMilliseconds, transferMilliseconds, bytes, averageBitsPerSecond, sha256, expectedSHA256
        case errorMessage, packetsReceived, packetsLost, jitterMilliseconds, profile, ending, streamID
    }

    public var checksumMatches: Bool? { expectedSHA256.map { $0 == sha256 } }
}

extension PlayReport {
    /// A play that failed before any media: `description` says why.
    public init(failure description: String) {
        self.init(status: 0, engineURL: nil, startupMilliseconds: 0, transferMilliseconds: 0, bytes: 0,
                  averageBitsPerSecond: 0, sha256: "", expectedSHA256: nil, errorMessage: description)
    }
}

/// Plays an object over HTTP: follows the director's redirect, writes the bytes, measures.
public struct PlayClient: Sendable {
    let tls: ClientTLS

    public init(tls: ClientTLS = ClientTLS()) { self.tls = tls }

    public func play(url: String, apiKey: String?, output: OutputFile?, timeout: Duration = .seconds(3600)) async throws -> PlayReport {
        try tls.checkKeyTransport(url: url, sendsKey: apiKey != nil)
        // Redirects are followed by hand: the API key is for the director, not the engine.
        let client = try tls.makeHTTPClient()
        do {
            let report = try await play(url: url, apiKey: apiKey, output: output, timeout: timeout, client: client)
            try await client.shutdown()
            return report
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func play(url: String, apiKey: String?, output: OutputFile?, timeout: Duration, client: HTTPClient) async throws -> PlayReport {
        var request = HTTPClientRequest(url: url)
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        let clock = ContinuousClock()
        let start = clock.now
        let first: HTTPClientResponse
        do {
            first = try await client.execute(request, timeout: .seconds(120))
        } catch {
            throw ClientError.unreachable("the director", url: url, error)
        }
        var response = first
        var engineURL: String?
        let streamID = first.headers.first(name: "X-Sluice-Stream-ID").flatMap { UInt32($0) }
        if (300..<400).contains(Int(first.status.code)), let location = first.headers.first(name: "Location") {
            _ = try? await first.body.collect(upTo: 1 << 16)
            engineURL = location
            do {
                response = try await client.execute(HTTPClientRequest(url: location), timeout: .seconds(Int64(timeout.seconds)))
            } catch {
                throw ClientError.unreachable("the engine", url: location, error)
            }
        }
        let status = Int(response.status.code)
        guard status == 200 || status == 206 else {
            let body = (try? await response.body.collect(upTo: 1 << 16)).map { String(buffer: $0) } ?? ""
            let message = (try? JSONDecoder().decode(ClusterMessages.Problem.self, from: Data(body.utf8)))?.message ?? body
            var report = PlayReport(
                status: status, engineURL: engineURL, startupMilliseconds: (clock.now - start).milliseconds,
                transferMilliseconds: 0, bytes: 0, averageBitsPerSecond: 0, sha256: "", expectedSHA256: nil,
                errorMessage: message.isEmpty ? "HTTP \(status)" : message)
            // The engine refusing a grant means the stream ended between the redirect and now.
            report.ending = engineURL == nil ? .refused : await ending(after: url, streamID: streamID, apiKey: apiKey, client: client) ?? .refused
            report.streamID = streamID
            return report
        }
        var hasher = SHA256()
        var bytes: Int64 = 0
        var firstByte: ContinuousClock.Instant?
        var ending = PlayEnding.completed
        do {
            for try await chunk in response.body {
                if firstByte == nil { firstByte = clock.now }
                bytes += Int64(chunk.readableBytes)
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                try chunk.withUnsafeReadableBytes { try output?.write($0) }
            }
        } catch let error as ClientError {
            throw error  // the output cannot be written
        } catch {
            // The engine closed early: torn down, revoked, deleted, or its engine failed. The
            // director's usage record says which.
            ending = await self.ending(after: url, streamID: streamID, apiKey: apiKey, client: client) ?? .cutOff
        }
        let end = clock.now
        let transfer = firstByte.map { end - $0 } ?? .zero
        let digest = hasher.finalize().hexEncoded
        var report = PlayReport(
            status: status, engineURL: engineURL, startupMilliseconds: ((firstByte ?? end) - start).milliseconds,
            transferMilliseconds: transfer.milliseconds, bytes: bytes,
            averageBitsPerSecond: transfer > .zero ? Double(bytes * 8) / transfer.seconds : 0,
            sha256: digest, expectedSHA256: ending == .completed ? await expectedChecksum(playURL: url, apiKey: apiKey, client: client) : nil)
        report.profile = first.headers.first(name: "X-Sluice-Profile")
        report.ending = ending
        report.streamID = streamID
        return report
    }

    /// Why the director ended the stream, or nil when it cannot say.
    private func ending(after playURL: String, streamID: UInt32?, apiKey: String?, client: HTTPClient) async -> PlayEnding? {
        guard let streamID else { return nil }
        guard let reason = await StreamOutcome.endReason(directorURL: playURL, streamID: streamID, apiKey: apiKey, client: client) else { return nil }
        // The engine cut the connection, so a record saying "completed" or "client gone" is the
        // engine's view of a connection that broke.
        let ending = PlayEnding(reason: reason)
        return ending == .completed ? .cutOff : ending
    }

    /// Looks the object up in the director's catalog (`/v1/objects`) for its SHA-256.
    func expectedChecksum(playURL: String, apiKey: String?, client: HTTPClient) async -> String? {
        guard let components = URLComponents(string: playURL), let range = components.path.range(of: "/play/") else { return nil }
        return await Self.expectedChecksum(object: String(components.path[range.upperBound...]), directorURL: playURL, apiKey: apiKey, client: client)
    }

    /// The object's SHA-256 from the director's catalog, nil when it cannot be read.
    static func expectedChecksum(object name: String, directorURL: String, apiKey: String?, client: HTTPClient) async -> String? {
        guard let components = URLComponents(string: directorURL) else { return nil }
        var catalog = components
        catalog.path = "/v1/objects"
        catalog.query = nil
        guard let catalogURL = catalog.string else { return nil }
        var request = HTTPClientRequest(url: catalogURL)
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        if apiKey == nil, let key = components.queryItems?.first(where: { $0.name == "key" })?.value {
            request.headers.add(name: "Authorization", value: "Bearer \(key)")
        }
        struct Row: Decodable { var object: MediaObject }
        guard let response = try? await client.execute(request, timeout: .seconds(10)), response.status == .ok,
              let body = try? await response.body.collect(upTo: 16 << 20),
              let rows = try? JSONDecoder().decode([Row].self, from: Data(body.readableBytesView)) else { return nil }
        return rows.first { $0.object.name == name }?.object.sha256
    }
}

public struct ClientError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Duration {
    var milliseconds: Double { seconds * 1000 }
}
