/// JSON bodies exchanged between engines, clients and the director (`/v1/...`).
public enum ClusterMessages {
    public struct RegisterEngine: Codable, Sendable {
        public var name: String
        public var url: String
        public var capacity: EngineCapacity
        public var objects: [MediaObject]
        public init(name: String, url: String, capacity: EngineCapacity, objects: [MediaObject]) {
            self.name = name
            self.url = url
            self.capacity = capacity
            self.objects = objects
        }
    }

    public struct Renew: Codable, Sendable {
        public var bytesSent: Int64
        public init(bytesSent: Int64) { self.bytesSent = bytesSent }
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
        public init(bytesSent: Int64, reason: UsageRecord.EndReason) {
            self.bytesSent = bytesSent
            self.reason = reason
        }
    }

    public struct UploadRequest: Codable, Sendable {
        public var name: String
        public var sizeBytes: Int64
        public var sha256: String
        public init(name: String, sizeBytes: Int64, sha256: String) {
            self.name = name
            self.sizeBytes = sizeBytes
            self.sha256 = sha256
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
