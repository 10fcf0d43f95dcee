import NIOCore
import ServiceLifecycle

/// Runs `operation` (an admission that may wait in the queue) and cancels it when the client's
/// connection closes first (nil then), or when the server begins to shut down (the admission
/// is then refused, so a waiting request does not hold the server's exit up). Every front
/// door that can wait uses it: a viewer who hangs up gives its place in the queue up at once.
func cancellingOnClose<Value: Sendable>(of channel: any Channel, _ operation: @escaping @Sendable () async -> Value) async -> Value? {
    let (closed, signal) = AsyncStream<Never>.makeStream()
    // The close callback outlives the request on a kept-alive connection: it holds the signal
    // weakly, so what stays behind per request is a few bytes, not the stream.
    let box = SignalBox(signal)
    channel.closeFuture.whenComplete { [weak box] _ in box?.signal.finish() }
    return await withTaskGroup(of: Value?.self) { group in
        group.addTask { await cancelWhenGracefulShutdown(operation) }
        group.addTask {
            for await _ in closed {}
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        withExtendedLifetime(box) {}
        return first
    }
}

private final class SignalBox: Sendable {
    let signal: AsyncStream<Never>.Continuation
    init(_ signal: AsyncStream<Never>.Continuation) { self.signal = signal }
}
