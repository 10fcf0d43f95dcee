import AsyncHTTPClient
import Logging
import NIOCore
import SluiceCore
import SluiceGrant
import SluiceStore

/// The director's runtime: executes the decisions of `AdmissionController`, persists them,
/// and parks requests that wait for capacity until the core admits or refuses them.
public actor Director {
    /// The admission core. Only the director's own extensions touch it: front doors ask
    /// through `PlayAdmission` and the views (`DirectorViews`), never through a copy.
    var controller: AdmissionController
    let store: any SluiceStore
    /// Users, keys, tokens, Digest nonces and who may play which object.
    var accessControl: AccessControl
    let clock: any SluiceClock
    let logger: Logger
    private var waiting: [UInt64: CheckedContinuation<Result<LiveStream, AdmissionRefusal>, Never>] = [:]
    private var nextTicket: UInt64 = 1
    /// Set when the director begins to stop (`stopAdmitting`).
    private var isStopping = false
    /// Set when several directors share the store: it books every admission, and ends,
    /// renewals and heartbeats go through it.
    nonisolated let shared: (any SharedStore)?
    /// The requests of waiting tickets, to queue again when the shared store refuses what the
    /// core admitted for them.
    private var waitingRequests: [UInt64: AdmissionRequest] = [:]
    /// Other directors with room in their queues, from the shared store.
    var peers: [DirectorPresence] = []
    /// The HTTP URLs of every live director (this one included), from the shared store: engines
    /// learn from their register and heartbeat replies where to report when one dies. Nil
    /// without a shared store.
    var liveDirectorURLs: [String]?
    /// This director's own URLs, advertised to the others for hand-offs.
    var advertisedHTTP: String?
    var advertisedRTSP: String?
    var lastAnnounce = Timestamp(millisecondsSinceEpoch: 0)
    /// Calls to engines (copy orders, deletions) and the grants copies fetch with; nil in tests
    /// that run a director without engines.
    let engineControl: EngineControl?
    let signer: GrantSigner?
    /// Which license servers count and the I/O profiles their licenses may name.
    var licensing: LicensePolicy
    /// How much each user, key and group may hold at once.
    var quotas: QuotaPolicy
    /// Counters of what the director decided, and the exposition of its state.
    public nonisolated let metrics: DirectorMetrics
    var lastReplicationPlan = Timestamp(millisecondsSinceEpoch: 0)
    /// Whether this director planned replication at its last turn, and whether the store holds
    /// demand it published (so an empty window is published once, not every second).
    var plansReplication = false
    var demandPublished = false
    /// Corrupt replicas to copy again (see `replicaCorrupt`), with the kind they had.
    var pendingRepairs: [ReplicaKey: ReplicaKind] = [:]
    /// The play streams of each failed engine, once ended: the RTSP front door reads them and
    /// moves its sessions. A stream rather than a callback, so neither side calls the other.
    public nonisolated let engineFailures: AsyncStream<EngineFailure>
    let engineFailureSink: AsyncStream<EngineFailure>.Continuation
    /// Each engine's process instance: a new one means it restarted and lost its streams.
    var engineInstances: [String: String] = [:]
    /// Streams restored from the store that no engine has renewed since: if they end by the
    /// sweep, their usage record says `director_restart`, with the bytes last saved.
    var restoredUnrenewed: Set<UInt32> = []
    /// Usage records on their way to the store, by stream: a stream leaves the live set before
    /// its record is written, and `GET /v1/streams/{id}` answers from here meanwhile, so a
    /// player asking why its media stopped never finds the stream gone without a record.
    var recordsInFlight: [UInt32: UsageRecord] = [:]
    /// When each stream's progress (bytes, claimed) was last saved between lease extensions.
    var progressSavedAt: [UInt32: Timestamp] = [:]
    /// The front door (http, rtsp) of each play stream this director admitted: a metrics label
    /// and a console column. Pruned at each scrape; streams of other directors count as http.
    var playTransports: [UInt32: String] = [:]
    /// The newest refused play requests, oldest first (the console's list).
    var recentRefusals: [RefusalEvent] = []

    public init(
        controller: AdmissionController, store: any SluiceStore, clock: any SluiceClock, logger: Logger,
        grantSecret: String? = nil, configurationKeys: Set<String> = [],
        licensing: LicensePolicy = LicensePolicy(trustedKeys: [], profiles: IOProfile.builtIn), quotas: QuotaPolicy = QuotaPolicy(),
        metrics: DirectorMetrics = DirectorMetrics(), engineClient: HTTPClient = .shared
    ) {
        self.metrics = metrics
        self.licensing = licensing
        self.quotas = quotas
        self.controller = controller
        self.accessControl = AccessControl(configurationKeys: configurationKeys, grantSecret: grantSecret)
        self.store = store
        self.signer = grantSecret.map(GrantSigner.init(secret:))
        self.engineControl = grantSecret.map { EngineControl(token: GrantSigner.engineToken(secret: $0), client: engineClient) }
        self.shared = store as? any SharedStore
        (engineFailures, engineFailureSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(64))
        self.clock = clock
        self.logger = logger
    }

    public var policy: AdmissionPolicy { controller.policy }
    public func now() -> Timestamp { clock.now() }

    /// Loads catalog, engines and live leases from the store; leases count again at once.
    public func restore() async throws {
        if let shared { try await shared.publish(links: Array(controller.topology.links.values)) }
        let snapshot = try await store.load()
        for engine in snapshot.engines { controller.engineRestored(engine) }
        for object in snapshot.objects { controller.objectAdded(object, on: nil) }
        for replica in snapshot.replicas {
            if let object = controller.directory.objects[replica.object] { controller.objectAdded(object, on: replica.engine, kind: replica.kind) }
        }
        for engine in snapshot.draining { _ = controller.drainSet(engine: engine, draining: true) }
        for stream in snapshot.streams { controller.streamRestored(stream) }
        restoredUnrenewed = Set(snapshot.streams.map(\.id))
        try await loadIdentities()
        logger.info("director state restored", metadata: [
            "objects": "\(snapshot.objects.count)", "engines": "\(snapshot.engines.count)", "live_streams": "\(snapshot.streams.count)",
        ])
        if shared != nil { await refreshSharedState() }
    }

    // MARK: Admission

    /// Admits now, or waits in the queue until admitted or refused (at most `maxWait`).
    /// `hangUp` completes when the client goes away (its connection's close): a request
    /// waiting in the queue then leaves it at once.
    public func admit(
        _ kind: AdmissionRequest.Kind, clientAddress: String, maxWait: Duration?, preferredStreamID: UInt32? = nil,
        by principal: Principal? = nil, visibility: ObjectAccess.Visibility? = nil, hangUp: EventLoopFuture<Void>? = nil
    ) async -> Result<LiveStream, AdmissionRefusal> {
        guard !isStopping else { return .failure(Self.stoppingRefusal) }
        let now = clock.now()
        if case .play(let name) = kind, let principal, !accessControl.mayPlay(name, by: principal) {
            // Said exactly as for a missing object: a refusal tells nothing of private objects.
            logger.info("play refused: not entitled", metadata: ["object": "\(name)", "user": "\(principal.name)"])
            return .failure(AdmissionRefusal(.unknownObject, Entitlements.notFoundMessage(name)))
        }
        if let principal, let refusal = quotaRefusal(kind, for: principal) {
            logger.info("request refused: quota", metadata: ["user": "\(principal.name)", "reason": "\(refusal.message)"])
            return .failure(refusal)
        }
        let wait = min(maxWait ?? controller.policy.maxWait, controller.policy.maxWait)
        let ticket = nextTicket
        nextTicket += 1
        var request = AdmissionRequest(
            ticket: ticket, kind: kind, clientAddress: clientAddress, deadline: now + wait, preferredStreamID: preferredStreamID)
        request.user = principal.flatMap { $0.keyID == nil ? nil : $0.name }
        request.keyID = principal?.keyID
        request.visibility = visibility
        // With a shared store another director may have taken the room the core saw free: the
        // store says so, the core learns the new totals and decides again (a few times).
        // Demand is counted once, with the outcome the client gets (the store's verdict
        // included: a stream the core admitted and the store refused was turned away).
        var attempt = 1
        while true {
            let decision = controller.requestReceived(request, now: clock.now())
            if case .admitted = decision {} else { demandObserved(decision, request) }
            switch decision {
            case .admitted(let stream):
                if let refusal = await book(stream) {
                    guard attempt < Self.sharedAttempts else {
                        demandObserved(.refused(refusal), request)
                        return .failure(refusal)
                    }
                    attempt += 1
                    continue
                }
                demandObserved(decision, request)
                await admitted(stream)
                return .success(stream)
            case .refused(var refusal):
                if refusal.code == .queueFull {
                    refusal.handOff = peerHandOff
                    if refusal.handOff != nil { metrics.handOff(.peerDirector) }
                }
                logger.info("request refused", metadata: ["object": "\(request.objectName)", "reason": "\(refusal)"])
                return .failure(refusal)
            case .queued(let refusal):
                logger.info("request queued", metadata: ["object": "\(request.objectName)", "ticket": "\(ticket)", "reason": "\(refusal)"])
                if shared != nil { waitingRequests[ticket] = request }
                // A client that hangs up while waiting gives its place in the queue up at once.
                // Watched only now, so a request admitted at once costs nothing for it.
                let result = await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        waiting[ticket] = continuation
                        if Task.isCancelled { return waitCancelled(ticket: ticket) }
                        hangUp?.whenComplete { [weak self] _ in
                            Task { await self?.waitCancelled(ticket: ticket) }
                        }
                    }
                } onCancel: {
                    Task { await self.waitCancelled(ticket: ticket) }
                }
                metrics.queueWait(clock.now() - now, admitted: (try? result.get()) != nil)
                return result
            }
        }
    }

    static let sharedAttempts = 4

    /// Whether one more stream would take `principal` past a quota. Plays count their path's
    /// reserved rate; an upload counts as a stream (its write rate is the engine's, not a path's).
    /// Requests waiting in the queue count as held: nobody queues past a quota.
    private func quotaRefusal(_ kind: AdmissionRequest.Kind, for principal: Principal) -> AdmissionRefusal? {
        func rate(_ kind: AdmissionRequest.Kind) -> Int64 {
            switch kind {
            case .play(let name): controller.directory.objects[name].map(controller.policy.reservedRate(for:)) ?? 0
            case .ingest: 0
            }
        }
        // Asked only for holders a limit applies to: live streams from the ledger, the queue
        // (at most maxQueueLength) by a pass.
        return accessControl.quotaRefusal(for: principal, adding: rate(kind), policy: quotas) { holder in
            let ledger = controller.holdings
            var holding: Holding
            let waits: (AdmissionRequest) -> Bool
            switch holder {
            case .user(let name):
                holding = ledger.byUser[name] ?? Holding()
                waits = { $0.user == name }
            case .key(let key):
                holding = ledger.byKey[key] ?? Holding()
                waits = { $0.keyID == key }
            case .group(let group):
                let members = Set(accessControl.members(of: group))
                holding = members.reduce(Holding()) { $0 + (ledger.byUser[$1] ?? Holding()) }
                waits = { $0.user.map(members.contains) ?? false }
            }
            for waiter in controller.queue.waiters where waits(waiter.request) {
                holding.add(QuotaClaim(user: waiter.request.user, keyID: waiter.request.keyID, bitsPerSecond: rate(waiter.request.kind)))
            }
            return holding
        }
    }

    /// The request waiting on `ticket` was cancelled or its client went away: leave the queue
    /// now, so whoever waits behind it is admitted first. Nothing when it was already settled.
    func waitCancelled(ticket: UInt64, refusal: AdmissionRefusal = AdmissionRefusal(.waitExpired, "the client went away while waiting")) {
        guard let continuation = waiting.removeValue(forKey: ticket) else { return }
        waitingRequests[ticket] = nil
        controller.requestCancelled(ticket: ticket)
        logger.info("waiting request cancelled", metadata: ["ticket": "\(ticket)", "reason": "\(refusal.message)"])
        continuation.resume(returning: .failure(refusal))
    }

    static let stoppingRefusal = AdmissionRefusal(.engineUnavailable, "the director is shutting down; try another director or again shortly")

    /// The director begins to stop: every waiting request is refused now, and new ones at
    /// once, so none holds the server's shutdown up for its `maxWait`.
    public func stopAdmitting() {
        isStopping = true
        for ticket in waiting.keys.sorted() { waitCancelled(ticket: ticket, refusal: Self.stoppingRefusal) }
    }

    /// Books what the core admitted in the shared store; nil when booked (or when there is no
    /// shared store). Otherwise the core forgets the stream and the refusal says why.
    func book(_ stream: LiveStream) async -> AdmissionRefusal? {
        guard let shared else { return nil }
        let outcome: SharedAdmission
        do {
            outcome = try await timed("admit") { try await shared.admit(stream) }
        } catch {
            controller.admissionRejected(stream)
            logger.error("shared store unreachable: admission refused", metadata: ["stream_id": "\(stream.id)", "error": "\(error)"])
            return AdmissionRefusal(.storeUnavailable, "the director cannot reach its store; try again")
        }
        let refusal: AdmissionRefusal
        switch outcome {
        case .admitted:
            return nil
        case .linkFull(let link):
            refusal = AdmissionRefusal(.pathFull, "link '\(link)' was filled by another director", link: link, engine: stream.engine)
        case .engineFull:
            refusal = AdmissionRefusal(.engineFull, "engine '\(stream.engine)' was filled by another director", engine: stream.engine)
        case .labelTaken(let node, let label):
            controller.identifierTakenElsewhere(labelAtNode: node, seed: UInt32.random(in: 0...UInt32.max))
            refusal = AdmissionRefusal(.pathFull, "label \(label) at '\(node)' is held by another director's stream", engine: stream.engine)
        case .idTaken:
            controller.identifierTakenElsewhere(labelAtNode: nil, seed: UInt32.random(in: 1...UInt32.max))
            refusal = AdmissionRefusal(.pathFull, "stream ID \(stream.id) is held by another director's stream", engine: stream.engine)
        }
        controller.admissionRejected(stream)
        logger.debug("shared store refused an admission", metadata: ["stream_id": "\(stream.id)", "reason": "\(refusal)"])
        await observeSharedLoad()
        return refusal
    }

    private func admitted(_ stream: LiveStream) async {
        logger.info("stream admitted", metadata: [
            "stream_id": "\(stream.id)", "object": "\(stream.object)", "engine": "\(stream.engine)",
            "rate_bps": "\(stream.bitsPerSecond)", "path": "\(stream.hops.map { "\($0.link)#\($0.label)" }.joined(separator: ","))",
        ])
        // A shared store saved the lease when it booked the stream.
        if shared == nil { await persist { try await $0.save(stream: stream) } }
    }

    func deliver(_ outcomes: [AdmissionController.QueueOutcome]) async {
        for outcome in outcomes {
            switch outcome {
            case .admitted(let ticket, let stream):
                if let refusal = await book(stream) {
                    if let request = waitingRequests[ticket], controller.requeue(request, refusal: refusal, now: clock.now()) { continue }
                    waitingRequests[ticket] = nil
                    waiting.removeValue(forKey: ticket)?.resume(returning: .failure(refusal))
                    continue
                }
                waitingRequests[ticket] = nil
                await admitted(stream)
                waiting.removeValue(forKey: ticket)?.resume(returning: .success(stream))
            case .refused(let ticket, let refusal):
                logger.info("waiting request refused", metadata: ["ticket": "\(ticket)", "reason": "\(refusal)"])
                waitingRequests[ticket] = nil
                waiting.removeValue(forKey: ticket)?.resume(returning: .failure(refusal))
            }
        }
    }

    /// Nil when ready; else why not (stopping, or the store does not answer).
    public func readiness() async -> String? {
        if isStopping { return "the director is stopping" }
        do {
            try await store.ping()
            return nil
        } catch {
            return "the store does not answer: \(error)"
        }
    }

    public func usage(since: Timestamp, limit: Int) async throws -> [UsageRecord] {
        try await store.usage(since: since, limit: limit)
    }

    public func shutdown() async {
        engineFailureSink.finish()
        stopAdmitting()
        // Close even when the caller was cancelled: a cancelled close would leave the file open.
        let store = self.store
        await Task { try? await store.close() }.value
    }

    /// Runs one store round trip and records how long it took.
    func timed<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        defer { metrics.store(operation, took: ContinuousClock.now - start) }
        return try await body()
    }

    func persist(_ body: (any SluiceStore) async throws -> Void) async {
        do {
            try await timed("write") { try await body(store) }
        } catch {
            logger.error("store write failed", metadata: ["error": "\(error)"])
        }
    }
}
