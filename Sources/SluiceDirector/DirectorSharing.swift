import SluiceCore
import SluiceStore

/// What a director does to share its store with other directors: learn their bookings and the
/// engines' heartbeats, confirm expiries with the store, follow the catalog, advertise itself.
extension Director {
    /// How long a lease may be overdue before any director, not only its own, ends it.
    static let foreignSweepGrace: Duration = .seconds(2)
    static let announceInterval: Duration = .seconds(1)

    /// The URLs other directors send requests to when this director's queue is full; it is
    /// announced once both front doors listen.
    public func advertise(httpURL: String? = nil, rtspURL: String? = nil) {
        if let httpURL { advertisedHTTP = httpURL }
        if let rtspURL { advertisedRTSP = rtspURL }
    }

    /// Where to send a request this director could only refuse because its queue is full, if
    /// another director has room. Decided on a copy of the core, so nothing is booked.
    public func handOff(for kind: AdmissionRequest.Kind, clientAddress: String) -> AdmissionRefusal.HandOff? {
        guard shared != nil, controller.queue.isFull, let handOff = peerHandOff else { return nil }
        var probe = controller
        let now = clock.now()
        let request = AdmissionRequest(ticket: 0, kind: kind, clientAddress: clientAddress, deadline: now + controller.policy.maxWait)
        guard case .refused(let refusal) = probe.requestReceived(request, now: now), refusal.code == .queueFull else { return nil }
        metrics.handOff(.peerDirector)
        return handOff
    }

    /// Another director with room in its queue, as last read from the store.
    var peerHandOff: AdmissionRefusal.HandOff? {
        peers.first.map { AdmissionRefusal.HandOff(httpURL: $0.httpURL, rtspURL: $0.rtspURL) }
    }

    /// Reads every director's bookings and the engines' heartbeats into the core.
    func observeSharedLoad() async {
        guard let shared else { return }
        do {
            let load = try await shared.sharedLoad()
            controller.sharedStateObserved(links: load.links, engines: load.engines, heartbeats: load.heartbeats, now: clock.now())
        } catch {
            logger.error("shared store unreachable: bookings not refreshed", metadata: ["error": "\(error)"])
        }
    }

    /// Called by the sweeper and when another director freed capacity: refresh the shared view,
    /// settle waiters, and once a second advertise this director and sweep leases their
    /// directors left behind (a director that crashed).
    public func refreshSharedState() async {
        guard let shared else { return }
        await observeSharedLoad()
        await deliver(controller.settleWaiters(now: clock.now()))
        let now = clock.now()
        guard lastAnnounce + Self.announceInterval <= now else { return }
        lastAnnounce = now
        if let httpURL = advertisedHTTP, let rtspURL = advertisedRTSP {
            await persist { _ in
                try await shared.announce(DirectorPresence(
                    id: shared.directorID, httpURL: httpURL, rtspURL: rtspURL,
                    queueLength: controller.queue.count, queueCapacity: controller.queue.capacity, seenAt: now))
            }
        }
        do {
            let fresh = now - Self.announceInterval * 3
            let live = try await shared.directors().filter { $0.seenAt >= fresh }
            liveDirectorURLs = live.map(\.httpURL)
            peers = live.filter { $0.id != shared.directorID && $0.hasRoom }
        } catch {
            logger.error("shared store unreachable: peers not refreshed", metadata: ["error": "\(error)"])
        }
        await sweepAbandonedLeases(now: now)
    }

    /// Ends leases overdue by more than the grace whoever admitted them; the store lets exactly
    /// one director end each.
    private func sweepAbandonedLeases(now: Timestamp) async {
        guard let shared else { return }
        do {
            let cutoff = now - Self.foreignSweepGrace
            for id in try await shared.expiredStreams(at: cutoff, limit: 500) where controller.streams[id] == nil {
                if let stream = try await shared.end(id, StreamEnding(at: now, reason: .leaseExpired, expiredBy: cutoff)) {
                    logger.warning("lease expired (left by another director)", metadata: ["stream_id": "\(id)", "engine": "\(stream.engine)"])
                }
            }
        } catch {
            logger.error("shared store unreachable: abandoned leases not swept", metadata: ["error": "\(error)"])
        }
    }

    /// The core expired a stream: true when the store agrees and ended it (usage written).
    /// False when it was renewed through another director (the core books it again with the
    /// store's lease) or was already ended elsewhere. Always true without a shared store.
    func confirmSharedExpiry(of stream: LiveStream, _ ending: StreamEnding) async -> Bool {
        guard let shared else { return true }
        do {
            if try await shared.end(stream.id, ending) != nil { return true }
            if let current = try await shared.stream(stream.id) { controller.streamRestored(current) }
        } catch {
            logger.error("shared store unreachable: expiry not confirmed", metadata: ["stream_id": "\(stream.id)", "error": "\(error)"])
            controller.streamRestored(stream)
        }
        return false
    }

    /// A notification from the store.
    public func sharedChanged(_ change: SharedChange) async {
        switch change {
        case .streamEnded(let id):
            // Ended through another director, or swept: drop it here too, then let waiters in.
            if controller.streams[id] != nil {
                let (_, outcomes) = controller.streamEnded(id: id, now: clock.now())
                await deliver(outcomes)
            }
            if controller.queue.count > 0 { await refreshSharedState() }
        case .catalog:
            await reloadCatalog()
            await reloadIdentities()
        }
    }

    /// Engines, objects and replicas other directors registered.
    func reloadCatalog() async {
        guard let shared else { return }
        do {
            let catalog = try await shared.catalog()
            for engine in catalog.engines where controller.directory.engines[engine.name] == nil {
                controller.engineRestored(engine)
            }
            for object in catalog.objects where controller.directory.objects[object.name] == nil {
                controller.objectAdded(object, on: nil)
            }
            for replica in catalog.replicas {
                if let object = controller.directory.objects[replica.object] { controller.objectAdded(object, on: replica.engine, kind: replica.kind) }
            }
            for engine in controller.directory.engines.keys.sorted() where catalog.draining.contains(engine) != controller.directory.draining.contains(engine) {
                _ = controller.drainSet(engine: engine, draining: catalog.draining.contains(engine))
                logger.info(catalog.draining.contains(engine) ? "engine draining (set through another director)" : "engine drain cancelled (through another director)", metadata: ["engine": "\(engine)"])
            }
            // Replicas another director dropped (or found corrupt).
            let listed = Set(catalog.replicas.map { ReplicaKey(object: $0.object, engine: $0.engine) })
            for (object, engines) in controller.directory.replicas {
                for engine in engines where !listed.contains(ReplicaKey(object: object, engine: engine)) {
                    controller.replicaDropped(object: object, engine: engine, now: clock.now())
                }
            }
        } catch {
            logger.error("shared store unreachable: catalog not reloaded", metadata: ["error": "\(error)"])
        }
    }
}
