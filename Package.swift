// swift-tools-version:6.0
// Stepwise: a Jupyter kernel for distilling step-by-step. One target per layer (see DESIGN.md);
// a lower layer never imports a higher one.
import PackageDescription

// The engine's SIMD kernels need a real target CPU: without it `addingProduct` becomes a libm
// call per lane. -Ounchecked only in release, where the numerics tests and benchmarks run.
let engineFlags: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "native"]),
    .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
]
let v5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "Stepwise",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "stepwise", targets: ["stepwise"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // C shims over system libraries (Debian: libzmq3-dev, libssl-dev, libopenblas-dev).
        .systemLibrary(name: "CZeroMQ", path: "Sources/CZeroMQ", pkgConfig: "libzmq",
                       providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),

        // The layers, bottom to top.
        .target(name: "Tensor", dependencies: ["CBLAS"], swiftSettings: v5 + engineFlags),
        .target(name: "NN", dependencies: ["Tensor"], swiftSettings: v5 + engineFlags),
        .target(name: "Models", dependencies: ["NN", "Tensor"], swiftSettings: v5 + engineFlags),
        .target(name: "Distill", dependencies: ["Models", "NN", "Tensor",
                                                .product(name: "GRDB", package: "GRDB.swift")], swiftSettings: v5 + engineFlags),
        .target(name: "Lang", dependencies: ["Distill", "Models", "NN", "Tensor"], swiftSettings: v5),
        .target(name: "Jupyter", dependencies: ["Lang", "CZeroMQ", "COpenSSL"], swiftSettings: v5),
        .executableTarget(
            name: "stepwise",
            dependencies: ["Jupyter", "Lang", "Distill", "NN", "Tensor",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: v5),

        .testTarget(name: "TensorTests", dependencies: ["Tensor"],
                    resources: [.copy("Fixtures")], swiftSettings: v5 + engineFlags),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensor"],
                    resources: [.copy("Fixtures")], swiftSettings: v5 + engineFlags),
        // Helpers the test targets share (not a product; only tests depend on it).
        .target(name: "TestSupport", dependencies: ["Models"], path: "Tests/TestSupport", swiftSettings: v5),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "NN", "Tensor", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: v5 + engineFlags),
        .testTarget(name: "DistillTests", dependencies: ["Distill", "TestSupport"], swiftSettings: v5),
        .testTarget(name: "LangTests", dependencies: ["Lang", "Distill", "Tensor"], swiftSettings: v5),
        .testTarget(name: "JupyterTests", dependencies: ["Jupyter", "Lang"], swiftSettings: v5),
    ]
)
