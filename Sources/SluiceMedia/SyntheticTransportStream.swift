/// Builds a valid MPEG-TS with correct PCR timing and no real pictures: one program, one
/// private-data PID that carries the PCR. Used by the demo when ffmpeg is not installed and
/// by tests that need a stream of exact duration and rate.
public enum SyntheticTransportStream {
    static let pmtPID: UInt16 = 0x1000
    static let dataPID: UInt16 = 0x0100

    /// `durationMilliseconds` of transport stream at `bitsPerSecond` (rounded to whole packets).
    /// With `keyFrameEvery`, the first PCR packet after each such interval sets the
    /// random_access_indicator, as a muxer does on a video key frame.
    public static func make(durationMilliseconds: Int64, bitsPerSecond: Int64, keyFrameEvery: Int64? = nil) -> [UInt8] {
        let packetBits = Int64(TransportStreamScanner.packetSize * 8)
        let packetCount = max(2, durationMilliseconds * bitsPerSecond / 1000 / packetBits)
        var out: [UInt8] = []
        out.reserveCapacity(Int(packetCount) * TransportStreamScanner.packetSize)
        var continuity: [UInt16: UInt8] = [:]
        var nextPCRTime: Int64 = 0  // 27 MHz ticks
        var nextTablesTime: Int64 = 0
        var nextKeyFrameTime: Int64 = 0
        for index in 0..<packetCount {
            // The time the first byte of this packet is due, in 27 MHz ticks.
            let time = index * packetBits * TransportStreamScanner.pcrClockHz / bitsPerSecond
            if time >= nextTablesTime && index + 2 < packetCount {
                out += packet(pid: 0, continuity: &continuity, section: patSection())
                out += packet(pid: pmtPID, continuity: &continuity, section: pmtSection())
                nextTablesTime += TransportStreamScanner.pcrClockHz / 10
                continue
            }
            if out.count >= (Int(index) + 1) * TransportStreamScanner.packetSize { continue }
            let withPCR = time >= nextPCRTime || index == packetCount - 1
            if withPCR { nextPCRTime += TransportStreamScanner.pcrClockHz / 25 }
            var keyFrame = false
            if let every = keyFrameEvery, withPCR, time >= nextKeyFrameTime {
                keyFrame = true
                nextKeyFrameTime += every * TransportStreamScanner.pcrClockHz / 1000
            }
            out += dataPacket(pcr: withPCR ? time : nil, keyFrame: keyFrame, continuity: &continuity, fill: UInt8(truncatingIfNeeded: index))
        }
        return out
    }

    private static func header(pid: UInt16, start: Bool, adaptation: Bool, continuity: inout [UInt16: UInt8]) -> [UInt8] {
        let counter = continuity[pid, default: 0]
        continuity[pid] = (counter + 1) & 0x0f
        return [
            TransportStreamScanner.syncByte,
            (start ? 0x40 : 0) | UInt8(pid >> 8),
            UInt8(pid & 0xff),
            (adaptation ? 0x30 : 0x10) | counter,
        ]
    }

    private static func packet(pid: UInt16, continuity: inout [UInt16: UInt8], section: [UInt8]) -> [UInt8] {
        var bytes = header(pid: pid, start: true, adaptation: false, continuity: &continuity)
        bytes.append(0)  // pointer_field
        bytes += section
        bytes += Array(repeating: 0xff, count: TransportStreamScanner.packetSize - bytes.count)
        return bytes
    }

    private static func dataPacket(pcr: Int64?, keyFrame: Bool, continuity: inout [UInt16: UInt8], fill: UInt8) -> [UInt8] {
        var bytes = header(pid: dataPID, start: false, adaptation: pcr != nil, continuity: &continuity)
        if let pcr {
            let base = pcr / 300
            let ext = pcr % 300
            bytes += [
                7, keyFrame ? 0x50 : 0x10,
                UInt8(truncatingIfNeeded: base >> 25), UInt8(truncatingIfNeeded: base >> 17),
                UInt8(truncatingIfNeeded: base >> 9), UInt8(truncatingIfNeeded: base >> 1),
                UInt8(truncatingIfNeeded: (base & 1) << 7) | 0x7e | UInt8(truncatingIfNeeded: ext >> 8),
                UInt8(truncatingIfNeeded: ext),
            ]
        }
        bytes += Array(repeating: fill, count: TransportStreamScanner.packetSize - bytes.count)
        return bytes
    }

    private static func patSection() -> [UInt8] {
        let body: [UInt8] = [0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xe0 | UInt8(pmtPID >> 8), UInt8(pmtPID & 0xff)]
        return section(tableID: 0x00, body: body)
    }

    private static func pmtSection() -> [UInt8] {
        // program 1, PCR PID = data PID, one stream of type 0x06 (private PES data).
        let body: [UInt8] = [
            0x00, 0x01, 0xc1, 0x00, 0x00,
            0xe0 | UInt8(dataPID >> 8), UInt8(dataPID & 0xff), 0xf0, 0x00,
            0x06, 0xe0 | UInt8(dataPID >> 8), UInt8(dataPID & 0xff), 0xf0, 0x00,
        ]
        return section(tableID: 0x02, body: body)
    }

    private static func section(tableID: UInt8, body: [UInt8]) -> [UInt8] {
        let length = body.count + 4  // plus CRC
        var bytes: [UInt8] = [tableID, 0xb0 | UInt8(length >> 8), UInt8(length & 0xff)] + body
        let crc = MPEGCRC32.checksum(bytes)
        bytes += [UInt8(crc >> 24), UInt8((crc >> 16) & 0xff), UInt8((crc >> 8) & 0xff), UInt8(crc & 0xff)]
        return bytes
    }
}

/// CRC-32/MPEG-2 (polynomial 0x04C11DB7, no reflection), used by PSI sections.
public enum MPEGCRC32 {
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes {
            crc ^= UInt32(byte) << 24
            for _ in 0..<8 {
                crc = crc & 0x8000_0000 != 0 ? (crc << 1) ^ 0x04c1_1db7 : crc << 1
            }
        }
        return crc
    }
}
