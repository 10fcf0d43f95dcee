import Foundation
import SluiceCore
import SluiceGrant
import Testing

extension IntegrationTests {
/// Licenses against a real director and engine: only a valid license for its licensee gets
/// its profile; the engine's table holds the stream -> profile entry while the stream lives
/// and not after.
@Suite struct LicenseProfileTests {
    static let server = LicenseCodec.newKeyPair()

    static func issue(licensee: String, days: Double = 1, profiles: [String] = ["uhd-video"], key: String = server.privateKey) throws -> String {
        let now = SystemClock().now()
        let license = License(id: "feedface", licensee: licensee, issuedAt: now, expiresAt: now + .seconds(days * 86_400), profiles: profiles)
        return try #require(try LicenseCodec.issue(license, privateKey: key))
    }

    func table(_ cluster: Cluster) async throws -> [ClusterMessages.StreamProfile] {
        let engineURL = try #require(cluster.engineURLs["engine-a"])
        let reply = try await cluster.request(.GET, "/v1/profiles", headers: [("Authorization", "Bearer \(cluster.engineToken)")], base: engineURL)
        try #require(reply.status == 200)
        return try JSONDecoder().decode([ClusterMessages.StreamProfile].self, from: reply.body)
    }

    @Test func onlyAValidLicenseGetsItsProfileAndTheEngineForgetsItAtTheEnd() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"], extraYAML: "licensing:\n  trustedKeys: [\"\(Self.server.publicKey)\"]\n")
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "long", seconds: 20, bitrate: 1_000_000), as: "long")
        let lena = try AccessTests.user(cluster, "lena", role: "viewer")
        let valid = try Self.issue(licensee: "lena")
        let tampered = String(valid.dropLast(3)) + (valid.hasSuffix("AAA") ? "BBB" : "AAA")
        let cases: [(name: String, license: String, expected: String)] = [
            ("valid", valid, "uhd-video/v1"),
            ("expired", try Self.issue(licensee: "lena", days: -1), "traditional; license refused: the license expired"),
            ("tampered", tampered, "traditional; license refused: the license is not signed by a trusted license server"),
            ("wrong licensee", try Self.issue(licensee: "otto"), "traditional; license refused: the license was issued to someone else"),
            ("foreign server", try Self.issue(licensee: "lena", key: LicenseCodec.newKeyPair().privateKey), "traditional; license refused: the license is not signed by a trusted license server"),
        ]
        for (name, license, expected) in cases {
            let reply = try await cluster.request(.GET, "/play/long?license=\(license)", headers: [("Authorization", "Bearer \(lena.key)")])
            try #require(reply.status == 302, "\(name): HTTP \(reply.status)")
            #expect(reply.headers.first { $0.0.lowercased() == "x-sluice-profile" }?.1 == expected, "\(name)")
            let location = try #require(reply.headers.first { $0.0.lowercased() == "location" }?.1)
            let id = try #require(reply.headers.first { $0.0.lowercased() == "x-sluice-stream-id" }.map { UInt32($0.1) } ?? nil)
            let download = Task { try? await cluster.get("", headers: [], base: location) }
            try await cluster.waitUntil("\(name): the engine's table to list the stream") {
                try await table(cluster).contains { $0.streamID == id }
            }
            let entry = try #require(try await table(cluster).first { $0.streamID == id })
            #expect(entry.transport == "http" && entry.object == "long")
            if name == "valid" {
                #expect(entry.licensed && entry.profile == .uhdVideo, "\(entry)")
            } else {
                #expect(!entry.licensed && entry.profile == .traditional, "\(name): \(entry)")
            }
            // The grant withdrawn (operator teardown): the engine stops and forgets the entry.
            #expect(try await cluster.request(.DELETE, "/v1/streams/\(id)").status == 200)
            _ = await download.value
            try await cluster.waitUntil("\(name): the entry to go") { try await !table(cluster).contains { $0.streamID == id } }
        }
        // RTSP: the license rides in the URL; the engine's RTP session reads with the profile.
        let player = Process()
        player.executableURL = URL(fileURLWithPath: Cluster.binary)
        player.arguments = ["play", cluster.rtspURL + "/long?key=\(lena.key)", "--license", valid, "--profile", "uhd-video", "--director", cluster.directorURL]
        player.standardOutput = FileHandle.nullDevice
        player.standardError = FileHandle.nullDevice
        try player.run()
        defer { if player.isRunning { player.terminate() } }
        try await cluster.waitUntil("the RTP stream in the engine's table") { try await table(cluster).contains { $0.transport == "rtp" } }
        let rtp = try #require(try await table(cluster).first { $0.transport == "rtp" })
        #expect(rtp.licensed && rtp.profile == .uhdVideo)
        // Revoking the user ends the stream and the entry with it.
        #expect(try cluster.run(["user", "revoke", "lena", "--director", cluster.directorURL, "--key", cluster.apiKey]).status == 0)
        try await cluster.waitUntil("the entry to go after the revocation") { try await table(cluster).isEmpty }
    }

    @Test func theLicenseCommandsIssueAndVerify() throws {
        let directory = NSTemporaryDirectory() + "sluice-license-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let keygen = try Cluster.runTool(Cluster.binary, ["license", "keygen", "--out", directory + "/server.key"])
        try #require(keygen.status == 0, "\(keygen.output)")
        let publicKey = try #require(keygen.output.split(separator: " ").last.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) })
        #expect(try Cluster.runTool(Cluster.binary, ["license", "keygen", "--out", directory + "/server.key"]).status != 0, "never overwrites a key")
        let issued = try Cluster.runTool(Cluster.binary, [
            "license", "issue", "--signing-key", directory + "/server.key", "--licensee", "lena", "--profile", "sd-video", "--days", "30",
            "--out", directory + "/lena.license",
        ])
        try #require(issued.status == 0, "\(issued.output)")
        let ok = try Cluster.runTool(Cluster.binary, ["license", "verify", directory + "/lena.license", "--public-key", publicKey, "--licensee", "lena"])
        #expect(ok.status == 0 && ok.output.contains("valid: license") && ok.output.contains("sd-video"), "\(ok.output)")
        let wrong = try Cluster.runTool(Cluster.binary, ["license", "verify", directory + "/lena.license", "--public-key", publicKey, "--licensee", "otto"])
        #expect(wrong.status == 1 && wrong.output.contains("NOT valid: the license was issued to someone else"), "\(wrong.output)")
        let other = LicenseCodec.newKeyPair().publicKey
        let foreign = try Cluster.runTool(Cluster.binary, ["license", "verify", directory + "/lena.license", "--public-key", other])
        #expect(foreign.status == 1 && foreign.output.contains("not signed by a trusted"), "\(foreign.output)")
    }
}
}
