import Foundation
import Hummingbird
import Logging
import SluiceCore

/// Turns every error into a `Problem` answer, the one error body of the director's and the
/// engines' APIs (`{"error": CODE, "message": TEXT}`), and logs server errors so a 500 always
/// leaves a trace.
public struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    /// "director" or "engine NAME", for the message of a 500.
    let server: String
    let logger: Logger

    public init(server: String, logger: Logger) {
        self.server = server
        self.logger = logger
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            if error.status.code >= 500 { logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"]) }
            return Self.problem(error.status, Self.code(error.status), error.body ?? error.status.reasonPhrase, headers: error.headers)
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return Self.problem(.internalServerError, "internal_error", "the \(server) failed to answer; its log says why")
        }
    }

    /// A Problem answer.
    public static func problem(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) -> Response {
        let body = (try? JSONEncoder().encode(ClusterMessages.Problem(error: code, message: message))) ?? Data()
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func code(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: "bad_request"
        case 401: "unauthorized"
        case 403: "forbidden"
        case 404: "not_found"
        case 405: "method_not_allowed"
        case 408: "request_timeout"
        case 409: "conflict"
        case 413: "too_large"
        case 415: "unsupported_media_type"
        case 500: "internal_error"
        case 503: "unavailable"
        default: "http_\(status.code)"
        }
    }
}
