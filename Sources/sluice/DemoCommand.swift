import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import SluiceClient
import SluiceConfig
import SluiceCore
import SluiceDirector
import SluiceEngine
import SluiceListeners
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
    @Flag(help: "Serve HTTPS and RTSPS only, with a throwaway CA and certificate made now (printed: give it to curl, ffmpeg and sluice).")
    var tls = false
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
        if tls { try useThrowawayCertificate(&configuration) }
        let prepared = configuration
        // Ctrl-C or SIGTERM stops every server at any point, start-up included.
        try await StartupSignals.run(always: true) { _ in try await serve(prepared, logger: logger) }
    }

    /// Makes a CA and a certificate for this machine's loopback names under the director's data
    /// directory, and turns every listener to TLS: HTTPS for the director and engines, RTSPS
    /// (on a free port) instead of RTSP.
    private func useThrowawayCertificate(_ configuration: inout Configuration) throws {
        let directory = configuration.director.dataDirectory + "/tls"
        let hosts = Array(Set(["127.0.0.1", "localhost", "::1", configuration.director.host] + configuration.engines.map(\.host))).sorted()
        let paths = try ThrowawayCA(hosts: hosts, name: "Sluice demo CA").write(to: directory)
        let files = Configuration.TLSFiles(certificate: paths.certificate, key: paths.key, ca: paths.ca)
        configuration.tls = files
        for index in configuration.engines.indices { configuration.engines[index].tls = files }
        configuration.director.rtspEnabled = false
        configuration.director.rtsps = (configuration.director.rtspHost, 0)
        configuration.directorURL = "https://\(configuration.director.host):\(configuration.director.port)"
        configuration.directorURLs = [configuration.directorURL]
        announce("demo: made a throwaway CA and certificate for \(hosts.joined(separator: ", ")) in \(directory)")
    }

    private func serve(_ configuration: Configuration, logger: Logger) async throws {
        let directorReady = AsyncStream.makeStream(of: Int.self)
        let rtspReady = AsyncStream.makeStream(of: Int.self)
        let caFile = configuration.tls?.ca
        let client = try commandLineHTTP(trusting: caFile)
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
                } onRTSPSListening: { port in
                    rtspReady.continuation.yield(port)
                }
            }
            var iterator = directorReady.stream.makeAsyncIterator()
            var rtspIterator = rtspReady.stream.makeAsyncIterator()
            guard let port = await iterator.next(), let rtspPort = await rtspIterator.next() else {
                try await group.next()  // the director's error, which names what went wrong
                throw ClientError("the director stopped before it listened; see the log above")
            }
            let secure = configuration.tls != nil
            let directorURL = "\(secure ? "https" : "http")://\(configuration.director.host):\(port)"
            let rtspURL = "\(secure ? "rtsps" : "rtsp")://\(configuration.director.rtspHost):\(rtspPort)"
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
            try await waitForEngines(directorURL: directorURL, apiKey: key, count: configuration.engines.count, failure: engineFailure, client: client)
            try await loadSample(directorURL: directorURL, apiKey: key, directory: configuration.director.dataDirectory, client: client)
            printTour(directorURL: directorURL, rtspURL: rtspURL, apiKey: key, caFile: caFile)
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

    private func waitForEngines(directorURL: String, apiKey: String?, count: Int, failure: FirstFailure, client: HTTPClient) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        struct Row: Decodable { struct Engine: Decodable { var isUp: Bool }; var engine: Engine }
        while ContinuousClock.now < deadline {
            if let error = failure.error { throw error }
            var request = HTTPClientRequest(url: directorURL + "/v1/engines")
            if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
            if let response = try? await client.execute(request, timeout: .seconds(2)),
               let body = try? await response.body.collect(upTo: 1 << 20),
               let rows = try? JSONDecoder().decode([Row].self, from: Data(body.readableBytesView)),
               rows.filter(\.engine.isUp).count >= count {
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ClientError("engines did not register with the director within 20 s; see the log above")
    }

    private func loadSample(directorURL: String, apiKey: String?, directory: String, client: HTTPClient) async throws {
        var request = HTTPClientRequest(url: directorURL + "/v1/objects")
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        let response = try await client.execute(request, timeout: .seconds(5))
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
        let result = try await UploadClient(client: client).put(file: path, name: "sample", directorURL: directorURL, apiKey: apiKey)
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

    private func printTour(directorURL: String, rtspURL: String, apiKey: String?, caFile: String?) {
        let key = apiKey.map { "?key=\($0)" } ?? ""
        let sluice = Self.invocation
        guard let caFile else {
            announce("""

                Sluice demo is running (Ctrl-C to stop).
                  HTTP, with the client: \(sluice) play '\(directorURL)/play/sample\(key)' --out /tmp/sample.ts --force
                  HTTP, with ffplay:     ffplay '\(directorURL)/play/sample\(key)'
                  HTTP, with curl:       curl -L -o /tmp/sample.ts '\(directorURL)/play/sample\(key)'
                  RTSP, with the client: \(sluice) play '\(rtspURL)/sample\(key)' --out /tmp/sample.ts --force
                  RTSP, with ffplay:     ffplay -rtsp_transport udp '\(rtspURL)/sample\(key)'
                  RTSP, with VLC:        vlc '\(rtspURL)/sample\(key)'
                  watch, in a browser:   \(directorURL)/watch/sample
                  HLS, with ffmpeg:      ffmpeg -i '\(directorURL)/play/sample.m3u8\(key)' -c copy /tmp/hls.ts
                  console, in a browser: \(directorURL)/\(apiKey.map { "   (log in with the key \($0))" } ?? "")
                  links and leases:     curl -s '\(directorURL)/v1/links\(key)'   (also /v1/streams, /v1/engines, /v1/objects, /v1/usage)

                """)
            return
        }
        announce("""

            Sluice demo is running with TLS (Ctrl-C to stop). The CA to trust: \(caFile)
              HTTPS, with the client: \(sluice) play '\(directorURL)/play/sample\(key)' --cacert \(caFile) --out /tmp/sample.ts --force
              HTTPS, with curl:       curl --cacert \(caFile) -L -o /tmp/sample.ts '\(directorURL)/play/sample\(key)'
              HTTPS, with ffmpeg:     ffmpeg -ca_file \(caFile) -tls_verify 1 -i '\(directorURL)/play/sample\(key)' -c copy /tmp/sample.ts
              RTSPS, with the client: \(sluice) play '\(rtspURL)/sample\(key)' --cacert \(caFile) --director \(directorURL) --out /tmp/sample.ts --force
              RTSPS, with ffmpeg:     ffmpeg -rtsp_transport udp -i '\(rtspURL)/sample\(key)' -c copy /tmp/sample.ts
              RTSPS, with GStreamer:  gst-launch-1.0 rtspsrc location='\(rtspURL)/sample\(key)' tls-validation-flags=0 ! fakesink
              HLS, with ffmpeg:       ffmpeg -ca_file \(caFile) -tls_verify 1 -i '\(directorURL)/play/sample.m3u8\(key)' -c copy /tmp/hls.ts
              console, in a browser:  \(directorURL)/  (trust the CA first\(apiKey.map { "; log in with the key \($0)" } ?? ""))
              links and leases:      curl --cacert \(caFile) -s '\(directorURL)/v1/links\(key)'

            """)
    }
}

/// The first error one of several servers failed with.
final class FirstFailure: Sendable {
    private let first = Mutex<(any Error)?>(nil)
    func record(_ error: any Error) { first.withLock { $0 = $0 ?? error } }
    var error: (any Error)? { first.withLock { $0 } }
}
