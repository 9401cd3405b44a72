//! The callers of issue 16, run unchanged: the command sequences of wg-easy, angristan's
//! and Nyr's wireguard-install, PiVPN, OpenWrt, the upstream wg-quick@.service, NixOS
//! and a few one-liners (tests/callers/*.sh, written from what each caller runs), with
//! **only wgq installed** as `wg` and `wg-quick`, against the same scripts with
//! wireguard-tools on a twin sandbox. Same exit statuses, same parsed outputs, same
//! stderr, and the same state after every phase (`wg showconf` of every device with peers
//! sorted, links, addresses, routes, rules, iptables, the files in /etc/wireguard).
//!
//! A sandbox is a mount, network and PID namespace of its own (everything in it dies with
//! it): tmpfs on /etc/wireguard, /run/wireguard and /run/wgq, so `wg show all` sees only its
//! own devices and `wg-quick up NAME` reads its own file; on wgq's side wgq is also
//! bind-mounted over /usr/bin/wg and /usr/bin/wg-quick, for the callers that name those
//! paths. PATH is a directory holding `wg` and `wg-quick` (links to wgq, or to
//! wireguard-tools) and a directory of links to every other program of /usr/bin and
//! /usr/sbin, so the real wg and wg-quick cannot be reached by name either. A second
//! sandbox per side is the caller's phone: a client brought up by wireguard-tools from
//! the client file the caller wrote, over a veth (192.0.2.0/24, 2001:db8::/64), so that
//! handshakes, endpoints and counters are live. The state is read with a copy of
//! wireguard-tools' wg that no script can reach.
//!
//! Keys are made by the scripts with the tool under test; the harness checks every public
//! key against wireguard-tools and every private key's clamping, and shows keys by their
//! file names only (never their text).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const WGQ: &str = env!("CARGO_BIN_EXE_wgq");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const REAL_WG: &str = "/usr/bin/wg";
const REAL_WG_QUICK: &str = "/usr/bin/wg-quick";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Real,
    Wgq,
}

/// Why the tests cannot run here, if they cannot.
fn missing() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root (namespaces, wireguard-go)".into());
    }
    for t in [REAL_WG, REAL_WG_QUICK, "/usr/bin/nsenter", "/usr/bin/unshare"] {
        if !Path::new(t).exists() {
            return Some(format!("{t} is not installed"));
        }
    }
    for t in ["wireguard-go", "iptables", "ip6tables", "ip", "ping"] {
        if which::which(t).is_err() {
            return Some(format!("{t} is not installed"));
        }
    }
    if !Path::new("/dev/net/tun").exists() {
        return Some("no /dev/net/tun".into());
    }
    None
}

macro_rules! ready {
    () => {
        if let Some(r) = missing() {
            println!("skipped: {r}");
            return;
        }
    };
}

/// A mount, network and PID namespace held by a `sleep` that is its PID 1: when the
/// holder goes, every process in it goes (wireguard-go daemons included).
struct Ns {
    unshare: Child,
    /// The host's PID of the namespace's PID 1.
    pid: u32,
}

impl Ns {
    fn new() -> Ns {
        let unshare = Command::new("unshare")
            .args(["--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private"])
            .args(["--", "sleep", "3600"])
            .stdin(Stdio::null())
            .spawn()
            .expect("unshare");
        let me = std::fs::read_link("/proc/self/ns/net").unwrap();
        for _ in 0..500 {
            let kids = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", unshare.id())).unwrap_or_default();
            if let Some(pid) = kids.split_whitespace().next().and_then(|p| p.parse::<u32>().ok())
                && std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e.ends_with("sleep"))
                && std::fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|n| n != me)
            {
                return Ns { unshare, pid };
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let mut unshare = unshare;
        let _ = unshare.kill();
        let _ = unshare.wait();
        panic!("the namespace holder did not start");
    }

    /// A command run inside the namespaces (mount, network, PID).
    fn cmd(&self) -> Command {
        let mut c = Command::new("nsenter");
        c.args(["-t", &self.pid.to_string(), "-m", "-n", "-p", "--"]);
        c
    }

    /// A shell command inside; panics unless it succeeds.
    fn must(&self, script: &str) {
        let o = self.cmd().args(["bash", "-c", script]).stdin(Stdio::null()).output().expect("nsenter");
        assert!(o.status.success(), "`{script}`: {}", String::from_utf8_lossy(&o.stderr));
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid as i32), nix::sys::signal::Signal::SIGKILL);
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
    }
}

/// What one phase of a script did, as the harness compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// One side: a server sandbox running the caller's script, and its phone.
struct Side {
    server: Ns,
    phone: Ns,
    _dir: tempfile::TempDir,
    /// The work directory (the scripts' $W).
    w: PathBuf,
    /// PATH of the scripts.
    path: String,
    /// wireguard-tools' wg, copied where no script looks, to read the state.
    oracle: PathBuf,
    names: Names,
}

/// The names one test uses (the same on both sides: the sandboxes are separate).
#[derive(Clone)]
struct Names {
    ifname: String,
    phone_if: String,
    uplink: String,
}

impl Names {
    fn new(letter: char) -> Names {
        let pid = std::process::id();
        let n = Names {
            ifname: format!("wg{letter}{pid}"),
            phone_if: format!("ph{letter}{pid}"),
            uplink: format!("up{letter}{pid}"),
        };
        for s in [&n.ifname, &n.phone_if, &n.uplink] {
            assert!(s.len() <= 15, "{s}");
        }
        n
    }
}

const SERVER: &str = "192.0.2.1";
const PHONE: &str = "192.0.2.2";
const PORT: &str = "51820";
const PHONE_PORT: &str = "51821";
/// The address of `site.example` (nobody answers there).
const SITE: &str = "192.0.2.9";

/// Links to every program of /usr/bin and /usr/sbin but wg, wg-quick and wgq.
fn tool_links(dir: &Path) {
    std::fs::create_dir(dir).unwrap();
    for d in ["/usr/bin", "/usr/sbin", "/bin", "/sbin"] {
        let Ok(rd) = std::fs::read_dir(d) else { continue };
        for e in rd.flatten() {
            let name = e.file_name();
            if ["wg", "wg-quick", "wgq"].iter().any(|n| name == *n) {
                continue;
            }
            let link = dir.join(&name);
            if !link.exists() {
                let _ = std::os::unix::fs::symlink(e.path(), &link);
            }
        }
    }
}

impl Side {
    fn new(tool: Tool, names: &Names, wg_shim: Option<&str>) -> Side {
        let dir = tempfile::Builder::new().prefix("wgq-callers.").tempdir().unwrap();
        let w = dir.path().join("w");
        std::fs::create_dir(&w).unwrap();
        tool_links(&dir.path().join("tools"));
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let (wg, wg_quick) = match tool {
            Tool::Real => (REAL_WG, REAL_WG_QUICK),
            Tool::Wgq => (WGQ, WGQ),
        };
        match wg_shim {
            // A broken `wg` (the harness's own test): a script in front of wgq.
            Some(shim) if tool == Tool::Wgq => {
                std::fs::write(bin.join("wg"), shim.replace("@WGQ@", WGQ)).unwrap();
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(bin.join("wg"), std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            _ => std::os::unix::fs::symlink(wg, bin.join("wg")).unwrap(),
        }
        std::os::unix::fs::symlink(wg_quick, bin.join("wg-quick")).unwrap();
        let oracle_dir = dir.path().join("oracle");
        std::fs::create_dir(&oracle_dir).unwrap();
        let oracle = oracle_dir.join("wg");
        std::fs::copy(REAL_WG, &oracle).unwrap();
        let path = format!("{}:{}", bin.display(), dir.path().join("tools").display());
        let server = Ns::new();
        let phone = Ns::new();
        let private = "for d in /etc/wireguard /run/wireguard /run/wgq; do mkdir -p $d && mount -t tmpfs -o mode=0700 tmpfs $d || exit 1; done; \
                       chmod 0755 /run/wireguard; ip link set lo up";
        server.must(private);
        phone.must(private);
        // Names the scripts resolve (an endpoint by name) without a resolver.
        let hosts = dir.path().join("hosts");
        std::fs::write(&hosts, format!("127.0.0.1 localhost\n::1 localhost\n{SITE} site.example\n")).unwrap();
        server.must(&format!("mount --bind {} /etc/hosts", hosts.display()));
        if tool == Tool::Wgq {
            let shadow = match wg_shim {
                Some(_) => {
                    format!("mount --bind {0} /usr/bin/wg && mount --bind {1} /usr/bin/wg-quick", bin.join("wg").display(), WGQ)
                }
                None => format!("mount --bind {WGQ} /usr/bin/wg && mount --bind {WGQ} /usr/bin/wg-quick"),
            };
            server.must(&shadow);
        }
        // The uplink: server and phone on one veth, made from the host's PID namespace so
        // that `netns PID` names the phone's holder.
        let n = names;
        let o = Command::new("nsenter")
            .arg(format!("--net=/proc/{}/ns/net", server.pid))
            .args([
                "--",
                "ip",
                "link",
                "add",
                &n.uplink,
                "type",
                "veth",
                "peer",
                "name",
                &n.uplink,
                "netns",
                &phone.pid.to_string(),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "veth: {}", String::from_utf8_lossy(&o.stderr));
        server.must(&format!(
            "ip addr add {SERVER}/24 dev {0} && ip -6 addr add 2001:db8::1/64 dev {0} nodad && ip link set {0} up",
            n.uplink
        ));
        phone.must(&format!(
            "ip addr add {PHONE}/24 dev {0} && ip -6 addr add 2001:db8::2/64 dev {0} nodad && ip link set {0} up",
            n.uplink
        ));
        Side { server, phone, _dir: dir, w, path, oracle, names: names.clone() }
    }

    /// Runs `tests/callers/SCRIPT.sh PHASE` in the server sandbox.
    fn phase(&self, script: &str, phase: &str) -> Out {
        let s = format!("{ROOT}/tests/callers/{script}.sh");
        let mut c = self.server.cmd();
        c.args(["env", "-i"])
            .arg(format!("PATH={}", self.path))
            .args(["LC_ALL=C", "HOME=/root"])
            .arg(format!("W={}", self.w.display()))
            .arg(format!("IF={}", self.names.ifname))
            .arg(format!("UPLINK={}", self.names.uplink))
            .arg(format!("PORT={PORT}"))
            .arg(format!("PHONE_PORT={PHONE_PORT}"))
            .arg(format!("SERVER={SERVER}"))
            .args(["bash", &s, phase])
            .current_dir(&self.w)
            .stdin(Stdio::null());
        let o = c.output().expect("run the script");
        Out {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Brings the phone up (wireguard-tools, in its own sandbox) from the client file the
    /// script wrote, pings the server through the tunnel and waits for the handshake.
    /// Returns what happened, for the transcript.
    fn phone_up(&self) -> String {
        let conf = self.w.join("clients/phone.conf");
        if !conf.exists() {
            return String::new();
        }
        let dir = self.w.join("phone");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{}.conf", self.names.phone_if));
        std::fs::copy(&conf, &file).unwrap();
        let target = std::fs::read_to_string(self.w.join("clients/phone.ping")).unwrap_or_default();
        let script = format!(
            "wg-quick up {file} 2>{log} || {{ echo 'phone: up failed:'; grep -vF '[#]' {log}; exit; }}; \
             ping -c 1 -W 5 {t} >/dev/null; echo \"phone: ping rc=$?\"; \
             for i in $(seq 100); do wg show {i} latest-handshakes | grep -qv '\t0$' && break; sleep 0.1; done; \
             wg show {i} latest-handshakes | awk '{{print \"phone: handshake \" ($2 > 0 ? \"yes\" : \"no\")}}'",
            file = file.display(),
            log = dir.join("up.log").display(),
            t = target.trim(),
            i = self.names.phone_if
        );
        let o = self
            .phone
            .cmd()
            .args(["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "bash", "-c", &script])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// The server sandbox's state: every device's configuration (peers sorted), links,
    /// addresses, routes, rules, iptables and the files in /etc/wireguard.
    fn state(&self) -> String {
        let o = self.oracle.display();
        let script = format!(
            "for d in $({o} show interfaces); do echo \"@@@@ showconf $d\"; {o} showconf $d; done
             echo '@@@@ links'; ip -o link show | sed -E 's/^[0-9]+: //; s/ link\\/ether [^ ]+ brd [^ ]+//; s/@if[0-9]+/@peer/' | sort
             echo '@@@@ addresses'; ip -o addr show | grep -v ' fe80' | sed -E 's/^[0-9]+: //; s/\\\\ +valid_lft.*//' | sort
             echo '@@@@ routes'; ip -4 route show table all | sort; ip -6 route show table all | grep -v fe80 | sort
             echo '@@@@ rules'; ip -4 rule; ip -6 rule
             echo '@@@@ iptables'; iptables-save | grep -v '^#' | sed -E 's/\\[[0-9]+:[0-9]+\\]/[c]/'
             echo '@@@@ ip6tables'; ip6tables-save | grep -v '^#' | sed -E 's/\\[[0-9]+:[0-9]+\\]/[c]/'
             for f in /etc/wireguard/*; do [ -f \"$f\" ] && {{ echo \"@@@@ file $f $(stat -c %a \"$f\")\"; cat \"$f\"; }}; done
             true"
        );
        let out = self.server.cmd().args(["bash", "-c", &script]).stdin(Stdio::null()).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// A state (with key names in place of keys) in canonical form: device configurations
/// and files with their peers sorted (the order is the device's), link-local addresses out.
fn canonical_state(text: &str) -> String {
    let mut s = String::new();
    for section in text.split("@@@@ ").filter(|p| !p.is_empty()) {
        let (head, body) = section.split_once('\n').unwrap_or((section, ""));
        let body = if head.starts_with("showconf ") || head.starts_with("file ") {
            config_state(&no_link_local(body))
        } else {
            body.to_string()
        };
        s.push_str(&format!("@@@@ {head}\n{body}"));
        if !s.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}

impl Side {
    /// The keys the script made (keys/NAME.{key,pub,psk}), checked: every public key is
    /// what wireguard-tools derives from its private key, private keys are clamped.
    /// Returns (text, label) pairs, and what was wrong.
    fn keys(&self) -> (Vec<(String, String)>, Vec<String>) {
        let mut labels = Vec::new();
        let mut bad = Vec::new();
        let Ok(rd) = std::fs::read_dir(self.w.join("keys")) else { return (labels, bad) };
        let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in &files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(f).unwrap_or_default().trim().to_string();
            let Ok(key) = wgq::key::Key::from_base64(&text) else {
                bad.push(format!("keys/{name} does not hold a key"));
                continue;
            };
            labels.push((text.clone(), format!("<{name}>")));
            if let Some(stem) = name.strip_suffix(".key") {
                let b = key.0;
                if b[0] & 7 != 0 || b[31] & 0x80 != 0 || b[31] & 0x40 == 0 {
                    bad.push(format!("keys/{name} is not clamped (wg genkey clamps)"));
                }
                let mut c = Command::new(REAL_WG);
                c.arg("pubkey").stdin(std::fs::File::open(f).unwrap());
                let real = String::from_utf8_lossy(&c.output().unwrap().stdout).trim().to_string();
                labels.push((real.clone(), format!("<{stem}.pub>")));
                let pubf = f.with_extension("pub");
                if pubf.exists() && std::fs::read_to_string(&pubf).unwrap_or_default().trim() != real {
                    bad.push(format!("keys/{stem}.pub is not the public key of keys/{name}"));
                }
            }
        }
        (labels, bad)
    }

    /// Text with this side's keys shown by their names and the work directory as `$W`.
    fn normalise(&self, s: &str, labels: &[(String, String)]) -> String {
        let mut s = s.replace(&self.w.display().to_string(), "$W");
        for (k, l) in labels {
            s = s.replace(k.as_str(), l);
        }
        s
    }

    fn log(&self, labels: &[(String, String)]) -> String {
        let q = std::fs::read_to_string(self.w.join("wg-quick.log")).unwrap_or_default();
        let tail: Vec<&str> = q.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        self.normalise(&tail.join("\n"), labels)
    }
}

/// IPv6 link-local addresses out of a file or a configuration (the userspace tun gets a
/// random one, and wg-quick's `save` writes it into Address).
fn no_link_local(s: &str) -> String {
    s.lines()
        .map(|l| match l.split_once(" = ") {
            Some((k, v)) if k.eq_ignore_ascii_case("Address") => {
                let v: Vec<&str> = v.split(',').map(str::trim).filter(|a| !a.starts_with("fe80")).collect();
                if v.is_empty() { String::new() } else { format!("{k} = {}\n", v.join(", ")) }
            }
            _ => format!("{l}\n"),
        })
        .collect()
}

/// A configuration with its sections after the first sorted and each AllowedIPs list
/// sorted: the same device or file whatever order the device listed its peers in.
fn config_state(s: &str) -> String {
    let mut parts: Vec<String> = s.split("\n\n").map(|p| p.trim_matches('\n').to_string()).filter(|p| !p.is_empty()).collect();
    for p in &mut parts {
        let lines: Vec<String> = p
            .lines()
            .map(|l| match l.strip_prefix("AllowedIPs = ") {
                Some(v) => {
                    let mut ips: Vec<&str> = v.split(", ").collect();
                    ips.sort();
                    format!("AllowedIPs = {}", ips.join(", "))
                }
                None => l.to_string(),
            })
            .collect();
        *p = lines.join("\n");
    }
    if parts.is_empty() {
        return String::new();
    }
    let head = parts.remove(0);
    parts.sort();
    format!("{head}\n--\n{}\n", parts.join("\n\n"))
}

/// The transcript with each run of `| ` lines sorted (their order is the device's).
fn sort_rows(s: &str) -> String {
    let mut out = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    for l in s.lines() {
        if l.starts_with("| ") {
            run.push(l);
            continue;
        }
        run.sort();
        out.append(&mut run);
        out.push(l);
    }
    run.sort();
    out.append(&mut run);
    out.iter().map(|l| format!("{l}\n")).collect()
}

/// Lines of `a` missing from `b` (`-`) and of `b` missing from `a` (`+`), at most 40.
fn diff(a: &str, b: &str) -> String {
    let al: Vec<&str> = a.lines().collect();
    let bl: Vec<&str> = b.lines().collect();
    let mut v: Vec<String> = al.iter().filter(|l| !bl.contains(l)).map(|l| format!("  - {l}")).collect();
    v.extend(bl.iter().filter(|l| !al.contains(l)).map(|l| format!("  + {l}")));
    if v.is_empty() && a != b {
        // Same lines, another order: show both where they part.
        let at = al.iter().zip(&bl).position(|(x, y)| x != y).unwrap_or(0);
        v.push(format!("  same lines, another order from line {}:", at + 1));
        v.extend(al.iter().skip(at).take(10).map(|l| format!("  wireguard-tools: {l}")));
        v.extend(bl.iter().skip(at).take(10).map(|l| format!("  wgq:             {l}")));
    }
    v.truncate(40);
    v.join("\n")
}

/// Runs a caller script's phases on both sides and returns every difference (empty when
/// wgq did what wireguard-tools did). `wg_shim` replaces wgq's `wg` (the harness's test).
fn run_caller(script: &str, letter: char, wg_shim: Option<&str>) -> Vec<String> {
    let names = Names::new(letter);
    let (real, mine) = std::thread::scope(|s| {
        let a = s.spawn(|| Side::new(Tool::Real, &names, wg_shim));
        let b = s.spawn(|| Side::new(Tool::Wgq, &names, wg_shim));
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut problems = Vec::new();
    for phase in ["up", "live", "down"] {
        let run = |side: &Side| {
            let mut phone = String::new();
            if phase == "live" {
                phone = side.phone_up();
            }
            let mut o = side.phase(script, phase);
            o.stdout = phone + &o.stdout;
            (o, side.state())
        };
        let ((ro, rs), (mo, ms)) = std::thread::scope(|s| {
            let a = s.spawn(|| run(&real));
            let b = s.spawn(|| run(&mine));
            (a.join().unwrap(), b.join().unwrap())
        });
        // A phone that did not connect (on either side) leaves nothing live to compare.
        for (who, o) in [("wireguard-tools' side", &ro), ("wgq's side", &mo)] {
            if o.stdout.starts_with("phone: ") && !o.stdout.contains("phone: handshake yes") {
                problems.push(format!("{script} {phase}: the phone did not connect on {who}"));
            }
        }
        let (rl, rbad) = real.keys();
        let (ml, mbad) = mine.keys();
        for b in rbad {
            problems.push(format!("{script} {phase}: wireguard-tools' side: {b}"));
        }
        for b in mbad {
            problems.push(format!("{script} {phase}: wgq: {b}"));
        }
        let n = |side: &Side, l: &[(String, String)], o: &Out| Out {
            code: o.code,
            stdout: sort_rows(&side.normalise(&o.stdout, l)),
            stderr: side.normalise(&o.stderr, l),
        };
        let (ro, mo) = (n(&real, &rl, &ro), n(&mine, &ml, &mo));
        let (rs, ms) = (canonical_state(&real.normalise(&rs, &rl)), canonical_state(&mine.normalise(&ms, &ml)));
        if ro.code != mo.code {
            problems.push(format!("{script} {phase}: script status: wireguard-tools {:?}, wgq {:?}", ro.code, mo.code));
        }
        if ro.stdout != mo.stdout {
            problems.push(format!("{script} {phase}: transcript differs:\n{}", diff(&ro.stdout, &mo.stdout)));
        }
        if ro.stderr != mo.stderr {
            problems.push(format!("{script} {phase}: stderr differs:\n{}", diff(&ro.stderr, &mo.stderr)));
        }
        if rs != ms {
            problems.push(format!("{script} {phase}: state differs:\n{}", diff(&rs, &ms)));
        }
        if std::env::var_os("WGQ_CALLERS_VERBOSE").is_some() {
            eprintln!("=== {script} {phase} (wgq)\n{}{}--- state\n{ms}", mo.stdout, mo.stderr);
        }
        if !problems.is_empty() && phase != "down" {
            // Later phases build on this one; show the logs and stop here.
            problems.push(format!(
                "wg-quick.log of wireguard-tools' side:\n{}\nwg-quick.log of wgq's side:\n{}",
                real.log(&rl),
                mine.log(&ml)
            ));
            break;
        }
    }
    problems
}

fn check(script: &str, letter: char) {
    let problems = run_caller(script, letter, None);
    assert!(problems.is_empty(), "{} differences:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn wg_easy() {
    ready!();
    check("wg-easy", 'e');
}

#[test]
fn angristan_wireguard_install() {
    ready!();
    check("angristan", 'a');
}

#[test]
fn nyr_wireguard_install() {
    ready!();
    check("nyr", 'n');
}

#[test]
fn pivpn() {
    ready!();
    check("pivpn", 'p');
}

#[test]
fn openwrt() {
    ready!();
    check("openwrt", 'o');
}

#[test]
fn upstream_unit() {
    ready!();
    check("unit", 'u');
}

#[test]
fn nixos() {
    ready!();
    check("nixos", 'x');
}

#[test]
fn one_liners() {
    ready!();
    check("oneliners", 'l');
}

/// The harness itself: a `wg` that swaps two dump columns and whose syncconf does nothing
/// (but succeeds) must be caught, in the transcript and in the state.
#[test]
fn harness_catches_a_broken_wg() {
    ready!();
    let shim = r#"#!/bin/bash
case "$1 ${3:-}" in
"show dump") "@WGQ@" wg "$@" | awk -F'\t' -v OFS='\t' 'NR > 1 { t = $3; $3 = $4; $4 = t } 1'; exit "${PIPESTATUS[0]}" ;;
"syncconf "*) exit 0 ;;
esac
exec -a wg "@WGQ@" "$@"
"#;
    let problems = run_caller("wg-easy", 'h', Some(shim));
    let text = problems.join("\n");
    assert!(text.contains("wg-easy up: transcript differs") && text.contains("endpoint=10.8.0.2/32"), "{text}");
    // With the dump right, the lost syncconf shows in the parsed dump.
    let shim = shim.replace(r#""show dump")"#, r#""show never")"#);
    let problems = run_caller("wg-easy", 'h', Some(&shim));
    let text = problems.join("\n");
    assert!(text.contains("wg-easy live: transcript differs") && text.contains("<laptop.pub>"), "{text}");
    // A `wg` that does its job but leaves a firewall rule behind: only the state shows it.
    let shim = r#"#!/bin/bash
"@WGQ@" wg "$@"; rc=$?
[ "$1" = syncconf ] && iptables -A INPUT -s 198.51.100.0/24 -j DROP
exit $rc
"#;
    let problems = run_caller("wg-easy", 'h', Some(shim));
    let text = problems.join("\n");
    assert!(!text.contains("transcript differs"), "{text}");
    assert!(text.contains("wg-easy live: state differs") && text.contains("+ -A INPUT -s 198.51.100.0/24 -j DROP"), "{text}");
}
