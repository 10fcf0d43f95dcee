import Foundation
import Hummingbird
import NIOCore
import SluiceListeners

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

/// What a cluster call (the director's, or another engine's) must show: the cluster token
/// (derived from grantSecret) and, with mutual TLS, a client certificate the CA signed.
struct ClusterCredentials: Sendable {
    let token: String
    var requireClientCertificate = false

    /// `what` names the calls in the refusal.
    func check(_ request: Request, _ context: EngineRequestContext, for what: String) async throws {
        guard request.headers[.authorization] == "Bearer \(token)" else {
            throw HTTPError(.unauthorized, message: "\(what) need the cluster token")
        }
        if requireClientCertificate, !(await PeerCertificate.isPresented(on: context.channel)) {
            throw HTTPError(.forbidden, message: "\(what) need a client certificate signed by tls.ca (tls.mutual is on)")
        }
    }
}

extension Request {

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
