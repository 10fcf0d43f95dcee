import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import SluiceConfig
import SluiceCore
import SluiceGrant
import SluiceListeners
import Synchronization

/// Builds an engine from configuration: object store, HTTP server, registration and heartbeats.
public struct EngineServer: Sendable {
    public var settings: Configuration.Engine
    /// Every director the engine may report to, tried in this order (see `DirectorLink`).
    public var directorURLs: [String]
    public var grantSecret: String
    public var heartbeatInterval: Duration = .seconds(1)
    public var renewInterval: Duration = .seconds(1)
    /// URL the director hands to clients; by default http://host:port of the bound socket.
    public var advertisedURL: String?
    /// Deadlines and the per-address connection cap of the engine's HTTP listener.
    public var limits = ListenerLimits()
    /// A bearer token that may read `/metrics` besides the cluster token (`director.metricsToken`).
    public var metricsToken: String?
    /// The version `sluice_build_info` reports.
    public var version = "dev"
    public let logger: Logger

    public init(settings: Configuration.Engine, directorURL: String, grantSecret: String, logger: Logger) {
        self.init(settings: settings, directorURLs: [directorURL], grantSecret: grantSecret, logger: logger)
    }

    public init(settings: Configuration.Engine, directorURLs: [String], grantSecret: String, logger: Logger) {
        self.settings = settings
        self.directorURLs = directorURLs
        self.grantSecret = grantSecret
        self.logger = logger
    }

    /// Runs until SIGINT/SIGTERM (or the task is cancelled). `onListening` gets the bound port.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await buildApplication(onListening: onListening).run()
    }

    /// Everything an engine is — object store opened and verified, RTP sockets bound, routes,
    /// registration, background work — built but not yet running, so tests can run it in-process.
    public func buildApplication(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws -> EngineApplication {
        try DataDirectory.prepare(settings.dataDirectory, for: "engine \(settings.name)", setting: "engines[].dataDirectory in the config or --data-dir")
        let objects = ObjectStore(root: settings.dataDirectory, logger: logger)
        try await objects.open()
        // TLS files are read before anything binds: a bad certificate is a startup error.
        let tls: TLSCredentials?
        let client: HTTPClient
        do {
            tls = try settings.tls.map { try TLSCredentials(certificate: $0.certificate, key: $0.key, clientCA: $0.mutual ? $0.ca : nil) }
            client = try ClusterClients.client(
                trusting: settings.tls?.ca, presenting: settings.tls.flatMap { $0.mutual ? ($0.certificate, $0.key) : nil }, failFast: true)
        } catch {
            throw EngineStartError(description: "engine \(settings.name): \(error)")
        }
        let director = DirectorLink(baseURLs: directorURLs, token: GrantSigner.engineToken(secret: grantSecret), client: client, logger: logger)
        let cluster = ClusterCredentials(token: GrantSigner.engineToken(secret: grantSecret), requireClientCertificate: settings.tls?.mutual ?? false)
        let streams = StreamTable(director: director, reconnectGrace: settings.reconnectGrace, logger: logger)
        let router = Router(context: EngineRequestContext.self)
        router.middlewares.add(ProblemMiddleware(server: "engine \(settings.name)", logger: logger))
        router.middlewares.add(HTTPMetrics.middleware())
        let metrics = EngineMetrics(engine: settings.name, version: version)
        let rtpSessions = RTPSessionTable(metrics: metrics)
        let work = BackgroundWork()
        let sockets: RTPSockets
        do {
            sockets = try await RTPSockets.bind(host: settings.host, rtpPort: settings.rtpPort, dscp: settings.dscp, burstWindow: settings.rtpBurstWindow, sessions: rtpSessions, metrics: metrics, logger: logger)
        } catch {
            throw ListenError.from(error, listener: "engine \(settings.name) RTP", host: settings.host, port: settings.rtpPort, setting: "engines[].rtpPort in the config") ?? error
        }
        logger.info("rtp sockets bound", metadata: ["rtp_port": "\(sockets.rtpPort)", "rtcp_port": "\(sockets.rtcpPort)", "dscp": "\(settings.dscp)", "gso_burst": "\(sockets.pacer.burst.map { "\($0.window)" } ?? "off")"])
        RTPControlRoutes(
            engineName: settings.name, objects: objects, sessions: rtpSessions, sockets: sockets, director: director,
            signer: GrantSigner(secret: grantSecret), cluster: cluster,
            sourceHost: settings.host, renewInterval: renewInterval, clock: SystemClock(), work: work, logger: logger
        ).register(on: router)
        ReplicaRoutes(
            engineName: settings.name, objects: objects, director: director,
            cluster: cluster, work: work, logger: logger
        ).register(on: router)
        StreamControlRoutes(
            streams: streams, rtpSessions: rtpSessions, cluster: cluster, logger: logger
        ).register(on: router)
        EngineRoutes(
            name: settings.name, objects: objects, streams: streams, director: director, signer: GrantSigner(secret: grantSecret),
            burstBytes: settings.burstBytes, renewInterval: renewInterval, clock: SystemClock(), metrics: metrics,
            hlsIdleTime: settings.hlsIdleTime, logger: logger
        ).register(on: router)
        MetricsRoute(
            metrics: metrics, objects: objects, streams: streams, rtpSessions: rtpSessions, dataDirectory: settings.dataDirectory,
            tokens: [GrantSigner.engineToken(secret: grantSecret)] + (metricsToken.map { [$0] } ?? [])
        ).register(on: router)

        let scrubber = Scrubber(
            engine: settings.name, objects: objects, director: director, bitsPerSecond: settings.scrubBitsPerSecond,
            interval: settings.scrubInterval, metrics: metrics, logger: logger)
        work.start { await scrubber.run() }
        let registration = Registration(
            name: settings.name, capacity: settings.capacity, objects: objects, director: director,
            heartbeatInterval: heartbeatInterval, logger: logger)
        // Ready once the director has it registered: before that no stream can be sent here.
        router.get("/readyz") { _, _ in
            guard registration.isRegistered else {
                throw HTTPError(.serviceUnavailable, message: "not registered with the director at \(director.baseURL)")
            }
            return "ready\n"
        }
        let settings = self.settings
        let advertisedURL = self.advertisedURL
        let logger = self.logger
        let limits = self.limits
        let counter = ConnectionCounter(limit: limits.maxConnectionsPerClient)
        let application = Application(
            router: router,
            server: .http1(tls: tls, limits: limits, configuration: .init(additionalChannelHandlers: [HTTPConnectionGuard(limits: limits, counter: counter, logger: logger)])),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "sluice-engine"),
            services: [registration, work] + (tls.map { [TLSReloadOnHangUp(credentials: [$0], logger: logger)] } ?? []),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? settings.port
                let url = advertisedURL ?? "\(tls == nil ? "http" : "https")://\(settings.host):\(port)"
                logger.info("engine listening", metadata: ["engine": "\(settings.name)", "url": "\(url)", "data": "\(settings.dataDirectory)"])
                registration.listening(at: url)
                await onListening(port)
            },
            logger: logger)
        return EngineApplication(application: application, sockets: sockets, name: settings.name, listen: (settings.host, settings.port))
    }
}

/// An engine that cannot start, in words naming the engine and the cause.
public struct EngineStartError: Error, CustomStringConvertible {
    public var description: String
}

/// A built engine: its Hummingbird application (HTTP delivery and control API plus every
/// service). `run()` serves until shutdown and then closes the RTP sockets.
public struct EngineApplication: Sendable {
    public let application: Application<RouterResponder<EngineRequestContext>>
    let sockets: RTPSockets
    let name: String
    let listen: (host: String, port: Int)

    public func run() async throws {
        do {
            try await application.runService()
        } catch {
            await sockets.close()
            throw ListenError.from(error, listener: "engine \(name) HTTP", host: listen.host, port: listen.port, setting: "engines[].listen in the config or --listen") ?? error
        }
        await sockets.close()
    }

    /// Closes what the application holds when it is tested without `run()`.
    public func close() async { await sockets.close() }
}

/// Registers with the director once the server listens, then heartbeats; registers again
/// whenever the director has forgotten this engine (e.g. a fresh director).
final class Registration: Service, Sendable {
    let name: String
    let capacity: EngineCapacity
    let objects: ObjectStore
    let director: DirectorLink
    let heartbeatInterval: Duration
    let logger: Logger
    private let url = Mutex<String?>(nil)
    /// Whether the director has this engine registered, as of the latest heartbeat (`/readyz`).
    private let registeredNow = Mutex(false)
    var isRegistered: Bool { registeredNow.withLock { $0 } }
    /// This process: a restarted engine registers with a new one.
    let instance = UUID().uuidString

    init(name: String, capacity: EngineCapacity, objects: ObjectStore, director: DirectorLink, heartbeatInterval: Duration, logger: Logger) {
        self.name = name
        self.capacity = capacity
        self.objects = objects
        self.director = director
        self.heartbeatInterval = heartbeatInterval
        self.logger = logger
    }

    func listening(at url: String) {
        self.url.withLock { $0 = url }
    }

    func run() async throws {
        // Cancelled at shutdown: a call to a director that is gone (its connect attempts take
        // seconds) must not hold the engine's exit up.
        await cancelWhenGracefulShutdown { await self.registerAndHeartbeat() }
    }

    private func registerAndHeartbeat() async {
        var registered = false
        var warned = false
        while !Task.isCancelled {
            if let url = url.withLock({ $0 }) {
                do {
                    if !registered {
                        let message = ClusterMessages.RegisterEngine(name: name, url: url, capacity: capacity, objects: await objects.all, instance: instance)
                        let reply = try await director.register(message)
                        registered = reply.status == 200
                        if registered {
                            logger.info("registered with director", metadata: ["director": "\(director.baseURL)"])
                        } else {
                            logger.error("director refused registration", metadata: ["status": "\(reply.status)", "reply": "\(String(decoding: reply.body, as: UTF8.self))"])
                        }
                    } else {
                        let reply = try await director.heartbeat(engine: name)
                        if reply.status == 404 { registered = false }
                    }
                    warned = false
                } catch {
                    registered = false
                    if !warned { logger.warning("director unreachable; retrying", metadata: ["director": "\(director.baseURL)", "error": "\(error)"]) }
                    warned = true
                }
            }
            registeredNow.withLock { [registered] in $0 = registered }
            try? await Task.sleep(for: registered ? heartbeatInterval : .milliseconds(200))
        }
    }
}
