import AsyncHTTPClient
import Foundation
import NIOSSL

/// How a client command treats TLS: which CA it trusts besides the system's (`--cacert`,
/// `SLUICE_CACERT`), and whether it may send a key in clear to another host
/// (`--insecure-http`). Certificates and host names are always verified.
public struct ClientTLS: Sendable {
    public var caFile: String?
    public var insecureHTTP: Bool

    public init(caFile: String? = nil, insecureHTTP: Bool = false) {
        self.caFile = caFile
        self.insecureHTTP = insecureHTTP
    }

    /// The system's roots plus `caFile`'s certificates.
    public func configuration() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        guard let caFile else { return configuration }
        guard let data = FileManager.default.contents(atPath: caFile) else {
            throw ClientError("cannot read the CA file \(caFile) (--cacert): no such file or not readable")
        }
        let certificates = (try? NIOSSLCertificate.fromPEMBytes(Array(data))) ?? []
        guard !certificates.isEmpty else { throw ClientError("\(caFile) (--cacert) holds no PEM certificate") }
        configuration.additionalTrustRoots = [.certificates(certificates)]
        return configuration
    }

    /// A command-line HTTP client (see `HTTPClient.Configuration.commandLine`) with this TLS;
    /// the caller shuts it down.
    public func makeHTTPClient() throws -> HTTPClient {
        var configuration = HTTPClient.Configuration.commandLine
        configuration.tlsConfiguration = try self.configuration()
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Throws when `url` would carry a key in clear (http://, rtsp://) to a host other than this
    /// machine, unless `insecureHTTP`: anyone on the path could reuse it. A `key` in the URL's
    /// query counts as sending one.
    public func checkKeyTransport(url: String, sendsKey: Bool) throws {
        guard let components = URLComponents(string: url) else { return }
        let keyInURL = components.queryItems?.contains { $0.name == "key" } ?? false
        guard sendsKey || keyInURL, !insecureHTTP, let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "rtsp", let host = components.host, !Self.isLoopback(host)
        else { return }
        throw ClientError(
            "refusing to send the key in clear to \(host) over \(scheme)://: use \(scheme)s:// (with --cacert for a private CA), "
                + "or pass --insecure-http if the network is yours")
    }

    /// Whether `host` is an IPv4 or IPv6 address (checked against the certificate's IP names).
    public static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// This machine's own names: localhost, 127.0.0.0/8, ::1.
    public static func isLoopback(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare.lowercased() == "localhost" || bare == "::1" { return true }
        let parts = bare.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}
