//! Helpers shared by the network-namespace tests (each test crate uses some of them).
#![allow(dead_code)]

pub mod easy15;

use std::process::Command;

/// Deletes a network namespace after ending the processes still in it: a userspace
/// WireGuard daemon left by a failed test would otherwise keep the namespace, its
/// interface and its /var/run/wireguard socket alive.
pub fn delete_netns(name: &str) {
    if let Ok(o) = Command::new("ip").args(["netns", "pids", name]).output() {
        for pid in String::from_utf8_lossy(&o.stdout).split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
        }
    }
    let _ = Command::new("ip").args(["netns", "del", name]).output();
}

/// This test process's id as five base-36 digits (any Linux pid, up to 2^22, fits): a fixed
/// width, so `prefix + pid_tag() + suffix` names are unique among the test processes running
/// at once (other suites, other checkouts), and no suffix can make one process's name
/// another's (`wh` + `1234` + `56` = `wh` + `12345` + `6` with plain decimal pids). Network
/// namespaces, interfaces and UAPI sockets (/var/run/wireguard is shared by all namespaces)
/// carry it; a pid cut short (`% 1000`) is not unique.
pub fn pid_tag() -> String {
    let mut n = std::process::id();
    let mut s = [b'0'; 5];
    for c in s.iter_mut().rev() {
        *c = b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8_lossy(&s).into_owned()
}

/// A named network namespace (`ip netns add`), the one fixture of the network-namespace
/// tests: created fresh (a leftover of the same name from a killed run is deleted first) and,
/// when dropped, deleted with every process still in it and its `/etc/netns/NAME` directory
/// (which `ip netns exec` bind-mounts over /etc). Its `Display` is its name, so it goes
/// straight into `ip -n {ns} ...` command lines.
pub struct Netns(String);

impl Netns {
    /// Creates the namespace `name`; panics when `ip netns add` fails.
    pub fn new(name: impl Into<String>) -> Netns {
        let ns = Netns(name.into());
        delete_netns(&ns.0);
        if let Err(e) = ns.sh("ip netns add NS") {
            panic!("ip netns add {}: {e}", ns.0);
        }
        ns
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    /// Runs `cmd` under bash with `NS` replaced by the name: its stdout, or its stderr on failure.
    pub fn sh(&self, cmd: &str) -> Result<String, String> {
        sh_ns(&self.0, cmd)
    }
}

impl Netns {
    /// A namespace with `lo` up and a veth pair `v0`/`v1` in it, `v0` at 192.0.2.1/24: the
    /// uplink a tunnel's endpoint and its routes need.
    pub fn with_uplink(name: impl Into<String>) -> Netns {
        let ns = Netns::new(name);
        for c in [
            "ip -n NS link add v0 type veth peer name v1",
            "ip -n NS link set lo up",
            "ip -n NS link set v0 up",
            "ip -n NS link set v1 up",
            "ip -n NS addr add 192.0.2.1/24 dev v0",
        ] {
            ns.sh(c).unwrap();
        }
        ns.wait_carrier();
        ns
    }

    /// Waits (at most 5 s) until no link in the namespace is without carrier: a veth pair's
    /// comes a moment after `up`, and a test that snapshots the namespace before and after
    /// must not see it change on its own.
    pub fn wait_carrier(&self) {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.sh("ip -n NS -o link show").is_ok_and(|l| l.contains("NO-CARRIER") || l.contains("LOWERLAYERDOWN"))
            && std::time::Instant::now() < end
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl std::fmt::Display for Netns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        delete_netns(&self.0);
        let _ = std::fs::remove_dir_all(format!("/etc/netns/{}", self.0));
    }
}

/// True when the test can run here: root (network namespaces) and every tool in PATH;
/// otherwise prints why it is skipped.
pub fn ready(tools: &[&str]) -> bool {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root (network namespaces)");
        return false;
    }
    if let Some(t) = tools.iter().find(|t| which::which(t).is_err()) {
        eprintln!("skipped: {t} is not installed");
        return false;
    }
    true
}

/// Random delays below a bound (xorshift, seeded from the process id so runs differ).
pub struct Delays(u64);

impl Delays {
    pub fn new() -> Delays {
        Delays(std::process::id() as u64 | 1)
    }

    /// The next delay in `0..bound`.
    pub fn below(&mut self, bound: std::time::Duration) -> std::time::Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        std::time::Duration::from_nanos(self.0 % (bound.as_nanos() as u64).max(1))
    }
}

/// Starts `cmd` with every signal at its default disposition and none blocked, whatever the
/// suite's caller left: a suite started in the background (`cargo test &` from a script,
/// CI without a terminal) ignores SIGINT and SIGQUIT, under nohup SIGHUP, and wgq, as a
/// shell, leaves a signal ignored at its start ignored. A test that signals what it starts
/// must not depend on that.
pub fn default_signals(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: signal(2) and sigprocmask(2) are async-signal-safe (between fork and exec).
    unsafe {
        cmd.pre_exec(|| {
            for s in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP, libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU] {
                libc::signal(s, libc::SIG_DFL);
            }
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
            Ok(())
        })
    }
}

/// Starts `cmd` (see [`default_signals`]), sends it `sig` after `delay`, and returns what it
/// printed and its status.
pub fn signal_after(cmd: &mut Command, delay: std::time::Duration, sig: nix::sys::signal::Signal) -> std::process::Output {
    let child = default_signals(cmd).spawn().expect("spawn");
    std::thread::sleep(delay);
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig);
    child.wait_with_output().expect("wait")
}

/// Writes `body` to `path` with `mode` (0600 for configs, 0755 for shims).
pub fn write_file(path: &std::path::Path, body: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Writes the config `<dir>/<ifname>.conf` (mode 0600, as wg-quick wants) and returns its path.
pub fn write_conf(dir: &std::path::Path, ifname: &str, body: &str) -> std::path::PathBuf {
    let p = dir.join(format!("{ifname}.conf"));
    write_file(&p, body, 0o600);
    p
}

/// Runs `cmd` under bash with `NS` replaced by `ns`: its stdout, or its stderr on failure.
pub fn sh_ns(ns: &str, cmd: &str) -> Result<String, String> {
    let o = Command::new("bash").arg("-c").arg(cmd.replace("NS", ns)).output().unwrap();
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).into_owned())
    }
}

/// Waits for `line` on the child's stderr (20 s); whether it came, everything read, and the
/// receiver of the lines still to come.
pub fn until(child: &mut std::process::Child, line: &str) -> (bool, String, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead;
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < end {
        match rx.recv_timeout(std::time::Duration::from_millis(100)) {
            Ok(l) => {
                seen.push_str(&l);
                seen.push('\n');
                if l.contains(line) {
                    return (true, seen, rx);
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => break,
        }
    }
    (false, seen, rx)
}

/// The bounded fuzz runs' random numbers (xorshift): a seed is replayed with WGQ_FUZZ_SEED.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[(self.next() % v.len() as u64) as usize]
    }
}

/// A fuzz run's seed: WGQ_FUZZ_SEED, else from the clock (odd, never 0).
pub fn fuzz_seed() -> u64 {
    std::env::var("WGQ_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1) | 1
    })
}

/// A fuzz run's length in seconds: WGQ_FUZZ_SECONDS, else `default`.
pub fn fuzz_secs(default: u64) -> u64 {
    std::env::var("WGQ_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// A `wgq web` traffic history file as docs/web-api.md describes it (written here byte by
/// byte, so the tests also hold the format to its description): one slot record
/// (number, rx, tx) and one day record.
pub fn traffic_file(slot_secs: u32, last_slot: u64, slot: (u64, u64, u64), day: (u64, u64, u64)) -> Vec<u8> {
    fn check(place: u64, data: &[u8]) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ place.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for &b in data {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    }
    let mut b = vec![0u8; 4096];
    b[..8].copy_from_slice(b"wgqtraf1");
    b[8..12].copy_from_slice(&slot_secs.to_le_bytes());
    b[16..24].copy_from_slice(&last_slot.to_le_bytes());
    let c = check(u64::MAX, &b[..56]);
    b[56..64].copy_from_slice(&c.to_le_bytes());
    for (i, (n, rx, tx)) in [((slot.0 % 96) as usize, slot), (96 + (day.0 % 30) as usize, day)] {
        let at = 64 + i * 32;
        b[at..at + 8].copy_from_slice(&n.to_le_bytes());
        b[at + 8..at + 16].copy_from_slice(&rx.to_le_bytes());
        b[at + 16..at + 24].copy_from_slice(&tx.to_le_bytes());
        let c = check(i as u64, &b[at..at + 24]);
        b[at + 24..at + 32].copy_from_slice(&c.to_le_bytes());
    }
    b
}

/// A self-signed certificate for 192.0.2.1 and 127.0.0.1 made by openssl in `dir` (`NAME.pem`,
/// `NAME.key`).
pub fn self_signed(dir: &std::path::Path, name: &str) -> (String, String) {
    let (cert, key) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
    let o = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", &format!("/CN={name}"), "-addext", "subjectAltName=IP:192.0.2.1,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(o.status.success(), "openssl: {}", String::from_utf8_lossy(&o.stderr));
    (cert.display().to_string(), key.display().to_string())
}
