import Foundation
import SluiceCore
import SluiceGrant

/// Load balancing by replication (FIG. 5): demand in, copies ordered engine to engine, cold
/// dynamic replicas dropped; operator copies, drops and drains.
extension Director {
    /// Counts a play request's outcome as demand for its object.
    func demandObserved(_ decision: AdmissionController.Decision, _ request: AdmissionRequest) {
        guard case .play(let object) = request.kind else { return }
        let outcome: DemandOutcome
        switch decision {
        case .admitted: outcome = .admitted
        case .queued: outcome = .queued
        case .refused(let refusal):
            guard [.pathFull, .engineFull, .queueFull, .waitExpired].contains(refusal.code) else { return }
            outcome = .refused
        }
        controller.demandObserved(outcome, object: object, clientAddress: request.clientAddress, now: clock.now())
    }

    /// Once a second: give up overdue copies, then, if this director is the cluster's planner,
    /// carry out what the planner decides.
    func replicate(now: Timestamp) async {
        for job in controller.overdueCopies(now: now) {
            logger.warning("copy gave up: the target never reported", metadata: ["object": "\(job.object)", "target": "\(job.target)", "stream_id": "\(job.id)"])
            await end(streamID: job.id, bytesSent: nil, reason: .failed)
        }
        if !pendingRepairs.isEmpty { await repairReplicas() }
        guard await planningTurn(now: now) else { return }
        let blockedBefore = controller.replication.copyBlocked
        let actions = controller.planReplication(now: now)
        for (object, reason) in controller.replication.copyBlocked.sorted(by: { $0.key < $1.key }) where blockedBefore[object] != reason {
            logger.warning("object in demand but no copy can be placed", metadata: [
                "object": "\(object)", "reason": "\(reason)", "demand": "\(controller.replication.counts(object, at: now))",
            ])
        }
        for action in actions {
            switch action {
            case .copy(let object, let source, let target):
                logger.info("object in demand: copying to a lightly loaded engine", metadata: [
                    "object": "\(object)", "from": "\(source)", "to": "\(target)",
                    "demand": "\(controller.replication.counts(object, at: now))",
                ])
                _ = await startCopy(object: object, from: source, to: target, kind: .dynamic)
            case .drop(let object, let engine):
                logger.info("demand fell: abandoning a dynamic replica", metadata: ["object": "\(object)", "engine": "\(engine)"])
                _ = await dropReplica(object: object, engine: engine)
            }
        }
    }

    /// Reserves the copy's route and the target's disk, then orders the target to fetch the
    /// object from the source. The replica is listed only when the target reports it verified.
    public func startCopy(object: String, from source: String?, to target: String, kind: ReplicaKind) async -> Result<CopyJob, AdmissionRefusal> {
        let now = clock.now()
        guard let targetRecord = controller.directory.engines[target] else {
            return .failure(AdmissionRefusal(.engineUnavailable, "engine '\(target)' is not registered", engine: target))
        }
        let holders = controller.directory.replicas[object, default: []].filter { controller.directory.engines[$0]?.isUp == true }
        guard let source = source ?? holders.min(by: { (controller.load(ofEngine: $0), $0) < (controller.load(ofEngine: $1), $1) }) else {
            return .failure(AdmissionRefusal(.noReplica, "no engine that holds '\(object)' is up"))
        }
        let targetAddress = URLComponents(string: targetRecord.url)?.host ?? "127.0.0.1"
        let stream: LiveStream
        switch controller.copyRequested(object: object, from: source, to: target, kind: kind, targetAddress: targetAddress, now: now) {
        case .failure(let refusal):
            logger.info("copy not started", metadata: ["object": "\(object)", "to": "\(target)", "reason": "\(refusal)"])
            return .failure(refusal)
        case .success(let admitted):
            stream = admitted
        }
        if let refusal = await book(stream) {
            _ = controller.copyFailed(id: stream.id)
            return .failure(refusal)
        }
        if shared == nil { await persist { try await $0.save(stream: stream) } }
        guard let job = controller.replication.copies[stream.id], let engineControl, let signer,
              let sourceRecord = controller.directory.engines[source], let media = controller.directory.objects[object] else {
            _ = controller.copyFailed(id: stream.id)
            await end(streamID: stream.id, bytesSent: 0, reason: .failed)
            return .failure(AdmissionRefusal(.engineUnavailable, "this director cannot order copies (no engine control)"))
        }
        // The target fetches like a player: a play grant for the source, paced at the copy rate.
        let grant = StreamGrant(
            streamID: stream.id, action: .play, object: object, engine: source, bitsPerSecond: stream.bitsPerSecond,
            clientAddress: targetAddress, expiresAt: stream.leaseExpiry)
        let order = ClusterMessages.CopyOrder(
            streamID: stream.id, object: media, sourceURL: "\(sourceRecord.url)/stream/\(object)?grant=\(signer.sign(grant))",
            reportTo: shared == nil ? nil : advertisedHTTP)
        do {
            try await engineControl.copy(engineURL: targetRecord.url, order)
        } catch {
            logger.error("engine refused the copy order", metadata: ["object": "\(object)", "to": "\(target)", "error": "\(error)"])
            _ = controller.copyFailed(id: stream.id)
            await end(streamID: stream.id, bytesSent: 0, reason: .failed)
            return .failure(AdmissionRefusal(.engineUnavailable, "engine '\(target)' refused the copy: \(error)", engine: target))
        }
        logger.info("copy ordered", metadata: [
            "object": "\(object)", "from": "\(source)", "to": "\(target)", "stream_id": "\(stream.id)",
            "rate_bps": "\(stream.bitsPerSecond)", "route": "\(stream.reservation.links.joined(separator: ","))", "kind": "\(kind.rawValue)",
        ])
        metrics.copy(.started)
        return .success(job)
    }

    /// The target stored and verified the copy: list the replica and let waiters use it.
    public func copyCompleted(streamID: UInt32, engine: String, object: MediaObject) async -> Bool {
        guard let job = controller.replication.copies[streamID], job.target == engine,
              controller.directory.objects[job.object]?.sha256 == object.sha256 else { return false }
        // Saved first: a catalog reload meanwhile must not miss it.
        await persist { try await $0.save(replicaOf: job.object, on: engine, kind: job.kind) }
        guard let (_, outcomes) = controller.copyCompleted(id: streamID, engine: engine, sha256: object.sha256, now: clock.now()) else {
            return false
        }
        logger.info("replica listed", metadata: [
            "object": "\(job.object)", "engine": "\(engine)", "kind": "\(job.kind.rawValue)",
            "copy_ms": "\((clock.now() - job.startedAt).wholeMilliseconds)",
        ])
        metrics.copy(.finished)
        await deliver(outcomes)
        return true
    }

    public func copyFailed(streamID: UInt32, engine: String, reason: String) async {
        guard let job = controller.replication.copies[streamID], job.target == engine else { return }
        _ = controller.copyFailed(id: streamID)
        metrics.copy(.failed)
        logger.warning("copy failed", metadata: ["object": "\(job.object)", "from": "\(job.source)", "to": "\(engine)", "reason": "\(reason)"])
        await end(streamID: streamID, bytesSent: nil, reason: .failed)
    }

    /// Unlists a replica and deletes it from its engine. Refused for the last replica and for
    /// one that streams are playing.
    public func dropReplica(object: String, engine: String) async -> Result<Void, AdmissionRefusal> {
        guard controller.directory.replicas[object]?.contains(engine) == true else {
            return .failure(AdmissionRefusal(.noReplica, "engine '\(engine)' holds no listed replica of '\(object)'", engine: engine))
        }
        guard controller.directory.replicas[object, default: []].count > 1 else {
            return .failure(AdmissionRefusal(.noReplica, "'\(object)' has no other replica; delete the object instead", engine: engine))
        }
        let playing = controller.playStreams(of: object)[engine] ?? 0
        guard playing == 0 else {
            return .failure(AdmissionRefusal(.engineFull, "\(playing) streams are playing '\(object)' on '\(engine)'; drain them first", engine: engine))
        }
        if let shared {
            // Streams other directors admitted play it too.
            do {
                if try await shared.isPlaying(object: object, on: engine) {
                    return .failure(AdmissionRefusal(.engineFull, "streams admitted by another director are playing '\(object)' on '\(engine)'; drain them first", engine: engine))
                }
            } catch {
                return .failure(AdmissionRefusal(.engineUnavailable, "the shared store cannot say whether '\(object)' plays on '\(engine)': \(error)", engine: engine))
            }
        }
        controller.replicaDropped(object: object, engine: engine, now: clock.now())
        await persist { try await $0.delete(replicaOf: object, on: engine) }
        if let engineControl, let url = controller.directory.engines[engine]?.url {
            do {
                try await engineControl.deleteObject(engineURL: url, object: object)
            } catch {
                logger.warning("replica unlisted but not deleted from its engine", metadata: ["object": "\(object)", "engine": "\(engine)", "error": "\(error)"])
            }
        }
        logger.info("replica dropped", metadata: ["object": "\(object)", "engine": "\(engine)"])
        return .success(())
    }

    /// Starts or stops draining an engine (saved in the store: every director sharing it, and
    /// this one after a restart, honours it); returns its live streams, or nil when unknown.
    public func setDraining(engine: String, _ draining: Bool) async -> Int? {
        guard controller.drainSet(engine: engine, draining: draining) else { return nil }
        await persist { try await $0.save(draining: engine, draining) }
        let live = controller.streams.values.filter { $0.engine == engine && $0.kind == .play }.count
        logger.info(draining ? "engine draining: no new streams" : "engine drain cancelled", metadata: ["engine": "\(engine)", "live_streams": "\(live)"])
        return live
    }

    /// The object, its replicas (listed and being copied) and its demand.
    public func status(of name: String) -> ClusterMessages.ObjectStatus? {
        guard let object = controller.directory.objects[name] else { return nil }
        let directory = controller.directory
        let playing = controller.playStreams(of: name)
        func replica(_ state: String, _ engine: String) -> ClusterMessages.ObjectStatus.Replica {
            .init(
                state: state, engine: engine, engineUp: directory.engines[engine]?.isUp == true,
                draining: directory.draining.contains(engine), streams: playing[engine] ?? 0, load: controller.load(ofEngine: engine))
        }
        var replicas = directory.replicas[name, default: []].sorted().map { replica(directory.kind(of: name, on: $0).rawValue, $0) }
        replicas += controller.replication.copies.values.filter { $0.object == name }.map(\.target).sorted().map { replica("copying", $0) }
        var status = ClusterMessages.ObjectStatus(
            object: object, replicas: replicas, demand: controller.replication.counts(name, at: clock.now()),
            demandWindowSeconds: controller.replication.policy.window.seconds, access: accessControl.rule(of: name))
        status.copyBlocked = controller.replication.copyBlocked[name]
        return status
    }
}

// MARK: Engine failure

extension Director {
    /// A failed engine and the play streams it carried (ended, to be moved by RTSP).
    public struct EngineFailure: Sendable {
        public var engine: String
        public var streams: [LiveStream]
    }

    /// The engine stopped answering (or restarted): end everything it carried, release the
    /// reservations, give up copies to or from it, then let RTSP move its play streams.
    func engineFailed(_ engine: String) async {
        // A copy is booked on its target, and its route starts at its source (which sends it).
        let topology = controller.topology
        let lost = controller.streams.values.filter { stream in
            stream.engine == engine || (stream.kind == .copy && stream.reservation.links.first.flatMap { topology.links[$0]?.from } == engine)
        }.sorted { $0.id < $1.id }
        for job in controller.replication.copies.values where job.source == engine || job.target == engine {
            _ = controller.copyFailed(id: job.id)
            metrics.copy(.failed)
        }
        var moved: [LiveStream] = []
        for stream in lost {
            guard await end(streamID: stream.id, bytesSent: nil, reason: .engineFailed) != nil else { continue }
            if stream.kind == .play { moved.append(stream) }
        }
        logger.warning("engine failed: its streams were ended and their reservations released", metadata: [
            "engine": "\(engine)", "streams": "\(lost.count)",
        ])
        // Not awaited: moving admits again, and admission may wait for the sweep that called this.
        if !moved.isEmpty { engineFailureSink.yield(EngineFailure(engine: engine, streams: moved)) }
    }
}

/// What deleting an object did, or why it did not.
public enum ObjectDeletion: Sendable, Equatable {
    case deleted(engines: [String], streamsEnded: Int)
    /// Missing, or not visible to the caller (the same answer).
    case notFound
    case forbidden(String)
    /// Streams play it (and `force` was not given), or a copy of it is in flight.
    case busy(String)
}

extension Director {
    /// Deletes an object (its owner or an admin): unlisted with every replica, removed from each
    /// engine's disk, its access rule gone, the name free again. Streams playing it refuse the
    /// deletion unless `force`, which ends them first with reason `deleted`.
    public func deleteObject(_ name: String, by principal: Principal, force: Bool) async -> ObjectDeletion {
        guard let rule = access(of: name, for: principal) else { return .notFound }
        guard rule.allowsChange(by: principal) else { return .forbidden("only the owner of '\(name)' or an admin may delete it") }
        if !controller.replication.copying(name).isEmpty {
            return .busy("a copy of '\(name)' is in flight; delete it once the copy has finished")
        }
        let playing = controller.streams.values.filter { $0.object == name }
        if !playing.isEmpty && !force {
            return .busy("\(playing.count) streams are playing '\(name)'; end them with ?force=1 (their usage records say 'deleted')")
        }
        let sent = await stopOnEngines(playing)
        var ended = 0
        for stream in playing where await end(streamID: stream.id, bytesSent: sent[stream.id], reason: .deleted) != nil { ended += 1 }
        let holders = controller.directory.replicas[name, default: []].sorted()
        controller.objectDeleted(name)
        accessControl.removeRule(of: name)
        await persist { try await $0.delete(object: name) }
        for engine in holders {
            guard let engineControl, let url = controller.directory.engines[engine]?.url else { continue }
            do {
                try await engineControl.deleteObject(engineURL: url, object: name)
            } catch {
                // Unlisted: an engine that missed the order lists the object again when it next
                // registers, and it can be deleted again then.
                logger.warning("object unlisted but not deleted from an engine", metadata: ["object": "\(name)", "engine": "\(engine)", "error": "\(error)"])
            }
        }
        logger.info("object deleted", metadata: [
            "object": "\(name)", "engines": "\(holders)", "streams_ended": "\(ended)", "by": "\(principal.name)",
        ])
        return .deleted(engines: holders, streamsEnded: ended)
    }
}
