import SluiceCore
import Testing

/// engine-a can send three 1 Mbit/s streams to the edge; engine-b and engine-c have room. A
/// backbone carries copies between engines:
///
///     engine-a --a-edge (3.5 Mbit/s)--> edge <--b-edge-- engine-b, <--c-edge-- engine-c
///     engine-a --a-b (backbone)--> engine-b,  engine-a --a-c--> engine-c
@Suite(.timeLimit(.minutes(1))) struct ReplicationPlannerTests {
    static let start = Fixtures.start

    static func topology() -> Topology {
        (try? Topology(
            nodes: ["engine-a", "engine-b", "engine-c"].map { Node(name: $0, kind: .engine) } + [Node(name: "edge", kind: .edge)],
            links: [
                Link(name: "a-edge", from: "engine-a", to: "edge", capacityBitsPerSecond: 3_500_000),
                Link(name: "b-edge", from: "engine-b", to: "edge", capacityBitsPerSecond: 100_000_000),
                Link(name: "c-edge", from: "engine-c", to: "edge", capacityBitsPerSecond: 100_000_000),
                Link(name: "a-b", from: "engine-a", to: "engine-b", capacityBitsPerSecond: 1_000_000_000),
                Link(name: "a-c", from: "engine-a", to: "engine-c", capacityBitsPerSecond: 1_000_000_000),
            ])) ?? { preconditionFailure("fixture topology is invalid") }()
    }

    static func rules() -> ReplicationPolicy {
        var rules = ReplicationPolicy()
        rules.window = .seconds(10)
        rules.overloadRequests = 2
        rules.coolDown = .seconds(60)
        rules.copyBitsPerSecond = 8_000_000
        // These tests are about the overload rule; the uplink threshold has its own below.
        rules.uplinkThreshold = 1.01
        return rules
    }

    /// The object is on engine-a only; b and c hold nothing.
    static func controller(rules: ReplicationPolicy = rules(), disk: [String: Int64] = [:]) -> AdmissionController {
        var controller = AdmissionController(
            topology: topology(), clientNetworks: ClientNetworks(entries: [], defaultEdge: "edge"), policy: Fixtures.policy(),
            replication: rules)
        for engine in ["engine-a", "engine-b", "engine-c"] {
            var capacity = Fixtures.capacity
            if let bytes = disk[engine] { capacity.diskBytes = bytes }
            controller.engineRegistered(
                EngineRecord(name: engine, url: "http://\(engine)", capacity: capacity, isUp: true, lastHeartbeat: start),
                objects: engine == "engine-a" ? [Fixtures.object] : [], now: start)
        }
        return controller
    }

    /// Asks like the director does: decide, then record the outcome as demand.
    @discardableResult
    static func request(_ controller: inout AdmissionController, _ ticket: UInt64, at now: Timestamp) -> AdmissionController.Decision {
        let decision = controller.requestReceived(Fixtures.play(ticket, at: now, wait: .seconds(2)), now: now)
        let outcome: DemandOutcome = switch decision {
        case .admitted: .admitted
        case .queued: .queued
        case .refused: .refused
        }
        controller.demandObserved(outcome, object: Fixtures.object.name, clientAddress: "10.0.0.1", now: now)
        return decision
    }

    /// Fills engine-a's path (three streams) and turns `extra` more requests away.
    static func saturate(_ controller: inout AdmissionController, extra: Int, at now: Timestamp) -> [LiveStream] {
        var admitted: [LiveStream] = []
        for ticket in 1...UInt64(3 + extra) {
            if let stream = request(&controller, ticket, at: now).stream { admitted.append(stream) }
        }
        return admitted
    }

    /// Runs a copy the planner ordered to completion, as the director and the target would.
    static func complete(_ controller: inout AdmissionController, _ action: ReplicationAction, at now: Timestamp) throws {
        guard case .copy(let object, let source, let target) = action else { Issue.record("not a copy: \(action)"); return }
        let copy = try controller.copyRequested(object: object, from: source, to: target, kind: .dynamic, targetAddress: "10.9.9.9", now: now).get()
        let done = controller.copyCompleted(id: copy.id, engine: target, sha256: Fixtures.object.sha256, now: now)
        #expect(done != nil)
        _ = controller.streamEnded(id: copy.id, now: now)
    }

    @Test func copiesWhenEveryHolderIsSaturatedAndNotBefore() {
        var controller = Self.controller()
        let admitted = Self.saturate(&controller, extra: 1, at: Self.start)
        #expect(admitted.count == 3)
        #expect(controller.planReplication(now: Self.start).isEmpty, "one request turned away is below overloadRequests (2)")
        Self.request(&controller, 99, at: Self.start)
        #expect(controller.planReplication(now: Self.start) == [.copy(object: "movie", from: "engine-a", to: "engine-b")])
    }

    /// Directors sharing a store: the planner adds the demand the others published to its own,
    /// and a copy another director ordered counts as in flight.
    @Test func thePlannerWorksFromTheWholeClustersDemandAndCopies() {
        var planner = Self.controller()
        _ = Self.saturate(&planner, extra: 1, at: Self.start)
        #expect(planner.planReplication(now: Self.start).isEmpty, "alone, one request turned away is below overloadRequests (2)")
        var elsewhere = DemandCounts()
        elsewhere.refused = 1
        let published = ObjectDemand(object: "movie", counts: elsewhere, edge: "edge", turnedAwayEdge: "edge")
        #expect(planner.replication.localDemand(at: Self.start).map(\.counts.saturated) == [1], "what this director publishes")

        planner.clusterActivityObserved(ClusterActivity(demand: ["movie": published]))
        #expect(planner.replication.counts("movie", at: Self.start).saturated == 2)
        #expect(planner.planReplication(now: Self.start) == [.copy(object: "movie", from: "engine-a", to: "engine-b")])
        #expect(planner.replication.localDemand(at: Self.start).map(\.counts.saturated) == [1], "the others' demand is not published again")

        planner.clusterActivityObserved(ClusterActivity(demand: ["movie": published], copying: ["movie": ["engine-c"]]))
        #expect(planner.planReplication(now: Self.start).isEmpty, "another director's copy of it is in flight")

        // Demand seen only elsewhere is planned for too.
        var quiet = Self.controller()
        _ = Self.saturate(&quiet, extra: 0, at: Self.start)
        elsewhere.refused = 2
        quiet.clusterActivityObserved(ClusterActivity(demand: ["movie": ObjectDemand(object: "movie", counts: elsewhere, edge: "edge")]))
        #expect(quiet.planReplication(now: Self.start) == [.copy(object: "movie", from: "engine-a", to: "engine-b")])
    }

    @Test func copiesOnceTheHoldersPathPassesTheThresholdWithNobodyTurnedAway() {
        var rules = Self.rules()
        rules.uplinkThreshold = 0.8
        var controller = Self.controller(rules: rules)
        // Two 1 Mbit/s streams on a 3.5 Mbit/s path: 57 %, not hot.
        for ticket in 1...2 { #expect(Self.request(&controller, UInt64(ticket), at: Self.start).stream != nil) }
        #expect(controller.planReplication(now: Self.start).isEmpty)
        // A third: 86 %, past 80 %, every request admitted, and the copy is planned.
        #expect(Self.request(&controller, 3, at: Self.start).stream != nil)
        #expect(controller.planReplication(now: Self.start) == [.copy(object: "movie", from: "engine-a", to: "engine-b")])
        #expect(controller.replication.counts("movie", at: Self.start).saturated == 0)
    }

    @Test func noCopyOnceTheHolderHasRoomAgain() throws {
        var controller = Self.controller()
        let admitted = Self.saturate(&controller, extra: 2, at: Self.start)
        controller.requestCancelled(ticket: 4)
        controller.requestCancelled(ticket: 5)
        _ = controller.streamEnded(id: try #require(admitted.first).id, now: Self.start)
        #expect(controller.planReplication(now: Self.start).isEmpty, "engine-a can take a stream now: no overload")
    }

    @Test func overloadEvidenceLeavesTheWindow() {
        var controller = Self.controller()
        _ = Self.saturate(&controller, extra: 2, at: Self.start)
        #expect(!controller.planReplication(now: Self.start).isEmpty)
        #expect(controller.planReplication(now: Self.start + .seconds(11)).isEmpty, "the turned-away requests are older than the window")
    }

    @Test func picksTheLeastLoadedEligibleTarget() throws {
        var controller = Self.controller()
        // engine-b streams another object, so engine-c is less loaded.
        var other = Fixtures.object
        other.name = "other"
        controller.objectAdded(other, on: "engine-b")
        let busy = AdmissionRequest(ticket: 50, kind: .play(object: "other"), clientAddress: "10.0.0.2", deadline: Self.start + .seconds(5))
        _ = try #require(controller.requestReceived(busy, now: Self.start).stream)
        #expect(controller.load(ofEngine: "engine-b") > controller.load(ofEngine: "engine-c"))
        _ = Self.saturate(&controller, extra: 2, at: Self.start)
        #expect(controller.planReplication(now: Self.start) == [.copy(object: "movie", from: "engine-a", to: "engine-c")])
    }

    @Test func skipsTargetsWithoutDiskOrAboveTheLoadLimit() {
        var controller = Self.controller(disk: ["engine-b": 999_999])
        _ = Self.saturate(&controller, extra: 2, at: Self.start)
        #expect(controller.planReplication(now: Self.start) == [.copy(object: "movie", from: "engine-a", to: "engine-c")])

        var rules = Self.rules()
        rules.targetLoadLimit = 0
        var nobody = Self.controller(rules: rules)
        _ = Self.saturate(&nobody, extra: 2, at: Self.start)
        #expect(nobody.planReplication(now: Self.start).isEmpty, "no engine is under a load limit of 0")
    }

    @Test func theCopyIsReservedOnItsRouteAndItsReplicaServesWaitersAtOnce() throws {
        var controller = Self.controller()
        _ = Self.saturate(&controller, extra: 2, at: Self.start)
        #expect(controller.queue.count == 2)
        let copy = try controller.copyRequested(object: "movie", from: "engine-a", to: "engine-b", kind: .dynamic, targetAddress: "10.9.9.9", now: Self.start).get()
        #expect(copy.kind == .copy)
        #expect(copy.reservation.links == ["a-b"])
        #expect(controller.book.reserved(onLink: "a-b") == 8_000_000)
        #expect(controller.book.reserved(onLink: "a-edge") == 3_000_000, "the copy does not touch the viewers' path")
        #expect(controller.book.usage(ofEngine: "engine-b").diskBytes == Fixtures.object.sizeBytes)
        #expect(controller.planReplication(now: Self.start).isEmpty, "one copy of an object at a time")
        #expect(controller.liveHoldersOfMovie == ["engine-a"], "not listed before the target verified it")

        let corrupt = controller.copyCompleted(id: copy.id, engine: "engine-b", sha256: String(repeating: "b", count: 64), now: Self.start)
        #expect(corrupt == nil, "a copy whose checksum differs is never listed")
        let completed = controller.copyCompleted(id: copy.id, engine: "engine-b", sha256: Fixtures.object.sha256, now: Self.start)
        let done = try #require(completed)
        #expect(done.queue.count == 2, "both waiters admitted on the new replica at once")
        #expect(controller.directory.kind(of: "movie", on: "engine-b") == .dynamic)
        _ = controller.streamEnded(id: copy.id, now: Self.start)
        #expect(controller.book.reserved(onLink: "a-b") == 0)
    }

    @Test func copyRouteFallsBackToTheTargetsUplinkNode() throws {
        // Fixtures.topology: no link into engine-b; a copy crosses a-core up to core.
        var controller = Fixtures.controller(engines: ["engine-a", "engine-b"])
        controller.replicaDropped(object: "movie", engine: "engine-b", now: Fixtures.start)
        let copy = try controller.copyRequested(object: "movie", from: "engine-a", to: "engine-b", kind: .static, targetAddress: "10.9.9.9", now: Fixtures.start).get()
        #expect(copy.reservation.links == ["a-core"])
    }

    @Test func dropsOnlyColdUnusedDynamicReplicas() throws {
        var controller = Self.controller()
        let admitted = Self.saturate(&controller, extra: 2, at: Self.start)
        let plan = controller.planReplication(now: Self.start)
        try Self.complete(&controller, try #require(plan.first), at: Self.start)
        // The two waiters now stream from engine-b.
        let onB = controller.streams.values.filter { $0.engine == "engine-b" && $0.kind == .play }
        #expect(onB.count == 2)
        for stream in admitted { _ = controller.streamEnded(id: stream.id, now: Self.start) }

        let later = Self.start + .seconds(61)
        #expect(controller.planReplication(now: later).isEmpty, "the dynamic replica still carries two streams")
        for stream in onB { _ = controller.streamEnded(id: stream.id, now: later) }
        #expect(controller.planReplication(now: later) == [.drop(object: "movie", engine: "engine-b")])
        #expect(!controller.planReplication(now: later).contains(.drop(object: "movie", engine: "engine-a")), "static replicas are never dropped")
    }

    @Test func keepsTheMinimumReplicaCount() throws {
        var rules = Self.rules()
        rules.minimumReplicas = 2
        var controller = Self.controller(rules: rules)
        _ = Self.saturate(&controller, extra: 2, at: Self.start)
        try Self.complete(&controller, try #require(controller.planReplication(now: Self.start).first), at: Self.start)
        for stream in controller.streams.values { _ = controller.streamEnded(id: stream.id, now: Self.start) }
        #expect(controller.planReplication(now: Self.start + .seconds(600)).isEmpty, "two replicas is the minimum")
    }

    /// Demand swings between overload and quiet faster than the cool-down: the replica is made
    /// once and stays; it goes only after a full quiet cool-down, and is not made again for
    /// another cool-down after that.
    @Test func neverFlapsUnderOscillatingDemand() throws {
        var controller = Self.controller()
        var copies = 0
        var drops = 0
        var lastChange: Timestamp?
        var ticket: UInt64 = 1000
        // 30 minutes in 1 s steps: 20 s of overload, 40 s quiet, repeated.
        for second in 0..<1800 {
            let now = Self.start + .seconds(Int64(second))
            if second % 60 < 20 {
                for _ in 0..<6 {
                    ticket += 1
                    if let stream = Self.request(&controller, ticket, at: now).stream { _ = controller.streamEnded(id: stream.id, now: now + .milliseconds(500)) }
                }
                for waiter in controller.queue.waiters { controller.requestCancelled(ticket: waiter.request.ticket) }
            }
            for action in controller.planReplication(now: now) {
                if let lastChange { #expect(now - lastChange >= .seconds(60), "a replica changed twice within the cool-down") }
                lastChange = now
                switch action {
                case .copy:
                    copies += 1
                    try Self.complete(&controller, action, at: now)
                case .drop(let object, let engine):
                    drops += 1
                    controller.replicaDropped(object: object, engine: engine, now: now)
                }
            }
        }
        #expect(drops == 0, "the object was never quiet for a whole cool-down")
        #expect(copies <= 2)
    }

    @Test func demandWindowIsBoundedAndSlides() {
        var window = DemandWindow(window: .seconds(10))
        for millisecond in stride(from: 0, to: 20_000, by: 10) {
            window.record(.admitted, at: Self.start + .milliseconds(Int64(millisecond)))
        }
        // Ten 1 s slots: the last ten seconds hold 1000 requests.
        #expect(window.counts(at: Self.start + .milliseconds(19_999)).admitted == 1000)
        #expect(window.counts(at: Self.start + .seconds(40)).requests == 0)
    }
}

extension AdmissionController {
    var liveHoldersOfMovie: [String] { directory.liveHolders(of: "movie") }
}

/// What a stream moved off a failed engine keeps and where it continues.
@Suite(.timeLimit(.minutes(1))) struct EngineFailureCoreTests {
    @Test func aMovedStreamContinuesLaterAndNumbersPastTheOldEngine() {
        let reported = RTPPosition(milliseconds: 5_000, sequence: 65_500, rtpTime: 4_000_000_000, isPlaying: true, packetsPerSecond: 100)
        let resumed = reported.continued(after: .milliseconds(2_500))
        #expect(resumed.milliseconds == 7_500, "skips the gap: never earlier than what the dead engine may have sent")
        // 100 packets/s for 2.5 s (+1 s margin) may have been used: the new numbering starts past them, wrapping.
        #expect(resumed.sequence == UInt16(truncatingIfNeeded: 65_500 + 366))
        #expect(resumed.rtpTime == 4_000_000_000 &+ UInt32(2_600 * 90))
        let paused = RTPPosition(milliseconds: 5_000, sequence: 10, rtpTime: 0, isPlaying: false, packetsPerSecond: 100)
        #expect(paused.continued(after: .seconds(30)).milliseconds == 5_000, "a paused stream resumes where it paused")
        let late = reported.continued(after: .seconds(3600))
        #expect(late.sequence &- reported.sequence <= 20_000, "the jump stays under half the sequence space")
    }

    @Test func aMovedStreamKeepsItsIDWhenFree() throws {
        var controller = Fixtures.controller(engines: ["engine-a", "engine-b"])
        let first = try #require(controller.requestReceived(Fixtures.play(1), now: Fixtures.start).stream)
        _ = controller.streamEnded(id: first.id, now: Fixtures.start)
        var again = Fixtures.play(2)
        again.preferredStreamID = first.id
        #expect(controller.requestReceived(again, now: Fixtures.start).stream?.id == first.id)
        var taken = Fixtures.play(3)
        taken.preferredStreamID = first.id
        let other = try #require(controller.requestReceived(taken, now: Fixtures.start).stream)
        #expect(other.id != first.id, "an ID in use is never given twice")
    }

    @Test func aReRegisteredEngineLosesTheReplicasItNoLongerLists() {
        var controller = Fixtures.controller(engines: ["engine-a", "engine-b"])
        let gone = controller.engineRegistered(
            EngineRecord(name: "engine-a", url: "http://engine-a", capacity: Fixtures.capacity, isUp: true, lastHeartbeat: Fixtures.start),
            objects: [], now: Fixtures.start)
        #expect(gone == ["movie"])
        #expect(controller.directory.liveHolders(of: "movie") == ["engine-b"])
    }

    @Test func aDrainingEngineTakesNoNewStream() throws {
        var controller = Fixtures.controller(engines: ["engine-a", "engine-b"])
        let known = controller.drainSet(engine: "engine-a", draining: true)
        #expect(known)
        for ticket in 1...3 as ClosedRange<UInt64> {
            #expect(controller.requestReceived(Fixtures.play(ticket), now: Fixtures.start).stream?.engine == "engine-b")
        }
        let unknown = controller.drainSet(engine: "nope", draining: true)
        #expect(!unknown)
    }
}
