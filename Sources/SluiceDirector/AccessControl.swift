import SluiceCore
import SluiceGrant

/// Who is asking and what they may play: users and keys (and the configuration's operator
/// keys), bearer tokens, Digest nonces, and each object's access rule. A value with the time
/// passed in; the director persists what changes and ends the streams of whoever is revoked.
struct AccessControl: Sendable {
    private(set) var identities: Identities
    private(set) var entitlements = Entitlements()
    /// Signs and checks bearer tokens, and issues and checks Digest nonces (nil without a
    /// cluster secret: then only keys are accepted).
    let tokens: BearerTokenSigner?
    let digests: DigestAuthenticator?

    /// How long a bearer token from `POST /v1/tokens` lives.
    static let tokenLifetime: Duration = .seconds(15 * 60)

    init(configurationKeys: Set<String>, grantSecret: String?) {
        identities = Identities(configurationKeys: configurationKeys)
        tokens = grantSecret.map(BearerTokenSigner.init(secret:))
        digests = grantSecret.map(DigestAuthenticator.init(secret:))
    }

    /// Who presented `key` (an API key or a bearer token), or why not.
    func authenticate(_ key: String?, now: Timestamp) -> Result<Principal, Identities.Failure> {
        if let key, let tokens, !identities.isOpen, BearerTokenSigner.looksLikeToken(key) {
            guard let claims = try? tokens.verify(key, now: now) else { return .failure(.unknown) }
            // The user's current role applies, and a revoked key or user voids the token.
            return identities.principal(user: claims.sub, keyID: claims.kid)
        }
        return identities.authenticate(key, digest: GrantSigner.sha256Hex)
    }

    /// Who answered a Digest challenge; nil otherwise, with `stale` when only the nonce expired.
    func authenticate(digest answer: DigestAnswer, method: String, binding: String, now: Timestamp) -> (principal: Principal?, stale: Bool) {
        guard let digests else { return (nil, false) }
        let candidates = identities.digestCandidates(username: answer.username) {
            DigestAuthenticator.ha1(user: Principal.configurationAdmin.name, key: $0)
        }
        switch digests.verify(answer, method: method, candidates: candidates.map(\.ha1), binding: binding, now: now) {
        case .valid(let index): return (candidates[index].principal, false)
        case .staleNonce: return (nil, true)
        case .invalid: return (nil, false)
        }
    }

    func digestChallenge(now: Timestamp, binding: String, stale: Bool) -> String? {
        digests?.challenge(at: now, binding: binding, stale: stale)
    }

    /// A bearer token for `principal` (who authenticated with a key), and its expiry.
    func token(for principal: Principal, now: Timestamp) -> (token: String, expiresAt: Timestamp)? {
        guard let tokens else { return nil }
        let expiry = now + Self.tokenLifetime
        let claims = BearerTokenClaims(
            sub: principal.name, kid: principal.keyID, iat: now.millisecondsSinceEpoch / 1000, exp: expiry.millisecondsSinceEpoch / 1000)
        return (tokens.issue(claims), Timestamp(millisecondsSinceEpoch: claims.exp * 1000))
    }

    func mayPlay(_ object: String, by principal: Principal) -> Bool {
        entitlements.mayPlay(object, by: principal)
    }

    func rule(of object: String) -> ObjectAccess { entitlements.access(of: object) }

    mutating func setRule(_ rule: ObjectAccess) { entitlements.set(rule) }
    mutating func removeRule(of object: String) { entitlements.remove(object) }
    mutating func setConfigurationKeys(_ keys: Set<String>) { identities.configurationKeys = keys }

    /// Users, keys and rules as the store has them now.
    mutating func reload(users: [User], keys: [KeyRecord], rules: [ObjectAccess]) {
        identities = Identities(configurationKeys: identities.configurationKeys, users: users, keys: keys)
        entitlements = Entitlements(rules)
    }

    mutating func add(_ user: User) -> Bool { identities.add(user) }
    mutating func add(_ key: KeyRecord) { identities.add(key) }
    mutating func revokeUser(_ name: String, at now: Timestamp) -> User? { identities.revokeUser(name, at: now) }
    mutating func revokeKey(_ id: String, at now: Timestamp) -> KeyRecord? { identities.revokeKey(id, at: now) }
    mutating func setQuota(_ quota: Quota?, ofUser name: String) -> User? { identities.setQuota(quota, ofUser: name) }
    mutating func setQuota(_ quota: Quota?, ofKey id: String) -> KeyRecord? { identities.setQuota(quota, ofKey: id) }

    /// Why `principal` may not hold one more stream of `bitsPerSecond`, given what each holder
    /// holds (`held`), or nil.
    func quotaRefusal(for principal: Principal, adding bitsPerSecond: Int64, policy: QuotaPolicy, held: (QuotaPolicy.Holder) -> Holding) -> AdmissionRefusal? {
        policy.refusal(
            for: principal, userQuota: identities.users[principal.name]?.quota, keyQuota: principal.keyID.flatMap { identities.keys[$0]?.quota },
            adding: bitsPerSecond, held: held)
    }

    /// The users in `group`.
    func members(of group: String) -> [String] {
        identities.users.values.filter { $0.groups.contains(group) }.map(\.name)
    }
}
