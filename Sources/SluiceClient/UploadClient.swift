import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import SluiceCore

/// Uploads a file: asks the director to admit the write, then sends the bytes to the engine.
public struct UploadClient: Sendable {
    let client: HTTPClient

    public init(client: HTTPClient = .shared) {
        self.client = client
    }

    public struct Result: Sendable {
        public var engine: String
        public var streamID: UInt32
        public var sizeBytes: Int64
        public var sha256: String
    }

    public func put(
        file path: String, name: String, directorURL: String, apiKey: String?, visibility: ObjectAccess.Visibility? = nil
    ) async throws -> Result {
        let (size, digest) = try Self.measure(path)
        var admit = HTTPClientRequest(url: directorURL.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/v1/uploads")
        admit.method = .POST
        admit.headers.add(name: "Content-Type", value: "application/json")
        if let apiKey { admit.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        admit.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(ClusterMessages.UploadRequest(name: name, sizeBytes: size, sha256: digest, visibility: visibility))))
        let reply: HTTPClientResponse
        do {
            reply = try await client.execute(admit, timeout: .seconds(60))
        } catch {
            throw ClientError.unreachable("the director", url: directorURL, error)
        }
        let replyBody = try await reply.body.collect(upTo: 1 << 20)
        guard reply.status == .created else {
            throw ClientError("director refused the upload (HTTP \(reply.status.code)): \(Self.message(replyBody))")
        }
        let ticket = try JSONDecoder().decode(ClusterMessages.UploadTicket.self, from: Data(replyBody.readableBytesView))

        var upload = HTTPClientRequest(url: ticket.uploadURL)
        upload.method = .PUT
        upload.headers.add(name: "Content-Type", value: "video/mp2t")
        upload.body = .stream(FileChunks(path: path), length: .known(size))
        let stored: HTTPClientResponse
        do {
            stored = try await client.execute(upload, timeout: .seconds(3600))
        } catch {
            throw ClientError.unreachable("engine '\(ticket.engine)'", url: ticket.uploadURL, error)
        }
        let storedBody = try await stored.body.collect(upTo: 1 << 20)
        guard stored.status == .created else {
            throw ClientError("engine '\(ticket.engine)' rejected the upload (HTTP \(stored.status.code)): \(Self.message(storedBody))")
        }
        return Result(engine: ticket.engine, streamID: ticket.streamID, sizeBytes: size, sha256: digest)
    }

    static func message(_ body: ByteBuffer) -> String {
        let data = Data(body.readableBytesView)
        return (try? JSONDecoder().decode(ClusterMessages.Problem.self, from: data))?.message
            ?? String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Size and SHA-256 of a file, read in 1 MiB chunks.
    public static func measure(_ path: String) throws -> (Int64, String) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ClientError("cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty {
            hasher.update(data: data)
            size += Int64(data.count)
        }
        return (size, hasher.finalize().hexEncoded)
    }
}

/// A file as an async sequence of 1 MiB buffers, for streaming request bodies.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle?
        mutating func next() async throws -> ByteBuffer? {
            guard let handle else { throw ClientError("cannot read file") }
            guard let data = try handle.read(upToCount: 1 << 20), !data.isEmpty else {
                try? handle.close()
                return nil
            }
            return ByteBuffer(bytes: data)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handle: FileHandle(forReadingAtPath: path)) }
}
