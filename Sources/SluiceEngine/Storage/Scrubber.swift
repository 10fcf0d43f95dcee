import Crypto
import Foundation
import Logging
import SluiceCore

/// The pace of a background reader: bytes read since it started against a cap, and the wait
/// that keeps it under. Pure; the caller says how much time has passed.
struct ReadRateCap: Sendable {
    let bytesPerSecond: Double
    private(set) var bytes: Int64 = 0

    init(bitsPerSecond: Int64) {
        bytesPerSecond = max(1, Double(bitsPerSecond) / 8)
    }

    /// `count` more bytes were read, `elapsed` after the start: how long to wait before the next read.
    mutating func read(_ count: Int, elapsed: Duration) -> Duration {
        bytes += Int64(count)
        let due = Double(bytes) / bytesPerSecond - elapsed.seconds
        return due > 0 ? .microseconds(Int64(due * 1_000_000)) : .zero
    }
}

/// Re-verifies an engine's objects in the background, one pass every `interval`, reading at
/// most `bitsPerSecond` (streams read the same disk). An object whose size or SHA-256 no
/// longer matches is quarantined (as at start) and reported to a director, which unlists the
/// replica and copies it again from a good one.
struct Scrubber: Sendable {
    enum Verdict: Equatable {
        case intact(bytes: Int64)
        case corrupt(String)
        /// Removed meanwhile (deleted): nothing to say.
        case gone
    }

    static let chunkBytes = 256 * 1024
    let engine: String
    let objects: ObjectStore
    let director: DirectorLink
    let bitsPerSecond: Int64
    let interval: Duration
    let metrics: EngineMetrics
    let logger: Logger

    /// Until cancelled (the engine's shutdown).
    func run() async {
        guard bitsPerSecond > 0 else {
            logger.info("scrubbing off (scrubRate 0): objects are verified only at start")
            return
        }
        logger.info("scrubbing: stored objects are re-verified in the background", metadata: [
            "rate_bps": "\(bitsPerSecond)", "interval": "\(interval)",
        ])
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            guard await pass() else { return }
        }
    }

    /// One pass over every object; false when cancelled.
    func pass() async -> Bool {
        let clock = ContinuousClock()
        let started = clock.now
        var (checked, bytes, corrupt) = (0, Int64(0), 0)
        for object in await objects.all {
            guard let verdict = await verify(object) else { return false }
            switch verdict {
            case .gone: continue
            case .intact(let read):
                checked += 1
                bytes += read
            case .corrupt(let reason):
                checked += 1
                guard await objects.quarantine(ifStill: object, reason: reason) else { continue }
                corrupt += 1
                metrics.scrubCorrupt.increment()
                await report(object, reason: reason)
            }
        }
        logger.info("scrub pass finished", metadata: [
            "objects": "\(checked)", "bytes": "\(bytes)", "corrupt": "\(corrupt)", "seconds": "\((clock.now - started).seconds)",
        ])
        return true
    }

    /// Reads and hashes the stored file at the capped rate; nil when cancelled.
    func verify(_ object: MediaObject) async -> Verdict? {
        guard let handle = FileHandle(forReadingAtPath: objects.path(of: object.name)) else { return .gone }
        defer { try? handle.close() }
        var cap = ReadRateCap(bitsPerSecond: bitsPerSecond)
        var hasher = SHA256()
        var size: Int64 = 0
        let clock = ContinuousClock()
        let start = clock.now
        while true {
            let data: Data
            do {
                guard let chunk = try handle.read(upToCount: Self.chunkBytes), !chunk.isEmpty else { break }
                data = chunk
            } catch {
                return .corrupt("it cannot be read: \(error.localizedDescription)")
            }
            hasher.update(data: data)
            size += Int64(data.count)
            metrics.scrubBytes.increment(by: Int64(data.count))
            let wait = cap.read(data.count, elapsed: clock.now - start)
            if wait > .zero {
                do { try await Task.sleep(for: wait) } catch { return nil }
            } else if Task.isCancelled {
                return nil
            }
        }
        guard size == object.sizeBytes else { return .corrupt("its size is \(size) bytes, not the \(object.sizeBytes) recorded") }
        guard hasher.finalize().hexEncoded == object.sha256 else {
            return .corrupt("its SHA-256 no longer matches the one recorded when it was stored (found by the scrubber)")
        }
        return .intact(bytes: size)
    }

    private func report(_ object: MediaObject, reason: String) async {
        do {
            _ = try await director.post("/v1/engines/\(engine)/replicas/\(object.name)/corrupt", ClusterMessages.ReplicaCorrupt(reason: reason))
        } catch {
            logger.error("corrupt replica not reported: the directors unlist it when this engine registers again", metadata: [
                "object": "\(object.name)", "error": "\(error)",
            ])
        }
    }
}
