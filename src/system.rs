//! The Linux [`System`]: rtnetlink for links, addresses, routes and rules; the device
//! layer for WireGuard settings; resolvconf, nft/iptables-restore and bash for what
//! wg-quick also delegates to them.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;

use netlink_packet_route::{RouteNetlinkMessage, route::RouteMessage};

use crate::cli::ConfigLocation;
use crate::config::Config;
use crate::device::{self, DeviceConfig, PeerConfig};
use crate::exec::{LinkKind, SysError, System};
use crate::net::IpNet;
use crate::netlink::{NetlinkError, Socket};
use crate::plan::{DownFacts, FirewallKind, Phase, Route, Rule, UpFacts, UpRecord};
use crate::rtnl;

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

/// Routes built and sent per chunk (each chunk goes out in a few `sendmsg` calls).
const ROUTE_CHUNK: usize = 1024;

pub struct LinuxSystem {
    rt: Socket,
    devices: device::Devices,
    ifname: String,
    ifindex: Option<u32>,
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
        Ok(device::is_interface(&mut self.rt, name).unwrap_or(false))
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
    fn route_mtus_to(&mut self, addrs: &[std::net::IpAddr], links: &HashMap<u32, u32>, running: Option<Running>) -> Vec<u32> {
        let mut uniq: Vec<std::net::IpAddr> = addrs.to_vec();
        uniq.sort();
        uniq.dedup();
        let mark = running.map(|r| r.fwmark).filter(|&m| m != 0);
        let msgs = uniq.iter().map(|a| rtnl::get_route(*a, mark)).collect();
        let Ok(replies) = self.rt.get_many(msgs) else { return Vec::new() };
        replies
            .into_iter()
            .filter_map(|r| match r {
                Ok(RouteNetlinkMessage::NewRoute(r)) if !through(running, &r) => route_path_mtu(&r, links),
                _ => None,
            })
            .collect()
    }

    /// Observes what planning `up` needs. Resolves endpoints (with wg's retry rules).
    pub fn observe_up(&mut self, cfg: &Config) -> Result<UpFacts, SystemError> {
        self.observe_up_for(cfg, None)
    }

    /// [`Self::observe_up`]; with `running` (reload), the automatic MTU is computed as at
    /// `up`, before the interface's own routes existed.
    fn observe_up_for(&mut self, cfg: &Config, running: Option<Running>) -> Result<UpFacts, SystemError> {
        let path = cfg.path.display().to_string();
        let mut peers = Vec::with_capacity(cfg.peers.len());
        let mut endpoints: Vec<SocketAddr> = Vec::new();
        for p in &cfg.peers {
            let endpoint = match &p.endpoint {
                Some(e) => {
                    let sa = device::resolve::resolve(&e.value).map_err(|source| SystemError::Resolve {
                        path: path.clone(),
                        line: e.line,
                        source,
                    })?;
                    endpoints.push(sa);
                    Some(sa)
                }
                None => None,
            };
            peers.push(PeerConfig {
                public_key: p.public_key,
                preshared_key: p.preshared_key,
                endpoint,
                persistent_keepalive: p.persistent_keepalive,
                replace_allowed_ips: true,
                allowed_ips: p.allowed_ips.iter().map(|a| a.network()).collect(),
                ..Default::default()
            });
        }
        let i = &cfg.interface;
        let device = DeviceConfig {
            private_key: i.private_key,
            listen_port: i.listen_port,
            fwmark: i.fwmark,
            replace_peers: false,
            peers,
        };
        let links = self.link_mtus()?;
        let endpoint_mtus = if i.mtu.is_none() {
            let ips: Vec<std::net::IpAddr> = endpoints.iter().map(|e| e.ip()).collect();
            self.route_mtus_to(&ips, &links, running)
        } else {
            Vec::new()
        };
        let mut tables_in_use = BTreeSet::new();
        let mut default_route_mtu = None;
        for v6 in [false, true] {
            let msgs = self.rt.dump(rtnl::dump_routes(v6)).map_err(nl("Unable to list routes"))?;
            for m in msgs {
                if let RouteNetlinkMessage::NewRoute(r) = m {
                    let t = rtnl::route_table(&r);
                    tables_in_use.insert(t);
                    if !v6
                        && default_route_mtu.is_none()
                        && t == 254
                        && r.header.destination_prefix_length == 0
                        && !through(running, &r)
                    {
                        default_route_mtu = route_path_mtu(&r, &links);
                    }
                }
            }
        }
        let named_table = match i.table_setting() {
            crate::config::TableSetting::Name(n) => crate::routing::resolve_table(&n, &crate::routing::read_rt_tables()),
            _ => None,
        };
        Ok(UpFacts {
            device: device.into(),
            endpoint_mtus,
            default_route_mtu,
            tables_in_use,
            named_table,
            nft_available: crate::firewall::nft_available(),
            resolvconf_name: crate::dns::system_resolvconf_name(&self.ifname),
            src_valid_mark_set: std::fs::read_to_string("/proc/sys/net/ipv4/conf/all/src_valid_mark")
                .map(|s| s.trim() == "1")
                .unwrap_or(false),
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
        let listed = crate::nftables::list_tables().ok();
        let want_iptables = recorded.as_ref().is_none_or(|r| r.firewall != Some(FirewallKind::Nft));
        let (iptables_save, ip6tables_save) = if want_iptables && crate::firewall::iptables_available() {
            crate::firewall::iptables_listings(listed.as_deref())
        } else {
            (None, None)
        };
        let nft_tables = if crate::firewall::nft_available() {
            listed.or_else(|| crate::firewall::nft_list_tables_command().ok())
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
            resolvconf_name: crate::dns::system_resolvconf_name(&name),
        })
    }

    /// Observes what planning `reload` needs.
    pub fn observe_reload(&mut self, cfg: &Config, recorded: Option<UpRecord>) -> Result<crate::plan::ReloadFacts, SystemError> {
        let name = self.ifname.clone();
        let live = self.devices.get(&name)?;
        let index = self.index()?;
        let up = self.observe_up_for(cfg, Some(Running { index, fwmark: live.fwmark }))?;
        let mut live_addresses = Vec::new();
        for m in self.rt.dump(rtnl::dump_addresses()).map_err(nl("Unable to list addresses"))? {
            if let RouteNetlinkMessage::NewAddress(a) = m
                && a.header.index == index
                && let Some(n) = rtnl::address_of(&a)
                && !matches!(n.addr, std::net::IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
            {
                live_addresses.push(n);
            }
        }
        let mut live_routes = Vec::new();
        for v6 in [false, true] {
            for m in self.rt.dump(rtnl::dump_routes(v6)).map_err(nl("Unable to list routes"))? {
                if let RouteNetlinkMessage::NewRoute(r) = m {
                    if rtnl::route_oif(&r) != Some(index) || !rtnl::route_is_managed(&r) {
                        continue;
                    }
                    let t = rtnl::route_table(&r);
                    let net = rtnl::route_destination(&r);
                    let table = (t != crate::plan::MAIN_TABLE).then_some(t);
                    live_routes.push(Route { net, table, table_text: table.map(|t| t.to_string()) });
                }
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
        let live_dns = crate::dns::list_dns(&up.resolvconf_name);
        Ok(crate::plan::ReloadFacts { up, live, live_addresses, live_routes, live_mtu, live_dns, live_default_families })
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
                    // Link-local addresses come from the kernel or the tun device, not the config.
                    if let std::net::IpAddr::V6(v6) = net.addr
                        && v6.segments()[0] & 0xffc0 == 0xfe80
                    {
                        continue;
                    }
                    addresses.push(net.to_string());
                }
            }
        }
        // Like wg-quick: whatever resolvconf holds for the interface (errors mean none).
        let dns = crate::dns::list_dns(&crate::dns::system_resolvconf_name(name));
        let mtu = if i.mtu.is_some() {
            let n = name.to_string();
            self.link_index(&n).ok().flatten().map(|(_, m)| m)
        } else {
            None
        };
        let head = crate::save::SaveHead {
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
        let text = crate::save::render(&head, &showconf);
        crate::save::write_atomic(&loc.path, &text)
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
        match device::kernel::create_link(&mut self.rt, ifname) {
            Ok(()) => Ok(LinkKind::Kernel),
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
                device::uapi::spawn(&program, ifname).map_err(|e| SysError::with_source(1, e.to_string(), e))?;
                Ok(LinkKind::Userspace(program))
            }
        }
    }

    fn delete_link(&mut self, ifname: &str) -> Result<(), SysError> {
        let r = device::kernel::delete_link(&mut self.rt, ifname).map_err(|e| SysError::with_source(1, e.to_string(), e));
        self.ifindex = None;
        r
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
        crate::hooks::run(text, &crate::hooks::HookEnv { interface: ifname.to_string(), config_file })
            .map_err(|e| SysError::with_source(e.status(), format!("{phase:?}"), e))
    }

    fn set_dns(&mut self, name: &str, input: &str) -> Result<(), SysError> {
        crate::dns::set_dns(name, input).map_err(|e| SysError::with_source(e.status(), e.to_string(), e))
    }

    fn unset_dns(&mut self, name: &str) -> Result<(), SysError> {
        crate::dns::unset_dns(name).map_err(|e| SysError::with_source(e.status(), e.to_string(), e))
    }

    fn set_firewall(&mut self, _ifname: &str, v6: bool, kind: FirewallKind, script: &str) -> Result<(), SysError> {
        let r = match kind {
            FirewallKind::Nft => crate::firewall::nft_apply(script),
            FirewallKind::Iptables => crate::firewall::restore_apply(v6, script),
        };
        r.map_err(|e| SysError::with_source(e.status(), e.to_string(), e))
    }

    fn unset_firewall(&mut self, ifname: &str, families: &[bool], kind: FirewallKind) -> Result<(), SysError> {
        let v6 = families.first().copied().unwrap_or(false);
        let r = match kind {
            FirewallKind::Nft => crate::firewall::nft_apply(
                &families
                    .iter()
                    .map(|v6| format!("delete table {} wg-quick-{ifname}\n", if *v6 { "ip6" } else { "ip" }))
                    .collect::<String>(),
            ),
            FirewallKind::Iptables => match crate::firewall::iptables_save(v6) {
                Ok(save) => match crate::firewall::iptables_down_script(ifname, &save) {
                    Some(s) => crate::firewall::restore_apply(v6, &s),
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
            && let Err(e) = crate::firewall::nft_apply(s)
        {
            first_err.get_or_insert(SysError::with_source(e.status(), e.to_string(), e));
        }
        for (v6, s) in [(false, iptables), (true, ip6tables)] {
            if let Some(s) = s
                && let Err(e) = crate::firewall::restore_apply(v6, s)
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
        crate::signals::pending()
    }
}
