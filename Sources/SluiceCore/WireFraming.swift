/// What a stream's bytes cost on the links it crosses. A reserved rate is a link rate, headers
/// included: a link reserved to its capacity must not carry more than that, so the engine sends
/// a stream's payload slower than its reservation by the share its headers take. On Ethernet with
/// a 1,500-byte MTU:
/// - HTTP (TCP/IPv4 with timestamps): 1,448 payload bytes per 1,514-byte frame, 95.6 %;
/// - RTP/UDP/IPv4 with 7 TS packets: 1,316 per 1,370, 96.1 %.
/// The default `rateHeadroom` (5 %) covers either: the payload still goes faster than the media.
public enum WireFraming {
    public static let ethernetFrameBytes = 1514
    public static let tcpPayloadBytes = 1448

    /// The payload rate of an HTTP stream whose frames fill `linkBitsPerSecond`.
    public static func tcpPayloadRate(linkBitsPerSecond: Int64) -> Int64 {
        linkBitsPerSecond * Int64(tcpPayloadBytes) / Int64(ethernetFrameBytes)
    }

    /// The rate for the kernel's TCP pacing (`SO_MAX_PACING_RATE`, bytes per second) at which a
    /// stream's frames fill exactly `linkBitsPerSecond`. TCP paces the payload of its segments
    /// (headers are not counted), so this is the payload rate. No margin above it: when a link
    /// is booked to its capacity, every stream sending a little faster while its socket has a
    /// backlog adds up to more than the link carries, and its queue fills (qos-proof.sh saw a
    /// 2 % margin fill a 20 ms queue at 98 % booking). The engine's bucket keeps the backlog to
    /// its burst and one chunk.
    public static func tcpPacingBytesPerSecond(linkBitsPerSecond: Int64) -> Int64 {
        tcpPayloadRate(linkBitsPerSecond: linkBitsPerSecond) / 8
    }
}
