import PostgresNIO
import SluiceCore

/// `sluice_admit` as a prepared statement: parsed and planned once per connection, since it
/// runs once per admission.
struct AdmitStatement: PostgresPreparedStatement {
    static let name = "sluice_admit_v1"
    static let sql = """
        SELECT sluice_admit($1::bigint, $2::text, $3::text, $4::text, $5::text, $6::text, $7::bigint, $8::bigint,
          $9::bigint, $10::bigint, $11::bigint, $12::bigint, $13::bigint, $14::text[], $15::bigint[], $16::text[],
          $17::bigint[], $18::text)
        """
    typealias Row = String

    var stream: LiveStream
    var directorID: String
    var links: [String]
    var amounts: [Int64]
    var body: String

    func makeBindings() throws -> PostgresBindings {
        let reservation = stream.reservation
        var bindings = PostgresBindings(capacity: 18)
        bindings.append(Int64(stream.id))
        bindings.append(directorID)
        bindings.append(stream.kind.rawValue)
        bindings.append(stream.object)
        bindings.append(stream.engine)
        bindings.append(stream.clientAddress)
        bindings.append(stream.admittedAt.millisecondsSinceEpoch)
        bindings.append(stream.leaseExpiry.millisecondsSinceEpoch)
        bindings.append(reservation.bitsPerSecond)
        bindings.append(Int64(reservation.streamSlots))
        bindings.append(reservation.bufferBytes)
        bindings.append(reservation.ingestBitsPerSecond)
        bindings.append(reservation.diskBytes)
        bindings.append(links)
        bindings.append(amounts)
        bindings.append(stream.hops.map(\.node))
        bindings.append(stream.hops.map { Int64($0.label) })
        bindings.append(body)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> String {
        try row.decode(String.self)
    }
}
