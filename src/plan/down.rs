//! Planning `down` (reference §4), removing only this interface's rules.

use crate::config::{Config, TableSetting};

use super::*;

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
    /// The DNS backend detected now: used only without a record (an interface wg-quick
    /// brought up, or a lost record); with one, the recorded backend is used.
    pub dns_backend: crate::plan::dns::DnsBackend,
    /// `down --kill-switch=off`: remove the kill switch, strict or not (not observed).
    pub kill_switch_off: bool,
    /// Where a kill switch of this interface is installed now (observed for
    /// `--kill-switch=off`): nftables, iptables, or both (one made where nft was missing,
    /// one where it was there).
    pub kill_switch_present: Vec<FirewallKind>,
    /// Tables (fwmarks) the records of the other running interfaces hold: a vanished
    /// interface's rules of such a table are another tunnel's now and stay.
    pub tables_of_others: Vec<u32>,
    /// The kill switches of other interfaces in place: `down` takes this tunnel out of
    /// what each lets out.
    pub other_switches: Vec<(String, FirewallKind)>,
    /// The host's other wgq tunnels running now (see `UpFacts::other_tunnels`).
    pub other_tunnels: Vec<Admitted>,
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
    use crate::plan::dns::DnsBackend;
    let (backend, dns_name) = match &facts.recorded {
        Some(r) if r.dns_backend == DnsBackend::Resolved => (DnsBackend::Resolved, r.dns_input.as_ref().map(|_| String::new())),
        Some(r) if r.dns_backend == DnsBackend::File => (DnsBackend::File, r.dns_input.as_ref().map(|_| String::new())),
        Some(r) => (DnsBackend::Resolvconf, r.dns_name.clone()),
        None => (facts.dns_backend, (!i.dns.is_empty()).then(|| facts.resolvconf_name.clone())),
    };
    // resolved's settings go before the link (resolvectl names it; resolved would also drop
    // them with the link); resolvconf's registration after it, as wg-quick does.
    if backend == DnsBackend::Resolved && dns_name.is_some() {
        ops.push(Op::Resolved { call: crate::plan::dns::ResolvedCall::Revert, restore: Vec::new() });
    }
    ops.push(Op::DelLink);
    match (backend, dns_name) {
        (DnsBackend::Resolvconf, Some(name)) => ops.push(Op::UnsetDns { name }),
        (DnsBackend::File, Some(_)) => ops.push(Op::RestoreResolvConf),
        _ => {}
    }
    ops.extend(firewall_removal(ifname, facts));
    // Last of the firewall: the link is gone by now, nothing can leave through a gap. A
    // strict kill switch stays unless `--kill-switch=off` says otherwise.
    kill_switch_removal(&mut ops, facts);
    ops.extend(release_ops(ifname, facts));
    hooks(&mut ops, &i.post_down, Phase::PostDown, ifname);
    Plan { interface: ifname.to_string(), ops }
}

/// The removal of wg-quick's firewall rules of `ifname` (nft tables, iptables and
/// ip6tables rules) that `facts` found, if any.
fn firewall_removal(ifname: &str, facts: &DownFacts) -> Option<Op> {
    let nft = facts.nft_tables.as_deref().and_then(|l| crate::plan::firewall::nft_down_script(ifname, l));
    let iptables = facts.iptables_save.as_deref().and_then(|l| crate::plan::firewall::iptables_down_script(ifname, l));
    let ip6tables = facts.ip6tables_save.as_deref().and_then(|l| crate::plan::firewall::iptables_down_script(ifname, l));
    (nft.is_some() || iptables.is_some() || ip6tables.is_some()).then_some(Op::RemoveFirewall { nft, iptables, ip6tables })
}

/// The kill switches `down` removes: the one `up` recorded unless it is strict; with
/// `--kill-switch=off`, every one in place, whichever tool holds it.
fn kill_switch_removal(ops: &mut Vec<Op>, facts: &DownFacts) {
    let recorded = facts.recorded.as_ref().and_then(|r| r.kill_switch).filter(|(ks, _)| !ks.strict).map(|(_, kind)| kind);
    let mut kinds: Vec<FirewallKind> = if facts.kill_switch_off { facts.kill_switch_present.clone() } else { Vec::new() };
    if let Some(k) = recorded
        && !kinds.contains(&k)
    {
        kinds.push(k);
    }
    kinds.sort_by_key(|k| *k != FirewallKind::Nft);
    ops.extend(kinds.into_iter().map(|kind| Op::RemoveKillSwitch { kind }));
}

/// `down` of an interface whose device is gone (its userspace daemon crashed, its link was
/// deleted) or of which only a kill switch is left: what outlives the link is removed
/// (the policy rules of its recorded table, unless a running tunnel's record holds that
/// table now; wg-quick's firewall rules of the interface; a resolvconf registration; the
/// kill switch, under the same rules as `down`). Its routes and addresses, and
/// systemd-resolved's settings of the link, went with the link. No hook runs and nothing
/// is saved: there is no device for them.
pub fn plan_down_vanished(ifname: &str, facts: &DownFacts) -> Plan {
    let mut ops = Vec::new();
    if let Some(r) = &facts.recorded {
        if let Some(t) = r.table.filter(|t| !facts.tables_of_others.contains(t)) {
            for v6 in [false, true] {
                ops.extend(rules_to_delete(&facts.rules, v6, t).into_iter().map(Op::DelRule));
            }
        }
        if r.dns_backend == crate::plan::dns::DnsBackend::Resolvconf
            && let Some(name) = &r.dns_name
        {
            ops.push(Op::UnsetDns { name: name.clone() });
        }
        if r.dns_backend == crate::plan::dns::DnsBackend::File && r.dns_input.is_some() {
            ops.push(Op::RestoreResolvConf);
        }
    }
    ops.extend(firewall_removal(ifname, facts));
    kill_switch_removal(&mut ops, facts);
    ops.extend(release_ops(ifname, facts));
    Plan { interface: ifname.to_string(), ops }
}

/// The other interfaces' kill switches stop letting this tunnel out (they let out the
/// other tunnels still running, nothing else).
fn release_ops(ifname: &str, facts: &DownFacts) -> Vec<Op> {
    let me = Admitted { ifname: ifname.to_string(), mark: None, port: None };
    super::up::admit_ops(ifname, &facts.other_switches, &facts.other_tunnels, None, Some(me))
}

/// What `down` says before it applies [`plan_down_vanished`]'s plan: what it found and
/// what it removes, in words (`None` when there is no record: only a kill switch was
/// found, and its removal's trace says it).
pub fn vanished_summary(ifname: &str, facts: &DownFacts, plan: &Plan) -> Option<String> {
    let r = facts.recorded.as_ref()?;
    let mut found = Vec::new();
    let rules = plan.ops.iter().filter(|o| matches!(o, Op::DelRule(_))).count();
    if let Some(t) = r.table {
        if rules > 0 {
            found.push(format!("{rules} policy rule(s) of table {t}"));
        } else if facts.tables_of_others.contains(&t) {
            found.push(format!("no rule of table {t} (another tunnel uses that table now)"));
        }
    }
    for op in &plan.ops {
        match op {
            Op::UnsetDns { name } => found.push(format!("DNS registered as {name}")),
            Op::RestoreResolvConf => found.push(format!("DNS written into {}", crate::plan::RESOLV_CONF)),
            Op::RemoveFirewall { .. } => found.push("its firewall rules".to_string()),
            Op::RemoveKillSwitch { kind } => {
                found.push(format!("its kill switch ({})", if *kind == FirewallKind::Nft { "nft" } else { "iptables" }))
            }
            _ => {}
        }
    }
    if found.is_empty() {
        found.push("nothing is left".to_string());
    }
    let mut s = format!("{ifname} is gone; removing what up recorded: {}", found.join(", "));
    if let Some((ks, _)) = r.kill_switch
        && ks.strict
        && !facts.kill_switch_off
    {
        s.push_str("; its strict kill switch stays");
    }
    Some(s)
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
