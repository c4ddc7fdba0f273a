//! A realistic synthetic community for demos, tests and benchmarks.
//!
//! Owns: generating a station with communities, grids, rosters, workers,
//! households (Chinese names and addresses, a realistic share of vulnerable
//! residents), canvass visits and activities from a seed. The same seed on an
//! empty store gives the same documents — ids and timestamps included — so
//! two stores built from one seed export the same bytes.
//!
//! Shares are rough figures for an older urban compound in China during a
//! lockdown (about 14% of residents 65 or older; chronic illness common
//! among the old). They make lists and reports look like the field, nothing
//! more: no figure here is used by any rule.

// Synthetic data only (tests, benchmarks, `anxin fixture`): its `unwrap`s
// pick from lists it made non-empty itself.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::doc::Author;
use crate::localtime::DAY;
use crate::model::*;
use crate::store::{Batch, Store, StoreError};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct FixtureSpec {
    /// How many households.
    pub households: u32,
    /// The seed: the same seed gives the same community.
    pub seed: u64,
}

/// What was generated.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FixtureSummary {
    /// The station's id.
    pub station_id: String,
    /// Grids created.
    pub grids: Vec<GridId>,
    /// Workers created.
    pub workers: u32,
    /// Households created.
    pub households: u32,
    /// Residents created.
    pub residents: u32,
    /// Residents with at least one vulnerability tag.
    pub vulnerable_residents: u32,
    /// Canvass visits recorded.
    pub visits: u32,
    /// Activities created.
    pub activities: u32,
    /// Orders created, by status.
    pub orders: BTreeMap<String, u32>,
    /// Hours entries credited.
    pub hours_entries: u32,
}

/// 2026-03-01 00:00 UTC: the fixture's clock starts here.
const EPOCH: Millis = 1_772_323_200_000;

/// Households written per transaction.
const BATCH: usize = 250;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "潘", "袁", "蔡", "蒋", "余",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "玉兰", "国强", "淑珍", "志明",
    "海燕", "子涵", "梓萱", "浩然", "一诺", "欣怡", "宇轩", "雨桐", "建国", "凤英", "德华", "春梅",
];
const COMPOUNDS: &[&str] = &[
    "百步亭花园",
    "中南花园",
    "东湖新村",
    "紫阳小区",
    "水果湖小区",
    "徐东雅苑",
    "南湖花园",
    "首义小区",
    "积玉桥小区",
    "汉阳新村",
];
const COMMUNITIES: &[&str] = &[
    "百步亭社区",
    "中南路社区",
    "东湖社区",
    "紫阳社区",
    "水果湖社区",
    "徐家棚社区",
];
const MEDICINES: &[(&str, bool)] = &[
    ("胰岛素", true),
    ("降压药（氨氯地平）", false),
    ("二甲双胍", false),
    ("抗癫痫药（丙戊酸钠）", true),
    ("华法林", true),
    ("速效救心丸", false),
    ("透析", true),
];
const SKILLS: &[&str] = &[
    "driving",
    "psychological_first_aid",
    "nursing",
    "elder_care",
    "sign_language",
    "dialect_wuhan",
];

fn name(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{}{}",
        SURNAMES.choose(rng).unwrap(),
        GIVEN.choose(rng).unwrap()
    )
}

fn phone(rng: &mut ChaCha8Rng) -> String {
    format!(
        "1{}{:09}",
        [3, 5, 7, 8, 9].choose(rng).unwrap(),
        rng.gen_range(0..1_000_000_000u32)
    )
}

/// A sync configuration that enrols a new device for the first active
/// worker of `role` on the station laptop `station` (tests, benchmarks and
/// the demo's phones). `scopes`: what to grant; `None`, the role's default.
pub fn enrol_as(
    station: &mut Store,
    role: Role,
    scopes: Option<Vec<String>>,
) -> Result<crate::sync::SyncConfig, StoreError> {
    let worker = station
        .people()
        .workers(None, Some(role))?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::NotFound {
            kind: "worker of that role",
            id: role.as_str().to_string(),
        })?;
    let code = station.devices_mut().enrol_device(
        &Author::System,
        &worker.id,
        crate::store::EnrolOptions {
            scopes,
            ..Default::default()
        },
    )?;
    Ok(crate::sync::SyncConfig {
        enrol: Some(code),
        ..Default::default()
    })
}

/// A second station laptop: a device holding the station's own identity
/// and everything the station laptop holds (what tests of sync mechanics
/// use, so that scopes and roles play no part: it records for any worker,
/// as the station's desk does).
pub fn enrol_everything(station: &mut Store) -> Result<crate::sync::SyncConfig, StoreError> {
    let code = station
        .devices_mut()
        .enrol_station_device(&Author::System, Default::default())?;
    Ok(crate::sync::SyncConfig {
        enrol: Some(code),
        ..Default::default()
    })
}

/// Adds a synthetic community to `store`. On an empty store the station
/// itself is created from the seed too (so the same seed gives the same
/// export); on a store that has a station, communities and grids are added to
/// it. `progress(done, total)` is called as households are written.
pub fn generate(
    store: &mut Store,
    spec: FixtureSpec,
    mut progress: impl FnMut(u64, u64),
) -> Result<FixtureSummary, StoreError> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let system = Author::System;
    let n = spec.households as usize;
    let mut summary = FixtureSummary::default();

    // Station, communities and grids: one write.
    let communities = (n / 1500 + 1).min(COMMUNITIES.len());
    let grid_count = n.div_ceil(120).max(2);
    let new_station = store.station().is_err();
    let mut station = match store.station() {
        Ok(s) => s,
        Err(StoreError::NotInitialised) => Station {
            id: StationId::from_rng(&mut rng),
            name: format!("{}安心小屋", COMMUNITIES[0].trim_end_matches("社区")),
            created_at: EPOCH,
            communities: BTreeMap::new(),
            grids: BTreeMap::new(),
            moves: BTreeMap::new(),
            language: String::new(),
            time_zone: String::new(),
        },
        Err(e) => return Err(e),
    };
    let first_grid_number = station.grids.len() + 1;
    let mut community_ids = Vec::new();
    for community_name in &COMMUNITIES[..communities] {
        let id = CommunityId::from_rng(&mut rng);
        station.communities.insert(
            id.to_string(),
            Community {
                id: id.clone(),
                name: community_name.to_string(),
            },
        );
        community_ids.push(id);
    }
    let mut grids = Vec::new();
    for g in 0..grid_count {
        let id = GridId::from_rng(&mut rng);
        station.grids.insert(
            id.to_string(),
            Grid {
                id: id.clone(),
                community_id: community_ids[g % communities].clone(),
                name: format!("第{}网格", first_grid_number + g),
                retired: false,
            },
        );
        grids.push(id);
    }
    summary.station_id = station.id.to_string();
    summary.grids = grids.clone();

    // Workers and rosters: one write.
    let mut grid_workers: Vec<Vec<WorkerId>> = vec![Vec::new(); grids.len()];
    let mut workers = Vec::new();
    for (gi, grid) in grids.iter().enumerate() {
        for _ in 0..3 {
            let w = worker(&mut rng, Role::Volunteer, Some(grid.clone()));
            grid_workers[gi].push(w.id.clone());
            workers.push(w);
        }
    }
    for (role, count) in [
        (Role::SocialWorker, 2),
        (Role::Counselor, 2),
        (Role::Clinician, 1),
        (Role::Dispatcher, 1),
        (Role::StationAdmin, 1),
    ] {
        for _ in 0..count {
            workers.push(worker(&mut rng, role, None));
        }
    }
    let rosters: Vec<Roster> = grids
        .iter()
        .enumerate()
        .map(|(gi, grid)| {
            let lead = &workers[gi * 3];
            Roster {
                id: RosterId::from_rng(&mut rng),
                grid_id: grid.clone(),
                assignments: grid_workers[gi]
                    .iter()
                    .enumerate()
                    .map(|(i, w)| {
                        (
                            w.to_string(),
                            Assignment {
                                worker_id: w.clone(),
                                role: if i == 0 {
                                    RosterRole::Lead
                                } else {
                                    RosterRole::Member
                                },
                                since: EPOCH + DAY,
                            },
                        )
                    })
                    .collect(),
                contact_card: ContactCard {
                    name: lead.name.clone(),
                    phone: lead.phone.clone(),
                    hours: "8:00–20:00".into(),
                },
            }
        })
        .collect();
    summary.workers = workers.len() as u32;
    let station_for_write = station.clone();
    store.batch(|b| {
        let sid = station_for_write.id.to_string();
        b.put::<Station>(&system, "fixture.station", &sid, |_| Ok(station_for_write))?;
        b.set_meta("station_id", &sid)?;
        if new_station {
            b.make_station_key(&sid)?;
        }
        for w in &workers {
            let w2 = w.clone();
            b.put::<Worker>(&system, "fixture.worker", w.id.as_str(), |_| Ok(w2))?;
        }
        for r in &rosters {
            let r2 = r.clone();
            b.put::<Roster>(&system, "fixture.roster", r.id.as_str(), |_| Ok(r2))?;
        }
        Ok(())
    })?;

    // Households and their orders, in batches.
    let staff = Staff {
        dispatcher: workers
            .iter()
            .find(|w| w.role == Role::Dispatcher)
            .map(|w| w.id.clone())
            .unwrap_or_else(|| workers[0].id.clone()),
        counselors: workers
            .iter()
            .filter(|w| w.role == Role::Counselor)
            .map(|w| w.id.clone())
            .collect(),
    };
    let mut hours: BTreeMap<WorkerId, Vec<HoursEntry>> = BTreeMap::new();
    let mut households = Vec::with_capacity(BATCH);
    let mut requests = Vec::new();
    let total = n as u64;
    progress(0, total);
    for i in 0..n {
        let gi = i % grids.len();
        let h = household(&mut rng, &grids[gi], &grid_workers[gi], &mut summary);
        if rng.gen_bool(0.3) {
            let r = order(&mut rng, &h, &grid_workers[gi], &staff, &mut hours);
            *summary
                .orders
                .entry(crate::dispatch::fold(&r).status.to_string())
                .or_default() += 1;
            requests.push(r);
        }
        households.push(h);
        if households.len() == BATCH || i + 1 == n {
            let chunk = std::mem::take(&mut households);
            let orders = std::mem::take(&mut requests);
            store.batch(|b| {
                write_households(b, &system, chunk)?;
                for r in orders {
                    let id = r.id.to_string();
                    b.put::<Request>(&system, "fixture.order", &id, |_| Ok(r))?;
                }
                Ok(())
            })?;
            progress(i as u64 + 1, total);
        }
    }
    summary.households = spec.households;

    // Activities: about one per hundred households.
    let activity_count = (n / 100).max(1);
    let all_workers: Vec<WorkerId> = workers.iter().map(|w| w.id.clone()).collect();
    let mut activities = Vec::new();
    for _ in 0..activity_count {
        let gi = rng.gen_range(0..grids.len());
        let kind = *[
            ActivityKind::GroupSession,
            ActivityKind::CulturalActivity,
            ActivityKind::Training,
        ]
        .choose(&mut rng)
        .unwrap();
        let title = match kind {
            ActivityKind::GroupSession => "居家情绪互助小组",
            ActivityKind::CulturalActivity => "线上合唱会",
            ActivityKind::Lecture => "防疫科普讲座",
            ActivityKind::Supervision => "个案督导",
            ActivityKind::Training => "心理急救（PFA）培训",
        };
        let mut attendance = BTreeMap::new();
        for w in all_workers.choose_multiple(&mut rng, 4) {
            attendance.insert(
                w.to_string(),
                Attendance {
                    kind: AttendeeKind::Worker,
                    present: rng.gen_bool(0.85),
                },
            );
        }
        activities.push(Activity {
            id: ActivityId::from_rng(&mut rng),
            kind,
            title: title.into(),
            grid_id: if kind == ActivityKind::Training {
                None
            } else {
                Some(grids[gi].clone())
            },
            starts_at: EPOCH + rng.gen_range(5..60) * DAY + 19 * 3_600_000,
            duration_minutes: *[45, 60, 90].choose(&mut rng).unwrap(),
            facilitator_id: grid_workers[gi][0].clone(),
            attendance,
        });
    }
    summary.activities = activities.len() as u32;
    for a in &activities {
        for w in &all_workers {
            if let Some(minutes) = crate::dispatch::hours::activity_minutes(a, w) {
                hours.entry(w.clone()).or_default().push(HoursEntry {
                    id: HoursEntryId::from_rng(&mut rng),
                    source: HoursSource::Activity(a.id.clone()),
                    minutes,
                    at: a.starts_at,
                    acknowledgements: BTreeMap::new(),
                });
            }
        }
    }
    summary.hours_entries = hours.values().map(|v| v.len() as u32).sum();
    store.batch(|b| {
        for a in activities {
            let id = a.id.to_string();
            b.put::<Activity>(&system, "fixture.activity", &id, |_| Ok(a))?;
        }
        for (worker, entries) in hours {
            b.put::<Worker>(&system, "fixture.hours", worker.as_str(), |w| {
                let mut w = w.ok_or(StoreError::NotInitialised)?;
                for e in entries {
                    w.hours.insert(e.id.to_string(), e);
                }
                Ok(w)
            })?;
        }
        Ok(())
    })?;
    Ok(summary)
}

struct Staff {
    dispatcher: WorkerId,
    counselors: Vec<WorkerId>,
}

/// One order for a household, carried to a random point of its workflow.
fn order(
    rng: &mut ChaCha8Rng,
    household: &Household,
    volunteers: &[WorkerId],
    staff: &Staff,
    hours: &mut BTreeMap<WorkerId, Vec<HoursEntry>>,
) -> Request {
    let needs: Vec<&Need> = household
        .latest_visit()
        .map(|v| v.needs.iter().collect())
        .unwrap_or_default();
    let (kind, items, urgency) =
        if let Some(m) = needs.iter().find(|n| n.kind == NeedKind::Medicine) {
            let urgency = if m.is_critical() {
                Urgency::Critical
            } else {
                Urgency::Urgent
            };
            (
                OrderKind::MedicineDelivery,
                vec![Item {
                    name: m.item.clone(),
                    quantity: 2,
                    unit: "盒".into(),
                }],
                urgency,
            )
        } else if needs
            .iter()
            .any(|n| n.kind == NeedKind::PsychologicalSupport)
        {
            (OrderKind::PsychologicalSupport, vec![], Urgency::Urgent)
        } else {
            match rng.gen_range(0..4) {
                0 => (
                    OrderKind::TestKits,
                    vec![Item {
                        name: "抗原检测试剂".into(),
                        quantity: rng.gen_range(2..8),
                        unit: "份".into(),
                    }],
                    Urgency::Routine,
                ),
                1 => (OrderKind::HospitalEscort, vec![], Urgency::Urgent),
                _ => (
                    OrderKind::Groceries,
                    vec![
                        Item {
                            name: "大米".into(),
                            quantity: 5,
                            unit: "kg".into(),
                        },
                        Item {
                            name: "鸡蛋".into(),
                            quantity: rng.gen_range(10..31),
                            unit: "个".into(),
                        },
                    ],
                    Urgency::Routine,
                ),
            }
        };
    let requester = volunteers.choose(rng).unwrap().clone();
    let doer = if kind == OrderKind::PsychologicalSupport {
        staff.counselors.choose(rng).unwrap_or(&requester).clone()
    } else {
        volunteers.choose(rng).unwrap().clone()
    };
    let start = household
        .latest_visit()
        .map(|v| v.at)
        .unwrap_or(household.created_at)
        + 3_600_000;
    let mut log = EventLog {
        at: start,
        events: BTreeMap::new(),
    };
    let mut push = |rng: &mut ChaCha8Rng, by: Actor, action: OrderAction| {
        let gap = rng.gen_range(5..240) * 60_000;
        log.push(rng, gap, by, action)
    };
    push(
        rng,
        Actor::Worker(requester),
        OrderAction::Requested {
            items: items.clone(),
            urgency,
            deadline: None,
            note: String::new(),
        },
    );
    // How far this order got: requested, dispatched, accepted, started,
    // completed, rated, or cancelled along the way.
    let stage = rng.gen_range(0..100);
    let dispatcher = Actor::Worker(staff.dispatcher.clone());
    if stage >= 15 {
        let to = if kind == OrderKind::PsychologicalSupport {
            Assignee::Worker(doer.clone())
        } else {
            Assignee::Grid(household.grid_id.clone())
        };
        push(rng, dispatcher.clone(), OrderAction::Dispatched { to });
    }
    if (15..25).contains(&stage) {
        push(
            rng,
            dispatcher.clone(),
            OrderAction::Cancelled {
                reason: "居民已自行解决".into(),
            },
        );
    }
    if stage >= 30 {
        push(rng, Actor::Worker(doer.clone()), OrderAction::Accepted);
        // Now and then two volunteers accepted the same order offline.
        if stage % 17 == 0 && volunteers.len() > 1 {
            let other = volunteers.iter().find(|v| **v != doer).unwrap().clone();
            push(rng, Actor::Worker(other), OrderAction::Accepted);
        }
    }
    if stage >= 40 {
        push(rng, Actor::Worker(doer.clone()), OrderAction::Started);
    }
    if stage >= 50 {
        let minutes = rng.gen_range(15..120);
        let code = format!("{:04}", rng.gen_range(0..10_000));
        let done = push(
            rng,
            Actor::Worker(doer.clone()),
            OrderAction::Completed {
                handed_over: items,
                confirmation_code: code,
                minutes,
            },
        );
        let mut acknowledgements = BTreeMap::new();
        if stage >= 75 {
            if let Some(r) = household.members.values().next() {
                acknowledgements.insert(
                    r.id.to_string(),
                    Acknowledgement {
                        by: Actor::Resident(r.id.clone()),
                        at: done + 600_000,
                    },
                );
            }
        }
        hours.entry(doer.clone()).or_default().push(HoursEntry {
            id: HoursEntryId::from_rng(rng),
            source: HoursSource::Order(RequestId(String::new())),
            minutes,
            at: done,
            acknowledgements,
        });
    }
    if stage >= 75 {
        if let Some(r) = household.members.values().next() {
            let stars = *[3, 4, 5, 5, 5].choose(rng).unwrap();
            push(
                rng,
                Actor::Resident(r.id.clone()),
                OrderAction::Rated {
                    stars,
                    comment: String::new(),
                },
            );
        }
    }
    let id = RequestId::from_rng(rng);
    if let Some(last) = hours.get_mut(&doer).and_then(|v| v.last_mut()) {
        if last.source == HoursSource::Order(RequestId(String::new())) {
            last.source = HoursSource::Order(id.clone());
        }
    }
    Request {
        id,
        grid_id: household.grid_id.clone(),
        household_id: household.id.clone(),
        resident_id: None,
        kind,
        created_at: start,
        events: log.events,
    }
}

struct EventLog {
    at: Millis,
    events: BTreeMap<String, OrderEvent>,
}

impl EventLog {
    fn push(
        &mut self,
        rng: &mut ChaCha8Rng,
        gap: Millis,
        by: Actor,
        action: OrderAction,
    ) -> Millis {
        self.at += gap;
        let e = OrderEvent {
            id: EventId::from_rng(rng),
            at: self.at,
            by,
            action,
        };
        self.events.insert(e.id.to_string(), e);
        self.at
    }
}

fn write_households(
    b: &mut Batch<'_>,
    system: &Author,
    households: Vec<Household>,
) -> Result<(), StoreError> {
    for h in households {
        let id = h.id.to_string();
        b.put::<Household>(system, "fixture.household", &id, |_| Ok(h))?;
    }
    Ok(())
}

fn worker(rng: &mut ChaCha8Rng, role: Role, grid: Option<GridId>) -> Worker {
    let id = WorkerId::from_rng(rng);
    let skill_count = rng.gen_range(0..3);
    let mut skills: Vec<String> = SKILLS
        .choose_multiple(rng, skill_count)
        .map(|s| s.to_string())
        .collect();
    if matches!(role, Role::Counselor | Role::Clinician | Role::SocialWorker) {
        skills.push("psychological_first_aid".into());
    }
    let mut training = BTreeMap::new();
    if rng.gen_bool(0.7) {
        let t = TrainingId::from_rng(rng);
        training.insert(
            t.to_string(),
            TrainingRecord {
                id: t,
                course: "心理急救（PFA）基础".into(),
                completed_at: EPOCH + rng.gen_range(0..30) * DAY,
                tenths_of_hours: 40,
                trainer: String::new(),
                topic: String::new(),
            },
        );
    }
    Worker {
        id,
        name: name(rng),
        phone: phone(rng),
        role,
        grid_id: grid,
        skills: skills.into_iter().collect(),
        training,
        active: true,
        hours: BTreeMap::new(),
    }
}

fn household(
    rng: &mut ChaCha8Rng,
    grid: &GridId,
    volunteers: &[WorkerId],
    summary: &mut FixtureSummary,
) -> Household {
    let id = HouseholdId::from_rng(rng);
    let size = *[1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 5].choose(rng).unwrap();
    let elderly_home = rng.gen_bool(0.22);
    let surname = *SURNAMES.choose(rng).unwrap();
    let mut members = BTreeMap::new();
    let mut chronic_medicine: Option<(&str, bool)> = None;
    for m in 0..size {
        let age: u32 = if elderly_home && m < 2 {
            rng.gen_range(65..95)
        } else if m >= 2 || (size > 2 && m == 1 && rng.gen_bool(0.3)) {
            rng.gen_range(0..18)
        } else {
            rng.gen_range(20..64)
        };
        let sex = if rng.gen_bool(0.5) {
            Sex::Female
        } else {
            Sex::Male
        };
        let mut tags = Vec::new();
        if age >= 65 && size == 1 {
            tags.push(VulnerabilityTag::ElderlyAlone);
        }
        if age < 14 {
            tags.push(VulnerabilityTag::Child);
        }
        if rng.gen_bool(if age >= 50 { 0.35 } else { 0.05 }) {
            tags.push(VulnerabilityTag::ChronicIllness);
            chronic_medicine.get_or_insert(*MEDICINES.choose(rng).unwrap());
        }
        if rng.gen_bool(0.05) {
            tags.push(VulnerabilityTag::Disabled);
        }
        if sex == Sex::Female && (20..42).contains(&age) && rng.gen_bool(0.06) {
            tags.push(VulnerabilityTag::PregnantPostpartum);
        }
        for (tag, p) in [
            (VulnerabilityTag::Bereaved, 0.02),
            (VulnerabilityTag::Recovered, 0.08),
            (VulnerabilityTag::FrontLineWorker, 0.03),
            (VulnerabilityTag::MilitaryFamily, 0.01),
            (VulnerabilityTag::CommunityCorrections, 0.003),
        ] {
            if age >= 18 && rng.gen_bool(p) {
                tags.push(tag);
            }
        }
        if !tags.is_empty() {
            summary.vulnerable_residents += 1;
        }
        summary.residents += 1;
        let rid = ResidentId::from_rng(rng);
        let given = *GIVEN.choose(rng).unwrap();
        members.insert(
            rid.to_string(),
            Resident {
                id: rid,
                name: format!("{surname}{given}"),
                sex,
                birth_year: (2026 - age as i64) as u32,
                phone: if age >= 14 { phone(rng) } else { String::new() },
                tags: tags.into_iter().collect(),
            },
        );
    }
    let mut visits = BTreeMap::new();
    if rng.gen_bool(0.85) {
        for v in 0..rng.gen_range(1..=2) {
            let mut needs = Vec::new();
            if let Some((medicine, critical)) = chronic_medicine {
                let days = if critical {
                    rng.gen_range(0..10)
                } else {
                    rng.gen_range(2..30)
                };
                needs.push(Need {
                    kind: NeedKind::Medicine,
                    item: medicine.into(),
                    days_left: Some(days),
                    detail: String::new(),
                    severity: Urgency::Routine,
                    met: None,
                });
            }
            for (kind, p) in [
                (NeedKind::Food, 0.08),
                (NeedKind::Water, 0.015),
                (NeedKind::MedicalCare, 0.05),
                (NeedKind::PsychologicalSupport, 0.06),
            ] {
                if rng.gen_bool(p) {
                    needs.push(Need {
                        kind,
                        item: String::new(),
                        days_left: None,
                        detail: String::new(),
                        severity: Urgency::Routine,
                        met: None,
                    });
                }
            }
            if rng.gen_bool(0.02) {
                needs.push(Need {
                    kind: NeedKind::Other,
                    item: String::new(),
                    days_left: None,
                    detail: "需要代缴电费".into(),
                    severity: Urgency::Routine,
                    met: None,
                });
            }
            let vid = VisitId::from_rng(rng);
            summary.visits += 1;
            visits.insert(
                vid.to_string(),
                CanvassVisit {
                    id: vid,
                    worker_id: volunteers.choose(rng).unwrap().clone(),
                    at: EPOCH
                        + (10 + v * 14 + rng.gen_range(0..7)) * DAY
                        + rng.gen_range(8..20) * 3_600_000,
                    needs,
                    notes: String::new(),
                },
            );
        }
    }
    let building = rng.gen_range(1..=30);
    Household {
        id,
        grid_id: grid.clone(),
        address: Address {
            compound: COMPOUNDS.choose(rng).unwrap().to_string(),
            building: format!("{building}栋"),
            unit: format!("{}单元", rng.gen_range(1..=4)),
            room: format!("{}{:02}", rng.gen_range(1..=18), rng.gen_range(1..=4)),
        },
        members,
        visits,
        created_at: EPOCH + rng.gen_range(1..10) * DAY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    fn build(seed: u64, n: u32) -> (tempfile::TempDir, Store, FixtureSummary) {
        let dir = tempfile::TempDir::new().unwrap();
        let mut store = Store::open(dir.path().join("s.db"), StoreOptions::default()).unwrap();
        let summary = generate(
            &mut store,
            FixtureSpec {
                households: n,
                seed,
            },
            |_, _| {},
        )
        .unwrap();
        (dir, store, summary)
    }

    #[test]
    fn same_seed_same_export_different_seed_different_export() {
        let (_a, a, sa) = build(7, 60);
        let (_b, b, _) = build(7, 60);
        let (_c, c, _) = build(8, 60);
        let ea = a.export_json().unwrap();
        assert_eq!(ea, b.export_json().unwrap());
        assert_ne!(ea, c.export_json().unwrap());
        assert_eq!(sa.households, 60);
        assert!(sa.residents >= 60);
    }

    #[test]
    fn fixture_is_realistic_and_consistent() {
        let (_d, mut store, s) = build(1, 400);
        let share = s.vulnerable_residents as f64 / s.residents as f64;
        assert!((0.15..0.7).contains(&share), "vulnerable share {share}");
        assert!(s.visits as f64 > 0.8 * 400.0);
        let grid = &s.grids[0];
        let list = store.households().households_in_grid(grid, 500, 0).unwrap();
        assert!(!list.is_empty());
        // Triage order: the priority never rises again down the list, and
        // every priority above P4 says why.
        for pair in list.windows(2) {
            assert!(pair[0].priority <= pair[1].priority);
        }
        assert!(list
            .iter()
            .all(|r| (r.priority == Priority::P4) == r.reasons.is_empty()));
        let p1 = list.iter().filter(|r| r.priority == Priority::P1).count();
        assert!(
            p1 > 0 && p1 < list.len() / 2,
            "{p1} of {} at P1",
            list.len()
        );
        let report = store.check().unwrap();
        assert!(report.is_ok(), "{:?}", report.faults());
        let stats = store.stats().unwrap();
        assert_eq!(stats.documents["household"], 400);
        // Orders in every state, hours credited, a conflict or two.
        for status in OrderStatus::WORDS {
            assert!(
                s.orders.get(*status).copied().unwrap_or(0) > 0,
                "no {status} order"
            );
        }
        assert!(s.hours_entries > 0);
        assert!(!store
            .orders()
            .hours_totals(None, 0, i64::MAX)
            .unwrap()
            .is_empty());
        assert!(!store.orders().order_conflicts(None).unwrap().is_empty());
        assert!(!store.orders().dispatch_queue(None).unwrap().is_empty());
    }
}
