// swift-tools-version:6.0
import PackageDescription

// The container image builds only the shipped products, from a build context that holds
// Sources/ and release/ but not the tests, benchmarks or fuzzer (Dockerfile, .dockerignore).
let productsOnly = Context.environment["HEARSAY_PRODUCTS_ONLY"] == "1"

let package = Package(
    name: "Hearsay",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "hearsay", targets: ["hearsay"]),
        .library(name: "HearsayCore", targets: ["HearsayCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // libcrypto (HMAC-SHA256, AES-256-GCM) from Debian's libssl-dev, found through pkg-config.
        .systemLibrary(
            name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),
        // zlib from Debian's zlib1g-dev.
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        // glibc's pipe2 and posix_spawn_file_actions_addclosefrom_np, for event handlers.
        .systemLibrary(name: "CSpawn", path: "Sources/CSpawn"),
        // The protocol as a pure state machine: standard library only.
        // Optimized in debug builds too: the simulation tests run hundreds of engines for
        // thousands of virtual seconds, which takes minutes unoptimized and seconds with -O.
        .target(
            name: "HearsayCore", path: "Sources/HearsayCore",
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))],
            linkerSettings: [.linkedLibrary("m")]),
        .target(
            name: "HearsayWire", dependencies: ["HearsayCore", "COpenSSL", "CZlib"],
            path: "Sources/HearsayWire"),
        // The runtime: NIO sockets and timers, the HTTP API, persistence, logs, metrics.
        .target(
            name: "HearsayNode",
            dependencies: [
                "HearsayCore", "HearsayWire", "CZlib", "CSpawn",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/HearsayNode"),
        .executableTarget(
            name: "hearsay",
            dependencies: [
                "HearsayCore", "HearsayWire", "HearsayNode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/hearsay"),
    ] + (productsOnly ? [] : developmentTargets()),
    swiftLanguageModes: [.v6]
)

/// The benchmarks, the fuzzer and the tests.
func developmentTargets() -> [Target] {
    [
        .executableTarget(
            name: "CoreBenchmarks", dependencies: ["HearsayCore"], path: "Benchmarks/CoreBenchmarks"),
        .executableTarget(
            name: "NodeBenchmarks",
            dependencies: [
                "HearsayCore", "HearsayNode", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/NodeBenchmarks"),
        .target(
            name: "BenchmarkSupport", dependencies: ["HearsayCore", "HearsayNode", "HearsayWire"],
            path: "Benchmarks/BenchmarkSupport"),
        .executableTarget(
            name: "WatchBenchmarks",
            dependencies: ["BenchmarkSupport", "HearsayCore", "HearsayNode"],
            path: "Benchmarks/WatchBenchmarks"),
        .executableTarget(
            name: "DurabilityBenchmarks",
            dependencies: [
                "BenchmarkSupport", "HearsayCore", "HearsayWire", "HearsayNode",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/DurabilityBenchmarks"),
        .executableTarget(
            name: "WireBenchmarks", dependencies: ["HearsayWire", "COpenSSL"], path: "Benchmarks/WireBenchmarks"),
        // libFuzzer target for the frame decoder (`make fuzz`); built normally it replays inputs.
        .executableTarget(name: "FrameFuzzer", dependencies: ["HearsayCore", "HearsayWire"], path: "Fuzz/FrameFuzzer"),
        .testTarget(name: "HearsayCoreTests", dependencies: ["HearsayCore"]),
        .testTarget(name: "HearsayWireTests", dependencies: ["HearsayWire"]),
        // The fuzz corpus and every crash found, replayed through the fuzzer's own code.
        .testTarget(name: "FrameFuzzerTests", dependencies: ["FrameFuzzer"]),
        .testTarget(name: "HearsayNodeTests", dependencies: ["HearsayNode"]),
    ]
}
