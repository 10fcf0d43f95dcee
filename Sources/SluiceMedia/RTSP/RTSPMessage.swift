/// Header fields of an RTSP message, in order, looked up case-insensitively (ASCII).
///
/// The fields lie in one byte buffer (a parsed head is copied into it once) and are described
/// by ranges into it: parsing a request makes no `String` per header, and a lookup compares
/// bytes and builds only the value it returns.
public struct RTSPHeaders: Hashable, Sendable, Sequence {
    public struct Field: Hashable, Sendable {
        public var name: String
        public var value: String
    }

    struct Span: Hashable, Sendable {
        var name: Range<Int>
        var value: Range<Int>
    }

    private var bytes: [UInt8]
    private var spans: [Span]

    public init(_ fields: [(String, String)] = []) {
        bytes = []
        spans = []
        for (name, value) in fields { add(name, value) }
    }

    /// Fields already found in `bytes` (the parsers).
    init(bytes: [UInt8], spans: [Span]) {
        self.bytes = bytes
        self.spans = spans
    }

    public var fields: [Field] { map { $0 } }

    public subscript(name: String) -> String? {
        guard let span = spans.first(where: { matches($0, name) }) else { return nil }
        return String(decoding: bytes[span.value], as: UTF8.self)
    }

    public mutating func add(_ name: String, _ value: String) {
        let nameStart = bytes.count
        bytes.append(contentsOf: name.utf8)
        let valueStart = bytes.count
        bytes.append(contentsOf: value.utf8)
        spans.append(Span(name: nameStart..<valueStart, value: valueStart..<bytes.count))
    }

    public mutating func set(_ name: String, _ value: String) {
        let kept = spans.filter { !matches($0, name) }
        spans = kept
        add(name, value)
    }

    /// Whether the field at `span` is called `name`, ignoring ASCII case.
    private func matches(_ span: Span, _ name: String) -> Bool {
        guard span.name.count == name.utf8.count else { return false }
        var index = span.name.lowerBound
        for byte in name.utf8 {
            guard Self.lowered(bytes[index]) == Self.lowered(byte) else { return false }
            index += 1
        }
        return true
    }

    private static func lowered(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte
    }

    public func makeIterator() -> AnyIterator<Field> {
        var iterator = spans.makeIterator()
        let bytes = self.bytes
        return AnyIterator {
            iterator.next().map { Field(name: String(decoding: bytes[$0.name], as: UTF8.self), value: String(decoding: bytes[$0.value], as: UTF8.self)) }
        }
    }

    public static func == (left: RTSPHeaders, right: RTSPHeaders) -> Bool {
        left.spans.count == right.spans.count && left.fields == right.fields
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fields)
    }
}

/// An RTSP/1.0 request (RFC 2326 §6).
public struct RTSPRequest: Hashable, Sendable {
    public var method: String
    public var uri: String
    public var version: String
    public var headers: RTSPHeaders
    public var body: [UInt8]

    public init(method: String, uri: String, version: String = "RTSP/1.0", headers: RTSPHeaders = RTSPHeaders(), body: [UInt8] = []) {
        self.method = method
        self.uri = uri
        self.version = version
        self.headers = headers
        self.body = body
    }

    /// `CSeq`, required on every request (RFC 2326 §12.17).
    public var cseq: String? { headers["CSeq"] }

    /// The request serialised, as a client sends it.
    public func serialized() -> [UInt8] {
        var text = "\(method) \(uri) \(version)\r\n"
        for field in headers { text += "\(field.name): \(field.value)\r\n" }
        if !body.isEmpty && headers["Content-Length"] == nil { text += "Content-Length: \(body.count)\r\n" }
        text += "\r\n"
        return Array(text.utf8) + body
    }
}

/// An RTSP/1.0 response (RFC 2326 §7).
public struct RTSPResponse: Hashable, Sendable {
    public var status: Int
    public var reason: String
    public var headers: RTSPHeaders
    public var body: [UInt8]

    public init(status: Int, reason: String? = nil, headers: RTSPHeaders = RTSPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.reason = reason ?? RTSPResponse.reasonPhrase(status)
        self.headers = headers
        self.body = body
    }

    public func serialized() -> [UInt8] {
        var text = "RTSP/1.0 \(status) \(reason)\r\n"
        for field in headers { text += "\(field.name): \(field.value)\r\n" }
        if !body.isEmpty || headers["Content-Length"] != nil {
            if headers["Content-Length"] == nil { text += "Content-Length: \(body.count)\r\n" }
        }
        text += "\r\n"
        return Array(text.utf8) + body
    }

    /// RFC 2326 §7.1.1.
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 302: "Moved Temporarily"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 413: "Request Entity Too Large"
        case 414: "Request-URI Too Large"
        case 431: "Request Header Fields Too Large"
        case 453: "Not Enough Bandwidth"
        case 454: "Session Not Found"
        case 455: "Method Not Valid in This State"
        case 457: "Invalid Range"
        case 459: "Aggregate Operation Not Allowed"
        case 461: "Unsupported Transport"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 505: "RTSP Version Not Supported"
        default: "Status \(status)"
        }
    }
}
