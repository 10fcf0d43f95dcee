import AsyncHTTPClient
import Logging
import SluiceCore
@testable import SluiceDirector
import SluiceGrant
import SluiceMedia
import SluiceTestKit
import Testing

/// The RTSP front door against a stand-in director (the `RTSPDirector` interface): how it
/// authenticates, describes and says the play decision's refusals, with no server and no engine.
@Suite(.timeLimit(.minutes(1))) struct RTSPServiceTests {
    actor StandInDirector: RTSPDirector {
        var refusal = AdmissionRefusal(.pathFull, "link 'core-edge' is full", link: "core-edge")
        var admissions = 0
        nonisolated let engineFailures = AsyncStream<Director.EngineFailure> { $0.finish() }

        func refuse(with refusal: AdmissionRefusal) { self.refusal = refusal }

        func admitPlay(_ request: PlayRequest) async -> Result<PlayTicket, AdmissionRefusal> {
            admissions += 1
            return .failure(refusal)
        }

        func end(streamID: UInt32, bytesSent: Int64?, reason: UsageRecord.EndReason, quality: ReceptionQuality?) async -> LiveStream? { nil }

        func authenticate(_ key: String?) async -> Result<Principal, Identities.Failure> {
            key == "good-key" ? .success(.configurationAdmin) : .failure(key == nil ? .missing : .unknown)
        }

        func authenticate(digest answer: DigestAnswer, method: String, connection: UInt64) async -> (principal: Principal?, stale: Bool) { (nil, false) }
        func digestChallenge(stale: Bool, connection: UInt64) async -> String? { "Digest realm=\"sluice\", nonce=\"n\"" }

        func playableObject(_ name: String, for principal: Principal) async -> MediaObject? {
            name == "clip" ? MediaObject(name: "clip", sizeBytes: 1, durationMilliseconds: 4_000, averageBitsPerSecond: 1, sha256: "") : nil
        }

        func handOff(for kind: AdmissionRequest.Kind, clientAddress: String) async -> AdmissionRefusal.HandOff? { nil }
        func playStates(_ streams: [(id: UInt32, engine: String)]) async -> [UInt32: Director.PlayState] { [:] }
    }

    let director = StandInDirector()
    let peer = RTSPService.Peer(clientHost: "127.0.0.1", serverHost: "127.0.0.1", serverPort: 8554)

    func service() -> RTSPService {
        RTSPService(
            director: director, engines: EngineControl(token: "t", client: .shared), clock: MockClock(),
            sessionTimeout: .seconds(60), claimTimeout: .seconds(15), logger: Logger(label: "test"))
    }

    func request(_ method: String, _ path: String, _ headers: [(String, String)] = []) -> RTSPRequest {
        RTSPRequest(method: method, uri: "rtsp://127.0.0.1:8554/\(path)", headers: RTSPHeaders([("CSeq", "7")] + headers))
    }

    static let udp = ("Transport", "RTP/AVP;unicast;client_port=5000-5001")

    @Test func describeAsksForCredentialsOffersBothSchemesAndHidesWhatIsNotThere() async {
        let rtsp = service()
        let anonymous = await rtsp.handle(request("DESCRIBE", "clip"), peer: peer)
        #expect(anonymous.status == 401)
        let challenges = anonymous.headers.filter { $0.name == "WWW-Authenticate" }.map(\.value)
        #expect(challenges.contains { $0.hasPrefix("Basic") } && challenges.contains { $0.hasPrefix("Digest") })
        #expect(anonymous.headers["CSeq"] == "7")
        let described = await rtsp.handle(request("DESCRIBE", "clip?key=good-key"), peer: peer)
        #expect(described.status == 200)
        #expect(String(decoding: described.body, as: UTF8.self).contains("a=range:npt=0-4"))
        let missing = await rtsp.handle(request("DESCRIBE", "other?key=good-key"), peer: peer)
        #expect(missing.status == 404)
        #expect(missing.headers["X-Sluice-Reason"] == Entitlements.notFoundMessage("other"))
    }

    @Test func setupSaysEachRefusalWithTheStatusOfTheOneTable() async {
        let rtsp = service()
        let cases: [(AdmissionRefusal.Code, Int)] = [(.pathFull, 453), (.waitExpired, 453), (.queueFull, 453), (.unknownObject, 404), (.engineUnavailable, 503)]
        for (code, status) in cases {
            await director.refuse(with: AdmissionRefusal(code, "refused: \(code.rawValue)"))
            let reply = await rtsp.handle(request("SETUP", "clip/track0?key=good-key", [Self.udp]), peer: peer)
            #expect(reply.status == status, "\(code)")
            #expect(reply.status == RefusalAnswer(code).rtsp)
            #expect(reply.headers["X-Sluice-Reason"] == "refused: \(code.rawValue)")
        }
        #expect(await director.admissions == cases.count)
    }

    @Test func setupThatWouldPutTheDirectorInTheMediaPathOrJoinASessionIsRefusedBeforeAdmission() async {
        let rtsp = service()
        let tcp = await rtsp.handle(request("SETUP", "clip/track0?key=good-key", [("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")]), peer: peer)
        #expect(tcp.status == 461)
        let inSession = await rtsp.handle(request("SETUP", "clip/track0?key=good-key", [Self.udp, ("Session", "abc")]), peer: peer)
        #expect(inSession.status == 459)
        let anonymous = await rtsp.handle(request("SETUP", "clip/track0", [Self.udp]), peer: peer)
        #expect(anonymous.status == 401)
        #expect(await director.admissions == 0)
    }

    @Test func sessionMethodsWithoutALiveSessionAre454() async {
        let rtsp = service()
        for method in ["PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER"] {
            let reply = await rtsp.handle(request(method, "clip", [("Session", "nosuch")]), peer: peer)
            #expect(reply.status == 454, "\(method)")
        }
        #expect(await rtsp.handle(request("PLAY", "clip"), peer: peer).status == 454)
        #expect(await rtsp.handle(request("OPTIONS", "clip"), peer: peer).status == 200)
        #expect(await rtsp.handle(request("RECORD", "clip"), peer: peer).status == 405)
    }
}
