/// RTCP packets Sluice sends and reads (RFC 3550 §6): sender reports, receiver reports,
/// source descriptions and goodbyes, always sent as compound packets starting with SR or RR.
public enum RTCP {
    public static let senderReport: UInt8 = 200
    public static let receiverReport: UInt8 = 201
    public static let sourceDescription: UInt8 = 202
    public static let goodbye: UInt8 = 203

    /// One reception report block about a source (RFC 3550 §6.4.1).
    public struct ReportBlock: Hashable, Sendable {
        public var ssrc: UInt32
        /// Fraction of packets lost since the last report, in 1/256 units.
        public var fractionLost: UInt8
        public var cumulativeLost: Int32
        public var highestSequence: UInt32
        /// Interarrival jitter in timestamp units (1/90000 s for MP2T).
        public var jitter: UInt32
        public var lastSenderReport: UInt32
        public var delaySinceLastSenderReport: UInt32

        public init(ssrc: UInt32, fractionLost: UInt8, cumulativeLost: Int32, highestSequence: UInt32, jitter: UInt32, lastSenderReport: UInt32 = 0, delaySinceLastSenderReport: UInt32 = 0) {
            self.ssrc = ssrc
            self.fractionLost = fractionLost
            self.cumulativeLost = cumulativeLost
            self.highestSequence = highestSequence
            self.jitter = jitter
            self.lastSenderReport = lastSenderReport
            self.delaySinceLastSenderReport = delaySinceLastSenderReport
        }
    }

    public struct SenderInfo: Hashable, Sendable {
        public var ntpTimestamp: UInt64
        public var rtpTimestamp: UInt32
        public var packetCount: UInt32
        public var octetCount: UInt32

        public init(ntpTimestamp: UInt64, rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32) {
            self.ntpTimestamp = ntpTimestamp
            self.rtpTimestamp = rtpTimestamp
            self.packetCount = packetCount
            self.octetCount = octetCount
        }
    }

    /// SR + SDES(CNAME), and BYE after them when `goodbye` is set.
    public static func compound(ssrc: UInt32, sender: SenderInfo, cname: String, goodbye: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        // SR: header, SSRC, NTP, RTP ts, packet count, octet count: 7 words.
        out += [0x80, senderReport]
        out.appendBigEndian(UInt16(6))
        out.appendBigEndian(ssrc)
        out.appendBigEndian(sender.ntpTimestamp)
        out.appendBigEndian(sender.rtpTimestamp)
        out.appendBigEndian(sender.packetCount)
        out.appendBigEndian(sender.octetCount)
        // SDES with one chunk: SSRC, CNAME item, terminating zero, padded to 32 bits.
        let name = Array(cname.utf8.prefix(255))
        var chunk: [UInt8] = []
        chunk.appendBigEndian(ssrc)
        chunk += [1, UInt8(name.count)] + name + [0]
        while chunk.count % 4 != 0 { chunk.append(0) }
        out += [0x81, sourceDescription]
        out.appendBigEndian(UInt16(chunk.count / 4))
        out += chunk
        if goodbye {
            out += [0x81, RTCP.goodbye]
            out.appendBigEndian(UInt16(1))
            out.appendBigEndian(ssrc)
        }
        return out
    }

    /// A receiver report from `ssrc` with the given blocks (what a player sends).
    public static func receiverReport(ssrc: UInt32, blocks: [ReportBlock]) -> [UInt8] {
        var out: [UInt8] = [0x80 | UInt8(min(blocks.count, 31)), receiverReport]
        out.appendBigEndian(UInt16(1 + 6 * min(blocks.count, 31)))
        out.appendBigEndian(ssrc)
        for block in blocks.prefix(31) {
            out.appendBigEndian(block.ssrc)
            let lost = UInt32(bitPattern: block.cumulativeLost) & 0x00ff_ffff
            out.appendBigEndian(UInt32(block.fractionLost) << 24 | lost)
            out.appendBigEndian(block.highestSequence)
            out.appendBigEndian(block.jitter)
            out.appendBigEndian(block.lastSenderReport)
            out.appendBigEndian(block.delaySinceLastSenderReport)
        }
        return out
    }

    /// What a compound RTCP datagram says: report blocks (from SR or RR) and goodbyes.
    public struct Parsed: Hashable, Sendable {
        public var reports: [ReportBlock] = []
        public var goodbyes: [UInt32] = []
        public var senderReports: [UInt32: SenderInfo] = [:]
    }

    /// Parses a compound packet, bounds-checked; nil if the first packet is not RTCP.
    public static func parse(_ bytes: ArraySlice<UInt8>) -> Parsed? {
        var parsed = Parsed()
        var offset = bytes.startIndex
        var first = true
        while bytes.endIndex - offset >= 4 {
            guard bytes[offset] >> 6 == 2 else { return first ? nil : parsed }
            let count = Int(bytes[offset] & 0x1f)
            let type = bytes[offset + 1]
            let words: UInt16 = bytes.readBigEndian(at: offset + 2)
            let length = 4 * (Int(words) + 1)
            guard (200...204).contains(type), bytes.endIndex - offset >= length else { return first ? nil : parsed }
            first = false
            let body = offset + 4
            var blocksStart: Int?
            switch type {
            case senderReport where length >= 28:
                let ssrc: UInt32 = bytes.readBigEndian(at: body)
                parsed.senderReports[ssrc] = SenderInfo(
                    ntpTimestamp: bytes.readBigEndian(at: body + 4), rtpTimestamp: bytes.readBigEndian(at: body + 12),
                    packetCount: bytes.readBigEndian(at: body + 16), octetCount: bytes.readBigEndian(at: body + 20))
                blocksStart = body + 24
            case receiverReport where length >= 8:
                blocksStart = body + 4
            case goodbye:
                for index in 0..<count where body + 4 * index + 4 <= offset + length {
                    parsed.goodbyes.append(bytes.readBigEndian(at: body + 4 * index))
                }
            default:
                break
            }
            if let blocksStart {
                for index in 0..<count {
                    let at = blocksStart + 24 * index
                    guard at + 24 <= offset + length else { break }
                    let lostWord: UInt32 = bytes.readBigEndian(at: at + 4)
                    var cumulative = Int32(bitPattern: lostWord & 0x00ff_ffff)
                    if cumulative & 0x0080_0000 != 0 { cumulative -= 0x0100_0000 }  // 24-bit signed
                    parsed.reports.append(ReportBlock(
                        ssrc: bytes.readBigEndian(at: at), fractionLost: UInt8(lostWord >> 24), cumulativeLost: cumulative,
                        highestSequence: bytes.readBigEndian(at: at + 8), jitter: bytes.readBigEndian(at: at + 12),
                        lastSenderReport: bytes.readBigEndian(at: at + 16), delaySinceLastSenderReport: bytes.readBigEndian(at: at + 20)))
                }
            }
            offset += length
        }
        return first ? nil : parsed
    }
}
