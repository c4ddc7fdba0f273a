//! Preset dictionaries for protocol 5's compressed turns (the
//! `DeflatedWith` item): DEFLATE that may refer back into bytes both sides
//! hold before the turn starts.
//!
//! Why: a small turn — five visits, one audit head — deflates badly on its
//! own, because the first change of a turn pays in full for every field
//! name, enum value and action name that later ones refer back to. A
//! dictionary of those words, in the shapes automerge and postcard give
//! them, makes the first one cheap too (about 220 bytes of a 1.4 KB turn).
//!
//! A dictionary is part of the wire format: once a build has sent with it,
//! its bytes never change (`dictionary_1_is_frozen` pins its SHA-256). A
//! better one is a new number, sent only to peers that speak a protocol
//! version that names it.
//!
//! How it works without a zlib preset-dictionary API: the sender primes
//! its compressor with the dictionary, flushes to a byte boundary, and
//! sends only what follows; the receiver primes its decompressor with the
//! dictionary as stored (uncompressed) blocks, then feeds what it
//! received. Both windows then hold the same bytes, whatever either
//! compressor made of the dictionary.

use std::io::{Read, Write};

/// Dictionary 1 (protocol 5): templates of the changes most often synced —
/// a visit, a new order — with every id, hash, signature and free text
/// zeroed, and the words of the enums they carry. Drafted by
/// `tests::the_drafter_keeps_the_words_of_a_write_and_blanks_every_id`
/// (with `ANXIN_WRITE_DICTIONARY` set to a path; to draft a successor,
/// never to rewrite this one).
pub const DICTIONARY_1: &[u8] = include_bytes!("dictionary-1.bin");

/// The dictionary numbered `id`, if this build has it.
pub fn dictionary(id: u8) -> Option<&'static [u8]> {
    match id {
        1 => Some(DICTIONARY_1),
        _ => None,
    }
}

/// `raw` deflated as if `dict` had come just before it; `None` if the
/// compressor fails (it does not, writing to memory).
pub fn deflate(dict: &[u8], raw: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(dict).ok()?;
    // A sync flush ends the dictionary's blocks on a byte boundary and
    // keeps the compressor's window.
    encoder.flush().ok()?;
    let primed = encoder.get_ref().len();
    encoder.write_all(raw).ok()?;
    let mut out = encoder.finish().ok()?;
    Some(out.split_off(primed))
}

/// What [`deflate`] made of `bytes` with the same `dict`, refusing more
/// than `max_bytes` once inflated.
pub fn inflate(dict: &[u8], bytes: &[u8], max_bytes: usize) -> Result<Vec<u8>, &'static str> {
    let primer = stored_blocks(dict);
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(primer.as_slice().chain(bytes))
        .take((dict.len() + max_bytes) as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| "deflated items cannot be inflated")?;
    if out.len() > dict.len() + max_bytes {
        return Err("deflated items larger than the agreed cap");
    }
    if out.get(..dict.len()) != Some(dict) {
        return Err("deflated items cannot be inflated");
    }
    Ok(out.split_off(dict.len()))
}

/// `data` as non-final stored DEFLATE blocks (RFC 1951 §3.2.4): a header
/// byte of zero (not final, no compression, padded to the byte), the
/// length and its complement, the bytes.
fn stored_blocks(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 5 * (data.len() / 65_535 + 1));
    for chunk in data.chunks(65_535) {
        let len = chunk.len() as u16;
        out.push(0);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn dictionary_1_is_frozen() {
        // Changing dictionary 1 breaks every peer that speaks protocol 5:
        // a new dictionary takes a new number.
        assert_eq!(
            hex::encode(Sha256::digest(DICTIONARY_1)),
            "829648ee29b36650dc6e89440e1b36912a9131b95c85e7b144255f1ba03132c9"
        );
        assert_eq!(dictionary(1), Some(DICTIONARY_1));
        assert_eq!(dictionary(0), None);
        assert_eq!(dictionary(2), None);
    }

    #[test]
    fn what_is_deflated_with_a_dictionary_inflates_with_it_alone() {
        let raw: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        for dict in [
            DICTIONARY_1,
            b"".as_slice(),
            &raw[..100],
            &[7u8; 70_000][..],
        ] {
            let packed = deflate(dict, &raw).unwrap();
            assert_eq!(inflate(dict, &packed, raw.len()).unwrap(), raw);
        }
        // Bytes that refer into the dictionary come out wrong, or not at
        // all, with another one.
        let words = &DICTIONARY_1[DICTIONARY_1.len() - 600..];
        let packed = deflate(DICTIONARY_1, words).unwrap();
        assert_eq!(inflate(DICTIONARY_1, &packed, 600).unwrap(), words);
        let other = vec![b'x'; DICTIONARY_1.len()];
        assert_ne!(inflate(&other, &packed, 600).ok().as_deref(), Some(words));
        // Empty input.
        let packed = deflate(DICTIONARY_1, b"").unwrap();
        assert_eq!(inflate(DICTIONARY_1, &packed, 0).unwrap(), b"");
    }

    #[test]
    fn inflating_refuses_more_than_the_cap_and_garbage() {
        let raw = vec![0u8; 100_000];
        let packed = deflate(DICTIONARY_1, &raw).unwrap();
        assert!(packed.len() < 1_000);
        assert_eq!(
            inflate(DICTIONARY_1, &packed, 99_999),
            Err("deflated items larger than the agreed cap")
        );
        assert_eq!(
            inflate(DICTIONARY_1, &packed, 100_000).unwrap().len(),
            100_000
        );
        assert!(inflate(DICTIONARY_1, &[0xff; 40], 1_000).is_err());
    }

    #[test]
    fn the_dictionary_shrinks_what_it_was_made_from() {
        // A template's words deflate to far less with the dictionary than
        // alone (the whole point); figures for real turns are in
        // `anxin bench sync`.
        let words = &DICTIONARY_1[DICTIONARY_1.len() - 600..];
        let alone = deflate(b"", words).unwrap().len();
        let with = deflate(DICTIONARY_1, words).unwrap().len();
        assert!(with * 4 < alone, "{with} vs {alone}");
    }

    proptest::proptest! {
        /// A peer controls the bytes: whatever they are, inflating ends
        /// with the items or an error, never more than the cap.
        #[test]
        fn any_bytes_inflate_to_at_most_the_cap_or_an_error(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400),
            cap in 0usize..5_000,
        ) {
            if let Ok(out) = inflate(DICTIONARY_1, &bytes, cap) {
                proptest::prop_assert!(out.len() <= cap);
            }
        }
    }

    /// The drafter keeps the words of a write and blanks what is
    /// particular to one: no id, hash or free text of the fixture reaches
    /// a dictionary. With `ANXIN_WRITE_DICTIONARY` set to a path it also
    /// writes the draft there (to make a successor; never to rewrite
    /// [`DICTIONARY_1`]).
    #[cfg(feature = "fixture")]
    #[test]
    fn the_drafter_keeps_the_words_of_a_write_and_blanks_every_id() {
        let draft = draft::dictionary().unwrap();
        // The draft, and the frozen dictionary drafted the same way.
        for dict in [draft.as_slice(), DICTIONARY_1] {
            let has = |needle: &[u8]| dict.windows(needle.len()).any(|w| w == needle);
            for word in [
                b"household.record_visit".as_slice(),
                b"order.request",
                b"days_left",
                b"severity",
                b"medicine",
                b"routine",
            ] {
                assert!(has(word), "{}", String::from_utf8_lossy(word));
            }
            // Every id written as text is zeros.
            for at in 0..dict.len().saturating_sub(36) {
                if let Some(id) = std::str::from_utf8(&dict[at..at + 36])
                    .ok()
                    .and_then(|s| uuid::Uuid::parse_str(s).ok())
                {
                    assert!(id.is_nil(), "an id left in a dictionary at {at}");
                }
            }
            // No free text of the benchmark's visits (what it measures
            // must not be in what it is compressed with).
            for text in ["胰岛素", "需要尽快送药"] {
                assert!(!has(text.as_bytes()), "{text}");
            }
        }
        if let Some(path) = std::env::var_os("ANXIN_WRITE_DICTIONARY") {
            std::fs::write(path, &draft).unwrap();
        }
    }

    #[cfg(feature = "fixture")]
    mod draft {
        use crate::doc::Author;
        use crate::fixture::{generate, FixtureSpec};
        use crate::model::*;
        use crate::store::{NewOrder, NewVisit, Store, StoreError, StoreOptions};
        use crate::sync::protocol::{encode_item, Item, Vouch};
        use automerge::AutoCommit;

        /// The changes `write` makes to document `id`.
        fn changes_of(
            store: &mut Store,
            id: &str,
            write: impl FnOnce(&mut Store) -> Result<(), StoreError>,
        ) -> Result<Vec<Vec<u8>>, StoreError> {
            let before = AutoCommit::load(&store.replica().document_bytes(id)?.2)
                .map(|mut d| d.get_heads())
                .unwrap_or_default();
            write(store)?;
            let mut after = AutoCommit::load(&store.replica().document_bytes(id)?.2).unwrap();
            Ok(after
                .get_changes(&before)
                .into_iter()
                .map(|c| c.raw_bytes().to_vec())
                .collect())
        }

        /// Zeroes what is particular to one change: its checksum, its
        /// dependencies and actor, and every id written as text.
        fn blank(change: &[u8]) -> Vec<u8> {
            let mut c = change.to_vec();
            let parsed = automerge::Change::from_bytes(change.to_vec()).unwrap();
            c[4..8].fill(0);
            let mut particular: Vec<Vec<u8>> = parsed.deps().iter().map(|h| h.0.to_vec()).collect();
            particular.push(parsed.actor_id().to_bytes().to_vec());
            for p in particular {
                while let Some(at) = c.windows(p.len()).position(|w| w == p.as_slice()) {
                    c[at..at + p.len()].fill(0);
                }
            }
            let mut at = 0;
            while at + 36 <= c.len() {
                if std::str::from_utf8(&c[at..at + 36])
                    .ok()
                    .and_then(|s| uuid::Uuid::parse_str(s).ok())
                    .is_some()
                {
                    c[at..at + 36].copy_from_slice(b"00000000-0000-0000-0000-000000000000");
                    at += 36;
                } else {
                    at += 1;
                }
            }
            c
        }

        fn changes_item(changes: Vec<Vec<u8>>) -> Vec<u8> {
            encode_item(&Item::Changes {
                id: vec![0; 16],
                changes: changes.iter().map(|c| blank(c)).collect(),
                attest: vec![Vouch {
                    seq: 1,
                    signature: vec![0; 64],
                }],
            })
        }

        pub(super) fn dictionary() -> Result<Vec<u8>, StoreError> {
            let mut store = Store::open(":memory:", StoreOptions::default())?;
            generate(
                &mut store,
                FixtureSpec {
                    households: 3,
                    seed: 1,
                },
                |_, _| {},
            )?;
            let worker = store.people().workers(None, Some(Role::Volunteer))?[0]
                .id
                .clone();
            let by = Author::Worker(worker);
            let household = HouseholdId(store.doc_ids(DocKind::Household)?[0].clone());
            // Least common first: the nearest bytes cost the fewest bits.
            let mut out = Vec::new();
            for words in [
                NeedKind::WORDS,
                Urgency::WORDS,
                OrderKind::WORDS,
                OrderStatus::WORDS,
            ] {
                for w in words {
                    out.extend_from_slice(w.as_bytes());
                }
            }
            // What opens a responder's turn and closes a push.
            let opening: Vec<Item> = vec![
                Item::Welcome {
                    version: crate::sync::protocol::PROTOCOL_MAX,
                    device: Vec::new(),
                    station: Vec::new(),
                    shared: (0..6).collect(),
                    offered: Vec::new(),
                    holds: Vec::new(),
                },
                Item::AuditHead {
                    seq: 1_000,
                    hash: vec![0; 32],
                    signature: vec![0; 64],
                },
                Item::Pushed {
                    scopes: (0..6).collect(),
                    digest: [0; 16],
                },
            ];
            for item in &opening {
                out.extend(encode_item(item));
            }
            let order = store.orders_mut().create_order(
                &by,
                NewOrder {
                    household_id: household.clone(),
                    resident_id: None,
                    kind: OrderKind::ALL[0],
                    items: vec![crate::model::Item {
                        // Required: one letter, no word of any one order.
                        name: "x".into(),
                        quantity: 1,
                        unit: String::new(),
                    }],
                    urgency: Urgency::Routine,
                    deadline: None,
                    note: String::new(),
                },
            )?;
            let mut order_doc =
                AutoCommit::load(&store.replica().document_bytes(order.as_str())?.2).unwrap();
            let all: Vec<Vec<u8>> = order_doc
                .get_changes(&[])
                .into_iter()
                .map(|c| c.raw_bytes().to_vec())
                .collect();
            out.extend(changes_item(all));
            let visit = changes_of(&mut store, household.as_str(), |s| {
                s.households_mut().record_visit(
                    &by,
                    &household,
                    NewVisit {
                        // A time of the years the dictionary serves.
                        at: 1_800_000_000_000,
                        needs: vec![Need {
                            kind: NeedKind::Medicine,
                            item: "x".into(),
                            days_left: Some(0),
                            detail: String::new(),
                            severity: Urgency::Routine,
                            met: None,
                        }],
                        notes: String::new(),
                    },
                )?;
                Ok(())
            })?;
            out.extend(changes_item(visit));
            Ok(out)
        }
    }
}
