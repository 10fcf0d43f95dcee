import Foundation
import Hummingbird
import SluiceConfig
import SluiceCore
import SluiceGrant
import SluiceListeners

/// The director's HTTP API: the play front door, uploads, the engine control plane and the
/// operator's views. Handlers decode, call `Director`, encode.
struct DirectorRoutes {
    let director: Director
    let engineToken: String
    /// Applies the configuration file again (nil in tests without one).
    var reloader: ConfigurationReloader?
    /// A bearer token that may read `/metrics` and nothing else (`director.metricsToken`).
    var metricsToken: String?
    /// Browser logins: a request with no key may present a session cookie instead (the watch
    /// page's `<video>` asks for its playlist so). SameSite=Strict keeps other sites' pages out.
    var browserSessions: ConsoleSessions?
    /// Mutual TLS (`tls.mutual`): engine calls also need a client certificate the CA signed.
    var requireClientCertificate = false

    /// One operation of the API; `path` is written as in the OpenAPI document (`{name}`).
    struct Route: Sendable {
        var method: HTTPRequest.Method
        var path: String
        var handler: @Sendable (Request, SluiceRequestContext) async throws -> Response
    }

    /// Every operation, as `OpenAPIDocument` lists them (a test compares the two).
    var routes: [Route] {
        [
            Route(method: .get, path: "/healthz") { _, _ in Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) },
            Route(method: .get, path: "/readyz", handler: ready),
            Route(method: .get, path: "/metrics", handler: metrics),
            Route(method: .get, path: "/openapi.yaml") { _, _ in
                Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
            },
            Route(method: .get, path: "/play/{object}", handler: play),
            Route(method: .post, path: "/v1/uploads", handler: upload),
            Route(method: .post, path: "/v1/uploads/{id}/complete", handler: uploadCompleted),
            Route(method: .post, path: "/v1/engines/register", handler: registerEngine),
            Route(method: .post, path: "/v1/engines/{engine}/heartbeat", handler: heartbeat),
            Route(method: .post, path: "/v1/streams/renewals", handler: renewals),
            Route(method: .post, path: "/v1/streams/{id}/renew", handler: renew),
            Route(method: .post, path: "/v1/streams/{id}/end", handler: end),
            Route(method: .get, path: "/v1/objects", handler: objects),
            Route(method: .get, path: "/v1/objects/{object}", handler: object),
            Route(method: .delete, path: "/v1/objects/{object}", handler: deleteObject),
            Route(method: .put, path: "/v1/objects/{object}/access", handler: setAccess),
            Route(method: .post, path: "/v1/objects/{object}/replicas", handler: replicate),
            Route(method: .delete, path: "/v1/objects/{object}/replicas/{engine}", handler: dropReplica),
            Route(method: .post, path: "/v1/copies/{id}/complete", handler: copyCompleted),
            Route(method: .post, path: "/v1/copies/{id}/failed", handler: copyFailed),
            Route(method: .post, path: "/v1/engines/{engine}/replicas/{object}/corrupt", handler: replicaCorrupt),
            Route(method: .get, path: "/v1/engines", handler: engines),
            Route(method: .post, path: "/v1/engines/{engine}/drain", handler: drain),
            Route(method: .get, path: "/v1/queue", handler: queue),
            Route(method: .get, path: "/v1/links", handler: links),
            Route(method: .get, path: "/v1/streams", handler: streams),
            Route(method: .get, path: "/v1/streams/{id}", handler: streamState),
            Route(method: .delete, path: "/v1/streams/{id}", handler: tearDown),
            Route(method: .get, path: "/v1/usage", handler: usage),
            Route(method: .post, path: "/v1/reload", handler: reload),
            Route(method: .post, path: "/v1/tokens", handler: issueToken),
            Route(method: .get, path: "/v1/users", handler: listUsers),
            Route(method: .post, path: "/v1/users", handler: addUser),
            Route(method: .delete, path: "/v1/users/{user}", handler: revokeUser),
            Route(method: .post, path: "/v1/users/{user}/keys", handler: createKey),
            Route(method: .put, path: "/v1/users/{user}/quota", handler: setUserQuota),
            Route(method: .delete, path: "/v1/users/{user}/quota", handler: setUserQuota),
            Route(method: .put, path: "/v1/keys/{key}/quota", handler: setKeyQuota),
            Route(method: .delete, path: "/v1/keys/{key}/quota", handler: setKeyQuota),
            Route(method: .delete, path: "/v1/keys/{key}", handler: revokeKey),
        ]
    }

    func register(on router: Router<SluiceRequestContext>) {
        for route in routes {
            // Hummingbird writes a path parameter as `:name`.
            let path = route.path.split(separator: "/", omittingEmptySubsequences: false).map { part in
                part.hasPrefix("{") && part.hasSuffix("}") ? ":" + part.dropFirst().dropLast() : String(part)
            }.joined(separator: "/")
            router.on(RouterPath(path), method: route.method, use: route.handler)
        }
    }

    // MARK: Authentication

    /// The caller, from an API key in `Authorization: Bearer`, `X-API-Key` or `?key=`: 401 when
    /// the key is missing or not valid, 403 when its role is below `role`.
    private func caller(_ request: Request, needs role: Role) async throws -> Principal {
        let presented = bearer(request) ?? request.headers[.xAPIKey] ?? request.uri.queryParameters.get("key").map { String($0) }
            ?? browserSessions?.session(request.cookies[ConsoleSessions.cookieName]?.value, now: director.clock.now())?.key
        switch await director.authenticate(presented) {
        case .failure(let failure):
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer realm=\"sluice\""], message: failure.message)
        case .success(let principal):
            guard principal.role >= role else {
                throw HTTPError(.forbidden, message: "this needs the \(role.rawValue) role; the key presented has \(principal.role.rawValue)")
            }
            return principal
        }
    }

    private func requireEngine(_ request: Request, _ context: SluiceRequestContext) async throws {
        guard bearer(request) == engineToken else {
            throw HTTPError(.unauthorized, message: "engine calls need the cluster token derived from grantSecret")
        }
        if requireClientCertificate, !(await PeerCertificate.isPresented(on: context.channel)) {
            throw HTTPError(.forbidden, message: "engine calls need a client certificate signed by tls.ca (tls.mutual is on)")
        }
    }

    private func bearer(_ request: Request) -> String? {
        guard let value = request.headers[.authorization], value.lowercased().hasPrefix("bearer ") else { return nil }
        return String(value.dropFirst(7))
    }

    /// Prometheus text exposition; for the metrics token or an admin.
    @Sendable func metrics(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        let isScraper = metricsToken.map { token in bearer(request).map(GrantSigner.sha256Hex) == GrantSigner.sha256Hex(token) } ?? false
        if !isScraper { _ = try await caller(request, needs: .admin) }
        let body = await director.metricsExposition()
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Re-reads the configuration file, as SIGHUP does; says what it applied and what needs a restart.
    @Sendable func reload(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        _ = try await caller(request, needs: .admin)
        guard let reloader else { throw HTTPError(.notFound, message: "this director has no configuration file to reload") }
        do {
            return JSONResponse.make(try await reloader.reload())
        } catch let error as ConfigurationError {
            return JSONResponse.problem(.unprocessableContent, "invalid_configuration", "not reloaded; the running settings stay. \(error.description)")
        }
    }

    /// Ready: admitting, with its store answering. Load balancers and systemd watchdogs ask.
    @Sendable func ready(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        if let problem = await director.readiness() {
            return JSONResponse.problem(.serviceUnavailable, "not_ready", problem)
        }
        return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
    }

    // MARK: Play and upload

    @Sendable func play(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        let principal = try await caller(request, needs: .viewer)
        let requested = try context.parameters.require("object")
        guard MediaObject.isValidName(requested) else { throw HTTPError(.badRequest, message: "'\(requested.prefix(64))' is not a valid object name") }
        // `NAME.m3u8` is HLS: the same admission, one lease for the whole session, and the
        // engine's playlist instead of the media (unless an object is named so itself).
        var hls = false
        if requested.hasSuffix(".m3u8"), requested.count > 5 { hls = await director.object(named: requested) == nil }
        let name = hls ? String(requested.dropLast(5)) : requested
        let query = request.uri.queryParameters
        var play = PlayRequest(
            object: name, clientAddress: context.clientIP, principal: principal, maxWait: Duration.requestedWait(query.get("maxWait")),
            profile: .licensed(license: request.headers[.xSluiceLicense] ?? query.get("license").map { String($0) }, requested: query.get("profile").map { String($0) }),
            hangUp: context.hangUp)  // a viewer who hangs up while queued gives its place up at once
        if hls { play.transport = "hls" }
        switch await director.admitPlay(play) {
        case .failure(let refusal):
            if let handOff = refusal.handOff, query.get("handedOff") == nil {
                // Another director shares the store and has room in its queue: same request there.
                let query = request.uri.query.map { $0 + "&" } ?? ""
                return Response(status: .temporaryRedirect, headers: [
                    .location: "\(handOff.httpURL)\(request.uri.path)?\(query)handedOff=1", .contentLength: "0",
                ])
            }
            return JSONResponse.refusal(refusal, retryAfter: await director.policy.leaseSlack / 10)
        case .success(let ticket):
            if hls, request.headers[.accept]?.contains("application/json") == true {
                // For a page's script: where the playlist is, instead of a redirect it cannot read.
                return JSONResponse.make(HLSTicket(
                    playlist: "\(ticket.engine.url)/hls/\(name)/index.m3u8?grant=\(ticket.grant)", streamID: ticket.stream.id,
                    reservedBitsPerSecond: ticket.stream.bitsPerSecond, durationMilliseconds: ticket.object.durationMilliseconds))
            }
            return Response(status: .found, headers: [
                .location: hls ? "\(ticket.engine.url)/hls/\(name)/index.m3u8?grant=\(ticket.grant)" : "\(ticket.engine.url)/stream/\(name)?grant=\(ticket.grant)",
                .xSluiceStreamID: "\(ticket.stream.id)",
                .xSluiceReservedRate: "\(ticket.stream.bitsPerSecond)", .xSluiceProfile: ticket.profileHeader, .contentLength: "0",
            ])
        }
    }

    @Sendable func upload(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        let principal = try await caller(request, needs: .uploader)
        let body = try await JSONResponse.decode(ClusterMessages.UploadRequest.self, from: request, context: context)
        guard MediaObject.isValidName(body.name) else {
            throw HTTPError(.badRequest, message: "object names are 1-128 characters of A-Z a-z 0-9 . _ - and do not start with . or -")
        }
        guard body.sizeBytes > 0, body.sha256.count == 64, body.sha256.allSatisfy(\.isHexDigit) else {
            throw HTTPError(.badRequest, message: "an upload needs sizeBytes > 0 and the 64-hex-digit sha256 of the file")
        }
        switch await director.admitUpload(body, clientAddress: context.clientIP, by: principal) {
        case .failure(let refusal): return JSONResponse.refusal(refusal, retryAfter: .seconds(5))
        case .success(let ticket): return JSONResponse.make(ticket, status: .created)
        }
    }

    @Sendable func uploadCompleted(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        try await requireEngine(request, context)
        let body = try await JSONResponse.decode(ClusterMessages.UploadCompleted.self, from: request, context: context)
        guard await director.uploadCompleted(streamID: body.streamID, object: body.object, engine: body.engine) else {
            return JSONResponse.problem(.gone, "unknown_upload", "upload \(body.streamID) is not live (its lease may have expired)")
        }
        return JSONResponse.make(body.object)
    }

    // MARK: Engine control plane

    /// The answer to a registration or heartbeat (`ClusterMessages.DirectorList` plus what it acknowledges).
    struct EngineReply: Encodable {
        var registered: String?
        var ok: Bool?
        var directors: [String]?
    }

    @Sendable func registerEngine(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        try await requireEngine(request, context)
        let body = try await JSONResponse.decode(ClusterMessages.RegisterEngine.self, from: request, context: context)
        guard await director.isEngineNode(body.name) else {
            return JSONResponse.problem(.badRequest, "unknown_engine", "engine '\(body.name)' is not an engine node of the director's topology")
        }
        let record = EngineRecord(name: body.name, url: body.url, capacity: body.capacity, isUp: true, lastHeartbeat: await director.now())
        await director.registerEngine(record, objects: body.objects.filter { MediaObject.isValidName($0.name) }, instance: body.instance)
        return JSONResponse.make(EngineReply(registered: body.name, directors: await director.liveDirectorURLs))
    }

    @Sendable func heartbeat(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        try await requireEngine(request, context)
        let name = try context.parameters.require("engine")
        guard await director.heartbeat(engine: name) else {
            return JSONResponse.problem(.notFound, "unknown_engine", "engine '\(name)' must register first")
        }
        return JSONResponse.make(EngineReply(ok: true, directors: await director.liveDirectorURLs))
    }

    @Sendable func renew(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        try await requireEngine(request, context)
        let id = try streamID(context)
        let body = try await JSONResponse.decode(ClusterMessages.Renew.self, from: request, context: context)
        guard let leaseExpiry = await director.renew(
            streamID: id, bytesSent: body.bytesSent, quality: body.quality,
            receiverReportAge: body.receiverReportAgeMilliseconds.map { .milliseconds($0) }) else {
            return JSONResponse.problem(.gone, "stream_gone", "stream \(id) has no live lease: stop sending")
        }
        return JSONResponse.make(ClusterMessages.Lease(streamID: id, leaseExpiry: leaseExpiry))
    }

    /// Many renewals at once; answers which of the streams are gone.
    @Sendable func renewals(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        try await requireEngine(request, context)
        let body = try await JSONResponse.decode(ClusterMessages.Renewals.self, from: request, context: context)
        guard body.items.count <= ClusterMessages.Renewals.maxItems else {
            return JSONResponse.problem(.contentTooLarge, "too_many_renewals", "at most \(ClusterMessages.Renewals.maxItems) renewals per request")
        }
        return JSONResponse.make(ClusterMessages.RenewalResults(gone: await director.renew(body.items)))
    }

    @Sendable func end(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        try await requireEngine(request, context)
        let id = try streamID(context)
        let body = try await JSONResponse.decode(ClusterMessages.End.self, from: request, context: context)
        guard await director.end(streamID: id, bytesSent: body.bytesSent, reason: body.reason, quality: body.quality) != nil else {
            return JSONResponse.problem(.gone, "stream_gone", "stream \(id) has already ended")
        }
        return JSONResponse.make(["ended": id])
    }

    // MARK: Views

    @Sendable func objects(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        let principal = try await caller(request, needs: .viewer)
        // Only what the caller may play.
        struct Row: Encodable { var object: MediaObject; var replicas: [String]; var access: ObjectAccess }
        let rows = await director.visibleObjects(to: principal).map { Row(object: $0.object, replicas: $0.replicas, access: $0.access) }
        return JSONResponse.make(rows)
    }

    @Sendable func object(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        let principal = try await caller(request, needs: .viewer)
        let name = try context.parameters.require("object")
        guard await director.access(of: name, for: principal) != nil, let status = await director.status(of: name) else {
            return JSONResponse.problem(.notFound, "unknown_object", Entitlements.notFoundMessage(name))
        }
        return JSONResponse.make(status)
    }

    @Sendable func setAccess(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        let principal = try await caller(request, needs: .viewer)
        let name = try context.parameters.require("object")
        let body = try await JSONResponse.decode(ClusterMessages.AccessChange.self, from: request, context: context)
        switch await director.setAccess(of: name, visibility: body.visibility, users: body.users ?? [], groups: body.groups ?? [], by: principal) {
        case .changed(let rule): return JSONResponse.make(rule)
        case .notFound: return JSONResponse.problem(.notFound, "unknown_object", Entitlements.notFoundMessage(name))
        case .forbidden(let message): return JSONResponse.problem(.forbidden, "not_owner", message)
        case .invalid(let message): return JSONResponse.problem(.badRequest, "invalid_access", message)
        }
    }

    // MARK: Replicas (operator)

    @Sendable func replicate(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        _ = try await caller(request, needs: .admin)
        let name = try context.parameters.require("object")
        let body = try await JSONResponse.decode(ClusterMessages.ReplicateRequest.self, from: request, context: context)
        switch await director.startCopy(object: name, from: body.from, to: body.to, kind: .static) {
        case .success(let job):
            return JSONResponse.make(job, status: .accepted)
        case .failure(let refusal):
            return JSONResponse.refusal(refusal, retryAfter: .seconds(5))
        }
    }

    @Sendable func deleteObject(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        let principal = try await caller(request, needs: .uploader)
        let name = try context.parameters.require("object")
        let force = request.uri.queryParameters.get("force").map { $0 == "1" || $0 == "true" } ?? false
        switch await director.deleteObject(name, by: principal, force: force) {
        case .deleted(let engines, let ended):
            struct Deleted: Encodable { var deleted: String; var engines: [String]; var streamsEnded: Int }
            return JSONResponse.make(Deleted(deleted: name, engines: engines, streamsEnded: ended))
        case .notFound: return JSONResponse.problem(.notFound, "not_found", Entitlements.notFoundMessage(name))
        case .forbidden(let message): return JSONResponse.problem(.forbidden, "forbidden", message)
        case .busy(let message): return JSONResponse.problem(.conflict, "in_use", message)
        }
    }

    @Sendable func dropReplica(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        _ = try await caller(request, needs: .admin)
        let name = try context.parameters.require("object")
        let engine = try context.parameters.require("engine")
        switch await director.dropReplica(object: name, engine: engine) {
        case .success:
            return JSONResponse.make(["dropped": name, "engine": engine])
        case .failure(let refusal):
            return JSONResponse.problem(refusal.code == .noReplica ? .notFound : .conflict, refusal.code.rawValue, refusal.message)
        }
    }

    @Sendable func drain(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        _ = try await caller(request, needs: .admin)
        let name = try context.parameters.require("engine")
        let cancel = request.uri.queryParameters.get("cancel").map { $0 == "1" || $0 == "true" } ?? false
        guard let live = await director.setDraining(engine: name, !cancel) else {
            return JSONResponse.problem(.notFound, "unknown_engine", "engine '\(name.prefix(128))' is not registered")
        }
        struct Drain: Encodable { var engine: String; var draining: Bool; var liveStreams: Int }
        return JSONResponse.make(Drain(engine: name, draining: !cancel, liveStreams: live))
    }

    @Sendable func copyCompleted(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        try await requireEngine(request, context)
        let body = try await JSONResponse.decode(ClusterMessages.UploadCompleted.self, from: request, context: context)
        guard await director.copyCompleted(streamID: body.streamID, engine: body.engine, object: body.object) else {
            return JSONResponse.problem(.gone, "unknown_copy", "copy \(body.streamID) was not ordered here or its checksum differs")
        }
        return JSONResponse.make(body.object)
    }

    @Sendable func copyFailed(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        try await requireEngine(request, context)
        let body = try await JSONResponse.decode(ClusterMessages.CopyFailed.self, from: request, context: context)
        await director.copyFailed(streamID: body.streamID, engine: body.engine, reason: String(body.reason.prefix(500)))
        return JSONResponse.make(["ok": true])
    }

    /// An engine's scrubber found its replica corrupt and quarantined it.
    @Sendable func replicaCorrupt(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        try await requireEngine(request, context)
        let engine = try context.parameters.require("engine")
        let object = try context.parameters.require("object")
        let body = try await JSONResponse.decode(ClusterMessages.ReplicaCorrupt.self, from: request, context: context)
        let listed = await director.replicaCorrupt(object: object, engine: engine, reason: String(body.reason.prefix(500)))
        return JSONResponse.make(["unlisted": listed])
    }

    @Sendable func engines(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        _ = try await caller(request, needs: .admin)
        return JSONResponse.make(await director.engineViews())
    }

    /// Where the caller's waiting requests stand (a watch page shows it while it waits).
    @Sendable func queue(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        let principal = try await caller(request, needs: .viewer)
        return JSONResponse.make(await director.queuePlaces(for: principal))
    }

    @Sendable func links(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        _ = try await caller(request, needs: .admin)
        return JSONResponse.make(await director.linkViews())
    }

    @Sendable func streams(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        _ = try await caller(request, needs: .admin)
        return JSONResponse.make(await director.liveStreams())
    }

    /// A player asks what became of its stream (the CLI's play ending): its own, or any for an admin.
    @Sendable func streamState(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        let principal = try await caller(request, needs: .viewer)
        let id = try streamID(context)
        guard let state = try await director.streamState(id: id), state.isVisible(to: principal) else {
            return JSONResponse.problem(.notFound, "stream_gone", "no stream \(id), live or ended")
        }
        return JSONResponse.make(state)
    }

    @Sendable func tearDown(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        _ = try await caller(request, needs: .admin)
        let id = try streamID(context)
        guard let stream = await director.withdraw(streamID: id) else {
            return JSONResponse.problem(.notFound, "stream_gone", "no live stream \(id)")
        }
        return JSONResponse.make(stream)
    }

    @Sendable func usage(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        _ = try await caller(request, needs: .admin)
        // `since`: RFC 3339, or milliseconds since the epoch.
        var since = Timestamp(millisecondsSinceEpoch: 0)
        if let text = request.uri.queryParameters.get("since") {
            if let time = Timestamp(rfc3339: String(text)) {
                since = time
            } else if let milliseconds = Int64(String(text)) {
                since = Timestamp(millisecondsSinceEpoch: milliseconds)
            } else {
                throw HTTPError(.badRequest, message: "since must be an RFC 3339 time (2026-12-02T10:00:00Z) or milliseconds since the epoch")
            }
        }
        let limit = min(100_000, request.uri.queryParameters.get("limit").flatMap(Int.init) ?? 10_000)
        let records = try await director.usage(since: since, limit: limit)
        switch request.uri.queryParameters.get("format") ?? "json" {
        case "json":
            return JSONResponse.make(records)
        case "jsonl":
            let lines = records.compactMap { try? JSONResponse.encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) + "\n" }
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: .init(byteBuffer: ByteBuffer(string: lines.joined())))
        case "csv":
            var text = "stream_id,kind,object,engine,client,started_ms,ended_ms,bytes,reserved_bps,end_reason,fraction_lost,cumulative_lost,jitter_ms,user\n"
            for r in records {
                let quality = r.quality.map { "\($0.fractionLost),\($0.cumulativeLost),\($0.jitterMilliseconds)" } ?? ",,"
                text += "\(r.streamID),\(r.kind.rawValue),\(r.object),\(r.engine),\(r.clientAddress),\(r.startedAt.millisecondsSinceEpoch),\(r.endedAt.millisecondsSinceEpoch),\(r.bytes),\(r.reservedBitsPerSecond),\(r.endReason.rawValue),\(quality),\(r.user ?? "")\n"
            }
            return Response(status: .ok, headers: [.contentType: "text/csv"], body: .init(byteBuffer: ByteBuffer(string: text)))
        default:
            throw HTTPError(.badRequest, message: "format must be json, jsonl or csv")
        }
    }

    // MARK: Users and keys (admin)

    struct NewUser: Codable, Sendable {
        var name: String
        var role: Role
        var groups: [String]?
        /// The user's own quota (absent: the configuration's default applies).
        var maxStreams: Int?
        var maxBitsPerSecond: Int64?
    }

    /// A quota in a request body; both absent means "no limit of its own" only with `PUT`.
    struct QuotaBody: Codable, Sendable {
        var maxStreams: Int?
        var maxBitsPerSecond: Int64?

        func quota() throws -> Quota {
            if let maxStreams, maxStreams < 0 { throw HTTPError(.badRequest, message: "maxStreams must not be negative") }
            if let maxBitsPerSecond, maxBitsPerSecond < 0 { throw HTTPError(.badRequest, message: "maxBitsPerSecond must not be negative") }
            return Quota(maxStreams: maxStreams, maxBitsPerSecond: maxBitsPerSecond)
        }

        /// The quota of one's own a creation asks for; nil (the default applies) when none.
        func ownQuota() throws -> Quota? {
            maxStreams == nil && maxBitsPerSecond == nil ? nil : try quota()
        }
    }

    /// A short-lived bearer token for the caller's key (any role).
    @Sendable func issueToken(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        let principal = try await caller(request, needs: .viewer)
        guard let (token, expiry) = await director.issueToken(for: principal) else {
            return JSONResponse.problem(.serviceUnavailable, "unavailable", "this director issues no tokens")
        }
        struct Issued: Encodable { var token: String; var tokenType: String; var expiresAt: Int64 }
        return JSONResponse.make(Issued(token: token, tokenType: "Bearer", expiresAt: expiry.millisecondsSinceEpoch), status: .created)
    }

    @Sendable func listUsers(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        _ = try await caller(request, needs: .admin)
        return JSONResponse.make(await director.userHoldings)
    }

    @Sendable func addUser(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        _ = try await caller(request, needs: .admin)
        let body = try await JSONResponse.decode(NewUser.self, from: request, context: context)
        let groups = body.groups ?? []
        guard User.isValidName(body.name), groups.count <= 32, groups.allSatisfy(User.isValidName) else {
            throw HTTPError(.badRequest, message: "user and group names are 1-64 characters of A-Z a-z 0-9 . _ - (at most 32 groups)")
        }
        let quota = try QuotaBody(maxStreams: body.maxStreams, maxBitsPerSecond: body.maxBitsPerSecond).ownQuota()
        guard let user = await director.addUser(name: body.name, role: body.role, groups: groups, quota: quota) else {
            return JSONResponse.problem(.conflict, "user_exists", "a user named '\(body.name)' exists already")
        }
        return JSONResponse.make(user, status: .created)
    }

    @Sendable func revokeUser(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        _ = try await caller(request, needs: .admin)
        let name = try context.parameters.require("user")
        guard let ended = await director.revokeUser(name) else {
            return JSONResponse.problem(.notFound, "unknown_user", "no user named '\(name.prefix(64))'")
        }
        struct Revoked: Encodable { var user: String; var streamsEnded: Int }
        return JSONResponse.make(Revoked(user: name, streamsEnded: ended))
    }

    @Sendable func createKey(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        _ = try await caller(request, needs: .admin)
        let name = try context.parameters.require("user")
        // No body, `{}`, or a quota of the key's own.
        let hasBody = request.headers[.contentLength].flatMap(Int.init).map { $0 > 0 } ?? (request.headers[.transferEncoding] != nil)
        let body = hasBody ? try await JSONResponse.decode(QuotaBody.self, from: request, context: context) : QuotaBody()
        let quota = try body.ownQuota()
        guard let (record, key) = await director.createKey(for: name, quota: quota) else {
            return JSONResponse.problem(.notFound, "unknown_user", "no active user named '\(name.prefix(64))'")
        }
        struct Created: Encodable { var id: String; var user: String; var key: String }
        return JSONResponse.make(Created(id: record.id, user: record.user, key: key), status: .created)
    }

    @Sendable func revokeKey(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        _ = try await caller(request, needs: .admin)
        let id = try context.parameters.require("key")
        guard let (key, ended) = await director.revokeKey(id) else {
            return JSONResponse.problem(.notFound, "unknown_key", "no key with ID '\(id.prefix(64))'")
        }
        struct Revoked: Encodable { var id: String; var user: String; var streamsEnded: Int }
        return JSONResponse.make(Revoked(id: key.id, user: key.user, streamsEnded: ended))
    }

    /// `PUT` sets a user's or key's own quota; `DELETE` returns it to the configuration's default.
    private func requestedQuota(_ request: Request, context: SluiceRequestContext) async throws -> Quota? {
        _ = try await caller(request, needs: .admin)
        return request.method == .delete ? nil : try await JSONResponse.decode(QuotaBody.self, from: request, context: context).quota()
    }

    @Sendable func setUserQuota(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        let quota = try await requestedQuota(request, context: context)
        let name = try context.parameters.require("user")
        guard let user = await director.setQuota(quota, ofUser: name) else {
            return JSONResponse.problem(.notFound, "unknown_user", "no user named '\(name.prefix(64))'")
        }
        return JSONResponse.make(user)
    }

    @Sendable func setKeyQuota(_ request: Request, context: SluiceRequestContext) async throws -> Response {
        let quota = try await requestedQuota(request, context: context)
        let id = try context.parameters.require("key")
        guard let key = await director.setQuota(quota, ofKey: id) else {
            return JSONResponse.problem(.notFound, "unknown_key", "no key with ID '\(id.prefix(64))'")
        }
        struct Limited: Encodable { var id: String; var user: String; var quota: Quota? }
        return JSONResponse.make(Limited(id: key.id, user: key.user, quota: key.quota))
    }

    private func streamID(_ context: SluiceRequestContext) throws -> UInt32 {
        guard let id = UInt32(try context.parameters.require("id")), id != 0 else {
            throw HTTPError(.badRequest, message: "stream IDs are integers from 1 to 4294967295")
        }
        return id
    }
}

/// `GET /play/NAME.m3u8` with `Accept: application/json`: the admitted session's playlist.
struct HLSTicket: Encodable {
    var playlist: String
    var streamID: UInt32
    var reservedBitsPerSecond: Int64
    var durationMilliseconds: Int64
}
