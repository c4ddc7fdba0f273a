//! The sync benchmark: this protocol against the naive baseline — plain
//! per-document automerge sync, one sync state per document, every document
//! handshaked — measured on the same data in the same run. Figures, not a
//! pass/fail test; `anxin bench sync` prints them.

// The naive baseline decodes the messages it just encoded itself.
#![allow(clippy::unwrap_used)]

use automerge::sync::{State, SyncDoc};
use automerge::AutoCommit;
use serde::Serialize;

use super::link::{run, LinkConfig};
use super::SyncConfig;
use crate::doc::Author;
use crate::fixture::{generate, FixtureSpec};
use crate::model::*;
use crate::store::{NewVisit, Store, StoreError, StoreOptions};

/// The figures.
#[derive(Debug, Clone, Serialize)]
pub struct SyncBench {
    /// Households in the fixture.
    pub households: u32,
    /// Documents held by the station.
    pub docs: u64,
    /// Bytes of an exchange between two identical stores.
    pub unchanged_bytes: u64,
    /// Its round trips.
    pub unchanged_round_trips: u32,
    /// Bytes of an unchanged exchange of one grid's scope only.
    pub unchanged_grid_bytes: u64,
    /// Its round trips.
    pub unchanged_grid_round_trips: u32,
    /// The naive baseline's bytes for that grid alone.
    pub naive_unchanged_grid_bytes: u64,
    /// The naive baseline's bytes for the unchanged exchange.
    pub naive_unchanged_bytes: u64,
    /// Bytes for a new device's first full sync.
    pub first_sync_bytes: u64,
    /// Sum of the compressed snapshots of every document.
    pub snapshot_bytes: u64,
    /// The naive baseline's bytes for the first sync.
    pub naive_first_sync_bytes: u64,
    /// Documents changed for the incremental exchange.
    pub changed_docs: u64,
    /// Bytes of the incremental exchange (protocol 5: the phone greets
    /// with a `Resume`, the turns are compressed with the dictionary).
    pub incremental_bytes: u64,
    /// Raw JSON of what the changes recorded, as the caller gave it (the
    /// visits' fields, without the ids the store assigns).
    pub changed_json_bytes: u64,
    /// Raw JSON of the records as stored (with their ids and the worker
    /// who recorded them, which a sync has to carry too).
    pub changed_record_json_bytes: u64,
    /// Round trips of the incremental exchange.
    pub incremental_round_trips: u32,
    /// Bytes of the same phone's session with the station just before the
    /// changes, when neither had anything to send: what any session costs
    /// (the Noise handshake, the Hello and Welcome, the push digest and
    /// Done).
    pub idle_session_bytes: u64,
    /// `incremental_bytes` less `idle_session_bytes`: what the changes
    /// themselves cost (their automerge changes, their authors'
    /// signatures, the station's signed audit head that their writes
    /// moved on).
    pub incremental_change_bytes: u64,
    /// The naive baseline's bytes for the incremental exchange.
    pub naive_incremental_bytes: u64,
    /// The same incremental exchange with protocol version 4 (the push of
    /// what changed since the last session, after a full Hello, compressed
    /// without a dictionary), measured in the same run.
    pub v4_incremental_bytes: u64,
    /// Its round trips.
    pub v4_incremental_round_trips: u32,
    /// The same incremental exchange with protocol version 3 (range-based
    /// reconciliation of every changed scope, no memory of the last
    /// session), measured in the same run.
    pub v3_incremental_bytes: u64,
    /// Its round trips.
    pub v3_incremental_round_trips: u32,
    /// The same incremental exchange with protocol version 2 (an
    /// inventory of every changed scope), measured in the same run.
    pub v2_incremental_bytes: u64,
    /// Its round trips.
    pub v2_incremental_round_trips: u32,
    /// Simulated seconds of a full first sync over Bluetooth LE.
    pub ble_seconds: f64,
    /// `snapshot_bytes` divided by the link's bandwidth.
    pub ble_limit_seconds: f64,
    /// Peak resident memory of the process.
    pub peak_rss_bytes: u64,
}

fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn all_ids(store: &Store) -> Result<Vec<String>, StoreError> {
    let mut ids = Vec::new();
    for kind in DocKind::ALL {
        ids.extend(store.doc_ids(*kind)?);
    }
    Ok(ids)
}

/// Plain per-document automerge sync of every document of `a` with `b`'s
/// copy (empty where `b` lacks it): the bytes both sides send.
fn naive(a: &Store, b: &Store) -> Result<u64, StoreError> {
    naive_of(a, b, all_ids(a)?)
}

fn naive_of(a: &Store, b: &Store, ids: Vec<String>) -> Result<u64, StoreError> {
    let mut bytes = 0u64;
    for id in ids {
        let mut x = AutoCommit::load(&a.replica().document_bytes(&id)?.2).map_err(|_| {
            StoreError::NotFound {
                kind: "document",
                id: id.clone(),
            }
        })?;
        let mut y = match b.replica().document_bytes(&id) {
            Ok((_, _, bytes)) => AutoCommit::load(&bytes).unwrap_or_default(),
            Err(_) => AutoCommit::new(),
        };
        let (mut sx, mut sy) = (State::new(), State::new());
        for _ in 0..20 {
            let mut quiet = true;
            if let Some(m) = x.sync().generate_sync_message(&mut sx) {
                let e = m.encode();
                bytes += e.len() as u64;
                y.sync()
                    .receive_sync_message(&mut sy, automerge::sync::Message::decode(&e).unwrap())
                    .ok();
                quiet = false;
            }
            if let Some(m) = y.sync().generate_sync_message(&mut sy) {
                let e = m.encode();
                bytes += e.len() as u64;
                x.sync()
                    .receive_sync_message(&mut sx, automerge::sync::Message::decode(&e).unwrap())
                    .ok();
                quiet = false;
            }
            if quiet {
                break;
            }
        }
    }
    Ok(bytes)
}

fn open(dir: &std::path::Path, name: &str) -> Result<Store, StoreError> {
    Store::open(dir.join(name), StoreOptions::default())
}

/// Runs the benchmark on `households` households, in files under `dir`.
pub fn run_bench(dir: &std::path::Path, households: u32) -> Result<SyncBench, StoreError> {
    let mut station = open(dir, "station.db")?;
    let fixture = generate(
        &mut station,
        FixtureSpec {
            households,
            seed: 2020,
        },
        |_, _| {},
    )?;
    let join = crate::fixture::enrol_everything(&mut station)?;
    let ids = all_ids(&station)?;
    let mut snapshot_bytes = 0u64;
    for id in &ids {
        snapshot_bytes += station.replica().document_bytes(id)?.2.len() as u64;
    }

    // First sync: a new device joins.
    let mut phone = open(dir, "phone.db")?;
    let empty = open(dir, "empty.db")?;
    let naive_first_sync_bytes = naive(&station, &empty)?;
    let first = run(&mut phone, &mut station, &join, &LinkConfig::perfect());
    let first_sync_bytes = first.bytes();

    // Unchanged: everything, then one grid's scope alone.
    let naive_unchanged_bytes = naive(&station, &phone)?;
    let unchanged = run(
        &mut phone,
        &mut station,
        &SyncConfig::default(),
        &LinkConfig::perfect(),
    );
    let mut grid_phone = open(dir, "grid.db")?;
    let grid = format!("grid:{}", fixture.grids[0]);
    grid_phone.set_scope_keys(std::slice::from_ref(&grid))?;
    let grid_join = crate::fixture::enrol_as(
        &mut station,
        Role::Volunteer,
        Some(vec!["station".into(), grid.clone()]),
    )?;
    run(
        &mut grid_phone,
        &mut station,
        &grid_join,
        &LinkConfig::perfect(),
    );
    let grid_unchanged = run(
        &mut grid_phone,
        &mut station,
        &SyncConfig::default(),
        &LinkConfig::perfect(),
    );
    let grid_ids = station
        .replica()
        .inventory(&Scope::Grid(fixture.grids[0].clone()))?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let naive_unchanged_grid_bytes = naive_of(&station, &grid_phone, grid_ids)?;

    // Phones in the same state, to measure the incremental exchange with
    // protocol versions 4, 3 and 2 as well.
    let mut enrolled_phone = |file: &str| -> Result<Store, StoreError> {
        let mut phone = open(dir, file)?;
        let join = crate::fixture::enrol_everything(&mut station)?;
        run(&mut phone, &mut station, &join, &LinkConfig::perfect());
        Ok(phone)
    };
    let mut v2_phone = enrolled_phone("phone-v2.db")?;
    let mut v3_phone = enrolled_phone("phone-v3.db")?;
    let mut v4_phone = enrolled_phone("phone-v4.db")?;

    // The phones learn of the devices enrolled since their last session:
    // the registry travels once, in the session after an enrolment, and is
    // not part of what a document change costs.
    let v2 = SyncConfig {
        versions: (2, 2),
        ..SyncConfig::default()
    };
    let v3 = SyncConfig {
        versions: (2, 3),
        ..SyncConfig::default()
    };
    let v4 = SyncConfig {
        versions: (2, 4),
        ..SyncConfig::default()
    };
    run(
        &mut phone,
        &mut station,
        &SyncConfig::default(),
        &LinkConfig::perfect(),
    );
    run(&mut v2_phone, &mut station, &v2, &LinkConfig::perfect());
    run(&mut v3_phone, &mut station, &v3, &LinkConfig::perfect());
    run(&mut v4_phone, &mut station, &v4, &LinkConfig::perfect());
    // A session with nothing to send, just before the changes (the second
    // of two: the first may still carry a signed audit head of the
    // catching up).
    let mut idle_session_bytes = 0;
    for _ in 0..2 {
        idle_session_bytes = run(
            &mut phone,
            &mut station,
            &SyncConfig::default(),
            &LinkConfig::perfect(),
        )
        .bytes();
    }

    // Incremental: a visit recorded at 1% of households.
    let worker = station.people().workers(None, Some(Role::Volunteer))?[0]
        .id
        .clone();
    let by = Author::Worker(worker);
    let mut changed_json_bytes = 0u64;
    let mut changed_record_json_bytes = 0u64;
    let household_ids = station.doc_ids(DocKind::Household)?;
    let step = (household_ids.len() / (household_ids.len() / 100).max(1)).max(1);
    let mut changed_docs = 0;
    for id in household_ids.iter().step_by(step) {
        let visit = NewVisit {
            at: now_millis(),
            needs: vec![Need {
                kind: NeedKind::Medicine,
                item: "胰岛素".into(),
                days_left: Some(2),
                detail: String::new(),
                severity: Urgency::Routine,
                met: None,
            }],
            notes: "需要尽快送药".into(),
        };
        changed_json_bytes += serde_json::to_string(&visit).unwrap_or_default().len() as u64;
        let visit_id =
            station
                .households_mut()
                .record_visit(&by, &HouseholdId(id.clone()), visit)?;
        let household: Household = station.get(id)?;
        if let Some(stored) = household.visits.get(&visit_id.0) {
            changed_record_json_bytes +=
                serde_json::to_string(stored).unwrap_or_default().len() as u64;
        }
        changed_docs += 1;
    }
    let naive_incremental_bytes = naive(&station, &phone)?;
    let incremental = run(
        &mut phone,
        &mut station,
        &SyncConfig::default(),
        &LinkConfig::perfect(),
    );
    let v2_incremental = run(&mut v2_phone, &mut station, &v2, &LinkConfig::perfect());
    let v3_incremental = run(&mut v3_phone, &mut station, &v3, &LinkConfig::perfect());
    let v4_incremental = run(&mut v4_phone, &mut station, &v4, &LinkConfig::perfect());

    // First sync over Bluetooth LE.
    let mut ble_phone = open(dir, "ble.db")?;
    let ble = SyncConfig {
        enrol: crate::fixture::enrol_everything(&mut station)?.enrol,
        ..SyncConfig::bluetooth()
    };
    let ble_run = run(
        &mut ble_phone,
        &mut station,
        &ble,
        &LinkConfig::bluetooth_le(),
    );

    Ok(SyncBench {
        households,
        docs: ids.len() as u64,
        unchanged_bytes: unchanged.bytes(),
        unchanged_round_trips: unchanged.round_trips,
        unchanged_grid_bytes: grid_unchanged.bytes(),
        unchanged_grid_round_trips: grid_unchanged.round_trips,
        naive_unchanged_grid_bytes,
        naive_unchanged_bytes,
        first_sync_bytes,
        snapshot_bytes,
        naive_first_sync_bytes,
        changed_docs,
        incremental_bytes: incremental.bytes(),
        changed_json_bytes,
        changed_record_json_bytes,
        incremental_round_trips: incremental.round_trips,
        idle_session_bytes,
        incremental_change_bytes: incremental.bytes().saturating_sub(idle_session_bytes),
        naive_incremental_bytes,
        v4_incremental_bytes: v4_incremental.bytes(),
        v4_incremental_round_trips: v4_incremental.round_trips,
        v3_incremental_bytes: v3_incremental.bytes(),
        v3_incremental_round_trips: v3_incremental.round_trips,
        v2_incremental_bytes: v2_incremental.bytes(),
        v2_incremental_round_trips: v2_incremental.round_trips,
        ble_seconds: ble_run.seconds,
        ble_limit_seconds: snapshot_bytes as f64 / 20_000.0,
        peak_rss_bytes: peak_rss(),
    })
}
