//! Running `nft -f -` / `iptables-restore -n` with the texts of `plan::firewall`, and
//! reading what is installed (`iptables-save`, the nft tables).

/// A firewall tool failed.
#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error("{tool} failed with status {status}{}", if .stderr.is_empty() { String::new() } else { format!(": {}", .stderr.trim_end()) })]
    Failed { tool: String, status: i32, stderr: String },
    /// Not found, not runnable, or killed at its bound.
    #[error(transparent)]
    Run(#[from] crate::os::child::ChildError),
}

impl FirewallError {
    /// The exit status wg-quick would end with.
    pub fn status(&self) -> i32 {
        match self {
            FirewallError::Failed { status, .. } => *status,
            FirewallError::Run(e) => e.status(),
        }
    }
}

/// Runs a firewall tool (bounded, see `crate::os::child`) and returns its stdout.
fn run_tool(tool: &str, args: &[&str], input: Option<&str>) -> Result<String, FirewallError> {
    let mut h = crate::os::child::Helper::new(tool, args);
    if let Some(i) = input {
        h = h.input(i.as_bytes());
    }
    let out = h.run()?;
    if !out.status.success() {
        return Err(FirewallError::Failed {
            tool: tool.into(),
            status: out.status.code().unwrap_or(1),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `nft -f -` with `script` on stdin.
pub fn nft_apply(script: &str) -> Result<(), FirewallError> {
    forget_nft_tables();
    run_tool("nft", &["-f", "-"], Some(script)).map(|_| ())
}

/// `iptables-restore -n` / `ip6tables-restore -n` with `script` on stdin.
pub fn restore_apply(v6: bool, script: &str) -> Result<(), FirewallError> {
    forget_nft_tables();
    run_tool(if v6 { "ip6tables-restore" } else { "iptables-restore" }, &["-n"], Some(script)).map(|_| ())
}

/// The last listing of this namespace's nftables tables, until wgq changes the firewall:
/// the looks of one command at its switches and the other interfaces' share one listing
/// (and one netlink socket).
static NFT_TABLES: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Drops the listing [`nft_tables`] keeps (the next look lists again).
pub fn forget_nft_tables() {
    if let Ok(mut l) = NFT_TABLES.lock() {
        *l = None;
    }
}

/// This namespace's nftables tables as `nft list tables` prints them (over nfnetlink, else
/// by nft), listed once until wgq changes the firewall.
pub fn nft_tables() -> Option<String> {
    nft_tables_over_netlink().or_else(|| nft_list_tables_command().ok())
}

/// [`nft_tables`] over nfnetlink only (`None` when that failed).
pub fn nft_tables_over_netlink() -> Option<String> {
    let mut cached = NFT_TABLES.lock().ok()?;
    if cached.is_none() {
        *cached = crate::wire::nftables::list_tables().ok();
    }
    cached.clone()
}

/// Whether `nft` is in PATH (wg-quick's `type -p nft`).
pub fn nft_available() -> bool {
    which::which("nft").is_ok()
}

/// Whether `iptables` is in PATH.
pub fn iptables_available() -> bool {
    which::which("iptables").is_ok()
}

/// `nft list tables` run as a process: what `down` falls back to when listing the tables over
/// nfnetlink ([`crate::wire::nftables::list_tables`]) failed.
pub fn nft_list_tables_command() -> Result<String, FirewallError> {
    run_tool("nft", &["list", "tables"], None)
}

/// `iptables-save` / `ip6tables-save`.
pub fn iptables_save(v6: bool) -> Result<String, FirewallError> {
    run_tool(if v6 { "ip6tables-save" } else { "iptables-save" }, &[], None)
}

/// Whether `iptables-save` (`v6`: `ip6tables-save`) could show a rule of wg-quick's. Those rules
/// live only in the raw and mangle tables, so when `nft_tables` (this namespace's nftables
/// tables, where iptables-nft keeps its tables) and `legacy_names` (/proc/net/ip{,6}_tables_names,
/// the tables of legacy iptables) name neither, there is nothing to list.
pub fn iptables_may_hold_rules(v6: bool, nft_tables: &str, legacy_names: &str) -> bool {
    let family = if v6 { "ip6" } else { "ip" };
    let in_nft = nft_tables.lines().any(|l| {
        let mut w = l.split_whitespace();
        w.next() == Some("table") && w.next() == Some(family) && matches!(w.next(), Some("raw" | "mangle"))
    });
    in_nft || legacy_names.lines().any(|l| matches!(l.trim(), "raw" | "mangle"))
}

/// What `down` reads to remove wg-quick's iptables rules: `iptables-save` and `ip6tables-save`,
/// run side by side, each only when its family may hold such a rule (see
/// [`iptables_may_hold_rules`]; `nft_tables` is `None` when the tables could not be listed, and
/// then both run). A family with nothing to list, or whose listing fails, is `None`.
pub fn iptables_listings(nft_tables: Option<&str>) -> (Option<String>, Option<String>) {
    let needed = |v6: bool| match nft_tables {
        None => true,
        Some(t) => {
            let legacy = std::fs::read_to_string(if v6 { "/proc/net/ip6_tables_names" } else { "/proc/net/ip_tables_names" });
            iptables_may_hold_rules(v6, t, &legacy.unwrap_or_default())
        }
    };
    let save = |v6: bool| if needed(v6) { iptables_save(v6).ok() } else { None };
    std::thread::scope(|s| {
        let v6 = s.spawn(|| save(true));
        let v4 = save(false);
        (v4, v6.join().ok().flatten())
    })
}

/// `iptables-save -t filter` / `ip6tables-save -t filter`: where the kill switch chain lives.
fn iptables_save_filter(v6: bool) -> Result<String, FirewallError> {
    run_tool(if v6 { "ip6tables-save" } else { "iptables-save" }, &["-t", "filter"], None)
}

/// A kill switch of an interface in place, as one look at the firewall saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillSwitchSeen {
    pub kind: crate::plan::FirewallKind,
    /// iptables: whether OUTPUT jumps to its chain, per family (`[IPv4, IPv6]`).
    pub jumps: [bool; 2],
    /// iptables: the `iptables-save` / `ip6tables-save` texts it was seen in.
    saves: [Option<String>; 2],
}

impl KillSwitchSeen {
    /// The fwmark it lets out (see [`crate::plan::firewall::kill_switch_mark`]): nft's
    /// table listed (only now: the look that found it lists tables, not rules), or the
    /// iptables texts already read.
    pub fn mark(&self, ifname: &str) -> Option<u32> {
        match self.kind {
            crate::plan::FirewallKind::Nft => {
                let t = crate::plan::firewall::kill_switch_table(ifname);
                let l = run_tool("nft", &["list", "table", "inet", &t], None).ok()?;
                crate::plan::firewall::kill_switch_mark(ifname, &l)
            }
            crate::plan::FirewallKind::Iptables => {
                self.saves.iter().flatten().find_map(|l| crate::plan::firewall::kill_switch_mark(ifname, l))
            }
        }
    }
}

/// Where the kill switch of `ifname` is installed: an `inet` table of that name (listed over
/// nfnetlink, which needs no nft program), else its chain in iptables' filter table (both
/// families read once). With `iptables_too` false, iptables is asked only where nft is
/// missing (where `up` would have put one): no `iptables-save` on every `up`.
pub fn see_kill_switch(ifname: &str, iptables_too: bool) -> Option<KillSwitchSeen> {
    let table = format!("table inet {}", crate::plan::firewall::kill_switch_table(ifname));
    let listed = nft_tables();
    if listed.is_some_and(|l| l.lines().any(|l| l == table)) {
        return Some(KillSwitchSeen { kind: crate::plan::FirewallKind::Nft, jumps: [false; 2], saves: [None, None] });
    }
    if (!iptables_too && nft_available()) || !iptables_available() {
        return None;
    }
    let saves = [false, true].map(|v6| iptables_save_filter(v6).ok());
    if !saves.iter().flatten().any(|s| crate::plan::firewall::kill_switch_in_iptables(ifname, s)) {
        return None;
    }
    let jumps =
        [0, 1].map(|i| saves[i].as_deref().is_some_and(|s| crate::plan::firewall::kill_switch_jump_in_iptables(ifname, s)));
    Some(KillSwitchSeen { kind: crate::plan::FirewallKind::Iptables, jumps, saves })
}

/// Every tool that holds a kill switch of `ifname`: nftables (its table, listed over
/// nfnetlink or by nft) and iptables (its chain in either family), each looked at whatever
/// the other holds, so that a switch made where nft was missing and one made where it was
/// there are both found.
pub fn kill_switches_present(ifname: &str) -> Vec<crate::plan::FirewallKind> {
    let mut v = Vec::new();
    let table = format!("table inet {}", crate::plan::firewall::kill_switch_table(ifname));
    let listed = nft_tables();
    if listed.is_some_and(|l| l.lines().any(|l| l == table)) {
        v.push(crate::plan::FirewallKind::Nft);
    }
    if iptables_available()
        && [false, true]
            .into_iter()
            .filter_map(|v6| iptables_save_filter(v6).ok())
            .any(|s| crate::plan::firewall::kill_switch_in_iptables(ifname, &s))
    {
        v.push(crate::plan::FirewallKind::Iptables);
    }
    v
}

/// [`see_kill_switch`]'s answer: which tool holds the switch, if any.
pub fn kill_switch_present(ifname: &str, iptables_too: bool) -> Option<crate::plan::FirewallKind> {
    see_kill_switch(ifname, iptables_too).map(|s| s.kind)
}

/// Removes the kill switch of `ifname` from nftables (one transaction) or from both
/// iptables families; one that is not there is no error.
pub fn remove_kill_switch(ifname: &str, kind: crate::plan::FirewallKind) -> Result<(), FirewallError> {
    match kind {
        crate::plan::FirewallKind::Nft => nft_apply(&crate::plan::firewall::kill_switch_nft_remove(ifname)),
        crate::plan::FirewallKind::Iptables => {
            let mut first = Ok(());
            for v6 in [false, true] {
                let r = iptables_save_filter(v6).and_then(|save| {
                    match crate::plan::firewall::kill_switch_iptables_remove(ifname, &save) {
                        Some(text) => restore_apply(v6, &text),
                        None => Ok(()),
                    }
                });
                if first.is_ok() {
                    first = r;
                }
            }
            first
        }
    }
}

/// Makes the kill switch of `switch_of` let out exactly `tunnels` (one nft transaction, or
/// each iptables family that holds its chain).
pub fn set_admitted(
    switch_of: &str,
    kind: crate::plan::FirewallKind,
    tunnels: &[crate::plan::Admitted],
) -> Result<(), FirewallError> {
    match kind {
        crate::plan::FirewallKind::Nft => nft_apply(&crate::plan::firewall::admitted_nft_script(switch_of, tunnels)),
        crate::plan::FirewallKind::Iptables => {
            let mut first = Ok(());
            for v6 in [false, true] {
                let r = iptables_save_filter(v6).and_then(|save| {
                    match crate::plan::firewall::admitted_iptables_script(switch_of, tunnels, &save) {
                        Some(text) => restore_apply(v6, &text),
                        None => Ok(()),
                    }
                });
                if first.is_ok() {
                    first = r;
                }
            }
            first
        }
    }
}

/// The kill switches of interfaces other than `ifname` in place in this namespace, by
/// interface name: nft's tables, and where nft is missing (where `up` makes them in
/// iptables) iptables' chains.
pub fn other_kill_switches(ifname: &str) -> Vec<(String, crate::plan::FirewallKind)> {
    let prefix = format!("table inet {}", crate::plan::firewall::kill_switch_table(""));
    let listed = nft_tables();
    let mut v: Vec<(String, crate::plan::FirewallKind)> = listed
        .iter()
        .flat_map(|l| l.lines())
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter(|n| *n != ifname && crate::config::locate::is_interface_name(n))
        .map(|n| (n.to_string(), crate::plan::FirewallKind::Nft))
        .collect();
    // iptables is read where nft is missing (where `up` makes its switches there), and
    // where nft is there only if a filter table that could hold one exists (iptables-nft
    // keeps it among nft's tables, legacy iptables in /proc): no iptables-save on every up.
    let filter = |v6: bool| {
        let family = if v6 { "table ip6 filter" } else { "table ip filter" };
        let legacy = std::fs::read_to_string(if v6 { "/proc/net/ip6_tables_names" } else { "/proc/net/ip_tables_names" });
        listed.as_deref().is_some_and(|l| l.lines().any(|l| l == family))
            || legacy.is_ok_and(|n| n.lines().any(|l| l.trim() == "filter"))
    };
    if iptables_available() && (!nft_available() || filter(false) || filter(true)) {
        let head = format!(":{}", crate::plan::firewall::kill_switch_chain(""));
        for save in [false, true].map(|v6| iptables_save_filter(v6).ok()).into_iter().flatten() {
            for n in save.lines().filter_map(|l| l.strip_prefix(&head)?.split_whitespace().next()) {
                let entry = (n.to_string(), crate::plan::FirewallKind::Iptables);
                if n != ifname && crate::config::locate::is_interface_name(n) && !v.contains(&entry) {
                    v.push(entry);
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iptables_listing_only_where_raw_or_mangle_exists() {
        let nft = "table inet filter\ntable ip nat\ntable ip6 mangle\ntable bridge raw\n";
        assert!(!iptables_may_hold_rules(false, nft, ""));
        assert!(iptables_may_hold_rules(true, nft, ""));
        assert!(iptables_may_hold_rules(false, "table ip raw\n", ""));
        assert!(!iptables_may_hold_rules(false, "table ip rawx\ntable ip6 raw\n", "filter\nnat\n"));
        assert!(iptables_may_hold_rules(false, "", "filter\nmangle\n"));
        assert!(iptables_may_hold_rules(true, "", "raw\n"));
        assert!(!iptables_may_hold_rules(true, "", ""));
    }
}
