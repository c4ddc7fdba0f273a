//! SQLCipher for the store, without OpenSSL.
//!
//! The build script compiles the SQLCipher amalgamation shipped by
//! `sqlcipher-src` into a static `libsqlcipher.a` and puts it on the link
//! search path, where `libsqlite3-sys`'s `sqlcipher` feature
//! (`-l sqlcipher`) finds it. SQLCipher's crypto provider — AES-256-CBC,
//! HMAC-SHA1/256/512, PBKDF2 and random bytes — is [`provider`], written
//! with the RustCrypto crates the rest of Anxin already uses (hardware AES
//! and SHA where the CPU has them). The file format is SQLCipher 4's, the
//! same bytes the OpenSSL provider writes and reads.
//!
//! Why: the vendored OpenSSL of `bundled-sqlcipher-vendored-openssl` was
//! most of the phone library's size, for these few primitives.
//! libtomcrypt (which `sqlcipher-src` also ships) was tried first: small,
//! but its portable C SHA-512 made every keyed open — 256,000 PBKDF2
//! rounds — about six times slower than OpenSSL's.

pub mod provider;

/// The name SQLCipher reports for this provider (`PRAGMA cipher_provider`).
pub const PROVIDER_NAME: &str = "rustcrypto";

/// Makes sure the provider is part of the link. SQLCipher (C, linked after
/// the Rust code) calls `anxin_sqlcipher_provider_setup`; a linker that
/// reads archives in order keeps that function only if something before
/// it refers to it. The store calls this when it opens a connection.
#[inline(never)]
pub fn link() -> usize {
    std::hint::black_box(provider::anxin_sqlcipher_provider_setup as *const () as usize)
}
