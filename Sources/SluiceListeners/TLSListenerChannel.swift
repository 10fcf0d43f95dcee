import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import SluiceCore

/// An HTTP listener's connections with TLS in front: the handshake uses the credentials'
/// current certificate (so a reload reaches new connections), and a client that speaks plain
/// HTTP to the port is told so (`PlainTextOnTLSPort`) instead of reading TLS garbage.
public struct TLSListenerChannel<Base: ServerChildChannel>: ServerChildChannel {
    public typealias Value = Base.Value
    let base: Base
    let credentials: TLSCredentials
    let handshakeTimeout: TimeAmount

    public init(_ base: Base, credentials: TLSCredentials, handshakeTimeout: TimeAmount) {
        self.base = base
        self.credentials = credentials
        self.handshakeTimeout = handshakeTimeout
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandlers(credentials.frontHandlers(handshakeTimeout: handshakeTimeout))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    public func handle(value: Base.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }

}

extension TLSCredentials {
    /// What goes at the front of a TLS connection's pipeline (HTTP and RTSP alike): a
    /// handshake not done within `handshakeTimeout` of the connection closes it.
    public func frontHandlers(handshakeTimeout: TimeAmount) -> [any ChannelHandler] {
        [
            PlainTextOnTLSPort(scheme: applicationProtocols.isEmpty ? "rtsps" : "https"), NIOSSLServerHandler(context: current),
            TLSHandshakeDeadline(timeout: handshakeTimeout),
        ]
    }
}

extension TLSListenerChannel: HTTPChannelHandler where Base: HTTPChannelHandler {
    public var responder: HTTPChannelHandler.Responder { base.responder }
}

extension HTTPServerBuilder {
    /// HTTP/1.1, behind TLS when `tls` is given (a handshake must be done within
    /// `limits.requestHeadTimeout` of the connection).
    public static func http1(tls: TLSCredentials?, limits: ListenerLimits, configuration: HTTP1Channel.Configuration) -> HTTPServerBuilder {
        guard let tls else { return .http1(configuration: configuration) }
        let timeout = TimeAmount(limits.requestHeadTimeout)
        return .init { responder in
            TLSListenerChannel(HTTP1Channel(responder: responder, configuration: configuration), credentials: tls, handshakeTimeout: timeout)
        }
    }
}

/// Looks at a TLS connection's first byte: a TLS record starts with 0x16 (handshake), a plain
/// HTTP or RTSP request with a letter. The latter gets a plain-text 400 naming the scheme to
/// use, as nginx does, and the connection is closed; anything else passes to the TLS handler
/// (which refuses garbage with an alert). Removes itself after the first read.
final class PlainTextOnTLSPort: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let scheme: String

    init(scheme: String) { self.scheme = scheme }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first)
        else {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        let isRTSP = scheme == "rtsps"
        let text = "this port speaks TLS: use \(scheme):// (a plain \(isRTSP ? "RTSP" : "HTTP") request was sent to it)\n"
        let head = isRTSP ? "RTSP/1.0 400 Bad Request" : "HTTP/1.1 400 Bad Request"
        let response = "\(head)\r\nContent-Type: text/plain\r\nContent-Length: \(text.utf8.count)\r\nConnection: close\r\n\r\n\(text)"
        let channel = context.channel
        // The answer goes out, then the output side closes (the client reads it all, then
        // EOF); whatever else arrives is dropped, and the connection closes 2 s later.
        context.writeAndFlush(wrapInboundOut(ByteBuffer(string: response))).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
        }
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }
}

/// Closes a connection whose TLS handshake is not done `timeout` after it was set up: a client
/// that trickles or stalls its hello holds no connection longer than a slow request head.
final class TLSHandshakeDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { deadline?.cancel() }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            deadline?.cancel()
            deadline = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}
