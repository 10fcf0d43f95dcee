import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SluiceCore

/// The director's calls to an engine: RTP control, copy orders, replica removal.
struct EngineControl: Sendable {
    let token: String
    let client: HTTPClient

    struct Failure: Error, CustomStringConvertible {
        var status: Int
        var description: String
    }

    private func call<T: Decodable>(_ method: HTTPMethod, _ url: String, body: (some Encodable)?, as: T.Type) async throws -> T {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        }
        let response = try await client.execute(request, timeout: .seconds(5))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw Failure(status: Int(response.status.code), description: "engine answered \(response.status.code): \(String(buffer: bytes))")
        }
        return try JSONDecoder().decode(T.self, from: Data(bytes.readableBytesView))
    }

    func open(engineURL: String, _ request: ClusterMessages.RTPSessionRequest) async throws -> ClusterMessages.RTPSessionCreated {
        try await call(.POST, engineURL + "/v1/rtp/sessions", body: request, as: ClusterMessages.RTPSessionCreated.self)
    }

    func play(engineURL: String, streamID: UInt32, startMilliseconds: Int64?, countsFromFirstPTS: Bool) async throws -> ClusterMessages.RTPPlaying {
        let body = ClusterMessages.RTPPlay(startMilliseconds: startMilliseconds, countsFromFirstPTS: countsFromFirstPTS)
        return try await call(.POST, engineURL + "/v1/rtp/sessions/\(streamID)/play", body: body, as: ClusterMessages.RTPPlaying.self)
    }

    func pause(engineURL: String, streamID: UInt32) async throws {
        _ = try await call(.POST, engineURL + "/v1/rtp/sessions/\(streamID)/pause", body: [String: String](), as: [String: Bool].self)
    }

    /// Orders the engine to fetch `order.object` from another engine, verify it and report.
    func copy(engineURL: String, _ order: ClusterMessages.CopyOrder) async throws {
        _ = try await call(.POST, engineURL + "/v1/copies", body: order, as: [String: UInt32].self)
    }

    /// Deletes an object the director no longer lists on that engine.
    func deleteObject(engineURL: String, object: String) async throws {
        _ = try await call(.DELETE, engineURL + "/v1/objects/\(object)", body: Optional<[String: String]>.none, as: [String: String].self)
    }

    /// Stops streams now (revoked): HTTP connections and RTP sessions alike.
    /// Stops the streams at once; the bytes each had sent, by stream ID.
    func stopStreams(engineURL: String, ids: [UInt32]) async throws -> [UInt32: Int64] {
        let answer = try await call(.POST, engineURL + "/v1/streams/stop", body: ClusterMessages.StopStreams(ids: ids), as: ClusterMessages.StreamsStopped.self)
        var bytes: [UInt32: Int64] = [:]
        for (id, sent) in answer.bytesSent ?? [:] { if let id = UInt32(id) { bytes[id] = sent } }
        return bytes
    }

    func stop(engineURL: String, streamID: UInt32) async throws -> ClusterMessages.RTPStopped {
        try await call(.DELETE, engineURL + "/v1/rtp/sessions/\(streamID)", body: Optional<[String: String]>.none, as: ClusterMessages.RTPStopped.self)
    }
}
