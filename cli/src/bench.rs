//! `anxin bench store`: figures, with a naive baseline measured in the same
//! run, reported as ratios. Not a pass/fail test.
//!
//! 1. An acknowledged durable write (one `Store` API call: automerge change,
//!    index rows and audit row in one transaction) against a raw SQLite
//!    insert of a row of similar size, with the same `synchronous = FULL`
//!    and WAL setting, one transaction each.
//!    Beside the time, the pages each write puts through the WAL (and so
//!    through its fsync), counted from the WAL's frames: what the write path's
//!    schema and statements cost, free of the disk's noise.
//! 2. Opening a store of an N-household fixture to the first "households of
//!    my grid" list, against the naive way without an index: load every
//!    household document and sort in memory.

use std::time::Instant;

use anxin_core::doc::Author;
use anxin_core::fixture::{self, FixtureSpec};
use anxin_core::model::*;
use anxin_core::store::{NewResident, Store, StoreOptions};

use crate::Failure;

fn rss_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Writes this many times, each time after emptying the WAL, to count
/// the pages one write appends to it.
const WAL_SAMPLES: u32 = 20;

/// The mean number of pages one `write` appends to the WAL of the database
/// at `path` (a second connection empties the WAL before each: it works only
/// while the writer holds no transaction open between writes).
fn wal_pages_per_write(
    path: &std::path::Path,
    key: Option<&str>,
    mut write: impl FnMut(u32) -> Result<(), Failure>,
) -> Result<f64, Failure> {
    let fail = |e: rusqlite::Error| Failure::other(e.to_string());
    let side = rusqlite::Connection::open(path).map_err(fail)?;
    if let Some(key) = key {
        side.pragma_update(None, "key", key).map_err(fail)?;
    }
    let wal = path.with_extension("db-wal");
    // SQLCipher answers for a keyed connection, with the size as text.
    let page_size: rusqlite::types::Value = side
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .map_err(fail)?;
    let page_size: u64 = match page_size {
        rusqlite::types::Value::Integer(n) => n.unsigned_abs(),
        rusqlite::types::Value::Text(t) => t.parse().unwrap_or(0),
        _ => 0,
    };
    if page_size == 0 {
        return Err(Failure::other("the database's page size cannot be read"));
    }
    let mut frames = 0;
    for i in 0..WAL_SAMPLES {
        // (busy, frames in the WAL, frames checkpointed): all of them must
        // have been copied back for the WAL to start again from empty.
        let (busy, _, _): (i64, i64, i64) = side
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(fail)?;
        if busy != 0 {
            return Err(Failure::other(
                "the WAL could not be emptied to count pages",
            ));
        }
        write(i)?;
        let len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        // A 32-byte WAL header, then per frame a 24-byte header and a page.
        frames += len.saturating_sub(32) / (24 + page_size);
    }
    Ok(frames as f64 / f64::from(WAL_SAMPLES))
}

pub fn store(households: u32, writes: u32, key: Option<&str>, json: bool) -> Result<(), Failure> {
    if households == 0 || writes == 0 {
        return Err(Failure::input(
            "--households and --writes must be at least 1",
        ));
    }
    let dir = tempfile::TempDir::new().map_err(|e| Failure::other(e.to_string()))?;
    let options = || StoreOptions {
        key: key.map(str::to_string),
        ..Default::default()
    };

    // 1. Durable writes.
    let mut store = Store::open(dir.path().join("writes.db"), options())?;
    let small = fixture::generate(
        &mut store,
        FixtureSpec {
            households: 50,
            seed: 1,
        },
        |_, _| {},
    )?;
    let grid = &small.grids[0];
    let targets: Vec<HouseholdId> = store
        .households()
        .households_in_grid(grid, 50, 0)?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let resident = |i: u32| NewResident {
        name: format!("测试{i}"),
        sex: Sex::Female,
        birth_year: 1950,
        phone: "13800000000".into(),
        tags: vec![VulnerabilityTag::ElderlyAlone],
    };
    let started = Instant::now();
    for i in 0..writes {
        let h = &targets[i as usize % targets.len()];
        store
            .households_mut()
            .add_resident(&Author::System, h, resident(i))?;
    }
    let anxin_write = started.elapsed().as_secs_f64() / writes as f64;
    let anxin_pages = wal_pages_per_write(&dir.path().join("writes.db"), key, |i| {
        let h = &targets[i as usize % targets.len()];
        store
            .households_mut()
            .add_resident(&Author::System, h, resident(writes + i))
            .map(drop)
            .map_err(Failure::from)
    })?;
    drop(store);

    let raw = rusqlite::Connection::open(dir.path().join("raw.db"))
        .map_err(|e| Failure::other(e.to_string()))?;
    if let Some(key) = key {
        raw.pragma_update(None, "key", key)
            .map_err(|e| Failure::other(e.to_string()))?;
    }
    let setup = raw.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE residents (id TEXT PRIMARY KEY, household TEXT NOT NULL, body TEXT NOT NULL);",
    );
    setup.map_err(|e| Failure::other(e.to_string()))?;
    let started = Instant::now();
    for i in 0..writes {
        let body = serde_json::to_string(&resident(i)).unwrap_or_default();
        raw.execute(
            "INSERT INTO residents (id, household, body) VALUES (?1, ?2, ?3)",
            rusqlite::params![ResidentId::random().as_str(), targets[0].as_str(), body],
        )
        .map_err(|e| Failure::other(e.to_string()))?;
    }
    let raw_write = started.elapsed().as_secs_f64() / writes as f64;
    let raw_pages = wal_pages_per_write(&dir.path().join("raw.db"), key, |i| {
        let body = serde_json::to_string(&resident(writes + i)).unwrap_or_default();
        raw.execute(
            "INSERT INTO residents (id, household, body) VALUES (?1, ?2, ?3)",
            rusqlite::params![ResidentId::random().as_str(), targets[0].as_str(), body],
        )
        .map(drop)
        .map_err(|e| Failure::other(e.to_string()))
    })?;
    drop(raw);

    // 2. Opening a large store to the first list.
    let path = dir.path().join("large.db");
    let mut large = Store::open(&path, options())?;
    let started = Instant::now();
    let big = fixture::generate(
        &mut large,
        FixtureSpec {
            households,
            seed: 2,
        },
        |_, _| {},
    )?;
    let fixture_seconds = started.elapsed().as_secs_f64();
    drop(large);
    let my_grid = big.grids[big.grids.len() / 2].clone();

    let rss_before = rss_bytes("VmRSS:");
    let started = Instant::now();
    let store = Store::open(&path, options())?;
    let first_list = store.households().households_in_grid(&my_grid, 50, 0)?;
    let open_to_list = started.elapsed().as_secs_f64();
    let rss_after_indexed = rss_bytes("VmRSS:");
    drop(store);

    let started = Instant::now();
    let store = Store::open(&path, options())?;
    let mut all: Vec<(Vulnerability, HouseholdId)> = Vec::new();
    for id in store.doc_ids(DocKind::Household)? {
        let h: Household = store.get(&id)?;
        if h.grid_id == my_grid {
            all.push((h.vulnerability(), h.id));
        }
    }
    all.sort_by(|a, b| {
        (b.0.critical_need, b.0.weight, b.0.vulnerable_members).cmp(&(
            a.0.critical_need,
            a.0.weight,
            a.0.vulnerable_members,
        ))
    });
    all.truncate(50);
    let naive_open_to_list = started.elapsed().as_secs_f64();
    let rss_after_naive = rss_bytes("VmRSS:");

    let out = serde_json::json!({
        "encrypted": key.is_some(),
        "writes": writes,
        "anxin_write_ms": anxin_write * 1e3,
        "raw_sqlite_insert_ms": raw_write * 1e3,
        "write_ratio": anxin_write / raw_write,
        "anxin_wal_pages_per_write": anxin_pages,
        "raw_wal_pages_per_write": raw_pages,
        "households": households,
        "fixture_seconds": fixture_seconds,
        "open_to_first_list_ms": open_to_list * 1e3,
        "naive_open_to_first_list_ms": naive_open_to_list * 1e3,
        "open_speedup_vs_naive": naive_open_to_list / open_to_list,
        "first_list_len": first_list.len(),
        "rss_before_open_bytes": rss_before,
        "rss_after_indexed_open_bytes": rss_after_indexed,
        "rss_after_naive_open_bytes": rss_after_naive,
        "peak_rss_bytes": rss_bytes("VmHWM:"),
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        println!(
            "durable write{}: anxin {:.2} ms, raw SQLite insert {:.2} ms (synchronous=FULL, WAL): {:.1}x",
            if key.is_some() { ", encrypted" } else { "" },
            anxin_write * 1e3,
            raw_write * 1e3,
            anxin_write / raw_write
        );
        println!(
            "pages through the WAL per write: anxin {anxin_pages:.1}, raw SQLite {raw_pages:.1}"
        );
        println!(
            "open a {households}-household store to the first grid list: {:.1} ms; naive (load every household) {:.1} ms: {:.0}x faster",
            open_to_list * 1e3,
            naive_open_to_list * 1e3,
            naive_open_to_list / open_to_list
        );
    }
    Ok(())
}
