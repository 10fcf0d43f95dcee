import SluiceCore
import SluiceMedia

/// The decisions of one RTP stream's send loop, as a value: commands (PLAY from a time, PAUSE)
/// and the clock in, what to do next out (renew the lease, send a sender report, read the
/// next chunk, drain at the end, or wait until a given time), and each chunk read turned into
/// numbered, timestamped packets with the time each is due. Time is a `Duration` since the
/// stream's epoch, passed in; `RTPStreamer` performs the actions.
struct RTPFeeder {
    struct Configuration: Sendable {
        var bitsPerSecond: Int64
        var pcrPID: UInt16?
        var seekIndex: SeekIndex
        var durationMilliseconds: Int64
        var averageBitsPerSecond: Int64
        var initialRTPTime: UInt32
        var initialSequence: UInt16
        /// A licensed profile's burst: up to this many payloads go back to back (1: paced by PCR).
        var burstPackets: Int
        var renewInterval: Duration
        var senderReportInterval: Duration = .seconds(5)
        /// How far ahead of the schedule the pacer is fed.
        var feedAhead: Duration = .milliseconds(500)
        /// The most a burst sends a packet ahead of its time.
        var maxBurstAhead: Duration = .milliseconds(20)
        /// Longest wait between two looks at the clock, paused and playing; commands cut it short.
        var pausedWake: Duration = .milliseconds(100)
        var playingWake: Duration = .milliseconds(500)
    }

    enum Action: Sendable, Equatable {
        /// Renew the lease, reporting where the stream is; stop when the director says it is gone.
        case renew(RTPPosition)
        case sendSenderReport(rtpTime: UInt32)
        /// Read `count` bytes at `offset`, then `chunkRead`.
        case read(offset: Int64, count: Int)
        /// Everything is read: finish once the pacer has sent what it holds.
        case drain
        case wait(until: Duration)
    }

    /// One datagram to queue: its RTP numbering, its payload's bytes within the chunk read,
    /// when it goes (since the epoch), and where its payload lies in the file.
    struct PlannedPacket: Sendable, Equatable {
        var sequence: UInt16
        var timestamp: UInt32
        var payload: Range<Int>
        var sendAt: Duration
        var fileOffset: Int64
    }

    /// What the loop has sent so far (the pacer's count, not what is queued).
    struct Progress: Sendable {
        var packetsSent: Int64
        var nextSequence: UInt16
    }

    let configuration: Configuration
    private(set) var isPlaying = false
    private var sequence: UInt16
    private var rtpBase: UInt32
    private var lastRTPTime: UInt32
    private var runStart: Duration = .zero
    /// Media time at the start of the current run, or where the stream paused.
    private var runStartPosition: Int64 = 0
    private var packetizer: MP2TPacketizer
    private(set) var readOffset: Int64 = 0
    /// Due time (since the run's start) of the last packet handed to the pacer.
    private var fedUntil: Duration = .zero
    private var isAtEnd = false
    private var lastRenewal: Duration = .zero
    private var lastSenderReport: Duration = .zero
    private var burstStart: Duration = .zero
    private var burstCount: Int

    init(_ configuration: Configuration) {
        self.configuration = configuration
        sequence = configuration.initialSequence
        rtpBase = configuration.initialRTPTime
        lastRTPTime = configuration.initialRTPTime
        packetizer = MP2TPacketizer(pcrPID: configuration.pcrPID, maxBitsPerSecond: configuration.bitsPerSecond)
        burstCount = configuration.burstPackets
    }

    /// One read: about 125 ms of the stream, a whole number of RTP payloads, 12 to 48 of them
    /// (48 is 125 ms at 4 Mbit/s; 12, about 16 KB, is half a second at 256 kbit/s): a low-rate
    /// stream wakes to read a few times a second, not once per packet or two.
    var readBytes: Int {
        let payload = TransportStreamScanner.packetSize * RTPPacket.tsPacketsPerRTPPacket
        let payloads = Int(configuration.bitsPerSecond / 8 / 8) / payload
        return min(48, max(12, payloads)) * payload
    }

    // MARK: Commands

    /// PLAY from `startMilliseconds` (nil: where it paused). `dropped` is the first packet the
    /// pacer still held (dropped unsent): numbering and, without a start, reading go on from it.
    mutating func playReceived(
        startMilliseconds start: Int64?, dropped: (sequence: UInt16, fileOffset: Int64)?, packetsSent: Int64, now: Duration
    ) -> RTPSession.PlayStart {
        if let dropped { sequence = dropped.sequence }
        readOffset = start.map { $0 <= 0 ? 0 : configuration.seekIndex.byteOffset(forMilliseconds: $0) } ?? dropped?.fileOffset ?? readOffset
        packetizer = MP2TPacketizer(pcrPID: configuration.pcrPID, maxBitsPerSecond: configuration.bitsPerSecond)
        // Timestamps move on from the last one used, so they never run backwards.
        rtpBase = packetsSent == 0 && dropped == nil ? configuration.initialRTPTime : lastRTPTime &+ 3000
        runStart = now
        fedUntil = .zero
        isAtEnd = false
        isPlaying = true
        burstCount = configuration.burstPackets  // the next packet opens a burst of this run
        let position = start ?? Int64(Double(readOffset) * 8 / Double(max(1, configuration.averageBitsPerSecond)) * 1000)
        runStartPosition = position
        return RTPSession.PlayStart(sequence: sequence, rtpTime: rtpBase, startMilliseconds: position)
    }

    /// PAUSE: what the pacer still held was dropped; the next PLAY without a start resumes there.
    mutating func pauseReceived(dropped: (sequence: UInt16, fileOffset: Int64)?, now: Duration) {
        if let dropped {
            sequence = dropped.sequence
            readOffset = dropped.fileOffset
        }
        if isPlaying {
            runStartPosition += (now - runStart).wholeMilliseconds
            lastRTPTime = rtpBase &+ Self.ticks(now - runStart)
        }
        isPlaying = false
    }

    // MARK: Time

    mutating func nextAction(now: Duration, progress: Progress) -> Action {
        if isPlaying { lastRTPTime = rtpBase &+ Self.ticks(now - runStart) }
        let nextRenewal = lastRenewal + configuration.renewInterval
        if now >= nextRenewal {
            lastRenewal = now
            return .renew(position(now: now, nextSequence: progress.nextSequence))
        }
        if now - lastSenderReport >= configuration.senderReportInterval && progress.packetsSent > 0 {
            lastSenderReport = now
            return .sendSenderReport(rtpTime: lastRTPTime)
        }
        guard isPlaying else { return .wait(until: min(now + configuration.pausedWake, nextRenewal)) }
        if isAtEnd { return .drain }
        let fedAt = runStart + fedUntil - configuration.feedAhead
        if now >= fedAt { return .read(offset: readOffset, count: readBytes) }
        return .wait(until: min(now + configuration.playingWake, nextRenewal, fedAt))
    }

    /// The chunk read at `readOffset`: its packets, numbered and due. Empty means the object
    /// has ended (a trailing partial TS packet is left for no one).
    mutating func chunkRead(_ chunk: [UInt8]) -> [PlannedPacket] {
        let usable = chunk.count - chunk.count % TransportStreamScanner.packetSize
        guard usable > 0 else {
            isAtEnd = true
            return []
        }
        let burst = configuration.burstPackets
        let packets = packetizer.packets(in: chunk[..<usable])
        var planned: [PlannedPacket] = []
        planned.reserveCapacity(packets.count)
        for packet in packets {
            // A licensed profile sends up to `burstPackets` payloads back to back, each group
            // when its first is due: never late, at most `maxBurstAhead` early (a low-rate
            // stream's packets are far apart), and the RTP timestamps keep media time.
            var sendAt = packet.due
            if burst > 1 {
                if burstCount >= burst || packet.due - burstStart > configuration.maxBurstAhead {
                    burstStart = packet.due
                    burstCount = 0
                }
                burstCount += 1
                sendAt = burstStart
            }
            planned.append(PlannedPacket(
                sequence: sequence, timestamp: rtpBase &+ Self.ticks(packet.due), payload: packet.range, sendAt: runStart + sendAt,
                fileOffset: readOffset + Int64(packet.range.lowerBound)))
            sequence &+= 1
            fedUntil = packet.due
        }
        readOffset += Int64(usable)
        return planned
    }

    /// The RTP time of the goodbye sender report: it must match its wall-clock time, or
    /// players resynchronise on it.
    func goodbyeRTPTime(now: Duration) -> UInt32 {
        isPlaying ? rtpBase &+ Self.ticks(now - runStart) : lastRTPTime
    }

    private func position(now: Duration, nextSequence: UInt16) -> RTPPosition {
        let packetBits = Int64(RTPPacket.tsPacketsPerRTPPacket * TransportStreamScanner.packetSize * 8)
        return RTPPosition(
            milliseconds: min(configuration.durationMilliseconds, runStartPosition + (isPlaying ? (now - runStart).wholeMilliseconds : 0)),
            sequence: nextSequence, rtpTime: lastRTPTime, isPlaying: isPlaying,
            packetsPerSecond: max(1, Int(configuration.bitsPerSecond / packetBits)))
    }

    /// A duration in 90 kHz RTP clock ticks (wrapping, as RTP timestamps do).
    static func ticks(_ duration: Duration) -> UInt32 {
        UInt32(truncatingIfNeeded: duration.components.seconds * 90_000 + duration.components.attoseconds / 11_111_111_111_111)
    }
}
