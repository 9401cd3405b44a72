//! What wg-quick gives resolvconf (reference §3.8, §5.1 step 3): the name DNS is registered
//! under, the text fed to `resolvconf -a`, and the nameservers of `resolvconf -l` output.

use std::fmt::Write as _;
use std::net::IpAddr;

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
