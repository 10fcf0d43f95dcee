/// A limit on what one holder (a user, a key or a group) may hold at once: live streams and
/// reserved bandwidth. nil fields do not limit.
public struct Quota: Hashable, Sendable, Codable {
    public var maxStreams: Int?
    public var maxBitsPerSecond: Int64?

    public init(maxStreams: Int? = nil, maxBitsPerSecond: Int64? = nil) {
        self.maxStreams = maxStreams
        self.maxBitsPerSecond = maxBitsPerSecond
    }

    public static let unlimited = Quota()

    public var description: String {
        let parts = [maxStreams.map { "\($0) streams" }, maxBitsPerSecond.map { Quota.rate($0) }].compactMap { $0 }
        return parts.isEmpty ? "unlimited" : parts.joined(separator: ", ")
    }

    /// `20 Mbit/s`, `3.2 Mbit/s`, `640 kbit/s`: a rate as an operator reads it.
    public static func rate(_ bits: Int64) -> String {
        func scaled(_ unit: Int64, _ name: String) -> String {
            let tenths = (bits * 10 + unit / 2) / unit
            return tenths % 10 == 0 ? "\(tenths / 10) \(name)" : "\(tenths / 10).\(tenths % 10) \(name)"
        }
        if bits >= 1_000_000_000 { return scaled(1_000_000_000, "Gbit/s") }
        if bits >= 1_000_000 { return scaled(1_000_000, "Mbit/s") }
        if bits >= 1_000 { return scaled(1_000, "kbit/s") }
        return "\(bits) bit/s"
    }
}

/// What a holder holds now.
public struct Holding: Hashable, Sendable, Codable {
    public var streams: Int
    public var bitsPerSecond: Int64

    public init(streams: Int = 0, bitsPerSecond: Int64 = 0) {
        self.streams = streams
        self.bitsPerSecond = bitsPerSecond
    }
}

/// One thing held against quotas: a live stream, or a request waiting in the queue (which may
/// be admitted later, so it counts now: a user cannot queue past their quota).
public struct QuotaClaim: Hashable, Sendable {
    /// Set only when a key asked (see `LiveStream.user`).
    public var user: String?
    public var keyID: String?
    /// Reserved path bandwidth (plays); uploads count as a stream only.
    public var bitsPerSecond: Int64

    public init(user: String?, keyID: String?, bitsPerSecond: Int64) {
        self.user = user
        self.keyID = keyID
        self.bitsPerSecond = bitsPerSecond
    }

    /// A live play or upload; nil for a copy between engines, which nobody asked for.
    public init?(_ stream: LiveStream) {
        guard stream.kind != .copy else { return nil }
        self.init(user: stream.user, keyID: stream.keyID, bitsPerSecond: stream.kind == .play ? stream.reservation.bitsPerSecond : 0)
    }
}

/// The quotas of a cluster: defaults for every user and every key, and one per group. A user
/// or a key may carry its own quota, which replaces the default. Admins (and the operator's
/// configuration keys) are held only by quotas set on them or their groups explicitly.
public struct QuotaPolicy: Hashable, Sendable {
    /// For each user without a quota of its own: room for a household, not for the cluster.
    public var user = Quota(maxStreams: 10, maxBitsPerSecond: 100_000_000)
    /// For each key without a quota of its own (the user's quota still applies).
    public var key = Quota.unlimited
    public var groups: [String: Quota] = [:]

    public init(user: Quota = Quota(maxStreams: 10, maxBitsPerSecond: 100_000_000), key: Quota = .unlimited, groups: [String: Quota] = [:]) {
        self.user = user
        self.key = key
        self.groups = groups
    }

    /// Who holds: a user, a key, or the members of a group together.
    public enum Holder: Hashable, Sendable {
        case user(String), key(String), group(String)
    }

    /// Why a new stream of `bitsPerSecond` for `principal` would exceed a quota, or nil.
    /// `held` says what a holder holds now (live and waiting); it is asked only for the holders
    /// a limit applies to, so an unlimited caller costs nothing. `userQuota` and `keyQuota` are
    /// the principal's own, if set.
    public func refusal(
        for principal: Principal, userQuota: Quota?, keyQuota: Quota?, adding bitsPerSecond: Int64, held: (Holder) -> Holding
    ) -> AdmissionRefusal? {
        let isOperator = principal.role == .admin
        var checks: [(holder: Holder, name: String, quota: Quota)] = []
        // Streams are attributed to a user only when a key opened them (see `LiveStream.user`).
        if let key = principal.keyID {
            if let limit = userQuota ?? (isOperator ? nil : user) { checks.append((.user(principal.name), "user '\(principal.name)'", limit)) }
            if let limit = keyQuota ?? (isOperator ? nil : self.key) { checks.append((.key(key), "key \(key)", limit)) }
        }
        for group in principal.groups { if let limit = groups[group] { checks.append((.group(group), "group '\(group)'", limit)) } }
        for check in checks {
            let holding = held(check.holder)
            if let max = check.quota.maxStreams, holding.streams + 1 > max {
                return AdmissionRefusal(
                    .quotaExceeded, "quota of \(check.name) reached: \(holding.streams) of \(max) streams live or waiting; end one or ask an operator")
            }
            if let max = check.quota.maxBitsPerSecond, holding.bitsPerSecond + bitsPerSecond > max {
                return AdmissionRefusal(
                    .quotaExceeded,
                    "quota of \(check.name) reached: \(Quota.rate(holding.bitsPerSecond)) reserved + \(Quota.rate(bitsPerSecond)) asked > \(Quota.rate(max))",
                    requestedBitsPerSecond: bitsPerSecond, availableBitsPerSecond: Swift.max(0, max - holding.bitsPerSecond))
            }
        }
        return nil
    }
}

/// What each user and each key holds in live streams, kept as streams come and go (so a quota
/// check costs a lookup, not a pass over every live stream).
public struct HoldingLedger: Sendable {
    public private(set) var byUser: [String: Holding] = [:]
    public private(set) var byKey: [String: Holding] = [:]

    public init() {}

    public mutating func add(_ stream: LiveStream) {
        guard let claim = QuotaClaim(stream) else { return }
        if let user = claim.user { byUser[user, default: Holding()].add(claim) }
        if let key = claim.keyID { byKey[key, default: Holding()].add(claim) }
    }

    public mutating func remove(_ stream: LiveStream) {
        guard let claim = QuotaClaim(stream) else { return }
        if let user = claim.user { Self.take(claim, from: &byUser, user) }
        if let key = claim.keyID { Self.take(claim, from: &byKey, key) }
    }

    private static func take(_ claim: QuotaClaim, from table: inout [String: Holding], _ name: String) {
        guard var holding = table[name] else { return }
        holding.streams -= 1
        holding.bitsPerSecond -= claim.bitsPerSecond
        table[name] = holding.streams > 0 ? holding : nil
    }
}

extension Holding {
    public mutating func add(_ claim: QuotaClaim) {
        streams += 1
        bitsPerSecond += claim.bitsPerSecond
    }

    public static func + (lhs: Holding, rhs: Holding) -> Holding {
        Holding(streams: lhs.streams + rhs.streams, bitsPerSecond: lhs.bitsPerSecond + rhs.bitsPerSecond)
    }
}
