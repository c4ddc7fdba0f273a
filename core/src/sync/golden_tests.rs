//! The wire formats pinned by golden bytes: one file per frame item, per
//! handshake message and for a whole frame, under `tests/golden/`. A change
//! that alters a single byte any deployed phone reads — reordering a
//! variant, a field, changing an encoding — fails here, not in the field.
//!
//! To add a new item: add it below and run once with
//! `ANXIN_WRITE_GOLDEN=1`, then commit the new file. Existing files are
//! never rewritten by a change that keeps the format.

use std::path::PathBuf;

use super::channel::{handshake_message, Handshake};
use super::protocol::{encode, encode_item, Frame, Item, ScopeDigest, Vouch};
use crate::model::DocKind;
use crate::trust::Signed;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/sync")
}

/// Compares `bytes` with the golden file `name.hex` (written when
/// `ANXIN_WRITE_GOLDEN` is set and the file is missing).
pub(super) fn golden(name: &str, bytes: &[u8]) -> Result<(), String> {
    let path = golden_dir().join(format!("{name}.hex"));
    let hex = hex::encode(bytes);
    match std::fs::read_to_string(&path) {
        Ok(stored) if stored.trim() == hex => Ok(()),
        Ok(stored) => Err(format!(
            "{name}: the encoding changed\n  golden: {}\n  now:    {hex}",
            stored.trim()
        )),
        Err(_) if std::env::var_os("ANXIN_WRITE_GOLDEN").is_some() => {
            std::fs::create_dir_all(golden_dir()).map_err(|e| e.to_string())?;
            std::fs::write(&path, format!("{hex}\n")).map_err(|e| e.to_string())
        }
        Err(_) => Err(format!("{name}: no golden file {}", path.display())),
    }
}

fn id(n: u8) -> Vec<u8> {
    (0..16).map(|i| i * 7 + n).collect()
}

fn vouch() -> Vouch {
    Vouch {
        seq: 300,
        signature: (0..64).collect(),
    }
}

fn signed() -> Signed {
    Signed {
        body: b"record".to_vec(),
        signature: (64..128).collect(),
    }
}

/// One value of every item, with fixed contents.
fn every_item() -> Vec<(&'static str, Item)> {
    vec![
        (
            "hello",
            Item::Hello {
                min: 2,
                max: 2,
                device: id(1),
                station: id(2),
                scopes: vec![vec![0], [vec![1], id(3)].concat()],
                digests: vec![ScopeDigest {
                    digest: [9; 16],
                    docs: 500,
                }],
                departing: vec![id(4)],
                registry: [5; 16],
            },
        ),
        (
            "welcome",
            Item::Welcome {
                version: 2,
                device: id(6),
                station: vec![],
                shared: vec![0, 1],
                offered: vec![vec![2, b'c']],
                holds: vec![id(4)],
            },
        ),
        (
            "refuse",
            Item::Refuse {
                reason: "the peer belongs to another station".into(),
            },
        ),
        (
            "inventory",
            Item::Inventory {
                scope: vec![0],
                docs: vec![(id(7), [1; 8]), (id(8), [2; 8])],
            },
        ),
        (
            "want",
            Item::Want {
                ids: vec![id(7), id(8)],
            },
        ),
        (
            "snapshot",
            Item::Snapshot {
                id: id(7),
                kind: DocKind::Household.wire_code(),
                scope: 1,
                bytes: vec![0x85, 0x6f, 0x4a, 0x83],
                attest: vec![vouch()],
            },
        ),
        (
            "sync",
            Item::Sync {
                id: id(8),
                bytes: vec![0x42, 1, 2, 3],
                attest: vec![vouch()],
            },
        ),
        (
            "piece",
            Item::Piece {
                key: 3,
                index: 1,
                total: 4,
                bytes: vec![7; 10],
            },
        ),
        ("done", Item::Done),
        (
            "enrolled",
            Item::Enrolled {
                station_key: [3; 32],
                credential: signed(),
            },
        ),
        (
            "deny",
            Item::Deny {
                code: super::protocol::DENY_CODE_UNUSABLE,
                reason: "used".into(),
            },
        ),
        (
            "audit_head",
            Item::AuditHead {
                seq: 41,
                hash: vec![6; 32],
                signature: (0..64).rev().collect(),
            },
        ),
        (
            "registry",
            Item::Registry {
                entries: vec![(false, signed()), (true, signed())],
            },
        ),
        ("refused", Item::Refused { ids: vec![id(9)] }),
        (
            "ranges",
            Item::Ranges {
                scopes: vec![0, 2],
                nodes: vec![
                    super::protocol::RangeNode {
                        depth: 1,
                        index: 5,
                        fingerprints: (0..16).map(|i| [i; 6]).collect(),
                        docs: vec![],
                    },
                    super::protocol::RangeNode {
                        depth: 2,
                        index: 0x5a,
                        fingerprints: vec![],
                        docs: vec![super::protocol::RangeDoc {
                            id: id(10),
                            heads: vec![[0xab; 32]],
                        }],
                    },
                ],
            },
        ),
        (
            "heads",
            Item::Heads {
                id: id(11),
                heads: vec![[1; 32], [2; 32]],
            },
        ),
        (
            "changes",
            Item::Changes {
                id: id(12),
                changes: vec![
                    vec![0x85, 0x6f, 0x4a, 0x83, 1],
                    vec![0x85, 0x6f, 0x4a, 0x83, 2],
                ],
                attest: vec![vouch()],
            },
        ),
        (
            "deflated",
            Item::Deflated {
                bytes: vec![0x4b, 0x4c, 0x4a, 0x06, 0x00],
            },
        ),
        (
            "pushed",
            Item::Pushed {
                scopes: vec![0, 3],
                digest: [7; 16],
            },
        ),
        (
            "resume",
            Item::Resume {
                min: 5,
                max: 5,
                scopes: [8; 8],
                digests: vec![[9; 8], [0; 8]],
                departing: vec![id(4)],
                registry: [5; 8],
            },
        ),
        ("send_hello", Item::SendHello),
        (
            "deflated_with",
            Item::DeflatedWith {
                dictionary: 1,
                bytes: vec![0x4b, 0x4c, 0x4a, 0x06, 0x00],
            },
        ),
    ]
}

/// What a `Resume` names a scope list by, and the dictionary protocol 5
/// compresses with: both sides must compute them alike for years.
#[test]
fn the_scope_list_hash_and_the_dictionary_number_keep_their_values() {
    let scopes = vec![
        "station".to_string(),
        "grid:00000000-0000-4000-8000-000000000001".to_string(),
    ];
    let hash = super::protocol::scope_list_hash(&scopes);
    assert_eq!(golden("scope-list-hash", &hash), Ok(()));
    // Order matters: positions in the list name scopes.
    let reversed: Vec<String> = scopes.iter().rev().cloned().collect();
    assert_ne!(super::protocol::scope_list_hash(&reversed), hash);
    assert_eq!(super::protocol::DICTIONARY_V5, 1);
}

#[test]
fn every_frame_item_a_frame_and_every_handshake_message_keep_their_bytes() {
    let mut problems = Vec::new();
    let items = every_item();
    for (name, item) in &items {
        if let Err(e) = golden(&format!("item-{name}"), &encode_item(item)) {
            problems.push(e);
        }
    }
    let frame = Frame {
        session: 77,
        turn: 3,
        index: 0,
        count: 2,
        items: items.into_iter().map(|(_, i)| i).take(3).collect(),
    };
    if let Err(e) = golden("frame", &encode(&frame)) {
        problems.push(e);
    }
    let noise = || (0..48).collect::<Vec<u8>>();
    for (name, msg) in [
        (
            "open",
            Handshake::Open {
                session: 77,
                enrol: Some([1, 2, 3, 4, 5, 6, 7, 8]),
                noise: noise(),
            },
        ),
        ("reply", Handshake::Reply { noise: noise() }),
        ("finish", Handshake::Finish { noise: noise() }),
        (
            "refuse",
            Handshake::Refuse {
                code: super::protocol::DENY_NOT_ENROLLED,
                reason: "not enrolled".into(),
            },
        ),
        (
            "open_known",
            Handshake::OpenKnown {
                session: 78,
                noise: noise(),
            },
        ),
        ("retry", Handshake::Retry),
    ] {
        if let Err(e) = golden(&format!("handshake-{name}"), &handshake_message(&msg)) {
            problems.push(e);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The proofs inside the handshake's Noise payloads: an initiator's with
/// its credential and the responder's named (what any responder reads), one
/// naming both, and a responder's that leaves its credential out.
#[test]
fn the_handshake_proofs_keep_their_bytes_and_older_responders_read_them() {
    use super::channel::{
        decode_initiator_proof, encode_initiator_proof, InitiatorProof, ProofNames, ResponderProof,
    };
    let hello = vec![vec![1, 2, 3]];
    let sent = InitiatorProof {
        credential: Some(signed()),
        enrolling: None,
        frames: hello.clone(),
    };
    let names = ProofNames {
        mine: None,
        yours: Some([4; 8]),
    };
    let bytes = encode_initiator_proof(&sent, &names);
    // A responder of protocol 3 decodes the proof as it always did and
    // ignores the names after it.
    let old: InitiatorProof = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(
        old.credential.map(|c| c.signature),
        Some(signed().signature)
    );
    assert_eq!(old.frames, hello);
    let (new, read) = decode_initiator_proof(&bytes).unwrap();
    assert_eq!((new.frames, read), (hello.clone(), names));
    // Without names the proof is byte for byte the protocol-3 one.
    assert_eq!(
        encode_initiator_proof(&sent, &ProofNames::default()),
        postcard::to_stdvec(&sent).unwrap()
    );
    let both = encode_initiator_proof(
        &InitiatorProof {
            credential: None,
            enrolling: None,
            frames: hello,
        },
        &ProofNames {
            mine: Some([3; 8]),
            yours: Some([4; 8]),
        },
    );
    let responder = postcard::to_stdvec(&ResponderProof {
        station_key: None,
        credential: ResponderProof::named(),
    })
    .unwrap();
    let mut problems = Vec::new();
    for (name, bytes) in [
        ("proof-initiator-naming-yours", &bytes),
        ("proof-initiator-naming-both", &both),
        ("proof-responder-named", &responder),
    ] {
        if let Err(e) = golden(name, bytes) {
            problems.push(e);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Trailing bytes that are not names are refused, not ignored.
    let mut bad = both.clone();
    bad.push(7);
    assert!(decode_initiator_proof(&bad).is_err());
}

#[test]
fn document_kinds_keep_their_wire_codes() {
    // Written out, not computed: these are what phones in the field send.
    let pinned = [
        (DocKind::Station, 0),
        (DocKind::Roster, 1),
        (DocKind::Worker, 2),
        (DocKind::Household, 3),
        (DocKind::Activity, 4),
        (DocKind::Request, 5),
        (DocKind::Case, 6),
    ];
    assert_eq!(pinned.len(), DocKind::ALL.len(), "a new kind needs a code");
    for (kind, code) in pinned {
        assert_eq!(kind.wire_code(), code, "{kind:?}");
        assert_eq!(DocKind::from_wire_code(code), Some(kind));
    }
    assert_eq!(DocKind::from_wire_code(200), None);
    // The registry has one row per kind: names parse back, nothing twice.
    let mut names: Vec<&str> = DocKind::ALL.iter().map(|k| k.as_str()).collect();
    for kind in DocKind::ALL {
        assert_eq!(DocKind::parse(kind.as_str()), Some(*kind));
    }
    names.sort();
    names.dedup();
    assert_eq!(names.len(), DocKind::ALL.len());
}

#[test]
fn every_item_is_encoded_with_its_written_code() {
    let items = every_item();
    // Every variant is in the list once: the codes run 0, 1, 2… with none
    // missing, so a new item without a golden file fails here too.
    let mut codes: Vec<u8> = items.iter().map(|(_, item)| item.wire_code()).collect();
    codes.sort_unstable();
    assert_eq!(codes, (0..codes.len() as u8).collect::<Vec<_>>());
    for (name, item) in &items {
        let encoded = encode_item(item);
        assert_eq!(
            encoded.first(),
            Some(&item.wire_code()),
            "{name}: encoded with another code than Item::wire_code says"
        );
        assert_eq!(
            super::protocol::decode_item(&encoded)
                .as_ref()
                .map(Item::wire_code),
            Ok(item.wire_code())
        );
    }
}
