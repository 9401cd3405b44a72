//! DNS through resolvconf, as wg-quick does it (reference §3.8, §5.1 step 3), or through
//! systemd-resolved's per-link settings with `resolvectl`; which one, and why, in
//! `crate::plan::dns::choose_backend` and docs/compatibility.md.

use std::io::Write as _;
use std::time::{Duration, Instant};

use crate::os::child::ChildError;
use crate::plan::dns::{DnsBackend, DnsProbe, ResolvedCall};

/// What `up` says, after wg-quick's own line, when no DNS backend exists at all.
pub const NO_BACKEND_HINT: &str = "hint: DNS = needs resolvconf (Debian: apt install openresolv) or a running      systemd-resolved with resolvectl (Debian 12: apt install systemd-resolved); or remove DNS = and set DNS in PostUp";

/// How long wgq retries a call systemd-resolved refuses because it has not yet seen the
/// new link (`Link N not known`): it learns links from rtnetlink, asynchronously.
pub const UNKNOWN_LINK_RETRY: Duration = Duration::from_secs(1);

/// resolvconf or resolvectl failed.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("resolvconf failed with status {0}")]
    Failed(i32),
    /// Not runnable, or killed at its bound.
    #[error(transparent)]
    Run(#[from] ChildError),
    /// No resolvconf in PATH (and no systemd-resolved to use instead): wg-quick's message,
    /// then what to install.
    #[error("resolvconf: command not found\n{NO_BACKEND_HINT}")]
    NoBackend,
    /// resolvectl refused the call; `message` is its own.
    #[error("{message}")]
    Resolvectl { status: i32, message: String },
    /// systemd-resolved still did not know the link after [`UNKNOWN_LINK_RETRY`].
    #[error("systemd-resolved does not know {ifname} (retried for {}): {message}", crate::os::child::seconds(UNKNOWN_LINK_RETRY))]
    UnknownLink { ifname: String, message: String },
    /// systemd-networkd manages the link: resolved refuses other clients' settings for it.
    #[error(
        "{ifname} is managed by systemd-networkd, which owns its DNS settings ({message}); \
         set DNS= and Domains=~. in its .network file, or keep networkd off it"
    )]
    LinkBusy { ifname: String, message: String },
}

impl DnsError {
    pub fn status(&self) -> i32 {
        match self {
            DnsError::Failed(s) | DnsError::Resolvectl { status: s, .. } => *s,
            DnsError::Run(e) => e.status(),
            DnsError::NoBackend => 127,
            DnsError::UnknownLink { .. } | DnsError::LinkBusy { .. } => 1,
        }
    }
}

/// What the backend choice looks at on this system: `resolvconf` and `resolvectl` in PATH,
/// and (only when it can matter) whether `org.freedesktop.resolve1` has an owner on the
/// system bus, asked with `busctl` (bounded; no activation).
pub fn probe() -> DnsProbe {
    let resolvconf = which::which("resolvconf").ok().map(|p| {
        let target = std::fs::canonicalize(&p).unwrap_or(p);
        crate::plan::dns::resolvconf_kind(&target.file_name().unwrap_or_default().to_string_lossy())
    });
    let resolvectl = which::which("resolvectl").is_ok();
    let mut p = DnsProbe { resolvconf, resolvectl, resolved_on_bus: false, resolv_conf_mounted_writable: false };
    if resolvconf != Some(crate::plan::dns::ResolvconfKind::Real) && resolvectl {
        p.resolved_on_bus = resolved_on_bus();
    }
    if resolvconf.is_none() && !p.resolved_on_bus {
        p.resolv_conf_mounted_writable = resolv_conf_mounted_writable();
    }
    p
}

/// A warning for `up` with the resolved backend when /etc/resolv.conf bypasses resolved's
/// stub (see `crate::plan::dns::resolv_conf_bypasses_stub`).
pub fn resolv_conf_warning() -> Option<String> {
    let target = std::fs::canonicalize("/etc/resolv.conf").ok();
    crate::plan::dns::resolv_conf_bypasses_stub(target.as_deref()).then(|| {
        "warning: /etc/resolv.conf is systemd-resolved's /run/systemd/resolve/resolv.conf, so programs ask the \
         listed servers directly and the routing domain ~. cannot keep DNS queries in the tunnel; link it to \
         /run/systemd/resolve/stub-resolv.conf"
            .to_string()
    })
}

/// The backend `up` uses here (see [`probe`]).
pub fn detect_backend() -> DnsBackend {
    crate::plan::dns::choose_backend(&probe())
}

/// `busctl call ... NameHasOwner s org.freedesktop.resolve1` answers `b true`.
fn resolved_on_bus() -> bool {
    let args = [
        "--system",
        "call",
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "NameHasOwner",
        "s",
        "org.freedesktop.resolve1",
    ];
    match crate::os::child::Helper::new("busctl", &args).run() {
        Ok(o) => o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "b true",
        Err(_) => false,
    }
}

/// `resolvectl VERB IF ARGS` (bounded, see `crate::os::child`). A link resolved has not
/// seen yet is retried for [`UNKNOWN_LINK_RETRY`] (a revert of one succeeds: it has nothing
/// to revert); a link networkd manages is reported as such (resolvectl itself already
/// re-sent the call to networkd).
pub fn resolvectl(ifname: &str, call: &ResolvedCall) -> Result<(), DnsError> {
    let argv = call.argv(ifname);
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    let start = Instant::now();
    let mut pause = Duration::from_millis(20);
    loop {
        let out = crate::os::child::Helper::new("resolvectl", &args).run()?;
        if out.status.success() {
            let _ = std::io::stderr().write_all(&out.stderr);
            return Ok(());
        }
        let message = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let status = out.status.code().unwrap_or(1);
        if message.contains(" not known") {
            // A link resolved does not know has no settings to revert (it forgets a link
            // that goes away).
            if *call == ResolvedCall::Revert {
                return Ok(());
            }
            let waited = start.elapsed();
            if waited >= UNKNOWN_LINK_RETRY {
                return Err(DnsError::UnknownLink { ifname: ifname.to_string(), message });
            }
            std::thread::sleep(pause.min(UNKNOWN_LINK_RETRY - waited));
            pause = (pause * 2).min(Duration::from_millis(200));
            continue;
        }
        if message.contains("is managed") || message.contains("network1") {
            return Err(DnsError::LinkBusy { ifname: ifname.to_string(), message });
        }
        return Err(DnsError::Resolvectl { status, message: format!("resolvectl {} {ifname}: {message}", argv[0]) });
    }
}

/// `plan::dns::resolvconf_name` with this system's files.
pub fn system_resolvconf_name(ifname: &str) -> String {
    let order = crate::os::read_bounded("/etc/resolvconf/interface-order", crate::os::MAX_SMALL_FILE).ok();
    let is_link = which::which("resolvconf")
        .ok()
        .and_then(|p| std::fs::symlink_metadata(p).ok())
        .is_some_and(|m| m.file_type().is_symlink());
    crate::plan::dns::resolvconf_name(ifname, order.as_deref(), is_link)
}

/// Runs resolvconf (bounded, see `crate::os::child`); what it writes to stderr is passed on to
/// wgq's stderr.
fn resolvconf(args: &[&str], input: Option<&str>) -> Result<String, DnsError> {
    let mut h = crate::os::child::Helper::new("resolvconf", args);
    if let Some(i) = input {
        h = h.input(i.as_bytes());
    }
    let out = match h.run() {
        Err(ChildError::Missing { .. }) => return Err(DnsError::NoBackend),
        r => r?,
    };
    let _ = std::io::stderr().write_all(&out.stderr);
    if !out.status.success() {
        return Err(DnsError::Failed(out.status.code().unwrap_or(1)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `resolvconf -a <name> -m 0 -x` with `input` on stdin.
pub fn set_dns(name: &str, input: &str) -> Result<(), DnsError> {
    resolvconf(&["-a", name, "-m", "0", "-x"], Some(input)).map(|_| ())
}

/// `resolvconf -d <name> -f`.
pub fn unset_dns(name: &str) -> Result<(), DnsError> {
    resolvconf(&["-d", name, "-f"], None).map(|_| ())
}

/// The `File` backend's copy of /etc/resolv.conf for `ifname`, in this namespace's run state.
fn resolv_conf_copy(ifname: &str) -> std::io::Result<std::path::PathBuf> {
    let run = crate::system::runstate::RunState::current()?;
    std::fs::create_dir_all(run.dir())?;
    Ok(run.dir().join(format!("{ifname}.resolv.conf")))
}

/// Writes `text` over `path` in place: the same inode (a bind mount cannot be renamed over),
/// truncated, written whole, synced. Not atomic: the one exception to wgq's atomic writes
/// (docs/compatibility.md); a reader in between may see it empty.
pub fn write_in_place(path: &std::path::Path, text: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().write(true).truncate(true).open(path)?;
    f.write_all(text)?;
    f.sync_all()
}

/// The `File` backend's `up`: /etc/resolv.conf's content kept (once: a copy left by a run
/// that did not restore it is the original), then `input` written in place.
pub fn write_resolv_conf(ifname: &str, input: &str) -> std::io::Result<()> {
    let copy = resolv_conf_copy(ifname)?;
    let path = std::path::Path::new(crate::plan::RESOLV_CONF);
    if !copy.exists() {
        let old = crate::os::read_bounded(path, crate::os::MAX_SMALL_FILE)?;
        crate::os::files::write_atomic(&copy, &old)?;
    }
    write_in_place(path, input.as_bytes())
}

/// The `File` backend's `down`: the kept content written back in place, the copy removed.
pub fn restore_resolv_conf(ifname: &str) -> std::io::Result<()> {
    let copy = resolv_conf_copy(ifname)?;
    let old = match crate::os::read_bounded(&copy, crate::os::MAX_SMALL_FILE) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    write_in_place(std::path::Path::new(crate::plan::RESOLV_CONF), old.as_bytes())?;
    std::fs::remove_file(&copy)
}

/// Whether /etc/resolv.conf is a mount point of its own (a container runtime's bind mount,
/// `ip netns exec`'s) that this process may write.
pub fn resolv_conf_mounted_writable() -> bool {
    let Ok(info) = crate::os::read_bounded("/proc/self/mountinfo", crate::os::MAX_HOSTS_FILE) else { return false };
    // The fifth field is the mount point (octal escapes for spaces; this path has none).
    let mounted = info.lines().any(|l| l.split(' ').nth(4) == Some(crate::plan::RESOLV_CONF));
    // SAFETY: access(2) with a NUL-terminated literal path.
    mounted && unsafe { libc::access(c"/etc/resolv.conf".as_ptr(), libc::W_OK) } == 0
}

/// The nameservers registered under `name` (`resolvconf -l`, else resolvconf's run file);
/// `None` when neither can tell (systemd-resolved's resolvconf has no `-l`).
pub fn list_dns(name: &str) -> Option<Vec<String>> {
    match resolvconf(&["-l", name], None) {
        Ok(t) => Some(crate::plan::dns::parse_resolvconf_list(&t)),
        Err(_) => crate::os::read_bounded(format!("/etc/resolvconf/run/interface/{name}"), crate::os::MAX_SMALL_FILE)
            .ok()
            .map(|t| crate::plan::dns::parse_resolvconf_list(&t)),
    }
}
