import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// An HTTP listener's connections with TLS in front: the handshake uses the credentials'
/// current certificate (so a reload reaches new connections), and a client that speaks plain
/// HTTP to the port is told so (`PlainTextOnTLSPort`) instead of reading TLS garbage.
public struct TLSListenerChannel<Base: ServerChildChannel>: ServerChildChannel {
    public typealias Value = Base.Value
    let base: Base
    let credentials: TLSCredentials

    public init(_ base: Base, credentials: TLSCredentials) {
        self.base = base
        self.credentials = credentials
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandlers(credentials.frontHandlers())
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    public func handle(value: Base.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }

}

extension TLSCredentials {
    /// What goes at the front of a TLS connection's pipeline (HTTP and RTSP alike).
    public func frontHandlers() -> [any ChannelHandler] {
        [PlainTextOnTLSPort(scheme: applicationProtocols.isEmpty ? "rtsps" : "https"), NIOSSLServerHandler(context: current)]
    }
}

extension TLSListenerChannel: HTTPChannelHandler where Base: HTTPChannelHandler {
    public var responder: HTTPChannelHandler.Responder { base.responder }
}

extension HTTPServerBuilder {
    /// HTTP/1.1, behind TLS when `tls` is given.
    public static func http1(tls: TLSCredentials?, configuration: HTTP1Channel.Configuration) -> HTTPServerBuilder {
        guard let tls else { return .http1(configuration: configuration) }
        return .init { responder in
            TLSListenerChannel(HTTP1Channel(responder: responder, configuration: configuration), credentials: tls)
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
        context.writeAndFlush(wrapInboundOut(ByteBuffer(string: response)), promise: nil)
        // Whatever else arrives is dropped; the answer goes out, then the connection closes.
        channel.close(mode: .output, promise: nil)
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }
}
