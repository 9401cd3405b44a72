//! wg(8)'s two input grammars, both into one [`WgDevice`] (what wg would send):
//!
//! - the configuration file of `setconf`/`addconf`/`syncconf` ([`ConfReader`]): text after
//!   `#` dropped, every white-space character of a line deleted, section headers and keys
//!   matched without regard to case, a value required after `=`;
//! - the argument list of `set` ([`parse_set`]): device options only before the first
//!   `peer`, then per-peer options.
//!
//! Values are parsed as wg parses them: ports and endpoint services through getaddrinfo,
//! strtoul's rules for numbers, glibc's inet_pton for addresses, key files read 44 bytes
//! then nothing but white space. Diagnostics go to `err` with wg's wording, except that
//! text that may be a private or preshared key is never repeated.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr};

use crate::device::{DeviceConfig, PeerConfig};
use crate::key::{Key, SecretKey, hide_keys};
use crate::net::IpNet;
use crate::os::glibc::{self as sys, Lookup};

/// A device change as wg builds it (`struct wgdevice` with its flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WgDevice {
    /// Set: send it (all zeros removes the key).
    pub private_key: Option<SecretKey>,
    pub listen_port: Option<u16>,
    pub fwmark: Option<u32>,
    pub replace_peers: bool,
    pub peers: Vec<WgPeer>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WgPeer {
    /// `None` only while a `[Peer]` section lacks its PublicKey.
    pub public_key: Option<Key>,
    pub remove: bool,
    /// Set: send it (all zeros clears it).
    pub preshared_key: Option<SecretKey>,
    pub endpoint: Option<SocketAddr>,
    pub persistent_keepalive: Option<u16>,
    pub replace_allowed_ips: bool,
    pub allowed_ips: Vec<AllowedIp>,
}

/// One allowed-IP entry; `remove` for a `-` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowedIp {
    pub net: IpNet,
    pub remove: bool,
}

/// Why parsing stopped. Both exit with status 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The problem was reported; the caller adds its own line (`Configuration parsing error`).
    Failed,
    /// wg exits at once (a bad `WG_ENDPOINT_RESOLUTION_RETRIES`), nothing more is printed.
    Exit,
}

/// The resolver and clock wg's parsing uses (getaddrinfo, usleep, the environment);
/// replaced in tests.
pub trait Env {
    fn lookup(&mut self, host: Option<&str>, service: &str) -> Lookup;
    fn sleep_us(&mut self, us: u32);
    fn retries(&self) -> Option<String>;
}

/// The real system.
pub struct SystemEnv;

impl Env for SystemEnv {
    fn lookup(&mut self, host: Option<&str>, service: &str) -> Lookup {
        sys::getaddrinfo(host, service)
    }
    fn sleep_us(&mut self, us: u32) {
        std::thread::sleep(std::time::Duration::from_micros(u64::from(us)));
    }
    fn retries(&self) -> Option<String> {
        std::env::var_os("WG_ENDPOINT_RESOLUTION_RETRIES").map(|v| v.to_string_lossy().into_owned())
    }
}

/// Where diagnostics go, with the environment.
pub struct Ctx<'a> {
    pub err: &'a mut dyn Write,
    pub env: &'a mut dyn Env,
}

impl Ctx<'_> {
    fn say(&mut self, msg: &str) {
        let _ = writeln!(self.err, "{msg}");
    }
}

/// wg's isspace: `\t \n \v \f \r` and space.
pub fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

/// strtoul(s, &end, 10) followed by wg's `*end` check: `Some` when the whole text is a
/// number (leading white space and a sign allowed, as strtoul does); overflow saturates
/// at `u64::MAX`, a minus sign negates modulo 2^64.
pub fn strtoul_full(s: &str, base: u32) -> Option<u64> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_space(b[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    if base == 16
        && b.len() >= i + 2
        && b[i] == b'0'
        && (b[i + 1] | 32) == b'x'
        && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        i += 2;
    }
    let start = i;
    let mut v: u64 = 0;
    let mut overflow = false;
    while i < b.len() {
        let Some(d) = (b[i] as char).to_digit(base) else { break };
        match v.checked_mul(u64::from(base)).and_then(|x| x.checked_add(u64::from(d))) {
            Some(x) => v = x,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start {
        // No digits: end is the start of the string.
        return s.is_empty().then_some(0);
    }
    if i != b.len() {
        return None;
    }
    Some(if overflow {
        u64::MAX
    } else if neg {
        v.wrapping_neg()
    } else {
        v
    })
}

fn parse_port(ctx: &mut Ctx, value: &str) -> Result<u16, Stop> {
    if value.is_empty() {
        ctx.say("Unable to parse empty port");
        return Err(Stop::Failed);
    }
    match ctx.env.lookup(None, value) {
        Lookup::Found(Some(a)) => Ok(a.port()),
        Lookup::Found(None) => {
            ctx.say(&format!("Neither IPv4 nor IPv6 address found: `{value}'"));
            Err(Stop::Failed)
        }
        Lookup::Failed { message, .. } => {
            ctx.say(&format!("{message}: `{value}'"));
            Err(Stop::Failed)
        }
    }
}

fn parse_fwmark(ctx: &mut Ctx, value: &str) -> Result<u32, Stop> {
    if value.eq_ignore_ascii_case("off") {
        return Ok(0);
    }
    let ok = value.as_bytes().first().is_some_and(u8::is_ascii_digit);
    let base = if value.len() > 2 && value.starts_with("0x") { 16 } else { 10 };
    match strtoul_full(value, base).filter(|_| ok).and_then(|v| u32::try_from(v).ok()) {
        Some(v) => Ok(v),
        None => {
            ctx.say(&format!("Fwmark is neither 0/off nor 0-0xffffffff: `{value}'"));
            Err(Stop::Failed)
        }
    }
}

fn parse_keepalive(ctx: &mut Ctx, value: &str) -> Result<u16, Stop> {
    if value.eq_ignore_ascii_case("off") {
        return Ok(0);
    }
    let ok = value.as_bytes().first().is_some_and(u8::is_ascii_digit);
    match strtoul_full(value, 10).filter(|_| ok).and_then(|v| u16::try_from(v).ok()) {
        Some(v) => Ok(v),
        None => {
            ctx.say(&format!("Persistent keepalive interval is neither 0/off nor 1-65535: `{value}'"));
            Err(Stop::Failed)
        }
    }
}

/// A public key (shown in the message when malformed: it is public).
fn parse_public(ctx: &mut Ctx, value: &str) -> Result<Key, Stop> {
    Key::from_base64(value).map_err(|_| {
        ctx.say(&format!("Key is not the correct length or format: `{value}'"));
        Stop::Failed
    })
}

/// A private or preshared key; the text is never repeated.
fn parse_secret(ctx: &mut Ctx, value: &str) -> Result<SecretKey, Stop> {
    SecretKey::from_base64(value).map_err(|_| {
        ctx.say(&format!("Key is not the correct length or format: `{}'", hide_keys(value)));
        Stop::Failed
    })
}

/// A key file: exactly 44 bytes, then only white space; an empty file (or /dev/null)
/// is the all-zero key, which removes the key. Pipes and /dev/stdin work.
pub fn parse_keyfile(ctx: &mut Ctx, path: &std::ffi::OsStr) -> Result<SecretKey, Stop> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            ctx.say(&format!("fopen: {}", sys::strerror(e.raw_os_error().unwrap_or(libc::EIO))));
            return Err(Stop::Failed);
        }
    };
    let mut buf = [0u8; 44];
    let mut got = 0;
    let mut failed = false;
    while got < buf.len() {
        match f.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    // Nothing read is the zero key only where the position reads 0: an empty file or
    // /dev/null. A pipe has no position, so an empty pipe is a short key (as with wg,
    // whose test is ftell() == 0).
    use std::io::Seek as _;
    let result = if got == 0 && !failed && f.stream_position().is_ok_and(|p| p == 0) {
        Ok(SecretKey::default())
    } else if got < buf.len() {
        ctx.say("Invalid length key in key file");
        Err(Stop::Failed)
    } else {
        let mut rest = [0u8; 512];
        let mut trailing = None;
        'read: loop {
            match f.read(&mut rest) {
                Ok(0) => break,
                Ok(n) => {
                    if let Some(&c) = rest[..n].iter().find(|&&c| !is_space(c)) {
                        trailing = Some(c);
                        break 'read;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    ctx.say(&format!("getc: {}", sys::strerror(e.raw_os_error().unwrap_or(libc::EIO))));
                    crate::key::wipe(&mut buf);
                    return Err(Stop::Failed);
                }
            }
        }
        crate::key::wipe(&mut rest);
        match trailing {
            Some(c) => {
                let mut m = b"Found trailing character in key file: `".to_vec();
                m.push(c);
                m.extend_from_slice(b"'\n");
                let _ = ctx.err.write_all(&m);
                Err(Stop::Failed)
            }
            None => {
                // wg's strlen(): a NUL inside ends the text early (and fails the length check).
                let text = &buf[..buf.iter().position(|&b| b == 0).unwrap_or(buf.len())];
                match std::str::from_utf8(text) {
                    Ok(t) => parse_secret(ctx, t),
                    Err(_) => {
                        ctx.say("Key is not the correct length or format: `(key not shown)'");
                        Err(Stop::Failed)
                    }
                }
            }
        }
    };
    crate::key::wipe(&mut buf);
    result
}

/// WG_ENDPOINT_RESOLUTION_RETRIES: 15 when unset, `None` for infinity.
fn dns_retries(ctx: &mut Ctx) -> Result<Option<u64>, Stop> {
    let Some(v) = ctx.env.retries() else { return Ok(Some(15)) };
    if v == "infinity" {
        return Ok(None);
    }
    match strtoul_full(&v, 10).filter(|&n| n <= i32::MAX as u64) {
        Some(n) => Ok(Some(n)),
        None => {
            ctx.say(&format!("Unable to parse WG_ENDPOINT_RESOLUTION_RETRIES: `{v}'"));
            Err(Stop::Exit)
        }
    }
}

/// `host:port` or `[v6]:port`, resolved (host names and service names alike), transient
/// resolver failures retried with a growing delay.
pub fn parse_endpoint(ctx: &mut Ctx, value: &str) -> Result<SocketAddr, Stop> {
    let mut retries = dns_retries(ctx)?;
    if value.is_empty() {
        ctx.say("Unable to parse empty endpoint");
        return Err(Stop::Failed);
    }
    let no_port = |ctx: &mut Ctx| {
        ctx.say(&format!("Unable to find port of endpoint: `{value}'"));
        Err(Stop::Failed)
    };
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let Some(close) = rest.find(']') else {
            ctx.say(&format!("Unable to find matching brace of endpoint: `{value}'"));
            return Err(Stop::Failed);
        };
        match rest[close + 1..].strip_prefix(':') {
            Some(p) if !p.is_empty() => (&rest[..close], p),
            _ => return no_port(ctx),
        }
    } else {
        match value.rfind(':') {
            Some(i) if i + 1 < value.len() => (&value[..i], &value[i + 1..]),
            _ => return no_port(ctx),
        }
    };
    let mut timeout: u32 = 1_000_000;
    loop {
        match ctx.env.lookup(Some(host), port) {
            Lookup::Found(Some(a)) => return Ok(a),
            Lookup::Found(None) => {
                ctx.say(&format!("Neither IPv4 nor IPv6 address found: `{value}'"));
                return Err(Stop::Failed);
            }
            Lookup::Failed { code, message } => {
                let exhausted = match &mut retries {
                    Some(0) => true,
                    Some(n) => {
                        *n -= 1;
                        false
                    }
                    None => false,
                };
                if sys::permanent(code) || exhausted {
                    ctx.say(&format!("{message}: `{value}'"));
                    return Err(Stop::Failed);
                }
                ctx.say(&format!("{message}: `{value}'. Trying again in {:.2} seconds...", f64::from(timeout) / 1_000_000.0));
                ctx.env.sleep_us(timeout);
                timeout = (timeout * 6 / 5).min(20_000_000);
            }
        }
    }
}

/// One allowed-IPs value (white space already removed): comma-separated entries, each
/// optionally `+` or `-` (either makes the whole update incremental), a missing `/len`
/// meaning the full length. Host bits only warn.
pub fn parse_allowed_ips(ctx: &mut Ctx, peer: &mut WgPeer, value: &str) -> Result<(), Stop> {
    peer.replace_allowed_ips = true;
    if value.is_empty() {
        return Ok(());
    }
    for raw in value.split(',') {
        let mut entry = raw;
        let mut remove = false;
        if let Some(r) = entry.strip_prefix('-') {
            remove = true;
            peer.replace_allowed_ips = false;
            entry = r;
        } else if let Some(r) = entry.strip_prefix('+') {
            peer.replace_allowed_ips = false;
            entry = r;
        }
        let (ip, mask) = match entry.split_once('/') {
            Some((i, m)) => (i, Some(m)),
            None => (entry, None),
        };
        let Some(addr) = sys::pton(ip) else {
            ctx.say(&format!("Unable to parse IP address: `{ip}'"));
            return Err(Stop::Failed);
        };
        let max: u64 = if addr.is_ipv4() { 32 } else { 128 };
        let cidr = match mask {
            Some(m) => {
                let ok = m.as_bytes().first().is_some_and(u8::is_ascii_digit);
                match strtoul_full(m, 10).filter(|&c| ok && c <= max) {
                    Some(c) => c,
                    None => {
                        ctx.say(&format!("AllowedIP is not in the correct format: `{entry}'"));
                        return Err(Stop::Failed);
                    }
                }
            }
            None => max,
        };
        let net = IpNet::new(addr, cidr as u8);
        if net.has_host_bits() {
            ctx.say(&format!("Warning: AllowedIP has nonzero host part: {ip}/{}", mask.unwrap_or("(null)")));
        }
        peer.allowed_ips.push(AllowedIp { net, remove });
    }
    Ok(())
}

/// Which section the file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Interface,
    Peer,
}

/// wg's configuration-file reader, a line at a time.
pub struct ConfReader {
    dev: WgDevice,
    section: Section,
}

impl ConfReader {
    /// `append` (addconf): only what the file sets. Otherwise (setconf, syncconf) the
    /// private key, listen port and fwmark are always sent (zero when absent) and peers
    /// not in the file are removed.
    pub fn new(append: bool) -> ConfReader {
        let mut dev = WgDevice::default();
        if !append {
            dev.replace_peers = true;
            dev.private_key = Some(SecretKey::default());
            dev.listen_port = Some(0);
            dev.fwmark = Some(0);
        }
        ConfReader { dev, section: Section::None }
    }

    /// One line as read (with its newline). Text from a NUL on is ignored, as C's string
    /// functions do.
    pub fn line(&mut self, ctx: &mut Ctx, raw: &[u8]) -> Result<(), Stop> {
        let raw = &raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())];
        let raw = &raw[..raw.iter().position(|&b| b == b'#').unwrap_or(raw.len())];
        let mut cleaned: Vec<u8> = raw.iter().copied().filter(|&b| !is_space(b)).collect();
        if cleaned.is_empty() {
            return Ok(());
        }
        let r = match std::str::from_utf8(&cleaned) {
            Ok(line) => self.process(ctx, line),
            Err(_) => {
                let line = String::from_utf8_lossy(&cleaned).into_owned();
                ctx.say(&format!("Line unrecognized: `{}'", hide_keys(&line)));
                Err(Stop::Failed)
            }
        };
        crate::key::wipe(&mut cleaned);
        r
    }

    fn process(&mut self, ctx: &mut Ctx, line: &str) -> Result<(), Stop> {
        if line.eq_ignore_ascii_case("[Interface]") {
            self.section = Section::Interface;
            return Ok(());
        }
        if line.eq_ignore_ascii_case("[Peer]") {
            self.dev.peers.push(WgPeer { replace_allowed_ips: true, ..Default::default() });
            self.section = Section::Peer;
            return Ok(());
        }
        // `Key=value` with a non-empty value, the key in any case.
        let value = |key: &str| {
            let k = key.len() + 1;
            (line.len() > k
                && line.is_char_boundary(k)
                && line[..k - 1].eq_ignore_ascii_case(key)
                && line.as_bytes()[k - 1] == b'=')
                .then(|| &line[k..])
        };
        match self.section {
            Section::Interface => {
                if let Some(v) = value("ListenPort") {
                    self.dev.listen_port = Some(parse_port(ctx, v)?);
                } else if let Some(v) = value("FwMark") {
                    self.dev.fwmark = Some(parse_fwmark(ctx, v)?);
                } else if let Some(v) = value("PrivateKey") {
                    self.dev.private_key = Some(parse_secret(ctx, v)?);
                } else {
                    return unrecognized(ctx, line);
                }
            }
            Section::Peer => {
                let Some(peer) = self.dev.peers.last_mut() else { return unrecognized(ctx, line) };
                if let Some(v) = value("Endpoint") {
                    peer.endpoint = Some(parse_endpoint(ctx, v)?);
                } else if let Some(v) = value("PublicKey") {
                    peer.public_key = Some(parse_public(ctx, v)?);
                } else if let Some(v) = value("AllowedIPs") {
                    parse_allowed_ips(ctx, peer, v)?;
                } else if let Some(v) = value("PersistentKeepalive") {
                    peer.persistent_keepalive = Some(parse_keepalive(ctx, v)?);
                } else if let Some(v) = value("PresharedKey") {
                    peer.preshared_key = Some(parse_secret(ctx, v)?);
                } else {
                    return unrecognized(ctx, line);
                }
            }
            Section::None => return unrecognized(ctx, line),
        }
        Ok(())
    }

    /// The device, once every peer has its public key.
    pub fn finish(self, ctx: &mut Ctx) -> Result<WgDevice, Stop> {
        if self.dev.peers.iter().any(|p| p.public_key.is_none()) {
            ctx.say("A peer is missing a public key");
            return Err(Stop::Failed);
        }
        Ok(self.dev)
    }
}

fn unrecognized(ctx: &mut Ctx, line: &str) -> Result<(), Stop> {
    ctx.say(&format!("Line unrecognized: `{}'", hide_keys(line)));
    Err(Stop::Failed)
}

/// Reads a whole configuration file (pipes, /dev/stdin and /dev/fd/N included) and
/// parses it; the file's bytes are wiped afterwards. `Err(None)` when it cannot be opened
/// (reported as `fopen: ...`).
pub fn read_conf(ctx: &mut Ctx, path: &std::ffi::OsStr, append: bool) -> Result<WgDevice, Stop> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            ctx.say(&format!("fopen: {}", sys::strerror(e.raw_os_error().unwrap_or(libc::EIO))));
            return Err(Stop::Exit);
        }
    };
    let mut text = Vec::new();
    let read = f.read_to_end(&mut text);
    let mut r = ConfReader::new(append);
    let mut result = Ok(());
    for line in text.split_inclusive(|&b| b == b'\n') {
        if let Err(e) = r.line(ctx, line) {
            result = Err(e);
            break;
        }
    }
    crate::key::wipe(&mut text);
    if let Err(e) = result {
        if e == Stop::Failed {
            ctx.say("Configuration parsing error");
        }
        return Err(Stop::Exit);
    }
    // A read error ends the input where it happened, as getline does.
    let _ = read;
    match r.finish(ctx) {
        Ok(d) => Ok(d),
        Err(_) => {
            ctx.say("Invalid configuration");
            Err(Stop::Exit)
        }
    }
}

/// `wg set`'s arguments after the interface name.
pub fn parse_set(ctx: &mut Ctx, args: &[std::ffi::OsString]) -> Result<WgDevice, Stop> {
    let mut dev = WgDevice::default();
    let mut i = 0;
    let s = |a: &std::ffi::OsString| a.to_string_lossy().into_owned();
    while i < args.len() {
        let left = args.len() - i;
        let word = s(&args[i]);
        let has_peer = !dev.peers.is_empty();
        match word.as_str() {
            "listen-port" if left >= 2 && !has_peer => {
                dev.listen_port = Some(parse_port(ctx, &s(&args[i + 1]))?);
                i += 2;
            }
            "fwmark" if left >= 2 && !has_peer => {
                dev.fwmark = Some(parse_fwmark(ctx, &s(&args[i + 1]))?);
                i += 2;
            }
            "private-key" if left >= 2 && !has_peer => {
                dev.private_key = Some(parse_keyfile(ctx, &args[i + 1])?);
                i += 2;
            }
            "peer" if left >= 2 => {
                let key = parse_public(ctx, &s(&args[i + 1]))?;
                dev.peers.push(WgPeer { public_key: Some(key), ..Default::default() });
                i += 2;
            }
            "remove" if has_peer => {
                if let Some(p) = dev.peers.last_mut() {
                    p.remove = true;
                }
                i += 1;
            }
            "endpoint" if left >= 2 && has_peer => {
                let e = parse_endpoint(ctx, &s(&args[i + 1]))?;
                if let Some(p) = dev.peers.last_mut() {
                    p.endpoint = Some(e);
                }
                i += 2;
            }
            "allowed-ips" if left >= 2 && has_peer => {
                let v: String = s(&args[i + 1]).chars().filter(|&c| !(c.is_ascii() && is_space(c as u8))).collect();
                if let Some(p) = dev.peers.last_mut() {
                    parse_allowed_ips(ctx, p, &v)?;
                }
                i += 2;
            }
            "persistent-keepalive" if left >= 2 && has_peer => {
                let k = parse_keepalive(ctx, &s(&args[i + 1]))?;
                if let Some(p) = dev.peers.last_mut() {
                    p.persistent_keepalive = Some(k);
                }
                i += 2;
            }
            "preshared-key" if left >= 2 && has_peer => {
                let k = parse_keyfile(ctx, &args[i + 1])?;
                if let Some(p) = dev.peers.last_mut() {
                    p.preshared_key = Some(k);
                }
                i += 2;
            }
            _ => {
                ctx.say(&format!("Invalid argument: {word}"));
                return Err(Stop::Failed);
            }
        }
    }
    Ok(dev)
}

/// The device layer's request for a wg device change. Allowed IPs are sent in network
/// form; removals (`-`) go after additions, and a removal that a later `+` of the same
/// prefix undoes is dropped, so the outcome is that of wg's in-order list.
pub fn to_config(d: &WgDevice) -> DeviceConfig {
    DeviceConfig {
        private_key: d.private_key.clone(),
        listen_port: d.listen_port,
        fwmark: d.fwmark,
        replace_peers: d.replace_peers,
        peers: d
            .peers
            .iter()
            .map(|p| {
                let mut add = Vec::new();
                let mut del = Vec::new();
                for (i, a) in p.allowed_ips.iter().enumerate() {
                    let net = a.net.network();
                    if !a.remove {
                        add.push(net);
                    } else if !p.allowed_ips[i + 1..].iter().any(|b| !b.remove && b.net.network() == net) {
                        del.push(net);
                    }
                }
                PeerConfig {
                    public_key: p.public_key.unwrap_or_default(),
                    remove: p.remove,
                    update_only: false,
                    preshared_key: p.preshared_key.clone(),
                    endpoint: p.endpoint,
                    persistent_keepalive: p.persistent_keepalive,
                    replace_allowed_ips: p.replace_allowed_ips,
                    allowed_ips: add,
                    remove_allowed_ips: del,
                }
            })
            .collect(),
    }
}

/// An address with its family's full length (for tests and callers).
pub fn host(a: IpAddr) -> IpNet {
    IpNet::new(a, if a.is_ipv4() { 32 } else { 128 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    /// A resolver that knows numbers, `localhost` and `domain`, and fails `flaky.test`
    /// transiently.
    #[derive(Default)]
    struct FakeEnv {
        retries: Option<String>,
        slept: Vec<u32>,
    }

    impl Env for FakeEnv {
        fn lookup(&mut self, host: Option<&str>, service: &str) -> Lookup {
            let port = match service {
                "domain" => 53,
                s => match strtoul_full(s, 10) {
                    Some(n) => n as u16,
                    None => {
                        return Lookup::Failed {
                            code: libc::EAI_SERVICE,
                            message: "Servname not supported for ai_socktype".into(),
                        };
                    }
                },
            };
            let ip: IpAddr = match host {
                None | Some("localhost") => "127.0.0.1".parse().unwrap(),
                Some("flaky.test") => {
                    return Lookup::Failed { code: libc::EAI_AGAIN, message: "Temporary failure in name resolution".into() };
                }
                Some(h) => match sys::pton(h) {
                    Some(ip) => ip,
                    None => return Lookup::Failed { code: libc::EAI_NONAME, message: "Name or service not known".into() },
                },
            };
            Lookup::Found(Some(SocketAddr::new(ip, port)))
        }
        fn sleep_us(&mut self, us: u32) {
            self.slept.push(us);
        }
        fn retries(&self) -> Option<String> {
            self.retries.clone()
        }
    }

    fn conf(text: &str, append: bool) -> (Result<WgDevice, Stop>, String) {
        let mut err = Vec::new();
        let mut env = FakeEnv::default();
        let mut ctx = Ctx { err: &mut err, env: &mut env };
        let mut r = ConfReader::new(append);
        let mut res = Ok(());
        for l in text.as_bytes().split_inclusive(|&b| b == b'\n') {
            if let Err(e) = r.line(&mut ctx, l) {
                res = Err(e);
                break;
            }
        }
        let out = res.and_then(|_| r.finish(&mut ctx));
        (out, String::from_utf8(err).unwrap())
    }

    fn set(args: &[&str]) -> (Result<WgDevice, Stop>, String) {
        let mut err = Vec::new();
        let mut env = FakeEnv::default();
        let mut ctx = Ctx { err: &mut err, env: &mut env };
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let r = parse_set(&mut ctx, &args);
        (r, String::from_utf8(err).unwrap())
    }

    const K1: &str = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";
    const K2: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";

    #[test]
    fn lexer_deletes_all_white_space_and_comments_and_ignores_case() {
        let text = format!(
            "# a comment\n[interface]\r\nlisten port = 51 820 # trailing\nfwmark=0x1F\n\n  [PEER]\n pub lic key = {K1}\nAllowed IPs = 10.0.0.1 , fd00::/64\nallowedips=+10.1.0.0/16\nendpoint = 192.0.2.1:51820\npersistentkeepalive = 25\n"
        );
        let (d, err) = conf(&text, false);
        let d = d.unwrap();
        assert_eq!(err, "");
        assert_eq!(d.listen_port, Some(51820));
        assert_eq!(d.fwmark, Some(0x1f));
        assert!(d.replace_peers && d.private_key.as_ref().is_some_and(|k| k.is_zero()));
        let p = &d.peers[0];
        assert_eq!(p.public_key, Some(Key::from_base64(K1).unwrap()));
        assert_eq!(p.allowed_ips.len(), 3);
        // The `+` of the second line made the update incremental.
        assert!(!p.replace_allowed_ips);
        assert_eq!(p.endpoint, Some("192.0.2.1:51820".parse().unwrap()));
        assert_eq!(p.persistent_keepalive, Some(25));
    }

    #[test]
    fn fragments_without_interface_and_addconf_sends_only_what_is_set() {
        let text = format!("# BEGIN_PEER c\n[Peer]\nPublicKey = {K1}\nAllowedIPs = 10.7.0.2/32\n# END_PEER c\n");
        let (d, _) = conf(&text, true);
        let d = d.unwrap();
        assert!(!d.replace_peers && d.private_key.is_none() && d.listen_port.is_none() && d.fwmark.is_none());
        assert!(d.peers[0].replace_allowed_ips);
    }

    #[test]
    fn lexer_errors() {
        for (text, msg) in [
            ("ListenPort = 1\n", "Line unrecognized: `ListenPort=1'\n"),
            ("[Interface]\nAddress = 10.0.0.1/24\n", "Line unrecognized: `Address=10.0.0.1/24'\n"),
            ("[Peer]\nAllowedIPs =\n", "Line unrecognized: `AllowedIPs='\n"),
            ("[Interface]\nListenPort = x-no\n", "Servname not supported for ai_socktype: `x-no'\n"),
            ("[Interface]\nFwMark = 0X10\n", "Fwmark is neither 0/off nor 0-0xffffffff: `0X10'\n"),
            ("[Interface]\nFwMark = 0x100000000\n", "Fwmark is neither 0/off nor 0-0xffffffff: `0x100000000'\n"),
            ("[Peer]\nPersistentKeepalive = 65536\n", "Persistent keepalive interval is neither 0/off nor 1-65535: `65536'\n"),
            ("[Peer]\nPublicKey = abc\n", "Key is not the correct length or format: `abc'\n"),
            ("[Peer]\nEndpoint = 192.0.2.1\n", "Unable to find port of endpoint: `192.0.2.1'\n"),
            ("[Peer]\nEndpoint = [::1:5\n", "Unable to find matching brace of endpoint: `[::1:5'\n"),
            ("[Peer]\nEndpoint = [::1]5\n", "Unable to find port of endpoint: `[::1]5'\n"),
            ("[Peer]\nEndpoint = nowhere.invalid:5\n", "Name or service not known: `nowhere.invalid:5'\n"),
            ("[Peer]\nAllowedIPs = 10.0.0.1/33\n", "AllowedIP is not in the correct format: `10.0.0.1/33'\n"),
            ("[Peer]\nAllowedIPs = 10.0.0.1/-1\n", "AllowedIP is not in the correct format: `10.0.0.1/-1'\n"),
            ("[Peer]\nAllowedIPs = 10.0.0.1,,10.0.0.2\n", "Unable to parse IP address: `'\n"),
            ("[Peer]\nAllowedIPs = 010.0.0.1\n", "Unable to parse IP address: `010.0.0.1'\n"),
            ("[Peer]\nAllowedIPs = 10.0.0.0/8\n", "A peer is missing a public key\n"),
        ] {
            let (d, err) = conf(text, false);
            assert!(d.is_err(), "{text}");
            assert_eq!(err, msg, "{text}");
        }
    }

    #[test]
    fn private_keys_are_never_repeated() {
        let (d, err) = conf(&format!("[Peer]\nPrivateKey = {K2}\n"), false);
        assert!(d.is_err());
        assert_eq!(err, "Line unrecognized: `PrivateKey=(key not shown)'\n");
        let (d, err) = conf(&format!("[Interface]\nPrivateKey = {}x\n", &K2[..43]), false);
        assert!(d.is_err());
        assert!(!err.contains(&K2[..40]), "{err}");
    }

    #[test]
    fn host_bits_warn_and_missing_length_is_full() {
        let (d, err) = conf(&format!("[Peer]\nPublicKey={K1}\nAllowedIPs=10.0.0.1/024,fd00::1\n"), false);
        let d = d.unwrap();
        assert_eq!(err, "Warning: AllowedIP has nonzero host part: 10.0.0.1/024\n");
        assert_eq!(d.peers[0].allowed_ips[1].net.prefix, 128);
        let c = to_config(&d);
        assert_eq!(c.peers[0].allowed_ips[0].to_string(), "10.0.0.0/24");
    }

    #[test]
    fn set_grammar() {
        let (d, err) = set(&[
            "listen-port",
            "51820",
            "fwmark",
            "off",
            "peer",
            K1,
            "allowed-ips",
            " 10.0.0.1/32 , 10.0.0.2 ",
            "peer",
            K2,
            "remove",
        ]);
        let d = d.unwrap();
        assert_eq!(err, "");
        assert_eq!((d.listen_port, d.fwmark), (Some(51820), Some(0)));
        assert!(!d.replace_peers && d.private_key.is_none());
        assert_eq!(d.peers.len(), 2);
        assert_eq!(d.peers[0].allowed_ips.len(), 2);
        assert!(d.peers[1].remove);
        // A bare peer creates it.
        assert_eq!(set(&["peer", K1]).0.unwrap().peers.len(), 1);
        // "" clears.
        let d = set(&["peer", K1, "allowed-ips", ""]).0.unwrap();
        assert!(d.peers[0].replace_allowed_ips && d.peers[0].allowed_ips.is_empty());
        // Device options only before the first peer.
        for (args, msg) in [
            (&["peer", K1, "listen-port", "1"][..], "Invalid argument: listen-port\n"),
            (&["peer", K1, "private-key", "/dev/null"], "Invalid argument: private-key\n"),
            (&["remove"], "Invalid argument: remove\n"),
            (&["peer"], "Invalid argument: peer\n"),
            (&["listen-port"], "Invalid argument: listen-port\n"),
            (&["bogus", "1"], "Invalid argument: bogus\n"),
            (&["peer", "nope"], "Key is not the correct length or format: `nope'\n"),
            (&["peer", K1, "persistent-keepalive", "x"], "Persistent keepalive interval is neither 0/off nor 1-65535: `x'\n"),
            (&["private-key", "/nonexistent/x"], "fopen: No such file or directory\n"),
            (&["listen-port", ""], "Unable to parse empty port\n"),
            (&["peer", K1, "endpoint", ""], "Unable to parse empty endpoint\n"),
        ] {
            let (d, err) = set(args);
            assert!(d.is_err(), "{args:?}");
            assert_eq!(err, msg, "{args:?}");
        }
        let d = set(&["peer", K1, "persistent-keepalive", "OFF", "endpoint", "[::1]:domain"]).0.unwrap();
        assert_eq!(d.peers[0].persistent_keepalive, Some(0));
        assert_eq!(d.peers[0].endpoint, Some("[::1]:53".parse().unwrap()));
    }

    #[test]
    fn incremental_allowed_ips() {
        let d = set(&["peer", K1, "allowed-ips", "+10.0.0.1,-10.0.0.2/32,-10.0.0.3,+10.0.0.3"]).0.unwrap();
        let p = &d.peers[0];
        assert!(!p.replace_allowed_ips);
        let c = to_config(&d);
        let strs = |v: &[IpNet]| v.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(strs(&c.peers[0].allowed_ips), ["10.0.0.1/32", "10.0.0.3/32"]);
        assert_eq!(strs(&c.peers[0].remove_allowed_ips), ["10.0.0.2/32"]);
    }

    #[test]
    fn key_files() {
        let dir = tempfile::tempdir().unwrap();
        let w = |name: &str, body: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, body).unwrap();
            p.into_os_string()
        };
        let run = |p: &std::ffi::OsStr| {
            let mut err = Vec::new();
            let mut env = FakeEnv::default();
            let mut ctx = Ctx { err: &mut err, env: &mut env };
            let r = parse_keyfile(&mut ctx, p);
            (r, String::from_utf8_lossy(&err).into_owned())
        };
        let (k, _) = run(&w("ok", format!("{K2}\n\n \t").as_bytes()));
        assert_eq!(k.unwrap(), SecretKey::from_base64(K2).unwrap());
        let (k, _) = run(&w("empty", b""));
        assert!(k.unwrap().is_zero());
        // An empty pipe is not an empty file.
        let mut fds = [0; 2];
        // SAFETY: a two-int buffer for pipe(2); both ends are closed below.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: fds[1] is the write end pipe(2) just opened, owned by nothing else, closed once.
        unsafe { libc::close(fds[1]) };
        let (k, err) = run(std::ffi::OsStr::new(&format!("/proc/self/fd/{}", fds[0])));
        // SAFETY: fds[0] is the read end pipe(2) opened above (run opened its own descriptor
        // through /proc), owned by nothing else, closed once.
        unsafe { libc::close(fds[0]) };
        assert!(k.is_err());
        assert_eq!(err, "Invalid length key in key file\n");
        let (k, _) = run(std::ffi::OsStr::new("/dev/null"));
        assert!(k.unwrap().is_zero());
        assert_eq!(run(&w("short", b"abc\n")).1, "Invalid length key in key file\n");
        assert_eq!(run(&w("trail", format!("{K2} x").as_bytes())).1, "Found trailing character in key file: `x'\n");
        let (k, err) = run(&w("bad", format!("{}!=", &K2[..42]).as_bytes()));
        assert!(k.is_err());
        assert_eq!(err, "Key is not the correct length or format: `(key not shown)!='\n");
    }

    #[test]
    fn endpoint_retries_grow_and_give_up() {
        let mut err = Vec::new();
        let mut env = FakeEnv { retries: Some("3".into()), ..Default::default() };
        let mut ctx = Ctx { err: &mut err, env: &mut env };
        assert_eq!(parse_endpoint(&mut ctx, "flaky.test:1"), Err(Stop::Failed));
        assert_eq!(env.slept, [1_000_000, 1_200_000, 1_440_000]);
        let err = String::from_utf8(err).unwrap();
        assert!(err.starts_with("Temporary failure in name resolution: `flaky.test:1'. Trying again in 1.00 seconds...\n"));
        assert!(err.contains("Trying again in 1.44 seconds...\n"));
        assert!(err.ends_with("\nTemporary failure in name resolution: `flaky.test:1'\n"));
        for bad in ["-1", "x", "5 ", "2147483648"] {
            let mut err = Vec::new();
            let mut env = FakeEnv { retries: Some(bad.into()), ..Default::default() };
            let mut ctx = Ctx { err: &mut err, env: &mut env };
            assert_eq!(parse_endpoint(&mut ctx, "x:1"), Err(Stop::Exit), "{bad}");
            assert_eq!(String::from_utf8(err).unwrap(), format!("Unable to parse WG_ENDPOINT_RESOLUTION_RETRIES: `{bad}'\n"));
        }
    }

    #[test]
    fn strtoul_rules() {
        assert_eq!(strtoul_full("", 10), Some(0));
        assert_eq!(strtoul_full(" 5", 10), Some(5));
        assert_eq!(strtoul_full("5 ", 10), None);
        assert_eq!(strtoul_full("-0", 10), Some(0));
        assert_eq!(strtoul_full("-1", 10), Some(u64::MAX));
        assert_eq!(strtoul_full("99999999999999999999999", 10), Some(u64::MAX));
        assert_eq!(strtoul_full("0xff", 16), Some(255));
        assert_eq!(strtoul_full("0xg", 16), None);
        assert_eq!(strtoul_full("ff", 16), Some(255));
    }
}
