import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SluiceCore
import SluiceListeners
import SluiceMedia

/// The RTSP listener: one task per connection, fed whole requests by `RTSPRequestDecoder`,
/// answering them in order. A connection that misbehaves gets its error status and is
/// closed; it never holds up another. The media never passes through here.
struct RTSPServer: Service {
    let host: String
    let port: Int
    let service: RTSPService
    /// A request must arrive whole within `requestHeadTimeout` of its first byte (a
    /// one-byte-a-second client is cut off with 408); one address holds at most
    /// `maxConnectionsPerClient` connections.
    let limits: ListenerLimits
    /// An RTSP connection with no request for this long is closed (longer than HTTP's: players
    /// keep one connection for the whole session and send a keep-alive every session timeout).
    let idleTimeout: Duration
    let logger: Logger
    let onListening: @Sendable (Int) async -> Void

    func run() async throws {
        let counter = ConnectionCounter(limit: limits.maxConnectionsPerClient)
        let requestTimeout = TimeAmount(limits.requestHeadTimeout)
        let idleTimeout = TimeAmount(self.idleTimeout)
        let logger = self.logger
        let server: NIOAsyncChannel<NIOAsyncChannel<RTSPInbound, ByteBuffer>, Never>
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ConnectionCap(counter: counter, logger: logger))
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try channel.pipeline.syncOperations.addHandler(IdleCloser())
                    try channel.pipeline.syncOperations.addHandler(RTSPRequestDecoder(requestTimeout: requestTimeout))
                    return try NIOAsyncChannel<RTSPInbound, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        } catch {
            throw ListenError.from(error, listener: "director RTSP", host: host, port: port, setting: "director.rtspListen in the config or --rtsp-listen") ?? error
        }
        let boundPort = server.channel.localAddress?.port ?? port
        logger.info("rtsp listening", metadata: ["url": "rtsp://\(host):\(boundPort)"])
        await onListening(boundPort)
        let sweeper = service
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
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await handle(connection, serverPort: boundPort) }
                    }
                }
            } onGracefulShutdown: {
                server.channel.close(promise: nil)
            }
            group.cancelAll()
        }
    }

    /// Answers a connection's requests in order; a rejected request gets its status and the
    /// connection is closed.
    private func handle(_ connection: NIOAsyncChannel<RTSPInbound, ByteBuffer>, serverPort: Int) async {
        let peer = RTSPService.Peer(
            clientHost: connection.channel.remoteAddress?.ipAddress ?? "",
            serverHost: connection.channel.localAddress?.ipAddress ?? host, serverPort: serverPort,
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
