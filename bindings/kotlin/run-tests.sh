#!/usr/bin/env bash
# Builds the library, generates the Kotlin and Swift bindings, checks that
# both expose the same API, compiles the Kotlin bindings and tests with
# -Werror, and runs the JUnit tests on the JVM against the real library.
#
# Needs: the Kotlin compiler (KOTLIN_HOME, default: the npm package cached
# by .ci/run), JNA and JUnit 5 jars (Debian: libjna-java junit5).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
out="${ANXIN_BINDINGS_OUT:-$target/anxin-bindings}"
kotlin_home="${KOTLIN_HOME:-$HOME/.cache/anxin/kotlin/package}"
java_dir=/usr/share/java

cd "$repo"
# The whole workspace, with the SDK's test-only fixture: the same command
# (and so the same feature set) as .ci/run's build, which makes this step a
# no-op there instead of a second build of the core for the library alone.
cargo build --workspace --features anxin-ffi/fixture --locked
lib="$target/debug/libanxin_ffi.so"
rm -rf "$out"
mkdir -p "$out"
"$target/debug/uniffi-bindgen" generate --library "$lib" --language kotlin --no-format --out-dir "$out/kotlin" >/dev/null
"$target/debug/uniffi-bindgen" generate --library "$lib" --language swift --no-format --out-dir "$out/swift" >/dev/null
python3 "$here/../check-api-parity.py" "$out/kotlin" "$out/swift" "$here/src/test/kotlin" "$here/../swift/Tests"
python3 "$here/../check-quick-starts.py"

# kotlinx-coroutines: the async calls are `suspend` functions (the
# compiler package ships the library).
cp="$java_dir/jna.jar:$java_dir/junit-platform-console-standalone.jar:$kotlin_home/lib/kotlin-test.jar:$kotlin_home/lib/kotlin-test-junit5.jar:$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar"
# Compiled classes are a function of the sources, the compiler and the
# classpath alone (the library is bound at run time), so a compile of the
# same inputs is reused from the cache outside the repository: kotlinc
# takes about a minute, most of this step.
classes_cache="${ANXIN_CACHE:-$HOME/.cache/anxin}/kotlin-classes"
inputs=$( (cd "$out/kotlin" && find . -name '*.kt' -print0 | sort -z | xargs -0 sha256sum)
    (cd "$here/src" && find . -name '*.kt' -print0 | sort -z | xargs -0 sha256sum)
    echo "$cp -Werror -jvm-target 17"; "$kotlin_home/bin/kotlinc" -version 2>&1)
key=$(printf '%s' "$inputs" | sha256sum | cut -c1-32)
if [[ -d $classes_cache/$key ]]; then
    echo "kotlin: sources unchanged since a compile that passed -Werror: reusing its classes ($key)"
    cp -r "$classes_cache/$key" "$out/classes"
else
    "$kotlin_home/bin/kotlinc" -Werror -jvm-target 17 -cp "$cp" -d "$out/classes" \
        "$out/kotlin" "$here/src/main/kotlin" "$here/src/test/kotlin"
    rm -rf "$classes_cache" && mkdir -p "$classes_cache"
    cp -r "$out/classes" "$classes_cache/$key"
fi

java -Djna.library.path="$(dirname "$lib")" \
    -jar "$java_dir/junit-platform-console-standalone.jar" \
    --class-path "$out/classes:$cp:$kotlin_home/lib/kotlin-stdlib.jar" \
    --scan-classpath --fail-if-no-tests --disable-banner --details=summary \
    | tee "$out/junit.txt"
grep -Eq '\[ +0 tests failed +\]' "$out/junit.txt" || { echo "Kotlin tests failed" >&2; exit 1; }
# JUnit skips a test whose function returns a value (`fun t() = runBlocking { … }`
# returning the last expression) without a word: every @Test must have run.
declared=$(cat "$here"/src/test/kotlin/org/anxin/sdk/*.kt | grep -c '@Test')
ran=$(grep -Eo '[0-9]+ tests successful' "$out/junit.txt" | grep -Eo '^[0-9]+')
[[ $declared -eq $ran ]] || { echo "Kotlin: $declared tests declared, $ran ran" >&2; exit 1; }
echo "kotlin: $(grep -Eo '[0-9]+ tests successful' "$out/junit.txt")"
