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

use crate::{tr, ui, Failure};
use anxin_core::labels::Vocabulary;

/// Codes as words of this run's language, joined.
fn words(vocabulary: Vocabulary, codes: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let out: Vec<String> = codes
        .into_iter()
        .map(|c| ui::word(vocabulary, c.as_ref()))
        .collect();
    if out.is_empty() {
        tr!("none", "无")
    } else {
        out.join(ui::sep())
    }
}

/// Triage reasons as words of this run's language, joined.
fn reasons(codes: &[String]) -> String {
    if codes.is_empty() {
        return tr!("routine", "常规");
    }
    codes
        .iter()
        .map(|c| ui::reason(c))
        .collect::<Vec<_>>()
        .join(ui::sep())
}

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

    // The demo's station is named in Chinese: its narration is Chinese
    // unless --lang or ANXIN_LANG chose otherwise.
    ui::adopt_station(
        anxin_core::labels::Language::ZhHans,
        anxin_core::localtime::LocalTime::default(),
    );
    say(tr!(
        "== 安心 Anxin station demo ==",
        "== 安心小屋 · 站点演示 =="
    ));
    let summary = build_station(&mut store, dir.path(), &say)?;
    let station = store.station()?;
    ui::adopt_station(station.language(), station.local_time());
    say(tr!(
        "Station {name} set up on an encrypted store: {grids} grids, {workers} workers, {households} households recorded so far.",
        "站点「{name}」已在加密数据库中建好：{grids} 个网格，{workers} 名工作人员，目前登记 {households} 户。",
        name = station.name,
        grids = station.grids.len(),
        workers = summary.workers,
        households = summary.households
    ));

    // A volunteer of the first grid canvasses three more households by hand.
    let grid = summary.grids[0].clone();
    let grid_name = station
        .grid(&grid)
        .map(|g| g.name.clone())
        .unwrap_or_default();
    let volunteer = store
        .people()
        .workers(Some(&grid), Some(Role::Volunteer))?
        .into_iter()
        .next()
        .ok_or_else(|| Failure::other("the station has no volunteer"))?;
    let by = Author::Worker(volunteer.id.clone());
    say(tr!(
        "\nVolunteer {name} canvasses {grid} door to door:",
        "\n志愿者{name}在{grid}逐户摸排：",
        name = volunteer.name,
        grid = grid_name
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
        let h = store.households_mut().add_household(&by, &grid, address)?;
        let tags = words(Vocabulary::Tag, resident.tags.iter().map(|t| t.to_string()));
        let name = resident.name.clone();
        let r = store.households_mut().add_resident(&by, &h, resident)?;
        first_resident.get_or_insert(r.clone());
        canvassed.push((h.clone(), r, name.clone()));
        let critical = needs.iter().any(Need::is_critical);
        let need_words: Vec<String> = needs
            .iter()
            .map(|n| match n.days_left {
                Some(d) => tr!(
                    "{kind} {item} ({d} days left)",
                    "{kind}：{item}（还剩 {d} 天）",
                    kind = ui::word(Vocabulary::NeedKind, n.kind.as_str()),
                    item = n.item,
                    d = d
                ),
                None => ui::word(Vocabulary::NeedKind, n.kind.as_str()),
            })
            .collect();
        store.households_mut().record_visit(
            &by,
            &h,
            NewVisit {
                at: now,
                needs,
                notes: String::new(),
            },
        )?;
        let needs = if need_words.is_empty() {
            tr!("none", "无")
        } else {
            need_words.join(ui::sep())
        };
        say(tr!(
            "  {label}: {name}, tags [{tags}], needs [{needs}]{critical}",
            "  {label}：{name}，标签［{tags}］，需求［{needs}］{critical}",
            label = label,
            name = name,
            tags = tags,
            needs = needs,
            critical = if critical {
                tr!("  -> CRITICAL", "  → 危急")
            } else {
                String::new()
            }
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
        .people()
        .workers(None, Some(Role::Dispatcher))?
        .into_iter()
        .next()
        .ok_or_else(|| Failure::other("the station has no dispatcher"))?;
    let dispatcher_by = Author::Worker(dispatcher.id.clone());
    say(tr!(
        "\nOrders (点单 → 派单 → 接单 → 评单):",
        "\n工单（点单 → 派单 → 接单 → 评单）："
    ));
    let order = store.orders_mut().create_order(
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
    let queue = store.orders().dispatch_queue(Some(&grid))?;
    let place = queue
        .iter()
        .position(|r| r.id == order)
        .map(|i| i + 1)
        .unwrap_or(0);
    if let Some(row) = queue.iter().find(|r| r.id == order) {
        say(tr!(
            "  {name} records it; the dispatcher's queue for {grid} has {open} open orders, this one is number {place}: {priority} [{reasons}]",
            "  {name}登记工单；{grid}的派单队列有 {open} 张未完成工单，这一张排第 {place}：{priority}［{reasons}］",
            name = volunteer.name,
            grid = grid_name,
            open = queue.len(),
            place = place,
            priority = ui::word(Vocabulary::Priority, row.priority.as_str()),
            reasons = reasons(&row.reasons)
        ));
    }
    store.orders_mut().order_action(
        &dispatcher_by,
        &order,
        OrderAction::Dispatched {
            to: Assignee::Grid(grid.clone()),
        },
    )?;
    let suggestions = store.orders().suggest_workers(&order, 3)?;
    say(tr!(
        "  dispatcher {name} sends it to {grid}; suggested: {who}",
        "  派单员{name}派给{grid}；推荐：{who}",
        name = dispatcher.name,
        grid = grid_name,
        who = suggestions
            .iter()
            .map(|s| tr!(
                "{name} (load {load})",
                "{name}（手上 {load} 单）",
                name = s.name,
                load = s.load
            ))
            .collect::<Vec<_>>()
            .join(ui::sep())
    ));
    store
        .orders_mut()
        .order_action(&by, &order, OrderAction::Accepted)?;
    store
        .orders_mut()
        .order_action(&by, &order, OrderAction::Started)?;
    store.orders_mut().order_action(
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
    let state = store.orders_mut().order_action(
        &resident_by,
        &order,
        OrderAction::Rated {
            stars: 5,
            comment: "及时".into(),
        },
    )?;
    say(tr!(
        "  {name} accepts, starts, hands over 2 支 against code 4821; 王秀英 rates it {stars} stars: {status}",
        "  {name}接单、出发，凭确认码 4821 交付 2 支；王秀英评 {stars} 星：{status}",
        name = volunteer.name,
        stars = state.stars.unwrap_or(0),
        status = ui::word(Vocabulary::OrderStatus, state.status.as_str())
    ));
    let worker: Worker = store.get(volunteer.id.as_str())?;
    if let Some(entry) = worker
        .hours
        .values()
        .find(|e| e.source == HoursSource::Order(order.clone()))
    {
        store
            .orders_mut()
            .acknowledge_hours(&resident_by, &volunteer.id, &entry.id)?;
    }
    let hours = store
        .orders()
        .hours_totals(Some(&volunteer.id), 0, i64::MAX)?;
    if let Some(h) = hours.first() {
        say(tr!(
            "  {name} now has {hours} volunteer hours ({ack} acknowledged by residents or coordinators)",
            "  {name}现有志愿服务时长 {hours} 小时（其中 {ack} 小时已由居民或协调员确认）",
            name = volunteer.name,
            hours = format!("{:.1}", h.minutes as f64 / 60.0),
            ack = format!("{:.1}", h.acknowledged_minutes as f64 / 60.0)
        ));
    }
    let conflicts = store.orders().order_conflicts(None)?;
    if let Some(c) = conflicts.iter().find(|c| c.kind == "acceptance_lost") {
        say(tr!(
            "  {n} order(s) were accepted by two volunteers while offline; e.g. order {order}: first acceptance wins, the other volunteer is told.",
            "  离线时有 {n} 张工单被两名志愿者同时接单；例如工单 {order}：先接者得，另一位会收到通知。",
            n = conflicts.iter().filter(|c| c.kind == "acceptance_lost").count(),
            order = c.request_id.as_str().chars().take(8).collect::<String>()
        ));
    }
    let screening = screenings(&mut store, &grid, &canvassed, &volunteer, &say)?;
    let order_report = store.orders().report()?;
    let phones = phones(dir.path(), &mut store, &grid, &say)?;

    // Reopen: what was acknowledged is on disk, and the store is sound.
    drop(store);
    let mut store = Store::open(&path, options)?;
    let report = store.check()?;

    let mut grids_out = Vec::new();
    for g in &summary.grids {
        let s = store.households().grid_summary(g)?;
        let name = station.grid(g).map(|g| g.name.clone()).unwrap_or_default();
        say(tr!(
            "\n{name}: {households} households, {canvassed} canvassed, {critical} with a life-threatening need, {vulnerable} vulnerable residents",
            "\n{name}：{households} 户，已摸排 {canvassed} 户，{critical} 户有危及生命的需求，重点人群 {vulnerable} 人",
            name = name,
            households = s.households,
            canvassed = s.canvassed,
            critical = s.critical,
            vulnerable = s.vulnerable_residents
        ));
        let top = store.households().households_in_grid(g, 5, 0)?;
        say(tr!(
            "  triage order (life first, the most vulnerable first, the most urgent first):",
            "  分级顺序（生命优先、最脆弱者优先、最紧急者优先）："
        ));
        for r in &top {
            say(tr!(
                "    {priority} {address}  members {members}  [{reasons}]",
                "    {priority} {address}  {members} 人  ［{reasons}］",
                priority = ui::word(Vocabulary::Priority, r.priority.as_str()),
                address = r.address,
                members = r.members,
                reasons = reasons(&r.reasons)
            ));
        }
        grids_out.push(serde_json::json!({
            "grid": name,
            "summary": s,
            "top": top.iter().map(|r| &r.address).collect::<Vec<_>>(),
        }));
    }
    let tags = store.households().tag_counts(None)?;
    say(tr!(
        "\nVulnerable residents found, by tag:",
        "\n发现的重点人群，按标签："
    ));
    for (tag, n) in &tags {
        say(tr!(
            "  {tag}: {n}",
            "  {tag}：{n} 人",
            tag = ui::word(Vocabulary::Tag, tag),
            n = n
        ));
    }
    let by_role: BTreeMap<String, usize> =
        store
            .people()
            .workers(None, None)?
            .iter()
            .fold(BTreeMap::new(), |mut m, w| {
                *m.entry(w.role.to_string()).or_default() += 1;
                m
            });
    say(tr!(
        "\nWorkers by role: {list}",
        "\n工作人员按角色：{list}",
        list = by_role
            .iter()
            .map(|(r, n)| format!("{} {n}", ui::word(Vocabulary::Role, r)))
            .collect::<Vec<_>>()
            .join(ui::sep())
    ));
    // Where the household with insulin running out stands in its grid.
    let rank = store
        .households()
        .households_in_grid(&grid, 10_000, 0)?
        .iter()
        .position(|r| Some(&r.id) == first.as_ref())
        .map(|i| i + 1);
    say(tr!(
        "\n王秀英's household (insulin for 2 days) is number {rank} of {n} on {grid}'s list.",
        "\n王秀英家（胰岛素只够 2 天）在{grid}名单的 {n} 户中排第 {rank}。",
        rank = rank.unwrap_or(0),
        n = store.households().grid_summary(&grid)?.households,
        grid = grid_name
    ));
    say(tr!(
        "\nOrders across the station (from the report, de-identified):",
        "\n全站工单（来自去标识化统计）："
    ));
    for (kind, by_status) in &order_report.station.orders {
        say(tr!(
            "  {kind}: {list}",
            "  {kind}：{list}",
            kind = ui::word(Vocabulary::OrderKind, kind),
            list = by_status
                .iter()
                .map(|(s, n)| format!("{} {n}", ui::word(Vocabulary::OrderStatus, s)))
                .collect::<Vec<_>>()
                .join(ui::sep())
        ));
    }
    if let Some(m) = order_report.station.median_minutes_to_completion {
        say(tr!(
            "  median time from request to completion: {m} minutes",
            "  从点单到完成的中位时间：{m} 分钟",
            m = format!("{m:.0}")
        ));
    }
    say(tr!(
        "\nAfter reopening the encrypted store: check {result}.",
        "\n重新打开加密数据库后自检：{result}。",
        result = if report.is_ok() {
            tr!("ok", "通过")
        } else {
            tr!("FAILED", "未通过")
        }
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
        .people()
        .workers(None, Some(Role::Counselor))?
        .into_iter()
        .next()
        .ok_or_else(|| Failure::other("the station has no counselor"))?;
    let counselor_by = Author::Worker(counselor.id.clone());
    say(tr!(
        "\nScreenings during canvassing (预警评估, zh-CN cutoffs):",
        "\n摸排中的心理筛查（预警评估，采用中国常模界值）："
    ));
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
        let rec = store.cases_mut().record_screening(
            &by,
            NewScreening {
                household_id: household.clone(),
                resident_id: resident.clone(),
                team: None,
                results: vec![result],
            },
            library,
        )?;
        say(tr!(
            "  {name}, first round: PHQ-9 → {tier} (review due within 24 h)",
            "  {name}，首轮筛查：PHQ-9 → {tier}（24 小时内须专业复核）",
            name = name,
            tier = ui::word(Vocabulary::Tier, rec.decision.tier.as_str())
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
                say(tr!(
                    "  {name}, {inst} item {item} 「{text}」: RED FLAG {flags} raised at this answer — the app alerts before anything is saved",
                    "  {name}，{inst} 第 {item} 题「{text}」：作答即触发红旗预警（{flags}）——保存之前应用就已报警",
                    name = name,
                    inst = inst.name,
                    item = prompt.item,
                    text = prompt.text,
                    flags = words(Vocabulary::Flag, &step.red_flags)
                ));
            }
            if step.next.is_none() {
                break;
            }
        }
        let result = admin.finish(None, policy)?;
        let rec = store.cases_mut().record_screening(
            &by,
            NewScreening {
                household_id: household.clone(),
                resident_id: resident.clone(),
                team: None,
                results: vec![result.clone()],
            },
            library,
        )?;
        say(tr!(
            "  {name}: {inst} total {score} ({band}) → {tier}; case {case}",
            "  {name}：{inst} 总分 {score}（{band}）→ {tier}；个案等级 {case}",
            name = name,
            inst = inst.name,
            score = result.score.unwrap_or(0),
            band = ui::word(Vocabulary::Band, result.band.as_deref().unwrap_or("")),
            tier = ui::word(Vocabulary::Tier, rec.decision.tier.as_str()),
            case = ui::word(Vocabulary::Tier, rec.case_tier.as_str())
        ));
        // The red flag opened its crisis record in the same write.
        if let (Some((item, _, _)), Some(crisis)) = (&flagged_at, &rec.crisis_opened) {
            say(tr!(
                "    saving the sitting opened crisis {crisis} by itself (red flag at item {item}); nobody had to remember to",
                "    保存这次筛查时系统自动建立了危机记录 {crisis}（第 {item} 题红旗），无须任何人记得去做",
                crisis = crisis.as_str().chars().take(8).collect::<String>(),
                item = item
            ));
            for s in [
                CrisisStep::StayedWithPerson,
                CrisisStep::MeansRemoved,
                CrisisStep::HandedToProfessional,
            ] {
                store
                    .cases_mut()
                    .crisis_action(&by, &rec.case_id, crisis, s, "")?;
            }
            say(tr!(
                "    {name} stays with him, removes the means, and calls counselor {counselor}",
                "    {name}留下陪伴他、移除危险物品，并致电心理咨询师{counselor}",
                name = volunteer.name,
                counselor = counselor.name
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
    let due = store
        .cases()
        .cases_due(None, now, now + 7 * anxin_core::localtime::DAY)?;
    let pressing: Vec<_> = due.iter().filter(|d| d.what != "rescreen").collect();
    say(tr!(
        "  what is due at the station now ({n} items, re-screens aside; the crisis first):",
        "  全站当前待办（共 {n} 项，复筛除外；危机在先）：",
        n = pressing.len()
    ));
    for d in &pressing {
        say(tr!(
            "    {what}: case {case} ({tier}) by {due}",
            "    {what}：个案 {case}（{tier}），截止 {due}",
            what = ui::word(Vocabulary::DueKind, &d.what),
            case = d.case_id.chars().take(8).collect::<String>(),
            tier = ui::word(Vocabulary::Tier, d.tier.as_str()),
            due = crate::format_time(d.due_at)
        ));
    }
    let lifted = store
        .households()
        .households_in_grid(grid, 10_000, 0)?
        .into_iter()
        .find(|r| Some(&r.id) == canvassed.get(2).map(|c| &c.0));
    if let Some(row) = &lifted {
        say(tr!(
            "  刘建国's household is now {priority} [{reasons}]: a crisis lifts the household to the top of triage",
            "  刘建国家现为{priority}［{reasons}］：危机使该户升至分级首位",
            priority = ui::word(Vocabulary::Priority, row.priority.as_str()),
            reasons = reasons(&row.reasons)
        ));
    }
    // The counselor arrives, reviews, refers, and closes the crisis. At the
    // station's laptop she signs with her own identity file: a sign-off is
    // never the station's.
    if let Some((case, crisis)) = &crisis_case {
        let admin = store
            .people()
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
        say(tr!(
            "  counselor {name} signs in at the station's laptop with her own identity file ({bytes} bytes, passphrase-protected)",
            "  心理咨询师{name}在站点电脑上用本人的身份文件登录（{bytes} 字节，口令保护）",
            name = counselor.name,
            bytes = identity.len()
        ));
        // Reviewing the older sitting down does not hide the newer red flag.
        if let Some(first) = &earlier {
            let state = store.cases_mut().review_screening(
                &counselor_by,
                case,
                first,
                Tier::T1,
                "first-round sitting reviewed by phone: mild",
            )?;
            say(tr!(
                "  counselor {name} reviews the first-round sitting → {t1}; the case stays {tier}: a review applies to its own sitting, and the newer red flag and the open crisis still stand",
                "  心理咨询师{name}复核首轮筛查 → {t1}；个案仍为{tier}：复核只作用于那一次筛查，较新的红旗和未解除的危机依然有效",
                name = counselor.name,
                t1 = ui::word(Vocabulary::Tier, "t1"),
                tier = ui::word(Vocabulary::Tier, state.tier.as_str())
            ));
        }
        let (_, state) = store.cases().case(case, now)?;
        if let Some(s) = state.screenings.last() {
            store.cases_mut().review_screening(
                &counselor_by,
                case,
                &s.id,
                Tier::T3,
                "assessed in person: ideation without a plan; needs a psychiatrist",
            )?;
        }
        let referral = store.cases_mut().refer(
            &counselor_by,
            case,
            Tier::T3,
            "区精神卫生中心",
            "depression with suicidal ideation",
        )?;
        store.cases_mut().update_referral(
            &counselor_by,
            case,
            &referral,
            ReferralStatus::Sent,
            "",
        )?;
        let state = store.cases_mut().close_crisis(
            &counselor_by,
            case,
            crisis,
            Tier::T3,
            "safety plan agreed with his sister",
        )?;
        store.sign_as_device();
        say(tr!(
            "  counselor {name} reviews (复核) → {t3}, refers him to 区精神卫生中心, closes the crisis; case {tier}; next follow-up {next}",
            "  心理咨询师{name}复核 → {t3}，转介至区精神卫生中心，解除危机；个案等级 {tier}；下次随访 {next}",
            name = counselor.name,
            t3 = ui::word(Vocabulary::Tier, "t3"),
            tier = ui::word(Vocabulary::Tier, state.tier.as_str()),
            next = state
                .due
                .iter()
                .find(|d| d.what == "followup")
                .map(|d| crate::format_time(d.due_at))
                .unwrap_or_default()
        ));
    }
    let due_after = store
        .cases()
        .cases_due(None, now, now + 7 * anxin_core::localtime::DAY)?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for d in &due_after {
        *counts.entry(d.what.clone()).or_default() += 1;
    }
    say(tr!(
        "  due this week now: {list}",
        "  本周待办：{list}",
        list = counts
            .iter()
            .map(|(k, v)| tr!(
                "{v} {what}",
                "{what} {v} 项",
                v = v,
                what = ui::word(Vocabulary::DueKind, k)
            ))
            .collect::<Vec<_>>()
            .join(ui::sep())
    ));
    Ok(serde_json::json!({
        "results": out,
        // What the narration said and listed: the same items.
        "due_before_review": pressing.len(),
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
    say(tr!(
        "\nPhones in the compound (sync without a network):",
        "\n小区里的手机（无网络也能同步）："
    ));
    let other_grid = station
        .station()?
        .grids
        .keys()
        .find(|g| g.as_str() != grid.as_str())
        .cloned()
        .map(GridId)
        .ok_or_else(|| Failure::other("the station has one grid"))?;
    let volunteers = station
        .people()
        .workers(Some(grid), Some(Role::Volunteer))?;
    let (va, vb) = (volunteers[0].clone(), volunteers[1].clone());
    let vc = station
        .people()
        .workers(Some(&other_grid), Some(Role::Volunteer))?[0]
        .clone();
    let dispatcher = station.people().workers(None, Some(Role::Dispatcher))?[0]
        .id
        .clone();
    let admin = Author::Worker(
        station
            .people()
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
        let code = station
            .devices_mut()
            .enrol_device(&admin, worker, EnrolOptions::default())?;
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
    let household = station.households().households_in_grid(grid, 1, 0)?[0]
        .id
        .clone();
    let order = station.orders_mut().create_order(
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
    station.orders_mut().order_action(
        &Author::Worker(dispatcher),
        &order,
        OrderAction::Dispatched {
            to: Assignee::Grid(grid.clone()),
        },
    )?;
    let mut a = phone(station, "phone-a", &va.id)?;
    let mut b = phone(station, "phone-b", &vb.id)?;
    let mut c = phone(station, "phone-c", &vc.id)?;
    say(tr!(
        "  three phones enrol over the LAN, each with a one-time code from the station admin: {a} and {b} hold one grid, {c} the other; each holds only its grid's households, and the sessions are encrypted and authenticated",
        "  三部手机在局域网内用站点管理员给的一次性码入网：{a}和{b}负责一个网格，{c}负责另一个；每部手机只存本网格的住户，同步全程加密并验证身份",
        a = va.name,
        b = vb.name,
        c = vc.name
    ));

    // Offline: both volunteers of the grid accept the same order.
    a.orders_mut().order_action(
        &Author::Worker(va.id.clone()),
        &order,
        OrderAction::Accepted,
    )?;
    b.orders_mut().order_action(
        &Author::Worker(vb.id.clone()),
        &order,
        OrderAction::Accepted,
    )?;
    a.households_mut().record_visit(
        &Author::Worker(va.id.clone()),
        &household,
        NewVisit {
            at: now_millis(),
            needs: vec![],
            notes: String::new(),
        },
    )?;
    let c_home = c.households().households_in_grid(&other_grid, 1, 0)?[0]
        .id
        .clone();
    c.households_mut().record_visit(
        &Author::Worker(vc.id.clone()),
        &c_home,
        NewVisit {
            at: now_millis(),
            needs: vec![],
            notes: String::new(),
        },
    )?;
    say(tr!(
        "  offline, {a} and {b} both accept the same order (接单); each phone records visits",
        "  离线时，{a}和{b}都接了同一张工单；两部手机各自记录走访",
        a = va.name,
        b = vb.name
    ));

    // The two phones meet over Bluetooth.
    let r = meet(&mut a, &mut b, &SyncConfig::bluetooth(), &ble);
    let (_, state) = a.orders().order(&order)?;
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
    let told_b = !b.orders().order_conflicts(Some(&vb.id))?.is_empty();
    say(tr!(
        "  they meet over Bluetooth ({bytes} bytes, {secs} s simulated): the first acceptance wins — {winner} keeps the order; {loser} is told through a conflict record ({shown})",
        "  两人碰面用蓝牙同步（{bytes} 字节，模拟 {secs} 秒）：先接者得——工单归{winner}；{loser}通过冲突记录得知（{shown}）",
        bytes = r.bytes(),
        secs = format!("{:.1}", r.seconds),
        winner = winner,
        loser = loser,
        shown = if told_b {
            tr!("both phones show it", "两部手机都显示")
        } else {
            tr!("not shown!", "未显示！")
        }
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
        let scopes = p.replica().scopes()?;
        let mut docs = 0;
        for scope in &scopes {
            let mine = p.replica().scope_digest(scope)?;
            let theirs = station.replica().scope_digest(scope)?;
            all_agree &= mine == theirs;
            docs += mine.1;
        }
        let households = p.doc_ids(DocKind::Household)?.len();
        say(tr!(
            "  {name}'s phone holds {docs} documents ({households} households) in {scopes} scopes — same as the station: {same}",
            "  {name}的手机存有 {docs} 份文档（{households} 户），共 {scopes} 个范围——与站点一致：{same}",
            name = name,
            docs = docs,
            households = households,
            scopes = scopes.len(),
            same = if all_agree { tr!("yes", "是") } else { tr!("NO", "否") }
        ));
        holdings.push(serde_json::json!({ "documents": docs, "households": households }));
    }
    if !all_agree {
        return Err(Failure::other("the phones and the station do not agree"));
    }
    say(tr!(
        "  the station holds all {n} documents; every phone agrees with it on every scope it holds",
        "  站点存有全部 {n} 份文档；每部手机在其负责的每个范围内都与站点一致",
        n = DocKind::ALL
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
    let station = store.setup_mut().init_station("中南路安心小屋")?;
    ui::adopt_station(station.language(), station.local_time());
    let admin = Author::Worker(
        store
            .people_mut()
            .add_first_admin("赵丽华", "13700000000")?,
    );
    let community = store.setup_mut().add_community(&admin, "百步亭社区")?;
    let grids = vec![
        store.setup_mut().add_grid(&admin, &community, "第1网格")?,
        store.setup_mut().add_grid(&admin, &community, "第2网格")?,
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
        let id = store.people_mut().add_worker(
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
            store
                .people_mut()
                .assign_to_grid(&admin, &grids[*g], &id, lead)?;
        }
        ids.push((id, *grid));
    }
    store.people_mut().add_training(
        &admin,
        &ids[1].0,
        NewTraining {
            course: "心理急救（PFA）基础".into(),
            topic: "psychological_first_aid".into(),
            trainer: "市心理援助热线".into(),
            completed_at: now_millis() - 30 * anxin_core::localtime::DAY,
            tenths_of_hours: 40,
        },
    )?;
    for (g, (name, phone)) in grids
        .iter()
        .zip([("冯志明", "13700000100"), ("何建军", "13700000102")])
    {
        store.people_mut().set_contact_card(
            &admin,
            g,
            ContactCard {
                name: name.into(),
                phone: phone.into(),
                hours: "8:00-20:00".into(),
            },
        )?;
    }
    say(tr!(
        "Set up by the station admin: 1 community, 2 grids, 9 workers with their rosters and leads, a PFA training record.",
        "站点管理员完成设置：1 个社区、2 个网格、9 名工作人员（含网格名册与网格长）、1 条心理急救培训记录。"
    ));

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
    let dry = store
        .setup_mut()
        .import(&dispatcher, ImportKind::Households, &sheet, true)?;
    let report = store
        .setup_mut()
        .import(&dispatcher, ImportKind::Households, &sheet, false)?;
    let again = store
        .setup_mut()
        .import(&dispatcher, ImportKind::Households, &sheet, false)?;
    say(tr!(
        "Imported 摸排表.csv ({rows} rows): dry run found {problems} problems; {households} households and {residents} residents created; importing it again changed nothing ({unchanged} rows already present).",
        "导入摸排表.csv（{rows} 行）：试导入发现 {problems} 个问题；新建 {households} 户、{residents} 名居民；再次导入没有任何改变（{unchanged} 行已存在）。",
        rows = rows,
        problems = dry.problems.len(),
        households = report.created,
        residents = report.residents_added,
        unchanged = again.unchanged
    ));
    say(tr!(
        "\nThe contact card posted in the stairwells of 第1网格:\n{card}",
        "\n张贴在第1网格各楼道的联系卡：\n{card}",
        card = crate::setup::contact_card_text(store, &grids[0])?.trim_end()
    ));
    Ok(Built {
        workers: people.len() + 1,
        households: report.created,
        grids,
    })
}
