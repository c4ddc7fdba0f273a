//! Signed authorship: every change a device writes is attested by its
//! signing key, and every change received is checked against an
//! attestation and the credential of the device its actor id names, then
//! judged by the access module, before anything is stored.
//!
//! Owns the `attestations` table (the newest attestation per document and
//! actor), signing after local writes, the cache of credentials by actor
//! id, and [`Store::check_authorship`], which `replica::persist_merged`
//! runs on every merge from a peer or a bundle.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use automerge::{ActorId, ChangeHash};
use rusqlite::{params, Connection};

use super::replica::Refusal;
use super::{Store, StoreError};
use crate::access::{self, Lookup, Principal};
use crate::doc::{genesis_actor, Document};
use crate::model::*;
use crate::trust::{attestation_message, verify_device_signature, Attestation, Credential};

/// Credentials by the actor id (bytes) they name, with whether the device
/// is revoked: who may have written a change.
#[derive(Default)]
pub(crate) struct Authors {
    by_actor: HashMap<Vec<u8>, (Credential, bool)>,
}

/// What a registry looks like, to know when the cache is stale.
type RegistryStamp = (i64, f64);

/// The authors cache kept by a store.
#[derive(Default)]
pub(crate) struct AuthorsCache(std::sync::Mutex<Option<(RegistryStamp, Arc<Authors>)>>);

/// The new changes of a merge, each after every change it depends on
/// (automerge lists them in no order this code may rely on): (hash, actor,
/// seq, whether it has no dependencies at all).
fn causal_order(
    changes: Vec<(ChangeHash, ActorId, u64, Vec<ChangeHash>)>,
) -> Vec<(ChangeHash, ActorId, u64, bool)> {
    let present: HashSet<ChangeHash> = changes.iter().map(|c| c.0).collect();
    let mut done: HashSet<ChangeHash> = HashSet::new();
    let mut waiting = changes;
    let mut out = Vec::with_capacity(waiting.len());
    while !waiting.is_empty() {
        let before = waiting.len();
        let mut still = Vec::new();
        for c in waiting {
            if c.3.iter().all(|d| !present.contains(d) || done.contains(d)) {
                done.insert(c.0);
                out.push((c.0, c.1, c.2, c.3.is_empty()));
            } else {
                still.push(c);
            }
        }
        waiting = still;
        if waiting.len() == before {
            // A cycle cannot occur in a hash chain; keep what is left in
            // the order given rather than loop.
            out.extend(waiting.drain(..).map(|c| (c.0, c.1, c.2, c.3.is_empty())));
        }
    }
    out
}

/// Stores `attestation` for (`doc_id`, its actor) unless a newer one is
/// already kept.
fn keep(conn: &Connection, doc_id: &str, a: &Attestation) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO attestations (doc_id, actor, seq, signature) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (doc_id, actor) DO UPDATE SET seq = excluded.seq, \
         signature = excluded.signature WHERE excluded.seq > attestations.seq",
    )?
    .execute(params![doc_id, a.actor, a.seq as i64, a.signature])?;
    Ok(())
}

/// Attests this device's newest change in `doc` (after a local write),
/// inside the write's transaction.
pub(crate) fn attest_local(
    conn: &Connection,
    keys: &crate::trust::DeviceKeys,
    doc_id: &str,
    doc: &mut Document,
) -> Result<(), StoreError> {
    let Some(change) = doc.automerge().get_last_local_change() else {
        return Ok(());
    };
    let a = keys.attest(
        doc_id,
        change.actor_id().to_bytes(),
        change.seq(),
        &change.hash().0,
    );
    keep(conn, doc_id, &a)
}

/// The attestations kept for a document.
pub(crate) fn kept(conn: &Connection, doc_id: &str) -> Result<Vec<Attestation>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT actor, seq, signature FROM attestations WHERE doc_id = ?1 ORDER BY actor",
    )?;
    let rows = stmt
        .query_map([doc_id], |r| {
            Ok(Attestation {
                actor: r.get(0)?,
                seq: r.get::<_, i64>(1)? as u64,
                signature: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Who wrote the new changes of a merge, once checked.
pub(crate) struct Authorship {
    /// The author of each new change, in an order where every change comes
    /// after its dependencies; `None` for a document's genesis change.
    pub changes: Vec<(ChangeHash, Option<Principal>)>,
    /// Attestations received that vouch for more than those kept.
    pub keep: Vec<Attestation>,
}

impl Authorship {
    /// Keeps the attestations that vouched for the merge.
    pub(crate) fn record(&self, conn: &Connection, doc_id: &str) -> Result<(), StoreError> {
        for a in &self.keep {
            keep(conn, doc_id, a)?;
        }
        Ok(())
    }
}

struct StoreLookup<'a>(&'a Store);

impl Lookup for StoreLookup<'_> {
    fn worker(&self, id: &str) -> Option<Worker> {
        self.0.get::<Worker>(id).ok()
    }
}

impl Store {
    /// The attestations this store keeps for a document (sent with it).
    pub fn attestations(&self, doc_id: &str) -> Result<Vec<Attestation>, StoreError> {
        kept(&self.conn, doc_id)
    }

    /// Credentials by actor id, rebuilt when the registry changed.
    pub(crate) fn authors(&self) -> Result<Arc<Authors>, StoreError> {
        let stamp: RegistryStamp = self
            .conn
            .prepare_cached("SELECT count(*), total(issued_at) FROM registry")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if let Ok(guard) = self.authors.0.lock() {
            if let Some((s, a)) = guard.as_ref() {
                if *s == stamp {
                    return Ok(a.clone());
                }
            }
        }
        let mut authors = Authors::default();
        if let Some(station) = self.devices().station_public()? {
            let mut stmt = self.conn.prepare_cached(
                "SELECT body, signature FROM registry WHERE kind = 'credential' ORDER BY device_id",
            )?;
            let rows: Vec<crate::trust::Signed> = stmt
                .query_map([], |r| {
                    Ok(crate::trust::Signed {
                        body: r.get(0)?,
                        signature: r.get(1)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            for signed in rows {
                let Ok(c) = self.checked_credential(&signed, &station) else {
                    continue;
                };
                let Ok(actor) = hex::decode(&c.actor) else {
                    continue;
                };
                let revoked = self.devices().is_revoked(&c.device)?;
                authors.by_actor.insert(actor, (c, revoked));
            }
            // This device's own credential, should the registry not hold it.
            if let Some((_, own)) = self.devices().credential()? {
                if let Ok(actor) = hex::decode(&own.actor) {
                    authors.by_actor.entry(actor).or_insert((own, false));
                }
            }
            // An identity file writes with one actor per device it is used
            // on: every (identity, known device) pair names it.
            let identities: Vec<(Credential, bool)> = authors
                .by_actor
                .values()
                .filter(|(c, _)| crate::trust::is_identity(c))
                .cloned()
                .collect();
            let hosts: Vec<String> = authors
                .by_actor
                .values()
                .filter(|(c, _)| !crate::trust::is_identity(c))
                .map(|(c, _)| c.device.clone())
                .chain(std::iter::once(self.device.device_id.clone()))
                .collect();
            for (c, revoked) in identities {
                for host in &hosts {
                    if let Ok(actor) =
                        hex::decode(crate::trust::identity_actor(&c.signing_key, host))
                    {
                        authors.by_actor.insert(actor, (c.clone(), revoked));
                    }
                }
            }
        }
        let authors = Arc::new(authors);
        if let Ok(mut guard) = self.authors.0.lock() {
            *guard = Some((stamp, authors.clone()));
        }
        Ok(authors)
    }

    /// The worker a change's actor belongs to, as the registry says (for
    /// `history`): `Some(None)` for the station's own identity, `None` if
    /// no credential names the actor.
    pub(crate) fn verified_author(
        &self,
        actor_hex: &str,
    ) -> Result<Option<(String, Option<String>)>, StoreError> {
        let authors = self.authors()?;
        Ok(hex::decode(actor_hex)
            .ok()
            .and_then(|a| authors.by_actor.get(&a).cloned())
            .map(|(c, _)| (c.device, c.worker)))
    }

    /// The principal this device writes as: its credential's worker and
    /// role, or the station's identity (the station laptop, or a store not
    /// enrolled anywhere).
    pub(crate) fn own_principal(&self) -> Result<Principal, StoreError> {
        Ok(match self.devices().credential()? {
            Some((_, c)) => Principal::of(&c),
            None => Principal::station(),
        })
    }

    /// Checks the changes a merge brought into `doc` (those not in
    /// `before`): each is covered by a valid attestation — received now or
    /// kept — from the device whose credential names its actor, that device
    /// not revoked; a document's genesis change must be exactly the one its
    /// id implies. Then the access module judges each author's effect.
    pub(crate) fn check_authorship(
        &self,
        id: &str,
        kind: DocKind,
        before: Option<&Document>,
        before_heads: &[ChangeHash],
        doc: &mut Document,
        received: &[Attestation],
    ) -> Result<Authorship, Refusal> {
        let fail = |why: &str| Refusal::Unattested(why.to_string());
        let authors = self
            .authors()
            .map_err(|_| fail("the registry cannot be read"))?;
        let am = doc.automerge().document();
        let new = causal_order(
            am.get_changes_meta(before_heads)
                .into_iter()
                .map(|m| (m.hash, m.actor.into_owned(), m.seq, m.deps))
                .collect(),
        );
        // Each actor's changes by sequence number, to find what an
        // attestation's `seq` names.
        let mut by_actor_seq: HashMap<(Vec<u8>, u64), ChangeHash> = HashMap::new();
        let actors: HashSet<Vec<u8>> = new
            .iter()
            .map(|(_, a, _, _)| a.to_bytes().to_vec())
            .collect();
        for m in am.get_changes_meta(&[]) {
            let a = m.actor.to_bytes().to_vec();
            if actors.contains(&a) {
                by_actor_seq.insert((a, m.seq), m.hash);
            }
        }
        let genesis = genesis_actor(kind, id);
        let mut kept_now = kept(&self.conn, id).map_err(|_| fail("attestations cannot be read"))?;
        // Attestations from the wire do not name their actor: it is the one
        // (among those that wrote the new changes) whose change at that
        // sequence number the signature verifies for.
        for a in received {
            if !a.actor.is_empty() {
                kept_now.push(a.clone());
                continue;
            }
            let found = actors.iter().find(|actor| {
                let (Some((c, _)), Some(hash)) = (
                    authors.by_actor.get(*actor),
                    by_actor_seq.get(&((*actor).clone(), a.seq)),
                ) else {
                    return false;
                };
                verify_device_signature(
                    &c.signing_key,
                    &attestation_message(id, &hash.0),
                    &a.signature,
                )
            });
            kept_now.push(Attestation {
                actor: found.cloned().unwrap_or_default(),
                ..a.clone()
            });
        }
        // The newest valid attestation per actor.
        let mut vouched: HashMap<Vec<u8>, (u64, bool)> = HashMap::new();
        let mut keep_out = Vec::new();
        for a in &kept_now {
            if !actors.contains(&a.actor) {
                continue;
            }
            let Some((c, _)) = authors.by_actor.get(&a.actor) else {
                continue;
            };
            let Some(hash) = by_actor_seq.get(&(a.actor.clone(), a.seq)) else {
                continue;
            };
            if !verify_device_signature(
                &c.signing_key,
                &attestation_message(id, &hash.0),
                &a.signature,
            ) {
                continue;
            }
            let from_peer = received
                .iter()
                .any(|r| r.seq == a.seq && r.signature == a.signature);
            let best = vouched.entry(a.actor.clone()).or_insert((0, false));
            if a.seq > best.0 {
                *best = (a.seq, from_peer);
                if from_peer {
                    keep_out.retain(|k: &Attestation| k.actor != a.actor);
                    keep_out.push(a.clone());
                }
            }
        }
        let mut changes = Vec::with_capacity(new.len());
        for (hash, actor, seq, root) in &new {
            if *actor == genesis && *seq == 1 && *root {
                if kind != DocKind::Case || !self.is_genesis(doc, *hash) {
                    return Err(fail("a genesis change that is not the document's"));
                }
                changes.push((*hash, None));
                continue;
            }
            let bytes = actor.to_bytes().to_vec();
            let Some((credential, revoked)) = authors.by_actor.get(&bytes) else {
                return Err(fail("no credential names the author of a change"));
            };
            if *revoked {
                return Err(fail("a change's author is revoked"));
            }
            match vouched.get(&bytes) {
                Some((upto, _)) if upto >= seq => {}
                _ => {
                    // An attestation of a later change that is not here
                    // yet: automerge delivered part of the history.
                    let later = kept_now.iter().any(|a| {
                        (a.actor == bytes || a.actor.is_empty())
                            && a.seq >= *seq
                            && !by_actor_seq.contains_key(&(bytes.clone(), a.seq))
                    });
                    return Err(if later {
                        Refusal::AwaitingAttestation
                    } else {
                        fail("a change is not attested by its author")
                    });
                }
            }
            changes.push((*hash, Some(Principal::of(credential))));
        }
        let authorship = Authorship {
            changes,
            keep: keep_out,
        };
        self.judge_merge(id, kind, before, doc, &authorship)?;
        Ok(authorship)
    }

    /// Whether `hash` is the genesis change of the case file `doc` holds.
    fn is_genesis(&self, doc: &Document, hash: ChangeHash) -> bool {
        let Ok(case) = doc.read::<Case>() else {
            return false;
        };
        let skeleton = Case::skeleton(&case.resident_id, &case.household_id, &case.team);
        match Document::genesis(&skeleton, &self.device.actor) {
            Ok(mut g) => g.heads() == vec![hash],
            Err(_) => false,
        }
    }

    /// The access module's judgement of a merge: with one author, the whole
    /// effect at once; with several, change by change in causal order, each
    /// against the state before it.
    fn judge_merge(
        &self,
        id: &str,
        kind: DocKind,
        before: Option<&Document>,
        doc: &mut Document,
        authorship: &Authorship,
    ) -> Result<(), Refusal> {
        let look = StoreLookup(self);
        let authors: Vec<&Principal> = authorship
            .changes
            .iter()
            .filter_map(|(_, p)| p.as_ref())
            .collect();
        let Some(first) = authors.first() else {
            return Ok(());
        };
        let invalid = |why: String| Refusal::Invalid(why);
        let mut prev = match before {
            Some(b) => {
                Some(super::kinds::per_kind(kind, super::kinds::ReadValue(b)).map_err(invalid)?)
            }
            None => None,
        };
        if authors.iter().all(|p| p == first) {
            let after =
                super::kinds::per_kind(kind, super::kinds::ReadValue(doc)).map_err(invalid)?;
            return access::judge(prev.as_ref(), &after, first, &look).map_err(Refusal::Forbidden);
        }
        let mut scratch = match before {
            Some(b) => b.clone(),
            None => Document::new(&self.device.actor),
        };
        for (hash, who) in &authorship.changes {
            let Some(change) = doc.automerge().get_change_by_hash(hash) else {
                return Err(Refusal::Invalid(format!("a change of {id} went missing")));
            };
            scratch
                .automerge()
                .apply_changes([change])
                .map_err(|_| Refusal::Undecodable)?;
            if scratch.automerge().get_change_by_hash(hash).is_none() {
                // Its dependencies are not all here: judging the state
                // without it would let its effect pass unseen.
                return Err(Refusal::Invalid(format!(
                    "a change of {id} lacks its history"
                )));
            }
            let Some(who) = who else {
                // A genesis change: the skeleton, checked byte for byte.
                continue;
            };
            let next =
                super::kinds::per_kind(kind, super::kinds::ReadValue(&scratch)).map_err(invalid)?;
            access::judge(prev.as_ref(), &next, who, &look).map_err(Refusal::Forbidden)?;
            prev = Some(next);
        }
        Ok(())
    }

    /// Attests this device's newest change in every document it holds, for
    /// stores whose documents predate attestations (run once, at open).
    pub(crate) fn backfill_attestations(&mut self) -> Result<(), StoreError> {
        const DONE: &str = "attestations_backfilled";
        if self.meta(DONE)?.is_some() {
            return Ok(());
        }
        let ids: Vec<String> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id FROM docs WHERE id NOT IN (SELECT doc_id FROM attestations) ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let tx = self.conn.transaction()?;
        let me = self.device.actor.clone();
        for id in ids {
            let Some(mut doc) = super::load_document(&tx, &me, &id, None)? else {
                continue;
            };
            let newest = doc
                .automerge()
                .document()
                .get_changes_meta(&[])
                .into_iter()
                .filter(|m| *m.actor == me)
                .max_by_key(|m| m.seq)
                .map(|m| (m.seq, m.hash));
            if let Some((seq, hash)) = newest {
                let a = self.keys.attest(&id, me.to_bytes(), seq, &hash.0);
                keep(&tx, &id, &a)?;
            }
        }
        tx.prepare_cached(
            "INSERT INTO meta (key, value) VALUES (?1, '1') ON CONFLICT (key) DO NOTHING",
        )?
        .execute([DONE])?;
        tx.commit()?;
        Ok(())
    }
}
