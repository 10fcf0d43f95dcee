import Crypto
import Foundation
import SwiftASN1
import X509

/// A certificate authority made on the spot and one server certificate it signs, for the demo
/// (`sluice demo --tls`) and tests: P-256 keys, valid from an hour ago for `days`, the server
/// certificate naming every host given (DNS names and IP addresses). The CA's key is never
/// written: nothing else can be signed with it.
public struct ThrowawayCA: Sendable {
    public var caPEM: String
    public var certificatePEM: String
    public var keyPEM: String

    public init(hosts: [String], days: Int = 30, name: String = "Sluice throwaway CA") throws {
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName(name) }
        let now = Date()
        let (notBefore, notAfter) = (now - 3600, now + TimeInterval(days) * 86_400)
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(caKey.publicKey),
            notValidBefore: notBefore, notValidAfter: notAfter, issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(caKey))
        let serverKey = P256.Signing.PrivateKey()
        let names: [GeneralName] = hosts.map { host in
            if let address = IPAddressBytes(host) { return .ipAddress(ASN1OctetString(contentBytes: address[...])) }
            return .dnsName(host)
        }
        let server = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(serverKey.publicKey),
            notValidBefore: notBefore, notValidAfter: notAfter, issuer: caName,
            subject: try DistinguishedName { CommonName(hosts.first ?? "sluice") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: .init(caKey))
        caPEM = try ca.serializeAsPEM().pemString + "\n"
        certificatePEM = try server.serializeAsPEM().pemString + "\n"
        keyPEM = serverKey.pemRepresentation + "\n"
    }

    /// Writes `ca.pem`, `server.pem` and `server-key.pem` (mode 0600) into `directory`;
    /// returns their paths.
    @discardableResult
    public func write(to directory: String) throws -> (ca: String, certificate: String, key: String) {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let paths = (ca: directory + "/ca.pem", certificate: directory + "/server.pem", key: directory + "/server-key.pem")
        try Data(caPEM.utf8).write(to: URL(fileURLWithPath: paths.ca))
        try Data(certificatePEM.utf8).write(to: URL(fileURLWithPath: paths.certificate))
        FileManager.default.createFile(atPath: paths.key, contents: Data(keyPEM.utf8), attributes: [.posixPermissions: 0o600])
        return paths
    }
}

/// The bytes of an IPv4 or IPv6 address in text, nil for anything else (a host name).
private func IPAddressBytes(_ text: String) -> [UInt8]? {
    var v4 = in_addr()
    if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
    return nil
}
