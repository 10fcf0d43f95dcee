import Logging
import NIOCore
import Synchronization

/// Open connections per client address on one listener, so that no address holds more than
/// its share (`ListenerLimits.maxConnectionsPerClient`).
public final class ConnectionCounter: Sendable {
    public let limit: Int
    private let counts = Mutex<[String: Int]>([:])

    public init(limit: Int) {
        self.limit = limit
    }

    /// Counts a new connection from `address`; false (and not counted) when it has its limit.
    public func open(_ address: String) -> Bool {
        counts.withLock { counts in
            let current = counts[address, default: 0]
            guard current < limit else { return false }
            counts[address] = current + 1
            return true
        }
    }

    public func close(_ address: String) {
        counts.withLock { counts in
            guard let current = counts[address] else { return }
            counts[address] = current > 1 ? current - 1 : nil
        }
    }
}

/// At the front of a connection's pipeline (RTSP, and the HTTP guard puts it there too): closes
/// the connection at once when its address already holds `counter.limit` connections, and
/// counts it down when it closes.
public final class ConnectionCap: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    private let counter: ConnectionCounter
    private let logger: Logger
    private var countedAddress: String?
    private var refused = false

    public init(counter: ConnectionCounter, logger: Logger) {
        self.counter = counter
        self.logger = logger
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        admit(context: context)
        if !refused { context.fireChannelActive() }
    }

    private func admit(context: ChannelHandlerContext) {
        guard countedAddress == nil, !refused else { return }
        let address = context.channel.remoteAddress?.ipAddress ?? "?"
        if counter.open(address) {
            countedAddress = address
        } else {
            refused = true
            logger.info("connection refused: too many from one address", metadata: ["client": "\(address)", "limit": "\(counter.limit)"])
            context.close(promise: nil)
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        context.fireChannelRead(data)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) { release() }

    private func release() {
        if let address = countedAddress {
            counter.close(address)
            countedAddress = nil
        }
    }
}
