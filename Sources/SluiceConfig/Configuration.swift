import Foundation
import SluiceCore
import Yams

/// The whole cluster description, decoded once from YAML and validated with every problem
/// listed (see `examples/sluice.yaml`).
public struct Configuration: Sendable {
    public struct Director: Sendable {
        public var host: String
        public var port: Int
        public var dataDirectory: String
        public var apiKeys: [String]
        public var policy: AdmissionPolicy
        /// RTSP front door (`rtsp://HOST:PORT/OBJECT`); port 0 picks a free one.
        public var rtspHost: String
        public var rtspPort: Int
        /// RTSP session timeout announced in `Session: id;timeout=N`.
        public var rtspSessionTimeout: Duration
        /// How long a paused RTSP session may hold its reservation before it is released.
        public var rtspPauseTimeout: Duration
        /// `postgres://user:password@host:port/database` when several directors share state;
        /// nil for the embedded SQLite file in `dataDirectory`.
        public var store: String?
        /// This director's name in a shared store (its leases come back to it after a restart).
        public var id: String?
        /// URLs other directors send clients to when this director's queue is full (default: the
        /// addresses it listens on).
        public var advertiseURL: String?
        public var advertiseRTSPURL: String?
        /// When hot objects are copied to idle engines and the copies dropped again.
        public var replication: ReplicationPolicy
        /// Where every usage record is POSTed (at least once); nil: nowhere.
        public var usageWebhook: String?
        /// What each user, key and group may hold at once.
        public var quotas = QuotaPolicy()
        /// A bearer token that may read `/metrics` and nothing else (a scraper's credential).
        public var metricsToken: String?
        /// The director's log level (`trace` ... `critical`); nil: `--log-level` or `info`.
        /// A reload applies it.
        public var logLevel: String?
        /// Plain RTSP is served (`rtspListen: off` turns it off, leaving RTSPS alone).
        public var rtspEnabled = true
        /// RTSPS front door (`rtsps://HOST:PORT/OBJECT`), with `tls`; nil: none.
        public var rtsps: (host: String, port: Int)?
        /// A plain HTTP listener beside the HTTPS one (`plainListen`, e.g. loopback for local
        /// scrapers and tools); nil: none. Without `tls`, `listen` itself is plain.
        public var plainHTTP: (host: String, port: Int)?
    }

    /// PEM files a TLS listener presents and the CA the cluster's parts trust in each other.
    public struct TLSFiles: Sendable, Equatable {
        /// Certificate chain, leaf first.
        public var certificate: String
        public var key: String
        /// CA certificates the director, engines and their copies verify each other's
        /// certificates against, besides the system's; nil: the system's alone.
        public var ca: String?
        /// Mutual TLS between the parts: each presents its certificate when it calls another,
        /// and cluster calls (the cluster token's routes) are refused without one `ca` signed.
        public var mutual = false

        public init(certificate: String, key: String, ca: String? = nil, mutual: Bool = false) {
            self.certificate = certificate
            self.key = key
            self.ca = ca
            self.mutual = mutual
        }
    }

    /// The levels `director.logLevel` and `--log-level` take, most verbose first.
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    public struct Engine: Sendable {
        public var name: String
        public var host: String
        public var port: Int
        public var dataDirectory: String
        public var capacity: EngineCapacity
        /// Send rate = reserved rate; the token bucket may burst this many bytes.
        public var burstBytes: Int
        /// How long a stream waits for its player to reconnect (an HTTP seek) before it ends.
        public var reconnectGrace: Duration
        /// An HLS session that asks for nothing this long ends (nil: three target durations, 6-60 s).
        public var hlsIdleTime: Duration? = nil
        /// UDP port of the RTP socket (RTCP is the next one); 0 picks a free pair.
        public var rtpPort: Int
        /// DSCP of media packets (34 = AF41).
        public var dscp: Int
        /// RTP datagrams of one stream due within this window leave in one `UDP_SEGMENT` send
        /// (up to this much early, never late); zero sends each datagram alone.
        public var rtpBurstWindow: Duration
        /// Stored objects are re-verified in the background reading at most this fast (0: never
        /// after start), one pass every `scrubInterval`.
        public var scrubBitsPerSecond: Int64 = 100_000_000
        public var scrubInterval: Duration = .seconds(6 * 3600)
        /// The certificate its HTTPS listener presents (`engines[].tls`, else the cluster's
        /// `tls`); nil: plain HTTP.
        public var tls: TLSFiles?
    }

    /// Licenses and the stream I/O profiles they unlock.
    public struct Licensing: Sendable {
        /// Ed25519 public keys (Base64 of 32 bytes) of the license servers whose licenses count.
        public var trustedKeys: [String] = []
        /// Every profile a license may name: the built-in ones, with configured ones added or
        /// replacing them by name.
        public var profiles: [IOProfile] = IOProfile.builtIn
        public init() {}
    }

    public var director: Director
    /// `tls`: the director's API, every engine and RTSPS speak TLS with these files.
    public var tls: TLSFiles?
    public var licensing = Licensing()
    /// Deadlines and per-address connection caps of every listener (director, RTSP, engines).
    public var limits = ListenerLimits()
    /// Base URL engines use to reach the director.
    public var directorURL: String
    /// Every director engines may report to, `directorURL` first (with `directorURLs:` for
    /// several). Engines also learn the live directors from the shared store through them.
    public var directorURLs: [String] = []
    /// Shared secret the director signs grants with and engines verify them with.
    public var grantSecret: String
    public var topology: Topology
    public var clientNetworks: ClientNetworks
    public var engines: [Engine]
    /// The text it was parsed from (what a reload compares against).
    public var source = ""

    public func engine(named name: String) -> Engine? { engines.first { $0.name == name } }

    public static func load(path: String) throws -> Configuration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(problems: ["cannot read \(path): no such file or not readable"])
        }
        guard data.count <= 4 << 20 else { throw ConfigurationError(problems: ["\(path) is larger than 4 MiB; that is not a config file"]) }
        return try parse(yaml: String(decoding: data, as: UTF8.self), relativeTo: (path as NSString).deletingLastPathComponent)
    }

    /// Parses YAML text. Relative data directories are resolved against `relativeTo`.
    public static func parse(yaml: String, relativeTo base: String = ".") throws -> Configuration {
        // libyaml recurses once per open '[' or '{': thousands of them overflow the stack (found
        // by Fuzz/run.sh config). No configuration nests more than a few levels.
        if let depth = flowNestingDepth(yaml, limit: maxFlowNesting) {
            throw ConfigurationError(problems: ["YAML nests '[' and '{' more than \(maxFlowNesting) levels deep (at least \(depth)); that is not a Sluice configuration"])
        }
        let raw: RawConfiguration
        var problems: [String] = []
        do {
            if let node = try Yams.compose(yaml: yaml) { problems += ConfigurationSchema.root.unknownKeys(in: node) }
            raw = try YAMLDecoder().decode(RawConfiguration.self, from: yaml)
        } catch {
            throw ConfigurationError(problems: problems + ["not valid Sluice YAML: \(error)"])
        }
        func resolve(_ dir: String) -> String {
            dir.hasPrefix("/") ? dir : (base as NSString).appendingPathComponent(dir)
        }

        var policy = AdmissionPolicy()
        let rawDirector = raw.director ?? RawConfiguration.RawDirector()
        func duration(_ text: String?, _ field: String) -> Duration? {
            guard let text else { return nil }
            guard let value = Quantity.duration(text) else {
                problems.append("\(field.contains(".") ? "" : "director.")\(field): '\(text)' is not a duration (try '10s' or '500ms')")
                return nil
            }
            return value
        }
        if let value = duration(rawDirector.maxWait, "maxWait") { policy.maxWait = value }
        if let value = duration(rawDirector.leaseSlack, "leaseSlack") { policy.leaseSlack = value }
        if let value = duration(rawDirector.heartbeatTimeout, "heartbeatTimeout") { policy.heartbeatTimeout = value }
        if let value = duration(rawDirector.claimTimeout, "claimTimeout") { policy.claimTimeout = value }
        if let value = rawDirector.rateHeadroom {
            if value < 0 || value > 1 { problems.append("director.rateHeadroom must be between 0 and 1, not \(value)") } else { policy.rateHeadroom = value }
        }
        if let value = rawDirector.maxQueueLength {
            if value < 0 { problems.append("director.maxQueueLength must not be negative") } else { policy.maxQueueLength = value }
        }
        if let value = rawDirector.bufferSeconds {
            if value.isFinite, (0...3600).contains(value) { policy.bufferSeconds = value } else { problems.append("director.bufferSeconds must be between 0 and 3600") }
        }
        if let text = rawDirector.ingestRate {
            if let value = Quantity.bitsPerSecond(text), value > 0 { policy.ingestBitsPerSecond = value } else { problems.append("director.ingestRate: '\(text)' is not a rate (try '200Mbit')") }
        }
        let (host, port) = splitListen(rawDirector.listen ?? "127.0.0.1:8080", field: "director.listen", problems: &problems)
        let rtspListen = rawDirector.rtspListen == "off" ? nil : rawDirector.rtspListen
        let (rtspHost, rtspPort) = splitListen(rtspListen ?? "\(host):8554", field: "director.rtspListen", problems: &problems)
        var replicationProblems: [String] = []
        let replication = replicationPolicy(raw.replication, duration: duration, problems: &replicationProblems)
        problems += replicationProblems
        let tls = tlsFiles(raw.tls, field: "tls", resolve: resolve, problems: &problems)
        var director = Director(
            host: host, port: port, dataDirectory: resolve(rawDirector.dataDirectory ?? "sluice-data/director"),
            apiKeys: rawDirector.apiKeys ?? [], policy: policy, rtspHost: rtspHost, rtspPort: rtspPort,
            rtspSessionTimeout: duration(rawDirector.rtspSessionTimeout, "rtspSessionTimeout") ?? .seconds(60),
            rtspPauseTimeout: duration(rawDirector.rtspPauseTimeout, "rtspPauseTimeout") ?? .seconds(300),
            store: rawDirector.store, id: rawDirector.id, advertiseURL: rawDirector.advertiseURL,
            advertiseRTSPURL: rawDirector.advertiseRTSPURL,
            replication: replication, usageWebhook: rawDirector.usageWebhook)
        director.quotas = quotaPolicy(rawDirector.quotas, problems: &problems)
        if let token = rawDirector.metricsToken {
            if token.utf8.count >= 16 { director.metricsToken = token } else { problems.append("director.metricsToken must be at least 16 characters") }
        }
        if rawDirector.rtspListen == "off" { director.rtspEnabled = false }
        if let text = rawDirector.rtspsListen {
            if tls == nil { problems.append("director.rtspsListen needs a tls section (the certificate RTSPS presents)") }
            director.rtsps = splitListen(text, field: "director.rtspsListen", problems: &problems)
        }
        if let text = rawDirector.plainListen {
            if tls == nil { problems.append("director.plainListen is for a plain HTTP listener beside HTTPS; without a tls section director.listen is plain already") }
            director.plainHTTP = splitListen(text, field: "director.plainListen", problems: &problems)
        }
        if let level = rawDirector.logLevel {
            if logLevels.contains(level) { director.logLevel = level } else {
                problems.append("director.logLevel: '\(level.prefix(32))' is not one of \(logLevels.joined(separator: ", "))")
            }
        }
        if let hook = rawDirector.usageWebhook, !(hook.hasPrefix("http://") || hook.hasPrefix("https://")) || URL(string: hook)?.host == nil {
            problems.append("director.usageWebhook: '\(hook.prefix(64))' is not an http:// or https:// URL")
        }
        if let store = rawDirector.store, !(store.hasPrefix("postgres://") || store.hasPrefix("postgresql://") || store == "sqlite") {
            problems.append("director.store: '\(store.prefix(64))' is neither 'sqlite' nor a postgres:// URL")
        }

        var nodes: [SluiceCore.Node] = []
        var links: [Link] = []
        for node in raw.topology?.nodes ?? [] {
            guard let kind = SluiceCore.Node.Kind(rawValue: node.kind) else {
                problems.append("topology node '\(node.name)': kind '\(node.kind)' is not one of \(SluiceCore.Node.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
                continue
            }
            nodes.append(SluiceCore.Node(name: node.name, kind: kind))
        }
        for link in raw.topology?.links ?? [] {
            guard let capacity = Quantity.bitsPerSecond(link.capacity) else {
                problems.append("topology link '\(link.name)': capacity '\(link.capacity)' is not a rate (try '100Mbit')")
                continue
            }
            links.append(Link(name: link.name, from: link.from, to: link.to, capacityBitsPerSecond: capacity))
        }
        var topology: Topology?
        do throws(TopologyError) {
            topology = try Topology(nodes: nodes, links: links)
        } catch {
            problems += error.problems
        }
        if nodes.isEmpty { problems.append("topology: no nodes declared") }

        let firstEdge = nodes.first { $0.kind == SluiceCore.Node.Kind.edge }?.name
        let defaultEdge = raw.defaultEdge ?? firstEdge ?? ""
        if !nodes.contains(where: { $0.name == defaultEdge && $0.kind == SluiceCore.Node.Kind.edge }) {
            problems.append("defaultEdge '\(defaultEdge)' is not an edge node of the topology")
        }
        var entries: [ClientNetworks.Entry] = []
        for network in raw.clientNetworks ?? [] {
            guard let block = CIDRBlock(network.cidr) else {
                problems.append("clientNetworks: '\(network.cidr)' is not a CIDR block (try '10.0.0.0/8')")
                continue
            }
            if !nodes.contains(where: { $0.name == network.edge && $0.kind == SluiceCore.Node.Kind.edge }) {
                problems.append("clientNetworks: '\(network.cidr)' maps to '\(network.edge)', which is not an edge node")
            }
            entries.append(.init(block: block, edge: network.edge))
        }

        var engines: [Engine] = []
        for engine in raw.engines ?? [] {
            if !nodes.contains(where: { $0.name == engine.name && $0.kind == SluiceCore.Node.Kind.engine }) {
                problems.append("engine '\(engine.name)' is not an engine node of the topology")
            }
            let (host, port) = splitListen(engine.listen ?? "127.0.0.1:0", field: "engines.\(engine.name).listen", problems: &problems)
            func bytes(_ text: String?, _ fallback: Int64, _ field: String) -> Int64 {
                guard let text else { return fallback }
                guard let value = Quantity.bytes(text) else {
                    problems.append("engine '\(engine.name)': \(field) '\(text)' is not a size (try '10GiB')")
                    return fallback
                }
                return value
            }
            var ingest: Int64 = 1_000_000_000
            if let text = engine.ingestRate {
                if let value = Quantity.bitsPerSecond(text) { ingest = value } else { problems.append("engine '\(engine.name)': ingestRate '\(text)' is not a rate") }
            }
            engines.append(Engine(
                name: engine.name, host: host, port: port,
                dataDirectory: resolve(engine.dataDirectory ?? "sluice-data/\(engine.name)"),
                capacity: EngineCapacity(
                    maxStreams: engine.maxStreams ?? 1000, bufferBytes: bytes(engine.bufferMemory, 1 << 30, "bufferMemory"),
                    ingestBitsPerSecond: ingest, diskBytes: bytes(engine.disk, 100 << 30, "disk")),
                burstBytes: Int(bytes(engine.burst, 64 * 1024, "burst")),
                reconnectGrace: duration(engine.reconnectGrace, "engines.\(engine.name).reconnectGrace") ?? .seconds(2),
                rtpPort: engine.rtpPort ?? 0, dscp: engine.dscp ?? 34,
                rtpBurstWindow: duration(engine.rtpBurstWindow, "engines.\(engine.name).rtpBurstWindow") ?? .milliseconds(8)))
            engines[engines.count - 1].hlsIdleTime = duration(engine.hlsIdleTime, "engines.\(engine.name).hlsIdleTime")
            if let own = engine.tls {
                if tls == nil { problems.append("engine '\(engine.name)': tls needs the cluster's tls section too (its CA, and the director's certificate)") }
                engines[engines.count - 1].tls = tlsFiles(own, field: "engines.\(engine.name).tls", resolve: resolve, problems: &problems).map {
                    TLSFiles(certificate: $0.certificate, key: $0.key, ca: $0.ca ?? tls?.ca, mutual: tls?.mutual ?? false)
                }
            } else {
                engines[engines.count - 1].tls = tls
            }
            if let text = engine.scrubRate {
                if text == "0" || text == "off" {
                    engines[engines.count - 1].scrubBitsPerSecond = 0
                } else if let value = Quantity.bitsPerSecond(text), value > 0 {
                    engines[engines.count - 1].scrubBitsPerSecond = value
                } else {
                    problems.append("engine '\(engine.name)': scrubRate '\(text)' is not a rate (try '100Mbit', or 'off')")
                }
            }
            if let interval = duration(engine.scrubInterval, "engines.\(engine.name).scrubInterval") {
                if interval < .seconds(1) {
                    problems.append("engine '\(engine.name)': scrubInterval must be at least 1s")
                } else {
                    engines[engines.count - 1].scrubInterval = interval
                }
            }
            if let idle = engines[engines.count - 1].hlsIdleTime, idle < .seconds(1) || idle > .seconds(3600) {
                problems.append("engine '\(engine.name)': hlsIdleTime must be 1s to 1h")
            }
            if let window = engine.rtpBurstWindow.flatMap(Quantity.duration), window > .milliseconds(100) {
                problems.append("engine '\(engine.name)': rtpBurstWindow must be at most 100ms (players buffer little)")
            }
            if let dscp = engine.dscp, !(0...63).contains(dscp) { problems.append("engine '\(engine.name)': dscp must be 0...63") }
            if let port = engine.rtpPort, !(0...65534).contains(port) { problems.append("engine '\(engine.name)': rtpPort must be 0...65534") }
        }
        let licensing = licensing(raw.licensing, problems: &problems)
        var limits = ListenerLimits()
        if let raw = raw.limits {
            func positive(_ text: String?, _ field: String) -> Duration? {
                guard let value = duration(text, "limits.\(field)") else { return nil }
                guard value > .zero else {
                    problems.append("limits.\(field) must be longer than zero")
                    return nil
                }
                return value
            }
            if let value = positive(raw.requestHeadTimeout, "requestHeadTimeout") { limits.requestHeadTimeout = value }
            if let value = positive(raw.requestBodyTimeout, "requestBodyTimeout") { limits.requestBodyTimeout = value }
            if let value = positive(raw.idleTimeout, "idleTimeout") { limits.idleTimeout = value }
            if let value = positive(raw.sendTimeout, "sendTimeout") { limits.sendTimeout = value }
            if let value = raw.maxConnectionsPerClient {
                if value < 1 { problems.append("limits.maxConnectionsPerClient must be at least 1") } else { limits.maxConnectionsPerClient = value }
            }
        }
        let secret = raw.grantSecret ?? ""
        if secret.utf8.count < 16 { problems.append("grantSecret must be at least 16 characters (it signs stream grants)") }

        for url in [raw.directorURL].compactMap(\.self) + (raw.directorURLs ?? []) where !Self.isHTTPURL(url) {
            problems.append("directorURL(s): '\(url.prefix(64))' is not an http:// or https:// URL")
        }
        guard problems.isEmpty, let topology else { throw ConfigurationError(problems: problems) }
        let directorURL = raw.directorURL ?? raw.directorURLs?.first ?? "\(tls == nil ? "http" : "https")://\(host):\(port)"
        var configuration = Configuration(
            director: director, licensing: licensing, limits: limits, directorURL: directorURL, grantSecret: secret,
            topology: topology, clientNetworks: ClientNetworks(entries: entries, defaultEdge: defaultEdge), engines: engines, source: yaml)
        configuration.directorURLs = Self.distinct([directorURL] + (raw.directorURLs ?? []))
        configuration.tls = tls
        return configuration
    }

    static let maxProfiles = 64

    /// A `tls` section: both files named (relative to the config file's directory); their
    /// contents are checked when a listener loads them.
    private static func tlsFiles(_ raw: RawConfiguration.RawTLS?, field: String, resolve: (String) -> String, problems: inout [String]) -> TLSFiles? {
        guard let raw else { return nil }
        guard let certificate = raw.certificate, let key = raw.key else {
            problems.append("\(field) needs both certificate and key (PEM files)")
            return nil
        }
        if raw.mutual == true && raw.ca == nil && field == "tls" {
            problems.append("tls.mutual needs tls.ca (the CA the parts' certificates are checked against)")
        }
        if raw.mutual != nil && field != "tls" { problems.append("\(field).mutual: mutual TLS is the cluster's choice (tls.mutual)") }
        return TLSFiles(certificate: resolve(certificate), key: resolve(key), ca: raw.ca.map(resolve), mutual: raw.mutual ?? false)
    }

    /// `director.quotas`: a section given replaces that default whole (a field left out does
    /// not limit); `unlimited` lifts a limit.
    private static func quotaPolicy(_ raw: RawConfiguration.RawQuotas?, problems: inout [String]) -> QuotaPolicy {
        var policy = QuotaPolicy()
        guard let raw else { return policy }
        func quota(_ raw: RawConfiguration.RawQuota, _ field: String) -> Quota {
            var quota = Quota()
            if let text = raw.maxStreams, text != "unlimited" {
                if let value = Int(text), value >= 0 { quota.maxStreams = value } else {
                    problems.append("director.quotas.\(field).maxStreams: '\(text.prefix(32))' is not a count or 'unlimited'")
                }
            }
            if let text = raw.maxRate, text != "unlimited" {
                if let value = Quantity.bitsPerSecond(text), value >= 0 { quota.maxBitsPerSecond = value } else {
                    problems.append("director.quotas.\(field).maxRate: '\(text.prefix(32))' is not a rate (try '50Mbit') or 'unlimited'")
                }
            }
            return quota
        }
        if let user = raw.user { policy.user = quota(user, "user") }
        if let key = raw.key { policy.key = quota(key, "key") }
        for (name, group) in raw.groups ?? [:] {
            if !User.isValidName(name) { problems.append("director.quotas.groups: '\(name.prefix(64))' is not a group name") }
            policy.groups[name] = quota(group, "groups.\(name)")
        }
        return policy
    }

    private static func licensing(_ raw: RawConfiguration.RawLicensing?, problems: inout [String]) -> Licensing {
        var licensing = Licensing()
        guard let raw else { return licensing }
        for key in raw.trustedKeys ?? [] {
            if Data(base64Encoded: key.trimmingCharacters(in: .whitespaces))?.count == 32 {
                licensing.trustedKeys.append(key.trimmingCharacters(in: .whitespaces))
            } else {
                problems.append("licensing.trustedKeys: '\(key.prefix(64))' is not the Base64 of a 32-byte Ed25519 public key (see sluice license keygen)")
            }
        }
        let configured = raw.profiles ?? []
        if configured.count > maxProfiles { problems.append("licensing.profiles: at most \(maxProfiles) profiles") }
        for entry in configured.prefix(maxProfiles) {
            guard let cache = IOProfile.PageCache(rawValue: entry.pageCache ?? "normal") else {
                problems.append("profile '\(entry.name.prefix(64))': pageCache must be normal, drop-behind or direct")
                continue
            }
            guard let readBytes = Quantity.bytes(entry.readBytes) else {
                problems.append("profile '\(entry.name.prefix(64))': readBytes '\(entry.readBytes.prefix(32))' is not a size (try '512KiB')")
                continue
            }
            let profile = IOProfile(
                name: entry.name, version: entry.version ?? 1, readBytes: Int(clamping: readBytes), readAheadBlocks: entry.readAheadBlocks ?? 0,
                buffers: entry.buffers ?? 2, pageCache: cache, burstPackets: entry.burstPackets ?? 8)
            if profile.name == IOProfile.traditional.name {
                problems.append("profile 'traditional' is what unlicensed streams read with; it cannot be redefined")
                continue
            }
            problems += profile.problems
            licensing.profiles.removeAll { $0.name == profile.name }
            licensing.profiles.append(profile)
        }
        return licensing
    }

    static let maxFlowNesting = 64

    /// The flow nesting depth of `yaml` once it passes `limit`, else nil. Brackets in quotes and
    /// comments do not count.
    static func flowNestingDepth(_ yaml: String, limit: Int) -> Int? {
        var depth = 0
        var quote: UInt8?
        var comment = false
        var previous: UInt8 = UInt8(ascii: "\n")
        for byte in yaml.utf8 {
            defer { previous = byte }
            if comment {
                if byte == UInt8(ascii: "\n") { comment = false }
                continue
            }
            if let open = quote {
                if byte == open { quote = nil }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "'"): quote = byte
            case UInt8(ascii: "#") where previous == UInt8(ascii: " ") || previous == UInt8(ascii: "\n") || previous == UInt8(ascii: "\t"):
                comment = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit { return depth }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth = max(0, depth - 1)
            default: break
            }
        }
        return nil
    }

    private static func replicationPolicy(
        _ raw: RawConfiguration.RawReplication?, duration: (String?, String) -> Duration?, problems: inout [String]
    ) -> ReplicationPolicy {
        var policy = ReplicationPolicy()
        guard let raw else { return policy }
        if let value = raw.enabled { policy.enabled = value }
        if let value = duration(raw.window, "replication.window") {
            if value < .seconds(1) { problems.append("replication.window must be at least 1s") } else { policy.window = value }
        }
        if let value = duration(raw.coolDown, "replication.coolDown") { policy.coolDown = value }
        if let text = raw.copyRate {
            if let value = Quantity.bitsPerSecond(text), value > 0 { policy.copyBitsPerSecond = value } else { problems.append("replication.copyRate: '\(text)' is not a rate (try '50Mbit')") }
        }
        if let value = raw.overloadRequests {
            if value < 1 { problems.append("replication.overloadRequests must be at least 1") } else { policy.overloadRequests = value }
        }
        if let value = raw.abandonBelowRequests {
            if value < 0 { problems.append("replication.abandonBelowRequests must not be negative") } else { policy.abandonBelowRequests = value }
        }
        if let value = raw.uplinkThreshold {
            if !(0...1).contains(value) { problems.append("replication.uplinkThreshold must be between 0 and 1") } else { policy.uplinkThreshold = value }
        }
        if let value = raw.targetLoadLimit {
            if !(0...1).contains(value) { problems.append("replication.targetLoadLimit must be between 0 and 1") } else { policy.targetLoadLimit = value }
        }
        if let value = raw.maxConcurrentCopies {
            if value < 0 { problems.append("replication.maxConcurrentCopies must not be negative") } else { policy.maxConcurrentCopies = value }
        }
        if let value = raw.minimumReplicas {
            if value < 1 { problems.append("replication.minimumReplicas must be at least 1") } else { policy.minimumReplicas = value }
        }
        return policy
    }

    static func isHTTPURL(_ text: String) -> Bool {
        guard let scheme = ["http://", "https://"].first(where: text.hasPrefix) else { return false }
        return !(text.dropFirst(scheme.count).split(separator: "/").first ?? "").isEmpty
    }

    /// `urls` in order, each once (a trailing slash does not make another).
    public static func distinct(_ urls: [String]) -> [String] {
        var seen = Set<String>()
        return urls.filter { seen.insert($0.hasSuffix("/") ? String($0.dropLast()) : $0).inserted }
    }

    private static func splitListen(_ text: String, field: String, problems: inout [String]) -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            problems.append("\(field): '\(text)' is not host:port")
            return ("127.0.0.1", 0)
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }
}

/// Every problem in a configuration, one per line.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var problems: [String]
    public init(problems: [String]) { self.problems = problems }
    public var description: String { "configuration has \(problems.count) problem(s):\n" + problems.map { "  - \($0)" }.joined(separator: "\n") }
}

struct RawConfiguration: Decodable {
    struct RawDirector: Decodable {
        var listen: String?
        var rtspListen: String?
        var rtspSessionTimeout: String?
        var rtspPauseTimeout: String?
        var dataDirectory: String?
        var store: String?
        var id: String?
        var advertiseURL: String?
        var advertiseRTSPURL: String?
        var usageWebhook: String?
        var apiKeys: [String]?
        var maxWait: String?
        var leaseSlack: String?
        var heartbeatTimeout: String?
        var claimTimeout: String?
        var rateHeadroom: Double?
        var maxQueueLength: Int?
        var bufferSeconds: Double?
        var ingestRate: String?
        var quotas: RawQuotas?
        var logLevel: String?
        var metricsToken: String?
        var rtspsListen: String?
        var plainListen: String?
    }

    struct RawTLS: Decodable { var certificate: String?; var key: String?; var ca: String?; var mutual: Bool? }

    struct RawQuota: Decodable { var maxStreams: String?; var maxRate: String? }
    struct RawQuotas: Decodable { var user: RawQuota?; var key: RawQuota?; var groups: [String: RawQuota]? }

    struct RawNode: Decodable { var name: String; var kind: String }
    struct RawLink: Decodable { var name: String; var from: String; var to: String; var capacity: String }
    struct RawTopology: Decodable { var nodes: [RawNode]?; var links: [RawLink]? }
    struct RawNetwork: Decodable { var cidr: String; var edge: String }
    struct RawEngine: Decodable {
        var name: String
        var listen: String?
        var dataDirectory: String?
        var maxStreams: Int?
        var bufferMemory: String?
        var ingestRate: String?
        var disk: String?
        var burst: String?
        var reconnectGrace: String?
        var hlsIdleTime: String?
        var rtpPort: Int?
        var dscp: Int?
        var rtpBurstWindow: String?
        var scrubRate: String?
        var scrubInterval: String?
        var tls: RawTLS?
    }

    struct RawReplication: Decodable {
        var enabled: Bool?
        var window: String?
        var overloadRequests: Int?
        var uplinkThreshold: Double?
        var targetLoadLimit: Double?
        var copyRate: String?
        var maxConcurrentCopies: Int?
        var abandonBelowRequests: Int?
        var coolDown: String?
        var minimumReplicas: Int?
    }

    struct RawProfile: Decodable {
        var name: String
        var version: Int?
        var readBytes: String
        var readAheadBlocks: Int?
        var buffers: Int?
        var pageCache: String?
        var burstPackets: Int?
    }

    struct RawLicensing: Decodable {
        var trustedKeys: [String]?
        var profiles: [RawProfile]?
    }

    struct RawLimits: Decodable {
        var requestHeadTimeout: String?
        var requestBodyTimeout: String?
        var idleTimeout: String?
        var sendTimeout: String?
        var maxConnectionsPerClient: Int?
    }

    var director: RawDirector?
    var tls: RawTLS?
    var licensing: RawLicensing?
    var limits: RawLimits?
    var replication: RawReplication?
    var directorURL: String?
    var directorURLs: [String]?
    var grantSecret: String?
    var topology: RawTopology?
    var clientNetworks: [RawNetwork]?
    var defaultEdge: String?
    var engines: [RawEngine]?
}
