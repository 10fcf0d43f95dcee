import SluiceCore

/// Everything the web console shows, as of one instant: made on the director's actor, sent to
/// the page as one server-sent event. Ages are in milliseconds at `at`, so the page needs no
/// clock of its own.
public struct ConsoleSnapshot: Encodable, Sendable {
    public struct Node: Encodable, Sendable {
        var name: String
        var kind: String
    }

    public struct Engine: Encodable, Sendable {
        var name: String
        var url: String
        var up: Bool
        var draining: Bool
        var load: Double
        var streams: Int
        var maxStreams: Int
    }

    public struct Waiter: Encodable, Sendable {
        var ticket: UInt64
        var object: String
        var client: String
        var user: String?
        var ageMilliseconds: Int64
        /// Why it could not be admitted when last tried.
        var reason: String
    }

    public struct Stream: Encodable, Sendable {
        var id: UInt32
        var kind: String
        var transport: String
        var object: String
        var engine: String
        var client: String
        var user: String?
        var links: [String]
        var bitsPerSecond: Int64
        var bytesSent: Int64
        var claimed: Bool
        var ageMilliseconds: Int64
        var fractionLost: Double?
        var jitterMilliseconds: Double?
    }

    public struct Refusal: Encodable, Sendable {
        var at: Timestamp
        var object: String
        var transport: String
        var reason: String
        var message: String
    }

    public struct Copy: Encodable, Sendable {
        var object: String
        var source: String
        var target: String
        var kind: String
        var ageMilliseconds: Int64
    }

    public struct Replicas: Encodable, Sendable {
        var object: String
        var engines: [String]
    }

    public struct UsageTotals: Encodable, Sendable {
        var since: Timestamp
        var records: Int
        var bytes: Int64
        /// More records than one read takes: the totals count the newest only.
        var truncated: Bool
    }

    var at: Timestamp
    var version: String
    var nodes: [Node]
    var links: [Director.LinkView]
    var engines: [Engine]
    var queue: [Waiter]
    var queueCapacity: Int
    /// The newest `Director.consoleStreamRows` live streams, newest first; `streamCount` counts all.
    var streams: [Stream]
    var streamCount: Int
    var refusals: [Refusal]
    var copies: [Copy]
    var replicas: [Replicas]
    var usage: UsageTotals?
}

/// A refused play request, kept for the console (the newest `Director.recentRefusalLimit`).
struct RefusalEvent: Sendable {
    var at: Timestamp
    var object: String
    var transport: String
    var refusal: AdmissionRefusal
}

extension Director {
    static let recentRefusalLimit = 50
    /// Rows of live streams a snapshot carries: a console stays light with 100,000 leases.
    static let consoleStreamRows = 500

    func refusalObserved(_ request: PlayRequest, _ refusal: AdmissionRefusal) {
        recentRefusals.append(RefusalEvent(at: clock.now(), object: request.object, transport: request.transport, refusal: refusal))
        if recentRefusals.count > Self.recentRefusalLimit { recentRefusals.removeFirst(recentRefusals.count - Self.recentRefusalLimit) }
    }

    /// The console's view of this director now; `usage` comes from the caller (a store read it
    /// does at its own pace).
    public func consoleSnapshot(usage: ConsoleSnapshot.UsageTotals?) -> ConsoleSnapshot {
        let now = clock.now()
        func age(_ since: Timestamp) -> Int64 { max(0, (now - since).wholeMilliseconds) }
        let directory = controller.directory
        let engines = directory.engines.values.sorted { $0.name < $1.name }.map { engine in
            ConsoleSnapshot.Engine(
                name: engine.name, url: engine.url, up: engine.isUp, draining: directory.draining.contains(engine.name),
                load: controller.load(ofEngine: engine.name), streams: controller.book.usage(ofEngine: engine.name).streams,
                maxStreams: engine.capacity.maxStreams)
        }
        let newest = controller.streams.values.sorted { ($0.admittedAt, $0.id) > ($1.admittedAt, $1.id) }.prefix(Self.consoleStreamRows)
        let streams = newest.map { stream in
            ConsoleSnapshot.Stream(
                id: stream.id, kind: stream.kind.rawValue, transport: stream.kind == .play ? transport(of: stream.id) : stream.kind.rawValue,
                object: stream.object, engine: stream.engine, client: stream.clientAddress, user: stream.user,
                links: stream.reservation.links, bitsPerSecond: stream.bitsPerSecond, bytesSent: stream.bytesSent,
                claimed: stream.isClaimed, ageMilliseconds: age(stream.admittedAt),
                fractionLost: stream.quality?.fractionLost, jitterMilliseconds: stream.quality?.jitterMilliseconds)
        }
        return ConsoleSnapshot(
            at: now, version: metrics.version,
            nodes: controller.topology.nodes.values.sorted { $0.name < $1.name }.map { .init(name: $0.name, kind: $0.kind.rawValue) },
            links: linkViews(), engines: engines,
            queue: controller.queue.waiters.map {
                .init(
                    ticket: $0.request.ticket, object: $0.request.objectName, client: $0.request.clientAddress, user: $0.request.user,
                    ageMilliseconds: age($0.enqueuedAt), reason: $0.lastRefusal.code.rawValue)
            },
            queueCapacity: controller.queue.capacity,
            streams: streams, streamCount: controller.streams.count,
            refusals: recentRefusals.reversed().map {
                .init(at: $0.at, object: $0.object, transport: $0.transport, reason: $0.refusal.code.rawValue, message: $0.refusal.message)
            },
            copies: controller.replication.copies.values.sorted { $0.startedAt < $1.startedAt }.map {
                .init(object: $0.object, source: $0.source, target: $0.target, kind: $0.kind.rawValue, ageMilliseconds: age($0.startedAt))
            },
            replicas: directory.replicas.keys.sorted().map { .init(object: $0, engines: directory.replicas[$0]?.sorted() ?? []) },
            usage: usage)
    }
}
