//! The attacks of issue 13 that signed authorship and the access module
//! answer, each as a regression test: a volunteer's phone (a malicious app
//! holding the phone's own keys, writing past its store's rules with
//! `Store::forge`) forging a counselor's review, closing a crisis, lowering
//! a tier, deleting a screening, promoting itself, deleting or altering
//! order events, dispatching to itself; changes no credential vouches for; a revoked device's changes
//! relayed by another; `history` crediting a claim. Relayed attacks run
//! over real loopback TCP.

use super::link::{run, LinkConfig};
use super::*;
use crate::doc::Author;
use crate::fixture::{enrol_as, enrol_everything, generate, FixtureSpec};
use crate::model::*;
use crate::screening::{answers_from_list, score, Language, Library, Policy, ScoreOptions};
use crate::store::{Applied, NewScreening, NewVisit, Store, StoreOptions};

/// A station, a volunteer's phone (her grid), a relay (a second station
/// laptop) and a counselor's phone (the case team), all enrolled and synced.
struct Compound {
    station: Store,
    volunteer_phone: Store,
    relay: Store,
    counselor_phone: Store,
    volunteer: WorkerId,
    counselor: WorkerId,
    dispatcher: WorkerId,
    grid: GridId,
    _dir: tempfile::TempDir,
}

fn meet(initiator: &mut Store, responder: &mut Store, config: &SyncConfig) -> super::link::LinkRun {
    run(initiator, responder, config, &LinkConfig::perfect())
}

fn compound() -> Compound {
    let mut station = Store::open(":memory:", StoreOptions::default()).unwrap();
    generate(
        &mut station,
        FixtureSpec {
            households: 40,
            seed: 13,
        },
        |_, _| {},
    )
    .unwrap();
    let mut volunteer_phone = Store::open(":memory:", StoreOptions::default()).unwrap();
    let enrol = enrol_as(&mut station, Role::Volunteer, None).unwrap();
    assert!(meet(&mut volunteer_phone, &mut station, &enrol).completed());
    // The relay is a file store (a TCP server opens one connection per
    // session), encrypted: it holds the case team's files.
    let dir = tempfile::tempdir().unwrap();
    let mut relay = Store::open(
        dir.path().join("relay.db"),
        StoreOptions {
            key: Some("relay key".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let enrol = enrol_everything(&mut station).unwrap();
    assert!(meet(&mut relay, &mut station, &enrol).completed());
    let mut counselor_phone = Store::open(":memory:", StoreOptions::default()).unwrap();
    let enrol = enrol_as(
        &mut station,
        Role::Counselor,
        Some(vec!["station".into(), "grid:*".into(), "case:main".into()]),
    )
    .unwrap();
    assert!(meet(&mut counselor_phone, &mut station, &enrol).completed());
    let worker_of =
        |s: &Store| WorkerId(s.devices().credential().unwrap().unwrap().1.worker.unwrap());
    let volunteer = worker_of(&volunteer_phone);
    let counselor = worker_of(&counselor_phone);
    let grid = station
        .get::<Worker>(volunteer.as_str())
        .unwrap()
        .grid_id
        .unwrap();
    let dispatcher = station
        .people()
        .workers(None, Some(Role::Dispatcher))
        .unwrap()[0]
        .id
        .clone();
    Compound {
        station,
        volunteer_phone,
        relay,
        counselor_phone,
        volunteer,
        counselor,
        dispatcher,
        grid,
        _dir: dir,
    }
}

/// A PHQ-9 sitting; `item9` > 0 is the suicidal-ideation red flag.
fn phq9(item9: i32) -> ScreeningResult {
    let lib = Library::builtin().unwrap();
    let inst = lib.get("phq9").unwrap();
    let answers: Vec<Option<i32>> = [2, 2, 2, 2, 1, 1, 1, 0, item9]
        .iter()
        .map(|v| Some(*v))
        .collect();
    score(
        inst,
        &answers_from_list(inst, &answers).unwrap(),
        &ScoreOptions {
            cutoffs: "zh-CN".into(),
            convention: None,
            language: Language::ZhHans,
            policy: Policy::builtin().unwrap(),
        },
    )
    .unwrap()
}

/// `by` screens the first resident of the first household of `grid` on
/// `store` with a PHQ-9 whose item 9 is `item9`: (household, resident,
/// what was recorded).
fn screen(
    store: &mut Store,
    grid: &GridId,
    by: &WorkerId,
    item9: i32,
) -> (HouseholdId, ResidentId, crate::store::Recorded) {
    let household = store.households().households_in_grid(grid, 1, 0).unwrap()[0]
        .id
        .clone();
    let h: Household = store.get(household.as_str()).unwrap();
    let resident = ResidentId(h.members.keys().next().unwrap().clone());
    let recorded = store
        .cases_mut()
        .record_screening(
            &Author::Worker(by.clone()),
            NewScreening {
                household_id: household.clone(),
                resident_id: resident.clone(),
                team: None,
                results: vec![phq9(item9)],
            },
            Library::builtin().unwrap(),
        )
        .unwrap();
    (household, resident, recorded)
}

/// A case event as a forger writes it.
fn event(by: &WorkerId, role: Role, action: CaseAction) -> (String, CaseEvent) {
    let id = EventId::random();
    (
        id.to_string(),
        CaseEvent {
            id,
            at: now_millis(),
            by: by.clone(),
            role,
            action,
        },
    )
}

/// Serves `store`'s file over loopback TCP for one session with
/// `client`; returns the server's report.
fn over_tcp(server: &Store, client: &mut Store) -> SessionReport {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let open = server.opener();
    let serving = std::thread::spawn(move || {
        let reports = std::sync::Mutex::new(Vec::new());
        tcp::serve(&open, &listener, SyncConfig::default(), Some(1), &|r| {
            reports.lock().unwrap().push(r.clone())
        })
        .unwrap();
        reports.into_inner().unwrap().pop().unwrap()
    });
    let mine = tcp::connect(client, addr, SyncConfig::default(), &mut |_| {}).unwrap();
    assert!(mine.completed, "{:?}", mine.error);
    serving.join().unwrap()
}

#[test]
fn a_volunteers_forged_review_and_crisis_closing_never_reach_the_case_team_even_relayed() {
    let mut w = compound();
    // The volunteer screens a resident at the door: a red flag, a crisis.
    let volunteer = w.volunteer.clone();
    let (household, resident, recorded) = screen(&mut w.volunteer_phone, &w.grid, &volunteer, 2);
    let crisis = recorded.crisis_opened.clone().unwrap();
    // Through the store's own API her phone refuses to review as the
    // counselor, or at all.
    for claimed in [&w.counselor, &w.volunteer] {
        assert!(w
            .volunteer_phone
            .cases_mut()
            .review_screening(
                &Author::Worker(claimed.clone()),
                &recorded.case_id,
                &recorded.screening,
                Tier::T0,
                "fine",
            )
            .is_err());
    }
    // The honest sitting reaches the relay (and leaves her phone); the
    // malicious app keeps a copy to build on.
    let case = recorded.case_id.as_str().to_string();
    let (_, _, honest) = w.volunteer_phone.replica().document_bytes(&case).unwrap();
    let honest_attested = w.volunteer_phone.attestations(&case).unwrap();
    let report = over_tcp(&w.relay, &mut w.volunteer_phone);
    assert!(report.quarantined.is_empty(), "{:?}", report.quarantined);
    assert!(!w
        .volunteer_phone
        .replica()
        .has_document(recorded.case_id.as_str())
        .unwrap());

    // A malicious app on her phone writes the file again: the counselor's
    // review lowering it to t0, and the crisis closed; then the same with
    // her own name and role.
    let forgeries: [(&WorkerId, Role, &str); 2] = [
        (
            &w.counselor,
            Role::Counselor,
            "a device records only for its own worker",
        ),
        (
            &w.volunteer,
            Role::Volunteer,
            "only a counselor or clinician",
        ),
    ];
    // (It also lets her store take case files, which her credential does
    // not grant.)
    let mut scopes = w.volunteer_phone.scope_keys().unwrap();
    scopes.push("case:main".into());
    w.volunteer_phone.set_scope_keys(&scopes).unwrap();
    let restore = |phone: &mut Store| {
        let restored = phone
            .replica_mut()
            .apply_document(
                "kept copy",
                &case,
                DocKind::Case,
                "case:main",
                &honest,
                &honest_attested,
            )
            .unwrap();
        assert_eq!(restored, Applied::Changed);
    };
    for (by, role, reason) in forgeries {
        restore(&mut w.volunteer_phone);
        let (screening, team) = (recorded.screening.clone(), DEFAULT_CASE_TEAM);
        let (c, r, hh) = (crisis.clone(), resident.clone(), household.clone());
        w.volunteer_phone
            .forge::<Case>(
                &Author::Worker(by.clone()),
                recorded.case_id.as_str(),
                |existing| {
                    let mut case = existing.unwrap_or_else(|| Case::skeleton(&r, &hh, team));
                    case.events.extend([
                        event(
                            by,
                            role,
                            CaseAction::Reviewed {
                                screening,
                                tier: Tier::T0,
                                reason: "冒名".into(),
                            },
                        ),
                        event(
                            by,
                            role,
                            CaseAction::CrisisClosed {
                                crisis: c,
                                tier_after: Tier::T0,
                                note: "冒名".into(),
                            },
                        ),
                    ]);
                    Ok(case)
                },
            )
            .unwrap();
        // Relayed over TCP: refused at the relay, with its reason.
        let report = over_tcp(&w.relay, &mut w.volunteer_phone);
        assert_eq!(report.quarantined.len(), 1, "{:?}", report.quarantined);
        let (id, why) = &report.quarantined[0];
        assert_eq!(id, recorded.case_id.as_str());
        assert!(
            why.contains("refused by the access rules") && why.contains(reason),
            "{why}"
        );
        // The relay did not take it, so the phone did not purge it (a
        // departed file leaves only once its receiver stored it).
        assert!(w.volunteer_phone.replica().has_document(&case).unwrap());
        // The next one starts from a clean file on her phone.
        w.volunteer_phone
            .replica_mut()
            .purge_document(recorded.case_id.as_str(), "test")
            .unwrap();
    }
    // And the sitting itself deleted from the file (so no review would be
    // due): refused, the log is append-only.
    restore(&mut w.volunteer_phone);
    let sitting = recorded.screening.to_string();
    w.volunteer_phone
        .forge::<Case>(&Author::Worker(w.volunteer.clone()), &case, |c| {
            let mut c = c.unwrap();
            c.events.remove(&sitting);
            Ok(c)
        })
        .unwrap();
    let report = over_tcp(&w.relay, &mut w.volunteer_phone);
    assert_eq!(report.quarantined.len(), 1, "{:?}", report.quarantined);
    assert!(
        report.quarantined[0]
            .1
            .contains("a recorded event cannot be removed"),
        "{:?}",
        report.quarantined
    );
    // Nothing forged on the relay, the station or the counselor's phone.
    assert!(meet(&mut w.counselor_phone, &mut w.relay, &SyncConfig::default()).completed());
    assert!(meet(&mut w.relay, &mut w.station, &SyncConfig::default()).completed());
    for store in [&w.relay, &w.station, &w.counselor_phone] {
        let (_, state) = store.cases().case(&recorded.case_id, now_millis()).unwrap();
        assert_eq!(state.tier, Tier::Crisis);
        assert!(state.screenings.iter().all(|s| s.review.is_none()));
        assert_eq!(state.open_crises().count(), 1);
        assert!(!store.export_json().unwrap().to_string().contains("冒名"));
    }
    // `history` credits the sitting to the volunteer's device, verified.
    let history = w
        .counselor_phone
        .history(recorded.case_id.as_str())
        .unwrap();
    let screened = history.changes.iter().find(|c| c.device.is_some()).unwrap();
    assert_eq!(screened.worker.as_ref(), Some(&w.volunteer));
}

#[test]
fn a_volunteers_phone_cannot_promote_itself_rewrite_logs_or_dispatch_to_itself() {
    let mut w = compound();
    let v = Author::Worker(w.volunteer.clone());
    let phone = &mut w.volunteer_phone;
    // Every forgery on its own document.
    phone
        .forge::<Worker>(&Author::System, w.volunteer.as_str(), |me| {
            let mut me = me.unwrap();
            me.role = Role::StationAdmin;
            Ok(me)
        })
        .unwrap();
    let station_id = phone.station().unwrap().id;
    phone
        .forge::<Station>(&Author::System, station_id.as_str(), |s| {
            let mut s = s.unwrap();
            s.name = "冒名站".into();
            Ok(s)
        })
        .unwrap();
    let orders: Vec<RequestId> = phone
        .orders()
        .list(None, None)
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert!(orders.len() >= 4, "the fixture gives the grid orders");
    // An event deleted, an event altered.
    phone
        .forge::<Request>(&v, orders[0].as_str(), |r| {
            let mut r = r.unwrap();
            let first = r.events.keys().next().unwrap().clone();
            r.events.remove(&first);
            Ok(r)
        })
        .unwrap();
    phone
        .forge::<Request>(&v, orders[1].as_str(), |r| {
            let mut r = r.unwrap();
            let e = r.events.values_mut().next().unwrap();
            e.at -= 3_600_000;
            Ok(r)
        })
        .unwrap();
    // Dispatched to herself, as herself and as the dispatcher.
    for (order, by) in [(&orders[2], &w.volunteer), (&orders[3], &w.dispatcher)] {
        let by = by.clone();
        let to = Assignee::Worker(w.volunteer.clone());
        phone
            .forge::<Request>(&v, order.as_str(), |r| {
                let mut r = r.unwrap();
                let id = EventId::random();
                let at = r.next_timestamp(now_millis());
                r.events.insert(
                    id.to_string(),
                    OrderEvent {
                        id,
                        at,
                        by: Actor::Worker(by),
                        action: OrderAction::Dispatched { to },
                    },
                );
                Ok(r)
            })
            .unwrap();
    }
    // And one honest visit: the rest of the session goes on.
    let household = phone
        .households()
        .households_in_grid(&w.grid, 1, 0)
        .unwrap()[0]
        .id
        .clone();
    let visit = phone
        .households_mut()
        .record_visit(
            &v,
            &household,
            NewVisit {
                at: now_millis(),
                needs: vec![],
                notes: String::new(),
            },
        )
        .unwrap();
    let before: Vec<_> = orders[..4]
        .iter()
        .map(|o| w.relay.orders().order(o).unwrap().0)
        .collect();

    let r = meet(&mut w.volunteer_phone, &mut w.relay, &SyncConfig::default());
    assert!(r.completed());
    let mut reasons: Vec<String> = r
        .responder
        .quarantined
        .iter()
        .map(|(_, why)| why.clone())
        .collect();
    reasons.sort();
    assert_eq!(reasons.len(), 6, "{reasons:?}");
    for needle in [
        "only a station admin may",
        "a recorded event cannot be removed",
        "a recorded event cannot be altered",
        "only a coordinator (station admin or dispatcher) may",
        "a device records only for its own worker",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(needle)),
            "{needle}: {reasons:?}"
        );
    }
    assert!(reasons
        .iter()
        .all(|r| r.contains("refused by the access rules")));
    // The relay holds none of it, and the visit.
    let me: Worker = w.relay.get(w.volunteer.as_str()).unwrap();
    assert_eq!(me.role, Role::Volunteer);
    assert_ne!(w.relay.station().unwrap().name, "冒名站");
    for (o, b) in orders[..4].iter().zip(&before) {
        assert_eq!(&w.relay.orders().order(o).unwrap().0, b);
    }
    let hh: Household = w.relay.get(household.as_str()).unwrap();
    assert!(hh.visits.contains_key(visit.as_str()));
    // Nor does anything forged go on from the relay.
    assert!(meet(&mut w.relay, &mut w.station, &SyncConfig::default()).completed());
    assert_eq!(
        w.station.get::<Worker>(w.volunteer.as_str()).unwrap().role,
        Role::Volunteer
    );
}

#[test]
fn changes_no_enrolled_device_vouches_for_are_refused() {
    let mut w = compound();
    let household = w
        .relay
        .households()
        .households_in_grid(&w.grid, 1, 0)
        .unwrap()[0]
        .id
        .clone();
    let scope = format!("grid:{}", w.grid);
    // A change whose actor no credential names (a device never enrolled).
    let mut doc = crate::doc::Document::new(&automerge::ActorId::random());
    let mut h: Household = w.relay.get(household.as_str()).unwrap();
    let (_, bytes_before) = {
        let (k, _, b) = w
            .relay
            .replica()
            .document_bytes(household.as_str())
            .unwrap();
        (k, b)
    };
    doc.automerge().load_incremental(&bytes_before).unwrap();
    h.address.room = "999".into();
    doc.write(
        &h,
        None,
        &crate::doc::ChangeNote {
            action: "x".into(),
            worker: None,
            resident: None,
        },
        now_millis(),
    )
    .unwrap();
    let out = w
        .station
        .replica_mut()
        .apply_document(
            "stranger",
            household.as_str(),
            DocKind::Household,
            &scope,
            &doc.save(),
            &[],
        )
        .unwrap();
    assert!(
        matches!(&out, Applied::Quarantined(r) if r.to_string().contains("no credential names")),
        "{out:?}"
    );

    // The volunteer's real change with its attestation's signature broken,
    // then whole.
    let v = Author::Worker(w.volunteer.clone());
    w.volunteer_phone
        .households_mut()
        .record_visit(
            &v,
            &household,
            NewVisit {
                at: now_millis(),
                needs: vec![],
                notes: String::new(),
            },
        )
        .unwrap();
    let (_, _, bytes) = w
        .volunteer_phone
        .replica()
        .document_bytes(household.as_str())
        .unwrap();
    let mut attested = w.volunteer_phone.attestations(household.as_str()).unwrap();
    let mut broken = attested.clone();
    for a in &mut broken {
        a.signature[0] ^= 1;
    }
    let out = w
        .station
        .replica_mut()
        .apply_document(
            "phone",
            household.as_str(),
            DocKind::Household,
            &scope,
            &bytes,
            &broken,
        )
        .unwrap();
    assert!(
        matches!(&out, Applied::Quarantined(r) if r.to_string().contains("not attested")),
        "{out:?}"
    );
    // Attested, but by the station's own key instead of the phone's.
    for a in &mut attested {
        a.signature = w.relay.attestations(household.as_str()).unwrap()[0]
            .signature
            .clone();
    }
    let out = w
        .station
        .replica_mut()
        .apply_document(
            "phone",
            household.as_str(),
            DocKind::Household,
            &scope,
            &bytes,
            &attested,
        )
        .unwrap();
    assert!(matches!(out, Applied::Quarantined(_)), "{out:?}");
    let whole = w.volunteer_phone.attestations(household.as_str()).unwrap();
    let out = w
        .station
        .replica_mut()
        .apply_document(
            "phone",
            household.as_str(),
            DocKind::Household,
            &scope,
            &bytes,
            &whole,
        )
        .unwrap();
    assert_eq!(out, Applied::Changed);

    // A revoked phone's change, relayed by a device that had not heard of
    // the revocation yet: refused where the revocation is known.
    let device = w.volunteer_phone.device().device_id.clone();
    w.station
        .devices_mut()
        .revoke_device(&Author::System, &device)
        .unwrap();
    w.volunteer_phone
        .households_mut()
        .record_visit(
            &v,
            &household,
            NewVisit {
                at: now_millis(),
                needs: vec![],
                notes: "after".into(),
            },
        )
        .unwrap();
    assert!(meet(
        &mut w.volunteer_phone,
        &mut w.counselor_phone,
        &SyncConfig::default()
    )
    .completed());
    let r = meet(
        &mut w.counselor_phone,
        &mut w.station,
        &SyncConfig::default(),
    );
    assert!(r.completed());
    assert!(
        r.responder
            .quarantined
            .iter()
            .any(|(id, why)| id == household.as_str() && why.contains("revoked")),
        "{:?}",
        r.responder.quarantined
    );
    let hh: Household = w.station.get(household.as_str()).unwrap();
    assert!(!hh.visits.values().any(|v| v.notes == "after"));
}

#[test]
fn history_credits_the_verified_device_never_the_claim() {
    let mut w = compound();
    let household = w
        .volunteer_phone
        .households()
        .households_in_grid(&w.grid, 1, 0)
        .unwrap()[0]
        .id
        .clone();
    // Her phone records a visit claiming to be the counselor: households
    // are open to any worker of the grid, so it is kept — as hers.
    w.volunteer_phone
        .forge::<Household>(
            &Author::Worker(w.counselor.clone()),
            household.as_str(),
            |h| {
                let mut h = h.unwrap();
                h.address.unit = "2".into();
                Ok(h)
            },
        )
        .unwrap();
    assert!(meet(
        &mut w.volunteer_phone,
        &mut w.station,
        &SyncConfig::default()
    )
    .completed());
    let history = w.station.history(household.as_str()).unwrap();
    let last = history
        .changes
        .iter()
        .find(|c| c.action.as_deref() == Some("forged"))
        .unwrap();
    assert_eq!(last.worker.as_ref(), Some(&w.volunteer));
    assert_eq!(
        last.device.as_deref(),
        Some(w.volunteer_phone.device().device_id.as_str())
    );
    assert_eq!(last.recorded_for, None, "the claim is not repeated");
}

#[test]
fn a_counselor_signs_at_the_station_laptop_with_her_own_identity_and_peers_credit_her() {
    let mut w = compound();
    let volunteer = w.volunteer.clone();
    let (household, _, recorded) = screen(&mut w.station, &w.grid, &volunteer, 0);
    let counselor = Author::Worker(w.counselor.clone());
    let review = |s: &mut Store| {
        s.cases_mut().review_screening(
            &counselor,
            &recorded.case_id,
            &recorded.screening,
            Tier::T1,
            "assessed",
        )
    };
    // The desk alone cannot sign a review off, whoever it names.
    let err = review(&mut w.station).unwrap_err();
    assert!(err.to_string().contains("own identity"), "{err}");
    // Her identity file: a wrong passphrase opens nothing.
    let file = w
        .station
        .issue_identity(&Author::System, &w.counselor, 30, "her passphrase")
        .unwrap();
    assert!(w.station.sign_as(&file, "not hers!").is_err());
    assert_eq!(
        w.station.sign_as(&file, "her passphrase").unwrap(),
        w.counselor
    );
    // Signed as her, the laptop writes nothing in anyone else's name.
    assert!(w
        .station
        .households_mut()
        .record_visit(
            &Author::Worker(w.volunteer.clone()),
            &household,
            NewVisit {
                at: now_millis(),
                needs: vec![],
                notes: String::new(),
            },
        )
        .is_err());
    review(&mut w.station).unwrap();
    w.station.sign_as_device();
    // Her phone receives the review and credits it to her, verified.
    assert!(meet(
        &mut w.counselor_phone,
        &mut w.station,
        &SyncConfig::default()
    )
    .completed());
    let (_, state) = w
        .counselor_phone
        .cases()
        .case(&recorded.case_id, now_millis())
        .unwrap();
    assert_eq!(state.screenings[0].current_tier(), Tier::T1);
    let history = w
        .counselor_phone
        .history(recorded.case_id.as_str())
        .unwrap();
    let last = history
        .changes
        .iter()
        .find(|c| c.action.as_deref().is_some_and(|a| a.contains("review")))
        .unwrap();
    assert_eq!(last.worker.as_ref(), Some(&w.counselor));
    assert_ne!(
        last.device.as_deref(),
        Some(w.station.device().device_id.as_str()),
        "signed by her identity, not the laptop"
    );
    // Revoked like a device: the file no longer signs.
    let identity_device = last.device.clone().unwrap();
    w.station
        .devices_mut()
        .revoke_device(&Author::System, &identity_device)
        .unwrap();
    assert!(w.station.sign_as(&file, "her passphrase").is_err());
}
