import Foundation
import SluiceCore
import SluiceTestKit
import Synchronization
import Testing

extension IntegrationTests {
/// Several `sluice director` processes sharing one real PostgreSQL, a real engine behind them.
@Suite struct SharedDirectorsTests {
    /// 1 Mbit/s per stream (the sample's rate, no headroom); `core-edge` holds this many.
    static let fitting = 8

    func makeCluster(_ server: TemporaryPostgres, database: String, directorSettings: String = "") throws -> Cluster {
        let url = try server.createDatabase(database)
        return try Cluster(
            coreEdge: "\(Self.fitting)Mbit", maxWait: "20s", leaseSlack: "2s", engineNames: ["engine-a"], store: url,
            directorSettings: "rateHeadroom: 0\n  claimTimeout: 60s\n  " + directorSettings)
    }

    func reserved(_ server: TemporaryPostgres, _ database: String) throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        for line in try server.psql(database, "SELECT name, reserved_bps FROM links").split(separator: "\n") {
            let parts = line.split(separator: "|")
            if parts.count == 2 { result[String(parts[0])] = Int64(parts[1]) }
        }
        return result
    }

    /// GET /play on `base`; the status code (302 admitted, 503 refused, 307 handed off).
    func play(_ cluster: Cluster, base: String, object: String, client: Int, maxWait: Int = 0) async -> Int {
        let path = "/play/\(object)?maxWait=\(maxWait)"
        return (try? await cluster.get(path, base: base).status) ?? -1
    }

    @Test func aStormOverThreeDirectorsWithOneKilledNeverOverbooksAndLeavesNothingReserved() async throws {
        let server = try TemporaryPostgres.start()
        defer { server.stop() }
        let cluster = try makeCluster(server, database: "storm")
        defer { cluster.stop() }
        for _ in 0..<3 { try await cluster.addDirector() }
        try await cluster.startEngines()
        let sample = try cluster.makeSample(name: "movie", seconds: 10, bitrate: 1_000_000)
        try cluster.put(sample, as: "movie")
        try await cluster.waitUntil("every director to see the engine and the object") {
            for base in cluster.directorURLs {
                guard try await cluster.get("/v1/objects", base: base).body.count > 2 else { return false }
                let engines = try JSONDecoder().decode([Cluster.EngineRow].self, from: try await cluster.get("/v1/engines", base: base).body)
                guard engines.first?.engine.isUp == true else { return false }
            }
            return true
        }

        // Sample the links table through the whole storm.
        let worst = Mutex<Int64>(0)
        let sampling = Task {
            while !Task.isCancelled {
                let value = (try? self.reserved(server, "storm"))?["core-edge"] ?? 0
                worst.withLock { $0 = max($0, value) }
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        // 90 requests over the three directors; the third director dies a third of the way in.
        let statuses = await withTaskGroup(of: Int.self) { group in
            for request in 0..<90 {
                let base = cluster.directorURLs[request % 3]
                group.addTask { await self.play(cluster, base: base, object: "movie", client: request) }
                if request == 30 { cluster.directors[2].stop(signal: SIGKILL) }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        let admittedInStorm = statuses.filter { $0 == 302 }.count
        #expect(admittedInStorm >= 1 && admittedInStorm <= Self.fitting, "statuses: \(statuses)")
        #expect(statuses.filter { $0 == 503 }.count >= 90 - 30 - Self.fitting, "the survivors answered: \(statuses)")

        // The survivors keep admitting: every lease here is unclaimed (nobody fetched the
        // streams), so they expire (initial lease: the 10 s object's duration + 2 s slack) and the killed
        // director's are swept by the others.
        try await cluster.waitUntil("every lease to end and every link to be free", timeout: .seconds(60)) {
            try self.reserved(server, "storm").values.allSatisfy { $0 == 0 } && server.psql("storm", "SELECT count(*) FROM streams") == "0"
        }
        sampling.cancel()
        await sampling.value
        #expect(worst.withLock { $0 } <= Int64(Self.fitting) * 1_000_000)
        #expect(worst.withLock { $0 } > 0)
        #expect(try server.psql("storm", "SELECT sum(streams_reserved) FROM engines") == "0")
        let ended = try server.psql("storm", "SELECT count(*) FROM usage WHERE kind = 'play'")
        #expect(Int(ended) == admittedInStorm)
        // And admitting works again, on either survivor.
        #expect(await play(cluster, base: cluster.directorURLs[0], object: "movie", client: 200) == 302)
        #expect(await play(cluster, base: cluster.directorURLs[1], object: "movie", client: 201) == 302)
    }
}
}
