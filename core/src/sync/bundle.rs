//! Bundles: the documents of one or more scopes written to a file for
//! carrying out of (or into) a locked compound.
//!
//! A bundle is self-contained (whole documents) and verifiable: a SHA-256
//! trailer over everything before it. Import checks the whole file —
//! length, checksum, format, station — before it applies anything, so a
//! truncated, corrupted or foreign bundle is refused and the store is left
//! unchanged. Applying is a merge: importing a bundle twice is harmless.
//! (Sealing a bundle to the station's key, so the carrier cannot read it,
//! is later work.)

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{now_millis, DocKind};
use crate::store::{Applied, Store, StoreError};

const MAGIC: [u8; 8] = *b"ANXBNDL1";
const FORMAT: u16 = 1;
/// The largest bundle accepted (a whole station fits many times over).
pub const MAX_BUNDLE_BYTES: usize = 1 << 30;

#[derive(Serialize, Deserialize)]
struct Bundle {
    magic: [u8; 8],
    format: u16,
    station: String,
    scopes: Vec<String>,
    created_at: i64,
    device: String,
    docs: Vec<BundleDoc>,
}

#[derive(Serialize, Deserialize)]
struct BundleDoc {
    id: String,
    kind: String,
    scope: String,
    bytes: Vec<u8>,
}

/// Why a bundle was refused. The store is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Shorter than a bundle can be, or cut off.
    #[error("the bundle is truncated")]
    Truncated,
    /// The checksum does not match: damaged in transit.
    #[error("the bundle is corrupted (checksum mismatch)")]
    Corrupted,
    /// Not an Anxin bundle, or a format this build does not read.
    #[error("not an Anxin bundle, or a newer bundle format")]
    NotABundle,
    /// The bundle belongs to another station.
    #[error("the bundle belongs to another station")]
    Foreign,
    /// This device belongs to no station and is not joining.
    #[error("this device belongs to no station: join with this bundle first")]
    NoStation,
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

/// Writes every document of `scopes` into bundle bytes.
pub fn export(store: &Store, scopes: &[String]) -> Result<Vec<u8>, BundleError> {
    let held = store.scopes()?;
    let mut docs = Vec::new();
    for scope in scopes {
        if !held.contains(scope) {
            return Err(BundleError::UnknownScope(scope.clone()));
        }
        for (id, _) in store.inventory(scope)? {
            let (kind, scope, bytes) = store.document_bytes(&id)?;
            docs.push(BundleDoc {
                id,
                kind: kind.as_str().to_string(),
                scope,
                bytes,
            });
        }
    }
    let bundle = Bundle {
        magic: MAGIC,
        format: FORMAT,
        station: store.station_id()?.unwrap_or_default(),
        scopes: scopes.to_vec(),
        created_at: now_millis(),
        device: store.device().device_id.clone(),
        docs,
    };
    let mut out = postcard::to_stdvec(&bundle).unwrap_or_default();
    let sum = Sha256::digest(&out);
    out.extend_from_slice(&sum);
    Ok(out)
}

fn verify(bytes: &[u8]) -> Result<Bundle, BundleError> {
    if bytes.len() < 32 + MAGIC.len() {
        return Err(BundleError::Truncated);
    }
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(BundleError::NotABundle);
    }
    let (body, sum) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body).as_slice() != sum {
        // A cut-off file fails here too; tell the likelier story when the
        // start still looks like a bundle.
        return Err(if body.starts_with(&MAGIC) {
            BundleError::Corrupted
        } else {
            BundleError::NotABundle
        });
    }
    let bundle: Bundle = postcard::from_bytes(body).map_err(|_| BundleError::NotABundle)?;
    if bundle.magic != MAGIC || bundle.format != FORMAT {
        return Err(BundleError::NotABundle);
    }
    Ok(bundle)
}

/// Imports bundle bytes. With `join`, a device that belongs to no station
/// adopts the bundle's station and (unless its scopes were set) its scopes.
pub fn import(store: &mut Store, bytes: &[u8], join: bool) -> Result<ImportReport, BundleError> {
    let bundle = verify(bytes)?;
    match store.station_id()? {
        Some(mine) if mine == bundle.station => {}
        Some(_) => return Err(BundleError::Foreign),
        None if join && !bundle.station.is_empty() => {
            store.adopt_station(&bundle.station)?;
            if !store.has_explicit_scopes()? {
                store.set_scopes(&bundle.scopes)?;
            }
        }
        None => return Err(BundleError::NoStation),
    }
    let held = store.scopes()?;
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
        match store.apply_document(&peer, &doc.id, kind, &doc.scope, &doc.bytes)? {
            Applied::Changed => report.applied += 1,
            Applied::Unchanged => report.unchanged += 1,
            Applied::Quarantined(r) => report.quarantined.push((doc.id, r.to_string())),
        }
    }
    Ok(report)
}
