import Foundation
import Logging
import NIOCore
import SluiceCore
import SluiceMedia

/// The send loop of one RTP session: performs what its `RTPFeeder` decides — reads the object,
/// hands packets to the engine's `RTPPacer` half a second ahead, renews the lease every second
/// (also while paused), sends an SR every five seconds and SR+BYE after the last packet, then
/// reports the end. Between actions it waits on the session's mailbox, so PLAY, PAUSE, seek
/// and stop take effect at once.
struct RTPStreamer: Sendable {
    let session: RTPSession
    let sockets: RTPSockets
    let director: DirectorLink
    let renewInterval: Duration
    let cname: String
    let logger: Logger

    /// Pause between the last RTP packet and SR+BYE. GStreamer holds packets in a 2 s jitter
    /// buffer and drops what it still holds at BYE; ffmpeg needs about 0.5 s.
    static let goodbyeDelay: Duration = .milliseconds(2500)
    /// How often the loop looks whether the pacer has sent everything, at the end.
    static let drainWake: Duration = .milliseconds(50)

    func run() async {
        await withTaskExecutorPreference(sockets.executor) { await send() }
    }

    private func send() async {
        let id = session.streamID
        let pacer = sockets.pacer
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
        var feeder = RTPFeeder(RTPFeeder.Configuration(
            bitsPerSecond: session.bitsPerSecond, pcrPID: session.pcrPID, seekIndex: session.seekIndex,
            durationMilliseconds: session.object.durationMilliseconds, averageBitsPerSecond: session.object.averageBitsPerSecond,
            initialRTPTime: session.initialRTPTime, initialSequence: session.nextSequence,
            burstPackets: session.profile?.burstPackets ?? 1, renewInterval: renewInterval))
        // The feeder's times count from here; packets are due at this deadline plus their time.
        let clock = ContinuousClock()
        let epoch = clock.now
        let epochDeadline = NIODeadline.now()
        func now() -> Duration { clock.now - epoch }
        func deadline(_ since: Duration) -> NIODeadline { epochDeadline + .nanoseconds(Int64(since.seconds * 1e9)) }
        let placeholder = ByteBuffer()
        var chunkNumber: UInt32 = 0
        var stopReply: [CheckedContinuation<RTPSession.Summary, Never>] = []
        var unreachableSince: ContinuousClock.Instant?
        let renewal = BackgroundRenewal()

        loop: while !Task.isCancelled {
            if let outcome = renewal.take() {
                // A director restarting keeps the lease in its store: go on for a while, as the
                // HTTP sender does, but not for ever without a live reservation.
                unreachableSince = outcome == .unreachable ? (unreachableSince ?? clock.now) : nil
                let silent = unreachableSince.map { clock.now - $0 > DirectorLink.silenceLimit } ?? false
                if outcome == .gone || silent {
                    logger.info("rtp stream stopped", metadata: ["stream_id": "\(id)", "reason": "\(silent ? "director unreachable" : "lease gone")"])
                    _ = await pacer.drop(id)
                    session.finish()
                    return
                }
            }
            for command in session.takeCommands() {
                switch command {
                case .play(let start, let continuation):
                    // Whatever is queued but unsent is dropped; numbering goes on from it.
                    let dropped = await pacer.drop(id)
                    let started = feeder.playReceived(startMilliseconds: start, dropped: dropped, packetsSent: session.summary.packetsSent, now: now())
                    continuation.resume(returning: started)
                    logger.info("rtp play", metadata: ["stream_id": "\(id)", "from_byte": "\(feeder.readOffset)", "seq": "\(started.sequence)"])
                case .pause(let continuation):
                    feeder.pauseReceived(dropped: await pacer.drop(id), now: now())
                    continuation.resume()
                case .stop(let continuation):
                    _ = await pacer.drop(id)
                    stopReply.append(continuation)
                    break loop
                }
            }
            let summary = session.summary
            switch feeder.nextAction(now: now(), progress: .init(packetsSent: summary.packetsSent, nextSequence: session.nextSequence)) {
            case .renew(let position):
                let reportAge = summary.lastReceiverReport.map { ContinuousClock.now - $0 }
                let director = self.director
                renewal.start {
                    try await director.renew(
                        streamID: id, bytesSent: summary.bytesSent, quality: summary.quality, receiverReportAge: reportAge, position: position)
                }
            case .sendSenderReport(let rtpTime):
                sendRTCP(rtpTime: rtpTime, packets: summary.packetsSent, octets: summary.bytesSent, goodbye: false)
            case .read(let offset, let count):
                let readStart = ContinuousClock.now
                let chunk = (try? await reader.read(at: offset, count: count)) ?? []
                sockets.metrics.readLatency.record(ContinuousClock.now - readStart)
                let planned = feeder.chunkRead(chunk)
                guard !planned.isEmpty else { continue }
                var buffer = sockets.rtp.allocator.buffer(capacity: planned.count * RTPPacket.headerSize + chunk.count)
                var packets: [RTPPacer.Packet] = []
                packets.reserveCapacity(planned.count)
                chunkNumber &+= 1
                for packet in planned {
                    let offset = buffer.writerIndex
                    let header = RTPPacket.headerWords(sequenceNumber: packet.sequence, timestamp: packet.timestamp, ssrc: id)
                    buffer.writeMultipleIntegers(header.0, header.1, header.2)
                    buffer.writeBytes(chunk[packet.payload])
                    packets.append(.init(
                        chunk: placeholder, chunkNumber: chunkNumber, offset: offset, length: buffer.writerIndex - offset,
                        due: deadline(packet.sendAt), sequence: packet.sequence, fileOffset: packet.fileOffset,
                        payloadBytes: packet.payload.count))
                }
                // Handed over only now: a copy taken while writing would make every write copy it.
                for index in packets.indices { packets[index].chunk = buffer }
                pacer.enqueue(packets, for: session)
            case .drain:
                if await pacer.pending(id) == 0 { break loop }
                await session.waitForCommand(until: deadline(now() + Self.drainWake), wokenBy: pacer)
            case .wait(let until):
                await session.waitForCommand(until: deadline(until), wokenBy: pacer)
            }
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
        sendRTCP(rtpTime: feeder.goodbyeRTPTime(now: now()), packets: final.packetsSent, octets: final.bytesSent, goodbye: true)
        session.finish()
        for continuation in stopReply { continuation.resume(returning: final) }
        if completed {
            logger.info("rtp stream completed", metadata: ["stream_id": "\(id)", "bytes": "\(final.bytesSent)", "packets": "\(final.packetsSent)"])
            await director.reportEnd(streamID: id, bytesSent: final.bytesSent, reason: .completed, quality: final.quality, logger: logger)
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


    /// Wall-clock time as a 64-bit NTP timestamp (seconds since 1900 . fraction).
    static func ntpNow() -> UInt64 {
        let now = Date().timeIntervalSince1970 + 2_208_988_800
        let seconds = UInt64(now)
        let fraction = UInt64((now - Double(seconds)) * 4_294_967_296)
        return seconds << 32 | fraction
    }
}
