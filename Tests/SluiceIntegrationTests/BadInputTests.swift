import Crypto
import Foundation
import SluiceClient
import SluiceCore
import SluiceGrant
import Testing

extension IntegrationTests {
/// Garbage, forgeries, range abuse and cut-off uploads: each gets a clear error, nothing
/// half-written is listed, and the servers keep serving.
@Suite struct BadInputTests {
    static func sha256(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    func location(_ reply: (status: Int, headers: [(String, String)], body: Data)) throws -> String {
        try #require(reply.headers.first { $0.0.lowercased() == "location" }?.1)
    }

    @Test func malformedAndOversizedRequestsAreRefusedAndServingGoesOn() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        let engineURL = try #require(cluster.engineURLs["engine-a"])
        for url in [cluster.directorURL, engineURL] {
            let garbage = try RawTCP.exchange(url: url, bytes: Array("GARBAGE\u{1}\u{2} nonsense\r\n\r\n".utf8))
            #expect(garbage.isEmpty || garbage.hasPrefix("HTTP/1.1 400"), "\(garbage.prefix(200))")
            let hugeHeader = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 300_000) + "\r\n\r\n"
            let oversized = try RawTCP.exchange(url: url, bytes: Array(hugeHeader.utf8))
            #expect(!oversized.hasPrefix("HTTP/1.1 200"), "\(oversized.prefix(200))")
            let healthy = try await cluster.get("/healthz", headers: [], base: url)
            #expect(healthy.status == 200)
        }

        #expect(try await cluster.get("/play/anything", headers: []).status == 401)
        #expect(try await cluster.get("/play/anything", headers: [("Authorization", "Bearer wrong")]).status == 401)
        let unknown = try await cluster.get("/play/nothing-here")
        #expect(unknown.status == 404)
        #expect(try JSONDecoder().decode(ClusterMessages.Problem.self, from: unknown.body).error == "unknown_object")
        #expect(try await cluster.get("/play/.hidden").status == 400)
        #expect(try await cluster.request(.DELETE, "/v1/streams/notanumber").status == 400)
        #expect(try await cluster.request(.POST, "/v1/engines/register", body: Data("{}".utf8)).status == 401)
        #expect(try await cluster.request(.POST, "/v1/uploads", body: Data("not json".utf8)).status == 400)
        #expect(try await cluster.get("/v1/usage?format=xml").status == 400)
    }

    @Test func forgedAndMisusedGrantsGet403AndRangeAbuseGetsAClearAnswer() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        let source = try cluster.makeSample(name: "clip", seconds: 2, bitrate: 1_000_000)
        try cluster.put(source, as: "clip")
        let size = try #require(FileManager.default.contents(atPath: source)).count
        let engineURL = try #require(cluster.engineURLs["engine-a"])

        #expect(try await cluster.get("/stream/clip", headers: [], base: engineURL).status == 403)
        #expect(try await cluster.get("/stream/clip?grant=forged.grant", headers: [], base: engineURL).status == 403)
        let url = try location(try await cluster.get("/play/clip"))
        let grant = String(url[try #require(url.range(of: "grant=")).upperBound...])
        let tampered = String(grant.dropLast(2)) + (grant.hasSuffix("AA") ? "BB" : "AA")
        #expect(try await cluster.get("/stream/clip?grant=\(tampered)", headers: [], base: engineURL).status == 403)
        #expect(try await cluster.get("/stream/other?grant=\(grant)", headers: [], base: engineURL).status == 403)

        let beyond = try await cluster.get("", headers: [("Range", "bytes=\(size + 10)-")], base: url)
        #expect(beyond.status == 416)
        #expect(beyond.headers.contains { $0.0.lowercased() == "content-range" && $0.1 == "bytes */\(size)" })
        #expect(try await cluster.get("", headers: [("Range", "bytes=0-1,5-9")], base: url).status == 416)
        #expect(try await cluster.get("", headers: [("Range", "bytes=zz-")], base: url).status == 400)
        #expect(try await cluster.get("", headers: [("Range", "bytes=" + String(repeating: "9", count: 400) + "-")], base: url).status == 400)
        let part = try await cluster.get("", headers: [("Range", "bytes=188-375")], base: url)
        #expect(part.status == 206)
        #expect(part.body == FileManager.default.contents(atPath: source)?.subdata(in: 188..<376))
    }

    /// Grants the engine must refuse on its own (the director is never asked): signed with
    /// another secret, for another object, for another client address, expired. Over HTTP the
    /// answer is a 403 with no media; over RTP no session is opened and no packet arrives.
    @Test func theEngineRefusesForgedForeignAndExpiredGrantsAndSendsNothing() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "clip", seconds: 2, bitrate: 1_000_000), as: "clip")
        let engineURL = try #require(cluster.engineURLs["engine-a"])
        let signer = GrantSigner(secret: "integration-test-secret-0123456789")
        let now = SystemClock().now()
        func grant(object: String = "clip", client: String = "127.0.0.1", expires: Timestamp? = nil) -> StreamGrant {
            StreamGrant(
                streamID: 4_000_001, action: .play, object: object, engine: "engine-a", bitsPerSecond: 1_200_000,
                clientAddress: client, expiresAt: expires ?? now + .seconds(60))
        }
        let cases: [(String, String)] = [
            ("forged", GrantSigner(secret: "not-the-cluster-secret-at-all").sign(grant())),
            ("another object", signer.sign(grant(object: "other"))),
            ("another client address", signer.sign(grant(client: "10.1.2.3"))),
            ("expired", signer.sign(grant(expires: now - .seconds(1)))),
        ]
        let expected = ["forged": "signature", "another object": "another object", "another client address": "another client", "expired": "expired"]
        for (name, token) in cases {
            let reply = try await cluster.get("/stream/clip?grant=\(token)", headers: [], base: engineURL)
            #expect(reply.status == 403, "\(name): HTTP \(reply.status)")
            let text = String(decoding: reply.body.prefix(300), as: UTF8.self)
            #expect(text.contains(expected[name] ?? "?"), "\(name): \(text)")
            #expect(!reply.body.contains(0x47) || reply.body.count < 188, "\(name): media bytes in a refusal")
        }
        // RTP: the director asks for a session to a player's ports; a bad grant opens none.
        let listener = try await RTPListener.bind(count: 2)
        for (name, token) in cases {
            let request = ClusterMessages.RTPSessionRequest(
                grant: token, object: "clip", clientHost: "127.0.0.1", clientRTPPort: UInt16(listener.ports[0]), clientRTCPPort: UInt16(listener.ports[1]))
            let reply = try await cluster.request(
                .POST, "/v1/rtp/sessions", body: try JSONEncoder().encode(request), headers: [("Authorization", "Bearer \(cluster.engineToken)"), ("Content-Type", "application/json")],
                base: engineURL)
            #expect(reply.status == 403, "rtp \(name): HTTP \(reply.status)")
            let play = try await cluster.request(
                .POST, "/v1/rtp/sessions/4000001/play", body: Data("{\"countsFromFirstPTS\":false}".utf8),
                headers: [("Authorization", "Bearer \(cluster.engineToken)"), ("Content-Type", "application/json")], base: engineURL)
            #expect(play.status == 404, "rtp \(name): a session exists")
        }
        let received = try await listener.receive(for: .milliseconds(500))
        #expect(received.allSatisfy { $0.bytes == 0 }, "packets arrived: \(received.map(\.bytes))")
        // The engine still serves a grant from the director.
        let url = try location(try await cluster.get("/play/clip"))
        #expect(try await cluster.get("", headers: [("Range", "bytes=0-187")], base: url).status == 206)
    }

    @Test func cutOffCorruptAndForeignUploadsAreNeverListed() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        let source = try cluster.makeSample(name: "clip", seconds: 2, bitrate: 1_000_000)
        let bytes = try #require(FileManager.default.contents(atPath: source))

        func admit(_ name: String, size: Int, sha: String) async throws -> String {
            let body = try JSONEncoder().encode(ClusterMessages.UploadRequest(name: name, sizeBytes: Int64(size), sha256: sha))
            let reply = try await cluster.request(.POST, "/v1/uploads", body: body)
            try #require(reply.status == 201, "\(String(decoding: reply.body, as: UTF8.self))")
            return try JSONDecoder().decode(ClusterMessages.UploadTicket.self, from: reply.body).uploadURL
        }

        // Cut off halfway: the engine sees the connection close before Content-Length bytes.
        let cutURL = try await admit("clip", size: bytes.count, sha: Self.sha256(bytes))
        let path = cutURL.replacingOccurrences(of: try #require(cluster.engineURLs["engine-a"]), with: "")
        let head = "PUT \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: \(bytes.count)\r\n\r\n"
        _ = try RawTCP.exchange(url: cutURL, bytes: Array(head.utf8) + Array(bytes.prefix(bytes.count / 2)), readReply: false)
        try await cluster.waitUntil("the cut-off upload's reservation to be released") {
            try await cluster.json([LiveStream].self, "/v1/streams").isEmpty
        }

        // Wrong checksum and not MPEG-TS: refused with the reason, nothing listed.
        let wrongSHA = try await admit("clip", size: bytes.count, sha: String(repeating: "0", count: 64))
        let corrupt = try await cluster.request(.PUT, "", body: bytes, headers: [], base: wrongSHA)
        #expect(corrupt.status == 422)
        let text = Data(repeating: 0x41, count: 4000)
        let foreignURL = try await admit("notts", size: text.count, sha: Self.sha256(text))
        let foreign = try await cluster.request(.PUT, "", body: text, headers: [], base: foreignURL)
        #expect(foreign.status == 415)
        #expect(String(decoding: foreign.body, as: UTF8.self).contains("MPEG-TS"))
        // A body larger than admitted is cut at the limit.
        let smallURL = try await admit("small", size: 1000, sha: Self.sha256(bytes.prefix(1000)))
        let tooBig = try await cluster.request(.PUT, "", body: bytes, headers: [], base: smallURL)
        #expect(tooBig.status == 400 || tooBig.status == 413)

        #expect(try await cluster.json([Cluster.ObjectRow].self, "/v1/objects").isEmpty)
        let incoming = try FileManager.default.contentsOfDirectory(atPath: cluster.directory + "/engine-a/incoming")
        #expect(incoming.isEmpty, "\(incoming)")
        try await cluster.waitUntil("every upload reservation to be released") {
            try await cluster.json([LiveStream].self, "/v1/streams").isEmpty
        }

        // The same name uploads cleanly afterwards and plays.
        try cluster.put(source, as: "clip")
        let played = try cluster.run(["play", cluster.directorURL + "/play/clip", "--key", cluster.apiKey, "--out", cluster.directory + "/out.ts"])
        #expect(played.status == 0, "\(played.output)")
        #expect(FileManager.default.contents(atPath: cluster.directory + "/out.ts") == bytes)
    }
}
}
