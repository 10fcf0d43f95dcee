/// A named, versioned parameter set for an engine's storage path (the patent's "streaming
/// configuration" of the I/O driver): how the stream's reader asks the disk for its bytes and
/// what it leaves in the page cache. A licensed stream carries its profile in its grant; every
/// other stream reads with `traditional`.
public struct IOProfile: Hashable, Sendable, Codable {
    public enum PageCache: String, Hashable, Sendable, Codable, CaseIterable {
        /// The kernel's defaults: pages stay cached after they are read.
        case normal
        /// `posix_fadvise(SEQUENTIAL)` on open, `DONTNEED` on each block once read: a stream
        /// leaves nothing behind in the page cache.
        case dropBehind = "drop-behind"
        /// `O_DIRECT` (aligned reads that bypass the page cache) where the filesystem allows
        /// it; elsewhere `drop-behind`.
        case direct
    }

    public var name: String
    public var version: Int
    /// Bytes per read request to the disk (a multiple of 4 KiB); 0: as much as the stream asks
    /// for at a time (the traditional path: about 5 ms of an HTTP stream, 125 ms of an RTP one).
    public var readBytes: Int
    /// Blocks of `readBytes` hinted to the kernel ahead of the one being read (`WILLNEED`);
    /// 0 leaves read-ahead to the kernel's heuristics.
    public var readAheadBlocks: Int
    /// Blocks the stream's reader keeps in memory (a re-read after a reconnect or a short
    /// seek back is served from them).
    public var buffers: Int
    public var pageCache: PageCache
    /// RTP payloads (7 TS packets each) a stream may send back to back; sizes an HTTP
    /// stream's token-bucket burst.
    public var burstPackets: Int

    public init(name: String, version: Int, readBytes: Int, readAheadBlocks: Int, buffers: Int, pageCache: PageCache, burstPackets: Int) {
        self.name = name
        self.version = version
        self.readBytes = readBytes
        self.readAheadBlocks = readAheadBlocks
        self.buffers = buffers
        self.pageCache = pageCache
        self.burstPackets = burstPackets
    }

    public static let blockAlignment = 4096
    public static let payloadBytes = 7 * 188

    /// Bytes an HTTP stream may send back to back.
    public var burstBytes: Int { burstPackets * Self.payloadBytes }

    /// What is wrong with the parameters (bounded: a profile sizes per-stream memory).
    public var problems: [String] {
        var problems: [String] = []
        if !User.isValidName(name) { problems.append("profile name '\(name.prefix(64))' is not 1-64 characters of A-Z a-z 0-9 . _ -") }
        if !(1...1_000_000).contains(version) { problems.append("profile '\(name)': version must be 1-1000000") }
        if readBytes == 0 {
            if pageCache != .normal { problems.append("profile '\(name)': readBytes 0 (as the stream asks) goes only with pageCache normal") }
        } else if !(Self.blockAlignment...(16 << 20)).contains(readBytes) || readBytes % Self.blockAlignment != 0 {
            problems.append("profile '\(name)': readBytes must be a multiple of 4 KiB between 4 KiB and 16 MiB (or 0: as the stream asks)")
        }
        if !(0...64).contains(readAheadBlocks) { problems.append("profile '\(name)': readAheadBlocks must be 0-64") }
        if readBytes != 0 && !(1...64).contains(buffers) { problems.append("profile '\(name)': buffers must be 1-64") }
        if buffers * readBytes > 64 << 20 { problems.append("profile '\(name)': buffers x readBytes must stay within 64 MiB per stream") }
        if !(1...256).contains(burstPackets) { problems.append("profile '\(name)': burstPackets must be 1-256") }
        return problems
    }

    /// The configuration every stream without a licensed profile reads with: each read as large
    /// as the stream's pacing asks (small for low rates), on the stream's own task, the
    /// kernel's read-ahead, pages left cached.
    public static let traditional = IOProfile(
        name: "traditional", version: 1, readBytes: 0, readAheadBlocks: 0, buffers: 0, pageCache: .normal, burstPackets: 8)
    /// Audio: low rates, small reads, a little read-ahead, drop-behind.
    public static let audio = IOProfile(
        name: "audio", version: 1, readBytes: 32 << 10, readAheadBlocks: 2, buffers: 2, pageCache: .dropBehind, burstPackets: 2)
    /// SD video (up to about 8 Mbit/s): 256 KiB reads, four ahead, drop-behind.
    public static let sdVideo = IOProfile(
        name: "sd-video", version: 1, readBytes: 256 << 10, readAheadBlocks: 4, buffers: 4, pageCache: .dropBehind, burstPackets: 16)
    /// UHD video: 1 MiB direct reads, bypassing the page cache.
    public static let uhdVideo = IOProfile(
        name: "uhd-video", version: 1, readBytes: 1 << 20, readAheadBlocks: 0, buffers: 4, pageCache: .direct, burstPackets: 32)

    /// The profiles every director knows (configuration may add more or replace these).
    public static let builtIn: [IOProfile] = [.traditional, .audio, .sdVideo, .uhdVideo]

    /// The licensed profile that suits a stream of `bitsPerSecond`: the one asked for if the
    /// license unlocks it, else audio below 512 kbit/s, SD below 10 Mbit/s, UHD above, else the
    /// first unlocked; nil when the license unlocks none that the director knows.
    public static func choose(
        requested: String?, unlocked: [String], bitsPerSecond: Int64, known: [String: IOProfile]
    ) -> IOProfile? {
        let available = unlocked.filter { known[$0] != nil }
        if let requested, available.contains(requested) { return known[requested] }
        let suited = bitsPerSecond < 512_000 ? "audio" : bitsPerSecond < 10_000_000 ? "sd-video" : "uhd-video"
        if available.contains(suited) { return known[suited] }
        return available.first.flatMap { known[$0] }
    }
}
