import Foundation
import SluiceCore
import SluiceEngine
import Testing

/// The engine's reader under each I/O profile: the same bytes as the file at any offset, as
/// many `pread`s as the profile's read size implies, and the page cache left as it says.
@Suite struct ProfiledReaderTests {
    static func file(bytes: Int) throws -> (path: String, data: [UInt8]) {
        // On the work disk (ext4 here), not /tmp: O_DIRECT needs a filesystem that takes it.
        let directory = FileManager.default.currentDirectoryPath + "/.build/reader-tests"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/" + UUID().uuidString
        // Bytes no two offsets share by accident (an xorshift stream), made fast in debug builds.
        var state = UInt64.random(in: 1...UInt64.max)
        let data = [UInt8](unsafeUninitializedCapacity: bytes) { buffer, count in
            for index in 0..<bytes {
                if index % 8 == 0 { state ^= state << 13; state ^= state >> 7; state ^= state << 17 }
                buffer[index] = UInt8(truncatingIfNeeded: state >> ((index % 8) * 8))
            }
            count = bytes
        }
        try Data(data).write(to: URL(fileURLWithPath: path))
        return (path, data)
    }

    @Test(arguments: IOProfile.builtIn)
    func everyProfileReadsTheFileExactly(_ profile: IOProfile) throws {
        let (path, data) = try Self.file(bytes: 3 << 20 + 12_345)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let reader = try ProfiledReader(path: path, profile: profile)
        defer { reader.close() }
        // Sequential in the engine's chunk sizes, then random offsets and sizes, then past the end.
        var offset = 0
        while offset < data.count {
            let got = reader.readNow(at: Int64(offset), count: 65_800)
            #expect(got[...] == data[offset..<min(data.count, offset + 65_800)])
            offset += max(1, got.count)
        }
        for _ in 0..<60 {
            let start = Int.random(in: 0..<data.count)
            let count = Int.random(in: 1...(300 << 10))
            #expect(reader.readNow(at: Int64(start), count: count)[...] == data[start..<min(data.count, start + count)])
        }
        #expect(reader.readNow(at: Int64(data.count), count: 10).isEmpty)
        #expect(reader.readNow(at: Int64(data.count + 5_000_000), count: 10).isEmpty)
    }

    @Test func readSizeSetsTheSyscallsPerMegabyte() throws {
        let (path, data) = try Self.file(bytes: 8 << 20)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var calls: [String: Int] = [:]
        var asks = 0
        for profile in [IOProfile.traditional, .sdVideo, .uhdVideo] {
            let reader = try ProfiledReader(path: path, profile: profile)
            var offset: Int64 = 0
            asks = 0
            while offset < data.count {
                offset += Int64(reader.readNow(at: offset, count: 188 * 7 * 48).count)  // an RTP stream's read at 4 Mbit/s
                asks += 1
            }
            calls[profile.name] = reader.readCalls
            #expect(reader.bytesRead >= data.count)
            reader.close()
        }
        // Traditional: one read per ask; the profiles: one per block; each one more that finds
        // the end of the file.
        #expect(calls["traditional"] == asks + 1, "as asked (\(asks) asks): \(calls)")
        #expect(calls["sd-video"] == 8 * 4 + 1, "256 KiB reads: \(calls)")
        #expect(calls["uhd-video"] == 8 + 1, "1 MiB reads: \(calls)")
    }

    @Test func dropBehindAndDirectLeaveThePageCacheEmptyWhereNormalFillsIt() throws {
        let (path, data) = try Self.file(bytes: 16 << 20)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for profile in [IOProfile.traditional, .sdVideo, .uhdVideo] {
            PageCache.evict(path)
            let before = try #require(PageCache.residentBytes(of: path))
            let reader = try ProfiledReader(path: path, profile: profile)
            var offset: Int64 = 0
            while offset < data.count { offset += Int64(reader.readNow(at: offset, count: 256 << 10).count) }
            reader.close()
            let after = try #require(PageCache.residentBytes(of: path))
            switch profile.pageCache {
            case .normal:
                #expect(after > Int64(data.count) / 2, "\(profile.name): \(before) -> \(after) bytes cached")
            case .dropBehind, .direct:
                #expect(after <= before + (1 << 20), "\(profile.name) (\(reader.pageCache.rawValue)): \(before) -> \(after) bytes cached")
            }
        }
    }
}
