//! `anxin today`: the daily station report (每日工作简报) for people — in
//! the terminal, as JSON (stable codes), or as an A4 page to print.

use anxin_core::labels::Vocabulary;
use anxin_core::store::{CaseLine, DailyReport, OrderLine, Store};

use crate::print::{self, esc};
use crate::{tr, ui, Failure};

/// One part of the report: a heading and a table.
struct Section {
    title: String,
    head: Vec<String>,
    rows: Vec<Vec<String>>,
    none: String,
}

fn order_row(o: &OrderLine, now: i64) -> Vec<String> {
    let late = o.deadline.is_some_and(|d| d < now);
    vec![
        ui::word(Vocabulary::Urgency, o.urgency.as_str()),
        ui::word(Vocabulary::OrderKind, o.kind.as_str()),
        ui::word(Vocabulary::OrderStatus, o.status.as_str()),
        format!("{} · {}", o.address, o.grid),
        match o.deadline {
            Some(d) if late => tr!("{t} (late)", "{t}（已超时）", t = ui::time(d)),
            Some(d) => ui::time(d),
            None => "—".into(),
        },
        o.worker.clone().unwrap_or_else(|| "—".into()),
    ]
}

fn case_row(c: &CaseLine) -> Vec<String> {
    vec![
        ui::word(Vocabulary::DueKind, &c.what),
        c.case_id.chars().take(8).collect(),
        ui::word(Vocabulary::Tier, c.tier.as_str()),
        c.grid.clone(),
        if c.overdue && c.what != "crisis" {
            tr!("{t} (overdue)", "{t}（已逾期）", t = ui::time(c.due_at))
        } else {
            ui::time(c.due_at)
        },
        c.responsible
            .clone()
            .unwrap_or_else(|| tr!("nobody assigned", "未指定")),
    ]
}

fn sections(r: &DailyReport) -> Vec<Section> {
    let order_head = vec![
        tr!("Urgency", "紧急程度"),
        tr!("Kind", "类型"),
        tr!("Status", "状态"),
        tr!("Household", "住户"),
        tr!("Deadline", "截止时间"),
        tr!("Worker", "经办人"),
    ];
    let case_head = vec![
        tr!("What", "事项"),
        tr!("Case", "个案"),
        tr!("Tier", "风险等级"),
        tr!("Grid", "网格"),
        tr!("Due", "到期时间"),
        tr!("Responsible", "负责人"),
    ];
    let mut urgency_rows = Vec::new();
    for (u, (new, open, late)) in r.orders_by_urgency.iter().rev() {
        urgency_rows.push(vec![
            ui::word(Vocabulary::Urgency, u.as_str()),
            new.to_string(),
            open.to_string(),
            late.to_string(),
        ]);
    }
    let mut out = vec![
        Section {
            title: tr!("Orders", "工单"),
            head: vec![
                tr!("Urgency", "紧急程度"),
                tr!("New today", "今日新增"),
                tr!("Open", "未完成"),
                tr!("Overdue", "已超时"),
            ],
            rows: urgency_rows,
            none: tr!("No orders.", "暂无工单。"),
        },
        Section {
            title: tr!("Overdue orders", "超时工单"),
            head: order_head.clone(),
            rows: r
                .overdue_orders
                .iter()
                .map(|o| order_row(o, r.at))
                .collect(),
            none: tr!("None overdue.", "没有超时工单。"),
        },
        Section {
            title: tr!("Open orders", "未完成工单"),
            head: order_head,
            rows: r.open_orders.iter().map(|o| order_row(o, r.at)).collect(),
            none: tr!("None open.", "没有未完成工单。"),
        },
        Section {
            title: tr!("Households newly P1", "今日新增一级户"),
            head: vec![
                tr!("Household", "住户"),
                tr!("Grid", "网格"),
                tr!("Why", "原因"),
            ],
            rows: r
                .newly_p1
                .iter()
                .map(|h| {
                    vec![
                        h.address.clone(),
                        h.grid.clone(),
                        h.reasons
                            .iter()
                            .map(|x| ui::reason(x))
                            .collect::<Vec<_>>()
                            .join(ui::sep()),
                    ]
                })
                .collect(),
            none: tr!("None today.", "今日没有新增一级户。"),
        },
        Section {
            title: tr!("Open crises", "危机个案（处置中）"),
            head: case_head.clone(),
            rows: r.crises.iter().map(case_row).collect(),
            none: tr!("No open crisis.", "没有处置中的危机。"),
        },
        Section {
            title: tr!("Due today or overdue", "今日到期及逾期事项"),
            head: case_head,
            rows: r.due.iter().map(case_row).collect(),
            none: tr!("Nothing due.", "没有到期事项。"),
        },
        Section {
            title: tr!("Needs", "需求"),
            head: vec![
                tr!("Found at today's visits", "今日走访发现"),
                tr!("Met today", "今日已满足"),
            ],
            rows: vec![vec![r.needs_found.to_string(), r.needs_met.to_string()]],
            none: String::new(),
        },
        Section {
            title: tr!("Activities today", "今日活动"),
            head: vec![
                tr!("Time", "时间"),
                tr!("Kind", "类型"),
                tr!("Title", "名称"),
                tr!("Present", "到场人数"),
            ],
            rows: r
                .activities
                .iter()
                .map(|a| {
                    vec![
                        ui::local_time().time(a.starts_at),
                        ui::word(Vocabulary::ActivityKind, a.kind.as_str()),
                        a.title.clone(),
                        a.present.to_string(),
                    ]
                })
                .collect(),
            none: tr!("No activity today.", "今日没有活动。"),
        },
        Section {
            title: tr!(
                "Volunteer hours this week (from {d})",
                "本周志愿服务时长（{d} 起）",
                d = ui::date(r.week.0)
            ),
            head: vec![
                tr!("Worker", "姓名"),
                tr!("Hours", "时长（小时）"),
                tr!("Acknowledged", "已确认（小时）"),
            ],
            rows: r
                .hours_this_week
                .iter()
                .map(|h| {
                    vec![
                        h.name.clone(),
                        format!("{:.1}", h.hours),
                        format!("{:.1}", h.acknowledged_hours),
                    ]
                })
                .collect(),
            none: tr!("No hours recorded this week.", "本周尚无服务时长记录。"),
        },
    ];
    out.retain(|s| !(s.rows.is_empty() && s.none.is_empty()));
    out
}

fn title(r: &DailyReport) -> String {
    tr!(
        "Daily station report — {station} — {date}",
        "每日工作简报 — {station} — {date}",
        station = r.station,
        date = r.date
    )
}

/// Prints the report as text.
pub fn print_text(r: &DailyReport) {
    println!("{}", title(r));
    println!(
        "{}",
        tr!(
            "Made {t} ({zone})",
            "生成时间 {t}（{zone}）",
            t = ui::time(r.at),
            zone = ui::zone()
        )
    );
    for s in sections(r) {
        println!("\n{}", s.title);
        if s.rows.is_empty() {
            println!("  {}", s.none);
            continue;
        }
        println!("  {}", s.head.join(" | "));
        for row in &s.rows {
            println!("  {}", row.join(" | "));
        }
    }
}

/// The report as an A4 page.
pub fn html(r: &DailyReport) -> String {
    let mut body = format!(
        "<h1>{}</h1>\n<p class=\"sub\">{}</p>\n",
        esc(&tr!("Daily station report", "每日工作简报")),
        esc(&tr!(
            "{station} · {date} · made {t} ({zone})",
            "{station} · {date} · 生成于 {t}（{zone}）",
            station = r.station,
            date = r.date,
            t = ui::local_time().time(r.at),
            zone = ui::zone()
        ))
    );
    for s in sections(r) {
        body.push_str(&format!("<h2>{}</h2>\n", esc(&s.title)));
        let rows: Vec<Vec<String>> = s
            .rows
            .iter()
            .map(|row| row.iter().map(|c| esc(c)).collect())
            .collect();
        body.push_str(&print::table(&s.head, &rows, &s.none));
    }
    print::page(&title(r), &body)
}

/// `anxin today [--html FILE]`.
pub fn run(
    store: &Store,
    html_out: &Option<std::path::PathBuf>,
    json: bool,
) -> Result<(), Failure> {
    let r = store.daily_report(anxin_core::model::now_millis())?;
    if let Some(path) = html_out {
        print::write(path, &html(&r))?;
    }
    if json {
        crate::print_json(&r);
    } else if html_out.is_none() {
        print_text(&r);
    } else if let Some(path) = html_out {
        println!(
            "{}",
            tr!("Wrote {path}", "已写入 {path}", path = path.display())
        );
    }
    Ok(())
}
