/// Replication decisions (see `ReplicationPolicy`): demand in, copy and drop orders out, and
/// the copies' reservations, which are leases like any stream's.
extension AdmissionController {
    /// A request for `object` was admitted, queued or turned away for want of capacity.
    public mutating func demandObserved(_ outcome: DemandOutcome, object: String, clientAddress: String, now: Timestamp) {
        guard directory.objects[object] != nil else { return }
        replication.record(outcome, object: object, edge: clientNetworks.edge(for: clientAddress), at: now)
    }

    /// Copies to start and dynamic replicas to drop, now.
    public mutating func planReplication(now: Timestamp) -> [ReplicationAction] {
        let rules = replication.policy
        guard rules.enabled else { return [] }
        for object in directory.objects.keys { replication.noteBusy(object, at: now) }
        var actions: [ReplicationAction] = []
        // The store lists every director's copies (this one's too); without one, only ours count.
        var inFlight = max(replication.copies.count, replication.cluster.copying.values.reduce(0) { $0 + $1.count })
        var blocked: [String: String] = [:]
        for name in Set(replication.demand.keys).union(replication.cluster.demand.keys).sorted() {
            switch copyWanted(name, now: now) {
            case .none: continue
            case .blocked(let reason): blocked[name] = reason
            case .copy(let source, let target):
                guard inFlight < rules.maxConcurrentCopies else {
                    blocked[name] = "\(inFlight) copies are in flight (replication.maxConcurrentCopies)"
                    continue
                }
                actions.append(.copy(object: name, from: source, to: target))
                inFlight += 1
            }
        }
        replication.copyBlocked = blocked
        // Streams are looked at once, and only when some dynamic replica has gone cold.
        let cold = directory.dynamicReplicas.sorted().filter { isCold($0, now: now) }
        let playing = cold.isEmpty ? [] : Set(streams.values.lazy.filter { $0.kind == .play }.map { ReplicaKey(object: $0.object, engine: $0.engine) })
        var remaining: [String: Int] = [:]
        for key in cold where !playing.contains(key) {
            let count = remaining[key.object] ?? directory.replicas[key.object, default: []].count
            guard count > max(1, rules.minimumReplicas) else { continue }
            remaining[key.object] = count - 1
            actions.append(.drop(object: key.object, engine: key.engine))
        }
        return actions
    }

    /// What `copyWanted` decided for one object.
    enum CopyDecision: Equatable {
        /// No copy wanted (not in demand, or one is in flight).
        case none
        case copy(source: String, target: String)
        /// A copy is wanted and none can be placed, with why.
        case blocked(String)
    }

    /// The source and target of the copy `object` needs now, if it needs one (FIG. 5, 501-504).
    func copyWanted(_ name: String, now: Timestamp) -> CopyDecision {
        let rules = replication.policy
        guard let object = directory.objects[name], !replication.isCopying(name) else { return .none }
        let counts = replication.counts(name, at: now)
        guard counts.requests >= rules.overloadRequests else { return .none }
        let edge = replication.edge(of: name) ?? clientNetworks.defaultEdge
        let rate = policy.reservedRate(for: object)
        let holders = directory.replicas[name, default: []].filter { directory.engines[$0]?.isUp == true }
        let live = directory.liveHolders(of: name)
        guard !holders.isEmpty else { return .none }
        // Overloaded only while every holder is still saturated (freed room needs no copy); hot
        // while every holder's path to the viewers is past the threshold.
        let overloaded = counts.saturated >= rules.overloadRequests && !live.contains { canServe(from: $0, to: edge, rate: rate) }
        let hot = live.allSatisfy { utilisation(from: $0, to: edge) >= rules.uplinkThreshold }
        guard overloaded || hot else { return .none }
        let others = directory.servingEngines.filter { !holders.contains($0) }
        guard !others.isEmpty else { return .blocked("every engine that takes work already holds it") }
        let cooled = others.filter { replication.droppedAt[ReplicaKey(object: name, engine: $0)].map { $0 + rules.coolDown <= now } ?? true }
        guard !cooled.isEmpty else { return .blocked("its copies were dropped within replication.coolDown") }
        let idle = cooled.filter { load(ofEngine: $0) < rules.targetLoadLimit }
        guard !idle.isEmpty else { return .blocked("every other engine is at or above replication.targetLoadLimit \(rules.targetLoadLimit)") }
        let roomy = idle.filter { freeDisk(onEngine: $0) >= object.sizeBytes }
        guard !roomy.isEmpty else { return .blocked("no other engine has \(object.sizeBytes) bytes of disk free") }
        let targets = roomy.filter { canServe(from: $0, to: edge, rate: rate) }
        guard !targets.isEmpty else { return .blocked("no other engine has a path to \(edge) with \(rate) bit/s free") }
        let sources = holders.sorted { (load(ofEngine: $0), $0) < (load(ofEngine: $1), $1) }
        for target in targets.sorted(by: { (load(ofEngine: $0), $0) < (load(ofEngine: $1), $1) }) {
            if let source = sources.first(where: { copyRoute(from: $0, to: target, object: object) != nil }) { return .copy(source: source, target: target) }
        }
        return .blocked("no route from a holder to another engine has \(rate) bit/s free (the object's own rate) for the copy")
    }

    /// How full the path from `engine` to `edge` is: the most reserved of its links (0...1); 1
    /// when there is no path.
    func utilisation(from engine: String, to edge: String) -> Double {
        guard let links = pathFinder.path(from: engine, to: edge, bitsPerSecond: 0, reservedAt: book.reserved(atLinkIndex:)) else { return 1 }
        return links.map { name in
            guard let capacity = topology.links[name]?.capacityBitsPerSecond, capacity > 0 else { return 1.0 }
            return Double(book.reserved(onLink: name)) / Double(capacity)
        }.max() ?? 0
    }

    /// A dynamic replica old enough, of an object quiet for the cool-down, that no copy reads
    /// from. (Whether a stream plays it is checked by the caller.)
    private func isCold(_ key: ReplicaKey, now: Timestamp) -> Bool {
        let coolDown = replication.policy.coolDown
        return (replication.listedAt[key] ?? now) + coolDown <= now
            && (replication.busyAt[key.object].map { $0 + coolDown <= now } ?? true)
            && !replication.copies.values.contains { $0.source == key.engine && $0.object == key.object }
    }

    /// One more stream of `rate` from `engine` to `edge` fits now.
    func canServe(from engine: String, to edge: String, rate: Int64) -> Bool {
        guard let links = pathFinder.path(from: engine, to: edge, bitsPerSecond: rate, reservedAt: book.reserved(atLinkIndex:)) else {
            return false
        }
        return book.refusal(for: Reservation(engine: engine, links: links, bitsPerSecond: rate, bufferBytes: policy.bufferBytes(forRate: rate))) == nil
    }

    /// Disk an engine has left: its declared disk minus the objects it holds and uploads booked.
    public func freeDisk(onEngine engine: String) -> Int64 {
        guard let capacity = book.engineCapacity[engine] else { return 0 }
        let held = directory.replicas.reduce(Int64(0)) { sum, entry in
            entry.value.contains(engine) ? sum + (directory.objects[entry.key]?.sizeBytes ?? 0) : sum
        }
        return capacity.diskBytes - held - book.usage(ofEngine: engine).diskBytes
    }

    /// The links a copy from `source` to `target` crosses and the rate it runs at: a declared
    /// path to the target if there is one, else the path to the node the target's own uplink
    /// reaches (links are declared in the direction media flows to viewers). The rate is
    /// `copyBitsPerSecond` where the route has it free, else what the route has free, but never
    /// less than the object's own reserved rate (a copy slower than playing is no help).
    func copyRoute(from source: String, to target: String, object: MediaObject) -> (links: [String], bitsPerSecond: Int64)? {
        let full = replication.policy.copyBitsPerSecond
        let floor = min(full, policy.reservedRate(for: object))
        func route(at rate: Int64) -> [String]? {
            if let direct = pathFinder.path(from: source, to: target, bitsPerSecond: rate, reservedAt: book.reserved(atLinkIndex:)) {
                return direct
            }
            let meeting = Set(topology.outgoing[target, default: []].compactMap { topology.links[$0]?.to })
            return meeting.sorted().compactMap { node in
                node == source ? nil : pathFinder.path(from: source, to: node, bitsPerSecond: rate, reservedAt: book.reserved(atLinkIndex:))
            }.min { $0.count < $1.count }
        }
        if let links = route(at: full) { return (links, full) }
        guard let links = route(at: floor) else { return nil }
        let free = links.compactMap { name in topology.links[name].map { $0.capacityBitsPerSecond - book.reserved(onLink: name) } }.min() ?? floor
        return (links, max(floor, min(full, free)))
    }

    /// Reserves a copy of `object` from `source` to `target` (the route at the copy rate, the
    /// target's ingest and disk) as a lease, and remembers the job until the target reports.
    public mutating func copyRequested(
        object name: String, from source: String, to target: String, kind: ReplicaKind, targetAddress: String, now: Timestamp
    ) -> Result<LiveStream, AdmissionRefusal> {
        guard let object = directory.objects[name] else {
            return .failure(AdmissionRefusal(.unknownObject, "object '\(name)' is not in the catalog"))
        }
        guard directory.replicas[name]?.contains(source) == true, directory.engines[source]?.isUp == true else {
            return .failure(AdmissionRefusal(.noReplica, "engine '\(source)' is not up with a replica of '\(name)'", engine: source))
        }
        guard directory.servingEngines.contains(target) else {
            return .failure(AdmissionRefusal(.engineUnavailable, "engine '\(target)' is not up or is draining", engine: target))
        }
        guard directory.replicas[name]?.contains(target) != true, !replication.copying(name).contains(where: { $0.target == target }) else {
            return .failure(AdmissionRefusal(.objectExists, "engine '\(target)' already holds '\(name)' or is receiving it", engine: target))
        }
        guard freeDisk(onEngine: target) >= object.sizeBytes else {
            return .failure(AdmissionRefusal(.engineFull, "engine '\(target)' has \(freeDisk(onEngine: target)) bytes of disk free; '\(name)' needs \(object.sizeBytes)", engine: target))
        }
        guard let (route, rate) = copyRoute(from: source, to: target, object: object) else {
            let rate = min(replication.policy.copyBitsPerSecond, policy.reservedRate(for: object))
            return .failure(AdmissionRefusal(.pathFull, "no route from '\(source)' to '\(target)' has \(rate) bit/s free for the copy", engine: target, requestedBitsPerSecond: rate))
        }
        let reservation = Reservation(
            engine: target, links: route, bitsPerSecond: rate, streamSlots: 0, ingestBitsPerSecond: rate, diskBytes: object.sizeBytes)
        if let refusal = book.refusal(for: reservation) { return .failure(refusal) }
        let seconds = Double(object.sizeBytes) * 8 / Double(rate)
        let lease = policy.initialLease(expected: .milliseconds(Int64(seconds * 1000)), from: now)
        let request = AdmissionRequest(ticket: 0, kind: .play(object: name), clientAddress: targetAddress, deadline: now)
        let stream = mint(reservation, kind: .copy, request: request, lease: lease, now: now)
        replication.copies[stream.id] = CopyJob(id: stream.id, object: name, source: source, target: target, startedAt: now, deadline: lease, kind: kind)
        return .success(stream)
    }

    /// The target stored the copy and its SHA-256 matched: list the replica. Nil when no such
    /// copy was ordered (or the checksum differs from the catalog's).
    public mutating func copyCompleted(id: UInt32, engine: String, sha256: String, now: Timestamp) -> (job: CopyJob, queue: [QueueOutcome])? {
        guard let job = replication.copies[id], job.target == engine, directory.objects[job.object]?.sha256 == sha256 else { return nil }
        replication.copies[id] = nil
        directory.addReplica(of: job.object, on: engine, kind: job.kind)
        replication.listedAt[ReplicaKey(object: job.object, engine: engine)] = now
        return (job, settleWaiters(now: now))
    }

    /// The copy failed (or was given up): forget the job. Its lease ends separately.
    public mutating func copyFailed(id: UInt32) -> CopyJob? {
        replication.copies.removeValue(forKey: id)
    }

    /// Copies whose target has not reported by their deadline.
    public mutating func overdueCopies(now: Timestamp) -> [CopyJob] {
        let overdue = replication.copies.values.filter { $0.deadline <= now }.sorted { $0.id < $1.id }
        for job in overdue { replication.copies[job.id] = nil }
        return overdue
    }

    /// The replica is no longer listed: no new stream goes there.
    public mutating func replicaDropped(object: String, engine: String, now: Timestamp) {
        directory.removeReplica(of: object, on: engine)
        let key = ReplicaKey(object: object, engine: engine)
        replication.listedAt[key] = nil
        replication.droppedAt[key] = now
    }

    /// The object is deleted: unlisted with every replica, its demand forgotten. The caller has
    /// ended its streams and made sure no copy of it is in flight.
    public mutating func objectDeleted(_ name: String) {
        directory.removeObject(name)
        replication.forget(name)
    }

    /// The planner read the other directors' demand and every copy in flight from the store.
    public mutating func clusterActivityObserved(_ activity: ClusterActivity) {
        replication.cluster = activity
    }

    /// The configuration was reloaded with other replication rules.
    public mutating func replicationPolicyChanged(_ policy: ReplicationPolicy) {
        replication.policy = policy
    }

    /// An operator starts or stops draining an engine.
    public mutating func drainSet(engine: String, draining: Bool) -> Bool {
        guard directory.engines[engine] != nil else { return false }
        directory.setDraining(engine, draining)
        return true
    }

    /// Live play streams by engine, for views.
    public func playStreams(of object: String) -> [String: Int] {
        streams.values.reduce(into: [:]) { counts, stream in
            if stream.kind == .play && stream.object == object { counts[stream.engine, default: 0] += 1 }
        }
    }
}
