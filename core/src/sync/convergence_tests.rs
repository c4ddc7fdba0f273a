//! The convergence property: replicas that work apart and meet in random
//! pairs — over lossy, duplicating, reordering links, in sessions cut at
//! random points, or by carried bundles — end up identical after a full
//! exchange, and lose no acknowledged write. Among them works a malicious
//! replica: a volunteer's phone whose app forges writes with the phone's
//! own keys (promoting itself, renaming the station, a counselor's review,
//! deleting and adding order events); it meets the honest replicas, and
//! nothing it forged ever appears on any of them.
//!
//! `ANXIN_SYNC_SCHEDULES` sets how many random schedules run (default in
//! CI below; set thousands more for a long run).

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::link::{run, LinkConfig};
use super::*;
use crate::doc::Author;
use crate::fixture::{generate, FixtureSpec};
use crate::model::*;
use crate::store::{NewOrder, NewResident, NewVisit, Store, StoreOptions};

/// What a replica was told was written, to find after the full exchange.
#[derive(Default)]
struct Acked {
    households: Vec<HouseholdId>,
    residents: Vec<(HouseholdId, ResidentId)>,
    visits: Vec<(HouseholdId, VisitId)>,
    /// Per order: events acknowledged (including the request itself).
    order_events: std::collections::BTreeMap<RequestId, usize>,
    /// Per case file: events acknowledged (screenings and reviews).
    case_events: std::collections::BTreeMap<CaseId, usize>,
}

struct World {
    replicas: Vec<Store>,
    /// The counselor's identity file (see `images`).
    identity: Vec<u8>,
    /// The volunteer's phone a malicious app runs on (not among
    /// `replicas`: it never converges with them, by design).
    malicious: Store,
    /// Its worker.
    forger: WorkerId,
    /// Order events it deleted in its copy: they must survive everywhere.
    deleted: Vec<(RequestId, String)>,
    grids: Vec<GridId>,
    volunteers: Vec<WorkerId>,
    dispatcher: WorkerId,
    counselor: WorkerId,
    acked: Acked,
}

/// The station laptop's store, generated from a fixed seed.
fn base() -> Store {
    let mut s = Store::open(":memory:", StoreOptions::default()).unwrap();
    generate(
        &mut s,
        FixtureSpec {
            households: 4,
            seed: 77,
        },
        |_, _| {},
    )
    .unwrap();
    s
}

/// Images of five replicas: the station laptop and four devices enrolled
/// from it, each granted everything the laptop holds. Made once per test
/// thread; every schedule starts from copies of them.
fn images() -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut replicas = vec![base()];
    // The counselor's identity file: she signs her reviews with it at
    // whichever laptop she sits (entered in the registry, which spreads).
    let counselor = replicas[0]
        .people()
        .workers(None, Some(Role::Counselor))
        .unwrap()[0]
        .id
        .clone();
    let identity = replicas[0]
        .issue_identity(&Author::System, &counselor, 30, IDENTITY_PASSPHRASE)
        .unwrap();
    for _ in 1..5 {
        let mut s = Store::open(":memory:", StoreOptions::default()).unwrap();
        let enrol = crate::fixture::enrol_everything(&mut replicas[0]).unwrap();
        let r = run(&mut s, &mut replicas[0], &enrol, &LinkConfig::perfect());
        assert!(r.completed(), "{:?}", r.initiator.error);
        replicas.push(s);
    }
    // The malicious replica: a volunteer's phone for the first grid.
    let grid = replicas[0]
        .station()
        .unwrap()
        .grids
        .values()
        .next()
        .unwrap()
        .id
        .clone();
    let mut phone = Store::open(":memory:", StoreOptions::default()).unwrap();
    let enrol = crate::fixture::enrol_as(
        &mut replicas[0],
        Role::Volunteer,
        Some(vec!["station".into(), format!("grid:{grid}")]),
    )
    .unwrap();
    assert!(run(&mut phone, &mut replicas[0], &enrol, &LinkConfig::perfect()).completed());
    replicas.push(phone);
    // Once more, so every device's registry knows every other (a bundle is
    // sealed only to the devices its exporter knows).
    for i in 1..replicas.len() {
        let (l, r) = replicas.split_at_mut(i);
        let run = run(
            &mut r[0],
            &mut l[0],
            &SyncConfig::default(),
            &LinkConfig::perfect(),
        );
        assert!(run.completed());
    }
    (
        replicas.iter_mut().map(|s| s.image().unwrap()).collect(),
        identity,
    )
}

const IDENTITY_PASSPHRASE: &str = "counselor's own";

/// `n` replicas (at most five), copied from `images`.
fn world(images: &[Vec<u8>], identity: &[u8], n: usize) -> World {
    let replicas: Vec<Store> = images[..n]
        .iter()
        .map(|i| Store::from_image(i).unwrap())
        .collect();
    let malicious = Store::from_image(&images[5]).unwrap();
    let forger = WorkerId(
        malicious
            .devices()
            .credential()
            .unwrap()
            .unwrap()
            .1
            .worker
            .unwrap(),
    );
    let station = replicas[0].station().unwrap();
    let grids: Vec<GridId> = station.grids.values().map(|g| g.id.clone()).collect();
    let volunteers = replicas[0]
        .people()
        .workers(None, Some(Role::Volunteer))
        .unwrap()
        .into_iter()
        .filter(|w| w.grid_id.as_ref() == Some(&grids[0]))
        .map(|w| w.id)
        .collect();
    let dispatcher = replicas[0]
        .people()
        .workers(None, Some(Role::Dispatcher))
        .unwrap()[0]
        .id
        .clone();
    let counselor = replicas[0]
        .people()
        .workers(None, Some(Role::Counselor))
        .unwrap()[0]
        .id
        .clone();
    World {
        replicas,
        identity: identity.to_vec(),
        malicious,
        forger,
        deleted: Vec::new(),
        grids,
        volunteers,
        dispatcher,
        counselor,
        acked: Acked::default(),
    }
}

fn operate(w: &mut World, rng: &mut ChaCha8Rng) {
    let i = rng.gen_range(0..w.replicas.len());
    let grid = w.grids[0].clone();
    let volunteer = w.volunteers.choose(rng).unwrap().clone();
    let by = Author::Worker(volunteer.clone());
    let store = &mut w.replicas[i];
    let known: Vec<HouseholdId> = store
        .households()
        .households_in_grid(&grid, 1000, 0)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    match rng.gen_range(0..15) {
        0 => {
            let address = Address {
                compound: "测试小区".into(),
                building: format!("{}栋", rng.gen_range(1..20)),
                unit: String::new(),
                room: format!("{}", rng.gen_range(101..999)),
            };
            let h = store
                .households_mut()
                .add_household(&by, &grid, address)
                .unwrap();
            w.acked.households.push(h);
        }
        1 | 2 => {
            let h = known.choose(rng).unwrap().clone();
            let r = store
                .households_mut()
                .add_resident(
                    &by,
                    &h,
                    NewResident {
                        name: "居民".into(),
                        sex: Sex::Unknown,
                        birth_year: rng.gen_range(1930..2020),
                        phone: String::new(),
                        tags: vec![VulnerabilityTag::ElderlyAlone],
                    },
                )
                .unwrap();
            w.acked.residents.push((h, r));
        }
        3 => {
            let h = known.choose(rng).unwrap().clone();
            let v = store
                .households_mut()
                .record_visit(
                    &by,
                    &h,
                    NewVisit {
                        at: now_millis(),
                        needs: vec![],
                        notes: String::new(),
                    },
                )
                .unwrap();
            w.acked.visits.push((h, v));
        }
        4 => {
            let h = known.choose(rng).unwrap().clone();
            let o = store
                .orders_mut()
                .create_order(
                    &by,
                    NewOrder {
                        household_id: h,
                        resident_id: None,
                        kind: OrderKind::Groceries,
                        items: vec![],
                        urgency: Urgency::Routine,
                        deadline: None,
                        note: String::new(),
                    },
                )
                .unwrap();
            w.acked.order_events.insert(o, 1);
        }
        12 | 13 => {
            // A screening of a random resident, by a volunteer or the
            // counselor: two replicas may open the same file apart.
            let h = known.choose(rng).unwrap().clone();
            let household: Household = store.get(h.as_str()).unwrap();
            let Some(resident) = household
                .members
                .keys()
                .collect::<Vec<_>>()
                .choose(rng)
                .map(|r| ResidentId((*r).clone()))
            else {
                return;
            };
            let lib = crate::screening::Library::builtin().unwrap();
            let inst = lib.get("phq9").unwrap();
            let answers = (1..=9)
                .map(|i| (i.to_string(), rng.gen_range(0..4)))
                .collect();
            let result = crate::screening::score(
                inst,
                &answers,
                &crate::screening::ScoreOptions {
                    cutoffs: "international".into(),
                    convention: None,
                    language: crate::screening::Language::ZhHans,
                    policy: crate::screening::Policy::builtin().unwrap(),
                },
            )
            .unwrap();
            let screener = if rng.gen_bool(0.5) {
                by.clone()
            } else {
                Author::Worker(w.counselor.clone())
            };
            let rec = store
                .cases_mut()
                .record_screening(
                    &screener,
                    crate::store::NewScreening {
                        household_id: h,
                        resident_id: resident,
                        team: None,
                        results: vec![result],
                    },
                    lib,
                )
                .unwrap();
            // A sitting graded crisis also opened its crisis record.
            *w.acked.case_events.entry(rec.case_id).or_insert(0) +=
                1 + usize::from(rec.crisis_opened.is_some());
        }
        14 => {
            // The counselor reviews a screening this replica knows.
            let cases = store.cases().list(None).unwrap();
            let Some(row) = cases.choose(rng) else {
                return;
            };
            let case = CaseId(row.id.clone());
            let (_, state) = store.cases().case(&case, now_millis()).unwrap();
            let Some(s) = state.screenings.choose(rng) else {
                return;
            };
            let tier = *Tier::ALL.choose(rng).unwrap();
            store.sign_as(&w.identity, IDENTITY_PASSPHRASE).unwrap();
            store
                .cases_mut()
                .review_screening(
                    &Author::Worker(w.counselor.clone()),
                    &case,
                    &s.id,
                    tier,
                    "复核",
                )
                .unwrap();
            store.sign_as_device();
            *w.acked.case_events.entry(case).or_insert(0) += 1;
        }
        _ => {
            // Move an order this replica knows one step on, as whoever may:
            // concurrent accepts on two replicas make conflicts, on purpose.
            let orders: Vec<_> = store
                .orders()
                .list(None, None)
                .unwrap()
                .into_iter()
                .filter(|r| matches!(r.status, OrderStatus::Requested | OrderStatus::Dispatched))
                .collect();
            let Some(row) = orders.choose(rng) else {
                return;
            };
            let (dispatcher, id) = (w.dispatcher.clone(), row.id.clone());
            let (actor, action) = match row.status {
                OrderStatus::Requested => (
                    dispatcher,
                    OrderAction::Dispatched {
                        to: Assignee::Grid(grid),
                    },
                ),
                OrderStatus::Dispatched => (volunteer, OrderAction::Accepted),
                _ => return,
            };
            if store
                .orders_mut()
                .order_action(&Author::Worker(actor), &id, action)
                .is_ok()
            {
                *w.acked.order_events.entry(id).or_insert(0) += 1;
            }
        }
    }
}

/// The marker every forged text carries.
const FORGED: &str = "冒名";

/// The malicious app writes something its volunteer may not, with the
/// phone's own keys (past its store's access rules).
fn forge(w: &mut World, rng: &mut ChaCha8Rng) {
    let m = &mut w.malicious;
    let me = Author::Worker(w.forger.clone());
    let orders: Vec<RequestId> = m
        .orders()
        .list(None, None)
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    // A forgery the phone's own rules would refuse may also fail to
    // validate (an order without its request): then nothing was written.
    let _ = match rng.gen_range(0..5) {
        0 => m.forge::<Worker>(&Author::System, w.forger.as_str(), |x| {
            let mut x = x.unwrap();
            x.role = Role::StationAdmin;
            Ok(x)
        }),
        1 => {
            let id = m.station().unwrap().id;
            m.forge::<Station>(&Author::System, id.as_str(), |s| {
                let mut s = s.unwrap();
                s.name = format!("{FORGED}站");
                Ok(s)
            })
        }
        2 => {
            let households = m
                .households()
                .households_in_grid(&w.grids[0], 1000, 0)
                .unwrap();
            let Some(row) = households.choose(rng) else {
                return;
            };
            let h: Household = m.get(row.id.as_str()).unwrap();
            let Some(resident) = h.members.keys().next().map(|r| ResidentId(r.clone())) else {
                return;
            };
            let counselor = w.counselor.clone();
            m.forge::<Case>(
                &Author::Worker(counselor.clone()),
                CaseId::of(&resident).as_str(),
                |c| {
                    let mut c =
                        c.unwrap_or_else(|| Case::skeleton(&resident, &h.id, DEFAULT_CASE_TEAM));
                    let id = EventId::random();
                    c.events.insert(
                        id.to_string(),
                        CaseEvent {
                            id,
                            at: now_millis(),
                            by: counselor,
                            role: Role::Counselor,
                            action: CaseAction::Note {
                                text: FORGED.into(),
                            },
                        },
                    );
                    Ok(c)
                },
            )
        }
        3 => {
            let Some(order) = orders.choose(rng) else {
                return;
            };
            let mut gone = None;
            let forger = Actor::Worker(w.forger.clone());
            let r = m.forge::<Request>(&me, order.as_str(), |r| {
                let mut r = r.unwrap();
                // An honest event (not one of its own earlier forgeries,
                // which no honest replica holds).
                let first = r
                    .events
                    .iter()
                    .find(|(_, e)| e.by != forger)
                    .map(|(k, _)| k.clone());
                if let Some(e) = &first {
                    r.events.remove(e);
                }
                gone = first;
                Ok(r)
            });
            if let (Ok(_), Some(e)) = (&r, gone) {
                w.deleted.push((order.clone(), e));
            }
            r
        }
        _ => {
            let Some(order) = orders.choose(rng) else {
                return;
            };
            let to = Assignee::Worker(w.forger.clone());
            let by = Actor::Worker(w.forger.clone());
            m.forge::<Request>(&me, order.as_str(), |r| {
                let mut r = r.unwrap();
                let id = EventId::random();
                let at = r.next_timestamp(now_millis());
                r.events.insert(
                    id.to_string(),
                    OrderEvent {
                        id,
                        at,
                        by,
                        action: OrderAction::Dispatched { to },
                    },
                );
                Ok(r)
            })
        }
    };
}

/// The malicious phone meets an honest replica: a session over a lossy
/// link either way round, or a bundle it carries to them.
fn meet_malicious(w: &mut World, rng: &mut ChaCha8Rng) {
    let i = rng.gen_range(0..w.replicas.len());
    let honest = &mut w.replicas[i];
    let m = &mut w.malicious;
    match rng.gen_range(0..3) {
        0 => {
            run(
                m,
                honest,
                &SyncConfig::default(),
                &LinkConfig::lossy(rng.gen()),
            );
        }
        1 => {
            run(
                honest,
                m,
                &SyncConfig::default(),
                &LinkConfig::lossy(rng.gen()),
            );
        }
        _ => {
            let bytes = bundle::export(m, &m.replica().held_scopes().unwrap()).unwrap();
            bundle::import(honest, &bytes).unwrap();
        }
    }
}

/// Nothing the malicious phone forged is on any honest replica.
/// `export` is every replica's content: `check_world` has just shown they
/// are all equal to it (exporting each again cost a fifth of the suite).
fn check_untouched(w: &World, export: &str, schedule: u64) {
    assert!(
        !export.contains(FORGED),
        "schedule {schedule}: a replica took a forgery"
    );
    for (i, r) in w.replicas.iter().enumerate() {
        assert_eq!(
            r.get::<Worker>(w.forger.as_str()).unwrap().role,
            Role::Volunteer,
            "schedule {schedule}: replica {i} promoted the forger"
        );
        for row in r.orders().list(None, None).unwrap() {
            let (request, _) = r.orders().order(&row.id).unwrap();
            assert!(
                request
                    .events
                    .values()
                    .all(|e| e.by != Actor::Worker(w.forger.clone())),
                "schedule {schedule}: replica {i} took a forged order event"
            );
        }
        for (order, event) in &w.deleted {
            if let Ok((request, _)) = r.orders().order(order) {
                assert!(
                    request.events.contains_key(event),
                    "schedule {schedule}: replica {i} lost an event the forger deleted"
                );
            }
        }
    }
}

/// Two volunteers on two phones accept the same dispatched order while
/// apart: the situation the double-acceptance rule is for.
fn accept_apart(w: &mut World, rng: &mut ChaCha8Rng) {
    let (i, j) = (0, 1 + rng.gen_range(0..w.replicas.len() - 1));
    let grid = w.grids[0].clone();
    let dispatched: Vec<RequestId> = w.replicas[i]
        .orders()
        .list(None, Some(OrderStatus::Dispatched))
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    let order = match dispatched.choose(rng) {
        Some(o) => o.clone(),
        None => {
            let Some(r) = w.replicas[i]
                .orders()
                .list(None, Some(OrderStatus::Requested))
                .unwrap()
                .pop()
            else {
                return;
            };
            let by = Author::Worker(w.dispatcher.clone());
            let to = Assignee::Grid(grid);
            w.replicas[i]
                .orders_mut()
                .order_action(&by, &r.id, OrderAction::Dispatched { to })
                .unwrap();
            *w.acked.order_events.entry(r.id.clone()).or_insert(0) += 1;
            r.id
        }
    };
    {
        let (l, r) = w.replicas.split_at_mut(j);
        run(
            &mut l[i],
            &mut r[0],
            &SyncConfig::default(),
            &LinkConfig::perfect(),
        );
    }
    let mut volunteers = w.volunteers.clone();
    volunteers.shuffle(rng);
    for (k, replica) in [i, j].into_iter().enumerate() {
        let by = Author::Worker(volunteers[k % volunteers.len()].clone());
        if w.replicas[replica]
            .orders_mut()
            .order_action(&by, &order, OrderAction::Accepted)
            .is_ok()
        {
            *w.acked.order_events.entry(order.clone()).or_insert(0) += 1;
        }
    }
}

fn meet(w: &mut World, rng: &mut ChaCha8Rng) {
    let n = w.replicas.len();
    let a = rng.gen_range(0..n);
    let mut b = rng.gen_range(0..n - 1);
    if b >= a {
        b += 1;
    }
    let (x, y) = if a < b {
        let (l, r) = w.replicas.split_at_mut(b);
        (&mut l[a], &mut r[0])
    } else {
        let (l, r) = w.replicas.split_at_mut(a);
        (&mut r[0], &mut l[b])
    };
    match rng.gen_range(0..4) {
        0 => {
            let bytes = bundle::export(x, &x.replica().scopes().unwrap()).unwrap();
            bundle::import(y, &bytes).unwrap();
        }
        1 => {
            let mut link = LinkConfig::lossy(rng.gen());
            link.cut_after_frames = Some(rng.gen_range(1..12));
            run(x, y, &SyncConfig::default(), &link);
        }
        _ => {
            run(x, y, &SyncConfig::default(), &LinkConfig::lossy(rng.gen()));
        }
    }
}

fn full_exchange(w: &mut World) {
    let n = w.replicas.len();
    for pass in 0..2 {
        for k in 0..n - 1 {
            let (i, j) = if pass == 0 {
                (k, k + 1)
            } else {
                (n - 1 - k, n - 2 - k)
            };
            let (lo, hi) = (i.min(j), i.max(j));
            let (l, r) = w.replicas.split_at_mut(hi);
            let r = run(
                &mut l[lo],
                &mut r[0],
                &SyncConfig::default(),
                &LinkConfig::perfect(),
            );
            assert!(
                r.completed(),
                "{:?} / {:?} q={:?} {:?}",
                r.initiator.error,
                r.responder.error,
                r.initiator.quarantined,
                r.responder.quarantined
            );
            assert!(
                r.initiator.quarantined.is_empty() && r.responder.quarantined.is_empty(),
                "{:?} / {:?}",
                r.initiator.quarantined,
                r.responder.quarantined
            );
        }
    }
}

/// Every replica holds the same documents and index, and every
/// acknowledged write. Returns that one content (see `check_untouched`).
fn check_world(w: &mut World, schedule: u64) -> String {
    let export = w.replicas[0].export_json().unwrap();
    let index = w.replicas[0].index_fingerprint().unwrap();
    for (i, r) in w.replicas.iter().enumerate().skip(1) {
        assert_eq!(
            r.export_json().unwrap(),
            export,
            "schedule {schedule}: replica {i} differs"
        );
        assert_eq!(
            r.index_fingerprint().unwrap(),
            index,
            "schedule {schedule}: index of {i} differs"
        );
    }
    let s = &w.replicas[0];
    for h in &w.acked.households {
        s.get::<Household>(h.as_str()).unwrap();
    }
    for (h, r) in &w.acked.residents {
        let hh: Household = s.get(h.as_str()).unwrap();
        assert!(
            hh.members.contains_key(r.as_str()),
            "schedule {schedule}: resident lost"
        );
    }
    for (h, v) in &w.acked.visits {
        let hh: Household = s.get(h.as_str()).unwrap();
        assert!(
            hh.visits.contains_key(v.as_str()),
            "schedule {schedule}: visit lost"
        );
    }
    for (o, n) in &w.acked.order_events {
        let (request, _) = s.orders().order(o).unwrap();
        assert_eq!(
            request.events.len(),
            *n,
            "schedule {schedule}: order events lost"
        );
    }
    for (c, n) in &w.acked.case_events {
        let case: Case = s.get(c.as_str()).unwrap();
        assert_eq!(
            case.events.len(),
            *n,
            "schedule {schedule}: case events lost"
        );
        // The fold agrees on every replica.
        let state = s.cases().case(c, 0).unwrap().1;
        for r in &w.replicas[1..] {
            assert_eq!(
                r.cases().case(c, 0).unwrap().1,
                state,
                "schedule {schedule}: case fold differs"
            );
        }
    }
    export
}

/// Schedules per half: two tests (so both cores work) of 5,000 each make
/// the 10,000 of a CI run. `ANXIN_SYNC_SCHEDULES` overrides it.
fn schedules_per_half() -> u64 {
    std::env::var("ANXIN_SYNC_SCHEDULES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000)
}

#[test]
fn random_schedules_converge_and_lose_nothing_first_half() {
    schedules(0..schedules_per_half());
}

#[test]
fn random_schedules_converge_and_lose_nothing_second_half() {
    let n = schedules_per_half();
    schedules(1_000_000..1_000_000 + n);
}

fn schedules(range: std::ops::Range<u64>) {
    let schedules = range.end - range.start;
    let mut conflicts_seen = 0;
    let (images, identity) = images();
    for schedule in range {
        let mut rng = ChaCha8Rng::seed_from_u64(schedule);
        let n = rng.gen_range(3..=5);
        let mut w = world(&images, &identity, n);
        for _ in 0..rng.gen_range(6..16) {
            match rng.gen_range(0..22) {
                0..=11 => operate(&mut w, &mut rng),
                12 => accept_apart(&mut w, &mut rng),
                13 => forge(&mut w, &mut rng),
                14 => meet_malicious(&mut w, &mut rng),
                _ => meet(&mut w, &mut rng),
            }
        }
        // The forger meets someone at the end of every schedule, so its
        // forgeries are always offered.
        forge(&mut w, &mut rng);
        meet_malicious(&mut w, &mut rng);
        full_exchange(&mut w);
        let export = check_world(&mut w, schedule);
        check_untouched(&w, &export, schedule);
        conflicts_seen += w.replicas[0].orders().order_conflicts(None).unwrap().len();
        if schedule % 25 == 0 {
            for r in &mut w.replicas {
                assert!(r.check().unwrap().is_ok(), "schedule {schedule}");
            }
        }
    }
    // The schedules must have exercised the double-acceptance rule.
    assert!(
        schedules < 200 || conflicts_seen > 0,
        "no order conflict arose"
    );
    eprintln!("{schedules} schedules converged; {conflicts_seen} order conflicts arose and were folded alike");
}
