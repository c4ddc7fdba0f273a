//! Arbitrary bytes as a bundle file: refused or merged, never a panic.
#![no_main]

use std::sync::Mutex;

use anxin_core::fixture::{generate, FixtureSpec};
use anxin_core::store::{Store, StoreOptions};
use anxin_core::sync::bundle;
use libfuzzer_sys::fuzz_target;

static STORE: Mutex<Option<Store>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let mut guard = STORE.lock().unwrap();
    let store = guard.get_or_insert_with(|| {
        let mut s = Store::open(":memory:", StoreOptions::default()).unwrap();
        generate(&mut s, FixtureSpec { households: 3, seed: 1 }, |_, _| {}).unwrap();
        s
    });
    let _ = bundle::import(store, data);
});
