import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SluiceCore
import SluiceListeners
import SluiceMedia

/// Where RTSP is served: a plain listener (`rtsp://`) or one behind TLS (`rtsps://`).
struct RTSPEndpoint: Sendable {
    var host: String
    var port: Int
    /// The certificate RTSPS presents; nil: plain RTSP.
    var tls: TLSCredentials?
    /// The setting that chooses the address, named when it cannot be bound.
    var setting: String
    var onListening: @Sendable (Int) async -> Void = { _ in }

    var scheme: String { tls == nil ? "rtsp" : "rtsps" }
}

/// The RTSP listeners (plain and TLS): one task per connection, fed whole requests by
/// `RTSPRequestDecoder`, answering them in order. A connection that misbehaves gets its error
/// status and is closed; it never holds up another. The media never passes through here.
struct RTSPServer: Service {
    let endpoints: [RTSPEndpoint]
    let service: RTSPService
    /// A request must arrive whole within `requestHeadTimeout` of its first byte (a
    /// one-byte-a-second client is cut off with 408); one address holds at most
    /// `maxConnectionsPerClient` connections (plain and TLS together).
    let limits: ListenerLimits
    /// An RTSP connection with no request for this long is closed (longer than HTTP's: players
    /// keep one connection for the whole session and send a keep-alive every session timeout).
    let idleTimeout: Duration
    let logger: Logger

    typealias Listener = NIOAsyncChannel<NIOAsyncChannel<RTSPInbound, ByteBuffer>, Never>

    func run() async throws {
        let counter = ConnectionCounter(limit: limits.maxConnectionsPerClient)
        var listeners: [(Listener, RTSPEndpoint, Int)] = []
        do {
            for endpoint in endpoints {
                let listener = try await bind(endpoint, counter: counter)
                let boundPort = listener.channel.localAddress?.port ?? endpoint.port
                listeners.append((listener, endpoint, boundPort))
                logger.info("\(endpoint.scheme) listening", metadata: ["url": "\(endpoint.scheme)://\(endpoint.host):\(boundPort)"])
                await endpoint.onListening(boundPort)
            }
        } catch {
            for (listener, _, _) in listeners { try? await listener.channel.close() }
            throw error
        }
        guard !listeners.isEmpty else {
            // RTSP and RTSPS both off: nothing to serve, but ending early would end the director.
            try? await gracefulShutdown()
            return
        }
        let sweeper = service
        let bound = listeners
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                while !Task.isCancelled {
                    await sweeper.sweep()
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            group.addTask {
                // A failed engine's sessions continue on another replica.
                for await failure in sweeper.director.engineFailures {
                    await sweeper.engineFailed(failure.engine, failure.streams)
                }
            }
            try await withGracefulShutdownHandler {
                try await withThrowingDiscardingTaskGroup { accepting in
                    for (listener, endpoint, boundPort) in bound {
                        accepting.addTask {
                            try await withThrowingDiscardingTaskGroup { connections in
                                try await listener.executeThenClose { inbound in
                                    for try await connection in inbound {
                                        connections.addTask { await handle(connection, scheme: endpoint.scheme, serverPort: boundPort) }
                                    }
                                }
                                // The listener is closed (shutdown): open sessions end now.
                                connections.cancelAll()
                            }
                        }
                    }
                }
            } onGracefulShutdown: {
                for (listener, _, _) in bound { listener.channel.close(promise: nil) }
            }
            group.cancelAll()
        }
    }

    private func bind(_ endpoint: RTSPEndpoint, counter: ConnectionCounter) async throws -> Listener {
        let requestTimeout = TimeAmount(limits.requestHeadTimeout)
        let idleTimeout = TimeAmount(self.idleTimeout)
        let logger = self.logger
        let tls = endpoint.tls
        do {
            return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ConnectionCap(counter: counter, logger: logger))
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try channel.pipeline.syncOperations.addHandler(IdleCloser())
                    if let tls { try channel.pipeline.syncOperations.addHandlers(tls.frontHandlers(handshakeTimeout: requestTimeout)) }
                    try channel.pipeline.syncOperations.addHandler(RTSPRequestDecoder(requestTimeout: requestTimeout))
                    return try NIOAsyncChannel<RTSPInbound, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        } catch {
            let listener = endpoint.tls == nil ? "director RTSP" : "director RTSPS"
            throw ListenError.from(error, listener: listener, host: endpoint.host, port: endpoint.port, setting: endpoint.setting) ?? error
        }
    }

    /// Answers a connection's requests in order; a rejected request gets its status and the
    /// connection is closed.
    private func handle(_ connection: NIOAsyncChannel<RTSPInbound, ByteBuffer>, scheme: String, serverPort: Int) async {
        let peer = RTSPService.Peer(
            clientHost: connection.channel.remoteAddress?.ipAddress ?? "",
            serverHost: connection.channel.localAddress?.ipAddress ?? "", serverPort: serverPort, scheme: scheme,
            hangUp: connection.channel.closeFuture)
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await message in inbound {
                    switch message {
                    case .request(let request):
                        let response = await service.handle(request, peer: peer)
                        try await outbound.write(ByteBuffer(bytes: response.serialized()))
                    case .rejected(let status, let reason):
                        logger.info("rtsp request rejected", metadata: ["client": "\(peer.clientHost)", "status": "\(status)", "error": "\(reason)"])
                        var response = RTSPResponse(status: status)
                        response.headers.add("X-Sluice-Reason", reason)
                        response.headers.add("Connection", "close")
                        try await outbound.write(ByteBuffer(bytes: response.serialized()))
                        return
                    }
                }
            }
        } catch {
            logger.debug("rtsp connection closed", metadata: ["client": "\(peer.clientHost)", "error": "\(error)"])
        }
    }
}

/// Closes a connection that has been silent for the idle timeout.
final class IdleCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
