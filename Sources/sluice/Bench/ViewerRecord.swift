import Foundation
import SluiceClient

/// What one viewer of a benchmark saw, written one JSON object per line with `--viewers-file`
/// (Benchmarks/qos-proof.sh reads them to plot each viewer).
struct ViewerRecord: Codable {
    /// "rtp" or "http".
    var transport: String
    var admitted: Bool
    /// How long the refusal took to come (refused viewers only).
    var refusalMilliseconds: Double?
    var startupMilliseconds: Double?
    /// RTP: packets lost (sequence gaps) as a percentage of packets sent.
    var lossPercent: Double?
    /// RTP: the 99th percentile of this viewer's packet lateness against its RTP schedule.
    var latenessP99Milliseconds: Double?
    /// HTTP: seconds a player would have stood still with an empty buffer (see `StallMeter`).
    var stallSeconds: Double?
    var error: String?

    /// An RTP viewer from its play report; `elapsed` is how long the play took to return.
    init(rtp report: PlayReport, elapsed: Duration) {
        transport = "rtp"
        admitted = report.errorMessage == nil
        error = report.errorMessage
        guard admitted else {
            // The director's answers when nothing is free (453 Not Enough Bandwidth, 503).
            if report.status == 453 || report.status == 503 { refusalMilliseconds = Double(elapsed / .microseconds(1)) / 1000 }
            return
        }
        startupMilliseconds = report.startupMilliseconds
        let received = report.packetsReceived ?? 0, lost = report.packetsLost ?? 0
        lossPercent = received + lost > 0 ? Double(lost) / Double(received + lost) * 100 : 100
        let lateness = (report.latenessMicroseconds ?? []).sorted()
        latenessP99Milliseconds = lateness.isEmpty ? nil : Double(lateness[min(lateness.count - 1, lateness.count * 99 / 100)]) / 1000
    }

    init(transport: String, admitted: Bool) {
        self.transport = transport
        self.admitted = admitted
    }

    /// Writes into `path` as `OutputFile` does (an existing file is truncated in place, a FIFO
    /// or device written into, never replaced).
    static func write(_ records: [ViewerRecord], to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var bytes: [UInt8] = []
        for record in records { bytes += try encoder.encode(record) + [UInt8(ascii: "\n")] }
        let file = try OutputFile.open(path, force: true)
        defer { file.close() }
        try file.write(bytes)
    }
}
