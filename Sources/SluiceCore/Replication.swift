/// When the director copies hot objects to idle engines and drops the copies again.
///
/// Copy (FIG. 5, 501-505): an object is *overloaded* when at least `overloadRequests` of its
/// requests were queued or refused within `window` because the engines holding it were
/// saturated, and none of them can take one more stream now; it is *hot* when it had at least
/// `overloadRequests` requests within `window` and the path from every holder to its viewers
/// is already `uplinkThreshold` reserved (copy before the link is full, while the copy still
/// fits beside the streams). Then an up engine that does not hold it, has room on disk, a load
/// under `targetLoadLimit`, a free path to the clients, and a route from a holder gets a copy,
/// at `copyBitsPerSecond` or what the route has free, never slower than the object plays.
///
/// Abandon (506-508): a dynamic replica that carries no stream is dropped once the object's
/// requests per `window` stayed under `abandonBelowRequests` for `coolDown` and the replica is
/// at least `coolDown` old. The two rules use different evidence (saturation versus quiet)
/// and both need a full `coolDown`, so demand oscillating around a threshold cannot make a
/// replica come and go: it is made at most once per `coolDown` after a drop.
public struct ReplicationPolicy: Hashable, Sendable, Codable {
    public var enabled = true
    /// Demand is counted over this sliding window.
    public var window: Duration = .seconds(30)
    /// Queued or refused requests within `window` that make an object overloaded.
    public var overloadRequests = 2
    /// An engine at or above this load (0...1, streams or ingest) takes no copy.
    public var targetLoadLimit = 0.75
    /// A requested object whose holders' paths to the viewers are this reserved (0...1) is
    /// copied before they fill up.
    public var uplinkThreshold = 0.8
    /// Background copy rate: reserved on every link the copy crosses, and as ingest on the target.
    public var copyBitsPerSecond: Int64 = 50_000_000
    /// Copies in flight at once, cluster-wide.
    public var maxConcurrentCopies = 2
    /// A dynamic replica goes when the object had fewer requests than this per `window` ...
    public var abandonBelowRequests = 1
    /// ... for this long (and the replica is at least this old).
    public var coolDown: Duration = .seconds(120)
    /// Never fewer replicas of an object than this (static ones are never dropped anyway).
    public var minimumReplicas = 1

    public init() {}
}

/// What happened to one request, as demand evidence.
public enum DemandOutcome: Hashable, Sendable {
    case admitted
    /// Waited in the queue (the engines holding the object were busy).
    case queued
    /// Turned away because capacity was short (not for a bad name or a missing replica).
    case refused
}

/// Requests for one object within the window.
public struct DemandCounts: Hashable, Sendable, Codable {
    public var admitted = 0
    public var queued = 0
    public var refused = 0
    public init() {}
    public var requests: Int { admitted + queued + refused }
    /// Requests that found the holders saturated.
    public var saturated: Int { queued + refused }

    mutating func add(_ outcome: DemandOutcome) {
        switch outcome {
        case .admitted: admitted += 1
        case .queued: queued += 1
        case .refused: refused += 1
        }
    }

    static func + (lhs: DemandCounts, rhs: DemandCounts) -> DemandCounts {
        var sum = lhs
        sum.admitted += rhs.admitted
        sum.queued += rhs.queued
        sum.refused += rhs.refused
        return sum
    }
}

/// One object's demand as one director saw it within the window. Directors sharing a store
/// publish theirs, so the cluster's one planner works from every request, wherever it came in.
public struct ObjectDemand: Hashable, Sendable {
    public var object: String
    public var counts: DemandCounts
    /// The edge of the latest request, and of the latest turned away (if any was).
    public var edge: String
    public var turnedAwayEdge: String?

    public init(object: String, counts: DemandCounts, edge: String, turnedAwayEdge: String? = nil) {
        self.object = object
        self.counts = counts
        self.edge = edge
        self.turnedAwayEdge = turnedAwayEdge
    }
}

/// What the planner learns from the shared store about the rest of the cluster.
public struct ClusterActivity: Hashable, Sendable {
    /// Demand the other directors saw, summed per object.
    public var demand: [String: ObjectDemand] = [:]
    /// Copies in flight, whichever director ordered them: object -> targets.
    public var copying: [String: Set<String>] = [:]

    public init(demand: [String: ObjectDemand] = [:], copying: [String: Set<String>] = [:]) {
        self.demand = demand
        self.copying = copying
    }
}

/// A sliding window of counts in ten fixed slots: bounded memory, however many requests.
public struct DemandWindow: Hashable, Sendable {
    static let slotCount = 10
    let slotMilliseconds: Int64
    private var slots: [(index: Int64, counts: DemandCounts)]

    public init(window: Duration) {
        slotMilliseconds = max(1, window.wholeMilliseconds / Int64(Self.slotCount))
        slots = Array(repeating: (-1, DemandCounts()), count: Self.slotCount)
    }

    public mutating func record(_ outcome: DemandOutcome, at now: Timestamp) {
        let index = now.millisecondsSinceEpoch / slotMilliseconds
        let position = Int(index % Int64(Self.slotCount))
        if slots[position].index != index { slots[position] = (index, DemandCounts()) }
        slots[position].counts.add(outcome)
    }

    /// Counts of the slots within the window ending at `now`.
    public func counts(at now: Timestamp) -> DemandCounts {
        let current = now.millisecondsSinceEpoch / slotMilliseconds
        return slots.filter { $0.index > current - Int64(Self.slotCount) && $0.index <= current }
            .reduce(DemandCounts()) { $0 + $1.counts }
    }

    public static func == (lhs: DemandWindow, rhs: DemandWindow) -> Bool {
        lhs.slotMilliseconds == rhs.slotMilliseconds && lhs.slots.map(\.index) == rhs.slots.map(\.index)
            && lhs.slots.map(\.counts) == rhs.slots.map(\.counts)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(slotMilliseconds)
        for slot in slots { hasher.combine(slot.index); hasher.combine(slot.counts) }
    }
}

/// A copy the director ordered: reserved as the stream `id` until the target reports.
public struct CopyJob: Hashable, Sendable, Codable {
    public var id: UInt32
    public var object: String
    public var source: String
    public var target: String
    public var startedAt: Timestamp
    /// Given up when the target has not reported by then.
    public var deadline: Timestamp
    /// Made for demand (dynamic) or on an operator's order (static).
    public var kind: ReplicaKind
}

/// What the planner wants done.
public enum ReplicationAction: Hashable, Sendable {
    case copy(object: String, from: String, to: String)
    case drop(object: String, engine: String)
}

/// The planner's memory: demand per object, when each object was last busy, and when each
/// replica was last dropped. Decisions are made by `AdmissionController.planReplication`.
public struct ReplicationState: Sendable {
    /// The rules (replaced when the configuration is reloaded; demand windows already open
    /// keep the slot length they were opened with).
    public internal(set) var policy: ReplicationPolicy
    public private(set) var demand: [String: DemandWindow] = [:]
    /// The edge of the latest client turned away, per object: where a copy must be able to send.
    public private(set) var turnedAwayAt: [String: String] = [:]
    /// The edge of the latest request, admitted or not.
    public private(set) var requestedAt: [String: String] = [:]
    /// Why an object that wants a copy has none, as of the latest plan (shown in its status).
    public internal(set) var copyBlocked: [String: String] = [:]
    /// Last instant each object's demand was at or above the abandon threshold.
    public private(set) var busyAt: [String: Timestamp] = [:]
    /// When each dynamic replica was listed or last dropped.
    var listedAt: [ReplicaKey: Timestamp] = [:]
    var droppedAt: [ReplicaKey: Timestamp] = [:]
    public internal(set) var copies: [UInt32: CopyJob] = [:]
    /// The rest of the cluster, as the planner last read it (empty without a shared store).
    public internal(set) var cluster = ClusterActivity()

    public init(policy: ReplicationPolicy) {
        self.policy = policy
    }

    mutating func record(_ outcome: DemandOutcome, object: String, edge: String, at now: Timestamp) {
        demand[object, default: DemandWindow(window: policy.window)].record(outcome, at: now)
        if outcome != .admitted { turnedAwayAt[object] = edge }
        requestedAt[object] = edge
        noteBusy(object, at: now)
    }

    /// Refreshes `busyAt` from the window (called on every request and every plan).
    mutating func noteBusy(_ object: String, at now: Timestamp) {
        if counts(object, at: now).requests >= policy.abandonBelowRequests { busyAt[object] = now }
    }

    /// Requests within the window, here and (for the planner) at the other directors.
    public func counts(_ object: String, at now: Timestamp) -> DemandCounts {
        localCounts(object, at: now) + (cluster.demand[object]?.counts ?? DemandCounts())
    }

    /// Requests this director saw within the window.
    public func localCounts(_ object: String, at now: Timestamp) -> DemandCounts {
        demand[object]?.counts(at: now) ?? DemandCounts()
    }

    /// This director's demand, to publish for the planner: objects requested within the window.
    public func localDemand(at now: Timestamp) -> [ObjectDemand] {
        demand.keys.sorted().compactMap { object in
            let counts = localCounts(object, at: now)
            guard counts.requests > 0 else { return nil }
            return ObjectDemand(object: object, counts: counts, edge: requestedAt[object] ?? "", turnedAwayEdge: turnedAwayAt[object])
        }
    }

    /// Where a copy of `object` must be able to send: the latest client turned away, else the
    /// latest request, here first, then elsewhere in the cluster.
    func edge(of object: String) -> String? {
        let elsewhere = cluster.demand[object]
        return turnedAwayAt[object] ?? elsewhere?.turnedAwayEdge ?? requestedAt[object] ?? elsewhere.map(\.edge).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A copy of `object` is in flight, ordered by this director or another.
    func isCopying(_ object: String) -> Bool {
        !copying(object).isEmpty || cluster.copying[object]?.isEmpty == false
    }

    /// Forgets everything about a deleted object.
    mutating func forget(_ object: String) {
        demand[object] = nil
        turnedAwayAt[object] = nil
        requestedAt[object] = nil
        copyBlocked[object] = nil
        busyAt[object] = nil
        cluster.demand[object] = nil
        cluster.copying[object] = nil
        listedAt = listedAt.filter { $0.key.object != object }
        droppedAt = droppedAt.filter { $0.key.object != object }
    }

    public func copying(_ object: String) -> [CopyJob] {
        copies.values.filter { $0.object == object }
    }
}
