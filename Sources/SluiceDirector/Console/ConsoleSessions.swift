import SluiceCore
import Synchronization

/// The console's logins: a random token in an HttpOnly cookie stands for the admin key that
/// logged in, kept here (never in the page or its URLs). Each use checks the key again, so a
/// revoked key ends its sessions; a session also ends after `lifetime`, or at logout. Sessions
/// live in this director's memory: a restart, or another director, asks for the key again.
final class ConsoleSessions: Sendable {
    struct Session: Sendable {
        var key: String
        var user: String
        var expires: Timestamp
    }

    static let cookieName = "sluice_console"
    static let lifetime: Duration = .seconds(12 * 3600)
    /// More logins than any operator team makes; the oldest goes first.
    static let limit = 1_000

    private let sessions = Mutex<[String: Session]>([:])

    /// A new session for an admin `key`; returns the cookie's token.
    func open(key: String, user: String, now: Timestamp) -> String {
        let token = Self.randomToken()
        sessions.withLock { table in
            table = table.filter { $0.value.expires > now }
            if table.count >= Self.limit, let oldest = table.min(by: { $0.value.expires < $1.value.expires })?.key {
                table[oldest] = nil
            }
            table[token] = Session(key: key, user: user, expires: now + Self.lifetime)
        }
        return token
    }

    /// The live session of a cookie's token, if any.
    func session(_ token: String?, now: Timestamp) -> Session? {
        guard let token else { return nil }
        return sessions.withLock { table in
            guard let session = table[token] else { return nil }
            guard session.expires > now else {
                table[token] = nil
                return nil
            }
            return session
        }
    }

    func close(_ token: String?) {
        guard let token else { return }
        _ = sessions.withLock { $0.removeValue(forKey: token) }
    }

    var count: Int { sessions.withLock { $0.count } }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in
            let word = generator.next() as UInt64
            let hex = String(word, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }
}
