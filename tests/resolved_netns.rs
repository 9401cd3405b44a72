//! Issue 18 part 2: DNS through systemd-resolved without resolvconf (root; wireguard-go in
//! throwaway namespaces). Two kinds of resolved:
//! - a scripted `org.freedesktop.resolve1` (tests/resolved/fake_resolve1.py, python3-dbus) on a
//!   private `dbus-daemon`, reached through `DBUS_SYSTEM_BUS_ADDRESS`: the exact calls and their
//!   order, the revert on down and on rollback, a link resolved does not know yet, a link
//!   networkd manages, the detection order with each backend present or absent;
//! - the real systemd-resolved of Debian 12, unpacked (never installed) by
//!   scripts/install-test-deps into /var/cache/wgq-test/systemd-resolved (or
//!   `$WGQ_TEST_RESOLVED_ROOT`), run in a private mount and network namespace with its own
//!   system bus, where `wgq up`/`down`/a failing `up` are checked through resolved's own
//!   link properties.
//!
//! The real `resolvectl` of that package talks to both.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const K: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const P: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
const WGQ: &str = env!("CARGO_BIN_EXE_wgq");
const PYTHON: &str = "/usr/bin/python3";

/// Where the unpacked systemd-resolved package is.
fn resolved_root() -> PathBuf {
    std::env::var_os("WGQ_TEST_RESOLVED_ROOT").map(PathBuf::from).unwrap_or_else(|| "/var/cache/wgq-test/systemd-resolved".into())
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/resolved").join(name)
}

/// Root, the tools, the unpacked resolvectl, python3-dbus; and no resolvconf of the system's
/// own in PATH (it would be chosen first, by design).
fn ready() -> bool {
    if !common::ready(&["wireguard-go", "dbus-daemon", "busctl"]) {
        return false;
    }
    if !resolved_root().join("usr/bin/resolvectl").exists() {
        eprintln!("skipped: no unpacked systemd-resolved in {} (scripts/install-test-deps)", resolved_root().display());
        return false;
    }
    let dbus_ok = Command::new(PYTHON).args(["-c", "import dbus, dbus.mainloop.glib; from gi.repository import GLib"]).status();
    if !dbus_ok.is_ok_and(|s| s.success()) {
        eprintln!("skipped: {PYTHON} lacks python3-dbus or python3-gi");
        return false;
    }
    if let Ok(p) = which::which("resolvconf") {
        eprintln!("skipped: the system's PATH has a resolvconf ({}), which wgq would use first", p.display());
        return false;
    }
    true
}

/// A private system bus, optionally with the scripted resolve1 on it.
struct Bus {
    dir: tempfile::TempDir,
    daemon: Child,
    fake: Option<Child>,
}

impl Bus {
    fn new() -> Bus {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("bus");
        let conf = std::fs::read_to_string(fixture("bus.conf")).unwrap().replace("@SOCKET@", &sock.display().to_string());
        std::fs::write(dir.path().join("bus.conf"), conf).unwrap();
        let daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", dir.path().join("bus.conf").display()))
            .args(["--nofork", "--nopidfile"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while !sock.exists() && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(sock.exists(), "dbus-daemon made no socket");
        Bus { dir, daemon, fake: None }
    }

    fn address(&self) -> String {
        format!("unix:path={}", self.dir.path().join("bus").display())
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("calls.log")
    }

    /// Starts the scripted resolve1 with these `FAKE_*` settings and waits until it owns its name.
    fn start_fake(&mut self, env: &[(&str, &str)]) {
        self.stop_fake();
        let mut c = Command::new(PYTHON);
        c.arg(fixture("fake_resolve1.py")).arg(self.log_path()).env("DBUS_SYSTEM_BUS_ADDRESS", self.address());
        for (k, v) in env {
            c.env(k, v);
        }
        let mut child = c.stdout(Stdio::piped()).spawn().unwrap();
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the fake resolve1 did not start");
        self.fake = Some(child);
    }

    fn stop_fake(&mut self) {
        if let Some(mut f) = self.fake.take() {
            let _ = f.kill();
            let _ = f.wait();
        }
    }

    /// The calls logged so far (and forgets them).
    fn take_calls(&self) -> Vec<String> {
        let t = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        // Emptied, not removed: the fake keeps it open for appending.
        let _ = std::fs::write(self.log_path(), "");
        t.lines().map(String::from).collect()
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        self.stop_fake();
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// A namespace with an uplink, a PATH directory (`bin`) holding `resolvectl` (the unpacked
/// one) and what a test adds, and a config directory.
struct Ns {
    netns: common::Netns,
    ifname: String,
    dir: tempfile::TempDir,
}

impl Ns {
    fn new(tag: &str) -> Ns {
        let name = format!("wgqrs-{}-{tag}", std::process::id());
        let ifname = format!("wrs{}{}", common::pid_tag(), &tag[..1]);
        let ns = Ns { netns: common::Netns::new(name), ifname, dir: tempfile::tempdir().unwrap() };
        for c in [
            "ip -n NS link add v0 type veth peer name v1",
            "ip -n NS link set lo up",
            "ip -n NS link set v0 up",
            "ip -n NS link set v1 up",
            "ip -n NS addr add 192.0.2.1/24 dev v0",
        ] {
            common::sh_ns(ns.netns.name(), c).unwrap_or_else(|e| panic!("{c}: {e}"));
        }
        std::fs::create_dir_all(ns.bin()).unwrap();
        // A copy: nothing a test does in `bin` can reach the unpacked package.
        std::fs::copy(resolved_root().join("usr/bin/resolvectl"), ns.bin().join("resolvectl")).unwrap();
        ns
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    /// A recording resolvconf of openresolv's kind (a plain script).
    fn real_resolvconf(&self) {
        let d = self.dir.path().display();
        // Never written through the shim's link (it would overwrite resolvectl).
        let _ = std::fs::remove_file(self.bin().join("resolvconf"));
        common::write_file(
            &self.bin().join("resolvconf"),
            &format!("#!/bin/bash\necho \"resolvconf $*\" >>{d}/resolvconf.log\ncat >/dev/null\n"),
            0o755,
        );
    }

    /// systemd's shim: `resolvconf` a link to resolvectl.
    fn shim_resolvconf(&self) {
        let _ = std::fs::remove_file(self.bin().join("resolvconf"));
        std::os::unix::fs::symlink("resolvectl", self.bin().join("resolvconf")).unwrap();
    }

    fn resolvconf_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("resolvconf.log")).unwrap_or_default()
    }

    fn conf(&self, extra: &str) -> PathBuf {
        common::write_conf(
            self.dir.path(),
            &self.ifname,
            &format!(
                "[Interface]\nPrivateKey = {K}\nAddress = 10.77.0.2/24\n{extra}\n[Peer]\nPublicKey = {P}\n\
                 AllowedIPs = 10.77.0.0/24\nEndpoint = 192.0.2.2:51820\n"
            ),
        )
    }

    fn wgq(&self, bus: &Bus, args: &[&str]) -> Output {
        let path = format!("{}:{}", self.bin().display(), std::env::var("PATH").unwrap());
        Command::new("ip")
            .args([
                "netns",
                "exec",
                self.netns.name(),
                "env",
                &format!("PATH={path}"),
                &format!("DBUS_SYSTEM_BUS_ADDRESS={}", bus.address()),
            ])
            .arg(WGQ)
            .args(args)
            .output()
            .unwrap()
    }

    fn ifindex(&self) -> Option<u32> {
        common::sh_ns(self.netns.name(), &format!("ip -n NS -o link show {}", self.ifname))
            .ok()?
            .split(':')
            .next()?
            .trim()
            .parse()
            .ok()
    }

    fn link_exists(&self) -> bool {
        self.ifindex().is_some()
    }

    /// The run state file of the interface, if any.
    fn state(&self) -> Option<String> {
        let f = format!("{}.state", self.ifname);
        std::fs::read_dir("/run/wgq")
            .ok()?
            .flatten()
            .map(|e| e.path().join(&f))
            .find(|p| p.exists())
            .map(|p| std::fs::read_to_string(p).unwrap())
    }
}

fn text(o: &Output) -> String {
    format!("rc={:?}\n{}{}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

const DNS: &str = "DNS = 192.0.2.53, 2001:db8::53, corp.example";

/// The calls `up` of [`DNS`] makes on link `i`, in order.
fn up_calls(i: u32) -> Vec<String> {
    vec![
        format!("SetLinkDomains {i} corp.example:false .:true"),
        format!("SetLinkDefaultRoute {i} true"),
        format!("SetLinkDNSEx {i} 2:192.0.2.53:0: 10:2001:db8::53:0:"),
    ]
}

#[test]
fn up_sets_domains_route_all_default_route_and_servers_and_down_reverts() {
    if !ready() {
        return;
    }
    let mut bus = Bus::new();
    bus.start_fake(&[]);
    let ns = Ns::new("a");
    let conf = ns.conf(DNS);
    let o = ns.wgq(&bus, &["up", conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let ifn = &ns.ifname;
    for l in [
        format!("[#] resolvectl domain {ifn} corp.example ~.\n"),
        format!("[#] resolvectl default-route {ifn} yes\n"),
        format!("[#] resolvectl dns {ifn} 192.0.2.53 2001:db8::53\n"),
    ] {
        assert!(err.contains(&l), "missing {l:?} in\n{err}");
    }
    assert!(!err.contains("resolvconf"), "{err}");
    let i = ns.ifindex().unwrap();
    assert_eq!(bus.take_calls(), up_calls(i));
    let state = ns.state().expect("no run state");
    assert!(state.contains("\ndns_backend=resolved\n") && state.contains("dns_line=nameserver 192.0.2.53\n"), "{state}");
    // save writes the recorded servers back (no resolvconf -l to ask), and calls nothing.
    let o = ns.wgq(&bus, &["save", conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let saved = std::fs::read_to_string(&conf).unwrap();
    assert!(saved.contains("\nDNS = 192.0.2.53\nDNS = 2001:db8::53\n"), "{saved}");
    assert!(bus.take_calls().is_empty());
    // --dry-run of down shows the revert; nothing is called.
    let o = ns.wgq(&bus, &["down", "--dry-run", conf.to_str().unwrap()]);
    assert!(text(&o).contains(&format!("[#] resolvectl revert {ifn}\n")), "{}", text(&o));
    assert!(bus.take_calls().is_empty());
    let o = ns.wgq(&bus, &["down", conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    // The revert names the link, so it comes before the link goes.
    let (r, d) = (err.find("resolvectl revert").unwrap(), err.find("ip link delete").unwrap());
    assert!(r < d, "{err}");
    assert_eq!(bus.take_calls(), [format!("RevertLink {i}")]);
    assert!(!ns.link_exists() && ns.state().is_none());
}

/// Search domains that look like options (`--help`, `-x`), which wg-quick hands to
/// resolvconf as data, reach resolved as domains: `resolvectl domain -- IF ...`.
#[test]
fn search_domains_that_look_like_options_are_operands() {
    if !ready() {
        return;
    }
    let mut bus = Bus::new();
    bus.start_fake(&[]);
    let ns = Ns::new("h");
    let conf = ns.conf("DNS = 192.0.2.53, --help, -x");
    let o = ns.wgq(&bus, &["up", conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let ifn = &ns.ifname;
    assert!(err.contains(&format!("[#] resolvectl domain -- {ifn} --help -x ~.\n")), "{err}");
    assert!(!err.contains("COMMAND"), "resolvectl took a domain for an option:\n{err}");
    let i = ns.ifindex().unwrap();
    assert_eq!(bus.take_calls()[0], format!("SetLinkDomains {i} --help:false -x:false .:true"));
    let o = ns.wgq(&bus, &["down", conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn up_dry_run_shows_the_resolved_calls_and_makes_none() {
    if !ready() {
        return;
    }
    let mut bus = Bus::new();
    bus.start_fake(&[]);
    let ns = Ns::new("d");
    let conf = ns.conf(DNS);
    let o = ns.wgq(&bus, &["up", "--dry-run", conf.to_str().unwrap()]);
    let ifn = &ns.ifname;
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(&format!(
            "[#] resolvectl domain {ifn} corp.example ~.\n[#] resolvectl default-route {ifn} yes\n\
             [#] resolvectl dns {ifn} 192.0.2.53 2001:db8::53\n"
        )),
        "{out}"
    );
    assert!(bus.take_calls().is_empty() && !ns.link_exists());
}

#[test]
fn a_failing_post_up_reverts_the_link_before_deleting_it() {
    if !ready() {
        return;
    }
    let mut bus = Bus::new();
    bus.start_fake(&[]);
    let ns = Ns::new("p");
    let conf = ns.conf(&format!("{DNS}\nPostUp = exit 7"));
    let o = ns.wgq(&bus, &["up", conf.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let calls = bus.take_calls();
    assert_eq!(calls.len(), 4, "{calls:?}");
    assert!(calls[3].starts_with("RevertLink "), "{calls:?}");
    assert_eq!(calls[..3], up_calls(calls[3][11..].parse().unwrap())[..]);
    let (r, d) = (err.find(&format!("[#] resolvectl revert {}", ns.ifname)).unwrap(), err.rfind("[#] ip link delete").unwrap());
    assert!(r < d, "{err}");
    assert!(!ns.link_exists() && ns.state().is_none());
}

#[test]
fn a_link_resolved_has_not_seen_yet_is_retried_briefly() {
    if !ready() {
        return;
    }
    let mut bus = Bus::new();
    bus.start_fake(&[("FAKE_UNKNOWN_LINK", "3")]);
    let ns = Ns::new("u");
    let conf = ns.conf(DNS);
    let o = ns.wgq(&bus, &["up", conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let i = ns.ifindex().unwrap();
    let calls = bus.take_calls();
    let refused: Vec<&String> = calls.iter().filter(|c| c.starts_with("refused NoSuchLink")).collect();
    assert_eq!(refused.len(), 3, "{calls:?}");
    let done: Vec<String> = calls.iter().filter(|c| !c.starts_with("refused")).cloned().collect();
    assert_eq!(done, up_calls(i));
    // One trace line per operation, retries included.
    assert_eq!(String::from_utf8_lossy(&o.stderr).matches("[#] resolvectl domain").count(), 1);
    let _ = ns.wgq(&bus, &["down", conf.to_str().unwrap()]);
}

#[test]
fn a_link_resolved_never_knows_fails_within_the_bound_and_rolls_back() {
    if !ready() {
        return;
    }
    let mut bus = Bus::new();
    bus.start_fake(&[("FAKE_UNKNOWN_LINK", "100000")]);
    let ns = Ns::new("n");
    let conf = ns.conf(DNS);
    let t = Instant::now();
    let o = ns.wgq(&bus, &["up", conf.to_str().unwrap()]);
    let took = t.elapsed();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "wgq: systemd-resolved does not know {} (retried for 1 s): Failed to set domain configuration: Link",
            ns.ifname
        )) && err.contains("not known"),
        "{err}"
    );
    assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(6), "{took:?}");
    assert!(err.contains(&format!("[#] resolvectl revert {}", ns.ifname)), "{err}");
    assert!(!ns.link_exists() && ns.state().is_none());
}

#[test]
fn a_link_networkd_manages_is_reported_as_such_and_rolled_back() {
    if !ready() {
        return;
    }
    let mut bus = Bus::new();
    bus.start_fake(&[("FAKE_LINK_BUSY", "1")]);
    let ns = Ns::new("b");
    let conf = ns.conf(DNS);
    let o = ns.wgq(&bus, &["up", conf.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("wgq: {} is managed by systemd-networkd, which owns its DNS settings (", ns.ifname))
            && err.contains("set DNS= and Domains=~. in its .network file"),
        "{err}"
    );
    let calls = bus.take_calls();
    assert_eq!(calls[0], format!("refused LinkBusy SetLinkDomains {}", calls[0].rsplit(' ').next().unwrap()), "{calls:?}");
    assert!(calls.last().unwrap().starts_with("RevertLink "), "{calls:?}");
    assert!(!ns.link_exists());
}

#[test]
fn detection_order_real_resolvconf_then_resolved_then_none() {
    if !ready() {
        return;
    }
    let mut bus = Bus::new();
    bus.start_fake(&[]);
    // 1. A real resolvconf wins although resolved is on the bus: wg-quick's calls exactly.
    let ns = Ns::new("r");
    ns.real_resolvconf();
    let conf = ns.conf(DNS);
    let o = ns.wgq(&bus, &["up", conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&format!("[#] resolvconf -a {} -m 0 -x", ns.ifname)), "{}", text(&o));
    assert!(bus.take_calls().is_empty());
    assert!(!ns.state().unwrap().contains("dns_backend"));
    // The record decides down even when the system changed meanwhile (resolvconf gone).
    std::fs::remove_file(ns.bin().join("resolvconf")).unwrap();
    let o = ns.wgq(&bus, &["down", conf.to_str().unwrap()]);
    assert!(text(&o).contains(&format!("[#] resolvconf -d {} -f", ns.ifname)), "{}", text(&o));
    assert!(bus.take_calls().is_empty());
    drop(ns);

    // 2. systemd's shim with resolved on the bus: native calls, the shim is not run.
    let ns = Ns::new("s");
    ns.shim_resolvconf();
    let conf = ns.conf(DNS);
    let o = ns.wgq(&bus, &["up", conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("resolvconf -a"), "{}", text(&o));
    assert_eq!(bus.take_calls(), up_calls(ns.ifindex().unwrap()));
    // A real resolvconf appearing before down does not change what down does.
    ns.real_resolvconf();
    let o = ns.wgq(&bus, &["down", conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(bus.take_calls().len(), 1);
    assert_eq!(ns.resolvconf_log(), "");
    drop(ns);

    // 3. Neither (no resolvconf, nothing owns resolve1): wg-quick's failure, status 127,
    // then the hint; everything rolled back.
    bus.stop_fake();
    let ns = Ns::new("x");
    let conf = ns.conf(DNS);
    let o = ns.wgq(&bus, &["up", conf.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(127), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("[#] resolvconf -a {} -m 0 -x\n", ns.ifname)), "{err}");
    assert!(
        err.contains("wgq: resolvconf: command not found\nhint: DNS = needs resolvconf (Debian: apt install openresolv)"),
        "{err}"
    );
    assert!(!ns.link_exists() && ns.state().is_none());
    // Without DNS = nothing is asked or needed.
    let conf = ns.conf("");
    let o = ns.wgq(&bus, &["up", conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let _ = ns.wgq(&bus, &["down", conf.to_str().unwrap()]);
}

#[test]
fn reload_replaces_the_link_settings_and_a_removed_dns_reverts() {
    if !ready() {
        return;
    }
    let mut bus = Bus::new();
    bus.start_fake(&[]);
    let ns = Ns::new("l");
    let conf = ns.conf(DNS);
    assert!(ns.wgq(&bus, &["up", conf.to_str().unwrap()]).status.success());
    let i = ns.ifindex().unwrap();
    bus.take_calls();
    ns.conf("DNS = 198.51.100.53, lab.example");
    let o = ns.wgq(&bus, &["reload", conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        bus.take_calls(),
        [
            format!("SetLinkDomains {i} lab.example:false .:true"),
            format!("SetLinkDefaultRoute {i} true"),
            format!("SetLinkDNSEx {i} 2:198.51.100.53:0:")
        ]
    );
    assert!(ns.state().unwrap().contains("dns_line=nameserver 198.51.100.53\n"));
    // Nothing changed: nothing called.
    assert!(ns.wgq(&bus, &["reload", conf.to_str().unwrap()]).status.success());
    assert!(bus.take_calls().is_empty());
    ns.conf("");
    let o = ns.wgq(&bus, &["reload", conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(bus.take_calls(), [format!("RevertLink {i}")]);
    // Down has nothing left to revert.
    let o = ns.wgq(&bus, &["down", conf.to_str().unwrap()]);
    assert!(o.status.success() && !text(&o).contains("resolvectl"), "{}", text(&o));
}

/// The real systemd-resolved (tests/resolved/real.sh in a private mount and network
/// namespace): after `up` its link has the servers, `corp.example` + `~.` and DefaultRoute;
/// `reload` replaces them, a reload without DNS leaves the live link with none (the revert),
/// `down` and the rollback of a failing PostUp each send one more RevertLink, accepted.
#[test]
fn the_real_systemd_resolved_gets_the_link_settings_and_loses_them() {
    if !ready() || !common::ready(&["unshare"]) {
        return;
    }
    if !resolved_root().join("lib/systemd/systemd-resolved").exists() {
        eprintln!("skipped: no systemd-resolved daemon in {}", resolved_root().display());
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let ifname = format!("wrs{}z", common::pid_tag());
    let o = Command::new("unshare")
        .args(["-m", "-n", "--propagation", "private", "bash"])
        .arg(fixture("real.sh"))
        .env("WGQ", WGQ)
        .env("RESOLVED_ROOT", resolved_root())
        .env("BUS_CONF", fixture("bus.conf"))
        .env("WORK", work.path())
        .env("IFNAME", &ifname)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let file = |n: &str| std::fs::read_to_string(work.path().join(n)).unwrap_or_default();
    let ctx = || format!("{out}\n--- up.err\n{}\n--- resolved.log\n{}", file("up.err"), file("resolved.log"));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", ctx(), String::from_utf8_lossy(&o.stderr));
    let want = [
        "RESOLVED_ON_BUS yes",
        "STEP up rc=0",
        // 192.0.2.53 and 2001:db8::53, as resolved's property holds them.
        "PROPS up DNS a(iay) 2 2 4 192 0 2 53 10 16 32 1 13 184 0 0 0 0 0 0 0 0 0 0 0 83",
        "PROPS up Domains a(sb) 2 \"corp.example\" false \".\" true",
        "PROPS up DefaultRoute b true",
        "STEP reload1 rc=0",
        "PROPS reload1 DNS a(iay) 1 2 4 198 51 100 53",
        "PROPS reload1 Domains a(sb) 2 \"lab.example\" false \".\" true",
        "PROPS reload1 DefaultRoute b true",
        "STEP reload2 rc=0",
        "PROPS reload2 DNS a(iay) 0",
        "PROPS reload2 Domains a(sb) 0",
        "PROPS reload2 DefaultRoute b false",
        "REVERTS reload2 1",
        "STEP reload3 rc=0",
        "PROPS reload3 DNS a(iay) 1 2 4 192 0 2 53",
        "PROPS reload3 Domains a(sb) 2 \"corp.example\" false \".\" true",
        "PROPS reload3 DefaultRoute b true",
        "STEP down rc=0",
        "PROPS down gone",
        "REVERTS down 2",
        "STEP failed rc=3",
        "DURING a(sb) 2 \"corp.example\" false \".\" true",
        "PROPS failed gone",
        "REVERTS failed 3",
        "ERRORS 0",
    ];
    let got: Vec<&str> = out.lines().filter(|l| !l.starts_with("STATUS ")).collect();
    assert_eq!(got, want, "{}", ctx());
    // What `resolvectl status` shows a user.
    let status = out.lines().find(|l| l.starts_with("STATUS ")).unwrap_or_default();
    assert!(
        status.contains(&format!("({ifname})"))
            && status.contains("DNS Servers: 192.0.2.53 2001:db8::53")
            && status.contains("DNS Domain: corp.example ~.")
            && status.contains("+DefaultRoute"),
        "{status}"
    );
    let up = file("up.err");
    assert!(up.contains(&format!("[#] resolvectl dns {ifname} 192.0.2.53 2001:db8::53\n")) && !up.contains("resolvconf"), "{up}");
    let failed = file("failed.err");
    assert!(failed.contains(&format!("[#] resolvectl revert {ifname}\n[#] ip link delete dev {ifname}\n")), "{failed}");
}

/// A resolved before v246 has no SetLinkDNSEx: resolvectl falls back to SetLinkDNS, and wgq
/// needs nothing of its own for it.
#[test]
fn an_older_resolved_without_set_link_dns_ex_gets_set_link_dns() {
    if !ready() {
        return;
    }
    let mut bus = Bus::new();
    bus.start_fake(&[("FAKE_NO_DNSEX", "1")]);
    let ns = Ns::new("o");
    let conf = ns.conf(DNS);
    let o = ns.wgq(&bus, &["up", conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let i = ns.ifindex().unwrap();
    let mut want = up_calls(i);
    want[2] = format!("SetLinkDNS {i} 2:192.0.2.53 10:2001:db8::53");
    assert_eq!(bus.take_calls(), want);
    assert!(ns.wgq(&bus, &["down", conf.to_str().unwrap()]).status.success());
    assert_eq!(bus.take_calls(), [format!("RevertLink {i}")]);
}
