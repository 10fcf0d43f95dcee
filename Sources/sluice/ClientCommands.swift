import ArgumentParser
import Foundation
import SluiceClient
import SluiceCore
import SluiceMedia

struct PutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put",
        abstract: "Upload an MPEG-TS file: the director admits the write, the engine stores and verifies it.",
        discussion: """
            The object is listed only after the engine has fsynced it and checked its size and SHA-256. \
            A user's upload is theirs and private unless --visibility says otherwise (change it later \
            with `sluice access`); an operator's upload is public.
            """)

    @Argument(help: "MPEG-TS file to upload.")
    var file: String
    @Option(help: "Object name (A-Z a-z 0-9 . _ -).")
    var name: String
    @Option(help: "Director base URL.")
    var director: String = "http://127.0.0.1:8080"
    @Option(help: "API key (or set SLUICE_API_KEY).")
    var key: String?
    @Option(help: "Who may play it: public, private (you and admins) or granted (see sluice access).")
    var visibility: String?

    func run() async throws {
        let apiKey = key ?? ProcessInfo.processInfo.environment["SLUICE_API_KEY"]
        let access = try visibility.map { value in
            guard let parsed = ObjectAccess.Visibility(rawValue: value) else { throw ValidationError("--visibility must be public, private or granted") }
            return parsed
        }
        do {
            let result = try await UploadClient().put(file: file, name: name, directorURL: director, apiKey: apiKey, visibility: access)
            announce("stored '\(name)' on \(result.engine): \(result.sizeBytes) bytes, sha256 \(result.sha256)")
        } catch let error as ClientError {
            throw ValidationError(error.description)
        }
    }
}

struct PlayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "play",
        abstract: "Play an object over HTTP or RTSP, write it to a file and report startup latency, rate, loss and checksum.",
        discussion: """
            HTTP:  sluice play http://127.0.0.1:8080/play/sample --key demo-key --out sample.ts
            RTSP:  sluice play rtsp://127.0.0.1:8554/sample --key demo-key --out sample.ts
            Over RTSP the player receives RTP itself (UDP), reorders it, sends receiver reports and \
            stops at the server's BYE.
            """)

    @Argument(help: "Play URL on the director: http://HOST:PORT/play/NAME or rtsp://HOST:PORT/NAME")
    var url: String
    @Option(help: "Director HTTP URL for the checksum lookup of an rtsp:// play (default: http://HOST:8080).")
    var director: String?
    @Option(help: "Write the received bytes here.")
    var out: String?
    @Option(help: "API key (or set SLUICE_API_KEY).")
    var key: String?
    @Option(help: "A license (or a file holding it): the stream is read with a profile it unlocks.")
    var license: String?
    @Option(help: "Which of the license's profiles to use (default: the one that suits the stream's rate).")
    var profile: String?
    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        let apiKey = key ?? ProcessInfo.processInfo.environment["SLUICE_API_KEY"]
        var query: [String] = []
        if let license { query.append("license=" + (try LicenseCommand.readLicense(license))) }
        if let profile { query.append("profile=" + profile) }
        let url = query.isEmpty ? self.url : self.url + (self.url.contains("?") ? "&" : "?") + query.joined(separator: "&")
        let report = url.lowercased().hasPrefix("rtsp://")
            ? try await RTSPPlayClient().play(url: url, apiKey: apiKey, output: out, directorURL: director)
            : try await PlayClient().play(url: url, apiKey: apiKey, output: out)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            announce(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else if let error = report.errorMessage {
            announce("refused: HTTP \(report.status): \(error)")
        } else {
            let checksum = report.checksumMatches.map { $0 ? "matches the directory" : "DOES NOT MATCH the directory (\(report.expectedSHA256 ?? ""))" } ?? "not checked (catalog unavailable)"
            announce("""
                engine:   \(report.engineURL ?? url)
                startup:  \(String(format: "%.1f", report.startupMilliseconds)) ms to first byte
                received: \(report.bytes) bytes in \(String(format: "%.2f", report.transferMilliseconds / 1000)) s, \(String(format: "%.3f", report.averageBitsPerSecond / 1e6)) Mbit/s
                sha256:   \(report.sha256) \(checksum)
                """)
            if let profile = report.profile { announce("profile:  \(profile)") }
            if let packets = report.packetsReceived {
                announce("rtp:      \(packets) packets, \(report.packetsLost ?? 0) lost, jitter \(String(format: "%.2f", report.jitterMilliseconds ?? 0)) ms")
            }
        }
        if report.errorMessage != nil || report.checksumMatches == false { throw ExitCode(1) }
    }
}

struct SampleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Write a synthetic MPEG-TS with exact PCR timing (no ffmpeg needed).")

    @Option(help: "Output file.")
    var out: String
    @Option(help: "Duration in seconds.")
    var seconds: Double = 10
    @Option(help: "Bitrate in bit/s.")
    var bitrate: Int64 = 2_000_000

    func run() async throws {
        guard seconds > 0, seconds <= 36_000, bitrate >= 10_000, bitrate <= 100_000_000_000 else {
            throw ValidationError("seconds must be in (0, 36000] and bitrate in [10000, 1e11]")
        }
        let bytes = SyntheticTransportStream.make(durationMilliseconds: Int64(seconds * 1000), bitsPerSecond: bitrate)
        guard FileManager.default.createFile(atPath: out, contents: Data(bytes)) else { throw ValidationError("cannot write \(out)") }
        announce("wrote \(bytes.count) bytes of MPEG-TS (\(seconds) s at \(bitrate) bit/s) to \(out)")
    }
}
