import SluiceCore
import SluiceGrant
import SluiceListeners

/// What the director shows of its state: values made on its actor, so a front door never
/// holds (and never decides on) a copy of the admission core.
extension Director {
    public struct EngineView: Encodable, Sendable {
        public var engine: EngineRecord
        public var usage: EngineUsage
        public var load: Double
    }

    public struct LinkView: Encodable, Sendable {
        public var name: String
        public var from: String
        public var to: String
        public var capacityBitsPerSecond: Int64
        public var reservedBitsPerSecond: Int64
    }

    /// Where a front door's stream stands, for sessions that outlive a request (RTSP).
    public enum PlayState: Sendable, Equatable {
        /// Live; the last RTCP receiver report the engine relayed, if any.
        case live(lastReceiverReport: Timestamp?)
        /// Ended (end of object, expiry, teardown by an operator or another director).
        case ended
        /// Its engine is down: the stream is being moved or ended by the failure handling.
        case engineDown
    }

    public func engineViews() -> [EngineView] {
        controller.directory.engines.values.sorted { $0.name < $1.name }.map {
            EngineView(engine: $0, usage: controller.book.usage(ofEngine: $0.name), load: controller.load(ofEngine: $0.name))
        }
    }

    public func linkViews() -> [LinkView] {
        controller.topology.links.values.sorted { $0.name < $1.name }.map {
            LinkView(name: $0.name, from: $0.from, to: $0.to, capacityBitsPerSecond: $0.capacityBitsPerSecond, reservedBitsPerSecond: controller.book.reserved(onLink: $0.name))
        }
    }

    public func liveStreams() -> [LiveStream] {
        controller.streams.values.sorted { $0.id < $1.id }
    }

    public func liveStream(_ id: UInt32) -> LiveStream? { controller.streams[id] }

    public var queueLength: Int { controller.queue.count }

    public func reservedBitsPerSecond(onLink link: String) -> Int64 { controller.book.reserved(onLink: link) }

    public func object(named name: String) -> MediaObject? { controller.directory.objects[name] }

    public func replicas(of object: String) -> Set<String>? { controller.directory.replicas[object] }

    public func isDraining(_ engine: String) -> Bool { controller.directory.draining.contains(engine) }

    /// The object when `principal` may play it; nil when missing or not theirs to see.
    public func playableObject(_ name: String, for principal: Principal) -> MediaObject? {
        guard access(of: name, for: principal) != nil else { return nil }
        return controller.directory.objects[name]
    }

    /// Whether `name` is an engine node of the topology (only those may register).
    public func isEngineNode(_ name: String) -> Bool { controller.topology.nodes[name]?.kind == .engine }

    /// The state of each stream a front door asks about, played on the engine named beside it.
    public func playStates(_ streams: [(id: UInt32, engine: String)]) -> [UInt32: PlayState] {
        var states: [UInt32: PlayState] = [:]
        for (id, engine) in streams {
            if controller.directory.engines[engine]?.isUp == false {
                states[id] = .engineDown
            } else if let stream = controller.streams[id] {
                states[id] = .live(lastReceiverReport: stream.lastReceiverReport)
            } else {
                states[id] = .ended
            }
        }
        return states
    }
}

/// What became of one stream: still live, or ended with its usage record (`GET /v1/streams/{id}`).
public struct StreamState: Codable, Sendable {
    public var state: String
    public var stream: LiveStream?
    public var usage: UsageRecord?

    /// Whether `principal` may see it: admins see every stream, others their own.
    func isVisible(to principal: Principal) -> Bool {
        principal.role == .admin || (stream?.user ?? usage?.user) == principal.name
    }
}

extension Director {
    /// Live, or ended (its latest usage record), or nil.
    public func streamState(id: UInt32) async throws -> StreamState? {
        if let live = controller.streams[id] { return StreamState(state: "live", stream: live) }
        if let record = recordsInFlight[id] { return StreamState(state: "ended", usage: record) }
        return try await store.usage(streamID: id).map { StreamState(state: "ended", usage: $0) }
    }
}

extension Director {
    /// A reloaded configuration's live settings: operator keys, license servers and profiles,
    /// quotas and replication rules take effect for the next request.
    public func apply(configurationKeys: Set<String>, licensing: LicensePolicy, quotas: QuotaPolicy, replication: ReplicationPolicy) {
        accessControl.setConfigurationKeys(configurationKeys)
        self.licensing = licensing
        self.quotas = quotas
        controller.replicationPolicyChanged(replication)
    }
}

extension Director {
    /// `GET /metrics`: the counters, and the gauges of state as the core holds it now.
    public func metricsExposition() -> [UInt8] {
        playTransports = playTransports.filter { controller.streams[$0.key] != nil }
        let live = controller.streams.values.reduce(into: [String: Int]()) { counts, stream in
            counts[stream.kind == .play ? transport(of: stream.id) : stream.kind.rawValue, default: 0] += 1
        }
        return metrics.scrape(links: linkViews(), queueDepth: controller.queue.count, live: live) + HTTPMetrics.registry.emitToBuffer()
    }

    /// How a play stream is delivered: rtsp or http.
    func transport(of streamID: UInt32) -> String { playTransports[streamID] ?? "http" }
}

/// `GET /v1/queue`: the waiting requests a caller may see, each with its place (1 = next).
public struct QueuePlaces: Encodable, Sendable {
    public struct Place: Encodable, Sendable {
        var position: Int
        var object: String
        var waitedMilliseconds: Int64
        /// Why it could not be admitted when last tried (a refusal code: `path_full`, ...).
        var blockedBy: String
    }
    var length: Int
    var waiting: [Place]
}

extension Director {
    /// An admin sees every waiter; anyone else the requests made with their own key.
    public func queuePlaces(for principal: Principal) -> QueuePlaces {
        let now = clock.now()
        let waiters = controller.queue.waiters
        let places = waiters.enumerated().filter { _, waiter in
            principal.role == .admin || (principal.keyID != nil && waiter.request.keyID == principal.keyID)
        }.map { index, waiter in
            QueuePlaces.Place(
                position: index + 1, object: waiter.request.objectName, waitedMilliseconds: max(0, (now - waiter.enqueuedAt).wholeMilliseconds),
                blockedBy: waiter.lastRefusal.code.rawValue)
        }
        return QueuePlaces(length: waiters.count, waiting: places)
    }
}
