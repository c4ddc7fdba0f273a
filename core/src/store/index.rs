//! The query index: small tables that answer a volunteer's screens without
//! loading documents — households of a grid with the most vulnerable first,
//! residents by tag, workers by grid and role, recent canvass visits.
//!
//! Every row is derived from one document and rewritten with it in the same
//! transaction; `reindex` rebuilds all of it from the documents, and `check`
//! proves a rebuild equals what is stored.

use std::collections::BTreeSet;

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, ToSql};
use serde::Serialize;

use super::{Store, StoreError};
use crate::dispatch::{fold, triage, ConflictKind};
use crate::doc::Aggregate;
use crate::model::*;
use crate::screening::Policy;

/// What index rows may depend on besides the aggregate itself: the
/// referral policy decides a case's tier and due dates.
#[derive(Debug, Clone, Copy)]
pub struct IndexContext<'a> {
    /// The store's referral policy.
    pub policy: &'a Policy,
}

/// An aggregate that keeps index rows.
pub trait Indexed: Aggregate {
    /// Replaces this aggregate's rows in the index.
    fn write_index(&self, conn: &Connection, ctx: &IndexContext<'_>) -> rusqlite::Result<()>;
}

impl Indexed for Station {
    fn write_index(&self, _conn: &Connection, _ctx: &IndexContext<'_>) -> rusqlite::Result<()> {
        // Grids and communities are few and live in one document that every
        // device holds; screens read them from the document.
        Ok(())
    }
}

impl Indexed for Roster {
    fn write_index(&self, _conn: &Connection, _ctx: &IndexContext<'_>) -> rusqlite::Result<()> {
        Ok(())
    }
}

/// Writes the one index row an aggregate keeps in `table` (keyed by its
/// first column, `id`), rewriting only the columns whose value differs.
///
/// `INSERT OR REPLACE` deleted the row and inserted it anew on every write of
/// the document: a new rowid at the table's last page, and an entry rewritten
/// in each of the table's indexes — four dirty pages for a household row,
/// which a durable write then puts through the WAL and fsyncs. SQLite
/// rewrites an index's entry whenever the `UPDATE` names one of its columns,
/// even with the same value, so the `UPDATE` names only the changed columns,
/// and an unchanged row (a write that moved no figure) is not written at all.
pub(crate) fn upsert_row(
    conn: &Connection,
    table: &str,
    columns: &[&str],
    values: &[&dyn ToSql],
) -> rusqlite::Result<()> {
    let (Some((key, rest)), Some((id, new))) = (columns.split_first(), values.split_first()) else {
        return Ok(());
    };
    let stored: Option<Vec<Value>> = conn
        .prepare_cached(&format!(
            "SELECT {} FROM {table} WHERE {key} = ?1",
            rest.join(", ")
        ))?
        .query_row([id], |r| (0..rest.len()).map(|i| r.get(i)).collect())
        .optional()?;
    let Some(stored) = stored else {
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        conn.prepare_cached(&format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            columns.join(", "),
            placeholders.join(", ")
        ))?
        .execute(values)?;
        return Ok(());
    };
    let mut set = Vec::new();
    let mut bound: Vec<&dyn ToSql> = vec![*id];
    for ((column, value), old) in rest.iter().zip(new).zip(&stored) {
        let output = value.to_sql()?;
        let value_now = match &output {
            ToSqlOutput::Borrowed(v) => *v,
            ToSqlOutput::Owned(v) => ValueRef::from(v),
            // Zero-filled blobs and arrays are never index values.
            _ => return Err(rusqlite::Error::InvalidQuery),
        };
        if value_now != ValueRef::from(old) {
            bound.push(*value);
            set.push(format!("{column} = ?{}", bound.len()));
        }
    }
    if set.is_empty() {
        return Ok(());
    }
    conn.prepare_cached(&format!(
        "UPDATE {table} SET {} WHERE {key} = ?1",
        set.join(", ")
    ))?
    .execute(bound.as_slice())?;
    Ok(())
}

/// A row of `idx_resident_tag` for one household: tag, resident, grid,
/// name, year of birth.
type IndexedTag = (String, String, String, String, i64);

/// A row of `idx_visit` for one household: visit, grid, worker, time,
/// needs, whether one is critical.
type IndexedVisit = (String, String, String, Millis, i64, bool);

impl Indexed for Household {
    fn write_index(&self, conn: &Connection, _ctx: &IndexContext<'_>) -> rusqlite::Result<()> {
        let id = self.id.as_str();
        let v = self.vulnerability();
        // Triage as of the household's own latest date (not the wall clock),
        // so that a rebuild of the index always equals the index.
        let as_of = self
            .latest_visit()
            .map(|v| v.at)
            .unwrap_or(self.created_at)
            .max(self.created_at);
        let t = triage(self, as_of, &[]);
        upsert_row(
            conn,
            "idx_household",
            &[
                "id",
                "grid_id",
                "address",
                "members",
                "critical_need",
                "vulnerability",
                "last_visit_at",
                "vulnerable_members",
                "priority",
                "flags",
                "reasons",
            ],
            &[
                &id,
                &self.grid_id.as_str(),
                &self.address.label(),
                &(self.members.len() as i64),
                &v.critical_need,
                &v.weight,
                &self.latest_visit().map(|v| v.at),
                &v.vulnerable_members,
                &t.priority.as_str(),
                &t.flags,
                &t.reasons.join(","),
            ],
        )?;
        // Only the rows that differ are written: a visit to a household of
        // many members and visits changes one row, not all of them.
        let grid = self.grid_id.as_str();
        let tags: BTreeSet<IndexedTag> = self
            .members
            .values()
            .flat_map(|m| {
                m.tags.iter().map(|tag| {
                    (
                        tag.as_str().to_string(),
                        m.id.to_string(),
                        grid.to_string(),
                        m.name.clone(),
                        i64::from(m.birth_year),
                    )
                })
            })
            .collect();
        let indexed: BTreeSet<IndexedTag> = conn
            .prepare_cached(
                "SELECT tag, resident_id, grid_id, name, birth_year FROM idx_resident_tag \
                 WHERE household_id = ?1",
            )?
            .query_map([id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut delete = conn
            .prepare_cached("DELETE FROM idx_resident_tag WHERE tag = ?1 AND resident_id = ?2")?;
        for (tag, resident, ..) in indexed.difference(&tags) {
            delete.execute(params![tag, resident])?;
        }
        let mut insert = conn.prepare_cached(
            "INSERT OR REPLACE INTO idx_resident_tag \
             (tag, resident_id, household_id, grid_id, name, birth_year) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (tag, resident, grid, name, birth_year) in tags.difference(&indexed) {
            insert.execute(params![tag, resident, id, grid, name, birth_year])?;
        }
        let visits: BTreeSet<IndexedVisit> = self
            .visits
            .values()
            .map(|visit| {
                (
                    visit.id.to_string(),
                    grid.to_string(),
                    visit.worker_id.to_string(),
                    visit.at,
                    visit.needs.len() as i64,
                    visit.needs.iter().any(Need::is_critical),
                )
            })
            .collect();
        let indexed: BTreeSet<IndexedVisit> = conn
            .prepare_cached(
                "SELECT id, grid_id, worker_id, at, needs, critical FROM idx_visit \
                 WHERE household_id = ?1",
            )?
            .query_map([id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut delete = conn.prepare_cached("DELETE FROM idx_visit WHERE id = ?1")?;
        for (visit, ..) in indexed.difference(&visits) {
            delete.execute([visit])?;
        }
        let mut insert = conn.prepare_cached(
            "INSERT OR REPLACE INTO idx_visit (id, household_id, grid_id, worker_id, at, needs, critical) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (visit, grid, worker, at, needs, critical) in visits.difference(&indexed) {
            insert.execute(params![visit, id, grid, worker, at, needs, critical])?;
        }
        Ok(())
    }
}

impl Indexed for Worker {
    fn write_index(&self, conn: &Connection, _ctx: &IndexContext<'_>) -> rusqlite::Result<()> {
        let id = self.id.as_str();
        conn.prepare_cached("DELETE FROM idx_worker_skill WHERE worker_id = ?1")?
            .execute([id])?;
        conn.prepare_cached("DELETE FROM idx_hours WHERE worker_id = ?1")?
            .execute([id])?;
        let mut skill =
            conn.prepare_cached("INSERT INTO idx_worker_skill (worker_id, skill) VALUES (?1, ?2)")?;
        // Training topics count as skills: "trained for" reads both.
        for s in self.qualifications() {
            skill.execute(params![id, s])?;
        }
        let mut hours = conn.prepare_cached(
            "INSERT INTO idx_hours (entry_id, worker_id, source_kind, source_id, minutes, at, acknowledged) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for e in self.hours.values() {
            let (kind, source) = match &e.source {
                HoursSource::Order(r) => ("order", r.as_str()),
                HoursSource::Activity(a) => ("activity", a.as_str()),
            };
            hours.execute(params![
                e.id.as_str(),
                id,
                kind,
                source,
                e.minutes,
                e.at,
                !e.acknowledgements.is_empty()
            ])?;
        }
        upsert_row(
            conn,
            "idx_worker",
            &["id", "grid_id", "role", "name", "active"],
            &[
                &self.id.as_str(),
                &self.grid_id.as_ref().map(|g| g.as_str()),
                &self.role.as_str(),
                &self.name,
                &self.active,
            ],
        )?;
        Ok(())
    }
}

impl Indexed for Request {
    fn write_index(&self, conn: &Connection, _ctx: &IndexContext<'_>) -> rusqlite::Result<()> {
        let id = self.id.as_str();
        let state = fold(self);
        let (assignee_worker, assignee_grid) = match &state.assignee {
            Some(Assignee::Worker(w)) => (Some(w.as_str()), None),
            Some(Assignee::Grid(g)) => (None, Some(g.as_str())),
            None => (None, None),
        };
        let requested_by = state.requested_by.as_ref().map(|a| match a {
            Actor::Worker(w) => w.to_string(),
            Actor::Resident(r) => format!("resident:{r}"),
        });
        upsert_row(
            conn,
            "idx_request",
            &[
                "id",
                "grid_id",
                "household_id",
                "kind",
                "status",
                "urgency",
                "assignee_worker",
                "assignee_grid",
                "accepted_by",
                "requested_by",
                "created_at",
                "deadline",
                "completed_at",
                "stars",
                "items_changed",
                "needs_training",
            ],
            &[
                &id,
                &self.grid_id.as_str(),
                &self.household_id.as_str(),
                &self.kind.as_str(),
                &state.status.as_str(),
                &state.urgency.as_str(),
                &assignee_worker,
                &assignee_grid,
                &state.accepted_by.as_ref().map(|w| w.as_str()),
                &requested_by,
                &self.created_at,
                &state.deadline,
                &state.completed_at,
                &state.stars,
                &state.items_changed_after_acceptance,
                &(self.kind == OrderKind::PsychologicalSupport),
            ],
        )?;
        conn.prepare_cached("DELETE FROM idx_order_conflict WHERE request_id = ?1")?
            .execute([id])?;
        let mut stmt = conn.prepare_cached(
            "INSERT INTO idx_order_conflict (request_id, event_id, kind, worker_a, worker_b, detail) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for c in &state.conflicts {
            let (kind, a, b, detail) = match &c.kind {
                ConflictKind::AcceptanceLost {
                    winner,
                    loser,
                    loser_did_work,
                } => (
                    "acceptance_lost",
                    winner.to_string(),
                    Some(loser.to_string()),
                    if *loser_did_work {
                        "the losing worker had already started or completed the work"
                    } else {
                        "the losing worker had not started"
                    },
                ),
                ConflictKind::CompletedAndCancelled {
                    completed_by,
                    cancelled_by,
                } => (
                    "completed_and_cancelled",
                    completed_by.to_string(),
                    match cancelled_by {
                        Actor::Worker(w) => Some(w.to_string()),
                        Actor::Resident(r) => Some(format!("resident:{r}")),
                    },
                    "completion wins; the cancellation was set aside",
                ),
            };
            stmt.execute(params![id, c.event.as_str(), kind, a, b, detail])?;
        }
        Ok(())
    }
}

impl Indexed for Activity {
    fn write_index(&self, conn: &Connection, _ctx: &IndexContext<'_>) -> rusqlite::Result<()> {
        upsert_row(
            conn,
            "idx_activity",
            &["id", "grid_id", "kind", "starts_at", "attendees"],
            &[
                &self.id.as_str(),
                &self.grid_id.as_ref().map(|g| g.as_str()),
                &self.kind.as_str(),
                &self.starts_at,
                &(self.attendance.values().filter(|a| a.present).count() as i64),
            ],
        )?;
        Ok(())
    }
}

/// The index tables, in a fixed order (for rebuilds and comparisons).
pub(super) const INDEX_TABLES: &[&str] = &[
    "idx_household",
    "idx_resident_tag",
    "idx_worker",
    "idx_visit",
    "idx_activity",
    "idx_request",
    "idx_order_conflict",
    "idx_worker_skill",
    "idx_hours",
    "idx_case",
    "idx_case_due",
];

/// Every row of every index table, as text, in a stable order.
pub(super) fn dump(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for table in INDEX_TABLES {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))?;
        let columns = stmt.column_count();
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let mut line = format!("{table}:");
            for i in 0..columns {
                let v: rusqlite::types::Value = row.get(i)?;
                line.push_str(&format!(" {v:?}"));
            }
            out.push(line);
        }
    }
    Ok(out)
}

/// A household in a grid's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HouseholdRow {
    /// The household's id.
    pub id: HouseholdId,
    /// Its address, on one line.
    pub address: String,
    /// How many members.
    pub members: u32,
    /// How many members carry a vulnerability tag.
    pub vulnerable_members: u32,
    /// Whether the latest visit found a life-threatening need.
    pub critical_need: bool,
    /// The summed weight of members' vulnerability tags.
    pub vulnerability: u32,
    /// When it was last visited, if ever.
    pub last_visit_at: Option<Millis>,
    /// Its triage priority.
    pub priority: Priority,
    /// Why (reason codes, most serious first).
    pub reasons: Vec<String>,
}

/// A resident of the household `h` is at crisis or t3 (from the case
/// index): triage lifts the household to P1. Computed when read, so each
/// document's index rows stay derived from that document alone.
pub(super) const LIFTED: &str = "EXISTS (SELECT 1 FROM idx_case c WHERE c.household_id = h.id \
     AND c.tier IN ('crisis', 't3'))";

/// The household's priority with the lift applied.
pub(super) fn priority_sql() -> String {
    format!("CASE WHEN {LIFTED} THEN 'p1' ELSE h.priority END")
}

/// The household's reasons with the lift's reason added.
pub(super) fn reasons_sql() -> String {
    format!(
        "CASE WHEN {LIFTED} AND instr(h.reasons, 'mental_health_crisis_or_t3') = 0 \
         THEN ltrim(h.reasons || ',mental_health_crisis_or_t3', ',') ELSE h.reasons END"
    )
}

pub(super) fn split_reasons(text: String) -> Vec<String> {
    if text.is_empty() {
        Vec::new()
    } else {
        text.split(',').map(str::to_string).collect()
    }
}

pub(super) fn parse_word<T>(
    text: String,
    column: usize,
    parse: impl Fn(&str, &str) -> Result<T, ValidationError>,
) -> rusqlite::Result<T> {
    parse(&text, "index").map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// A resident found by tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResidentRow {
    /// The resident's id.
    pub resident_id: ResidentId,
    /// Their household.
    pub household_id: HouseholdId,
    /// Their grid.
    pub grid_id: GridId,
    /// Their name.
    pub name: String,
    /// Their year of birth.
    pub birth_year: u32,
}

/// A worker in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkerRow {
    /// The worker's id.
    pub id: WorkerId,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: Role,
    /// Their grid, if any.
    pub grid_id: Option<GridId>,
    /// Whether they are active.
    pub active: bool,
}

/// A canvass visit in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitRow {
    /// The visit's id.
    pub id: VisitId,
    /// The household visited.
    pub household_id: HouseholdId,
    /// Its grid.
    pub grid_id: GridId,
    /// Who visited.
    pub worker_id: WorkerId,
    /// When.
    pub at: Millis,
    /// How many needs were found.
    pub needs: u32,
    /// Whether any was life-threatening.
    pub critical: bool,
}

/// Counts for one grid, from the index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GridSummary {
    /// Households recorded.
    pub households: u64,
    /// Households visited at least once.
    pub canvassed: u64,
    /// Households whose latest visit found a life-threatening need.
    pub critical: u64,
    /// Residents carrying at least one vulnerability tag.
    pub vulnerable_residents: u64,
}

impl Store {
    /// The ids of every document of a kind, sorted.
    pub fn doc_ids(&self, kind: DocKind) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM docs WHERE kind = ?1 ORDER BY id")?;
        let ids = stmt
            .query_map([kind.as_str()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }
}

impl<S: std::ops::Deref<Target = Store>> super::People<S> {
    /// Workers, optionally of one grid and/or one role.
    pub fn workers(
        &self,
        grid: Option<&GridId>,
        role: Option<Role>,
    ) -> Result<Vec<WorkerRow>, StoreError> {
        let mut stmt = self.store.conn.prepare_cached(
            "SELECT id, name, role, grid_id, active FROM idx_worker \
             WHERE (?1 IS NULL OR grid_id = ?1) AND (?2 IS NULL OR role = ?2) ORDER BY role, name, id",
        )?;
        let rows = stmt
            .query_map(
                params![grid.map(|g| g.as_str()), role.map(|r| r.as_str())],
                |r| {
                    let role: String = r.get(2)?;
                    Ok(WorkerRow {
                        id: WorkerId(r.get(0)?),
                        name: r.get(1)?,
                        role: parse_word(role, 2, Role::parse)?,
                        grid_id: r.get::<_, Option<String>>(3)?.map(GridId),
                        active: r.get(4)?,
                    })
                },
            )?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

impl<S: std::ops::Deref<Target = Store>> super::Households<S> {
    /// Counts for a grid: households, canvassed, critical, vulnerable residents.
    pub fn grid_summary(&self, grid: &GridId) -> Result<GridSummary, StoreError> {
        let (households, canvassed, critical): (i64, i64, i64) = self
            .store
            .conn
            .prepare_cached(
                "SELECT count(*), count(last_visit_at), COALESCE(sum(critical_need), 0) \
             FROM idx_household WHERE grid_id = ?1",
            )?
            .query_row([grid.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        let vulnerable: i64 = self
            .store
            .conn
            .prepare_cached(
                "SELECT count(DISTINCT resident_id) FROM idx_resident_tag WHERE grid_id = ?1",
            )?
            .query_row([grid.as_str()], |r| r.get(0))?;
        Ok(GridSummary {
            households: households as u64,
            canvassed: canvassed as u64,
            critical: critical as u64,
            vulnerable_residents: vulnerable as u64,
        })
    }

    /// How many residents carry each tag, optionally in one grid.
    pub fn tag_counts(
        &self,
        grid: Option<&GridId>,
    ) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        let mut stmt = self.store.conn.prepare_cached(
            "SELECT tag, count(*) FROM idx_resident_tag WHERE (?1 IS NULL OR grid_id = ?1) GROUP BY tag",
        )?;
        let rows = stmt
            .query_map([grid.map(|g| g.as_str())], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The households of a grid in triage order: priority P1 to P4, then
    /// more vulnerability flags, then the longest since the last visit
    /// (never visited first). Reads the index only.
    pub fn households_in_grid(
        &self,
        grid: &GridId,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<HouseholdRow>, StoreError> {
        let sql = format!(
            "SELECT h.id, h.address, h.members, h.vulnerable_members, h.critical_need, h.vulnerability, \
                    h.last_visit_at, {} AS p, {} \
             FROM idx_household h WHERE h.grid_id = ?1 \
             ORDER BY p, h.flags DESC, h.last_visit_at IS NOT NULL, h.last_visit_at, h.id \
             LIMIT ?2 OFFSET ?3",
            priority_sql(),
            reasons_sql()
        );
        let mut stmt = self.store.conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(params![grid.as_str(), limit, offset], |r| {
                Ok(HouseholdRow {
                    id: HouseholdId(r.get(0)?),
                    address: r.get(1)?,
                    members: r.get(2)?,
                    vulnerable_members: r.get(3)?,
                    critical_need: r.get(4)?,
                    vulnerability: r.get(5)?,
                    last_visit_at: r.get(6)?,
                    priority: parse_word(r.get(7)?, 7, Priority::parse)?,
                    reasons: split_reasons(r.get(8)?),
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Residents carrying `tag`, optionally only in one grid.
    pub fn residents_with_tag(
        &self,
        tag: &VulnerabilityTag,
        grid: Option<&GridId>,
    ) -> Result<Vec<ResidentRow>, StoreError> {
        let mut stmt = self.store.conn.prepare_cached(
            "SELECT resident_id, household_id, grid_id, name, birth_year FROM idx_resident_tag \
             WHERE tag = ?1 AND (?2 IS NULL OR grid_id = ?2) ORDER BY grid_id, household_id, resident_id",
        )?;
        let rows = stmt
            .query_map(params![tag.as_str(), grid.map(|g| g.as_str())], |r| {
                Ok(ResidentRow {
                    resident_id: ResidentId(r.get(0)?),
                    household_id: HouseholdId(r.get(1)?),
                    grid_id: GridId(r.get(2)?),
                    name: r.get(3)?,
                    birth_year: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The most recent canvass visits, optionally of one grid.
    pub fn recent_visits(
        &self,
        grid: Option<&GridId>,
        limit: u32,
    ) -> Result<Vec<VisitRow>, StoreError> {
        let mut stmt = self.store.conn.prepare_cached(
            "SELECT id, household_id, grid_id, worker_id, at, needs, critical FROM idx_visit \
             WHERE (?1 IS NULL OR grid_id = ?1) ORDER BY at DESC, id LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![grid.map(|g| g.as_str()), limit], |r| {
                Ok(VisitRow {
                    id: VisitId(r.get(0)?),
                    household_id: HouseholdId(r.get(1)?),
                    grid_id: GridId(r.get(2)?),
                    worker_id: WorkerId(r.get(3)?),
                    at: r.get(4)?,
                    needs: r.get(5)?,
                    critical: r.get(6)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(conn: &Connection) {
        conn.execute_batch(
            "CREATE TABLE t (id TEXT PRIMARY KEY, a INTEGER NOT NULL, b TEXT, c INTEGER NOT NULL);
             CREATE INDEX t_by_c ON t (c);",
        )
        .unwrap();
    }

    fn row(conn: &Connection) -> (i64, i64, Option<String>, i64) {
        conn.query_row("SELECT rowid, a, b, c FROM t WHERE id = 'x'", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap()
    }

    const COLUMNS: &[&str] = &["id", "a", "b", "c"];

    #[test]
    fn an_index_row_is_inserted_updated_in_place_and_left_alone_when_unchanged() {
        let conn = Connection::open_in_memory().unwrap();
        table(&conn);
        conn.execute("INSERT INTO t VALUES ('y', 0, NULL, 0)", [])
            .unwrap();
        upsert_row(&conn, "t", COLUMNS, &[&"x", &1, &Some("one"), &7]).unwrap();
        let (rowid, ..) = row(&conn);
        assert_eq!(row(&conn), (rowid, 1, Some("one".into()), 7));

        // The same values: no statement writes anything.
        let before = conn.total_changes();
        upsert_row(&conn, "t", COLUMNS, &[&"x", &1, &Some("one"), &7]).unwrap();
        assert_eq!(conn.total_changes(), before);

        // A changed value (and one becoming NULL) is written in place: the
        // row keeps its rowid, where INSERT OR REPLACE gave it a new one.
        upsert_row(&conn, "t", COLUMNS, &[&"x", &2, &None::<String>, &7]).unwrap();
        assert_eq!(conn.total_changes(), before + 1);
        assert_eq!(row(&conn), (rowid, 2, None, 7));
        upsert_row(&conn, "t", COLUMNS, &[&"x", &2, &Some("two"), &8]).unwrap();
        assert_eq!(row(&conn), (rowid, 2, Some("two".into()), 8));
        assert_eq!(
            conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
                .unwrap(),
            2
        );
    }

    /// The point of it: a column outside every index changes one page (the
    /// table's), where the old `INSERT OR REPLACE` rewrote the table row and
    /// every index's entry. Counted in the WAL frames of the commit.
    #[test]
    fn changing_a_column_outside_the_indexes_writes_one_page() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("t.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
        table(&conn);
        // Enough rows that the table and its indexes span several pages.
        for i in 0..400 {
            let id = format!("r{i:04}");
            upsert_row(
                &conn,
                "t",
                COLUMNS,
                &[&id, &i, &Some("padding padding"), &i],
            )
            .unwrap();
        }
        let frames_of = |write: &dyn Fn()| {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .unwrap();
            write();
            let wal = std::fs::metadata(path.with_extension("db-wal"))
                .unwrap()
                .len();
            (wal.saturating_sub(32)) / (4096 + 24)
        };
        let upserted = frames_of(&|| {
            upsert_row(
                &conn,
                "t",
                COLUMNS,
                &[&"r0200", &-1, &Some("padding padding"), &200],
            )
            .unwrap()
        });
        let replaced = frames_of(&|| {
            conn.execute(
                "INSERT OR REPLACE INTO t (id, a, b, c) VALUES ('r0201', -1, 'padding padding', 201)",
                [],
            )
            .unwrap();
        });
        assert_eq!(upserted, 1);
        assert!(replaced >= 3, "INSERT OR REPLACE wrote {replaced} pages");
    }
}
