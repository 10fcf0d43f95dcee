import Logging
import NIOCore
import NIOPosix
import SluiceMedia

#if canImport(Glibc)
import Glibc
#endif

/// The engine's one RTP socket and one RTCP socket, shared by every stream it sends.
final class RTPSockets: Sendable {
    let rtp: any Channel
    let rtcp: any Channel
    /// Paces every stream's packets onto `rtp` from one timer.
    let pacer: RTPPacer
    /// Where the send loops run: the RTP socket's event loop (see `EventLoopTaskExecutor`).
    let executor: EventLoopTaskExecutor
    /// Where the send paths count and time what they send.
    let metrics: EngineMetrics

    /// Bound once; kept so a closed channel never makes the engine advertise port 0.
    let rtpPort: Int
    let rtcpPort: Int

    /// Whether `address` is one of these two sockets (a session must not send to itself).
    func isOwnAddress(_ address: SocketAddress) -> Bool {
        guard address.port == rtpPort || address.port == rtcpPort, let ip = address.ipAddress else { return false }
        let bound = rtp.localAddress?.ipAddress
        return bound == ip || bound == "0.0.0.0" || bound == "::" || ip.hasPrefix("127.") || ip == "::1"
    }

    /// The one thread the RTP and RTCP sockets, the pacer and every send loop run on: no other
    /// channel of the engine (its HTTP API, its director client) shares it.
    private let group: MultiThreadedEventLoopGroup

    private init(group: MultiThreadedEventLoopGroup, rtp: any Channel, rtcp: any Channel, burst: RTPBurst?, metrics: EngineMetrics) {
        self.group = group
        self.rtp = rtp
        self.rtcp = rtcp
        self.metrics = metrics
        rtpPort = rtp.localAddress?.port ?? 0
        rtcpPort = rtcp.localAddress?.port ?? 0
        pacer = RTPPacer(channel: rtp, burst: burst, metrics: metrics)
        executor = EventLoopTaskExecutor(rtp.eventLoop)
    }

    /// Binds both sockets on `host` (port 0: any free pair). `dscp` marks media packets
    /// (34 = AF41); receiver reports arriving on the RTCP socket go to `sessions`. Where the
    /// kernel offers `UDP_SEGMENT`, each stream's datagrams due within `burstWindow` of each
    /// other leave in one send.
    static func bind(host: String, rtpPort: Int, dscp: Int, burstWindow: Duration, sessions: RTPSessionTable, metrics: EngineMetrics, logger: Logger) async throws -> RTPSockets {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let raised = try await group.next().submit { Self.raisePriority() }.get()
        if !raised { logger.info("the RTP thread runs at normal priority (raising it needs CAP_SYS_NICE)") }
        let burst = burstWindow > .zero && System.supportsUDPSegmentationOffload
            ? RTPBurst(window: burstWindow, maxSegments: 16) : nil
        var bootstrap = DatagramBootstrap(group: group)
        if burst != nil { bootstrap = bootstrap.channelOption(.datagramSegmentSize, value: CInt(RTPBurst.segmentBytes)) }
        let rtp = try await bootstrap
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socket(SocketOptionLevel(IPPROTO_IP), SocketOptionName(IP_TOS)), value: SocketOptionValue(dscp << 2))
            .channelOption(.socket(SocketOptionLevel(SOL_SOCKET), SocketOptionName(SO_SNDBUF)), value: 4 << 20)
            .channelInitializer { channel in
                // Players send NAT punch packets here; they carry nothing Sluice needs.
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(DiscardingHandler()) }
            }
            .bind(host: host, port: rtpPort).get()
        let rtcp: any Channel
        do {
            rtcp = try await DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(RTCPReceiver(sessions: sessions, logger: logger))
                    }
                }
                .bind(host: host, port: rtpPort == 0 ? 0 : rtpPort + 1).get()
        } catch {
            try? await rtp.close()
            try? await group.shutdownGracefully()
            throw error
        }
        return RTPSockets(group: group, rtp: rtp, rtcp: rtcp, burst: burst, metrics: metrics)
    }

    /// Gives the calling thread a nice value of -10 (who 0: on Linux the nice value is per
    /// thread), so the engine's other threads (HTTP API, disk reads) never hold the pacer's tick
    /// back for a scheduler slice. False when the process may not (no CAP_SYS_NICE): it then
    /// competes as an equal.
    static func raisePriority() -> Bool {
        setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, -10) == 0
    }

    func close() async {
        pacer.stop()
        try? await rtp.close()
        try? await rtcp.close()
        try? await group.shutdownGracefully()
    }
}

/// Drops whatever arrives on the RTP socket.
final class DiscardingHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

/// Parses receiver reports (bounded, never trusting lengths) and hands them to the sessions.
final class RTCPReceiver: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let sessions: RTPSessionTable
    let logger: Logger

    init(sessions: RTPSessionTable, logger: Logger) {
        self.sessions = sessions
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.data.readableBytes <= 1500, let bytes = envelope.data.getBytes(at: envelope.data.readerIndex, length: envelope.data.readableBytes),
              let parsed = RTCP.parse(bytes[...]) else { return }
        for block in parsed.reports { sessions.receiverReport(block, from: envelope.remoteAddress) }
    }
}
