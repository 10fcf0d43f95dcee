import Foundation
import Hummingbird
import NIOCore

/// Request context that keeps the peer address (grants are bound to it) and the connection (a
/// paced stream runs on its event loop, and asks its `HTTPConnectionGuard` how much got out).
public struct EngineRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }

    public var clientIP: String? { remoteAddress?.ipAddress }
}

extension Request {
    /// The director's calls carry the cluster token (derived from grantSecret); `what` names
    /// them in the 401.
    func requireClusterToken(_ token: String, for what: String) throws {
        guard headers[.authorization] == "Bearer \(token)" else {
            throw HTTPError(.unauthorized, message: "\(what) need the cluster token")
        }
    }

    /// The body as JSON of `type`, at most `limit` bytes; 400 otherwise.
    func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int) async throws -> T {
        let body = try await body.collect(upTo: limit)
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw HTTPError(.badRequest, message: "body is not a valid \(T.self)")
        }
    }
}

extension Response {
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONEncoder().encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
