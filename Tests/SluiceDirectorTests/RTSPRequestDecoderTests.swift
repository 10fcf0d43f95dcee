import NIOCore
import NIOEmbedded
@testable import SluiceDirector
import SluiceMedia
import Testing

/// The RTSP connection's decoder in an `EmbeddedChannel`: bytes in, requests or the closing
/// answer out, with the request timeout driven by the embedded loop's clock.
@Suite(.timeLimit(.minutes(1))) struct RTSPRequestDecoderTests {
    func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(RTSPRequestDecoder(requestTimeout: .seconds(10)))
        return channel
    }

    static let options = "OPTIONS rtsp://h/clip RTSP/1.0\r\nCSeq: 1\r\n\r\n"
    static let keepAlive = "GET_PARAMETER rtsp://h/clip RTSP/1.0\r\nCSeq: 2\r\nSession: abc\r\n\r\n"

    @Test(arguments: [1, 7, 1000])
    func requestsArriveWholeHoweverTheBytesAreCut(chunk: Int) throws {
        let channel = try channel()
        let bytes = Array((Self.options + Self.keepAlive).utf8)
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            try channel.writeInbound(ByteBuffer(bytes: bytes[start..<min(bytes.count, start + chunk)]))
        }
        guard case .request(let first)? = try channel.readInbound(as: RTSPInbound.self),
              case .request(let second)? = try channel.readInbound(as: RTSPInbound.self) else {
            Issue.record("two requests were not decoded")
            return
        }
        #expect(first.method == "OPTIONS" && first.cseq == "1")
        #expect(second.method == "GET_PARAMETER" && second.headers["Session"] == "abc")
        #expect(try channel.readInbound(as: RTSPInbound.self) == nil)
        #expect(try channel.finish().isClean)
    }

    @Test func aMalformedRequestIsAnsweredOnceAndNothingAfterIsRead() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: "OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n" + Self.options))
        #expect(try channel.readInbound(as: RTSPInbound.self) == .rejected(status: 505, reason: try #require(Self.parseError("OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n")).message))
        try channel.writeInbound(ByteBuffer(string: Self.options))
        #expect(try channel.readInbound(as: RTSPInbound.self) == nil)
        _ = try channel.finish()
    }

    @Test func aRequestStillIncompleteTenSecondsAfterItsFirstByteGets408() throws {
        let channel = try channel()
        let partial = Array(Self.options.utf8.prefix(11))
        for (second, byte) in partial.enumerated() {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(900))
            #expect(try channel.readInbound(as: RTSPInbound.self) == nil, "cut off after \(second) bytes")
        }
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))  // 10.9 s after the first byte
        guard case .rejected(408, _)? = try channel.readInbound(as: RTSPInbound.self) else {
            Issue.record("a trickled request was not cut off")
            return
        }
        _ = try channel.finish()
    }

    /// The async reader (NIOAsyncChannel) hands on what was read at a read-complete: a 408 from
    /// the timer, outside any read, must bring its own, or it waits for bytes that never come.
    @Test func aRequestThatStopsHalfWayGets408WithoutAnotherByte() throws {
        let channel = EmbeddedChannel()
        let completes = ReadCompleteCounter()
        try channel.pipeline.syncOperations.addHandler(RTSPRequestDecoder(requestTimeout: .seconds(10)))
        try channel.pipeline.syncOperations.addHandler(completes)
        try channel.writeInbound(ByteBuffer(string: "SET_PARAMETER rtsp://h/clip RTSP/1.0\r\nCSeq: 2\r\nContent-Length: 50\r\n\r\nabc"))
        let before = completes.count
        channel.embeddedEventLoop.advanceTime(by: .seconds(11))
        guard case .rejected(408, _)? = try channel.readInbound(as: RTSPInbound.self) else {
            Issue.record("a half-sent request was not cut off")
            return
        }
        #expect(completes.count == before + 1, "no read-complete followed the 408")
        _ = try channel.finish()
    }

    @Test func aCompleteRequestStopsTheClockAndTheNextStartsItAgain() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: String(Self.options.dropLast(4))))
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        try channel.writeInbound(ByteBuffer(string: "\r\n\r\n"))
        #expect(try channel.readInbound(as: RTSPInbound.self).map { if case .request = $0 { true } else { false } } == true)
        // Idle between requests is not a partial request.
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(try channel.readInbound(as: RTSPInbound.self) == nil)
        #expect(try channel.finish().isClean)
    }

    static func parseError(_ text: String) -> RTSPParseError? {
        var parser = RTSPRequestParser()
        parser.append(Array(text.utf8))
        do {
            _ = try parser.nextRequest()
            return nil
        } catch {
            return error
        }
    }
}

/// Counts read-completes and passes everything on.
final class ReadCompleteCounter: ChannelInboundHandler {
    typealias InboundIn = RTSPInbound
    typealias InboundOut = RTSPInbound
    private(set) var count = 0
    func channelReadComplete(context: ChannelHandlerContext) {
        count += 1
        context.fireChannelReadComplete()
    }
}
