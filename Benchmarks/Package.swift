// swift-tools-version:6.1
// Micro-benchmarks of Sluice's hot pure code, kept out of the main package so `swift test`
// does not build the benchmark harness. Run: cd Benchmarks && swift package benchmark
import Foundation
import PackageDescription

/// A path dependency's identity is its folder's name, whatever the checkout is called.
let sluice = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "SluiceBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "SluiceHotPaths",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SluiceKit", package: sluice),
            ],
            path: "Benchmarks/SluiceHotPaths",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
