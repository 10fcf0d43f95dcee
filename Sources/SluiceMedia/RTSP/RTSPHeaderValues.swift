/// The client's `Transport` request (RFC 2326 §12.39), reduced to what Sluice serves.
public struct RTSPTransport: Hashable, Sendable {
    public var profile: String
    public var isUnicast: Bool
    public var isInterleaved: Bool
    public var clientRTPPort: UInt16?
    public var clientRTCPPort: UInt16?
    /// Why the offered `client_port` cannot be used (nil when it can, or none was offered).
    public var clientPortProblem: String?

    /// Parses the first transport spec the client offers that Sluice can serve, else the first.
    public static func parse(_ header: String) -> [RTSPTransport] {
        header.split(separator: ",").prefix(8).map { spec in
            let parts = spec.split(separator: ";").map { $0.trimmingSpaces }
            var transport = RTSPTransport(profile: parts.first ?? "", isUnicast: true, isInterleaved: false)
            for part in parts.dropFirst() {
                let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                guard let name = pair.first else { continue }  // an empty parameter (";;" or "; ;")
                switch name.lowercased() {
                case "multicast": transport.isUnicast = false
                case "interleaved": transport.isInterleaved = true
                case "client_port" where pair.count == 2:
                    switch ClientPorts.parse(pair[1]) {
                    case .success(let ports):
                        transport.clientRTPPort = ports.rtp
                        transport.clientRTCPPort = ports.rtcp
                    case .failure(let problem):
                        transport.clientPortProblem = problem.message
                    }
                default: break
                }
            }
            return transport
        }
    }

    /// RTP over UDP: `RTP/AVP`, `RTP/AVP/UDP` (ffmpeg) — not `RTP/AVP/TCP`.
    public var isUDP: Bool {
        let upper = profile.uppercased()
        return (upper == "RTP/AVP" || upper == "RTP/AVP/UDP") && !isInterleaved
    }
}

/// A player's RTP/RTCP port pair (RFC 2326 §12.39 `client_port=a-b`), strictly: decimal ports,
/// RTCP right after RTP (RFC 3550 §11), nothing below 1024 (no reflection at system services).
public enum ClientPorts {
    public static let lowest: UInt16 = 1024

    public struct Problem: Error, Equatable, Sendable {
        public var message: String
    }

    public static func parse(_ text: some StringProtocol) -> Result<(rtp: UInt16, rtcp: UInt16), Problem> {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        let numbers = parts.compactMap { part in part.allSatisfy(\.isASCIIDigit) && (1...5).contains(part.count) ? Int(part) : nil }
        guard (1...2).contains(parts.count), numbers.count == parts.count else {
            return .failure(Problem(message: "client_port must be PORT or PORT-PORT in decimal, not '\(text.prefix(32))'"))
        }
        let rtp = numbers[0]
        let rtcp = numbers.count == 2 ? numbers[1] : rtp + 1
        return validate(rtp: rtp, rtcp: rtcp)
    }

    public static func validate(rtp: Int, rtcp: Int) -> Result<(rtp: UInt16, rtcp: UInt16), Problem> {
        guard rtp >= Int(lowest), rtp <= 65534 else {
            return .failure(Problem(message: "client_port \(rtp) is outside \(lowest)-65534"))
        }
        guard rtcp == rtp + 1 else {
            return .failure(Problem(message: "client_port must be an RTP/RTCP pair N-(N+1), not \(rtp)-\(rtcp)"))
        }
        return .success((UInt16(rtp), UInt16(rtcp)))
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

/// `Range: npt=...` (RFC 2326 §3.6), the start time in seconds, or nil for "now".
public enum NormalPlayTime {
    public static let maxSeconds: Double = 10_000_000

    public static func start(_ header: String?) -> Double? {
        guard let header, header.utf8.count <= 128 else { return nil }
        guard let equals = header.firstIndex(of: "="), header[..<equals].trimmingSpaces.lowercased() == "npt" else { return nil }
        let value = header[header.index(after: equals)...].split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let text = value.trimmingSpaces
        if text.isEmpty || text == "now" { return nil }
        var seconds: Double
        if text.contains(":") {  // npt-hhmmss
            let fields = text.split(separator: ":").compactMap { Double($0) }
            guard fields.count == 3, fields.allSatisfy({ $0.isFinite && $0 >= 0 }) else { return nil }
            seconds = fields[0] * 3600 + fields[1] * 60 + fields[2]
        } else {
            guard let value = Double(text) else { return nil }
            seconds = value
        }
        // Finite and at most ~115 days: callers turn it into integer milliseconds.
        guard seconds.isFinite, seconds >= 0, seconds <= Self.maxSeconds else { return nil }
        return seconds
    }
}
