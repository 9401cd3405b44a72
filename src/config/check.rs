//! Advisory checks for `wgq check`: things wg-quick accepts but that probably do not do
//! what the author meant. Each finding names its line.

use std::collections::HashMap;
use std::path::Path;

use super::{Config, Diagnostic, Severity};

/// Facts about the file itself.
#[derive(Debug, Clone, Default)]
pub struct FileFacts {
    /// Permission bits of the file and of its directory (for wg-quick's world-accessible rule).
    pub file_mode: Option<u32>,
    pub dir_mode: Option<u32>,
    pub interface: String,
    /// Which families the host has global addresses of (besides the interface's own), as
    /// observed; `None` when unknown.
    pub host: Option<HostAddresses>,
}

/// Whether the host has global (scope universe) addresses of each family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostAddresses {
    pub v4: bool,
    pub v6: bool,
}

impl FileFacts {
    pub fn from_path(path: &Path, interface: &str) -> FileFacts {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).ok().map(|m| m.permissions().mode());
        FileFacts { file_mode: mode(path), dir_mode: path.parent().and_then(mode), interface: interface.to_string(), host: None }
    }
}

/// The warnings of `wgq check` (besides the parser's own).
pub fn check(cfg: &Config, facts: &FileFacts) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut warn = |line: usize, message: String| {
        out.push(Diagnostic { severity: Severity::Warning, path: cfg.path.clone(), line, message });
    };
    if let (Some(f), Some(d)) = (facts.file_mode, facts.dir_mode)
        && f & d & 0o007 != 0
    {
        warn(0, "the file is world accessible (it holds a private key); chmod 600 it".into());
    }
    let i = &cfg.interface;
    let all: Vec<_> = cfg.peers.iter().flat_map(|p| p.allowed_ips.iter().map(move |a| (p, a))).collect();
    // A full tunnel of one family lets the other out beside it, where the host has
    // addresses of that family (unknown: assume it has IPv6, as most hosts do).
    let default_of = |v6: bool| all.iter().find(|(_, a)| a.prefix == 0 && a.is_ipv6() == v6);
    let kill_switch = if i.table_setting() == super::TableSetting::Auto {
        ", or bring the tunnel up with `wgq up --kill-switch`, which rejects what does not go through it"
    } else {
        ""
    };
    for (v6, ours, other, leaking) in [(true, "0.0.0.0/0", "::/0", "IPv6"), (false, "::/0", "0.0.0.0/0", "IPv4")] {
        let has_other = facts.host.map(|h| if v6 { h.v6 } else { h.v4 });
        if let (Some((p, _)), None) = (default_of(!v6), default_of(v6))
            && has_other.unwrap_or(v6)
        {
            let seen = if has_other.is_some() { format!(" (this host has global {leaking} addresses)") } else { String::new() };
            warn(
                p.line,
                format!(
                    "AllowedIPs: {ours} without {other} sends {} through the tunnel but lets {leaking} leak outside \
                     it{seen}; add {other} to AllowedIPs{kill_switch}",
                    if v6 { "IPv4" } else { "IPv6" }
                ),
            );
        }
    }
    if i.dns.is_empty() && !i.dns_search.is_empty() {
        warn(0, format!("DNS: search domains ({}) without a nameserver are ignored", i.dns_search.join(", ")));
    }
    if i.save_config {
        if let Some(h) = i.pre_up.iter().chain(&i.post_up).chain(&i.pre_down).chain(&i.post_down).next() {
            warn(
                h.line,
                "SaveConfig = true: the saved file will keep the hooks but lose every comment and blank-line layout".into(),
            );
        }
        for p in &cfg.peers {
            if let Some(e) = &p.endpoint
                && crate::net::parse_addr_strict(e.value.host.split('%').next().unwrap_or("")).is_none()
            {
                warn(
                    e.line,
                    format!("SaveConfig = true: the host name in Endpoint `{}' will be saved as an IP address", e.value),
                );
            }
        }
        if !i.dns_search.is_empty() {
            warn(0, "SaveConfig = true: DNS search domains are not saved".into());
        }
        if i.mtu.is_none() {
            warn(0, "SaveConfig = true: the listen port and fwmark chosen at run time will be saved".into());
        }
    }
    // The device ignores a peer with the interface's own key (see below): its allowed IPs
    // take nothing from the others.
    let own = i.private_key.as_ref().map(|k| k.public_key());
    let mut seen: HashMap<crate::net::IpNet, usize> = HashMap::new();
    for (p, a) in all.iter().filter(|(p, _)| Some(p.public_key) != own) {
        if let Some(prev) = seen.insert(a.network(), p.line)
            && prev != p.line
        {
            warn(
                p.line,
                format!("AllowedIPs: {} is also allowed for the peer of line {prev}; only the last peer keeps it", a.network()),
            );
        }
    }
    let mut keys: HashMap<crate::key::Key, usize> = HashMap::new();
    for p in &cfg.peers {
        if let Some(prev) = keys.insert(p.public_key, p.line) {
            warn(p.line, format!("PublicKey: the same peer is also defined at line {prev}; the sections are merged"));
        }
        if let Some(sk) = &i.private_key
            && sk.public_key() == p.public_key
        {
            warn(
                p.line,
                "PublicKey: this peer is the interface itself (its key matches PrivateKey); the device ignores it, \
                 and so does wgq: no route for its AllowedIPs (fine for a peers list shared by every node)"
                    .into(),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    const P: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    const P2: &str = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";

    #[test]
    fn findings() {
        let own = crate::key::Key::from_base64(K).unwrap().public_key().to_base64();
        let t = format!(
            "[Interface]\nPrivateKey = {K}\nDNS = corp.local\n[Peer]\nPublicKey = {P}\nAllowedIPs = 0.0.0.0/0, 10.0.0.0/8\n\
             [Peer]\nPublicKey = {own}\nAllowedIPs = 10.0.0.0/8\n[Peer]\nPublicKey = {P2}\nAllowedIPs = 10.0.0.0/8\n"
        );
        let c = super::super::parse(t.as_bytes(), Path::new("/x/wg0.conf")).unwrap();
        let f = FileFacts { file_mode: Some(0o644), dir_mode: Some(0o755), interface: "wg0".into(), host: None };
        let w: Vec<String> = check(&c, &f).iter().map(|d| d.to_string()).collect();
        assert!(w.iter().any(|m| m.contains("world accessible")), "{w:?}");
        assert!(w.iter().any(|m| m.starts_with("/x/wg0.conf:4:") && m.contains("IPv6 leak")), "{w:?}");
        assert!(w.iter().any(|m| m.contains("search domains")), "{w:?}");
        assert!(w.iter().any(|m| m.starts_with("/x/wg0.conf:10:") && m.contains("also allowed for the peer of line 4")), "{w:?}");
        assert!(w.iter().any(|m| m.starts_with("/x/wg0.conf:7:") && m.contains("interface itself")), "{w:?}");
        // The own entry takes no allowed IP from the others: no duplicate warning for it.
        assert!(!w.iter().any(|m| m.starts_with("/x/wg0.conf:7:") && m.contains("also allowed")), "{w:?}");
        let f = FileFacts { file_mode: Some(0o600), dir_mode: Some(0o755), interface: "wg0".into(), host: None };
        assert!(!check(&c, &f).iter().any(|d| d.message.contains("world")));
    }

    #[test]
    fn one_family_full_tunnels_warn_where_the_host_has_the_other_family() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/full-tunnel-ipv4-only.conf"));
        let text = std::fs::read(path).unwrap();
        let c = super::super::parse(&text, path).unwrap();
        let leak = |host: Option<HostAddresses>| -> Vec<String> {
            let f = FileFacts { file_mode: Some(0o600), dir_mode: Some(0o700), interface: "wg0".into(), host };
            check(&c, &f).iter().map(|d| d.to_string()).filter(|m| m.contains("leak")).collect()
        };
        let p = path.display();
        assert_eq!(
            leak(Some(HostAddresses { v4: true, v6: true })),
            [format!(
                "{p}:8: warning: AllowedIPs: 0.0.0.0/0 without ::/0 sends IPv4 through the tunnel but lets IPv6 leak \
                 outside it (this host has global IPv6 addresses); add ::/0 to AllowedIPs, or bring the tunnel up with \
                 `wgq up --kill-switch`, which rejects what does not go through it"
            )]
        );
        assert_eq!(leak(Some(HostAddresses { v4: true, v6: false })), Vec::<String>::new(), "no IPv6 here: no leak");
        let unknown = leak(None);
        assert!(unknown.len() == 1 && !unknown[0].contains("this host"), "{unknown:?}");
        // The other way round, and with a fixed table (no kill switch there).
        let t = format!("[Interface]\nPrivateKey = {K}\nTable = 1234\n[Peer]\nPublicKey = {P}\nAllowedIPs = ::/0\n");
        let c = super::super::parse(t.as_bytes(), Path::new("/x/wg0.conf")).unwrap();
        let f = |host| FileFacts { file_mode: Some(0o600), dir_mode: Some(0o700), interface: "wg0".into(), host };
        let w: Vec<String> = check(&c, &f(Some(HostAddresses { v4: true, v6: true }))).iter().map(|d| d.to_string()).collect();
        assert_eq!(
            w,
            ["/x/wg0.conf:4: warning: AllowedIPs: ::/0 without 0.0.0.0/0 sends IPv6 through the tunnel but lets IPv4 leak \
              outside it (this host has global IPv4 addresses); add 0.0.0.0/0 to AllowedIPs"]
        );
        assert!(check(&c, &f(Some(HostAddresses { v4: false, v6: true }))).is_empty());
        assert!(check(&c, &f(None)).is_empty(), "unknown: IPv4 is not assumed");
    }
}
