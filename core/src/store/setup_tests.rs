//! Setting up and running a station through the store: places, people,
//! rosters, training and supervision, activities, the role rules, and
//! spreadsheet imports (good file, bad rows, dry run, re-import).

use super::tests::address;
use super::*;
use crate::dispatch::DispatchError;

fn denied(e: StoreError) -> bool {
    matches!(
        e,
        StoreError::Dispatch(DispatchError::PermissionDenied { .. })
    )
}

struct Setup {
    s: Store,
    admin: Author,
    dispatcher: Author,
    volunteer: Author,
    grid: GridId,
    community: CommunityId,
}

fn new_worker(name: &str, phone: &str, role: Role, grid: Option<&GridId>) -> NewWorker {
    NewWorker {
        name: name.into(),
        phone: phone.into(),
        role,
        grid_id: grid.cloned(),
        skills: vec![],
    }
}

/// A station set up as a coordinator would: the device creates the first
/// admin (bootstrap), who does everything else.
fn setup() -> Setup {
    let mut s = Store::open(":memory:", StoreOptions::default()).unwrap();
    s.setup_mut().init_station("中南路安心小屋").unwrap();
    let admin = Author::Worker(
        s.people_mut()
            .add_worker(
                &Author::System,
                new_worker("站长", "13800000000", Role::StationAdmin, None),
            )
            .unwrap(),
    );
    let community = s.setup_mut().add_community(&admin, "百步亭社区").unwrap();
    let grid = s
        .setup_mut()
        .add_grid(&admin, &community, "第1网格")
        .unwrap();
    let dispatcher = Author::Worker(
        s.people_mut()
            .add_worker(
                &admin,
                new_worker("调度", "13800000001", Role::Dispatcher, None),
            )
            .unwrap(),
    );
    let volunteer = Author::Worker(
        s.people_mut()
            .add_worker(
                &admin,
                new_worker("志愿者", "13800000002", Role::Volunteer, Some(&grid)),
            )
            .unwrap(),
    );
    Setup {
        s,
        admin,
        dispatcher,
        volunteer,
        grid,
        community,
    }
}

fn id(a: &Author) -> WorkerId {
    a.worker().unwrap().clone()
}

#[test]
fn a_station_named_in_chinese_reads_chinese_and_its_admin_sets_language_and_zone() {
    use crate::screening::Language;
    let mut t = setup();
    let station = t.s.station().unwrap();
    assert_eq!(station.language(), Language::ZhHans);
    assert_eq!(station.local_time().name(), "Asia/Shanghai");
    let mut english = Store::open(":memory:", StoreOptions::default()).unwrap();
    assert_eq!(
        english
            .setup_mut()
            .init_station("Riverside")
            .unwrap()
            .language(),
        Language::En
    );

    assert!(denied(
        t.s.setup_mut()
            .set_station_settings(&t.volunteer, Some(Language::En), None)
            .unwrap_err()
    ));
    let before = t.s.export_json().unwrap();
    assert!(matches!(
        t.s.setup_mut()
            .set_station_settings(&t.admin, Some(Language::En), Some("Mars/Olympus")),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        t.s.export_json().unwrap(),
        before,
        "a bad zone changes nothing"
    );
    let s =
        t.s.setup_mut()
            .set_station_settings(&t.admin, Some(Language::ZhHant), Some("Asia/Hong_Kong"))
            .unwrap();
    assert_eq!(
        (s.language(), s.local_time().name()),
        (Language::ZhHant, "Asia/Hong_Kong")
    );
}

#[test]
fn places_are_managed_by_a_station_admin_only() {
    let mut st = setup();
    let before = st.s.export_json().unwrap();
    for who in [st.volunteer.clone(), st.dispatcher.clone()] {
        assert!(denied(
            st.s.setup_mut().add_community(&who, "x").unwrap_err()
        ));
        assert!(denied(
            st.s.setup_mut()
                .add_grid(&who, &st.community, "x")
                .unwrap_err()
        ));
        assert!(denied(
            st.s.setup_mut()
                .rename_grid(&who, &st.grid, "x")
                .unwrap_err()
        ));
        assert!(denied(
            st.s.setup_mut().retire_grid(&who, &st.grid).unwrap_err()
        ));
        assert!(denied(
            st.s.people_mut()
                .add_worker(&who, new_worker("x", "", Role::Volunteer, None))
                .unwrap_err()
        ));
        assert!(denied(
            st.s.people_mut()
                .set_worker_role(&who, &id(&st.volunteer), Role::StationAdmin)
                .unwrap_err()
        ));
        assert!(denied(
            st.s.people_mut()
                .assign_to_grid(&who, &st.grid, &id(&st.volunteer), RosterRole::Lead)
                .unwrap_err()
        ));
        assert!(denied(
            st.s.people_mut()
                .set_contact_card(&who, &st.grid, ContactCard::default())
                .unwrap_err()
        ));
    }
    assert!(denied(
        st.s.setup_mut()
            .add_community(&Author::Resident(ResidentId::random()), "x")
            .unwrap_err()
    ));
    assert_eq!(
        st.s.export_json().unwrap(),
        before,
        "refused writes changed nothing"
    );
    // A duplicate name is bad input.
    let dup =
        st.s.setup_mut()
            .add_grid(&st.admin.clone(), &st.community, "第1网格")
            .unwrap_err();
    assert!(matches!(dup, StoreError::Invalid(_)));

    // Rename, then retire: history kept, no new households.
    let admin = st.admin.clone();
    let h =
        st.s.households_mut()
            .add_household(&st.volunteer.clone(), &st.grid, address("101"))
            .unwrap();
    st.s.setup_mut()
        .rename_grid(&admin, &st.grid, "第一网格")
        .unwrap();
    st.s.setup_mut().retire_grid(&admin, &st.grid).unwrap();
    let station = st.s.station().unwrap();
    let g = station.grid(&st.grid).unwrap();
    assert_eq!((g.name.as_str(), g.retired), ("第一网格", true));
    assert!(st.s.get::<Household>(h.as_str()).is_ok());
    let err =
        st.s.households_mut()
            .add_household(&st.volunteer.clone(), &st.grid, address("102"))
            .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert!(st.s.check().unwrap().is_ok());
}

#[test]
fn workers_update_change_role_and_deactivate() {
    let mut st = setup();
    let admin = st.admin.clone();
    let v = id(&st.volunteer);
    let other =
        st.s.setup_mut()
            .add_grid(&admin, &st.community, "第2网格")
            .unwrap();
    st.s.people_mut()
        .update_worker(
            &admin,
            &v,
            WorkerUpdate {
                phone: Some("13900000009".into()),
                skills: Some(vec!["driving".into()]),
                grid_id: Some(Some(other.clone())),
                ..Default::default()
            },
        )
        .unwrap();
    let w: Worker = st.s.get(v.as_str()).unwrap();
    assert_eq!(
        (w.phone.as_str(), w.grid_id.as_ref()),
        ("13900000009", Some(&other))
    );
    assert!(w.skills.contains(&"driving".to_string()));
    // A phone number already taken is refused.
    let e =
        st.s.people_mut()
            .update_worker(
                &admin,
                &v,
                WorkerUpdate {
                    phone: Some("13800000001".into()),
                    ..Default::default()
                },
            )
            .unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)));
    let e =
        st.s.people_mut()
            .add_worker(
                &admin,
                new_worker("重复", "13800000001", Role::Volunteer, None),
            )
            .unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)));

    st.s.people_mut()
        .set_worker_role(&admin, &v, Role::SocialWorker)
        .unwrap();
    assert_eq!(
        st.s.get::<Worker>(v.as_str()).unwrap().role,
        Role::SocialWorker
    );
    // The last active admin can neither step down nor be deactivated.
    assert!(denied(
        st.s.people_mut()
            .set_worker_role(&admin, &id(&admin), Role::Volunteer)
            .unwrap_err()
    ));
    assert!(denied(
        st.s.people_mut()
            .deactivate_worker(&admin, &id(&admin))
            .unwrap_err()
    ));

    // Deactivated: history and hours kept; cannot act or be dispatched to.
    let h =
        st.s.households_mut()
            .add_household(&st.volunteer.clone(), &st.grid, address("201"))
            .unwrap();
    st.s.people_mut().deactivate_worker(&admin, &v).unwrap();
    assert!(!st.s.get::<Worker>(v.as_str()).unwrap().active);
    assert!(denied(
        st.s.households_mut()
            .add_household(&st.volunteer.clone(), &st.grid, address("202"))
            .unwrap_err()
    ));
    let visit = NewVisit {
        at: now_millis(),
        needs: vec![],
        notes: String::new(),
    };
    assert!(denied(
        st.s.households_mut()
            .record_visit(&st.volunteer.clone(), &h, visit)
            .unwrap_err()
    ));
    assert!(denied(
        st.s.people_mut()
            .assign_to_grid(&admin, &st.grid, &v, RosterRole::Member)
            .unwrap_err()
    ));
    let rows = st.s.people().workers(None, None).unwrap();
    assert!(rows.iter().any(|r| r.id == v && !r.active));
}

#[test]
fn rosters_have_one_lead_and_a_contact_card() {
    let mut st = setup();
    let admin = st.admin.clone();
    let a =
        st.s.people_mut()
            .add_worker(
                &admin,
                new_worker("甲", "13800000011", Role::Volunteer, Some(&st.grid)),
            )
            .unwrap();
    let b =
        st.s.people_mut()
            .add_worker(
                &admin,
                new_worker("乙", "13800000012", Role::Volunteer, Some(&st.grid)),
            )
            .unwrap();
    st.s.people_mut()
        .assign_to_grid(&admin, &st.grid, &a, RosterRole::Lead)
        .unwrap();
    st.s.people_mut()
        .assign_to_grid(&admin, &st.grid, &b, RosterRole::Member)
        .unwrap();
    st.s.people_mut()
        .assign_to_grid(&admin, &st.grid, &b, RosterRole::Lead)
        .unwrap();
    let r = st.s.people().roster_of(&st.grid).unwrap();
    assert_eq!(r.assignments[a.as_str()].role, RosterRole::Member);
    assert_eq!(r.assignments[b.as_str()].role, RosterRole::Lead);
    st.s.people_mut()
        .unassign_from_grid(&admin, &st.grid, &a)
        .unwrap();
    assert!(!st
        .s
        .people()
        .roster_of(&st.grid)
        .unwrap()
        .assignments
        .contains_key(a.as_str()));
    assert!(matches!(
        st.s.people_mut()
            .unassign_from_grid(&admin, &st.grid, &a)
            .unwrap_err(),
        StoreError::NotFound { .. }
    ));
    let card = ContactCard {
        name: "乙".into(),
        phone: "13800000012".into(),
        hours: "8:00–20:00".into(),
    };
    st.s.people_mut()
        .set_contact_card(&admin, &st.grid, card.clone())
        .unwrap();
    assert_eq!(
        st.s.people().roster_of(&st.grid).unwrap().contact_card,
        card
    );
    let bad = ContactCard {
        phone: "not a phone".into(),
        ..card
    };
    assert!(matches!(
        st.s.people_mut()
            .set_contact_card(&admin, &st.grid, bad)
            .unwrap_err(),
        StoreError::Invalid(_)
    ));
}

#[test]
fn training_qualifies_for_psychological_support_and_supervision_is_an_activity() {
    let mut st = setup();
    let admin = st.admin.clone();
    let v = id(&st.volunteer);
    let h =
        st.s.households_mut()
            .add_household(&st.volunteer.clone(), &st.grid, address("301"))
            .unwrap();
    let order = |st: &mut Setup| {
        st.s.orders_mut()
            .create_order(
                &st.volunteer.clone(),
                NewOrder {
                    household_id: h.clone(),
                    resident_id: None,
                    kind: OrderKind::PsychologicalSupport,
                    items: vec![],
                    urgency: Urgency::Urgent,
                    deadline: None,
                    note: String::new(),
                },
            )
            .unwrap()
    };
    let o = order(&mut st);
    let d = st.dispatcher.clone();
    st.s.orders_mut()
        .order_action(
            &d,
            &o,
            OrderAction::Dispatched {
                to: Assignee::Worker(v.clone()),
            },
        )
        .unwrap();
    assert!(denied(
        st.s.orders_mut()
            .order_action(&st.volunteer.clone(), &o, OrderAction::Accepted)
            .unwrap_err()
    ));
    let training = NewTraining {
        course: "心理急救（PFA）基础".into(),
        topic: "psychological_first_aid".into(),
        trainer: "市心理援助热线".into(),
        completed_at: now_millis(),
        tenths_of_hours: 40,
    };
    assert!(denied(
        st.s.people_mut()
            .add_training(&d, &v, training.clone())
            .unwrap_err()
    ));
    st.s.people_mut()
        .add_training(&admin, &v, training)
        .unwrap();
    st.s.orders_mut()
        .order_action(&st.volunteer.clone(), &o, OrderAction::Accepted)
        .unwrap();
    // Suggestions read the training too.
    let o2 = order(&mut st);
    assert!(st
        .s
        .orders()
        .suggest_workers(&o2, 10)
        .unwrap()
        .iter()
        .any(|s| s.worker_id == v && s.trained));

    // Supervision (督导): a supervisor, attendees, topics; no case content.
    let sup =
        st.s.people_mut()
            .add_worker(
                &admin,
                new_worker("督导", "13800000021", Role::Counselor, None),
            )
            .unwrap();
    let new = NewActivity {
        kind: ActivityKind::Supervision,
        title: "哀伤辅导的边界".into(),
        grid_id: None,
        starts_at: now_millis(),
        duration_minutes: 60,
        facilitator: Some(sup.clone()),
    };
    assert!(denied(
        st.s.orders_mut()
            .add_activity(&st.volunteer.clone(), new.clone())
            .unwrap_err()
    ));
    let a = st.s.orders_mut().add_activity(&d, new).unwrap();
    st.s.orders_mut()
        .record_attendance(&d, &a, v.as_str(), AttendeeKind::Worker, true)
        .unwrap();
    // A volunteer who does not run it cannot take its attendance.
    assert!(denied(
        st.s.orders_mut()
            .record_attendance(
                &st.volunteer.clone(),
                &a,
                v.as_str(),
                AttendeeKind::Worker,
                false
            )
            .unwrap_err()
    ));
    let listed =
        st.s.orders()
            .activities(
                Some(&st.grid),
                now_millis() - 3_600_000,
                now_millis() + 3_600_000,
            )
            .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].kind, listed[0].facilitator_id.clone()),
        (ActivityKind::Supervision, sup)
    );
    assert_eq!(st.s.orders_mut().credit_activity_hours(&d, &a).unwrap(), 2);
}

fn sheet(header: &[&str], rows: &[&[&str]]) -> Sheet {
    Sheet {
        header: header.iter().map(|s| s.to_string()).collect(),
        rows: rows
            .iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect())
            .collect(),
    }
}

#[test]
fn importing_workers_checks_every_row_and_reimporting_changes_nothing() {
    let mut st = setup();
    let admin = st.admin.clone();
    let good = sheet(
        &["姓名", "手机号", "角色", "网格", "技能"],
        &[
            &["张伟", "13811110001", "志愿者", "第1网格", "driving"],
            &[
                "李娜",
                "13811110002",
                "social_worker",
                "",
                "psychological_first_aid；nursing",
            ],
        ],
    );
    // Dispatchers do not import workers.
    assert!(denied(
        st.s.setup_mut()
            .import(&st.dispatcher.clone(), ImportKind::Workers, &good, false)
            .unwrap_err()
    ));
    let before = st.s.export_json().unwrap();
    let dry =
        st.s.setup_mut()
            .import(&admin, ImportKind::Workers, &good, true)
            .unwrap();
    assert_eq!(
        (dry.created, dry.written, dry.problems.len()),
        (2, false, 0)
    );
    assert_eq!(
        st.s.export_json().unwrap(),
        before,
        "a dry run writes nothing"
    );
    let done =
        st.s.setup_mut()
            .import(&admin, ImportKind::Workers, &good, false)
            .unwrap();
    assert_eq!((done.created, done.unchanged, done.written), (2, 0, true));
    assert_eq!(
        st.s.people()
            .workers(Some(&st.grid), Some(Role::Volunteer))
            .unwrap()
            .len(),
        2
    );
    let after = st.s.export_json().unwrap();
    let again =
        st.s.setup_mut()
            .import(&admin, ImportKind::Workers, &good, false)
            .unwrap();
    assert_eq!(
        (again.created, again.unchanged, again.written),
        (0, 2, false)
    );
    assert_eq!(
        st.s.export_json().unwrap(),
        after,
        "re-importing changed nothing"
    );

    // Bad rows: every one reported with row and column, none echoing a value.
    let bad = sheet(
        &["name", "phone", "role", "grid", "colour"],
        &[
            &["王五", "13811110003", "宇航员", "第9网格", ""],
            &["", "13811110004", "volunteer", "", ""],
            &["赵六", "13811110004", "volunteer", "", ""],
            &["钱七", "not-a-phone", "volunteer", "", ""],
        ],
    );
    let r =
        st.s.setup_mut()
            .import(&admin, ImportKind::Workers, &bad, false)
            .unwrap();
    assert!(!r.written);
    let at = |row: usize, col: &str| r.problems.iter().any(|p| p.row == row && p.column == col);
    assert!(at(1, "column 5"), "{:?}", r.problems);
    assert!(at(2, "role") && at(2, "grid"), "{:?}", r.problems);
    assert!(at(3, "name"), "{:?}", r.problems);
    assert!(at(4, "phone"), "{:?}", r.problems);
    assert!(at(5, "phone"), "{:?}", r.problems);
    let text = format!("{:?}", r.problems);
    for value in ["宇航员", "第9网格", "not-a-phone", "赵六", "钱七"] {
        assert!(!text.contains(value), "a problem echoed {value}");
    }
    assert_eq!(
        st.s.export_json().unwrap(),
        after,
        "a bad file writes nothing"
    );
}

#[test]
fn importing_households_groups_residents_by_address() {
    let mut st = setup();
    let d = st.dispatcher.clone();
    let header = [
        "小区",
        "楼栋",
        "单元",
        "房号",
        "网格",
        "姓名",
        "性别",
        "出生年份",
        "电话",
        "标签",
    ];
    let good = sheet(
        &header,
        &[
            &[
                "百步亭花园",
                "3栋",
                "2单元",
                "502",
                "第1网格",
                "王秀英",
                "女",
                "1942",
                "",
                "独居老人；慢性病",
            ],
            &[
                "百步亭花园",
                "3栋",
                "2单元",
                "503",
                "第1网格",
                "王建国",
                "男",
                "1940",
                "13900000003",
                "",
            ],
            &[
                "百步亭花园",
                "3栋",
                "2单元",
                "503",
                "第1网格",
                "李桂兰",
                "女",
                "1943",
                "",
                "disabled",
            ],
            &[
                "百步亭花园",
                "3栋",
                "2单元",
                "504",
                "第1网格",
                "",
                "",
                "",
                "",
                "",
            ],
        ],
    );
    assert!(denied(
        st.s.setup_mut()
            .import(&st.volunteer.clone(), ImportKind::Households, &good, false)
            .unwrap_err()
    ));
    let r =
        st.s.setup_mut()
            .import(&d, ImportKind::Households, &good, false)
            .unwrap();
    assert_eq!(
        (r.created, r.residents_added, r.written),
        (3, 3, true),
        "{:?}",
        r.problems
    );
    let rows =
        st.s.households()
            .households_in_grid(&st.grid, 10, 0)
            .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0].priority,
        Priority::P2,
        "the woman living alone leads"
    );
    let tagged =
        st.s.households()
            .residents_with_tag(&VulnerabilityTag::ChronicIllness, None)
            .unwrap();
    assert_eq!(tagged.len(), 1);
    let after = st.s.export_json().unwrap();
    let again =
        st.s.setup_mut()
            .import(&d, ImportKind::Households, &good, false)
            .unwrap();
    assert_eq!(
        (
            again.created,
            again.residents_added,
            again.unchanged,
            again.written
        ),
        (0, 0, 4, false)
    );
    assert_eq!(st.s.export_json().unwrap(), after);
    // A new resident of a known flat joins its household.
    let more = sheet(
        &header,
        &[&[
            "百步亭花园",
            "3栋",
            "2单元",
            "504",
            "第1网格",
            "陈明",
            "男",
            "1990",
            "",
            "",
        ]],
    );
    let r =
        st.s.setup_mut()
            .import(&d, ImportKind::Households, &more, false)
            .unwrap();
    assert_eq!((r.created, r.residents_added), (0, 1));

    let bad = sheet(
        &header,
        &[
            &[
                "百步亭花园",
                "3栋",
                "",
                "",
                "第1网格",
                "甲",
                "女",
                "1950",
                "",
                "",
            ],
            &[
                "百步亭花园",
                "4栋",
                "",
                "1",
                "第8网格",
                "乙",
                "女",
                "1950",
                "",
                "",
            ],
            &[
                "百步亭花园",
                "4栋",
                "",
                "2",
                "第1网格",
                "丙",
                "不详",
                "一九五零",
                "",
                "外星人!",
            ],
        ],
    );
    let r =
        st.s.setup_mut()
            .import(&d, ImportKind::Households, &bad, true)
            .unwrap();
    let at = |row: usize, col: &str| r.problems.iter().any(|p| p.row == row && p.column == col);
    assert!(
        at(2, "room") && at(3, "grid") && at(4, "sex") && at(4, "birth_year") && at(4, "tags"),
        "{:?}",
        r.problems
    );
    assert!(!r.written);
}

#[test]
fn a_thousand_row_import_is_one_transaction() {
    let mut st = setup();
    let header = [
        "compound",
        "building",
        "unit",
        "room",
        "grid",
        "name",
        "sex",
        "birth_year",
        "phone",
        "tags",
    ];
    let rows: Vec<Vec<String>> = (0..1000)
        .map(|i| {
            vec![
                "百步亭花园".into(),
                format!("{}栋", i / 100 + 1),
                String::new(),
                format!("{}", 100 + i % 100),
                "第1网格".into(),
                format!("居民{i}"),
                "女".into(),
                "1950".into(),
                String::new(),
                if i % 7 == 0 {
                    "elderly_alone".into()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    let mut s = Sheet {
        header: header.iter().map(|h| h.to_string()).collect(),
        rows,
    };
    // One bad row at the end: nothing of the 999 good ones is written.
    s.rows[999][7] = "x".into();
    let before = st.s.export_json().unwrap();
    let r =
        st.s.setup_mut()
            .import(&st.dispatcher.clone(), ImportKind::Households, &s, false)
            .unwrap();
    assert_eq!(r.problems.len(), 1);
    assert_eq!(
        (r.problems[0].row, r.problems[0].column.as_str()),
        (1001, "birth_year")
    );
    assert_eq!(st.s.export_json().unwrap(), before);
    s.rows[999][7] = "1950".into();
    let r =
        st.s.setup_mut()
            .import(&st.dispatcher.clone(), ImportKind::Households, &s, false)
            .unwrap();
    assert_eq!((r.created, r.residents_added), (1000, 1000));
    assert!(st.s.check().unwrap().is_ok());
}
