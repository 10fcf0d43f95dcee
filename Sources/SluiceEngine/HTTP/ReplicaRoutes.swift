import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import SluiceCore

/// The director's orders about replicas: fetch a copy from another engine, delete a replica.
struct ReplicaRoutes {
    let engineName: String
    let objects: ObjectStore
    let director: DirectorLink
    let cluster: ClusterCredentials
    /// Where copy jobs run.
    let work: BackgroundWork
    let logger: Logger

    func register(on router: Router<EngineRequestContext>) {
        router.post("/v1/copies", use: copy)
        router.delete("/v1/objects/:object", use: delete)
    }

    private func authorize(_ request: Request, _ context: EngineRequestContext) async throws {
        try await cluster.check(request, context, for: "replica orders")
    }

    @Sendable func copy(_ request: Request, context: EngineRequestContext) async throws -> Response {
        try await authorize(request, context)
        let body = try await request.body.collect(upTo: 1 << 16)
        guard let order = try? JSONDecoder().decode(ClusterMessages.CopyOrder.self, from: Data(body.readableBytesView)),
              MediaObject.isValidName(order.object.name), order.object.sizeBytes > 0,
              let url = URL(string: order.sourceURL), url.scheme == "http" || url.scheme == "https" else {
            throw HTTPError(.badRequest, message: "body is not a valid copy order")
        }
        if await objects.object(named: order.object.name) != nil {
            throw HTTPError(.conflict, message: "engine '\(engineName)' already holds '\(order.object.name)'")
        }
        // Reports go to the director that ordered the copy.
        let orderedBy = order.reportTo.flatMap { URL(string: $0)?.scheme?.hasPrefix("http") == true ? $0 : nil }
        let reportTo = orderedBy.map { DirectorLink(baseURLs: [$0] + director.directors.candidates, token: director.token, logger: director.logger) } ?? director
        let copier = Copier(engineName: engineName, objects: objects, director: reportTo, logger: logger)
        // The order is answered at once; the copy runs at the paced rate and reports when done.
        guard work.start({ await copier.run(order) }) else {
            throw HTTPError(.serviceUnavailable, message: "engine '\(engineName)' is shutting down")
        }
        let reply = try JSONEncoder().encode(["streamID": order.streamID])
        return Response(status: .accepted, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: reply)))
    }

    @Sendable func delete(_ request: Request, context: EngineRequestContext) async throws -> Response {
        try await authorize(request, context)
        let name = try context.parameters.require("object")
        guard MediaObject.isValidName(name), await objects.object(named: name) != nil else {
            throw HTTPError(.notFound, message: "engine '\(engineName)' does not hold '\(name.prefix(128))'")
        }
        await objects.remove(name)
        logger.info("replica deleted on the director's order", metadata: ["object": "\(name)"])
        let reply = try JSONEncoder().encode(["deleted": name])
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: reply)))
    }
}

/// Fetches one object from another engine, stores it only if size, SHA-256 and MPEG-TS timing
/// check out (the upload path's `ingest`), and tells the director.
struct Copier: Sendable {
    let engineName: String
    let objects: ObjectStore
    let director: DirectorLink
    let logger: Logger

    func run(_ order: ClusterMessages.CopyOrder) async {
        let name = order.object.name
        logger.info("copy starting", metadata: ["object": "\(name)", "stream_id": "\(order.streamID)", "bytes": "\(order.object.sizeBytes)"])
        let started = ContinuousClock.now
        let stored: MediaObject
        do {
            stored = try await fetch(order)
        } catch {
            logger.warning("copy failed", metadata: ["object": "\(name)", "stream_id": "\(order.streamID)", "reason": "\(error)"])
            _ = try? await director.post(
                "/v1/copies/\(order.streamID)/failed",
                ClusterMessages.CopyFailed(streamID: order.streamID, engine: engineName, reason: "\(error)"))
            return
        }
        let reply = try? await director.post(
            "/v1/copies/\(order.streamID)/complete",
            ClusterMessages.UploadCompleted(streamID: order.streamID, engine: engineName, object: stored))
        guard reply?.status == 200 else {
            // The director did not list it (the copy was given up, or it went away): nothing
            // unlisted stays on disk to be served by mistake.
            await objects.remove(name)
            logger.warning("copy not accepted by the director: removed", metadata: ["object": "\(name)", "status": "\(reply?.status ?? 0)"])
            return
        }
        logger.info("copy stored and listed", metadata: [
            "object": "\(name)", "sha256": "\(stored.sha256)", "seconds": "\((ContinuousClock.now - started).seconds)",
        ])
    }

    private func fetch(_ order: ClusterMessages.CopyOrder) async throws -> MediaObject {
        var request = HTTPClientRequest(url: order.sourceURL)
        request.method = .GET
        // Generous: the source paces at the copy rate; the lease bounds it anyway.
        let response = try await director.client.execute(request, timeout: .hours(6))
        guard response.status == .ok else {
            let text = try? await response.body.collect(upTo: 4096)
            throw IngestError(.cutOff, "source answered \(response.status.code): \(text.map { String(buffer: $0) } ?? "")")
        }
        return try await objects.ingest(
            name: order.object.name, expectedSize: order.object.sizeBytes, expectedSHA256: order.object.sha256, body: response.body)
    }
}
