/// The director's decision maker: directory, paths, reservations, leases, queue, IDs.
///
/// A plain value driven by events (`requestReceived`, `streamEnded`, `leaseRenewed`,
/// `clockAdvanced`, ...) that each take `now` and return what happened, so every rule can be
/// tested without a socket or a sleep. The director executes the outcomes (answers clients,
/// persists, tells engines).
public struct AdmissionController: Sendable {
    public let topology: Topology
    public let policy: AdmissionPolicy
    public var clientNetworks: ClientNetworks
    public private(set) var book: ReservationBook
    public internal(set) var directory = Directory()
    public private(set) var streams: [UInt32: LiveStream] = [:]
    /// What each user and key holds in `streams`, for quotas.
    public private(set) var holdings = HoldingLedger()
    public private(set) var queue: AdmissionQueue
    /// When each stream may next be due (lease expiry, or claim deadline while unclaimed),
    /// earliest first, so the sweep touches only due streams. Entries are never later than the
    /// stream's real next deadline: leases only grow and a claim only removes a deadline, so an
    /// entry popped too early is pushed again with the stream's current deadline; entries of
    /// ended streams are dropped when popped.
    private var deadlines = BinaryHeap<Deadline>()
    private var streamIDs: StreamIDAllocator
    private var labels: LabelAllocator
    let pathFinder: PathFinder
    /// Demand, copies in flight, and the memory that keeps replicas from flapping.
    public internal(set) var replication: ReplicationState

    public init(
        topology: Topology, clientNetworks: ClientNetworks, policy: AdmissionPolicy, replication: ReplicationPolicy = ReplicationPolicy(),
        streamIDSeed: UInt32 = 1, labelSeed: UInt32 = 0, unpredictableStreamIDs: Bool = false
    ) {
        self.replication = ReplicationState(policy: replication)
        self.labels = LabelAllocator(seed: labelSeed)
        self.topology = topology
        self.policy = policy
        self.clientNetworks = clientNetworks
        self.book = ReservationBook(topology: topology)
        self.queue = AdmissionQueue(capacity: policy.maxQueueLength)
        self.streamIDs = StreamIDAllocator(seed: streamIDSeed, unpredictable: unpredictableStreamIDs)
        self.pathFinder = PathFinder(topology: topology)
    }

    public enum Decision: Hashable, Sendable {
        case admitted(LiveStream)
        case queued(AdmissionRefusal)
        case refused(AdmissionRefusal)
    }

    /// What happened to a waiter when capacity changed or time passed.
    public enum QueueOutcome: Hashable, Sendable {
        case admitted(ticket: UInt64, LiveStream)
        case refused(ticket: UInt64, AdmissionRefusal)
    }

    // MARK: Catalog and engines

    public mutating func objectAdded(_ object: MediaObject, on engine: String?, kind: ReplicaKind? = nil) {
        directory.add(object)
        if let engine { directory.addReplica(of: object.name, on: engine, kind: kind) }
    }

    /// An engine (re)registered: it is up, with these limits and these objects. Replicas it
    /// no longer lists (deleted, or quarantined when they failed verification) are unlisted
    /// and returned.
    @discardableResult
    public mutating func engineRegistered(_ record: EngineRecord, objects: [MediaObject], now: Timestamp) -> [String] {
        var record = record
        record.isUp = true
        record.lastHeartbeat = now
        directory.upsert(record)
        book.setCapacity(record.capacity, forEngine: record.name)
        var listed: Set<String> = []
        for object in objects {
            if directory.objects[object.name] == nil { directory.add(object) }
            if directory.objects[object.name]?.sha256 == object.sha256 {
                directory.addReplica(of: object.name, on: record.name)
                listed.insert(object.name)
            }
        }
        let gone = directory.replicas.filter { $0.value.contains(record.name) && !listed.contains($0.key) }.map(\.key).sorted()
        for object in gone { directory.removeReplica(of: object, on: record.name) }
        return gone
    }

    /// Restores an engine known from the store; it stays down until it heartbeats.
    public mutating func engineRestored(_ record: EngineRecord) {
        var record = record
        record.isUp = false
        directory.upsert(record)
        book.setCapacity(record.capacity, forEngine: record.name)
    }

    /// Returns false for an engine that never registered (it must register first).
    public mutating func heartbeatReceived(engine: String, now: Timestamp) -> Bool {
        guard directory.engines[engine] != nil else { return false }
        directory.setEngine(engine, isUp: true, heartbeat: now)
        return true
    }

    public func load(ofEngine engine: String) -> Double {
        guard let capacity = book.engineCapacity[engine] else { return 1 }
        let used = book.usage(ofEngine: engine)
        let streams = capacity.maxStreams > 0 ? Double(used.streams) / Double(capacity.maxStreams) : 1
        let ingest = capacity.ingestBitsPerSecond > 0 ? Double(used.ingestBitsPerSecond) / Double(capacity.ingestBitsPerSecond) : 1
        return max(streams, ingest)
    }

    // MARK: Requests

    public mutating func requestReceived(_ request: AdmissionRequest, now: Timestamp) -> Decision {
        switch tryAdmit(request, now: now) {
        case .success(let stream):
            return .admitted(stream)
        case .failure(let refusal):
            guard refusal.isTransient, request.deadline > now else { return .refused(refusal) }
            guard queue.enqueue(request, at: now, refusal: refusal) else {
                return .refused(AdmissionRefusal(.queueFull, "the admission queue holds its maximum of \(queue.capacity) waiting requests; \(refusal.message)", link: refusal.link, engine: refusal.engine))
            }
            return .queued(refusal)
        }
    }

    /// A waiting request gave up (the client went away).
    public mutating func requestCancelled(ticket: UInt64) {
        queue.remove(ticket: ticket)
    }

    /// The engine or a client ended the stream: free everything and try the waiters.
    public mutating func streamEnded(id: UInt32, bytesSent: Int64? = nil, quality: ReceptionQuality? = nil, now: Timestamp) -> (ended: LiveStream?, queue: [QueueOutcome]) {
        guard var stream = release(id) else { return (nil, []) }
        if let bytesSent { stream.bytesSent = bytesSent }
        if let quality { stream.quality = quality }
        return (stream, wakeWaiters(now: now))
    }

    /// The engine renewed a lease; it now runs at least until now + slack. Nil if unknown.
    public mutating func leaseRenewed(
        id: UInt32, bytesSent: Int64? = nil, quality: ReceptionQuality? = nil, receiverReportAt: Timestamp? = nil,
        rtpPosition: RTPPosition? = nil, now: Timestamp
    ) -> LiveStream? {
        guard var stream = streams[id] else { return nil }
        if let rtpPosition {
            stream.rtpPosition = rtpPosition
            stream.positionReportedAt = now
        }
        if let quality { stream.quality = quality }
        if let receiverReportAt { stream.lastReceiverReport = receiverReportAt }
        stream.leaseExpiry = max(stream.leaseExpiry, now + policy.leaseSlack)
        stream.isClaimed = true
        // Counts only grow: a late or reordered report never takes delivered bytes back.
        if let bytesSent { stream.bytesSent = max(stream.bytesSent, bytesSent) }
        streams[id] = stream
        return stream
    }

    public struct ClockOutcome: Hashable, Sendable {
        public var expired: [LiveStream] = []
        /// Admitted streams nobody started within `claimTimeout`.
        public var unclaimed: [LiveStream] = []
        public var enginesDown: [String] = []
        public var queue: [QueueOutcome] = []
    }

    /// Time passed: expire leases, drop unclaimed streams, mark silent engines down, admit or
    /// refuse waiters.
    public mutating func clockAdvanced(now: Timestamp) -> ClockOutcome {
        var outcome = ClockOutcome()
        // Only due streams are visited (a busy director holds tens of thousands of leases and
        // ticks ten times a second), then handled in ID order so outcomes are reproducible.
        var due: [UInt32: LiveStream] = [:]
        while let next = deadlines.first, next.at <= now {
            _ = deadlines.pop()
            guard let stream = streams[next.id], due[next.id] == nil else { continue }
            let deadline = self.deadline(of: stream)
            if deadline <= now { due[next.id] = stream } else { deadlines.push(Deadline(at: deadline, id: next.id)) }
        }
        for (id, stream) in due.sorted(by: { $0.key < $1.key }) {
            if stream.leaseExpiry <= now {
                _ = release(id)
                outcome.expired.append(stream)
            } else if !stream.isClaimed && stream.admittedAt + policy.claimTimeout <= now {
                _ = release(id)
                outcome.unclaimed.append(stream)
            }
        }
        for engine in directory.engines.values.sorted(by: { $0.name < $1.name })
        where engine.isUp && engine.lastHeartbeat + policy.heartbeatTimeout <= now {
            directory.setEngine(engine.name, isUp: false)
            outcome.enginesDown.append(engine.name)
        }
        outcome.queue = wakeWaiters(now: now)
        return outcome
    }

    // MARK: Sharing a store with other directors

    /// The shared store would not book `stream` (another director took the room, its ID or a
    /// label first): forget it. The allocators have moved past its ID and labels.
    public mutating func admissionRejected(_ stream: LiveStream) {
        _ = release(stream.id)
    }

    /// The shared store holds this stream ID or this label for another director's stream: the
    /// allocator continues from `seed` instead of walking through the other director's run.
    public mutating func identifierTakenElsewhere(labelAtNode node: String?, seed: UInt32) {
        if let node { labels.jump(atNode: node, seed: seed) } else { streamIDs.jump(to: seed) }
    }

    /// Puts a waiter back in the queue after the shared store refused what the core admitted
    /// for it; false when the queue has no room left.
    public mutating func requeue(_ request: AdmissionRequest, refusal: AdmissionRefusal, now: Timestamp) -> Bool {
        queue.enqueue(request, at: now, refusal: refusal)
    }

    /// A reading of the shared store: every director's bookings and the engines' last
    /// heartbeats (an engine is up for every director when any of them heard it).
    public mutating func sharedStateObserved(
        links: [String: Int64], engines: [String: EngineUsage], heartbeats: [String: Timestamp], now: Timestamp
    ) {
        book.sharedTotalsObserved(links: links, engines: engines)
        for (name, heartbeat) in heartbeats {
            guard let engine = directory.engines[name] else { continue }
            let latest = max(heartbeat, engine.lastHeartbeat)
            directory.setEngine(name, isUp: latest + policy.heartbeatTimeout > now, heartbeat: latest)
        }
    }

    /// Capacity may have been freed elsewhere: admit or refuse waiters.
    public mutating func settleWaiters(now: Timestamp) -> [QueueOutcome] {
        wakeWaiters(now: now)
    }

    /// Re-books a stream persisted before a restart, with its ID and labels.
    public mutating func streamRestored(_ stream: LiveStream) {
        streamIDs.claim(stream.id)
        for hop in stream.hops { labels.claim(hop.label, atNode: hop.node) }
        book.restore(stream.reservation)
        if let old = streams[stream.id] { holdings.remove(old) }
        streams[stream.id] = stream
        holdings.add(stream)
        deadlines.push(Deadline(at: deadline(of: stream), id: stream.id))
    }

    struct Deadline: Comparable, Sendable {
        var at: Timestamp
        var id: UInt32
        static func < (lhs: Deadline, rhs: Deadline) -> Bool { (lhs.at, lhs.id) < (rhs.at, rhs.id) }
    }

    /// The next instant `stream` may need the sweep: its lease expiry, or its claim deadline
    /// while nobody has started it.
    private func deadline(of stream: LiveStream) -> Timestamp {
        stream.isClaimed ? stream.leaseExpiry : min(stream.leaseExpiry, stream.admittedAt + policy.claimTimeout)
    }

    // MARK: Internals

    private mutating func wakeWaiters(now: Timestamp) -> [QueueOutcome] {
        guard queue.count > 0 else { return [] }
        var outcomes: [QueueOutcome] = []
        for waiter in queue.removeExpired(at: now) {
            let refusal = AdmissionRefusal(
                .waitExpired, "no capacity freed within the wait limit; last reason: \(waiter.lastRefusal.message)",
                link: waiter.lastRefusal.link, engine: waiter.lastRefusal.engine,
                requestedBitsPerSecond: waiter.lastRefusal.requestedBitsPerSecond,
                availableBitsPerSecond: waiter.lastRefusal.availableBitsPerSecond)
            outcomes.append(.refused(ticket: waiter.request.ticket, refusal))
        }
        for waiter in queue.waiters {
            switch tryAdmit(waiter.request, now: now) {
            case .success(let stream):
                queue.remove(ticket: waiter.request.ticket)
                outcomes.append(.admitted(ticket: waiter.request.ticket, stream))
            case .failure(let refusal) where refusal.isTransient:
                queue.updateRefusal(ticket: waiter.request.ticket, refusal)
            case .failure(let refusal):
                queue.remove(ticket: waiter.request.ticket)
                outcomes.append(.refused(ticket: waiter.request.ticket, refusal))
            }
        }
        return outcomes
    }

    private mutating func release(_ id: UInt32) -> LiveStream? {
        guard let stream = streams.removeValue(forKey: id) else { return nil }
        holdings.remove(stream)
        book.release(stream.reservation)
        streamIDs.free(id)
        for hop in stream.hops { labels.free(hop.label, atNode: hop.node) }
        return stream
    }

    private mutating func tryAdmit(_ request: AdmissionRequest, now: Timestamp) -> Result<LiveStream, AdmissionRefusal> {
        switch request.kind {
        case .play(let name): tryAdmitPlay(request, object: name, now: now)
        case .ingest(let name, let size): tryAdmitIngest(request, object: name, sizeBytes: size, now: now)
        }
    }

    private mutating func tryAdmitPlay(_ request: AdmissionRequest, object name: String, now: Timestamp) -> Result<LiveStream, AdmissionRefusal> {
        guard let object = directory.objects[name] else {
            return .failure(AdmissionRefusal(.unknownObject, Entitlements.notFoundMessage(name)))
        }
        let holders = directory.liveHolders(of: name)
        guard !holders.isEmpty else {
            return .failure(AdmissionRefusal(.noReplica, "no engine that holds '\(name)' is up"))
        }
        let rate = policy.reservedRate(for: object)
        let edge = clientNetworks.edge(for: request.clientAddress)
        var best: AdmissionRefusal?
        // Least loaded first; the name breaks ties so choices are reproducible.
        for engine in holders.sorted(by: { (load(ofEngine: $0), $0) < (load(ofEngine: $1), $1) }) {
            guard let links = pathFinder.path(from: engine, to: edge, bitsPerSecond: rate, reservedAt: book.reserved(atLinkIndex:)) else {
                best = preferred(best, explainNoPath(from: engine, to: edge, rate: rate))
                continue
            }
            let reservation = Reservation(engine: engine, links: links, bitsPerSecond: rate, bufferBytes: policy.bufferBytes(forRate: rate))
            if let refusal = book.refusal(for: reservation) {
                best = preferred(best, refusal)
                continue
            }
            let expected = Duration.milliseconds(object.durationMilliseconds)
            return .success(mint(reservation, kind: .play, request: request, lease: policy.initialLease(expected: expected, from: now), now: now))
        }
        return .failure(best ?? AdmissionRefusal(.noRoute, "no engine holding '\(name)' can reach edge '\(edge)'"))
    }

    private mutating func tryAdmitIngest(_ request: AdmissionRequest, object name: String, sizeBytes: Int64, now: Timestamp) -> Result<LiveStream, AdmissionRefusal> {
        if directory.objects[name] != nil {
            return .failure(AdmissionRefusal(.objectExists, "object '\(name)' already exists; delete it or pick another name"))
        }
        let engines = directory.servingEngines
        guard !engines.isEmpty else { return .failure(AdmissionRefusal(.engineUnavailable, "no engine is up to take the upload")) }
        var best: AdmissionRefusal?
        for engine in engines.sorted(by: { (load(ofEngine: $0), $0) < (load(ofEngine: $1), $1) }) {
            let reservation = Reservation(
                engine: engine, links: [], bitsPerSecond: 0, streamSlots: 0,
                ingestBitsPerSecond: policy.ingestBitsPerSecond, diskBytes: sizeBytes)
            if let refusal = book.refusal(for: reservation) {
                best = preferred(best, refusal)
                continue
            }
            let seconds = Double(sizeBytes) * 8 / Double(max(1, policy.ingestBitsPerSecond))
            let lease = policy.initialLease(expected: .milliseconds(Int64(seconds * 1000)), from: now)
            return .success(mint(reservation, kind: .ingest, request: request, lease: lease, now: now))
        }
        return .failure(best ?? AdmissionRefusal(.engineFull, "no engine can take \(sizeBytes) bytes"))
    }

    /// Books a reservation known to fit and mints the stream's ID and labels.
    mutating func mint(_ reservation: Reservation, kind: LiveStream.Kind, request: AdmissionRequest, lease: Timestamp, now: Timestamp) -> LiveStream {
        book.restore(reservation)  // `refusal(for:)` was nil just before: this cannot over-book.
        let id = request.preferredStreamID.flatMap { streamIDs.claim($0) ? $0 : nil } ?? streamIDs.allocate()
        var hops: [Hop] = []
        for linkName in reservation.links {
            guard let link = topology.links[linkName] else { continue }
            // 1,048,560 labels per node: running out would need that many live streams through one node.
            let label = labels.allocate(atNode: link.to) ?? 0
            hops.append(Hop(link: linkName, node: link.to, label: label))
        }
        var stream = LiveStream(
            id: id, kind: kind, object: request.objectName, engine: reservation.engine,
            clientAddress: request.clientAddress, hops: hops, reservation: reservation,
            admittedAt: now, leaseExpiry: lease)
        stream.user = request.user
        stream.keyID = request.keyID
        stream.visibility = request.visibility
        streams[id] = stream
        holdings.add(stream)
        deadlines.push(Deadline(at: deadline(of: stream), id: id))
        return stream
    }

    private func explainNoPath(from engine: String, to edge: String, rate: Int64) -> AdmissionRefusal {
        guard let links = pathFinder.unconstrainedPath(from: engine, to: edge) else {
            return AdmissionRefusal(.noRoute, "engine '\(engine)' has no route to edge '\(edge)'", engine: engine)
        }
        let fullest = links.min { residual($0) < residual($1) } ?? ""
        let available = residual(fullest)
        let capacity = book.linkCapacity[fullest] ?? 0
        return AdmissionRefusal(
            .pathFull, "link '\(fullest)' has \(available) bit/s free of \(capacity); the stream needs \(rate)",
            link: fullest, engine: engine, requestedBitsPerSecond: rate, availableBitsPerSecond: available)
    }

    private func residual(_ link: String) -> Int64 {
        (book.linkCapacity[link] ?? 0) - book.reserved(onLink: link)
    }

    /// Keeps the more useful of two refusals: a full link or engine (worth waiting for) wins.
    private func preferred(_ current: AdmissionRefusal?, _ candidate: AdmissionRefusal) -> AdmissionRefusal {
        guard let current else { return candidate }
        return !current.isTransient && candidate.isTransient ? candidate : current
    }
}
