import Crypto
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SluiceCore
import Synchronization
import Testing

/// A real `sluice` process whose output is collected and searchable.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    private let output = OutputLog()
    let name: String

    init(name: String, arguments: [String], directory: String? = nil) throws {
        self.name = name
        process.executableURL = URL(fileURLWithPath: Cluster.binary)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        for pipe in [stdout, stderr] {
            pipe.fileHandleForReading.readabilityHandler = { [output] handle in
                let data = handle.availableData
                if !data.isEmpty { output.append(String(decoding: data, as: UTF8.self)) }
            }
        }
        try process.run()
    }

    var log: String { output.text }

    /// Waits (bounded) for a line containing `marker` and returns the rest of that line.
    func waitFor(_ marker: String, timeout: Duration = .seconds(30)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = log
            if let range = text.range(of: marker) {
                return String(text[range.upperBound...].prefix { $0 != "\n" })
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ClusterError("\(name) never printed '\(marker)'. Output:\n\(log)")
    }

    /// How long a server may take to shut down cleanly after SIGTERM.
    static let shutdownLimit: TimeInterval = 5

    /// Stops the process with `signal`. A server that does not exit within `shutdownLimit` of
    /// SIGTERM fails the test that stops it (and is then killed).
    func stop(signal: Int32 = SIGTERM) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(Self.shutdownLimit)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            if signal == SIGTERM {
                Issue.record("\(name) did not stop within \(Int(Self.shutdownLimit)) s of SIGTERM; its log ends:\n\(log.suffix(2000))")
            }
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    deinit { stop(signal: SIGKILL) }
}

/// Text a child process printed, appended from the pipe's handler thread.
final class OutputLog: Sendable {
    private let storage = Mutex("")
    func append(_ text: String) { storage.withLock { $0 += text } }
    var text: String { storage.withLock { $0 } }
}

struct ClusterError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A director and engines as real processes on 127.0.0.1 with port 0, in a temporary directory.
final class Cluster: @unchecked Sendable {
    static let apiKey = "test-key"
    static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
    static var binary: String {
        ProcessInfo.processInfo.environment["SLUICE_BINARY"] ?? packageRoot + "/.build/debug/sluice"
    }

    let directory: String
    let configPath: String
    let engineNames: [String]
    var director: ServerProcess?
    var directorURL = ""
    var rtspURL = ""
    /// With a shared store: every director, the first being `director`.
    var directors: [ServerProcess] = []
    var directorURLs: [String] = []
    var rtspURLs: [String] = []
    /// `postgres://...` shared by the directors; nil for each its own SQLite.
    let store: String?
    var engines: [String: ServerProcess] = [:]
    var engineURLs: [String: String] = [:]
    /// What `request` calls the director with (one trusting `caFile` for a TLS cluster).
    var client = Cluster.client
    /// The CA a TLS cluster's certificate comes from, handed to `sluice` commands (`--cacert`).
    var caFile: String?

    /// `coreEdge` is the shared bottleneck every stream crosses.
    init(
        coreEdge: String = "100Mbit", maxWait: String = "10s", leaseSlack: String = "30s", engineNames: [String] = ["engine-a", "engine-b"],
        reconnectGrace: String = "300ms", rtspSessionTimeout: String = "60s", store: String? = nil, directorSettings: String = "",
        engineLinks: [String: String] = [:], extraLinks: [String] = [], extraYAML: String = "", heartbeatTimeout: String = "5s",
        engineSettings: String = ""
    ) throws {
        self.engineNames = engineNames
        self.store = store
        directory = NSTemporaryDirectory() + "sluice-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        configPath = directory + "/sluice.yaml"
        var yaml = """
            director:
              listen: 127.0.0.1:0
              rtspListen: 127.0.0.1:0
              rtspSessionTimeout: \(rtspSessionTimeout)
              dataDirectory: director
              apiKeys: [\(Self.apiKey)]
              maxWait: \(maxWait)
              leaseSlack: \(leaseSlack)
              heartbeatTimeout: \(heartbeatTimeout)
              \(directorSettings)
            grantSecret: integration-test-secret-0123456789
            topology:
              nodes:
                - { name: core, kind: switch }
                - { name: edge, kind: edge }

            """
        for name in engineNames { yaml += "    - { name: \(name), kind: engine }\n" }
        yaml += "  links:\n    - { name: core-edge, from: core, to: edge, capacity: \(coreEdge) }\n"
        for name in engineNames { yaml += "    - { name: \(name)-core, from: \(name), to: core, capacity: \(engineLinks[name] ?? "1Gbit") }\n" }
        for link in extraLinks { yaml += "    - \(link)\n" }
        yaml += "clientNetworks: [{ cidr: 127.0.0.0/8, edge: edge }]\nengines:\n"
        for name in engineNames {
            yaml += "  - { name: \(name), listen: \"127.0.0.1:0\", dataDirectory: \(name), burst: 8KiB, reconnectGrace: \(reconnectGrace)\(engineSettings.isEmpty ? "" : ", " + engineSettings) }\n"
        }
        yaml += extraYAML
        try yaml.write(toFile: configPath, atomically: false, encoding: .utf8)
    }

    /// Starts (or, after `director.stop()`, restarts) the only director.
    func startDirector() async throws {
        directors.removeAll()
        try await addDirector()
    }

    /// Starts one more director (with a shared store, all share it). `extraSettings` are YAML
    /// lines for its `director:` section alone, e.g. `maxQueueLength: 0`.
    @discardableResult
    func addDirector(id: String? = nil, extraSettings: String? = nil) async throws -> Int {
        let index = directors.count
        var config = configPath
        if let extraSettings {
            config = directory + "/sluice-director\(index).yaml"
            let yaml = try String(contentsOfFile: configPath, encoding: .utf8)
            try yaml.replacingOccurrences(of: "director:\n", with: "director:\n  \(extraSettings)\n").write(toFile: config, atomically: false, encoding: .utf8)
        }
        var arguments = ["director", "--config", config]
        if let store { arguments += ["--store", store, "--id", id ?? "director\(index)"] }
        let process = try ServerProcess(name: "director\(index)", arguments: arguments)
        let url = try await process.waitFor("director listening on ").trimmingCharacters(in: .whitespaces)
        let rtsp = try await process.waitFor("director rtsp\(caFile == nil ? "" : "s") listening on ").trimmingCharacters(in: .whitespaces)
        directors.append(process)
        directorURLs.append(url)
        rtspURLs.append(rtsp)
        if index == 0 {
            director = process
            directorURL = url
            rtspURL = rtsp
        }
        return index
    }

    /// Starts every engine, told of `directors` (by default the first director alone).
    func startEngines(directors: [String]? = nil) async throws {
        let told = (directors ?? [directorURL]).flatMap { ["--director", $0] }
        for name in engineNames {
            let process = try ServerProcess(name: name, arguments: ["engine", "--config", configPath, "--name", name] + told)
            engines[name] = process
            engineURLs[name] = try await process.waitFor("engine \(name) listening on ").trimmingCharacters(in: .whitespaces)
        }
        try await waitUntil("engines registered") {
            let rows = try await self.json([EngineRow].self, "/v1/engines")
            return rows.filter(\.engine.isUp).count == self.engineNames.count
        }
    }

    func start() async throws {
        try await startDirector()
        try await startEngines()
    }

    func stop() {
        for engine in engines.values { engine.stop() }
        for director in directors { director.stop() }
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: Helpers

    struct EngineRow: Decodable { struct Engine: Decodable { var name: String; var isUp: Bool }; var engine: Engine }
    struct LinkRow: Decodable { var name: String; var capacityBitsPerSecond: Int64; var reservedBitsPerSecond: Int64 }
    struct ObjectRow: Decodable { var object: MediaObject; var replicas: [String] }

    func get(_ path: String, headers: [(String, String)]? = nil, base: String? = nil) async throws -> (status: Int, headers: [(String, String)], body: Data) {
        try await request(.GET, path, headers: headers, base: base)
    }

    /// One request to the director (or `base`), with the API key unless `headers` says otherwise.
    func request(_ method: HTTPMethod, _ path: String, body: Data? = nil, headers: [(String, String)]? = nil, base: String? = nil) async throws -> (status: Int, headers: [(String, String)], body: Data) {
        var request = HTTPClientRequest(url: (base ?? directorURL) + path)
        request.method = method
        for (name, value) in headers ?? [("Authorization", "Bearer \(apiKey)")] { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), response.headers.map { ($0.name, $0.value) }, Data(body.readableBytesView))
    }

    var apiKey: String { Self.apiKey }
    /// What engines present to the director (hex SHA-256 of "sluice-engine-v1:" + grantSecret).
    var engineToken: String {
        SHA256.hash(data: Data("sluice-engine-v1:integration-test-secret-0123456789".utf8)).map { String(format: "%02x", $0) }.joined()
    }

    func json<T: Decodable>(_ type: T.Type, _ path: String) async throws -> T {
        let reply = try await get(path)
        guard reply.status == 200 else { throw ClusterError("GET \(path): HTTP \(reply.status): \(String(decoding: reply.body, as: UTF8.self))") }
        return try JSONDecoder().decode(T.self, from: reply.body)
    }

    func links() async throws -> [String: LinkRow] {
        Dictionary(uniqueKeysWithValues: try await json([LinkRow].self, "/v1/links").map { ($0.name, $0) })
    }

    /// Polls `condition` every 50 ms until it holds, failing after `timeout`.
    func waitUntil(_ what: String, timeout: Duration = .seconds(20), _ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ClusterError("timed out waiting for \(what)\ndirector log:\n\(director?.log.suffix(4000) ?? "")")
    }

    /// Runs the `sluice` binary to completion and returns its exit code and stdout.
    @discardableResult
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try Self.runTool(Self.binary, arguments)
    }

    static func runTool(
        _ tool: String, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A synthetic MPEG-TS sample written into the cluster's directory.
    func makeSample(name: String, seconds: Double, bitrate: Int64) throws -> String {
        let path = directory + "/" + name + ".ts"
        let result = try run(["sample", "--out", path, "--seconds", "\(seconds)", "--bitrate", "\(bitrate)"])
        guard result.status == 0 else { throw ClusterError("sample failed: \(result.output)") }
        return path
    }

    func put(_ path: String, as name: String) throws {
        let result = try run(["put", path, "--name", name, "--director", directorURL, "--key", apiKey] + (caFile.map { ["--cacert", $0] } ?? []))
        guard result.status == 0 else { throw ClusterError("put failed: \(result.output)") }
    }

    /// A client that does not follow redirects, so tests see the director's answer itself.
    static let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
}

/// Every integration suite runs inside this one, one test at a time: they start real servers
/// and players, and pacing checks must not compete for the two cores.
@Suite(.serialized, .timeLimit(.minutes(5))) enum IntegrationTests {}
