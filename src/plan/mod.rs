//! The planner: config + observed facts → an ordered list of operations.
//!
//! Pure: nothing here touches the system. This file has the operations and plans, their
//! trace lines and the errors; `up`, `down` and `reload` plan the commands; `record` is what
//! `up` leaves recorded; `routing`, `firewall` and `dns` are wg-quick's decisions and texts.
//! The executor (`exec`) applies a plan, prints each operation's trace line and records how
//! to undo it.

pub mod alloc;
pub mod dns;
mod down;
pub mod exec;
pub mod firewall;
pub mod kernel;
pub mod p2p;
pub mod peer;
mod record;
mod reload;
pub mod reresolve;
pub mod routing;
mod up;

pub use down::{DownFacts, plan_down, plan_down_vanished, vanished_summary};
pub use firewall::{Admitted, KillSwitch};
pub use record::UpRecord;
pub use reload::{ReloadError, ReloadFacts, plan_reload};
#[cfg(feature = "test-support")]
pub use reload::device_update;
pub use up::{
    AfterPreUp, UpFacts, kernel_allowed_ips, own_public_key, plan_up, plan_up_rest, plan_up_start, table_search_needed,
};

use std::fmt;

use crate::device::DeviceConfig;
use crate::net::IpNet;
pub use crate::net::{ObservedRule, Rule};

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
    /// Write `input` into /etc/resolv.conf in place, its old content kept in the run state
    /// (the `File` DNS backend; undone by [`Op::RestoreResolvConf`]).
    WriteResolvConf {
        input: String,
    },
    /// Give /etc/resolv.conf back the content kept by [`Op::WriteResolvConf`], in place.
    RestoreResolvConf,
    AddRule(Rule),
    /// Routes are applied as one batch; the trace shows one line per route.
    AddRoutes(Vec<Route>),
    SetFirewall {
        v6: bool,
        kind: FirewallKind,
        script: String,
    },
    /// Install the kill switch (`up --kill-switch`): one nft script for both families, or
    /// one iptables-restore text per family (`v6`). `undo`: whether a rollback removes it
    /// (not for a strict one, nor for one that was there before this `up`).
    SetKillSwitch {
        kind: FirewallKind,
        v6: bool,
        ks: KillSwitch,
        undo: bool,
        script: String,
    },
    /// Make the kill switch of another interface (`switch_of`) let out exactly `tunnels`:
    /// the host's other wgq tunnels, this one included after its `up` and left out after its
    /// `down`; a tunnel without a port gets its device's listen port, read when applied.
    /// `previous` is what an undo puts back.
    Admit {
        switch_of: String,
        kind: FirewallKind,
        tunnels: Vec<firewall::Admitted>,
        previous: Vec<firewall::Admitted>,
    },
    /// Remove the kill switch of this interface, where the tool of `kind` holds it (errors
    /// reported and ignored, as for the other firewall rules).
    RemoveKillSwitch {
        kind: FirewallKind,
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
    /// Change just these peers of a running device (`wgq peer`): each one set whole or
    /// removed; `restore` puts each back as it was. No other peer is touched.
    SetPeers {
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
    /// Point one existing peer at a new endpoint (`reresolve`): a device update with only
    /// that peer's key, WGPEER_F_UPDATE_ONLY (UAPI `update_only=true`, so a peer removed
    /// meanwhile is not re-created) and the endpoint. Not undone: the old address is the
    /// one that stopped working.
    SetEndpoint {
        peer: crate::key::Key,
        endpoint: std::net::SocketAddr,
    },
    /// One per-link call to systemd-resolved (the resolved backend: `up`, `down`, `reload`).
    /// `restore` is what undoes the group of calls this one belongs to (`resolvectl revert`
    /// on `up`, the previous settings on `reload`); the executor records it once per
    /// transaction, before the first call.
    Resolved {
        call: crate::plan::dns::ResolvedCall,
        restore: Vec<crate::plan::dns::ResolvedCall>,
    },
    /// Replace (or, with `input: None`, remove) the DNS registration (`reload`).
    UpdateDns {
        name: String,
        input: Option<String>,
        previous: Option<String>,
    },
}

/// The file the `File` DNS backend writes.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";

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
            Op::SetEndpoint { peer, endpoint } => {
                vec![format!("wg set {ifname} peer {} endpoint {endpoint}", peer.to_base64())]
            }
            Op::AddAddress(a) => {
                vec![format!("ip {} address add {a} dev {ifname}", if a.is_ipv6() { "-6" } else { "-4" })]
            }
            Op::SetMtuUp(m) => vec![format!("ip link set mtu {m} up dev {ifname}")],
            Op::SetMtu { mtu, .. } => vec![format!("ip link set mtu {mtu} dev {ifname}")],
            Op::SyncDevice { .. } => vec![format!("wg syncconf {ifname} /dev/fd/63")],
            Op::SetPeers { update, .. } => update.peers.iter().map(|p| set_peer_text(ifname, p)).collect(),
            Op::UpdateDns { name, input: Some(_), .. } => vec![format!("resolvconf -a {name} -m 0 -x")],
            Op::UpdateDns { name, input: None, .. } => vec![format!("resolvconf -d {name} -f")],
            Op::DelAddress(a) => {
                vec![format!("ip {} address del {a} dev {ifname}", if a.is_ipv6() { "-6" } else { "-4" })]
            }
            Op::DelRoutes(routes) => routes.iter().map(|r| route_text(r, ifname, "del")).collect(),
            Op::SetDns { name, .. } => vec![format!("resolvconf -a {name} -m 0 -x")],
            Op::WriteResolvConf { .. } => vec![format!("write {RESOLV_CONF} in place (its content kept for down)")],
            Op::RestoreResolvConf => vec![format!("restore {RESOLV_CONF} in place")],
            Op::Resolved { call, .. } => vec![call.trace(ifname)],
            Op::AddRule(r) => vec![format!("ip {} rule add {}", rule_family(r), rule_text(r))],
            Op::DelRule(r) => vec![match r {
                Rule::NotFwmark { table, .. } => format!("ip {} rule delete table {table}", rule_family(r)),
                Rule::SuppressMain { .. } => {
                    format!("ip {} rule delete table main suppress_prefixlength 0", rule_family(r))
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
            Op::SetKillSwitch { kind, v6, .. } => vec![kill_switch_trace(*kind, *v6).to_string()],
            Op::Admit { kind: FirewallKind::Nft, .. } => vec![kill_switch_trace(FirewallKind::Nft, false).to_string()],
            Op::Admit { kind: FirewallKind::Iptables, .. } => vec![
                kill_switch_trace(FirewallKind::Iptables, false).to_string(),
                kill_switch_trace(FirewallKind::Iptables, true).to_string(),
            ],
            Op::RemoveKillSwitch { kind: FirewallKind::Nft } => vec![kill_switch_trace(FirewallKind::Nft, false).to_string()],
            Op::RemoveKillSwitch { kind: FirewallKind::Iptables } => vec![
                kill_switch_trace(FirewallKind::Iptables, false).to_string(),
                kill_switch_trace(FirewallKind::Iptables, true).to_string(),
            ],
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

/// The trace line of a kill switch change: the command that would load it from stdin.
pub(crate) fn kill_switch_trace(kind: FirewallKind, v6: bool) -> &'static str {
    match (kind, v6) {
        (FirewallKind::Nft, _) => "nft -f /dev/stdin",
        (FirewallKind::Iptables, false) => "iptables-restore -n",
        (FirewallKind::Iptables, true) => "ip6tables-restore -n",
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

/// `wg set IF peer K remove` or `wg set IF peer K [preshared-key /dev/fd/63]
/// persistent-keepalive N|off allowed-ips A,B`: what `wg set` would be told (no key material).
fn set_peer_text(ifname: &str, p: &crate::device::PeerConfig) -> String {
    let mut s = format!("wg set {ifname} peer {}", p.public_key.to_base64());
    if p.remove {
        s.push_str(" remove");
        return s;
    }
    if p.preshared_key.as_ref().is_some_and(|k| !k.is_zero()) {
        s.push_str(" preshared-key /dev/fd/63");
    }
    if let Some(e) = p.endpoint {
        s.push_str(&format!(" endpoint {e}"));
    }
    match p.persistent_keepalive {
        Some(0) => s.push_str(" persistent-keepalive off"),
        Some(k) => s.push_str(&format!(" persistent-keepalive {k}")),
        None => {}
    }
    // Without replacing (`wgq p2p` giving an address back): added, as wg(8)'s `+`.
    let ips: Vec<String> =
        p.allowed_ips.iter().map(|a| if p.replace_allowed_ips { a.to_string() } else { format!("+{a}") }).collect();
    if p.replace_allowed_ips && ips.is_empty() {
        s.push_str(" allowed-ips ''");
    } else if p.replace_allowed_ips || !ips.is_empty() {
        s.push_str(&format!(" allowed-ips {}", ips.join(",")));
    }
    s
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
            let admit;
            let body = match op {
                Op::SetDns { input, .. } | Op::UpdateDns { input: Some(input), .. } => Some(input.as_str()),
                Op::SetFirewall { script, .. } | Op::SetKillSwitch { script, .. } => Some(script.as_str()),
                Op::Admit { switch_of, kind: FirewallKind::Nft, tunnels, .. } => {
                    admit = firewall::admitted_nft_script(switch_of, tunnels);
                    Some(admit.as_str())
                }
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
    #[error("--kill-switch needs a full tunnel (AllowedIPs with 0.0.0.0/0 or ::/0); {file} has none")]
    KillSwitchNeedsFullTunnel { file: String },
    /// `--kill-switch` while another interface's switch is in place: every switch is a
    /// full-tunnel one (it rejects what does not leave through its own tunnel), a host has one.
    #[error(
        "--kill-switch: the kill switch of {other} is in place, and a host has one (each rejects what does not leave \
         through its own tunnel); bring {ifname} up without --kill-switch ({other}'s switch lets it out), or remove \
         that one first: `wgq down --kill-switch=off {other}'"
    )]
    KillSwitchElsewhere { ifname: String, other: String },
    #[error(
        "{path}:{line}: Table: --kill-switch needs a full tunnel with Table = auto (the fwmark wgq sets then lets \
         the tunnel's own packets out), not `{value}'"
    )]
    KillSwitchNeedsTableAuto { path: String, line: usize, value: String },
    /// The running kernel cannot do what `up` needs (`kernel::check_up`).
    #[error("{0}")]
    Kernel(String),
}

/// `-4` or `-6`, as the trace writes a rule's family.
fn rule_family(r: &Rule) -> &'static str {
    if r.v6() { "-6" } else { "-4" }
}

/// Replaces every `%i` with the interface name (no escape: `%%i` gives `%wg0`).
pub fn expand_hook(hook: &str, ifname: &str) -> String {
    hook.replace("%i", ifname)
}

/// The hooks of one phase, `%i` expanded.
pub(crate) fn hooks(ops: &mut Vec<Op>, list: &[crate::config::Located<String>], phase: Phase, ifname: &str) {
    for h in list {
        ops.push(Op::Hook { phase, text: expand_hook(&h.value, ifname) });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hook_expansion() {
        assert_eq!(super::expand_hook("echo %i%i %%i", "wg0"), "echo wg0wg0 %wg0");
    }
}
