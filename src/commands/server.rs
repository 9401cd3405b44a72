//! `wgq server init`: a VPN server's file, written so that it alone (under wgq or
//! wg-quick) reproduces the setup — keys, the address pools, the port, NAT for the pools
//! out of the uplink in PostUp/PostDown, and the defaults of the client files in
//! `# Client… =` comments — plus IP forwarding (an /etc/sysctl.d drop-in, applied now).

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::{AppError, CONFIG_DIR, io};
use crate::config::locate;
use crate::key::SecretKey;
use crate::net::IpNet;

/// Where forwarding is made permanent.
pub const SYSCTL_DIR: &str = "/etc/sysctl.d";

/// Which tool PostUp/PostDown use for NAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nat {
    Nft,
    Iptables,
}

/// `wgq server init`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InitArgs {
    pub interface: String,
    pub config_dir: Option<PathBuf>,
    pub address: Option<String>,
    pub port: Option<String>,
    pub endpoint: Option<String>,
    pub out_dev: Option<String>,
    pub no_nat: bool,
    pub nat: Option<Nat>,
    pub dns: Option<String>,
    pub client_allowed_ips: Option<String>,
    pub keepalive: Option<u16>,
    pub mtu: Option<u32>,
    pub no_forwarding: bool,
    pub sysctl_dir: Option<PathBuf>,
    pub force: bool,
    pub dry_run: bool,
}

fn other(s: impl Into<String>) -> AppError {
    AppError::Other(s.into())
}

fn random_u64() -> Result<u64, AppError> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| io("Unable to read random bytes", std::io::Error::other(e.to_string())))?;
    Ok(u64::from_le_bytes(b))
}

/// A unique local IPv6 /64 (RFC 4193: fd00::/8 and a random 40-bit global ID), `::1` the server's.
fn random_ula() -> Result<IpNet, AppError> {
    let r = random_u64()?;
    let g = |i: u32| ((r >> i) & 0xffff) as u16;
    let a = std::net::Ipv6Addr::new(0xfd00 | ((r >> 32) & 0xff) as u16, g(16), g(0), 0, 0, 0, 0, 1);
    Ok(IpNet::new(IpAddr::V6(a), 64))
}

/// Private (RFC 1918), shared (CGNAT, RFC 6598), loopback, link-local or unique local:
/// an address clients on the internet cannot reach.
pub fn is_private(a: IpAddr) -> Option<&'static str> {
    match a {
        IpAddr::V4(v) => {
            let o = v.octets();
            if v.is_private() {
                Some("a private address (RFC 1918)")
            } else if o[0] == 100 && (64..128).contains(&o[1]) {
                Some("a carrier-grade NAT address (RFC 6598)")
            } else if v.is_loopback() || v.is_link_local() {
                Some("a loopback or link-local address")
            } else {
                None
            }
        }
        IpAddr::V6(v) => {
            let s = v.segments()[0];
            if s & 0xfe00 == 0xfc00 {
                Some("a unique local address (RFC 4193)")
            } else if s & 0xffc0 == 0xfe80 || v.is_loopback() {
                Some("a loopback or link-local address")
            } else {
                None
            }
        }
    }
}

/// The PostUp/PostDown lines of NAT for `pools` out of `dev`.
pub fn nat_hooks(kind: Nat, ifname: &str, pools: &[IpNet], dev: &str) -> (String, String) {
    match kind {
        Nat::Nft => {
            let t = format!("inet wgq-{ifname}");
            let mut up = format!(
                "nft 'add table {t}; delete table {t}; add table {t}; add chain {t} nat {{ type nat hook postrouting priority srcnat; }}"
            );
            for p in pools {
                let fam = if p.is_ipv6() { "ip6" } else { "ip" };
                let _ = write!(up, "; add rule {t} nat {fam} saddr {} oifname \"{dev}\" masquerade", p.network());
            }
            up.push('\'');
            (up, format!("nft delete table {t}"))
        }
        Nat::Iptables => {
            let rule = |verb: &str, p: &IpNet| {
                let tool = if p.is_ipv6() { "ip6tables" } else { "iptables" };
                format!("{tool} -t nat {verb} POSTROUTING -s {} -o {dev} -j MASQUERADE", p.network())
            };
            let up: Vec<String> = pools.iter().map(|p| rule("-A", p)).collect();
            let down: Vec<String> = pools.iter().map(|p| rule("-D", p)).collect();
            (up.join("; "), down.join("; "))
        }
    }
}

/// The server file.
#[allow(clippy::too_many_arguments)]
pub fn server_file(
    ifname: &str,
    created: &str,
    addresses: &[IpNet],
    port: u16,
    key: &SecretKey,
    endpoint: &str,
    nat: Option<(Nat, &str)>,
    a: &InitArgs,
) -> String {
    let mut s = format!("# wgq server {ifname}, made by `wgq server init` on {created}.\n");
    s.push_str("# A wg-quick file: `wgq up`, `wg-quick up` and `wgq check` read it. Clients: `wgq peer add|list|remove ...`.\n");
    s.push_str("[Interface]\n");
    let _ = writeln!(s, "# ClientEndpoint = {endpoint}");
    let dns = a.dns.clone().unwrap_or_else(|| "1.1.1.1, 2606:4700:4700::1111".into());
    if dns != "none" {
        let _ = writeln!(s, "# ClientDNS = {dns}");
    }
    let _ = writeln!(s, "# ClientAllowedIPs = {}", a.client_allowed_ips.as_deref().unwrap_or("0.0.0.0/0, ::/0"));
    let _ = writeln!(s, "# ClientKeepalive = {}", a.keepalive.unwrap_or(25));
    if let Some(m) = a.mtu {
        let _ = writeln!(s, "# ClientMTU = {m}");
    }
    let list: Vec<String> = addresses.iter().map(|n| n.to_string()).collect();
    let _ = writeln!(s, "Address = {}", list.join(", "));
    let _ = writeln!(s, "ListenPort = {port}");
    let _ = writeln!(s, "PrivateKey = {}", key.to_base64());
    if let Some((kind, dev)) = nat {
        let (up, down) = nat_hooks(kind, ifname, addresses, dev);
        let _ = writeln!(s, "PostUp = {up}");
        let _ = writeln!(s, "PostDown = {down}");
    }
    s
}

fn parse_port(p: Option<&str>) -> Result<u16, AppError> {
    match p {
        None => Ok(51820),
        Some("random") => Ok(49152 + (random_u64()? % (65536 - 49152)) as u16),
        Some(v) => match crate::config::parse::parse_port(v) {
            Some(n) if n != 0 => Ok(n),
            _ => Err(other(format!("--port: `{v}' is neither a port (1-65535) nor `random'"))),
        },
    }
}

/// `--endpoint HOST[:PORT]`: the port defaults to ListenPort; IPv6 literals get brackets.
pub fn endpoint(given: &str, port: u16) -> Result<String, AppError> {
    let e = if (given.starts_with('[') || !given.contains("::")) && crate::config::parse::parse_endpoint(given).is_ok() {
        given.to_string()
    } else if given.contains(':') && !given.starts_with('[') {
        format!("[{given}]:{port}")
    } else {
        format!("{given}:{port}")
    };
    crate::config::parse::parse_endpoint(&e).map_err(|m| other(format!("--endpoint: {m}")))?;
    Ok(e)
}

/// Runs `wgq server init`.
pub fn init(a: &InitArgs) -> Result<i32, AppError> {
    let ifname = &a.interface;
    if !locate::is_interface_name(ifname) {
        return Err(other(format!(
            "{}: an interface name is 1 to 15 characters among letters, digits and _ = + . -",
            crate::config::peers::shown(ifname)
        )));
    }
    let dir = a.config_dir.clone().unwrap_or_else(|| PathBuf::from(CONFIG_DIR));
    let path = dir.join(format!("{ifname}.conf"));
    let exists = || {
        other(format!(
            "{} exists; add clients with `wgq peer add {ifname} NAME', or pass --force to replace it (its peers and keys are lost)",
            path.display()
        ))
    };
    if path.exists() && !a.force {
        return Err(exists());
    }
    let addresses: Vec<IpNet> = match &a.address {
        Some(list) => list
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|s| !s.is_empty())
            .map(|s| IpNet::parse(s).map_err(|e| other(format!("--address `{s}': {e}"))))
            .collect::<Result<_, _>>()?,
        None => vec![IpNet::parse("10.8.0.1/24").expect("literal"), random_ula()?],
    };
    for n in &addresses {
        if n.prefix + 1 < n.max_prefix() && !n.has_host_bits() {
            return Err(other(format!(
                "--address {n}: give the server's own address in its pool, with the pool's prefix length (10.8.0.1/24)"
            )));
        }
    }
    if addresses.is_empty() {
        return Err(other("--address: no address"));
    }
    let port = parse_port(a.port.as_deref())?;
    let need_uplink = a.endpoint.is_none() || (!a.no_nat && a.out_dev.is_none());
    let uplink = if need_uplink {
        crate::system::LinuxSystem::new(ifname, None)?.observe_uplink()?
    } else {
        crate::system::Uplink::default()
    };
    let endpoint = match &a.endpoint {
        Some(e) => endpoint(e, port)?,
        None => {
            let src = uplink.v4_source.or(uplink.v6_source).ok_or_else(|| {
                other("no default route with a source address: pass --endpoint HOST[:PORT], the name or address clients reach this host at")
            })?;
            if let Some(what) = is_private(src) {
                eprintln!(
                    "{}: warning: the endpoint for clients is {src}, the source address of the default route: {what}. \
                     Clients outside this network cannot reach it; behind NAT, forward UDP port {port} here and pass \
                     --endpoint with the public name or address (it is kept as `# ClientEndpoint' in the file)",
                    crate::program_name()
                );
            }
            endpoint(&src.to_string(), port)?
        }
    };
    let nat = if a.no_nat {
        None
    } else {
        let dev = a.out_dev.clone().or(uplink.device.clone()).ok_or_else(|| {
            other("no default route to masquerade the clients' traffic through: pass --out-dev DEV, or --no-nat")
        })?;
        if !dev.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-@".contains(&b)) || dev.len() > 15 {
            return Err(other(format!("--out-dev {}: not an interface name", crate::config::peers::shown(&dev))));
        }
        let kind = match a.nat {
            Some(k) => k,
            None if which::which("nft").is_ok() => Nat::Nft,
            None if which::which("iptables").is_ok() => Nat::Iptables,
            None => return Err(other("NAT needs nft or iptables, and neither is installed: install nftables, or pass --no-nat")),
        };
        if kind == Nat::Nft && ifname.contains(['+', '=']) {
            return Err(other(format!(
                "`{ifname}': nft table names cannot hold `+' or `='; choose another name or --nat iptables"
            )));
        }
        Some((kind, dev))
    };
    let key = SecretKey::generate_private().map_err(|e| io("Unable to generate a key", e))?;
    let created = crate::config::peers::format_time(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0),
    );
    let text = server_file(ifname, &created, &addresses, port, &key, &endpoint, nat.as_ref().map(|(k, d)| (*k, d.as_str())), a);
    crate::config::parse(text.as_bytes(), &path).map_err(|e| other(format!("the server file would be invalid:\n{e}")))?;
    let v6 = addresses.iter().any(|a| a.is_ipv6());
    let sysctl_dir = a.sysctl_dir.clone().unwrap_or_else(|| PathBuf::from(SYSCTL_DIR));
    let dropin = sysctl_dir.join(format!("99-wgq-{ifname}.conf"));
    let mut sysctl = format!("# IP forwarding for the WireGuard server {ifname} (wgq server init).\nnet.ipv4.ip_forward = 1\n");
    if v6 {
        sysctl.push_str("net.ipv6.conf.all.forwarding = 1\n");
    }
    if a.dry_run {
        let mut s = format!("# {}\n", path.display());
        for l in text.lines() {
            let _ = writeln!(s, "{}", crate::config::edit::hide_secret(l));
        }
        if !a.no_forwarding {
            let _ = writeln!(s, "# {}\n{sysctl}[#] sysctl -w net.ipv4.ip_forward=1", dropin.display());
            if v6 {
                s.push_str("[#] sysctl -w net.ipv6.conf.all.forwarding=1\n");
            }
        }
        print!("{s}");
        return Ok(0);
    }
    create_private_dir(&dir).map_err(|e| io(&format!("Unable to create {}", dir.display()), e))?;
    // Under the file's lock, as every edit: of two inits of one name only one writes, and
    // `--force` never replaces the file in the middle of a `wgq peer` edit.
    let run = crate::system::runstate::RunState::current().map_err(|e| io("Unable to identify the network namespace", e))?;
    let _lock = run.lock_config(Some(&path), ifname)?;
    if path.exists() && !a.force {
        return Err(exists());
    }
    crate::os::files::write_atomic(&path, &text).map_err(|e| io(&format!("Could not write {}", path.display()), e))?;
    let clients = dir.join("clients").join(ifname);
    create_private_dir(&dir.join("clients"))
        .and_then(|_| create_private_dir(&clients))
        .map_err(|e| io(&format!("Unable to create {}", clients.display()), e))?;
    if !a.no_forwarding {
        std::fs::create_dir_all(&sysctl_dir)
            .and_then(|_| crate::os::files::write_atomic(&dropin, &sysctl))
            .and_then(|_| set_mode(&dropin, 0o644))
            .map_err(|e| io(&format!("Could not write {}", dropin.display()), e))?;
        eprintln!("[#] sysctl -w net.ipv4.ip_forward=1");
        write_sysctl("/proc/sys/net/ipv4/ip_forward")?;
        if v6 {
            eprintln!("[#] sysctl -w net.ipv6.conf.all.forwarding=1");
            write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding")?;
        }
    }
    let p = crate::program_name();
    eprintln!("{p}: wrote {} (clients reach it at {endpoint})", path.display());
    if let Some((k, d)) = &nat {
        eprintln!("{p}: NAT with {} for the pools out of {d} (PostUp/PostDown)", if *k == Nat::Nft { "nft" } else { "iptables" });
    }
    eprintln!(
        "{p}: start it with `wgq up {ifname}' (at boot: `systemctl enable --now wgq@{ifname}'); add a client with `wgq peer add {ifname} NAME'"
    );
    Ok(0)
}

fn set_mode(p: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
}

/// Creates `dir` with mode 0700 if it does not exist (an existing one keeps its mode).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    set_mode(dir, 0o700)
}

fn write_sysctl(path: &str) -> Result<(), AppError> {
    std::fs::write(path, "1").map_err(|e| io(&format!("sysctl: unable to write {path}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_a_wg_quick_file_with_nat_hooks() {
        let key = SecretKey::from_bytes([5; 32]);
        let addrs = [IpNet::parse("10.8.0.1/24").unwrap(), IpNet::parse("fd01:2:3::1/64").unwrap()];
        let a = InitArgs::default();
        let t = server_file("wg0", "2026-01-01T00:00:00Z", &addrs, 51820, &key, "192.0.2.1:51820", Some((Nat::Nft, "eth0")), &a);
        let c = crate::config::parse(t.as_bytes(), Path::new("/x/wg0.conf")).unwrap();
        assert_eq!(c.interface.listen_port, Some(51820));
        assert_eq!(c.interface.addresses.len(), 2);
        assert_eq!(
            c.interface.post_up[0].value,
            "nft 'add table inet wgq-wg0; delete table inet wgq-wg0; add table inet wgq-wg0; add chain inet wgq-wg0 nat \
             { type nat hook postrouting priority srcnat; }; add rule inet wgq-wg0 nat ip saddr 10.8.0.0/24 oifname \
             \"eth0\" masquerade; add rule inet wgq-wg0 nat ip6 saddr fd01:2:3::/64 oifname \"eth0\" masquerade'"
        );
        assert_eq!(c.interface.post_down[0].value, "nft delete table inet wgq-wg0");
        let info = crate::config::peers::server_info(&crate::config::edit::Document::parse(t.clone().into_bytes()));
        assert_eq!(info.endpoint.as_deref(), Some("192.0.2.1:51820"));
        assert_eq!(info.allowed_ips.as_deref(), Some("0.0.0.0/0, ::/0"));
        assert_eq!(info.keepalive, Some(25));
        let (up, down) = nat_hooks(Nat::Iptables, "wg0", &addrs[..1], "eth0");
        assert_eq!(up, "iptables -t nat -A POSTROUTING -s 10.8.0.0/24 -o eth0 -j MASQUERADE");
        assert_eq!(down, "iptables -t nat -D POSTROUTING -s 10.8.0.0/24 -o eth0 -j MASQUERADE");
    }

    #[test]
    fn private_endpoints_are_named() {
        for (a, private) in
            [("10.0.2.15", true), ("100.64.1.1", true), ("192.0.2.1", false), ("fd00::1", true), ("2001:db8::1", false)]
        {
            assert_eq!(is_private(a.parse().unwrap()).is_some(), private, "{a}");
        }
        assert_eq!(endpoint("vpn.example.org", 51820).unwrap(), "vpn.example.org:51820");
        assert_eq!(endpoint("2001:db8::1", 51820).unwrap(), "[2001:db8::1]:51820");
        assert_eq!(endpoint("[2001:db8::1]:1234", 51820).unwrap(), "[2001:db8::1]:1234");
        assert_eq!(endpoint("192.0.2.1:9", 51820).unwrap(), "192.0.2.1:9");
        assert!(random_ula().unwrap().to_string().starts_with("fd"));
    }
}
