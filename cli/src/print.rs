//! Printouts: self-contained HTML pages laid out for A4 (no scripts, no
//! files beside them, fonts the printing machine has), to post in a
//! stairwell or hand to a volunteer. `scripts/render-printouts.sh` renders
//! them in headless Chromium to look at.

use crate::ui;

/// Escapes text for HTML.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole A4 page around `body` (already HTML).
pub fn page(title: &str, body: &str) -> String {
    let lang = ui::language().tag();
    format!(
        r#"<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
@page {{ size: A4; margin: 18mm 16mm; }}
html {{ font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif; font-size: 11pt; color: #111; }}
body {{ margin: 0 auto; max-width: 178mm; }}
h1 {{ font-size: 20pt; margin: 0 0 4mm; text-align: center; letter-spacing: 0.05em; }}
h2 {{ font-size: 13pt; margin: 6mm 0 2mm; border-bottom: 1.5pt solid #333; padding-bottom: 1mm; }}
.sub {{ text-align: center; color: #444; margin-bottom: 6mm; }}
table {{ width: 100%; border-collapse: collapse; margin: 2mm 0; page-break-inside: auto; }}
th, td {{ border: 0.6pt solid #666; padding: 1.6mm 2mm; text-align: left; vertical-align: top; }}
th {{ background: #eee; }}
tr {{ page-break-inside: avoid; }}
.big {{ font-size: 16pt; font-weight: bold; }}
.phone {{ font-size: 15pt; font-weight: bold; letter-spacing: 0.04em; }}
.late {{ color: #b00; font-weight: bold; }}
.none {{ color: #666; }}
.sign {{ margin-top: 18mm; display: flex; justify-content: space-between; }}
.stamp {{ width: 40mm; height: 40mm; border: 0.6pt dashed #999; border-radius: 50%; display: flex; align-items: center; justify-content: center; color: #999; }}
.foot {{ margin-top: 8mm; font-size: 9pt; color: #555; }}
</style>
</head>
<body>
{body}
</body>
</html>
"#,
        title = esc(title),
    )
}

/// A table: header cells and rows of cells (already HTML), or a line saying
/// there is nothing.
pub fn table(head: &[String], rows: &[Vec<String>], none: &str) -> String {
    if rows.is_empty() {
        return format!("<p class=\"none\">{}</p>\n", esc(none));
    }
    let mut out = String::from("<table>\n<thead><tr>");
    for h in head {
        out.push_str(&format!("<th>{}</th>", esc(h)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            out.push_str(&format!("<td>{c}</td>"));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// Writes a page to `path`.
pub fn write(path: &std::path::Path, html: &str) -> Result<(), crate::Failure> {
    std::fs::write(path, html).map_err(|e| {
        crate::Failure::input(crate::tr!(
            "cannot write {path}: {e}",
            "无法写入 {path}：{e}",
            path = path.display(),
            e = e
        ))
    })
}

/// The station and one of its grids.
fn station_and_grid(
    store: &anxin_core::store::Store,
    grid: &anxin_core::model::GridId,
) -> Result<(anxin_core::model::Station, anxin_core::model::Grid), crate::Failure> {
    let station = store.station()?;
    let g = station
        .grid(grid)
        .cloned()
        .ok_or_else(|| crate::Failure::input(crate::tr!("no such grid", "没有这个网格")))?;
    Ok((station, g))
}

/// The grid contact card (网格志愿者联系卡), to post in a stairwell.
pub fn contact_card(
    store: &anxin_core::store::Store,
    grid: &anxin_core::model::GridId,
) -> Result<String, crate::Failure> {
    use anxin_core::model::{RosterRole, Worker};
    let (station, g) = station_and_grid(store, grid)?;
    let roster = store.people().roster_of(grid)?;
    let card = &roster.contact_card;
    let title = crate::tr!("Grid volunteer contact card", "网格志愿者联系卡");
    let mut body = format!(
        "<h1>{}</h1>\n<p class=\"sub big\">{} · {}</p>\n",
        esc(&title),
        esc(&station.name),
        esc(&g.name)
    );
    if card.name.is_empty() {
        body.push_str(&format!(
            "<p class=\"none\">{}</p>\n",
            esc(&crate::tr!(
                "No contact set yet (anxin contact-card set).",
                "尚未设置联系人（anxin contact-card set）。"
            ))
        ));
    } else {
        body.push_str(&format!(
            "<h2>{}</h2>\n<p class=\"big\">{}</p>\n<p class=\"phone\">{}</p>\n",
            esc(&crate::tr!("Call", "联系人")),
            esc(&card.name),
            esc(&card.phone)
        ));
        if !card.hours.is_empty() {
            body.push_str(&format!(
                "<p>{}</p>\n",
                esc(&crate::tr!("Hours: {h}", "服务时间：{h}", h = card.hours))
            ));
        }
    }
    let mut rows = Vec::new();
    for a in roster.assignments.values() {
        if let Ok(w) = store.get::<Worker>(a.worker_id.as_str()) {
            if w.active {
                let role = if a.role == RosterRole::Lead {
                    crate::ui::word(anxin_core::labels::Vocabulary::RosterRole, "lead")
                } else {
                    crate::ui::word(anxin_core::labels::Vocabulary::Role, "volunteer")
                };
                rows.push((
                    a.role != RosterRole::Lead,
                    vec![
                        esc(&role),
                        esc(&w.name),
                        format!("<span class=\"phone\">{}</span>", esc(&w.phone)),
                    ],
                ));
            }
        }
    }
    rows.sort_by_key(|r| r.0);
    let rows: Vec<Vec<String>> = rows.into_iter().map(|(_, r)| r).collect();
    body.push_str(&format!(
        "<h2>{}</h2>\n",
        esc(&crate::tr!("Your grid's volunteers", "本网格志愿者"))
    ));
    body.push_str(&table(
        &[
            crate::tr!("Role", "职责"),
            crate::tr!("Name", "姓名"),
            crate::tr!("Phone", "电话"),
        ],
        &rows,
        &crate::tr!("Nobody on the roster yet.", "名册暂无人员。"),
    ));
    body.push_str(&format!(
        "<h2>{}</h2>\n<p class=\"phone\">{}</p>\n<p class=\"foot\">{}</p>\n",
        esc(&crate::tr!("In an emergency", "生命危急")),
        esc(&crate::tr!(
            "Ambulance 120 · Police 110",
            "急救请拨 120 · 报警请拨 110"
        )),
        esc(&crate::tr!(
            "Issued {date} by {station}",
            "{station} · {date} 印发",
            date = crate::ui::date(anxin_core::model::now_millis()),
            station = station.name
        ))
    ));
    Ok(page(&format!("{title} · {}", g.name), &body))
}

/// The volunteer hours certificate (志愿服务时长证明) of one worker over
/// `[from, to)` (an open start or end when 0 or `i64::MAX`).
pub fn certificate(
    store: &anxin_core::store::Store,
    worker: &anxin_core::model::WorkerId,
    from: i64,
    to: i64,
) -> Result<String, crate::Failure> {
    let station = store.station()?;
    let w: anxin_core::model::Worker = store.get(worker.as_str())?;
    let total = store
        .orders()
        .hours_totals(Some(worker), from, to)?
        .into_iter()
        .next();
    let (minutes, acknowledged) = total
        .map(|t| (t.minutes, t.acknowledged_minutes))
        .unwrap_or((0, 0));
    let today = crate::ui::date(anxin_core::model::now_millis());
    let first = if from <= 0 {
        None
    } else {
        Some(crate::ui::date(from))
    };
    let last = if to == i64::MAX {
        today.clone()
    } else {
        crate::ui::date(to - 1)
    };
    let period = match first {
        Some(first) => crate::tr!(
            "from {first} to {last}",
            "于 {first} 至 {last} 期间",
            first = first,
            last = last
        ),
        None => crate::tr!("up to {last}", "截至 {last}", last = last),
    };
    let title = crate::tr!("Volunteer service hours certificate", "志愿服务时长证明");
    let text = crate::tr!(
        "This certifies that {name} served as a volunteer with {station} {period}, for {hours} hours in all, of which {ack} hours were acknowledged by the people served or a coordinator.",
        "兹证明 {name} 同志{period}在{station}参加志愿服务，累计服务时长 {hours} 小时，其中经服务对象或协调员确认 {ack} 小时。特此证明。",
        name = w.name,
        station = station.name,
        period = period,
        hours = format!("{:.1}", minutes as f64 / 60.0),
        ack = format!("{:.1}", acknowledged as f64 / 60.0)
    );
    let rows = vec![
        vec![esc(&crate::tr!("Name", "姓名")), esc(&w.name)],
        vec![esc(&crate::tr!("Period", "服务期间")), esc(&period)],
        vec![
            esc(&crate::tr!("Hours", "服务时长")),
            esc(&crate::tr!(
                "{h} hours",
                "{h} 小时",
                h = format!("{:.1}", minutes as f64 / 60.0)
            )),
        ],
        vec![
            esc(&crate::tr!("Acknowledged", "已确认时长")),
            esc(&crate::tr!(
                "{h} hours",
                "{h} 小时",
                h = format!("{:.1}", acknowledged as f64 / 60.0)
            )),
        ],
        vec![esc(&crate::tr!("Station", "服务站点")), esc(&station.name)],
    ];
    let body = format!(
        "<h1>{}</h1>\n<p style=\"font-size:13pt; line-height:2; text-indent:2em; margin:10mm 0\">{}</p>\n{}\n<div class=\"sign\"><div><p>{}</p><p>{}</p></div><div class=\"stamp\">{}</div></div>\n",
        esc(&title),
        esc(&text),
        table(&[crate::tr!("Item", "项目"), crate::tr!("Detail", "内容")], &rows, ""),
        esc(&crate::tr!("Issued by: {s}", "开具单位：{s}", s = station.name)),
        esc(&crate::tr!("Issue date: {d}", "开具日期：{d}", d = today)),
        esc(&crate::tr!("Stamp", "盖章处")),
    );
    Ok(page(&format!("{title} · {}", w.name), &body))
}

/// A grid's household visit list in triage order, to take door to door
/// (no names: addresses, priorities and reasons only).
pub fn visit_list(
    store: &anxin_core::store::Store,
    grid: &anxin_core::model::GridId,
) -> Result<String, crate::Failure> {
    use anxin_core::labels::Vocabulary;
    let (station, g) = station_and_grid(store, grid)?;
    let rows: Vec<Vec<String>> = store
        .households()
        .households_in_grid(grid, 100_000, 0)?
        .iter()
        .enumerate()
        .map(|(i, h)| {
            vec![
                (i + 1).to_string(),
                format!(
                    "<span style=\"white-space:nowrap\">{}</span>",
                    esc(&crate::ui::word(Vocabulary::Priority, h.priority.as_str()))
                ),
                esc(&h.address),
                h.members.to_string(),
                esc(&if h.reasons.is_empty() {
                    crate::tr!("routine", "常规")
                } else {
                    h.reasons
                        .iter()
                        .map(|r| crate::ui::reason(r))
                        .collect::<Vec<_>>()
                        .join(crate::ui::sep())
                }),
                h.last_visit_at
                    .map(crate::ui::date)
                    .unwrap_or_else(|| "—".into()),
                String::new(),
            ]
        })
        .collect();
    let title = crate::tr!("Household visit list", "入户走访清单");
    let body = format!(
        "<h1>{}</h1>\n<p class=\"sub\">{} · {} · {}</p>\n{}",
        esc(&title),
        esc(&station.name),
        esc(&g.name),
        esc(&crate::tr!(
            "printed {d}, in triage order (life first)",
            "{d} 打印 · 按分级顺序（生命优先）",
            d = crate::ui::date(anxin_core::model::now_millis())
        )),
        table(
            &[
                crate::tr!("No.", "序号"),
                crate::tr!("Priority", "优先级"),
                crate::tr!("Address", "地址"),
                crate::tr!("People", "人数"),
                crate::tr!("Why", "原因"),
                crate::tr!("Last visit", "上次走访"),
                crate::tr!("Notes (by hand)", "本次记录（手写）"),
            ],
            &rows,
            &crate::tr!("No households in this grid.", "本网格暂无住户。"),
        )
    );
    Ok(page(&format!("{title} · {}", g.name), &body))
}
