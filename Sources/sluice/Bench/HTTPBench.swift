import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceClient
import SluiceCore

/// Opens N paced HTTP streams through the director at once and reports, for each, the rate it
/// delivered against the payload rate of what the director reserved (`X-Sluice-Reserved-Rate`,
/// a link rate: the payload is what TCP/IP headers leave of it, see `WireFraming`), and the
/// startup latency (request to first media byte).
struct HTTPBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "Play N concurrent HTTP streams and report each one's delivered rate against its reservation's payload rate.",
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
    @Flag(help: "The URL is the media itself (another server, e.g. nginx), not a director's play URL.")
    var direct = false
    @Option(help: "The media's bit rate (e.g. 4000000): measure each stream's stall time as a player playing at this rate would see it.")
    var mediaBitrate: Double?
    @Option(help: "Seconds of media the stall-measuring player buffers before it starts playing.")
    var prebuffer: Double = 1
    @Option(help: "Write what each viewer saw to this file, one JSON object per line.")
    var viewersFile: String?

    func run() async throws {
        guard (1...5000).contains(streams), seconds > 0, seconds <= 3600, warmup >= 0, warmup < seconds else {
            throw ValidationError("streams must be 1...5000, seconds in (0, 3600] and warmup in [0, seconds)")
        }
        guard mediaBitrate.map({ $0 > 0 }) ?? true, prebuffer >= 0 else {
            throw ValidationError("--media-bitrate must be positive and --prebuffer not negative")
        }
        guard !direct || mediaBitrate != nil else { throw ValidationError("--direct needs --media-bitrate (there is no reserved rate to compare with)") }
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = streams * 2 + 8
        configuration.tlsConfiguration = try ClientTLS(caFile: cacert ?? Environment.caFile).configuration()
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let apiKey = key ?? ProcessInfo.processInfo.environment["SLUICE_API_KEY"]
        let options = StreamOptions(url: url, apiKey: apiKey, seconds: seconds, warmup: warmup, direct: direct,
                                    mediaBitsPerSecond: mediaBitrate, prebufferSeconds: prebuffer)
        let samples = await withTaskGroup(of: Sample.self) { group in
            for _ in 0..<streams {
                group.addTask { await Self.stream(options, client: client) }
            }
            return await group.reduce(into: [Sample]()) { $0.append($1) }
        }
        try? await client.shutdown()
        if let viewersFile { try ViewerRecord.write(samples.map(\.record), to: viewersFile) }
        let summary = Summary(streams: streams, samples: samples)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            announce(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            announce("""
                streams:   \(summary.played) played, \(summary.failed) failed (of \(streams))
                delivered: \(String(format: "%.2f", summary.totalDeliveredMbps)) Mbit/s in all
                ratio:     delivered/payload rate min \(String(format: "%.4f", summary.ratioMin)), p50 \(String(format: "%.4f", summary.ratioP50)), max \(String(format: "%.4f", summary.ratioMax)); \(summary.within2Percent) within 2 %
                startup:   p50 \(String(format: "%.1f", summary.startupP50Milliseconds)) ms, p99 \(String(format: "%.1f", summary.startupP99Milliseconds)) ms
                """)
            if let first = summary.firstError { announce("first failure: \(first)") }
        }
    }

    struct StreamOptions: Sendable {
        var url: String
        var apiKey: String?
        var seconds: Double
        var warmup: Double
        var direct: Bool
        var mediaBitsPerSecond: Double?
        var prebufferSeconds: Double
    }

    struct Sample: Sendable {
        /// The payload rate the stream should deliver: its reservation's, or the media's (--direct).
        var expectedBitsPerSecond: Double = 0
        var deliveredBitsPerSecond: Double = 0
        var startupMilliseconds: Double = 0
        var stallSeconds: Double?
        /// The director refused the play (and how long that took).
        var refusalMilliseconds: Double?
        var error: String?

        var record: ViewerRecord {
            var record = ViewerRecord(transport: "http", admitted: refusalMilliseconds == nil && error == nil)
            record.refusalMilliseconds = refusalMilliseconds
            record.error = error
            if record.admitted {
                record.startupMilliseconds = startupMilliseconds
                record.stallSeconds = stallSeconds
            }
            return record
        }
    }

    static func stream(_ options: StreamOptions, client: HTTPClient) async -> Sample {
        var sample = Sample()
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .milliseconds(Int64(options.seconds * 1000))
        let warmup = options.warmup
        var stall = options.mediaBitsPerSecond.map { StallMeter(bitsPerSecond: $0, prebufferSeconds: options.prebufferSeconds) }
        func since(_ instant: ContinuousClock.Instant) -> Double { Double((instant - start) / .microseconds(1)) / 1e6 }
        do {
            var location = options.url
            if options.direct {
                sample.expectedBitsPerSecond = options.mediaBitsPerSecond ?? 0
            } else {
                var request = HTTPClientRequest(url: options.url)
                if let apiKey = options.apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
                let redirect = try await client.execute(request, timeout: .seconds(60))
                _ = try? await redirect.body.collect(upTo: 1 << 16)
                guard redirect.status == .found, let target = redirect.headers.first(name: "Location"),
                      let reserved = redirect.headers.first(name: "X-Sluice-Reserved-Rate").flatMap(Double.init) else {
                    sample.error = "director answered \(redirect.status.code) without a redirect and reserved rate"
                    if redirect.status == .serviceUnavailable || redirect.status == .tooManyRequests {
                        sample.refusalMilliseconds = since(clock.now) * 1000
                    }
                    return sample
                }
                sample.expectedBitsPerSecond = Double(WireFraming.tcpPayloadRate(linkBitsPerSecond: Int64(reserved)))
                location = target
            }
            let response = try await client.execute(HTTPClientRequest(url: location), timeout: .seconds(Int64(options.seconds) + 60))
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
                stall?.arrive(bytes: chunk.readableBytes, at: since(now))
                // The chunk that sets the mark arrived by then: it counts before it, not after.
                if mark == nil, let firstByte, now - firstByte >= .milliseconds(Int64(warmup * 1000)) { mark = (now, bytes) }
                last = now
                if now >= deadline { break }
            }
            if var meter = stall {
                meter.advance(to: since(max(last, deadline)))
                sample.stallSeconds = meter.started ? meter.stalledSeconds : options.seconds
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
            let ratios = played.map { $0.deliveredBitsPerSecond / $0.expectedBitsPerSecond }
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
