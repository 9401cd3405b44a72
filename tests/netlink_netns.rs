//! rtnetlink through wgq's own socket, inside a private network namespace (root only):
//! the messages wgq sends produce exactly what the equivalent `ip` commands show.

use std::process::Command;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::RouteNetlinkMessage;
use wgq::net::IpNet;
use wgq::plan::{Route, Rule};
use wgq::wire::netlink::Socket;
use wgq::wire::rtnl;

fn root() -> bool {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root for a network namespace");
        return false;
    }
    true
}

/// Runs `f` on a thread inside a new network namespace (namespaces are per thread).
fn in_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare");
        f()
    })
    .join()
    .expect("netns thread")
}

fn ip(args: &[&str]) -> String {
    let o = Command::new("ip").args(args).output().expect("ip");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn veth(name: &str, peer: &str) -> NetlinkMessage<RouteNetlinkMessage> {
    let m = rtnetlink::LinkVeth::new(name, peer).build();
    let mut h = NetlinkHeader::default();
    h.flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
    let mut n = NetlinkMessage::new(h, NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(m)));
    n.finalize();
    n
}

#[test]
fn routes_rules_and_addresses_match_ip() {
    if !root() {
        return;
    }
    let out = in_netns(|| {
        let mut s = Socket::open(libc::NETLINK_ROUTE as isize).unwrap();
        s.request(veth("wgqnl0", "wgqnl1")).unwrap();
        let idx = s
            .dump(rtnl::get_link_by_name("wgqnl0"))
            .unwrap()
            .into_iter()
            .find_map(|m| if let RouteNetlinkMessage::NewLink(l) = m { Some(l.header.index) } else { None })
            .unwrap();
        s.request(rtnl::add_address(idx, IpNet::parse("10.77.0.1/24").unwrap())).unwrap();
        s.request(rtnl::add_address(idx, IpNet::parse("fd77::1/64").unwrap())).unwrap();
        s.request(rtnl::set_mtu_up(idx, 1420)).unwrap();
        // 2,000 routes in one batch, one of them a duplicate that must fail alone.
        let mut routes: Vec<Route> = (0..2000u32)
            .map(|i| Route {
                net: IpNet::parse(&format!("10.{}.{}.0/24", 100 + i / 250, i % 250)).unwrap(),
                table: None,
                table_text: None,
            })
            .collect();
        routes.push(Route { net: IpNet::parse("::/0").unwrap(), table: Some(51820), table_text: None });
        routes.insert(10, routes[3].clone());
        let msgs = routes.iter().map(|r| rtnl::add_route(idx, r.net, r.table)).collect();
        let res = s.batch(msgs).unwrap();
        let failed: Vec<usize> = res.iter().enumerate().filter(|(_, r)| r.is_err()).map(|(i, _)| i).collect();
        assert_eq!(failed, vec![10]);
        assert_eq!(res[10].as_ref().unwrap_err().raw_os_error(), Some(libc::EEXIST));
        for r in [
            Rule::NotFwmark { v6: false, mark: 51820, table: 51820, priority: Some(32765) },
            Rule::SuppressMain { v6: false, priority: Some(32764) },
            Rule::NotFwmark { v6: true, mark: 51820, table: 51820, priority: None },
        ] {
            s.request(rtnl::add_rule(&r)).unwrap();
        }
        let observed: Vec<_> = s
            .dump(rtnl::dump_rules(false))
            .unwrap()
            .into_iter()
            .filter_map(|m| if let RouteNetlinkMessage::NewRule(r) = m { rtnl::observed_rule(&r) } else { None })
            .collect();
        let routes_dumped = s.dump(rtnl::dump_routes_filtered(&rtnl::RouteFilter::default())).unwrap().len();
        let text = format!(
            "{}\n{}\n{}\n{}\n{}",
            ip(&["-4", "rule"]),
            ip(&["-6", "rule"]),
            ip(&["-6", "route", "show", "table", "51820"]),
            ip(&["addr", "show", "dev", "wgqnl0"]),
            ip(&["-4", "route", "show", "10.100.3.0/24"]),
        );
        let missing = s.dump(rtnl::get_link_by_name("nosuchlink0")).unwrap_err();
        (text, observed, routes_dumped, missing.raw_os_error())
    });
    let (text, observed, routes_dumped, missing) = out;
    assert!(text.contains("32765:\tnot from all fwmark 0xca6c lookup 51820"), "{text}");
    assert!(text.contains("32764:\tfrom all lookup main suppress_prefixlength 0"), "{text}");
    assert!(text.contains("not from all fwmark 0xca6c lookup 51820"), "{text}");
    assert!(text.contains("default dev wgqnl0 metric 1024"), "{text}");
    assert!(text.contains("inet 10.77.0.1/24 scope global wgqnl0"), "{text}");
    assert!(text.contains("mtu 1420"), "{text}");
    assert!(text.contains("10.100.3.0/24 dev wgqnl0 scope link"), "{text}");
    assert_eq!(observed.len(), 2, "{observed:?}");
    assert!(routes_dumped >= 2000);
    assert_eq!(missing, Some(libc::ENODEV));
}

/// The nfnetlink table listing `down` uses prints what `nft list tables` prints, with no
/// table at all and with tables of several families.
#[test]
fn nft_table_listing_matches_nft() {
    if !root() {
        return;
    }
    if which::which("nft").is_err() {
        eprintln!("skipped: nft is not installed");
        return;
    }
    let (empty, listed, nft) = in_netns(|| {
        let empty = wgq::wire::nftables::list_tables().unwrap();
        let mut c = Command::new("nft").args(["-f", "-"]).stdin(std::process::Stdio::piped()).spawn().unwrap();
        use std::io::Write as _;
        c.stdin.take().unwrap().write_all(b"table ip wg-quick-wg0 {}\ntable inet filter {}\ntable ip6 wg-quick-wg0 {}\ntable bridge b {}\ntable netdev n {}\ntable arp a {}\n").unwrap();
        assert!(c.wait().unwrap().success());
        let nft = String::from_utf8(Command::new("nft").args(["list", "tables"]).output().unwrap().stdout).unwrap();
        (empty, wgq::wire::nftables::list_tables().unwrap(), nft)
    });
    assert_eq!(empty, "");
    assert_eq!(listed.lines().count(), 6, "{listed}");
    assert_eq!(listed, nft);
    assert_eq!(
        wgq::plan::firewall::nft_down_script("wg0", &listed).unwrap(),
        "delete table ip wg-quick-wg0\ndelete table ip6 wg-quick-wg0\n"
    );
}

/// A refused route in the middle of a large batch: exactly the routes before it are in
/// place afterwards (none of the later ones, neither in its chunk nor in later chunks),
/// which is what the executor's undo log records.
#[test]
fn failing_route_in_a_batch_leaves_exactly_the_routes_before_it() {
    if !root() {
        return;
    }
    use wgq::plan::exec::System as _;
    let (res, shown) = in_netns(|| {
        let mut s = Socket::open(libc::NETLINK_ROUTE as isize).unwrap();
        s.request(veth("wgqrt0", "wgqrt1")).unwrap();
        ip(&["link", "set", "wgqrt0", "up"]);
        // Route 1470 (10.5.220.0/24, in the second chunk of 1024) exists already: its add
        // is refused (EEXIST).
        ip(&["route", "add", "10.5.220.0/24", "dev", "wgqrt0"]);
        let routes: Vec<Route> = (0..3000u32)
            .map(|k| Route {
                net: IpNet::parse(&format!("10.{}.{}.0/24", k / 250, k % 250)).unwrap(),
                table: None,
                table_text: None,
            })
            .collect();
        let mut sys = wgq::system::LinuxSystem::new("wgqrt0", None).unwrap();
        let r = sys.add_routes("wgqrt0", &routes).map_err(|(n, e)| (n, e.to_string()));
        (r, ip(&["route", "show", "dev", "wgqrt0"]))
    });
    let (n, msg) = res.unwrap_err();
    assert_eq!(n, 1470, "{msg}");
    assert!(msg.contains("File exists"), "{msg}");
    let nets: Vec<&str> = shown.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(nets.len(), 1471, "the 1470 routes before it plus the pre-existing one");
    assert!(nets.contains(&"10.5.219.0/24"));
    assert!(!nets.contains(&"10.5.221.0/24"));
    assert!(!nets.contains(&"10.11.249.0/24"));
}

/// Filtered route dumps: with and without the kernel's strict checking, a dump for one table
/// or one interface returns exactly those routes (checked against `ip`), a missing table is
/// empty, and routes of other tables are not decoded.
#[test]
fn filtered_route_dumps_return_exactly_the_selected_routes() {
    if !root() {
        return;
    }
    let out = in_netns(|| {
        let mut s = Socket::open(libc::NETLINK_ROUTE as isize).unwrap();
        s.request(veth("wgqfd0", "wgqfd1")).unwrap();
        ip(&["link", "set", "wgqfd0", "up"]);
        ip(&["link", "set", "wgqfd1", "up"]);
        let idx = |s: &mut Socket, n: &str| -> u32 {
            s.dump(rtnl::get_link_by_name(n))
                .unwrap()
                .into_iter()
                .find_map(|m| if let RouteNetlinkMessage::NewLink(l) = m { Some(l.header.index) } else { None })
                .unwrap()
        };
        let (i0, i1) = (idx(&mut s, "wgqfd0"), idx(&mut s, "wgqfd1"));
        // 3,000 routes in table 100, 5 in main via wgqfd0, 2 in main via wgqfd1, 1 in 51820.
        let mut batch: Vec<_> = (0..3000u32)
            .map(|k| Route {
                net: IpNet::parse(&format!("10.{}.{}.0/24", k / 250, k % 250)).unwrap(),
                table: Some(100),
                table_text: None,
            })
            .map(|r| rtnl::add_route(i1, r.net, r.table))
            .collect();
        for k in 0..5 {
            batch.push(rtnl::add_route(i0, IpNet::parse(&format!("10.200.{k}.0/24")).unwrap(), None));
        }
        for k in 0..2 {
            batch.push(rtnl::add_route(i1, IpNet::parse(&format!("10.201.{k}.0/24")).unwrap(), None));
        }
        batch.push(rtnl::add_route(i0, IpNet::parse("::/0").unwrap(), Some(51820)));
        assert!(s.batch(batch).unwrap().iter().all(|r| r.is_ok()));
        let mut results = Vec::new();
        for strict in [true, false] {
            if strict {
                assert!(s.set_strict(true), "this kernel refuses strict dump checking");
            } else {
                s.set_strict(false);
            }
            let count = |s: &mut Socket, f: rtnl::RouteFilter| -> (usize, usize) {
                let mut seen = 0;
                let r = s.dump_where(rtnl::dump_routes_filtered(&f), &mut |b| {
                    seen += 1;
                    rtnl::route_frame(b).is_some_and(|r| f.matches(&r))
                });
                match r {
                    Ok(v) => (v.len(), seen),
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => (0, seen),
                    Err(e) => panic!("{e}"),
                }
            };
            let main0 = count(&mut s, rtnl::RouteFilter { table: Some(254), oif: Some(i0), ..Default::default() });
            let t100 = count(&mut s, rtnl::RouteFilter { table: Some(100), ..Default::default() });
            let t51820v6 = count(&mut s, rtnl::RouteFilter { v6: true, table: Some(51820), ..Default::default() });
            let t51821 = count(&mut s, rtnl::RouteFilter { table: Some(51821), ..Default::default() });
            let dev1 = count(&mut s, rtnl::RouteFilter { oif: Some(i1), ..Default::default() });
            results.push((strict, main0, t100, t51820v6, t51821, dev1));
        }
        s.set_strict(false);
        (results, ip(&["-4", "route", "show", "dev", "wgqfd0"]))
    });
    let (results, shown) = out;
    assert_eq!(shown.lines().filter(|l| l.starts_with("10.200.")).count(), 5, "{shown}");
    for (strict, main0, t100, t51820v6, t51821, dev1) in results {
        // wgqfd0's 5 main routes, plus its connected routes: none (no address).
        assert_eq!(main0.0, 5, "strict {strict}: main via wgqfd0");
        assert_eq!(t100.0, 3000, "strict {strict}: table 100");
        assert_eq!(t51820v6.0, 1, "strict {strict}: table 51820 (v6)");
        assert_eq!(t51821.0, 0, "strict {strict}: a table that does not exist");
        assert_eq!(dev1.0, 3002, "strict {strict}: every table via wgqfd1");
        if strict {
            // The kernel filtered: main via wgqfd0 came without the 3,000 of table 100.
            assert!(main0.1 < 100, "strict dump was not filtered by the kernel: {} frames", main0.1);
        } else {
            assert!(main0.1 >= 3005, "without strict checking every route comes: {} frames", main0.1);
        }
    }
}

/// `ip rule` of both families as `ip` prints them, in the calling thread's namespace.
fn rules() -> (String, String) {
    (ip(&["-4", "rule"]), ip(&["-6", "rule"]))
}

fn netns_of_this_thread() -> std::path::PathBuf {
    std::fs::read_link("/proc/thread-self/ns/net").unwrap()
}

/// The probe `up` runs on kernels before 3.12: this kernel keeps suppress_prefixlength, and
/// asking leaves the rules of the namespace it is asked from as they were (its rule is
/// added in a namespace of its own), and the caller in its namespace.
#[test]
fn the_suppress_prefixlength_probe_finds_it_and_touches_nothing() {
    use wgq::plan::kernel::Capability;
    if !root() {
        return;
    }
    let v6 = std::path::Path::new("/proc/sys/net/ipv6").exists();
    let families: &[bool] = if v6 { &[false, true] } else { &[false] };
    // The host's namespace.
    let before = rules();
    let ns = netns_of_this_thread();
    assert_eq!(wgq::system::probe_suppress_prefixlength(families), Capability::Supported);
    assert_eq!(rules(), before, "the host's rules changed");
    assert_eq!(netns_of_this_thread(), ns);
    // From a namespace with a rule of its own (what `up` finds there stays as it is).
    let families = families.to_vec();
    in_netns(move || {
        assert!(
            Command::new("ip")
                .args(["-4", "rule", "add", "table", "main", "suppress_prefixlength", "0"])
                .status()
                .unwrap()
                .success()
        );
        let before = rules();
        assert!(before.0.contains("suppress_prefixlength 0"), "{}", before.0);
        for f in [&families[..1], &families[families.len() - 1..], &families[..]] {
            assert_eq!(wgq::system::probe_suppress_prefixlength(f), Capability::Supported, "{f:?}");
        }
        assert_eq!(rules(), before);
        // Nothing to ask about: nothing known.
        assert_eq!(wgq::system::probe_suppress_prefixlength(&[]), Capability::Unknown);
    });
}

/// Without CAP_SYS_ADMIN (a container) the probe cannot make its namespace: Unknown, so
/// `up` refuses nothing. Capabilities are per thread and new threads inherit them.
#[test]
fn the_suppress_prefixlength_probe_without_cap_sys_admin_knows_nothing() {
    use wgq::plan::kernel::Capability;
    if !root() {
        return;
    }
    let got = std::thread::spawn(|| {
        #[repr(C)]
        struct Header {
            version: u32,
            pid: i32,
        }
        #[repr(C)]
        #[derive(Clone, Copy, Default)]
        struct Data {
            effective: u32,
            permitted: u32,
            inheritable: u32,
        }
        let mut h = Header { version: 0x2008_0522, pid: 0 };
        let mut d = [Data::default(); 2];
        // SAFETY: capget/capset of this thread with a v3 header and two data words.
        unsafe {
            assert_eq!(libc::syscall(libc::SYS_capget, &mut h as *mut Header, d.as_mut_ptr()), 0);
            d[0].effective &= !(1 << 21); // CAP_SYS_ADMIN
            assert_eq!(libc::syscall(libc::SYS_capset, &mut h as *mut Header, d.as_ptr()), 0);
        }
        wgq::system::probe_suppress_prefixlength(&[false])
    })
    .join()
    .unwrap();
    assert_eq!(got, Capability::Unknown);
}
