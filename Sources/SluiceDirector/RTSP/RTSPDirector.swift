import SluiceCore
import SluiceGrant

/// All the RTSP front door asks of the director: authenticate, describe, hand off, play
/// (`PlayAdmission`), and the state of the streams its sessions hold. `Director` is one; a
/// test can be another.
protocol RTSPDirector: PlayAdmission {
    func authenticate(_ key: String?) async -> Result<Principal, Identities.Failure>
    /// Digest answers count only on the connection their nonce was issued to.
    func authenticate(digest answer: DigestAnswer, method: String, connection: UInt64) async -> (principal: Principal?, stale: Bool)
    func digestChallenge(stale: Bool, connection: UInt64) async -> String?
    func playableObject(_ name: String, for principal: Principal) async -> MediaObject?
    func handOff(for kind: AdmissionRequest.Kind, clientAddress: String) async -> AdmissionRefusal.HandOff?
    func playStates(_ streams: [(id: UInt32, engine: String)]) async -> [UInt32: Director.PlayState]
    /// Failed engines and the play streams they carried, for the sessions to move.
    var engineFailures: AsyncStream<Director.EngineFailure> { get }
    /// A session's stream continues on another replica after its engine failed (a metric).
    func streamMovedOffFailedEngine()

    // Sessions in the shared store, so any director answers for them (`DirectorRTSPSessions`).
    /// False without a shared store: sessions live in this director alone.
    var sharesSessions: Bool { get }
    func saveSession(id: String, body: String) async
    func forgetSession(id: String) async
    /// A session's body in the store, whoever holds it (nothing changes).
    func peekSession(id: String) async -> String?
    /// Takes the session over from the director holding it; its body, nil when unknown.
    func adoptSession(id: String) async -> String?
    /// Takes over the sessions of directors that died.
    func adoptOrphanedSessions() async -> [String]
    /// The sessions the store says this director holds; nil when it could not be read.
    func heldSessions() async -> Set<String>?
    /// An adopted session's stream: booked in this director's core, so its state is known here.
    func streamAdopted(_ id: UInt32) async
}

extension RTSPDirector {
    func streamMovedOffFailedEngine() {}
    var sharesSessions: Bool { false }
    func saveSession(id: String, body: String) async {}
    func forgetSession(id: String) async {}
    func peekSession(id: String) async -> String? { nil }
    func adoptSession(id: String) async -> String? { nil }
    func adoptOrphanedSessions() async -> [String] { [] }
    func heldSessions() async -> Set<String>? { nil }
    func streamAdopted(_ id: UInt32) async {}
}

extension Director: RTSPDirector {
    nonisolated func streamMovedOffFailedEngine() { metrics.handOff(.engineFailover) }
}
