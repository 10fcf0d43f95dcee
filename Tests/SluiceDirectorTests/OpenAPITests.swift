import Foundation
import Logging
import SluiceCore
@testable import SluiceDirector
import SluiceGrant
import SluiceStore
import Testing

/// The OpenAPI document lists exactly the operations the director registers.
@Suite(.timeLimit(.minutes(1))) struct OpenAPITests {
    /// `METHOD /path` of every operation in the document (paths at two spaces, methods at four).
    static func documentedOperations() -> Set<String> {
        var operations: Set<String> = []
        var path: String?
        var inPaths = false
        for line in OpenAPIDocument.yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") { inPaths = line == "paths:"; continue }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     "),
                      let method = ["get", "post", "put", "delete", "head", "patch"].first(where: { line == "    \($0):" }) {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        return operations
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedOperationIsARoute() async throws {
        let directory = NSTemporaryDirectory() + "sluice-openapi-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let topology = try Topology(nodes: [Node(name: "e", kind: .engine), Node(name: "x", kind: .edge)], links: [])
        let controller = AdmissionController(topology: topology, clientNetworks: ClientNetworks(entries: [], defaultEdge: "x"), policy: AdmissionPolicy())
        let store = try await SQLiteStore.open(directory: directory, logger: Logger(label: "test"))
        let director = Director(controller: controller, store: store, clock: SystemClock(), logger: Logger(label: "test"))
        let routes = DirectorRoutes(director: director, engineToken: "t")
        let registered = Set(routes.routes.map { "\($0.method.rawValue) \($0.path)" })
        let documented = Self.documentedOperations()
        #expect(documented.count >= 20)
        #expect(registered.subtracting(documented).isEmpty, "routes missing from the document: \(registered.subtracting(documented).sorted())")
        #expect(documented.subtracting(registered).isEmpty, "documented operations with no route: \(documented.subtracting(registered).sorted())")
        await director.shutdown()
    }
}
