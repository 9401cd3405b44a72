//! `wg show`'s output: the pretty form (colours on a terminal), `dump`, and one field at a
//! time. Pure: the caller gives the state, the current time and the environment's choices.

use std::fmt::Write as _;

use crate::device::{DeviceState, PeerState};
use crate::key::{Key, SecretKey};
use crate::net::IpNet;
use crate::os::glibc as sys;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";

/// The fields `show <if> FIELD` knows (and the usage lists).
pub const FIELDS: &[&str] = &[
    "public-key",
    "private-key",
    "listen-port",
    "fwmark",
    "peers",
    "preshared-keys",
    "endpoints",
    "allowed-ips",
    "latest-handshakes",
    "transfer",
    "persistent-keepalive",
    "dump",
];

/// How pretty output is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Keep the ANSI colours (WG_COLOR_MODE=always, or auto on a terminal).
    pub color: bool,
    /// Show private and preshared keys (WG_HIDE_KEYS=never).
    pub show_keys: bool,
}

impl Style {
    /// From the environment, for a stdout that is (or is not) a terminal.
    pub fn from_env(stdout_is_tty: bool) -> Style {
        let color = match std::env::var("WG_COLOR_MODE").ok().as_deref() {
            Some("always") => true,
            Some("never") => false,
            _ => stdout_is_tty,
        };
        Style { color, show_keys: std::env::var("WG_HIDE_KEYS").ok().as_deref() == Some("never") }
    }
}

/// Removes `ESC [ ... letter` sequences the way wg does when colour is off: per printed
/// piece, starting only where at least two more bytes follow.
pub fn strip_ansi(s: &str) -> String {
    let b = s.as_bytes();
    let mut keep = vec![true; b.len()];
    let mut i = 0;
    while i + 2 < b.len() {
        if b[i] == 0x1b && b[i + 1] == b'[' {
            keep[i] = false;
            keep[i + 1] = false;
            let mut j = i + 2;
            while j < b.len() {
                let alpha = b[j].is_ascii_alphabetic();
                keep[j] = false;
                if alpha {
                    break;
                }
                j += 1;
            }
            i = j;
        }
        i += 1;
    }
    let out: Vec<u8> = b.iter().zip(keep).filter(|(_, k)| *k).map(|(c, _)| *c).collect();
    String::from_utf8_lossy(&out).into_owned()
}

struct Term {
    out: String,
    color: bool,
}

impl Term {
    fn p(&mut self, piece: String) {
        if self.color {
            self.out.push_str(&piece);
        } else {
            self.out.push_str(&strip_ansi(&piece));
        }
    }
}

/// `1 minute, 5 seconds` (with colour codes around the units); empty for 0.
pub fn pretty_time(secs: u64) -> String {
    let mut left = secs;
    let years = left / (365 * 24 * 3600);
    left %= 365 * 24 * 3600;
    let days = left / (24 * 3600);
    left %= 24 * 3600;
    let hours = left / 3600;
    left %= 3600;
    let minutes = left / 60;
    let seconds = left % 60;
    let mut s = String::new();
    for (n, unit) in [(years, "year"), (days, "day"), (hours, "hour"), (minutes, "minute"), (seconds, "second")] {
        if n != 0 {
            let sep = if s.is_empty() { "" } else { ", " };
            let plural = if n == 1 { "" } else { "s" };
            let _ = write!(s, "{sep}{n} {CYAN}{unit}{plural}{RESET}");
        }
    }
    s
}

/// `latest handshake`'s text: `Now`, `N units ago`, or the clock warning.
pub fn ago(now: i64, then: i64) -> String {
    if now == then {
        "Now".into()
    } else if now < then {
        format!("({RED}System clock wound backward; connection problems may ensue.{RESET})")
    } else {
        // Wrapping, as wg's C arithmetic does with a value near the ends of the range.
        format!("{} ago", pretty_time(now.wrapping_sub(then) as u64))
    }
}

/// `transfer`'s amounts: bytes below 1 KiB, else two decimals of KiB, MiB, GiB or TiB.
pub fn bytes(b: u64) -> String {
    const K: u64 = 1024;
    let f = b as f64;
    if b < K {
        format!("{b} {CYAN}B{RESET}")
    } else if b < K * K {
        format!("{:.2} {CYAN}KiB{RESET}", f / 1024.0)
    } else if b < K * K * K {
        format!("{:.2} {CYAN}MiB{RESET}", f / (1024.0 * 1024.0))
    } else if b < K * K * K * K {
        format!("{:.2} {CYAN}GiB{RESET}", f / (1024.0 * 1024.0 * 1024.0))
    } else {
        format!("{:.2} {CYAN}TiB{RESET}", f / (1024.0 * 1024.0 * 1024.0) / 1024.0)
    }
}

fn handshake_secs(p: &PeerState) -> u64 {
    p.last_handshake.map_or(0, |d| d.as_secs())
}

fn ip(n: &IpNet) -> String {
    sys::ntop(&n.addr)
}

/// The pretty form of one device. Peers with the latest handshake first, those without
/// one last, ties in device order.
pub fn pretty(d: &DeviceState, now: i64, style: Style) -> String {
    let mut t = Term { out: String::new(), color: style.color };
    let masked = |k: &crate::key::SecretKey| if style.show_keys { k.to_base64() } else { "(hidden)".into() };
    t.p(RESET.into());
    t.p(format!("{GREEN}{BOLD}interface{RESET}: {GREEN}{}{RESET}\n", d.name));
    if let Some(k) = &d.public_key {
        t.p(format!("  {BOLD}public key{RESET}: {}\n", k.to_base64()));
    }
    if let Some(k) = &d.private_key {
        t.p(format!("  {BOLD}private key{RESET}: {}\n", masked(k)));
    }
    if d.listen_port != 0 {
        t.p(format!("  {BOLD}listening port{RESET}: {}\n", d.listen_port));
    }
    if d.fwmark != 0 {
        t.p(format!("  {BOLD}fwmark{RESET}: 0x{:x}\n", d.fwmark));
    }
    let mut peers: Vec<&PeerState> = d.peers.iter().collect();
    if !peers.is_empty() {
        // Newest first; never-handshaken last; stable otherwise.
        peers.sort_by(|a, b| match (a.last_handshake, b.last_handshake) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (Some(x), Some(y)) => y.cmp(&x),
        });
        t.p("\n".into());
    }
    for (i, p) in peers.iter().enumerate() {
        t.p(format!("{YELLOW}{BOLD}peer{RESET}: {YELLOW}{}{RESET}\n", p.public_key.to_base64()));
        if let Some(k) = &p.preshared_key {
            t.p(format!("  {BOLD}preshared key{RESET}: {}\n", masked(k)));
        }
        if let Some(e) = &p.endpoint {
            t.p(format!("  {BOLD}endpoint{RESET}: {}\n", sys::endpoint(e)));
        }
        t.p(format!("  {BOLD}allowed ips{RESET}: "));
        if p.allowed_ips.is_empty() {
            t.p("(none)\n".into());
        } else {
            let n = p.allowed_ips.len();
            for (j, a) in p.allowed_ips.iter().enumerate() {
                t.p(format!("{}{CYAN}/{RESET}{}{}", ip(a), a.prefix, if j + 1 < n { ", " } else { "\n" }));
            }
        }
        let hs = handshake_secs(p);
        if hs != 0 {
            t.p(format!("  {BOLD}latest handshake{RESET}: {}\n", ago(now, hs as i64)));
        }
        if p.rx_bytes != 0 || p.tx_bytes != 0 {
            t.p(format!("  {BOLD}transfer{RESET}: "));
            t.p(format!("{} received, ", bytes(p.rx_bytes)));
            t.p(format!("{} sent\n", bytes(p.tx_bytes)));
        }
        if p.persistent_keepalive != 0 {
            t.p(format!("  {BOLD}persistent keepalive{RESET}: every {}\n", pretty_time(u64::from(p.persistent_keepalive))));
        }
        if i + 1 < peers.len() {
            t.p("\n".into());
        }
    }
    t.out
}

fn or_none(k: Option<String>) -> String {
    k.unwrap_or_else(|| "(none)".into())
}

fn endpoint_or_none(p: &PeerState) -> String {
    or_none(p.endpoint.as_ref().map(sys::endpoint))
}

fn ips(p: &PeerState, sep: char) -> String {
    let mut s = String::new();
    push_ips(&mut s, p, sep);
    s
}

fn fwmark(m: u32) -> String {
    if m == 0 { "off".into() } else { format!("0x{m:x}") }
}

fn keepalive(k: u16) -> String {
    if k == 0 { "off".into() } else { k.to_string() }
}

fn push_key_or_none(s: &mut String, k: Option<&Key>) {
    match k {
        Some(k) => k.push_base64(s),
        None => s.push_str("(none)"),
    }
}

fn push_secret_or_none(s: &mut String, k: Option<&SecretKey>) {
    match k {
        Some(k) => k.push_base64(s),
        None => s.push_str("(none)"),
    }
}

fn push_ips(s: &mut String, p: &PeerState, sep: char) {
    if p.allowed_ips.is_empty() {
        return s.push_str("(none)");
    }
    for (j, a) in p.allowed_ips.iter().enumerate() {
        if j > 0 {
            s.push(sep);
        }
        sys::push_ntop(s, &a.addr);
        s.push('/');
        sys::push_u64(s, u64::from(a.prefix));
    }
}

/// `dump`: the device line, then one line per peer in device order; keys in clear.
/// Written straight into one buffer (tens of thousands of lines for a big server).
pub fn dump(d: &DeviceState, with_interface: bool) -> String {
    let mut s = String::with_capacity(256 * (d.peers.len() + 1));
    let prefix = |s: &mut String| {
        if with_interface {
            s.push_str(&d.name);
            s.push('\t');
        }
    };
    prefix(&mut s);
    push_secret_or_none(&mut s, d.private_key.as_ref());
    s.push('\t');
    push_key_or_none(&mut s, d.public_key.as_ref());
    s.push('\t');
    sys::push_u64(&mut s, u64::from(d.listen_port));
    s.push('\t');
    s.push_str(&fwmark(d.fwmark));
    s.push('\n');
    for p in &d.peers {
        prefix(&mut s);
        p.public_key.push_base64(&mut s);
        s.push('\t');
        push_secret_or_none(&mut s, p.preshared_key.as_ref());
        s.push('\t');
        match &p.endpoint {
            Some(e) => sys::push_endpoint(&mut s, e),
            None => s.push_str("(none)"),
        }
        s.push('\t');
        push_ips(&mut s, p, ',');
        s.push('\t');
        sys::push_u64(&mut s, handshake_secs(p));
        s.push('\t');
        sys::push_u64(&mut s, p.rx_bytes);
        s.push('\t');
        sys::push_u64(&mut s, p.tx_bytes);
        s.push('\t');
        match p.persistent_keepalive {
            0 => s.push_str("off"),
            k => sys::push_u64(&mut s, u64::from(k)),
        }
        s.push('\n');
    }
    s
}

/// One field (`None`: not a field). With `all`, every line starts with the interface name.
pub fn field(d: &DeviceState, param: &str, with_interface: bool) -> Option<String> {
    let prefix = if with_interface { format!("{}\t", d.name) } else { String::new() };
    let per_peer = |f: &dyn Fn(&PeerState) -> String| {
        let mut s = String::new();
        for p in &d.peers {
            let _ = writeln!(s, "{prefix}{}", f(p));
        }
        s
    };
    let key = |p: &PeerState| p.public_key.to_base64();
    Some(match param {
        "public-key" => format!("{prefix}{}\n", or_none(d.public_key.map(|k| k.to_base64()))),
        "private-key" => format!("{prefix}{}\n", or_none(d.private_key.as_ref().map(|k| k.to_base64()))),
        "listen-port" => format!("{prefix}{}\n", d.listen_port),
        "fwmark" => format!("{prefix}{}\n", fwmark(d.fwmark)),
        "endpoints" => per_peer(&|p| format!("{}\t{}", key(p), endpoint_or_none(p))),
        "allowed-ips" => per_peer(&|p| format!("{}\t{}", key(p), ips(p, ' '))),
        "latest-handshakes" => per_peer(&|p| format!("{}\t{}", key(p), handshake_secs(p))),
        "transfer" => per_peer(&|p| format!("{}\t{}\t{}", key(p), p.rx_bytes, p.tx_bytes)),
        "persistent-keepalive" => per_peer(&|p| format!("{}\t{}", key(p), keepalive(p.persistent_keepalive))),
        "preshared-keys" => per_peer(&|p| format!("{}\t{}", key(p), or_none(p.preshared_key.as_ref().map(|k| k.to_base64())))),
        "peers" => per_peer(&key),
        "dump" => dump(d, with_interface),
        _ => return None,
    })
}

/// `wg showconf`: the configuration in file form (the device layer's, shared with
/// `wgq showconf` and `save`).
pub fn showconf(d: &DeviceState) -> String {
    crate::device::showconf::showconf(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ago_never_overflows() {
        assert_eq!(ago(5, 5), "Now");
        assert!(ago(100, i64::MIN).ends_with(" ago"));
        assert!(ago(i64::MIN, 100).contains("wound backward"));
    }
    use crate::key::{Key, SecretKey};
    use std::time::Duration;

    fn dev() -> DeviceState {
        DeviceState {
            name: "wg0".into(),
            private_key: Some(SecretKey::from_bytes([1; 32])),
            public_key: Some(Key([1; 32]).public_key()),
            listen_port: 51820,
            fwmark: 0xca6c,
            peers: vec![
                PeerState { public_key: Key([2; 32]), allowed_ips: vec![], persistent_keepalive: 0, ..Default::default() },
                PeerState {
                    public_key: Key([3; 32]),
                    preshared_key: Some(SecretKey::from_bytes([4; 32])),
                    endpoint: Some("[2001:db8::1]:51820".parse().unwrap()),
                    persistent_keepalive: 25,
                    last_handshake: Some(Duration::new(1000, 5)),
                    rx_bytes: 1536,
                    tx_bytes: 100,
                    allowed_ips: vec![IpNet::parse("10.0.0.2/32").unwrap(), IpNet::parse("::1:2/128").unwrap()],
                },
            ],
        }
    }

    fn b(k: [u8; 32]) -> String {
        Key(k).to_base64()
    }

    #[test]
    fn units_and_times() {
        assert_eq!(strip_ansi(&pretty_time(65)), "1 minute, 5 seconds");
        assert_eq!(strip_ansi(&pretty_time(1)), "1 second");
        assert_eq!(strip_ansi(&pretty_time(0)), "");
        assert_eq!(strip_ansi(&pretty_time(365 * 86400 + 2 * 86400 + 3600)), "1 year, 2 days, 1 hour");
        assert_eq!(pretty_time(60), "1 \x1b[36mminute\x1b[0m");
        assert_eq!(ago(100, 100), "Now");
        assert_eq!(strip_ansi(&ago(100, 101)), "(System clock wound backward; connection problems may ensue.)");
        assert_eq!(strip_ansi(&ago(3700, 100)), "1 hour ago");
        assert_eq!(strip_ansi(&bytes(1023)), "1023 B");
        assert_eq!(strip_ansi(&bytes(1024)), "1.00 KiB");
        assert_eq!(strip_ansi(&bytes(1536)), "1.50 KiB");
        assert_eq!(strip_ansi(&bytes(4 * 1024 * 1024)), "4.00 MiB");
        assert_eq!(strip_ansi(&bytes(5 * 1024 * 1024 * 1024 + 1)), "5.00 GiB");
        assert_eq!(strip_ansi(&bytes(3 << 40)), "3.00 TiB");
    }

    #[test]
    fn strip_like_wg() {
        assert_eq!(strip_ansi("\x1b[1mx\x1b[0m: y\n"), "x: y\n");
        // An escape too close to the end stays.
        assert_eq!(strip_ansi("ab\x1b[m"), "ab");
        assert_eq!(strip_ansi("a\x1b["), "a\x1b[");
    }

    #[test]
    fn pretty_layout_plain() {
        let st = Style { color: false, show_keys: false };
        let s = pretty(&dev(), 1065, st);
        let want = format!(
            "interface: wg0\n  public key: {}\n  private key: (hidden)\n  listening port: 51820\n  fwmark: 0xca6c\n\n\
             peer: {}\n  preshared key: (hidden)\n  endpoint: [2001:db8::1]:51820\n  allowed ips: 10.0.0.2/32, ::0.1.0.2/128\n\
             \x20 latest handshake: 1 minute, 5 seconds ago\n  transfer: 1.50 KiB received, 100 B sent\n\
             \x20 persistent keepalive: every 25 seconds\n\npeer: {}\n  allowed ips: (none)\n",
            Key([1; 32]).public_key().to_base64(),
            b([3; 32]),
            b([2; 32])
        );
        assert_eq!(s, want);
        let s = pretty(&dev(), 1000, Style { color: false, show_keys: true });
        assert!(s.contains(&format!("  private key: {}\n", b([1; 32]))));
        assert!(s.contains(&format!("  preshared key: {}\n", b([4; 32]))));
        assert!(s.contains("  latest handshake: Now\n"));
        let c = pretty(&dev(), 1000, Style { color: true, show_keys: false });
        assert!(c.starts_with("\x1b[0m\x1b[32m\x1b[1minterface\x1b[0m: \x1b[32mwg0\x1b[0m\n"));
        assert_eq!(strip_ansi(&c), pretty(&dev(), 1000, Style { color: false, show_keys: false }));
        let empty = DeviceState { name: "wg1".into(), ..Default::default() };
        assert_eq!(pretty(&empty, 0, st), "interface: wg1\n");
    }

    #[test]
    fn dump_lines() {
        let d = dev();
        let s = dump(&d, false);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], format!("{}\t{}\t51820\t0xca6c", b([1; 32]), Key([1; 32]).public_key().to_base64()));
        assert_eq!(lines[1], format!("{}\t(none)\t(none)\t(none)\t0\t0\t0\toff", b([2; 32])));
        assert_eq!(
            lines[2],
            format!("{}\t{}\t[2001:db8::1]:51820\t10.0.0.2/32,::0.1.0.2/128\t1000\t1536\t100\t25", b([3; 32]), b([4; 32]))
        );
        let all = dump(&d, true);
        assert!(all.lines().all(|l| l.starts_with("wg0\t")));
        assert_eq!(all.lines().next().unwrap().split('\t').count(), 5);
        assert_eq!(all.lines().nth(1).unwrap().split('\t').count(), 9);
        let none = DeviceState { name: "x".into(), ..Default::default() };
        assert_eq!(dump(&none, false), "(none)\t(none)\t0\toff\n");
    }

    #[test]
    fn fields() {
        let d = dev();
        assert_eq!(field(&d, "listen-port", false).unwrap(), "51820\n");
        assert_eq!(field(&d, "fwmark", true).unwrap(), "wg0\t0xca6c\n");
        assert_eq!(
            field(&d, "allowed-ips", false).unwrap(),
            format!("{}\t(none)\n{}\t10.0.0.2/32 ::0.1.0.2/128\n", b([2; 32]), b([3; 32]))
        );
        assert_eq!(field(&d, "endpoints", true).unwrap().lines().count(), 2);
        assert!(field(&d, "endpoints", true).unwrap().lines().all(|l| l.starts_with("wg0\t")));
        assert_eq!(field(&d, "persistent-keepalive", false).unwrap(), format!("{}\toff\n{}\t25\n", b([2; 32]), b([3; 32])));
        assert_eq!(field(&d, "transfer", false).unwrap(), format!("{}\t0\t0\n{}\t1536\t100\n", b([2; 32]), b([3; 32])));
        assert_eq!(field(&d, "latest-handshakes", false).unwrap(), format!("{}\t0\n{}\t1000\n", b([2; 32]), b([3; 32])));
        assert_eq!(
            field(&d, "preshared-keys", false).unwrap(),
            format!("{}\t(none)\n{}\t{}\n", b([2; 32]), b([3; 32]), b([4; 32]))
        );
        assert_eq!(field(&d, "peers", false).unwrap(), format!("{}\n{}\n", b([2; 32]), b([3; 32])));
        assert_eq!(field(&DeviceState::default(), "private-key", false).unwrap(), "(none)\n");
        assert!(field(&d, "bogus", false).is_none());
        for f in FIELDS {
            assert!(field(&d, f, false).is_some(), "{f}");
        }
    }

    #[test]
    fn showconf_layout() {
        let d = dev();
        let s = showconf(&d);
        assert!(
            s.starts_with(&format!("[Interface]\nListenPort = 51820\nFwMark = 0xca6c\nPrivateKey = {}\n\n[Peer]\n", b([1; 32])))
        );
        assert!(
            s.contains("AllowedIPs = 10.0.0.2/32, ::0.1.0.2/128\nEndpoint = [2001:db8::1]:51820\nPersistentKeepalive = 25\n")
        );
        assert!(!s.ends_with("\n\n"));
        let empty = DeviceState::default();
        assert_eq!(showconf(&empty), "[Interface]\n\n");
    }
}
