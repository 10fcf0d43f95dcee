/// What one stream (or upload) holds: bit/s on every link of its path, plus engine resources.
public struct Reservation: Hashable, Sendable, Codable {
    public var engine: String
    public var links: [String]
    public var bitsPerSecond: Int64
    public var streamSlots: Int
    public var bufferBytes: Int64
    public var ingestBitsPerSecond: Int64
    public var diskBytes: Int64

    public init(
        engine: String, links: [String], bitsPerSecond: Int64, streamSlots: Int = 1,
        bufferBytes: Int64 = 0, ingestBitsPerSecond: Int64 = 0, diskBytes: Int64 = 0
    ) {
        self.engine = engine
        self.links = links
        self.bitsPerSecond = bitsPerSecond
        self.streamSlots = streamSlots
        self.bufferBytes = bufferBytes
        self.ingestBitsPerSecond = ingestBitsPerSecond
        self.diskBytes = diskBytes
    }
}

/// The limits an engine declares when it registers.
public struct EngineCapacity: Hashable, Sendable, Codable {
    public var maxStreams: Int
    public var bufferBytes: Int64
    public var ingestBitsPerSecond: Int64
    public var diskBytes: Int64

    public init(maxStreams: Int, bufferBytes: Int64, ingestBitsPerSecond: Int64, diskBytes: Int64) {
        self.maxStreams = maxStreams
        self.bufferBytes = bufferBytes
        self.ingestBitsPerSecond = ingestBitsPerSecond
        self.diskBytes = diskBytes
    }
}

/// What is currently booked on one engine.
public struct EngineUsage: Hashable, Sendable, Codable {
    public var streams = 0
    public var bufferBytes: Int64 = 0
    public var ingestBitsPerSecond: Int64 = 0
    public var diskBytes: Int64 = 0
    public init() {}

    public init(streams: Int, bufferBytes: Int64, ingestBitsPerSecond: Int64, diskBytes: Int64) {
        self.streams = streams
        self.bufferBytes = bufferBytes
        self.ingestBitsPerSecond = ingestBitsPerSecond
        self.diskBytes = diskBytes
    }

    static func + (lhs: EngineUsage, rhs: EngineUsage) -> EngineUsage {
        EngineUsage(
            streams: lhs.streams + rhs.streams, bufferBytes: lhs.bufferBytes + rhs.bufferBytes,
            ingestBitsPerSecond: lhs.ingestBitsPerSecond + rhs.ingestBitsPerSecond, diskBytes: lhs.diskBytes + rhs.diskBytes)
    }

    /// What this holds beyond `other`, never below zero.
    func excess(over other: EngineUsage) -> EngineUsage {
        EngineUsage(
            streams: max(0, streams - other.streams), bufferBytes: max(0, bufferBytes - other.bufferBytes),
            ingestBitsPerSecond: max(0, ingestBitsPerSecond - other.ingestBitsPerSecond),
            diskBytes: max(0, diskBytes - other.diskBytes))
    }
}

/// Books link bandwidth and engine resources, all or nothing.
///
/// Every `reserve` that succeeds is undone exactly by `release` of the same reservation;
/// nothing is ever booked past a declared capacity.
public struct ReservationBook: Sendable {
    public private(set) var linkCapacity: [String: Int64]
    public private(set) var engineCapacity: [String: EngineCapacity] = [:]
    public private(set) var engineUsage: [String: EngineUsage] = [:]
    /// Booked bit/s by the topology's link index: path search reads it for every link it tries.
    /// Everything booked, this director's and (with a shared store) the others' last seen.
    private var reservedByIndex: [Int64]
    /// What other directors had booked when the shared store was last read: part of
    /// `reservedByIndex`, kept apart so a new reading replaces it.
    private var othersByIndex: [Int64]
    private var othersEngineUsage: [String: EngineUsage] = [:]
    private let linkIndex: [String: Int]

    public init(topology: Topology) {
        linkCapacity = topology.links.mapValues(\.capacityBitsPerSecond)
        linkIndex = topology.linkIndex
        reservedByIndex = Array(repeating: 0, count: topology.linkList.count)
        othersByIndex = reservedByIndex
    }

    /// Links with something booked on them.
    public var linkReserved: [String: Int64] {
        linkIndex.compactMapValues { reservedByIndex[$0] == 0 ? nil : reservedByIndex[$0] }
    }

    public func reserved(onLink link: String) -> Int64 { linkIndex[link].map { reservedByIndex[$0] } ?? 0 }

    public func reserved(atLinkIndex index: Int) -> Int64 { reservedByIndex[index] }

    /// This director's and the others' bookings on the engine.
    public func usage(ofEngine engine: String) -> EngineUsage {
        let own = engineUsage[engine, default: EngineUsage()]
        guard let others = othersEngineUsage[engine] else { return own }
        return own + others
    }

    /// A reading of the shared store's totals (every director's bookings): what is not this
    /// director's own is the others'. Own bookings still in flight make the difference small for
    /// a moment, never negative; the store stays the arbiter, so a stale view costs a retry,
    /// never an over-booking.
    public mutating func sharedTotalsObserved(links: [String: Int64], engines: [String: EngineUsage]) {
        for (name, index) in linkIndex {
            let own = reservedByIndex[index] - othersByIndex[index]
            let others = max(0, (links[name] ?? 0) - own)
            reservedByIndex[index] = own + others
            othersByIndex[index] = others
        }
        othersEngineUsage = [:]
        for (name, total) in engines {
            let others = total.excess(over: engineUsage[name, default: EngineUsage()])
            if others != EngineUsage() { othersEngineUsage[name] = others }
        }
    }

    public mutating func setCapacity(_ capacity: EngineCapacity, forEngine engine: String) {
        engineCapacity[engine] = capacity
    }

    /// The first reason `reservation` does not fit, or nil if it does.
    public func refusal(for reservation: Reservation) -> AdmissionRefusal? {
        guard let capacity = engineCapacity[reservation.engine] else {
            return AdmissionRefusal(.engineUnavailable, "engine '\(reservation.engine)' is not registered", engine: reservation.engine)
        }
        let used = usage(ofEngine: reservation.engine)
        if used.streams + reservation.streamSlots > capacity.maxStreams {
            return AdmissionRefusal(.engineFull, "engine '\(reservation.engine)' serves its maximum of \(capacity.maxStreams) streams", engine: reservation.engine)
        }
        if used.bufferBytes + reservation.bufferBytes > capacity.bufferBytes {
            return AdmissionRefusal(.engineFull, "engine '\(reservation.engine)' has \(capacity.bufferBytes - used.bufferBytes) buffer bytes free, \(reservation.bufferBytes) needed", engine: reservation.engine)
        }
        if used.ingestBitsPerSecond + reservation.ingestBitsPerSecond > capacity.ingestBitsPerSecond {
            return AdmissionRefusal(.engineFull, "engine '\(reservation.engine)' has \(capacity.ingestBitsPerSecond - used.ingestBitsPerSecond) bit/s of write bandwidth free, \(reservation.ingestBitsPerSecond) needed", engine: reservation.engine)
        }
        if used.diskBytes + reservation.diskBytes > capacity.diskBytes {
            return AdmissionRefusal(.engineFull, "engine '\(reservation.engine)' has \(capacity.diskBytes - used.diskBytes) bytes of disk free, \(reservation.diskBytes) needed", engine: reservation.engine)
        }
        for (position, link) in reservation.links.enumerated() where !reservation.links[..<position].contains(link) {
            guard let capacity = linkCapacity[link] else {
                return AdmissionRefusal(.pathFull, "link '\(link)' is not in the topology", link: link)
            }
            let available = capacity - reserved(onLink: link)
            if reservation.bitsPerSecond > available {
                return AdmissionRefusal(
                    .pathFull, "link '\(link)' has \(available) bit/s free of \(capacity); the stream needs \(reservation.bitsPerSecond)",
                    link: link, requestedBitsPerSecond: reservation.bitsPerSecond, availableBitsPerSecond: available)
            }
        }
        return nil
    }

    /// Books everything in `reservation`, or nothing and says why.
    public mutating func reserve(_ reservation: Reservation) throws(AdmissionRefusal) {
        if let refusal = refusal(for: reservation) { throw refusal }
        apply(reservation, sign: 1)
    }

    /// Books a reservation that was granted before (a director restart) even if limits shrank.
    public mutating func restore(_ reservation: Reservation) {
        apply(reservation, sign: 1)
    }

    /// Returns exactly what `reserve` took.
    public mutating func release(_ reservation: Reservation) {
        apply(reservation, sign: -1)
    }

    private mutating func apply(_ reservation: Reservation, sign: Int64) {
        for link in reservation.links {
            guard let index = linkIndex[link] else { continue }
            reservedByIndex[index] += sign * reservation.bitsPerSecond
        }
        var used = engineUsage[reservation.engine, default: EngineUsage()]
        used.streams += Int(sign) * reservation.streamSlots
        used.bufferBytes += sign * reservation.bufferBytes
        used.ingestBitsPerSecond += sign * reservation.ingestBitsPerSecond
        used.diskBytes += sign * reservation.diskBytes
        engineUsage[reservation.engine] = used == EngineUsage() ? nil : used
    }
}

/// Why a request was not admitted, precise enough to tell an operator what is full.
public struct AdmissionRefusal: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable, Codable, CaseIterable {
        case unknownObject = "unknown_object"
        case noReplica = "no_replica"
        case noRoute = "no_route"
        case pathFull = "path_full"
        case engineFull = "engine_full"
        case engineUnavailable = "engine_unavailable"
        case queueFull = "queue_full"
        case waitExpired = "wait_expired"
        case objectExists = "object_exists"
        case storeUnavailable = "store_unavailable"
        /// The caller's user, key or group holds as much as its quota allows.
        case quotaExceeded = "quota_exceeded"
    }

    /// Another director sharing the store, with room in its queue: where to send the client.
    public struct HandOff: Hashable, Sendable, Codable {
        public var httpURL: String
        public var rtspURL: String
        public init(httpURL: String, rtspURL: String) {
            self.httpURL = httpURL
            self.rtspURL = rtspURL
        }
    }

    public var code: Code
    public var message: String
    public var link: String?
    public var engine: String?
    public var requestedBitsPerSecond: Int64?
    public var availableBitsPerSecond: Int64?
    /// Set when this director's queue is full and another has room.
    public var handOff: HandOff?

    public init(
        _ code: Code, _ message: String, link: String? = nil, engine: String? = nil,
        requestedBitsPerSecond: Int64? = nil, availableBitsPerSecond: Int64? = nil
    ) {
        self.code = code
        self.message = message
        self.link = link
        self.engine = engine
        self.requestedBitsPerSecond = requestedBitsPerSecond
        self.availableBitsPerSecond = availableBitsPerSecond
    }

    /// Refusals that may clear up when other streams end, so a request should wait.
    public var isTransient: Bool { [.pathFull, .engineFull].contains(code) }

    public var description: String { "\(code.rawValue): \(message)" }
}
