import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import SluiceClient
import SluiceConfig
import SluiceCore
import SluiceDirector
import SluiceEngine
import SluiceMedia
import Synchronization

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a director and two engines on loopback, load a sample video and print how to play it.",
        discussion: """
            Uses the embedded SQLite store (nothing to install). The sample is real video made with \
            ffmpeg when it is installed, otherwise a synthetic MPEG-TS. Runs until Ctrl-C.
            """)

    @OptionGroup var config: ConfigOption
    @Option(help: "Put all data (store, engines' objects) under this directory instead of the config's.")
    var dataDir: String?
    @Option(help: "Length of the generated sample in seconds.")
    var sampleSeconds: Int = 30
    @Option(help: "Stop by itself after this many seconds (for scripted runs).")
    var exitAfter: Double?
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap(label: "sluice.demo")
        var configuration = try config.load()
        if let dataDir {
            configuration.director.dataDirectory = dataDir + "/director"
            for index in configuration.engines.indices {
                configuration.engines[index].dataDirectory = dataDir + "/" + configuration.engines[index].name
            }
        }
        let prepared = configuration
        // Ctrl-C or SIGTERM stops every server at any point, start-up included.
        try await StartupSignals.run(always: true) { _ in try await serve(prepared, logger: logger) }
    }

    private func serve(_ configuration: Configuration, logger: Logger) async throws {
        let directorReady = AsyncStream.makeStream(of: Int.self)
        let rtspReady = AsyncStream.makeStream(of: Int.self)
        let engineFailure = FirstFailure()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // A director that cannot start (a port taken) ends the wait for its ports.
                defer {
                    directorReady.continuation.finish()
                    rtspReady.continuation.finish()
                }
                var director = DirectorServer(configuration: configuration, logger: Logger(label: "sluice.director"))
                director.version = Sluice.version
                try await director.run { port in
                    directorReady.continuation.yield(port)
                } onRTSPListening: { port in
                    rtspReady.continuation.yield(port)
                }
            }
            var iterator = directorReady.stream.makeAsyncIterator()
            var rtspIterator = rtspReady.stream.makeAsyncIterator()
            guard let port = await iterator.next(), let rtspPort = await rtspIterator.next() else {
                try await group.next()  // the director's error, which names what went wrong
                throw ClientError("the director stopped before it listened; see the log above")
            }
            let directorURL = "http://\(configuration.director.host):\(port)"
            let rtspURL = "rtsp://\(configuration.director.rtspHost):\(rtspPort)"
            for engine in configuration.engines {
                group.addTask {
                    var server = EngineServer(
                        settings: engine, directorURL: directorURL, grantSecret: configuration.grantSecret,
                        logger: Logger(label: "sluice.engine.\(engine.name)"))
                    server.limits = configuration.limits
                    server.metricsToken = configuration.director.metricsToken
                    server.version = Sluice.version
                    do {
                        try await server.run()
                    } catch {
                        engineFailure.record(error)
                        throw error
                    }
                }
            }
            let key = configuration.director.apiKeys.first
            try await waitForEngines(directorURL: directorURL, apiKey: key, count: configuration.engines.count, failure: engineFailure)
            try await loadSample(directorURL: directorURL, apiKey: key, directory: configuration.director.dataDirectory, logger: logger)
            printTour(directorURL: directorURL, rtspURL: rtspURL, apiKey: key)
            if let exitAfter {
                try await Task.sleep(for: .milliseconds(Int64(exitAfter * 1000)))
                announce("demo: --exit-after reached, stopping")
                group.cancelAll()
                // The servers end by cancellation: that is the expected way out here.
                while true {
                    do {
                        guard try await group.next() != nil else { break }
                    } catch {
                        continue
                    }
                }
                return
            }
            try await group.waitForAll()
        }
    }

    private func waitForEngines(directorURL: String, apiKey: String?, count: Int, failure: FirstFailure) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        struct Row: Decodable { struct Engine: Decodable { var isUp: Bool }; var engine: Engine }
        while ContinuousClock.now < deadline {
            if let error = failure.error { throw error }
            var request = HTTPClientRequest(url: directorURL + "/v1/engines")
            if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
            if let response = try? await commandLineHTTP.execute(request, timeout: .seconds(2)),
               let body = try? await response.body.collect(upTo: 1 << 20),
               let rows = try? JSONDecoder().decode([Row].self, from: Data(body.readableBytesView)),
               rows.filter(\.engine.isUp).count >= count {
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ClientError("engines did not register with the director within 20 s; see the log above")
    }

    private func loadSample(directorURL: String, apiKey: String?, directory: String, logger: Logger) async throws {
        var request = HTTPClientRequest(url: directorURL + "/v1/objects")
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        let response = try await commandLineHTTP.execute(request, timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 16 << 20)
        struct Row: Decodable { var object: MediaObject }
        let catalog = (try? JSONDecoder().decode([Row].self, from: Data(body.readableBytesView))) ?? []
        if catalog.contains(where: { $0.object.name == "sample" }) {
            announce("demo: 'sample' is already in the catalog")
            return
        }
        let path = directory + "/sample.ts"
        if makeVideoWithFFmpeg(path: path) {
            announce("demo: made \(sampleSeconds) s of test video with ffmpeg")
        } else {
            let bytes = SyntheticTransportStream.make(durationMilliseconds: Int64(sampleSeconds) * 1000, bitsPerSecond: 2_000_000)
            let file = try OutputFile.open(path, force: true)
            defer { file.close() }
            try file.write(bytes)
            announce("demo: ffmpeg not found; made \(sampleSeconds) s of synthetic MPEG-TS at 2 Mbit/s")
        }
        let result = try await UploadClient().put(file: path, name: "sample", directorURL: directorURL, apiKey: apiKey)
        announce("demo: stored 'sample' on \(result.engine) (\(result.sizeBytes) bytes)")
        try? FileManager.default.removeItem(atPath: path)
    }

    private func makeVideoWithFFmpeg(path: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", "\(sampleSeconds)", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "1500k", "-g", "50",
            "-c:a", "aac", "-b:a", "96k", "-f", "mpegts", path,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus == 0
        } catch {
            return false
        }
    }

    /// How this binary was started, so the printed commands run as they are (`swift run`
    /// and `.build/debug/sluice` are not on PATH).
    static var invocation: String {
        let argument = CommandLine.arguments.first ?? "sluice"
        guard argument.contains("/") else { return "sluice" }
        let path = argument.hasPrefix("/") ? argument : FileManager.default.currentDirectoryPath + "/" + argument
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }

    private func printTour(directorURL: String, rtspURL: String, apiKey: String?) {
        let key = apiKey.map { "?key=\($0)" } ?? ""
        announce("""

            Sluice demo is running (Ctrl-C to stop).
              HTTP, with the client: \(Self.invocation) play '\(directorURL)/play/sample\(key)' --out /tmp/sample.ts --force
              HTTP, with ffplay:     ffplay '\(directorURL)/play/sample\(key)'
              HTTP, with curl:       curl -L -o /tmp/sample.ts '\(directorURL)/play/sample\(key)'
              RTSP, with the client: \(Self.invocation) play '\(rtspURL)/sample\(key)' --out /tmp/sample.ts --force
              RTSP, with ffplay:     ffplay -rtsp_transport udp '\(rtspURL)/sample\(key)'
              RTSP, with VLC:        vlc '\(rtspURL)/sample\(key)'
              watch, in a browser:   \(directorURL)/watch/sample
              HLS, with ffmpeg:      ffmpeg -i '\(directorURL)/play/sample.m3u8\(key)' -c copy /tmp/hls.ts
              console, in a browser: \(directorURL)/\(apiKey.map { "   (log in with the key \($0))" } ?? "")
              links and leases:     curl -s '\(directorURL)/v1/links\(key)'   (also /v1/streams, /v1/engines, /v1/objects, /v1/usage)

            """)
    }
}

/// The first error one of several servers failed with.
final class FirstFailure: Sendable {
    private let first = Mutex<(any Error)?>(nil)
    func record(_ error: any Error) { first.withLock { $0 = $0 ?? error } }
    var error: (any Error)? { first.withLock { $0 } }
}
