import SluiceCore
import SluiceStore

/// RTSP sessions in the shared store: a player whose RTSP connection broke (its director died,
/// or a load balancer moved it) controls its session through any other director, and a dead
/// director's sessions are taken over by a live one, which times them out if their players
/// went too. Without a shared store these do nothing: sessions live in one director's memory.
extension Director {
    /// How long a director may go unseen before a live one takes over its sessions.
    static let orphanGrace: Duration = .seconds(3)

    public nonisolated var sharesSessions: Bool { shared != nil }

    func saveSession(id: String, body: String) async {
        guard let shared else { return }
        do {
            try await shared.saveRTSPSession(id: id, body: body)
        } catch {
            logger.error("shared store unreachable: rtsp session not saved", metadata: ["session": "\(id)", "error": "\(error)"])
        }
    }

    func forgetSession(id: String) async {
        guard let shared else { return }
        do {
            try await shared.deleteRTSPSession(id: id)
        } catch {
            logger.error("shared store unreachable: rtsp session not removed", metadata: ["session": "\(id)", "error": "\(error)"])
        }
    }

    func peekSession(id: String) async -> String? {
        guard let shared else { return nil }
        return try? await shared.rtspSession(id: id)
    }

    func adoptSession(id: String) async -> String? {
        guard let shared else { return nil }
        do {
            return try await shared.adoptRTSPSession(id: id)
        } catch {
            logger.error("shared store unreachable: rtsp session not looked up", metadata: ["session": "\(id)", "error": "\(error)"])
            return nil
        }
    }

    func adoptOrphanedSessions() async -> [String] {
        guard let shared else { return [] }
        do {
            return try await shared.adoptOrphanedRTSPSessions(seenBefore: clock.now() - Self.orphanGrace, limit: 500)
        } catch {
            logger.error("shared store unreachable: orphaned rtsp sessions not taken over", metadata: ["error": "\(error)"])
            return []
        }
    }

    func heldSessions() async -> Set<String>? {
        guard let shared else { return nil }
        return try? await shared.heldRTSPSessions()
    }

    func streamAdopted(_ id: UInt32) async {
        guard let shared, controller.streams[id] == nil else { return }
        if let stream = try? await shared.stream(id), controller.streams[id] == nil {
            controller.streamRestored(stream)
            playTransports[id] = "rtsp"
        }
    }
}
