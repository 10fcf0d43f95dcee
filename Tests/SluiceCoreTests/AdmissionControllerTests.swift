import SluiceCore
import Testing

@Suite(.timeLimit(.minutes(1))) struct AdmissionControllerTests {
    /// core-edge (10 Mbit/s) fits exactly three 3 Mbit/s streams; the detour is closed.
    func threeSlotController() -> AdmissionController {
        var object = Fixtures.object
        object.averageBitsPerSecond = 3_000_000
        var controller = Fixtures.controller(topology: Fixtures.topology(coreAlt: 1))
        controller.objectAdded(object, on: "engine-a")
        return controller
    }

    @Test func reservesTheRateOnEveryLinkOfThePath() throws {
        var controller = Fixtures.controller()
        let stream = try #require(controller.requestReceived(Fixtures.play(1), now: Fixtures.start).stream)
        #expect(stream.hops.map(\.link) == ["a-core", "core-edge"])
        #expect(controller.book.reserved(onLink: "a-core") == 1_000_000)
        #expect(controller.book.reserved(onLink: "core-edge") == 1_000_000)
        #expect(controller.book.usage(ofEngine: "engine-a").streams == 1)
        #expect(stream.id != 0)
    }

    @Test func admitsThreeQueuesTheRestAndWakesThemInOrder() throws {
        var controller = threeSlotController()
        var admitted: [LiveStream] = []
        for ticket in 1...6 as ClosedRange<UInt64> {
            let decision = controller.requestReceived(Fixtures.play(ticket), now: Fixtures.start)
            if let stream = decision.stream { admitted.append(stream) } else { #expect(decision.isQueued) }
        }
        #expect(admitted.count == 3)
        #expect(controller.queue.count == 3)
        #expect(controller.book.reserved(onLink: "core-edge") == 9_000_000)
        let refusal = controller.queue.waiters.first?.lastRefusal
        #expect(refusal?.code == .pathFull)
        #expect(refusal?.link == "core-edge")

        let now = Fixtures.start + .seconds(1)
        let first = controller.streamEnded(id: admitted[0].id, now: now)
        #expect(first.queue.count == 1)
        guard case .admitted(let ticket, _) = first.queue.first else { Issue.record("waiter not admitted"); return }
        #expect(ticket == 4)
        let second = controller.streamEnded(id: admitted[1].id, now: now)
        guard case .admitted(let nextTicket, _) = second.queue.first else { Issue.record("waiter not admitted"); return }
        #expect(nextTicket == 5)
        #expect(controller.book.reserved(onLink: "core-edge") <= 10_000_000)
    }

    @Test func refusesWaitersWhenTheirDeadlinePasses() {
        var controller = threeSlotController()
        for ticket in 1...3 as ClosedRange<UInt64> { _ = controller.requestReceived(Fixtures.play(ticket), now: Fixtures.start) }
        let late = controller.requestReceived(Fixtures.play(4, wait: .seconds(2)), now: Fixtures.start)
        #expect(late.isQueued)
        #expect(controller.clockAdvanced(now: Fixtures.start + .seconds(1)).queue.isEmpty)
        let outcome = controller.clockAdvanced(now: Fixtures.start + .seconds(2))
        guard case .refused(let ticket, let refusal) = outcome.queue.first else { Issue.record("waiter not refused"); return }
        #expect(ticket == 4)
        #expect(refusal.code == .waitExpired)
        #expect(refusal.link == "core-edge")
        #expect(controller.queue.count == 0)
    }

    @Test func refusesAtOnceWhenTheQueueIsFull() {
        var policy = Fixtures.policy()
        policy.maxQueueLength = 1
        var object = Fixtures.object
        object.averageBitsPerSecond = 6_000_000
        var controller = Fixtures.controller(topology: Fixtures.topology(coreAlt: 1), policy: policy)
        controller.objectAdded(object, on: "engine-a")
        #expect(controller.requestReceived(Fixtures.play(1), now: Fixtures.start).stream != nil)
        #expect(controller.requestReceived(Fixtures.play(2), now: Fixtures.start).isQueued)
        #expect(controller.requestReceived(Fixtures.play(3), now: Fixtures.start).refusal?.code == .queueFull)
    }

    @Test func unknownObjectsAreRefusedNotQueued() {
        var controller = Fixtures.controller()
        let request = AdmissionRequest(ticket: 1, kind: .play(object: "nope"), clientAddress: "10.0.0.1", deadline: Fixtures.start + .seconds(5))
        let decision = controller.requestReceived(request, now: Fixtures.start)
        #expect(!decision.isQueued)
        #expect(decision.refusal?.code == .unknownObject)
    }

    @Test func leaseRunsExpectedDurationTimesOnePointOnePlusSlackAndExpiryReleases() throws {
        var controller = Fixtures.controller()
        let stream = try #require(controller.requestReceived(Fixtures.play(1), now: Fixtures.start).stream)
        #expect(stream.leaseExpiry == Fixtures.start + .seconds(11) + .seconds(5))
        // The engine starts it (one renewal), then falls silent.
        #expect(controller.leaseRenewed(id: stream.id, now: Fixtures.start + .seconds(1))?.leaseExpiry == stream.leaseExpiry)
        #expect(controller.clockAdvanced(now: Fixtures.start + .seconds(15)).expired.isEmpty)
        let outcome = controller.clockAdvanced(now: Fixtures.start + .seconds(16))
        #expect(outcome.expired.map(\.id) == [stream.id])
        #expect(controller.book.linkReserved.isEmpty)
        #expect(controller.book.engineUsage.isEmpty)
    }

    @Test func renewalKeepsAPausedStreamAlive() throws {
        var controller = Fixtures.controller()
        let stream = try #require(controller.requestReceived(Fixtures.play(1), now: Fixtures.start).stream)
        var now = Fixtures.start
        for _ in 0..<60 {  // a minute of pause, renewing every second, far past the 16 s lease
            now = now + .seconds(1)
            #expect(controller.leaseRenewed(id: stream.id, now: now) != nil)
            #expect(controller.clockAdvanced(now: now).expired.isEmpty)
        }
        #expect(controller.streams[stream.id] != nil)
        #expect(controller.clockAdvanced(now: now + .seconds(5)).expired.map(\.id) == [stream.id])
        #expect(controller.leaseRenewed(id: stream.id, now: now) == nil)
    }

    @Test func releasesStreamsNobodyStartsWithinTheClaimTimeout() throws {
        var controller = Fixtures.controller()
        let idle = try #require(controller.requestReceived(Fixtures.play(1), now: Fixtures.start).stream)
        let started = try #require(controller.requestReceived(Fixtures.play(2), now: Fixtures.start).stream)
        #expect(controller.leaseRenewed(id: started.id, now: Fixtures.start + .seconds(1))?.isClaimed == true)
        #expect(controller.clockAdvanced(now: Fixtures.start + .seconds(14)).unclaimed.isEmpty)
        let outcome = controller.clockAdvanced(now: Fixtures.start + .seconds(15))
        #expect(outcome.unclaimed.map(\.id) == [idle.id])
        #expect(controller.streams.keys.sorted() == [started.id])
        #expect(controller.book.reserved(onLink: "core-edge") == 1_000_000)
    }

    @Test func choosesTheLeastLoadedReplica() throws {
        var controller = Fixtures.controller(engines: ["engine-a", "engine-b"])
        let first = try #require(controller.requestReceived(Fixtures.play(1), now: Fixtures.start).stream)
        let second = try #require(controller.requestReceived(Fixtures.play(2), now: Fixtures.start).stream)
        #expect(Set([first.engine, second.engine]) == ["engine-a", "engine-b"])
    }

    @Test func silentEnginesGoDownAndGetNoNewStreams() {
        var controller = Fixtures.controller()
        let later = Fixtures.start + .seconds(6)
        #expect(controller.clockAdvanced(now: later).enginesDown == ["engine-a"])
        #expect(controller.requestReceived(Fixtures.play(1, at: later), now: later).refusal?.code == .noReplica)
        let known = controller.heartbeatReceived(engine: "engine-a", now: later)
        #expect(known)
        #expect(controller.requestReceived(Fixtures.play(2, at: later), now: later).stream != nil)
        let stranger = controller.heartbeatReceived(engine: "stranger", now: later)
        #expect(!stranger)
    }

    @Test func labelsAreUniquePerNodeAndStreamIDsNeverZero() throws {
        var object = Fixtures.object
        object.averageBitsPerSecond = 1000
        var controller = Fixtures.controller()
        controller.objectAdded(object, on: "engine-a")
        var ids: Set<UInt32> = []
        var labels: [String: Set<UInt32>] = [:]
        for ticket in 1...50 as ClosedRange<UInt64> {
            let stream = try #require(controller.requestReceived(Fixtures.play(ticket), now: Fixtures.start).stream)
            #expect(ids.insert(stream.id).inserted)
            #expect(stream.id != 0)
            for hop in stream.hops {
                #expect(LabelAllocator.range.contains(hop.label))
                #expect(labels[hop.node, default: []].insert(hop.label).inserted)
            }
        }
    }

    @Test func restoredStreamsCountAgainstCapacity() throws {
        var controller = threeSlotController()
        var streams: [LiveStream] = []
        for ticket in 1...3 as ClosedRange<UInt64> {
            streams.append(try #require(controller.requestReceived(Fixtures.play(ticket), now: Fixtures.start).stream))
        }
        var restarted = threeSlotController()
        for stream in streams { restarted.streamRestored(stream) }
        #expect(restarted.book.reserved(onLink: "core-edge") == 9_000_000)
        #expect(restarted.requestReceived(Fixtures.play(9), now: Fixtures.start).isQueued)
        _ = restarted.streamEnded(id: streams[0].id, now: Fixtures.start)
        #expect(restarted.book.reserved(onLink: "core-edge") == 9_000_000)  // the waiter took the freed room
    }

    @Test func uploadsReserveDiskAndWriteBandwidth() throws {
        var controller = Fixtures.controller()
        let request = AdmissionRequest(ticket: 1, kind: .ingest(object: "new", sizeBytes: 5000), clientAddress: "10.0.0.1", deadline: Fixtures.start)
        let upload = try #require(controller.requestReceived(request, now: Fixtures.start).stream)
        #expect(upload.kind == .ingest)
        #expect(controller.book.usage(ofEngine: "engine-a").diskBytes == 5000)
        #expect(controller.book.usage(ofEngine: "engine-a").streams == 0)
        let exists = AdmissionRequest(ticket: 2, kind: .ingest(object: "movie", sizeBytes: 1), clientAddress: "10.0.0.1", deadline: Fixtures.start)
        #expect(controller.requestReceived(exists, now: Fixtures.start).refusal?.code == .objectExists)
        let huge = AdmissionRequest(ticket: 3, kind: .ingest(object: "huge", sizeBytes: 1 << 41), clientAddress: "10.0.0.1", deadline: Fixtures.start)
        #expect(controller.requestReceived(huge, now: Fixtures.start).refusal?.code == .engineFull)
    }
}

@Suite(.timeLimit(.minutes(1))) struct AllocatorAndBucketTests {
    @Test func streamIDsSkipZeroOnWrap() {
        var ids = StreamIDAllocator(seed: UInt32.max)
        #expect(ids.allocate() == UInt32.max)
        #expect(ids.allocate() == 1)
        let claimedZero = ids.claim(0)
        #expect(!claimedZero)
    }

    @Test func labelsAreReusedOnlyAfterRelease() {
        var labels = LabelAllocator()
        let a = labels.allocate(atNode: "n")
        let b = labels.allocate(atNode: "n")
        #expect(a == 16 && b == 17)
        #expect(labels.allocate(atNode: "other") == 16)
        labels.free(16, atNode: "n")
        #expect(!labels.labels(atNode: "n").contains(16))
        let claimedReserved = labels.claim(15, atNode: "n")
        #expect(!claimedReserved)
    }

    @Test func tokenBucketPacesAtTheRateAfterTheBurst() {
        var bucket = TokenBucket(bitsPerSecond: 8_000, burstBytes: 1000)  // 1000 bytes/s
        #expect(bucket.delay(sending: 1000, at: .zero) == .zero)
        #expect(bucket.delay(sending: 500, at: .zero) == .milliseconds(500))
        // Sending on schedule never needs to wait longer than the schedule says.
        #expect(bucket.delay(sending: 500, at: .seconds(1)) == .zero)
        // Time far in the future refills only up to the burst.
        #expect(bucket.delay(sending: 2000, at: .seconds(100)) == .seconds(1))
    }
}
