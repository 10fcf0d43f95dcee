/// Writes JSON byte by byte for the few documents on hot paths (a grant per admission, a lease
/// row per admission and renewal), where `JSONEncoder` cost more than the admission itself.
/// What it writes, `JSONDecoder` reads back as the same value (tests hold each writer to that).
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var needsComma: [Bool] = []

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    /// Starts an object: an element of the current array (or the document) when `key` is nil,
    /// else the value of `key`.
    public mutating func beginObject(_ key: String? = nil) { open(UInt8(ascii: "{"), key: key) }
    public mutating func endObject() { close(UInt8(ascii: "}")) }
    public mutating func beginArray(_ key: String) { open(UInt8(ascii: "["), key: key) }
    public mutating func endArray() { close(UInt8(ascii: "]")) }

    private mutating func open(_ bracket: UInt8, key: String?) {
        if let key { self.key(key) } else { separate() }
        bytes.append(bracket)
        needsComma.append(false)
    }

    private mutating func close(_ bracket: UInt8) {
        needsComma.removeLast()
        bytes.append(bracket)
    }

    public mutating func field(_ key: String, _ value: String) {
        self.key(key)
        appendString(value)
    }

    public mutating func field(_ key: String, _ value: some BinaryInteger) {
        self.key(key)
        bytes.append(contentsOf: String(value).utf8)
    }

    /// Non-finite numbers have no JSON form; they are written as 0.
    public mutating func field(_ key: String, _ value: Double) {
        self.key(key)
        bytes.append(contentsOf: (value.isFinite ? String(value) : "0").utf8)
    }

    public mutating func field(_ key: String, _ value: Bool) {
        self.key(key)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// A string element of the current array.
    public mutating func element(_ value: String) {
        separate()
        appendString(value)
    }

    private mutating func key(_ key: String) {
        separate()
        appendString(key)
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func separate() {
        guard let last = needsComma.indices.last else { return }
        if needsComma[last] { bytes.append(UInt8(ascii: ",")) }
        needsComma[last] = true
    }

    /// A string literal: quotes, backslashes and control characters escaped, the rest as UTF-8.
    private mutating func appendString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            case 0..<0x20:
                bytes.append(contentsOf: #"\u00"#.utf8)
                bytes.append(Self.hex[Int(byte >> 4)])
                bytes.append(Self.hex[Int(byte & 0xf)])
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hex = Array("0123456789abcdef".utf8)
}

extension Timestamp {
    /// `"key":"2026-12-02T11:47:10.123Z"`, as its `Codable` writes it.
    public func write(_ key: String, to json: inout JSONWriter) {
        if isRFC3339Representable { json.field(key, rfc3339) } else { json.field(key, millisecondsSinceEpoch) }
    }
}

extension ReceptionQuality {
    /// `"key":{...}`, as its `Codable` writes it.
    public func write(_ key: String, to json: inout JSONWriter) {
        json.beginObject(key)
        json.field("fractionLost", fractionLost)
        json.field("cumulativeLost", cumulativeLost)
        json.field("jitterMilliseconds", jitterMilliseconds)
        json.endObject()
    }
}
