import ArgumentParser
import Foundation
import SluiceClient

/// The receiving half of a peer comparison: binds N RTP ports, writes them to a file for the
/// senders (ffmpeg, GStreamer), and measures what arrives exactly as `bench rtp` does.
struct RTPListenBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rtp-listen",
        abstract: "Receive N plain RTP/MP2T streams on local ports and report loss and per-packet lateness.",
        discussion: "The ports (one per line) are written to --ports-file once bound; start the senders after it appears.")

    @Option(help: "Streams (ports) to receive.")
    var streams: Int = 10
    @Option(help: "Seconds to receive, counted from when the ports are bound.")
    var seconds: Double = 10
    @Option(help: "Where to write the bound ports, one per line.")
    var portsFile: String
    @Option(help: "Address to bind the ports on.")
    var host = "127.0.0.1"
    @Flag(help: "Print the summary as JSON.")
    var json = false
    @Option(help: "Write what each stream's viewer saw to this file, one JSON object per line.")
    var viewersFile: String?

    func run() async throws {
        guard (1...5000).contains(streams), seconds > 0, seconds <= 3600 else {
            throw ValidationError("streams must be 1...5000 and seconds in (0, 3600]")
        }
        let listener = try await RTPListener.bind(count: streams, host: host)
        let list = listener.ports.map(String.init).joined(separator: "\n") + "\n"
        // Written whole, then renamed, so a reader never sees half the ports.
        try list.write(toFile: portsFile + ".partial", atomically: false, encoding: .utf8)
        try FileManager.default.moveItem(atPath: portsFile + ".partial", toPath: portsFile)
        let reports = try await listener.receive(for: .milliseconds(Int64(seconds * 1000)))
        if let viewersFile { try ViewerRecord.write(reports.map { ViewerRecord(rtp: $0, elapsed: .zero) }, to: viewersFile) }
        try RTPSummary(streams: streams, reports: reports).report(json: json)
    }
}
