import NIOCore
import SluiceMedia

/// Sends every RTP stream of the engine from one repeating timer on the RTP socket's event
/// loop. Streams hand it packets that are ready to go, each with the instant it is due; a tick
/// writes everything due across all streams and flushes once, so the kernel sees batched
/// `sendmmsg` calls and no task wakes per packet. The stream's own task only feeds it a few
/// hundred milliseconds ahead, and drops what is queued on pause or seek.
final class RTPPacer: @unchecked Sendable {
    // @unchecked: `queues` is only touched on `channel.eventLoop` (every entry point hops there).

    struct Packet {
        /// The read this datagram was built from: every datagram of one read lies back to back
        /// in one buffer (one allocation per read, not per packet), so a burst of them goes
        /// out as one slice, without a copy.
        var chunk: ByteBuffer
        /// Which of the stream's reads `chunk` is.
        var chunkNumber: UInt32
        var offset: Int
        var length: Int
        var due: NIODeadline
        var sequence: UInt16
        /// File offset of the packet's first TS byte, to resume from after a pause.
        var fileOffset: Int64
        var payloadBytes: Int
    }

    final class Queue {
        let session: RTPSession
        var packets: [Packet] = []
        var head = 0
        init(session: RTPSession) { self.session = session }
        var count: Int { packets.count - head }
    }

    /// The timer's period; packets due within two of them go out in a tick.
    static let tick: TimeAmount = .milliseconds(1)

    let channel: any Channel
    /// Nil: one datagram per send (the kernel has no `UDP_SEGMENT`, or bursts are off).
    let burst: RTPBurst?
    let metrics: EngineMetrics
    private var queues: [UInt32: Queue] = [:]
    private var timer: RepeatedTask?

    init(channel: any Channel, burst: RTPBurst?, metrics: EngineMetrics) {
        self.channel = channel
        self.burst = burst
        self.metrics = metrics
        timer = channel.eventLoop.scheduleRepeatedTask(initialDelay: Self.tick, delay: Self.tick) { [weak self] _ in
            self?.send(now: .now())
        }
    }

    func stop() {
        timer?.cancel()
    }

    /// Adds packets (in sequence order) to a stream's queue.
    func enqueue(_ packets: [Packet], for session: RTPSession) {
        // The send loops run on this loop (`EventLoopTaskExecutor`): no hop then.
        onLoop {
            let queue = self.queues[session.streamID] ?? {
                let queue = Queue(session: session)
                self.queues[session.streamID] = queue
                return queue
            }()
            queue.packets.append(contentsOf: packets)
        }
    }

    private func onLoop(_ body: @escaping @Sendable () -> Void) {
        if channel.eventLoop.inEventLoop { body() } else { channel.eventLoop.execute(body) }
    }

    /// Drops a stream's unsent packets; returns the sequence number and file offset of the
    /// first one dropped (nil when nothing was queued).
    func drop(_ streamID: UInt32) async -> (sequence: UInt16, fileOffset: Int64)? {
        try? await channel.eventLoop.submit { () -> (UInt16, Int64)? in
            guard let queue = self.queues.removeValue(forKey: streamID), queue.head < queue.packets.count else { return nil }
            let first = queue.packets[queue.head]
            return (first.sequence, first.fileOffset)
        }.get()
    }

    func pending(_ streamID: UInt32) async -> Int {
        (try? await channel.eventLoop.submit { self.queues[streamID]?.count ?? 0 }.get()) ?? 0
    }

    private func send(now: NIODeadline) {
        // Two ticks ahead: a tick that fires late, or a busy loop, still sends nothing late.
        let horizon = now + Self.tick * 2
        var wrote = false
        var sentPackets = 0
        var sentBytes = 0
        for (id, queue) in queues {
            var packets = 0
            var bytes = 0
            var nextSequence: UInt16 = 0
            while queue.head < queue.packets.count, queue.packets[queue.head].due <= horizon {
                let count = burst?.length(of: queue.packets[queue.head...], size: \.length, due: \.dueSinceBoot) ?? 1
                let group = queue.packets[queue.head..<(queue.head + count)]
                channel.write(AddressedEnvelope(remoteAddress: queue.session.client, data: Self.joined(group, allocator: channel.allocator)), promise: nil)
                for packet in group {
                    bytes += packet.payloadBytes
                    // This tick is when the packet is handed to the socket: its lateness is the
                    // tick's against the packet's due instant (early ones, within the horizon, count 0).
                    metrics.rtpLateness.recordNanoseconds(max(0, Int64(now.uptimeNanoseconds) - Int64(packet.due.uptimeNanoseconds)))
                }
                packets += count
                nextSequence = group[group.endIndex - 1].sequence &+ 1
                queue.head += count
            }
            if packets > 0 {
                wrote = true
                sentPackets += packets
                sentBytes += bytes
                queue.session.recordSent(packets: packets, bytes: bytes, nextSequence: nextSequence)
                if queue.head > 256 && queue.head * 2 > queue.packets.count {
                    queue.packets.removeFirst(queue.head)
                    queue.head = 0
                }
            }
            if queue.head == queue.packets.count {
                // Drained: forget it (the next `enqueue` makes a new one), so ended streams
                // leave nothing behind.
                queues[id] = nil
            }
        }
        if wrote {
            channel.flush()
            metrics.rtpPackets.increment(by: Int64(sentPackets))
            metrics.rtpBytes.increment(by: Int64(sentBytes))
        }
    }

    /// One buffer for a burst: the datagrams back to back, which `UDP_SEGMENT` cuts apart
    /// again. Datagrams of one read already lie back to back: the burst is a slice of it.
    static func joined(_ group: ArraySlice<Packet>, allocator: ByteBufferAllocator) -> ByteBuffer {
        let first = group[group.startIndex]
        var length = first.length
        var contiguous = true
        for (previous, packet) in zip(group, group.dropFirst()) {
            contiguous = contiguous && packet.chunkNumber == first.chunkNumber && packet.offset == previous.offset + previous.length
            length += packet.length
        }
        if contiguous, let slice = first.chunk.getSlice(at: first.offset, length: length) { return slice }
        var buffer = allocator.buffer(capacity: length)
        for packet in group {
            buffer.writeImmutableBuffer(packet.chunk.getSlice(at: packet.offset, length: packet.length) ?? ByteBuffer())
        }
        return buffer
    }
}

extension RTPPacer.Packet {
    var dueSinceBoot: Duration { .nanoseconds(Int64(clamping: due.uptimeNanoseconds)) }
}
