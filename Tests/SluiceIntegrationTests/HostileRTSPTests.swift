import Foundation
import SluiceCore
import Testing

extension IntegrationTests {
/// What a key holder with a script can send the RTSP door: transports that would break the
/// engine's shared sockets, sessions held without playing, another connection's session ID,
/// a replayed answer. None of it reaches another player or holds a reservation for long.
@Suite struct HostileRTSPTests {
    @Test func malformedTransportsAreRefusedAndEveryoneKeepsTheirRTCP() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "clip", seconds: 2, bitrate: 1_000_000), as: "clip")
        let rtsp = try RTSPConnection(url: cluster.rtspURL + "/clip", key: cluster.apiKey)
        defer { rtsp.close() }
        for ports in ["65535-65536", "5000-0", "-1--2", "5000-4000", "0-1", "1-2", "53-54", "65535", "5000-5002", "99999-100000", "x-y"] {
            let reply = try rtsp.send("SETUP", "Transport: RTP/AVP;unicast;client_port=\(ports)\r\n").reply
            #expect(reply.hasPrefix("RTSP/1.0 461"), "client_port=\(ports): \(reply.prefix(120))")
            #expect(reply.contains("X-Sluice-Reason: client_port"), "client_port=\(ports): no reason given")
            #expect(RTSPConnection.sessionID(in: reply) == nil)
            _ = try rtsp.send("TEARDOWN", "Session: 0\r\n")
        }
        #expect(try await cluster.json([LiveStream].self, "/v1/streams").isEmpty, "a refused SETUP holds nothing")

        // A session may not point the engine at its own sockets.
        let probe = try UDPArrivals.pair()
        let first = try rtsp.send("SETUP", "Transport: RTP/AVP;unicast;client_port=\(probe.rtp.port)-\(probe.rtcp.port)\r\n").reply
        let serverPorts = try #require(first.split(separator: "server_port=").last?.prefix { $0 != ";" && $0 != "\r" })
        #expect(!serverPorts.hasSuffix("-0"), "server_port=\(serverPorts)")
        let firstSession = try #require(RTSPConnection.sessionID(in: first))
        #expect(try rtsp.send("TEARDOWN", "Session: \(firstSession)\r\n").reply.hasPrefix("RTSP/1.0 200"))
        let own = try rtsp.send("SETUP", "Transport: RTP/AVP;unicast;client_port=\(serverPorts)\r\n").reply
        #expect(!own.hasPrefix("RTSP/1.0 200"), "the engine was told to send to itself: \(own.prefix(160))")
        probe.rtp.close()
        probe.rtcp.close()

        // After all that, a normal session gets its sender reports and the BYE at the end.
        let player = try UDPArrivals.pair()
        defer { player.rtp.close(); player.rtcp.close() }
        let setup = try rtsp.send("SETUP", "Transport: RTP/AVP;unicast;client_port=\(player.rtp.port)-\(player.rtcp.port)\r\n").reply
        #expect(setup.hasPrefix("RTSP/1.0 200"), "\(setup.prefix(200))")
        let session = try #require(RTSPConnection.sessionID(in: setup))
        #expect(try rtsp.send("PLAY", "Session: \(session)\r\n").reply.hasPrefix("RTSP/1.0 200"))
        try await cluster.waitUntil("the BYE at the end of the stream", timeout: .seconds(15)) { player.rtcp.rtcpPacketTypes.contains(203) }
        #expect(player.rtcp.rtcpPacketTypes.filter { $0 == 200 }.count >= 1, "sender reports: \(player.rtcp.rtcpPacketTypes)")
        #expect(player.rtp.count > 100)
    }

    @Test func aSessionIsControlledOnlyByItsConnectionOrItsPrincipal() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "clip", seconds: 10, bitrate: 1_000_000), as: "clip")
        let alice = try AccessTests.user(cluster, "alice", role: "viewer")
        let mallory = try AccessTests.user(cluster, "mallory", role: "viewer")
        let url = cluster.rtspURL + "/clip"
        let owner = try RTSPConnection(url: url, key: alice.key)
        defer { owner.close() }
        let player = try UDPArrivals.pair()
        defer { player.rtp.close(); player.rtcp.close() }
        let setup = try owner.send("SETUP", "Transport: RTP/AVP;unicast;client_port=\(player.rtp.port)-\(player.rtcp.port)\r\n").reply
        let session = try #require(RTSPConnection.sessionID(in: setup), "\(setup)")
        let ssrc = try #require(setup.split(separator: "ssrc=").last?.prefix(8)).description

        // Another connection from another address, with no credentials: 401, for every method.
        let stranger = try RTSPConnection(url: url, key: nil, from: "127.0.0.2")
        defer { stranger.close() }
        for method in ["PLAY", "PAUSE", "GET_PARAMETER", "SET_PARAMETER", "TEARDOWN"] {
            let reply = try stranger.send(method, "Session: \(session)\r\n").reply
            #expect(reply.hasPrefix("RTSP/1.0 401"), "\(method) without credentials: \(reply.prefix(100))")
        }
        // Another user's key: 454, as if the session did not exist.
        let thief = try RTSPConnection(url: url, key: mallory.key)
        defer { thief.close() }
        for method in ["PLAY", "TEARDOWN", "GET_PARAMETER"] {
            let reply = try thief.send(method, "Session: \(session)\r\n").reply
            #expect(reply.hasPrefix("RTSP/1.0 454"), "\(method) with another user's key: \(reply.prefix(100))")
        }
        #expect(try await cluster.json([LiveStream].self, "/v1/streams").count == 1, "the owner's stream is untouched")
        #expect(player.rtp.count == 0, "nobody but the owner started the stream")

        // The owner plays on its connection; the same user from a new connection may pause it.
        #expect(try owner.send("PLAY", "Session: \(session)\r\n").reply.hasPrefix("RTSP/1.0 200"))
        let again = try RTSPConnection(url: url, key: alice.key)
        defer { again.close() }
        #expect(try again.send("PAUSE", "Session: \(session)\r\n").reply.hasPrefix("RTSP/1.0 200"))
        #expect(try owner.send("TEARDOWN", "Session: \(session)\r\n").reply.hasPrefix("RTSP/1.0 200"))

        // Stream IDs (the SSRC) are not sequential: the next SETUP's cannot be guessed from this one.
        var ids: [UInt32] = [try #require(UInt32(ssrc, radix: 16))]
        for _ in 0..<3 {
            let next = try owner.send("SETUP", "Transport: RTP/AVP;unicast;client_port=\(player.rtp.port)-\(player.rtcp.port)\r\n").reply
            ids.append(try #require(next.split(separator: "ssrc=").last.flatMap { UInt32($0.prefix(8), radix: 16) }))
            _ = try owner.send("TEARDOWN", "Session: \(try #require(RTSPConnection.sessionID(in: next)))\r\n")
        }
        let steps = zip(ids, ids.dropFirst()).map { Int64($1) - Int64($0) }
        #expect(!steps.allSatisfy { abs($0) < 1000 }, "stream IDs \(ids) are close to sequential")
    }

    @Test func aSessionThatNeverPlaysIsReleasedWhateverKeepAlivesArrive() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"], directorSettings: "claimTimeout: 2s")
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "clip", seconds: 10, bitrate: 1_000_000), as: "clip")
        let rtsp = try RTSPConnection(url: cluster.rtspURL + "/clip", key: cluster.apiKey)
        defer { rtsp.close() }
        let player = try UDPArrivals.pair()
        defer { player.rtp.close(); player.rtcp.close() }
        var sessions: [String] = []
        for offset in 0..<3 {
            let ports = "\(player.rtp.port + 2 * offset)-\(player.rtp.port + 2 * offset + 1)"
            let reply = try rtsp.send("SETUP", "Transport: RTP/AVP;unicast;client_port=\(ports)\r\n").reply
            sessions.append(try #require(RTSPConnection.sessionID(in: reply), "\(reply)"))
        }
        #expect(try await cluster.json([LiveStream].self, "/v1/streams").count == 3)
        let deadline = ContinuousClock.now + .seconds(6)
        while ContinuousClock.now < deadline {
            for session in sessions { _ = try rtsp.send("GET_PARAMETER", "Session: \(session)\r\n") }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(try await cluster.json([LiveStream].self, "/v1/streams").isEmpty, "keep-alives held reservations past the claim timeout")
        let usage = String(decoding: try await cluster.get("/v1/usage?format=csv").body, as: UTF8.self)
        #expect(usage.split(separator: "\n").filter { $0.contains(",unclaimed,") }.count == 3, "\(usage)")
        let late = try rtsp.send("PLAY", "Session: \(sessions[0])\r\n").reply
        #expect(!late.hasPrefix("RTSP/1.0 200"), "\(late.prefix(100))")
    }
}
}
