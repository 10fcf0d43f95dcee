import Logging
import ServiceLifecycle
import UnixSignals

/// Reads TLS certificates and keys again on every SIGHUP (a renewed certificate): new
/// connections get it, open ones keep theirs. A file that does not load keeps the old
/// certificate in service and says why.
public struct TLSReloadOnHangUp: Service {
    let credentials: [TLSCredentials]
    let logger: Logger

    public init(credentials: [TLSCredentials], logger: Logger) {
        self.credentials = credentials
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
                Self.reload(credentials, logger: logger)
            }
        }
    }

    public static func reload(_ credentials: [TLSCredentials], logger: Logger) {
        for credential in credentials {
            do {
                try credential.reload()
                logger.notice("tls certificate reloaded", metadata: ["certificate": "\(credential.certificatePath)"])
            } catch {
                logger.error("tls certificate not reloaded; the previous one stays in service", metadata: ["error": "\(error)"])
            }
        }
    }
}
