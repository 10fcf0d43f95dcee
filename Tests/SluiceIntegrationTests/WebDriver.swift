import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// Headless Chromium driven through chromedriver's W3C WebDriver API (JSON over HTTP): what
/// the console tests use to load pages as a browser does and read the DOM it renders.
final class WebDriver: @unchecked Sendable {
    let driver = Process()
    let base: String
    private(set) var session = ""

    static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
    }

    /// Starts chromedriver on a free loopback port and opens a headless Chromium session.
    init(windowWidth: Int = 1400, windowHeight: Int = 1400) async throws {
        let port = try await Self.freeLoopbackPort()
        base = "http://127.0.0.1:\(port)"
        driver.executableURL = URL(fileURLWithPath: "/usr/bin/chromedriver")
        driver.arguments = ["--port=\(port)", "--allowed-ips=127.0.0.1"]
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
        let deadline = ContinuousClock.now + .seconds(15)
        while (try? await call(.GET, "/status"))?["ready"] as? Bool != true {
            guard ContinuousClock.now < deadline else { throw ClusterError("chromedriver did not start on port \(port)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        let created = try await call(.POST, "/session", [
            "capabilities": ["alwaysMatch": [
                "browserName": "chrome",
                "goog:chromeOptions": [
                    "binary": "/usr/bin/chromium",
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required", "--window-size=\(windowWidth),\(windowHeight)"],
                ],
            ]],
        ])
        session = try #require(created?["sessionId"] as? String, "no WebDriver session: \(String(describing: created))")
    }

    /// A loopback port free a moment ago, for a program that takes its port as an argument.
    static func freeLoopbackPort() async throws -> Int {
        let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = probe.localAddress?.port ?? 0
        try await probe.close()
        return port
    }

    /// One WebDriver command; returns its `value` when that is an object.
    @discardableResult
    func call(_ method: HTTPMethod, _ path: String, _ body: [String: Any]? = nil) async throws -> [String: Any]? {
        try await raw(method, path, body) as? [String: Any]
    }

    func raw(_ method: HTTPMethod, _ path: String, _ body: [String: Any]? = nil) async throws -> Any? {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let data = Data(buffer: try await response.body.collect(upTo: 32 << 20))
        let value = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["value"]
        guard response.status.code < 300 else { throw ClusterError("WebDriver \(method) \(path): \(response.status.code) \(String(describing: value))") }
        return value
    }

    func open(_ url: String) async throws {
        try await call(.POST, "/session/\(session)/url", ["url": url])
    }

    /// Types `text` into the element `selector` names (a trailing "\n" submits its form).
    func type(_ text: String, into selector: String) async throws {
        let element = try await call(.POST, "/session/\(session)/element", ["using": "css selector", "value": selector])
        let id = try #require(element?.values.first as? String, "no element '\(selector)'")
        try await call(.POST, "/session/\(session)/element/\(id)/value", ["text": text])
    }

    /// Runs `script` in the page (a function body) and returns what it returns.
    func evaluate(_ script: String) async throws -> Any? {
        try await raw(.POST, "/session/\(session)/execute/sync", ["script": script, "args": [String]()])
    }

    /// Waits until `script` returns true in the page.
    func waitUntil(_ what: String, timeout: Duration = .seconds(20), _ script: String) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await evaluate(script) as? Bool == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        let body = try await evaluate("return document.body.innerText") as? String ?? ""
        throw ClusterError("the page never showed \(what). It shows:\n\(body.prefix(3000))")
    }

    /// A PNG of the window, written to `path`.
    func screenshot(to path: String) async throws {
        let encoded = try #require(try await raw(.GET, "/session/\(session)/screenshot") as? String)
        let png = try #require(Data(base64Encoded: encoded))
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try png.write(to: URL(fileURLWithPath: path))
    }

    /// Ends the session (Chromium exits) and stops chromedriver.
    func quit() async {
        if !session.isEmpty { _ = try? await raw(.DELETE, "/session/\(session)") }
        // Polled, not `waitUntilExit()`, which can spin a core on Linux's Foundation.
        if driver.isRunning { kill(driver.processIdentifier, SIGTERM) }
        let deadline = ContinuousClock.now + .seconds(5)
        while driver.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        if driver.isRunning { kill(driver.processIdentifier, SIGKILL) }
    }
}

