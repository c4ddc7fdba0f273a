//! Orders through the store: the whole workflow, every forbidden action and
//! permission rule (typed error, nothing saved), bad input, queues,
//! suggestions, hours and reports.

use super::tests::address;
use super::*;
use crate::dispatch::DispatchError;
use tempfile::TempDir;

struct Station {
    _dir: TempDir,
    s: Store,
    grid_a: GridId,
    grid_b: GridId,
    dispatcher: Author,
    v1: WorkerId,
    v2: WorkerId,
    v3: WorkerId,
    counselor: WorkerId,
    household: HouseholdId,
    resident: ResidentId,
    other_resident: ResidentId,
}

fn worker(
    s: &mut Store,
    name: &str,
    role: Role,
    grid: Option<&GridId>,
    skills: &[&str],
) -> WorkerId {
    s.people_mut()
        .add_worker(
            &Author::System,
            NewWorker {
                name: name.into(),
                phone: String::new(),
                role,
                grid_id: grid.cloned(),
                skills: skills.iter().map(|s| s.to_string()).collect(),
            },
        )
        .unwrap()
}

fn station() -> Station {
    let dir = TempDir::new().unwrap();
    let mut s = Store::open(dir.path().join("o.db"), StoreOptions::default()).unwrap();
    s.setup_mut().init_station("站").unwrap();
    let c = s
        .setup_mut()
        .add_community(&Author::System, "社区")
        .unwrap();
    let grid_a = s.setup_mut().add_grid(&Author::System, &c, "A").unwrap();
    let grid_b = s.setup_mut().add_grid(&Author::System, &c, "B").unwrap();
    let dispatcher = Author::Worker(worker(&mut s, "派单员", Role::Dispatcher, None, &[]));
    let v1 = worker(&mut s, "志愿甲", Role::Volunteer, Some(&grid_a), &[]);
    let v2 = worker(
        &mut s,
        "志愿乙",
        Role::Volunteer,
        Some(&grid_a),
        &["psychological_first_aid"],
    );
    let v3 = worker(&mut s, "志愿丙", Role::Volunteer, Some(&grid_b), &[]);
    let counselor = worker(&mut s, "咨询师", Role::Counselor, None, &[]);
    let household = s
        .households_mut()
        .add_household(&Author::System, &grid_a, address("502"))
        .unwrap();
    let resident = s
        .households_mut()
        .add_resident(
            &Author::System,
            &household,
            NewResident {
                name: "王秀英".into(),
                sex: Sex::Female,
                birth_year: 1942,
                phone: String::new(),
                tags: vec![VulnerabilityTag::ElderlyAlone],
            },
        )
        .unwrap();
    let other = s
        .households_mut()
        .add_household(&Author::System, &grid_a, address("503"))
        .unwrap();
    let other_resident = s
        .households_mut()
        .add_resident(
            &Author::System,
            &other,
            NewResident {
                name: "邻居".into(),
                sex: Sex::Male,
                birth_year: 1980,
                phone: String::new(),
                tags: vec![],
            },
        )
        .unwrap();
    Station {
        _dir: dir,
        s,
        grid_a,
        grid_b,
        dispatcher,
        v1,
        v2,
        v3,
        counselor,
        household,
        resident,
        other_resident,
    }
}

impl Station {
    /// Creates a standard order of `kind` for the test household.
    fn order_of(&mut self, author: &Author, kind: OrderKind) -> Result<RequestId, StoreError> {
        let new = new_order(self, kind);
        self.s.orders_mut().create_order(author, new)
    }
}

fn new_order(st: &Station, kind: OrderKind) -> NewOrder {
    NewOrder {
        household_id: st.household.clone(),
        resident_id: Some(st.resident.clone()),
        kind,
        items: vec![Item {
            name: "胰岛素".into(),
            quantity: 2,
            unit: "支".into(),
        }],
        urgency: Urgency::Critical,
        deadline: None,
        note: String::new(),
    }
}

fn complete(code: &str, minutes: u32) -> OrderAction {
    OrderAction::Completed {
        handed_over: vec![Item {
            name: "胰岛素".into(),
            quantity: 2,
            unit: "支".into(),
        }],
        confirmation_code: code.into(),
        minutes,
    }
}

fn snapshot(s: &Store) -> (String, i64) {
    let audit: i64 = s
        .conn
        .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
        .unwrap();
    (s.export_json().unwrap(), audit)
}

/// Runs an action that must be refused; proves nothing was written.
fn refused(st: &mut Station, by: &Author, order: &RequestId, action: OrderAction) -> StoreError {
    let before = snapshot(&st.s);
    let err =
        st.s.orders_mut()
            .order_action(by, order, action)
            .unwrap_err();
    assert_eq!(
        snapshot(&st.s),
        before,
        "a refused action wrote something: {err}"
    );
    err
}

#[test]
fn an_order_from_request_to_rating_credits_hours() {
    let mut st = station();
    let v1 = Author::Worker(st.v1.clone());
    let o = st
        .order_of(&Author::Worker(st.v2.clone()), OrderKind::MedicineDelivery)
        .unwrap();
    let q = st.s.orders().dispatch_queue(None).unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].priority, Priority::P2);
    assert_eq!(q[0].reasons, vec!["elderly_alone"]);

    let s =
        st.s.orders_mut()
            .order_action(
                &st.dispatcher.clone(),
                &o,
                OrderAction::Dispatched {
                    to: Assignee::Grid(st.grid_a.clone()),
                },
            )
            .unwrap();
    assert_eq!(s.status, OrderStatus::Dispatched);
    assert_eq!(st.s.orders().my_tasks(&st.v1).unwrap().len(), 1);
    assert!(st.s.orders().my_tasks(&st.v3).unwrap().is_empty());

    assert_eq!(
        st.s.orders_mut()
            .order_action(&v1, &o, OrderAction::Accepted)
            .unwrap()
            .status,
        OrderStatus::Accepted
    );
    assert!(st.s.orders().dispatch_queue(None).unwrap().is_empty());
    assert!(st.s.orders().my_tasks(&st.v2).unwrap().is_empty());
    assert_eq!(
        st.s.orders_mut()
            .order_action(&v1, &o, OrderAction::Started)
            .unwrap()
            .status,
        OrderStatus::Started
    );
    let s =
        st.s.orders_mut()
            .order_action(&v1, &o, complete("4821", 45))
            .unwrap();
    assert_eq!(s.status, OrderStatus::Completed);
    assert_eq!(s.completed_by.as_ref(), Some(&st.v1));
    let s =
        st.s.orders_mut()
            .order_action(
                &Author::Resident(st.resident.clone()),
                &o,
                OrderAction::Rated {
                    stars: 5,
                    comment: "谢谢".into(),
                },
            )
            .unwrap();
    assert_eq!((s.status, s.stars), (OrderStatus::Rated, Some(5)));

    let totals =
        st.s.orders()
            .hours_totals(Some(&st.v1), 0, i64::MAX)
            .unwrap();
    assert_eq!(totals.len(), 1);
    assert_eq!((totals[0].minutes, totals[0].acknowledged_minutes), (45, 0));
    let worker: Worker = st.s.get(st.v1.as_str()).unwrap();
    let entry = worker.hours.values().next().unwrap().id.clone();
    // A neighbour from another household may not acknowledge; the served resident may.
    let err =
        st.s.orders_mut()
            .acknowledge_hours(&Author::Resident(st.other_resident.clone()), &st.v1, &entry)
            .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Dispatch(DispatchError::PermissionDenied { .. })
    ));
    st.s.orders_mut()
        .acknowledge_hours(&Author::Resident(st.resident.clone()), &st.v1, &entry)
        .unwrap();
    let totals = st.s.orders().hours_totals(None, 0, i64::MAX).unwrap();
    assert_eq!(totals[0].acknowledged_minutes, 45);
    let csv = crate::dispatch::hours::certificate_csv(
        &totals,
        0,
        Millis::MAX,
        &Default::default(),
        crate::screening::Language::En,
    );
    assert!(csv.contains(",0.8,0.8,1"), "{csv}");

    let history = st.s.history(o.as_str()).unwrap();
    let actions: Vec<_> = history
        .changes
        .iter()
        .filter_map(|c| c.action.clone())
        .collect();
    assert_eq!(
        actions,
        [
            "order.request",
            "order.dispatch",
            "order.accept",
            "order.start",
            "order.complete",
            "order.rate"
        ]
    );
    assert!(st.s.check().unwrap().is_ok());
}

#[test]
fn forbidden_transitions_and_permissions_are_typed_and_write_nothing() {
    let mut st = station();
    let (v1, v2, v3) = (
        Author::Worker(st.v1.clone()),
        Author::Worker(st.v2.clone()),
        Author::Worker(st.v3.clone()),
    );
    let d = st.dispatcher.clone();
    let o = st.order_of(&v2, OrderKind::Groceries).unwrap();
    let grid_a = st.grid_a.clone();
    let neighbour = Author::Resident(st.other_resident.clone());

    let forbidden = |e: StoreError, status: &str| {
        assert!(
            matches!(&e, StoreError::Dispatch(DispatchError::Forbidden { status: s, .. }) if *s == status),
            "{e}"
        )
    };
    let denied = |e: StoreError| {
        assert!(
            matches!(
                e,
                StoreError::Dispatch(DispatchError::PermissionDenied { .. })
            ),
            "{e}"
        )
    };
    forbidden(
        refused(&mut st, &v1, &o, OrderAction::Accepted),
        "requested",
    );
    forbidden(refused(&mut st, &v1, &o, OrderAction::Started), "requested");
    forbidden(
        refused(
            &mut st,
            &d,
            &o,
            OrderAction::Rated {
                stars: 3,
                comment: String::new(),
            },
        ),
        "requested",
    );
    forbidden(
        refused(
            &mut st,
            &d,
            &o,
            OrderAction::Reopened { reason: "x".into() },
        ),
        "requested",
    );
    denied(refused(
        &mut st,
        &v1,
        &o,
        OrderAction::Dispatched {
            to: Assignee::Grid(grid_a.clone()),
        },
    ));
    denied(refused(
        &mut st,
        &Author::System,
        &o,
        OrderAction::Cancelled { reason: "x".into() },
    ));
    // A volunteer who did not request it cannot cancel it.
    denied(refused(
        &mut st,
        &v1,
        &o,
        OrderAction::Cancelled { reason: "x".into() },
    ));

    st.s.orders_mut()
        .order_action(
            &d,
            &o,
            OrderAction::Dispatched {
                to: Assignee::Worker(st.v1.clone()),
            },
        )
        .unwrap();
    forbidden(
        refused(
            &mut st,
            &d,
            &o,
            OrderAction::Dispatched {
                to: Assignee::Grid(grid_a.clone()),
            },
        ),
        "dispatched",
    );
    denied(refused(&mut st, &v2, &o, OrderAction::Accepted)); // dispatched to v1
    st.s.orders_mut()
        .order_action(
            &d,
            &o,
            OrderAction::Reassigned {
                to: Assignee::Grid(st.grid_a.clone()),
            },
        )
        .unwrap();
    denied(refused(&mut st, &v3, &o, OrderAction::Accepted)); // another grid
    st.s.orders_mut()
        .order_action(&v1, &o, OrderAction::Accepted)
        .unwrap();
    forbidden(refused(&mut st, &v2, &o, OrderAction::Accepted), "accepted");
    denied(refused(&mut st, &v2, &o, OrderAction::Started));
    forbidden(refused(&mut st, &v1, &o, complete("1234", 10)), "accepted");
    st.s.orders_mut()
        .order_action(&v1, &o, OrderAction::Started)
        .unwrap();
    denied(refused(&mut st, &v2, &o, complete("1234", 10)));
    st.s.orders_mut()
        .order_action(&v1, &o, complete("1234", 10))
        .unwrap();
    forbidden(
        refused(
            &mut st,
            &d,
            &o,
            OrderAction::Cancelled { reason: "x".into() },
        ),
        "completed",
    );
    denied(refused(
        &mut st,
        &v1,
        &o,
        OrderAction::Rated {
            stars: 5,
            comment: String::new(),
        },
    ));
    denied(refused(
        &mut st,
        &neighbour,
        &o,
        OrderAction::Rated {
            stars: 1,
            comment: String::new(),
        },
    ));
    st.s.orders_mut()
        .order_action(
            &d,
            &o,
            OrderAction::Rated {
                stars: 4,
                comment: String::new(),
            },
        )
        .unwrap();
    forbidden(
        refused(
            &mut st,
            &d,
            &o,
            OrderAction::Rated {
                stars: 4,
                comment: String::new(),
            },
        ),
        "rated",
    );

    // Psychological support needs a trained worker.
    let p = st.order_of(&v2, OrderKind::PsychologicalSupport).unwrap();
    st.s.orders_mut()
        .order_action(
            &d,
            &p,
            OrderAction::Dispatched {
                to: Assignee::Grid(st.grid_a.clone()),
            },
        )
        .unwrap();
    denied(refused(&mut st, &v1, &p, OrderAction::Accepted));
    st.s.orders_mut()
        .order_action(&v2, &p, OrderAction::Accepted)
        .unwrap();
    // Decline returns it to the queue; then a counselor (no grid) takes it.
    st.s.orders_mut()
        .order_action(
            &v2,
            &p,
            OrderAction::Declined {
                reason: "生病".into(),
            },
        )
        .unwrap();
    st.s.orders_mut()
        .order_action(
            &d,
            &p,
            OrderAction::Dispatched {
                to: Assignee::Worker(st.counselor.clone()),
            },
        )
        .unwrap();
    st.s.orders_mut()
        .order_action(
            &Author::Worker(st.counselor.clone()),
            &p,
            OrderAction::Accepted,
        )
        .unwrap();
    assert!(st.s.check().unwrap().is_ok());
}

#[test]
fn bad_input_is_rejected_with_the_field_and_nothing_saved() {
    let mut st = station();
    let v2 = Author::Worker(st.v2.clone());
    let before = snapshot(&st.s);
    let mut bad = new_order(&st, OrderKind::Groceries);
    bad.items[0].quantity = 0;
    assert!(
        matches!(st.s.orders_mut().create_order(&v2, bad).unwrap_err(), StoreError::Invalid(e) if e.field == "order.items.quantity")
    );
    let mut bad = new_order(&st, OrderKind::Groceries);
    bad.household_id = HouseholdId::random();
    assert!(
        matches!(st.s.orders_mut().create_order(&v2, bad).unwrap_err(), StoreError::Invalid(e) if e.field == "order.household_id")
    );
    let mut bad = new_order(&st, OrderKind::Groceries);
    bad.resident_id = Some(st.other_resident.clone());
    assert!(
        matches!(st.s.orders_mut().create_order(&v2, bad).unwrap_err(), StoreError::Invalid(e) if e.field == "order.resident_id")
    );
    assert!(matches!(
        st.order_of(&Author::System, OrderKind::Groceries)
            .unwrap_err(),
        StoreError::Dispatch(_)
    ));
    assert_eq!(snapshot(&st.s), before);

    let o = st.order_of(&v2, OrderKind::Groceries).unwrap();
    let d = st.dispatcher.clone();
    st.s.orders_mut()
        .order_action(
            &d,
            &o,
            OrderAction::Dispatched {
                to: Assignee::Worker(st.v1.clone()),
            },
        )
        .unwrap();
    let v1 = Author::Worker(st.v1.clone());
    st.s.orders_mut()
        .order_action(&v1, &o, OrderAction::Accepted)
        .unwrap();
    st.s.orders_mut()
        .order_action(&v1, &o, OrderAction::Started)
        .unwrap();
    let before = snapshot(&st.s);
    for (action, field) in [
        (complete("12", 10), "order.confirmation_code"),
        (complete("12ab", 10), "order.confirmation_code"),
        (complete("1234", 0), "order.minutes"),
        (
            OrderAction::Cancelled { reason: " ".into() },
            "order.reason",
        ),
    ] {
        let err = st.s.orders_mut().order_action(&v1, &o, action).unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid(e) if e.field == field),
            "{err}"
        );
    }
    assert!(matches!(
        st.s.orders_mut().order_action(&d, &o, OrderAction::Reassigned { to: Assignee::Grid(GridId::random()) }).unwrap_err(),
        StoreError::Invalid(e) if e.field == "order.to"
    ));
    assert!(matches!(
        st.s.orders_mut()
            .order_action(&d, &RequestId::random(), OrderAction::Accepted)
            .unwrap_err(),
        StoreError::NotFound {
            kind: "request",
            ..
        }
    ));
    assert_eq!(snapshot(&st.s), before);
}

#[test]
fn items_changed_after_acceptance_show_in_my_tasks() {
    let mut st = station();
    let v2 = Author::Worker(st.v2.clone());
    let o = st.order_of(&v2, OrderKind::Groceries).unwrap();
    let d = st.dispatcher.clone();
    st.s.orders_mut()
        .order_action(
            &d,
            &o,
            OrderAction::Dispatched {
                to: Assignee::Worker(st.v1.clone()),
            },
        )
        .unwrap();
    st.s.orders_mut()
        .order_action(&Author::Worker(st.v1.clone()), &o, OrderAction::Accepted)
        .unwrap();
    assert!(!st.s.orders().my_tasks(&st.v1).unwrap()[0].items_changed);
    st.s.orders_mut()
        .order_action(
            &d,
            &o,
            OrderAction::ItemsChanged {
                items: vec![Item {
                    name: "米".into(),
                    quantity: 5,
                    unit: "kg".into(),
                }],
            },
        )
        .unwrap();
    assert!(st.s.orders().my_tasks(&st.v1).unwrap()[0].items_changed);
}

#[test]
fn suggestions_queue_order_and_reports() {
    let mut st = station();
    let v2 = Author::Worker(st.v2.clone());
    let d = st.dispatcher.clone();
    // A P1 household (insulin running out) jumps ahead of the P2 one.
    let urgent_home =
        st.s.households_mut()
            .add_household(&Author::System, &st.grid_b, address("9"))
            .unwrap();
    st.s.households_mut()
        .add_resident(
            &Author::System,
            &urgent_home,
            NewResident {
                name: "x".into(),
                sex: Sex::Male,
                birth_year: 1950,
                phone: String::new(),
                tags: vec![],
            },
        )
        .unwrap();
    st.s.households_mut()
        .record_visit(
            &Author::Worker(st.v3.clone()),
            &urgent_home,
            NewVisit {
                at: now_millis(),
                needs: vec![Need {
                    kind: NeedKind::Medicine,
                    item: "insulin".into(),
                    days_left: Some(1),
                    detail: String::new(),
                    severity: Urgency::Routine,
                    met: None,
                }],
                notes: String::new(),
            },
        )
        .unwrap();
    let first = st.order_of(&v2, OrderKind::Groceries).unwrap();
    let mut second = new_order(&st, OrderKind::MedicineDelivery);
    second.household_id = urgent_home.clone();
    second.resident_id = None;
    second.urgency = Urgency::Routine;
    let second =
        st.s.orders_mut()
            .create_order(&Author::Worker(st.v3.clone()), second)
            .unwrap();
    // Life first: the critical groceries order (P2 household) leads the
    // routine medicine order even though its household is P1.
    let queue = st.s.orders().dispatch_queue(None).unwrap();
    assert_eq!(
        queue.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(queue[1].priority, Priority::P1);
    assert_eq!(queue[1].reasons, vec!["critical_medicine"]);
    assert_eq!(
        st.s.orders()
            .dispatch_queue(Some(&st.grid_a))
            .unwrap()
            .len(),
        1
    );

    // Same grid first, then the least loaded.
    st.s.orders_mut()
        .order_action(
            &d,
            &second,
            OrderAction::Dispatched {
                to: Assignee::Worker(st.v1.clone()),
            },
        )
        .unwrap();
    let s = st.s.orders().suggest_workers(&first, 10).unwrap();
    let names: Vec<&str> = s.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(&names[..2], &["志愿乙", "志愿甲"]); // grid A; v1 carries one order
    assert_eq!((s[0].load, s[1].load), (0, 1));
    assert!(!s.iter().any(|x| x.role == Role::Dispatcher));
    // Psychological support: only trained workers.
    let p = st.order_of(&v2, OrderKind::PsychologicalSupport).unwrap();
    let s = st.s.orders().suggest_workers(&p, 10).unwrap();
    assert!(s.iter().all(|x| x.trained));
    assert_eq!(s.len(), 2); // v2 (PFA) and the counselor

    // One order of a kind, one P1 household: shown only as "fewer than 5",
    // so a count cannot point at a household.
    let report = st.s.orders().report().unwrap();
    assert_eq!(
        report.station.orders["groceries"]["requested"],
        Count::FewerThan5
    );
    assert_eq!(
        report.station.orders["medicine_delivery"]["dispatched"],
        Count::FewerThan5
    );
    assert_eq!(
        report.station.households_by_priority["p1"],
        Count::FewerThan5
    );
    assert_eq!(report.grids.len(), 2);
    assert_eq!(report.station.median_minutes_to_completion, None);
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains("王秀英") && !text.contains(st.household.as_str()));
}

#[test]
fn activity_hours_are_credited_once() {
    let mut st = station();
    let d = st.dispatcher.clone();
    let facilitator = Author::Worker(st.v1.clone());
    let new = NewActivity {
        kind: ActivityKind::GroupSession,
        title: "互助小组".into(),
        grid_id: Some(st.grid_a.clone()),
        starts_at: now_millis(),
        duration_minutes: 90,
        facilitator: Some(st.v1.clone()),
    };
    // A volunteer does not create activities; a coordinator does, naming
    // the volunteer who runs it.
    assert!(matches!(
        st.s.orders_mut()
            .add_activity(&facilitator, new.clone())
            .unwrap_err(),
        StoreError::Dispatch(DispatchError::PermissionDenied { .. })
    ));
    let a = st.s.orders_mut().add_activity(&d, new).unwrap();
    assert_eq!(
        st.s.get::<Activity>(a.as_str()).unwrap().facilitator_id,
        st.v1
    );
    st.s.orders_mut()
        .record_attendance(&facilitator, &a, st.v2.as_str(), AttendeeKind::Worker, true)
        .unwrap();
    st.s.orders_mut()
        .record_attendance(
            &facilitator,
            &a,
            st.v3.as_str(),
            AttendeeKind::Worker,
            false,
        )
        .unwrap();
    assert!(matches!(
        st.s.orders_mut()
            .credit_activity_hours(&facilitator, &a)
            .unwrap_err(),
        StoreError::Dispatch(_)
    ));
    assert_eq!(st.s.orders_mut().credit_activity_hours(&d, &a).unwrap(), 2);
    assert_eq!(st.s.orders_mut().credit_activity_hours(&d, &a).unwrap(), 0);
    let totals = st.s.orders().hours_totals(None, 0, i64::MAX).unwrap();
    assert_eq!(totals.len(), 2);
    assert!(totals.iter().all(|t| t.minutes == 90));
}

/// The dispatch queue's full order: urgency, then the household's priority,
/// then the deadline (none last), then age.
#[test]
fn a_critical_order_leads_whatever_its_households_priority() {
    let mut st = station();
    let v2 = Author::Worker(st.v2.clone());
    // A P4 household (no tags, no needs) and the P2 one of the fixture.
    let plain =
        st.s.households_mut()
            .add_household(&Author::System, &st.grid_a, address("701"))
            .unwrap();
    st.s.households_mut()
        .add_resident(
            &Author::System,
            &plain,
            NewResident {
                name: "y".into(),
                sex: Sex::Female,
                birth_year: 1980,
                phone: String::new(),
                tags: vec![],
            },
        )
        .unwrap();
    let order = |st: &mut Station, household: &HouseholdId, kind, urgency, deadline| {
        let mut o = new_order(st, kind);
        o.household_id = household.clone();
        o.resident_id = None;
        o.urgency = urgency;
        o.deadline = deadline;
        o.note = "突发胸痛".into();
        st.s.orders_mut().create_order(&v2, o).unwrap()
    };
    let p2 = st.household.clone();
    let kits_p2 = order(&mut st, &p2, OrderKind::TestKits, Urgency::Routine, None);
    let escort_p4 = order(
        &mut st,
        &plain,
        OrderKind::HospitalEscort,
        Urgency::Critical,
        None,
    );
    let urgent_p4 = order(&mut st, &plain, OrderKind::Groceries, Urgency::Urgent, None);
    let urgent_p2_late = order(
        &mut st,
        &p2,
        OrderKind::Groceries,
        Urgency::Urgent,
        Some(now_millis() + 9 * 3_600_000),
    );
    let urgent_p2_soon = order(
        &mut st,
        &p2,
        OrderKind::Groceries,
        Urgency::Urgent,
        Some(now_millis() + 3_600_000),
    );
    let urgent_p2_none = order(&mut st, &p2, OrderKind::Groceries, Urgency::Urgent, None);
    let queue = st.s.orders().dispatch_queue(None).unwrap();
    let ids: Vec<RequestId> = queue.iter().map(|r| r.id.clone()).collect();
    assert_eq!(
        ids,
        vec![
            escort_p4,
            urgent_p2_soon,
            urgent_p2_late,
            urgent_p2_none,
            urgent_p4,
            kits_p2
        ]
    );
    assert_eq!(
        (queue[0].priority, queue[0].urgency),
        (Priority::P4, Urgency::Critical)
    );
    assert_eq!(queue[5].priority, Priority::P2);
}

/// A need is met when an order that serves it completes: 王秀英's insulin,
/// delivered, no longer ranks her household P1; the need stays in the visit.
#[test]
fn a_delivered_medicine_no_longer_lifts_the_household() {
    let mut st = station();
    let v1 = Author::Worker(st.v1.clone());
    let h = st.household.clone();
    st.s.households_mut()
        .record_visit(
            &v1,
            &h,
            NewVisit {
                at: now_millis(),
                needs: vec![
                    Need {
                        kind: NeedKind::Medicine,
                        item: "胰岛素".into(),
                        days_left: Some(1),
                        detail: String::new(),
                        severity: Urgency::Routine,
                        met: None,
                    },
                    Need {
                        kind: NeedKind::MedicalCare,
                        item: String::new(),
                        days_left: None,
                        detail: "透析".into(),
                        severity: Urgency::Critical,
                        met: None,
                    },
                ],
                notes: String::new(),
            },
        )
        .unwrap();
    let row = |st: &Station| {
        st.s.households()
            .households_in_grid(&st.grid_a, 10, 0)
            .unwrap()
            .into_iter()
            .find(|r| r.id == st.household)
            .unwrap()
    };
    let r = row(&st);
    assert_eq!(r.priority, Priority::P1);
    assert_eq!(
        r.reasons[..2],
        [
            "critical_medicine".to_string(),
            "medical_emergency".to_string()
        ]
    );

    let o = st
        .order_of(&Author::Worker(st.v2.clone()), OrderKind::MedicineDelivery)
        .unwrap();
    let d = st.dispatcher.clone();
    st.s.orders_mut()
        .order_action(
            &d,
            &o,
            OrderAction::Dispatched {
                to: Assignee::Worker(st.v1.clone()),
            },
        )
        .unwrap();
    st.s.orders_mut()
        .order_action(&v1, &o, OrderAction::Accepted)
        .unwrap();
    st.s.orders_mut()
        .order_action(&v1, &o, OrderAction::Started)
        .unwrap();
    // Not yet delivered: still P1.
    assert!(row(&st).reasons.contains(&"critical_medicine".to_string()));
    st.s.orders_mut()
        .order_action(&v1, &o, complete("4821", 45))
        .unwrap();
    let r = row(&st);
    assert!(
        !r.reasons.contains(&"critical_medicine".to_string()),
        "{:?}",
        r.reasons
    );
    // The dialysis emergency is not met by a medicine delivery: still P1.
    assert_eq!(r.priority, Priority::P1);
    assert!(r.reasons.contains(&"medical_emergency".to_string()));
    // History keeps both: the need, and who met it with which order.
    let hh: Household = st.s.get(h.as_str()).unwrap();
    let needs = &hh.latest_visit().unwrap().needs;
    assert_eq!(needs.len(), 2);
    let met = needs[0].met.as_ref().expect("the insulin need is met");
    assert_eq!((met.order.as_ref(), &met.by), (Some(&o), &st.v1));
    assert!(needs[1].met.is_none());
    assert!(st.s.check().unwrap().is_ok());

    // A hospital escort meets the medical emergency: back to P2.
    let mut escort = new_order(&st, OrderKind::HospitalEscort);
    escort.items.clear();
    let e =
        st.s.orders_mut()
            .create_order(&Author::Worker(st.v2.clone()), escort)
            .unwrap();
    st.s.orders_mut()
        .order_action(
            &d,
            &e,
            OrderAction::Dispatched {
                to: Assignee::Worker(st.v1.clone()),
            },
        )
        .unwrap();
    st.s.orders_mut()
        .order_action(&v1, &e, OrderAction::Accepted)
        .unwrap();
    st.s.orders_mut()
        .order_action(&v1, &e, OrderAction::Started)
        .unwrap();
    st.s.orders_mut()
        .order_action(
            &v1,
            &e,
            OrderAction::Completed {
                handed_over: vec![],
                confirmation_code: "4821".into(),
                minutes: 120,
            },
        )
        .unwrap();
    let r = row(&st);
    assert_eq!(
        (r.priority, r.reasons.clone()),
        (Priority::P2, vec!["elderly_alone".to_string()])
    );
}

#[test]
fn the_daily_report_counts_the_local_day() {
    let mut st = station();
    let v1 = Author::Worker(st.v1.clone());
    let now = now_millis();
    st.s.households_mut()
        .record_visit(
            &v1,
            &st.household,
            NewVisit {
                at: now,
                needs: vec![Need {
                    kind: NeedKind::Medicine,
                    item: "胰岛素".into(),
                    days_left: Some(1),
                    detail: String::new(),
                    severity: Urgency::Routine,
                    met: None,
                }],
                notes: String::new(),
            },
        )
        .unwrap();
    let mut late = new_order(&st, OrderKind::Groceries);
    late.deadline = Some(now - 3_600_000);
    late.urgency = Urgency::Urgent;
    st.s.orders_mut().create_order(&v1, late).unwrap();
    let insulin = st.order_of(&v1, OrderKind::MedicineDelivery).unwrap();

    let r = st.s.daily_report(now).unwrap();
    let local = st.s.station().unwrap().local_time();
    assert_eq!(r.date, local.date(now));
    assert_eq!(r.time_zone, "Asia/Shanghai");
    assert_eq!(r.day, local.day_of(now));
    assert_eq!(
        (
            r.new_orders.len(),
            r.open_orders.len(),
            r.overdue_orders.len()
        ),
        (2, 2, 1)
    );
    assert_eq!(
        r.open_orders[0].kind,
        OrderKind::MedicineDelivery,
        "critical first"
    );
    assert_eq!(r.orders_by_urgency[&Urgency::Urgent], (1, 1, 1));
    assert_eq!(r.orders_by_urgency[&Urgency::Critical], (1, 1, 0));
    assert_eq!(r.newly_p1.len(), 1);
    assert_eq!(r.newly_p1[0].reasons[0], "critical_medicine");
    assert_eq!((r.needs_found, r.needs_met), (1, 0));

    // The insulin delivered meets the need today.
    let d = st.dispatcher.clone();
    st.s.orders_mut()
        .order_action(
            &d,
            &insulin,
            OrderAction::Dispatched {
                to: Assignee::Worker(st.v1.clone()),
            },
        )
        .unwrap();
    st.s.orders_mut()
        .order_action(&v1, &insulin, OrderAction::Accepted)
        .unwrap();
    st.s.orders_mut()
        .order_action(&v1, &insulin, OrderAction::Started)
        .unwrap();
    st.s.orders_mut()
        .order_action(&v1, &insulin, complete("4821", 45))
        .unwrap();
    let r = st.s.daily_report(now_millis()).unwrap();
    assert_eq!(r.needs_met, 1);
    assert_eq!(r.open_orders.len(), 1);
    assert_eq!(r.hours_this_week.len(), 1);
    assert_eq!(r.hours_this_week[0].name, "志愿甲");
    assert!((r.hours_this_week[0].hours - 0.75).abs() < 1e-9);

    // Another day: nothing new, the late order still open and overdue.
    let tomorrow = r.day.1 + 3_600_000;
    let r = st.s.daily_report(tomorrow).unwrap();
    assert!(r.new_orders.is_empty() && r.newly_p1.is_empty());
    assert_eq!(
        (r.open_orders.len(), r.overdue_orders.len(), r.needs_found),
        (1, 1, 0)
    );
}

#[test]
fn report_counts_show_exactly_from_five_and_the_median_needs_five_orders() {
    assert_eq!(Count::of(0), Count::FewerThan5);
    assert_eq!(Count::of(4), Count::FewerThan5);
    assert_eq!(Count::of(5), Count::Exact(5));
    assert_eq!(serde_json::to_string(&Count::of(3)).unwrap(), "\"<5\"");
    assert_eq!(serde_json::to_string(&Count::of(12)).unwrap(), "12");
    let mut st = station();
    let v1 = Author::Worker(st.v1.clone());
    for _ in 0..5 {
        st.order_of(&v1, OrderKind::Groceries).unwrap();
    }
    let report = st.s.orders().report().unwrap();
    assert_eq!(
        report.station.orders["groceries"]["requested"],
        Count::Exact(5)
    );
}
