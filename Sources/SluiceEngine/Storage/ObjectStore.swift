import Crypto
import Foundation
import Logging
import NIOCore
import SluiceCore
import SluiceMedia

/// An engine's objects on disk: `objects/NAME` with its metadata in `objects/NAME.json`;
/// uploads are written to `incoming/` and renamed into place only once verified.
public actor ObjectStore {
    public let root: String
    private var objects: [String: MediaObject] = [:]
    private var ingesting: Set<String> = []
    private let logger: Logger

    var objectsDirectory: String { root + "/objects" }
    var incomingDirectory: String { root + "/incoming" }

    public init(root: String, logger: Logger) {
        self.root = root
        self.logger = logger
    }

    /// Creates the directories, drops half-written uploads, and loads every object whose size
    /// and SHA-256 still match what was recorded; any other is quarantined.
    public func open() throws {
        let files = FileManager.default
        try files.createDirectory(atPath: objectsDirectory, withIntermediateDirectories: true)
        try? files.removeItem(atPath: incomingDirectory)
        try files.createDirectory(atPath: incomingDirectory, withIntermediateDirectories: true)
        let entries = try files.contentsOfDirectory(atPath: objectsDirectory).filter { $0.hasSuffix(".json") }.sorted()
        let clock = ContinuousClock()
        let started = clock.now
        var lastProgress = started
        for (index, entry) in entries.enumerated() {
            // Hashing a large store takes a while: say how far it got every five seconds.
            if clock.now - lastProgress >= .seconds(5) {
                lastProgress = clock.now
                logger.info("verifying objects", metadata: ["done": "\(index)", "of": "\(entries.count)", "seconds": "\(Int((clock.now - started).seconds))"])
            }
            let metadataPath = objectsDirectory + "/" + entry
            guard let data = files.contents(atPath: metadataPath),
                  let object = try? JSONDecoder().decode(MediaObject.self, from: data),
                  MediaObject.isValidName(object.name) else {
                logger.warning("skipping unreadable object metadata", metadata: ["file": "\(metadataPath)"])
                continue
            }
            let size = (try? files.attributesOfItem(atPath: path(of: object.name))[.size] as? NSNumber)?.int64Value
            guard size == object.sizeBytes else {
                quarantine(object.name, reason: "its size is \(size ?? -1) bytes, not the \(object.sizeBytes) recorded")
                continue
            }
            guard let digest = Self.sha256(ofFile: path(of: object.name)), digest == object.sha256 else {
                quarantine(object.name, reason: "its SHA-256 no longer matches the one recorded when it was stored")
                continue
            }
            objects[object.name] = object
        }
        logger.info("object store opened; every object verified (size and SHA-256)", metadata: ["root": "\(root)", "objects": "\(objects.count)"])
    }

    var quarantineDirectory: String { root + "/quarantine" }

    /// Moves a corrupt object and its metadata out of `objects/`: it is never served or listed,
    /// and stays for an operator to look at.
    private func quarantine(_ name: String, reason: String) {
        let files = FileManager.default
        try? files.createDirectory(atPath: quarantineDirectory, withIntermediateDirectories: true)
        for suffix in ["", ".json"] {
            let destination = quarantineDirectory + "/" + name + suffix
            try? files.removeItem(atPath: destination)
            try? files.moveItem(atPath: path(of: name) + suffix, toPath: destination)
        }
        logger.error("object quarantined", metadata: ["object": "\(name)", "reason": "\(reason)", "moved_to": "\(quarantineDirectory)"])
    }

    /// Lower-case hex SHA-256 of a file, read 1 MiB at a time; nil when unreadable.
    static func sha256(ofFile path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var hasher = SHA256()
        do {
            while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty { hasher.update(data: data) }
        } catch {
            return nil
        }
        return hasher.finalize().hexEncoded
    }

    public var all: [MediaObject] { objects.values.sorted { $0.name < $1.name } }

    public func object(named name: String) -> MediaObject? { objects[name] }

    private var timing: [String: TransportStreamSummary] = [:]

    /// The object's scan (seek index, PCR PID), made on first use and kept.
    public func timing(of name: String) throws -> TransportStreamSummary {
        if let known = timing[name] { return known }
        guard let handle = FileHandle(forReadingAtPath: path(of: name)) else { throw IngestError(.storage, "cannot read '\(name)'") }
        defer { try? handle.close() }
        var scanner = TransportStreamScanner()
        while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty {
            try scanner.consume(data)
        }
        let summary = try scanner.finish()
        timing[name] = summary
        return summary
    }

    private var playlists: [String: HLSPlaylist] = [:]

    /// The object's HLS cut (from its scan), made on first use and kept: every playlist and
    /// segment request of every session reads it.
    public func playlist(of name: String) throws -> HLSPlaylist {
        if let known = playlists[name] { return known }
        let playlist = HLSPlaylist(summary: try timing(of: name))
        playlists[name] = playlist
        return playlist
    }

    public nonisolated func path(of name: String) -> String { root + "/objects/" + name }

    /// Receives an upload: bounded by the granted size, hashed and scanned as it arrives,
    /// fsynced, checked, then renamed into place. Nothing is listed unless every check passed.
    /// `renew` is called at the start and every `renewInterval` with the bytes so far; when it
    /// answers false (the lease is gone) the upload stops.
    public func ingest(
        name: String, expectedSize: Int64, expectedSHA256: String, body: some AsyncSequence<ByteBuffer, any Error>,
        renewInterval: Duration = .seconds(1), renew: @Sendable (Int64) async -> Bool = { _ in true }
    ) async throws(IngestError) -> MediaObject {
        guard objects[name] == nil else { throw IngestError(.exists, "object '\(name)' already exists on this engine") }
        guard ingesting.insert(name).inserted else { throw IngestError(.exists, "object '\(name)' is being uploaded already") }
        defer { ingesting.remove(name) }
        let partPath = incomingDirectory + "/" + name + ".part"
        guard FileManager.default.createFile(atPath: partPath, contents: nil), let handle = FileHandle(forWritingAtPath: partPath) else {
            throw IngestError(.storage, "cannot create \(partPath)")
        }
        var cleanUp = true
        defer {
            try? handle.close()
            if cleanUp { try? FileManager.default.removeItem(atPath: partPath) }
        }
        var hasher = SHA256()
        var scanner = TransportStreamScanner()
        var received: Int64 = 0
        var scanError: TransportStreamError?
        let clock = ContinuousClock()
        var lastRenewal = clock.now - renewInterval
        do {
            for try await chunk in body {
                if clock.now - lastRenewal >= renewInterval {
                    lastRenewal = clock.now
                    guard await renew(received) else { throw IngestError(.cutOff, "the upload's lease ended; nothing was stored") }
                }
                received += Int64(chunk.readableBytes)
                guard received <= expectedSize else {
                    throw IngestError(.tooLarge, "upload is larger than the \(expectedSize) bytes it was admitted for")
                }
                chunk.withUnsafeReadableBytes { bytes in
                    hasher.update(bufferPointer: bytes)
                    if scanError == nil {
                        do throws(TransportStreamError) { try scanner.consume(bytes) } catch { scanError = error }
                    }
                }
                try handle.write(contentsOf: Data(chunk.readableBytesView))
            }
        } catch let error as IngestError {
            throw error
        } catch {
            throw IngestError(.cutOff, "upload cut off after \(received) of \(expectedSize) bytes: \(error)")
        }
        guard received == expectedSize else {
            throw IngestError(.cutOff, "upload cut off after \(received) of \(expectedSize) bytes")
        }
        let digest = hasher.finalize().hexEncoded
        guard digest == expectedSHA256 else {
            throw IngestError(.checksumMismatch, "SHA-256 of the received bytes is \(digest), not \(expectedSHA256)")
        }
        if let scanError { throw IngestError(.notTransportStream, "not a playable MPEG-TS: \(scanError)") }
        let summary: TransportStreamSummary
        do throws(TransportStreamError) { summary = try scanner.finish() } catch { throw IngestError(.notTransportStream, "not a playable MPEG-TS: \(error)") }
        do {
            try handle.synchronize()
            let object = MediaObject(
                name: name, sizeBytes: received, durationMilliseconds: summary.durationMilliseconds,
                averageBitsPerSecond: summary.averageBitsPerSecond, sha256: digest)
            try FileManager.default.moveItem(atPath: partPath, toPath: path(of: name))
            cleanUp = false
            try writeMetadata(object)
            objects[name] = object
            timing[name] = summary  // scanned on the way in: RTSP plays need not read it again
            playlists[name] = nil
            logger.info("object stored", metadata: ["object": "\(name)", "bytes": "\(received)", "duration_ms": "\(summary.durationMilliseconds)", "bitrate_bps": "\(summary.averageBitsPerSecond)"])
            return object
        } catch {
            try? FileManager.default.removeItem(atPath: path(of: name))
            throw IngestError(.storage, "cannot store '\(name)': \(error)")
        }
    }

    /// Removes an object (used when the director refuses to list a finished upload).
    /// Quarantines `object` if it is still the one stored under its name (not deleted or
    /// replaced while it was being checked); true when it was.
    func quarantine(ifStill object: MediaObject, reason: String) -> Bool {
        guard objects[object.name] == object else { return false }
        objects[object.name] = nil
        timing[object.name] = nil
        playlists[object.name] = nil
        quarantine(object.name, reason: reason)
        return true
    }

    public func remove(_ name: String) {
        objects[name] = nil
        // A new object may take the name: nothing of this one's scan may outlive it.
        timing[name] = nil
        playlists[name] = nil
        try? FileManager.default.removeItem(atPath: path(of: name) + ".json")
        try? FileManager.default.removeItem(atPath: path(of: name))
    }

    private func writeMetadata(_ object: MediaObject) throws {
        let data = try JSONEncoder().encode(object)
        let temporary = incomingDirectory + "/" + object.name + ".json.part"
        guard FileManager.default.createFile(atPath: temporary, contents: data), let handle = FileHandle(forWritingAtPath: temporary) else {
            throw IngestError(.storage, "cannot write metadata for '\(object.name)'")
        }
        try handle.synchronize()
        try handle.close()
        try? FileManager.default.removeItem(atPath: path(of: object.name) + ".json")
        try FileManager.default.moveItem(atPath: temporary, toPath: path(of: object.name) + ".json")
    }
}

/// Why an upload was rejected; each maps to one HTTP status.
public struct IngestError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable { case exists, tooLarge, cutOff, checksumMismatch, notTransportStream, storage }
    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var httpStatus: Int {
        switch code {
        case .exists: 409
        case .tooLarge: 413
        case .cutOff: 400
        case .checksumMismatch: 422
        case .notTransportStream: 415
        case .storage: 500
        }
    }

    public var description: String { message }
}
