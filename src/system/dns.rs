//! DNS through resolvconf, as wg-quick does it (reference §3.8, §5.1 step 3).

use std::io::Write as _;

/// resolvconf failed.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("resolvconf failed with status {0}")]
    Failed(i32),
    /// Not found, not runnable, or killed at its bound.
    #[error(transparent)]
    Run(#[from] crate::os::child::ChildError),
}

impl DnsError {
    pub fn status(&self) -> i32 {
        match self {
            DnsError::Failed(s) => *s,
            DnsError::Run(e) => e.status(),
        }
    }
}

/// `plan::dns::resolvconf_name` with this system's files.
pub fn system_resolvconf_name(ifname: &str) -> String {
    let order = std::fs::read_to_string("/etc/resolvconf/interface-order").ok();
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
    let out = h.run()?;
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

/// The nameservers registered under `name` (`resolvconf -l`, else resolvconf's run file);
/// `None` when neither can tell (systemd-resolved's resolvconf has no `-l`).
pub fn list_dns(name: &str) -> Option<Vec<String>> {
    match resolvconf(&["-l", name], None) {
        Ok(t) => Some(crate::plan::dns::parse_resolvconf_list(&t)),
        Err(_) => std::fs::read_to_string(format!("/etc/resolvconf/run/interface/{name}"))
            .ok()
            .map(|t| crate::plan::dns::parse_resolvconf_list(&t)),
    }
}
