import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// The certificate chain and private key a TLS listener presents, read from PEM files.
/// `reload()` reads them again (SIGHUP, after a renewal): connections accepted afterwards get
/// the new certificate, those already open keep theirs. A reload that fails keeps the old one.
public final class TLSCredentials: Sendable {
    public let certificatePath: String
    public let keyPath: String
    /// ALPN protocols offered (`http/1.1` for HTTP listeners, none for RTSP).
    let applicationProtocols: [String]
    /// With mutual TLS: the CA file client certificates are checked against. A client may
    /// present none (viewers do not); one it presents must verify (`PeerCertificate`).
    public let clientCA: String?
    private let context: Mutex<NIOSSLContext>

    public init(certificate: String, key: String, clientCA: String? = nil, applicationProtocols: [String] = ["http/1.1"]) throws(TLSFileError) {
        certificatePath = certificate
        keyPath = key
        self.clientCA = clientCA
        self.applicationProtocols = applicationProtocols
        context = Mutex(try Self.load(certificate: certificate, key: key, clientCA: clientCA, applicationProtocols: applicationProtocols))
    }

    /// The context new connections handshake with.
    public var current: NIOSSLContext { context.withLock { $0 } }

    /// Reads both files again and swaps them in for new connections.
    public func reload() throws(TLSFileError) {
        let fresh = try Self.load(certificate: certificatePath, key: keyPath, clientCA: clientCA, applicationProtocols: applicationProtocols)
        context.withLock { $0 = fresh }
    }

    /// The same files offering other ALPN protocols (one certificate serves HTTP and RTSP).
    public func offering(_ protocols: [String]) throws(TLSFileError) -> TLSCredentials {
        try TLSCredentials(certificate: certificatePath, key: keyPath, clientCA: clientCA, applicationProtocols: protocols)
    }

    static func load(certificate: String, key: String, clientCA: String?, applicationProtocols: [String]) throws(TLSFileError) -> NIOSSLContext {
        let (chain, privateKey) = try identity(certificate: certificate, key: key)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = .tlsv12
        if let clientCA {
            configuration.certificateVerification = .optionalVerification
            configuration.trustRoots = .certificates(try ClusterClients.certificates(in: clientCA))
        }
        configuration.applicationProtocols = applicationProtocols
        // A connection closed at shutdown waits this long for the peer's close_notify (5 s by
        // default, which held a stopping server up by as much whenever a client kept one idle).
        configuration.shutdownTimeout = .milliseconds(500)
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSFileError("the key in \(key) does not belong to the certificate in \(certificate) (\(error))")
        }
    }

    /// The certificate chain and key in two PEM files.
    static func identity(certificate: String, key: String) throws(TLSFileError) -> (chain: [NIOSSLCertificate], key: NIOSSLPrivateKey) {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(Array(try read(certificate, "certificate")))
        } catch let error as TLSFileError {
            throw error
        } catch {
            throw TLSFileError("\(certificate) holds no PEM certificate (\(error))")
        }
        guard !chain.isEmpty else { throw TLSFileError("\(certificate) holds no PEM certificate") }
        do {
            return (chain, try NIOSSLPrivateKey(bytes: Array(try read(key, "private key")), format: .pem))
        } catch let error as TLSFileError {
            throw error
        } catch {
            throw TLSFileError("\(key) holds no PEM private key (\(error))")
        }
    }

    private static func read(_ path: String, _ what: String) throws(TLSFileError) -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TLSFileError("cannot read the TLS \(what) \(path): no such file or not readable")
        }
        return data
    }
}

/// A certificate or key file that cannot serve, in words naming the file.
public struct TLSFileError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Whether the client of a connection presented a certificate (with mutual TLS, one the
/// cluster's CA signed: the handshake refuses any other).
public enum PeerCertificate {
    public static func isPresented(on channel: any Channel) async -> Bool {
        let presented = try? await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.nioSSL_peerCertificate() != nil
        }.get()
        return presented ?? false
    }
}
