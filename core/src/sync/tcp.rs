//! TCP on a LAN: the station laptop serves, phones (or the CLI) connect.
//! Each frame travels as a 4-byte big-endian length and its bytes; a length
//! above the session's frame cap ends the session before anything is
//! allocated.
//!
//! A peer is hostile until proven otherwise: a whole frame must arrive
//! within the session's `frame_deadline` (a byte now and then does not keep a session
//! alive), and the server runs each session on its own thread with its own
//! store connection, at most [`MAX_CONCURRENT`] at once, so one slow socket
//! never stops the others.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::session::{Progress, SessionReport, SyncConfig, SyncError, SyncSession};
use crate::store::{Store, StoreError};

/// How many sessions a server runs at once; a connection beyond that is
/// closed at once (the phone retries later).
pub const MAX_CONCURRENT: usize = 8;

fn write_frames(stream: &mut TcpStream, frames: &[Vec<u8>]) -> std::io::Result<()> {
    for f in frames {
        stream.write_all(&(f.len() as u32).to_be_bytes())?;
        stream.write_all(f)?;
    }
    stream.flush()
}

/// Reads exactly `buf.len()` bytes before `deadline`.
fn read_by(stream: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> std::io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut buf[done..]) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn read_frame(
    stream: &mut TcpStream,
    cap: usize,
    deadline: Duration,
) -> Result<Option<Vec<u8>>, SyncError> {
    let by = Instant::now() + deadline;
    let mut len = [0u8; 4];
    match read_by(stream, &mut len, by) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) =>
        {
            return Err(SyncError::Cap("a frame took too long to arrive"))
        }
        Err(_) => return Err(SyncError::Protocol("the connection broke")),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > cap {
        return Err(SyncError::Protocol("frame larger than the agreed cap"));
    }
    let mut buf = vec![0u8; len];
    read_by(stream, &mut buf, by).map_err(|e| match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            SyncError::Cap("a frame took too long to arrive")
        }
        _ => SyncError::Protocol("the connection broke"),
    })?;
    Ok(Some(buf))
}

fn drive(
    store: &mut Store,
    stream: &mut TcpStream,
    session: &mut SyncSession,
    first: Vec<Vec<u8>>,
    progress: &mut dyn FnMut(Progress),
) -> SessionReport {
    let cap = session_cap(session);
    let result = (|| -> Result<(), SyncError> {
        stream.set_nodelay(true).ok();
        stream
            .set_write_timeout(Some(session.frame_deadline()))
            .ok();
        write_frames(stream, &first).map_err(|_| SyncError::Protocol("the connection broke"))?;
        while !session.is_finished() {
            let Some(frame) = read_frame(stream, cap, session.frame_deadline())? else {
                return Err(SyncError::Protocol("the peer closed the connection"));
            };
            let out = session.receive(store, &frame);
            // Send what we have (a refusal, say) even when the session failed.
            if let Ok(frames) = &out {
                write_frames(stream, frames)
                    .map_err(|_| SyncError::Protocol("the connection broke"))?;
            }
            out?;
            progress(session.progress());
        }
        Ok(())
    })();
    if let Err(e) = result {
        session.abandon(&e.to_string());
    }
    session.report().clone()
}

fn session_cap(session: &SyncSession) -> usize {
    // Handshake messages may be as large as a Noise message.
    session
        .max_frame_bytes()
        .max(super::channel::NOISE_MAX + 64)
}

/// Connects to a peer and runs one session as the initiator.
pub fn connect(
    store: &mut Store,
    addr: impl ToSocketAddrs,
    config: SyncConfig,
    progress: &mut dyn FnMut(Progress),
) -> Result<SessionReport, SyncError> {
    let mut stream =
        TcpStream::connect(addr).map_err(|_| SyncError::Protocol("cannot connect to the peer"))?;
    let mut session = SyncSession::initiate(config);
    let first = session.start(store)?;
    Ok(drive(store, &mut stream, &mut session, first, progress))
}

/// Serves sessions on `listener`, each on its own thread with a store
/// connection from `open` (the same file), at most [`MAX_CONCURRENT`] at
/// once; calls `on_report` after each session; stops after `sessions`
/// connections if given (and waits for the running ones).
pub fn serve(
    open: &(dyn Fn() -> Result<Store, StoreError> + Sync),
    listener: &TcpListener,
    config: SyncConfig,
    sessions: Option<u32>,
    on_report: &(dyn Fn(&SessionReport) + Sync),
) -> Result<(), SyncError> {
    serve_with_cap(open, listener, config, sessions, MAX_CONCURRENT, on_report)
}

/// [`serve`] with a chosen cap on concurrent sessions.
pub fn serve_with_cap(
    open: &(dyn Fn() -> Result<Store, StoreError> + Sync),
    listener: &TcpListener,
    config: SyncConfig,
    sessions: Option<u32>,
    cap: usize,
    on_report: &(dyn Fn(&SessionReport) + Sync),
) -> Result<(), SyncError> {
    let running = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|scope| {
        let mut accepted = 0u32;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            accepted += 1;
            if running.load(Ordering::SeqCst) >= cap {
                // Busy: close at once rather than queue behind slow peers.
                drop(stream);
                on_report(&SessionReport {
                    error: Some("too many sessions at once: connection closed".into()),
                    ..SessionReport::default()
                });
            } else {
                running.fetch_add(1, Ordering::SeqCst);
                let (running, config) = (running.clone(), config.clone());
                scope.spawn(move || {
                    let report = match open() {
                        Ok(mut store) => {
                            let mut session = SyncSession::respond(config);
                            drive(
                                &mut store,
                                &mut stream,
                                &mut session,
                                Vec::new(),
                                &mut |_| {},
                            )
                        }
                        Err(e) => SessionReport {
                            error: Some(e.to_string()),
                            ..SessionReport::default()
                        },
                    };
                    running.fetch_sub(1, Ordering::SeqCst);
                    on_report(&report);
                });
            }
            if sessions.is_some_and(|n| accepted >= n) {
                break;
            }
        }
    });
    Ok(())
}
