import Foundation
import Logging
import NIOCore
import SluiceCore
import SluiceMedia

/// The send loop of one RTP session: reads the object, packetizes seven TS packets per RTP
/// packet, sends each when its PCR says (never faster than the reserved rate), renews the
/// lease every second (also while paused), sends an SR every five seconds and SR+BYE half a
/// second after the last packet, then reports the end.
struct RTPStreamer: Sendable {
    let session: RTPSession
    let sockets: RTPSockets
    let director: DirectorLink
    let renewInterval: Duration
    let cname: String
    let logger: Logger

    static let readBytes = 188 * 7 * 24
    static let senderReportInterval: Duration = .seconds(5)
    /// Packets due within this window go out together (one flush).
    static let batchWindow: Duration = .milliseconds(2)
    /// Pause between the last RTP packet and SR+BYE. GStreamer holds packets in a 2 s jitter
    /// buffer and drops what it still holds at BYE; ffmpeg needs about 0.5 s.
    static let goodbyeDelay: Duration = .milliseconds(2500)

    func run() async {
        let clock = ContinuousClock()
        let id = session.streamID
        guard let file = FileHandle(forReadingAtPath: session.path) else {
            logger.error("cannot open object for RTP", metadata: ["stream_id": "\(id)", "path": "\(session.path)"])
            session.finish()
            try? await director.end(streamID: id, bytesSent: 0, reason: .failed)
            return
        }
        defer { try? file.close() }
        var sequence = session.nextSequence
        var rtpBase = session.initialRTPTime
        var lastRTPTime = rtpBase
        var playing = false
        var runStart = clock.now
        var packetizer = MP2TPacketizer(pcrPID: session.pcrPID, maxBitsPerSecond: session.bitsPerSecond)
        var chunk: [UInt8] = []
        var chunkOffset: Int64 = 0  // file offset of chunk[0]
        var pending: [MP2TPacketizer.Packet] = []
        var pendingIndex = 0
        var lastRenewal = clock.now
        var lastSenderReport = clock.now
        var packetsSent: UInt32 = 0
        var octetsSent: UInt32 = 0
        var stopReply: [CheckedContinuation<RTPSession.Summary, Never>] = []

        /// File offset of the first byte not yet sent.
        func nextUnsentOffset() -> Int64 {
            pendingIndex < pending.count ? chunkOffset + Int64(pending[pendingIndex].range.lowerBound) : chunkOffset + Int64(chunk.count)
        }

        loop: while !Task.isCancelled {
            for command in session.takeCommands() {
                switch command {
                case .play(let start, let continuation):
                    let offset = start.map { $0 <= 0 ? 0 : session.seekIndex.byteOffset(forMilliseconds: $0) } ?? nextUnsentOffset()
                    chunk = []
                    pending = []
                    pendingIndex = 0
                    chunkOffset = offset
                    packetizer = MP2TPacketizer(pcrPID: session.pcrPID, maxBitsPerSecond: session.bitsPerSecond)
                    // Timestamps move on from the last one sent, so they never run backwards.
                    rtpBase = packetsSent == 0 ? session.initialRTPTime : lastRTPTime &+ 3000
                    runStart = clock.now
                    playing = true
                    let position = start ?? Int64(Double(offset) * 8 / Double(max(1, session.object.averageBitsPerSecond)) * 1000)
                    continuation.resume(returning: .init(sequence: sequence, rtpTime: rtpBase, startMilliseconds: position))
                    logger.info("rtp play", metadata: ["stream_id": "\(id)", "from_byte": "\(offset)", "seq": "\(sequence)"])
                case .pause(let continuation):
                    playing = false
                    continuation.resume()
                case .stop(let continuation):
                    stopReply.append(continuation)
                    break loop
                }
            }
            if clock.now - lastRenewal >= renewInterval {
                lastRenewal = clock.now
                let summary = session.summary
                let reportAge = summary.lastReceiverReport.map { clock.now - $0 }
                if let alive = try? await director.renew(streamID: id, bytesSent: summary.bytesSent, quality: summary.quality, receiverReportAge: reportAge), !alive {
                    logger.info("rtp stream stopped: lease gone", metadata: ["stream_id": "\(id)"])
                    session.finish()
                    return
                }
            }
            if clock.now - lastSenderReport >= Self.senderReportInterval && packetsSent > 0 {
                lastSenderReport = clock.now
                sendRTCP(rtpTime: playing ? rtpBase &+ Self.ticks(clock.now - runStart) : lastRTPTime, packets: packetsSent, octets: octetsSent, goodbye: false)
            }
            guard playing else {
                try? await Task.sleep(for: .milliseconds(20))
                continue
            }
            if pendingIndex >= pending.count {
                chunkOffset += Int64(chunk.count)
                let data = (try? file.seek(toOffset: UInt64(chunkOffset))).flatMap { try? file.read(upToCount: Self.readBytes) } ?? Data()
                chunk = [UInt8](data)
                chunk.removeLast(chunk.count % TransportStreamScanner.packetSize)
                if chunk.isEmpty { break loop }  // end of object
                pending = packetizer.packets(in: chunk[...])
                pendingIndex = 0
            }
            let elapsed = clock.now - runStart
            var sentPackets = 0
            var sentBytes = 0
            while pendingIndex < pending.count, pending[pendingIndex].due <= elapsed + Self.batchWindow {
                let packet = pending[pendingIndex]
                lastRTPTime = rtpBase &+ Self.ticks(packet.due)
                var buffer = sockets.rtp.allocator.buffer(capacity: RTPPacket.headerSize + packet.range.count)
                buffer.writeInteger(UInt8(0x80))
                buffer.writeInteger(RTPPacket.mp2tPayloadType)
                buffer.writeInteger(sequence)
                buffer.writeInteger(lastRTPTime)
                buffer.writeInteger(id)
                buffer.writeBytes(chunk[packet.range])
                sockets.rtp.write(AddressedEnvelope(remoteAddress: session.client, data: buffer), promise: nil)
                sequence &+= 1
                sentPackets += 1
                sentBytes += packet.range.count
                pendingIndex += 1
            }
            if sentPackets > 0 {
                sockets.rtp.flush()
                packetsSent &+= UInt32(sentPackets)
                octetsSent &+= UInt32(truncatingIfNeeded: sentBytes)
                session.recordSent(packets: sentPackets, bytes: sentBytes, nextSequence: sequence)
            }
            if pendingIndex < pending.count {
                let wait = pending[pendingIndex].due - (clock.now - runStart)
                if wait > .zero { try? await Task.sleep(for: min(wait, .milliseconds(50))) }
            }
        }
        // End of object or stop: give the last packets time to land, then SR+BYE (RFC 3550 §6.6).
        let completed = stopReply.isEmpty
        if completed { try? await Task.sleep(for: Self.goodbyeDelay) }
        // The SR's RTP time must match its wall-clock time, or players resynchronise on it.
        sendRTCP(rtpTime: playing ? rtpBase &+ Self.ticks(clock.now - runStart) : lastRTPTime, packets: packetsSent, octets: octetsSent, goodbye: true)
        session.finish()
        let summary = session.summary
        for continuation in stopReply { continuation.resume(returning: summary) }
        if completed {
            logger.info("rtp stream completed", metadata: ["stream_id": "\(id)", "bytes": "\(summary.bytesSent)", "packets": "\(summary.packetsSent)"])
            try? await director.end(streamID: id, bytesSent: summary.bytesSent, reason: .completed, quality: summary.quality)
        }
    }

    private func sendRTCP(rtpTime: UInt32, packets: UInt32, octets: UInt32, goodbye: Bool) {
        let bytes = RTCP.compound(
            ssrc: session.streamID, sender: .init(ntpTimestamp: Self.ntpNow(), rtpTimestamp: rtpTime, packetCount: packets, octetCount: octets),
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
