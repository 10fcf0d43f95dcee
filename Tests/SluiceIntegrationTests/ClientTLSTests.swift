import SluiceClient
import Testing

extension IntegrationTests {
/// What the CLI refuses before any connection: a key in clear to another host.
@Suite struct ClientTLSTests {
    @Test func aKeyGoesInClearOnlyToThisMachineOrWhenTheUserSaysSo() throws {
        let strict = ClientTLS()
        for url in ["http://10.0.0.5:8080/play/x", "rtsp://media.example/x", "HTTP://[2001:db8::1]:8080/v1/objects"] {
            #expect(throws: ClientError.self) { try strict.checkKeyTransport(url: url, sendsKey: true) }
            try ClientTLS(insecureHTTP: true).checkKeyTransport(url: url, sendsKey: true)
            try strict.checkKeyTransport(url: url, sendsKey: false)
        }
        for url in ["http://127.0.0.1:8080/play/x", "http://127.8.9.10/x", "rtsp://localhost:8554/x", "http://[::1]:8080/x", "https://media.example/x", "rtsps://10.0.0.5/x"] {
            try strict.checkKeyTransport(url: url, sendsKey: true)
        }
        // A key in the URL counts; a parameter that merely ends in "key" does not.
        #expect(throws: ClientError.self) { try strict.checkKeyTransport(url: "http://10.0.0.5/play/x?key=k", sendsKey: false) }
        try strict.checkKeyTransport(url: "http://10.0.0.5/play/x?monkey=1", sendsKey: false)
        #expect(!ClientTLS.isLoopback("127.0.0.1.example.com"))
        #expect(!ClientTLS.isLoopback("128.0.0.1"))
    }

    @Test func aCAFileThatIsMissingOrHoldsNoCertificateIsNamed() throws {
        #expect { try ClientTLS(caFile: "/nonexistent/ca.pem").configuration() } throws: { "\($0)".contains("cannot read the CA file /nonexistent/ca.pem") }
        #expect { try ClientTLS(caFile: "/etc/hostname").configuration() } throws: { "\($0)".contains("/etc/hostname (--cacert) holds no PEM certificate") }
    }
}
}
