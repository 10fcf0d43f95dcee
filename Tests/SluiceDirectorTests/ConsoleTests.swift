import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SluiceCore
@testable import SluiceDirector
import Testing

/// The console's login and session, in process: the key goes in a POST body and comes back as
/// an HttpOnly, SameSite=Strict cookie; other keys, other sites and logged-out cookies get nothing.
extension DirectorApplicationTests {
    static func form(_ key: String) -> ByteBuffer { ByteBuffer(string: "key=" + (key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? key)) }
    static let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    /// Adds a viewer `name` through the API and returns a fresh key of theirs.
    static func viewerKey(_ client: some TestClientProtocol, named name: String) async throws -> String {
        try await client.execute(
            uri: "/v1/users", method: .post, headers: [.authorization: "Bearer \(key)", .contentType: "application/json"],
            body: ByteBuffer(string: #"{"name":"\#(name)","role":"viewer"}"#)) { #expect($0.status == .created) }
        var issued = ""
        try await client.execute(uri: "/v1/users/\(name)/keys", method: .post, headers: [.authorization: "Bearer \(key)"]) { response in
            #expect(response.status == .created)
            issued = (try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])?["key"] as? String ?? ""
        }
        return issued
    }

    /// The `sluice_console` token a login answer sets, if any.
    static func sessionCookie(_ response: TestResponse) -> String? {
        guard let header = response.headers[.setCookie], header.hasPrefix("sluice_console=") else { return nil }
        let token = header.dropFirst("sluice_console=".count).prefix { $0 != ";" }
        return token.isEmpty ? nil : String(token)
    }

    @Test func theConsoleAsksForAnAdminKeyAndKeepsOnlyACookie() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let built = try await build()
        try await built.application.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                let page = String(buffer: response.body)
                #expect(page.contains(#"<form method="post" action="/console/login">"#) && !page.contains("console.js"))
                #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true)
            }
            try await client.execute(uri: "/console/events", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/console/login", method: .post, headers: Self.formHeaders, body: Self.form("not-a-key")) { response in
                #expect(response.status == .unauthorized && Self.sessionCookie(response) == nil)
                #expect(String(buffer: response.body).contains("not an admin key"))
            }
            // A viewer's key is a valid key, but not an admin's.
            let viewerKey = try await Self.viewerKey(client, named: "vera")
            #expect(viewerKey.hasPrefix("sk_"))
            try await client.execute(uri: "/console/login", method: .post, headers: Self.formHeaders, body: Self.form(viewerKey)) { response in
                #expect(response.status == .unauthorized && Self.sessionCookie(response) == nil)
            }
            // A form posted from another site is refused before the key is looked at.
            var foreign = Self.formHeaders
            foreign[.origin] = "https://evil.example"
            try await client.execute(uri: "/console/login", method: .post, headers: foreign, body: Self.form(Self.key)) { #expect($0.status == .forbidden) }

            var token = ""
            try await client.execute(uri: "/console/login", method: .post, headers: Self.formHeaders, body: Self.form(Self.key)) { response in
                #expect(response.status == .seeOther && response.headers[.location] == "/")
                let cookie = try #require(response.headers[.setCookie])
                #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"))
                #expect(!cookie.contains(Self.key))
                token = try #require(Self.sessionCookie(response))
            }
            let withCookie: HTTPFields = [.cookie: "sluice_console=\(token)"]
            try await client.execute(uri: "/", method: .get, headers: withCookie) { response in
                let page = String(buffer: response.body)
                #expect(page.contains(#"<script src="/console/console.js" defer></script>"#) && page.contains(#"id="streams""#))
                #expect(!page.contains(Self.key), "the key is never in the page")
            }
            try await client.execute(uri: "/console/console.js", method: .get) { response in
                #expect(response.status == .ok && String(buffer: response.body).contains("new EventSource(\"/console/events\")"))
                #expect(!String(buffer: response.body).contains("innerHTML"), "data goes in as text, never as markup")
            }
            // A guessed token is no session.
            try await client.execute(uri: "/", method: .get, headers: [.cookie: "sluice_console=\(ConsoleSessions.randomToken())"]) { response in
                #expect(String(buffer: response.body).contains("/console/login"))
            }
            try await client.execute(uri: "/console/logout", method: .post, headers: withCookie) { response in
                #expect(response.status == .seeOther && response.headers[.setCookie]?.contains("Max-Age=0") == true)
            }
            try await client.execute(uri: "/console/events", method: .get, headers: withCookie) { #expect($0.status == .unauthorized) }
        }
        await built.director.shutdown()
    }

    /// The snapshot the event stream sends: links with what is reserved, the refused request
    /// with its reason, the live stream with its path.
    @Test func theConsoleSnapshotShowsReservationsStreamsAndRefusals() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let built = try await build(coreEdge: "1500000")
        try await built.application.test(.router) { client in
            try await registerEngine(client)
            try await client.execute(uri: "/play/clip", method: .get, headers: [.authorization: "Bearer \(Self.key)"]) { #expect($0.status == .found) }
            try await client.execute(uri: "/play/clip?maxWait=0", method: .get, headers: [.authorization: "Bearer \(Self.key)"]) { #expect($0.status == .serviceUnavailable) }
        }
        let snapshot = await built.director.consoleSnapshot(usage: nil)
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(snapshot)) as? [String: Any])
        let links = try #require(json["links"] as? [[String: Any]])
        #expect(links.first { $0["name"] as? String == "core-edge" }?["reservedBitsPerSecond"] as? Int == 1_050_000)
        let streams = try #require(json["streams"] as? [[String: Any]])
        #expect(json["streamCount"] as? Int == 1)
        #expect(streams.count == 1 && streams[0]["links"] as? [String] == ["a-core", "core-edge"] && streams[0]["transport"] as? String == "http")
        let refusals = try #require(json["refusals"] as? [[String: Any]])
        #expect(refusals.count == 1 && refusals[0]["reason"] as? String == "path_full" && refusals[0]["object"] as? String == "clip")
        #expect((json["engines"] as? [[String: Any]])?.first?["up"] as? Bool == true)
        await built.director.shutdown()
    }
}

/// Console sessions end at their lifetime and at logout; the oldest gives way at the limit.
@Suite struct ConsoleSessionTests {
    @Test func aSessionEndsAtItsLifetimeOrAtLogout() {
        let sessions = ConsoleSessions()
        let start = Timestamp(millisecondsSinceEpoch: 1_000_000)
        let token = sessions.open(key: "k", user: "operator", now: start)
        #expect(token.count == 64 && token.allSatisfy(\.isHexDigit))
        #expect(sessions.session(token, now: start + .seconds(3600))?.user == "operator")
        #expect(sessions.session(token, now: start + ConsoleSessions.lifetime) == nil)
        let other = sessions.open(key: "k", user: "operator", now: start)
        #expect(other != token)
        sessions.close(other)
        #expect(sessions.session(other, now: start) == nil)
        #expect(sessions.session(nil, now: start) == nil)
    }

    @Test func theOldestSessionGivesWayAtTheLimit() {
        let sessions = ConsoleSessions()
        let start = Timestamp(millisecondsSinceEpoch: 1_000_000)
        let first = sessions.open(key: "k", user: "u", now: start)
        for i in 1..<ConsoleSessions.limit { _ = sessions.open(key: "k", user: "u", now: start + .milliseconds(Int64(i))) }
        #expect(sessions.session(first, now: start) != nil)
        _ = sessions.open(key: "k", user: "u", now: start + .seconds(10))
        #expect(sessions.count == ConsoleSessions.limit)
        #expect(sessions.session(first, now: start + .seconds(10)) == nil)
    }
}

/// The watch page: any key that may play logs in and comes back to the page; the page lets the
/// video load from the engines and nowhere else; `/play/NAME.m3u8` answers JSON to its script.
extension DirectorApplicationTests {
    @Test func theWatchPageLogsAViewerInAndAsksForAnHLSSession() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let built = try await build()
        try await built.application.test(.router) { client in
            try await registerEngine(client)
            try await client.execute(uri: "/watch/clip", method: .get) { response in
                let page = String(buffer: response.body)
                #expect(page.contains(#"<input type="hidden" name="next" value="/watch/clip">"#), "a login that comes back here")
            }
            var token = ""
            // A viewer's key, posted with the page to go back to.
            let viewerKey = try await Self.viewerKey(client, named: "vera")
            // Another site's page is no place to go back to: then only an admin key would do.
            try await client.execute(
                uri: "/console/login", method: .post, headers: Self.formHeaders,
                body: ByteBuffer(string: "key=\(viewerKey)&next=https%3A%2F%2Fevil.example%2F")) { #expect($0.status == .unauthorized) }
            try await client.execute(
                uri: "/console/login", method: .post, headers: Self.formHeaders, body: ByteBuffer(string: "key=\(viewerKey)&next=%2Fwatch%2Fclip")
            ) { response in
                #expect(response.status == .seeOther && response.headers[.location] == "/watch/clip")
                token = Self.sessionCookie(response) ?? ""
            }
            let cookie: HTTPFields = [.cookie: "sluice_console=\(token)"]
            try await client.execute(uri: "/watch/clip", method: .get, headers: cookie) { response in
                let page = String(buffer: response.body)
                #expect(page.contains(#"<video id="player""#) && page.contains("0:02"), "the title and duration")
                #expect(response.headers[.contentSecurityPolicy]?.contains("media-src 'self' http://127.0.0.1:9") == true)
            }
            try await client.execute(uri: "/watch/nothing", method: .get, headers: cookie) { #expect($0.status == .notFound) }
            // A viewer's session is not the console's.
            try await client.execute(uri: "/", method: .get, headers: cookie) { #expect(String(buffer: $0.body).contains("/console/login")) }
            var jsonCookie = cookie
            jsonCookie[.accept] = "application/json"
            try await client.execute(uri: "/play/clip.m3u8", method: .get, headers: jsonCookie) { response in
                #expect(response.status == .ok)
                let ticket = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                #expect((ticket["playlist"] as? String)?.hasPrefix("http://127.0.0.1:9/hls/clip/index.m3u8?grant=") == true)
            }
            try await client.execute(uri: "/play/clip.m3u8", method: .get, headers: [.authorization: "Bearer \(Self.key)"]) { response in
                #expect(response.status == .found && response.headers[.location]?.contains("/hls/clip/index.m3u8?grant=") == true)
            }
        }
        await built.director.shutdown()
    }
}

extension DirectorApplicationTests {
    /// `GET /v1/queue`: a viewer whose request waits sees its place; another viewer sees the
    /// queue's length and none of it.
    @Test func aWaitingViewerSeesItsPlaceInTheQueue() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let built = try await build(coreEdge: "1500000")
        try await built.application.test(.router) { client in
            try await registerEngine(client)
            try await client.execute(uri: "/play/clip", method: .get, headers: [.authorization: "Bearer \(Self.key)"]) { #expect($0.status == .found) }
            var keys: [String: String] = [:]
            for name in ["vera", "otto"] { keys[name] = try await Self.viewerKey(client, named: name) }
            let vera: HTTPFields = [.authorization: "Bearer \(keys["vera"] ?? "")"]
            async let waited: Void = client.execute(uri: "/play/clip?maxWait=2", method: .get, headers: vera) { #expect($0.status == .serviceUnavailable) }
            for _ in 0..<100 where await built.director.queueLength == 0 { try await Task.sleep(for: .milliseconds(10)) }
            try await client.execute(uri: "/v1/queue", method: .get, headers: vera) { response in
                let body = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                let waiting = try #require(body["waiting"] as? [[String: Any]])
                #expect(body["length"] as? Int == 1 && waiting.count == 1)
                #expect(waiting.first?["position"] as? Int == 1 && waiting.first?["object"] as? String == "clip")
                #expect(waiting.first?["blockedBy"] as? String == "path_full")
            }
            try await client.execute(uri: "/v1/queue", method: .get, headers: [.authorization: "Bearer \(keys["otto"] ?? "")"]) { response in
                let body = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                #expect(body["length"] as? Int == 1 && (body["waiting"] as? [Any])?.isEmpty == true, "another viewer's request is not shown")
            }
            try await waited
        }
        await built.director.shutdown()
    }
}
