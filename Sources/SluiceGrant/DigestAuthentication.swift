import Crypto
import Foundation
import SluiceCore

/// RTSP Digest authentication (RFC 2617 / RFC 7616 with MD5, which players implement): the
/// player proves it knows a key without sending it. The user name is the Sluice user (or
/// `operator` for a configuration key), the password is the key. Nonces are stateless: a
/// timestamp and its HMAC over the timestamp and a binding (the RTSP connection it was issued
/// on), good for `nonceLifetime` and only where the binding matches: an answer captured on
/// one connection is refused on any other.
public struct DigestAuthenticator: Sendable {
    public static let realm = "sluice"
    public static let nonceLifetime: Duration = .seconds(300)
    private let nonceKey: [UInt8]

    public init(secret: String) {
        nonceKey = Array(SHA256.hash(data: Data(("sluice-digest-nonce-v1:" + secret).utf8)))
    }

    /// `MD5(user:realm:key)`, what the director keeps to check Digest answers for a key.
    public static func ha1(user: String, key: String) -> String {
        md5Hex("\(user):\(realm):\(key)")
    }

    static func md5Hex(_ text: String) -> String {
        Array(Insecure.MD5.hash(data: Data(text.utf8))).hexEncoded
    }

    public func nonce(at now: Timestamp, binding: String = "") -> String {
        let stamp = String(now.millisecondsSinceEpoch, radix: 16)
        let mac = HMAC<SHA256>.authenticationCode(for: Data((stamp + ":" + binding).utf8), using: SymmetricKey(data: nonceKey))
        return stamp + "-" + Array(mac).prefix(16).hexEncoded
    }

    /// The `WWW-Authenticate` challenge (`stale=true` when the old nonce merely expired).
    public func challenge(at now: Timestamp, binding: String = "", stale: Bool = false) -> String {
        "Digest realm=\"\(Self.realm)\", nonce=\"\(nonce(at: now, binding: binding))\", algorithm=MD5" + (stale ? ", stale=true" : "")
    }

    public enum Outcome: Equatable, Sendable {
        /// The answer matches this candidate's HA1.
        case valid(index: Int)
        case staleNonce
        case invalid
    }

    /// Checks `answer` (the parsed `Authorization: Digest`) for `method`, against the HA1 of
    /// each key the named user holds.
    public func verify(_ answer: DigestAnswer, method: String, candidates: [String], binding: String = "", now: Timestamp) -> Outcome {
        guard answer.realm == Self.realm else { return .invalid }
        let parts = answer.nonce.split(separator: "-")
        guard parts.count == 2, let stamp = Int64(parts[0], radix: 16),
              Identities.constantTimeEqual(answer.nonce, nonce(at: Timestamp(millisecondsSinceEpoch: stamp), binding: binding)) else {
            return .invalid
        }
        let issued = Timestamp(millisecondsSinceEpoch: stamp)
        guard issued <= now + .seconds(5), now - issued <= Self.nonceLifetime else { return .staleNonce }
        let ha2 = Self.md5Hex("\(method):\(answer.uri)")
        for (index, ha1) in candidates.enumerated() {
            let expected: String
            if let qop = answer.qop {
                guard qop == "auth", let nc = answer.nc, let cnonce = answer.cnonce else { return .invalid }
                expected = Self.md5Hex("\(ha1):\(answer.nonce):\(nc):\(cnonce):\(qop):\(ha2)")
            } else {
                expected = Self.md5Hex("\(ha1):\(answer.nonce):\(ha2)")
            }
            if Identities.constantTimeEqual(expected, answer.response.lowercased()) { return .valid(index: index) }
        }
        return .invalid
    }
}

/// The parameters of an `Authorization: Digest ...` header, parsed with bounds.
public struct DigestAnswer: Hashable, Sendable {
    public var username: String
    public var realm: String
    public var nonce: String
    public var uri: String
    public var response: String
    public var qop: String?
    public var nc: String?
    public var cnonce: String?

    public static let maxLength = 2048
    static let maxParameters = 16

    /// Nil unless it is a Digest answer with every required parameter, within bounds.
    public init?(header: String) {
        guard header.utf8.count <= Self.maxLength, header.lowercased().hasPrefix("digest ") else { return nil }
        var fields: [String: String] = [:]
        var rest = Substring(header.dropFirst(7))
        while !rest.isEmpty {
            guard fields.count < Self.maxParameters else { return nil }
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let name = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: equals)...]
            let value: Substring
            if rest.first == "\"" {
                rest = rest.dropFirst()
                guard let close = rest.firstIndex(of: "\"") else { return nil }
                value = rest[..<close]
                rest = rest[rest.index(after: close)...]
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = rest[..<end]
                rest = rest[end...]
            }
            fields[name] = value.trimmingCharacters(in: .whitespaces)
        }
        guard let username = fields["username"], let realm = fields["realm"], let nonce = fields["nonce"], let uri = fields["uri"],
              let response = fields["response"], response.count == 32 else { return nil }
        self.username = username
        self.realm = realm
        self.nonce = nonce
        self.uri = uri
        self.response = response
        qop = fields["qop"]
        nc = fields["nc"]
        cnonce = fields["cnonce"]
    }
}
