//! Arbitrary bytes as a sync frame, fed to a responder and an initiator
//! session over a small store: never a panic, bounded memory.
#![no_main]

use std::sync::Mutex;

use anxin_core::fixture::{generate, FixtureSpec};
use anxin_core::store::{Store, StoreOptions};
use anxin_core::sync::{SyncConfig, SyncSession};
use libfuzzer_sys::fuzz_target;

static STORE: Mutex<Option<Store>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let mut guard = STORE.lock().unwrap();
    let store = guard.get_or_insert_with(|| {
        let mut s = Store::open(":memory:", StoreOptions::default()).unwrap();
        generate(&mut s, FixtureSpec { households: 3, seed: 1 }, |_, _| {}).unwrap();
        s
    });
    let config = SyncConfig {
        max_frame_bytes: 64 * 1024,
        ..SyncConfig::default()
    };
    let mut responder = SyncSession::respond(config.clone());
    let _ = responder.receive(store, data);
    let mut initiator = SyncSession::initiate(config);
    if initiator.start(store).is_ok() {
        let _ = initiator.receive(store, data);
    }
});
