/// Incremental, bounded parser for RTSP/1.0 responses, for Sluice's own player.
public struct RTSPResponseParser: Sendable {
    public static let maxHeadBytes = 16 * 1024
    public static let maxBodyBytes = 256 * 1024
    private var buffer: [UInt8] = []

    public init() {}

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// The next complete response, nil if more bytes are needed.
    public mutating func nextResponse() throws(RTSPParseError) -> RTSPResponse? {
        guard let headEnd = findHeadEnd() else {
            if buffer.count > Self.maxHeadBytes { throw RTSPParseError(code: .headersTooLarge, message: "response head too large") }
            return nil
        }
        let lines = buffer[..<headEnd.head].split(separator: 0x0a).map { line in
            String(decoding: line.last == 0x0d ? line.dropLast() : line, as: UTF8.self)
        }.filter { !$0.isEmpty }
        guard let statusLine = lines.first, statusLine.hasPrefix("RTSP/1.0 ") else {
            throw RTSPParseError(code: .badRequestLine, message: "not an RTSP/1.0 response")
        }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw RTSPParseError(code: .badRequestLine, message: "bad status line") }
        var headers = RTSPHeaders()
        for line in lines.dropFirst().prefix(64) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.add(String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingSpaces)
        }
        let length = headers["Content-Length"].flatMap(Int.init) ?? 0
        guard length >= 0, length <= Self.maxBodyBytes else { throw RTSPParseError(code: .bodyTooLarge, message: "response body too large") }
        guard buffer.count - headEnd.body >= length else { return nil }
        let body = Array(buffer[headEnd.body..<(headEnd.body + length)])
        buffer.removeFirst(headEnd.body + length)
        return RTSPResponse(status: status, reason: parts.count > 2 ? String(parts[2]) : nil, headers: headers, body: body)
    }

    private func findHeadEnd() -> (head: Int, body: Int)? {
        var index = 0
        while index < min(buffer.count, Self.maxHeadBytes + 4) {
            if buffer[index] == 0x0a {
                if index + 1 < buffer.count, buffer[index + 1] == 0x0a { return (index, index + 2) }
                if index + 2 < buffer.count, buffer[index + 1] == 0x0d, buffer[index + 2] == 0x0a { return (index, index + 3) }
            }
            index += 1
        }
        return nil
    }
}
