//! Issue 22 §4: one config file, one lock, whatever the namespace (root; network
//! namespaces; wireguard-go for a running interface; util-linux `flock` to hold a lock the
//! way another wgq would). Edits from two namespaces at once lose nothing and leave no
//! orphan client file; `down` and `up` wait for a lock held briefly; a lock held too long
//! fails with the holder named.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const WGQ: &str = env!("CARGO_BIN_EXE_wgq");
const K: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A throwaway namespace, deleted (with what runs in it) when dropped.
struct Ns(common::Netns);

impl Ns {
    fn new() -> Ns {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let name = format!("wgqlk-{}-{n}", std::process::id());
        let ns = common::Netns::new(name);
        ns.sh("ip -n NS link set lo up").unwrap();
        Ns(ns)
    }

    /// `wgq ARGS` run inside the namespace.
    fn wgq(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", self.0.name(), WGQ]).args(args);
        c
    }
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// An interface name unique to this run (wireguard-go's sockets are shared by all namespaces).
fn ifname(tag: &str) -> String {
    format!("lk{tag}{}{}", common::pid_tag(), NEXT.fetch_add(1, Ordering::SeqCst))
}

/// Holds an exclusive `flock` on `path` for `secs` seconds in a child (util-linux `flock`,
/// whose pid is the holder /proc/locks names); returns once the lock is held.
fn hold(path: &Path, secs: u32) -> Child {
    let ready = path.with_extension(format!("held{}", NEXT.fetch_add(1, Ordering::SeqCst)));
    // -o: the command does not inherit the lock; it goes with `flock` itself.
    let child = Command::new("flock")
        .arg("-xo")
        .arg(path)
        .arg("-c")
        .arg(format!("touch {}; exec sleep {secs}", ready.display()))
        .stdout(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !ready.exists() {
        assert!(t.elapsed() < Duration::from_secs(10), "flock never took {}", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = std::fs::remove_file(ready);
    child
}

fn server_text() -> String {
    format!("[Interface]\n# ClientEndpoint = 192.0.2.1:51820\nAddress = 10.61.0.1/24\nListenPort = 51820\nPrivateKey = {K}\n")
}

#[test]
fn edits_from_two_namespaces_at_once_lose_no_peer_and_leave_no_orphan_client_file() {
    if !common::ready(&["ip"]) {
        return;
    }
    let (a, b) = (Ns::new(), Ns::new());
    let dir = tempfile::tempdir().unwrap();
    let ifn = ifname("e");
    std::fs::write(dir.path().join(format!("{ifn}.conf")), server_text()).unwrap();
    const N: usize = 12;
    let mut want = Vec::new();
    let mut children = Vec::new();
    for i in 0..N {
        for (tag, ns) in [("a", &a), ("b", &b)] {
            let name = format!("{tag}{i}");
            let c = ns
                .wgq(&["peer", "add", &ifn, &name, "--config-dir"])
                .arg(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            want.push(name);
            children.push(c);
        }
    }
    let mut failed = Vec::new();
    for c in children {
        let o = c.wait_with_output().unwrap();
        if !o.status.success() {
            failed.push(text(&o));
        }
    }
    assert!(failed.is_empty(), "{} adds failed: {failed:?}", failed.len());
    want.sort();
    let t = std::fs::read_to_string(dir.path().join(format!("{ifn}.conf"))).unwrap();
    let doc = wgq::config::edit::Document::parse(t.clone().into_bytes());
    let peers = wgq::config::peers::peers(&doc);
    let mut names: Vec<String> = peers.iter().filter_map(|p| p.name.clone()).collect();
    names.sort();
    assert_eq!(names, want, "peers were lost");
    let mut addrs: Vec<String> = peers.iter().flat_map(|p| p.allowed_ips.iter().map(|a| a.to_string())).collect();
    addrs.sort();
    addrs.dedup();
    assert_eq!(addrs.len(), 2 * N, "two peers got the same address");
    // Every client file belongs to a peer of the file, and holds that peer's key.
    let clients = dir.path().join("clients").join(&ifn);
    let mut files: Vec<String> = std::fs::read_dir(&clients)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    files.sort();
    assert_eq!(files, want.iter().map(|n| format!("{n}.conf")).collect::<Vec<_>>(), "orphan or missing client files");
    for p in &peers {
        let c = std::fs::read_to_string(clients.join(format!("{}.conf", p.name.as_deref().unwrap()))).unwrap();
        let k = c.lines().find_map(|l| l.strip_prefix("PrivateKey = ")).unwrap();
        let k = wgq::key::SecretKey::from_base64(k).unwrap();
        assert_eq!(Some(k.public_key()), p.public_key, "client file of {:?} holds a key of no peer", p.name);
    }
    for d in [dir.path(), clients.as_path()] {
        let temps: Vec<PathBuf> =
            std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()).filter(|p| p.to_string_lossy().ends_with(".tmp")).collect();
        assert!(temps.is_empty(), "temporary files left: {temps:?}");
    }
    assert!(wgq::config::parse(t.as_bytes(), Path::new("x.conf")).is_ok());
}

/// The run-state lock of `ifname` (in whichever namespace's directory holds it).
fn interface_lock(ifname: &str) -> PathBuf {
    std::fs::read_dir("/run/wgq")
        .unwrap()
        .flatten()
        .map(|e| e.path().join(format!("{ifname}.lock")))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no run-state lock of {ifname}"))
}

/// A namespace with the interface of a file in its own directory: the file's lock path too.
struct Up {
    ns: Ns,
    _dir: tempfile::TempDir,
    ifn: String,
    conf: PathBuf,
    file_lock: PathBuf,
}

impl Up {
    fn new(tag: &str, up: bool) -> Up {
        let ns = Ns::new();
        let dir = tempfile::tempdir().unwrap();
        let ifn = ifname(tag);
        let conf =
            common::write_conf(dir.path(), &ifn, &format!("[Interface]\nPrivateKey = {K}\nListenPort = 51831\nTable = off\n"));
        let file_lock = dir.path().join(format!(".{ifn}.conf.lock"));
        // As a first edit or run leaves it (a `flock` of a missing file would make it).
        std::fs::write(&file_lock, "").unwrap();
        let u = Up { ns, _dir: dir, ifn, conf, file_lock };
        if up {
            let o = u.run(&["up"]);
            assert!(o.status.success(), "{}", text(&o));
            assert!(u.exists());
        }
        u
    }

    /// `wgq CMD FILE` in the namespace.
    fn run(&self, cmd: &[&str]) -> Output {
        self.ns.wgq(cmd).arg(&self.conf).output().unwrap()
    }

    fn exists(&self) -> bool {
        self.ns.0.sh(&format!("ip -n NS link show {}", self.ifn)).is_ok()
    }
}

fn wg_ready() -> bool {
    common::ready(&["ip", "wireguard-go", "flock"])
}

/// The file's lock, held from the host's namespace (an edit there): `up` in another
/// namespace waits for it, says who holds it, and then succeeds.
#[test]
fn up_waits_for_the_file_lock_held_from_another_namespace() {
    if !wg_ready() {
        return;
    }
    let u = Up::new("u", false);
    let mut holder = hold(&u.file_lock, 2);
    let t = Instant::now();
    let o = u.run(&["up"]);
    let waited = t.elapsed();
    assert!(o.status.success(), "{}", text(&o));
    assert!(waited >= Duration::from_millis(1500), "up did not wait for the file's lock ({waited:?})");
    assert!(text(&o).contains(&format!("held by process {}", holder.id())), "no word of the holder: {}", text(&o));
    holder.wait().unwrap();
    assert!(u.exists());
    assert!(u.run(&["down"]).status.success());
}

/// `systemctl stop` during `wgq peer expire`: `down` waits for the file's lock (held from
/// the host) and for this namespace's lock of the interface, each held briefly, and
/// succeeds instead of failing at once or going ahead.
#[test]
fn down_waits_for_a_lock_held_briefly_and_succeeds() {
    if !wg_ready() {
        return;
    }
    for which in ["interface", "file"] {
        let u = Up::new(&which[..1], true);
        let lock = if which == "file" { u.file_lock.clone() } else { interface_lock(&u.ifn) };
        let mut holder = hold(&lock, 2);
        let t = Instant::now();
        let o = u.run(&["down"]);
        assert!(o.status.success(), "down failed while the {which} lock was held briefly: {}", text(&o));
        assert!(t.elapsed() >= Duration::from_millis(1500), "down did not wait for the {which} lock ({:?})", t.elapsed());
        holder.wait().unwrap();
        assert!(!u.exists());
    }
}

/// Held too long: the bound ends the wait with the holder named, and nothing changes.
#[test]
fn a_lock_held_too_long_fails_naming_the_holder() {
    if !wg_ready() {
        return;
    }
    let u = Up::new("t", true);
    let mut holder = hold(&u.file_lock, 30);
    let t = Instant::now();
    let o = u.ns.wgq(&["down"]).arg(&u.conf).env("WGQ_LOCK_WAIT", "1").output().unwrap();
    let took = t.elapsed();
    let msg = text(&o);
    assert!(!o.status.success(), "down ran while the lock was held: {msg}");
    assert!(took < Duration::from_secs(10), "the wait was not bounded: {took:?}");
    assert!(msg.contains(&format!("process {}", holder.id())) && msg.contains("flock"), "holder not named: {msg}");
    assert!(msg.contains("gave up after waiting 1 s"), "{msg}");
    assert!(u.exists(), "down went ahead without the lock");
    // An edit too, in the host's namespace.
    let o = Command::new(WGQ)
        .args(["peer", "add"])
        .arg(&u.conf)
        .arg("late")
        .arg("--no-apply")
        .env("WGQ_LOCK_WAIT", "1")
        .output()
        .unwrap();
    assert!(!o.status.success() && text(&o).contains(&format!("process {}", holder.id())), "{}", text(&o));
    assert!(!std::fs::read_to_string(&u.conf).unwrap().contains("late"));
    // The holder and its `sleep`.
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(holder.id() as i32), nix::sys::signal::Signal::SIGKILL);
    let _ = holder.wait();
    let o = u.run(&["down"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!u.exists());
}
