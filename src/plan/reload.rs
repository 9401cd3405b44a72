//! Planning `reload`: the running interface brought to the file without recreating it.

use crate::config::{Config, TableSetting};
use crate::device::DeviceConfig;
use crate::net::IpNet;

use super::record::route_key;
use super::*;

/// Facts observed on the running interface before planning `reload`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReloadFacts {
    /// What `up` would observe now (resolved device config, tables, names...).
    pub up: UpFacts,
    /// The device as it runs.
    pub live: crate::device::DeviceState,
    /// Addresses on the link, link-local ones included.
    pub live_addresses: Vec<IpNet>,
    /// Unicast routes through the link, of any origin (not the kernel's connected routes).
    pub live_routes: Vec<Route>,
    pub live_mtu: u32,
    /// Nameservers registered for the interface now (`None`: resolvconf cannot tell, as
    /// systemd-resolved's cannot).
    pub live_dns: Option<Vec<String>>,
    /// Families (v6?) that have this interface's default-route policy rules now.
    pub live_default_families: Vec<bool>,
    /// What our `up` recorded: what wgq owns on the interface. Without it (an interface
    /// wg-quick brought up) what wg-quick would have added stands for it.
    pub recorded: Option<UpRecord>,
}

/// Why a reload cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(
        "{path}: the full-tunnel routes (0.0.0.0/0 or ::/0 with Table = auto) changed; \
         reload cannot switch them: run `wgq down` and `wgq up`"
    )]
    DefaultRouteChanged { path: String },
    #[error(
        "{path}: {what} changed on a running full tunnel (its policy rules and firewall use table and fwmark {live}); \
         reload cannot switch them consistently: run `wgq down` and `wgq up`"
    )]
    FullTunnelPolicyChanged { path: String, what: &'static str, live: u32 },
}

/// The owned/wanted diff of one kind of object (peers, addresses, routes), the one rule of
/// `reload`: what to take away is what runs, is ours (`owned`) and is not wanted; what to
/// put is what is wanted and does not run as wanted (missing, or `same` says it differs).
/// Objects are matched by key; both lists keep the order of the list they come from.
pub struct Diff<'a, L, W> {
    pub remove: Vec<&'a L>,
    pub put: Vec<&'a W>,
}

impl<'a, L, W> Diff<'a, L, W> {
    /// `live` and `wanted` with their keys; see [`Diff`].
    pub fn new<K: Eq + std::hash::Hash>(
        live: &'a [L],
        live_key: impl Fn(&L) -> K,
        owned: impl Fn(&L) -> bool,
        wanted: &'a [W],
        wanted_key: impl Fn(&W) -> K,
        same: impl Fn(&L, &W) -> bool,
    ) -> Self {
        let wanted_keys: std::collections::HashSet<K> = wanted.iter().map(&wanted_key).collect();
        let running: std::collections::HashMap<K, &L> = live.iter().map(|l| (live_key(l), l)).collect();
        Diff {
            remove: live.iter().filter(|l| owned(l) && !wanted_keys.contains(&live_key(l))).collect(),
            put: wanted.iter().filter(|w| !running.get(&wanted_key(w)).is_some_and(|l| same(l, w))).collect(),
        }
    }
}

/// How to undo `update` on a device that was `live`: every field and peer the update
/// touches set back to what it was (a peer it adds removed), nothing else. Right whether the
/// update applied wholly, partly (a refused ListenPort after the kernel applied the rest of
/// the batch) or not at all, and peers it did not touch keep their sessions.
pub fn device_inverse(update: &DeviceConfig, live: &crate::device::DeviceState) -> DeviceConfig {
    use crate::device::PeerConfig;
    let before: std::collections::HashMap<_, _> = live.peers.iter().map(|p| (p.public_key, p)).collect();
    DeviceConfig {
        private_key: update.private_key.as_ref().map(|_| live.private_key.clone().unwrap_or_default()),
        listen_port: update.listen_port.map(|_| live.listen_port),
        fwmark: update.fwmark.map(|_| live.fwmark),
        replace_peers: false,
        peers: update
            .peers
            .iter()
            .map(|u| match before.get(&u.public_key) {
                Some(p) => PeerConfig {
                    public_key: p.public_key,
                    preshared_key: Some(p.preshared_key.clone().unwrap_or_default()),
                    endpoint: p.endpoint,
                    persistent_keepalive: Some(p.persistent_keepalive),
                    replace_allowed_ips: true,
                    allowed_ips: p.allowed_ips.clone(),
                    ..Default::default()
                },
                None => PeerConfig { public_key: u.public_key, remove: true, ..Default::default() },
            })
            .collect(),
    }
}

/// The device changes `wg syncconf` would make, except that a ListenPort, FwMark or
/// PrivateKey missing from the file keeps its running value (wg-quick's reload resets
/// them). Unchanged peers are not touched, so they keep their sessions.
pub fn device_update(want: &DeviceConfig, live: &crate::device::DeviceState) -> DeviceConfig {
    use crate::device::PeerConfig;
    let mut u = DeviceConfig::default();
    if want.private_key.is_some() && want.private_key != live.private_key {
        u.private_key = want.private_key.clone();
    }
    if want.listen_port.is_some_and(|p| p != live.listen_port) {
        u.listen_port = want.listen_port;
    }
    if want.fwmark.is_some_and(|m| m != live.fwmark) {
        u.fwmark = want.fwmark;
    }
    // Every running peer is ours: the device is the interface's.
    let peers = Diff::new(
        &live.peers,
        |l| l.public_key,
        |_| true,
        &want.peers,
        |w| w.public_key,
        |l, w| {
            l.preshared_key.clone().unwrap_or_default() == w.preshared_key.clone().unwrap_or_default()
                && l.persistent_keepalive == w.persistent_keepalive.unwrap_or(0)
                && (w.endpoint.is_none() || w.endpoint == l.endpoint)
                && same_prefixes(&l.allowed_ips, &w.allowed_ips)
        },
    );
    u.peers.extend(peers.remove.iter().map(|p| PeerConfig { public_key: p.public_key, remove: true, ..Default::default() }));
    u.peers.extend(peers.put.iter().map(|w| PeerConfig {
        public_key: w.public_key,
        preshared_key: Some(w.preshared_key.clone().unwrap_or_default()),
        endpoint: w.endpoint,
        persistent_keepalive: Some(w.persistent_keepalive.unwrap_or(0)),
        replace_allowed_ips: true,
        allowed_ips: w.allowed_ips.clone(),
        ..Default::default()
    }));
    u
}

/// Whether two lists hold the same prefixes, in any order (the device may list them in
/// another order than the file).
fn same_prefixes(a: &[IpNet], b: &[IpNet]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a == b {
        return true;
    }
    let key = |n: &IpNet| (n.addr, n.prefix);
    let mut x: Vec<_> = a.iter().map(key).collect();
    let mut y: Vec<_> = b.iter().map(key).collect();
    x.sort_unstable();
    y.sort_unstable();
    x == y
}

/// The routes `up` adds for this config, the default routes of Table = auto left out.
fn wanted_routes(cfg: &Config, facts: &UpFacts) -> Result<Vec<Route>, PlanError> {
    let plan = plan_up(cfg, "if", facts)?;
    let mut v = Vec::new();
    for op in plan.ops {
        if let Op::AddRoutes(rs) = op {
            v.extend(rs.into_iter().filter(|r| !(r.net.is_default() && cfg.interface.table_setting() == TableSetting::Auto)));
        }
    }
    Ok(v)
}

/// Plans `reload`: the running interface brought to the file without recreating it.
/// Only what wgq owns ([`ReloadFacts::recorded`]) is removed: routes and addresses that
/// hooks, routing daemons or the admin put on the interface stay.
pub fn plan_reload(cfg: &Config, ifname: &str, f: &ReloadFacts) -> Result<Plan, ReloadError> {
    let i = &cfg.interface;
    let path = || cfg.path.display().to_string();
    let mut ops = Vec::new();
    // Full-tunnel policy routing is not switched in place.
    let mut have = f.live_default_families.clone();
    have.sort();
    have.dedup();
    if !have.is_empty() {
        let live = f.recorded.as_ref().and_then(|r| r.table).unwrap_or(f.live.fwmark);
        if i.table_setting() != TableSetting::Auto {
            return Err(ReloadError::FullTunnelPolicyChanged { path: path(), what: "Table", live });
        }
        if i.fwmark.is_some_and(|m| m != f.live.fwmark) {
            return Err(ReloadError::FullTunnelPolicyChanged { path: path(), what: "FwMark", live });
        }
    }
    if i.table_setting() == TableSetting::Auto {
        let mut want: Vec<bool> =
            kernel_allowed_ips(cfg, own_public_key(cfg, &f.up)).iter().filter(|n| n.is_default()).map(|n| n.is_ipv6()).collect();
        want.sort();
        want.dedup();
        if want != have {
            return Err(ReloadError::DefaultRouteChanged { path: path() });
        }
    }
    let update = device_update(&f.up.device, &f.live);
    if update != DeviceConfig::default() {
        let restore = device_inverse(&update, &f.live);
        // Another interface's kill switch lets this tunnel's packets out by its listen port
        // and fwmark: a change of either is told to it right after the device's.
        let moved = update.listen_port.is_some() || update.fwmark.is_some();
        ops.push(Op::SyncDevice { update: update.clone(), restore });
        if moved && !f.up.other_switches.is_empty() {
            let mark = |m: u32| (m != 0).then_some(m);
            let port = |p: u16| (p != 0).then_some(p);
            let old = Admitted { ifname: ifname.to_string(), mark: mark(f.live.fwmark), port: port(f.live.listen_port) };
            let new = Admitted {
                ifname: ifname.to_string(),
                mark: update.fwmark.map_or(old.mark, mark),
                // Port 0: the kernel picks one, read from the device when applied.
                port: update.listen_port.map_or(old.port, port),
            };
            ops.extend(super::up::admit_ops(ifname, &f.up.other_switches, &f.up.other_tunnels, Some(new), Some(old)));
        }
    }
    // Addresses: wgq's are the recorded ones, else (wg-quick's interface) every one but the
    // kernel's link-local.
    let want_addrs: Vec<IpNet> = i.addresses.iter().map(|a| a.value).collect();
    let owned_addrs: Vec<IpNet> = match &f.recorded {
        Some(r) => r.addresses.clone(),
        None => f.live_addresses.iter().filter(|a| !a.is_link_local()).copied().collect(),
    };
    let addrs = Diff::new(&f.live_addresses, |a| *a, |a| owned_addrs.contains(a), &want_addrs, |a| *a, |_, _| true);
    ops.extend(addrs.remove.iter().map(|a| Op::DelAddress(**a)));
    ops.extend(addrs.put.iter().map(|a| Op::AddAddress(**a)));
    // As `up` would set it: the file's MTU, else the automatic one.
    let mtu = i.mtu.unwrap_or_else(|| crate::plan::routing::auto_mtu(&f.up.endpoint_mtus, f.up.default_route_mtu));
    if mtu != f.live_mtu {
        ops.push(Op::SetMtu { mtu, previous: f.live_mtu });
    }
    ops.extend(reload_dns(cfg, f));
    // Routes: wgq's are the recorded ones, else those wg-quick adds (a route per allowed IP
    // of the running device).
    let want_routes = wanted_routes(cfg, &f.up)?;
    let owned: std::collections::HashSet<(IpNet, u32)> = match &f.recorded {
        Some(r) => r.routes.iter().map(route_key).collect(),
        None => {
            // What wg-quick adds: a route per allowed IP of the running device, in the table
            // the file names (main for auto, none for off).
            let table = match i.table_setting() {
                TableSetting::Off => None,
                TableSetting::Auto => Some(MAIN_TABLE),
                TableSetting::Id(n) => Some(n),
                TableSetting::Name(_) => f.up.named_table,
            };
            let allowed: std::collections::HashSet<IpNet> =
                f.live.peers.iter().flat_map(|p| p.allowed_ips.iter().copied()).collect();
            f.live_routes
                .iter()
                .filter(|r| allowed.contains(&r.net) && Some(r.table.unwrap_or(MAIN_TABLE)) == table)
                .map(route_key)
                .collect()
        }
    };
    let routes = Diff::new(&f.live_routes, route_key, |r| owned.contains(&route_key(r)), &want_routes, route_key, |_, _| true);
    let del: Vec<Route> = routes.remove.into_iter().cloned().collect();
    let add: Vec<Route> = routes.put.into_iter().cloned().collect();
    if !del.is_empty() {
        ops.push(Op::DelRoutes(del));
    }
    if !add.is_empty() {
        ops.push(Op::AddRoutes(add));
    }
    Ok(Plan { interface: ifname.to_string(), ops })
}

/// The DNS change of a reload: the file's text against the one `up` registered (recorded),
/// else against what resolvconf lists. Nothing when neither is known (also without a record
/// on a resolved system: wgq does not read the link's settings back). The recorded backend
/// stays: resolved's settings are replaced by new calls (undone by the previous ones).
fn reload_dns(cfg: &Config, f: &ReloadFacts) -> Vec<Op> {
    use crate::plan::dns::{DnsBackend, ResolvedCall, resolved_calls, resolved_calls_from_input};
    let i = &cfg.interface;
    let input = (!i.dns.is_empty()).then(|| crate::plan::dns::resolvconf_input(&i.dns, &i.dns_search));
    if let Some(r) = f.recorded.as_ref().filter(|r| r.dns_backend == DnsBackend::Resolved) {
        if input == r.dns_input {
            return Vec::new();
        }
        let restore = r.dns_input.as_deref().map_or_else(|| vec![ResolvedCall::Revert], resolved_calls_from_input);
        let calls = if input.is_some() { resolved_calls(&i.dns, &i.dns_search) } else { vec![ResolvedCall::Revert] };
        return calls.into_iter().map(|call| Op::Resolved { call, restore: restore.clone() }).collect();
    }
    if let Some(r) = f.recorded.as_ref().filter(|r| r.dns_backend == DnsBackend::File) {
        return match input {
            _ if input == r.dns_input => Vec::new(),
            Some(input) => vec![Op::WriteResolvConf { input }],
            None => vec![Op::RestoreResolvConf],
        };
    }
    if f.recorded.is_none() && matches!(f.up.dns_backend, DnsBackend::Resolved | DnsBackend::File) {
        return Vec::new();
    }
    reload_resolvconf(f, input).into_iter().collect()
}

/// [`reload_dns`] through resolvconf.
fn reload_resolvconf(f: &ReloadFacts, input: Option<String>) -> Option<Op> {
    let (name, previous) = match &f.recorded {
        Some(r) => (r.dns_name.clone().unwrap_or_else(|| f.up.resolvconf_name.clone()), r.dns_input.clone()),
        None => {
            let listed = f.live_dns.as_ref()?;
            let want: Vec<String> = crate::plan::dns::parse_resolvconf_list(input.as_deref().unwrap_or(""));
            if &want == listed {
                return None;
            }
            let previous = (!listed.is_empty()).then(|| listed.iter().map(|d| format!("nameserver {d}\n")).collect::<String>());
            return Some(Op::UpdateDns { name: f.up.resolvconf_name.clone(), input, previous });
        }
    };
    (input != previous).then_some(Op::UpdateDns { name, input, previous })
}

#[cfg(test)]
mod tests {
    use super::Diff;

    #[test]
    fn diff_removes_only_what_is_owned_and_unwanted_and_puts_what_is_missing_or_differs() {
        // (key, value) pairs; 4 runs but is not ours; 2 runs with another value.
        let live = [(1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')];
        let wanted = [(5, 'e'), (2, 'x'), (1, 'a')];
        let d = Diff::new(&live, |l| l.0, |l| l.0 != 4, &wanted, |w| w.0, |l, w| l.1 == w.1);
        assert_eq!(d.remove, [&(3, 'c')]);
        assert_eq!(d.put, [&(5, 'e'), &(2, 'x')]);
        // Nothing to do when live is what is wanted, in another order.
        let d = Diff::new(&live, |l| l.0, |_| true, &[(4, 'd'), (3, 'c'), (2, 'b'), (1, 'a')], |w| w.0, |l, w| l == w);
        assert!(d.remove.is_empty() && d.put.is_empty());
    }
}
