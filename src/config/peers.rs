//! The peers of a server file as `wgq peer` sees them: each `[Peer]` block (enabled or
//! disabled) with its metadata comments (`# Name = …`, `# Created = …`, `# Expires = …`,
//! `# Note = …`, `# DisplayName = …`: a name for people, any printable text, that the web page
//! shows in place of `Name`), the server's client defaults (`# Client… = …` comments in `[Interface]`),
//! names, the text of new blocks and client files, and the dates of `--expires`.
//!
//! Pure, like `edit`: the blocks are read from a [`Document`] and changed by its edits.

use std::fmt::Write as _;

use super::edit::{Block, Document, Section, meta_comment};
use crate::key::{Key, SecretKey};
use crate::net::IpNet;

/// The metadata keys wgq writes in a `[Peer]` block, in the order it writes them.
pub const META_KEYS: [&str; 6] = ["Name", "DisplayName", "Created", "Expires", "Note", "P2P"];

/// One `[Peer]` block of the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerEntry {
    /// Index into [`Document::blocks`].
    pub block: usize,
    /// 1-based line of the header.
    pub line: usize,
    pub disabled: bool,
    pub name: Option<String>,
    /// `# DisplayName =`: the web page's name when it is no file-safe name.
    pub display_name: Option<String>,
    pub created: Option<String>,
    pub expires: Option<String>,
    pub note: Option<String>,
    /// `# P2P = true`: the peer is in the interface's `wgq p2p` mesh.
    pub p2p: bool,
    pub public_key: Option<Key>,
    pub preshared_key: Option<SecretKey>,
    /// As written (host bits kept); unparsable entries are left out.
    pub allowed_ips: Vec<IpNet>,
    /// The AllowedIPs values as written, joined by `,` (for listing).
    pub allowed_text: String,
    pub endpoint: Option<String>,
    pub keepalive: Option<u16>,
}

/// A key line of a block (`Key = value`, comment cut): the key and the value, trimmed.
fn key_line(line: &[u8]) -> Option<(&str, &str)> {
    let t = match line.iter().position(|&b| b == b'#') {
        Some(i) => &line[..i],
        None => line,
    };
    let eq = t.iter().position(|&b| b == b'=')?;
    fn trim(x: &[u8]) -> &[u8] {
        let s = x.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(x.len());
        let e = x.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(s, |e| e + 1);
        &x[s..e]
    }
    Some((std::str::from_utf8(trim(&t[..eq])).ok()?, std::str::from_utf8(trim(&t[eq + 1..])).ok()?))
}

/// The public keys of the enabled `[Peer]` blocks of a file's text (what `up` and
/// `reload` put on the device).
pub fn enabled_keys(text: &[u8]) -> Vec<Key> {
    list_entries(text).into_iter().filter(|p| !p.disabled).filter_map(|p| p.public_key).collect()
}

/// The peers as `wgq peer list` shows them, in one pass over the text without a line
/// table: the same blocks [`peers`] reads (a disabled block is its run of `#-` lines),
/// without their preshared keys. `block` counts the `[Peer]` blocks.
pub fn list_entries(text: &[u8]) -> Vec<PeerEntry> {
    // About 150 bytes a block: most of the growth is avoided.
    let mut out: Vec<PeerEntry> = Vec::with_capacity(text.len() / 150 + 1);
    // Inside a [Peer] block (enabled or disabled); other sections end it.
    let mut inside = false;
    let mut disabled = false;
    let mut start = 0;
    let mut no = 0;
    while start < text.len() {
        let end = super::edit::find_newline(text, start).unwrap_or(text.len());
        let mut line = &text[start..end];
        start = end + 1;
        no += 1;
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        let und = super::edit::undisabled(line);
        if let Some(sec) = super::edit::header(line) {
            inside = sec == Section::Peer;
            disabled = false;
            if inside {
                out.push(PeerEntry { block: out.len(), line: no, ..Default::default() });
            }
            continue;
        }
        if let Some(rest) = und
            && super::edit::header(rest) == Some(Section::Peer)
        {
            inside = true;
            disabled = true;
            out.push(PeerEntry { block: out.len(), line: no, disabled: true, ..Default::default() });
            continue;
        }
        if disabled && und.is_none() {
            inside = false;
            disabled = false;
        }
        if !inside {
            continue;
        }
        let Some(p) = out.last_mut() else { continue };
        peer_line(p, if disabled { und.unwrap_or(b"") } else { line }, false);
    }
    out
}

/// Reads one line of a `[Peer]` block (enabled form) into `p`.
fn peer_line(p: &mut PeerEntry, l: &[u8], with_psk: bool) {
    if let Some((k, v)) = meta_comment(l) {
        if k.eq_ignore_ascii_case("P2P") {
            p.p2p = v.eq_ignore_ascii_case("true");
            return;
        }
        let slot = match k {
            _ if k.eq_ignore_ascii_case("Name") => &mut p.name,
            _ if k.eq_ignore_ascii_case("DisplayName") => &mut p.display_name,
            _ if k.eq_ignore_ascii_case("Created") => &mut p.created,
            _ if k.eq_ignore_ascii_case("Expires") => &mut p.expires,
            _ if k.eq_ignore_ascii_case("Note") => &mut p.note,
            _ => return,
        };
        if slot.is_none() {
            *slot = Some(v.to_string());
        }
        return;
    }
    let Some((k, v)) = key_line(l) else { return };
    if k.eq_ignore_ascii_case("PublicKey") {
        p.public_key = Key::from_base64(v).ok();
    } else if k.eq_ignore_ascii_case("PresharedKey") {
        if with_psk {
            p.preshared_key = SecretKey::from_base64(v).ok();
        }
    } else if k.eq_ignore_ascii_case("AllowedIPs") {
        for a in v.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            if let Ok(n) = IpNet::parse(a) {
                p.allowed_ips.push(n);
            }
            if !p.allowed_text.is_empty() {
                p.allowed_text.push(',');
            }
            p.allowed_text.push_str(a);
        }
    } else if k.eq_ignore_ascii_case("Endpoint") {
        p.endpoint = Some(v.to_string());
    } else if k.eq_ignore_ascii_case("PersistentKeepalive") {
        p.keepalive = super::parse::parse_keepalive(v);
    }
}

/// Every `[Peer]` block of the file, in file order.
pub fn peers(doc: &Document) -> Vec<PeerEntry> {
    let mut out = Vec::with_capacity(doc.blocks.len());
    for (bi, b) in doc.blocks.iter().enumerate() {
        if b.section != Section::Peer {
            continue;
        }
        let mut p = PeerEntry { block: bi, line: b.lines.start + 1, disabled: b.disabled, ..Default::default() };
        for l in doc.block_lines_iter(b).skip(1) {
            peer_line(&mut p, l, true);
        }
        out.push(p);
    }
    out
}

/// What `[Interface]` says that `wgq peer` needs: the pools, the port, the key, and the
/// defaults for client files (`# ClientEndpoint = …` and the other `# Client… =` comments).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerInfo {
    /// `Address` entries with their host bits (the server's own address in each pool).
    pub addresses: Vec<IpNet>,
    pub listen_port: Option<u16>,
    pub private_key: Option<SecretKey>,
    pub save_config: bool,
    pub endpoint: Option<String>,
    pub dns: Option<String>,
    pub allowed_ips: Option<String>,
    pub keepalive: Option<u16>,
    pub mtu: Option<u32>,
}

/// The client defaults' comment keys in `[Interface]`.
pub const CLIENT_KEYS: [&str; 5] = ["ClientEndpoint", "ClientDNS", "ClientAllowedIPs", "ClientKeepalive", "ClientMTU"];

/// Reads every `[Interface]` block of the file.
pub fn server_info(doc: &Document) -> ServerInfo {
    let mut s = ServerInfo::default();
    for b in doc.blocks.iter().filter(|b| b.section == Section::Interface && !b.disabled) {
        for l in doc.block_lines(b).into_iter().skip(1) {
            if let Some((k, v)) = meta_comment(l) {
                let v = v.to_string();
                match k {
                    "ClientEndpoint" => s.endpoint = Some(v),
                    "ClientDNS" => s.dns = Some(v),
                    "ClientAllowedIPs" => s.allowed_ips = Some(v),
                    "ClientKeepalive" => s.keepalive = super::parse::parse_keepalive(&v),
                    "ClientMTU" => s.mtu = v.parse().ok(),
                    _ => {}
                }
                continue;
            }
            let Some((k, v)) = key_line(l) else { continue };
            if k.eq_ignore_ascii_case("Address") {
                s.addresses.extend(v.split(|c: char| c == ',' || c.is_ascii_whitespace()).filter_map(|a| IpNet::parse(a).ok()));
            } else if k.eq_ignore_ascii_case("ListenPort") {
                s.listen_port = super::parse::parse_port(v);
            } else if k.eq_ignore_ascii_case("PrivateKey") {
                s.private_key = SecretKey::from_base64(v).ok();
            } else if k.eq_ignore_ascii_case("SaveConfig") {
                s.save_config = v.eq_ignore_ascii_case("true");
            }
        }
    }
    s
}

/// Why a name or a metadata value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(
        "peer name {0}: a name is 1 to 15 characters among letters, digits and _ = + . -, not `.' or `..' \
         (wg-quick's rule for interface names, so that NAME.conf works as it is with wg-quick)"
    )]
    Invalid(String),
    #[error("peer name `{0}' is the interface's own name; choose another")]
    Interface(String),
    #[error("{key}: the value must be one line of printable text (no control characters)")]
    Value { key: String },
}

/// A name shown in a message: quoted, with control characters escaped (a refused name
/// may hold a newline).
pub fn shown(name: &str) -> String {
    format!("`{}'", name.escape_debug())
}

/// Checks a peer name: wg-quick's interface-name rule, and not the interface's name.
pub fn check_name(name: &str, ifname: &str) -> Result<(), NameError> {
    if !super::locate::is_interface_name(name) {
        return Err(NameError::Invalid(shown(name)));
    }
    if name == ifname {
        return Err(NameError::Interface(name.to_string()));
    }
    Ok(())
}

/// Checks a metadata value: one line, no control characters (it must never add a line).
pub fn check_value(key: &str, value: &str) -> Result<(), NameError> {
    if value.chars().any(|c| c.is_control()) || value.trim() != value {
        return Err(NameError::Value { key: key.to_string() });
    }
    Ok(())
}

/// A new `[Peer]` block of the server file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewPeer {
    pub name: String,
    pub display_name: Option<String>,
    pub created: String,
    pub expires: Option<String>,
    pub note: Option<String>,
    /// `# P2P = true` (`wgq peer add --p2p`).
    pub p2p: bool,
    pub public_key: Key,
    pub preshared_key: Option<SecretKey>,
    pub allowed_ips: Vec<IpNet>,
}

fn list(v: &[IpNet]) -> String {
    v.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
}

/// The lines of a new block (without terminators).
pub fn peer_lines(p: &NewPeer) -> Vec<String> {
    let mut v = vec!["[Peer]".to_string(), format!("# Name = {}", p.name)];
    if let Some(d) = &p.display_name {
        v.push(format!("# DisplayName = {d}"));
    }
    v.push(format!("# Created = {}", p.created));
    if let Some(e) = &p.expires {
        v.push(format!("# Expires = {e}"));
    }
    if let Some(n) = &p.note {
        v.push(format!("# Note = {n}"));
    }
    if p.p2p {
        v.push("# P2P = true".into());
    }
    v.push(format!("PublicKey = {}", p.public_key.to_base64()));
    if let Some(k) = &p.preshared_key {
        v.push(format!("PresharedKey = {}", k.to_base64()));
    }
    v.push(format!("AllowedIPs = {}", list(&p.allowed_ips)));
    v
}

/// A new block as text, each line ending with `nl`.
pub fn peer_block(p: &NewPeer, nl: &str) -> String {
    peer_lines(p).iter().map(|l| format!("{l}{nl}")).collect()
}

/// Where a key goes when a block lacks it: metadata after the header and the other
/// metadata lines, wg keys at the end of the block.
fn is_meta_key(key: &str) -> bool {
    META_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// The block's lines (enabled form, without terminators) with `key` set to `value`, or
/// removed when `value` is `None`. Metadata keys are `# Key = value` comments; others are
/// key lines (every line of that key is replaced by one). Other lines are kept as they are.
pub fn set_key(doc: &Document, b: &Block, key: &str, value: Option<&str>) -> Vec<Vec<u8>> {
    let meta = is_meta_key(key);
    let new_line = value.map(|v| if meta { format!("# {key} = {v}") } else { format!("{key} = {v}") }.into_bytes());
    let matches = |l: &[u8]| {
        if meta {
            meta_comment(l).is_some_and(|(k, _)| k.eq_ignore_ascii_case(key))
        } else {
            !l.iter().skip_while(|b| **b == b' ' || **b == b'\t').take(1).any(|b| *b == b'#')
                && key_line(l).is_some_and(|(k, _)| k.eq_ignore_ascii_case(key))
        }
    };
    let lines = doc.block_lines(b);
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(lines.len() + 1);
    let mut placed = false;
    for l in &lines {
        if matches(l) {
            if !placed && let Some(n) = &new_line {
                out.push(n.clone());
            }
            placed = true;
            continue;
        }
        out.push(l.to_vec());
    }
    if !placed && let Some(n) = new_line {
        let at = if meta {
            // After the header and the metadata lines right below it.
            1 + out.iter().skip(1).take_while(|l| meta_comment(l).is_some()).count()
        } else {
            // After the last key line.
            out.iter().rposition(|l| key_line(l).is_some() && !l.starts_with(b"#")).map_or(out.len(), |i| i + 1)
        };
        out.insert(at, n);
    }
    out
}

/// The line of a client file whose private key is the client's own (made on the client).
pub const OWN_KEY_LINE: &str = "# PrivateKey = (the client's own key, made on the client: `wg genkey`)";

/// A client file's `[Interface]` lines (enabled form) with every `PrivateKey` line replaced
/// by one [`OWN_KEY_LINE`] (the key no longer matches the server; the client has its own).
pub fn own_key_lines(doc: &Document, b: &Block) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut placed = false;
    for l in doc.block_lines(b) {
        let is_key = !l.iter().skip_while(|c| **c == b' ' || **c == b'\t').take(1).any(|c| *c == b'#')
            && key_line(l).is_some_and(|(k, _)| k.eq_ignore_ascii_case("PrivateKey"));
        if is_key {
            if !placed {
                out.push(OWN_KEY_LINE.as_bytes().to_vec());
            }
            placed = true;
        } else {
            out.push(l.to_vec());
        }
    }
    out
}

/// Whether a client file holds the client's private key: an enabled `[Interface]` with a
/// `PrivateKey` line (a client that made its own key has [`OWN_KEY_LINE`] there instead).
pub fn client_holds_key(text: &[u8]) -> bool {
    let d = Document::parse(text.to_vec());
    let held = d.blocks.iter().filter(|b| b.section == Section::Interface && !b.disabled).any(|b| {
        d.block_lines_iter(b).any(|l| {
            !l.iter().skip_while(|c| **c == b' ' || **c == b'\t').take(1).any(|c| *c == b'#')
                && key_line(l).is_some_and(|(k, v)| k.eq_ignore_ascii_case("PrivateKey") && !v.is_empty())
        })
    });
    // (The document wipes its text when dropped.)
    held
}

/// A client's file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientConfig {
    pub name: String,
    /// `None` with `--pubkey`: the client holds its own key.
    pub private_key: Option<SecretKey>,
    pub addresses: Vec<IpNet>,
    pub dns: Option<String>,
    pub mtu: Option<u32>,
    pub server_public_key: Key,
    pub preshared_key: Option<SecretKey>,
    pub allowed_ips: String,
    pub endpoint: String,
    pub keepalive: Option<u16>,
}

/// The client's file (`\n` lines). Without a private key, its place says so.
pub fn client_config(c: &ClientConfig) -> String {
    let mut s = String::from("[Interface]\n");
    let _ = writeln!(s, "# Name = {}", c.name);
    match &c.private_key {
        Some(k) => {
            let _ = writeln!(s, "PrivateKey = {}", k.to_base64());
        }
        None => {
            s.push_str(OWN_KEY_LINE);
            s.push('\n');
        }
    }
    let _ = writeln!(s, "Address = {}", list(&c.addresses));
    if let Some(d) = c.dns.as_deref().filter(|d| !d.is_empty()) {
        let _ = writeln!(s, "DNS = {d}");
    }
    if let Some(m) = c.mtu {
        let _ = writeln!(s, "MTU = {m}");
    }
    s.push_str("\n[Peer]\n");
    let _ = writeln!(s, "PublicKey = {}", c.server_public_key.to_base64());
    if let Some(k) = &c.preshared_key {
        let _ = writeln!(s, "PresharedKey = {}", k.to_base64());
    }
    let _ = writeln!(s, "AllowedIPs = {}", c.allowed_ips);
    let _ = writeln!(s, "Endpoint = {}", c.endpoint);
    if let Some(k) = c.keepalive.filter(|&k| k != 0) {
        let _ = writeln!(s, "PersistentKeepalive = {k}");
    }
    s
}

/// What `wgq peer import` makes of a file: the edits, and what it says about them.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    pub edits: Vec<super::edit::Edit>,
    pub notes: Vec<String>,
}

/// The name another tool's marker line gives the block after it, and which tool it is:
/// wireguard-install's `### Client NAME`, Nyr's `# BEGIN_PEER NAME`, PiVPN's
/// `### begin NAME ###`, wg-easy's `# Client: NAME (ID)`.
fn marker_before(line: &str) -> Option<(&str, &'static str)> {
    let t = line.trim();
    if let Some(n) = t.strip_prefix("### Client ") {
        return Some((n.trim(), "wireguard-install"));
    }
    if let Some(n) = t.strip_prefix("# BEGIN_PEER ") {
        return Some((n.trim(), "Nyr's wireguard-install"));
    }
    if let Some(n) = t.strip_prefix("### begin ").and_then(|r| r.strip_suffix(" ###")) {
        return Some((n.trim(), "PiVPN"));
    }
    if let Some(n) = t.strip_prefix("# Client: ") {
        let n = match n.rfind(" (") {
            Some(i) if n.ends_with(')') => &n[..i],
            _ => n,
        };
        return Some((n.trim(), "wg-easy"));
    }
    None
}

/// The closing markers (Nyr's `# END_PEER NAME`, PiVPN's `### end NAME ###`).
fn marker_after(line: &str) -> bool {
    let t = line.trim();
    t.starts_with("# END_PEER ") || (t.starts_with("### end ") && t.ends_with(" ###"))
}

/// A name made to fit wgq's rule: other characters become `-`, at most 15.
pub fn fit_name(name: &str) -> String {
    let mut n: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || "_=+.-".contains(c) { c } else { '-' }).collect();
    n.truncate(15);
    if n.is_empty() { "peer".into() } else { n }
}

/// Turns the markers other tools leave around peers into wgq's metadata: each marker line
/// goes, its name becomes `# Name =` right after the block's header (when the block has no
/// name yet), and PiVPN's `#[disabled] ` lines become `#- ` lines. Lines that are no marker
/// are kept byte for byte. Names are made to fit wgq's rule and unique.
pub fn import(doc: &Document, ifname: &str) -> Imported {
    let named: std::collections::HashSet<usize> = peers(doc).iter().filter(|p| p.name.is_some()).map(|p| p.line - 1).collect();
    let mut taken: std::collections::HashSet<String> = peers(doc).into_iter().filter_map(|p| p.name).collect();
    let mut out: Vec<u8> = Vec::with_capacity(doc.text.len());
    let mut notes = Vec::new();
    let mut pending: Option<(String, &'static str)> = None;
    let mut changed = false;
    for i in 0..doc.lines.len() {
        let raw = doc.line(i);
        let term = doc.terminator(i);
        // PiVPN disables a client by prefixing every line from its `### begin` marker to its
        // `### end` marker with `#[disabled] `: the markers are read through the prefix (they
        // are part of that block, not of the one before).
        let unprefixed = raw.strip_prefix(b"#[disabled]").map(|r| r.strip_prefix(b" ").unwrap_or(r)).unwrap_or(raw);
        let text = String::from_utf8_lossy(unprefixed);
        if let Some((name, tool)) = marker_before(&text) {
            pending = Some((name.to_string(), tool));
            changed = true;
            continue;
        }
        if marker_after(&text) {
            changed = true;
            continue;
        }
        let mut line: Vec<u8> = raw.to_vec();
        if let Some(rest) = raw.strip_prefix(b"#[disabled]") {
            let rest = rest.strip_prefix(b" ").unwrap_or(rest);
            line = if rest.is_empty() { b"#-".to_vec() } else { [b"#- ".as_slice(), rest].concat() };
            changed = true;
        }
        let disabled = super::edit::undisabled(&line).is_some();
        let body = super::edit::undisabled(&line).unwrap_or(&line).to_vec();
        let is_peer = {
            let t: Vec<u8> = body.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
            t.eq_ignore_ascii_case(b"[Peer]")
        };
        out.extend_from_slice(&line);
        out.extend_from_slice(if term.is_empty() { b"\n" } else { term });
        if is_peer && let Some((name, tool)) = pending.take() {
            if named.contains(&i) {
                continue;
            }
            let mut n = fit_name(&name);
            let base = n.clone();
            let mut k = 2;
            while taken.contains(&n) || n == ifname {
                let suffix = format!("-{k}");
                n = format!("{}{suffix}", &base[..base.len().min(15 - suffix.len())]);
                k += 1;
            }
            taken.insert(n.clone());
            if n != name {
                notes.push(format!(
                    "{tool} peer `{}' is named {n} (wgq's names are 1-15 of A-Z a-z 0-9 _ = + . -)",
                    name.escape_debug()
                ));
            } else {
                notes.push(format!("{tool} peer {n} imported"));
            }
            let nl: &[u8] = if term.is_empty() { b"\n" } else { term };
            if disabled {
                out.extend_from_slice(b"#- ");
            }
            out.extend_from_slice(format!("# Name = {n}").as_bytes());
            out.extend_from_slice(nl);
        }
    }
    if !changed {
        return Imported::default();
    }
    // The file's last line keeps having no terminator if it had none.
    if doc.text.last().is_some_and(|&b| b != b'\n') && out.last() == Some(&b'\n') {
        out.pop();
    }
    Imported { edits: vec![super::edit::Edit { range: 0..doc.text.len(), with: out }], notes }
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_time(secs: i64) -> String {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

/// `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SSZ` as seconds since the epoch.
pub fn parse_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes().all(|c| c.is_ascii_digit()).then(|| t.parse().ok())?
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * 86400;
    match b.len() {
        10 => {}
        20 if b[10] == b'T' && b[13] == b':' && b[16] == b':' && b[19] == b'Z' => {
            let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
            if h > 23 || mi > 59 || se > 59 {
                return None;
            }
            secs += h * 3600 + mi * 60 + se;
        }
        _ => return None,
    }
    Some(secs)
}

/// `--expires`: a date (`2027-03-01`, `2027-03-01T12:00:00Z`) or a time from `now`
/// (`+30d`, `+12h`, `+2w`), as the text written in `# Expires =`.
pub fn parse_expires(s: &str, now: i64) -> Result<String, String> {
    let bad = || {
        format!(
            "--expires: {} is neither a date (2027-03-01, 2027-03-01T12:00:00Z) nor +N followed by h, d or w",
            super::values::shown(s)
        )
    };
    if let Some(rest) = s.strip_prefix('+') {
        // The unit is the last character, whatever its width (a non-ASCII one is refused).
        let mut chars = rest.chars();
        let unit = chars.next_back().ok_or_else(bad)?;
        let n = chars.as_str();
        if n.is_empty() || n.len() > 5 || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: i64 = n.parse().ok().filter(|n: &i64| *n > 0 && *n < 100_000).ok_or_else(bad)?;
        let mult = match unit {
            'h' => 3600,
            'd' => 86400,
            'w' => 7 * 86400,
            _ => return Err(bad()),
        };
        return now.checked_add(n * mult).map(format_time).ok_or_else(bad);
    }
    parse_time(s).map(format_time).ok_or_else(bad)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    // Count from 0000-03-01 so that the leap day ends the year.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_file_holds_a_key_or_not() {
        let k = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
        assert!(client_holds_key(format!("[Interface]\nAddress = 10.0.0.2/32\nPrivateKey = {k}\n").as_bytes()));
        assert!(client_holds_key(format!("[Interface]\r\n  privatekey={k} # x\r\n").as_bytes()));
        assert!(!client_holds_key(format!("[Interface]\nAddress = 10.0.0.2/32\n{OWN_KEY_LINE}\n").as_bytes()));
        assert!(!client_holds_key(format!("[Interface]\n# PrivateKey = {k}\n").as_bytes()));
        assert!(!client_holds_key(format!("[Peer]\nPrivateKey = {k}\n").as_bytes()), "not in [Peer]");
        assert!(!client_holds_key(b"[Interface]\nPrivateKey =\n"));
        assert!(!client_holds_key(b""));
    }

    fn ap(t: &[u8], e: &[crate::config::edit::Edit]) -> Vec<u8> {
        apply(t, e).unwrap()
    }
    use crate::config::edit::{Document, apply};

    const P1: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    const P2: &str = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";

    #[test]
    fn peers_and_their_metadata_disabled_ones_too() {
        let t = format!(
            "[Interface]\n# ClientEndpoint = vpn.example.org:51820\n# ClientKeepalive = 25\nAddress = 10.8.0.1/24, fd00::1/64\n\
             ListenPort = 51820\n\n[Peer]\n# Name = alice\n# Expires = 2027-01-01T00:00:00Z\nPublicKey = {P1}\n\
             AllowedIPs = 10.8.0.2/32, fd00::2/128 # phone\nAllowedIPs = 192.168.5.0/24\n\n\
             #- [Peer]\n#- # Name = bob\n#- PublicKey = {P2}\n#- AllowedIPs = 10.8.0.3/32\n"
        );
        let d = Document::parse(t.into_bytes());
        let s = server_info(&d);
        assert_eq!(s.endpoint.as_deref(), Some("vpn.example.org:51820"));
        assert_eq!((s.keepalive, s.listen_port, s.addresses.len()), (Some(25), Some(51820), 2));
        let p = peers(&d);
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].name.as_deref(), p[0].disabled, p[0].allowed_ips.len()), (Some("alice"), false, 3));
        assert_eq!(p[0].expires.as_deref(), Some("2027-01-01T00:00:00Z"));
        assert_eq!((p[1].name.as_deref(), p[1].disabled, p[1].line), (Some("bob"), true, 14));
        assert_eq!(p[1].public_key.unwrap().to_base64(), P2);
        // The one-pass reading of `list` finds the same, without the preshared keys.
        let fast = list_entries(&d.text);
        assert_eq!(fast.len(), 2);
        for (a, b) in p.iter().zip(&fast) {
            assert_eq!(
                (&a.name, &a.expires, a.disabled, &a.allowed_ips, &a.allowed_text, a.public_key, a.line),
                (&b.name, &b.expires, b.disabled, &b.allowed_ips, &b.allowed_text, b.public_key, b.line)
            );
        }
    }

    #[test]
    fn names_that_could_inject_a_line_are_refused() {
        for bad in ["", "a\nb", "a]", "[Peer]", "a=b c", "a b", "abcdefghijklmnop", "x\r", "é", "a#b", "a/b"] {
            assert!(check_name(bad, "wg0").is_err(), "{bad:?}");
        }
        for good in ["alice-phone", "a.b_c+d=e", "abcdefghijklmno", "1"] {
            assert!(check_name(good, "wg0").is_ok(), "{good:?}");
        }
        assert!(check_name("wg0", "wg0").is_err());
        assert!(check_name("a\nb", "wg0").unwrap_err().to_string().contains("`a\\nb'"));
        assert!(check_value("Note", "a\nb").is_err() && check_value("Note", "ok = fine # yes").is_ok());
    }

    #[test]
    fn set_key_changes_only_that_line() {
        let t = "[Peer]\r\n# Name = alice\r\n# mine\r\nPublicKey = K\r\nAllowedIPs = 10.0.0.2/32\r\nAllowedIPs = 10.1.0.0/24\r\n\r\n[Peer]\r\n";
        let d = Document::parse(t.as_bytes().to_vec());
        let b = &d.blocks[0];
        let with = |lines: Vec<Vec<u8>>| String::from_utf8(ap(&d.text, &[d.replace(b, &lines)])).unwrap();
        assert_eq!(
            with(set_key(&d, b, "Name", Some("bob"))),
            t.replace("# Name = alice", "# Name = bob"),
            "a rename changes one line"
        );
        assert_eq!(
            with(set_key(&d, b, "Expires", Some("2027-01-01T00:00:00Z"))),
            t.replace("# Name = alice\r\n", "# Name = alice\r\n# Expires = 2027-01-01T00:00:00Z\r\n")
        );
        assert_eq!(
            with(set_key(&d, b, "AllowedIPs", Some("10.0.0.2/32"))),
            t.replace("AllowedIPs = 10.1.0.0/24\r\n", ""),
            "every AllowedIPs line is replaced by one"
        );
        assert_eq!(
            with(set_key(&d, b, "PersistentKeepalive", Some("25"))),
            t.replace("10.1.0.0/24\r\n", "10.1.0.0/24\r\nPersistentKeepalive = 25\r\n")
        );
        assert_eq!(with(set_key(&d, b, "Name", None)), t.replace("# Name = alice\r\n", ""));
    }

    #[test]
    fn new_block_and_client_file() {
        let p = NewPeer {
            name: "alice".into(),
            display_name: None,
            created: "2026-01-02T03:04:05Z".into(),
            expires: None,
            note: Some("phone".into()),
            p2p: false,
            public_key: Key::from_base64(P1).unwrap(),
            preshared_key: None,
            allowed_ips: vec![IpNet::parse("10.8.0.2/32").unwrap(), IpNet::parse("fd00::2/128").unwrap()],
        };
        assert_eq!(
            peer_block(&p, "\n"),
            format!(
                "[Peer]\n# Name = alice\n# Created = 2026-01-02T03:04:05Z\n# Note = phone\nPublicKey = {P1}\nAllowedIPs = 10.8.0.2/32, fd00::2/128\n"
            )
        );
        // In the p2p mesh: one comment line more, read back by the listing.
        let mesh = NewPeer { p2p: true, ..p.clone() };
        let block = peer_block(&mesh, "\n");
        assert!(block.contains("# Note = phone\n# P2P = true\nPublicKey"), "{block}");
        let listed = list_entries(block.as_bytes());
        assert!(listed[0].p2p && !list_entries(peer_block(&p, "\n").as_bytes())[0].p2p);
        assert!(!list_entries(block.replace("= true", "= no").as_bytes())[0].p2p);
        let c = ClientConfig {
            name: "alice".into(),
            addresses: p.allowed_ips.clone(),
            dns: Some("1.1.1.1".into()),
            server_public_key: Key::from_base64(P2).unwrap(),
            allowed_ips: "0.0.0.0/0, ::/0".into(),
            endpoint: "192.0.2.1:51820".into(),
            keepalive: Some(25),
            ..Default::default()
        };
        let text = client_config(&c);
        assert!(text.contains("# PrivateKey = (the client's own key"));
        assert!(text.ends_with("Endpoint = 192.0.2.1:51820\nPersistentKeepalive = 25\n"), "{text}");
        // The client file is a valid wg-quick file.
        assert!(crate::config::parse(text.as_bytes(), std::path::Path::new("alice.conf")).is_ok());
    }

    #[test]
    fn import_rewrites_only_the_markers() {
        let t = format!(
            "[Interface]\r\nPrivateKey = x\r\n\r\n### Client a b\r\n[Peer]\r\nPublicKey = {P1}\r\n\r\n# kept\r\n\
             ### begin c ###\r\n#[disabled] [Peer]\r\n#[disabled] PublicKey = {P2}\r\n### end c ###\r\n"
        );
        let d = Document::parse(t.into_bytes());
        let i = import(&d, "wg0");
        let out = String::from_utf8(ap(&d.text, &i.edits)).unwrap();
        assert_eq!(
            out,
            format!(
                "[Interface]\r\nPrivateKey = x\r\n\r\n[Peer]\r\n# Name = a-b\r\nPublicKey = {P1}\r\n\r\n# kept\r\n\
                 #- [Peer]\r\n#- # Name = c\r\n#- PublicKey = {P2}\r\n"
            )
        );
        assert!(i.notes[0].contains("`a b' is named a-b"), "{:?}", i.notes);
        let again = Document::parse(out.into_bytes());
        assert!(import(&again, "wg0").edits.is_empty(), "importing twice changes nothing");
    }

    #[test]
    fn import_reads_pivpn_markers_through_the_disabled_prefix() {
        let t = format!(
            "[Interface]\nPrivateKey = x\n\n### begin a ###\n[Peer]\nPublicKey = {P1}\n### end a ###\n\n\
             #[disabled] ### begin c ###\n#[disabled] [Peer]\n#[disabled] PublicKey = {P2}\n#[disabled] ### end c ###\n"
        );
        let d = Document::parse(t.into_bytes());
        let out = String::from_utf8(ap(&d.text, &import(&d, "wg0").edits)).unwrap();
        assert_eq!(
            out,
            format!(
                "[Interface]\nPrivateKey = x\n\n[Peer]\n# Name = a\nPublicKey = {P1}\n\n#- [Peer]\n#- # Name = c\n#- PublicKey = {P2}\n"
            )
        );
    }

    #[test]
    fn own_key_replaces_the_private_key_line() {
        let d = Document::parse(
            b"[Interface]\n# Name = a\nPrivateKey = k\nAddress = 10.0.0.2/32\n\n[Peer]\nPublicKey = p\n".to_vec(),
        );
        let lines = own_key_lines(&d, &d.blocks[0]);
        let t: Vec<String> = lines.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect();
        assert_eq!(t, ["[Interface]", "# Name = a", OWN_KEY_LINE, "Address = 10.0.0.2/32"]);
    }

    #[test]
    fn dates() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(parse_time("2000-02-29"), Some(951_782_400));
        assert_eq!(parse_time("2001-02-29"), None);
        assert_eq!(parse_time("2027-03-01T12:30:00Z"), Some(parse_time("2027-03-01").unwrap() + 45000));
        for s in ["1969-12-31T23:59:59Z", "2024-12-31T23:59:59Z", "2100-03-01T00:00:00Z"] {
            assert_eq!(format_time(parse_time(s).unwrap()), s);
        }
        assert_eq!(parse_expires("+30d", 0).unwrap(), "1970-01-31T00:00:00Z");
        assert_eq!(parse_expires("+2w", 0).unwrap(), "1970-01-15T00:00:00Z");
        assert_eq!(parse_expires("2027-03-01", 0).unwrap(), "2027-03-01T00:00:00Z");
        for bad in ["+0d", "+3y", "tomorrow", "2027-3-1", "2027-03-01T25:00:00Z", "+d", "+1é", "+é", "é", "+", "2027-01-0é"] {
            assert!(parse_expires(bad, 0).is_err(), "{bad}");
        }
    }
}
