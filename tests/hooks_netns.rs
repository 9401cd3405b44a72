//! Hooks and helpers with bounds, on a real system (root; userspace device through
//! wireguard-go inside throwaway network namespaces, some runs under a pseudo-terminal):
//! a hook that reads the terminal works as under wg-quick, SIGTERM or a hook that ignores it
//! cannot hold wgq for long, a second Ctrl-C does not kill the helper that is undoing,
//! stalled helpers are killed at their bound, and a stopped wireguard-go makes UAPI requests
//! time out.
//!
//! Namespace and interface names carry the process id: /var/run/wireguard is shared by all
//! namespaces, and other test binaries may run at the same time.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use wgq::os::child::KILL_GRACE;

const K: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const P: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
const WGQ: &str = env!("CARGO_BIN_EXE_wgq");

static NEXT: AtomicU32 = AtomicU32::new(0);

fn ready(extra: &[&str]) -> bool {
    let mut tools = vec!["wireguard-go", "ip", "bash"];
    tools.extend_from_slice(extra);
    common::ready(&tools)
}

/// Runs a command under a new pseudo-terminal and follows `steps`: `{"until": text}` waits
/// for text in the output, `{"send": text}` types it, `{"sleep": s}`, `{"signal": n}` signals
/// the command, and `{"mark": name}` notes the time. Prints JSON: exit status (128 + the
/// signal for a command killed by one; null if it was still running at the limit and had to
/// be killed), seconds from start to exit, the marks, the output.
///
/// The terminal's session is led by a small process that runs the command as an interactive
/// shell runs a job: in a process group of its own, made the foreground group, and the
/// terminal taken back when the job ends. (Were the command the session leader, its exit
/// would hang up the terminal and SIGHUP its group, daemons it left there included.)
const PTY: &str = r#"
import json, os, pty, select, signal, sys, time
steps = json.loads(sys.argv[1]); limit = float(sys.argv[2]); cmd = sys.argv[3:]
t0 = time.time()
rd, wr = os.pipe()
pid, fd = pty.fork()
if pid == 0:
    os.close(rd)
    job = os.fork()
    if job == 0:
        os.setpgid(0, 0)
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        os.tcsetpgrp(0, os.getpid())
        signal.signal(signal.SIGTTOU, signal.SIG_DFL)
        os.execvp(cmd[0], cmd)
    try:
        os.setpgid(job, job)
    except OSError:
        pass
    os.write(wr, str(job).encode()); os.close(wr)
    _, s = os.waitpid(job, 0)
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    os.tcsetpgrp(0, os.getpgrp())
    os._exit(os.WEXITSTATUS(s) if os.WIFEXITED(s) else 128 + os.WTERMSIG(s))
os.close(wr)
job = int(os.read(rd, 32)); os.close(rd)
out = b""; status = None; marks = {}; ended = None
def pump(done, until):
    global out, status, ended
    while True:
        if status is None:
            p, s = os.waitpid(pid, os.WNOHANG)
            if p:
                status = os.waitstatus_to_exitcode(s); ended = time.time() - t0
        if done():
            return True
        left = until - time.time()
        if left <= 0:
            return False
        r, _, _ = select.select([fd], [], [], min(left, 0.02))
        d = b""
        if r:
            try:
                d = os.read(fd, 65536)
            except OSError:
                pass
            out += d
        if status is not None and not d:
            return done()
end = t0 + limit
for st in steps:
    if "until" in st:
        pump(lambda: st["until"].encode() in out, end)
    elif "send" in st:
        os.write(fd, st["send"].encode())
    elif "sleep" in st:
        pump(lambda: False, min(end, time.time() + st["sleep"]))
    elif "signal" in st:
        os.kill(job, st["signal"])
    elif "mark" in st:
        marks[st["mark"]] = time.time() - t0
pump(lambda: status is not None, end)
if status is None:
    os.killpg(job, signal.SIGKILL); os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
print(json.dumps({"status": status, "ended": ended, "marks": marks, "output": out.decode(errors="replace")}))
"#;

/// What [`Ns::pty`] reports.
#[derive(Debug)]
struct PtyRun {
    status: Option<i32>,
    ended: Option<f64>,
    marks: std::collections::HashMap<String, f64>,
    output: String,
}

/// Just enough JSON for the PTY script's one line (numbers, strings, null, one flat object).
fn parse_pty(line: &str) -> PtyRun {
    fn field<'a>(s: &'a str, key: &str) -> &'a str {
        let i = s.find(&format!("\"{key}\": ")).unwrap_or_else(|| panic!("no {key} in {s}")) + key.len() + 4;
        &s[i..]
    }
    fn number(s: &str) -> Option<f64> {
        let end = s.find([',', '}']).unwrap_or(s.len());
        s[..end].trim().parse().ok()
    }
    let marks_text = field(line, "marks");
    let marks_text = &marks_text[1..marks_text.find('}').unwrap()];
    let marks = marks_text
        .split(", ")
        .filter(|m| !m.is_empty())
        .map(|m| {
            let (k, v) = m.split_once(": ").unwrap();
            (k.trim_matches('"').to_string(), v.parse().unwrap())
        })
        .collect();
    let out = field(line, "output");
    let out: String = unescape(&out[1..out.rfind('"').unwrap()]);
    PtyRun { status: number(field(line, "status")).map(|n| n as i32), ended: number(field(line, "ended")), marks, output: out }
}

fn unescape(s: &str) -> String {
    let mut o = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            o.push(c);
            continue;
        }
        match it.next() {
            Some('n') => o.push('\n'),
            Some('r') => o.push('\r'),
            Some('t') => o.push('\t'),
            Some('u') => {
                let h: String = it.by_ref().take(4).collect();
                o.push(u32::from_str_radix(&h, 16).ok().and_then(char::from_u32).unwrap_or('?'));
            }
            Some(x) => o.push(x),
            None => {}
        }
    }
    o
}

/// A throwaway namespace with an uplink, a shim directory first in PATH (a recording
/// resolvconf), and a config directory.
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
        let name = format!("wgqhk-{}-{n}", std::process::id());
        let dir = tempfile::tempdir().unwrap();
        let ns = Ns { netns: common::Netns::new(name), dir, tag, mark };
        std::fs::create_dir_all(format!("/etc/netns/{}", ns.netns)).unwrap();
        std::fs::write(format!("/etc/netns/{}/resolv.conf", ns.netns), "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
            .unwrap();
        for c in [
            "ip -n NS link add v0 type veth peer name v1",
            "ip -n NS link set lo up",
            "ip -n NS link set v0 up",
            "ip -n NS link set v1 up",
            "ip -n NS addr add 192.0.2.1/24 dev v0",
            "ip -n NS route add default via 192.0.2.2 dev v0",
        ] {
            ns.sh(c).unwrap();
        }
        ns.netns.wait_carrier();
        std::fs::create_dir_all(ns.bin()).unwrap();
        ns.shim(
            "resolvconf",
            &format!(
                "#!/bin/bash\necho \"resolvconf $*\" >>{d}/resolvconf.log\ncase \"$1\" in -a) cat >{d}/dns.$2;; -d) rm -f {d}/dns.$2;; esac\n",
                d = ns.dir.path().display()
            ),
        );
        ns
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn shim(&self, name: &str, body: &str) {
        common::write_file(&self.bin().join(name), body, 0o755);
    }

    fn sh(&self, cmd: &str) -> Result<String, String> {
        common::sh_ns(self.netns.name(), cmd)
    }

    /// An interface name unique to this test run (at most 15 characters).
    fn ifname(&self, s: &str) -> String {
        let n = format!("wh{}{s}", self.tag);
        assert!(n.len() <= 15, "{n}");
        n
    }

    fn conf(&self, ifname: &str, body: &str) -> PathBuf {
        common::write_conf(self.dir.path(), ifname, body)
    }

    /// `ip netns exec NS env PATH=<shims>:$PATH <vars> <program> <args>` (each execs the next,
    /// so the pid is the program's).
    fn argv(&self, vars: &[&str], program: &str, args: &[&str]) -> Vec<String> {
        let path = format!("PATH={}:{}", self.bin().display(), std::env::var("PATH").unwrap_or_default());
        let mut v: Vec<String> = ["netns", "exec", self.netns.name(), "env", &path].iter().map(|s| s.to_string()).collect();
        v.extend(vars.iter().map(|s| s.to_string()));
        v.push(program.into());
        v.extend(args.iter().map(|s| s.to_string()));
        v
    }

    /// wgq in the namespace, with default signal dispositions (the tests signal it).
    fn cmd(&self, vars: &[&str], args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(self.argv(vars, WGQ, args));
        common::default_signals(&mut c);
        c
    }

    fn wgq(&self, args: &[&str]) -> Output {
        self.cmd(&[], args).output().unwrap()
    }

    /// Runs `program args` in the namespace under a pseudo-terminal (see [`PTY`]).
    fn pty(&self, vars: &[&str], program: &str, args: &[&str], steps: &str, limit: f64) -> PtyRun {
        let o = common::default_signals(&mut Command::new("python3"))
            .arg("-c")
            .arg(PTY)
            .arg(steps)
            .arg(limit.to_string())
            .arg("ip")
            .args(self.argv(vars, program, args))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        let line = text.lines().last().unwrap_or_else(|| panic!("no report: {}", String::from_utf8_lossy(&o.stderr)));
        parse_pty(line)
    }

    /// The observable state, as sorted lines (link-local addresses left out).
    fn state(&self) -> String {
        let mut lines: Vec<String> = Vec::new();
        for c in [
            "ip -n NS -o link show",
            "ip -n NS -o addr show",
            "ip -n NS -4 route show table all",
            "ip -n NS -6 route show table all",
            "ip -n NS -4 rule show",
            "ip -n NS -6 rule show",
            "ip netns exec NS nft list ruleset 2>/dev/null || true",
        ] {
            lines.extend(self.sh(c).unwrap_or_default().lines().filter(|l| !l.contains("fe80")).map(String::from));
        }
        for e in std::fs::read_dir(self.dir.path()).unwrap().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("dns.") {
                lines.push(format!("dns registered: {n}"));
            }
        }
        lines.sort();
        lines.join("\n")
    }

    fn link_exists(&self, ifname: &str) -> bool {
        self.sh(&format!("ip -n NS link show dev {ifname}")).is_ok()
    }
}

fn plain(extra: &str) -> String {
    format!("[Interface]\nPrivateKey = {K}\nAddress = 10.80.0.2/32\n{extra}\n")
}

fn full_tunnel(extra: &str) -> String {
    format!(
        "[Interface]\nPrivateKey = {K}\nAddress = 10.80.0.2/32\n{extra}\n\
         [Peer]\nPublicKey = {P}\nAllowedIPs = 0.0.0.0/0\nEndpoint = 192.0.2.7:51820\n"
    )
}

fn text(o: &Output) -> String {
    format!("rc={:?}\n{}{}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Whether processes whose command line contains `marker` are still running.
fn survivors(marker: &str) -> String {
    let o = Command::new("pgrep").args(["-af", marker]).output().unwrap();
    String::from_utf8_lossy(&o.stdout).lines().filter(|l| !l.contains("pgrep")).collect::<Vec<_>>().join("\n")
}

/// Reads `r` to its end in a thread; [`collect`] takes what it read.
fn reader(mut r: impl Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        let _ = tx.send(s);
    });
    rx
}

/// What a [`reader`] read; after 2 s, whatever: a process the command left behind may hold
/// the pipe open (which must not hang the test).
fn collect(rx: std::sync::mpsc::Receiver<String>) -> String {
    rx.recv_timeout(Duration::from_secs(2)).unwrap_or_else(|_| "(stderr still held open by a leftover process)".into())
}

/// Waits for `child` at most `limit` from `since`; kills it if it is still running then.
fn wait_until_limit(child: &mut std::process::Child, since: Instant, limit: Duration) -> Option<i32> {
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st.code();
        }
        if since.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for `child` at most `limit`; returns its status (None if it had to be killed), its
/// stderr and how long it ran.
fn wait_bounded(mut child: std::process::Child, limit: Duration) -> (Option<i32>, String, Duration) {
    let t = Instant::now();
    let err = reader(child.stderr.take().unwrap());
    let status = wait_until_limit(&mut child, t, limit);
    let took = t.elapsed();
    (status, collect(err), took)
}

/// Starts `cmd` with stderr piped and returns once its stderr has shown `line` (and what it
/// showed so far), the child and its stderr's remaining reader.
fn start_until(mut cmd: Command, line: &str) -> (std::process::Child, String, BufReader<std::process::ChildStderr>) {
    let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut l = String::new();
        if err.read_line(&mut l).unwrap() == 0 || Instant::now() > deadline {
            break;
        }
        seen.push_str(&l);
        if l.contains(line) {
            break;
        }
    }
    assert!(seen.contains(line), "never reached `{line}':\n{seen}");
    (child, seen, err)
}

/// Sends SIGTERM to `child` and waits for it (at most 20 s); returns its status, the rest of
/// its stderr and how long it took after the signal.
fn terminate(mut child: std::process::Child, err: BufReader<std::process::ChildStderr>) -> (Option<i32>, String, Duration) {
    let rest = reader(err);
    let t = Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = wait_until_limit(&mut child, t, Duration::from_secs(20));
    let took = t.elapsed();
    (status, collect(rest), took)
}

#[test]
fn a_hook_reads_the_terminal_as_under_wg_quick() {
    if !ready(&["python3"]) {
        return;
    }
    let ns = Ns::new();
    let steps = r#"[{"until": "[#] read -t 10"}, {"mark": "asked"}, {"send": "hello\n"}]"#;
    let hook = "read -t 10 x || true; echo \"got=$x\" >GOT";
    let mut timings = Vec::new();
    let mut tools = vec![("wgq", WGQ.to_string())];
    if let Ok(p) = which::which("wg-quick")
        && which::which("wg").is_ok()
    {
        tools.push(("wg-quick", p.display().to_string()));
    }
    for (i, (tool, program)) in tools.iter().enumerate() {
        let ifn = ns.ifname(&format!("t{i}"));
        let got = ns.path(&format!("got.{ifn}"));
        let hook = hook.replace("GOT", &got.display().to_string());
        let conf = ns.conf(&ifn, &plain(&format!("PostUp = {hook}")));
        let before = ns.state();
        let r = ns.pty(&[], program, &["up", conf.to_str().unwrap()], steps, 20.0);
        let answered = r.ended.unwrap_or(f64::NAN) - r.marks.get("asked").copied().unwrap_or(f64::NAN);
        timings.push(format!("{tool}: up {:.2} s, {answered:.2} s after the answer", r.ended.unwrap_or(f64::NAN)));
        assert_eq!(r.status, Some(0), "{tool} did not finish (the hook could not read the terminal?):\n{}", r.output);
        assert_eq!(
            std::fs::read_to_string(&got).unwrap_or_default(),
            "got=hello\n",
            "{tool}: the hook did not read the terminal"
        );
        assert!(answered < 2.0, "{tool} took {answered:.2} s after the answer");
        let o = if *tool == "wgq" {
            ns.wgq(&["down", conf.to_str().unwrap()])
        } else {
            Command::new("ip").args(ns.argv(&[], program, &["down", conf.to_str().unwrap()])).output().unwrap()
        };
        assert!(o.status.success(), "{tool} down: {}", text(&o));
        assert_eq!(ns.state(), before, "{tool}: down did not restore the state");
    }
    eprintln!("PostUp `read` under a pty: {}", timings.join("; "));
}

#[test]
fn sigterm_while_a_hook_reads_the_terminal_rolls_back_within_seconds() {
    if !ready(&["python3"]) {
        return;
    }
    let ns = Ns::new();
    let ifn = ns.ifname("r");
    let conf = ns.conf(&ifn, &plain("DNS = 10.80.0.1\nPostUp = read x"));
    let before = ns.state();
    let steps = r#"[{"until": "[#] read x"}, {"sleep": 0.3}, {"mark": "term"}, {"signal": 15}]"#;
    let r = ns.pty(&[], WGQ, &["up", conf.to_str().unwrap()], steps, 20.0);
    assert_eq!(r.status, Some(143), "{}", r.output);
    let took = r.ended.unwrap() - r.marks["term"];
    eprintln!("SIGTERM during a PostUp reading the terminal: wgq ended {took:.2} s after it");
    assert!(took < 3.0, "{took:.2} s after SIGTERM:\n{}", r.output);
    assert!(r.output.contains("hook interrupted by signal 15") && r.output.contains("ip link delete dev"), "{}", r.output);
    assert_eq!(ns.state(), before, "state after SIGTERM differs\n{}", r.output);
}

#[test]
fn a_hook_that_ignores_sigterm_is_killed_after_the_grace_period() {
    if !ready(&[]) {
        return;
    }
    let ns = Ns::new();
    let ifn = ns.ifname("i");
    let marker = format!("30.{}", ns.mark);
    let conf = ns.conf(&ifn, &plain(&format!("DNS = 10.80.0.1\nPostUp = trap '' TERM; sleep {marker} & sleep {marker}")));
    let before = ns.state();
    let (child, seen, err) = start_until(ns.cmd(&[], &["up", conf.to_str().unwrap()]), "[#] trap");
    std::thread::sleep(Duration::from_millis(300));
    let (status, rest, took) = terminate(child, err);
    eprintln!("SIGTERM during a PostUp that ignores it: wgq ended {:.2} s after it (grace {KILL_GRACE:?})", took.as_secs_f64());
    assert_eq!(status, Some(143), "{seen}{rest}");
    assert!(
        took >= KILL_GRACE - Duration::from_millis(100) && took < KILL_GRACE + Duration::from_secs(3),
        "{took:?}\n{seen}{rest}"
    );
    assert!(rest.contains("hook interrupted by signal 15"), "{rest}");
    assert_eq!(ns.state(), before, "state after SIGTERM differs\n{seen}{rest}");
    assert_eq!(survivors(&format!("sleep {marker}")), "", "the hook's processes survived");
}

#[test]
fn sigterm_during_a_pre_down_hook_ends_it_and_down_stops() {
    if !ready(&[]) {
        return;
    }
    let ns = Ns::new();
    let ifn = ns.ifname("d");
    let marker = format!("31.{}", ns.mark);
    let conf = ns.conf(&ifn, &plain(&format!("PreDown = trap '' TERM; sleep {marker}")));
    let before = ns.state();
    let o = ns.wgq(&["up", conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let (child, seen, err) = start_until(ns.cmd(&[], &["down", conf.to_str().unwrap()]), "[#] trap");
    std::thread::sleep(Duration::from_millis(300));
    let (status, rest, took) = terminate(child, err);
    assert_eq!(status, Some(143), "down was not stopped by the PreDown's interruption:\n{seen}{rest}");
    assert!(took < KILL_GRACE + Duration::from_secs(3), "{took:?}");
    assert!(rest.contains("PreDown: hook interrupted by signal 15"), "{rest}");
    assert_eq!(survivors(&format!("sleep {marker}")), "", "the PreDown hook survived");
    assert!(ns.link_exists(&ifn), "a failed PreDown leaves the interface up, as wg-quick does");
    ns.conf(&ifn, &plain(""));
    let o = ns.wgq(&["down", conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(ns.state(), before);
}

/// `nohup wgq up IF &` from a script: SIGHUP and SIGINT ignored from the start stay ignored,
/// as wg-quick's trap leaves them (bash cannot trap a signal ignored at its start): the
/// terminal's hang-up or a Ctrl-C meant for the foreground does not roll `up` back.
#[test]
fn signals_ignored_by_the_caller_stay_ignored_as_under_wg_quick() {
    if !ready(&[]) {
        return;
    }
    let ns = Ns::new();
    let mut tools = vec![("wgq", WGQ.to_string())];
    if let Ok(p) = which::which("wg-quick")
        && which::which("wg").is_ok()
    {
        tools.push(("wg-quick", p.display().to_string()));
    }
    for (i, (tool, program)) in tools.iter().enumerate() {
        let ifn = ns.ifname(&format!("n{i}"));
        let marker = format!("1.{}{i}", ns.mark);
        let conf = ns.conf(&ifn, &plain(&format!("PostUp = sleep {marker}")));
        let mut cmd = Command::new("ip");
        cmd.args(ns.argv(&[], program, &["up", conf.to_str().unwrap()]));
        common::default_signals(&mut cmd);
        // SAFETY: signal(2) is async-signal-safe; runs after default_signals' reset.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                libc::signal(libc::SIGINT, libc::SIG_IGN);
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
                Ok(())
            });
        }
        let (mut child, seen, err) = start_until(cmd, &format!("[#] sleep {marker}"));
        let rest = reader(err);
        std::thread::sleep(Duration::from_millis(200));
        for s in [nix::sys::signal::Signal::SIGINT, nix::sys::signal::Signal::SIGHUP] {
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), s).unwrap();
            // The hook's group too, as a terminal's Ctrl-C or hang-up reaches it.
            let _ = Command::new("pkill").args([&format!("-{}", s as i32), "-f", &format!("sleep {marker}")]).status();
        }
        let status = wait_until_limit(&mut child, Instant::now(), Duration::from_secs(20));
        let rest = collect(rest);
        assert_eq!(status, Some(0), "{tool}: up was stopped by a signal its caller ignores:\n{seen}{rest}");
        assert!(ns.link_exists(&ifn), "{tool}: the interface is gone\n{seen}{rest}");
        let o = Command::new("ip").args(ns.argv(&[], program, &["down", conf.to_str().unwrap()])).output().unwrap();
        assert!(o.status.success(), "{tool} down: {}", text(&o));
    }
}

#[test]
fn a_second_ctrl_c_during_rollback_does_not_kill_the_helper_undoing() {
    if !ready(&["python3"]) {
        return;
    }
    let ns = Ns::new();
    let ifn = ns.ifname("c");
    let log = ns.path("resolvconf.log");
    ns.shim(
        "resolvconf",
        &format!(
            "#!/bin/bash\necho \"resolvconf $*\" >>{l}\ncase \"$1\" in -a) cat >{d}/dns.$2;; \
             -d) sleep 1.5; rm -f {d}/dns.$2; echo removed >>{l};; esac\n",
            l = log.display(),
            d = ns.dir.path().display()
        ),
    );
    let conf = ns.conf(&ifn, &plain("DNS = 10.80.0.1\nPostUp = read x"));
    let before = ns.state();
    let steps = r#"[{"until": "[#] read x"}, {"sleep": 0.3}, {"send": "\u0003"}, {"until": "resolvconf -d"},
                    {"sleep": 0.5}, {"send": "\u0003"}]"#;
    let r = ns.pty(&[], WGQ, &["up", conf.to_str().unwrap()], steps, 20.0);
    assert_eq!(r.status, Some(130), "{}", r.output);
    assert!(r.output.contains("hook killed by signal 2"), "{}", r.output);
    let l = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(l.ends_with("removed\n"), "the second Ctrl-C killed resolvconf -d:\n{l}\n{}", r.output);
    assert_eq!(ns.state(), before, "state after two Ctrl-Cs differs\n{}", r.output);
}

#[test]
fn stalled_helpers_are_killed_at_their_bound_and_up_rolls_back() {
    if !ready(&["nft"]) {
        return;
    }
    let ns = Ns::new();
    let bound = 1.0;
    let timeout = format!("{}={bound}", wgq::os::child::TIMEOUT_ENV);
    let m = |k: &str| format!("1000.{}{k}", ns.mark);
    let fake_go = ns.bin().join("stalled-go");
    // (name, what to put in PATH, config, extra environment, expected message, status: 124
    // like timeout(1); the userspace implementation's start fails as any device error, 1)
    let cases = [
        (
            "resolvconf -a",
            ("resolvconf", format!("#!/bin/bash\ncase \"$1\" in -a) exec sleep {};; esac\n", m("1"))),
            plain("DNS = 10.80.0.1"),
            String::new(),
            "resolvconf did not finish within 1 s and was killed".to_string(),
            124,
        ),
        (
            "nft -f, ignoring SIGTERM",
            ("nft", format!("#!/bin/bash\ntrap '' TERM\nsleep {}\n", m("2"))),
            full_tunnel("DNS = 10.80.0.1"),
            String::new(),
            "nft did not finish within 1 s and was killed".to_string(),
            124,
        ),
        (
            "the userspace implementation",
            ("stalled-go", format!("#!/bin/bash\nsleep {}\n", m("3"))),
            plain(""),
            format!("WG_QUICK_USERSPACE_IMPLEMENTATION={}", fake_go.display()),
            format!("{} did not finish within 1 s and was killed", fake_go.display()),
            // Killed at its bound, like the other helpers.
            124,
        ),
    ];
    for (i, (what, (shim, body), conf, var, message, rc)) in cases.iter().enumerate() {
        let ifn = ns.ifname(&format!("s{i}"));
        ns.shim(shim, body);
        let conf = ns.conf(&ifn, conf);
        let before = ns.state();
        let mut vars = vec![timeout.as_str()];
        if !var.is_empty() {
            vars.push(var);
        }
        let child = ns.cmd(&vars, &["up", conf.to_str().unwrap()]).stderr(Stdio::piped()).spawn().unwrap();
        let (status, err, took) = wait_bounded(child, Duration::from_secs(20));
        if *shim == "stalled-go" && !err.contains("Falling back to slow userspace implementation") {
            eprintln!("skipped: {what}: the kernel module serves WireGuard here");
            continue;
        }
        eprintln!("stalled {what}: up failed after {:.2} s", took.as_secs_f64());
        assert_eq!(status, Some(*rc), "{what}: {err}");
        assert!(err.contains(message.as_str()), "{what}: {err}");
        assert!(took < Duration::from_secs_f64(bound) + KILL_GRACE + Duration::from_secs(3), "{what}: {took:?}");
        assert_eq!(ns.state(), before, "{what}: not rolled back completely\n{err}");
        std::fs::remove_file(ns.bin().join(shim)).unwrap();
        if *shim == "resolvconf" {
            Ns::restore_resolvconf(&ns);
        }
    }
    for k in ["1", "2", "3"] {
        assert_eq!(survivors(&format!("sleep {}", m(k))), "", "a stalled helper survived");
    }
}

impl Ns {
    fn restore_resolvconf(&self) {
        self.shim(
            "resolvconf",
            &format!(
                "#!/bin/bash\ncase \"$1\" in -a) cat >{d}/dns.$2;; -d) rm -f {d}/dns.$2;; esac\n",
                d = self.dir.path().display()
            ),
        );
    }
}

#[test]
fn a_stopped_wireguard_go_makes_uapi_requests_time_out() {
    if !ready(&["pgrep"]) {
        return;
    }
    let ns = Ns::new();
    let ifn = ns.ifname("u");
    let conf = ns.conf(&ifn, &plain(""));
    let before = ns.state();
    let o = ns.wgq(&["up", conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    if !text(&o).contains("Falling back to slow userspace implementation") {
        eprintln!("skipped: the kernel module serves WireGuard here (no UAPI socket)");
        let _ = ns.wgq(&["down", conf.to_str().unwrap()]);
        return;
    }
    let pids = Command::new("pgrep").args(["-f", &format!("wireguard-go {ifn}$")]).output().unwrap();
    let pids: Vec<i32> = String::from_utf8_lossy(&pids.stdout).split_whitespace().filter_map(|p| p.parse().ok()).collect();
    assert!(!pids.is_empty(), "no wireguard-go for {ifn}");
    let signal = |s| {
        for p in &pids {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*p), s);
        }
    };
    signal(nix::sys::signal::Signal::SIGSTOP);
    let timeout = format!("{}=1", wgq::os::child::TIMEOUT_ENV);
    for args in [vec!["show", ifn.as_str()], vec!["showconf", ifn.as_str()]] {
        let child = ns.cmd(&[&timeout], &args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let (status, err, took) = wait_bounded(child, Duration::from_secs(20));
        eprintln!("{} with wireguard-go stopped: failed after {:.2} s", args[0], took.as_secs_f64());
        assert!(status.is_some_and(|s| s != 0), "{args:?}: {status:?} {err}");
        assert!(
            err.contains(&format!("Unable to access interface {ifn}: its userspace implementation did not answer within 1 s")),
            "{args:?}: {err}"
        );
        assert!(took < Duration::from_secs(4), "{args:?}: {took:?}");
    }
    signal(nix::sys::signal::Signal::SIGCONT);
    let o = ns.wgq(&["down", conf.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(ns.state(), before);
}
