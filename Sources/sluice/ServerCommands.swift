import ArgumentParser
import Foundation
import Logging
import SluiceConfig
import SluiceListeners
import SluiceDirector
import SluiceEngine

struct DirectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "director",
        abstract: "Run a director: admission control, path reservation, leases and the HTTP front door.",
        discussion: """
            Reads the topology, engines and policy from the config file and keeps its catalog, engines, \
            live leases and usage records in SQLite under its data directory, so a restart loses nothing. \
            Several directors share one PostgreSQL with --store postgres://USER@HOST:PORT/DB: every \
            admission is booked there in one transaction, so no link is over-booked whichever director \
            admits, and a director whose queue is full sends clients to one that has room. \
            Prints "director listening on URL" once it accepts connections.
            """)

    @OptionGroup var config: ConfigOption
    @Option(help: "Listen address HOST:PORT (port 0 picks a free port); overrides director.listen.")
    var listen: String?
    @Option(help: "RTSP listen address HOST:PORT (port 0 picks a free port), or 'off'; overrides director.rtspListen.")
    var rtspListen: String?
    @Option(help: "Data directory for the embedded store; overrides director.dataDirectory.")
    var dataDir: String?
    @Option(help: "'sqlite' (the default: one file in the data directory) or postgres://USER[:PASSWORD]@HOST:PORT/DATABASE[?sslmode=disable|prefer|require] to share state with other directors; overrides director.store.")
    var store: String?
    @Option(help: "This director's name in a shared store (default: HOST:PORT it listens on); overrides director.id.")
    var id: String?
    @Option(help: "HTTP URL other directors send clients to when this one's queue is full (default: http://HOST:PORT it listens on).")
    var advertiseURL: String?
    @Option(help: "RTSP URL other directors send players to when this one's queue is full (default: rtsp://HOST:PORT it listens on).")
    var advertiseRTSPURL: String?
    @Flag(help: "Check the configuration, print what is wrong or 'configuration is valid', and exit.")
    var check = false
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        EventLoopSizing.fitToAffinity()
        let logger = logging.bootstrap(label: "sluice.director")
        let configuration = try self.configuration(logger: check ? nil : logger)
        if check { return announce("\(config.name): configuration is valid") }
        // The option or SLUICE_LOG_LEVEL wins at start; the file's level otherwise, and at every reload.
        if logging.requestedLevel == nil, let level = configuration.director.logLevel { LogLevelSwitch.set(level) }
        let host = configuration.director.host
        let rtspHost = configuration.director.rtspHost
        let rtspsHost = configuration.director.rtsps?.host ?? rtspHost
        let plainHost = configuration.director.plainHTTP?.host ?? host
        let scheme = configuration.tls == nil ? "http" : "https"
        var server = DirectorServer(configuration: configuration, logger: logger)
        // SIGHUP and `sluice reload` read the file again, with this command's options on top.
        let command = self
        server.reread = { try command.configuration(logger: nil) }
        server.setLogLevel = { LogLevelSwitch.set($0) }
        server.version = Sluice.version
        try await StartupSignals.run { [server] started in
            try await server.run { port in
                started()
                announce("director listening on \(scheme)://\(host):\(port)")
            } onRTSPListening: { port in
                announce("director rtsp listening on rtsp://\(rtspHost):\(port)")
            } onRTSPSListening: { port in
                announce("director rtsps listening on rtsps://\(rtspsHost):\(port)")
            } onPlainListening: { port in
                announce("director plain http listening on http://\(plainHost):\(port)")
            }
        }
    }

    /// The configuration with this command's options applied over it.
    func configuration(logger: Logger?) throws -> Configuration {
        var configuration = try config.load(logger: logger)
        if let store { configuration.director.store = store }
        if let id { configuration.director.id = id }
        if let advertiseURL { configuration.director.advertiseURL = advertiseURL }
        if let advertiseRTSPURL { configuration.director.advertiseRTSPURL = advertiseRTSPURL }
        if let listen { (configuration.director.host, configuration.director.port) = try parseListen(listen) }
        if let dataDir { configuration.director.dataDirectory = dataDir }
        if rtspListen == "off" {
            configuration.director.rtspEnabled = false
        } else if let rtspListen {
            (configuration.director.rtspHost, configuration.director.rtspPort) = try parseListen(rtspListen)
            configuration.director.rtspEnabled = true
        }
        return configuration
    }
}

struct EngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Run a stream engine: stores objects, takes uploads, sends paced media straight to viewers.",
        discussion: """
            The engine's limits come from its entry under `engines:` in the config. It registers with \
            the director, heartbeats, renews the lease of every stream it sends and reports each end. \
            Prints "engine NAME listening on URL" once it accepts connections.
            """)

    @OptionGroup var config: ConfigOption
    @Option(help: "Engine name, as declared under `engines:` and in the topology.")
    var name: String
    @Option(help: "Listen address HOST:PORT (port 0 picks a free port).")
    var listen: String?
    @Option(help: "Directory for this engine's objects.")
    var dataDir: String?
    @Option(help: "Director base URL; overrides directorURL(s). Repeat it (or separate with commas) for several directors.")
    var director: [String] = []
    @Option(help: "URL the director gives clients for this engine (default: http://HOST:PORT it listens on).")
    var advertise: String?
    @Flag(help: "Check the configuration (and that it declares this engine), then exit.")
    var check = false
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        EventLoopSizing.fitToAffinity()
        let logger = logging.bootstrap(label: "sluice.engine.\(name)")
        // An engine has nothing to reload: a SIGHUP meant for the director must not kill it.
        signal(SIGHUP, SIG_IGN)
        let configuration = try config.load(logger: check ? nil : logger)
        guard var settings = configuration.engine(named: name) else {
            throw ConfigurationError(problems: ["engine '\(name)' is not declared under `engines:` in \(config.name); declared: \(configuration.engines.map(\.name).joined(separator: ", "))"])
        }
        if check { return announce("\(config.name): configuration is valid for engine \(name)") }
        if let listen { (settings.host, settings.port) = try parseListen(listen) }
        if let dataDir { settings.dataDirectory = dataDir }
        let directors = director.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        for url in directors where !(url.hasPrefix("http://") || url.hasPrefix("https://")) || URL(string: url)?.host == nil {
            throw ValidationError("--director: '\(url.prefix(64))' is not an http:// or https:// URL")
        }
        var server = EngineServer(
            settings: settings, directorURLs: directors.isEmpty ? configuration.directorURLs : directors, grantSecret: configuration.grantSecret,
            logger: logger)
        server.advertisedURL = advertise
        server.limits = configuration.limits
        server.metricsToken = configuration.director.metricsToken
        server.version = Sluice.version
        let host = settings.host
        let scheme = settings.tls == nil ? "http" : "https"
        let name = self.name
        let engine = server
        try await StartupSignals.run { started in
            try await engine.run { port in
                started()
                announce("engine \(name) listening on \(scheme)://\(host):\(port)")
            }
        }
    }
}

func parseListen(_ text: String) throws -> (String, Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
        throw ValidationError("'\(text)' is not HOST:PORT")
    }
    return (String(text[..<colon]), port)
}
