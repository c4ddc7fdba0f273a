//! `anxin device enroll|list|revoke|renew`: the station laptop admits,
//! renews and revokes phones. A code is printed as text, as a QR code in the
//! terminal and, with `--png`, as a PNG image to show or print.

use std::path::PathBuf;

use anxin_core::model::WorkerId;
use anxin_core::store::{EnrolOptions, Store};
use clap::Subcommand;

use crate::{print_json, Failure};

/// Device commands.
#[derive(Subcommand, Debug)]
pub enum DeviceCommand {
    /// Make a one-time code that enrols a worker's new phone (or laptop).
    Enroll {
        /// The worker the device belongs to.
        #[arg(long)]
        worker: String,
        /// Scopes the device may hold (`station`, grid ids, `grid:*`,
        /// `case:main`), comma-separated; default: what the worker's role
        /// and grids call for.
        #[arg(long, value_delimiter = ',')]
        scopes: Option<Vec<String>>,
        /// How long the code stays usable, in minutes.
        #[arg(long, default_value_t = 15)]
        expires: u32,
        /// How long the device's credential lasts, in days.
        #[arg(long, default_value_t = 90)]
        days: u32,
        /// The address this laptop serves sync on (host:port), printed into
        /// the code so the phone knows where to go.
        #[arg(long)]
        address: Option<String>,
        /// Also write the QR code as a PNG image here.
        #[arg(long)]
        png: Option<PathBuf>,
    },
    /// List the devices of the station's registry.
    List,
    /// Revoke a device (lost phone, a worker who left): every peer that
    /// learns of it refuses the device.
    Revoke {
        /// The device id (see `anxin device list`).
        device: String,
    },
    /// Renew a device's credential.
    Renew {
        /// The device id.
        device: String,
        /// For how many days from now.
        #[arg(long, default_value_t = 90)]
        days: u32,
    },
    /// Issue a worker's own identity file, for signing on this shared
    /// laptop with `--identity FILE` (a counselor's reviews and crisis
    /// closings). The file is encrypted with a passphrase the worker
    /// chooses: typed at the prompt, or from ANXIN_PASSPHRASE. Revoke it
    /// like a device.
    Identity {
        /// The worker it belongs to.
        #[arg(long)]
        worker: String,
        /// Where to write it (the worker keeps it, e.g. on a USB key).
        #[arg(long)]
        out: String,
        /// For how many days it is valid.
        #[arg(long, default_value_t = 365)]
        days: u32,
    },
}

/// The passphrase of an identity file: ANXIN_PASSPHRASE, or typed at the
/// prompt (on the terminal's standard input).
pub fn passphrase(what: &str) -> Result<String, Failure> {
    if let Ok(p) = std::env::var("ANXIN_PASSPHRASE") {
        return Ok(p);
    }
    eprint!("passphrase for {what}: ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| {
        Failure::input(crate::tr!(
            "cannot read the passphrase: {e}",
            "无法读取口令：{e}",
            e = e
        ))
    })?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Scopes as typed: `station`, `grid:*`, `case:<team>`, `grid:<id>` or a
/// bare grid id.
fn scopes(list: &[String]) -> Result<Vec<String>, Failure> {
    let mut out = Vec::new();
    for s in list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if s == "grid:*" || s == "case:*" || s.starts_with("case:") || s == "station" {
            out.push(s.to_string());
        } else {
            out.extend(
                crate::syncing::parse_scopes(&[s.to_string()])?
                    .iter()
                    .map(anxin_core::model::Scope::to_key),
            );
        }
    }
    if out.is_empty() {
        return Err(Failure::input(crate::tr!(
            "give at least one scope",
            "请至少给出一个范围"
        )));
    }
    Ok(out)
}

/// The QR code of `text` for a terminal: two modules per character, with
/// the quiet zone a scanner needs.
pub fn terminal_qr(text: &str) -> Result<String, Failure> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| {
        Failure::other(crate::tr!(
            "cannot make a QR code: {e}",
            "无法生成二维码：{e}",
            e = e
        ))
    })?;
    let width = code.width();
    let colors = code.to_colors();
    let dark = |x: i64, y: i64| -> bool {
        x >= 0
            && y >= 0
            && (x as usize) < width
            && (y as usize) < width
            && colors[y as usize * width + x as usize] == qrcode::Color::Dark
    };
    let quiet = 2i64;
    let mut out = String::new();
    let mut y = -quiet;
    while y < width as i64 + quiet {
        for x in -quiet..width as i64 + quiet {
            out.push(match (dark(x, y), dark(x, y + 1)) {
                (true, true) => ' ',
                (true, false) => '▄',
                (false, true) => '▀',
                (false, false) => '█',
            });
        }
        out.push('\n');
        y += 2;
    }
    Ok(out)
}

/// Writes the QR code of `text` as a black-on-white PNG, 8 pixels a module.
pub fn write_png(text: &str, path: &std::path::Path) -> Result<(), Failure> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| {
        Failure::other(crate::tr!(
            "cannot make a QR code: {e}",
            "无法生成二维码：{e}",
            e = e
        ))
    })?;
    let (width, colors) = (code.width(), code.to_colors());
    let (scale, quiet) = (8usize, 4usize);
    let side = (width + 2 * quiet) * scale;
    let mut pixels = vec![255u8; side * side];
    for y in 0..width {
        for x in 0..width {
            if colors[y * width + x] == qrcode::Color::Dark {
                for dy in 0..scale {
                    let row = (y + quiet) * scale + dy;
                    let start = row * side + (x + quiet) * scale;
                    pixels[start..start + scale].fill(0);
                }
            }
        }
    }
    let file = std::fs::File::create(path).map_err(|e| {
        Failure::input(crate::tr!(
            "cannot write {path}: {e}",
            "无法写入 {path}：{e}",
            path = path.display(),
            e = e
        ))
    })?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), side as u32, side as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .and_then(|mut w| w.write_image_data(&pixels))
        .map_err(|e| {
            Failure::other(crate::tr!(
                "cannot write {path}: {e}",
                "无法写入 {path}：{e}",
                path = path.display(),
                e = e
            ))
        })
}

pub fn run_device(
    store: &mut Store,
    cmd: &DeviceCommand,
    acting: &Option<String>,
    json: bool,
) -> Result<(), Failure> {
    // Listing records nothing; the rest records who acted.
    let by = || crate::setup::acting(acting);
    match cmd {
        DeviceCommand::Enroll {
            worker,
            scopes: list,
            expires,
            days,
            address,
            png,
        } => {
            let worker = WorkerId::parse(worker, "--worker")?;
            let code = store.devices_mut().enrol_device(
                &by()?,
                &worker,
                EnrolOptions {
                    scopes: list.as_deref().map(scopes).transpose()?,
                    code_minutes: *expires,
                    credential_days: *days,
                    address: address.clone(),
                },
            )?;
            let text = code.to_text();
            if let Some(path) = png {
                write_png(&text, path)?;
            }
            if json {
                print_json(&serde_json::json!({
                    "code": text,
                    "expires_in_minutes": expires,
                    "png": png,
                }));
            } else {
                print!("{}", terminal_qr(&text)?);
                println!(
                    "{}",
                    crate::tr!(
                        "enrolment code (one use, valid {expires} minutes):\n{text}",
                        "入网码（仅可使用一次，{expires} 分钟内有效）：\n{text}",
                        expires = expires,
                        text = text
                    )
                );
                if address.is_none() {
                    println!(
                        "{}",
                        crate::tr!(
                            "(no --address given: the phone must be told where the station serves sync)",
                            "（未给出 --address：需另行告知手机站点的同步地址）"
                        )
                    );
                }
                if let Some(p) = png {
                    println!(
                        "{}",
                        crate::tr!(
                            "QR code written to {p}",
                            "二维码已写入 {p}",
                            p = p.display()
                        )
                    );
                }
            }
        }
        DeviceCommand::List => {
            let devices = store.devices().list()?;
            if json {
                print_json(&devices);
            } else {
                for d in devices {
                    println!(
                        "{}",
                        crate::tr!(
                            "{device}  {worker}  {role}  scopes {scopes}  expires {expires}{revoked}",
                            "{device}  {worker}  {role}  范围 {scopes}  有效期至 {expires}{revoked}",
                            device = d.device_id,
                            worker = d
                                .worker_id
                                .clone()
                                .unwrap_or_else(|| crate::tr!("(station laptop)", "（站点电脑）")),
                            role = d
                                .role
                                .map(|r| crate::ui::word(
                                    anxin_core::labels::Vocabulary::Role,
                                    r.as_str()
                                ))
                                .unwrap_or_else(|| crate::tr!("station", "站点")),
                            scopes = d.scopes.join(","),
                            expires = if d.expires_at == i64::MAX {
                                crate::tr!("never", "长期")
                            } else {
                                crate::ui::date(d.expires_at)
                            },
                            revoked = if d.revoked {
                                crate::tr!("  REVOKED", "  已吊销")
                            } else {
                                String::new()
                            }
                        )
                    );
                }
            }
        }
        DeviceCommand::Revoke { device } => {
            store.devices_mut().revoke_device(&by()?, device)?;
            if json {
                print_json(&serde_json::json!({ "revoked": device }));
            } else {
                println!(
                    "{}",
                    crate::tr!(
                        "device {device} revoked: peers that sync with this laptop learn of it",
                        "设备 {device} 已吊销：与本电脑同步的设备都会得知",
                        device = device
                    )
                );
            }
        }
        DeviceCommand::Identity { worker, out, days } => {
            let worker = WorkerId::parse(worker, "--worker")?;
            let phrase = passphrase(out)?;
            let file = store.issue_identity(&by()?, &worker, *days, &phrase)?;
            write_private(out, &file)?;
            if json {
                print_json(&serde_json::json!({ "worker": worker, "file": out, "days": days }));
            } else {
                println!(
                    "{}",
                    crate::tr!(
                        "identity of worker {worker} written to {out} ({days} days): sign with `--identity {out} --as {worker}`",
                        "工作人员 {worker} 的身份文件已写入 {out}（{days} 天有效）：签署时用 `--identity {out} --as {worker}`",
                        worker = worker,
                        out = out,
                        days = days
                    )
                );
            }
        }
        DeviceCommand::Renew { device, days } => {
            let until = store.devices_mut().renew_device(&by()?, device, *days)?;
            if json {
                print_json(&serde_json::json!({ "device": device, "expires_at": until }));
            } else {
                println!(
                    "{}",
                    crate::tr!(
                        "device {device} renewed for {days} days",
                        "设备 {device} 已续期 {days} 天",
                        device = device,
                        days = days
                    )
                );
            }
        }
    }
    Ok(())
}

/// Writes a file only its owner may read.
fn write_private(path: &str, bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(|e| {
        Failure::input(crate::tr!(
            "cannot write {path}: {e}",
            "无法写入 {path}：{e}",
            path = path,
            e = e
        ))
    })?;
    f.write_all(bytes).map_err(|e| {
        Failure::other(crate::tr!(
            "cannot write {path}: {e}",
            "无法写入 {path}：{e}",
            path = path,
            e = e
        ))
    })
}
