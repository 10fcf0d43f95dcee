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

/// Objects, the engines holding them, and the engines themselves.
public struct Directory: Sendable {
    public private(set) var objects: [String: MediaObject] = [:]
    public private(set) var replicas: [String: Set<String>] = [:]
    public private(set) var engines: [String: EngineRecord] = [:]

    public init() {}

    public mutating func add(_ object: MediaObject) {
        objects[object.name] = object
    }

    public mutating func addReplica(of object: String, on engine: String) {
        replicas[object, default: []].insert(engine)
    }

    public mutating func removeReplica(of object: String, on engine: String) {
        replicas[object]?.remove(engine)
    }

    public mutating func upsert(_ engine: EngineRecord) {
        engines[engine.name] = engine
    }

    public mutating func setEngine(_ name: String, isUp: Bool, heartbeat: Timestamp? = nil) {
        engines[name]?.isUp = isUp
        if let heartbeat { engines[name]?.lastHeartbeat = heartbeat }
    }

    /// Engines that are up and hold `object`, sorted by name.
    public func liveHolders(of object: String) -> [String] {
        replicas[object, default: []].filter { engines[$0]?.isUp == true }.sorted()
    }
}
