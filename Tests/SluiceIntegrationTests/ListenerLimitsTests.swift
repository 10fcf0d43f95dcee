import Crypto
import Foundation
import SluiceCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
/// Every listener bounds what a client can hold: request head and body deadlines (408), idle
/// keep-alives, connections per address; and an upload grant has one writer.
@Suite struct ListenerLimitsTests {
    static let limits = "limits: { requestHeadTimeout: 1s, requestBodyTimeout: 1s, idleTimeout: 2s, maxConnectionsPerClient: 16 }\n"

    /// Reads until the server closes or `timeout`; what came, and how long it took.
    static func waitForClose(_ fd: Int32, timeout: Int = 8) -> (reply: String, closed: Bool, after: Duration) {
        let read = readToClose(fd, timeout: timeout)
        return (String(decoding: read.bytes, as: UTF8.self), read.closed, read.after)
    }

    /// `waitForClose`, byte for byte.
    static func readToClose(_ fd: Int32, timeout: Int) -> (bytes: [UInt8], closed: Bool, after: Duration) {
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let started = ContinuousClock.now
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { return (reply, true, .now - started) }
            if count < 0 { return (reply, false, .now - started) }
            reply += buffer[0..<count]
        }
    }

    static func send(_ fd: Int32, _ text: String) { send(fd, Array(text.utf8)) }
    static func send(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    @Test func slowHeadsStalledBodiesAndIdleConnectionsAreCutOnEveryListener() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"], extraYAML: Self.limits)
        defer { cluster.stop() }
        try await cluster.start()
        let engineURL = try #require(cluster.engineURLs["engine-a"])
        for url in [cluster.directorURL, engineURL] {
            // Slowloris: a byte every 300 ms never finishes a head within 1 s.
            let started = ContinuousClock.now
            let trickled = try RawTCP.trickle(url: url, bytes: Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: \(String(repeating: "a", count: 40))\r\n\r\n".utf8), interval: .milliseconds(300))
            #expect(trickled.hasPrefix("HTTP/1.1 408"), "\(url): \(trickled.prefix(80))")
            #expect(ContinuousClock.now - started < .seconds(3))
            // Half a head, then silence.
            let half = try RawTCP.connect(url)
            Self.send(half, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
            let cut = Self.waitForClose(half)
            close(half)
            #expect(cut.closed && cut.reply.hasPrefix("HTTP/1.1 408") && cut.after < .seconds(3), "\(url): \(cut)")
            // A body that stops.
            let stalled = try RawTCP.connect(url)
            Self.send(stalled, "POST /v1/uploads HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"name\":")
            let stall = Self.waitForClose(stalled)
            close(stalled)
            #expect(stall.closed && stall.after < .seconds(3), "\(url): \(stall)")
            // Idle after a request: answered, then closed at the idle timeout.
            let idle = try RawTCP.connect(url)
            Self.send(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            let idled = Self.waitForClose(idle)
            close(idle)
            #expect(idled.closed && idled.reply.hasPrefix("HTTP/1.1 200") && idled.after < .seconds(4), "\(url): \(idled)")
        }
        // RTSP: half a head, and a body shorter than its Content-Length, get 408.
        for request in ["OPTIONS \(cluster.rtspURL)/x RTSP/1.0\r\nCSeq: 1\r\n", "SET_PARAMETER \(cluster.rtspURL)/x RTSP/1.0\r\nCSeq: 2\r\nContent-Length: 50\r\n\r\nabc"] {
            let fd = try RawTCP.connect(cluster.rtspURL.replacingOccurrences(of: "rtsp://", with: "http://"))
            Self.send(fd, request)
            let answer = Self.waitForClose(fd)
            close(fd)
            #expect(answer.reply.hasPrefix("RTSP/1.0 408") && answer.after < .seconds(3), "\(answer)")
        }
        #expect(try await cluster.get("/healthz").status == 200, "the director serves on")
    }

    @Test func oneAddressHoldsAtMostItsShareOfConnections() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"], extraYAML: Self.limits.replacingOccurrences(of: "idleTimeout: 2s", with: "idleTimeout: 30s"))
        defer { cluster.stop() }
        try await cluster.start()
        let engineURL = try #require(cluster.engineURLs["engine-a"])
        let rtspURL = cluster.rtspURL.replacingOccurrences(of: "rtsp://", with: "http://")
        for url in [cluster.directorURL, engineURL, rtspURL] {
            let held = try (0..<16).map { _ in try RawTCP.connect(url, from: "127.0.0.3") }
            try await Task.sleep(for: .milliseconds(200))
            let extra = try RawTCP.connect(url, from: "127.0.0.3")
            let refused = Self.waitForClose(extra, timeout: 3)
            close(extra)
            #expect(refused.closed && refused.reply.isEmpty, "\(url): the 17th connection from one address was kept")
            // Another address is not affected, and a freed slot is usable again.
            let other = try RawTCP.connect(url, from: "127.0.0.4")
            Self.send(other, url == rtspURL ? "OPTIONS \(cluster.rtspURL)/x RTSP/1.0\r\nCSeq: 1\r\n\r\n" : "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let served = Self.waitForClose(other, timeout: 3)
            close(other)
            #expect(served.reply.contains(" 200"), "\(url): \(served.reply.prefix(80))")
            close(held[0])
            try await Task.sleep(for: .milliseconds(200))
            let again = try RawTCP.connect(url, from: "127.0.0.3")
            Self.send(again, url == rtspURL ? "OPTIONS \(cluster.rtspURL)/x RTSP/1.0\r\nCSeq: 1\r\n\r\n" : "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let reused = Self.waitForClose(again, timeout: 3)
            close(again)
            #expect(reused.reply.contains(" 200"), "\(url): a freed slot was not reusable: \(reused.reply.prefix(80))")
            for fd in held.dropFirst() { close(fd) }
        }
    }

    @Test func anUploadGrantHasOneWriterAndAStalledUploadLeavesNothing() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"], extraYAML: Self.limits.replacingOccurrences(of: "requestBodyTimeout: 1s", with: "requestBodyTimeout: 2s"))
        defer { cluster.stop() }
        try await cluster.start()
        let source = try cluster.makeSample(name: "clip", seconds: 2, bitrate: 1_000_000)
        let bytes = try #require(FileManager.default.contents(atPath: source))
        let sha = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        func admit(_ name: String) async throws -> String {
            let body = try JSONEncoder().encode(ClusterMessages.UploadRequest(name: name, sizeBytes: Int64(bytes.count), sha256: sha))
            let reply = try await cluster.request(.POST, "/v1/uploads", body: body)
            try #require(reply.status == 201, "\(String(decoding: reply.body, as: UTF8.self))")
            return try JSONDecoder().decode(ClusterMessages.UploadTicket.self, from: reply.body).uploadURL
        }
        let engineURL = try #require(cluster.engineURLs["engine-a"])

        // Two writers on one grant: the second is refused, the first finishes and is listed.
        let url = try await admit("clip")
        let path = url.replacingOccurrences(of: engineURL, with: "")
        let first = try RawTCP.connect(url)
        Self.send(first, "PUT \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: \(bytes.count)\r\n\r\n")
        Self.send(first, Array(bytes.prefix(bytes.count / 2)))
        try await Task.sleep(for: .milliseconds(300))
        let second = try await cluster.request(.PUT, "", body: bytes, headers: [], base: url)
        #expect(second.status == 409, "\(second.status): \(String(decoding: second.body, as: UTF8.self))")
        Self.send(first, Array(bytes.suffix(from: bytes.count / 2)))
        let finished = Self.waitForClose(first, timeout: 5)
        close(first)
        #expect(finished.reply.hasPrefix("HTTP/1.1 201"), "\(finished.reply.prefix(200))")
        #expect(try await cluster.json([Cluster.ObjectRow].self, "/v1/objects").map(\.object.name) == ["clip"])
        // The grant is spent.
        #expect(try await cluster.request(.PUT, "", body: bytes, headers: [], base: url).status == 410)

        // A writer that stops half-way is cut at the body deadline; nothing stays behind.
        let stalledURL = try await admit("stalled")
        let stalled = try RawTCP.connect(stalledURL)
        Self.send(stalled, "PUT \(stalledURL.replacingOccurrences(of: engineURL, with: "")) HTTP/1.1\r\nHost: x\r\nContent-Length: \(bytes.count)\r\n\r\n")
        Self.send(stalled, Array(bytes.prefix(bytes.count / 3)))
        let cut = Self.waitForClose(stalled, timeout: 8)
        close(stalled)
        #expect(cut.closed && cut.after < .seconds(4), "\(cut)")
        try await cluster.waitUntil("the stalled upload's reservation to be released", timeout: .seconds(10)) {
            try await cluster.json([LiveStream].self, "/v1/streams").isEmpty
        }
        let incoming = try FileManager.default.contentsOfDirectory(atPath: cluster.directory + "/engine-a/incoming")
        #expect(incoming.isEmpty, "\(incoming)")

        // Malformed framing is the client's error: 400, never 500.
        let chunked = try RawTCP.exchange(url: cluster.directorURL, bytes: Array(
            "POST /v1/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(cluster.apiKey)\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n".utf8))
        #expect(chunked.hasPrefix("HTTP/1.1 400") || chunked.isEmpty, "\(chunked.prefix(120))")
        #expect(!chunked.hasPrefix("HTTP/1.1 5"))
    }

    /// A viewer that stops reading a paced stream (a small receive buffer, no reads: its window
    /// shuts) is cut at the send timeout, long before its object would have ended; its
    /// reservation is released, its usage record counts no more than reached its socket, and a
    /// viewer beside it plays its own stream to the last byte.
    @Test func aViewerThatStopsReadingIsCutAndOneBesideItPlaysOn() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"], extraYAML: "limits: { sendTimeout: 2s }\n")
        defer { cluster.stop() }
        try await cluster.start()
        // 20 Mbit/s for 12 s: 30 MB, far more than the socket buffers in between can hold.
        let big = try cluster.makeSample(name: "big", seconds: 12, bitrate: 20_000_000)
        try cluster.put(big, as: "big")
        let bigSize = try #require(FileManager.default.contents(atPath: big)).count
        let clip = try cluster.makeSample(name: "clip", seconds: 5, bitrate: 1_000_000)
        try cluster.put(clip, as: "clip")

        let admitted = try await cluster.get("/play/big")
        let url = try #require(admitted.headers.first { $0.0.lowercased() == "location" }?.1)
        let id = try #require(admitted.headers.first { $0.0.lowercased() == "x-sluice-stream-id" }.flatMap { UInt32($0.1) })
        let started = ContinuousClock.now
        let silent = try RawTCP.connect(url, receiveBuffer: 4096)
        defer { close(silent) }
        let path = try #require(URLComponents(string: url)).percentEncodedPath + "?" + (try #require(URLComponents(string: url)?.percentEncodedQuery))
        Self.send(silent, "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")

        let out = cluster.directory + "/clip-out.ts"
        let beside = Task {
            try Cluster.runTool("/usr/bin/curl", ["-sS", "-L", "-f", "-o", out, "-H", "Authorization: Bearer \(cluster.apiKey)", cluster.directorURL + "/play/clip"])
        }

        try await cluster.waitUntil("the silent viewer's stream to end", timeout: .seconds(30)) {
            try await cluster.json([UsageRecord].self, "/v1/usage").contains { $0.streamID == id }
        }
        let ended = ContinuousClock.now - started
        #expect(ended < .seconds(12), "the stream of a viewer reading nothing lasted \(ended): was it cut at all?")
        let usage = try #require(try await cluster.json([UsageRecord].self, "/v1/usage").first { $0.streamID == id })
        #expect(usage.endReason == .clientGone, "\(usage.endReason)")

        // Now read what did reach the socket: the head, then the body up to the engine's close.
        let drained = Self.readToClose(silent, timeout: 10)
        #expect(drained.closed, "the engine never closed the silent viewer's connection")
        let head = try #require(drained.bytes.firstRange(of: Array("\r\n\r\n".utf8)), "no response head: \(String(decoding: drained.bytes.prefix(200), as: UTF8.self))")
        #expect(String(decoding: drained.bytes[..<head.lowerBound], as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        let received = Int64(drained.bytes.count - head.upperBound)
        #expect(usage.bytes <= received, "billed \(usage.bytes) bytes, the viewer could read \(received)")
        #expect(received < Int64(bigSize) / 2, "received \(received) of \(bigSize)")

        let curl = try await beside.value
        #expect(curl.status == 0, "\(curl.output)")
        #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: clip))
        try await cluster.waitUntil("links back to zero") {
            try await cluster.links().values.allSatisfy { $0.reservedBitsPerSecond == 0 }
        }
    }
}
}
