//! A sync session the host drives: frames in, frames out, over whatever
//! transport the phone has.

use std::sync::{Arc, Mutex};

use anxin_core::sync::{ExpectedResponder, SyncConfig, SyncSession};

use crate::error::{guard, AnxinError, Result};
use crate::records::{SyncOptions, SyncReport};
use crate::Shared;

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
            Some(text) => Some(anxin_core::trust::EnrolCode::parse(text).map_err(|e| {
                AnxinError::InvalidInput {
                    field: "enrol_code".into(),
                    reason: e.to_string(),
                }
            })?),
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
        guard(|| Ok(self.session().start(&self.shared.store())?))
    }

    /// Feeds one received frame; returns the frames to send. Everything
    /// received is committed as it arrives.
    pub fn receive(&self, frame: Vec<u8>) -> Result<Vec<Vec<u8>>> {
        guard(|| {
            let (out, progress, finished) = {
                let mut session = self.session();
                let out = session.receive(&mut self.shared.store(), &frame);
                (out, session.progress(), session.is_finished())
            };
            self.shared
                .listeners
                .progress(progress.done, progress.total);
            if finished {
                self.shared.listeners.changed("sync", "", "session");
                self.shared.tell_conflicts()?;
            }
            Ok(out?)
        })
    }

    /// Whether the session is over (completed or failed).
    pub fn is_finished(&self) -> bool {
        self.session().is_finished()
    }

    /// Gives up (the link broke); the next session resumes.
    pub fn abandon(&self) {
        self.session().abandon("abandoned by the host");
    }

    /// What the session did so far.
    pub fn report(&self) -> SyncReport {
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
