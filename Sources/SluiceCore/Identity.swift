/// Who may do what: users with a role, their API keys (kept as digests), and the keys from
/// the configuration (operators with the admin role).
public enum Role: String, Hashable, Sendable, Codable, CaseIterable, Comparable {
    /// Plays what it is entitled to.
    case viewer
    /// Also uploads (and owns what it uploads).
    case uploader
    /// Everything: views, teardown, replicas, drains, users and keys.
    case admin

    private var rank: Int { Role.allCases.firstIndex(of: self) ?? 0 }
    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}

public struct User: Hashable, Sendable, Codable {
    public var name: String
    public var role: Role
    public var groups: [String]
    public var createdAt: Timestamp
    public var revokedAt: Timestamp?
    /// Replaces the configuration's per-user default quota (nil: the default applies).
    public var quota: Quota?

    public init(name: String, role: Role, groups: [String] = [], createdAt: Timestamp, revokedAt: Timestamp? = nil, quota: Quota? = nil) {
        self.quota = quota
        self.name = name
        self.role = role
        self.groups = groups
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    /// Names travel in URLs and logs: a bounded, safe alphabet.
    public static func isValidName(_ name: String) -> Bool { MediaObject.isValidName(name) && name.utf8.count <= 64 }
}

/// An API key as stored: its public ID and the SHA-256 of its secret part, never the secret.
public struct KeyRecord: Hashable, Sendable, Codable {
    public var id: String
    public var user: String
    public var secretSHA256: String
    /// `MD5(user:sluice:key)`, to check RTSP Digest answers (keys made before Digest have none).
    public var digestHA1: String?
    public var createdAt: Timestamp
    public var revokedAt: Timestamp?
    /// Replaces the configuration's per-key default quota (nil: the default applies).
    public var quota: Quota?

    public init(
        id: String, user: String, secretSHA256: String, digestHA1: String? = nil, createdAt: Timestamp, revokedAt: Timestamp? = nil, quota: Quota? = nil
    ) {
        self.quota = quota
        self.digestHA1 = digestHA1
        self.id = id
        self.user = user
        self.secretSHA256 = secretSHA256
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    /// Keys are presented as `sk_ID_SECRET`.
    public static func parse(_ presented: String) -> (id: String, secret: String)? {
        let parts = presented.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "sk", (8...32).contains(parts[1].count), (16...128).contains(parts[2].count),
              parts[1].allSatisfy(\.isHexDigit), parts[2].allSatisfy(\.isHexDigit) else { return nil }
        return (String(parts[1]), String(parts[2]))
    }
}

/// The caller of a request, once authenticated.
public struct Principal: Hashable, Sendable, Codable {
    public var name: String
    public var role: Role
    public var groups: [String]
    /// The key it presented (nil for a configuration key or an open director).
    public var keyID: String?

    public init(name: String, role: Role, groups: [String] = [], keyID: String? = nil) {
        self.name = name
        self.role = role
        self.groups = groups
        self.keyID = keyID
    }

    /// What an open director (no keys, no users) treats every caller as.
    public static let anonymousAdmin = Principal(name: "anonymous", role: .admin)
    /// Callers presenting a key from `director.apiKeys`.
    public static let configurationAdmin = Principal(name: "operator", role: .admin)
}

/// Users and keys in memory, decided without I/O (the director persists the changes).
public struct Identities: Sendable {
    public private(set) var users: [String: User] = [:]
    public private(set) var keys: [String: KeyRecord] = [:]
    /// The operator keys of the configuration (replaced when it is reloaded).
    public var configurationKeys: Set<String>

    public init(configurationKeys: Set<String>, users: [User] = [], keys: [KeyRecord] = []) {
        self.configurationKeys = configurationKeys
        for user in users { self.users[user.name] = user }
        for key in keys { self.keys[key.id] = key }
    }

    /// No configuration key and no user: every caller is let in (the director warns at start).
    public var isOpen: Bool { configurationKeys.isEmpty && users.isEmpty }

    public enum Failure: Error, Hashable, Sendable {
        case missing, unknown, revoked
        /// Says what went wrong without saying which users or keys exist.
        public var message: String {
            switch self {
            case .missing: "a valid API key is required (Authorization: Bearer KEY, X-API-Key or ?key=)"
            case .unknown, .revoked: "the API key is not valid"
            }
        }
    }

    /// Who presented `presented`; `digest` is the hex SHA-256 of a key's secret part.
    public func authenticate(_ presented: String?, digest: (String) -> String) -> Result<Principal, Failure> {
        if isOpen { return .success(.anonymousAdmin) }
        guard let presented, !presented.isEmpty else { return .failure(.missing) }
        if configurationKeys.contains(presented) { return .success(.configurationAdmin) }
        guard let (id, secret) = KeyRecord.parse(presented), let key = keys[id], let user = users[key.user],
              Self.constantTimeEqual(digest(secret), key.secretSHA256) else { return .failure(.unknown) }
        guard key.revokedAt == nil, user.revokedAt == nil else { return .failure(.revoked) }
        return .success(Principal(name: user.name, role: user.role, groups: user.groups, keyID: id))
    }

    /// The principal a bearer token names, if its user (and key) still stand. The role is the
    /// user's role now, not when the token was issued.
    public func principal(user name: String, keyID: String?) -> Result<Principal, Failure> {
        if keyID == nil, name == Principal.configurationAdmin.name, !configurationKeys.isEmpty { return .success(.configurationAdmin) }
        guard let keyID, let key = keys[keyID], key.user == name, let user = users[name] else { return .failure(.unknown) }
        guard key.revokedAt == nil, user.revokedAt == nil else { return .failure(.revoked) }
        return .success(Principal(name: user.name, role: user.role, groups: user.groups, keyID: keyID))
    }

    /// Who may answer a Digest challenge as `username`, and the HA1 of each key that may:
    /// a user's live keys, or the configuration keys for `operator`.
    public func digestCandidates(username: String, operatorHA1: (String) -> String) -> [(principal: Principal, ha1: String)] {
        if username == Principal.configurationAdmin.name, !configurationKeys.isEmpty {
            return configurationKeys.sorted().map { (Principal.configurationAdmin, operatorHA1($0)) }
        }
        guard let user = users[username], user.revokedAt == nil else { return [] }
        return keys.values.filter { $0.user == username && $0.revokedAt == nil && $0.digestHA1 != nil }.sorted { $0.id < $1.id }.map {
            (Principal(name: user.name, role: user.role, groups: user.groups, keyID: $0.id), $0.digestHA1 ?? "")
        }
    }

    public mutating func add(_ user: User) -> Bool {
        guard users[user.name] == nil else { return false }
        users[user.name] = user
        return true
    }

    public mutating func add(_ key: KeyRecord) {
        keys[key.id] = key
    }

    /// Revokes a user and every key of theirs; nil when unknown.
    public mutating func revokeUser(_ name: String, at now: Timestamp) -> User? {
        guard var user = users[name] else { return nil }
        if user.revokedAt == nil { user.revokedAt = now }
        users[name] = user
        for (id, key) in keys where key.user == name && key.revokedAt == nil { keys[id]?.revokedAt = now }
        return user
    }

    /// Sets (or with nil clears) a user's own quota; nil when the user is unknown.
    public mutating func setQuota(_ quota: Quota?, ofUser name: String) -> User? {
        guard users[name] != nil else { return nil }
        users[name]?.quota = quota
        return users[name]
    }

    public mutating func setQuota(_ quota: Quota?, ofKey id: String) -> KeyRecord? {
        guard keys[id] != nil else { return nil }
        keys[id]?.quota = quota
        return keys[id]
    }

    public mutating func revokeKey(_ id: String, at now: Timestamp) -> KeyRecord? {
        guard var key = keys[id] else { return nil }
        if key.revokedAt == nil { key.revokedAt = now }
        keys[id] = key
        return key
    }

    /// Compares secrets without an early exit that would time how much of a guess was right.
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8), right = Array(b.utf8)
        guard left.count == right.count else { return false }
        return zip(left, right).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
