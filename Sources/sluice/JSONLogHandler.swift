import Foundation
import Logging
import Synchronization

/// `--log-format json`: one JSON object per line on stderr (`time`, `level`, `label`,
/// `message`, `source`, and every metadata key), for log shippers.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (key, value) in metadata.merging(metadataProvider?.get() ?? [:], uniquingKeysWith: { $1 }).merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            fields[key] = "\(value)"
        }
        fields["time"] = Self.time()
        fields["level"] = event.level.rawValue
        fields["label"] = label
        fields["message"] = "\(event.message)"
        fields["source"] = event.source
        guard var line = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        line.append(UInt8(ascii: "\n"))
        FileHandle.standardError.write(line)
    }

    static func time() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}

/// The process's log level, one for every logger, changed while it runs (a reload's
/// `director.logLevel`).
enum LogLevelSwitch {
    private static let levels: [Logger.Level] = [.trace, .debug, .info, .notice, .warning, .error, .critical]
    private static let current = Atomic<Int>(2)

    static func set(_ name: String) {
        guard let index = levels.firstIndex(where: { $0.rawValue == name }) else { return }
        current.store(index, ordering: .relaxed)
    }

    static var level: Logger.Level { levels[current.load(ordering: .relaxed)] }
}

/// A handler whose level is always `LogLevelSwitch.level`. It keeps the logger's metadata
/// itself and hands it over only with a message: `StreamLogHandler` formats its metadata on
/// every change, and each request sets some (its ID) on a logger that mostly logs nothing.
struct LevelFollowingHandler: LogHandler {
    var inner: any LogHandler
    var metadata: Logger.Metadata = [:]

    init(inner: any LogHandler) {
        self.inner = inner
    }

    var logLevel: Logger.Level {
        get { LogLevelSwitch.level }
        set {}  // one level for the process, set through LogLevelSwitch
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    func log(event: LogEvent) {
        guard !metadata.isEmpty else { return inner.log(event: event) }
        var event = event
        // The message's own metadata wins over the logger's, as in every handler.
        event.metadata = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        inner.log(event: event)
    }
}
