import SluiceConfig
import SluiceCore
import Testing

/// Hot-object copying on the shipped configuration with the demo's numbers: engine-a's
/// 100 Mbit/s uplink fills with plays of the demo's sample (6,291,232 bytes in 30 s), and the
/// copy to engine-b must start while the copy still fits beside the streams.
@Suite struct ShippedReplicationTests {
    static let start = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
    static let sample = MediaObject(
        name: "sample", sizeBytes: 6_291_232, durationMilliseconds: 30_000, averageBitsPerSecond: 1_677_661, sha256: String(repeating: "b", count: 64))

    static func controller() throws -> AdmissionController {
        let configuration = try StarterConfiguration.builtIn()
        var controller = AdmissionController(
            topology: configuration.topology, clientNetworks: configuration.clientNetworks, policy: configuration.director.policy,
            replication: configuration.director.replication)
        for engine in configuration.engines {
            controller.engineRegistered(
                EngineRecord(name: engine.name, url: "http://\(engine.name)", capacity: engine.capacity, isUp: true, lastHeartbeat: start),
                objects: engine.name == "engine-a" ? [sample] : [], now: start)
        }
        return controller
    }

    @Test func aFillingUplinkIsCopiedFromBeforeItIsFull() throws {
        var controller = try Self.controller()
        var now = Self.start
        var plays = 0
        var copy: ReplicationAction?
        // Plays arrive one every 100 ms, as 62 concurrent players did; the director plans each second.
        while plays < 62, copy == nil {
            let request = AdmissionRequest(ticket: UInt64(plays + 1), kind: .play(object: "sample"), clientAddress: "127.0.0.1", deadline: now + .seconds(10))
            if case .admitted = controller.requestReceived(request, now: now) {
                controller.demandObserved(.admitted, object: "sample", clientAddress: "127.0.0.1", now: now)
            } else {
                controller.demandObserved(.queued, object: "sample", clientAddress: "127.0.0.1", now: now)
            }
            plays += 1
            now = now + .milliseconds(100)
            if plays % 10 == 0 { copy = controller.planReplication(now: now).first }
        }
        #expect(copy == .copy(object: "sample", from: "engine-a", to: "engine-b"), "no copy after \(plays) plays; blocked: \(controller.replication.copyBlocked)")
        let reserved = controller.book.reserved(onLink: "a-core")
        #expect(reserved >= 80_000_000 && reserved < 100_000_000, "planned at \(reserved) bit/s on a-core, before it was full")
        // The copy fits beside the streams: at what the uplink has free, not the 50 Mbit/s copyRate.
        let started = try controller.copyRequested(object: "sample", from: "engine-a", to: "engine-b", kind: .dynamic, targetAddress: "127.0.0.1", now: now).get()
        #expect(started.bitsPerSecond > 1_761_544 && started.bitsPerSecond <= 100_000_000 - reserved, "copy at \(started.bitsPerSecond) bit/s")
        #expect(started.reservation.links == ["a-core"])
    }

    @Test func aCopyThatCannotBePlacedSaysWhy() throws {
        var controller = try Self.controller()
        // engine-b is draining: no engine can take the copy.
        _ = controller.drainSet(engine: "engine-b", draining: true)
        var now = Self.start
        for ticket in 1...50 {
            let request = AdmissionRequest(ticket: UInt64(ticket), kind: .play(object: "sample"), clientAddress: "127.0.0.1", deadline: now + .seconds(10))
            _ = controller.requestReceived(request, now: now)
            controller.demandObserved(.admitted, object: "sample", clientAddress: "127.0.0.1", now: now)
            now = now + .milliseconds(100)
        }
        #expect(controller.planReplication(now: now).isEmpty)
        #expect(controller.replication.copyBlocked["sample"]?.contains("already holds it") == true, "\(controller.replication.copyBlocked)")
    }

    @Test func aQuietObjectWantsNoCopy() throws {
        var controller = try Self.controller()
        for ticket in 1...5 {
            let request = AdmissionRequest(ticket: UInt64(ticket), kind: .play(object: "sample"), clientAddress: "127.0.0.1", deadline: Self.start + .seconds(10))
            _ = controller.requestReceived(request, now: Self.start)
            controller.demandObserved(.admitted, object: "sample", clientAddress: "127.0.0.1", now: Self.start)
        }
        #expect(controller.planReplication(now: Self.start).isEmpty && controller.replication.copyBlocked.isEmpty, "9 % of the uplink is not hot")
    }
}
