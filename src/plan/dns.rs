//! What wg-quick gives resolvconf (reference §3.8, §5.1 step 3): the name DNS is registered
//! under, the text fed to `resolvconf -a`, and the nameservers of `resolvconf -l` output; and
//! which DNS backend `up` uses (resolvconf as wg-quick, or systemd-resolved natively), with
//! the per-link calls of the second.

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

/// Which tool carries the interface's DNS (chosen at `up`, recorded for `down`/`reload`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DnsBackend {
    /// `resolvconf -a/-d`, exactly as wg-quick (also when no backend exists: it then fails as
    /// wg-quick does, `resolvconf: command not found`, status 127).
    #[default]
    Resolvconf,
    /// systemd-resolved's per-link settings (`resolvectl domain/default-route/dns/revert`).
    Resolved,
    /// /etc/resolv.conf itself, written in place and given back its old content at `down`:
    /// only where neither resolvconf nor systemd-resolved exists and the file is a writable
    /// mount point of its own (a container runtime's bind mount), so it cannot be renamed over.
    File,
}

/// What the `resolvconf` found in PATH is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolvconfKind {
    /// openresolv or Debian's resolvconf: anything that is not systemd's shim.
    Real,
    /// systemd-resolved's compatibility shim (a link to `resolvectl`/`systemd-resolve`).
    ResolvedShim,
}

/// What the backend choice looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DnsProbe {
    /// `resolvconf` in PATH, and what it is.
    pub resolvconf: Option<ResolvconfKind>,
    /// `resolvectl` in PATH.
    pub resolvectl: bool,
    /// `org.freedesktop.resolve1` has an owner on the system bus (no activation).
    pub resolved_on_bus: bool,
    /// /etc/resolv.conf is a mount point of its own (a bind mount) and writable.
    pub resolv_conf_mounted_writable: bool,
}

/// The detection order (docs/compatibility.md): a real resolvconf wins (wg-quick's exact
/// behaviour, whatever else runs); else a running systemd-resolved with `resolvectl` is set
/// natively; else resolvconf as wg-quick runs it: the shim if there is one (which then fails
/// or activates resolved as it would for wg-quick), or none, which fails with status 127.
pub fn choose_backend(p: &DnsProbe) -> DnsBackend {
    match p.resolvconf {
        Some(ResolvconfKind::Real) => DnsBackend::Resolvconf,
        _ if p.resolved_on_bus && p.resolvectl => DnsBackend::Resolved,
        None if p.resolv_conf_mounted_writable => DnsBackend::File,
        _ => DnsBackend::Resolvconf,
    }
}

/// Whether a `resolvconf` whose final target (all links followed) is named `target` is
/// systemd's shim.
pub fn resolvconf_kind(target_basename: &str) -> ResolvconfKind {
    match target_basename {
        "resolvectl" | "systemd-resolve" => ResolvconfKind::ResolvedShim,
        _ => ResolvconfKind::Real,
    }
}

/// Whether /etc/resolv.conf, a link to `target`, makes programs bypass systemd-resolved's
/// stub: resolved's `/run/systemd/resolve/resolv.conf` lists the links' servers themselves,
/// so glibc asks them directly and routing domains (`~.`) do not apply.
pub fn resolv_conf_bypasses_stub(target: Option<&std::path::Path>) -> bool {
    target.is_some_and(|t| t == std::path::Path::new("/run/systemd/resolve/resolv.conf"))
}

/// The routing-only root domain that makes the link's servers answer every query no other
/// link's domain matches more specifically (what wg-quick's `resolvconf -x` means).
pub const ROUTE_ALL: &str = "~.";

/// One per-link call to systemd-resolved (`resolvectl VERB IF ARGS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolvedCall {
    /// `SetLinkDomains`: search domains, then `~.`.
    Domains(Vec<String>),
    /// `SetLinkDefaultRoute`.
    DefaultRoute(bool),
    /// `SetLinkDNS`.
    Servers(Vec<IpAddr>),
    /// `RevertLink`: every per-link setting dropped.
    Revert,
}

impl ResolvedCall {
    /// The `resolvectl` arguments after the interface name.
    pub fn verb_and_args(&self) -> (&'static str, Vec<String>) {
        match self {
            ResolvedCall::Domains(d) => ("domain", d.clone()),
            ResolvedCall::DefaultRoute(b) => ("default-route", vec![if *b { "yes" } else { "no" }.to_string()]),
            ResolvedCall::Servers(s) => ("dns", s.iter().map(|a| a.to_string()).collect()),
            ResolvedCall::Revert => ("revert", Vec::new()),
        }
    }

    /// The arguments of `resolvectl`: the verb, then `--` when an operand begins with `-`
    /// (a search domain `-h` from `DNS =`, which wg-quick hands to resolvconf as data, is no
    /// option of resolvectl), then the interface and the values.
    pub fn argv(&self, ifname: &str) -> Vec<String> {
        let (verb, args) = self.verb_and_args();
        let mut v = vec![verb.to_string()];
        if ifname.starts_with('-') || args.iter().any(|a| a.starts_with('-')) {
            v.push("--".into());
        }
        v.push(ifname.to_string());
        v.extend(args);
        v
    }

    /// `resolvectl dns wg0 10.0.0.1`: the trace line (the arguments as run).
    pub fn trace(&self, ifname: &str) -> String {
        format!("resolvectl {}", self.argv(ifname).join(" "))
    }
}

/// The calls that give a link these servers and search domains, in the order
/// systemd's VPN guidance asks for: domains and default route before the servers.
pub fn resolved_calls(servers: &[IpAddr], search: &[String]) -> Vec<ResolvedCall> {
    let mut domains = search.to_vec();
    domains.push(ROUTE_ALL.to_string());
    vec![ResolvedCall::Domains(domains), ResolvedCall::DefaultRoute(true), ResolvedCall::Servers(servers.to_vec())]
}

/// The servers and search domains of a `resolvconf_input` text (what the record keeps), as
/// the calls that set them again.
pub fn resolved_calls_from_input(input: &str) -> Vec<ResolvedCall> {
    let mut servers = Vec::new();
    let mut search = Vec::new();
    for l in input.lines() {
        if let Some(a) = l.strip_prefix("nameserver ").and_then(|a| a.trim().parse().ok()) {
            servers.push(a);
        } else if let Some(d) = l.strip_prefix("search ") {
            search.extend(d.split_whitespace().map(String::from));
        }
    }
    resolved_calls(&servers, &search)
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
    fn backend_detection_order() {
        use DnsBackend::*;
        use ResolvconfKind::*;
        let p = |resolvconf, resolvectl, resolved_on_bus| DnsProbe {
            resolvconf,
            resolvectl,
            resolved_on_bus,
            resolv_conf_mounted_writable: false,
        };
        // A real resolvconf always wins, even with resolved running.
        assert_eq!(choose_backend(&p(Some(Real), true, true)), Resolvconf);
        assert_eq!(choose_backend(&p(Some(Real), false, false)), Resolvconf);
        // The shim or nothing, with resolved on the bus and resolvectl: native.
        assert_eq!(choose_backend(&p(Some(ResolvedShim), true, true)), Resolved);
        assert_eq!(choose_backend(&p(None, true, true)), Resolved);
        // Resolved not running: the shim as wg-quick runs it; nothing: resolvconf (fails, 127).
        assert_eq!(choose_backend(&p(Some(ResolvedShim), true, false)), Resolvconf);
        assert_eq!(choose_backend(&p(None, true, false)), Resolvconf);
        // On the bus but no resolvectl to talk to it with.
        assert_eq!(choose_backend(&p(None, false, true)), Resolvconf);
        // A container's bind-mounted, writable resolv.conf: written in place, but only where
        // neither resolvconf (even the shim) nor a running resolved exists.
        let file = |mut d: DnsProbe| {
            d.resolv_conf_mounted_writable = true;
            choose_backend(&d)
        };
        assert_eq!(file(p(None, false, false)), File);
        assert_eq!(file(p(None, true, false)), File);
        assert_eq!(file(p(None, true, true)), Resolved);
        assert_eq!(file(p(Some(Real), false, false)), Resolvconf);
        assert_eq!(file(p(Some(ResolvedShim), true, false)), Resolvconf);
        assert_eq!(resolvconf_kind("resolvectl"), ResolvedShim);
        assert_eq!(resolvconf_kind("systemd-resolve"), ResolvedShim);
        assert_eq!(resolvconf_kind("resolvconf"), Real);
        assert_eq!(resolvconf_kind("openresolv"), Real);
    }

    #[test]
    fn resolv_conf_modes() {
        use std::path::Path;
        assert!(resolv_conf_bypasses_stub(Some(Path::new("/run/systemd/resolve/resolv.conf"))));
        assert!(!resolv_conf_bypasses_stub(Some(Path::new("/run/systemd/resolve/stub-resolv.conf"))));
        assert!(!resolv_conf_bypasses_stub(None));
    }

    #[test]
    fn resolved_calls_and_traces() {
        let s: Vec<IpAddr> = vec!["10.8.0.1".parse().unwrap(), "fd00:8::1".parse().unwrap()];
        let c = resolved_calls(&s, &["example.com".into(), "corp.local".into()]);
        let t: Vec<String> = c.iter().map(|c| c.trace("wg0")).collect();
        assert_eq!(
            t,
            [
                "resolvectl domain wg0 example.com corp.local ~.",
                "resolvectl default-route wg0 yes",
                "resolvectl dns wg0 10.8.0.1 fd00:8::1"
            ]
        );
        assert_eq!(ResolvedCall::Revert.trace("wg0"), "resolvectl revert wg0");
        // A search domain (or an interface name) that looks like an option is an operand.
        let calls = resolved_calls(&["10.8.0.1".parse().unwrap()], &["-h".into(), "--help".into()]);
        assert_eq!(calls[0].argv("wg0"), ["domain", "--", "wg0", "-h", "--help", "~."]);
        assert_eq!(calls[0].trace("wg0"), "resolvectl domain -- wg0 -h --help ~.");
        assert_eq!(ResolvedCall::Revert.argv("-x"), ["revert", "--", "-x"]);
        assert_eq!(calls[1].argv("wg0"), ["default-route", "wg0", "yes"]);
        assert_eq!(resolved_calls(&s[..1], &[])[0], ResolvedCall::Domains(vec!["~.".into()]));
        // The recorded text gives the same calls back.
        let input = resolvconf_input(&s, &["example.com".into(), "corp.local".into()]);
        assert_eq!(resolved_calls_from_input(&input), c);
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
