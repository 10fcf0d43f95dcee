import Foundation
import NIOCore
import NIOPosix
import SluiceCore

/// Reads one stream's object the way its I/O profile says: in blocks of `readBytes` at
/// block-aligned offsets, keeping `buffers` of them, hinting `readAheadBlocks` ahead to the
/// kernel, and leaving the page cache as `pageCache` says (drop-behind, or O_DIRECT where the
/// filesystem takes it). Used by one task at a time; reads run on a pool of I/O threads.
public final class ProfiledReader: @unchecked Sendable {
    // @unchecked: one stream's task uses it at a time (reads are awaited one after another).

    public let profile: IOProfile
    /// What the page cache policy came to: `direct` falls back to `dropBehind` when the
    /// filesystem refuses O_DIRECT (tmpfs, some overlays).
    public private(set) var pageCache: IOProfile.PageCache
    /// `pread` calls made and bytes they returned.
    public private(set) var readCalls = 0
    public private(set) var bytesRead: Int64 = 0

    private let descriptor: Int32
    private let blockBytes: Int
    /// `readBytes` 0 (traditional): each ask is one `pread` of exactly what was asked, on the
    /// caller's thread, as the engine always read; no blocks kept, no hints.
    private let passthrough: Bool
    /// Blocks in memory, least recently used first: block index, aligned memory, valid bytes.
    private var blocks: [(index: Int64, memory: UnsafeMutableRawPointer, valid: Int)] = []
    private var hintedUntil: Int64 = 0
    private var closed = false

    public init(path: String, profile: IOProfile) throws {
        self.profile = profile
        passthrough = profile.readBytes == 0
        blockBytes = max(profile.readBytes, IOProfile.blockAlignment)
        var cache = profile.pageCache
        var fd: Int32 = -1
        if cache == .direct {
            fd = open(path, O_RDONLY | Self.oDirect | O_CLOEXEC)
            if fd < 0 { cache = .dropBehind }  // EINVAL: this filesystem does not do O_DIRECT
        }
        if fd < 0 { fd = open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw ReaderError(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        descriptor = fd
        pageCache = cache
        if cache == .dropBehind { _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) }
    }

    /// Glibc hides `O_DIRECT` behind `_GNU_SOURCE`; its value is per architecture.
    #if arch(arm64)
    static let oDirect: Int32 = 0o200000
    #else
    static let oDirect: Int32 = 0o40000
    #endif

    deinit { close() }

    public func close() {
        guard !closed else { return }
        closed = true
        for block in blocks { block.memory.deallocate() }
        blocks.removeAll()
        _ = Glibc.close(descriptor)
    }

    public struct ReaderError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Up to `count` bytes from `offset` (fewer at the end of the object; none past it or on a
    /// read error).
    public func read(at offset: Int64, count: Int) async throws -> [UInt8] {
        try await run(offset, count) { self.readNow(at: offset, count: count) }
    }

    /// Runs a read here when it needs no disk wait (the traditional path, or bytes already
    /// held), else on the I/O threads.
    private func run<T: Sendable>(_ offset: Int64, _ count: Int, _ body: @escaping @Sendable () -> T) async throws -> T {
        if passthrough || holds(offset, count) { return body() }
        return try await Self.pool.runIfActive(body)
    }

    /// Threads that wait on the disk, so the event loops and the cooperative pool never do.
    /// More than the cores: a direct read waits on the device, and many streams read at once.
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: max(8, System.coreCount * 4))
        pool.start()
        return pool
    }()

    /// The same into a `ByteBuffer`. (A paced stream asks for 16 KiB at a time: most of its
    /// asks are served from the block it read last, without a trip to the I/O threads.)
    public func readBuffer(at offset: Int64, count: Int) async throws -> ByteBuffer {
        try await run(offset, count) { self.bufferNow(at: offset, count: count) }
    }

    private func bufferNow(at offset: Int64, count: Int) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { self.fill(UnsafeMutableRawBufferPointer(rebasing: $0.prefix(count)), from: offset) }
        return buffer
    }

    /// Whether every byte of `offset..<offset+count` (or up to the end of the object) is in a
    /// block in memory.
    private func holds(_ offset: Int64, _ count: Int) -> Bool {
        guard count > 0, offset >= 0, !closed else { return true }
        var position = offset
        let end = offset + Int64(count)
        while position < end {
            let index = position / Int64(blockBytes)
            guard let block = blocks.first(where: { $0.index == index }) else { return false }
            let blockEnd = index * Int64(blockBytes) + Int64(block.valid)
            if block.valid < blockBytes { return true }  // the object ends in this block
            position = blockEnd
        }
        return true
    }

    /// The same, on the calling thread (benchmarks, tests).
    public func readNow(at offset: Int64, count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { bytes, filled in
            filled = fill(UnsafeMutableRawBufferPointer(bytes), from: offset)
        }
    }

    /// Copies the object's bytes from `offset` into `target`; returns how many (fewer at the end).
    func fill(_ target: UnsafeMutableRawBufferPointer, from offset: Int64) -> Int {
        guard target.count > 0, offset >= 0, !closed else { return 0 }
        if passthrough { return readFully(into: target.baseAddress!, count: target.count, at: offset) }
        var done = 0
        var position = offset
        while done < target.count {
            let index = position / Int64(blockBytes)
            // A whole block the caller wants and we do not hold goes straight into its memory
            // (no copy through a buffer); O_DIRECT needs our aligned buffers.
            if position % Int64(blockBytes) == 0, target.count - done >= blockBytes, pageCache != .direct,
               !blocks.contains(where: { $0.index == index }) {
                let got = readFully(into: target.baseAddress! + done, count: blockBytes, at: position)
                afterRead(at: position, count: got)
                done += got
                position += Int64(got)
                if got < blockBytes { break }  // end of the object
                continue
            }
            guard let block = block(index) else { break }
            let start = Int(position - index * Int64(blockBytes))
            guard start < block.valid else { break }  // end of the object
            let take = min(target.count - done, block.valid - start)
            (target.baseAddress! + done).copyMemory(from: block.memory + start, byteCount: take)
            done += take
            position += Int64(take)
            if block.valid < blockBytes && start + take >= block.valid { break }
        }
        return done
    }

    private func block(_ index: Int64) -> (memory: UnsafeMutableRawPointer, valid: Int)? {
        if let found = blocks.firstIndex(where: { $0.index == index }) {
            let block = blocks.remove(at: found)
            blocks.append(block)
            return (block.memory, block.valid)
        }
        let memory: UnsafeMutableRawPointer
        if blocks.count >= profile.buffers {
            memory = blocks.removeFirst().memory
        } else {
            memory = UnsafeMutableRawPointer.allocate(byteCount: blockBytes, alignment: IOProfile.blockAlignment)
        }
        let fileOffset = index * Int64(blockBytes)
        let filled = readFully(into: memory, count: blockBytes, at: fileOffset)
        afterRead(at: fileOffset, count: filled)
        guard filled > 0 else {
            memory.deallocate()
            return nil
        }
        blocks.append((index, memory, filled))
        return (memory, filled)
    }

    /// `pread`s until `count` bytes or the end of the file.
    private func readFully(into memory: UnsafeMutableRawPointer, count: Int, at fileOffset: Int64) -> Int {
        var filled = 0
        while filled < count {
            let got = pread(descriptor, memory + filled, count - filled, off_t(fileOffset) + off_t(filled))
            readCalls += 1
            if got > 0 {
                filled += got
                // O_DIRECT reads whole blocks; a short one means the end of the file.
                if pageCache == .direct && got % IOProfile.blockAlignment != 0 { break }
            } else if got < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        bytesRead += Int64(filled)
        return filled
    }

    /// The profile's page-cache hints once a block has been read.
    private func afterRead(at fileOffset: Int64, count: Int) {
        guard count > 0 else { return }
        if pageCache == .dropBehind {
            // The bytes are ours now: the kernel may forget them.
            _ = posix_fadvise(descriptor, off_t(fileOffset), off_t(count), POSIX_FADV_DONTNEED)
        }
        if profile.readAheadBlocks > 0 && pageCache != .direct {
            let from = max(fileOffset + Int64(blockBytes), hintedUntil)
            let until = fileOffset + Int64(blockBytes) * Int64(1 + profile.readAheadBlocks)
            if until > from {
                _ = posix_fadvise(descriptor, off_t(from), off_t(until - from), POSIX_FADV_WILLNEED)
                hintedUntil = until
            }
        }
    }
}
