import NIOCore

/// Runs a task's jobs on one SwiftNIO event loop. The RTP send loops prefer the RTP socket's
/// loop: the pacer's timer, every stream's reads and packetizing, and its waits then share one
/// thread, so handing packets to the pacer is a call, not a cross-thread wake, and no second
/// thread competes with the pacer for the engine's core.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}
