//! TCP on a LAN: the station laptop serves, phones (or the CLI) connect.
//! Each frame travels as a 4-byte big-endian length and its bytes; a length
//! above the session's frame cap ends the session before anything is
//! allocated.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::session::{Progress, SessionReport, SyncConfig, SyncError, SyncSession};
use crate::store::Store;

/// How long a peer may stay silent before the session is given up.
const IDLE: Duration = Duration::from_secs(30);

fn write_frames(stream: &mut TcpStream, frames: &[Vec<u8>]) -> std::io::Result<()> {
    for f in frames {
        stream.write_all(&(f.len() as u32).to_be_bytes())?;
        stream.write_all(f)?;
    }
    stream.flush()
}

fn read_frame(stream: &mut TcpStream, cap: usize) -> Result<Option<Vec<u8>>, SyncError> {
    let mut len = [0u8; 4];
    match stream.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(_) => return Err(SyncError::Protocol("the connection broke")),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > cap {
        return Err(SyncError::Protocol("frame larger than the agreed cap"));
    }
    let mut buf = vec![0u8; len];
    stream
        .read_exact(&mut buf)
        .map_err(|_| SyncError::Protocol("the connection broke"))?;
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
        stream.set_read_timeout(Some(IDLE)).ok();
        stream.set_nodelay(true).ok();
        write_frames(stream, &first).map_err(|_| SyncError::Protocol("the connection broke"))?;
        while !session.is_finished() {
            let Some(frame) = read_frame(stream, cap)? else {
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
    session.max_frame_bytes()
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

/// Serves sessions on `listener`, one connection at a time, calling
/// `on_report` after each; stops after `sessions` sessions if given.
pub fn serve(
    store: &mut Store,
    listener: &TcpListener,
    config: SyncConfig,
    sessions: Option<u32>,
    on_report: &mut dyn FnMut(&SessionReport),
) -> Result<(), SyncError> {
    let mut served = 0;
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut session = SyncSession::respond(config.clone());
        let report = drive(store, &mut stream, &mut session, Vec::new(), &mut |_| {});
        on_report(&report);
        served += 1;
        if sessions.is_some_and(|n| served >= n) {
            break;
        }
    }
    Ok(())
}
