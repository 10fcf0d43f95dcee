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

    func makeCluster(_ server: TemporaryPostgres, database: String, coreEdge: String = "\(Self.fitting)Mbit", claimTimeout: String = "60s", leaseSlack: String = "2s") throws -> Cluster {
        let url = try server.createDatabase(database)
        return try Cluster(
            coreEdge: coreEdge, maxWait: "20s", leaseSlack: leaseSlack, engineNames: ["engine-a"], store: url,
            directorSettings: "rateHeadroom: 0\n  claimTimeout: \(claimTimeout)")
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
    func play(_ cluster: Cluster, base: String, object: String, maxWait: Int = 0) async -> Int {
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
                group.addTask { await self.play(cluster, base: base, object: "movie") }
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
        #expect(await play(cluster, base: cluster.directorURLs[0], object: "movie") == 302)
        #expect(await play(cluster, base: cluster.directorURLs[1], object: "movie") == 302)
    }

    /// Once the bottleneck is free, director 1 admits a stream nobody claims (it holds the only
    /// slot for the claim timeout) and director 0 sees the slot taken: it cannot queue.
    func takeTheOnlySlot(_ cluster: Cluster, _ server: TemporaryPostgres, before player: String) async throws {
        // Free in the store, and in director 1's own view (it learns of other directors' ends
        // from the store's notifications, a moment later).
        try await cluster.waitUntil("the bottleneck to be free before \(player)", timeout: .seconds(30)) {
            guard try self.reserved(server, "handoff")["core-edge"] == 0 else { return false }
            return try JSONDecoder().decode([Cluster.LinkRow].self, from: try await cluster.get("/v1/links", base: cluster.directorURLs[1]).body)
                .first { $0.name == "core-edge" }?.reservedBitsPerSecond == 0
        }
        #expect(await play(cluster, base: cluster.directorURLs[1], object: "clip") == 302)
        try await cluster.waitUntil("director 0 to see the slot taken") {
            try JSONDecoder().decode([Cluster.LinkRow].self, from: try await cluster.get("/v1/links", base: cluster.directorURLs[0]).body)
                .first { $0.name == "core-edge" }?.reservedBitsPerSecond ?? 0 > 0
        }
    }

    /// Director 0 has no queue; director 1 has one. While a stream holds the only slot, a
    /// request to director 0 is handed to director 1 (HTTP 307, RTSP 302 at DESCRIBE), where it
    /// waits for the slot and plays. ffmpeg and GStreamer follow the redirect (VLC, see below).
    /// Engines register with director 0; director 1 orders a copy: the target reports to
    /// director 1, and both directors list the new replica (from the shared catalog).
    @Test func aCopyOrderedByAnotherDirectorIsListedEverywhere() async throws {
        let server = try TemporaryPostgres.start()
        defer { server.stop() }
        let url = try server.createDatabase("copy")
        let cluster = try Cluster(engineNames: ["engine-a", "engine-b"], store: url)
        defer { cluster.stop() }
        for _ in 0..<2 { try await cluster.addDirector() }
        try await cluster.startEngines()
        try cluster.put(try cluster.makeSample(name: "movie", seconds: 2, bitrate: 1_000_000), as: "movie")
        try await cluster.waitUntil("director 1 to see both engines and the object") {
            let engines = try JSONDecoder().decode([Cluster.EngineRow].self, from: try await cluster.get("/v1/engines", base: cluster.directorURLs[1]).body)
            let object = try await cluster.get("/v1/objects/movie", base: cluster.directorURLs[1])
            return engines.filter(\.engine.isUp).count == 2 && object.status == 200
        }
        let copy = try cluster.run(["replicate", "movie", "--to", "engine-b", "--director", cluster.directorURLs[1], "--key", cluster.apiKey])
        #expect(copy.status == 0, "\(copy.output)")
        try await cluster.waitUntil("both directors to list the replica") {
            for base in cluster.directorURLs {
                let body = try await cluster.get("/v1/objects/movie", base: base).body
                guard String(decoding: body, as: UTF8.self).contains("\"engine\":\"engine-b\"") else { return false }
            }
            return true
        }
        #expect(try server.psql("copy", "SELECT engine, kind FROM replicas ORDER BY engine") == "engine-a|static\nengine-b|static")
        // The holder reports the end of its send after its reconnect grace.
        try await cluster.waitUntil("the copy's lease to end") {
            try server.psql("copy", "SELECT kind, end_reason FROM usage WHERE kind = 'copy'") == "copy|completed"
        }
        #expect(try reserved(server, "copy").values.allSatisfy { $0 == 0 })
    }

    @Test func aDirectorWithAFullQueueHandsClientsToOneWithRoom() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: RTSPInteropTests.ffmpeg), "ffmpeg is not installed; .ci/run installs it")
        let server = try TemporaryPostgres.start()
        defer { server.stop() }
        // One ~0.7 Mbit/s clip fits the 1 Mbit/s bottleneck; an unclaimed stream holds it 3 s.
        let cluster = try makeCluster(server, database: "handoff", coreEdge: "1Mbit", claimTimeout: "3s", leaseSlack: "20s")
        defer { cluster.stop() }
        try await cluster.addDirector(extraSettings: "maxQueueLength: 0")
        try await cluster.addDirector()
        try await cluster.startEngines()
        let source = try RTSPInteropTests.video(cluster, name: "clip", seconds: 3)
        let size = try #require(FileManager.default.contents(atPath: source)).count
        try await cluster.waitUntil("director 1 to see the engine and director 0 to see director 1") {
            let engines = try JSONDecoder().decode([Cluster.EngineRow].self, from: try await cluster.get("/v1/engines", base: cluster.directorURLs[1]).body)
            let seen = try server.psql("handoff", "SELECT count(*) FROM directors")
            return engines.first?.engine.isUp == true && seen == "2"
        }
        try await Task.sleep(for: .seconds(1.5))  // each director reads the others' presence once a second

        // HTTP: 307 to the same request on director 1.
        #expect(await play(cluster, base: cluster.directorURLs[1], object: "clip") == 302)
        let handed = try await cluster.get("/play/clip?maxWait=5", base: cluster.directorURLs[0])
        #expect(handed.status == 307)
        let location = handed.headers.first { $0.0.lowercased() == "location" }?.1 ?? ""
        #expect(location.hasPrefix(cluster.directorURLs[1] + "/play/clip?maxWait=5"), "\(location)")
        #expect(location.hasSuffix("handedOff=1"))

        let url = cluster.rtspURLs[0] + "/clip?key=\(cluster.apiKey)"
        let home = cluster.directory + "/vlc-home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        chmod(cluster.directory, 0o755)
        chmod(home, 0o777)
        let players: [(name: String, tool: String, arguments: (String) -> [String])] = [
            ("ffmpeg", RTSPInteropTests.ffmpeg, { out in
                ["-hide_banner", "-loglevel", "error", "-timeout", "20000000", "-rtsp_transport", "udp", "-i", url, "-c", "copy", "-f", "mpegts", out]
            }),
            ("gstreamer", RTSPInteropTests.gstreamer, { out in
                ["-q", "rtspsrc", "location=\(url)", "protocols=udp", "!", "rtpmp2tdepay", "!", "filesink", "location=\(out)"]
            }),
        ]
        for (round, player) in players.enumerated() {
            try await takeTheOnlySlot(cluster, server, before: player.name)
            let out = cluster.directory + "/\(player.name).ts"
            let played = try Cluster.runTool(player.tool, player.arguments(out))
            let ownShutdownRace = player.name == "gstreamer" && played.output.contains("Received end-of-file")
            #expect(played.status == 0 || ownShutdownRace, "\(player.name): \(played.output.suffix(2000))")
            do {
                try await cluster.waitUntil("\(player.name)'s stream to end on director 1", timeout: .seconds(30)) {
                    try server.psql("handoff", "SELECT count(*) FROM usage WHERE kind = 'play' AND director = 'director1' AND bytes = \(size)") == "\(round + 1)"
                }
            } catch {
                let usage = (try? server.psql("handoff", "SELECT stream_id, director, bytes, end_reason FROM usage")) ?? ""
                Issue.record("usage (file \(size) bytes):\n\(usage)\ndirector 0:\n\(cluster.directors[0].log.suffix(3000))\ndirector 1:\n\(cluster.directors[1].log.suffix(3000))")
                throw error
            }
            #expect(cluster.directors[0].log.components(separatedBy: "rtsp request handed to another director").count - 1 == round + 1)
        }
        #expect(try server.psql("handoff", "SELECT count(*) FROM usage WHERE kind = 'play' AND director = 'director0'") == "0")

        // Debian's VLC 3 sends SETUP without a DESCRIBE and does not follow a redirect of SETUP:
        // it gets the 302 there, gives up and exits; nothing is left booked for it.
        try await takeTheOnlySlot(cluster, server, before: "vlc")
        let vlc = try Cluster.runTool("/usr/bin/setpriv", [
            "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/env", "HOME=\(home)", "/usr/bin/timeout", "60",
            RTSPInteropTests.vlc, "-I", "dummy", "--play-and-exit", "--vout=dummy", "--aout=dummy", url,
        ])
        #expect(vlc.status == 0, "\(vlc.output.suffix(2000))")
        #expect(cluster.directors[0].log.components(separatedBy: "rtsp request handed to another director").count - 1 == players.count + 1)
        try await cluster.waitUntil("nothing booked once the unclaimed stream is released", timeout: .seconds(30)) {
            try self.reserved(server, "handoff")["core-edge"] == 0
        }
        #expect(try server.psql("handoff", "SELECT count(*) FROM usage WHERE kind = 'play' AND bytes > 0") == "\(players.count)")
    }
}
}
