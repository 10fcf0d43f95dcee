import Foundation
import Logging
import SluiceCore
@testable import SluiceDirector
@testable import SluiceStore
import SluiceTestKit
import Testing

/// Every suite that starts a PostgreSQL server runs inside this one, one at a time: each
/// starts its own server, and two at once compete for the two cores.
@Suite(.serialized, .timeLimit(.minutes(3))) enum PostgresSuites {}

extension PostgresSuites {
/// Several directors on one real PostgreSQL (started by the test), each with its own core and a
/// clock the test moves by hand.
@Suite(.serialized) struct SharedStoreTests {
    let server: TemporaryPostgres
    let clock = MockClock()
    let object = MediaObject(name: "movie", sizeBytes: 1000, durationMilliseconds: 10_000, averageBitsPerSecond: 1_000_000, sha256: String(repeating: "a", count: 64))
    let logger = Logger(label: "test")
    /// Two engines behind one 10 Mbit/s bottleneck: ten 1 Mbit/s streams at most, whoever admits.
    let topology = try! Topology(
        nodes: [Node(name: "e1", kind: .engine), Node(name: "e2", kind: .engine), Node(name: "core", kind: .router), Node(name: "x", kind: .edge)],
        links: [
            Link(name: "e1-core", from: "e1", to: "core", capacityBitsPerSecond: 8_000_000),
            Link(name: "e2-core", from: "e2", to: "core", capacityBitsPerSecond: 8_000_000),
            Link(name: "core-x", from: "core", to: "x", capacityBitsPerSecond: 10_000_000),
        ])

    /// Each test gets its own server; it stops when the test's suite value is gone.
    init() throws {
        server = try TemporaryPostgres.start()
    }

    func makeDirector(
        _ id: String, url: String, maxQueue: Int = 64,
        seeds: (stream: UInt32, label: UInt32) = (UInt32.random(in: 1...UInt32.max), UInt32.random(in: 0...UInt32.max))
    ) async throws -> Director {
        var policy = AdmissionPolicy()
        policy.rateHeadroom = 0
        policy.leaseSlack = .seconds(5)
        policy.maxWait = .seconds(30)
        policy.maxQueueLength = maxQueue
        let controller = AdmissionController(
            topology: topology, clientNetworks: ClientNetworks(entries: [], defaultEdge: "x"), policy: policy,
            streamIDSeed: seeds.stream, labelSeed: seeds.label)
        let store = try await PostgresStore.open(url: url, directorID: id, logger: logger)
        let director = Director(controller: controller, store: store, clock: clock, logger: logger)
        try await director.restore()
        return director
    }

    func register(_ director: Director, engines: [String] = ["e1", "e2"]) async {
        let capacity = EngineCapacity(maxStreams: 100, bufferBytes: 1 << 40, ingestBitsPerSecond: 1 << 30, diskBytes: 1 << 40)
        for engine in engines {
            await director.registerEngine(
                EngineRecord(name: engine, url: "http://\(engine)", capacity: capacity, isUp: true, lastHeartbeat: clock.now()),
                objects: [object])
        }
    }

    /// The others learn the engines and the catalog through the store.
    func sync(_ directors: [Director]) async {
        for director in directors {
            await director.reloadCatalog()
            await director.refreshSharedState()
        }
    }

    /// Polls `condition` for up to ten seconds (waiting on other tasks, not timing anything).
    func eventually(_ condition: () async -> Bool) async throws {
        for _ in 0..<1000 {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("condition not met within 10 s")
    }

    func links(_ database: String) throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        for line in try server.psql(database, "SELECT name, reserved_bps FROM links").split(separator: "\n") {
            let parts = line.split(separator: "|")
            result[String(parts[0])] = Int64(parts[1])
        }
        return result
    }

    @Test func directorsStartingTogetherMigrateOnce() async throws {
        let url = try server.createDatabase("together")
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for index in 0..<3 { group.addTask { try await PostgresStore.open(url: url, directorID: "d\(index)", logger: self.logger) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(stores.count == 3)
        #expect(try server.psql("together", "SELECT count(*), max(version) FROM sluice_schema") == "1|\(PostgresSchema.migrations.count)")
        for store in stores { try await store.close() }
    }

    @Test(arguments: [2, 3]) func anAdmissionStormNeverOverbooksTheBottleneck(directorCount: Int) async throws {
        let database = "storm\(directorCount)"
        let url = try server.createDatabase(database)
        var directors: [Director] = []
        for index in 0..<directorCount { directors.append(try await makeDirector("d\(index)", url: url)) }
        await register(directors[0])
        await sync(directors)

        // Sample the links table all through the storm.
        let sampling = Task { () -> (samples: Int, worst: Int64) in
            var samples = 0
            var worst: Int64 = 0
            while !Task.isCancelled {
                let reserved = (try? self.links(database)) ?? [:]
                worst = max(worst, reserved["core-x"] ?? 0)
                #expect((reserved["core-x"] ?? 0) <= 10_000_000)
                #expect((reserved["e1-core"] ?? 0) <= 8_000_000)
                #expect((reserved["e2-core"] ?? 0) <= 8_000_000)
                samples += 1
            }
            return (samples, worst)
        }
        let admitted = await withTaskGroup(of: (Int, LiveStream?).self) { group in
            for request in 0..<120 {
                let index = request % directorCount
                let director = directors[index]
                group.addTask {
                    (index, try? await director.admit(.play(object: "movie"), clientAddress: "10.0.\(request / 250).\(request % 250)", maxWait: .zero).get())
                }
            }
            return await group.reduce(into: [(Int, LiveStream)]()) { if let stream = $1.1 { $0.append(($1.0, stream)) } }
        }
        sampling.cancel()
        let (samples, worst) = await sampling.value
        #expect(samples > 0)
        #expect(worst <= 10_000_000)
        // Ten fit; every admitted stream has its full path (engine link and bottleneck).
        #expect(admitted.count <= 10)
        #expect(admitted.count >= 1)
        for (_, stream) in admitted {
            #expect(stream.reservation.links.count == 2)
            #expect(stream.reservation.links.last == "core-x")
            #expect(stream.hops.count == 2)
        }
        #expect(Set(admitted.map(\.1.id)).count == admitted.count)
        #expect(try links(database)["core-x"] == Int64(admitted.count) * 1_000_000)
        // Each stream ends through a director other than the one that admitted it.
        for (index, stream) in admitted {
            await directors[(index + 1) % directorCount].end(streamID: stream.id, bytesSent: 100, reason: .completed)
        }
        #expect(try links(database).values.allSatisfy { $0 == 0 })
        #expect(try server.psql(database, "SELECT sum(streams_reserved) FROM engines") == "0")
        #expect(try server.psql(database, "SELECT count(*) FROM labels") == "0")
        #expect(try server.psql(database, "SELECT count(*) FROM usage") == "\(admitted.count)")
        for director in directors { await director.shutdown() }
    }

    @Test func aWaiterOnOneDirectorIsAdmittedWhenAnotherDirectorsStreamEnds() async throws {
        let url = try server.createDatabase("waiter")
        let a = try await makeDirector("a", url: url)
        let b = try await makeDirector("b", url: url)
        await register(b)
        await sync([a, b])
        var held: [LiveStream] = []
        for client in 0..<10 {
            held.append(try await b.admit(.play(object: "movie"), clientAddress: "10.0.1.\(client)", maxWait: .zero).get())
        }
        await a.refreshSharedState()
        let waiter = Task { await a.admit(.play(object: "movie"), clientAddress: "10.0.2.1", maxWait: .seconds(20)) }
        try await eventually { await a.queueLength == 1 }
        // A learns of the end through LISTEN/NOTIFY, not from its sweeper (nothing ticks here).
        let follower = Task {
            let store = try #require(a.shared)
            for await change in store.changes() { await a.sharedChanged(change) }
        }
        await b.end(streamID: held[0].id, bytesSent: 1, reason: .completed)
        let admitted = try await waiter.value.get()
        #expect(admitted.clientAddress == "10.0.2.1")
        #expect(try links("waiter")["core-x"] == 10_000_000)
        follower.cancel()
        await a.shutdown()
        await b.shutdown()
    }

    @Test func leasesOfAVanishedDirectorAreSweptExactlyOnceByTheOthers() async throws {
        let url = try server.createDatabase("sweep")
        let a = try await makeDirector("a", url: url)
        let b = try await makeDirector("b", url: url)
        let c = try await makeDirector("c", url: url)
        await register(a)
        await sync([a, b, c])
        for client in 0..<4 {
            _ = try await a.admit(.play(object: "movie"), clientAddress: "10.0.1.\(client)", maxWait: .zero).get()
        }
        // A disappears without a word (its core is simply never consulted again).
        clock.advance(by: .seconds(20))
        await withTaskGroup(of: Void.self) { group in
            for director in [b, c] { group.addTask { await director.refreshSharedState() } }
        }
        #expect(try links("sweep").values.allSatisfy { $0 == 0 })
        #expect(try server.psql("sweep", "SELECT count(*) FROM streams") == "0")
        #expect(try server.psql("sweep", "SELECT count(*), count(DISTINCT stream_id) FROM usage WHERE end_reason = 'lease_expired'") == "4|4")
        for director in [a, b, c] { await director.shutdown() }
    }

    @Test func aLeaseRenewedThroughAnotherDirectorOutlivesItsOwnersClock() async throws {
        let url = try server.createDatabase("renew")
        let a = try await makeDirector("a", url: url)
        let b = try await makeDirector("b", url: url)
        await register(a)
        await sync([a, b])
        let stream = try await a.admit(.play(object: "movie"), clientAddress: "10.0.1.1", maxWait: .zero).get()
        _ = await a.renew(streamID: stream.id, bytesSent: 1)
        clock.advance(by: .seconds(14))
        #expect(await b.renew(streamID: stream.id, bytesSent: 5000) != nil)
        clock.advance(by: .seconds(3))
        // The engines are alive (they heartbeat through B; A reads that from the store).
        for engine in ["e1", "e2"] { _ = await b.heartbeat(engine: engine) }
        await a.refreshSharedState()
        // A's core thinks the lease ran out; the store says B renewed it: A keeps it.
        await a.tick()
        #expect(await a.liveStream(stream.id) != nil)
        #expect(try server.psql("renew", "SELECT count(*) FROM usage") == "0")
        // Ended through B, A drops it on the notification.
        await b.end(streamID: stream.id, bytesSent: nil, reason: .completed)
        await a.sharedChanged(.streamEnded(stream.id))
        #expect(await a.liveStream(stream.id) == nil)
        #expect(try server.psql("renew", "SELECT bytes, end_reason, director FROM usage") == "5000|completed|a")
        await a.shutdown()
        await b.shutdown()
    }

    @Test func aUserRevokedOnOneDirectorLosesTheStreamsAnotherAdmitted() async throws {
        let url = try server.createDatabase("revoke")
        let a = try await makeDirector("a", url: url)
        let b = try await makeDirector("b", url: url)
        await register(a)
        await sync([a, b])
        _ = await a.addUser(name: "vera", role: .viewer, groups: [])
        let (_, key) = try #require(await a.createKey(for: "vera"))
        // B learns of the user from the store's notification.
        await b.sharedChanged(.catalog)
        let vera = try await b.authenticate(key).get()
        #expect(vera.name == "vera" && vera.role == .viewer)
        let stream = try await b.admit(.play(object: "movie"), clientAddress: "10.0.1.1", maxWait: .zero, by: vera).get()
        #expect(stream.user == "vera")

        #expect(await a.revokeUser("vera") == 0, "A admitted none of vera's streams")
        await b.sharedChanged(.catalog)
        #expect(await b.liveStream(stream.id) == nil, "B ended the stream it admitted for vera")
        let usage = try server.psql("revoke", "SELECT end_reason, user_name FROM usage")
        #expect(usage == "revoked|vera", "\(usage)")
        #expect(try links("revoke").values.allSatisfy { $0 == 0 })
        if case .success = await b.authenticate(key) { Issue.record("the revoked key still opens B") }
        await a.shutdown()
        await b.shutdown()
    }

    @Test func anUploadAdmittedByOneDirectorIsCompletedThroughAnother() async throws {
        let url = try server.createDatabase("upload")
        let a = try await makeDirector("a", url: url)
        let b = try await makeDirector("b", url: url)
        await register(a)
        await sync([a, b])
        let upload = try await b.admit(.ingest(object: "new", sizeBytes: 500), clientAddress: "10.0.0.9", maxWait: .zero).get()
        let object = MediaObject(name: "new", sizeBytes: 500, durationMilliseconds: 1000, averageBitsPerSecond: 4000, sha256: String(repeating: "b", count: 64))
        // The engine reports to the director it registered with, which did not admit it.
        #expect(await a.uploadCompleted(streamID: upload.id, object: object, engine: upload.engine))
        #expect(await a.object(named: "new") == object)
        await b.reloadCatalog()
        #expect(await b.replicas(of: "new") == [upload.engine])
        #expect(try server.psql("upload", "SELECT kind, bytes, end_reason, director FROM usage") == "ingest|500|completed|b")
        #expect(try server.psql("upload", "SELECT sum(disk_reserved), sum(ingest_reserved) FROM engines") == "0|0")
        await a.shutdown()
        await b.shutdown()
    }

    @Test func whoMayPlayAnObjectIsTheSameOnEveryDirector() async throws {
        let url = try server.createDatabase("access")
        let a = try await makeDirector("a", url: url)
        let b = try await makeDirector("b", url: url)
        await register(a)
        await sync([a, b])
        _ = await a.addUser(name: "olga", role: .uploader, groups: [])
        _ = await a.addUser(name: "vera", role: .viewer, groups: ["staff"])
        let olgaKey = try #require(await a.createKey(for: "olga")).key
        let veraKey = try #require(await a.createKey(for: "vera")).key
        await b.sharedChanged(.catalog)
        let olga = try await b.authenticate(olgaKey).get()
        let vera = try await b.authenticate(veraKey).get()
        // olga's upload, admitted by B, completed through A: hers and private, on both.
        let upload = try await b.admit(.ingest(object: "diary", sizeBytes: 500), clientAddress: "10.0.0.9", maxWait: .zero, by: olga).get()
        let object = MediaObject(name: "diary", sizeBytes: 500, durationMilliseconds: 1000, averageBitsPerSecond: 4000, sha256: String(repeating: "c", count: 64))
        #expect(await a.uploadCompleted(streamID: upload.id, object: object, engine: upload.engine))
        await b.sharedChanged(.catalog)
        for director in [a, b] {
            let refused = await director.admit(.play(object: "diary"), clientAddress: "10.0.1.1", maxWait: .zero, by: vera)
            guard case .failure(let refusal) = refused else { Issue.record("vera played olga's private object"); continue }
            #expect(refusal.code == .unknownObject)
            let played = try await director.admit(.play(object: "diary"), clientAddress: "10.0.1.1", maxWait: .zero, by: olga).get()
            await director.end(streamID: played.id, bytesSent: 0, reason: .tornDown)
        }
        // Shared with the staff group through A: B lets vera in after the notification.
        guard case .changed = await a.setAccess(of: "diary", visibility: .granted, users: [], groups: ["staff"], by: olga) else {
            Issue.record("the owner could not share it")
            return
        }
        await b.sharedChanged(.catalog)
        #expect(await b.access(of: "diary", for: vera)?.groups == ["staff"])
        let shared = try await b.admit(.play(object: "diary"), clientAddress: "10.0.1.1", maxWait: .zero, by: vera).get()
        await b.end(streamID: shared.id, bytesSent: 0, reason: .tornDown)
        await a.shutdown()
        await b.shutdown()
    }

    /// Two directors that pick the same stream ID and labels: the store's batch refuses the
    /// second ('id'), which moves its allocators on and books again.
    @Test func aStreamIDOrLabelHeldByAnotherDirectorIsRefusedAndTheAdmissionRetried() async throws {
        let url = try server.createDatabase("collide")
        let a = try await makeDirector("a", url: url, seeds: (42, 7))
        let b = try await makeDirector("b", url: url, seeds: (42, 7))
        await register(a)
        await sync([a, b])
        let first = try await a.admit(.play(object: "movie"), clientAddress: "10.0.1.1", maxWait: .zero).get()
        let second = try await b.admit(.play(object: "movie"), clientAddress: "10.0.1.2", maxWait: .zero).get()
        #expect(first.id != second.id)
        #expect(Set(first.hops.map { "\($0.node)#\($0.label)" }).isDisjoint(with: second.hops.map { "\($0.node)#\($0.label)" }))
        #expect(try server.psql("collide", "SELECT count(*) FROM streams") == "2")
        #expect(try links("collide")["core-x"] == 2_000_000)
        await a.shutdown()
        await b.shutdown()
    }

    /// Demand is counted with the outcome the client gets: a stream b's core admitted on a stale
    /// view and the store refused was turned away, not admitted (the planner copies for it).
    @Test func demandCountsTheStoresVerdictNotTheCoresFirstGuess() async throws {
        let url = try server.createDatabase("verdict")
        let a = try await makeDirector("a", url: url)
        let b = try await makeDirector("b", url: url)
        await register(a)
        await sync([a, b])
        for index in 0..<10 { _ = try await a.admit(.play(object: "movie"), clientAddress: "10.0.1.\(index)", maxWait: .zero).get() }
        // b has not read a's bookings since: its core sees the bottleneck free.
        guard case .failure(let refusal) = await b.admit(.play(object: "movie"), clientAddress: "10.0.2.1", maxWait: .zero) else {
            Issue.record("the store let b over-book")
            return
        }
        #expect(refusal.code == .pathFull)
        let demand = try #require(await b.status(of: "movie")).demand
        #expect(demand.admitted == 0 && demand.refused == 1, "\(demand)")
        await a.shutdown()
        await b.shutdown()
    }

    /// One director at a time holds the planner's lock; it passes to another within seconds of
    /// the holder's session ending (closed, or killed by the server as when a host dies).
    @Test func oneDirectorPlansReplicationAndAnotherTakesOverWhenItsSessionEnds() async throws {
        let url = try server.createDatabase("planner")
        let stores = [try await PostgresStore.open(url: url, directorID: "a", logger: logger),
                      try await PostgresStore.open(url: url, directorID: "b", logger: logger),
                      try await PostgresStore.open(url: url, directorID: "c", logger: logger)]
        func holders() -> [String] { stores.filter(\.leadsReplication).map(\.directorID) }
        try await eventually { holders().count == 1 }
        let first = try #require(holders().first)
        try await Task.sleep(for: .seconds(1.5))
        #expect(holders() == [first], "the lock stays with its holder")

        // The server ends the holder's session (what a dead host's connection comes to).
        #expect(try server.psql("planner", "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted") == "1")
        let killed = ContinuousClock.now
        try await eventually { holders().count == 1 && ContinuousClock.now - killed > .milliseconds(100) }
        #expect(ContinuousClock.now - killed < .seconds(4), "taken over within seconds")
        let second = try #require(holders().first)
        // Closed (a director stopping): another takes it.
        try await stores.first { $0.directorID == second }?.close()
        try await eventually { holders().count == 1 && holders() != [second] }
        for store in stores where store.directorID != second { try await store.close() }
    }

    /// Each director publishes its demand; the planner reads the others' (not its own again),
    /// fresh ones only, and every copy in flight. Drains are shared.
    @Test func demandAndDrainsAreSharedThroughTheStore() async throws {
        let url = try server.createDatabase("demand")
        let a = try await makeDirector("a", url: url)
        let b = try await makeDirector("b", url: url)
        await register(a)
        await sync([a, b])
        let store = try await PostgresStore.open(url: url, directorID: "probe", logger: logger)
        var counts = DemandCounts()
        counts.queued = 2
        counts.admitted = 1
        let now = clock.now()
        try await store.publish(demand: [ObjectDemand(object: "movie", counts: counts, edge: "x", turnedAwayEdge: "x")], at: now)
        let seen = try await store.clusterActivity(since: now)
        #expect(seen.demand.isEmpty, "a director does not read its own demand back")
        let shared = try #require(a.shared)
        #expect(try await shared.clusterActivity(since: now).demand["movie"]?.counts == counts)
        #expect(try await shared.clusterActivity(since: now + .seconds(1)).demand.isEmpty, "stale demand (a dead director's) is ignored")
        try await store.publish(demand: [], at: now)
        #expect(try await shared.clusterActivity(since: now).demand.isEmpty)

        // Drained through a, honoured by b (once it reloads the catalog, as the store's
        // notification makes it do).
        #expect(await a.setDraining(engine: "e1", true) == 0)
        await b.reloadCatalog()
        #expect(await b.isDraining("e1"))
        for index in 0..<3 {
            let stream = try await b.admit(.play(object: "movie"), clientAddress: "10.0.1.\(index)", maxWait: .zero).get()
            #expect(stream.engine == "e2")
        }
        #expect(await a.setDraining(engine: "e1", false) == 0)
        await b.reloadCatalog()
        #expect(await !b.isDraining("e1"))
        // And it survives a restart.
        #expect(await a.setDraining(engine: "e2", true) == 0)
        await a.shutdown()
        let restarted = try await makeDirector("a", url: url)
        #expect(await restarted.isDraining("e2"))
        try await store.close()
        await restarted.shutdown()
        await b.shutdown()
    }

    @Test func restartedDirectorsFindCatalogLeasesAndUsageIntact() async throws {
        let url = try server.createDatabase("restart")
        var a = try await makeDirector("a", url: url)
        var b = try await makeDirector("b", url: url)
        await register(a)
        await sync([a, b])
        let onA = try await a.admit(.play(object: "movie"), clientAddress: "10.0.1.1", maxWait: .zero).get()
        let onB = try await b.admit(.play(object: "movie"), clientAddress: "10.0.1.2", maxWait: .zero).get()
        let ended = try await b.admit(.play(object: "movie"), clientAddress: "10.0.1.3", maxWait: .zero).get()
        await b.end(streamID: ended.id, bytesSent: 77, reason: .completed)
        await a.shutdown()
        await b.shutdown()

        a = try await makeDirector("a", url: url)
        b = try await makeDirector("b", url: url)
        #expect(await a.object(named: "movie") == object)
        #expect(await a.replicas(of: "movie") == ["e1", "e2"])
        #expect(await a.liveStream(onA.id)?.hops == onA.hops)
        #expect(await b.liveStream(onB.id)?.hops == onB.hops)
        #expect(await a.reservedBitsPerSecond(onLink: "core-x") == 2_000_000)
        let usage = try await a.usage(since: Timestamp(millisecondsSinceEpoch: 0), limit: 10)
        #expect(usage.map(\.bytes) == [77])
        await a.shutdown()
        await b.shutdown()
    }
}
}

/// Parsing that needs no server.
@Suite(.timeLimit(.minutes(1))) struct PostgresStoreParsingTests {
    @Test func storeURLsAreReadOrRefusedClearly() throws {
        let configuration = try PostgresStore.configuration(from: "postgres://ops:p%40ss@db.example:6543/sluice?sslmode=disable")
        #expect(configuration.username == "ops")
        #expect(configuration.password == "p@ss")
        #expect(configuration.host == "db.example")
        #expect(configuration.port == 6543)
        #expect(configuration.database == "sluice")
        #expect(throws: StoreError.self) { try PostgresStore.configuration(from: "mysql://ops@db/sluice") }
        #expect(throws: StoreError.self) { try PostgresStore.configuration(from: "postgres://ops@db/sluice?sslmode=sometimes") }
    }

    @Test func admissionOutcomesAreDecoded() {
        #expect(PostgresStore.admission(from: "") == .admitted)
        #expect(PostgresStore.admission(from: "engine") == .engineFull)
        #expect(PostgresStore.admission(from: "id") == .idTaken)
        #expect(PostgresStore.admission(from: "link core edge") == .linkFull("core edge"))
        #expect(PostgresStore.admission(from: "label 4711 router 2") == .labelTaken(node: "router 2", label: 4711))
    }
}
