import Foundation
import SluiceFuzzHarness
import Testing

/// Replays the fuzz targets' seed corpus and every input that once crashed a parser
/// (Fuzz/Regressions/TARGET/) through the same harness the fuzzers run: a regression traps.
@Suite(.timeLimit(.minutes(1))) struct FuzzCorpusTests {
    static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func inputs(_ target: String) throws -> [[UInt8]] {
        try ["Corpus", "Regressions"].flatMap { folder -> [[UInt8]] in
            let directory = fuzz.appendingPathComponent(folder).appendingPathComponent(target)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return try names.filter { !$0.hasPrefix(".") }.sorted().map { Array(try Data(contentsOf: directory.appendingPathComponent($0))) }
        }
    }

    @Test(arguments: ["rtsp", "range", "ts", "rtcp", "config", "auth"])
    func everySeedAndRegressionRunsClean(_ target: String) throws {
        let inputs = try Self.inputs(target)
        #expect(inputs.count >= 2, "the seed corpus of \(target) is missing")
        for input in inputs {
            switch target {
            case "rtsp": FuzzHarness.rtsp(input)
            case "range": FuzzHarness.range(input)
            case "ts": FuzzHarness.transportStream(input)
            case "rtcp": FuzzHarness.rtcp(input)
            case "auth": FuzzHarness.authentication(input)
            default: FuzzHarness.configuration(input)
            }
        }
    }
}
