//! The firewall rules wg-quick installs for a default route (reference §3.10 step 3 and
//! §4.5): the exact nft and iptables-restore texts, and running `nft -f -` /
//! `iptables-restore -n` with them on stdin.

use std::fmt::Write as _;
use std::net::IpAddr;

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

fn pf(v6: bool) -> &'static str {
    if v6 { "ip6" } else { "ip" }
}

/// The nft script of one family, byte for byte as wg-quick writes it (note the trailing
/// space of the last two lines).
pub fn nft_up_script(ifname: &str, v6: bool, addrs: &[IpAddr], mark: u32) -> String {
    let (pf, t) = (pf(v6), format!("wg-quick-{ifname}"));
    let mut s = String::new();
    let _ = writeln!(s, "add table {pf} {t}");
    let _ = writeln!(s, "add chain {pf} {t} preraw {{ type filter hook prerouting priority -300; }}");
    let _ = writeln!(s, "add chain {pf} {t} premangle {{ type filter hook prerouting priority -150; }}");
    let _ = writeln!(s, "add chain {pf} {t} postmangle {{ type filter hook postrouting priority -150; }}");
    for a in addrs {
        let _ = writeln!(s, "add rule {pf} {t} preraw iifname != \"{ifname}\" {pf} daddr {a} fib saddr type != local drop");
    }
    let _ = writeln!(s, "add rule {pf} {t} postmangle meta l4proto udp mark {mark} ct mark set mark ");
    let _ = writeln!(s, "add rule {pf} {t} premangle meta l4proto udp meta mark set ct mark ");
    s
}

/// The iptables-restore text of one family (used when nft is missing).
pub fn iptables_up_script(ifname: &str, _v6: bool, addrs: &[IpAddr], mark: u32) -> String {
    let marker = format!("-m comment --comment \"wg-quick(8) rule for {ifname}\"");
    let mut s = String::from("*raw\n");
    for a in addrs {
        let _ = writeln!(s, "-I PREROUTING ! -i {ifname} -d {a} -m addrtype ! --src-type LOCAL -j DROP {marker}");
    }
    s.push_str("COMMIT\n*mangle\n");
    let _ = writeln!(s, "-I POSTROUTING -m mark --mark {mark} -p udp -j CONNMARK --save-mark {marker}");
    let _ = writeln!(s, "-I PREROUTING -p udp -j CONNMARK --restore-mark {marker}");
    s.push_str("COMMIT\n");
    s
}

/// `delete table <family> wg-quick-<if>` for every such table in `nft list tables` output.
pub fn nft_down_script(ifname: &str, listing: &str) -> Option<String> {
    let suffix = format!(" wg-quick-{ifname}");
    let s: String = listing
        .lines()
        .filter(|l| l.ends_with(&suffix))
        .filter_map(|l| l.strip_prefix("table "))
        .map(|t| format!("delete table {t}\n"))
        .collect();
    (!s.is_empty()).then_some(s)
}

/// The restore text that deletes this interface's commented rules from `iptables-save`
/// output: table headers and COMMIT kept, matching `-A` lines turned into `-D`.
pub fn iptables_down_script(ifname: &str, save: &str) -> Option<String> {
    let marker = format!("-m comment --comment \"wg-quick(8) rule for {ifname}\"");
    let mut s = String::new();
    let mut found = false;
    for l in save.lines() {
        if l.starts_with('*') || l == "COMMIT" {
            s.push_str(l);
            s.push('\n');
        } else if let Some(rest) = l.strip_prefix("-A ")
            && l.contains(&marker)
        {
            let _ = writeln!(s, "-D {rest}");
            found = true;
        }
    }
    found.then_some(s)
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
    run_tool("nft", &["-f", "-"], Some(script)).map(|_| ())
}

/// `iptables-restore -n` / `ip6tables-restore -n` with `script` on stdin.
pub fn restore_apply(v6: bool, script: &str) -> Result<(), FirewallError> {
    run_tool(if v6 { "ip6tables-restore" } else { "iptables-restore" }, &["-n"], Some(script)).map(|_| ())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nft_text_is_exact() {
        let a: Vec<IpAddr> = vec!["10.8.0.2".parse().unwrap(), "10.9.0.2".parse().unwrap()];
        assert_eq!(
            nft_up_script("wg0", false, &a, 51820),
            "add table ip wg-quick-wg0\n\
             add chain ip wg-quick-wg0 preraw { type filter hook prerouting priority -300; }\n\
             add chain ip wg-quick-wg0 premangle { type filter hook prerouting priority -150; }\n\
             add chain ip wg-quick-wg0 postmangle { type filter hook postrouting priority -150; }\n\
             add rule ip wg-quick-wg0 preraw iifname != \"wg0\" ip daddr 10.8.0.2 fib saddr type != local drop\n\
             add rule ip wg-quick-wg0 preraw iifname != \"wg0\" ip daddr 10.9.0.2 fib saddr type != local drop\n\
             add rule ip wg-quick-wg0 postmangle meta l4proto udp mark 51820 ct mark set mark \n\
             add rule ip wg-quick-wg0 premangle meta l4proto udp meta mark set ct mark \n"
        );
        let v6 = nft_up_script("wg0", true, &["fd00::2".parse().unwrap()], 7);
        assert!(
            v6.contains("add rule ip6 wg-quick-wg0 preraw iifname != \"wg0\" ip6 daddr fd00::2 fib saddr type != local drop\n")
        );
    }

    #[test]
    fn iptables_text_is_exact() {
        let a: Vec<IpAddr> = vec!["10.8.0.2".parse().unwrap()];
        assert_eq!(
            iptables_up_script("wg0", false, &a, 51820),
            "*raw\n\
             -I PREROUTING ! -i wg0 -d 10.8.0.2 -m addrtype ! --src-type LOCAL -j DROP -m comment --comment \"wg-quick(8) rule for wg0\"\n\
             COMMIT\n*mangle\n\
             -I POSTROUTING -m mark --mark 51820 -p udp -j CONNMARK --save-mark -m comment --comment \"wg-quick(8) rule for wg0\"\n\
             -I PREROUTING -p udp -j CONNMARK --restore-mark -m comment --comment \"wg-quick(8) rule for wg0\"\n\
             COMMIT\n"
        );
    }

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

    #[test]
    fn removal_touches_only_this_interface() {
        let l = "table ip filter\ntable ip wg-quick-wg0\ntable ip6 wg-quick-wg0\ntable ip wg-quick-awg0\n";
        assert_eq!(nft_down_script("wg0", l).unwrap(), "delete table ip wg-quick-wg0\ndelete table ip6 wg-quick-wg0\n");
        assert_eq!(nft_down_script("wg1", l), None);
        let save = "# Generated\n*raw\n:PREROUTING ACCEPT [0:0]\n\
                    -A PREROUTING -d 10.8.0.2/32 ! -i wg0 -m addrtype ! --src-type LOCAL -m comment --comment \"wg-quick(8) rule for wg0\" -j DROP\n\
                    -A PREROUTING -d 10.9.0.2/32 ! -i wg1 -m addrtype ! --src-type LOCAL -m comment --comment \"wg-quick(8) rule for wg1\" -j DROP\n\
                    COMMIT\n*filter\nCOMMIT\n";
        assert_eq!(
            iptables_down_script("wg0", save).unwrap(),
            "*raw\n-D PREROUTING -d 10.8.0.2/32 ! -i wg0 -m addrtype ! --src-type LOCAL -m comment --comment \"wg-quick(8) rule for wg0\" -j DROP\nCOMMIT\n*filter\nCOMMIT\n"
        );
        assert_eq!(iptables_down_script("wg2", save), None);
    }
}
