//! `wgq web`: the web page and its API (the server is `crate::web`). Flags first, then
//! wg-easy 14's environment variables where no flag is given.

use std::path::PathBuf;
use std::time::Duration;

use crate::commands::AppError;
use crate::web::{self, Config, auth::PasswordHash};

#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct WebArgs {
    /// Where to listen (default 127.0.0.1:51821; PORT and WEBUI_HOST when not given)
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<String>,
    /// The directory of the server files (default /etc/wireguard)
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// The page's own state: password hash, hashed tokens and one-time links, traffic history (default /var/lib/wgq/web)
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Serve plain HTTP on an address other than loopback (behind a TLS reverse proxy)
    #[arg(long)]
    pub insecure: bool,
    /// Serve HTTPS with this PEM certificate chain (leaf first; re-read when it changes; WGQ_WEB_TLS_CERT when neither flag is given)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1; WGQ_WEB_TLS_KEY when neither flag is given)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The path the page is served under behind a reverse proxy (such as /wg)
    #[arg(long, value_name = "PATH")]
    pub base_path: Option<String>,
    /// A reverse proxy whose X-Forwarded-For and X-Forwarded-Proto are believed (repeatable)
    #[arg(long, value_name = "CIDR")]
    pub trusted_proxy: Vec<String>,
    /// Edit the files only: never look at or change a running interface
    #[arg(long)]
    pub no_apply: bool,
    /// The server interfaces to serve (default: every server file of the config directory)
    #[arg(value_name = "INTERFACE")]
    pub interfaces: Vec<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// The page's variables that [`env`] reads, but the TLS ones ([`tls_var`]) and `LANG` and
/// `PASSWORD` (a language, a warning): one that is not UTF-8 would read as unset, a page
/// without its password (`PASSWORD_HASH`, `PROMETHEUS_METRICS_PASSWORD`), on another address
/// (`WEBUI_HOST`) or with another state (`WGQ_WEB_STATE_DIR`: its TOTP secret, its tokens).
const PAGE_VARS: &[&str] = &[
    "PORT",
    "WEBUI_HOST",
    "PASSWORD_HASH",
    "MAX_AGE",
    "UI_TRAFFIC_STATS",
    "UI_CHART_TYPE",
    "UI_ENABLE_SORT_CLIENTS",
    "WG_ENABLE_ONE_TIME_LINKS",
    "WG_ENABLE_EXPIRES_TIME",
    "ENABLE_PROMETHEUS_METRICS",
    "PROMETHEUS_METRICS_PASSWORD",
    STATE_DIR_ENV,
    "WGQ_WEB_LOGIN_PER_MINUTE",
    "WGQ_WEB_TRAFFIC_SLOT_SECONDS",
];

/// An error naming the first of [`PAGE_VARS`] whose value is not UTF-8.
fn page_vars_utf8() -> Result<(), AppError> {
    match PAGE_VARS.iter().find(|n| matches!(std::env::var(n), Err(std::env::VarError::NotUnicode(_)))) {
        Some(n) => Err(AppError::Other(format!("{n}: not UTF-8 (it is not taken as unset)"))),
        None => Ok(()),
    }
}

fn env_bool(name: &str) -> Result<bool, AppError> {
    match env(name).as_deref() {
        None | Some("false") | Some("0") | Some("no") => Ok(false),
        Some("true") | Some("1") | Some("yes") => Ok(true),
        Some(v) => Err(AppError::Other(format!("{name}={}: true or false", crate::config::values::shown(v)))),
    }
}

fn hash_env(name: &str) -> Result<Option<PasswordHash>, AppError> {
    env(name).map(|v| PasswordHash::parse(&v).map_err(|e| AppError::Other(format!("{name}: {e}")))).transpose()
}

/// The variables that give the page's certificate chain and key when `--tls-cert` and
/// `--tls-key` are not given (the only way beside `wgq run --web` and in `wgq container`).
pub const TLS_CERT_ENV: &str = "WGQ_WEB_TLS_CERT";
pub const TLS_KEY_ENV: &str = "WGQ_WEB_TLS_KEY";

/// The two files of [`TLS_CERT_ENV`] and [`TLS_KEY_ENV`] (values as [`env`] reads them): both
/// or neither (pure; tested).
fn tls_pair(cert: Option<String>, key: Option<String>) -> Result<Option<(PathBuf, PathBuf)>, AppError> {
    let shown = crate::web::shown;
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(c), Some(k)) => Ok(Some((PathBuf::from(c), PathBuf::from(k)))),
        (Some(c), None) => Err(AppError::Other(format!(
            "{TLS_CERT_ENV}={} is set but {TLS_KEY_ENV} is not: set both (HTTPS) or neither",
            shown(&c)
        ))),
        (None, Some(k)) => Err(AppError::Other(format!(
            "{TLS_KEY_ENV}={} is set but {TLS_CERT_ENV} is not: set both (HTTPS) or neither",
            shown(&k)
        ))),
    }
}

/// A TLS variable as [`env`] reads it, but a value that is not UTF-8 is an error rather than
/// unset (which would serve the page in plain HTTP).
fn tls_var(name: &str) -> Result<Option<String>, AppError> {
    match std::env::var(name) {
        Err(std::env::VarError::NotUnicode(_)) => Err(AppError::Other(format!("{name}: not a UTF-8 path"))),
        _ => Ok(env(name)),
    }
}

/// [`tls_pair`] of the environment, its files loaded once to check them (they load again
/// when the page starts): a wrong one is an error naming its variable and file.
fn tls_env() -> Result<Option<(PathBuf, PathBuf)>, AppError> {
    let Some((cert, key)) = tls_pair(tls_var(TLS_CERT_ENV)?, tls_var(TLS_KEY_ENV)?)? else { return Ok(None) };
    let name = |var: &str, p: &std::path::Path| format!("{var}={}", crate::web::shown(&p.to_string_lossy()));
    crate::web::tls::check(&cert, &key, &name(TLS_CERT_ENV, &cert), &name(TLS_KEY_ENV, &key))
        .map_err(|e| AppError::Other(format!("TLS: {e}")))?;
    Ok(Some((cert, key)))
}

impl WebArgs {
    /// The configuration: flags, then the environment, then defaults.
    pub fn config(&self) -> Result<Config, AppError> {
        page_vars_utf8()?;
        let listen = match &self.listen {
            Some(l) => parse_listen(l, &format!("--listen {}", crate::config::values::shown(l)))?,
            None => from_env_listen(&env("WEBUI_HOST").unwrap_or_else(|| "127.0.0.1".into()))?,
        };
        let config_dir = self.config_dir.clone().unwrap_or_else(|| PathBuf::from(crate::provision::CONFIG_DIR));
        let interfaces = if self.interfaces.is_empty() { server_files(&config_dir)? } else { self.interfaces.clone() };
        if interfaces.is_empty() {
            return Err(AppError::Other(format!("no server file in {}: give INTERFACE", config_dir.display())));
        }
        for i in &interfaces {
            if !crate::config::locate::is_interface_name(i) {
                return Err(AppError::Other(format!("{}: not an interface name", crate::config::values::shown(i))));
            }
        }
        let base_path = match self.base_path.as_deref().map(|p| p.trim_end_matches('/')) {
            None | Some("") => String::new(),
            Some(p) if p.starts_with('/') && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_.-~".contains(&b)) => p.into(),
            Some(p) => {
                return Err(AppError::Other(format!("--base-path {}: a path such as /wg", crate::config::values::shown(p))));
            }
        };
        let trusted_proxies = self
            .trusted_proxy
            .iter()
            .map(|c| crate::net::IpNet::parse(c).map_err(|e| AppError::Other(format!("--trusted-proxy {c}: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let max_age_minutes = match env("MAX_AGE") {
            None => 0,
            Some(v) => {
                v.parse().map_err(|_| AppError::Other(format!("MAX_AGE={}: minutes", crate::config::values::shown(&v))))?
            }
        };
        let ui_chart_type = match env("UI_CHART_TYPE").as_deref() {
            None => 0,
            Some(v @ ("0" | "1" | "2" | "3")) => v.parse().unwrap_or(0),
            Some(v) => return Err(AppError::Other(format!("UI_CHART_TYPE={}: 0, 1, 2 or 3", crate::config::values::shown(v)))),
        };
        // The flags (checked when the page starts), else the variables (checked here).
        let tls = match self.tls_cert.clone().zip(self.tls_key.clone()) {
            Some(files) => Some(files),
            None => tls_env()?,
        };
        if env("PASSWORD").is_some() && env("PASSWORD_HASH").is_none() {
            eprintln!(
                "wgq web: warning: PASSWORD (plain text) is not read: use PASSWORD_HASH or `wgq web-admin hash-password --save'"
            );
        }
        Ok(Config {
            listen,
            config_dir,
            state_dir: self.state_dir.clone().unwrap_or_else(|| PathBuf::from(web::DEFAULT_STATE_DIR)),
            interfaces,
            insecure: self.insecure,
            tls,
            base_path,
            trusted_proxies,
            password_hash: hash_env("PASSWORD_HASH")?,
            max_age_minutes,
            lang: env("LANG").and_then(|l| web::lang_from_env(&l)),
            ui_traffic_stats: env_bool("UI_TRAFFIC_STATS")?,
            ui_chart_type,
            ui_sort_clients: env_bool("UI_ENABLE_SORT_CLIENTS")?,
            // For tests only (docs/testing.md): shorter traffic slots than 15 minutes.
            traffic_slot_secs: env("WGQ_WEB_TRAFFIC_SLOT_SECONDS")
                .and_then(|v| v.parse().ok())
                .filter(|s| (1..=web::traffic::SLOT_SECS).contains(s))
                .unwrap_or(web::traffic::SLOT_SECS),
            one_time_links: env_bool("WG_ENABLE_ONE_TIME_LINKS")?,
            expire_time: env_bool("WG_ENABLE_EXPIRES_TIME")?,
            metrics: env_bool("ENABLE_PROMETHEUS_METRICS")?,
            metrics_password: hash_env("PROMETHEUS_METRICS_PASSWORD")?,
            files_only: self.no_apply,
            workers: 32,
            idle: Duration::from_secs(24 * 3600),
            login_per_addr: env("WGQ_WEB_LOGIN_PER_MINUTE").and_then(|v| v.parse().ok()).unwrap_or(5),
            login_global: 30,
        })
    }

    pub fn run(&self) -> Result<i32, AppError> {
        let cfg = self.config()?;
        let scheme = if cfg.tls.is_some() { "https" } else { "http" };
        web::serve(cfg, |addr| eprintln!("wgq web: listening on {scheme}://{addr}"))
            .map_err(|e| AppError::Other(e.to_string()))?;
        Ok(0)
    }
}

/// `HOST:PORT`: `host` (an IPv6 address bracketed) and `PORT` (default 51821).
fn listen_on(host: &str) -> String {
    let port = env("PORT").unwrap_or_else(|| "51821".into());
    if host.contains(':') && !host.starts_with('[') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// `listen` as an address and port; `what`: where it came from, for the error.
fn parse_listen(listen: &str, what: &str) -> Result<std::net::SocketAddr, AppError> {
    listen.parse().map_err(|_| {
        AppError::Other(format!(
            "{what}: not an IP address and port (a host name is not taken: 0.0.0.0, ::, 127.0.0.1 or an address of this host)"
        ))
    })
}

/// [`listen_on`] `host` and `PORT`, named as the variables that gave them in an error.
fn from_env_listen(host: &str) -> Result<std::net::SocketAddr, AppError> {
    let port = env("PORT").unwrap_or_else(|| "51821".into());
    let shown = crate::config::values::shown;
    parse_listen(&listen_on(host), &format!("WEBUI_HOST={} PORT={}", shown(host), shown(&port)))
}

/// Overrides the state directory of the page beside `wgq run` (`--web`, `wgq container`).
pub const STATE_DIR_ENV: &str = "WGQ_WEB_STATE_DIR";

/// The page beside `wgq run --web` and `wgq container`, for the server `interfaces` of
/// `config_dir`: `wgq web`'s configuration from the same variables, with wg-easy's rule for
/// where it listens. With `PASSWORD_HASH` set, on `WEBUI_HOST` (default 0.0.0.0) : `PORT`
/// (default 51821), as wg-easy serves it; without it, on loopback only, whatever
/// `WEBUI_HOST` says (`wgq web`'s rule: no open page beyond loopback), with a warning.
/// HTTPS when `WGQ_WEB_TLS_CERT` and `WGQ_WEB_TLS_KEY` name a certificate chain and its key
/// (checked here, before any interface comes up); else plain HTTP, as wg-easy's, with a
/// warning recommending a TLS reverse proxy when served beyond loopback. Its state in
/// `$WGQ_WEB_STATE_DIR`, else `state_dir`.
pub fn beside_run(config_dir: PathBuf, interfaces: Vec<String>, state_dir: PathBuf) -> Result<Config, AppError> {
    page_vars_utf8()?;
    let loopback = |h: &str| h.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback());
    let password = env("PASSWORD_HASH").is_some();
    // Whether loopback is forced on a page without a password (a warning says so).
    let (host, forced) = match (password, env("WEBUI_HOST")) {
        (true, h) => (h.unwrap_or_else(|| "0.0.0.0".into()), false),
        (false, Some(h)) if loopback(&h) => (h, false),
        (false, _) => ("127.0.0.1".into(), true),
    };
    from_env_listen(&host)?;
    let args = WebArgs {
        listen: Some(listen_on(&host)),
        config_dir: Some(config_dir),
        state_dir: Some(env(STATE_DIR_ENV).map_or(state_dir, PathBuf::from)),
        insecure: true,
        base_path: None,
        trusted_proxy: Vec::new(),
        // From WGQ_WEB_TLS_CERT and WGQ_WEB_TLS_KEY (`config`).
        tls_cert: None,
        tls_key: None,
        no_apply: false,
        interfaces,
    };
    let mut cfg = args.config()?;
    // Plain HTTP beyond loopback (as wg-easy serves it, `wgq web --insecure`) only without TLS.
    cfg.insecure = cfg.tls.is_none();
    if forced {
        eprintln!(
            "{}: warning: PASSWORD_HASH is not set: the web page is served on {} only (set PASSWORD_HASH to serve it on WEBUI_HOST, default 0.0.0.0)",
            crate::program_name(),
            listen_on(&host)
        );
    } else if password && cfg.tls.is_none() && !loopback(&host) {
        eprintln!(
            "{}: warning: the web page is served in plain HTTP on {} (as wg-easy's is): set WGQ_WEB_TLS_CERT and WGQ_WEB_TLS_KEY, or put a TLS reverse proxy in front of it",
            crate::program_name(),
            listen_on(&host)
        );
    }
    Ok(cfg)
}

/// Starts the page `cfg` in threads of its own (beside `wgq run`); stopped with
/// [`web::http::Running::stop`].
pub fn start(cfg: Config) -> Result<web::http::Running, AppError> {
    let scheme = if cfg.tls.is_some() { "https" } else { "http" };
    web::start(cfg, |addr| eprintln!("{}: web page on {scheme}://{addr}", crate::program_name()))
        .map_err(|e| AppError::Other(e.to_string()))
}

/// Whether the file at `path` is a server's (it has a `ListenPort`).
pub fn is_server_file(path: &std::path::Path) -> bool {
    std::fs::read(path).is_ok_and(|b| {
        let mut doc = crate::config::edit::Document::parse(b);
        let server = crate::config::peers::server_info(&doc).listen_port.is_some();
        // The text holds the private key.
        crate::key::wipe(&mut doc.text);
        server
    })
}

/// The server files of a directory: the `*.conf` files with a `ListenPort`.
fn server_files(dir: &std::path::Path) -> Result<Vec<String>, AppError> {
    let t = crate::provision::Target { interface: "wg0".into(), config_dir: Some(dir.to_path_buf()) };
    let all = crate::provision::expire_targets(&t, true)?;
    Ok(all.into_iter().filter(|s| is_server_file(&s.path)).map(|s| s.ifname).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listen_address_is_an_ip_address_and_the_error_names_its_source() {
        assert_eq!(parse_listen("0.0.0.0:51821", "x").unwrap().to_string(), "0.0.0.0:51821");
        assert_eq!(parse_listen(&listen_on("::"), "x").unwrap().ip(), "::".parse::<std::net::IpAddr>().unwrap());
        for bad in ["localhost:51821", "0:51821", "vpn.example.org:51821", "[127.0.0.1:51821", "127.0.0.1:port"] {
            let e = parse_listen(bad, "WEBUI_HOST=h PORT=p").unwrap_err().to_string();
            assert!(e.starts_with("WEBUI_HOST=h PORT=p: not an IP address and port"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_tls_variables_are_both_set_or_neither() {
        assert!(tls_pair(None, None).unwrap().is_none());
        let both = tls_pair(Some("/v/web.pem".into()), Some("/v/web.key".into())).unwrap();
        assert_eq!(both, Some((PathBuf::from("/v/web.pem"), PathBuf::from("/v/web.key"))));
        let e = tls_pair(Some("/v/web.pem".into()), None).unwrap_err().to_string();
        assert_eq!(e, "WGQ_WEB_TLS_CERT=/v/web.pem is set but WGQ_WEB_TLS_KEY is not: set both (HTTPS) or neither");
        let e = tls_pair(None, Some("/v/web\nkey".into())).unwrap_err().to_string();
        assert_eq!(e, "WGQ_WEB_TLS_KEY=/v/web\\u{a}key is set but WGQ_WEB_TLS_CERT is not: set both (HTTPS) or neither");
    }
}
