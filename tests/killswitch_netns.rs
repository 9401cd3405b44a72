//! Issue 18 part 3, the kill switch, in network namespaces (root; wireguard-go, nft, ping):
//! "client" (the full tunnel) — "router" (the WireGuard server, forwarding) — "internet".
//! A counter on the router's side of the client's physical link sees every IP packet the
//! client sends there that is not its encrypted UDP to the endpoint or IPv6 neighbour
//! discovery: that is what leaks. Each leak path is first shown to leak without the kill
//! switch (so the checks can fail), then shown closed with it.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

const WGQ: &str = env!("CARGO_BIN_EXE_wgq");

const INET4: &str = "198.51.100.2";
const INET6: &str = "2001:db8:2::2";

fn sh(c: &str) -> Output {
    Command::new("bash").arg("-c").arg(c).output().unwrap()
}

fn ok(c: &str) -> String {
    let o = sh(c);
    assert!(o.status.success(), "{c}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn text(o: &Output) -> String {
    format!("rc={:?}\n{}{}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn ready() -> bool {
    common::ready(&["wireguard-go", "nft", "ping", "wg"])
}

/// The three namespaces, the server up in "router", the client's file written (not up).
struct Net {
    client: common::Netns,
    router: common::Netns,
    internet: common::Netns,
    /// The client's interface and file.
    cif: String,
    /// The server's interface (in "router").
    sif: String,
    conf: PathBuf,
    dir: tempfile::TempDir,
}

fn key_pair() -> (String, String) {
    let k = ok(&format!("{WGQ} genkey")).trim().to_string();
    let p = ok(&format!("echo {k} | {WGQ} pubkey")).trim().to_string();
    (k, p)
}

impl Net {
    /// `allowed`: the client's AllowedIPs.
    fn new(tag: &str, allowed: &str) -> Net {
        let pid = std::process::id();
        let n = |r: &str| format!("wgqks-{pid}-{tag}-{r}");
        let dir = tempfile::tempdir().unwrap();
        let port = 20000 + (pid % 20000) as u16 + tag.len() as u16 * 7;
        let mut net = Net {
            client: common::Netns::new(n("c")),
            router: common::Netns::new(n("r")),
            internet: common::Netns::new(n("i")),
            cif: format!("ksc{}{tag}", common::pid_tag()),
            sif: format!("kss{}{tag}", common::pid_tag()),
            conf: PathBuf::new(),
            dir,
        };
        let (c, r, i) = (net.client.name(), net.router.name(), net.internet.name());
        for ns in [c, r, i] {
            ok(&format!("ip -n {ns} link set lo up"));
        }
        for cmd in [
            format!("ip -n {c} link add c0 type veth peer name r0 netns {r}"),
            format!("ip -n {r} link add i0 type veth peer name n0 netns {i}"),
            format!(
                "ip -n {c} link set c0 up && ip -n {r} link set r0 up && ip -n {r} link set i0 up && ip -n {i} link set n0 up"
            ),
            format!("ip -n {c} addr add 192.0.2.2/24 dev c0 && ip -n {c} addr add 2001:db8:1::2/64 dev c0 nodad"),
            format!("ip -n {r} addr add 192.0.2.1/24 dev r0 && ip -n {r} addr add 2001:db8:1::1/64 dev r0 nodad"),
            format!("ip -n {r} addr add 198.51.100.1/24 dev i0 && ip -n {r} addr add 2001:db8:2::1/64 dev i0 nodad"),
            format!("ip -n {i} addr add {INET4}/24 dev n0 && ip -n {i} addr add {INET6}/64 dev n0 nodad"),
            format!("ip -n {c} route add default via 192.0.2.1 && ip -n {c} -6 route add default via 2001:db8:1::1"),
            format!("ip -n {i} route add default via 198.51.100.1 && ip -n {i} -6 route add default via 2001:db8:2::1"),
            format!("ip netns exec {r} sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1"),
        ] {
            ok(&cmd);
        }
        // What the router sees arrive from the client: the encrypted UDP to the endpoint and
        // neighbour discovery are expected; every other IP packet counts as a leak.
        let rules = format!(
            "add table inet count\n\
             add counter inet count wgudp\n\
             add counter inet count leak\n\
             add chain inet count pre {{ type filter hook prerouting priority -400; policy accept; }}\n\
             add counter inet count dhcp\n\
             add rule inet count pre iifname \"r0\" udp dport {port} counter name wgudp accept\n\
             add rule inet count pre iifname \"r0\" udp sport 68 udp dport 67 counter name dhcp accept\n\
             add rule inet count pre iifname \"r0\" icmpv6 type {{ nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-report, mld2-listener-report }} accept\n\
             add rule inet count pre iifname \"r0\" counter name leak\n"
        );
        let f = net.dir.path().join("count.nft");
        std::fs::write(&f, rules).unwrap();
        ok(&format!("ip netns exec {r} nft -f {}", f.display()));
        let (ck, cp) = key_pair();
        let (sk, spub) = key_pair();
        let server = common::write_conf(
            net.dir.path(),
            &net.sif,
            &format!(
                "[Interface]\nPrivateKey = {sk}\nListenPort = {port}\nAddress = 203.0.113.1/24, 2001:db8:ff::1/64\n\
                 [Peer]\nPublicKey = {cp}\nAllowedIPs = 203.0.113.2/32, 2001:db8:ff::2/128\n"
            ),
        );
        ok(&format!("ip netns exec {r} {WGQ} up {}", server.display()));
        net.conf = common::write_conf(
            net.dir.path(),
            &net.cif,
            &format!(
                "# The client: a full tunnel.\n[Interface]\nPrivateKey = {ck}\nAddress = 203.0.113.2/32, 2001:db8:ff::2/128\n\n\
                 [Peer]\nPublicKey = {spub}\nEndpoint = 192.0.2.1:{port}\nAllowedIPs = {allowed}\n"
            ),
        );
        net
    }

    fn wgq(&self, args: &[&str]) -> Output {
        self.wgq_path(args, None)
    }

    /// wgq in the client namespace, with `path` as PATH if given.
    fn wgq_path(&self, args: &[&str], path: Option<&str>) -> Output {
        let path = path.map(String::from).unwrap_or_else(|| std::env::var("PATH").unwrap());
        Command::new("ip")
            .args(["netns", "exec", self.client.name(), "env", &format!("PATH={path}"), WGQ])
            .args(args)
            .output()
            .unwrap()
    }

    fn up(&self, flags: &[&str]) {
        let mut a = vec!["up"];
        a.extend_from_slice(flags);
        a.push(self.conf.to_str().unwrap());
        let o = self.wgq(&a);
        assert!(o.status.success(), "{}", text(&o));
    }

    fn down(&self, flags: &[&str]) -> Output {
        let mut a = vec!["down"];
        a.extend_from_slice(flags);
        a.push(self.conf.to_str().unwrap());
        self.wgq(&a)
    }

    /// One ping from the client (up to `tries` attempts of one second).
    fn ping(&self, to: &str, tries: usize) -> bool {
        (0..tries).any(|_| sh(&format!("ip netns exec {} ping -n -q -c 1 -W 1 {to}", self.client)).status.success())
    }

    fn counter(&self, name: &str) -> u64 {
        let out = ok(&format!("ip netns exec {} nft list counter inet count {name}", self.router));
        out.split_whitespace()
            .skip_while(|w| *w != "packets")
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{out}"))
    }

    /// What a failure message shows of the client.
    fn debug(&self) -> String {
        let c = &self.client;
        let o = sh(&format!(
            "ip netns exec {c} nft list ruleset; ip -n {c} rule; ip -n {c} -6 rule; ip -n {c} route show table all; \
             ip -n {c} -6 route show table all; ip -n {c} addr; ip netns exec {c} wg show {}; ip netns exec {} wg show {}",
            self.cif, self.router, self.sif
        ));
        text(&o)
    }

    fn leaked(&self) -> u64 {
        self.counter("leak")
    }

    fn nft_tables(&self) -> String {
        ok(&format!("ip netns exec {} nft list tables", self.client))
    }

    fn has_table(&self) -> bool {
        self.nft_tables().lines().any(|l| l == format!("table inet wgq-killswitch-{}", self.cif))
    }

    /// A route more specific than the tunnel's /0 in the main table (a DHCP option 121
    /// route, TunnelVision): `suppress_prefixlength 0` lets it win over the tunnel.
    fn inject_routes(&self, add: bool) {
        let verb = if add { "add" } else { "del" };
        ok(&format!(
            "ip -n {c} route {verb} 198.51.100.0/24 via 192.0.2.1 && ip -n {c} -6 route {verb} 2001:db8:2::/64 via 2001:db8:1::1",
            c = self.client
        ));
    }

    /// What a full tunnel of the client leaves behind if not removed: its policy rules and
    /// wg-quick's nft tables.
    fn leftovers(&self) -> Vec<String> {
        let c = &self.client;
        let mut v: Vec<String> = ok(&format!("ip -n {c} rule; ip -n {c} -6 rule"))
            .lines()
            .filter(|l| l.contains("fwmark") || l.contains("suppress_prefixlength"))
            .map(String::from)
            .collect();
        v.extend(self.nft_tables().lines().filter(|l| l.contains("wg-quick-")).map(String::from));
        v
    }

    /// Kills the client's userspace daemon (of `ifname`) and waits until its link is gone.
    fn crash(&self, ifname: &str) {
        ok(&format!("pkill -KILL -f '^wireguard-go {ifname}$' || true"));
        for _ in 0..50 {
            if !ok(&format!("ip -n {} -o link", self.client)).contains(&format!(": {ifname}:")) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("{ifname} is still there");
    }

    fn remove_client_on_server(&self) {
        let pubkey = ok(&format!("ip netns exec {} wg show {} public-key", self.client, self.cif));
        ok(&format!("ip netns exec {} wg set {} peer {} remove", self.router, self.sif, pubkey.trim()));
    }
}

/// The file is byte for byte what the test wrote, and wg-quick (if installed) still strips it.
fn file_untouched(net: &Net, before: &[u8]) {
    assert_eq!(std::fs::read(&net.conf).unwrap(), before, "the config file changed");
    if std::path::Path::new("/usr/bin/wg-quick").exists() {
        let o = sh(&format!("/usr/bin/wg-quick strip {}", net.conf.display()));
        assert!(o.status.success(), "wg-quick strip: {}", text(&o));
    } else {
        eprintln!("note: /usr/bin/wg-quick is not installed; its strip of the file is not checked");
    }
}

#[test]
fn kill_switch_keeps_everything_in_the_tunnel_and_down_removes_it() {
    if !ready() {
        return;
    }
    let net = Net::new("a", "0.0.0.0/0, ::/0");
    let before = std::fs::read(&net.conf).unwrap();
    // Without the kill switch, a more specific route in main leaks (the check can fail).
    net.up(&[]);
    assert!(net.ping(INET4, 8) && net.ping(INET6, 8), "no traffic through the tunnel");
    let l0 = net.leaked();
    assert_eq!(l0, 0, "the tunnel alone leaks");
    net.inject_routes(true);
    assert!(net.ping(INET4, 2) && net.ping(INET6, 2));
    assert!(net.leaked() > l0, "the injected routes should leak without the kill switch");
    net.inject_routes(false);
    assert!(net.down(&[]).status.success());

    // With it: traffic only inside the tunnel.
    let plan = net.wgq(&["up", "--dry-run", "--kill-switch", net.conf.to_str().unwrap()]);
    assert!(
        text(&plan).contains(&format!("[#] nft -f /dev/stdin\n    add table inet wgq-killswitch-{}\n", net.cif)),
        "{}",
        text(&plan)
    );
    assert!(!net.has_table(), "--dry-run installed the table");
    let up = net.wgq(&["up", "--kill-switch", net.conf.to_str().unwrap()]);
    assert!(up.status.success(), "{}", text(&up));
    assert!(String::from_utf8_lossy(&up.stderr).contains("[#] nft -f /dev/stdin\n"), "{}", text(&up));
    assert!(net.has_table());
    let (l1, u1) = (net.leaked(), net.counter("wgudp"));
    assert!(net.ping(INET4, 8) && net.ping(INET6, 8), "the kill switch blocks the tunnel itself");
    assert!(net.counter("wgudp") > u1, "no encrypted UDP seen");
    net.inject_routes(true);
    assert!(!net.ping(INET4, 2) && !net.ping(INET6, 2), "the injected routes still lead out");
    net.inject_routes(false);
    // The server drops the client: pings fail, nothing but the handshakes leaves.
    net.remove_client_on_server();
    let u2 = net.counter("wgudp");
    assert!(!net.ping(INET4, 2) && !net.ping(INET6, 2));
    assert!(net.counter("wgudp") > u2, "no handshake attempts seen");
    // A TCP connection is refused at once (reset), not left to time out.
    let t = std::time::Instant::now();
    net.inject_routes(true);
    let tcp = sh(&format!("ip netns exec {} bash -c 'exec 3<>/dev/tcp/{INET4}/80'", net.client));
    net.inject_routes(false);
    assert!(!tcp.status.success() && t.elapsed() < std::time::Duration::from_secs(2), "{}", text(&tcp));
    assert_eq!(net.leaked(), l1, "packets leaked past the kill switch");
    // Another table's accept does not reopen it (a reject in any base chain is final).
    let other = net.dir.path().join("other.nft");
    std::fs::write(
        &other,
        "add table inet other\nadd chain inet other out { type filter hook output priority -10; policy accept; }\n\
         add rule inet other out accept\n",
    )
    .unwrap();
    ok(&format!("ip netns exec {} nft -f {}", net.client, other.display()));
    net.inject_routes(true);
    assert!(!net.ping(INET4, 1) && !net.ping(INET6, 1), "another table's accept reopened the leak");
    net.inject_routes(false);
    ok(&format!("ip netns exec {} nft delete table inet other", net.client));
    // DHCP (UDP 68 to 67) gets out to the LAN; other UDP there is rejected at once.
    if which::which("python3").is_ok() {
        let udp = |sport: u16, dport: u16| {
            sh(&format!(
                "ip netns exec {} python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); \
                 s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"192.0.2.2\", {sport})); \
                 s.sendto(b\"x\", (\"192.0.2.1\", {dport}))'",
                net.client
            ))
        };
        let d0 = net.counter("dhcp");
        let dhcp = udp(68, 67);
        assert!(dhcp.status.success(), "{}", text(&dhcp));
        assert_eq!(net.counter("dhcp"), d0 + 1, "the DHCP packet did not get out");
        let other = udp(5353, 67);
        assert!(!other.status.success(), "UDP to the LAN got out: {}", text(&other));
        assert_eq!(net.counter("dhcp"), d0 + 1);
    } else {
        eprintln!("note: python3 is not installed; DHCP not checked");
    }
    // reload keeps the kill switch (and the record of it, which down follows).
    std::fs::write(&net.conf, String::from_utf8(before.clone()).unwrap().replace("[Peer]", "MTU = 1380\n\n[Peer]")).unwrap();
    let r = net.wgq(&["reload", net.conf.to_str().unwrap()]);
    assert!(r.status.success() && text(&r).contains("ip link set mtu 1380"), "{}", text(&r));
    assert!(net.has_table(), "reload removed the kill switch");
    std::fs::write(&net.conf, &before).unwrap();
    let down = net.down(&[]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(String::from_utf8_lossy(&down.stderr).ends_with("[#] nft -f /dev/stdin\n"), "{}", text(&down));
    assert!(!net.has_table(), "down left the kill switch: {}", net.nft_tables());
    file_untouched(&net, &before);
}

#[test]
fn a_one_family_tunnel_with_the_kill_switch_blocks_the_other_family() {
    if !ready() {
        return;
    }
    let net = Net::new("b", "0.0.0.0/0");
    let before = std::fs::read(&net.conf).unwrap();
    let check = net.wgq(&["check", net.conf.to_str().unwrap()]);
    assert!(text(&check).contains("--kill-switch"), "{}", text(&check));
    net.up(&[]);
    let l0 = net.leaked();
    assert!(net.ping(INET4, 8));
    assert!(net.ping(INET6, 3), "IPv6 should go out beside the tunnel");
    assert!(net.leaked() > l0, "the IPv6 leak was not seen");
    assert!(net.down(&[]).status.success());
    net.up(&["--kill-switch"]);
    let l1 = net.leaked();
    assert!(net.ping(INET4, 8), "IPv4 through the tunnel");
    assert!(!net.ping(INET6, 2), "IPv6 still leaks");
    assert_eq!(net.leaked(), l1);
    assert!(net.down(&[]).status.success());
    assert!(!net.has_table());
    file_untouched(&net, &before);
}

#[test]
fn the_kill_switch_outlives_a_crashed_tunnel_and_a_strict_one_outlives_down() {
    if !ready() {
        return;
    }
    let net = Net::new("c", "0.0.0.0/0, ::/0");
    let before = std::fs::read(&net.conf).unwrap();
    // The userspace daemon dies: its link and routes go, the kill switch stays.
    net.up(&["--kill-switch"]);
    assert!(net.ping(INET4, 8));
    let l0 = net.leaked();
    ok(&format!(
        "ip netns pids {} | xargs -r ps -o pid=,comm= -p | awk '/wireguard-go/ {{print $1}}' | xargs -r kill -9",
        net.client
    ));
    for _ in 0..50 {
        if !ok(&format!("ip -n {} -o link", net.client)).contains(&net.cif) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(net.has_table());
    assert!(!net.ping(INET4, 2) && !net.ping(INET6, 2), "the crashed tunnel leaks");
    assert_eq!(net.leaked(), l0);
    // `--kill-switch=off` removes it with the interface gone.
    let plan = net.down(&["--dry-run", "--kill-switch=off"]);
    assert!(plan.status.success() && text(&plan).contains("[#] nft -f /dev/stdin"), "{}", text(&plan));
    let off = net.down(&["--kill-switch=off"]);
    assert!(off.status.success(), "{}", text(&off));
    assert!(!net.has_table());
    assert!(net.ping(INET4, 3), "no traffic after the kill switch went");
    // ... and with it what the crashed tunnel's `up` left: its rules and wg-quick's tables.
    assert!(net.leftovers().is_empty(), "{:?}\n{}", net.leftovers(), text(&off));
    let again = net.down(&["--kill-switch=off"]);
    assert!(!again.status.success() && text(&again).contains("is not a WireGuard interface"), "{}", text(&again));

    // Strict: stays after down, blocks, lets the next up reach its endpoint.
    net.up(&["--kill-switch=strict"]);
    assert!(net.ping(INET4, 8));
    let down = net.down(&[]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(net.has_table(), "down removed the strict kill switch");
    assert!(
        String::from_utf8_lossy(&down.stderr).ends_with(&format!(
            "wgq: the kill switch of {0} stays in place (nothing but the tunnel may leave); `wgq down --kill-switch=off {0}' removes it\n",
            net.cif
        )),
        "{}",
        text(&down)
    );
    let l1 = net.leaked();
    assert!(!net.ping(INET4, 2) && !net.ping(INET6, 2), "down with a strict kill switch leaks");
    assert_eq!(net.leaked(), l1);
    net.up(&[]);
    // Within two seconds: the first handshake is not rejected (it would be retried only
    // after 5 s) since the fwmark is set before the link goes up.
    let (p4, p6) = (net.ping(INET4, 2), net.ping(INET6, 2));
    assert!(p4 && p6, "the strict kill switch blocks the next tunnel (v4 {p4}, v6 {p6}): {}", net.debug());
    assert!(net.down(&[]).status.success());
    assert!(net.has_table());
    // By its name alone, with no /etc/wireguard file (its file renamed or deleted since):
    // the switch is found by the interface name and removed.
    assert!(!std::path::Path::new(&format!("/etc/wireguard/{}.conf", net.cif)).exists());
    let off = net.wgq(&["down", "--kill-switch=off", &net.cif]);
    assert!(off.status.success() && !net.has_table(), "{}", text(&off));
    // SIGKILL in the middle of a strict up (during its PostUp): the table it made is there.
    let slow = net.dir.path().join(format!("{}.conf", net.cif));
    let body = String::from_utf8(before.clone()).unwrap().replace("[Peer]", "PostUp = sleep 5\n\n[Peer]");
    std::fs::write(&slow, body).unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", net.client.name(), WGQ, "up", "--kill-switch=strict", slow.to_str().unwrap()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Once the table is there, the PostUp sleep has 5 s to go.
    let t0 = std::time::Instant::now();
    while !net.has_table() && t0.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    // The wgq process itself (ip netns exec execs it in place).
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGKILL);
    let _ = child.wait_with_output();
    assert!(t0.elapsed() < std::time::Duration::from_secs(5), "up was not in its PostUp when killed");
    assert!(net.has_table(), "no kill switch after SIGKILL");
    let l2 = net.leaked();
    net.inject_routes(true);
    assert!(!net.ping(INET4, 2));
    net.inject_routes(false);
    assert_eq!(net.leaked(), l2);
    std::fs::write(&slow, &before).unwrap();
    let off = net.down(&["--kill-switch=off"]);
    assert!(off.status.success(), "{}", text(&off));
    assert!(!net.has_table());
    assert!(!ok(&format!("ip -n {} -o link", net.client)).contains(&net.cif), "down left the link");
    file_untouched(&net, &before);
}

#[test]
fn down_of_a_vanished_tunnel_removes_everything_its_up_recorded() {
    if !ready() {
        return;
    }
    let net = Net::new("v", "0.0.0.0/0, ::/0");
    let before = std::fs::read(&net.conf).unwrap();
    // The userspace daemon dies under a normal kill switch.
    net.up(&["--kill-switch"]);
    assert!(net.ping(INET4, 8));
    net.crash(&net.cif);
    assert!(net.has_table() && !net.leftovers().is_empty(), "{}", net.debug());
    assert!(!net.ping(INET4, 2), "the crashed tunnel leaks");
    let o = net.down(&["--dry-run"]);
    assert!(o.status.success() && text(&o).contains("[#] nft -f /dev/stdin"), "{}", text(&o));
    assert!(net.has_table() && !net.leftovers().is_empty(), "--dry-run removed something");
    let o = net.down(&[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).starts_with(&format!(
            "wgq: {} is gone; removing what up recorded: 4 policy rule(s) of table 51820, its firewall rules, its kill switch (nft)\n",
            net.cif
        )),
        "{}",
        text(&o)
    );
    assert!(!net.has_table() && net.leftovers().is_empty(), "{:?}: {}", net.leftovers(), net.debug());
    assert!(net.ping(INET4, 3), "no traffic after down of the vanished tunnel");
    let again = net.down(&[]);
    assert!(!again.status.success() && text(&again).contains("is not a WireGuard interface"), "{}", text(&again));
    // The link deleted by hand under a strict switch: `down` removes the rest and keeps the
    // switch (and says so); `--kill-switch=off` then removes it.
    net.up(&["--kill-switch=strict"]);
    assert!(net.ping(INET4, 8));
    ok(&format!("ip -n {} link del {}", net.client, net.cif));
    let o = net.down(&[]);
    assert!(o.status.success(), "{}", text(&o));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("; its strict kill switch stays\n") && e.contains("stays in place"), "{e}");
    assert!(net.has_table() && net.leftovers().is_empty(), "{:?}", net.leftovers());
    assert!(!net.ping(INET4, 2));
    let o = net.down(&["--kill-switch=off"]);
    assert!(o.status.success() && !net.has_table(), "{}", text(&o));
    assert!(net.ping(INET4, 3));
    // The next `up` after a crash and `down` works as on a clean host; so does one right
    // after a crash, without `down` (its record replaces the dead one's; the same table's
    // rules, there twice, all go with the next `down`).
    net.up(&["--kill-switch"]);
    assert!(net.ping(INET4, 8) && net.ping(INET6, 8));
    net.crash(&net.cif);
    net.up(&["--kill-switch"]);
    assert!(net.ping(INET4, 8) && net.ping(INET6, 8), "{}", net.debug());
    assert!(net.down(&[]).status.success());
    assert!(!net.has_table() && net.leftovers().is_empty(), "{:?}", net.leftovers());
    // Its table taken by another tunnel after the crash (routes in it again): its rules
    // are that tunnel's now and stay.
    net.up(&[]);
    net.crash(&net.cif);
    ok(&format!("ip -n {} route add 192.0.2.0/24 dev c0 table 51820", net.client));
    let o = net.down(&[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("no rule of table 51820 (another tunnel uses that table now)"), "{}", text(&o));
    assert!(net.leftovers().iter().any(|l| l.contains("lookup 51820")), "{:?}", net.leftovers());
    file_untouched(&net, &before);
}

/// A second tunnel of the client: a split tunnel to a second server interface in "router"
/// (10.77.0.0/24), its file written (not up). Returns its interface and file.
fn second_tunnel(net: &Net, tag: &str) -> (String, PathBuf) {
    extra_tunnel(net, tag, 0)
}

/// [`second_tunnel`]'s kind, the `k`-th of them (10.77+k.0.0/24).
fn extra_tunnel(net: &Net, tag: &str, k: u16) -> (String, PathBuf) {
    let pid = std::process::id();
    let (cif, sif) = (format!("ksx{}{tag}", pid % 10000), format!("ksy{}{tag}", pid % 10000));
    let port = 40000 + (pid % 20000) as u16 + k * 101;
    let (ck, cp) = key_pair();
    let (sk, spub) = key_pair();
    let server = common::write_conf(
        net.dir.path(),
        &sif,
        &format!(
            "[Interface]\nPrivateKey = {sk}\nListenPort = {port}\nAddress = 10.{n}.0.1/24\n\
             [Peer]\nPublicKey = {cp}\nAllowedIPs = 10.{n}.0.2/32\n",
            n = 77 + k
        ),
    );
    ok(&format!("ip netns exec {} {WGQ} up {}", net.router, server.display()));
    let conf = common::write_conf(
        net.dir.path(),
        &cif,
        &format!(
            "[Interface]\nPrivateKey = {ck}\nAddress = 10.{n}.0.2/24\n\
             [Peer]\nPublicKey = {spub}\nEndpoint = 192.0.2.1:{port}\nAllowedIPs = 10.{n}.0.0/24\n",
            n = 77 + k
        ),
    );
    (cif, conf)
}

#[test]
fn a_kill_switch_lets_the_hosts_other_tunnels_out_and_a_second_one_is_refused() {
    if !ready() {
        return;
    }
    let net = Net::new("m", "0.0.0.0/0, ::/0");
    let (other, other_conf) = second_tunnel(&net, "m");
    let other_conf = other_conf.to_str().unwrap().to_string();
    let set = |name: &str| ok(&format!("ip netns exec {} nft list set inet wgq-killswitch-{} {name}", net.client, net.cif));
    let other_up = |flags: &[&str]| {
        let mut a = vec!["up"];
        a.extend_from_slice(flags);
        a.push(&other_conf);
        let o = net.wgq(&a);
        assert!(o.status.success(), "{}", text(&o));
    };
    let other_down = || {
        let o = net.wgq(&["down", &other_conf]);
        assert!(o.status.success(), "{}", text(&o));
    };
    // The switch first, the other tunnel after it: its device and its encrypted packets
    // (leaving on the LAN from its listen port, unmarked) are let out.
    net.up(&["--kill-switch"]);
    assert!(net.ping(INET4, 8));
    other_up(&[]);
    assert!(net.ping("10.77.0.1", 8), "the kill switch blocks the other tunnel: {}", net.debug());
    assert!(net.ping(INET4, 3));
    assert!(set("tunnels").contains(&format!("\"{other}\"")), "{}", set("tunnels"));
    let port = ok(&format!("ip netns exec {} wg show {other} listen-port", net.client));
    assert!(set("ports").contains(port.trim()), "{}", set("ports"));
    // A reload that moves its listen port tells the switch.
    let moved = 50000 + (std::process::id() % 10000) as u16;
    let body = std::fs::read_to_string(&other_conf).unwrap().replace("[Peer]", &format!("ListenPort = {moved}\n[Peer]"));
    std::fs::write(&other_conf, body).unwrap();
    let o = net.wgq(&["reload", &other_conf]);
    assert!(o.status.success(), "{}", text(&o));
    let ports = set("ports");
    assert!(ports.contains(&moved.to_string()) && !ports.contains(port.trim()), "{ports}");
    assert!(net.ping("10.77.0.1", 8), "the kill switch blocks the other tunnel after its reload: {}", net.debug());
    // Its `down` takes it out again: nothing of it is left open.
    other_down();
    assert!(!set("tunnels").contains(&other) && !set("ports").contains(&moved.to_string()), "{}", set("tunnels"));
    // A second kill switch is refused, naming the first, before anything is made.
    let third = common::write_conf(
        net.dir.path(),
        &format!("ksz{}m", std::process::id() % 10000),
        &String::from_utf8(std::fs::read(&net.conf).unwrap()).unwrap(),
    );
    let o = net.wgq(&["up", "--kill-switch", third.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .starts_with(&format!("wgq: --kill-switch: the kill switch of {} is in place", net.cif)),
        "{}",
        text(&o)
    );
    assert!(!ok(&format!("ip -n {} -o link", net.client)).contains("ksz"));
    // The other tunnel first, the switch after it: let out from the start.
    assert!(net.down(&[]).status.success());
    other_up(&[]);
    net.up(&["--kill-switch"]);
    assert!(net.ping("10.77.0.1", 8), "the new kill switch blocks the running tunnel: {}", net.debug());
    assert!(net.ping(INET4, 8));
    // It crashes: the next round of `wgq reresolve` (of any tunnel: here the switch's own,
    // as its timer runs it) takes it out of the switch, its listen port too; so would its
    // `down`, which still removes what its `up` left.
    let port = ok(&format!("ip netns exec {} wg show {other} listen-port", net.client));
    net.crash(&other);
    assert!(set("tunnels").contains(&other) && set("ports").contains(port.trim()));
    let o = net.wgq(&["reresolve", net.conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!set("tunnels").contains(&other) && !set("ports").contains(port.trim()), "{}\n{}", set("tunnels"), set("ports"));
    other_down();
    assert!(!set("tunnels").contains(&other), "{}", set("tunnels"));
    // One tunnel's `down` while another's `up` runs: each planned the switch from what it
    // saw first; the switch ends letting out the one that runs, not the one that went.
    let (third, third_conf) = extra_tunnel(&net, "n", 1);
    for round in 0..3 {
        other_up(&[]);
        let port = ok(&format!("ip netns exec {} wg show {other} listen-port", net.client));
        let run = |args: &[&str]| {
            Command::new("ip")
                .args(["netns", "exec", net.client.name(), WGQ])
                .args(args)
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        };
        let (mut up, mut down) = (run(&["up", third_conf.to_str().unwrap()]), run(&["down", &other_conf]));
        assert!(up.wait().unwrap().success() && down.wait().unwrap().success(), "round {round}");
        let (tunnels, ports) = (set("tunnels"), set("ports"));
        assert!(tunnels.contains(&third) && !tunnels.contains(&other), "round {round}: {tunnels}");
        assert!(
            !ports.contains(&format!(" {} ", port.trim())) && !ports.contains(&format!(" {},", port.trim())),
            "round {round}: {ports}"
        );
        assert!(net.ping("10.78.0.1", 8), "round {round}: {}", net.debug());
        assert!(net.wgq(&["down", third_conf.to_str().unwrap()]).status.success());
    }
    // A strict switch left by `down` never locks another tunnel out.
    assert!(net.down(&[]).status.success());
    net.up(&["--kill-switch=strict"]);
    assert!(net.down(&[]).status.success() && net.has_table());
    assert!(!net.ping(INET4, 2));
    other_up(&[]);
    assert!(net.ping("10.77.0.1", 8), "the strict kill switch left by down blocks another tunnel: {}", net.debug());
    other_down();
    assert!(!set("tunnels").contains(&other));
    assert!(net.down(&["--kill-switch=off"]).status.success() && !net.has_table());
}

/// A round of `wgq reresolve` (every 30 s) while another tunnel's `up` runs its PostUp: that
/// tunnel was let out by its `up` before its link went up, and has no record yet; the round
/// must not take it out of the switch (its PostUp, reaching through it, would be rejected).
#[test]
fn a_reresolve_round_during_another_tunnels_up_leaves_it_let_out() {
    if !ready() {
        return;
    }
    let net = Net::new("q", "0.0.0.0/0, ::/0");
    let (other, other_conf) = second_tunnel(&net, "q");
    let body = std::fs::read_to_string(&other_conf).unwrap().replace("[Peer]", "PostUp = sleep 4\n\n[Peer]");
    std::fs::write(&other_conf, body).unwrap();
    let set = |name: &str| ok(&format!("ip netns exec {} nft list set inet wgq-killswitch-{} {name}", net.client, net.cif));
    net.up(&["--kill-switch"]);
    let mut up = Command::new("ip")
        .args(["netns", "exec", net.client.name(), WGQ, "up", other_conf.to_str().unwrap()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let quoted = format!("\"{other}\"");
    for _ in 0..30 {
        if set("tunnels").contains(&quoted) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(set("tunnels").contains(&quoted), "{}", set("tunnels"));
    let o = net.wgq(&["reresolve", net.conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let during = set("tunnels");
    assert!(up.try_wait().unwrap().is_none(), "the up ended before the round: the test proves nothing");
    assert!(during.contains(&quoted), "the round took the tunnel coming up out of the switch: {during}");
    assert!(up.wait().unwrap().success());
    assert!(set("tunnels").contains(&quoted));
    assert!(net.wgq(&["down", other_conf.to_str().unwrap()]).status.success());
    assert!(net.down(&[]).status.success());
}

#[test]
fn a_failing_post_up_takes_the_kill_switch_back_and_a_split_tunnel_is_refused() {
    if !ready() {
        return;
    }
    let net = Net::new("d", "0.0.0.0/0, ::/0");
    let before = std::fs::read(&net.conf).unwrap();
    let failing = String::from_utf8(before.clone()).unwrap().replace("[Peer]", "PostUp = false\n\n[Peer]");
    std::fs::write(&net.conf, &failing).unwrap();
    let o = net.wgq(&["up", "--kill-switch", net.conf.to_str().unwrap()]);
    assert!(!o.status.success());
    let t = text(&o);
    let (set, undo) = (t.find("[#] nft -f /dev/stdin").unwrap(), t.rfind("[#] nft -f /dev/stdin").unwrap());
    assert!(set < t.find("[#] false").unwrap() && undo > t.find("[#] false").unwrap(), "{t}");
    assert!(!net.has_table(), "the rollback left the kill switch: {}", net.nft_tables());
    assert!(!ok(&format!("ip -n {} -o link", net.client)).contains(&net.cif));
    let split = String::from_utf8(before.clone()).unwrap().replace("0.0.0.0/0, ::/0", "198.51.100.0/24");
    std::fs::write(&net.conf, split).unwrap();
    let o = net.wgq(&["up", "--kill-switch", net.conf.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!("wgq: --kill-switch needs a full tunnel (AllowedIPs with 0.0.0.0/0 or ::/0); {}.conf has none\n", net.cif)
    );
    assert!(!ok(&format!("ip -n {} -o link", net.client)).contains(&net.cif));
    std::fs::write(&net.conf, &before).unwrap();
}

#[test]
fn without_nft_the_kill_switch_is_iptables_and_ip6tables() {
    if !ready() {
        return;
    }
    let tools = ["iptables", "iptables-restore", "iptables-save", "ip6tables", "ip6tables-restore", "ip6tables-save"];
    if let Some(t) = tools.iter().find(|t| which::which(t).is_err()) {
        eprintln!("skipped: {t} is not installed");
        return;
    }
    let net = Net::new("e", "0.0.0.0/0, ::/0");
    let before = std::fs::read(&net.conf).unwrap();
    // A PATH with everything wgq may run but nft.
    let bin = net.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for t in tools.iter().chain(&["wireguard-go", "bash", "sysctl"]) {
        if let Ok(p) = which::which(t) {
            std::os::unix::fs::symlink(p, bin.join(t)).unwrap();
        }
    }
    let path = bin.display().to_string();
    let o = net.wgq_path(&["up", "--kill-switch", net.conf.to_str().unwrap()], Some(&path));
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("[#] iptables-restore -n\n[#] ip6tables-restore -n\n"), "{t}");
    let chain = format!("wgq-ks-{}", net.cif);
    for save in ["iptables-save", "ip6tables-save"] {
        let s = ok(&format!("ip netns exec {} {save} -t filter", net.client));
        assert!(s.contains(&format!(":{chain} - ")) && s.contains(&format!("-j {chain}")), "{save}: {s}");
    }
    assert!(!net.has_table());
    let l0 = net.leaked();
    assert!(net.ping(INET4, 8) && net.ping(INET6, 8));
    net.inject_routes(true);
    assert!(!net.ping(INET4, 2) && !net.ping(INET6, 2), "the iptables kill switch leaks");
    net.inject_routes(false);
    assert_eq!(net.leaked(), l0);
    // An `up` again over a chain left in place does not add a second jump from OUTPUT.
    let o = net.wgq_path(&["down", net.conf.to_str().unwrap()], Some(&path));
    assert!(o.status.success(), "{}", text(&o));
    for save in ["iptables-save", "ip6tables-save"] {
        let s = ok(&format!("ip netns exec {} {save} -t filter", net.client));
        assert!(!s.contains(&chain), "{save} after down: {s}");
    }
    let o = net.wgq_path(&["up", "--kill-switch=strict", net.conf.to_str().unwrap()], Some(&path));
    assert!(o.status.success(), "{}", text(&o));
    assert!(net.wgq_path(&["down", net.conf.to_str().unwrap()], Some(&path)).status.success());
    // A plain `up` sees the strict chain left in iptables and sets the fwmark before the
    // link goes up (else its first handshake, unmarked, would be rejected).
    let o = net.wgq_path(&["up", "--dry-run", net.conf.to_str().unwrap()], Some(&path));
    let plan = String::from_utf8_lossy(&o.stdout).into_owned();
    let (mark, link_up) = (plan.find("fwmark"), plan.find("up dev"));
    assert!(mark.is_some() && link_up.is_some() && mark < link_up, "{plan}");
    let o = net.wgq_path(&["up", "--kill-switch=strict", net.conf.to_str().unwrap()], Some(&path));
    assert!(o.status.success(), "{}", text(&o));
    let s = ok(&format!("ip netns exec {} iptables-save -t filter", net.client));
    assert_eq!(s.matches(&format!("-j {chain}")).count(), 1, "{s}");
    let o = net.wgq_path(&["down", "--kill-switch=off", net.conf.to_str().unwrap()], Some(&path));
    assert!(o.status.success(), "{}", text(&o));
    for save in ["iptables-save", "ip6tables-save"] {
        let s = ok(&format!("ip netns exec {} {save} -t filter", net.client));
        assert!(!s.contains(&chain), "{save} after down --kill-switch=off: {s}");
    }
    // A failing PostUp takes both chains back.
    std::fs::write(&net.conf, String::from_utf8(before.clone()).unwrap().replace("[Peer]", "PostUp = false\n\n[Peer]")).unwrap();
    let o = net.wgq_path(&["up", "--kill-switch", net.conf.to_str().unwrap()], Some(&path));
    assert!(!o.status.success(), "{}", text(&o));
    for save in ["iptables-save", "ip6tables-save"] {
        let s = ok(&format!("ip netns exec {} {save} -t filter", net.client));
        assert!(!s.contains(&chain), "{save} after a failed up: {s}");
    }
    std::fs::write(&net.conf, &before).unwrap();
    // A strict switch made without nft, then one made with nft (nft installed meanwhile):
    // `--kill-switch=off` removes both, the iptables chains and the nft table.
    let o = net.wgq_path(&["up", "--kill-switch=strict", net.conf.to_str().unwrap()], Some(&path));
    assert!(o.status.success(), "{}", text(&o));
    assert!(net.wgq_path(&["down", net.conf.to_str().unwrap()], Some(&path)).status.success());
    net.up(&["--kill-switch=strict"]);
    assert!(net.down(&[]).status.success());
    assert!(net.has_table());
    let off = net.down(&["--kill-switch=off"]);
    assert!(off.status.success(), "{}", text(&off));
    assert!(!net.has_table(), "{}", text(&off));
    for save in ["iptables-save", "ip6tables-save"] {
        let s = ok(&format!("ip netns exec {} {save} -t filter", net.client));
        assert!(!s.contains(&chain), "{save} after down --kill-switch=off of both: {s}");
    }
    assert!(net.ping(INET4, 3) && net.ping(INET6, 3), "{}", net.debug());
    // The iptables switch lets another tunnel out (rules marked `wgq tunnel <if>`), and
    // that tunnel's `down` takes them out.
    let (other, other_conf) = second_tunnel(&net, "e");
    let o = net.wgq_path(&["up", "--kill-switch", net.conf.to_str().unwrap()], Some(&path));
    assert!(o.status.success(), "{}", text(&o));
    let o = net.wgq_path(&["up", other_conf.to_str().unwrap()], Some(&path));
    assert!(o.status.success(), "{}", text(&o));
    assert!(net.ping("10.77.0.1", 8), "the iptables kill switch blocks the other tunnel: {}", net.debug());
    let marked = format!("--comment \"wgq tunnel {other}\"");
    for save in ["iptables-save", "ip6tables-save"] {
        let s = ok(&format!("ip netns exec {} {save} -t filter", net.client));
        assert!(s.contains(&format!("-A {chain} -o {other} -m comment {marked} -j RETURN")), "{save}: {s}");
    }
    let o = net.wgq_path(&["down", other_conf.to_str().unwrap()], Some(&path));
    assert!(o.status.success(), "{}", text(&o));
    for save in ["iptables-save", "ip6tables-save"] {
        let s = ok(&format!("ip netns exec {} {save} -t filter", net.client));
        assert!(s.contains(&chain) && !s.contains(&marked), "{save}: {s}");
    }
    let o = net.wgq_path(&["down", net.conf.to_str().unwrap()], Some(&path));
    assert!(o.status.success(), "{}", text(&o));
    file_untouched(&net, &before);
}

#[test]
fn an_ipv6_endpoint_is_reached_through_the_kill_switch() {
    if !ready() {
        return;
    }
    let net = Net::new("f", "0.0.0.0/0, ::/0");
    let v4 = std::fs::read_to_string(&net.conf).unwrap();
    let v6 = v4.replace("Endpoint = 192.0.2.1:", "Endpoint = [2001:db8:1::1]:");
    assert_ne!(v4, v6);
    std::fs::write(&net.conf, &v6).unwrap();
    // The router's address must be found again: neighbour solicitations pass the switch.
    ok(&format!("ip -n {} -6 neigh flush dev c0", net.client));
    net.up(&["--kill-switch"]);
    let (l0, u0) = (net.leaked(), net.counter("wgudp"));
    assert!(net.ping(INET6, 8) && net.ping(INET4, 8), "no tunnel over the IPv6 endpoint: {}", net.debug());
    assert!(net.counter("wgudp") > u0);
    assert_eq!(net.leaked(), l0);
    assert!(net.down(&[]).status.success());
    assert!(!net.has_table());
    assert_eq!(std::fs::read_to_string(&net.conf).unwrap(), v6);
}
