extension ClusterMessages.Renewals {
    /// The body `JSONEncoder` writes for these renewals, written by hand: an engine sends one
    /// batch a second with every stream it serves, and at a thousand streams encoding it with
    /// `JSONEncoder` was 4 % of the engine's samples. The director reads it with `JSONDecoder`.
    public var jsonBytes: [UInt8] {
        var json = JSONWriter(capacity: 64 + items.count * 160)
        json.beginObject()
        json.beginArray("items")
        for item in items {
            json.beginObject()
            json.field("streamID", item.streamID)
            json.beginObject("renewal")
            let renewal = item.renewal
            json.field("bytesSent", renewal.bytesSent)
            renewal.quality?.write("quality", to: &json)
            if let age = renewal.receiverReportAgeMilliseconds { json.field("receiverReportAgeMilliseconds", age) }
            if let position = renewal.position {
                json.beginObject("position")
                json.field("milliseconds", position.milliseconds)
                json.field("sequence", position.sequence)
                json.field("rtpTime", position.rtpTime)
                json.field("isPlaying", position.isPlaying)
                json.field("packetsPerSecond", position.packetsPerSecond)
                json.endObject()
            }
            json.endObject()
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return json.bytes
    }
}
