//! `wgq run` and `wgq health` on a real system (root; userspace devices through wireguard-go
//! in throwaway network namespaces): interfaces come up, SIGTERM brings them down and wgq
//! exits 0 leaving nothing; a failing file downs the ones already up and exits non-zero; as
//! PID 1 of a PID namespace it reaps a hook's orphan and leaves a kill switch in place when it stops.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const K: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const K2: &str = "SJVkXhAMbxXBZq8bS8khcZ5EC4fjLo4yrE0wsvdm6mU=";
const P: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
const WGQ: &str = env!("CARGO_BIN_EXE_wgq");

static NEXT: AtomicU32 = AtomicU32::new(0);

struct Ns {
    ns: common::Netns,
    dir: tempfile::TempDir,
    tag: String,
}

impl Ns {
    fn new() -> Option<Ns> {
        if !common::ready(&["wireguard-go", "ip", "bash", "unshare"]) {
            return None;
        }
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let tag = format!("{}{n}", common::pid_tag());
        let name = format!("wgqrun-{}-{n}", std::process::id());
        let ns = Ns { ns: common::Netns::with_uplink(name), dir: tempfile::tempdir().unwrap(), tag };
        Some(ns)
    }

    fn ifname(&self, s: &str) -> String {
        let n = format!("wr{}{s}", self.tag);
        assert!(n.len() <= 15, "{n}");
        n
    }

    fn conf(&self, ifname: &str, body: &str) -> String {
        common::write_conf(self.dir.path(), ifname, body).display().to_string()
    }

    /// `wgq ARGS` in the namespace (behind `prefix`, e.g. unshare), stderr piped.
    fn spawn(&self, prefix: &[&str], args: &[&str]) -> Child {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", self.ns.name()]).args(prefix).arg(WGQ).args(args);
        c.stdout(Stdio::piped()).stderr(Stdio::piped()).env("WG_QUICK_USERSPACE_IMPLEMENTATION", "wireguard-go");
        common::default_signals(&mut c);
        c.spawn().unwrap()
    }

    fn wgq(&self, args: &[&str]) -> std::process::Output {
        Command::new("ip").args(["netns", "exec", self.ns.name(), WGQ]).args(args).output().unwrap()
    }

    fn link_exists(&self, ifname: &str) -> bool {
        common::sh_ns(self.ns.name(), &format!("ip -n NS link show dev {ifname}")).is_ok()
    }

    /// Links, addresses, routes and rules (link-local lines left out), sorted.
    fn state(&self) -> String {
        let mut lines: Vec<String> = Vec::new();
        for c in [
            "ip -n NS -o link show",
            "ip -n NS -o addr show",
            "ip -n NS -4 route show table all",
            "ip -n NS -6 route show table all",
            "ip -n NS -4 rule show",
            "ip -n NS -6 rule show",
        ] {
            lines.extend(
                common::sh_ns(self.ns.name(), c).unwrap_or_default().lines().filter(|l| !l.contains("fe80")).map(String::from),
            );
        }
        lines.sort();
        lines.join("\n")
    }
}

/// Reads stderr in a thread until `line` appears (or the stream ends or 20 s pass); returns
/// what was read so far and a receiver of the rest.
/// Waits up to 20 s for the child; its status code (None: killed by a signal or still running).
fn wait(child: &mut Child) -> Option<i32> {
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}

fn server(port: u16, extra: &str) -> String {
    format!(
        "[Interface]\nPrivateKey = {K}\nAddress = 10.81.0.1/24\nListenPort = {port}\n{extra}\n[Peer]\nPublicKey = {P}\nAllowedIPs = 10.81.0.2/32\n"
    )
}

#[test]
fn run_brings_up_stays_and_sigterm_brings_everything_down() {
    let Some(ns) = Ns::new() else { return };
    let (a, b) = (ns.ifname("a"), ns.ifname("b"));
    let fa = ns.conf(&a, &server(41001, ""));
    let fb = ns.conf(&b, &format!("[Interface]\nPrivateKey = {K2}\nAddress = 10.82.0.1/24\n"));
    let before = ns.state();
    let mut child = ns.spawn(&[], &["run", &fa, &fb]);
    let (ok, seen, rx) = common::until(&mut child, "running");
    assert!(ok, "{seen}");
    assert!(seen.contains(&format!("running {a} {b}")), "{seen}");
    assert!(ns.link_exists(&a) && ns.link_exists(&b));
    // Still there a moment later: run stays in the foreground.
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "run ended by itself");
    // health: the recorded ones, named ones, and the handshake rule (a peer that never
    // handshook fails it; an interface without peers passes).
    let h = ns.wgq(&["health"]);
    let out = String::from_utf8_lossy(&h.stdout).into_owned();
    assert_eq!(h.status.code(), Some(0), "{out}");
    assert_eq!(out, format!("ok: {a} up; {b} up\n"));
    let h = ns.wgq(&["health", "--handshake-within", "60", &b]);
    assert_eq!((h.status.code(), String::from_utf8_lossy(&h.stdout).into_owned()), (Some(0), format!("ok: {b} up (no peers)\n")));
    let h = ns.wgq(&["health", "--handshake-within", "60"]);
    assert_eq!(h.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&h.stdout), format!("unhealthy: {a}: no handshake yet (of 1 peers)\n"));
    let h = ns.wgq(&["health", &ns.ifname("zz")]);
    assert_eq!(h.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&h.stdout), format!("unhealthy: {} is missing\n", ns.ifname("zz")));

    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let code = wait(&mut child);
    let rest: String = rx.try_iter().collect::<Vec<_>>().join("\n");
    assert_eq!(code, Some(0), "{rest}");
    assert!(rest.contains("SIGTERM: stopping"), "{rest}");
    // Reverse order: b goes down before a.
    let (pb, pa) = (rest.find(&format!("ip link delete dev {b}")), rest.find(&format!("ip link delete dev {a}")));
    assert!(pb.is_some() && pa.is_some() && pb < pa, "{rest}");
    assert_eq!(ns.state(), before, "something was left behind");
    let h = ns.wgq(&["health"]);
    assert_eq!(h.status.code(), Some(1), "{}", String::from_utf8_lossy(&h.stdout));
}

#[test]
fn a_failing_up_downs_the_ones_already_up_and_exits_non_zero() {
    let Some(ns) = Ns::new() else { return };
    let (a, b) = (ns.ifname("a"), ns.ifname("b"));
    let fa = ns.conf(&a, &server(41002, ""));
    let fb = ns.conf(&b, &format!("[Interface]\nPrivateKey = {K2}\nAddress = 10.82.0.1/24\nPostUp = exit 7\n"));
    let before = ns.state();
    let mut child = ns.spawn(&[], &["run", &fa, &fb]);
    let code = wait(&mut child);
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(code, Some(7), "{err}");
    assert!(err.contains(&format!("`{b}' did not come up; bringing down {a}")), "{err}");
    assert!(!err.contains("running"), "{err}");
    assert_eq!(ns.state(), before, "something was left behind:\n{err}");
    // A file with an error: nothing is brought up at all.
    let bad = ns.conf(&ns.ifname("c"), "[Interface]\nPrivateKey = nope\n");
    let mut child = ns.spawn(&[], &["run", &fa, &bad]);
    assert_eq!(wait(&mut child), Some(1));
    assert_eq!(ns.state(), before);
    // A bad WGQ_UP_FLAGS: a usage error before anything.
    let o = Command::new("ip")
        .args(["netns", "exec", ns.ns.name(), WGQ, "run", &fa])
        .env("WGQ_UP_FLAGS", "--kill-switch=on")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("WGQ_UP_FLAGS"));
    assert_eq!(ns.state(), before);
}

/// The processes whose parent is `pid` (from /proc/PID/stat): (pid, state, comm).
fn children(pid: u32) -> Vec<(u32, char, String)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
        let Some(close) = stat.rfind(')') else { continue };
        let comm = stat[stat.find('(').unwrap() + 1..close].to_string();
        let mut f = stat[close + 2..].split(' ');
        let state = f.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid: u32 = f.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        if ppid == pid {
            v.push((e.file_name().to_string_lossy().parse().unwrap_or(0), state, comm));
        }
    }
    v
}

#[test]
fn as_pid_1_a_hooks_orphan_is_reaped_and_sigterm_still_stops() {
    let Some(ns) = Ns::new() else { return };
    let a = ns.ifname("p");
    // The hook's shell ends at once; its background sleep is orphaned to PID 1 and ends
    // 1.5 s later.
    let fa = ns.conf(&a, &server(41003, "PostUp = sleep 1.5 >/dev/null 2>&1 </dev/null &"));
    let before = ns.state();
    let mut child = ns.spawn(&["unshare", "--pid", "--fork", "--mount-proc"], &["run", &fa]);
    let (ok, seen, rx) = common::until(&mut child, "running");
    assert!(ok, "{seen}");
    // unshare's one child is wgq, PID 1 of the new namespace.
    let wgq = children(child.id()).first().map(|c| c.0).expect("no wgq under unshare");
    let status = std::fs::read_to_string(format!("/proc/{wgq}/status")).unwrap();
    assert!(status.lines().any(|l| l.starts_with("NSpid:") && l.trim_end().ends_with("\t1")), "not PID 1:\n{status}");
    let orphan = children(wgq).into_iter().find(|c| c.2 == "sleep");
    assert!(orphan.is_some(), "the hook's background job is not wgq's: {:?}", children(wgq));
    // It is reaped within a moment of ending.
    let end = Instant::now() + Duration::from_secs(5);
    let mut zombies;
    loop {
        std::thread::sleep(Duration::from_millis(200));
        zombies = children(wgq).into_iter().filter(|c| c.1 == 'Z' || c.2 == "sleep").collect::<Vec<_>>();
        if zombies.is_empty() || Instant::now() > end {
            break;
        }
    }
    assert!(zombies.is_empty(), "not reaped: {zombies:?}");
    kill(Pid::from_raw(wgq as i32), Signal::SIGTERM).unwrap();
    let code = wait(&mut child);
    let rest: String = rx.try_iter().collect::<Vec<_>>().join("\n");
    assert_eq!(code, Some(0), "{rest}");
    assert_eq!(ns.state(), before, "something was left behind:\n{rest}");
}

/// Without resolvconf and systemd-resolved, a bind-mounted resolv.conf (what a container
/// runtime gives, and what `ip netns exec` makes of /etc/netns/NAME/resolv.conf) is written in
/// place while the tunnel runs and gets its old content back at the end, also when `up` fails.
#[test]
fn dns_goes_into_a_bind_mounted_resolv_conf_in_place_and_comes_back() {
    let Some(ns) = Ns::new() else { return };
    if which::which("resolvconf").is_ok() {
        eprintln!("skipped: resolvconf is installed (it would be used)");
        return;
    }
    let etc = format!("/etc/netns/{}", ns.ns.name());
    std::fs::create_dir_all(&etc).unwrap();
    let file = format!("{etc}/resolv.conf");
    let original = "# the runtime's\nnameserver 192.0.2.53\n";
    std::fs::write(&file, original).unwrap();
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(&file).unwrap().ino();
    let a = ns.ifname("d");
    let fa = ns.conf(&a, &server(41004, "DNS = 10.81.0.53, corp.example"));
    let mut child = ns.spawn(&[], &["run", &fa]);
    let (ok, seen, rx) = common::until(&mut child, "running");
    let _cleanup = scopeguard(etc.clone());
    assert!(ok, "{seen}");
    assert!(seen.contains("[#] write /etc/resolv.conf in place"), "{seen}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "nameserver 10.81.0.53\nsearch corp.example\n");
    assert_eq!(std::fs::metadata(&file).unwrap().ino(), inode, "the file was replaced, not written in place");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    assert_eq!(wait(&mut child), Some(0));
    let rest: String = rx.try_iter().collect::<Vec<_>>().join("\n");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original, "{rest}");
    assert_eq!(std::fs::metadata(&file).unwrap().ino(), inode);
    // A failed up gives it back too.
    let b = ns.ifname("e");
    let fb = ns.conf(&b, &server(41005, "DNS = 10.81.0.53\nPostUp = exit 3"));
    let mut child = ns.spawn(&[], &["run", &fb]);
    assert_eq!(wait(&mut child), Some(3));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    // With a resolv.conf that is no mount point of its own, wg-quick's behaviour stays:
    // resolvconf is needed (status 127). (Not where the host's own is a bind mount, as in a
    // CI container: that one would be written.)
    std::fs::remove_file(&file).unwrap();
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    if !info.lines().any(|l| l.split(' ').nth(4) == Some("/etc/resolv.conf")) {
        let mut child = ns.spawn(&[], &["run", &fa]);
        assert_eq!(wait(&mut child), Some(127));
    }
}

/// Removes /etc/netns/NAME when dropped.
struct EtcNetns(String);

impl Drop for EtcNetns {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scopeguard(dir: String) -> EtcNetns {
    EtcNetns(dir)
}

#[test]
fn run_web_serves_the_servers_among_them_and_stops_with_them() {
    let Some(ns) = Ns::new() else { return };
    if !common::ready(&["curl"]) {
        return;
    }
    let (a, b) = (ns.ifname("s"), ns.ifname("c"));
    let fa = ns.conf(&a, &server(41011, ""));
    let fb = ns.conf(&b, &format!("[Interface]\nPrivateKey = {K2}\nAddress = 10.82.0.1/24\n"));
    let state = ns.dir.path().join("web-state");
    let run = |args: &[&str]| {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns.ns.name(), WGQ, "run", "--web"]).args(args);
        c.env("WGQ_WEB_STATE_DIR", &state).env("PORT", "51841").env_remove("PASSWORD_HASH").env_remove("WEBUI_HOST");
        c.env("WG_QUICK_USERSPACE_IMPLEMENTATION", "wireguard-go").stdout(Stdio::piped()).stderr(Stdio::piped());
        common::default_signals(&mut c);
        c.spawn().unwrap()
    };
    // No server among them: refused before anything comes up.
    let o = run(&[&fb]).wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("--web: none of {b} is a server")), "{err}");
    assert!(!ns.link_exists(&b));
    // The server is served (the client file is not), on loopback without a password.
    let mut child = run(&[&fa, &fb]);
    let (ok, seen, rx) = common::until(&mut child, "running");
    assert!(ok, "{seen}");
    assert!(seen.contains("web page on http://127.0.0.1:51841") && seen.contains("PASSWORD_HASH is not set"), "{seen}");
    let list = Command::new("ip")
        .args(["netns", "exec", ns.ns.name(), "curl", "-sf", "-m", "5", "http://127.0.0.1:51841/api/v1/interfaces"])
        .output()
        .unwrap();
    let body = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success() && body.contains(&a) && !body.contains(&b), "{body}");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let code = wait(&mut child);
    let rest: String = rx.try_iter().collect::<Vec<_>>().join("\n");
    assert_eq!(code, Some(0), "{rest}");
    assert!(!ns.link_exists(&a) && !ns.link_exists(&b), "{rest}");
}

#[test]
fn sigterm_while_the_page_changes_a_client_still_stops_the_run() {
    use std::os::unix::process::CommandExt;
    let Some(ns) = Ns::new() else { return };
    if !common::ready(&["curl"]) {
        return;
    }
    let a = ns.ifname("p");
    let fa = ns.conf(&a, &server(41021, "# ClientEndpoint = 192.0.2.1:41021"));
    let state = ns.dir.path().join("web-state");
    // Clients are added without pause from three loops while SIGTERM comes: the page
    // finishes (or rolls back) the change in hand and stops, the interface goes down, exit 0.
    // (That an executor of the page's threads may take the pending signal first, and the run
    // must stop all the same, is commands::run's unit test: the window is too short to hit
    // from here.)
    for round in 0..4 {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns.ns.name(), WGQ, "run", "--web", &fa]);
        c.env("WGQ_WEB_STATE_DIR", &state).env("PORT", "51842").env_remove("PASSWORD_HASH").env_remove("WEBUI_HOST");
        c.env("WG_QUICK_USERSPACE_IMPLEMENTATION", "wireguard-go").stdout(Stdio::null()).stderr(Stdio::piped());
        common::default_signals(&mut c);
        let mut child = c.spawn().unwrap();
        let (ok, seen, rx) = common::until(&mut child, "running");
        assert!(ok, "{seen}");
        let mut hammer = Command::new("ip")
            .args(["netns", "exec", ns.ns.name(), "bash", "-c"])
            .arg(format!(
                "for l in 1 2 3; do (i=0; while :; do i=$((i+1)); curl -s -m 2 -o /dev/null -H 'Content-Type: application/json' \
                 -d \"{{\\\"name\\\":\\\"r{round}l${{l}}n${{i}}\\\"}}\" http://127.0.0.1:51842/api/wireguard/client; done) & done; wait"
            ))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(400 + 37 * round));
        kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
        let code = wait(&mut child);
        let _ = nix::sys::signal::killpg(Pid::from_raw(hammer.id() as i32), Signal::SIGKILL);
        let _ = hammer.wait();
        let rest: String = rx.try_iter().collect::<Vec<_>>().join("\n");
        assert_eq!(code, Some(0), "round {round}: the run did not stop on SIGTERM:\n{rest}");
        assert!(!ns.link_exists(&a), "{rest}");
    }
    let file = std::fs::read_to_string(&fa).unwrap();
    assert!(file.matches("[Peer]").count() > 4, "the page added no clients meanwhile:\n{file}");
}

#[test]
fn run_looks_up_a_stale_peers_host_name_again() {
    let Some(ns) = Ns::new() else { return };
    // `ip netns exec` puts /etc/netns/NAME/hosts over /etc/hosts (the Netns removes it).
    let etc = format!("/etc/netns/{}", ns.ns.name());
    std::fs::create_dir_all(&etc).unwrap();
    let hosts = format!("{etc}/hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n192.0.2.10 moving.test\n").unwrap();
    let a = ns.ifname("h");
    let fa = ns.conf(
        &a,
        &format!(
            "[Interface]\nPrivateKey = {K}\nAddress = 10.83.0.2/32\n\n[Peer]\nPublicKey = {P}\nAllowedIPs = 10.83.0.1/32\nEndpoint = moving.test:51820\n"
        ),
    );
    // World-readable, as a read-only bind mount of a host's file often is: `up` and `down`
    // warn, the rounds do not.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fa, std::fs::Permissions::from_mode(0o644)).unwrap();
    let endpoint = || String::from_utf8_lossy(&ns.wgq(&["wg", "show", &a, "endpoints"]).stdout).trim().to_string();
    let mut child = ns.spawn(&[], &["run", &fa]);
    let (ok, seen, rx) = common::until(&mut child, "running");
    assert!(ok, "{seen}");
    assert_eq!(endpoint(), format!("{P}\t192.0.2.10:51820"));
    // The name moves (written in place: the bind mount is of this file). The peer never had
    // a handshake, so it is stale: the next round (every 30 s) follows it.
    std::fs::write(&hosts, "127.0.0.1 localhost\n192.0.2.20 moving.test\n").unwrap();
    let t = Instant::now();
    while endpoint() != format!("{P}\t192.0.2.20:51820") {
        assert!(t.elapsed() < Duration::from_secs(45), "not followed: {}", endpoint());
        std::thread::sleep(Duration::from_millis(250));
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let code = wait(&mut child);
    let rest: String = rx.try_iter().collect::<Vec<_>>().join("\n");
    assert_eq!(code, Some(0), "{rest}");
    assert!(rest.contains("endpoint 192.0.2.20:51820"), "the change is traced:\n{rest}");
    // Once at `up`, once at `down` (as wg-quick warns), never from a round.
    assert_eq!(format!("{seen}{rest}").matches("world accessible").count(), 2, "{seen}{rest}");
}

#[test]
fn run_web_serves_https_with_the_tls_variables_and_a_wrong_file_stops_it_before_up() {
    let Some(ns) = Ns::new() else { return };
    if !common::ready(&["curl", "openssl"]) {
        return;
    }
    let a = ns.ifname("t");
    let fa = ns.conf(&a, &server(41031, ""));
    let state = ns.dir.path().join("web-state");
    let (cert, key) = common::self_signed(ns.dir.path(), "web");
    let hash = Command::new("bash").arg("-c").arg(format!("echo pw | {WGQ} web-admin hash-password")).output().unwrap();
    let hash = String::from_utf8(hash.stdout).unwrap().trim().to_string();
    assert!(hash.starts_with('$'), "{hash}");
    let run = |vars: &[(&str, &str)]| {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns.ns.name(), WGQ, "run", "--web", &fa]);
        c.env("WGQ_WEB_STATE_DIR", &state).env("PORT", "51843").env("WEBUI_HOST", "0.0.0.0");
        for v in ["PASSWORD_HASH", "WGQ_WEB_TLS_CERT", "WGQ_WEB_TLS_KEY"] {
            c.env_remove(v);
        }
        c.envs(vars.iter().copied());
        c.env("WG_QUICK_USERSPACE_IMPLEMENTATION", "wireguard-go").stdout(Stdio::piped()).stderr(Stdio::piped());
        common::default_signals(&mut c);
        c.spawn().unwrap()
    };
    let curl = |args: &[&str]| {
        let o = Command::new("ip")
            .args(["netns", "exec", ns.ns.name(), "curl", "-sS", "-i", "-m", "5", "--cacert", &cert])
            .args(args)
            .output()
            .unwrap();
        (o.status.success(), String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let tls = [("PASSWORD_HASH", hash.as_str()), ("WGQ_WEB_TLS_CERT", cert.as_str()), ("WGQ_WEB_TLS_KEY", key.as_str())];

    // Both variables and a password: HTTPS on every address, no plain-HTTP warning.
    let mut child = run(&tls);
    let (ok, seen, rx) = common::until(&mut child, "running");
    assert!(ok, "{seen}");
    assert!(seen.contains("web page on https://0.0.0.0:51843") && !seen.contains("plain HTTP"), "{seen}");
    let (got, out) = curl(&["https://192.0.2.1:51843/api/session"]);
    assert!(got && out.starts_with("HTTP/1.1 200"), "{out}");
    // Logged in over TLS: the session cookie is Secure.
    let login = ["-H", "Content-Type: application/json", "--data", r#"{"password":"pw"}"#, "https://192.0.2.1:51843/api/session"];
    let (got, out) = curl(&login);
    assert!(got && out.starts_with("HTTP/1.1 200"), "{out}");
    let cookie = out.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).unwrap_or_else(|| panic!("{out}"));
    assert!(cookie.contains("; Secure") && cookie.contains("HttpOnly"), "{cookie}");
    // Plain HTTP on that port gets no page: only a 400 saying to use https.
    let (_, out) = curl(&["http://192.0.2.1:51843/api/session"]);
    assert!(out.starts_with("HTTP/1.1 400") && out.contains("This port speaks HTTPS"), "{out}");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let code = wait(&mut child);
    let rest: String = rx.try_iter().collect::<Vec<_>>().join("\n");
    assert_eq!(code, Some(0), "{rest}");
    assert!(!ns.link_exists(&a), "{rest}");

    // Without PASSWORD_HASH: HTTPS, still on loopback only.
    let mut child = run(&tls[1..]);
    let (ok, seen, _rx) = common::until(&mut child, "running");
    assert!(ok, "{seen}");
    assert!(seen.contains("web page on https://127.0.0.1:51843") && seen.contains("PASSWORD_HASH is not set"), "{seen}");
    assert!(!curl(&["https://192.0.2.1:51843/api/session"]).0, "served beyond loopback without a password");
    assert!(curl(&["https://127.0.0.1:51843/api/session"]).1.starts_with("HTTP/1.1 200"));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    assert_eq!(wait(&mut child), Some(0));

    // A wrong setting: exit 1 before the interface is brought up, naming the variable and the
    // file, and nothing of a key's text.
    let garbage = ns.dir.path().join("garbage.key");
    std::fs::write(&garbage, "-----BEGIN PRIVATE KEY-----\nTOPSECRET*KEY\n-----END PRIVATE KEY-----\n").unwrap();
    let (_, other) = common::self_signed(ns.dir.path(), "other");
    let missing = ns.dir.path().join("missing.key").display().to_string();
    let g = garbage.display().to_string();
    let cases: [(Vec<(&str, &str)>, String); 5] = [
        (vec![("WGQ_WEB_TLS_CERT", &cert)], format!("WGQ_WEB_TLS_CERT={cert} is set but WGQ_WEB_TLS_KEY is not")),
        (vec![("WGQ_WEB_TLS_KEY", &key)], format!("WGQ_WEB_TLS_KEY={key} is set but WGQ_WEB_TLS_CERT is not")),
        (vec![("WGQ_WEB_TLS_CERT", &cert), ("WGQ_WEB_TLS_KEY", &missing)], format!("WGQ_WEB_TLS_KEY={missing}: No such file")),
        (vec![("WGQ_WEB_TLS_CERT", &cert), ("WGQ_WEB_TLS_KEY", &g)], format!("WGQ_WEB_TLS_KEY={g}: no PEM private key")),
        (
            vec![("WGQ_WEB_TLS_CERT", &cert), ("WGQ_WEB_TLS_KEY", &other)],
            format!("WGQ_WEB_TLS_CERT={cert} and WGQ_WEB_TLS_KEY={other}: "),
        ),
    ];
    for (vars, expect) in cases {
        let mut vars = vars;
        vars.push(("PASSWORD_HASH", &hash));
        let o = run(&vars).wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{vars:?}: {err}");
        assert!(err.contains(&expect), "{expect}: {err}");
        // Refused before `up` began: not a command of it traced, nothing brought up.
        assert!(!err.contains("[#]") && !ns.link_exists(&a), "{err}");
        assert!(!err.contains("TOPSECRET") && !err.contains("BEGIN"), "{err}");
    }
}

/// As PID 1 (a container's init), or as the child of a runtime's init, a `--kill-switch`
/// stays after the stop, `--allow-lan` kept, as a strict one does; a start in the same
/// namespace (the host's network, a pod) replaces it; otherwise the stop removes it.
#[test]
fn as_pid_1_the_kill_switch_stays_after_the_stop_and_the_next_start_replaces_it() {
    let Some(ns) = Ns::new() else { return };
    if !common::ready(&["nft"]) {
        return;
    }
    let a = ns.ifname("k");
    let fa = ns.conf(
        &a,
        &format!(
            "[Interface]\nPrivateKey = {K2}\nAddress = 10.83.0.2/32\n\n[Peer]\nPublicKey = {P}\nAllowedIPs = 0.0.0.0/0\nEndpoint = 192.0.2.2:51820\n"
        ),
    );
    let table = format!("table inet wgq-killswitch-{a}");
    let tables = || common::sh_ns(ns.ns.name(), "ip netns exec NS nft list tables").unwrap_or_default();
    let lan =
        || common::sh_ns(ns.ns.name(), &format!("ip netns exec NS nft list {table}")).unwrap_or_default().contains("10.0.0.0/8");
    // A runtime's init (`--init`): a script named as Docker's, running wgq as its child.
    let dir = tempfile::tempdir().unwrap();
    let init = dir.path().join("docker-init");
    common::write_file(&init, "#!/bin/sh\n\"$@\" &\nwait $!\n", 0o755);
    let init = init.to_str().unwrap();
    // The same script under another name: an init that is not a runtime's (a supervisor).
    let other = dir.path().join("supervisor");
    common::write_file(&other, "#!/bin/sh\n\"$@\" &\nwait $!\n", 0o755);
    let other = other.to_str().unwrap();
    // `under`: 0 as a child of the test, 1 as PID 1, 2 under the runtime's init, 3 under
    // the other one.
    let run = |flags: &str, under: u8| {
        let env = format!("WGQ_UP_FLAGS={flags}");
        let mut prefix = vec!["env", env.as_str()];
        if under > 0 {
            prefix.extend(["unshare", "--pid", "--fork", "--mount-proc"]);
        }
        if under == 2 {
            prefix.push(init);
        }
        if under == 3 {
            prefix.push(other);
        }
        let mut child = ns.spawn(&prefix, &["run", &fa]);
        let (ok, seen, rx) = common::until(&mut child, "running");
        assert!(ok, "{seen}");
        let mut wgq = child.id();
        for _ in 0..under.min(2) {
            wgq = children(wgq).first().map(|c| c.0).expect("no wgq under unshare");
        }
        kill(Pid::from_raw(wgq as i32), Signal::SIGTERM).unwrap();
        let code = wait(&mut child);
        let rest: String = rx.try_iter().collect::<Vec<_>>().join("\n");
        assert_eq!(code, Some(0), "{seen}\n{rest}");
        assert!(!ns.link_exists(&a), "{rest}");
        format!("{seen}\n{rest}")
    };
    // Not PID 1: the stop removes the switch.
    let log = run("--kill-switch --allow-lan", 0);
    assert!(!tables().contains(&table) && !log.contains("stays in place"), "{log}");
    // PID 1: it stays, with --allow-lan's rules, and the logs say so.
    let log = run("--kill-switch --allow-lan", 1);
    assert!(
        log.contains("a container's init (PID 1)") && log.contains(&format!("the kill switch of {a} stays in place")),
        "{log}"
    );
    assert!(tables().contains(&table) && lan(), "{log}\n{}", tables());
    // The next start replaces it (without --allow-lan now), and leaves it again.
    run("--kill-switch", 1);
    assert!(tables().contains(&table) && !lan(), "{}", tables());
    // Under the runtime's init the same (removed first, to see it left again).
    let o = ns.wgq(&["down", "--kill-switch=off", &a]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = run("--kill-switch --allow-lan", 2);
    assert!(log.contains("(the child of PID 1, docker-init)") && tables().contains(&table) && lan(), "{log}\n{}", tables());
    let o = ns.wgq(&["down", "--kill-switch=off", &a]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!tables().contains(&table), "{}", tables());
    // Under an init that is not a runtime's, wgq is a service: the stop removes the switch.
    let log = run("--kill-switch --allow-lan", 3);
    assert!(!tables().contains(&table) && !log.contains("stays in place"), "{log}\n{}", tables());
}
