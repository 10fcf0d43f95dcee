import Foundation
import SluiceCore
import Testing

extension IntegrationTests {
/// Hot objects copied engine to engine, cold copies dropped, corrupt replicas never served.
@Suite struct ReplicationTests {
    /// engine-a's link carries two 1 Mbit/s streams (1.05 Mbit/s reserved each), engine-b's
    /// plenty; a backbone carries copies between them.
    static func cluster(coolDown: String = "4s", engineSettings: String = "") throws -> Cluster {
        try Cluster(
            maxWait: "30s", engineLinks: ["engine-a": "2200000"],
            extraLinks: ["{ name: backbone, from: engine-a, to: engine-b, capacity: 1Gbit }"],
            extraYAML: """
                replication:
                  window: 3s
                  overloadRequests: 2
                  coolDown: \(coolDown)
                  copyRate: 20Mbit

                """, engineSettings: engineSettings)
    }

    struct Played: Sendable {
        var status: Int
        var streamID: UInt32?
        var bytes: Data
    }

    static func play(_ cluster: Cluster, _ object: String) async throws -> Played {
        let reply = try await cluster.get("/play/\(object)?maxWait=30")
        let id = reply.headers.first { $0.0.lowercased() == "x-sluice-stream-id" }.flatMap { UInt32($0.1) }
        guard reply.status == 302, let location = reply.headers.first(where: { $0.0.lowercased() == "location" })?.1 else {
            return Played(status: reply.status, streamID: id, bytes: Data())
        }
        let media = try await cluster.get("", headers: [], base: location)
        return Played(status: media.status, streamID: id, bytes: media.body)
    }

    struct ObjectStatus: Decodable {
        struct Replica: Decodable { var state: String; var engine: String }
        var replicas: [Replica]
    }

    @Test func aHotObjectIsCopiedToTheIdleEngineAndDroppedWhenDemandFalls() async throws {
        let cluster = try Self.cluster()
        defer { cluster.stop() }
        try await cluster.start()
        let sample = try cluster.makeSample(name: "clip", seconds: 4, bitrate: 1_000_000)
        try cluster.put(sample, as: "clip")
        let original = try Data(contentsOf: URL(fileURLWithPath: sample))
        #expect(try await cluster.json(ObjectStatus.self, "/v1/objects/clip").replicas.map(\.engine) == ["engine-a"])

        // Four clients at once: engine-a serves two; the other two wait, which makes the object
        // overloaded; the director copies it to engine-b and admits them there.
        let played = try await withThrowingTaskGroup(of: Played.self) { group in
            for _ in 0..<4 { group.addTask { try await Self.play(cluster, "clip") } }
            return try await group.reduce(into: [Played]()) { $0.append($1) }
        }
        #expect(played.allSatisfy { $0.status == 200 && $0.bytes == original }, "\(played.map(\.status))")

        let copyPath = cluster.directory + "/engine-b/objects/clip"
        #expect(FileManager.default.contents(atPath: copyPath) == original, "the copy's bytes are identical")
        let ids = Set(played.compactMap(\.streamID))
        // Engines report an HTTP stream's end after their reconnect grace.
        try await cluster.waitUntil("usage records of the four streams") {
            try await cluster.json([UsageRecord].self, "/v1/usage").filter { ids.contains($0.streamID) }.count == 4
        }
        let usage = try await cluster.json([UsageRecord].self, "/v1/usage")
        let copies = usage.filter { $0.kind == .copy }
        #expect(copies.count == 1 && copies.first?.engine == "engine-b" && copies.first?.endReason == .completed)
        if let copy = copies.first {
            // The holder paced the copy at the reserved background rate (20 Mbit/s), not faster.
            #expect(copy.reservedBitsPerSecond == 20_000_000)
            let seconds = (copy.endedAt - copy.startedAt).seconds
            #expect(Double(original.count * 8) / seconds <= 22_000_000, "\(original.count) bytes in \(seconds) s")
        }
        let streams = usage.filter { $0.kind == .play && ids.contains($0.streamID) }
        let onA = streams.filter { $0.engine == "engine-a" }
        let onB = streams.filter { $0.engine == "engine-b" }
        #expect(onA.count == 2 && onB.count == 2, "two streams per engine: \(streams.map(\.engine))")
        // More than two played at once: engine-b's streams began before engine-a's ended.
        if let firstEndOnA = onA.map(\.endedAt).min(), let firstStartOnB = onB.map(\.startedAt).min() {
            #expect(firstStartOnB < firstEndOnA)
        }

        // Demand stops: after the window and the cool-down the dynamic replica is dropped from
        // the directory and deleted from engine-b's disk.
        try await cluster.waitUntil("dynamic replica abandoned", timeout: .seconds(30)) {
            let status = try await cluster.json(ObjectStatus.self, "/v1/objects/clip")
            return status.replicas.map(\.engine) == ["engine-a"] && !FileManager.default.fileExists(atPath: copyPath)
        }
        let links = try await cluster.links()
        #expect(links.values.allSatisfy { $0.reservedBitsPerSecond == 0 }, "\(links)")
        #expect(cluster.director?.log.contains("abandoning a dynamic replica") == true)
    }

    /// A 2 s sample uploaded (to engine-a) and copied to engine-b by the operator; its bytes.
    static func storedOnBothEngines(_ cluster: Cluster, _ name: String) throws -> Data {
        let sample = try cluster.makeSample(name: name, seconds: 2, bitrate: 1_000_000)
        try cluster.put(sample, as: name)
        let copy = try cluster.run(["replicate", name, "--to", "engine-b", "--director", cluster.directorURL, "--key", cluster.apiKey])
        #expect(copy.status == 0, "\(copy.output)")
        #expect(copy.output.contains("verified and listed"))
        return try Data(contentsOf: URL(fileURLWithPath: sample))
    }

    @Test func operatorCopiesAndDropsAndCorruptReplicasAreQuarantined() async throws {
        let cluster = try Self.cluster(coolDown: "1h")
        defer { cluster.stop() }
        try await cluster.start()
        let original = try Self.storedOnBothEngines(cluster, "film")
        let listed = try await cluster.json(ObjectStatus.self, "/v1/objects/film").replicas
        #expect(listed.map(\.engine) == ["engine-a", "engine-b"] && listed.allSatisfy { $0.state == "static" })

        // Flip bytes of engine-a's file while it is down: at restart it is quarantined, the
        // director unlists it and players go to engine-b.
        cluster.engines["engine-a"]?.stop()
        let path = cluster.directory + "/engine-a/objects/film"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        for index in stride(from: 1000, to: 1100, by: 1) { bytes[index] ^= 0xFF }
        try bytes.write(to: URL(fileURLWithPath: path))
        let engineA = try ServerProcess(name: "engine-a", arguments: ["engine", "--config", cluster.configPath, "--name", "engine-a", "--director", cluster.directorURL])
        cluster.engines["engine-a"] = engineA
        _ = try await engineA.waitFor("object quarantined")
        try await cluster.waitUntil("corrupt replica unlisted") {
            try await cluster.json(ObjectStatus.self, "/v1/objects/film").replicas.map(\.engine) == ["engine-b"]
        }
        #expect(FileManager.default.fileExists(atPath: cluster.directory + "/engine-a/quarantine/film"))
        for _ in 0..<3 {
            let played = try await Self.play(cluster, "film")
            #expect(played.status == 200 && played.bytes == original, "served from the good replica only")
        }
        let usage = try await cluster.json([UsageRecord].self, "/v1/usage").filter { $0.kind == .play }
        #expect(usage.allSatisfy { $0.engine == "engine-b" })

        // The last replica cannot be dropped; a copy back, then a drop, can.
        let last = try cluster.run(["drop-replica", "film", "--on", "engine-b", "--director", cluster.directorURL, "--key", cluster.apiKey])
        #expect(last.status != 0)
        let back = try cluster.run(["replicate", "film", "--to", "engine-a", "--director", cluster.directorURL, "--key", cluster.apiKey])
        #expect(back.status == 0, "\(back.output)")
        let drop = try cluster.run(["drop-replica", "film", "--on", "engine-b", "--director", cluster.directorURL, "--key", cluster.apiKey])
        #expect(drop.status == 0, "\(drop.output)")
        #expect(try await cluster.json(ObjectStatus.self, "/v1/objects/film").replicas.map(\.engine) == ["engine-a"])
        #expect(!FileManager.default.fileExists(atPath: cluster.directory + "/engine-b/objects/film"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == original)
    }
    /// Bit rot on a running engine: its scrubber finds it, quarantines the file and tells the
    /// director, which unlists the replica and copies it again from the good one.
    @Test func aReplicaThatRotsWhileItsEngineRunsIsFoundAndCopiedAgain() async throws {
        let cluster = try Self.cluster(coolDown: "1h", engineSettings: "scrubInterval: 1s, scrubRate: 200Mbit")
        defer { cluster.stop() }
        try await cluster.start()
        let original = try Self.storedOnBothEngines(cluster, "reel")

        // One byte flipped in place on engine-b, size unchanged.
        let path = cluster.directory + "/engine-b/objects/reel"
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: 5000)
        try handle.write(contentsOf: Data([original[5000] ^ 0x01]))
        try handle.close()

        let engineB = try #require(cluster.engines["engine-b"])
        let director = try #require(cluster.director)
        _ = try await engineB.waitFor("object quarantined")
        try await cluster.waitUntil("the director to unlist the replica and copy it again") {
            guard director.log.contains("replacing a corrupt replica from a good one") else { return false }
            // Listed again (a copy in flight shows as "copying"), with the kind it had.
            let replicas = try await cluster.json(ObjectStatus.self, "/v1/objects/reel").replicas
            return replicas.map { "\($0.engine):\($0.state)" } == ["engine-a:static", "engine-b:static"]
        }
        #expect(director.log.contains("replica corrupt: unlisted"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == original, "the new replica is whole")
        #expect(FileManager.default.fileExists(atPath: cluster.directory + "/engine-b/quarantine/reel"))
        #expect(engineB.log.contains("scrub pass finished"))
    }
}
}
