import SluiceCore
import Testing

/// A connection's deadlines with the time passed in: which silence ends it, and how.
@Suite(.timeLimit(.minutes(1))) struct ConnectionDeadlinesTests {
    let start = ContinuousClock.now
    var limits: ListenerLimits {
        var limits = ListenerLimits()
        limits.requestHeadTimeout = .seconds(10)
        limits.requestBodyTimeout = .seconds(30)
        limits.idleTimeout = .seconds(60)
        limits.sendTimeout = .seconds(20)
        return limits
    }

    func at(_ seconds: Double) -> ContinuousClock.Instant { start + .milliseconds(Int64(seconds * 1000)) }

    @Test func aSlowHeadGets408AtItsDeadlineCountedFromItsFirstByte() {
        var deadlines = ConnectionDeadlines(limits: limits, now: start)
        deadlines.bytesArrived(now: at(5))
        // One byte a second does not move the clock.
        for second in 6..<15 { deadlines.bytesArrived(now: at(Double(second))); #expect(deadlines.tick(now: at(Double(second))) == .none) }
        guard case .requestTimeout = deadlines.tick(now: at(15)) else { Issue.record("no 408 at 10 s after the first byte"); return }
    }

    @Test func anIdleConnectionClosesSilentlyAndARequestResetsTheClock() {
        var deadlines = ConnectionDeadlines(limits: limits, now: start)
        #expect(deadlines.tick(now: at(59)) == .none)
        guard case .close = deadlines.tick(now: at(60)) else { Issue.record("an idle connection stayed"); return }
        var busy = ConnectionDeadlines(limits: limits, now: start)
        busy.bytesArrived(now: at(50))
        busy.headReceived(now: at(50))
        busy.requestEnded(now: at(50))
        // Answering takes as long as it takes (a queued play waits): no deadline.
        #expect(busy.tick(now: at(500)) == .none)
        busy.responseHeadSent()
        busy.responseEnded(now: at(500))
        #expect(busy.tick(now: at(559)) == .none)
        guard case .close = busy.tick(now: at(560)) else { Issue.record("idle clock did not restart at the response's end"); return }
    }

    @Test func aStalledBodyIsCutAndProgressKeepsItAlive() {
        var deadlines = ConnectionDeadlines(limits: limits, now: start)
        deadlines.bytesArrived(now: at(1))
        deadlines.headReceived(now: at(1))
        for second in stride(from: 20, through: 200, by: 20) {
            deadlines.bytesArrived(now: at(Double(second)))
            #expect(deadlines.tick(now: at(Double(second) + 29)) == .none)
        }
        guard case .requestTimeout = deadlines.tick(now: at(230)) else { Issue.record("a stalled body was not cut with 408"); return }
        // Once the answer began (an early refusal), a stall just closes.
        deadlines.responseHeadSent()
        guard case .close = deadlines.tick(now: at(230)) else { Issue.record("408 after a response began"); return }
    }

    @Test func aClientThatReadsNothingIsCutAfterTheSendTimeout() {
        var deadlines = ConnectionDeadlines(limits: limits, now: start)
        deadlines.bytesArrived(now: at(0))
        deadlines.headReceived(now: at(0))
        deadlines.requestEnded(now: at(0))
        deadlines.responseHeadSent()
        deadlines.writabilityChanged(isWritable: false, now: at(10))
        deadlines.writabilityChanged(isWritable: false, now: at(15))
        #expect(deadlines.tick(now: at(29)) == .none)
        guard case .close = deadlines.tick(now: at(30)) else { Issue.record("a client that read nothing kept its connection"); return }
        deadlines.writabilityChanged(isWritable: true, now: at(31))
        #expect(deadlines.tick(now: at(100)) == .none, "writable again: the stream goes on")
    }
}
