//! Who may do what: the password hash (argon2id PHC or bcrypt, with bounded costs), login
//! throttling, sessions (random ids kept hashed, idle and absolute ends), API tokens and
//! one-time links (both stored hashed in the state directory).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use blake2::Digest as _;

/// The most an argon2 hash may ask for: 64 MiB of memory, 16 passes, 4 lanes.
pub const ARGON2_MAX_MEMORY_KIB: u32 = 64 * 1024;
pub const ARGON2_MAX_TIME: u32 = 16;
pub const ARGON2_MAX_LANES: u32 = 4;
/// The most a bcrypt hash may ask for (wg-easy makes cost 12).
pub const BCRYPT_MAX_COST: u32 = 14;

/// A password hash as `PASSWORD_HASH` or `wgq web-admin hash-password` gives it.
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordHash {
    Argon2(String),
    Bcrypt(String),
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PasswordHash::Argon2(_) => "PasswordHash::Argon2(..)",
            PasswordHash::Bcrypt(_) => "PasswordHash::Bcrypt(..)",
        })
    }
}

impl PasswordHash {
    /// Parses a hash, refusing costs above the bounds (a hostile hash must not tie up the host).
    pub fn parse(s: &str) -> Result<PasswordHash, String> {
        let s = s.trim();
        if s.starts_with("$argon2") {
            let h = argon2::PasswordHash::new(s).map_err(|e| format!("not an argon2 PHC string: {e}"))?;
            if h.algorithm.as_str() != "argon2id" {
                return Err(format!("{} hashes are not accepted: argon2id only", h.algorithm));
            }
            let p = argon2::Params::try_from(&h).map_err(|e| format!("bad argon2 parameters: {e}"))?;
            if p.m_cost() > ARGON2_MAX_MEMORY_KIB || p.t_cost() > ARGON2_MAX_TIME || p.p_cost() > ARGON2_MAX_LANES {
                return Err(format!(
                    "argon2 parameters m={},t={},p={} are above the bounds m={ARGON2_MAX_MEMORY_KIB},t={ARGON2_MAX_TIME},p={ARGON2_MAX_LANES}",
                    p.m_cost(),
                    p.t_cost(),
                    p.p_cost()
                ));
            }
            if h.hash.is_none() {
                return Err("the argon2 PHC string has no hash".into());
            }
            return Ok(PasswordHash::Argon2(s.to_string()));
        }
        let b = s.as_bytes();
        if b.len() == 60 && (s.starts_with("$2a$") || s.starts_with("$2b$") || s.starts_with("$2y$")) && b[6] == b'$' {
            let cost: u32 = s[4..6].parse().map_err(|_| "bad bcrypt cost".to_string())?;
            if !(4..=BCRYPT_MAX_COST).contains(&cost) {
                return Err(format!("bcrypt cost {cost} is outside 4..={BCRYPT_MAX_COST}"));
            }
            if !s[7..].bytes().all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'/') {
                return Err("not a bcrypt hash: characters outside its alphabet".into());
            }
            return Ok(PasswordHash::Bcrypt(s.to_string()));
        }
        Err("not a password hash: an argon2id PHC string ($argon2id$...) or a bcrypt hash ($2a$, $2b$, $2y$)".into())
    }

    /// Checks a password (slow by design; callers throttle and serialize).
    pub fn verify(&self, password: &str) -> bool {
        match self {
            PasswordHash::Argon2(s) => {
                use argon2::PasswordVerifier as _;
                argon2::PasswordHash::new(s)
                    .is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            }
            PasswordHash::Bcrypt(s) => bcrypt::verify(password, s).unwrap_or(false),
        }
    }
}

/// A new argon2id PHC string of `password` (argon2's default costs: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::PasswordHasher as _;
    let salt = random_bytes::<16>().map_err(|e| e.to_string())?;
    let salt = argon2::password_hash::SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    argon2::Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

pub fn random_bytes<const N: usize>() -> std::io::Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(b)
}

/// URL-safe base64 without padding.
pub fn b64url(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A secret's stored form: BLAKE2b-256, hex.
pub fn digest(secret: &str) -> String {
    let d = blake2::Blake2b::<blake2::digest::consts::U32>::digest(secret.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two strings in time independent of where they differ.
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Login attempts: per client address (an IPv6 address by its /64) and in all.
///
/// [`Throttle::attempt`] counts every attempt (one-time links). Passwords use
/// [`Throttle::begin`] and [`Throttle::success`]: only failures count, so a correct password
/// never spends budget, and the global bound refuses only addresses that have failed
/// themselves; over it, an address without failures is still checked, one such check a
/// second at most (an attacker spraying from many addresses cannot lock the admin out, and
/// cannot try more than one password a second beyond the bounds).
pub struct Throttle {
    per_addr: HashMap<IpAddr, (u32, Instant)>,
    global: (u32, Instant),
    /// The last check over the global bound of an address without failures.
    last_clean: Option<Instant>,
    pub per_addr_max: u32,
    pub global_max: u32,
    pub window: Duration,
}

impl Throttle {
    pub fn new(per_addr_max: u32, global_max: u32, window: Duration) -> Throttle {
        Throttle { per_addr: HashMap::new(), global: (0, Instant::now()), last_clean: None, per_addr_max, global_max, window }
    }

    fn key(a: IpAddr) -> IpAddr {
        match a {
            IpAddr::V6(v) => match v.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v) & !((1u128 << 64) - 1))),
            },
            a => a,
        }
    }

    /// Starts new windows where the old ones are over (the global one, the address's), and
    /// forgets addresses whose window is over when there are too many; returns the time and
    /// the address's key (its entry exists).
    fn refresh(&mut self, addr: IpAddr) -> (Instant, IpAddr) {
        let now = Instant::now();
        let w = self.window;
        if now.duration_since(self.global.1) >= w {
            self.global = (0, now);
        }
        if self.per_addr.len() > 10_000 {
            self.per_addr.retain(|_, (_, t)| now.duration_since(*t) < w);
        }
        let k = Self::key(addr);
        let e = self.per_addr.entry(k).or_insert((0, now));
        if now.duration_since(e.1) >= w {
            *e = (0, now);
        }
        (now, k)
    }

    /// Counts an attempt; `Err(seconds)` when over a bound (the attempt is not made).
    pub fn attempt(&mut self, addr: IpAddr) -> Result<(), u64> {
        self.count(addr, false)
    }

    /// Before a password check: `Err(seconds)` when the address has failed too often, or when
    /// failures in all are over the global bound and this address has failed too (an address
    /// without failures then gets one check a second in all). The check is counted as a
    /// failure until [`Throttle::success`] takes it back, so parallel guesses are bounded too.
    pub fn begin(&mut self, addr: IpAddr) -> Result<(), u64> {
        self.count(addr, true)
    }

    /// Counts one for the address and in all, unless a bound refuses it. Over the global
    /// bound, `clean_slot` lets an address without failures through once a second in all
    /// (`begin`); without it everyone is refused (`attempt`).
    fn count(&mut self, addr: IpAddr, clean_slot: bool) -> Result<(), u64> {
        let (now, k) = self.refresh(addr);
        let w = self.window;
        let left = |since: Instant| w.saturating_sub(now.duration_since(since)).as_secs().max(1);
        let Some(e) = self.per_addr.get_mut(&k) else { return Ok(()) };
        if e.0 >= self.per_addr_max {
            return Err(left(e.1));
        }
        if self.global.0 >= self.global_max {
            if !clean_slot || e.0 > 0 {
                return Err(left(self.global.1));
            }
            if self.last_clean.is_some_and(|t| now.duration_since(t) < Duration::from_secs(1)) {
                return Err(1);
            }
            self.last_clean = Some(now);
        }
        e.0 += 1;
        self.global.0 += 1;
        Ok(())
    }

    /// Whether `begin` would refuse the address for its failures (`Err(seconds)`), counting
    /// nothing: a remembered correct header is refused too while its address is throttled
    /// (else it would tell a guesser its guess is right).
    pub fn blocked(&self, addr: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let w = self.window;
        let left = |since: Instant| w.saturating_sub(now.duration_since(since)).as_secs().max(1);
        let Some(&(n, since)) = self.per_addr.get(&Self::key(addr)).filter(|(_, t)| now.duration_since(*t) < w) else {
            return Ok(());
        };
        if n >= self.per_addr_max {
            return Err(left(since));
        }
        if n > 0 && self.global.0 >= self.global_max && now.duration_since(self.global.1) < w {
            return Err(left(self.global.1));
        }
        Ok(())
    }

    /// A correct password: its check is taken back and its address's failures are cleared.
    pub fn success(&mut self, addr: IpAddr) {
        if self.per_addr.remove(&Self::key(addr)).is_some_and(|(n, _)| n > 0) {
            self.global.0 = self.global.0.saturating_sub(1);
        }
    }
}

/// Password headers verified lately (`Authorization: PASSWORD`, the metrics' Basic header),
/// kept as keyed BLAKE2b digests (the key is random, made at start, never stored) for
/// [`Verified::LIFE`]: a script calling every second does not pay a slow hash each time.
pub struct Verified {
    key: [u8; 32],
    map: HashMap<[u8; 32], Instant>,
}

impl Verified {
    pub const LIFE: Duration = Duration::from_secs(60);
    const MAX: usize = 64;

    pub fn new() -> std::io::Result<Verified> {
        Ok(Verified { key: random_bytes::<32>()?, map: HashMap::new() })
    }

    fn digest(&self, tag: &str, value: &str) -> [u8; 32] {
        let mut h = blake2::Blake2b::<blake2::digest::consts::U32>::new();
        h.update(self.key);
        h.update(tag.as_bytes());
        h.update([0u8]);
        h.update(value.as_bytes());
        h.finalize().into()
    }

    /// Whether `value` was verified (under `tag`) less than [`Verified::LIFE`] ago.
    pub fn known(&mut self, tag: &str, value: &str) -> bool {
        let d = self.digest(tag, value);
        let now = Instant::now();
        self.map.retain(|_, t| now.duration_since(*t) < Self::LIFE);
        self.map.contains_key(&d)
    }

    /// Remembers a verified `value` (the oldest is dropped past a few dozen).
    pub fn add(&mut self, tag: &str, value: &str) {
        let d = self.digest(tag, value);
        if self.map.len() >= Self::MAX
            && let Some(oldest) = self.map.iter().min_by_key(|(_, t)| **t).map(|(k, _)| *k)
        {
            self.map.remove(&oldest);
        }
        self.map.insert(d, Instant::now());
    }
}

/// A logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub created: Instant,
    pub last: Instant,
    /// "remember me" with MAX_AGE: the session's absolute end.
    pub max_age: Option<Duration>,
}

/// Sessions by the digest of their id.
pub struct Sessions {
    map: HashMap<String, Session>,
    pub idle: Duration,
    pub max: usize,
}

impl Sessions {
    pub fn new(idle: Duration) -> Sessions {
        Sessions { map: HashMap::new(), idle, max: 10_000 }
    }

    /// A new session; returns its id (the cookie's value).
    pub fn create(&mut self, max_age: Option<Duration>) -> std::io::Result<String> {
        let id = b64url(&random_bytes::<32>()?);
        let now = Instant::now();
        self.expire(now);
        if self.map.len() >= self.max
            && let Some(oldest) = self.map.iter().min_by_key(|(_, s)| s.last).map(|(k, _)| k.clone())
        {
            self.map.remove(&oldest);
        }
        self.map.insert(digest(&id), Session { created: now, last: now, max_age });
        Ok(id)
    }

    fn alive(&self, s: &Session, now: Instant) -> bool {
        now.duration_since(s.last) < self.idle && s.max_age.is_none_or(|m| now.duration_since(s.created) < m)
    }

    fn expire(&mut self, now: Instant) {
        let idle = self.idle;
        self.map.retain(|_, s| now.duration_since(s.last) < idle && s.max_age.is_none_or(|m| now.duration_since(s.created) < m));
    }

    /// Whether `id` is a live session (its idle time restarts).
    pub fn touch(&mut self, id: &str) -> bool {
        let now = Instant::now();
        let key = digest(id);
        let alive = match self.map.get(&key) {
            Some(s) => self.alive(s, now),
            None => return false,
        };
        if alive {
            if let Some(s) = self.map.get_mut(&key) {
                s.last = now;
            }
        } else {
            self.map.remove(&key);
        }
        alive
    }

    pub fn remove(&mut self, id: &str) {
        self.map.remove(&digest(id));
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The state directory: `password` (a hash), `tokens`, `links`.
#[derive(Debug, Clone)]
pub struct StateDir {
    pub dir: PathBuf,
}

/// An API token's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub name: String,
    pub read_only: bool,
    pub digest: String,
    pub created: String,
}

/// A one-time link's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub digest: String,
    pub ifname: String,
    pub public_key: String,
    /// Seconds since the epoch.
    pub expires: i64,
}

pub fn valid_token_name(n: &str) -> bool {
    (1..=32).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

const MAX_STATE_FILE: u64 = 4 * 1024 * 1024;

impl StateDir {
    /// Creates the directory (0700, its parents as the umask says) when missing; an existing
    /// one that others may read or enter is refused (its mode is never changed: a mistyped
    /// `--state-dir /etc` must not close /etc).
    pub fn open(dir: &Path) -> std::io::Result<StateDir> {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        match std::fs::DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let m = std::fs::metadata(dir)?;
        if !m.is_dir() {
            return Err(std::io::Error::other("not a directory"));
        }
        if m.permissions().mode() & 0o077 != 0 {
            return Err(std::io::Error::other(format!(
                "mode {:o}: others may read it; make it 0700 (chmod 700 {})",
                m.permissions().mode() & 0o777,
                dir.display()
            )));
        }
        // Its owner could read the secrets and put in a password hash or tokens of their own
        // (and the files written here would not be readable by their owner).
        let euid = nix::unistd::Uid::effective().as_raw();
        if m.uid() != euid {
            return Err(std::io::Error::other(format!(
                "owned by uid {}, not by this user (uid {euid}); give it to this user (chown {euid} {}) or name another directory",
                m.uid(),
                dir.display()
            )));
        }
        Ok(StateDir { dir: dir.to_path_buf() })
    }

    fn read(&self, name: &str) -> std::io::Result<String> {
        use std::io::Read as _;
        match std::fs::File::open(self.dir.join(name)) {
            Ok(f) => {
                let mut s = String::new();
                f.take(MAX_STATE_FILE).read_to_string(&mut s)?;
                Ok(s)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(e),
        }
    }

    fn write(&self, name: &str, text: &str) -> std::io::Result<()> {
        crate::os::files::write_atomic(&self.dir.join(name), text)
    }

    /// The stored password hash (`web-admin hash-password --save`), if any.
    pub fn password(&self) -> std::io::Result<Option<String>> {
        Ok(self.read("password")?.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_string))
    }

    pub fn set_password(&self, hash: &str) -> std::io::Result<()> {
        self.write("password", &format!("{hash}\n"))
    }

    /// The TOTP secret (`web-admin totp enable`), if any.
    pub fn totp(&self) -> std::io::Result<Option<Vec<u8>>> {
        Ok(self.read("totp")?.lines().map(str::trim).find(|l| !l.is_empty()).and_then(unbase32).filter(|s| s.len() >= 10))
    }

    /// A new TOTP secret (160 bits), stored; returns it in base32.
    pub fn enable_totp(&self) -> std::io::Result<String> {
        let secret = base32(&random_bytes::<20>()?);
        self.write("totp", &format!("{secret}\n"))?;
        self.forget_totp_step()?;
        Ok(secret)
    }

    /// The last TOTP time step a code was accepted for (`totp-step`), so that a code used
    /// before a restart does not work after it.
    pub fn totp_step(&self) -> std::io::Result<Option<u64>> {
        Ok(self.read("totp-step")?.trim().parse().ok())
    }

    pub fn set_totp_step(&self, step: u64) -> std::io::Result<()> {
        self.write("totp-step", &format!("{step}\n"))
    }

    fn forget_totp_step(&self) -> std::io::Result<()> {
        match std::fs::remove_file(self.dir.join("totp-step")) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    pub fn disable_totp(&self) -> std::io::Result<bool> {
        self.forget_totp_step()?;
        match std::fs::remove_file(self.dir.join("totp")) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub fn tokens(&self) -> std::io::Result<Vec<Token>> {
        Ok(self
            .read("tokens")?
            .lines()
            .filter_map(|l| {
                let mut f = l.split(' ');
                let (name, scope, digest, created) = (f.next()?, f.next()?, f.next()?, f.next().unwrap_or(""));
                (valid_token_name(name) && digest.len() == 64).then(|| Token {
                    name: name.into(),
                    read_only: scope != "rw",
                    digest: digest.into(),
                    created: created.into(),
                })
            })
            .collect())
    }

    fn write_tokens(&self, t: &[Token]) -> std::io::Result<()> {
        let text: String = t
            .iter()
            .map(|t| format!("{} {} {} {}\n", t.name, if t.read_only { "ro" } else { "rw" }, t.digest, t.created))
            .collect();
        self.write("tokens", &text)
    }

    /// A new token: returns its secret (shown once).
    pub fn add_token(&self, name: &str, read_only: bool, now: &str) -> Result<String, String> {
        if !valid_token_name(name) {
            return Err(format!("bad token name `{name}': 1-32 letters, digits, _ . -"));
        }
        let mut all = self.tokens().map_err(|e| e.to_string())?;
        if all.iter().any(|t| t.name == name) {
            return Err(format!("a token named `{name}' exists: revoke it first"));
        }
        let secret = format!("wgq_{}", b64url(&random_bytes::<32>().map_err(|e| e.to_string())?));
        all.push(Token { name: name.into(), read_only, digest: digest(&secret), created: now.into() });
        self.write_tokens(&all).map_err(|e| e.to_string())?;
        Ok(secret)
    }

    pub fn revoke_token(&self, name: &str) -> Result<bool, String> {
        let mut all = self.tokens().map_err(|e| e.to_string())?;
        let n = all.len();
        all.retain(|t| t.name != name);
        if all.len() == n {
            return Ok(false);
        }
        self.write_tokens(&all).map_err(|e| e.to_string())?;
        Ok(true)
    }

    /// The token whose secret is `secret`.
    pub fn find_token(&self, secret: &str) -> Option<Token> {
        let d = digest(secret);
        self.tokens().ok()?.into_iter().find(|t| ct_eq(&t.digest, &d))
    }

    pub fn links(&self) -> std::io::Result<Vec<Link>> {
        Ok(self
            .read("links")?
            .lines()
            .filter_map(|l| {
                let mut f = l.split(' ');
                Some(Link {
                    digest: f.next()?.into(),
                    ifname: f.next()?.into(),
                    public_key: f.next()?.into(),
                    expires: f.next()?.parse().ok()?,
                })
            })
            .collect())
    }

    fn write_links(&self, l: &[Link]) -> std::io::Result<()> {
        let text: String = l.iter().map(|l| format!("{} {} {} {}\n", l.digest, l.ifname, l.public_key, l.expires)).collect();
        self.write("links", &text)
    }

    /// A new one-time link for a client (replacing the client's earlier one); returns its secret.
    pub fn add_link(&self, ifname: &str, public_key: &str, expires: i64, now: i64) -> std::io::Result<String> {
        let secret = b64url(&random_bytes::<32>()?);
        let mut all = self.links()?;
        all.retain(|l| l.expires > now && !(l.ifname == ifname && l.public_key == public_key));
        all.push(Link { digest: digest(&secret), ifname: ifname.into(), public_key: public_key.into(), expires });
        self.write_links(&all)?;
        Ok(secret)
    }

    /// Takes a link (it works once): the link, when it exists and has not expired.
    pub fn take_link(&self, secret: &str, now: i64) -> std::io::Result<Option<Link>> {
        let d = digest(secret);
        let all = self.links()?;
        let found = all.iter().find(|l| ct_eq(&l.digest, &d)).cloned();
        let keep: Vec<Link> = all.into_iter().filter(|l| l.expires > now && !ct_eq(&l.digest, &d)).collect();
        if found.is_some() {
            self.write_links(&keep)?;
        }
        Ok(found.filter(|l| l.expires > now))
    }
}

/// RFC 6238's code (HMAC-SHA1, 30 s steps, 6 digits) of `secret` for time step `step`.
pub fn totp_code(secret: &[u8], step: u64) -> u32 {
    use hmac::Mac as _;
    let mut mac = <hmac::Hmac<sha1::Sha1> as hmac::Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = (h[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]]);
    bin % 1_000_000
}

/// RFC 4648 base32 without padding (authenticator apps' form of the secret).
pub fn base32(b: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0);
    for &x in b {
        buf = (buf << 8) | x as u32;
        bits += 8;
        while bits >= 5 {
            out.push(A[((buf >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(A[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

pub fn unbase32(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        } as u32;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buf >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

/// The TOTP second factor: the secret, and the last step a code was accepted for (a code
/// works once).
pub struct Totp {
    secret: Vec<u8>,
    last: Option<u64>,
}

impl Totp {
    pub fn new(secret: Vec<u8>) -> Totp {
        Totp { secret, last: None }
    }

    pub fn set_last(&mut self, last: Option<u64>) {
        self.last = last;
    }

    pub fn last(&self) -> Option<u64> {
        self.last
    }

    /// Checks a 6-digit code at `now` (seconds), one step either side allowed.
    pub fn check(&mut self, code: &str, now: u64) -> bool {
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let Ok(given) = code.parse::<u32>() else { return false };
        let step = now / 30;
        for s in [step.saturating_sub(1), step, step + 1] {
            if totp_code(&self.secret, s) == given && self.last.is_none_or(|l| s > l) {
                self.last = Some(s);
                return true;
            }
        }
        false
    }
}

/// Serializes the slow password checks: one at a time, whatever the number of requests.
pub static VERIFY: Mutex<()> = Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_bounded() {
        let ok = hash_password("pw").unwrap();
        let h = PasswordHash::parse(&ok).unwrap();
        assert!(h.verify("pw") && !h.verify("pW"));
        // Argon2 asking for 1 GiB, or for 100 passes: refused before any verification.
        let big = ok.replacen("m=19456", "m=1048576", 1);
        assert!(PasswordHash::parse(&big).unwrap_err().contains("above the bounds"), "{big}");
        let slow = ok.replacen("t=2", "t=100", 1);
        assert!(PasswordHash::parse(&slow).is_err());
        assert!(PasswordHash::parse(&ok.replacen("argon2id", "argon2i", 1)).is_err());
        // bcrypt as wg-easy makes it (cost 12) is fine; cost 31 is refused.
        let b = bcrypt::hash("pw", 4).unwrap();
        assert!(PasswordHash::parse(&b).unwrap().verify("pw"));
        let b31 = format!("$2b$31{}", &b[6..]);
        assert!(PasswordHash::parse(&b31).unwrap_err().contains("cost 31"));
        assert!(PasswordHash::parse("plain").is_err());
        assert!(!format!("{:?}", h).contains("argon2id$"));
    }

    #[test]
    fn totp_rfc6238() {
        // RFC 6238 appendix B, SHA-1, the last 6 of its 8 digits.
        let k = b"12345678901234567890";
        for (t, want) in [(59u64, 287082), (1111111109, 81804), (1111111111, 50471), (1234567890, 5924), (2000000000, 279037)] {
            assert_eq!(totp_code(k, t / 30), want, "{t}");
        }
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(unbase32("MZXW6YTBOI").unwrap(), b"foobar");
        let mut t = Totp::new(k.to_vec());
        assert!(t.check("287082", 59));
        assert!(!t.check("287082", 59), "a code works once");
        assert!(!t.check("28708", 59) && !t.check("abcdef", 59) && !t.check("000000", 10_000));
        let mut t = Totp::new(k.to_vec());
        assert!(t.check(&format!("{:06}", totp_code(k, 1000)), 1000 * 30 + 31), "one step late is fine");
        assert!(!Totp::new(k.to_vec()).check(&format!("{:06}", totp_code(k, 1000)), 1002 * 30), "two steps is not");
    }

    #[test]
    fn throttle_per_address_and_global() {
        let mut t = Throttle::new(3, 5, Duration::from_secs(60));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            t.attempt(a).unwrap();
        }
        assert!(t.attempt(a).is_err());
        t.attempt(b).unwrap();
        t.attempt(b).unwrap();
        // The sixth attempt in all is refused whatever its address.
        assert!(t.attempt("192.0.2.3".parse().unwrap()).is_err());
        // One IPv6 /64 is one address.
        let mut t = Throttle::new(1, 100, Duration::from_secs(60));
        t.attempt("2001:db8::1".parse().unwrap()).unwrap();
        assert!(t.attempt("2001:db8::2".parse().unwrap()).is_err());
        t.attempt("2001:db8:0:1::1".parse().unwrap()).unwrap();
    }

    #[test]
    fn throttle_counts_failures_only() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        // Correct passwords never spend budget, whatever their number.
        let mut t = Throttle::new(3, 5, Duration::from_secs(60));
        for _ in 0..50 {
            t.begin(a).unwrap();
            t.success(a);
        }
        // Failures from many addresses: each stops at its own bound, the global bound stops
        // the failed ones, and a clean address is still checked (one a second over the bound).
        let mut t = Throttle::new(3, 5, Duration::from_secs(60));
        for i in 2..=6 {
            let b: IpAddr = format!("192.0.2.{i}").parse().unwrap();
            let _ = t.begin(b);
        }
        assert!(t.begin("192.0.2.2".parse().unwrap()).is_err(), "over the global bound, a failed address waits");
        t.begin(a).unwrap();
        t.success(a);
        assert!(t.begin("192.0.2.9".parse().unwrap()).is_err(), "one clean check a second over the bound");
        // One address alone: stopped at its bound.
        let mut t = Throttle::new(3, 100, Duration::from_secs(60));
        for _ in 0..3 {
            t.begin(a).unwrap();
        }
        assert!(t.begin(a).is_err() && t.blocked(a).is_err());
        assert!(t.blocked("192.0.2.2".parse().unwrap()).is_ok());
    }

    #[test]
    fn verified_headers_are_kept_keyed() {
        let mut v = Verified::new().unwrap();
        assert!(!v.known("auth", "pw"));
        v.add("auth", "pw");
        assert!(v.known("auth", "pw") && !v.known("metrics", "pw") && !v.known("auth", "pW"));
        assert!(v.map.keys().all(|k| k.as_slice() != digest("pw").as_bytes()));
        for i in 0..100 {
            v.add("auth", &i.to_string());
        }
        assert!(v.map.len() <= Verified::MAX);
    }

    #[test]
    fn sessions_end() {
        let mut s = Sessions::new(Duration::from_millis(50));
        let id = s.create(None).unwrap();
        assert!(id.len() >= 43);
        assert!(s.touch(&id) && !s.touch("other"));
        std::thread::sleep(Duration::from_millis(80));
        assert!(!s.touch(&id));
        let mut s = Sessions::new(Duration::from_secs(60));
        let id = s.create(Some(Duration::from_millis(30))).unwrap();
        assert!(s.touch(&id));
        std::thread::sleep(Duration::from_millis(50));
        assert!(!s.touch(&id), "MAX_AGE ends a session however active");
    }

    #[test]
    fn tokens_and_links_are_stored_hashed() {
        let d = tempfile::tempdir().unwrap();
        let st = StateDir::open(&d.path().join("web")).unwrap();
        let secret = st.add_token("ci", true, "2026-01-01T00:00:00Z").unwrap();
        let text = std::fs::read_to_string(d.path().join("web/tokens")).unwrap();
        assert!(!text.contains(&secret[4..]) && text.contains(&digest(&secret)));
        assert!(st.find_token(&secret).unwrap().read_only);
        assert!(st.add_token("ci", false, "").is_err() && st.add_token("a b", false, "").is_err());
        assert!(st.revoke_token("ci").unwrap() && st.find_token(&secret).is_none());
        let l = st.add_link("wg0", "KEY", 200, 100).unwrap();
        assert!(!std::fs::read_to_string(d.path().join("web/links")).unwrap().contains(&l));
        assert!(st.take_link(&l, 150).unwrap().is_some());
        assert!(st.take_link(&l, 150).unwrap().is_none(), "a link works once");
        let l = st.add_link("wg0", "KEY", 200, 100).unwrap();
        assert!(st.take_link(&l, 300).unwrap().is_none(), "an expired link does not work");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(d.path().join("web")).unwrap().permissions().mode() & 0o777, 0o700);
        // An existing directory others may read is refused, and left as it is.
        let open = d.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(StateDir::open(&open).unwrap_err().to_string().contains("make it 0700"));
        assert_eq!(std::fs::metadata(&open).unwrap().permissions().mode() & 0o777, 0o755);
        assert_eq!(std::fs::metadata(d.path().join("web/links")).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_state_dir_owned_by_another_user_is_refused_and_left_as_it_is() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let d = tempfile::tempdir().unwrap();
        let other = d.path().join("other");
        std::fs::create_dir(&other).unwrap();
        std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o700)).unwrap();
        let euid = nix::unistd::Uid::effective().as_raw();
        // Another owner: only root may give a directory away.
        let not_me = if euid == 65534 { 65533 } else { 65534 };
        if std::os::unix::fs::chown(&other, Some(not_me), None).is_err() {
            eprintln!("skipped: chown needs root");
            return;
        }
        let e = StateDir::open(&other).unwrap_err().to_string();
        assert!(e.contains(&format!("owned by uid {not_me}")) && e.contains(&format!("chown {euid} ")), "{e}");
        let m = std::fs::metadata(&other).unwrap();
        assert_eq!((m.uid(), m.permissions().mode() & 0o777), (not_me, 0o700));
        // Through a symbolic link: the directory it leads to is what counts.
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&other, &link).unwrap();
        assert!(StateDir::open(&link).unwrap_err().to_string().contains("owned by uid"));
        // Its own: accepted.
        std::os::unix::fs::chown(&other, Some(euid), None).unwrap();
        StateDir::open(&other).unwrap();
    }
}
