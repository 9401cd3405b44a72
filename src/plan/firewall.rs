//! The firewall rules wg-quick installs for a default route (reference §3.10 step 3 and
//! §4.5): the exact nft and iptables-restore texts, and the texts that remove them.

use std::fmt::Write as _;
use std::net::IpAddr;

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
