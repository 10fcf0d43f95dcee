/// Parses the human quantities config files use: rates ("100Mbit", "4M", "1.5G" bit/s),
/// sizes ("256MiB", "10GB", "4096") and durations ("10s", "500ms", "2m", "30").
public enum Quantity {
    public static func bitsPerSecond(_ text: String) -> Int64? {
        var body = text.trimmed.lowercased()
        for suffix in ["bit/s", "bps", "bit", "b/s"] where body.hasSuffix(suffix) {
            body = String(body.dropLast(suffix.count))
            break
        }
        return scaled(body, units: ["k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12])
    }

    public static func bytes(_ text: String) -> Int64? {
        var body = text.trimmed.lowercased()
        if body.hasSuffix("ib") {
            body = String(body.dropLast(2))
            return scaled(body, units: ["k": 1024, "m": 1_048_576, "g": 1_073_741_824, "t": 1_099_511_627_776])
        }
        if body.hasSuffix("b") { body = String(body.dropLast()) }
        return scaled(body, units: ["k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12])
    }

    public static func duration(_ text: String) -> Duration? {
        let body = text.trimmed.lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = Substring(body)
        var scale = 1.0
        if let (suffix, unit) = units.first(where: { body.hasSuffix($0.0) }) {
            number = body.dropLast(suffix.count)
            scale = unit
        }
        // At most about 31 years: the value ends up as integer milliseconds (found by Fuzz/run.sh config).
        guard let value = Double(number), value >= 0, value.isFinite, value * scale <= 1e9 else { return nil }
        return .milliseconds(Int64(value * scale * 1000))
    }

    private static func scaled(_ body: String, units: [String: Double]) -> Int64? {
        var number = body.trimmed
        var scale = 1.0
        if let last = number.last, let unit = units[String(last)] {
            scale = unit
            number.removeLast()
        }
        guard let value = Double(number.trimmed), value >= 0, value.isFinite, value * scale < 9e18 else { return nil }
        return Int64((value * scale).rounded())
    }
}

extension String {
    var trimmed: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
