//! Reliability of `wgq up`/`down` on a real system (root; userspace device through
//! wireguard-go inside throwaway network namespaces): signals, concurrent runs, failing
//! helpers, `down` twice or after the file changed, two full tunnels.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const K: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const P: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
const WGQ: &str = env!("CARGO_BIN_EXE_wgq");

static NEXT: AtomicU32 = AtomicU32::new(0);

fn ready() -> bool {
    common::ready(&["wireguard-go", "nft", "ip"])
}

/// A throwaway namespace with Appendix A's uplinks, a shim directory first in PATH
/// (a recording resolvconf), and a config directory.
struct Ns {
    netns: common::Netns,
    dir: tempfile::TempDir,
    tag: String,
    /// Unique digits for process markers (the tag has letters).
    mark: String,
}

impl Ns {
    fn new() -> Ns {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let tag = format!("{}{n}", common::pid_tag());
        // Digits only (hooks sleep for `N.<mark>` seconds, and pgrep finds them by it).
        let mark = format!("{}{n:03}", std::process::id());
        let name = format!("wgqrel-{tag}");
        let dir = tempfile::tempdir().unwrap();
        let ns = Ns { netns: common::Netns::new(name), dir, tag, mark };
        // `ip netns exec` uses /etc/netns/<name>/resolv.conf: name lookups go to this
        // namespace's loopback, where nothing listens, so no query leaves the machine.
        std::fs::create_dir_all(format!("/etc/netns/{}", ns.netns)).unwrap();
        std::fs::write(format!("/etc/netns/{}/resolv.conf", ns.netns), "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
            .unwrap();
        for c in [
            "ip -n NS link add v0 type veth peer name v1",
            "ip -n NS link set lo up",
            "ip -n NS link set v0 mtu 1460 up",
            "ip -n NS link set v1 mtu 1400 up",
            "ip -n NS addr add 192.0.2.1/24 dev v0",
            "ip -n NS addr add 198.51.100.1/24 dev v1",
            "ip -n NS route add default via 192.0.2.2 dev v0",
            "ip -n NS -6 addr add 2001:db8:50::1/64 dev v0 nodad",
            "ip -n NS -6 route add default via 2001:db8:50::2 dev v0",
        ] {
            ns.sh(c).unwrap();
        }
        ns.netns.wait_carrier();
        std::fs::create_dir_all(ns.bin()).unwrap();
        ns.shim("resolvconf", &format!(
            "#!/bin/bash\necho \"resolvconf $*\" >>{d}/resolvconf.log\ncase \"$1\" in -a) cat >{d}/dns.$2;; -d) rm -f {d}/dns.$2;; -l) cat {d}/dns.$2 2>/dev/null;; esac\n",
            d = ns.dir.path().display()
        ));
        ns
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn shim(&self, name: &str, body: &str) {
        common::write_file(&self.bin().join(name), body, 0o755);
    }

    fn sh(&self, cmd: &str) -> Result<String, String> {
        common::sh_ns(self.netns.name(), cmd)
    }

    /// An interface name unique to this test run (sockets in /var/run/wireguard are global).
    fn ifname(&self, s: &str) -> String {
        format!("wr{}{s}", self.tag)
    }

    fn conf(&self, ifname: &str, body: &str) -> PathBuf {
        common::write_conf(self.dir.path(), ifname, body)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        let path = format!("{}:{}", self.bin().display(), std::env::var("PATH").unwrap_or_default());
        c.args(["netns", "exec", self.netns.name(), "env", &format!("PATH={path}"), WGQ]).args(args);
        // The tests signal wgq: whatever the suite's caller ignores must not matter.
        common::default_signals(&mut c);
        c
    }

    fn wgq(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// The observable state, as sorted lines (link-local addresses left out).
    fn state(&self) -> String {
        self.state_of(true)
    }

    /// The state without the nftables ruleset (iptables-restore leaves empty raw/mangle
    /// tables behind, as it does for wg-quick).
    fn state_of(&self, with_nft: bool) -> String {
        let mut lines: Vec<String> = Vec::new();
        let nft = if with_nft { "ip netns exec NS nft list ruleset" } else { "true" };
        for c in [
            "ip -n NS -o link show",
            "ip -n NS -o addr show",
            "ip -n NS -4 route show table all",
            "ip -n NS -6 route show table all",
            "ip -n NS -4 rule show",
            "ip -n NS -6 rule show",
            nft,
        ] {
            lines.extend(self.sh(c).unwrap_or_default().lines().filter(|l| !l.contains("fe80")).map(String::from));
        }
        if let Ok(d) = std::fs::read_dir(self.dir.path()) {
            for e in d.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.starts_with("dns.") {
                    lines.push(format!("dns registered: {n}"));
                }
            }
        }
        lines.sort();
        lines.join("\n")
    }
}

fn full_tunnel(extra: &str) -> String {
    format!(
        "[Interface]\nPrivateKey = {K}\nListenPort = 51820\nAddress = 10.8.0.2/32, fd00:8::2/128\nDNS = 10.8.0.1\n{extra}\n\
         [Peer]\nPublicKey = {P}\nAllowedIPs = 0.0.0.0/0, ::/0\nEndpoint = 198.51.100.7:51820\n"
    )
}

fn text(o: &Output) -> String {
    format!("rc={:?}\n{}{}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn sigterm_during_a_hook_rolls_everything_back() {
    if !ready() {
        return;
    }
    let ns = Ns::new();
    let ifn = ns.ifname("s");
    let marker = format!("{}.{}", 40, ns.mark);
    let conf = ns.conf(&ifn, &full_tunnel(&format!("PostUp = sleep {marker} & sleep {marker}")));
    let before = ns.state();
    let mut child = ns.cmd(&["up", conf.to_str().unwrap()]).stderr(Stdio::piped()).spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut l = String::new();
        if err.read_line(&mut l).unwrap() == 0 || Instant::now() > deadline {
            break;
        }
        seen.push_str(&l);
        if l.contains(&format!("[#] sleep {marker}")) {
            break;
        }
    }
    assert!(seen.contains("nft -f"), "up did not reach the hook:\n{seen}");
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut err, &mut rest);
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(143), "{seen}{rest}");
    assert!(rest.contains("ip link delete dev"), "{rest}");
    assert_eq!(ns.state(), before, "state after SIGTERM differs\n{seen}{rest}");
    let left = Command::new("pgrep").args(["-f", &format!("sleep {marker}")]).output().unwrap();
    assert!(left.stdout.is_empty(), "the hook's processes survived: {}", String::from_utf8_lossy(&left.stdout));
}

#[test]
fn concurrent_ups_serialise_and_nothing_is_duplicated() {
    if !ready() {
        return;
    }
    let ns = Ns::new();
    let ifn = ns.ifname("c");
    let conf = ns.conf(&ifn, &full_tunnel("PostUp = sleep 0.5"));
    let before = ns.state();
    let a = ns.cmd(&["up", conf.to_str().unwrap()]).stderr(Stdio::piped()).spawn().unwrap();
    let b = ns.cmd(&["up", conf.to_str().unwrap()]).stderr(Stdio::piped()).spawn().unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let oks = [a.status.success(), b.status.success()].iter().filter(|x| **x).count();
    assert_eq!(oks, 1, "exactly one up must win:\n{}\n{}", text(&a), text(&b));
    let loser = if a.status.success() { &b } else { &a };
    let msg = text(loser);
    assert_eq!(loser.status.code(), Some(1), "{msg}");
    assert!(msg.contains("another wgq process") || msg.contains("already exists"), "{msg}");
    let rules = ns.sh("ip -n NS -4 rule show").unwrap();
    assert_eq!(rules.matches("suppress_prefixlength 0").count(), 1, "{rules}");
    let down = ns.wgq(&["down", conf.to_str().unwrap()]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(ns.state(), before);
}

#[test]
fn down_twice_and_down_after_the_file_changed() {
    if !ready() {
        return;
    }
    let ns = Ns::new();
    let ifn = ns.ifname("d");
    let conf = ns.conf(&ifn, &full_tunnel(""));
    let before = ns.state();
    let up = ns.wgq(&["up", conf.to_str().unwrap()]);
    assert!(up.status.success(), "{}", text(&up));
    // The file no longer has DNS, a full tunnel or Table auto, and its peer is now
    // invalid (down, like wg-quick's, does not read peers); down still removes all.
    ns.conf(&ifn, &format!("[Interface]\nPrivateKey = {K}\nTable = off\n[Peer]\nPublicKey = garbage\n"));
    let down = ns.wgq(&["down", conf.to_str().unwrap()]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(ns.state(), before, "{}", text(&down));
    let again = ns.wgq(&["down", conf.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).contains(&format!("`{ifn}' is not a WireGuard interface")), "{}", text(&again));
}

#[test]
fn taking_one_full_tunnel_down_keeps_the_others_rules() {
    if !ready() {
        return;
    }
    let ns = Ns::new();
    let (ia, ib) = (ns.ifname("a"), ns.ifname("b"));
    let ca = ns.conf(&ia, &full_tunnel("").replace("51820\nAddress", "51830\nAddress"));
    let cb = ns.conf(&ib, &full_tunnel("").replace("51820\nAddress", "51831\nAddress").replace("10.8.0.2", "10.9.0.2"));
    assert!(ns.wgq(&["up", ca.to_str().unwrap()]).status.success());
    let with_a = ns.state();
    let up_b = ns.wgq(&["up", cb.to_str().unwrap()]);
    assert!(up_b.status.success(), "{}", text(&up_b));
    assert!(text(&up_b).contains("fwmark 51821"), "{}", text(&up_b));
    let down_b = ns.wgq(&["down", cb.to_str().unwrap()]);
    assert!(down_b.status.success(), "{}", text(&down_b));
    assert_eq!(ns.state(), with_a, "A's state changed when B went down");
    assert!(ns.wgq(&["down", ca.to_str().unwrap()]).status.success());
}

#[test]
fn failing_helpers_each_roll_back_completely() {
    if !ready() {
        return;
    }
    let ns = Ns::new();
    let before = ns.state();
    // (shim name, shim body, env var, expected status, expected text)
    type Case<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>, i32, &'a str);
    let cases: Vec<Case> = vec![
        ("nft", "#!/bin/sh\necho 'nft: simulated failure' >&2\nexit 1\n", None, 1, "nft failed with status 1"),
        ("resolvconf", "#!/bin/sh\nexit 3\n", None, 3, "resolvconf failed with status 3"),
        ("", "", Some(("WG_QUICK_USERSPACE_IMPLEMENTATION", "wgq-no-such-program")), 1, "no WireGuard kernel module"),
        ("", "", Some(("WG_ENDPOINT_RESOLUTION_RETRIES", "0")), 1, "Endpoint"),
    ];
    for (i, (shim, body, env, status, want)) in cases.into_iter().enumerate() {
        let ifn = ns.ifname(&format!("f{i}"));
        let mut cfg = full_tunnel("");
        if want == "Endpoint" {
            cfg = cfg.replace("198.51.100.7:51820", "nonexistent.invalid:51820");
        }
        let conf = ns.conf(&ifn, &cfg);
        let saved = if shim.is_empty() { None } else { std::fs::read(ns.bin().join(shim)).ok() };
        if !shim.is_empty() {
            ns.shim(shim, body);
        }
        let mut c = ns.cmd(&["up", conf.to_str().unwrap()]);
        if let Some((k, v)) = env {
            c = ns.cmd(&[]);
            c.env_clear();
            let path = format!("{}:{}", ns.bin().display(), std::env::var("PATH").unwrap_or_default());
            c = Command::new("ip");
            c.args([
                "netns",
                "exec",
                ns.netns.name(),
                "env",
                &format!("PATH={path}"),
                &format!("{k}={v}"),
                WGQ,
                "up",
                conf.to_str().unwrap(),
            ]);
        }
        let o = c.output().unwrap();
        let t = text(&o);
        assert_eq!(o.status.code(), Some(status), "case {i}: {t}");
        assert!(t.contains(want), "case {i}: {t}");
        assert_eq!(ns.state(), before, "case {i} left state behind: {t}");
        match (shim, saved) {
            ("", _) => {}
            (s, Some(b)) => std::fs::write(ns.bin().join(s), b).unwrap(),
            (s, None) => std::fs::remove_file(ns.bin().join(s)).unwrap(),
        }
    }
}

#[test]
fn read_only_sysctl_and_failing_iptables_restore_roll_back() {
    if !ready() {
        return;
    }
    for t in ["unshare", "mount", "iptables-restore", "ip6tables-restore", "iptables-save", "ip6tables-save"] {
        if which::which(t).is_err() {
            eprintln!("skipped: {t} is not installed");
            return;
        }
    }
    let ns = Ns::new();
    let before = ns.state();

    // A container whose /proc/sys is read-only: src_valid_mark (0 in a new namespace)
    // cannot be set, after the rules and the route are in place.
    let ifn = ns.ifname("ro");
    let conf = ns.conf(&ifn, &full_tunnel(""));
    let path = format!("{}:{}", ns.bin().display(), std::env::var("PATH").unwrap_or_default());
    let o = Command::new("ip")
        .args(["netns", "exec", ns.netns.name(), "unshare", "-m", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "f=/proc/sys/net/ipv4/conf/all/src_valid_mark; mount --bind $f $f && mount -o remount,bind,ro $f && \
             PATH={path} {WGQ} up {}",
            conf.display()
        ))
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("unable to set net.ipv4.conf.all.src_valid_mark: Read-only file system"), "{t}");
    assert!(t.contains("[#] ip -4 rule add table main suppress_prefixlength 0"), "failed before the rules: {t}");
    assert_eq!(ns.state(), before, "read-only sysctl left state behind: {t}");

    // No nft: wg-quick's iptables-restore fallback. ip6tables-restore succeeds (IPv6 comes
    // first), then iptables-restore fails: the IPv6 rules must be taken out again.
    let shims = ns.dir.path().join("no-nft");
    std::fs::create_dir_all(&shims).unwrap();
    for t in ["wireguard-go", "iptables", "ip6tables", "iptables-save", "ip6tables-save", "ip6tables-restore", "cat", "rm"] {
        std::os::unix::fs::symlink(which::which(t).unwrap(), shims.join(t)).unwrap();
    }
    std::fs::copy(ns.bin().join("resolvconf"), shims.join("resolvconf")).unwrap();
    std::fs::write(shims.join("iptables-restore"), "#!/bin/sh\necho 'iptables-restore: simulated failure' >&2\nexit 4\n")
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(shims.join("iptables-restore"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ifn = ns.ifname("ipt");
    let conf = ns.conf(&ifn, &full_tunnel(""));
    let before = ns.state_of(false);
    let o = Command::new("ip")
        .args(["netns", "exec", ns.netns.name(), "env", &format!("PATH={}", shims.display()), WGQ, "up"])
        .arg(&conf)
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(4), "{t}");
    assert!(t.contains("iptables-restore failed with status 4: iptables-restore: simulated failure"), "{t}");
    assert_eq!(t.matches("[#] ip6tables-restore -n").count(), 2, "the IPv6 rules were not both added and removed: {t}");
    assert_eq!(ns.state_of(false), before, "failing iptables-restore left state behind: {t}");
    for save in ["iptables-save", "ip6tables-save"] {
        let rules = ns.sh(&format!("ip netns exec NS {save}")).unwrap();
        assert!(!rules.contains("wg-quick") && !rules.contains(&ifn), "{save} still shows rules: {rules}");
    }
}

#[test]
fn save_killed_at_random_points_never_leaves_a_partial_file() {
    if !ready() {
        return;
    }
    let ns = Ns::new();
    let ifn = ns.ifname("sv");
    // Written unlike `save` writes it (comments, spacing), so old and new contents differ.
    let mut body = format!("# server\n[Interface]\nPrivateKey={K}\nListenPort=51821\nTable=off\n");
    for j in 0..2000u32 {
        let mut k = [9u8; 32];
        k[..4].copy_from_slice(&j.to_le_bytes());
        body +=
            &format!("[Peer] # {j}\nPublicKey={}\nAllowedIPs=10.{}.{}.0/24\n", wgq::key::Key(k).to_base64(), j / 250, j % 250);
    }
    let conf = ns.conf(&ifn, &body);
    let up = ns.wgq(&["up", conf.to_str().unwrap()]);
    assert!(up.status.success(), "{}", text(&up));
    let temps = || -> Vec<PathBuf> {
        std::fs::read_dir(ns.dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy().into_owned();
                n.starts_with(&format!(".{ifn}.conf.")) && n.ends_with(".tmp")
            })
            .collect()
    };
    // Signals land anywhere in a save: delays spread over 0..1.2 times its duration.
    let t0 = Instant::now();
    std::fs::create_dir_all(ns.dir.path().join("copy")).unwrap();
    let copy = ns.dir.path().join("copy").join(format!("{ifn}.conf"));
    std::fs::copy(&conf, &copy).unwrap();
    assert!(ns.wgq(&["save", copy.to_str().unwrap()]).status.success());
    let span = t0.elapsed() * 6 / 5;
    let mut delays = common::Delays::new();
    let mut seen = Vec::new();
    let mut stopped = 0;
    for i in 0..16 {
        let delay = delays.below(span);
        let sig = if i % 2 == 0 { nix::sys::signal::Signal::SIGTERM } else { nix::sys::signal::Signal::SIGKILL };
        let temps_before = temps();
        let o = common::signal_after(ns.cmd(&["save", conf.to_str().unwrap()]).stderr(Stdio::null()), delay, sig);
        if !o.status.success() {
            stopped += 1;
        }
        seen.push((format!("run {i}: {sig:?} after {delay:?}"), std::fs::read(&conf).unwrap()));
        // SIGKILL may leave a temporary file (the next save removes it); SIGTERM never adds one.
        let left = temps();
        if sig == nix::sys::signal::Signal::SIGTERM {
            let new: Vec<_> = left.iter().filter(|t| !temps_before.contains(t)).collect();
            assert!(new.is_empty(), "run {i}: SIGTERM left a temporary file: {new:?}");
        }
    }
    eprintln!("{stopped} of 16 saves were stopped");
    let save = ns.wgq(&["save", conf.to_str().unwrap()]);
    assert!(save.status.success(), "{}", text(&save));
    assert_eq!(temps(), Vec::<PathBuf>::new(), "a complete save removes the leftovers of killed ones");
    let new = std::fs::read(&conf).unwrap();
    assert_ne!(new, body.as_bytes());
    // wireguard-go lists peers in an order of its own, so saves differ in peer order only.
    let sections = |b: &[u8]| {
        let text = String::from_utf8_lossy(b).into_owned();
        let mut v: Vec<String> = text.split("\n[").map(String::from).collect();
        v[1..].sort();
        v
    };
    for (what, content) in seen {
        assert!(
            content == body.as_bytes() || sections(&content) == sections(&new),
            "{what}: the file is neither the old nor a complete saved one"
        );
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&conf).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(ns.wgq(&["down", conf.to_str().unwrap()]).status.success());
}

#[test]
fn hooks_never_see_the_private_key_and_src_valid_mark_is_not_rewritten() {
    if !ready() {
        return;
    }
    let ns = Ns::new();
    let ifn = ns.ifname("k");
    let dump = ns.dir.path().join("hookenv");
    ns.sh("ip netns exec NS sysctl -q -w net.ipv4.conf.all.src_valid_mark=1").unwrap();
    let conf = ns
        .conf(&ifn, &full_tunnel(&format!("PostUp = env > {} ; cat /proc/$PPID/cmdline >> {}", dump.display(), dump.display())));
    let up = ns.wgq(&["up", conf.to_str().unwrap()]);
    assert!(up.status.success(), "{}", text(&up));
    let env = std::fs::read_to_string(&dump).unwrap();
    assert!(env.contains(&format!("INTERFACE={ifn}")), "{env}");
    assert!(!env.contains(K), "the private key leaked into a hook's environment or argv");
    assert!(!text(&up).contains(K), "the private key appeared in the trace");
    assert!(!text(&up).contains("src_valid_mark"), "src_valid_mark was already 1: {}", text(&up));
    assert!(ns.wgq(&["down", conf.to_str().unwrap()]).status.success());
    let _ = Path::new("");
}

/// The state of a fully-up full tunnel must be all there or all gone: no half states.
fn assert_all_or_nothing(ns: &Ns, before: &str, conf: &Path, what: &str) {
    let now = ns.state();
    if now == before {
        return;
    }
    let rules = ns.sh("ip -n NS -4 rule").unwrap_or_default();
    let nft = ns.sh("ip netns exec NS nft list tables").unwrap_or_default();
    assert!(
        rules.contains("suppress_prefixlength 0") && nft.contains("wg-quick-") && now.contains("dns registered"),
        "{what}: half-configured state:\n{now}"
    );
    let down = ns.wgq(&["down", conf.to_str().unwrap()]);
    assert!(down.status.success(), "{what}: {}", text(&down));
    assert_eq!(ns.state(), before, "{what}: down after a complete up left state");
}

#[test]
fn sigterm_at_random_points_of_up_leaves_all_or_nothing() {
    if !ready() {
        return;
    }
    let ns = Ns::new();
    let before = ns.state();
    let mut delays = common::Delays::new();
    let mut interrupted = 0;
    for i in 0..12 {
        let ifn = ns.ifname(&format!("r{i}"));
        let peers: String = (0..40)
            .map(|j| {
                format!(
                    "[Peer]\nPublicKey = {}\nAllowedIPs = 10.{}.{j}.0/24\n",
                    wgq::key::Key([j as u8 + 1; 32]).to_base64(),
                    100 + i
                )
            })
            .collect();
        let conf = ns.conf(&ifn, &(full_tunnel("PostUp = sleep 0.05") + &peers));
        let delay = delays.below(Duration::from_millis(180));
        let o = common::signal_after(
            ns.cmd(&["up", conf.to_str().unwrap()]).stderr(Stdio::piped()),
            delay,
            nix::sys::signal::Signal::SIGTERM,
        );
        if !o.status.success() {
            interrupted += 1;
        }
        assert_all_or_nothing(&ns, &before, &conf, &format!("run {i} (signal after {delay:?}): {}", text(&o)));
        assert_eq!(ns.state(), before);
    }
    eprintln!("{interrupted} of 12 ups were interrupted");
}

#[test]
fn concurrent_up_and_down_leave_all_or_nothing() {
    if !ready() {
        return;
    }
    let ns = Ns::new();
    let before = ns.state();
    for i in 0..6 {
        let ifn = ns.ifname(&format!("u{i}"));
        let conf = ns.conf(&ifn, &full_tunnel(""));
        let up = ns.cmd(&["up", conf.to_str().unwrap()]).stderr(Stdio::piped()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(20 * i));
        let down = ns.cmd(&["down", conf.to_str().unwrap()]).stderr(Stdio::piped()).spawn().unwrap();
        let (u, d) = (up.wait_with_output().unwrap(), down.wait_with_output().unwrap());
        assert_all_or_nothing(&ns, &before, &conf, &format!("round {i}:\n{}\n{}", text(&u), text(&d)));
    }
}
