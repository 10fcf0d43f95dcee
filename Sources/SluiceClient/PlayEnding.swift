import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceCore

/// How a play ended, the same for HTTP and RTSP: each has its own message and exit code.
public enum PlayEnding: String, Codable, Sendable, CaseIterable {
    /// Every byte arrived (the checksum is checked separately).
    case completed
    /// The director said no (authentication, entitlement, quota, no capacity): nothing played.
    case refused
    /// An operator tore the stream down.
    case tornDown = "torn_down"
    /// The user or key that asked for it was revoked.
    case revoked
    /// The object was deleted while it played.
    case deleted
    /// The engine sending it failed.
    case engineFailed = "engine_failed"
    /// The cluster ended it for a reason of its own (lease expired, paused too long, director restart).
    case endedByCluster = "ended_by_cluster"
    /// The connection broke and the director has no record of why.
    case cutOff = "cut_off"

    /// `sluice play`'s exit status (a checksum mismatch after a completed play is 9).
    public var exitCode: Int32 {
        switch self {
        case .completed: 0
        case .refused: 1
        case .tornDown: 3
        case .revoked: 4
        case .deleted: 5
        case .engineFailed: 6
        case .endedByCluster: 7
        case .cutOff: 8
        }
    }

    public static let checksumMismatchExitCode: Int32 = 9

    public var message: String {
        switch self {
        case .completed: "completed"
        case .refused: "refused by the director"
        case .tornDown: "torn down by an operator"
        case .revoked: "stopped: the user or key that asked for it was revoked"
        case .deleted: "stopped: the object was deleted"
        case .engineFailed: "stopped: the engine sending it failed"
        case .endedByCluster: "ended by the cluster"
        case .cutOff: "cut off: the connection broke and the director has no record of why"
        }
    }

    /// The ending a usage record's reason means to the player.
    public init(reason: UsageRecord.EndReason) {
        switch reason {
        case .completed, .playerStopped: self = .completed
        case .tornDown: self = .tornDown
        case .revoked: self = .revoked
        case .deleted: self = .deleted
        case .engineFailed: self = .engineFailed
        case .leaseExpired, .pausedTooLong, .directorRestart, .unclaimed, .failed: self = .endedByCluster
        case .clientGone: self = .cutOff
        }
    }
}

/// Asks the director what became of a stream (`GET /v1/streams/{id}`) after its media stopped.
struct StreamOutcome {
    /// The usage record's reason once the stream has ended there, polling until `patience` runs
    /// out (a failed engine is noticed only after the director's heartbeat timeout); nil when the
    /// director cannot say.
    static func endReason(
        directorURL: String, streamID: UInt32, apiKey: String?, client: HTTPClient, patience: Duration = .seconds(10)
    ) async -> UsageRecord.EndReason? {
        guard var components = URLComponents(string: directorURL) else { return nil }
        let key = apiKey ?? components.queryItems?.first { $0.name == "key" }?.value
        components.path = "/v1/streams/\(streamID)"
        components.query = nil
        guard let url = components.string else { return nil }
        struct State: Decodable { var state: String; var usage: UsageRecord? }
        let deadline = ContinuousClock.now + patience
        while ContinuousClock.now < deadline {
            var request = HTTPClientRequest(url: url)
            if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
            guard let response = try? await client.execute(request, timeout: .seconds(5)),
                  let body = try? await response.body.collect(upTo: 1 << 20) else { return nil }
            // The key the stream was played with no longer authenticates: it was revoked.
            if response.status == .unauthorized { return .revoked }
            guard response.status == .ok, let state = try? JSONDecoder().decode(State.self, from: Data(body.readableBytesView)) else { return nil }
            if let usage = state.usage { return usage.endReason }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return nil
    }
}
