import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import SluiceCore

/// The web console at `/`: a login form that takes an admin key (in a POST body, never a URL),
/// then a page that follows the director live through one server-sent event stream
/// (`/console/events`, a snapshot a second). Assets are compiled in: nothing to install beside
/// the binary, no framework, no build step.
struct ConsoleRoutes {
    let director: Director
    let sessions: ConsoleSessions
    /// How often the event stream sends a snapshot.
    var interval: Duration = .seconds(1)
    /// How often the usage totals are read from the store (they change slowly and cost a query).
    var usageInterval: Duration = .seconds(10)
    let logger: Logger

    struct Login: Decodable {
        var key: String
        /// The watch page to go back to (a viewer's login); none: the console (an admin's).
        var next: String?
    }

    func register(on router: Router<SluiceRequestContext>) {
        router.get("/") { request, _ in
            guard await session(of: request) != nil else { return Self.page(ConsoleAssets.login(error: nil)) }
            return Self.page(ConsoleAssets.console)
        }
        router.get("/console/console.js") { _, _ in Self.asset(ConsoleAssets.script, type: "text/javascript; charset=utf-8") }
        router.get("/console/console.css") { _, _ in Self.asset(ConsoleAssets.style, type: "text/css; charset=utf-8") }
        router.post("/console/login", use: login)
        router.post("/console/logout") { request, _ in
            try Self.requireSameOrigin(request)
            sessions.close(request.cookies[ConsoleSessions.cookieName]?.value)
            var response = Self.redirect("/")
            response.setCookie(Cookie(name: ConsoleSessions.cookieName, value: "", maxAge: 0, path: "/", httpOnly: true, sameSite: .strict))
            return response
        }
        router.get("/console/events", use: events)
        router.get("/console/watch.js") { _, _ in Self.asset(WatchPage.script, type: "text/javascript; charset=utf-8") }
        router.get("/watch/:object", use: watch)
    }

    private func session(of request: Request, needs role: Role = .admin) async -> ConsoleSessions.Session? {
        await liveSession(request.cookies[ConsoleSessions.cookieName]?.value, needs: role)
    }

    /// The session of `token` while it lasts and its key still authenticates with `role` or more;
    /// a session whose key was revoked is closed here.
    private func liveSession(_ token: String?, needs role: Role = .admin) async -> ConsoleSessions.Session? {
        guard let session = sessions.session(token, now: director.clock.now()) else { return nil }
        switch await director.authenticate(session.key) {
        case .failure:
            sessions.close(token)
            return nil
        case .success(let principal):
            return principal.role >= role ? session : nil
        }
    }

    /// `GET /watch/{object}`: a page that plays the object over HLS in a `<video>`, for a viewer
    /// logged in with any key that may play it.
    @Sendable func watch(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        let name = try context.parameters.require("object")
        guard MediaObject.isValidName(name) else { throw HTTPError(.notFound, message: "no such object") }
        guard let session = await session(of: request, needs: .viewer),
              case .success(let principal) = await director.authenticate(session.key) else {
            return Self.page(ConsoleAssets.login(error: nil, next: "/watch/\(name)"))
        }
        guard let object = await director.playableObject(name, for: principal) else {
            var response = Self.page(WatchPage.missing(name))
            response.status = .notFound
            return response
        }
        // The video loads its playlist and segments from the engines.
        let engines = await director.engineViews().compactMap { Self.origin(of: $0.engine.url) }
        var response = Self.page(WatchPage.html(object: object))
        let sources = (["'self'"] + Set(engines).sorted()).joined(separator: " ")
        response.headers[.contentSecurityPolicy] =
            "default-src 'self'; media-src \(sources); connect-src \(sources); img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
        return response
    }

    @Sendable func login(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        try Self.requireSameOrigin(request)
        let body = try await request.body.collect(upTo: 4096)
        let login = try? URLEncodedFormDecoder().decode(Login.self, from: String(buffer: body))
        let key = login?.key.trimmingCharacters(in: .whitespaces) ?? ""
        // Only a watch page of this director is a place to go back to.
        let next = login?.next.flatMap { $0.hasPrefix("/watch/") && MediaObject.isValidName(String($0.dropFirst(7))) ? $0 : nil }
        guard case .success(let principal) = await director.authenticate(key), next != nil || principal.role == .admin else {
            logger.info("console login refused", metadata: ["client": "\(context.clientIP)"])
            var response = Self.page(ConsoleAssets.login(
                error: next == nil ? "That is not an admin key of this director." : "That is not a key of this director.", next: next))
            response.status = .unauthorized
            return response
        }
        let token = sessions.open(key: key, user: principal.name, now: director.clock.now())
        logger.info("console login", metadata: ["user": "\(principal.name)", "client": "\(context.clientIP)"])
        var response = Self.redirect(next ?? "/")
        response.setCookie(Cookie(
            name: ConsoleSessions.cookieName, value: token, maxAge: Int(ConsoleSessions.lifetime.components.seconds), path: "/",
            httpOnly: true, sameSite: .strict))
        return response
    }

    /// Server-sent events: `state` with a `ConsoleSnapshot` every `interval`, and `logout` (then
    /// the end) once the session or its key is no longer valid.
    @Sendable func events(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        guard await session(of: request) != nil else { throw HTTPError(.unauthorized, message: "log in to the console first") }
        let token = request.cookies[ConsoleSessions.cookieName]?.value
        // One stream per connection: the connection closes when the stream ends.
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-store", .connection: "close"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            let clock = ContinuousClock()
            var usage: ConsoleSnapshot.UsageTotals?
            var usageRead: ContinuousClock.Instant?
            let encoder = JSONEncoder()
            try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                // A revoked key, a logout or an expired session ends the stream.
                guard await liveSession(token) != nil else {
                    try await writer.write(ByteBuffer(string: "event: logout\ndata: {}\n\n"))
                    break
                }
                if usageRead.map({ clock.now - $0 >= usageInterval }) ?? true {
                    usage = await director.usageTotals(over: .seconds(24 * 3600)) ?? usage
                    usageRead = clock.now
                }
                let snapshot = await director.consoleSnapshot(usage: usage)
                var event = ByteBuffer(string: "event: state\ndata: ")
                event.writeBytes(try encoder.encode(snapshot))
                event.writeString("\n\n")
                try await writer.write(event)
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            }
            try await writer.finish(nil)
        })
    }

    /// Refuses a form posted from another site (the cookie is SameSite=Strict as well).
    static func requireSameOrigin(_ request: Request) throws {
        guard let origin = request.headers[.origin], origin != "null" else { return }
        let host = request.head.authority ?? ""
        guard let originHost = URL(string: origin)?.host, !host.isEmpty, host.split(separator: ":").first.map(String.init) == originHost else {
            throw HTTPError(.forbidden, message: "the console takes forms from its own pages only")
        }
    }

    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy: "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        .xContentTypeOptions: "nosniff", .referrerPolicy: "no-referrer", .cacheControl: "no-store",
    ]

    /// `scheme://host:port` of a URL, for a Content-Security-Policy source list.
    static func origin(of url: String) -> String? {
        guard let parsed = URL(string: url), let scheme = parsed.scheme, let host = parsed.host else { return nil }
        return parsed.port.map { "\(scheme)://\(host):\($0)" } ?? "\(scheme)://\(host)"
    }

    static func page(_ html: String) -> Response {
        var headers = securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = securityHeaders
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }
}

extension HTTPField.Name {
    static let referrerPolicy = Self("Referrer-Policy")!
}

extension Director {
    /// Usage records written in the last `window`, counted and summed (nil when the store
    /// cannot be read now).
    func usageTotals(over window: Duration) async -> ConsoleSnapshot.UsageTotals? {
        let since = clock.now() - window
        let limit = 100_000
        guard let records = try? await store.usage(since: since, limit: limit) else { return nil }
        return .init(since: since, records: records.count, bytes: records.reduce(0) { $0 + $1.bytes }, truncated: records.count == limit)
    }
}
