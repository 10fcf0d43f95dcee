import SluiceMedia
import Testing

@Suite(.timeLimit(.minutes(1))) struct RTSPParserTests {
    func parseAll(_ text: String, chunk: Int = 1_000_000) throws -> [RTSPRequest] {
        var parser = RTSPRequestParser()
        var requests: [RTSPRequest] = []
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let end = min(bytes.count, index + chunk)
            parser.append(bytes[index..<end])
            while let request = try parser.nextRequest() { requests.append(request) }
            index = end
        }
        return requests
    }

    /// One table drives parse and serialise: each request survives a round trip byte for byte.
    static let wellFormed: [RTSPRequest] = [
        RTSPRequest(method: "OPTIONS", uri: "rtsp://h:8554/movie", headers: RTSPHeaders([("CSeq", "1"), ("User-Agent", "Lavf59.27.100")])),
        RTSPRequest(method: "DESCRIBE", uri: "rtsp://h/movie?key=k", headers: RTSPHeaders([("CSeq", "2"), ("Accept", "application/sdp")])),
        RTSPRequest(method: "SETUP", uri: "rtsp://h/movie/track0", headers: RTSPHeaders([("CSeq", "3"), ("Transport", "RTP/AVP/UDP;unicast;client_port=5000-5001")])),
        RTSPRequest(method: "PLAY", uri: "rtsp://h/movie/", headers: RTSPHeaders([("CSeq", "4"), ("Session", "abc"), ("Range", "npt=5.000-")])),
        RTSPRequest(method: "SET_PARAMETER", uri: "rtsp://h/movie/", headers: RTSPHeaders([("CSeq", "5"), ("Content-Type", "text/parameters"), ("Content-Length", "9")]), body: Array("a: b\r\nc\r\n".utf8)),
    ]

    @Test(arguments: [1, 7, 1000])
    func roundTripsPipelinedRequestsInAnyChunking(chunk: Int) throws {
        let wire = Self.wellFormed.map { String(decoding: $0.serialized(), as: UTF8.self) }.joined()
        let parsed = try parseAll(wire, chunk: chunk)
        #expect(parsed == Self.wellFormed)
        #expect(parsed.map(\.cseq) == ["1", "2", "3", "4", "5"])
    }

    @Test func toleratesBareLineFeedsAndSkipsInterleavedFrames() throws {
        let text = "$\u{0}\u{0}\u{3}abcOPTIONS * RTSP/1.0\nCSeq: 9\n\n"
        let parsed = try parseAll(text)
        #expect(parsed.count == 1)
        #expect(parsed.first?.headers["cseq"] == "9")
    }

    @Test(arguments: [
        ("GARBAGE\r\n\r\n", 400), ("\u{1}\u{2}\u{3} \u{ff} x\r\n\r\n", 400), ("OPTIONS * HTTP/1.1\r\nCSeq: 1\r\n\r\n", 400),
        ("OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n", 505), ("OPTIONS * RTSP/1.0\r\n\r\n", 400),
        ("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: -5\r\n\r\n", 400),
        ("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 99999999999\r\n\r\n", 400),
        ("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 70000\r\n\r\n", 413),
        ("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nno colon here\r\n\r\n", 400),
        ("options * RTSP/1.0\r\nCSeq: 1\r\n\r\n", 400),
    ] as [(String, Int)])
    func rejectsMalformedRequestsWithTheRightStatus(text: String, status: Int) {
        #expect { try parseAll(text) } throws: { ($0 as? RTSPParseError)?.status == status }
    }

    @Test func boundsTheURITheHeadAndTheHeaderCount() {
        let longURI = "DESCRIBE rtsp://h/" + String(repeating: "a", count: 3000) + " RTSP/1.0\r\nCSeq: 1\r\n\r\n"
        #expect { try parseAll(longURI) } throws: { ($0 as? RTSPParseError)?.status == 414 }
        let noEnd = "DESCRIBE rtsp://h/" + String(repeating: "a", count: 5000)
        #expect { try parseAll(noEnd) } throws: { ($0 as? RTSPParseError)?.status == 414 }
        let bigHead = "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX-Big: " + String(repeating: "b", count: 20_000) + "\r\n\r\n"
        #expect { try parseAll(bigHead) } throws: { ($0 as? RTSPParseError)?.status == 431 }
        let many = "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n" + (0..<100).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        #expect { try parseAll(many) } throws: { ($0 as? RTSPParseError)?.status == 431 }
    }

    @Test func headerFieldsAreFoundIgnoringCaseWithTheirValuesTrimmed() throws {
        let request = try #require(try parseAll("PLAY rtsp://h/m RTSP/1.0\r\ncseq: 3\r\nSESSION:\t 7f3a9c0d1e2b4a68 ; timeout=60 \t\r\nX-Empty:\r\n\r\n").first)
        #expect(request.cseq == "3")
        #expect(request.headers["Session"] == "7f3a9c0d1e2b4a68 ; timeout=60")
        #expect(request.headers["session"] == request.headers["SESSION"])
        #expect(request.headers["X-Empty"] == "")
        #expect(request.headers["Sessio"] == nil && request.headers["Session2"] == nil)
        #expect(request.headers.map(\.name) == ["cseq", "SESSION", "X-Empty"])
        var headers = request.headers
        headers.set("Session", "other")
        #expect(headers.map(\.name) == ["cseq", "X-Empty", "Session"])
        #expect(headers["SESSION"] == "other")
        #expect(headers != request.headers)
        #expect(RTSPHeaders([("A", "1"), ("B", "2")]) == RTSPHeaders([("A", "1"), ("B", "2")]))
        #expect(RTSPHeaders([("A", "1"), ("B", "2")]) != RTSPHeaders([("B", "2"), ("A", "1")]))
    }

    @Test func waitsForTheWholeBody() throws {
        var parser = RTSPRequestParser()
        parser.append(Array("SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 4\r\n\r\nab".utf8))
        #expect(try parser.nextRequest() == nil)
        parser.append(Array("cd".utf8))
        #expect(try parser.nextRequest()?.body == Array("abcd".utf8))
        #expect(parser.pendingByteCount == 0)
    }

    @Test func neverCrashesOnRandomBytes() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var parser = RTSPRequestParser()
            let length = Int.random(in: 0...3000, using: &generator)
            parser.append((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
            _ = try? parser.nextRequest()
        }
    }

    @Test func responsesSerialiseWithStatusReasonAndLength() {
        let response = RTSPResponse(status: 453, headers: RTSPHeaders([("CSeq", "3")]), body: Array("x".utf8))
        #expect(String(decoding: response.serialized(), as: UTF8.self) == "RTSP/1.0 453 Not Enough Bandwidth\r\nCSeq: 3\r\nContent-Length: 1\r\n\r\nx")
    }

    @Test func parsesTransportsAndRanges() {
        let offers = RTSPTransport.parse("RTP/AVP/TCP;unicast;interleaved=0-1, RTP/AVP/UDP;unicast;client_port=5000-5001")
        #expect(offers.count == 2)
        #expect(!offers[0].isUDP)
        #expect(offers[1].isUDP && offers[1].clientRTPPort == 5000 && offers[1].clientRTCPPort == 5001)
        #expect(RTSPTransport.parse("RTP/AVP;unicast;client_port=7000").first?.clientRTCPPort == 7001)
        #expect(NormalPlayTime.start("npt=5.5-") == 5.5)
        #expect(NormalPlayTime.start("npt=now-") == nil)
        #expect(NormalPlayTime.start("npt=00:01:02.5-") == 62.5)
        #expect(NormalPlayTime.start("clock=19961108T142300Z-") == nil)
        #expect(NormalPlayTime.start("npt=-3-") == nil)
        // Found by reading the parsers for the fuzz targets: these used to trap the director
        // (an empty Transport parameter indexed an empty split; an infinite start time was
        // turned into integer milliseconds).
        #expect(RTSPTransport.parse("RTP/AVP; ;client_port=6000-6001").first?.clientRTPPort == 6000)
        #expect(RTSPTransport.parse(";;;,,; =;").count <= 8)
        #expect(NormalPlayTime.start("npt=1e308:0:0-") == nil)
        #expect(NormalPlayTime.start("npt=-1:00:00-") == nil)
        #expect(NormalPlayTime.start("npt=inf-") == nil)
        #expect(NormalPlayTime.start("npt=nan-") == nil)
        #expect(NormalPlayTime.start("npt=99999999999-") == nil)
    }

    @Test func sdpDescribesMP2TOverRTP() {
        let sdp = SDPWriter.mpegTransportStream(sessionID: 1, originAddress: "127.0.0.1", name: "movie", durationSeconds: 12.5)
        #expect(sdp.contains("m=video 0 RTP/AVP 33\r\n"))
        #expect(sdp.contains("a=rtpmap:33 MP2T/90000\r\n"))
        #expect(sdp.contains("a=range:npt=0-12.500\r\n"))
        #expect(sdp.contains("a=control:track0\r\n"))
    }
}

@Suite(.timeLimit(.minutes(1))) struct RTPTests {
    @Test func rtpPacketsRoundTrip() throws {
        let packet = RTPPacket(sequenceNumber: 65535, timestamp: 0xdead_beef, ssrc: 0x0102_0304, payload: Array(repeating: 0x47, count: 1316)[...])
        let bytes = packet.serialized()
        #expect(bytes.count == 1328)
        #expect(bytes[0] == 0x80 && bytes[1] == 33)
        let parsed = try #require(RTPPacket(parsing: bytes[...]))
        #expect(parsed == packet)
        #expect(RTPPacket(parsing: bytes[..<11]) == nil)
        var bad = bytes
        bad[0] = 0x40  // version 1
        #expect(RTPPacket(parsing: bad[...]) == nil)
    }

    @Test func rtcpCompoundsAndReceiverReportsRoundTrip() throws {
        let sender = RTCP.SenderInfo(ntpTimestamp: 0x0102_0304_0506_0708, rtpTimestamp: 90_000, packetCount: 10, octetCount: 13_160)
        let compound = RTCP.compound(ssrc: 42, sender: sender, cname: "sluice-engine-a", goodbye: true)
        #expect(compound.count >= 12 && compound.count % 4 == 0)
        let parsed = try #require(RTCP.parse(compound[...]))
        #expect(parsed.senderReports[42] == sender)
        #expect(parsed.goodbyes == [42])

        let block = RTCP.ReportBlock(ssrc: 42, fractionLost: 64, cumulativeLost: -3, highestSequence: 70_000, jitter: 900)
        let report = RTCP.receiverReport(ssrc: 7, blocks: [block])
        #expect(RTCP.parse(report[...])?.reports == [block])
    }

    @Test func rtcpParserIsBoundedAgainstLies() {
        // A report claiming 31 blocks in a 12-byte packet, and a length past the end.
        #expect(RTCP.parse([0x9f, 201, 0, 2, 0, 0, 0, 7, 0, 0, 0, 0][...])?.reports.isEmpty == true)
        #expect(RTCP.parse([0x80, 201, 0xff, 0xff, 0, 0, 0, 7][...]) == nil)
        #expect(RTCP.parse([0x80, 99, 0, 1, 0, 0, 0, 7][...]) == nil)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let bytes = (0..<Int.random(in: 0...200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = RTCP.parse(bytes[...])
            _ = RTPPacket(parsing: bytes[...])
        }
    }

    @Test func packetizationReassemblesToIdenticalBytesWithSevenTSPacketsEach() {
        let stream = SyntheticTransportStream.make(durationMilliseconds: 3_000, bitsPerSecond: 2_000_000)
        var packetizer = MP2TPacketizer(pcrPID: nil, maxBitsPerSecond: 2_100_000)
        var reassembled: [UInt8] = []
        var dues: [Duration] = []
        var offset = 0
        while offset < stream.count {  // in odd-sized reads, as the engine reads
            let end = min(stream.count, offset + 188 * 50)
            for packet in packetizer.packets(in: stream[offset..<end]) {
                #expect(packet.range.count <= 1316 && packet.range.count % 188 == 0)
                let payload = Array(stream[offset..<end])[packet.range]
                let rtp = RTPPacket(sequenceNumber: 0, timestamp: 0, ssrc: 1, payload: payload).serialized()
                reassembled += RTPPacket(parsing: rtp[...])?.payload ?? []
                dues.append(packet.due)
            }
            offset = end
        }
        #expect(reassembled == stream)
        #expect(zip(dues, dues.dropFirst()).allSatisfy { $0 <= $1 })
        // Paced by PCR: the last packet is due about when the stream's 3 s have played.
        let last = dues.last ?? .zero
        #expect(last > .milliseconds(2_800) && last < .milliseconds(3_100))
    }

    @Test func neverFasterThanTheReservedRate() {
        // A stream whose PCRs say "all at once" (a burst): spacing falls back to the rate.
        let stream = SyntheticTransportStream.make(durationMilliseconds: 1_000, bitsPerSecond: 8_000_000)
        var packetizer = MP2TPacketizer(pcrPID: nil, maxBitsPerSecond: 1_000_000)
        let packets = packetizer.packets(in: stream[...])
        let bits = Double(stream.count * 8)
        let lastDue = packets.last?.due ?? .zero
        #expect(lastDue.seconds >= (bits - 1316 * 8) / 1_000_000 * 0.99)
    }
}

@Suite(.timeLimit(.minutes(1))) struct ClientPortTests {
    @Test func acceptsOnlyAnRTPAndRTCPPairAboveTheSystemPorts() {
        #expect(RTSPTransport.parse("RTP/AVP;unicast;client_port=5000-5001").first?.clientRTPPort == 5000)
        #expect(RTSPTransport.parse("RTP/AVP;unicast;client_port=5000").first?.clientRTCPPort == 5001)
        for bad in ["65535-65536", "5000-0", "-1--2", "5000-4000", "0-1", "1-2", "53-54", "65535", "5000-5002", "5000-", "+5000-5001",
                    "5000-5001-5002", "0x1388-5001", "99999-100000", "05000-05001x"] {
            let offer = RTSPTransport.parse("RTP/AVP;unicast;client_port=\(bad)").first
            #expect(offer?.clientRTPPort == nil && offer?.clientPortProblem != nil, "client_port=\(bad) was accepted")
        }
    }

    @Test func anyValidPairRoundTrips() {
        for rtp in stride(from: 1024, through: 65534, by: 997) {
            guard case .success(let ports) = ClientPorts.parse("\(rtp)-\(rtp + 1)") else {
                Issue.record("\(rtp) refused")
                continue
            }
            #expect(Int(ports.rtp) == rtp && Int(ports.rtcp) == rtp + 1)
        }
    }
}
