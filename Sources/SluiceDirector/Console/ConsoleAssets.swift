/// The console's pages, compiled into the binary. Hand-written HTML; the page's script is in
/// `ConsoleScript.swift`, its style in `ConsoleStyle.swift`. Nothing from the server is ever
/// put into markup as HTML: the script writes data with `textContent` and SVG attributes only.
enum ConsoleAssets {
    static let script = ConsoleScript.source
    static let style = ConsoleStyle.source

    /// The login form; `error` is one of the console's own fixed messages; `next` a watch page
    /// (checked by the caller) to go back to, for which any viewer's key will do.
    static func login(error: String?, next: String? = nil) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Sluice console: log in</title>
        <link rel="stylesheet" href="/console/console.css">
        </head>
        <body class="login">
        <main>
        <h1>Sluice</h1>
        <p>\(next == nil ? "The director's console shows reservations, the queue and live streams as they change." : "Log in to watch.")</p>
        <form method="post" action="/console/login">
        \(next.map { "<input type=\"hidden\" name=\"next\" value=\"\($0)\">" } ?? "")
        <label for="key">\(next == nil ? "Admin key" : "Key")</label>
        <input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
        <button type="submit">Log in</button>
        </form>
        \(error.map { "<p class=\"error\" id=\"login-error\">\($0)</p>" } ?? "")
        <p class="hint">The key stays on the director: the browser keeps only a session cookie.</p>
        </main>
        </body>
        </html>
        """
    }

    static let console = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Sluice console</title>
        <link rel="stylesheet" href="/console/console.css">
        <script src="/console/console.js" defer></script>
        </head>
        <body>
        <header>
        <h1>Sluice</h1>
        <span id="version"></span>
        <span id="connection" class="connection" data-state="connecting">connecting</span>
        <form method="post" action="/console/logout"><button type="submit">Log out</button></form>
        </header>
        <main>
        <section id="topology-section" class="wide">
        <h2>Topology <small>reserved of capacity, per link</small></h2>
        <svg id="topology" role="img" aria-label="Topology with each link's reservations" viewBox="0 0 960 360"></svg>
        <div id="links" class="links"></div>
        </section>
        <section>
        <h2>Engines</h2>
        <table><thead><tr><th>Engine</th><th>State</th><th>Streams</th><th>Load</th></tr></thead><tbody id="engines"></tbody></table>
        </section>
        <section>
        <h2>Queue <small id="queue-depth"></small></h2>
        <table><thead><tr><th>Object</th><th>Client</th><th>Waiting</th><th>Blocked by</th></tr></thead><tbody id="queue"></tbody></table>
        <p class="empty" id="queue-empty">Nobody is waiting.</p>
        </section>
        <section class="wide">
        <h2>Live streams <small id="stream-count"></small></h2>
        <table><thead><tr><th>Stream</th><th>Object</th><th>Transport</th><th>Engine</th><th>Path</th><th>Reserved</th><th>Sent</th><th>Loss</th><th>Jitter</th><th>Age</th></tr></thead><tbody id="streams"></tbody></table>
        <p class="empty" id="streams-empty">No stream is live.</p>
        </section>
        <section class="wide">
        <h2>Recent refusals</h2>
        <table><thead><tr><th>When</th><th>Object</th><th>Transport</th><th>Reason</th><th>Detail</th></tr></thead><tbody id="refusals"></tbody></table>
        <p class="empty" id="refusals-empty">No request was refused.</p>
        </section>
        <section>
        <h2>Copies in flight</h2>
        <table><thead><tr><th>Object</th><th>From</th><th>To</th><th>Kind</th><th>Age</th></tr></thead><tbody id="copies"></tbody></table>
        <p class="empty" id="copies-empty">No copy is running.</p>
        </section>
        <section>
        <h2>Replicas</h2>
        <table><thead><tr><th>Object</th><th>Engines</th></tr></thead><tbody id="replicas"></tbody></table>
        </section>
        <section>
        <h2>Usage <small>last 24 hours</small></h2>
        <p id="usage">Reading the usage records...</p>
        </section>
        </main>
        </body>
        </html>
        """
}
