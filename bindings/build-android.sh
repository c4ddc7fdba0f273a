#!/usr/bin/env bash
# Builds the Android AAR of the Anxin SDK: the library for each Android ABI
# (cargo-ndk), the Kotlin bindings generated from it, packaged by Gradle.
#
# Needs a machine with the Android NDK (ANDROID_NDK_HOME) and SDK
# (ANDROID_HOME), Gradle 8, and `cargo install cargo-ndk`. The CI machine
# has none of these; it runs the same bindings on the JVM instead
# (kotlin/run-tests.sh).
#
#   bindings/build-android.sh            # → bindings/android/build/outputs/aar/anxin-release.aar
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
android="$here/android"
abis=(arm64-v8a armeabi-v7a x86_64)

: "${ANDROID_NDK_HOME:?set ANDROID_NDK_HOME to the NDK (r26 or newer)}"
command -v cargo-ndk >/dev/null || { echo "cargo install cargo-ndk" >&2; exit 1; }
rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android

cd "$repo"
# SQLCipher (core/sqlcipher) is compiled by the NDK's clang for each ABI.
args=()
for abi in "${abis[@]}"; do args+=(-t "$abi"); done
# 16 KB page alignment (Android 15+ devices with 16 KB pages refuse
# libraries aligned to 4 KB); NDK r28 does this by default, older NDKs need
# the flag.
export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-Wl,-z,max-page-size=16384"
cargo ndk "${args[@]}" --platform 26 -o "$android/src/main/jniLibs" build -p anxin-ffi --lib --profile mobile

# Bindings are generated from a host build of the same source (same metadata):
# the host library is .so on Linux, .dylib on macOS.
cargo build -p anxin-ffi --lib --bin uniffi-bindgen
case "$(uname -s)" in
  Darwin) host_lib="$target/debug/libanxin_ffi.dylib" ;;
  *) host_lib="$target/debug/libanxin_ffi.so" ;;
esac
rm -rf "$android/src/main/kotlin"
"$target/debug/uniffi-bindgen" generate --library "$host_lib" \
    --language kotlin --no-format --out-dir "$android/src/main/kotlin"

cd "$android"
# The Gradle wrapper is not checked in (no Gradle here to make it): the first
# run makes it, later runs use it.
[[ -x ./gradlew ]] || gradle --no-daemon wrapper --gradle-version 8.9
./gradlew --no-daemon assembleRelease publishToMavenLocal
ls -l build/outputs/aar/
