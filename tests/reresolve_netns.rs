//! `wgq reresolve` against wireguard-go in throwaway namespaces (root): a "client"
//! namespace and an "internet" one (the router and the servers: 198.51.100.0/24 between
//! them, the servers on 203.0.113.0/24, a test DNS server on 192.0.2.53). Names are
//! answered by that DNS server (a thread of this test inside the internet namespace),
//! and the client's /etc/hosts and /etc/resolv.conf are `ip netns exec`'s per-namespace
//! files (/etc/netns/NAME/, bind-mounted over /etc/ in a private mount namespace).
//!
//! - A server moves to a new address: after `wgq reresolve` the client handshakes with it
//!   again, one trace line names it; a peer whose name (from /etc/hosts) did not change
//!   keeps its handshake time, counters and endpoint; an NXDOMAIN peer and a peer whose
//!   queries are never answered are reported with file:line and do not stop the others
//!   (exit 1, the whole run within 10 s); a second run prints and sends nothing.
//! - Full tunnel whose DNS= server is inside the dead tunnel: the lookup goes to the name
//!   server recorded at `up`, on the physical link with the device's fwmark (nft
//!   counters in the client's output path), none into the tunnel; also for a full tunnel
//!   wg-quick brought up (no wgq run state: resolv.conf's server).

mod common;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WGQ: &str = env!("CARGO_BIN_EXE_wgq");

/// A new (private, public) key pair.
fn key_pair() -> (String, String) {
    let out = Command::new(WGQ).arg("genkey").output().unwrap();
    let private = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let mut child =
        Command::new(WGQ).arg("pubkey").stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
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

/// The two namespaces, their files, and the DNS server thread.
struct World {
    client: common::Netns,
    internet: common::Netns,
    dir: tempfile::TempDir,
    dns: Dns,
}

/// What the test DNS server answers: a name's A records, `None` for NXDOMAIN; a name
/// not in the map is never answered. Every query it receives is recorded.
#[derive(Clone, Default)]
struct Dns {
    zone: Arc<Mutex<HashMap<String, Option<Vec<Ipv4Addr>>>>>,
    queries: Arc<Mutex<Vec<(String, SocketAddr)>>>,
    stop: Arc<AtomicBool>,
}

impl Dns {
    fn set(&self, name: &str, v: Option<&[&str]>) {
        self.zone.lock().unwrap().insert(name.into(), v.map(|v| v.iter().map(|a| a.parse().unwrap()).collect()));
    }
    fn queries_for(&self, name: &str) -> Vec<SocketAddr> {
        self.queries.lock().unwrap().iter().filter(|(n, _)| n == name).map(|(_, a)| *a).collect()
    }

    /// Serves on 192.0.2.53:53 inside namespace `ns` until stopped.
    fn serve(&self, ns: &str) {
        let me = self.clone();
        let f = std::fs::File::open(format!("/var/run/netns/{ns}")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let s = UdpSocket::bind("192.0.2.53:53").unwrap();
            s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
            tx.send(()).unwrap();
            let mut b = [0u8; 512];
            while !me.stop.load(Ordering::Relaxed) {
                let Ok((n, from)) = s.recv_from(&mut b) else { continue };
                let q = &b[..n];
                let Ok((name, end)) = wgq::wire::dns::read_name(q, 12) else { continue };
                let qtype = u16::from_be_bytes([q[end], q[end + 1]]);
                me.queries.lock().unwrap().push((name.clone(), from));
                let answer = me.zone.lock().unwrap().get(&name).cloned();
                let Some(answer) = answer else { continue };
                let mut r = q[..end + 4].to_vec();
                r[2] = 0x81;
                r[3] = if answer.is_none() { 0x83 } else { 0x80 };
                let recs: Vec<Ipv4Addr> = if qtype == 1 { answer.unwrap_or_default() } else { Vec::new() };
                r[6] = 0;
                r[7] = recs.len() as u8;
                for a in recs {
                    r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4]);
                    r.extend_from_slice(&a.octets());
                }
                let _ = s.send_to(&r, from);
            }
        });
        rx.recv_timeout(Duration::from_secs(5)).expect("the DNS server started");
    }
}

impl World {
    fn new(tag: &str) -> World {
        let pid = std::process::id();
        let client = format!("wgqrr-{pid}-{tag}c");
        let internet = format!("wgqrr-{pid}-{tag}i");
        let w = World {
            client: common::Netns::new(client),
            internet: common::Netns::new(internet),
            dir: tempfile::tempdir().unwrap(),
            dns: Dns::default(),
        };
        let (c, i) = (w.client.name(), w.internet.name());
        for cmd in [
            format!("ip -n {c} link add cv0 type veth peer name iv0 netns {i}"),
            format!("ip -n {c} link set lo up"),
            format!("ip -n {i} link set lo up"),
            format!("ip -n {c} addr add 198.51.100.2/24 dev cv0"),
            format!("ip -n {i} addr add 198.51.100.1/24 dev iv0"),
            format!("ip -n {c} link set cv0 up"),
            format!("ip -n {i} link set iv0 up"),
            format!("ip -n {c} route add default via 198.51.100.1 dev cv0"),
            format!("ip -n {i} addr add 192.0.2.53/32 dev lo"),
        ] {
            sh(&cmd);
        }
        // A resolvconf that keeps its input in the test's directory (DNS= of a full tunnel).
        let bin = w.dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        common::write_file(
            &bin.join("resolvconf"),
            &format!(
                "#!/bin/bash\ncase \"$1\" in -a) cat >{d}/dns.$2;; -d) rm -f {d}/dns.$2;; esac\n",
                d = w.dir.path().display()
            ),
            0o755,
        );
        std::fs::create_dir_all(w.etc()).unwrap();
        w.write_etc("resolv.conf", "nameserver 192.0.2.53\n");
        w.write_etc("hosts", "127.0.0.1 localhost\n");
        w.dns.serve(w.internet.name());
        w
    }

    /// The client's /etc/netns directory (its hosts and resolv.conf).
    fn etc(&self) -> PathBuf {
        PathBuf::from(format!("/etc/netns/{}", self.client))
    }
    fn write_etc(&self, name: &str, body: &str) {
        std::fs::write(self.etc().join(name), body).unwrap();
    }

    fn wgq_in(&self, ns: &str, args: &[&str]) -> Output {
        let path = format!("{}:{}", self.dir.path().join("bin").display(), std::env::var("PATH").unwrap());
        Command::new("ip").args(["netns", "exec", ns, "env", &format!("PATH={path}"), WGQ]).args(args).output().unwrap()
    }
    fn client_wgq(&self, args: &[&str]) -> Output {
        self.wgq_in(self.client.name(), args)
    }

    fn conf(&self, ifname: &str, body: &str) -> String {
        common::write_conf(self.dir.path(), ifname, body).display().to_string()
    }

    /// A WireGuard server in the internet namespace on `port`, tunnel address `tun`; the
    /// client's allowed IPs `client_ips`.
    fn server(&self, ifname: &str, private: &str, port: u16, tun: &str, client_pub: &str, client_ips: &str) {
        let p = self.conf(
            ifname,
            &format!(
                "[Interface]\nPrivateKey = {private}\nListenPort = {port}\nAddress = {tun}/24\n\n\
                 [Peer]\nPublicKey = {client_pub}\nAllowedIPs = {client_ips}\n"
            ),
        );
        let o = self.wgq_in(self.internet.name(), &["up", &p]);
        assert!(o.status.success(), "server up: {}", text(&o));
    }

    /// `wg show IF dump` peer fields of `public`: (endpoint, latest handshake, rx, tx).
    fn peer(&self, ifname: &str, public: &str) -> (String, u64, u64, u64) {
        let o = self.client_wgq(&["wg", "show", ifname, "dump"]);
        let dump = String::from_utf8_lossy(&o.stdout).into_owned();
        let line = dump.lines().find(|l| l.starts_with(public)).unwrap_or_else(|| panic!("no peer {public} in {dump}"));
        let f: Vec<&str> = line.split('\t').collect();
        (f[2].to_string(), f[4].parse().unwrap(), f[5].parse().unwrap(), f[6].parse().unwrap())
    }

    /// Whether a ping from the client to `addr` (through the tunnel) is answered within
    /// `bound` (one-second tries).
    fn ping(&self, addr: &str, bound: Duration) -> bool {
        let t = Instant::now();
        while t.elapsed() < bound {
            let ok = Command::new("ip")
                .args(["netns", "exec", self.client.name(), "ping", "-c1", "-W1", addr])
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                return true;
            }
        }
        false
    }

    fn wait_handshake_after(&self, ifname: &str, public: &str, after: u64, bound: Duration) -> bool {
        let t = Instant::now();
        while t.elapsed() < bound {
            if self.peer(ifname, public).1 > after {
                return true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        // The namespace's own links only: `show all` lists every socket of /var/run/wireguard,
        // other namespaces' and other tests' too.
        let dump = |ns: &str| {
            let links = Command::new("ip").args(["-n", ns, "-o", "link", "show"]).output().unwrap();
            String::from_utf8_lossy(&links.stdout)
                .lines()
                .filter_map(|l| l.split(": ").nth(1).map(|n| n.split('@').next().unwrap_or(n).to_string()))
                .map(|n| String::from_utf8_lossy(&self.wgq_in(ns, &["wg", "show", &n, "dump"]).stdout).into_owned())
                .collect::<String>()
        };
        eprintln!("no handshake: client:\n{}internet:\n{}", dump(self.client.name()), dump(self.internet.name()));
        false
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.dns.stop.store(true, Ordering::Relaxed);
    }
}

fn ready() -> bool {
    common::ready(&["wireguard-go", "nft"])
}

fn ifname(tag: &str) -> String {
    format!("rr{}{tag}", common::pid_tag())
}

#[test]
fn a_moved_server_is_followed_and_nothing_else_is_touched() {
    if !ready() {
        return;
    }
    let w = World::new("m");
    let (cpriv, cpub) = key_pair();
    let (mpriv, mpub) = key_pair();
    let (spriv, spub) = key_pair();
    let (_, gpub) = key_pair();
    let (_, qpub) = key_pair();
    let i = &w.internet;
    sh(&format!("ip -n {i} addr add 203.0.113.10/32 dev lo && ip -n {i} addr add 203.0.113.30/32 dev lo"));
    let (ms, ss) = (ifname("ms"), ifname("ss"));
    w.server(&ms, &mpriv, 51820, "10.77.1.1", &cpub, "10.77.1.2/32");
    w.server(&ss, &spriv, 51821, "10.77.3.1", &cpub, "10.77.3.2/32");
    w.dns.set("moving.test", Some(&["203.0.113.10"]));
    w.dns.set("gone.test", None);
    // steady.test is only in the client's hosts file (which wins over DNS), with an IPv6
    // address first that the client has no route to (never chosen); quiet.test's queries
    // are never answered.
    w.write_etc("hosts", "127.0.0.1 localhost\n2001:db8::30 steady.test\n203.0.113.30 steady.test\n");
    w.dns.set("steady.test", Some(&["192.0.2.99"]));
    let ifc = ifname("c");
    let conf = w.conf(
        &ifc,
        &format!(
            "[Interface]\nPrivateKey = {cpriv}\nAddress = 10.77.1.2/32, 10.77.3.2/32\n\n\
             [Peer]\nPublicKey = {mpub}\nAllowedIPs = 10.77.1.0/24\nEndpoint = moving.test:51820\nPersistentKeepalive = 1\n\n\
             [Peer]\nPublicKey = {spub}\nAllowedIPs = 10.77.3.0/24\nEndpoint = steady.test:51821\n\n\
             [Peer]\nPublicKey = {gpub}\nAllowedIPs = 10.77.4.0/24\nEndpoint = 198.51.100.77:51820\n\n\
             [Peer]\nPublicKey = {qpub}\nAllowedIPs = 10.77.5.0/24\nEndpoint = 198.51.100.78:51820\n"
        ),
    );
    let o = w.client_wgq(&["up", &conf]);
    assert!(o.status.success(), "client up: {}", text(&o));
    // The gone and quiet peers were brought up with literal addresses; the file now names
    // them by names that fail (the device keeps running as it is).
    let body = std::fs::read_to_string(&conf)
        .unwrap()
        .replace("198.51.100.77:51820", "gone.test:51820")
        .replace("198.51.100.78:51820", "quiet.test:51820");
    std::fs::write(&conf, body).unwrap();
    let gone_line = std::fs::read_to_string(&conf).unwrap().lines().position(|l| l.contains("gone.test")).unwrap() + 1;
    let quiet_line = std::fs::read_to_string(&conf).unwrap().lines().position(|l| l.contains("quiet.test")).unwrap() + 1;
    // Handshakes with both servers (one ping to the steady one, which has no keepalive).
    let pinged = Instant::now();
    sh(&format!("ip netns exec {} ping -c1 -W2 -I 10.77.3.2 10.77.3.1 >/dev/null", w.client));
    assert!(w.wait_handshake_after(&ifc, &mpub, 0, Duration::from_secs(15)), "no first handshake with the moving server");
    assert!(w.wait_handshake_after(&ifc, &spub, 0, Duration::from_secs(15)), "no first handshake with the steady server");

    // The server moves: old address gone, the name re-pointed.
    sh(&format!("ip -n {i} addr del 203.0.113.10/32 dev lo && ip -n {i} addr add 203.0.113.20/32 dev lo"));
    w.dns.set("moving.test", Some(&["203.0.113.20"]));
    // Stale by 2 s, and past the keepalive WireGuard sends 10 s after the ping's reply (the
    // steady peer's counters then stay as they are).
    std::thread::sleep(Duration::from_secs(3).max(Duration::from_millis(11_500).saturating_sub(pinged.elapsed())));
    assert!(!w.ping("10.77.1.1", Duration::from_secs(1)), "the moved server still answers at its old address");
    let steady_before = w.peer(&ifc, &spub);
    assert_eq!(steady_before.0, "203.0.113.30:51821");

    let t = Instant::now();
    let o = w.client_wgq(&["reresolve", "--stale-after", "2", &conf]);
    let took = t.elapsed();
    let out = text(&o);
    eprintln!("first reresolve took {:.2} s:\n{out}", took.as_secs_f64());
    assert_eq!(o.status.code(), Some(1), "a failed peer makes the status 1: {out}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let traces: Vec<&str> = out.lines().filter(|l| l.starts_with("[#] ")).collect();
    assert_eq!(traces, [format!("[#] wg set {ifc} peer {mpub} endpoint 203.0.113.20:51820").as_str()], "{out}");
    assert!(out.contains(&format!("{conf}:{gone_line}: Endpoint: peer {gpub}: `gone.test': no such host")), "{out}");
    assert!(out.contains(&format!("{conf}:{quiet_line}: Endpoint: peer {qpub}: `quiet.test': no usable answer")), "{out}");
    assert!(w.dns.queries_for("steady.test").is_empty(), "/etc/hosts comes first");
    // The failed peers keep their endpoints; the moved one handshakes again.
    assert_eq!(w.peer(&ifc, &gpub).0, "198.51.100.77:51820");
    assert_eq!(w.peer(&ifc, &mpub).0, "203.0.113.20:51820");
    // The session of the last handshake is still valid (less than 180 s old), so WireGuard
    // needs no new handshake: traffic flows at the new address again.
    assert!(w.ping("10.77.1.1", Duration::from_secs(10)), "the moved server is not reached after reresolve");
    assert_eq!(w.peer(&ifc, &spub), steady_before, "the steady peer was touched");

    // Second run, everything stale and nothing changed: no trace line, no change.
    w.dns.set("gone.test", Some(&["198.51.100.77"]));
    w.dns.set("quiet.test", Some(&["198.51.100.78"]));
    let before = (w.peer(&ifc, &spub), w.peer(&ifc, &gpub).0);
    let o = w.client_wgq(&["reresolve", "--stale-after", "0", &conf]);
    assert_eq!(text(&o), "rc=Some(0)\n", "a second run changes nothing");
    assert_eq!((w.peer(&ifc, &spub), w.peer(&ifc, &gpub).0), before);
    // --dry-run prints what would change, and changes nothing.
    w.dns.set("gone.test", Some(&["198.51.100.79"]));
    let o = w.client_wgq(&["reresolve", "--dry-run", "--stale-after", "0", &conf]);
    assert_eq!(text(&o), format!("rc=Some(0)\n[#] wg set {ifc} peer {gpub} endpoint 198.51.100.79:51820\n"));
    assert_eq!(w.peer(&ifc, &gpub).0, "198.51.100.77:51820");
    // Only NXDOMAIN failures: reported at once (no retry loop), nothing changes.
    w.dns.set("gone.test", None);
    w.dns.set("quiet.test", None);
    let t = Instant::now();
    let o = w.client_wgq(&["reresolve", "--stale-after", "0", &conf]);
    let took = t.elapsed();
    let out = text(&o);
    eprintln!("NXDOMAIN-only reresolve took {:.3} s:\n{out}", took.as_secs_f64());
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert_eq!(out.matches("no such host (NXDOMAIN from 192.0.2.53:53)").count(), 2, "{out}");
    assert!(!out.contains("[#]"), "{out}");
    assert!(took < Duration::from_secs(2), "NXDOMAIN took {took:?}");
    assert_eq!(w.peer(&ifc, &gpub).0, "198.51.100.77:51820");
    // A peer removed from the device meanwhile is not created again (its name has a new
    // address: were it there, it would change).
    w.dns.set("gone.test", Some(&["198.51.100.79"]));
    w.dns.set("quiet.test", Some(&["198.51.100.78"]));
    let o = w.client_wgq(&["wg", "set", &ifc, "peer", &gpub, "remove"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = w.client_wgq(&["reresolve", "--stale-after", "0", &conf]);
    assert_eq!(text(&o), "rc=Some(0)\n");
    let dump = String::from_utf8_lossy(&w.client_wgq(&["wg", "show", &ifc, "peers"]).stdout).into_owned();
    assert!(!dump.contains(&gpub), "{dump}");
}

#[test]
fn a_dead_full_tunnel_resolves_outside_it_with_the_fwmark() {
    if !ready() {
        return;
    }
    full_tunnel(false);
}

/// The same for a full tunnel wg-quick brought up (no DNS=, no wgq run state): the queries
/// go to resolv.conf's server, marked, on the physical link.
#[test]
fn a_full_tunnel_of_wg_quick_is_followed_without_run_state() {
    if !ready() || !common::ready(&["wg-quick", "wg"]) {
        return;
    }
    full_tunnel(true);
}

fn full_tunnel(by_wg_quick: bool) {
    let w = World::new(if by_wg_quick { "q" } else { "f" });
    let (cpriv, cpub) = key_pair();
    let (mpriv, mpub) = key_pair();
    let i = &w.internet;
    sh(&format!("ip -n {i} addr add 203.0.113.40/32 dev lo"));
    let ms = ifname(if by_wg_quick { "qs" } else { "fs" });
    w.server(&ms, &mpriv, 51822, "10.77.2.1", &cpub, "10.77.2.2/32");
    w.dns.set("moving2.test", Some(&["203.0.113.40"]));
    let ifc = ifname(if by_wg_quick { "q" } else { "f" });
    let dns = if by_wg_quick { "" } else { "DNS = 10.77.2.53\n" };
    let conf = w.conf(
        &ifc,
        &format!(
            "[Interface]\nPrivateKey = {cpriv}\nAddress = 10.77.2.2/32\n{dns}\n\
             [Peer]\nPublicKey = {mpub}\nAllowedIPs = 0.0.0.0/0\nEndpoint = moving2.test:51822\nPersistentKeepalive = 1\n"
        ),
    );
    let o = if by_wg_quick {
        Command::new("ip").args(["netns", "exec", w.client.name(), "wg-quick", "up", &conf]).output().unwrap()
    } else {
        w.client_wgq(&["up", &conf])
    };
    assert!(o.status.success(), "client up: {}", text(&o));
    assert!(w.wait_handshake_after(&ifc, &mpub, 0, Duration::from_secs(15)), "no first handshake");
    let mark = String::from_utf8_lossy(&w.client_wgq(&["wg", "show", &ifc, "fwmark"]).stdout).trim().to_string();
    assert_ne!(mark, "off", "a full tunnel has a fwmark");
    if !by_wg_quick {
        // What resolvconf would leave: the tunnel's server, unreachable now. Only the
        // record of `up` still knows the host's server.
        w.write_etc("resolv.conf", "nameserver 10.77.2.53\n");
    }
    let c = &w.client;
    sh(&format!(
        "ip netns exec {c} nft -f - <<'EOF'\ntable inet wgqrrtest {{\n chain out {{ type filter hook output priority 0; policy accept;\n  \
         oifname \"cv0\" udp dport 53 meta mark {mark} counter comment \"phys\"\n  \
         oifname \"{ifc}\" udp dport 53 counter comment \"tunnel\"\n }}\n}}\nEOF"
    ));
    // The server moves; the tunnel is dead.
    sh(&format!("ip -n {i} addr del 203.0.113.40/32 dev lo && ip -n {i} addr add 203.0.113.41/32 dev lo"));
    w.dns.set("moving2.test", Some(&["203.0.113.41"]));
    std::thread::sleep(Duration::from_secs(3));
    assert!(!w.ping("10.77.2.1", Duration::from_secs(1)), "the tunnel is not dead");
    let asked_before = w.dns.queries_for("moving2.test").len();

    let t = Instant::now();
    let o = w.client_wgq(&["reresolve", "--stale-after", "2", &conf]);
    let out = text(&o);
    eprintln!("full-tunnel reresolve took {:.2} s:\n{out}", t.elapsed().as_secs_f64());
    assert_eq!(out, format!("rc=Some(0)\n[#] wg set {ifc} peer {mpub} endpoint 203.0.113.41:51822\n"));
    let asked: Vec<SocketAddr> = w.dns.queries_for("moving2.test")[asked_before..].to_vec();
    assert!(!asked.is_empty() && asked.iter().all(|a| a.ip().to_string() == "198.51.100.2"), "{asked:?}");
    let counters = sh(&format!("ip netns exec {c} nft list table inet wgqrrtest"));
    let packets = |tag: &str| -> u64 {
        let l = counters.lines().find(|l| l.contains(&format!("comment \"{tag}\""))).unwrap();
        l.split("packets ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap()
    };
    assert!(packets("phys") >= 2, "A and AAAA queries on the physical link with mark {mark}:\n{counters}");
    assert_eq!(packets("tunnel"), 0, "no query into the tunnel:\n{counters}");
    assert!(w.ping("10.77.2.1", Duration::from_secs(10)), "the tunnel does not work again after reresolve");
    if by_wg_quick {
        let o = Command::new("ip").args(["netns", "exec", w.client.name(), "wg-quick", "down", &conf]).output().unwrap();
        assert!(o.status.success(), "wg-quick down: {}", text(&o));
    }
}

/// A strict kill switch left in place by `down` rejects every unmarked packet, getaddrinfo's
/// DNS queries too; the next `up` looks its endpoint's name up with the fwmark the switch
/// lets out, from the host's name server on the physical link, and the tunnel works.
#[test]
fn up_behind_a_strict_kill_switch_resolves_its_endpoint_with_the_fwmark() {
    if !ready() {
        return;
    }
    let w = World::new("k");
    let (cpriv, cpub) = key_pair();
    let (mpriv, mpub) = key_pair();
    let i = &w.internet;
    sh(&format!("ip -n {i} addr add 203.0.113.42/32 dev lo"));
    let ms = ifname("ks");
    w.server(&ms, &mpriv, 51823, "10.77.3.1", &cpub, "10.77.3.2/32");
    w.dns.set("strict.test", Some(&["203.0.113.42"]));
    let ifc = ifname("k");
    let conf = w.conf(
        &ifc,
        &format!(
            "[Interface]\nPrivateKey = {cpriv}\nAddress = 10.77.3.2/32\n\n\
             [Peer]\nPublicKey = {mpub}\nAllowedIPs = 0.0.0.0/0\nEndpoint = strict.test:51823\nPersistentKeepalive = 1\n"
        ),
    );
    let o = w.client_wgq(&["up", "--kill-switch=strict", &conf]);
    assert!(o.status.success(), "client up: {}", text(&o));
    assert!(w.wait_handshake_after(&ifc, &mpub, 0, Duration::from_secs(15)), "no first handshake");
    let o = w.client_wgq(&["down", &conf]);
    assert!(o.status.success(), "client down: {}", text(&o));
    let c = w.client.name();
    // The switch stays, and it really rejects an ordinary lookup of the name.
    let getent = Command::new("ip").args(["netns", "exec", c, "getent", "ahosts", "strict.test"]).output().unwrap();
    assert!(!getent.status.success(), "getaddrinfo got past the strict kill switch: {}", text(&getent));
    let asked_before = w.dns.queries_for("strict.test").len();

    let o = w.client_wgq(&["up", &conf]);
    assert!(o.status.success(), "up behind the strict kill switch: {}", text(&o));
    let asked: Vec<SocketAddr> = w.dns.queries_for("strict.test")[asked_before..].to_vec();
    assert!(!asked.is_empty() && asked.iter().all(|a| a.ip().to_string() == "198.51.100.2"), "{asked:?}");
    assert_eq!(w.peer(&ifc, &mpub).0, "203.0.113.42:51823");
    assert!(w.ping("10.77.3.1", Duration::from_secs(10)), "no traffic through the tunnel");
    let o = w.client_wgq(&["down", "--kill-switch=off", &conf]);
    assert!(o.status.success(), "down --kill-switch=off: {}", text(&o));
    let tables = sh(&format!("ip netns exec {c} nft list tables"));
    assert!(!tables.contains("wgq-killswitch"), "{tables}");
}
