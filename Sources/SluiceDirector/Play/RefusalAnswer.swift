import HTTPTypes
import SluiceCore

/// How each refusal is said on each front door: the one table every door reads, so a refusal
/// means the same over HTTP, RTSP and whatever door comes next.
struct RefusalAnswer: Sendable, Equatable {
    var http: HTTPResponse.Status
    /// RTSP/1.0 status (RFC 2326 §7.1.1): 453 Not Enough Bandwidth for want of capacity.
    var rtsp: Int
    /// Whether the client may try again later (HTTP `Retry-After`).
    var isRetryable: Bool

    init(_ code: AdmissionRefusal.Code) {
        switch code {
        case .unknownObject:
            self.init(http: .notFound, rtsp: 404, isRetryable: false)
        case .objectExists:
            self.init(http: .conflict, rtsp: 503, isRetryable: false)
        case .pathFull, .engineFull, .queueFull, .waitExpired, .noRoute:
            self.init(http: .serviceUnavailable, rtsp: 453, isRetryable: true)
        case .quotaExceeded:
            // 429 Too Many Requests; RTSP has no such status: 453 Not Enough Bandwidth, with the
            // quota named in X-Sluice-Reason.
            self.init(http: .tooManyRequests, rtsp: 453, isRetryable: true)
        case .noReplica, .engineUnavailable, .storeUnavailable:
            self.init(http: .serviceUnavailable, rtsp: 503, isRetryable: true)
        }
    }

    private init(http: HTTPResponse.Status, rtsp: Int, isRetryable: Bool) {
        self.http = http
        self.rtsp = rtsp
        self.isRetryable = isRetryable
    }
}
