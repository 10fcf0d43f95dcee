import ServiceLifecycle

/// Work a request starts that outlives it — an RTP stream's send loop, a copy job — runs in
/// this service's task group, so it belongs to the engine's service group and is cancelled
/// at shutdown instead of running loose until the process exits.
final class BackgroundWork: Service, Sendable {
    typealias Job = @Sendable () async -> Void
    private let jobs: AsyncStream<Job>
    private let submitter: AsyncStream<Job>.Continuation

    init() {
        (jobs, submitter) = AsyncStream.makeStream()
    }

    /// Starts `job` now; false when the engine is shutting down (nothing was started).
    @discardableResult
    func start(_ job: @escaping Job) -> Bool {
        if case .terminated = submitter.yield(job) { return false }
        return true
    }

    func run() async throws {
        let (jobs, submitter) = (self.jobs, self.submitter)
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                for await job in jobs { group.addTask { await job() } }
            } onGracefulShutdown: {
                submitter.finish()
            }
            group.cancelAll()
        }
    }
}
