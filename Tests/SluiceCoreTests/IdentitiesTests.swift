import SluiceCore
import Testing

@Suite(.timeLimit(.minutes(1))) struct IdentitiesTests {
    /// A stand-in digest: the tests need a function, not SHA-256 itself.
    static func digest(_ secret: String) -> String { "d:" + secret }
    static let now = Timestamp(millisecondsSinceEpoch: 1_000)
    static let secret = String(repeating: "ab", count: 16)

    static func registry() -> Identities {
        var identities = Identities(configurationKeys: ["operator-key"])
        _ = identities.add(User(name: "alice", role: .viewer, groups: ["staff"], createdAt: now))
        _ = identities.add(User(name: "bob", role: .uploader, createdAt: now))
        identities.add(KeyRecord(id: "0123456789ab", user: "alice", secretSHA256: digest(secret), createdAt: now))
        identities.add(KeyRecord(id: "ba9876543210", user: "bob", secretSHA256: digest(secret), createdAt: now))
        return identities
    }

    @Test func keysAuthenticateTheirUserWithItsRole() throws {
        let identities = Self.registry()
        let alice = try identities.authenticate("sk_0123456789ab_\(Self.secret)", digest: Self.digest).get()
        #expect(alice == Principal(name: "alice", role: .viewer, groups: ["staff"], keyID: "0123456789ab"))
        #expect(try identities.authenticate("operator-key", digest: Self.digest).get() == .configurationAdmin)
        #expect(Role.viewer < .uploader && Role.uploader < .admin)
    }

    @Test func wrongMissingAndMalformedKeysAreRefusedAlike() {
        let identities = Self.registry()
        #expect(identities.authenticate(nil, digest: Self.digest) == .failure(.missing))
        #expect(identities.authenticate("", digest: Self.digest) == .failure(.missing))
        #expect(identities.authenticate("sk_0123456789ab_\(String(repeating: "cd", count: 16))", digest: Self.digest) == .failure(.unknown))
        #expect(identities.authenticate("sk_ffffffffffff_\(Self.secret)", digest: Self.digest) == .failure(.unknown))
        for garbage in ["sk_", "sk__", "sk_01_\(Self.secret)", "sk_0123456789ab_zz", "sk_0123456789ab_\(Self.secret)_x", "Bearer x"] {
            #expect(identities.authenticate(garbage, digest: Self.digest) == .failure(.unknown), "\(garbage)")
        }
        #expect(Identities.Failure.unknown.message == Identities.Failure.revoked.message, "a revoked key is not told apart from a wrong one")
    }

    @Test func revokingAUserRevokesEveryKeyOfTheirs() {
        var identities = Self.registry()
        #expect(identities.revokeUser("alice", at: Self.now) != nil)
        #expect(identities.authenticate("sk_0123456789ab_\(Self.secret)", digest: Self.digest) == .failure(.revoked))
        #expect(identities.keys["0123456789ab"]?.revokedAt == Self.now)
        #expect((try? identities.authenticate("sk_ba9876543210_\(Self.secret)", digest: Self.digest).get())?.name == "bob")
        _ = identities.revokeKey("ba9876543210", at: Self.now)
        #expect(identities.authenticate("sk_ba9876543210_\(Self.secret)", digest: Self.digest) == .failure(.revoked))
        #expect(identities.revokeUser("nobody", at: Self.now) == nil)
    }

    @Test func anOpenDirectorLetsEveryoneInAsAdmin() {
        let open = Identities(configurationKeys: [])
        #expect(open.isOpen)
        #expect(open.authenticate(nil, digest: Self.digest) == .success(.anonymousAdmin))
        var withUser = open
        _ = withUser.add(User(name: "alice", role: .viewer, createdAt: Self.now))
        #expect(!withUser.isOpen, "once a user exists, keys are required")
        #expect(withUser.authenticate(nil, digest: Self.digest) == .failure(.missing))
    }
}
