import Foundation
import Logging
import NIOCore
import SluiceCore
import SluiceMedia

/// The feeder of one RTP session: reads the object, packetizes seven TS packets per RTP
/// packet with the time each is due by its PCR (never faster than the reserved rate), and
/// hands them to the engine's `RTPPacer` half a second ahead; obeys play/pause/seek/stop,
/// renews the lease every second (also while paused), sends an SR every five seconds and
/// SR+BYE after the last packet, then reports the end.
struct RTPStreamer: Sendable {
    let session: RTPSession
    let sockets: RTPSockets
    let director: DirectorLink
    let renewInterval: Duration
    let cname: String
    let logger: Logger

    /// One read: about 125 ms of the stream, a whole number of RTP payloads, 1 to 48 of them
    /// (48 is 125 ms at 4 Mbit/s). A low-rate stream holds no more than it needs.
    static func readBytes(bitsPerSecond: Int64) -> Int {
        let payload = 188 * RTPPacket.tsPacketsPerRTPPacket
        let payloads = Int(bitsPerSecond / 8 / 8) / payload
        return min(48, max(1, payloads)) * payload
    }
    static let senderReportInterval: Duration = .seconds(5)
    /// The most a profile's burst sends a packet ahead of its time.
    static let maxBurstAhead: Duration = .milliseconds(20)
    /// How far ahead of the schedule the pacer is fed.
    static let feedAhead: Duration = .milliseconds(500)
    /// Pause between the last RTP packet and SR+BYE. GStreamer holds packets in a 2 s jitter
    /// buffer and drops what it still holds at BYE; ffmpeg needs about 0.5 s.
    static let goodbyeDelay: Duration = .milliseconds(2500)
    /// Longest wait between two looks at the clock, paused and playing; commands cut it short.
    static let pausedWake: TimeAmount = .milliseconds(100)
    static let playingWake: TimeAmount = .milliseconds(200)

    func run() async {
        let clock = ContinuousClock()
        let id = session.streamID
        let pacer = sockets.pacer
        let eventLoop = sockets.rtp.eventLoop
        let reader: ProfiledReader
        do {
            reader = try ProfiledReader(path: session.path, profile: session.profile ?? .traditional)
        } catch {
            logger.error("cannot open object for RTP", metadata: ["stream_id": "\(id)", "error": "\(error)"])
            session.finish()
            try? await director.end(streamID: id, bytesSent: 0, reason: .failed)
            return
        }
        defer { reader.close() }
        var sequence = session.nextSequence
        var rtpBase = session.initialRTPTime
        var lastRTPTime = rtpBase
        var playing = false
        var runStart = clock.now
        var runStartDeadline = NIODeadline.now()
        var packetizer = MP2TPacketizer(pcrPID: session.pcrPID, maxBitsPerSecond: session.bitsPerSecond)
        var readOffset: Int64 = 0  // next file byte to packetize
        var fedUntil: Duration = .zero  // due time of the last packet handed to the pacer
        var chunkNumber: UInt32 = 0
        let readBytes = Self.readBytes(bitsPerSecond: session.bitsPerSecond)
        // Unlicensed streams keep per-packet PCR pacing (plus the engine's GSO window).
        let burst = session.profile?.burstPackets ?? 1
        var burstStart: Duration = .zero
        var burstCount = burst
        let placeholder = ByteBuffer()
        var atEnd = false
        var lastRenewal = clock.now
        var lastSenderReport = clock.now
        var stopReply: [CheckedContinuation<RTPSession.Summary, Never>] = []
        // Media time at the start of the current run, or where the stream paused.
        var runStartPosition: Int64 = 0
        let packetsPerSecond = max(1, Int(session.bitsPerSecond / Int64(RTPPacket.tsPacketsPerRTPPacket * TransportStreamScanner.packetSize * 8)))

        loop: while !Task.isCancelled {
            for command in session.takeCommands() {
                switch command {
                case .play(let start, let continuation):
                    // Whatever is queued but unsent is dropped; numbering goes on from it.
                    let dropped = await pacer.drop(id)
                    if let dropped { sequence = dropped.sequence }
                    readOffset = start.map { $0 <= 0 ? 0 : session.seekIndex.byteOffset(forMilliseconds: $0) } ?? dropped?.fileOffset ?? readOffset
                    packetizer = MP2TPacketizer(pcrPID: session.pcrPID, maxBitsPerSecond: session.bitsPerSecond)
                    // Timestamps move on from the last one used, so they never run backwards.
                    rtpBase = session.summary.packetsSent == 0 && dropped == nil ? session.initialRTPTime : lastRTPTime &+ 3000
                    runStart = clock.now
                    runStartDeadline = .now()
                    fedUntil = .zero
                    atEnd = false
                    playing = true
                    let position = start ?? Int64(Double(readOffset) * 8 / Double(max(1, session.object.averageBitsPerSecond)) * 1000)
                    runStartPosition = position
                    continuation.resume(returning: .init(sequence: sequence, rtpTime: rtpBase, startMilliseconds: position))
                    logger.info("rtp play", metadata: ["stream_id": "\(id)", "from_byte": "\(readOffset)", "seq": "\(sequence)"])
                case .pause(let continuation):
                    if let dropped = await pacer.drop(id) {
                        sequence = dropped.sequence
                        readOffset = dropped.fileOffset
                    }
                    if playing { runStartPosition += (clock.now - runStart).wholeMilliseconds }
                    playing = false
                    continuation.resume()
                case .stop(let continuation):
                    _ = await pacer.drop(id)
                    stopReply.append(continuation)
                    break loop
                }
            }
            let summary = session.summary
            if clock.now - lastRenewal >= renewInterval {
                lastRenewal = clock.now
                let reportAge = summary.lastReceiverReport.map { clock.now - $0 }
                if playing { lastRTPTime = rtpBase &+ Self.ticks(clock.now - runStart) }
                let position = RTPPosition(
                    milliseconds: min(session.object.durationMilliseconds, runStartPosition + (playing ? (clock.now - runStart).wholeMilliseconds : 0)),
                    sequence: session.nextSequence, rtpTime: lastRTPTime, isPlaying: playing, packetsPerSecond: packetsPerSecond)
                if let alive = try? await director.renew(
                    streamID: id, bytesSent: summary.bytesSent, quality: summary.quality, receiverReportAge: reportAge, position: position), !alive {
                    logger.info("rtp stream stopped: lease gone", metadata: ["stream_id": "\(id)"])
                    _ = await pacer.drop(id)
                    session.finish()
                    return
                }
            }
            if playing { lastRTPTime = rtpBase &+ Self.ticks(clock.now - runStart) }
            if clock.now - lastSenderReport >= Self.senderReportInterval && summary.packetsSent > 0 {
                lastSenderReport = clock.now
                sendRTCP(rtpTime: lastRTPTime, packets: summary.packetsSent, octets: summary.bytesSent, goodbye: false)
            }
            guard playing else {
                // Paused: wake for the next renewal, or at once for a command.
                await session.waitForCommand(until: .now() + Self.pausedWake, on: eventLoop)
                continue
            }
            if atEnd {
                if await pacer.pending(id) == 0 { break loop }
                await session.waitForCommand(until: .now() + .milliseconds(50), on: eventLoop)
                continue
            }
            // Keep the pacer fed about half a second ahead; wake five times a second.
            if fedUntil - (clock.now - runStart) < Self.feedAhead {
                var chunk = (try? await reader.read(at: readOffset, count: readBytes)) ?? []
                chunk.removeLast(chunk.count % TransportStreamScanner.packetSize)
                if chunk.isEmpty {
                    atEnd = true
                    continue
                }
                let planned = packetizer.packets(in: chunk[...])
                var buffer = sockets.rtp.allocator.buffer(capacity: planned.count * RTPPacket.headerSize + chunk.count)
                var packets: [RTPPacer.Packet] = []
                packets.reserveCapacity(planned.count)
                chunkNumber &+= 1
                for packet in planned {
                    // A licensed profile sends up to `burstPackets` payloads back to back, each
                    // group when its first is due: never late, at most `maxBurstAhead` early
                    // (a low-rate stream's packets are far apart), and the RTP timestamps keep
                    // media time.
                    var sendAt = packet.due
                    if burst > 1 {
                        if burstCount >= burst || packet.due - burstStart > Self.maxBurstAhead {
                            burstStart = packet.due
                            burstCount = 0
                        }
                        burstCount += 1
                        sendAt = burstStart
                    }
                    let offset = buffer.writerIndex
                    let header = RTPPacket.headerWords(sequenceNumber: sequence, timestamp: rtpBase &+ Self.ticks(packet.due), ssrc: id)
                    buffer.writeMultipleIntegers(header.0, header.1, header.2)
                    buffer.writeBytes(chunk[packet.range])
                    packets.append(.init(
                        chunk: placeholder, chunkNumber: chunkNumber, offset: offset, length: buffer.writerIndex - offset,
                        due: runStartDeadline + .nanoseconds(Int64(sendAt.seconds * 1e9)), sequence: sequence,
                        fileOffset: readOffset + Int64(packet.range.lowerBound), payloadBytes: packet.range.count))
                    sequence &+= 1
                    fedUntil = packet.due
                }
                // Handed over only now: a copy taken while writing would make every write copy it.
                for index in packets.indices { packets[index].chunk = buffer }
                readOffset += Int64(chunk.count)
                pacer.enqueue(packets, for: session)
                continue
            }
            // Fed half a second ahead: a fifth of a second leaves plenty in the queue; a command
            // (PLAY, PAUSE, seek, stop) wakes the loop at once.
            await session.waitForCommand(until: .now() + Self.playingWake, on: eventLoop)
        }
        // The engine is shutting down: end as a killed process would, without BYE or report,
        // so the director moves the player's session to another replica.
        if Task.isCancelled && stopReply.isEmpty {
            logger.info("rtp stream left behind: the engine is shutting down", metadata: ["stream_id": "\(id)"])
            session.finish()
            return
        }
        // End of object or stop: give the last packets time to land, then SR+BYE (RFC 3550 §6.6).
        let completed = stopReply.isEmpty
        if completed { try? await Task.sleep(for: Self.goodbyeDelay) }
        let final = session.summary
        // The SR's RTP time must match its wall-clock time, or players resynchronise on it.
        sendRTCP(rtpTime: playing ? rtpBase &+ Self.ticks(clock.now - runStart) : lastRTPTime, packets: final.packetsSent, octets: final.bytesSent, goodbye: true)
        session.finish()
        for continuation in stopReply { continuation.resume(returning: final) }
        if completed {
            logger.info("rtp stream completed", metadata: ["stream_id": "\(id)", "bytes": "\(final.bytesSent)", "packets": "\(final.packetsSent)"])
            try? await director.end(streamID: id, bytesSent: final.bytesSent, reason: .completed, quality: final.quality)
        }
    }

    private func sendRTCP(rtpTime: UInt32, packets: Int64, octets: Int64, goodbye: Bool) {
        let bytes = RTCP.compound(
            ssrc: session.streamID,
            sender: .init(
                ntpTimestamp: Self.ntpNow(), rtpTimestamp: rtpTime, packetCount: UInt32(truncatingIfNeeded: packets),
                octetCount: UInt32(truncatingIfNeeded: octets)),
            cname: cname, goodbye: goodbye)
        let buffer = sockets.rtcp.allocator.buffer(bytes: bytes)
        sockets.rtcp.writeAndFlush(AddressedEnvelope(remoteAddress: session.clientRTCP, data: buffer), promise: nil)
    }

    /// A duration in 90 kHz RTP clock ticks (wrapping, as RTP timestamps do).
    static func ticks(_ duration: Duration) -> UInt32 {
        UInt32(truncatingIfNeeded: duration.components.seconds * 90_000 + duration.components.attoseconds / 11_111_111_111_111)
    }

    /// Wall-clock time as a 64-bit NTP timestamp (seconds since 1900 . fraction).
    static func ntpNow() -> UInt64 {
        let now = Date().timeIntervalSince1970 + 2_208_988_800
        let seconds = UInt64(now)
        let fraction = UInt64((now - Double(seconds)) * 4_294_967_296)
        return seconds << 32 | fraction
    }
}
