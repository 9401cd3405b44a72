//! The planner: config + observed facts → an ordered list of operations.
//!
//! Pure: nothing here touches the system. The executor (`exec`) applies a plan,
//! prints each operation's trace line and records how to undo it.

pub mod exec;
pub mod routing;

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use crate::config::{Config, TableSetting};
use crate::device::DeviceConfig;
use crate::net::IpNet;

/// The first table/fwmark wg-quick tries for a default route.
pub const FIRST_AUTO_TABLE: u32 = 51820;
/// The kernel's main routing table.
pub const MAIN_TABLE: u32 = 254;

/// Hook phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    PreUp,
    PostUp,
    PreDown,
    PostDown,
}

/// Which firewall tool carries the default-route rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirewallKind {
    Nft,
    Iptables,
}

/// A route through the interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub net: IpNet,
    /// Table id; `None` means main, written without `table` in the trace.
    pub table: Option<u32>,
    /// How the table is written in the trace (`1234`, `main`, a name).
    pub table_text: Option<String>,
}

/// One of the two policy rules per family that wg-quick adds for a default route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// `ip rule add not fwmark T table T`
    NotFwmark { v6: bool, mark: u32, table: u32, priority: Option<u32> },
    /// `ip rule add table main suppress_prefixlength 0`
    SuppressMain { v6: bool, priority: Option<u32> },
}

impl Rule {
    pub fn v6(&self) -> bool {
        match *self {
            Rule::NotFwmark { v6, .. } | Rule::SuppressMain { v6, .. } => v6,
        }
    }
    fn family(&self) -> &'static str {
        if self.v6() { "-6" } else { "-4" }
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Create the WireGuard link (kernel, or the userspace fallback).
    CreateLink,
    /// Run a hook; `text` has `%i` already expanded.
    Hook {
        phase: Phase,
        text: String,
    },
    /// Program the device in addconf semantics.
    SetDevice(std::rc::Rc<DeviceConfig>),
    /// Set the fwmark chosen for the default route.
    SetFwmark(u32),
    AddAddress(IpNet),
    SetMtuUp(u32),
    SetDns {
        name: String,
        input: String,
    },
    AddRule(Rule),
    /// Routes are applied as one batch; the trace shows one line per route.
    AddRoutes(Vec<Route>),
    SetFirewall {
        v6: bool,
        kind: FirewallKind,
        script: String,
    },
    /// `sysctl -q net.ipv4.conf.all.src_valid_mark=1`; never undone (like wg-quick).
    SrcValidMark,
    /// Save the running configuration to the file (SaveConfig on down).
    SaveConfig,
    DelRule(Rule),
    DelLink,
    UnsetDns {
        name: String,
    },
    /// Remove the firewall rules of this interface (errors ignored, like wg-quick).
    RemoveFirewall {
        nft: Option<String>,
        iptables: Option<String>,
        ip6tables: Option<String>,
    },
    /// Bring the running device to the file (`reload`); `restore` puts back what was.
    SyncDevice {
        update: DeviceConfig,
        restore: DeviceConfig,
    },
    DelAddress(IpNet),
    DelRoutes(Vec<Route>),
    /// Change the MTU of a running link (`reload`), remembering the old one.
    SetMtu {
        mtu: u32,
        previous: u32,
    },
    /// Replace (or, with `input: None`, remove) the DNS registration (`reload`).
    UpdateDns {
        name: String,
        input: Option<String>,
        previous: Option<String>,
    },
}

/// An ordered list of operations for one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub interface: String,
    pub ops: Vec<Op>,
}

impl Op {
    /// The wg-quick-style trace lines of this operation (without the `[#] ` prefix).
    pub fn trace(&self, ifname: &str) -> Vec<String> {
        match self {
            Op::CreateLink => vec![format!("ip link add dev {ifname} type wireguard")],
            Op::Hook { text, .. } => vec![text.clone()],
            Op::SetDevice(_) => vec![format!("wg addconf {ifname} /dev/fd/63")],
            Op::SetFwmark(m) => vec![format!("wg set {ifname} fwmark {m}")],
            Op::AddAddress(a) => {
                vec![format!("ip {} address add {a} dev {ifname}", if a.is_ipv6() { "-6" } else { "-4" })]
            }
            Op::SetMtuUp(m) => vec![format!("ip link set mtu {m} up dev {ifname}")],
            Op::SetMtu { mtu, .. } => vec![format!("ip link set mtu {mtu} dev {ifname}")],
            Op::SyncDevice { .. } => vec![format!("wg syncconf {ifname} /dev/fd/63")],
            Op::UpdateDns { name, input: Some(_), .. } => vec![format!("resolvconf -a {name} -m 0 -x")],
            Op::UpdateDns { name, input: None, .. } => vec![format!("resolvconf -d {name} -f")],
            Op::DelAddress(a) => {
                vec![format!("ip {} address del {a} dev {ifname}", if a.is_ipv6() { "-6" } else { "-4" })]
            }
            Op::DelRoutes(routes) => routes.iter().map(|r| route_text(r, ifname, "del")).collect(),
            Op::SetDns { name, .. } => vec![format!("resolvconf -a {name} -m 0 -x")],
            Op::AddRule(r) => vec![format!("ip {} rule add {}", r.family(), rule_text(r))],
            Op::DelRule(r) => vec![match r {
                Rule::NotFwmark { table, .. } => format!("ip {} rule delete table {table}", r.family()),
                Rule::SuppressMain { .. } => {
                    format!("ip {} rule delete table main suppress_prefixlength 0", r.family())
                }
            }],
            Op::AddRoutes(routes) => routes.iter().map(|r| route_text(r, ifname, "add")).collect(),
            Op::SetFirewall { v6, kind: FirewallKind::Nft, .. } => {
                let _ = v6;
                vec!["nft -f /dev/fd/63".to_string()]
            }
            Op::SetFirewall { v6, kind: FirewallKind::Iptables, .. } => {
                vec![format!("{}-restore -n", if *v6 { "ip6tables" } else { "iptables" })]
            }
            Op::SrcValidMark => vec!["sysctl -q net.ipv4.conf.all.src_valid_mark=1".to_string()],
            Op::SaveConfig => vec![format!("wg showconf {ifname}")],
            Op::DelLink => vec![format!("ip link delete dev {ifname}")],
            Op::UnsetDns { name } => vec![format!("resolvconf -d {name} -f")],
            Op::RemoveFirewall { nft, iptables, ip6tables } => {
                let mut v = Vec::new();
                if nft.is_some() {
                    v.push("nft -f /dev/fd/63".to_string());
                }
                if iptables.is_some() {
                    v.push("iptables-restore -n".to_string());
                }
                if ip6tables.is_some() {
                    v.push("ip6tables-restore -n".to_string());
                }
                v
            }
        }
    }
}

/// A `wg set`-like summary of a device update (public keys only; never private or
/// preshared key material).
pub fn describe_update(u: &DeviceConfig) -> Vec<String> {
    let mut v = Vec::new();
    if u.private_key.is_some() {
        v.push("private-key (changed)".to_string());
    }
    if let Some(p) = u.listen_port {
        v.push(format!("listen-port {p}"));
    }
    if let Some(m) = u.fwmark {
        v.push(format!("fwmark {m}"));
    }
    for p in &u.peers {
        let k = p.public_key.to_base64();
        if p.remove {
            v.push(format!("peer {k} remove"));
            continue;
        }
        let mut s = format!("peer {k}");
        if p.preshared_key.as_ref().is_some_and(|k| !k.is_zero()) {
            s.push_str(" preshared-key (set)");
        }
        if let Some(e) = p.endpoint {
            s.push_str(&format!(" endpoint {e}"));
        }
        if let Some(k) = p.persistent_keepalive {
            s.push_str(&format!(" persistent-keepalive {k}"));
        }
        let ips: Vec<String> = p.allowed_ips.iter().map(|a| a.to_string()).collect();
        s.push_str(&format!(" allowed-ips {}", ips.join(",")));
        v.push(s);
    }
    v
}

fn rule_text(r: &Rule) -> String {
    match r {
        Rule::NotFwmark { mark, table, .. } => format!("not fwmark {mark} table {table}"),
        Rule::SuppressMain { .. } => "table main suppress_prefixlength 0".to_string(),
    }
}

fn route_text(r: &Route, ifname: &str, verb: &str) -> String {
    let mut s = String::new();
    let _ = write_route_text(&mut s, r, ifname, verb);
    s
}

/// `ip -4 route add 10.0.0.0/24 dev wg0 [table T]`, written into `out`.
pub(crate) fn write_route_text(out: &mut impl fmt::Write, r: &Route, ifname: &str, verb: &str) -> fmt::Result {
    let fam = if r.net.is_ipv6() { "-6" } else { "-4" };
    write!(out, "ip {fam} route {verb} {} dev {ifname}", r.net)?;
    match &r.table_text {
        Some(t) => write!(out, " table {t}"),
        None => Ok(()),
    }
}

impl fmt::Display for Plan {
    /// The plan as `--dry-run` prints it: the trace lines, plus the stdin of commands fed one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for op in &self.ops {
            for line in op.trace(&self.interface) {
                writeln!(f, "[#] {line}")?;
            }
            let body = match op {
                Op::SetDns { input, .. } | Op::UpdateDns { input: Some(input), .. } => Some(input.as_str()),
                Op::SetFirewall { script, .. } => Some(script.as_str()),
                _ => None,
            };
            if let Some(b) = body {
                for l in b.lines() {
                    writeln!(f, "    {l}")?;
                }
            }
            if let Op::SyncDevice { update, .. } = op {
                for l in describe_update(update) {
                    writeln!(f, "    {l}")?;
                }
            }
        }
        Ok(())
    }
}

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

/// Why a plan cannot be made (before anything is touched).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{path}:{line}: Table: `{name}' is not a number and not a table name in rt_tables")]
    UnknownTable { path: String, line: usize, name: String },
    #[error(
        "`{ifname}': an interface whose name has `+' or `=' cannot carry a full tunnel (0.0.0.0/0 or ::/0 with \
         Table = auto): its nftables table and iptables rules are named after it, and `+' is an iptables wildcard; \
         rename the interface"
    )]
    NameUnfitForFullTunnel { ifname: String },
}

/// Refuses a full tunnel on an interface name nft and iptables cannot carry (wg-quick fails
/// half-way with an nft syntax error, or with iptables matches more than its interface).
fn check_full_tunnel_name(ifname: &str) -> Result<(), PlanError> {
    if ifname.contains(['+', '=']) {
        return Err(PlanError::NameUnfitForFullTunnel { ifname: ifname.to_string() });
    }
    Ok(())
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

/// The part of `up` that does not depend on what the PreUp hooks do: create the link, run
/// the PreUp hooks, program the device (addconf semantics, so the hooks' settings stay).
/// Refuses, before anything is touched, what the rest could only refuse half-way.
pub fn plan_up_start(cfg: &Config, ifname: &str, facts: &UpFacts) -> Result<Plan, PlanError> {
    if cfg.interface.table_setting() == TableSetting::Auto
        && cfg.peers.iter().any(|p| p.allowed_ips.iter().any(|a| a.prefix == 0))
    {
        check_full_tunnel_name(ifname)?;
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
    for a in &i.addresses {
        ops.push(Op::AddAddress(a.value));
    }
    let mtu = match i.mtu {
        Some(m) => m,
        None => crate::plan::routing::auto_mtu(&facts.endpoint_mtus, facts.default_route_mtu),
    };
    ops.push(Op::SetMtuUp(mtu));
    if !i.dns.is_empty() {
        ops.push(Op::SetDns { name: facts.resolvconf_name.clone(), input: crate::system::dns::resolvconf_input(&i.dns, &i.dns_search) });
    }

    let table = i.table_setting();
    let fixed_table: Option<(u32, String)> = match &table {
        TableSetting::Auto | TableSetting::Off => None,
        // Traced as written, as wg-quick passes it to `ip` (`table 0x10`).
        TableSetting::Id(n) => Some((*n, i.table.as_ref().map_or_else(|| n.to_string(), |t| t.value.clone()))),
        TableSetting::Name(name) => match facts.named_table {
            Some(n) => Some((n, name.clone())),
            None => {
                let line = i.table.as_ref().map(|t| t.line).unwrap_or(0);
                return Err(PlanError::UnknownTable { path: cfg.path.display().to_string(), line, name: name.clone() });
            }
        },
    };
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
    let mut batch: Vec<Route> = Vec::new();
    let mut chosen_table: Option<u32> = None;
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
            let t = match (chosen_table, fwmark) {
                (Some(t), _) => t,
                (None, Some(m)) if m != 0 => m,
                (None, _) => {
                    let mut t = FIRST_AUTO_TABLE;
                    while facts.tables_in_use.contains(&t) {
                        t += 1;
                    }
                    ops.push(Op::SetFwmark(t));
                    t
                }
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
    hooks(&mut ops, &i.post_up, Phase::PostUp, ifname);
    Ok(Plan { interface: ifname.to_string(), ops })
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
        (FirewallKind::Nft, crate::system::firewall::nft_up_script(ifname, v6, &addrs, t))
    } else {
        (FirewallKind::Iptables, crate::system::firewall::iptables_up_script(ifname, v6, &addrs, t))
    };
    ops.push(Op::SetFirewall { v6, kind, script });
}

fn hooks(ops: &mut Vec<Op>, list: &[crate::config::Located<String>], phase: Phase, ifname: &str) {
    for h in list {
        ops.push(Op::Hook { phase, text: crate::system::hooks::expand(&h.value, ifname) });
    }
}

/// What `up` recorded about the interface (kept under /run/wgq/, see `runstate`), so that
/// `down` and `reload` remove exactly what belongs to it even after the file or the fwmark
/// changed, and leave alone what others (hooks, routing daemons, the admin) added.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpRecord {
    /// The table/fwmark used for default routes, if any.
    pub table: Option<u32>,
    /// The resolvconf name DNS was registered under, if any.
    pub dns_name: Option<String>,
    /// The exact text registered under `dns_name` (what `reload` compares and restores).
    pub dns_input: Option<String>,
    /// Which firewall tool carries this interface's rules, if any.
    pub firewall: Option<FirewallKind>,
    /// The addresses wgq added (a configured link-local one included).
    pub addresses: Vec<IpNet>,
    /// The routes wgq added, with their table (`None` = main).
    pub routes: Vec<Route>,
}

impl UpRecord {
    pub fn render(&self) -> String {
        use fmt::Write as _;
        let mut s = String::from("# wgq state, written by `wgq up`\n");
        if let Some(t) = self.table {
            let _ = writeln!(s, "table={t}");
        }
        if let Some(d) = &self.dns_name {
            let _ = writeln!(s, "dns={d}");
        }
        for l in self.dns_input.iter().flat_map(|t| t.lines()) {
            let _ = writeln!(s, "dns_line={l}");
        }
        match self.firewall {
            Some(FirewallKind::Nft) => s.push_str("firewall=nft\n"),
            Some(FirewallKind::Iptables) => s.push_str("firewall=iptables\n"),
            None => {}
        }
        for a in &self.addresses {
            let _ = writeln!(s, "address={a}");
        }
        for r in &self.routes {
            let _ = writeln!(s, "route={} {}", r.net, r.table.unwrap_or(MAIN_TABLE));
        }
        s
    }

    pub fn parse(text: &str) -> UpRecord {
        let mut r = UpRecord::default();
        let mut dns_input = String::new();
        for l in text.lines() {
            let Some((k, v)) = l.split_once('=') else { continue };
            match k {
                "table" => r.table = v.trim().parse().ok(),
                "dns" => r.dns_name = Some(v.trim().to_string()),
                "dns_line" => {
                    dns_input.push_str(v);
                    dns_input.push('\n');
                }
                "firewall" => {
                    r.firewall = match v.trim() {
                        "nft" => Some(FirewallKind::Nft),
                        "iptables" => Some(FirewallKind::Iptables),
                        _ => None,
                    }
                }
                "address" => r.addresses.extend(IpNet::parse(v.trim()).ok()),
                "route" => {
                    let mut it = v.split_whitespace();
                    if let (Some(Ok(net)), Some(Ok(t))) = (it.next().map(IpNet::parse), it.next().map(str::parse::<u32>)) {
                        r.routes.push(route_in(net, t));
                    }
                }
                _ => {}
            }
        }
        r.dns_input = (!dns_input.is_empty()).then_some(dns_input);
        r
    }

    /// What an `up` plan will leave recorded once applied.
    pub fn from_plan(plan: &Plan) -> UpRecord {
        UpRecord::from_ops(&plan.ops)
    }

    /// What these operations of `up` will leave recorded once applied.
    pub fn from_ops<'a>(ops: impl IntoIterator<Item = &'a Op>) -> UpRecord {
        let mut r = UpRecord::default();
        for op in ops {
            match op {
                Op::AddRule(Rule::NotFwmark { table, .. }) => r.table = Some(*table),
                Op::SetDns { name, input } => {
                    r.dns_name = Some(name.clone());
                    r.dns_input = Some(input.clone());
                }
                Op::SetFirewall { kind, .. } => r.firewall = Some(*kind),
                Op::AddAddress(a) => r.addresses.push(*a),
                Op::AddRoutes(rs) => r.routes.extend(rs.iter().cloned()),
                _ => {}
            }
        }
        r
    }

    /// The record after a `reload` plan is applied: what it removed is no longer ours,
    /// what it added is.
    pub fn after_reload(&self, plan: &Plan) -> UpRecord {
        let mut r = self.clone();
        for op in &plan.ops {
            match op {
                Op::AddAddress(a) => r.addresses.push(*a),
                Op::DelAddress(a) => r.addresses.retain(|x| x != a),
                Op::AddRoutes(rs) => r.routes.extend(rs.iter().cloned()),
                Op::DelRoutes(rs) => {
                    let gone: std::collections::HashSet<_> = rs.iter().map(route_key).collect();
                    r.routes.retain(|x| !gone.contains(&route_key(x)));
                }
                Op::UpdateDns { name, input, .. } => {
                    r.dns_name = input.as_ref().map(|_| name.clone());
                    r.dns_input.clone_from(input);
                }
                _ => {}
            }
        }
        r
    }
}

/// A route as `ip` would write it: table `t`, `main` left implicit.
fn route_in(net: IpNet, t: u32) -> Route {
    let table = (t != MAIN_TABLE).then_some(t);
    Route { net, table, table_text: table.map(|t| t.to_string()) }
}

/// What identifies a route for wgq: its prefix and table.
fn route_key(r: &Route) -> (IpNet, u32) {
    (r.net, r.table.unwrap_or(MAIN_TABLE))
}

/// A policy rule as found on the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedRule {
    pub v6: bool,
    pub priority: u32,
    /// `Some((mark, table))` for `not fwmark M lookup T`, `None` for `lookup main suppress_prefixlength 0`.
    pub not_fwmark: Option<(u32, u32)>,
}

/// Facts observed on the system before planning `down`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DownFacts {
    /// The device's fwmark now (0 = off).
    pub live_fwmark: u32,
    /// Whether the device routes a `/0` now.
    pub live_has_default: bool,
    /// What our `up` recorded, if it was ours.
    pub recorded: Option<UpRecord>,
    /// Every `not fwmark` and `suppress_prefixlength 0` rule, both families.
    pub rules: Vec<ObservedRule>,
    /// `nft list tables` output, when nft is available.
    pub nft_tables: Option<String>,
    /// `iptables-save` / `ip6tables-save` output, when iptables is available.
    pub iptables_save: Option<String>,
    pub ip6tables_save: Option<String>,
    pub resolvconf_name: String,
}

/// Plans `down` (reference §4), removing only this interface's rules.
pub fn plan_down(cfg: &Config, ifname: &str, facts: &DownFacts) -> Plan {
    let i = &cfg.interface;
    let mut ops = Vec::new();
    hooks(&mut ops, &i.pre_down, Phase::PreDown, ifname);
    if i.save_config {
        ops.push(Op::SaveConfig);
    }
    let auto = i.table_setting() == TableSetting::Auto;
    let table = facts
        .recorded
        .as_ref()
        .and_then(|r| r.table)
        .or_else(|| (auto && facts.live_fwmark != 0 && facts.live_has_default).then_some(facts.live_fwmark));
    if let Some(t) = table {
        for v6 in [false, true] {
            ops.extend(rules_to_delete(&facts.rules, v6, t).into_iter().map(Op::DelRule));
        }
    }
    ops.push(Op::DelLink);
    let dns_name = match &facts.recorded {
        Some(r) => r.dns_name.clone(),
        None => (!i.dns.is_empty()).then(|| facts.resolvconf_name.clone()),
    };
    if let Some(name) = dns_name {
        ops.push(Op::UnsetDns { name });
    }
    let nft = facts.nft_tables.as_deref().and_then(|l| crate::system::firewall::nft_down_script(ifname, l));
    let iptables = facts.iptables_save.as_deref().and_then(|l| crate::system::firewall::iptables_down_script(ifname, l));
    let ip6tables = facts.ip6tables_save.as_deref().and_then(|l| crate::system::firewall::iptables_down_script(ifname, l));
    if nft.is_some() || iptables.is_some() || ip6tables.is_some() {
        ops.push(Op::RemoveFirewall { nft, iptables, ip6tables });
    }
    hooks(&mut ops, &i.post_down, Phase::PostDown, ifname);
    Plan { interface: ifname.to_string(), ops }
}

/// This interface's rules of one family: every `not fwmark T lookup T`, and for each of
/// them the `suppress_prefixlength 0` rule added with it (the one just below its priority,
/// else the nearest one below). Rules of other interfaces are left alone (wg-quick removes
/// every suppress rule: reference §4 quirk).
pub fn rules_to_delete(rules: &[ObservedRule], v6: bool, table: u32) -> Vec<Rule> {
    let mut out = Vec::new();
    let mut suppress: Vec<u32> = rules.iter().filter(|r| r.v6 == v6 && r.not_fwmark.is_none()).map(|r| r.priority).collect();
    suppress.sort_unstable();
    let mut mine: Vec<&ObservedRule> =
        rules.iter().filter(|r| r.v6 == v6 && matches!(r.not_fwmark, Some((_, t)) if t == table)).collect();
    mine.sort_by_key(|r| r.priority);
    let mut del_suppress = Vec::new();
    for r in &mine {
        let (mark, t) = r.not_fwmark.unwrap_or((table, table));
        out.push(Rule::NotFwmark { v6, mark, table: t, priority: Some(r.priority) });
        // The partner: the closest suppress rule with a lower priority number.
        if let Some(pos) = suppress.iter().rposition(|&p| p < r.priority) {
            del_suppress.push(suppress.remove(pos));
        }
    }
    out.extend(del_suppress.into_iter().map(|p| Rule::SuppressMain { v6, priority: Some(p) }));
    out
}

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
    let wanted: std::collections::HashSet<_> = want.peers.iter().map(|p| p.public_key).collect();
    for p in &live.peers {
        if !wanted.contains(&p.public_key) {
            u.peers.push(PeerConfig { public_key: p.public_key, remove: true, ..Default::default() });
        }
    }
    let running: std::collections::HashMap<_, _> = live.peers.iter().map(|p| (p.public_key, p)).collect();
    for w in &want.peers {
        let l = running.get(&w.public_key);
        let psk = w.preshared_key.clone().unwrap_or_default();
        let keepalive = w.persistent_keepalive.unwrap_or(0);
        let same = l.is_some_and(|l| {
            l.preshared_key.clone().unwrap_or_default() == psk
                && l.persistent_keepalive == keepalive
                && (w.endpoint.is_none() || w.endpoint == l.endpoint)
                && same_prefixes(&l.allowed_ips, &w.allowed_ips)
        });
        if !same {
            u.peers.push(PeerConfig {
                public_key: w.public_key,
                preshared_key: Some(psk),
                endpoint: w.endpoint,
                persistent_keepalive: Some(keepalive),
                replace_allowed_ips: true,
                allowed_ips: w.allowed_ips.clone(),
                ..Default::default()
            });
        }
    }
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
        ops.push(Op::SyncDevice { update, restore });
    }
    // Addresses: wgq's are the recorded ones, else (wg-quick's interface) every one but the
    // kernel's link-local.
    let want_addrs: Vec<IpNet> = i.addresses.iter().map(|a| a.value).collect();
    let owned_addrs: Vec<IpNet> = match &f.recorded {
        Some(r) => r.addresses.clone(),
        None => f.live_addresses.iter().filter(|a| !a.is_link_local()).copied().collect(),
    };
    for a in &f.live_addresses {
        if owned_addrs.contains(a) && !want_addrs.contains(a) {
            ops.push(Op::DelAddress(*a));
        }
    }
    for a in &want_addrs {
        if !f.live_addresses.contains(a) {
            ops.push(Op::AddAddress(*a));
        }
    }
    // As `up` would set it: the file's MTU, else the automatic one.
    let mtu = i.mtu.unwrap_or_else(|| crate::plan::routing::auto_mtu(&f.up.endpoint_mtus, f.up.default_route_mtu));
    if mtu != f.live_mtu {
        ops.push(Op::SetMtu { mtu, previous: f.live_mtu });
    }
    if let Some(op) = reload_dns(cfg, f) {
        ops.push(op);
    }
    // Routes: wgq's are the recorded ones, else those wg-quick adds (a route per allowed IP
    // of the running device).
    let want_routes = wanted_routes(cfg, &f.up)?;
    let owned: std::collections::HashSet<(IpNet, u32)> = match &f.recorded {
        Some(r) => r.routes.iter().map(route_key).collect(),
        None => {
            let allowed: std::collections::HashSet<IpNet> =
                f.live.peers.iter().flat_map(|p| p.allowed_ips.iter().copied()).collect();
            f.live_routes.iter().filter(|r| allowed.contains(&r.net)).map(route_key).collect()
        }
    };
    let live_keys: std::collections::HashSet<_> = f.live_routes.iter().map(route_key).collect();
    let want_keys: std::collections::HashSet<_> = want_routes.iter().map(route_key).collect();
    let del: Vec<Route> =
        f.live_routes.iter().filter(|r| owned.contains(&route_key(r)) && !want_keys.contains(&route_key(r))).cloned().collect();
    let add: Vec<Route> = want_routes.iter().filter(|r| !live_keys.contains(&route_key(r))).cloned().collect();
    if !del.is_empty() {
        ops.push(Op::DelRoutes(del));
    }
    if !add.is_empty() {
        ops.push(Op::AddRoutes(add));
    }
    Ok(Plan { interface: ifname.to_string(), ops })
}

/// The DNS change of a reload: the file's text against the one `up` registered (recorded),
/// else against what resolvconf lists. Nothing when neither is known.
fn reload_dns(cfg: &Config, f: &ReloadFacts) -> Option<Op> {
    let i = &cfg.interface;
    let input = (!i.dns.is_empty()).then(|| crate::system::dns::resolvconf_input(&i.dns, &i.dns_search));
    let (name, previous) = match &f.recorded {
        Some(r) => (r.dns_name.clone().unwrap_or_else(|| f.up.resolvconf_name.clone()), r.dns_input.clone()),
        None => {
            let listed = f.live_dns.as_ref()?;
            let want: Vec<String> = i.dns.iter().map(|a| a.to_string()).collect();
            if &want == listed {
                return None;
            }
            let previous = (!listed.is_empty()).then(|| listed.iter().map(|d| format!("nameserver {d}\n")).collect::<String>());
            return Some(Op::UpdateDns { name: f.up.resolvconf_name.clone(), input, previous });
        }
    };
    (input != previous).then_some(Op::UpdateDns { name, input, previous })
}
