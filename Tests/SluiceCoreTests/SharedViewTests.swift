import SluiceCore
import Testing

/// How a director's core counts what other directors booked in a shared store.
@Suite(.timeLimit(.minutes(1))) struct SharedViewTests {
    let reservation = Reservation(engine: "engine-a", links: ["a-core", "core-edge"], bitsPerSecond: 3_000_000, bufferBytes: 10)

    func book() -> ReservationBook {
        var book = ReservationBook(topology: Fixtures.topology())
        book.setCapacity(Fixtures.capacity, forEngine: "engine-a")
        return book
    }

    @Test func othersBookingsAreWhatTheTotalsHoldBeyondOurOwn() throws {
        var book = book()
        try book.reserve(reservation)
        book.sharedTotalsObserved(
            links: ["core-edge": 7_000_000, "a-core": 3_000_000],
            engines: ["engine-a": EngineUsage(streams: 3, bufferBytes: 30, ingestBitsPerSecond: 0, diskBytes: 0)])
        #expect(book.reserved(onLink: "core-edge") == 7_000_000)
        #expect(book.usage(ofEngine: "engine-a").streams == 3)
        // Our own stream ends: the others' 4 Mbit/s stay until the next reading.
        book.release(reservation)
        #expect(book.reserved(onLink: "core-edge") == 4_000_000)
        #expect(book.reserved(onLink: "a-core") == 0)
        #expect(book.usage(ofEngine: "engine-a").streams == 2)
        // A new reading replaces the others' share rather than adding to it.
        book.sharedTotalsObserved(links: ["core-edge": 1_000_000], engines: [:])
        #expect(book.reserved(onLink: "core-edge") == 1_000_000)
        #expect(book.usage(ofEngine: "engine-a").streams == 0)
        // With the others at 1 Mbit/s of 10, 3 Mbit/s fits and 9.5 does not.
        #expect(book.refusal(for: reservation) == nil)
        var big = reservation
        big.bitsPerSecond = 9_500_000
        #expect(book.refusal(for: big)?.link == "core-edge")
    }

    @Test func ownBookingsNotYetInTheTotalsNeverMakeTheOthersNegative() throws {
        var book = book()
        try book.reserve(reservation)
        book.sharedTotalsObserved(links: [:], engines: [:])
        #expect(book.reserved(onLink: "core-edge") == 3_000_000)
        #expect(book.usage(ofEngine: "engine-a").streams == 1)
        book.release(reservation)
        #expect(book.linkReserved.isEmpty)
    }

    @Test func theCoreRoutesAroundALinkOtherDirectorsFilled() {
        var controller = Fixtures.controller(engines: ["engine-a", "engine-b"])
        let now = Fixtures.start
        controller.sharedStateObserved(links: ["a-core": 100_000_000], engines: [:], heartbeats: [:], now: now)
        let request = AdmissionRequest(ticket: 1, kind: .play(object: "movie"), clientAddress: "10.0.0.1", deadline: now + .seconds(5))
        guard case .admitted(let stream) = controller.requestReceived(request, now: now) else {
            Issue.record("not admitted")
            return
        }
        #expect(stream.engine == "engine-b")
        // A rejection by the store forgets the stream entirely.
        controller.admissionRejected(stream)
        #expect(controller.streams.isEmpty)
        #expect(controller.book.reserved(onLink: "b-core") == 0)
    }

    @Test func anEngineHeardByAnotherDirectorIsUpForThisOne() {
        var controller = Fixtures.controller(engines: ["engine-a"])
        let later = Fixtures.start + .seconds(60)
        _ = controller.clockAdvanced(now: later)
        #expect(controller.directory.engines["engine-a"]?.isUp == false)
        controller.sharedStateObserved(links: [:], engines: [:], heartbeats: ["engine-a": later - .seconds(1)], now: later)
        #expect(controller.directory.engines["engine-a"]?.isUp == true)
        // A heartbeat older than the timeout keeps it down.
        let muchLater = later + .seconds(60)
        _ = controller.clockAdvanced(now: muchLater)
        controller.sharedStateObserved(links: [:], engines: [:], heartbeats: ["engine-a": later], now: muchLater)
        #expect(controller.directory.engines["engine-a"]?.isUp == false)
    }
}

@Suite(.timeLimit(.minutes(1))) struct AllocatorJumpTests {
    @Test func allocatorsJumpAwayFromAnotherDirectorsRun() {
        var labels = LabelAllocator(seed: 0)
        #expect(labels.allocate(atNode: "n") == 16)
        labels.jump(atNode: "n", seed: 1000)
        #expect(labels.allocate(atNode: "n") == 1016)
        #expect(labels.allocate(atNode: "other") == 16)
        var random = StreamIDAllocator(unpredictable: true)
        let drawn = (0..<1000).map { _ in random.allocate() }
        #expect(Set(drawn).count == 1000 && !drawn.contains(0) && random.live.count == 1000)
        #expect(zip(drawn, drawn.dropFirst()).filter { $1 == $0 &+ 1 }.count < 5, "random IDs ran in sequence")
        var ids = StreamIDAllocator(seed: 5)
        #expect(ids.allocate() == 5)
        ids.jump(to: 900)
        #expect(ids.allocate() == 900)
        ids.jump(to: 0)
        #expect(ids.allocate() == 1)
    }
}
