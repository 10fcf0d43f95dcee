import Logging
import ServiceLifecycle
import SluiceConfig
import SluiceCore
import SluiceGrant
import SluiceListeners
import Synchronization
import UnixSignals

/// Re-reads the configuration on SIGHUP or `POST /v1/reload` and applies what a running
/// director can take (operator keys, license servers and profiles, quotas, replication rules,
/// the webhook's URL); says what needs a restart.
final class ConfigurationReloader: Sendable {
    /// Reads the configuration again (the file the director started with, overrides applied).
    let read: @Sendable () throws -> Configuration
    let director: Director
    let webhook: WebhookTarget?
    let setLogLevel: (@Sendable (String) -> Void)?
    /// The certificates the listeners present, read again at each reload.
    let tls: [TLSCredentials]
    let logger: Logger
    private let current: Mutex<Configuration>

    init(
        current: Configuration, read: @escaping @Sendable () throws -> Configuration, director: Director, webhook: WebhookTarget?,
        setLogLevel: (@Sendable (String) -> Void)?, tls: [TLSCredentials] = [], logger: Logger
    ) {
        self.tls = tls
        self.current = Mutex(current)
        self.read = read
        self.director = director
        self.webhook = webhook
        self.setLogLevel = setLogLevel
        self.logger = logger
    }

    /// Applies the file as it is now; throws `ConfigurationError` (nothing applied) when it has problems.
    func reload() async throws -> ConfigurationReload {
        let next = try read()
        TLSReloadOnHangUp.reload(tls, logger: logger)
        let previous = current.withLock { $0 }
        var report = ConfigurationReload.compare(previous.source, next.source)
        // A webhook turned on or off needs its delivery service started or stopped: a restart.
        if report.applied.contains("director.usageWebhook") {
            if let url = next.director.usageWebhook, let webhook {
                webhook.set(url)
            } else {
                report.applied.removeAll { $0 == "director.usageWebhook" }
                report.needsRestart.append("director.usageWebhook")
            }
        }
        if report.applied.contains("director.logLevel") {
            if let level = next.director.logLevel, let setLogLevel {
                setLogLevel(level)
            } else {
                // Taken out of the file: the level given at start stays until a restart.
                report.applied.removeAll { $0 == "director.logLevel" }
                report.needsRestart.append("director.logLevel")
            }
        }
        await director.apply(
            configurationKeys: Set(next.director.apiKeys),
            licensing: LicensePolicy(trustedKeys: next.licensing.trustedKeys, profiles: next.licensing.profiles),
            quotas: next.director.quotas, replication: next.director.replication)
        current.withLock { $0 = next }
        logger.notice("configuration reloaded", metadata: [
            "applied": "\(report.applied.isEmpty ? "nothing changed" : report.applied.joined(separator: ", "))",
            "needs_restart": "\(report.needsRestart.joined(separator: ", "))",
        ])
        return report
    }
}

/// Reloads the configuration on every SIGHUP.
struct ReloadOnHangUp: Service {
    let reloader: ConfigurationReloader

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
                do {
                    _ = try await reloader.reload()
                } catch {
                    reloader.logger.error("configuration not reloaded: the file has problems; the running settings stay", metadata: ["problems": "\(error)"])
                }
            }
        }
    }
}
