//! Issue 17 in network namespaces (root; wireguard-go, nft; wg-quick and wg for one client
//! and the server file's check): `wgq server init` on a server host, three `wgq peer add`
//! applied live (one client with its own key, one disabled afterwards), each client brought
//! up on its own host (one with the real wg-quick), pings to the server and through its NAT
//! to a host behind it; `peer remove` ends one client's traffic at once while the others
//! keep their sessions. Names carry the process id; files live in a temporary directory.

mod common;

use std::path::Path;
use std::process::{Command, Output};

const WGQ: &str = env!("CARGO_BIN_EXE_wgq");

fn sh(c: &str) -> Output {
    Command::new("bash").arg("-c").arg(c).output().unwrap()
}

fn ok(c: &str) -> String {
    let o = sh(c);
    assert!(o.status.success(), "{c}: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn pings(ns: &str, to: &str) -> bool {
    sh(&format!("ip netns exec {ns} ping -c 1 -W 2 {to}")).status.success()
}

/// The latest handshake (seconds since the epoch) of each peer of a server interface.
fn handshakes(ns: &str, ifname: &str) -> Vec<(String, u64)> {
    let out = ok(&format!("ip netns exec {ns} wg show {ifname} latest-handshakes"));
    let mut v: Vec<(String, u64)> = out
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_server_and_three_clients_end_to_end() {
    if !common::ready(&["wireguard-go", "nft", "wg", "wg-quick", "ping"]) {
        return;
    }
    let id = common::pid_tag();
    let (srv, host) = (format!("pvs-{id}"), format!("pvh-{id}"));
    let clients: Vec<String> = (1..=3).map(|i| format!("pvc{i}-{id}")).collect();
    let mut all = vec![srv.clone(), host.clone()];
    all.extend(clients.iter().cloned());
    let _netns: Vec<common::Netns> = all.iter().map(common::Netns::new).collect();
    for n in &all {
        ok(&format!("ip -n {n} link set lo up"));
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    // The host behind the server: 203.0.113.0/24, with no route back to the VPN pool (only
    // NAT brings the clients' packets back).
    ok(&format!(
        "ip link add up{id} netns {srv} type veth peer name eth0 netns {host} && \
         ip -n {srv} addr add 203.0.113.1/24 dev up{id} && ip -n {srv} link set up{id} up && \
         ip -n {host} addr add 203.0.113.2/24 dev eth0 && ip -n {host} link set eth0 up"
    ));
    // Each client on its own link to the server: 192.0.2.(4i+1) server, .(4i+2) client.
    for (i, c) in clients.iter().enumerate() {
        let (s, cl) = (4 * i + 1, 4 * i + 2);
        ok(&format!(
            "ip link add l{i}-{id} netns {srv} type veth peer name eth0 netns {c} && \
             ip -n {srv} addr add 192.0.2.{s}/30 dev l{i}-{id} && ip -n {srv} link set l{i}-{id} up && \
             ip -n {c} addr add 192.0.2.{cl}/30 dev eth0 && ip -n {c} link set eth0 up && \
             ip -n {c} route add default via 192.0.2.{s}"
        ));
    }
    let ifname = format!("wgs{id}");
    let conf = format!("{d}/{ifname}.conf");
    let init = ok(&format!(
        "ip netns exec {srv} {WGQ} server init {ifname} --config-dir {d} --address 10.77.0.1/24,fd77::1/64 \
         --endpoint 192.0.2.1 --out-dev up{id} --sysctl-dir {d}/sysctl 2>&1"
    ));
    assert!(init.contains(&format!("wrote {conf}")), "{init}");
    assert_eq!(ok(&format!("ip netns exec {srv} cat /proc/sys/net/ipv4/ip_forward")).trim(), "1");
    assert!(ok(&format!("cat {d}/sysctl/99-wgq-{ifname}.conf")).contains("net.ipv4.ip_forward = 1"));
    ok(&format!("{WGQ} check {conf}"));
    ok(&format!("ip netns exec {srv} {WGQ} up {conf}"));
    // Three clients, added live; each reaches the server over its own link.
    let names: Vec<String> = (1..=3).map(|i| format!("c{i}x{id}")).collect();
    ok(&format!("ip netns exec {srv} {WGQ} peer add {ifname} {} --config-dir {d} --endpoint 192.0.2.1", names[0]));
    let own = ok(&format!("{WGQ} genkey")).trim().to_string();
    let own_pub = ok(&format!("echo {own} | {WGQ} pubkey")).trim().to_string();
    ok(&format!(
        "ip netns exec {srv} {WGQ} peer add {ifname} {} --config-dir {d} --endpoint 192.0.2.5 --pubkey {own_pub} \
         --allowed-ips 10.77.0.0/24,fd77::/64,203.0.113.0/24",
        names[1]
    ));
    ok(&format!(
        "ip netns exec {srv} {WGQ} peer add {ifname} {} --config-dir {d} --endpoint 192.0.2.9 \
         --allowed-ips 10.77.0.0/24,fd77::/64,203.0.113.0/24",
        names[2]
    ));
    let dev = ok(&format!("ip netns exec {srv} wg show {ifname} allowed-ips"));
    assert_eq!(dev.lines().count(), 3, "{dev}");
    assert!(dev.contains("10.77.0.2/32") && dev.contains("10.77.0.4/32") && dev.contains("fd77::3/128"), "{dev}");
    // The client files: 0600; the one with its own key gets its private key put in.
    let cdir = format!("{d}/clients/{ifname}");
    assert_eq!(ok(&format!("stat -c %a {cdir} {cdir}/{}.conf", names[0])), "700\n600\n");
    let with_key = ok(&format!("cat {cdir}/{}.conf", names[1]))
        .replace("# PrivateKey = (the client's own key, made on the client: `wg genkey`)", &format!("PrivateKey = {own}"));
    for (i, c) in clients.iter().enumerate() {
        let cd = format!("{d}/{c}");
        ok(&format!("mkdir -m 700 {cd}"));
        let body = if i == 1 { with_key.clone() } else { ok(&format!("cat {cdir}/{}.conf", names[i])) };
        std::fs::write(format!("{cd}/{}.conf", names[i]), body).unwrap();
        ok(&format!("chmod 600 {cd}/{}.conf", names[i]));
        // The second client with the real wg-quick (DNS lines would need resolvconf).
        let up = if i == 1 { "wg-quick up" } else { &format!("{WGQ} up") as &str };
        ok(&format!("sed -i '/^DNS = /d' {cd}/{n}.conf && ip netns exec {c} {up} {cd}/{n}.conf", n = names[i]));
    }
    for (i, c) in clients.iter().enumerate() {
        assert!(pings(c, "10.77.0.1"), "client {i} cannot ping the server");
        assert!(pings(c, "203.0.113.2"), "client {i} cannot reach the host behind the server (NAT)");
    }
    assert!(pings(&clients[0], "fd77::1"), "IPv6 through the tunnel");
    // Disable the third: its traffic ends, its address stays reserved.
    ok(&format!("ip netns exec {srv} {WGQ} peer disable {ifname} {} --config-dir {d}", names[2]));
    assert!(!pings(&clients[2], "10.77.0.1"), "a disabled client still reaches the server");
    assert!(ok(&format!("cat {conf}")).contains(&format!("#- # Name = {}", names[2])));
    // Remove the first while the second keeps its session: handshake times unchanged.
    let before = handshakes(&srv, &ifname);
    assert!(before.iter().any(|(k, t)| k == &own_pub && *t > 0), "{before:?}");
    ok(&format!("ip netns exec {srv} {WGQ} peer remove {ifname} {} --config-dir {d}", names[0]));
    assert!(!pings(&clients[0], "10.77.0.1"), "a removed client still reaches the server");
    assert!(pings(&clients[1], "10.77.0.1"));
    let after = handshakes(&srv, &ifname);
    let t = |v: &[(String, u64)]| v.iter().find(|(k, _)| k == &own_pub).map(|(_, t)| *t);
    assert_eq!(t(&before), t(&after), "the other client's session was renewed");
    assert_eq!(after.len(), 1, "{after:?}");
    // The list, live.
    let list = ok(&format!("ip netns exec {srv} {WGQ} peer list {ifname} --config-dir {d} --json"));
    assert!(list.contains(&format!("\"name\": \"{}\"", names[1])) && list.contains("\"running\": true"), "{list}");
    assert!(list.contains("\"enabled\": false"), "{list}");
    // A LAN behind a client: the dry run shows one device change and its route; applied,
    // the route is there (and recorded as wgq's), and goes with the peer.
    let lan = format!("c4x{id}");
    let dry =
        ok(&format!("ip netns exec {srv} {WGQ} peer add {ifname} {lan} --config-dir {d} --route 198.51.100.0/24 --dry-run"));
    assert!(
        dry.contains(&format!("[#] wg set {ifname} peer "))
            && dry.contains("allowed-ips 10.77.0.2/32,fd77::2/128,198.51.100.0/24"),
        "{dry}"
    );
    assert!(dry.contains(&format!("[#] ip -4 route add 198.51.100.0/24 dev {ifname}\n")), "{dry}");
    ok(&format!("ip netns exec {srv} {WGQ} peer add {ifname} {lan} --config-dir {d} --route 198.51.100.0/24"));
    assert!(ok(&format!("ip -n {srv} route show dev {ifname}")).contains("198.51.100.0/24"));
    let state = ok(&format!("cat /run/wgq/ns-*/{ifname}.state 2>/dev/null || true"));
    assert!(state.contains("route=198.51.100.0/24 254"), "{state}");
    ok(&format!("ip netns exec {srv} {WGQ} peer remove {ifname} {lan} --config-dir {d}"));
    assert!(!ok(&format!("ip -n {srv} route show dev {ifname}")).contains("198.51.100.0/24"));
    // A reload afterwards has nothing to do: the live state is the file's.
    let r = ok(&format!("ip netns exec {srv} {WGQ} reload --dry-run {conf}"));
    assert!(r.trim().is_empty(), "reload would change: {r}");
    // The server file is still wg-quick's: it brings up a copy of it in a fresh namespace.
    let other = format!("wgx{id}");
    let copy = format!("{d}/{other}.conf");
    ok(&format!("cp {conf} {copy}"));
    let fresh = format!("pvw-{id}");
    let _c2 = common::Netns::new(&fresh);
    ok(&format!("ip -n {fresh} link set lo up"));
    ok(&format!("ip netns exec {fresh} wg-quick up {copy} && ip netns exec {fresh} wg show {other} peers"));
    let peers = ok(&format!("ip netns exec {fresh} wg show {other} peers"));
    assert_eq!(peers.lines().count(), 1, "the disabled peer is a comment for wg-quick: {peers}");
    ok(&format!("ip netns exec {fresh} wg-quick down {copy}"));
    ok(&format!("ip netns exec {clients1} wg-quick down {d}/{clients1}/{n}.conf", clients1 = clients[1], n = names[1]));
    ok(&format!("ip netns exec {srv} {WGQ} down {conf}"));
    let _ = Path::new(&d);
}
