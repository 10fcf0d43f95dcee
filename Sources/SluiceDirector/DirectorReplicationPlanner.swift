import SluiceCore

/// One replication planner for the cluster. Every director publishes the demand it sees to the
/// shared store once a second; the director holding the planner's lock (see `SharedStore`)
/// reads everyone's, with every copy in flight, and alone orders dynamic copies and drops. Its
/// death frees the lock and another director plans from the next second on.
extension Director {
    /// Demand older than this is from a director that stopped publishing (it died).
    static let publishedDemandFreshness: Duration = .seconds(3)

    /// Publishes this director's demand, then says whether it plans now (always without a
    /// shared store), having read the rest of the cluster's activity if so.
    func planningTurn(now: Timestamp) async -> Bool {
        guard let shared else { return true }
        let local = controller.replication.localDemand(at: now)
        if !local.isEmpty || demandPublished {
            do {
                try await timed("write") { try await shared.publish(demand: local, at: now) }
                demandPublished = !local.isEmpty
            } catch {
                logger.error("shared store unreachable: demand not published", metadata: ["error": "\(error)"])
            }
        }
        let leads = shared.leadsReplication
        if leads != plansReplication {
            plansReplication = leads
            metrics.replicationPlanner.set(Double(leads ? 1 : 0))
            if leads {
                logger.notice("replication planner: this director plans copies for the cluster (it holds the planner's lock)")
            } else {
                logger.notice("replication planner: this director no longer plans (the planner's lock is held elsewhere or its connection failed)")
            }
        }
        guard leads else { return false }
        do {
            controller.clusterActivityObserved(try await shared.clusterActivity(since: now - Self.publishedDemandFreshness))
        } catch {
            logger.error("shared store unreachable: no replication plan this second", metadata: ["error": "\(error)"])
            return false
        }
        return true
    }
}
