import Crypto
import Foundation
import SluiceCore

/// A license from the license server: who it is for, until when, and which I/O profiles it
/// unlocks. Signed with Ed25519, so a director checks it with the server's public key alone.
public struct License: Codable, Hashable, Sendable {
    public var id: String
    /// The user the licensed application authenticates as.
    public var licensee: String
    public var issuedAt: Timestamp
    public var expiresAt: Timestamp
    public var profiles: [String]

    public init(id: String, licensee: String, issuedAt: Timestamp, expiresAt: Timestamp, profiles: [String]) {
        self.id = id
        self.licensee = licensee
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.profiles = profiles
    }
}

public struct LicenseError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable { case malformed, badSignature = "bad_signature", expired, wrongLicensee = "wrong_licensee" }
    public var code: Code
    public var message: String
    public var description: String { message }
}

/// Issues and checks licenses written as `SL1.base64url(JSON).base64url(Ed25519 signature)`.
public enum LicenseCodec {
    static let prefix = "SL1."
    public static let maxLength = 4096
    static let maxProfiles = 32

    public static func issue(_ license: License, signingKey: Curve25519.Signing.PrivateKey) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let payload = Array(try encoder.encode(license))
        let signature = Array(try signingKey.signature(for: payload))
        return prefix + Base64URL.encode(payload) + "." + Base64URL.encode(signature)
    }

    /// The license, if one of `trustedKeys` signed it, it has not expired, and (when
    /// `licensee` is given) it was issued to `licensee`.
    public static func verify(
        _ text: String, trustedKeys: [Curve25519.Signing.PublicKey], licensee: String?, now: Timestamp
    ) throws(LicenseError) -> License {
        guard text.utf8.count <= maxLength, text.hasPrefix(prefix) else {
            throw LicenseError(code: .malformed, message: "not a Sluice license")
        }
        let parts = text.dropFirst(prefix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = Base64URL.decode(parts[0]), let signature = Base64URL.decode(parts[1]) else {
            throw LicenseError(code: .malformed, message: "not a Sluice license")
        }
        guard trustedKeys.contains(where: { $0.isValidSignature(signature, for: payload) }) else {
            throw LicenseError(code: .badSignature, message: "the license is not signed by a trusted license server")
        }
        guard let license = try? JSONDecoder().decode(License.self, from: Data(payload)), license.profiles.count <= maxProfiles else {
            throw LicenseError(code: .malformed, message: "the license's contents are unreadable")
        }
        guard license.expiresAt > now else { throw LicenseError(code: .expired, message: "the license expired") }
        if let licensee, license.licensee != licensee {
            throw LicenseError(code: .wrongLicensee, message: "the license was issued to someone else")
        }
        return license
    }

    /// A public key as written in configuration: standard Base64 of its 32 raw bytes.
    public static func publicKey(_ base64: String) -> Curve25519.Signing.PublicKey? {
        guard let raw = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)), raw.count == 32 else { return nil }
        return try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
    }

    /// A new license server key pair, Base64 of the raw 32-byte keys.
    public static func newKeyPair() -> (privateKey: String, publicKey: String) {
        let key = Curve25519.Signing.PrivateKey()
        return (key.rawRepresentation.base64EncodedString(), key.publicKey.rawRepresentation.base64EncodedString())
    }

    /// The public key of a private key, both in Base64.
    public static func publicKey(ofPrivateKey base64: String) -> String? {
        privateKey(base64)?.publicKey.rawRepresentation.base64EncodedString()
    }

    public static func issue(_ license: License, privateKey base64: String) throws -> String? {
        guard let key = privateKey(base64) else { return nil }
        return try issue(license, signingKey: key)
    }

    public static func verify(_ text: String, trustedKeys base64: [String], licensee: String?, now: Timestamp) throws(LicenseError) -> License {
        try verify(text, trustedKeys: base64.compactMap { publicKey($0) }, licensee: licensee, now: now)
    }

    /// What a license says, signature unchecked (to explain a refusal).
    public static func unverifiedContents(_ text: String) -> License? {
        guard text.hasPrefix(prefix), text.utf8.count <= maxLength else { return nil }
        let parts = text.dropFirst(prefix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = Base64URL.decode(parts[0]) else { return nil }
        return try? JSONDecoder().decode(License.self, from: Data(payload))
    }

    static func privateKey(_ base64: String) -> Curve25519.Signing.PrivateKey? {
        guard let raw = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)), raw.count == 32 else { return nil }
        return try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
    }
}

/// What a director knows to check licenses: the license servers it trusts and the profiles
/// licenses may name. Decides which profile a stream reads with.
public struct LicensePolicy: Sendable {
    /// Raw 32-byte keys (Crypto's key type is not Sendable).
    let trustedKeys: [Data]
    public let profiles: [String: IOProfile]

    /// Keys that do not parse are left out (configuration validation reports them).
    public init(trustedKeys: [String], profiles: [IOProfile]) {
        self.trustedKeys = trustedKeys.compactMap(LicenseCodec.publicKey).map(\.rawRepresentation)
        var known: [String: IOProfile] = [:]
        for profile in profiles { known[profile.name] = profile }
        self.profiles = known
    }

    public struct Decision: Sendable {
        /// The licensed profile; nil: the engine reads with `traditional`.
        public var profile: IOProfile?
        public var license: License?
        /// Why a presented license gave no profile.
        public var problem: String?
        public init(profile: IOProfile? = nil, license: License? = nil, problem: String? = nil) {
            self.profile = profile
            self.license = license
            self.problem = problem
        }
        /// `X-Sluice-Profile`: `NAME/vVERSION`, or `traditional` and why.
        public var header: String {
            if let profile { return "\(profile.name)/v\(profile.version)" }
            return problem.map { "traditional; license refused: \($0)" } ?? "traditional"
        }
    }

    /// The profile for a stream of `bitsPerSecond` asked for by `user` presenting `text`.
    public func decide(license text: String?, requested: String?, user: String, bitsPerSecond: Int64, now: Timestamp) -> Decision {
        guard let text, !text.isEmpty else { return Decision() }
        let license: License
        do throws(LicenseError) {
            let keys = trustedKeys.compactMap { try? Curve25519.Signing.PublicKey(rawRepresentation: $0) }
            license = try LicenseCodec.verify(text, trustedKeys: keys, licensee: user, now: now)
        } catch {
            return Decision(problem: error.message)
        }
        guard let profile = IOProfile.choose(requested: requested, unlocked: license.profiles, bitsPerSecond: bitsPerSecond, known: profiles) else {
            return Decision(license: license, problem: "the license unlocks no profile this director knows")
        }
        return Decision(profile: profile, license: license)
    }
}
