/// Who may play an object: everyone (`public`), its owner (`private`), or its owner and the
/// users and groups it is granted to (`granted`). Admins may play and change everything.
public struct ObjectAccess: Hashable, Sendable, Codable {
    public enum Visibility: String, Hashable, Sendable, Codable, CaseIterable {
        case `public`, `private`, granted
    }

    public var object: String
    /// The user who uploaded it (nil: an operator's or an engine's own object).
    public var owner: String?
    public var visibility: Visibility
    /// Users and groups a `granted` object is shared with (ignored otherwise).
    public var users: [String]
    public var groups: [String]

    public init(object: String, owner: String? = nil, visibility: Visibility, users: [String] = [], groups: [String] = []) {
        self.object = object
        self.owner = owner
        self.visibility = visibility
        self.users = users
        self.groups = groups
    }

    /// At most this many users and groups per object: the rule travels in every catalog reload.
    public static let maxGrantees = 256

    public func allowsPlay(by principal: Principal) -> Bool {
        if principal.role == .admin || visibility == .public { return true }
        if let owner, owner == principal.name, principal.keyID != nil { return true }
        guard visibility == .granted, principal.keyID != nil else { return false }
        return users.contains(principal.name) || principal.groups.contains(where: groups.contains)
    }

    /// Changing who may play it: the owner or an admin.
    public func allowsChange(by principal: Principal) -> Bool {
        principal.role == .admin || (owner != nil && owner == principal.name && principal.keyID != nil)
    }
}

/// The access rules of the catalog. An object without a rule is public (objects an engine
/// brought on its disk, and those from before rules existed).
public struct Entitlements: Sendable {
    public private(set) var rules: [String: ObjectAccess] = [:]

    public init(_ rules: [ObjectAccess] = []) {
        for rule in rules { self.rules[rule.object] = rule }
    }

    public func access(of object: String) -> ObjectAccess {
        rules[object] ?? ObjectAccess(object: object, visibility: .public)
    }

    /// Whether `principal` may play `object`. A refusal reads exactly like a missing object, so
    /// it says nothing about whether a private object exists.
    public func mayPlay(_ object: String, by principal: Principal) -> Bool {
        access(of: object).allowsPlay(by: principal)
    }

    public mutating func set(_ rule: ObjectAccess) {
        rules[rule.object] = rule
    }

    /// The object is gone: a new object of the same name starts public, owned by its uploader.
    public mutating func remove(_ object: String) {
        rules[object] = nil
    }

    /// The same answer for an object that is missing and one the caller may not see.
    public static func notFoundMessage(_ object: String) -> String {
        "object '\(object.prefix(128))' is not in the catalog (or is not shared with you)"
    }
}
