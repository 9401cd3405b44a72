//! DNS through resolvconf, as wg-quick does it (reference §3.8, §5.1 step 3).

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;

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

/// The name DNS is registered under: `<prefix><if>`, where the prefix comes from the first
/// `name*` line of /etc/resolvconf/interface-order (`tun*` gives `tun.`), and only when
/// `resolvconf` is not a symlink (upstream; systemd-resolved's resolvconf is one).
pub fn resolvconf_name(ifname: &str, interface_order: Option<&str>, resolvconf_is_symlink: bool) -> String {
    if resolvconf_is_symlink {
        return ifname.to_string();
    }
    let prefix = interface_order.and_then(|t| {
        t.lines().find_map(|l| {
            let stem = l.strip_suffix('*')?;
            (!stem.is_empty() && stem.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')).then(|| format!("{stem}."))
        })
    });
    format!("{}{ifname}", prefix.unwrap_or_default())
}

/// [`resolvconf_name`] with this system's files.
pub fn system_resolvconf_name(ifname: &str) -> String {
    let order = std::fs::read_to_string("/etc/resolvconf/interface-order").ok();
    let is_link = which::which("resolvconf")
        .ok()
        .and_then(|p| std::fs::symlink_metadata(p).ok())
        .is_some_and(|m| m.file_type().is_symlink());
    resolvconf_name(ifname, order.as_deref(), is_link)
}

/// What is fed to `resolvconf -a`: a nameserver line each, then one search line.
pub fn resolvconf_input(servers: &[IpAddr], search: &[String]) -> String {
    let mut s = String::new();
    for n in servers {
        let _ = writeln!(s, "nameserver {n}");
    }
    if !search.is_empty() {
        let _ = writeln!(s, "search {}", search.join(" "));
    }
    s
}

/// The nameservers of `resolvconf -l` output (for save): lines exactly `nameserver <token>`.
pub fn parse_resolvconf_list(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let t = l.strip_prefix("nameserver ")?;
            (!t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"_=+:%.-".contains(&b))).then(|| t.to_string())
        })
        .collect()
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
        Ok(t) => Some(parse_resolvconf_list(&t)),
        Err(_) => {
            std::fs::read_to_string(format!("/etc/resolvconf/run/interface/{name}")).ok().map(|t| parse_resolvconf_list(&t))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(resolvconf_name("wg0", None, false), "wg0");
        let order = "# comment\nlo.inet*\nlo.dnsmasq\ntun*\ntap*\n";
        assert_eq!(resolvconf_name("wg0", Some(order), false), "tun.wg0");
        assert_eq!(resolvconf_name("wg0", Some(order), true), "wg0");
        assert_eq!(resolvconf_name("wg0", Some("lo.inet*\n*\n"), false), "wg0");
    }

    #[test]
    fn input_and_list() {
        let s: Vec<IpAddr> = vec!["10.8.0.1".parse().unwrap(), "fd00:8::1".parse().unwrap()];
        assert_eq!(
            resolvconf_input(&s, &["example.com".into(), "corp.local".into()]),
            "nameserver 10.8.0.1\nnameserver fd00:8::1\nsearch example.com corp.local\n"
        );
        assert_eq!(resolvconf_input(&s[..1], &[]), "nameserver 10.8.0.1\n");
        assert_eq!(
            parse_resolvconf_list("nameserver 1.1.1.1\nsearch x\nnameserver fe80::1%wg0\nnameserver  bad\n"),
            ["1.1.1.1", "fe80::1%wg0"]
        );
    }
}
