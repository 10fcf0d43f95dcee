import NIOCore
import SluiceMedia

/// What the RTSP connection hands its reader: a whole request, or the answer that ends the
/// connection (a malformed request, or one still incomplete `requestTimeout` after its first
/// byte: a one-byte-a-second client is cut off).
enum RTSPInbound: Sendable, Equatable {
    case request(RTSPRequest)
    case rejected(status: Int, reason: String)
}

/// Turns the bytes of an RTSP connection into requests with the bounded incremental parser.
/// After a rejection it passes nothing more on: the reader answers and closes.
final class RTSPRequestDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = RTSPInbound

    let requestTimeout: TimeAmount
    private var parser = RTSPRequestParser()
    private var timeout: Scheduled<Void>?
    private var isRejected = false

    init(requestTimeout: TimeAmount) {
        self.requestTimeout = requestTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isRejected else { return }
        let buffer = unwrapInboundIn(data)
        parser.append(buffer.readableBytesView)
        do {
            while let request = try parser.nextRequest() {
                context.fireChannelRead(wrapInboundOut(.request(request)))
            }
        } catch {
            reject(context: context, status: error.status, reason: error.message)
            return
        }
        if parser.pendingByteCount == 0 {
            timeout?.cancel()
            timeout = nil
        } else if timeout == nil {
            // The first byte of a request starts its clock.
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            timeout = context.eventLoop.scheduleTask(in: requestTimeout) {
                let (decoder, context) = bound.value
                decoder.timeout = nil
                decoder.reject(context: context, status: 408, reason: "the request was not complete within \(decoder.requestTimeout.nanoseconds / 1_000_000_000) s")
                // Outside a read cycle: the async reader sees what was read only at a read-complete.
                context.fireChannelReadComplete()
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
        context.fireChannelInactive()
    }

    private func reject(context: ChannelHandlerContext, status: Int, reason: String) {
        guard !isRejected else { return }
        isRejected = true
        timeout?.cancel()
        timeout = nil
        context.fireChannelRead(wrapInboundOut(.rejected(status: status, reason: reason)))
    }
}
