//! Plans for the reference's §10 scenarios, checked without root: the trace a plan
//! prints, and (through the fake system) that every failure or signal rolls back to
//! exactly the state before.

use std::collections::BTreeSet;
use std::path::Path;

use wgq::config::{self, Config};
use wgq::device::DeviceConfig;
use wgq::plan::exec::Executor;
use wgq::plan::{self, DownFacts, ObservedRule, Plan, UpFacts, UpRecord};
use wgq::system::fake::FakeSystem;

const K: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const P: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
const P2: &str = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";

fn cfg(text: &str) -> Config {
    config::parse(text.as_bytes(), Path::new("/etc/wireguard/wgt0.conf")).expect("valid config")
}

fn facts(c: &Config) -> UpFacts {
    UpFacts {
        device: DeviceConfig { private_key: c.interface.private_key.clone(), ..Default::default() }.into(),
        endpoint_mtus: vec![1400],
        default_route_mtu: Some(1460),
        tables_in_use: BTreeSet::from([254, 255]),
        named_table: None,
        nft_available: true,
        resolvconf_name: "wgt0".into(),
        dns_backend: Default::default(),
        src_valid_mark_set: false,
        own_public_key: None,
        after_pre_up: None,
        kill_switch: None,
        kill_switch_present: None,
        kill_switch_jumps: [false; 2],
        kernel: None,
        other_switches: Vec::new(),
        other_tunnels: Vec::new(),
    }
}

fn trace(p: &Plan) -> Vec<String> {
    p.ops.iter().flat_map(|o| o.trace(&p.interface)).collect()
}

fn up(text: &str) -> (Config, Plan) {
    let c = cfg(text);
    let f = facts(&c);
    let p = plan::plan_up(&c, "wgt0", &f).expect("plan");
    (c, p)
}

#[test]
fn split_tunnel_skips_covered_prefixes() {
    // Reference §10 scenario 20.
    let (_, p) = up(&format!(
        "[Interface]\nPrivateKey = {K}\nAddress = 10.9.0.1/24, fd00:9::1/64\nPostUp = echo up %i\n\
         [Peer]\nPublicKey = {P}\nAllowedIPs = 10.9.0.0/24, 192.168.99.0/24, 10.10.10.10/32, fd00:9::/64\n\
         Endpoint = 198.51.100.7:51820\n"
    ));
    assert_eq!(
        trace(&p),
        [
            "ip link add dev wgt0 type wireguard",
            "wg addconf wgt0 /dev/fd/63",
            "ip -4 address add 10.9.0.1/24 dev wgt0",
            "ip -6 address add fd00:9::1/64 dev wgt0",
            "ip link set mtu 1320 up dev wgt0",
            "ip -4 route add 10.10.10.10/32 dev wgt0",
            "ip -4 route add 192.168.99.0/24 dev wgt0",
            "echo up wgt0",
        ]
    );
}

#[test]
fn route_order_follows_sort_nr() {
    // Scenario 22.
    let (_, p) = up(&format!(
        "[Interface]\nPrivateKey = {K}\nAddress = 10.7.0.2/24\n[Peer]\nPublicKey = {P}\n\
         AllowedIPs = 10.7.0.0/25, 10.7.0.0/16, 0.0.0.0/1, 128.0.0.0/1\n"
    ));
    let t = trace(&p);
    let routes: Vec<&String> = t.iter().filter(|l| l.contains("route add")).collect();
    assert_eq!(
        routes,
        ["ip -4 route add 10.7.0.0/16 dev wgt0", "ip -4 route add 128.0.0.0/1 dev wgt0", "ip -4 route add 0.0.0.0/1 dev wgt0"]
    );
    assert!(!t.iter().any(|l| l.contains("fwmark")));
}

#[test]
fn table_off_adds_no_routes() {
    // Scenario 23.
    let (_, p) = up(&format!("[Interface]\nPrivateKey = {K}\nTable = off\n[Peer]\nPublicKey = {P}\nAllowedIPs = 0.0.0.0/0\n"));
    let t = trace(&p);
    assert!(!t.iter().any(|l| l.contains("route") || l.contains("rule") || l.contains("fwmark") || l.contains("nft")));
}

#[test]
fn numbered_table_gets_every_route() {
    // Scenario 24.
    let (_, p) = up(&format!(
        "[Interface]\nPrivateKey = {K}\nTable = 1234\n[Peer]\nPublicKey = {P}\n\
         AllowedIPs = 0.0.0.0/0, 10.7.0.0/24, 172.16.0.0/12, ::/0\n"
    ));
    let t = trace(&p);
    let routes: Vec<&String> = t.iter().filter(|l| l.contains("route add")).collect();
    assert_eq!(
        routes,
        [
            "ip -4 route add 10.7.0.0/24 dev wgt0 table 1234",
            "ip -4 route add 172.16.0.0/12 dev wgt0 table 1234",
            "ip -6 route add ::/0 dev wgt0 table 1234",
            "ip -4 route add 0.0.0.0/0 dev wgt0 table 1234",
        ]
    );
    assert!(!t.iter().any(|l| l.contains("rule") || l.contains("fwmark") || l.contains("nft")));
}

const FULL: &str = "[Interface]\nPrivateKey = K\nAddress = 10.8.0.2/32\nAddress = fd00:8::2/128\n\
                    DNS = 10.8.0.1, fd00:8::1, example.com\n[Peer]\nPublicKey = P\n\
                    AllowedIPs = 0.0.0.0/0, ::/0\nEndpoint = 198.51.100.7:51820\n";

fn full() -> String {
    FULL.replace("= K", &format!("= {K}")).replace("= P", &format!("= {P}"))
}

#[test]
fn full_tunnel_upstream_order() {
    // Scenario 27, with upstream's rule-before-route order.
    let (_, p) = up(&full());
    assert_eq!(
        trace(&p),
        [
            "ip link add dev wgt0 type wireguard",
            "wg addconf wgt0 /dev/fd/63",
            "ip -4 address add 10.8.0.2/32 dev wgt0",
            "ip -6 address add fd00:8::2/128 dev wgt0",
            "ip link set mtu 1320 up dev wgt0",
            "resolvconf -a wgt0 -m 0 -x",
            "wg set wgt0 fwmark 51820",
            "ip -6 rule add not fwmark 51820 table 51820",
            "ip -6 rule add table main suppress_prefixlength 0",
            "ip -6 route add ::/0 dev wgt0 table 51820",
            "nft -f /dev/fd/63",
            "ip -4 rule add not fwmark 51820 table 51820",
            "ip -4 rule add table main suppress_prefixlength 0",
            "ip -4 route add 0.0.0.0/0 dev wgt0 table 51820",
            "sysctl -q net.ipv4.conf.all.src_valid_mark=1",
            "nft -f /dev/fd/63",
        ]
    );
    let shown = p.to_string();
    assert!(shown.contains("    nameserver 10.8.0.1\n    nameserver fd00:8::1\n    search example.com\n"), "{shown}");
    assert!(shown.contains("    add table ip6 wg-quick-wgt0\n"), "{shown}");
}

#[test]
fn a_kernel_too_old_is_refused_before_the_first_operation() {
    use wgq::plan::kernel::{Capability, KernelFacts, Module};
    let c = cfg(&full());
    let kernel = |release: &str, module, userspace_found, suppress_prefixlength| KernelFacts {
        release: release.into(),
        userspace: "wireguard-go".into(),
        userspace_found,
        module,
        suppress_prefixlength,
    };
    // CentOS 7's kernel with kmod-wireguard, where the probe's rule came back without
    // suppress_prefixlength: refused before the first operation.
    let f =
        UpFacts { kernel: Some(kernel("3.10.0-1160.el7.x86_64", Module::Present, false, Capability::Unsupported)), ..facts(&c) };
    let e = plan::plan_up_start(&c, "wgt0", &f).unwrap_err().to_string();
    assert!(e.starts_with("Linux 3.10.0-1160.el7.x86_64 has no `suppress_prefixlength'"), "{e}");
    assert!(matches!(plan::plan_up(&c, "wgt0", &f), Err(plan::PlanError::Kernel(_))));
    // The same kernel where the probe found it (backported), or could not ask: the same
    // plan as without the check; the version alone refuses nothing.
    for probed in [Capability::Supported, Capability::Unknown] {
        let f = UpFacts { kernel: Some(kernel("3.10.0-1160.el7.x86_64", Module::Present, false, probed)), ..facts(&c) };
        assert_eq!(plan::plan_up(&c, "wgt0", &f).unwrap(), plan::plan_up(&c, "wgt0", &facts(&c)).unwrap());
    }
    // Without the module and without wireguard-go.
    let f = UpFacts { kernel: Some(kernel("5.15.0", Module::Absent, false, Capability::Unknown)), ..facts(&c) };
    let e = plan::plan_up_start(&c, "wgt0", &f).unwrap_err().to_string();
    assert!(e.contains("no WireGuard kernel module") && e.contains("wireguard-go"), "{e}");
    // A kernel that can: the same plan as without the check.
    let f = UpFacts { kernel: Some(kernel("3.12.0", Module::Absent, true, Capability::Unknown)), ..facts(&c) };
    assert_eq!(plan::plan_up(&c, "wgt0", &f).unwrap(), plan::plan_up(&c, "wgt0", &facts(&c)).unwrap());
}

#[test]
fn table_search_skips_tables_in_use_and_existing_fwmark_is_reused() {
    // Scenarios 28 and 29.
    let c = cfg(&full());
    let mut f = facts(&c);
    f.tables_in_use.extend([51820, 51821]);
    f.src_valid_mark_set = true;
    let t = trace(&plan::plan_up(&c, "wgt0", &f).unwrap());
    assert!(t.contains(&"wg set wgt0 fwmark 51822".to_string()));
    assert!(t.contains(&"ip -4 route add 0.0.0.0/0 dev wgt0 table 51822".to_string()));
    assert!(!t.iter().any(|l| l.contains("sysctl")), "src_valid_mark already 1");

    let c = cfg(&full().replace("[Peer]", "FwMark = 0x1234\n[Peer]"));
    let t = trace(&plan::plan_up(&c, "wgt0", &facts(&c)).unwrap());
    assert!(!t.iter().any(|l| l.starts_with("wg set")));
    assert!(t.contains(&"ip -6 rule add not fwmark 4660 table 4660".to_string()));
}

#[test]
fn explicit_mtu_and_iptables_fallback() {
    let c = cfg(&full().replace("[Peer]", "MTU = 1300\n[Peer]"));
    let mut f = facts(&c);
    f.nft_available = false;
    let t = trace(&plan::plan_up(&c, "wgt0", &f).unwrap());
    assert!(t.contains(&"ip link set mtu 1300 up dev wgt0".to_string()));
    assert!(t.contains(&"ip6tables-restore -n".to_string()));
    assert!(t.contains(&"iptables-restore -n".to_string()));
}

#[test]
fn search_domains_alone_set_no_dns() {
    let (_, p) = up(&format!("[Interface]\nPrivateKey = {K}\nDNS = example.com\n"));
    assert!(!trace(&p).iter().any(|l| l.contains("resolvconf")));
}

/// Applies `plan` to a fake system failing at call `k`; returns (ok, state after).
fn run_with_failure(p: &Plan, k: Option<usize>, signal: Option<usize>) -> (bool, Vec<String>, String) {
    let mut sys = FakeSystem { fail_at: k.map(|k| (k, 5)), signal_after: signal.map(|s| (s, 15)), ..Default::default() };
    let mut out = Vec::new();
    let ok = Executor::new(&mut sys, &mut out).apply_all(p).is_ok();
    (ok, sys.render(), String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn every_failure_point_rolls_back_completely() {
    let text = full().replace("[Peer]", "PreUp = true\nPostUp = true\n[Peer]")
        + &format!("[Peer]\nPublicKey = {P2}\nAllowedIPs = 10.50.0.0/16, 10.51.0.0/16\n");
    let (_, p) = up(&text);
    let (ok, after, _) = run_with_failure(&p, None, None);
    assert!(ok);
    assert!(after.iter().any(|l| l.starts_with("rule4")), "{after:?}");
    let total = FakeSystem { ..Default::default() };
    let mut counting = total.clone();
    Executor::new(&mut counting, &mut Vec::new()).apply_all(&p).unwrap();
    assert!(counting.calls > 10);
    for k in 0..counting.calls {
        let (ok, after, log) = run_with_failure(&p, Some(k), None);
        assert!(!ok, "failure at call {k} must fail the plan");
        assert!(after.is_empty(), "failure at call {k} left {after:?}\n{log}");
        assert!(log.contains("injected failure"), "{log}");
    }
}

#[test]
fn a_signal_at_any_point_rolls_back_completely() {
    let (_, p) = up(&full());
    let mut counting = FakeSystem::default();
    Executor::new(&mut counting, &mut Vec::new()).apply_all(&p).unwrap();
    for k in 0..counting.calls {
        let (ok, after, log) = run_with_failure(&p, None, Some(k));
        assert!(!ok, "signal after call {k} must stop the plan");
        assert!(after.is_empty(), "signal after call {k} left {after:?}\n{log}");
    }
}

#[test]
fn down_removes_only_this_interfaces_rules() {
    // Scenario 44, fixed: interface A (51822) stays intact when B (51823) goes down.
    let rules = vec![
        ObservedRule { v6: false, priority: 32765, not_fwmark: Some((51822, 51822)) },
        ObservedRule { v6: false, priority: 32764, not_fwmark: None },
        ObservedRule { v6: false, priority: 32763, not_fwmark: Some((51823, 51823)) },
        ObservedRule { v6: false, priority: 32762, not_fwmark: None },
        ObservedRule { v6: true, priority: 32765, not_fwmark: Some((51822, 51822)) },
        ObservedRule { v6: true, priority: 32764, not_fwmark: None },
    ];
    let c = cfg(&full());
    let f = DownFacts {
        live_fwmark: 51823,
        live_has_default: true,
        rules,
        resolvconf_name: "wgt0".into(),
        nft_tables: Some("table ip wg-quick-wgt0\ntable ip wg-quick-other\n".into()),
        ..Default::default()
    };
    let p = plan::plan_down(&c, "wgt0", &f);
    let dels: Vec<_> = p.ops.iter().filter_map(|o| if let plan::Op::DelRule(r) = o { Some(r.clone()) } else { None }).collect();
    assert_eq!(
        dels,
        [
            plan::Rule::NotFwmark { v6: false, mark: 51823, table: 51823, priority: Some(32763) },
            plan::Rule::SuppressMain { v6: false, priority: Some(32762) },
        ]
    );
    assert_eq!(
        trace(&p),
        [
            "ip -4 rule delete table 51823",
            "ip -4 rule delete table main suppress_prefixlength 0",
            "ip link delete dev wgt0",
            "resolvconf -d wgt0 -f",
            "nft -f /dev/fd/63",
        ]
    );
}

#[test]
fn down_uses_the_recorded_table_when_the_fwmark_was_reset() {
    let c = cfg(&full());
    let f = DownFacts {
        live_fwmark: 0,
        live_has_default: true,
        recorded: Some(UpRecord { table: Some(51820), dns_name: Some("tun.wgt0".into()), ..Default::default() }),
        rules: vec![
            ObservedRule { v6: false, priority: 32765, not_fwmark: Some((51820, 51820)) },
            ObservedRule { v6: false, priority: 32764, not_fwmark: None },
        ],
        resolvconf_name: "wgt0".into(),
        ..Default::default()
    };
    let t = trace(&plan::plan_down(&c, "wgt0", &f));
    assert_eq!(
        t,
        [
            "ip -4 rule delete table 51820",
            "ip -4 rule delete table main suppress_prefixlength 0",
            "ip link delete dev wgt0",
            "resolvconf -d tun.wgt0 -f",
        ]
    );
}

#[test]
fn up_then_down_on_the_fake_system_leaves_nothing() {
    let (c, p) = up(&full());
    let mut sys = FakeSystem::default();
    Executor::new(&mut sys, &mut Vec::new()).apply_all(&p).unwrap();
    let rules: Vec<ObservedRule> = sys
        .rules
        .iter()
        .map(|(v6, prio, text)| ObservedRule {
            v6: *v6,
            priority: *prio,
            not_fwmark: text.starts_with("not").then_some((51820, 51820)),
        })
        .collect();
    let f = DownFacts {
        live_fwmark: 51820,
        live_has_default: true,
        recorded: Some(UpRecord::from_plan(&p)),
        rules,
        nft_tables: Some("table ip wg-quick-wgt0\ntable ip6 wg-quick-wgt0\n".into()),
        resolvconf_name: "wgt0".into(),
        ..Default::default()
    };
    let d = plan::plan_down(&c, "wgt0", &f);
    Executor::new(&mut sys, &mut Vec::new()).apply_teardown(&d).unwrap();
    assert_eq!(sys.render(), Vec::<String>::new());
}

#[test]
fn reload_device_update_touches_only_what_changed() {
    use wgq::device::{DeviceState, PeerConfig, PeerState};
    use wgq::key::Key;
    use wgq::net::IpNet;
    let k = |b: u8| Key([b; 32]);
    let sk = |b: u8| wgq::key::SecretKey::from_bytes([b; 32]);
    let live = DeviceState {
        private_key: Some(sk(1)),
        listen_port: 40000,
        fwmark: 51820,
        peers: vec![
            PeerState { public_key: k(2), allowed_ips: vec![IpNet::parse("10.0.0.2/32").unwrap()], ..Default::default() },
            PeerState { public_key: k(3), preshared_key: Some(sk(9)), persistent_keepalive: 25, ..Default::default() },
            PeerState { public_key: k(4), ..Default::default() },
        ],
        ..Default::default()
    };
    let want = DeviceConfig {
        private_key: Some(sk(1)),
        listen_port: None,
        fwmark: None,
        replace_peers: false,
        peers: vec![
            PeerConfig { public_key: k(2), allowed_ips: vec![IpNet::parse("10.0.0.2/32").unwrap()], ..Default::default() },
            PeerConfig { public_key: k(3), ..Default::default() },
        ],
    };
    let u = wgq::plan::device_update(&want, &live);
    // Runtime port and fwmark stay; the unchanged peer is not sent; the removed peer goes;
    // a PresharedKey and keepalive gone from the file are cleared.
    assert_eq!((u.private_key, u.listen_port, u.fwmark), (None, None, None));
    assert_eq!(u.peers.len(), 2);
    assert!(u.peers.iter().any(|p| p.public_key == k(4) && p.remove));
    let p3 = u.peers.iter().find(|p| p.public_key == k(3)).unwrap();
    assert_eq!(p3.preshared_key, Some(wgq::key::SecretKey::default()));
    assert_eq!(p3.persistent_keepalive, Some(0));
    assert!(!u.peers.iter().any(|p| p.public_key == k(2)));
}

const OWN: &str = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";

#[test]
fn the_interfaces_own_peer_gets_no_route() {
    // Issue 13: the device ignores a peer with its own key; so does the plan.
    assert_eq!(wgq::key::Key::from_base64(K).unwrap().public_key().to_base64(), OWN);
    let (_, p) = up(&format!(
        "[Interface]\nPrivateKey = {K}\nAddress = 10.2.20.1/24\n[Peer]\nPublicKey = {OWN}\nAllowedIPs = 192.0.2.0/24, 0.0.0.0/0\n\
         [Peer]\nPublicKey = {P}\nAllowedIPs = 10.2.21.0/24\n"
    ));
    let t = trace(&p);
    assert!(t.contains(&"ip -4 route add 10.2.21.0/24 dev wgt0".to_string()), "{t:?}");
    assert!(!t.iter().any(|l| l.contains("192.0.2.0/24") || l.contains("0.0.0.0/0") || l.contains("fwmark")), "{t:?}");
}

#[test]
fn the_rest_of_up_follows_what_the_pre_up_hooks_left() {
    // Issue 13: peers a hook added get routes, a hook's device route covers prefixes, the
    // fwmark on the device (a hook's) picks the table.
    let c = cfg(&format!(
        "[Interface]\nPrivateKey = {K}\nAddress = 10.2.28.1/24\nPreUp = true\n[Peer]\nPublicKey = {P}\n\
         AllowedIPs = 10.60.1.0/24, 0.0.0.0/0\n"
    ));
    let mut f = facts(&c);
    f.after_pre_up = Some(plan::AfterPreUp {
        allowed_ips: ["10.60.1.0/24", "0.0.0.0/0", "10.62.0.0/24"].iter().map(|n| wgq::net::IpNet::parse(n).unwrap()).collect(),
        fwmark: 4660,
        device_routes: vec![wgq::net::IpNet::parse("10.60.0.0/16").unwrap()],
    });
    let t = trace(&plan::plan_up_rest(&c, "wgt0", &f).unwrap());
    assert!(t.contains(&"ip -4 route add 10.62.0.0/24 dev wgt0".to_string()), "{t:?}");
    assert!(!t.iter().any(|l| l.contains("10.60.1.0/24")), "a covered prefix got a route: {t:?}");
    assert!(t.contains(&"ip -4 route add 0.0.0.0/0 dev wgt0 table 4660".to_string()), "{t:?}");
    assert!(!t.iter().any(|l| l.starts_with("wg set")), "the hook's fwmark must be kept: {t:?}");
    // Planned from the file alone, the same config would pick 51820 and set it.
    let t = trace(&plan::plan_up(&c, "wgt0", &facts(&c)).unwrap());
    assert!(t.contains(&"wg set wgt0 fwmark 51820".to_string()), "{t:?}");
}

/// Runs `up` of `text` through the same two-part transaction as `wgq up`, on a fake system
/// failing at call `k` or signalled after it.
fn two_part_up(text: &str, k: Option<usize>, signal: Option<usize>) -> (bool, FakeSystem, String) {
    let c = cfg(text);
    let mut sys = FakeSystem { fail_at: k.map(|k| (k, 5)), signal_after: signal.map(|s| (s, 15)), ..Default::default() };
    let mut out = Vec::new();
    let ok = wgq::commands::up::apply_up(&mut sys, &mut out, &c, "wgt0", facts(&c)).is_ok();
    (ok, sys, String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn a_failure_or_signal_anywhere_in_a_two_part_up_rolls_back_completely() {
    // With PreUp hooks, up is planned in two parts around a new look at the system; the
    // transaction spans both, the look included.
    let text = full().replace("[Peer]", "PreUp = true\nPostUp = true\n[Peer]");
    let (ok, counting, log) = two_part_up(&text, None, None);
    assert!(ok, "{log}");
    assert!(counting.render().iter().any(|l| l.starts_with("rule4")), "{:?}", counting.render());
    assert!(counting.calls > 10);
    for k in 0..counting.calls {
        let (ok, after, log) = two_part_up(&text, Some(k), None);
        assert!(!ok, "failure at call {k} must fail up");
        assert!(after.render().is_empty(), "failure at call {k} left {:?}\n{log}", after.render());
        let (ok, after, log) = two_part_up(&text, None, Some(k));
        assert!(!ok, "signal after call {k} must stop up");
        assert!(after.render().is_empty(), "signal after call {k} left {:?}\n{log}", after.render());
    }
}

/// A running interface on the fake system and the facts of reloading `new` onto it: wgq's
/// own addresses, routes and DNS (recorded) plus a route a hook added.
fn running_for_reload() -> (FakeSystem, Config, plan::ReloadFacts) {
    let net = |s: &str| wgq::net::IpNet::parse(s).unwrap();
    let old = cfg(&format!(
        "[Interface]\nPrivateKey = {K}\nAddress = 10.1.0.1/24, 10.2.0.1/24\nDNS = 10.1.0.53\n[Peer]\nPublicKey = {P}\n\
         AllowedIPs = 10.10.0.0/16, 10.11.0.0/16\n"
    ));
    let new = cfg(&format!(
        "[Interface]\nPrivateKey = {K}\nAddress = 10.1.0.1/24, 10.3.0.1/24\nMTU = 1300\nDNS = 10.1.0.54, corp.example\n\
         [Peer]\nPublicKey = {P}\nAllowedIPs = 10.10.0.0/16, 10.12.0.0/16, 10.13.0.0/16\n[Peer]\nPublicKey = {P2}\nAllowedIPs = 10.14.0.0/16\n"
    ));
    let up_plan = plan::plan_up(&old, "wgt0", &facts(&old)).unwrap();
    let mut sys = FakeSystem::default();
    Executor::new(&mut sys, &mut Vec::new()).apply_all(&up_plan).unwrap();
    // A hook's route on the interface: not wgq's.
    sys.routes.insert(("wgt0".into(), "203.0.113.0/24".into(), 254));
    let recorded = UpRecord::from_plan(&up_plan);
    let mut up = facts(&new);
    up.device = std::rc::Rc::new(DeviceConfig {
        private_key: new.interface.private_key.clone(),
        peers: new
            .peers
            .iter()
            .map(|p| wgq::device::PeerConfig {
                public_key: p.public_key,
                allowed_ips: p.allowed_ips.clone(),
                replace_allowed_ips: true,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    });
    let live_routes = sys
        .routes
        .iter()
        .map(|(_, r, t)| plan::Route { net: net(r), table: (*t != 254).then_some(*t), table_text: None })
        .collect();
    let f = plan::ReloadFacts {
        up,
        live: wgq::device::DeviceState {
            private_key: old.interface.private_key,
            peers: vec![wgq::device::PeerState {
                public_key: old.peers[0].public_key,
                allowed_ips: old.peers[0].allowed_ips.clone(),
                ..Default::default()
            }],
            ..Default::default()
        },
        live_addresses: vec![net("10.1.0.1/24"), net("10.2.0.1/24"), net("fe80::5/64")],
        live_routes,
        live_mtu: 1320,
        live_dns: None,
        live_default_families: vec![],
        recorded: Some(recorded),
    };
    (sys, new, f)
}

#[test]
fn a_failure_or_signal_at_every_step_of_a_reload_restores_the_state_before() {
    let (sys, new, f) = running_for_reload();
    let p = plan::plan_reload(&new, "wgt0", &f).unwrap();
    let t = trace(&p);
    // Only wgq's own route of the removed prefix goes; the hook's stays.
    assert!(t.contains(&"ip -4 route del 10.11.0.0/16 dev wgt0".to_string()), "{t:?}");
    assert!(!t.iter().any(|l| l.contains("203.0.113.0/24") || l.contains("fe80")), "{t:?}");
    let before = sys.render();
    let mut counting = sys.clone();
    Executor::new(&mut counting, &mut Vec::new()).apply_all(&p).unwrap();
    assert_ne!(counting.render(), before, "the reload changes nothing");
    let steps = counting.calls - sys.calls;
    assert!(steps >= 6, "{steps}");
    for k in 0..steps {
        for signal in [false, true] {
            let mut s = sys.clone();
            if signal {
                s.signal_after = Some((sys.calls + k, 15));
            } else {
                s.fail_at = Some((sys.calls + k, 5));
            }
            let mut out = Vec::new();
            assert!(Executor::new(&mut s, &mut out).apply_all(&p).is_err(), "step {k} (signal: {signal}) did not stop it");
            assert_eq!(s.render(), before, "step {k} (signal: {signal}):\n{}", String::from_utf8_lossy(&out));
        }
    }
}

#[test]
fn a_reload_that_moves_the_listen_port_tells_another_interfaces_kill_switch() {
    let (mut sys, new, mut f) = running_for_reload();
    f.live.listen_port = 51000;
    f.up.other_switches = vec![("wga".into(), plan::FirewallKind::Nft)];
    f.up.other_tunnels = vec![tunnel("wgs", None, Some(7))];
    // The same port: nothing told.
    let mut same = f.clone();
    std::rc::Rc::make_mut(&mut same.up.device).listen_port = Some(51000);
    assert!(!plan::plan_reload(&new, "wgt0", &same).unwrap().ops.iter().any(|o| matches!(o, plan::Op::Admit { .. })));
    std::rc::Rc::make_mut(&mut f.up.device).listen_port = Some(52000);
    let p = plan::plan_reload(&new, "wgt0", &f).unwrap();
    let at = p.ops.iter().position(|o| matches!(o, plan::Op::Admit { .. })).expect("the switch is not told");
    assert!(matches!(p.ops[at - 1], plan::Op::SyncDevice { .. }));
    assert_eq!(
        p.ops[at],
        plan::Op::Admit {
            switch_of: "wga".into(),
            kind: plan::FirewallKind::Nft,
            tunnels: vec![tunnel("wgs", None, Some(7)), tunnel("wgt0", None, Some(52000))],
            previous: vec![tunnel("wgs", None, Some(7)), tunnel("wgt0", None, Some(51000))],
        }
    );
    // A failure after it puts the old port back into the switch.
    let was = [tunnel("wgs", None, Some(7)), tunnel("wgt0", None, Some(51000))];
    wgq::plan::exec::System::set_admitted(&mut sys, "wga", plan::FirewallKind::Nft, &was).unwrap();
    let start = sys.render();
    let mut counting = sys.clone();
    Executor::new(&mut counting, &mut Vec::new()).apply_all(&p).unwrap();
    for k in sys.calls..counting.calls {
        let mut s = sys.clone();
        s.fail_at = Some((k, 5));
        assert!(Executor::new(&mut s, &mut Vec::new()).apply_all(&p).is_err());
        assert_eq!(s.render(), start, "failure at {k}");
    }
}

#[test]
fn an_unknown_table_name_is_refused_before_anything_is_touched() {
    // Review finding: with the two-part up, a Table name missing from rt_tables must still
    // be refused before the link is created or a PreUp hook runs.
    for hooks in ["", "PreUp = echo touched\n"] {
        let text = format!(
            "[Interface]\nPrivateKey = {K}\nTable = nosuchtable\n{hooks}[Peer]\nPublicKey = {P}\nAllowedIPs = 10.1.0.0/16\n"
        );
        let (ok, sys, log) = two_part_up(&text, None, None);
        assert!(!ok, "{log}");
        assert_eq!(sys.calls, 0, "something was touched before the refusal: {:?} {log}", sys.hooks_run);
        assert!(sys.links.is_empty());
    }
}

const KS: plan::KillSwitch = plan::KillSwitch { strict: false, allow_lan: false };
const KS_STRICT: plan::KillSwitch = plan::KillSwitch { strict: true, allow_lan: false };

fn up_with_kill_switch(text: &str, ks: plan::KillSwitch, nft: bool) -> (Config, Plan) {
    let c = cfg(text);
    let mut f = facts(&c);
    f.kill_switch = Some(ks);
    f.nft_available = nft;
    let p = plan::plan_up(&c, "wgt0", &f).expect("plan");
    (c, p)
}

#[test]
fn kill_switch_goes_in_right_after_the_fwmark_and_is_printed_by_dry_run() {
    let (_, p) = up_with_kill_switch(&full(), KS, true);
    let t = trace(&p);
    // Before the link goes up: the first handshake already carries the mark.
    assert_eq!(
        t[..5],
        [
            "ip link add dev wgt0 type wireguard",
            "wg addconf wgt0 /dev/fd/63",
            "wg set wgt0 fwmark 51820",
            "nft -f /dev/stdin",
            "ip -4 address add 10.8.0.2/32 dev wgt0",
        ]
    );
    assert_eq!(t.iter().filter(|l| l.starts_with("wg set")).count(), 1, "{t:?}");
    assert!(t.contains(&"ip -6 rule add not fwmark 51820 table 51820".to_string()));
    // The rest is wg-quick's order, as without the switch.
    let (_, plain) = up(&full());
    let mut a: Vec<String> = t.iter().filter(|l| *l != "nft -f /dev/stdin").cloned().collect();
    let mut b = trace(&plain);
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert_eq!(t.iter().filter(|l| *l == "nft -f /dev/stdin").count(), 1, "one table for both families: {t:?}");
    let shown = p.to_string();
    assert!(shown.contains("[#] nft -f /dev/stdin\n    add table inet wgq-killswitch-wgt0\n"), "{shown}");
    assert!(shown.contains("    add rule inet wgq-killswitch-wgt0 output meta mark 51820 accept\n"), "{shown}");
    let rec = UpRecord::from_plan(&p);
    assert_eq!(rec.kill_switch, Some((KS, plan::FirewallKind::Nft)));
    assert!(rec.render().contains("killswitch=normal nft\n"));
    // Without nft: one iptables-restore and one ip6tables-restore text.
    let (_, p) = up_with_kill_switch(&full(), KS_STRICT, false);
    let shown = p.to_string();
    assert!(shown.contains("[#] iptables-restore -n\n    *filter\n    :wgq-ks-wgt0 - [0:0]\n"), "{shown}");
    assert!(shown.contains("[#] ip6tables-restore -n\n    *filter\n    :wgq-ks-wgt0 - [0:0]\n"), "{shown}");
    assert!(UpRecord::from_plan(&p).render().contains("killswitch=strict iptables\n"));
}

#[test]
fn a_strict_kill_switch_in_place_moves_the_fwmark_before_the_link_goes_up() {
    let c = cfg(&full());
    let mut f = facts(&c);
    f.kill_switch_present = Some(plan::FirewallKind::Nft);
    let t = trace(&plan::plan_up(&c, "wgt0", &f).unwrap());
    assert_eq!(t[2], "wg set wgt0 fwmark 51820");
    assert!(!t.iter().any(|l| l.contains("/dev/stdin")), "a plain up leaves the switch as it is: {t:?}");
    assert_eq!(t.iter().filter(|l| l.starts_with("wg set")).count(), 1);
}

#[test]
fn kill_switch_needs_a_full_tunnel_with_table_auto() {
    let split = format!("[Interface]\nPrivateKey = {K}\n[Peer]\nPublicKey = {P}\nAllowedIPs = 10.0.0.0/8\n");
    let c = cfg(&split);
    let mut f = facts(&c);
    f.kill_switch = Some(KS);
    let e = plan::plan_up_start(&c, "wgt0", &f).unwrap_err().to_string();
    assert_eq!(e, "--kill-switch needs a full tunnel (AllowedIPs with 0.0.0.0/0 or ::/0); wgt0.conf has none");
    let c = cfg(&full().replace("[Peer]", "Table = 1234\n[Peer]"));
    let e = plan::plan_up_start(&c, "wgt0", &f).unwrap_err().to_string();
    assert!(e.starts_with("/etc/wireguard/wgt0.conf:6: Table: --kill-switch needs") && e.ends_with("not `1234'"), "{e}");
    // A single-family full tunnel is accepted: the switch then rejects the other family whole.
    let v4 = format!("[Interface]\nPrivateKey = {K}\n[Peer]\nPublicKey = {P}\nAllowedIPs = 0.0.0.0/0\n");
    let (_, p) = up_with_kill_switch(&v4, KS, true);
    assert!(trace(&p).contains(&"nft -f /dev/stdin".to_string()));
    assert!(!trace(&p).iter().any(|l| l.starts_with("ip -6")));
}

#[test]
fn kill_switch_is_undone_at_every_failure_point_unless_strict() {
    for nft in [true, false] {
        let text = full().replace("[Peer]", "PostUp = true\n[Peer]");
        let (_, p) = up_with_kill_switch(&text, KS, nft);
        let mut counting = FakeSystem::default();
        Executor::new(&mut counting, &mut Vec::new()).apply_all(&p).unwrap();
        assert!(counting.render().iter().any(|l| l.contains("wgq-k")), "{:?}", counting.render());
        for k in 0..counting.calls {
            let (ok, after, log) = run_with_failure(&p, Some(k), None);
            assert!(!ok);
            assert!(after.is_empty(), "nft={nft}: failure at call {k} left {after:?}\n{log}");
            let (ok, after, log) = run_with_failure(&p, None, Some(k));
            assert!(!ok);
            assert!(after.is_empty(), "nft={nft}: signal after call {k} left {after:?}\n{log}");
        }
        // The last call is the PostUp hook: its failure removes the table it came after.
        let (_, _, log) = run_with_failure(&p, Some(counting.calls - 1), None);
        let removal = if nft { "[#] nft -f /dev/stdin\n" } else { "[#] iptables-restore -n\n[#] ip6tables-restore -n\n" };
        assert!(log.ends_with(removal) || log.contains(removal), "{log}");
    }
    // Strict: a failed `up` leaves the switch in place (it blocks while the tunnel is down).
    let text = full().replace("[Peer]", "PostUp = false\n[Peer]");
    let (_, p) = up_with_kill_switch(&text, KS_STRICT, true);
    let mut counting = FakeSystem::default();
    Executor::new(&mut counting, &mut Vec::new()).apply_all(&p).unwrap();
    let (ok, after, _) = run_with_failure(&p, Some(counting.calls - 1), None);
    assert!(!ok);
    assert_eq!(after, ["firewall inet wgq-killswitch-wgt0"]);
}

#[test]
fn down_removes_a_normal_kill_switch_and_keeps_a_strict_one_unless_off() {
    for (ks, off, left) in [(KS, false, false), (KS_STRICT, false, true), (KS_STRICT, true, false)] {
        let (c, p) = up_with_kill_switch(&full(), ks, true);
        let mut sys = FakeSystem::default();
        Executor::new(&mut sys, &mut Vec::new()).apply_all(&p).unwrap();
        let f = DownFacts {
            recorded: Some(UpRecord::from_plan(&p)),
            kill_switch_off: off,
            kill_switch_present: if off { vec![plan::FirewallKind::Nft] } else { Vec::new() },
            resolvconf_name: "wgt0".into(),
            ..Default::default()
        };
        let d = plan::plan_down(&c, "wgt0", &f);
        let t = trace(&d);
        assert_eq!(t.last().map(String::as_str) == Some("nft -f /dev/stdin"), !left, "{t:?}");
        Executor::new(&mut sys, &mut Vec::new()).apply_teardown(&d).unwrap();
        let has = sys.render().iter().any(|l| l == "firewall inet wgq-killswitch-wgt0");
        assert_eq!(has, left, "{ks:?} off={off}: {:?}", sys.render());
    }
    // Without a record (wg-quick's interface, or a lost record) only `--kill-switch=off` removes it.
    let c = cfg(&full());
    let f = DownFacts { kill_switch_present: vec![plan::FirewallKind::Nft], ..Default::default() };
    assert!(!trace(&plan::plan_down(&c, "wgt0", &f)).iter().any(|l| l.contains("/dev/stdin")));
    // The interface gone, no record: `--kill-switch=off` plans only the removal, nothing
    // when there is none.
    let off = |present: Vec<plan::FirewallKind>| DownFacts {
        kill_switch_off: true,
        kill_switch_present: present,
        ..Default::default()
    };
    let p = plan::plan_down_vanished("wgt0", &off(vec![plan::FirewallKind::Iptables]));
    assert_eq!(trace(&p), ["iptables-restore -n", "ip6tables-restore -n"]);
    assert!(plan::plan_down_vanished("wgt0", &off(Vec::new())).ops.is_empty());
}

/// The rules of the fake system as `down` observes them (every `not fwmark` rule of table `t`).
fn observed(sys: &FakeSystem, t: u32) -> Vec<ObservedRule> {
    sys.rules
        .iter()
        .map(|(v6, prio, text)| ObservedRule { v6: *v6, priority: *prio, not_fwmark: text.starts_with("not").then_some((t, t)) })
        .collect()
}

#[test]
fn down_of_a_vanished_interface_removes_what_up_recorded() {
    for (ks, off) in [(KS, false), (KS_STRICT, false), (KS_STRICT, true)] {
        let (_, p) = up_with_kill_switch(&full(), ks, true);
        let mut sys = FakeSystem::default();
        Executor::new(&mut sys, &mut Vec::new()).apply_all(&p).unwrap();
        // The daemon dies: link, addresses and routes go; rules, DNS and the switch stay.
        sys.vanish("wgt0");
        assert!(sys.render().iter().any(|l| l.starts_with("rule4")) && !sys.dns.is_empty(), "{:?}", sys.render());
        let f = DownFacts {
            recorded: Some(UpRecord::from_plan(&p)),
            rules: observed(&sys, 51820),
            nft_tables: Some("table ip wg-quick-wgt0\ntable ip6 wg-quick-wgt0\ntable ip wg-quick-wgt01\n".into()),
            kill_switch_off: off,
            kill_switch_present: if off { vec![plan::FirewallKind::Nft] } else { Vec::new() },
            ..Default::default()
        };
        let d = plan::plan_down_vanished("wgt0", &f);
        let t = trace(&d);
        assert!(!t.iter().any(|l| l.contains("link") || l.contains("wg ")), "nothing of a device: {t:?}");
        let said = plan::vanished_summary("wgt0", &f, &d).unwrap();
        assert!(
            said.starts_with(
                "wgt0 is gone; removing what up recorded: 4 policy rule(s) of table 51820, DNS registered as wgt0, its firewall rules"
            ),
            "{said}"
        );
        assert_eq!(said.ends_with("its strict kill switch stays"), ks.strict && !off, "{said}");
        Executor::new(&mut sys, &mut Vec::new()).apply_teardown(&d).unwrap();
        let left: Vec<String> = if ks.strict && !off { vec!["firewall inet wgq-killswitch-wgt0".into()] } else { Vec::new() };
        assert_eq!(sys.render(), left, "{ks:?} off={off}");
    }
    // The table is another running tunnel's now (it came up after the crash): its rules stay.
    let (_, p) = up_with_kill_switch(&full(), KS, true);
    let mut sys = FakeSystem::default();
    Executor::new(&mut sys, &mut Vec::new()).apply_all(&p).unwrap();
    sys.vanish("wgt0");
    let f = DownFacts {
        recorded: Some(UpRecord::from_plan(&p)),
        rules: observed(&sys, 51820),
        tables_of_others: vec![51820],
        ..Default::default()
    };
    let d = plan::plan_down_vanished("wgt0", &f);
    assert!(!trace(&d).iter().any(|l| l.contains("rule")), "{:?}", trace(&d));
    assert!(
        plan::vanished_summary("wgt0", &f, &d).unwrap().contains("no rule of table 51820 (another tunnel uses that table now)")
    );
}

#[test]
fn kill_switch_off_removes_the_switch_of_either_tool_and_of_both() {
    let c = cfg(&full());
    use plan::FirewallKind::{Iptables, Nft};
    for present in [vec![Nft], vec![Iptables], vec![Nft, Iptables], vec![Iptables, Nft]] {
        let f = DownFacts { kill_switch_off: true, kill_switch_present: present.clone(), ..Default::default() };
        let want: Vec<&str> = if present.len() == 2 {
            vec!["nft -f /dev/stdin", "iptables-restore -n", "ip6tables-restore -n"]
        } else if present == [Nft] {
            vec!["nft -f /dev/stdin"]
        } else {
            vec!["iptables-restore -n", "ip6tables-restore -n"]
        };
        assert_eq!(trace(&plan::plan_down_vanished("wgt0", &f)), want);
        let t = trace(&plan::plan_down(&c, "wgt0", &f));
        assert!(t.ends_with(&want.iter().map(|s| s.to_string()).collect::<Vec<_>>()), "{t:?}");
        // With a record of a normal switch of the one tool and the other found too: each once.
        let f = DownFacts { recorded: Some(UpRecord { kill_switch: Some((KS, Nft)), ..Default::default() }), ..f };
        let t = trace(&plan::plan_down(&c, "wgt0", &f));
        assert_eq!(t.iter().filter(|l| *l == "nft -f /dev/stdin").count(), 1, "{t:?}");
    }
    // Both tools' switches on the fake system: both go.
    let mut sys = FakeSystem::default();
    for (kind, v6) in [(Nft, false), (Iptables, false), (Iptables, true)] {
        wgq::plan::exec::System::set_kill_switch(&mut sys, "wgt0", kind, v6, "").unwrap();
    }
    let f = DownFacts { kill_switch_off: true, kill_switch_present: vec![Nft, Iptables], ..Default::default() };
    Executor::new(&mut sys, &mut Vec::new()).apply_teardown(&plan::plan_down_vanished("wgt0", &f)).unwrap();
    assert_eq!(sys.render(), Vec::<String>::new());
}

fn tunnel(name: &str, mark: Option<u32>, port: Option<u16>) -> plan::Admitted {
    plan::Admitted { ifname: name.into(), mark, port }
}

#[test]
fn a_second_kill_switch_is_refused_naming_the_first() {
    let c = cfg(&full());
    let mut f = facts(&c);
    f.kill_switch = Some(KS);
    f.other_switches = vec![("wga".into(), plan::FirewallKind::Nft)];
    let e = plan::plan_up(&c, "wgt0", &f).unwrap_err().to_string();
    assert_eq!(
        e,
        "--kill-switch: the kill switch of wga is in place, and a host has one (each rejects what does not leave \
         through its own tunnel); bring wgt0 up without --kill-switch (wga's switch lets it out), or remove that one \
         first: `wgq down --kill-switch=off wga'"
    );
    // Refused before anything is touched.
    assert!(plan::plan_up_start(&c, "wgt0", &f).is_err());
    // Strict or left behind by a tunnel that is down: the same.
    f.kill_switch = Some(KS_STRICT);
    f.other_switches = vec![("wgb".into(), plan::FirewallKind::Iptables)];
    assert!(plan::plan_up(&c, "wgt0", &f).unwrap_err().to_string().contains("the kill switch of wgb is in place"));
}

#[test]
fn a_kill_switch_lets_the_hosts_other_tunnels_out_whatever_the_order() {
    // The switch made while other tunnels run: it lets them out from the start.
    let c = cfg(&full());
    let mut f = facts(&c);
    f.kill_switch = Some(KS);
    f.other_tunnels = vec![tunnel("wgs", None, Some(51000)), tunnel("wgm", Some(7), Some(51001))];
    let shown = plan::plan_up(&c, "wgt0", &f).unwrap().to_string();
    let t = "inet wgq-killswitch-wgt0";
    assert!(shown.contains(&format!("    add element {t} tunnels {{ \"wgs\", \"wgm\" }}\n")), "{shown}");
    assert!(
        shown.contains(&format!("    add element {t} marks {{ 7 }}\n    add element {t} ports {{ 51000, 51001 }}\n")),
        "{shown}"
    );
    // A tunnel brought up while a switch is in place is let out of it before its link goes
    // up, with the other tunnels still running; a full tunnel by the table it will use.
    for (text, mark) in [
        (full(), Some(51820)),
        (format!("[Interface]\nPrivateKey = {K}\nListenPort = 51002\n[Peer]\nPublicKey = {P}\nAllowedIPs = 10.0.0.0/8\n"), None),
    ] {
        let c = cfg(&text);
        let mut f = facts(&c);
        f.other_switches = vec![("wga".into(), plan::FirewallKind::Nft)];
        f.other_tunnels = vec![tunnel("wga", Some(51821), None), tunnel("wgs", None, Some(51000))];
        let p = plan::plan_up(&c, "wgt0", &f).unwrap();
        let at = p.ops.iter().position(|o| matches!(o, plan::Op::Admit { .. })).expect("no admission");
        let up = p.ops.iter().position(|o| matches!(o, plan::Op::SetMtuUp(_))).unwrap();
        assert_eq!(at + 1, up, "{:?}", trace(&p));
        let port = c.interface.listen_port;
        assert_eq!(
            p.ops[at],
            plan::Op::Admit {
                switch_of: "wga".into(),
                kind: plan::FirewallKind::Nft,
                tunnels: vec![tunnel("wgs", None, Some(51000)), tunnel("wgt0", mark, port)],
                previous: vec![tunnel("wgs", None, Some(51000))],
            }
        );
        // Its rollback at every later step takes it out again.
        let mut counting = FakeSystem::default();
        Executor::new(&mut counting, &mut Vec::new()).apply_all(&p).unwrap();
        assert!(counting.render().contains(&"firewall switch of wga lets out wgt0".to_string()), "{:?}", counting.render());
        for k in 0..counting.calls {
            let (ok, after, log) = run_with_failure(&p, Some(k), None);
            assert!(!ok && !after.iter().any(|l| l.contains("lets out wgt0")), "failure at {k} left {after:?}\n{log}");
        }
        // Its `down` (running or vanished) leaves the switch letting out the others only.
        let rec = UpRecord::from_plan(&p);
        let d = DownFacts {
            recorded: Some(rec),
            other_switches: f.other_switches.clone(),
            other_tunnels: f.other_tunnels.clone(),
            ..Default::default()
        };
        for down in [plan::plan_down(&c, "wgt0", &d), plan::plan_down_vanished("wgt0", &d)] {
            let last = down.ops.iter().rev().find(|o| matches!(o, plan::Op::Admit { .. })).unwrap();
            assert!(
                matches!(last, plan::Op::Admit { switch_of, tunnels, .. } if switch_of == "wga" && *tunnels == [tunnel("wgs", None, Some(51000))]),
                "{last:?}"
            );
            let mut sys = counting.clone();
            Executor::new(&mut sys, &mut Vec::new()).apply_teardown(&down).unwrap();
            assert!(sys.render().contains(&"firewall switch of wga lets out wgs".to_string()), "{:?}", sys.render());
            assert!(!sys.render().iter().any(|l| l.contains("lets out wgt0")), "{:?}", sys.render());
        }
    }
    // No switch of another interface: nothing of the kind.
    let (_, p) = up(&full());
    assert!(!p.ops.iter().any(|o| matches!(o, plan::Op::Admit { .. })));
}

#[test]
fn a_kill_switch_there_before_up_is_not_removed_by_its_rollback() {
    let c = cfg(&full().replace("[Peer]", "PostUp = false\n[Peer]"));
    let mut f = facts(&c);
    f.kill_switch = Some(KS);
    f.kill_switch_present = Some(plan::FirewallKind::Nft);
    let p = plan::plan_up(&c, "wgt0", &f).unwrap();
    let mut sys = FakeSystem::default();
    let mut counting = sys.clone();
    Executor::new(&mut counting, &mut Vec::new()).apply_all(&p).unwrap();
    sys.fail_at = Some((counting.calls - 1, 1));
    assert!(Executor::new(&mut sys, &mut Vec::new()).apply_all(&p).is_err());
    assert_eq!(sys.render(), ["firewall inet wgq-killswitch-wgt0"]);
    // With iptables, a chain already there keeps its jump from OUTPUT (no second one).
    f.nft_available = false;
    f.kill_switch_present = Some(plan::FirewallKind::Iptables);
    f.kill_switch_jumps = [true, true];
    let shown = plan::plan_up(&c, "wgt0", &f).unwrap().to_string();
    assert!(shown.contains(":wgq-ks-wgt0 - [0:0]") && !shown.contains("-I OUTPUT"), "{shown}");
    // Left half-installed (the IPv6 part of a strict up failed): the family without its
    // jump gets one, the other keeps its own.
    f.kill_switch_jumps = [true, false];
    let shown = plan::plan_up(&c, "wgt0", &f).unwrap().to_string();
    assert_eq!(shown.matches("-I OUTPUT").count(), 1, "{shown}");
    let v6 = shown.find("icmp6-adm-prohibited").unwrap();
    assert!(shown.rfind("-I OUTPUT").unwrap() > v6, "the jump is not in the IPv6 part: {shown}");
}

#[test]
fn reresolve_applies_each_endpoint_change_on_its_own() {
    // Two moved peers; the first device update fails: the second is still sent, nothing is
    // rolled back, and each change printed its own `[#] wg set` line.
    let k = |n: u8| wgq::key::Key([n; 32]);
    let plan = Plan {
        interface: "wg0".into(),
        ops: vec![
            plan::Op::SetEndpoint { peer: k(1), endpoint: "203.0.113.1:51820".parse().unwrap() },
            plan::Op::SetEndpoint { peer: k(2), endpoint: "[2001:db8::2]:51820".parse().unwrap() },
        ],
    };
    let mut sys = FakeSystem { fail_at: Some((0, 1)), ..Default::default() };
    let mut trace = Vec::new();
    let failed = Executor::new(&mut sys, &mut trace).apply_each(&plan).unwrap();
    assert_eq!(failed, 1);
    assert_eq!(sys.device_sets, 1, "the second change was not sent");
    let trace = String::from_utf8(trace).unwrap();
    assert_eq!(
        trace,
        format!(
            "[#] wg set wg0 peer {} endpoint 203.0.113.1:51820\nwgq: injected failure at call 0\n\
             [#] wg set wg0 peer {} endpoint [2001:db8::2]:51820\n",
            k(1).to_base64(),
            k(2).to_base64()
        )
    );
    // What each change sends: the peer's key, update-only, the endpoint, nothing else.
    let u = wgq::device::DeviceConfig::endpoint_update(k(1), "203.0.113.1:51820".parse().unwrap());
    assert_eq!(u.peers.len(), 1);
    assert!(u.private_key.is_none() && u.listen_port.is_none() && u.fwmark.is_none() && !u.replace_peers);
    let p = &u.peers[0];
    assert!(p.update_only && !p.remove && !p.replace_allowed_ips && p.allowed_ips.is_empty());
    assert!(p.preshared_key.is_none() && p.persistent_keepalive.is_none());
}

fn resolved_facts(c: &Config) -> UpFacts {
    UpFacts { dns_backend: plan::dns::DnsBackend::Resolved, ..facts(c) }
}

#[test]
fn resolved_backend_sets_domains_default_route_then_servers_and_records_it() {
    let c = cfg(&format!(
        "[Interface]\nPrivateKey = {K}\nAddress = 10.9.0.2/24\nDNS = 10.9.0.1, fd00:9::1, corp.example, lab.example\n\
         [Peer]\nPublicKey = {P}\nAllowedIPs = 10.9.0.0/24\n"
    ));
    let p = plan::plan_up(&c, "wgt0", &resolved_facts(&c)).unwrap();
    let t = trace(&p);
    let dns: Vec<&String> = t.iter().filter(|l| l.contains("resolv")).collect();
    assert_eq!(
        dns,
        [
            "resolvectl domain wgt0 corp.example lab.example ~.",
            "resolvectl default-route wgt0 yes",
            "resolvectl dns wgt0 10.9.0.1 fd00:9::1"
        ]
    );
    // After the MTU (the link is up), where wg-quick calls resolvconf.
    let mtu = t.iter().position(|l| l.starts_with("ip link set mtu")).unwrap();
    assert!(t.iter().position(|l| l.starts_with("resolvectl domain")).unwrap() > mtu);
    // --dry-run prints the same lines.
    assert!(p.to_string().contains("[#] resolvectl dns wgt0 10.9.0.1 fd00:9::1\n"), "{p}");
    let r = UpRecord::from_plan(&p);
    assert_eq!(r.dns_backend, plan::dns::DnsBackend::Resolved);
    assert_eq!(r.dns_name, None);
    assert_eq!(r.dns_input.as_deref(), Some("nameserver 10.9.0.1\nnameserver fd00:9::1\nsearch corp.example lab.example\n"));
    let text = r.render();
    assert!(text.contains("\ndns_backend=resolved\n"), "{text}");
    assert_eq!(UpRecord::parse(&text), r);
    // A resolvconf record has no such line (records of earlier wgq read the same).
    let (_, p2) =
        up(&format!("[Interface]\nPrivateKey = {K}\nDNS = 10.9.0.1\n[Peer]\nPublicKey = {P}\nAllowedIPs = 10.9.0.0/24\n"));
    let r2 = UpRecord::from_plan(&p2);
    assert!(!r2.render().contains("dns_backend"));
    assert_eq!(UpRecord::parse(&r2.render()).dns_backend, plan::dns::DnsBackend::Resolvconf);
}

#[test]
fn resolved_backend_every_failure_or_signal_point_rolls_back_with_a_revert() {
    let c = cfg(&(full().replace("[Peer]", "PostUp = true\n[Peer]")));
    assert!(!c.interface.dns.is_empty());
    let p = plan::plan_up(&c, "wgt0", &resolved_facts(&c)).unwrap();
    let mut counting = FakeSystem::default();
    Executor::new(&mut counting, &mut Vec::new()).apply_all(&p).unwrap();
    let after = counting.render();
    assert!(after.iter().any(|l| l.starts_with("resolved wgt0 dns ")), "{after:?}");
    assert!(after.iter().any(|l| l == "resolved wgt0 domain example.com ~."), "{after:?}");
    let mut reverted = 0;
    for k in 0..counting.calls {
        for signal in [false, true] {
            let (ok, left, log) = if signal { run_with_failure(&p, None, Some(k)) } else { run_with_failure(&p, Some(k), None) };
            assert!(!ok, "step {k} (signal: {signal})");
            assert!(left.is_empty(), "step {k} (signal: {signal}) left {left:?}\n{log}");
            if log.contains("[#] resolvectl revert wgt0") {
                reverted += 1;
                // Reverted while the link still exists (resolvectl names it).
                assert!(log.find("resolvectl revert").unwrap() < log.rfind("ip link delete").unwrap(), "{log}");
            }
        }
    }
    assert!(reverted > 0);
}

#[test]
fn down_follows_the_recorded_dns_backend_not_a_new_detection() {
    let c = cfg(&format!("[Interface]\nPrivateKey = {K}\nDNS = 10.9.0.1\n[Peer]\nPublicKey = {P}\nAllowedIPs = 10.9.0.0/24\n"));
    let down = |recorded: Option<UpRecord>, detected| {
        let f = DownFacts { recorded, resolvconf_name: "wgt0".into(), dns_backend: detected, ..Default::default() };
        trace(&plan::plan_down(&c, "wgt0", &f))
    };
    use plan::dns::DnsBackend::{Resolvconf, Resolved};
    let by_resolved = UpRecord::from_plan(&plan::plan_up(&c, "wgt0", &resolved_facts(&c)).unwrap());
    let by_resolvconf = UpRecord::from_plan(&plan::plan_up(&c, "wgt0", &facts(&c)).unwrap());
    // Recorded resolved, resolvconf found now: revert, before the link goes.
    assert_eq!(down(Some(by_resolved.clone()), Resolvconf), ["resolvectl revert wgt0", "ip link delete dev wgt0"]);
    // Recorded resolvconf, resolved found now: resolvconf -d, after the link goes.
    assert_eq!(down(Some(by_resolvconf), Resolved), ["ip link delete dev wgt0", "resolvconf -d wgt0 -f"]);
    // No record (wg-quick's interface): what is detected now.
    assert_eq!(down(None, Resolved), ["resolvectl revert wgt0", "ip link delete dev wgt0"]);
    assert_eq!(down(None, Resolvconf), ["ip link delete dev wgt0", "resolvconf -d wgt0 -f"]);
    // A resolved record whose DNS a reload removed: nothing to revert.
    let none = UpRecord { dns_input: None, ..by_resolved };
    assert_eq!(down(Some(none), Resolved), ["ip link delete dev wgt0"]);
    // Reverting is best effort on down, like resolvconf -d: a failing revert does not stop it.
    let f = DownFacts { dns_backend: Resolved, ..Default::default() };
    let d = plan::plan_down(&c, "wgt0", &f);
    let mut sys = FakeSystem { links: BTreeSet::from(["wgt0".to_string()]), ..Default::default() };
    Executor::new(&mut sys, &mut Vec::new()).apply_teardown(&d).unwrap();
    assert!(sys.links.is_empty());
}

#[test]
fn resolved_reload_replaces_the_settings_and_restores_them_at_every_failure() {
    let (mut sys, new, mut f) = running_for_reload();
    // The same interface brought up through resolved instead.
    let old = cfg(&format!(
        "[Interface]\nPrivateKey = {K}\nAddress = 10.1.0.1/24, 10.2.0.1/24\nDNS = 10.1.0.53\n[Peer]\nPublicKey = {P}\n\
         AllowedIPs = 10.10.0.0/16, 10.11.0.0/16\n"
    ));
    let up_plan = plan::plan_up(&old, "wgt0", &resolved_facts(&old)).unwrap();
    sys.dns.clear();
    for c in plan::dns::resolved_calls(&old.interface.dns, &[]) {
        let _ = wgq::plan::exec::System::resolved(&mut sys, "wgt0", &c);
    }
    let rec = UpRecord::from_plan(&up_plan);
    f.recorded = Some(UpRecord { routes: f.recorded.as_ref().unwrap().routes.clone(), ..rec.clone() });
    f.up.dns_backend = plan::dns::DnsBackend::Resolvconf; // the detection now does not matter
    let p = plan::plan_reload(&new, "wgt0", &f).unwrap();
    let t = trace(&p);
    assert!(t.contains(&"resolvectl domain wgt0 corp.example ~.".to_string()), "{t:?}");
    assert!(t.contains(&"resolvectl dns wgt0 10.1.0.54".to_string()), "{t:?}");
    assert!(!t.iter().any(|l| l.contains("resolvconf")), "{t:?}");
    let before = sys.render();
    let mut counting = sys.clone();
    Executor::new(&mut counting, &mut Vec::new()).apply_all(&p).unwrap();
    assert!(counting.render().contains(&"resolved wgt0 dns 10.1.0.54".to_string()));
    let after = f.recorded.as_ref().unwrap().after_reload(&p);
    assert_eq!(after.dns_input.as_deref(), Some("nameserver 10.1.0.54\nsearch corp.example\n"));
    assert_eq!(after.dns_backend, plan::dns::DnsBackend::Resolved);
    for k in 0..counting.calls - sys.calls {
        let mut s = sys.clone();
        s.fail_at = Some((sys.calls + k, 5));
        let mut out = Vec::new();
        assert!(Executor::new(&mut s, &mut out).apply_all(&p).is_err());
        assert_eq!(s.render(), before, "step {k}:\n{}", String::from_utf8_lossy(&out));
    }
    // The same file again: nothing to do for DNS.
    let mut again = f.clone();
    again.recorded = Some(after);
    assert!(!trace(&plan::plan_reload(&new, "wgt0", &again).unwrap()).iter().any(|l| l.contains("resolvectl")));
    // DNS removed from the file: a revert, undone by the recorded settings.
    let no_dns = cfg(&format!(
        "[Interface]\nPrivateKey = {K}\nAddress = 10.1.0.1/24, 10.3.0.1/24\nMTU = 1300\n\
         [Peer]\nPublicKey = {P}\nAllowedIPs = 10.10.0.0/16, 10.12.0.0/16, 10.13.0.0/16\n[Peer]\nPublicKey = {P2}\nAllowedIPs = 10.14.0.0/16\n"
    ));
    let p = plan::plan_reload(&no_dns, "wgt0", &f).unwrap();
    let t = trace(&p);
    assert_eq!(t.iter().filter(|l| l.contains("resolv")).collect::<Vec<_>>(), ["resolvectl revert wgt0"]);
    assert_eq!(f.recorded.as_ref().unwrap().after_reload(&p).dns_input, None);
    // A failure after the revert puts the recorded settings back.
    let mut s = sys.clone();
    s.fail_at = Some((s.calls + 100, 5));
    let mut all = sys.clone();
    Executor::new(&mut all, &mut Vec::new()).apply_all(&p).unwrap();
    assert!(!all.render().iter().any(|l| l.starts_with("resolved ")));
    let revert_at = p.ops.iter().position(|o| matches!(o, plan::Op::Resolved { .. })).unwrap();
    if let Some(k) = (p.ops.len() > revert_at + 1).then_some(revert_at) {
        let mut s = sys.clone();
        // The calls before the revert, plus one: the first call after it fails.
        let mut probe = sys.clone();
        Executor::new(&mut probe, &mut Vec::new())
            .apply_all(&plan::Plan { interface: "wgt0".into(), ops: p.ops[..=k].to_vec() })
            .unwrap();
        s.fail_at = Some((probe.calls, 5));
        let mut out = Vec::new();
        assert!(Executor::new(&mut s, &mut out).apply_all(&p).is_err());
        assert_eq!(s.render(), before, "{}", String::from_utf8_lossy(&out));
    }
}
