import AsyncHTTPClient
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import SluiceConfig
import SluiceCore
import SluiceGrant
import SluiceListeners
import SluiceStore

/// Builds a director from configuration: store, core, HTTP API and the lease sweeper.
public struct DirectorServer: Sendable {
    public let configuration: Configuration
    public let logger: Logger
    /// Reads the configuration again for a reload (SIGHUP, `POST /v1/reload`); nil: reloads
    /// re-apply the configuration the director started with.
    public var reread: (@Sendable () throws -> Configuration)?
    /// Sets the process's log level when a reload brings a new `director.logLevel`.
    public var setLogLevel: (@Sendable (String) -> Void)?
    /// The version `sluice_build_info` reports.
    public var version = "dev"

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until SIGINT/SIGTERM (or the task is cancelled). `onListening` gets the bound HTTP
    /// port, `onRTSPListening` the bound RTSP port.
    public func run(
        onListening: @escaping @Sendable (Int) async -> Void = { _ in },
        onRTSPListening: @escaping @Sendable (Int) async -> Void = { _ in },
        onRTSPSListening: @escaping @Sendable (Int) async -> Void = { _ in },
        onPlainListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        try await buildApplication(
            onListening: onListening, onRTSPListening: onRTSPListening, onRTSPSListening: onRTSPSListening, onPlainListening: onPlainListening
        ).run()
    }

    /// Everything a director is — store opened and restored, core, HTTP routes, RTSP server,
    /// sweeper, webhook — built but not yet running, so tests can run it in-process
    /// (HummingbirdTesting) and the CLI runs it as a service group.
    public func buildApplication(
        onListening: @escaping @Sendable (Int) async -> Void = { _ in },
        onRTSPListening: @escaping @Sendable (Int) async -> Void = { _ in },
        onRTSPSListening: @escaping @Sendable (Int) async -> Void = { _ in },
        onPlainListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> DirectorApplication {
        let settings = configuration.director
        // TLS files are read before anything opens or binds: a bad certificate is a startup error.
        let httpsCredentials: TLSCredentials?
        let rtspsCredentials: TLSCredentials?
        let engineClient: HTTPClient
        do {
            let tls = configuration.tls
            httpsCredentials = try tls.map { try TLSCredentials(certificate: $0.certificate, key: $0.key, clientCA: $0.mutual ? $0.ca : nil) }
            rtspsCredentials = try settings.rtsps == nil ? nil : httpsCredentials?.offering([])
            engineClient = try ClusterClients.client(
                trusting: tls?.ca, presenting: tls.flatMap { $0.mutual ? ($0.certificate, $0.key) : nil }, failFast: false)
        } catch {
            throw DirectorStartError(description: "director: \(error)")
        }
        let store: any SluiceStore
        let storeName: String
        if let url = settings.store, url != "sqlite" {
            let id = settings.id ?? "\(settings.host):\(settings.port)"
            let shared = try await PostgresStore.open(url: url, directorID: id, logger: logger)
            (store, storeName) = (shared, shared.path)
        } else {
            try DataDirectory.prepare(settings.dataDirectory, for: "the director", setting: "director.dataDirectory in the config or --data-dir")
            let embedded = try await SQLiteStore.open(directory: settings.dataDirectory, logger: logger)
            (store, storeName) = (embedded, embedded.path)
        }
        let controller = AdmissionController(
            topology: configuration.topology, clientNetworks: configuration.clientNetworks, policy: settings.policy,
            replication: settings.replication, streamIDSeed: UInt32.random(in: 1...UInt32.max), labelSeed: UInt32.random(in: 0...UInt32.max),
            unpredictableStreamIDs: true)
        let licensing = LicensePolicy(trustedKeys: configuration.licensing.trustedKeys, profiles: configuration.licensing.profiles)
        let director = Director(
            controller: controller, store: store, clock: SystemClock(), logger: logger, grantSecret: configuration.grantSecret,
            configurationKeys: Set(settings.apiKeys), licensing: licensing, quotas: settings.quotas,
            metrics: DirectorMetrics(version: version), engineClient: engineClient)
        do {
            try await director.restore()
        } catch {
            await director.shutdown()
            throw error
        }
        if await director.isOpen {
            logger.warning("no apiKeys configured and no users: the director accepts every client as an admin")
        }
        if !configuration.licensing.trustedKeys.isEmpty {
            logger.info("licenses accepted", metadata: [
                "license_servers": "\(configuration.licensing.trustedKeys.count)", "profiles": "\(licensing.profiles.keys.sorted())",
            ])
        }
        let router = Router(context: SluiceRequestContext.self)
        router.middlewares.add(ProblemMiddleware(server: "director", logger: logger))
        router.middlewares.add(HTTPMetrics.middleware())
        let webhook = settings.usageWebhook.map(WebhookTarget.init)
        let configuration = self.configuration
        let reloader = ConfigurationReloader(
            current: configuration, read: reread ?? { configuration }, director: director, webhook: webhook, setLogLevel: setLogLevel,
            tls: [httpsCredentials, rtspsCredentials].compactMap(\.self), logger: logger)
        // Browser logins (console and watch pages): a cookie stands for the key.
        let browserSessions = ConsoleSessions()
        DirectorRoutes(
            director: director, engineToken: GrantSigner.engineToken(secret: configuration.grantSecret), reloader: reloader,
            metricsToken: settings.metricsToken, browserSessions: browserSessions,
            requireClientCertificate: configuration.tls?.mutual ?? false
        ).register(on: router)
        ConsoleRoutes(director: director, sessions: browserSessions, logger: logger).register(on: router)

        let logger = self.logger
        let rtspService = RTSPService(
            director: director, engines: EngineControl(token: GrantSigner.engineToken(secret: configuration.grantSecret), client: engineClient),
            clock: director.clock, sessionTimeout: settings.rtspSessionTimeout, claimTimeout: settings.policy.claimTimeout,
            pauseTimeout: settings.rtspPauseTimeout, logger: logger)
        let limits = configuration.limits
        var endpoints: [RTSPEndpoint] = []
        if settings.rtspEnabled {
            endpoints.append(RTSPEndpoint(
                host: settings.rtspHost, port: settings.rtspPort, tls: nil, setting: "director.rtspListen in the config or --rtsp-listen",
                onListening: { port in
                    await director.advertise(rtspURL: settings.advertiseRTSPURL ?? "rtsp://\(settings.rtspHost):\(port)")
                    await onRTSPListening(port)
                }))
        }
        if let rtsps = settings.rtsps, let rtspsCredentials {
            endpoints.append(RTSPEndpoint(
                host: rtsps.host, port: rtsps.port, tls: rtspsCredentials, setting: "director.rtspsListen in the config",
                onListening: { port in
                    if !settings.rtspEnabled { await director.advertise(rtspURL: settings.advertiseRTSPURL ?? "rtsps://\(rtsps.host):\(port)") }
                    await onRTSPSListening(port)
                }))
        }
        let rtsp = RTSPServer(
            endpoints: endpoints, service: rtspService, limits: limits,
            idleTimeout: max(limits.idleTimeout, settings.rtspSessionTimeout * 2), logger: logger)
        var services: [any Service] = [LeaseSweeper(director: director), rtsp, ReloadOnHangUp(reloader: reloader)]
        if let shared = store as? any SharedStore { services.append(SharedStateFollower(director: director, changes: shared.changes())) }
        if let url = settings.usageWebhook, let webhook {
            services.append(UsageWebhook(target: webhook, store: store, grantSecret: configuration.grantSecret, backlog: director.metrics.webhookBacklog, logger: logger))
            logger.info("usage records go to a webhook", metadata: ["url": "\(url)"])
        }
        let httpConnections = ConnectionCounter(limit: limits.maxConnectionsPerClient)
        let responder = router.buildResponder()
        let http1 = HTTP1Channel.Configuration(additionalChannelHandlers: [
            HangUpHandler(), HTTPConnectionGuard(limits: limits, counter: httpConnections, logger: logger),
        ])
        let scheme = httpsCredentials == nil ? "http" : "https"
        if let plain = settings.plainHTTP {
            // Plain HTTP beside HTTPS (loopback tools and scrapers): the same routes.
            services.append(Application(
                responder: responder, server: .http1(configuration: http1),
                configuration: .init(address: .hostname(plain.host, port: plain.port), serverName: "sluice-director"),
                onServerRunning: { channel in
                    let port = channel.localAddress?.port ?? plain.port
                    logger.info("director listening (plain HTTP)", metadata: ["url": "http://\(plain.host):\(port)"])
                    await onPlainListening(port)
                },
                logger: logger))
        }
        let application = Application(
            responder: responder,
            server: .http1(tls: httpsCredentials, limits: limits, configuration: http1),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "sluice-director"),
            services: services,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? settings.port
                logger.info("director listening", metadata: ["url": "\(scheme)://\(settings.host):\(port)", "store": "\(storeName)"])
                await director.advertise(httpURL: settings.advertiseURL ?? "\(scheme)://\(settings.host):\(port)")
                await onListening(port)
            },
            logger: logger)
        return DirectorApplication(application: application, director: director, listen: (settings.host, settings.port), logger: logger)
    }
}

/// A director that cannot start, in words naming the cause.
public struct DirectorStartError: Error, CustomStringConvertible {
    public var description: String
}

/// A built director: its Hummingbird application (HTTP API plus every service) and the
/// `Director` actor behind it. `run()` serves until SIGTERM/SIGINT and then closes the store.
public struct DirectorApplication: Sendable {
    public let application: Application<RouterResponder<SluiceRequestContext>>
    public let director: Director
    let listen: (host: String, port: Int)
    let logger: Logger

    public func run() async throws {
        // Shut down in reverse order: the director stops admitting (refusing whoever waits in
        // the queue) before the servers wait for their requests in flight.
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: application),
                .init(service: AdmissionStopper(director: director), successTerminationBehavior: .ignore),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            await director.shutdown()
            throw ListenError.from(error, listener: "director HTTP", host: listen.host, port: listen.port, setting: "director.listen in the config or --listen") ?? error
        }
        await director.shutdown()
    }
}

/// Waits for the graceful shutdown, then has the director refuse every waiting request.
struct AdmissionStopper: Service {
    let director: Director

    func run() async throws {
        try? await gracefulShutdown()
        await director.stopAdmitting()
    }
}

/// Expires leases, marks silent engines down and settles waiters, ten times a second.
struct LeaseSweeper: Service {
    let director: Director

    func run() async throws {
        // Cancelled at shutdown, so a sweep waiting on an unreachable store does not hold it up.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await director.tick()
                await director.refreshSharedState()
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}

/// Follows the shared store's notifications: streams ended by other directors, catalog changes.
struct SharedStateFollower: Service {
    let director: Director
    let changes: AsyncStream<SharedChange>

    func run() async throws {
        // Cancelled at shutdown, which ends the iteration.
        await cancelWhenGracefulShutdown {
            for await change in changes {
                await director.sharedChanged(change)
            }
        }
    }
}
