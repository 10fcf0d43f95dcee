import Yams

/// What re-reading a configuration file changes: the settings a running director applies at
/// once, and those it can only take at its next start.
public struct ConfigurationReload: Sendable, Equatable, Codable {
    /// Changed settings the director applied (`director.apiKeys`, `replication.copyRate`, ...).
    public var applied: [String] = []
    /// Changed settings that need a restart (listen addresses, topology, engines, the store ...).
    public var needsRestart: [String] = []

    public init(applied: [String] = [], needsRestart: [String] = []) {
        self.applied = applied
        self.needsRestart = needsRestart
    }

    /// Settings a director takes while it runs.
    static let live: Set<String> = [
        "director.apiKeys", "director.quotas", "director.usageWebhook", "director.logLevel", "licensing", "replication",
    ]

    /// Compares two configuration texts setting by setting (sections of `director:`, and every
    /// other top-level key, as wholes) and sorts what differs into live and restart.
    public static func compare(_ old: String, _ new: String) -> ConfigurationReload {
        let before = settings(old), after = settings(new)
        var reload = ConfigurationReload()
        for key in Set(before.keys).union(after.keys).sorted() where before[key] != after[key] {
            if live.contains(key) || live.contains(where: { key.hasPrefix($0 + ".") }) {
                reload.applied.append(key)
            } else {
                reload.needsRestart.append(key)
            }
        }
        return reload
    }

    /// `director.X` and `replication.X` per key, every other top-level key whole.
    static func settings(_ yaml: String) -> [String: Node] {
        guard let root = (try? Yams.compose(yaml: yaml)) ?? nil, case .mapping(let mapping) = root else { return [:] }
        var settings: [String: Node] = [:]
        for (key, value) in mapping {
            let name = key.string ?? "\(key)"
            if ["director", "replication"].contains(name), case .mapping(let section) = value {
                for (inner, setting) in section { settings[name + "." + (inner.string ?? "\(inner)")] = setting }
            } else {
                settings[name] = value
            }
        }
        return settings
    }
}
