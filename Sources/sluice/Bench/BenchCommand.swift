import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Load generators for benchmarks (see Benchmarks/ and BENCHMARKS.md).",
        subcommands: [RTPBench.self, RTPListenBench.self, HTTPBench.self, ProfileBench.self])
}

/// The `q` quantile (0...1) of `values`; 0 when empty.
func quantile(_ values: [Double], _ q: Double) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
}
