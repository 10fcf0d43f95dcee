import SluiceCore

/// Everything a director persists, read back in one piece at start.
public struct StoreSnapshot: Sendable {
    public var objects: [MediaObject] = []
    public var replicas: [(object: String, engine: String, kind: ReplicaKind)] = []
    public var engines: [EngineRecord] = []
    public var streams: [LiveStream] = []
    /// Engines an operator is draining (they take no new streams).
    public var draining: Set<String> = []
    public init() {}
}

/// Durable state of a director: catalog, replicas, engines, live leases, usage records.
public protocol SluiceStore: Sendable {
    func load() async throws -> StoreSnapshot
    func save(object: MediaObject) async throws
    /// Lists a replica, or changes the kind of a listed one.
    func save(replicaOf object: String, on engine: String, kind: ReplicaKind) async throws
    func delete(replicaOf object: String, on engine: String) async throws
    /// Removes the object, its replicas and its access rule (usage records stay).
    func delete(object: String) async throws
    func save(engine: EngineRecord) async throws
    /// Starts or stops draining an engine; kept across restarts and shared by directors.
    func save(draining engine: String, _ draining: Bool) async throws
    func save(stream: LiveStream) async throws
    func deleteStream(id: UInt32) async throws
    func append(usage: UsageRecord) async throws
    func usage(since: Timestamp, limit: Int) async throws -> [UsageRecord]
    /// The latest usage record of one stream (indexed), nil when it has none.
    func usage(streamID: UInt32) async throws -> UsageRecord?
    /// Records in the order they were written, after position `sequence` (0: from the first).
    func usage(afterSequence sequence: Int64, limit: Int) async throws -> [(sequence: Int64, record: UsageRecord)]
    /// How far a consumer of usage records (the webhook) has got; 0 when it never delivered.
    /// How many usage records come after `sequence` (a consumer's backlog).
    func usageCount(afterSequence sequence: Int64) async throws -> Int
    func deliveryCursor(_ consumer: String) async throws -> Int64
    func saveDeliveryCursor(_ consumer: String, _ sequence: Int64) async throws
    /// Users and API keys (digests only), read at start; saved on every change.
    func identities() async throws -> (users: [User], keys: [KeyRecord])
    func save(user: User) async throws
    func save(key: KeyRecord) async throws
    /// Who may play which object (objects without a rule are public).
    func accessRules() async throws -> [ObjectAccess]
    func save(access: ObjectAccess) async throws
    func close() async throws
    /// Throws when the store cannot be reached now (`/readyz`).
    func ping() async throws
}
