import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

extension ClientError {
    /// "cannot reach the director at 127.0.0.1:8080: connection refused": the host and port
    /// named, the cause in words rather than a library's error dump.
    public static func unreachable(_ what: String, url: String, _ error: any Error) -> ClientError {
        let components = URLComponents(string: url)
        let host = components?.host ?? url
        let port = components?.port ?? (components?.scheme == "rtsp" ? 554 : components?.scheme == "https" ? 443 : 80)
        return ClientError("cannot reach \(what) at \(host):\(port): \(cause(of: error))")
    }

    /// A network error in a few words.
    public static func cause(of error: any Error) -> String {
        if let text = tlsCause(of: error) { return text }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first?.error { return cause(of: first) }
            if let dns = error.dnsAAAAError ?? error.dnsAError { return "the name does not resolve (\(dns))" }
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "no answer to the connection within the timeout"
            case .deadlineExceeded, .readTimeout: return "it stopped answering"
            case .remoteConnectionClosed: return "it closed the connection"
            default: return "\(error)"
            }
        }
        if let error = error as? ChannelError, case .connectTimeout = error { return "no answer to the connection within the timeout" }
        let text = "\(error)"
        if text.contains("errno: 111") || text.contains("Connection refused") { return "connection refused (nothing listens there)" }
        return text
    }
}

extension ClientError {
    /// A failed TLS handshake in words: an untrusted certificate, one for another name, or a
    /// server that does not speak TLS.
    static func tlsCause(of error: any Error) -> String? {
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return "its certificate does not name this host"
        }
        if let error = error as? HTTPClientError, error == .tlsHandshakeTimeout {
            return "no TLS handshake within the timeout"
        }
        let text = "\(error)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "its certificate is not trusted (give the CA that signed it with --cacert or $SLUICE_CACERT)"
        }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") {
            return "it does not speak TLS there (try http:// or rtsp://)"
        }
        return nil
    }
}

extension HTTPClient.Configuration {
    /// What a command-line client wants: a refused connection is reported at once (not retried
    /// for ten seconds), and a host that does not answer within five seconds is reported too.
    public static var commandLine: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)))
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }
}
