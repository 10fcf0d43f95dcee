import Foundation

/// What the kernel's page cache holds of a file, measured with `mincore(2)`.
public enum PageCache {
    /// Bytes of `path` resident in the page cache now (nil when it cannot be measured).
    public static func residentBytes(of path: String) -> Int64? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        let size = Int(info.st_size)
        guard size > 0 else { return 0 }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), mapped != MAP_FAILED else { return nil }
        defer { munmap(mapped, size) }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var vector = [UInt8](repeating: 0, count: (size + page - 1) / page)
        guard mincore(mapped, size, &vector) == 0 else { return nil }
        return Int64(vector.reduce(0) { $0 + Int($1 & 1) }) * Int64(page)
    }

    /// Asks the kernel to drop the file's clean pages (a cold start for a measurement).
    @discardableResult
    public static func evict(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        _ = fdatasync(fd)
        return posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0
    }
}
