//! Orders in the store: recording, every workflow action, hours credits and
//! acknowledgements, and the queries of the dispatch screens (queues, "my
//! tasks", suggested workers, conflicts, hours, reports).
//!
//! Every action is one write. It folds the order, checks the state machine
//! (`dispatch::fold::check`) and the role rules (`dispatch::authorize`), and
//! only then appends one event; a completion credits the worker's hours in
//! the same transaction. A refused action is a typed error and writes
//! nothing.

use std::collections::BTreeMap;

use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::index::{parse_word, priority_sql, reasons_sql, split_reasons};
use super::{Batch, Store, StoreError};
use crate::dispatch::{self, fold, Acting, OrderState};
use crate::doc::Author;
use crate::model::*;

/// An order to record (点单).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOrder {
    /// The household served.
    pub household_id: HouseholdId,
    /// The resident served, if one in particular.
    pub resident_id: Option<ResidentId>,
    /// What it is for.
    pub kind: OrderKind,
    /// What is needed.
    pub items: Vec<Item>,
    /// How urgent.
    pub urgency: Urgency,
    /// By when, if there is a deadline.
    pub deadline: Option<Millis>,
    /// Free notes.
    pub note: String,
}

/// An order in a queue or task list, from the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueRow {
    /// The order.
    pub id: RequestId,
    /// What it is for.
    pub kind: OrderKind,
    /// Where it stands.
    pub status: OrderStatus,
    /// How urgent.
    pub urgency: Urgency,
    /// The served household's triage priority.
    pub priority: Priority,
    /// Why the household has that priority.
    pub reasons: Vec<String>,
    /// The household's address.
    pub address: String,
    /// The household served.
    pub household_id: HouseholdId,
    /// The household's grid.
    pub grid_id: GridId,
    /// When it was requested.
    pub created_at: Millis,
    /// The deadline, if any.
    pub deadline: Option<Millis>,
    /// The items changed after it was accepted.
    pub items_changed: bool,
}

/// A worker suggested for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// The worker.
    pub worker_id: WorkerId,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: Role,
    /// Whether they work in the order's grid.
    pub same_grid: bool,
    /// Whether they are trained for psychological support.
    pub trained: bool,
    /// Orders they hold now (accepted or started, or dispatched to them).
    pub load: u32,
}

/// A conflict record from the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConflictRow {
    /// The order.
    pub request_id: RequestId,
    /// The event that lost.
    pub event_id: EventId,
    /// `acceptance_lost` or `completed_and_cancelled`.
    pub kind: String,
    /// The winner, or who completed.
    pub worker_a: String,
    /// The loser, or who cancelled.
    pub worker_b: Option<String>,
    /// What it means.
    pub detail: String,
}

/// The smallest count a de-identified report shows exactly: below it a
/// number can point at a person (the one crisis in a grid), so it reads
/// "fewer than 5".
pub const SMALLEST_SHOWN_COUNT: u64 = 5;

/// A count in a de-identified report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// The count, [`SMALLEST_SHOWN_COUNT`] or more.
    Exact(u64),
    /// From 1 to 4: suppressed (serialized as `"<5"`).
    FewerThan5,
}

impl Count {
    /// A count as a report may show it.
    pub fn of(n: u64) -> Count {
        if n >= SMALLEST_SHOWN_COUNT {
            Count::Exact(n)
        } else {
            Count::FewerThan5
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Count::Exact(n) => write!(f, "{n}"),
            Count::FewerThan5 => f.write_str("<5"),
        }
    }
}

impl Serialize for Count {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Count::Exact(n) => s.serialize_u64(*n),
            Count::FewerThan5 => s.serialize_str("<5"),
        }
    }
}

/// De-identified aggregates for a grid or the station. Counts under
/// [`SMALLEST_SHOWN_COUNT`] are suppressed, and so is the median of fewer
/// completed orders.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReportPart {
    /// Orders by kind, then by status.
    pub orders: BTreeMap<String, BTreeMap<String, Count>>,
    /// Median minutes from request to completion, over completed orders.
    pub median_minutes_to_completion: Option<f64>,
    /// Households by triage priority.
    pub households_by_priority: BTreeMap<String, Count>,
    /// Residents with a case file, by risk tier (counts only).
    pub cases_by_tier: BTreeMap<String, Count>,
    /// Residents per risk tier: not available until screening lands.
    pub tiers: Option<BTreeMap<String, u64>>,
}

/// The report of a station: the station as a whole and each grid.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// The whole station.
    pub station: ReportPart,
    /// Each grid, by grid name.
    pub grids: BTreeMap<String, ReportPart>,
}

use crate::refusal::{Deed, Rule};

fn denied(action: Deed, reason: Rule) -> StoreError {
    dispatch::DispatchError::PermissionDenied { action, reason }.into()
}

impl Batch<'_> {
    fn acting_actor(&self, author: &Author) -> Result<(Actor, Option<Worker>), StoreError> {
        match author {
            Author::Worker(w) => {
                let worker = self.get::<Worker>(w.as_str())?;
                Ok((Actor::Worker(w.clone()), Some(worker)))
            }
            Author::Resident(r) => Ok((Actor::Resident(r.clone()), None)),
            Author::System => Err(denied(Deed::ActOnOrder, Rule::OrdersNeedAPerson)),
        }
    }

    /// Appends one event to an order after every check; see
    /// [`Orders::order_action`].
    pub fn order_action(
        &mut self,
        author: &Author,
        order: &RequestId,
        action: OrderAction,
    ) -> Result<OrderState, StoreError> {
        action.validate()?;
        let request = self.get::<Request>(order.as_str())?;
        let state = fold(&request);
        let (actor, worker) = self.acting_actor(author)?;
        dispatch::fold::check(&state, &actor, &action)?;
        let acting = match (&worker, author) {
            (Some(w), _) => Acting::Worker(w),
            (None, Author::Resident(r)) => {
                let household = self.get::<Household>(request.household_id.as_str())?;
                Acting::Resident {
                    id: r,
                    of_household: household.members.contains_key(r.as_str()),
                }
            }
            _ => return Err(denied(action.deed(), Rule::OrdersNeedAPerson)),
        };
        dispatch::authorize(&request, &state, acting, &action)?;
        match &action {
            OrderAction::Dispatched { to } | OrderAction::Reassigned { to } => match to {
                Assignee::Grid(g) => {
                    if self.station()?.grid(g).is_none() {
                        return Err(
                            ValidationError::new("order.to", Violation::NoSuchEntity).into()
                        );
                    }
                }
                Assignee::Worker(w) => {
                    let target = self.get::<Worker>(w.as_str())?;
                    if !target.active {
                        return Err(denied(action.deed(), Rule::WorkerNotActive));
                    }
                }
            },
            _ => {}
        }
        let event = OrderEvent {
            id: EventId::random(),
            at: request.next_timestamp(self.now),
            by: actor,
            action: action.clone(),
        };
        let at = event.at;
        let name = format!("order.{}", action.name());
        let mut updated = request.clone();
        updated.events.insert(event.id.to_string(), event);
        let new_state = fold(&updated);
        self.put::<Request>(author, &name, order.as_str(), |_| Ok(updated))?;
        if let (OrderAction::Completed { handed_over, .. }, Some(w)) = (&action, &worker) {
            self.meet_needs(author, &request, handed_over, &w.id, order, at)?;
        }
        if let (OrderAction::Completed { minutes, .. }, Some(w)) = (&action, &worker) {
            self.credit_hours(
                author,
                &w.id,
                HoursSource::Order(order.clone()),
                *minutes,
                at,
            )?;
        }
        Ok(new_state)
    }

    /// A completed order meets the open needs of its household's latest
    /// visit that it served (`Need::served_by`), in the same write: the
    /// household stops ranking P1 for a medicine just delivered. The needs
    /// stay in the visit with their `met` record.
    fn meet_needs(
        &mut self,
        author: &Author,
        request: &Request,
        handed_over: &[Item],
        worker: &WorkerId,
        order: &RequestId,
        at: Millis,
    ) -> Result<(), StoreError> {
        let household = request.household_id.as_str();
        self.put::<Household>(author, "household.need_met", household, |h| {
            let mut h = h.ok_or_else(|| StoreError::NotFound {
                kind: "household",
                id: household.to_string(),
            })?;
            let latest = h.latest_visit().map(|v| v.id.to_string());
            if let Some(visit) = latest.and_then(|id| h.visits.get_mut(&id)) {
                for need in visit.needs.iter_mut() {
                    if need.met.is_none() && need.served_by(request.kind, handed_over) {
                        need.met = Some(NeedMet {
                            at,
                            by: worker.clone(),
                            order: Some(order.clone()),
                        });
                    }
                }
            }
            Ok(h)
        })?;
        Ok(())
    }

    fn credit_hours(
        &mut self,
        author: &Author,
        worker: &WorkerId,
        source: HoursSource,
        minutes: u32,
        at: Millis,
    ) -> Result<bool, StoreError> {
        let mut credited = false;
        self.put::<Worker>(author, "worker.credit_hours", worker.as_str(), |w| {
            let mut w = w.ok_or_else(|| StoreError::NotFound {
                kind: "worker",
                id: worker.to_string(),
            })?;
            // One credit per piece of work: crediting again is harmless.
            if w.hours.values().any(|e| e.source == source) {
                return Ok(w);
            }
            let id = HoursEntryId::random();
            w.hours.insert(
                id.to_string(),
                HoursEntry {
                    id,
                    source: source.clone(),
                    minutes,
                    at,
                    acknowledgements: BTreeMap::new(),
                },
            );
            credited = true;
            Ok(w)
        })?;
        Ok(credited)
    }
}

impl Store {
    fn queue_rows(
        &self,
        where_sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<QueueRow>, StoreError> {
        let (p, reasons) = (priority_sql(), reasons_sql());
        let sql = format!(
            "SELECT r.id, r.kind, r.status, r.urgency, COALESCE({p}, 'p4') AS p, COALESCE({reasons}, ''), \
                    COALESCE(h.address, ''), r.grid_id, r.created_at, r.deadline, r.items_changed, \
                    r.household_id \
             FROM idx_request r LEFT JOIN idx_household h ON h.id = r.household_id \
             WHERE {where_sql} \
             ORDER BY CASE r.urgency WHEN 'critical' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END, \
                      p, \
                      r.deadline IS NULL, r.deadline, r.created_at, r.id"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(args, |r| {
                Ok(QueueRow {
                    id: RequestId(r.get(0)?),
                    kind: parse_word(r.get(1)?, 1, OrderKind::parse)?,
                    status: parse_word(r.get(2)?, 2, OrderStatus::parse)?,
                    urgency: parse_word(r.get(3)?, 3, Urgency::parse)?,
                    priority: parse_word(r.get(4)?, 4, Priority::parse)?,
                    reasons: split_reasons(r.get(5)?),
                    address: r.get(6)?,
                    household_id: HouseholdId(r.get(11)?),
                    grid_id: GridId(r.get(7)?),
                    created_at: r.get(8)?,
                    deadline: r.get(9)?,
                    items_changed: r.get(10)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn report_part(&self, grid: Option<&str>) -> Result<ReportPart, StoreError> {
        let mut part = ReportPart::default();
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind, status, count(*) FROM idx_request WHERE ?1 IS NULL OR grid_id = ?1 \
             GROUP BY kind, status",
        )?;
        for row in stmt.query_map([grid], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })? {
            let (kind, status, n) = row?;
            part.orders
                .entry(kind)
                .or_default()
                .insert(status, Count::of(n as u64));
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT completed_at - created_at FROM idx_request \
             WHERE completed_at IS NOT NULL AND (?1 IS NULL OR grid_id = ?1) ORDER BY 1",
        )?;
        let durations: Vec<i64> = stmt
            .query_map([grid], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        part.median_minutes_to_completion = median(&durations)
            .filter(|_| durations.len() as u64 >= SMALLEST_SHOWN_COUNT)
            .map(|ms| ms / 60_000.0);
        let mut stmt = self.conn.prepare_cached(
            &format!(
                "SELECT {} AS p, count(*) FROM idx_household h WHERE ?1 IS NULL OR h.grid_id = ?1 GROUP BY p",
                priority_sql()
            ),
        )?;
        for row in stmt.query_map([grid], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })? {
            let (p, n) = row?;
            part.households_by_priority.insert(p, Count::of(n as u64));
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.tier, count(*) FROM idx_case c LEFT JOIN idx_household h ON h.id = c.household_id \
             WHERE ?1 IS NULL OR h.grid_id = ?1 GROUP BY c.tier",
        )?;
        for row in stmt.query_map([grid], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })? {
            let (t, n) = row?;
            part.cases_by_tier.insert(t, Count::of(n as u64));
        }
        Ok(part)
    }
}

fn median(sorted: &[i64]) -> Option<f64> {
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2] as f64),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0),
    }
}

impl<S: std::ops::Deref<Target = Store>> super::Orders<S> {
    /// An order and its folded state.
    pub fn order(&self, id: &RequestId) -> Result<(Request, OrderState), StoreError> {
        let request = self.store.get::<Request>(id.as_str())?;
        let state = fold(&request);
        Ok((request, state))
    }

    /// The dispatch queue: orders not yet accepted (requested, or dispatched
    /// and waiting). Life first (生命优先): the order's urgency leads —
    /// a critical order (a hospital escort for chest pain) comes before any
    /// urgent or routine one, whatever its household's priority; within the
    /// same urgency the household's triage priority (P1 to P4, case lift
    /// included) decides, then the earliest deadline (orders without one
    /// last), then the oldest, then the order id. Optionally one grid.
    /// "My tasks" and order lists use the same order.
    pub fn dispatch_queue(&self, grid: Option<&GridId>) -> Result<Vec<QueueRow>, StoreError> {
        let g = grid.map(|g| g.as_str());
        self.store.queue_rows(
            "r.status IN ('requested', 'dispatched') AND (?1 IS NULL OR r.grid_id = ?1)",
            &[&g],
        )
    }

    /// A worker's tasks: orders dispatched to them or to their grid and not
    /// yet accepted, and orders they accepted or started.
    pub fn my_tasks(&self, worker: &WorkerId) -> Result<Vec<QueueRow>, StoreError> {
        let grid: Option<String> = self
            .store
            .conn
            .prepare_cached("SELECT grid_id FROM idx_worker WHERE id = ?1")?
            .query_row([worker.as_str()], |r| r.get(0))
            .map_err(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound {
                    kind: "worker",
                    id: worker.to_string(),
                },
                other => other.into(),
            })?;
        self.store.queue_rows(
            "(r.status = 'dispatched' AND (r.assignee_worker = ?1 OR (?2 IS NOT NULL AND r.assignee_grid = ?2))) \
             OR (r.status IN ('accepted', 'started') AND r.accepted_by = ?1)",
            &[&worker.as_str(), &grid],
        )
    }

    /// Orders of any status, optionally of one grid and status (newest first).
    pub fn list(
        &self,
        grid: Option<&GridId>,
        status: Option<OrderStatus>,
    ) -> Result<Vec<QueueRow>, StoreError> {
        let g = grid.map(|g| g.as_str());
        let s = status.map(|s| s.as_str());
        self.store.queue_rows(
            "(?1 IS NULL OR r.grid_id = ?1) AND (?2 IS NULL OR r.status = ?2)",
            &[&g, &s],
        )
    }

    /// Workers suggested for an order: those of its grid first, then those
    /// trained for it (psychological support needs a trained worker: others
    /// are left out), then the least loaded.
    pub fn suggest_workers(
        &self,
        order: &RequestId,
        limit: u32,
    ) -> Result<Vec<Suggestion>, StoreError> {
        let (grid, needs_training): (String, bool) = self
            .store
            .conn
            .prepare_cached("SELECT grid_id, needs_training FROM idx_request WHERE id = ?1")?
            .query_row([order.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound {
                    kind: "order",
                    id: order.to_string(),
                },
                other => other.into(),
            })?;
        let mut stmt = self.store.conn.prepare_cached(
            "SELECT w.id, w.name, w.role, COALESCE(w.grid_id = ?1, 0) AS same_grid, \
                    (w.role IN ('counselor', 'clinician', 'social_worker') OR EXISTS \
                       (SELECT 1 FROM idx_worker_skill s WHERE s.worker_id = w.id \
                        AND s.skill = 'psychological_first_aid')) AS trained, \
                    (SELECT count(*) FROM idx_request r WHERE \
                       (r.accepted_by = w.id AND r.status IN ('accepted', 'started')) \
                       OR (r.assignee_worker = w.id AND r.status = 'dispatched')) AS load \
             FROM idx_worker w \
             WHERE w.active = 1 AND w.role NOT IN ('dispatcher', 'station_admin') \
               AND (?2 = 0 OR trained) \
             ORDER BY same_grid DESC, trained DESC, load, w.name, w.id LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![grid, needs_training, limit], |r| {
                Ok(Suggestion {
                    worker_id: WorkerId(r.get(0)?),
                    name: r.get(1)?,
                    role: parse_word(r.get(2)?, 2, Role::parse)?,
                    same_grid: r.get(3)?,
                    trained: r.get(4)?,
                    load: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Conflict records, optionally only those a worker is part of.
    pub fn order_conflicts(
        &self,
        worker: Option<&WorkerId>,
    ) -> Result<Vec<ConflictRow>, StoreError> {
        let w = worker.map(|w| w.as_str());
        let mut stmt = self.store.conn.prepare_cached(
            "SELECT request_id, event_id, kind, worker_a, worker_b, detail FROM idx_order_conflict \
             WHERE ?1 IS NULL OR worker_a = ?1 OR worker_b = ?1 ORDER BY request_id, event_id",
        )?;
        let rows = stmt
            .query_map([w], |r| {
                Ok(ConflictRow {
                    request_id: RequestId(r.get(0)?),
                    event_id: EventId(r.get(1)?),
                    kind: r.get(2)?,
                    worker_a: r.get(3)?,
                    worker_b: r.get(4)?,
                    detail: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Hours per worker for entries dated in `[from, to)`, optionally one
    /// worker; workers with no entries in the period are left out.
    pub fn hours_totals(
        &self,
        worker: Option<&WorkerId>,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<dispatch::hours::HoursTotal>, StoreError> {
        let w = worker.map(|w| w.as_str());
        let mut stmt = self.store.conn.prepare_cached(
            "SELECT h.worker_id, COALESCE(w.name, ''), sum(h.minutes), \
                    sum(CASE WHEN h.acknowledged THEN h.minutes ELSE 0 END), count(*) \
             FROM idx_hours h LEFT JOIN idx_worker w ON w.id = h.worker_id \
             WHERE h.at >= ?1 AND h.at < ?2 AND (?3 IS NULL OR h.worker_id = ?3) \
             GROUP BY h.worker_id ORDER BY h.worker_id",
        )?;
        let rows = stmt
            .query_map(params![from, to, w], |r| {
                Ok(dispatch::hours::HoursTotal {
                    worker_id: WorkerId(r.get(0)?),
                    name: r.get(1)?,
                    minutes: r.get::<_, i64>(2)? as u64,
                    acknowledged_minutes: r.get::<_, i64>(3)? as u64,
                    entries: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// De-identified aggregates for the station and each grid: orders by
    /// kind and status, median time to completion, households by priority.
    /// No names, addresses or ids of residents.
    pub fn report(&self) -> Result<Report, StoreError> {
        let station = self.store.station()?;
        let mut report = Report {
            station: self.store.report_part(None)?,
            grids: BTreeMap::new(),
        };
        for g in station.grids.values() {
            report
                .grids
                .insert(g.name.clone(), self.store.report_part(Some(g.id.as_str()))?);
        }
        Ok(report)
    }
}

impl super::Orders<&mut Store> {
    /// Records a new order (点单) by the acting worker.
    pub fn create_order(
        &mut self,
        author: &Author,
        new: NewOrder,
    ) -> Result<RequestId, StoreError> {
        let Author::Worker(by) = author else {
            return Err(denied(Deed::Request, Rule::OrdersNeedAPerson));
        };
        let action = OrderAction::Requested {
            items: new.items,
            urgency: new.urgency,
            deadline: new.deadline,
            note: new.note,
        };
        action.validate()?;
        let id = RequestId::random();
        self.store.batch(|b| {
            b.get::<Worker>(by.as_str())?;
            let household = b
                .get::<Household>(new.household_id.as_str())
                .map_err(|e| match e {
                    StoreError::NotFound { .. } => StoreError::from(ValidationError::new(
                        "order.household_id",
                        Violation::NoSuchEntity,
                    )),
                    other => other,
                })?;
            if let Some(r) = &new.resident_id {
                if !household.members.contains_key(r.as_str()) {
                    return Err(
                        ValidationError::new("order.resident_id", Violation::NoSuchEntity).into(),
                    );
                }
            }
            let now = b.now();
            let event = OrderEvent {
                id: EventId::random(),
                at: now,
                by: Actor::Worker(by.clone()),
                action,
            };
            let request = Request {
                id: id.clone(),
                grid_id: household.grid_id.clone(),
                household_id: household.id.clone(),
                resident_id: new.resident_id,
                kind: new.kind,
                created_at: now,
                events: [(event.id.to_string(), event)].into_iter().collect(),
            };
            b.put::<Request>(author, "order.request", id.as_str(), |existing| {
                if existing.is_some() {
                    return Err(ValidationError::new("order.id", Violation::Duplicate).into());
                }
                Ok(request)
            })
        })?;
        Ok(id)
    }

    /// Performs one workflow action on an order (dispatch, accept, start,
    /// complete, rate, cancel, reassign, reopen, decline, change items).
    /// Returns the order's new state. A completion credits the worker's
    /// hours in the same write.
    pub fn order_action(
        &mut self,
        author: &Author,
        order: &RequestId,
        action: OrderAction,
    ) -> Result<OrderState, StoreError> {
        self.store.batch(|b| b.order_action(author, order, action))
    }

    /// Credits the hours of an activity to its facilitator and the workers
    /// present. Crediting twice credits nothing more. Coordinators only.
    pub fn credit_activity_hours(
        &mut self,
        author: &Author,
        activity: &ActivityId,
    ) -> Result<u32, StoreError> {
        self.store.batch(|b| {
            if author.worker().is_none() {
                return Err(denied(Deed::CreditHours, Rule::OnlyCoordinator));
            }
            b.require(author, crate::access::Act::ManageActivities)?;
            let a = b.get::<Activity>(activity.as_str())?;
            let mut workers: Vec<WorkerId> = a
                .attendance
                .keys()
                .map(|k| WorkerId(k.clone()))
                .chain(std::iter::once(a.facilitator_id.clone()))
                .collect();
            workers.sort();
            workers.dedup();
            let mut credited = 0;
            for w in workers {
                if let Some(minutes) = dispatch::hours::activity_minutes(&a, &w) {
                    if b.credit_hours(
                        author,
                        &w,
                        HoursSource::Activity(a.id.clone()),
                        minutes,
                        a.starts_at,
                    )? {
                        credited += 1;
                    }
                }
            }
            Ok(credited)
        })
    }

    /// Records that a resident of the household served, or a coordinator,
    /// confirms the work behind an hours entry. Recorded offline; merges.
    pub fn acknowledge_hours(
        &mut self,
        author: &Author,
        worker: &WorkerId,
        entry: &HoursEntryId,
    ) -> Result<(), StoreError> {
        self.store.batch(|b| {
            let w = b.get::<Worker>(worker.as_str())?;
            let e = w
                .hours
                .get(entry.as_str())
                .ok_or_else(|| StoreError::NotFound {
                    kind: "hours entry",
                    id: entry.to_string(),
                })?;
            let (actor, acting) = b.acting_actor(author)?;
            let allowed = match (&acting, &e.source, author) {
                (Some(a), _, _) => a.active && dispatch::is_coordinator(a.role),
                (None, HoursSource::Order(r), Author::Resident(res)) => {
                    let request = b.get::<Request>(r.as_str())?;
                    let household = b.get::<Household>(request.household_id.as_str())?;
                    household.members.contains_key(res.as_str())
                }
                // A resident who attended the activity was served by it.
                (None, HoursSource::Activity(a), Author::Resident(res)) => b
                    .get::<Activity>(a.as_str())?
                    .attendance
                    .get(res.as_str())
                    .is_some_and(|x| x.present && x.kind == AttendeeKind::Resident),
                _ => false,
            };
            if !allowed {
                return Err(denied(Deed::AcknowledgeHours, Rule::WhoAcknowledges));
            }
            let key = match &actor {
                Actor::Worker(w) => w.to_string(),
                Actor::Resident(r) => r.to_string(),
            };
            let at = b.now();
            b.put::<Worker>(author, "worker.acknowledge_hours", worker.as_str(), |w| {
                let mut w = w.ok_or_else(|| StoreError::NotFound {
                    kind: "worker",
                    id: worker.to_string(),
                })?;
                if let Some(e) = w.hours.get_mut(entry.as_str()) {
                    e.acknowledgements
                        .entry(key)
                        .or_insert(Acknowledgement { by: actor, at });
                }
                Ok(w)
            })?;
            Ok(())
        })
    }
}
