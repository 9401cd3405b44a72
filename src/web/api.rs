//! The routes: wg-easy 14's API (same paths and JSON shapes), wgq's `/api/v1/`, the
//! metrics, one-time links and the page's files; authentication, cross-site checks and the
//! security headers of every answer.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::auth::{self, PasswordHash, Sessions, StateDir, Throttle};
use super::http::{Handler, Request, Response, decode_segment, in_net};
use super::{Config, WebError, audit, lock};
use crate::config::peers;
use crate::key::Key;
use crate::provision::{self, EditOpts, Edited, Host, ListRow, Listed, ProvisionError, Target};

const COOKIE: &str = "wgq_session";
/// How long a one-time link works (wg-easy 14: 5 minutes).
const LINK_LIFE: i64 = 5 * 60;
/// The most characters of a display name.
pub const MAX_NAME_CHARS: usize = 64;

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Who {
    /// No password is set (loopback only).
    Open,
    Session(String),
    Password,
    Token {
        name: String,
        read_only: bool,
    },
}

impl Who {
    fn label(&self, from: IpAddr) -> String {
        match self {
            Who::Open => format!("open@{from}"),
            Who::Session(s) => format!("session:{}@{from}", &auth::digest(s)[..8]),
            Who::Password => format!("password@{from}"),
            Who::Token { name, .. } => format!("token:{name}@{from}"),
        }
    }
    fn can_write(&self) -> bool {
        !matches!(self, Who::Token { read_only: true, .. })
    }
}

/// Who asks for a change, from where, and whether only as a preview.
#[derive(Clone, Copy)]
struct Caller<'a> {
    who: &'a Who,
    from: IpAddr,
    dry: bool,
}

/// A list answer and when it was made.
type Rendered = (Instant, Arc<Vec<u8>>);

pub struct App {
    pub cfg: Config,
    state: StateDir,
    host: Host,
    password: Option<PasswordHash>,
    sessions: Mutex<Sessions>,
    logins: Mutex<Throttle>,
    /// The metrics password's own attempts (a scraper never blocks a login).
    metrics_logins: Mutex<Throttle>,
    /// Password headers verified lately.
    verified: Mutex<auth::Verified>,
    links_throttle: Mutex<Throttle>,
    /// One read of file and device per interface per second, shared by every request.
    cache: Mutex<HashMap<String, (Instant, Arc<Listed>)>>,
    /// Links made by this process, shown in the list until they expire or are used (on disk
    /// they are kept hashed only).
    shown_links: Mutex<HashMap<(String, Key), (String, i64)>>,
    /// The list answers made from `cache` (per interface, wg-easy's or /api/v1's shape).
    rendered: Mutex<HashMap<(String, bool, bool), Rendered>>,
    tls: bool,
    /// The links file is read and rewritten whole: one taker or maker at a time.
    links_lock: Mutex<()>,
    /// The last TOTP step a code was accepted for.
    totp_last: Mutex<Option<u64>>,
    /// The clients' traffic history files.
    traffic: super::traffic::Store,
    /// The last slot each interface was sampled in.
    sampled: Mutex<HashMap<String, u64>>,
    /// Held while a file and device read is made (`listed`).
    reading: Mutex<()>,
    /// Whether each client file holds a private key, by the file's identity (inode, size,
    /// modification time): a file is read again only when it changed.
    key_held: Mutex<HashMap<std::path::PathBuf, (FileId, bool)>>,
}

/// A file's identity: inode, size, modification time (ns).
type FileId = (u64, u64, i128);

/// What the server keeps of a client's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientFile {
    /// The file, with the client's private key: QR code and download.
    Full,
    /// The client made its own key (`--pubkey`, or a public key given in the page): the file
    /// has no private key, and is not offered.
    OwnKey,
}

/// JSON with `<`, `>` and `&` escaped as `\u003c`, `\u003e`, `\u0026` (they occur only
/// inside strings, where the escape means the same): no markup in an answer, whatever a
/// client's name holds.
pub fn json_text(v: &Value) -> String {
    let s = v.to_string();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out
}

/// A JSON string: quotes, backslashes and control characters escaped, and `<`, `>`, `&` as
/// in [`json_text`].
pub fn push_json_str(out: &mut String, s: &str) {
    use std::fmt::Write as _;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '<' | '>' | '&' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_resp(status: u16, v: &Value) -> Response {
    Response::new(status, "application/json; charset=utf-8", json_text(v))
}

fn error(status: u16, msg: &str) -> Response {
    json_resp(status, &json!({ "error": msg }))
}

fn success() -> Response {
    json_resp(200, &json!({ "success": true }))
}

/// Checks `password` against `h` under `throttle` (only failures count; one slow check at a
/// time): `Err(seconds)` when throttled.
fn verify_throttled(
    throttle: &Mutex<Throttle>,
    h: &PasswordHash,
    from: IpAddr,
    password: &str,
    clear: bool,
) -> Result<bool, u64> {
    lock(throttle).begin(from)?;
    let ok = {
        let _one = lock(&auth::VERIFY);
        h.verify(password)
    };
    if ok && clear {
        lock(throttle).success(from);
    }
    Ok(ok)
}

/// A client's id: its public key in URL-safe base64 (no padding).
pub fn client_id(k: &Key) -> String {
    auth::b64url(&k.0)
}

/// The key of an id (URL-safe or standard base64, with or without padding).
pub fn parse_id(id: &str) -> Option<Key> {
    if id.len() > 44 {
        return None;
    }
    let std: String = id
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let padded = if std.len() == 43 { format!("{std}=") } else { std };
    Key::from_base64(&padded).ok()
}

/// A display name: 1-64 printable characters, no control characters, not blank.
pub fn valid_display_name(n: &str) -> bool {
    let count = n.chars().count();
    (1..=MAX_NAME_CHARS).contains(&count) && !n.chars().any(char::is_control) && !n.trim().is_empty()
}

/// A file-safe name (wgq's peer names).
pub fn file_safe(n: &str) -> bool {
    (1..=15).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"_=+.-".contains(&b))
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn iso(secs: i64) -> String {
    peers::format_time(secs)
}

/// `YYYY-MM-DDTHH:MM:SSZ` of seconds since the epoch.
pub fn iso_time(secs: i64) -> String {
    iso(secs)
}

/// A date of the file as `YYYY-MM-DDTHH:MM:SSZ`: as written when it already is (what wgq
/// writes), else parsed and rendered; `None` when it is no date.
fn canonical_time(s: &str) -> Option<std::borrow::Cow<'_, str>> {
    let t = peers::parse_time(s)?;
    if s.len() == 20 && s.ends_with('Z') && s.is_ascii() {
        return Some(std::borrow::Cow::Borrowed(s));
    }
    Some(std::borrow::Cow::Owned(iso(t)))
}

fn status_of(e: &ProvisionError) -> u16 {
    match e {
        ProvisionError::NoPeer { .. } | ProvisionError::NoClientFile { .. } | ProvisionError::Locate(_) => 404,
        ProvisionError::NameTaken { .. } | ProvisionError::KeyTaken(_) | ProvisionError::Lock(_) => 409,
        ProvisionError::Io { .. } | ProvisionError::Read { .. } | ProvisionError::System(_) | ProvisionError::Exec(_) => 500,
        _ => 400,
    }
}

fn perr(e: &ProvisionError) -> Response {
    error(status_of(e), &crate::key::hide_keys(&e.to_string()))
}

/// The cookie's value, if the request has one.
fn cookie(req: &Request) -> Option<&str> {
    req.headers
        .iter()
        .filter(|(n, _)| n == "cookie")
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == COOKIE)
        .map(|(_, v)| v)
}

fn body_json(req: &Request) -> Result<Value, Response> {
    if req.body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&req.body).map_err(|_| error(400, "the body is not JSON"))
}

/// The expiry of wg-easy's `expiredDate` (`YYYY-MM-DD`: the end of that day, UTC); `None`
/// for null or "".
fn expiry_of(v: Option<&Value>) -> Result<Option<String>, Response> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => {
            let day =
                s.get(..10).filter(|d| peers::parse_time(d).is_some()).ok_or_else(|| error(400, "expiredDate: not a date"))?;
            if s.len() > 10 && peers::parse_time(s).is_none() && !s[10..].starts_with('T') {
                return Err(error(400, "expiredDate: not a date"));
            }
            Ok(Some(format!("{day}T23:59:59Z")))
        }
        _ => Err(error(400, "expiredDate: not a date")),
    }
}

impl App {
    pub fn new(cfg: Config, addr: SocketAddr) -> Result<App, WebError> {
        let state = StateDir::open(&cfg.state_dir).map_err(|source| WebError::State { dir: cfg.state_dir.clone(), source })?;
        let stored = state.password().map_err(|source| WebError::State { dir: cfg.state_dir.clone(), source })?;
        let password = match (&cfg.password_hash, stored) {
            (Some(h), _) => Some(h.clone()),
            (None, Some(s)) => Some(
                PasswordHash::parse(&s).map_err(|e| WebError::Config(format!("{}/password: {e}", cfg.state_dir.display())))?,
            ),
            (None, None) => None,
        };
        let mut checked = cfg.clone();
        checked.password_hash = password.clone();
        super::check_exposure(&checked, addr)?;
        if password.is_none() {
            eprintln!(
                "wgq web: warning: no password is set: anyone who can reach {addr} manages the clients; set one with `wgq web-admin hash-password --save'"
            );
        }
        for i in &cfg.interfaces {
            Target { interface: i.clone(), config_dir: Some(cfg.config_dir.clone()) }.locate()?;
        }
        let host = if cfg.files_only { Host::files_only(&cfg.state_dir.join("run"))? } else { Host::current()? };
        Ok(App {
            sessions: Mutex::new(Sessions::new(cfg.idle)),
            logins: Mutex::new(Throttle::new(cfg.login_per_addr, cfg.login_global, Duration::from_secs(60))),
            metrics_logins: Mutex::new(Throttle::new(cfg.login_per_addr, cfg.login_global, Duration::from_secs(60))),
            verified: Mutex::new(auth::Verified::new().map_err(|e| WebError::Config(format!("no random numbers: {e}")))?),
            links_throttle: Mutex::new(Throttle::new(30, 300, Duration::from_secs(60))),
            cache: Mutex::new(HashMap::new()),
            shown_links: Mutex::new(HashMap::new()),
            rendered: Mutex::new(HashMap::new()),
            tls: cfg.tls.is_some(),
            links_lock: Mutex::new(()),
            totp_last: Mutex::new(None),
            traffic: super::traffic::Store::new(&cfg.state_dir, cfg.traffic_slot_secs),
            sampled: Mutex::new(HashMap::new()),
            reading: Mutex::new(()),
            key_held: Mutex::new(HashMap::new()),
            state,
            host,
            password,
            cfg,
        })
    }

    /// The interface wg-easy's routes serve: `wg0` when served, else the first.
    fn main_if(&self) -> &str {
        self.cfg.interfaces.iter().find(|i| *i == "wg0").unwrap_or(&self.cfg.interfaces[0])
    }

    fn target(&self, ifname: &str) -> Target {
        Target { interface: ifname.to_string(), config_dir: Some(self.cfg.config_dir.clone()) }
    }

    /// The client's address: the last X-Forwarded-For hop not a trusted proxy, when the
    /// connection comes from one; else the connection's peer.
    fn client_addr(&self, req: &Request) -> IpAddr {
        let peer = req.peer.ip();
        let trusted = |a: IpAddr| self.cfg.trusted_proxies.iter().any(|n| in_net(a, n));
        if !trusted(peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = req
            .headers
            .iter()
            .filter(|(n, _)| n == "x-forwarded-for")
            .flat_map(|(_, v)| v.split(','))
            .filter_map(|h| h.trim().parse().ok())
            .collect();
        hops.iter().rev().copied().find(|a| !trusted(*a)).unwrap_or(peer)
    }

    fn secure(&self, req: &Request) -> bool {
        self.tls
            || (self.cfg.trusted_proxies.iter().any(|n| in_net(req.peer.ip(), n))
                && req.header("x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https")))
    }

    /// A state change from another site: refused. Browsers send Sec-Fetch-Site and Origin;
    /// scripts send neither and pass.
    fn cross_site(&self, req: &Request) -> bool {
        if let Some(s) = req.header("sec-fetch-site")
            && !matches!(s, "same-origin" | "none")
        {
            return true;
        }
        if let Some(o) = req.header("origin") {
            let host = if self.cfg.trusted_proxies.iter().any(|n| in_net(req.peer.ip(), n)) {
                req.header("x-forwarded-host").or(req.header("host"))
            } else {
                req.header("host")
            };
            let Some(rest) = o.strip_prefix("http://").or_else(|| o.strip_prefix("https://")) else { return true };
            return Some(rest) != host;
        }
        false
    }

    /// Without a password (loopback only, anyone on this host may manage), a page of another
    /// site whose name an attacker points at 127.0.0.1 (DNS rebinding) would be same-origin:
    /// such requests carry that name in Host. So without a password only a Host that is an
    /// IP address or `localhost` (a name that cannot be rebound) is served; no Host at all
    /// (HTTP/1.0 scripts) too. With a password an attacker's page has neither the cookie nor
    /// the password, and a reverse proxy may use any name.
    fn host_allowed(&self, req: &Request) -> bool {
        if self.password.is_some() {
            return true;
        }
        let Some(host) = req.header("host") else { return true };
        let name = match host.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((a, port))
                    if port.is_empty() || port.strip_prefix(':').is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit())) =>
                {
                    return a.parse::<std::net::Ipv6Addr>().is_ok();
                }
                _ => return false,
            },
            None => host.rsplit_once(':').map_or(host, |(n, p)| if p.bytes().all(|b| b.is_ascii_digit()) { n } else { host }),
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        name == "localhost" || name.ends_with(".localhost") || name.parse::<std::net::Ipv4Addr>().is_ok()
    }

    /// Checks the password (throttled: only failures count; one check at a time).
    /// With `clear`, a success takes the check back and clears the address's failures (a
    /// login with a second factor does so only once that is right too).
    fn check_password(&self, from: IpAddr, password: &str, clear: bool) -> Result<bool, u64> {
        let Some(h) = &self.password else { return Ok(true) };
        verify_throttled(&self.logins, h, from, password, clear)
    }

    /// The TOTP secret when a password is set and `web-admin totp enable` made one (read at
    /// each use: enabling or disabling needs no restart).
    fn totp_secret(&self) -> Option<Vec<u8>> {
        self.password.as_ref()?;
        self.state.totp().ok().flatten()
    }

    /// Checks a TOTP code; each code works once, across restarts too: the step it was
    /// accepted for is stored (`totp-step`) before the login succeeds, and a code is refused
    /// when that cannot be done.
    fn check_totp(&self, secret: Vec<u8>, code: &str) -> bool {
        let mut last = lock(&self.totp_last);
        let stored = match self.state.totp_step() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("wgq web: refused a TOTP code: reading its last step: {e}");
                return false;
            }
        };
        let mut t = auth::Totp::new(secret);
        t.set_last((*last).max(stored));
        if !t.check(code, now() as u64) {
            return false;
        }
        *last = t.last();
        let Some(step) = t.last() else { return false };
        if let Err(e) = self.state.set_totp_step(step) {
            eprintln!("wgq web: refused a TOTP code: storing its step: {e}");
            return false;
        }
        true
    }

    /// Who the request comes from (`Ok(None)`: nobody known).
    fn who(&self, req: &Request, from: IpAddr) -> Result<Option<Who>, Response> {
        if let Some(a) = req.header("authorization") {
            let secret = a.strip_prefix("Bearer ").unwrap_or(a).trim();
            if secret.starts_with("wgq_") {
                return match self.state.find_token(secret) {
                    Some(t) => Ok(Some(Who::Token { name: t.name, read_only: t.read_only })),
                    None => Err(error(401, "Not Logged In")),
                };
            }
            if self.password.is_some() {
                if self.totp_secret().is_some() {
                    return Err(error(401, "two-factor authentication is on: use a token (wgq web-admin token add)"));
                }
                if let Err(s) = lock(&self.logins).blocked(from) {
                    return Err(error(429, "Too many attempts").header("Retry-After", s.to_string()));
                }
                if lock(&self.verified).known("authorization", a) {
                    return Ok(Some(Who::Password));
                }
                return match self.check_password(from, a, true) {
                    Ok(true) => {
                        lock(&self.verified).add("authorization", a);
                        Ok(Some(Who::Password))
                    }
                    Ok(false) => Err(error(401, "Incorrect Password")),
                    Err(s) => Err(error(429, "Too many attempts").header("Retry-After", s.to_string())),
                };
            }
        }
        if let Some(id) = cookie(req)
            && lock(&self.sessions).touch(id)
        {
            return Ok(Some(Who::Session(id.to_string())));
        }
        if self.password.is_none() {
            return Ok(Some(Who::Open));
        }
        Ok(None)
    }

    /// The interface's peers, read at most once a second. One read at a time: a caller
    /// that finds a read going on waits for it and shares it (the traffic sampler and the
    /// pages never read at once), and the expired read and answers are dropped before the
    /// new read, so at most one of each is held.
    fn listed(&self, ifname: &str) -> Result<Arc<Listed>, ProvisionError> {
        let fresh =
            || lock(&self.cache).get(ifname).filter(|(t, _)| t.elapsed() < Duration::from_secs(1)).map(|(_, l)| Arc::clone(l));
        if let Some(l) = fresh() {
            return Ok(l);
        }
        let _one = lock(&self.reading);
        if let Some(l) = fresh() {
            return Ok(l);
        }
        lock(&self.cache).remove(ifname);
        lock(&self.rendered).retain(|(i, _, _), (t, _)| i != ifname || t.elapsed() < Duration::from_secs(1));
        let l = provision::list(&self.target(ifname), false)?.into_iter().next().unwrap_or(Listed {
            ifname: ifname.to_string(),
            running: false,
            rows: vec![],
        });
        let l = Arc::new(l);
        lock(&self.cache).insert(ifname.to_string(), (Instant::now(), Arc::clone(&l)));
        Ok(l)
    }

    fn invalidate(&self, ifname: &str) {
        lock(&self.cache).remove(ifname);
        lock(&self.rendered).retain(|(i, _, _), _| i != ifname);
    }

    /// Samples every served interface's clients into their history files, once per slot,
    /// from the shared read (`listed`); the files of clients no longer in the server file go.
    pub fn sample_traffic(&self, now: i64) {
        let slot = (now.max(0) as u64) / u64::from(self.traffic.slot_secs);
        for ifname in &self.cfg.interfaces {
            // Once per slot; a slot before the last one (the clock set back) is sampled too.
            if lock(&self.sampled).get(ifname).is_some_and(|s| *s == slot) {
                continue;
            }
            // Only keys and counters are kept through the pass (not the shared read, which a
            // request may meanwhile replace).
            let Ok(l) = self.listed(ifname) else { continue };
            let mut peers: Vec<([u8; 32], super::traffic::Counters)> = l
                .rows
                .iter()
                .filter_map(|r| r.entry.public_key.map(|k| (k.0, r.live.as_ref().map(|p| (p.rx_bytes, p.tx_bytes)))))
                .collect();
            drop(l);
            let mut failed = false;
            for (key, live) in &peers {
                if let Err(e) = self.traffic.sample(ifname, &auth::b64url(key), slot, *live)
                    && !failed
                {
                    eprintln!("wgq web: warning: traffic history of {ifname}: {e}");
                    failed = true;
                }
            }
            // Deleted clients (here or from the command line) and rotated keys.
            peers.sort_unstable_by_key(|p| p.0);
            let keys: Vec<[u8; 32]> = peers.into_iter().map(|(k, _)| k).collect();
            self.traffic.prune(ifname, |id| parse_id(id).is_some_and(|k| keys.binary_search(&k.0).is_ok()));
            lock(&self.sampled).insert(ifname.clone(), slot);
        }
    }

    /// The sampler's thread: a pass at the start and just after each slot begins (waking at
    /// least once a minute, so a clock change is seen).
    pub fn sample_forever(&self) -> ! {
        loop {
            let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
            self.sample_traffic((ms / 1000) as i64);
            let slot_ms = u128::from(self.traffic.slot_secs) * 1000;
            let next = (ms / slot_ms + 1) * slot_ms + 100;
            std::thread::sleep(Duration::from_millis((next - ms).min(60_000) as u64));
        }
    }

    /// A client's traffic history (GET …/traffic).
    fn traffic(&self, ifname: &str, row: &ListRow, key: &Key) -> Response {
        let id = client_id(key);
        let h = self.traffic.read(ifname, &id);
        let t = now();
        let slot = (t.max(0) as u64) / u64::from(self.traffic.slot_secs);
        // The slot in progress: what the device counted since the last sample, once this
        // slot was sampled (before that the counters also hold the slot that just ended).
        let sampled = lock(&self.sampled).get(ifname).is_some_and(|s| *s == slot);
        let current = match (&h, row.live.as_ref()) {
            (Some(h), Some(p)) if sampled && h.last_slot <= slot && h.last_slot > 0 => Some(h.since(p.rx_bytes, p.tx_bytes)),
            (Some(h), None) if sampled && h.last_slot > 0 => Some((0, 0)),
            _ => None,
        };
        let mut v = self.traffic.view(h.as_ref(), t, current);
        v["interface"] = json!(ifname);
        v["id"] = json!(id);
        json_resp(200, &v)
    }

    /// The client of `id` on `ifname`.
    fn row(&self, ifname: &str, id: &str) -> Result<(ListRow, Key), Response> {
        let key = parse_id(id).ok_or_else(|| error(404, "no such client"))?;
        let l = self.listed(ifname).map_err(|e| perr(&e))?;
        let row = l.rows.iter().find(|r| r.entry.public_key == Some(key)).cloned().ok_or_else(|| error(404, "no such client"))?;
        Ok((row, key))
    }

    /// Whether the client file at `path` holds a private key (None: no such file), read only
    /// when new or changed (inode, size, modification time). `held`: the answers so far.
    fn file_kind(held: &HashMap<std::path::PathBuf, (FileId, bool)>, path: &std::path::Path) -> Option<(FileId, ClientFile)> {
        use std::os::unix::fs::MetadataExt as _;
        let m = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
        let id = (m.ino(), m.len(), i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()));
        let h = match held.get(path).filter(|(i, _)| *i == id) {
            Some((_, h)) => *h,
            None => {
                use std::io::Read as _;
                let mut text = Vec::new();
                let read = std::fs::File::open(path).and_then(|f| f.take(64 * 1024).read_to_end(&mut text));
                let h = read.is_ok() && crate::config::peers::client_holds_key(&text);
                crate::key::wipe(&mut text);
                h
            }
        };
        Some((id, if h { ClientFile::Full } else { ClientFile::OwnKey }))
    }

    /// The client files kept for `ifname`, by name, and whether each holds a private key.
    fn client_files(&self, ifname: &str) -> HashMap<String, ClientFile> {
        let dir = self.cfg.config_dir.join("clients").join(ifname);
        let Ok(rd) = std::fs::read_dir(&dir) else { return HashMap::new() };
        let mut held = lock(&self.key_held);
        let mut out = HashMap::new();
        let mut seen = HashMap::new();
        for e in rd.flatten() {
            let Some(name) = e.file_name().to_str().and_then(|n| n.strip_suffix(".conf")).map(str::to_string) else { continue };
            let path = e.path();
            if let Some((id, kind)) = Self::file_kind(&held, &path) {
                seen.insert(path, (id, kind == ClientFile::Full));
                out.insert(name, kind);
            }
        }
        // Only this directory's files as they are now (a removed file is forgotten).
        held.retain(|p, _| !p.starts_with(&dir));
        held.extend(seen);
        out
    }

    /// Why a client's file is not offered (QR code, download, one-time link), if it is not.
    fn offer(&self, ifname: &str, name: Option<&str>) -> Result<(), Response> {
        let path =
            name.filter(|n| file_safe(n)).map(|n| self.cfg.config_dir.join("clients").join(ifname).join(format!("{n}.conf")));
        let kind = path.and_then(|p| Self::file_kind(&lock(&self.key_held), &p)).map(|(_, k)| k);
        match kind {
            Some(ClientFile::Full) => Ok(()),
            Some(ClientFile::OwnKey) => Err(error(
                409,
                "this client holds its own private key (it made its key pair itself): the server keeps no configuration to offer",
            )),
            None => Err(error(404, "no client file is kept for this client (it was shown once when the client was added)")),
        }
    }

    /// wg-easy 14's client object (with /api/v1's fields when `v1`), written into `out`.
    fn push_client(
        &self,
        out: &mut String,
        ifname: &str,
        r: &ListRow,
        files: &HashMap<String, ClientFile>,
        links: &HashMap<Key, (String, i64)>,
        v1: bool,
    ) -> bool {
        use std::fmt::Write as _;
        let e = &r.entry;
        let Some(key) = e.public_key else { return false };
        let t = now();
        let v4 = e.allowed_ips.iter().find(|n| n.addr.is_ipv4() && n.prefix == 32).map(|n| n.addr);
        let name = e.display_name.as_deref().or(e.name.as_deref()).unwrap_or("");
        let created = e.created.as_deref().and_then(canonical_time);
        let link = links.get(&key).filter(|(_, exp)| *exp > t);
        let live = r.live.as_ref();
        let opt = |out: &mut String, v: Option<&str>| match v {
            Some(v) => push_json_str(out, v),
            None => out.push_str("null"),
        };
        out.push_str("{\"id\":");
        push_json_str(out, &client_id(&key));
        out.push_str(",\"name\":");
        push_json_str(out, name);
        let _ = write!(out, ",\"enabled\":{},\"address\":", !e.disabled);
        match v4 {
            Some(a) => {
                let _ = write!(out, "\"{a}\"");
            }
            None => out.push_str("null"),
        }
        out.push_str(",\"publicKey\":");
        push_json_str(out, &key.to_base64());
        out.push_str(",\"createdAt\":");
        opt(out, created.as_deref());
        out.push_str(",\"updatedAt\":");
        opt(out, created.as_deref());
        out.push_str(",\"expiredAt\":");
        opt(out, e.expires.as_deref().and_then(canonical_time).as_deref());
        out.push_str(",\"allowedIPs\":");
        push_json_str(out, &e.allowed_text);
        out.push_str(",\"oneTimeLink\":");
        opt(out, link.map(|l| l.0.as_str()));
        out.push_str(",\"oneTimeLinkExpiresAt\":");
        opt(out, link.map(|l| iso(l.1)).as_deref());
        let file = e.name.as_ref().and_then(|n| files.get(n));
        let _ = write!(out, ",\"downloadableConfig\":{}", file == Some(&ClientFile::Full));
        out.push_str(",\"persistentKeepalive\":");
        match live {
            Some(p) if p.persistent_keepalive == 0 => out.push_str("\"off\""),
            Some(p) => {
                let _ = write!(out, "\"{}\"", p.persistent_keepalive);
            }
            None => out.push_str("null"),
        }
        out.push_str(",\"latestHandshakeAt\":");
        opt(out, live.and_then(|p| p.last_handshake).map(|d| iso(d.as_secs() as i64)).as_deref());
        match live {
            Some(p) => {
                let _ = write!(out, ",\"transferRx\":{},\"transferTx\":{}", p.rx_bytes, p.tx_bytes);
            }
            None => out.push_str(",\"transferRx\":null,\"transferTx\":null"),
        }
        out.push_str(",\"endpoint\":");
        opt(out, live.and_then(|p| p.endpoint).map(|a| a.to_string()).as_deref());
        if v1 {
            out.push_str(",\"interface\":");
            push_json_str(out, ifname);
            out.push_str(",\"fileName\":");
            opt(out, e.name.as_deref());
            out.push_str(",\"addresses\":[");
            for (i, n) in e.allowed_ips.iter().filter(|n| n.prefix == n.max_prefix()).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "\"{}\"", n.addr);
            }
            out.push_str("],\"note\":");
            opt(out, e.note.as_deref());
        }
        out.push('}');
        true
    }

    /// The one-time links shown for `ifname`'s clients.
    fn links_of(&self, ifname: &str) -> HashMap<Key, (String, i64)> {
        lock(&self.shown_links).iter().filter(|((i, _), _)| i == ifname).map(|((_, k), v)| (*k, v.clone())).collect()
    }

    /// The client list; `secrets`: with the live one-time links (which open a client file
    /// without a login: not for read-only tokens).
    fn clients(&self, ifname: &str, v1: bool, secrets: bool) -> Response {
        let l = match self.listed(ifname) {
            Ok(l) => l,
            Err(e) => return perr(&e),
        };
        let key = (ifname.to_string(), v1, secrets);
        if let Some((t, body)) = lock(&self.rendered).get(&key)
            && t.elapsed() < Duration::from_secs(1)
        {
            return Response::shared(200, "application/json; charset=utf-8", Arc::clone(body));
        }
        // One client at a time into the text: memory is the answer's size, not a tree of values.
        let files = self.client_files(ifname);
        let mut out = String::with_capacity(l.rows.len() * 520 + 2);
        out.push('[');
        let links = if secrets { self.links_of(ifname) } else { HashMap::new() };
        for r in &l.rows {
            let mark = out.len();
            if out.len() > 1 {
                out.push(',');
            }
            if !self.push_client(&mut out, ifname, r, &files, &links, v1) {
                out.truncate(mark);
            }
        }
        out.push(']');
        let body = Arc::new(out.into_bytes());
        lock(&self.rendered).insert(key, (Instant::now(), Arc::clone(&body)));
        Response::shared(200, "application/json; charset=utf-8", body)
    }

    /// Runs an edit of `ifname`, with its audit line.
    fn edit(
        &self,
        Caller { who, from, dry }: Caller<'_>,
        ifname: &str,
        what: &str,
        client: &str,
        f: impl FnOnce(&Host, provision::Server, &EditOpts) -> Result<Edited, ProvisionError>,
    ) -> Result<Edited, Response> {
        let server = self.target(ifname).locate().map_err(|e| perr(&e))?;
        let opts = EditOpts { dry_run: dry, ..Default::default() };
        let r = f(&self.host, server, &opts);
        if dry {
            // A preview: nothing changed, nothing to log.
            return r.map_err(|e| perr(&e));
        }
        self.invalidate(ifname);
        match r {
            Ok(e) => {
                audit(&who.label(from), what, ifname, client);
                Ok(e)
            }
            Err(e) => {
                audit(&who.label(from), &format!("{what} (refused: {})", crate::key::hide_keys(&e.to_string())), ifname, client);
                Err(perr(&e))
            }
        }
    }

    /// A file-safe name for a display name: itself, or its ASCII letters and digits, or client-N.
    fn derive_name(&self, ifname: &str, display: &str) -> Result<String, Response> {
        let l = self.listed(ifname).map_err(|e| perr(&e))?;
        let taken: HashSet<&str> = l.rows.iter().filter_map(|r| r.entry.name.as_deref()).collect();
        if file_safe(display) {
            // Taken: refused as taken (a page's new client never gets another's name).
            return Ok(display.to_string());
        }
        provision::restore::file_name_for(display, ifname, |n| !taken.contains(n), &mut 1)
            .ok_or_else(|| error(409, "no free name"))
    }

    fn create(&self, who: &Who, dry: bool, from: IpAddr, ifname: &str, body: &Value) -> Response {
        let Some(display) = body.get("name").and_then(Value::as_str) else { return error(400, "Missing: name") };
        if !valid_display_name(display) {
            return error(400, "name: 1-64 characters, no control characters");
        }
        let expires = match expiry_of(body.get("expiredDate")) {
            Ok(e) => e,
            Err(r) => return r,
        };
        let pubkey = body.get("publicKey").and_then(Value::as_str);
        let name = match self.derive_name(ifname, display) {
            Ok(n) => n,
            Err(r) => return r,
        };
        let display_line = (display != name).then_some(display);
        let req = provision::AddRequest {
            name: &name,
            expires: expires.as_deref(),
            pubkey,
            display_name: display_line,
            ..Default::default()
        };
        match self.edit(Caller { who, from, dry }, ifname, "create", display, |h, s, o| {
            provision::add(h, s, o, &req, None).map(|a| a.edited)
        }) {
            Ok(Edited::DryRun(text)) => dry_response(&text),
            Ok(_) => {
                let id = self
                    .listed(ifname)
                    .ok()
                    .and_then(|l| l.rows.iter().find(|r| r.entry.name.as_deref() == Some(&name)).and_then(|r| r.entry.public_key))
                    .map(|k| client_id(&k));
                json_resp(200, &json!({ "success": true, "id": id }))
            }
            Err(r) => r,
        }
    }

    fn client_route(&self, req: &Request, who: &Who, from: IpAddr, ifname: &str, id: &str, action: &str) -> Response {
        let (row, key) = match self.row(ifname, id) {
            Ok(r) => r,
            Err(r) => return r,
        };
        let sel = vec![key.to_base64()];
        let shown = row.entry.display_name.clone().or_else(|| row.entry.name.clone()).unwrap_or_else(|| key.to_base64());
        let write = req.method != "GET" && req.method != "HEAD";
        if write && !who.can_write() {
            return error(403, "read-only token");
        }
        let dry = dry_run(req);
        let done = |r: Result<Edited, Response>| match r {
            Ok(Edited::DryRun(text)) => dry_response(&text),
            Ok(_) => success(),
            Err(e) => e,
        };
        match (req.method.as_str(), action) {
            ("GET", "") => {
                let files = self.client_files(ifname);
                let mut out = String::new();
                let links = if who.can_write() { self.links_of(ifname) } else { HashMap::new() };
                if self.push_client(&mut out, ifname, &row, &files, &links, true) {
                    Response::new(200, "application/json; charset=utf-8", out)
                } else {
                    error(404, "no such client")
                }
            }
            ("GET", "traffic") => self.traffic(ifname, &row, &key),
            ("DELETE", "") => {
                let r =
                    self.edit(Caller { who, from, dry }, ifname, "delete", &shown, |h, s, o| provision::remove(h, s, o, &sel));
                if matches!(r, Ok(ref e) if !matches!(e, Edited::DryRun(_))) {
                    self.traffic.remove(ifname, &client_id(&key));
                }
                done(r)
            }
            ("POST", "enable") => {
                done(self.edit(Caller { who, from, dry }, ifname, "enable", &shown, |h, s, o| provision::enable(h, s, o, &sel)))
            }
            ("POST", "disable") => {
                done(self.edit(Caller { who, from, dry }, ifname, "disable", &shown, |h, s, o| provision::disable(h, s, o, &sel)))
            }
            ("PUT", "name") => {
                let body = match body_json(req) {
                    Ok(b) => b,
                    Err(r) => return r,
                };
                let Some(new) = body.get("name").and_then(Value::as_str) else { return error(400, "Missing: name") };
                if !valid_display_name(new) {
                    return error(400, "name: 1-64 characters, no control characters");
                }
                let old = row.entry.name.clone().unwrap_or_else(|| key.to_base64());
                let what = format!("rename to {}", crate::config::values::clean(new));
                if file_safe(new) {
                    if row.entry.name.as_deref() == Some(new) {
                        // Only the display line goes.
                        let req = provision::SetRequest { name: &sel[0], display_name: Some(""), ..Default::default() };
                        return done(
                            self.edit(Caller { who, from, dry }, ifname, &what, &shown, |h, s, o| provision::set(h, s, o, &req)),
                        );
                    }
                    let r = self.edit(Caller { who, from, dry }, ifname, &what, &shown, |h, s, o| {
                        let renamed = provision::rename(h, s.clone(), o, &old, new)?;
                        let req = provision::SetRequest { name: &sel[0], display_name: Some(""), ..Default::default() };
                        match (renamed, provision::set(h, s, o, &req)?) {
                            (Edited::DryRun(a), Edited::DryRun(b)) => Ok(Edited::DryRun(a + &b)),
                            // No display line to drop: the rename's preview alone.
                            (Edited::DryRun(a), _) => Ok(Edited::DryRun(a)),
                            (_, r) => Ok(r),
                        }
                    });
                    return done(r);
                }
                let req = provision::SetRequest { name: &sel[0], display_name: Some(new), ..Default::default() };
                done(self.edit(Caller { who, from, dry }, ifname, &what, &shown, |h, s, o| provision::set(h, s, o, &req)))
            }
            ("PUT", "address") => {
                let body = match body_json(req) {
                    Ok(b) => b,
                    Err(r) => return r,
                };
                let Some(a) = body.get("address").and_then(Value::as_str) else { return error(400, "Missing: address") };
                let Some(v4) = crate::net::parse_addr_strict(a).filter(IpAddr::is_ipv4) else {
                    return error(400, "address: not an IPv4 address");
                };
                // The other family's address stays.
                let mut ips = vec![v4.to_string()];
                ips.extend(
                    row.entry
                        .allowed_ips
                        .iter()
                        .filter(|n| n.addr.is_ipv6() && n.prefix == 128)
                        .take(1)
                        .map(|n| n.addr.to_string()),
                );
                let ips = ips.join(",");
                let req = provision::SetRequest { name: &sel[0], ip: Some(&ips), ..Default::default() };
                done(self.edit(Caller { who, from, dry }, ifname, &format!("address {v4}"), &shown, |h, s, o| {
                    provision::set(h, s, o, &req)
                }))
            }
            ("PUT", "expireDate") => {
                let body = match body_json(req) {
                    Ok(b) => b,
                    Err(r) => return r,
                };
                let e = match expiry_of(body.get("expireDate")) {
                    Ok(e) => e.unwrap_or_else(|| "never".into()),
                    Err(r) => return r,
                };
                let req = provision::SetRequest { name: &sel[0], expires: Some(&e), ..Default::default() };
                done(self.edit(Caller { who, from, dry }, ifname, &format!("expires {e}"), &shown, |h, s, o| {
                    provision::set(h, s, o, &req)
                }))
            }
            ("POST", "generateOneTimeLink") => {
                if !self.cfg.one_time_links {
                    return error(404, "one-time links are off (WG_ENABLE_ONE_TIME_LINKS)");
                }
                if let Err(r) = self.offer(ifname, row.entry.name.as_deref()) {
                    return r;
                }
                let exp = now() + LINK_LIFE;
                let made = {
                    let _one = lock(&self.links_lock);
                    self.state.add_link(ifname, &key.to_base64(), exp, now())
                };
                match made {
                    Ok(secret) => {
                        audit(&who.label(from), "generateOneTimeLink", ifname, &shown);
                        lock(&self.shown_links).insert((ifname.to_string(), key), (secret.clone(), exp));
                        self.invalidate(ifname);
                        json_resp(200, &json!({ "success": true, "oneTimeLink": secret, "oneTimeLinkExpiresAt": iso(exp) }))
                    }
                    Err(e) => error(500, &e.to_string()),
                }
            }
            ("GET", "qrcode.svg") | ("GET", "configuration") if !who.can_write() => {
                // A client file holds the client's private key: not for a read-only token.
                error(403, "read-only token: client files hold private keys")
            }
            ("GET", "qrcode.svg") | ("GET", "configuration") => {
                if let Err(r) = self.offer(ifname, row.entry.name.as_deref()) {
                    return r;
                }
                let Some(name) = row.entry.name.clone() else { return error(404, "no client file") };
                let server = match self.target(ifname).locate() {
                    Ok(s) => s,
                    Err(e) => return perr(&e),
                };
                let text = match provision::show(server, &name) {
                    Ok(t) => t,
                    Err(e) => return perr(&e),
                };
                audit(&who.label(from), &format!("read {action}"), ifname, &shown);
                if action == "configuration" {
                    conf_attachment(&name, text)
                } else {
                    match qrcode::QrCode::new(&text) {
                        Ok(c) => Response::new(
                            200,
                            "image/svg+xml",
                            c.render::<qrcode::render::svg::Color<'_>>().min_dimensions(256, 256).build(),
                        ),
                        Err(_) => error(400, "the client file is too large for a QR code"),
                    }
                }
            }
            _ => error(404, "Not Found"),
        }
    }

    fn metrics(&self, req: &Request, json_form: bool) -> Response {
        if !self.cfg.metrics {
            return error(404, "Not Found");
        }
        if let Some(h) = &self.cfg.metrics_password {
            use base64::Engine as _;
            let given = req
                .header("authorization")
                .and_then(|a| a.strip_prefix("Basic "))
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
                .and_then(|b| String::from_utf8(b).ok())
                .map(|s| s.split_once(':').map(|(_, p)| p.to_string()).unwrap_or(s));
            let from = self.client_addr(req);
            if let Err(s) = lock(&self.metrics_logins).blocked(from) {
                return error(429, "Too many attempts").header("Retry-After", s.to_string());
            }
            let ok = match given {
                Some(p) if lock(&self.verified).known("metrics", &p) => true,
                Some(p) => match verify_throttled(&self.metrics_logins, h, from, &p, true) {
                    Ok(ok) => {
                        if ok {
                            lock(&self.verified).add("metrics", &p);
                        }
                        ok
                    }
                    Err(s) => return error(429, "Too many attempts").header("Retry-After", s.to_string()),
                },
                None => false,
            };
            if !ok {
                return error(401, "Unauthorized").header("WWW-Authenticate", "Basic realm=\"metrics\"");
            }
        }
        let ifname = self.main_if().to_string();
        let l = match self.listed(&ifname) {
            Ok(l) => l,
            Err(e) => return perr(&e),
        };
        let t = now();
        let configured = l.rows.len();
        let enabled = l.rows.iter().filter(|r| !r.entry.disabled).count();
        let connected = l
            .rows
            .iter()
            .filter(|r| r.live.as_ref().and_then(|p| p.last_handshake).is_some_and(|h| t - (h.as_secs() as i64) < 180))
            .count();
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
        if json_form {
            return json_resp(
                200,
                &json!({
                    "wireguard_configured_peers": configured,
                    "wireguard_enabled_peers": enabled,
                    "wireguard_connected_peers": connected,
                }),
            );
        }
        let mut s = String::new();
        for (n, v) in [
            ("wireguard_configured_peers", configured),
            ("wireguard_enabled_peers", enabled),
            ("wireguard_connected_peers", connected),
        ] {
            s.push_str(&format!("# HELP {n}\n# TYPE {n} gauge\n{n}{{interface=\"{ifname}\"}} {v}\n"));
        }
        for (metric, kind) in
            [("wireguard_sent_bytes", 0), ("wireguard_received_bytes", 1), ("wireguard_latest_handshake_seconds", 2)]
        {
            s.push_str(&format!("# HELP {metric}\n# TYPE {metric} {}\n", if kind == 2 { "gauge" } else { "counter" }));
            for r in &l.rows {
                let e = &r.entry;
                let addr = e
                    .allowed_ips
                    .iter()
                    .find(|n| n.addr.is_ipv4() && n.prefix == 32)
                    .map(|n| n.addr.to_string())
                    .unwrap_or_default();
                let name = e.display_name.clone().or_else(|| e.name.clone()).unwrap_or_default();
                let live = r.live.as_ref();
                let v = match kind {
                    0 => live.map_or(0, |p| p.tx_bytes as i64),
                    1 => live.map_or(0, |p| p.rx_bytes as i64),
                    _ => live.and_then(|p| p.last_handshake).map_or(0, |h| t - h.as_secs() as i64),
                };
                s.push_str(&format!(
                    "{metric}{{interface=\"{ifname}\",enabled=\"{}\",address=\"{addr}\",name=\"{}\"}} {v}\n",
                    !e.disabled,
                    esc(&name)
                ));
            }
        }
        Response::new(200, "text/plain; version=0.0.4; charset=utf-8", s)
    }

    /// Every served interface's peers with prometheus_wireguard_exporter's names: counters
    /// with `_total`, the handshake as a UNIX timestamp, the display name as `friendly_name`.
    fn exporter_metrics(&self) -> Response {
        use std::fmt::Write as _;
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
        let mut s = String::new();
        let mut rows = Vec::new();
        for i in &self.cfg.interfaces {
            match self.listed(i) {
                Ok(l) => rows.push((i.clone(), l)),
                Err(e) => return perr(&e),
            }
        }
        for (metric, help, kind) in [
            ("wireguard_sent_bytes_total", "Bytes sent to the peer", 0),
            ("wireguard_received_bytes_total", "Bytes received from the peer", 1),
            ("wireguard_latest_handshake_seconds", "UNIX timestamp of the latest handshake (0: never)", 2),
        ] {
            let _ = writeln!(s, "# HELP {metric} {help}\n# TYPE {metric} {}", if kind == 2 { "gauge" } else { "counter" });
            for (ifname, l) in &rows {
                for r in &l.rows {
                    let (Some(key), Some(live)) = (r.entry.public_key, r.live.as_ref()) else { continue };
                    let name = r.entry.display_name.as_deref().or(r.entry.name.as_deref()).unwrap_or("");
                    let v = match kind {
                        0 => live.tx_bytes,
                        1 => live.rx_bytes,
                        _ => live.last_handshake.map_or(0, |d| d.as_secs()),
                    };
                    let _ = writeln!(
                        s,
                        "{metric}{{interface=\"{ifname}\",public_key=\"{}\",allowed_ips=\"{}\",friendly_name=\"{}\"}} {v}",
                        key.to_base64(),
                        esc(&r.entry.allowed_text),
                        esc(name)
                    );
                }
            }
        }
        Response::new(200, "text/plain; version=0.0.4; charset=utf-8", s)
    }

    fn route(&self, req: &Request) -> Response {
        let Some(path) = req.path.strip_prefix(&self.cfg.base_path).filter(|p| p.is_empty() || p.starts_with('/')) else {
            return error(404, "Not Found");
        };
        let path = if path.is_empty() { "/" } else { path };
        let from = self.client_addr(req);
        let m = req.method.as_str();
        let is_get = matches!(m, "GET" | "HEAD");
        if !self.host_allowed(req) {
            return error(403, "unknown Host: without a password only localhost or an IP address is served (DNS rebinding)");
        }
        if !is_get && self.cross_site(req) {
            return error(403, "cross-site request refused");
        }
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let json_bool = |b: bool| json_resp(200, &json!(b));
        // Open routes.
        match (m, segs.as_slice()) {
            ("GET" | "HEAD", ["api", "release"]) => return json_resp(200, &json!(14)),
            ("GET" | "HEAD", ["api", "lang"]) => {
                let lang = self.cfg.lang.as_ref().map(|(c, code)| (c.as_str(), *code));
                return json_resp(200, &json!(super::assets::language(lang, req.header("accept-language"))));
            }
            ("GET" | "HEAD", ["api", "remember-me"]) => return json_bool(self.cfg.max_age_minutes > 0),
            ("GET" | "HEAD", ["api", "ui-traffic-stats"]) => return json_bool(self.cfg.ui_traffic_stats),
            ("GET" | "HEAD", ["api", "ui-chart-type"]) => return json_resp(200, &json!(self.cfg.ui_chart_type)),
            ("GET" | "HEAD", ["api", "wg-enable-one-time-links"]) => return json_bool(self.cfg.one_time_links),
            ("GET" | "HEAD", ["api", "ui-sort-clients"]) => return json_bool(self.cfg.ui_sort_clients),
            ("GET" | "HEAD", ["api", "wg-enable-expire-time"]) => return json_bool(self.cfg.expire_time),
            ("GET" | "HEAD", ["metrics"]) => return self.metrics(req, false),
            ("GET" | "HEAD", ["metrics", "json"]) => return self.metrics(req, true),
            ("GET" | "HEAD", ["api", "session"]) => {
                let authenticated = cookie(req).is_some_and(|id| lock(&self.sessions).touch(id)) || self.password.is_none();
                let mut v = json!({ "requiresPassword": self.password.is_some(), "authenticated": authenticated });
                if self.totp_secret().is_some() {
                    v["requiresTotp"] = json!(true);
                }
                return json_resp(200, &v);
            }
            ("POST", ["api", "session"]) => return self.login(req, from),
            ("GET" | "HEAD", ["cnf", link]) => return self.one_time_link(link, from),
            _ => {}
        }
        if segs.first() != Some(&"api") && segs.first() != Some(&"cnf") && segs.first() != Some(&"metrics") {
            if !is_get {
                return error(405, "Method Not Allowed");
            }
            return asset(path);
        }
        let who = match self.who(req, from) {
            Ok(Some(w)) => w,
            Ok(None) => return error(401, "Not Logged In"),
            Err(r) => return r,
        };
        if !is_get && !who.can_write() {
            return error(403, "read-only token");
        }
        match (m, segs.as_slice()) {
            ("DELETE", ["api", "session"]) => {
                if let Some(id) = cookie(req) {
                    lock(&self.sessions).remove(id);
                }
                json_resp(200, &json!({ "success": true }))
                    .header("Set-Cookie", format!("{COOKIE}=; Path={}; HttpOnly; SameSite=Strict; Max-Age=0", self.cookie_path()))
            }
            ("GET" | "HEAD", ["api", "wireguard", "client"]) => self.clients(self.main_if(), false, who.can_write()),
            ("GET" | "HEAD", ["api", "wireguard", "backup"]) => self.backup(&who, from, self.main_if()),
            ("PUT", ["api", "wireguard", "restore"]) => self.restore(req, &who, from, self.main_if()),
            ("POST", ["api", "wireguard", "client"]) => match body_json(req) {
                Ok(b) => self.create(&who, dry_run(req), from, self.main_if(), &b),
                Err(r) => r,
            },
            (_, ["api", "wireguard", "client", id]) if m != "GET" => self.client_route(req, &who, from, self.main_if(), id, ""),
            (_, ["api", "wireguard", "client", id, action]) => self.client_route(req, &who, from, self.main_if(), id, action),
            ("GET" | "HEAD", ["api", "v1", "interfaces"]) => json_resp(200, &json!(self.cfg.interfaces)),
            ("GET" | "HEAD", ["api", "v1", "metrics"]) => self.exporter_metrics(),
            (_, ["api", "v1", "interfaces", ifname, rest @ ..]) => {
                let Some(ifname) = decode_segment(ifname).filter(|i| self.cfg.interfaces.contains(i)) else {
                    return error(404, "no such interface");
                };
                match (m, rest) {
                    ("GET" | "HEAD", ["clients"]) => self.clients(&ifname, true, who.can_write()),
                    ("POST", ["clients"]) => match body_json(req) {
                        Ok(b) => self.create(&who, dry_run(req), from, &ifname, &b),
                        Err(r) => r,
                    },
                    ("GET" | "HEAD", ["backup"]) => self.backup(&who, from, &ifname),
                    ("PUT", ["restore"]) => self.restore(req, &who, from, &ifname),
                    (_, ["clients", id]) => self.client_route(req, &who, from, &ifname, id, ""),
                    (_, ["clients", id, action]) => self.client_route(req, &who, from, &ifname, id, action),
                    _ => error(404, "Not Found"),
                }
            }
            _ => error(404, "Not Found"),
        }
    }

    /// wg-easy 14's database of `ifname` as an attachment (`wg0.json`); it holds private keys:
    /// not for read-only tokens.
    fn backup(&self, who: &Who, from: IpAddr, ifname: &str) -> Response {
        if !who.can_write() {
            return error(403, "read-only token: a backup holds private keys");
        }
        let b = match self.target(ifname).locate().and_then(provision::backup) {
            Ok(b) => b,
            Err(e) => return perr(&e),
        };
        audit(&who.label(from), &format!("backup ({} clients)", b.db.clients.len()), ifname, "-");
        let file = format!("{}.json", if ifname == self.main_if() { "wg0" } else { ifname });
        Response::new(200, "application/json; charset=utf-8", backup_json(&b))
            .header("Content-Disposition", format!("attachment; filename=\"{file}\""))
    }

    /// wg-easy 14's restore: `{"file": "<a backup as text>"}` becomes the file of `ifname`
    /// (see `provision::restore`).
    fn restore(&self, req: &Request, who: &Who, from: IpAddr, ifname: &str) -> Response {
        let body = match body_json(req) {
            Ok(b) => b,
            Err(r) => return r,
        };
        let Some(file) = body.get("file").and_then(Value::as_str) else { return error(400, "Missing: file (a backup as text)") };
        let backup = match provision::restore::parse_backup(file.as_bytes()) {
            Ok(b) => b,
            Err(e) => {
                let e = crate::key::hide_keys(&e);
                if !dry_run(req) {
                    audit(&who.label(from), &format!("restore (refused: {e})"), ifname, "-");
                }
                return error(400, &format!("the backup is refused (nothing was changed): {e}"));
            }
        };
        let keep_as = format!("before-restore-{}", stamp(now()));
        let what = format!("restore ({} clients)", backup.db.clients.len());
        let r = provision::RestoreRequest { backup: &backup, keep_as: &keep_as };
        let dry = dry_run(req);
        match self.edit(Caller { who, from, dry }, ifname, &what, "-", |h, s, o| provision::restore(h, s, o, &r)) {
            Ok(Edited::DryRun(text)) => dry_response(&text),
            Ok(Edited::Unchanged(_)) => json_resp(200, &json!({ "success": true, "changed": false })),
            Ok(Edited::Done { notes, .. }) => {
                let kept = notes.iter().find_map(|n| match n {
                    provision::Note::Kept(p) => Some(p.display().to_string()),
                    _ => None,
                });
                json_resp(200, &json!({ "success": true, "changed": true, "kept": kept }))
            }
            Err(r) => r,
        }
    }

    fn cookie_path(&self) -> String {
        if self.cfg.base_path.is_empty() { "/".into() } else { self.cfg.base_path.clone() }
    }

    fn login(&self, req: &Request, from: IpAddr) -> Response {
        let body = match body_json(req) {
            Ok(b) => b,
            Err(r) => return r,
        };
        let password = body.get("password").and_then(Value::as_str).unwrap_or("");
        if password.len() > 1024 {
            return error(400, "password too long");
        }
        let totp = self.totp_secret();
        match self.check_password(from, password, totp.is_none()) {
            Err(s) => {
                eprintln!("wgq web: login from {from} throttled");
                return error(429, "Too many attempts").header("Retry-After", s.to_string());
            }
            Ok(false) => {
                eprintln!("wgq web: login from {from} refused: wrong password");
                return error(401, "Incorrect Password");
            }
            Ok(true) => {}
        }
        if let Some(secret) = totp {
            let code = body.get("totp").and_then(Value::as_str).unwrap_or("");
            if !self.check_totp(secret, code) {
                eprintln!("wgq web: login from {from} refused: wrong TOTP code");
                return error(401, "Incorrect TOTP code");
            }
            lock(&self.logins).success(from);
        }
        let remember = body.get("remember").and_then(Value::as_bool).unwrap_or(false) && self.cfg.max_age_minutes > 0;
        let max_age = remember.then(|| Duration::from_secs(self.cfg.max_age_minutes * 60));
        // A new id at every login; an earlier one of this browser ends.
        let mut sessions = lock(&self.sessions);
        if let Some(old) = cookie(req) {
            sessions.remove(old);
        }
        let id = match sessions.create(max_age) {
            Ok(id) => id,
            Err(e) => return error(500, &e.to_string()),
        };
        drop(sessions);
        eprintln!("wgq web: login from {from}");
        let mut c = format!("{COOKIE}={id}; Path={}; HttpOnly; SameSite=Strict", self.cookie_path());
        if let Some(m) = max_age {
            c.push_str(&format!("; Max-Age={}", m.as_secs()));
        }
        if self.secure(req) {
            c.push_str("; Secure");
        }
        json_resp(200, &json!({ "success": true })).header("Set-Cookie", c)
    }

    fn one_time_link(&self, link: &str, from: IpAddr) -> Response {
        if !self.cfg.one_time_links {
            return error(404, "Not Found");
        }
        if let Err(s) = lock(&self.links_throttle).attempt(from) {
            return error(429, "Too many attempts").header("Retry-After", s.to_string());
        }
        if link.len() != 43 || !link.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return error(404, "Not Found");
        }
        let taken = {
            let _one = lock(&self.links_lock);
            self.state.take_link(link, now())
        };
        let found = match taken {
            Ok(f) => f,
            Err(e) => return error(500, &e.to_string()),
        };
        let Some(l) = found else { return error(404, "Not Found") };
        let Ok(key) = Key::from_base64(&l.public_key) else { return error(404, "Not Found") };
        lock(&self.shown_links).remove(&(l.ifname.clone(), key));
        self.invalidate(&l.ifname);
        let Ok(lst) = self.listed(&l.ifname) else { return error(404, "Not Found") };
        let Some(name) = lst.rows.iter().find(|r| r.entry.public_key == Some(key)).and_then(|r| r.entry.name.clone()) else {
            return error(404, "Not Found");
        };
        if let Err(r) = self.offer(&l.ifname, Some(&name)) {
            return r;
        }
        let Ok(server) = self.target(&l.ifname).locate() else { return error(404, "Not Found") };
        match provision::show(server, &name) {
            Ok(text) => {
                audit(&format!("one-time-link@{from}"), "read configuration", &l.ifname, &name);
                conf_attachment(&name, text)
            }
            Err(e) => perr(&e),
        }
    }
}

/// A UTC time for a file name: `20260102T030405Z`.
fn stamp(secs: i64) -> String {
    iso(secs).replace(['-', ':'], "")
}

/// A backup as wg-easy 14's `wg0.json` (its ids wgq's client ids; a client holding its own
/// key has no `privateKey`, as wg-easy's imported clients; wgq adds the server's
/// `listenPort`).
pub fn backup_json(b: &provision::Backup) -> String {
    let db = &b.db;
    let mut clients = serde_json::Map::new();
    for c in &db.clients {
        let t = |v: Option<i64>| v.map(|s| Value::String(iso(s))).unwrap_or(Value::Null);
        let mut o = serde_json::Map::new();
        o.insert("id".into(), json!(c.id));
        o.insert("name".into(), json!(c.name));
        o.insert("address".into(), json!(c.address.to_string()));
        if let Some(a) = b.v6.get(&c.public_key) {
            o.insert("addressV6".into(), json!(a.to_string()));
        }
        if let Some(k) = &c.private_key {
            o.insert("privateKey".into(), json!(k.to_base64()));
        }
        o.insert("publicKey".into(), json!(c.public_key.to_base64()));
        o.insert("preSharedKey".into(), c.preshared_key.as_ref().map_or(Value::Null, |k| json!(k.to_base64())));
        o.insert("createdAt".into(), t(c.created));
        o.insert("updatedAt".into(), t(c.created));
        o.insert("expiredAt".into(), t(c.expires));
        o.insert("enabled".into(), json!(c.enabled));
        clients.insert(c.id.clone(), Value::Object(o));
    }
    let mut server = serde_json::Map::new();
    server.insert("privateKey".into(), json!(db.server_key.to_base64()));
    server.insert("publicKey".into(), json!(db.server_key.public_key().to_base64()));
    server.insert("address".into(), json!(db.server_address.to_string()));
    if let Some(p) = b.listen_port {
        server.insert("listenPort".into(), json!(p));
    }
    let v = json!({ "server": Value::Object(server), "clients": Value::Object(clients) });
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

/// `?dryRun=1` (or `dry_run=1`, `dryRun=true`): the change is only previewed.
fn dry_run(req: &Request) -> bool {
    req.query.split('&').any(|kv| matches!(kv, "dryRun=1" | "dryRun=true" | "dry_run=1" | "dry_run=true"))
}

/// What a change would do: the file's diff, the client files, the live plan (no key).
fn dry_response(text: &str) -> Response {
    json_resp(200, &json!({ "success": true, "dryRun": crate::key::hide_keys(text) }))
}

fn conf_attachment(name: &str, text: Vec<u8>) -> Response {
    // `name` is file-safe ([A-Za-z0-9_=+.-]).
    Response::new(200, "text/plain; charset=utf-8", text)
        .header("Content-Disposition", format!("attachment; filename=\"{name}.conf\""))
}

fn asset(path: &str) -> Response {
    let found = super::assets::get(path).or_else(|| super::assets::get(path.trim_start_matches('/'))).or_else(|| {
        (path == "/").then(|| super::assets::get("/index.html").or_else(|| super::assets::get("index.html"))).flatten()
    });
    match found {
        Some((body, ct)) => Response::new(200, ct, body.to_vec()),
        None => error(404, "Not Found"),
    }
}

impl Handler for App {
    fn handle(&self, req: &Request) -> Response {
        if !matches!(req.method.as_str(), "GET" | "HEAD" | "POST" | "PUT" | "DELETE") {
            return error(405, "Method Not Allowed");
        }
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.route(req))) {
            Ok(r) => r,
            Err(_) => error(500, "internal error"),
        }
    }

    fn body_limit(&self, head: &Request, default: usize) -> usize {
        // A restore carries a whole backup (as a JSON string: escapes make it longer); only
        // for a caller that may restore (others never get more than the default read).
        if head.method == "PUT" && head.path.ends_with("/restore") {
            let from = self.client_addr(head);
            if self.host_allowed(head) && !self.cross_site(head) && matches!(self.who(head, from), Ok(Some(w)) if w.can_write()) {
                return default.max(2 * provision::migrate::MAX_DB as usize + 1024);
            }
        }
        default
    }

    fn common_headers(&self) -> Vec<(String, String)> {
        [
            (
                "Content-Security-Policy",
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
                 object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            ),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
            ("Cache-Control", "no-store"),
            ("Cross-Origin-Opener-Policy", "same-origin"),
            ("Cross-Origin-Resource-Policy", "same-origin"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An App over a temporary server file of `n` peers (files only).
    fn app(dir: &std::path::Path, n: usize) -> App {
        let mut text =
            format!("[Interface]\nAddress = 10.9.0.1/16\nListenPort = 51820\nPrivateKey = {}\n", Key([1; 32]).to_base64());
        for i in 0..n {
            let mut k = [7u8; 32];
            k[..4].copy_from_slice(&(i as u32).to_le_bytes());
            text.push_str(&format!(
                "\n[Peer]\nPublicKey = {}\nAllowedIPs = 10.9.{}.{}/32\n",
                Key(k).to_base64(),
                i / 250,
                i % 250 + 2
            ));
        }
        std::fs::write(dir.join("wgt9.conf"), text).unwrap();
        let mut cfg = super::super::tests::cfg();
        cfg.config_dir = dir.to_path_buf();
        cfg.state_dir = dir.join("state");
        cfg.interfaces = vec!["wgt9".into()];
        App::new(cfg, "127.0.0.1:1".parse().unwrap()).unwrap()
    }

    /// Requests (and the traffic sampler) that find the read expired at once share one new
    /// read: never two copies of a large list in memory at once.
    #[test]
    fn expired_reads_are_shared() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path(), 3000);
        let first = app.listed("wgt9").unwrap();
        assert_eq!(first.rows.len(), 3000);
        assert!(Arc::ptr_eq(&first, &app.listed("wgt9").unwrap()), "within its second: the same read");
        std::thread::sleep(Duration::from_millis(1100));
        let got: Vec<Arc<Listed>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..6).map(|_| s.spawn(|| app.listed("wgt9").unwrap())).collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(!Arc::ptr_eq(&first, &got[0]), "read again after a second");
        assert!(got.iter().all(|l| Arc::ptr_eq(l, &got[0])), "six callers at once: one read");
    }

    /// One sample per slot from the shared read; files only for peers on a device (none
    /// here), and gone clients' files pruned.
    #[test]
    fn the_sampler_prunes_and_writes_nothing_without_a_device() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path(), 2);
        let t = dir.path().join("state/traffic/wgt9");
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(t.join("gone"), b"x").unwrap();
        app.sample_traffic(1_000_000);
        assert!(!t.join("gone").exists(), "pruned");
        assert_eq!(std::fs::read_dir(&t).unwrap().count(), 0, "nothing on a device: no file");
        assert_eq!(lock(&app.sampled).get("wgt9"), Some(&(1_000_000 / 900)));
        std::fs::write(t.join("gone"), b"x").unwrap();
        app.sample_traffic(1_000_000 + 60);
        assert!(t.join("gone").exists(), "once per slot");
    }

    /// The clock set back (a clock that ran ahead corrected): the sampler samples at once
    /// (the files start the counting again), not only when the clock is back where it was.
    #[test]
    fn the_sampler_follows_the_clock_back() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path(), 1);
        let t = dir.path().join("state/traffic/wgt9");
        app.sample_traffic(1_000_000 + 86_400);
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(t.join("gone"), b"x").unwrap();
        app.sample_traffic(1_000_000);
        assert_eq!(lock(&app.sampled).get("wgt9"), Some(&(1_000_000 / 900)));
        assert!(!t.join("gone").exists(), "a pass was made");
    }

    #[test]
    fn ids_round_trip() {
        let k = Key([0xfb; 32]);
        let id = client_id(&k);
        assert!(!id.contains(['+', '/', '=']), "{id}");
        assert_eq!(parse_id(&id), Some(k));
        assert_eq!(parse_id(&k.to_base64()), Some(k));
        for bad in ["", "..", "../../etc/passwd", &"A".repeat(200)] {
            assert_eq!(parse_id(bad), None);
        }
    }

    #[test]
    fn json_has_no_markup() {
        let v = json!({ "name": "<b>&</b>\"" });
        let t = json_text(&v);
        assert!(!t.contains(['<', '>', '&']), "{t}");
        assert_eq!(serde_json::from_str::<Value>(&t).unwrap(), v);
    }

    #[test]
    fn json_strings() {
        for v in ["plain", "q\"b\\s", "<b>&amp;</b>", "tab\tnl\ncr\r\u{1b}\u{7f}\u{2028}", "Zoë ✓ \u{202e}"] {
            let mut out = String::new();
            push_json_str(&mut out, v);
            assert!(!out.contains(['<', '>', '&', '\n', '\r', '\t', '\u{1b}']), "{out}");
            assert_eq!(serde_json::from_str::<String>(&out).unwrap(), v, "{out}");
        }
    }

    #[test]
    fn names() {
        assert!(valid_display_name("Zoë's phone <b>") && valid_display_name(&"é".repeat(64)));
        assert!(!valid_display_name(&"é".repeat(65)) && !valid_display_name("a\nb") && !valid_display_name(" "));
        assert!(file_safe("phone-1") && !file_safe("Zoë") && !file_safe("a b"));
    }

    #[test]
    fn dates() {
        assert_eq!(canonical_time("2030-02-03T04:05:06Z").as_deref(), Some("2030-02-03T04:05:06Z"));
        assert_eq!(canonical_time("2030-02-03").as_deref(), Some("2030-02-03T00:00:00Z"));
        assert_eq!(canonical_time("2030-02-30T04:05:06Z"), None);
        assert_eq!(canonical_time("soon"), None);
    }

    #[test]
    fn expiry() {
        assert_eq!(expiry_of(Some(&json!("2030-02-03"))).unwrap().as_deref(), Some("2030-02-03T23:59:59Z"));
        assert_eq!(expiry_of(Some(&json!("2030-02-03T10:00:00.000Z"))).unwrap().as_deref(), Some("2030-02-03T23:59:59Z"));
        assert_eq!(expiry_of(Some(&Value::Null)).unwrap(), None);
        assert!(expiry_of(Some(&json!("2030-13-01"))).is_err() && expiry_of(Some(&json!(5))).is_err());
    }
}
