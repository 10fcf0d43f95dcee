import ArgumentParser
import Foundation
import SluiceCore
import SluiceEngine

/// Many concurrent streams read through the engine's `ProfiledReader`, once per I/O profile,
/// from files that together exceed the page cache the run may use: read syscalls per MB,
/// page cache left behind (`mincore`), and throughput.
struct ProfileBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "Compare stream I/O profiles: read syscalls per MB, page cache left polluted, throughput.",
        discussion: """
            Writes --streams files of --file-mib MiB in --dir (kept for the next run), then for each \
            --profile: drops them from the page cache, reads every file at once from start to end \
            in --chunk-kib asks (as a stream of some rate does) through the engine's reader, and \
            measures. --memory-limit-mib runs it in a memory cgroup (root, cgroup v1 or v2) so the \
            files are larger than the page cache it may use.
              sluice bench profiles --dir /var/tmp/sluice-bench --streams 16 --file-mib 256 \\
                --memory-limit-mib 1024 --profile traditional --profile sd-video --profile uhd-video
            """)

    @Option(help: "Directory for the test files (on the filesystem under test).")
    var dir: String
    @Option(help: "Concurrent streams (one file each).")
    var streams: Int = 16
    @Option(name: .customLong("file-mib"), help: "Size of each file in MiB.")
    var fileMiB: Int = 256
    @Option(name: .customLong("profile"), help: "Profile to measure (repeatable): traditional, audio, sd-video, uhd-video.")
    var profiles: [String] = ["traditional", "uhd-video"]
    @Option(name: .customLong("chunk-kib"), help: "What a stream asks for per read, in KiB (a 4 Mbit/s HTTP stream asks 16, an RTP one about 62, an unpaced download 1024).")
    var chunkKiB: Int = 16
    @Option(name: .customLong("memory-limit-mib"), help: "Run in a memory cgroup limited to this many MiB (0: no limit).")
    var memoryLimitMiB: Int = 0
    @Option(help: "Runs of each profile (alternating).")
    var rounds: Int = 1
    @Flag(help: "One JSON line per measurement.")
    var json = false

    func validate() throws {
        guard (1...1024).contains(streams), (1...65_536).contains(fileMiB), (1...10).contains(rounds), memoryLimitMiB >= 0, (1...16_384).contains(chunkKiB) else {
            throw ValidationError("streams 1-1024, file-mib 1-65536, rounds 1-10, chunk-kib 1-16384")
        }
        let known = Dictionary(uniqueKeysWithValues: IOProfile.builtIn.map { ($0.name, $0) })
        for name in profiles where known[name] == nil { throw ValidationError("unknown profile '\(name)'; built in: \(known.keys.sorted())") }
    }

    func run() async throws {
        let cgroup = memoryLimitMiB > 0 ? try Self.enterMemoryCgroup(limitBytes: Int64(memoryLimitMiB) << 20) : nil
        defer { if let cgroup { Self.leave(cgroup) } }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let size = Int64(fileMiB) << 20
        var paths: [String] = []
        for index in 0..<streams {
            let path = dir + "/stream-\(index).bin"
            try Self.ensureFile(path, size: size)
            paths.append(path)
        }
        let known = Dictionary(uniqueKeysWithValues: IOProfile.builtIn.map { ($0.name, $0) })
        if !json {
            print("\(streams) streams x \(fileMiB) MiB = \(streams * fileMiB) MiB, read \(chunkKiB) KiB at a time; memory limit \(memoryLimitMiB == 0 ? "none" : "\(memoryLimitMiB) MiB")")
            print("profile          reads/MB      MB/s   cached after (MiB)   page cache")
        }
        for round in 1...rounds {
            for name in profiles {
                guard let profile = known[name] else { continue }
                let result = try await Self.measure(paths: paths, profile: profile, chunkBytes: chunkKiB << 10)
                if json {
                    print(#"{"round":\#(round),"profile":"\#(name)","streams":\#(streams),"fileMiB":\#(fileMiB),"memoryLimitMiB":\#(memoryLimitMiB),"chunkKiB":\#(chunkKiB),"readsPerMB":\#(String(format: "%.2f", result.readsPerMB)),"mbPerSecond":\#(String(format: "%.1f", result.mbPerSecond)),"cachedAfterMiB":\#(String(format: "%.1f", result.cachedMiB)),"pageCache":"\#(result.pageCache)"}"#)
                } else {
                    print(name.padding(toLength: 16, withPad: " ", startingAt: 0)
                        + String(format: " %8.2f  %8.1f  %19.1f   ", result.readsPerMB, result.mbPerSecond, result.cachedMiB) + result.pageCache)
                }
            }
        }
    }

    struct Result { var readsPerMB: Double; var mbPerSecond: Double; var cachedMiB: Double; var pageCache: String }

    static func measure(paths: [String], profile: IOProfile, chunkBytes: Int) async throws -> Result {
        for path in paths { PageCache.evict(path) }
        let clock = ContinuousClock()
        let start = clock.now
        let totals = try await withThrowingTaskGroup(of: (calls: Int, bytes: Int64, cache: String).self) { group in
            for path in paths {
                group.addTask {
                    let reader = try ProfiledReader(path: path, profile: profile)
                    defer { reader.close() }
                    var offset: Int64 = 0
                    while true {
                        let chunk = try await reader.readBuffer(at: offset, count: chunkBytes)
                        if chunk.readableBytes == 0 { break }
                        offset += Int64(chunk.readableBytes)
                    }
                    return (reader.readCalls, reader.bytesRead, reader.pageCache.rawValue)
                }
            }
            var calls = 0, bytes: Int64 = 0, cache = ""
            for try await result in group { calls += result.calls; bytes += result.bytes; cache = result.cache }
            return (calls: calls, bytes: bytes, cache: cache)
        }
        let seconds = (clock.now - start).seconds
        let cached = paths.compactMap(PageCache.residentBytes(of:)).reduce(0, +)
        let megabytes = Double(totals.bytes) / 1e6
        return Result(
            readsPerMB: Double(totals.calls) / megabytes, mbPerSecond: megabytes / seconds, cachedMiB: Double(cached) / Double(1 << 20),
            pageCache: totals.cache)
    }

    /// Writes `size` bytes of a cheap pseudo-random stream unless the file is already that size.
    static func ensureFile(_ path: String, size: Int64) throws {
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path), (attributes[.size] as? Int64 ?? -1) == size { return }
        FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw ValidationError("cannot write \(path)") }
        defer { try? handle.close() }
        var state = UInt64.random(in: 1...UInt64.max)
        var block = [UInt64](repeating: 0, count: (4 << 20) / 8)
        var written: Int64 = 0
        while written < size {
            for index in block.indices {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                block[index] = state
            }
            let count = Int(min(Int64(block.count * 8), size - written))
            try block.withUnsafeBytes { try handle.write(contentsOf: Data($0.prefix(count))) }
            written += Int64(count)
        }
        try handle.synchronize()
    }

    /// Moves back to the root group and removes the benchmark's.
    static func leave(_ cgroup: (root: String, group: String)) {
        try? "\(ProcessInfo.processInfo.processIdentifier)".write(toFile: cgroup.root + "/cgroup.procs", atomically: false, encoding: .utf8)
        _ = rmdir(cgroup.group)
    }

    /// Moves this process into a new memory cgroup with `limitBytes`: page cache is charged to
    /// it, so the kernel must reclaim the group's cache past the limit.
    static func enterMemoryCgroup(limitBytes: Int64) throws -> (root: String, group: String) {
        let pid = ProcessInfo.processInfo.processIdentifier
        let candidates = [
            ("/sys/fs/cgroup/memory", "memory.limit_in_bytes"),  // v1
            ("/sys/fs/cgroup", "memory.max"),  // v2 (unified)
        ]
        for (root, limitFile) in candidates where FileManager.default.fileExists(atPath: root + "/cgroup.procs") {
            let group = root + "/sluice-bench-\(pid)"
            try? FileManager.default.createDirectory(atPath: group, withIntermediateDirectories: false)
            guard FileManager.default.fileExists(atPath: group + "/" + limitFile),
                  (try? "\(limitBytes)".write(toFile: group + "/" + limitFile, atomically: false, encoding: .utf8)) != nil,
                  (try? "\(pid)".write(toFile: group + "/cgroup.procs", atomically: false, encoding: .utf8)) != nil else { continue }
            FileHandle.standardError.write(Data("running in memory cgroup \(group) limited to \(limitBytes >> 20) MiB\n".utf8))
            return (root, group)
        }
        throw ValidationError("cannot create a memory cgroup (needs root and a writable /sys/fs/cgroup); run without --memory-limit-mib")
    }
}
