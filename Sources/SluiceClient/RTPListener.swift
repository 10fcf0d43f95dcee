import Foundation
import NIOCore
import NIOPosix

/// Receives plain RTP/MP2T streams that something else sends to local ports (ffmpeg's
/// `rtp_mpegts`, GStreamer's `rtpmp2tpay ! udpsink`), measuring each one the way
/// `RTSPPlayClient` measures a Sluice stream: loss from sequence numbers, and each packet's
/// lateness against its RTP timestamp anchored at the stream's first packet.
public struct RTPListener: Sendable {
    public let ports: [Int]
    private let sockets: [any Channel]
    private let receptions: [RTSPPlayClient.Reception]

    /// Binds `count` RTP ports on `host`; packets are measured from then on.
    public static func bind(count: Int, host: String = "127.0.0.1") async throws -> RTPListener {
        var sockets: [any Channel] = []
        var receptions: [RTSPPlayClient.Reception] = []
        for _ in 0..<count {
            let reception = RTSPPlayClient.Reception(file: nil, recordsLateness: true)
            sockets.append(try await RTSPPlayClient.bindReceiver(host: host, port: 0, reception: reception))
            receptions.append(reception)
        }
        return RTPListener(ports: sockets.map { $0.localAddress?.port ?? 0 }, sockets: sockets, receptions: receptions)
    }

    /// Receives on every port for `duration`, then closes them; one report per port.
    public func receive(for duration: Duration) async throws -> [PlayReport] {
        try await Task.sleep(for: duration)
        for socket in sockets { try? await socket.close() }
        return receptions.map { reception in
            reception.drain()
            let state = reception.state.withLock { $0 }
            let first = state.firstPacket ?? reception.clockStart
            let transfer = (state.lastPacket ?? first) - first
            return PlayReport(
                status: state.firstPacket == nil ? 0 : 200, engineURL: nil,
                startupMilliseconds: (first - reception.clockStart).milliseconds,
                transferMilliseconds: transfer.milliseconds, bytes: state.written,
                averageBitsPerSecond: transfer > .zero ? Double(state.written * 8) / transfer.seconds : 0,
                sha256: "", expectedSHA256: nil, errorMessage: state.firstPacket == nil ? "nothing arrived" : nil,
                packetsReceived: state.statistics.received, packetsLost: state.statistics.lost,
                jitterMilliseconds: Double(state.statistics.jitterTimestampUnits) / 90,
                latenessMicroseconds: state.latenessMicroseconds)
        }
    }
}
