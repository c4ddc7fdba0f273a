//! SQLCipher's crypto provider in Rust.
//!
//! SQLCipher is built with `SQLCIPHER_CRYPTO_CUSTOM=anxin_sqlcipher_provider_setup`:
//! when SQLite initialises, SQLCipher calls that function to fill in its
//! table of crypto functions. [`Provider`] mirrors that table
//! (`struct sqlcipher_provider` of the pinned `sqlcipher-src` release,
//! field for field: C reads it by position). Every function checks its
//! pointers and lengths and returns `SQLITE_ERROR` rather than panic — a
//! panic cannot unwind into C.

use std::ffi::{c_char, c_int, c_void};

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};

const SQLITE_OK: c_int = 0;
const SQLITE_ERROR: c_int = 1;

/// `SQLCIPHER_ENCRYPT` (`SQLCIPHER_DECRYPT` is 0).
const ENCRYPT: c_int = 1;
/// `SQLCIPHER_HMAC_SHA1`, `_SHA256`, `_SHA512`; the PBKDF2 codes are the
/// same numbers.
const SHA1: c_int = 0;
const SHA256: c_int = 1;
const SHA512: c_int = 2;

const KEY_SIZE: c_int = 32;
const BLOCK_SIZE: c_int = 16;

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// `struct sqlcipher_provider` (sqlcipher-src 420.0.0, SQLCipher 4.20.0).
#[repr(C)]
pub struct Provider {
    init: Option<unsafe extern "C" fn() -> c_int>,
    shutdown: Option<unsafe extern "C" fn()>,
    get_provider_name: Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    add_random: Option<unsafe extern "C" fn(*mut c_void, *const c_void, c_int) -> c_int>,
    random: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int>,
    hmac: Option<
        unsafe extern "C" fn(
            *mut c_void,
            c_int,
            *const u8,
            c_int,
            *const u8,
            c_int,
            *const u8,
            c_int,
            *mut u8,
        ) -> c_int,
    >,
    kdf: Option<
        unsafe extern "C" fn(
            *mut c_void,
            c_int,
            *const u8,
            c_int,
            *const u8,
            c_int,
            c_int,
            c_int,
            *mut u8,
        ) -> c_int,
    >,
    cipher: Option<
        unsafe extern "C" fn(
            *mut c_void,
            c_int,
            *const u8,
            c_int,
            *const u8,
            *const u8,
            c_int,
            *mut u8,
        ) -> c_int,
    >,
    get_cipher: Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    get_key_sz: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_iv_sz: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_block_sz: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_hmac_sz: Option<unsafe extern "C" fn(*mut c_void, c_int) -> c_int>,
    ctx_init: Option<unsafe extern "C" fn(*mut *mut c_void) -> c_int>,
    ctx_free: Option<unsafe extern "C" fn(*mut *mut c_void) -> c_int>,
    fips_status: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_provider_version: Option<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    next: *mut Provider,
}

/// Fills in SQLCipher's provider table (called by SQLCipher, once per
/// SQLite initialisation).
///
/// # Safety
/// `p` is null or points to a `struct sqlcipher_provider` SQLCipher owns.
#[no_mangle]
pub unsafe extern "C" fn anxin_sqlcipher_provider_setup(p: *mut Provider) -> c_int {
    // SAFETY: SQLCipher passes its own, writable provider struct.
    let Some(p) = (unsafe { p.as_mut() }) else {
        return SQLITE_ERROR;
    };
    p.init = None;
    p.shutdown = None;
    p.get_provider_name = Some(provider_name);
    p.add_random = Some(add_random);
    p.random = Some(random);
    p.hmac = Some(hmac);
    p.kdf = Some(kdf);
    p.cipher = Some(cipher);
    p.get_cipher = Some(cipher_name);
    p.get_key_sz = Some(key_size);
    p.get_iv_sz = Some(block_size);
    p.get_block_sz = Some(block_size);
    p.get_hmac_sz = Some(hmac_size);
    p.ctx_init = Some(ctx_nothing);
    p.ctx_free = Some(ctx_nothing);
    p.fips_status = Some(fips_status);
    p.get_provider_version = Some(provider_version);
    SQLITE_OK
}

/// A slice from a pointer and a C length: `None` for a null pointer with a
/// non-zero length or a negative length (never undefined behaviour).
///
/// # Safety
/// A non-null `ptr` points to `len` readable bytes.
unsafe fn bytes<'a>(ptr: *const u8, len: c_int) -> Option<&'a [u8]> {
    let len = usize::try_from(len).ok()?;
    if len == 0 {
        return Some(&[]);
    }
    if ptr.is_null() {
        return None;
    }
    // SAFETY: checked non-null; the caller vouches for the length.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

unsafe extern "C" fn provider_name(_ctx: *mut c_void) -> *const c_char {
    c"rustcrypto".as_ptr()
}

unsafe extern "C" fn provider_version(_ctx: *mut c_void) -> *const c_char {
    c"aes 0.8, cbc 0.1, hmac 0.12, sha1 0.10, sha2 0.10, pbkdf2 0.12, getrandom 0.2".as_ptr()
}

unsafe extern "C" fn cipher_name(_ctx: *mut c_void) -> *const c_char {
    c"aes-256-cbc".as_ptr()
}

/// The operating system's generator needs no seeding: SQLCipher's extra
/// entropy is accepted and not needed.
unsafe extern "C" fn add_random(
    _ctx: *mut c_void,
    _buffer: *const c_void,
    _length: c_int,
) -> c_int {
    SQLITE_OK
}

/// Salts and IVs, from the operating system's generator.
unsafe extern "C" fn random(_ctx: *mut c_void, buffer: *mut c_void, length: c_int) -> c_int {
    let Ok(len) = usize::try_from(length) else {
        return SQLITE_ERROR;
    };
    if len == 0 {
        return SQLITE_OK;
    }
    if buffer.is_null() {
        return SQLITE_ERROR;
    }
    // SAFETY: SQLCipher passes a writable buffer of `length` bytes.
    let out = unsafe { std::slice::from_raw_parts_mut(buffer.cast::<u8>(), len) };
    match getrandom::getrandom(out) {
        Ok(()) => SQLITE_OK,
        Err(_) => SQLITE_ERROR,
    }
}

fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: [&[u8]; 2], out: &mut [u8]) -> c_int {
    let Ok(mut m) = <M as Mac>::new_from_slice(key) else {
        return SQLITE_ERROR;
    };
    for part in parts {
        m.update(part);
    }
    let tag = m.finalize().into_bytes();
    if out.len() != tag.len() {
        return SQLITE_ERROR;
    }
    out.copy_from_slice(&tag);
    SQLITE_OK
}

#[allow(clippy::too_many_arguments)] // SQLCipher's signature
unsafe extern "C" fn hmac(
    _ctx: *mut c_void,
    algorithm: c_int,
    key: *const u8,
    key_sz: c_int,
    input: *const u8,
    in_sz: c_int,
    input2: *const u8,
    in2_sz: c_int,
    out: *mut u8,
) -> c_int {
    // SAFETY: SQLCipher passes buffers of the lengths it names; `in2` may
    // be null (no second part).
    let (Some(key), Some(first)) = (unsafe { bytes(key, key_sz) }, unsafe {
        bytes(input, in_sz)
    }) else {
        return SQLITE_ERROR;
    };
    if input.is_null() {
        return SQLITE_ERROR;
    }
    let second = if input2.is_null() {
        &[][..]
    } else {
        // SAFETY: as above.
        match unsafe { bytes(input2, in2_sz) } {
            Some(b) => b,
            None => return SQLITE_ERROR,
        }
    };
    let size = unsafe { hmac_size(std::ptr::null_mut(), algorithm) };
    if size == 0 || out.is_null() {
        return SQLITE_ERROR;
    }
    // SAFETY: `out` holds the algorithm's tag size (SQLCipher asked
    // `get_hmac_sz` for it).
    let out = unsafe { std::slice::from_raw_parts_mut(out, size as usize) };
    match algorithm {
        SHA1 => mac::<Hmac<sha1::Sha1>>(key, [first, second], out),
        SHA256 => mac::<Hmac<sha2::Sha256>>(key, [first, second], out),
        SHA512 => mac::<Hmac<sha2::Sha512>>(key, [first, second], out),
        _ => SQLITE_ERROR,
    }
}

#[allow(clippy::too_many_arguments)] // SQLCipher's signature
unsafe extern "C" fn kdf(
    _ctx: *mut c_void,
    algorithm: c_int,
    pass: *const u8,
    pass_sz: c_int,
    salt: *const u8,
    salt_sz: c_int,
    workfactor: c_int,
    key_sz: c_int,
    key: *mut u8,
) -> c_int {
    // SAFETY: SQLCipher passes buffers of the lengths it names.
    let (Some(pass), Some(salt)) = (unsafe { bytes(pass, pass_sz) }, unsafe {
        bytes(salt, salt_sz)
    }) else {
        return SQLITE_ERROR;
    };
    let (Ok(rounds), Ok(len)) = (u32::try_from(workfactor), usize::try_from(key_sz)) else {
        return SQLITE_ERROR;
    };
    if rounds == 0 || len == 0 || key.is_null() {
        return SQLITE_ERROR;
    }
    // SAFETY: `key` holds `key_sz` writable bytes.
    let out = unsafe { std::slice::from_raw_parts_mut(key, len) };
    let derived = match algorithm {
        SHA1 => pbkdf2::pbkdf2::<Hmac<sha1::Sha1>>(pass, salt, rounds, out),
        SHA256 => pbkdf2::pbkdf2::<Hmac<sha2::Sha256>>(pass, salt, rounds, out),
        SHA512 => pbkdf2::pbkdf2::<Hmac<sha2::Sha512>>(pass, salt, rounds, out),
        _ => return SQLITE_ERROR,
    };
    match derived {
        Ok(()) => SQLITE_OK,
        Err(_) => SQLITE_ERROR,
    }
}

/// AES-256-CBC over whole blocks, no padding (SQLCipher encrypts page
/// bodies whose length is a multiple of the block). `input` and `out` may
/// be the same buffer: the input is copied to `out` and transformed there.
#[allow(clippy::too_many_arguments)] // SQLCipher's signature
unsafe extern "C" fn cipher(
    _ctx: *mut c_void,
    mode: c_int,
    key: *const u8,
    key_sz: c_int,
    iv: *const u8,
    input: *const u8,
    in_sz: c_int,
    out: *mut u8,
) -> c_int {
    // SAFETY: SQLCipher passes a key of `key_sz` bytes and an IV of one
    // block.
    let (Some(key), Some(iv)) = (unsafe { bytes(key, key_sz) }, unsafe {
        bytes(iv, BLOCK_SIZE)
    }) else {
        return SQLITE_ERROR;
    };
    let Ok(len) = usize::try_from(in_sz) else {
        return SQLITE_ERROR;
    };
    if len % BLOCK_SIZE as usize != 0 || (len > 0 && (input.is_null() || out.is_null())) {
        return SQLITE_ERROR;
    }
    if len == 0 {
        return SQLITE_OK;
    }
    // SAFETY: both buffers hold `in_sz` bytes; `copy` allows overlap.
    let buf = unsafe {
        std::ptr::copy(input, out, len);
        std::slice::from_raw_parts_mut(out, len)
    };
    let done = if mode == ENCRYPT {
        match Aes256CbcEnc::new_from_slices(key, iv) {
            Ok(c) => c.encrypt_padded_mut::<NoPadding>(buf, len).is_ok(),
            Err(_) => false,
        }
    } else {
        match Aes256CbcDec::new_from_slices(key, iv) {
            Ok(c) => c.decrypt_padded_mut::<NoPadding>(buf).is_ok(),
            Err(_) => false,
        }
    };
    if done {
        SQLITE_OK
    } else {
        SQLITE_ERROR
    }
}

unsafe extern "C" fn key_size(_ctx: *mut c_void) -> c_int {
    KEY_SIZE
}

unsafe extern "C" fn block_size(_ctx: *mut c_void) -> c_int {
    BLOCK_SIZE
}

unsafe extern "C" fn hmac_size(_ctx: *mut c_void, algorithm: c_int) -> c_int {
    match algorithm {
        SHA1 => 20,
        SHA256 => 32,
        SHA512 => 64,
        _ => 0,
    }
}

/// The provider keeps no per-codec state.
unsafe extern "C" fn ctx_nothing(_ctx: *mut *mut c_void) -> c_int {
    SQLITE_OK
}

unsafe extern "C" fn fips_status(_ctx: *mut c_void) -> c_int {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> Provider {
        // SAFETY: all-zero is a valid `Provider` (null function pointers).
        let mut p: Provider = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { anxin_sqlcipher_provider_setup(&mut p) }, SQLITE_OK);
        p
    }

    /// RFC 4231 test case 2 (HMAC-SHA-512, key "Jefe"), split across the
    /// two input parts as SQLCipher passes page body and page number.
    #[test]
    fn hmac_sha512_matches_rfc_4231() {
        let p = provider();
        let mut out = [0u8; 64];
        let (a, b) = b"what do ya want for nothing?".split_at(10);
        let rc = unsafe {
            (p.hmac.unwrap())(
                std::ptr::null_mut(),
                SHA512,
                b"Jefe".as_ptr(),
                4,
                a.as_ptr(),
                a.len() as c_int,
                b.as_ptr(),
                b.len() as c_int,
                out.as_mut_ptr(),
            )
        };
        assert_eq!(rc, SQLITE_OK);
        assert_eq!(out[..8], [0x16, 0x4b, 0x7a, 0x7b, 0xfc, 0xf8, 0x19, 0xe2]);
        assert_eq!(out[56..], [0x63, 0x6e, 0x07, 0x0a, 0x38, 0xbc, 0xe7, 0x37]);
    }

    /// AES-256-CBC round trip in place, and the FIPS 197 / SP 800-38A
    /// CBC-AES256 first block.
    #[test]
    fn aes_256_cbc_matches_sp_800_38a_and_round_trips_in_place() {
        let p = provider();
        let key: Vec<u8> = (0..32)
            .map(|i| {
                [
                    0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae, 0xf0, 0x85,
                    0x7d, 0x77, 0x81, 0x1f, 0x35, 0x2c, 0x07, 0x3b, 0x61, 0x08, 0xd7, 0x2d, 0x98,
                    0x10, 0xa3, 0x09, 0x14, 0xdf, 0xf4,
                ][i]
            })
            .collect();
        let iv: Vec<u8> = (0u8..16).collect();
        let plain = [
            0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96, 0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93,
            0x17, 0x2a,
        ];
        let mut buf = plain;
        let run = |mode: c_int, buf: &mut [u8; 16]| unsafe {
            (p.cipher.unwrap())(
                std::ptr::null_mut(),
                mode,
                key.as_ptr(),
                32,
                iv.as_ptr(),
                buf.as_ptr(),
                16,
                buf.as_mut_ptr(),
            )
        };
        assert_eq!(run(ENCRYPT, &mut buf), SQLITE_OK);
        assert_eq!(
            buf,
            [
                0xf5, 0x8c, 0x4c, 0x04, 0xd6, 0xe5, 0xf1, 0xba, 0x77, 0x9e, 0xab, 0xfb, 0x5f, 0x7b,
                0xfb, 0xd6
            ]
        );
        assert_eq!(run(0, &mut buf), SQLITE_OK);
        assert_eq!(buf, plain);
    }

    /// Bad lengths and null pointers are errors, never a crash.
    #[test]
    fn bad_arguments_are_errors() {
        let p = provider();
        let mut out = [0u8; 16];
        let rc = unsafe {
            (p.cipher.unwrap())(
                std::ptr::null_mut(),
                ENCRYPT,
                std::ptr::null(),
                32,
                std::ptr::null(),
                out.as_ptr(),
                15,
                out.as_mut_ptr(),
            )
        };
        assert_eq!(rc, SQLITE_ERROR);
        let rc = unsafe {
            (p.kdf.unwrap())(
                std::ptr::null_mut(),
                7,
                b"x".as_ptr(),
                1,
                b"salt".as_ptr(),
                4,
                1,
                16,
                out.as_mut_ptr(),
            )
        };
        assert_eq!(rc, SQLITE_ERROR);
        let rc = unsafe { (p.random.unwrap())(std::ptr::null_mut(), std::ptr::null_mut(), 16) };
        assert_eq!(rc, SQLITE_ERROR);
    }
}
