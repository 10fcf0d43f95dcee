import PostgresNIO
import SluiceCore

/// One replication planner for the cluster (see `PostgresReplicationLead`), the demand every
/// director publishes for it, and drains every director honours.
extension PostgresStore {
    public var leadsReplication: Bool { lead.isHeld }

    public func publish(demand: [ObjectDemand], at now: Timestamp) async throws {
        let objects = demand.map(\.object)
        let admitted = demand.map { Int64($0.counts.admitted) }
        let queued = demand.map { Int64($0.counts.queued) }
        let refused = demand.map { Int64($0.counts.refused) }
        let edges = demand.map(\.edge)
        let turnedAway = demand.map { $0.turnedAwayEdge ?? "" }
        let director = directorID
        let logger = logger
        _ = try await client.withTransaction(logger: logger) { connection in
            try await connection.query("DELETE FROM demand WHERE director = \(director)", logger: logger)
            guard !objects.isEmpty else { return }
            try await connection.query(
                """
                INSERT INTO demand (director, object, admitted, queued, refused, edge, turned_away_edge, seen_ms)
                SELECT \(director), o, a, q, r, e, NULLIF(t, ''), \(now.millisecondsSinceEpoch)
                FROM unnest(\(objects)::text[], \(admitted)::bigint[], \(queued)::bigint[], \(refused)::bigint[],
                  \(edges)::text[], \(turnedAway)::text[]) AS u(o, a, q, r, e, t)
                """, logger: logger)
        }
    }

    public func clusterActivity(since cutoff: Timestamp) async throws -> ClusterActivity {
        var activity = ClusterActivity()
        let demand = try await query(
            """
            SELECT object, sum(admitted)::bigint, sum(queued)::bigint, sum(refused)::bigint, max(edge), max(turned_away_edge)
            FROM demand WHERE director <> \(directorID) AND seen_ms >= \(cutoff.millisecondsSinceEpoch) GROUP BY object
            """)
        for try await (object, admitted, queued, refused, edge, turnedAway) in demand.decode((String, Int64, Int64, Int64, String, String?).self) {
            var counts = DemandCounts()
            counts.admitted = Int(admitted)
            counts.queued = Int(queued)
            counts.refused = Int(refused)
            activity.demand[object] = ObjectDemand(object: object, counts: counts, edge: edge, turnedAwayEdge: turnedAway)
        }
        for try await (object, target) in try await query("SELECT object, engine FROM streams WHERE kind = 'copy'").decode((String, String).self) {
            activity.copying[object, default: []].insert(target)
        }
        return activity
    }

    public func isPlaying(object: String, on engine: String) async throws -> Bool {
        let rows = try await query("SELECT 1 FROM streams WHERE kind = 'play' AND object = \(object) AND engine = \(engine) LIMIT 1")
        for try await _ in rows.decode(Int32.self) { return true }
        return false
    }

    public func save(draining engine: String, _ draining: Bool) async throws {
        if draining {
            try await query("INSERT INTO drains (engine) VALUES (\(engine)) ON CONFLICT DO NOTHING")
        } else {
            try await query("DELETE FROM drains WHERE engine = \(engine)")
        }
        try await notifyCatalog()
    }
}
