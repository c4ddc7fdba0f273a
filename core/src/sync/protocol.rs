//! The wire format of a sync session: frames of items, encoded with
//! postcard. A frame never exceeds the session's frame-size cap; an item too
//! large for one frame travels as numbered pieces.

use serde::{Deserialize, Serialize};

/// The oldest protocol version this build speaks.
/// Version 2 runs inside an authenticated, encrypted channel
/// (`sync::channel`); version 1 (open to anyone on the network) is refused.
pub const PROTOCOL_MIN: u16 = 2;
/// The newest protocol version this build speaks. Version 3 finds what
/// changed by range-based reconciliation (`sync::ranges`: the `Ranges`,
/// `Heads` and `Changes` items) instead of whole-scope inventories; a
/// version-2 peer is still answered with inventories. Version 4 first
/// pushes what changed since the two devices' last completed session (the
/// `Pushed` item) and reconciles by ranges only when the digests still
/// differ after that; a version-3 peer gets ranges at once. Version 5
/// greets a peer it completed a version-5 session with by a `Resume` (its
/// scopes named by a hash of the list the peer remembers, each scope's
/// digest in 8 bytes) instead of the full Hello, and compresses turns with
/// a preset dictionary (`DeflatedWith`, see `sync::dictionary`).
pub const PROTOCOL_MAX: u16 = 5;

/// The dictionary protocol 5 compresses turns with.
pub const DICTIONARY_V5: u8 = 1;

/// One frame: part `index` of `count` of a turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// The session it belongs to (chosen by the initiator).
    pub session: u32,
    /// The turn: even turns are the initiator's, odd ones the responder's.
    pub turn: u32,
    /// This frame's position in its turn.
    pub index: u16,
    /// How many frames the turn has.
    pub count: u16,
    /// What it carries.
    pub items: Vec<Item>,
}

/// A digest of one scope; `Hello.digests[i]` is the digest of
/// `Hello.scopes[i]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeDigest {
    /// The first 16 bytes of SHA-256 over the sorted (document id, heads)
    /// pairs.
    pub digest: [u8; 16],
    /// How many documents.
    pub docs: u32,
}

/// An id on the wire: a UUID as its 16 bytes, anything else as UTF-8.
pub fn pack_id(id: &str) -> Vec<u8> {
    match uuid::Uuid::parse_str(id) {
        Ok(u) => u.as_bytes().to_vec(),
        Err(_) => id.as_bytes().to_vec(),
    }
}

/// A scope on the wire (see [`pack_scope`]): `station` as one byte, a grid
/// as a tag and its 16 UUID bytes, anything else as a tag and UTF-8.
pub fn pack_scope(scope: &str) -> Vec<u8> {
    if scope == "station" {
        return vec![0];
    }
    if let Some(g) = scope.strip_prefix("grid:") {
        if let Ok(u) = uuid::Uuid::parse_str(g) {
            let mut out = vec![1];
            out.extend_from_slice(u.as_bytes());
            return out;
        }
    }
    let mut out = vec![2];
    out.extend_from_slice(scope.as_bytes());
    out
}

/// The text of a scope from the wire; `None` if malformed.
pub fn unpack_scope(bytes: &[u8]) -> Option<String> {
    match bytes.split_first()? {
        (0, []) => Some("station".into()),
        (1, rest) if rest.len() == 16 => uuid::Uuid::from_slice(rest)
            .ok()
            .map(|u| format!("grid:{u}")),
        (2, rest) => String::from_utf8(rest.to_vec()).ok(),
        _ => None,
    }
}

/// Packs a list of scopes.
pub fn pack_scopes(scopes: &[String]) -> Vec<Vec<u8>> {
    scopes.iter().map(|s| pack_scope(s)).collect()
}

/// Unpacks a list of scopes; `None` if any is malformed.
pub fn unpack_scopes(scopes: &[Vec<u8>]) -> Option<Vec<String>> {
    scopes.iter().map(|s| unpack_scope(s)).collect()
}

/// The text of an id from the wire.
pub fn unpack_id(bytes: &[u8]) -> String {
    match uuid::Uuid::from_slice(bytes) {
        Ok(u) if bytes.len() == 16 => u.to_string(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// A denial: the peer does not know this device.
pub const DENY_NOT_ENROLLED: u8 = 1;
/// A denial: this device's credential is revoked or expired.
pub const DENY_REVOKED: u8 = 2;
/// A denial: anything else of trust (a forged credential, a wrong key).
pub const DENY_UNAUTHORIZED: u8 = 3;
/// A denial: the enrolment code is unknown, used already or expired.
pub const DENY_CODE_UNUSABLE: u8 = 4;

/// The denial code of a trust error.
pub fn deny_code(e: &crate::trust::TrustError) -> u8 {
    use crate::trust::TrustError;
    match e {
        TrustError::NotEnrolled => DENY_NOT_ENROLLED,
        TrustError::Revoked { .. } | TrustError::Expired { .. } => DENY_REVOKED,
        TrustError::CodeUnusable => DENY_CODE_UNUSABLE,
        _ => DENY_UNAUTHORIZED,
    }
}

/// What a denial received from a peer means for this device.
pub fn denied(code: u8, _reason: String, own_device: &str) -> crate::trust::TrustError {
    use crate::trust::TrustError;
    match code {
        DENY_NOT_ENROLLED => TrustError::NotEnrolled,
        DENY_REVOKED => TrustError::Revoked {
            device: own_device.to_string(),
        },
        DENY_CODE_UNUSABLE => TrustError::CodeUnusable,
        // The peer's own words are not repeated: it controls them.
        _ => TrustError::Refused(crate::refusal::Rule::RefusedByPeer),
    }
}

/// An attestation on the wire: the sequence number and the signature. The
/// actor is left out (every document has its own attestations, one per
/// actor that wrote it, so the receiver finds the actor whose change and
/// key it verifies against); the 17 bytes it would take are most of the
/// attestations' share of a first sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vouch {
    /// The sequence number of the newest change vouched for.
    pub seq: u64,
    /// The writing device's signature (64 bytes).
    pub signature: Vec<u8>,
}

/// Attestations as sent.
pub fn vouches(attestations: Vec<crate::trust::Attestation>) -> Vec<Vouch> {
    attestations
        .into_iter()
        .map(|a| Vouch {
            seq: a.seq,
            signature: a.signature,
        })
        .collect()
}

/// Attestations as received: the actor is found by the store when it
/// verifies them.
pub fn unvouch(vouches: Vec<Vouch>) -> Vec<crate::trust::Attestation> {
    vouches
        .into_iter()
        .map(|v| crate::trust::Attestation {
            actor: Vec::new(),
            seq: v.seq,
            signature: v.signature,
        })
        .collect()
}

/// A node of the reconciliation tree as sent (see `sync::ranges`): split
/// into its 16 children's fingerprints, or the sender's documents in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeNode {
    /// Its depth (the root is 0).
    pub depth: u8,
    /// Its position in its level.
    pub index: u32,
    /// Its children's fingerprints (16 of them), or empty when `docs`
    /// lists the node.
    pub fingerprints: Vec<[u8; 6]>,
    /// The sender's documents in the node (possibly none), when it is not
    /// split.
    pub docs: Vec<RangeDoc>,
}

/// A document listed in a range: its id and heads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeDoc {
    /// Its id (see [`pack_id`]).
    pub id: Vec<u8>,
    /// Its heads (automerge change hashes).
    pub heads: Vec<[u8; 32]>,
}

/// Everything an item of a turn can be.
///
/// postcard encodes a variant as its position in this list, so each
/// item's code is written out in [`Item::wire_code`] and a test holds the
/// encoding to it: new items go at the end with the next code; none is ever
/// removed or moved (the golden files in `tests/golden/sync` fail too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Item {
    /// The initiator introduces itself.
    Hello {
        /// Lowest protocol version spoken.
        min: u16,
        /// Highest protocol version spoken.
        max: u16,
        /// Device id (see [`pack_id`]).
        device: Vec<u8>,
        /// Station id; empty for a device that is joining.
        station: Vec<u8>,
        /// Scopes held.
        scopes: Vec<Vec<u8>>,
        /// Digests of those scopes.
        digests: Vec<ScopeDigest>,
        /// Grids that households this device holds moved to: does the
        /// responder hold them (may it take those households over)?
        departing: Vec<Vec<u8>>,
        /// A digest of this device's registry of credentials and
        /// revocations; empty for a device that holds none.
        registry: [u8; 16],
    },
    /// The responder accepts.
    Welcome {
        /// The version both speak.
        version: u16,
        /// Device id; from version 5 empty (the responder's credential,
        /// proved in the handshake, names it).
        device: Vec<u8>,
        /// Station id, sent only to a device that is joining (others proved
        /// theirs matches in their Hello).
        station: Vec<u8>,
        /// The shared scopes, as positions in the Hello's scope list.
        shared: Vec<u32>,
        /// Scopes offered to a joining device beyond those it listed.
        offered: Vec<Vec<u8>>,
        /// Which of the initiator's `departing` grids the responder holds.
        holds: Vec<Vec<u8>>,
    },
    /// The responder refuses the session.
    Refuse {
        /// Why, for people.
        reason: String,
    },
    /// The documents of a scope whose digests differ, with heads digests.
    Inventory {
        /// The scope.
        scope: Vec<u8>,
        /// (document id, heads digest), sorted by id.
        docs: Vec<(Vec<u8>, [u8; 8])>,
    },
    /// Please send these whole documents.
    Want {
        /// Document ids.
        ids: Vec<Vec<u8>>,
    },
    /// A whole document the peer lacks.
    Snapshot {
        /// Its id.
        id: Vec<u8>,
        /// Its kind's wire code (`DocKind::wire_code`).
        kind: u8,
        /// Its scope, as its position in the session's shared scopes.
        scope: u32,
        /// Its automerge bytes (compressed by automerge).
        bytes: Vec<u8>,
        /// Who wrote it: the attestations the sender keeps for it.
        attest: Vec<Vouch>,
    },
    /// An automerge sync message for a document both hold.
    Sync {
        /// The document.
        id: Vec<u8>,
        /// The encoded message.
        bytes: Vec<u8>,
        /// When the message carries changes, the attestations the sender
        /// keeps for the document; otherwise empty.
        attest: Vec<Vouch>,
    },
    /// Part of an item too large for one frame.
    Piece {
        /// Which large item.
        key: u32,
        /// Which part.
        index: u16,
        /// How many parts.
        total: u16,
        /// The bytes of this part of the encoded item.
        bytes: Vec<u8>,
    },
    /// The session is over.
    Done,
    /// The station's answer to an enrolling device: the credential it
    /// issued (sent first in the responder's first turn).
    Enrolled {
        /// The station's public key.
        station_key: [u8; 32],
        /// The new device's credential.
        credential: crate::trust::Signed,
    },
    /// The responder will not serve this peer for a reason of trust (its
    /// credential revoked, expired, unknown, or an enrolment code used up).
    Deny {
        /// What kind of reason: [`DENY_NOT_ENROLLED`], [`DENY_REVOKED`],
        /// [`DENY_UNAUTHORIZED`].
        code: u8,
        /// Why, for people.
        reason: String,
    },
    /// The sender's signed audit head (sent when its chain grew since the
    /// last head it signed).
    AuditHead {
        /// The last row's sequence number.
        seq: i64,
        /// The last row's hash (32 bytes).
        hash: Vec<u8>,
        /// The device's signature (see `store::audit::head_message`).
        signature: Vec<u8>,
    },
    /// Registry entries the peer lacks (when the registry digests differ):
    /// (is a revocation, signed record).
    Registry {
        /// The entries.
        entries: Vec<(bool, crate::trust::Signed)>,
    },
    /// Documents this side did not store (quarantined): a sender handing
    /// them on keeps its copies instead of purging them.
    Refused {
        /// Document ids.
        ids: Vec<Vec<u8>>,
    },
    /// Range-based reconciliation (version 3): nodes of the tree over the
    /// documents of the reconciled scopes.
    Ranges {
        /// In the first from the side that starts the reconciliation
        /// (the responder, or with version 4 whichever side found the
        /// digests still differing after a push): which scopes are
        /// reconciled, as positions in the initiator's Hello scope list;
        /// empty afterwards.
        scopes: Vec<u32>,
        /// The nodes.
        nodes: Vec<RangeNode>,
    },
    /// This side's heads of a document both hold differently, when the
    /// peer is ahead (or both wrote): send what they lack.
    Heads {
        /// The document.
        id: Vec<u8>,
        /// The sender's heads.
        heads: Vec<[u8; 32]>,
    },
    /// The changes of a document the peer lacks, found from its heads.
    Changes {
        /// The document.
        id: Vec<u8>,
        /// The changes, each as automerge encodes it.
        changes: Vec<Vec<u8>>,
        /// The attestations the sender keeps for the document.
        attest: Vec<Vouch>,
    },
    /// Version 3: a turn's small items (all but snapshots, which automerge
    /// compresses already), postcard-encoded as a list and DEFLATE-
    /// compressed: sync messages, changes and ranges of many documents
    /// share keys, actors and field names.
    Deflated {
        /// The compressed list of items.
        bytes: Vec<u8>,
    },
    /// Version 4: the sender has sent, in this turn, every document of
    /// these scopes that it wrote or received since its last completed
    /// session with the receiver (as changes since the state it held
    /// then, or whole when it did not hold the document then). The digest
    /// is of its state once the turn is sent: a receiver that matches it
    /// after applying the turn, with nothing of its own to send, is done;
    /// otherwise the scopes are reconciled by ranges.
    Pushed {
        /// The scopes, as positions in the initiator's Hello scope list.
        scopes: Vec<u32>,
        /// The sender's digest of them together: SHA-256 over each
        /// scope's digest (32 bytes) and document count (4 bytes, little
        /// endian), in the order listed, cut to 16 bytes.
        digest: [u8; 16],
    },
    /// Version 5: the initiator's Hello to a responder it completed a
    /// version-5 session with. Its device and station are those of its
    /// credential; its scopes are the list of the last full Hello the
    /// responder had from it, named by [`scope_list_hash`] (a responder
    /// that holds no such list answers `SendHello`).
    Resume {
        /// Lowest protocol version spoken (5 or more).
        min: u16,
        /// Highest protocol version spoken.
        max: u16,
        /// [`scope_list_hash`] of the scopes held, in their Hello order.
        scopes: [u8; 8],
        /// For each of those scopes, the first 8 bytes of its digest; eight
        /// zero bytes for a scope the initiator holds no document of.
        digests: Vec<[u8; 8]>,
        /// As in the Hello.
        departing: Vec<Vec<u8>>,
        /// The first 8 bytes of the Hello's `registry`.
        registry: [u8; 8],
    },
    /// Version 5: the responder holds no scope list that a `Resume` names
    /// (its memory was lost, or the initiator's scopes changed): the
    /// initiator sends the full Hello as its next turn.
    SendHello,
    /// Version 5: a turn's small items, as in `Deflated`, compressed with a
    /// preset dictionary (`sync::dictionary`) that both sides hold.
    DeflatedWith {
        /// The dictionary's number.
        dictionary: u8,
        /// The compressed list of items.
        bytes: Vec<u8>,
    },
}

impl Item {
    /// The item's wire code: the first byte of its encoding. Written out
    /// here so that a reordered variant is caught by name
    /// (`golden_tests::every_item_is_encoded_with_its_written_code`), not
    /// only by a golden file's bytes; a new item takes the next code.
    pub const fn wire_code(&self) -> u8 {
        match self {
            Item::Hello { .. } => 0,
            Item::Welcome { .. } => 1,
            Item::Refuse { .. } => 2,
            Item::Inventory { .. } => 3,
            Item::Want { .. } => 4,
            Item::Snapshot { .. } => 5,
            Item::Sync { .. } => 6,
            Item::Piece { .. } => 7,
            Item::Done => 8,
            Item::Enrolled { .. } => 9,
            Item::Deny { .. } => 10,
            Item::AuditHead { .. } => 11,
            Item::Registry { .. } => 12,
            Item::Refused { .. } => 13,
            Item::Ranges { .. } => 14,
            Item::Heads { .. } => 15,
            Item::Changes { .. } => 16,
            Item::Deflated { .. } => 17,
            Item::Pushed { .. } => 18,
            Item::Resume { .. } => 19,
            Item::SendHello => 20,
            Item::DeflatedWith { .. } => 21,
        }
    }
}

/// A turn's items that compress (all but snapshots) deflated into one
/// item placed first, followed by the snapshots, when that saves at least a
/// tenth; otherwise the items as they were. Items keep their order among
/// themselves, and no item depends on a snapshot of the same turn. With a
/// `dictionary` (version 5) the item is `DeflatedWith` it, else `Deflated`.
pub fn deflate_items(items: Vec<Item>, dictionary: Option<u8>) -> Vec<Item> {
    use std::io::Write;
    let (small, snapshots): (Vec<Item>, Vec<Item>) = items
        .into_iter()
        .partition(|i| !matches!(i, Item::Snapshot { .. }));
    let raw = postcard::to_stdvec(&small).unwrap_or_default();
    // Too small to gain (a Done, a lone Welcome), unless a dictionary
    // holds its words.
    if raw.len() < if dictionary.is_some() { 64 } else { 256 } {
        return small.into_iter().chain(snapshots).collect();
    }
    // The dictionary, when one is asked for and this build has it.
    let preset = dictionary.and_then(|d| super::dictionary::dictionary(d).map(|bytes| (d, bytes)));
    let deflated = match preset {
        Some((_, dict)) => super::dictionary::deflate(dict, &raw).unwrap_or_default(),
        None => {
            let mut encoder =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            encoder
                .write_all(&raw)
                .and_then(|_| encoder.finish())
                .unwrap_or_default()
        }
    };
    if deflated.is_empty() || deflated.len() * 10 > raw.len() * 9 {
        return small.into_iter().chain(snapshots).collect();
    }
    let packed = match preset {
        Some((dictionary, _)) => Item::DeflatedWith {
            dictionary,
            bytes: deflated,
        },
        None => Item::Deflated { bytes: deflated },
    };
    std::iter::once(packed).chain(snapshots).collect()
}

/// The items of a `Deflated` item (`dictionary` `None`) or a
/// `DeflatedWith` one, refusing more than `max_bytes` once inflated (a
/// small item must not expand into gigabytes), an unknown dictionary and
/// nested compressed items.
pub fn inflate_items(
    bytes: &[u8],
    max_bytes: usize,
    dictionary: Option<u8>,
) -> Result<Vec<Item>, &'static str> {
    use std::io::Read;
    let raw = match dictionary {
        Some(d) => {
            let dict = super::dictionary::dictionary(d).ok_or("an unknown dictionary")?;
            super::dictionary::inflate(dict, bytes, max_bytes)?
        }
        None => {
            let mut raw = Vec::new();
            flate2::read::DeflateDecoder::new(bytes)
                .take(max_bytes as u64 + 1)
                .read_to_end(&mut raw)
                .map_err(|_| "deflated items cannot be inflated")?;
            if raw.len() > max_bytes {
                return Err("deflated items larger than the agreed cap");
            }
            raw
        }
    };
    let items: Vec<Item> =
        postcard::from_bytes(&raw).map_err(|_| "deflated items cannot be decoded")?;
    if items
        .iter()
        .any(|i| matches!(i, Item::Deflated { .. } | Item::DeflatedWith { .. }))
    {
        return Err("nested deflated items");
    }
    Ok(items)
}

/// What a `Resume` names a list of scopes by: SHA-256 over each scope's
/// wire spelling ([`pack_scope`]) preceded by its length (4 bytes, little
/// endian), in order, cut to 8 bytes.
pub fn scope_list_hash(scopes: &[String]) -> [u8; 8] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for s in scopes {
        let packed = pack_scope(s);
        h.update((packed.len() as u32).to_le_bytes());
        h.update(&packed);
    }
    let mut out = [0u8; 8];
    out.copy_from_slice(&h.finalize()[..8]);
    out
}

/// Encodes a frame.
pub fn encode(frame: &Frame) -> Vec<u8> {
    postcard::to_stdvec(frame).unwrap_or_default()
}

/// Decodes a frame, refusing anything larger than `max_bytes`.
pub fn decode(bytes: &[u8], max_bytes: usize) -> Result<Frame, &'static str> {
    if bytes.len() > max_bytes {
        return Err("frame larger than the agreed cap");
    }
    postcard::from_bytes(bytes).map_err(|_| "frame cannot be decoded")
}

/// Encodes one item (for pieces).
pub fn encode_item(item: &Item) -> Vec<u8> {
    postcard::to_stdvec(item).unwrap_or_default()
}

/// Decodes one item (reassembled from pieces).
pub fn decode_item(bytes: &[u8]) -> Result<Item, &'static str> {
    postcard::from_bytes(bytes).map_err(|_| "item cannot be decoded")
}

/// Packs items into frames of at most `cap` bytes; items that do not fit in
/// one frame are split into pieces. `next_key` numbers large items.
pub fn pack(
    session: u32,
    turn: u32,
    items: Vec<Item>,
    cap: usize,
    next_key: &mut u32,
) -> Vec<Vec<u8>> {
    // Room for the frame header and the length prefixes around an item.
    const OVERHEAD: usize = 48;
    let budget = cap.saturating_sub(OVERHEAD).max(64);
    let mut small = Vec::new();
    for item in items {
        let encoded = encode_item(&item);
        if encoded.len() <= budget {
            small.push((encoded.len(), item));
            continue;
        }
        let part = budget - 16;
        let total = encoded.len().div_ceil(part);
        let key = *next_key;
        *next_key += 1;
        for (i, chunk) in encoded.chunks(part).enumerate() {
            small.push((
                chunk.len() + 16,
                Item::Piece {
                    key,
                    index: i as u16,
                    total: total as u16,
                    bytes: chunk.to_vec(),
                },
            ));
        }
    }
    let mut groups: Vec<Vec<Item>> = Vec::new();
    let mut size = 0;
    for (len, item) in small {
        if groups.is_empty() || size + len > budget {
            groups.push(Vec::new());
            size = 0;
        }
        size += len;
        if let Some(group) = groups.last_mut() {
            group.push(item);
        }
    }
    if groups.is_empty() {
        groups.push(Vec::new());
    }
    let count = groups.len() as u16;
    groups
        .into_iter()
        .enumerate()
        .map(|(index, items)| {
            encode(&Frame {
                session,
                turn,
                index: index as u16,
                count,
                items,
            })
        })
        .collect()
}
