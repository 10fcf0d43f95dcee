import Foundation
import NIOCore
import NIOPosix
import SluiceCore
import Testing

/// The CLI run the way a new operator runs it (issue: the first hour and the first week).
extension IntegrationTests {
@Suite struct OperatorCLITests {
    static func scratch() throws -> String {
        let directory = NSTemporaryDirectory() + "sluice-cli-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Starts `sluice play` and returns once its stream is claimed; its stdout and stderr go to the pipe.
    static func playing(_ cluster: Cluster, _ arguments: [String]) async throws -> (Process, Pipe) {
        let player = Process()
        player.executableURL = URL(fileURLWithPath: Cluster.binary)
        player.arguments = arguments
        let pipe = Pipe()
        player.standardOutput = pipe
        player.standardError = pipe
        try player.run()
        try await cluster.waitUntil("the stream to be playing") {
            try await cluster.json([LiveStream].self, "/v1/streams").first?.isClaimed == true
        }
        return (player, pipe)
    }

    /// A TCP port some other process holds.
    static func occupiedPort() async throws -> (any Channel, Int) {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        return (channel, channel.localAddress?.port ?? 0)
    }

    @Test func outputPathsAreWrittenIntoNeverReplaced() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A FIFO stays a FIFO: the bytes go through it to its reader.
        let fifo = directory + "/pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/bin/sh")
        reader.arguments = ["-c", "wc -c < '\(fifo)' > '\(directory)/count'"]
        try reader.run()
        let intoFIFO = try Cluster.runTool(Cluster.binary, ["sample", "--out", fifo, "--seconds", "1"])
        reader.waitUntilExit()
        #expect(intoFIFO.status == 0, "\(intoFIFO.output)")
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO, "the FIFO was replaced")
        let counted = Int((try String(contentsOfFile: directory + "/count", encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(counted > 100_000, "the reader got \(counted) bytes through the FIFO")

        // An existing file is refused without --force, untouched; with --force written in place.
        let existing = directory + "/existing.ts"
        try "keep me".write(toFile: existing, atomically: false, encoding: .utf8)
        var before = stat()
        _ = stat(existing, &before)
        let refused = try Cluster.runTool(Cluster.binary, ["sample", "--out", existing, "--seconds", "1"])
        #expect(refused.status == 1 && refused.output.contains("exists; add --force") && !refused.output.contains("Usage:"), "\(refused.output)")
        #expect(try String(contentsOfFile: existing, encoding: .utf8) == "keep me")
        // A link to it is the same file: refused as well.
        let link = directory + "/link.ts"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: existing)
        #expect(try Cluster.runTool(Cluster.binary, ["sample", "--out", link, "--seconds", "1"]).status == 1)
        let forced = try Cluster.runTool(Cluster.binary, ["sample", "--out", link, "--seconds", "1", "--force"])
        #expect(forced.status == 0, "\(forced.output)")
        var after = stat()
        _ = stat(existing, &after)
        var linkInfo = stat()
        #expect(lstat(link, &linkInfo) == 0 && (linkInfo.st_mode & S_IFMT) == S_IFLNK, "the link was replaced by a file")
        #expect(after.st_ino == before.st_ino && after.st_size > 100_000, "written through the link into the same inode")

        // `-` is standard output.
        let piped = try Cluster.runTool("/bin/sh", ["-c", "'\(Cluster.binary)' sample --out - --seconds 1 | wc -c"])
        #expect((Int(piped.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 100_000, "\(piped.output)")
        // A directory is named as one.
        let intoDirectory = try Cluster.runTool(Cluster.binary, ["sample", "--out", directory, "--seconds", "1"])
        #expect(intoDirectory.status == 1 && intoDirectory.output.contains("is a directory"), "\(intoDirectory.output)")
    }

    @Test func aTakenPortIsAnErrorNamingTheAddressAndTheSetting() async throws {
        let (holder, port) = try await Self.occupiedPort()
        defer { holder.close(promise: nil) }
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let start = ContinuousClock.now
        let director = try Cluster.runTool(Cluster.binary, [
            "director", "--listen", "127.0.0.1:\(port)", "--rtsp-listen", "127.0.0.1:0", "--data-dir", directory + "/director",
        ])
        #expect(director.status == 1, "\(director.output)")
        #expect(director.output.contains("director HTTP cannot listen on 127.0.0.1:\(port)") && director.output.contains("--listen"), "\(director.output)")
        let rtsp = try Cluster.runTool(Cluster.binary, [
            "director", "--listen", "127.0.0.1:0", "--rtsp-listen", "127.0.0.1:\(port)", "--data-dir", directory + "/director",
        ])
        #expect(rtsp.status == 1 && rtsp.output.contains("director RTSP cannot listen on 127.0.0.1:\(port)") && rtsp.output.contains("--rtsp-listen"), "\(rtsp.output)")
        let engine = try Cluster.runTool(Cluster.binary, [
            "engine", "--name", "engine-a", "--listen", "127.0.0.1:\(port)", "--data-dir", directory + "/engine-a", "--director", "http://127.0.0.1:9",
        ])
        #expect(engine.status == 1 && engine.output.contains("engine engine-a HTTP cannot listen on 127.0.0.1:\(port)"), "\(engine.output)")
        #expect(ContinuousClock.now - start < .seconds(15), "three refusals took \(ContinuousClock.now - start)")
        // A data directory that cannot be made is named with its setting, not as a library error.
        let unusable = try Cluster.runTool(Cluster.binary, ["director", "--listen", "127.0.0.1:0", "--rtsp-listen", "127.0.0.1:0", "--data-dir", "/proc/sluice"])
        #expect(unusable.status == 1 && unusable.output.contains("the director cannot use its data directory /proc/sluice") && unusable.output.contains("--data-dir"), "\(unusable.output)")
        #expect(!unusable.output.contains("NSCocoaErrorDomain"), "\(unusable.output)")
    }

    @Test func theDemoStopsWithAnErrorWhenItsPortIsTakenAndOnSignalsDuringStartUp() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The built-in configuration listens on 8080: hold it, unless something else already does.
        let holder = try? await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 8080).get()
        defer { holder?.close(promise: nil) }
        let demo = try ServerProcess(name: "demo", arguments: ["demo", "--data-dir", directory + "/demo"])
        let deadline = ContinuousClock.now + .seconds(10)
        while demo.process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!demo.process.isRunning, "the demo still runs 10 s after its port was found taken:\n\(demo.log.suffix(1500))")
        demo.stop(signal: SIGKILL)
        #expect(demo.process.terminationStatus == 1 && demo.log.contains("cannot listen on 127.0.0.1:8080"), "\(demo.log.suffix(1500))")

        // A director whose store never answers is still starting: SIGTERM and SIGINT stop it.
        for signal in [SIGTERM, SIGINT] {
            let starting = try ServerProcess(name: "starting", arguments: [
                "director", "--listen", "127.0.0.1:0", "--rtsp-listen", "127.0.0.1:0", "--store", "postgres://sluice@127.0.0.1:9/sluice?sslmode=disable",
            ])
            try await Task.sleep(for: .seconds(1))
            #expect(starting.process.isRunning, "the director gave up on its store within a second")
            let signalled = ContinuousClock.now
            kill(starting.process.processIdentifier, signal)
            while starting.process.isRunning, ContinuousClock.now - signalled < .seconds(5) { try await Task.sleep(for: .milliseconds(20)) }
            #expect(!starting.process.isRunning, "signal \(signal) did not stop a starting director within 5 s")
            starting.stop(signal: SIGKILL)
        }
    }

    @Test func aStoreThatNeverAnswersIsAnErrorNamingItsURL() async throws {
        let start = ContinuousClock.now
        let director = try Cluster.runTool(Cluster.binary, [
            "director", "--listen", "127.0.0.1:0", "--rtsp-listen", "127.0.0.1:0", "--store", "postgres://sluice:hunter2@127.0.0.1:9/sluice?sslmode=disable",
        ])
        let took = ContinuousClock.now - start
        #expect(director.status == 1, "\(director.output.suffix(1500))")
        #expect(director.output.contains("postgres://sluice@127.0.0.1:9/sluice") && !director.output.contains("hunter2"), "\(director.output.suffix(1500))")
        #expect(director.output.contains("warning") && director.output.contains("retrying"), "each failed attempt is a warning")
        #expect(took < .seconds(40), "gave up after \(took)")
    }

    @Test func unknownConfigKeysAreErrorsWithASuggestion() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/sluice.yaml"
        let initialised = try Cluster.runTool(Cluster.binary, ["init", "--out", config, "--data-dir", directory + "/data"])
        #expect(initialised.status == 0, "\(initialised.output)")
        var yaml = try String(contentsOfFile: config, encoding: .utf8)
        #expect(!yaml.contains("demo-key") && !yaml.contains("change-me"), "init writes a fresh key and secret")
        // The file init wrote is used as it is, from any directory.
        let checked = try Cluster.runTool(Cluster.binary, ["director", "--config", config, "--check"], directory: "/")
        #expect(checked.status == 0 && checked.output.contains("configuration is valid"), "\(checked.output)")
        yaml = yaml.replacingOccurrences(of: "  maxWait:", with: "  maxWiat:")
            .replacingOccurrences(of: "  listen: 127.0.0.1:8080", with: "  lissten: 127.0.0.1:8080")
            .replacingOccurrences(of: "engines:\n", with: "enginez:\n")
        try yaml.write(toFile: config, atomically: false, encoding: .utf8)
        let refused = try Cluster.runTool(Cluster.binary, ["director", "--config", config, "--check"])
        #expect(refused.status != 0)
        #expect(refused.output.contains("director.maxWiat: unknown key") && refused.output.contains("did you mean 'maxWait'"), "\(refused.output)")
        #expect(refused.output.contains("director.lissten: unknown key") && refused.output.contains("did you mean 'listen'"), "\(refused.output)")
        #expect(refused.output.contains("enginez: unknown key") && refused.output.contains("did you mean 'engines'"), "\(refused.output)")
        // init does not overwrite.
        let again = try Cluster.runTool(Cluster.binary, ["init", "--out", config])
        #expect(again.status == 1 && again.output.contains("--force"), "\(again.output)")
    }

    @Test func serversRunFromAnyDirectoryOnTheBuiltInConfiguration() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let director = try ServerProcess(name: "director", arguments: [
            "director", "--listen", "127.0.0.1:0", "--rtsp-listen", "127.0.0.1:0", "--data-dir", directory + "/director",
        ], directory: "/")
        let url = try await director.waitFor("director listening on ").trimmingCharacters(in: .whitespaces)
        #expect(director.log.contains("built-in demo configuration"), "\(director.log.suffix(1000))")
        let engines = try Cluster.runTool(Cluster.binary, ["user", "list", "--director", url, "--key", "demo-key"], directory: "/")
        #expect(engines.status == 0, "\(engines.output)")
        director.stop()
        #expect(director.process.terminationStatus == 0, "\(director.log.suffix(1000))")
    }

    @Test func cliErrorsExitOneWithTheServersMessageAndNoUsageText() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.startDirector()
        // Refused by the server: its message, exit 1, no usage text.
        let wrongKey = try cluster.run(["user", "list", "--director", cluster.directorURL, "--key", "wrong"])
        #expect(wrongKey.status == 1 && !wrongKey.output.contains("Usage:") && wrongKey.output.contains("HTTP 401"), "\(wrongKey.output)")
        // SLUICE_DIRECTOR and SLUICE_KEY stand for --director and --key.
        let fromEnvironment = try Cluster.runTool(Cluster.binary, ["user", "add", "erin"], environment: [
            "SLUICE_DIRECTOR": cluster.directorURL, "SLUICE_KEY": Cluster.apiKey,
        ])
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.output)")
        // Nothing listens: said at once, naming host and port.
        let (holder, port) = try await Self.occupiedPort()
        try await holder.close()
        let start = ContinuousClock.now
        let unreachable = try cluster.run(["user", "list", "--director", "http://127.0.0.1:\(port)", "--key", "k"])
        #expect(ContinuousClock.now - start < .seconds(2), "connection refused took \(ContinuousClock.now - start)")
        #expect(unreachable.status == 1 && unreachable.output.contains("cannot reach the director at 127.0.0.1:\(port): connection refused"), "\(unreachable.output)")
        #expect(!unreachable.output.contains("Usage:") && !unreachable.output.contains("errno"), "\(unreachable.output)")
        let play = try cluster.run(["play", "http://127.0.0.1:\(port)/play/x"])
        #expect(play.status == 1 && play.output.contains("127.0.0.1:\(port)"), "\(play.output)")
        // --version, at the top and on a subcommand.
        #expect(try cluster.run(["--version"]).output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
        #expect(try cluster.run(["director", "--version"]).status == 0)
    }

    @Test func everyPlayEndingHasItsOwnMessageAndExitCode() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "short", seconds: 2, bitrate: 1_000_000), as: "short")
        try cluster.put(try cluster.makeSample(name: "long", seconds: 30, bitrate: 1_000_000), as: "long")
        // Played to the end, HTTP and RTSP: 0.
        let http = try cluster.run(["play", cluster.directorURL + "/play/short", "--key", cluster.apiKey, "--out", cluster.directory + "/h.ts"])
        #expect(http.status == 0 && http.output.contains("ending:   completed"), "\(http.output)")
        let rtsp = try cluster.run(["play", cluster.rtspURL + "/short", "--key", cluster.apiKey, "--director", cluster.directorURL])
        #expect(rtsp.status == 0 && rtsp.output.contains("ending:   completed"), "\(rtsp.output)")
        // The director's metrics count both front doors.
        let metrics = String(decoding: try await cluster.get("/metrics").body, as: UTF8.self)
        #expect(metrics.contains(#"sluice_admissions_total{transport="rtsp",result="admitted"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"sluice_admissions_total{transport="http",result="admitted"} 1"#), "\(metrics)")
        // Torn down by an operator mid-stream: 3, with the same message over HTTP and RTSP.
        for url in [cluster.directorURL + "/play/long", cluster.rtspURL + "/long"] {
            let (player, pipe) = try await Self.playing(cluster, ["play", url, "--key", cluster.apiKey, "--director", cluster.directorURL])
            try await Task.sleep(for: .milliseconds(500))
            let id = try await cluster.json([LiveStream].self, "/v1/streams").first?.id ?? 0
            _ = try Cluster.runTool("/usr/bin/curl", ["-s", "-X", "DELETE", "-H", "Authorization: Bearer \(Cluster.apiKey)", cluster.directorURL + "/v1/streams/\(id)"])
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            player.waitUntilExit()
            #expect(player.terminationStatus == 3 && output.contains("torn down by an operator"), "\(url): \(output)")
            // The usage record bills what the engine had sent when it stopped: what the player got.
            let received = output.split(separator: "\n").first { $0.hasPrefix("received:") }
                .flatMap { $0.split(separator: " ").dropFirst().first.flatMap { Int64($0) } } ?? -1
            let record = try await cluster.json([UsageRecord].self, "/v1/usage").first { $0.streamID == id }
            let billed = record?.bytes ?? -1
            #expect(billed >= received && billed <= received + received / 50 + 65_536, "\(url): billed \(billed) bytes, the player received \(received)")
        }
    }
}
}

extension IntegrationTests.OperatorCLITests {
    @Test func anObjectIsDeletedEverywhereAndItsNameIsFreeAgain() async throws {
        let cluster = try Cluster(engineNames: ["engine-a", "engine-b"])
        defer { cluster.stop() }
        try await cluster.start()
        let sample = try cluster.makeSample(name: "doomed", seconds: 20, bitrate: 1_000_000)
        try cluster.put(sample, as: "doomed")
        let copied = try cluster.run(["replicate", "doomed", "--to", "engine-b", "--director", cluster.directorURL, "--key", cluster.apiKey])
        #expect(copied.status == 0, "\(copied.output)")
        // A viewer who did not upload it may not delete it.
        let key = try IntegrationTests.AccessTests.user(cluster, "vic", role: "uploader").key
        let notOwner = try cluster.run(["delete", "doomed", "--director", cluster.directorURL, "--key", key])
        #expect(notOwner.status == 1 && notOwner.output.contains("HTTP 403"), "\(notOwner.output)")

        // Playing: refused without --force; with it the stream ends, reason 'deleted', and the
        // player says so with its own exit status.
        let (player, pipe) = try await Self.playing(cluster, ["play", cluster.directorURL + "/play/doomed", "--key", cluster.apiKey])
        let busy = try cluster.run(["delete", "doomed", "--director", cluster.directorURL, "--key", cluster.apiKey])
        #expect(busy.status == 1 && busy.output.contains("HTTP 409") && busy.output.contains("force"), "\(busy.output)")
        let forced = try cluster.run(["delete", "doomed", "--force", "--director", cluster.directorURL, "--key", cluster.apiKey])
        #expect(forced.status == 0 && forced.output.contains("1 streams ended"), "\(forced.output)")
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        player.waitUntilExit()
        #expect(player.terminationStatus == 5 && output.contains("the object was deleted"), "\(output)")
        #expect(try await cluster.json([UsageRecord].self, "/v1/usage").contains { $0.object == "doomed" && $0.endReason == .deleted })

        // Gone from the catalog and from both engines' disks; the name takes a new upload.
        let catalog = try await cluster.json([ObjectRow].self, "/v1/objects")
        #expect(!catalog.contains { $0.object.name == "doomed" })
        for engine in ["engine-a", "engine-b"] {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: cluster.directory + "/" + engine + "/objects")) ?? []
            #expect(!files.contains { $0.hasPrefix("doomed") }, "\(engine) still holds \(files)")
        }
        let played = try cluster.run(["play", cluster.directorURL + "/play/doomed", "--key", cluster.apiKey])
        #expect(played.status == 1 && played.output.contains("not in the catalog"), "\(played.output)")
        try cluster.put(sample, as: "doomed")
        #expect(try await cluster.json([ObjectRow].self, "/v1/objects").contains { $0.object.name == "doomed" })
        #expect(try await cluster.links().values.allSatisfy { $0.reservedBitsPerSecond == 0 })
    }

    struct ObjectRow: Decodable { var object: MediaObject }
}

extension IntegrationTests.OperatorCLITests {
    /// deploy/'s systemd units parse cleanly (systemd-analyze verify prints nothing) and their
    /// ExecStartPre check passes on a configuration `sluice init` wrote.
    @Test func theSystemdUnitsVerify() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/sluice.yaml"
        #expect(try Cluster.runTool(Cluster.binary, ["init", "--out", config, "--data-dir", directory + "/data"]).status == 0)
        var units: [String] = []
        for (file, instance) in [("sluice-director.service", "sluice-director.service"), ("sluice-engine@.service", "sluice-engine@engine-a.service")] {
            let text = try String(contentsOfFile: root + "/deploy/" + file, encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/bin/sluice", with: Cluster.binary)
                .replacingOccurrences(of: "/etc/sluice/sluice.yaml", with: config)
            try text.write(toFile: directory + "/" + instance, atomically: false, encoding: .utf8)
            units.append(directory + "/" + instance)
            // The unit's own pre-start check, as systemd would run it.
            let pre = try #require(text.split(separator: "\n").first { $0.hasPrefix("ExecStartPre=") })
            let arguments = pre.dropFirst("ExecStartPre=".count).split(separator: " ").dropFirst().map { $0.replacingOccurrences(of: "%i", with: "engine-a") }
            let checked = try Cluster.runTool(Cluster.binary, arguments)
            #expect(checked.status == 0 && checked.output.contains("configuration is valid"), "\(file): \(checked.output)")
        }
        let verified = try Cluster.runTool("/usr/bin/systemd-analyze", ["verify"] + units)
        #expect(verified.status == 0 && verified.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(verified.output)")
    }
}

extension IntegrationTests.OperatorCLITests {
    @Test func sighupAndSluiceReloadApplyWhatCanChangeAndNameWhatNeedsARestart() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.startDirector()
        let original = try String(contentsOfFile: cluster.configPath, encoding: .utf8)
        #expect(try cluster.run(["user", "list", "--director", cluster.directorURL, "--key", "second-key"]).status == 1)
        // SIGHUP: a second operator key works at once.
        try original.replacingOccurrences(of: "apiKeys: [\(Cluster.apiKey)]", with: "apiKeys: [\(Cluster.apiKey), second-key]")
            .write(toFile: cluster.configPath, atomically: false, encoding: .utf8)
        let director = try #require(cluster.director)
        kill(director.process.processIdentifier, SIGHUP)
        try await cluster.waitUntil("the new key to work") {
            try cluster.run(["user", "list", "--director", cluster.directorURL, "--key", "second-key"]).status == 0
        }
        #expect(director.log.contains("configuration reloaded"), "\(director.log.suffix(1000))")
        // sluice reload: the listen address needs a restart, the quota does not.
        try original.replacingOccurrences(of: "maxWait: 10s", with: "maxWait: 10s\n  quotas: { user: { maxStreams: 1 } }")
            .replacingOccurrences(of: "heartbeatTimeout: 5s", with: "heartbeatTimeout: 7s")
            .write(toFile: cluster.configPath, atomically: false, encoding: .utf8)
        let reloaded = try cluster.run(["reload", "--director", cluster.directorURL, "--key", Cluster.apiKey])
        #expect(reloaded.status == 0 && reloaded.output.contains("applied: director.apiKeys, director.quotas"), "\(reloaded.output)")
        #expect(reloaded.output.contains("needs a restart: director.heartbeatTimeout"), "\(reloaded.output)")
        #expect(try cluster.run(["user", "list", "--director", cluster.directorURL, "--key", "second-key"]).status == 1, "the key left the file")
        // The log level: at warning, a user added is no longer logged (info); back at info it is.
        try original.replacingOccurrences(of: "maxWait: 10s", with: "maxWait: 10s\n  logLevel: warning")
            .write(toFile: cluster.configPath, atomically: false, encoding: .utf8)
        let quieter = try cluster.run(["reload", "--director", cluster.directorURL, "--key", Cluster.apiKey])
        #expect(quieter.output.contains("director.logLevel"), "\(quieter.output)")
        #expect(try cluster.run(["user", "add", "quiet", "--director", cluster.directorURL, "--key", Cluster.apiKey]).status == 0)
        try original.replacingOccurrences(of: "maxWait: 10s", with: "maxWait: 10s\n  logLevel: info")
            .write(toFile: cluster.configPath, atomically: false, encoding: .utf8)
        #expect(try cluster.run(["reload", "--director", cluster.directorURL, "--key", Cluster.apiKey]).status == 0)
        #expect(try cluster.run(["user", "add", "loud", "--director", cluster.directorURL, "--key", Cluster.apiKey]).status == 0)
        try await cluster.waitUntil("the second user's log line") { director.log.contains("user=loud") }
        #expect(!director.log.contains("user=quiet"), "logged at info while the level was warning")
        // A file with problems changes nothing.
        try (original + "\nbogus: 1\n").write(toFile: cluster.configPath, atomically: false, encoding: .utf8)
        let refused = try cluster.run(["reload", "--director", cluster.directorURL, "--key", Cluster.apiKey])
        #expect(refused.status == 1 && refused.output.contains("bogus: unknown key") && refused.output.contains("running settings stay"), "\(refused.output)")
        #expect(try cluster.run(["user", "list", "--director", cluster.directorURL, "--key", Cluster.apiKey]).status == 0)
    }

    @Test func readinessSaysWhatIsMissingAndLogsCanBeJSON() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (holder, port) = try await Self.occupiedPort()
        try await holder.close()
        // An engine whose director is not there is alive but not ready.
        let engine = try ServerProcess(name: "engine-a", arguments: [
            "engine", "--name", "engine-a", "--listen", "127.0.0.1:0", "--data-dir", directory + "/engine-a",
            "--director", "http://127.0.0.1:\(port)", "--log-format", "json",
        ])
        let url = try await engine.waitFor("engine engine-a listening on ").trimmingCharacters(in: .whitespaces)
        // A SIGHUP meant for a director does not stop an engine.
        kill(engine.process.processIdentifier, SIGHUP)
        try await Task.sleep(for: .milliseconds(200))
        #expect(engine.process.isRunning, "SIGHUP stopped the engine")
        let notReady = try Cluster.runTool("/usr/bin/curl", ["-s", "-w", " %{http_code}", url + "/readyz"])
        #expect(notReady.output.hasSuffix(" 503") && notReady.output.contains("127.0.0.1:\(port)"), "\(notReady.output)")
        #expect(try Cluster.runTool("/usr/bin/curl", ["-s", "-w", " %{http_code}", url + "/healthz"]).output.hasSuffix(" 200"))
        // Every log line is one JSON object.
        let lines = engine.log.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(!lines.isEmpty && lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] != nil })
        #expect(lines.contains { $0.contains(#""message":"engine listening""#) }, "\(engine.log.prefix(1500))")
        engine.stop()
        // A director with its store is ready.
        let director = try ServerProcess(name: "director", arguments: [
            "director", "--listen", "127.0.0.1:0", "--rtsp-listen", "127.0.0.1:0", "--data-dir", directory + "/director",
        ])
        let directorURL = try await director.waitFor("director listening on ").trimmingCharacters(in: .whitespaces)
        #expect(try Cluster.runTool("/usr/bin/curl", ["-s", "-w", " %{http_code}", directorURL + "/readyz"]).output == "ready\n 200")
        director.stop()
    }
}

extension IntegrationTests.OperatorCLITests {
    /// The shipped configuration with the demo's numbers, as the issue tried it: many players of
    /// the sample fill engine-a's uplink, and the director copies it to engine-b before the
    /// uplink is full, at the rate the uplink has left.
    @Test func theShippedConfigurationCopiesAHotObjectBeforeItsUplinkIsFull() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/sluice.yaml"
        #expect(try Cluster.runTool(Cluster.binary, ["init", "--out", config, "--data-dir", directory]).status == 0)
        // The shipped file with every port left to the system.
        for port in ["8080", "8554", "8081", "8082"] {
            let text = try String(contentsOfFile: config, encoding: .utf8)
            try text.replacingOccurrences(of: "127.0.0.1:\(port)", with: "127.0.0.1:0").write(toFile: config, atomically: false, encoding: .utf8)
        }
        let key = try #require(try String(contentsOfFile: config, encoding: .utf8).split(separator: "\n")
            .first { $0.contains("apiKeys: [") }.flatMap { $0.split(separator: "[").last?.split(separator: "]").first }.map(String.init))
        let director = try ServerProcess(name: "director", arguments: ["director", "--config", config])
        let url = try await director.waitFor("director listening on ").trimmingCharacters(in: .whitespaces)
        var engines: [ServerProcess] = []
        for name in ["engine-a", "engine-b"] {
            let engine = try ServerProcess(name: name, arguments: ["engine", "--config", config, "--name", name, "--director", url])
            _ = try await engine.waitFor("engine \(name) listening on ")
            engines.append(engine)
        }
        defer {
            for engine in engines { engine.stop() }
            director.stop()
        }
        // Registered, not only listening: an upload needs an engine the director knows is up.
        struct EngineRow: Decodable {
            struct Engine: Decodable { var isUp: Bool }
            var engine: Engine
        }
        let registered = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < registered {
            let reply = try Cluster.runTool("/usr/bin/curl", ["-s", "-H", "Authorization: Bearer \(key)", url + "/v1/engines"])
            if let rows = try? JSONDecoder().decode([EngineRow].self, from: Data(reply.output.utf8)), rows.filter(\.engine.isUp).count == 2 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        // The demo's sample: 30 s at about 1.68 Mbit/s, stored on engine-a.
        let sample = directory + "/sample.ts"
        #expect(try Cluster.runTool(Cluster.binary, ["sample", "--out", sample, "--seconds", "30", "--bitrate", "1680000"]).status == 0)
        let put = try Cluster.runTool(Cluster.binary, ["put", sample, "--name", "sample"], environment: ["SLUICE_DIRECTOR": url, "SLUICE_KEY": key])
        #expect(put.status == 0 && put.output.contains("on engine-a"), "\(put.output)")
        // 48 viewers, each at about 1.76 Mbit/s reserved: 85 % of engine-a's 100 Mbit/s uplink.
        var players: [Process] = []
        defer { for player in players where player.isRunning { player.terminate() } }
        for _ in 0..<48 {
            let player = Process()
            player.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            player.arguments = ["-s", "-L", "-o", "/dev/null", "-H", "Authorization: Bearer \(key)", url + "/play/sample"]
            try player.run()
            players.append(player)
        }
        struct Status: Decodable {
            struct Replica: Decodable { var state: String; var engine: String }
            var replicas: [Replica]
            var copyBlocked: String?
        }
        let deadline = ContinuousClock.now + .seconds(25)
        var status: Status?
        while ContinuousClock.now < deadline {
            let reply = try Cluster.runTool("/usr/bin/curl", ["-s", "-H", "Authorization: Bearer \(key)", url + "/v1/objects/sample"])
            status = try? JSONDecoder().decode(Status.self, from: Data(reply.output.utf8))
            if status?.replicas.contains(where: { $0.engine == "engine-b" && $0.state == "dynamic" }) == true { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(status?.replicas.contains { $0.engine == "engine-b" && $0.state == "dynamic" } == true,
                "no copy on engine-b: \(String(describing: status)); director log:\n\(director.log.suffix(2000))")
        #expect(director.log.contains("object in demand: copying") && director.log.contains("copy ordered"), "\(director.log.suffix(2000))")
        // At what the uplink had left beside the streams, not the 50 Mbit/s copyRate.
        let ordered = director.log.split(separator: "\n").first { $0.contains("copy ordered") } ?? ""
        let rate = ordered.split(separator: " ").first { $0.hasPrefix("rate_bps=") }.flatMap { Int64($0.dropFirst("rate_bps=".count)) } ?? 0
        #expect(rate > 1_764_000 && rate < 20_000_000, "copy at \(rate) bit/s: \(ordered)")
        print("shipped configuration: 48 viewers of the sample; copy to engine-b ordered at \(rate) bit/s")
    }
}
