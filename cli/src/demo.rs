//! `anxin demo`: a station scenario on temporary stores, told for people.
//!
//! A station of two grids is set up the way a coordinator does it — the
//! first admin, communities and grids, workers and rosters, a contact card,
//! and the door-to-door list imported from a spreadsheet; a volunteer then
//! canvasses three more households by hand — one of them an old woman living
//! alone whose insulin runs out in two days — and the summary shows what a
//! coordinator would see: who lives where, who is vulnerable, who needs help
//! first, and that the (encrypted) store is sound after a reopen.

use std::collections::BTreeMap;

use anxin_core::doc::Author;
use anxin_core::model::*;
use anxin_core::screening::{
    answers_from_list, score, Administration, Language, Library, Policy, ScoreOptions,
};
use anxin_core::store::EnrolOptions;
use anxin_core::store::{
    ImportKind, NewOrder, NewResident, NewScreening, NewTraining, NewVisit, NewWorker, Store,
    StoreOptions, WorkerRow,
};
use anxin_core::sync::link::{run as meet, LinkConfig};
use anxin_core::sync::SyncConfig;

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
    let summary = build_station(&mut store, dir.path(), &say)?;
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
        .ok_or_else(|| Failure::other("the station has no volunteer"))?;
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
                severity: Urgency::Routine,
                met: None,
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
                severity: Urgency::Routine,
                met: None,
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
    let mut first_resident = None;
    let mut canvassed = Vec::new();
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
        let r = store.add_resident(&by, &h, resident)?;
        first_resident.get_or_insert(r.clone());
        canvassed.push((h.clone(), r, name.clone()));
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

    // The insulin becomes an order, and goes through the whole workflow.
    let household = first
        .clone()
        .ok_or_else(|| Failure::other("no household"))?;
    let resident = first_resident
        .clone()
        .ok_or_else(|| Failure::other("no resident"))?;
    let dispatcher = store
        .workers(None, Some(Role::Dispatcher))?
        .into_iter()
        .next()
        .ok_or_else(|| Failure::other("the station has no dispatcher"))?;
    let dispatcher_by = Author::Worker(dispatcher.id.clone());
    say("\nOrders (点单 → 派单 → 接单 → 评单):".into());
    let order = store.create_order(
        &by,
        NewOrder {
            household_id: household.clone(),
            resident_id: Some(resident.clone()),
            kind: OrderKind::MedicineDelivery,
            items: vec![Item {
                name: "胰岛素".into(),
                quantity: 2,
                unit: "支".into(),
            }],
            urgency: Urgency::Critical,
            deadline: Some(now + 12 * 3_600_000),
            note: String::new(),
        },
    )?;
    let queue = store.dispatch_queue(Some(&grid))?;
    let place = queue
        .iter()
        .position(|r| r.id == order)
        .map(|i| i + 1)
        .unwrap_or(0);
    if let Some(row) = queue.iter().find(|r| r.id == order) {
        say(format!(
            "  {} records it; the dispatcher's queue for {grid_name} has {} open orders, this one is number {place}: {} [{}]",
            volunteer.name,
            queue.len(),
            row.priority,
            row.reasons.join(", ")
        ));
    }
    store.order_action(
        &dispatcher_by,
        &order,
        OrderAction::Dispatched {
            to: Assignee::Grid(grid.clone()),
        },
    )?;
    let suggestions = store.suggest_workers(&order, 3)?;
    say(format!(
        "  dispatcher {} sends it to {grid_name}; suggested: {}",
        dispatcher.name,
        suggestions
            .iter()
            .map(|s| format!("{} (load {})", s.name, s.load))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    store.order_action(&by, &order, OrderAction::Accepted)?;
    store.order_action(&by, &order, OrderAction::Started)?;
    store.order_action(
        &by,
        &order,
        OrderAction::Completed {
            handed_over: vec![Item {
                name: "胰岛素".into(),
                quantity: 2,
                unit: "支".into(),
            }],
            confirmation_code: "4821".into(),
            minutes: 50,
        },
    )?;
    let resident_by = Author::Resident(resident.clone());
    let state = store.order_action(
        &resident_by,
        &order,
        OrderAction::Rated {
            stars: 5,
            comment: "及时".into(),
        },
    )?;
    say(format!(
        "  {} accepts, starts, hands over 2 支 against code 4821; 王秀英 rates it {} stars: {}",
        volunteer.name,
        state.stars.unwrap_or(0),
        state.status
    ));
    let worker: Worker = store.get(volunteer.id.as_str())?;
    if let Some(entry) = worker
        .hours
        .values()
        .find(|e| e.source == HoursSource::Order(order.clone()))
    {
        store.acknowledge_hours(&resident_by, &volunteer.id, &entry.id)?;
    }
    let hours = store.hours_totals(Some(&volunteer.id), 0, i64::MAX)?;
    if let Some(h) = hours.first() {
        say(format!(
            "  {} now has {:.1} volunteer hours ({:.1} acknowledged by residents or coordinators)",
            volunteer.name,
            h.minutes as f64 / 60.0,
            h.acknowledged_minutes as f64 / 60.0
        ));
    }
    let conflicts = store.order_conflicts(None)?;
    if let Some(c) = conflicts.iter().find(|c| c.kind == "acceptance_lost") {
        say(format!(
            "  {} order(s) were accepted by two volunteers while offline; e.g. order {}: first acceptance wins, the other volunteer is told ({}).",
            conflicts.iter().filter(|c| c.kind == "acceptance_lost").count(),
            &c.request_id.as_str()[..8],
            c.detail
        ));
    }
    let screening = screenings(&mut store, &grid, &canvassed, &volunteer, &say)?;
    let order_report = store.report()?;
    let phones = phones(dir.path(), &mut store, &grid, &say)?;

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
        say(
            "  triage order (life first, the most vulnerable first, the most urgent first):".into(),
        );
        for r in &top {
            say(format!(
                "    {} {}  members {}  [{}]",
                r.priority,
                r.address,
                r.members,
                r.reasons.join(", ")
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
    // Where the household with insulin running out stands in its grid.
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
    say("\nOrders across the station (from the report, de-identified):".into());
    for (kind, by_status) in &order_report.station.orders {
        say(format!(
            "  {kind:>22}: {}",
            by_status
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(m) = order_report.station.median_minutes_to_completion {
        say(format!(
            "  median time from request to completion: {:.0} minutes",
            m
        ));
    }
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
                "insulin_order": state.status,
                "hours": hours,
                "order_conflicts": conflicts.len(),
                "report": order_report,
                "phones": phones,
                "screening": screening,
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

/// Screenings during canvassing: the volunteer administers questionnaires
/// item by item; a red flag at PHQ-9 item 9 opens the crisis path at that
/// answer; the counselor reviews, closes the crisis and refers; the lists of
/// what is due change accordingly.
fn screenings(
    store: &mut Store,
    grid: &GridId,
    canvassed: &[(HouseholdId, ResidentId, String)],
    volunteer: &WorkerRow,
    say: &dyn Fn(String),
) -> Result<serde_json::Value, Failure> {
    let library = Library::builtin()?;
    let policy = Policy::builtin()?;
    let by = Author::Worker(volunteer.id.clone());
    let counselor = store
        .workers(None, Some(Role::Counselor))?
        .into_iter()
        .next()
        .ok_or_else(|| Failure::other("the station has no counselor"))?;
    let counselor_by = Author::Worker(counselor.id.clone());
    say("\nScreenings during canvassing (预警评估, zh-CN cutoffs):".into());
    // Each resident answers one questionnaire, item by item, in Chinese.
    let plans: [(&str, &[i32]); 3] = [
        ("gds15", &[0, 1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 0, 1, 0, 0]),
        ("phq4", &[1, 1, 1, 1]),
        ("phq9", &[2, 2, 1, 2, 1, 2, 1, 1, 2]),
    ];
    let mut out = Vec::new();
    let mut crisis_case = None;
    // 刘建国 was screened once already, on the first round: PHQ-9 at t2.
    let mut earlier = None;
    if let Some((household, resident, name)) = canvassed.get(2) {
        let inst = library.get("phq9")?;
        let answers = answers_from_list(inst, &[2, 2, 2, 2, 1, 1, 0, 0, 0].map(Some))?;
        let result = score(
            inst,
            &answers,
            &ScoreOptions {
                cutoffs: policy.cutoffs_or_default(None).to_string(),
                convention: None,
                language: Language::ZhHans,
                policy,
            },
        )?;
        let rec = store.record_screening(
            &by,
            NewScreening {
                household_id: household.clone(),
                resident_id: resident.clone(),
                team: None,
                results: vec![result],
            },
            library,
        )?;
        say(format!(
            "  {name}, first round: PHQ-9 → tier {} (review due within 24 h)",
            rec.decision.tier
        ));
        earlier = Some(rec.screening);
    }
    for ((household, resident, name), (instrument, answers)) in canvassed.iter().zip(plans) {
        let inst = library.get(instrument)?;
        let mut admin = Administration::start(
            inst,
            Language::ZhHans,
            policy.convention_or_default(&inst.id, None).as_deref(),
        )?;
        let mut flagged_at = None;
        while let Some(prompt) = admin.current() {
            // Item 10 of the PHQ-9 (difficulty) is optional: left out here.
            let Some(&value) = answers.get(prompt.position - 1) else {
                admin.decline(&prompt.item)?;
                continue;
            };
            let step = admin.answer(&prompt.item, value)?;
            if !step.red_flags.is_empty() && flagged_at.is_none() {
                flagged_at = Some((
                    prompt.item.clone(),
                    prompt.text.clone(),
                    step.red_flags.clone(),
                ));
                say(format!(
                    "  {name}, {} item {} 「{}」: RED FLAG {} raised at this answer — the app alerts before anything is saved",
                    inst.name,
                    prompt.item,
                    prompt.text,
                    step.red_flags.join(", ")
                ));
            }
            if step.next.is_none() {
                break;
            }
        }
        let result = admin.finish(None, policy)?;
        let rec = store.record_screening(
            &by,
            NewScreening {
                household_id: household.clone(),
                resident_id: resident.clone(),
                team: None,
                results: vec![result.clone()],
            },
            library,
        )?;
        say(format!(
            "  {name}: {} total {} ({}) → tier {}; case tier {}",
            inst.name,
            result.score.unwrap_or(0),
            result.band.clone().unwrap_or_default(),
            rec.decision.tier,
            rec.case_tier
        ));
        // The red flag opened its crisis record in the same write.
        if let (Some((item, _, _)), Some(crisis)) = (&flagged_at, &rec.crisis_opened) {
            say(format!(
                "    saving the sitting opened crisis {} by itself (red flag at item {item}); nobody had to remember to",
                &crisis.as_str()[..8]
            ));
            for s in [
                CrisisStep::StayedWithPerson,
                CrisisStep::MeansRemoved,
                CrisisStep::HandedToProfessional,
            ] {
                store.crisis_action(&by, &rec.case_id, crisis, s, "")?;
            }
            say(format!(
                "    {} stays with him, removes the means, and calls counselor {}",
                volunteer.name, counselor.name
            ));
            crisis_case = Some((rec.case_id.clone(), crisis.clone()));
        }
        out.push(serde_json::json!({
            "instrument": instrument,
            "score": result.score,
            "band": result.band,
            "flags": result.flags,
            "tier": rec.decision.tier,
            "case": rec.case_id,
            "screening": rec.screening,
        }));
    }
    let now = now_millis();
    let due = store.cases_due(None, now, now + 7 * 86_400_000)?;
    let pressing: Vec<_> = due.iter().filter(|d| d.what != "rescreen").collect();
    say(format!(
        "  what is due at the station now ({} items, re-screens aside; the crisis first):",
        pressing.len()
    ));
    for d in pressing {
        say(format!(
            "    {:<12} case {} ({}) by {}",
            d.what,
            &d.case_id[..8],
            d.tier,
            crate::format_time(d.due_at)
        ));
    }
    let lifted = store
        .households_in_grid(grid, 10_000, 0)?
        .into_iter()
        .find(|r| Some(&r.id) == canvassed.get(2).map(|c| &c.0));
    if let Some(row) = &lifted {
        say(format!(
            "  刘建国's household is now {} [{}]: a crisis lifts the household to the top of triage",
            row.priority,
            row.reasons.join(", ")
        ));
    }
    // The counselor arrives, reviews, refers, and closes the crisis. At the
    // station's laptop she signs with her own identity file: a sign-off is
    // never the station's.
    if let Some((case, crisis)) = &crisis_case {
        let admin = store
            .workers(None, Some(Role::StationAdmin))?
            .into_iter()
            .next()
            .ok_or_else(|| Failure::other("the station has no admin"))?;
        let passphrase = "demo passphrase, chosen by the counselor";
        let identity = store.issue_identity(
            &Author::Worker(admin.id.clone()),
            &counselor.id,
            365,
            passphrase,
        )?;
        store.sign_as(&identity, passphrase)?;
        say(format!(
            "  counselor {} signs in at the station's laptop with her own identity file ({} bytes, passphrase-protected)",
            counselor.name,
            identity.len()
        ));
        // Reviewing the older sitting down does not hide the newer red flag.
        if let Some(first) = &earlier {
            let state = store.review_screening(
                &counselor_by,
                case,
                first,
                Tier::T1,
                "first-round sitting reviewed by phone: mild",
            )?;
            say(format!(
                "  counselor {} reviews the first-round sitting → t1; the case stays {}: a review applies to its own sitting, and the newer red flag and the open crisis still stand",
                counselor.name, state.tier
            ));
        }
        let (_, state) = store.case(case, now)?;
        if let Some(s) = state.screenings.last() {
            store.review_screening(
                &counselor_by,
                case,
                &s.id,
                Tier::T3,
                "assessed in person: ideation without a plan; needs a psychiatrist",
            )?;
        }
        let referral = store.refer(
            &counselor_by,
            case,
            Tier::T3,
            "区精神卫生中心",
            "depression with suicidal ideation",
        )?;
        store.update_referral(&counselor_by, case, &referral, ReferralStatus::Sent, "")?;
        let state = store.close_crisis(
            &counselor_by,
            case,
            crisis,
            Tier::T3,
            "safety plan agreed with his sister",
        )?;
        store.sign_as_device();
        say(format!(
            "  counselor {} reviews (复核) → t3, refers him to 区精神卫生中心, closes the crisis; case tier {}; next follow-up {}",
            counselor.name,
            state.tier,
            state
                .due
                .iter()
                .find(|d| d.what == "followup")
                .map(|d| crate::format_time(d.due_at))
                .unwrap_or_default()
        ));
    }
    let due_after = store.cases_due(None, now, now + 7 * 86_400_000)?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for d in &due_after {
        *counts.entry(d.what.clone()).or_default() += 1;
    }
    say(format!(
        "  due this week now: {}",
        counts
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(serde_json::json!({
        "results": out,
        "due_before_review": due.len(),
        "due_after": counts,
        "crisis_household_priority": lifted.map(|r| r.priority),
    }))
}

/// Three volunteers' phones: they join the station, go offline, work,
/// meet each other over Bluetooth and the station over the LAN, and agree.
fn phones(
    dir: &std::path::Path,
    station: &mut Store,
    grid: &GridId,
    say: &dyn Fn(String),
) -> Result<serde_json::Value, Failure> {
    say("\nPhones in the compound (sync without a network):".into());
    let other_grid = station
        .station()?
        .grids
        .keys()
        .find(|g| g.as_str() != grid.as_str())
        .cloned()
        .map(GridId)
        .ok_or_else(|| Failure::other("the station has one grid"))?;
    let volunteers = station.workers(Some(grid), Some(Role::Volunteer))?;
    let (va, vb) = (volunteers[0].clone(), volunteers[1].clone());
    let vc = station.workers(Some(&other_grid), Some(Role::Volunteer))?[0].clone();
    let dispatcher = station.workers(None, Some(Role::Dispatcher))?[0].id.clone();
    let admin = Author::Worker(
        station
            .workers(None, Some(Role::StationAdmin))?
            .first()
            .ok_or_else(|| Failure::other("the station has no admin"))?
            .id
            .clone(),
    );
    let lan = LinkConfig::perfect();
    let ble = LinkConfig::bluetooth_le();
    // Each phone enrols with a one-time code the station admin makes for
    // its volunteer (shown as a QR code at the station): the code admits
    // that phone once, with the volunteer's own grid only.
    let phone = |station: &mut Store, name: &str, worker: &WorkerId| -> Result<Store, Failure> {
        let code = station.enrol_device(&admin, worker, EnrolOptions::default())?;
        let mut p = Store::open(
            dir.join(format!("{name}.db")),
            StoreOptions {
                key: Some(format!("{name} passphrase")),
                ..Default::default()
            },
        )?;
        let enrol = SyncConfig {
            enrol: Some(code),
            ..SyncConfig::default()
        };
        let r = meet(&mut p, station, &enrol, &lan);
        if !r.completed() {
            return Err(Failure::other(format!(
                "a phone could not enrol: {}",
                r.initiator.error.unwrap_or_default()
            )));
        }
        Ok(p)
    };
    // The dispatcher sends an order to the grid before the phones leave.
    let household = station.households_in_grid(grid, 1, 0)?[0].id.clone();
    let order = station.create_order(
        &Author::Worker(va.id.clone()),
        NewOrder {
            household_id: household.clone(),
            resident_id: None,
            kind: OrderKind::Groceries,
            items: vec![Item {
                name: "大米".into(),
                quantity: 5,
                unit: "kg".into(),
            }],
            urgency: Urgency::Urgent,
            deadline: None,
            note: String::new(),
        },
    )?;
    station.order_action(
        &Author::Worker(dispatcher),
        &order,
        OrderAction::Dispatched {
            to: Assignee::Grid(grid.clone()),
        },
    )?;
    let mut a = phone(station, "phone-a", &va.id)?;
    let mut b = phone(station, "phone-b", &vb.id)?;
    let mut c = phone(station, "phone-c", &vc.id)?;
    say(format!(
        "  three phones enrol over the LAN, each with a one-time code from the station admin: {} and {} hold one grid, {} the other; each holds only its grid's households, and the sessions are encrypted and authenticated",
        va.name, vb.name, vc.name
    ));

    // Offline: both volunteers of the grid accept the same order.
    a.order_action(
        &Author::Worker(va.id.clone()),
        &order,
        OrderAction::Accepted,
    )?;
    b.order_action(
        &Author::Worker(vb.id.clone()),
        &order,
        OrderAction::Accepted,
    )?;
    a.record_visit(
        &Author::Worker(va.id.clone()),
        &household,
        NewVisit {
            at: now_millis(),
            needs: vec![],
            notes: String::new(),
        },
    )?;
    let c_home = c.households_in_grid(&other_grid, 1, 0)?[0].id.clone();
    c.record_visit(
        &Author::Worker(vc.id.clone()),
        &c_home,
        NewVisit {
            at: now_millis(),
            needs: vec![],
            notes: String::new(),
        },
    )?;
    say(format!(
        "  offline, {} and {} both accept the same order (接单); each phone records visits",
        va.name, vb.name
    ));

    // The two phones meet over Bluetooth.
    let r = meet(&mut a, &mut b, &SyncConfig::bluetooth(), &ble);
    let (_, state) = a.order(&order)?;
    let winner = state
        .accepted_by
        .as_ref()
        .map(|w| {
            if *w == va.id {
                va.name.clone()
            } else {
                vb.name.clone()
            }
        })
        .unwrap_or_default();
    let loser = if winner == va.name {
        vb.name.clone()
    } else {
        va.name.clone()
    };
    let told_b = !b.order_conflicts(Some(&vb.id))?.is_empty();
    say(format!(
        "  they meet over Bluetooth ({} bytes, {:.1} s simulated): the first acceptance wins — {winner} keeps the order; {loser} is told through a conflict record ({})",
        r.bytes(),
        r.seconds,
        if told_b { "both phones show it" } else { "not shown!" }
    ));

    // Everyone meets the station, twice round, and all agree.
    for _ in 0..2 {
        for p in [&mut a, &mut b, &mut c] {
            let r = meet(p, station, &SyncConfig::default(), &lan);
            if !r.completed() {
                return Err(Failure::other(
                    "a phone's session with the station did not finish",
                ));
            }
        }
    }
    let mut holdings = Vec::new();
    let mut all_agree = true;
    for (name, p) in [(&va.name, &a), (&vb.name, &b), (&vc.name, &c)] {
        let scopes = p.scopes()?;
        let mut docs = 0;
        for scope in &scopes {
            let mine = p.scope_digest(scope)?;
            let theirs = station.scope_digest(scope)?;
            all_agree &= mine == theirs;
            docs += mine.1;
        }
        let households = p.doc_ids(DocKind::Household)?.len();
        say(format!(
            "  {name}'s phone holds {docs} documents ({households} households) in {} scopes — same as the station: {}",
            scopes.len(),
            if all_agree { "yes" } else { "NO" }
        ));
        holdings.push(serde_json::json!({ "documents": docs, "households": households }));
    }
    if !all_agree {
        return Err(Failure::other("the phones and the station do not agree"));
    }
    say(format!(
        "  the station holds all {} documents; every phone agrees with it on every scope it holds",
        DocKind::ALL
            .iter()
            .map(|k| station.doc_ids(*k).map(|v| v.len()).unwrap_or(0))
            .sum::<usize>()
    ));
    Ok(serde_json::json!({
        "phones": holdings,
        "double_acceptance_winner_told_both": told_b,
        "all_agree": all_agree,
    }))
}

/// What setting up the demo's station made.
struct Built {
    grids: Vec<GridId>,
    workers: usize,
    households: usize,
}

/// Sets up the station as a coordinator would, through the documented
/// operations: the first admin (by the device itself), a community and two
/// grids, workers by role, rosters with a lead, a contact card, a training
/// record, and the door-to-door list (摸排表) imported from a spreadsheet.
fn build_station(
    store: &mut Store,
    dir: &std::path::Path,
    say: &dyn Fn(String),
) -> Result<Built, Failure> {
    store.init_station("中南路安心小屋")?;
    let admin = Author::Worker(store.add_first_admin("赵丽华", "13700000000")?);
    let community = store.add_community(&admin, "百步亭社区")?;
    let grids = vec![
        store.add_grid(&admin, &community, "第1网格")?,
        store.add_grid(&admin, &community, "第2网格")?,
    ];
    let people: [(&str, Role, Option<usize>); 9] = [
        ("冯志明", Role::Volunteer, Some(0)),
        ("郭晓燕", Role::Volunteer, Some(0)),
        ("何建军", Role::Volunteer, Some(1)),
        ("胡佳怡", Role::Volunteer, Some(1)),
        ("周卫东", Role::Dispatcher, None),
        ("吴婷", Role::SocialWorker, None),
        ("刘秀兰", Role::Counselor, None),
        ("陈医生", Role::Clinician, None),
        ("孙志强", Role::Volunteer, Some(0)),
    ];
    let mut ids = Vec::new();
    for (i, (name, role, grid)) in people.iter().enumerate() {
        let id = store.add_worker(
            &admin,
            NewWorker {
                name: name.to_string(),
                phone: format!("137000001{i:02}"),
                role: *role,
                grid_id: grid.map(|g| grids[g].clone()),
                skills: Vec::new(),
            },
        )?;
        if let Some(g) = grid {
            let lead = if ids.iter().any(|(_, gg)| *gg == Some(*g)) {
                RosterRole::Member
            } else {
                RosterRole::Lead
            };
            store.assign_to_grid(&admin, &grids[*g], &id, lead)?;
        }
        ids.push((id, *grid));
    }
    store.add_training(
        &admin,
        &ids[1].0,
        NewTraining {
            course: "心理急救（PFA）基础".into(),
            topic: "psychological_first_aid".into(),
            trainer: "市心理援助热线".into(),
            completed_at: now_millis() - 30 * 86_400_000,
            tenths_of_hours: 40,
        },
    )?;
    for (g, (name, phone)) in grids
        .iter()
        .zip([("冯志明", "13700000100"), ("何建军", "13700000102")])
    {
        store.set_contact_card(
            &admin,
            g,
            ContactCard {
                name: name.into(),
                phone: phone.into(),
                hours: "8:00-20:00".into(),
            },
        )?;
    }
    say("Set up by the station admin: 1 community, 2 grids, 9 workers with their rosters and leads, a PFA training record.".into());

    // The door-to-door list the compound office kept, as a spreadsheet.
    let surnames = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴"];
    let given = [
        "桂英", "建华", "秀珍", "志强", "玉兰", "国庆", "淑芬", "文斌", "丽娟", "海涛",
    ];
    let tags = [
        "独居老人",
        "慢性病",
        "",
        "",
        "残疾",
        "",
        "孕产妇",
        "",
        "",
        "儿童",
    ];
    let mut csv = String::from("\u{feff}小区,楼栋,单元,房号,网格,姓名,性别,出生年份,电话,标签\n");
    let mut rows = 0;
    for g in 0..2 {
        for flat in 0..40 {
            let building = format!("{}栋", 1 + g * 5 + flat / 10);
            let room = format!("{}0{}", 1 + (flat % 10) / 2, 1 + flat % 2);
            let members = 1 + (flat * 7 + g) % 3;
            for m in 0..members {
                let k = flat * 3 + m + g * 11;
                let (sex, year) = if k % 2 == 0 {
                    ("女", 1940 + k % 60)
                } else {
                    ("男", 1945 + k % 55)
                };
                let tag = if members == 1 && year < 1960 {
                    "独居老人"
                } else {
                    tags[k % tags.len()]
                };
                let tag = if tag == "儿童" && year < 2008 {
                    ""
                } else {
                    tag
                };
                let tag = if tag == "孕产妇" && (sex == "男" || year < 1985) {
                    ""
                } else {
                    tag
                };
                csv.push_str(&format!(
                    "百步亭花园,{building},1单元,{room},第{}网格,{}{},{sex},{year},,{tag}\n",
                    g + 1,
                    surnames[k % surnames.len()],
                    given[(k / 3) % given.len()],
                ));
                rows += 1;
            }
        }
    }
    let file = dir.join("摸排表.csv");
    std::fs::write(&file, csv)
        .map_err(|e| Failure::other(format!("cannot write the demo's list: {e}")))?;
    let sheet = crate::setup::read_sheet(&file)?;
    let dispatcher = Author::Worker(ids[4].0.clone());
    let dry = store.import(&dispatcher, ImportKind::Households, &sheet, true)?;
    let report = store.import(&dispatcher, ImportKind::Households, &sheet, false)?;
    let again = store.import(&dispatcher, ImportKind::Households, &sheet, false)?;
    say(format!(
        "Imported 摸排表.csv ({rows} rows): dry run found {} problems; {} households and {} residents created; importing it again changed nothing ({} rows already present).",
        dry.problems.len(),
        report.created,
        report.residents_added,
        again.unchanged
    ));
    say(format!(
        "\nThe contact card posted in the stairwells of 第1网格:\n{}",
        crate::setup::contact_card_text(store, &grids[0])?.trim_end()
    ));
    Ok(Built {
        workers: people.len() + 1,
        households: report.created,
        grids,
    })
}
