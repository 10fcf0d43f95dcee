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
    @Option(help: "Who may play it: public, private (you and admins) or granted (see sluice access).")
    var visibility: String?
    @OptionGroup var options: DirectorOptions

    func run() async throws {
        let access = try visibility.map { value in
            guard let parsed = ObjectAccess.Visibility(rawValue: value) else { throw ValidationError("--visibility must be public, private or granted") }
            return parsed
        }
        try options.tls.settings.checkKeyTransport(url: options.director, sendsKey: options.apiKey != nil)
        let result = try await UploadClient(client: options.tls.client()).put(
            file: file, name: name, directorURL: options.director, apiKey: options.apiKey, visibility: access)
        announce("stored '\(name)' on \(result.engine): \(result.sizeBytes) bytes, sha256 \(result.sha256)")
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
            stops at the server's BYE. When the media stops early the player asks the director why.
            Exit status: 0 played to the end (and the checksum matched), 1 refused or unreachable, \
            3 torn down by an operator, 4 the user or key was revoked, 5 the object was deleted, \
            6 the engine failed, 7 ended by the cluster (lease expired, paused too long), 8 cut off \
            for no recorded reason, 9 the bytes do not match the catalog's checksum.
            """)

    @Argument(help: "Play URL on the director: http(s)://HOST:PORT/play/NAME or rtsp(s)://HOST:PORT/NAME")
    var url: String
    @Option(help: "Director HTTP URL for the checksum and the ending of an rtsp:// play (default: $SLUICE_DIRECTOR, else http://HOST:8080).")
    var director: String?
    @Option(help: "Write the received bytes here: a new file, an existing FIFO or device (written into, never replaced), or - for standard output.")
    var out: String?
    @Flag(help: "Overwrite --out when it is an existing regular file.")
    var force = false
    @Option(help: "API key (default: $SLUICE_KEY).")
    var key: String?
    @Option(help: "A license (or a file holding it): the stream is read with a profile it unlocks.")
    var license: String?
    @Option(help: "Which of the license's profiles to use (default: the one that suits the stream's rate).")
    var profile: String?
    @Flag(help: "Print the report as JSON.")
    var json = false
    @OptionGroup var tls: TLSOptions

    func run() async throws {
        let apiKey = key ?? Environment.key
        var query: [String] = []
        if let license { query.append("license=" + (try LicenseCommand.readLicense(license))) }
        if let profile { query.append("profile=" + profile) }
        let url = query.isEmpty ? self.url : self.url + (self.url.contains("?") ? "&" : "?") + query.joined(separator: "&")
        let scheme = url.split(separator: ":", maxSplits: 1).first?.lowercased() ?? ""
        guard ["http", "https", "rtsp", "rtsps"].contains(scheme) else {
            throw ValidationError("'\(self.url.prefix(80))' is not an http(s):// or rtsp(s):// play URL")
        }
        // The media goes to --out; with `-` that is standard output, so the report goes to stderr.
        let output = try out.map { try OutputFile.open($0, force: force) }
        defer { output?.close() }
        let toStandardError = output?.kind == .standardOutput
        func say(_ line: String) {
            if toStandardError { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { announce(line) }
        }
        let report = scheme.hasPrefix("rtsp")
            ? try await RTSPPlayClient(tls: tls.settings).play(url: url, apiKey: apiKey, output: output, directorURL: director ?? Environment.director)
            : try await PlayClient(tls: tls.settings).play(url: url, apiKey: apiKey, output: output)
        let ending = report.ending ?? .completed
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            say(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else if ending == .refused {
            say("refused: \(report.errorMessage ?? "HTTP \(report.status)")")
        } else {
            let checksum = switch report.checksumMatches {
            case true?: "matches the directory"
            case false?: "DOES NOT MATCH the directory (\(report.expectedSHA256 ?? ""))"
            case nil where ending != .completed: "not checked (the play did not complete)"
            case nil: "not checked (the director's catalog could not be read; --director or $SLUICE_DIRECTOR names it)"
            }
            say("""
                engine:   \(report.engineURL ?? url)
                startup:  \(String(format: "%.1f", report.startupMilliseconds)) ms to first byte
                received: \(report.bytes) bytes in \(String(format: "%.2f", report.transferMilliseconds / 1000)) s, \(String(format: "%.3f", report.averageBitsPerSecond / 1e6)) Mbit/s
                sha256:   \(report.sha256) \(checksum)
                """)
            if let profile = report.profile { say("profile:  \(profile)") }
            if let packets = report.packetsReceived {
                say("rtp:      \(packets) packets, \(report.packetsLost ?? 0) lost, jitter \(String(format: "%.2f", report.jitterMilliseconds ?? 0)) ms")
            }
            say("ending:   \(ending.message)\(report.streamID.map { " (stream \($0))" } ?? "")")
        }
        if ending != .completed { throw ExitCode(ending.exitCode) }
        if report.checksumMatches == false { throw ExitCode(PlayEnding.checksumMismatchExitCode) }
    }
}

struct SampleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Write a synthetic MPEG-TS with exact PCR timing (no ffmpeg needed).")

    @Option(help: "Output file (- for standard output).")
    var out: String
    @Flag(help: "Overwrite --out when it is an existing regular file.")
    var force = false
    @Option(help: "Duration in seconds.")
    var seconds: Double = 10
    @Option(help: "Bitrate in bit/s.")
    var bitrate: Int64 = 2_000_000

    func run() async throws {
        guard seconds > 0, seconds <= 36_000, bitrate >= 10_000, bitrate <= 100_000_000_000 else {
            throw ValidationError("seconds must be in (0, 36000] and bitrate in [10000, 1e11]")
        }
        let bytes = SyntheticTransportStream.make(durationMilliseconds: Int64(seconds * 1000), bitsPerSecond: bitrate)
        let file = try OutputFile.open(out, force: force)
        defer { file.close() }
        try file.write(bytes)
        if file.kind == .standardOutput { return }
        announce("wrote \(bytes.count) bytes of MPEG-TS (\(seconds) s at \(bitrate) bit/s) to \(out)")
    }
}
