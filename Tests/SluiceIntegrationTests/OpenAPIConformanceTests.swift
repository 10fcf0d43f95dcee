import Foundation
import SluiceCore
import Testing
import Yams

extension IntegrationTests {
/// A running director answers every documented operation with a documented status, and
/// serves the document itself.
@Suite struct OpenAPIConformanceTests {
    @Test func everyOperationAnswersWithADocumentedStatus() async throws {
        let cluster = try Cluster(engineNames: ["engine-a"])
        defer { cluster.stop() }
        try await cluster.start()
        try cluster.put(try cluster.makeSample(name: "clip", seconds: 1, bitrate: 500_000), as: "clip")

        let served = try await cluster.request(.GET, "/openapi.yaml", headers: [])
        #expect(served.status == 200)
        let document = try #require(try Yams.load(yaml: String(decoding: served.body, as: UTF8.self)) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let examples = ["{object}": "clip", "{engine}": "engine-a", "{id}": "4242"]
        var checked = 0
        for (template, operations) in paths.sorted(by: { $0.key < $1.key }) {
            let path = examples.reduce(template) { $0.replacingOccurrences(of: $1.key, with: $1.value) }
            for (method, value) in operations {
                guard let operation = value as? [String: Any], let responses = operation["responses"] as? [String: Any] else { continue }
                let documented = Set(responses.keys.compactMap { Int($0) })
                // Twice: without credentials (401 where the operation is protected), and with
                // the right ones and an empty JSON body (a validation error or a real answer).
                let token = "Bearer " + cluster.engineToken
                let key = operation["tags"].flatMap { $0 as? [String] }?.contains("engine") == true ? token : "Bearer \(cluster.apiKey)"
                for headers in [[("Content-Type", "application/json")], [("Authorization", key), ("Content-Type", "application/json")]] {
                    // GETs only with credentials would stream media (/play redirects, fine) or
                    // wait; POSTs get `{}`, which no operation accepts as a change.
                    let reply = try await cluster.request(
                        .init(rawValue: method.uppercased()), path + (method == "get" && path.hasPrefix("/play") ? "?maxWait=0" : ""),
                        body: method == "get" || method == "delete" ? nil : Data("{}".utf8), headers: headers)
                    #expect(documented.contains(reply.status), "\(method.uppercased()) \(path) answered \(reply.status), documented \(documented.sorted())")
                    if reply.status >= 400 {
                        let problem = try? JSONDecoder().decode(ClusterMessages.Problem.self, from: reply.body)
                        #expect(problem != nil, "\(method.uppercased()) \(path): error body is not a Problem")
                        #expect(problem?.error != "not_found", "\(method.uppercased()) \(path): no such route")
                    }
                    checked += 1
                }
            }
        }
        #expect(checked >= 40)
    }
}
}
