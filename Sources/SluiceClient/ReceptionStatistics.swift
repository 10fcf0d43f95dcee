import SluiceMedia

/// RFC 3550 reception bookkeeping for one source: extended sequence numbers, loss and
/// interarrival jitter (Appendix A.1 and A.8), plus a reorder buffer that releases payloads
/// in sequence order.
struct ReceptionStatistics {
    private(set) var received: Int64 = 0
    private(set) var bytes: Int64 = 0
    private var baseSequence: Int64?
    private(set) var highestSequence: Int64 = 0
    private var cycles: Int64 = 0
    private var lastSequence: UInt16 = 0
    /// Jitter in timestamp units, scaled by 16 as in RFC 3550 A.8.
    private var jitterScaled: Int64 = 0
    private var lastTransit: Int64?
    private var pending: [Int64: [UInt8]] = [:]
    private var nextToRelease: Int64?
    static let reorderWindow = 64
    /// False: count and time packets only, keep no payloads (a benchmark receiving hundreds of
    /// streams has no use for them).
    var keepsPayloads = true

    var expected: Int64 { baseSequence.map { highestSequence - $0 + 1 } ?? 0 }
    var lost: Int64 { max(0, expected - received) }
    var jitterTimestampUnits: Int64 { jitterScaled >> 4 }

    /// Records a packet that arrived at `arrival` (in 90 kHz units) and returns the payloads
    /// now deliverable in order.
    mutating func receive(_ packet: RTPPacket, arrival: Int64) -> [[UInt8]] {
        let extended: Int64
        if baseSequence == nil {
            baseSequence = Int64(packet.sequenceNumber)
            extended = Int64(packet.sequenceNumber)
            nextToRelease = extended
            highestSequence = extended
        } else {
            if packet.sequenceNumber < lastSequence && lastSequence - packet.sequenceNumber > 0x8000 { cycles += 0x10000 }
            var candidate = cycles + Int64(packet.sequenceNumber)
            if candidate > highestSequence + 0x8000 { candidate -= 0x10000 }  // a late packet from before a wrap
            extended = candidate
            if packet.sequenceNumber > lastSequence || lastSequence - packet.sequenceNumber > 0x8000 { lastSequence = packet.sequenceNumber }
            highestSequence = max(highestSequence, extended)
        }
        if received == 0 { lastSequence = packet.sequenceNumber }
        received += 1
        bytes += Int64(packet.payload.count)
        let transit = arrival - Int64(packet.timestamp)
        if let last = lastTransit {
            let difference = abs(transit - last)
            jitterScaled += difference - ((jitterScaled + 8) >> 4)
        }
        lastTransit = transit
        guard keepsPayloads, let next = nextToRelease, extended >= next else { return [] }  // duplicate or too late
        pending[extended] = Array(packet.payload)
        return release(force: false)
    }

    /// Everything still held, in order (at the end of the stream).
    mutating func drain() -> [[UInt8]] { release(force: true) }

    private mutating func release(force: Bool) -> [[UInt8]] {
        var out: [[UInt8]] = []
        while var next = nextToRelease {
            if let payload = pending.removeValue(forKey: next) {
                out.append(payload)
                nextToRelease = next + 1
                continue
            }
            // A gap: wait for it unless the window is exceeded (then it is lost).
            guard force || pending.count > Self.reorderWindow, let smallest = pending.keys.min() else { break }
            next = smallest
            nextToRelease = next
        }
        return out
    }
}
