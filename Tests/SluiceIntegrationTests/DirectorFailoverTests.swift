import Foundation
import SluiceCore
import SluiceTestKit
import Testing

extension IntegrationTests {
/// A director SIGKILLed while streams it admitted play: its engines report to another director
/// (learned from the shared store), the streams go on to their last byte and their usage
/// records tell the truth.
@Suite struct DirectorFailoverTests {
    /// Runs `arguments` in the background, output to `log`.
    static func launch(_ tool: String, _ arguments: [String], log: String) throws -> Process {
        FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        return process
    }

    static func finish(_ process: Process, within timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning { process.terminate() }
    }

    @Test func streamsAdmittedByAKilledDirectorPlayToTheEndThroughAnother() async throws {
        let server = try TemporaryPostgres.start()
        defer { server.stop() }
        let cluster = try Cluster(
            maxWait: "5s", leaseSlack: "3s", engineNames: ["engine-a"], store: try server.createDatabase("failover"),
            directorSettings: "claimTimeout: 10s")
        defer { cluster.stop() }
        try await cluster.addDirector()
        try await cluster.addDirector()
        // The engine is told of director 0 alone and learns director 1 from the store.
        try await cluster.startEngines()
        let (a, b) = (cluster.directorURLs[0], cluster.directorURLs[1])
        let engine = try #require(cluster.engines["engine-a"])
        try await cluster.waitUntil("the engine to learn both directors") {
            engine.log.contains("live directors listed by the store") && engine.log.contains(b)
        }
        // 4 s at 1 Mbit/s. Renewals extend a lease to now + slack; a slack of 3 s over the
        // engine's 1 s renewals leaves room for a loaded machine (at 1 s, a renewal or the end
        // report arriving a little late let the lease run out, which a CI run showed).
        let sample = try cluster.makeSample(name: "movie", seconds: 4, bitrate: 1_000_000)
        try cluster.put(sample, as: "movie")
        let original = try Data(contentsOf: URL(fileURLWithPath: sample))

        let httpOut = cluster.directory + "/http.ts"
        let rtspOut = cluster.directory + "/rtsp.ts"
        let curl = try Self.launch("/usr/bin/curl", [
            "-sS", "-L", "-o", httpOut, "-H", "Authorization: Bearer \(cluster.apiKey)", a + "/play/movie",
        ], log: cluster.directory + "/curl.log")
        defer { if curl.isRunning { curl.terminate() } }
        // Our RTSP player keeps receiving RTP when its RTSP connection drops (ffmpeg does not:
        // it ends its input quietly; see the README).
        let player = try Self.launch(Cluster.binary, [
            "play", cluster.rtspURLs[0] + "/movie?key=\(cluster.apiKey)", "--out", rtspOut, "--director", b,
        ], log: cluster.directory + "/player.log")
        defer { if player.isRunning { player.terminate() } }

        try await cluster.waitUntil("both streams to play") {
            try server.psql("failover", "SELECT count(*) FROM streams WHERE claimed AND bytes > 0") == "2"
        }
        cluster.directors[0].stop(signal: SIGKILL)
        let killedAt = ContinuousClock.now

        try await Self.finish(curl, within: .seconds(20))
        try await Self.finish(player, within: .seconds(20))
        let playerLog = (try? String(contentsOfFile: cluster.directory + "/player.log", encoding: .utf8)) ?? ""
        #expect(try Data(contentsOf: URL(fileURLWithPath: httpOut)) == original, "HTTP: every byte, in order")
        #expect(try Data(contentsOf: URL(fileURLWithPath: rtspOut)) == original, "RTSP: every byte, in order; player: \(playerLog.suffix(1500))")

        // The engine moved to director 1 at once, and director 1 renewed and ended the streams.
        let failover = try #require(engine.log.components(separatedBy: "\n").first { $0.contains("director failover") })
        #expect(failover.contains("to=\(b)"), "\(failover)")
        let metrics = MetricsTests.samples(String(decoding: try await cluster.get("/metrics", base: b).body, as: UTF8.self))
        #expect((metrics["sluice_leases_total{event=\"renewed\"}"] ?? 0) > 0, "renewals through director 1")
        try await cluster.waitUntil("both usage records", timeout: .seconds(10)) {
            try server.psql("failover", "SELECT count(*) FROM usage WHERE kind = 'play'") == "2"
        }
        let records = try server.psql("failover", "SELECT bytes, end_reason, director FROM usage WHERE kind = 'play' ORDER BY stream_id")
        for record in records.split(separator: "\n") {
            #expect(record == "\(original.count)|completed|director0", "usage: \(records)")
        }
        #expect(try server.psql("failover", "SELECT coalesce(sum(reserved_bps), 0) FROM links") == "0")
        #expect(ContinuousClock.now - killedAt < .seconds(20))
    }

    /// One director plans replication for the cluster, from the demand every director saw: here
    /// the planner's own requests were all admitted, and only the other director's waited, yet
    /// the planner copies the object (and only it does), and the waiting viewers play from the
    /// copy. When the planner dies, the other plans.
    @Test func onePlannerCopiesForDemandSeenElsewhereAndAnotherTakesOverWhenItDies() async throws {
        let server = try TemporaryPostgres.start()
        defer { server.stop() }
        // engine-a sends two 1 Mbit/s streams; the uplink rule is off, so only waiting requests
        // (overload) can ask for a copy.
        let cluster = try Cluster(
            maxWait: "30s", store: try server.createDatabase("planner"), engineLinks: ["engine-a": "2200000"],
            extraLinks: ["{ name: backbone, from: engine-a, to: engine-b, capacity: 1Gbit }"],
            extraYAML: """
                replication:
                  window: 10s
                  overloadRequests: 2
                  uplinkThreshold: 1
                  copyRate: 20Mbit

                """)
        defer { cluster.stop() }
        try await cluster.addDirector()
        try await cluster.addDirector()
        try await cluster.startEngines()
        @Sendable func plans(_ base: String) async -> Bool {
            guard let body = try? await cluster.get("/metrics", base: base).body else { return false }
            return MetricsTests.samples(String(decoding: body, as: UTF8.self))["sluice_replication_planner"] == 1
        }
        try await cluster.waitUntil("one director to plan") {
            var planners = 0
            for base in cluster.directorURLs where await plans(base) { planners += 1 }
            return planners == 1
        }
        let plannerIndex = await plans(cluster.directorURLs[0]) ? 0 : 1
        let (planner, other) = (cluster.directorURLs[plannerIndex], cluster.directorURLs[1 - plannerIndex])
        let sample = try cluster.makeSample(name: "clip", seconds: 3, bitrate: 1_000_000)
        try cluster.put(sample, as: "clip")
        let original = try Data(contentsOf: URL(fileURLWithPath: sample))
        try await cluster.waitUntil("both directors to list the clip") {
            for base in cluster.directorURLs where try await cluster.get("/v1/objects/clip", base: base).status != 200 { return false }
            return true
        }

        @Sendable func play(_ base: String) async throws -> Data {
            let reply = try await cluster.get("/play/clip?maxWait=30", base: base)
            guard reply.status == 302, let location = reply.headers.first(where: { $0.0.lowercased() == "location" })?.1 else {
                return Data("status \(reply.status)".utf8)
            }
            return try await cluster.get("", headers: [], base: location).body
        }
        // Two admitted through the planner fill engine-a (their grants are not used, so their
        // reservations stay until the claim timeout); two through the other director wait.
        for _ in 0..<2 { #expect(try await cluster.get("/play/clip", base: planner).status == 302) }
        async let third = play(other)
        async let fourth = play(other)
        let played = try await [third, fourth]
        #expect(played.allSatisfy { $0 == original }, "the waiting viewers got the clip: \(played.map(\.count))")
        let plannerLog = cluster.directors[plannerIndex].log
        let otherLog = cluster.directors[1 - plannerIndex].log
        #expect(plannerLog.components(separatedBy: "object in demand: copying").count == 2, "the planner ordered one copy")
        #expect(!otherLog.contains("object in demand: copying"), "the other director ordered none")
        #expect(try server.psql("planner", "SELECT engine FROM replicas WHERE object = 'clip' ORDER BY engine") == "engine-a\nengine-b")

        cluster.directors[plannerIndex].stop(signal: SIGKILL)
        let killed = ContinuousClock.now
        try await cluster.waitUntil("the other director to plan", timeout: .seconds(10)) { await plans(other) }
        #expect(ContinuousClock.now - killed < .seconds(5))
        #expect(cluster.directors[1 - plannerIndex].log.contains("replication planner: this director plans copies"))
    }

    /// RTSP sessions live in the shared store: a player whose director died controls its
    /// session through another (with its own credentials only), and a session nobody comes
    /// back for is taken over by a survivor and timed out, its path freed.
    @Test func anRTSPSessionIsControlledThroughAnotherDirectorAfterItsDirectorDies() async throws {
        let server = try TemporaryPostgres.start()
        defer { server.stop() }
        let cluster = try Cluster(
            maxWait: "5s", engineNames: ["engine-a"], rtspSessionTimeout: "3s", store: try server.createDatabase("sessions"),
            directorSettings: "claimTimeout: 10s")
        defer { cluster.stop() }
        try await cluster.addDirector()
        try await cluster.addDirector()
        // Told of both directors (`--director` twice), the engine needs nothing from the store.
        try await cluster.startEngines(directors: cluster.directorURLs)
        try cluster.put(try cluster.makeSample(name: "clip", seconds: 20, bitrate: 500_000), as: "clip")

        func setUpAndPlay(_ rtsp: RTSPConnection, _ receiver: UDPArrivals) throws -> (session: String, streamID: UInt32) {
            let setup = try rtsp.send("SETUP", "Transport: RTP/AVP;unicast;client_port=\(receiver.port)-\(receiver.port + 1)\r\n").reply
            #expect(setup.hasPrefix("RTSP/1.0 200"), "\(setup)")
            let session = try #require(RTSPConnection.sessionID(in: setup))
            let ssrc = try #require(setup.split(separator: "ssrc=").last?.prefix(8)).description
            #expect(try rtsp.send("PLAY", "Session: \(session)\r\n").reply.hasPrefix("RTSP/1.0 200"))
            return (session, try #require(UInt32(ssrc, radix: 16)))
        }
        let (kept, keptRTCP) = try UDPArrivals.pair()
        let (abandoned, abandonedRTCP) = try UDPArrivals.pair()
        defer { for receiver in [kept, keptRTCP, abandoned, abandonedRTCP] { receiver.close() } }
        let first = try RTSPConnection(url: cluster.rtspURLs[0] + "/clip", key: cluster.apiKey)
        let second = try RTSPConnection(url: cluster.rtspURLs[0] + "/clip", key: cluster.apiKey)
        defer { first.close(); second.close() }
        let (session, streamID) = try setUpAndPlay(first, kept)
        let (abandonedSession, abandonedID) = try setUpAndPlay(second, abandoned)
        try await cluster.waitUntil("both streams to arrive") { kept.count > 20 && abandoned.count > 20 }
        cluster.directors[0].stop(signal: SIGKILL)

        // The player comes back through director 1 with the session it had.
        let other = try RTSPConnection(url: cluster.rtspURLs[1] + "/clip", key: cluster.apiKey)
        let stranger = try RTSPConnection(url: cluster.rtspURLs[1] + "/clip", key: nil)
        defer { other.close(); stranger.close() }
        let anonymous = try stranger.send("PAUSE", "Session: \(session)\r\n").reply
        #expect(anonymous.hasPrefix("RTSP/1.0 401"), "a session ID alone controls nothing: \(anonymous)")
        #expect(try other.send("GET_PARAMETER", "Session: \(session)\r\n").reply.hasPrefix("RTSP/1.0 200"))
        let pause = try other.send("PAUSE", "Session: \(session)\r\n").reply
        #expect(pause.hasPrefix("RTSP/1.0 200"), "\(pause)")
        try await Task.sleep(for: .milliseconds(300))
        let paused = kept.count
        try await Task.sleep(for: .seconds(1))
        #expect(kept.count == paused, "the engine paused on the PAUSE sent through director 1")
        #expect(try other.send("PLAY", "Session: \(session)\r\n").reply.hasPrefix("RTSP/1.0 200"))
        try await cluster.waitUntil("packets again") { kept.count > paused + 10 }
        #expect(try other.send("GET_PARAMETER", "Session: 0123456789abcdef\r\n").reply.hasPrefix("RTSP/1.0 454"))
        #expect(try other.send("TEARDOWN", "Session: \(session)\r\n").reply.hasPrefix("RTSP/1.0 200"))

        // Nobody came back for the other session: director 1 takes it over and times it out.
        try await cluster.waitUntil("both usage records", timeout: .seconds(20)) {
            try server.psql("sessions", "SELECT count(*) FROM usage WHERE kind = 'play'") == "2"
        }
        #expect(try server.psql("sessions", "SELECT end_reason FROM usage WHERE stream_id = \(streamID)") == "player_stopped")
        let usage = try server.psql("sessions", "SELECT * FROM usage")
        #expect(
            try server.psql("sessions", "SELECT end_reason FROM usage WHERE stream_id = \(abandonedID)") == "client_gone",
            "\(usage)\n\(cluster.directors[1].log.suffix(3000))\nengine:\n\(cluster.engines["engine-a"]?.log.suffix(3000) ?? "")")
        #expect(cluster.directors[1].log.contains("rtsp session taken over from a director that stopped"), "\(abandonedSession)")
        #expect(try server.psql("sessions", "SELECT coalesce(sum(reserved_bps), 0) FROM links") == "0")
        try await cluster.waitUntil("the sessions to leave the store") {
            try server.psql("sessions", "SELECT count(*) FROM rtsp_sessions") == "0"
        }
    }
}
}
