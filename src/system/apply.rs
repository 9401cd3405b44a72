//! Carrying out the executor's operations on Linux (the [`System`] trait).

use super::{LinuxSystem, rt_err};
use crate::config::Config;
use crate::device::{self, DeviceConfig};
use crate::net::IpNet;
use crate::plan::exec::{LinkKind, SysError, System};
use crate::plan::{FirewallKind, Phase, Route, Rule, UpFacts};
use crate::wire::rtnl;

/// Routes built and sent per chunk (each chunk goes out in a few `sendmsg` calls).
const ROUTE_CHUNK: usize = 1024;

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
                // A link of that name made meanwhile by someone else is not ours to delete.
                let taken = self.link_index(ifname).ok().flatten().is_some();
                if let Err(e) = device::uapi::spawn(&program, ifname) {
                    // The program may have made its tun device before failing: it is ours.
                    if !taken && self.link_index(ifname).ok().flatten().is_some() {
                        let _ = device::kernel::delete_link(&mut self.rt, ifname);
                    }
                    return Err(SysError::with_source(e.status(), e.to_string(), e));
                }
                LinkKind::Userspace(program)
            }
        };
        self.created = self.index().ok();
        Ok(kind)
    }

    fn delete_link(&mut self, ifname: &str) -> Result<(), SysError> {
        let userspace = device::backend_of(ifname) == device::Backend::Userspace;
        // The link this run created goes by its index: if it was replaced meanwhile by
        // another of the same name, that one stays.
        let r = match self.created.take() {
            Some(i) => device::kernel::delete_link_index(&mut self.rt, i),
            None => device::kernel::delete_link(&mut self.rt, ifname),
        };
        self.ifindex = None;
        if userspace && r.is_ok() {
            // As with a kernel link: once `down` returns, the interface is gone. The
            // userspace implementation exits when its tun goes, a moment later; until then
            // `wg show` still reaches it and a new one for the same name cannot bind its
            // socket (`wg-quick down wg0; wg-quick up wg0`).
            device::uapi::wait_gone(ifname, std::time::Duration::from_secs(2));
        }
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

    fn set_mtu(&mut self, _ifname: &str, mtu: u32) -> Result<(), SysError> {
        let i = self.index()?;
        self.rt.request(rtnl::set_mtu(i, mtu)).map_err(|e| rt_err(format!("RTNETLINK answers: {e}"), e))
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
            let msgs = chunk.iter().map(|r| rtnl::add_route(i, r.net, r.table)).collect();
            let results = self.rt.batch(msgs).map_err(|e| (base, rt_err(format!("RTNETLINK answers: {e}"), e)))?;
            if let Some(n) = results.iter().position(Result::is_err) {
                let later: Vec<_> = chunk[n + 1..]
                    .iter()
                    .zip(&results[n + 1..])
                    .filter(|(_, r)| r.is_ok())
                    .map(|(r, _)| rtnl::del_route(i, r.net, r.table))
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

    /// One batch per chunk, every result judged alone (no take-back, no resending).
    fn put_back_routes(&mut self, _ifname: &str, routes: &[Route]) -> Vec<SysError> {
        let i = match self.index() {
            Ok(i) => i,
            Err(e) => return vec![e],
        };
        let mut errors = Vec::new();
        for chunk in routes.chunks(ROUTE_CHUNK) {
            let msgs = chunk.iter().map(|r| rtnl::add_route(i, r.net, r.table)).collect();
            match self.rt.batch(msgs) {
                Ok(results) => {
                    for (r, res) in chunk.iter().zip(results) {
                        if let Err(e) = res
                            && e.raw_os_error() != Some(libc::EEXIST)
                        {
                            errors.push(rt_err(format!("RTNETLINK answers: {e} (route {})", r.net), e));
                        }
                    }
                }
                Err(e) => errors.push(rt_err(format!("RTNETLINK answers: {e}"), e)),
            }
        }
        errors
    }

    /// Deletes every route it can (a chunk at a time) and reports the first refusal.
    fn del_routes(&mut self, _ifname: &str, routes: &[Route]) -> Result<(), SysError> {
        let i = self.index()?;
        let mut first = None;
        for chunk in routes.chunks(ROUTE_CHUNK) {
            let msgs = chunk.iter().map(|r| rtnl::del_route(i, r.net, r.table)).collect();
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

    fn write_resolv_conf(&mut self, ifname: &str, input: &str) -> Result<(), SysError> {
        crate::system::dns::write_resolv_conf(ifname, input).map_err(|e| SysError::with_source(1, e.to_string(), e))
    }

    fn restore_resolv_conf(&mut self, ifname: &str) -> Result<(), SysError> {
        crate::system::dns::restore_resolv_conf(ifname).map_err(|e| SysError::with_source(1, e.to_string(), e))
    }

    fn resolved(&mut self, ifname: &str, call: &crate::plan::dns::ResolvedCall) -> Result<(), SysError> {
        crate::system::dns::resolvectl(ifname, call).map_err(|e| SysError::with_source(e.status(), e.to_string(), e))
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
                Ok(save) => match crate::plan::firewall::iptables_down_script(ifname, &save) {
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

    fn set_kill_switch(&mut self, ifname: &str, kind: FirewallKind, v6: bool, script: &str) -> Result<(), SysError> {
        self.set_firewall(ifname, v6, kind, script)
    }

    fn remove_kill_switch(&mut self, ifname: &str, kind: FirewallKind) -> Result<(), SysError> {
        crate::system::firewall::remove_kill_switch(ifname, kind).map_err(|e| SysError::with_source(e.status(), e.to_string(), e))
    }

    fn set_admitted(&mut self, switch_of: &str, kind: FirewallKind, tunnels: &[crate::plan::Admitted]) -> Result<(), SysError> {
        // A tunnel planned without its port (the kernel picks it): the device's now.
        let tunnels: Vec<crate::plan::Admitted> = tunnels
            .iter()
            .map(|t| match t.port {
                Some(_) => t.clone(),
                None => crate::plan::Admitted {
                    port: self.devices.get(&t.ifname).ok().map(|d| d.listen_port).filter(|p| *p != 0),
                    ..t.clone()
                },
            })
            .collect();
        crate::system::firewall::set_admitted(switch_of, kind, &tunnels)
            .map_err(|e| SysError::with_source(e.status(), e.to_string(), e))
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
