//! An in-memory link between two stores, for tests, benchmarks and the demo.
//!
//! Time is simulated, not slept: each frame takes `len / bandwidth` on the
//! wire, then `latency` to arrive; frames may be lost, duplicated, or
//! delayed past later ones. A session whose link goes quiet before both
//! sides finish is abandoned, as a host would when a phone walks away.

use std::collections::BinaryHeap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::session::{SessionReport, SyncConfig, SyncSession};
use crate::store::Store;

/// How the simulated link behaves.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// Probability that a frame is lost.
    pub loss: f64,
    /// Probability that a frame arrives twice.
    pub duplicate: f64,
    /// Probability that a frame is held back past later ones.
    pub reorder: f64,
    /// One-way latency, in milliseconds.
    pub latency_ms: f64,
    /// Bytes per second each way; `None` for unlimited.
    pub bandwidth: Option<f64>,
    /// Seed of the link's randomness.
    pub seed: u64,
    /// Cut the link for good after this many frames were delivered (a phone
    /// walking out of range).
    pub cut_after_frames: Option<u32>,
}

impl LinkConfig {
    /// A perfect, instant link.
    pub fn perfect() -> Self {
        Self {
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            latency_ms: 0.0,
            bandwidth: None,
            seed: 0,
            cut_after_frames: None,
        }
    }

    /// Bluetooth LE as phones get it: 20 KB/s, 100 ms round trip.
    pub fn bluetooth_le() -> Self {
        Self {
            latency_ms: 50.0,
            bandwidth: Some(20_000.0),
            ..Self::perfect()
        }
    }

    /// A bad link: some loss, duplication and reordering.
    pub fn lossy(seed: u64) -> Self {
        Self {
            loss: 0.05,
            duplicate: 0.05,
            reorder: 0.1,
            latency_ms: 20.0,
            bandwidth: None,
            seed,
            cut_after_frames: None,
        }
    }
}

/// What a run over the link gave.
#[derive(Debug, Clone)]
pub struct LinkRun {
    /// The initiator's report.
    pub initiator: SessionReport,
    /// The responder's report.
    pub responder: SessionReport,
    /// Simulated seconds from the first frame to the last.
    pub seconds: f64,
    /// Round trips: the handshake's before the Hello, then the session's
    /// turns, halved.
    pub round_trips: u32,
}

impl LinkRun {
    /// Whether both sides finished.
    pub fn completed(&self) -> bool {
        self.initiator.completed && self.responder.completed
    }

    /// Bytes both sides sent.
    pub fn bytes(&self) -> u64 {
        self.initiator.bytes_sent + self.responder.bytes_sent
    }
}

#[derive(PartialEq)]
struct InFlight {
    at: f64,
    seq: u64,
    to_responder: bool,
    bytes: Vec<u8>,
}

impl Eq for InFlight {}
impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Earliest first (BinaryHeap is a max-heap).
        other
            .at
            .total_cmp(&self.at)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

struct Wire {
    config: LinkConfig,
    rng: ChaCha8Rng,
    queue: BinaryHeap<InFlight>,
    free_at: [f64; 2],
    seq: u64,
}

impl Wire {
    fn send(&mut self, now: f64, to_responder: bool, frames: Vec<Vec<u8>>) {
        let lane = usize::from(to_responder);
        for bytes in frames {
            let start = now.max(self.free_at[lane]);
            let wire_time = self
                .config
                .bandwidth
                .map(|bw| bytes.len() as f64 / bw)
                .unwrap_or(0.0);
            self.free_at[lane] = start + wire_time;
            let mut at = self.free_at[lane] + self.config.latency_ms / 1000.0;
            if self.rng.gen_bool(self.config.loss) {
                continue;
            }
            if self.rng.gen_bool(self.config.reorder) {
                at += self.rng.gen_range(0.0..0.2);
            }
            let copies = if self.rng.gen_bool(self.config.duplicate) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                self.seq += 1;
                self.queue.push(InFlight {
                    at,
                    seq: self.seq,
                    to_responder,
                    bytes: bytes.clone(),
                });
            }
        }
    }
}

/// Runs one session between `initiator` and `responder` over a simulated
/// link, both sides with the same limits. Store errors end the session
/// (recorded in its report).
pub fn run(
    initiator: &mut Store,
    responder: &mut Store,
    sync: &SyncConfig,
    link: &LinkConfig,
) -> LinkRun {
    run_with(initiator, responder, sync, sync, link)
}

/// Runs one session where each side has its own limits (e.g. an old app
/// and a new one).
pub fn run_with(
    initiator: &mut Store,
    responder: &mut Store,
    initiator_config: &SyncConfig,
    responder_config: &SyncConfig,
    link: &LinkConfig,
) -> LinkRun {
    let mut a = SyncSession::initiate(initiator_config.clone());
    let mut b = SyncSession::respond(responder_config.clone());
    let mut wire = Wire {
        rng: ChaCha8Rng::seed_from_u64(link.seed),
        config: link.clone(),
        queue: BinaryHeap::new(),
        free_at: [0.0; 2],
        seq: 0,
    };
    let mut now = 0.0;
    match a.start(initiator) {
        Ok(frames) => wire.send(now, true, frames),
        Err(e) => a.abandon(&e.to_string()),
    }
    let mut steps = 0u64;
    while let Some(f) = wire.queue.pop() {
        now = f.at;
        steps += 1;
        if steps > 1_000_000 || link.cut_after_frames.is_some_and(|n| steps > u64::from(n)) {
            break;
        }
        let out = if f.to_responder {
            b.receive(responder, &f.bytes)
        } else {
            a.receive(initiator, &f.bytes)
        };
        if let Ok(frames) = out {
            wire.send(now, !f.to_responder, frames);
        }
        if a.is_finished() && b.is_finished() {
            // Drain what is still in flight (e.g. the Done frame).
            continue;
        }
    }
    a.abandon("the link went quiet before the session finished");
    b.abandon("the link went quiet before the session finished");
    let turns = a.report().turns.max(b.report().turns);
    LinkRun {
        initiator: a.report().clone(),
        responder: b.report().clone(),
        seconds: now,
        // The three-message handshake's first two are a round trip of their
        // own (its third carries the Hello); the IK handshake carries the
        // Hello in its first.
        round_trips: turns.div_ceil(2) + a.report().handshake_round_trips,
    }
}
