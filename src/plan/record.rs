//! What `up` records about the interface, and how `reload` changes it.

use std::fmt;

use crate::net::IpNet;

use super::*;

/// What `up` recorded about the interface (kept under /run/wgq/, see `runstate`), so that
/// `down` and `reload` remove exactly what belongs to it even after the file or the fwmark
/// changed, and leave alone what others (hooks, routing daemons, the admin) added.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpRecord {
    /// The table/fwmark used for default routes, if any.
    pub table: Option<u32>,
    /// The resolvconf name DNS was registered under, if any.
    pub dns_name: Option<String>,
    /// The exact text registered under `dns_name` (what `reload` compares and restores);
    /// with the resolved backend, the servers and search domains set on the link, in the
    /// same form.
    pub dns_input: Option<String>,
    /// Which tool carries the DNS (`dns_backend=resolved`; no line: resolvconf).
    pub dns_backend: crate::plan::dns::DnsBackend,
    /// Which firewall tool carries this interface's rules, if any.
    pub firewall: Option<FirewallKind>,
    /// The addresses wgq added (a configured link-local one included).
    pub addresses: Vec<IpNet>,
    /// The routes wgq added, with their table (`None` = main).
    pub routes: Vec<Route>,
    /// The host's name servers before `up` changed DNS (recorded only when it did):
    /// where `reresolve` sends its queries, outside the tunnel.
    pub resolvers: Vec<std::net::SocketAddr>,
    /// The kill switch `up` installed and the tool that holds it (`down` removes a normal
    /// one and leaves a strict one).
    pub kill_switch: Option<(KillSwitch, FirewallKind)>,
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
        match self.dns_backend {
            crate::plan::dns::DnsBackend::Resolved => s.push_str("dns_backend=resolved\n"),
            crate::plan::dns::DnsBackend::File => s.push_str("dns_backend=file\n"),
            crate::plan::dns::DnsBackend::Resolvconf => {}
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
        for a in &self.resolvers {
            // The address (port 53), with a link-local one's scope: `fe80::1%2`.
            match a {
                std::net::SocketAddr::V6(v6) if v6.scope_id() != 0 => {
                    let _ = writeln!(s, "resolver={}%{}", v6.ip(), v6.scope_id());
                }
                _ => {
                    let _ = writeln!(s, "resolver={}", a.ip());
                }
            }
        }
        if let Some((ks, kind)) = self.kill_switch {
            let mode = if ks.strict { "strict" } else { "normal" };
            let lan = if ks.allow_lan { " allow-lan" } else { "" };
            let tool = if kind == FirewallKind::Nft { "nft" } else { "iptables" };
            let _ = writeln!(s, "killswitch={mode}{lan} {tool}");
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
                "dns_backend" if v.trim() == "resolved" => r.dns_backend = crate::plan::dns::DnsBackend::Resolved,
                "dns_backend" if v.trim() == "file" => r.dns_backend = crate::plan::dns::DnsBackend::File,
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
                "resolver" => r.resolvers.extend(parse_resolver(v.trim())),
                "route" => {
                    let mut it = v.split_whitespace();
                    if let (Some(Ok(net)), Some(Ok(t))) = (it.next().map(IpNet::parse), it.next().map(str::parse::<u32>)) {
                        r.routes.push(route_in(net, t));
                    }
                }
                "killswitch" => r.kill_switch = parse_kill_switch(v),
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
        let mut search = Vec::new();
        for op in ops {
            match op {
                Op::AddRule(Rule::NotFwmark { table, .. }) => r.table = Some(*table),
                Op::SetDns { name, input } => {
                    r.dns_name = Some(name.clone());
                    r.dns_input = Some(input.clone());
                }
                Op::Resolved { call, .. } => resolved_into(&mut r, &mut search, call),
                Op::WriteResolvConf { input } => {
                    r.dns_backend = crate::plan::dns::DnsBackend::File;
                    r.dns_input = Some(input.clone());
                }
                Op::SetFirewall { kind, .. } => r.firewall = Some(*kind),
                Op::AddAddress(a) => r.addresses.push(*a),
                Op::AddRoutes(rs) => r.routes.extend(rs.iter().cloned()),
                Op::SetKillSwitch { kind, ks, .. } => r.kill_switch = Some((*ks, *kind)),
                _ => {}
            }
        }
        r
    }

    /// The record after a `reload` plan is applied: what it removed is no longer ours,
    /// what it added is.
    pub fn after_reload(&self, plan: &Plan) -> UpRecord {
        let mut r = self.clone();
        let mut search = Vec::new();
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
                Op::Resolved { call, .. } => resolved_into(&mut r, &mut search, call),
                Op::WriteResolvConf { input } => {
                    r.dns_backend = crate::plan::dns::DnsBackend::File;
                    r.dns_input = Some(input.clone());
                }
                Op::RestoreResolvConf => r.dns_input = None,
                _ => {}
            }
        }
        r
    }
}

/// `normal|strict [allow-lan] nft|iptables`.
fn parse_kill_switch(v: &str) -> Option<(KillSwitch, FirewallKind)> {
    let w: Vec<&str> = v.split_whitespace().collect();
    let strict = match *w.first()? {
        "normal" => false,
        "strict" => true,
        _ => return None,
    };
    let allow_lan = w.contains(&"allow-lan");
    let kind = if w.contains(&"iptables") { FirewallKind::Iptables } else { FirewallKind::Nft };
    Some((KillSwitch { strict, allow_lan }, kind))
}

/// What a resolved call leaves recorded: the servers and search domains (in resolvconf's
/// text form, the search domains of the `domain` call before it), or nothing after a revert.
fn resolved_into(r: &mut UpRecord, search: &mut Vec<String>, call: &crate::plan::dns::ResolvedCall) {
    use crate::plan::dns::{DnsBackend, ROUTE_ALL, ResolvedCall};
    r.dns_backend = DnsBackend::Resolved;
    r.dns_name = None;
    match call {
        ResolvedCall::Domains(d) => *search = d.iter().filter(|d| *d != ROUTE_ALL).cloned().collect(),
        ResolvedCall::Servers(s) => r.dns_input = Some(crate::plan::dns::resolvconf_input(s, search)),
        ResolvedCall::Revert => r.dns_input = None,
        ResolvedCall::DefaultRoute(_) => {}
    }
}

/// A route as `ip` would write it: table `t`, `main` left implicit.
/// A `resolver=` value: an address (port 53), with `%SCOPE` for a link-local one.
fn parse_resolver(v: &str) -> Option<std::net::SocketAddr> {
    match v.split_once('%') {
        Some((a, scope)) => {
            Some(std::net::SocketAddr::V6(std::net::SocketAddrV6::new(a.parse().ok()?, 53, 0, scope.parse().ok()?)))
        }
        None => Some(std::net::SocketAddr::new(v.parse().ok()?, 53)),
    }
}

fn route_in(net: IpNet, t: u32) -> Route {
    let table = (t != MAIN_TABLE).then_some(t);
    Route { net, table, table_text: table.map(|t| t.to_string()) }
}

/// What identifies a route for wgq: its prefix and table.
pub(super) fn route_key(r: &Route) -> (IpNet, u32) {
    (r.net, r.table.unwrap_or(MAIN_TABLE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_dns_backend_is_recorded_and_undone_by_down() {
        use crate::plan::dns::DnsBackend;
        let ops = [Op::WriteResolvConf { input: "nameserver 10.8.0.1\n".into() }];
        let r = UpRecord::from_ops(ops.iter());
        assert_eq!((r.dns_backend, r.dns_input.as_deref()), (DnsBackend::File, Some("nameserver 10.8.0.1\n")));
        let back = UpRecord::parse(&r.render());
        assert_eq!((back.dns_backend, back.dns_input.clone()), (DnsBackend::File, r.dns_input.clone()));
        // down of that record restores the file, whatever backend the system offers now.
        let cfg = crate::config::parse(b"[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n", std::path::Path::new("/x/wg0.conf")).unwrap();
        let facts = crate::plan::DownFacts { recorded: Some(back.clone()), ..Default::default() };
        let plan = crate::plan::plan_down(&cfg, "wg0", &facts);
        assert!(plan.ops.contains(&Op::RestoreResolvConf), "{plan}");
        assert!(!plan.ops.iter().any(|o| matches!(o, Op::UnsetDns { .. })), "{plan}");
        let vanished = crate::plan::plan_down_vanished("wg0", &facts);
        assert!(vanished.ops.contains(&Op::RestoreResolvConf), "{vanished}");
        assert_eq!(format!("{plan}").matches("[#] restore /etc/resolv.conf in place").count(), 1);
    }

    #[test]
    fn resolver_lines_of_older_and_newer_records() {
        // An older wgq wrote the address alone; a link-local server now keeps its scope.
        let r = UpRecord::parse("resolver=192.0.2.53\nresolver=2001:db8::53\nresolver=fe80::1%2\nresolver=bogus\n");
        let v6 = std::net::SocketAddr::V6(std::net::SocketAddrV6::new("fe80::1".parse().unwrap(), 53, 0, 2));
        assert_eq!(r.resolvers, ["192.0.2.53:53".parse().unwrap(), "[2001:db8::53]:53".parse().unwrap(), v6]);
        assert!(r.render().ends_with("resolver=192.0.2.53\nresolver=2001:db8::53\nresolver=fe80::1%2\n"), "{}", r.render());
    }

    #[test]
    fn kill_switch_line_round_trips() {
        for (ks, kind, line) in [
            (KillSwitch { strict: false, allow_lan: false }, FirewallKind::Nft, "killswitch=normal nft\n"),
            (KillSwitch { strict: true, allow_lan: true }, FirewallKind::Iptables, "killswitch=strict allow-lan iptables\n"),
        ] {
            let r = UpRecord { table: Some(51820), kill_switch: Some((ks, kind)), ..Default::default() };
            let text = r.render();
            assert!(text.ends_with(line), "{text}");
            assert_eq!(UpRecord::parse(&text), r);
        }
        assert_eq!(UpRecord::parse("killswitch=bogus nft\n").kill_switch, None);
        assert_eq!(UpRecord::parse("table=7\n").kill_switch, None);
    }
}
