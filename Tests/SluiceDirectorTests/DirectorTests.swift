import Foundation
import Logging
import NIOEmbedded
import SluiceCore
import SluiceDirector
import SluiceGrant
@testable import SluiceStore
import SluiceTestKit
import Testing

/// The director's runtime over a real SQLite file, with a clock the test moves by hand.
@Suite(.timeLimit(.minutes(1))) struct DirectorTests {
    let directory = NSTemporaryDirectory() + "sluice-director-" + UUID().uuidString
    let clock = MockClock()
    let object = MediaObject(name: "movie", sizeBytes: 1000, durationMilliseconds: 10_000, averageBitsPerSecond: 1_000_000, sha256: String(repeating: "a", count: 64))

    func makeDirector(grantSecret: String? = nil, quotas: QuotaPolicy = QuotaPolicy()) async throws -> Director {
        let topology = try Topology(
            nodes: [Node(name: "e", kind: .engine), Node(name: "x", kind: .edge)],
            links: [Link(name: "e-x", from: "e", to: "x", capacityBitsPerSecond: 2_500_000)])
        var policy = AdmissionPolicy()
        policy.rateHeadroom = 0
        policy.leaseSlack = .seconds(5)
        policy.maxWait = .seconds(3)
        let controller = AdmissionController(topology: topology, clientNetworks: ClientNetworks(entries: [], defaultEdge: "x"), policy: policy)
        let store = try await SQLiteStore.open(directory: directory, logger: Logger(label: "test"))
        let director = Director(controller: controller, store: store, clock: clock, logger: Logger(label: "test"), grantSecret: grantSecret, quotas: quotas)
        try await director.restore()
        return director
    }

    func register(_ director: Director) async {
        let capacity = EngineCapacity(maxStreams: 10, bufferBytes: 1 << 30, ingestBitsPerSecond: 1 << 30, diskBytes: 1 << 40)
        await director.registerEngine(EngineRecord(name: "e", url: "http://e", capacity: capacity, isUp: true, lastHeartbeat: clock.now()), objects: [object])
    }

    @Test func aWaiterIsAdmittedWhenAStreamEndsAndExpiryWritesUsage() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let director = try await makeDirector()
        await register(director)
        let first = try #require(try? await director.admit(.play(object: "movie"), clientAddress: "10.0.0.1", maxWait: nil).get())
        let second = try #require(try? await director.admit(.play(object: "movie"), clientAddress: "10.0.0.2", maxWait: nil).get())
        // The third waits: 2.5 Mbit/s holds two 1 Mbit/s streams.
        let waiter = Task { await director.admit(.play(object: "movie"), clientAddress: "10.0.0.3", maxWait: nil) }
        while await director.queueLength == 0 { await Task.yield() }
        await director.end(streamID: first.id, bytesSent: 1000, reason: .completed)
        let third = try await waiter.value.get()
        #expect(third.clientAddress == "10.0.0.3")
        // Nobody renews: the leases run out at 10 s x 1.1 + 5 s, the sweep releases and records them.
        _ = await director.renew(streamID: second.id, bytesSent: 10)
        _ = await director.renew(streamID: third.id, bytesSent: 10)
        clock.advance(by: .seconds(17))
        await heartbeatAndTick(director)
        #expect(await director.liveStreams().isEmpty)
        #expect(await director.linkViews().allSatisfy { $0.reservedBitsPerSecond == 0 })
        let usage = try await director.usage(since: Timestamp(millisecondsSinceEpoch: 0), limit: 10)
        #expect(usage.map(\.endReason).sorted { $0.rawValue < $1.rawValue } == [.completed, .leaseExpired, .leaseExpired])
        await director.shutdown()
    }

    @Test func aRestartedDirectorCountsTheLeasesItLeftBehind() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let director = try await makeDirector()
        await register(director)
        let stream = try #require(try? await director.admit(.play(object: "movie"), clientAddress: "10.0.0.1", maxWait: nil).get())
        await director.shutdown()

        let restarted = try await makeDirector()
        #expect(await restarted.reservedBitsPerSecond(onLink: "e-x") == 1_000_000)
        #expect(await restarted.liveStream(stream.id)?.hops == stream.hops)
        #expect(await restarted.object(named: "movie") == object)
        // The engine comes back and the stream's lease is renewed through the new director.
        await register(restarted)
        #expect(await restarted.renew(streamID: stream.id, bytesSent: 500) != nil)
        await restarted.shutdown()
    }

    @Test func aStreamLeftBehindByACrashIsRecordedWithItsLastSavedBytesAndTheRestartAsReason() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let director = try await makeDirector()
        await register(director)
        let playing = try #require(try? await director.admit(.play(object: "movie"), clientAddress: "10.0.0.1", maxWait: nil).get())
        let unclaimed = try #require(try? await director.admit(.play(object: "movie"), clientAddress: "10.0.0.2", maxWait: nil).get())
        // Renewals within the first lease do not move its expiry; progress is saved anyway.
        _ = await director.renew(streamID: playing.id, bytesSent: 400)
        clock.advance(by: .seconds(6))
        _ = await director.renew(streamID: playing.id, bytesSent: 700)
        // The process dies here (its store closed as a crash leaves it: no stream ended).
        await director.shutdown()

        let restarted = try await makeDirector()
        await register(restarted)
        #expect(await restarted.liveStream(playing.id)?.bytesSent == 700)
        #expect(await restarted.liveStream(playing.id)?.isClaimed == true)
        // No engine renews them any more: the sweep ends both, saying why.
        clock.advance(by: .seconds(30))
        await heartbeatAndTick(restarted)
        let usage = try await restarted.usage(since: Timestamp(millisecondsSinceEpoch: 0), limit: 10)
        let byID = Dictionary(uniqueKeysWithValues: usage.map { ($0.streamID, $0) })
        #expect(byID[playing.id]?.bytes == 700 && byID[playing.id]?.endReason == .directorRestart, "\(usage)")
        #expect(byID[unclaimed.id]?.endReason == .directorRestart, "\(usage)")
        await restarted.shutdown()
    }

    @Test func requestsWaitingInTheQueueCountAgainstTheQuota() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let director = try await makeDirector(quotas: QuotaPolicy(user: Quota(maxStreams: 3)))
        await register(director)
        let amy = Principal(name: "amy", role: .viewer, keyID: "k1")
        // 2.5 Mbit/s holds two 1 Mbit/s streams; the third waits, and counts.
        for client in ["10.0.0.1", "10.0.0.2"] {
            #expect((try? await director.admit(.play(object: "movie"), clientAddress: client, maxWait: nil, by: amy).get()) != nil)
        }
        let waiter = Task { await director.admit(.play(object: "movie"), clientAddress: "10.0.0.3", maxWait: nil, by: amy) }
        while await director.queueLength == 0 { await Task.yield() }
        guard case .failure(let refusal) = await director.admit(.play(object: "movie"), clientAddress: "10.0.0.4", maxWait: nil, by: amy) else {
            Issue.record("a fourth request was let past a quota of three")
            return
        }
        #expect(refusal.code == .quotaExceeded && refusal.message.contains("3 of 3"))
        #expect(await director.queueLength == 1, "the refused request did not queue")
        // Another user is not held by amy's quota.
        let other = Task { await director.admit(.play(object: "movie"), clientAddress: "10.0.0.5", maxWait: .seconds(1), by: Principal(name: "bo", role: .viewer, keyID: "k2")) }
        while await director.queueLength < 2 { await Task.yield() }
        clock.advance(by: .seconds(4))
        await heartbeatAndTick(director)
        _ = await other.value
        _ = await waiter.value
        await director.shutdown()
    }

    @Test func aBatchOfRenewalsExtendsTheLiveAndNamesTheGone() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let director = try await makeDirector()
        await register(director)
        let live = try #require(try? await director.admit(.play(object: "movie"), clientAddress: "10.0.0.1", maxWait: nil).get())
        let ended = try #require(try? await director.admit(.play(object: "movie"), clientAddress: "10.0.0.2", maxWait: nil).get())
        await director.end(streamID: ended.id, bytesSent: 0, reason: .clientGone)
        clock.advance(by: .seconds(1))
        let gone = await director.renew([
            .init(streamID: live.id, renewal: .init(bytesSent: 4096, receiverReportAgeMilliseconds: 200)),
            .init(streamID: ended.id, renewal: .init(bytesSent: 1)),
            .init(streamID: 0xDEAD, renewal: .init(bytesSent: 1)),
        ])
        #expect(gone == [ended.id, 0xDEAD])
        let renewed = try #require(await director.liveStream(live.id))
        #expect(renewed.bytesSent == 4096)
        #expect(renewed.isClaimed)
        #expect(renewed.leaseExpiry == live.leaseExpiry)  // still the initial lease, which is longer
        #expect(renewed.lastReceiverReport == Timestamp(millisecondsSinceEpoch: clock.now().millisecondsSinceEpoch - 200))
        await director.shutdown()
    }

    @Test func aWaiterWhoseClientLeavesGivesItsPlaceUpAtOnce() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let director = try await makeDirector()
        await register(director)
        let first = try #require(try? await director.admit(.play(object: "movie"), clientAddress: "10.0.0.1", maxWait: nil).get())
        _ = try #require(try? await director.admit(.play(object: "movie"), clientAddress: "10.0.0.2", maxWait: nil).get())
        // The path is full: two clients queue, in this order.
        let leaver = Task { await director.admit(.play(object: "movie"), clientAddress: "10.0.0.3", maxWait: nil) }
        while await director.queueLength < 1 { await Task.yield() }
        let stayer = Task { await director.admit(.play(object: "movie"), clientAddress: "10.0.0.4", maxWait: nil) }
        while await director.queueLength < 2 { await Task.yield() }
        // The first hangs up: it leaves the queue without waiting for its deadline.
        leaver.cancel()
        guard case .failure = await leaver.value else { Issue.record("a cancelled waiter was admitted"); return }
        #expect(await director.queueLength == 1)
        // Capacity frees: the one still waiting gets it.
        await director.end(streamID: first.id, bytesSent: 1000, reason: .completed)
        let admitted = try await stayer.value.get()
        #expect(admitted.clientAddress == "10.0.0.4")
        #expect(await director.queueLength == 0)
        await director.shutdown()
    }

    @Test func aWaiterLeavesTheQueueWhenItsConnectionClosesAndAStoppingDirectorRefusesEveryWait() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let director = try await makeDirector()
        await register(director)
        for client in ["10.0.0.1", "10.0.0.2"] {
            _ = try #require(try? await director.admit(.play(object: "movie"), clientAddress: client, maxWait: nil).get())
        }
        let loop = EmbeddedEventLoop()
        let connection = loop.makePromise(of: Void.self)
        let hungUp = Task { await director.admit(.play(object: "movie"), clientAddress: "10.0.0.3", maxWait: nil, hangUp: connection.futureResult) }
        while await director.queueLength < 1 { await Task.yield() }
        let waiting = Task { await director.admit(.play(object: "movie"), clientAddress: "10.0.0.4", maxWait: nil) }
        while await director.queueLength < 2 { await Task.yield() }
        connection.succeed(())  // the client closed its connection
        guard case .failure(let refusal) = await hungUp.value else { Issue.record("a client gone was admitted"); return }
        #expect(refusal.code == .waitExpired)
        #expect(await director.queueLength == 1)
        // Shutdown begins: whoever still waits is refused now, and newcomers at once.
        await director.stopAdmitting()
        guard case .failure(let stopping) = await waiting.value else { Issue.record("a waiter outlived the director"); return }
        #expect(stopping.message.contains("shutting down"))
        guard case .failure = await director.admit(.play(object: "movie"), clientAddress: "10.0.0.5", maxWait: nil) else {
            Issue.record("a stopping director admitted")
            return
        }
        #expect(await director.queueLength == 0)
        try? await loop.shutdownGracefully()
        await director.shutdown()
    }

    @Test func aPlayTicketCarriesTheEngineAndASignedGrantAndRefusalsSayWhy() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let director = try await makeDirector(grantSecret: "0123456789abcdef0123")
        await register(director)
        let viewer = Principal.configurationAdmin
        let ticket = try await director.admitPlay(PlayRequest(object: "movie", clientAddress: "10.0.0.1", principal: viewer)).get()
        #expect(ticket.engine.url == "http://e")
        #expect(ticket.object == object)
        #expect(ticket.profileHeader == "traditional")
        let grant = try GrantSigner(secret: "0123456789abcdef0123").verify(
            ticket.grant, object: "movie", engine: "e", clientAddress: "10.0.0.1", action: .play, now: clock.now())
        #expect(grant.streamID == ticket.stream.id)
        // A name not in the catalog: the same refusal whatever door asked.
        guard case .failure(let refusal) = await director.admitPlay(PlayRequest(object: "nope", clientAddress: "10.0.0.1", principal: viewer)) else {
            Issue.record("an unknown object was admitted")
            return
        }
        #expect(refusal.code == .unknownObject)
        await director.shutdown()
    }

    func heartbeatAndTick(_ director: Director) async {
        _ = await director.heartbeat(engine: "e")
        await director.tick()
    }
}
