import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceCore
import Testing

extension IntegrationTests {
/// A grant opens media only while its stream's lease lives, and only one connection at a time:
/// once the stream ended (played out, torn down, never claimed) the engine answers 410 with no
/// media, whatever Range is asked.
@Suite struct GrantLifetimeTests {
    func location(_ reply: (status: Int, headers: [(String, String)], body: Data)) throws -> String {
        try #require(reply.headers.first { $0.0.lowercased() == "location" }?.1, "HTTP \(reply.status): \(String(decoding: reply.body, as: UTF8.self))")
    }

    @Test func aGrantDiesWithItsStream() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"], directorSettings: "claimTimeout: 2s")
        defer { cluster.stop() }
        try await cluster.start()
        let source = try cluster.makeSample(name: "clip", seconds: 1, bitrate: 1_000_000)
        try cluster.put(source, as: "clip")
        let size = try #require(FileManager.default.contents(atPath: source)).count
        @Sendable func live() async throws -> [LiveStream] { try await cluster.json([LiveStream].self, "/v1/streams") }

        // Played to the end: after the reconnect grace the stream ends, and its grant with it.
        let played = try location(try await cluster.get("/play/clip"))
        let whole = try await cluster.get("", headers: [], base: played)
        #expect(whole.status == 200 && whole.body.count == size)
        try await cluster.waitUntil("the played stream to end") { try await live().isEmpty }
        for range in ["bytes=0-", "bytes=\(size - 16384)-", "bytes=1000-2000"] {
            let again = try await cluster.get("", headers: [("Range", range)], base: played)
            #expect(again.status == 410, "\(range): HTTP \(again.status)")
            #expect(!again.body.contains(0x47) || again.body.count < 188, "media in a refusal")
        }

        // Torn down by the operator while nothing was connected: 410 on the next connection.
        let tornDown = try location(try await cluster.get("/play/clip"))
        let tornDownID = try #require(try await live().first?.id)
        #expect(try await cluster.request(.DELETE, "/v1/streams/\(tornDownID)").status < 300)
        #expect(try await cluster.get("", headers: [("Range", "bytes=0-187")], base: tornDown).status == 410)

        // Never claimed within the claim timeout: released, and its grant opens nothing. A HEAD
        // sends no media and does not count as the player coming.
        let unclaimed = try location(try await cluster.get("/play/clip"))
        #expect(try await cluster.request(.HEAD, "", headers: [], base: unclaimed).status == 200)
        #expect(try await live().first?.isClaimed == false)
        // Its record is written just after it leaves the live set: wait for that, not the first.
        try await cluster.waitUntil("the unclaimed stream to be released and recorded") {
            guard try await live().isEmpty else { return false }
            return String(decoding: try await cluster.get("/v1/usage?format=csv").body, as: UTF8.self).contains("unclaimed")
        }
        #expect(try await cluster.get("", headers: [("Range", "bytes=0-187")], base: unclaimed).status == 410)
    }

    @Test func twoConnectionsOnOneGrantNeverBothReceive() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"], reconnectGrace: "2s")
        defer { cluster.stop() }
        try await cluster.start()
        let source = try cluster.makeSample(name: "clip", seconds: 4, bitrate: 1_000_000)
        try cluster.put(source, as: "clip")
        let bytes = try #require(FileManager.default.contents(atPath: source))
        let url = try location(try await cluster.get("/play/clip"))

        // The first connection reads; a second one on the same grant supersedes it (a seek):
        // the first stops short and the second gets what it asked.
        let first = Task { () -> Int in
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            let response = try await Cluster.client.execute(request, timeout: .seconds(30))
            var received = 0
            do { for try await part in response.body { received += part.readableBytes } } catch {}
            return received
        }
        try await Task.sleep(for: .milliseconds(800))
        let second = try await cluster.get("", headers: [("Range", "bytes=0-")], base: url)
        let firstReceived = try await first.value
        #expect(second.status == 206 && second.body == bytes)
        #expect(firstReceived < bytes.count / 2, "the superseded connection got \(firstReceived) of \(bytes.count) bytes")

        // Eight parallel Range requests on one grant share the stream's one bucket: together
        // they get no more than its rate, however they split the object.
        let url2 = try location(try await cluster.get("/play/clip"))
        let rate = try #require(try await cluster.json([LiveStream].self, "/v1/streams").first { !$0.isClaimed }).reservation.bitsPerSecond
        let window = Duration.milliseconds(1500)
        let started = ContinuousClock.now
        let received = try await withThrowingTaskGroup(of: Int.self) { group in
            for part in 0..<8 {
                group.addTask {
                    var request = HTTPClientRequest(url: url2)
                    request.headers.add(name: "Range", value: "bytes=\(part * 65536)-\(part * 65536 + 65535)")
                    guard let response = try? await Cluster.client.execute(request, timeout: .seconds(30)) else { return 0 }
                    var count = 0
                    do {
                        for try await chunk in response.body {
                            if ContinuousClock.now - started > window { break }
                            count += chunk.readableBytes
                        }
                    } catch {}
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        let allowed = Int(Double(rate) / 8 * window.seconds) + 64 << 10
        #expect(received <= allowed, "8 connections got \(received) bytes in \(window) at \(rate) bit/s (allowed \(allowed))")
    }
}
}
