import ArgumentParser
import Foundation
import Logging

@main
struct Sluice: AsyncParsableCommand {
    /// `sluice --version` (and every subcommand's).
    static let version = "0.16.0"

    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "A streaming-media delivery cluster that reserves the whole path before it streams.",
        discussion: """
            A director admits each play request only after reserving bandwidth on every link from an \
            engine to the viewer, then redirects the viewer to that engine, which sends the media \
            directly at the reserved rate. Start with `sluice demo`.
            """,
        version: Sluice.version,
        subcommands: [DemoCommand.self, InitCommand.self, DirectorCommand.self, EngineCommand.self, PutCommand.self, PlayCommand.self, DeleteCommand.self, ReloadCommand.self, SampleCommand.self, ReplicateCommand.self, DropReplicaCommand.self, DrainCommand.self, AccessCommand.self, UserCommand.self, LicenseCommand.self, KeyCommand.self, BenchCommand.self]
    )
}

/// Options every server command shares.
struct LoggingOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default: $SLUICE_LOG_LEVEL, else the config's director.logLevel, else info).")
    var logLevel: String?
    @Option(help: "Log format on stderr: text, or json (one object per line).")
    var logFormat: String = "text"

    /// The level asked for at start: the option, else `SLUICE_LOG_LEVEL`; nil when neither.
    var requestedLevel: String? { logLevel ?? ProcessInfo.processInfo.environment["SLUICE_LOG_LEVEL"].flatMap { $0.isEmpty ? nil : $0 } }

    func validate() throws {
        if let level = requestedLevel, Logger.Level(rawValue: level) == nil {
            throw ValidationError("the log level must be one of trace, debug, info, notice, warning, error, critical; not '\(level)'")
        }
        guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format must be text or json; not '\(logFormat)'") }
    }

    func bootstrap(label: String) -> Logger {
        LogLevelSwitch.set(requestedLevel ?? "info")
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            LevelFollowingHandler(inner: json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label))
        }
        return Logger(label: label)
    }
}

/// Prints a line to stdout at once (tests and scripts read these).
func announce(_ line: String) {
    var text = line
    text.append("\n")
    FileHandle.standardOutput.write(Data(text.utf8))
}
