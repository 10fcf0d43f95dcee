import Yams

/// Which keys a configuration may hold, so a misspelt one (`maxWiat`, `lissten`) is an error
/// with a suggestion rather than a setting silently left at its default.
indirect enum ConfigurationSchema: Sendable {
    /// A mapping with exactly these keys (each optional).
    case fields([String: ConfigurationSchema])
    /// A mapping whose keys are names the user picks (group names), each value of one shape.
    case named(ConfigurationSchema)
    case list(ConfigurationSchema)
    case value

    static let quota = ConfigurationSchema.fields(["maxStreams": .value, "maxRate": .value])
    static let tls = ConfigurationSchema.fields(["certificate": .value, "key": .value, "ca": .value, "mutual": .value])

    static let root = ConfigurationSchema.fields([
        "director": .fields([
            "listen": .value, "rtspListen": .value, "rtspSessionTimeout": .value, "rtspPauseTimeout": .value,
            "dataDirectory": .value, "store": .value, "id": .value, "advertiseURL": .value, "advertiseRTSPURL": .value,
            "usageWebhook": .value, "apiKeys": .list(.value), "maxWait": .value, "leaseSlack": .value,
            "heartbeatTimeout": .value, "claimTimeout": .value, "rateHeadroom": .value, "maxQueueLength": .value,
            "bufferSeconds": .value, "ingestRate": .value, "logLevel": .value, "metricsToken": .value,
            "rtspsListen": .value, "plainListen": .value,
            "quotas": .fields(["user": quota, "key": quota, "groups": .named(quota)]),
        ]),
        "licensing": .fields([
            "trustedKeys": .list(.value),
            "profiles": .list(.fields([
                "name": .value, "version": .value, "readBytes": .value, "readAheadBlocks": .value, "buffers": .value,
                "pageCache": .value, "burstPackets": .value,
            ])),
        ]),
        "limits": .fields([
            "requestHeadTimeout": .value, "requestBodyTimeout": .value, "idleTimeout": .value, "sendTimeout": .value,
            "maxConnectionsPerClient": .value,
        ]),
        "replication": .fields([
            "enabled": .value, "window": .value, "overloadRequests": .value, "uplinkThreshold": .value, "targetLoadLimit": .value,
            "copyRate": .value, "maxConcurrentCopies": .value, "abandonBelowRequests": .value, "coolDown": .value,
            "minimumReplicas": .value,
        ]),
        "tls": tls,
        "directorURL": .value,
        "directorURLs": .list(.value),
        "grantSecret": .value,
        "topology": .fields([
            "nodes": .list(.fields(["name": .value, "kind": .value])),
            "links": .list(.fields(["name": .value, "from": .value, "to": .value, "capacity": .value])),
        ]),
        "clientNetworks": .list(.fields(["cidr": .value, "edge": .value])),
        "defaultEdge": .value,
        "engines": .list(.fields([
            "name": .value, "listen": .value, "dataDirectory": .value, "maxStreams": .value, "bufferMemory": .value,
            "ingestRate": .value, "disk": .value, "burst": .value, "reconnectGrace": .value, "hlsIdleTime": .value, "scrubRate": .value, "scrubInterval": .value, "rtpPort": .value, "dscp": .value,
            "rtpBurstWindow": .value, "tls": tls,
        ])),
    ])

    /// One problem per key the schema does not know, with its line and the nearest known key.
    func unknownKeys(in node: Node, path: String = "") -> [String] {
        switch (self, node) {
        case (.fields(let known), .mapping(let mapping)):
            var problems: [String] = []
            for (key, value) in mapping {
                let name = key.string ?? "\(key)"
                let here = path.isEmpty ? name : path + "." + name
                guard let schema = known[name] else {
                    let line = key.mark.map { " (line \($0.line))" } ?? ""
                    let suggestion = Self.nearest(to: name, among: known.keys).map { "; did you mean '\($0)'?" } ?? "; known here: \(known.keys.sorted().joined(separator: ", "))"
                    problems.append("\(here.prefix(96)): unknown key\(line)\(suggestion)")
                    continue
                }
                problems += schema.unknownKeys(in: value, path: here)
            }
            return problems
        case (.named(let schema), .mapping(let mapping)):
            return mapping.flatMap { key, value in schema.unknownKeys(in: value, path: path + "." + (key.string ?? "?")) }
        case (.list(let schema), .sequence(let sequence)):
            return sequence.enumerated().flatMap { index, value in schema.unknownKeys(in: value, path: "\(path)[\(index)]") }
        default:
            // A wrong shape (a list where a mapping belongs) is the decoder's to report.
            return []
        }
    }

    /// The known key within edit distance 2 (or a third of its length) of `name`, if one is.
    static func nearest(to name: String, among candidates: some Sequence<String>) -> String? {
        let scored = candidates.map { ($0, editDistance(name.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }) else { return nil }
        return best.1 <= max(2, name.count / 3) ? best.0 : nil
    }

    /// Levenshtein distance, with a transposition (`maxWiat`) counting as one edit.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1) }
            }
        }
        return table[a.count][b.count]
    }
}
