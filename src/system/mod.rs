//! The Linux [`System`]: rtnetlink for links, addresses, routes and rules; the device
//! layer for WireGuard settings; resolvconf, nft/iptables-restore and bash for what
//! wg-quick also delegates to them. This file has [`LinuxSystem`] and what every part uses;
//! `observe` reads the system for the planners, `apply` carries out operations.

mod apply;
pub mod dns;
/// Test support (the `test-support` feature, on for tests/ and fuzz/): not shipped.
#[cfg(feature = "test-support")]
pub mod fake;
pub mod firewall;
pub mod hooks;
mod observe;
pub mod p2p;
pub mod resolver;
pub use observe::{Uplink, host_addresses, observe_kernel};
#[cfg(feature = "test-support")]
pub use observe::probe_suppress_prefixlength;
pub mod runstate;

use std::collections::HashMap;

use netlink_packet_route::RouteNetlinkMessage;

use crate::config::Config;
use crate::config::locate::ConfigLocation;
use crate::device;
use crate::plan::exec::SysError;
use crate::wire::netlink::{NetlinkError, Socket};
use crate::wire::rtnl;

/// Errors while observing the system (before any change).
#[derive(Debug, thiserror::Error)]
pub enum SystemError {
    #[error("{context}")]
    Netlink {
        context: String,
        #[source]
        source: NetlinkError,
    },
    #[error(transparent)]
    Device(#[from] device::DeviceError),
    #[error("{path}:{line}: Endpoint: {source}")]
    Resolve {
        path: String,
        line: usize,
        #[source]
        source: device::resolve::ResolveError,
    },
    #[error(transparent)]
    Sys(#[from] SysError),
}

impl SystemError {
    pub fn status(&self) -> i32 {
        match self {
            SystemError::Sys(e) => e.status,
            _ => 1,
        }
    }
}

pub(crate) fn nl(context: impl Into<String>) -> impl FnOnce(NetlinkError) -> SystemError {
    let context = context.into();
    move |source| SystemError::Netlink { context, source }
}

/// rtnetlink failures exit with 2, like `ip` ("RTNETLINK answers: ...").
fn rt_err(what: String, e: NetlinkError) -> SysError {
    SysError::with_source(2, what, e)
}

/// A way to look up an endpoint's host name and port (one attempt).
pub type EndpointLookup = Box<dyn Fn(&str, u16) -> device::resolve::Lookup>;

pub struct LinuxSystem {
    rt: Socket,
    devices: device::Devices,
    ifname: String,
    ifindex: Option<u32>,
    /// The index of the link this run created (what its rollback deletes).
    created: Option<u32>,
    /// Where the config lives and its [Interface] part (what `save` writes back).
    config: Option<(ConfigLocation, crate::config::Interface)>,
    /// Rules added during this run, per family (to compute kernel-equivalent priorities).
    rule_prios: HashMap<bool, Vec<u32>>,
    /// How `up` and `reload` look endpoint names up (wg's retry rules around it):
    /// getaddrinfo. A strict kill switch left in place rejects every unmarked packet, DNS
    /// queries too; a lookup whose sockets carry the mark it lets out
    /// ([`firewall::KillSwitchSeen::mark`]) goes here.
    pub endpoint_lookup: EndpointLookup,
}

impl LinuxSystem {
    pub fn new(ifname: &str, config: Option<(&ConfigLocation, &Config)>) -> Result<LinuxSystem, SystemError> {
        let rt = Socket::open(libc::NETLINK_ROUTE as isize).map_err(nl("Unable to open an rtnetlink socket"))?;
        Ok(LinuxSystem {
            rt,
            devices: device::Devices::default(),
            ifname: ifname.to_string(),
            ifindex: None,
            created: None,
            config: config.map(|(l, c)| (l.clone(), c.interface.clone())),
            rule_prios: HashMap::new(),
            endpoint_lookup: Box::new(device::resolve::getaddrinfo),
        })
    }

    fn link_index(&mut self, name: &str) -> Result<Option<(u32, u32)>, NetlinkError> {
        match self.rt.dump(rtnl::get_link_by_name(name)) {
            Ok(msgs) => Ok(msgs.into_iter().find_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some((l.header.index, rtnl::link_mtu(&l).unwrap_or(0))),
                _ => None,
            })),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn index(&mut self) -> Result<u32, SysError> {
        if let Some(i) = self.ifindex {
            return Ok(i);
        }
        let name = self.ifname.clone();
        match self.link_index(&name) {
            Ok(Some((i, _))) => {
                self.ifindex = Some(i);
                Ok(i)
            }
            Ok(None) => Err(SysError::new(1, format!("Cannot find device \"{name}\""))),
            Err(e) => Err(rt_err(format!("Cannot find device \"{name}\""), e)),
        }
    }

    pub fn link_exists(&mut self, name: &str) -> Result<bool, SystemError> {
        Ok(self.link_index(name).map_err(nl(format!("Unable to look up `{name}'")))?.is_some())
    }

    /// What `reresolve` reads of a device: its peers' keys, endpoints and handshakes, and
    /// its fwmark (on the connection later changes use: one socket per protocol).
    pub fn observe_reresolve(&mut self, name: &str) -> Result<device::DeviceState, SystemError> {
        Ok(self.devices.get_summary(name)?)
    }

    pub fn is_wireguard(&mut self, name: &str) -> Result<bool, SystemError> {
        Ok(device::is_interface(&mut self.rt, name)?)
    }

    fn link_mtus(&mut self) -> Result<HashMap<u32, u32>, SystemError> {
        let msgs = self.rt.dump(rtnl::dump_links()).map_err(nl("Unable to list links"))?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some((l.header.index, rtnl::link_mtu(&l).unwrap_or(0))),
                _ => None,
            })
            .collect())
    }

    /// `wg showconf <if>`.
    pub fn showconf(&mut self, name: &str) -> Result<String, SystemError> {
        Ok(device::showconf::showconf(&self.devices.get(name)?))
    }

    /// Writes the running configuration into the config file (reference §5.1).
    pub fn save(&mut self, name: &str) -> Result<(), SystemError> {
        let Some((loc, i)) = self.config.clone() else {
            return Err(SysError::new(1, "no configuration file to save to").into());
        };
        let index = self.index()?;
        let mut addresses = Vec::new();
        let msgs = self.rt.dump(rtnl::dump_addresses()).map_err(nl("Unable to list addresses"))?;
        for m in msgs {
            if let RouteNetlinkMessage::NewAddress(a) = m {
                if a.header.index != index {
                    continue;
                }
                if let Some(net) = rtnl::address_of(&a) {
                    // Link-local addresses come from the kernel or the tun device, unless the
                    // file configures them (`Address = fe80::1/64`, for babel or bird).
                    if net.is_link_local() && !i.addresses.iter().any(|c| c.value == net) {
                        continue;
                    }
                    addresses.push(net.to_string());
                }
            }
        }
        // Like wg-quick: whatever resolvconf holds for the interface (errors mean none). With
        // the systemd-resolved backend there is no resolvconf to ask: the servers `up` (or the
        // last reload) set, as recorded.
        let recorded = crate::system::runstate::RunState::current()
            .ok()
            .and_then(|r| r.read(name, crate::system::runstate::ifindex(name)))
            .filter(|r| r.dns_backend == crate::plan::dns::DnsBackend::Resolved);
        let dns = match recorded {
            Some(r) => crate::plan::dns::parse_resolvconf_list(r.dns_input.as_deref().unwrap_or("")),
            None => crate::system::dns::list_dns(&crate::system::dns::system_resolvconf_name(name)).unwrap_or_default(),
        };
        let mtu = if i.mtu.is_some() {
            let n = name.to_string();
            self.link_index(&n).ok().flatten().map(|(_, m)| m)
        } else {
            None
        };
        let head = crate::config::save::SaveHead {
            addresses,
            dns,
            mtu,
            table: i.table.as_ref().map(|t| t.value.clone()),
            save_config: i.save_config,
            pre_up: i.pre_up.iter().map(|h| h.value.clone()).collect(),
            post_up: i.post_up.iter().map(|h| h.value.clone()).collect(),
            pre_down: i.pre_down.iter().map(|h| h.value.clone()).collect(),
            post_down: i.post_down.iter().map(|h| h.value.clone()).collect(),
        };
        // Peers `wgq p2p connect` added at run time are not the file's.
        let mut dev = self.devices.get(name)?;
        if let Some(p2p) = crate::system::runstate::RunState::current()
            .ok()
            .and_then(|r| r.read_p2p(name, crate::system::runstate::ifindex(name)))
        {
            // A peer the file defines is the file's, whatever the record says.
            let file_keys = crate::os::read_bounded(&loc.path, crate::os::MAX_HOSTS_FILE)
                .map(|t| {
                    let mut b = t.into_bytes();
                    let keys = crate::config::peers::enabled_keys(&b);
                    crate::key::wipe(&mut b);
                    keys
                })
                .unwrap_or_default();
            p2p.strip(&mut dev, &file_keys);
        }
        let showconf = device::showconf::showconf(&dev);
        let text = crate::config::save::render(&head, &showconf);
        crate::os::files::write_atomic(&loc.path, &text)
            .map_err(|e| SystemError::Sys(SysError::with_source(1, "Could not write configuration file", e)))
    }

    fn next_rule_priority(&mut self, v6: bool) -> Result<u32, SysError> {
        let msgs = self.rt.dump(rtnl::dump_rules(v6)).map_err(|e| rt_err("Unable to list rules".into(), e))?;
        let mut prios: Vec<u32> = msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRule(r) => Some(rtnl::rule_priority(&r)),
                _ => None,
            })
            .collect();
        prios.extend(self.rule_prios.get(&v6).into_iter().flatten());
        prios.sort_unstable();
        // The kernel's default: one less than the second rule's priority (the first is `local`).
        Ok(match prios.get(1) {
            Some(&p) if p > 0 => p - 1,
            _ => 0,
        })
    }
}
