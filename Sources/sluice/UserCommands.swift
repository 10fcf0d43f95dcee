import ArgumentParser
import Foundation
import SluiceConfig
import SluiceClient
import SluiceCore

/// `--max-streams` and `--max-rate`: a quota of one's own, replacing the configuration's default.
struct QuotaOptions: ParsableArguments {
    @Option(help: "At most this many live streams at once ('unlimited' lifts the limit).")
    var maxStreams: String?
    @Option(help: "At most this much reserved bandwidth at once, e.g. 20Mbit ('unlimited' lifts the limit).")
    var maxRate: String?

    var isEmpty: Bool { maxStreams == nil && maxRate == nil }

    /// `sluice user limit` and `sluice key limit`: PUT the quota at `path`, or DELETE it.
    func apply(to path: String, returningToDefault: Bool, options: DirectorOptions) async throws {
        guard returningToDefault != !isEmpty else { throw ValidationError("give --max-streams and/or --max-rate, or --default") }
        let (status, body) = returningToDefault
            ? try await options.call(.DELETE, path)
            : try await options.call(.PUT, path, body: try self.body())
        guard status == 200 else { throw ClientError(DirectorOptions.explain(status, body)) }
    }

    struct Body: Encodable { var maxStreams: Int?; var maxBitsPerSecond: Int64? }

    func body() throws -> Body {
        var body = Body()
        if let maxStreams, maxStreams != "unlimited" {
            guard let value = Int(maxStreams), value >= 0 else { throw ValidationError("--max-streams must be a count or 'unlimited', not '\(maxStreams)'") }
            body.maxStreams = value
        }
        if let maxRate, maxRate != "unlimited" {
            guard let value = Quantity.bitsPerSecond(maxRate), value >= 0 else { throw ValidationError("--max-rate must be a rate like 20Mbit or 'unlimited', not '\(maxRate)'") }
            body.maxBitsPerSecond = value
        }
        return body
    }
}

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Add, list and revoke users (needs an admin key).",
        discussion: """
            Roles: viewer (plays), uploader (also uploads), admin (everything). Revoking a user \
            revokes their keys and ends their streams within a second.
              sluice user add alice --role viewer --key demo-key
              sluice key create --user alice --key demo-key     # prints the key once
              sluice user limit alice --max-streams 4 --max-rate 20Mbit --key demo-key
            Quotas: each user holds at most the configuration's director.quotas.user (default \
            10 streams and 100 Mbit/s; admins are not held by it) unless given one of their own.
            """,
        subcommands: [Add.self, List.self, Limit.self, Revoke.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user.")
        @Argument(help: "User name (A-Z a-z 0-9 . _ -).")
        var name: String
        @Option(help: "viewer, uploader or admin.")
        var role: String = "viewer"
        @Option(name: .customLong("group"), help: "A group the user belongs to (repeatable).")
        var groups: [String] = []
        @OptionGroup var quota: QuotaOptions
        @OptionGroup var options: DirectorOptions

        func run() async throws {
            guard let role = Role(rawValue: role) else { throw ValidationError("--role must be viewer, uploader or admin") }
            struct Body: Encodable { var name: String; var role: Role; var groups: [String]; var maxStreams: Int?; var maxBitsPerSecond: Int64? }
            let limits = try quota.body()
            let (status, body) = try await options.call(
                .POST, "/v1/users",
                body: Body(name: name, role: role, groups: groups, maxStreams: limits.maxStreams, maxBitsPerSecond: limits.maxBitsPerSecond))
            guard status == 201 else { throw ClientError("not added: " + DirectorOptions.explain(status, body)) }
            announce("user '\(name)' added with role \(role.rawValue)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users.")
        @OptionGroup var options: DirectorOptions

        func run() async throws {
            let (status, body) = try await options.call(.GET, "/v1/users")
            struct Row: Decodable { var name: String; var role: Role; var groups: [String]; var revokedAt: Timestamp?; var holding: Holding?; var quota: Quota? }
            guard status == 200, let users = try? JSONDecoder().decode([Row].self, from: body) else {
                throw ClientError(DirectorOptions.explain(status, body))
            }
            for user in users {
                let groups = user.groups.isEmpty ? "" : " groups=\(user.groups.joined(separator: ","))"
                let holding = user.holding.map { "\t\($0.streams) streams, \(Quota.rate($0.bitsPerSecond)) of \(user.quota?.description ?? "unlimited")" } ?? ""
                announce("\(user.name)\t\(user.role.rawValue)\(groups)\(holding)\(user.revokedAt == nil ? "" : "\trevoked")")
            }
        }
    }

    struct Limit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a user's own quota, or return them to the default.")
        @Argument(help: "User name.")
        var name: String
        @OptionGroup var quota: QuotaOptions
        @Flag(help: "Return the user to the configuration's default quota.")
        var `default` = false
        @OptionGroup var options: DirectorOptions

        func run() async throws {
            try await quota.apply(to: "/v1/users/\(name)/quota", returningToDefault: `default`, options: options)
            announce("user '\(name)': " + (`default` ? "default quota" : "quota set"))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a user, their keys and their streams.")
        @Argument(help: "User name.")
        var name: String
        @OptionGroup var options: DirectorOptions

        func run() async throws {
            let (status, body) = try await options.call(.DELETE, "/v1/users/\(name)")
            guard status == 200 else { throw ClientError(DirectorOptions.explain(status, body)) }
            announce("user '\(name)' revoked: " + String(decoding: body, as: UTF8.self))
        }
    }
}

struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Create and revoke users' API keys (needs an admin key).",
        subcommands: [Create.self, Limit.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key for a user; it is shown only now.")
        @Option(help: "Whose key.")
        var user: String
        @OptionGroup var quota: QuotaOptions
        @OptionGroup var options: DirectorOptions

        func run() async throws {
            let (status, body) = try await options.call(.POST, "/v1/users/\(user)/keys", body: try quota.body())
            struct Created: Decodable { var id: String; var key: String }
            guard status == 201, let created = try? JSONDecoder().decode(Created.self, from: body) else {
                throw ClientError("no key: " + DirectorOptions.explain(status, body))
            }
            announce(created.key)
            FileHandle.standardError.write(Data("key \(created.id) for '\(user)': store it now, it is not shown again\n".utf8))
        }
    }

    struct Limit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a key's own quota (the user's still applies), or return it to the default.")
        @Argument(help: "Key ID (the part after sk_).")
        var id: String
        @OptionGroup var quota: QuotaOptions
        @Flag(help: "Return the key to the configuration's default quota.")
        var `default` = false
        @OptionGroup var options: DirectorOptions

        func run() async throws {
            try await quota.apply(to: "/v1/keys/\(id)/quota", returningToDefault: `default`, options: options)
            announce("key \(id): " + (`default` ? "default quota" : "quota set"))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key; the streams it opened end within a second.")
        @Argument(help: "Key ID (the part after sk_).")
        var id: String
        @OptionGroup var options: DirectorOptions

        func run() async throws {
            let (status, body) = try await options.call(.DELETE, "/v1/keys/\(id)")
            guard status == 200 else { throw ClientError(DirectorOptions.explain(status, body)) }
            announce("key \(id) revoked: " + String(decoding: body, as: UTF8.self))
        }
    }
}
