//! `anxin demo`: a station scenario on temporary stores, told for people.
//!
//! A station of two grids is set up from the fixture; a volunteer then
//! canvasses three more households by hand — one of them an old woman living
//! alone whose insulin runs out in two days — and the summary shows what a
//! coordinator would see: who lives where, who is vulnerable, who needs help
//! first, and that the (encrypted) store is sound after a reopen.

use std::collections::BTreeMap;

use anxin_core::doc::Author;
use anxin_core::fixture::{self, FixtureSpec};
use anxin_core::model::*;
use anxin_core::store::{NewResident, NewVisit, Store, StoreOptions};

use crate::Failure;

const DEMO_KEY: &str = "demo passphrase: never use this one";

pub fn run(json: bool) -> Result<(), Failure> {
    let dir = tempfile::TempDir::new()
        .map_err(|e| Failure::other(format!("cannot make a temporary folder: {e}")))?;
    let path = dir.path().join("station.db");
    let options = StoreOptions {
        key: Some(DEMO_KEY.into()),
        ..Default::default()
    };
    let mut store = Store::open(&path, options.clone())?;
    let say = |line: String| {
        if !json {
            println!("{line}");
        }
    };

    say("== 安心 Anxin station demo ==".into());
    let summary = fixture::generate(
        &mut store,
        FixtureSpec {
            households: 200,
            seed: 2020,
        },
        |_, _| {},
    )?;
    let station = store.station()?;
    say(format!(
        "Station {} set up on an encrypted store: {} grids, {} workers, {} households recorded so far.",
        station.name,
        station.grids.len(),
        summary.workers,
        summary.households
    ));

    // A volunteer of the first grid canvasses three more households by hand.
    let grid = summary.grids[0].clone();
    let grid_name = station
        .grid(&grid)
        .map(|g| g.name.clone())
        .unwrap_or_default();
    let volunteer = store
        .workers(Some(&grid), Some(Role::Volunteer))?
        .into_iter()
        .next()
        .ok_or_else(|| Failure::other("the fixture made no volunteer"))?;
    let by = Author::Worker(volunteer.id.clone());
    say(format!(
        "\nVolunteer {} canvasses {grid_name} door to door:",
        volunteer.name
    ));
    let now = now_millis();
    let visits: [(&str, NewResident, Vec<Need>); 3] = [
        (
            "502",
            NewResident {
                name: "王秀英".into(),
                sex: Sex::Female,
                birth_year: 1942,
                phone: "13900001111".into(),
                tags: vec![
                    VulnerabilityTag::ElderlyAlone,
                    VulnerabilityTag::ChronicIllness,
                ],
            },
            vec![Need {
                kind: NeedKind::Medicine,
                item: "胰岛素".into(),
                days_left: Some(2),
                detail: String::new(),
            }],
        ),
        (
            "601",
            NewResident {
                name: "陈海燕".into(),
                sex: Sex::Female,
                birth_year: 1994,
                phone: "13900002222".into(),
                tags: vec![VulnerabilityTag::PregnantPostpartum],
            },
            vec![Need {
                kind: NeedKind::MedicalCare,
                item: String::new(),
                days_left: None,
                detail: "产检".into(),
            }],
        ),
        (
            "702",
            NewResident {
                name: "刘建国".into(),
                sex: Sex::Male,
                birth_year: 1980,
                phone: "13900003333".into(),
                tags: vec![],
            },
            vec![],
        ),
    ];
    let mut first = None;
    for (room, resident, needs) in visits {
        let address = Address {
            compound: "百步亭花园".into(),
            building: "3栋".into(),
            unit: "2单元".into(),
            room: room.into(),
        };
        let label = address.label();
        let h = store.add_household(&by, &grid, address)?;
        let tags: Vec<String> = resident.tags.iter().map(|t| t.to_string()).collect();
        let name = resident.name.clone();
        store.add_resident(&by, &h, resident)?;
        let critical = needs.iter().any(Need::is_critical);
        let need_words: Vec<String> = needs
            .iter()
            .map(|n| match n.days_left {
                Some(d) => format!("{} {} ({d} days left)", n.kind, n.item),
                None => n.kind.to_string(),
            })
            .collect();
        store.record_visit(
            &by,
            &h,
            NewVisit {
                at: now,
                needs,
                notes: String::new(),
            },
        )?;
        say(format!(
            "  {label}: {name}, tags [{}], needs [{}]{}",
            tags.join(", "),
            need_words.join(", "),
            if critical { "  -> CRITICAL" } else { "" }
        ));
        first.get_or_insert(h);
    }

    // Reopen: what was acknowledged is on disk, and the store is sound.
    drop(store);
    let mut store = Store::open(&path, options)?;
    let report = store.check()?;

    let mut grids_out = Vec::new();
    for g in &summary.grids {
        let s = store.grid_summary(g)?;
        let name = station.grid(g).map(|g| g.name.clone()).unwrap_or_default();
        say(format!(
            "\n{name}: {} households, {} canvassed, {} with a life-threatening need, {} vulnerable residents",
            s.households, s.canvassed, s.critical, s.vulnerable_residents
        ));
        let top = store.households_in_grid(g, 5, 0)?;
        say("  most vulnerable first:".into());
        for r in &top {
            say(format!(
                "    {}  members {} (vulnerable {}){}",
                r.address,
                r.members,
                r.vulnerable_members,
                if r.critical_need {
                    "  critical need"
                } else {
                    ""
                }
            ));
        }
        grids_out.push(serde_json::json!({
            "grid": name,
            "summary": s,
            "top": top.iter().map(|r| &r.address).collect::<Vec<_>>(),
        }));
    }
    let tags = store.tag_counts(None)?;
    say("\nVulnerable residents found, by tag:".into());
    for (tag, n) in &tags {
        say(format!("  {tag:>22}: {n}"));
    }
    let by_role: BTreeMap<String, usize> =
        store
            .workers(None, None)?
            .iter()
            .fold(BTreeMap::new(), |mut m, w| {
                *m.entry(w.role.to_string()).or_default() += 1;
                m
            });
    say(format!(
        "\nWorkers by role: {}",
        by_role
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    // Where the household with insulin running out now stands in its grid.
    let rank = store
        .households_in_grid(&grid, 10_000, 0)?
        .iter()
        .position(|r| Some(&r.id) == first.as_ref())
        .map(|i| i + 1);
    say(format!(
        "\n王秀英's household (insulin for 2 days) is number {} of {} on {grid_name}'s list.",
        rank.unwrap_or(0),
        store.grid_summary(&grid)?.households
    ));
    say(format!(
        "\nAfter reopening the encrypted store: check {}.",
        if report.is_ok() { "ok" } else { "FAILED" }
    ));
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "station": station.name,
                "grids": grids_out,
                "tags": tags,
                "workers_by_role": by_role,
                "insulin_household_rank": rank,
                "check_ok": report.is_ok(),
            }))
            .unwrap_or_default()
        );
    }
    if !report.is_ok() {
        return Err(Failure::other(format!(
            "the demo store failed its check: {}",
            report.faults().join("; ")
        )));
    }
    Ok(())
}
