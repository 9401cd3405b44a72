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

/// The kill switch of one interface (`wgq up --kill-switch`): what it lets out besides the
/// tunnel interface itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KillSwitch {
    pub strict: bool,
    /// `--allow-lan`: the private and link-local ranges too.
    pub allow_lan: bool,
}

/// Another wgq tunnel of the host, as a kill switch lets it out: its device, and its
/// encrypted packets by their fwmark (if it has one) and by its listen port (`None`: the
/// device's, read when the switch is changed).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Admitted {
    pub ifname: String,
    pub mark: Option<u32>,
    pub port: Option<u16>,
}

/// The comment that marks the iptables rules letting `ifname` out of a kill switch.
fn admitted_comment(ifname: &str) -> String {
    format!("-m comment --comment \"wgq tunnel {ifname}\"")
}

/// The iptables rules (without `-A <chain>`) that let these tunnels out.
fn admitted_iptables_rules(tunnels: &[Admitted]) -> Vec<String> {
    let mut v = Vec::new();
    for t in tunnels {
        let c = admitted_comment(&t.ifname);
        // `+` ends a wildcard for iptables (`-o wg+` is every name starting with wg): such
        // a device is let out by its packets' mark and port only.
        if !t.ifname.contains(['+', '=']) {
            v.push(format!("-o {} {c} -j RETURN", t.ifname));
        }
        if let Some(m) = t.mark.filter(|m| *m != 0) {
            v.push(format!("-m mark --mark {m} {c} -j RETURN"));
        }
        if let Some(p) = t.port {
            v.push(format!("-p udp --sport {p} {c} -j RETURN"));
        }
    }
    v
}

/// The nft lines that make the admitted sets of a kill switch table hold `tunnels`
/// (creating the sets is a no-op where they are; flushing them makes the load a
/// replacement).
fn admitted_nft_lines(s: &mut String, t: &str, tunnels: &[Admitted]) {
    let sets = [("tunnels", "ifname"), ("marks", "mark"), ("ports", "inet_service")];
    for (name, ty) in sets {
        let _ = writeln!(s, "add set {t} {name} {{ type {ty}; }}");
    }
    for (name, _) in sets {
        let _ = writeln!(s, "flush set {t} {name}");
    }
    let join = |v: Vec<String>| v.join(", ");
    let names = join(tunnels.iter().map(|a| format!("\"{}\"", a.ifname)).collect());
    let marks = join(tunnels.iter().filter_map(|a| a.mark.filter(|m| *m != 0)).map(|m| m.to_string()).collect());
    let ports = join(tunnels.iter().filter_map(|a| a.port).map(|p| p.to_string()).collect());
    for (name, elems) in [("tunnels", names), ("marks", marks), ("ports", ports)] {
        if !elems.is_empty() {
            let _ = writeln!(s, "add element {t} {name} {{ {elems} }}");
        }
    }
}

/// The nft script that makes the kill switch of `switch_of` let exactly `tunnels` out
/// (the host's other wgq tunnels, see [`kill_switch_nft_script`]).
pub fn admitted_nft_script(switch_of: &str, tunnels: &[Admitted]) -> String {
    let mut s = String::new();
    admitted_nft_lines(&mut s, &format!("inet {}", kill_switch_table(switch_of)), tunnels);
    s
}

/// The iptables-restore text that makes the kill switch chain of `switch_of` let exactly
/// `tunnels` out: the admitting rules in `save` (`iptables-save -t filter`) deleted, the new
/// ones inserted at its top. `None` when the chain is not in `save`.
pub fn admitted_iptables_script(switch_of: &str, tunnels: &[Admitted], save: &str) -> Option<String> {
    if !kill_switch_in_iptables(switch_of, save) {
        return None;
    }
    let c = kill_switch_chain(switch_of);
    let head = format!("-A {c} ");
    let mut s = String::from("*filter\n");
    for l in save.lines() {
        if let Some(rest) = l.strip_prefix(&head)
            && rest.contains("--comment \"wgq tunnel ")
        {
            let _ = writeln!(s, "-D {c} {rest}");
        }
    }
    for r in admitted_iptables_rules(tunnels) {
        let _ = writeln!(s, "-I {c} 1 {r}");
    }
    s.push_str("COMMIT\n");
    Some(s)
}

/// The nftables table of the kill switch of `ifname` (family `inet`, both IP versions).
pub fn kill_switch_table(ifname: &str) -> String {
    format!("wgq-killswitch-{ifname}")
}

/// The iptables chain of the kill switch of `ifname` (filter table, both iptables and
/// ip6tables): shorter than the nft table, since chain names have at most 28 characters.
pub fn kill_switch_chain(ifname: &str) -> String {
    format!("wgq-ks-{ifname}")
}

/// The private and link-local ranges `--allow-lan` lets out, IPv4 then IPv6.
pub const LAN_V4: &str = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16";
pub const LAN_V6: &str = "fc00::/7, fe80::/10";

/// The kill switch as one nft script (one transaction): the table is created, deleted and
/// made anew, so loading it again replaces it whole. Output is accepted through the tunnel
/// interface and loopback, with the tunnel's `mark` (its own encrypted UDP), to local
/// destinations, DHCPv4/DHCPv6 client traffic, IPv6 router and neighbour discovery, and with
/// `allow_lan` the private ranges; everything else is rejected (TCP with a reset, the rest
/// with ICMP administratively prohibited), so programs fail at once instead of hanging.
/// The host's other wgq tunnels (`others`) are let out too, through three sets (their
/// devices, fwmarks and listen ports) that their `up` and `down` change.
pub fn kill_switch_nft_script(ifname: &str, mark: u32, ks: KillSwitch, others: &[Admitted]) -> String {
    let t = format!("inet {}", kill_switch_table(ifname));
    let mut s = String::new();
    let _ = writeln!(s, "add table {t}");
    let _ = writeln!(s, "delete table {t}");
    let _ = writeln!(s, "add table {t}");
    admitted_nft_lines(&mut s, &t, others);
    let _ = writeln!(s, "add chain {t} output {{ type filter hook output priority filter; policy accept; }}");
    let mut rule = |r: &str| {
        let _ = writeln!(s, "add rule {t} output {r}");
    };
    rule("oifname \"lo\" accept");
    rule(&format!("oifname \"{ifname}\" accept"));
    rule(&format!("meta mark {mark} accept"));
    rule("oifname @tunnels accept");
    rule("meta mark @marks accept");
    rule("udp sport @ports accept");
    rule("fib daddr type local accept");
    rule("meta nfproto ipv4 udp sport 68 udp dport 67 accept");
    rule("meta nfproto ipv6 udp sport 546 udp dport 547 accept");
    rule("icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept");
    if ks.allow_lan {
        rule(&format!("ip daddr {{ {LAN_V4} }} accept"));
        rule(&format!("ip6 daddr {{ {LAN_V6} }} accept"));
    }
    rule("meta l4proto tcp reject with tcp reset");
    rule("reject with icmpx type admin-prohibited");
    s
}

/// The nft script that removes the kill switch of `ifname` if it is there (creating the
/// table first makes the delete succeed either way).
pub fn kill_switch_nft_remove(ifname: &str) -> String {
    let t = kill_switch_table(ifname);
    format!("add table inet {t}\ndelete table inet {t}\n")
}

/// The jump from OUTPUT into the kill switch chain (its comment finds it again).
fn kill_switch_jump(ifname: &str) -> String {
    format!("-m comment --comment \"wgq kill switch for {ifname}\" -j {}", kill_switch_chain(ifname))
}

/// The kill switch as an iptables-restore (`v6`: ip6tables-restore) text, the same policy as
/// [`kill_switch_nft_script`]. Declaring the chain empties it, so loading the text again
/// replaces the rules; the jump from OUTPUT is added only when `jump_present` is false.
/// The host's other wgq tunnels (`others`) are let out by rules carrying the comment `wgq
/// tunnel <if>`, which their `up` and `down` change.
pub fn kill_switch_iptables_script(
    ifname: &str,
    v6: bool,
    mark: u32,
    ks: KillSwitch,
    jump_present: bool,
    others: &[Admitted],
) -> String {
    let c = kill_switch_chain(ifname);
    let mut s = format!("*filter\n:{c} - [0:0]\n");
    let mut rule = |r: &str| {
        let _ = writeln!(s, "-A {c} {r}");
    };
    rule("-o lo -j RETURN");
    rule(&format!("-o {ifname} -j RETURN"));
    rule(&format!("-m mark --mark {mark} -j RETURN"));
    for r in admitted_iptables_rules(others) {
        rule(&r);
    }
    rule("-m addrtype --dst-type LOCAL -j RETURN");
    if v6 {
        rule("-p udp --sport 546 --dport 547 -j RETURN");
        for t in 133..=136 {
            rule(&format!("-p ipv6-icmp --icmpv6-type {t} -j RETURN"));
        }
    } else {
        rule("-p udp --sport 68 --dport 67 -j RETURN");
    }
    if ks.allow_lan {
        for n in (if v6 { LAN_V6 } else { LAN_V4 }).split(", ") {
            rule(&format!("-d {n} -j RETURN"));
        }
    }
    rule("-p tcp -j REJECT --reject-with tcp-reset");
    rule(if v6 { "-j REJECT --reject-with icmp6-adm-prohibited" } else { "-j REJECT --reject-with icmp-admin-prohibited" });
    if !jump_present {
        let _ = writeln!(s, "-I OUTPUT {}", kill_switch_jump(ifname));
    }
    s.push_str("COMMIT\n");
    s
}

/// The fwmark a kill switch lets out, read from `nft list table inet wgq-killswitch-<if>`
/// (`meta mark 0x0000ca6c accept`) or `iptables-save -t filter` (`-A wgq-ks-<if> -m mark
/// --mark 0xca6c -j RETURN`) output: what a lookup must mark its packets with to get past a
/// strict kill switch while the tunnel is down.
pub fn kill_switch_mark(ifname: &str, listing: &str) -> Option<u32> {
    let chain = format!("-A {} ", kill_switch_chain(ifname));
    let hex = |v: &str| match v.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h.split('/').next()?, 16).ok(),
        None => v.parse().ok(),
    };
    listing.lines().find_map(|l| {
        let l = l.trim();
        if let Some(rest) = l.strip_prefix("meta mark ")
            && l.ends_with(" accept")
        {
            return hex(rest.split_whitespace().next()?);
        }
        let rest = l.strip_prefix(&chain)?;
        if rest.contains("--comment \"wgq tunnel ") {
            return None;
        }
        let w: Vec<&str> = rest.split_whitespace().collect();
        let at = w.iter().position(|x| *x == "--mark")?;
        hex(w.get(at + 1)?)
    })
}

/// Whether `iptables-save` output has OUTPUT jumping to the kill switch chain of `ifname`.
pub fn kill_switch_jump_in_iptables(ifname: &str, save: &str) -> bool {
    let target = format!(" -j {}", kill_switch_chain(ifname));
    save.lines().any(|l| l.starts_with("-A OUTPUT ") && l.trim_end().ends_with(&target))
}

/// Whether `iptables-save` output holds the kill switch chain of `ifname`.
pub fn kill_switch_in_iptables(ifname: &str, save: &str) -> bool {
    let head = format!(":{} ", kill_switch_chain(ifname));
    save.lines().any(|l| l.starts_with(&head))
}

/// The iptables-restore text that removes the kill switch of `ifname` from `iptables-save`
/// output (every jump to its chain, then the chain), or `None` when it is not there.
pub fn kill_switch_iptables_remove(ifname: &str, save: &str) -> Option<String> {
    if !kill_switch_in_iptables(ifname, save) {
        return None;
    }
    let c = kill_switch_chain(ifname);
    let target = format!(" -j {c}");
    let mut s = String::from("*filter\n");
    for l in save.lines() {
        if let Some(rest) = l.strip_prefix("-A ")
            && rest.ends_with(&target)
            && !rest.starts_with(&format!("{c} "))
        {
            let _ = writeln!(s, "-D {rest}");
        }
    }
    let _ = writeln!(s, "-F {c}\n-X {c}\nCOMMIT");
    Some(s)
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

    #[test]
    fn kill_switch_nft_text_is_exact() {
        let ks = KillSwitch { strict: false, allow_lan: false };
        let t = "inet wgq-killswitch-wg0";
        let want = format!(
            "add table {t}\ndelete table {t}\nadd table {t}\n\
             add set {t} tunnels {{ type ifname; }}\n\
             add set {t} marks {{ type mark; }}\n\
             add set {t} ports {{ type inet_service; }}\n\
             flush set {t} tunnels\nflush set {t} marks\nflush set {t} ports\n\
             add chain {t} output {{ type filter hook output priority filter; policy accept; }}\n\
             add rule {t} output oifname \"lo\" accept\n\
             add rule {t} output oifname \"wg0\" accept\n\
             add rule {t} output meta mark 51820 accept\n\
             add rule {t} output oifname @tunnels accept\n\
             add rule {t} output meta mark @marks accept\n\
             add rule {t} output udp sport @ports accept\n\
             add rule {t} output fib daddr type local accept\n\
             add rule {t} output meta nfproto ipv4 udp sport 68 udp dport 67 accept\n\
             add rule {t} output meta nfproto ipv6 udp sport 546 udp dport 547 accept\n\
             add rule {t} output icmpv6 type {{ nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert }} accept\n\
             add rule {t} output meta l4proto tcp reject with tcp reset\n\
             add rule {t} output reject with icmpx type admin-prohibited\n"
        );
        assert_eq!(kill_switch_nft_script("wg0", 51820, ks, &[]), want);
        let lan = kill_switch_nft_script("wg0", 51820, KillSwitch { strict: true, allow_lan: true }, &[]);
        assert!(lan.contains(&format!(
            "add rule {t} output ip daddr {{ 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16 }} accept\n\
             add rule {t} output ip6 daddr {{ fc00::/7, fe80::/10 }} accept\n\
             add rule {t} output meta l4proto tcp reject"
        )));
        assert_eq!(kill_switch_nft_remove("wg0"), format!("add table {t}\ndelete table {t}\n"));
    }

    #[test]
    fn kill_switch_iptables_text_is_exact_and_removable() {
        let ks = KillSwitch { strict: false, allow_lan: true };
        let v4 = kill_switch_iptables_script("wg0", false, 51820, ks, false, &[]);
        assert_eq!(
            v4,
            "*filter\n:wgq-ks-wg0 - [0:0]\n\
             -A wgq-ks-wg0 -o lo -j RETURN\n\
             -A wgq-ks-wg0 -o wg0 -j RETURN\n\
             -A wgq-ks-wg0 -m mark --mark 51820 -j RETURN\n\
             -A wgq-ks-wg0 -m addrtype --dst-type LOCAL -j RETURN\n\
             -A wgq-ks-wg0 -p udp --sport 68 --dport 67 -j RETURN\n\
             -A wgq-ks-wg0 -d 10.0.0.0/8 -j RETURN\n\
             -A wgq-ks-wg0 -d 172.16.0.0/12 -j RETURN\n\
             -A wgq-ks-wg0 -d 192.168.0.0/16 -j RETURN\n\
             -A wgq-ks-wg0 -d 169.254.0.0/16 -j RETURN\n\
             -A wgq-ks-wg0 -p tcp -j REJECT --reject-with tcp-reset\n\
             -A wgq-ks-wg0 -j REJECT --reject-with icmp-admin-prohibited\n\
             -I OUTPUT -m comment --comment \"wgq kill switch for wg0\" -j wgq-ks-wg0\n\
             COMMIT\n"
        );
        let v6 = kill_switch_iptables_script("wg0", true, 7, KillSwitch { strict: true, allow_lan: false }, true, &[]);
        assert!(v6.contains("-A wgq-ks-wg0 -p ipv6-icmp --icmpv6-type 133 -j RETURN\n"), "{v6}");
        assert!(v6.contains("-A wgq-ks-wg0 -p ipv6-icmp --icmpv6-type 136 -j RETURN\n"), "{v6}");
        assert!(v6.contains("-p udp --sport 546 --dport 547") && !v6.contains("--dport 67"), "{v6}");
        assert!(v6.contains("icmp6-adm-prohibited") && !v6.contains("-I OUTPUT") && !v6.contains("fc00"), "{v6}");
        // What iptables-save prints after loading it, with another interface's switch.
        let save = "# Generated\n*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:wgq-ks-wg0 - [0:0]\n:wgq-ks-wg1 - [0:0]\n\
                    -A OUTPUT -m comment --comment \"wgq kill switch for wg1\" -j wgq-ks-wg1\n\
                    -A OUTPUT -m comment --comment \"wgq kill switch for wg0\" -j wgq-ks-wg0\n\
                    -A wgq-ks-wg0 -o lo -j RETURN\n-A wgq-ks-wg0 -j REJECT --reject-with icmp-admin-prohibited\nCOMMIT\n";
        assert!(kill_switch_in_iptables("wg0", save) && !kill_switch_in_iptables("wg", save));
        assert_eq!(
            kill_switch_iptables_remove("wg0", save).unwrap(),
            "*filter\n-D OUTPUT -m comment --comment \"wgq kill switch for wg0\" -j wgq-ks-wg0\n-F wgq-ks-wg0\n-X wgq-ks-wg0\nCOMMIT\n"
        );
        assert_eq!(kill_switch_iptables_remove("wg2", save), None);
    }

    #[test]
    fn other_tunnels_are_let_out_and_replaced_exactly() {
        let others = [
            Admitted { ifname: "wg1".into(), mark: Some(51821), port: Some(51000) },
            Admitted { ifname: "wg2".into(), mark: None, port: None },
            Admitted { ifname: "wg3".into(), mark: Some(0), port: Some(7) },
        ];
        let t = "inet wgq-killswitch-wg0";
        let nft = kill_switch_nft_script("wg0", 51820, KillSwitch { strict: false, allow_lan: false }, &others);
        assert!(
            nft.contains(&format!(
                "add element {t} tunnels {{ \"wg1\", \"wg2\", \"wg3\" }}\n\
                 add element {t} marks {{ 51821 }}\nadd element {t} ports {{ 51000, 7 }}\nadd chain"
            )),
            "{nft}"
        );
        assert_eq!(
            admitted_nft_script("wg0", &others[1..2]),
            format!(
                "add set {t} tunnels {{ type ifname; }}\nadd set {t} marks {{ type mark; }}\nadd set {t} ports {{ type inet_service; }}\n\
                 flush set {t} tunnels\nflush set {t} marks\nflush set {t} ports\nadd element {t} tunnels {{ \"wg2\" }}\n"
            )
        );
        let ipt =
            kill_switch_iptables_script("wg0", false, 51820, KillSwitch { strict: false, allow_lan: false }, false, &others[..1]);
        assert!(
            ipt.contains(
                "-A wgq-ks-wg0 -m mark --mark 51820 -j RETURN\n\
                 -A wgq-ks-wg0 -o wg1 -m comment --comment \"wgq tunnel wg1\" -j RETURN\n\
                 -A wgq-ks-wg0 -m mark --mark 51821 -m comment --comment \"wgq tunnel wg1\" -j RETURN\n\
                 -A wgq-ks-wg0 -p udp --sport 51000 -m comment --comment \"wgq tunnel wg1\" -j RETURN\n"
            ),
            "{ipt}"
        );
        // What iptables-save prints of it: those rules go, the new ones come, nothing else moves.
        let save = "*filter\n:wgq-ks-wg0 - [0:0]\n-A wgq-ks-wg0 -o lo -j RETURN\n\
                    -A wgq-ks-wg0 -o wg1 -m comment --comment \"wgq tunnel wg1\" -j RETURN\n\
                    -A wgq-ks-wg0 -p udp -m udp --sport 51000 -m comment --comment \"wgq tunnel wg1\" -j RETURN\n\
                    -A wgq-ks-wg0 -j REJECT --reject-with icmp-admin-prohibited\nCOMMIT\n";
        assert_eq!(
            admitted_iptables_script("wg0", &others[1..2], save).unwrap(),
            "*filter\n-D wgq-ks-wg0 -o wg1 -m comment --comment \"wgq tunnel wg1\" -j RETURN\n\
             -D wgq-ks-wg0 -p udp -m udp --sport 51000 -m comment --comment \"wgq tunnel wg1\" -j RETURN\n\
             -I wgq-ks-wg0 1 -o wg2 -m comment --comment \"wgq tunnel wg2\" -j RETURN\nCOMMIT\n"
        );
        assert_eq!(admitted_iptables_script("wg9", &others, save), None);
        // A name iptables would take for a wildcard never becomes an `-o`.
        let wild = [Admitted { ifname: "wg+".into(), mark: Some(9), port: None }];
        let t = admitted_iptables_script("wg0", &wild, save).unwrap();
        assert!(!t.contains("-o wg+") && t.contains("-I wgq-ks-wg0 1 -m mark --mark 9 -m comment"), "{t}");
    }

    #[test]
    fn kill_switch_jumps_are_read_back_from_iptables_save() {
        let save = "*filter\n:OUTPUT ACCEPT [0:0]\n:wgq-ks-wg0 - [0:0]\n\
                    -A OUTPUT -m comment --comment \"wgq kill switch for wg0\" -j wgq-ks-wg0\n\
                    -A wgq-ks-wg0 -o lo -j RETURN\nCOMMIT\n";
        assert!(kill_switch_jump_in_iptables("wg0", save));
        assert!(!kill_switch_jump_in_iptables("wg1", save));
        assert!(!kill_switch_jump_in_iptables("wg0", "*filter\n:wgq-ks-wg0 - [0:0]\n-A wgq-ks-wg0 -o lo -j RETURN\nCOMMIT\n"));
    }

    #[test]
    fn kill_switch_mark_is_read_back_from_either_listing() {
        let nft = "table inet wgq-killswitch-wg0 {\n\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n\
                   \t\toifname \"lo\" accept\n\t\toifname \"wg0\" accept\n\t\tmeta mark 0x0000ca6c accept\n\t}\n}\n";
        assert_eq!(kill_switch_mark("wg0", nft), Some(51820));
        let save = "*filter\n:wgq-ks-wg1 - [0:0]\n:wgq-ks-wg0 - [0:0]\n-A wgq-ks-wg1 -m mark --mark 0x1 -j RETURN\n\
                    -A wgq-ks-wg0 -o wg0 -j RETURN\n-A wgq-ks-wg0 -m mark --mark 0xca6d -j RETURN\nCOMMIT\n";
        assert_eq!(kill_switch_mark("wg0", save), Some(51821));
        assert_eq!(kill_switch_mark("wg2", save), None);
        // What the scripts of this module load comes back as their mark.
        let ks = KillSwitch { strict: true, allow_lan: false };
        assert_eq!(kill_switch_mark("wg0", &kill_switch_iptables_script("wg0", false, 4660, ks, false, &[])), Some(4660));
    }
}
