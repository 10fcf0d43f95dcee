import SluiceCore
import Testing

@Suite(.timeLimit(.minutes(1))) struct EntitlementsTests {
    static let owner = Principal(name: "olga", role: .uploader, keyID: "k1")
    static let staff = Principal(name: "sam", role: .viewer, groups: ["staff"], keyID: "k2")
    static let outsider = Principal(name: "otto", role: .viewer, groups: ["guests"], keyID: "k3")
    static let admin = Principal(name: "ada", role: .admin, keyID: "k4")

    @Test func eachVisibilityLetsInWhomItShould() {
        var rules = Entitlements()
        #expect(rules.mayPlay("anything", by: Self.outsider), "an object without a rule is public")
        rules.set(ObjectAccess(object: "lecture", owner: "olga", visibility: .private))
        #expect(rules.mayPlay("lecture", by: Self.owner))
        #expect(rules.mayPlay("lecture", by: Self.admin))
        #expect(rules.mayPlay("lecture", by: .configurationAdmin))
        #expect(!rules.mayPlay("lecture", by: Self.staff))
        #expect(!rules.mayPlay("lecture", by: Self.outsider))
        rules.set(ObjectAccess(object: "lecture", owner: "olga", visibility: .granted, groups: ["staff"]))
        #expect(rules.mayPlay("lecture", by: Self.staff))
        #expect(!rules.mayPlay("lecture", by: Self.outsider))
        rules.set(ObjectAccess(object: "lecture", owner: "olga", visibility: .granted, users: ["otto"]))
        #expect(rules.mayPlay("lecture", by: Self.outsider))
        #expect(!rules.mayPlay("lecture", by: Self.staff))
        rules.set(ObjectAccess(object: "lecture", owner: "olga", visibility: .public))
        #expect([Self.owner, Self.staff, Self.outsider, Self.admin].allSatisfy { rules.mayPlay("lecture", by: $0) })
    }

    @Test func onlyTheOwnerOrAnAdminChangesAccess() {
        let rule = ObjectAccess(object: "lecture", owner: "olga", visibility: .granted, users: ["sam"])
        #expect(rule.allowsChange(by: Self.owner))
        #expect(rule.allowsChange(by: Self.admin))
        #expect(!rule.allowsChange(by: Self.staff))
        #expect(!ObjectAccess(object: "x", visibility: .public).allowsChange(by: Self.owner), "an ownerless object is the operators'")
    }

    @Test func aNameWithoutAKeyIsNotTheOwner() {
        // A principal that did not authenticate with a user key (an operator called "olga")
        // does not inherit the user's objects by name.
        let rule = ObjectAccess(object: "lecture", owner: "olga", visibility: .private)
        let sameName = Principal(name: "olga", role: .viewer)
        #expect(!rule.allowsPlay(by: sameName))
        #expect(!rule.allowsChange(by: sameName))
    }

    @Test func theRefusalNamesOnlyTheObjectAskedFor() {
        #expect(Entitlements.notFoundMessage("a") == Entitlements.notFoundMessage("b").replacingOccurrences(of: "'b'", with: "'a'"))
    }
}
