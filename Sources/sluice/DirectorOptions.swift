import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SluiceClient
import SluiceCore
import Synchronization

/// The environment variables every client command reads.
enum Environment {
    static var director: String? { ProcessInfo.processInfo.environment["SLUICE_DIRECTOR"].flatMap { $0.isEmpty ? nil : $0 } }
    /// `SLUICE_KEY`, or `SLUICE_API_KEY` as earlier versions named it.
    static var key: String? {
        let environment = ProcessInfo.processInfo.environment
        return [environment["SLUICE_KEY"], environment["SLUICE_API_KEY"]].compactMap { $0 }.first { !$0.isEmpty }
    }
    static let defaultDirector = "http://127.0.0.1:8080"
    static var caFile: String? { ProcessInfo.processInfo.environment["SLUICE_CACERT"].flatMap { $0.isEmpty ? nil : $0 } }
}

/// One HTTP client for every command: a refused connection is reported at once, naming where.
/// Trusts the system's roots; commands given `--cacert` use `TLSOptions.client()`.
let commandLineHTTP = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .commandLine)

/// `--cacert` and `--insecure-http`, for every command that talks to the cluster.
struct TLSOptions: ParsableArguments {
    @Option(help: "PEM file of a CA to trust besides the system's, for https:// and rtsps:// (default: $SLUICE_CACERT).")
    var cacert: String?
    @Flag(help: "Send a key over plain http:// or rtsp:// to a host other than this machine (it can be read and reused on the way).")
    var insecureHTTP = false

    var settings: ClientTLS { ClientTLS(caFile: cacert ?? Environment.caFile, insecureHTTP: insecureHTTP) }

    /// The shared command-line client, or one trusting the CA file.
    func client() throws -> HTTPClient { try commandLineHTTP(trusting: settings.caFile) }
}

private let trustingClients = Mutex<[String: HTTPClient]>([:])

/// `commandLineHTTP`, or a client like it that also trusts the CA in `caFile` (one per file,
/// kept for the process's life).
func commandLineHTTP(trusting caFile: String?) throws -> HTTPClient {
    guard let caFile else { return commandLineHTTP }
    return try trustingClients.withLock { made in
        if let client = made[caFile] { return client }
        let client = try ClientTLS(caFile: caFile).makeHTTPClient()
        made[caFile] = client
        return client
    }
}

/// `--director` and `--key`, with `SLUICE_DIRECTOR` and `SLUICE_KEY` as their defaults.
struct DirectorOptions: ParsableArguments {
    @Option(help: "Director base URL (default: $SLUICE_DIRECTOR, else http://127.0.0.1:8080).")
    var director: String = Environment.director ?? Environment.defaultDirector
    @Option(help: "API key (default: $SLUICE_KEY).")
    var key: String?
    @OptionGroup var tls: TLSOptions

    var apiKey: String? { key ?? Environment.key }

    /// Sends one request; returns the status and the body. Throws only when the director cannot
    /// be reached, naming its host and port.
    func call(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = Optional<[String: String]>.none) async throws -> (Int, Data) {
        let url = director.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + path
        try tls.settings.checkKeyTransport(url: url, sendsKey: apiKey != nil)
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        }
        do {
            let response = try await tls.client().execute(request, timeout: .seconds(30))
            let bytes = try await response.body.collect(upTo: 1 << 22)
            return (Int(response.status.code), Data(bytes.readableBytesView))
        } catch {
            throw ClientError.unreachable("the director", url: url, error)
        }
    }

    /// The `message` of a problem answer, or the raw body.
    static func explain(_ status: Int, _ body: Data) -> String {
        let problem = try? JSONDecoder().decode(ClusterMessages.Problem.self, from: body)
        return "HTTP \(status): " + (problem?.message ?? String(decoding: body.prefix(500), as: UTF8.self))
    }
}
