import SluiceConfig
import SluiceCore
import SluiceGrant
import SluiceMedia

/// What each fuzz target (Fuzz/) does with one input, shared with the unit test that replays
/// the seed corpus and every input that once crashed (Fuzz/Regressions). A broken invariant
/// stops the process: libFuzzer records the input that did it.
public enum FuzzHarness {
    /// RTSP requests arriving in two pieces (split where the first byte says), pipelined requests
    /// taken out until the parser wants more or refuses; then the header values the director reads.
    public static func rtsp(_ bytes: [UInt8]) {
        let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        var parser = RTSPRequestParser()
        for piece in [bytes[..<split], bytes[split...]] {
            parser.append(piece)
            while true {
                do {
                    guard let request = try parser.nextRequest() else { break }
                    precondition(request.uri.utf8.count <= parser.limits.maxURILength, "URI over the limit")
                    precondition(request.body.count <= parser.limits.maxBodyBytes, "body over the limit")
                    for offer in RTSPTransport.parse(request.headers["Transport"] ?? "") {
                        _ = offer.isUDP
                        // A port pair is usable, or there is none: never port 0, never a system port.
                        if let rtp = offer.clientRTPPort {
                            precondition(rtp >= ClientPorts.lowest && offer.clientRTCPPort == rtp + 1, "unusable client_port accepted")
                        }
                    }
                    if let start = NormalPlayTime.start(request.headers["Range"]) {
                        precondition(start.isFinite && start >= 0 && start <= NormalPlayTime.maxSeconds)
                        _ = Int64(start * 1000)
                    }
                } catch {
                    _ = error.status
                    break
                }
            }
            precondition(parser.pendingByteCount <= parser.limits.maxHeaderBytes + parser.limits.maxBodyBytes + 65_536, "parser buffers without bound")
        }
        var responses = RTSPResponseParser()
        responses.append(bytes)
        while let response = try? responses.nextResponse() { _ = response.status }
    }

    /// `Range` headers against object lengths from empty to huge: every range the parser accepts
    /// lies inside the object.
    public static func range(_ bytes: [UInt8]) {
        let header = String(decoding: bytes, as: UTF8.self)
        for length: Int64 in [0, 1, 188, 1_000_000, Int64.max / 2, Int64.max] {
            do {
                guard let range = try ByteRange.parse(header, length: length) else { continue }
                precondition(range.first >= 0 && range.first <= range.last && range.last < length, "range \(range) outside 0..<\(length)")
                _ = range.contentRange(length: length)
            } catch {
                _ = error.httpStatus
            }
        }
    }

    /// Arbitrary bytes through the MPEG-TS scanner in uneven chunks, then the seek index.
    public static func transportStream(_ bytes: [UInt8]) {
        var scanner = TransportStreamScanner(minimumSeekSpacingMilliseconds: 0, maxSeekEntries: 64)
        var offset = 0
        var step = 1
        do {
            while offset < bytes.count {
                let end = min(bytes.count, offset + step)
                try scanner.consume(bytes[offset..<end])
                offset = end
                step = step * 3 % 1000 + 1
            }
            let summary = try scanner.finish()
            precondition(summary.durationMilliseconds >= 0 && summary.averageBitsPerSecond >= 0, "negative timing")
            for milliseconds: Int64 in [-1, 0, 500, summary.durationMilliseconds, Int64.max] {
                let position = summary.seekIndex.byteOffset(forMilliseconds: milliseconds)
                precondition(position >= 0 && position <= Int64(bytes.count), "seek outside the file")
            }
        } catch {
            _ = error.message
        }
    }

    /// Arbitrary datagrams as RTCP compound packets (receiver reports from players).
    public static func rtcp(_ bytes: [UInt8]) {
        if let parsed = RTCP.parse(bytes[...]) {
            precondition(parsed.reports.count <= bytes.count / 24 + 1, "more report blocks than bytes allow")
        }
        if bytes.count > 1 { _ = RTCP.parse(bytes[1...]) }
    }

    /// Credentials from the network: RTSP Digest answers, licenses, stream grants, bearer
    /// tokens and API keys. Bounded parsers that refuse, never crash, and never accept a forgery.
    public static func authentication(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let now = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
        for header in [text, "Digest " + text] {
            guard let answer = DigestAnswer(header: header) else { continue }
            precondition(answer.response.count == 32 && header.utf8.count <= DigestAnswer.maxLength)
            let outcome = digests.verify(answer, method: "DESCRIBE", candidates: ["0123456789abcdef0123456789abcdef"], now: now)
            precondition(outcome != .valid(index: 0), "an answer to a nonce this director never made passed")
        }
        for candidate in [text, "SL1." + text] {
            if let license = try? LicenseCodec.verify(candidate, trustedKeys: [licenseKey], licensee: nil, now: now) {
                preconditionFailure("a license nobody signed was accepted: \(license)")
            }
            _ = LicenseCodec.unverifiedContents(candidate)
        }
        if (try? grants.verify(text, object: "clip", engine: "e", clientAddress: "127.0.0.1", action: .play, now: now)) != nil {
            preconditionFailure("a grant nobody signed was accepted")
        }
        if (try? tokens.verify(text, now: now)) != nil { preconditionFailure("a bearer token nobody signed was accepted") }
        if let key = KeyRecord.parse(text) { precondition(key.id.count <= 32 && key.secret.count <= 128) }
    }

    static let digests = DigestAuthenticator(secret: "fuzz-secret-0123456789")
    static let grants = GrantSigner(secret: "fuzz-secret-0123456789")
    static let tokens = BearerTokenSigner(secret: "fuzz-secret-0123456789")
    /// A key whose private half nobody has (the public key of 32 zero bytes' private key).
    static let licenseKey = LicenseCodec.publicKey(ofPrivateKey: String(repeating: "A", count: 43) + "=") ?? ""

    /// Arbitrary text as the YAML configuration: a clear error or a valid configuration, never a crash.
    public static func configuration(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        do {
            let configuration = try Configuration.parse(yaml: text)
            precondition(!configuration.topology.nodes.isEmpty && configuration.grantSecret.utf8.count >= 16)
        } catch {
            _ = "\(error)"
        }
    }
}
