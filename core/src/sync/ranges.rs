//! Range-based set reconciliation (protocol version 3): finding which
//! documents two devices hold in different states at a cost that grows with
//! the differences, not with the scope.
//!
//! Owns: the set of (document, heads) a session reconciles, its
//! fingerprints, and the answer to a peer's ranges. Bytes and the store stay
//! with the session.
//!
//! Every document has a *key*, the first 8 bytes of SHA-256 of its id, so
//! documents spread evenly whatever their ids look like. The key space is a
//! tree of fan-out 16: the node (depth d, index i) holds the documents whose
//! key's top 4·d bits are i. A node's *fingerprint* is the wrapping sum of
//! one 64-bit value per document — SHA-256 of the session's salt, the id and
//! the heads — cut to 6 bytes. Equal fingerprints mean equal contents (a
//! miss is 2⁻⁴⁸ per node, and the salt changes every session, so the next
//! session would catch it: the Hello's scope digests still differ).
//!
//! A side that finds a node differing answers with the node split into its
//! 16 children's fingerprints, or, when it holds few documents there, the
//! list of them with their heads; a side that receives such a list knows
//! both sides of that node and acts: snapshots of what the peer lacks, a
//! Want for what it lacks, and for a document both hold differently the
//! changes the peer lacks (when this side knows every head the peer
//! listed) or its own heads (when the peer is ahead, or both wrote).

use std::collections::HashMap;

use automerge::ChangeHash;
use sha2::{Digest, Sha256};

use super::protocol::{pack_id, unpack_id, RangeDoc, RangeNode};

/// Children per node.
pub const FANOUT: usize = 16;
/// Bits of the key each level of the tree consumes.
const LEVEL_BITS: u32 = 4;
/// The deepest node: an index is a `u32` (8 levels of 4 bits).
pub const MAX_DEPTH: u8 = 8;
/// A node holding at most this many documents is sent as their list
/// rather than split: a listed document costs about 50 bytes, a split 100
/// bytes and a half round trip more.
pub const LEAF_DOCS: usize = 8;
/// Bytes of a fingerprint.
pub const FINGERPRINT_BYTES: usize = 6;
/// A fingerprint on the wire.
pub type Fingerprint = [u8; FINGERPRINT_BYTES];

/// One document of the reconciled set.
#[derive(Debug, Clone)]
struct Element {
    key: u64,
    value: u64,
    id: String,
    heads: Vec<ChangeHash>,
}

/// What a node's list told this side about one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// The peer lacks it: send it whole.
    PeerLacks(String),
    /// This side lacks it: ask for it.
    Lacking(String),
    /// Both hold it in different states; the peer's heads.
    Differs(String, Vec<ChangeHash>),
}

/// A peer's range that breaks the protocol's rules (a value the peer
/// controls is checked, never trusted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadRange(pub &'static str);

/// The documents one session reconciles, sorted by key.
#[derive(Debug, Default)]
pub struct RangeSet {
    elements: Vec<Element>,
}

/// A document's place in the key space.
pub fn key_of(id: &str) -> u64 {
    let d = Sha256::digest(id.as_bytes());
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

fn value_of(salt: u32, id: &str, heads: &[ChangeHash]) -> u64 {
    let mut h = Sha256::new();
    h.update(salt.to_le_bytes());
    h.update((id.len() as u32).to_le_bytes());
    h.update(id.as_bytes());
    for head in heads {
        h.update(head.0);
    }
    let d = h.finalize();
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// The key range `[low, high]` of a node.
fn bounds(depth: u8, index: u32) -> (u64, u64) {
    if depth == 0 {
        return (0, u64::MAX);
    }
    let shift = 64 - u32::from(depth) * LEVEL_BITS;
    let low = u64::from(index) << shift;
    (low, low | ((1u64 << shift) - 1))
}

/// Checks a node address the peer sent.
fn check_address(depth: u8, index: u32) -> Result<(), BadRange> {
    if depth > MAX_DEPTH {
        return Err(BadRange("a range deeper than the tree"));
    }
    if depth < MAX_DEPTH && u64::from(index) >= 1u64 << (u32::from(depth) * LEVEL_BITS) {
        return Err(BadRange("a range index outside its level"));
    }
    Ok(())
}

impl RangeSet {
    /// The set of `docs` (id, heads), fingerprinted with this session's
    /// `salt`.
    pub fn new(salt: u32, docs: Vec<(String, Vec<ChangeHash>)>) -> Self {
        let mut elements: Vec<Element> = docs
            .into_iter()
            .map(|(id, heads)| Element {
                key: key_of(&id),
                value: value_of(salt, &id, &heads),
                id,
                heads,
            })
            .collect();
        elements.sort_by(|a, b| a.key.cmp(&b.key).then_with(|| a.id.cmp(&b.id)));
        RangeSet { elements }
    }

    /// How many documents.
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    fn slice(&self, depth: u8, index: u32) -> &[Element] {
        let (low, high) = bounds(depth, index);
        let start = self.elements.partition_point(|e| e.key < low);
        let end = self.elements.partition_point(|e| e.key <= high);
        &self.elements[start..end]
    }

    fn fingerprint_of(elements: &[Element]) -> Fingerprint {
        let sum = elements
            .iter()
            .fold(0u64, |acc, e| acc.wrapping_add(e.value));
        let mut out = [0u8; FINGERPRINT_BYTES];
        out.copy_from_slice(&sum.to_be_bytes()[..FINGERPRINT_BYTES]);
        out
    }

    /// The fingerprint of a node.
    pub fn fingerprint(&self, depth: u8, index: u32) -> Fingerprint {
        Self::fingerprint_of(self.slice(depth, index))
    }

    /// A node as this side sends it: split into its children's
    /// fingerprints, or (few documents, or the deepest level) the list of
    /// its documents with their heads.
    pub fn describe(&self, depth: u8, index: u32) -> RangeNode {
        let here = self.slice(depth, index);
        if here.len() <= LEAF_DOCS || depth >= MAX_DEPTH {
            return RangeNode {
                depth,
                index,
                fingerprints: Vec::new(),
                docs: here
                    .iter()
                    .map(|e| RangeDoc {
                        id: pack_id(&e.id),
                        heads: e.heads.iter().map(|h| h.0).collect(),
                    })
                    .collect(),
            };
        }
        let child_depth = depth + 1;
        let fingerprints = (0..FANOUT as u32)
            .map(|c| self.fingerprint(child_depth, (index << LEVEL_BITS) | c))
            .collect();
        RangeNode {
            depth,
            index,
            fingerprints,
            docs: Vec::new(),
        }
    }

    /// The answer to a node the peer sent: the nodes to send back (the
    /// children that differ, described by this side) and the differences
    /// this side can now act on (when the peer listed its documents).
    pub fn answer(&self, node: &RangeNode) -> Result<(Vec<RangeNode>, Vec<Difference>), BadRange> {
        check_address(node.depth, node.index)?;
        if !node.fingerprints.is_empty() {
            if node.fingerprints.len() != FANOUT || node.depth >= MAX_DEPTH {
                return Err(BadRange("a split range without one fingerprint per child"));
            }
            let child_depth = node.depth + 1;
            let replies = node
                .fingerprints
                .iter()
                .enumerate()
                .filter_map(|(c, theirs)| {
                    let child = (node.index << LEVEL_BITS) | c as u32;
                    (self.fingerprint(child_depth, child) != *theirs)
                        .then(|| self.describe(child_depth, child))
                })
                .collect();
            return Ok((replies, Vec::new()));
        }
        let (low, high) = bounds(node.depth, node.index);
        let mut theirs: HashMap<String, Vec<ChangeHash>> = HashMap::new();
        for doc in &node.docs {
            let id = unpack_id(&doc.id);
            let key = key_of(&id);
            if key < low || key > high {
                return Err(BadRange("a listed document outside its range"));
            }
            theirs.insert(id, doc.heads.iter().map(|h| ChangeHash(*h)).collect());
        }
        let mut differences = Vec::new();
        for mine in self.slice(node.depth, node.index) {
            match theirs.remove(&mine.id) {
                None => differences.push(Difference::PeerLacks(mine.id.clone())),
                Some(heads) => {
                    let mut a = heads.clone();
                    let mut b = mine.heads.clone();
                    a.sort();
                    b.sort();
                    if a != b {
                        differences.push(Difference::Differs(mine.id.clone(), heads));
                    }
                }
            }
        }
        let mut lacking: Vec<String> = theirs.into_keys().collect();
        lacking.sort();
        differences.extend(lacking.into_iter().map(Difference::Lacking));
        Ok((Vec::new(), differences))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hash(n: u8) -> ChangeHash {
        ChangeHash([n; 32])
    }

    fn doc(n: u32) -> String {
        uuid::Uuid::from_u128(u128::from(n) * 0x9e37_79b9_7f4a_7c15).to_string()
    }

    /// Runs the exchange to the end between two sets, as two sessions
    /// would, and returns what each side found and the nodes sent.
    fn reconcile(a: &RangeSet, b: &RangeSet) -> (Vec<Difference>, Vec<Difference>, usize) {
        let mut to_a = vec![b.describe(0, 0)];
        let mut to_b: Vec<RangeNode> = Vec::new();
        let (mut found_a, mut found_b, mut nodes) = (Vec::new(), Vec::new(), 1);
        while !to_a.is_empty() || !to_b.is_empty() {
            let mut next_b = Vec::new();
            for n in to_a.drain(..) {
                let (replies, diffs) = a.answer(&n).unwrap();
                nodes += replies.len();
                next_b.extend(replies);
                found_a.extend(diffs);
            }
            let mut next_a = Vec::new();
            for n in to_b.drain(..).chain(next_b) {
                let (replies, diffs) = b.answer(&n).unwrap();
                nodes += replies.len();
                next_a.extend(replies);
                found_b.extend(diffs);
            }
            to_a = next_a;
        }
        (found_a, found_b, nodes)
    }

    #[test]
    fn equal_sets_cost_one_node_and_find_nothing() {
        let docs: Vec<_> = (0..1000).map(|n| (doc(n), vec![hash(1)])).collect();
        let a = RangeSet::new(7, docs.clone());
        let b = RangeSet::new(7, docs);
        let (fa, fb, nodes) = reconcile(&a, &b);
        assert!(fa.is_empty() && fb.is_empty());
        assert_eq!(nodes, 1);
    }

    #[test]
    fn one_change_among_many_is_found_in_a_few_nodes() {
        let docs: Vec<_> = (0..20_000).map(|n| (doc(n), vec![hash(1)])).collect();
        let mut changed = docs.clone();
        changed[4321].1 = vec![hash(2)];
        let a = RangeSet::new(9, docs);
        let b = RangeSet::new(9, changed);
        let (fa, fb, nodes) = reconcile(&a, &b);
        let found: Vec<_> = fa.into_iter().chain(fb).collect();
        assert_eq!(found.len(), 1);
        assert!(matches!(&found[0], Difference::Differs(id, _) if *id == doc(4321)));
        // log16(20,000 / 8) levels, one node per level on the path.
        assert!(nodes <= 6, "{nodes} nodes");
    }

    #[test]
    fn a_listed_document_outside_its_range_is_refused() {
        let a = RangeSet::new(1, vec![(doc(1), vec![hash(1)])]);
        let id = doc(2);
        let key = key_of(&id);
        let wrong = ((key >> 60) as u32 + 1) % 16;
        let node = RangeNode {
            depth: 1,
            index: wrong,
            fingerprints: Vec::new(),
            docs: vec![RangeDoc {
                id: pack_id(&id),
                heads: vec![[1; 32]],
            }],
        };
        assert!(a.answer(&node).is_err());
        let deep = RangeNode {
            depth: MAX_DEPTH + 1,
            index: 0,
            fingerprints: Vec::new(),
            docs: Vec::new(),
        };
        assert!(a.answer(&deep).is_err());
        let short = RangeNode {
            depth: 0,
            index: 0,
            fingerprints: vec![[0; FINGERPRINT_BYTES]; 3],
            docs: Vec::new(),
        };
        assert!(a.answer(&short).is_err());
        let outside = RangeNode {
            depth: 1,
            index: 16,
            fingerprints: Vec::new(),
            docs: Vec::new(),
        };
        assert!(a.answer(&outside).is_err());
    }

    proptest! {
        /// Whatever the two sets, the exchange finds exactly their
        /// differences: documents only one side holds, and documents both
        /// hold with other heads.
        #[test]
        fn reconciliation_finds_exactly_the_differences(
            common in prop::collection::vec((0u32..5000, any::<bool>()), 0..300),
            only_a in prop::collection::vec(5000u32..6000, 0..20),
            only_b in prop::collection::vec(6000u32..7000, 0..20),
            salt in any::<u32>(),
        ) {
            let mut a_docs = HashMap::new();
            let mut b_docs = HashMap::new();
            for (n, changed) in &common {
                a_docs.insert(doc(*n), vec![hash(1)]);
                b_docs.insert(doc(*n), vec![if *changed { hash(2) } else { hash(1) }]);
            }
            for n in &only_a { a_docs.insert(doc(*n), vec![hash(3)]); }
            for n in &only_b { b_docs.insert(doc(*n), vec![hash(4)]); }
            let mut expected: Vec<String> = a_docs
                .iter()
                .filter(|(id, h)| b_docs.get(*id) != Some(h))
                .map(|(id, _)| id.clone())
                .chain(b_docs.keys().filter(|id| !a_docs.contains_key(*id)).cloned())
                .collect();
            expected.sort();
            let a = RangeSet::new(salt, a_docs.into_iter().collect());
            let b = RangeSet::new(salt, b_docs.into_iter().collect());
            let (fa, fb, _) = reconcile(&a, &b);
            let mut found: Vec<String> = fa
                .into_iter()
                .chain(fb)
                .map(|d| match d {
                    Difference::PeerLacks(id) | Difference::Lacking(id) | Difference::Differs(id, _) => id,
                })
                .collect();
            found.sort();
            found.dedup();
            prop_assert_eq!(found, expected);
        }
    }
}
