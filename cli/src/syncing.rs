//! `anxin join`, `anxin sync serve|connect`, `anxin bundle export|import`:
//! thin wrappers over the core's sync drivers that print session reports.

use std::path::Path;

use anxin_core::model::Scope;
use anxin_core::store::Store;
use anxin_core::sync::bundle::{self, BundleError};
use anxin_core::sync::{tcp, Progress, SessionReport, SyncConfig};
use clap::Subcommand;

use crate::{print_json, Failure};

/// Sync commands.
#[derive(Subcommand, Debug)]
pub enum SyncCommand {
    /// Serve sync sessions to phones and laptops on the network.
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:7420.
        #[arg(long)]
        listen: String,
        /// Stop after this many sessions (default: serve until stopped).
        #[arg(long)]
        sessions: Option<u32>,
    },
    /// Sync with a device that serves.
    Connect {
        /// Its address, e.g. 192.168.1.10:7420.
        addr: String,
    },
}

/// Quarantine commands.
#[derive(Subcommand, Debug)]
pub enum QuarantineCommand {
    /// What peers sent that was refused, and why (oldest first).
    List,
    /// Empty the quarantine, or remove one entry.
    Purge {
        /// The entry's number (see `list`); all entries when omitted.
        seq: Option<i64>,
    },
}

pub fn run_quarantine(
    store: &mut Store,
    cmd: &QuarantineCommand,
    json: bool,
) -> Result<(), Failure> {
    match cmd {
        QuarantineCommand::List => {
            let rows = store.replica().quarantine_rows()?;
            if json {
                print_json(&rows);
            } else if rows.is_empty() {
                println!("{}", crate::tr!("the quarantine is empty", "隔离区为空"));
            } else {
                for r in rows {
                    println!(
                        "{:>5}  {}  peer {}  {} {}  {} bytes  {}",
                        r.seq,
                        r.at,
                        r.peer.chars().take(8).collect::<String>(),
                        r.kind,
                        r.doc_id,
                        r.bytes,
                        r.reason
                    );
                }
            }
        }
        QuarantineCommand::Purge { seq } => {
            let n = store.replica_mut().purge_quarantine(*seq)?;
            if json {
                print_json(&serde_json::json!({ "purged": n }));
            } else {
                println!(
                    "{}",
                    crate::tr!(
                        "{n} quarantined entries removed",
                        "已删除 {n} 条隔离记录",
                        n = n
                    )
                );
            }
        }
    }
    Ok(())
}

/// Bundle commands.
#[derive(Subcommand, Debug)]
pub enum BundleCommand {
    /// Write the documents of a scope to a file.
    Export {
        /// The scope: `station`, a grid id, or `grid:<id>`; repeat for more.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// The file to write.
        #[arg(long)]
        out: String,
    },
    /// Merge a bundle file into the store.
    Import {
        /// The bundle file.
        file: String,
    },
}

/// Accepts `station`, `grid:<id>` or a bare grid id.
pub fn parse_scopes(list: &[String]) -> Result<Vec<Scope>, Failure> {
    let mut out = Vec::new();
    for item in list.iter().flat_map(|s| s.split(',')) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        // A grid is named by its id, with or without `grid:`; anything else
        // is refused (by the id's own check) rather than held as a scope
        // nothing can fill.
        let scope = if item == "station" {
            Scope::Station
        } else {
            let id = item.strip_prefix("grid:").unwrap_or(item);
            Scope::Grid(anxin_core::model::GridId::parse(id, "--scopes")?)
        };
        out.push(scope);
    }
    if out.is_empty() {
        return Err(Failure::input(crate::tr!(
            "give at least one scope",
            "请至少给出一个范围"
        )));
    }
    Ok(out)
}

fn print_report(r: &SessionReport, json: bool) {
    if json {
        print_json(r);
        return;
    }
    println!(
        "{}",
        crate::tr!(
            "{state}: peer {peer}, scopes {scopes} ({unchanged} unchanged), sent {sent} documents + {messages} sync messages, received {received} documents; {out} bytes out, {inn} bytes in, {turns} turns{quarantined}{error}",
            "{state}：对端 {peer}，范围 {scopes} 个（{unchanged} 个无变化），发出 {sent} 份文档及 {messages} 条同步消息，收到 {received} 份文档；发送 {out} 字节，接收 {inn} 字节，{turns} 轮{quarantined}{error}",
            state = if r.completed {
                crate::tr!("sync complete", "同步完成")
            } else {
                crate::tr!("sync incomplete", "同步未完成")
            },
            peer = if r.peer.is_empty() {
                "?".to_string()
            } else {
                r.peer.chars().take(8).collect::<String>()
            },
            scopes = r.shared_scopes.len(),
            unchanged = r.unchanged_scopes,
            sent = r.snapshots_sent,
            messages = r.sync_messages_sent,
            received = r.documents_received,
            out = r.bytes_sent,
            inn = r.bytes_received,
            turns = r.turns,
            quarantined = if r.quarantined.is_empty() {
                String::new()
            } else {
                crate::tr!(", {n} quarantined", "，{n} 份被隔离", n = r.quarantined.len())
            },
            error = r.error.as_ref().map(|e| format!(" — {e}")).unwrap_or_default()
        )
    );
}

fn bar(json: bool) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    if json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template(&crate::tr!(
            "{spinner} documents {pos}/{len} [{bar:40}]",
            "{spinner} 文档 {pos}/{len} [{bar:40}]"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

fn bundle_failure(e: BundleError) -> Failure {
    use crate::tr;
    Failure::input(match e {
        BundleError::Store(s) => return s.into(),
        BundleError::Truncated => tr!("the bundle is truncated", "数据包不完整"),
        BundleError::Corrupted => tr!(
            "the bundle is corrupted or was altered",
            "数据包已损坏或被改动"
        ),
        BundleError::NotABundle => tr!(
            "not an Anxin bundle, or a newer bundle format",
            "不是安心小屋的数据包，或是更新版本的格式"
        ),
        BundleError::NotForThisDevice => tr!(
            "this bundle is not sealed to this device",
            "这个数据包不是发给本设备的"
        ),
        BundleError::Foreign => tr!(
            "the bundle belongs to another station",
            "这个数据包属于另一个站点"
        ),
        BundleError::NotEnrolled => tr!(
            "this device is not enrolled: enrol it with a code first",
            "本设备尚未登记：请先用登记码登记"
        ),
        BundleError::BadExporter(_) => tr!(
            "the bundle's exporter cannot be verified",
            "无法核实数据包的导出设备"
        ),
        BundleError::UnknownScope(scope) => tr!(
            "this device holds no scope {scope}",
            "本设备没有范围 {scope}",
            scope = scope
        ),
    })
}

/// `join CODE@ADDR`.
pub fn join(
    store: &mut Store,
    target: &str,
    scopes: &Option<Vec<String>>,
    json: bool,
) -> Result<(), Failure> {
    if store.replica().station_id()?.is_some() {
        return Err(Failure::input(crate::tr!(
            "this store already belongs to a station: use `sync connect` or `bundle import`",
            "这个数据库已属于一个站点：请用 `sync connect` 或 `bundle import`"
        )));
    }
    if let Some(list) = scopes {
        store.replica_mut().set_scopes(&parse_scopes(list)?)?;
    }
    if Path::new(target).is_file() {
        // A bundle is sealed to devices already enrolled: a new device
        // cannot open one, nor check who wrote what is in it.
        return Err(Failure::input(crate::tr!(
            "{target} is a file: a device joins a station with an enrolment code (`anxin device enroll --address HOST:PORT` on the station laptop, then `anxin join CODE@HOST:PORT` here); bundles are opened afterwards with `anxin bundle import`",
            "{target} 是一个文件：设备要用登记码加入站点（先在站点电脑上运行 `anxin device enroll --address HOST:PORT`，再在这里运行 `anxin join CODE@HOST:PORT`）；加入之后才能用 `anxin bundle import` 导入数据包",
            target = target
        )));
    }
    let code = anxin_core::trust::EnrolCode::parse(target).map_err(|_| {
        Failure::input(crate::tr!(
            "{target} is not an enrolment code: give CODE@HOST:PORT from `anxin device enroll --address HOST:PORT` on the station laptop",
            "{target} 不是登记码：请填写站点电脑上 `anxin device enroll --address HOST:PORT` 给出的 CODE@HOST:PORT",
            target = target
        ))
    })?;
    let Some(addr) = code.address.clone() else {
        return Err(Failure::input(crate::tr!(
            "the enrolment code names no address: give CODE@HOST:PORT",
            "登记码没有地址：请填写 CODE@HOST:PORT"
        )));
    };
    connect(
        store,
        &addr,
        SyncConfig {
            enrol: Some(code),
            ..SyncConfig::default()
        },
        json,
    )
}

/// `sync connect ADDR` (and `join ADDR`).
pub fn connect(
    store: &mut Store,
    addr: &str,
    config: SyncConfig,
    json: bool,
) -> Result<(), Failure> {
    // An address that is not one is bad input (exit 2); one where nobody
    // answers is not.
    if std::net::ToSocketAddrs::to_socket_addrs(addr).map_or(true, |mut a| a.next().is_none()) {
        return Err(Failure::input(crate::tr!(
            "{addr} is not an address: give HOST:PORT",
            "{addr} 不是有效地址：请写成 主机:端口",
            addr = addr
        )));
    }
    let bar = bar(json);
    let report = tcp::connect(store, addr, config, &mut |p: Progress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
    })
    .map_err(|e| Failure::other(format!("{e} ({addr})")))?;
    bar.finish_and_clear();
    print_report(&report, json);
    if !report.completed {
        return Err(Failure::other(crate::tr!(
            "the session did not finish: {why}",
            "同步没有完成：{why}",
            why = report.error.unwrap_or_default()
        )));
    }
    Ok(())
}

pub fn run_sync(store: &mut Store, cmd: &SyncCommand, json: bool) -> Result<(), Failure> {
    match cmd {
        SyncCommand::Serve { listen, sessions } => {
            let listener = std::net::TcpListener::bind(listen.as_str()).map_err(|e| {
                Failure::input(crate::tr!(
                    "cannot listen on {listen}: {e}",
                    "无法在 {listen} 上监听：{e}",
                    listen = listen,
                    e = e
                ))
            })?;
            if !json {
                if let Ok(addr) = listener.local_addr() {
                    println!(
                        "{}",
                        crate::tr!(
                            "serving sync on {addr}",
                            "同步服务已在 {addr} 上运行",
                            addr = addr
                        )
                    );
                }
            }
            // Each session runs on its own thread with its own connection
            // to the same store file.
            tcp::serve(
                &store.opener(),
                &listener,
                SyncConfig::default(),
                *sessions,
                &|r| print_report(r, json),
            )
            .map_err(|e| Failure::other(e.to_string()))
        }
        SyncCommand::Connect { addr } => connect(store, addr, SyncConfig::default(), json),
    }
}

pub fn run_bundle(store: &mut Store, cmd: &BundleCommand, json: bool) -> Result<(), Failure> {
    match cmd {
        BundleCommand::Export { scopes, out } => {
            let scopes = parse_scopes(scopes)?;
            let bytes = bundle::export(store, &scopes).map_err(bundle_failure)?;
            std::fs::write(out, &bytes).map_err(|e| {
                Failure::other(crate::tr!(
                    "cannot write {out}: {e}",
                    "无法写入 {out}：{e}",
                    out = out,
                    e = e
                ))
            })?;
            if json {
                print_json(&serde_json::json!({
                    "file": out,
                    "bytes": bytes.len(),
                    "scopes": scopes.iter().map(Scope::to_key).collect::<Vec<_>>(),
                }));
            } else {
                println!(
                    "{}",
                    crate::tr!(
                        "wrote {n} bytes to {out}",
                        "已向 {out} 写入 {n} 字节",
                        n = bytes.len(),
                        out = out
                    )
                );
            }
        }
        BundleCommand::Import { file } => {
            let bytes = std::fs::read(file).map_err(|e| {
                Failure::input(crate::tr!(
                    "cannot read {file}: {e}",
                    "无法读取 {file}：{e}",
                    file = file,
                    e = e
                ))
            })?;
            let report = bundle::import(store, &bytes).map_err(bundle_failure)?;
            if json {
                print_json(&report);
            } else {
                println!(
                    "{}",
                    crate::tr!(
                        "imported {file}: {documents} documents, {applied} applied, {unchanged} unchanged, {refused} outside this device's scopes, {quarantined} quarantined",
                        "已导入 {file}：共 {documents} 份文档，{applied} 份已应用，{unchanged} 份无变化，{refused} 份不在本设备范围内，{quarantined} 份被隔离",
                        file = file,
                        documents = report.documents,
                        applied = report.applied,
                        unchanged = report.unchanged,
                        refused = report.refused,
                        quarantined = report.quarantined.len()
                    )
                );
            }
        }
    }
    Ok(())
}
