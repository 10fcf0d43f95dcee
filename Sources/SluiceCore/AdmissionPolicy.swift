/// The tunables of admission, with the defaults a small cluster wants.
public struct AdmissionPolicy: Hashable, Sendable, Codable {
    /// Reserved rate = the object's average bitrate x (1 + headroom).
    public var rateHeadroom: Double = 0.05
    /// Lease = expected duration x `leaseFactor` + `leaseSlack`; renewals extend to now + slack.
    public var leaseFactor: Double = 1.1
    public var leaseSlack: Duration = .seconds(30)
    /// Engine buffer budget per stream, in seconds of media at the reserved rate.
    public var bufferSeconds: Double = 2
    /// Longest a request may wait in the queue (a request may ask for less).
    public var maxWait: Duration = .seconds(10)
    public var maxQueueLength: Int = 1000
    /// An engine that has not sent a heartbeat for this long is down.
    public var heartbeatTimeout: Duration = .seconds(6)
    /// A stream whose engine has not started it (no renewal) this long after admission is
    /// released: the client took its grant and never came.
    public var claimTimeout: Duration = .seconds(15)
    /// Write bandwidth reserved on the engine for one upload.
    public var ingestBitsPerSecond: Int64 = 200_000_000

    public init() {}

    public func reservedRate(for object: MediaObject) -> Int64 {
        max(1, Int64((Double(object.averageBitsPerSecond) * (1 + rateHeadroom)).rounded(.up)))
    }

    public func bufferBytes(forRate bitsPerSecond: Int64) -> Int64 {
        Int64(Double(bitsPerSecond) / 8 * bufferSeconds)
    }

    public func initialLease(expected: Duration, from now: Timestamp) -> Timestamp {
        now + .milliseconds(Int64(Double(expected.wholeMilliseconds) * leaseFactor)) + leaseSlack
    }
}

/// A request to play an object or to upload one.
public struct AdmissionRequest: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case play(object: String)
        case ingest(object: String, sizeBytes: Int64)
    }

    public var ticket: UInt64
    public var kind: Kind
    public var clientAddress: String
    /// After this instant a waiting request is refused.
    public var deadline: Timestamp
    /// A stream moved to another engine keeps its ID (the RTP SSRC) when it is free.
    public var preferredStreamID: UInt32?
    /// Who asked, and with which key: revoking either ends the stream.
    public var user: String?
    public var keyID: String?
    /// Who may play an uploaded object once it is listed (nil: the default for its uploader).
    public var visibility: ObjectAccess.Visibility?

    public init(ticket: UInt64, kind: Kind, clientAddress: String, deadline: Timestamp, preferredStreamID: UInt32? = nil) {
        self.ticket = ticket
        self.kind = kind
        self.clientAddress = clientAddress
        self.deadline = deadline
        self.preferredStreamID = preferredStreamID
    }

    public var objectName: String {
        switch kind {
        case .play(let object), .ingest(let object, _): object
        }
    }
}

/// Where an RTP stream is: media time, the next RTP sequence number and timestamp.
public struct RTPPosition: Hashable, Sendable, Codable {
    public var milliseconds: Int64
    public var sequence: UInt16
    public var rtpTime: UInt32
    public var isPlaying: Bool
    /// Packets per second at the stream's rate, to skip sequence numbers a dead engine may
    /// have used after it last reported.
    public var packetsPerSecond: Int

    public init(milliseconds: Int64, sequence: UInt16, rtpTime: UInt32, isPlaying: Bool, packetsPerSecond: Int) {
        self.milliseconds = milliseconds
        self.sequence = sequence
        self.rtpTime = rtpTime
        self.isPlaying = isPlaying
        self.packetsPerSecond = packetsPerSecond
    }

    /// Where a replacement engine continues `elapsed` after this report: later in the media
    /// while playing (never earlier than what the old engine may have sent), sequence numbers
    /// and timestamps past any it may have used.
    public func continued(after elapsed: Duration) -> RTPPosition {
        let gap = isPlaying ? max(.zero, elapsed) : .zero
        let skipped = Int64(Double(packetsPerSecond) * (gap.seconds + 1)) + 16
        return RTPPosition(
            milliseconds: milliseconds + gap.wholeMilliseconds,
            sequence: sequence &+ UInt16(truncatingIfNeeded: min(skipped, 20_000)),
            rtpTime: rtpTime &+ UInt32(truncatingIfNeeded: (gap.wholeMilliseconds + 100) * 90),
            isPlaying: isPlaying, packetsPerSecond: packetsPerSecond)
    }
}

/// One hop of a stream's label-switched path: the link and the label its downstream node uses.
public struct Hop: Hashable, Sendable, Codable {
    public var link: String
    public var node: String
    public var label: UInt32

    public init(link: String, node: String, label: UInt32) {
        self.link = link
        self.node = node
        self.label = label
    }
}

/// An admitted stream or upload and everything it holds.
public struct LiveStream: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable {
        case play, ingest
        /// An engine-to-engine copy at the background rate (a replica in the making).
        case copy
    }

    public var id: UInt32
    public var kind: Kind
    public var object: String
    public var engine: String
    public var clientAddress: String
    public var hops: [Hop]
    public var reservation: Reservation
    public var admittedAt: Timestamp
    public var leaseExpiry: Timestamp
    public var bytesSent: Int64
    /// True once the engine has renewed the lease, i.e. the client came and sending began.
    public var isClaimed: Bool
    /// Latest loss and jitter the player reported (RTP streams).
    public var quality: ReceptionQuality?
    /// When the engine last heard an RTCP receiver report from the player.
    public var lastReceiverReport: Timestamp?
    /// Where an RTP stream was at its last renewal, and when that was: a stream moved to
    /// another engine continues from there.
    public var rtpPosition: RTPPosition?
    public var positionReportedAt: Timestamp?
    /// The user whose request admitted it, and the key presented (nil: a configuration key).
    public var user: String?
    public var keyID: String?
    /// An upload's requested visibility, applied when the object is listed.
    public var visibility: ObjectAccess.Visibility?

    public init(
        id: UInt32, kind: Kind, object: String, engine: String, clientAddress: String, hops: [Hop],
        reservation: Reservation, admittedAt: Timestamp, leaseExpiry: Timestamp, bytesSent: Int64 = 0, isClaimed: Bool = false
    ) {
        self.id = id
        self.kind = kind
        self.object = object
        self.engine = engine
        self.clientAddress = clientAddress
        self.hops = hops
        self.reservation = reservation
        self.admittedAt = admittedAt
        self.leaseExpiry = leaseExpiry
        self.bytesSent = bytesSent
        self.isClaimed = isClaimed
    }

    public var bitsPerSecond: Int64 { kind == .ingest ? reservation.ingestBitsPerSecond : reservation.bitsPerSecond }
}
