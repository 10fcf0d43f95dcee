import NIOCore

/// Treats a client that closes its side of the connection as gone, as nginx does: the server
/// allows half-closure, so without this a viewer who hangs up while its `/play` waits in the
/// admission queue would keep its place until its wait ran out. Closing the channel completes
/// its `closeFuture`, which the waiting request watches (`PlayRequest.hangUp`).
final class HangUpHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}
