import SluiceCore

extension LiveStream {
    /// The lease row's body: the document `JSONEncoder` writes for a `LiveStream`, written by
    /// hand because the director saves one per admission and per renewal. `load()` reads it
    /// back with `JSONDecoder`.
    var jsonBytes: [UInt8] {
        var json = JSONWriter(capacity: 512)
        json.beginObject()
        json.field("id", id)
        json.field("kind", kind.rawValue)
        json.field("object", object)
        json.field("engine", engine)
        json.field("clientAddress", clientAddress)
        json.beginArray("hops")
        for hop in hops {
            json.beginObject()
            json.field("link", hop.link)
            json.field("node", hop.node)
            json.field("label", hop.label)
            json.endObject()
        }
        json.endArray()
        json.beginObject("reservation")
        json.field("engine", reservation.engine)
        json.beginArray("links")
        for link in reservation.links { json.element(link) }
        json.endArray()
        json.field("bitsPerSecond", reservation.bitsPerSecond)
        json.field("streamSlots", reservation.streamSlots)
        json.field("bufferBytes", reservation.bufferBytes)
        json.field("ingestBitsPerSecond", reservation.ingestBitsPerSecond)
        json.field("diskBytes", reservation.diskBytes)
        json.endObject()
        admittedAt.write("admittedAt", to: &json)
        leaseExpiry.write("leaseExpiry", to: &json)
        json.field("bytesSent", bytesSent)
        json.field("isClaimed", isClaimed)
        quality?.write("quality", to: &json)
        lastReceiverReport?.write("lastReceiverReport", to: &json)
        if let user { json.field("user", user) }
        if let keyID { json.field("keyID", keyID) }
        if let visibility { json.field("visibility", visibility.rawValue) }
        json.endObject()
        return json.bytes
    }
}

extension UsageRecord {
    /// A record read back from a store's usage table (which keeps the reserved rate, not the
    /// path).
    static func stored(
        streamID: Int64, kind kindName: String, object: String, engine: String, client: String, startedMs: Int64, endedMs: Int64,
        bytes: Int64, reservedBitsPerSecond rate: Int64, endReason: String, fractionLost: Double?, cumulativeLost: Int64?,
        jitterMilliseconds: Double?, user: String?
    ) -> UsageRecord {
        let kind = LiveStream.Kind(rawValue: kindName) ?? .play
        let stream = LiveStream(
            id: UInt32(truncatingIfNeeded: streamID), kind: kind, object: object, engine: engine, clientAddress: client, hops: [],
            reservation: Reservation(
                engine: engine, links: [], bitsPerSecond: kind == .ingest ? 0 : rate, ingestBitsPerSecond: kind == .ingest ? rate : 0),
            admittedAt: Timestamp(millisecondsSinceEpoch: startedMs), leaseExpiry: Timestamp(millisecondsSinceEpoch: endedMs))
        var record = UsageRecord(
            stream: stream, endedAt: Timestamp(millisecondsSinceEpoch: endedMs), bytes: bytes,
            endReason: UsageRecord.EndReason(rawValue: endReason) ?? .completed)
        record.user = user
        if let fractionLost, let jitterMilliseconds {
            record.quality = ReceptionQuality(fractionLost: fractionLost, cumulativeLost: cumulativeLost ?? 0, jitterMilliseconds: jitterMilliseconds)
        }
        return record
    }
}
