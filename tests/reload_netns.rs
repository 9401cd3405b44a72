//! `wgq reload` on a running interface (root; wireguard-go in throwaway namespaces):
//! the result equals a fresh `up` of the new file, without recreating the link; the
//! runtime fwmark of a full tunnel stays; a failing step restores the previous state.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

const K: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const P: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
const P2: &str = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
const P3: &str = "z1GGEIw88r60VSHGMpoZMekzTmgVjLElMRN5sKYhSWo=";
const WGQ: &str = env!("CARGO_BIN_EXE_wgq");

fn ready() -> bool {
    common::ready(&["wireguard-go"])
}

struct Ns {
    netns: common::Netns,
    dir: tempfile::TempDir,
}

impl Ns {
    fn new(tag: &str) -> Ns {
        let name = format!("wgqrl-{}-{tag}", std::process::id());
        let ns = Ns { netns: common::Netns::new(name), dir: tempfile::tempdir().unwrap() };
        for c in [
            "ip -n NS link add v0 type veth peer name v1",
            "ip -n NS link set lo up",
            "ip -n NS link set v0 mtu 1460 up",
            "ip -n NS link set v1 up",
            "ip -n NS addr add 192.0.2.1/24 dev v0",
            "ip -n NS route add default via 192.0.2.2 dev v0",
        ] {
            assert!(Command::new("bash").arg("-c").arg(c.replace("NS", ns.netns.name())).status().unwrap().success(), "{c}");
        }
        let bin = ns.dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let rc = bin.join("resolvconf");
        std::fs::write(&rc, format!("#!/bin/bash\ncase \"$1\" in -a) cat >{d}/dns.$2;; -d) rm -f {d}/dns.$2;; -l) cat {d}/dns.$2 2>/dev/null;; esac\n", d = ns.dir.path().display())).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o755)).unwrap();
        ns
    }

    fn conf(&self, ifname: &str, body: &str) -> PathBuf {
        common::write_conf(self.dir.path(), ifname, body)
    }

    fn wgq(&self, args: &[&str]) -> Output {
        let path = format!("{}:{}", self.dir.path().join("bin").display(), std::env::var("PATH").unwrap());
        Command::new("ip")
            .args(["netns", "exec", self.netns.name(), "env", &format!("PATH={path}"), WGQ])
            .args(args)
            .output()
            .unwrap()
    }

    fn sh(&self, c: &str) -> String {
        String::from_utf8_lossy(&Command::new("bash").arg("-c").arg(c.replace("NS", self.netns.name())).output().unwrap().stdout)
            .into_owned()
    }

    /// The state, with the interface name replaced and link-local addresses left out.
    fn state(&self, ifname: &str) -> String {
        let mut v: Vec<String> = [
            "ip -n NS -o addr show",
            "ip -n NS -4 route show table all",
            "ip -n NS -6 route show table all",
            "ip -n NS rule",
            "ip -n NS -6 rule",
            &format!("ip netns exec NS wg showconf {ifname}"),
            &format!("ip -n NS -o link show {ifname}"),
        ]
        .iter()
        .flat_map(|c| self.sh(c).lines().map(String::from).collect::<Vec<_>>())
        .filter(|l| !l.contains("fe80"))
        .map(|l| l.replace(ifname, "IF"))
        // An IPv6 address just added is `tentative` until DAD ends: the kernel's timing.
        .map(|l| l.replace(" tentative ", " "))
        .map(|l| l.split("<").next().unwrap_or(&l).to_string() + l.split(">").nth(1).unwrap_or(""))
        .collect();
        v.extend(std::fs::read_dir(self.dir.path()).unwrap().flatten().filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with("dns.")
                .then(|| format!("{}: {}", n.replace(ifname, "IF"), std::fs::read_to_string(e.path()).unwrap_or_default()))
        }));
        v.sort();
        // wireguard-go lists peers in random order: sort the showconf peer lines too.
        v.join("\n")
    }

    fn ifindex(&self, ifname: &str) -> String {
        self.sh(&format!("ip -n NS -o link show {ifname}")).split(':').next().unwrap_or("").to_string()
    }
}

fn text(o: &Output) -> String {
    format!("rc={:?}\n{}{}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn old_conf() -> String {
    format!(
        "[Interface]\nPrivateKey = {K}\nListenPort = 51900\nAddress = 10.50.0.1/24\nDNS = 10.50.0.53\n\
         [Peer]\nPublicKey = {P}\nAllowedIPs = 10.50.0.2/32, 10.60.0.0/16\nPersistentKeepalive = 25\n\
         [Peer]\nPublicKey = {P2}\nPresharedKey = {P3}\nAllowedIPs = 10.61.0.0/16\n"
    )
}

fn new_conf() -> String {
    format!(
        "[Interface]\nPrivateKey = {K}\nListenPort = 51900\nAddress = 10.50.0.1/24, fd00:50::1/64\nMTU = 1400\nDNS = 10.50.0.54\n\
         [Peer]\nPublicKey = {P}\nAllowedIPs = 10.50.0.2/32, 10.62.0.0/16\n\
         [Peer]\nPublicKey = {P3}\nAllowedIPs = 10.63.0.0/16, fd00:63::/64\nEndpoint = 192.0.2.9:51820\n"
    )
}

#[test]
fn reload_equals_a_fresh_up_of_the_new_file_and_keeps_the_link() {
    if !ready() {
        return;
    }
    let (a, b) = (Ns::new("a"), Ns::new("b"));
    let (ia, ib) = (format!("wrl{}a", common::pid_tag()), format!("wrl{}b", common::pid_tag()));
    let ca = a.conf(&ia, &old_conf());
    let up = a.wgq(&["up", ca.to_str().unwrap()]);
    assert!(up.status.success(), "{}", text(&up));
    let index = a.ifindex(&ia);
    a.conf(&ia, &new_conf());
    let plan = a.wgq(&["reload", "--dry-run", ca.to_str().unwrap()]);
    assert!(text(&plan).contains("wg syncconf"), "{}", text(&plan));
    let r = a.wgq(&["reload", ca.to_str().unwrap()]);
    assert!(r.status.success(), "{}", text(&r));
    let t = text(&r);
    for want in [
        "ip -6 address add fd00:50::1/64",
        "ip link set mtu 1400",
        "resolvconf -a",
        "ip -4 route del 10.60.0.0/16",
        "ip -4 route add 10.62.0.0/16",
    ] {
        assert!(t.contains(want), "missing `{want}` in\n{t}");
    }
    assert_eq!(a.ifindex(&ia), index, "the link was recreated");
    let cb = b.conf(&ib, &new_conf());
    let upb = b.wgq(&["up", cb.to_str().unwrap()]);
    assert!(upb.status.success(), "{}", text(&upb));
    let (sa, sb) = (a.state(&ia), b.state(&ib));
    assert_eq!(sa, sb, "reloaded state differs from a fresh up of the same file");
    // Nothing left to do: a second reload changes nothing.
    let again = a.wgq(&["reload", ca.to_str().unwrap()]);
    assert!(again.status.success() && !text(&again).contains("[#]"), "{}", text(&again));
    assert!(a.wgq(&["down", ca.to_str().unwrap()]).status.success());
    assert!(b.wgq(&["down", cb.to_str().unwrap()]).status.success());
}

#[test]
fn reload_keeps_the_runtime_fwmark_of_a_full_tunnel() {
    if !ready() {
        return;
    }
    let a = Ns::new("f");
    let ia = format!("wrl{}f", common::pid_tag());
    // The endpoint is reached through the default route (v0, MTU 1460): the automatic MTU
    // is 1380 at up. Once up, an unmarked lookup of the endpoint goes through the tunnel
    // itself (1380 - 80); reload must still find 1380, as up did.
    a.sh("ip -n NS link set v0 mtu 1460");
    let full = |extra: &str| {
        format!(
            "[Interface]\nPrivateKey = {K}\nAddress = 10.51.0.2/32\n[Peer]\nPublicKey = {P}\nAllowedIPs = 0.0.0.0/0\n\
             Endpoint = 198.51.100.7:51820\n{extra}"
        )
    };
    let c = a.conf(&ia, &full(""));
    assert!(a.wgq(&["up", c.to_str().unwrap()]).status.success());
    let mtu = || {
        a.sh(&format!("ip -n NS -o link show {ia}"))
            .split_whitespace()
            .skip_while(|w| *w != "mtu")
            .nth(1)
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(mtu(), "1380");
    let port_before = a.sh(&format!("ip netns exec NS wg show {ia} listen-port"));
    a.conf(&ia, &full(&format!("[Peer]\nPublicKey = {P2}\nAllowedIPs = 10.52.0.0/16\n")));
    let r = a.wgq(&["reload", c.to_str().unwrap()]);
    assert!(r.status.success(), "{}", text(&r));
    assert_eq!(a.sh(&format!("ip netns exec NS wg show {ia} fwmark")).trim(), "0xca6c");
    assert_eq!(a.sh(&format!("ip netns exec NS wg show {ia} listen-port")), port_before);
    assert_eq!(mtu(), "1380", "{}", text(&r));
    assert!(a.sh("ip -n NS route show 10.52.0.0/16").contains(&ia));
    // Dropping the full tunnel is refused, changing nothing.
    let before = a.state(&ia);
    a.conf(
        &ia,
        &format!("[Interface]\nPrivateKey = {K}\nAddress = 10.51.0.2/32\n[Peer]\nPublicKey = {P}\nAllowedIPs = 10.0.0.0/8\n"),
    );
    let r = a.wgq(&["reload", c.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(1), "{}", text(&r));
    assert!(text(&r).contains("wgq down"), "{}", text(&r));
    assert_eq!(a.state(&ia), before);
    assert!(a.wgq(&["down", c.to_str().unwrap()]).status.success());
}

#[test]
fn a_failing_reload_step_restores_the_previous_state() {
    if !ready() {
        return;
    }
    let a = Ns::new("x");
    let ia = format!("wrl{}x", common::pid_tag());
    let c = a.conf(&ia, &old_conf());
    assert!(a.wgq(&["up", c.to_str().unwrap()]).status.success());
    let before = a.state(&ia);
    // 10.62.0.0/16 already routes through another link: the route add fails after the
    // peers, addresses, MTU and DNS were changed; all of it must come back.
    a.sh("ip -n NS route add 10.62.0.0/16 dev v1");
    a.conf(&ia, &new_conf());
    let r = a.wgq(&["reload", c.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(2), "{}", text(&r));
    a.sh("ip -n NS route del 10.62.0.0/16 dev v1");
    assert_eq!(a.state(&ia), before, "{}", text(&r));
    a.conf(&ia, &old_conf());
    assert!(a.wgq(&["down", c.to_str().unwrap()]).status.success());
}

#[test]
fn sigterm_during_reload_leaves_the_old_or_the_new_state() {
    if !ready() {
        return;
    }
    let a = Ns::new("s");
    let ia = format!("wrl{}s", common::pid_tag());
    let c = a.conf(&ia, &old_conf());
    assert!(a.wgq(&["up", c.to_str().unwrap()]).status.success());
    let old = a.state(&ia);
    a.conf(&ia, &new_conf());
    let t0 = std::time::Instant::now();
    assert!(a.wgq(&["reload", c.to_str().unwrap()]).status.success());
    let span = t0.elapsed() * 6 / 5;
    let new = a.state(&ia);
    assert_ne!(old, new);
    let path = format!("{}:{}", a.dir.path().join("bin").display(), std::env::var("PATH").unwrap());
    let mut delays = common::Delays::new();
    let mut stopped = 0;
    for i in 0..12 {
        a.conf(&ia, &old_conf());
        let back = a.wgq(&["reload", c.to_str().unwrap()]);
        assert!(back.status.success(), "{}", text(&back));
        assert_eq!(a.state(&ia), old, "round {i}: reloading the old file did not restore its state");
        a.conf(&ia, &new_conf());
        let delay = delays.below(span);
        let o = common::signal_after(
            Command::new("ip")
                .args(["netns", "exec", a.netns.name(), "env", &format!("PATH={path}"), WGQ, "reload", c.to_str().unwrap()])
                .stderr(std::process::Stdio::piped()),
            delay,
            nix::sys::signal::Signal::SIGTERM,
        );
        if !o.status.success() {
            stopped += 1;
        }
        let now = a.state(&ia);
        assert!(now == old || now == new, "round {i} (SIGTERM after {delay:?}) left a mixed state:\n{now}\n{}", text(&o));
    }
    eprintln!("{stopped} of 12 reloads were interrupted");
    a.conf(&ia, &old_conf());
    assert!(a.wgq(&["down", c.to_str().unwrap()]).status.success());
}
