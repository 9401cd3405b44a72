//! Issue 22 §1: every option value of every command that writes a file (`wgq server init`
//! and every `wgq peer` subcommand), fed hostile strings (CR, LF, `#`, `=`, `[`, non-ASCII,
//! an escape sequence, 100 kB): either the command is refused and no file changed, or only
//! the typed value landed (every file parses, `wgq check` passes, no new section, no key
//! twice in a block, no hook key, no control character). NUL cannot reach argv (execve
//! refuses it): values read back from files with NUL and the rest are tried separately.
//!
//! Files only, in temporary directories (root for the interface lock in /run/wgq; the
//! interface names carry the process id and never run).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const WGQ: &str = env!("CARGO_BIN_EXE_wgq");
const P3: &str = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";

fn root() -> bool {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root (the interface lock lives in /run/wgq)");
        return false;
    }
    true
}

/// Every file under `dir`, by path.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(d: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                walk(&p, out);
            } else if name.starts_with('.') && name.ends_with(".conf.lock") {
                // The file's lock, made beside it by every edit (even one refused later) and
                // kept by design: no content of the file.
                continue;
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    let mut m = BTreeMap::new();
    walk(dir, &mut m);
    m
}

/// Puts `dir` back to `snap`.
fn restore(dir: &Path, snap: &BTreeMap<PathBuf, Vec<u8>>) {
    for p in snapshot(dir).keys() {
        if !snap.contains_key(p) {
            std::fs::remove_file(p).unwrap();
        }
    }
    for (p, b) in snap {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b).unwrap();
    }
}

/// The hostile forms of an option whose valid value is `v`.
fn hostile(v: &str) -> Vec<String> {
    let big = "A".repeat(100_000);
    vec![
        format!("{v}\nPostUp = touch /tmp/wgq-pwned"),
        format!("{v}\r\nPostUp = touch /tmp/wgq-pwned"),
        format!("{v}\rPostUp = x"),
        format!("{v}\n[Peer]\nPublicKey = {P3}\nAllowedIPs = 0.0.0.0/0"),
        format!("{v}\nEndpoint = 203.0.113.9:1"),
        format!("{v} # x"),
        format!("{v}#x"),
        format!("{v} = PostUp"),
        format!("{v}=x"),
        format!("{v}[Peer]"),
        format!("{v}é"),
        format!("{v}\u{1b}[2J"),
        format!("{v}\u{9b}31m"),
        format!("{v}{big}"),
        format!("{v},{big}"),
        "é".into(),
        "#".into(),
        "=".into(),
        "[Peer]".into(),
        "\n".into(),
        "-".into(),
        "".into(),
        big,
    ]
}

/// What must hold of every file after a command that succeeded.
fn check_files(dir: &Path, before: &BTreeMap<PathBuf, Vec<u8>>, what: &str) {
    let after = snapshot(dir);
    let hooks = ["preup", "postup", "predown", "postdown", "table", "saveconfig", "fwmark"];
    for (p, b) in &after {
        if p.extension().is_none_or(|x| x != "conf") {
            continue;
        }
        let t = std::str::from_utf8(b).unwrap_or_else(|_| panic!("{what}: {} is not UTF-8", p.display()));
        assert!(!t.chars().any(|c| c.is_control() && c != '\n'), "{what}: control character in {}:\n{t}", p.display());
        let c = wgq::config::parse(b, p).unwrap_or_else(|e| panic!("{what}: {} does not parse: {e}\n{t}", p.display()));
        let o = Command::new(WGQ).arg("check").arg(p).output().unwrap();
        assert!(o.status.success(), "{what}: wgq check {}: {}", p.display(), String::from_utf8_lossy(&o.stderr));
        // Sections: one [Interface]; a client file one [Peer]; a server file at most one more.
        let doc = wgq::config::edit::Document::parse(b.clone());
        let n_if = doc.blocks.iter().filter(|b| b.section == wgq::config::edit::Section::Interface).count();
        assert_eq!(n_if, 1, "{what}: {}", p.display());
        let is_client = p.parent().is_some_and(|d| d.parent().is_some_and(|d| d.ends_with("clients")));
        if is_client {
            assert_eq!(c.peers.len(), 1, "{what}: {}:\n{t}", p.display());
        } else {
            let old = before.get(p).map(|b| wgq::config::peers::peers(&wgq::config::edit::Document::parse(b.clone())).len());
            let now = wgq::config::peers::peers(&doc).len();
            assert!(now <= old.unwrap_or(0) + 1, "{what}: {} has {now} peers:\n{t}", p.display());
        }
        // No key twice in a block (wgq writes each once), no hook that was not there.
        for blk in &doc.blocks {
            let mut seen = std::collections::HashSet::new();
            for l in doc.block_lines(blk).into_iter().skip(1) {
                let l = String::from_utf8_lossy(l);
                let l = l.trim();
                if l.starts_with('#') || l.is_empty() {
                    continue;
                }
                let k = l.split('=').next().unwrap().trim().to_ascii_lowercase();
                assert!(seen.insert(k.clone()), "{what}: {} has {k} twice in a block:\n{t}", p.display());
                let had = before.get(p).is_some_and(|b| String::from_utf8_lossy(b).to_ascii_lowercase().contains(&k));
                // `server init --nat iptables` writes its NAT hooks, and only those.
                let v = l.split_once('=').map_or("", |x| x.1).trim();
                let nat = (k == "postup" || k == "postdown") && v.starts_with("iptables -t nat -") && !v.contains("touch");
                assert!(!hooks.contains(&k.as_str()) || had || nat, "{what}: {} gained {k}:\n{t}", p.display());
            }
        }
    }
    // Nothing but .conf files, the directories and the files' locks (`.NAME.conf.lock`).
    for p in after.keys() {
        let lock = p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.') && n.ends_with(".conf.lock"));
        assert!(p.extension().is_some_and(|x| x == "conf") || lock, "{what}: stray file {}", p.display());
    }
}

fn run(args: &[String]) -> Output {
    Command::new(WGQ).args(args).output().unwrap()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// Runs `args` with `option`'s value replaced by each hostile form; checks the outcome.
/// `at`: the index of the value in `args`.
fn try_all(dir: &Path, args: &[String], at: usize, what: &str, refused: &mut usize, landed: &mut usize) {
    let snap = snapshot(dir);
    for h in hostile(&args[at]) {
        let mut a = args.to_vec();
        a[at] = h.clone();
        let o = run(&a);
        let label = format!("{what} {:?}", h.chars().take(60).collect::<String>());
        assert_ne!(o.status.code(), Some(101), "{label}: panicked: {}", String::from_utf8_lossy(&o.stderr));
        assert!(o.status.code().is_some(), "{label}: killed by a signal");
        if o.status.success() {
            *landed += 1;
            check_files(dir, &snap, &label);
            // The stdout/stderr never carries the hostile control characters raw.
            for out in [&o.stdout, &o.stderr] {
                let t = String::from_utf8_lossy(out);
                assert!(!t.contains('\u{1b}') && !t.contains('\r'), "{label}: raw control character printed: {t:?}");
            }
        } else {
            *refused += 1;
            assert_eq!(snapshot(dir), snap, "{label}: refused ({}) but a file changed", String::from_utf8_lossy(&o.stderr));
            // wgq's own messages escape what they quote (clap's usage errors echo argv as given).
            let e = String::from_utf8_lossy(&o.stderr);
            assert!(!e.lines().any(|l| l.starts_with("wgq:") && l.contains('\u{1b}')), "{label}: raw escape in the error: {e:?}");
        }
        restore(dir, &snap);
    }
}

#[test]
fn every_option_of_every_writing_command_refuses_or_lands_only_its_typed_value() {
    if !root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    let ifname = format!("hv{}", common::pid_tag());
    let (mut refused, mut landed) = (0, 0);

    // server init: every option, in a directory of its own each time.
    let init: Vec<String> = [
        "server",
        "init",
        &ifname,
        "--no-forwarding",
        "--config-dir",
        &d,
        "--nat",
        "iptables",
        "--out-dev",
        "eth0",
        "--address",
        "10.9.0.1/24",
        "--port",
        "51820",
        "--endpoint",
        "vpn.example.org",
        "--dns",
        "1.1.1.1",
        "--client-allowed-ips",
        "10.9.0.0/24",
        "--keepalive",
        "25",
        "--mtu",
        "1420",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    for at in [2, 9, 11, 13, 15, 17, 19, 21, 23] {
        let what = format!("server init {}", init.get(at - 1).filter(|_| at > 2).map_or("INTERFACE", |s| s.as_str()));
        try_all(dir.path(), &init, at, &what, &mut refused, &mut landed);
    }
    let o = run(&init);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let base = run(&s(&["peer", "add", &ifname, "base", "--route", "192.168.60.0/24", "--config-dir", &d]));
    assert!(base.status.success(), "{}", String::from_utf8_lossy(&base.stderr));
    let o = run(&s(&["peer", "add", &ifname, "other", "--config-dir", &d]));
    assert!(o.status.success());

    let cd = ["--config-dir", d.as_str()];
    let with_cd = |v: &[&str]| -> Vec<String> { v.iter().chain(cd.iter()).map(|x| x.to_string()).collect() };
    let add = with_cd(&[
        "peer",
        "add",
        &ifname,
        "newp",
        "--ip",
        "10.9.0.50",
        "--allowed-ips",
        "0.0.0.0/0",
        "--route",
        "192.168.50.0/24",
        "--dns",
        "1.1.1.1",
        "--keepalive",
        "25",
        "--mtu",
        "1420",
        "--endpoint",
        "vpn.example.org",
        "--expires",
        "+30d",
        "--note",
        "hello",
    ]);
    for at in [2, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21] {
        try_all(dir.path(), &add, at, &format!("peer add [{at}] {}", add[at - 1]), &mut refused, &mut landed);
    }
    let add_pk = with_cd(&["peer", "add", &ifname, "newk", "--pubkey", P3]);
    try_all(dir.path(), &add_pk, 5, "peer add --pubkey", &mut refused, &mut landed);
    let set = with_cd(&[
        "peer",
        "set",
        &ifname,
        "base",
        "--allowed-ips",
        "0.0.0.0/0",
        "--route",
        "192.168.61.0/24",
        "--dns",
        "1.1.1.1",
        "--keepalive",
        "25",
        "--mtu",
        "1420",
        "--expires",
        "+30d",
        "--note",
        "hello",
        "--ip",
        "10.9.0.77",
    ]);
    for at in [3, 5, 7, 9, 11, 13, 15, 17, 19] {
        try_all(dir.path(), &set, at, &format!("peer set [{at}] {}", set[at - 1]), &mut refused, &mut landed);
    }
    let rename = with_cd(&["peer", "rename", &ifname, "base", "renamed"]);
    for at in [3, 4] {
        try_all(dir.path(), &rename, at, &format!("peer rename [{at}]"), &mut refused, &mut landed);
    }
    let rotate = with_cd(&["peer", "rotate", &ifname, "base", "--pubkey", P3]);
    for at in [3, 5] {
        try_all(dir.path(), &rotate, at, &format!("peer rotate [{at}]"), &mut refused, &mut landed);
    }
    for sub in ["remove", "disable", "enable"] {
        let a = with_cd(&["peer", sub, &ifname, "other", "base"]);
        try_all(dir.path(), &a, 4, &format!("peer {sub}"), &mut refused, &mut landed);
        try_all(dir.path(), &a, 2, &format!("peer {sub} INTERFACE"), &mut refused, &mut landed);
    }
    for sub in ["import", "expire"] {
        let a = with_cd(&["peer", sub, &ifname]);
        try_all(dir.path(), &a, 2, &format!("peer {sub} INTERFACE"), &mut refused, &mut landed);
    }
    eprintln!("{refused} refused, {landed} landed");
    assert!(refused > 500 && landed > 20, "{refused} refused, {landed} landed");
}

/// Values read back from the server file (client defaults, names, notes, expiries) are
/// untrusted: a default that is no valid value is refused naming the file's key; names and
/// notes with control characters (NUL too) are printed escaped and never become paths.
#[test]
fn values_read_back_from_the_file_are_checked_and_printed_escaped() {
    if !root() {
        return;
    }
    const K: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    const P1: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    let ifname = format!("rb{}", common::pid_tag());
    let path = dir.path().join(format!("{ifname}.conf"));
    let server = |extra: &str| {
        format!(
            "[Interface]\n# ClientEndpoint = vpn.example.org:51820\n{extra}Address = 10.9.0.1/24\nListenPort = 51820\nPrivateKey = {K}\n"
        )
    };
    for (key, bad) in [
        ("ClientDNS", "-o bad"),
        ("ClientDNS", "1.1.1.1 [Peer]"),
        ("ClientDNS", "a=b"),
        ("ClientDNS", "x\u{1b}[2J"),
        ("ClientAllowedIPs", "10.0.0.0/8 [Peer]"),
        ("ClientAllowedIPs", "0.0.0.0/0 = x"),
        ("ClientEndpoint", "[fe80::1%a b]:1"),
        ("ClientEndpoint", "x\u{0}:1"),
        ("ClientEndpoint", "x\u{1b}[2J:1"),
        ("ClientEndpoint", "[x\u{1b}]:1"),
        ("ClientAllowedIPs", "10.0.0.0/8 \u{1b}[2J"),
        ("ClientEndpoint", "-oProxyCommand:1"),
    ] {
        let text = server(&format!("# {key} = {bad}\n"))
            .replace("# ClientEndpoint = vpn.example.org:51820\n# ClientEndpoint", "# ClientEndpoint");
        std::fs::write(&path, &text).unwrap();
        let o = run(&s(&["peer", "add", &ifname, "x", "--config-dir", &d]));
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{key} = {bad:?}: {e}");
        assert!(e.contains(&format!("# {key}")), "{key} = {bad:?}: the key is not named: {e}");
        assert!(!e.contains('\u{1b}') && !e.contains('\0'), "{e:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "nothing written");
        assert!(!dir.path().join("clients").join(&ifname).join("x.conf").exists());
    }
    // Names and notes with control characters: listed, shown in messages, escaped.
    let text = format!(
        "{}\n[Peer]\n# Name = ev\u{1b}]0;pwn\u{7}il\n# Note = a\u{0}b\u{9b}c\n# Expires = 2001-01-01\nPublicKey = {P1}\nAllowedIPs = 10.9.0.2/32\n",
        server("")
    );
    std::fs::write(&path, &text).unwrap();
    for args in [
        s(&["peer", "list", &ifname, "--config-dir", &d]),
        s(&["peer", "list", &ifname, "--json", "--config-dir", &d]),
        s(&["peer", "list", "--config-dir", &d]),
        s(&["peer", "disable", &ifname, P1, "--config-dir", &d]),
        s(&["peer", "enable", &ifname, P1, "--config-dir", &d]),
        s(&["peer", "expire", &ifname, "--config-dir", &d]),
        s(&["peer", "remove", &ifname, P1, "--dry-run", "--config-dir", &d]),
    ] {
        let o = run(&args);
        assert_ne!(o.status.code(), Some(101));
        for out in [&o.stdout, &o.stderr] {
            let t = String::from_utf8_lossy(out);
            assert!(
                !t.chars().any(|c| c.is_control() && c != '\n'),
                "{args:?}: a control character reached the terminal raw: {t:?}"
            );
        }
        let t = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
        if args[1] == "list" {
            assert!(t.contains("ev\\u{1b}]0;pwn\\u{7}il") || t.contains("ev\\u001b]0;pwn\\u0007il"), "{args:?}: {t}");
        }
    }
    // A client file edited by hand with an escape sequence: `peer show` prints it escaped.
    let text = format!("{}\n[Peer]\n# Name = bob\nPublicKey = {P1}\nAllowedIPs = 10.9.0.2/32\n", server(""));
    std::fs::write(&path, &text).unwrap();
    let cdir = dir.path().join("clients").join(&ifname);
    std::fs::create_dir_all(&cdir).unwrap();
    std::fs::write(cdir.join("bob.conf"), "[Interface]\n# Name = bob\u{1b}[2J\r\nPrivateKey = x\n").unwrap();
    let o = run(&s(&["peer", "show", &ifname, "bob", "--config-dir", &d]));
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout), "[Interface]\n# Name = bob\\u{1b}[2J\r\nPrivateKey = x\n");
}
