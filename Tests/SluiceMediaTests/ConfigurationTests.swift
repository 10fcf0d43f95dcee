import Foundation
import SluiceConfig
import SluiceCore
@testable import SluiceGrant
import Testing

@Suite(.timeLimit(.minutes(1))) struct ConfigurationTests {
    static let valid = """
        director: { listen: "127.0.0.1:0", apiKeys: [k], maxWait: 2s, leaseSlack: 500ms }
        grantSecret: 0123456789abcdef0123
        topology:
          nodes: [{ name: e, kind: engine }, { name: x, kind: edge }]
          links: [{ name: e-x, from: e, to: x, capacity: 4Mbit }]
        clientNetworks: [{ cidr: 127.0.0.0/8, edge: x }]
        engines: [{ name: e, maxStreams: 3, disk: 1GiB, burst: 16KiB }]
        """

    @Test func decodesUnitsAndDefaults() throws {
        let configuration = try Configuration.parse(yaml: Self.valid, relativeTo: "/srv")
        #expect(configuration.topology.links["e-x"]?.capacityBitsPerSecond == 4_000_000)
        #expect(configuration.director.policy.maxWait == .seconds(2))
        #expect(configuration.director.policy.leaseSlack == .milliseconds(500))
        #expect(configuration.engines.first?.capacity.diskBytes == 1 << 30)
        #expect(configuration.engines.first?.burstBytes == 16 * 1024)
        #expect(configuration.engines.first?.dataDirectory == "/srv/sluice-data/e")
        #expect(configuration.clientNetworks.edge(for: "127.0.0.9") == "x")
        #expect(configuration.directorURL == "http://127.0.0.1:0")
    }

    @Test func aTLSSectionTurnsEveryListenerToTLSWithFilesRelativeToTheConfig() throws {
        let yaml = Self.valid.replacingOccurrences(of: "leaseSlack: 500ms }", with: "leaseSlack: 500ms, rtspsListen: \"127.0.0.1:8322\", plainListen: \"127.0.0.1:8081\", rtspListen: \"off\" }")
            + "\ntls: { certificate: tls/server.pem, key: /etc/sluice/key.pem, ca: tls/ca.pem }\n"
        let configuration = try Configuration.parse(yaml: yaml, relativeTo: "/srv")
        let files = Configuration.TLSFiles(certificate: "/srv/tls/server.pem", key: "/etc/sluice/key.pem", ca: "/srv/tls/ca.pem")
        #expect(configuration.tls == files)
        #expect(configuration.engines.first?.tls == files)
        #expect(configuration.directorURL == "https://127.0.0.1:0")
        #expect(configuration.director.rtsps?.port == 8322)
        #expect(configuration.director.plainHTTP?.port == 8081)
        #expect(!configuration.director.rtspEnabled)

        // An engine's own certificate, with the cluster's CA.
        let own = yaml.replacingOccurrences(of: "burst: 16KiB }", with: "burst: 16KiB, tls: { certificate: e.pem, key: e-key.pem } }")
        #expect(try Configuration.parse(yaml: own, relativeTo: "/srv").engines.first?.tls == Configuration.TLSFiles(certificate: "/srv/e.pem", key: "/srv/e-key.pem", ca: "/srv/tls/ca.pem"))
    }

    @Test func tlsSettingsWithoutWhatTheyNeedAreProblems() throws {
        let withoutSection = Self.valid.replacingOccurrences(of: "leaseSlack: 500ms }", with: "leaseSlack: 500ms, rtspsListen: \"127.0.0.1:8322\", plainListen: \"127.0.0.1:8081\" }")
        #expect {
            try Configuration.parse(yaml: withoutSection + "\ntls: { certificate: a.pem }\n")
        } throws: { error in
            let text = "\(error)"
            return text.contains("tls needs both certificate and key") && text.contains("director.rtspsListen needs a tls section")
                && text.contains("director.plainListen is for a plain HTTP listener beside HTTPS")
        }
        #expect {
            try Configuration.parse(yaml: Self.valid + "\ntls: { certificate: a.pem, key: b.pem, cert: c.pem }\n")
        } throws: { error in "\(error)".contains("tls.cert: unknown key") }
        #expect {
            try Configuration.parse(yaml: Self.valid + "\ntls: { certificate: a.pem, key: b.pem, mutual: true }\n")
        } throws: { error in "\(error)".contains("tls.mutual needs tls.ca") }
        let mutual = try Configuration.parse(yaml: Self.valid + "\ntls: { certificate: a.pem, key: b.pem, ca: c.pem, mutual: true }\n")
        #expect(mutual.tls?.mutual == true && mutual.engines.first?.tls?.mutual == true)
    }

    @Test func engineDirectorListKeepsOrderAndRejectsWhatIsNotAnHTTPURL() throws {
        let listed = try Configuration.parse(yaml: Self.valid + "\ndirectorURL: http://a:8080\ndirectorURLs: [http://b:8080, http://a:8080/, https://c]\n")
        #expect(listed.directorURL == "http://a:8080")
        #expect(listed.directorURLs == ["http://a:8080", "http://b:8080", "https://c"])
        let onlyList = try Configuration.parse(yaml: Self.valid + "\ndirectorURLs: [http://b:8080]\n")
        #expect(onlyList.directorURLs == ["http://b:8080"])
        #expect(try Configuration.parse(yaml: Self.valid).directorURLs == ["http://127.0.0.1:0"])
        #expect {
            try Configuration.parse(yaml: Self.valid + "\ndirectorURLs: [b:8080, \"http://\"]\n")
        } throws: { error in
            let text = (error as? ConfigurationError)?.description ?? ""
            return text.contains("'b:8080' is not an http") && text.contains("'http://' is not an http")
        }
    }

    @Test func quotasDecodeWithDefaultsAndTheirProblems() throws {
        let defaults = try Configuration.parse(yaml: Self.valid)
        #expect(defaults.director.quotas.user == Quota(maxStreams: 10, maxBitsPerSecond: 100_000_000))
        #expect(defaults.director.rtspPauseTimeout == .seconds(300))
        let yaml = Self.valid.replacingOccurrences(of: "leaseSlack: 500ms }", with: """
            leaseSlack: 500ms, rtspPauseTimeout: 45s, quotas: { user: { maxStreams: 4, maxRate: unlimited }, key: { maxRate: 20Mbit }, groups: { staff: { maxStreams: unlimited, maxRate: 1Gbit } } } }
            """)
        let configured = try Configuration.parse(yaml: yaml)
        #expect(configured.director.quotas.user == Quota(maxStreams: 4))
        #expect(configured.director.quotas.key == Quota(maxBitsPerSecond: 20_000_000))
        #expect(configured.director.quotas.groups["staff"] == Quota(maxBitsPerSecond: 1_000_000_000))
        #expect(configured.director.rtspPauseTimeout == .seconds(45))
        let bad = Self.valid.replacingOccurrences(of: "leaseSlack: 500ms }", with: "leaseSlack: 500ms, quotas: { user: { maxStreams: many, maxRate: fast } } }")
        #expect(throws: ConfigurationError.self) { try Configuration.parse(yaml: bad) }
        do {
            _ = try Configuration.parse(yaml: bad)
        } catch let error as ConfigurationError {
            #expect(error.problems.contains { $0.contains("quotas.user.maxStreams") } && error.problems.contains { $0.contains("quotas.user.maxRate") })
        }
    }

    @Test func listenerLimitsDecodeWithDefaultsAndTheirProblems() throws {
        let defaults = try Configuration.parse(yaml: Self.valid).limits
        #expect(defaults.requestHeadTimeout == .seconds(10) && defaults.idleTimeout == .seconds(75) && defaults.maxConnectionsPerClient == 128)
        let set = try Configuration.parse(yaml: Self.valid + "\nlimits: { requestHeadTimeout: 3s, requestBodyTimeout: 500ms, idleTimeout: 2m, sendTimeout: 9s, maxConnectionsPerClient: 7 }\n").limits
        #expect(set.requestHeadTimeout == .seconds(3) && set.requestBodyTimeout == .milliseconds(500) && set.idleTimeout == .seconds(120))
        #expect(set.sendTimeout == .seconds(9) && set.maxConnectionsPerClient == 7)
        do {
            _ = try Configuration.parse(yaml: Self.valid + "\nlimits: { requestHeadTimeout: soon, idleTimeout: 0s, maxConnectionsPerClient: 0 }\n")
            Issue.record("bad limits were accepted")
        } catch let error as ConfigurationError {
            #expect(error.problems.contains { $0.contains("limits.requestHeadTimeout") })
            #expect(error.problems.contains { $0.contains("limits.idleTimeout must be longer than zero") })
            #expect(error.problems.contains { $0.contains("limits.maxConnectionsPerClient") })
        }
    }

    @Test func listsEveryProblemAtOnce() {
        let yaml = """
            grantSecret: short
            topology:
              nodes: [{ name: e, kind: engine }, { name: x, kind: planet }]
              links: [{ name: l, from: e, to: nowhere, capacity: lots }]
            clientNetworks: [{ cidr: 300.0.0.0/8, edge: x }]
            engines: [{ name: ghost }]
            director: { maxWait: soon }
            """
        #expect {
            try Configuration.parse(yaml: yaml)
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            let text = error.description
            return error.problems.count >= 6 && text.contains("planet") && text.contains("lots") && text.contains("300.0.0.0/8")
                && text.contains("ghost") && text.contains("grantSecret") && text.contains("soon")
        }
    }

    @Test func replicationSettingsAndTheirProblems() throws {
        let configuration = try Configuration.parse(yaml: Self.valid + "\nreplication: { window: 5s, copyRate: 8Mbit, coolDown: 2m, overloadRequests: 3 }\n")
        let rules = configuration.director.replication
        #expect(rules.window == .seconds(5) && rules.copyBitsPerSecond == 8_000_000 && rules.coolDown == .seconds(120) && rules.overloadRequests == 3)
        #expect(rules.minimumReplicas == 1 && rules.enabled, "defaults for what the file does not say")
        #expect {
            try Configuration.parse(yaml: Self.valid + "\nreplication: { window: 10ms, copyRate: fast, targetLoadLimit: 2, minimumReplicas: 0 }\n")
        } throws: { error in
            let text = (error as? ConfigurationError)?.description ?? ""
            return text.contains("replication.window") && text.contains("fast") && text.contains("targetLoadLimit") && text.contains("minimumReplicas")
        }
        // The built-in (starter) configuration is valid.
        #expect(try StarterConfiguration.builtIn().director.replication.copyBitsPerSecond == 50_000_000)
    }

    @Test func licensingSettingsAndTheirProblems() throws {
        let key = LicenseCodec.newKeyPair().publicKey
        let configuration = try Configuration.parse(yaml: Self.valid + """

            licensing:
              trustedKeys: ["\(key)"]
              profiles:
                - { name: hd-video, version: 2, readBytes: 512KiB, readAheadBlocks: 4, buffers: 4, pageCache: drop-behind, burstPackets: 16 }
                - { name: audio, readBytes: 16KiB }
            """)
        let profiles = Dictionary(uniqueKeysWithValues: configuration.licensing.profiles.map { ($0.name, $0) })
        #expect(configuration.licensing.trustedKeys == [key])
        #expect(profiles["hd-video"] == IOProfile(name: "hd-video", version: 2, readBytes: 512 << 10, readAheadBlocks: 4, buffers: 4, pageCache: .dropBehind, burstPackets: 16))
        #expect(profiles["audio"]?.readBytes == 16 << 10, "replaced by name")
        #expect(profiles["uhd-video"] == .uhdVideo, "the shipped ones stay")
        #expect(try Configuration.parse(yaml: Self.valid).licensing.profiles == IOProfile.builtIn)
        #expect {
            try Configuration.parse(yaml: Self.valid + """

                licensing:
                  trustedKeys: ["not-a-key"]
                  profiles:
                    - { name: traditional, readBytes: 1MiB }
                    - { name: odd, readBytes: 1000 }
                    - { name: huge, readBytes: 16MiB, buffers: 64 }
                    - { name: weird, readBytes: 64KiB, pageCache: mmap }
                """)
        } throws: { error in
            let text = (error as? ConfigurationError)?.description ?? ""
            return text.contains("not-a-key") && text.contains("'traditional'") && text.contains("'odd': readBytes") && text.contains("64 MiB")
                && text.contains("pageCache must be")
        }
    }

    @Test func deeplyNestedYAMLIsAClearErrorNotAStackOverflow() {
        #expect {
            try Configuration.parse(yaml: "a: " + String(repeating: "[", count: 100_000))
        } throws: { error in
            (error as? ConfigurationError)?.description.contains("nests") == true
        }
        // Brackets in strings and comments do not count.
        let quoted = Self.valid + "\n# " + String(repeating: "[", count: 100) + "\ndirectorURL: \"http://h/" + String(repeating: "{", count: 100) + "\"\n"
        #expect(throws: Never.self) { try Configuration.parse(yaml: quoted) }
    }

    @Test func hugeDurationsAndBufferSecondsAreClearErrors() {
        // Found by the config fuzz target: 1e300s used to trap converting to milliseconds.
        for field in ["maxWait: 1e300s", "claimTimeout: 99999999999h", "bufferSeconds: 1.0e+300", "bufferSeconds: -1.5"] {
            #expect(throws: ConfigurationError.self, "\(field)") {
                try Configuration.parse(yaml: Self.valid.replacingOccurrences(of: "maxWait: 2s", with: field))
            }
        }
        #expect(throws: Never.self) { try Configuration.parse(yaml: Self.valid.replacingOccurrences(of: "maxWait: 2s", with: "maxWait: 1000000000ms")) }
    }

    @Test func garbageIsAClearError() {
        #expect(throws: ConfigurationError.self) { try Configuration.parse(yaml: "::: [ not yaml") }
        #expect(throws: ConfigurationError.self) { try Configuration.load(path: "/nonexistent/sluice.yaml") }
    }
}

@Suite(.timeLimit(.minutes(1))) struct GrantTests {
    let signer = GrantSigner(secret: "0123456789abcdef-secret")
    let now = Timestamp(millisecondsSinceEpoch: 1_000_000)

    func grant() -> StreamGrant {
        StreamGrant(streamID: 7, action: .play, object: "movie", engine: "e", bitsPerSecond: 1_000_000, clientAddress: "127.0.0.1", expiresAt: now + .seconds(60))
    }

    @Test func acceptsItsOwnGrant() throws {
        let token = signer.sign(grant())
        let verified = try signer.verify(token, object: "movie", engine: "e", clientAddress: "127.0.0.1", action: .play, now: now)
        #expect(verified == grant())
    }

    @Test func refusesForgedExpiredAndMisusedGrants() {
        let token = signer.sign(grant())
        func code(_ token: String?, object: String = "movie", engine: String = "e", client: String = "127.0.0.1", action: StreamGrant.Action = .play, at: Timestamp? = nil) -> GrantError.Code? {
            do {
                _ = try signer.verify(token, object: object, engine: engine, clientAddress: client, action: action, now: at ?? now)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code(nil) == .missing)
        #expect(code("garbage") == .malformed)
        #expect(code(String(repeating: "a", count: 5000)) == .malformed)
        #expect(code(GrantSigner(secret: "another-secret-of-16+").sign(grant())) == .badSignature)
        var tampered = Array(token)
        tampered[5] = tampered[5] == "A" ? "B" : "A"
        #expect(code(String(tampered)) == .badSignature || code(String(tampered)) == .malformed)
        #expect(code(token, at: now + .seconds(61)) == .expired)
        #expect(code(token, object: "other") == .wrongObject)
        #expect(code(token, engine: "f") == .wrongEngine)
        #expect(code(token, client: "10.0.0.1") == .wrongClient)
        #expect(code(token, action: .ingest) == .wrongAction)
    }
}

@Suite(.timeLimit(.minutes(1))) struct GrantEncodingTests {
    @Test func base64URLRoundTripsEveryLengthAndMatchesFoundation() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let encoded = Base64URL.encode(bytes)
            let foundation = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(encoded == foundation)
            #expect(Base64URL.decode(encoded[...]) == bytes)
        }
    }

    @Test func base64URLRefusesWhatNoEncoderWrites() {
        #expect(Base64URL.decode("AAAA="[...]) == nil)   // padding
        #expect(Base64URL.decode("AA+A"[...]) == nil)    // the other alphabet
        #expect(Base64URL.decode("AAAAA"[...]) == nil)   // 4n+1 characters
        #expect(Base64URL.decode("AA\u{e9}A"[...]) == nil)
        #expect(Base64URL.decode(""[...]) == [])
    }

    @Test func handWrittenJSONReadsBackAsTheSameGrant() throws {
        let grants = [
            StreamGrant(streamID: .max, action: .play, object: "a.b_c-d", engine: "e1", bitsPerSecond: .max,
                        clientAddress: "::1", expiresAt: Timestamp(millisecondsSinceEpoch: -5)),
            StreamGrant(streamID: 0, action: .ingest, object: "quote\"back\\slash\ncontrol\u{1}", engine: "ünï ✓",
                        bitsPerSecond: 0, clientAddress: "", expiresAt: Timestamp(millisecondsSinceEpoch: 1_800_000_000_000),
                        sizeBytes: 42, sha256: String(repeating: "ab", count: 32)),
        ]
        for grant in grants {
            #expect(try JSONDecoder().decode(StreamGrant.self, from: Data(grant.jsonBytes)) == grant)
        }
    }
}

@Suite struct ConfigurationReloadTests {
    @Test func sortsChangesIntoLiveAndRestart() {
        let old = StarterConfiguration.yaml(dataDirectory: "/d", apiKey: "k1", grantSecret: "s-0123456789abcdef")
        #expect(ConfigurationReload.compare(old, old) == ConfigurationReload())
        let new = old.replacingOccurrences(of: "apiKeys: [k1]", with: "apiKeys: [k1, k2]")
            .replacingOccurrences(of: "copyRate: 50Mbit", with: "copyRate: 20Mbit")
            .replacingOccurrences(of: "listen: 127.0.0.1:8080", with: "listen: 127.0.0.1:9090")
            .replacingOccurrences(of: "capacity: 150Mbit", with: "capacity: 200Mbit")
        let reload = ConfigurationReload.compare(old, new)
        #expect(reload.applied == ["director.apiKeys", "replication.copyRate"])
        #expect(reload.needsRestart == ["director.listen", "topology"])
    }
}
