/// JSON bodies exchanged between engines, clients and the director (`/v1/...`).
public enum ClusterMessages {
    /// Part of the director's answer to a registration or heartbeat: the HTTP URLs of the
    /// directors the shared store lists as live (nil without a shared store), so an engine
    /// knows where else to report when this director dies.
    public struct DirectorList: Codable, Sendable {
        public var directors: [String]?
        public init(directors: [String]?) { self.directors = directors }
    }

    public struct RegisterEngine: Codable, Sendable {
        public var name: String
        public var url: String
        public var capacity: EngineCapacity
        public var objects: [MediaObject]
        /// Random per engine process: a new value tells the director the engine restarted.
        public var instance: String?
        public init(name: String, url: String, capacity: EngineCapacity, objects: [MediaObject], instance: String? = nil) {
            self.name = name
            self.url = url
            self.capacity = capacity
            self.objects = objects
            self.instance = instance
        }
    }

    public struct Renew: Codable, Sendable {
        public var bytesSent: Int64
        public var quality: ReceptionQuality?
        /// How long ago the player's last RTCP receiver report arrived (a sign of life).
        public var receiverReportAgeMilliseconds: Int64?
        /// RTP streams: where the stream is, so another engine can continue it.
        public var position: RTPPosition?
        public init(bytesSent: Int64, quality: ReceptionQuality? = nil, receiverReportAgeMilliseconds: Int64? = nil, position: RTPPosition? = nil) {
            self.bytesSent = bytesSent
            self.quality = quality
            self.receiverReportAgeMilliseconds = receiverReportAgeMilliseconds
            self.position = position
        }
    }

    /// Many streams' renewals in one request: an engine sends one a tick, not one per stream.
    public struct Renewals: Codable, Sendable {
        public struct Item: Codable, Sendable {
            public var streamID: UInt32
            public var renewal: Renew
            public init(streamID: UInt32, renewal: Renew) {
                self.streamID = streamID
                self.renewal = renewal
            }
        }
        public static let maxItems = 5000
        public var items: [Item]
        public init(items: [Item]) { self.items = items }
    }

    /// The streams of a `Renewals` that have no live lease any more: their engine stops them.
    public struct RenewalResults: Codable, Sendable {
        public var gone: [UInt32]
        public init(gone: [UInt32]) { self.gone = gone }
    }

    public struct Lease: Codable, Sendable {
        public var streamID: UInt32
        public var leaseExpiry: Timestamp
        public init(streamID: UInt32, leaseExpiry: Timestamp) {
            self.streamID = streamID
            self.leaseExpiry = leaseExpiry
        }
    }

    public struct End: Codable, Sendable {
        public var bytesSent: Int64
        public var reason: UsageRecord.EndReason
        public var quality: ReceptionQuality?
        public init(bytesSent: Int64, reason: UsageRecord.EndReason, quality: ReceptionQuality? = nil) {
            self.bytesSent = bytesSent
            self.reason = reason
            self.quality = quality
        }
    }

    /// Director -> engine: open an RTP session for an admitted stream.
    public struct RTPSessionRequest: Codable, Sendable {
        public var grant: String
        public var object: String
        public var clientHost: String
        public var clientRTPPort: UInt16
        public var clientRTCPPort: UInt16
        /// A stream moved from a failed engine continues its numbering from here.
        public var continueAt: RTPPosition?
        public init(grant: String, object: String, clientHost: String, clientRTPPort: UInt16, clientRTCPPort: UInt16, continueAt: RTPPosition? = nil) {
            self.grant = grant
            self.object = object
            self.clientHost = clientHost
            self.clientRTPPort = clientRTPPort
            self.clientRTCPPort = clientRTCPPort
            self.continueAt = continueAt
        }
    }

    public struct RTPSessionCreated: Codable, Sendable {
        public var serverRTPPort: Int
        public var serverRTCPPort: Int
        public var ssrc: UInt32
        public var sequence: UInt16
        public var rtpTime: UInt32
        public var sourceHost: String
        public init(serverRTPPort: Int, serverRTCPPort: Int, ssrc: UInt32, sequence: UInt16, rtpTime: UInt32, sourceHost: String) {
            self.serverRTPPort = serverRTPPort
            self.serverRTCPPort = serverRTCPPort
            self.ssrc = ssrc
            self.sequence = sequence
            self.rtpTime = rtpTime
            self.sourceHost = sourceHost
        }
    }

    public struct RTPPlay: Codable, Sendable {
        /// Start position in milliseconds; nil resumes where the stream paused.
        public var startMilliseconds: Int64?
        /// The player counts from the stream's first PTS, not from zero (libavformat does).
        public var countsFromFirstPTS: Bool
        public init(startMilliseconds: Int64?, countsFromFirstPTS: Bool = false) {
            self.startMilliseconds = startMilliseconds
            self.countsFromFirstPTS = countsFromFirstPTS
        }
    }

    public struct RTPPlaying: Codable, Sendable {
        public var sequence: UInt16
        public var rtpTime: UInt32
        public var startMilliseconds: Int64
        public init(sequence: UInt16, rtpTime: UInt32, startMilliseconds: Int64) {
            self.sequence = sequence
            self.rtpTime = rtpTime
            self.startMilliseconds = startMilliseconds
        }
    }

    public struct RTPStopped: Codable, Sendable {
        public var bytesSent: Int64
        public var packetsSent: Int64
        public var quality: ReceptionQuality?
        public init(bytesSent: Int64, packetsSent: Int64, quality: ReceptionQuality?) {
            self.bytesSent = bytesSent
            self.packetsSent = packetsSent
            self.quality = quality
        }
    }

    public struct UploadRequest: Codable, Sendable {
        public var name: String
        public var sizeBytes: Int64
        public var sha256: String
        /// Who may play it once listed; by default private to a user who uploads, public for an operator.
        public var visibility: ObjectAccess.Visibility?
        public init(name: String, sizeBytes: Int64, sha256: String, visibility: ObjectAccess.Visibility? = nil) {
            self.name = name
            self.sizeBytes = sizeBytes
            self.sha256 = sha256
            self.visibility = visibility
        }
    }

    /// One row of an engine's table of authenticated streams and the I/O profile each reads
    /// with (`GET /v1/profiles` on an engine).
    public struct StreamProfile: Codable, Sendable, Hashable {
        public var streamID: UInt32
        public var object: String
        /// http or rtp.
        public var transport: String
        /// The profile its reader uses: the licensed one, or traditional.
        public var profile: IOProfile
        public var licensed: Bool
        public var since: Timestamp
        public init(streamID: UInt32, object: String, transport: String, profile: IOProfile?, since: Timestamp) {
            self.streamID = streamID
            self.object = object
            self.transport = transport
            self.profile = profile ?? .traditional
            self.licensed = profile != nil
            self.since = since
        }
    }

    /// The director revoked these streams (a key, user or grant): the engine stops them now.
    public struct StopStreams: Codable, Sendable {
        public var ids: [UInt32]
        public static let maxItems = 10_000
        public init(ids: [UInt32]) { self.ids = ids }
    }

    /// The engine's answer to `StopStreams`: how many were sending, and the bytes each had sent
    /// (by stream ID in decimal), so the usage record counts what the viewer got.
    public struct StreamsStopped: Codable, Sendable {
        public var stopped: Int
        public var bytesSent: [String: Int64]?
        public init(stopped: Int, bytesSent: [String: Int64]) {
            self.stopped = stopped
            self.bytesSent = bytesSent
        }
    }

    /// `PUT /v1/objects/{object}/access`: who may play an object.
    public struct AccessChange: Codable, Sendable {
        public var visibility: ObjectAccess.Visibility
        public var users: [String]?
        public var groups: [String]?
        public init(visibility: ObjectAccess.Visibility, users: [String]? = nil, groups: [String]? = nil) {
            self.visibility = visibility
            self.users = users
            self.groups = groups
        }
    }

    public struct UploadTicket: Codable, Sendable {
        public var streamID: UInt32
        public var engine: String
        /// Where to `PUT` the bytes (the grant is in the query).
        public var uploadURL: String
        public init(streamID: UInt32, engine: String, uploadURL: String) {
            self.streamID = streamID
            self.engine = engine
            self.uploadURL = uploadURL
        }
    }

    public struct UploadCompleted: Codable, Sendable {
        public var streamID: UInt32
        public var engine: String
        public var object: MediaObject
        public init(streamID: UInt32, engine: String, object: MediaObject) {
            self.streamID = streamID
            self.engine = engine
            self.object = object
        }
    }

    /// Director -> target engine: fetch `object` from `sourceURL` (a grant-bearing play URL on
    /// the holder, paced at the copy rate), verify size and SHA-256, store it, report.
    public struct CopyOrder: Codable, Sendable {
        public var streamID: UInt32
        public var object: MediaObject
        public var sourceURL: String
        /// The director that ordered the copy (it holds the job), when it is not necessarily
        /// the one the engine registered with (several directors share a store).
        public var reportTo: String?
        public init(streamID: UInt32, object: MediaObject, sourceURL: String, reportTo: String? = nil) {
            self.streamID = streamID
            self.object = object
            self.sourceURL = sourceURL
            self.reportTo = reportTo
        }
    }

    /// Target engine -> director: the copy could not be made.
    public struct CopyFailed: Codable, Sendable {
        public var streamID: UInt32
        public var engine: String
        public var reason: String
        public init(streamID: UInt32, engine: String, reason: String) {
            self.streamID = streamID
            self.engine = engine
            self.reason = reason
        }
    }

    /// Engine -> director: a stored replica failed re-verification and was quarantined.
    public struct ReplicaCorrupt: Codable, Sendable {
        public var reason: String
        public init(reason: String) { self.reason = reason }
    }

    /// Operator -> director: copy an object to an engine (`sluice replicate`).
    public struct ReplicateRequest: Codable, Sendable {
        public var to: String
        public var from: String?
        public init(to: String, from: String? = nil) {
            self.to = to
            self.from = from
        }
    }

    /// `GET /v1/objects/{name}`: replicas with their kind and load, and the object's demand.
    public struct ObjectStatus: Codable, Sendable {
        public struct Replica: Codable, Sendable {
            /// static, dynamic, or copying (not listed until verified).
            public var state: String
            public var engine: String
            public var engineUp: Bool
            public var draining: Bool
            public var streams: Int
            public var load: Double
            public init(state: String, engine: String, engineUp: Bool, draining: Bool, streams: Int, load: Double) {
                self.state = state
                self.engine = engine
                self.engineUp = engineUp
                self.draining = draining
                self.streams = streams
                self.load = load
            }
        }
        public var object: MediaObject
        public var replicas: [Replica]
        public var demand: DemandCounts
        public var demandWindowSeconds: Double
        /// Who may play it.
        public var access: ObjectAccess?
        /// Why the object, in demand, gets no copy (as of the director's latest plan).
        public var copyBlocked: String?
        public init(object: MediaObject, replicas: [Replica], demand: DemandCounts, demandWindowSeconds: Double, access: ObjectAccess? = nil) {
            self.access = access
            self.object = object
            self.replicas = replicas
            self.demand = demand
            self.demandWindowSeconds = demandWindowSeconds
        }
    }

    /// The body of every error answer: a stable code and a sentence for people.
    public struct Problem: Codable, Sendable {
        public var error: String
        public var message: String
        public var link: String?
        public var engine: String?
        public var requestedBitsPerSecond: Int64?
        public var availableBitsPerSecond: Int64?
        public init(error: String, message: String, link: String? = nil, engine: String? = nil, requestedBitsPerSecond: Int64? = nil, availableBitsPerSecond: Int64? = nil) {
            self.error = error
            self.message = message
            self.link = link
            self.engine = engine
            self.requestedBitsPerSecond = requestedBitsPerSecond
            self.availableBitsPerSecond = availableBitsPerSecond
        }
    }
}
