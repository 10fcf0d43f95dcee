import Hummingbird
import NIOCore

/// Request context that keeps the peer address (grants are bound to it).
public struct EngineRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
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
}
