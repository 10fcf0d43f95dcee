import Hummingbird
import Logging
import NIOCore
import SluiceCore
import SluiceGrant
import SluiceMedia

/// The engine's HTTP face: paced, range-capable play, and verified uploads.
struct EngineRoutes {
    let name: String
    let objects: ObjectStore
    let streams: StreamTable
    let director: DirectorLink
    let signer: GrantSigner
    let burstBytes: Int
    let renewInterval: Duration
    let clock: any SluiceClock
    let metrics: EngineMetrics
    var hlsIdleTime: Duration? = nil
    let logger: Logger

    func register(on router: Router<EngineRequestContext>) {
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: EngineOpenAPIDocument.yaml)))
        }
        router.get("/stream/:object", use: stream)
        router.head("/stream/:object", use: stream)
        router.put("/objects/:object", use: upload)
        router.get("/hls/:object/index.m3u8", use: hlsPlaylist)
        router.get("/hls/:object/seg/:segment", use: hlsSegment)
    }

    @Sendable func stream(_ request: Request, context: EngineRequestContext) async throws -> Response {
        let name = try context.parameters.require("object")
        let grant = try playGrant(request, object: name, context: context)
        // HEAD sends no media: it is not the player coming, so it neither asks nor claims.
        try await requireLiveStream(grant, object: name, claiming: request.method != .head)
        guard let object = await objects.object(named: name) else {
            throw HTTPError(.notFound, message: "engine '\(self.name)' does not hold '\(name)'")
        }
        let range: ByteRange?
        do throws(ByteRangeError) {
            range = try ByteRange.parse(request.headers[.range], length: object.sizeBytes)
        } catch {
            if error.httpStatus == 416 {
                throw HTTPError(.rangeNotSatisfiable, headers: [.contentRange: "bytes */\(object.sizeBytes)"], message: error.message)
            }
            throw HTTPError(.badRequest, message: error.message)
        }
        let selected = range ?? ByteRange(first: 0, last: object.sizeBytes - 1)
        var headers: HTTPFields = [
            .contentType: "video/mp2t", .acceptRanges: "bytes", .contentLength: "\(selected.count)", .cacheControl: "no-store",
        ]
        if range != nil { headers[.contentRange] = selected.contentRange(length: object.sizeBytes) }
        let status: HTTPResponse.Status = range == nil ? .ok : .partialContent
        if request.method == .head { return Response(status: status, headers: headers) }
        var sender = PacedSender(
            path: objects.path(of: name), range: selected.first..<(selected.last + 1), grant: grant, burstBytes: burstBytes,
            renewInterval: renewInterval, streams: streams, director: director, metrics: metrics, logger: logger)
        sender.channel = context.channel
        logger.info("stream starting", metadata: [
            "stream_id": "\(grant.streamID)", "object": "\(name)", "first_byte": "\(selected.first)", "rate_bps": "\(grant.bitsPerSecond)",
        ])
        return Response(status: status, headers: headers, body: sender.body())
    }

    /// The request's play grant for `name`, checked (signature, object, engine, client, expiry); 403 otherwise.
    func playGrant(_ request: Request, object name: String, context: EngineRequestContext) throws -> StreamGrant {
        do throws(GrantError) {
            return try signer.verify(
                request.uri.queryParameters.get("grant"), object: name, engine: self.name,
                clientAddress: context.clientIP, action: .play, now: clock.now())
        } catch {
            logger.info("play refused", metadata: ["object": "\(name.prefix(64))", "reason": "\(error.code.rawValue)"])
            throw HTTPError(.forbidden, message: error.message)
        }
    }

    /// A grant opens media only while its stream lives: once it ended, was revoked or its lease
    /// lapsed, 410 and nothing sent. The first connection of a stream the engine has not seen
    /// asks the director (which also learns that the player came).
    func requireLiveStream(_ grant: StreamGrant, object name: String, claiming: Bool) async throws {
        func gone(_ why: String) -> HTTPError {
            logger.info("play refused", metadata: ["object": "\(name.prefix(64))", "stream_id": "\(grant.streamID)", "reason": "\(why)"])
            return HTTPError(.gone, message: "the stream of this grant has ended (\(why)); ask the director to play again")
        }
        switch await streams.opening(grant.streamID) {
        case .live:
            return
        case .gone:
            throw gone("ended or revoked")
        case .unknown:
            guard claiming else { return }
            let live: Bool
            do {
                live = try await director.renew(streamID: grant.streamID, bytesSent: 0)
            } catch {
                logger.warning("could not confirm a stream's lease with the director", metadata: ["stream_id": "\(grant.streamID)", "error": "\(error)"])
                throw HTTPError(.serviceUnavailable, message: "the engine cannot reach its director to confirm the stream; try again")
            }
            guard live else {
                await streams.leaseGone(grant.streamID)
                throw gone("its lease is gone")
            }
        }
    }

    @Sendable func upload(_ request: Request, context: EngineRequestContext) async throws -> Response {
        let name = try context.parameters.require("object")
        let grant: StreamGrant
        do throws(GrantError) {
            grant = try signer.verify(
                request.uri.queryParameters.get("grant"), object: name, engine: self.name,
                clientAddress: context.clientIP, action: .ingest, now: clock.now())
        } catch {
            throw HTTPError(.forbidden, message: error.message)
        }
        guard let size = grant.sizeBytes, let sha = grant.sha256 else { throw HTTPError(.forbidden, message: "grant lacks size or checksum") }
        // One writer per grant: a second connection is refused without touching the first's lease.
        switch await streams.beginUpload(grant.streamID) {
        case .write: break
        case .busy: throw HTTPError(.conflict, message: "another connection is uploading with this grant")
        case .gone: throw HTTPError(.gone, message: "this upload grant was used already; ask the director again")
        }
        do {
            let response = try await store(request, name: name, grant: grant, size: size, sha256: sha)
            await streams.finishUpload(grant.streamID)
            return response
        } catch {
            await streams.finishUpload(grant.streamID)
            throw error
        }
    }

    /// The one writer of an upload grant: checks, stores and lists the object, or ends the lease.
    private func store(_ request: Request, name: String, grant: StreamGrant, size: Int64, sha256 sha: String) async throws -> Response {
        if let declared = request.headers[.contentLength].flatMap(Int64.init), declared != size {
            try? await director.end(streamID: grant.streamID, bytesSent: 0, reason: .failed)
            throw HTTPError(.badRequest, message: "Content-Length \(declared) differs from the \(size) bytes admitted")
        }
        let object: MediaObject
        do throws(IngestError) {
            let director = self.director
            let id = grant.streamID
            object = try await objects.ingest(
                name: name, expectedSize: size, expectedSHA256: sha, body: request.body, renewInterval: renewInterval
            ) { received in
                (try? await director.renew(streamID: id, bytesSent: received)) ?? true
            }
        } catch {
            logger.warning("upload rejected", metadata: ["object": "\(name)", "stream_id": "\(grant.streamID)", "reason": "\(error.message)"])
            try? await director.end(streamID: grant.streamID, bytesSent: 0, reason: .failed)
            throw HTTPError(HTTPResponse.Status(code: error.httpStatus), message: error.message)
        }
        let listed = (try? await director.uploadCompleted(.init(streamID: grant.streamID, engine: self.name, object: object))) ?? false
        guard listed else {
            await objects.remove(name)
            throw HTTPError(.serviceUnavailable, message: "the director did not accept the upload (its lease may have expired); nothing was listed")
        }
        return Response(status: .created, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"object\":\"\(name)\",\"sha256\":\"\(object.sha256)\",\"sizeBytes\":\(object.sizeBytes)}\n")))
    }
}
