import SluiceCore
@testable import SluiceDirector
import SluiceGrant
import Testing

/// Identity and access as a value: keys, tokens and rules decide with the time passed in.
@Suite(.timeLimit(.minutes(1))) struct AccessControlTests {
    let now = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)

    func control() -> (AccessControl, key: String) {
        var control = AccessControl(configurationKeys: ["operator-key"], grantSecret: "0123456789abcdef0123")
        let secret = String(repeating: "5e", count: 24)
        let key = KeyRecord(id: "0123456789ab", user: "vera", secretSHA256: GrantSigner.sha256Hex(secret), createdAt: now)
        control.reload(users: [User(name: "vera", role: .viewer, createdAt: now)], keys: [key], rules: [
            ObjectAccess(object: "diary", owner: "olga", visibility: .private),
        ])
        return (control, "sk_0123456789ab_\(secret)")
    }

    @Test func aTokenStandsInForItsKeyUntilItExpiresOrTheKeyIsRevoked() throws {
        var (control, key) = control()
        let vera = try control.authenticate(key, now: now).get()
        #expect(vera.name == "vera" && vera.role == .viewer)
        let (token, expiry) = try #require(control.token(for: vera, now: now))
        #expect(expiry == now + AccessControl.tokenLifetime)
        #expect(try control.authenticate(token, now: now + .seconds(60)).get().name == "vera")
        #expect(throws: Identities.Failure.self) { try control.authenticate(token, now: expiry + .seconds(1)).get() }
        _ = control.revokeKey("0123456789ab", at: now + .seconds(61))
        #expect(throws: Identities.Failure.self) { try control.authenticate(token, now: now + .seconds(62)).get() }
        #expect(throws: Identities.Failure.self) { try control.authenticate(key, now: now + .seconds(62)).get() }
        #expect(try control.authenticate("operator-key", now: now).get() == .configurationAdmin)
    }

    @Test func rulesDecideWhoPlaysAndAnObjectWithoutOneIsPublic() throws {
        var (control, key) = control()
        let vera = try control.authenticate(key, now: now).get()
        #expect(!control.mayPlay("diary", by: vera))
        #expect(control.mayPlay("diary", by: .configurationAdmin))
        #expect(control.mayPlay("anything-else", by: vera))
        control.setRule(ObjectAccess(object: "diary", owner: "olga", visibility: .granted, users: ["vera"]))
        #expect(control.mayPlay("diary", by: vera))
        #expect(control.digestChallenge(now: now, binding: "c1", stale: false)?.hasPrefix("Digest") == true)
        #expect(AccessControl(configurationKeys: [], grantSecret: nil).digestChallenge(now: now, binding: "c1", stale: false) == nil)
    }
}
