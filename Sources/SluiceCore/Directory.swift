/// A media object in the catalog.
public struct MediaObject: Hashable, Sendable, Codable {
    public var name: String
    public var sizeBytes: Int64
    public var durationMilliseconds: Int64
    public var averageBitsPerSecond: Int64
    /// Lower-case hex SHA-256 of the object's bytes.
    public var sha256: String

    public init(name: String, sizeBytes: Int64, durationMilliseconds: Int64, averageBitsPerSecond: Int64, sha256: String) {
        self.name = name
        self.sizeBytes = sizeBytes
        self.durationMilliseconds = durationMilliseconds
        self.averageBitsPerSecond = averageBitsPerSecond
        self.sha256 = sha256
    }

    /// Object names travel in URL paths and file names: keep them to a safe, bounded alphabet.
    public static func isValidName(_ name: String) -> Bool {
        guard (1...128).contains(name.utf8.count), name.first != ".", name.first != "-" else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }
}

/// An engine as the director knows it.
public struct EngineRecord: Hashable, Sendable, Codable {
    public var name: String
    /// Base URL clients and the director use to reach the engine, e.g. `http://127.0.0.1:8081`.
    public var url: String
    public var capacity: EngineCapacity
    public var isUp: Bool
    public var lastHeartbeat: Timestamp

    public init(name: String, url: String, capacity: EngineCapacity, isUp: Bool, lastHeartbeat: Timestamp) {
        self.name = name
        self.url = url
        self.capacity = capacity
        self.isUp = isUp
        self.lastHeartbeat = lastHeartbeat
    }
}

/// How a replica came to be: declared by an operator (uploaded there, or copied on an
/// operator's order), or made by the director because the object was in demand.
public enum ReplicaKind: String, Hashable, Sendable, Codable {
    /// Never dropped by the director.
    case `static`
    /// Copied to meet demand; abandoned when demand falls.
    case dynamic
}

/// Objects, the engines holding them, and the engines themselves.
public struct Directory: Sendable {
    public private(set) var objects: [String: MediaObject] = [:]
    public private(set) var replicas: [String: Set<String>] = [:]
    public private(set) var engines: [String: EngineRecord] = [:]
    /// Replicas the director made; every other replica is static.
    public private(set) var dynamicReplicas: Set<ReplicaKey> = []
    /// Engines an operator is draining: they take no new streams.
    public private(set) var draining: Set<String> = []

    public init() {}

    public mutating func add(_ object: MediaObject) {
        objects[object.name] = object
    }

    /// Lists a replica; an existing replica keeps its kind unless `kind` is given.
    public mutating func addReplica(of object: String, on engine: String, kind: ReplicaKind? = nil) {
        let inserted = replicas[object, default: []].insert(engine).inserted
        let key = ReplicaKey(object: object, engine: engine)
        switch kind ?? (inserted ? .static : self.kind(of: object, on: engine)) {
        case .static: dynamicReplicas.remove(key)
        case .dynamic: dynamicReplicas.insert(key)
        }
    }

    /// Unlists the object and every replica of it.
    public mutating func removeObject(_ name: String) {
        for engine in replicas[name] ?? [] { dynamicReplicas.remove(ReplicaKey(object: name, engine: engine)) }
        replicas[name] = nil
        objects[name] = nil
    }

    public mutating func removeReplica(of object: String, on engine: String) {
        replicas[object]?.remove(engine)
        dynamicReplicas.remove(ReplicaKey(object: object, engine: engine))
    }

    public func kind(of object: String, on engine: String) -> ReplicaKind {
        dynamicReplicas.contains(ReplicaKey(object: object, engine: engine)) ? .dynamic : .static
    }

    public mutating func upsert(_ engine: EngineRecord) {
        engines[engine.name] = engine
    }

    public mutating func setEngine(_ name: String, isUp: Bool, heartbeat: Timestamp? = nil) {
        engines[name]?.isUp = isUp
        if let heartbeat { engines[name]?.lastHeartbeat = heartbeat }
    }

    public mutating func setDraining(_ engine: String, _ draining: Bool) {
        if draining { self.draining.insert(engine) } else { self.draining.remove(engine) }
    }

    /// Engines that are up, not draining, and hold `object`, sorted by name.
    public func liveHolders(of object: String) -> [String] {
        replicas[object, default: []].filter { engines[$0]?.isUp == true && !draining.contains($0) }.sorted()
    }

    /// Engines that may take new work (streams, uploads, copies), sorted by name.
    public var servingEngines: [String] {
        engines.values.filter { $0.isUp && !draining.contains($0.name) }.map(\.name).sorted()
    }
}

/// One object on one engine.
public struct ReplicaKey: Hashable, Sendable, Codable, Comparable {
    public var object: String
    public var engine: String
    public init(object: String, engine: String) {
        self.object = object
        self.engine = engine
    }
    public static func < (lhs: ReplicaKey, rhs: ReplicaKey) -> Bool { (lhs.object, lhs.engine) < (rhs.object, rhs.engine) }
}
