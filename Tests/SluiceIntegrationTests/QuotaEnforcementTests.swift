import Foundation
import SluiceCore
import Testing

extension IntegrationTests {
/// One key cannot take the cluster: quotas per user, key and group hold at the director, over
/// HTTP and RTSP, set in the configuration and changed through the CLI.
@Suite struct QuotaEnforcementTests {
    @Test func aUserKeyOrGroupGetsItsQuotaAndTheOperatorStillPlays() async throws {
        let cluster = try Cluster(
            engineNames: ["engine-a"], directorSettings: "quotas: { user: { maxStreams: 3 }, groups: { crowd: { maxStreams: 2 } } }")
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "clip", seconds: 30, bitrate: 500_000), as: "clip")
        let vic = try AccessTests.user(cluster, "vic", role: "viewer")
        func play(_ key: String) async throws -> (status: Int, headers: [(String, String)], body: Data) {
            try await cluster.get("/play/clip", headers: [("Authorization", "Bearer \(key)")])
        }
        for _ in 0..<3 { #expect(try await play(vic.key).status == 302) }
        let refused = try await play(vic.key)
        #expect(refused.status == 429)
        let problem = try JSONDecoder().decode(ClusterMessages.Problem.self, from: refused.body)
        #expect(problem.error == "quota_exceeded" && problem.message.contains("user 'vic'") && problem.message.contains("3 of 3"), "\(problem.message)")
        #expect(refused.headers.contains { $0.0.lowercased() == "retry-after" })
        #expect(try await play(cluster.apiKey).status == 302, "the operator is not held by the user default")

        // RTSP says the same with 453 and the reason.
        let rtsp = try RTSPConnection(url: cluster.rtspURL + "/clip", key: vic.key)
        defer { rtsp.close() }
        let setup = try rtsp.send("SETUP", "Transport: RTP/AVP;unicast;client_port=40000-40001\r\n").reply
        #expect(setup.hasPrefix("RTSP/1.0 453") && setup.contains("X-Sluice-Reason: quota of user 'vic'"), "\(setup.prefix(200))")

        // The operator raises vic's quota; the listing shows what vic holds.
        #expect(try cluster.run(["user", "limit", "vic", "--max-streams", "4", "--director", cluster.directorURL, "--key", cluster.apiKey]).status == 0)
        #expect(try await play(vic.key).status == 302)
        #expect(try await play(vic.key).status == 429)
        let listed = try cluster.run(["user", "list", "--director", cluster.directorURL, "--key", cluster.apiKey]).output
        #expect(listed.contains("vic\tviewer\t4 streams"), "\(listed)")

        // A key of its own quota holds that key alone.
        let created = try cluster.run(["key", "create", "--user", "vic", "--max-streams", "0", "--director", cluster.directorURL, "--key", cluster.apiKey])
        let second = try #require(created.output.split(separator: "\n").map(String.init).first { $0.hasPrefix("sk_") }, "\(created.output)")
        #expect(try cluster.run(["user", "limit", "vic", "--max-streams", "10", "--director", cluster.directorURL, "--key", cluster.apiKey]).status == 0)
        let keyRefused = try await play(second)
        #expect(keyRefused.status == 429 && String(decoding: keyRefused.body, as: UTF8.self).contains("quota of key "), "\(String(decoding: keyRefused.body, as: UTF8.self))")
        #expect(try await play(vic.key).status == 302, "the user's other key still has room")
        // Back to the default of three: vic holds five, so nothing more.
        #expect(try cluster.run(["user", "limit", "vic", "--default", "--director", cluster.directorURL, "--key", cluster.apiKey]).status == 0)
        #expect(try await play(vic.key).status == 429)

        // Two users of one group share the group's two streams.
        for name in ["gus", "gil"] {
            #expect(try cluster.run(["user", "add", name, "--group", "crowd", "--director", cluster.directorURL, "--key", cluster.apiKey]).status == 0)
        }
        let gus = try #require(try cluster.run(["key", "create", "--user", "gus", "--director", cluster.directorURL, "--key", cluster.apiKey])
            .output.split(separator: "\n").map(String.init).first { $0.hasPrefix("sk_") })
        let gil = try #require(try cluster.run(["key", "create", "--user", "gil", "--director", cluster.directorURL, "--key", cluster.apiKey])
            .output.split(separator: "\n").map(String.init).first { $0.hasPrefix("sk_") })
        #expect(try await play(gus).status == 302)
        #expect(try await play(gil).status == 302)
        let groupRefused = try await play(gus)
        #expect(groupRefused.status == 429 && String(decoding: groupRefused.body, as: UTF8.self).contains("group 'crowd'"))
        // Malformed limits are refused by the CLI and the API alike.
        #expect(try cluster.run(["user", "limit", "gus", "--max-rate", "fast", "--director", cluster.directorURL, "--key", cluster.apiKey]).status != 0)
        #expect(try await cluster.request(.PUT, "/v1/users/gus/quota", body: Data(#"{"maxStreams":-1}"#.utf8)).status == 400)
        #expect(try await cluster.request(.PUT, "/v1/users/nobody/quota", body: Data(#"{"maxStreams":1}"#.utf8)).status == 404)
    }
}
}
