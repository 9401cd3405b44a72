//! What the planners read of the system: `observe_up`, `observe_down`, `observe_reload`, and
//! the new look after PreUp hooks. Each asks the kernel only for what the plan needs.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;

use netlink_packet_route::{RouteNetlinkMessage, route::RouteMessage};

use super::{LinuxSystem, SystemError, nl};
use crate::config::Config;
use crate::device::{self, DeviceConfig, PeerConfig};
use crate::net::IpNet;
use crate::plan::{DownFacts, FirewallKind, Route, UpFacts, UpRecord};
use crate::wire::rtnl::{self, RouteFilter};

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

/// Reads the rt_tables files iproute2 reads (the entries of all of them).
pub fn read_rt_tables() -> Vec<(u32, String)> {
    let mut files = vec![
        std::path::PathBuf::from("/etc/iproute2/rt_tables"),
        std::path::PathBuf::from("/usr/share/iproute2/rt_tables"),
        std::path::PathBuf::from("/usr/lib/iproute2/rt_tables"),
    ];
    for d in ["/etc/iproute2/rt_tables.d", "/usr/share/iproute2/rt_tables.d", "/usr/lib/iproute2/rt_tables.d"] {
        if let Ok(rd) = std::fs::read_dir(d) {
            let mut v: Vec<_> =
                rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "conf")).collect();
            v.sort();
            files.extend(v);
        }
    }
    files
        .iter()
        .filter_map(|f| crate::os::read_bounded(f, crate::os::MAX_SMALL_FILE).ok())
        .flat_map(|t| crate::plan::routing::parse_rt_tables(&t))
        .collect()
}

/// What one dump of the routes tells `up`.
#[derive(Debug, Default)]
struct ObservedRoutes {
    tables_in_use: BTreeSet<u32>,
    default_route_mtu: Option<u32>,
    device_routes: Vec<IpNet>,
}

impl LinuxSystem {
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

    /// Resolves one endpoint as wg(8) does (its retry rules), through [`Self::endpoint_lookup`].
    fn resolve_endpoint(&self, e: &crate::config::Endpoint) -> Result<SocketAddr, device::resolve::ResolveError> {
        let retries = device::resolve::retries_from_env(std::env::var("WG_ENDPOINT_RESOLUTION_RETRIES").ok().as_deref())?;
        device::resolve::resolve_with(e, retries, &*self.endpoint_lookup, std::thread::sleep, |m| eprintln!("{m}"))
    }

    /// Which of `addrs` the kernel has a route to for packets carrying `mark` (the
    /// device's fwmark, 0 for none), not through the interface `ifname` itself: where the
    /// device can send its encrypted packets (`reresolve` prefers those answers).
    pub fn routable(
        &mut self,
        ifname: &str,
        addrs: &[std::net::IpAddr],
        mark: u32,
    ) -> Result<Vec<std::net::IpAddr>, SystemError> {
        let mut uniq: Vec<std::net::IpAddr> = addrs.to_vec();
        uniq.sort();
        uniq.dedup();
        let index = crate::system::runstate::ifindex(ifname).unwrap_or(0);
        let running = Some(Running { index, fwmark: mark });
        let msgs = uniq.iter().map(|a| rtnl::get_route(*a, (mark != 0).then_some(mark))).collect();
        let replies = self.rt.get_many(msgs).map_err(nl("Unable to look up the routes to the endpoints"))?;
        Ok(uniq
            .into_iter()
            .zip(replies)
            .filter_map(|(a, r)| match r {
                Ok(RouteNetlinkMessage::NewRoute(r)) if !through(running, &r) => Some(a),
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
                Some(e) => Some(self.resolve_endpoint(&e.value).map_err(|source| SystemError::Resolve {
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
            crate::config::TableSetting::Name(n) => crate::plan::routing::resolve_table(&n, &read_rt_tables()),
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
            dns_backend: if i.dns.is_empty() { Default::default() } else { crate::system::dns::detect_backend() },
            src_valid_mark_set: std::fs::read_to_string("/proc/sys/net/ipv4/conf/all/src_valid_mark")
                .map(|s| s.trim() == "1")
                .unwrap_or(false),
            own_public_key: own,
            after_pre_up: None,
            kill_switch: None,
            kill_switch_present: None,
            other_switches: Vec::new(),
            other_tunnels: Vec::new(),
            kill_switch_jumps: [false; 2],
            kernel: None,
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
    pub(super) fn observe_after_pre_up_inner(&mut self, cfg: &Config, before: &UpFacts) -> Result<UpFacts, SystemError> {
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

    /// The host's other wgq tunnels (`names`: the running interfaces with a record), as a
    /// kill switch lets them out: each device's fwmark and listen port, read now.
    pub fn observe_tunnels(&mut self, names: &[String]) -> Vec<crate::plan::Admitted> {
        names
            .iter()
            .map(|n| {
                let d = self.devices.get(n).ok();
                crate::plan::Admitted {
                    ifname: n.clone(),
                    mark: d.as_ref().map(|d| d.fwmark).filter(|m| *m != 0),
                    port: d.as_ref().map(|d| d.listen_port).filter(|p| *p != 0),
                }
            })
            .collect()
    }

    /// What kill switches need to know of the host's other tunnels: the other interfaces'
    /// switches in place and, when there is one or `making_one` (`up --kill-switch`), the
    /// other wgq tunnels running (from this namespace's run state).
    pub fn observe_neighbours(
        &mut self,
        state: &crate::system::runstate::RunState,
        making_one: bool,
    ) -> (Vec<(String, FirewallKind)>, Vec<crate::plan::Admitted>) {
        let name = self.ifname.clone();
        let switches = crate::system::firewall::other_kill_switches(&name);
        if switches.is_empty() && !making_one {
            return (switches, Vec::new());
        }
        let names: Vec<String> = state.running_others(&name).into_iter().map(|(n, _)| n).collect();
        (switches, self.observe_tunnels(&names))
    }

    /// After `up`, `reload` or `down` changed the records (only where a kill switch was seen
    /// or made): under the namespace's kill-switch lock, every kill switch is made to let
    /// out exactly the wgq tunnels running now (their records, their devices' fwmarks and
    /// ports). What a command planned from an earlier look (another tunnel's `up` or `down`
    /// running at the same time) is thereby corrected: the last one sees every record.
    pub fn reconcile_switches(&mut self, state: &crate::system::runstate::RunState) -> Result<(), String> {
        let _lock = state.lock_switches().map_err(|e| format!("unable to lock {}: {e}", state.dir().display()))?;
        crate::system::firewall::forget_nft_tables();
        let switches = crate::system::firewall::other_kill_switches("");
        if switches.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = state.running_others("").into_iter().map(|(n, _)| n).collect();
        let tunnels = self.observe_tunnels(&names);
        let mut first = Ok(());
        for (owner, kind) in switches {
            let others: Vec<crate::plan::Admitted> = tunnels.iter().filter(|t| t.ifname != owner).cloned().collect();
            if let Err(e) = crate::system::firewall::set_admitted(&owner, kind, &others)
                && first.is_ok()
            {
                first = Err(format!("the kill switch of {owner}: {e}"));
            }
        }
        first
    }

    /// Observes what planning `down` needs.
    pub fn observe_down(&mut self, cfg: &Config, recorded: Option<UpRecord>) -> Result<DownFacts, SystemError> {
        let name = self.ifname.clone();
        // The recorded backend is used when there is a record: detected only without one.
        let recorded_none_and_dns = recorded.is_none() && !cfg.interface.dns.is_empty();
        // What our own `up` recorded makes reading the whole device unnecessary; without a
        // record (an interface wg-quick brought up), the live fwmark and routes decide.
        let (live_fwmark, live_has_default) = if recorded.is_some() {
            (0, false)
        } else {
            let state = self.devices.get(&name)?;
            (state.fwmark, state.peers.iter().any(|p| p.allowed_ips.iter().any(|a| a.prefix == 0)))
        };
        self.observe_leftovers(recorded, live_fwmark, live_has_default, recorded_none_and_dns)
    }

    /// What `down` of an interface that is not there (vanished, or only its kill switch
    /// left) reads: the policy rules and the firewall, no device.
    /// Its recorded table counts as another tunnel's (`tables_of_others`) when routes are in
    /// it now: the vanished link's went with it, so someone else (a tunnel wg-quick brought
    /// up since, which took the free table) uses it, and its rules stay.
    pub fn observe_down_vanished(&mut self, recorded: Option<UpRecord>) -> Result<DownFacts, SystemError> {
        let table = recorded.as_ref().and_then(|r| r.table);
        let mut facts = self.observe_leftovers(recorded, 0, false, false)?;
        if let Some(t) = table
            && self.table_in_use(t)?
        {
            facts.tables_of_others.push(t);
        }
        Ok(facts)
    }

    fn observe_leftovers(
        &mut self,
        recorded: Option<UpRecord>,
        live_fwmark: u32,
        live_has_default: bool,
        recorded_none_and_dns: bool,
    ) -> Result<DownFacts, SystemError> {
        let name = self.ifname.clone();
        let listed = crate::system::firewall::nft_tables_over_netlink();
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
            dns_backend: if recorded_none_and_dns { crate::system::dns::detect_backend() } else { Default::default() },
            kill_switch_off: false,
            kill_switch_present: Vec::new(),
            tables_of_others: Vec::new(),
            other_switches: Vec::new(),
            other_tunnels: Vec::new(),
        })
    }

    /// What planning `reload` of `cfg` needs, as `wgq reload` and a provisioning edit of the
    /// server's own settings see it: peers `wgq p2p connect` added at run time are left out
    /// of the device (they stay), and the other tunnels' kill switches are looked at.
    pub fn observe_reload_with(
        &mut self,
        cfg: &Config,
        recorded: Option<UpRecord>,
        state: &crate::system::runstate::RunState,
    ) -> Result<crate::plan::ReloadFacts, SystemError> {
        let ifname = self.ifname.clone();
        let mut facts = self.observe_reload(cfg, recorded)?;
        if let Some(p2p) = state.read_p2p(&ifname, crate::system::runstate::ifindex(&ifname)) {
            let file_keys: Vec<crate::key::Key> = cfg.peers.iter().map(|p| p.public_key).collect();
            p2p.strip(&mut facts.live, &file_keys);
        }
        (facts.up.other_switches, facts.up.other_tunnels) = self.observe_neighbours(state, false);
        Ok(facts)
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
        // Only routes of the shape wgq adds can be wgq's; others through the link (a
        // daemon's, a gateway route, one with its own metric) are not even looked at.
        let mut live_routes = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for v6 in [false, true] {
            for r in self.routes(RouteFilter { v6, oif: Some(index), ..Default::default() })? {
                if !rtnl::route_is_plain(&r) {
                    continue;
                }
                let t = rtnl::route_table(&r);
                let net = rtnl::route_destination(&r);
                if seen.insert((net, t)) {
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
}

/// Which families this host has global addresses of (scope universe), on any link but
/// `exclude` (the tunnel's own): what `wgq check` needs to tell a real leak. `None` when the
/// addresses cannot be listed.
pub fn host_addresses(exclude: &str) -> Option<crate::config::check::HostAddresses> {
    let mut sock = crate::wire::netlink::Socket::open(libc::NETLINK_ROUTE as isize).ok()?;
    let skip = crate::system::runstate::ifindex(exclude);
    let mut h = crate::config::check::HostAddresses::default();
    for m in sock.dump(rtnl::dump_addresses()).ok()? {
        if let RouteNetlinkMessage::NewAddress(a) = m
            && a.header.scope == netlink_packet_route::address::AddressScope::Universe
            && Some(a.header.index) != skip
            && let Some(n) = rtnl::address_of(&a)
        {
            if n.is_ipv6() {
                h.v6 = true;
            } else {
                h.v4 = true;
            }
        }
    }
    Some(h)
}

/// The uplink `server init` uses by default: the device of the main table's default route
/// and the source address traffic leaving through it gets, per family.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uplink {
    pub device: Option<String>,
    pub v4_source: Option<std::net::IpAddr>,
    pub v6_source: Option<std::net::IpAddr>,
}

fn route_prefsrc(r: &RouteMessage) -> Option<std::net::IpAddr> {
    use netlink_packet_route::route::{RouteAddress, RouteAttribute};
    r.attributes.iter().find_map(|a| match a {
        RouteAttribute::PrefSource(RouteAddress::Inet(a)) => Some(std::net::IpAddr::V4(*a)),
        RouteAttribute::PrefSource(RouteAddress::Inet6(a)) => Some(std::net::IpAddr::V6(*a)),
        _ => None,
    })
}

fn route_gateway(r: &RouteMessage) -> Option<std::net::IpAddr> {
    use netlink_packet_route::route::{RouteAddress, RouteAttribute};
    r.attributes.iter().find_map(|a| match a {
        RouteAttribute::Gateway(RouteAddress::Inet(a)) => Some(std::net::IpAddr::V4(*a)),
        RouteAttribute::Gateway(RouteAddress::Inet6(a)) => Some(std::net::IpAddr::V6(*a)),
        _ => None,
    })
}

/// The name of the link with this index.
fn link_name(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `buf` has IF_NAMESIZE bytes, as if_indextoname requires.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: if_indextoname wrote a NUL-terminated name into `buf`.
    Some(unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned())
}

impl LinuxSystem {
    /// What the live side of `wgq peer` reads: the routes through the running interface
    /// (no device dump: a server with 20,000 peers costs nothing more), and a named table.
    pub fn observe_peer(
        &mut self,
        cfg: &Config,
        recorded: Option<UpRecord>,
    ) -> Result<crate::plan::peer::PeerFacts, SystemError> {
        let index = self.index()?;
        let mut device_routes = Vec::new();
        for v6 in [false, true] {
            for r in self.routes(RouteFilter { v6, oif: Some(index), ..Default::default() })? {
                if !rtnl::route_is_plain(&r) {
                    continue;
                }
                let t = rtnl::route_table(&r);
                let table = (t != crate::plan::MAIN_TABLE).then_some(t);
                device_routes.push(Route { net: rtnl::route_destination(&r), table, table_text: table.map(|t| t.to_string()) });
            }
        }
        let named_table = match cfg.interface.table_setting() {
            crate::config::TableSetting::Name(n) => crate::plan::routing::resolve_table(&n, &read_rt_tables()),
            _ => None,
        };
        Ok(crate::plan::peer::PeerFacts { device_routes, named_table, recorded })
    }

    /// The uplink: the first default route of the main table, per family, its device and
    /// its source address (the route's own, else the one the kernel picks towards its
    /// gateway). Nothing is sent.
    pub fn observe_uplink(&mut self) -> Result<Uplink, SystemError> {
        let mut u = Uplink::default();
        for v6 in [false, true] {
            let defaults =
                self.routes(RouteFilter { v6, table: Some(crate::plan::MAIN_TABLE), default_only: true, ..Default::default() })?;
            let Some(r) = defaults.first() else { continue };
            if u.device.is_none() {
                u.device = rtnl::route_oif(r).and_then(link_name);
            }
            let mut src = route_prefsrc(r);
            if src.is_none()
                && let Some(gw) = route_gateway(r)
                && let Ok(replies) = self.rt.get_many(vec![rtnl::get_route(gw, None)])
            {
                src = replies.into_iter().find_map(|m| match m {
                    Ok(RouteNetlinkMessage::NewRoute(m)) => route_prefsrc(&m),
                    _ => None,
                });
            }
            if v6 {
                u.v6_source = src;
            } else {
                u.v4_source = src;
            }
        }
        Ok(u)
    }
}

/// What `up` checks of the kernel before it touches anything
/// ([`crate::plan::kernel::check_up`]): its release, whether WireGuard is loaded, built in
/// or listed among its modules, whether the userspace implementation is in PATH, and on a
/// kernel older than 3.12 whether policy rules of the `full_tunnel` families (`true` IPv6,
/// from [`crate::plan::kernel::full_tunnel_families`]) keep `suppress_prefixlength`.
pub fn observe_kernel(full_tunnel: &[bool]) -> crate::plan::kernel::KernelFacts {
    use crate::plan::kernel::{Capability, KernelFacts, Module, needs_probe};
    let release = read_bounded(std::path::Path::new("/proc/sys/kernel/osrelease"), 256)
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let module = if crate::device::kernel::module_present() {
        Module::Present
    } else {
        module_listed(std::path::Path::new("/lib/modules"), &release)
    };
    let userspace = crate::device::uapi::implementation();
    let suppress_prefixlength = if !full_tunnel.is_empty() && needs_probe(&release) {
        probe_suppress_prefixlength(full_tunnel)
    } else {
        Capability::Unknown
    };
    KernelFacts { release, userspace_found: which::which(&userspace).is_ok(), userspace, module, suppress_prefixlength }
}

/// How long the probe may take (making and dropping a network namespace is quick; a kernel
/// that takes longer is not held up for it).
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// The priority of the probe's rule in its namespace (a fresh one has rules at 0, 32766
/// and 32767 only).
const PROBE_PRIORITY: u32 = 1000;

/// Whether the kernel keeps `suppress_prefixlength` on policy rules of these families
/// (`true` IPv6), found without touching the host: a short-lived thread moves into a network
/// namespace of its own (a network namespace is per thread), adds the rule `up` would add
/// (`ip rule add table main suppress_prefixlength 0`) and reads it back; the namespace goes
/// with the thread. `Unknown` when that cannot be done (no CAP_SYS_ADMIN, no IPv6, no
/// answer within [`PROBE_TIMEOUT`]); `Unsupported` when any family lost the attribute.
pub fn probe_suppress_prefixlength(families: &[bool]) -> crate::plan::kernel::Capability {
    use crate::plan::kernel::Capability;
    let families = families.to_vec();
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new().name("wgq-kernel-probe".into()).spawn(move || {
        let _ = tx.send(probe_in_own_namespace(&families));
    });
    if spawned.is_err() {
        return Capability::Unknown;
    }
    // A probe still running past the bound is left to finish in its own namespace.
    rx.recv_timeout(PROBE_TIMEOUT).unwrap_or(Capability::Unknown)
}

/// The probe itself: only ever run on a thread of its own, which it moves out of the
/// host's network namespace for good.
fn probe_in_own_namespace(families: &[bool]) -> crate::plan::kernel::Capability {
    use crate::plan::kernel::Capability;
    use crate::wire::netlink::Socket;
    // SAFETY: unshare(2) with a flag only; CLONE_NEWNET moves just the calling thread, a
    // thread no other code runs on.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Capability::Unknown;
    }
    let Ok(mut sock) = Socket::open(libc::NETLINK_ROUTE as isize) else {
        return Capability::Unknown;
    };
    let mut all = true;
    for &v6 in families {
        let rule = crate::net::Rule::SuppressMain { v6, priority: Some(PROBE_PRIORITY) };
        let kept =
            sock.request(rtnl::add_rule(&rule)).ok().and_then(|()| sock.dump(rtnl::dump_rules(v6)).ok()).and_then(|dump| {
                let rules: Vec<_> = dump
                    .into_iter()
                    .filter_map(|m| match m {
                        RouteNetlinkMessage::NewRule(r) => Some(r),
                        _ => None,
                    })
                    .collect();
                rtnl::rule_kept_suppress(&rules, v6, PROBE_PRIORITY)
            });
        match kept {
            Some(false) => return Capability::Unsupported,
            Some(true) => {}
            None => all = false,
        }
    }
    if all && !families.is_empty() { Capability::Supported } else { Capability::Unknown }
}

/// Whether the module lists of `release` below `modules` (modules.dep: loadable ones, with
/// dkms' too; modules.builtin) name wireguard; `Unknown` when there is nothing to read (a
/// container without the host's /lib/modules, an unreadable release).
fn module_listed(modules: &std::path::Path, release: &str) -> crate::plan::kernel::Module {
    use crate::plan::kernel::Module;
    if release.is_empty() || release.contains('/') || release.starts_with('.') {
        return Module::Unknown;
    }
    let dir = modules.join(release);
    let mut read_any = false;
    for list in ["modules.dep", "modules.builtin"] {
        let Some(text) = read_bounded(&dir.join(list), 64 << 20) else { continue };
        read_any = true;
        let named = text.split(|&b| b == b'\n').any(|line| {
            let path = line.split(|&b| b == b':').next().unwrap_or_default();
            let name = path.rsplit(|&b| b == b'/').next().unwrap_or_default();
            name.starts_with(b"wireguard.ko")
        });
        if named {
            return Module::Present;
        }
    }
    if read_any { Module::Absent } else { Module::Unknown }
}

/// At most `limit` bytes of a file (`None` if it cannot be read).
fn read_bounded(path: &std::path::Path, limit: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut v = Vec::new();
    std::fs::File::open(path).ok()?.take(limit).read_to_end(&mut v).ok()?;
    Some(v)
}

#[cfg(test)]
mod kernel_tests {
    use super::module_listed;
    use crate::plan::kernel::Module;

    #[test]
    fn module_lists() {
        let d = tempfile::tempdir().unwrap();
        let rel = d.path().join("3.10.0-1160.el7.x86_64");
        // No lists at all: unknown (a container without /lib/modules).
        assert_eq!(module_listed(d.path(), "3.10.0-1160.el7.x86_64"), Module::Unknown);
        std::fs::create_dir_all(&rel).unwrap();
        assert_eq!(module_listed(d.path(), "3.10.0-1160.el7.x86_64"), Module::Unknown);
        std::fs::write(rel.join("modules.dep"), "kernel/net/ipv4/udp_tunnel.ko.xz:\nkernel/drivers/net/tun.ko.xz:\n").unwrap();
        assert_eq!(module_listed(d.path(), "3.10.0-1160.el7.x86_64"), Module::Absent);
        // kmod-wireguard / dkms put it under extra/ and run depmod.
        std::fs::write(
            rel.join("modules.dep"),
            "kernel/drivers/net/tun.ko.xz:\nextra/wireguard.ko.xz: kernel/net/ipv4/udp_tunnel.ko.xz\n",
        )
        .unwrap();
        assert_eq!(module_listed(d.path(), "3.10.0-1160.el7.x86_64"), Module::Present);
        // Built in.
        std::fs::write(rel.join("modules.dep"), "kernel/drivers/net/tun.ko:\n").unwrap();
        std::fs::write(rel.join("modules.builtin"), "kernel/drivers/net/wireguard/wireguard.ko\n").unwrap();
        assert_eq!(module_listed(d.path(), "3.10.0-1160.el7.x86_64"), Module::Present);
        // A name that is no path below the directory.
        assert_eq!(module_listed(d.path(), "../x"), Module::Unknown);
        assert_eq!(module_listed(d.path(), ""), Module::Unknown);
    }
}
