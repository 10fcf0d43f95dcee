/// An RTP data packet (RFC 3550 §5.1), without CSRCs or header extensions.
public struct RTPPacket: Hashable, Sendable {
    public static let headerSize = 12
    /// MPEG-TS over RTP (RFC 3551 static payload type).
    public static let mp2tPayloadType: UInt8 = 33
    /// Seven TS packets per RTP packet (RFC 2250 §2): 1316 bytes, fits any Ethernet MTU.
    public static let tsPacketsPerRTPPacket = 7

    public var payloadType: UInt8
    public var marker: Bool
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32
    public var payload: ArraySlice<UInt8>

    public init(payloadType: UInt8 = mp2tPayloadType, marker: Bool = false, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32, payload: ArraySlice<UInt8>) {
        self.payloadType = payloadType
        self.marker = marker
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.payload = payload
    }

    /// The fixed header (RFC 3550 §5.1: version 2, no padding, extension or CSRCs) as three
    /// 32-bit words, written big-endian in this order. The one place its layout is spelled out:
    /// the engine's send loop writes these words straight into its datagram buffers.
    public static func headerWords(
        payloadType: UInt8 = mp2tPayloadType, marker: Bool = false, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32
    ) -> (UInt32, UInt32, UInt32) {
        let first = UInt32(0x80) << 24 | UInt32((marker ? 0x80 : 0) | (payloadType & 0x7f)) << 16 | UInt32(sequenceNumber)
        return (first, timestamp, ssrc)
    }

    /// Writes the 12-byte header then the payload.
    public func serialize(into out: inout [UInt8]) {
        let words = Self.headerWords(payloadType: payloadType, marker: marker, sequenceNumber: sequenceNumber, timestamp: timestamp, ssrc: ssrc)
        out.appendBigEndian(words.0)
        out.appendBigEndian(words.1)
        out.appendBigEndian(words.2)
        out.append(contentsOf: payload)
    }

    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.headerSize + payload.count)
        serialize(into: &out)
        return out
    }

    /// Parses a datagram; skips CSRCs, an extension and padding. Nil for anything malformed.
    public init?(parsing bytes: ArraySlice<UInt8>) {
        guard bytes.count >= Self.headerSize else { return nil }
        let b = bytes.startIndex
        guard bytes[b] >> 6 == 2 else { return nil }
        let hasPadding = bytes[b] & 0x20 != 0
        let hasExtension = bytes[b] & 0x10 != 0
        let csrcCount = Int(bytes[b] & 0x0f)
        marker = bytes[b + 1] & 0x80 != 0
        payloadType = bytes[b + 1] & 0x7f
        sequenceNumber = bytes.readBigEndian(at: b + 2)
        timestamp = bytes.readBigEndian(at: b + 4)
        ssrc = bytes.readBigEndian(at: b + 8)
        var offset = b + Self.headerSize + 4 * csrcCount
        if hasExtension {
            guard bytes.endIndex - offset >= 4 else { return nil }
            let words: UInt16 = bytes.readBigEndian(at: offset + 2)
            offset += 4 + 4 * Int(words)
        }
        var end = bytes.endIndex
        if hasPadding {
            guard end > offset else { return nil }
            end -= Int(bytes[end - 1])
        }
        guard offset <= end, end <= bytes.endIndex else { return nil }
        payload = bytes[offset..<end]
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        var big = value.bigEndian
        Swift.withUnsafeBytes(of: &big) { append(contentsOf: $0) }
    }
}

extension ArraySlice where Element == UInt8 {
    func readBigEndian<T: FixedWidthInteger>(at index: Int) -> T {
        var value: T = 0
        for offset in 0..<MemoryLayout<T>.size { value = value << 8 | T(self[index + offset]) }
        return value
    }
}
