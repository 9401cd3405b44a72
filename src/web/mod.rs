//! `wgq web`: the web page's server (a front-end, like `commands/`). It serves the page's
//! embedded files (`assets.rs`), wg-easy 14's REST API (same routes and JSON shapes) and
//! wgq's own `/api/v1/` for every served interface. Every change goes through
//! `provision` (the file's lock, a lossless edit, the live change of that peer); the
//! config files are the only database of clients. Its own state (password hash, hashed
//! tokens and one-time links) lives in the state directory (`auth.rs`).
//!
//! `http.rs` is the HTTP/1.1 server (bounded reads, a thread pool); `api.rs` the routes.

pub mod api;
pub mod assets;
pub mod auth;
pub mod http;
pub mod tls;
pub mod traffic;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::net::IpNet;
use auth::PasswordHash;

/// Default listen address (wg-easy's port, loopback).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:51821";
pub const DEFAULT_STATE_DIR: &str = "/var/lib/wgq/web";

/// What `wgq web` serves and how.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub config_dir: PathBuf,
    pub state_dir: PathBuf,
    /// The served interfaces; the first is the one wg-easy's routes serve unless `wg0` is here.
    pub interfaces: Vec<String>,
    pub insecure: bool,
    /// `--tls-cert` and `--tls-key`: HTTPS with this PEM certificate chain and key.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// "" or "/path" (no trailing slash).
    pub base_path: String,
    pub trusted_proxies: Vec<IpNet>,
    pub password_hash: Option<PasswordHash>,
    /// MAX_AGE, minutes (0: "remember me" is off).
    pub max_age_minutes: u64,
    /// `LANG` as `lang_from_env` reads it: the code, and whether it is a wg-easy code (which
    /// wins over the browser's Accept-Language; a POSIX locale does not). None: unset.
    pub lang: Option<(String, bool)>,
    pub ui_traffic_stats: bool,
    pub ui_chart_type: u8,
    pub ui_sort_clients: bool,
    /// The traffic history's slot length (900 s; shorter only in tests).
    pub traffic_slot_secs: u32,
    pub one_time_links: bool,
    pub expire_time: bool,
    pub metrics: bool,
    pub metrics_password: Option<PasswordHash>,
    /// Edit the files only; never look at or change a device.
    pub files_only: bool,
    pub workers: usize,
    /// Session idle time.
    pub idle: Duration,
    /// Login attempts per address and in all, per minute.
    pub login_per_addr: u32,
    pub login_global: u32,
}

/// Why `wgq web` does not start.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(
        "refusing to serve plain HTTP on {0}: only loopback without --insecure (give --tls-cert and --tls-key, or put a TLS reverse proxy in front and give --insecure)"
    )]
    NotLoopback(SocketAddr),
    #[error("TLS: {0}")]
    Tls(String),
    #[error(
        "refusing to serve on {0} without a password: set one with `wgq web-admin hash-password --save' (or PASSWORD_HASH); without one only loopback is served"
    )]
    NoPassword(SocketAddr),
    #[error("{0}")]
    Config(String),
    #[error("unable to listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("state directory {dir}: {source}")]
    State { dir: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Provision(#[from] crate::provision::ProvisionError),
}

/// Checks the configuration and serves until the process ends.
pub fn serve(cfg: Config, ready: impl FnOnce(SocketAddr)) -> Result<(), WebError> {
    start(cfg, ready)?.wait();
    Ok(())
}

/// Checks the configuration and starts serving in threads of their own (beside `wgq run`),
/// until [`http::Running::stop`].
pub fn start(cfg: Config, ready: impl FnOnce(SocketAddr)) -> Result<http::Running, WebError> {
    // One malloc arena for all workers: each worker's own arena would keep the freed memory
    // of the largest list it made (glibc's default is 8 arenas per core).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before the workers start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    // The certificate first: a wrong file stops here, before anything listens.
    let tls = match &cfg.tls {
        Some((cert, key)) => Some(tls::server_config(cert, key).map_err(WebError::Tls)?),
        None => None,
    };
    let listener = std::net::TcpListener::bind(cfg.listen).map_err(|source| WebError::Listen { addr: cfg.listen, source })?;
    let addr = listener.local_addr().map_err(|source| WebError::Listen { addr: cfg.listen, source })?;
    let app = Arc::new(api::App::new(cfg, addr)?);
    ready(addr);
    let workers = app.cfg.workers;
    let sampler = Arc::clone(&app);
    std::thread::Builder::new()
        .name("traffic".into())
        .spawn(move || sampler.sample_forever())
        .map_err(|source| WebError::State { dir: app.cfg.state_dir.clone(), source })?;
    let proxies = app.cfg.trusted_proxies.clone();
    Ok(http::start(listener, app as Arc<dyn http::Handler>, workers, http::Limits::default(), proxies, tls))
}

/// Checks what may be served where (pure; tested).
pub fn check_exposure(cfg: &Config, addr: SocketAddr) -> Result<(), WebError> {
    let loopback = addr.ip().is_loopback();
    if !loopback && cfg.password_hash.is_none() {
        return Err(WebError::NoPassword(addr));
    }
    if !loopback && !cfg.insecure && cfg.tls.is_none() {
        return Err(WebError::NotLoopback(addr));
    }
    Ok(())
}

/// wg-easy's `LANG`: a wg-easy code as it is; a POSIX locale mapped (`zh_CN.UTF-8` → `chs`);
/// `C`, `POSIX`, `C.UTF-8` and unknown values: none. The bool: a wg-easy code (it wins over
/// the browser's Accept-Language).
pub fn lang_from_env(v: &str) -> Option<(String, bool)> {
    const CODES: &[&str] = &[
        "en", "ua", "ru", "tr", "no", "pl", "fr", "de", "ca", "es", "ko", "vi", "nl", "is", "pt", "chs", "cht", "it", "th", "hi",
        "ja", "si",
    ];
    let v = v.trim();
    if CODES.contains(&v) {
        return Some((v.to_string(), true));
    }
    let base = v.split(['.', '@']).next().unwrap_or("");
    if matches!(base, "" | "C" | "POSIX") {
        return None;
    }
    let (lang, region) = base.split_once('_').unwrap_or((base, ""));
    let code = match (lang, region) {
        ("zh", "TW" | "HK" | "MO") => "cht",
        ("zh", _) => "chs",
        ("uk", _) => "ua",
        ("nb" | "nn" | "no", _) => "no",
        ("sl", _) => "si",
        (l, _) if CODES.contains(&l) => l,
        _ => return None,
    };
    Some((code.to_string(), false))
}

/// An audit line on stderr: who did what to which client.
pub fn audit(who: &str, what: &str, ifname: &str, client: &str) {
    eprintln!("wgq web: audit: {} {} {ifname} {}", shown(who), shown(what), shown(client));
}

/// Text for a log line: control characters and the bidirectional controls (which would
/// reorder what a terminal shows) escaped.
pub fn shown(v: &str) -> String {
    let bidi = |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        if (c.is_control() && c != '\t') || bidi(c) {
            s.extend(c.escape_unicode());
        } else {
            s.push(c);
        }
    }
    s
}

/// A shared lock that survives a panicking holder (a request's panic is its own).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn cfg() -> Config {
        Config {
            listen: DEFAULT_LISTEN.parse().unwrap(),
            config_dir: "/etc/wireguard".into(),
            state_dir: DEFAULT_STATE_DIR.into(),
            interfaces: vec!["wg0".into()],
            insecure: false,
            tls: None,
            base_path: String::new(),
            trusted_proxies: vec![],
            password_hash: None,
            max_age_minutes: 0,
            lang: None,
            ui_traffic_stats: false,
            ui_chart_type: 0,
            ui_sort_clients: false,
            traffic_slot_secs: traffic::SLOT_SECS,
            one_time_links: false,
            expire_time: false,
            metrics: false,
            metrics_password: None,
            files_only: true,
            workers: 2,
            idle: Duration::from_secs(86400),
            login_per_addr: 5,
            login_global: 30,
        }
    }

    #[test]
    fn exposure() {
        let mut c = cfg();
        let lo: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let lo6: SocketAddr = "[::1]:1".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:1".parse().unwrap();
        assert!(check_exposure(&c, lo).is_ok() && check_exposure(&c, lo6).is_ok());
        assert!(matches!(check_exposure(&c, any), Err(WebError::NoPassword(_))));
        c.insecure = true;
        assert!(matches!(check_exposure(&c, any), Err(WebError::NoPassword(_))), "no password: never beyond loopback");
        c.password_hash = Some(PasswordHash::parse(&auth::hash_password("x").unwrap()).unwrap());
        assert!(check_exposure(&c, any).is_ok());
        c.insecure = false;
        assert!(matches!(check_exposure(&c, any), Err(WebError::NotLoopback(_))));
        // TLS: served beyond loopback without --insecure (a password still needed).
        c.tls = Some(("cert.pem".into(), "key.pem".into()));
        assert!(check_exposure(&c, any).is_ok());
        c.password_hash = None;
        assert!(matches!(check_exposure(&c, any), Err(WebError::NoPassword(_))));
    }

    #[test]
    fn log_text_is_one_line_in_order() {
        assert_eq!(shown("a\nb\u{202e}c\u{1b}"), "a\\u{a}b\\u{202e}c\\u{1b}");
        assert_eq!(shown("Zoë ✓\t"), "Zoë ✓\t");
    }

    #[test]
    fn lang() {
        assert_eq!(lang_from_env("chs"), Some(("chs".into(), true)));
        assert_eq!(lang_from_env("zh_CN.UTF-8"), Some(("chs".into(), false)));
        assert_eq!(lang_from_env("zh_TW.UTF-8"), Some(("cht".into(), false)));
        assert_eq!(lang_from_env("de_DE@euro"), Some(("de".into(), false)));
        for none in ["C", "POSIX", "C.UTF-8", "", "xx_YY"] {
            assert_eq!(lang_from_env(none), None, "{none}");
        }
    }
}
