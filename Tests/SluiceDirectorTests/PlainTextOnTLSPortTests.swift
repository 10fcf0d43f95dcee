import NIOCore
import NIOEmbedded
@testable import SluiceListeners
import Testing

/// The first byte of a TLS connection decides: a letter is a plain request (answered in words
/// and closed), anything else goes on to the TLS handler untouched.
@Suite struct PlainTextOnTLSPortTests {
    @Test func aPlainRequestIsToldTheSchemeAndTheOutputClosed() throws {
        for (scheme, request, status) in [("https", "GET /play/x HTTP/1.1\r\n", "HTTP/1.1 400"), ("rtsps", "OPTIONS * RTSP/1.0\r\n", "RTSP/1.0 400")] {
            let channel = EmbeddedChannel(handler: PlainTextOnTLSPort(scheme: scheme))
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            try channel.writeInbound(ByteBuffer(string: request))
            let reply = try #require(try channel.readOutbound(as: ByteBuffer.self))
            let text = String(buffer: reply)
            #expect(text.hasPrefix(status), "\(text)")
            #expect(text.contains("use \(scheme)://"), "\(text)")
            #expect(text.contains("Connection: close"))
            // Nothing reached the handlers behind it.
            #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
            _ = try? channel.finish()
        }
    }

    @Test func aTLSRecordOrGarbagePassesOnUntouchedAndTheHandlerLeaves() throws {
        for first: [UInt8] in [[0x16, 0x03, 0x01, 0x00, 0x05], [0x00, 0xFF], [0x80, 0x2E, 0x01]] {
            let channel = EmbeddedChannel(handler: PlainTextOnTLSPort(scheme: "https"))
            try channel.writeInbound(ByteBuffer(bytes: first))
            #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: first))
            #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
            // Gone from the pipeline: later bytes, letters too, pass straight on.
            try channel.writeInbound(ByteBuffer(string: "GET"))
            #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "GET"))
            #expect(try channel.finish().isClean)
        }
    }
}
