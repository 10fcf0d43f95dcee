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
        if let quality {
            json.beginObject("quality")
            json.field("fractionLost", quality.fractionLost)
            json.field("cumulativeLost", quality.cumulativeLost)
            json.field("jitterMilliseconds", quality.jitterMilliseconds)
            json.endObject()
        }
        lastReceiverReport?.write("lastReceiverReport", to: &json)
        json.endObject()
        return json.bytes
    }
}
