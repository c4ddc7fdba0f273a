// swift-tools-version:5.9
// The Anxin SDK for iOS. Build the XCFramework first (../build-xcframework.sh,
// on a Mac with Xcode); `swift test` then runs the tests in Tests/AnxinTests
// against it. The generated Anxin.swift is copied into Sources/Anxin by the script.
import PackageDescription

let package = Package(
    name: "Anxin",
    platforms: [.iOS(.v15), .macOS(.v13)],
    products: [.library(name: "Anxin", targets: ["Anxin"])],
    targets: [
        .binaryTarget(name: "AnxinFFI", path: "AnxinFFI.xcframework"),
        .target(name: "Anxin", dependencies: ["AnxinFFI"], path: "Sources/Anxin"),
        .testTarget(name: "AnxinTests", dependencies: ["Anxin"], path: "Tests/AnxinTests"),
    ]
)
