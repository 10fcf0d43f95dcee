import AsyncHTTPClient
import Foundation
import NIOSSL
import Synchronization

/// The HTTP clients a cluster part calls another with (director to engine, engine to director,
/// engine to engine for copies): certificates verified against the system's roots plus the
/// cluster's CA (`tls.ca`), host names checked. One client per CA file and kind, kept for the
/// life of the process.
public enum ClusterClients {
    private static let made = Mutex<[String: HTTPClient]>([:])

    /// `failFast`: a refused connection fails at once and a connect gives up after a second
    /// (the engine's director calls, which try the next director); else AsyncHTTPClient's
    /// defaults.
    /// `identity`: the certificate and key presented to the other part (mutual TLS).
    public static func client(
        trusting ca: String?, presenting identity: (certificate: String, key: String)? = nil, failFast: Bool
    ) throws(TLSFileError) -> HTTPClient {
        let key = "\(failFast) \(ca ?? "") \(identity?.certificate ?? "")"
        if let client = made.withLock({ $0[key] }) { return client }
        var configuration = HTTPClient.Configuration()
        if failFast {
            configuration.timeout.connect = .seconds(1)
            configuration.connectionPool.retryConnectionEstablishment = false
        }
        if let ca {
            var tls = try clientTLS(trusting: ca)
            if let identity {
                let loaded = try TLSCredentials.identity(certificate: identity.certificate, key: identity.key)
                tls.certificateChain = loaded.chain.map { .certificate($0) }
                tls.privateKey = .privateKey(loaded.key)
            }
            configuration.tlsConfiguration = tls
        }
        return made.withLock { clients in
            if let client = clients[key] { return client }
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            clients[key] = client
            return client
        }
    }

    /// A client's TLS: the system's roots plus the certificates in `ca`, host names verified.
    public static func clientTLS(trusting ca: String) throws(TLSFileError) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.additionalTrustRoots = [.certificates(try certificates(in: ca))]
        return configuration
    }

    /// The certificates of a CA file, at least one.
    static func certificates(in ca: String) throws(TLSFileError) -> [NIOSSLCertificate] {
        guard let data = FileManager.default.contents(atPath: ca) else {
            throw TLSFileError("cannot read the CA file \(ca): no such file or not readable")
        }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(Array(data))
        } catch {
            throw TLSFileError("\(ca) holds no PEM certificate (\(error))")
        }
        guard !certificates.isEmpty else { throw TLSFileError("\(ca) holds no PEM certificate") }
        return certificates
    }
}
