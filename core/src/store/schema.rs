//! Schema creation and numbered migrations, tracked by `PRAGMA user_version`.
//!
//! A new store is created from `schema.sql` in one step; an older store walks
//! `migrations/NNNN_*.sql` one version at a time, each in its own transaction.
//! Migrations that add index tables ask for a reindex, which the store runs
//! after the last one (the index is derived from the documents).

use rusqlite::Connection;

use super::StoreError;

/// One numbered migration.
pub struct Migration {
    /// The schema version this migration produces.
    pub version: u32,
    /// Its SQL.
    pub sql: &'static str,
    /// Whether the query index must be rebuilt after it.
    pub needs_reindex: bool,
}

/// Every migration, in order. Version N's migration turns a version N-1 store
/// into a version N store.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../../migrations/0001_documents.sql"),
        needs_reindex: false,
    },
    Migration {
        version: 2,
        sql: include_str!("../../migrations/0002_query_index.sql"),
        needs_reindex: true,
    },
    Migration {
        version: 3,
        sql: include_str!("../../migrations/0003_activities_and_members.sql"),
        needs_reindex: true,
    },
    Migration {
        version: 4,
        sql: include_str!("../../migrations/0004_orders_and_triage.sql"),
        needs_reindex: true,
    },
    Migration {
        version: 5,
        sql: include_str!("../../migrations/0005_sync.sql"),
        needs_reindex: false,
    },
    Migration {
        version: 6,
        sql: include_str!("../../migrations/0006_cases.sql"),
        needs_reindex: true,
    },
    Migration {
        version: 7,
        sql: include_str!("../../migrations/0007_trust.sql"),
        needs_reindex: false,
    },
    Migration {
        version: 8,
        sql: include_str!("../../migrations/0008_audit_heads.sql"),
        needs_reindex: false,
    },
    Migration {
        version: 9,
        sql: include_str!("../../migrations/0009_attestations.sql"),
        needs_reindex: false,
    },
    Migration {
        version: 10,
        sql: include_str!("../../migrations/0010_drafts.sql"),
        needs_reindex: false,
    },
    Migration {
        version: 11,
        sql: include_str!("../../migrations/0011_without_rowid.sql"),
        needs_reindex: false,
    },
];

/// The schema version this build writes.
pub const LATEST: u32 = 11;

const FRESH: &str = include_str!("../../schema.sql");

/// The store's schema version.
pub fn version(conn: &Connection) -> Result<u32, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Brings the schema to `target`. Returns whether the index must be rebuilt.
pub fn upgrade(conn: &mut Connection, target: u32) -> Result<bool, StoreError> {
    let current = version(conn)?;
    if current > LATEST {
        return Err(StoreError::TooNew {
            found: current,
            known: LATEST,
        });
    }
    if current == 0 && target == LATEST {
        let tx = conn.transaction()?;
        tx.execute_batch(FRESH)?;
        tx.pragma_update(None, "user_version", LATEST)?;
        tx.commit()?;
        return Ok(false);
    }
    let mut reindex = false;
    for m in MIGRATIONS
        .iter()
        .filter(|m| m.version > current && m.version <= target)
    {
        let tx = conn.transaction()?;
        tx.execute_batch(m.sql)?;
        tx.pragma_update(None, "user_version", m.version)?;
        tx.commit()?;
        reindex |= m.needs_reindex;
    }
    Ok(reindex)
}

/// A description of the schema that ignores how it was reached: every table's
/// columns (name, type, not-null, default, primary-key position) and every
/// index's columns and order. Two stores with equal descriptions have the same
/// schema, whether created fresh or migrated.
pub fn describe(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    let mut objects = conn.prepare(
        "SELECT type, name, tbl_name FROM sqlite_master \
         WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    )?;
    let rows: Vec<(String, String, String)> = objects
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (kind, name, table) in rows {
        match kind.as_str() {
            "table" => {
                let (strict, without_rowid): (bool, bool) = conn
                    .prepare("SELECT strict, wr FROM pragma_table_list WHERE name = ?1")?
                    .query_row([&name], |r| Ok((r.get(0)?, r.get(1)?)))?;
                out.push(format!(
                    "table {name} strict={strict} without_rowid={without_rowid}"
                ));
                let mut cols = conn.prepare(
                    "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1) ORDER BY cid",
                )?;
                for col in cols.query_map([&name], |r| {
                    Ok(format!(
                        "  column {} {} notnull={} default={:?} pk={}",
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, i64>(4)?
                    ))
                })? {
                    out.push(col?);
                }
            }
            "index" => {
                out.push(format!("index {name} on {table}"));
                let mut cols = conn.prepare(
                    "SELECT seqno, name, desc, coll FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno",
                )?;
                for col in cols.query_map([&name], |r| {
                    Ok(format!(
                        "  key {} {:?} desc={} {}",
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?
                    ))
                })? {
                    out.push(col?);
                }
            }
            other => out.push(format!("{other} {name} on {table}")),
        }
    }
    Ok(out)
}
