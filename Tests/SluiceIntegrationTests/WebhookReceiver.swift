import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A billing system stand-in: an HTTP server on 127.0.0.1 that keeps every POST body and its
/// `X-Sluice-Signature`, and answers 500 to the first `failing` requests.
final class WebhookReceiver: Sendable {
    struct Delivery: Sendable {
        var body: Data
        var signature: String?
    }

    let deliveries = Mutex<[Delivery]>([])
    let failing: Mutex<Int>
    private let channel: any Channel

    /// A port nothing listens on now (bound, read, closed), for a receiver started later.
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }

    init(port: Int, failing: Int) async throws {
        self.failing = Mutex(failing)
        let box = Box()
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(receiver: box))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        box.receiver.withLock { $0 = self }
    }

    func stop() {
        channel.close(promise: nil)
    }

    /// Lets handlers reach the receiver created after the bootstrap that makes them.
    final class Box: Sendable {
        let receiver = Mutex<WebhookReceiver?>(nil)
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let receiver: Box
        var body = Data()
        var signature: String?

        init(receiver: Box) { self.receiver = receiver }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                body = Data()
                signature = head.headers["X-Sluice-Signature"].first
            case .body(let buffer):
                body.append(contentsOf: buffer.readableBytesView)
            case .end:
                let receiver = receiver.receiver.withLock { $0 }
                let fail = receiver?.failing.withLock { count -> Bool in
                    defer { count = max(0, count - 1) }
                    return count > 0
                } ?? true
                if !fail { receiver?.deliveries.withLock { $0.append(Delivery(body: body, signature: signature)) } }
                let head = HTTPResponseHead(version: .http1_1, status: fail ? .internalServerError : .ok, headers: ["Content-Length": "0"])
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
