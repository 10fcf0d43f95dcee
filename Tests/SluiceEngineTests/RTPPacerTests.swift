import NIOCore
import NIOEmbedded
import SluiceCore
@testable import SluiceEngine
import SluiceGrant
import SluiceMedia
import SluiceTestKit
import Testing

/// The pacer's ticks driven by hand on an embedded channel: what each tick writes, to whom, and
/// that streams joining, draining and being dropped in any order never lose, repeat or delay a
/// packet of another (their slots are swapped as streams leave).
@Suite(.timeLimit(.minutes(1))) struct RTPPacerTests {
    static let timing: TransportStreamSummary = {
        var scanner = TransportStreamScanner()
        try! scanner.consume(SyntheticTransportStream.make(durationMilliseconds: 1_000, bitsPerSecond: 1_000_000))
        return try! scanner.finish()
    }()
    static let object = MediaObject(name: "clip", sizeBytes: 1, durationMilliseconds: 1_000, averageBitsPerSecond: 1_000_000, sha256: "")

    let epoch = NIODeadline.uptimeNanoseconds(1_000_000_000)
    /// The pacer's tick in milliseconds.
    static let tick = Int(RTPPacer.tick.nanoseconds / 1_000_000)

    func session(_ id: UInt32) -> RTPSession {
        let grant = StreamGrant(
            streamID: id, action: .play, object: "clip", engine: "e", bitsPerSecond: 1_000_000, clientAddress: "127.0.0.1",
            expiresAt: Timestamp(millisecondsSinceEpoch: 0))
        let client = try! SocketAddress(ipAddress: "127.0.0.1", port: 10_000 + Int(id))
        return RTPSession(grant: grant, object: Self.object, path: "/nonexistent", timing: Self.timing, client: client, clientRTCP: client)
    }

    /// Datagrams whose first byte is the stream and whose second is the packet number.
    func packets(_ stream: UInt8, dueMilliseconds: [Int], from first: Int = 0) -> [RTPPacer.Packet] {
        dueMilliseconds.enumerated().map { index, due -> RTPPacer.Packet in
            let number = first + index
            return RTPPacer.Packet(
                chunk: ByteBuffer(bytes: [stream, UInt8(number)]), chunkNumber: UInt32(number), offset: 0, length: 2,
                due: epoch + .milliseconds(Int64(due)), sequence: UInt16(number), fileOffset: 0, payloadBytes: 2)
        }
    }

    /// What the channel was handed since the last look: (stream, packet number, port).
    func written(_ channel: EmbeddedChannel) throws -> [(stream: UInt8, number: UInt8, port: Int)] {
        var out: [(UInt8, UInt8, Int)] = []
        while let envelope = try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self) {
            let bytes = Array(envelope.data.readableBytesView)
            out.append((bytes[0], bytes[1], envelope.remoteAddress.port ?? 0))
        }
        return out
    }

    @Test func aTickWritesWhatIsDueWithinTwoTicksToEachStreamsClient() throws {
        let channel = EmbeddedChannel()
        let pacer = RTPPacer(channel: channel, burst: nil, metrics: EngineMetrics(engine: "e"))
        defer { pacer.stop() }
        let (a, b) = (session(1), session(2))
        // Times in ticks: a tick sends what is due within two.
        let t = Self.tick
        pacer.enqueue(packets(1, dueMilliseconds: [0, t, 2 * t, 3 * t, 10 * t]), for: a)
        pacer.enqueue(packets(2, dueMilliseconds: [5 * t]), for: b)

        pacer.send(now: epoch)
        #expect(try written(channel).map { "\($0.stream).\($0.number)@\($0.port)" } == ["1.0@10001", "1.1@10001", "1.2@10001"])
        pacer.send(now: epoch + .milliseconds(Int64(3 * t)))
        #expect(try written(channel).map { "\($0.stream).\($0.number)" } == ["1.3", "2.0"])
        #expect(a.summary.packetsSent == 4 && b.summary.packetsSent == 1)
        #expect(b.nextSequence == 1)
        pacer.send(now: epoch + .milliseconds(Int64(8 * t - 1)))
        #expect(try written(channel).isEmpty)
        pacer.send(now: epoch + .milliseconds(Int64(8 * t)))
        #expect(try written(channel).map { "\($0.stream).\($0.number)" } == ["1.4"])
    }

    /// Send loops sleep on the pacer's ticks: each wake-up runs once, never before its
    /// instant, and at most a tick period (plus the spacing of ticks) after it or after it was
    /// asked for. Ticks come every half period here, at a random phase, to catch an early one.
    @Test func waitsWakeOnceNeverEarlyAndWithinATickPeriod() throws {
        final class Record: @unchecked Sendable {  // one thread: the embedded loop's
            var now: Int64 = 0
            var woken: [Int: [Int64]] = [:]
        }
        var generator = SeededGenerator(seed: 21)
        let period = Int64(RTPPacer.tickNanoseconds)
        for _ in 0..<20 {
            let channel = EmbeddedChannel()
            let pacer = RTPPacer(channel: channel, burst: nil, metrics: EngineMetrics(engine: "e"))
            defer { pacer.stop() }
            let record = Record()
            var asked: [(at: Int64, when: Int64)] = []
            record.now = Int64.random(in: 0..<period, using: &generator)
            for _ in 0..<200 {
                for _ in 0..<Int.random(in: 0...2, using: &generator) {
                    let number = asked.count
                    // Some instants are already past when asked for.
                    let at = record.now + Int64.random(in: -period...(20 * period), using: &generator)
                    asked.append((at, record.now))
                    pacer.wake(at: epoch + .nanoseconds(at)) { record.woken[number, default: []].append(record.now) }
                }
                record.now += period / 2
                pacer.send(now: epoch + .nanoseconds(record.now))
            }
            let lastRegularTick = record.now
            record.now += 30 * period
            pacer.send(now: epoch + .nanoseconds(record.now))
            for (number, wait) in asked.enumerated() {
                let times = record.woken[number] ?? []
                #expect(times.count == 1, "wake-up \(number) ran \(times.count) times")
                guard let time = times.first else { continue }
                #expect(time >= wait.at, "wake-up \(number) ran \(wait.at - time) ns early")
                let latest = max(wait.at, wait.when) + period + period / 2
                if latest <= lastRegularTick { #expect(time <= latest, "wake-up \(number) ran \(time - latest) ns late") }
            }
        }
    }

    @Test func streamsComingAndGoingInAnyOrderLoseRepeatAndDelayNothing() throws {
        var generator = SeededGenerator(seed: 20)
        for _ in 0..<50 {
            let channel = EmbeddedChannel()
            let pacer = RTPPacer(channel: channel, burst: nil, metrics: EngineMetrics(engine: "e"))
            defer { pacer.stop() }
            var due: [UInt8: [Int]] = [:]
            var sent: [UInt8: Int] = [:]
            var dropped: Set<UInt8> = []
            var now = 0
            var stream: UInt8 = 0
            var sessions: [UInt8: RTPSession] = [:]
            // Streams come and go for 200 ms; the last are due by 240.
            while now < 250 {
                // Now and then a stream joins with packets up to 40 ms ahead, or gets more, or is dropped.
                switch now < 200 ? generator.next() % 4 : 3 {
                case 0 where stream < 200:
                    stream += 1
                    let times = (0..<Int(1 + generator.next() % 8)).map { _ in now + Int(generator.next() % 40) }.sorted()
                    due[stream] = times
                    sessions[stream] = session(UInt32(stream))
                    pacer.enqueue(packets(stream, dueMilliseconds: times), for: sessions[stream]!)
                case 2 where stream > 0:
                    let fed = UInt8(1 + generator.next() % UInt64(stream))
                    guard !dropped.contains(fed), let times = due[fed], times.count < 200 else { break }
                    let more = (0..<Int(1 + generator.next() % 4)).map { _ in max(now, times.last!) + Int(generator.next() % 20) }.sorted()
                    due[fed] = times + more
                    pacer.enqueue(packets(fed, dueMilliseconds: more, from: times.count), for: sessions[fed]!)
                case 1 where stream > 0:
                    let victim = UInt8(1 + generator.next() % UInt64(stream))
                    if dropped.insert(victim).inserted {
                        let first = pacer.dropNow(UInt32(victim))
                        let next = sent[victim, default: 0]
                        // The first packet it still held comes back, so a PLAY can go on from it.
                        #expect(first?.sequence == (next < due[victim]!.count ? UInt16(next) : nil))
                    }
                default: break
                }
                pacer.send(now: epoch + .milliseconds(Int64(now)))
                for packet in try written(channel) {
                    let times = try #require(due[packet.stream])
                    let number = Int(packet.number)
                    #expect(number == sent[packet.stream, default: 0], "stream \(packet.stream) out of order")
                    #expect(!dropped.contains(packet.stream), "a dropped stream sent")
                    #expect(times[number] <= now + 2 * Self.tick, "sent more than two ticks early")
                    #expect(times[number] >= now, "sent late")
                    sent[packet.stream] = number + 1
                }
                // Nothing due within the horizon is left behind by the tick.
                for (id, times) in due where !dropped.contains(id) && sent[id, default: 0] < times.count {
                    #expect(times[sent[id, default: 0]] > now + 2 * Self.tick, "stream \(id) held a due packet")
                }
                now += 1
            }
            for (id, times) in due where !dropped.contains(id) {
                #expect(sent[id, default: 0] == times.count, "stream \(id) lost packets")
            }
        }
    }
}
