import PostgresNIO
import SluiceCore

/// `sluice_admit_batch` as a prepared statement: one row per admission in each array, a path's
/// links as a slice of `links` (from `linkStart[i]` to `linkStart[i + 1] - 1`, 1-based), each
/// label naming its admission.
struct AdmitBatchStatement: PostgresPreparedStatement {
    static let name = "sluice_admit_batch_v1"
    static let sql = """
        SELECT sluice_admit_batch($1::text, $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
          $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::text[],
          $15::int[], $16::text[], $17::bigint[], $18::int[], $19::text[], $20::bigint[])
        """
    typealias Row = [String]

    var streams: [LiveStream]
    var directorID: String

    func makeBindings() throws -> PostgresBindings {
        var linkStart: [Int32] = [1]
        var links: [String] = []
        var amounts: [Int64] = []
        var labelOf: [Int32] = []
        var nodes: [String] = []
        var labels: [Int64] = []
        for (index, stream) in streams.enumerated() {
            // Each link once with everything the path books on it, in name order.
            var perLink: [String: Int64] = [:]
            for link in stream.reservation.links { perLink[link, default: 0] += stream.reservation.bitsPerSecond }
            for link in perLink.keys.sorted() {
                links.append(link)
                amounts.append(perLink[link] ?? 0)
            }
            linkStart.append(Int32(links.count + 1))
            for hop in stream.hops {
                labelOf.append(Int32(index + 1))
                nodes.append(hop.node)
                labels.append(Int64(hop.label))
            }
        }
        var bindings = PostgresBindings(capacity: 20)
        bindings.append(directorID)
        bindings.append(streams.map { Int64($0.id) })
        bindings.append(streams.map(\.kind.rawValue))
        bindings.append(streams.map(\.object))
        bindings.append(streams.map(\.engine))
        bindings.append(streams.map(\.clientAddress))
        bindings.append(streams.map(\.admittedAt.millisecondsSinceEpoch))
        bindings.append(streams.map(\.leaseExpiry.millisecondsSinceEpoch))
        bindings.append(streams.map(\.reservation.bitsPerSecond))
        bindings.append(streams.map { Int64($0.reservation.streamSlots) })
        bindings.append(streams.map(\.reservation.bufferBytes))
        bindings.append(streams.map(\.reservation.ingestBitsPerSecond))
        bindings.append(streams.map(\.reservation.diskBytes))
        bindings.append(streams.map { String(decoding: $0.jsonBytes, as: UTF8.self) })
        bindings.append(linkStart)
        bindings.append(links)
        bindings.append(amounts)
        bindings.append(labelOf)
        bindings.append(nodes)
        bindings.append(labels)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> [String] {
        try row.decode([String].self)
    }
}
