import Hummingbird
import Logging
import NIOCore
import NIOFileSystem
import SluiceCore
import SluiceGrant

/// Sends a byte range of an object at the granted rate, renewing the lease as it goes.
struct PacedSender: Sendable {
    let path: String
    let range: Range<Int64>
    let grant: StreamGrant
    let burstBytes: Int
    let renewInterval: Duration
    let streams: StreamTable
    let director: DirectorLink
    let logger: Logger

    static let chunkBytes = 16 * 1024

    private enum Stop: Error { case revoked, superseded }

    func body() -> ResponseBody {
        ResponseBody(contentLength: Int(range.count)) { writer in
            let id = grant.streamID
            let generation = await streams.attach(id)
            let clock = ContinuousClock()
            let start = clock.now
            var bucket = TokenBucket(bitsPerSecond: grant.bitsPerSecond, burstBytes: burstBytes)
            // Renew after the first chunk: that tells the director the client came.
            var lastRenewal = start - renewInterval
            var total: Int64 = 0
            do {
                try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
                    for try await chunk in handle.readChunks(in: range, chunkLength: .bytes(Int64(Self.chunkBytes))) {
                        let wait = bucket.delay(sending: chunk.readableBytes, at: clock.now - start)
                        if wait > .zero { try await Task.sleep(for: wait) }
                        guard await streams.isCurrent(id, generation: generation) else { throw Stop.superseded }
                        try await writer.write(chunk)
                        total = await streams.add(chunk.readableBytes, to: id)
                        if clock.now - lastRenewal >= renewInterval {
                            lastRenewal = clock.now
                            if try await !director.renew(streamID: id, bytesSent: total) { throw Stop.revoked }
                        }
                    }
                }
                try await writer.finish(nil)
                await streams.detach(id, generation: generation, reason: .completed, revoked: false)
            } catch Stop.revoked {
                await streams.detach(id, generation: generation, reason: .tornDown, revoked: true)
                throw Stop.revoked
            } catch Stop.superseded {
                throw Stop.superseded
            } catch {
                logger.info("stream connection closed early", metadata: ["stream_id": "\(id)", "bytes": "\(total)", "error": "\(error)"])
                await streams.detach(id, generation: generation, reason: .clientGone, revoked: false)
                throw error
            }
        }
    }
}
