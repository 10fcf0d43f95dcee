import Foundation
import SluiceCore
import SluiceGrant
import Testing

@Suite(.timeLimit(.minutes(1))) struct LicenseTests {
    static let server = LicenseCodec.newKeyPair()
    static let now = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)

    static func license(licensee: String = "lena", expires: Timestamp? = nil, profiles: [String] = ["uhd-video", "audio"]) -> License {
        License(id: "0123abcd", licensee: licensee, issuedAt: now - .seconds(60), expiresAt: expires ?? now + .seconds(3600), profiles: profiles)
    }

    static func issue(_ license: License, key: String = server.privateKey) throws -> String {
        try #require(try LicenseCodec.issue(license, privateKey: key))
    }

    @Test func onlyAValidLicenseForItsLicenseeUnlocksItsProfiles() throws {
        let policy = LicensePolicy(trustedKeys: [Self.server.publicKey], profiles: IOProfile.builtIn)
        func decide(_ text: String?, user: String = "lena", rate: Int64 = 20_000_000, requested: String? = nil) -> LicensePolicy.Decision {
            policy.decide(license: text, requested: requested, user: user, bitsPerSecond: rate, now: Self.now)
        }
        let valid = try Self.issue(Self.license())
        #expect(decide(valid).profile == .uhdVideo)
        #expect(decide(valid).header == "uhd-video/v1")
        #expect(decide(valid, rate: 128_000).profile == .audio, "suited to the rate")
        #expect(decide(valid, requested: "audio").profile == .audio, "asked for")
        #expect(decide(valid, rate: 2_000_000, requested: "sd-video").profile == .uhdVideo, "not unlocked: falls back to an unlocked one")

        let expired = try Self.issue(Self.license(expires: Self.now - .seconds(1)))
        let foreign = try Self.issue(Self.license(), key: LicenseCodec.newKeyPair().privateKey)
        let parts = valid.split(separator: ".")
        var payload = Array(Data(base64Encoded: String(parts[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/").padding(toLength: (parts[1].count + 3) / 4 * 4, withPad: "=", startingAt: 0)) ?? Data())
        let at = try #require(payload.firstIndex(of: UInt8(ascii: "l")))
        payload[at] = UInt8(ascii: "m")  // "lena" -> "mena"... any changed byte
        let tampered = "SL1." + Data(payload).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "") + "." + parts[2]
        for (name, text, user, reason) in [
            ("expired", expired, "lena", "expired"), ("signed by another server", foreign, "lena", "not signed by a trusted"),
            ("tampered", tampered, "lena", "not signed by a trusted"), ("wrong licensee", valid, "otto", "issued to someone else"),
            ("garbage", "SL1.!!.??", "lena", "not a Sluice license"), ("huge", "SL1." + String(repeating: "A", count: 10_000), "lena", "not a Sluice license"),
        ] {
            let decision = decide(text, user: user)
            #expect(decision.profile == nil, "\(name) unlocked \(decision.profile?.name ?? "")")
            #expect(decision.problem?.contains(reason) == true, "\(name): \(decision.problem ?? "no problem")")
            #expect(decision.header.hasPrefix("traditional; license refused"))
        }
        #expect(decide(nil).profile == nil && decide(nil).problem == nil && decide(nil).header == "traditional")
    }

    @Test func aLicenseForProfilesNobodyDefinedGivesTheTraditionalPath() throws {
        let policy = LicensePolicy(trustedKeys: [Self.server.publicKey], profiles: IOProfile.builtIn)
        let text = try Self.issue(Self.license(profiles: ["8k-holo"]))
        let decision = policy.decide(license: text, requested: nil, user: "lena", bitsPerSecond: 1_000_000, now: Self.now)
        #expect(decision.profile == nil && decision.license != nil)
        #expect(decision.problem?.contains("no profile this director knows") == true)
    }

    @Test func theShippedProfilesAreWithinBoundsAndBadOnesAreNot() {
        for profile in IOProfile.builtIn { #expect(profile.problems.isEmpty, "\(profile.name): \(profile.problems)") }
        var bad = IOProfile.uhdVideo
        bad.readBytes = 1000
        bad.buffers = 0
        bad.burstPackets = 100_000
        #expect(bad.problems.count == 3, "\(bad.problems)")
        bad = IOProfile.uhdVideo
        bad.readBytes = 16 << 20
        bad.buffers = 64
        #expect(bad.problems.contains { $0.contains("64 MiB") })
    }

    @Test func aGrantCarriesItsProfileAndAnOutOfBoundsOneIsRefused() throws {
        let signer = GrantSigner(secret: "a-grant-secret-of-some-length")
        var grant = StreamGrant(
            streamID: 7, action: .play, object: "clip", engine: "engine-a", bitsPerSecond: 1_000_000, clientAddress: "127.0.0.1",
            expiresAt: Self.now + .seconds(60), profile: .sdVideo)
        let verified = try signer.verify(signer.sign(grant), object: "clip", engine: "engine-a", clientAddress: "127.0.0.1", action: .play, now: Self.now)
        #expect(verified.profile == .sdVideo)
        grant.profile?.buffers = 10_000
        #expect(throws: GrantError.self) {
            try signer.verify(signer.sign(grant), object: "clip", engine: "engine-a", clientAddress: "127.0.0.1", action: .play, now: Self.now)
        }
    }
}
