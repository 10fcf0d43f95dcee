import ArgumentParser
import Foundation
import SluiceClient

/// Opens N RTSP sessions at once, receives every stream itself, and reports loss and each
/// packet's lateness against its RTP (PCR-derived) schedule.
struct RTPBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rtp",
        abstract: "Play N concurrent RTSP streams and report loss and per-packet lateness (p50/p99/max).")

    @Argument(help: "RTSP URL of the object, e.g. rtsp://127.0.0.1:8554/bench4m")
    var url: String
    @Option(help: "Concurrent streams.")
    var streams: Int = 10
    @Option(help: "Seconds to receive before tearing every stream down.")
    var seconds: Double = 10
    @Option(help: "API key (or set SLUICE_API_KEY).")
    var key: String?
    @Flag(help: "Print the summary as JSON.")
    var json = false
    @Flag(help: "Send the key over plain rtsp:// to a host that is not this machine (a network that is yours).")
    var insecureHTTP = false
    @Option(help: "Write what each viewer saw to this file, one JSON object per line.")
    var viewersFile: String?

    func run() async throws {
        guard (1...5000).contains(streams), seconds > 0, seconds <= 3600 else {
            throw ValidationError("streams must be 1...5000 and seconds in (0, 3600]")
        }
        let apiKey = key ?? ProcessInfo.processInfo.environment["SLUICE_API_KEY"]
        var client = RTSPPlayClient(tls: ClientTLS(insecureHTTP: insecureHTTP))
        client.recordsLateness = true
        client.maxDuration = .milliseconds(Int64(seconds * 1000))
        let player = client
        let url = self.url
        let plays = await withTaskGroup(of: (PlayReport, Duration).self) { group in
            for _ in 0..<streams {
                group.addTask {
                    let start = ContinuousClock.now
                    let report: PlayReport
                    do {
                        report = try await player.play(url: url, apiKey: apiKey, output: nil, directorURL: nil)
                    } catch {
                        report = PlayReport(failure: "\(error)")
                    }
                    return (report, ContinuousClock.now - start)
                }
            }
            return await group.reduce(into: [(PlayReport, Duration)]()) { $0.append($1) }
        }
        if let viewersFile { try ViewerRecord.write(plays.map { ViewerRecord(rtp: $0, elapsed: $1) }, to: viewersFile) }
        try RTPSummary(streams: streams, reports: plays.map(\.0)).report(json: json)
    }
}

/// Loss, lateness and startup over a set of received RTP streams.
struct RTPSummary: Codable {
    var streams: Int
    var played: Int
    var refused: Int
    var packetsReceived: Int64
    var packetsLost: Int64
    var latenessP50Milliseconds: Double
    var latenessP99Milliseconds: Double
    var latenessMaxMilliseconds: Double
    var startupP50Milliseconds: Double
    var startupP99Milliseconds: Double
    var firstRefusal: String?

    init(streams: Int, reports: [PlayReport]) {
        let played = reports.filter { $0.errorMessage == nil }
        var lateness = played.flatMap { $0.latenessMicroseconds ?? [] }
        lateness.sort()
        func percentile(_ p: Double) -> Double {
            lateness.isEmpty ? 0 : Double(lateness[min(lateness.count - 1, Int(Double(lateness.count) * p))]) / 1000
        }
        self.streams = streams
        self.played = played.count
        refused = reports.count - played.count
        packetsReceived = played.reduce(0) { $0 + ($1.packetsReceived ?? 0) }
        packetsLost = played.reduce(0) { $0 + ($1.packetsLost ?? 0) }
        latenessP50Milliseconds = percentile(0.5)
        latenessP99Milliseconds = percentile(0.99)
        latenessMaxMilliseconds = lateness.last.map { Double($0) / 1000 } ?? 0
        startupP50Milliseconds = quantile(played.map(\.startupMilliseconds), 0.5)
        startupP99Milliseconds = quantile(played.map(\.startupMilliseconds), 0.99)
        firstRefusal = reports.first { $0.errorMessage != nil }?.errorMessage
    }

    func report(json: Bool) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            announce(String(decoding: try encoder.encode(self), as: UTF8.self))
            return
        }
        announce("""
            streams:  \(played) played, \(refused) refused (of \(streams))
            packets:  \(packetsReceived) received, \(packetsLost) lost
            lateness: p50 \(String(format: "%.3f", latenessP50Milliseconds)) ms, p99 \(String(format: "%.3f", latenessP99Milliseconds)) ms, max \(String(format: "%.3f", latenessMaxMilliseconds)) ms
            startup:  p50 \(String(format: "%.1f", startupP50Milliseconds)) ms, p99 \(String(format: "%.1f", startupP99Milliseconds)) ms
            """)
        if let firstRefusal { announce("first refusal: \(firstRefusal)") }
    }
}
