/// Cuts an MPEG-TS into RTP payloads of seven TS packets (RFC 2250 §2) and says when each
/// is due: at the time its PCR says, but never sooner than the reserved rate allows after the
/// previous one. VBR media keeps its own timing; a burst above the reservation is smoothed.
public struct MP2TPacketizer: Sendable {
    public struct Packet: Hashable, Sendable {
        /// Byte range of the payload within the slice given to `packets(in:)`.
        public var range: Range<Int>
        /// When to send, measured from the start of this play run.
        public var due: Duration
    }

    public let pcrPID: UInt16?
    public let maxBitsPerSecond: Int64
    private var basePCR: Int64?
    private var lastPCR: Int64 = 0
    private var pcrElapsed: Int64 = 0  // 27 MHz ticks since basePCR, unwrapped
    private var lastDue: Duration?

    /// `pcrPID` from the object's scan (nil: take the first PID that carries a PCR).
    public init(pcrPID: UInt16?, maxBitsPerSecond: Int64) {
        self.pcrPID = pcrPID
        self.maxBitsPerSecond = max(1, maxBitsPerSecond)
        self.activePID = pcrPID
    }

    private var activePID: UInt16?

    /// Payloads for `bytes` (a whole number of TS packets; a trailing partial packet is left out).
    public mutating func packets(in bytes: ArraySlice<UInt8>) -> [Packet] {
        let size = TransportStreamScanner.packetSize
        let perPacket = RTPPacket.tsPacketsPerRTPPacket * size
        var packets: [Packet] = []
        packets.reserveCapacity(bytes.count / perPacket + 1)
        var offset = bytes.startIndex
        while bytes.endIndex - offset >= size {
            let end = min(offset + perPacket, offset + (bytes.endIndex - offset) / size * size)
            var firstPCRDue: Duration?
            var tsOffset = offset
            while tsOffset < end {
                if let pcr = pcr(in: bytes, at: tsOffset) {
                    observe(pcr)
                    if firstPCRDue == nil { firstPCRDue = pcrDue }
                }
                tsOffset += size
            }
            let bits = Int64(end - offset) * 8
            let spacing = Duration.nanoseconds(bits * 1_000_000_000 / maxBitsPerSecond)
            let earliest = lastDue.map { $0 + spacing } ?? .zero
            let due = max(earliest, firstPCRDue.map { min($0, pcrDue) } ?? pcrDue)
            packets.append(Packet(range: (offset - bytes.startIndex)..<(end - bytes.startIndex), due: due))
            lastDue = due
            offset = end
        }
        return packets
    }

    /// Due time implied by the last PCR seen.
    private var pcrDue: Duration { .nanoseconds(pcrElapsed * 1000 / 27) }

    private mutating func observe(_ pcr: Int64) {
        guard basePCR != nil else {
            basePCR = pcr
            lastPCR = pcr
            return
        }
        var delta = pcr - lastPCR
        if delta < 0 { delta += TransportStreamScanner.pcrWrap }
        if delta > 10 * TransportStreamScanner.pcrClockHz { delta = 0 }  // discontinuity
        pcrElapsed += delta
        lastPCR = pcr
    }

    private mutating func pcr(in bytes: ArraySlice<UInt8>, at index: Int) -> Int64? {
        guard bytes[index] == TransportStreamScanner.syncByte else { return nil }
        let pid = UInt16(bytes[index + 1] & 0x1f) << 8 | UInt16(bytes[index + 2])
        guard bytes[index + 3] & 0x20 != 0, bytes[index + 4] >= 7, bytes[index + 4] <= 183, bytes[index + 5] & 0x10 != 0 else { return nil }
        if activePID == nil { activePID = pid }
        guard pid == activePID else { return nil }
        let b = index + 6
        let base = Int64(bytes[b]) << 25 | Int64(bytes[b + 1]) << 17 | Int64(bytes[b + 2]) << 9 | Int64(bytes[b + 3]) << 1 | Int64(bytes[b + 4]) >> 7
        return base * 300 + (Int64(bytes[b + 4] & 1) << 8 | Int64(bytes[b + 5]))
    }
}
