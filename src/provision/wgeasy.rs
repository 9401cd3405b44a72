//! wg-easy 14's environment (`WG_HOST`, `WG_PORT`, …) as typed values: what `wgq container`
//! makes its server `wg0` from — the request of [`super::init`] on first start, and the
//! [`ServerSettings`] that [`super::configure`] writes at every start (wg-easy reads its
//! variables at every start too). Meanings and defaults are wg-easy 14's; see
//! docs/containers.md.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use super::{InitRequest, Nat, ProvisionError, ServerSettings, nat_hooks};
use crate::config::Endpoint;
use crate::config::values::{self, DnsList, Hook, NetList};
use crate::net::IpNet;

/// wg-easy's interface: always `wg0`.
pub const IFNAME: &str = "wg0";

/// The variables, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WgEasy {
    /// `WG_PATH` (default /etc/wireguard).
    pub dir: PathBuf,
    /// `WG_HOST` and `WG_CONFIG_PORT` (default `WG_PORT`): the clients' Endpoint.
    pub endpoint: Endpoint,
    /// `WG_PORT` (default 51820): ListenPort.
    pub port: u16,
    /// `WG_DEFAULT_ADDRESS` (default `10.8.0.x`) with x = 1, in a /24: the server's address.
    pub address: IpNet,
    /// `WG_DEVICE` (default eth0): the uplink of the default NAT hooks.
    pub device: String,
    /// `WG_DEFAULT_DNS` (default 1.1.1.1; empty: none).
    pub dns: Option<DnsList>,
    /// `WG_ALLOWED_IPS` (default `0.0.0.0/0, ::/0`).
    pub allowed_ips: NetList,
    /// `WG_PERSISTENT_KEEPALIVE` (default 0).
    pub keepalive: u16,
    /// `WG_MTU` (default none): the clients' MTU.
    pub mtu: Option<u32>,
    /// `WG_PRE_UP`, `WG_POST_UP`, `WG_PRE_DOWN`, `WG_POST_DOWN`; `None` (unset or empty):
    /// wg-easy's defaults (none for PreUp and PreDown, NAT out of the uplink for the others).
    pub pre_up: Option<Hook>,
    pub post_up: Option<Hook>,
    pub pre_down: Option<Hook>,
    pub post_down: Option<Hook>,
}

fn env_err(name: &'static str, value: &str, why: impl std::fmt::Display) -> ProvisionError {
    ProvisionError::Env { name, value: value.to_string(), why: why.to_string() }
}

fn env_port(name: &'static str, v: &str) -> Result<u16, ProvisionError> {
    match crate::config::parse::parse_port(v.trim()) {
        Some(p) if p != 0 => Ok(p),
        _ => Err(env_err(name, v, "not a port (1-65535)")),
    }
}

/// The server's address from `WG_DEFAULT_ADDRESS`: its `x` is the client number, 1 for the
/// server; a /24 like wg-easy's.
pub fn server_address(template: &str) -> Result<IpNet, ProvisionError> {
    let bad = |why: &str| env_err("WG_DEFAULT_ADDRESS", template, why);
    if template.matches('x').count() != 1 {
        return Err(bad("an IPv4 address with one `x' in place of the client number (10.8.0.x)"));
    }
    let a: Ipv4Addr = template.trim().replace('x', "1").parse().map_err(|_| bad("not an IPv4 address with `x' (10.8.0.x)"))?;
    Ok(IpNet::new(IpAddr::V4(a), 24))
}

impl WgEasy {
    /// Reads the variables through `get`; `None` when `WG_HOST` is unset or empty (no wg-easy
    /// server is asked for).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Option<WgEasy>, ProvisionError> {
        let Some(host) = get("WG_HOST").filter(|h| !h.trim().is_empty()) else { return Ok(None) };
        // Unset or empty: the default (wg-easy's `||`), except where noted.
        let given = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let port = match given("WG_PORT") {
            Some(v) => env_port("WG_PORT", &v)?,
            None => 51820,
        };
        let config_port = match given("WG_CONFIG_PORT") {
            Some(v) => env_port("WG_CONFIG_PORT", &v)?,
            None => port,
        };
        let endpoint = values::endpoint_with_default(host.trim(), config_port).map_err(|e| env_err("WG_HOST", &host, e))?;
        if endpoint.port != config_port {
            return Err(env_err("WG_HOST", &host, "a host name or address without a port (the port is WG_CONFIG_PORT's)"));
        }
        let address = server_address(&given("WG_DEFAULT_ADDRESS").unwrap_or_else(|| "10.8.0.x".into()))?;
        let device = given("WG_DEVICE").unwrap_or_else(|| "eth0".into()).trim().to_string();
        if device.len() > 15 || !device.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-@".contains(&b)) {
            return Err(env_err("WG_DEVICE", &device, "not an interface name"));
        }
        // An empty WG_DEFAULT_DNS means no DNS line (wg-easy tells a set empty value apart).
        let dns = match get("WG_DEFAULT_DNS") {
            None => Some(DnsList::parse("1.1.1.1").expect("literal")),
            Some(v) if v.trim().is_empty() => None,
            Some(v) => Some(DnsList::parse(&v).map_err(|e| env_err("WG_DEFAULT_DNS", &v, e))?),
        };
        let allowed = given("WG_ALLOWED_IPS").unwrap_or_else(|| "0.0.0.0/0, ::/0".into());
        let allowed_ips = NetList::parse(&allowed).map_err(|e| env_err("WG_ALLOWED_IPS", &allowed, e))?;
        let keepalive = match given("WG_PERSISTENT_KEEPALIVE") {
            Some(v) => crate::config::parse::parse_keepalive(v.trim())
                .ok_or_else(|| env_err("WG_PERSISTENT_KEEPALIVE", &v, "not a number of seconds (0-65535)"))?,
            None => 0,
        };
        let mtu = match given("WG_MTU") {
            Some(v) => Some(
                v.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|m| (576..=65535).contains(m))
                    .ok_or_else(|| env_err("WG_MTU", &v, "not an MTU (576-65535)"))?,
            ),
            None => None,
        };
        let hook = |name: &'static str| -> Result<Option<Hook>, ProvisionError> {
            given(name).map(|v| Hook::parse(&v).map_err(|e| env_err(name, &v, e))).transpose()
        };
        Ok(Some(WgEasy {
            dir: given("WG_PATH").map_or_else(|| PathBuf::from(super::CONFIG_DIR), |p| PathBuf::from(p.trim())),
            endpoint,
            port,
            address,
            device,
            dns,
            allowed_ips,
            keepalive,
            mtu,
            pre_up: hook("WG_PRE_UP")?,
            post_up: hook("WG_POST_UP")?,
            pre_down: hook("WG_PRE_DOWN")?,
            post_down: hook("WG_POST_DOWN")?,
        }))
    }

    /// The server file's path.
    pub fn path(&self) -> PathBuf {
        self.dir.join(format!("{IFNAME}.conf"))
    }

    /// What every start writes into the server file: all of it from the variables. `nat`:
    /// the tool of the default PostUp/PostDown (nft where installed).
    pub fn settings(&self, nat: Nat) -> ServerSettings {
        let pool = IpNet::new(self.address.addr, self.address.prefix);
        let (up, down) = nat_hooks(nat, IFNAME, &[pool], &self.device);
        let default = |h: String| Hook::parse(&h).expect("the default hooks are one line without #");
        ServerSettings {
            listen_port: Some(self.port),
            pre_up: Some(self.pre_up.iter().cloned().collect()),
            post_up: Some(vec![self.post_up.clone().unwrap_or_else(|| default(up))]),
            pre_down: Some(self.pre_down.iter().cloned().collect()),
            post_down: Some(vec![self.post_down.clone().unwrap_or_else(|| default(down))]),
            client_endpoint: Some(self.endpoint.clone()),
            client_dns: Some(self.dns.clone()),
            client_allowed_ips: Some(self.allowed_ips.clone()),
            client_keepalive: Some(self.keepalive),
            client_mtu: Some(self.mtu),
        }
    }

    /// The request of [`super::init`] for the first start (hooks and the rest follow with
    /// [`WgEasy::settings`]); `key`: a migrated server's own. Texts are rendered from the
    /// parsed values.
    pub fn init_texts(&self) -> InitTexts {
        InitTexts {
            address: self.address.to_string(),
            port: self.port.to_string(),
            endpoint: self.endpoint.to_string(),
            dns: self.dns.as_ref().map_or_else(|| "none".to_string(), |d| d.to_string()),
            allowed_ips: self.allowed_ips.to_string(),
        }
    }
}

/// The texts an [`InitRequest`] borrows (see [`WgEasy::init_texts`]).
pub struct InitTexts {
    pub address: String,
    pub port: String,
    pub endpoint: String,
    pub dns: String,
    pub allowed_ips: String,
}

impl InitTexts {
    /// The request: no NAT and no forwarding from `init` (the hooks come from the settings;
    /// forwarding is the container runtime's `--sysctl`).
    pub fn request<'a>(&'a self, w: &'a WgEasy, key: Option<&'a crate::key::SecretKey>) -> InitRequest<'a> {
        InitRequest {
            interface: IFNAME,
            config_dir: Some(&w.dir),
            address: Some(&self.address),
            port: Some(&self.port),
            endpoint: Some(&self.endpoint),
            no_nat: true,
            dns: Some(&self.dns),
            client_allowed_ips: Some(&self.allowed_ips),
            keepalive: Some(w.keepalive),
            mtu: w.mtu,
            no_forwarding: true,
            key,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let v: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k: &str| v.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn defaults_are_wg_easy_14s() {
        assert_eq!(WgEasy::from_env(env(&[])).unwrap(), None);
        assert_eq!(WgEasy::from_env(env(&[("WG_HOST", " ")])).unwrap(), None);
        let w = WgEasy::from_env(env(&[("WG_HOST", "vpn.example.org")])).unwrap().unwrap();
        assert_eq!(w.endpoint.to_string(), "vpn.example.org:51820");
        assert_eq!((w.port, w.address.to_string(), w.device.as_str()), (51820, "10.8.0.1/24".into(), "eth0"));
        assert_eq!(w.dns.as_ref().map(|d| d.to_string()).as_deref(), Some("1.1.1.1"));
        assert_eq!(w.allowed_ips.to_string(), "0.0.0.0/0, ::/0");
        assert_eq!((w.keepalive, w.mtu), (0, None));
        assert_eq!(w.dir, PathBuf::from("/etc/wireguard"));
        let s = w.settings(Nat::Iptables);
        assert_eq!(s.pre_up, Some(vec![]));
        assert_eq!(s.post_up.unwrap()[0].to_string(), "iptables -t nat -A POSTROUTING -s 10.8.0.0/24 -o eth0 -j MASQUERADE");
        assert_eq!(s.post_down.unwrap()[0].to_string(), "iptables -t nat -D POSTROUTING -s 10.8.0.0/24 -o eth0 -j MASQUERADE");
    }

    #[test]
    fn every_variable_is_read_and_typed() {
        let w = WgEasy::from_env(env(&[
            ("WG_HOST", "2001:db8::1"),
            ("WG_PORT", "51999"),
            ("WG_CONFIG_PORT", "443"),
            ("WG_DEFAULT_ADDRESS", "10.1.9.x"),
            ("WG_DEFAULT_DNS", ""),
            ("WG_ALLOWED_IPS", "10.1.9.0/24,192.168.1.0/24"),
            ("WG_PERSISTENT_KEEPALIVE", "25"),
            ("WG_MTU", "1380"),
            ("WG_PRE_UP", "echo pre"),
            ("WG_POST_UP", "iptables -A FORWARD -i wg0 -j ACCEPT"),
            ("WG_PRE_DOWN", ""),
            ("WG_DEVICE", "ens3"),
            ("WG_PATH", "/data/wg"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(w.endpoint.to_string(), "[2001:db8::1]:443");
        assert_eq!((w.port, w.address.to_string()), (51999, "10.1.9.1/24".into()));
        assert_eq!(w.dns, None);
        assert_eq!(w.allowed_ips.to_string(), "10.1.9.0/24, 192.168.1.0/24");
        assert_eq!((w.keepalive, w.mtu), (25, Some(1380)));
        assert_eq!(w.path(), PathBuf::from("/data/wg/wg0.conf"));
        let s = w.settings(Nat::Nft);
        assert_eq!(s.pre_up.unwrap()[0].to_string(), "echo pre");
        assert_eq!(s.post_up.unwrap()[0].to_string(), "iptables -A FORWARD -i wg0 -j ACCEPT");
        assert_eq!(s.pre_down, Some(vec![]));
        assert_eq!(s.post_down.unwrap()[0].to_string(), "nft delete table inet wgq-wg0");
        assert_eq!(s.client_dns, Some(None));
        let t = w.init_texts();
        assert_eq!((t.dns.as_str(), t.endpoint.as_str(), t.port.as_str()), ("none", "[2001:db8::1]:443", "51999"));
    }

    #[test]
    fn bad_values_are_refused_naming_the_variable() {
        for (k, v) in [
            ("WG_PORT", "0"),
            ("WG_PORT", "70000"),
            ("WG_CONFIG_PORT", "x"),
            ("WG_DEFAULT_ADDRESS", "10.8.0.1"),
            ("WG_DEFAULT_ADDRESS", "10.8.x.x"),
            ("WG_DEFAULT_ADDRESS", "fd00::x"),
            ("WG_DEFAULT_DNS", "1.1.1.1; rm -rf /"),
            ("WG_ALLOWED_IPS", "0.0.0.0/0\nPostUp = x"),
            ("WG_PERSISTENT_KEEPALIVE", "-1"),
            ("WG_MTU", "9"),
            ("WG_POST_UP", "a\nPostUp = b"),
            ("WG_POST_DOWN", "echo # x"),
            ("WG_DEVICE", "eth0; reboot"),
            ("WG_HOST", "vpn.example.org:1234"),
            ("WG_HOST", "bad host"),
        ] {
            let host = if k == "WG_HOST" { v } else { "vpn.example.org" };
            let e = WgEasy::from_env(env(&[("WG_HOST", host), (k, v)])).unwrap_err();
            assert!(e.to_string().starts_with(&format!("{k}=")), "{k}={v:?}: {e}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }
}
