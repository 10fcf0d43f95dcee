/// Why bytes from a client are not an RTSP request; `status` is the answer to send before
/// closing the connection.
public struct RTSPParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        case badRequestLine = "bad_request_line"
        case uriTooLong = "uri_too_long"
        case badHeader = "bad_header"
        case headersTooLarge = "headers_too_large"
        case tooManyHeaders = "too_many_headers"
        case badContentLength = "bad_content_length"
        case bodyTooLarge = "body_too_large"
        case unsupportedVersion = "unsupported_version"
        case missingCSeq = "missing_cseq"
    }

    public var code: Code
    public var message: String

    public var status: Int {
        switch code {
        case .uriTooLong: 414
        case .headersTooLarge, .tooManyHeaders: 431
        case .bodyTooLarge: 413
        case .unsupportedVersion: 505
        default: 400
        }
    }

    public var description: String { message }
}

/// Incremental, bounded RTSP/1.0 request parser: feed bytes as they arrive, take requests
/// out as they complete (pipelining works). Memory never exceeds the header and body limits.
/// Interleaved binary frames (`$`, RFC 2326 §10.12) are skipped.
public struct RTSPRequestParser: Sendable {
    public struct Limits: Hashable, Sendable {
        public var maxURILength = 2048
        public var maxHeaderBytes = 16 * 1024
        public var maxHeaderCount = 64
        public var maxBodyBytes = 64 * 1024
        public init() {}
    }

    public let limits: Limits
    private var buffer: [UInt8] = []
    private var start = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Bytes received but not yet part of a complete request.
    public var pendingByteCount: Int { buffer.count - start }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete request, nil if more bytes are needed. After an error the
    /// connection must be answered with `error.status` and closed.
    public mutating func nextRequest() throws(RTSPParseError) -> RTSPRequest? {
        while true {
            // Skip empty lines between requests, and interleaved frames.
            while start < buffer.count, buffer[start] == 0x0d || buffer[start] == 0x0a { start += 1 }
            guard start < buffer.count else { compact(); return nil }
            if buffer[start] == UInt8(ascii: "$") {
                guard buffer.count - start >= 4 else { return nil }
                let length = Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
                guard buffer.count - start >= 4 + length else { return nil }
                start += 4 + length
                continue
            }
            break
        }
        guard let headerEnd = findHeaderEnd() else {
            if pendingByteCount > limits.maxHeaderBytes {
                if firstLineLength() == nil, pendingByteCount > limits.maxURILength + 32 {
                    throw RTSPParseError(code: .uriTooLong, message: "request line longer than \(limits.maxURILength + 32) bytes")
                }
                throw RTSPParseError(code: .headersTooLarge, message: "request head larger than \(limits.maxHeaderBytes) bytes")
            }
            if firstLineLength() == nil, pendingByteCount > limits.maxURILength + 32 {
                throw RTSPParseError(code: .uriTooLong, message: "request line longer than \(limits.maxURILength + 32) bytes")
            }
            return nil
        }
        guard headerEnd.headEnd - start <= limits.maxHeaderBytes else {
            throw RTSPParseError(code: .headersTooLarge, message: "request head larger than \(limits.maxHeaderBytes) bytes")
        }
        // The request line, then header lines, read in place: bytes, not Characters ("\r\n"
        // is one Character in Swift), and no String but the method and URI.
        var lines = LineCursor(bytes: buffer, range: start..<headerEnd.headEnd)
        guard let requestLine = lines.next() else { throw RTSPParseError(code: .badRequestLine, message: "empty request") }
        let parts = Self.words(buffer, requestLine)
        guard parts.count == 3 else { throw RTSPParseError(code: .badRequestLine, message: "request line must be 'METHOD URI RTSP/1.0'") }
        let (methodBytes, uriBytes, versionBytes) = (buffer[parts[0]], buffer[parts[1]], buffer[parts[2]])
        guard methodBytes.count <= 32, methodBytes.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5a) || $0 == UInt8(ascii: "_") }) else {
            throw RTSPParseError(code: .badRequestLine, message: "method must be upper-case letters")
        }
        guard uriBytes.count <= limits.maxURILength else {
            throw RTSPParseError(code: .uriTooLong, message: "request URI longer than \(limits.maxURILength) bytes")
        }
        guard versionBytes.starts(with: "RTSP/".utf8) else {
            throw RTSPParseError(code: .badRequestLine, message: "'\(String(decoding: versionBytes.prefix(16), as: UTF8.self))' is not an RTSP version")
        }
        guard versionBytes.elementsEqual("RTSP/1.0".utf8) else { throw RTSPParseError(code: .unsupportedVersion, message: "only RTSP/1.0 is supported") }
        // Header fields: ranges into one copy of the head.
        let headStart = lines.position
        let head = Array(buffer[headStart..<headerEnd.headEnd])
        var spans: [RTSPHeaders.Span] = []
        spans.reserveCapacity(16)
        while let line = lines.next() {
            guard spans.count < limits.maxHeaderCount else {
                throw RTSPParseError(code: .tooManyHeaders, message: "more than \(limits.maxHeaderCount) header fields")
            }
            guard let colon = buffer[line].firstIndex(of: UInt8(ascii: ":")), colon != line.lowerBound else {
                throw RTSPParseError(code: .badHeader, message: "header line without a name")
            }
            guard !buffer[line.lowerBound..<colon].contains(where: { $0 == 0x20 || $0 == 0x09 }) else {
                throw RTSPParseError(code: .badHeader, message: "header name contains whitespace")
            }
            var value = (colon + 1)..<line.upperBound
            while let first = value.first, buffer[first] == 0x20 || buffer[first] == 0x09 { value = (first + 1)..<value.upperBound }
            while let last = value.last, buffer[last] == 0x20 || buffer[last] == 0x09 { value = value.lowerBound..<last }
            spans.append(.init(name: (line.lowerBound - headStart)..<(colon - headStart), value: (value.lowerBound - headStart)..<(value.upperBound - headStart)))
        }
        let headers = RTSPHeaders(bytes: head, spans: spans)
        let method = String(decoding: methodBytes, as: UTF8.self)
        let uri = String(decoding: uriBytes, as: UTF8.self)
        var length = 0
        if let text = headers["Content-Length"] {
            guard text.utf8.count <= 9, let value = Int(text), value >= 0 else {
                throw RTSPParseError(code: .badContentLength, message: "Content-Length '\(text.prefix(16))' is not a byte count")
            }
            guard value <= limits.maxBodyBytes else {
                throw RTSPParseError(code: .bodyTooLarge, message: "body of \(value) bytes exceeds \(limits.maxBodyBytes)")
            }
            length = value
        }
        guard buffer.count - headerEnd.bodyStart >= length else { return nil }
        let body = Array(buffer[headerEnd.bodyStart..<(headerEnd.bodyStart + length)])
        start = headerEnd.bodyStart + length
        compact()
        guard headers["CSeq"] != nil else { throw RTSPParseError(code: .missingCSeq, message: "every request needs a CSeq header") }
        return RTSPRequest(method: method, uri: uri, version: "RTSP/1.0", headers: headers, body: body)
    }

    private mutating func compact() {
        if start > 4096 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
    }

    private func firstLineLength() -> Int? {
        var index = start
        while index < buffer.count {
            if buffer[index] == 0x0a { return index - start }
            index += 1
        }
        return nil
    }

    /// End of the head ("\r\n\r\n" or "\n\n"), bounded to the header limit.
    private func findHeaderEnd() -> (headEnd: Int, bodyStart: Int)? {
        let limit = min(buffer.count, start + limits.maxHeaderBytes + 4)
        var index = start
        while index < limit {
            if buffer[index] == 0x0a {
                if index + 1 < buffer.count, buffer[index + 1] == 0x0a { return (index, index + 2) }
                if index + 2 < buffer.count, buffer[index + 1] == 0x0d, buffer[index + 2] == 0x0a { return (index, index + 3) }
            }
            index += 1
        }
        return nil
    }

    /// The space-separated words of `line` (runs of spaces count as one).
    private static func words(_ bytes: [UInt8], _ line: Range<Int>) -> [Range<Int>] {
        var words: [Range<Int>] = []
        var index = line.lowerBound
        while index < line.upperBound {
            while index < line.upperBound, bytes[index] == 0x20 { index += 1 }
            let wordStart = index
            while index < line.upperBound, bytes[index] != 0x20 { index += 1 }
            if index > wordStart { words.append(wordStart..<index) }
        }
        return words
    }
}

/// The non-empty lines of a range of bytes, split on LF, with a CR before the LF dropped.
struct LineCursor {
    let bytes: [UInt8]
    let range: Range<Int>
    /// Where the next line starts.
    private(set) var position: Int

    init(bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        self.range = range
        position = range.lowerBound
    }

    mutating func next() -> Range<Int>? {
        while position < range.upperBound {
            let lineStart = position
            while position < range.upperBound, bytes[position] != 0x0a { position += 1 }
            var lineEnd = position
            if position < range.upperBound { position += 1 }  // past the LF
            if lineEnd > lineStart, bytes[lineEnd - 1] == 0x0d { lineEnd -= 1 }
            if lineEnd > lineStart { return lineStart..<lineEnd }
        }
        return nil
    }
}
