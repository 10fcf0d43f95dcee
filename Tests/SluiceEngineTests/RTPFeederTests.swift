import SluiceCore
@testable import SluiceEngine
import SluiceMedia
import Testing

/// The RTP send loop's decisions, step by step with the time passed in: what it reads, how it
/// numbers and times packets, and what PLAY, PAUSE and seek do to them.
@Suite(.timeLimit(.minutes(1))) struct RTPFeederTests {
    /// Ten seconds at 1 Mbit/s with a PCR in every few packets, and its seek index.
    static let media = SyntheticTransportStream.make(durationMilliseconds: 10_000, bitsPerSecond: 1_000_000)
    static let summary: TransportStreamSummary = {
        var scanner = TransportStreamScanner()
        try! scanner.consume(media)
        return try! scanner.finish()
    }()

    func feeder(burst: Int = 1) -> RTPFeeder {
        RTPFeeder(RTPFeeder.Configuration(
            bitsPerSecond: 1_050_000, pcrPID: Self.summary.pcrPID, seekIndex: Self.summary.seekIndex,
            durationMilliseconds: 10_000, averageBitsPerSecond: 1_000_000, initialRTPTime: 1_000, initialSequence: 65_530,
            burstPackets: burst, renewInterval: .seconds(1)))
    }

    func read(_ feeder: inout RTPFeeder, offset: Int64, count: Int) -> [RTPFeeder.PlannedPacket] {
        let start = Int(offset)
        return feeder.chunkRead(Array(Self.media[start..<min(Self.media.count, start + count)]))
    }

    static let idle = RTPFeeder.Progress(packetsSent: 0, nextSequence: 65_530)

    /// The next read at `now`, past any renewal or sender report due first.
    func nextRead(_ feeder: inout RTPFeeder, now: Duration, sourceLocation: SourceLocation = #_sourceLocation) -> (offset: Int64, count: Int)? {
        for _ in 0..<3 {
            switch feeder.nextAction(now: now, progress: Self.idle) {
            case .read(let offset, let count): return (offset, count)
            case .renew, .sendSenderReport: continue
            case let other:
                Issue.record("expected a read at \(now), got \(other)", sourceLocation: sourceLocation)
                return nil
            }
        }
        return nil
    }

    @Test func setUpButNotPlayingItOnlyRenewsAndWaits() {
        var feeder = feeder()
        #expect(feeder.nextAction(now: .milliseconds(10), progress: Self.idle) == .wait(until: .milliseconds(110)))
        guard case .renew(let position) = feeder.nextAction(now: .seconds(1), progress: Self.idle) else {
            Issue.record("no renewal after a second")
            return
        }
        #expect(!position.isPlaying && position.milliseconds == 0)
        #expect(feeder.nextAction(now: .milliseconds(1_950), progress: Self.idle) == .wait(until: .seconds(2)))
    }

    @Test func playReadsAtOnceThenFeedsHalfASecondAheadWithPacketsInOrder() {
        var feeder = feeder()
        let started = feeder.playReceived(startMilliseconds: nil, dropped: nil, packetsSent: 0, now: .milliseconds(100))
        #expect(started.sequence == 65_530 && started.rtpTime == 1_000 && started.startMilliseconds == 0)
        var packets: [RTPFeeder.PlannedPacket] = []
        var now = Duration.milliseconds(100)
        while packets.last.map({ $0.sendAt <= now + .milliseconds(500) }) ?? true {
            guard case .read(let offset, let count) = feeder.nextAction(now: now, progress: Self.idle) else {
                Issue.record("fed less than half a second ahead")
                return
            }
            #expect(offset == Int64(packets.count * 1316))
            packets += read(&feeder, offset: offset, count: count)
        }
        // Fed: it waits, until it must feed again or renew.
        guard case .wait(let until) = feeder.nextAction(now: now, progress: Self.idle) else {
            Issue.record("kept reading although fed")
            return
        }
        #expect(until > now && until <= now + .milliseconds(200))
        // Numbering wraps; send times never run backwards; timestamps follow media time at 90 kHz.
        #expect(packets.prefix(8).map(\.sequence) == [65_530, 65_531, 65_532, 65_533, 65_534, 65_535, 0, 1])
        #expect(zip(packets, packets.dropFirst()).allSatisfy { $0.sendAt <= $1.sendAt && $0.fileOffset < $1.fileOffset })
        #expect(packets.first?.sendAt == .milliseconds(100))
        let last = packets[packets.count - 1]
        #expect(last.timestamp &- 1_000 == RTPFeeder.ticks(last.sendAt - .milliseconds(100)))
        now += .milliseconds(400)
        #expect(feeder.nextAction(now: now, progress: Self.idle).isRead)
    }

    @Test func pauseResumesFromTheFirstUnsentPacketWithTimestampsMovingOn() {
        var feeder = feeder()
        _ = feeder.playReceived(startMilliseconds: nil, dropped: nil, packetsSent: 0, now: .zero)
        var packets: [RTPFeeder.PlannedPacket] = []
        while packets.count < 30, case .read(let offset, let count) = feeder.nextAction(now: .zero, progress: Self.idle) {
            packets += read(&feeder, offset: offset, count: count)
        }
        // 300 ms later the pacer had sent up to packet 20; PAUSE drops the rest.
        let unsent = packets[20]
        feeder.pauseReceived(dropped: (unsent.sequence, unsent.fileOffset), now: .milliseconds(300))
        #expect(!feeder.isPlaying)
        guard case .wait = feeder.nextAction(now: .milliseconds(300), progress: Self.idle) else {
            Issue.record("a paused stream read on")
            return
        }
        let resumed = feeder.playReceived(startMilliseconds: nil, dropped: nil, packetsSent: 20, now: .seconds(5))
        #expect(resumed.sequence == unsent.sequence)
        #expect(resumed.rtpTime == 1_000 &+ RTPFeeder.ticks(.milliseconds(300)) &+ 3000)
        #expect(resumed.startMilliseconds == Int64(Double(unsent.fileOffset) * 8 / 1_000_000 * 1000))
        guard case .renew(let position) = feeder.nextAction(now: .seconds(5), progress: Self.idle),
              case .read(let again, _) = feeder.nextAction(now: .seconds(5), progress: Self.idle) else {
            Issue.record("PLAY did not renew (overdue) and read at once")
            return
        }
        #expect(position.isPlaying)
        #expect(again == unsent.fileOffset)
    }

    @Test func aSeekReadsFromTheAccessPointAtOrBeforeTheAskedTime() {
        var feeder = feeder()
        let started = feeder.playReceived(startMilliseconds: 6_000, dropped: nil, packetsSent: 0, now: .zero)
        #expect(started.startMilliseconds == 6_000)
        let expected = Self.summary.seekIndex.byteOffset(forMilliseconds: 6_000)
        #expect(expected > 0)
        #expect(feeder.nextAction(now: .zero, progress: Self.idle) == .read(offset: expected, count: feeder.readBytes))
    }

    @Test func theEndDrainsAndTheGoodbyeTimeMatchesTheClock() {
        var feeder = feeder()
        _ = feeder.playReceived(startMilliseconds: 9_000, dropped: nil, packetsSent: 0, now: .zero)
        var now = Duration.zero
        var drained = false
        for _ in 0..<1_000 where !drained {
            switch feeder.nextAction(now: now, progress: Self.idle) {
            case .read(let offset, let count): _ = read(&feeder, offset: offset, count: count)
            case .wait(let until): now = until
            case .renew, .sendSenderReport: continue
            case .drain: drained = true
            }
        }
        #expect(drained)
        #expect(feeder.readOffset == Int64(Self.media.count))
        #expect(feeder.goodbyeRTPTime(now: .seconds(2)) == 1_000 &+ 180_000)
    }

    @Test func aSenderReportEveryFiveSecondsOnceSomethingWasSent() {
        var feeder = feeder()
        _ = feeder.playReceived(startMilliseconds: nil, dropped: nil, packetsSent: 0, now: .zero)
        _ = feeder.nextAction(now: .seconds(5), progress: Self.idle)  // the renewal comes first
        #expect(!feeder.nextAction(now: .seconds(5), progress: Self.idle).isSenderReport, "nothing sent yet")
        let sent = RTPFeeder.Progress(packetsSent: 100, nextSequence: 94)
        #expect(feeder.nextAction(now: .seconds(5), progress: sent) == .sendSenderReport(rtpTime: 1_000 &+ 450_000))
        #expect(!feeder.nextAction(now: .seconds(5), progress: sent).isSenderReport)
    }

    @Test func aLicensedBurstGroupsPacketsNeverLateAndARestartedRunOpensAFreshBurst() {
        var feeder = feeder(burst: 4)
        _ = feeder.playReceived(startMilliseconds: nil, dropped: nil, packetsSent: 0, now: .zero)
        guard let (offset, count) = nextRead(&feeder, now: .zero) else { return }
        let packets = read(&feeder, offset: offset, count: count)
        let groups = Dictionary(grouping: packets, by: \.sendAt)
        #expect(groups.count > 1 && groups.values.allSatisfy { $0.count <= 4 })
        // Never late: each goes at or before the time its timestamp says.
        #expect(packets.allSatisfy { RTPFeeder.ticks($0.sendAt) <= $0.timestamp &- 1_000 })
        // Seek back: the first packet of the new run goes when it is due, not with the old run's burst.
        let restarted = feeder.playReceived(startMilliseconds: 0, dropped: nil, packetsSent: 10, now: .seconds(3))
        #expect(restarted.startMilliseconds == 0)
        guard let (again, size) = nextRead(&feeder, now: .seconds(3)) else { return }
        #expect(read(&feeder, offset: again, count: size).first?.sendAt == .seconds(3))
    }
}

extension RTPFeeder.Action {
    var isRead: Bool { if case .read = self { true } else { false } }
    var isSenderReport: Bool { if case .sendSenderReport = self { true } else { false } }
}
