//! How provisioning's results look on a terminal: the messages of an edit, the peer table
//! and its JSON, client files and their QR codes. The one place `wgq peer` and `wgq server`
//! format output; the operations themselves (`provision`) return typed values.

use std::fmt::Write as _;
use std::time::Duration;

use super::AppError;
use crate::config::peers::PeerEntry;
use crate::config::values::{self, clean};
use crate::device::PeerState;
use crate::provision::{Edited, Listed};

/// One message on stderr, after the program's name.
pub fn say(msg: &str) {
    eprintln!("{}: {msg}", crate::program_name());
}

/// Writes `b` on stdout (a closed pipe is no error).
pub fn stdout(b: &[u8]) -> Result<(), AppError> {
    super::write_out(&mut std::io::stdout().lock(), b)
}

/// A client file as a QR code on the terminal (the renderer `--qr` hands to an operation).
pub fn qr(text: &[u8]) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    super::qr::terminal(text).map_err(Into::into)
}

/// What an edit did: the dry run's diff, or its notes (and whether the interface got the
/// change), then what it prints on stdout.
pub fn edited(e: Edited) -> Result<i32, AppError> {
    match e {
        Edited::DryRun(s) => print!("{s}"),
        Edited::Unchanged(notes) => notes.iter().for_each(|n| say(&n.to_string())),
        Edited::Done { notes, live, no_apply, ifname, stdout: out } => {
            notes.iter().for_each(|n| say(&n.to_string()));
            if !live && !no_apply {
                say(&format!("`{ifname}' is not running: the file changed; `wgq up {ifname}' starts it"));
            }
            stdout(out.as_bytes())?;
        }
    }
    Ok(0)
}

/// A stored client file (control characters escaped: it may have been edited by hand), or
/// its QR code.
pub fn client_file(bytes: &[u8], as_qr: bool) -> Result<(), AppError> {
    if as_qr {
        let t = super::qr::terminal(bytes).map_err(AppError::Other)?;
        stdout(t.as_bytes())
    } else {
        stdout(&values::clean_text(bytes))
    }
}

/// Why an `# Expires` value never expires.
pub fn bad_expiry(ifname: &str, p: &PeerEntry) -> String {
    format!(
        "{ifname}: peer {}: `# Expires = {}' is no date (2027-03-01 or 2027-03-01T12:00:00Z): it never expires; \
         change it with `wgq peer set {ifname} NAME --expires …'",
        clean(p.name.as_deref().unwrap_or("(unnamed)")),
        clean(p.expires.as_deref().unwrap_or(""))
    )
}

/// `peer list`'s warnings: every `# Expires` that is no date.
pub fn expiry_warnings(servers: &[Listed]) {
    for s in servers {
        for r in s.rows.iter().filter(|r| crate::provision::bad_expiry(&r.entry)) {
            say(&format!("warning: {}", bad_expiry(&s.ifname, &r.entry)));
        }
    }
}

/// Appends `v` padded with spaces to `width`, then one space.
fn cell(s: &mut String, v: &str, width: usize) {
    s.push_str(v);
    let n = if v.is_ascii() { v.len() } else { v.chars().count() };
    for _ in n..width {
        s.push(' ');
    }
    s.push(' ');
}

/// The peer table: a header (when there is a row), then one row per peer.
pub fn list_table(servers: &[Listed]) -> String {
    fn day(t: &Option<String>) -> &str {
        t.as_deref().map(|t| t.get(..10).unwrap_or(t)).unwrap_or("-")
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let rows: usize = servers.iter().map(|s| s.rows.len()).sum();
    let mut s = String::with_capacity(rows * 170 + 200);
    if rows > 0 {
        let _ = writeln!(
            s,
            "{:<15} {:<15} {:<34} {:<8} {:<10} {:<10} {:<24} {:<16} TRANSFER (RX / TX)",
            "INTERFACE", "NAME", "ADDRESSES", "STATE", "CREATED", "EXPIRES", "ENDPOINT", "HANDSHAKE"
        );
    }
    for srv in servers {
        for r in &srv.rows {
            let p = &r.entry;
            cell(&mut s, &srv.ifname, 15);
            cell(&mut s, &clean(p.name.as_deref().unwrap_or("-")), 15);
            cell(&mut s, &clean(&p.allowed_text), 34);
            cell(&mut s, if p.disabled { "disabled" } else { "enabled" }, 8);
            cell(&mut s, &clean(day(&p.created)), 10);
            cell(&mut s, &clean(day(&p.expires)), 10);
            live_cells(&mut s, r.live.as_ref(), now);
        }
    }
    s
}

/// The device's columns of a row (endpoint to transfer) and its newline.
fn live_cells(s: &mut String, l: Option<&PeerState>, now: Duration) {
    match l {
        // "-" padded to 24 and to 16, then "-".
        None => s.push_str("-                        -                -\n"),
        Some(l) => {
            match l.endpoint {
                Some(e) => {
                    let at = s.len();
                    let _ = write!(s, "{e}");
                    let n = s.len() - at;
                    s.extend(std::iter::repeat_n(' ', 24usize.saturating_sub(n) + 1));
                }
                None => cell(s, "-", 24),
            }
            match l.last_handshake {
                Some(h) => cell(s, &super::show::ago(now.saturating_sub(h)), 16),
                None => cell(s, "never", 16),
            }
            s.push_str(&super::show::bytes(l.rx_bytes));
            s.push_str(" / ");
            s.push_str(&super::show::bytes(l.tx_bytes));
            s.push('\n');
        }
    }
}

/// The peers as a JSON array, one object a line.
pub fn list_json(servers: &[Listed]) -> String {
    use super::show::json_str;
    let mut s = String::from("[");
    let mut first = true;
    for srv in servers {
        for r in &srv.rows {
            let (p, l) = (&r.entry, r.live.as_ref());
            let opt = |v: &Option<String>| v.as_deref().map(json_str).unwrap_or_else(|| "null".into());
            let ips: Vec<String> = p.allowed_ips.iter().map(|a| json_str(&a.to_string())).collect();
            let _ = write!(
                s,
                "{}\n  {{\"interface\": {}, \"name\": {}, \"public_key\": {}, \"allowed_ips\": [{}], \"enabled\": {}, \
                 \"created\": {}, \"expires\": {}, \"note\": {}, \"running\": {}, \"endpoint\": {}, \"latest_handshake\": {}, \
                 \"rx_bytes\": {}, \"tx_bytes\": {}}}",
                if first { "" } else { "," },
                json_str(&srv.ifname),
                opt(&p.name),
                p.public_key.map(|k| json_str(&k.to_base64())).unwrap_or_else(|| "null".into()),
                ips.join(", "),
                !p.disabled,
                opt(&p.created),
                opt(&p.expires),
                opt(&p.note),
                srv.running && l.is_some(),
                l.and_then(|l| l.endpoint).map(|e| json_str(&e.to_string())).unwrap_or_else(|| "null".into()),
                l.and_then(|l| l.last_handshake).map(|h| h.as_secs()).unwrap_or(0),
                l.map(|l| l.rx_bytes).unwrap_or(0),
                l.map(|l| l.tx_bytes).unwrap_or(0),
            );
            first = false;
        }
    }
    s.push_str(if first { "]\n" } else { "\n]\n" });
    s
}
