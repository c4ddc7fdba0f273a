//! `uniffi-bindgen`: generates the Kotlin and Swift bindings from the built
//! library (`cargo run -p anxin-ffi --bin uniffi-bindgen -- generate …`).
//!
//! One change is made to uniffi's Kotlin output: calling a method of an SDK
//! object after its own `close()` throws `AnxinException.Closed`, like every
//! other use of a closed store, instead of uniffi's `IllegalStateException`.
//! uniffi's Kotlin template refuses such a call before it reaches Rust, so
//! the only place to word it is the generated file. Every script that
//! generates bindings (tests, the AAR, the XCFramework) goes through this
//! binary, so they all get the same code; if a uniffi upgrade changes the
//! line, generation fails here instead of shipping the old behaviour.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The line uniffi's Kotlin object template throws on a destroyed object.
const DESTROYED: &str = r#"throw IllegalStateException("${this.javaClass.simpleName} object has already been destroyed")"#;
/// What the SDK throws instead: the same typed error as any closed store.
const CLOSED: &str = r#"throw AnxinException.Closed("${this.javaClass.simpleName} is closed: it cannot be used after close()")"#;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    uniffi::uniffi_bindgen_main();
    match kotlin_out_dir(&args) {
        Some(dir) => match word_use_after_close(&dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(why) => {
                eprintln!("uniffi-bindgen: {why}");
                ExitCode::FAILURE
            }
        },
        None => ExitCode::SUCCESS,
    }
}

/// The output directory of a `generate --language kotlin` run.
fn kotlin_out_dir(args: &[String]) -> Option<PathBuf> {
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    let generates_kotlin =
        args.iter().any(|a| a == "generate") && value("--language").is_some_and(|l| l == "kotlin");
    generates_kotlin
        .then(|| value("--out-dir").map(PathBuf::from))
        .flatten()
}

fn word_use_after_close(dir: &Path) -> Result<(), String> {
    let file = dir.join("org/anxin/sdk/anxin_ffi.kt");
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if !text.contains(DESTROYED) {
        return Err(format!(
            "{} no longer throws IllegalStateException for a destroyed object as uniffi 0.32 did: \
             update the use-after-close wording in bindings/src/bin/uniffi-bindgen.rs",
            file.display()
        ));
    }
    std::fs::write(&file, text.replace(DESTROYED, CLOSED))
        .map_err(|e| format!("cannot write {}: {e}", file.display()))
}
