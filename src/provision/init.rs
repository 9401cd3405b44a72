//! `init`: a VPN server's file, written so that it alone (under wgq or wg-quick) reproduces
//! the setup — keys, the address pools, the port, NAT for the pools out of the uplink in
//! PostUp/PostDown, and the defaults of the client files in `# Client… =` comments — plus IP
//! forwarding (an /etc/sysctl.d drop-in, applied now). In two steps: [`init`] checks every
//! value, looks at the uplink and makes the text; [`Prepared::write`] writes it.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::{CONFIG_DIR, IoWhat, ProvisionError};
use crate::config::locate;
use crate::config::values::{self, DnsList, NetList};
use crate::key::SecretKey;
use crate::net::IpNet;

/// Where forwarding is made permanent.
pub const SYSCTL_DIR: &str = "/etc/sysctl.d";

/// Which tool PostUp/PostDown use for NAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Nat {
    Nft,
    Iptables,
}

/// What `init` makes: the options' text, parsed (and refused, naming the option) here.
#[derive(Debug, Clone, Default)]
pub struct InitRequest<'a> {
    pub interface: &'a str,
    pub config_dir: Option<&'a Path>,
    pub address: Option<&'a str>,
    pub port: Option<&'a str>,
    pub endpoint: Option<&'a str>,
    pub out_dev: Option<&'a str>,
    pub no_nat: bool,
    pub nat: Option<Nat>,
    pub dns: Option<&'a str>,
    pub client_allowed_ips: Option<&'a str>,
    pub keepalive: Option<u16>,
    pub mtu: Option<u32>,
    pub no_forwarding: bool,
    pub sysctl_dir: Option<&'a Path>,
    pub force: bool,
    /// The server's private key (a migrated server keeps its own); a new one without.
    pub key: Option<&'a SecretKey>,
}

/// A server file made and checked, not yet written.
pub struct Prepared {
    pub ifname: String,
    pub dir: PathBuf,
    pub path: PathBuf,
    /// The file (it holds the private key).
    pub text: String,
    pub endpoint: String,
    pub port: u16,
    pub nat: Option<(Nat, String)>,
    /// The endpoint is the default route's source address, and one clients outside cannot
    /// reach: what kind of address it is.
    pub private_endpoint: Option<(IpAddr, &'static str)>,
    /// The forwarding drop-in and its text (`None` with `no_forwarding`).
    pub forwarding: Option<(PathBuf, String)>,
    /// Replace an existing file (looked at again under the file's lock).
    pub force: bool,
    /// IPv6 forwarding too.
    pub v6: bool,
}

/// What `init` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Initialized {
    pub ifname: String,
    pub path: PathBuf,
    pub endpoint: String,
    pub nat: Option<(Nat, String)>,
}

fn random_u64() -> Result<u64, ProvisionError> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b)
        .map_err(|e| ProvisionError::Io { what: IoWhat::RandomBytes, source: std::io::Error::other(e.to_string()) })?;
    Ok(u64::from_le_bytes(b))
}

/// A unique local IPv6 /64 (RFC 4193: fd00::/8 and a random 40-bit global ID), `::1` the server's.
fn random_ula() -> Result<IpNet, ProvisionError> {
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

/// The defaults of the client files a server file keeps in `# Client… =` comments, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientDefaults {
    /// `None`: no DNS for clients (`--dns none`).
    pub dns: Option<DnsList>,
    pub allowed_ips: NetList,
    pub keepalive: u16,
    pub mtu: Option<u32>,
}

impl ClientDefaults {
    /// `--dns`, `--client-allowed-ips`, `--keepalive` and `--mtu`, parsed (each refusal names its option).
    pub fn from_request(a: &InitRequest<'_>) -> Result<ClientDefaults, ProvisionError> {
        let dns = match a.dns {
            None => Some(DnsList::parse("1.1.1.1, 2606:4700:4700::1111").expect("literal")),
            Some("none") => None,
            Some(d) => Some(DnsList::parse(d).map_err(|error| ProvisionError::Value { option: "--dns", error })?),
        };
        let allowed_ips = NetList::parse(a.client_allowed_ips.unwrap_or("0.0.0.0/0, ::/0"))
            .map_err(|error| ProvisionError::Value { option: "--client-allowed-ips", error })?;
        Ok(ClientDefaults { dns, allowed_ips, keepalive: a.keepalive.unwrap_or(25), mtu: a.mtu })
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
    d: &ClientDefaults,
) -> String {
    let mut s = format!("# wgq server {ifname}, made by `wgq server init` on {created}.\n");
    s.push_str("# A wg-quick file: `wgq up`, `wg-quick up` and `wgq check` read it. Clients: `wgq peer add|list|remove ...`.\n");
    s.push_str("[Interface]\n");
    let _ = writeln!(s, "# ClientEndpoint = {endpoint}");
    if let Some(dns) = &d.dns {
        let _ = writeln!(s, "# ClientDNS = {dns}");
    }
    let _ = writeln!(s, "# ClientAllowedIPs = {}", d.allowed_ips);
    let _ = writeln!(s, "# ClientKeepalive = {}", d.keepalive);
    if let Some(m) = d.mtu {
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

fn parse_port(p: Option<&str>) -> Result<u16, ProvisionError> {
    match p {
        None => Ok(51820),
        Some("random") => Ok(49152 + (random_u64()? % (65536 - 49152)) as u16),
        Some(v) => match crate::config::parse::parse_port(v) {
            Some(n) if n != 0 => Ok(n),
            _ => Err(ProvisionError::Port(v.to_string())),
        },
    }
}

/// `--endpoint HOST[:PORT]`: the port defaults to ListenPort; IPv6 literals get brackets.
/// Parsed (a host name, or an IP literal with an optional zone) and rendered from its parts.
pub fn endpoint(given: &str, port: u16) -> Result<String, ProvisionError> {
    values::endpoint_with_default(given, port)
        .map(|e| e.to_string())
        .map_err(|error| ProvisionError::Endpoint { path: None, error })
}

/// Checks every value of `a`, looks at the uplink where needed and makes the server file.
pub fn init(a: &InitRequest<'_>) -> Result<Prepared, ProvisionError> {
    let ifname = a.interface;
    if !locate::is_interface_name(ifname) {
        return Err(ProvisionError::BadInterface(ifname.to_string()));
    }
    let dir = a.config_dir.map_or_else(|| PathBuf::from(CONFIG_DIR), Path::to_path_buf);
    let path = dir.join(format!("{ifname}.conf"));
    if path.exists() && !a.force {
        return Err(ProvisionError::ServerExists { path, ifname: ifname.to_string() });
    }
    if a.address.is_some_and(|l| l.len() > values::MAX_VALUE) {
        return Err(ProvisionError::TooLong { option: "--address", max: values::MAX_VALUE });
    }
    let addresses: Vec<IpNet> = match a.address {
        Some(list) => values::split(list)
            .map(|s| IpNet::parse(s).map_err(|error| ProvisionError::NetItem { option: "--address", item: s.to_string(), error }))
            .collect::<Result<_, _>>()?,
        None => vec![IpNet::parse("10.8.0.1/24").expect("literal"), random_ula()?],
    };
    for n in &addresses {
        if n.prefix + 1 < n.max_prefix() && !n.has_host_bits() {
            return Err(ProvisionError::PoolAddress(*n));
        }
    }
    if addresses.is_empty() {
        return Err(ProvisionError::NoAddress { option: "--address" });
    }
    let port = parse_port(a.port)?;
    let defaults = ClientDefaults::from_request(a)?;
    let need_uplink = a.endpoint.is_none() || (!a.no_nat && a.out_dev.is_none());
    let uplink = if need_uplink {
        crate::system::LinuxSystem::new(ifname, None)?.observe_uplink()?
    } else {
        crate::system::Uplink::default()
    };
    let mut private_endpoint = None;
    let endpoint = match a.endpoint {
        Some(e) => endpoint(e, port)?,
        None => {
            let src = uplink.v4_source.or(uplink.v6_source).ok_or(ProvisionError::NoUplinkAddress)?;
            private_endpoint = is_private(src).map(|what| (src, what));
            endpoint(&src.to_string(), port)?
        }
    };
    let nat = if a.no_nat {
        None
    } else {
        let dev = a.out_dev.map(str::to_string).or(uplink.device.clone()).ok_or(ProvisionError::NoUplinkDevice)?;
        if dev.is_empty() || !dev.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-@".contains(&b)) || dev.len() > 15 {
            return Err(ProvisionError::OutDev(dev));
        }
        let kind = match a.nat {
            Some(k) => k,
            None if which::which("nft").is_ok() => Nat::Nft,
            None if which::which("iptables").is_ok() => Nat::Iptables,
            None => return Err(ProvisionError::NoNatTool),
        };
        if kind == Nat::Nft && ifname.contains(['+', '=']) {
            return Err(ProvisionError::NftName(ifname.to_string()));
        }
        Some((kind, dev))
    };
    let key = match a.key {
        Some(k) => k.clone(),
        None => SecretKey::generate_private().map_err(ProvisionError::random)?,
    };
    let created = crate::config::peers::format_time(super::now());
    let text =
        server_file(ifname, &created, &addresses, port, &key, &endpoint, nat.as_ref().map(|(k, d)| (*k, d.as_str())), &defaults);
    crate::config::parse(text.as_bytes(), &path).map_err(ProvisionError::InvalidServer)?;
    let v6 = addresses.iter().any(|a| a.is_ipv6());
    let forwarding = (!a.no_forwarding).then(|| {
        let sysctl_dir = a.sysctl_dir.map_or_else(|| PathBuf::from(SYSCTL_DIR), Path::to_path_buf);
        let dropin = sysctl_dir.join(format!("99-wgq-{ifname}.conf"));
        let mut sysctl =
            format!("# IP forwarding for the WireGuard server {ifname} (wgq server init).\nnet.ipv4.ip_forward = 1\n");
        if v6 {
            sysctl.push_str("net.ipv6.conf.all.forwarding = 1\n");
        }
        (dropin, sysctl)
    });
    Ok(Prepared {
        ifname: ifname.to_string(),
        dir,
        path,
        text,
        endpoint,
        port,
        nat,
        private_endpoint,
        forwarding,
        force: a.force,
        v6,
    })
}

impl Prepared {
    /// What `--dry-run` prints: the file (keys hidden) and the forwarding change.
    pub fn dry_run(&self) -> String {
        let mut s = format!("# {}\n", self.path.display());
        for l in self.text.lines() {
            let _ = writeln!(s, "{}", crate::config::edit::hide_secret(l));
        }
        if let Some((dropin, sysctl)) = &self.forwarding {
            let _ = writeln!(s, "# {}\n{sysctl}[#] sysctl -w net.ipv4.ip_forward=1", dropin.display());
            if self.v6 {
                s.push_str("[#] sysctl -w net.ipv6.conf.all.forwarding=1\n");
            }
        }
        s
    }

    /// Writes the server file (0600, its directory 0700 when new), the clients' directory,
    /// and the forwarding drop-in (applied at once, traced on `trace`).
    pub fn write(self, trace: &mut dyn std::io::Write) -> Result<Initialized, ProvisionError> {
        let io = |what: IoWhat| move |source| ProvisionError::Io { what, source };
        create_private_dir(&self.dir).map_err(io(IoWhat::CreateDir(self.dir.clone())))?;
        // Under the file's lock, as every edit: of two inits of one name only one writes, and
        // `--force` never replaces the file in the middle of a `wgq peer` edit.
        let run = crate::system::runstate::RunState::current().map_err(io(IoWhat::Netns))?;
        let _lock = run.lock_config(Some(&self.path), &self.ifname)?;
        if self.path.exists() && !self.force {
            return Err(ProvisionError::ServerExists { path: self.path.clone(), ifname: self.ifname.clone() });
        }
        crate::os::files::write_atomic(&self.path, &self.text).map_err(io(IoWhat::Write(self.path.clone())))?;
        let clients = self.dir.join("clients").join(&self.ifname);
        create_private_dir(&self.dir.join("clients"))
            .and_then(|_| create_private_dir(&clients))
            .map_err(io(IoWhat::CreateDir(clients.clone())))?;
        if let Some((dropin, sysctl)) = &self.forwarding {
            dropin
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|_| crate::os::files::write_atomic(dropin, sysctl))
                .and_then(|_| set_mode(dropin, 0o644))
                .map_err(io(IoWhat::Write(dropin.clone())))?;
            let _ = writeln!(trace, "[#] sysctl -w net.ipv4.ip_forward=1");
            write_sysctl("/proc/sys/net/ipv4/ip_forward")?;
            if self.v6 {
                let _ = writeln!(trace, "[#] sysctl -w net.ipv6.conf.all.forwarding=1");
                write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding")?;
            }
        }
        Ok(Initialized {
            ifname: self.ifname.clone(),
            path: self.path.clone(),
            endpoint: self.endpoint.clone(),
            nat: self.nat.clone(),
        })
    }
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

fn write_sysctl(path: &'static str) -> Result<(), ProvisionError> {
    std::fs::write(path, "1").map_err(|e| ProvisionError::Io { what: IoWhat::Sysctl(path), source: e })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_a_wg_quick_file_with_nat_hooks() {
        let key = SecretKey::from_bytes([5; 32]);
        let addrs = [IpNet::parse("10.8.0.1/24").unwrap(), IpNet::parse("fd01:2:3::1/64").unwrap()];
        let a = ClientDefaults::from_request(&InitRequest::default()).unwrap();
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
