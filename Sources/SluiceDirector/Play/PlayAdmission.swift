import NIOCore
import SluiceCore
import SluiceGrant

/// What a front door (HTTP, RTSP, and any to come) asks when a viewer wants to play: one
/// decision that authenticates nothing (the door did), checks entitlement, admits or queues,
/// finds the engine, applies the license and signs the grant.
public struct PlayRequest: Sendable {
    /// How the stream's I/O profile is chosen.
    public enum Profile: Sendable {
        /// From a license the viewer presented (or none: traditional), and the profile asked of it.
        case licensed(license: String?, requested: String?)
        /// Kept from the stream this one continues (an RTSP session moved off a failed engine).
        case kept(IOProfile?)
    }

    public var object: String
    public var clientAddress: String
    public var principal: Principal
    /// The viewer's own limit on waiting (`?maxWait=`); the policy's `maxWait` caps it.
    public var maxWait: Duration?
    public var profile: Profile
    /// Continue under this stream ID (and so the same RTP SSRC) when it is free.
    public var preferredStreamID: UInt32?
    /// Completes when the viewer goes away (its connection's `closeFuture`): if it is waiting
    /// in the queue then, it leaves at once.
    public var hangUp: EventLoopFuture<Void>?
    /// The front door that asked (`http`, `rtsp`): a metrics label.
    public var transport = "http"

    public init(
        object: String, clientAddress: String, principal: Principal, maxWait: Duration? = nil,
        profile: Profile = .licensed(license: nil, requested: nil), preferredStreamID: UInt32? = nil, hangUp: EventLoopFuture<Void>? = nil
    ) {
        self.hangUp = hangUp
        self.object = object
        self.clientAddress = clientAddress
        self.principal = principal
        self.maxWait = maxWait
        self.profile = profile
        self.preferredStreamID = preferredStreamID
    }
}

/// An admitted play: the live stream with its reserved path, the engine that sends it, and the
/// signed grant that engine accepts.
public struct PlayTicket: Sendable {
    public var stream: LiveStream
    public var engine: EngineRecord
    public var object: MediaObject
    /// The signed grant (`?grant=` on the engine, or in the RTP session request).
    public var grant: String
    /// The I/O profile the engine reads with (nil: traditional).
    public var profile: IOProfile?
    /// `X-Sluice-Profile`: the profile, or `traditional` and why a license gave none.
    public var profileHeader: String
}

/// The director as the front doors see it for play: a decision in, a ticket or a refusal out,
/// and the stream handed back when the door is done with it.
public protocol PlayAdmission: Sendable {
    func admitPlay(_ request: PlayRequest) async -> Result<PlayTicket, AdmissionRefusal>
    /// Ends a stream the door started (teardown, silent player, engine refused it).
    @discardableResult
    func end(streamID: UInt32, bytesSent: Int64?, reason: UsageRecord.EndReason, quality: ReceptionQuality?) async -> LiveStream?
}

extension PlayAdmission {
    /// Ends a stream with no reception report.
    @discardableResult
    public func end(streamID: UInt32, bytesSent: Int64?, reason: UsageRecord.EndReason) async -> LiveStream? {
        await end(streamID: streamID, bytesSent: bytesSent, reason: reason, quality: nil)
    }
}
