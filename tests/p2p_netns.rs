//! `wgq p2p` against wireguard-go in throwaway namespaces (root): an "internet" namespace
//! routing between a hub with a public address (203.0.113.1), two sites (one peer's interface
//! brought up by wg-quick, the others by wgq), each a NAT router
//! (nftables masquerade; inbound forwarding only for established/related connections, as
//! home routers do) with a peer behind it, and a third peer on 192.0.2.3 that is not
//! opted in. The peers' files name only the hub; the hub forwards between them.
//!
//! - Before `p2p`: the peers reach each other through the hub.
//! - After `p2p connect` on both (and `serve` on the hub): within 10 s each has the other's
//!   public IP:port as endpoint and a direct handshake, pings go direct (the hub's counters
//!   for them grow by less than the pings' bytes), `status` says direct; the peer not opted
//!   in is never told of the others, nor they of it.
//! - `save` leaves the added peers out of the file; `reload` keeps them; both, run again and
//!   again while `connect` works, get the interface's lock within `WGQ_LOCK_WAIT`.
//! - The hub goes down: the direct path keeps working.
//! - One site's public address changes: direct again within 30 s.
//! - The direct path breaks: back through the hub within RX_STALE and a round; when it works
//!   again, direct after the hold (HOLD_FIRST), not before.
//! - `connect` stopped: the added peers are removed, pings pass through the hub again.
//! - `masquerade fully-random` (iptables' `--random-fully`) on one router: the peers stay
//!   relayed, pings never stop.
//!
//! `WGQ_P2P_KEEP=1` keeps the namespaces two minutes after a run (to look at a failure).

mod common;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const WGQ: &str = env!("CARGO_BIN_EXE_wgq");

fn key_pair() -> (String, String) {
    let out = Command::new(WGQ).arg("genkey").output().unwrap();
    let private = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let mut child = Command::new(WGQ).arg("pubkey").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(format!("{private}\n").as_bytes()).unwrap();
    let public = String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).trim().to_string();
    (private, public)
}

fn sh(c: &str) -> String {
    let o = Command::new("bash").arg("-c").arg(c).output().unwrap();
    assert!(o.status.success(), "{c}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn text(o: &Output) -> String {
    format!("rc={:?}\n{}{}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The router's rules: masquerade out of `wan`, and only replies come in, to the LAN or to
/// the router itself (an unsolicited probe to the router's own address would otherwise
/// leave a confirmed conntrack entry that makes it pick another port for the way out).
fn nat_rules(random_fully: bool) -> String {
    format!(
        "table inet wgqtest {{\n chain outbound {{ type nat hook postrouting priority 100; oifname \"wan\" masquerade{}; }}\n \
         chain inbound {{ type filter hook forward priority 0; policy accept; iifname \"wan\" ct state established,related accept; iifname \"wan\" drop; }}\n \
         chain local {{ type filter hook input priority 0; policy accept; iifname \"wan\" ct state established,related accept; iifname \"wan\" drop; }}\n}}\n",
        if random_fully { " fully-random" } else { "" }
    )
}

struct Node {
    ns: String,
    ifname: String,
    public: String,
    conf: String,
}

struct World {
    tag: String,
    inet: String,
    ra: String,
    rb: String,
    hub: Node,
    a: Node,
    b: Node,
    c: Node,
    dir: tempfile::TempDir,
    children: Vec<Child>,
    /// The namespaces (deleted with their processes and /etc/netns dirs when the world is
    /// dropped, after its `Drop` stopped the children).
    _nets: Vec<common::Netns>,
}

impl World {
    /// `wg_quick_b`: B's interface brought up by wg-quick (wireguard-go), not wgq.
    fn new(tag: &str, random_fully_a: bool, wg_quick_b: bool) -> World {
        let pid = common::pid_tag();
        let ns = |n: &str| format!("wgqp2p-{pid}-{tag}{n}");
        let (inet, ra, rb) = (ns("i"), ns("ra"), ns("rb"));
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<(String, String)> = (0..4).map(|_| key_pair()).collect();
        let ifn = |n: &str| format!("pp{pid}{tag}{n}");
        let node = |n: &str, k: usize| Node { ns: ns(n), ifname: ifn(n), public: keys[k].1.clone(), conf: String::new() };
        let mut w = World {
            tag: tag.into(),
            inet,
            ra,
            rb,
            hub: node("h", 0),
            a: node("a", 1),
            b: node("b", 2),
            c: node("c", 3),
            dir,
            children: Vec::new(),
            _nets: Vec::new(),
        };
        for n in w.all_ns() {
            let net = common::Netns::new(n);
            net.sh("ip -n NS link set lo up").unwrap();
            w._nets.push(net);
        }
        let (i, ra, rb) = (&w.inet, &w.ra, &w.rb);
        let (h, a, b, c) = (&w.hub.ns, &w.a.ns, &w.b.ns, &w.c.ns);
        for cmd in [
            format!("ip -n {i} link add ih type veth peer name eth0 netns {h}"),
            format!("ip -n {i} link add ia type veth peer name wan netns {ra}"),
            format!("ip -n {i} link add ib type veth peer name wan netns {rb}"),
            format!("ip -n {i} link add ic type veth peer name eth0 netns {c}"),
            format!("ip -n {ra} link add lan type veth peer name eth0 netns {a}"),
            format!("ip -n {rb} link add lan type veth peer name eth0 netns {b}"),
            format!("ip -n {i} addr add 203.0.113.254/24 dev ih"),
            format!("ip -n {i} addr add 198.51.100.14/28 dev ia"),
            format!("ip -n {i} addr add 198.51.100.30/28 dev ib"),
            format!("ip -n {i} addr add 192.0.2.254/24 dev ic"),
            format!("ip -n {h} addr add 203.0.113.1/24 dev eth0"),
            format!("ip -n {c} addr add 192.0.2.3/24 dev eth0"),
            format!("ip -n {ra} addr add 198.51.100.1/28 dev wan"),
            format!("ip -n {rb} addr add 198.51.100.17/28 dev wan"),
            format!("ip -n {ra} addr add 192.168.1.1/24 dev lan"),
            format!("ip -n {rb} addr add 192.168.2.1/24 dev lan"),
            format!("ip -n {a} addr add 192.168.1.2/24 dev eth0"),
            format!("ip -n {b} addr add 192.168.2.2/24 dev eth0"),
        ] {
            sh(&cmd);
        }
        for (n, links) in [
            (i, &["ih", "ia", "ib", "ic"][..]),
            (h, &["eth0"][..]),
            (c, &["eth0"][..]),
            (ra, &["wan", "lan"][..]),
            (rb, &["wan", "lan"][..]),
            (a, &["eth0"][..]),
            (b, &["eth0"][..]),
        ] {
            for l in links {
                sh(&format!("ip -n {n} link set {l} up"));
            }
        }
        for cmd in [
            format!("ip -n {h} route add default via 203.0.113.254"),
            format!("ip -n {c} route add default via 192.0.2.254"),
            format!("ip -n {ra} route add default via 198.51.100.14"),
            format!("ip -n {rb} route add default via 198.51.100.30"),
            format!("ip -n {a} route add default via 192.168.1.1"),
            format!("ip -n {b} route add default via 192.168.2.1"),
        ] {
            sh(&cmd);
        }
        for n in [i, h, ra, rb] {
            sh(&format!("ip netns exec {n} sysctl -qw net.ipv4.ip_forward=1"));
        }
        w.router_rules(&w.ra.clone(), random_fully_a);
        w.router_rules(&w.rb.clone(), false);
        // The hub: A and B opted in, C not.
        let hub_conf = format!(
            "[Interface]\nPrivateKey = {}\nAddress = 10.66.0.1/24, fd66::1/64\nListenPort = 51820\n\n\
             [Peer]\n# Name = a\n# P2P = true\nPublicKey = {}\nAllowedIPs = 10.66.0.2/32, fd66::2/128, 192.168.101.0/24\n\n\
             [Peer]\n# Name = b\n# P2P = true\nPublicKey = {}\nAllowedIPs = 10.66.0.3/32, fd66::3/128\n\n\
             [Peer]\n# Name = c\nPublicKey = {}\nAllowedIPs = 10.66.0.4/32\n",
            keys[0].0, keys[1].1, keys[2].1, keys[3].1
        );
        w.hub.conf = common::write_conf(w.dir.path(), &w.hub.ifname, &hub_conf).display().to_string();
        for (node, k, n) in [(&mut w.a, 1, 2), (&mut w.b, 2, 3), (&mut w.c, 3, 4)] {
            let body = format!(
                "[Interface]\nPrivateKey = {}\nAddress = 10.66.0.{n}/24, fd66::{n}/64\nListenPort = 51820\n\n\
                 [Peer]\nPublicKey = {}\nEndpoint = 203.0.113.1:51820\nAllowedIPs = 10.66.0.0/24, fd66::/64\nPersistentKeepalive = 25\n",
                keys[k].0, keys[0].1
            );
            node.conf = common::write_conf(w.dir.path(), &node.ifname, &body).display().to_string();
        }
        for n in [&w.hub, &w.a, &w.b, &w.c] {
            let o = if wg_quick_b && n.ifname == w.b.ifname {
                Command::new("ip")
                    .args([
                        "netns",
                        "exec",
                        &n.ns,
                        "env",
                        "WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go",
                        "wg-quick",
                        "up",
                        &n.conf,
                    ])
                    .output()
                    .unwrap()
            } else {
                w.wgq(&n.ns, &["up", &n.conf])
            };
            assert!(o.status.success(), "up {}: {}", n.ifname, text(&o));
        }
        w
    }

    fn all_ns(&self) -> Vec<String> {
        vec![
            self.inet.clone(),
            self.ra.clone(),
            self.rb.clone(),
            self.hub.ns.clone(),
            self.a.ns.clone(),
            self.b.ns.clone(),
            self.c.ns.clone(),
        ]
    }

    fn router_rules(&self, ns: &str, random_fully: bool) {
        let p = self.dir.path().join(format!("nft-{ns}"));
        std::fs::write(&p, nat_rules(random_fully)).unwrap();
        sh(&format!("ip netns exec {ns} nft -f {}", p.display()));
    }

    fn wgq(&self, ns: &str, args: &[&str]) -> Output {
        Command::new("ip").args(["netns", "exec", ns, WGQ]).args(args).output().unwrap()
    }

    /// Starts `wgq ARGS` in `ns` in the background (stderr into the test's directory).
    fn spawn(&mut self, ns: &str, args: &[&str], log: &str) -> usize {
        let err = std::fs::File::create(self.dir.path().join(log)).unwrap();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, WGQ]).args(args).stdout(Stdio::null()).stderr(err);
        // It is stopped with SIGTERM: whatever the suite's caller ignored or blocked is reset.
        let c = common::default_signals(&mut cmd).spawn().unwrap();
        self.children.push(c);
        self.children.len() - 1
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    fn logs(&self) -> String {
        let mut s = String::new();
        for l in ["serve", "a", "b", "c"] {
            s.push_str(&format!("--- {l}:\n{}", self.log(l)));
        }
        for n in [&self.hub, &self.a, &self.b, &self.c] {
            s.push_str(&format!(
                "--- {} dump:\n{}",
                n.ifname,
                String::from_utf8_lossy(&self.wgq(&n.ns, &["wg", "show", &n.ifname, "dump"]).stdout)
            ));
        }
        s
    }

    /// Stops background process `i` with SIGTERM and waits for it (bounded).
    fn stop(&mut self, i: usize) -> Option<std::process::ExitStatus> {
        let c = &mut self.children[i];
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.id() as i32), nix::sys::signal::Signal::SIGTERM);
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(s)) = c.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn start_p2p(&mut self) -> (usize, usize, usize, usize) {
        let (hns, hconf) = (self.hub.ns.clone(), self.hub.conf.clone());
        let s = self.spawn(&hns, &["p2p", "serve", &hconf], "serve");
        std::thread::sleep(Duration::from_millis(300));
        let mut ids = Vec::new();
        for (n, log) in [(&self.a, "a"), (&self.b, "b"), (&self.c, "c")].map(|(n, l)| ((n.ns.clone(), n.ifname.clone()), l)) {
            ids.push(self.spawn(&n.0, &["p2p", "connect", &n.1], log));
        }
        (s, ids[0], ids[1], ids[2])
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if std::env::var_os("WGQ_P2P_KEEP").is_some() {
            std::thread::sleep(Duration::from_secs(120));
        }
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        // The namespaces go with `_nets`.
        let _ = &self.tag;
    }
}

/// A peer's fields in `wg show IF dump` on `n`: (endpoint, allowed IPs, latest handshake, rx, tx).
fn peer_of(w: &World, n: &Node, public: &str) -> Option<(String, String, u64, u64, u64)> {
    let o = w.wgq(&n.ns, &["wg", "show", &n.ifname, "dump"]);
    let dump = String::from_utf8_lossy(&o.stdout).into_owned();
    let line = dump.lines().skip(1).find(|l| l.starts_with(public))?;
    let f: Vec<&str> = line.split('\t').collect();
    Some((f[2].to_string(), f[3].to_string(), f[4].parse().unwrap(), f[5].parse().unwrap(), f[6].parse().unwrap()))
}

fn peers_of(w: &World, n: &Node) -> Vec<String> {
    let o = w.wgq(&n.ns, &["wg", "show", &n.ifname, "peers"]);
    String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
}

fn ping(ns: &str, addr: &str, count: u32, size: u32) -> bool {
    Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "ping",
            "-q",
            "-c",
            &count.to_string(),
            "-i",
            "0.2",
            "-W",
            "1",
            "-s",
            &size.to_string(),
            addr,
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn ping_within(ns: &str, addr: &str, bound: Duration) -> bool {
    let t = Instant::now();
    while t.elapsed() < bound {
        if ping(ns, addr, 1, 56) {
            return true;
        }
    }
    false
}

/// Waits until `f` holds (tries every 200 ms); how long it took.
fn wait_for(bound: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let t = Instant::now();
    while t.elapsed() < bound {
        if f() {
            return Some(t.elapsed());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

/// Whether `n` talks to `other` directly: its public address (the other router's WAN,
/// `public_prefix`) as endpoint, a handshake, and the other's tunnel address on that peer.
fn direct(w: &World, n: &Node, other: &Node, public_prefix: &str, tunnel: &str) -> bool {
    peer_of(w, n, &other.public).is_some_and(|(ep, allowed, hs, _, _)| {
        ep.starts_with(public_prefix) && hs > 0 && allowed.split(',').any(|a| a.trim() == tunnel)
    })
}

fn hub_bytes(w: &World) -> u64 {
    [&w.a.public, &w.b.public].iter().map(|k| peer_of(w, &w.hub, k).map_or(0, |p| p.3 + p.4)).sum()
}

/// Sends `count` queries to the hub's p2p port from `src` inside namespace `ns`: the first
/// answer, if one comes within 2 s.
fn query_from(ns: &str, src: &str, count: usize) -> Option<wgq::wire::p2p::Message> {
    let f = std::fs::File::open(format!("/var/run/netns/{ns}")).unwrap();
    let src: std::net::IpAddr = src.parse().unwrap();
    std::thread::spawn(move || {
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let s = std::net::UdpSocket::bind((src, 0)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let q = wgq::wire::p2p::encode(&wgq::wire::p2p::Message::Query { nonce: 77, page: 0 }).unwrap();
        for _ in 0..count {
            s.send_to(&q, "10.66.0.1:51819").unwrap();
        }
        let mut b = [0u8; 1500];
        let n = s.recv(&mut b).ok()?;
        wgq::wire::p2p::decode(&b[..n]).ok()
    })
    .join()
    .unwrap()
}

fn ready() -> bool {
    common::ready(&["wireguard-go", "nft", "ping", "wg-quick", "wg"])
}

#[test]
fn peers_behind_nat_go_direct_and_fall_back() {
    if !ready() {
        return;
    }
    // B's interface is wg-quick's (no wgq run state of up): p2p works the same.
    let mut w = World::new("d", false, true);
    // Through the hub before p2p.
    assert!(ping_within(&w.a.ns, "10.66.0.3", Duration::from_secs(10)), "via the hub: {}", w.logs());
    assert!(ping_within(&w.c.ns, "10.66.0.2", Duration::from_secs(10)), "C via the hub: {}", w.logs());
    let (serve, ca, cb, cc) = w.start_p2p();
    let t = Instant::now();
    let both = wait_for(Duration::from_secs(10), || {
        direct(&w, &w.a, &w.b, "198.51.100.17:", "10.66.0.3/32") && direct(&w, &w.b, &w.a, "198.51.100.1:", "10.66.0.2/32")
    });
    assert!(both.is_some(), "direct within 10 s: {}", w.logs());
    eprintln!("direct after {:?}", t.elapsed());
    // Both own addresses went direct (IPv4 and IPv6).
    for (n, other, v6) in [(&w.a, &w.b, "fd66::3/128"), (&w.b, &w.a, "fd66::2/128")] {
        let allowed = peer_of(&w, n, &other.public).unwrap().1;
        assert!(allowed.split(',').any(|a| a.trim() == v6), "{allowed}: {}", w.logs());
    }
    // Pings no longer pass through the hub: 30 pings of 1000 bytes would be 60 kB there.
    let before = hub_bytes(&w);
    assert!(ping(&w.a.ns, "10.66.0.3", 30, 1000), "direct pings: {}", w.logs());
    assert!(ping(&w.b.ns, "fd66::2", 10, 1000), "direct IPv6 pings: {}", w.logs());
    let grown = hub_bytes(&w) - before;
    assert!(grown < 4000, "the hub carried {grown} bytes for them: {}", w.logs());
    // Status says so.
    let st = w.wgq(&w.a.ns, &["p2p", "status", &w.a.ifname]);
    let st_text = String::from_utf8_lossy(&st.stdout).into_owned();
    assert!(st.status.success() && st_text.contains(&format!("peer: {}\n  path: direct since", w.b.public)), "{}", text(&st));
    assert!(st_text.contains("endpoint: 198.51.100.17:"), "{st_text}");
    // C (not opted in) learns nothing, and nobody learns of it.
    for n in [&w.a, &w.b] {
        assert!(!peers_of(&w, n).contains(&w.c.public), "{}", w.logs());
    }
    assert_eq!(peers_of(&w, &w.c), [w.hub.public.clone()], "{}", w.logs());
    assert!(w.log("c").contains("not opted in"), "{}", w.log("c"));
    // A query that does not come through the tunnel gets nothing, even with a peer's source
    // address routed to the hub's address from the internet (the socket is tied to the
    // tunnel's interface); the same query through the tunnel gets an answer.
    // (Reverse-path filtering off on the hub: the socket's binding alone must refuse it.)
    sh(&format!("ip -n {} route add 10.66.0.0/24 via 203.0.113.1 && ip -n {} addr add 10.66.0.2/32 dev lo", w.inet, w.inet));
    sh(&format!(
        "ip netns exec {h} sysctl -qw net.ipv4.conf.all.rp_filter=0 && ip netns exec {h} sysctl -qw net.ipv4.conf.eth0.rp_filter=0",
        h = w.hub.ns
    ));
    // (Its answers would go into the tunnel, to A: the hub's counter for A shows them.)
    let tx_a = || peer_of(&w, &w.hub, &w.a.public).unwrap().4;
    let before = tx_a();
    assert_eq!(query_from(&w.inet, "10.66.0.2", 20), None, "answered outside the tunnel");
    let grown = tx_a() - before;
    assert!(grown < 1000, "the hub sent {grown} bytes to A after queries from outside the tunnel: {}", w.logs());
    match query_from(&w.a.ns, "10.66.0.2", 1) {
        Some(wgq::wire::p2p::Message::Answer { peers, .. }) => {
            assert_eq!(peers.iter().map(|e| e.public_key.to_base64()).collect::<Vec<_>>(), [w.b.public.clone()])
        }
        other => panic!("no answer through the tunnel: {other:?}"),
    }
    // The LAN behind A (192.168.101.0/24 on the hub) is never announced.
    assert!(!peer_of(&w, &w.b, &w.a.public).unwrap().1.contains("192.168.101"), "{}", w.logs());

    // save never writes the added peers; reload keeps them.
    let o = w.wgq(&w.a.ns, &["save", &w.a.conf]);
    assert!(o.status.success(), "{}", text(&o));
    let saved = std::fs::read_to_string(&w.a.conf).unwrap();
    assert!(!saved.contains(&w.b.public) && saved.contains(&w.hub.public), "{saved}");
    let o = w.wgq(&w.a.ns, &["reload", &w.a.conf]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(direct(&w, &w.a, &w.b, "198.51.100.17:", "10.66.0.3/32"), "after reload: {}", w.logs());
    // Removed by someone else: back at the next round.
    let o = w.wgq(&w.a.ns, &["wg", "set", &w.a.ifname, "peer", &w.b.public, "remove"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(wait_for(Duration::from_secs(10), || peers_of(&w, &w.a).contains(&w.b.public)).is_some(), "{}", w.logs());
    // `connect` holds the interface's lock only for a round's changes, never for its life:
    // commands that take it (the file's lock, then the interface's, each waited for up to
    // WGQ_LOCK_WAIT) get it in time, over and over, while it looks four times a second (a
    // peer just added again) and moves that peer direct.
    for i in 0..5 {
        for verb in ["save", "reload"] {
            let o = Command::new("ip")
                .args(["netns", "exec", &w.a.ns, WGQ, verb, &w.a.conf])
                .env("WGQ_LOCK_WAIT", "2")
                .output()
                .unwrap();
            assert!(o.status.success(), "{verb} #{i} while connect runs: {}", text(&o));
        }
    }
    assert!(!std::fs::read_to_string(&w.a.conf).unwrap().contains(&w.b.public));
    assert!(
        wait_for(Duration::from_secs(10), || direct(&w, &w.a, &w.b, "198.51.100.17:", "10.66.0.3/32")).is_some(),
        "after save/reload under connect: {}",
        w.logs()
    );

    // The hub goes down: the direct path keeps working.
    assert_eq!(w.stop(serve).map(|s| s.success()), Some(true), "{}", w.logs());
    let o = w.wgq(&w.hub.ns, &["down", &w.hub.conf]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(ping_within(&w.a.ns, "10.66.0.3", Duration::from_secs(15)), "hub down: {}", w.logs());
    assert!(ping(&w.b.ns, "10.66.0.2", 20, 56), "hub down, direct pings: {}", w.logs());
    let o = w.wgq(&w.hub.ns, &["up", &w.hub.conf]);
    assert!(o.status.success(), "{}", text(&o));
    let (hns, hconf) = (w.hub.ns.clone(), w.hub.conf.clone());
    w.spawn(&hns, &["p2p", "serve", &hconf], "serve");
    // The restarted hub lists a peer only once it handshook again: meanwhile nobody is
    // removed (and the direct path keeps carrying the pings).
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(8) {
        assert!(peers_of(&w, &w.a).contains(&w.b.public), "removed after the hub's restart: {}", w.logs());
        assert!(peers_of(&w, &w.b).contains(&w.a.public), "removed after the hub's restart: {}", w.logs());
        std::thread::sleep(Duration::from_millis(200));
    }

    // Site B's public address changes: direct again within 30 s.
    let rb = w.rb.clone();
    sh(&format!(
        "ip -n {rb} addr del 198.51.100.17/28 dev wan && ip -n {rb} addr add 198.51.100.18/28 dev wan && \
         ip -n {rb} route replace default via 198.51.100.30"
    ));
    let t = Instant::now();
    let back = wait_for(Duration::from_secs(30), || {
        direct(&w, &w.a, &w.b, "198.51.100.18:", "10.66.0.3/32") && ping(&w.a.ns, "10.66.0.3", 1, 56)
    });
    assert!(back.is_some(), "direct again after the move: {}", w.logs());
    eprintln!("direct again {:?} after the address change", t.elapsed());
    let before = hub_bytes(&w);
    assert!(ping(&w.a.ns, "10.66.0.3", 20, 1000), "{}", w.logs());
    assert!(hub_bytes(&w) - before < 4000, "{}", w.logs());

    // The direct path breaks (the internet drops UDP between the two sites): within
    // RX_STALE and a round the addresses go back to the hub's peer and pings pass through
    // the hub; once the path works again, the peers wait HOLD_FIRST before going direct
    // again (hysteresis), then do.
    let inet = w.inet.clone();
    sh(&format!(
        "ip netns exec {inet} nft add table inet wgqcut && \
         ip netns exec {inet} nft add chain inet wgqcut cut '{{ type filter hook forward priority 0; }}' && \
         ip netns exec {inet} nft add rule inet wgqcut cut ip saddr 198.51.100.0/28 ip daddr 198.51.100.16/28 drop && \
         ip netns exec {inet} nft add rule inet wgqcut cut ip saddr 198.51.100.16/28 ip daddr 198.51.100.0/28 drop"
    ));
    let relayed =
        |w: &World| [(&w.a, &w.b), (&w.b, &w.a)].iter().all(|(n, o)| peer_of(w, n, &o.public).is_some_and(|p| p.1 == "(none)"));
    let t = Instant::now();
    let back = wait_for(Duration::from_secs(wgq::plan::p2p::RX_STALE + 20), || relayed(&w));
    assert!(back.is_some(), "still direct over a dead path: {}", w.logs());
    eprintln!("back through the hub {:?} after the path broke", t.elapsed());
    assert!(ping_within(&w.a.ns, "10.66.0.3", Duration::from_secs(5)), "relayed again: {}", w.logs());
    sh(&format!("ip netns exec {inet} nft delete table inet wgqcut"));
    let t = Instant::now();
    let again = wait_for(Duration::from_secs(wgq::plan::p2p::HOLD_FIRST + 40), || {
        direct(&w, &w.a, &w.b, "198.51.100.18:", "10.66.0.3/32") && direct(&w, &w.b, &w.a, "198.51.100.1:", "10.66.0.2/32")
    });
    assert!(again.is_some(), "not direct again: {}", w.logs());
    assert!(t.elapsed() >= Duration::from_secs(wgq::plan::p2p::HOLD_FIRST - 5), "no hold before going direct again");
    eprintln!("direct again {:?} after the path came back", t.elapsed());
    assert!(ping(&w.a.ns, "10.66.0.3", 5, 56), "{}", w.logs());

    // connect stops: its peers go, the hub relays again.
    for i in [ca, cb, cc] {
        assert_eq!(w.stop(i).map(|s| s.success()), Some(true), "{}", w.logs());
    }
    assert_eq!(peers_of(&w, &w.a), [w.hub.public.clone()], "{}", w.logs());
    assert!(ping_within(&w.a.ns, "10.66.0.3", Duration::from_secs(10)), "via the hub again: {}", w.logs());
    let st = w.wgq(&w.a.ns, &["p2p", "status", &w.a.ifname]);
    assert_eq!(st.status.code(), Some(1), "{}", text(&st));
}

#[test]
fn a_port_randomising_nat_stays_relayed_without_a_gap() {
    if !ready() {
        return;
    }
    let mut w = World::new("r", true, false);
    assert!(ping_within(&w.a.ns, "10.66.0.3", Duration::from_secs(10)), "via the hub: {}", w.logs());
    w.start_p2p();
    // Pings keep working the whole time (75 pings, 15 s) and the path stays relayed.
    let a_ns = w.a.ns.clone();
    let pinger = std::thread::spawn(move || {
        Command::new("ip")
            .args(["netns", "exec", &a_ns, "ping", "-q", "-c", "75", "-i", "0.2", "-W", "1", "10.66.0.3"])
            .output()
            .unwrap()
    });
    let o = pinger.join().unwrap();
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains(" 0% packet loss"), "{}\n{}", text(&o), w.logs());
    // Both added each other (and tried), neither went direct.
    for (n, other) in [(&w.a, &w.b), (&w.b, &w.a)] {
        let (_, allowed, hs, _, _) = peer_of(&w, n, &other.public).unwrap_or_else(|| panic!("not added: {}", w.logs()));
        assert!(allowed == "(none)" || allowed.is_empty(), "went direct: {allowed} (handshake {hs}) {}", w.logs());
    }
    let st = w.wgq(&w.a.ns, &["p2p", "status", &w.a.ifname]);
    assert!(String::from_utf8_lossy(&st.stdout).contains("path: via hub"), "{}", text(&st));
}
