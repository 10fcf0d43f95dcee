import SluiceCore

/// Replicas an engine found corrupt (its scrubber re-verifies objects in the background): the
/// replica is unlisted at once, then copied again to the same engine from a good one.
extension Director {
    /// An engine quarantined its replica of `object`. False when that replica was not listed.
    @discardableResult
    public func replicaCorrupt(object: String, engine: String, reason: String) async -> Bool {
        guard controller.directory.replicas[object]?.contains(engine) == true else { return false }
        let kind = controller.directory.kind(of: object, on: engine)
        controller.replicaDropped(object: object, engine: engine, now: clock.now())
        await persist { try await $0.delete(replicaOf: object, on: engine) }
        let others = controller.directory.replicas[object, default: []].sorted()
        logger.error("replica corrupt: unlisted", metadata: [
            "object": "\(object)", "engine": "\(engine)", "reason": "\(reason)", "good_replicas": "\(others)",
        ])
        guard !others.isEmpty else {
            logger.critical("no good replica is left: the object cannot be played until it is uploaded again", metadata: ["object": "\(object)"])
            return true
        }
        pendingRepairs[ReplicaKey(object: object, engine: engine)] = kind
        await repairReplicas()
        return true
    }

    /// Orders a copy for each replica waiting for repair (again each second while a copy
    /// cannot start, for example while every route is full).
    func repairReplicas() async {
        for (key, kind) in pendingRepairs.sorted(by: { $0.key < $1.key }) {
            guard controller.directory.objects[key.object] != nil, controller.directory.replicas[key.object]?.contains(key.engine) != true,
                  controller.directory.engines[key.engine] != nil else {
                pendingRepairs[key] = nil
                continue
            }
            guard controller.replication.copying(key.object).allSatisfy({ $0.target != key.engine }) else { continue }
            if case .success = await startCopy(object: key.object, from: nil, to: key.engine, kind: kind) {
                logger.info("replacing a corrupt replica from a good one", metadata: ["object": "\(key.object)", "engine": "\(key.engine)"])
                pendingRepairs[key] = nil
            }
        }
    }
}
