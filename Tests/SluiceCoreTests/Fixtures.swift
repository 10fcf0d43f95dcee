import SluiceCore

/// A two-engine network with a shared bottleneck:
///
///     engine-a --a-core-- core --core-edge--> edge
///     engine-b --b-core--/   \--core-alt--> alt --alt-edge--> edge
enum Fixtures {
    static func topology(
        aCore: Int64 = 100_000_000, bCore: Int64 = 100_000_000, coreEdge: Int64 = 10_000_000,
        coreAlt: Int64 = 10_000_000, altEdge: Int64 = 10_000_000
    ) -> Topology {
        // The declaration is static and valid; a failure here is a broken fixture.
        (try? Topology(
            nodes: [
                Node(name: "engine-a", kind: .engine), Node(name: "engine-b", kind: .engine),
                Node(name: "core", kind: .switch), Node(name: "alt", kind: .router), Node(name: "edge", kind: .edge),
            ],
            links: [
                Link(name: "a-core", from: "engine-a", to: "core", capacityBitsPerSecond: aCore),
                Link(name: "b-core", from: "engine-b", to: "core", capacityBitsPerSecond: bCore),
                Link(name: "core-edge", from: "core", to: "edge", capacityBitsPerSecond: coreEdge),
                Link(name: "core-alt", from: "core", to: "alt", capacityBitsPerSecond: coreAlt),
                Link(name: "alt-edge", from: "alt", to: "edge", capacityBitsPerSecond: altEdge),
            ])) ?? { preconditionFailure("fixture topology is invalid") }()
    }

    static let object = MediaObject(name: "movie", sizeBytes: 1_000_000, durationMilliseconds: 10_000, averageBitsPerSecond: 1_000_000, sha256: String(repeating: "a", count: 64))

    static let capacity = EngineCapacity(maxStreams: 100, bufferBytes: 1 << 30, ingestBitsPerSecond: 1_000_000_000, diskBytes: 1 << 40)

    static func controller(topology: Topology = topology(), policy: AdmissionPolicy = policy(), now: Timestamp = start, engines: [String] = ["engine-a"]) -> AdmissionController {
        var controller = AdmissionController(
            topology: topology, clientNetworks: ClientNetworks(entries: [], defaultEdge: "edge"), policy: policy)
        for engine in engines {
            controller.engineRegistered(
                EngineRecord(name: engine, url: "http://\(engine)", capacity: capacity, isUp: true, lastHeartbeat: now),
                objects: [object], now: now)
        }
        return controller
    }

    static func policy() -> AdmissionPolicy {
        var policy = AdmissionPolicy()
        policy.rateHeadroom = 0
        policy.leaseSlack = .seconds(5)
        policy.maxWait = .seconds(10)
        policy.heartbeatTimeout = .seconds(6)
        return policy
    }

    static let start = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)

    static func play(_ ticket: UInt64, at now: Timestamp = start, wait: Duration = .seconds(10), client: String = "10.0.0.1") -> AdmissionRequest {
        AdmissionRequest(ticket: ticket, kind: .play(object: object.name), clientAddress: client, deadline: now + wait)
    }
}

extension AdmissionController.Decision {
    var stream: LiveStream? {
        if case .admitted(let stream) = self { return stream }
        return nil
    }

    var refusal: AdmissionRefusal? {
        switch self {
        case .admitted: nil
        case .queued(let refusal), .refused(let refusal): refusal
        }
    }

    var isQueued: Bool {
        if case .queued = self { return true }
        return false
    }
}
