import Crypto
import Foundation
import SluiceCore
@testable import SluiceGrant
import Testing

@Suite(.timeLimit(.minutes(1))) struct DigestTests {
    static let authenticator = DigestAuthenticator(secret: "cluster-secret-0123456789")
    static let now = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
    static let key = "sk_0123456789ab_" + String(repeating: "ab", count: 24)
    static let uri = "rtsp://127.0.0.1:8554/clip"

    static func md5(_ text: String) -> String { Insecure.MD5.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined() }

    /// What a player computes (RFC 2617 without qop).
    static func header(user: String = "dora", key: String = key, nonce: String, method: String = "DESCRIBE", uri: String = uri) -> String {
        let response = md5(md5("\(user):sluice:\(key)") + ":\(nonce):" + md5("\(method):\(uri)"))
        return "Digest username=\"\(user)\", realm=\"sluice\", nonce=\"\(nonce)\", uri=\"\(uri)\", response=\"\(response)\""
    }

    func verify(_ header: String, method: String = "DESCRIBE", at now: Timestamp = now) -> DigestAuthenticator.Outcome {
        guard let answer = DigestAnswer(header: header) else { return .invalid }
        return Self.authenticator.verify(answer, method: method, candidates: ["0" + String(repeating: "f", count: 31), DigestAuthenticator.ha1(user: "dora", key: Self.key)], now: now)
    }

    @Test func aPlayersAnswerWithTheRightKeyIsAccepted() throws {
        let nonce = Self.authenticator.nonce(at: Self.now)
        #expect(verify(Self.header(nonce: nonce)) == .valid(index: 1))
        #expect(verify(Self.header(nonce: nonce), at: Self.now + .seconds(299)) == .valid(index: 1))
        // qop=auth, as RFC 2617 clients that see it offered answer.
        let ha1 = Self.md5("dora:sluice:\(Self.key)"), ha2 = Self.md5("SETUP:\(Self.uri)")
        let response = Self.md5("\(ha1):\(nonce):00000001:c0ffee:auth:\(ha2)")
        let withQop = "Digest username=\"dora\", realm=\"sluice\", nonce=\"\(nonce)\", uri=\"\(Self.uri)\", qop=auth, nc=00000001, cnonce=\"c0ffee\", response=\"\(response)\""
        #expect(verify(withQop, method: "SETUP") == .valid(index: 1))
    }

    @Test func wrongKeysForgedOrOldNoncesAndOtherMethodsAreRefused() {
        let nonce = Self.authenticator.nonce(at: Self.now)
        #expect(verify(Self.header(key: "sk_0123456789ab_" + String(repeating: "cd", count: 24), nonce: nonce)) == .invalid)
        #expect(verify(Self.header(nonce: nonce), method: "SETUP") == .invalid, "signed for DESCRIBE")
        #expect(verify(Self.header(nonce: "18b3c5e3c00-00112233445566778899aabbccddeeff")) == .invalid, "a nonce this director did not make")
        #expect(verify(Self.header(nonce: DigestAuthenticator(secret: "another-secret-9876543210").nonce(at: Self.now))) == .invalid)
        #expect(verify(Self.header(nonce: nonce), at: Self.now + .seconds(301)) == .staleNonce)
        #expect(verify(Self.header(nonce: nonce).replacingOccurrences(of: "realm=\"sluice\"", with: "realm=\"other\"")) == .invalid)
    }

    @Test(arguments: [
        "", "Basic abc", "Digest", "Digest username=\"a\"", "Digest username=\"a\", realm=\"sluice\", nonce=\"n\", uri=\"u\", response=\"short\"",
        "Digest username=\"a, realm=\"sluice\"", String(repeating: "Digest a=b, ", count: 400),
        "Digest " + (0..<20).map { "p\($0)=v" }.joined(separator: ", "),
    ])
    func malformedAnswersAreNotParsed(_ header: String) {
        #expect(DigestAnswer(header: header) == nil)
    }

    @Test func onlyLiveKeysOfTheNamedUserAreCandidates() {
        let now = Self.now
        var identities = Identities(configurationKeys: ["ops-key"])
        _ = identities.add(User(name: "dora", role: .viewer, createdAt: now))
        identities.add(KeyRecord(id: "aaaaaaaaaaaa", user: "dora", secretSHA256: "x", digestHA1: "h1", createdAt: now))
        identities.add(KeyRecord(id: "bbbbbbbbbbbb", user: "dora", secretSHA256: "x", digestHA1: "h2", createdAt: now, revokedAt: now))
        identities.add(KeyRecord(id: "cccccccccccc", user: "dora", secretSHA256: "x", createdAt: now))
        let dora = identities.digestCandidates(username: "dora") { _ in "op" }
        #expect(dora.map(\.ha1) == ["h1"] && dora.first?.principal.keyID == "aaaaaaaaaaaa")
        #expect(identities.digestCandidates(username: "operator") { "op-\($0)" }.map(\.ha1) == ["op-ops-key"])
        #expect(identities.digestCandidates(username: "nobody") { _ in "op" }.isEmpty)
        _ = identities.revokeUser("dora", at: now)
        #expect(identities.digestCandidates(username: "dora") { _ in "op" }.isEmpty)
    }
}
