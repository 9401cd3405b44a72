//! What `up` needs of the running kernel, checked before anything is touched: a way to
//! make a WireGuard device (the kernel's module, or a userspace implementation), and for a
//! full tunnel the `suppress_prefixlength` of policy rules (Linux 3.12, and vendor kernels
//! with it backported). The facts come from `system::observe_kernel`, which tries the rule
//! in a private network namespace on a kernel older than 3.12; this is the pure decision.

use crate::config::{Config, TableSetting};

/// The first kernel whose policy rules have `suppress_prefixlength` (FRA_SUPPRESS_PREFIXLEN).
/// An older kernel ignores the attribute it does not know and adds a rule that sends every
/// packet to the main table: the full tunnel would leak instead of failing. Vendor kernels
/// (RHEL/CentOS 7's 3.10) may have it backported, so below this version the kernel is
/// asked ([`needs_probe`]) rather than refused.
pub const SUPPRESS_PREFIXLENGTH_SINCE: (u32, u32) = (3, 12);

/// The first kernel with WireGuard in its own tree (CONFIG_WIREGUARD); older ones need the
/// out-of-tree module (wireguard-dkms, kmod-wireguard) or a userspace implementation.
pub const WIREGUARD_IN_TREE_SINCE: (u32, u32) = (5, 6);

/// Whether the kernel can make WireGuard devices, as far as can be seen without trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Module {
    /// Loaded or built in (/sys/module/wireguard).
    Present,
    /// Not loaded, and the kernel's module lists (modules.dep, modules.builtin) name no
    /// wireguard module: creating a device would fail.
    Absent,
    /// Not loaded and no module lists to look in (a container without /lib/modules): the
    /// host may still load it on demand, so nothing is refused.
    #[default]
    Unknown,
}

/// Whether policy rules keep `suppress_prefixlength`, as a probe found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Capability {
    /// A rule added with it came back with it.
    Supported,
    /// A rule added with it came back without it: the kernel dropped the attribute.
    Unsupported,
    /// Not probed (3.12 and later have it; the file needs no such rule), or the probe could
    /// not run (no CAP_SYS_ADMIN for a network namespace, no answer in time): nothing is
    /// refused, and a rule the kernel rejects later rolls `up` back.
    #[default]
    Unknown,
}

/// What was observed of the kernel and of the userspace fallback.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KernelFacts {
    /// uname's release as given (`3.10.0-1160.el7.x86_64`).
    pub release: String,
    /// The userspace implementation `up` would start (`wireguard-go`, or
    /// WG_QUICK_USERSPACE_IMPLEMENTATION) and whether it is found in PATH.
    pub userspace: String,
    pub userspace_found: bool,
    pub module: Module,
    /// `suppress_prefixlength` of policy rules, tried in a private network namespace for
    /// the families of a full tunnel when [`needs_probe`] says so.
    pub suppress_prefixlength: Capability,
}

impl KernelFacts {
    /// `major.minor` of the release, if it starts with them.
    pub fn version(&self) -> Option<(u32, u32)> {
        parse_version(&self.release)
    }
}

/// `major.minor` of a kernel release string (`5.10.0-28-amd64` → (5, 10)).
pub fn parse_version(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// Whether `suppress_prefixlength` has to be tried on a kernel of this release: older
/// than 3.12, or a release whose version cannot be read. Later kernels are not asked.
pub fn needs_probe(release: &str) -> bool {
    parse_version(release).is_none_or(|v| v < SUPPRESS_PREFIXLENGTH_SINCE)
}

/// Whether the file asks for a full tunnel wg-quick's way: Table = auto and a `/0` among
/// the allowed IPs of a peer other than the interface itself; the families concerned
/// (`false` IPv4, `true` IPv6), the families whose `suppress_prefixlength` rule `up` adds.
pub fn full_tunnel_families(cfg: &Config, own: Option<crate::key::Key>) -> Vec<bool> {
    if cfg.interface.table_setting() != TableSetting::Auto {
        return Vec::new();
    }
    [false, true]
        .into_iter()
        .filter(|&v6| {
            cfg.peers
                .iter()
                .filter(|p| Some(p.public_key) != own)
                .any(|p| p.allowed_ips.iter().any(|a| a.prefix == 0 && a.addr.is_ipv6() == v6))
        })
        .collect()
}

/// The one-line reason `up` cannot work on this kernel, with what to install or change;
/// `None` when nothing known stands in the way.
pub fn check_up(cfg: &Config, own: Option<crate::key::Key>, k: &KernelFacts) -> Option<String> {
    let release = if k.release.is_empty() { "this kernel" } else { k.release.as_str() };
    if k.module == Module::Absent && !k.userspace_found {
        let module_hint = match k.version() {
            Some(v) if v < WIREGUARD_IN_TREE_SINCE => {
                "the out-of-tree module (kmod-wireguard or wireguard-dkms; WireGuard is in the kernel from Linux 5.6)"
            }
            _ => "a kernel built with CONFIG_WIREGUARD",
        };
        return Some(format!(
            "Linux {release} has no WireGuard kernel module and `{}' (the userspace implementation) is not in PATH: install \
             {module_hint}, or wireguard-go (or set WG_QUICK_USERSPACE_IMPLEMENTATION)",
            k.userspace
        ));
    }
    let families = full_tunnel_families(cfg, own);
    if !families.is_empty() && k.suppress_prefixlength == Capability::Unsupported {
        let names: Vec<&str> = families.iter().map(|&v6| if v6 { "::/0" } else { "0.0.0.0/0" }).collect();
        return Some(format!(
            "Linux {release} has no `suppress_prefixlength' for policy rules (Linux 3.12 and later; a rule added with it \
             in a private network namespace came back without it), which the full tunnel of AllowedIPs {} needs with \
             Table = auto: run a newer kernel (such as kernel-ml), or set Table = off and add the routes in PostUp",
            names.join(" and ")
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    const PEER: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

    fn cfg(table: &str, allowed: &str) -> Config {
        let text = format!("[Interface]\nPrivateKey = {KEY}\n{table}\n[Peer]\nPublicKey = {PEER}\nAllowedIPs = {allowed}\n");
        crate::config::parse(text.as_bytes(), std::path::Path::new("/etc/wireguard/wg0.conf")).unwrap()
    }

    fn facts(release: &str, module: Module, userspace_found: bool) -> KernelFacts {
        KernelFacts {
            release: release.into(),
            userspace: "wireguard-go".into(),
            userspace_found,
            module,
            suppress_prefixlength: Capability::Unknown,
        }
    }

    fn probed(release: &str, c: Capability) -> KernelFacts {
        KernelFacts { suppress_prefixlength: c, ..facts(release, Module::Present, false) }
    }

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("3.10.0-1160.el7.x86_64"), Some((3, 10)));
        assert_eq!(parse_version("6.1.0-18-amd64"), Some((6, 1)));
        assert_eq!(parse_version("5.6"), Some((5, 6)));
        assert_eq!(parse_version("4.19.0+"), Some((4, 19)));
        assert_eq!(parse_version(""), None);
        assert_eq!(parse_version("generic"), None);
        assert_eq!(parse_version("5"), None);
        assert_eq!(parse_version("99999999999.1"), None);
    }

    #[test]
    fn no_module_and_no_userspace_is_refused_with_what_to_install() {
        let c = cfg("", "10.0.0.0/24");
        let msg = check_up(&c, None, &facts("3.10.0-1160.el7.x86_64", Module::Absent, false)).unwrap();
        assert!(msg.starts_with("Linux 3.10.0-1160.el7.x86_64 has no WireGuard kernel module"), "{msg}");
        assert!(msg.contains("kmod-wireguard") && msg.contains("wireguard-go"), "{msg}");
        assert!(!msg.contains('\n'));
        let msg = check_up(&c, None, &facts("6.1.0-18-amd64", Module::Absent, false)).unwrap();
        assert!(msg.contains("CONFIG_WIREGUARD") && !msg.contains("kmod-wireguard"), "{msg}");
        // Either way out is enough; and a module that may load on demand is not refused.
        assert_eq!(check_up(&c, None, &facts("3.10.0", Module::Absent, true)), None);
        assert_eq!(check_up(&c, None, &facts("3.10.0", Module::Present, false)), None);
        assert_eq!(check_up(&c, None, &facts("3.10.0", Module::Unknown, false)), None);
    }

    #[test]
    fn only_kernels_before_3_12_are_probed() {
        assert!(needs_probe("3.10.0-1160.el7.x86_64"));
        assert!(needs_probe("3.11.10"));
        assert!(needs_probe("2.6.32"));
        // An unreadable version is asked too rather than guessed.
        assert!(needs_probe(""));
        assert!(needs_probe("generic"));
        assert!(!needs_probe("3.12.0"));
        assert!(!needs_probe("4.19.0+"));
        assert!(!needs_probe("6.1.0-18-amd64"));
    }

    #[test]
    fn full_tunnel_families_are_the_ones_with_a_slash_0() {
        assert_eq!(full_tunnel_families(&cfg("", "0.0.0.0/0"), None), [false]);
        assert_eq!(full_tunnel_families(&cfg("", "::/0"), None), [true]);
        assert_eq!(full_tunnel_families(&cfg("", "::/0, 0.0.0.0/0"), None), [false, true]);
        assert!(full_tunnel_families(&cfg("", "0.0.0.0/1, 128.0.0.0/1"), None).is_empty());
        assert!(full_tunnel_families(&cfg("Table = off", "0.0.0.0/0"), None).is_empty());
    }

    #[test]
    fn a_full_tunnel_is_refused_only_where_the_kernel_dropped_suppress_prefixlength() {
        for allowed in ["0.0.0.0/0", "::/0", "10.0.0.0/8, ::/0"] {
            let msg = check_up(&cfg("", allowed), None, &probed("3.10.0-1160.el7.x86_64", Capability::Unsupported)).unwrap();
            assert!(msg.starts_with("Linux 3.10.0-1160.el7.x86_64 has no `suppress_prefixlength'"), "{msg}");
            assert!(msg.contains("Table = off") && msg.contains("3.12"), "{msg}");
            assert!(msg.contains(allowed.rsplit(", ").next().unwrap()) && !msg.contains('\n'), "{msg}");
        }
        let both = check_up(&cfg("", "0.0.0.0/0, ::/0"), None, &probed("3.2.0", Capability::Unsupported)).unwrap();
        assert!(both.contains("AllowedIPs 0.0.0.0/0 and ::/0"), "{both}");
        // The version alone refuses nothing: a 3.10 kernel with the feature backported, or
        // one that could not be asked (no CAP_SYS_ADMIN in a container).
        for c in [Capability::Supported, Capability::Unknown] {
            assert_eq!(check_up(&cfg("", "0.0.0.0/0, ::/0"), None, &probed("3.10.0-1160.el7.x86_64", c)), None);
        }
        // No /0; a table other than auto (no rules): nothing needs the attribute.
        let old = probed("3.10.0", Capability::Unsupported);
        assert_eq!(check_up(&cfg("", "0.0.0.0/1, 128.0.0.0/1"), None, &old), None);
        assert_eq!(check_up(&cfg("Table = off", "0.0.0.0/0"), None, &old), None);
        assert_eq!(check_up(&cfg("Table = 1234", "0.0.0.0/0"), None, &old), None);
    }

    #[test]
    fn the_interfaces_own_peer_is_no_full_tunnel() {
        let own = crate::key::Key::from_base64(PEER).unwrap();
        let old = probed("3.10.0", Capability::Unsupported);
        assert_eq!(check_up(&cfg("", "0.0.0.0/0"), Some(own), &old), None);
        assert!(full_tunnel_families(&cfg("", "0.0.0.0/0"), Some(own)).is_empty());
    }
}
