import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOSSL
import NIOPosix
import SluiceCore
import SluiceMedia
import Synchronization

/// Plays an object over RTSP: DESCRIBE, SETUP (RTP over UDP), PLAY; receives RTP itself,
/// reorders it, writes the TS, sends receiver reports, and stops at the server's BYE.
public struct RTSPPlayClient: Sendable {
    /// Silence after which the stream is taken to be over (no BYE came).
    public var inactivityTimeout: Duration = .seconds(5)
    /// Stop (TEARDOWN) after this long even if the stream goes on.
    public var maxDuration: Duration?
    /// Keep each packet's lateness against its RTP schedule (for `sluice bench`).
    public var recordsLateness = false

    let tls: ClientTLS

    public init(tls: ClientTLS = ClientTLS()) { self.tls = tls }

    final class Reception: Sendable {
        struct State {
            var statistics = ReceptionStatistics()
            var hasher = SHA256()
            var written: Int64 = 0
            var firstPacket: ContinuousClock.Instant?
            var lastPacket: ContinuousClock.Instant?
            var goodbye = false
            var ssrc: UInt32?
            /// Arrival minus schedule (the RTP timestamp, anchored at the first packet), in
            /// microseconds, when `recordsLateness` is set.
            var latenessMicroseconds: [Int32] = []
            var firstTimestamp: Int64 = 0
            var timestampCycles: Int64 = 0
            var lastTimestamp: UInt32 = 0
        }
        let state = Mutex(State())
        let file: OutputFile?
        let recordsLateness: Bool
        let clockStart = ContinuousClock.now

        /// A benchmark (`recordsLateness` and no file) keeps neither payloads nor a checksum.
        init(file: OutputFile?, recordsLateness: Bool) {
            self.file = file
            self.recordsLateness = recordsLateness
            state.withLock { $0.statistics.keepsPayloads = file != nil || !recordsLateness }
        }

        func rtp(_ bytes: [UInt8]) {
            guard let packet = RTPPacket(parsing: bytes[...]), packet.payloadType == RTPPacket.mp2tPayloadType else { return }
            let now = ContinuousClock.now
            let arrival = Int64((now - clockStart).seconds * 90_000)
            let payloads = state.withLock { state -> [[UInt8]] in
                if state.ssrc == nil { state.ssrc = packet.ssrc }
                guard state.ssrc == packet.ssrc else { return [] }
                if recordsLateness {
                    if state.firstPacket == nil {
                        state.firstTimestamp = Int64(packet.timestamp)
                        state.lastTimestamp = packet.timestamp
                    }
                    if packet.timestamp < state.lastTimestamp && state.lastTimestamp - packet.timestamp > 1 << 31 { state.timestampCycles += 1 << 32 }
                    state.lastTimestamp = packet.timestamp
                    let scheduled = Double(state.timestampCycles + Int64(packet.timestamp) - state.firstTimestamp) / 90_000
                    let actual = ((now - (state.firstPacket ?? now)).seconds)
                    state.latenessMicroseconds.append(Int32(clamping: Int64((actual - scheduled) * 1_000_000)))
                }
                if state.firstPacket == nil { state.firstPacket = now }
                state.lastPacket = now
                let ready = state.statistics.receive(packet, arrival: arrival)
                for payload in ready {
                    state.hasher.update(data: payload)
                    state.written += Int64(payload.count)
                }
                return ready
            }
            for payload in payloads { try? file?.write(payload) }
        }

        func drain() {
            let payloads = state.withLock { state -> [[UInt8]] in
                let ready = state.statistics.drain()
                for payload in ready {
                    state.hasher.update(data: payload)
                    state.written += Int64(payload.count)
                }
                return ready
            }
            for payload in payloads { try? file?.write(payload) }
        }
    }

    public func play(url: String, apiKey: String?, output: OutputFile?, directorURL: String?) async throws -> PlayReport {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), scheme == "rtsp" || scheme == "rtsps",
              let host = components.host
        else {
            throw ClientError("'\(url)' is not an rtsp:// or rtsps:// URL")
        }
        try tls.checkKeyTransport(url: url, sendsKey: apiKey != nil)
        // The director is asked why the stream ended, with the same key.
        let keyInURL = components.queryItems?.contains { $0.name == "key" } ?? false
        if let directorURL { try tls.checkKeyTransport(url: directorURL, sendsKey: apiKey != nil || keyInURL) }
        let port = components.port ?? (scheme == "rtsps" ? 322 : 554)
        let tlsContext = try scheme == "rtsps" ? NIOSSLContext(configuration: tls.configuration()) : nil
        let object = components.path.split(separator: "/").first.map(String.init) ?? ""
        let reception = Reception(file: output, recordsLateness: recordsLateness)
        let (rtp, rtcp) = try await Self.bindPair(host: "0.0.0.0", reception: reception)
        // The RTCP channel must be run (and so closed) exactly once, also when the player gives
        // up before reading it (refused, unreachable).
        let rtcpRun = Mutex(false)
        func closeUnusedSockets() async {
            rtp.close(promise: nil)
            if !rtcpRun.withLock({ $0 }) { try? await rtcp.executeThenClose { _, _ in } }
        }
        let connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tlsContext {
                            // The name checked against the certificate: an IP address is checked as one.
                            let handler = try NIOSSLClientHandler(context: tlsContext, serverHostname: ClientTLS.isIPAddress(host) ? nil : host)
                            try channel.pipeline.syncOperations.addHandler(handler)
                        }
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            await closeUnusedSockets()
            throw ClientError.unreachable("the director's RTSP port", url: "\(scheme)://\(host):\(port)", error)
        }
        let clock = ContinuousClock()
        let start = clock.now
        var report: PlayReport
        do {
            report = try await connection.executeThenClose { inbound, outbound in
                var session = RTSPConversation(inbound: inbound.makeAsyncIterator(), outbound: outbound, apiKey: apiKey)
                let described = try await session.send("DESCRIBE", url, [("Accept", "application/sdp")])
                guard described.status == 200 else { return Self.refused(described, start: start) }
                let base = described.headers["Content-Base"] ?? (url.hasSuffix("/") ? url : url + "/")
                let sdp = String(decoding: described.body, as: UTF8.self)
                let control = sdp.split(whereSeparator: \.isNewline).last { $0.hasPrefix("a=control:") }.map { String($0.dropFirst(10)) } ?? "*"
                let trackURL = control.hasPrefix("rtsp://") ? control : control == "*" ? base : base + control
                let rtpPort = rtp.localAddress?.port ?? 0
                let setup = try await session.send("SETUP", trackURL, [("Transport", "RTP/AVP;unicast;client_port=\(rtpPort)-\(rtpPort + 1)")])
                guard setup.status == 200, let sessionHeader = setup.headers["Session"] else { return Self.refused(setup, start: start) }
                let sessionID = String(sessionHeader.split(separator: ";").first ?? "")
                let timeout = sessionHeader.split(separator: ";").compactMap { $0.hasPrefix("timeout=") ? Double($0.dropFirst(8)) : nil }.first ?? 60
                let profile = setup.headers["X-Sluice-Profile"]
                let transport = setup.headers["Transport"] ?? ""
                let source = Self.parameter("source", in: transport) ?? host
                let serverRTCPPort = Self.parameter("server_port", in: transport).flatMap { $0.split(separator: "-").last.flatMap { Int($0) } }
                let streamID = Self.parameter("ssrc", in: transport).flatMap { UInt32($0, radix: 16) }
                let played = try await session.send("PLAY", base, [("Session", sessionID), ("Range", "npt=0.000-")])
                guard played.status == 200 else { return Self.refused(played, start: start) }

                try await withThrowingTaskGroup(of: Void.self) { group in
                    rtcpRun.withLock { $0 = true }
                    group.addTask {
                        try await rtcp.executeThenClose { packets, _ in
                            for try await envelope in packets {
                                guard let parsed = RTCP.parse(Array(envelope.data.readableBytesView)[...]) else { continue }
                                if !parsed.goodbyes.isEmpty { reception.state.withLock { $0.goodbye = true } }
                            }
                        }
                    }
                    var lastReport = clock.now
                    var lastKeepAlive = clock.now
                    while true {
                        try await Task.sleep(for: .milliseconds(100))
                        let (goodbye, last, ssrc, statistics) = reception.state.withLock { ($0.goodbye, $0.lastPacket, $0.ssrc, $0.statistics) }
                        if goodbye { break }
                        if let maxDuration, clock.now - start > maxDuration { break }
                        let silentSince = last ?? start
                        if clock.now - silentSince > (last == nil ? inactivityTimeout * 2 : inactivityTimeout) { break }
                        if clock.now - lastReport >= .seconds(2), let ssrc, let serverRTCPPort,
                           let address = try? SocketAddress(ipAddress: source, port: serverRTCPPort) {
                            lastReport = clock.now
                            let block = RTCP.ReportBlock(
                                ssrc: ssrc, fractionLost: 0, cumulativeLost: Int32(clamping: statistics.lost),
                                highestSequence: UInt32(truncatingIfNeeded: statistics.highestSequence),
                                jitter: UInt32(clamping: statistics.jitterTimestampUnits))
                            let bytes = RTCP.receiverReport(ssrc: 0x5_1ce, blocks: [block])
                            rtcp.channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: ByteBuffer(bytes: bytes)), promise: nil)
                        }
                        if clock.now - lastKeepAlive >= .seconds(timeout / 2) {
                            lastKeepAlive = clock.now
                            _ = try? await session.send("GET_PARAMETER", base, [("Session", sessionID)])
                        }
                    }
                    group.cancelAll()
                    rtp.close(promise: nil)
                    rtcp.channel.close(promise: nil)
                }
                let tornDown = try? await session.send("TEARDOWN", base, [("Session", sessionID)])
                reception.drain()
                let state = reception.state.withLock { $0 }
                let first = state.firstPacket ?? clock.now
                let transfer = (state.lastPacket ?? first) - first
                var report = PlayReport(
                    status: 200, engineURL: source, startupMilliseconds: (first - start).seconds * 1000,
                    transferMilliseconds: transfer.seconds * 1000, bytes: state.written,
                    averageBitsPerSecond: transfer > .zero ? Double(state.written * 8) / transfer.seconds : 0,
                    sha256: state.hasher.finalize().hexEncoded, expectedSHA256: nil,
                    errorMessage: nil, packetsReceived: state.statistics.received, packetsLost: state.statistics.lost,
                    jitterMilliseconds: Double(state.statistics.jitterTimestampUnits) / 90,
                    latenessMicroseconds: recordsLateness ? state.latenessMicroseconds : nil)
                report.profile = profile
                report.streamID = streamID
                report.goodbyeSeen = state.goodbye && tornDown?.status == 200
                return report
            }
        } catch {
            await closeUnusedSockets()
            // A failed handshake shows at the first request: said in words, as for HTTP.
            if let cause = ClientError.tlsCause(of: error) {
                throw ClientError("cannot reach the director's RTSPS port at \(host):\(port): \(cause)")
            }
            throw error
        }
        await closeUnusedSockets()
        if report.errorMessage == nil {
            let director = directorURL ?? "\(scheme == "rtsps" ? "https" : "http")://\(host):8080"
            let client = try tls.makeHTTPClient()
            // The key may have come in the rtsp:// URL's query.
            let key = apiKey ?? components.queryItems?.first { $0.name == "key" }?.value
            // The director's usage record says why the stream stopped. A BYE at the end and a
            // session still there at our TEARDOWN mean it played to the end, unless the record
            // says otherwise (an operator's teardown also ends with a BYE).
            let ended = report.goodbyeSeen
            if let streamID = report.streamID,
               let reason = await StreamOutcome.endReason(
                   directorURL: director, streamID: streamID, apiKey: key, client: client, patience: ended ? .seconds(2) : .seconds(10)) {
                let ending = PlayEnding(reason: reason)
                // Our own TEARDOWN after a silence is a player stop, not a completed play.
                report.ending = ending == .completed && !ended ? .cutOff : ending
            } else {
                report.ending = ended ? .completed : .cutOff
            }
            if report.ending == .completed {
                report.expectedSHA256 = await PlayClient.expectedChecksum(object: object, directorURL: director, apiKey: key, client: client)
            }
            try? await client.shutdown()
        } else {
            report.ending = .refused
        }
        return report
    }

    static func refused(_ response: RTSPResponse, start: ContinuousClock.Instant) -> PlayReport {
        let reason = response.headers["X-Sluice-Reason"].map { ": \($0)" } ?? ""
        return PlayReport(
            status: response.status, engineURL: nil, startupMilliseconds: (ContinuousClock.now - start).seconds * 1000,
            transferMilliseconds: 0, bytes: 0, averageBitsPerSecond: 0, sha256: "", expectedSHA256: nil,
            errorMessage: "RTSP \(response.status) \(response.reason)\(reason)")
    }

    static func parameter(_ name: String, in header: String) -> String? {
        header.split(separator: ";").first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
    }

    typealias Datagrams = NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>

    /// An RTP socket on an even port, read on its event loop straight into `reception`, and
    /// its RTCP socket on the next port.
    static func bindPair(host: String, reception: Reception) async throws -> (any Channel, Datagrams) {
        for _ in 0..<20 {
            let rtp = try await bindReceiver(host: host, port: 0, reception: reception)
            let port = rtp.localAddress?.port ?? 0
            if port % 2 == 0, port < 65535,
               let rtcp = try? await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: host, port: port + 1, channelInitializer: { channel in
                    channel.eventLoop.makeCompletedFuture { try Datagrams(wrappingChannelSynchronously: channel) }
                }) {
                return (rtp, rtcp)
            }
            try? await rtp.close()
        }
        throw ClientError("could not bind a pair of UDP ports for RTP and RTCP")
    }

    /// A UDP socket whose datagrams go to `reception` on the event loop, a few per `recvmmsg`.
    static func bindReceiver(host: String, port: Int, reception: Reception) async throws -> any Channel {
        try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socket(SocketOptionLevel(SOL_SOCKET), SocketOptionName(SO_RCVBUF)), value: 4 << 20)
            // recvmmsg of up to 16 datagrams: the read buffer is shared between them, so it
            // must hold 16 whole ones (NIO's default 2 KiB would cut each to 128 bytes).
            .channelOption(.datagramVectorReadMessageCount, value: 16)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 16 * 2048))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(RTPReceiveHandler(reception: reception)) }
            }
            .bind(host: host, port: port).get()
    }
}

/// Hands every datagram to a `Reception` as it is read: no task, no async sequence per packet.
final class RTPReceiveHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let reception: RTSPPlayClient.Reception

    init(reception: RTSPPlayClient.Reception) { self.reception = reception }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reception.rtp(Array(unwrapInboundIn(data).data.readableBytesView))
    }
}

/// Request/response over one RTSP connection, with CSeq and the client's credentials.
struct RTSPConversation {
    var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let apiKey: String?
    var parser = RTSPResponseParser()
    var cseq = 0

    mutating func send(_ method: String, _ url: String, _ extra: [(String, String)]) async throws -> RTSPResponse {
        cseq += 1
        var headers = RTSPHeaders([("CSeq", "\(cseq)"), ("User-Agent", "sluice-play")])
        if let apiKey { headers.add("Authorization", "Bearer \(apiKey)") }
        for (name, value) in extra { headers.add(name, value) }
        try await outbound.write(ByteBuffer(bytes: RTSPRequest(method: method, uri: url, headers: headers).serialized()))
        while true {
            if let response = try parser.nextResponse() { return response }
            guard let buffer = try await inbound.next() else { throw ClientError("the RTSP server closed the connection") }
            parser.append(buffer.readableBytesView)
        }
    }
}
