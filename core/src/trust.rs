//! Trust: the keys and signed records that say which devices belong to a
//! station and what each may hold.
//!
//! Owns: device keys (an Ed25519 signing key and an X25519 Noise static
//! key, made on the device and never leaving it), the station key (Ed25519,
//! made by `init`, the root of trust: it signs credentials and revocations
//! and nothing else), credentials and revocations (records signed by the
//! station key, held by every device in its registry so any device can
//! check a peer it meets), enrolment codes, and which scopes a credential
//! grants. The cryptography is ed25519-dalek's and snow's; nothing here is
//! hand-rolled beyond framing bytes to be signed.
//!
//! Every signed body starts with a domain tag naming what it is, so a
//! credential's signature can never be replayed as a revocation's.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{Millis, Role, Scope};

/// The Noise protocol a sync session runs: mutual authentication with the
/// device static keys, which the credentials bind to workers.
pub const NOISE_SESSION: &str = "Noise_XX_25519_ChaChaPoly_SHA256";
/// The Noise protocol of a session whose initiator already knows the
/// responder's static key (from the registry): the initiator's proof and
/// Hello ride in the first message, so an unchanged exchange is one round
/// trip. A responder that is not the device guessed asks for a retry in XX.
pub const NOISE_SESSION_KNOWN: &str = "Noise_IK_25519_ChaChaPoly_SHA256";
/// The Noise protocol of an enrolment: the same, plus a pre-shared key
/// derived from the one-time code, which proves the new device saw it.
pub const NOISE_ENROL: &str = "Noise_XXpsk3_25519_ChaChaPoly_SHA256";

const CREDENTIAL_TAG: &[u8] = b"anxin/credential/1";
const REVOCATION_TAG: &[u8] = b"anxin/revocation/1";
const ENROL_PSK_TAG: &[u8] = b"anxin/enrol-psk/1";
const ATTEST_TAG: &[u8] = b"anxin/attest/1";

/// Why a key, a record or a peer is not trusted. Messages carry no
/// personal data (device and worker ids at most).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// This device has no credential of its station.
    #[error("this device is not enrolled: enrol it with a code from the station (`anxin device enroll`)")]
    NotEnrolled,
    /// A credential was revoked by the station.
    #[error("device {device} was revoked by the station")]
    Revoked {
        /// The revoked device.
        device: String,
    },
    /// A credential has expired.
    #[error(
        "the credential of device {device} expired: renew it at the station (`anxin device renew`)"
    )]
    Expired {
        /// The device whose credential expired.
        device: String,
    },
    /// A record is signed by another station's key, or badly.
    #[error("{what} is not signed by this station")]
    BadSignature {
        /// What was checked.
        what: &'static str,
    },
    /// A record cannot be decoded.
    #[error("{what} cannot be decoded")]
    Malformed {
        /// What was decoded.
        what: &'static str,
    },
    /// The enrolment code is not one: wrong length, characters or version.
    #[error("this is not an Anxin enrolment code")]
    BadCode,
    /// The code is unknown to the station, was used already, or expired.
    #[error(
        "the enrolment code is unknown, already used or expired: ask the station for a new one"
    )]
    CodeUnusable,
    /// A rule of the trust model refused it (a credential may not grant
    /// what was asked, the peer is not who it must be…).
    #[error("{0}")]
    Refused(crate::refusal::Rule),
}

/// This device's own keys. The secrets never leave the store.
pub struct DeviceKeys {
    signing: SigningKey,
    noise_secret: [u8; 32],
    noise_public: [u8; 32],
}

impl std::fmt::Debug for DeviceKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secrets.
        f.debug_struct("DeviceKeys")
            .field("signing_key", &hex::encode(self.signing_public()))
            .field("noise_key", &hex::encode(self.noise_public))
            .finish()
    }
}

impl DeviceKeys {
    /// New random keys.
    pub fn generate() -> Self {
        let signing = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        // snow makes the X25519 pair (no curve arithmetic here).
        let builder = snow::Builder::new(noise_params(NOISE_SESSION));
        let (noise_secret, noise_public) = match builder.generate_keypair() {
            Ok(k) => (to32(&k.private), to32(&k.public)),
            // The resolver has X25519 built in; failing to draw random
            // bytes leaves all-zero keys that no peer accepts.
            Err(_) => ([0u8; 32], [0u8; 32]),
        };
        DeviceKeys {
            signing,
            noise_secret,
            noise_public,
        }
    }

    /// The 96 secret bytes (signing key, Noise private key, Noise public
    /// key), to store.
    pub(crate) fn secret_bytes(&self) -> Vec<u8> {
        let mut out = self.signing.to_bytes().to_vec();
        out.extend_from_slice(&self.noise_secret);
        out.extend_from_slice(&self.noise_public);
        out
    }

    /// Keys from their 96 stored bytes.
    pub(crate) fn from_secret_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 96 {
            return None;
        }
        Some(DeviceKeys {
            signing: SigningKey::from_bytes(&to32(&bytes[..32])),
            noise_secret: to32(&bytes[32..64]),
            noise_public: to32(&bytes[64..]),
        })
    }

    /// The public signing key.
    pub fn signing_public(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The public Noise static key.
    pub fn noise_public(&self) -> [u8; 32] {
        self.noise_public
    }

    /// The private Noise static key, for the handshake.
    pub(crate) fn noise_secret(&self) -> &[u8; 32] {
        &self.noise_secret
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// The automerge actor id of this device: derived from its signing key,
    /// so every change names the key that can vouch for it.
    pub fn actor_hex(&self) -> String {
        actor_for(&self.signing_public())
    }
}

/// A device's word that a change it wrote into a document is its own.
///
/// Automerge changes form a hash chain, and each of an actor's changes
/// depends on its previous one, so vouching for the actor's change `seq`
/// vouches for all its earlier changes in the document: one attestation per
/// (document, device) suffices, replaced as the device writes more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    /// The automerge actor id the changes were written with.
    pub actor: Vec<u8>,
    /// The sequence number of the newest change vouched for.
    pub seq: u64,
    /// The device's Ed25519 signature over the document id and that
    /// change's hash (see [`attestation_message`]).
    pub signature: Vec<u8>,
}

/// The bytes an attestation signs: a domain tag, the document id and the
/// change's hash (which pins its content and, through its dependencies, all
/// history before it).
pub fn attestation_message(doc_id: &str, change_hash: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ATTEST_TAG.len() + 4 + doc_id.len() + 32);
    out.extend_from_slice(ATTEST_TAG);
    out.extend_from_slice(&(doc_id.len() as u32).to_le_bytes());
    out.extend_from_slice(doc_id.as_bytes());
    out.extend_from_slice(change_hash);
    out
}

impl DeviceKeys {
    /// Attests this device's change `seq` (hash `change_hash`), written as
    /// `actor`, in document `doc_id`.
    pub fn attest(
        &self,
        doc_id: &str,
        actor: &[u8],
        seq: u64,
        change_hash: &[u8; 32],
    ) -> Attestation {
        Attestation {
            actor: actor.to_vec(),
            seq,
            signature: self
                .sign(&attestation_message(doc_id, change_hash))
                .to_vec(),
        }
    }
}

/// Whether `signature` is `signing_key`'s signature of `message`.
pub fn verify_device_signature(signing_key: &[u8; 32], message: &[u8], signature: &[u8]) -> bool {
    let (Ok(key), Ok(sig)) = (
        VerifyingKey::from_bytes(signing_key),
        <[u8; 64]>::try_from(signature),
    ) else {
        return false;
    };
    key.verify_strict(message, &Signature::from_bytes(&sig))
        .is_ok()
}

/// The actor id (hex) a device with this signing key writes with.
pub fn actor_for(signing_public: &[u8; 32]) -> String {
    let d = Sha256::digest([b"anxin/actor/1".as_slice(), signing_public].concat());
    hex::encode(&d[..16])
}

/// The actor id (hex) an identity file writes with on the device
/// `host_device`: one per (identity, device), so a professional signing on
/// two laptops while they are apart never writes two different changes
/// with the same actor and sequence number (automerge refuses those).
pub fn identity_actor(signing_public: &[u8; 32], host_device: &str) -> String {
    let d = Sha256::digest(
        [
            b"anxin/identity-actor/1".as_slice(),
            signing_public,
            host_device.as_bytes(),
        ]
        .concat(),
    );
    hex::encode(&d[..16])
}

/// Whether a credential is an identity file's (a worker's, holding no
/// scope: it signs, it never syncs) rather than a device's.
pub fn is_identity(c: &Credential) -> bool {
    c.worker.is_some() && c.scopes.is_empty()
}

fn to32(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let n = bytes.len().min(32);
    out[..n].copy_from_slice(&bytes[..n]);
    out
}

/// Noise parameters by name; the names used are constants of this module.
pub(crate) fn noise_params(name: &str) -> snow::params::NoiseParams {
    name.parse()
        .unwrap_or_else(|_| unreachable!("constant Noise pattern {name} parses"))
}

/// The station's signing key (the root of trust). Only the station laptop
/// has it.
pub struct StationKey(SigningKey);

impl StationKey {
    /// A new random station key.
    pub fn generate() -> Self {
        StationKey(SigningKey::from_bytes(&rand::random::<[u8; 32]>()))
    }

    /// The key from its 32 stored secret bytes.
    pub(crate) fn from_secret_bytes(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(StationKey(SigningKey::from_bytes(&arr)))
    }

    /// The 32 secret bytes, to store.
    pub(crate) fn secret_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public key every device pins.
    pub fn public(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// Signs a credential. Ids that are not UUIDs (or an actor that is not
    /// 16 bytes of hex) cannot be encoded and are refused.
    pub fn sign_credential(&self, credential: &Credential) -> Result<Signed, TrustError> {
        let body =
            postcard::to_stdvec(&CredentialWire::from_credential(credential)?).map_err(|_| {
                TrustError::Malformed {
                    what: "a credential",
                }
            })?;
        let signature = self
            .0
            .sign(&tagged(CREDENTIAL_TAG, &body))
            .to_bytes()
            .to_vec();
        Ok(Signed { body, signature })
    }

    /// Signs a revocation.
    pub fn sign_revocation(&self, revocation: &Revocation) -> Signed {
        let body = postcard::to_stdvec(revocation).unwrap_or_default();
        let signature = self
            .0
            .sign(&tagged(REVOCATION_TAG, &body))
            .to_bytes()
            .to_vec();
        Signed { body, signature }
    }
}

/// The first 8 bytes of SHA-256 of a station's public key: what an
/// enrolment code carries to tell the real station from an impostor.
pub fn fingerprint(station_public: &[u8; 32]) -> [u8; 8] {
    let d = Sha256::digest(station_public);
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    out
}

fn tagged(tag: &[u8], body: &[u8]) -> Vec<u8> {
    [tag, body].concat()
}

/// A record and the station's signature over it (the bytes signed are kept
/// as received, never re-encoded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    /// The encoded record.
    pub body: Vec<u8>,
    /// The Ed25519 signature (64 bytes).
    pub signature: Vec<u8>,
}

impl Signed {
    fn verify(
        &self,
        tag: &[u8],
        station_public: &[u8; 32],
        what: &'static str,
    ) -> Result<(), TrustError> {
        let key = VerifyingKey::from_bytes(station_public)
            .map_err(|_| TrustError::BadSignature { what })?;
        let sig: [u8; 64] = self
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| TrustError::BadSignature { what })?;
        key.verify(&tagged(tag, &self.body), &Signature::from_bytes(&sig))
            .map_err(|_| TrustError::BadSignature { what })
    }

    /// The credential inside, if the station signed it.
    pub fn credential(&self, station_public: &[u8; 32]) -> Result<Credential, TrustError> {
        self.verify(CREDENTIAL_TAG, station_public, "a credential")?;
        postcard::from_bytes::<CredentialWire>(&self.body)
            .map(CredentialWire::into_credential)
            .map_err(|_| TrustError::Malformed {
                what: "a credential",
            })
    }

    /// The revocation inside, if the station signed it.
    pub fn revocation(&self, station_public: &[u8; 32]) -> Result<Revocation, TrustError> {
        self.verify(REVOCATION_TAG, station_public, "a revocation")?;
        postcard::from_bytes(&self.body).map_err(|_| TrustError::Malformed {
            what: "a revocation",
        })
    }
}

/// What the station vouches for about one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// The station.
    pub station: String,
    /// The device.
    pub device: String,
    /// The device's public signing key.
    pub signing_key: [u8; 32],
    /// The device's public Noise static key.
    pub noise_key: [u8; 32],
    /// The automerge actor id (hex) the device writes with.
    pub actor: String,
    /// The worker the device belongs to; `None` for the station's own
    /// laptop.
    pub worker: Option<String>,
    /// The worker's role when the credential was issued; `None` for the
    /// station's own laptop.
    pub role: Option<Role>,
    /// The scopes granted: `station`, `grid:<id>`, `grid:*` (every grid),
    /// `case:<team>`.
    pub scopes: Vec<String>,
    /// When it was issued (a renewal is a newer credential).
    pub issued_at: Millis,
    /// When it stops being accepted.
    pub expires_at: Millis,
}

/// A credential as signed and sent: ids as their 16 bytes (every session
/// carries two credentials, so their size is the handshake's).
#[derive(Serialize, Deserialize)]
struct CredentialWire {
    station: uuid::Uuid,
    device: uuid::Uuid,
    signing_key: [u8; 32],
    noise_key: [u8; 32],
    actor: [u8; 16],
    worker: Option<uuid::Uuid>,
    role: Option<Role>,
    scopes: Vec<String>,
    issued_at: Millis,
    expires_at: Millis,
}

impl CredentialWire {
    fn from_credential(c: &Credential) -> Result<Self, TrustError> {
        let id = |text: &str| {
            uuid::Uuid::parse_str(text).map_err(|_| TrustError::Malformed {
                what: "an id in a credential",
            })
        };
        let actor = hex::decode(&c.actor)
            .ok()
            .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
            .ok_or(TrustError::Malformed {
                what: "an actor id in a credential",
            })?;
        Ok(CredentialWire {
            station: id(&c.station)?,
            device: id(&c.device)?,
            signing_key: c.signing_key,
            noise_key: c.noise_key,
            actor,
            worker: c.worker.as_deref().map(id).transpose()?,
            role: c.role,
            scopes: c.scopes.clone(),
            issued_at: c.issued_at,
            expires_at: c.expires_at,
        })
    }

    fn into_credential(self) -> Credential {
        Credential {
            station: self.station.to_string(),
            device: self.device.to_string(),
            signing_key: self.signing_key,
            noise_key: self.noise_key,
            actor: hex::encode(self.actor),
            worker: self.worker.map(|w| w.to_string()),
            role: self.role,
            scopes: self.scopes,
            issued_at: self.issued_at,
            expires_at: self.expires_at,
        }
    }
}

/// Roles whose devices may hold case files.
pub fn is_case_team(role: Option<Role>) -> bool {
    matches!(
        role,
        Some(Role::Counselor) | Some(Role::Clinician) | Some(Role::SocialWorker)
    )
}

impl Credential {
    /// Whether this credential lets its device hold `scope`. Case scopes
    /// need a case-team role (or the station itself) as well as the grant.
    pub fn grants(&self, scope: &str) -> bool {
        match Scope::from_key(scope) {
            Some(Scope::Station) => true,
            Some(Scope::Grid(_)) => self.scopes.iter().any(|s| s == scope || s == "grid:*"),
            Some(Scope::CaseTeam(_)) => {
                (self.worker.is_none() || is_case_team(self.role))
                    && self.scopes.iter().any(|s| s == scope || s == "case:*")
            }
            None => false,
        }
    }

    /// Whether the credential is the station laptop's own.
    pub fn is_station(&self) -> bool {
        self.worker.is_none()
    }
}

/// The station's word that a device is no longer trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// The station.
    pub station: String,
    /// The revoked device.
    pub device: String,
    /// When.
    pub at: Millis,
}

/// A one-time enrolment code: which station (by key fingerprint), which
/// pending enrolment, its secret, and where the station listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolCode {
    /// Fingerprint of the station's public key.
    pub fingerprint: [u8; 8],
    /// The pending enrolment's id.
    pub id: [u8; 8],
    /// The 128-bit one-time secret.
    pub secret: [u8; 16],
    /// The station's address, when the code names one.
    pub address: Option<String>,
}

const CODE_PREFIX: &str = "AX1";

impl EnrolCode {
    /// The code as text: `AX1` and 64 hex digits, then `@address` if known.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{CODE_PREFIX}{}{}{}",
            hex::encode(self.fingerprint),
            hex::encode(self.id),
            hex::encode(self.secret)
        )
        .to_uppercase();
        if let Some(a) = &self.address {
            s.push('@');
            s.push_str(a);
        }
        s
    }

    /// Parses a code as typed or scanned (case and surrounding spaces do
    /// not matter).
    pub fn parse(text: &str) -> Result<EnrolCode, TrustError> {
        let text = text.trim();
        let (code, address) = match text.split_once('@') {
            Some((c, a)) if !a.trim().is_empty() => (c, Some(a.trim().to_string())),
            Some(_) => return Err(TrustError::BadCode),
            None => (text, None),
        };
        let code: String = code
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let upper = code.to_ascii_uppercase();
        let digits = upper.strip_prefix(CODE_PREFIX).ok_or(TrustError::BadCode)?;
        if digits.len() != 64 || !digits.is_ascii() {
            return Err(TrustError::BadCode);
        }
        let bytes = hex::decode(digits).map_err(|_| TrustError::BadCode)?;
        let mut fingerprint = [0u8; 8];
        fingerprint.copy_from_slice(&bytes[..8]);
        let mut id = [0u8; 8];
        id.copy_from_slice(&bytes[8..16]);
        let mut secret = [0u8; 16];
        secret.copy_from_slice(&bytes[16..32]);
        Ok(EnrolCode {
            fingerprint,
            id,
            secret,
            address,
        })
    }

    /// The Noise pre-shared key this code proves.
    pub fn psk(&self) -> [u8; 32] {
        enrol_psk(&self.id, &self.secret)
    }
}

/// The pre-shared key of an enrolment, from its id and secret.
pub fn enrol_psk(id: &[u8; 8], secret: &[u8; 16]) -> [u8; 32] {
    let d = Sha256::digest([ENROL_PSK_TAG, id.as_slice(), secret.as_slice()].concat());
    d.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(keys: &DeviceKeys) -> Credential {
        Credential {
            station: uuid::Uuid::new_v4().to_string(),
            device: uuid::Uuid::new_v4().to_string(),
            signing_key: keys.signing_public(),
            noise_key: keys.noise_public(),
            actor: keys.actor_hex(),
            worker: Some(uuid::Uuid::new_v4().to_string()),
            role: Some(Role::Volunteer),
            scopes: vec!["station".into(), "grid:g".into()],
            issued_at: 1,
            expires_at: 2,
        }
    }

    #[test]
    fn a_credential_verifies_only_against_its_station_and_only_as_a_credential() {
        let station = StationKey::generate();
        let other = StationKey::generate();
        let keys = DeviceKeys::generate();
        let c = credential(&keys);
        let signed = station.sign_credential(&c).unwrap();
        assert_eq!(signed.credential(&station.public()).unwrap(), c);
        // Ids are carried as their 16 bytes: an id that is not a UUID is
        // refused, never signed.
        let mut bad = c.clone();
        bad.device = "设备".into();
        assert!(station.sign_credential(&bad).is_err());
        assert!(matches!(
            signed.credential(&other.public()),
            Err(TrustError::BadSignature { .. })
        ));
        // The same signature is no revocation.
        assert!(signed.revocation(&station.public()).is_err());
        let mut forged = signed.clone();
        forged.body[3] ^= 1;
        assert!(forged.credential(&station.public()).is_err());
    }

    #[test]
    fn device_keys_round_trip_and_the_noise_key_is_real() {
        let keys = DeviceKeys::generate();
        let again = DeviceKeys::from_secret_bytes(&keys.secret_bytes()).unwrap();
        assert_eq!(again.signing_public(), keys.signing_public());
        assert_eq!(again.noise_public(), keys.noise_public());
        assert_ne!(keys.noise_public(), [0u8; 32]);
        assert_eq!(keys.actor_hex().len(), 32);
    }

    #[test]
    fn codes_round_trip_and_bad_codes_are_refused() {
        let code = EnrolCode {
            fingerprint: [1; 8],
            id: [2; 8],
            secret: [3; 16],
            address: Some("127.0.0.1:7420".into()),
        };
        assert_eq!(EnrolCode::parse(&code.to_text()).unwrap(), code);
        assert_eq!(
            EnrolCode::parse(&code.to_text().to_lowercase())
                .unwrap()
                .secret,
            code.secret
        );
        for bad in ["", "AX1", "AX2", "AX1ZZ", "AX1é@x", "@x", "AX1@"] {
            assert_eq!(EnrolCode::parse(bad), Err(TrustError::BadCode), "{bad}");
        }
        let long = format!("AX1{}", "0".repeat(63) + "é");
        assert_eq!(EnrolCode::parse(&long), Err(TrustError::BadCode));
    }

    #[test]
    fn case_scopes_need_a_case_team_role() {
        let keys = DeviceKeys::generate();
        let mut c = credential(&keys);
        c.scopes.push("case:main".into());
        assert!(!c.grants("case:main"), "a volunteer never holds case files");
        c.role = Some(Role::Counselor);
        assert!(c.grants("case:main"));
        assert!(c.grants("grid:g") && !c.grants("grid:h"));
        c.scopes.push("grid:*".into());
        assert!(c.grants("grid:h"));
    }
}
