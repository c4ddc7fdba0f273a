//! The attacks of issue 13 that the secure sessions answer, each as a
//! regression test: unenrolled devices, another station's laptop, an old
//! protocol, frames before the handshake, a volunteer asking for case files,
//! a rogue peer asking for departed documents, codes reused or expired,
//! revoked devices. Network attacks run over real loopback TCP.

use std::io::{Read, Write};
use std::net::TcpStream;

use super::channel;
use super::link::{run, LinkConfig};
use super::protocol::{self, Frame, Item};
use super::*;
use crate::doc::Author;
use crate::fixture::{enrol_as, enrol_everything, generate, FixtureSpec};
use crate::model::*;
use crate::store::{EnrolOptions, Store, StoreError, StoreOptions};
use crate::trust::TrustError;

/// A session between two enrolled devices over a perfect link.
fn meet(initiator: &mut Store, responder: &mut Store) -> super::link::LinkRun {
    run(
        initiator,
        responder,
        &SyncConfig::default(),
        &LinkConfig::perfect(),
    )
}

fn memory_store() -> Store {
    Store::open(":memory:", StoreOptions::default()).unwrap()
}

fn station(households: u32, seed: u64) -> Store {
    let mut s = memory_store();
    generate(&mut s, FixtureSpec { households, seed }, |_, _| {}).unwrap();
    s
}

/// A station laptop whose store is a file (a server opens one connection
/// per session).
fn file_station(households: u32, seed: u64) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path().join("station.db"), StoreOptions::default()).unwrap();
    generate(&mut s, FixtureSpec { households, seed }, |_, _| {}).unwrap();
    (dir, s)
}

fn admin(s: &Store) -> Author {
    Author::Worker(
        s.people().workers(None, Some(Role::StationAdmin)).unwrap()[0]
            .id
            .clone(),
    )
}

fn send(stream: &mut TcpStream, bytes: &[u8]) {
    stream
        .write_all(&(bytes.len() as u32).to_be_bytes())
        .unwrap();
    stream.write_all(bytes).unwrap();
}

/// Reads one length-prefixed frame; `None` when the server closed.
fn receive(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).ok()?;
    let mut buf = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut buf).ok()?;
    Some(buf)
}

fn old_hello() -> Vec<u8> {
    protocol::encode(&Frame {
        session: 7,
        turn: 0,
        index: 0,
        count: 1,
        items: vec![Item::Hello {
            min: 1,
            max: 1,
            device: vec![1; 16],
            station: Vec::new(),
            scopes: protocol::pack_scopes(&["case:main".into()]),
            digests: vec![],
            departing: vec![],
            registry: [0; 16],
        }],
    })
}

#[test]
fn strangers_on_the_network_get_nothing_and_change_nothing() {
    let (_dir, a) = file_station(20, 1);
    let before = a.export_json().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let open = a.opener();
    let server = std::thread::spawn(move || {
        let reports = std::sync::Mutex::new(Vec::new());
        tcp::serve(&open, &listener, SyncConfig::default(), Some(5), &|r| {
            reports.lock().unwrap().push(r.clone())
        })
        .unwrap();
        reports.into_inner().unwrap()
    });

    // A fresh device with no credential connects, but cannot even start a
    // session.
    let mut fresh = memory_store();
    assert!(matches!(
        tcp::connect(&mut fresh, addr, SyncConfig::default(), &mut |_| {}),
        Err(SyncError::Trust(TrustError::NotEnrolled))
    ));

    // Another station's laptop: refused by its own side at the handshake,
    // having received nothing.
    let mut other = station(3, 99);
    let r = tcp::connect(&mut other, addr, SyncConfig::default(), &mut |_| {}).unwrap();
    assert!(!r.completed);
    assert!(
        r.error.as_deref().unwrap_or("").contains("another station"),
        "{r:?}"
    );
    assert_eq!(r.documents_received, 0);

    // An old app (protocol 1) asking for the case team is told to update,
    // in its own framing, and gets nothing else.
    let mut s = TcpStream::connect(addr).unwrap();
    send(&mut s, &old_hello());
    let reply = protocol::decode(&receive(&mut s).unwrap(), 1 << 20).unwrap();
    match &reply.items[..] {
        [Item::Refuse { reason }] => assert!(reason.contains("protocol 2"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(receive(&mut s).is_none(), "nothing after the refusal");

    // Sealed frames (a Sync item, say) before any handshake: the session
    // ends without a word.
    let mut s = TcpStream::connect(addr).unwrap();
    let mut forged = channel::MAGIC.to_vec();
    forged.push(2);
    forged.extend_from_slice(&[0u8; 64]);
    send(&mut s, &forged);
    assert!(receive(&mut s).is_none());

    // A handshake that an attacker cannot finish: a stranger's device keys
    // opening a session gets the responder's proof at most, then nothing.
    let mut s = TcpStream::connect(addr).unwrap();
    let mut stranger = SyncSession::initiate(SyncConfig {
        enrol: Some(crate::trust::EnrolCode::parse(&format!("AX1{}", "0".repeat(64))).unwrap()),
        ..SyncConfig::default()
    });
    let open = stranger.start(&memory_store()).unwrap();
    send(&mut s, &open[0]);
    let refusal = receive(&mut s).unwrap();
    match channel::parse(&refusal).unwrap() {
        channel::Incoming::Handshake(channel::Handshake::Refuse { reason, .. }) => {
            assert!(
                reason.contains("unknown, already used or expired"),
                "{reason}"
            )
        }
        _ => panic!("expected a refusal"),
    }

    let reports = server.join().unwrap();
    assert_eq!(reports.len(), 5);
    assert!(reports
        .iter()
        .all(|r| !r.completed && r.documents_received == 0));
    assert_eq!(a.export_json().unwrap(), before, "the station is unchanged");
}

#[test]
fn a_code_works_once_and_not_after_it_expired() {
    let mut a = station(5, 2);
    let enrol = enrol_as(&mut a, Role::Volunteer, None).unwrap();
    let mut p = memory_store();
    let r = run(&mut p, &mut a, &enrol, &LinkConfig::perfect());
    assert!(r.completed(), "{:?}", r.initiator.error);
    let mut q = memory_store();
    let r = run(&mut q, &mut a, &enrol, &LinkConfig::perfect());
    assert!(!r.completed());
    assert!(r.initiator.error.unwrap().contains("already used"));
    assert_eq!(q.replica().station_id().unwrap(), None);

    // Wrong secret for a real id: the handshake fails (the pre-shared key
    // differs), nothing is issued.
    let mut enrol = enrol_as(&mut a, Role::Volunteer, None).unwrap();
    if let Some(code) = enrol.enrol.as_mut() {
        code.secret[0] ^= 1;
    }
    let r = run(&mut q, &mut a, &enrol, &LinkConfig::perfect());
    assert!(!r.completed());
    assert_eq!(q.replica().station_id().unwrap(), None);
    let devices = a.devices().list().unwrap().len();
    assert_eq!(devices, 2, "the laptop and the one phone");

    // An expired code is refused like a used one.
    let late = enrol_as(&mut a, Role::Volunteer, None).unwrap();
    a.tamper("UPDATE enrolments SET expires_at = 0 WHERE used_at IS NULL")
        .unwrap();
    let r = run(&mut q, &mut a, &late, &LinkConfig::perfect());
    assert!(!r.completed());
    assert!(r.initiator.error.unwrap().contains("expired"));
    assert_eq!(q.replica().station_id().unwrap(), None);

    // A device id that is not a UUID (multi-byte, say) is refused cleanly.
    let volunteer = a.people().workers(None, Some(Role::Volunteer)).unwrap()[0]
        .id
        .clone();
    let by = admin(&a);
    let code = a
        .devices_mut()
        .enrol_device(&by, &volunteer, EnrolOptions::default())
        .unwrap();
    let keys = crate::trust::DeviceKeys::generate();
    let err = a
        .redeem_enrolment(
            &code.id,
            "设备-ünïcødé",
            keys.signing_public(),
            keys.noise_public(),
        )
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Trust(TrustError::Malformed { .. })),
        "{err}"
    );

    // Only a station admin makes codes; case scopes only for the case team.
    let volunteer_author = Author::Worker(volunteer.clone());
    assert!(a
        .devices_mut()
        .enrol_device(&volunteer_author, &volunteer, EnrolOptions::default())
        .is_err());
    let err = a
        .devices_mut()
        .enrol_device(
            &by,
            &volunteer,
            EnrolOptions {
                scopes: Some(vec!["station".into(), "case:main".into()]),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "case scopes go to counselors, clinicians and social workers"
    );
}

#[test]
fn a_volunteers_phone_never_receives_case_files_even_when_it_asks() {
    let mut a = station(10, 3);
    // A counselor's phone, with the case team.
    let counselor = a.people().workers(None, Some(Role::Counselor)).unwrap()[0]
        .id
        .clone();
    let by = admin(&a);
    let code = a
        .devices_mut()
        .enrol_device(
            &by,
            &counselor,
            EnrolOptions {
                scopes: Some(vec!["station".into(), "grid:*".into(), "case:main".into()]),
                ..Default::default()
            },
        )
        .unwrap();
    let mut phone = memory_store();
    let enrol = SyncConfig {
        enrol: Some(code),
        ..Default::default()
    };
    assert!(run(&mut phone, &mut a, &enrol, &LinkConfig::perfect()).completed());
    let device = phone.device().device_id.clone();

    // The worker becomes a volunteer; the station renews the device, which
    // drops the case team. The phone still presents its old credential and
    // still asks for case:main: the station goes by the newest credential.
    let by = admin(&a);
    a.people_mut()
        .set_worker_role(&by, &counselor, Role::Volunteer)
        .unwrap();
    a.devices_mut().renew_device(&by, &device, 30).unwrap();
    let r = meet(&mut phone, &mut a);
    assert!(r.completed(), "{:?}", r.initiator.error);
    assert!(
        !r.responder
            .shared_scopes
            .iter()
            .any(|s| matches!(s, Scope::CaseTeam(_))),
        "{:?}",
        r.responder.shared_scopes
    );
    // It learned its renewed credential, and asks for no case files again.
    let (_, mine) = phone.devices().credential().unwrap().unwrap();
    assert_eq!(mine.role, Some(Role::Volunteer));
    assert!(!mine.grants("case:main"));
    let r = meet(&mut phone, &mut a);
    assert!(r.completed());
    assert!(!r
        .initiator
        .shared_scopes
        .iter()
        .any(|s| matches!(s, Scope::CaseTeam(_))));
}

#[test]
fn a_revoked_phone_is_refused_by_every_peer_that_learned_of_it() {
    let mut a = station(10, 4);
    let first = enrol_everything(&mut a).unwrap();
    let second = enrol_everything(&mut a).unwrap();
    let mut p = memory_store();
    let mut q = memory_store();
    assert!(run(&mut p, &mut a, &first, &LinkConfig::perfect()).completed());
    assert!(run(&mut q, &mut a, &second, &LinkConfig::perfect()).completed());
    // The phones know each other through the registry: they sync directly.
    assert!(meet(&mut q, &mut p).completed());

    let lost = p.device().device_id.clone();
    let by = admin(&a);
    a.devices_mut().revoke_device(&by, &lost).unwrap();
    // q learns of the revocation at the station...
    assert!(meet(&mut q, &mut a).completed());
    assert!(q.devices().is_revoked(&lost).unwrap());
    // ...and then refuses the lost phone, either way round.
    let r = meet(&mut p, &mut q);
    assert!(!r.completed());
    assert!(r.initiator.error.unwrap().contains("revoked"));
    let r = meet(&mut q, &mut p);
    assert!(!r.completed());
    assert!(r.initiator.error.unwrap().contains("revoked"));
    let r = meet(&mut p, &mut a);
    assert!(!r.completed());
}

#[test]
fn a_peer_not_entitled_to_a_grid_gets_no_departed_household_and_nothing_is_purged() {
    let mut a = station(40, 5);
    let grids: Vec<GridId> = a
        .station()
        .unwrap()
        .grids
        .values()
        .map(|g| g.id.clone())
        .collect();
    let g1 = format!("grid:{}", grids[0]);
    let g2 = format!("grid:{}", grids[1]);
    let enrol_grid1 = |a: &mut Store, claims: Vec<String>| {
        let mut s = memory_store();
        s.set_scope_keys(&claims).unwrap();
        let enrol = enrol_as(a, Role::Volunteer, Some(vec!["station".into(), g1.clone()])).unwrap();
        assert!(run(&mut s, a, &enrol, &LinkConfig::perfect()).completed());
        s
    };
    let mut phone = enrol_grid1(&mut a, vec!["station".into(), g1.clone()]);
    // A rogue phone claims grid 2 too; its credential does not grant it.
    let mut rogue = enrol_grid1(&mut a, vec!["station".into(), g1.clone(), g2.clone()]);
    let h = phone
        .households()
        .households_in_grid(&grids[0], 1, 0)
        .unwrap()[0]
        .id
        .clone();
    let dispatcher = Author::Worker(
        a.people().workers(None, Some(Role::Dispatcher)).unwrap()[0]
            .id
            .clone(),
    );
    a.households_mut()
        .move_household(&dispatcher, &h, &grids[1])
        .unwrap();
    // The rogue learns of the move at the station, and at its next
    // meeting hands its own copy to the station, which holds grid 2.
    for _ in 0..2 {
        assert!(meet(&mut rogue, &mut a).completed());
    }
    assert!(!rogue.replica().has_document(h.as_str()).unwrap());
    // The phone learns of it from the rogue (in the first session, before
    // it knew, it may still share its grid-1 copy with a grid-1 peer). Its
    // copy must go to a peer entitled to grid 2, and the rogue is not,
    // whatever it claims: however often they meet, the phone purges nothing.
    for _ in 0..2 {
        let r = meet(&mut phone, &mut rogue);
        assert!(r.completed(), "{:?}", r.initiator.error);
        assert!(r.initiator.purged.is_empty());
    }
    assert!(phone
        .departed_keys()
        .unwrap()
        .iter()
        .any(|(id, _)| id == h.as_str()));
    assert!(
        phone.replica().has_document(h.as_str()).unwrap(),
        "the copy stays"
    );
    // The station is entitled: the phone hands it over there, then purges.
    let r = meet(&mut phone, &mut a);
    assert!(r.completed());
    assert!(r.initiator.purged.contains(&h.to_string()));
}

/// Enrols a phone at `station` holding everything, then runs a session's
/// handshake and first turn by hand; returns both sides, the responder
/// having answered the Hello and waiting for the initiator's turn 2 (which
/// the caller forges).
fn handshaken(
    station: &mut Store,
    phone: &mut Store,
    responder: SyncConfig,
) -> (SyncSession, SyncSession) {
    let enrol = enrol_everything(station).unwrap();
    assert!(run(phone, station, &enrol, &LinkConfig::perfect()).completed());
    let mut a = SyncSession::initiate(SyncConfig::default());
    let mut b = SyncSession::respond(responder);
    // The phone knows the station laptop's key: its proof and Hello go in
    // the first message, the Reply and the Welcome come back together.
    let open = a.start(phone).unwrap();
    assert!(matches!(
        channel::parse(&open[0]).unwrap(),
        channel::Incoming::Handshake(channel::Handshake::OpenKnown { .. })
    ));
    let reply_and_welcome = b.receive(station, &open[0]).unwrap();
    assert!(reply_and_welcome.len() >= 2);
    for f in reply_and_welcome {
        a.receive(phone, &f).unwrap();
    }
    (a, b)
}

#[test]
fn unfinished_pieces_are_capped_per_session_and_released() {
    let mut a = station(5, 6);
    let mut phone = memory_store();
    let cap = 256 * 1024;
    let (mut attacker, mut victim) = handshaken(
        &mut a,
        &mut phone,
        SyncConfig {
            max_piece_bytes: cap,
            ..SyncConfig::default()
        },
    );
    // Pieces of many large items, none ever finished.
    let mut sent = 0usize;
    let mut outcome = Ok(Vec::new());
    for key in 0..1_000u32 {
        let items = vec![Item::Piece {
            key,
            index: 0,
            total: 2,
            bytes: vec![7; 32 * 1024],
        }];
        for f in attacker.forge_turn(2 + 2 * key, items) {
            sent += f.len();
            outcome = victim.receive(&mut a, &f);
        }
        if outcome.is_err() {
            break;
        }
    }
    assert!(
        matches!(outcome, Err(SyncError::Cap(_))),
        "{outcome:?} after {sent} bytes"
    );
    assert!(sent <= cap + 64 * 1024, "stopped after {sent} bytes");
    assert!(victim.is_finished());
}

#[test]
fn garbage_snapshots_fill_the_bounded_quarantine_never_the_disk() {
    let mut a = station(5, 7);
    let mut phone = memory_store();
    let (mut attacker, mut victim) = handshaken(&mut a, &mut phone, SyncConfig::default());
    let garbage = vec![0x5a; 24 * 1024];
    let mut n = 0;
    'turns: for t in 0..40u32 {
        let items: Vec<Item> = (0..30)
            .map(|i| Item::Snapshot {
                id: uuid::Uuid::new_v4().as_bytes().to_vec(),
                kind: 2,
                scope: 0,
                bytes: garbage.iter().map(|b| b ^ (i as u8)).collect(),
                attest: vec![],
            })
            .collect();
        for f in attacker.forge_turn(2 + 2 * t, items) {
            if victim.receive(&mut a, &f).is_err() {
                break 'turns;
            }
        }
        n += 30;
    }
    assert!(n >= 1_000, "the session went on through {n} refusals");
    let rows = a.replica().quarantine_rows().unwrap();
    let bytes: i64 = rows.iter().map(|r| r.bytes).sum();
    assert!(
        rows.len() as i64 <= crate::store::QUARANTINE_MAX_ROWS,
        "{}",
        rows.len()
    );
    assert!(bytes <= crate::store::QUARANTINE_MAX_BYTES, "{bytes}");
    assert!(rows.iter().all(|r| r.reason.contains("decoded")));
    assert_eq!(a.replica_mut().purge_quarantine(None).unwrap(), rows.len());
    assert!(a.replica().quarantine_rows().unwrap().is_empty());
}

#[test]
fn a_trickling_socket_is_cut_at_the_frame_deadline_while_two_phones_sync() {
    let (_dir, mut a) = file_station(30, 8);
    let mut phones: Vec<Store> = (0..2)
        .map(|_| {
            let mut p = memory_store();
            let enrol = enrol_everything(&mut a).unwrap();
            assert!(run(&mut p, &mut a, &enrol, &LinkConfig::perfect()).completed());
            p
        })
        .collect();
    // Changes on the station for the phones to fetch.
    for i in 0..5 {
        work_on(&mut a, i);
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let open = a.opener();
    let config = SyncConfig {
        frame_deadline: std::time::Duration::from_millis(800),
        ..SyncConfig::default()
    };
    let server = std::thread::spawn(move || {
        let reports = std::sync::Mutex::new(Vec::new());
        tcp::serve(&open, &listener, config, Some(3), &|r| {
            reports.lock().unwrap().push(r.clone())
        })
        .unwrap();
        reports.into_inner().unwrap()
    });
    // The attacker: a length prefix, then a byte every 200 ms.
    let trickle = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        let _ = s.write_all(&1000u32.to_be_bytes());
        let started = std::time::Instant::now();
        for _ in 0..20 {
            if s.write_all(&[1]).is_err() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        started.elapsed()
    });
    std::thread::sleep(std::time::Duration::from_millis(100));
    for p in &mut phones {
        let r = tcp::connect(p, addr, SyncConfig::default(), &mut |_| {}).unwrap();
        assert!(r.completed, "{:?}", r.error);
        assert_eq!(r.documents_received, 5);
    }
    let _ = trickle.join().unwrap();
    let reports = server.join().unwrap();
    assert_eq!(reports.len(), 3);
    assert_eq!(reports.iter().filter(|r| r.completed).count(), 2);
    assert!(reports
        .iter()
        .any(|r| r.error.as_deref().is_some_and(|e| e.contains("too long"))));
}

#[test]
fn case_files_never_rest_on_an_unencrypted_disk() {
    let mut a = station(5, 9);
    let dir = tempfile::tempdir().unwrap();
    let enrol = enrol_everything(&mut a).unwrap();
    let mut plain = Store::open(dir.path().join("plain.db"), StoreOptions::default()).unwrap();
    assert!(run(&mut plain, &mut a, &enrol, &LinkConfig::perfect()).completed());
    assert!(!plain.replica().encrypted_at_rest());
    assert!(plain
        .devices()
        .credential()
        .unwrap()
        .unwrap()
        .1
        .grants("case:main"));
    assert!(!plain
        .held_scope_keys()
        .unwrap()
        .iter()
        .any(|s| s.starts_with("case:")));

    let enrol = enrol_everything(&mut a).unwrap();
    let mut sealed = Store::open(
        dir.path().join("sealed.db"),
        StoreOptions {
            key: Some("a key".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(run(&mut sealed, &mut a, &enrol, &LinkConfig::perfect()).completed());
    assert!(sealed
        .held_scope_keys()
        .unwrap()
        .contains(&"case:main".to_string()));
}

/// A volunteer records a household on `phone` (a new audit row).
fn work_on(phone: &mut Store, i: usize) {
    let by = Author::Worker(
        phone.people().workers(None, Some(Role::Volunteer)).unwrap()[0]
            .id
            .clone(),
    );
    let grid = phone
        .station()
        .unwrap()
        .grids
        .values()
        .next()
        .unwrap()
        .id
        .clone();
    phone
        .households_mut()
        .add_household(
            &by,
            &grid,
            Address {
                compound: "c".into(),
                building: format!("{i}栋"),
                unit: String::new(),
                room: "1".into(),
            },
        )
        .unwrap();
}

/// A station and a phone enrolled at it that recorded `n` households.
fn station_and_busy_phone(seed: u64, n: usize) -> (Store, Store) {
    let mut a = station(10, seed);
    let mut phone = memory_store();
    let enrol = enrol_everything(&mut a).unwrap();
    assert!(run(&mut phone, &mut a, &enrol, &LinkConfig::perfect()).completed());
    for i in 0..n {
        work_on(&mut phone, i);
    }
    (a, phone)
}

#[test]
fn deleting_the_newest_audit_rows_is_reported_on_the_device_and_at_the_station() {
    let (mut a, mut phone) = station_and_busy_phone(10, 4);
    // A meeting: the station keeps the phone's head.
    let r = meet(&mut phone, &mut a);
    assert!(r.completed());
    assert!(r.responder.audit_findings.is_empty());
    assert!(phone.check().unwrap().is_ok());
    assert!(a.check().unwrap().is_ok());

    // Someone deletes the phone's newest audit rows: its chain still
    // verifies, but it no longer holds the head it signed.
    phone
        .tamper("DELETE FROM audit WHERE seq > (SELECT max(seq) - 3 FROM audit)")
        .unwrap();
    let report = phone.check().unwrap();
    assert_eq!(report.audit_chain_broken_at, None);
    assert!(!report.is_ok());
    assert!(
        report
            .faults()
            .iter()
            .any(|f| f.contains("shorter than the head it signed")),
        "{:?}",
        report.faults()
    );
    // At the next meeting the station sees a shorter chain than the phone
    // once signed, and its own check reports it.
    let r = meet(&mut phone, &mut a);
    assert!(r.completed());
    assert_eq!(r.responder.audit_findings.len(), 1, "{:?}", r.responder);
    let faults = a.check().unwrap().faults();
    assert!(
        faults
            .iter()
            .any(|f| f.contains(&phone.device().device_id) && f.contains("deleted from the end")),
        "{faults:?}"
    );
}

#[test]
fn a_rewritten_audit_chain_that_verifies_is_still_caught_by_the_signed_head() {
    let (mut a, mut phone) = station_and_busy_phone(11, 3);
    // Two meetings: the second hands the station the head of everything
    // the first brought (and brings nothing new).
    assert!(meet(&mut phone, &mut a).completed());
    assert!(meet(&mut phone, &mut a).completed());
    let signed = phone.stats().unwrap().audit_rows;
    // Rows from the end are deleted, then new writes refill the log to the
    // same length: every hash links, but the row the phone signed differs.
    phone
        .tamper("DELETE FROM audit WHERE seq > (SELECT max(seq) - 2 FROM audit)")
        .unwrap();
    let mut i = 10;
    while phone.stats().unwrap().audit_rows < signed {
        work_on(&mut phone, i);
        i += 1;
    }
    let report = phone.check().unwrap();
    assert_eq!(
        report.audit_chain_broken_at, None,
        "the chain itself verifies"
    );
    assert!(
        report.faults().iter().any(|f| f.contains("rewritten")),
        "{:?}",
        report.faults()
    );
    let r = meet(&mut phone, &mut a);
    assert!(r.completed());
    assert_eq!(r.responder.audit_findings.len(), 1, "{:?}", r.responder);
    assert!(a
        .check()
        .unwrap()
        .faults()
        .iter()
        .any(|f| f.contains(&phone.device().device_id) && f.contains("rewritten")));
}

mod hostile_bytes {
    //! Whatever bytes a peer sends, at whatever step, a session answers
    //! with frames or an error: never a panic, never a write.

    use super::*;
    use proptest::prelude::*;

    /// Bytes shaped like protocol-2 messages (magic, a tag, a body) as
    /// often as not, else anything.
    fn hostile() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            (0u8..4, proptest::collection::vec(any::<u8>(), 0..300)).prop_map(|(tag, body)| {
                let mut m = channel::MAGIC.to_vec();
                m.push(tag);
                m.extend(body);
                m
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn a_responder_survives_any_bytes(messages in proptest::collection::vec(hostile(), 1..6)) {
            let mut a = station(2, 12);
            let before = a.export_json().unwrap();
            let mut s = SyncSession::respond(SyncConfig::default());
            for m in &messages {
                let _ = s.receive(&mut a, m);
            }
            prop_assert!(!s.report().completed);
            prop_assert_eq!(a.export_json().unwrap(), before);
        }

        #[test]
        fn an_initiator_mid_handshake_survives_any_bytes(messages in proptest::collection::vec(hostile(), 1..6)) {
            let mut a = station(2, 13);
            let mut phone = memory_store();
            let enrol = enrol_everything(&mut a).unwrap();
            prop_assert!(run(&mut phone, &mut a, &enrol, &LinkConfig::perfect()).completed());
            let before = phone.export_json().unwrap();
            let mut s = SyncSession::initiate(SyncConfig::default());
            s.start(&phone).unwrap();
            for m in &messages {
                let _ = s.receive(&mut phone, m);
            }
            prop_assert!(!s.report().completed);
            prop_assert_eq!(phone.export_json().unwrap(), before);
        }
    }
}
