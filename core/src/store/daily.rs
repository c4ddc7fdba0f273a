//! The daily station report (每日工作简报): what a coordinator reads each
//! morning, for the station's local day. Built from the index (and the few
//! documents the index does not summarise: households whose needs were met
//! today, today's activities), never from a scan of every document.
//!
//! Case items name the case and its grid, never a resident or an address:
//! the report is printed and may be left on a desk.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::params;
use serde::Serialize;

use super::{Store, StoreError};
use crate::model::*;

/// An order as the daily report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderLine {
    /// The order.
    pub id: String,
    /// Its kind.
    pub kind: OrderKind,
    /// Its status.
    pub status: OrderStatus,
    /// Its urgency.
    pub urgency: Urgency,
    /// The household's address.
    pub address: String,
    /// Its grid's name.
    pub grid: String,
    /// When it was requested.
    pub created_at: Millis,
    /// Its deadline, if any.
    pub deadline: Option<Millis>,
    /// Who holds it (accepted or dispatched to), if anyone.
    pub worker: Option<String>,
}

/// A household that is P1 after a visit today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HouseholdLine {
    /// The household.
    pub id: String,
    /// Its address.
    pub address: String,
    /// Its grid's name.
    pub grid: String,
    /// Why it is P1 (reason codes, most serious first).
    pub reasons: Vec<String>,
}

/// A case item due today or overdue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseLine {
    /// The case.
    pub case_id: String,
    /// What is due (a `due_kind` code).
    pub what: String,
    /// The case's tier.
    pub tier: Tier,
    /// The grid of the resident's household.
    pub grid: String,
    /// When it is (was) due.
    pub due_at: Millis,
    /// Late already.
    pub overdue: bool,
    /// The worker responsible, by name (id when unknown); none if nobody is.
    pub responsible: Option<String>,
}

/// A worker's hours in the week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HoursLine {
    /// The worker's name.
    pub name: String,
    /// Hours recorded.
    pub hours: f64,
    /// Of which acknowledged.
    pub acknowledged_hours: f64,
}

/// An activity of the day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivityLine {
    /// Its kind.
    pub kind: ActivityKind,
    /// Its title.
    pub title: String,
    /// When it starts.
    pub starts_at: Millis,
    /// Attendees recorded present.
    pub present: u32,
}

/// The daily station report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyReport {
    /// The station's name.
    pub station: String,
    /// The local date, `YYYY-MM-DD`.
    pub date: String,
    /// The station's time zone.
    pub time_zone: String,
    /// When the report was made.
    pub at: Millis,
    /// The local day: its first millisecond and the next day's.
    pub day: (Millis, Millis),
    /// Orders requested today.
    pub new_orders: Vec<OrderLine>,
    /// Orders not yet completed or cancelled, most urgent first.
    pub open_orders: Vec<OrderLine>,
    /// Open orders past their deadline.
    pub overdue_orders: Vec<OrderLine>,
    /// Counts by urgency: (new today, open, overdue).
    pub orders_by_urgency: BTreeMap<Urgency, (usize, usize, usize)>,
    /// Households P1 after a visit today, and why.
    pub newly_p1: Vec<HouseholdLine>,
    /// Open crises (always listed: a crisis is due until closed).
    pub crises: Vec<CaseLine>,
    /// Reviews, referral acknowledgements, escalations, follow-ups and
    /// re-screens due today or overdue.
    pub due: Vec<CaseLine>,
    /// Needs found at today's visits.
    pub needs_found: u64,
    /// Needs met today (by completed orders).
    pub needs_met: u64,
    /// Today's activities.
    pub activities: Vec<ActivityLine>,
    /// The local week: its Monday and the next.
    pub week: (Millis, Millis),
    /// Volunteer hours this week, per worker.
    pub hours_this_week: Vec<HoursLine>,
}

impl Store {
    /// The daily station report for the local day holding `now`.
    pub fn daily_report(&self, now: Millis) -> Result<DailyReport, StoreError> {
        let station = self.station()?;
        let local = station.local_time();
        let (start, end) = local.day_of(now);
        let week = local.week_of(now);
        let grid_name = |g: &str| {
            station
                .grids
                .get(g)
                .map(|g| g.name.clone())
                .unwrap_or_else(|| g.to_string())
        };
        let names: BTreeMap<String, String> = self
            .people()
            .workers(None, None)?
            .into_iter()
            .map(|w| (w.id.to_string(), w.name))
            .collect();
        let person = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());

        // Orders.
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, r.kind, r.status, r.urgency, COALESCE(h.address, ''), r.grid_id, \
                    r.created_at, r.deadline, COALESCE(r.accepted_by, r.assignee_worker) \
             FROM idx_request r LEFT JOIN idx_household h ON h.id = r.household_id \
             WHERE r.created_at >= ?1 OR r.status NOT IN ('completed', 'rated', 'cancelled') \
             ORDER BY CASE r.urgency WHEN 'critical' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END, \
                      r.deadline IS NULL, r.deadline, r.created_at, r.id",
        )?;
        let rows = stmt
            .query_map([start], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Millis>(6)?,
                    r.get::<_, Option<Millis>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let (mut new_orders, mut open_orders, mut overdue_orders) = (vec![], vec![], vec![]);
        let mut by_urgency: BTreeMap<Urgency, (usize, usize, usize)> = BTreeMap::new();
        for (id, kind, status, urgency, address, grid, created_at, deadline, worker) in rows {
            let line = OrderLine {
                id,
                kind: OrderKind::parse(&kind, "kind")?,
                status: OrderStatus::parse(&status, "status")?,
                urgency: Urgency::parse(&urgency, "urgency")?,
                address,
                grid: grid_name(&grid),
                created_at,
                deadline,
                worker: worker.as_deref().map(person),
            };
            let counts = by_urgency.entry(line.urgency).or_default();
            let open = !matches!(
                line.status,
                OrderStatus::Completed | OrderStatus::Rated | OrderStatus::Cancelled
            );
            if (start..end).contains(&created_at) {
                counts.0 += 1;
                new_orders.push(line.clone());
            }
            if open {
                counts.1 += 1;
                if deadline.is_some_and(|d| d < now) {
                    counts.2 += 1;
                    overdue_orders.push(line.clone());
                }
                open_orders.push(line);
            }
        }

        // Households P1 after a visit today.
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT h.id, h.address, h.grid_id, h.reasons FROM idx_household h \
             JOIN idx_visit v ON v.household_id = h.id \
             WHERE h.priority = 'p1' AND v.at >= ?1 AND v.at < ?2 ORDER BY h.grid_id, h.address",
        )?;
        let newly_p1 = stmt
            .query_map([start, end], |r| {
                Ok(HouseholdLine {
                    id: r.get(0)?,
                    address: r.get(1)?,
                    grid: r.get::<_, String>(2)?,
                    reasons: super::index::split_reasons(r.get(3)?),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|mut h| {
                h.grid = grid_name(&h.grid);
                h
            })
            .collect();

        // Cases: due by the end of today, or overdue.
        let household_grid: BTreeMap<String, String> = {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT id, grid_id FROM idx_household")?;
            let pairs = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            pairs
        };
        let (mut crises, mut due) = (vec![], vec![]);
        for d in self.cases().cases_due(None, now, end - 1)? {
            let line = CaseLine {
                case_id: d.case_id,
                what: d.what,
                tier: d.tier,
                grid: household_grid
                    .get(&d.household_id)
                    .map(|g| grid_name(g))
                    .unwrap_or_default(),
                due_at: d.due_at,
                overdue: d.overdue,
                responsible: d.worker_id.as_deref().map(person),
            };
            if line.what == "crisis" {
                crises.push(line);
            } else {
                due.push(line);
            }
        }

        // Needs found at today's visits, met by today's completed orders.
        let needs_found: i64 = self
            .conn
            .prepare_cached(
                "SELECT COALESCE(sum(needs), 0) FROM idx_visit WHERE at >= ?1 AND at < ?2",
            )?
            .query_row(params![start, end], |r| r.get(0))?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT household_id FROM idx_request \
             WHERE completed_at >= ?1 AND completed_at < ?2",
        )?;
        let served: BTreeSet<String> = stmt
            .query_map([start, end], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut needs_met = 0u64;
        for h in served {
            if let Ok(household) = self.get::<Household>(&h) {
                needs_met += household
                    .visits
                    .values()
                    .flat_map(|v| &v.needs)
                    .filter(|n| n.met.as_ref().is_some_and(|m| (start..end).contains(&m.at)))
                    .count() as u64;
            }
        }

        let activities = self
            .orders()
            .activities(None, start, end)?
            .into_iter()
            .map(|a| ActivityLine {
                kind: a.kind,
                present: a.attendance.values().filter(|x| x.present).count() as u32,
                title: a.title,
                starts_at: a.starts_at,
            })
            .collect();
        let hours_this_week = self
            .orders()
            .hours_totals(None, week.0, week.1)?
            .into_iter()
            .map(|h| HoursLine {
                name: h.name,
                hours: h.minutes as f64 / 60.0,
                acknowledged_hours: h.acknowledged_minutes as f64 / 60.0,
            })
            .collect();
        Ok(DailyReport {
            station: station.name.clone(),
            date: local.date(now),
            time_zone: local.name().to_string(),
            at: now,
            day: (start, end),
            new_orders,
            open_orders,
            overdue_orders,
            orders_by_urgency: by_urgency,
            newly_p1,
            crises,
            due,
            needs_found: needs_found.max(0) as u64,
            needs_met,
            activities,
            week,
            hours_this_week,
        })
    }
}
