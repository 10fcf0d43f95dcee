import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes
import SluiceCore
import Synchronization

/// Response body bytes of one connection that reached its socket (their write completed), as
/// opposed to those handed to the writer and still queued in the channel. A response cut short
/// (the client stopped reading and was cut at the send timeout) bills what got out, not what
/// was queued: a stalled 20 Mbit/s stream had about 300 KB queued when it was cut.
public final class DeliveredBytes: Sendable {
    private let count = Atomic<Int64>(0)
    public init() {}
    public var bytes: Int64 { count.load(ordering: .relaxed) }
    func add(_ bytes: Int) { count.add(Int64(bytes), ordering: .relaxed) }
}

/// Puts `ListenerLimits` on one HTTP connection: a deadline for each request head and for
/// silence within a body (408 and close), an idle keep-alive timeout, and a cut for a client
/// that takes none of a response. Sits after the HTTP codec (Hummingbird's
/// `additionalChannelHandlers`) and puts at the front of the pipeline the address cap
/// (`ConnectionCap`, `maxConnectionsPerClient`) and a byte watcher, so a request's clock starts
/// at its first byte, not at its parsed head.
public final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    static let tickInterval: TimeAmount = .milliseconds(500)

    private let limits: ListenerLimits
    private let counter: ConnectionCounter
    private let logger: Logger
    private var deadlines: ConnectionDeadlines
    private var ticker: RepeatedTask?
    private var closing = false
    /// Body bytes written to the socket on this connection, for whoever serves it.
    public let delivered = DeliveredBytes()

    public init(limits: ListenerLimits, counter: ConnectionCounter, logger: Logger) {
        self.limits = limits
        self.counter = counter
        self.logger = logger
        deadlines = ConnectionDeadlines(limits: limits, now: .now)
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        let watcher = ByteArrivalWatcher(guard: NIOLoopBound(self, eventLoop: context.eventLoop))
        try? context.pipeline.syncOperations.addHandlers([ConnectionCap(counter: counter, logger: logger), watcher], position: .first)
        if context.channel.isActive { start(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard ticker == nil, !closing, context.channel.isActive else { return }
        deadlines = ConnectionDeadlines(limits: limits, now: .now)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        ticker = context.eventLoop.scheduleRepeatedTask(initialDelay: Self.tickInterval, delay: Self.tickInterval) { _ in
            let (handler, context) = bound.value
            handler.tick(context: context)
        }
    }

    func bytesArrived() {
        deadlines.bytesArrived(now: .now)
    }

    private func tick(context: ChannelHandlerContext) {
        switch deadlines.tick(now: .now) {
        case .none:
            return
        case .close(let reason):
            logger.debug("connection closed", metadata: ["client": "\(client(context))", "reason": "\(reason)"])
            shutDown(context: context)
        case .requestTimeout(let reason):
            logger.info("request timed out: 408", metadata: ["client": "\(client(context))", "reason": "\(reason)"])
            let head = HTTPResponse(status: .requestTimeout, headerFields: [.connection: "close", .contentLength: "0"])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            shutDown(context: context)
        }
    }

    private func client(_ context: ChannelHandlerContext) -> String { context.channel.remoteAddress?.ipAddress ?? "?" }

    private func shutDown(context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        ticker?.cancel()
        ticker = nil
        context.close(promise: nil)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: deadlines.headReceived(now: .now)
        case .body: deadlines.bytesArrived(now: .now)
        case .end: deadlines.requestEnded(now: .now)
        }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.kind != .informational: deadlines.responseHeadSent()
        case .end: deadlines.responseEnded(now: .now)
        case .body(let buffer):
            let (count, delivered) = (buffer.readableBytes, delivered)
            let promise = promise ?? context.eventLoop.makePromise()
            promise.futureResult.whenSuccess { delivered.add(count) }
            context.write(data, promise: promise)
            return
        default: break
        }
        context.write(data, promise: promise)
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        deadlines.writabilityChanged(isWritable: context.channel.isWritable, now: .now)
        context.fireChannelWritabilityChanged()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        stopTicking()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        stopTicking()
    }

    private func stopTicking() {
        ticker?.cancel()
        ticker = nil
    }
}

/// At the front of the pipeline: tells the guard that bytes came, before any parsing.
final class ByteArrivalWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let guardian: NIOLoopBound<HTTPConnectionGuard>

    init(guard guardian: NIOLoopBound<HTTPConnectionGuard>) {
        self.guardian = guardian
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guardian.value.bytesArrived()
        context.fireChannelRead(data)
    }
}
