import Logging
import SluiceCore
import SluiceStore

/// The director's runtime: executes the decisions of `AdmissionController`, persists them,
/// and parks requests that wait for capacity until the core admits or refuses them.
public actor Director {
    public private(set) var controller: AdmissionController
    private let store: any SluiceStore
    private let clock: any SluiceClock
    private let logger: Logger
    private var waiting: [UInt64: CheckedContinuation<Result<LiveStream, AdmissionRefusal>, Never>] = [:]
    private var nextTicket: UInt64 = 1

    public init(controller: AdmissionController, store: any SluiceStore, clock: any SluiceClock, logger: Logger) {
        self.controller = controller
        self.store = store
        self.clock = clock
        self.logger = logger
    }

    public var policy: AdmissionPolicy { controller.policy }
    public func now() -> Timestamp { clock.now() }

    /// Loads catalog, engines and live leases from the store; leases count again at once.
    public func restore() async throws {
        let snapshot = try await store.load()
        for engine in snapshot.engines { controller.engineRestored(engine) }
        for object in snapshot.objects { controller.objectAdded(object, on: nil) }
        for replica in snapshot.replicas {
            if let object = controller.directory.objects[replica.object] { controller.objectAdded(object, on: replica.engine) }
        }
        for stream in snapshot.streams { controller.streamRestored(stream) }
        logger.info("director state restored", metadata: [
            "objects": "\(snapshot.objects.count)", "engines": "\(snapshot.engines.count)", "live_streams": "\(snapshot.streams.count)",
        ])
    }

    // MARK: Admission

    /// Admits now, or waits in the queue until admitted or refused (at most `maxWait`).
    public func admit(_ kind: AdmissionRequest.Kind, clientAddress: String, maxWait: Duration?) async -> Result<LiveStream, AdmissionRefusal> {
        let now = clock.now()
        let wait = min(maxWait ?? controller.policy.maxWait, controller.policy.maxWait)
        let ticket = nextTicket
        nextTicket += 1
        let request = AdmissionRequest(ticket: ticket, kind: kind, clientAddress: clientAddress, deadline: now + wait)
        switch controller.requestReceived(request, now: now) {
        case .admitted(let stream):
            await admitted(stream)
            return .success(stream)
        case .refused(let refusal):
            logger.info("request refused", metadata: ["object": "\(request.objectName)", "reason": "\(refusal)"])
            return .failure(refusal)
        case .queued(let refusal):
            logger.info("request queued", metadata: ["object": "\(request.objectName)", "ticket": "\(ticket)", "reason": "\(refusal)"])
            return await withCheckedContinuation { continuation in
                waiting[ticket] = continuation
            }
        }
    }

    private func admitted(_ stream: LiveStream) async {
        logger.info("stream admitted", metadata: [
            "stream_id": "\(stream.id)", "object": "\(stream.object)", "engine": "\(stream.engine)",
            "rate_bps": "\(stream.bitsPerSecond)", "path": "\(stream.hops.map { "\($0.link)#\($0.label)" }.joined(separator: ","))",
        ])
        await persist { try await $0.save(stream: stream) }
    }

    private func deliver(_ outcomes: [AdmissionController.QueueOutcome]) async {
        for outcome in outcomes {
            switch outcome {
            case .admitted(let ticket, let stream):
                await admitted(stream)
                waiting.removeValue(forKey: ticket)?.resume(returning: .success(stream))
            case .refused(let ticket, let refusal):
                logger.info("waiting request refused", metadata: ["ticket": "\(ticket)", "reason": "\(refusal)"])
                waiting.removeValue(forKey: ticket)?.resume(returning: .failure(refusal))
            }
        }
    }

    // MARK: Stream lifecycle

    /// The engine renewed; nil when the stream is gone (torn down or expired): stop sending.
    public func renew(streamID: UInt32, bytesSent: Int64?, quality: ReceptionQuality? = nil, receiverReportAge: Duration? = nil) async -> LiveStream? {
        let before = controller.streams[streamID]?.leaseExpiry
        let now = clock.now()
        let reportAt = receiverReportAge.map { Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - $0.wholeMilliseconds) }
        guard let stream = controller.leaseRenewed(id: streamID, bytesSent: bytesSent, quality: quality, receiverReportAt: reportAt, now: now) else { return nil }
        if stream.leaseExpiry != before { await persist { try await $0.save(stream: stream) } }
        return stream
    }

    /// Renews each stream of a batch in order; returns the IDs of those that are gone.
    public func renew(_ items: [ClusterMessages.Renewals.Item]) async -> [UInt32] {
        var gone: [UInt32] = []
        for item in items {
            let renewal = item.renewal
            let alive = await renew(
                streamID: item.streamID, bytesSent: renewal.bytesSent, quality: renewal.quality,
                receiverReportAge: renewal.receiverReportAgeMilliseconds.map { .milliseconds($0) })
            if alive == nil { gone.append(item.streamID) }
        }
        return gone
    }

    /// The stream is over: release its path, write its usage record, admit waiters.
    @discardableResult
    public func end(streamID: UInt32, bytesSent: Int64?, reason: UsageRecord.EndReason, quality: ReceptionQuality? = nil) async -> LiveStream? {
        let now = clock.now()
        let (ended, outcomes) = controller.streamEnded(id: streamID, bytesSent: bytesSent, quality: quality, now: now)
        if let ended { await finished(ended, at: now, reason: reason) }
        await deliver(outcomes)
        return ended
    }

    private func finished(_ stream: LiveStream, at now: Timestamp, reason: UsageRecord.EndReason) async {
        logger.info("stream ended", metadata: [
            "stream_id": "\(stream.id)", "object": "\(stream.object)", "engine": "\(stream.engine)",
            "bytes": "\(stream.bytesSent)", "reason": "\(reason.rawValue)",
        ])
        let record = UsageRecord(stream: stream, endedAt: now, bytes: stream.bytesSent, endReason: reason)
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
            logger.warning("lease expired", metadata: ["stream_id": "\(stream.id)", "engine": "\(stream.engine)"])
            await finished(stream, at: now, reason: .leaseExpired)
        }
        for stream in outcome.unclaimed {
            logger.info("stream released: the client never started it", metadata: ["stream_id": "\(stream.id)", "object": "\(stream.object)"])
            await finished(stream, at: now, reason: .unclaimed)
        }
        for engine in outcome.enginesDown {
            logger.warning("engine missed its heartbeats and is down", metadata: ["engine": "\(engine)"])
        }
        await deliver(outcome.queue)
    }

    // MARK: Catalog and engines

    public func registerEngine(_ record: EngineRecord, objects: [MediaObject]) async {
        let now = clock.now()
        let known = Set(controller.directory.objects.keys)
        controller.engineRegistered(record, objects: objects, now: now)
        logger.info("engine registered", metadata: ["engine": "\(record.name)", "url": "\(record.url)", "objects": "\(objects.count)"])
        let saved = controller.directory.engines[record.name] ?? record
        let replicas = objects.filter { controller.directory.replicas[$0.name]?.contains(record.name) == true }
        let newObjects = objects.filter { !known.contains($0.name) }
        await persist { store in
            try await store.save(engine: saved)
            for object in newObjects { try await store.save(object: object) }
            for object in replicas { try await store.save(replicaOf: object.name, on: record.name) }
        }
        // A new engine may let waiters in; the sweep settles them (and records what it expires).
        await tick()
    }

    /// False when the engine is unknown (it should register again).
    public func heartbeat(engine: String) -> Bool {
        controller.heartbeatReceived(engine: engine, now: clock.now())
    }

    /// An engine stored an uploaded object: list it, release the upload's reservation.
    public func uploadCompleted(streamID: UInt32, object: MediaObject, engine: String) async -> Bool {
        guard let stream = controller.streams[streamID], stream.kind == .ingest, stream.engine == engine, stream.object == object.name else {
            return false
        }
        controller.objectAdded(object, on: engine)
        await persist { store in
            try await store.save(object: object)
            try await store.save(replicaOf: object.name, on: engine)
        }
        logger.info("object listed", metadata: ["object": "\(object.name)", "engine": "\(engine)", "bytes": "\(object.sizeBytes)"])
        await end(streamID: streamID, bytesSent: object.sizeBytes, reason: .completed)
        return true
    }

    public func usage(since: Timestamp, limit: Int) async throws -> [UsageRecord] {
        try await store.usage(since: since, limit: limit)
    }

    public func shutdown() async {
        for (_, continuation) in waiting {
            continuation.resume(returning: .failure(AdmissionRefusal(.engineUnavailable, "the director is shutting down")))
        }
        waiting.removeAll()
        // Close even when the caller was cancelled: a cancelled close would leave the file open.
        let store = self.store
        await Task { try? await store.close() }.value
    }

    private func persist(_ body: (any SluiceStore) async throws -> Void) async {
        do {
            try await body(store)
        } catch {
            logger.error("store write failed", metadata: ["error": "\(error)"])
        }
    }
}
