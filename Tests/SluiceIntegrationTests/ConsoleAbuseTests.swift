import Foundation
import Testing

extension IntegrationTests {
/// The console against raw sockets: its event stream ends when the key behind the session is
/// revoked, and answers nothing to a client without a session.
@Suite struct ConsoleAbuseTests {
    @Test func revokingTheKeyEndsAnOpenConsoleStream() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.startDirector()
        let added = try await cluster.request(
            .POST, "/v1/users", body: Data(#"{"name":"ada","role":"admin"}"#.utf8),
            headers: [("Authorization", "Bearer \(Cluster.apiKey)"), ("Content-Type", "application/json")])
        #expect(added.status == 201)
        let issued = try await cluster.request(.POST, "/v1/users/ada/keys", headers: [("Authorization", "Bearer \(Cluster.apiKey)")])
        #expect(issued.status == 201)
        let key = try #require((try JSONSerialization.jsonObject(with: issued.body) as? [String: Any])?["key"] as? String)

        let login = try await cluster.request(
            .POST, "/console/login", body: Data("key=\(key)".utf8), headers: [("Content-Type", "application/x-www-form-urlencoded")])
        #expect(login.status == 303)
        let setCookie = try #require(login.headers.first { $0.0.lowercased() == "set-cookie" }?.1)
        let cookie = String(setCookie.prefix { $0 != ";" })

        // Without the cookie: 401 and no event.
        let anonymous = try RawTCP.exchange(url: cluster.directorURL, bytes: Array("GET /console/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        #expect(anonymous.hasPrefix("HTTP/1.1 401") && !anonymous.contains("event: state"))

        let url = cluster.directorURL
        let stream = Task.detached {
            try RawTCP.exchange(url: url, bytes: Array("GET /console/events HTTP/1.1\r\nHost: x\r\nCookie: \(cookie)\r\n\r\n".utf8), timeout: 5)
        }
        try await Task.sleep(for: .milliseconds(1500))
        let revoked = try await cluster.request(.DELETE, "/v1/users/ada", headers: [("Authorization", "Bearer \(Cluster.apiKey)")])
        #expect(revoked.status == 200)
        let events = try await stream.value
        #expect(events.hasPrefix("HTTP/1.1 200") && events.contains("text/event-stream"))
        #expect(events.contains("event: state\ndata: {"), "snapshots while the key was live")
        let logout = try #require(events.range(of: "event: logout"), "the stream says logout once the key is revoked: \(events.suffix(300))")
        #expect(!events[logout.upperBound...].contains("event: state"), "nothing after the logout")
        // The session is gone with its key.
        let after = try await cluster.get("/", headers: [("Cookie", cookie)])
        #expect(String(decoding: after.body, as: UTF8.self).contains("/console/login"))
    }
}
}
