import Logging
import SluiceCore
import SluiceStore

/// Leases and the catalog: renewals and ends from engines, the sweep that expires leases and
/// marks silent engines down, engine registration and heartbeats, completed uploads.
extension Director {
    /// What an engine reports when it renews a stream's lease.
    struct LeaseReport {
        var streamID: UInt32
        var bytesSent: Int64?
        var quality: ReceptionQuality?
        var receiverReportAge: Duration?
        var position: RTPPosition?
    }

    /// The engine renewed: the stream's new lease expiry, or nil when it is gone (torn down or
    /// expired): stop sending.
    public func renew(streamID: UInt32, bytesSent: Int64?, quality: ReceptionQuality? = nil, receiverReportAge: Duration? = nil) async -> Timestamp? {
        await renew([LeaseReport(streamID: streamID, bytesSent: bytesSent, quality: quality, receiverReportAge: receiverReportAge)])[streamID]
    }

    /// Renews each stream of a batch in order; returns the IDs of those that are gone.
    public func renew(_ items: [ClusterMessages.Renewals.Item]) async -> [UInt32] {
        let leases = await renew(items.map {
            LeaseReport(
                streamID: $0.streamID, bytesSent: $0.renewal.bytesSent, quality: $0.renewal.quality,
                receiverReportAge: $0.renewal.receiverReportAgeMilliseconds.map { .milliseconds($0) }, position: $0.renewal.position)
        })
        return items.map(\.streamID).filter { leases[$0] == nil }
    }

    /// Renews in order and returns the new lease expiry of each stream still live. With a
    /// shared store any director renews any stream (one statement per batch); a stream the
    /// store no longer has was ended by another director and is dropped here too.
    private func renew(_ reports: [LeaseReport]) async -> [UInt32: Timestamp] {
        let now = clock.now()
        var leases: [UInt32: Timestamp] = [:]
        var extended: [LiveStream] = []
        for report in reports {
            let before = controller.streams[report.streamID]
            let reportAt = report.receiverReportAge.map { Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - $0.wholeMilliseconds) }
            if let stream = controller.leaseRenewed(
                id: report.streamID, bytesSent: report.bytesSent, quality: report.quality, receiverReportAt: reportAt,
                rtpPosition: report.position, now: now) {
                leases[report.streamID] = stream.leaseExpiry
                restoredUnrenewed.remove(report.streamID)
                // Saved when the lease moves, when the client first came, and every few seconds
                // of progress: after a crash the usage record has the bytes of the last save.
                let progressDue = now - (progressSavedAt[stream.id] ?? stream.admittedAt) >= Self.progressSaveInterval
                if stream.leaseExpiry != before?.leaseExpiry || before?.isClaimed == false || progressDue {
                    extended.append(stream)
                    progressSavedAt[stream.id] = now
                }
            } else if shared != nil {
                leases[report.streamID] = now + controller.policy.leaseSlack  // another director's, if the store has it
            }
        }
        guard let shared else {
            for stream in extended { await persist { try await $0.save(stream: stream) } }
            metrics.lease(.renewed, count: leases.count)
            return leases
        }
        let renewals = reports.compactMap { report in
            leases[report.streamID].map { LeaseRenewal(streamID: report.streamID, expiry: $0, bytesSent: report.bytesSent) }
        }
        do {
            for id in try await timed("renew", { try await shared.renew(renewals) }) {
                leases[id] = nil
                let (_, outcomes) = controller.streamEnded(id: id, now: now)
                await deliver(outcomes)
            }
        } catch {
            // The store is unreachable: keep the engines sending; leases are renewed again soon.
            logger.error("shared store unreachable: renewals not saved", metadata: ["count": "\(reports.count)", "error": "\(error)"])
        }
        metrics.lease(.renewed, count: leases.count)
        return leases
    }

    static let progressSaveInterval: Duration = .seconds(5)

    /// The stream is over: release its path, write its usage record, admit waiters.
    @discardableResult
    public func end(streamID: UInt32, bytesSent: Int64?, reason: UsageRecord.EndReason, quality: ReceptionQuality? = nil) async -> LiveStream? {
        let now = clock.now()
        let (ended, outcomes) = controller.streamEnded(id: streamID, bytesSent: bytesSent, quality: quality, now: now)
        var result = ended
        if let shared {
            // Whichever director admitted it, the store ends it once and writes its record.
            do {
                let ending = StreamEnding(at: now, bytesSent: bytesSent, quality: quality, reason: reason)
                result = try await timed("end", { try await shared.end(streamID, ending) }) ?? ended
            } catch {
                logger.error("shared store unreachable: stream end not saved", metadata: ["stream_id": "\(streamID)", "error": "\(error)"])
            }
            if let result { logEnd(result, bytes: bytesSent ?? result.bytesSent, reason: reason) }
        } else if let ended {
            await finished(ended, at: now, reason: reason)
        }
        await deliver(outcomes)
        return result
    }

    private func logEnd(_ stream: LiveStream, bytes: Int64, reason: UsageRecord.EndReason) {
        logger.info("stream ended", metadata: [
            "stream_id": "\(stream.id)", "object": "\(stream.object)", "engine": "\(stream.engine)",
            "bytes": "\(bytes)", "reason": "\(reason.rawValue)",
        ])
    }

    private func finished(_ stream: LiveStream, at now: Timestamp, reason: UsageRecord.EndReason) async {
        logEnd(stream, bytes: stream.bytesSent, reason: reason)
        let record = UsageRecord(stream: stream, endedAt: now, bytes: stream.bytesSent, endReason: reason)
        recordsInFlight[stream.id] = record
        defer { recordsInFlight[stream.id] = nil }
        await persist {
            try await $0.deleteStream(id: stream.id)
            try await $0.append(usage: record)
        }
    }

    /// Called often by the sweeper: expire leases, mark silent engines down, settle waiters.
    public func tick() async {
        let now = clock.now()
        let outcome = controller.clockAdvanced(now: now)
        for stream in outcome.expired {
            // Restored after a restart and never renewed since: the restart is why it ended.
            let reason: UsageRecord.EndReason = restoredUnrenewed.remove(stream.id) != nil ? .directorRestart : .leaseExpired
            guard await confirmSharedExpiry(of: stream, StreamEnding(at: now, reason: reason, expiredBy: now)) else { continue }
            metrics.lease(.expired)
            logger.warning("lease expired", metadata: ["stream_id": "\(stream.id)", "engine": "\(stream.engine)", "reason": "\(reason.rawValue)"])
            if shared == nil { await finished(stream, at: now, reason: reason) }
        }
        for stream in outcome.unclaimed {
            let reason: UsageRecord.EndReason = restoredUnrenewed.remove(stream.id) != nil ? .directorRestart : .unclaimed
            let ending = StreamEnding(at: now, reason: reason, unclaimedSince: now - controller.policy.claimTimeout)
            guard await confirmSharedExpiry(of: stream, ending) else { continue }
            metrics.lease(.unclaimed)
            logger.info("stream released: the client never started it", metadata: ["stream_id": "\(stream.id)", "object": "\(stream.object)", "reason": "\(reason.rawValue)"])
            if shared == nil { await finished(stream, at: now, reason: reason) }
        }
        if progressSavedAt.count > controller.streams.count + 1024 {
            progressSavedAt = progressSavedAt.filter { controller.streams[$0.key] != nil }
        }
        for engine in outcome.enginesDown {
            logger.warning("engine missed its heartbeats and is down", metadata: ["engine": "\(engine)"])
            await engineFailed(engine)
        }
        await deliver(outcome.queue)
        if now - lastReplicationPlan >= .seconds(1) {
            lastReplicationPlan = now
            await replicate(now: now)
        }
    }

    // MARK: Catalog and engines

    public func registerEngine(_ record: EngineRecord, objects: [MediaObject], instance: String? = nil) async {
        if let instance {
            // A new process of a known engine: whatever it was sending died with the old one.
            if let known = engineInstances.updateValue(instance, forKey: record.name), known != instance {
                logger.warning("engine restarted", metadata: ["engine": "\(record.name)"])
                await engineFailed(record.name)
            }
        }
        let now = clock.now()
        let known = Set(controller.directory.objects.keys)
        let gone = controller.engineRegistered(record, objects: objects, now: now)
        logger.info("engine registered", metadata: ["engine": "\(record.name)", "url": "\(record.url)", "objects": "\(objects.count)"])
        for object in gone {
            logger.warning("engine no longer holds a listed replica: unlisted", metadata: ["engine": "\(record.name)", "object": "\(object)"])
        }
        let saved = controller.directory.engines[record.name] ?? record
        let replicas = objects.filter { controller.directory.replicas[$0.name]?.contains(record.name) == true }
            .map { ($0.name, controller.directory.kind(of: $0.name, on: record.name)) }
        let newObjects = objects.filter { !known.contains($0.name) }
        await persist { store in
            try await store.save(engine: saved)
            for object in newObjects { try await store.save(object: object) }
            for (object, kind) in replicas { try await store.save(replicaOf: object, on: record.name, kind: kind) }
            for object in gone { try await store.delete(replicaOf: object, on: record.name) }
        }
        // A new engine may let waiters in; the sweep settles them (and records what it expires).
        await tick()
    }

    /// False when the engine is unknown (it should register again).
    public func heartbeat(engine: String) async -> Bool {
        let now = clock.now()
        guard controller.heartbeatReceived(engine: engine, now: now) else { return false }
        if let shared { await persist { _ in try await shared.heartbeat(engine: engine, at: now) } }
        return true
    }

    /// An engine stored an uploaded object: list it, release the upload's reservation.
    public func uploadCompleted(streamID: UInt32, object: MediaObject, engine: String) async -> Bool {
        var live = controller.streams[streamID]
        if live == nil, let shared {
            // Admitted by another director: the engine reports to the one it registered with.
            live = try? await shared.stream(streamID)
        }
        guard let stream = live, stream.kind == .ingest, stream.engine == engine, stream.object == object.name else {
            return false
        }
        // A user's upload is theirs, and private unless they asked otherwise; an operator's is public.
        let access = ObjectAccess(object: object.name, owner: stream.user, visibility: stream.visibility ?? (stream.user == nil ? .public : .private))
        accessControl.setRule(access)
        await persist { store in
            try await store.save(access: access)
            try await store.save(object: object)
            try await store.save(replicaOf: object.name, on: engine, kind: .static)
        }
        controller.objectAdded(object, on: engine)
        logger.info("object listed", metadata: [
            "object": "\(object.name)", "engine": "\(engine)", "bytes": "\(object.sizeBytes)", "owner": "\(access.owner ?? "-")",
            "visibility": "\(access.visibility.rawValue)",
        ])
        await end(streamID: streamID, bytesSent: object.sizeBytes, reason: .completed)
        return true
    }
}
