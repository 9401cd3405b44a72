//! The Linux [`System`]: rtnetlink for links, addresses, routes and rules; the device
//! layer for WireGuard settings; resolvconf, nft/iptables-restore and bash for what
//! wg-quick also delegates to them.

pub mod dns;
/// Test support (the `test-support` feature, on for tests/ and fuzz/): not shipped.
#[cfg(feature = "test-support")]
pub mod fake;
pub mod firewall;
pub mod hooks;
pub mod runstate;

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;

use netlink_packet_route::{RouteNetlinkMessage, route::RouteMessage};

use crate::frontend::cli::ConfigLocation;
use crate::config::Config;
use crate::device::{self, DeviceConfig, PeerConfig};
use crate::plan::exec::{LinkKind, SysError, System};
use crate::net::IpNet;
use crate::wire::netlink::{NetlinkError, Socket};
use crate::plan::{DownFacts, FirewallKind, Phase, Route, Rule, UpFacts, UpRecord};
use crate::wire::rtnl::{self, RouteFilter};

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

/// The interface when it already runs (what `reload` observes around).
#[derive(Debug, Clone, Copy)]
struct Running {
    index: u32,
    fwmark: u32,
}

/// Whether `r` goes out through the running interface itself.
fn through(running: Option<Running>, r: &RouteMessage) -> bool {
    running.is_some_and(|run| rtnl::route_oif(r) == Some(run.index))
}

/// The MTU a route implies: its `mtu` metric, else its device's MTU (`links`: index → MTU).
fn route_path_mtu(r: &RouteMessage, links: &HashMap<u32, u32>) -> Option<u32> {
    rtnl::route_mtu(r).or_else(|| rtnl::route_oif(r).and_then(|i| links.get(&i).copied()))
}

/// What one dump of the routes tells `up`.
#[derive(Debug, Default)]
struct ObservedRoutes {
    tables_in_use: BTreeSet<u32>,
    default_route_mtu: Option<u32>,
    device_routes: Vec<IpNet>,
}

/// Routes built and sent per chunk (each chunk goes out in a few `sendmsg` calls).
const ROUTE_CHUNK: usize = 1024;

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

    /// The MTUs `ip route get <addr>` implies for each address (the route's `mtu`, else its
    /// device's MTU), looked up in one batch. With `running`, the lookups carry its fwmark
    /// (as its encrypted packets do) and routes through the interface itself are left out.
    fn route_mtus_to(
        &mut self,
        addrs: &[std::net::IpAddr],
        links: &HashMap<u32, u32>,
        running: Option<Running>,
    ) -> Result<Vec<u32>, SystemError> {
        let mut uniq: Vec<std::net::IpAddr> = addrs.to_vec();
        uniq.sort();
        uniq.dedup();
        let mark = running.map(|r| r.fwmark).filter(|&m| m != 0);
        let msgs = uniq.iter().map(|a| rtnl::get_route(*a, mark)).collect();
        // A lookup the kernel refuses (no route to that endpoint) counts as no answer, as in
        // wg-quick; a failing socket is an error.
        let replies = self.rt.get_many(msgs).map_err(nl("Unable to look up the routes to the endpoints"))?;
        Ok(replies
            .into_iter()
            .filter_map(|r| match r {
                Ok(RouteNetlinkMessage::NewRoute(r)) if !through(running, &r) => route_path_mtu(&r, links),
                _ => None,
            })
            .collect())
    }

    /// Observes what planning `up` needs. Resolves endpoints (with wg's retry rules).
    pub fn observe_up(&mut self, cfg: &Config) -> Result<UpFacts, SystemError> {
        self.observe_up_for(cfg, None, None)
    }

    /// [`Self::observe_up`]; with `running` (reload), the automatic MTU is computed as at
    /// `up`, before the interface's own routes existed. `live_key`: the running device's
    /// public key, the interface's own when the file has no PrivateKey.
    fn observe_up_for(
        &mut self,
        cfg: &Config,
        running: Option<Running>,
        live_key: Option<crate::key::Key>,
    ) -> Result<UpFacts, SystemError> {
        let path = cfg.path.display().to_string();
        let i = &cfg.interface;
        let own = i.private_key.as_ref().map(|k| k.public_key()).or(live_key);
        let mut peers = Vec::with_capacity(cfg.peers.len());
        let mut endpoints: Vec<SocketAddr> = Vec::new();
        for p in &cfg.peers {
            // Resolved like every endpoint (wg resolves the whole file first), but the
            // device ignores the interface's own entry: no device change, no MTU lookup.
            let endpoint = match &p.endpoint {
                Some(e) => Some(device::resolve::resolve(&e.value).map_err(|source| SystemError::Resolve {
                    path: path.clone(),
                    line: e.line,
                    source,
                })?),
                None => None,
            };
            if Some(p.public_key) == own {
                continue;
            }
            endpoints.extend(endpoint);
            peers.push(PeerConfig {
                public_key: p.public_key,
                preshared_key: p.preshared_key.clone(),
                endpoint,
                persistent_keepalive: p.persistent_keepalive,
                replace_allowed_ips: true,
                allowed_ips: p.allowed_ips.iter().map(|a| a.network()).collect(),
                ..Default::default()
            });
        }
        let device = DeviceConfig {
            private_key: i.private_key.clone(),
            listen_port: i.listen_port,
            fwmark: i.fwmark,
            replace_peers: false,
            peers,
        };
        let links = self.link_mtus()?;
        let endpoint_mtus = if i.mtu.is_none() {
            let ips: Vec<std::net::IpAddr> = endpoints.iter().map(|e| e.ip()).collect();
            self.route_mtus_to(&ips, &links, running)?
        } else {
            Vec::new()
        };
        let search = running.is_none()
            && crate::plan::table_search_needed(
                cfg,
                cfg.peers.iter().filter(|p| Some(p.public_key) != own).any(|p| p.allowed_ips.iter().any(|a| a.prefix == 0)),
                i.fwmark,
            );
        let routes = self.observe_routes(&links, running, None, i.mtu.is_none(), search)?;
        let named_table = match i.table_setting() {
            crate::config::TableSetting::Name(n) => crate::plan::routing::resolve_table(&n, &crate::plan::routing::read_rt_tables()),
            _ => None,
        };
        Ok(UpFacts {
            device: device.into(),
            endpoint_mtus,
            default_route_mtu: routes.default_route_mtu,
            tables_in_use: routes.tables_in_use,
            named_table,
            nft_available: crate::system::firewall::nft_available(),
            resolvconf_name: crate::system::dns::system_resolvconf_name(&self.ifname),
            src_valid_mark_set: std::fs::read_to_string("/proc/sys/net/ipv4/conf/all/src_valid_mark")
                .map(|s| s.trim() == "1")
                .unwrap_or(false),
            own_public_key: own,
            after_pre_up: None,
        })
    }

    /// The routes `f` selects, decoded. The kernel is asked to filter (strict dump
    /// checking); each raw message is checked again before it is decoded, so a host with a
    /// million routes in other tables costs little either way. A table that does not exist
    /// has no routes.
    fn routes(&mut self, f: RouteFilter) -> Result<Vec<RouteMessage>, SystemError> {
        let strict = self.rt.set_strict(true);
        let r = self.rt.dump_where(rtnl::dump_routes_filtered(&f), &mut |b| rtnl::route_frame(b).is_some_and(|r| f.matches(&r)));
        if strict {
            self.rt.set_strict(false);
        }
        match r {
            Ok(msgs) => Ok(msgs
                .into_iter()
                .filter_map(|m| match m {
                    RouteNetlinkMessage::NewRoute(r) => Some(r),
                    _ => None,
                })
                .collect()),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && f.table.is_some() => Ok(Vec::new()),
            Err(e) => Err(nl("Unable to list routes")(e)),
        }
    }

    /// Whether table `t` holds any route of either family (`ip route show table T` prints
    /// anything), without decoding them.
    fn table_in_use(&mut self, t: u32) -> Result<bool, SystemError> {
        for v6 in [false, true] {
            let f = RouteFilter { v6, table: Some(t), ..Default::default() };
            let mut found = false;
            let strict = self.rt.set_strict(true);
            let r = self.rt.dump_where(rtnl::dump_routes_filtered(&f), &mut |b| {
                found |= rtnl::route_frame(b).is_some_and(|r| f.matches(&r));
                false
            });
            if strict {
                self.rt.set_strict(false);
            }
            match r {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                Err(e) => return Err(nl("Unable to list routes")(e)),
            }
            if found {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// What `up` reads of the routes, each only when needed: the MTU of the main IPv4
    /// default route (not through `running`) for the automatic MTU; with `device`, the
    /// main-table routes through that link; with `search`, the tables from 51820 up that
    /// hold routes, up to the first free one (wg-quick's table search).
    fn observe_routes(
        &mut self,
        links: &HashMap<u32, u32>,
        running: Option<Running>,
        device: Option<u32>,
        mtu_needed: bool,
        search: bool,
    ) -> Result<ObservedRoutes, SystemError> {
        let mut o = ObservedRoutes::default();
        if mtu_needed {
            let defaults =
                self.routes(RouteFilter { table: Some(crate::plan::MAIN_TABLE), default_only: true, ..Default::default() })?;
            o.default_route_mtu = defaults.iter().find(|r| !through(running, r)).and_then(|r| route_path_mtu(r, links));
        }
        if let Some(index) = device {
            for v6 in [false, true] {
                let f = RouteFilter { v6, table: Some(crate::plan::MAIN_TABLE), oif: Some(index), ..Default::default() };
                o.device_routes.extend(self.routes(f)?.iter().map(rtnl::route_destination));
            }
        }
        if search {
            let mut t = crate::plan::FIRST_AUTO_TABLE;
            while self.table_in_use(t)? {
                o.tables_in_use.insert(t);
                t += 1;
            }
        }
        Ok(o)
    }

    /// What the rest of `up` depends on once the PreUp hooks ran and the device was
    /// programmed, read from the live system as wg-quick reads it: the device's allowed
    /// IPs, fwmark and endpoints, the routes through it, the tables in use.
    fn observe_after_pre_up_inner(&mut self, cfg: &Config, before: &UpFacts) -> Result<UpFacts, SystemError> {
        let name = self.ifname.clone();
        let state = self.devices.get(&name)?;
        let index = self.index()?;
        let links = self.link_mtus()?;
        let mut seen = std::collections::HashSet::new();
        let allowed_ips: Vec<IpNet> =
            state.peers.iter().flat_map(|p| p.allowed_ips.iter().copied()).filter(|n| seen.insert(*n)).collect();
        let endpoint_mtus = if cfg.interface.mtu.is_none() {
            let ips: Vec<std::net::IpAddr> = state.peers.iter().filter_map(|p| p.endpoint).map(|e| e.ip()).collect();
            self.route_mtus_to(&ips, &links, None)?
        } else {
            Vec::new()
        };
        let search = crate::plan::table_search_needed(cfg, allowed_ips.iter().any(|n| n.prefix == 0), Some(state.fwmark));
        let routes = self.observe_routes(&links, None, Some(index), cfg.interface.mtu.is_none(), search)?;
        Ok(UpFacts {
            device: std::rc::Rc::clone(&before.device),
            endpoint_mtus,
            default_route_mtu: routes.default_route_mtu,
            tables_in_use: routes.tables_in_use,
            own_public_key: state.public_key.or(before.own_public_key),
            after_pre_up: Some(crate::plan::AfterPreUp {
                allowed_ips,
                fwmark: state.fwmark,
                device_routes: routes.device_routes,
            }),
            ..before.clone()
        })
    }

    fn observed_rules(&mut self) -> Result<Vec<crate::plan::ObservedRule>, SystemError> {
        let mut rules = Vec::new();
        for v6 in [false, true] {
            let msgs = self.rt.dump(rtnl::dump_rules(v6)).map_err(nl("Unable to list rules"))?;
            rules.extend(msgs.into_iter().filter_map(|m| match m {
                RouteNetlinkMessage::NewRule(r) => rtnl::observed_rule(&r),
                _ => None,
            }));
        }
        Ok(rules)
    }

    /// Observes what planning `down` needs.
    pub fn observe_down(&mut self, _cfg: &Config, recorded: Option<UpRecord>) -> Result<DownFacts, SystemError> {
        let name = self.ifname.clone();
        // What our own `up` recorded makes reading the whole device unnecessary; without a
        // record (an interface wg-quick brought up), the live fwmark and routes decide.
        let (live_fwmark, live_has_default) = if recorded.is_some() {
            (0, false)
        } else {
            let state = self.devices.get(&name)?;
            (state.fwmark, state.peers.iter().any(|p| p.allowed_ips.iter().any(|a| a.prefix == 0)))
        };
        let listed = crate::wire::nftables::list_tables().ok();
        let want_iptables = recorded.as_ref().is_none_or(|r| r.firewall != Some(FirewallKind::Nft));
        let (iptables_save, ip6tables_save) = if want_iptables && crate::system::firewall::iptables_available() {
            crate::system::firewall::iptables_listings(listed.as_deref())
        } else {
            (None, None)
        };
        let nft_tables = if crate::system::firewall::nft_available() {
            listed.or_else(|| crate::system::firewall::nft_list_tables_command().ok())
        } else {
            None
        };
        Ok(DownFacts {
            live_fwmark,
            live_has_default,
            recorded,
            rules: self.observed_rules()?,
            nft_tables,
            iptables_save,
            ip6tables_save,
            resolvconf_name: crate::system::dns::system_resolvconf_name(&name),
        })
    }

    /// Observes what planning `reload` needs.
    pub fn observe_reload(&mut self, cfg: &Config, recorded: Option<UpRecord>) -> Result<crate::plan::ReloadFacts, SystemError> {
        let name = self.ifname.clone();
        let live = self.devices.get(&name)?;
        let index = self.index()?;
        let up = self.observe_up_for(cfg, Some(Running { index, fwmark: live.fwmark }), live.public_key)?;
        let mut live_addresses = Vec::new();
        for m in self.rt.dump(rtnl::dump_addresses()).map_err(nl("Unable to list addresses"))? {
            if let RouteNetlinkMessage::NewAddress(a) = m
                && a.header.index == index
                && let Some(n) = rtnl::address_of(&a)
            {
                live_addresses.push(n);
            }
        }
        let mut live_routes = Vec::new();
        for v6 in [false, true] {
            for r in self.routes(RouteFilter { v6, oif: Some(index), ..Default::default() })? {
                if !rtnl::route_is_managed(&r) {
                    continue;
                }
                let t = rtnl::route_table(&r);
                let net = rtnl::route_destination(&r);
                let table = (t != crate::plan::MAIN_TABLE).then_some(t);
                live_routes.push(Route { net, table, table_text: table.map(|t| t.to_string()) });
            }
        }
        // Full-tunnel tables are handled by the default-route check, not as routes.
        let default_table = recorded.as_ref().and_then(|r| r.table).or((live.fwmark != 0).then_some(live.fwmark));
        let rules = self.observed_rules()?;
        let live_default_families: Vec<bool> =
            rules.iter().filter(|r| matches!(r.not_fwmark, Some((_, t)) if Some(t) == default_table)).map(|r| r.v6).collect();
        if cfg.interface.table_setting() == crate::config::TableSetting::Auto {
            live_routes.retain(|r| !(r.net.is_default() && r.table == default_table));
        }
        let live_mtu = self.link_index(&name).ok().flatten().map(|(_, m)| m).unwrap_or(0);
        // With a record, the text `up` registered is known; resolvconf is asked only without one.
        let live_dns = if recorded.is_some() { None } else { crate::system::dns::list_dns(&up.resolvconf_name) };
        Ok(crate::plan::ReloadFacts {
            up,
            live,
            live_addresses,
            live_routes,
            live_mtu,
            live_dns,
            live_default_families,
            recorded,
        })
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
        // Like wg-quick: whatever resolvconf holds for the interface (errors mean none).
        let dns = crate::system::dns::list_dns(&crate::system::dns::system_resolvconf_name(name)).unwrap_or_default();
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
        let showconf = device::showconf::showconf(&self.devices.get(name)?);
        let text = crate::config::save::render(&head, &showconf);
        crate::config::save::write_atomic(&loc.path, &text)
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

impl System for LinuxSystem {
    fn create_link(&mut self, ifname: &str, trace: &mut dyn FnMut(&str)) -> Result<LinkKind, SysError> {
        let kind = match device::kernel::create_link(&mut self.rt, ifname) {
            Ok(()) => LinkKind::Kernel,
            // Only "Unknown device type" means no kernel WireGuard; anything else (EPERM in
            // a container, EEXIST) is that error, not a reason to try userspace.
            Err(e) if e.raw_os_error() != Some(libc::EOPNOTSUPP) => {
                return Err(SysError::with_source(
                    2,
                    format!("Unable to create interface {ifname}: {}", device::strerror(e.raw_os_error().unwrap_or(libc::EIO))),
                    e,
                ));
            }
            Err(e) => {
                let program = device::uapi::implementation();
                if device::kernel::module_present() || which::which(&program).is_err() {
                    return Err(SysError::with_source(
                        1,
                        format!(
                            "Unable to create interface {ifname}: no WireGuard kernel module, and no userspace \
                             implementation `{program}' in PATH (load the wireguard module, or install \
                             wireguard-go or set WG_QUICK_USERSPACE_IMPLEMENTATION)"
                        ),
                        e,
                    ));
                }
                trace("[!] Missing WireGuard kernel module. Falling back to slow userspace implementation.");
                trace(&format!("[#] {program} {ifname}"));
                if let Err(e) = device::uapi::spawn(&program, ifname) {
                    // The program may have made its tun device before failing: it is ours.
                    if self.link_index(ifname).ok().flatten().is_some() {
                        let _ = device::kernel::delete_link(&mut self.rt, ifname);
                    }
                    return Err(SysError::with_source(1, e.to_string(), e));
                }
                LinkKind::Userspace(program)
            }
        };
        self.created = self.index().ok();
        Ok(kind)
    }

    fn delete_link(&mut self, ifname: &str) -> Result<(), SysError> {
        // The link this run created goes by its index: if it was replaced meanwhile by
        // another of the same name, that one stays.
        let r = match self.created.take() {
            Some(i) => device::kernel::delete_link_index(&mut self.rt, i),
            None => device::kernel::delete_link(&mut self.rt, ifname),
        };
        self.ifindex = None;
        r.map_err(|e| SysError::with_source(1, e.to_string(), e))
    }

    fn set_device(&mut self, ifname: &str, cfg: &DeviceConfig) -> Result<(), SysError> {
        self.devices.set(ifname, cfg).map_err(|e| SysError::with_source(1, e.to_string(), e))
    }

    fn set_fwmark(&mut self, ifname: &str, mark: u32) -> Result<(), SysError> {
        self.set_device(ifname, &DeviceConfig { fwmark: Some(mark), ..Default::default() })
    }

    fn add_address(&mut self, _ifname: &str, addr: IpNet) -> Result<(), SysError> {
        let i = self.index()?;
        self.rt.request(rtnl::add_address(i, addr)).map_err(|e| rt_err(format!("RTNETLINK answers: {e}"), e))
    }

    fn del_address(&mut self, _ifname: &str, addr: IpNet) -> Result<(), SysError> {
        let i = self.index()?;
        self.rt.request(rtnl::del_address(i, addr)).map_err(|e| rt_err(format!("RTNETLINK answers: {e}"), e))
    }

    fn set_mtu_up(&mut self, _ifname: &str, mtu: u32) -> Result<(), SysError> {
        let i = self.index()?;
        self.rt.request(rtnl::set_mtu_up(i, mtu)).map_err(|e| rt_err(format!("RTNETLINK answers: {e}"), e))
    }

    /// Adds routes a chunk at a time (messages built per chunk, so memory does not grow with
    /// the number of routes). On the first refusal the requests of its chunk that came after
    /// it and succeeded are taken back, so exactly `routes[..n]` are in place on `Err((n, _))`.
    fn add_routes(&mut self, _ifname: &str, routes: &[Route]) -> Result<(), (usize, SysError)> {
        let i = self.index().map_err(|e| (0, e))?;
        for (c, chunk) in routes.chunks(ROUTE_CHUNK).enumerate() {
            let base = c * ROUTE_CHUNK;
            let msgs = chunk.iter().map(|r| rtnl::add_route(i, r)).collect();
            let results = self.rt.batch(msgs).map_err(|e| (base, rt_err(format!("RTNETLINK answers: {e}"), e)))?;
            if let Some(n) = results.iter().position(Result::is_err) {
                let later: Vec<_> = chunk[n + 1..]
                    .iter()
                    .zip(&results[n + 1..])
                    .filter(|(_, r)| r.is_ok())
                    .map(|(r, _)| rtnl::del_route(i, r))
                    .collect();
                if !later.is_empty() {
                    let _ = self.rt.batch(later);
                }
                let e = results[n].clone().unwrap_err();
                return Err((base + n, rt_err(format!("RTNETLINK answers: {e} (route {})", chunk[n].net), e)));
            }
        }
        Ok(())
    }

    /// Deletes every route it can (a chunk at a time) and reports the first refusal.
    fn del_routes(&mut self, _ifname: &str, routes: &[Route]) -> Result<(), SysError> {
        let i = self.index()?;
        let mut first = None;
        for chunk in routes.chunks(ROUTE_CHUNK) {
            let msgs = chunk.iter().map(|r| rtnl::del_route(i, r)).collect();
            let results = self.rt.batch(msgs).map_err(|e| rt_err(format!("RTNETLINK answers: {e}"), e))?;
            first = first.or(results.into_iter().find_map(Result::err));
        }
        first.map_or(Ok(()), |e| Err(rt_err(format!("RTNETLINK answers: {e}"), e)))
    }

    fn add_rule(&mut self, rule: &Rule) -> Result<Rule, SysError> {
        let v6 = rule.v6();
        let p = self.next_rule_priority(v6)?;
        let placed = match rule.clone() {
            Rule::NotFwmark { v6, mark, table, .. } => Rule::NotFwmark { v6, mark, table, priority: Some(p) },
            Rule::SuppressMain { v6, .. } => Rule::SuppressMain { v6, priority: Some(p) },
        };
        self.rt.request(rtnl::add_rule(&placed)).map_err(|e| rt_err(format!("RTNETLINK answers: {e}"), e))?;
        self.rule_prios.entry(v6).or_default().push(p);
        Ok(placed)
    }

    fn del_rule(&mut self, rule: &Rule) -> Result<(), SysError> {
        self.rt.request(rtnl::del_rule(rule)).map_err(|e| rt_err(format!("RTNETLINK answers: {e}"), e))
    }

    fn run_hook(&mut self, ifname: &str, phase: Phase, text: &str) -> Result<(), SysError> {
        let config_file = self.config.as_ref().map(|(l, _)| l.path.clone()).unwrap_or_default();
        crate::system::hooks::run(text, &crate::system::hooks::HookEnv { interface: ifname.to_string(), config_file })
            .map_err(|e| SysError::with_source(e.status(), format!("{phase:?}"), e))
    }

    fn set_dns(&mut self, name: &str, input: &str) -> Result<(), SysError> {
        crate::system::dns::set_dns(name, input).map_err(|e| SysError::with_source(e.status(), e.to_string(), e))
    }

    fn unset_dns(&mut self, name: &str) -> Result<(), SysError> {
        crate::system::dns::unset_dns(name).map_err(|e| SysError::with_source(e.status(), e.to_string(), e))
    }

    fn set_firewall(&mut self, _ifname: &str, v6: bool, kind: FirewallKind, script: &str) -> Result<(), SysError> {
        let r = match kind {
            FirewallKind::Nft => crate::system::firewall::nft_apply(script),
            FirewallKind::Iptables => crate::system::firewall::restore_apply(v6, script),
        };
        r.map_err(|e| SysError::with_source(e.status(), e.to_string(), e))
    }

    fn unset_firewall(&mut self, ifname: &str, families: &[bool], kind: FirewallKind) -> Result<(), SysError> {
        let v6 = families.first().copied().unwrap_or(false);
        let r = match kind {
            FirewallKind::Nft => crate::system::firewall::nft_apply(
                &families
                    .iter()
                    .map(|v6| format!("delete table {} wg-quick-{ifname}\n", if *v6 { "ip6" } else { "ip" }))
                    .collect::<String>(),
            ),
            FirewallKind::Iptables => match crate::system::firewall::iptables_save(v6) {
                Ok(save) => match crate::system::firewall::iptables_down_script(ifname, &save) {
                    Some(s) => crate::system::firewall::restore_apply(v6, &s),
                    None => Ok(()),
                },
                Err(e) => Err(e),
            },
        };
        r.map_err(|e| SysError::with_source(e.status(), e.to_string(), e))
    }

    fn remove_firewall(&mut self, nft: Option<&str>, iptables: Option<&str>, ip6tables: Option<&str>) -> Result<(), SysError> {
        let mut first_err = None;
        if let Some(s) = nft
            && let Err(e) = crate::system::firewall::nft_apply(s)
        {
            first_err.get_or_insert(SysError::with_source(e.status(), e.to_string(), e));
        }
        for (v6, s) in [(false, iptables), (true, ip6tables)] {
            if let Some(s) = s
                && let Err(e) = crate::system::firewall::restore_apply(v6, s)
            {
                first_err.get_or_insert(SysError::with_source(e.status(), e.to_string(), e));
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn set_src_valid_mark(&mut self) -> Result<(), SysError> {
        std::fs::write("/proc/sys/net/ipv4/conf/all/src_valid_mark", "1")
            .map_err(|e| SysError::with_source(1, "sysctl: unable to set net.ipv4.conf.all.src_valid_mark", e))
    }

    fn save_config(&mut self, ifname: &str) -> Result<(), SysError> {
        self.save(ifname).map_err(|e| SysError::with_source(e.status(), e.to_string(), e))
    }

    fn pending_signal(&mut self) -> Option<i32> {
        crate::os::signals::pending()
    }

    fn observe_after_pre_up(&mut self, cfg: &Config, before: &UpFacts) -> Result<UpFacts, SysError> {
        self.observe_after_pre_up_inner(cfg, before).map_err(|e| SysError::with_source(e.status(), e.to_string(), e))
    }
}
