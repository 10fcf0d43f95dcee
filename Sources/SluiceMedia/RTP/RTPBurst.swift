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

    /// How many datagrams from the front of `packets` go in the next send (at least one when
    /// there is one). `size` and `due` read each datagram's length and due time.
    @inlinable
    public func length<Packets: Collection>(
        of packets: Packets, size: (Packets.Element) -> Int, due: (Packets.Element) -> Duration
    ) -> Int {
        guard let first = packets.first else { return 0 }
        let latest = due(first) + window
        var count = 1
        var previousSize = size(first)
        for packet in packets.dropFirst() {
            // Only the last segment may be short, and none may be longer than the segment.
            guard count < maxSegments, previousSize == Self.segmentBytes else { break }
            let packetSize = size(packet)
            guard packetSize <= Self.segmentBytes, due(packet) <= latest else { break }
            count += 1
            previousSize = packetSize
        }
        return count
    }
}
