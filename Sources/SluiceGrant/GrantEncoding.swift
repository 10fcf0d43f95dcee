import SluiceCore

/// The grant's wire pieces, written byte by byte: the director signs one grant per admission,
/// and `JSONEncoder` plus Foundation's string replacement took a sixth of its time per `/play`.

/// URL-safe Base64 without padding (RFC 4648 section 5).
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = iterator.next()
            let group = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            out.append(alphabet[Int(group >> 18 & 0x3f)])
            out.append(alphabet[Int(group >> 12 & 0x3f)])
            if second != nil { out.append(alphabet[Int(group >> 6 & 0x3f)]) }
            if third != nil { out.append(alphabet[Int(group & 0x3f)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Nil for any byte outside the alphabet, padding, or a length no encoding produces.
    static func decode(_ text: Substring) -> [UInt8]? {
        let utf8 = text.utf8
        guard utf8.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count * 3 / 4)
        var group: UInt32 = 0
        var filled = 0
        for byte in utf8 {
            let value = values[Int(byte)]
            guard value != 0xff else { return nil }
            group = group << 6 | UInt32(value)
            filled += 1
            if filled == 4 {
                out.append(UInt8(group >> 16 & 0xff))
                out.append(UInt8(group >> 8 & 0xff))
                out.append(UInt8(group & 0xff))
                group = 0
                filled = 0
            }
        }
        switch filled {
        case 2: out.append(UInt8(group >> 4 & 0xff))
        case 3:
            out.append(UInt8(group >> 10 & 0xff))
            out.append(UInt8(group >> 2 & 0xff))
        default: break
        }
        return out
    }
}

extension StreamGrant {
    /// The grant as JSON, the document `JSONEncoder` writes (and `JSONDecoder` reads back).
    var jsonBytes: [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.field("streamID", streamID)
        json.field("action", action.rawValue)
        json.field("object", object)
        json.field("engine", engine)
        json.field("bitsPerSecond", bitsPerSecond)
        json.field("clientAddress", clientAddress)
        expiresAt.write("expiresAt", to: &json)
        if let sizeBytes { json.field("sizeBytes", sizeBytes) }
        if let sha256 { json.field("sha256", sha256) }
        if let profile {
            json.beginObject("profile")
            json.field("name", profile.name)
            json.field("version", profile.version)
            json.field("readBytes", profile.readBytes)
            json.field("readAheadBlocks", profile.readAheadBlocks)
            json.field("buffers", profile.buffers)
            json.field("pageCache", profile.pageCache.rawValue)
            json.field("burstPackets", profile.burstPackets)
            json.endObject()
        }
        json.endObject()
        return json.bytes
    }
}
