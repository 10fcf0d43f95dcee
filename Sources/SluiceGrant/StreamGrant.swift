import Crypto
import Foundation
import SluiceCore

/// What a director allows one client to do on one engine, signed so the engine can check it
/// without calling the director: the stream ID, the object, the rate, the client address and
/// an expiry. Uploads also carry the size and SHA-256 the engine must see.
public struct StreamGrant: Codable, Hashable, Sendable {
    public enum Action: String, Codable, Sendable { case play, ingest }

    public var streamID: UInt32
    public var action: Action
    public var object: String
    public var engine: String
    public var bitsPerSecond: Int64
    public var clientAddress: String
    public var expiresAt: Timestamp
    public var sizeBytes: Int64?
    public var sha256: String?
    /// The licensed I/O profile the engine reads this stream with (nil: `traditional`).
    public var profile: IOProfile?

    public init(
        streamID: UInt32, action: Action, object: String, engine: String, bitsPerSecond: Int64,
        clientAddress: String, expiresAt: Timestamp, sizeBytes: Int64? = nil, sha256: String? = nil, profile: IOProfile? = nil
    ) {
        self.profile = profile
        self.streamID = streamID
        self.action = action
        self.object = object
        self.engine = engine
        self.bitsPerSecond = bitsPerSecond
        self.clientAddress = clientAddress
        self.expiresAt = expiresAt
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
    }
}

extension StreamGrant {
    /// The grant a player gets for an admitted play stream, read with `profile` (nil: traditional).
    public init(playing stream: LiveStream, profile: IOProfile? = nil) {
        self.init(
            streamID: stream.id, action: .play, object: stream.object, engine: stream.engine, bitsPerSecond: stream.bitsPerSecond,
            clientAddress: stream.clientAddress, expiresAt: stream.leaseExpiry, profile: profile)
    }
}

/// Why a grant was not accepted. The engine answers 403 with `message`.
public struct GrantError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable { case missing, malformed, badSignature = "bad_signature", expired, wrongObject = "wrong_object", wrongEngine = "wrong_engine", wrongClient = "wrong_client", wrongAction = "wrong_action" }
    public var code: Code
    public var message: String
    public var description: String { message }
}

/// Signs and verifies grants as `base64url(JSON).base64url(HMAC-SHA256)` with a cluster secret.
public struct GrantSigner: Sendable {
    private let keyBytes: [UInt8]
    static let maxTokenLength = 2048

    public init(secret: String) {
        keyBytes = Array(SHA256.hash(data: Data(("sluice-grant-v1:" + secret).utf8)))
    }

    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    public func sign(_ grant: StreamGrant) -> String {
        let payload = grant.jsonBytes
        let mac = HMAC<SHA256>.authenticationCode(for: payload, using: key)
        return Base64URL.encode(payload) + "." + Base64URL.encode(Array(mac))
    }

    /// Checks the signature, the expiry, and that the grant is for this object, engine,
    /// client and action.
    public func verify(
        _ token: String?, object: String, engine: String, clientAddress: String?, action: StreamGrant.Action, now: Timestamp
    ) throws(GrantError) -> StreamGrant {
        guard let token, !token.isEmpty else { throw GrantError(code: .missing, message: "no grant: ask the director for this object first") }
        guard token.utf8.count <= Self.maxTokenLength else { throw GrantError(code: .malformed, message: "grant is too long") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = Base64URL.decode(parts[0]), let mac = Base64URL.decode(parts[1]) else {
            throw GrantError(code: .malformed, message: "grant is not a Sluice grant")
        }
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: payload, using: key) else {
            throw GrantError(code: .badSignature, message: "grant signature is not valid")
        }
        guard let grant = try? JSONDecoder().decode(StreamGrant.self, from: Data(payload)) else {
            throw GrantError(code: .malformed, message: "grant payload is unreadable")
        }
        if let profile = grant.profile, !profile.problems.isEmpty {
            throw GrantError(code: .malformed, message: "grant's I/O profile is out of bounds")
        }
        guard grant.expiresAt > now else { throw GrantError(code: .expired, message: "grant expired; ask the director again") }
        guard grant.object == object else { throw GrantError(code: .wrongObject, message: "grant is for another object") }
        guard grant.engine == engine else { throw GrantError(code: .wrongEngine, message: "grant is for another engine") }
        guard grant.action == action else { throw GrantError(code: .wrongAction, message: "grant does not allow \(action.rawValue)") }
        if let clientAddress, let granted = IPAddress(grant.clientAddress), IPAddress(clientAddress) != granted {
            throw GrantError(code: .wrongClient, message: "grant was issued to another client address")
        }
        return grant
    }
}

extension GrantSigner {
    /// Lower-case hex SHA-256 of a string (how API key secrets are stored).
    public static func sha256Hex(_ text: String) -> String {
        Array(SHA256.hash(data: Data(text.utf8))).hexEncoded
    }

    /// `X-Sluice-Signature` of a usage webhook body: hex HMAC-SHA256 with a key derived from
    /// the cluster secret, so a receiver can check the records came from the director.
    public static func webhookSignature(body: [UInt8], secret: String) -> String {
        let key = SymmetricKey(data: SHA256.hash(data: Data(("sluice-webhook-v1:" + secret).utf8)))
        return Array(HMAC<SHA256>.authenticationCode(for: body, using: key)).hexEncoded
    }

    /// The bearer token engines present to the director, derived from the cluster secret.
    public static func engineToken(secret: String) -> String {
        SHA256.hash(data: Data(("sluice-engine-v1:" + secret).utf8)).hexEncoded
    }
}
