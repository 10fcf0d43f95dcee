// swift-tools-version:6.1
// libFuzzer targets for the parsers that read untrusted bytes: RTSP requests and headers,
// HTTP Range, MPEG-TS, RTCP, the YAML configuration, credentials (Digest, licenses, grants, tokens). Kept out of the main package: they link
// against libFuzzer's main and build only with --sanitize=fuzzer. Run: Fuzz/run.sh SECONDS
import Foundation
import PackageDescription

/// A path dependency's identity is its folder's name, whatever the checkout is called.
let sluice = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

let targets: [(product: String, module: String)] = [
    ("fuzz-rtsp", "FuzzRTSP"), ("fuzz-range", "FuzzRange"), ("fuzz-ts", "FuzzTransportStream"),
    ("fuzz-rtcp", "FuzzRTCP"), ("fuzz-config", "FuzzConfig"), ("fuzz-auth", "FuzzAuth"),
]

let package = Package(
    name: "SluiceFuzz",
    platforms: [.macOS(.v14)],
    products: targets.map { .executable(name: $0.product, targets: [$0.module]) },
    dependencies: [.package(path: "..")],
    targets: targets.map {
        .executableTarget(name: $0.module, dependencies: [.product(name: "SluiceParsers", package: sluice)])
    }
)
