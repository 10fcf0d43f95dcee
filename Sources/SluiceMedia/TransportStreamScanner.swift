/// Typed failures of MPEG-TS scanning.
public struct TransportStreamError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        case lostSync = "lost_sync"
        case truncatedPacket = "truncated_packet"
        case badAdaptationField = "bad_adaptation_field"
        case noTiming = "no_timing"
        case empty
    }

    public var code: Code
    public var byteOffset: Int64
    public var message: String

    public var description: String { "\(code.rawValue) at byte \(byteOffset): \(message)" }
}

/// What a scan of a whole transport stream learnt.
public struct TransportStreamSummary: Hashable, Sendable {
    public var sizeBytes: Int64
    public var packetCount: Int64
    /// PID whose PCRs timed the stream.
    public var pcrPID: UInt16
    public var durationMilliseconds: Int64
    public var averageBitsPerSecond: Int64
    public var seekIndex: SeekIndex
    /// The earliest presentation timestamp near the start (90 kHz), which libavformat calls
    /// the stream's start time and adds to the times it asks for.
    public var firstPTS: Int64?
    /// Key frames: packets of the PCR PID whose adaptation field sets random_access_indicator,
    /// each with the offset of the last PAT before it (a segment that starts there carries the
    /// tables a player needs). Empty when the muxer marks none.
    public var keyFrames: [SeekIndex.Entry] = []
}

/// Byte offsets of random-access points (PAT packets) and their presentation times.
public struct SeekIndex: Hashable, Sendable {
    public struct Entry: Hashable, Sendable {
        public var milliseconds: Int64
        public var byteOffset: Int64
    }

    public private(set) var entries: [Entry]

    public init(entries: [Entry]) {
        self.entries = entries
    }

    /// The offset of the last access point at or before `milliseconds` (0 before the first).
    public func byteOffset(forMilliseconds milliseconds: Int64) -> Int64 {
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].milliseconds <= milliseconds { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? 0 : entries[low - 1].byteOffset
    }
}

/// Incremental MPEG-TS scanner (ISO/IEC 13818-1): feed bytes in any chunking, then `finish`.
///
/// Checks sync on every 188-byte packet and the bounds of every adaptation field, extracts
/// PCRs of the first PID that carries them, and builds a seek index at PAT packets. Memory is
/// bounded: one partial packet and at most `maxSeekEntries` index entries.
public struct TransportStreamScanner: Sendable {
    public static let packetSize = 188
    public static let syncByte: UInt8 = 0x47
    static let pcrClockHz: Int64 = 27_000_000
    static let pcrWrap: Int64 = (1 << 33) * 300

    public let minimumSeekSpacingMilliseconds: Int64
    public let maxSeekEntries: Int
    private var partial: [UInt8] = []
    private var offset: Int64 = 0
    private var pcrPID: UInt16?
    private var firstPCR: Int64?
    private var lastPCR: Int64?
    /// PCR of the last PCR packet, unwrapped (monotonic across the 33-bit wrap).
    private var unwrappedPCR: Int64 = 0
    private var firstPCROffset: Int64 = 0
    private var lastPCROffset: Int64 = 0
    private var entries: [SeekIndex.Entry] = []
    private var keyFrames: [SeekIndex.Entry] = []
    /// Where the last PAT packet began: a key frame's segment starts there.
    private var lastPATOffset: Int64?
    private var firstPTS: Int64?
    /// PTSs are looked for in the first few thousand packets only.
    static let ptsSearchPackets: Int64 = 4000

    public init(minimumSeekSpacingMilliseconds: Int64 = 500, maxSeekEntries: Int = 1_000_000) {
        self.minimumSeekSpacingMilliseconds = minimumSeekSpacingMilliseconds
        self.maxSeekEntries = maxSeekEntries
        partial.reserveCapacity(Self.packetSize)
    }

    public mutating func consume(_ bytes: some Collection<UInt8>) throws(TransportStreamError) {
        // One contiguous copy per chunk; packets are then scanned in place.
        let chunk = bytes as? [UInt8] ?? Array(bytes)
        var index = 0
        if !partial.isEmpty {
            let needed = min(Self.packetSize - partial.count, chunk.count)
            partial.append(contentsOf: chunk[0..<needed])
            index = needed
            guard partial.count == Self.packetSize else { return }
            let packet = partial
            partial.removeAll(keepingCapacity: true)
            try scanPacket(packet[...])
        }
        while chunk.count - index >= Self.packetSize {
            try scanPacket(chunk[index..<(index + Self.packetSize)])
            index += Self.packetSize
        }
        partial.append(contentsOf: chunk[index...])
    }

    public func finish() throws(TransportStreamError) -> TransportStreamSummary {
        guard partial.isEmpty else {
            throw TransportStreamError(code: .truncatedPacket, byteOffset: offset, message: "the stream ends inside a packet (\(partial.count) of 188 bytes)")
        }
        guard offset > 0 else { throw TransportStreamError(code: .empty, byteOffset: 0, message: "no packets") }
        guard let pid = pcrPID, firstPCR != nil, unwrappedPCR > 0, lastPCROffset > firstPCROffset else {
            throw TransportStreamError(code: .noTiming, byteOffset: offset, message: "fewer than two PCRs: duration and bitrate are unknown")
        }
        let seconds = Double(unwrappedPCR) / Double(Self.pcrClockHz)
        let bitsPerSecond = Double(lastPCROffset - firstPCROffset) * 8 / seconds
        let duration = Double(offset) * 8 / bitsPerSecond
        return TransportStreamSummary(
            sizeBytes: offset, packetCount: offset / Int64(Self.packetSize), pcrPID: pid,
            durationMilliseconds: Int64((duration * 1000).rounded()),
            averageBitsPerSecond: Int64(bitsPerSecond.rounded()),
            seekIndex: SeekIndex(entries: entries), firstPTS: firstPTS, keyFrames: keyFrames)
    }

    /// Milliseconds since the first PCR, at the last PCR seen.
    private var currentMilliseconds: Int64 { unwrappedPCR / (Self.pcrClockHz / 1000) }

    private mutating func scanPacket(_ packet: ArraySlice<UInt8>) throws(TransportStreamError) {
        let base = packet.startIndex
        guard packet[base] == Self.syncByte else {
            throw TransportStreamError(code: .lostSync, byteOffset: offset, message: "expected sync byte 0x47, found 0x\(String(packet[base], radix: 16))")
        }
        let pid = UInt16(packet[base + 1] & 0x1f) << 8 | UInt16(packet[base + 2])
        let adaptationControl = (packet[base + 3] >> 4) & 0x3
        if pid == 0 {
            lastPATOffset = offset
            let now = currentMilliseconds
            if entries.count < maxSeekEntries,
               entries.last.map({ now - $0.milliseconds >= minimumSeekSpacingMilliseconds }) ?? true {
                entries.append(SeekIndex.Entry(milliseconds: now, byteOffset: offset))
            }
        }
        var payloadStart = base + 4
        if adaptationControl & 0x2 != 0 {
            payloadStart += 1 + Int(packet[base + 4])
        }
        if packet[base + 1] & 0x40 != 0, adaptationControl & 0x1 != 0, offset / Int64(Self.packetSize) < Self.ptsSearchPackets,
           payloadStart + 14 <= base + Self.packetSize, let pts = Self.pts(in: packet, at: payloadStart) {
            firstPTS = min(firstPTS ?? pts, pts)
        }
        if adaptationControl & 0x2 != 0 {
            let length = Int(packet[base + 4])
            let maxLength = adaptationControl == 0x3 ? 182 : 183
            guard length <= maxLength else {
                throw TransportStreamError(code: .badAdaptationField, byteOffset: offset, message: "adaptation field of \(length) bytes exceeds the packet")
            }
            if length >= 7, packet[base + 5] & 0x10 != 0, pcrPID == nil || pcrPID == pid {
                let b = packet[(base + 6)...]
                let pcrBase = Int64(b[b.startIndex]) << 25 | Int64(b[b.startIndex + 1]) << 17
                    | Int64(b[b.startIndex + 2]) << 9 | Int64(b[b.startIndex + 3]) << 1 | Int64(b[b.startIndex + 4]) >> 7
                let pcrExtension = Int64(b[b.startIndex + 4] & 0x1) << 8 | Int64(b[b.startIndex + 5])
                recordPCR(pcrBase * 300 + pcrExtension, pid: pid)
            }
            if length >= 1, packet[base + 5] & 0x40 != 0, pid == pcrPID, keyFrames.count < maxSeekEntries {
                recordKeyFrame()
            }
        }
        offset += Int64(Self.packetSize)
    }

    /// The PTS of a PES header starting at `index`, if it has one (ISO/IEC 13818-1 §2.4.3.7).
    static func pts(in packet: ArraySlice<UInt8>, at index: Int) -> Int64? {
        guard packet[index] == 0, packet[index + 1] == 0, packet[index + 2] == 1, packet[index + 7] & 0x80 != 0 else { return nil }
        let p = index + 9
        return Int64((packet[p] >> 1) & 0x07) << 30 | Int64(packet[p + 1]) << 22 | Int64(packet[p + 2] >> 1) << 15
            | Int64(packet[p + 3]) << 7 | Int64(packet[p + 4] >> 1)
    }

    /// A key frame starts in this packet: its segment would start at the PAT before it when that
    /// is near (within about half a second of data at 20 Mbit/s), else at the packet itself.
    private mutating func recordKeyFrame() {
        let start = lastPATOffset.flatMap { offset - $0 <= Self.patReach ? $0 : nil } ?? offset
        let now = currentMilliseconds
        if let last = keyFrames.last, last.byteOffset >= start { return }
        keyFrames.append(SeekIndex.Entry(milliseconds: now, byteOffset: start))
    }

    static let patReach: Int64 = 188 * 7_000

    private mutating func recordPCR(_ pcr: Int64, pid: UInt16) {
        if pcrPID == nil {
            pcrPID = pid
            firstPCR = pcr
            lastPCR = pcr
            firstPCROffset = offset
            return
        }
        if let last = lastPCR {
            var delta = pcr - last
            if delta < 0 { delta += Self.pcrWrap }
            // A jump of more than 10 s is a discontinuity (a splice), not elapsed time.
            if delta > 10 * Self.pcrClockHz { delta = 0 }
            unwrappedPCR += delta
        }
        lastPCR = pcr
        lastPCROffset = offset
    }
}
