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
            maxWait: "5s", leaseSlack: "1s", engineNames: ["engine-a"], store: try server.createDatabase("failover"),
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
        // 6 s at 1 Mbit/s: the initial lease (duration + 1 s) runs out before the end, so the
        // streams live only if their leases are renewed through director 1.
        let sample = try cluster.makeSample(name: "movie", seconds: 6, bitrate: 1_000_000)
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
}
}
