//! Bundles: the documents of one or more scopes written to a file for
//! carrying out of (or into) a locked compound.
//!
//! A bundle is **sealed**: the file is `ANXBNDL3` and an age file encrypted
//! to the X25519 keys of its recipients — every enrolled, unrevoked device
//! whose credential grants all its scopes, every station device, and the
//! exporter — so its carrier reads nothing (not even which station it
//! belongs to). Inside, the exporter's credential and its signature over
//! the bundle: the documents, each with its attestations, and the station's
//! registry (so a recipient can verify authors it has not met).
//!
//! Import opens it with this device's key (a bundle sealed to others is
//! refused), checks the exporter's credential against the pinned station
//! key and its signature, merges the registry entries (each checked), then
//! applies every document exactly as a sync session would: authorship and
//! the access rules per change, quarantine for what fails. Any alteration
//! fails age's authentication, so the store is left unchanged. Applying is
//! a merge: importing a bundle twice is harmless.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::model::{now_millis, DocKind, Scope};
use crate::store::{Applied, Store, StoreError};
use crate::trust::{verify_device_signature, Attestation, Signed, TrustError};

/// The file's first bytes: the format and its version, nothing else.
const MAGIC: [u8; 8] = *b"ANXBNDL3";
const SIGNATURE_TAG: &[u8] = b"anxin/bundle/3";
/// The largest bundle accepted (a whole station fits many times over).
pub const MAX_BUNDLE_BYTES: usize = 1 << 30;

/// What the exporter signs.
#[derive(Serialize, Deserialize)]
struct Bundle {
    station: String,
    scopes: Vec<String>,
    created_at: i64,
    device: String,
    registry: Vec<(bool, Signed)>,
    docs: Vec<BundleDoc>,
}

#[derive(Serialize, Deserialize)]
struct BundleDoc {
    id: String,
    kind: String,
    scope: String,
    bytes: Vec<u8>,
    attestations: Vec<Attestation>,
}

/// The sealed payload: the exporter's credential, the bundle, and the
/// exporter's signature over it.
#[derive(Serialize, Deserialize)]
struct Sealed {
    credential: Signed,
    bundle: Vec<u8>,
    signature: Vec<u8>,
}

/// Why a bundle was refused. The store is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Shorter than a bundle can be.
    #[error("the bundle is truncated")]
    Truncated,
    /// The sealed contents fail authentication: damaged, cut off or
    /// altered in transit.
    #[error("the bundle is corrupted or was altered")]
    Corrupted,
    /// Not an Anxin bundle, or a format this build does not read.
    #[error("not an Anxin bundle, or a newer bundle format")]
    NotABundle,
    /// Not sealed to this device: another station's, or sealed before this
    /// device was enrolled or to scopes it is not granted.
    #[error("this bundle is not sealed to this device")]
    NotForThisDevice,
    /// The bundle belongs to another station.
    #[error("the bundle belongs to another station")]
    Foreign,
    /// This device is not enrolled in a station: it can neither seal nor
    /// open bundles.
    #[error("this device is not enrolled: enrol it with a code first")]
    NotEnrolled,
    /// The exporter's credential or signature does not hold.
    #[error("the bundle's exporter cannot be verified: {0}")]
    BadExporter(String),
    /// Nothing to export.
    #[error("this device holds no scope {0}")]
    UnknownScope(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Documents in the bundle.
    pub documents: u32,
    /// Documents that changed this store.
    pub applied: u32,
    /// Documents already up to date.
    pub unchanged: u32,
    /// Documents outside this device's scopes, not stored.
    pub refused: u32,
    /// Documents quarantined, with the reason.
    pub quarantined: Vec<(String, String)>,
}

fn bech32(hrp: &str, key: &[u8; 32]) -> Option<String> {
    let hrp = bech32::Hrp::parse(hrp).ok()?;
    bech32::encode::<bech32::Bech32>(hrp, key).ok()
}

/// An age recipient for a device's X25519 (Noise static) public key.
fn recipient(noise_public: &[u8; 32]) -> Option<age::x25519::Recipient> {
    bech32("age", noise_public)?.parse().ok()
}

/// This device's age identity: its X25519 (Noise static) secret key.
fn identity(store: &Store) -> Option<age::x25519::Identity> {
    bech32("AGE-SECRET-KEY-", store.keys().noise_secret())?
        .to_uppercase()
        .parse()
        .ok()
}

fn signed_bytes(bundle: &[u8]) -> Vec<u8> {
    [SIGNATURE_TAG, bundle].concat()
}

/// [`export`] of scopes spelled as the store spells them (tests).
#[cfg(test)]
pub(crate) fn export_keys(store: &Store, scopes: &[String]) -> Result<Vec<u8>, BundleError> {
    let scopes: Vec<Scope> = scopes
        .iter()
        .map(|s| Scope::from_key(s).unwrap_or_else(|| panic!("not a scope: {s}")))
        .collect();
    export(store, &scopes)
}

/// Seals every document of `scopes` into bundle bytes.
pub fn export(store: &Store, scopes: &[Scope]) -> Result<Vec<u8>, BundleError> {
    let Some((credential, _)) = store.devices().credential()? else {
        return Err(BundleError::NotEnrolled);
    };
    // The bundle and the store spell scopes as the wire does.
    let scopes: Vec<String> = scopes.iter().map(Scope::to_key).collect();
    let scopes = &scopes[..];
    let held = store.held_scope_keys()?;
    let mut docs = Vec::new();
    for scope in scopes {
        if !held.contains(scope) {
            return Err(BundleError::UnknownScope(scope.clone()));
        }
        for (id, _) in store.inventory_of(scope)? {
            let (kind, scope, bytes) = store.document_bytes_keyed(&id)?;
            let attestations = store.attestations(&id)?;
            docs.push(BundleDoc {
                id,
                kind: kind.as_str().to_string(),
                scope,
                bytes,
                attestations,
            });
        }
    }
    let bundle = Bundle {
        station: store.replica().station_id()?.unwrap_or_default(),
        scopes: scopes.to_vec(),
        created_at: now_millis(),
        device: store.device().device_id.clone(),
        registry: store.devices().registry_entries()?,
        docs,
    };
    let body = postcard::to_stdvec(&bundle).map_err(|_| BundleError::NotABundle)?;
    let signature = store.keys().sign(&signed_bytes(&body)).to_vec();
    let sealed = postcard::to_stdvec(&Sealed {
        credential,
        bundle: body,
        signature,
    })
    .map_err(|_| BundleError::NotABundle)?;
    let recipients: Vec<age::x25519::Recipient> = store
        .bundle_recipients(scopes)?
        .iter()
        .filter_map(recipient)
        .collect();
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|_| BundleError::NotEnrolled)?;
    let mut out = MAGIC.to_vec();
    let io = |_| BundleError::NotABundle;
    let mut writer = encryptor.wrap_output(&mut out).map_err(io)?;
    writer.write_all(&sealed).map_err(io)?;
    writer.finish().map_err(io)?;
    Ok(out)
}

/// Opens and checks a bundle: this device's key opens it, the exporter is
/// an enrolled, unrevoked device of this station, and its signature holds.
fn open(store: &Store, bytes: &[u8]) -> Result<Bundle, BundleError> {
    if bytes.len() < MAGIC.len() + 16 {
        return Err(BundleError::Truncated);
    }
    if bytes.len() > MAX_BUNDLE_BYTES || !bytes.starts_with(&MAGIC) {
        return Err(BundleError::NotABundle);
    }
    let station_key = store
        .devices()
        .station_public()?
        .ok_or(BundleError::NotEnrolled)?;
    let me = identity(store).ok_or(BundleError::NotEnrolled)?;
    let decryptor =
        age::Decryptor::new_buffered(&bytes[MAGIC.len()..]).map_err(|_| BundleError::Corrupted)?;
    let mut reader = match decryptor.decrypt(std::iter::once(&me as &dyn age::Identity)) {
        Ok(r) => r,
        Err(age::DecryptError::NoMatchingKeys) => return Err(BundleError::NotForThisDevice),
        Err(_) => return Err(BundleError::Corrupted),
    };
    let mut plain = Vec::new();
    reader
        .read_to_end(&mut plain)
        .map_err(|_| BundleError::Corrupted)?;
    let sealed: Sealed = postcard::from_bytes(&plain).map_err(|_| BundleError::Corrupted)?;
    let bad = |e: TrustError| BundleError::BadExporter(e.to_string());
    let exporter = sealed.credential.credential(&station_key).map_err(bad)?;
    if Some(&exporter.station) != store.replica().station_id()?.as_ref() {
        return Err(BundleError::Foreign);
    }
    if store.devices().is_revoked(&exporter.device)? {
        return Err(bad(TrustError::Revoked {
            device: exporter.device,
        }));
    }
    if !verify_device_signature(
        &exporter.signing_key,
        &signed_bytes(&sealed.bundle),
        &sealed.signature,
    ) {
        return Err(bad(TrustError::BadSignature { what: "a bundle" }));
    }
    let bundle: Bundle =
        postcard::from_bytes(&sealed.bundle).map_err(|_| BundleError::Corrupted)?;
    if bundle.station != exporter.station || bundle.device != exporter.device {
        return Err(BundleError::Foreign);
    }
    Ok(bundle)
}

/// Imports bundle bytes into an enrolled device.
pub fn import(store: &mut Store, bytes: &[u8]) -> Result<ImportReport, BundleError> {
    let bundle = open(store, bytes)?;
    // Credentials and revocations first: each is checked against the
    // station key, and authors met only through this bundle become known.
    store.devices_mut().merge_registry(&bundle.registry)?;
    let held = store.held_scope_keys()?;
    let mut report = ImportReport {
        documents: bundle.docs.len() as u32,
        ..Default::default()
    };
    let peer = format!("bundle:{}", bundle.device);
    for doc in bundle.docs {
        if !held.contains(&doc.scope) {
            report.refused += 1;
            continue;
        }
        let Some(kind) = DocKind::parse(&doc.kind) else {
            report.quarantined.push((doc.id, "unknown kind".into()));
            continue;
        };
        match store.replica_mut().apply_document(
            &peer,
            &doc.id,
            kind,
            &doc.scope,
            &doc.bytes,
            &doc.attestations,
        )? {
            Applied::Changed => report.applied += 1,
            Applied::Unchanged | Applied::Pending => report.unchanged += 1,
            Applied::Quarantined(r) => report.quarantined.push((doc.id, r.to_string())),
        }
    }
    Ok(report)
}

/// The bundle's format pinned for the phones and laptops in the field: the
/// signed body and the sealed payload by golden bytes (`tests/golden/sync/`,
/// as the sync items), and a whole sealed bundle frozen at format 3
/// (`tests/frozen/bundle-v3.anxb`, sealed by the frozen store's device)
/// that every later build must open, verify and import.
#[cfg(test)]
mod format_tests {
    use super::*;
    use crate::store::StoreOptions;

    fn fixed_bundle() -> Bundle {
        Bundle {
            station: "3b1f0e5c-8a2d-4c6e-9f10-2a3b4c5d6e7f".into(),
            scopes: vec!["station".into(), "grid:g1".into()],
            created_at: 1_764_000_000_000,
            device: "0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a".into(),
            registry: vec![(
                false,
                Signed {
                    body: b"credential".to_vec(),
                    signature: (0..64).collect(),
                },
            )],
            docs: vec![BundleDoc {
                id: "h-1".into(),
                kind: DocKind::Household.as_str().into(),
                scope: "grid:g1".into(),
                bytes: vec![0x85, 0x6f, 0x4a, 0x83],
                attestations: vec![Attestation {
                    actor: vec![0xab; 16],
                    seq: 3,
                    signature: (64..128).collect(),
                }],
            }],
        }
    }

    #[test]
    fn the_bundle_body_and_sealed_payload_keep_their_bytes() {
        let body = postcard::to_stdvec(&fixed_bundle()).unwrap();
        let sealed = postcard::to_stdvec(&Sealed {
            credential: Signed {
                body: b"exporter".to_vec(),
                signature: (128..192).collect(),
            },
            bundle: body.clone(),
            signature: (192..=255).collect(),
        })
        .unwrap();
        let problems: Vec<String> = [("bundle-body", body), ("bundle-sealed", sealed)]
            .iter()
            .filter_map(|(name, bytes)| super::super::golden_tests::golden(name, bytes).err())
            .collect();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        assert_eq!(&MAGIC, b"ANXBNDL3");
        assert_eq!(SIGNATURE_TAG, b"anxin/bundle/3");
    }

    /// The frozen store (see `store::tests`), opened from a copy with its key.
    fn frozen_store(dir: &tempfile::TempDir) -> Store {
        let frozen = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/frozen");
        let path = dir.path().join("store-v10.db");
        std::fs::copy(frozen.join("store-v10.db"), &path).unwrap();
        let key = format!(
            "x:{}",
            hex::encode(std::fs::read(frozen.join("store-v10.db.key")).unwrap())
        );
        Store::open(
            &path,
            StoreOptions {
                key: Some(key),
                ..Default::default()
            },
        )
        .unwrap()
    }

    /// A bundle sealed by the first release's format opens, its exporter
    /// and signature verify, and its documents import: a household the
    /// store lost comes back whole; the rest are already held.
    #[test]
    fn a_bundle_frozen_at_format_3_opens_verifies_and_imports() {
        let frozen =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/frozen/bundle-v3.anxb");
        let dir = tempfile::TempDir::new().unwrap();
        let mut store = frozen_store(&dir);
        if !frozen.exists() && std::env::var_os("ANXIN_WRITE_GOLDEN").is_some() {
            let scopes = store.replica().held_scopes().unwrap();
            std::fs::write(&frozen, export(&store, &scopes).unwrap()).unwrap();
        }
        let bytes = std::fs::read(&frozen).expect("tests/frozen/bundle-v3.anxb");
        let households = store.doc_ids(DocKind::Household).unwrap();
        let lost = households[0].clone();
        store
            .replica_mut()
            .purge_document(&lost, "the test lost it")
            .unwrap();
        assert!(!store.replica().has_document(&lost).unwrap());

        let report = import(&mut store, &bytes).unwrap();
        assert!(report.quarantined.is_empty(), "{:?}", report.quarantined);
        assert_eq!(report.refused, 0);
        assert_eq!(report.applied, 1, "the lost household, and only it");
        assert_eq!(report.unchanged + report.applied, report.documents);
        assert!(store.replica().has_document(&lost).unwrap());
        assert_eq!(store.doc_ids(DocKind::Household).unwrap(), households);
        assert!(store.check().unwrap().is_ok());

        // Altered by one byte, the same bundle is refused and changes nothing.
        let mut altered = bytes.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(matches!(
            import(&mut store, &altered),
            Err(BundleError::Corrupted)
        ));
    }
}
