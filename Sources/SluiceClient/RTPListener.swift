import Foundation
import NIOCore
import NIOPosix

/// Receives plain RTP/MP2T streams that something else sends to local ports (ffmpeg's
/// `rtp_mpegts`, GStreamer's `rtpmp2tpay ! udpsink`), measuring each one the way
/// `RTSPPlayClient` measures a Sluice stream: loss from sequence numbers, and each packet's
/// lateness against its RTP timestamp anchored at the stream's first packet.
public struct RTPListener: Sendable {
    public let ports: [Int]
    private let sockets: [RTSPPlayClient.Datagrams]

    /// Binds `count` RTP ports on 127.0.0.1.
    public static func bind(count: Int) async throws -> RTPListener {
        var sockets: [RTSPPlayClient.Datagrams] = []
        for _ in 0..<count {
            sockets.append(try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.socket(SocketOptionLevel(SOL_SOCKET), SocketOptionName(SO_RCVBUF)), value: 4 << 20)
                .bind(host: "127.0.0.1", port: 0) { channel in
                    channel.eventLoop.makeCompletedFuture { try RTSPPlayClient.Datagrams(wrappingChannelSynchronously: channel) }
                })
        }
        return RTPListener(ports: sockets.map { $0.channel.localAddress?.port ?? 0 }, sockets: sockets)
    }

    /// Receives on every port for `duration`, then closes them; one report per port.
    public func receive(for duration: Duration) async throws -> [PlayReport] {
        try await withThrowingTaskGroup(of: PlayReport.self) { group in
            for socket in sockets {
                group.addTask {
                    let reception = RTSPPlayClient.Reception(file: nil, recordsLateness: true)
                    let receiving = Task {
                        try await socket.executeThenClose { packets, _ in
                            for try await envelope in packets { reception.rtp(Array(envelope.data.readableBytesView)) }
                        }
                    }
                    try? await Task.sleep(for: duration)
                    socket.channel.close(promise: nil)
                    _ = await receiving.result
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
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }
}
