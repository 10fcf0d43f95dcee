import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceClient

/// Opens N paced HTTP streams through the director at once and reports, for each, the rate it
/// delivered against the rate the director reserved (`X-Sluice-Reserved-Rate`), and the
/// startup latency (request to first media byte).
struct HTTPBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "Play N concurrent HTTP streams and report each one's delivered rate against its reserved rate.",
        discussion: """
            The rate of a stream is measured from `--warmup` seconds after its first byte to the end \
            of the run, so the bucket's initial burst does not count. Streams are dropped (the client \
            closes the connection) after `--seconds`.
            """)

    @Argument(help: "Director play URL, e.g. http://127.0.0.1:8080/play/bench4m")
    var url: String
    @Option(help: "Concurrent streams.")
    var streams: Int = 10
    @Option(help: "Seconds to receive before closing every stream.")
    var seconds: Double = 10
    @Option(help: "Seconds after a stream's first byte before its rate is measured.")
    var warmup: Double = 1
    @Option(help: "API key (or set SLUICE_API_KEY).")
    var key: String?
    @Flag(help: "Print the summary as JSON.")
    var json = false
    @Option(help: "PEM file of a CA to trust besides the system's, for https:// (default: $SLUICE_CACERT).")
    var cacert: String?

    func run() async throws {
        guard (1...5000).contains(streams), seconds > 0, seconds <= 3600, warmup >= 0, warmup < seconds else {
            throw ValidationError("streams must be 1...5000, seconds in (0, 3600] and warmup in [0, seconds)")
        }
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = streams * 2 + 8
        configuration.tlsConfiguration = try ClientTLS(caFile: cacert ?? Environment.caFile).configuration()
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let apiKey = key ?? ProcessInfo.processInfo.environment["SLUICE_API_KEY"]
        let (url, seconds, warmup) = (self.url, self.seconds, self.warmup)
        let samples = await withTaskGroup(of: Sample.self) { group in
            for _ in 0..<streams {
                group.addTask { await Self.stream(url: url, apiKey: apiKey, seconds: seconds, warmup: warmup, client: client) }
            }
            return await group.reduce(into: [Sample]()) { $0.append($1) }
        }
        try? await client.shutdown()
        let summary = Summary(streams: streams, samples: samples)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            announce(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            announce("""
                streams:   \(summary.played) played, \(summary.failed) failed (of \(streams))
                delivered: \(String(format: "%.2f", summary.totalDeliveredMbps)) Mbit/s in all
                ratio:     delivered/reserved min \(String(format: "%.4f", summary.ratioMin)), p50 \(String(format: "%.4f", summary.ratioP50)), max \(String(format: "%.4f", summary.ratioMax)); \(summary.within2Percent) within 2 %
                startup:   p50 \(String(format: "%.1f", summary.startupP50Milliseconds)) ms, p99 \(String(format: "%.1f", summary.startupP99Milliseconds)) ms
                """)
            if let first = summary.firstError { announce("first failure: \(first)") }
        }
    }

    struct Sample: Sendable {
        var reservedBitsPerSecond: Double = 0
        var deliveredBitsPerSecond: Double = 0
        var startupMilliseconds: Double = 0
        var error: String?
    }

    static func stream(url: String, apiKey: String?, seconds: Double, warmup: Double, client: HTTPClient) async -> Sample {
        var sample = Sample()
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .milliseconds(Int64(seconds * 1000))
        do {
            var request = HTTPClientRequest(url: url)
            if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
            let redirect = try await client.execute(request, timeout: .seconds(60))
            _ = try? await redirect.body.collect(upTo: 1 << 16)
            guard redirect.status == .found, let location = redirect.headers.first(name: "Location"),
                  let reserved = redirect.headers.first(name: "X-Sluice-Reserved-Rate").flatMap(Double.init) else {
                sample.error = "director answered \(redirect.status.code) without a redirect and reserved rate"
                return sample
            }
            sample.reservedBitsPerSecond = reserved
            let response = try await client.execute(HTTPClientRequest(url: location), timeout: .seconds(Int64(seconds) + 60))
            guard response.status == .ok else {
                sample.error = "engine answered \(response.status.code)"
                return sample
            }
            var firstByte: ContinuousClock.Instant?
            var mark: (time: ContinuousClock.Instant, bytes: Int64)?
            var last = start
            var bytes: Int64 = 0
            for try await chunk in response.body {
                let now = clock.now
                if firstByte == nil {
                    firstByte = now
                    sample.startupMilliseconds = Double((now - start) / .microseconds(1)) / 1000
                }
                bytes += Int64(chunk.readableBytes)
                // The chunk that sets the mark arrived by then: it counts before it, not after.
                if mark == nil, let firstByte, now - firstByte >= .milliseconds(Int64(warmup * 1000)) { mark = (now, bytes) }
                last = now
                if now >= deadline { break }
            }
            if let mark, last > mark.time {
                let elapsed = Double((last - mark.time) / .microseconds(1)) / 1e6
                sample.deliveredBitsPerSecond = Double(bytes - mark.bytes) * 8 / elapsed
            } else {
                sample.error = "the stream ended before its rate could be measured"
            }
        } catch {
            sample.error = "\(error)"
        }
        return sample
    }

    struct Summary: Codable {
        var streams: Int
        var played: Int
        var failed: Int
        var totalDeliveredMbps: Double
        var ratioMin: Double
        var ratioP50: Double
        var ratioMax: Double
        var within2Percent: Int
        var startupP50Milliseconds: Double
        var startupP99Milliseconds: Double
        var firstError: String?

        init(streams: Int, samples: [Sample]) {
            let played = samples.filter { $0.error == nil }
            let ratios = played.map { $0.deliveredBitsPerSecond / $0.reservedBitsPerSecond }
            self.streams = streams
            self.played = played.count
            failed = samples.count - played.count
            totalDeliveredMbps = played.reduce(0) { $0 + $1.deliveredBitsPerSecond } / 1e6
            ratioMin = ratios.min() ?? 0
            ratioP50 = quantile(ratios, 0.5)
            ratioMax = ratios.max() ?? 0
            within2Percent = ratios.filter { abs($0 - 1) <= 0.02 }.count
            startupP50Milliseconds = quantile(played.map(\.startupMilliseconds), 0.5)
            startupP99Milliseconds = quantile(played.map(\.startupMilliseconds), 0.99)
            firstError = samples.first { $0.error != nil }?.error
        }
    }
}
