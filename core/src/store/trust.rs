//! The store's side of trust: this device's keys and credential, the
//! pinned station key, the registry of credentials and revocations, and —
//! on the station laptop — the station key and pending enrolments.
//!
//! Secrets (device keys, the station key) live in `meta`, inside the
//! store's encryption.

use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

use super::audit::{self, AuditHead};
use super::{Store, StoreError};
use crate::access::Act;
use crate::doc::Author;
use crate::model::*;
use crate::trust::{
    enrol_psk, fingerprint, Credential, DeviceKeys, EnrolCode, Revocation, Signed, StationKey,
    TrustError,
};

/// How long a code and the credential it leads to last.
#[derive(Debug, Clone)]
pub struct EnrolOptions {
    /// The scopes to grant; `None`: what the worker's role and grids call
    /// for (see [`Devices::default_scopes`]).
    pub scopes: Option<Vec<String>>,
    /// How long the one-time code stays usable, in minutes.
    pub code_minutes: u32,
    /// How long the credential lasts, in days.
    pub credential_days: u32,
    /// The station's address, printed into the code.
    pub address: Option<String>,
}

impl Default for EnrolOptions {
    fn default() -> Self {
        Self {
            scopes: None,
            code_minutes: 15,
            credential_days: 90,
            address: None,
        }
    }
}

/// One enrolled device, as the registry knows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeviceRow {
    /// The device.
    pub device_id: String,
    /// Its worker; `None` for the station laptop.
    pub worker_id: Option<String>,
    /// The role its credential carries.
    pub role: Option<Role>,
    /// The scopes granted.
    pub scopes: Vec<String>,
    /// When its credential was issued.
    pub issued_at: Millis,
    /// When its credential expires.
    pub expires_at: Millis,
    /// Whether the station revoked it.
    pub revoked: bool,
}

/// A validity of at least one day (a credential's, an identity's).
pub(super) fn check_days(days: u32) -> Result<(), StoreError> {
    if days == 0 {
        return Err(ValidationError::new(
            "days",
            Violation::OutOfRange {
                min: 1,
                max: i64::from(u32::MAX),
            },
        )
        .into());
    }
    Ok(())
}

fn to_array<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
    bytes.try_into().ok()
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt {
        id: what.to_string(),
        source: crate::doc::DocError::Undecodable,
    }
}

/// The meta key prefix of which of this device's credentials a peer holds
/// ([`Store::credential_held_by`]).
const HELD_BY: &str = "credential_held_by:";

impl Store {
    /// This device's keys.
    pub(crate) fn keys(&self) -> &DeviceKeys {
        &self.keys
    }

    pub(super) fn station_key(&self) -> Result<StationKey, StoreError> {
        let text = self
            .meta("station_secret")?
            .ok_or(TrustError::Refused(crate::refusal::Rule::OnlyStationLaptop))?;
        hex::decode(text)
            .ok()
            .and_then(|b| StationKey::from_secret_bytes(&b))
            .ok_or_else(|| corrupt("meta.station_secret"))
    }

    /// The credential `signed` carries, its station signature checked —
    /// once per distinct credential: every session checks the peer's and
    /// scans the registry, and an ed25519 verification costs more than the
    /// rest of a small session's work.
    pub(crate) fn checked_credential(
        &self,
        signed: &Signed,
        station: &[u8; 32],
    ) -> Result<Credential, TrustError> {
        if let Some(c) = self.verified.get(signed, station) {
            return Ok(c);
        }
        let c = signed.credential(station)?;
        self.verified.put(signed, station, c.clone());
        Ok(c)
    }
}

impl super::Batch<'_> {
    /// Enters a credential the station issued in the registry (an identity
    /// file's, which no session delivers).
    pub(crate) fn add_registry_credential(
        &self,
        device: &str,
        at: Millis,
        signed: &Signed,
    ) -> Result<(), StoreError> {
        insert_entry(&self.tx, device, "credential", at, signed)
    }

    /// Makes this store the station laptop: a station key, and this
    /// device's own credential (no worker; every scope). Called in the same
    /// write as the new station document.
    pub(crate) fn make_station_key(&self, station_id: &str) -> Result<(), StoreError> {
        let (device, keys, b) = (self.device, self.keys, self);
        let key = StationKey::generate();
        let now = now_millis();
        let credential = Credential {
            station: station_id.to_string(),
            device: device.device_id.clone(),
            signing_key: keys.signing_public(),
            noise_key: keys.noise_public(),
            actor: device.actor.to_hex_string(),
            worker: None,
            role: None,
            scopes: vec!["station".into(), "grid:*".into(), "case:*".into()],
            issued_at: now,
            // The laptop's own credential lasts as long as the station key;
            // it is renewed with it.
            expires_at: i64::MAX,
        };
        let signed = key.sign_credential(&credential)?;
        b.set_meta("station_secret", &hex::encode(key.secret_bytes()))?;
        b.set_meta("station_key", &hex::encode(key.public()))?;
        b.set_meta(
            "credential",
            &hex::encode(postcard::to_stdvec(&signed).unwrap_or_default()),
        )?;
        insert_entry(&b.tx, &credential.device, "credential", now, &signed)?;
        Ok(())
    }
}

impl Store {
    fn enrol(
        &mut self,
        author: &Author,
        w: Option<&Worker>,
        options: EnrolOptions,
    ) -> Result<EnrolCode, StoreError> {
        let station_key = self.station_key()?;
        let scopes = match (options.scopes, w) {
            (Some(s), _) => s,
            (None, Some(w)) => self.devices().default_scopes(w)?,
            (None, None) => vec![
                "station".into(),
                "grid:*".into(),
                format!("case:{}", crate::model::DEFAULT_CASE_TEAM),
            ],
        };
        let probe = Credential {
            station: String::new(),
            device: String::new(),
            signing_key: [0; 32],
            noise_key: [0; 32],
            actor: String::new(),
            worker: w.map(|w| w.id.to_string()),
            role: w.map(|w| w.role),
            scopes: scopes.clone(),
            issued_at: 0,
            expires_at: 0,
        };
        if scopes.is_empty() {
            // A credential without scopes is an identity file's.
            return Err(ValidationError::new("scopes", Violation::Required).into());
        }
        for s in &scopes {
            let wildcard = s == "grid:*" || s == "case:*";
            if !wildcard && Scope::from_key(s).is_none() {
                return Err(ValidationError::new("scopes", Violation::BadCharacters).into());
            }
            if s.starts_with("case:") && !probe.grants(s) {
                return Err(
                    TrustError::Refused(crate::refusal::Rule::CaseScopesNeedProfessional).into(),
                );
            }
        }
        if options.code_minutes == 0 || options.credential_days == 0 {
            return Err(ValidationError::new(
                "expires",
                Violation::OutOfRange {
                    min: 1,
                    max: i64::from(u32::MAX),
                },
            )
            .into());
        }
        let id: [u8; 8] = rand::random();
        let secret: [u8; 16] = rand::random();
        let now = now_millis();
        self.batch(|b| {
            b.require(author, Act::ManageDevices)?;
            b.tx.prepare_cached(
                "INSERT INTO enrolments (id, psk, worker_id, scopes, expires_at, credential_until, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
.execute(
                params![
                    hex::encode(id),
                    enrol_psk(&id, &secret).to_vec(),
                    // Empty: the station's own identity.
                    w.map_or("", |w| w.id.as_str()),
                    serde_json::to_string(&scopes).unwrap_or_default(),
                    now + i64::from(options.code_minutes) * 60_000,
                    now + i64::from(options.credential_days) * crate::localtime::DAY,
                    now
                ],
            )?;
            Ok(())
        })?;
        Ok(EnrolCode {
            fingerprint: fingerprint(&station_key.public()),
            id,
            secret,
            address: options.address,
        })
    }

    /// The pre-shared key of a pending, unexpired, unused enrolment.
    pub(crate) fn enrolment_psk(&self, id: &[u8; 8]) -> Result<Option<[u8; 32]>, StoreError> {
        let row: Option<Vec<u8>> = self
            .conn
            .prepare_cached(
                "SELECT psk FROM enrolments WHERE id = ?1 AND used_at IS NULL AND expires_at > ?2",
            )?
            .query_row(params![hex::encode(id), now_millis()], |r| r.get(0))
            .optional()?;
        Ok(row.and_then(|b| to_array(&b)))
    }

    /// Completes an enrolment whose secret the device proved: issues its
    /// credential, records it in the registry and uses the code up.
    pub(crate) fn redeem_enrolment(
        &mut self,
        id: &[u8; 8],
        device: &str,
        signing_key: [u8; 32],
        noise_key: [u8; 32],
    ) -> Result<Signed, StoreError> {
        let station_key = self.station_key()?;
        let station = self
            .replica()
            .station_id()?
            .ok_or(StoreError::NotInitialised)?;
        let now = now_millis();
        let row: Option<(String, String, i64)> = self
            .conn
            .prepare_cached(
                "SELECT worker_id, scopes, credential_until FROM enrolments \
                 WHERE id = ?1 AND used_at IS NULL AND expires_at > ?2",
            )?
            .query_row(params![hex::encode(id), now], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let (worker, scopes, until) = row.ok_or(TrustError::CodeUnusable)?;
        if uuid::Uuid::parse_str(device).is_err() {
            return Err(TrustError::Malformed {
                what: "a device id",
            }
            .into());
        }
        if self.registry_credential(device)?.is_some() {
            return Err(TrustError::Refused(crate::refusal::Rule::AlreadyEnrolled).into());
        }
        let (worker, role) = if worker.is_empty() {
            (None, None)
        } else {
            let role = self.get::<Worker>(&worker)?.role;
            (Some(worker), Some(role))
        };
        let credential = Credential {
            station,
            device: device.to_string(),
            signing_key,
            noise_key,
            actor: crate::trust::actor_for(&signing_key),
            worker,
            role,
            scopes: serde_json::from_str(&scopes).map_err(|_| corrupt("enrolments.scopes"))?,
            issued_at: now,
            expires_at: until,
        };
        let signed = station_key.sign_credential(&credential)?;
        self.batch(|b| {
            let used = b.tx.prepare_cached(
                "UPDATE enrolments SET used_at = ?2, device_id = ?3 WHERE id = ?1 AND used_at IS NULL")?
.execute(
                params![hex::encode(id), now, device],
            )?;
            if used != 1 {
                return Err(TrustError::CodeUnusable.into());
            }
            insert_entry(&b.tx, device, "credential", now, &signed)
        })?;
        Ok(signed)
    }

    /// A new device takes the credential the station issued: pins the
    /// station key and adopts the station.
    pub(crate) fn accept_credential(
        &mut self,
        station_public: [u8; 32],
        signed: &Signed,
    ) -> Result<Credential, StoreError> {
        let credential = signed.credential(&station_public)?;
        if credential.device != self.device.device_id
            || credential.signing_key != self.keys.signing_public()
            || credential.noise_key != self.keys.noise_public()
        {
            return Err(
                TrustError::Refused(crate::refusal::Rule::CredentialForAnotherDevice).into(),
            );
        }
        if let Some(pinned) = self.devices().station_public()? {
            if pinned != station_public {
                return Err(TrustError::BadSignature {
                    what: "the station key",
                }
                .into());
            }
        }
        self.replica_mut().adopt_station(&credential.station)?;
        self.batch(|b| {
            b.set_meta("station_key", &hex::encode(station_public))?;
            b.set_meta(
                "credential",
                &hex::encode(postcard::to_stdvec(signed).unwrap_or_default()),
            )?;
            insert_entry(
                &b.tx,
                &credential.device,
                "credential",
                credential.issued_at,
                signed,
            )
        })?;
        Ok(credential)
    }

    /// The X25519 keys a bundle of `scopes` is sealed to: this device's,
    /// every station device's, and every other enrolled device's whose
    /// credential is current, unrevoked, and grants all of `scopes`.
    pub(crate) fn bundle_recipients(&self, scopes: &[String]) -> Result<Vec<[u8; 32]>, StoreError> {
        let station = self
            .devices()
            .station_public()?
            .ok_or(TrustError::NotEnrolled)?;
        let now = now_millis();
        let mut out = vec![self.keys.noise_public()];
        for (device, signed) in self.registry_of_kind("credential")? {
            let Ok(c) = self.checked_credential(&signed, &station) else {
                continue;
            };
            if c.expires_at < now || self.devices().is_revoked(&device)? {
                continue;
            }
            if c.is_station() || scopes.iter().all(|s| c.grants(s)) {
                out.push(c.noise_key);
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The Noise key, device id and credential of the device a session is
    /// likely to reach, so the initiator can open with its proof and Hello
    /// at once (Noise IK):
    /// `device` if named, else the station laptop (the earliest station
    /// device other than this one). Only a current, unrevoked credential
    /// counts; none means the session opens without a guess.
    pub(crate) fn likely_responder(
        &self,
        device: Option<&str>,
    ) -> Result<Option<([u8; 32], String, Signed)>, StoreError> {
        let Some(station) = self.devices().station_public()? else {
            return Ok(None);
        };
        let now = now_millis();
        let mut best: Option<(Millis, [u8; 32], String, Signed)> = None;
        for (id, signed) in self.registry_of_kind("credential")? {
            let Ok(c) = self.checked_credential(&signed, &station) else {
                continue;
            };
            let wanted = match device {
                Some(d) => id == d,
                None => c.is_station() && id != self.device.device_id,
            };
            if !wanted || c.expires_at < now || self.devices().is_revoked(&id)? {
                continue;
            }
            if best.as_ref().is_none_or(|(at, ..)| c.issued_at < *at) {
                best = Some((c.issued_at, c.noise_key, id, signed));
            }
        }
        Ok(best.map(|(_, key, device, signed)| (key, device, signed)))
    }

    /// The credential in the registry that a peer named by its
    /// fingerprint (`sync::channel::ProofNames::mine`), if held. It is
    /// checked like a credential sent in full (`Devices::verify_peer`).
    pub(crate) fn registry_credential_named(
        &self,
        fingerprint: &[u8; 8],
    ) -> Result<Option<Signed>, StoreError> {
        Ok(self
            .registry_of_kind("credential")?
            .into_iter()
            .map(|(_, s)| s)
            .find(|s| crate::sync::channel::credential_fingerprint(s) == *fingerprint))
    }

    /// The fingerprint of this device's credential that `peer` holds in its
    /// registry, as of their last completed session at protocol 4 or later
    /// (so it reads a proof that names it); `None` if not known.
    pub(crate) fn credential_held_by(&self, peer: &str) -> Result<Option<[u8; 8]>, StoreError> {
        self.meta_bytes(&format!("{HELD_BY}{peer}"))
    }

    /// Records (or, `None`, forgets) which of this device's credentials
    /// `peer` holds.
    pub(crate) fn set_credential_held_by(
        &self,
        peer: &str,
        fingerprint: Option<[u8; 8]>,
    ) -> Result<(), StoreError> {
        self.set_meta_bytes(&format!("{HELD_BY}{peer}"), fingerprint)
    }

    /// The fingerprint of this device's current credential when its own
    /// registry holds it too (a session's registry exchange then leaves it
    /// with the peer).
    pub(crate) fn own_credential_in_registry(&self) -> Result<Option<[u8; 8]>, StoreError> {
        let Some((own, _)) = self.devices().credential()? else {
            return Ok(None);
        };
        let fingerprint = crate::sync::channel::credential_fingerprint(&own);
        Ok(self
            .registry_credential(&self.device.device_id)?
            .filter(|r| crate::sync::channel::credential_fingerprint(r) == fingerprint)
            .map(|_| fingerprint))
    }

    fn registry_of_kind(&self, kind: &str) -> Result<Vec<(String, Signed)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT device_id, body, signature FROM registry WHERE kind = ?1 ORDER BY device_id",
        )?;
        let rows = stmt
            .query_map([kind], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Signed {
                        body: r.get(1)?,
                        signature: r.get(2)?,
                    },
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn registry_credential(&self, device: &str) -> Result<Option<Signed>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT body, signature FROM registry WHERE device_id = ?1 AND kind = 'credential'",
            )?
            .query_row([device], |r| {
                Ok(Signed {
                    body: r.get(0)?,
                    signature: r.get(1)?,
                })
            })
            .optional()?)
    }
}

fn insert_entry(
    tx: &rusqlite::Transaction<'_>,
    device: &str,
    kind: &str,
    at: Millis,
    signed: &Signed,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO registry (device_id, kind, issued_at, body, signature) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (device_id, kind) DO UPDATE SET issued_at = excluded.issued_at, \
         body = excluded.body, signature = excluded.signature")?
.execute(
        params![device, kind, at, signed.body, signed.signature],
    )?;
    Ok(())
}

impl Store {
    fn stored_head(
        &self,
        device: &str,
    ) -> Result<Option<(i64, String, Option<String>)>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT seq, hash, finding FROM audit_heads WHERE device_id = ?1")?
            .query_row([device], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?)
    }

    /// Whether this device's chain lost or rewrote the head it last signed.
    fn own_head_fault(&self) -> Result<Option<String>, StoreError> {
        let Some((seq, hash, _)) = self.stored_head(&self.device.device_id)? else {
            return Ok(None);
        };
        if seq == 0 {
            return Ok(None);
        }
        Ok(match audit::hash_at(&self.conn, seq)? {
            None => Some(format!(
                "this device's audit log is shorter than the head it signed (row {seq}): rows were deleted from the end"
            )),
            Some(h) if h != hash => Some(format!(
                "this device's audit log differs at row {seq} from the head it signed: the chain was rewritten"
            )),
            Some(_) => None,
        })
    }
}

impl<S: std::ops::Deref<Target = Store>> super::Devices<S> {
    /// The station's public key this device trusts, once it has one.
    pub fn station_public(&self) -> Result<Option<[u8; 32]>, StoreError> {
        match self.store.meta("station_key")? {
            Some(text) => Ok(Some(
                hex::decode(text)
                    .ok()
                    .and_then(|b| to_array(&b))
                    .ok_or_else(|| corrupt("meta.station_key"))?,
            )),
            None => Ok(None),
        }
    }

    /// This device's credential, signed and decoded.
    pub fn credential(&self) -> Result<Option<(Signed, Credential)>, StoreError> {
        // Every write asks (who does this device write as?): the signature
        // is checked once per stored form, not per call.
        let source = (
            self.store.meta("credential")?,
            self.store
                .registry_credential(&self.store.device.device_id)?,
            self.station_public()?,
        );
        if let Some(checked) = self.store.own_credential.get(&source) {
            return Ok(checked);
        }
        let (Some(text), renewal, Some(station)) = &source else {
            return Ok(None);
        };
        let stored: Signed = hex::decode(text)
            .ok()
            .and_then(|b| postcard::from_bytes(&b).ok())
            .ok_or_else(|| corrupt("meta.credential"))?;
        // The newest renewal the registry holds for this device wins.
        let signed = renewal.clone().unwrap_or(stored);
        let credential = self.store.checked_credential(&signed, station)?;
        let checked = Some((signed, credential));
        self.store
            .own_credential
            .put(source.clone(), checked.clone());
        Ok(checked)
    }

    /// The scopes a worker's device gets unless told otherwise: the station
    /// scope; every grid for a station admin or dispatcher, else the
    /// worker's own grid and the grids whose rosters name them; the main
    /// case team for counselors, clinicians and social workers.
    pub fn default_scopes(&self, worker: &Worker) -> Result<Vec<String>, StoreError> {
        let mut scopes = vec!["station".to_string()];
        if matches!(worker.role, Role::StationAdmin | Role::Dispatcher) {
            scopes.push("grid:*".into());
        } else {
            let station = self.store.station()?;
            for grid in station.grids.keys() {
                let gid = GridId(grid.clone());
                let mine = worker.grid_id.as_ref() == Some(&gid)
                    || self
                        .store
                        .people()
                        .roster_of(&gid)
                        .map(|r| r.assignments.contains_key(worker.id.as_str()))
                        .unwrap_or(false);
                if mine {
                    scopes.push(format!("grid:{grid}"));
                }
            }
        }
        if crate::trust::is_case_team(Some(worker.role)) {
            scopes.push(format!("case:{}", crate::model::DEFAULT_CASE_TEAM));
        }
        Ok(scopes)
    }

    /// Every device in the registry.
    pub fn list(&self) -> Result<Vec<DeviceRow>, StoreError> {
        let station = self.station_public()?.ok_or(TrustError::NotEnrolled)?;
        let mut out = Vec::new();
        for (device, signed) in self.store.registry_of_kind("credential")? {
            let c = self.store.checked_credential(&signed, &station)?;
            out.push(DeviceRow {
                revoked: self.is_revoked(&device)?,
                device_id: device,
                worker_id: c.worker,
                role: c.role,
                scopes: c.scopes,
                issued_at: c.issued_at,
                expires_at: c.expires_at,
            });
        }
        Ok(out)
    }

    /// Whether the registry holds a revocation of `device`.
    pub fn is_revoked(&self, device: &str) -> Result<bool, StoreError> {
        Ok(self
            .store
            .conn
            .prepare_cached("SELECT 1 FROM registry WHERE device_id = ?1 AND kind = 'revocation'")?
            .query_row([device], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Checks a peer's credential: signed by this station's key, for this
    /// station, bound to the Noise key the peer proved in the handshake,
    /// not expired, not revoked.
    pub fn verify_peer(
        &self,
        signed: &Signed,
        proven_noise_key: &[u8],
    ) -> Result<Credential, StoreError> {
        let station = self.station_public()?.ok_or(TrustError::NotEnrolled)?;
        let mut c = self.store.checked_credential(signed, &station)?;
        // A newer credential of the same device (a renewal that changed
        // its role or narrowed its scopes) is what counts, whichever copy
        // the peer presents.
        if let Some(newer) = self.store.registry_credential(&c.device)? {
            let newer = self.store.checked_credential(&newer, &station)?;
            if newer.issued_at > c.issued_at && newer.noise_key == c.noise_key {
                c = newer;
            }
        }
        if Some(&c.station) != self.store.replica().station_id()?.as_ref() {
            return Err(TrustError::BadSignature {
                what: "the peer's credential",
            }
            .into());
        }
        if c.noise_key.as_slice() != proven_noise_key {
            return Err(TrustError::Refused(crate::refusal::Rule::PeerCredentialMismatch).into());
        }
        if c.expires_at < now_millis() {
            return Err(TrustError::Expired { device: c.device }.into());
        }
        if self.is_revoked(&c.device)? {
            return Err(TrustError::Revoked { device: c.device }.into());
        }
        Ok(c)
    }

    /// Every registry entry: (is a revocation, signed record).
    pub fn registry_entries(&self) -> Result<Vec<(bool, Signed)>, StoreError> {
        let mut out: Vec<(bool, Signed)> = self
            .store
            .registry_of_kind("credential")?
            .into_iter()
            .map(|(_, s)| (false, s))
            .collect();
        out.extend(
            self.store
                .registry_of_kind("revocation")?
                .into_iter()
                .map(|(_, s)| (true, s)),
        );
        Ok(out)
    }

    /// A digest of the registry: equal digests, equal registries.
    pub fn registry_digest(&self) -> Result<[u8; 16], StoreError> {
        let mut h = Sha256::new();
        for (revocation, s) in self.registry_entries()? {
            h.update([u8::from(revocation)]);
            h.update((s.body.len() as u32).to_be_bytes());
            h.update(&s.body);
            h.update(&s.signature);
        }
        let d = h.finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&d[..16]);
        Ok(out)
    }

    /// This device's audit head, signed, if its chain changed since the
    /// head it last signed (grew, or — tampered with — shrank or differs).
    pub fn audit_head_to_send(&self) -> Result<Option<AuditHead>, StoreError> {
        let (seq, hash) = audit::last(&self.store.conn)?;
        let signed = self
            .store
            .stored_head(&self.store.device.device_id)?
            .map(|(s, h, _)| (s, h));
        if seq == 0 || signed == Some((seq, hash)) {
            return Ok(None);
        }
        self.sign_audit_head().map(Some)
    }

    /// Signs this device's audit head, to send to a peer. The newest head
    /// this device signed is remembered: its chain must always contain it,
    /// or `check` reports rows deleted from the end or a rewritten chain.
    pub fn sign_audit_head(&self) -> Result<AuditHead, StoreError> {
        let (seq, hash) = audit::last(&self.store.conn)?;
        let device = &self.store.device.device_id;
        let signature = self
            .store
            .keys
            .sign(&audit::head_message(device, seq, &hash))
            .to_vec();
        // Remember it only while the chain still holds the head signed
        // before: otherwise the old head is the evidence and stays.
        let intact = self.store.own_head_fault()?.is_none();
        if intact {
            self.store
                .conn
                .prepare_cached(
                    "INSERT INTO audit_heads (device_id, seq, hash, signature, received_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (device_id) DO UPDATE SET \
                 seq = excluded.seq, hash = excluded.hash, signature = excluded.signature, \
                 received_at = excluded.received_at",
                )?
                .execute(params![device, seq, hash, signature, now_millis()])?;
        }
        Ok(AuditHead {
            seq,
            hash,
            signature,
        })
    }

    /// Records a peer's signed audit head, checked against its credential's
    /// signing key. A head shorter than one the peer signed before, or
    /// different at the same row, is kept as a finding (and the older head
    /// as the evidence); returns the finding, if any.
    pub fn record_audit_head(
        &self,
        peer: &Credential,
        head: &AuditHead,
    ) -> Result<Option<String>, StoreError> {
        let message = audit::head_message(&peer.device, head.seq, &head.hash);
        if !crate::trust::verify_device_signature(&peer.signing_key, &message, &head.signature) {
            return Err(TrustError::BadSignature {
                what: "the peer's audit head",
            }
            .into());
        }
        let finding = match self.store.stored_head(&peer.device)? {
            Some((seq, _, _)) if head.seq < seq => Some(format!(
                "device {}'s audit log is shorter (row {}) than a head it signed (row {seq}): rows were deleted from the end",
                peer.device, head.seq
            )),
            Some((seq, hash, _)) if head.seq == seq && head.hash != hash => Some(format!(
                "device {}'s audit log differs at row {seq} from a head it signed: the chain was rewritten",
                peer.device
            )),
            _ => None,
        };
        match &finding {
            Some(f) => {
                self.store
                    .conn
                    .prepare_cached("UPDATE audit_heads SET finding = ?2 WHERE device_id = ?1")?
                    .execute(params![peer.device, f])?;
            }
            None => {
                self.store
                    .conn
                    .prepare_cached(
                        "INSERT INTO audit_heads (device_id, seq, hash, signature, received_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (device_id) DO UPDATE SET \
                     seq = excluded.seq, hash = excluded.hash, signature = excluded.signature, \
                     received_at = excluded.received_at",
                    )?
                    .execute(params![
                        peer.device,
                        head.seq,
                        head.hash,
                        head.signature,
                        now_millis()
                    ])?;
            }
        }
        Ok(finding)
    }

    /// What audit anchoring found: this device's chain against the head it
    /// last signed, and every finding about a peer's chain.
    pub fn audit_anchor_faults(&self) -> Result<Vec<String>, StoreError> {
        let mut out: Vec<String> = self.store.own_head_fault()?.into_iter().collect();
        let mut stmt = self.store.conn.prepare_cached(
            "SELECT finding FROM audit_heads WHERE finding IS NOT NULL ORDER BY device_id",
        )?;
        for f in stmt.query_map([], |r| r.get::<_, String>(0))? {
            out.push(f?);
        }
        Ok(out)
    }
}

impl super::Devices<&mut Store> {
    /// Starts enrolling a device for `worker`: a one-time code, usable for
    /// `code_minutes`. Station admins only, on the station laptop.
    pub fn enrol_device(
        &mut self,
        author: &Author,
        worker: &WorkerId,
        options: EnrolOptions,
    ) -> Result<EnrolCode, StoreError> {
        let w = self.store.get::<Worker>(worker.as_str())?;
        if !w.active {
            return Err(TrustError::Refused(crate::refusal::Rule::WorkerNotActive).into());
        }
        self.store.enrol(author, Some(&w), options)
    }

    /// Starts enrolling a second station laptop: a device that holds the
    /// station's own identity (no worker; the station admin's authority,
    /// every scope unless `options.scopes` narrows them), for a coordinator
    /// working from another desk. Station admins only.
    pub fn enrol_station_device(
        &mut self,
        author: &Author,
        options: EnrolOptions,
    ) -> Result<EnrolCode, StoreError> {
        self.store.enrol(author, None, options)
    }

    /// Revokes a device: every peer that learns of it refuses the device
    /// and its later changes. Station admins only, on the station laptop.
    pub fn revoke_device(&mut self, author: &Author, device: &str) -> Result<(), StoreError> {
        let key = self.store.station_key()?;
        let station = self
            .store
            .replica()
            .station_id()?
            .ok_or(StoreError::NotInitialised)?;
        if self.store.registry_credential(device)?.is_none() {
            return Err(StoreError::NotFound {
                kind: "device",
                id: device.to_string(),
            });
        }
        if device == self.store.device.device_id {
            return Err(
                TrustError::Refused(crate::refusal::Rule::StationCannotRevokeItself).into(),
            );
        }
        let now = now_millis();
        let signed = key.sign_revocation(&Revocation {
            station,
            device: device.to_string(),
            at: now,
        });
        self.store.batch(|b| {
            b.require(author, Act::ManageDevices)?;
            insert_entry(&b.tx, device, "revocation", now, &signed)
        })
    }

    /// Renews a device's credential for `days` more days (same keys, role
    /// and scopes as now held by the worker's profile). Station admins only.
    pub fn renew_device(
        &mut self,
        author: &Author,
        device: &str,
        days: u32,
    ) -> Result<Millis, StoreError> {
        let key = self.store.station_key()?;
        let station = self.station_public()?.ok_or(TrustError::NotEnrolled)?;
        let old = self
            .store
            .registry_credential(device)?
            .ok_or_else(|| StoreError::NotFound {
                kind: "device",
                id: device.to_string(),
            })?
            .credential(&station)?;
        if self.is_revoked(device)? {
            return Err(TrustError::Revoked {
                device: device.to_string(),
            }
            .into());
        }
        check_days(days)?;
        let now = now_millis();
        let mut renewed = old.clone();
        if let Some(w) = &old.worker {
            // A renewal carries the worker's current role.
            renewed.role = Some(self.store.get::<Worker>(w)?.role);
            if !crate::trust::is_case_team(renewed.role) {
                renewed.scopes.retain(|s| !s.starts_with("case:"));
            }
        }
        renewed.issued_at = now.max(old.issued_at + 1);
        renewed.expires_at = now + i64::from(days) * crate::localtime::DAY;
        let signed = key.sign_credential(&renewed)?;
        self.store.batch(|b| {
            b.require(author, Act::ManageDevices)?;
            insert_entry(&b.tx, device, "credential", renewed.issued_at, &signed)
        })?;
        Ok(renewed.expires_at)
    }

    /// Merges registry entries a peer sent. Each must be signed by this
    /// station's key; a credential replaces an older one of the same device
    /// (a renewal); a revocation is forever. Returns how many were new;
    /// anything unsigned or foreign is an error and nothing is written.
    pub fn merge_registry(&mut self, entries: &[(bool, Signed)]) -> Result<usize, StoreError> {
        let station = self.station_public()?.ok_or(TrustError::NotEnrolled)?;
        let station_id = self.store.replica().station_id()?.unwrap_or_default();
        let mut checked = Vec::new();
        for (revocation, signed) in entries {
            let (device, at, who) = if *revocation {
                let r = signed.revocation(&station)?;
                (r.device, r.at, r.station)
            } else {
                let c = self.store.checked_credential(signed, &station)?;
                (c.device, c.issued_at, c.station)
            };
            if who != station_id {
                return Err(TrustError::BadSignature {
                    what: "a registry entry",
                }
                .into());
            }
            checked.push((device, *revocation, at, signed));
        }
        self.store.batch(|b| {
            let mut added = 0;
            for (device, revocation, at, signed) in &checked {
                let kind = if *revocation {
                    "revocation"
                } else {
                    "credential"
                };
                let held: Option<i64> =
                    b.tx.prepare_cached(
                        "SELECT issued_at FROM registry WHERE device_id = ?1 AND kind = ?2",
                    )?
                    .query_row(params![device, kind], |r| r.get(0))
                    .optional()?;
                if held.is_none_or(|h| h < *at) && !(*revocation && held.is_some()) {
                    insert_entry(&b.tx, device, kind, *at, signed)?;
                    added += 1;
                }
            }
            Ok(added)
        })
    }
}
