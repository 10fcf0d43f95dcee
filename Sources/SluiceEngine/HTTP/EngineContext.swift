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
