//! Issue 14 in network namespaces (root, wireguard-go): wgq removes only what it added.
//! Routes that hooks or routing daemons put on the interface survive reload and down; a
//! configured IPv6 link-local address reloads and saves; a reload that fails half-way
//! (a taken ListenPort) leaves the device exactly as before; DNS is reloaded from the text
//! `up` registered and restored exactly on failure; a full tunnel's FwMark or Table is not
//! switched half-way.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const WGQ: &str = env!("CARGO_BIN_EXE_wgq");
const K: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const P: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
const P2: &str = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
const P3: &str = "z1GGEIw88r60VSHGMpoZMekzTmgVjLElMRN5sKYhSWo=";

/// A throwaway namespace with an uplink, a fake resolvconf (recording to files in `dir`)
/// and unique interface names.
struct Ns {
    netns: common::Netns,
    dir: tempfile::TempDir,
    id: String,
}

impl Ns {
    fn new(tag: &str, resolvconf_lists: bool) -> Ns {
        let id = common::pid_tag();
        let ns = Ns { netns: common::Netns::new(format!("wgqown-{id}-{tag}")), dir: tempfile::tempdir().unwrap(), id };
        ns.ok("ip -n NS link set lo up && ip -n NS link add v0 type veth peer name v1 && \
             ip -n NS addr add 192.0.2.1/24 dev v0 && ip -n NS link set v0 up && ip -n NS link set v1 up && \
             ip -n NS route add default via 192.0.2.2");
        let bin = ns.dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        // `-l` answers only when `resolvconf_lists` (systemd-resolved's resolvconf cannot).
        let list = if resolvconf_lists { "cat {d}/dns.$2 2>/dev/null" } else { "exit 99" };
        let script = format!(
            "#!/bin/bash\necho \"resolvconf $*\" >>{{d}}/resolvconf.log\ncase \"$1\" in -a) cat >{{d}}/dns.$2;; \
             -d) rm -f {{d}}/dns.$2;; -l) {list};; esac\n"
        )
        .replace("{d}", &ns.dir.path().display().to_string());
        let rc = bin.join("resolvconf");
        std::fs::write(&rc, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o755)).unwrap();
        ns
    }

    fn ifname(&self, tag: &str) -> String {
        format!("wo{}{tag}", self.id)
    }

    fn sh(&self, c: &str) -> Output {
        Command::new("bash").arg("-c").arg(c.replace("NS", self.netns.name())).output().unwrap()
    }

    fn ok(&self, c: &str) {
        let o = self.sh(c);
        assert!(o.status.success(), "{c}: {}", String::from_utf8_lossy(&o.stderr));
    }

    fn out(&self, c: &str) -> String {
        String::from_utf8_lossy(&self.sh(c).stdout).into_owned()
    }

    fn conf(&self, ifname: &str, body: &str) -> PathBuf {
        common::write_conf(self.dir.path(), ifname, body)
    }

    fn wgq(&self, args: &[&str], conf: &Path) -> Output {
        let path = format!("{}:{}", self.dir.path().join("bin").display(), std::env::var("PATH").unwrap());
        Command::new("ip")
            .args(["netns", "exec", self.netns.name(), "env", &format!("PATH={path}"), WGQ])
            .args(args)
            .arg(conf)
            .output()
            .unwrap()
    }

    fn wgq_ok(&self, args: &[&str], conf: &Path) -> String {
        let o = self.wgq(args, conf);
        assert!(o.status.success(), "wgq {args:?}: {}", text(&o));
        text(&o)
    }

    /// Routes, addresses, rules and the device, sorted (link-local addresses included).
    fn state(&self, ifname: &str) -> String {
        let mut v: Vec<String> = self
            .out(&format!(
                "ip -n NS -o addr show dev {ifname} | sed -E 's/^[0-9]+: //; s/\\\\ +valid_lft.*//'; \
                 ip -n NS -4 route show table all; ip -n NS -6 route show table all | grep -v fe80; ip -n NS -4 rule; \
                 ip -n NS -6 rule; ip netns exec NS nft list ruleset; ip -n NS -o link show {ifname} | grep -o 'mtu [0-9]*'"
            ))
            .lines()
            .map(String::from)
            .collect();
        v.push(self.showconf(ifname));
        v.sort();
        v.join("\n")
    }

    /// `wg showconf`, peers sorted (wireguard-go lists them in map order).
    fn showconf(&self, ifname: &str) -> String {
        let t = self.out(&format!("ip netns exec NS wg showconf {ifname}"));
        // Each peer's block trimmed: the last one printed has no blank line after it, and
        // which peer that is depends on the map order.
        let mut parts: Vec<&str> = t.split("[Peer]").map(str::trim).collect();
        let head = parts.remove(0);
        parts.sort();
        parts.iter().fold(format!("{head}\n"), |acc, p| format!("{acc}\n[Peer]\n{p}\n"))
    }
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

#[test]
fn routes_that_hooks_and_daemons_added_survive_reload_and_down() {
    if !common::ready(&["wireguard-go"]) {
        return;
    }
    for table in ["off", "auto"] {
        let ns = Ns::new(&format!("rt{}", &table[..1]), true);
        let ifn = ns.ifname(&table[..1]);
        // A self-managed route (Table = off's usual recipe), a daemon's (protocol bird) and
        // a gateway route with a metric: none of them is wgq's.
        let hooks = "PostUp = ip route add 203.0.113.0/25 dev %i\n\
                     PostUp = ip route add 198.51.100.0/25 dev %i proto bird\n\
                     PostUp = ip route add 198.51.100.128/25 via 10.3.0.9 dev %i metric 7\n";
        let body = |extra: &str| {
            format!(
                "[Interface]\nPrivateKey = {K}\nAddress = 10.3.0.1/24\nTable = {table}\n{hooks}[Peer]\nPublicKey = {P}\n\
                 AllowedIPs = 10.3.0.2/32, 10.4.0.0/16\n{extra}"
            )
        };
        let conf = ns.conf(&ifn, &body(""));
        ns.wgq_ok(&["up"], &conf);
        let theirs = |ns: &Ns| -> Vec<String> {
            ns.out(&format!("ip -n NS -4 route show dev {ifn}"))
                .lines()
                .filter(|l| l.starts_with("203.0.113.0/25") || l.starts_with("198.51.100."))
                .map(String::from)
                .collect()
        };
        let before = theirs(&ns);
        assert_eq!(before.len(), 3, "Table = {table}: the hooks' routes: {before:?}");
        let plan = ns.wgq_ok(&["reload", "--dry-run"], &conf);
        assert!(!plan.contains("route del"), "Table = {table}: reload plans to delete routes it never added:\n{plan}");
        // A real change: a new peer (its route is wgq's, with Table = auto).
        ns.conf(&ifn, &body(&format!("[Peer]\nPublicKey = {P2}\nAllowedIPs = 10.5.0.0/16\n")));
        ns.wgq_ok(&["reload"], &conf);
        assert_eq!(theirs(&ns), before, "Table = {table}: reload changed routes others added");
        if table == "auto" {
            assert!(ns.out(&format!("ip -n NS route show dev {ifn}")).contains("10.5.0.0/16"), "no route for the new peer");
        }
        // Back to the first file: wgq's route for the removed peer goes, the others stay.
        ns.conf(&ifn, &body(""));
        ns.wgq_ok(&["reload"], &conf);
        assert_eq!(theirs(&ns), before, "Table = {table}: the second reload changed routes others added");
        assert!(!ns.out(&format!("ip -n NS route show dev {ifn}")).contains("10.5.0.0/16"), "wgq's route stayed");
        ns.wgq_ok(&["down"], &conf);
    }
}

#[test]
fn a_configured_link_local_address_reloads_and_saves() {
    if !common::ready(&["wireguard-go"]) {
        return;
    }
    let ns = Ns::new("ll", true);
    let ifn = ns.ifname("l");
    let body = |addr: &str| format!("[Interface]\nPrivateKey = {K}\nListenPort = 51911\nAddress = 10.3.2.1/24{addr}\n");
    let conf = ns.conf(&ifn, &body(", fe80::1/64"));
    ns.wgq_ok(&["up"], &conf);
    let plan = ns.wgq_ok(&["reload", "--dry-run"], &conf);
    assert!(!plan.contains("[#]"), "a reload with nothing to do plans:\n{plan}");
    ns.wgq_ok(&["reload"], &conf);
    ns.wgq_ok(&["save"], &conf);
    let saved = std::fs::read_to_string(&conf).unwrap();
    assert!(saved.contains("Address = fe80::1/64"), "save dropped the configured link-local address:\n{saved}");
    // The kernel's (here the tun device's) own link-local address is not wgq's: not saved,
    // and a reload that drops fe80::1 removes only that one.
    let auto: Vec<String> = ns
        .out(&format!("ip -n NS -6 -o addr show dev {ifn} scope link"))
        .split_whitespace()
        .filter(|w| w.starts_with("fe80:") && *w != "fe80::1/64")
        .map(String::from)
        .collect();
    for a in &auto {
        assert!(!saved.contains(a.as_str()), "save wrote the automatic {a}");
    }
    ns.conf(&ifn, &body(""));
    ns.wgq_ok(&["reload"], &conf);
    let now = ns.out(&format!("ip -n NS -6 -o addr show dev {ifn}"));
    assert!(!now.contains("fe80::1/64"), "reload kept the removed fe80::1:\n{now}");
    for a in &auto {
        assert!(now.contains(a.as_str()), "reload removed the automatic {a}:\n{now}");
    }
    ns.wgq_ok(&["down"], &conf);
}

#[test]
fn a_reload_with_a_taken_listen_port_leaves_the_device_exactly_as_before() {
    if !common::ready(&["wireguard-go", "python3"]) {
        return;
    }
    let ns = Ns::new("port", true);
    let ifn = ns.ifname("p");
    let conf = ns.conf(
        &ifn,
        &format!(
            "[Interface]\nPrivateKey = {K}\nListenPort = 51912\nAddress = 10.3.3.1/24\n[Peer]\nPublicKey = {P}\n\
             AllowedIPs = 10.6.0.0/16\nPersistentKeepalive = 25\nEndpoint = 192.0.2.7:51820\n[Peer]\nPublicKey = {P2}\n\
             AllowedIPs = 10.7.0.0/16\n"
        ),
    );
    ns.wgq_ok(&["up"], &conf);
    let before = ns.state(&ifn);
    // Something else holds the new port.
    let mut holder = Command::new("ip")
        .args(["netns", "exec", ns.netns.name(), "python3", "-c"])
        // One dual-stack socket: the port is taken for IPv4 and IPv6 alike.
        .arg("import socket,time\ns=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\ns.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)\ns.bind(('::', 51913))\nprint('bound', flush=True)\ntime.sleep(60)\n")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(holder.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "bound");
    // The new file changes the port, a peer's keepalive and allowed IPs, drops a peer and adds one.
    ns.conf(
        &ifn,
        &format!(
            "[Interface]\nPrivateKey = {K}\nListenPort = 51913\nAddress = 10.3.3.1/24\n[Peer]\nPublicKey = {P}\n\
             AllowedIPs = 10.6.0.0/16, 10.8.0.0/16\nEndpoint = 192.0.2.7:51820\n[Peer]\nPublicKey = {P3}\nAllowedIPs = 10.9.0.0/16\n"
        ),
    );
    let o = ns.wgq(&["reload"], &conf);
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(!o.status.success(), "reload onto a taken port succeeded:\n{}", text(&o));
    assert_eq!(ns.state(&ifn), before, "the failed reload left a changed device or system:\n{}", text(&o));
    ns.wgq_ok(&["down"], &conf);
}

#[test]
fn dns_reload_follows_the_text_up_registered_and_restores_it_exactly() {
    if !common::ready(&["wireguard-go"]) {
        return;
    }
    // resolvconf cannot list (as systemd-resolved's): wgq must rely on its record.
    let ns = Ns::new("dns", false);
    let ifn = ns.ifname("d");
    let body = |dns: &str, extra: &str| {
        format!(
            "[Interface]\nPrivateKey = {K}\nAddress = 10.3.4.1/24\nDNS = {dns}\n[Peer]\nPublicKey = {P}\nAllowedIPs = 10.3.5.0/24{extra}\n"
        )
    };
    let conf = ns.conf(&ifn, &body("10.3.4.53, corp.example", ""));
    ns.wgq_ok(&["up"], &conf);
    let registered = || std::fs::read_to_string(ns.dir.path().join(format!("dns.{ifn}"))).unwrap_or_default();
    assert_eq!(registered(), "nameserver 10.3.4.53\nsearch corp.example\n");
    // Only the search domain changes: reloaded.
    ns.conf(&ifn, &body("10.3.4.53, lab.example", ""));
    let out = ns.wgq_ok(&["reload"], &conf);
    assert!(out.contains("resolvconf -a"), "a changed search domain was not reloaded:\n{out}");
    assert_eq!(registered(), "nameserver 10.3.4.53\nsearch lab.example\n");
    // A reload that fails after the DNS step (a route that collides) puts back exactly the
    // text that was registered, never deletes it.
    ns.ok("ip -n NS route add 10.3.6.0/24 dev v1");
    ns.conf(&ifn, &body("10.3.4.54", ", 10.3.6.0/24"));
    let o = ns.wgq(&["reload"], &conf);
    assert!(!o.status.success(), "the colliding reload succeeded:\n{}", text(&o));
    assert_eq!(registered(), "nameserver 10.3.4.53\nsearch lab.example\n", "{}", text(&o));
    let log = std::fs::read_to_string(ns.dir.path().join("resolvconf.log")).unwrap();
    assert!(!log.contains("-d"), "a reload deleted the tunnel's DNS:\n{log}");
    ns.conf(&ifn, &body("10.3.4.53, lab.example", ""));
    ns.wgq_ok(&["down"], &conf);
    assert_eq!(registered(), "", "down left the DNS registered");
}

#[test]
fn a_full_tunnels_fwmark_or_table_is_not_switched_half_way() {
    if !common::ready(&["wireguard-go", "nft"]) {
        return;
    }
    let ns = Ns::new("ft", true);
    let ifn = ns.ifname("f");
    let body = |extra: &str| {
        format!(
            "[Interface]\nPrivateKey = {K}\nAddress = 10.3.7.2/32\n{extra}[Peer]\nPublicKey = {P}\nAllowedIPs = 0.0.0.0/0\n\
             Endpoint = 192.0.2.9:51820\n"
        )
    };
    let conf = ns.conf(&ifn, &body(""));
    ns.wgq_ok(&["up"], &conf);
    let before = ns.state(&ifn);
    for (extra, what) in [("FwMark = 0x1234\n", "FwMark"), ("Table = 1234\n", "Table"), ("Table = off\n", "Table")] {
        ns.conf(&ifn, &body(extra));
        let o = ns.wgq(&["reload"], &conf);
        assert!(!o.status.success(), "{extra}: reload switched a running full tunnel");
        assert!(text(&o).contains(what) && text(&o).contains("wgq down"), "{}", text(&o));
        assert_eq!(ns.state(&ifn), before, "{extra}: the refused reload changed something");
    }
    ns.conf(&ifn, &body(""));
    ns.wgq_ok(&["down"], &conf);
}

/// Review findings: without a record (an interface wg-quick brought up), reload infers only
/// the routes wg-quick adds — in the file's table — and a route of the same prefix that is
/// not of wgq's shape (a hook's with its own metric, a daemon's) is never deleted.
#[test]
fn reload_never_takes_routes_of_the_same_prefix_or_another_table() {
    if !common::ready(&["wireguard-go"]) {
        return;
    }
    // 1. No record, Table = off, a hook's route for an allowed IP: nothing to delete.
    let ns = Ns::new("inf", true);
    let ifn = ns.ifname("i");
    let conf = ns.conf(
        &ifn,
        &format!(
            "[Interface]\nPrivateKey = {K}\nAddress = 10.3.8.1/24\nTable = off\nPostUp = ip route add 10.4.0.0/16 dev %i\n\
             [Peer]\nPublicKey = {P}\nAllowedIPs = 10.4.0.0/16\n"
        ),
    );
    ns.wgq_ok(&["up"], &conf);
    let gone = ns.out(&format!("ls /run/wgq/ns-*/{ifn}.state 2>/dev/null | xargs -r rm -v"));
    assert!(gone.contains(".state"), "no record to remove: {gone}");
    let plan = ns.wgq_ok(&["reload", "--dry-run"], &conf);
    assert!(!plan.contains("route del"), "reload without a record takes a hook's route (Table = off):\n{plan}");
    ns.wgq_ok(&["down"], &conf);
    // 2. wgq's route and two others of the same prefix: one with its own metric, one of a
    // daemon. The file drops the peer: only wgq's goes.
    let ns = Ns::new("same", true);
    let ifn = ns.ifname("s");
    let body = |peer: &str| format!("[Interface]\nPrivateKey = {K}\nAddress = 10.3.9.1/24\n{peer}");
    let conf = ns.conf(&ifn, &body(&format!("[Peer]\nPublicKey = {P}\nAllowedIPs = 10.10.0.0/16, fd00:10::/64\n")));
    ns.wgq_ok(&["up"], &conf);
    ns.ok(&format!(
        "ip -n NS route add 10.10.0.0/16 dev {ifn} metric 7 && ip -n NS route add 10.10.0.0/16 dev {ifn} proto bird metric 32 && \
         ip -n NS -6 route add fd00:10::/64 dev {ifn} metric 7"
    ));
    ns.conf(&ifn, &body(""));
    let out = ns.wgq_ok(&["reload"], &conf);
    let left = ns.out(&format!("ip -n NS route show dev {ifn}; ip -n NS -6 route show dev {ifn}"));
    let has = |prefix: &str, words: &[&str]| left.lines().any(|l| l.starts_with(prefix) && words.iter().all(|w| l.contains(w)));
    assert!(has("10.10.0.0/16 ", &["metric 7"]), "the hook's metric-7 route went:\n{left}\n{out}");
    assert!(has("10.10.0.0/16 ", &["proto bird", "metric 32"]), "the daemon's route went:\n{left}\n{out}");
    assert!(has("fd00:10::/64 ", &["metric 7"]), "the hook's IPv6 route went:\n{left}\n{out}");
    assert!(
        !left.contains("fd00:10::/64 metric 1024") && !left.lines().any(|l| l.trim() == "10.10.0.0/16 scope link"),
        "wgq's routes stayed:\n{left}"
    );
    ns.wgq_ok(&["down"], &conf);
}

/// Review finding: reload's MTU change (and its undo) sets the MTU only; a link the admin
/// took down stays down.
#[test]
fn reload_changes_the_mtu_without_bringing_a_down_link_up() {
    if !common::ready(&["wireguard-go"]) {
        return;
    }
    let ns = Ns::new("mtu", true);
    let ifn = ns.ifname("m");
    let body = |mtu: u32| format!("[Interface]\nPrivateKey = {K}\nAddress = 10.3.10.1/24\nMTU = {mtu}\n");
    let conf = ns.conf(&ifn, &body(1400));
    ns.wgq_ok(&["up"], &conf);
    ns.ok(&format!("ip -n NS link set dev {ifn} down"));
    ns.conf(&ifn, &body(1380));
    ns.wgq_ok(&["reload"], &conf);
    let link = ns.out(&format!("ip -n NS link show dev {ifn}"));
    assert!(link.contains("mtu 1380"), "{link}");
    assert!(!link.contains(",UP") && !link.contains("<UP"), "reload brought the link up:\n{link}");
    ns.wgq_ok(&["down"], &conf);
}
