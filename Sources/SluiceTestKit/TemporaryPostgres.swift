import Foundation

/// A real PostgreSQL server for a test: `initdb` in a temporary directory, started on a free
/// loopback port, stopped and deleted by `stop()`. As root (CI), the server runs as the
/// `postgres` user through `runuser`, since PostgreSQL refuses to run as root.
public final class TemporaryPostgres: Sendable {
    public let port: Int
    let directory: String
    let binaries: String
    let runAs: String?

    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// `postgres://` URL of a fresh database on this server.
    public func createDatabase(_ name: String) throws -> String {
        try run("\(binaries)/createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "sluice", name])
        return "postgres://sluice@127.0.0.1:\(port)/\(name)?sslmode=disable"
    }

    public static func start() throws -> TemporaryPostgres {
        let binaries = try findBinaries()
        let runAs: String? = getuid() == 0 ? "postgres" : nil
        let directory = NSTemporaryDirectory() + "sluice-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let runAs {
            try Self.execute("/bin/chown", [runAs, directory], runAs: nil)
        }
        let port = try freePort()
        let server = TemporaryPostgres(port: port, directory: directory, binaries: binaries, runAs: runAs)
        do {
            try server.run("\(binaries)/initdb", ["-D", "\(directory)/data", "-U", "sluice", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"])
            try server.launch()
        } catch {
            let log = (try? String(contentsOfFile: "\(directory)/server.log", encoding: .utf8)) ?? ""
            server.stop()
            throw Unavailable(description: "PostgreSQL did not start: \(error)\n\(log)")
        }
        return server
    }

    /// The server runs as a child of the test (not daemonized by `pg_ctl start`: Foundation's
    /// `waitUntilExit` would wait for the daemon too); ready when `pg_isready` says so.
    func launch() throws {
        let process = Process()
        let arguments = [
            "-D", "\(directory)/data", "-p", "\(port)", "-k", directory, "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300",
        ]
        if let runAs {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", runAs, "--", "\(binaries)/postgres"] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "\(binaries)/postgres")
            process.arguments = arguments
        }
        let logPath = "\(directory)/server.log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<300 {
            if (try? run("\(binaries)/pg_isready", ["-q", "-h", "127.0.0.1", "-p", "\(port)"])) != nil { return }
            guard process.isRunning else { break }
            usleep(100_000)
        }
        throw Unavailable(description: "the server did not accept connections within 30 s")
    }

    init(port: Int, directory: String, binaries: String, runAs: String?) {
        self.port = port
        self.directory = directory
        self.binaries = binaries
        self.runAs = runAs
    }

    /// Runs a SQL statement with psql and returns its unaligned output (for assertions).
    public func psql(_ database: String, _ sql: String) throws -> String {
        try run("\(binaries)/psql", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "sluice", "-d", database, "-At", "-c", sql])
    }

    deinit { stop() }

    /// Stops the server and deletes its directory (again at deinit, harmlessly).
    public func stop() {
        guard FileManager.default.fileExists(atPath: directory) else { return }
        _ = try? run("\(binaries)/pg_ctl", ["-D", "\(directory)/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    func run(_ program: String, _ arguments: [String]) throws -> String {
        try Self.execute(program, arguments, runAs: runAs)
    }

    @discardableResult
    static func execute(_ program: String, _ arguments: [String], runAs: String?) throws -> String {
        let process = Process()
        if let runAs {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", runAs, "--", program] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = arguments
        }
        // A file, not a pipe: the server `pg_ctl start` leaves running would hold a pipe open.
        let outputPath = NSTemporaryDirectory() + "sluice-pg-output-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        try? output.close()
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            throw Unavailable(description: "\((program as NSString).lastPathComponent) exited \(process.terminationStatus): \(text)")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The newest `/usr/lib/postgresql/N/bin` (Debian's layout), or `pg_ctl` on PATH.
    static func findBinaries() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        if let newest = versions.last, FileManager.default.fileExists(atPath: "\(root)/\(newest)/bin/pg_ctl") {
            return "\(root)/\(newest)/bin"
        }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        where FileManager.default.fileExists(atPath: "\(directory)/pg_ctl") {
            return String(directory)
        }
        throw Unavailable(description: "PostgreSQL is not installed (apt-get install postgresql); the shared-store tests need initdb and pg_ctl")
    }

    /// A loopback TCP port nobody listens on right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Unavailable(description: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw Unavailable(description: "cannot bind a loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
