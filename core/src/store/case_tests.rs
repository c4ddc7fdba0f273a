//! Case files through the store: the crisis path from a red-flag answer,
//! professional review, referrals, crises and follow-up, what is due, the
//! triage lift, permissions and bad input (typed error, nothing saved), and
//! concurrent edits on two phones merged in every order.

use super::tests::address;
use super::*;
use crate::dispatch::DispatchError;
use crate::screening::case::fold;
use crate::screening::{
    answers_from_list, score, Language, Library, Policy, ScoreOptions, ScreeningError,
};
use crate::sync::link::{run, LinkConfig};
use crate::sync::SyncConfig;

const HOUR: Millis = 3_600_000;
const DAY: Millis = 24 * HOUR;

struct Station {
    s: Store,
    grid: GridId,
    volunteer: Author,
    social_worker: Author,
    counselor: Author,
    household: HouseholdId,
    resident: ResidentId,
}

fn worker(s: &mut Store, name: &str, role: Role, grid: Option<&GridId>) -> Author {
    Author::Worker(
        s.add_worker(
            &Author::System,
            NewWorker {
                name: name.into(),
                phone: String::new(),
                role,
                grid_id: grid.cloned(),
                skills: vec![],
            },
        )
        .unwrap(),
    )
}

fn station() -> Station {
    station_at(":memory:", StoreOptions::default())
}

fn station_at(path: &str, options: StoreOptions) -> Station {
    let mut s = Store::open(path, options).unwrap();
    s.init_station("站").unwrap();
    let c = s.add_community(&Author::System, "社区").unwrap();
    let grid = s.add_grid(&Author::System, &c, "A").unwrap();
    let volunteer = worker(&mut s, "志愿甲", Role::Volunteer, Some(&grid));
    let social_worker = worker(&mut s, "社工", Role::SocialWorker, None);
    let counselor = worker(&mut s, "咨询师", Role::Counselor, None);
    let household = s
        .add_household(&Author::System, &grid, address("301"))
        .unwrap();
    let resident = s
        .add_resident(
            &Author::System,
            &household,
            NewResident {
                name: "李建国".into(),
                sex: Sex::Male,
                birth_year: 1950,
                phone: String::new(),
                tags: vec![],
            },
        )
        .unwrap();
    Station {
        s,
        grid,
        volunteer,
        social_worker,
        counselor,
        household,
        resident,
    }
}

fn result(id: &str, answers: &[i32]) -> ScreeningResult {
    let lib = Library::builtin().unwrap();
    let inst = lib.get(id).unwrap();
    let a = answers_from_list(inst, &answers.iter().map(|v| Some(*v)).collect::<Vec<_>>()).unwrap();
    score(
        inst,
        &a,
        &ScoreOptions {
            cutoffs: "zh-CN".into(),
            convention: None,
            language: Language::ZhHans,
            policy: Policy::builtin().unwrap(),
        },
    )
    .unwrap()
}

fn screen(
    st: &mut Station,
    by: impl Fn(&Station) -> Author,
    results: Vec<ScreeningResult>,
) -> Result<Recorded, StoreError> {
    let (h, r, by) = (st.household.clone(), st.resident.clone(), by(st));
    st.s.record_screening(
        &by,
        NewScreening {
            household_id: h,
            resident_id: r,
            team: None,
            results,
        },
        Library::builtin().unwrap(),
    )
}

fn heads(s: &Store) -> String {
    s.index_fingerprint().unwrap() + &s.export_json().unwrap()
}

#[test]
fn a_red_flag_opens_the_crisis_path_and_a_professional_reviews_it() {
    let mut st = station();
    let before = st.s.households_in_grid(&st.grid, 10, 0).unwrap();
    assert_ne!(before[0].priority, Priority::P1);

    // A volunteer screens at the door; item 9 answered "several days".
    let rec = screen(
        &mut st,
        |s| s.volunteer.clone(),
        vec![result("phq9", &[1, 1, 1, 0, 0, 1, 0, 0, 1])],
    )
    .unwrap();
    assert_eq!(rec.decision.tier, Tier::Crisis);
    assert_eq!(rec.case_tier, Tier::Crisis);
    assert_eq!(rec.case_id, CaseId::of(&st.resident));

    // The household is lifted to P1 in triage, with the reason.
    let rows = st.s.households_in_grid(&st.grid, 10, 0).unwrap();
    assert_eq!(rows[0].priority, Priority::P1);
    assert!(rows[0]
        .reasons
        .contains(&"mental_health_crisis_or_t3".to_string()));
    assert_eq!(st.s.report().unwrap().station.cases_by_tier["crisis"], 1);

    // The review is due within the crisis tier's review hours, station-wide
    // and for the volunteer who screened.
    let now = now_millis();
    let due = st.s.cases_due(None, now, now + 3 * HOUR).unwrap();
    let review = due
        .iter()
        .find(|d| d.what == "review")
        .expect("a review is due");
    assert!(review.due_at <= now + 2 * HOUR + 60_000);
    let mine =
        st.s.cases_due(st.volunteer.worker(), now, now + 3 * HOUR)
            .unwrap();
    assert!(mine.iter().any(|d| d.what == "review"));
    // Overdue once the deadline passed.
    let later =
        st.s.cases_due(None, now + 3 * HOUR, now + 3 * HOUR)
            .unwrap();
    assert!(later.iter().find(|d| d.what == "review").unwrap().overdue);

    // A volunteer may not review: typed error, nothing saved.
    let snapshot = heads(&st.s);
    let err =
        st.s.review_screening(
            &st.volunteer.clone(),
            &rec.case_id,
            &rec.screening,
            Tier::T1,
            "看起来还好",
        )
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Dispatch(DispatchError::PermissionDenied { .. })
    ));
    assert_eq!(heads(&st.s), snapshot);

    // The counselor's review lowers it to t2, with the reason.
    let state =
        st.s.review_screening(
            &st.counselor.clone(),
            &rec.case_id,
            &rec.screening,
            Tier::T2,
            "assessed in person: passive ideation, no plan",
        )
        .unwrap();
    assert_eq!(state.tier, Tier::T2);
    assert!(state.screenings[0].review.is_some());
    assert!(!st
        .s
        .cases_due(None, now, now + 3 * HOUR)
        .unwrap()
        .iter()
        .any(|d| d.what == "review"));
    assert_ne!(
        st.s.households_in_grid(&st.grid, 10, 0).unwrap()[0].priority,
        Priority::P1
    );
    assert!(st.s.check().unwrap().is_ok());

    // A new, lower screening never lowers the tier by itself.
    let rec2 = screen(
        &mut st,
        |s| s.volunteer.clone(),
        vec![result("phq9", &[0; 9])],
    )
    .unwrap();
    assert_eq!((rec2.decision.tier, rec2.case_tier), (Tier::T0, Tier::T2));
}

#[test]
fn a_risk_assessment_in_the_same_sitting_grades_the_red_flag() {
    let mut st = station();
    let rec = screen(
        &mut st,
        |s| s.counselor.clone(),
        vec![
            result("phq9", &[1, 1, 1, 0, 0, 1, 0, 0, 1]),
            result("cssrs", &[1, 0, 0]),
        ],
    )
    .unwrap();
    assert_eq!(rec.decision.tier, Tier::T2, "{:?}", rec.decision.reasons);
    assert!(rec.decision.reasons.iter().any(|r| r.contains("phq9")));
    assert!(rec.decision.reasons.iter().any(|r| r.contains("cssrs")));
}

#[test]
fn referrals_move_forward_and_escalate_when_unacknowledged() {
    let mut st = station();
    let rec = screen(
        &mut st,
        |s| s.volunteer.clone(),
        vec![result("gad7", &[2, 2, 2, 2, 1, 1, 1])],
    )
    .unwrap();
    assert_eq!(rec.decision.tier, Tier::T2);
    let r =
        st.s.refer(
            &st.social_worker.clone(),
            &rec.case_id,
            Tier::T3,
            "区精神卫生中心",
            "no improvement",
        )
        .unwrap();
    let (_, state) = st.s.case(&rec.case_id, now_millis()).unwrap();
    assert_eq!(state.tier, Tier::T3, "a referral up raises the tier");
    let referral = &state.referrals[0];
    assert_eq!(referral.status, ReferralStatus::Proposed);
    assert!(!referral.escalated);
    // 24 h for a t3 referral; after that it is escalated.
    let (_, late) = st.s.case(&rec.case_id, now_millis() + 25 * HOUR).unwrap();
    assert!(late.referrals[0].escalated);

    let sw = st.social_worker.clone();
    for status in [ReferralStatus::Sent, ReferralStatus::Acknowledged] {
        st.s.update_referral(&sw, &rec.case_id, &r, status, "")
            .unwrap();
    }
    let (_, late) = st.s.case(&rec.case_id, now_millis() + 25 * HOUR).unwrap();
    assert!(
        !late.referrals[0].escalated,
        "acknowledged in time: no escalation"
    );
    // Backwards is refused; a volunteer cannot close it.
    let snapshot = heads(&st.s);
    assert!(matches!(
        st.s.update_referral(&sw, &rec.case_id, &r, ReferralStatus::Sent, "")
            .unwrap_err(),
        StoreError::Dispatch(DispatchError::Forbidden { .. })
    ));
    st.s.update_referral(&sw, &rec.case_id, &r, ReferralStatus::Seen, "")
        .unwrap();
    let snapshot2 = heads(&st.s);
    assert_ne!(snapshot, snapshot2);
    assert!(matches!(
        st.s.update_referral(
            &st.volunteer.clone(),
            &rec.case_id,
            &r,
            ReferralStatus::Closed,
            ""
        )
        .unwrap_err(),
        StoreError::Dispatch(DispatchError::PermissionDenied { .. })
    ));
    assert_eq!(heads(&st.s), snapshot2);
    let state =
        st.s.update_referral(
            &sw,
            &rec.case_id,
            &r,
            ReferralStatus::Closed,
            "seen by psychiatrist",
        )
        .unwrap();
    assert_eq!(state.referrals[0].status, ReferralStatus::Closed);
    assert!(matches!(
        st.s.update_referral(
            &sw,
            &rec.case_id,
            &EventId::random(),
            ReferralStatus::Sent,
            ""
        )
        .unwrap_err(),
        StoreError::NotFound {
            kind: "referral",
            ..
        }
    ));
}

#[test]
fn crises_are_closed_only_by_a_professional_then_followed_up_weekly() {
    let mut st = station();
    let (h, r) = (st.household.clone(), st.resident.clone());
    let v = st.volunteer.clone();
    let (case, crisis) =
        st.s.open_crisis(&v, &h, &r, "said he has pills saved up")
            .unwrap();
    for step in [
        CrisisStep::StayedWithPerson,
        CrisisStep::MeansRemoved,
        CrisisStep::HandedToProfessional,
    ] {
        st.s.crisis_action(&v, &case, &crisis, step, "").unwrap();
    }
    let now = now_millis();
    let due = st.s.cases_due(None, now, now).unwrap();
    assert_eq!(due[0].what, "crisis", "an open crisis comes first");
    let snapshot = heads(&st.s);
    assert!(matches!(
        st.s.close_crisis(&v, &case, &crisis, Tier::T2, "")
            .unwrap_err(),
        StoreError::Dispatch(DispatchError::PermissionDenied { .. })
    ));
    assert_eq!(heads(&st.s), snapshot);
    let state =
        st.s.close_crisis(
            &st.counselor.clone(),
            &case,
            &crisis,
            Tier::T2,
            "safety plan agreed",
        )
        .unwrap();
    assert_eq!(state.tier, Tier::T2);
    assert_eq!(state.crises[0].actions.len(), 3);
    assert!(
        st.s.crisis_action(&v, &case, &crisis, CrisisStep::Other, "")
            .is_err(),
        "closed"
    );
    // mhGAP: weekly follow-up after a crisis.
    let (_, state) = st.s.case(&case, now).unwrap();
    let followup = state.due.iter().find(|d| d.what == "followup").unwrap();
    let opened = state.crises[0].opened_at;
    assert_eq!(followup.due_at, opened + 7 * DAY);
    st.s.case_entry(
        &v,
        &case,
        CaseAction::Visit {
            minutes: 30,
            note: "电话随访".into(),
        },
    )
    .unwrap();
    // A visit in week 9 moves the next follow-up to every two weeks.
    let mut c = st.s.get::<Case>(case.as_str()).unwrap();
    let e = c
        .events
        .values_mut()
        .find(|e| matches!(e.action, CaseAction::Visit { .. }))
        .unwrap();
    e.at = opened + 60 * DAY;
    let state = fold(&c, Policy::builtin().unwrap(), now);
    let followup = state.due.iter().find(|d| d.what == "followup").unwrap();
    assert_eq!(followup.due_at, opened + 56 * DAY + 14 * DAY);
    assert!(st.s.check().unwrap().is_ok());
}

#[test]
fn bad_input_is_refused_and_saves_nothing() {
    let mut st = station();
    let snapshot = heads(&st.s);
    // An answer out of range, smuggled into a result.
    let mut bad = result("phq9", &[0; 9]);
    bad.answers.insert("4".into(), 7);
    let err = screen(&mut st, |s| s.volunteer.clone(), vec![bad]).unwrap_err();
    assert!(matches!(
        err,
        StoreError::Screening(ScreeningError::OutOfRange { .. })
    ));
    assert!(!err.to_string().contains('7'));
    // A required item missing.
    let mut missing = result("gad7", &[0; 7]);
    missing.answers.remove("3");
    assert!(matches!(
        screen(&mut st, |s| s.volunteer.clone(), vec![missing]).unwrap_err(),
        StoreError::Screening(ScreeningError::MissingAnswer { .. })
    ));
    // A tampered tier is recomputed, not trusted.
    let mut forged = result("phq9", &[3; 9]);
    forged.tier = Tier::T0;
    // Another version of the instrument.
    let mut old = result("phq9", &[0; 9]);
    old.version = "1999".into();
    assert!(matches!(
        screen(&mut st, |s| s.volunteer.clone(), vec![old]).unwrap_err(),
        StoreError::Invalid(_)
    ));
    assert!(matches!(
        screen(&mut st, |s| s.volunteer.clone(), vec![]).unwrap_err(),
        StoreError::Invalid(_)
    ));
    // A resident of another household.
    st.resident = ResidentId::random();
    assert!(matches!(
        screen(
            &mut st,
            |s| s.volunteer.clone(),
            vec![result("phq9", &[0; 9])]
        )
        .unwrap_err(),
        StoreError::NotFound {
            kind: "resident",
            ..
        }
    ));
    assert_eq!(heads(&st.s), snapshot);
    let mut st = station();
    let rec = screen(&mut st, |s| s.volunteer.clone(), vec![forged]).unwrap();
    assert_eq!(rec.decision.tier, Tier::Crisis);
}

#[test]
fn a_review_on_one_phone_and_a_screening_on_another_merge_the_same_in_every_order() {
    let mut st = station();
    let rec = screen(
        &mut st,
        |s| s.volunteer.clone(),
        vec![result("phq9", &[2, 2, 2, 2, 1, 1, 1, 1, 0])],
    )
    .unwrap();
    assert_eq!(rec.decision.tier, Tier::T2);
    let join = SyncConfig {
        join: true,
        ..SyncConfig::default()
    };
    let mut a = Store::open(":memory:", StoreOptions::default()).unwrap();
    let mut b = Store::open(":memory:", StoreOptions::default()).unwrap();
    assert!(run(&mut a, &mut st.s, &join, &LinkConfig::perfect()).completed());
    assert!(run(&mut b, &mut st.s, &join, &LinkConfig::perfect()).completed());
    assert!(a.has_document(rec.case_id.as_str()).unwrap());

    // Apart: the counselor reviews on phone A; a volunteer screens again on B.
    a.review_screening(
        &st.counselor,
        &rec.case_id,
        &rec.screening,
        Tier::T1,
        "mild on interview",
    )
    .unwrap();
    b.record_screening(
        &st.volunteer,
        NewScreening {
            household_id: st.household.clone(),
            resident_id: st.resident.clone(),
            team: None,
            results: vec![result("phq9", &[3, 3, 3, 3, 2, 2, 2, 2, 0])],
        },
        Library::builtin().unwrap(),
    )
    .unwrap();
    // Merge in both orders, through the station and directly.
    let cfg = SyncConfig::default();
    assert!(run(&mut a, &mut b, &cfg, &LinkConfig::perfect()).completed());
    assert!(run(&mut b, &mut st.s, &cfg, &LinkConfig::perfect()).completed());
    assert!(run(&mut a, &mut st.s, &cfg, &LinkConfig::perfect()).completed());
    let now = now_millis();
    let fa = a.case(&rec.case_id, now).unwrap().1;
    let fb = b.case(&rec.case_id, now).unwrap().1;
    let fs = st.s.case(&rec.case_id, now).unwrap().1;
    assert_eq!(fa, fb);
    assert_eq!(fa, fs);
    assert_eq!(fa.screenings.len(), 2);
    assert_eq!(fa.screenings[0].review.as_ref().unwrap().tier, Tier::T1);
    assert_eq!(a.export_json().unwrap(), b.export_json().unwrap());
    assert_eq!(
        a.index_fingerprint().unwrap(),
        st.s.index_fingerprint().unwrap()
    );
    assert!(a.check().unwrap().is_ok() && b.check().unwrap().is_ok());
}

#[test]
fn two_phones_opening_the_same_residents_file_while_apart_write_into_one_document() {
    let mut st = station();
    let join = SyncConfig {
        join: true,
        ..SyncConfig::default()
    };
    let mut a = Store::open(":memory:", StoreOptions::default()).unwrap();
    let mut b = Store::open(":memory:", StoreOptions::default()).unwrap();
    assert!(run(&mut a, &mut st.s, &join, &LinkConfig::perfect()).completed());
    assert!(run(&mut b, &mut st.s, &join, &LinkConfig::perfect()).completed());
    let ns = |results| NewScreening {
        household_id: st.household.clone(),
        resident_id: st.resident.clone(),
        team: None,
        results,
    };
    let lib = Library::builtin().unwrap();
    let ra = a
        .record_screening(&st.counselor, ns(vec![result("gad7", &[3; 7])]), lib)
        .unwrap();
    let rb = b
        .record_screening(&st.volunteer, ns(vec![result("who5", &[1; 5])]), lib)
        .unwrap();
    assert_eq!(ra.case_id, rb.case_id);
    let cfg = SyncConfig::default();
    assert!(run(&mut a, &mut b, &cfg, &LinkConfig::perfect()).completed());
    let (case, state) = a.case(&ra.case_id, now_millis()).unwrap();
    assert_eq!(case.events.len(), 2, "both screenings survive the merge");
    assert_eq!(state.tier, Tier::T2);
    assert_eq!(a.export_json().unwrap(), b.export_json().unwrap());
}

#[test]
fn a_volunteers_screening_reaches_the_case_team_and_leaves_the_phone() {
    let mut st = station();
    let join = SyncConfig {
        join: true,
        ..SyncConfig::default()
    };
    let mut phone = Store::open(":memory:", StoreOptions::default()).unwrap();
    phone
        .set_scopes(&["station".into(), format!("grid:{}", st.grid)])
        .unwrap();
    assert!(run(&mut phone, &mut st.s, &join, &LinkConfig::perfect()).completed());
    let rec = phone
        .record_screening(
            &st.volunteer,
            NewScreening {
                household_id: st.household.clone(),
                resident_id: st.resident.clone(),
                team: None,
                results: vec![result("phq9", &[1, 1, 1, 0, 0, 1, 0, 0, 1])],
            },
            Library::builtin().unwrap(),
        )
        .unwrap();
    assert_eq!(rec.case_tier, Tier::Crisis);
    // Meeting another volunteer's phone (no case team) hands nothing on.
    let mut other = Store::open(":memory:", StoreOptions::default()).unwrap();
    other
        .set_scopes(&["station".into(), format!("grid:{}", st.grid)])
        .unwrap();
    assert!(run(&mut other, &mut st.s, &join, &LinkConfig::perfect()).completed());
    let r = run(
        &mut phone,
        &mut other,
        &SyncConfig::default(),
        &LinkConfig::perfect(),
    );
    assert!(r.completed());
    assert!(!other.has_document(rec.case_id.as_str()).unwrap());
    assert!(phone.has_document(rec.case_id.as_str()).unwrap());
    // Meeting the station (which holds the case team): handed on, then purged.
    let r = run(
        &mut phone,
        &mut st.s,
        &SyncConfig::default(),
        &LinkConfig::perfect(),
    );
    assert!(r.completed(), "{:?}", r.initiator.error);
    assert!(
        r.responder.quarantined.is_empty(),
        "{:?}",
        r.responder.quarantined
    );
    assert!(st.s.has_document(rec.case_id.as_str()).unwrap());
    assert_eq!(
        st.s.case(&rec.case_id, now_millis()).unwrap().1.tier,
        Tier::Crisis
    );
    assert!(r.initiator.purged.contains(&rec.case_id.to_string()));
    assert!(!phone.has_document(rec.case_id.as_str()).unwrap());
    assert!(phone.check().unwrap().is_ok() && st.s.check().unwrap().is_ok());
}

/// The built-in policy with a deployment's own t2 deadlines: review within
/// 6 hours instead of 24, re-screen after 21 days instead of 14.
fn deployment_policy() -> Arc<Policy> {
    let json = include_str!("../../instruments/policy.json").replace(
        r#""t2": {"response_hours": 72, "review_hours": 24, "rescreen_days": 14"#,
        r#""t2": {"response_hours": 72, "review_hours": 6, "rescreen_days": 21"#,
    );
    let policy = Policy::from_json("deployment.json", &json).unwrap();
    assert_ne!(
        policy.fingerprint(),
        Policy::builtin().unwrap().fingerprint()
    );
    Arc::new(policy)
}

/// (review due − screened at, re-screen due − screened at) of the one case.
fn t2_deadlines(s: &Store) -> (Millis, Millis) {
    let now = now_millis();
    let due = s.cases_due(None, now - DAY, now + 60 * DAY).unwrap();
    let case = &due[0].case_id;
    let (_, state) = s.case(&CaseId(case.clone()), now).unwrap();
    let at = state.screenings[0].at;
    let of = |what: &str| {
        due.iter()
            .find(|d| d.what == what)
            .unwrap_or_else(|| panic!("{what} is due"))
            .due_at
            - at
    };
    (of("review"), of("rescreen"))
}

#[test]
fn a_deployments_policy_sets_the_deadlines_and_the_index_follows_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("station.db");
    let path = path.to_str().unwrap();
    let deployment = || StoreOptions {
        policy: Some(deployment_policy()),
        ..Default::default()
    };
    let mut st = station_at(path, deployment());
    // PHQ-9 of 12, no red flag: t2.
    let rec = screen(
        &mut st,
        |s| s.volunteer.clone(),
        vec![result("phq9", &[2, 2, 2, 2, 2, 1, 1, 0, 0])],
    )
    .unwrap();
    assert_eq!(rec.decision.tier, Tier::T2);
    assert_eq!(t2_deadlines(&st.s), (6 * HOUR, 21 * DAY));
    assert!(st.s.check().unwrap().is_ok());
    drop(st);

    // The same file opened with the built-in policy: the index is rebuilt
    // with its deadlines, and agrees with a rebuild.
    let mut builtin = Store::open(path, StoreOptions::default()).unwrap();
    assert_eq!(t2_deadlines(&builtin), (24 * HOUR, 14 * DAY));
    assert!(builtin.check().unwrap().is_ok());
    drop(builtin);
    let mut again = Store::open(path, deployment()).unwrap();
    assert_eq!(t2_deadlines(&again), (6 * HOUR, 21 * DAY));
    assert!(again.check().unwrap().is_ok());
}
