import ArgumentParser
import Foundation
import SluiceCore

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Add, list and revoke users (needs an admin key).",
        discussion: """
            Roles: viewer (plays), uploader (also uploads), admin (everything). Revoking a user \
            revokes their keys and ends their streams within a second.
              sluice user add alice --role viewer --key demo-key
              sluice key create --user alice --key demo-key     # prints the key once
            """,
        subcommands: [Add.self, List.self, Revoke.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user.")
        @Argument(help: "User name (A-Z a-z 0-9 . _ -).")
        var name: String
        @Option(help: "viewer, uploader or admin.")
        var role: String = "viewer"
        @Option(name: .customLong("group"), help: "A group the user belongs to (repeatable).")
        var groups: [String] = []
        @OptionGroup var options: DirectorOptions

        func run() async throws {
            guard let role = Role(rawValue: role) else { throw ValidationError("--role must be viewer, uploader or admin") }
            struct Body: Encodable { var name: String; var role: Role; var groups: [String] }
            let (status, body) = try await options.call(.POST, "/v1/users", body: Body(name: name, role: role, groups: groups))
            guard status == 201 else { throw ValidationError("not added: " + DirectorOptions.explain(status, body)) }
            announce("user '\(name)' added with role \(role.rawValue)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users.")
        @OptionGroup var options: DirectorOptions

        func run() async throws {
            let (status, body) = try await options.call(.GET, "/v1/users")
            guard status == 200, let users = try? JSONDecoder().decode([User].self, from: body) else {
                throw ValidationError(DirectorOptions.explain(status, body))
            }
            for user in users {
                let groups = user.groups.isEmpty ? "" : " groups=\(user.groups.joined(separator: ","))"
                announce("\(user.name)\t\(user.role.rawValue)\(groups)\(user.revokedAt == nil ? "" : "\trevoked")")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a user, their keys and their streams.")
        @Argument(help: "User name.")
        var name: String
        @OptionGroup var options: DirectorOptions

        func run() async throws {
            let (status, body) = try await options.call(.DELETE, "/v1/users/\(name)")
            guard status == 200 else { throw ValidationError(DirectorOptions.explain(status, body)) }
            announce("user '\(name)' revoked: " + String(decoding: body, as: UTF8.self))
        }
    }
}

struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Create and revoke users' API keys (needs an admin key).",
        subcommands: [Create.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key for a user; it is shown only now.")
        @Option(help: "Whose key.")
        var user: String
        @OptionGroup var options: DirectorOptions

        func run() async throws {
            let (status, body) = try await options.call(.POST, "/v1/users/\(user)/keys", body: [String: String]())
            struct Created: Decodable { var id: String; var key: String }
            guard status == 201, let created = try? JSONDecoder().decode(Created.self, from: body) else {
                throw ValidationError("no key: " + DirectorOptions.explain(status, body))
            }
            announce(created.key)
            FileHandle.standardError.write(Data("key \(created.id) for '\(user)': store it now, it is not shown again\n".utf8))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key; the streams it opened end within a second.")
        @Argument(help: "Key ID (the part after sk_).")
        var id: String
        @OptionGroup var options: DirectorOptions

        func run() async throws {
            let (status, body) = try await options.call(.DELETE, "/v1/keys/\(id)")
            guard status == 200 else { throw ValidationError(DirectorOptions.explain(status, body)) }
            announce("key \(id) revoked: " + String(decoding: body, as: UTF8.self))
        }
    }
}
