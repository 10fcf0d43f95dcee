/// A single byte range of an HTTP `Range` header (RFC 9110 §14), resolved against a length.
public struct ByteRange: Hashable, Sendable {
    /// First byte, inclusive.
    public var first: Int64
    /// Last byte, inclusive.
    public var last: Int64

    public var count: Int64 { last - first + 1 }

    /// `Content-Range` value for this range of a resource of `length` bytes.
    public func contentRange(length: Int64) -> String { "bytes \(first)-\(last)/\(length)" }

    public init(first: Int64, last: Int64) {
        self.first = first
        self.last = last
    }

    static let maxHeaderLength = 200

    /// Parses `bytes=a-b`, `bytes=a-` or `bytes=-n`. A nil header means the whole resource
    /// and returns nil.
    public static func parse(_ header: String?, length: Int64) throws(ByteRangeError) -> ByteRange? {
        guard let header else { return nil }
        guard header.utf8.count <= maxHeaderLength else {
            throw ByteRangeError(.malformed, "Range header longer than \(maxHeaderLength) bytes")
        }
        let trimmed = header.trimmingSpaces
        guard trimmed.lowercased().hasPrefix("bytes=") else {
            throw ByteRangeError(.malformed, "Range must use the 'bytes' unit")
        }
        let spec = trimmed.dropFirst("bytes=".count).trimmingSpaces
        guard !spec.contains(",") else {
            throw ByteRangeError(.multipleRanges, "only a single range is served; ask for one range at a time")
        }
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw ByteRangeError(.malformed, "expected 'bytes=first-last'") }
        let firstText = parts[0].trimmingSpaces
        let lastText = parts[1].trimmingSpaces
        func number(_ text: String) throws(ByteRangeError) -> Int64 {
            guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int64(text) else {
                throw ByteRangeError(.malformed, "'\(text.prefix(20))' is not a byte position")
            }
            return value
        }
        if firstText.isEmpty {
            let suffix = try number(lastText)
            guard suffix > 0, length > 0 else {
                throw ByteRangeError(.unsatisfiable, "suffix range of \(suffix) bytes on a \(length)-byte object")
            }
            return ByteRange(first: max(0, length - suffix), last: length - 1)
        }
        let first = try number(firstText)
        let requestedLast = lastText.isEmpty ? nil : try number(lastText)
        if let last = requestedLast, last < first { throw ByteRangeError(.malformed, "range ends (\(last)) before it starts (\(first))") }
        guard first < length else {
            throw ByteRangeError(.unsatisfiable, "range starts at byte \(first) but the object has \(length) bytes")
        }
        let last = requestedLast ?? length - 1
        return ByteRange(first: first, last: min(last, length - 1))
    }
}

public struct ByteRangeError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        case malformed
        case multipleRanges = "multiple_ranges"
        case unsatisfiable
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// 416 for ranges that cannot be served, 400 for syntax errors.
    public var httpStatus: Int { code == .malformed ? 400 : 416 }

    public var description: String { message }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
