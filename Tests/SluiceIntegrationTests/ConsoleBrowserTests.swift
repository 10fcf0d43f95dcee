import Foundation
import Testing

extension IntegrationTests {
/// The console in a real browser: headless Chromium logs in with the admin key and the test
/// reads the DOM the page renders from the director's event stream while viewers come and go.
@Suite struct ConsoleBrowserTests {
    /// Where the test keeps its screenshot of the console.
    static let screenshot = Cluster.packageRoot + "/.build/test-artifacts/console.png"

    @Test(.enabled(if: WebDriver.isAvailable, "needs chromium and chromium-driver (Debian)"))
    func theConsoleShowsStreamsComingAndGoingAndARefusal() async throws {
        // Two 1 Mbit/s viewers fit core-edge's 2.5 Mbit/s (1.05 each with headroom); a third does not.
        let cluster = try Cluster(coreEdge: "2500000", engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "clip", seconds: 4, bitrate: 1_000_000), as: "clip")

        let browser = try await WebDriver()
        do {
            try await browser.open(cluster.directorURL + "/")
            try await browser.type(Cluster.apiKey + "\n", into: "#key")
            try await browser.waitUntil("the live console", #"return document.getElementById("connection")?.dataset.state === "live""#)
            let coreEdge = #"document.querySelector('#links [data-link="core-edge"]')"#
            try await browser.waitUntil("core-edge idle", "return \(coreEdge)?.dataset.reserved === '0'")
            #expect(try await browser.evaluate("return location.href") as? String == cluster.directorURL + "/", "no key in the URL")
            #expect(try await browser.evaluate("return document.cookie") as? String == "", "the session cookie is HttpOnly")

            let viewers = (1...2).map { index in
                Task.detached { try cluster.run(["play", cluster.directorURL + "/play/clip", "--key", Cluster.apiKey, "--out", cluster.directory + "/v\(index).ts"]) }
            }
            try await browser.waitUntil("two stream rows and core-edge reserved for both", """
                return document.querySelectorAll('#streams tr[data-stream-id]').length === 2
                    && \(coreEdge).dataset.reserved === '2100000'
                    && parseFloat(\(coreEdge).querySelector('.fill').style.width) > 80
                    && document.querySelectorAll('#topology [data-link="core-edge"] line').length === 2
                """)
            #expect(try await browser.evaluate("return document.querySelector('#streams tr').innerText") as? String ?? "" ~= "a-core → core-edge")

            // The third viewer finds no room and is refused at once: the page lists the refusal.
            let refused = try await cluster.get("/play/clip?maxWait=0", headers: [("Authorization", "Bearer \(Cluster.apiKey)")])
            #expect(refused.status == 503)
            try await browser.waitUntil("the refusal", #"return document.querySelector('#refusals tr[data-reason="path_full"]') !== null"#)
            try await browser.screenshot(to: Self.screenshot)

            for viewer in viewers { #expect(try await viewer.value.status == 0) }
            try await browser.waitUntil("the stream rows gone and core-edge free", """
                return document.querySelectorAll('#streams tr[data-stream-id]').length === 0 && \(coreEdge).dataset.reserved === '0'
                    && !document.getElementById('streams-empty').hidden
                """)
            // The director shuts down cleanly with the console's event stream open.
            cluster.stop()
        } catch {
            await browser.quit()
            throw error
        }
        await browser.quit()
    }
}
}

private func ~= (text: String, part: String) -> Bool { text.contains(part) }
