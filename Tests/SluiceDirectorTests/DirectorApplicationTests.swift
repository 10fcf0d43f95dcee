import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import SluiceConfig
import SluiceCore
import SluiceDirector
import SluiceGrant
import Testing

/// The whole director — routes, middleware, RTSP server, sweeper — built from in-memory
/// configuration and run in this process: no child process, no port to find.
@Suite(.timeLimit(.minutes(1))) struct DirectorApplicationTests {
    static let secret = "in-process-test-secret-0123456789"
    static let key = "operator-key"
    let directory = NSTemporaryDirectory() + "sluice-app-" + UUID().uuidString

    func build(coreEdge: String = "3200000", metricsToken: String? = nil, rtspListen: String = "127.0.0.1:0") async throws -> DirectorApplication {
        let yaml = """
            director:
              \(metricsToken.map { "metricsToken: \($0)" } ?? "")
              listen: 127.0.0.1:0
              rtspListen: "\(rtspListen)"
              dataDirectory: \(directory)
              apiKeys: [\(Self.key)]
              maxWait: 2s
              # The registered engine never heartbeats: it must not be marked down while a
              # slow, loaded test run is still using it.
              heartbeatTimeout: 10m
            grantSecret: \(Self.secret)
            topology:
              nodes:
                - { name: engine-a, kind: engine }
                - { name: core, kind: switch }
                - { name: edge, kind: edge }
              links:
                - { name: a-core, from: engine-a, to: core, capacity: 1Gbit }
                - { name: core-edge, from: core, to: edge, capacity: \(coreEdge) }
            clientNetworks: [{ cidr: 127.0.0.0/8, edge: edge }]
            engines:
              - { name: engine-a, listen: "127.0.0.1:0", dataDirectory: \(directory)/engine-a }
            """
        let configuration = try Configuration.parse(yaml: yaml)
        return try await DirectorServer(configuration: configuration, logger: Logger(label: "test")).buildApplication()
    }

    static let clip = MediaObject(
        name: "clip", sizeBytes: 250_000, durationMilliseconds: 2_000, averageBitsPerSecond: 1_000_000, sha256: String(repeating: "b", count: 64))

    /// Registers engine-a holding `clip`, as an engine would.
    func registerEngine(_ client: some TestClientProtocol) async throws {
        let register = ClusterMessages.RegisterEngine(
            name: "engine-a", url: "http://127.0.0.1:9", capacity: EngineCapacity(maxStreams: 100, bufferBytes: 1 << 30, ingestBitsPerSecond: 1 << 30, diskBytes: 1 << 40),
            objects: [Self.clip])
        try await client.execute(
            uri: "/v1/engines/register", method: .post, headers: [.authorization: "Bearer \(GrantSigner.engineToken(secret: Self.secret))"],
            body: ByteBuffer(bytes: try JSONEncoder().encode(register))
        ) { response in
            #expect(response.status == .ok)
        }
    }

    @Test func healthAndTheOpenAPIDocumentAnswerWithoutAKeyAndTheAPIAsksForOne() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let built = try await build()
        try await built.application.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/openapi.yaml", method: .get) { response in
                #expect(String(buffer: response.body).hasPrefix("openapi: 3.1"))
            }
            try await client.execute(uri: "/v1/streams", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] != nil)
            }
        }
        await built.director.shutdown()
    }

    /// With RTSP turned off the RTSP service has nothing to serve; it must wait for the
    /// shutdown rather than end (a service that ends takes the director down with it).
    @Test func aDirectorWithRTSPOffKeepsServing() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let built = try await build(rtspListen: "off")
        try await built.application.test(.live) { client in
            try await Task.sleep(for: .milliseconds(300))
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
        await built.director.shutdown()
    }

    @Test func playIsAdmittedWithASignedGrantThenRefusedWith503NamingTheFullLink() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let built = try await build()
        try await built.application.test(.live) { client in
            try await registerEngine(client)
            let auth: HTTPFields = [.authorization: "Bearer \(Self.key)"]
            // 1 Mbit/s reserves 1.05 Mbit/s: 3.2 Mbit/s holds three.
            for _ in 0..<3 {
                try await client.execute(uri: "/play/clip", method: .get, headers: auth) { response in
                    #expect(response.status == .found)
                    let location = try #require(response.headers[.location])
                    #expect(location.hasPrefix("http://127.0.0.1:9/stream/clip?grant="))
                    let grant = String(location.split(separator: "grant=").last ?? "")
                    let verified = try GrantSigner(secret: Self.secret).verify(
                        grant, object: "clip", engine: "engine-a", clientAddress: "127.0.0.1", action: .play,
                        now: SystemClock().now())
                    #expect(response.headers[HTTPField.Name("X-Sluice-Stream-ID")!] == "\(verified.streamID)")
                }
            }
            try await client.execute(uri: "/play/clip?maxWait=0.2", method: .get, headers: auth) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] != nil)
                let problem = try JSONDecoder().decode(ClusterMessages.Problem.self, from: Data(buffer: response.body))
                #expect(problem.error == "wait_expired" && problem.link == "core-edge")
            }
            try await client.execute(uri: "/play/missing", method: .get, headers: auth) { response in
                #expect(response.status == .notFound)
            }
        }
        #expect(await built.director.liveStreams().count == 3)
        await built.director.shutdown()
    }
}

extension DirectorApplicationTests {
    /// `/metrics` is Prometheus text: every line a comment or `name{labels} value`; admissions
    /// and refusals count by transport and reason, and the link gauges follow the reservations.
    @Test func metricsFollowAdmissionsAndReservations() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let built = try await build(coreEdge: "1500000")
        try await built.application.test(.router) { client in
            try await registerEngine(client)
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/play/clip", method: .get, headers: [.authorization: "Bearer \(Self.key)"]) { #expect($0.status == .found) }
            // The second viewer does not fit the 1.5 Mbit/s core-edge: it waits 0.1 s in the queue
            // and is refused as path_full.
            try await client.execute(uri: "/play/clip?maxWait=0.1", method: .get, headers: [.authorization: "Bearer \(Self.key)"]) { #expect($0.status == .serviceUnavailable) }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(Self.key)"]) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                var samples: [String: Double] = [:]
                for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                    let parts = line.split(separator: " ")
                    #expect(parts.count == 2 && Double(parts[1]) != nil, "not a sample: \(line)")
                    samples[String(parts[0])] = Double(parts[1])
                }
                #expect(samples[#"sluice_admissions_total{transport="http",result="admitted"}"#] == 1, "\(text)")
                #expect(samples[#"sluice_admissions_total{transport="http",result="refused"}"#] == 1, "\(text)")
                #expect(samples[#"sluice_refusals_total{reason="wait_expired"}"#] == 1, "\(text)")
                #expect(samples[#"sluice_link_capacity_bps{link="core-edge"}"#] == 1_500_000)
                #expect(samples[#"sluice_link_reserved_bps{link="core-edge"}"#] == 1_050_000, "the admitted stream's rate with 5 % headroom")
                #expect(samples[#"sluice_live_streams{transport="http"}"#] == 1 && samples["sluice_queue_depth"] == 0)
                #expect(samples.keys.contains { $0.hasPrefix("sluice_build_info{") })
                #expect(samples[#"sluice_queue_wait_seconds_count{result="refused"}"#] == 1, "the refused viewer waited in the queue")
                #expect((samples[#"sluice_queue_wait_seconds_sum{result="refused"}"#] ?? 0) >= 0.1)
                #expect(samples[#"sluice_leases_total{event="renewed"}"#] == 0)
                #expect((samples[#"sluice_store_seconds_count{operation="write"}"#] ?? 0) >= 1, "the admission was saved")
                #expect((samples[#"hb_requests{http_route="/play/{object}",http_request_method="GET",http_response_status_code="302"}"#] ?? 0) >= 1, "\(text)")
                // Every family the README names is there, each declared once.
                let families = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
                #expect(Set(families).count == families.count, "a family declared twice: \(families)")
                for family in [
                    "sluice_admissions_total", "sluice_refusals_total", "sluice_queue_depth", "sluice_queue_wait_seconds",
                    "sluice_live_streams", "sluice_link_capacity_bps", "sluice_link_reserved_bps", "sluice_leases_total",
                    "sluice_handoffs_total", "sluice_copies_total", "sluice_webhook_backlog_records", "sluice_store_seconds",
                    "sluice_build_info", "hb_requests", "http_server_request_duration",
                ] {
                    #expect(families.contains(Substring(family)), "\(family) missing")
                }
            }
        }
        await built.director.shutdown()
    }

    /// A scraper's token reads `/metrics` and nothing else.
    @Test func theMetricsTokenReadsMetricsOnly() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let built = try await build(metricsToken: "scraper-token-0123456789")
        try await built.application.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer scraper-token-0123456789"]) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer scraper-token-012345678"]) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/streams", method: .get, headers: [.authorization: "Bearer scraper-token-0123456789"]) {
                #expect($0.status == .unauthorized)
            }
        }
        await built.director.shutdown()
    }
}

extension DirectorApplicationTests {
    /// `GET /v1/streams/{id}`: a viewer learns what became of its own stream, and another
    /// viewer's stream answers exactly like one that does not exist.
    @Test func aViewerSeesItsOwnStreamsStateOnly() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let built = try await build()
        try await built.application.test(.router) { client in
            try await registerEngine(client)
            var keys: [String] = []
            for name in ["vera", "otto"] {
                try await client.execute(
                    uri: "/v1/users", method: .post, headers: [.authorization: "Bearer \(Self.key)", .contentType: "application/json"],
                    body: ByteBuffer(string: #"{"name":"\#(name)","role":"viewer"}"#)) { #expect($0.status == .created) }
                try await client.execute(uri: "/v1/users/\(name)/keys", method: .post, headers: [.authorization: "Bearer \(Self.key)"]) { response in
                    struct Created: Decodable { var key: String }
                    keys.append(try JSONDecoder().decode(Created.self, from: Data(response.body.readableBytesView)).key)
                }
            }
            let id = try await client.execute(uri: "/play/clip", method: .get, headers: [.authorization: "Bearer \(keys[0])"]) { response in
                #expect(response.status == .found)
                return response.headers[HTTPField.Name("X-Sluice-Stream-ID")!] ?? ""
            }
            try await client.execute(uri: "/v1/streams/\(id)", method: .get, headers: [.authorization: "Bearer \(keys[0])"]) { response in
                #expect(response.status == .ok && String(buffer: response.body).contains(#""state":"live""#))
            }
            let othersAnswer = try await client.execute(uri: "/v1/streams/\(id)", method: .get, headers: [.authorization: "Bearer \(keys[1])"]) {
                ($0.status, String(buffer: $0.body))
            }
            let missingAnswer = try await client.execute(uri: "/v1/streams/12345", method: .get, headers: [.authorization: "Bearer \(keys[1])"]) {
                ($0.status, String(buffer: $0.body))
            }
            #expect(othersAnswer.0 == .notFound && missingAnswer.0 == .notFound)
            #expect(othersAnswer.1.replacingOccurrences(of: id, with: "12345") == missingAnswer.1, "the answers differ only in the ID")
            // Ended by an operator: its owner reads the usage record's reason.
            try await client.execute(uri: "/v1/streams/\(id)", method: .delete, headers: [.authorization: "Bearer \(Self.key)"]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/streams/\(id)", method: .get, headers: [.authorization: "Bearer \(keys[0])"]) { response in
                let body = String(buffer: response.body)
                #expect(response.status == .ok && body.contains(#""state":"ended""#) && body.contains(#""endReason":"torn_down""#), "\(body)")
            }
        }
        await built.director.shutdown()
    }
}
