#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Where a command writes what it receives: the path the user named, written into as it is.
///
/// `-` is standard output. A FIFO, a device or anything else that is not a regular file is
/// opened and written to, never replaced (`/dev/null` stays `/dev/null`). A regular file that
/// exists is refused unless the user said `--force`, and then truncated in place (its inode,
/// owner and mode stay). A symbolic link is followed to what it names. A new file is created
/// with `O_EXCL`, so a file or link appearing between the check and the open is refused too.
public final class OutputFile: Sendable {
    /// What the path was when opened.
    public enum Kind: Sendable, Equatable { case standardOutput, newFile, replacedFile, special }

    public let path: String
    public let kind: Kind
    private let descriptor: Int32
    // Writes come from one task at a time (a player's receive loop); this guards close.
    private let closed = Mutex(false)

    private init(path: String, kind: Kind, descriptor: Int32) {
        self.path = path
        self.kind = kind
        self.descriptor = descriptor
    }

    deinit { close() }

    /// Opens `path` for writing as described above; throws `ClientError` naming the path and why.
    public static func open(_ path: String, force: Bool = false) throws -> OutputFile {
        if path == "-" { return OutputFile(path: path, kind: .standardOutput, descriptor: 1) }
        guard !path.isEmpty else { throw ClientError("the output path is empty (use - for standard output)") }
        var info = stat()
        if stat(path, &info) == 0 {
            let type = info.st_mode & S_IFMT
            if type == S_IFDIR { throw ClientError("\(path) is a directory; name a file in it") }
            if type == S_IFREG {
                guard force else { throw ClientError("\(path) exists; add --force to overwrite it") }
                return try OutputFile(path: path, kind: .replacedFile, descriptor: openOrThrow(path, O_WRONLY | O_TRUNC | O_CLOEXEC))
            }
            // A FIFO, a character or block device, a socket: write into it as it is.
            return try OutputFile(path: path, kind: .special, descriptor: openOrThrow(path, O_WRONLY | O_CLOEXEC))
        }
        return try OutputFile(path: path, kind: .newFile, descriptor: openOrThrow(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o644))
    }

    private static func openOrThrow(_ path: String, _ flags: Int32, mode: mode_t = 0) throws -> Int32 {
        let descriptor = systemOpen(path, flags, mode)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            throw ClientError(errno == EEXIST ? "\(path) appeared while opening it (a file or a dangling link); not overwriting it" : "cannot write \(path): \(reason)")
        }
        return descriptor
    }

    /// Writes every byte (retrying short writes and EINTR).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = systemWrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw ClientError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    public func close() {
        let first = closed.withLock { wasClosed in
            defer { wasClosed = true }
            return !wasClosed
        }
        if first && kind != .standardOutput { _ = systemClose(descriptor) }
    }
}

private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
private func systemClose(_ fd: Int32) -> Int32 { close(fd) }
