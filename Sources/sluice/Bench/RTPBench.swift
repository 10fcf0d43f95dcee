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

    func run() async throws {
        guard (1...5000).contains(streams), seconds > 0, seconds <= 3600 else {
            throw ValidationError("streams must be 1...5000 and seconds in (0, 3600]")
        }
        let apiKey = key ?? ProcessInfo.processInfo.environment["SLUICE_API_KEY"]
        var client = RTSPPlayClient()
        client.recordsLateness = true
        client.maxDuration = .milliseconds(Int64(seconds * 1000))
        let player = client
        let url = self.url
        let reports = try await withThrowingTaskGroup(of: PlayReport.self) { group in
            for _ in 0..<streams {
                group.addTask { try await player.play(url: url, apiKey: apiKey, output: nil, directorURL: nil) }
            }
            return try await group.reduce(into: [PlayReport]()) { $0.append($1) }
        }
        let refused = reports.filter { $0.errorMessage != nil }
        let played = reports.filter { $0.errorMessage == nil }
        var lateness = played.flatMap { $0.latenessMicroseconds ?? [] }
        lateness.sort()
        func percentile(_ p: Double) -> Double {
            lateness.isEmpty ? 0 : Double(lateness[min(lateness.count - 1, Int(Double(lateness.count) * p))]) / 1000
        }
        let received = played.reduce(0) { $0 + ($1.packetsReceived ?? 0) }
        let lost = played.reduce(0) { $0 + ($1.packetsLost ?? 0) }
        let summary = Summary(
            streams: streams, played: played.count, refused: refused.count, packetsReceived: received, packetsLost: lost,
            latenessP50Milliseconds: percentile(0.5), latenessP99Milliseconds: percentile(0.99),
            latenessMaxMilliseconds: lateness.last.map { Double($0) / 1000 } ?? 0,
            startupP50Milliseconds: quantile(played.map(\.startupMilliseconds), 0.5),
            startupP99Milliseconds: quantile(played.map(\.startupMilliseconds), 0.99))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            announce(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            announce("""
                streams:  \(summary.played) played, \(summary.refused) refused (of \(streams))
                packets:  \(received) received, \(lost) lost
                lateness: p50 \(String(format: "%.3f", summary.latenessP50Milliseconds)) ms, p99 \(String(format: "%.3f", summary.latenessP99Milliseconds)) ms, max \(String(format: "%.3f", summary.latenessMaxMilliseconds)) ms
                startup:  p50 \(String(format: "%.1f", summary.startupP50Milliseconds)) ms, p99 \(String(format: "%.1f", summary.startupP99Milliseconds)) ms
                """)
            if let first = refused.first?.errorMessage { announce("first refusal: \(first)") }
        }
    }

    struct Summary: Codable {
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
    }

}
