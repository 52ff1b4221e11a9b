// swift-tools-version:6.0
import PackageDescription

// A package of a user's that embeds the `HearsayCore` library product. It lives outside
// the Hearsay package, so only the product's `public` API is in reach: `make test` builds
// and runs it, and it stops compiling if that surface loses something a host needs.
let package = Package(
    name: "Embedding",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "Hearsay", path: "../..")],
    targets: [
        .testTarget(
            name: "EmbeddingTests", dependencies: [.product(name: "HearsayCore", package: "Hearsay")],
            path: "Tests/EmbeddingTests")
    ],
    swiftLanguageModes: [.v6]
)
