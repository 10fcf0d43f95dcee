/// Groups a stream's consecutive RTP datagrams into one `UDP_SEGMENT` (GSO) send: the kernel
/// cuts the buffer into datagrams of the segment size (the last may be shorter), so one
/// syscall and one trip through the stack carry a small burst instead of one packet.
///
/// A burst starts with the first datagram that is due and takes the ones after it that are
/// due within `window` of it: they leave up to `window` early, never late.
public struct RTPBurst: Sendable {
    /// The size every datagram but a burst's last must have: a full RTP/MP2T packet.
    public static let segmentBytes = RTPPacket.headerSize + RTPPacket.tsPacketsPerRTPPacket * TransportStreamScanner.packetSize

    public let window: Duration
    public let maxSegments: Int

    public init(window: Duration, maxSegments: Int) {
        self.window = window
        self.maxSegments = max(1, maxSegments)
    }

    /// How many of datagrams `0..<count` go in the next send (at least one when there is one).
    /// `size` and `dueNanoseconds` read a datagram's length and due time by index, so the pacer
    /// looks at its queue in place, without copying a datagram.
    @inlinable
    public func length(count: Int, size: (Int) -> Int, dueNanoseconds: (Int) -> Int64) -> Int {
        guard count > 0 else { return 0 }
        let latest = dueNanoseconds(0) + windowNanoseconds
        var taken = 1
        var previousSize = size(0)
        while taken < count {
            // Only the last segment may be short, and none may be longer than the segment.
            guard taken < maxSegments, previousSize == Self.segmentBytes else { break }
            let packetSize = size(taken)
            guard packetSize <= Self.segmentBytes, dueNanoseconds(taken) <= latest else { break }
            taken += 1
            previousSize = packetSize
        }
        return taken
    }

    @usableFromInline var windowNanoseconds: Int64 { window.nanoseconds }
}

extension Duration {
    /// Whole nanoseconds (attoseconds below a nanosecond are dropped).
    @inlinable public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
