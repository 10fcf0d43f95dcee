import ArgumentParser
import Foundation
import SluiceClient
import SluiceCore
import SluiceGrant

struct LicenseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "license",
        abstract: "Be a license server: make its key, issue and check licenses (Ed25519).",
        discussion: """
            A license names a licensee (the user the licensed application authenticates as), an \
            expiry and the stream I/O profiles it unlocks. Directors trust the license server's \
            public key (licensing.trustedKeys); a player presents the license with ?license=... \
            (or X-Sluice-License), and its streams are read with the licensed profile.
              sluice license keygen --out license-server.key
              sluice license issue --signing-key license-server.key --licensee alice --days 365 --profile uhd-video
              sluice license verify SL1.... --public-key BASE64
            Profiles shipped: audio, sd-video, uhd-video (traditional is what unlicensed streams use).
            """,
        subcommands: [Keygen.self, Issue.self, Verify.self])

    static func readLicense(_ text: String) throws -> String {
        if text.hasPrefix("SL1.") { return text }
        guard let data = FileManager.default.contents(atPath: text) else { throw ClientError("'\(text.prefix(64))' is neither a license nor a readable file") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a license server key pair: the private key goes to a file (mode 0600), the public key is printed.")
        @Option(help: "File to write the private key to (refuses to overwrite).")
        var out: String

        func run() throws {
            // Never over a signing key: a new file only, created with O_EXCL and mode 0600.
            let fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw ClientError(errno == EEXIST ? "\(out) exists; not overwriting a signing key" : "cannot write \(out): \(String(cString: strerror(errno)))")
            }
            let pair = LicenseCodec.newKeyPair()
            let written = Array((pair.privateKey + "\n").utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard written == pair.privateKey.utf8.count + 1 else { throw ClientError("cannot write \(out)") }
            announce("private key written to \(out) (keep it on the license server)")
            announce("public key (put it in licensing.trustedKeys): \(pair.publicKey)")
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a license and print it.")
        @Option(help: "The license server's private key file (from keygen).")
        var signingKey: String
        @Option(help: "The user the licensed application authenticates as.")
        var licensee: String
        @Option(name: .customLong("profile"), help: "A profile the license unlocks (repeatable): audio, sd-video, uhd-video or a configured one.")
        var profiles: [String] = []
        @Option(help: "Days until it expires.")
        var days: Double = 365
        @Option(help: "Write the license to this file as well (- for standard output).")
        var out: String?
        @Flag(help: "Overwrite --out when it is an existing file.")
        var force = false

        func validate() throws {
            guard !profiles.isEmpty else { throw ValidationError("name at least one --profile") }
            guard profiles.count <= 32, profiles.allSatisfy(User.isValidName) else {
                throw ValidationError("at most 32 profiles, each 1-64 characters of A-Z a-z 0-9 . _ -")
            }
            guard User.isValidName(licensee) else { throw ValidationError("--licensee must be a user name (A-Z a-z 0-9 . _ -)") }
            guard days.isFinite, days > 0, days <= 36_500 else { throw ValidationError("--days must be between 0 and 36500") }
        }

        func run() throws {
            guard let data = FileManager.default.contents(atPath: signingKey) else { throw ClientError("cannot read \(signingKey)") }
            let now = SystemClock().now()
            let license = License(
                id: (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined(), licensee: licensee, issuedAt: now,
                expiresAt: now + .seconds(days * 86_400), profiles: profiles)
            guard let text = try LicenseCodec.issue(license, privateKey: String(decoding: data, as: UTF8.self)) else {
                throw ClientError("\(signingKey) does not hold a license server private key")
            }
            if let out {
                let file = try OutputFile.open(out, force: force)
                defer { file.close() }
                try file.write(Array((text + "\n").utf8))
            }
            print(text)
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a license's signature and expiry (and licensee); exit 1 when it is not valid.")
        @Argument(help: "The license, or a file holding it.")
        var license: String
        @Option(name: .customLong("public-key"), help: "A trusted license server public key, Base64 (repeatable).")
        var publicKeys: [String] = []
        @Option(help: "Also check it was issued to this user.")
        var licensee: String?

        func run() throws {
            guard !publicKeys.isEmpty else { throw ValidationError("give the license server's --public-key") }
            let text = try LicenseCommand.readLicense(license)
            do throws(LicenseError) {
                let valid = try LicenseCodec.verify(text, trustedKeys: publicKeys, licensee: licensee, now: SystemClock().now())
                announce("valid: license \(valid.id) for '\(valid.licensee)', profiles \(valid.profiles.joined(separator: ", ")), expires \(Self.date(valid.expiresAt))")
            } catch {
                let contents = LicenseCodec.unverifiedContents(text).map { " (it claims: '\($0.licensee)', expires \(Self.date($0.expiresAt)))" } ?? ""
                announce("NOT valid: \(error.message)\(contents)")
                throw ExitCode(1)
            }
        }

        static func date(_ timestamp: Timestamp) -> String {
            ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(timestamp.millisecondsSinceEpoch) / 1000))
        }
    }
}
