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

    /// Why a new stream of `bitsPerSecond` for `principal` would exceed a quota, or nil.
    ///
    /// `streams` are the live streams (copies do not count); `groupsOf` names each user's groups;
    /// `userQuota` and `keyQuota` are the principal's own, if set.
    public func refusal(
        for principal: Principal, userQuota: Quota?, keyQuota: Quota?, adding bitsPerSecond: Int64,
        streams: some Sequence<LiveStream>, groupsOf: (String) -> [String]
    ) -> AdmissionRefusal? {
        let isOperator = principal.role == .admin
        let userLimit = userQuota ?? (isOperator ? nil : user)
        let keyLimit = principal.keyID == nil ? nil : (keyQuota ?? (isOperator ? nil : key))
        let groupLimits = principal.groups.compactMap { name in groups[name].map { (name, $0) } }
        guard userLimit != nil || keyLimit != nil || !groupLimits.isEmpty else { return nil }
        // Streams are attributed to a user only when a key opened them (see `LiveStream.user`).
        let name = principal.keyID == nil ? nil : principal.name
        var byUser = Holding(), byKey = Holding()
        var byGroup: [String: Holding] = [:]
        let watched = Set(groupLimits.map(\.0))
        for stream in streams where stream.kind != .copy {
            let rate = stream.kind == .play ? stream.reservation.bitsPerSecond : 0
            if let name, stream.user == name {
                byUser.streams += 1
                byUser.bitsPerSecond += rate
            }
            if let key = principal.keyID, stream.keyID == key {
                byKey.streams += 1
                byKey.bitsPerSecond += rate
            }
            if !watched.isEmpty, let owner = stream.user {
                for group in groupsOf(owner) where watched.contains(group) {
                    byGroup[group, default: Holding()].streams += 1
                    byGroup[group, default: Holding()].bitsPerSecond += rate
                }
            }
        }
        var checks: [(holder: String, quota: Quota, holding: Holding)] = []
        if let userLimit, name != nil { checks.append(("user '\(principal.name)'", userLimit, byUser)) }
        if let keyLimit, let key = principal.keyID { checks.append(("key \(key)", keyLimit, byKey)) }
        for (group, quota) in groupLimits { checks.append(("group '\(group)'", quota, byGroup[group] ?? Holding())) }
        for check in checks {
            if let max = check.quota.maxStreams, check.holding.streams + 1 > max {
                return AdmissionRefusal(
                    .quotaExceeded, "quota of \(check.holder) reached: \(check.holding.streams) of \(max) streams live; end one or ask an operator")
            }
            if let max = check.quota.maxBitsPerSecond, check.holding.bitsPerSecond + bitsPerSecond > max {
                return AdmissionRefusal(
                    .quotaExceeded,
                    "quota of \(check.holder) reached: \(Quota.rate(check.holding.bitsPerSecond)) reserved + \(Quota.rate(bitsPerSecond)) asked > \(Quota.rate(max))",
                    requestedBitsPerSecond: bitsPerSecond, availableBitsPerSecond: Swift.max(0, max - check.holding.bitsPerSecond))
            }
        }
        return nil
    }
}
