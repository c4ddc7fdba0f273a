//! `SyncSession`: a sans-IO state machine. The host feeds it received frames
//! and sends the frames it returns, over whatever it has (Bluetooth, Nearby,
//! TCP, a file). It never opens a socket.
//!
//! A session, turn by turn (even turns are the initiator's):
//! 0. Hello: protocol version range, device, station, scopes and a digest
//!    per scope.
//! 1. Welcome (or Refuse): the agreed version and the shared scopes, and
//!    for the shared scopes whose digests differ: (version 4, with a peer
//!    this device completed a session with) what changed here since that
//!    session and a `Pushed` item with this side's digest of them, which the
//!    initiator answers with its own push or, digests equal, with Done;
//!    otherwise (version 3) the root of the range tree over their
//!    documents (a version-2 peer gets an inventory of each). An
//!    unchanged scope costs nothing more: one round trip in all.
//! 2. and on: each side answers the other's ranges (`sync::ranges`; with
//!    version 4 started by whichever side still finds the digests
//!    differing after the pushes); the
//!    side that learns both sides of a range sends snapshots of what the
//!    peer lacks, a Want list of what it lacks, and for a document both
//!    hold differently the peer's missing changes or its own heads (falling
//!    back to automerge's sync protocol when both wrote); wanted snapshots
//!    and replies follow, until the initiator has nothing to send; then
//!    Done.
//!
//! Everything received is committed as it arrives (one transaction per
//! document), so a broken link loses at most what was in flight and the
//! next session resumes. A document that cannot be applied is quarantined
//! and the session goes on. Caps on frame size, turns, bytes and time stop a
//! broken or hostile peer.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use automerge::sync::State;
use automerge::ChangeHash;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::channel::{
    self, Channel, Handshake, Incoming, InitiatorProof, ProofNames, ResponderProof,
};
use super::protocol::{self, pack_id, unpack_id, Item, ScopeDigest, PROTOCOL_MAX, PROTOCOL_MIN};
use super::ranges::{BadRange, Difference, RangeSet};
use crate::model::{DocKind, Scope};
use crate::store::{Applied, Store, StoreError, SyncStep};
use crate::trust::{fingerprint, Credential, EnrolCode, Signed, TrustError};

/// Limits of one session.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Largest frame sent or accepted, in bytes.
    pub max_frame_bytes: usize,
    /// Most turns before the session gives up.
    pub max_turns: u32,
    /// Most bytes sent plus received.
    pub max_bytes: u64,
    /// Longest a session may last.
    pub max_duration: Duration,
    /// Longest one whole frame may take to arrive (drivers that read from
    /// a socket enforce it): a byte now and then does not keep a session.
    pub frame_deadline: Duration,
    /// Most bytes of unfinished pieces held at once; a peer that sends
    /// more ends the session.
    pub max_piece_bytes: usize,
    /// Protocol versions spoken (an older or newer app sets other values).
    pub versions: (u16, u16),
    /// A device enrolling with a one-time code from the station: it proves
    /// the code, receives its credential, adopts the station and, when it
    /// holds no scopes yet, the scopes the station offers.
    pub enrol: Option<EnrolCode>,
    /// Whom the initiator expects to reach, so it can open with its proof
    /// and Hello in one message (one round trip when nothing changed).
    pub responder: ExpectedResponder,
}

/// Whom an initiator expects at the other end of the link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ExpectedResponder {
    /// The station laptop (what a phone reaches at the station's address).
    #[default]
    StationLaptop,
    /// A device the host identified (e.g. from a Bluetooth advertisement).
    Device(String),
    /// No guess: always the three-message handshake.
    Unknown,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            max_frame_bytes: 64 * 1024,
            max_turns: 200,
            max_bytes: 512 * 1024 * 1024,
            max_duration: Duration::from_secs(600),
            frame_deadline: Duration::from_secs(20),
            max_piece_bytes: 8 * 1024 * 1024,
            versions: (PROTOCOL_MIN, PROTOCOL_MAX),
            enrol: None,
            responder: ExpectedResponder::default(),
        }
    }
}

impl SyncConfig {
    /// Small frames for a Bluetooth LE link.
    pub fn bluetooth() -> Self {
        Self {
            max_frame_bytes: 4 * 1024,
            ..Self::default()
        }
    }
}

/// Why a session stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The peer refused, or this side refused the peer.
    #[error("session refused: {0}")]
    Refused(String),
    /// The peer broke the protocol (bad or foreign frame, unexpected item).
    #[error("protocol error: {0}")]
    Protocol(&'static str),
    /// A cap was reached.
    #[error("session stopped: {0}")]
    Cap(&'static str),
    /// A credential, key or code was not trusted (this device's or the
    /// peer's).
    #[error(transparent)]
    Trust(TrustError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Trust(t) => SyncError::Trust(t),
            other => SyncError::Store(other),
        }
    }
}

impl From<TrustError> for SyncError {
    fn from(e: TrustError) -> Self {
        SyncError::Trust(e)
    }
}

/// What a session did, for the host to show.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SessionReport {
    /// The peer's device id.
    pub peer: String,
    /// The protocol version used.
    pub version: u16,
    /// Scopes exchanged.
    pub shared_scopes: Vec<Scope>,
    /// Scopes whose digests already matched.
    pub unchanged_scopes: usize,
    /// Documents sent whole.
    pub snapshots_sent: u32,
    /// Automerge sync messages sent.
    pub sync_messages_sent: u32,
    /// Automerge changes sent on their own (a document's changes the peer
    /// lacked, found from its heads).
    pub changes_sent: u32,
    /// Documents received that changed this store.
    pub documents_received: u32,
    /// Frames sent and received.
    pub frames_sent: u32,
    /// Frames received.
    pub frames_received: u32,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Turns taken.
    pub turns: u32,
    /// Initiator: round trips the handshake took before the first turn
    /// (0 when the responder was the device expected, 1 for the
    /// three-message handshake, 2 when a wrong guess was retried).
    pub handshake_round_trips: u32,
    /// Documents refused (outside the shared scopes), with the reason.
    pub refused: Vec<(String, String)>,
    /// Documents quarantined, with the reason.
    pub quarantined: Vec<(String, String)>,
    /// Local copies purged because their household moved to a grid this
    /// device does not hold (after handing them to this peer).
    pub purged: Vec<String>,
    /// What audit anchoring found about the peer's chain (rows deleted
    /// from the end, a rewritten chain); also reported by `check`.
    pub audit_findings: Vec<String>,
    /// Documents sent because they changed since the last completed
    /// session with this peer (protocol 4).
    pub pushed: u32,
    /// Whether the initiator greeted with a `Resume` the responder
    /// recognised (protocol 5: the scope list it remembered, 8-byte
    /// digests) rather than the full Hello.
    pub resumed: bool,
    /// Whether documents were reconciled by ranges (protocol 3, or 4 when
    /// the peer's or this device's memory of their last session did not
    /// account for every difference).
    pub reconciled_by_ranges: bool,
    /// Whether the session finished.
    pub completed: bool,
    /// Why it stopped early, if it did.
    pub error: Option<String>,
}

/// Progress for a progress bar: documents done out of known total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Progress {
    /// Documents exchanged so far.
    pub done: u64,
    /// Documents known to need exchanging.
    pub total: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Running,
    Finished,
    Failed,
}

/// One sync session with one peer. See the module documentation.
pub struct SyncSession {
    config: SyncConfig,
    initiator: bool,
    session: u32,
    phase: Phase,
    started: Instant,
    peer: String,
    shared: Vec<String>,
    /// The turn expected next from the peer, and the frames of it seen.
    expecting: u32,
    seen: BTreeSet<u16>,
    expected_count: Option<u16>,
    /// What goes into this side's next turn.
    outbox: Vec<Item>,
    next_key: u32,
    pieces: HashMap<u32, BTreeMap<u16, Vec<u8>>>,
    piece_bytes: u64,
    states: HashMap<String, State>,
    /// Documents being synced, kept in memory for the whole session:
    /// automerge queues a received change whose dependencies have not
    /// arrived yet inside the document, and reloading it from the store
    /// would drop that queue while the peer believes it delivered.
    docs: HashMap<String, crate::doc::Document>,
    /// Every scope the peer holds (or, for an initiator, those of its
    /// departing grids the peer holds).
    peer_scopes: Vec<String>,
    /// The scopes this initiator listed in its Hello, in order.
    hello_scopes: Vec<String>,
    /// Documents sent whole in this session.
    sent: BTreeSet<String>,
    refusing: bool,
    progress: Progress,
    report: SessionReport,
    /// The secure channel the frames travel in.
    channel: Channel,
    /// The peer's credential, once the handshake proved it.
    peer_credential: Option<Credential>,
    /// Enrolling (initiator): the station key the responder proved.
    /// Enrolling (responder): the pending enrolment being redeemed.
    enrol_station_key: Option<[u8; 32]>,
    enrol_id: Option<[u8; 8]>,
    /// Responder: the credential just issued to an enrolling peer.
    issued: Option<Signed>,
    /// Responder: the peer's Hello arrived (nothing else may come first).
    greeted: bool,
    /// Documents this device must hand on (id → destination scope),
    /// computed once per session.
    departed: Option<BTreeMap<String, String>>,
    /// Documents the peer said it did not store: never purged here.
    refused_by_peer: BTreeSet<String>,
    /// Initiator: the responder's key it opened an IK handshake with.
    known_responder: Option<[u8; 32]>,
    /// Initiator: the device it expects and the credential it holds of
    /// it, named in its proof so the responder may leave it out; and
    /// whether its own proof named its credential instead of sending it.
    expected: Option<(String, Signed)>,
    named_mine: bool,
    /// Initiator: sealed frames that overtook the responder's `Reply`.
    early: Vec<(u64, Vec<u8>)>,
    /// Responder: it asked for a retry once already.
    retried: bool,
    /// Version 3: the documents this session reconciles by ranges, built
    /// once (the first `Ranges` names their scopes).
    ranges: Option<RangeSet>,
    /// Version 4: the peer's `Pushed` of its last turn (scopes and its
    /// digest of them), acted on once the whole turn is applied (the deflated
    /// items of a turn come before its snapshots).
    peer_pushed: Option<(Vec<String>, [u8; 16])>,
    /// Version 4: this side sent its own push (at most once a session).
    pushed: bool,
    /// Version 4, initiator: the changes the responder pushed, by
    /// document. The peer holds them, so this side's own push counts them
    /// as known (a document both wrote would otherwise go back with the
    /// peer's changes in it).
    pushed_to_me: HashMap<String, Vec<ChangeHash>>,
    /// Where this store's change sequence stood when the session began:
    /// a push carries what changed up to there, not what the peer has
    /// just sent.
    start_seq: i64,
    /// Version 5, initiator: its Hello was a `Resume`.
    resuming: bool,
    /// Version 5, responder: it could not resume and asked for the full
    /// Hello (the rest of the initiator's first turn may still come).
    asked_for_hello: bool,
}

/// Sealed frames an initiator keeps while the `Reply` they overtook is on
/// its way; more end the session.
const MAX_EARLY_FRAMES: usize = 64;

/// Session ids are drawn from the numbers postcard writes in exactly four
/// bytes (2^21 up to 2^28): a session's size then never depends on the draw
/// (a random `u32` took four or five bytes in every frame, so the same
/// exchange varied by a few bytes), and 2^28 - 2^21 ids still tell one
/// session's frames from another's and salt its range fingerprints.
const SESSION_IDS: std::ops::Range<u32> = (1 << 21)..(1 << 28);

impl SyncSession {
    /// A session that this side starts.
    pub fn initiate(config: SyncConfig) -> Self {
        use rand::Rng;
        Self::new(config, true, rand::thread_rng().gen_range(SESSION_IDS))
    }

    /// A session that answers a peer's Hello.
    pub fn respond(config: SyncConfig) -> Self {
        Self::new(config, false, 0)
    }

    fn new(config: SyncConfig, initiator: bool, session: u32) -> Self {
        SyncSession {
            config,
            initiator,
            session,
            phase: Phase::Start,
            started: Instant::now(),
            peer: String::new(),
            shared: Vec::new(),
            expecting: if initiator { 1 } else { 0 },
            seen: BTreeSet::new(),
            expected_count: None,
            outbox: Vec::new(),
            next_key: 0,
            pieces: HashMap::new(),
            piece_bytes: 0,
            states: HashMap::new(),
            docs: HashMap::new(),
            peer_scopes: Vec::new(),
            hello_scopes: Vec::new(),
            sent: BTreeSet::new(),
            refusing: false,
            progress: Progress::default(),
            report: SessionReport::default(),
            channel: Channel::Idle,
            peer_credential: None,
            enrol_station_key: None,
            enrol_id: None,
            issued: None,
            greeted: false,
            departed: None,
            refused_by_peer: BTreeSet::new(),
            known_responder: None,
            expected: None,
            named_mine: false,
            early: Vec::new(),
            retried: false,
            ranges: None,
            peer_pushed: None,
            pushed_to_me: HashMap::new(),
            pushed: false,
            start_seq: i64::MAX,
            resuming: false,
            asked_for_hello: false,
        }
    }

    /// The largest inner frame: room is left for sealing.
    fn inner_cap(&self) -> usize {
        self.config
            .max_frame_bytes
            .saturating_sub(channel::SEAL_OVERHEAD)
            .max(256)
    }

    /// Whether the session has finished (successfully or not).
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Finished | Phase::Failed)
    }

    /// The largest frame this session sends or accepts.
    pub fn max_frame_bytes(&self) -> usize {
        self.config.max_frame_bytes
    }

    /// Test only: sends `items` as turn `turn`, sealed, whatever the
    /// protocol would say (a hostile peer's frames).
    #[cfg(test)]
    pub(crate) fn forge_turn(&mut self, turn: u32, items: Vec<Item>) -> Vec<Vec<u8>> {
        let frames = self.send_turn(turn, items);
        self.seal_all(frames).unwrap_or_default()
    }

    /// How long one whole frame may take to arrive.
    pub fn frame_deadline(&self) -> Duration {
        self.config.frame_deadline
    }

    /// What the session did so far.
    pub fn report(&self) -> &SessionReport {
        &self.report
    }

    /// Documents done out of known total.
    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// The initiator's first message (the handshake's first step). A
    /// responder returns none.
    pub fn start(&mut self, store: &Store) -> Result<Vec<Vec<u8>>, SyncError> {
        if !self.initiator || self.phase != Phase::Start {
            return Ok(Vec::new());
        }
        self.phase = Phase::Running;
        self.start_seq = store.change_seq()?;
        let (pattern, psk) = match &self.config.enrol {
            Some(code) => {
                self.enrol_id = Some(code.id);
                (crate::trust::NOISE_ENROL, Some(code.psk()))
            }
            None => {
                let Some((own, _)) = store.devices().credential()? else {
                    return Err(TrustError::NotEnrolled.into());
                };
                let guess = match &self.config.responder {
                    ExpectedResponder::StationLaptop => store.likely_responder(None)?,
                    ExpectedResponder::Device(d) => store.likely_responder(Some(d))?,
                    ExpectedResponder::Unknown => None,
                };
                if let Some((key, device, credential)) = guess {
                    return self.open_known(store, own, key, &device, credential);
                }
                (crate::trust::NOISE_SESSION, None)
            }
        };
        self.open_unknown(store, pattern, psk)
    }

    /// Message 1 of the three-message handshake (XX, or XXpsk3 enrolling).
    fn open_unknown(
        &mut self,
        store: &Store,
        pattern: &str,
        psk: Option<[u8; 32]>,
    ) -> Result<Vec<Vec<u8>>, SyncError> {
        let mut hs = channel::noise_state(
            pattern,
            store.keys().noise_secret(),
            psk.as_ref(),
            None,
            true,
        )
        .map_err(SyncError::Protocol)?;
        let noise = channel::write(&mut hs, &[]).map_err(SyncError::Protocol)?;
        self.channel = Channel::Handshaking(Box::new(hs));
        self.report.handshake_round_trips += 1;
        let msg = channel::handshake_message(&Handshake::Open {
            session: self.session,
            enrol: self.enrol_id,
            noise,
        });
        self.count_sent(std::slice::from_ref(&msg));
        Ok(vec![msg])
    }

    /// Message 1 of the IK handshake: the proof and the Hello, encrypted to
    /// the static key of the device expected.
    fn open_known(
        &mut self,
        store: &Store,
        own: Signed,
        responder: [u8; 32],
        responder_device: &str,
        responder_credential: Signed,
    ) -> Result<Vec<Vec<u8>>, SyncError> {
        let mut hs = channel::noise_state(
            crate::trust::NOISE_SESSION_KNOWN,
            store.keys().noise_secret(),
            None,
            Some(&responder),
            true,
        )
        .map_err(SyncError::Protocol)?;
        let frames = self.hello_frames(store, Some(responder_device))?;
        // Credentials both sides hold already are named, not sent: the
        // responder's always (an older one ignores the name), this
        // device's when the responder last had it at protocol 4 or later.
        let mine = channel::credential_fingerprint(&own);
        let held = store.credential_held_by(responder_device)? == Some(mine);
        let names = ProofNames {
            mine: held.then_some(mine),
            yours: Some(channel::credential_fingerprint(&responder_credential)),
        };
        let proof = channel::encode_initiator_proof(
            &InitiatorProof {
                credential: (!held).then_some(own),
                enrolling: None,
                frames,
            },
            &names,
        );
        let noise = channel::write(&mut hs, &proof).map_err(SyncError::Protocol)?;
        self.channel = Channel::Handshaking(Box::new(hs));
        self.known_responder = Some(responder);
        self.expected = Some((responder_device.to_string(), responder_credential));
        self.named_mine = held;
        let msg = channel::handshake_message(&Handshake::OpenKnown {
            session: self.session,
            noise,
        });
        self.count_sent(std::slice::from_ref(&msg));
        Ok(vec![msg])
    }

    /// The inner session's first turn: the Hello (a `Resume` to `peer`
    /// when both can) and this device's audit head.
    fn hello_frames(
        &mut self,
        store: &Store,
        peer: Option<&str>,
    ) -> Result<Vec<Vec<u8>>, SyncError> {
        let hello = self.hello(store, peer)?;
        let mut items = vec![hello];
        items.extend(audit_head_item(store)?);
        let frames = protocol::pack(self.session, 0, items, self.inner_cap(), &mut self.next_key);
        self.report.turns = 1;
        Ok(frames)
    }

    /// This device's Hello: its scopes and their digests. To a `peer` it
    /// completed a version-5 session with, holding the same scopes as
    /// then, a `Resume` instead (the peer remembers the list).
    fn hello(&mut self, store: &Store, peer: Option<&str>) -> Result<Item, SyncError> {
        let scopes = if self.config.enrol.is_some() {
            // Enrolling: the scopes chosen for this device, or everything
            // the credential will grant ("station" alone asks for that).
            if store.replica().has_explicit_scopes()? {
                store.scope_keys()?
            } else {
                vec!["station".to_string()]
            }
        } else {
            store.held_scope_keys()?
        };
        let mut digests = Vec::new();
        for s in &scopes {
            let (digest, docs) = store.scope_digest_of(s)?;
            digests.push(ScopeDigest {
                digest: short(&digest),
                docs,
            });
        }
        self.hello_scopes = scopes.clone();
        let mut departing: Vec<String> = self.departed(store)?.values().cloned().collect();
        departing.sort();
        departing.dedup();
        let departing = protocol::pack_scopes(&departing);
        let registry = if store.devices().station_public()?.is_some() {
            store.devices().registry_digest()?
        } else {
            [0; 16]
        };
        let resumable = match peer {
            Some(peer) if self.config.enrol.is_none() && self.config.versions.1 >= 5 => {
                store.resume_hash_with(peer)? == Some(protocol::scope_list_hash(&scopes))
            }
            _ => false,
        };
        if resumable {
            // Forgotten until this session completes: a peer that can no
            // longer resume (its app went back to an older version) then
            // gets the full Hello next time, not the same failure.
            if let Some(peer) = peer {
                store.set_resume_hash_with(peer, None)?;
            }
            self.resuming = true;
            return Ok(Item::Resume {
                min: self.config.versions.0.max(5),
                max: self.config.versions.1,
                scopes: protocol::scope_list_hash(&scopes),
                digests: digests
                    .iter()
                    .map(|d| match d.docs {
                        0 => [0; 8],
                        _ => short8(&d.digest),
                    })
                    .collect(),
                departing,
                registry: short8(&registry),
            });
        }
        Ok(Item::Hello {
            min: self.config.versions.0,
            max: self.config.versions.1,
            device: pack_id(&store.device().device_id),
            station: store
                .replica()
                .station_id()?
                .map(|s| pack_id(&s))
                .unwrap_or_default(),
            scopes: protocol::pack_scopes(&scopes),
            digests,
            departing,
            registry,
        })
    }

    fn count_sent(&mut self, frames: &[Vec<u8>]) {
        self.report.frames_sent += frames.len() as u32;
        self.report.bytes_sent += frames.iter().map(|f| f.len() as u64).sum::<u64>();
    }

    /// Seals inner frames for the wire.
    fn seal_all(&mut self, frames: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, SyncError> {
        let Channel::Open {
            transport,
            next_nonce,
        } = &mut self.channel
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(frames.len());
        let short_nonce = self.report.version >= 5;
        let mut sealing = 0;
        for f in frames {
            let sealed = channel::seal(transport, *next_nonce, &f, short_nonce)
                .map_err(SyncError::Protocol)?;
            sealing += sealed.len() - f.len();
            out.push(sealed);
            *next_nonce += 1;
        }
        // The inner frames were counted by `send_turn`; count the sealing.
        self.report.bytes_sent += sealing as u64;
        Ok(out)
    }

    fn send_turn(&mut self, turn: u32, items: Vec<Item>) -> Vec<Vec<u8>> {
        let frames_items_done = matches!(items.as_slice(), [Item::Done]);
        // Version 3 (agreed: the peer understands it) compresses the
        // turn's small items.
        let items = match self.report.version {
            5.. => protocol::deflate_items(items, Some(protocol::DICTIONARY_V5)),
            3..=4 => protocol::deflate_items(items, None),
            _ => items,
        };
        let frames = protocol::pack(
            self.session,
            turn,
            items,
            self.inner_cap(),
            &mut self.next_key,
        );
        // The closing Done is a notice, not a turn anyone waits on.
        if !frames_items_done {
            self.report.turns = turn + 1;
        }
        self.report.frames_sent += frames.len() as u32;
        self.report.bytes_sent += frames.iter().map(|f| f.len() as u64).sum::<u64>();
        frames
    }

    /// Feeds one received frame; returns the frames to send (possibly
    /// none). After an error the session is finished and its report says why.
    pub fn receive(&mut self, store: &mut Store, bytes: &[u8]) -> Result<Vec<Vec<u8>>, SyncError> {
        if self.is_finished() {
            return Ok(Vec::new());
        }
        match self.receive_outer(store, bytes) {
            Ok(out) => Ok(out),
            Err(e) => {
                self.phase = Phase::Failed;
                self.report.error = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// Ends a session whose link broke, recording why.
    pub fn abandon(&mut self, why: &str) {
        if !self.is_finished() {
            self.phase = Phase::Failed;
            self.report.error = Some(why.to_string());
        }
    }

    /// The channel layer: the handshake, then sealed frames.
    fn receive_outer(
        &mut self,
        store: &mut Store,
        bytes: &[u8],
    ) -> Result<Vec<Vec<u8>>, SyncError> {
        if self.started.elapsed() > self.config.max_duration {
            return Err(SyncError::Cap("the session took too long"));
        }
        self.report.bytes_received += bytes.len() as u64;
        if self.report.bytes_received + self.report.bytes_sent > self.config.max_bytes {
            return Err(SyncError::Cap("too many bytes"));
        }
        if bytes.len() > self.config.max_frame_bytes.max(channel::NOISE_MAX + 64) {
            return Err(SyncError::Protocol("frame larger than the agreed cap"));
        }
        match channel::parse(bytes).map_err(SyncError::Protocol)? {
            Incoming::Handshake(msg) => self.on_handshake(store, msg),
            Incoming::Sealed(nonce, ciphertext) => {
                let Channel::Open { transport, .. } = &self.channel else {
                    // The responder's first turn may overtake its Reply on
                    // a link that reorders: kept until the Reply comes.
                    if self.known_responder.is_some() && self.early.len() < MAX_EARLY_FRAMES {
                        self.early.push((nonce, ciphertext.to_vec()));
                        return Ok(Vec::new());
                    }
                    return Err(SyncError::Protocol(
                        "nothing but the handshake is accepted before it completes",
                    ));
                };
                let plain =
                    channel::open(transport, nonce, ciphertext).map_err(SyncError::Protocol)?;
                let out = self.receive_inner(store, &plain)?;
                self.seal_all(out)
            }
            Incoming::Other => self.refuse_old_peer(bytes),
        }
    }

    /// A protocol-1 app (no handshake) gets a refusal it can read, in its
    /// own framing; anything else that is not protocol 2 is an error.
    fn refuse_old_peer(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, SyncError> {
        let old = protocol::decode(bytes, self.config.max_frame_bytes).ok();
        let is_hello = old
            .as_ref()
            .is_some_and(|f| f.turn == 0 && matches!(f.items.first(), Some(Item::Hello { .. })));
        if self.initiator || self.phase != Phase::Start || !is_hello {
            return Err(SyncError::Protocol("not an Anxin sync message"));
        }
        let reason = "this station requires sync protocol 2 (enrolled devices, encrypted sessions): update the app and enrol the device with a code from the station".to_string();
        let session = old.map(|f| f.session).unwrap_or_default();
        let frame = protocol::encode(&protocol::Frame {
            session,
            turn: 1,
            index: 0,
            count: 1,
            items: vec![Item::Refuse {
                reason: reason.clone(),
            }],
        });
        self.phase = Phase::Failed;
        self.report.error = Some(reason);
        self.count_sent(std::slice::from_ref(&frame));
        Ok(vec![frame])
    }

    fn on_handshake(
        &mut self,
        store: &mut Store,
        msg: Handshake,
    ) -> Result<Vec<Vec<u8>>, SyncError> {
        match (msg, self.initiator) {
            (
                Handshake::Open {
                    session,
                    enrol,
                    noise,
                },
                false,
            ) => {
                if !matches!(self.channel, Channel::Idle) {
                    return Ok(Vec::new()); // a duplicate
                }
                self.session = session;
                self.phase = Phase::Running;
                let Some((own, _)) = store.devices().credential()? else {
                    return self.refuse_handshake(TrustError::Refused(
                        crate::refusal::Rule::PeerNotEnrolled,
                    ));
                };
                let station_key = store
                    .devices()
                    .station_public()?
                    .ok_or(TrustError::NotEnrolled)?;
                let (pattern, psk) = match enrol {
                    Some(id) => match store.enrolment_psk(&id)? {
                        Some(psk) => (crate::trust::NOISE_ENROL, Some(psk)),
                        None => return self.refuse_handshake(TrustError::CodeUnusable),
                    },
                    None => (crate::trust::NOISE_SESSION, None),
                };
                self.enrol_id = enrol;
                let mut hs = channel::noise_state(
                    pattern,
                    store.keys().noise_secret(),
                    psk.as_ref(),
                    None,
                    false,
                )
                .map_err(SyncError::Protocol)?;
                channel::read(&mut hs, &noise).map_err(SyncError::Protocol)?;
                let proof = postcard::to_stdvec(&ResponderProof {
                    station_key: enrol.map(|_| station_key),
                    credential: own,
                })
                .unwrap_or_default();
                let noise = channel::write(&mut hs, &proof).map_err(SyncError::Protocol)?;
                self.channel = Channel::Handshaking(Box::new(hs));
                let m = channel::handshake_message(&Handshake::Reply { noise });
                self.count_sent(std::slice::from_ref(&m));
                Ok(vec![m])
            }
            (Handshake::OpenKnown { session, noise }, false) => {
                if !matches!(self.channel, Channel::Idle) {
                    return Ok(Vec::new()); // a duplicate
                }
                let Some((own, _)) = store.devices().credential()? else {
                    self.phase = Phase::Running;
                    return self.refuse_handshake(TrustError::Refused(
                        crate::refusal::Rule::PeerNotEnrolled,
                    ));
                };
                let mut hs = channel::noise_state(
                    crate::trust::NOISE_SESSION_KNOWN,
                    store.keys().noise_secret(),
                    None,
                    None,
                    false,
                )
                .map_err(SyncError::Protocol)?;
                let Ok(payload) = channel::read(&mut hs, &noise) else {
                    // Encrypted to another device's key (or garbage): the
                    // initiator may start over once, without a guess.
                    if std::mem::replace(&mut self.retried, true) {
                        return Err(SyncError::Protocol(channel::HANDSHAKE_FAILED));
                    }
                    let m = channel::handshake_message(&Handshake::Retry);
                    self.count_sent(std::slice::from_ref(&m));
                    return Ok(vec![m]);
                };
                self.session = session;
                self.phase = Phase::Running;
                let remote = hs
                    .get_remote_static()
                    .map(|k| k.to_vec())
                    .ok_or(SyncError::Protocol(channel::HANDSHAKE_FAILED))?;
                let (proof, names) =
                    channel::decode_initiator_proof(&payload).map_err(SyncError::Protocol)?;
                let verified = match (&proof.credential, &proof.enrolling, &names.mine) {
                    (Some(signed), None, _) => store.devices().verify_peer(signed, &remote),
                    (None, None, Some(named)) => match store.registry_credential_named(named)? {
                        Some(signed) => store.devices().verify_peer(&signed, &remote),
                        // Not in this registry (lost, or a renewal not
                        // heard of): the initiator starts over and sends
                        // its credential.
                        None => {
                            if std::mem::replace(&mut self.retried, true) {
                                return Err(SyncError::Protocol(channel::HANDSHAKE_FAILED));
                            }
                            let m = channel::handshake_message(&Handshake::Retry);
                            self.count_sent(std::slice::from_ref(&m));
                            return Ok(vec![m]);
                        }
                    },
                    _ => Err(TrustError::Malformed {
                        what: "the peer's proof",
                    }
                    .into()),
                };
                // The initiator holds this device's credential: named, not
                // sent (protocol 4; a session held to 3 sends it).
                let credential = if self.config.versions.1 >= 4
                    && names.yours == Some(channel::credential_fingerprint(&own))
                {
                    ResponderProof::named()
                } else {
                    own
                };
                let reply = postcard::to_stdvec(&ResponderProof {
                    station_key: None,
                    credential,
                })
                .unwrap_or_default();
                let noise = channel::write(&mut hs, &reply).map_err(SyncError::Protocol)?;
                let m = channel::handshake_message(&Handshake::Reply { noise });
                self.count_sent(std::slice::from_ref(&m));
                self.channel = open_channel(Box::new(hs))?;
                let mut out = vec![m];
                out.extend(self.accept_initiator(store, verified, proof.frames)?);
                Ok(out)
            }
            (Handshake::Retry, true) => {
                let waiting = matches!(&self.channel, Channel::Handshaking(hs) if !hs.is_my_turn());
                if self.known_responder.take().is_none() || !waiting {
                    return Ok(Vec::new()); // a duplicate, or out of place
                }
                self.early.clear();
                self.report.handshake_round_trips += 1;
                if let (true, Some((device, _))) =
                    (std::mem::take(&mut self.named_mine), &self.expected)
                {
                    // The responder did not hold the credential named: it
                    // gets it in full from now on.
                    store.set_credential_held_by(device, None)?;
                }
                self.expected = None;
                self.open_unknown(store, crate::trust::NOISE_SESSION, None)
            }
            (Handshake::Reply { noise }, true) => {
                let mut hs = match std::mem::replace(&mut self.channel, Channel::Idle) {
                    Channel::Handshaking(hs) if !hs.is_my_turn() => hs,
                    // Reply already read: a duplicate.
                    other => {
                        self.channel = other;
                        return Ok(Vec::new());
                    }
                };
                let payload = channel::read(&mut hs, &noise).map_err(SyncError::Protocol)?;
                let remote = hs
                    .get_remote_static()
                    .map(|k| k.to_vec())
                    .ok_or(SyncError::Protocol(channel::HANDSHAKE_FAILED))?;
                let proof: ResponderProof = postcard::from_bytes(&payload)
                    .map_err(|_| SyncError::Protocol(channel::HANDSHAKE_FAILED))?;
                let credential = match &self.config.enrol {
                    Some(code) => {
                        let station_key = proof.station_key.ok_or(TrustError::BadSignature {
                            what: "the peer (it named no station key)",
                        })?;
                        if fingerprint(&station_key) != code.fingerprint {
                            return Err(TrustError::BadSignature {
                                what: "the peer (its station key does not match the code)",
                            }
                            .into());
                        }
                        let c = proof.credential.credential(&station_key)?;
                        if c.noise_key.as_slice() != remote.as_slice() || !c.is_station() {
                            return Err(TrustError::Refused(
                                crate::refusal::Rule::PeerNotStationLaptop,
                            )
                            .into());
                        }
                        self.enrol_station_key = Some(station_key);
                        c
                    }
                    None => match store.devices().verify_peer(
                        match (&self.expected, proof.left_out()) {
                            (Some((_, named)), true) => named,
                            (None, true) => {
                                return Err(TrustError::Malformed {
                                    what: "the peer's proof",
                                }
                                .into())
                            }
                            (_, false) => &proof.credential,
                        },
                        &remote,
                    ) {
                        Err(StoreError::Trust(TrustError::BadSignature { .. })) => {
                            return Err(TrustError::BadSignature {
                                what: "the peer (another station's key)",
                            }
                            .into())
                        }
                        other => other?,
                    },
                };
                self.peer = credential.device.clone();
                self.report.peer = credential.device.clone();
                self.peer_credential = Some(credential);
                if self.known_responder.is_some() {
                    // IK: the Hello went out in message 1; the channel is
                    // open, and the responder's first turn may be here.
                    self.channel = open_channel(hs)?;
                    let mut out = Vec::new();
                    for (nonce, ciphertext) in std::mem::take(&mut self.early) {
                        let Channel::Open { transport, .. } = &self.channel else {
                            break;
                        };
                        let plain = channel::open(transport, nonce, &ciphertext)
                            .map_err(SyncError::Protocol)?;
                        out.extend(self.receive_inner(store, &plain)?);
                    }
                    return self.seal_all(out);
                }
                let peer = self.peer.clone();
                let frames = self.hello_frames(store, Some(&peer))?;
                let own = match &self.config.enrol {
                    Some(_) => None,
                    None => store.devices().credential()?.map(|(s, _)| s),
                };
                let proof = postcard::to_stdvec(&InitiatorProof {
                    credential: own,
                    enrolling: self.config.enrol.as_ref().map(|_| {
                        (
                            store.device().device_id.clone(),
                            store.keys().signing_public(),
                        )
                    }),
                    frames,
                })
                .unwrap_or_default();
                let noise = channel::write(&mut hs, &proof).map_err(SyncError::Protocol)?;
                self.channel = open_channel(hs)?;
                let m = channel::handshake_message(&Handshake::Finish { noise });
                self.count_sent(std::slice::from_ref(&m));
                Ok(vec![m])
            }
            (Handshake::Finish { noise }, false) => {
                let Channel::Handshaking(hs) = &mut self.channel else {
                    return Ok(Vec::new());
                };
                let payload = channel::read(hs, &noise).map_err(SyncError::Protocol)?;
                let remote = hs
                    .get_remote_static()
                    .map(|k| k.to_vec())
                    .ok_or(SyncError::Protocol(channel::HANDSHAKE_FAILED))?;
                let Channel::Handshaking(hs) = std::mem::replace(&mut self.channel, Channel::Idle)
                else {
                    return Err(SyncError::Protocol(channel::HANDSHAKE_FAILED));
                };
                self.channel = open_channel(hs)?;
                let (proof, _) =
                    channel::decode_initiator_proof(&payload).map_err(SyncError::Protocol)?;
                let verified = match (self.enrol_id, &proof.credential, &proof.enrolling) {
                    (Some(id), None, Some((device, signing_key))) => {
                        let noise_key: [u8; 32] = remote
                            .as_slice()
                            .try_into()
                            .map_err(|_| SyncError::Protocol(channel::HANDSHAKE_FAILED))?;
                        store
                            .redeem_enrolment(&id, device, *signing_key, noise_key)
                            .and_then(|signed| {
                                let c = store.devices().verify_peer(&signed, &remote)?;
                                self.issued = Some(signed);
                                Ok(c)
                            })
                    }
                    (None, Some(signed), None) => store.devices().verify_peer(signed, &remote),
                    _ => Err(TrustError::Malformed {
                        what: "the peer's proof",
                    }
                    .into()),
                };
                self.accept_initiator(store, verified, proof.frames)
            }
            (Handshake::Refuse { code, reason }, true) => Err(SyncError::Trust(protocol::denied(
                code,
                reason,
                &store.device().device_id,
            ))),
            // A message for the other side, or out of place: ignored, as
            // duplicates are.
            _ => Ok(Vec::new()),
        }
    }

    /// Responder: the handshake ended with the initiator's proof checked
    /// (`verified`); its first turn (`frames`) is read if the proof held,
    /// else the initiator is told why, inside the channel. Returns sealed
    /// frames.
    fn accept_initiator(
        &mut self,
        store: &mut Store,
        verified: Result<Credential, StoreError>,
        frames: Vec<Vec<u8>>,
    ) -> Result<Vec<Vec<u8>>, SyncError> {
        let credential = match verified {
            Ok(c) => c,
            Err(e) => {
                let reason = e.to_string();
                self.report.error = Some(reason.clone());
                self.phase = Phase::Failed;
                let code = match &e {
                    StoreError::Trust(t) => protocol::deny_code(t),
                    _ => protocol::DENY_UNAUTHORIZED,
                };
                let frames = self.send_turn(1, vec![Item::Deny { code, reason }]);
                return self.seal_all(frames);
            }
        };
        self.peer = credential.device.clone();
        self.report.peer = credential.device.clone();
        self.peer_credential = Some(credential);
        let mut out = Vec::new();
        for frame in frames {
            out.extend(self.receive_inner(store, &frame)?);
            if self.is_finished() && !self.refusing {
                break;
            }
        }
        self.seal_all(out)
    }

    /// Declines to run the handshake, in clear (nothing of the station's
    /// data is said).
    fn refuse_handshake(&mut self, e: TrustError) -> Result<Vec<Vec<u8>>, SyncError> {
        let reason = e.to_string();
        self.phase = Phase::Failed;
        self.report.error = Some(reason.clone());
        let code = protocol::deny_code(&e);
        let m = channel::handshake_message(&Handshake::Refuse { code, reason });
        self.count_sent(std::slice::from_ref(&m));
        Ok(vec![m])
    }

    fn receive_inner(
        &mut self,
        store: &mut Store,
        bytes: &[u8],
    ) -> Result<Vec<Vec<u8>>, SyncError> {
        let frame =
            protocol::decode(bytes, self.config.max_frame_bytes).map_err(SyncError::Protocol)?;
        self.report.frames_received += 1;
        if !self.initiator && self.phase == Phase::Start && frame.turn == 0 {
            self.session = frame.session;
            self.phase = Phase::Running;
        }
        if frame.session != self.session {
            return Err(SyncError::Protocol("a frame of another session"));
        }
        if frame.turn != self.expecting {
            // A duplicate of an earlier turn, or a frame from the future of
            // a broken peer: ignored either way.
            return Ok(Vec::new());
        }
        if frame.count == 0 || frame.index >= frame.count {
            return Err(SyncError::Protocol("bad frame numbering"));
        }
        match self.expected_count {
            Some(c) if c != frame.count => return Err(SyncError::Protocol("bad frame numbering")),
            _ => self.expected_count = Some(frame.count),
        }
        if !self.seen.insert(frame.index) {
            return Ok(Vec::new()); // duplicate
        }
        for item in frame.items {
            self.handle(store, item)?;
            if self.is_finished() {
                return Ok(Vec::new());
            }
        }
        if self.seen.len() as u16 == frame.count {
            return self.take_turn(store);
        }
        Ok(Vec::new())
    }

    /// The peer's turn is complete: answer with ours.
    fn take_turn(&mut self, store: &mut Store) -> Result<Vec<Vec<u8>>, SyncError> {
        let turn = self.expecting + 1;
        self.expecting += 2;
        self.seen.clear();
        self.expected_count = None;
        if self.refusing {
            // Tell the peer why, then stop.
            let items = std::mem::take(&mut self.outbox);
            let frames = self.send_turn(turn, items);
            self.phase = Phase::Failed;
            return Ok(frames);
        }
        if self.is_finished() {
            return Ok(Vec::new());
        }
        if turn >= self.config.max_turns {
            return Err(SyncError::Cap("too many turns"));
        }
        if let Some((scopes, theirs)) = self.peer_pushed.take() {
            self.after_peer_pushed(store, scopes, theirs)?;
        }
        let items = std::mem::take(&mut self.outbox);
        // The responder only ever answers what it receives: when the
        // initiator has nothing to send, nothing is left to do.
        if self.initiator && items.is_empty() {
            self.phase = Phase::Finished;
            self.report.completed = true;
            self.purge_departed(store)?;
            self.mark_completed(store)?;
            return Ok(self.send_turn(turn, vec![Item::Done]));
        }
        Ok(self.send_turn(turn, items))
    }

    fn handle(&mut self, store: &mut Store, item: Item) -> Result<(), SyncError> {
        if !self.initiator
            && !self.greeted
            && !matches!(item, Item::Hello { .. } | Item::Resume { .. })
            // What followed a Resume this side could not resume from.
            && (!self.asked_for_hello || !matches!(item, Item::AuditHead { .. }))
        {
            return Err(SyncError::Protocol("nothing may come before the Hello"));
        }
        match item {
            Item::Hello {
                min,
                max,
                device,
                station,
                scopes,
                digests,
                departing,
                registry,
            } => {
                if self.greeted {
                    return Err(SyncError::Protocol("unexpected hello"));
                }
                self.greeted = true;
                self.on_hello(
                    store,
                    PeerHello {
                        min,
                        max,
                        device: unpack_id(&device),
                        station: if station.is_empty() {
                            String::new()
                        } else {
                            unpack_id(&station)
                        },
                        scopes: protocol::unpack_scopes(&scopes).ok_or(BAD_SCOPE)?,
                        digests: digests.iter().map(TheirDigest::of_hello).collect(),
                        departing: protocol::unpack_scopes(&departing).ok_or(BAD_SCOPE)?,
                        registry: registry.to_vec(),
                        resumed: false,
                    },
                )
            }
            Item::Resume {
                min,
                max,
                scopes,
                digests,
                departing,
                registry,
            } => {
                if self.initiator || self.greeted || self.asked_for_hello {
                    return Err(SyncError::Protocol("unexpected hello"));
                }
                let Some(grant) = self.peer_credential.clone() else {
                    return Err(SyncError::Protocol("a Hello before the handshake"));
                };
                let remembered = store.hello_scopes_of(&grant.device)?.filter(|list| {
                    protocol::scope_list_hash(list) == scopes && list.len() == digests.len()
                });
                let Some(list) = remembered else {
                    self.asked_for_hello = true;
                    self.outbox.push(Item::SendHello);
                    return Ok(());
                };
                self.greeted = true;
                // A credential the station signed proves its holder belongs
                // to this device's station (a Hello says so in words).
                let station = store.replica().station_id()?.unwrap_or_default();
                self.on_hello(
                    store,
                    PeerHello {
                        min,
                        max,
                        device: grant.device,
                        station,
                        scopes: list,
                        digests: digests.iter().map(TheirDigest::of_resume).collect(),
                        departing: protocol::unpack_scopes(&departing).ok_or(BAD_SCOPE)?,
                        registry: registry.to_vec(),
                        resumed: true,
                    },
                )
            }
            Item::SendHello => {
                if !self.initiator || !self.resuming || self.report.version != 0 {
                    return Err(SyncError::Protocol("unexpected request for a Hello"));
                }
                self.resuming = false;
                let hello = self.hello(store, None)?;
                self.outbox.push(hello);
                Ok(())
            }
            Item::Enrolled {
                station_key,
                credential,
            } => {
                if !self.initiator
                    || self.config.enrol.is_none()
                    || self.enrol_station_key != Some(station_key)
                {
                    return Err(SyncError::Protocol("unexpected credential"));
                }
                store.accept_credential(station_key, &credential)?;
                Ok(())
            }
            Item::AuditHead {
                seq,
                hash,
                signature,
            } => {
                let Some(peer) = self.peer_credential.clone() else {
                    return Err(SyncError::Protocol("an audit head before the handshake"));
                };
                let head = crate::store::AuditHead {
                    seq,
                    hash: hex::encode(hash),
                    signature,
                };
                if let Some(finding) = store.devices().record_audit_head(&peer, &head)? {
                    self.report.audit_findings.push(finding);
                }
                Ok(())
            }
            Item::Registry { entries } => {
                if entries.len() > MAX_REGISTRY_ENTRIES {
                    return Err(SyncError::Protocol("too many registry entries"));
                }
                store.devices_mut().merge_registry(&entries)?;
                if self.initiator {
                    // Send back what the responder lacks.
                    let theirs: BTreeSet<Vec<u8>> =
                        entries.iter().map(|(_, s)| s.signature.clone()).collect();
                    let missing: Vec<(bool, Signed)> = store
                        .devices()
                        .registry_entries()?
                        .into_iter()
                        .filter(|(_, s)| !theirs.contains(&s.signature))
                        .collect();
                    if !missing.is_empty() {
                        self.outbox.push(Item::Registry { entries: missing });
                    }
                }
                Ok(())
            }
            Item::Welcome {
                version,
                device,
                station,
                shared,
                offered,
                holds,
            } => {
                if !self.initiator {
                    return Err(SyncError::Protocol("unexpected welcome"));
                }
                // Departed documents go only to a peer whose credential
                // grants their destination scope, whatever it claims to hold.
                let granted = self.peer_credential.clone();
                self.peer_scopes = protocol::unpack_scopes(&holds)
                    .ok_or(BAD_SCOPE)?
                    .into_iter()
                    .filter(|s| granted.as_ref().is_some_and(|c| c.grants(s)))
                    .collect();
                let mut shared: Vec<String> = shared
                    .iter()
                    .map(|i| self.hello_scopes.get(*i as usize).cloned())
                    .collect::<Option<_>>()
                    .ok_or(SyncError::Protocol("a shared scope that was not offered"))?;
                shared.extend(protocol::unpack_scopes(&offered).ok_or(BAD_SCOPE)?);
                if let Some(s) = shared
                    .iter()
                    .find(|s| !granted.as_ref().is_some_and(|c| c.grants(s)))
                {
                    let _ = s;
                    return Err(SyncError::Protocol(
                        "the peer offered a scope its credential does not grant",
                    ));
                }
                let station = if station.is_empty() {
                    store.replica().station_id()?.unwrap_or_default()
                } else {
                    unpack_id(&station)
                };
                // Who the peer is, its credential proved; a Welcome that
                // names another device is not believed.
                let proved = self.peer_credential.as_ref().map(|c| c.device.clone());
                let device = match (device.is_empty(), proved) {
                    (true, Some(proved)) => proved,
                    (false, Some(proved)) if unpack_id(&device) != proved => {
                        return Err(SyncError::Protocol("the Welcome names another device"))
                    }
                    (_, proved) => proved.unwrap_or_else(|| unpack_id(&device)),
                };
                self.peer = device.clone();
                self.report.peer = device;
                self.report.version = version;
                self.report.resumed = self.resuming;
                self.adopt(store, &station, &shared)?;
                if self.config.enrol.is_some() {
                    // Enrolling set the scopes this device holds: what it
                    // must hand on is reckoned against those.
                    self.departed = None;
                }
                self.report.shared_scopes = typed_scopes(&shared);
                self.shared = shared;
                for s in self.peer_scopes.clone() {
                    if !self.shared.contains(&s) {
                        self.shared.push(s);
                    }
                }
                // Documents filed under a scope this device does not hold
                // (case files a volunteer wrote) go whole to a peer that
                // holds it; no inventory is exchanged for such a scope.
                for (id, to) in self.departed(store)?.clone() {
                    let scope = store.document_scope_key(&id)?;
                    if scope.as_ref() == Some(&to)
                        && self.peer_scopes.contains(&to)
                        && !self.report.shared_scopes.iter().any(|s| s.to_key() == to)
                    {
                        self.send_snapshot(store, &id)?;
                    }
                }
                Ok(())
            }
            Item::Refuse { reason } => Err(SyncError::Refused(reason)),
            Item::Deny { code, reason } => Err(SyncError::Trust(protocol::denied(
                code,
                reason,
                &store.device().device_id,
            ))),
            Item::Inventory { scope, docs } => {
                let scope = protocol::unpack_scope(&scope).ok_or(BAD_SCOPE)?;
                let docs = docs
                    .into_iter()
                    .map(|(id, h)| (unpack_id(&id), h))
                    .collect();
                self.on_inventory(store, scope, docs)
            }
            Item::Want { ids } => {
                for id in ids {
                    self.send_snapshot(store, &unpack_id(&id))?;
                }
                Ok(())
            }
            Item::Snapshot {
                id,
                kind,
                scope,
                bytes,
                attest,
            } => {
                let id = unpack_id(&id);
                let Some(scope) = self.shared.get(scope as usize).cloned() else {
                    self.report
                        .refused
                        .push((id, "outside the shared scopes".into()));
                    return Ok(());
                };
                let Some(kind) = DocKind::from_wire_code(kind) else {
                    self.report.quarantined.push((id, "unknown kind".into()));
                    return Ok(());
                };
                let attested = protocol::unvouch(attest);
                let applied = store
                    .replica_mut()
                    .apply_document(&self.peer, &id, kind, &scope, &bytes, &attested)?;
                self.count(id, applied);
                Ok(())
            }
            Item::Sync { id, bytes, attest } => {
                let id = unpack_id(&id);
                if !self.may_sync(store, &id)? {
                    return Ok(());
                }
                let attested = protocol::unvouch(attest);
                let state = self.states.entry(id.clone()).or_default();
                let mut cached = self.docs.remove(&id);
                let step = store.replica_mut().sync_document(
                    &self.peer,
                    &id,
                    state,
                    Some(&bytes),
                    &attested,
                    &mut cached,
                )?;
                if let Some(doc) = cached {
                    self.docs.insert(id.clone(), doc);
                }
                if let Some(a) = step.applied {
                    self.count(id.clone(), a);
                }
                self.push_sync(&id, step.reply, step.attest);
                Ok(())
            }
            Item::Refused { ids } => {
                if self.refused_by_peer.len() + ids.len() > 100_000 {
                    return Err(SyncError::Cap("too many refusals"));
                }
                self.refused_by_peer
                    .extend(ids.iter().map(|id| unpack_id(id)));
                Ok(())
            }
            Item::Piece {
                key,
                index,
                total,
                bytes,
            } => {
                if total == 0 || index >= total {
                    return Err(SyncError::Protocol("bad pieces"));
                }
                self.piece_bytes += bytes.len() as u64;
                if self.piece_bytes > self.config.max_piece_bytes as u64 {
                    // Released with the session: nothing of it is kept.
                    self.pieces.clear();
                    return Err(SyncError::Cap("too many unfinished pieces"));
                }
                let parts = self.pieces.entry(key).or_default();
                parts.insert(index, bytes);
                if parts.len() == total as usize {
                    let parts = self.pieces.remove(&key).unwrap_or_default();
                    let whole: Vec<u8> = parts.into_values().flatten().collect();
                    self.piece_bytes = self.piece_bytes.saturating_sub(whole.len() as u64);
                    let item = protocol::decode_item(&whole).map_err(SyncError::Protocol)?;
                    if matches!(item, Item::Piece { .. }) {
                        return Err(SyncError::Protocol("nested pieces"));
                    }
                    self.handle(store, item)?;
                }
                Ok(())
            }
            Item::Ranges { scopes, nodes } => self.on_ranges(store, scopes, nodes),
            Item::Deflated { bytes } => {
                // Sent once version 3 is agreed; the responder's first turn
                // (with the Welcome that names the version) may be one.
                if self.config.versions.1 < 3 {
                    return Err(SyncError::Protocol("deflated items before version 3"));
                }
                let items = protocol::inflate_items(&bytes, self.config.max_piece_bytes, None)
                    .map_err(SyncError::Protocol)?;
                for item in items {
                    self.handle(store, item)?;
                }
                Ok(())
            }
            Item::DeflatedWith { dictionary, bytes } => {
                if self.config.versions.1 < 5 {
                    return Err(SyncError::Protocol("a dictionary before version 5"));
                }
                let items =
                    protocol::inflate_items(&bytes, self.config.max_piece_bytes, Some(dictionary))
                        .map_err(SyncError::Protocol)?;
                for item in items {
                    self.handle(store, item)?;
                }
                Ok(())
            }
            Item::Heads { id, heads } => {
                let id = unpack_id(&id);
                if !self.may_sync(store, &id)? {
                    return Ok(());
                }
                let heads: Vec<ChangeHash> = heads.into_iter().map(ChangeHash).collect();
                self.send_changes(store, &id, &heads, true)
            }
            Item::Changes {
                id,
                changes,
                attest,
            } => {
                let id = unpack_id(&id);
                if !self.may_sync(store, &id)? {
                    return Ok(());
                }
                let mut cached = self.docs.remove(&id);
                let applied = store.replica_mut().apply_changes(
                    &self.peer,
                    &id,
                    &changes,
                    &protocol::unvouch(attest),
                    &mut cached,
                )?;
                if let Some(doc) = cached {
                    self.docs.insert(id.clone(), doc);
                }
                if self.initiator
                    && self.report.version >= 4
                    && !self.pushed
                    && !matches!(applied, Applied::Quarantined(_))
                {
                    // Decoded once more only here (a push of the peer's may
                    // be under way: its Pushed closes the turn): applied,
                    // each change is in the session's copy of the document,
                    // and its hash is all this side's push needs of it.
                    self.pushed_to_me.entry(id.clone()).or_default().extend(
                        changes
                            .into_iter()
                            .filter_map(|c| automerge::Change::from_bytes(c).ok())
                            .map(|c| c.hash()),
                    );
                }
                self.count(id, applied);
                Ok(())
            }
            Item::Pushed { scopes, digest } => {
                if self.report.version < 4 || self.peer_pushed.is_some() {
                    return Err(SyncError::Protocol("unexpected push"));
                }
                let named = self.named_scopes(&scopes)?;
                self.peer_pushed = Some((named, digest));
                Ok(())
            }
            Item::Done => {
                self.phase = Phase::Finished;
                self.report.completed = true;
                self.purge_departed(store)?;
                self.mark_completed(store)
            }
        }
    }

    /// Scopes named by their positions in the initiator's Hello, each one
    /// this session shares.
    fn named_scopes(&self, positions: &[u32]) -> Result<Vec<String>, SyncError> {
        let named: Vec<String> = positions
            .iter()
            .map(|i| self.hello_scopes.get(*i as usize).cloned())
            .collect::<Option<_>>()
            .ok_or(BAD_SCOPE)?;
        if named.iter().any(|s| !self.shared.contains(s)) {
            return Err(SyncError::Protocol("a reconciled scope that is not shared"));
        }
        Ok(named)
    }

    /// Positions of scopes in the initiator's Hello (the peer listed every
    /// scope it holds documents of).
    fn hello_positions(&self, scopes: &[String]) -> Vec<u32> {
        scopes
            .iter()
            .filter_map(|s| {
                self.hello_scopes
                    .iter()
                    .position(|x| x == s)
                    .map(|i| i as u32)
            })
            .collect()
    }

    /// Starts range-based reconciliation of `scopes`: the root of the tree.
    fn start_ranges(&mut self, store: &Store, scopes: &[String]) -> Result<(), SyncError> {
        if self.ranges.is_some() {
            return Err(SyncError::Protocol("unexpected push"));
        }
        let set = RangeSet::new(self.session, store.replica().docs_with_heads(scopes)?);
        self.outbox.push(Item::Ranges {
            scopes: self.hello_positions(scopes),
            nodes: vec![set.describe(0, 0)],
        });
        self.ranges = Some(set);
        self.report.reconciled_by_ranges = true;
        Ok(())
    }

    /// Version 4: queues every document of `scopes` written here since
    /// `mark` (the end of the last completed session with this peer), as
    /// the changes since the state it had then, or whole if it was not
    /// held then. Returns how many documents it queued something for.
    fn push_changed(
        &mut self,
        store: &mut Store,
        mark: i64,
        scopes: &[String],
    ) -> Result<u32, SyncError> {
        let mut queued = 0;
        for (id, then) in store.changed_since(mark, self.start_seq, scopes)? {
            let before = self.outbox.len();
            let just_pushed = self.pushed_to_me.remove(&id).unwrap_or_default();
            match then {
                None if just_pushed.is_empty() => self.send_snapshot(store, &id)?,
                then => {
                    let mut known = then.unwrap_or_default();
                    known.extend(just_pushed);
                    self.send_changes(store, &id, &known, false)?
                }
            }
            if self.outbox.len() > before {
                queued += 1;
            }
        }
        self.report.pushed += queued;
        Ok(queued)
    }

    /// This device's digest of `scopes` together ([`combined_digest`]).
    /// One digest for all, because a difference in any of them sends all
    /// to ranges.
    fn digest_of(store: &Store, scopes: &[String]) -> Result<[u8; 16], SyncError> {
        let each = scopes
            .iter()
            .map(|s| store.scope_digest_of(s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(combined_digest(&each))
    }

    /// Closes this side's push: the scopes and this device's digest of
    /// them.
    fn push_digests(&mut self, store: &Store, scopes: &[String]) -> Result<(), SyncError> {
        let digest = Self::digest_of(store, scopes)?;
        self.push_digest(scopes, digest);
        Ok(())
    }

    /// Closes this side's push with a digest already computed.
    fn push_digest(&mut self, scopes: &[String], digest: [u8; 16]) {
        self.outbox.push(Item::Pushed {
            scopes: self.hello_positions(scopes),
            digest,
        });
    }

    /// The peer's push is applied: the initiator pushes its own changes
    /// once (the responder then compares); a side with nothing to push
    /// compares its digests with the peer's, and an equal state ends the
    /// reconciliation while a differing one falls back to ranges.
    fn after_peer_pushed(
        &mut self,
        store: &mut Store,
        scopes: Vec<String>,
        theirs: [u8; 16],
    ) -> Result<(), SyncError> {
        if self.initiator && !self.pushed {
            self.pushed = true;
            if let Some(mark) = store.sync_mark(&self.peer)? {
                if self.push_changed(store, mark, &scopes)? > 0 {
                    return self.push_digests(store, &scopes);
                }
            }
        }
        if Self::digest_of(store, &scopes)? != theirs {
            self.start_ranges(store, &scopes)?;
        }
        Ok(())
    }

    /// A completed session: remember where this store's change sequence
    /// stands, so that the next session with this peer starts from what
    /// changed since.
    fn mark_completed(&mut self, store: &mut Store) -> Result<(), SyncError> {
        if !self.peer.is_empty() {
            let seq = store.change_seq()?;
            store.set_sync_mark(&self.peer, seq)?;
            // The registries were exchanged: a peer at protocol 4 holds
            // this device's credential if this device's registry does, and
            // reads a proof that names it.
            let held = match self.report.version {
                4.. => store.own_credential_in_registry()?,
                _ => None,
            };
            store.set_credential_held_by(&self.peer, held)?;
            if self.initiator {
                // The peer remembers the scopes of a version-5 Hello, full
                // or resumed: the next session may name them by hash.
                let resume = (self.report.version >= 5 && self.config.enrol.is_none())
                    .then(|| protocol::scope_list_hash(&self.hello_scopes));
                store.set_resume_hash_with(&self.peer, resume)?;
            }
        }
        Ok(())
    }

    fn count(&mut self, id: String, applied: Applied) {
        match applied {
            Applied::Changed => {
                self.report.documents_received += 1;
                self.progress.done += 1;
                self.progress.total = self.progress.total.max(self.progress.done);
            }
            Applied::Unchanged | Applied::Pending => {}
            Applied::Quarantined(r) => {
                // The peer may be handing this document on: tell it to
                // keep its copy.
                self.outbox.push(Item::Refused {
                    ids: vec![pack_id(&id)],
                });
                self.report.quarantined.push((id, r.to_string()))
            }
        }
    }

    fn adopt(
        &mut self,
        store: &mut Store,
        station: &str,
        offered: &[String],
    ) -> Result<(), SyncError> {
        match store.replica().station_id()? {
            Some(mine) if mine != station => Err(SyncError::Refused(
                "the peer belongs to another station".into(),
            )),
            // Enrolling (the credential already adopted the station): hold
            // the scopes offered, unless this device chose its own.
            Some(_) if self.config.enrol.is_some() => {
                if !store.replica().has_explicit_scopes()? {
                    store.set_scope_keys(offered)?;
                }
                Ok(())
            }
            Some(_) => Ok(()),
            None => Err(SyncError::Refused(
                "this device belongs to no station: enrol it with a code first".into(),
            )),
        }
    }

    fn on_hello(&mut self, store: &mut Store, hello: PeerHello) -> Result<(), SyncError> {
        let PeerHello {
            min,
            max,
            device,
            station,
            scopes,
            digests,
            departing,
            registry,
            resumed,
        } = hello;
        if self.initiator {
            return Err(SyncError::Protocol("unexpected hello"));
        }
        // The Hello is the first thing a responder applies.
        self.start_seq = store.change_seq()?;
        let Some(grant) = self.peer_credential.clone() else {
            return Err(SyncError::Protocol("a Hello before the handshake"));
        };
        if device != grant.device {
            return Err(SyncError::Protocol("the Hello names another device"));
        }
        let version = max.min(self.config.versions.1);
        if version < min.max(self.config.versions.0) {
            let reason = format!(
                "no common protocol version (peer speaks {min}–{max}, this device {}–{})",
                self.config.versions.0, self.config.versions.1
            );
            self.outbox.push(Item::Refuse {
                reason: reason.clone(),
            });
            self.report.error = Some(reason);
            self.refusing = true;
            return Ok(());
        }
        // What both may hold: this device's scopes that its own credential
        // grants, and of those what the peer's credential grants.
        let mine: Vec<String> = store
            .held_scope_keys()?
            .into_iter()
            .filter(|s| grant.grants(s))
            .collect();
        let my_station = store.replica().station_id()?.unwrap_or_default();
        if my_station.is_empty() {
            let reason = "this device belongs to no station".to_string();
            self.outbox.push(Item::Refuse {
                reason: reason.clone(),
            });
            self.report.error = Some(reason);
            self.refusing = true;
            return Ok(());
        }
        if !station.is_empty() && station != my_station {
            let reason = "the devices belong to different stations".to_string();
            self.outbox.push(Item::Refuse {
                reason: reason.clone(),
            });
            self.report.error = Some(reason);
            self.refusing = true;
            return Ok(());
        }
        // A joining device (no station yet) is offered every scope this
        // device holds that it asked for, or all of them if it asked none.
        let joining = station.is_empty();
        let shared: Vec<String> = if joining && scopes.iter().all(|s| s == "station") {
            mine.clone()
        } else {
            mine.iter()
                .filter(|s| scopes.contains(s))
                .cloned()
                .collect()
        };
        self.report.version = version;
        self.report.resumed = resumed;
        self.report.shared_scopes = typed_scopes(&shared);
        if version >= 5 && !resumed && !joining {
            // What a later `Resume` of this peer's names.
            store.set_hello_scopes_of(&device, &scopes)?;
        }
        self.shared = shared.clone();
        self.peer_scopes = scopes.clone();
        self.hello_scopes = scopes.clone();
        let positions = self.hello_positions(&shared);
        let offered: Vec<String> = shared
            .iter()
            .filter(|s| !scopes.contains(s))
            .cloned()
            .collect();
        // Scopes the initiator is handing documents on to (a moved
        // household's new grid, the case team of a volunteer's screenings)
        // that this device holds.
        // (This device's own held scopes, not narrowed by the peer's grant:
        // the documents come to this device, the peer keeps nothing.)
        let own = store.held_scope_keys()?;
        let holds: Vec<String> = departing.into_iter().filter(|s| own.contains(s)).collect();
        if let Some(credential) = self.issued.take() {
            self.outbox.push(Item::Enrolled {
                station_key: store
                    .devices()
                    .station_public()?
                    .ok_or(TrustError::NotEnrolled)?,
                credential,
            });
        }
        self.outbox.push(Item::Welcome {
            version,
            // From version 5 the handshake's proof names this device.
            device: match version {
                5.. => Vec::new(),
                _ => pack_id(&store.device().device_id),
            },
            station: if joining {
                pack_id(&my_station)
            } else {
                Vec::new()
            },
            shared: positions,
            offered: protocol::pack_scopes(&offered),
            holds: protocol::pack_scopes(&holds),
        });
        self.outbox.extend(audit_head_item(store)?);
        if !store.devices().registry_digest()?.starts_with(&registry) {
            self.outbox.push(Item::Registry {
                entries: store.devices().registry_entries()?,
            });
        }
        let theirs: HashMap<&str, &TheirDigest> = scopes
            .iter()
            .map(|s| s.as_str())
            .zip(digests.iter())
            .collect();
        // Version 3 reconciles the differing scopes together, by ranges;
        // a version-2 peer gets an inventory of each.
        let mut reconciled: Vec<String> = Vec::new();
        // Their digests, for the push's (pushing changes nothing here).
        let mut reconciled_digests = Vec::new();
        for scope in &shared {
            let (digest, docs) = store.scope_digest_of(scope)?;
            let their = theirs.get(scope.as_str());
            if their.is_some_and(|d| d.matches(&digest, docs)) {
                self.report.unchanged_scopes += 1;
                continue;
            }
            if their.is_none_or(|d| d.empty) {
                // The peer holds nothing of this scope (a new device): send
                // the documents at once, no inventory or Want list needed.
                for (id, _) in store.inventory_of(scope)? {
                    self.send_snapshot(store, &id)?;
                }
                continue;
            }
            if version >= 3 {
                reconciled.push(scope.clone());
                reconciled_digests.push((digest, docs));
                continue;
            }
            let docs = store.inventory_of(scope)?;
            self.outbox.push(Item::Inventory {
                scope: protocol::pack_scope(scope),
                docs: docs.into_iter().map(|(id, h)| (pack_id(&id), h)).collect(),
            });
        }
        if !reconciled.is_empty() {
            // Version 4, with a peer this device completed a session with:
            // what changed here since then goes at once, and the peer
            // answers with what changed on its side; ranges only if that
            // leaves the scopes differing.
            let mark = match version {
                4.. => store.sync_mark(&self.peer)?,
                _ => None,
            };
            match mark {
                Some(mark) => {
                    self.pushed = true;
                    self.push_changed(store, mark, &reconciled)?;
                    self.push_digest(&reconciled, combined_digest(&reconciled_digests));
                }
                None => self.start_ranges(store, &reconciled)?,
            }
        }
        // Held scopes come after the shared ones, in the same order on both
        // sides, so snapshots handed on can name them by position.
        for s in holds {
            if !self.shared.contains(&s) {
                self.shared.push(s);
            }
        }
        Ok(())
    }

    fn on_inventory(
        &mut self,
        store: &mut Store,
        scope: String,
        theirs: Vec<(String, [u8; 8])>,
    ) -> Result<(), SyncError> {
        if !self.initiator || !self.shared.contains(&scope) {
            return Err(SyncError::Protocol("unexpected inventory"));
        }
        let mine: HashMap<String, [u8; 8]> = store.inventory_of(&scope)?.into_iter().collect();
        let theirs_map: HashMap<&str, [u8; 8]> =
            theirs.iter().map(|(id, h)| (id.as_str(), *h)).collect();
        let mut want = Vec::new();
        for (id, their_heads) in &theirs {
            match mine.get(id) {
                None => want.push(id.clone()),
                Some(h) if h != their_heads => {
                    let step = self.open_sync(store, id)?;
                    if step.reply.is_some() {
                        self.progress.total += 1;
                    }
                    self.push_sync(id, step.reply, step.attest);
                }
                Some(_) => {}
            }
        }
        let mut missing: Vec<&String> = mine
            .keys()
            .filter(|id| !theirs_map.contains_key(id.as_str()))
            .collect();
        missing.sort();
        for id in missing {
            self.send_snapshot(store, id)?;
        }
        self.progress.total += want.len() as u64;
        if !want.is_empty() {
            self.outbox.push(Item::Want {
                ids: want.iter().map(|id| pack_id(id)).collect(),
            });
        }
        Ok(())
    }

    /// Whether a document named by the peer in a `Sync`, `Heads` or
    /// `Changes` item may be synced: only documents of the shared scopes
    /// (any other id is refused, never answered with its changes); one
    /// this device lacks is asked for whole instead.
    fn may_sync(&mut self, store: &Store, id: &str) -> Result<bool, SyncError> {
        match store.document_scope_key(id)? {
            Some(scope) if !self.shared.contains(&scope) => {
                self.report
                    .refused
                    .push((id.to_string(), "outside the shared scopes".into()));
                Ok(false)
            }
            Some(_) => Ok(true),
            None => {
                self.outbox.push(Item::Want {
                    ids: vec![pack_id(id)],
                });
                self.progress.total += 1;
                Ok(false)
            }
        }
    }

    /// Version 3: answers the peer's nodes of the reconciliation tree.
    fn on_ranges(
        &mut self,
        store: &mut Store,
        scopes: Vec<u32>,
        nodes: Vec<protocol::RangeNode>,
    ) -> Result<(), SyncError> {
        if nodes.len() > MAX_RANGE_NODES {
            return Err(SyncError::Cap("too many ranges"));
        }
        if !scopes.is_empty() {
            if self.ranges.is_some() {
                return Err(SyncError::Protocol("unexpected reconciled scopes"));
            }
            let named = self.named_scopes(&scopes)?;
            self.report.reconciled_by_ranges = true;
            self.ranges = Some(RangeSet::new(
                self.session,
                store.replica().docs_with_heads(&named)?,
            ));
        }
        let Some(set) = self.ranges.take() else {
            return Err(SyncError::Protocol("ranges before the reconciled scopes"));
        };
        let mut replies = Vec::new();
        let mut differences = Vec::new();
        for node in &nodes {
            match set.answer(node) {
                Ok((r, d)) => {
                    replies.extend(r);
                    differences.extend(d);
                }
                Err(BadRange(why)) => {
                    self.ranges = Some(set);
                    return Err(SyncError::Protocol(why));
                }
            }
        }
        self.ranges = Some(set);
        if !replies.is_empty() {
            self.outbox.push(Item::Ranges {
                scopes: Vec::new(),
                nodes: replies,
            });
        }
        let mut want = Vec::new();
        for difference in differences {
            match difference {
                Difference::PeerLacks(id) => self.send_snapshot(store, &id)?,
                Difference::Lacking(id) => want.push(pack_id(&id)),
                Difference::Differs(id, their_heads) => {
                    self.send_changes(store, &id, &their_heads, false)?
                }
            }
        }
        if !want.is_empty() {
            self.progress.total += want.len() as u64;
            self.outbox.push(Item::Want { ids: want });
        }
        Ok(())
    }

    /// A document both hold in different states, the peer's heads known:
    /// the changes the peer lacks when this device knows all its heads;
    /// otherwise the peer is ahead (or both wrote): this device's heads
    /// (`Heads`), or — when the peer sent its heads in answer to ours, so
    /// both wrote — automerge's sync protocol, which finds what each side
    /// lacks.
    fn send_changes(
        &mut self,
        store: &mut Store,
        id: &str,
        their_heads: &[ChangeHash],
        answering_heads: bool,
    ) -> Result<(), SyncError> {
        let mut cached = self.docs.remove(id);
        let found = store
            .replica()
            .changes_since(id, their_heads, &mut cached)?;
        let mine = cached.as_mut().map(|d| d.heads()).unwrap_or_default();
        if let Some(doc) = cached {
            self.docs.insert(id.to_string(), doc);
        }
        match found {
            Some((changes, attest)) => {
                if !changes.is_empty() {
                    self.progress.total += 1;
                    self.progress.done += 1;
                    self.report.changes_sent += changes.len() as u32;
                    self.outbox.push(Item::Changes {
                        id: pack_id(id),
                        changes,
                        attest: protocol::vouches(attest),
                    });
                }
            }
            None if !answering_heads => {
                self.progress.total += 1;
                self.outbox.push(Item::Heads {
                    id: pack_id(id),
                    heads: mine.iter().map(|h| h.0).collect(),
                });
            }
            None => {
                let step = self.open_sync(store, id)?;
                self.push_sync(id, step.reply, step.attest);
            }
        }
        Ok(())
    }

    /// Starts the automerge sync of a document both hold differently (no
    /// message received yet), from the session's copy of it when there is
    /// one (decision 11), and keeps the copy the merge leaves.
    fn open_sync(&mut self, store: &mut Store, id: &str) -> Result<SyncStep, SyncError> {
        let state = self.states.entry(id.to_string()).or_default();
        let mut cached = self.docs.remove(id);
        let step =
            store
                .replica_mut()
                .sync_document(&self.peer, id, state, None, &[], &mut cached)?;
        if let Some(doc) = cached {
            self.docs.insert(id.to_string(), doc);
        }
        Ok(step)
    }

    /// After a completed session: documents that moved to a grid this
    /// device does not hold, and that went whole to this peer, which holds
    /// that grid, are now safe there: purge the local copies.
    fn purge_departed(&mut self, store: &mut Store) -> Result<(), SyncError> {
        // Computed afresh: a move received in this session may have made a
        // document sent in it a departed one, safe to purge now.
        for (id, to) in store.departed_keys()? {
            if self.sent.contains(&id)
                && self.peer_scopes.contains(&to)
                && !self.refused_by_peer.contains(&id)
            {
                store
                    .replica_mut()
                    .purge_document(&id, "sync.purge_moved")?;
                self.report.purged.push(id);
            }
        }
        Ok(())
    }

    /// Queues a sync message, with the attestations of the changes it
    /// carries.
    fn push_sync(
        &mut self,
        id: &str,
        reply: Option<Vec<u8>>,
        attest: Vec<crate::trust::Attestation>,
    ) {
        let Some(bytes) = reply else { return };
        self.report.sync_messages_sent += 1;
        self.outbox.push(Item::Sync {
            id: pack_id(id),
            bytes,
            attest: protocol::vouches(attest),
        });
    }

    /// The documents this device must hand on (`Replica::departed`),
    /// computed once per session: the Hello, the Welcome and every snapshot
    /// (a Want for N ids) use it, and each computation loads the station
    /// document.
    fn departed(&mut self, store: &Store) -> Result<&BTreeMap<String, String>, SyncError> {
        if self.departed.is_none() {
            self.departed = Some(store.departed_keys()?.into_iter().collect());
        }
        Ok(self.departed.get_or_insert_with(BTreeMap::new))
    }

    fn send_snapshot(&mut self, store: &Store, id: &str) -> Result<(), SyncError> {
        // A household that moved out of this device's grids goes only to a
        // peer that holds its new grid.
        if let Some(to) = self.departed(store)?.get(id).cloned() {
            if !self.peer_scopes.contains(&to) {
                return Ok(());
            }
        }
        match store.document_bytes_keyed(id) {
            Ok((kind, scope, bytes)) => {
                let position = self.shared.iter().position(|s| *s == scope);
                if let Some(scope) = position {
                    self.sent.insert(id.to_string());
                    let attest = protocol::vouches(store.attestations(id)?);
                    self.outbox.push(Item::Snapshot {
                        id: pack_id(id),
                        kind: kind.wire_code(),
                        scope: scope as u32,
                        bytes,
                        attest,
                    });
                    self.progress.done += 1;
                    self.progress.total += 1;
                    self.report.snapshots_sent += 1;
                } else {
                    self.report
                        .refused
                        .push((id.to_string(), "asked for outside the shared scopes".into()));
                }
                Ok(())
            }
            Err(StoreError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// This device's signed audit head as an item, when its chain grew.
fn audit_head_item(store: &Store) -> Result<Option<Item>, SyncError> {
    Ok(store
        .devices()
        .audit_head_to_send()?
        .map(|h| Item::AuditHead {
            seq: h.seq,
            hash: hex::decode(&h.hash).unwrap_or_default(),
            signature: h.signature,
        }))
}

/// The channel once the handshake finished: sealed frames from now on.
fn open_channel(hs: Box<snow::HandshakeState>) -> Result<Channel, SyncError> {
    let transport = hs
        .into_stateless_transport_mode()
        .map_err(|_| SyncError::Protocol(channel::HANDSHAKE_FAILED))?;
    Ok(Channel::Open {
        transport: Box::new(transport),
        next_nonce: 0,
    })
}

/// Scopes as the report gives them; the session's own are their wire
/// spelling, already checked (the held scopes' and the peer's that match).
fn typed_scopes(keys: &[String]) -> Vec<Scope> {
    keys.iter().filter_map(|k| Scope::from_key(k)).collect()
}

const BAD_SCOPE: SyncError = SyncError::Protocol("a malformed scope");

/// More nodes in one `Ranges` item than any honest exchange sends.
const MAX_RANGE_NODES: usize = 100_000;

/// More registry entries than any station has devices: a hostile peer.
const MAX_REGISTRY_ENTRIES: usize = 100_000;

/// A Hello as the responder acts on it, whether it came in full or as a
/// `Resume` (its scopes and station then known from before).
struct PeerHello {
    min: u16,
    max: u16,
    device: String,
    station: String,
    scopes: Vec<String>,
    digests: Vec<TheirDigest>,
    departing: Vec<String>,
    /// The first 16 (Hello) or 8 (`Resume`) bytes of the peer's registry
    /// digest.
    registry: Vec<u8>,
    resumed: bool,
}

/// The peer's digest of one scope: the first 16 bytes (a Hello) or 8 (a
/// `Resume`) of it, and whether the peer holds nothing of the scope.
struct TheirDigest {
    prefix: Vec<u8>,
    empty: bool,
}

impl TheirDigest {
    fn of_hello(d: &ScopeDigest) -> Self {
        TheirDigest {
            prefix: d.digest.to_vec(),
            empty: d.docs == 0,
        }
    }

    fn of_resume(d: &[u8; 8]) -> Self {
        TheirDigest {
            prefix: d.to_vec(),
            empty: *d == [0; 8],
        }
    }

    /// Whether this device's digest of the scope (of `docs` documents) is
    /// the peer's.
    fn matches(&self, mine: &[u8; 32], docs: u32) -> bool {
        match self.empty {
            true => docs == 0,
            false => mine.starts_with(&self.prefix),
        }
    }
}

/// The first 8 bytes of a scope digest, as a `Resume` carries it.
fn short8(digest: &[u8; 16]) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// The first 16 bytes of a scope digest: plenty to tell states apart.
fn short(digest: &[u8; 32]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// Scopes' digests together (each as `Store::scope_digest_of` gives it):
/// SHA-256 over each one's digest and document count (little endian), in
/// order, cut to 16 bytes — what a `Pushed` item carries.
fn combined_digest(each: &[([u8; 32], u32)]) -> [u8; 16] {
    let mut h = Sha256::new();
    for (digest, docs) in each {
        h.update(digest);
        h.update(docs.to_le_bytes());
    }
    short(&h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::{enrol_everything, generate, FixtureSpec};
    use crate::store::StoreOptions;

    /// The initiator takes its peer's identity from the credential the
    /// handshake proved: a Welcome may leave the device out (protocol 5)
    /// but not name another one.
    #[test]
    fn a_welcome_naming_another_device_than_the_proved_one_is_refused() {
        let mut laptop = Store::open(":memory:", StoreOptions::default()).unwrap();
        generate(
            &mut laptop,
            FixtureSpec {
                households: 2,
                seed: 3,
            },
            |_, _| {},
        )
        .unwrap();
        let mut phone = Store::open(":memory:", StoreOptions::default()).unwrap();
        let join = enrol_everything(&mut laptop).unwrap();
        let enrolled = crate::sync::link::run(
            &mut phone,
            &mut laptop,
            &join,
            &crate::sync::link::LinkConfig::perfect(),
        );
        assert!(enrolled.completed());
        let (_, proved) = laptop.devices().credential().unwrap().unwrap();
        let welcome = |device: Vec<u8>| Item::Welcome {
            version: 5,
            device,
            station: Vec::new(),
            shared: Vec::new(),
            offered: Vec::new(),
            holds: Vec::new(),
        };
        let session = |proved: &Credential| {
            let mut s = SyncSession::initiate(SyncConfig::default());
            s.peer_credential = Some(proved.clone());
            s
        };

        let mut named_right = session(&proved);
        named_right
            .handle(&mut phone, welcome(pack_id(&proved.device)))
            .unwrap();
        assert_eq!(named_right.report.peer, proved.device);

        let mut left_out = session(&proved);
        left_out.handle(&mut phone, welcome(Vec::new())).unwrap();
        assert_eq!(left_out.report.peer, proved.device);

        let mut named_wrong = session(&proved);
        let other = pack_id(&phone.device().device_id);
        assert!(matches!(
            named_wrong.handle(&mut phone, welcome(other)),
            Err(SyncError::Protocol("the Welcome names another device"))
        ));
    }
}
