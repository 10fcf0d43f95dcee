import Foundation
import Hummingbird
import SluiceCore

enum JSONResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func problem(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) -> Response {
        make(ClusterMessages.Problem(error: code, message: message), status: status, headers: headers)
    }

    static func refusal(_ refusal: AdmissionRefusal, retryAfter: Duration) -> Response {
        let problem = ClusterMessages.Problem(
            error: refusal.code.rawValue, message: refusal.message, link: refusal.link, engine: refusal.engine,
            requestedBitsPerSecond: refusal.requestedBitsPerSecond, availableBitsPerSecond: refusal.availableBitsPerSecond)
        let answer = RefusalAnswer(refusal.code)
        guard answer.isRetryable else { return make(problem, status: answer.http) }
        let seconds = max(1, Int(retryAfter.seconds.rounded(.up)))
        return make(problem, status: answer.http, headers: [.retryAfter: "\(seconds)"])
    }

    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: SluiceRequestContext) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch let error as HTTPError {
            throw error
        } catch {
            // A bad chunk size, a body cut short: the client's framing, not the director's fault.
            throw HTTPError(.badRequest, message: "the request body could not be read (malformed framing or cut off): \(error)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw HTTPError(.badRequest, message: "body is not a valid \(T.self) document: \(error)")
        }
    }
}
