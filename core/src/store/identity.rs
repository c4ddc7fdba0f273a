//! Identity files: a worker's own signing identity, for signing on a shared
//! laptop (a counselor reviewing at the station's desk).
//!
//! The station's own identity records for whoever stands at the desk, but a
//! professional's sign-off (a review, closing a crisis) must be signed by
//! that professional. An identity is a device credential whose keys live in
//! a file instead of a store: Ed25519 and X25519 keys made for the worker,
//! a credential the station signs (worker, role, no scopes: it never syncs)
//! and enters in the registry so every device can verify what it signs. The
//! file is `ANXIDNT1`-tagged and age-encrypted with the worker's passphrase
//! (scrypt). `Store::sign_as` makes every later write of that store (in
//! this process) go out under the identity's actor, keys and principal.

use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

use super::{DeviceIdentity, Store, StoreError};
use crate::access::{Act, Principal};
use crate::doc::Author;
use crate::model::*;
use crate::trust::{actor_for, Credential, DeviceKeys, Signed, TrustError};

const MAGIC: &[u8; 8] = b"ANXIDNT1";

#[derive(Serialize, Deserialize)]
struct IdentityFile {
    keys: Vec<u8>,
    credential: Signed,
}

/// Who writes when an identity is in use.
pub(crate) struct Signer {
    pub device: DeviceIdentity,
    pub keys: DeviceKeys,
    pub principal: Principal,
}

fn locked() -> StoreError {
    TrustError::Refused(crate::refusal::Rule::WrongPassphrase).into()
}

impl Store {
    /// Issues an identity file for `worker`, valid for `days`, encrypted
    /// with `passphrase` (which the worker chooses and keeps). Station
    /// admins only. The credential goes into the registry, so it reaches
    /// every device that will check what the identity signs.
    pub fn issue_identity(
        &mut self,
        author: &Author,
        worker: &WorkerId,
        days: u32,
        passphrase: &str,
    ) -> Result<Vec<u8>, StoreError> {
        if passphrase.chars().count() < 8 {
            return Err(ValidationError::new(
                "passphrase",
                Violation::Inconsistent("a passphrase has at least 8 characters"),
            )
            .into());
        }
        super::trust::check_days(days)?;
        let w = self.get::<Worker>(worker.as_str())?;
        if !w.active {
            return Err(TrustError::Refused(crate::refusal::Rule::WorkerNotActive).into());
        }
        let station = self
            .replica()
            .station_id()?
            .ok_or(StoreError::NotInitialised)?;
        let keys = DeviceKeys::generate();
        let now = now_millis();
        let credential = Credential {
            station,
            device: uuid::Uuid::new_v4().to_string(),
            signing_key: keys.signing_public(),
            noise_key: keys.noise_public(),
            actor: actor_for(&keys.signing_public()),
            worker: Some(w.id.to_string()),
            role: Some(w.role),
            scopes: Vec::new(),
            issued_at: now,
            expires_at: now + i64::from(days) * 24 * 3_600_000,
        };
        let signed = self.station_key()?.sign_credential(&credential)?;
        let device = credential.device.clone();
        self.batch(|b| {
            b.require(author, Act::ManageDevices)?;
            b.add_registry_credential(&device, now, &signed)
        })?;
        let mut plain = MAGIC.to_vec();
        plain.extend(
            postcard::to_stdvec(&IdentityFile {
                keys: keys.secret_bytes(),
                credential: signed,
            })
            .map_err(|_| TrustError::Malformed {
                what: "an identity",
            })?,
        );
        let mut recipient = age::scrypt::Recipient::new(passphrase.to_owned().into());
        if cfg!(test) {
            // Unit tests open many identities; age picks about a second's
            // work otherwise, which is what a real file gets.
            recipient.set_work_factor(10);
        }
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(|_| TrustError::Malformed {
                    what: "an identity",
                })?;
        let mut out = Vec::new();
        let io = |_| {
            StoreError::from(TrustError::Malformed {
                what: "an identity",
            })
        };
        let mut writer = encryptor.wrap_output(&mut out).map_err(io)?;
        writer.write_all(&plain).map_err(io)?;
        writer.finish().map_err(io)?;
        Ok(out)
    }

    /// Signs every later write of this store with the identity in `file`
    /// (opened with `passphrase`), as its worker: checked against the
    /// pinned station key, expiry and revocations. Returns the worker.
    pub fn sign_as(&mut self, file: &[u8], passphrase: &str) -> Result<WorkerId, StoreError> {
        let decryptor = age::Decryptor::new_buffered(file).map_err(|_| locked())?;
        let identity = age::scrypt::Identity::new(passphrase.to_owned().into());
        let mut reader = decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .map_err(|_| locked())?;
        let mut plain = Vec::new();
        reader.read_to_end(&mut plain).map_err(|_| locked())?;
        let body = plain.strip_prefix(MAGIC.as_slice()).ok_or(locked())?;
        let parsed: IdentityFile = postcard::from_bytes(body).map_err(|_| locked())?;
        let keys = DeviceKeys::from_secret_bytes(&parsed.keys).ok_or(locked())?;
        let station = self
            .devices()
            .station_public()?
            .ok_or(TrustError::NotEnrolled)?;
        let c = parsed.credential.credential(&station)?;
        if Some(&c.station) != self.replica().station_id()?.as_ref() {
            return Err(TrustError::BadSignature {
                what: "the identity's credential",
            }
            .into());
        }
        if c.signing_key != keys.signing_public() || !crate::trust::is_identity(&c) {
            return Err(TrustError::Refused(crate::refusal::Rule::IdentityMismatch).into());
        }
        if c.expires_at < now_millis() {
            return Err(TrustError::Expired { device: c.device }.into());
        }
        if self.devices().is_revoked(&c.device)? {
            return Err(TrustError::Revoked { device: c.device }.into());
        }
        let Some(worker) = c.worker.clone() else {
            return Err(TrustError::Refused(crate::refusal::Rule::IdentityNeedsWorker).into());
        };
        // A device that has not met this identity yet learns it here.
        let _ = self
            .devices_mut()
            .merge_registry(&[(false, parsed.credential.clone())])?;
        // Its own actor on this device (see `trust::identity_actor`).
        let actor_hex = crate::trust::identity_actor(&c.signing_key, &self.device.device_id);
        let actor = automerge::ActorId::try_from(actor_hex.as_str()).map_err(|_| {
            TrustError::Malformed {
                what: "the identity's actor",
            }
        })?;
        self.signer = Some(Signer {
            device: DeviceIdentity {
                device_id: c.device.clone(),
                actor,
            },
            keys,
            principal: Principal::of(&c),
        });
        Ok(WorkerId(worker))
    }

    /// Stops signing with an identity: later writes are this device's own.
    pub fn sign_as_device(&mut self) {
        self.signer = None;
    }
}
