//! The secure channel a sync session runs in: a Noise handshake carried in
//! the session's frames, then every frame sealed (encrypted and
//! authenticated) with the keys it produced.
//!
//! On the wire every message of protocol 2 and later starts with [`MAGIC`] and a tag:
//! a handshake message (postcard-encoded [`Handshake`]) or a sealed frame
//! (an 8-byte nonce, then ChaCha20-Poly1305 ciphertext of one inner frame;
//! from protocol 5, once both agreed it, the nonce as a varint under its
//! own tag — one byte instead of eight for a session's first 128 frames).
//! Sealed frames carry their nonce because a link may lose, duplicate or
//! reorder frames; the inner session already ignores duplicates.
//!
//! Handshake when the initiator knows whom it is talking to (Noise IK: it
//! took the responder's static key from the registry, the last device it
//! synced with or the station laptop):
//! 1. initiator → `OpenKnown`, whose payload, encrypted to the responder's
//!    static key, is [`InitiatorProof`]: its credential and the Hello;
//! 2. responder → `Reply` ([`ResponderProof`]: its credential), and in the
//!    same flight its first turn, sealed. One round trip in all.
//!
//! A responder that is not the device guessed cannot read message 1 and
//! answers `Retry`; the initiator starts over with the handshake below.
//!
//! Handshake otherwise (Noise XX; XXpsk3 when enrolling, the pre-shared
//! key derived from the one-time code):
//! 1. initiator → `Open` (ephemeral key; the enrolment id when enrolling);
//! 2. responder → `Reply`, whose encrypted payload is [`ResponderProof`]:
//!    the station key and the responder's credential;
//! 3. initiator → `Finish`, whose payload is [`InitiatorProof`]: its
//!    credential (or, enrolling, its device id and signing key), and the
//!    inner session's first turn (Hello).
//!
//! Each side checks the other's credential against the pinned station key,
//! its Noise key against the key proven in the handshake, expiry and
//! revocations before it acts on anything the other sent.

use serde::{Deserialize, Serialize};
use snow::{HandshakeState, StatelessTransportState};

use crate::trust::{noise_params, Signed};

/// The first bytes of every protocol-2 message. A protocol-1 frame starts
/// with a varint session number instead, which a protocol-2 responder uses
/// to answer an old app with a refusal it can read.
pub const MAGIC: [u8; 3] = [0xA7, 0x58, 0x02];
const TAG_HANDSHAKE: u8 = 1;
const TAG_SEALED: u8 = 2;
const TAG_SEALED_SHORT: u8 = 3;

/// The most bytes sealing adds to a frame: magic, tag, nonce,
/// authentication tag.
pub const SEAL_OVERHEAD: usize = MAGIC.len() + 1 + 10 + 16;

/// The largest Noise message.
pub const NOISE_MAX: usize = 65_535;

/// A handshake message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Handshake {
    /// Message 1, initiator → responder.
    Open {
        /// The session number the initiator chose.
        session: u32,
        /// The pending enrolment this device is redeeming, if enrolling.
        enrol: Option<[u8; 8]>,
        /// The Noise message.
        noise: Vec<u8>,
    },
    /// Message 2, responder → initiator.
    Reply {
        /// The Noise message.
        noise: Vec<u8>,
    },
    /// Message 3, initiator → responder.
    Finish {
        /// The Noise message.
        noise: Vec<u8>,
    },
    /// The responder will not run the handshake (no such enrolment, not
    /// enrolled itself). Says nothing about the station's data.
    Refuse {
        /// What kind of reason (`protocol::DENY_*`).
        code: u8,
        /// Why, for people.
        reason: String,
    },
    /// Message 1 of the IK handshake, initiator → responder: its payload is
    /// the [`InitiatorProof`] with the Hello.
    OpenKnown {
        /// The session number the initiator chose.
        session: u32,
        /// The Noise message.
        noise: Vec<u8>,
    },
    /// The responder could not read an `OpenKnown` (it is not the device
    /// whose key the initiator used): start over with `Open`.
    Retry,
}

/// What the responder proves in message 2.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResponderProof {
    /// The station's public key, sent only to an enrolling device (which
    /// checks it against the code's fingerprint); others use the key they
    /// pinned.
    pub station_key: Option<[u8; 32]>,
    /// The responder's credential.
    pub credential: Signed,
}

/// What the initiator proves in message 3.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InitiatorProof {
    /// Its credential; `None` when enrolling.
    pub credential: Option<Signed>,
    /// When enrolling: the new device's id and public signing key (its
    /// Noise key is the one the handshake proved).
    pub enrolling: Option<(String, [u8; 32])>,
    /// The inner session's first turn.
    pub frames: Vec<Vec<u8>>,
}

/// What an initiator adds after its [`InitiatorProof`] (protocol 4 and
/// later): credentials each side already holds of the other, named by
/// [`credential_fingerprint`] instead of sent. An older responder decodes
/// the proof and ignores the bytes after it (postcard reads what the type
/// needs), so the names cost it nothing and the initiator only leaves its
/// own credential out for a responder that spoke version 4 before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofNames {
    /// The initiator's credential is the one in the responder's registry
    /// with this fingerprint (the proof's `credential` is then `None`).
    pub mine: Option<[u8; 8]>,
    /// The initiator holds the responder's credential with this
    /// fingerprint: the responder may leave it out of its proof.
    pub yours: Option<[u8; 8]>,
}

/// Names a signed credential (the first 8 bytes of SHA-256 over its
/// signature, which no two credentials share).
pub fn credential_fingerprint(signed: &Signed) -> [u8; 8] {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(&signed.signature);
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    out
}

/// The initiator's proof as sent: the proof, then the names when there
/// are any.
pub fn encode_initiator_proof(proof: &InitiatorProof, names: &ProofNames) -> Vec<u8> {
    let mut out = postcard::to_stdvec(proof).unwrap_or_default();
    if *names != ProofNames::default() {
        out.extend(postcard::to_stdvec(names).unwrap_or_default());
    }
    out
}

/// The initiator's proof as received, from an older initiator (no names)
/// or a newer one.
pub fn decode_initiator_proof(bytes: &[u8]) -> Result<(InitiatorProof, ProofNames), &'static str> {
    let (proof, rest) =
        postcard::take_from_bytes::<InitiatorProof>(bytes).map_err(|_| HANDSHAKE_FAILED)?;
    let names = match rest {
        [] => ProofNames::default(),
        rest => match postcard::take_from_bytes::<ProofNames>(rest) {
            Ok((names, [])) => names,
            _ => return Err(HANDSHAKE_FAILED),
        },
    };
    Ok((proof, names))
}

impl ResponderProof {
    /// The credential the initiator named (`ProofNames::yours`) stands for
    /// the responder's, left out.
    pub fn named() -> Signed {
        Signed {
            body: Vec::new(),
            signature: Vec::new(),
        }
    }

    /// Whether the responder left its credential out.
    pub fn left_out(&self) -> bool {
        self.credential.body.is_empty() && self.credential.signature.is_empty()
    }
}

/// A message as received.
pub enum Incoming<'a> {
    /// A handshake message.
    Handshake(Handshake),
    /// A sealed frame: its nonce and ciphertext.
    Sealed(u64, &'a [u8]),
    /// Not protocol 2 or later (an old app's frame, or garbage).
    Other,
}

/// Splits a received message.
pub fn parse(bytes: &[u8]) -> Result<Incoming<'_>, &'static str> {
    let Some(rest) = bytes.strip_prefix(&MAGIC) else {
        return Ok(Incoming::Other);
    };
    match rest.split_first() {
        Some((&TAG_HANDSHAKE, body)) => postcard::from_bytes(body)
            .map(Incoming::Handshake)
            .map_err(|_| "a handshake message cannot be decoded"),
        Some((&TAG_SEALED, body)) if body.len() >= 8 + 16 => {
            let mut nonce = [0u8; 8];
            nonce.copy_from_slice(&body[..8]);
            Ok(Incoming::Sealed(u64::from_be_bytes(nonce), &body[8..]))
        }
        Some((&TAG_SEALED_SHORT, body)) => match postcard::take_from_bytes::<u64>(body) {
            Ok((nonce, ciphertext)) if ciphertext.len() >= 16 => {
                Ok(Incoming::Sealed(nonce, ciphertext))
            }
            _ => Err("a sealed frame cannot be decoded"),
        },
        _ => Err("a message of unknown kind"),
    }
}

/// Encodes a handshake message.
pub fn handshake_message(msg: &Handshake) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.push(TAG_HANDSHAKE);
    out.extend(postcard::to_stdvec(msg).unwrap_or_default());
    out
}

/// Where the channel is.
pub enum Channel {
    /// Nothing sent or received yet.
    Idle,
    /// Mid-handshake.
    Handshaking(Box<HandshakeState>),
    /// Open: frames are sealed with these keys.
    Open {
        /// The transport keys.
        transport: Box<StatelessTransportState>,
        /// The next nonce this side seals with.
        next_nonce: u64,
    },
}

/// A handshake step failed (bad message, wrong key, wrong pre-shared key).
pub const HANDSHAKE_FAILED: &str = "the secure handshake failed";

/// Builds the Noise state for one side; `remote` is the responder's static
/// key an IK initiator already knows.
pub fn noise_state(
    pattern: &str,
    local_secret: &[u8; 32],
    psk: Option<&[u8; 32]>,
    remote: Option<&[u8; 32]>,
    initiator: bool,
) -> Result<HandshakeState, &'static str> {
    let params = noise_params(pattern);
    let mut builder = snow::Builder::new(params)
        .local_private_key(local_secret)
        .map_err(|_| HANDSHAKE_FAILED)?;
    if let Some(psk) = psk {
        builder = builder.psk(3, psk).map_err(|_| HANDSHAKE_FAILED)?;
    }
    if let Some(remote) = remote {
        builder = builder
            .remote_public_key(remote)
            .map_err(|_| HANDSHAKE_FAILED)?;
    }
    if initiator {
        builder.build_initiator()
    } else {
        builder.build_responder()
    }
    .map_err(|_| HANDSHAKE_FAILED)
}

/// Writes a handshake message with `payload`.
pub fn write(hs: &mut HandshakeState, payload: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut buf = vec![0u8; NOISE_MAX];
    let n = hs
        .write_message(payload, &mut buf)
        .map_err(|_| "the handshake message is too large")?;
    buf.truncate(n);
    Ok(buf)
}

/// Reads a handshake message; returns its payload.
pub fn read(hs: &mut HandshakeState, message: &[u8]) -> Result<Vec<u8>, &'static str> {
    if message.len() > NOISE_MAX {
        return Err(HANDSHAKE_FAILED);
    }
    let mut buf = vec![0u8; NOISE_MAX];
    let n = hs
        .read_message(message, &mut buf)
        .map_err(|_| HANDSHAKE_FAILED)?;
    buf.truncate(n);
    Ok(buf)
}

/// Seals one inner frame; with `short_nonce` (protocol 5, agreed) the
/// nonce is written as a varint.
pub fn seal(
    transport: &StatelessTransportState,
    nonce: u64,
    frame: &[u8],
    short_nonce: bool,
) -> Result<Vec<u8>, &'static str> {
    let mut out = MAGIC.to_vec();
    if short_nonce {
        out.push(TAG_SEALED_SHORT);
        out.extend(postcard::to_stdvec(&nonce).unwrap_or_default());
    } else {
        out.push(TAG_SEALED);
        out.extend_from_slice(&nonce.to_be_bytes());
    }
    let start = out.len();
    out.resize(start + frame.len() + 16, 0);
    let n = transport
        .write_message(nonce, frame, &mut out[start..])
        .map_err(|_| "a frame too large to seal")?;
    out.truncate(start + n);
    Ok(out)
}

/// Opens one sealed frame; fails unless it was sealed by the peer of this
/// session, unaltered.
pub fn open(
    transport: &StatelessTransportState,
    nonce: u64,
    ciphertext: &[u8],
) -> Result<Vec<u8>, &'static str> {
    let mut out = vec![0u8; ciphertext.len()];
    let n = transport
        .read_message(nonce, ciphertext, &mut out)
        .map_err(|_| "a sealed frame failed authentication")?;
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_frame_carries_its_nonce_in_eight_bytes_or_as_a_varint() {
        let ciphertext = [0x5a; 16];
        // Protocol 2 to 4: tag 2, the nonce big-endian in 8 bytes.
        let long = [&MAGIC[..], &[2], &300u64.to_be_bytes(), &ciphertext].concat();
        // Protocol 5: tag 3, the nonce as a varint (300 = ac 02).
        let short = [&MAGIC[..], &[3, 0xac, 0x02], &ciphertext].concat();
        for bytes in [long, short] {
            match parse(&bytes) {
                Ok(Incoming::Sealed(300, c)) => assert_eq!(c, ciphertext),
                _ => panic!("not a sealed frame with nonce 300"),
            }
        }
        // Too short for an authentication tag, or a varint that never
        // ends: refused, not misread.
        assert!(parse(&[&MAGIC[..], &[3, 0x01], &[0; 15]].concat()).is_err());
        assert!(parse(&[&MAGIC[..], &[3], &[0xff; 10]].concat()).is_err());
    }
}
