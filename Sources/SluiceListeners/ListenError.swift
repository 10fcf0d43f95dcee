import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A listener that could not bind, naming the address and the setting that chooses it
/// ("director HTTP cannot listen on 127.0.0.1:8080: address already in use; set
/// director.listen in the config or --listen").
public struct ListenError: Error, CustomStringConvertible {
    public var listener: String
    public var address: String
    public var setting: String
    public var cause: String

    public var description: String { "\(listener) cannot listen on \(address): \(cause); choose another with \(setting)" }

    /// `error` as a `ListenError` when it is a failed bind (address in use, not available,
    /// permission denied); nil for anything else.
    public static func from(_ error: any Error, listener: String, host: String, port: Int, setting: String) -> ListenError? {
        if let error = error as? ListenError { return error }
        guard let error = error as? IOError, [EADDRINUSE, EADDRNOTAVAIL, EACCES].contains(error.errnoCode) else { return nil }
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        return ListenError(listener: listener, address: address, setting: setting, cause: String(cString: strerror(error.errnoCode)).lowercased())
    }
}
