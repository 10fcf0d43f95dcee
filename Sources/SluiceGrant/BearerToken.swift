import Crypto
import Foundation
import SluiceCore

/// What a bearer token says: whose it is, from which key, and until when (JWT claims).
public struct BearerTokenClaims: Codable, Hashable, Sendable {
    /// The user (or "operator" for a configuration key).
    public var sub: String
    /// The API key it was issued for; revoking the key voids the token.
    public var kid: String?
    /// Issued at and expires, in seconds since the epoch.
    public var iat: Int64
    public var exp: Int64
    public var iss: String

    public init(sub: String, kid: String?, iat: Int64, exp: Int64) {
        self.sub = sub
        self.kid = kid
        self.iat = iat
        self.exp = exp
        iss = "sluice"
    }
}

public struct BearerTokenError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
}

/// Short-lived bearer tokens the director issues in exchange for an API key: JWTs (RFC 7519)
/// signed with HMAC-SHA256 under a key derived from the cluster secret.
public struct BearerTokenSigner: Sendable {
    private let keyBytes: [UInt8]
    static let maxLength = 4096
    /// `{"alg":"HS256","typ":"JWT"}`, the only header issued or accepted.
    static let header = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))

    public init(secret: String) {
        keyBytes = Array(SHA256.hash(data: Data(("sluice-jwt-v1:" + secret).utf8)))
    }

    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    public func issue(_ claims: BearerTokenClaims) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let payload = Base64URL.encode(Array((try? encoder.encode(claims)) ?? Data("{}".utf8)))
        let signingInput = Self.header + "." + payload
        let mac = HMAC<SHA256>.authenticationCode(for: Array(signingInput.utf8), using: key)
        return signingInput + "." + Base64URL.encode(Array(mac))
    }

    /// Whether `text` is shaped like a JWT (three dot-separated parts), not an API key.
    public static func looksLikeToken(_ text: String) -> Bool {
        text.utf8.count <= maxLength && text.split(separator: ".", omittingEmptySubsequences: false).count == 3
    }

    /// The claims of a token this director signed and that has not expired.
    public func verify(_ token: String, now: Timestamp) throws(BearerTokenError) -> BearerTokenClaims {
        guard token.utf8.count <= Self.maxLength else { throw BearerTokenError(description: "token too long") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, String(parts[0]) == Self.header, let payload = Base64URL.decode(parts[1]),
              let mac = Base64URL.decode(parts[2]) else {
            throw BearerTokenError(description: "not a Sluice token (only HS256 tokens this director issued are accepted)")
        }
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Array((parts[0] + "." + parts[1]).utf8), using: key) else {
            throw BearerTokenError(description: "token signature is not valid")
        }
        guard let claims = try? JSONDecoder().decode(BearerTokenClaims.self, from: Data(payload)), claims.iss == "sluice" else {
            throw BearerTokenError(description: "token claims are unreadable")
        }
        guard claims.exp * 1000 > now.millisecondsSinceEpoch else { throw BearerTokenError(description: "token expired; ask for a new one") }
        return claims
    }
}
