//! Compiles SQLCipher into a static library named `sqlcipher`, the name
//! `libsqlite3-sys`'s `sqlcipher` feature links. Its crypto provider is
//! this crate's Rust code (`src/provider.rs`), named by
//! `SQLCIPHER_CRYPTO_CUSTOM`.

use std::env;

fn main() {
    let source_dir = sqlcipher_src::source_dir();
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    println!("cargo:rerun-if-changed=build.rs");
    // libsqlite3-sys would take a system SQLCipher that pkg-config finds
    // over the one built here; `.cargo/config.toml` sets
    // SQLCIPHER_NO_PKG_CONFIG so it never looks.

    cc::Build::new()
        .file(source_dir.join(sqlcipher_src::SOURCE_FILE))
        .include(source_dir)
        .warnings(false)
        // SQLCipher's codec, initialised and shut down with SQLite, with
        // the provider `anxin_sqlcipher_provider_setup` fills in.
        .define("SQLITE_HAS_CODEC", None)
        .define("SQLCIPHER_CRYPTO_CUSTOM", "anxin_sqlcipher_provider_setup")
        .define("SQLITE_EXTRA_INIT", "sqlcipher_extra_init")
        .define("SQLITE_EXTRA_SHUTDOWN", "sqlcipher_extra_shutdown")
        // Temporary tables and indices in memory: a locked-down phone's temp
        // directory is not a safe place for decrypted pages (Android's
        // SQLite uses 3, "always memory").
        .define(
            "SQLITE_TEMP_STORE",
            if target_os == "android" { "3" } else { "2" },
        )
        // rusqlite requires a thread-safe build; connections are not shared.
        .define("SQLITE_THREADSAFE", "1")
        .define("SQLITE_DEFAULT_FOREIGN_KEYS", "1")
        // Misuse of the C API (a null handle) returns SQLITE_MISUSE instead
        // of crashing the app.
        .define("SQLITE_ENABLE_API_ARMOR", None)
        .define("SQLITE_USE_URI", None)
        .define("SQLITE_OMIT_LOAD_EXTENSION", None)
        .define("HAVE_STDINT_H", "1")
        .define("HAVE_USLEEP", "1")
        .define("HAVE_ISNAN", None)
        .define("HAVE_LOCALTIME_R", None)
        // `-l sqlcipher` comes from libsqlite3-sys; this crate only says
        // where the archive is, so it is linked once, right after the Rust
        // code that calls it.
        .cargo_metadata(false)
        .compile("sqlcipher");
    let out_dir = env::var("OUT_DIR").unwrap_or_default();
    println!("cargo:rustc-link-search=native={out_dir}");
}
