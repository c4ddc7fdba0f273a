//! The child of the crash test: writes to a store as fast as it can and
//! prints one line per write the store acknowledged, until it is killed.
//!
//! Usage: crash_writer STORE GRID WORKER SEED
//! Lines: `ack household H` or `ack resident H R`.

use std::io::Write;

use anxin_core::doc::Author;
use anxin_core::model::*;
use anxin_core::store::{NewResident, Store, StoreOptions};
use rand::{Rng, SeedableRng};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: crash_writer STORE GRID WORKER SEED");
        std::process::exit(2);
    }
    let grid = GridId(args[2].clone());
    let by = Author::Worker(WorkerId(args[3].clone()));
    let mut rng = rand::rngs::StdRng::seed_from_u64(args[4].parse().unwrap_or(0));
    let mut store = match Store::open(&args[1], StoreOptions::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("open failed: {e}");
            std::process::exit(1);
        }
    };
    let mut out = std::io::stdout().lock();
    let mut households: Vec<HouseholdId> = Vec::new();
    loop {
        if households.is_empty() || rng.gen_bool(0.3) {
            let address = Address {
                compound: "测试小区".into(),
                building: format!("{}栋", rng.gen_range(1..30)),
                unit: String::new(),
                room: format!("{}", rng.gen_range(101..1999)),
            };
            match store.households_mut().add_household(&by, &grid, address) {
                Ok(h) => {
                    // Printed only after the write returned: acknowledged.
                    writeln!(out, "ack household {h}").ok();
                    out.flush().ok();
                    households.push(h);
                }
                Err(e) => {
                    eprintln!("write failed: {e}");
                    std::process::exit(1);
                }
            }
        } else {
            let h = households[rng.gen_range(0..households.len())].clone();
            let resident = NewResident {
                name: "测试居民".into(),
                sex: Sex::Unknown,
                birth_year: rng.gen_range(1930..2020),
                phone: String::new(),
                tags: vec![VulnerabilityTag::Recovered],
            };
            match store.households_mut().add_resident(&by, &h, resident) {
                Ok(r) => {
                    writeln!(out, "ack resident {h} {r}").ok();
                    out.flush().ok();
                }
                Err(e) => {
                    eprintln!("write failed: {e}");
                    std::process::exit(1);
                }
            }
        }
    }
}
