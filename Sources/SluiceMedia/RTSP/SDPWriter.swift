/// Session description for one MPEG-TS program over RTP (RFC 4566; RFC 3551 payload type 33).
public enum SDPWriter {
    /// `trackControl` is the media's `a=control` (relative, or an absolute URL that carries
    /// the client's query so SETUP can be authorised).
    public static func mpegTransportStream(sessionID: UInt64, originAddress: String, name: String, durationSeconds: Double, trackControl: String = "track0") -> String {
        let family = originAddress.contains(":") ? "IP6" : "IP4"
        return [
            "v=0",
            "o=- \(sessionID) 1 IN \(family) \(originAddress)",
            "s=\(name)",
            "c=IN \(family) \(family == "IP6" ? "::" : "0.0.0.0")",
            "t=0 0",
            "a=tool:sluice",
            "a=control:*",
            "a=range:npt=0-\(formatSeconds(durationSeconds))",
            "m=video 0 RTP/AVP 33",
            "a=rtpmap:33 MP2T/90000",
            "a=control:\(trackControl)",
            "",
        ].joined(separator: "\r\n")
    }

    static func formatSeconds(_ seconds: Double) -> String {
        let milliseconds = Int64((seconds * 1000).rounded())
        let fraction = milliseconds % 1000
        return "\(milliseconds / 1000).\(fraction < 10 ? "00" : fraction < 100 ? "0" : "")\(fraction)"
    }
}
