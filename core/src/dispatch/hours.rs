//! Volunteer service hours (志愿服务时长): how work becomes ledger entries,
//! totals per worker and period, and the certificate CSV.
//!
//! The ledger lives in the worker's document and is append-only: an entry is
//! never edited or removed; acknowledgements by the resident or a
//! coordinator are added to it, offline, and merge like any other edit.

use serde::Serialize;

use crate::model::*;

/// Totals of one worker over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoursTotal {
    /// The worker.
    pub worker_id: WorkerId,
    /// Their name (for certificates).
    pub name: String,
    /// Minutes credited in the period.
    pub minutes: u64,
    /// Of those, minutes acknowledged by a resident or coordinator.
    pub acknowledged_minutes: u64,
    /// Ledger entries in the period.
    pub entries: u32,
}

/// Totals of a worker's ledger for entries dated within `[from, to)`.
pub fn totals(worker: &Worker, from: Millis, to: Millis) -> HoursTotal {
    let mut t = HoursTotal {
        worker_id: worker.id.clone(),
        name: worker.name.clone(),
        minutes: 0,
        acknowledged_minutes: 0,
        entries: 0,
    };
    for e in worker.hours.values().filter(|e| e.at >= from && e.at < to) {
        t.minutes += u64::from(e.minutes);
        if !e.acknowledgements.is_empty() {
            t.acknowledged_minutes += u64::from(e.minutes);
        }
        t.entries += 1;
    }
    t
}

/// Minutes an activity credits to one of its workers: its duration, if they
/// facilitated it or were present.
pub fn activity_minutes(activity: &Activity, worker: &WorkerId) -> Option<u32> {
    let present = activity
        .attendance
        .get(worker.as_str())
        .is_some_and(|a| a.kind == AttendeeKind::Worker && a.present);
    (present || activity.facilitator_id == *worker).then_some(activity.duration_minutes)
}

fn csv_field(text: &str) -> String {
    // Quote every field; double embedded quotes. A leading `=`, `+`, `-` or
    // `@` is prefixed with `'` so a spreadsheet does not run it as a formula.
    let mut t = text.replace('"', "\"\"");
    if t.starts_with(['=', '+', '-', '@']) {
        t.insert(0, '\'');
    }
    format!("\"{t}\"")
}

/// The certificate CSV: one row per worker, hours with one decimal. UTF-8
/// with a byte-order mark (so a spreadsheet opens Chinese names right),
/// headings in `language`, the period as local ISO dates (the last day
/// included; empty for an open end).
pub fn certificate_csv(
    totals: &[HoursTotal],
    from: Millis,
    to: Millis,
    local: &crate::localtime::LocalTime,
    language: crate::screening::Language,
) -> String {
    use crate::screening::Language;
    let head = match language {
        Language::En => "worker_id,name,period_from,period_to,hours,acknowledged_hours,entries",
        Language::ZhHans => {
            "工作人员编号,姓名,起始日期,截止日期,服务时长（小时）,已确认时长（小时）,记录条数"
        }
        Language::ZhHant => {
            "工作人員編號,姓名,起始日期,截止日期,服務時長（小時）,已確認時長（小時）,記錄條數"
        }
    };
    let first = if from <= 0 {
        String::new()
    } else {
        local.date(from)
    };
    let last = if to == Millis::MAX {
        String::new()
    } else {
        local.date(to - 1)
    };
    let mut out = format!("\u{feff}{head}\n");
    for t in totals {
        out.push_str(&format!(
            "{},{},{},{},{:.1},{:.1},{}\n",
            csv_field(t.worker_id.as_str()),
            csv_field(&t.name),
            first,
            last,
            t.minutes as f64 / 60.0,
            t.acknowledged_minutes as f64 / 60.0,
            t.entries
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_escapes_quotes_and_formulas() {
        let t = HoursTotal {
            worker_id: WorkerId("w".into()),
            name: "=HYPERLINK(\"x\")".into(),
            minutes: 90,
            acknowledged_minutes: 30,
            entries: 2,
        };
        let local = crate::localtime::LocalTime::default();
        // 2026-11-01 00:00 to 2026-12-01 00:00 in Wuhan.
        let (from, to) = (
            local.parse_date("2026-11-01").unwrap(),
            local.parse_date("2026-12-01").unwrap(),
        );
        let csv = certificate_csv(&[t], from, to, &local, crate::screening::Language::ZhHans);
        assert!(
            csv.starts_with("\u{feff}工作人员编号,姓名,起始日期"),
            "{csv}"
        );
        let row = csv.lines().nth(1).unwrap();
        assert_eq!(
            row,
            "\"w\",\"'=HYPERLINK(\"\"x\"\")\",2026-11-01,2026-11-30,1.5,0.5,2"
        );
        let open = certificate_csv(&[], 0, Millis::MAX, &local, crate::screening::Language::En);
        assert_eq!(
            open,
            "\u{feff}worker_id,name,period_from,period_to,hours,acknowledged_hours,entries\n"
        );
    }
}
