import Crypto
import Foundation
import NIOHTTP1
import SluiceCore
import Testing

extension IntegrationTests {
/// Users, roles and keys against a real director: who may do what, and what revoking does.
@Suite struct AccessTests {
    /// Adds a user with `role` and returns a new key of theirs (`sk_ID_SECRET`) and its ID.
    static func user(_ cluster: Cluster, _ name: String, role: String) throws -> (key: String, id: String) {
        let added = try cluster.run(["user", "add", name, "--role", role, "--director", cluster.directorURL, "--key", cluster.apiKey])
        try #require(added.status == 0, "\(added.output)")
        let created = try cluster.run(["key", "create", "--user", name, "--director", cluster.directorURL, "--key", cluster.apiKey])
        try #require(created.status == 0, "\(created.output)")
        let key = try #require(created.output.split(separator: "\n").map(String.init).first { $0.hasPrefix("sk_") })
        return (key, String(key.split(separator: "_")[1]))
    }

    static func problem(_ reply: (status: Int, headers: [(String, String)], body: Data)) -> ClusterMessages.Problem? {
        try? JSONDecoder().decode(ClusterMessages.Problem.self, from: reply.body)
    }

    @Test func eachRoleGetsWhatItMayAndIsRefusedTheRestWithAClearReason() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "clip", seconds: 1, bitrate: 500_000), as: "clip")
        let viewer = try Self.user(cluster, "vera", role: "viewer")
        let uploader = try Self.user(cluster, "ulf", role: "uploader")

        func call(_ method: HTTPMethod, _ path: String, key: String?, body: String? = nil) async throws -> (status: Int, headers: [(String, String)], body: Data) {
            try await cluster.request(method, path, body: body.map { Data($0.utf8) }, headers: key.map { [("Authorization", "Bearer \($0)")] } ?? [])
        }
        // Viewer: plays; may not upload or look at the operator's views.
        #expect(try await call(.GET, "/play/clip", key: viewer.key).status == 302)
        let upload = try await call(.POST, "/v1/uploads", key: viewer.key, body: #"{"name":"x","sizeBytes":1,"sha256":"\#(String(repeating: "a", count: 64))"}"#)
        #expect(upload.status == 403 && Self.problem(upload)?.message.contains("needs the uploader role") == true)
        #expect(try await call(.GET, "/v1/streams", key: viewer.key).status == 403)
        #expect(try await call(.GET, "/v1/objects/clip", key: viewer.key).status == 200)
        // Uploader: uploads (through the real client), still not an admin.
        let sample = try cluster.makeSample(name: "mine", seconds: 1, bitrate: 500_000)
        let put = try cluster.run(["put", sample, "--name", "mine", "--director", cluster.directorURL, "--key", uploader.key])
        #expect(put.status == 0, "\(put.output)")
        #expect(try await call(.POST, "/v1/users", key: uploader.key, body: #"{"name":"eve","role":"admin"}"#).status == 403)
        // No key, a wrong key, a forged one: 401, and the answer does not say which.
        let missing = try await call(.GET, "/play/clip", key: nil)
        #expect(missing.status == 401 && missing.headers.contains { $0.0.lowercased() == "www-authenticate" })
        let forged = try await call(.GET, "/play/clip", key: "sk_\(viewer.id)_\(String(repeating: "0", count: 48))")
        let unknown = try await call(.GET, "/play/clip", key: "sk_ffffffffffff_\(String(repeating: "0", count: 48))")
        #expect(forged.status == 401 && unknown.status == 401)
        #expect(Self.problem(forged)?.message == Self.problem(unknown)?.message)
        // RTSP takes the user's key too.
        let rtsp = try cluster.run(["play", cluster.rtspURL + "/clip?key=\(viewer.key)", "--director", cluster.directorURL])
        #expect(rtsp.status == 0, "\(rtsp.output)")
        let refused = try cluster.run(["play", cluster.rtspURL + "/clip?key=sk_\(viewer.id)_\(String(repeating: "0", count: 48))"])
        #expect(refused.status != 0 && refused.output.contains("401"))
        // Users and their records: the viewer's plays are billed to vera.
        try await cluster.waitUntil("the plays' usage records") {
            try await cluster.json([UsageRecord].self, "/v1/usage").filter { $0.user == "vera" }.count >= 1
        }
        let listed = try cluster.run(["user", "list", "--director", cluster.directorURL, "--key", cluster.apiKey])
        #expect(listed.output.contains("vera\tviewer") && listed.output.contains("ulf\tuploader"))
    }

    @Test func entitlementsDecideWhoPlaysAndARefusalReadsLikeAMissingObject() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        let owner = try Self.user(cluster, "olga", role: "uploader")
        let added = try cluster.run(["user", "add", "sam", "--role", "viewer", "--group", "staff", "--director", cluster.directorURL, "--key", cluster.apiKey])
        try #require(added.status == 0)
        let staff = try cluster.run(["key", "create", "--user", "sam", "--director", cluster.directorURL, "--key", cluster.apiKey])
        let samKey = try #require(staff.output.split(separator: "\n").map(String.init).first { $0.hasPrefix("sk_") })
        let outsider = try Self.user(cluster, "otto", role: "viewer")
        func call(_ method: HTTPMethod, _ path: String, key: String, body: String? = nil) async throws -> (status: Int, headers: [(String, String)], body: Data) {
            try await cluster.request(method, path, body: body.map { Data($0.utf8) }, headers: [("Authorization", "Bearer \(key)")])
        }
        func access(_ args: [String], key: String) throws -> (status: Int32, output: String) {
            try cluster.run(["access", "lecture"] + args + ["--director", cluster.directorURL, "--key", key])
        }
        // A user's upload is private to them.
        let sample = try cluster.makeSample(name: "lecture", seconds: 1, bitrate: 500_000)
        let put = try cluster.run(["put", sample, "--name", "lecture", "--director", cluster.directorURL, "--key", owner.key])
        try #require(put.status == 0, "\(put.output)")
        #expect(try await call(.GET, "/play/lecture?maxWait=0", key: owner.key).status == 302)
        #expect(try await call(.GET, "/play/lecture?maxWait=0", key: cluster.apiKey).status == 302, "admins play everything")
        // Others are told it is not there, in the very words used for a missing object.
        let hidden = try await call(.GET, "/play/lecture?maxWait=0", key: samKey)
        let missing = try await call(.GET, "/play/nothing-here?maxWait=0", key: samKey)
        #expect(hidden.status == 404 && missing.status == 404)
        #expect(Self.problem(hidden)?.message.replacingOccurrences(of: "lecture", with: "X") == Self.problem(missing)?.message.replacingOccurrences(of: "nothing-here", with: "X"))
        #expect(try await call(.GET, "/v1/objects/lecture", key: samKey).status == 404)
        let listing = try await call(.GET, "/v1/objects", key: samKey)
        #expect(listing.status == 200 && !String(decoding: listing.body, as: UTF8.self).contains("lecture"))
        let rtspHidden = try cluster.run(["play", cluster.rtspURL + "/lecture?key=\(samKey)", "--director", cluster.directorURL])
        #expect(rtspHidden.status != 0 && rtspHidden.output.contains("404"), "\(rtspHidden.output)")
        // Only the owner or an admin changes it; someone who cannot see it gets the same 404.
        #expect(try await call(.PUT, "/v1/objects/lecture/access", key: samKey, body: #"{"visibility":"public"}"#).status == 404)
        // Shared with the staff group: sam (in it) plays, also over RTSP; otto does not.
        let granted = try access(["granted", "--group", "staff"], key: owner.key)
        #expect(granted.status == 0 && granted.output.contains("granted"), "\(granted.output)")
        #expect(try await call(.GET, "/play/lecture?maxWait=0", key: samKey).status == 302)
        let rtsp = try cluster.run(["play", cluster.rtspURL + "/lecture?key=\(samKey)", "--director", cluster.directorURL])
        #expect(rtsp.status == 0, "\(rtsp.output)")
        #expect(try await call(.GET, "/play/lecture?maxWait=0", key: outsider.key).status == 404)
        // Sam sees it now, but is not its owner: 403 saying who may.
        let notOwner = try await call(.PUT, "/v1/objects/lecture/access", key: samKey, body: #"{"visibility":"public"}"#)
        #expect(notOwner.status == 403 && Self.problem(notOwner)?.message.contains("only the owner") == true)
        // Granted to otto by name, then public: everyone plays.
        #expect(try access(["granted", "--user", "otto"], key: owner.key).status == 0)
        #expect(try await call(.GET, "/play/lecture?maxWait=0", key: outsider.key).status == 302)
        #expect(try await call(.GET, "/play/lecture?maxWait=0", key: samKey).status == 404, "the group grant was replaced")
        #expect(try access(["public"], key: owner.key).status == 0)
        #expect(try await call(.GET, "/play/lecture?maxWait=0", key: samKey).status == 302)
        let status = try await cluster.json(ClusterMessages.ObjectStatus.self, "/v1/objects/lecture")
        #expect(status.access == ObjectAccess(object: "lecture", owner: "olga", visibility: .public))
        // Bad input: an unknown visibility is a 400, and nothing changed.
        #expect(try await call(.PUT, "/v1/objects/lecture/access", key: owner.key, body: #"{"visibility":"secret"}"#).status == 400)
        #expect(try await cluster.json(ClusterMessages.ObjectStatus.self, "/v1/objects/lecture").access?.visibility == .public)
        // An operator's upload is public.
        try cluster.put(try cluster.makeSample(name: "open", seconds: 1, bitrate: 500_000), as: "open")
        #expect(try await call(.GET, "/play/open?maxWait=0", key: outsider.key).status == 302)
    }

    /// RTSP Digest: the director challenges with Digest and Basic; a player that answers the
    /// Digest challenge with a user's name and key is let in without the key crossing the wire.
    @Test func rtspDigestLetsInTheKeyHolderOnly() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "clip", seconds: 1, bitrate: 500_000), as: "clip")
        let dora = try Self.user(cluster, "dora", role: "viewer")
        let uri = cluster.rtspURL + "/clip"
        // One connection, as a player keeps: Digest nonces are bound to the connection they were issued on.
        let connection = try RTSPConnection(url: uri, key: nil)
        defer { connection.close() }
        func describe(_ authorization: String?) throws -> String {
            try connection.send("DESCRIBE", authorization.map { "Authorization: \($0)\r\n" } ?? "").reply
        }
        let challenged = try describe(nil)
        #expect(challenged.hasPrefix("RTSP/1.0 401"))
        #expect(challenged.contains("WWW-Authenticate: Basic realm=\"sluice\""))
        let line = try #require(challenged.split(separator: "\r\n").first { $0.hasPrefix("WWW-Authenticate: Digest") })
        let nonce = try #require(line.split(separator: "nonce=\"").last?.split(separator: "\"").first.map(String.init))
        func answer(user: String, key: String, nonce: String, uri: String = uri) -> String {
            let response = DigestTestMath.md5(DigestTestMath.md5("\(user):sluice:\(key)") + ":\(nonce):" + DigestTestMath.md5("DESCRIBE:\(uri)"))
            return "Digest username=\"\(user)\", realm=\"sluice\", nonce=\"\(nonce)\", uri=\"\(uri)\", response=\"\(response)\""
        }
        let accepted = try describe(answer(user: "dora", key: dora.key, nonce: nonce))
        #expect(accepted.hasPrefix("RTSP/1.0 200") && accepted.contains("m=video"), "\(accepted.prefix(300))")
        #expect(!accepted.contains(dora.key), "the key never crosses the wire")
        #expect(try describe(answer(user: "dora", key: "sk_\(dora.id)_" + String(repeating: "0", count: 48), nonce: nonce)).hasPrefix("RTSP/1.0 401"))
        #expect(try describe(answer(user: "dora", key: dora.key, nonce: "18b3c5e3c00-00112233445566778899aabbccddeeff")).hasPrefix("RTSP/1.0 401"))
        #expect(try describe(answer(user: "dora", key: dora.key, nonce: nonce, uri: cluster.rtspURL + "/other")).hasPrefix("RTSP/1.0 401"), "signed for another URI")
        #expect(try describe(answer(user: "operator", key: cluster.apiKey, nonce: nonce)).hasPrefix("RTSP/1.0 200"), "configuration keys as 'operator'")
        // A captured answer replayed on another connection (another host) is refused: its nonce
        // belongs to the connection it was issued on.
        let replay = try RTSPConnection(url: uri, key: nil, from: "127.0.0.2")
        defer { replay.close() }
        let replayed = try replay.send("DESCRIBE", "Authorization: \(answer(user: "dora", key: dora.key, nonce: nonce))\r\n").reply
        #expect(replayed.hasPrefix("RTSP/1.0 401"), "\(replayed.prefix(200))")
        // A real player: ffmpeg takes user and key from the URL and answers the Digest challenge.
        _ = try RTSPInteropTests.video(cluster, name: "movie", seconds: 2)
        let authority = cluster.rtspURL.replacingOccurrences(of: "rtsp://", with: "rtsp://dora:\(dora.key)@")
        let played = try Cluster.runTool(RTSPInteropTests.ffmpeg, [
            "-hide_banner", "-loglevel", "error", "-timeout", "10000000", "-rtsp_transport", "udp", "-i", authority + "/movie", "-c", "copy", "-f", "null", "-",
        ])
        #expect(played.status == 0, "\(played.output)")
        // Revoked: the same answer fails.
        _ = try cluster.run(["user", "revoke", "dora", "--director", cluster.directorURL, "--key", cluster.apiKey])
        #expect(try describe(answer(user: "dora", key: dora.key, nonce: nonce)).hasPrefix("RTSP/1.0 401"))
    }

    @Test func aBearerTokenStandsInForTheKeyUntilTheKeyIsRevoked() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "clip", seconds: 1, bitrate: 500_000), as: "clip")
        let viewer = try Self.user(cluster, "tess", role: "viewer")
        let issued = try await cluster.request(.POST, "/v1/tokens", headers: [("Authorization", "Bearer \(viewer.key)")])
        #expect(issued.status == 201)
        struct Issued: Decodable { var token: String; var expiresAt: Int64 }
        let token = try JSONDecoder().decode(Issued.self, from: issued.body)
        #expect(token.token.split(separator: ".").count == 3)
        #expect(try await cluster.request(.GET, "/play/clip", headers: [("Authorization", "Bearer \(token.token)")]).status == 302)
        #expect(try await cluster.request(.GET, "/v1/streams", headers: [("Authorization", "Bearer \(token.token)")]).status == 403, "the token carries the user's role")
        let tampered = String(token.token.dropLast(2)) + (token.token.hasSuffix("AA") ? "BB" : "AA")
        #expect(try await cluster.request(.GET, "/play/clip", headers: [("Authorization", "Bearer \(tampered)")]).status == 401)
        let rtsp = try cluster.run(["play", cluster.rtspURL + "/clip?key=\(token.token)", "--director", cluster.directorURL])
        #expect(rtsp.status == 0, "\(rtsp.output)")
        _ = try cluster.run(["key", "revoke", viewer.id, "--director", cluster.directorURL, "--key", cluster.apiKey])
        #expect(try await cluster.request(.GET, "/play/clip", headers: [("Authorization", "Bearer \(token.token)")]).status == 401, "revoking the key voids its tokens")
    }

    @Test func revokingAKeyMidStreamStopsTheStreamAndReleasesItsPath() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "long", seconds: 30, bitrate: 1_000_000), as: "long")
        let viewer = try Self.user(cluster, "vic", role: "viewer")
        let reply = try await cluster.request(.GET, "/play/long", headers: [("Authorization", "Bearer \(viewer.key)")])
        let location = try #require(reply.headers.first { $0.0.lowercased() == "location" }?.1)
        let download = Task { try await cluster.get("", headers: [], base: location) }
        try await cluster.waitUntil("the stream to be playing") {
            try await cluster.json([LiveStream].self, "/v1/streams").first?.isClaimed == true
        }
        let revoked = try cluster.run(["key", "revoke", viewer.id, "--director", cluster.directorURL, "--key", cluster.apiKey])
        #expect(revoked.status == 0 && revoked.output.contains("\"streamsEnded\":1"), "\(revoked.output)")
        let revokedAt = ContinuousClock.now
        // The engine learns at its next renewal (every second) and stops; the body ends early.
        // The engine closes the response before its Content-Length: the client sees it cut off.
        let outcome = await download.result
        let stoppedAfter = ContinuousClock.now - revokedAt
        if case .success(let body) = outcome { Issue.record("the download completed (\(body.body.count) bytes) instead of being cut off") }
        // The director tells the engine at once (the renewal, within a second, is the fallback).
        #expect(stoppedAfter < .seconds(1), "stopped \(stoppedAfter) after the revocation")
        #expect(try await cluster.links().values.allSatisfy { $0.reservedBitsPerSecond == 0 })
        let usage = try await cluster.json([UsageRecord].self, "/v1/usage").filter { $0.kind == .play }
        #expect(usage.first?.endReason == .revoked && usage.first?.user == "vic")
        // The key no longer opens anything.
        #expect(try await cluster.request(.GET, "/play/long", headers: [("Authorization", "Bearer \(viewer.key)")]).status == 401)
    }

    @Test func revokingAKeyMidRTSPStreamEndsTheRTPAtOnce() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "long", seconds: 30, bitrate: 1_000_000), as: "long")
        let viewer = try Self.user(cluster, "rita", role: "viewer")
        let player = Process()
        player.executableURL = URL(fileURLWithPath: Cluster.binary)
        player.arguments = ["play", cluster.rtspURL + "/long?key=\(viewer.key)", "--director", cluster.directorURL, "--out", cluster.directory + "/rita.ts"]
        player.standardOutput = FileHandle.nullDevice
        player.standardError = FileHandle.nullDevice
        try player.run()
        defer { if player.isRunning { player.terminate() } }
        try await cluster.waitUntil("the stream to be playing") {
            try await cluster.json([LiveStream].self, "/v1/streams").first?.isClaimed == true
        }
        try await Task.sleep(for: .milliseconds(500))
        let revoked = try cluster.run(["key", "revoke", viewer.id, "--director", cluster.directorURL, "--key", cluster.apiKey])
        #expect(revoked.status == 0, "\(revoked.output)")
        let revokedAt = ContinuousClock.now
        // The engine stops the session and sends RTCP BYE; the player takes that as the end.
        while player.isRunning, ContinuousClock.now - revokedAt < .seconds(10) { try await Task.sleep(for: .milliseconds(10)) }
        let stoppedAfter = ContinuousClock.now - revokedAt
        #expect(!player.isRunning && stoppedAfter < .seconds(1), "the player was still receiving \(stoppedAfter) after the revocation")
        #expect(player.terminationStatus == 4, "sluice play's exit status for a revoked stream")
        let received = (try? FileManager.default.attributesOfItem(atPath: cluster.directory + "/rita.ts")[.size] as? Int) ?? 0
        #expect(received > 0 && received < 30 * 1_000_000 / 8 / 2, "received \(received) bytes of a 30 s clip")
        #expect(try await cluster.links().values.allSatisfy { $0.reservedBitsPerSecond == 0 })
        let usage = try await cluster.json([UsageRecord].self, "/v1/usage").filter { $0.kind == .play }
        #expect(usage.first?.endReason == .revoked && usage.first?.user == "rita")
    }
}
}

enum DigestTestMath {
    static func md5(_ text: String) -> String { Insecure.MD5.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined() }
}
