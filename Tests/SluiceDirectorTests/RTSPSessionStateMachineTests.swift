import Foundation
import SluiceCore
@testable import SluiceDirector
import Testing

/// The RTSP session state machine, event by event, with time passed in: no sockets, no sleeps.
@Suite(.timeLimit(.minutes(1))) struct RTSPSessionStateMachineTests {
    typealias Machine = RTSPSessionStateMachine
    let start = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)

    func machine(with ids: [String] = ["s1"]) -> Machine {
        var machine = Machine(sessionTimeout: .seconds(60), claimTimeout: .seconds(15), pauseTimeout: .seconds(120))
        for (index, id) in ids.enumerated() { machine.setupAdmitted(session(id, stream: UInt32(index + 1))) }
        return machine
    }

    func session(_ id: String, stream: UInt32, engine: String = "engine-a") -> Machine.Session {
        Machine.Session(
            id: id, streamID: stream, object: "movie", durationMilliseconds: 30_000, engine: engine, engineURL: "http://\(engine)",
            clientHost: "10.0.0.1", clientRTPPort: 5000, clientRTCPPort: 5001, principal: .configurationAdmin, connection: 7,
            profile: nil, lastSeen: start, setUpAt: start)
    }

    func played(_ machine: inout Machine, _ id: String = "s1") {
        guard case .playOnEngine = machine.playReceived(session: id, startMilliseconds: nil, countsFromFirstPTS: false, now: start) else {
            Issue.record("PLAY of a live session did not go to the engine")
            return
        }
        machine.playSucceeded(session: id)
    }

    @Test func anAdoptedSessionNeedsItsOwnersCredentialsAndGetsAFullTimeout() throws {
        var original = machine()
        played(&original)
        // What the shared store carries: the session without its last keep-alive, as JSON.
        let stored = try JSONEncoder().encode(try #require(original.sessions["s1"]?.persisted))
        let session = try JSONDecoder().decode(Machine.Session.self, from: stored)
        #expect(session == original.sessions["s1"]?.persisted)

        var adopter = machine(with: [])
        let later = start + .seconds(50)
        adopter.adopted(session, now: later)
        #expect(adopter.control(session: "s1", connection: 7) == .needs(.configurationAdmin), "no connection here owns it")
        #expect(adopter.sessions["s1"]?.phase == .playing)
        // Quiet for the session timeout from the adoption, not from the last request elsewhere.
        #expect(adopter.tick(now: later + .seconds(59), streams: [1: .live(lastReceiverReport: nil)]).isEmpty)
        let held = try #require(adopter.sessions["s1"])
        #expect(adopter.tick(now: later + .seconds(61), streams: [1: .live(lastReceiverReport: nil)]) == [.stopAndEnd(held, reason: .clientGone)])

        // Taken over elsewhere: forgotten here without ending its stream.
        var holder = machine()
        holder.handedOver(session: "s1")
        #expect(holder.sessions.isEmpty)
        #expect(holder.tick(now: start + .seconds(600), streams: [:]).isEmpty)
    }

    @Test func playGoesToTheEngineAndPauseToo() {
        var machine = machine()
        played(&machine)
        #expect(machine.sessions["s1"]?.phase == .playing)
        guard case .pauseOnEngine(let session) = machine.pauseReceived(session: "s1", stream: .live(lastReceiverReport: nil), now: start) else {
            Issue.record("PAUSE of a playing session did not go to the engine")
            return
        }
        #expect(session.streamID == 1)
        machine.pauseSucceeded(session: "s1", now: start)
        #expect(machine.sessions["s1"]?.phase == .ready)
    }

    @Test func aPausedSessionHoldsItsReservationOnlyForThePauseTimeout() {
        var machine = machine()
        played(&machine)
        machine.pauseSucceeded(session: "s1", now: start)
        let paused = try! #require(machine.sessions["s1"])
        // Keep-alives keep the session, not the pause: at the pause timeout it is released.
        for second in stride(from: 10, through: 120, by: 10) {
            _ = machine.requestReceived(session: "s1", now: start + .seconds(Int64(second)))
            #expect(machine.tick(now: start + .seconds(Int64(second)), streams: [1: .live(lastReceiverReport: nil)]).isEmpty)
        }
        _ = machine.requestReceived(session: "s1", now: start + .seconds(121))
        let late = machine.tick(now: start + .seconds(121), streams: [1: .live(lastReceiverReport: nil)])
        guard case .stopAndEnd(let ended, .pausedTooLong)? = late.first, late.count == 1 else {
            Issue.record("not released at the pause timeout: \(late)")
            return
        }
        #expect(ended.id == paused.id && ended.streamID == paused.streamID)
        #expect(machine.sessions["s1"] == nil)
    }

    @Test func playAfterPauseRestartsThePauseClock() {
        var machine = machine()
        played(&machine)
        machine.pauseSucceeded(session: "s1", now: start)
        played(&machine)
        machine.pauseSucceeded(session: "s1", now: start + .seconds(100))
        _ = machine.requestReceived(session: "s1", now: start + .seconds(140))
        #expect(machine.tick(now: start + .seconds(150), streams: [1: .live(lastReceiverReport: nil)]).isEmpty)
    }

    @Test func onlyTheSettingUpConnectionOrTheSamePrincipalControlsASession() {
        let machine = machine()
        #expect(machine.control(session: "s1", connection: 7) == .owner)
        #expect(machine.control(session: "s1", connection: 8) == .needs(.configurationAdmin))
        #expect(machine.control(session: "nope", connection: 7) == .unknownSession)
        let alice = Principal(name: "alice", role: .viewer, keyID: "k1")
        #expect(Machine.mayControl(owner: alice, caller: alice))
        #expect(!Machine.mayControl(owner: alice, caller: Principal(name: "alice", role: .viewer, keyID: "k2")), "another key of the same user")
        #expect(!Machine.mayControl(owner: alice, caller: Principal(name: "mallory", role: .viewer, keyID: "k3")))
        #expect(Machine.mayControl(owner: alice, caller: .configurationAdmin))
    }

    @Test func pauseAfterTheByeSucceedsAndTheSessionLingersThenGoes() {
        var machine = machine()
        played(&machine)
        // The engine sent everything and SR+BYE; the director ended the stream before any tick.
        let pause = machine.pauseReceived(session: "s1", stream: .ended, now: start + .seconds(31))
        #expect(pause == .reply(status: 200))
        #expect(machine.sessions["s1"]?.isEnded == true)
        // PLAY now says why, TEARDOWN still succeeds, and a second TEARDOWN finds nothing.
        let play = machine.playReceived(session: "s1", startMilliseconds: 0, countsFromFirstPTS: false, now: start)
        #expect(play == .reply(status: 454, reason: Machine.endedReason))
        let teardown = machine.teardownReceived(session: "s1")
        #expect(teardown == .reply(status: 200))
        let again = machine.teardownReceived(session: "s1")
        #expect(again == .reply(status: 454))
    }

    @Test func anEndedSessionIsForgottenAfterItsLinger() {
        var machine = machine()
        played(&machine)
        let tick = machine.tick(now: start + .seconds(1), streams: [1: .ended])
        #expect(tick == [.stopOnEngine(session("s1", stream: 1).playing)])
        let quiet = machine.tick(now: start + .seconds(30), streams: [:])
        #expect(quiet.isEmpty)
        #expect(machine.sessions["s1"] != nil)
        _ = machine.tick(now: start + .seconds(32), streams: [:])
        #expect(machine.sessions["s1"] == nil)
    }

    @Test func teardownTwiceEndsTheStreamOnce() {
        var machine = machine()
        played(&machine)
        guard case .stopAndEnd(let session, let reason) = machine.teardownReceived(session: "s1") else {
            Issue.record("TEARDOWN did not end the stream")
            return
        }
        #expect(session.streamID == 1 && reason == .playerStopped)
        let again = machine.teardownReceived(session: "s1")
        #expect(again == .reply(status: 454))
        #expect(machine.sessions.isEmpty)
    }

    @Test func aSetupInsideASessionIsRefused() {
        let machine = machine()
        #expect(machine.setupReceived(session: "s1") == .reply(status: 459))
        #expect(machine.setupReceived(session: nil) == nil)
    }

    @Test func aSilentPlayerTimesOutButRTCPOrKeepAlivesKeepItAlive() {
        var machine = machine(with: ["quiet", "rtcp", "keepalive"])
        for id in ["quiet", "rtcp", "keepalive"] { played(&machine, id) }
        let later = start + .seconds(61)
        let known = machine.requestReceived(session: "keepalive", now: start + .seconds(30))
        #expect(known)
        let actions = machine.tick(now: later, streams: [
            1: .live(lastReceiverReport: nil), 2: .live(lastReceiverReport: start + .seconds(59)), 3: .live(lastReceiverReport: nil),
        ])
        #expect(actions == [.stopAndEnd(session("quiet", stream: 1).playing, reason: .clientGone)])
        #expect(Set(machine.sessions.keys) == ["rtcp", "keepalive"])
        let gone = !machine.requestReceived(session: "quiet", now: later)
        #expect(gone)
    }

    @Test func aSessionNeverPlayedIsReleasedAtTheClaimTimeoutEvenWithKeepAlives() {
        var machine = machine(with: ["idle", "watching"])
        played(&machine, "watching")
        for second in stride(from: 5, through: 15, by: 5) {
            let known = machine.requestReceived(session: "idle", now: start + .seconds(second))
            #expect(known)
        }
        let live: [UInt32: Director.PlayState] = [1: .live(lastReceiverReport: nil), 2: .live(lastReceiverReport: nil)]
        let early = machine.tick(now: start + .seconds(15), streams: live)
        #expect(early.isEmpty)
        var idle = session("idle", stream: 1)
        idle.lastSeen = start + .seconds(15)
        let late = machine.tick(now: start + .seconds(16), streams: live)
        #expect(late == [.stopAndEnd(idle, reason: .unclaimed)])
        #expect(Set(machine.sessions.keys) == ["watching"])
    }

    @Test func aFailedEnginesSessionsMoveAndThoseWithoutAStreamEnd() {
        var machine = machine(with: ["moving", "lost"])
        machine.setupAdmitted(session("elsewhere", stream: 9, engine: "engine-b"))
        played(&machine, "moving")
        let stream = LiveStream.sample(id: 1)
        let actions = machine.engineFailed("engine-a", streams: [stream], now: start)
        #expect(actions == [.move(session("moving", stream: 1).playing, stream)])
        #expect(machine.sessions["lost"]?.isEnded == true)
        #expect(machine.sessions["elsewhere"]?.phase == .ready)
        // While it moves, a tick leaves it alone and PLAY asks the player to retry.
        let ended = machine.liveStreams.reduce(into: [UInt32: Director.PlayState]()) { $0[$1.id] = .ended }
        let tick = machine.tick(now: start + .seconds(1), streams: ended)
        #expect(tick == [.stopOnEngine(session("elsewhere", stream: 9, engine: "engine-b"))])
        let play = machine.playReceived(session: "moving", startMilliseconds: nil, countsFromFirstPTS: false, now: start)
        #expect(play == .reply(status: 503, reason: Machine.movingReason))
        machine.moveSucceeded(session: "moving", streamID: 1, engine: "engine-b", engineURL: "http://engine-b")
        #expect(machine.sessions["moving"]?.phase == .playing)
        #expect(machine.sessions["moving"]?.engineURL == "http://engine-b")
    }

    @Test func aMoveThatFailsEndsTheSession() {
        var machine = machine()
        _ = machine.engineFailed("engine-a", streams: [LiveStream.sample(id: 1)], now: start)
        machine.moveFailed(session: "s1", now: start)
        #expect(machine.sessions["s1"]?.isEnded == true)
        let pause = machine.pauseReceived(session: "s1", stream: .ended, now: start)
        #expect(pause == .reply(status: 200))
    }

    @Test func anEngineThatFailsPlayDropsTheSessionAndEndsItsStream() {
        var machine = machine()
        let failed = machine.engineCallFailed(session: "s1")
        #expect(failed == .stopAndEnd(session("s1", stream: 1), reason: .failed))
        #expect(machine.sessions.isEmpty)
        let play = machine.playReceived(session: "s1", startMilliseconds: nil, countsFromFirstPTS: false, now: start)
        #expect(play == .reply(status: 454))
    }

    @Test func aRangePastTheEndIsRefusedUnlessCountedFromTheFirstPTS() {
        var machine = machine()
        let pastTheEnd = machine.playReceived(session: "s1", startMilliseconds: 31_000, countsFromFirstPTS: false, now: start)
        #expect(pastTheEnd == .reply(status: 457))
        guard case .playOnEngine(_, let from, true) = machine.playReceived(
            session: "s1", startMilliseconds: 31_000, countsFromFirstPTS: true, now: start) else {
            Issue.record("libavformat's offset range was refused")
            return
        }
        #expect(from == 31_000)
    }
}

extension RTSPSessionStateMachine.Session {
    var playing: Self {
        var session = self
        session.phase = .playing
        session.hasPlayed = true
        return session
    }
}

extension LiveStream {
    static func sample(id: UInt32) -> LiveStream {
        LiveStream(
            id: id, kind: .play, object: "movie", engine: "engine-a", clientAddress: "10.0.0.1", hops: [],
            reservation: Reservation(engine: "engine-a", links: ["a-core"], bitsPerSecond: 1_000_000),
            admittedAt: Timestamp(millisecondsSinceEpoch: 0), leaseExpiry: Timestamp(millisecondsSinceEpoch: 1))
    }
}
