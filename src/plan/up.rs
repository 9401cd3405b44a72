//! Planning `up` (reference §3 with upstream's changes, §8).

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::config::{Config, TableSetting};
use crate::device::DeviceConfig;
use crate::net::IpNet;

use super::*;

/// Facts observed on the system before planning `up`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpFacts {
    /// The device configuration with endpoints already resolved.
    pub device: std::rc::Rc<DeviceConfig>,
    /// The MTU towards each resolved endpoint (route `mtu`, else the output link's MTU).
    pub endpoint_mtus: Vec<u32>,
    /// The MTU of the first IPv4 default route of the main table (route mtu, else link mtu).
    pub default_route_mtu: Option<u32>,
    /// Tables from 51820 up that hold at least one IPv4 or IPv6 route, as far as the table
    /// search needs them (every one up to the first free one; empty when `up` needs no
    /// search: see [`table_search_needed`]).
    pub tables_in_use: BTreeSet<u32>,
    /// The numeric value of `Table` when it is a name (resolved from rt_tables).
    pub named_table: Option<u32>,
    /// Whether `nft` is available (else iptables-restore).
    pub nft_available: bool,
    /// The resolvconf interface name (`wg0` or `tun.wg0`).
    pub resolvconf_name: String,
    /// Which tool carries DNS (`crate::plan::dns::choose_backend`; looked at only when the
    /// file has DNS servers).
    pub dns_backend: crate::plan::dns::DnsBackend,
    /// True when net.ipv4.conf.all.src_valid_mark is already 1.
    pub src_valid_mark_set: bool,
    /// The interface's own public key as the device will hold it (the file's PrivateKey,
    /// else the running device's key). The kernel and wireguard-go silently ignore a peer
    /// with this key, so wgq ignores it too: no route, no device change. `None`: derive it
    /// from the file's PrivateKey.
    pub own_public_key: Option<crate::key::Key>,
    /// What `up` read again once the PreUp hooks ran and the device was programmed, as
    /// wg-quick does at these steps. `None` when the plan comes from the file alone (no
    /// PreUp hooks: then nothing but wgq has touched the new interface).
    pub after_pre_up: Option<AfterPreUp>,
    /// What the command line asks for: `--kill-switch[=strict]` (not observed).
    pub kill_switch: Option<KillSwitch>,
    /// Where a kill switch of this interface is installed already (a strict one left by an
    /// earlier `up` or `down`): nftables always looked at, iptables when one is asked for.
    pub kill_switch_present: Option<FirewallKind>,
    /// With an iptables kill switch in place: whether OUTPUT already jumps to its chain,
    /// per family (`[IPv4, IPv6]`); a family whose jump is missing (a strict switch left
    /// half-installed) gets one.
    pub kill_switch_jumps: [bool; 2],
    /// The running kernel (module, version) and the userspace fallback, for
    /// [`crate::plan::kernel::check_up`]; `None`: not looked at (nothing is refused).
    pub kernel: Option<crate::plan::kernel::KernelFacts>,
    /// The kill switches of other interfaces in place (by interface name): `up` lets this
    /// tunnel out of each, and refuses `--kill-switch` while there is one.
    pub other_switches: Vec<(String, FirewallKind)>,
    /// The host's other wgq tunnels running now (their devices' fwmarks and listen ports):
    /// what a kill switch lets out besides its own tunnel.
    pub other_tunnels: Vec<Admitted>,
}

/// The live facts the rest of `up` depends on, read after the PreUp hooks and `wg addconf`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AfterPreUp {
    /// `wg show <if> allowed-ips`: the file's peers merged with those the hooks added (the
    /// own-key peer is not there: the device ignored it).
    pub allowed_ips: Vec<IpNet>,
    /// `wg show <if> fwmark` (0 = off): the file's FwMark, else one a hook set.
    pub fwmark: u32,
    /// Main-table routes through the device now (`ip route show dev <if>`), for the test
    /// that skips prefixes a route of the device already covers.
    pub device_routes: Vec<IpNet>,
}

/// Refuses a full tunnel on an interface name nft and iptables cannot carry (wg-quick fails
/// half-way with an nft syntax error, or with iptables matches more than its interface).
fn check_full_tunnel_name(ifname: &str) -> Result<(), PlanError> {
    if ifname.contains(['+', '=']) {
        return Err(PlanError::NameUnfitForFullTunnel { ifname: ifname.to_string() });
    }
    Ok(())
}

/// Refuses a kill switch where there is no full tunnel with wg-quick's fwmark: the switch
/// lets the tunnel's own packets out by that mark.
fn check_kill_switch(cfg: &Config, own: Option<crate::key::Key>) -> Result<(), PlanError> {
    let i = &cfg.interface;
    if i.table_setting() != TableSetting::Auto {
        let (line, value) = i.table.as_ref().map(|t| (t.line, t.value.clone())).unwrap_or_default();
        return Err(PlanError::KillSwitchNeedsTableAuto { path: cfg.path.display().to_string(), line, value });
    }
    if !cfg.peers.iter().filter(|p| Some(p.public_key) != own).any(|p| p.allowed_ips.iter().any(|a| a.prefix == 0)) {
        return Err(no_full_tunnel(cfg));
    }
    Ok(())
}

fn no_full_tunnel(cfg: &Config) -> PlanError {
    let file = cfg.path.file_name().map_or_else(|| cfg.path.display().to_string(), |f| f.to_string_lossy().into_owned());
    PlanError::KillSwitchNeedsFullTunnel { file }
}

/// The kill switch operations, planned once the tunnel's fwmark `mark` is known.
fn kill_switch_ops(ops: &mut Vec<Op>, ifname: &str, mark: u32, ks: KillSwitch, facts: &UpFacts) {
    let undo = !ks.strict && facts.kill_switch_present.is_none();
    if facts.nft_available {
        let script = crate::plan::firewall::kill_switch_nft_script(ifname, mark, ks, &facts.other_tunnels);
        ops.push(Op::SetKillSwitch { kind: FirewallKind::Nft, v6: false, ks, undo, script });
    } else {
        for v6 in [false, true] {
            let jump = facts.kill_switch_present == Some(FirewallKind::Iptables) && facts.kill_switch_jumps[v6 as usize];
            let script = crate::plan::firewall::kill_switch_iptables_script(ifname, v6, mark, ks, jump, &facts.other_tunnels);
            ops.push(Op::SetKillSwitch { kind: FirewallKind::Iptables, v6, ks, undo, script });
        }
    }
}

/// For each kill switch of another interface (`switches`): let out the host's other wgq
/// tunnels (`others`, that switch's own left out) with `add` (after `up`) and without `gone`
/// (after `down`).
pub(super) fn admit_ops(
    ifname: &str,
    switches: &[(String, FirewallKind)],
    others: &[Admitted],
    add: Option<Admitted>,
    gone: Option<Admitted>,
) -> Vec<Op> {
    switches
        .iter()
        .filter(|(s, _)| s != ifname)
        .map(|(switch_of, kind)| {
            let base: Vec<Admitted> = others.iter().filter(|t| t.ifname != *switch_of && t.ifname != ifname).cloned().collect();
            let with = |t: &Option<Admitted>| {
                let mut v = base.clone();
                v.extend(t.clone());
                v
            };
            Op::Admit { switch_of: switch_of.clone(), kind: *kind, tunnels: with(&add), previous: with(&gone) }
        })
        .collect()
}

/// Whether `up` searches a free table for a default route (wg-quick's search from 51820):
/// Table auto, a `/0` among the allowed IPs the device holds, and no fwmark to use.
pub fn table_search_needed(cfg: &Config, allows_default: bool, fwmark: Option<u32>) -> bool {
    cfg.interface.table_setting() == TableSetting::Auto && allows_default && fwmark.is_none_or(|m| m == 0)
}

/// The interface's own public key: `facts`' if observed, else the file's PrivateKey's.
pub fn own_public_key(cfg: &Config, facts: &UpFacts) -> Option<crate::key::Key> {
    facts.own_public_key.or_else(|| cfg.interface.private_key.as_ref().map(|k| k.public_key()))
}

/// The allowed IPs the device will hold: every peer's but the interface's own (`own`),
/// host bits masked, duplicates once.
pub fn kernel_allowed_ips(cfg: &Config, own: Option<crate::key::Key>) -> Vec<IpNet> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for p in cfg.peers.iter().filter(|p| Some(p.public_key) != own) {
        for a in &p.allowed_ips {
            let n = a.network();
            if seen.insert(n) {
                out.push(n);
            }
        }
    }
    out
}

/// Prefixes the kernel routes through the device once its addresses are set
/// (the connected routes `ip route show dev <if> match` would find).
fn connected_prefixes(cfg: &Config) -> Vec<IpNet> {
    cfg.interface.addresses.iter().map(|a| a.value).filter(|a| a.prefix < a.max_prefix()).map(|a| a.network()).collect()
}

/// Plans `up` in upstream wg-quick's order (reference §3 with §8's changes): the first
/// part ([`plan_up_start`]) and the rest ([`plan_up_rest`]) from the same facts.
pub fn plan_up(cfg: &Config, ifname: &str, facts: &UpFacts) -> Result<Plan, PlanError> {
    let mut plan = plan_up_start(cfg, ifname, facts)?;
    plan.ops.extend(plan_up_rest(cfg, ifname, facts)?.ops);
    Ok(plan)
}

/// The table every route goes to when `Table` is a number or a name (`None` for auto and
/// off), as traced (wg-quick passes the value to `ip` as written: `table 0x10`); a name
/// missing from rt_tables is refused.
fn fixed_table(cfg: &Config, facts: &UpFacts) -> Result<Option<(u32, String)>, PlanError> {
    let i = &cfg.interface;
    Ok(match i.table_setting() {
        TableSetting::Auto | TableSetting::Off => None,
        TableSetting::Id(n) => Some((n, i.table.as_ref().map_or_else(|| n.to_string(), |t| t.value.clone()))),
        TableSetting::Name(name) => match facts.named_table {
            Some(n) => Some((n, name)),
            None => {
                let line = i.table.as_ref().map(|t| t.line).unwrap_or(0);
                return Err(PlanError::UnknownTable { path: cfg.path.display().to_string(), line, name });
            }
        },
    })
}

/// The part of `up` that does not depend on what the PreUp hooks do: create the link, run
/// the PreUp hooks, program the device (addconf semantics, so the hooks' settings stay).
/// Refuses, before anything is touched, what the rest could only refuse half-way: a table
/// name missing from rt_tables, a full tunnel on a name nft and iptables cannot carry.
pub fn plan_up_start(cfg: &Config, ifname: &str, facts: &UpFacts) -> Result<Plan, PlanError> {
    fixed_table(cfg, facts)?;
    let own = own_public_key(cfg, facts);
    if let Some(why) = facts.kernel.as_ref().and_then(|k| crate::plan::kernel::check_up(cfg, own, k)) {
        return Err(PlanError::Kernel(why));
    }
    if cfg.interface.table_setting() == TableSetting::Auto
        && cfg.peers.iter().filter(|p| Some(p.public_key) != own).any(|p| p.allowed_ips.iter().any(|a| a.prefix == 0))
    {
        check_full_tunnel_name(ifname)?;
    }
    if facts.kill_switch.is_some() {
        check_kill_switch(cfg, own)?;
        if let Some((other, _)) = facts.other_switches.first() {
            return Err(PlanError::KillSwitchElsewhere { ifname: ifname.to_string(), other: other.clone() });
        }
    }
    let mut ops = vec![Op::CreateLink];
    hooks(&mut ops, &cfg.interface.pre_up, Phase::PreUp, ifname);
    ops.push(Op::SetDevice(std::rc::Rc::clone(&facts.device)));
    Ok(Plan { interface: ifname.to_string(), ops })
}

/// The rest of `up`: addresses, MTU, DNS, routes and the full-tunnel policy, PostUp. With
/// PreUp hooks, `facts` are read again after they ran ([`UpFacts::after_pre_up`]).
pub fn plan_up_rest(cfg: &Config, ifname: &str, facts: &UpFacts) -> Result<Plan, PlanError> {
    let i = &cfg.interface;
    let mut ops = Vec::new();
    let table = i.table_setting();
    let fixed_table = fixed_table(cfg, facts)?;
    // The routes of the device that cover a prefix: the connected routes of the addresses,
    // and any a PreUp hook added.
    let mut covering = connected_prefixes(cfg);
    let from_file;
    let (allowed, fwmark): (&[IpNet], Option<u32>) = match &facts.after_pre_up {
        Some(o) => {
            covering.extend_from_slice(&o.device_routes);
            (&o.allowed_ips, Some(o.fwmark))
        }
        None => {
            from_file = kernel_allowed_ips(cfg, own_public_key(cfg, facts));
            (&from_file, i.fwmark)
        }
    };
    let sorted = crate::plan::routing::sort_allowed_ips(allowed);
    let mut chosen_table: Option<u32> = None;
    // With a kill switch (asked for, or a strict one in place), the fwmark and the switch
    // come before the link goes up: the first handshake, which the kernel's own IPv6
    // packets on the new link start at once, already carries the mark the switch lets out.
    if table == TableSetting::Auto
        && (facts.kill_switch.is_some() || facts.kill_switch_present.is_some())
        && sorted.iter().any(|n| n.is_default())
    {
        check_full_tunnel_name(ifname)?;
        let t = tunnel_table(&mut ops, fwmark, facts);
        if let Some(ks) = facts.kill_switch {
            kill_switch_ops(&mut ops, ifname, t, ks, facts);
        }
        chosen_table = Some(t);
    }
    for a in &i.addresses {
        ops.push(Op::AddAddress(a.value));
    }
    let mtu = match i.mtu {
        Some(m) => m,
        None => crate::plan::routing::auto_mtu(&facts.endpoint_mtus, facts.default_route_mtu),
    };
    let link_up = ops.len();
    ops.push(Op::SetMtuUp(mtu));
    if !i.dns.is_empty() {
        match facts.dns_backend {
            crate::plan::dns::DnsBackend::Resolvconf => ops.push(Op::SetDns {
                name: facts.resolvconf_name.clone(),
                input: crate::plan::dns::resolvconf_input(&i.dns, &i.dns_search),
            }),
            crate::plan::dns::DnsBackend::File => {
                ops.push(Op::WriteResolvConf { input: crate::plan::dns::resolvconf_input(&i.dns, &i.dns_search) })
            }
            crate::plan::dns::DnsBackend::Resolved => {
                for call in crate::plan::dns::resolved_calls(&i.dns, &i.dns_search) {
                    ops.push(Op::Resolved { call, restore: vec![crate::plan::dns::ResolvedCall::Revert] });
                }
            }
        }
    }
    let mut batch: Vec<Route> = Vec::new();
    for net in sorted {
        if table == TableSetting::Off {
            break;
        }
        if let Some((id, text)) = &fixed_table {
            batch.push(Route { net, table: Some(*id), table_text: Some(text.clone()) });
            continue;
        }
        if net.is_default() {
            check_full_tunnel_name(ifname)?;
            // Flush the routes gathered so far to keep wg-quick's order.
            if !batch.is_empty() {
                ops.push(Op::AddRoutes(std::mem::take(&mut batch)));
            }
            let t = match chosen_table {
                Some(t) => t,
                None => tunnel_table(&mut ops, fwmark, facts),
            };
            chosen_table = Some(t);
            add_default_route(&mut ops, cfg, ifname, net, t, facts);
            continue;
        }
        if covering.iter().any(|c| c.contains(&net)) {
            continue;
        }
        batch.push(Route { net, table: None, table_text: None });
    }
    if !batch.is_empty() {
        ops.push(Op::AddRoutes(batch));
    }
    if facts.kill_switch.is_some() && chosen_table.is_none() {
        return Err(no_full_tunnel(cfg));
    }
    // The other interfaces' kill switches let this tunnel out before its link goes up: its
    // device, its fwmark, its listen port (the device's, when the kernel picks it).
    let me = Admitted {
        ifname: ifname.to_string(),
        mark: chosen_table.or(fwmark).filter(|m| *m != 0),
        port: facts.device.listen_port.or(i.listen_port).filter(|p| *p != 0),
    };
    let admit = admit_ops(ifname, &facts.other_switches, &facts.other_tunnels, Some(me), None);
    ops.splice(link_up..link_up, admit);
    hooks(&mut ops, &i.post_up, Phase::PostUp, ifname);
    Ok(Plan { interface: ifname.to_string(), ops })
}

/// The table (and fwmark) of the default routes: the device's fwmark, else the first free
/// table from 51820, which then becomes the fwmark.
fn tunnel_table(ops: &mut Vec<Op>, fwmark: Option<u32>, facts: &UpFacts) -> u32 {
    match fwmark {
        Some(m) if m != 0 => m,
        _ => {
            let mut t = FIRST_AUTO_TABLE;
            while facts.tables_in_use.contains(&t) {
                t += 1;
            }
            ops.push(Op::SetFwmark(t));
            t
        }
    }
}

fn add_default_route(ops: &mut Vec<Op>, cfg: &Config, ifname: &str, net: IpNet, t: u32, facts: &UpFacts) {
    let v6 = net.is_ipv6();
    ops.push(Op::AddRule(Rule::NotFwmark { v6, mark: t, table: t, priority: None }));
    ops.push(Op::AddRule(Rule::SuppressMain { v6, priority: None }));
    ops.push(Op::AddRoutes(vec![Route { net, table: Some(t), table_text: Some(t.to_string()) }]));
    let addrs: Vec<IpAddr> = cfg.interface.addresses.iter().map(|a| a.value.addr).filter(|a| a.is_ipv6() == v6).collect();
    if !v6 && !facts.src_valid_mark_set {
        ops.push(Op::SrcValidMark);
    }
    let (kind, script) = if facts.nft_available {
        (FirewallKind::Nft, crate::plan::firewall::nft_up_script(ifname, v6, &addrs, t))
    } else {
        (FirewallKind::Iptables, crate::plan::firewall::iptables_up_script(ifname, v6, &addrs, t))
    };
    ops.push(Op::SetFirewall { v6, kind, script });
}
