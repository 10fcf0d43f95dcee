import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import SluiceConfig
import SluiceCore
import SluiceEngine
import SluiceGrant
import Testing

/// A whole engine — object store, RTP sockets, routes, background work — built from in-memory
/// configuration and driven in this process. Its director is not running: registration keeps
/// retrying, which must not disturb the routes or the engine's exit.
@Suite(.timeLimit(.minutes(1))) struct EngineApplicationTests {
    static let secret = "in-process-engine-secret-0123456789"
    let directory = NSTemporaryDirectory() + "sluice-engine-" + UUID().uuidString

    func build(metricsToken: String? = nil) async throws -> EngineApplication {
        let yaml = """
            grantSecret: \(Self.secret)
            topology:
              nodes:
                - { name: engine-a, kind: engine }
                - { name: edge, kind: edge }
              links:
                - { name: a-edge, from: engine-a, to: edge, capacity: 1Gbit }
            engines:
              - { name: engine-a, listen: "127.0.0.1:0", dataDirectory: \(directory) }
            """
        let configuration = try Configuration.parse(yaml: yaml)
        let settings = try #require(configuration.engine(named: "engine-a"))
        var server = EngineServer(settings: settings, directorURL: "http://127.0.0.1:9", grantSecret: Self.secret, logger: Logger(label: "test"))
        server.metricsToken = metricsToken
        return try await server.buildApplication()
    }

    @Test func streamsAndControlCallsAskForTheirCredentials() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let engine = try await build()
        try await engine.application.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            // No grant, and a grant signed with another secret: refused before any byte.
            try await client.execute(uri: "/stream/clip", method: .get) { #expect($0.status == .forbidden) }
            let forged = GrantSigner(secret: "another-secret-0123456789abcdef").sign(StreamGrant(
                streamID: 9, action: .play, object: "clip", engine: "engine-a", bitsPerSecond: 1_000_000, clientAddress: "127.0.0.1",
                expiresAt: Timestamp(millisecondsSinceEpoch: Int64.max / 2)))
            try await client.execute(uri: "/stream/clip?grant=\(forged)", method: .get) { response in
                #expect(response.status == .forbidden)
                #expect(response.body.readableBytes < 1_000)
            }
            // The director's control API wants the cluster token.
            try await client.execute(uri: "/v1/rtp/sessions", method: .post, body: ByteBuffer(string: "{}")) { #expect($0.status == .unauthorized) }
            try await client.execute(
                uri: "/v1/streams/stop", method: .post, headers: [.authorization: "Bearer not-the-token"], body: ByteBuffer(string: #"{"ids":[1]}"#)
            ) { #expect($0.status == .unauthorized) }
            try await client.execute(
                uri: "/v1/profiles", method: .get, headers: [.authorization: "Bearer \(GrantSigner.engineToken(secret: Self.secret))"]
            ) { #expect($0.status == .ok) }
        }
        await engine.close()
    }
}

extension EngineApplicationTests {
    /// Every operation of the engine's OpenAPI document is served (an unknown route answers a
    /// bare "Not Found"; a served one answers with what it checked), and errors are Problems.
    @Test func theOpenAPIDocumentListsWhatTheEngineServes() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let engine = try await build()
        var operations: [(HTTPRequest.Method, String)] = []
        var path = ""
        for line in EngineOpenAPIDocument.yaml.split(separator: "\n") {
            if line.hasPrefix("  /") && line.hasSuffix(":") { path = String(line.dropFirst(2).dropLast()) }
            for method in ["get", "head", "put", "post", "delete"] where line == "    \(method):" && !path.isEmpty {
                operations.append((HTTPRequest.Method(rawValue: method.uppercased())!, path.replacingOccurrences(of: "{object}", with: "clip").replacingOccurrences(of: "{id}", with: "7").replacingOccurrences(of: "{segment}", with: "0.ts")))
            }
        }
        #expect(operations.count == 17, "\(operations.map { "\($0.0) \($0.1)" })")
        let served = operations
        try await engine.application.test(.router) { client in
            try await client.execute(uri: "/no/such/route", method: .get) { response in
                #expect(response.status == .notFound)
                let problem = try? JSONDecoder().decode(ClusterMessages.Problem.self, from: Data(response.body.readableBytesView))
                #expect(problem?.error == "not_found" && problem?.message == "Not Found")
            }
            for (method, uri) in served {
                try await client.execute(uri: uri, method: method, body: ByteBuffer(string: "{}")) { response in
                    let body = String(buffer: response.body)
                    #expect(!(response.status == .notFound && body.contains(#""message":"Not Found""#)), "\(method) \(uri) is not served")
                    if response.status.code >= 400 && method != .head {
                        #expect(body.contains(#""error":"#) && body.contains(#""message":"#), "\(method) \(uri): \(body)")
                    }
                }
            }
        }
        await engine.close()
    }
}

extension EngineApplicationTests {
    /// `/metrics` answers the cluster token and the scraper's token, nobody else; an idle engine
    /// already declares every family the README names, with the streams gauges at 0.
    @Test func engineMetricsNeedATokenAndNameEveryFamily() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let engine = try await build(metricsToken: "scraper-token-0123456789")
        try await engine.application.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer scraper-token-012345678"]) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(GrantSigner.engineToken(secret: Self.secret))"]) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer scraper-token-0123456789"]) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                var families: [Substring] = []
                for line in text.split(separator: "\n") {
                    if line.hasPrefix("# TYPE ") { families.append(line.split(separator: " ")[2]) }
                    if line.hasPrefix("#") { continue }
                    let parts = line.split(separator: " ")
                    #expect(parts.count == 2 && Double(parts[1]) != nil, "not a sample: \(line)")
                }
                #expect(Set(families).count == families.count, "a family declared twice: \(families)")
                for family in [
                    "sluice_engine_streams", "sluice_engine_sent_bytes_total", "sluice_engine_sent_packets_total",
                    "sluice_engine_pacing_lateness_seconds", "sluice_engine_rtcp_fraction_lost", "sluice_engine_rtcp_jitter_seconds",
                    "sluice_engine_rtcp_reports_total", "sluice_engine_read_seconds", "sluice_engine_objects", "sluice_engine_object_bytes",
                    "sluice_engine_disk_free_bytes", "sluice_build_info",
                ] {
                    #expect(families.contains(Substring(family)), "\(family) missing")
                }
                #expect(text.contains(#"sluice_engine_streams{engine="engine-a",transport="rtp",profile="traditional"} 0"#))
                #expect(text.contains(#"sluice_engine_objects{engine="engine-a"} 0"#))
            }
        }
        await engine.close()
    }
}
