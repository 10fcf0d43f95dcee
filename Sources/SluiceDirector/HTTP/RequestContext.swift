import Hummingbird
import HTTPTypes
import NIOCore

/// Hummingbird context that remembers the peer address (admission maps it to an edge).
public struct SluiceRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The connection (mutual TLS asks it for the client's certificate).
    let channel: any Channel
    /// Completes when the client's connection closes: a request waiting for admission then
    /// leaves the queue (`PlayRequest.hangUp`).
    let hangUp: EventLoopFuture<Void>

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        hangUp = source.channel.closeFuture
        channel = source.channel
    }

    /// Control-plane bodies are small JSON documents.
    public var maxUploadSize: Int { 1 << 20 }

    /// The client's IP address as text ("" when unknown).
    public var clientIP: String { remoteAddress?.ipAddress ?? "" }
}

extension HTTPField.Name {
    static let xAPIKey = Self("X-API-Key")!
    static let xSluiceStreamID = Self("X-Sluice-Stream-ID")!
    static let xSluiceLicense = Self("X-Sluice-License")!
    static let xSluiceProfile = Self("X-Sluice-Profile")!
    static let xSluiceReservedRate = Self("X-Sluice-Reserved-Rate")!
}
