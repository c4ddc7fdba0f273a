//! A child process doing acknowledged writes is killed with SIGKILL at
//! random points. After every kill the store reopens, passes `check`, and
//! holds every write the child reported acknowledged.
//!
//! 200 trials by default; `ANXIN_CRASH_TRIALS=5000` for a long run.

// Test code: an unwrap that fails is a failed test, with its line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use anxin_core::model::*;
use anxin_core::store::{Store, StoreOptions};
use rand::{Rng, SeedableRng};

#[test]
fn acknowledged_writes_survive_sigkill() {
    let trials: u32 = std::env::var("ANXIN_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("crash.db");
    let (grid, worker) = anxin_tests::prepare_store(&path, StoreOptions::default()).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xA17C);
    let mut acked_households: Vec<HouseholdId> = Vec::new();
    let mut acked_residents: Vec<(HouseholdId, ResidentId)> = Vec::new();
    let mut kills_with_writes = 0;

    for trial in 0..trials {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crash_writer"))
            .args([
                path.to_str().unwrap(),
                grid.as_str(),
                worker.as_str(),
                &trial.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Random points. Odd trials: from the start, so some land before
        // the store is open. Even trials: after the writer acknowledged its
        // first write, so the kills land mid-run however slowly a loaded
        // machine starts the process.
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut stdout = String::new();
        if trial % 2 == 0 {
            while out.read_line(&mut stdout).unwrap() > 0 {
                if stdout.lines().any(|l| l.starts_with("ack ")) {
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_micros(rng.gen_range(0..40_000)));
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        out.read_to_string(&mut stdout).unwrap();
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(
            stderr.is_empty(),
            "trial {trial}: the writer failed on its own ({status}): {stderr}"
        );
        let (households_before, residents_before) = (acked_households.len(), acked_residents.len());
        let mut wrote = false;
        for line in stdout.lines() {
            // The last line may be cut by the kill; only whole lines count.
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                ["ack", "household", h] if h.len() == 36 => {
                    acked_households.push(HouseholdId(h.to_string()));
                    wrote = true;
                }
                ["ack", "resident", h, r] if r.len() == 36 => {
                    acked_residents.push((HouseholdId(h.to_string()), ResidentId(r.to_string())));
                    wrote = true;
                }
                _ => {}
            }
        }
        kills_with_writes += u32::from(wrote);

        let mut store = Store::open(&path, StoreOptions::default())
            .unwrap_or_else(|e| panic!("trial {trial}: the store does not reopen: {e}"));
        // This trial's writes every time; everything ever acknowledged, and
        // a full check, every 20 trials and at the end.
        let full = trial % 20 == 0 || trial + 1 == trials;
        let (from_h, from_r) = if full {
            (0, 0)
        } else {
            (households_before, residents_before)
        };
        if full {
            let report = store.check().unwrap();
            assert!(report.is_ok(), "trial {trial}: {:?}", report.faults());
        }
        for h in &acked_households[from_h..] {
            store
                .get::<Household>(h.as_str())
                .unwrap_or_else(|e| panic!("trial {trial}: acknowledged household lost: {e}"));
        }
        for (h, r) in &acked_residents[from_r..] {
            let household: Household = store.get(h.as_str()).unwrap();
            assert!(
                household.members.contains_key(r.as_str()),
                "trial {trial}: acknowledged resident lost"
            );
        }
    }
    // The test proves something only if kills landed during writing.
    assert!(
        kills_with_writes * 2 > trials,
        "only {kills_with_writes} of {trials} kills happened after a write"
    );
    assert!(!acked_residents.is_empty());
    eprintln!(
        "{trials} kills, {} households and {} residents acknowledged, none lost",
        acked_households.len(),
        acked_residents.len()
    );
}
