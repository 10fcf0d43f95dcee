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
}

extension RTSPDirector {
    func streamMovedOffFailedEngine() {}
}

extension Director: RTSPDirector {
    nonisolated func streamMovedOffFailedEngine() { metrics.handOff(.engineFailover) }
}
