// swift-tools-version:6.2
// (6.2: a package whose targets use unsafe flags can still be depended on by version)
import PackageDescription

// Hot loops are built optimised even in debug (`swift test`), so the tests run at near-release speed.
#if arch(x86_64)
// `haswell` (AVX2 + FMA) is the baseline of the x86 machines AutoMix is built for.
let kernelFlags: [String] = ["-Ounchecked", "-target-cpu", "haswell"]
// The AVX-512 GEMM kernel; only called after a CPU check (Sources/KernelsAVX512/README.md).
let avx512Flags: [String] = ["-Ounchecked", "-target-cpu", "skylake-avx512"]
// The same plus VNNI (`vpdpbusd`): the exact int8 kernel; only called after a CPU check (Sources/KernelsVNNI/README.md).
let vnniFlags: [String] = ["-Ounchecked", "-target-cpu", "cascadelake"]
#else
// Elsewhere (arm64) the same portable Swift, for the host CPU; the AVX-512 kernel is built but never called.
let kernelFlags: [String] = ["-Ounchecked"]
let avx512Flags: [String] = ["-Ounchecked"]
let vnniFlags: [String] = ["-Ounchecked"]
#endif

let package = Package(
    name: "AutoMix",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "automix", targets: ["automix"]),
        .library(name: "AutoMix", targets: ["AutoMix"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .target(name: "ONNXProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(name: "Kernels", dependencies: ["COpenBLAS"], exclude: ["README.md"], swiftSettings: [.unsafeFlags(kernelFlags)]),
        .target(name: "KernelsAVX512", dependencies: ["Kernels"], exclude: ["README.md"], swiftSettings: [.unsafeFlags(avx512Flags)]),
        .target(name: "KernelsVNNI", dependencies: ["Kernels"], exclude: ["README.md"], swiftSettings: [.unsafeFlags(vnniFlags)]),
        .target(
            name: "AutoMix",
            dependencies: [
                "ONNXProto", "Kernels", "KernelsAVX512", "KernelsVNNI", "COpenBLAS", "CTurboJPEG", "CPNG",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["README.md"]),
        .executableTarget(
            name: "automix",
            dependencies: ["AutoMix", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(
            name: "AutoMixTests",
            dependencies: ["AutoMix", "Kernels", "KernelsAVX512", "KernelsVNNI", "ONNXProto"],
            resources: [.copy("Fixtures")]),
    ]
)
