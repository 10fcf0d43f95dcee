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
    static let tick: TimeAmount = .milliseconds(2)
    static let tickNanoseconds = UInt64(tick.nanoseconds)

    let channel: any Channel
    /// Nil: one datagram per send (the kernel has no `UDP_SEGMENT`, or bursts are off).
    let burst: RTPBurst?
    let metrics: EngineMetrics
    /// Streams with packets queued, in no order; `nextDue[i]` is when `queues[i]`'s first
    /// unsent packet is due (uptime nanoseconds), so a tick scans integers and touches only the
    /// streams that send in it. `slots` finds a stream's index.
    private var queues: [Queue] = []
    private var nextDue: [UInt64] = []
    private var slots: [UInt32: Int] = [:]
    private var timer: RepeatedTask?
    /// Send loops waiting for an instant, woken by the first tick that reaches it, kept by
    /// tick number (uptime over the tick period, rounded up). A wait is an append here rather
    /// than a task in the event loop's timer heap: with a thousand streams each waiting a few
    /// times a second, pushing and popping that heap (each level a copy of a task) was 6 % of
    /// the RTP thread. Ticks are 2 ms apart; streams wait hundreds of milliseconds with as
    /// much queued ahead.
    private var wakeups: [UInt64: [() -> Void]] = [:]
    /// The last tick number whose wake-ups ran.
    private var wokenThrough: UInt64 = 0

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
        guard let first = packets.first else { return }
        onLoop {
            if let slot = self.slots[session.streamID] {
                self.queues[slot].packets.append(contentsOf: packets)
            } else {
                let queue = Queue(session: session)
                queue.packets = packets
                self.slots[session.streamID] = self.queues.count
                self.queues.append(queue)
                self.nextDue.append(first.due.uptimeNanoseconds)
            }
        }
    }

    /// Runs `wake` on the loop at the first tick at or after `deadline` (at most a tick
    /// period after it while ticks keep time).
    func wake(at deadline: NIODeadline, _ wake: @escaping @Sendable () -> Void) {
        onLoop {
            let (whole, part) = deadline.uptimeNanoseconds.quotientAndRemainder(dividingBy: Self.tickNanoseconds)
            let number = max(whole + (part > 0 ? 1 : 0), self.wokenThrough + 1)
            self.wakeups[number, default: []].append(wake)
        }
    }

    /// Runs the wake-ups of every tick number up to `now`'s.
    private func wakeDue(now: UInt64) {
        let current = now / Self.tickNanoseconds
        guard current > wokenThrough else { return }
        defer { wokenThrough = current }
        guard !wakeups.isEmpty else { return }
        func run(_ number: UInt64) {
            for wake in wakeups.removeValue(forKey: number) ?? [] { wake() }
        }
        // Usually one number since the last tick; after a stall, only the numbers waited on.
        if current - wokenThrough <= 64 {
            for number in wokenThrough + 1...current { run(number) }
        } else {
            for number in wakeups.keys.filter({ $0 <= current }).sorted() { run(number) }
        }
    }

    private func onLoop(_ body: @escaping @Sendable () -> Void) {
        if channel.eventLoop.inEventLoop { body() } else { channel.eventLoop.execute(body) }
    }

    /// Drops a stream's unsent packets; returns the sequence number and file offset of the
    /// first one dropped (nil when nothing was queued).
    func drop(_ streamID: UInt32) async -> (sequence: UInt16, fileOffset: Int64)? {
        try? await channel.eventLoop.submit { self.dropNow(streamID) }.get()
    }

    /// `drop`, on the loop.
    func dropNow(_ streamID: UInt32) -> (sequence: UInt16, fileOffset: Int64)? {
        guard let slot = slots[streamID] else { return nil }
        let queue = queues[slot]
        remove(at: slot)
        guard queue.head < queue.packets.count else { return nil }
        let first = queue.packets[queue.head]
        return (first.sequence, first.fileOffset)
    }

    func pending(_ streamID: UInt32) async -> Int {
        (try? await channel.eventLoop.submit { self.slots[streamID].map { self.queues[$0].count } ?? 0 }.get()) ?? 0
    }

    /// Forgets the stream at `slot`: the last one takes its place.
    private func remove(at slot: Int) {
        slots[queues[slot].session.streamID] = nil
        let last = queues.count - 1
        if slot != last {
            queues.swapAt(slot, last)
            nextDue.swapAt(slot, last)
            slots[queues[slot].session.streamID] = slot
        }
        queues.removeLast()
        nextDue.removeLast()
    }

    /// One tick: writes what is due by two ticks from `now` across all streams, then flushes.
    func send(now: NIODeadline) {
        // Two ticks ahead: a tick that fires late, or a busy loop, still sends nothing late.
        let horizon = (now + Self.tick * 2).uptimeNanoseconds
        let nowNanoseconds = Int64(now.uptimeNanoseconds)
        var sentPackets = 0
        var sentBytes = 0
        var slot = 0
        while slot < queues.count {
            guard nextDue[slot] <= horizon else {
                slot += 1
                continue
            }
            let queue = queues[slot]
            var head = queue.head
            var bytes = 0
            let packets = queue.packets.withUnsafeBufferPointer { packets -> Int in
                while head < packets.count, packets[head].due.uptimeNanoseconds <= horizon {
                    let rest = UnsafeBufferPointer(rebasing: packets[head...])
                    let count = burst?.length(count: rest.count, size: { rest[$0].length }) { Int64(clamping: rest[$0].due.uptimeNanoseconds) } ?? 1
                    let group = UnsafeBufferPointer(rebasing: rest[..<count])
                    channel.write(AddressedEnvelope(remoteAddress: queue.session.client, data: Self.joined(group, allocator: channel.allocator)), promise: nil)
                    for index in group.indices {
                        bytes += group[index].payloadBytes
                        // This tick is when the packet is handed to the socket: its lateness is
                        // the tick's against its due instant (early ones count 0).
                        metrics.rtpLateness.recordNanoseconds(max(0, nowNanoseconds - Int64(clamping: group[index].due.uptimeNanoseconds)))
                    }
                    head += count
                }
                return head - queue.head
            }
            guard packets > 0 else {
                nextDue[slot] = queue.packets[head].due.uptimeNanoseconds
                slot += 1
                continue
            }
            sentPackets += packets
            sentBytes += bytes
            queue.session.recordSent(packets: packets, bytes: bytes, nextSequence: queue.packets[head - 1].sequence &+ 1)
            if head == queue.packets.count {
                // Drained: forget it (the next `enqueue` makes a new one), so ended streams
                // leave nothing behind. The stream moved into this slot is looked at next.
                remove(at: slot)
                continue
            }
            if head > 256 && head * 2 > queue.packets.count {
                queue.packets.removeFirst(head)
                head = 0
            }
            queue.head = head
            nextDue[slot] = queue.packets[head].due.uptimeNanoseconds
            slot += 1
        }
        if sentPackets > 0 {
            channel.flush()
            metrics.rtpPackets.increment(by: Int64(sentPackets))
            metrics.rtpBytes.increment(by: Int64(sentBytes))
        }
        wakeDue(now: now.uptimeNanoseconds)
    }

    /// One buffer for a burst: the datagrams back to back, which `UDP_SEGMENT` cuts apart
    /// again. Datagrams of one read already lie back to back: the burst is a slice of it.
    static func joined(_ group: UnsafeBufferPointer<Packet>, allocator: ByteBufferAllocator) -> ByteBuffer {
        let first = group[0]
        var length = first.length
        var contiguous = true
        for index in group.indices.dropFirst() {
            contiguous = contiguous && group[index].chunkNumber == first.chunkNumber && group[index].offset == group[index - 1].offset + group[index - 1].length
            length += group[index].length
        }
        if contiguous, let slice = first.chunk.getSlice(at: first.offset, length: length) { return slice }
        var buffer = allocator.buffer(capacity: length)
        for index in group.indices {
            buffer.writeImmutableBuffer(group[index].chunk.getSlice(at: group[index].offset, length: group[index].length) ?? ByteBuffer())
        }
        return buffer
    }
}

