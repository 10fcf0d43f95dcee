/// Header fields of an RTSP message, in order, looked up case-insensitively.
public struct RTSPHeaders: Hashable, Sendable, Sequence {
    public private(set) var fields: [Field]

    public struct Field: Hashable, Sendable {
        public var name: String
        public var value: String
    }

    public init(_ fields: [(String, String)] = []) {
        self.fields = fields.map { Field(name: $0.0, value: $0.1) }
    }

    public subscript(name: String) -> String? {
        let lowered = name.lowercased()
        return fields.first { $0.name.lowercased() == lowered }?.value
    }

    public mutating func add(_ name: String, _ value: String) {
        fields.append(Field(name: name, value: value))
    }

    public mutating func set(_ name: String, _ value: String) {
        let lowered = name.lowercased()
        fields.removeAll { $0.name.lowercased() == lowered }
        fields.append(Field(name: name, value: value))
    }

    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }
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
