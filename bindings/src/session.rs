//! A sync session the host drives: frames in, frames out, over whatever
//! transport the phone has.

use std::sync::{Arc, Mutex};

use anxin_core::sync::{ExpectedResponder, SyncConfig, SyncSession};

use crate::error::{guard, AnxinError, Result};
use crate::records::{SyncOptions, SyncReport};
use crate::{Origin, Shared};

/// One sync session. The initiator sends what `start` returns; each side
/// passes every frame it receives to `receive` and sends what it returns,
/// until `isFinished`.
#[derive(uniffi::Object)]
pub struct SyncSessionHandle {
    shared: Arc<Shared>,
    session: Mutex<SyncSession>,
}

impl SyncSessionHandle {
    pub(crate) fn new(shared: Arc<Shared>, o: SyncOptions) -> Result<Arc<Self>> {
        let enrol = match &o.enrol_code {
            Some(text) => Some(
                anxin_core::trust::EnrolCode::parse(text)
                    .map_err(|e| AnxinError::invalid("enrol_code", "bad_code", e.to_string()))?,
            ),
            None => None,
        };
        let config = SyncConfig {
            max_frame_bytes: (o.max_frame_bytes as usize).max(512),
            enrol,
            responder: match o.peer_device {
                Some(device) => ExpectedResponder::Device(device),
                None => ExpectedResponder::StationLaptop,
            },
            ..SyncConfig::default()
        };
        let session = if o.initiator {
            SyncSession::initiate(config)
        } else {
            SyncSession::respond(config)
        };
        Ok(Arc::new(Self {
            shared,
            session: Mutex::new(session),
        }))
    }

    fn session(&self) -> std::sync::MutexGuard<'_, SyncSession> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[uniffi::export]
impl SyncSessionHandle {
    /// The initiator's first frames (none for a responder).
    pub fn start(&self) -> Result<Vec<Vec<u8>>> {
        guard(|| {
            // The writer before the session, in every call: one lock order.
            let store = self.shared.writer(Origin::Sync)?;
            let out = self.session().start(&store);
            drop(store);
            Ok(out?)
        })
    }

    /// Feeds one received frame; returns the frames to send. Everything
    /// received is committed as it arrives, and the store listeners hear of
    /// every document it changed when the call returns (also when the
    /// session is later abandoned).
    pub fn receive(&self, frame: Vec<u8>) -> Result<Vec<Vec<u8>>> {
        guard(|| {
            // The writer before the session, in every call: one lock
            // order. The session is let go first, then the writer (whose
            // changes are told then): a listener may use the session.
            let mut store = self.shared.writer(Origin::Sync)?;
            let (out, progress) = {
                let mut session = self.session();
                let out = session.receive(&mut store, &frame);
                (out, session.progress())
            };
            drop(store);
            self.shared
                .listeners
                .progress(progress.done, progress.total);
            Ok(out?)
        })
    }

    /// Whether the session is over (completed or failed).
    pub fn is_finished(&self) -> Result<bool> {
        guard(|| Ok(self.session().is_finished()))
    }

    /// Gives up (the link broke); the next session resumes. What arrived
    /// before is kept (and was reported to the store listeners as it was
    /// applied).
    pub fn abandon(&self) -> Result<()> {
        guard(|| {
            self.session().abandon("abandoned by the host");
            Ok(())
        })
    }

    /// What the session did so far.
    pub fn report(&self) -> Result<SyncReport> {
        guard(|| Ok(self.report_now()))
    }
}

impl SyncSessionHandle {
    fn report_now(&self) -> SyncReport {
        let s = self.session();
        let r = s.report();
        SyncReport {
            peer: r.peer.clone(),
            completed: r.completed,
            documents_received: r.documents_received,
            snapshots_sent: r.snapshots_sent,
            bytes_sent: r.bytes_sent,
            bytes_received: r.bytes_received,
            quarantined: r
                .quarantined
                .iter()
                .map(|(id, why)| format!("{id}: {why}"))
                .collect(),
            error: r.error.clone(),
        }
    }
}
