import Crypto
import Foundation
import SluiceCore
import SluiceListeners
import Testing

extension IntegrationTests {
/// A cluster with `tls`: HTTPS on the director and engines (engines and director verify each
/// other against the cluster's CA), RTSPS beside RTSP, plain HTTP on a loopback listener.
@Suite struct TLSTests {
    /// A throwaway CA and certificate for 127.0.0.1 and localhost, in their own directory.
    struct Files {
        let directory = NSTemporaryDirectory() + "sluice-tls-" + UUID().uuidString
        let ca: String, certificate: String, key: String

        /// `name`: the CA's; clients pick the CA by it, so another CA gets another name.
        init(name: String = "Sluice test CA") throws {
            (ca, certificate, key) = try ThrowawayCA(hosts: ["127.0.0.1", "localhost"], name: name).write(to: directory)
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// `mutual`: the parts present their certificate to each other and cluster calls need one.
    /// `limits`: a YAML `limits:` mapping, e.g. `{ requestHeadTimeout: 1s }`.
    static func cluster(_ files: Files, mutual: Bool = false, limits: String? = nil) throws -> Cluster {
        let cluster = try Cluster(
            directorSettings: "rtspsListen: 127.0.0.1:0\n  plainListen: 127.0.0.1:0",
            extraYAML: "tls:\n  certificate: \(files.certificate)\n  key: \(files.key)\n  ca: \(files.ca)\n  mutual: \(mutual)\n"
                + (limits.map { "limits: \($0)\n" } ?? ""))
        cluster.caFile = files.ca
        cluster.client = try ClusterClients.client(trusting: files.ca, failFast: false)
        return cluster
    }

    static func curl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try Cluster.runTool("/usr/bin/curl", ["-sS", "--max-time", "30"] + arguments)
    }

    static func sha256(_ path: String) throws -> String {
        SHA256.hash(data: try #require(FileManager.default.contents(atPath: path))).map { String(format: "%02x", $0) }.joined()
    }

    @Test func curlAndTheClientPlayAndUploadOverHTTPSAndRTSPSAndAWrongCAOrNameFails() async throws {
        let files = try Files()
        defer { files.remove() }
        let cluster = try Self.cluster(files, mutual: true)
        defer { cluster.stop() }
        try await cluster.start()
        let rtspsURL = cluster.rtspURL
        #expect(cluster.directorURL.hasPrefix("https://127.0.0.1:"))
        #expect(rtspsURL.hasPrefix("rtsps://127.0.0.1:"))
        // The engines registered over HTTPS (checked against the CA) and are reached that way.
        #expect(cluster.engineURLs.values.allSatisfy { $0.hasPrefix("https://") }, "\(cluster.engineURLs)")

        // Upload with curl: the director admits it, the engine takes the bytes, both over HTTPS.
        let source = try cluster.makeSample(name: "clip", seconds: 1.5, bitrate: 2_000_000)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: source)[.size] as? Int)
        let admit = try Self.curl([
            "--cacert", files.ca, "-f", "-H", "Authorization: Bearer \(cluster.apiKey)", "-H", "Content-Type: application/json",
            "-d", #"{"name":"clip","sizeBytes":\#(size),"sha256":"\#(try Self.sha256(source))"}"#, cluster.directorURL + "/v1/uploads",
        ])
        #expect(admit.status == 0, "\(admit.output)")
        struct Ticket: Decodable { var uploadURL: String }
        let ticket = try JSONDecoder().decode(Ticket.self, from: Data(admit.output.utf8))
        #expect(ticket.uploadURL.hasPrefix("https://"))
        let upload = try Self.curl(["--cacert", files.ca, "-f", "-T", source, ticket.uploadURL])
        #expect(upload.status == 0, "\(upload.output)")

        // Mutual TLS: the cluster token alone no longer opens an engine's control API; with the
        // certificate the CA signed it does. A copy goes engine to engine over HTTPS, both ways checked.
        let engine = try #require(cluster.engineURLs.values.first)
        let tokenOnly = try Self.curl(["--cacert", files.ca, "-H", "Authorization: Bearer \(cluster.engineToken)", "-w", "%{http_code}", "-o", "/dev/null", engine + "/v1/profiles"])
        #expect(tokenOnly.output == "403", "\(tokenOnly.output)")
        let withCertificate = try Self.curl([
            "--cacert", files.ca, "--cert", files.certificate, "--key", files.key, "-H", "Authorization: Bearer \(cluster.engineToken)",
            "-w", "%{http_code}", "-o", "/dev/null", engine + "/v1/profiles",
        ])
        #expect(withCertificate.output == "200", "\(withCertificate.output)")
        let holder = try #require(try await cluster.json([Cluster.ObjectRow].self, "/v1/objects").first { $0.object.name == "clip" }?.replicas.first)
        let other = try #require(cluster.engineNames.first { $0 != holder })
        let copy = try cluster.run(["replicate", "clip", "--to", other, "--director", cluster.directorURL, "--key", cluster.apiKey, "--cacert", files.ca])
        #expect(copy.status == 0, "\(copy.output)")

        // Play with curl (the redirect leads to the engine's HTTPS port) and with the client.
        let curlOut = cluster.directory + "/curl.ts"
        let played = try Self.curl(["--cacert", files.ca, "-f", "-L", "-o", curlOut, cluster.directorURL + "/play/clip?key=\(cluster.apiKey)"])
        #expect(played.status == 0, "\(played.output)")
        #expect(FileManager.default.contents(atPath: curlOut) == FileManager.default.contents(atPath: source))
        let client = try cluster.run(["play", cluster.directorURL + "/play/clip", "--key", cluster.apiKey, "--cacert", files.ca, "--out", cluster.directory + "/client.ts"])
        #expect(client.status == 0, "\(client.output)")
        #expect(client.output.contains("matches the directory"), "\(client.output)")

        // RTSPS: the session over TLS, RTP over UDP from the engine as with RTSP.
        let rtsps = try cluster.run([
            "play", rtspsURL + "/clip", "--key", cluster.apiKey, "--cacert", files.ca, "--director", cluster.directorURL,
            "--out", cluster.directory + "/rtsps.ts",
        ])
        #expect(rtsps.status == 0, "\(rtsps.output)")
        #expect(rtsps.output.contains("0 lost"), "\(rtsps.output)")
        #expect(FileManager.default.contents(atPath: cluster.directory + "/rtsps.ts") == FileManager.default.contents(atPath: source))
        if FileManager.default.isExecutableFile(atPath: RTSPInteropTests.gstreamer) {
            let out = cluster.directory + "/gst.ts"
            let gst = try Cluster.runTool("/usr/bin/timeout", [
                "60", RTSPInteropTests.gstreamer, "-q", "rtspsrc", "location=\(rtspsURL)/clip?key=\(cluster.apiKey)", "protocols=udp",
                "tls-validation-flags=0", "!", "rtpmp2tdepay", "!", "filesink", "location=\(out)",
            ])
            // gst-launch may exit 1 at the BYE (see RTSPInteropTests); the bytes are what count.
            #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: source), "\(gst.output)")
        } else {
            Issue.record("GStreamer is not installed; .ci/run installs it")
        }
        if FileManager.default.isExecutableFile(atPath: RTSPInteropTests.ffmpeg) {
            // ffmpeg's rtsps:// asks only for RTP interleaved in the TLS connection, which would
            // put the director in the media path: refused cleanly (461), nothing reserved.
            let ffmpeg = try Cluster.runTool("/usr/bin/timeout", [
                "30", RTSPInteropTests.ffmpeg, "-hide_banner", "-i", "\(rtspsURL)/clip?key=\(cluster.apiKey)", "-c", "copy", "-f", "null", "-",
            ])
            #expect(ffmpeg.status != 0)
            #expect(ffmpeg.output.contains("461"), "\(ffmpeg.output.suffix(1500))")
        }

        // A CA that did not sign the certificate, and a name the certificate does not hold.
        let stranger = try Files(name: "A stranger's CA")
        defer { stranger.remove() }
        let wrongCA = try Self.curl(["--cacert", stranger.ca, cluster.directorURL + "/healthz"])
        #expect(wrongCA.status == 60, "\(wrongCA.output)")
        let wrongCAClient = try cluster.run(["play", cluster.directorURL + "/play/clip", "--key", cluster.apiKey, "--cacert", stranger.ca, "--out", cluster.directory + "/x.ts"])
        #expect(wrongCAClient.status != 0)
        #expect(wrongCAClient.output.contains("certificate is not trusted"), "\(wrongCAClient.output)")
        let port = try #require(URLComponents(string: cluster.directorURL)?.port)
        let wrongName = try Self.curl(["--cacert", files.ca, "--resolve", "sluice.invalid:\(port):127.0.0.1", "https://sluice.invalid:\(port)/healthz"])
        #expect(wrongName.status == 60, "\(wrongName.output)")
        let wrongRTSPSCA = try cluster.run(["play", rtspsURL + "/clip", "--key", cluster.apiKey, "--cacert", stranger.ca, "--out", cluster.directory + "/y.ts"])
        #expect(wrongRTSPSCA.status != 0)
        #expect(wrongRTSPSCA.output.contains("certificate is not trusted"), "\(wrongRTSPSCA.output)")

        // The key is never sent in clear to another host unless the user says so.
        let clear = try cluster.run(["play", "http://192.0.2.1:8080/play/clip", "--key", cluster.apiKey, "--out", cluster.directory + "/z.ts"])
        #expect(clear.status != 0)
        #expect(clear.output.contains("refusing to send the key in clear to 192.0.2.1"), "\(clear.output)")

        // Nothing is left reserved, and the plays were billed.
        try await cluster.waitUntil("links back to zero") {
            try await cluster.links().values.allSatisfy { $0.reservedBitsPerSecond == 0 }
        }
        let usage = try await cluster.json([UsageRecord].self, "/v1/usage")
        #expect(usage.filter { $0.kind == .play && $0.endReason == .completed && $0.bytes == Int64(size) }.count >= 3)
    }

    @Test func plainTextAndGarbageOnTLSPortsAreRefusedAndAPlayerBesideThemPlaysOn() async throws {
        let files = try Files()
        defer { files.remove() }
        let cluster = try Self.cluster(files, limits: "{ requestHeadTimeout: 1s }")
        defer { cluster.stop() }
        try await cluster.start()
        let source = try cluster.makeSample(name: "clip", seconds: 2.5, bitrate: 4_000_000)
        try cluster.put(source, as: "clip")
        let engineURL = try #require(cluster.engineURLs.values.first)

        // A player over HTTPS, paced for 2.5 seconds while the ports are attacked.
        let out = cluster.directory + "/played.ts"
        let player = Task.detached {
            try Self.curl(["--cacert", files.ca, "-f", "-L", "-o", out, cluster.directorURL + "/play/clip?key=\(cluster.apiKey)"])
        }
        for url in [cluster.directorURL, engineURL, cluster.rtspURL] {
            let isRTSP = url.hasPrefix("rtsps")
            // Plain text to a TLS port: a plain-text 400 naming the scheme, then the close.
            let request = isRTSP ? "OPTIONS rtsp://127.0.0.1/clip RTSP/1.0\r\nCSeq: 1\r\n\r\n" : "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            let reply = try RawTCP.exchange(url: url, bytes: Array(request.utf8))
            #expect(reply.hasPrefix(isRTSP ? "RTSP/1.0 400" : "HTTP/1.1 400"), "\(url): \(reply.prefix(200))")
            #expect(reply.contains(isRTSP ? "use rtsps://" : "use https://"), "\(url): \(reply.prefix(200))")
            // Garbage: random bytes, a handshake record of absurd length, a truncated hello,
            // and a record announced but never sent (the deadlines close that one).
            var random = SystemRandomNumberGenerator()
            let garbage: [[UInt8]] = [
                (0..<4096).map { _ in random.next() },
                [0x16, 0x03, 0x01, 0xFF, 0xFF] + (0..<2000).map { _ in random.next() },
                [0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3C, 0x03, 0x03],
                [0x17, 0x03, 0x03, 0x40, 0x00] + [UInt8](repeating: 0, count: 100),
            ]
            for (index, bytes) in garbage.enumerated() {
                // The last two wait for bytes that never come: sent and left, not read.
                let answer = try RawTCP.exchange(url: url, bytes: bytes, readReply: index < 2, timeout: 2)
                #expect(!answer.contains("200 OK"), "\(url)")
            }
        }
        // A handshake that stalls halfway is closed at the request-head deadline (1 s here), on
        // every TLS port: it holds a connection no longer than a slow request head would.
        for url in [cluster.directorURL, engineURL, cluster.rtspURL] {
            let started = ContinuousClock.now
            let answer = try RawTCP.exchange(url: url, bytes: [0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00], timeout: 6)
            let waited = ContinuousClock.now - started
            #expect(waited < .seconds(4), "\(url): open for \(waited)")
            #expect(!answer.contains("200"), "\(url)")
        }
        // The server goes on serving TLS.
        let health = try Self.curl(["--cacert", files.ca, "-f", cluster.directorURL + "/healthz"])
        #expect(health.status == 0, "\(health.output)")
        let played = try await player.value
        #expect(played.status == 0, "\(played.output)")
        #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: source))

        // The plain listener beside HTTPS answers on loopback.
        let plain = try #require(cluster.director?.log.components(separatedBy: "director plain http listening on ").dropFirst().first?
            .components(separatedBy: "\n").first?.trimmingCharacters(in: .whitespaces))
        let plainHealth = try Self.curl(["-f", plain + "/healthz"])
        #expect(plainHealth.status == 0, "\(plain): \(plainHealth.output)")
    }

    @Test func theDemoWithTLSServesHTTPSAndRTSPSThatCurlTrustsWithThePrintedCA() throws {
        let cluster = try Cluster()  // only its config (every port 0) and directory are used
        defer { cluster.stop() }
        let demo = try cluster.run([
            "demo", "--tls", "--config", cluster.configPath, "--data-dir", cluster.directory + "/demo", "--sample-seconds", "1", "--exit-after", "1",
        ])
        #expect(demo.status == 0, "\(demo.output.suffix(3000))")
        #expect(demo.output.contains("stored 'sample' on engine-"), "\(demo.output.suffix(3000))")
        let ca = cluster.directory + "/demo/director/tls/ca.pem"
        #expect(demo.output.contains("curl --cacert \(ca) -L -o /tmp/sample.ts 'https://127.0.0.1:"), "\(demo.output.suffix(3000))")
        #expect(demo.output.contains("rtsps://127.0.0.1:"))
        #expect(!demo.output.contains("rtsp://"))
    }

    @Test func aRenewedCertificateIsPresentedAfterSIGHUPAndABadOneIsNot() async throws {
        let files = try Files()
        defer { files.remove() }
        let cluster = try Self.cluster(files)
        defer { cluster.stop() }
        try await cluster.start()
        let before = try Self.curl(["--cacert", files.ca, "-f", cluster.directorURL + "/healthz"])
        #expect(before.status == 0, "\(before.output)")
        let engine = try #require(cluster.engines["engine-a"])
        let engineURL = try #require(cluster.engineURLs["engine-a"])

        // The files replaced by a certificate from another CA, then SIGHUP.
        let renewed = try Files(name: "Sluice renewed test CA")
        defer { renewed.remove() }
        try FileManager.default.removeItem(atPath: files.certificate)
        try FileManager.default.removeItem(atPath: files.key)
        try FileManager.default.copyItem(atPath: renewed.certificate, toPath: files.certificate)
        try FileManager.default.copyItem(atPath: renewed.key, toPath: files.key)
        let director = try #require(cluster.director)
        kill(director.process.processIdentifier, SIGHUP)
        _ = try await director.waitFor("tls certificate reloaded")
        let withNew = try Self.curl(["--cacert", renewed.ca, "-f", cluster.directorURL + "/healthz"])
        #expect(withNew.status == 0, "\(withNew.output)")
        let withOld = try Self.curl(["--cacert", files.ca, cluster.directorURL + "/healthz"])
        #expect(withOld.status == 60, "\(withOld.output)")
        // An engine reloads on its own SIGHUP (its readiness answers over the new certificate).
        #expect(try Self.curl(["--cacert", renewed.ca, engineURL + "/readyz"]).status == 60)
        kill(engine.process.processIdentifier, SIGHUP)
        _ = try await engine.waitFor("tls certificate reloaded")
        let engineNew = try Self.curl(["--cacert", renewed.ca, "-f", engineURL + "/readyz"])
        #expect(engineNew.status == 0, "\(engineNew.output)")

        // A key that is not the certificate's: the reload is refused and the renewed one stays.
        try FileManager.default.removeItem(atPath: files.key)
        try FileManager.default.copyItem(atPath: files.ca, toPath: files.key)
        kill(director.process.processIdentifier, SIGHUP)
        _ = try await director.waitFor("tls certificate not reloaded")
        let still = try Self.curl(["--cacert", renewed.ca, "-f", cluster.directorURL + "/healthz"])
        #expect(still.status == 0, "\(still.output)")
    }
}
}
