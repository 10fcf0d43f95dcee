import ArgumentParser
import Foundation
import SluiceClient
import SluiceCore

struct AccessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access",
        abstract: "Set who may play an object: public, private, or granted to users and groups.",
        discussion: """
            Only the object's owner (the user who uploaded it) or an admin may change it. Users who \
            may not play an object are told it is not in the catalog, as for a missing one.
              sluice access lecture private --key $OWNER_KEY
              sluice access lecture granted --user bob --group staff --key $OWNER_KEY
              sluice access lecture public --key demo-key
            """)

    @Argument(help: "Object name.")
    var object: String
    @Argument(help: "public, private or granted.")
    var visibility: String
    @Option(name: .customLong("user"), help: "A user a granted object is shared with (repeatable).")
    var users: [String] = []
    @Option(name: .customLong("group"), help: "A group a granted object is shared with (repeatable).")
    var groups: [String] = []
    @OptionGroup var options: DirectorOptions

    func validate() throws {
        guard let parsed = ObjectAccess.Visibility(rawValue: visibility) else { throw ValidationError("visibility must be public, private or granted") }
        if parsed != .granted, !(users.isEmpty && groups.isEmpty) { throw ValidationError("--user and --group go with 'granted'") }
    }

    func run() async throws {
        let change = ClusterMessages.AccessChange(visibility: ObjectAccess.Visibility(rawValue: visibility) ?? .private, users: users, groups: groups)
        let (status, body) = try await options.call(.PUT, "/v1/objects/\(object)/access", body: change)
        guard status == 200, let rule = try? JSONDecoder().decode(ObjectAccess.self, from: body) else {
            throw ClientError("not changed: " + DirectorOptions.explain(status, body))
        }
        var shared = ""
        if rule.visibility == .granted { shared = "; shared with users \(rule.users) and groups \(rule.groups)" }
        announce("'\(object)' is now \(rule.visibility.rawValue) (owner: \(rule.owner ?? "none"))\(shared)")
    }
}
