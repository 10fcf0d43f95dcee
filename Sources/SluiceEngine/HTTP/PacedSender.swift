import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import SluiceCore
import SluiceGrant
import SluiceListeners

/// Sends a byte range of an object at the granted rate, renewing the lease as it goes.
struct PacedSender: Sendable {
    let path: String
    let range: Range<Int64>
    let grant: StreamGrant
    let burstBytes: Int
    let renewInterval: Duration
    let streams: StreamTable
    let director: DirectorLink
    let metrics: EngineMetrics
    let logger: Logger
    /// How long the stream outlives this connection waiting for the next one (nil: the engine's
    /// reconnectGrace). An HLS session's segments are its connections.
    var idleGrace: Duration? = nil
    /// HLS: this connection runs beside the stream's others instead of superseding them.
    var concurrent = false
    /// Why the stream ends if nothing follows this connection once it has sent its range.
    var reasonWhenDone: UsageRecord.EndReason = .completed
    /// The connection. The send loop runs on its event loop (reads, waits and writes without a
    /// hop to another thread per chunk), and its `HTTPConnectionGuard` counts the body bytes
    /// that reached the socket. nil: the loop runs wherever its task does, and bytes the writer
    /// took count as sent.
    var channel: (any Channel)? = nil
    private var eventLoop: (any EventLoop)? { channel?.eventLoop }

    /// Reads are sized to about 250 ms at the stream's rate, between 16 KiB and 1 MiB: a
    /// 4 Mbit/s stream wakes 4 times a second, a 256 kbit/s one twice, and a fast download makes
    /// few trips through the stream table and the writer. Every wake costs the engine more than
    /// the bytes it writes (at 1,500 streams of 4 Mbit/s with 125 ms chunks, about 40 µs of
    /// user time per chunk against 27 µs in the kernel); players buffer seconds, not 250 ms.
    static func chunkBytes(bitsPerSecond: Int64) -> Int {
        let quarterOfASecond = bitsPerSecond / 8 / 4
        return Int(min(1 << 20, max(16 << 10, quarterOfASecond)))
    }

    /// Has the kernel spread each chunk over the time its tokens took to come (TCP's internal
    /// pacing, `SO_MAX_PACING_RATE`), instead of sending it at the line's speed: a quarter of a
    /// second of many streams at once overflows the queue of a link booked near its capacity,
    /// and takes other streams' packets down with it (Benchmarks/qos-proof.sh found it). HLS
    /// segments are left to burst: a player fetches them ahead by design.
    private func paceInTheKernel() async {
        // The option is a 32-bit count here: a stream above ~17 Gbit/s (a download at the
        // line's speed) is left to TCP.
        let rate = WireFraming.tcpPacingBytesPerSecond(linkBitsPerSecond: grant.bitsPerSecond)
        guard let channel, rate <= Int64(SocketOptionValue.max) else { return }
        do {
            try await channel.setOption(ChannelOptions.socketOption(Self.maxPacingRate), value: SocketOptionValue(rate)).get()
        } catch {
            logger.debug("the kernel does not pace this connection", metadata: ["stream_id": "\(grant.streamID)", "error": "\(error)"])
        }
    }

    /// Linux's SO_MAX_PACING_RATE (asm-generic/socket.h), which Glibc's module does not export.
    private static let maxPacingRate = NIOBSDSocket.Option(rawValue: 47)

    private enum Stop: Error { case revoked, superseded, shuttingDown }

    /// The connection's count of body bytes that reached its socket.
    private func deliveredBytes() async -> DeliveredBytes? {
        guard let channel else { return nil }
        return try? await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: HTTPConnectionGuard.self).delivered
        }.get()
    }

    func body() -> ResponseBody {
        ResponseBody(contentLength: Int(range.count)) { writer in
            try await withTaskExecutorPreference(eventLoop.map(EventLoopTaskExecutor.init)) { try await send(&writer) }
        }
    }

    /// Waits `duration`: on the connection's event loop, as one of its scheduled tasks (the
    /// stream wakes where its socket is, with no trip through another thread's timer), or as a
    /// task sleep without one.
    private func sleep(_ duration: Duration) async throws {
        guard let eventLoop else { return try await Task.sleep(for: duration) }
        try await eventLoop.scheduleTask(in: .nanoseconds(duration.nanoseconds)) {}.futureResult.get()
        try Task.checkCancellation()
    }

    private func send(_ writer: inout any ResponseBodyWriter) async throws {
        let id = grant.streamID
        let chunkBytes = Self.chunkBytes(bitsPerSecond: grant.bitsPerSecond)
        // A licensed profile sets the burst. The bucket is the stream's, shared by all its
        // connections; it runs into debt, so a chunk larger than the burst goes when its own
        // tokens are there: the stream never runs ahead of its rate by more than the burst.
        let burst = grant.profile?.burstBytes ?? burstBytes
        // The reservation is a link rate: the payload goes slower by what TCP/IP headers take.
        guard let generation = await streams.attach(
            id, object: grant.object, profile: grant.profile, bitsPerSecond: WireFraming.tcpPayloadRate(linkBitsPerSecond: grant.bitsPerSecond),
            burstBytes: burst, grace: idleGrace, concurrent: concurrent)
        else { throw Stop.revoked }
        if !concurrent { await paceInTheKernel() }
        // The first read is what the burst lets go at once, so the player starts without waiting
        // for a whole chunk's tokens; whole chunks follow.
        var readBytes = min(chunkBytes, max(burst, 16 << 10))
        let clock = ContinuousClock()
        let start = clock.now
        // Renew after the first chunk: that tells the director the client came.
        var lastRenewal = start - renewInterval
        var total: Int64 = 0
        var unreachableSince: ContinuousClock.Instant?
        let renewal = BackgroundRenewal()
        // What this connection counted in the stream's bytes, and what of it got out: a
        // connection that ends early takes back the rest (a chunk whose write failed, or bytes
        // still queued in the channel when the client stopped reading). What got out is the
        // socket's count when the connection has one, else what the writer took.
        let delivered = await deliveredBytes()
        let deliveredBefore = delivered?.bytes ?? 0
        var counted: Int64 = 0
        var written: Int64 = 0
        func takeBackUnsent() async {
            let unsent = counted - (delivered.map { $0.bytes - deliveredBefore } ?? written)
            guard unsent > 0 else { return }
            counted -= unsent
            total = await streams.add(-Int(unsent), to: id)
        }
        do {
            let reader = try ProfiledReader(path: path, profile: grant.profile ?? .traditional)
            defer { reader.close() }
            var offset = range.lowerBound
            while offset < range.upperBound {
                let readStart = clock.now
                let chunk = try await reader.readBuffer(at: offset, count: Int(min(Int64(readBytes), range.upperBound - offset)))
                readBytes = chunkBytes
                metrics.readLatency.record(clock.now - readStart)
                guard chunk.readableBytes > 0 else { throw ProfiledReader.ReaderError(message: "the object ended at byte \(offset), before its listed size") }
                offset += Int64(chunk.readableBytes)
                guard let wait = await streams.take(chunk.readableBytes, for: id, generation: generation) else { throw Stop.superseded }
                let due = clock.now + wait
                if wait > .zero { try await sleep(wait) }
                // The engine stops: cut the connection as a killed process would; the player's
                // reconnect (with a Range) goes through the director to a live replica.
                if Task.isShuttingDownGracefully { throw Stop.shuttingDown }
                // A stream revoked while this chunk waited for its tokens sends nothing more.
                guard let streamTotal = await streams.sending(chunk.readableBytes, for: id, generation: generation) else { throw Stop.superseded }
                total = streamTotal
                counted += Int64(chunk.readableBytes)
                metrics.httpLateness.record(max(.zero, clock.now - due))
                try await writer.write(chunk)
                written += Int64(chunk.readableBytes)
                metrics.httpBytes.increment(by: Int64(chunk.readableBytes))
                switch renewal.take() {
                case .gone: throw Stop.revoked
                case .alive: unreachableSince = nil
                case .unreachable:
                    // A director restarting keeps the lease in its store: go on for a while,
                    // as a stream cut here would be lost to the viewer for nothing.
                    let since = unreachableSince ?? clock.now
                    unreachableSince = since
                    if clock.now - since > DirectorLink.silenceLimit { throw DirectorLinkError(message: "no director answered for \(DirectorLink.silenceLimit)") }
                case nil: break
                }
                if clock.now - lastRenewal >= renewInterval {
                    lastRenewal = clock.now
                    let (director, sent) = (self.director, total)
                    renewal.start { try await director.renew(streamID: id, bytesSent: sent) }
                }
            }
            try await writer.finish(nil)
            await streams.detach(id, generation: generation, reason: reasonWhenDone, revoked: false)
        } catch Stop.revoked {
            await takeBackUnsent()
            await streams.detach(id, generation: generation, reason: .tornDown, revoked: true)
            throw Stop.revoked
        } catch Stop.superseded {
            throw Stop.superseded
        } catch Stop.shuttingDown {
            await takeBackUnsent()
            logger.info("stream cut: the engine is shutting down", metadata: ["stream_id": "\(id)", "bytes": "\(total)"])
            await streams.detach(id, generation: generation, reason: .engineFailed, revoked: true)
            throw Stop.shuttingDown
        } catch {
            await takeBackUnsent()
            logger.info("stream connection closed early", metadata: ["stream_id": "\(id)", "bytes": "\(total)", "error": "\(error)"])
            await streams.detach(id, generation: generation, reason: .clientGone, revoked: false)
            throw error
        }
    }
}
