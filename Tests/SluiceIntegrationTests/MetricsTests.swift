import Foundation
import Testing

extension IntegrationTests {
/// `/metrics` on real director and engine processes while real players play.
@Suite struct MetricsTests {
    static let token = "scraper-token-0123456789"

    /// Samples of a Prometheus text exposition by series (`name{labels}`); every line that is not
    /// a comment must be `series value`.
    static func samples(_ text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            #expect(parts.count == 2 && Double(parts[1]) != nil, "not a sample: \(line)")
            if parts.count == 2 { samples[String(parts[0])] = Double(parts[1]) }
        }
        return samples
    }

    static func scrape(_ cluster: Cluster, base: String? = nil) async throws -> [String: Double] {
        samples(try await exposition(cluster, base: base))
    }

    static func exposition(_ cluster: Cluster, base: String? = nil) async throws -> String {
        let reply = try await cluster.get("/metrics", headers: [("Authorization", "Bearer \(token)")], base: base)
        #expect(reply.status == 200)
        return String(decoding: reply.body, as: UTF8.self)
    }

    /// The metric families an exposition declares (`# TYPE name kind`).
    static func families(_ text: String) -> Set<String> {
        Set(text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
    }

    /// An HTTP and an RTSP viewer play: the reserved bandwidth on the shared link rises while
    /// they play and returns to 0; the engine's pacing-lateness histograms fill for both
    /// transports, its byte counters carry what was sent, and the RTSP player's receiver
    /// reports are counted.
    @Test func reservedBandwidthRisesAndFallsAndTheLatenessHistogramFills() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"], directorSettings: "metricsToken: \(Self.token)")
        defer { cluster.stop() }
        try await cluster.start()
        let source = try cluster.makeSample(name: "clip", seconds: 3, bitrate: 1_000_000)
        try cluster.put(source, as: "clip")
        let engine = try #require(cluster.engineURLs["engine-a"])
        #expect(try await cluster.get("/metrics", base: engine).status == 401)
        #expect(try await Self.scrape(cluster)[#"sluice_link_reserved_bps{link="core-edge"}"#] == 0)

        let http = Task.detached { try cluster.run(["play", cluster.directorURL + "/play/clip", "--key", Cluster.apiKey, "--out", cluster.directory + "/http.ts"]) }
        let rtsp = Task.detached { try cluster.run(["play", cluster.rtspURL + "/clip?key=\(Cluster.apiKey)", "--out", cluster.directory + "/rtsp.ts"]) }
        try await cluster.waitUntil("both streams reserved on core-edge", timeout: .seconds(10)) {
            let metrics = try await Self.scrape(cluster)
            return (metrics[#"sluice_link_reserved_bps{link="core-edge"}"#] ?? 0) >= 2 * 1_000_000
                && metrics[#"sluice_live_streams{transport="http"}"#] == 1 && metrics[#"sluice_live_streams{transport="rtsp"}"#] == 1
        }
        #expect(try await http.value.status == 0)
        #expect(try await rtsp.value.status == 0)
        try await cluster.waitUntil("core-edge free again") {
            try await Self.scrape(cluster)[#"sluice_link_reserved_bps{link="core-edge"}"#] == 0
        }
        let director = try await Self.scrape(cluster)
        #expect(director[#"sluice_admissions_total{transport="http",result="admitted"}"#] == 1)
        #expect(director[#"sluice_admissions_total{transport="rtsp",result="admitted"}"#] == 1)
        #expect((director[#"sluice_leases_total{event="renewed"}"#] ?? 0) >= 2)

        let metrics = try await Self.scrape(cluster, base: engine)
        let size = try #require(FileManager.default.attributesOfItem(atPath: source)[.size] as? Int)
        #expect(metrics[#"sluice_engine_sent_bytes_total{engine="engine-a",transport="http"}"#] == Double(size))
        #expect((metrics[#"sluice_engine_sent_bytes_total{engine="engine-a",transport="rtp"}"#] ?? 0) >= Double(size) * 0.95)
        let rtpPackets = try #require(metrics[#"sluice_engine_sent_packets_total{engine="engine-a",transport="rtp"}"#])
        // One lateness sample per RTP packet and per HTTP chunk; a quiet loopback sends nearly all
        // within 2 ms of schedule.
        let rtpLate = #"sluice_engine_pacing_lateness_seconds_bucket{engine="engine-a",transport="rtp",le="0.002"}"#
        #expect(metrics[#"sluice_engine_pacing_lateness_seconds_count{engine="engine-a",transport="rtp"}"#] == rtpPackets)
        #expect((metrics[rtpLate] ?? 0) >= rtpPackets * 0.9, "\(metrics[rtpLate] ?? 0) of \(rtpPackets) packets within 2 ms")
        #expect((metrics[#"sluice_engine_pacing_lateness_seconds_count{engine="engine-a",transport="http"}"#] ?? 0) > 0)
        #expect((metrics[#"sluice_engine_read_seconds_count{engine="engine-a"}"#] ?? 0) > 0)
        #expect((metrics[#"sluice_engine_rtcp_reports_total{engine="engine-a"}"#] ?? 0) >= 1, "the player's receiver reports")
        #expect(metrics[#"sluice_engine_objects{engine="engine-a"}"#] == 1)
        #expect((metrics[#"sluice_engine_disk_free_bytes{engine="engine-a"}"#] ?? 0) > 0)
        #expect(metrics[#"sluice_engine_streams{engine="engine-a",transport="http",profile="traditional"}"#] == 0)

        // The Grafana dashboard in deploy/ queries only metrics that director and engines expose.
        let exposed = Self.families(try await Self.exposition(cluster)).union(Self.families(try await Self.exposition(cluster, base: engine)))
        let dashboard = try String(contentsOfFile: Cluster.packageRoot + "/deploy/grafana/sluice-dashboard.json", encoding: .utf8)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(dashboard.utf8)) as? [String: Any])
        let panels = try #require(json["panels"] as? [[String: Any]])
        let expressions = panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
        #expect(expressions.count >= 14)
        let used = Set(expressions.flatMap { expression in
            expression.matches(of: /sluice_[a-z_]+/).map { match in
                String(match.output).replacing(/_(bucket|sum|count)$/, with: "")
            }
        })
        #expect(used.isSuperset(of: ["sluice_link_reserved_bps", "sluice_queue_depth", "sluice_refusals_total", "sluice_engine_pacing_lateness_seconds", "sluice_engine_rtcp_fraction_lost"]))
        #expect(used.subtracting(exposed).isEmpty, "the dashboard queries metrics nobody exposes: \(used.subtracting(exposed).sorted())")
    }

    /// The scrape configuration in deploy/ works with a real Prometheus: pointed at a running
    /// director and engine (ports and token file swapped in), both targets are up and the
    /// link gauges reach its store.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus"), "needs prometheus (Debian)"))
    func prometheusScrapesTheDirectorAndEnginesWithTheShippedConfig() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"], directorSettings: "metricsToken: \(Self.token)")
        defer { cluster.stop() }
        try await cluster.start()
        let engine = try #require(cluster.engineURLs["engine-a"])
        let tokenFile = cluster.directory + "/metrics-token"
        try Self.token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let shipped = try String(contentsOfFile: Cluster.packageRoot + "/deploy/prometheus/prometheus.yml", encoding: .utf8)
        let config = shipped
            .replacingOccurrences(of: "scrape_interval: 5s", with: "scrape_interval: 1s")
            .replacingOccurrences(of: "/etc/prometheus/sluice-metrics-token", with: tokenFile)
            .replacingOccurrences(of: #"["127.0.0.1:8080"]"#, with: #"["\#(cluster.directorURL.dropFirst(7))"]"#)
            .replacingOccurrences(of: #"["127.0.0.1:8081", "127.0.0.1:8082"]"#, with: #"["\#(engine.dropFirst(7))"]"#)
        #expect(config != shipped.replacingOccurrences(of: "scrape_interval: 5s", with: "scrape_interval: 1s"))
        try config.write(toFile: cluster.directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        let checked = try Cluster.runTool("/usr/bin/promtool", ["check", "config", cluster.directory + "/prometheus.yml"])
        #expect(checked.status == 0, "\(checked.output)")

        let port = try await WebDriver.freeLoopbackPort()
        let prometheus = Process()
        prometheus.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
        prometheus.arguments = [
            "--config.file=\(cluster.directory)/prometheus.yml", "--storage.tsdb.path=\(cluster.directory)/tsdb",
            "--web.listen-address=127.0.0.1:\(port)",
        ]
        prometheus.standardOutput = FileHandle.nullDevice
        prometheus.standardError = FileHandle.nullDevice
        try prometheus.run()
        defer {
            kill(prometheus.processIdentifier, SIGKILL)
            while prometheus.isRunning { usleep(10_000) }
        }
        let api = "http://127.0.0.1:\(port)"
        try await cluster.waitUntil("both targets up in Prometheus", timeout: .seconds(30)) {
            guard let reply = try? await cluster.get("/api/v1/query?query=sum(up)", base: api), reply.status == 200 else { return false }
            return String(decoding: reply.body, as: UTF8.self).contains(#""value":["#) && String(decoding: reply.body, as: UTF8.self).contains(#","2"]"#)
        }
        let links = try await cluster.get("/api/v1/query?query=sluice_link_capacity_bps%7Blink%3D%22core-edge%22%7D", base: api)
        #expect(String(decoding: links.body, as: UTF8.self).contains(#""100000000"]"#), "\(String(decoding: links.body, as: UTF8.self))")
    }
}
}
