import Foundation
import SluiceCore
@testable import SluiceGrant
import Testing

@Suite(.timeLimit(.minutes(1))) struct BearerTokenTests {
    let signer = BearerTokenSigner(secret: "0123456789abcdef-secret")
    let now = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
    var claims: BearerTokenClaims { BearerTokenClaims(sub: "vera", kid: "0123456789ab", iat: 1_800_000_000, exp: 1_800_000_900) }

    @Test func anIssuedTokenVerifiesUntilItExpires() throws {
        let token = signer.issue(claims)
        #expect(BearerTokenSigner.looksLikeToken(token))
        #expect(try signer.verify(token, now: now) == claims)
        #expect(throws: BearerTokenError.self) { try signer.verify(token, now: Timestamp(millisecondsSinceEpoch: 1_800_000_900_000)) }
    }

    @Test func forgedTamperedAndForeignTokensAreRefused() throws {
        let token = signer.issue(claims)
        let parts = token.split(separator: ".").map(String.init)
        // Another payload under the old signature.
        var admin = claims
        admin.sub = "root"
        let forged = parts[0] + "." + Base64URL.encode(Array(try JSONEncoder().encode(admin))) + "." + parts[2]
        // alg "none", no signature.
        let none = Base64URL.encode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + parts[1] + "."
        // Signed with another secret.
        let foreign = BearerTokenSigner(secret: "another-secret-0123456789").issue(claims)
        for bad in [forged, none, foreign, "a.b.c", "..", String(repeating: "x", count: 5000), parts[0] + "." + parts[1]] {
            #expect(throws: BearerTokenError.self, "\(bad.prefix(40))") { try signer.verify(bad, now: now) }
        }
        #expect(!BearerTokenSigner.looksLikeToken("sk_0123456789ab_" + String(repeating: "a", count: 32)))
    }

    @Test func aTokenNamesItsUserOnlyWhileTheUserAndKeyStand() {
        var identities = Identities(configurationKeys: ["op"])
        _ = identities.add(User(name: "vera", role: .viewer, createdAt: now))
        identities.add(KeyRecord(id: "0123456789ab", user: "vera", secretSHA256: "x", createdAt: now))
        #expect((try? identities.principal(user: "vera", keyID: "0123456789ab").get())?.role == .viewer)
        #expect(identities.principal(user: "vera", keyID: nil) == .failure(.unknown))
        #expect(identities.principal(user: "eve", keyID: "0123456789ab") == .failure(.unknown), "a key names its own user only")
        #expect((try? identities.principal(user: "operator", keyID: nil).get()) == .configurationAdmin)
        _ = identities.revokeKey("0123456789ab", at: now)
        #expect(identities.principal(user: "vera", keyID: "0123456789ab") == .failure(.revoked))
    }
}
