import Foundation
import NIOCore
import SluiceCore
import SluiceGrant
import SluiceMedia
import Synchronization

/// One RTSP-driven stream on this engine: where to send, what to send, and the commands the
/// director sends (play from a time, pause, stop). The send loop (`RTPStreamer`) owns the
/// hot state; this object is the mailbox between it and the control API.
final class RTPSession: Sendable {
    struct PlayStart: Sendable {
        var sequence: UInt16
        var rtpTime: UInt32
        var startMilliseconds: Int64
    }

    struct Summary: Sendable {
        var bytesSent: Int64
        var packetsSent: Int64
        var quality: ReceptionQuality?
        var lastReceiverReport: ContinuousClock.Instant?
    }

    enum Command: Sendable {
        case play(startMilliseconds: Int64?, CheckedContinuation<PlayStart, Never>)
        case pause(CheckedContinuation<Void, Never>)
        case stop(CheckedContinuation<Summary, Never>)
    }

    struct Shared: Sendable {
        var commands: [Command] = []
        var bytesSent: Int64 = 0
        var packetsSent: Int64 = 0
        var nextSequence: UInt16
        var quality: ReceptionQuality?
        var lastReceiverReport: ContinuousClock.Instant?
        var finished = false
        /// The send loop waiting for a command or its next due time, and which wait it is.
        var sleeper: CheckedContinuation<Void, Never>?
        var sleepNumber: UInt64 = 0
    }

    let streamID: UInt32
    let object: MediaObject
    let path: String
    let seekIndex: SeekIndex
    let pcrPID: UInt16?
    /// First PTS in milliseconds, for players that count from it.
    let firstPTSMilliseconds: Int64?
    let bitsPerSecond: Int64
    let client: SocketAddress
    let clientRTCP: SocketAddress
    /// The licensed I/O profile its reader uses (nil: traditional).
    let profile: IOProfile?
    let openedAt: Timestamp
    let initialRTPTime: UInt32
    private let shared: Mutex<Shared>

    /// `continueAt` carries on the numbering of a stream moved here from a failed engine.
    init(
        grant: StreamGrant, object: MediaObject, path: String, timing: TransportStreamSummary, client: SocketAddress,
        clientRTCP: SocketAddress, continueAt: RTPPosition? = nil
    ) {
        streamID = grant.streamID
        profile = grant.profile
        openedAt = SystemClock().now()
        self.object = object
        self.path = path
        seekIndex = timing.seekIndex
        pcrPID = timing.pcrPID
        firstPTSMilliseconds = timing.firstPTS.map { $0 / 90 }
        bitsPerSecond = grant.bitsPerSecond
        self.client = client
        self.clientRTCP = clientRTCP
        initialRTPTime = continueAt?.rtpTime ?? UInt32.random(in: 0...UInt32.max)
        shared = Mutex(Shared(nextSequence: continueAt?.sequence ?? UInt16.random(in: 0...UInt16.max)))
    }

    var nextSequence: UInt16 { shared.withLock { $0.nextSequence } }
    var isFinished: Bool { shared.withLock { $0.finished } }

    var summary: Summary {
        shared.withLock { Summary(bytesSent: $0.bytesSent, packetsSent: $0.packetsSent, quality: $0.quality, lastReceiverReport: $0.lastReceiverReport) }
    }

    // MARK: Control side

    func play(fromMilliseconds start: Int64?) async -> PlayStart {
        await withCheckedContinuation { continuation in enqueue(.play(startMilliseconds: start, continuation)) }
    }

    func pause() async {
        await withCheckedContinuation { continuation in enqueue(.pause(continuation)) }
    }

    func stop() async -> Summary {
        await withCheckedContinuation { continuation in enqueue(.stop(continuation)) }
    }

    private func enqueue(_ command: Command) {
        let (rejected, sleeper): (Command?, CheckedContinuation<Void, Never>?) = shared.withLock { state in
            guard !state.finished else { return (command, nil) }
            state.commands.append(command)
            defer { state.sleeper = nil }
            return (nil, state.sleeper)
        }
        // A command wakes the send loop at once, wherever it was in its wait.
        sleeper?.resume()
        // The loop is gone: answer at once from what is known.
        switch rejected {
        case .play(let start, let continuation)?:
            continuation.resume(returning: PlayStart(sequence: nextSequence, rtpTime: initialRTPTime, startMilliseconds: start ?? 0))
        case .pause(let continuation)?: continuation.resume()
        case .stop(let continuation)?: continuation.resume(returning: summary)
        case nil: break
        }
    }

    // MARK: Loop side

    /// Waits until `deadline` or until a command arrives, whichever is first (at once when
    /// one is already waiting). The pacer's tick is the timer: no task or timer per wait.
    func waitForCommand(until deadline: NIODeadline, wokenBy pacer: RTPPacer) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let number: UInt64? = shared.withLock { state in
                guard state.commands.isEmpty, !state.finished else { return nil }
                state.sleepNumber &+= 1
                state.sleeper = continuation
                return state.sleepNumber
            }
            guard let number else { return continuation.resume() }
            pacer.wake(at: deadline) { [self] in
                let sleeper: CheckedContinuation<Void, Never>? = shared.withLock { state in
                    guard state.sleepNumber == number else { return nil }
                    defer { state.sleeper = nil }
                    return state.sleeper
                }
                sleeper?.resume()
            }
        }
    }

    func takeCommands() -> [Command] {
        shared.withLock { state in
            defer { state.commands.removeAll() }
            return state.commands
        }
    }

    func recordSent(packets: Int, bytes: Int, nextSequence: UInt16) {
        shared.withLock {
            $0.packetsSent += Int64(packets)
            $0.bytesSent += Int64(bytes)
            $0.nextSequence = nextSequence
        }
    }

    /// Marks the loop finished and answers any command still waiting.
    func finish() {
        let (leftover, sleeper) = shared.withLock { state in
            state.finished = true
            defer {
                state.commands.removeAll()
                state.sleeper = nil
            }
            return (state.commands, state.sleeper)
        }
        sleeper?.resume()
        for command in leftover {
            switch command {
            case .play(let start, let continuation):
                continuation.resume(returning: PlayStart(sequence: nextSequence, rtpTime: initialRTPTime, startMilliseconds: start ?? 0))
            case .pause(let continuation): continuation.resume()
            case .stop(let continuation): continuation.resume(returning: summary)
            }
        }
    }

    // MARK: RTCP side

    @discardableResult
    func receiverReport(_ block: RTCP.ReportBlock) -> ReceptionQuality {
        let quality = ReceptionQuality(
            fractionLost: Double(block.fractionLost) / 256, cumulativeLost: Int64(block.cumulativeLost),
            jitterMilliseconds: Double(block.jitter) / 90)
        shared.withLock {
            $0.quality = quality
            $0.lastReceiverReport = ContinuousClock.now
        }
        return quality
    }
}

/// Every RTP session of the engine, by stream ID (the SSRC).
final class RTPSessionTable: Sendable {
    private let sessions = Mutex<[UInt32: RTPSession]>([:])
    let metrics: EngineMetrics

    init(metrics: EngineMetrics) { self.metrics = metrics }

    func insert(_ session: RTPSession) -> RTPSession? {
        sessions.withLock { table in
            let old = table[session.streamID]
            table[session.streamID] = session
            return old
        }
    }

    func session(_ id: UInt32) -> RTPSession? { sessions.withLock { $0[id] } }

    func remove(_ id: UInt32) { _ = sessions.withLock { $0.removeValue(forKey: id) } }

    var count: Int { sessions.withLock { $0.count } }

    var all: [RTPSession] { sessions.withLock { Array($0.values) } }

    func receiverReport(_ block: RTCP.ReportBlock, from address: SocketAddress) {
        guard let session = session(block.ssrc), session.client.ipAddress == address.ipAddress else { return }
        metrics.receiverReport(session.receiverReport(block))
    }

}
