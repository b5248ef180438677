// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "ecsvpcd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ecsvpcd", targets: ["ecsvpcd"]),
        .library(name: "ECSVPCCore", targets: ["ECSVPCCore"]),
        .library(name: "ECSVPCD", targets: ["ECSVPCD"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // The pure core: names, classification, health, findings, the restart decision. No I/O, no clocks.
        .target(name: "ECSVPCCore"),
        // libsystemd (sd-daemon, sd-journal, sd-bus), found by pkg-config.
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"]), .yum(["systemd-devel"])]
        ),
        // Adapters (instance metadata, DNS, TCP, agent, supervisor, systemd, state, control socket) and the daemon loop.
        .target(
            name: "ECSVPCD",
            dependencies: [
                "ECSVPCCore",
                "CSystemd",
                "CProcessMemory",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // The C heap in use (mallinfo2), for the daemon's footprint in its status.
        .target(name: "CProcessMemory"),
        // Pins glibc symbol versions so that a binary built on a newer glibc loads on glibc 2.34 (Amazon Linux 2023).
        .target(name: "CGlibcCompat"),
        .executableTarget(
            name: "ecsvpcd",
            dependencies: [
                "CGlibcCompat",
                "ECSVPCD",
                "ECSVPCCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "ECSVPCCoreTests", dependencies: ["ECSVPCCore"]),
        .testTarget(
            name: "ECSVPCDTests",
            dependencies: [
                "ECSVPCD",
                "ECSVPCCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)

// One list of strict settings for every target of ours.
for target in package.targets where [.executable, .test, .regular].contains(target.type) && !target.name.hasPrefix("C") {
    var settings = target.swiftSettings ?? []
    settings.append(.swiftLanguageMode(.v6))
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("NonisolatedNonsendingByDefault"))
    settings.append(.treatAllWarnings(as: .error))
    target.swiftSettings = settings
}
