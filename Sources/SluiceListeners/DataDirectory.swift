import Foundation

/// A server's data directory, made before anything opens a file in it, so a path that cannot
/// be used is reported with the setting that names it rather than as a library error.
public enum DataDirectory {
    /// Creates `path` (and its parents) if needed and checks it is a writable directory.
    public static func prepare(_ path: String, for server: String, setting: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw DataDirectoryError(description: "\(server) cannot use its data directory \(path): \(cause(of: error)); set \(setting)")
        }
        guard access(path, W_OK | X_OK) == 0 else {
            throw DataDirectoryError(description: "\(server) cannot write its data directory \(path): \(String(cString: strerror(errno)).lowercased()); set \(setting)")
        }
    }

    /// The POSIX cause under a Foundation error, in words.
    static func cause(of error: any Error) -> String {
        let error = error as NSError
        let posix = (error.userInfo[NSUnderlyingErrorKey] as? NSError).flatMap { $0.domain == NSPOSIXErrorDomain ? $0.code : nil }
            ?? (error.domain == NSPOSIXErrorDomain ? error.code : nil)
        if let posix { return String(cString: strerror(Int32(posix))).lowercased() }
        return error.localizedDescription
    }
}

public struct DataDirectoryError: Error, CustomStringConvertible {
    public var description: String
}
