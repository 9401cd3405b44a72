//! Issue 13 in network namespaces (root; wireguard-go, and wg-quick for the stale-record
//! case): a shared peers list that includes each node itself, and run state kept per
//! namespace.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

const WGQ: &str = env!("CARGO_BIN_EXE_wgq");
const K: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const P: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

fn sh(c: &str) -> Output {
    Command::new("bash").arg("-c").arg(c).output().unwrap()
}

fn ok(c: &str) {
    let o = sh(c);
    assert!(o.status.success(), "{c}: {}", String::from_utf8_lossy(&o.stderr));
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

fn wgq_in(ns: &str, args: &[&str]) -> Output {
    Command::new("ip").args(["netns", "exec", ns, WGQ]).args(args).output().unwrap()
}

fn key_pair() -> (String, String) {
    let private = String::from_utf8(Command::new(WGQ).arg("genkey").output().unwrap().stdout).unwrap().trim().to_string();
    let mut c =
        Command::new(WGQ).arg("pubkey").stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    c.stdin.take().unwrap().write_all(format!("{private}\n").as_bytes()).unwrap();
    let public = String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap().trim().to_string();
    (private, public)
}

/// The observable state of a namespace (interface names as given).
fn state(ns: &str) -> String {
    let o = sh(&format!(
        "ip -n {ns} -o addr show | grep -v fe80 | sed -E 's/\\\\ +valid_lft.*//'; ip -n {ns} -4 route show table all; \
         ip -n {ns} -6 route show table all | grep -v fe80; ip -n {ns} -4 rule; ip -n {ns} -6 rule; \
         ip netns exec {ns} nft list ruleset"
    ));
    let mut v: Vec<&str> = std::str::from_utf8(&o.stdout).unwrap().lines().collect();
    v.sort();
    v.join("\n")
}

/// The guide's mesh: every node's file holds its [Interface] and the same peers list with
/// all three nodes, itself included. Each node also has a LAN behind it whose prefix is in
/// the shared list: a route for the own entry would collide with the LAN's connected route.
#[test]
fn three_nodes_share_one_peers_list_that_includes_themselves() {
    if !common::ready(&["wireguard-go"]) {
        return;
    }
    let id = common::pid_tag();
    let sw = format!("wgq3sw-{id}");
    let nodes: Vec<String> = (1..=3).map(|i| format!("wgq3n{i}-{id}")).collect();
    let _netns: Vec<common::Netns> = std::iter::once(&sw).chain(&nodes).map(common::Netns::new).collect();
    let dir = tempfile::tempdir().unwrap();
    ok(&format!("ip -n {sw} link add br0 type bridge && ip -n {sw} link set br0 up"));
    let keys: Vec<(String, String)> = (0..3).map(|_| key_pair()).collect();
    let mut shared = String::new();
    for (i, (_, public)) in keys.iter().enumerate() {
        let n = i + 1;
        shared.push_str(&format!(
            "[Peer]\n# node {n}\nPublicKey = {public}\nAllowedIPs = 10.77.0.{n}/32, 10.78.{n}.0/24, fd00:77::{n}/128\n\
             Endpoint = 192.0.2.{n}:51820\n\n"
        ));
    }
    let mut confs = Vec::new();
    for (i, ns) in nodes.iter().enumerate() {
        let n = i + 1;
        ok(&format!(
            "ip -n {ns} link set lo up && ip -n {sw} link add s{n} type veth peer name up0 netns {ns} && \
             ip -n {sw} link set s{n} master br0 up && ip -n {ns} addr add 192.0.2.{n}/24 dev up0 && ip -n {ns} link set up0 up && \
             ip -n {ns} link add lan0 type veth peer name lan1 && ip -n {ns} addr add 10.78.{n}.1/24 dev lan0 && \
             ip -n {ns} link set lan0 up && ip -n {ns} link set lan1 up"
        ));
        let ifname = format!("wt{id}m{n}");
        let body = format!(
            "[Interface]\nPrivateKey = {}\nListenPort = 51820\nAddress = 10.77.0.{n}/24, fd00:77::{n}/64\n\n{shared}",
            keys[i].0
        );
        confs.push((ns.clone(), ifname.clone(), common::write_conf(dir.path(), &ifname, &body)));
    }
    let before: Vec<String> = nodes.iter().map(|n| state(n)).collect();
    for (ns, _, conf) in &confs {
        let o = wgq_in(ns, &["up", conf.to_str().unwrap()]);
        assert!(o.status.success(), "up in {ns}: {}", text(&o));
        // No route for the node's own LAN or address through the tunnel.
        let routes = text(&sh(&format!("ip -n {ns} route show")));
        let n = &ns[5..6];
        assert!(!routes.contains(&format!("10.78.{n}.0/24 dev wt")), "{ns} routes its own LAN into the tunnel:\n{routes}");
    }
    for (i, (ns, ifname, _)) in confs.iter().enumerate() {
        // The device holds the other two nodes only.
        let peers = text(&sh(&format!("ip netns exec {ns} wg show {ifname} peers")));
        assert_eq!(peers.lines().count(), 2, "{ns}: {peers}");
        assert!(!peers.contains(&keys[i].1), "{ns} holds itself as a peer");
        for m in 1..=3 {
            if m == i + 1 {
                continue;
            }
            for target in [format!("10.77.0.{m}"), format!("10.78.{m}.1")] {
                let o = sh(&format!("ip netns exec {ns} ping -c 1 -W 3 {target}"));
                assert!(o.status.success(), "{ns} cannot reach {target}: {}", text(&o));
            }
            let o = sh(&format!("ip netns exec {ns} ping -6 -c 1 -W 3 fd00:77::{m}"));
            assert!(o.status.success(), "{ns} cannot reach fd00:77::{m}: {}", text(&o));
        }
    }
    for (ns, ifname, conf) in &confs {
        // Nothing to do: the own entry is not a difference.
        let o = wgq_in(ns, &["reload", "--dry-run", conf.to_str().unwrap()]);
        assert!(o.status.success() && o.stdout.is_empty(), "reload --dry-run in {ns} plans something:\n{}", text(&o));
        let o = wgq_in(ns, &["reload", conf.to_str().unwrap()]);
        assert!(o.status.success(), "reload in {ns}: {}", text(&o));
        assert!(!text(&o).contains("[#]"), "a no-op reload in {ns} changed something:\n{}", text(&o));
        let peers = text(&sh(&format!("ip netns exec {ns} wg show {ifname} peers")));
        assert_eq!(peers.lines().count(), 2, "{ns} after reload: {peers}");
    }
    for (i, (ns, _, conf)) in confs.iter().enumerate() {
        let o = wgq_in(ns, &["down", conf.to_str().unwrap()]);
        assert!(o.status.success(), "down in {ns}: {}", text(&o));
        assert_eq!(state(ns), before[i], "down in {ns} did not restore the state before up");
    }
}

/// The run-state directory that holds `ifname`'s record, if any.
fn record_dir(ifname: &str) -> Option<PathBuf> {
    std::fs::read_dir("/run/wgq").ok()?.flatten().map(|e| e.path()).find(|d| d.join(format!("{ifname}.state")).exists())
}

/// A namespace deleted while its interface was up leaves wgq's record behind. A same-named
/// interface brought up later in another namespace (here by wg-quick, with a different
/// table) is taken down by what runs there, not by the old record; the old record's
/// directory is collected.
#[test]
fn a_record_left_by_a_deleted_namespace_never_steers_down_elsewhere() {
    if !common::ready(&["wireguard-go", "wg-quick", "nft"]) {
        return;
    }
    let id = common::pid_tag();
    let (a, b) = (format!("wgqsta-{id}"), format!("wgqstb-{id}"));
    let (netns_a, _netns_b) = (common::Netns::new(&a), common::Netns::new(&b));
    let ifname = format!("wgst{id}");
    let dir = tempfile::tempdir().unwrap();
    let conf = common::write_conf(
        dir.path(),
        &ifname,
        &format!(
            "[Interface]\nPrivateKey = {K}\nAddress = 10.8.9.2/32\n[Peer]\nPublicKey = {P}\nAllowedIPs = 0.0.0.0/0\n\
             Endpoint = 192.0.2.9:51820\n"
        ),
    );
    let conf = conf.to_str().unwrap();
    for ns in [&a, &b] {
        ok(&format!(
            "ip -n {ns} link set lo up && ip -n {ns} link add v0 type veth peer name v1 && \
             ip -n {ns} addr add 192.0.2.1/24 dev v0 && ip -n {ns} link set v0 up && ip -n {ns} link set v1 up && \
             ip -n {ns} route add default via 192.0.2.2"
        ));
    }
    // In a: wgq's full tunnel, on table 51820.
    let o = wgq_in(&a, &["up", conf]);
    assert!(o.status.success(), "up in a: {}", text(&o));
    let stale = record_dir(&ifname).expect("up in a left no record");
    assert!(std::fs::read_to_string(stale.join(format!("{ifname}.state"))).unwrap().contains("table=51820"));
    drop(netns_a);
    let _ = std::fs::remove_file(format!("/var/run/wireguard/{ifname}.sock"));
    // In b: another tunnel's rules for table 51820 and a route there, so wg-quick takes 51821.
    ok(&format!(
        "ip -n {b} route add 203.0.113.0/24 dev v0 table 51820 && ip -n {b} rule add not fwmark 51820 table 51820 && \
         ip -n {b} rule add table main suppress_prefixlength 0"
    ));
    let before = state(&b);
    let o = Command::new("ip")
        .args(["netns", "exec", &b, "env", "WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go", "wg-quick", "up", conf])
        .output()
        .unwrap();
    assert!(o.status.success(), "wg-quick up in b: {}", text(&o));
    assert!(text(&sh(&format!("ip -n {b} rule"))).contains("lookup 51821"), "wg-quick did not take table 51821");
    let o = wgq_in(&b, &["down", conf]);
    assert!(o.status.success(), "down in b: {}", text(&o));
    assert_eq!(state(&b), before, "down in b was steered by a's record (or left b's own state behind)");
    assert!(!stale.exists(), "the deleted namespace's run state {} was not collected", stale.display());
    assert!(record_dir(&ifname).is_none(), "a record of {ifname} is left");
    // The same name brought up by wgq in b: its own record, table 51821, and a clean down.
    let o = wgq_in(&b, &["up", conf]);
    assert!(o.status.success(), "wgq up in b: {}", text(&o));
    assert!(
        std::fs::read_to_string(record_dir(&ifname).unwrap().join(format!("{ifname}.state"))).unwrap().contains("table=51821")
    );
    let o = wgq_in(&b, &["down", conf]);
    assert!(o.status.success(), "wgq down in b: {}", text(&o));
    assert_eq!(state(&b), before, "wgq up/down in b left state behind");
}

/// Records and locks go with their interface: after up/down in a namespace that is then
/// deleted, and up/down in one that stays, nothing of these interfaces is left in /run/wgq.
#[test]
fn run_state_does_not_pile_up() {
    if !common::ready(&["wireguard-go"]) {
        return;
    }
    let id = common::pid_tag();
    let ns = format!("wgqpile-{id}");
    let _netns = common::Netns::new(&ns);
    ok(&format!("ip -n {ns} link set lo up"));
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for n in 0..3 {
        let ifname = format!("wgpl{id}{n}");
        let body = format!("[Interface]\nPrivateKey = {K}\nAddress = 10.8.10.{}/32\n", n + 1);
        // A failing up (PostUp fails, everything is rolled back), then a good up and a down.
        let conf = common::write_conf(dir.path(), &ifname, &format!("{body}PostUp = false\n"));
        let conf = conf.to_str().unwrap();
        assert!(!wgq_in(&ns, &["up", conf]).status.success());
        common::write_conf(dir.path(), &ifname, &body);
        assert!(wgq_in(&ns, &["up", conf]).status.success());
        assert!(record_dir(&ifname).is_some(), "no record while {ifname} is up");
        assert!(wgq_in(&ns, &["down", conf]).status.success());
        names.push(ifname);
    }
    let left = sh("find /run/wgq -type f");
    let left = text(&left);
    for n in &names {
        assert!(!left.contains(n.as_str()), "run state of {n} left behind:\n{left}");
    }
}

/// `up --dry-run` with PreUp hooks prints what it knows and says the rest is planned after
/// the hooks ran.
#[test]
fn dry_run_with_pre_up_hooks_says_the_rest_comes_after_them() {
    if !common::ready(&[]) {
        return;
    }
    let id = common::pid_tag();
    let ns = format!("wgqdry-{id}");
    let _netns = common::Netns::new(&ns);
    ok(&format!("ip -n {ns} link set lo up"));
    let dir = tempfile::tempdir().unwrap();
    let ifname = format!("wgdr{id}");
    let conf = common::write_conf(
        dir.path(),
        &ifname,
        &format!(
            "[Interface]\nPrivateKey = {K}\nAddress = 10.8.11.1/24\nPreUp = true\n[Peer]\nPublicKey = {P}\nAllowedIPs = 10.9.0.0/16\n"
        ),
    );
    let o = wgq_in(&ns, &["up", "--dry-run", conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let note = out.find("planned after the PreUp hooks ran").expect(&out);
    assert!(out.find("[#] true").unwrap() < note && note < out.find("ip -4 route add 10.9.0.0/16").unwrap(), "{out}");
    // Without PreUp hooks there is nothing to defer.
    let plain = common::write_conf(dir.path(), &ifname, &format!("[Interface]\nPrivateKey = {K}\nAddress = 10.8.11.1/24\n"));
    let o = wgq_in(&ns, &["up", "--dry-run", plain.to_str().unwrap()]);
    assert!(o.status.success() && !String::from_utf8_lossy(&o.stdout).contains("PreUp"), "{}", text(&o));
}
