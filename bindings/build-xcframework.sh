#!/usr/bin/env bash
# Builds the iOS XCFramework of the Anxin SDK and the Swift package around it:
# static libraries for devices and simulators, the Swift bindings generated
# from them, bundled by xcodebuild. Then `swift test` in bindings/swift runs
# the Swift twins of the Kotlin tests (on macOS, against a macOS slice).
#
# Needs macOS with Xcode 15 or newer. The CI machine has no Swift compiler: it
# generates the same Swift bindings and checks their API against Kotlin's
# (kotlin/run-tests.sh, check-api-parity.py).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
swift="$here/swift"
profile=mobile

command -v xcodebuild >/dev/null || { echo "needs Xcode (xcodebuild)" >&2; exit 1; }
rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin

cd "$repo"
for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin; do
    cargo build -p anxin-ffi --lib --profile "$profile" --target "$t"
done
mkdir -p "$target/ios-sim"
lipo -create "$target/aarch64-apple-ios-sim/$profile/libanxin_ffi.a" \
    "$target/x86_64-apple-ios/$profile/libanxin_ffi.a" -output "$target/ios-sim/libanxin_ffi.a"

# Bindings from the macOS build (same source, same metadata): its static
# archive, because the `mobile` profile strips the dylib's symbol table,
# where uniffi-bindgen finds the metadata.
gen="$target/anxin-swift"
rm -rf "$gen" && mkdir -p "$gen/include"
cargo run -p anxin-ffi --bin uniffi-bindgen -- generate \
    --library "$target/aarch64-apple-darwin/$profile/libanxin_ffi.a" \
    --language swift --no-format --out-dir "$gen"
cp "$gen/AnxinFFI.h" "$gen/include/"
cp "$gen/AnxinFFI.modulemap" "$gen/include/module.modulemap"

rm -rf "$swift/AnxinFFI.xcframework"
xcodebuild -create-xcframework \
    -library "$target/aarch64-apple-ios/$profile/libanxin_ffi.a" -headers "$gen/include" \
    -library "$target/ios-sim/libanxin_ffi.a" -headers "$gen/include" \
    -library "$target/aarch64-apple-darwin/$profile/libanxin_ffi.a" -headers "$gen/include" \
    -output "$swift/AnxinFFI.xcframework"
mkdir -p "$swift/Sources/Anxin"
cp "$gen/Anxin.swift" "$swift/Sources/Anxin/"
echo "built $swift/AnxinFFI.xcframework; run: (cd $swift && swift test)"

# A release: the XCFramework zipped, and a Package.swift that fetches it by
# URL and checksum (binaryTarget(url:checksum:)), for apps that add the
# package from a tag without building Rust. ANXIN_RELEASE_URL is where the
# zip will be published.
if [[ -n "${ANXIN_RELEASE_URL:-}" ]]; then
  release="$swift/release"
  rm -rf "$release" && mkdir -p "$release/Sources/Anxin"
  (cd "$swift" && zip -qry "$release/AnxinFFI.xcframework.zip" AnxinFFI.xcframework)
  checksum="$(swift package compute-checksum "$release/AnxinFFI.xcframework.zip")"
  cp "$swift/Sources/Anxin/"*.swift "$release/Sources/Anxin/"
  cat > "$release/Package.swift" <<SWIFT
// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "Anxin",
    platforms: [.iOS(.v15), .macOS(.v13)],
    products: [.library(name: "Anxin", targets: ["Anxin"])],
    targets: [
        .binaryTarget(name: "AnxinFFI", url: "$ANXIN_RELEASE_URL", checksum: "$checksum"),
        .target(name: "Anxin", dependencies: ["AnxinFFI"], path: "Sources/Anxin"),
    ]
)
SWIFT
  echo "release package in $release (upload AnxinFFI.xcframework.zip to $ANXIN_RELEASE_URL)"
fi
