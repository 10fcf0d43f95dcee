import ArgumentParser
import Dispatch
import Foundation
import Logging
import SluiceConfig
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `--config`, or the built-in configuration (the demo's) when none is given.
struct ConfigOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "Cluster config file (YAML; default: the built-in demo configuration, see `sluice init`).")
    var config: String?

    func load(logger: Logger? = nil) throws -> Configuration {
        if let config { return try Configuration.load(path: config) }
        logger?.notice("no --config: using the built-in demo configuration (its grant secret and key are public; `sluice init` writes your own)", metadata: [
            "data": "\(StarterConfiguration.defaultDataDirectory)",
        ])
        return try StarterConfiguration.builtIn()
    }

    var name: String { config ?? "the built-in configuration" }
}

/// Turns SIGINT and SIGTERM into cancellation of a server command while it starts (opening its
/// store, binding, waiting for a director), before its service group handles them itself: a
/// signal stops the process at any point of start-up.
enum StartupSignals {
    /// Runs `body`; a signal cancels it until `body` calls `started` (from then on the servers'
    /// own graceful shutdown handles signals). `always` cancels at any time (the demo, whose
    /// servers all stop with it).
    static func run(always: Bool = false, _ body: @escaping @Sendable (_ started: @escaping @Sendable () -> Void) async throws -> Void) async throws {
        let started = OnceSet()
        let signalled = OnceSet()
        let (signals, delivery) = AsyncStream.makeStream(of: Void.self)
        let sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if always || !started.isSet {
                    signalled.set()
                    delivery.yield()
                }
            }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }
        do {
            // The first to finish ends both: `body`, or a signal (which cancels `body`).
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await body { started.set() } }
                group.addTask {
                    for await _ in signals { throw CancellationError() }
                }
                defer {
                    delivery.finish()
                    group.cancelAll()
                }
                try await group.next()
            }
        } catch where signalled.isSet {
            // Stopped on purpose: whatever the cancellation surfaced as is not a failure.
            FileHandle.standardError.write(Data("sluice: stopped by a signal\n".utf8))
        }
    }
}

final class OnceSet: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
