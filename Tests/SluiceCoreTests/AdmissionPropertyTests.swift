import PropertyBased
import SluiceCore
import Testing

/// Random sequences of admit / end / renew / clock advance against a small, tight network.
@Suite(.timeLimit(.minutes(1))) struct AdmissionPropertyTests {
    static let objects: [MediaObject] = [
        MediaObject(name: "low", sizeBytes: 1, durationMilliseconds: 4_000, averageBitsPerSecond: 1_500_000, sha256: String(repeating: "1", count: 64)),
        MediaObject(name: "mid", sizeBytes: 1, durationMilliseconds: 9_000, averageBitsPerSecond: 3_000_000, sha256: String(repeating: "2", count: 64)),
        MediaObject(name: "high", sizeBytes: 1, durationMilliseconds: 20_000, averageBitsPerSecond: 7_000_000, sha256: String(repeating: "3", count: 64)),
    ]

    func makeController() -> AdmissionController {
        var policy = Fixtures.policy()
        policy.rateHeadroom = 0.05
        policy.maxQueueLength = 5
        var controller = AdmissionController(
            topology: Fixtures.topology(aCore: 12_000_000, bCore: 9_000_000, coreEdge: 10_000_000, coreAlt: 8_000_000, altEdge: 6_000_000),
            clientNetworks: ClientNetworks(entries: [], defaultEdge: "edge"), policy: policy)
        let capacity = EngineCapacity(maxStreams: 4, bufferBytes: 8_000_000, ingestBitsPerSecond: 1_000_000_000, diskBytes: 1 << 40)
        for engine in ["engine-a", "engine-b"] {
            controller.engineRegistered(
                EngineRecord(name: engine, url: "", capacity: capacity, isUp: true, lastHeartbeat: Fixtures.start),
                objects: engine == "engine-a" ? Self.objects : Array(Self.objects.prefix(2)), now: Fixtures.start)
        }
        return controller
    }

    func checkInvariants(_ controller: AdmissionController) {
        var expected: [String: Int64] = [:]
        var slots: [String: Int] = [:]
        var buffers: [String: Int64] = [:]
        for stream in controller.streams.values {
            for link in stream.reservation.links { expected[link, default: 0] += stream.reservation.bitsPerSecond }
            slots[stream.engine, default: 0] += stream.reservation.streamSlots
            buffers[stream.engine, default: 0] += stream.reservation.bufferBytes
        }
        for link in controller.topology.links.values {
            let reserved = controller.book.reserved(onLink: link.name)
            #expect(reserved <= link.capacityBitsPerSecond, "link \(link.name) over-booked")
            #expect(reserved == expected[link.name, default: 0], "link \(link.name) total differs from its leases")
        }
        for (engine, capacity) in controller.book.engineCapacity {
            let usage = controller.book.usage(ofEngine: engine)
            #expect(usage.streams <= capacity.maxStreams)
            #expect(usage.streams == slots[engine, default: 0])
            #expect(usage.bufferBytes == buffers[engine, default: 0])
        }
        #expect(controller.queue.count <= controller.queue.capacity)
    }

    @Test func reservationsNeverExceedCapacityAndAlwaysMatchLiveLeases() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...9_999).array(of: 1...80)) { operations in
            var controller = makeController()
            var now = Fixtures.start
            var ticket: UInt64 = 0
            for code in operations {
                let argument = code / 5
                switch code % 5 {
                case 0, 1:
                    ticket += 1
                    let object = Self.objects[argument % Self.objects.count].name
                    let request = AdmissionRequest(
                        ticket: ticket, kind: .play(object: object), clientAddress: "10.0.0.\(argument % 250)",
                        deadline: now + .milliseconds(Int64(argument % 4) * 3000))
                    _ = controller.requestReceived(request, now: now)
                case 2:
                    let live = controller.streams.keys.sorted()
                    if !live.isEmpty { _ = controller.streamEnded(id: live[argument % live.count], now: now) }
                case 3:
                    let live = controller.streams.keys.sorted()
                    if !live.isEmpty { _ = controller.leaseRenewed(id: live[argument % live.count], now: now) }
                default:
                    now = now + .milliseconds(Int64(argument % 8000))
                    // Engines keep heartbeating so replicas stay usable.
                    _ = controller.heartbeatReceived(engine: "engine-a", now: now)
                    _ = controller.heartbeatReceived(engine: "engine-b", now: now)
                    let swept = controller.clockAdvanced(now: now)
                    // The sweep finds every due stream, and only due ones.
                    let claimTimeout = controller.policy.claimTimeout
                    #expect(controller.streams.values.allSatisfy { $0.leaseExpiry > now && ($0.isClaimed || $0.admittedAt + claimTimeout > now) })
                    #expect((swept.expired + swept.unclaimed).allSatisfy { $0.leaseExpiry <= now || $0.admittedAt + claimTimeout <= now })
                }
                checkInvariants(controller)
            }
            // Wind down: end what is live, let every waiter be admitted or time out, end again.
            for _ in 0..<10 {
                for id in controller.streams.keys.sorted() { _ = controller.streamEnded(id: id, now: now) }
                now = now + .seconds(30)
                _ = controller.clockAdvanced(now: now)
                checkInvariants(controller)
            }
            #expect(controller.streams.isEmpty)
            #expect(controller.queue.count == 0)
            #expect(controller.book.linkReserved.isEmpty)
            #expect(controller.book.engineUsage.isEmpty)
        }
    }
}
