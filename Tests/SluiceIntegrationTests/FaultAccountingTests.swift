import AsyncHTTPClient
import Crypto
import Foundation
import SluiceCore
import Testing

extension IntegrationTests {
/// Usage records tell the truth after faults: a director SIGKILLed and restarted mid-stream
/// loses no stream and no byte, and a revoked stream is billed what its viewer got.
@Suite struct FaultAccountingTests {
    func location(_ reply: (status: Int, headers: [(String, String)], body: Data)) throws -> String {
        try #require(reply.headers.first { $0.0.lowercased() == "location" }?.1, "HTTP \(reply.status)")
    }

    /// Reads `url` to the end (or until cut), counting bytes; the SHA-256 of what came.
    static func download(_ url: String) async -> (bytes: Int, sha256: String, completed: Bool) {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        var hasher = SHA256()
        var count = 0
        do {
            let response = try await Cluster.client.execute(request, timeout: .seconds(60))
            for try await part in response.body {
                count += part.readableBytes
                part.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            }
            return (count, hasher.finalize().map { String(format: "%02x", $0) }.joined(), true)
        } catch {
            return (count, hasher.finalize().map { String(format: "%02x", $0) }.joined(), false)
        }
    }

    @Test func aDirectorKilledMidStreamComesBackAndTheStreamAndItsRecordAreWhole() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        let source = try cluster.makeSample(name: "clip", seconds: 6, bitrate: 1_000_000)
        try cluster.put(source, as: "clip")
        let bytes = try #require(FileManager.default.contents(atPath: source))
        let sha = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        // The director comes back on the same port, where the engine looks for it.
        let port = try #require(URLComponents(string: cluster.directorURL)?.port)
        let yaml = try String(contentsOfFile: cluster.configPath, encoding: .utf8)
        try yaml.replacingOccurrences(of: "  listen: 127.0.0.1:0", with: "  listen: 127.0.0.1:\(port)").write(toFile: cluster.configPath, atomically: true, encoding: .utf8)

        // An RTSP stream of 3 s ends (its last packet, then SR+BYE 2.5 s later) while the
        // director is down: the engine reports its end again until the director is back.
        let short = try cluster.makeSample(name: "short", seconds: 3, bitrate: 500_000)
        try cluster.put(short, as: "short")
        let shortBytes = try #require(FileManager.default.contents(atPath: short))
        let (arrivals, rtcp) = try UDPArrivals.pair()
        defer { arrivals.close(); rtcp.close() }
        let rtsp = try RTSPConnection(url: cluster.rtspURL + "/short", key: cluster.apiKey)
        defer { rtsp.close() }
        let setup = try rtsp.send("SETUP", "Transport: RTP/AVP;unicast;client_port=\(arrivals.port)-\(arrivals.port + 1)\r\n").reply
        let session = try #require(RTSPConnection.sessionID(in: setup), "\(setup)")
        #expect(try rtsp.send("PLAY", "Session: \(session)\r\n").reply.hasPrefix("RTSP/1.0 200"))

        let url = try location(try await cluster.get("/play/clip"))
        let player = Task { await Self.download(url) }
        try await Task.sleep(for: .seconds(2))
        cluster.director?.stop(signal: SIGKILL)
        try await Task.sleep(for: .seconds(4.5))
        try await cluster.startDirector()
        let received = await player.value
        #expect(received.completed && received.sha256 == sha, "the viewer got \(received.bytes) of \(bytes.count) bytes")
        try await cluster.waitUntil("the usage record", timeout: .seconds(20)) {
            try await cluster.json([UsageRecord].self, "/v1/usage").contains { $0.object == "clip" && $0.kind == .play }
        }
        let records = try await cluster.json([UsageRecord].self, "/v1/usage").filter { $0.object == "clip" && $0.kind == .play }
        #expect(records.count == 1, "\(records)")
        #expect(records.first?.bytes == Int64(bytes.count) && records.first?.endReason == .completed, "\(records)")
        try await cluster.waitUntil("the RTSP stream's usage record", timeout: .seconds(10)) {
            try await cluster.json([UsageRecord].self, "/v1/usage").contains { $0.object == "short" }
        }
        let rtspRecord = try #require(try await cluster.json([UsageRecord].self, "/v1/usage").first { $0.object == "short" })
        #expect(rtspRecord.bytes == Int64(shortBytes.count) && rtspRecord.endReason == .completed, "\(rtspRecord)")
        // Renewals failing meanwhile never held the packets up (about 47 a second are due).
        let times = arrivals.arrivals
        let gap = zip(times.dropFirst(), times).map { $0 - $1 }.max() ?? .zero
        #expect(times.count > 100 && gap < .milliseconds(500), "\(times.count) packets, longest gap \(gap)")
        #expect(try await cluster.links().values.allSatisfy { $0.reservedBitsPerSecond == 0 })
    }

    @Test func aRevokedStreamIsBilledWhatItsViewerReceived() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "long", seconds: 30, bitrate: 1_000_000), as: "long")
        let viewer = try AccessTests.user(cluster, "vic", role: "viewer")
        let url = try location(try await cluster.request(.GET, "/play/long", headers: [("Authorization", "Bearer \(viewer.key)")]))
        let player = Task { await Self.download(url) }
        try await Task.sleep(for: .milliseconds(2500))
        #expect(try cluster.run(["user", "revoke", "vic", "--director", cluster.directorURL, "--key", cluster.apiKey]).status == 0)
        let received = await player.value
        #expect(!received.completed)
        let record = try #require(try await cluster.json([UsageRecord].self, "/v1/usage").first { $0.object == "long" && $0.kind == .play })
        #expect(record.endReason == .revoked)
        // At most one chunk in flight when the engine stopped.
        #expect(abs(record.bytes - Int64(received.bytes)) <= 64 << 10, "billed \(record.bytes), received \(received.bytes)")
    }
}
}
