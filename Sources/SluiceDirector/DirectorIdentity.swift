import Foundation
import SluiceCore
import SluiceGrant

/// Users, API keys and revocation. Keys are shown once, at creation, and stored as digests.
extension Director {
    /// Who presented `key` (any role), or why not.
    public func authenticate(_ key: String?) -> Result<Principal, Identities.Failure> {
        accessControl.authenticate(key, now: clock.now())
    }

    /// A bearer token for `principal` (who authenticated with a key), and its expiry.
    public func issueToken(for principal: Principal) -> (token: String, expiresAt: Timestamp)? {
        accessControl.token(for: principal, now: clock.now())
    }

    public var isOpen: Bool { accessControl.identities.isOpen }

    /// Who answered a Digest challenge (RTSP); nil otherwise, with `stale` when only the nonce
    /// had expired.
    public func authenticate(digest answer: DigestAnswer, method: String, connection: UInt64) -> (principal: Principal?, stale: Bool) {
        accessControl.authenticate(digest: answer, method: method, binding: String(connection, radix: 16), now: clock.now())
    }

    /// A Digest challenge with a fresh nonce bound to `connection` (nil without a cluster secret).
    public func digestChallenge(stale: Bool = false, connection: UInt64) -> String? {
        accessControl.digestChallenge(now: clock.now(), binding: String(connection, radix: 16), stale: stale)
    }

    public func loadIdentities() async throws {
        let (users, keys) = try await store.identities()
        accessControl.reload(users: users, keys: keys, rules: try await store.accessRules())
    }

    /// Users and keys changed in the shared store (another director added or revoked one):
    /// read them again, and end this director's streams of anyone revoked meanwhile.
    func reloadIdentities() async {
        let before = accessControl.identities
        do {
            try await loadIdentities()
        } catch {
            logger.error("shared store unreachable: users and keys not reloaded", metadata: ["error": "\(error)"])
            return
        }
        let identities = accessControl.identities
        let users = Set(identities.users.values.filter { $0.revokedAt != nil && before.users[$0.name]?.revokedAt == nil }.map(\.name))
        let keys = Set(identities.keys.values.filter { $0.revokedAt != nil && before.keys[$0.id]?.revokedAt == nil }.map(\.id))
        guard !users.isEmpty || !keys.isEmpty else { return }
        let ended = await endStreams { stream in
            stream.user.map(users.contains) == true || stream.keyID.map(keys.contains) == true
        }
        logger.warning("revoked by another director: streams ended", metadata: ["users": "\(users.sorted())", "keys": "\(keys.sorted())", "streams_ended": "\(ended)"])
    }

    public var users: [User] { accessControl.identities.users.values.sorted { $0.name < $1.name } }

    /// Adds a user; nil when the name is taken.
    public func addUser(name: String, role: Role, groups: [String], quota: Quota? = nil) async -> User? {
        let user = User(name: name, role: role, groups: groups, createdAt: clock.now(), quota: quota)
        guard accessControl.add(user) else { return nil }
        await persist { try await $0.save(user: user) }
        logger.info("user added", metadata: ["user": "\(name)", "role": "\(role.rawValue)"])
        return user
    }

    /// A new key for `user`: the record, and the key itself (`sk_ID_SECRET`, shown only now).
    public func createKey(for user: String, quota: Quota? = nil) async -> (record: KeyRecord, key: String)? {
        guard let owner = accessControl.identities.users[user], owner.revokedAt == nil else { return nil }
        let id = Self.randomHex(bytes: 6)
        let secret = Self.randomHex(bytes: 24)
        let key = "sk_\(id)_\(secret)"
        let record = KeyRecord(
            id: id, user: user, secretSHA256: GrantSigner.sha256Hex(secret), digestHA1: DigestAuthenticator.ha1(user: user, key: key), createdAt: clock.now(),
            quota: quota)
        accessControl.add(record)
        await persist { try await $0.save(key: record) }
        logger.info("api key created", metadata: ["user": "\(user)", "key_id": "\(id)"])
        return (record, key)
    }

    /// Revokes the user and their keys, and ends every stream they asked for (their engines are
    /// told to stop at once). Nil when unknown; else the streams ended.
    public func revokeUser(_ name: String) async -> Int? {
        guard let user = accessControl.revokeUser(name, at: clock.now()) else { return nil }
        await persist { store in
            try await store.save(user: user)
            for key in self.accessControl.identities.keys.values where key.user == name { try await store.save(key: key) }
        }
        let ended = await endStreams { $0.user == name }
        logger.warning("user revoked", metadata: ["user": "\(name)", "streams_ended": "\(ended)"])
        return ended
    }

    /// Sets a user's own quota (nil: the configuration's default applies again).
    public func setQuota(_ quota: Quota?, ofUser name: String) async -> User? {
        guard let user = accessControl.setQuota(quota, ofUser: name) else { return nil }
        await persist { try await $0.save(user: user) }
        logger.info("user quota set", metadata: ["user": "\(name)", "quota": "\(quota?.description ?? "default")"])
        return user
    }

    public func setQuota(_ quota: Quota?, ofKey id: String) async -> KeyRecord? {
        guard let key = accessControl.setQuota(quota, ofKey: id) else { return nil }
        await persist { try await $0.save(key: key) }
        logger.info("key quota set", metadata: ["key_id": "\(id)", "quota": "\(quota?.description ?? "default")"])
        return key
    }

    /// Each user with what they hold now and the quota that applies to them.
    public var userHoldings: [UserHolding] {
        let held = controller.holdings.byUser
        return users.map { user in
            UserHolding(user: user, holding: held[user.name] ?? Holding(), quota: user.quota ?? (user.role == .admin ? .unlimited : quotas.user))
        }
    }

    public func revokeKey(_ id: String) async -> (key: KeyRecord, ended: Int)? {
        guard let key = accessControl.revokeKey(id, at: clock.now()) else { return nil }
        await persist { try await $0.save(key: key) }
        let ended = await endStreams { $0.keyID == id }
        logger.warning("api key revoked", metadata: ["user": "\(key.user)", "key_id": "\(id)", "streams_ended": "\(ended)"])
        return (key, ended)
    }

    /// An operator withdrew the stream's grant: end it and have its engine stop now.
    public func withdraw(streamID: UInt32) async -> LiveStream? {
        guard let live = controller.streams[streamID] else { return await end(streamID: streamID, bytesSent: nil, reason: .tornDown) }
        let sent = await stopOnEngines([live])
        return await end(streamID: streamID, bytesSent: sent[streamID], reason: .tornDown)
    }

    /// The I/O profile the license `principal` presented unlocks for `stream`; traditional (nil)
    /// without a license or when it is refused, which is logged with the reason.
    func license(_ text: String?, requested: String?, by principal: Principal, for stream: LiveStream) -> LicensePolicy.Decision {
        let decision = licensing.decide(license: text, requested: requested, user: principal.name, bitsPerSecond: stream.bitsPerSecond, now: clock.now())
        if let problem = decision.problem {
            logger.warning("license refused: traditional I/O", metadata: ["stream_id": "\(stream.id)", "user": "\(principal.name)", "reason": "\(problem)"])
        }
        return decision
    }

    func endStreams(where matches: (LiveStream) -> Bool) async -> Int {
        let doomed = controller.streams.values.filter(matches).sorted { $0.id < $1.id }
        // Stopped first: nothing is sent past the revocation, and the usage record has the
        // bytes the engine had sent when it stopped (not those of the last renewal).
        let sent = await stopOnEngines(doomed)
        var ended = 0
        for stream in doomed where await end(streamID: stream.id, bytesSent: sent[stream.id], reason: .revoked) != nil { ended += 1 }
        return ended
    }

    /// Tells each engine to stop these streams now, rather than at their next renewal (which
    /// it would otherwise learn of within a second); the bytes each had sent. Best effort: the
    /// renewal still stops them.
    @discardableResult
    func stopOnEngines(_ streams: [LiveStream]) async -> [UInt32: Int64] {
        guard let engineControl else { return [:] }
        let byEngine = Dictionary(grouping: streams.filter { $0.kind == .play }, by: \.engine)
        return await withTaskGroup(of: [UInt32: Int64].self) { group in
            for (engine, streams) in byEngine {
                guard let url = controller.directory.engines[engine]?.url else { continue }
                let logger = self.logger
                group.addTask {
                    do {
                        return try await engineControl.stopStreams(engineURL: url, ids: streams.map(\.id))
                    } catch {
                        logger.warning("engine not told to stop revoked streams; they stop at its next renewal", metadata: ["engine": "\(engine)", "error": "\(error)"])
                        return [:]
                    }
                }
            }
            var sent: [UInt32: Int64] = [:]
            for await answer in group { sent.merge(answer) { first, _ in first } }
            return sent
        }
    }

    static func randomHex(bytes: Int) -> String {
        (0..<bytes).map { _ in UInt8.random(in: 0...255) }.hexEncoded
    }
}

/// Entitlements: who may play which object.
extension Director {
    public enum AccessChange: Sendable {
        case changed(ObjectAccess)
        /// Missing, or not visible to the caller (the same answer).
        case notFound
        case forbidden(String)
        case invalid(String)
    }

    /// The access rule of `object` as `principal` may see it; nil when missing or not visible.
    public func access(of object: String, for principal: Principal) -> ObjectAccess? {
        guard controller.directory.objects[object] != nil, accessControl.mayPlay(object, by: principal) else { return nil }
        return accessControl.rule(of: object)
    }

    /// Sets who may play `object`: its owner or an admin.
    public func setAccess(
        of object: String, visibility: ObjectAccess.Visibility, users: [String], groups: [String], by principal: Principal
    ) async -> AccessChange {
        guard var rule = access(of: object, for: principal) else { return .notFound }
        guard rule.allowsChange(by: principal) else {
            return .forbidden("only the owner of '\(object)' or an admin may change who can play it")
        }
        let names = Set(users), teams = Set(groups)
        guard names.count + teams.count <= ObjectAccess.maxGrantees else {
            return .invalid("at most \(ObjectAccess.maxGrantees) users and groups per object")
        }
        guard names.allSatisfy(User.isValidName), teams.allSatisfy(User.isValidName) else {
            return .invalid("user and group names are 1-64 characters of A-Z a-z 0-9 . _ -")
        }
        rule.visibility = visibility
        rule.users = visibility == .granted ? names.sorted() : []
        rule.groups = visibility == .granted ? teams.sorted() : []
        accessControl.setRule(rule)
        await persist { try await $0.save(access: rule) }
        logger.info("object access changed", metadata: [
            "object": "\(object)", "visibility": "\(visibility.rawValue)", "users": "\(rule.users)", "groups": "\(rule.groups)", "by": "\(principal.name)",
        ])
        return .changed(rule)
    }

    /// The objects `principal` may play.
    public func visibleObjects(to principal: Principal) -> [(object: MediaObject, access: ObjectAccess, replicas: [String])] {
        let directory = controller.directory
        return directory.objects.values.filter { accessControl.mayPlay($0.name, by: principal) }.sorted { $0.name < $1.name }.map {
            ($0, accessControl.rule(of: $0.name), directory.replicas[$0.name, default: []].sorted())
        }
    }
}

/// A user as `GET /v1/users` lists them: what they hold now, and the quota that applies.
public struct UserHolding: Encodable, Sendable {
    public var user: User
    public var holding: Holding
    public var quota: Quota

    enum CodingKeys: String, CodingKey { case holding, quota }

    public func encode(to encoder: any Encoder) throws {
        try user.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(holding, forKey: .holding)
        try container.encode(quota, forKey: .quota)
    }
}
