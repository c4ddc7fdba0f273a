//! Interviews in progress: saved after every answer so a questionnaire
//! survives the app being killed, resumed without raising its alerts again.
//!
//! Owns the `drafts` table. A draft holds answers: it lives only in this
//! store's file (encrypted when the store has a key), never in a document,
//! an export, a sync or a bundle, and it is deleted when its sitting is
//! recorded or discarded.

use rusqlite::params;

use super::{Store, StoreError};
use crate::model::Millis;
use crate::screening::Draft;

/// A saved interview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftRecord {
    /// The draft's id (the questionnaire's).
    pub id: String,
    /// The household.
    pub household_id: String,
    /// The resident.
    pub resident_id: String,
    /// Where the interview stands.
    pub draft: Draft,
    /// The red flags already alerted.
    pub alerted: Vec<String>,
    /// When it was last saved.
    pub updated_at: Millis,
}

fn damaged(id: &str) -> StoreError {
    StoreError::Corrupt {
        id: format!("draft {id}"),
        source: crate::doc::DocError::Undecodable,
    }
}

impl Store {
    /// Saves (or replaces) a draft, durably: an answer the app showed as
    /// given survives a crash.
    pub fn save_draft(&mut self, record: &DraftRecord) -> Result<(), StoreError> {
        let body = serde_json::to_string(&record.draft).map_err(|_| damaged(&record.id))?;
        let alerted = serde_json::to_string(&record.alerted).map_err(|_| damaged(&record.id))?;
        self.conn
            .prepare_cached(
                "INSERT INTO drafts (id, household_id, resident_id, body, alerted, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (id) DO UPDATE SET body = excluded.body, alerted = excluded.alerted, \
             updated_at = excluded.updated_at",
            )?
            .execute(params![
                record.id,
                record.household_id,
                record.resident_id,
                body,
                alerted,
                record.updated_at
            ])?;
        Ok(())
    }

    /// Every saved draft, oldest first.
    pub fn drafts(&self) -> Result<Vec<DraftRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, household_id, resident_id, body, alerted, updated_at FROM drafts \
             ORDER BY updated_at, id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Millis>(5)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(
                |(id, household_id, resident_id, body, alerted, updated_at)| {
                    let draft = serde_json::from_str(&body).map_err(|_| damaged(&id))?;
                    let alerted = serde_json::from_str(&alerted).map_err(|_| damaged(&id))?;
                    Ok(DraftRecord {
                        id,
                        household_id,
                        resident_id,
                        draft,
                        alerted,
                        updated_at,
                    })
                },
            )
            .collect()
    }

    /// One draft.
    pub fn draft(&self, id: &str) -> Result<DraftRecord, StoreError> {
        self.drafts()?
            .into_iter()
            .find(|d| d.id == id)
            .ok_or_else(|| StoreError::NotFound {
                kind: "draft",
                id: id.to_string(),
            })
    }

    /// Deletes a draft (recorded or discarded). Deleting one that is gone
    /// does nothing.
    pub fn delete_draft(&mut self, id: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM drafts WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screening::{Administration, Language, Library};

    #[test]
    fn a_draft_survives_reopening_and_resumes_where_it_stood() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("drafts.db");
        let library = Library::builtin().unwrap();
        let mut admin =
            Administration::start(library.get("phq9").unwrap(), Language::En, None).unwrap();
        for (item, value) in [("1", 1), ("2", 2), ("3", 0)] {
            admin.answer(item, value).unwrap();
        }
        admin.decline("4").unwrap();
        let flagged = admin.answer("9", 1).unwrap();
        assert_eq!(flagged.red_flags, vec!["suicidal_ideation".to_string()]);
        let record = DraftRecord {
            id: "q1".into(),
            household_id: "h".into(),
            resident_id: "r".into(),
            draft: admin.draft(),
            alerted: flagged.red_flags.clone(),
            updated_at: 5,
        };
        {
            let mut store = Store::open(
                &path,
                super::super::StoreOptions {
                    key: Some("k".into()),
                    ..Default::default()
                },
            )
            .unwrap();
            store.save_draft(&record).unwrap();
        }
        let mut store = Store::open(
            &path,
            super::super::StoreOptions {
                key: Some("k".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let back = store.draft("q1").unwrap();
        assert_eq!(back, record);
        let resumed = Administration::resume(library, &back.draft).unwrap();
        assert_eq!(resumed.answers(), admin.answers());
        assert_eq!(
            resumed.current().map(|p| p.item),
            admin.current().map(|p| p.item)
        );
        assert_eq!(resumed.current().unwrap().item, "5");
        // A draft that does not fit the instrument is refused, not scored.
        let mut bad = back.draft.clone();
        bad.answers.insert("1".into(), 9);
        assert!(Administration::resume(library, &bad).is_err());
        store.delete_draft("q1").unwrap();
        assert!(store.drafts().unwrap().is_empty());
        assert!(matches!(
            store.draft("q1"),
            Err(StoreError::NotFound { .. })
        ));
        // Drafts never leave the file: not in the export.
        assert!(!store.export_json().unwrap().contains("suicidal"));
    }
}
