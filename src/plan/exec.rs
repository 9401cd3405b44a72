//! The executor: applies a plan through a [`System`], prints one `[#]` trace line per
//! operation, records how to undo each step, and undoes everything in reverse on any
//! failure or termination signal.

use std::io::Write;

use crate::config::Config;
use crate::device::DeviceConfig;
use crate::net::IpNet;
use crate::plan::{FirewallKind, Op, Phase, Plan, Route, Rule, UpFacts};

/// A failed system operation: what to tell the user and which exit status to end with.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SysError {
    pub message: String,
    /// The exit status wg-quick would end with for this failure (2 for a refused
    /// rtnetlink request like `ip`, 1 for a wg failure, a hook's or tool's own status).
    pub status: i32,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl SysError {
    pub fn new(status: i32, message: impl Into<String>) -> SysError {
        SysError { message: message.into(), status, source: None }
    }
    pub fn with_source(
        status: i32,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> SysError {
        SysError { message: message.into(), status, source: Some(Box::new(source)) }
    }
}

/// How the link was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkKind {
    Kernel,
    /// The userspace fallback program that now serves the interface.
    Userspace(String),
}

/// Everything the executor needs from the system. The Linux implementation talks
/// netlink and runs the few external tools wg-quick runs; tests use a fake.
pub trait System {
    /// Creates the WireGuard link (kernel, else userspace fallback). `trace` receives
    /// the extra lines wg-quick prints on fallback.
    fn create_link(&mut self, ifname: &str, trace: &mut dyn FnMut(&str)) -> Result<LinkKind, SysError>;
    fn delete_link(&mut self, ifname: &str) -> Result<(), SysError>;
    fn set_device(&mut self, ifname: &str, cfg: &DeviceConfig) -> Result<(), SysError>;
    fn set_fwmark(&mut self, ifname: &str, mark: u32) -> Result<(), SysError>;
    fn add_address(&mut self, ifname: &str, addr: IpNet) -> Result<(), SysError>;
    fn del_address(&mut self, ifname: &str, addr: IpNet) -> Result<(), SysError>;
    fn set_mtu_up(&mut self, ifname: &str, mtu: u32) -> Result<(), SysError>;
    /// `ip link set mtu M dev <if>`: the MTU only, the link's up/down state untouched.
    fn set_mtu(&mut self, ifname: &str, mtu: u32) -> Result<(), SysError>;
    /// Adds routes in order; on failure reports how many were added before the error.
    fn add_routes(&mut self, ifname: &str, routes: &[Route]) -> Result<(), (usize, SysError)>;
    fn del_routes(&mut self, ifname: &str, routes: &[Route]) -> Result<(), SysError>;
    /// Puts routes back (rollback): each on its own merits, one already there is fine;
    /// returns the other refusals. Linear in the routes, whatever fails.
    fn put_back_routes(&mut self, ifname: &str, routes: &[Route]) -> Vec<SysError>;
    /// Adds a rule and returns it with the priority the kernel gave it.
    fn add_rule(&mut self, rule: &Rule) -> Result<Rule, SysError>;
    fn del_rule(&mut self, rule: &Rule) -> Result<(), SysError>;
    fn run_hook(&mut self, ifname: &str, phase: Phase, text: &str) -> Result<(), SysError>;
    fn set_dns(&mut self, name: &str, input: &str) -> Result<(), SysError>;
    fn unset_dns(&mut self, name: &str) -> Result<(), SysError>;
    /// Writes `input` into /etc/resolv.conf in place, keeping its content (once) for
    /// [`System::restore_resolv_conf`].
    fn write_resolv_conf(&mut self, ifname: &str, input: &str) -> Result<(), SysError>;
    /// Gives /etc/resolv.conf back what [`System::write_resolv_conf`] kept (nothing kept: nothing to do).
    fn restore_resolv_conf(&mut self, ifname: &str) -> Result<(), SysError>;
    /// One per-link call to systemd-resolved for the interface.
    fn resolved(&mut self, ifname: &str, call: &crate::plan::dns::ResolvedCall) -> Result<(), SysError>;
    fn set_firewall(&mut self, ifname: &str, v6: bool, kind: FirewallKind, script: &str) -> Result<(), SysError>;
    /// Removes what [`System::set_firewall`] added for this interface, for these families
    /// (one nft call for all of them, like wg-quick).
    fn unset_firewall(&mut self, ifname: &str, families: &[bool], kind: FirewallKind) -> Result<(), SysError>;
    fn remove_firewall(&mut self, nft: Option<&str>, iptables: Option<&str>, ip6tables: Option<&str>) -> Result<(), SysError>;
    /// Loads a kill switch text (`nft -f -`, or `iptables-restore -n` of family `v6`).
    fn set_kill_switch(&mut self, ifname: &str, kind: FirewallKind, v6: bool, script: &str) -> Result<(), SysError>;
    /// Removes the kill switch of this interface from what `kind` holds (both families);
    /// nothing there is fine.
    fn remove_kill_switch(&mut self, ifname: &str, kind: FirewallKind) -> Result<(), SysError>;
    /// Makes the kill switch of `switch_of` let out exactly `tunnels` (see `Op::Admit`; a
    /// tunnel without a port gets its device's listen port).
    fn set_admitted(&mut self, switch_of: &str, kind: FirewallKind, tunnels: &[crate::plan::Admitted]) -> Result<(), SysError>;
    fn set_src_valid_mark(&mut self) -> Result<(), SysError>;
    fn save_config(&mut self, ifname: &str) -> Result<(), SysError>;
    /// A termination signal received since the last call, if any.
    fn pending_signal(&mut self) -> Option<i32>;
    /// Reads again, once the PreUp hooks ran and the device was programmed, what the rest
    /// of `up` is planned from (`before`: the facts observed before the hooks).
    fn observe_after_pre_up(&mut self, cfg: &Config, before: &UpFacts) -> Result<UpFacts, SysError>;
}

/// One recorded way back.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Undo {
    DelLink,
    DelAddress(IpNet),
    DelRoutes(Vec<Route>),
    DelRule(Rule),
    UnsetDns(String),
    RestoreResolvConf,
    UnsetFirewall(bool, FirewallKind),
    RemoveKillSwitch(FirewallKind),
    /// Put back what another interface's kill switch let out.
    Admit(String, FirewallKind, Vec<crate::plan::Admitted>),
    /// Put the previous device configuration back (used by reload).
    RestoreDevice(DeviceConfig),
    AddAddress(IpNet),
    AddRoutes(Vec<Route>),
    SetMtu(u32),
    SetDns(String, String),
    /// systemd-resolved calls that put the link's DNS back (`revert`, or earlier settings).
    Resolved(Vec<crate::plan::dns::ResolvedCall>),
}

/// Why applying a plan stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Failed(SysError),
    #[error("interrupted by signal {0}")]
    Signal(i32),
}

impl ExecError {
    /// The process exit status for this failure.
    pub fn status(&self) -> i32 {
        match self {
            ExecError::Failed(e) => e.status,
            ExecError::Signal(s) => 128 + s,
        }
    }
}

/// Applies plans with an undo log. A transaction may span several plans
/// ([`Executor::apply_part`]); it ends with [`Executor::commit`], and an executor dropped
/// before that undoes what it did.
pub struct Executor<'a> {
    pub sys: &'a mut dyn System,
    pub trace: &'a mut dyn Write,
    undo: Vec<Undo>,
    /// The interface of the transaction under way.
    interface: String,
}

impl Drop for Executor<'_> {
    fn drop(&mut self) {
        if !self.undo.is_empty() {
            let ifname = std::mem::take(&mut self.interface);
            self.rollback(&ifname);
        }
    }
}

impl<'a> Executor<'a> {
    pub fn new(sys: &'a mut dyn System, trace: &'a mut dyn Write) -> Executor<'a> {
        Executor { sys, trace, undo: Vec::new(), interface: String::new() }
    }

    fn say(&mut self, line: &str) {
        let _ = writeln!(self.trace, "[#] {line}");
    }

    /// Applies a transactional plan (`up`, `reload`): on any failure or signal,
    /// everything done so far is undone in reverse and the error is returned.
    pub fn apply_all(&mut self, plan: &Plan) -> Result<(), ExecError> {
        self.apply_part(plan)?;
        self.commit();
        Ok(())
    }

    /// Applies one part of a transaction: on any failure or signal, everything this
    /// executor did since the last commit (earlier parts too) is undone in reverse and the
    /// error is returned.
    pub fn apply_part(&mut self, plan: &Plan) -> Result<(), ExecError> {
        self.interface.clone_from(&plan.interface);
        for op in &plan.ops {
            if let Some(sig) = self.sys.pending_signal() {
                self.rollback(&plan.interface);
                return Err(ExecError::Signal(sig));
            }
            if let Err(e) = self.apply(&plan.interface, op) {
                if let ExecError::Failed(f) = &e {
                    print_error(&mut *self.trace, f);
                }
                self.rollback(&plan.interface);
                return Err(e);
            }
        }
        if let Some(sig) = self.sys.pending_signal() {
            self.rollback(&plan.interface);
            return Err(ExecError::Signal(sig));
        }
        Ok(())
    }

    /// Ends the transaction: what was applied stays.
    pub fn commit(&mut self) {
        self.undo.clear();
    }

    /// Ends the transaction on a failure between its parts (observing, planning): prints
    /// the error, undoes everything, and returns it as already reported.
    pub fn abort(&mut self, e: SysError) -> ExecError {
        print_error(&mut *self.trace, &e);
        let ifname = self.interface.clone();
        self.rollback(&ifname);
        ExecError::Failed(e)
    }

    /// Applies a teardown plan (`down`): stops at the first failing step, except DNS
    /// and firewall removal whose errors are reported and ignored (like wg-quick).
    pub fn apply_teardown(&mut self, plan: &Plan) -> Result<(), ExecError> {
        for op in &plan.ops {
            let r = self.apply(&plan.interface, op);
            self.undo.clear();
            match (r, op) {
                (Ok(()), _) => {}
                (
                    Err(ExecError::Failed(e)),
                    Op::UnsetDns { .. }
                    | Op::RestoreResolvConf
                    | Op::Resolved { .. }
                    | Op::RemoveFirewall { .. }
                    | Op::RemoveKillSwitch { .. }
                    | Op::Admit { .. },
                ) => {
                    print_error(&mut *self.trace, &e);
                }
                (Err(e), _) => {
                    if let ExecError::Failed(f) = &e {
                        print_error(&mut *self.trace, f);
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, ifname: &str, op: &Op) -> Result<(), ExecError> {
        // Route batches (thousands of lines at scale) are written by `route_trace`.
        let lines = if matches!(op, Op::AddRoutes(_) | Op::DelRoutes(_)) { Vec::new() } else { op.trace(ifname) };
        // Routes print their lines as they go; everything else prints before acting.
        if !matches!(op, Op::AddRoutes(_) | Op::DelRoutes(_) | Op::RemoveFirewall { .. }) {
            for l in &lines {
                self.say(l);
            }
        }
        let r: Result<(), SysError> = match op {
            Op::CreateLink => {
                let tr = &mut *self.trace;
                let mut cb = |l: &str| {
                    let _ = writeln!(tr, "{l}");
                };
                self.sys.create_link(ifname, &mut cb).map(|_| self.undo.push(Undo::DelLink))
            }
            Op::Hook { phase, text } => self.sys.run_hook(ifname, *phase, text),
            Op::SetDevice(cfg) => self.sys.set_device(ifname, cfg),
            Op::SetFwmark(m) => self.sys.set_fwmark(ifname, *m),
            Op::SetEndpoint { peer, endpoint } => self.sys.set_device(ifname, &DeviceConfig::endpoint_update(*peer, *endpoint)),
            Op::AddAddress(a) => self.sys.add_address(ifname, *a).map(|_| self.undo.push(Undo::DelAddress(*a))),
            Op::SetMtuUp(m) => self.sys.set_mtu_up(ifname, *m),
            Op::SetMtu { mtu, previous } => {
                self.undo.push(Undo::SetMtu(*previous));
                self.sys.set_mtu(ifname, *mtu)
            }
            // Steps that may half-apply record their (idempotent) undo before they run.
            Op::SyncDevice { update, restore } | Op::SetPeers { update, restore } => {
                self.undo.push(Undo::RestoreDevice(restore.clone()));
                self.sys.set_device(ifname, update)
            }
            Op::DelAddress(a) => self.sys.del_address(ifname, *a).map(|_| self.undo.push(Undo::AddAddress(*a))),
            Op::UpdateDns { name, input, previous } => {
                let r = match input {
                    Some(i) => self.sys.set_dns(name, i),
                    None => self.sys.unset_dns(name),
                };
                r.map(|_| {
                    self.undo.push(match previous {
                        Some(p) => Undo::SetDns(name.clone(), p.clone()),
                        None => Undo::UnsetDns(name.clone()),
                    })
                })
            }
            Op::DelRoutes(routes) => {
                route_trace(&mut *self.trace, routes, ifname, "del");
                // A batch that stops half-way has deleted some: the undo re-adds every one
                // that is missing.
                self.undo.push(Undo::AddRoutes(routes.clone()));
                self.sys.del_routes(ifname, routes)
            }
            Op::SetDns { name, input } => self.sys.set_dns(name, input).map(|_| self.undo.push(Undo::UnsetDns(name.clone()))),
            // Its undo first: a write that stops half-way has truncated the file.
            Op::WriteResolvConf { input } => {
                self.undo.push(Undo::RestoreResolvConf);
                self.sys.write_resolv_conf(ifname, input)
            }
            Op::RestoreResolvConf => self.sys.restore_resolv_conf(ifname),
            // A call may half-apply (resolvectl on a link networkd took over): the group's
            // undo is recorded before its first call, once.
            Op::Resolved { call, restore } => {
                if !restore.is_empty() && !self.undo.iter().any(|u| matches!(u, Undo::Resolved(_))) {
                    self.undo.push(Undo::Resolved(restore.clone()));
                }
                self.sys.resolved(ifname, call)
            }
            Op::AddRule(rule) => self.sys.add_rule(rule).map(|added| self.undo.push(Undo::DelRule(added))),
            Op::DelRule(rule) => self.sys.del_rule(rule),
            Op::AddRoutes(routes) => {
                route_trace(&mut *self.trace, routes, ifname, "add");
                match self.sys.add_routes(ifname, routes) {
                    Ok(()) => {
                        self.undo.push(Undo::DelRoutes(routes.clone()));
                        Ok(())
                    }
                    Err((n, e)) => {
                        self.undo.push(Undo::DelRoutes(routes[..n].to_vec()));
                        Err(e)
                    }
                }
            }
            // An nft script is one transaction; iptables-restore commits table by table (raw
            // may stay when mangle fails), so its undo is recorded first.
            Op::SetFirewall { v6, kind: FirewallKind::Iptables, script } => {
                self.undo.push(Undo::UnsetFirewall(*v6, FirewallKind::Iptables));
                self.sys.set_firewall(ifname, *v6, FirewallKind::Iptables, script)
            }
            Op::SetFirewall { v6, kind, script } => {
                self.sys.set_firewall(ifname, *v6, *kind, script).map(|_| self.undo.push(Undo::UnsetFirewall(*v6, *kind)))
            }
            // iptables-restore of the second family may fail after the first was loaded: the
            // undo (which removes both) is recorded first.
            Op::SetKillSwitch { kind, v6, undo, script, .. } => {
                if *undo && *kind == FirewallKind::Iptables {
                    self.undo.push(Undo::RemoveKillSwitch(*kind));
                }
                self.sys.set_kill_switch(ifname, *kind, *v6, script).map(|_| {
                    if *undo && *kind == FirewallKind::Nft {
                        self.undo.push(Undo::RemoveKillSwitch(*kind));
                    }
                })
            }
            Op::RemoveKillSwitch { kind } => self.sys.remove_kill_switch(ifname, *kind),
            // iptables may change one family and fail on the other: the undo first.
            Op::Admit { switch_of, kind, tunnels, previous } => {
                self.undo.push(Undo::Admit(switch_of.clone(), *kind, previous.clone()));
                self.sys.set_admitted(switch_of, *kind, tunnels)
            }
            Op::SrcValidMark => self.sys.set_src_valid_mark(),
            Op::SaveConfig => self.sys.save_config(ifname),
            Op::DelLink => self.sys.delete_link(ifname),
            Op::UnsetDns { name } => self.sys.unset_dns(name),
            Op::RemoveFirewall { nft, iptables, ip6tables } => {
                for l in &lines {
                    self.say(l);
                }
                self.sys.remove_firewall(nft.as_deref(), iptables.as_deref(), ip6tables.as_deref())
            }
        };
        r.map_err(ExecError::Failed)
    }

    /// Applies each operation on its own (`reresolve`): a failing one is reported and the
    /// others still run; nothing is undone. Returns how many failed (a signal stops it).
    pub fn apply_each(&mut self, plan: &Plan) -> Result<usize, ExecError> {
        let mut failed = 0;
        for op in &plan.ops {
            if let Some(sig) = self.sys.pending_signal() {
                return Err(ExecError::Signal(sig));
            }
            let r = self.apply(&plan.interface, op);
            self.undo.clear();
            match r {
                Ok(()) => {}
                Err(ExecError::Failed(e)) => {
                    print_error(&mut *self.trace, &e);
                    failed += 1;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(failed)
    }

    /// Undoes every recorded step in reverse order. Steps whose effect disappears with
    /// the link (addresses, routes through it) are skipped when the link itself goes.
    pub fn rollback(&mut self, ifname: &str) {
        let link_goes = self.undo.contains(&Undo::DelLink);
        while let Some(u) = self.undo.pop() {
            let r = match &u {
                Undo::DelLink => {
                    self.say(&format!("ip link delete dev {ifname}"));
                    self.sys.delete_link(ifname)
                }
                Undo::DelAddress(_) | Undo::DelRoutes(_) if link_goes => Ok(()),
                Undo::DelAddress(a) => {
                    self.say(&format!("ip {} address del {a} dev {ifname}", fam(a)));
                    self.sys.del_address(ifname, *a)
                }
                Undo::DelRoutes(rs) => {
                    route_trace(&mut *self.trace, rs, ifname, "del");
                    self.sys.del_routes(ifname, rs)
                }
                Undo::DelRule(r) => {
                    for l in Op::DelRule(r.clone()).trace(ifname) {
                        self.say(&l);
                    }
                    self.sys.del_rule(r)
                }
                Undo::UnsetDns(name) => {
                    self.say(&format!("resolvconf -d {name} -f"));
                    self.sys.unset_dns(name)
                }
                Undo::RestoreResolvConf => {
                    for l in Op::RestoreResolvConf.trace(ifname) {
                        self.say(&l);
                    }
                    self.sys.restore_resolv_conf(ifname)
                }
                Undo::UnsetFirewall(v6, FirewallKind::Nft) => {
                    // Every family's table goes in one nft call, as wg-quick does.
                    let mut fams = vec![*v6];
                    self.undo.retain(|u| match u {
                        Undo::UnsetFirewall(f, FirewallKind::Nft) => {
                            fams.push(*f);
                            false
                        }
                        _ => true,
                    });
                    self.say("nft -f /dev/fd/63");
                    self.sys.unset_firewall(ifname, &fams, FirewallKind::Nft)
                }
                Undo::UnsetFirewall(v6, FirewallKind::Iptables) => {
                    self.say(if *v6 { "ip6tables-restore -n" } else { "iptables-restore -n" });
                    self.sys.unset_firewall(ifname, &[*v6], FirewallKind::Iptables)
                }
                Undo::RemoveKillSwitch(kind) => {
                    // One removal takes every family.
                    let k = *kind;
                    self.undo.retain(|u| *u != Undo::RemoveKillSwitch(k));
                    for l in (Op::RemoveKillSwitch { kind: k }).trace(ifname) {
                        self.say(&l);
                    }
                    self.sys.remove_kill_switch(ifname, k)
                }
                Undo::Admit(switch_of, kind, previous) => {
                    for l in (Op::Admit { switch_of: switch_of.clone(), kind: *kind, tunnels: Vec::new(), previous: Vec::new() })
                        .trace(ifname)
                    {
                        self.say(&l);
                    }
                    self.sys.set_admitted(switch_of, *kind, previous)
                }
                Undo::RestoreDevice(cfg) => {
                    self.say(&format!("wg syncconf {ifname} /dev/fd/63"));
                    self.sys.set_device(ifname, cfg)
                }
                Undo::AddAddress(a) => {
                    self.say(&format!("ip {} address add {a} dev {ifname}", fam(a)));
                    self.sys.add_address(ifname, *a)
                }
                Undo::AddRoutes(rs) => {
                    route_trace(&mut *self.trace, rs, ifname, "add");
                    for e in self.sys.put_back_routes(ifname, rs) {
                        print_error(&mut *self.trace, &e);
                    }
                    Ok(())
                }
                Undo::SetMtu(m) => {
                    self.say(&format!("ip link set mtu {m} dev {ifname}"));
                    self.sys.set_mtu(ifname, *m)
                }
                Undo::SetDns(name, input) => {
                    self.say(&format!("resolvconf -a {name} -m 0 -x"));
                    self.sys.set_dns(name, input)
                }
                Undo::Resolved(calls) => {
                    for c in calls {
                        self.say(&c.trace(ifname));
                        if let Err(e) = self.sys.resolved(ifname, c) {
                            print_error(&mut *self.trace, &e);
                        }
                    }
                    Ok(())
                }
            };
            if let Err(e) = r {
                print_error(&mut *self.trace, &e);
            }
        }
    }
}

fn fam(n: &IpNet) -> &'static str {
    if n.is_ipv6() { "-6" } else { "-4" }
}

/// Prints an error and its cause chain the way the binary does (the binary does not
/// print an [`ExecError::Failed`] again).
fn print_error(w: &mut dyn Write, e: &SysError) {
    let _ = writeln!(w, "{}: {}", crate::program_name(), crate::error_chain(e));
}

/// Writes the `[#] ip route ...` lines of a route batch in pieces of about 64 KiB: few
/// writes for thousands of routes, without holding every line at once.
fn route_trace(w: &mut dyn Write, routes: &[crate::plan::Route], ifname: &str, verb: &str) {
    const PIECE: usize = 64 * 1024;
    let mut buf = String::with_capacity(PIECE + 256);
    for r in routes {
        buf.push_str("[#] ");
        let _ = crate::plan::write_route_text(&mut buf, r, ifname, verb);
        buf.push('\n');
        if buf.len() >= PIECE {
            let _ = w.write_all(buf.as_bytes());
            buf.clear();
        }
    }
    let _ = w.write_all(buf.as_bytes());
}
