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

/// A configuration that enrols a new device holding everything the
/// station laptop holds.
fn join(station: &mut Store) -> SyncConfig {
    crate::fixture::enrol_everything(station).unwrap()
}

fn worker(s: &mut Store, name: &str, role: Role, grid: Option<&GridId>) -> Author {
    Author::Worker(
        s.people_mut()
            .add_worker(
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
    s.setup_mut().init_station("站").unwrap();
    let c = s
        .setup_mut()
        .add_community(&Author::System, "社区")
        .unwrap();
    let grid = s.setup_mut().add_grid(&Author::System, &c, "A").unwrap();
    let volunteer = worker(&mut s, "志愿甲", Role::Volunteer, Some(&grid));
    let social_worker = worker(&mut s, "社工", Role::SocialWorker, None);
    let counselor = worker(&mut s, "咨询师", Role::Counselor, None);
    let household = s
        .households_mut()
        .add_household(&Author::System, &grid, address("301"))
        .unwrap();
    let resident = s
        .households_mut()
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
    st.s.cases_mut().record_screening(
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

/// The counselor signs at the station's desk with her own identity file (a
/// professional's sign-off is never the station's): runs `f` with the store
/// and her, then the laptop writes as itself again.
fn as_professional<R>(st: &mut Station, f: impl FnOnce(&mut Store, &Author) -> R) -> R {
    let counselor = st.counselor.clone();
    let Author::Worker(w) = &counselor else {
        unreachable!("the counselor is a worker")
    };
    let file =
        st.s.issue_identity(&Author::System, w, 1, "correct horse")
            .unwrap();
    st.s.sign_as(&file, "correct horse").unwrap();
    let out = f(&mut st.s, &counselor);
    st.s.sign_as_device();
    out
}

fn heads(s: &Store) -> String {
    s.index_fingerprint().unwrap() + &s.export_json().unwrap()
}

#[test]
fn a_red_flag_opens_the_crisis_path_and_a_professional_reviews_it() {
    let mut st = station();
    let before =
        st.s.households()
            .households_in_grid(&st.grid, 10, 0)
            .unwrap();
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
    let rows =
        st.s.households()
            .households_in_grid(&st.grid, 10, 0)
            .unwrap();
    assert_eq!(rows[0].priority, Priority::P1);
    assert!(rows[0]
        .reasons
        .contains(&"mental_health_crisis_or_t3".to_string()));
    assert_eq!(
        st.s.orders().report().unwrap().station.cases_by_tier["crisis"],
        Count::FewerThan5
    );

    // The review is due within the crisis tier's review hours, station-wide
    // and for the volunteer who screened.
    let now = now_millis();
    let due = st.s.cases().cases_due(None, now, now + 3 * HOUR).unwrap();
    let review = due
        .iter()
        .find(|d| d.what == "review")
        .expect("a review is due");
    assert!(review.due_at <= now + 2 * HOUR + 60_000);
    let mine =
        st.s.cases()
            .cases_due(st.volunteer.worker(), now, now + 3 * HOUR)
            .unwrap();
    assert!(mine.iter().any(|d| d.what == "review"));
    // Overdue once the deadline passed.
    let later =
        st.s.cases()
            .cases_due(None, now + 3 * HOUR, now + 3 * HOUR)
            .unwrap();
    assert!(later.iter().find(|d| d.what == "review").unwrap().overdue);

    // A volunteer may not review: typed error, nothing saved.
    let snapshot = heads(&st.s);
    let err =
        st.s.cases_mut()
            .review_screening(
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

    // The counselor's review grades the sitting t2, with the reason; the
    // crisis the red flag opened still holds the case until it is closed.
    let state = as_professional(&mut st, |s, c| {
        s.cases_mut()
            .review_screening(
                c,
                &rec.case_id,
                &rec.screening,
                Tier::T2,
                "assessed in person: passive ideation, no plan",
            )
            .unwrap()
    });
    assert_eq!(state.tier, Tier::Crisis);
    assert!(state.screenings[0].review.is_some());
    let crisis = rec
        .crisis_opened
        .clone()
        .expect("the red flag opened a crisis");
    let state = as_professional(&mut st, |s, c| {
        s.cases_mut()
            .close_crisis(c, &rec.case_id, &crisis, Tier::T2, "safety plan agreed")
            .unwrap()
    });
    assert_eq!(state.tier, Tier::T2);
    assert!(!st
        .s
        .cases()
        .cases_due(None, now, now + 3 * HOUR)
        .unwrap()
        .iter()
        .any(|d| d.what == "review"));
    assert_ne!(
        st.s.households()
            .households_in_grid(&st.grid, 10, 0)
            .unwrap()[0]
            .priority,
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
        st.s.cases_mut()
            .refer(
                &st.social_worker.clone(),
                &rec.case_id,
                Tier::T3,
                "区精神卫生中心",
                "no improvement",
            )
            .unwrap();
    let (_, state) = st.s.cases().case(&rec.case_id, now_millis()).unwrap();
    assert_eq!(state.tier, Tier::T3, "a referral up raises the tier");
    let referral = &state.referrals[0];
    assert_eq!(referral.status, ReferralStatus::Proposed);
    assert!(!referral.escalated);
    // 24 h for a t3 referral; after that it is escalated.
    let (_, late) =
        st.s.cases()
            .case(&rec.case_id, now_millis() + 25 * HOUR)
            .unwrap();
    assert!(late.referrals[0].escalated);

    let sw = st.social_worker.clone();
    for status in [ReferralStatus::Sent, ReferralStatus::Acknowledged] {
        st.s.cases_mut()
            .update_referral(&sw, &rec.case_id, &r, status, "")
            .unwrap();
    }
    let (_, late) =
        st.s.cases()
            .case(&rec.case_id, now_millis() + 25 * HOUR)
            .unwrap();
    assert!(
        !late.referrals[0].escalated,
        "acknowledged in time: no escalation"
    );
    // Backwards is refused; a volunteer cannot close it.
    let snapshot = heads(&st.s);
    assert!(matches!(
        st.s.cases_mut()
            .update_referral(&sw, &rec.case_id, &r, ReferralStatus::Sent, "")
            .unwrap_err(),
        StoreError::Dispatch(DispatchError::Forbidden { .. })
    ));
    st.s.cases_mut()
        .update_referral(&sw, &rec.case_id, &r, ReferralStatus::Seen, "")
        .unwrap();
    let snapshot2 = heads(&st.s);
    assert_ne!(snapshot, snapshot2);
    assert!(matches!(
        st.s.cases_mut()
            .update_referral(
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
        st.s.cases_mut()
            .update_referral(
                &sw,
                &rec.case_id,
                &r,
                ReferralStatus::Closed,
                "seen by psychiatrist",
            )
            .unwrap();
    assert_eq!(state.referrals[0].status, ReferralStatus::Closed);
    assert!(matches!(
        st.s.cases_mut()
            .update_referral(
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
        st.s.cases_mut()
            .open_crisis(&v, &h, &r, "said he has pills saved up")
            .unwrap();
    for step in [
        CrisisStep::StayedWithPerson,
        CrisisStep::MeansRemoved,
        CrisisStep::HandedToProfessional,
    ] {
        st.s.cases_mut()
            .crisis_action(&v, &case, &crisis, step, "")
            .unwrap();
    }
    let now = now_millis();
    let due = st.s.cases().cases_due(None, now, now).unwrap();
    assert_eq!(due[0].what, "crisis", "an open crisis comes first");
    let snapshot = heads(&st.s);
    assert!(matches!(
        st.s.cases_mut()
            .close_crisis(&v, &case, &crisis, Tier::T2, "")
            .unwrap_err(),
        StoreError::Dispatch(DispatchError::PermissionDenied { .. })
    ));
    assert_eq!(heads(&st.s), snapshot);
    let state = as_professional(&mut st, |s, c| {
        s.cases_mut()
            .close_crisis(c, &case, &crisis, Tier::T2, "safety plan agreed")
            .unwrap()
    });
    assert_eq!(state.tier, Tier::T2);
    assert_eq!(state.crises[0].actions.len(), 3);
    assert!(
        st.s.cases_mut()
            .crisis_action(&v, &case, &crisis, CrisisStep::Other, "")
            .is_err(),
        "closed"
    );
    // mhGAP: weekly follow-up after a crisis.
    let (_, state) = st.s.cases().case(&case, now).unwrap();
    let followup = state.due.iter().find(|d| d.what == "followup").unwrap();
    let opened = state.crises[0].opened_at;
    assert_eq!(followup.due_at, opened + 7 * DAY);
    st.s.cases_mut()
        .case_entry(
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
    let mut a = Store::open(":memory:", StoreOptions::default()).unwrap();
    let mut b = Store::open(":memory:", StoreOptions::default()).unwrap();
    // Phone A is the counselor's own.
    let enrol = crate::fixture::enrol_as(
        &mut st.s,
        Role::Counselor,
        Some(vec!["station".into(), "grid:*".into(), "case:main".into()]),
    )
    .unwrap();
    assert!(run(&mut a, &mut st.s, &enrol, &LinkConfig::perfect()).completed());
    let enrol = join(&mut st.s);
    assert!(run(&mut b, &mut st.s, &enrol, &LinkConfig::perfect()).completed());
    assert!(a.replica().has_document(rec.case_id.as_str()).unwrap());

    // Apart: the counselor reviews on phone A; a volunteer screens again on B.
    a.cases_mut()
        .review_screening(
            &st.counselor,
            &rec.case_id,
            &rec.screening,
            Tier::T1,
            "mild on interview",
        )
        .unwrap();
    b.cases_mut()
        .record_screening(
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
    let fa = a.cases().case(&rec.case_id, now).unwrap().1;
    let fb = b.cases().case(&rec.case_id, now).unwrap().1;
    let fs = st.s.cases().case(&rec.case_id, now).unwrap().1;
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
    let mut a = Store::open(":memory:", StoreOptions::default()).unwrap();
    let mut b = Store::open(":memory:", StoreOptions::default()).unwrap();
    let enrol = join(&mut st.s);
    assert!(run(&mut a, &mut st.s, &enrol, &LinkConfig::perfect()).completed());
    let enrol = join(&mut st.s);
    assert!(run(&mut b, &mut st.s, &enrol, &LinkConfig::perfect()).completed());
    let ns = |results| NewScreening {
        household_id: st.household.clone(),
        resident_id: st.resident.clone(),
        team: None,
        results,
    };
    let lib = Library::builtin().unwrap();
    let ra = a
        .cases_mut()
        .record_screening(&st.counselor, ns(vec![result("gad7", &[3; 7])]), lib)
        .unwrap();
    let rb = b
        .cases_mut()
        .record_screening(&st.volunteer, ns(vec![result("who5", &[1; 5])]), lib)
        .unwrap();
    assert_eq!(ra.case_id, rb.case_id);
    let cfg = SyncConfig::default();
    assert!(run(&mut a, &mut b, &cfg, &LinkConfig::perfect()).completed());
    let (case, state) = a.cases().case(&ra.case_id, now_millis()).unwrap();
    assert_eq!(case.events.len(), 2, "both screenings survive the merge");
    assert_eq!(state.tier, Tier::T2);
    assert_eq!(a.export_json().unwrap(), b.export_json().unwrap());
}

#[test]
fn a_volunteers_screening_reaches_the_case_team_and_leaves_the_phone() {
    let mut st = station();
    let mut phone = Store::open(":memory:", StoreOptions::default()).unwrap();
    phone
        .set_scope_keys(&["station".into(), format!("grid:{}", st.grid)])
        .unwrap();
    let enrol = join(&mut st.s);
    assert!(run(&mut phone, &mut st.s, &enrol, &LinkConfig::perfect()).completed());
    let rec = phone
        .cases_mut()
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
        .set_scope_keys(&["station".into(), format!("grid:{}", st.grid)])
        .unwrap();
    let enrol = join(&mut st.s);
    assert!(run(&mut other, &mut st.s, &enrol, &LinkConfig::perfect()).completed());
    let r = run(
        &mut phone,
        &mut other,
        &SyncConfig::default(),
        &LinkConfig::perfect(),
    );
    assert!(r.completed());
    assert!(!other.replica().has_document(rec.case_id.as_str()).unwrap());
    assert!(phone.replica().has_document(rec.case_id.as_str()).unwrap());
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
    assert!(st.s.replica().has_document(rec.case_id.as_str()).unwrap());
    assert_eq!(
        st.s.cases()
            .case(&rec.case_id, now_millis())
            .unwrap()
            .1
            .tier,
        Tier::Crisis
    );
    assert!(r.initiator.purged.contains(&rec.case_id.to_string()));
    assert!(!phone.replica().has_document(rec.case_id.as_str()).unwrap());
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
    let due = s
        .cases()
        .cases_due(None, now - DAY, now + 60 * DAY)
        .unwrap();
    let case = &due[0].case_id;
    let (_, state) = s.cases().case(&CaseId(case.clone()), now).unwrap();
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

// ---- Issue 11: a review applies to its own screening; a red flag always
// opens the crisis path; no improvement is escalated ----

#[test]
fn reviewing_an_older_screening_never_hides_a_newer_red_flag() {
    let mut st = station();
    // t2, then a red flag (crisis), then a counselor reviews the FIRST to t0.
    let first = screen(
        &mut st,
        |s| s.volunteer.clone(),
        vec![result("phq9", &[2, 2, 2, 2, 1, 1, 0, 0, 0])],
    )
    .unwrap();
    assert_eq!(first.decision.tier, Tier::T2);
    let second = screen(
        &mut st,
        |s| s.volunteer.clone(),
        vec![result("phq9", &[2, 2, 2, 2, 1, 1, 0, 0, 1])],
    )
    .unwrap();
    assert_eq!(second.decision.tier, Tier::Crisis);
    let state = as_professional(&mut st, |s, c| {
        s.cases_mut()
            .review_screening(
                c,
                &first.case_id,
                &first.screening,
                Tier::T0,
                "situational, resolved",
            )
            .unwrap()
    });
    assert_eq!(state.tier, Tier::Crisis, "{:?}", state.tier_reasons);
    // Still P1, still counted as a crisis, re-screen on the crisis interval.
    let rows =
        st.s.households()
            .households_in_grid(&st.grid, 10, 0)
            .unwrap();
    assert_eq!(rows[0].priority, Priority::P1);
    assert_eq!(
        st.s.orders().report().unwrap().station.cases_by_tier["crisis"],
        Count::FewerThan5
    );
    let rescreen = state.due.iter().find(|d| d.what == "rescreen").unwrap();
    assert_eq!(rescreen.due_at, state.screenings[1].at + 7 * DAY);
    // Even with the crisis closed, the unreviewed red-flag sitting it did
    // not cover would hold the case: here the crisis covers it, so closing
    // it settles the sitting with the professional's tier.
    let crisis = second.crisis_opened.clone().unwrap();
    let state = as_professional(&mut st, |s, c| {
        s.cases_mut()
            .close_crisis(c, &first.case_id, &crisis, Tier::T2, "safety plan")
            .unwrap()
    });
    assert_eq!(state.tier, Tier::T2);
    assert_eq!(state.screenings[1].current_tier(), Tier::T2);
    assert!(st.s.check().unwrap().is_ok());
}

#[test]
fn a_red_flag_sitting_opens_its_crisis_in_the_same_write() {
    let mut st = station();
    let before = heads(&st.s);
    let rec = screen(
        &mut st,
        |s| s.volunteer.clone(),
        vec![result("phq9", &[1, 1, 1, 0, 0, 1, 0, 0, 1])],
    )
    .unwrap();
    let crisis = rec
        .crisis_opened
        .clone()
        .expect("a crisis record was opened");
    assert_eq!(rec.open_crises, vec![crisis.clone()]);
    assert_ne!(heads(&st.s), before);
    let (case, state) = st.s.cases().case(&rec.case_id, now_millis()).unwrap();
    // One write: two events in one change (the history has one entry for it).
    assert_eq!(case.events.len(), 2);
    let opened = state.open_crises().next().unwrap();
    assert_eq!(opened.id, crisis);
    assert_eq!(opened.covers, vec![rec.screening.clone()]);
    // The reason names the flag and the instrument, never an answer.
    assert_eq!(
        opened.reason,
        "screening: red flag suicidal_ideation (phq9)"
    );
    // It leads what is due.
    let now = now_millis();
    let due = st.s.cases().cases_due(None, now, now + DAY).unwrap();
    assert_eq!(
        (due[0].what.as_str(), due[0].reference.as_str()),
        ("crisis", crisis.as_str())
    );

    // A second red-flag sitting while it is open opens no second crisis;
    // the open one covers it.
    let again = screen(
        &mut st,
        |s| s.volunteer.clone(),
        vec![result("phq9", &[0, 0, 0, 0, 0, 0, 0, 0, 2])],
    )
    .unwrap();
    assert_eq!(again.crisis_opened, None);
    assert_eq!(again.open_crises, vec![crisis.clone()]);
    let (_, state) = st.s.cases().case(&rec.case_id, now).unwrap();
    assert_eq!(state.crises.len(), 1);
    assert_eq!(
        state.crises[0].covers,
        vec![rec.screening.clone(), again.screening.clone()]
    );

    // Closed by a professional: both sittings settled, a new red flag later
    // opens a new crisis.
    as_professional(&mut st, |s, c| {
        s.cases_mut()
            .close_crisis(c, &rec.case_id, &crisis, Tier::T2, "assessed")
            .unwrap()
    });
    let third = screen(
        &mut st,
        |s| s.volunteer.clone(),
        vec![result("phq9", &[0, 0, 0, 0, 0, 0, 0, 0, 1])],
    )
    .unwrap();
    assert!(third.crisis_opened.is_some());
    assert_ne!(third.crisis_opened, Some(crisis));

    // A sitting whose red flag a risk assessment graded below crisis opens
    // none: the assessment was the crisis path's first step.
    let mut st = station();
    let graded = screen(
        &mut st,
        |s| s.counselor.clone(),
        vec![
            result("phq9", &[1, 1, 1, 0, 0, 1, 0, 0, 1]),
            result("cssrs", &[1, 0, 0]),
        ],
    )
    .unwrap();
    assert_eq!(
        (graded.decision.tier, graded.crisis_opened),
        (Tier::T2, None)
    );
    // A refused sitting writes nothing, crisis included.
    let before = heads(&st.s);
    let mut bad = result("phq9", &[1, 1, 1, 0, 0, 1, 0, 0, 1]);
    bad.version = "1999".into();
    assert!(screen(&mut st, |s| s.volunteer.clone(), vec![bad]).is_err());
    assert_eq!(heads(&st.s), before);
}

/// A case built by hand, events at chosen times, folded with the policy.
fn case_with(events: Vec<(Millis, Role, CaseAction)>) -> Case {
    let resident = ResidentId::random();
    let mut case = Case::skeleton(&resident, &HouseholdId::random(), "main");
    for (at, role, action) in events {
        let id = EventId::random();
        case.events.insert(
            id.to_string(),
            CaseEvent {
                id,
                at,
                by: WorkerId::random(),
                role,
                action,
            },
        );
    }
    case
}

fn screened(tier: Tier) -> CaseAction {
    let r = result("phq9", &[2, 2, 2, 2, 1, 1, 0, 0, 0]);
    CaseAction::Screened {
        results: vec![r],
        tier,
        reasons: vec![format!("{}: test", tier.as_str())],
    }
}

#[test]
fn a_t2_case_that_does_not_improve_in_four_weeks_is_escalated() {
    let policy = Policy::builtin().unwrap();
    let t0 = 1_790_000_000_000;
    let escalate = |c: &Case| {
        fold(c, policy, t0)
            .due
            .into_iter()
            .find(|d| d.what == "escalate")
    };
    // Two weeks: too early.
    let c = case_with(vec![
        (t0, Role::Volunteer, screened(Tier::T2)),
        (t0 + 14 * DAY, Role::Volunteer, screened(Tier::T2)),
    ]);
    assert!(escalate(&c).is_none());
    // Four weeks, still t2: escalate, due at the re-screen, naming it.
    let mut c = case_with(vec![
        (t0, Role::Volunteer, screened(Tier::T2)),
        (t0 + 28 * DAY, Role::Volunteer, screened(Tier::T2)),
    ]);
    let due = escalate(&c).expect("escalate is due");
    let state = fold(&c, policy, t0);
    assert_eq!(
        (due.due_at, due.reference),
        (t0 + 28 * DAY, state.screenings[1].id.to_string())
    );
    // A referral above t2 made since settles it.
    let id = EventId::random();
    c.events.insert(
        id.to_string(),
        CaseEvent {
            id: id.clone(),
            at: t0 + 29 * DAY,
            by: WorkerId::random(),
            role: Role::Counselor,
            action: CaseAction::ReferralProposed {
                referral: id,
                tier: Tier::T3,
                to: "精神科".into(),
                reason: "no improvement".into(),
            },
        },
    );
    assert!(escalate(&c).is_none());
    // Improved on the re-screen: nothing to escalate.
    let c = case_with(vec![
        (t0, Role::Volunteer, screened(Tier::T2)),
        (t0 + 30 * DAY, Role::Volunteer, screened(Tier::T1)),
    ]);
    assert!(escalate(&c).is_none());
    // Improved between, back at t2 since: the run restarts.
    let c = case_with(vec![
        (t0, Role::Volunteer, screened(Tier::T2)),
        (t0 + 14 * DAY, Role::Volunteer, screened(Tier::T1)),
        (t0 + 35 * DAY, Role::Volunteer, screened(Tier::T2)),
    ]);
    // (the t1 sitting is unreviewed and the earlier t2 too, so the case is t2)
    assert!(escalate(&c).is_none());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// No sequence of professional reviews of other screenings lowers the
    /// case below the highest tier of a screening nobody reviewed.
    #[test]
    fn reviews_of_other_screenings_never_lower_the_case_below_an_unreviewed_one(
        tiers in proptest::collection::vec(0usize..5, 1..6),
        reviews in proptest::collection::vec((0usize..6, 0usize..5, proptest::bool::ANY), 0..8),
    ) {
        let policy = Policy::builtin().unwrap();
        let t0 = 1_790_000_000_000;
        let mut events = Vec::new();
        for (i, t) in tiers.iter().enumerate() {
            events.push((t0 + i as Millis * DAY, Role::Volunteer, screened(Tier::ALL[*t])));
        }
        let mut case = case_with(events);
        let ids: Vec<EventId> = fold(&case, policy, t0).screenings.iter().map(|s| s.id.clone()).collect();
        for (k, (which, tier, professional)) in reviews.iter().enumerate() {
            let id = EventId::random();
            case.events.insert(id.to_string(), CaseEvent {
                id,
                at: t0 + (10 + k as Millis) * DAY,
                by: WorkerId::random(),
                role: if *professional { Role::Counselor } else { Role::Volunteer },
                action: CaseAction::Reviewed {
                    screening: ids[which % ids.len()].clone(),
                    tier: Tier::ALL[*tier],
                    reason: "r".into(),
                },
            });
        }
        let state = fold(&case, policy, t0);
        let unreviewed = state.screenings.iter().filter(|s| s.review.is_none()).map(|s| s.tier).max();
        if let Some(t) = unreviewed {
            proptest::prop_assert!(state.tier >= t, "{:?} < {:?}", state.tier, t);
        }
        // And the case is never below any screening's current tier of the
        // latest reviewed sitting either.
        proptest::prop_assert!(state.tier >= state.screenings.iter().map(|s| s.current_tier()).min().unwrap());
    }
}
