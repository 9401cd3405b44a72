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
}

impl FileFacts {
    pub fn from_path(path: &Path, interface: &str) -> FileFacts {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).ok().map(|m| m.permissions().mode());
        FileFacts { file_mode: mode(path), dir_mode: path.parent().and_then(mode), interface: interface.to_string() }
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
    let v4_default = all.iter().find(|(_, a)| a.prefix == 0 && !a.is_ipv6());
    let v6_default = all.iter().any(|(_, a)| a.prefix == 0 && a.is_ipv6());
    if let (Some((p, _)), false) = (v4_default, v6_default) {
        warn(
            p.line,
            "AllowedIPs: 0.0.0.0/0 without ::/0 sends IPv4 through the tunnel but lets IPv6 leak outside it; \
             add ::/0 to route IPv6 too"
                .into(),
        );
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
        let f = FileFacts { file_mode: Some(0o644), dir_mode: Some(0o755), interface: "wg0".into() };
        let w: Vec<String> = check(&c, &f).iter().map(|d| d.to_string()).collect();
        assert!(w.iter().any(|m| m.contains("world accessible")), "{w:?}");
        assert!(w.iter().any(|m| m.starts_with("/x/wg0.conf:4:") && m.contains("IPv6 leak")), "{w:?}");
        assert!(w.iter().any(|m| m.contains("search domains")), "{w:?}");
        assert!(w.iter().any(|m| m.starts_with("/x/wg0.conf:10:") && m.contains("also allowed for the peer of line 4")), "{w:?}");
        assert!(w.iter().any(|m| m.starts_with("/x/wg0.conf:7:") && m.contains("interface itself")), "{w:?}");
        // The own entry takes no allowed IP from the others: no duplicate warning for it.
        assert!(!w.iter().any(|m| m.starts_with("/x/wg0.conf:7:") && m.contains("also allowed")), "{w:?}");
        let f = FileFacts { file_mode: Some(0o600), dir_mode: Some(0o755), interface: "wg0".into() };
        assert!(!check(&c, &f).iter().any(|d| d.message.contains("world")));
    }
}
