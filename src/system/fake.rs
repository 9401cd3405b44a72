//! An in-memory [`System`] for tests without root: it keeps kernel-like state, renders
//! it as canonical lines (to diff before/after), and can fail any chosen call.

use std::collections::BTreeSet;

use crate::device::DeviceConfig;
use crate::net::IpNet;
use crate::plan::exec::{LinkKind, SysError, System};
use crate::plan::{AfterPreUp, FirewallKind, Phase, Route, Rule, UpFacts};

/// Kernel-like state of the fake system.
#[derive(Debug, Default, Clone)]
pub struct FakeSystem {
    pub links: BTreeSet<String>,
    pub up: BTreeSet<String>,
    pub mtu: Vec<(String, u32)>,
    pub fwmark: Vec<(String, u32)>,
    pub addresses: BTreeSet<(String, String)>,
    pub routes: BTreeSet<(String, String, u32)>,
    /// (v6, priority, text)
    pub rules: BTreeSet<(bool, u32, String)>,
    pub dns: BTreeSet<String>,
    /// systemd-resolved's per-link settings: (link, what) lines.
    pub resolved: BTreeSet<(String, String)>,
    pub firewall: BTreeSet<String>,
    pub src_valid_mark: bool,
    pub hooks_run: Vec<String>,
    pub device_sets: usize,
    pub saved: usize,
    /// Fail the n-th mutating call (0-based), with this status.
    pub fail_at: Option<(usize, i32)>,
    /// Report this signal after the n-th mutating call.
    pub signal_after: Option<(usize, i32)>,
    pub calls: usize,
    pub signalled: bool,
}

impl FakeSystem {
    /// The state as sorted canonical lines (hooks and counters excluded).
    pub fn render(&self) -> Vec<String> {
        let mut v = Vec::new();
        for l in &self.links {
            v.push(format!("link {l} up={}", self.up.contains(l)));
        }
        for (l, m) in &self.mtu {
            if self.links.contains(l) {
                v.push(format!("mtu {l} {m}"));
            }
        }
        for (l, m) in &self.fwmark {
            if self.links.contains(l) {
                v.push(format!("fwmark {l} {m}"));
            }
        }
        for (l, a) in &self.addresses {
            v.push(format!("addr {a} dev {l}"));
        }
        for (l, r, t) in &self.routes {
            v.push(format!("route {r} dev {l} table {t}"));
        }
        for (v6, p, t) in &self.rules {
            v.push(format!("rule{} {p}: {t}", if *v6 { "6" } else { "4" }));
        }
        for d in &self.dns {
            v.push(format!("dns {d}"));
        }
        for (l, w) in &self.resolved {
            v.push(format!("resolved {l} {w}"));
        }
        for f in &self.firewall {
            v.push(format!("firewall {f}"));
        }
        v.sort();
        v
    }

    fn step(&mut self) -> Result<(), SysError> {
        let n = self.calls;
        self.calls += 1;
        if let Some((k, sig)) = self.signal_after
            && n >= k
        {
            self.signalled = true;
            let _ = sig;
        }
        match self.fail_at {
            Some((k, status)) if k == n => Err(SysError::new(status, format!("injected failure at call {n}"))),
            _ => Ok(()),
        }
    }

    fn rule_text(r: &Rule) -> String {
        match r {
            Rule::NotFwmark { mark, table, .. } => format!("not fwmark {mark} lookup {table}"),
            Rule::SuppressMain { .. } => "lookup main suppress_prefixlength 0".into(),
        }
    }

    /// The link disappears without `down` (its userspace daemon crashed, `ip link del`):
    /// its addresses and routes go with it, its rules, firewall and DNS stay.
    pub fn vanish(&mut self, ifname: &str) {
        self.drop_link_state(ifname);
    }

    fn drop_link_state(&mut self, ifname: &str) {
        self.links.remove(ifname);
        self.up.remove(ifname);
        self.mtu.retain(|(l, _)| l != ifname);
        self.fwmark.retain(|(l, _)| l != ifname);
        self.addresses.retain(|(l, _)| l != ifname);
        self.routes.retain(|(l, _, _)| l != ifname);
    }
}

impl System for FakeSystem {
    fn create_link(&mut self, ifname: &str, _t: &mut dyn FnMut(&str)) -> Result<LinkKind, SysError> {
        self.step()?;
        if !self.links.insert(ifname.to_string()) {
            return Err(SysError::new(2, "File exists"));
        }
        Ok(LinkKind::Kernel)
    }
    fn delete_link(&mut self, ifname: &str) -> Result<(), SysError> {
        if !self.links.contains(ifname) {
            return Err(SysError::new(1, format!("Cannot find device \"{ifname}\"")));
        }
        self.drop_link_state(ifname);
        Ok(())
    }
    fn set_device(&mut self, _ifname: &str, cfg: &DeviceConfig) -> Result<(), SysError> {
        self.step()?;
        self.device_sets += 1;
        let _ = cfg;
        Ok(())
    }
    fn set_fwmark(&mut self, ifname: &str, mark: u32) -> Result<(), SysError> {
        self.step()?;
        self.fwmark.retain(|(l, _)| l != ifname);
        self.fwmark.push((ifname.into(), mark));
        Ok(())
    }
    fn add_address(&mut self, ifname: &str, addr: IpNet) -> Result<(), SysError> {
        self.step()?;
        self.addresses.insert((ifname.into(), addr.to_string()));
        Ok(())
    }
    fn del_address(&mut self, ifname: &str, addr: IpNet) -> Result<(), SysError> {
        self.step()?;
        self.addresses.remove(&(ifname.into(), addr.to_string()));
        Ok(())
    }
    fn set_mtu_up(&mut self, ifname: &str, mtu: u32) -> Result<(), SysError> {
        self.set_mtu(ifname, mtu)?;
        self.up.insert(ifname.into());
        Ok(())
    }
    fn set_mtu(&mut self, ifname: &str, mtu: u32) -> Result<(), SysError> {
        self.step()?;
        self.mtu.retain(|(l, _)| l != ifname);
        self.mtu.push((ifname.into(), mtu));
        Ok(())
    }
    fn add_routes(&mut self, ifname: &str, routes: &[Route]) -> Result<(), (usize, SysError)> {
        for (i, r) in routes.iter().enumerate() {
            self.step().map_err(|e| (i, e))?;
            let key = (ifname.to_string(), r.net.to_string(), r.table.unwrap_or(254));
            if !self.routes.insert(key) {
                return Err((i, SysError::with_source(2, "File exists", std::io::Error::from_raw_os_error(libc::EEXIST))));
            }
        }
        Ok(())
    }
    fn put_back_routes(&mut self, ifname: &str, routes: &[Route]) -> Vec<SysError> {
        for r in routes {
            self.routes.insert((ifname.to_string(), r.net.to_string(), r.table.unwrap_or(254)));
        }
        Vec::new()
    }
    /// Deletes route by route, so an injected failure stops a batch half-way.
    fn del_routes(&mut self, ifname: &str, routes: &[Route]) -> Result<(), SysError> {
        for r in routes {
            self.step()?;
            self.routes.remove(&(ifname.to_string(), r.net.to_string(), r.table.unwrap_or(254)));
        }
        Ok(())
    }
    fn add_rule(&mut self, rule: &Rule) -> Result<Rule, SysError> {
        self.step()?;
        let v6 = rule.v6();
        // The kernel picks the priority just below the lowest non-zero one (32766 = main).
        let lowest = self.rules.iter().filter(|r| r.0 == v6).map(|r| r.1).min().unwrap_or(32766);
        let p = lowest - 1;
        self.rules.insert((v6, p, Self::rule_text(rule)));
        Ok(match rule.clone() {
            Rule::NotFwmark { v6, mark, table, .. } => Rule::NotFwmark { v6, mark, table, priority: Some(p) },
            Rule::SuppressMain { v6, .. } => Rule::SuppressMain { v6, priority: Some(p) },
        })
    }
    fn del_rule(&mut self, rule: &Rule) -> Result<(), SysError> {
        let v6 = rule.v6();
        let text = Self::rule_text(rule);
        let prio = match rule {
            Rule::NotFwmark { priority, .. } | Rule::SuppressMain { priority, .. } => *priority,
        };
        let found = self.rules.iter().find(|r| r.0 == v6 && r.2 == text && prio.is_none_or(|p| p == r.1)).cloned();
        match found {
            Some(r) => {
                self.rules.remove(&r);
                Ok(())
            }
            None => Err(SysError::new(2, "No such file or directory")),
        }
    }
    fn run_hook(&mut self, _ifname: &str, _phase: Phase, text: &str) -> Result<(), SysError> {
        self.step()?;
        self.hooks_run.push(text.to_string());
        Ok(())
    }
    fn set_dns(&mut self, name: &str, _input: &str) -> Result<(), SysError> {
        self.step()?;
        self.dns.insert(name.into());
        Ok(())
    }
    fn unset_dns(&mut self, name: &str) -> Result<(), SysError> {
        self.dns.remove(name);
        Ok(())
    }
    fn write_resolv_conf(&mut self, ifname: &str, _input: &str) -> Result<(), SysError> {
        self.step()?;
        self.dns.insert(format!("{}:{ifname}", crate::plan::RESOLV_CONF));
        Ok(())
    }
    fn restore_resolv_conf(&mut self, ifname: &str) -> Result<(), SysError> {
        self.dns.remove(&format!("{}:{ifname}", crate::plan::RESOLV_CONF));
        Ok(())
    }
    fn resolved(&mut self, ifname: &str, call: &crate::plan::dns::ResolvedCall) -> Result<(), SysError> {
        use crate::plan::dns::ResolvedCall;
        if *call == ResolvedCall::Revert {
            self.resolved.retain(|(l, _)| l != ifname);
            return Ok(());
        }
        self.step()?;
        let (verb, args) = call.verb_and_args();
        self.resolved.retain(|(l, w)| !(l == ifname && w.split(' ').next() == Some(verb)));
        self.resolved.insert((ifname.to_string(), format!("{verb} {}", args.join(" "))));
        Ok(())
    }
    fn set_firewall(&mut self, ifname: &str, v6: bool, _k: FirewallKind, _s: &str) -> Result<(), SysError> {
        self.step()?;
        self.firewall.insert(format!("{} wg-quick-{ifname}", if v6 { "ip6" } else { "ip" }));
        Ok(())
    }
    fn unset_firewall(&mut self, ifname: &str, families: &[bool], _k: FirewallKind) -> Result<(), SysError> {
        for v6 in families {
            self.firewall.remove(&format!("{} wg-quick-{ifname}", if *v6 { "ip6" } else { "ip" }));
        }
        Ok(())
    }
    fn remove_firewall(&mut self, nft: Option<&str>, _i4: Option<&str>, _i6: Option<&str>) -> Result<(), SysError> {
        if let Some(s) = nft {
            for l in s.lines() {
                if let Some(t) = l.strip_prefix("delete table ") {
                    self.firewall.remove(t);
                }
            }
        }
        Ok(())
    }
    fn set_kill_switch(&mut self, ifname: &str, kind: FirewallKind, v6: bool, _s: &str) -> Result<(), SysError> {
        self.step()?;
        let name = match kind {
            FirewallKind::Nft => format!("inet wgq-killswitch-{ifname}"),
            FirewallKind::Iptables => format!("{} chain wgq-ks-{ifname}", if v6 { "ip6tables" } else { "iptables" }),
        };
        self.firewall.insert(name);
        Ok(())
    }
    fn remove_kill_switch(&mut self, ifname: &str, _k: FirewallKind) -> Result<(), SysError> {
        self.firewall.retain(|f| {
            !f.ends_with(&format!(" wgq-killswitch-{ifname}"))
                && !f.ends_with(&format!(" wgq-ks-{ifname}"))
                && !f.starts_with(&format!("switch of {ifname} lets out "))
        });
        Ok(())
    }
    fn set_admitted(&mut self, switch_of: &str, _k: FirewallKind, tunnels: &[crate::plan::Admitted]) -> Result<(), SysError> {
        self.step()?;
        let head = format!("switch of {switch_of} lets out ");
        self.firewall.retain(|f| !f.starts_with(&head));
        for t in tunnels {
            self.firewall.insert(format!("{head}{}", t.ifname));
        }
        Ok(())
    }
    fn set_src_valid_mark(&mut self) -> Result<(), SysError> {
        self.step()?;
        self.src_valid_mark = true;
        Ok(())
    }
    fn save_config(&mut self, _ifname: &str) -> Result<(), SysError> {
        self.step()?;
        self.saved += 1;
        Ok(())
    }
    /// The device as the fake holds it: the file's peers (no hook adds any here), the
    /// fwmark set on the link, the main-table routes through it. Counts as a call, so
    /// failures can be injected here too.
    fn observe_after_pre_up(&mut self, cfg: &crate::config::Config, before: &UpFacts) -> Result<UpFacts, SysError> {
        self.step()?;
        let ifname = self.links.iter().next().cloned().unwrap_or_default();
        let allowed_ips = crate::plan::kernel_allowed_ips(cfg, crate::plan::own_public_key(cfg, before));
        let fwmark = self.fwmark.iter().find(|(l, _)| *l == ifname).map(|(_, m)| *m).unwrap_or(0);
        let device_routes = self
            .routes
            .iter()
            .filter(|(l, _, t)| *l == ifname && *t == 254)
            .filter_map(|(_, r, _)| IpNet::parse(r).ok())
            .collect();
        Ok(UpFacts { after_pre_up: Some(AfterPreUp { allowed_ips, fwmark, device_routes }), ..before.clone() })
    }

    fn pending_signal(&mut self) -> Option<i32> {
        if self.signalled {
            self.signalled = false;
            self.signal_after = None;
            return Some(15);
        }
        None
    }
}
