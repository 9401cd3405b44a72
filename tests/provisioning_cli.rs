//! Issue 17 on files only (root for the interface lock in /run/wgq; no namespace, no
//! interface: the names carry the process id and never run): lossless edits of a hand-made
//! CRLF file, refused names write nothing, large and IPv6 pools, an exhausted pool, SaveConfig,
//! fifty `peer add` at once, `peer add` killed at random points, rename/set/rotate/expire,
//! import of other tools' markers, `wgq qr`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const WGQ: &str = env!("CARGO_BIN_EXE_wgq");
const K: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const P1: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
const P2: &str = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
const P3: &str = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";

fn root() -> bool {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root (the interface lock lives in /run/wgq)");
        return false;
    }
    true
}

/// A server file in its own temporary directory; the interface name carries `tag` and the pid.
struct Srv {
    dir: tempfile::TempDir,
    ifname: String,
}

impl Srv {
    fn new(tag: &str, text: &str) -> Srv {
        let dir = tempfile::tempdir().unwrap();
        let ifname = format!("{tag}{}", common::pid_tag());
        let s = Srv { dir, ifname };
        std::fs::write(s.path(), text).unwrap();
        s
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join(format!("{}.conf", self.ifname))
    }

    fn text(&self) -> String {
        std::fs::read_to_string(self.path()).unwrap()
    }

    fn wgq(&self, args: &[&str]) -> Output {
        Command::new(WGQ).args(args).arg("--config-dir").arg(self.dir.path()).output().unwrap()
    }

    fn peer(&self, sub: &str, rest: &[&str]) -> Output {
        let mut a = vec!["peer", sub, &self.ifname];
        a.extend_from_slice(rest);
        self.wgq(&a)
    }

    fn ok(&self, sub: &str, rest: &[&str]) -> String {
        let o = self.peer(sub, rest);
        assert!(o.status.success(), "peer {sub} {rest:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Runs a peer command that must succeed; what it said on stderr.
    fn said(&self, sub: &str, rest: &[&str]) -> String {
        let o = self.peer(sub, rest);
        assert!(o.status.success(), "peer {sub} {rest:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stderr).into_owned()
    }

    fn client(&self, name: &str) -> PathBuf {
        self.dir.path().join("clients").join(&self.ifname).join(format!("{name}.conf"))
    }
    fn peers(&self) -> Vec<wgq::config::peers::PeerEntry> {
        wgq::config::peers::peers(&wgq::config::edit::Document::parse(self.text().into_bytes()))
    }
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn server_text(address: &str) -> String {
    format!("[Interface]\n# ClientEndpoint = 192.0.2.1:51820\nAddress = {address}\nListenPort = 51820\nPrivateKey = {K}\n")
}

#[test]
fn every_byte_outside_the_touched_block_is_kept() {
    if !root() {
        return;
    }
    let hand = format!(
        "# My server, edited by hand.\r\n\r\n[Interface]\r\n# ClientEndpoint = vpn.example.org:51820\r\n\
         Address = 10.8.0.1/24\r\nListenPort = 51820\r\nPrivateKey = {K}   \r\n\r\n\r\n# --- friends ---\r\n\
         [Peer]\r\n# Name = old\r\nPublicKey = {P1}\r\nAllowedIPs = 10.8.0.2/32 # laptop\r\n\r\n  # trailing note\r\n"
    );
    let s = Srv::new("pc", &hand);
    s.ok("add", &["alice"]);
    let after_add = s.text();
    assert!(after_add.starts_with(&hand), "bytes before the new block changed");
    let block = &after_add[hand.len()..];
    assert!(block.starts_with("\r\n[Peer]\r\n# Name = alice\r\n# Created = "), "{block:?}");
    assert!(block.contains("AllowedIPs = 10.8.0.3/32\r\n") && !block.replace("\r\n", "").contains('\n'), "{block:?}");
    // Disable and enable: the exact inverse; only the block changes in between.
    s.ok("disable", &["alice"]);
    let disabled = s.text();
    assert!(disabled.starts_with(&hand) && disabled[hand.len()..].starts_with("\r\n#- [Peer]\r\n#- # Name = alice\r\n"));
    s.ok("enable", &["alice"]);
    assert_eq!(s.text(), after_add);
    // Rename and set touch only their lines; remove gives the hand-made file back.
    s.ok("rename", &["old", "bob"]);
    assert_eq!(s.text(), after_add.replace("# Name = old\r\n", "# Name = bob\r\n"));
    s.ok("set", &["bob", "--note", "the laptop", "--expires", "2031-01-01"]);
    assert_eq!(
        s.text(),
        after_add.replace("# Name = old\r\n", "# Name = bob\r\n# Expires = 2031-01-01T00:00:00Z\r\n# Note = the laptop\r\n")
    );
    s.ok("set", &["bob", "--note", "", "--expires", "never"]);
    s.ok("rename", &["bob", "old"]);
    assert_eq!(s.text(), after_add);
    s.ok("remove", &["alice"]);
    assert_eq!(s.text(), hand, "add then remove must give the file back byte for byte");
    assert!(!s.client("alice").exists());
    let check = Command::new(WGQ).arg("check").arg(s.path()).output().unwrap();
    assert!(check.status.success(), "{}", err(&check));
}

#[test]
fn names_that_could_inject_lines_are_refused_and_nothing_is_written() {
    if !root() {
        return;
    }
    let s = Srv::new("pn", &server_text("10.8.0.1/24"));
    let before = s.text();
    for bad in ["a\nb", "[Peer]", "a]", "a=b c", "with space", "abcdefghijklmnop", "x\r", "a#b", "", "é"] {
        let o = s.peer("add", &[bad]);
        assert!(!o.status.success(), "{bad:?} accepted");
        assert!(err(&o).contains("peer name") || err(&o).contains("error:"), "{bad:?}: {}", err(&o));
        assert_eq!(s.text(), before, "{bad:?} changed the file");
    }
    assert!(!s.dir.path().join("clients").exists(), "a refused name left a client file");
    // A note or an expiry must not add a line either.
    for args in [&["ok1", "--note", "x\nAllowedIPs = 0.0.0.0/0"][..], &["ok1", "--expires", "soon"]] {
        let o = s.peer("add", args);
        assert!(!o.status.success(), "{args:?}");
        assert_eq!(s.text(), before);
    }
    // Unique per interface, and not the interface's name.
    s.ok("add", &["dup"]);
    let once = s.text();
    assert!(err(&s.peer("add", &["dup"])).contains("already exists"));
    assert!(!s.peer("add", &[&s.ifname.clone()]).status.success());
    assert_eq!(s.text(), once);
}

#[test]
fn large_ipv6_and_exhausted_pools() {
    if !root() {
        return;
    }
    // A /16 with a thousand peers (and a disabled one in the middle): the next is past .3.
    let mut t = server_text("10.20.0.1/16, fd20::1/112");
    for i in 2..1002u32 {
        let k = Command::new(WGQ).arg("genkey").output().unwrap();
        let _ = k;
        let prefix = if i == 500 { "#- " } else { "" };
        t.push_str(&format!(
            "\n{prefix}[Peer]\n{prefix}PublicKey = {}\n{prefix}AllowedIPs = 10.20.{}.{}/32\n",
            fake_key(i),
            i / 256,
            i % 256
        ));
    }
    let s = Srv::new("pl", &t);
    s.ok("add", &["next"]);
    assert!(s.text().contains("AllowedIPs = 10.20.3.234/32, fd20::3ea/128"), "{}", &s.text()[s.text().len() - 300..]);
    // IPv6 only.
    let s = Srv::new("p6", &server_text("2001:db8:77::1/64"));
    s.ok("add", &["a"]);
    s.ok("add", &["b"]);
    assert!(s.text().contains("AllowedIPs = 2001:db8:77::3/128"));
    // Exhausted: a /30 has two hosts, the server's and one peer's.
    let s = Srv::new("px", &server_text("10.9.0.1/30"));
    s.ok("add", &["a"]);
    let before = s.text();
    let o = s.peer("add", &["b"]);
    assert!(!o.status.success());
    assert!(err(&o).contains("the address pool 10.9.0.0/30 is exhausted: all 2 of its host addresses are in use"), "{}", err(&o));
    assert_eq!(s.text(), before);
    // --ip: taken addresses are refused; a free one is used.
    assert!(err(&s.peer("add", &["c", "--ip", "10.9.0.2"])).contains("already in use"));
    s.ok("add", &["c", "--ip", "192.0.2.77"]);
    assert!(s.text().contains("AllowedIPs = 192.0.2.77/32"));
}

/// A valid, distinct public key for index `i` (any 32 bytes are a valid key).
fn fake_key(i: u32) -> String {
    let mut b = [0u8; 32];
    b[..4].copy_from_slice(&i.to_le_bytes());
    b[31] = 0x40;
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn save_config_is_refused_unless_forced() {
    if !root() {
        return;
    }
    let s = Srv::new("ps", &format!("{}SaveConfig = true\n", server_text("10.8.0.1/24")));
    let before = s.text();
    let o = s.peer("add", &["a"]);
    assert!(!o.status.success() && err(&o).contains("SaveConfig = true"), "{}", err(&o));
    assert_eq!(s.text(), before);
    s.ok("add", &["a", "--force"]);
    // A file with errors is refused with its own errors, by line, and left alone.
    let broken = format!("{}\n[Peer]\nPublicKey = {P1}\nPersistentKeepalive = 25s\n", server_text("10.8.0.1/24"));
    let s = Srv::new("pb", &broken);
    let o = s.peer("add", &["a"]);
    assert!(!o.status.success() && err(&o).contains(":9: PersistentKeepalive: `25s'"), "{}", err(&o));
    assert_eq!(s.text(), broken);
}

#[test]
fn fifty_concurrent_adds_get_fifty_addresses_and_nothing_is_lost() {
    if !root() {
        return;
    }
    let s = Srv::new("pp", &server_text("10.30.0.1/24, fd30::1/64"));
    let children: Vec<_> = (0..50)
        .map(|i| {
            Command::new(WGQ)
                .args(["peer", "add", &s.ifname, &format!("n{i}"), "--config-dir"])
                .arg(s.dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", err(&o));
    }
    let t = s.text();
    let doc = wgq::config::edit::Document::parse(t.clone().into_bytes());
    let peers = wgq::config::peers::peers(&doc);
    assert_eq!(peers.len(), 50, "lost peers");
    let mut addrs: Vec<String> = peers.iter().flat_map(|p| p.allowed_ips.iter().map(|a| a.to_string())).collect();
    addrs.sort();
    addrs.dedup();
    assert_eq!(addrs.len(), 100, "two peers got the same address");
    let mut names: Vec<_> = peers.iter().map(|p| p.name.clone().unwrap()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 50);
    assert_eq!(std::fs::read_dir(s.dir.path().join("clients").join(&s.ifname)).unwrap().count(), 50);
    assert!(wgq::config::parse(t.as_bytes(), &s.path()).is_ok());
}

#[test]
fn a_killed_add_leaves_the_old_file_or_the_new_one() {
    if !root() {
        return;
    }
    // A big file makes the write take a while.
    let mut t = server_text("10.40.0.1/16");
    for i in 2..3000u32 {
        t.push_str(&format!(
            "\n[Peer]\n# Name = p{i}\nPublicKey = {}\nAllowedIPs = 10.40.{}.{}/32\n",
            fake_key(i),
            i / 256,
            i % 256
        ));
    }
    let s = Srv::new("pk", &t);
    let mut delays = common::Delays::new();
    let mut seen_new = 0;
    for round in 0..25 {
        let before = s.text();
        let name = format!("k{round}");
        let mut c = Command::new(WGQ);
        c.args(["peer", "add", &s.ifname, &name, "--config-dir"]).arg(s.dir.path()).stdout(Stdio::null()).stderr(Stdio::null());
        let delay = delays.below(std::time::Duration::from_millis(60));
        let _ = common::signal_after(&mut c, delay, nix::sys::signal::Signal::SIGKILL);
        let now = s.text();
        if now == before {
            continue;
        }
        seen_new += 1;
        assert!(now.starts_with(&before), "round {round}: a mix of old and new");
        let doc = wgq::config::edit::Document::parse(now.clone().into_bytes());
        let peers = wgq::config::peers::peers(&doc);
        assert_eq!(peers.last().unwrap().name.as_deref(), Some(name.as_str()));
        assert!(wgq::config::parse(now.as_bytes(), &s.path()).is_ok());
    }
    // The next write removes what a killed one left.
    s.ok("add", &["last"]);
    let left: Vec<String> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    eprintln!("{seen_new} of 25 killed adds had written the new file");
}

#[test]
fn rotate_show_expire_and_qr() {
    if !root() {
        return;
    }
    let s = Srv::new("pr", &server_text("10.50.0.1/24"));
    s.ok("add", &["r1", "--expires", "2001-01-01"]);
    s.ok("add", &["r2", "--expires", "+30d", "--route", "192.0.2.128/25"]);
    let shown = s.ok("show", &["r1"]);
    assert!(shown.contains("PrivateKey = ") && shown.contains("Address = 10.50.0.2/32"));
    let old_key = wgq::config::peers::peers(&wgq::config::edit::Document::parse(s.text().into_bytes()))[0].public_key;
    s.ok("rotate", &["r1"]);
    let doc = wgq::config::edit::Document::parse(s.text().into_bytes());
    let p = &wgq::config::peers::peers(&doc)[0];
    assert_ne!(p.public_key, old_key);
    assert_eq!(p.allowed_ips[0].to_string(), "10.50.0.2/32", "same address");
    let shown2 = s.ok("show", &["r1"]);
    assert_ne!(shown, shown2);
    let priv_line = shown2.lines().find(|l| l.starts_with("PrivateKey = ")).unwrap();
    let sk = wgq::key::SecretKey::from_base64(priv_line.trim_start_matches("PrivateKey = ")).unwrap();
    assert_eq!(Some(sk.public_key()), p.public_key, "the client file holds the new key");
    // Routes behind a client can change; --route none drops them.
    s.ok("set", &["r2", "--route", "198.51.100.0/24"]);
    assert!(s.text().contains("AllowedIPs = 10.50.0.3/32, 198.51.100.0/24"));
    s.ok("set", &["r2", "--keepalive", "0", "--dns", "none"]);
    let c2 = std::fs::read_to_string(s.client("r2")).unwrap();
    assert!(!c2.contains("PersistentKeepalive") && !c2.contains("DNS"), "{c2}");
    // Expire: r1 (2001) is disabled, r2 (+30d) is not.
    let o = Command::new(WGQ).args(["peer", "expire", "--config-dir"]).arg(s.dir.path()).output().unwrap();
    assert!(o.status.success() && err(&o).contains("peer r1 expired"), "{}", err(&o));
    let doc = wgq::config::edit::Document::parse(s.text().into_bytes());
    let ps = wgq::config::peers::peers(&doc);
    assert!(ps[0].disabled && !ps[1].disabled);
    // The QR code of a client file, from a file and from stdin.
    let q = Command::new(WGQ).arg("qr").arg(s.client("r1")).output().unwrap();
    let q = String::from_utf8(q.stdout).unwrap();
    assert!(q.contains('\u{2580}') && q.lines().count() > 20, "{q}");
    let show_qr = s.ok("show", &["r1", "--qr"]);
    assert_eq!(show_qr, q);
    let _ = Path::new("");
}

#[test]
fn import_turns_other_tools_markers_into_names() {
    if !root() {
        return;
    }
    let t = format!(
        "{}\n### Client angr\n[Peer]\nPublicKey = {P1}\nAllowedIPs = 10.8.0.2/32\n\n\
         # BEGIN_PEER nyr\n[Peer]\nPublicKey = {P2}\nAllowedIPs = 10.8.0.3/32\n# END_PEER nyr\n\n\
         ### begin piv ###\n#[disabled] [Peer]\n#[disabled] PublicKey = {}\n#[disabled] AllowedIPs = 10.8.0.4/32\n### end piv ###\n\n\
         # Client: easy (a1b2)\n[Peer]\nPublicKey = {}\nAllowedIPs = 10.8.0.5/32\n",
        server_text("10.8.0.1/24"),
        fake_key(4),
        fake_key(5)
    );
    let s = Srv::new("pi", &t);
    let dry = s.ok("import", &["--dry-run"]);
    assert!(dry.contains("+") && s.text() == t, "dry run changed the file");
    s.ok("import", &[]);
    let doc = wgq::config::edit::Document::parse(s.text().into_bytes());
    let ps = wgq::config::peers::peers(&doc);
    let names: Vec<_> = ps.iter().map(|p| (p.name.clone().unwrap_or_default(), p.disabled)).collect();
    assert_eq!(
        names,
        [("angr".into(), false), ("nyr".into(), false), ("piv".into(), true), ("easy".into(), false)],
        "{}",
        s.text()
    );
    assert!(!s.text().contains("### Client") && !s.text().contains("BEGIN_PEER") && !s.text().contains("#[disabled]"));
    assert!(wgq::config::parse(s.text().as_bytes(), &s.path()).is_ok());
    // Now they are ours: remove and enable work by name.
    s.ok("enable", &["piv"]);
    s.ok("remove", &["nyr"]);
    // Importing again changes nothing.
    let before = s.text();
    s.ok("import", &[]);
    assert_eq!(s.text(), before);
}

#[test]
fn dry_run_shows_the_diff_without_keys_and_no_store_keeps_nothing() {
    if !root() {
        return;
    }
    let s = Srv::new("pd", &server_text("10.60.0.1/24"));
    let before = s.text();
    let out = s.ok("add", &["dry", "--dry-run", "--route", "198.51.100.0/24"]);
    assert_eq!(s.text(), before, "a dry run wrote the file");
    assert!(!s.dir.path().join("clients").exists());
    assert!(out.contains("+     7 [Peer]") && out.contains("PresharedKey = (hidden)"), "{out}");
    assert!(out.contains("AllowedIPs = 10.60.0.2/32, 198.51.100.0/24"), "{out}");
    assert!(out.contains("is not running: the file only"), "{out}");
    for l in out.lines() {
        let long_b64 = l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/')).any(|w| w.len() >= 40);
        assert!(!long_b64 || l.contains("PublicKey"), "key material in the dry run: {l}");
    }
    // --no-store: the client file is printed once and kept nowhere.
    let printed = s.ok("add", &["once", "--no-store"]);
    assert!(printed.starts_with("[Interface]\n# Name = once\nPrivateKey = "), "{printed}");
    assert!(!s.client("once").exists());
    assert!(err(&s.peer("show", &["once"])).contains("no client file"));
}

/// A peer's name read back from the file (written by hand or by another tool) never
/// becomes a path outside the clients directory: rotate and remove leave the file it would
/// name alone (the peer has no client file).
#[test]
fn a_stored_name_never_becomes_a_path() {
    if !root() {
        return;
    }
    let s = Srv::new("pt", &server_text("10.44.0.1/24"));
    let victim = s.dir.path().join("victim.conf");
    std::fs::write(&victim, "keep me\n").unwrap();
    // The clients directory exists (any earlier `peer add` makes it): `..` resolves.
    std::fs::create_dir_all(s.client("any").parent().unwrap()).unwrap();
    let block = format!("\n[Peer]\n# Name = ../../victim\nPublicKey = {P1}\nAllowedIPs = 10.44.0.2/32\n");
    std::fs::write(s.path(), server_text("10.44.0.1/24") + &block).unwrap();
    let o = s.peer("rotate", &[P1, "--no-apply"]);
    assert!(o.status.success() && err(&o).contains("no client file is kept"), "{}", err(&o));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n", "rotate wrote outside the clients directory");
    s.ok("remove", &["../../victim", "--no-apply"]);
    assert_eq!(s.text(), server_text("10.44.0.1/24"));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
}

/// The server file cannot be written (its directory read-only, the clients' writable): the
/// client file a rotate rewrote is put back as it was, and the server file is unchanged.
#[test]
fn a_failed_server_write_puts_the_client_files_back() {
    if !root() || !common::ready(&["unshare", "mount"]) {
        return;
    }
    let s = Srv::new("pw", &server_text("10.45.0.1/24"));
    s.ok("add", &["alice"]);
    let (server, client) = (s.text(), std::fs::read(s.client("alice")).unwrap());
    let d = s.dir.path().display().to_string();
    let c = format!("{d}/clients");
    // In a mount namespace of its own: clients/ stays writable, the rest is read-only.
    let o = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount --bind {c} {c} && mount --rbind {d} {d} && mount -o remount,ro,bind {d} && \
             exec \"$0\" peer rotate {} alice --no-apply --config-dir {d}",
            s.ifname
        ))
        .arg(WGQ)
        .output()
        .unwrap();
    assert!(!o.status.success(), "rotate wrote a read-only directory: {}", err(&o));
    assert!(err(&o).contains("Could not write"), "{}", err(&o));
    assert_eq!(s.text(), server);
    assert_eq!(std::fs::read(s.client("alice")).unwrap(), client, "the client file was not put back");
}

/// `wgq qr` reads at most what a QR code holds: more is refused with the limit named and
/// status 1, an endless file or standard input included, before any encoding.
#[test]
fn qr_refuses_more_than_a_code_holds_and_never_reads_without_end() {
    let d = tempfile::tempdir().unwrap();
    let big = d.path().join("big.conf");
    std::fs::write(&big, "a".repeat(3000)).unwrap();
    let run = |args: &[&str], stdin: Stdio| {
        let mut c = Command::new(WGQ).args(args).stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let t = std::time::Instant::now();
        while c.try_wait().unwrap().is_none() {
            if t.elapsed() > std::time::Duration::from_secs(10) {
                let _ = c.kill();
                panic!("wgq {args:?} still reading after 10 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        c.wait_with_output().unwrap()
    };
    for (args, stdin) in [
        (vec!["qr", big.to_str().unwrap()], Stdio::null()),
        (vec!["qr", "/dev/zero"], Stdio::null()),
        (vec!["qr"], Stdio::from(std::fs::File::open("/dev/zero").unwrap())),
        (vec!["qr", "-"], Stdio::from(std::fs::File::open(&big).unwrap())),
    ] {
        let o = run(&args, stdin);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("too many for a QR code (2,953 at most)"), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    std::fs::write(&big, "a".repeat(2953)).unwrap();
    let o = run(&["qr", big.to_str().unwrap()], Stdio::null());
    assert!(o.status.success() && !o.stdout.is_empty(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Issue 22 §3: a server file and a client file that are symbolic links (to a managed
/// store) stay links; edits replace their targets; `peer list` and `peer expire` without
/// an interface see the linked server file; a dangling link is skipped with a warning.
#[test]
fn symlinked_files_stay_links_and_are_listed_and_expired() {
    use std::os::unix::fs::symlink;
    if !root() {
        return;
    }
    let s = Srv::new("ps", &server_text("10.60.0.1/24"));
    let store = tempfile::tempdir().unwrap();
    let real = store.path().join("server-real.conf");
    std::fs::rename(s.path(), &real).unwrap();
    symlink(&real, s.path()).unwrap();
    let is_link = |p: &Path| std::fs::symlink_metadata(p).unwrap().file_type().is_symlink();
    s.ok("add", &["alice", "--expires", "2001-01-01"]);
    assert!(is_link(&s.path()), "the server file was replaced by a regular file");
    assert!(std::fs::read_to_string(&real).unwrap().contains("# Name = alice"), "the link's target was not updated");
    // The client file, moved into the store and linked: a rotation rewrites the target.
    let client_real = store.path().join("alice-client.conf");
    std::fs::rename(s.client("alice"), &client_real).unwrap();
    symlink(&client_real, s.client("alice")).unwrap();
    let before = std::fs::read_to_string(&client_real).unwrap();
    s.ok("rotate", &["alice"]);
    assert!(is_link(&s.client("alice")), "the client file was replaced by a regular file");
    let after = std::fs::read_to_string(&client_real).unwrap();
    assert_ne!(before, after, "the client file's target was not rewritten");
    // Nothing but the target changed in the store: no temporary file left beside it.
    let mut in_store: Vec<String> =
        std::fs::read_dir(store.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    in_store.sort();
    assert_eq!(in_store, [".server-real.conf.lock", "alice-client.conf", "server-real.conf"]);
    // A dangling link and a link to a directory beside it: skipped, the first with a warning.
    symlink(store.path().join("gone.conf"), s.dir.path().join("wgdangle0.conf")).unwrap();
    symlink(store.path(), s.dir.path().join("wgdir0.conf")).unwrap();
    let o = Command::new(WGQ).args(["peer", "list", "--config-dir"]).arg(s.dir.path()).output().unwrap();
    assert!(o.status.success(), "{}", err(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("alice"), "peer list without an interface skipped the linked file: {out}");
    assert!(err(&o).contains("wgdangle0.conf: skipped"), "{}", err(&o));
    let o = Command::new(WGQ).args(["peer", "expire", "--config-dir"]).arg(s.dir.path()).output().unwrap();
    assert!(o.status.success() && err(&o).contains("peer alice expired"), "{}", err(&o));
    assert!(is_link(&s.path()));
    let doc = wgq::config::edit::Document::parse(std::fs::read(&real).unwrap());
    assert!(wgq::config::peers::peers(&doc)[0].disabled, "the linked file's expired peer was not disabled");
    // Removing the peer removes its client file: the target in the store, and the link.
    s.ok("remove", &["alice"]);
    assert!(!client_real.exists() && std::fs::symlink_metadata(s.client("alice")).is_err());
    assert!(is_link(&s.path()));
}

/// Issue 22 §4: `server init` of one name started eight times at once: one writes the
/// file, the others find it (under the file's lock) and are refused; the file is the
/// winner's, whole.
#[test]
fn concurrent_server_inits_of_one_name_write_once() {
    if !root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ifname = format!("pi{}", common::pid_tag());
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(WGQ)
                .args(["server", "init", &ifname, "--address", "10.65.0.1/24", "--endpoint", "192.0.2.1", "--no-forwarding"])
                .args(["--no-nat", "--config-dir"])
                .arg(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let won: Vec<&Output> = outs.iter().filter(|o| o.status.success()).collect();
    assert_eq!(won.len(), 1, "{} inits wrote the file: {:?}", won.len(), outs.iter().map(err).collect::<Vec<_>>());
    for o in outs.iter().filter(|o| !o.status.success()) {
        assert!(err(o).contains("exists"), "{}", err(o));
    }
    let t = std::fs::read_to_string(dir.path().join(format!("{ifname}.conf"))).unwrap();
    assert!(wgq::config::parse(t.as_bytes(), Path::new("x.conf")).is_ok());
}

#[test]
fn p2p_opt_in_is_one_comment_line_of_the_block() {
    if !root() {
        return;
    }
    let s = Srv::new("pm", &server_text("10.8.0.1/24"));
    s.ok("add", &["alice", "--p2p"]);
    s.ok("add", &["bob"]);
    let added = s.text();
    let alice = &added[added.find("# Name = alice").unwrap()..added.find("# Name = bob").unwrap()];
    assert!(alice.contains("\n# P2P = true\nPublicKey = "), "{alice}");
    assert_eq!(added.matches("P2P").count(), 1, "{added}");
    // In and out again: only that line comes and goes.
    s.ok("set", &["bob", "--p2p"]);
    let bob_in = s.text();
    assert_eq!(bob_in.matches("# P2P = true\n").count(), 2, "{bob_in}");
    s.ok("set", &["bob", "--no-p2p"]);
    assert_eq!(s.text(), added);
    s.ok("set", &["alice", "--no-p2p"]);
    assert_eq!(s.text(), added.replacen("# P2P = true\n", "", 1));
    // Both at once is a usage error.
    let o = s.peer("set", &["alice", "--p2p", "--no-p2p"]);
    assert!(!o.status.success());
    let check = Command::new(WGQ).arg("check").arg(s.path()).output().unwrap();
    assert!(check.status.success(), "{}", err(&check));
}

/// Review 1, H1: `..` (and `.`) passed wg-quick's name rule, so `server init ..` wrote
/// `DIR/...conf` with the clients directory `DIR/clients/..` = `DIR`: `peer add .. wg0`
/// replaced the server file `DIR/wg0.conf` with a client file. Both names are refused as
/// INTERFACE (every command), as a peer name and as `--out-dev`; nothing is written.
#[test]
fn an_interface_named_dot_dot_never_puts_client_files_outside_clients_if() {
    if !root() {
        return;
    }
    let s = Srv::new("rv", &server_text("10.61.0.1/24"));
    let before = std::fs::read(s.path()).unwrap();
    // A hand-written server file of the interface `..` (and of `.`).
    std::fs::write(s.dir.path().join("...conf"), server_text("10.62.0.1/24")).unwrap();
    std::fs::write(s.dir.path().join("..conf"), server_text("10.63.0.1/24")).unwrap();
    for bad in ["..", "."] {
        let o = s.wgq(&["peer", "add", bad, &s.ifname]);
        assert_eq!(o.status.code(), Some(1), "peer add {bad}: {}", err(&o));
        let o = s.wgq(&["peer", "add", bad, "alice"]);
        assert_eq!(o.status.code(), Some(1), "peer add {bad}: {}", err(&o));
        for sub in ["list", "show"] {
            let o = s.wgq(&["peer", sub, bad, "alice"]);
            assert_ne!(o.status.code(), Some(0), "peer {sub} {bad}: {}", err(&o));
        }
        // A peer named `..` of a real interface.
        let o = s.peer("add", &[bad]);
        assert_eq!(o.status.code(), Some(1), "peer add {} {bad}: {}", s.ifname, err(&o));
    }
    assert_eq!(std::fs::read(s.path()).unwrap(), before, "{} was replaced", s.path().display());
    assert!(!s.dir.path().join("alice.conf").exists() && !s.dir.path().join("clients").exists());
    // `up ..`/`down ..` name no file either (the path `..` is no `IF.conf`).
    for cmd in ["up", "down"] {
        let o = Command::new(WGQ).args([cmd, ".."]).current_dir(s.dir.path()).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{cmd} ..: {}", err(&o));
    }
    for path in ["./...conf", "./..conf"] {
        let o = Command::new(WGQ).args(["up", path]).current_dir(s.dir.path()).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "up {path}: {}", err(&o));
        assert!(err(&o).contains("valid interface name"), "up {path}: {}", err(&o));
    }
    // `server init ..`, and `--out-dev ..` (nft `oifname ".."`).
    let d2 = tempfile::tempdir().unwrap();
    for bad in ["..", "."] {
        let o = Command::new(WGQ)
            .args(["server", "init", bad, "--no-forwarding", "--no-nat", "--endpoint", "192.0.2.1", "--config-dir"])
            .arg(d2.path())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "server init {bad}: {}", err(&o));
        assert!(err(&o).contains("not `.' or `..'"), "{}", err(&o));
        let o = Command::new(WGQ)
            .args(["server", "init", &format!("ro{}", common::pid_tag()), "--no-forwarding", "--out-dev", bad])
            .args(["--nat", "nft", "--endpoint", "192.0.2.1", "--config-dir"])
            .arg(d2.path())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "--out-dev {bad}: {}", err(&o));
        assert!(err(&o).contains("--out-dev"), "{}", err(&o));
    }
    assert_eq!(std::fs::read_dir(d2.path()).unwrap().count(), 0, "a refused init wrote something");
}

/// Runs `wgq ARGS --config-dir DIR` and gives its status, or `None` (it is then killed,
/// by its pid) when it has not ended within 15 s.
fn run_bounded(args: &[&str], dir: &Path) -> Option<std::process::ExitStatus> {
    let mut child =
        Command::new(WGQ).args(args).arg("--config-dir").arg(dir).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let start = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        if start.elapsed() > std::time::Duration::from_secs(15) {
            // SIGTERM is blocked during an edit: SIGKILL.
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Review 1, M1: a FIFO named like a leftover temporary file beside the file
/// (`.NAME.conf.PID-RANDOM.tmp`: anyone who can write that directory) hung every later edit
/// for ever in open(2), holding the file's lock with SIGINT/SIGTERM/SIGHUP blocked. It is
/// skipped now (and left alone); a FIFO at the lock file's name makes the edit fail at once.
#[test]
fn a_fifo_among_the_temporary_files_never_hangs_an_edit() {
    if !root() {
        return;
    }
    let s = Srv::new("rf", &server_text("10.63.0.1/24"));
    let fifo = s.dir.path().join(format!(".{}.conf.4242-abcdef.tmp", s.ifname));
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let status = run_bounded(&["peer", "add", &s.ifname, "alice", "--pubkey", P1], s.dir.path());
    assert!(status.is_some(), "peer add hung on the FIFO {}", fifo.display());
    assert!(status.unwrap().success());
    assert!(s.text().contains(P1));
    assert!(std::fs::symlink_metadata(&fifo).is_ok(), "the FIFO is not ours to remove");
    // A FIFO where the lock file goes: refused at once, nothing written.
    let lock = s.dir.path().join(format!(".{}.conf.lock", s.ifname));
    std::fs::remove_file(&lock).unwrap();
    nix::unistd::mkfifo(&lock, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let before = s.text();
    let status = run_bounded(&["peer", "add", &s.ifname, "bob", "--pubkey", P2], s.dir.path());
    assert!(status.is_some(), "peer add hung on the FIFO {}", lock.display());
    assert_eq!(status.unwrap().code(), Some(1));
    assert_eq!(s.text(), before);
}

/// Review 1, M2: `peer remove NAME` said removed while a second block with that name and
/// key (a copy the admin pasted; `wgq check` only warns) kept the key allowed. Every command
/// that selects one peer refuses a name or key more than one block carries, naming the
/// lines of the blocks, and writes nothing; so does a name one block carries that is another
/// block's key.
#[test]
fn a_name_or_key_two_blocks_carry_is_refused_naming_both_lines() {
    if !root() {
        return;
    }
    let block = format!("\n[Peer]\n# Name = alice\nPublicKey = {P1}\nAllowedIPs = 10.64.0.2/32\n");
    let s = Srv::new("rd", &format!("{}{block}{block}", server_text("10.64.0.1/24")));
    let before = s.text();
    let cases: [&[&str]; 8] = [
        &["remove", "alice"],
        &["remove", P1],
        &["disable", "alice"],
        &["enable", "alice"],
        &["rotate", "alice"],
        &["set", "alice", "--note", "x"],
        &["rename", "alice", "carol"],
        &["show", "alice"],
    ];
    for args in cases {
        let o = s.peer(args[0], &args[1..]);
        assert_eq!(o.status.code(), Some(1), "peer {args:?}: {}", err(&o));
        assert!(err(&o).contains("lines 7, 12"), "peer {args:?}: {}", err(&o));
        assert_eq!(s.text(), before, "peer {args:?} wrote");
    }
    // One block named after another block's key.
    let t = format!(
        "{}\n[Peer]\n# Name = bob\nPublicKey = {P1}\nAllowedIPs = 10.64.0.2/32\n\n[Peer]\n# Name = {P1}\nPublicKey = {P2}\nAllowedIPs = 10.64.0.3/32\n",
        server_text("10.64.0.1/24")
    );
    std::fs::write(s.path(), &t).unwrap();
    let o = s.peer("remove", &[P1]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("lines 7, 12"), "{}", err(&o));
    assert_eq!(s.text(), t);
    // Without the copy, the same command works.
    std::fs::write(s.path(), format!("{}{block}", server_text("10.64.0.1/24"))).unwrap();
    s.ok("remove", &["alice"]);
    assert!(!s.text().contains(P1));
}

/// Review 1, L2: `WGQ_LOCK_WAIT=1s` (or `2m`) silently meant the default 30 s. A value that
/// is no whole number of seconds from 0 to 3600 is refused, naming the variable, before
/// anything is done (no lock file, no edit).
#[test]
fn a_lock_wait_that_does_not_parse_is_refused_before_anything() {
    if !root() {
        return;
    }
    let s = Srv::new("rw", &server_text("10.66.0.1/24"));
    let before = s.text();
    for bad in ["1s", "2m", "-1", "3601", "x"] {
        let o = Command::new(WGQ)
            .args(["peer", "add", &s.ifname, "alice", "--pubkey", P1, "--config-dir"])
            .arg(s.dir.path())
            .env("WGQ_LOCK_WAIT", bad)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "WGQ_LOCK_WAIT={bad}: {}", err(&o));
        assert!(err(&o).contains("WGQ_LOCK_WAIT"), "{}", err(&o));
        assert_eq!(s.text(), before);
        assert_eq!(std::fs::read_dir(s.dir.path()).unwrap().count(), 1, "WGQ_LOCK_WAIT={bad} made a file");
    }
    let o = Command::new(WGQ)
        .args(["peer", "add", &s.ifname, "alice", "--pubkey", P1, "--config-dir"])
        .arg(s.dir.path())
        .env("WGQ_LOCK_WAIT", "5")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", err(&o));
}

/// Review 1, L3: `server init` wrote the server file before the forwarding drop-in, so a
/// drop-in that cannot be written (`--sysctl-dir /proc/sys/nope`) left the file and a retry
/// was refused as `exists'. The drop-in goes first: the failure leaves no server file.
#[test]
fn a_failed_forwarding_drop_in_leaves_no_server_file() {
    if !root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ifname = format!("rs{}", common::pid_tag());
    let init = |extra: &[&str]| {
        Command::new(WGQ)
            .args(["server", "init", &ifname, "--no-nat", "--endpoint", "192.0.2.1"])
            .args(extra)
            .arg("--config-dir")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let o = init(&["--sysctl-dir", "/proc/sys/nope"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("/proc/sys/nope"), "{}", err(&o));
    assert!(!dir.path().join(format!("{ifname}.conf")).exists(), "the server file was written: {}", err(&o));
    let o = init(&["--no-forwarding"]);
    assert!(o.status.success(), "the retry: {}", err(&o));
}

/// Review 1, L4: port 0 was accepted in `--endpoint host:0` and `# ClientEndpoint = host:0`:
/// the client file was useless. Both are refused; nothing is written.
#[test]
fn an_endpoint_with_port_0_is_refused() {
    if !root() {
        return;
    }
    let s = Srv::new("rp", &server_text("10.67.0.1/24").replace("192.0.2.1:51820", "192.0.2.1:0"));
    let before = s.text();
    let o = s.peer("add", &["alice"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("ClientEndpoint") && err(&o).contains("port 0"), "{}", err(&o));
    for e in ["192.0.2.1:0", "vpn.example.org:0", "[2001:db8::1]:0"] {
        let o = s.peer("add", &["alice", "--endpoint", e]);
        assert_eq!(o.status.code(), Some(1), "--endpoint {e}: {}", err(&o));
        assert!(err(&o).contains("port 0"), "{}", err(&o));
    }
    assert_eq!(s.text(), before);
    assert!(!s.dir.path().join("clients").exists());
    let o = s.peer("add", &["alice", "--endpoint", "192.0.2.1:51820"]);
    assert!(o.status.success(), "{}", err(&o));
}

/// Review 1, L6: an admin's comment inside a disabled block (`# kept for audit` after
/// `#- # Name = bob`) split it: `peer remove bob` removed only the head, leaving bob's
/// `#- PublicKey` lines and freeing his address. The `#-` lines after such a comment still
/// belong to the block.
#[test]
fn a_comment_inside_a_disabled_block_keeps_it_whole() {
    if !root() {
        return;
    }
    let head = server_text("10.68.0.1/24");
    let bob = format!("\n#- [Peer]\n#- # Name = bob\n# kept for audit\n#- PublicKey = {P1}\n#- AllowedIPs = 10.68.0.2/32\n");
    let s = Srv::new("rc", &format!("{head}{bob}"));
    s.ok("enable", &["bob"]);
    let t = s.text();
    assert!(t.contains(&format!("# kept for audit\nPublicKey = {P1}\nAllowedIPs = 10.68.0.2/32")), "{t}");
    std::fs::write(s.path(), format!("{head}{bob}")).unwrap();
    s.ok("remove", &["bob"]);
    let t = s.text();
    assert!(!t.contains(P1) && !t.contains("#-") && !t.contains("10.68.0.2"), "{t}");
}

/// Review 1, L7: `peer rename` of a peer whose client file is a link into the admin's store
/// wrote a regular file in clients/IF/ and deleted the link and its target. Now the new file
/// goes beside the old target (`STORE/NEW.conf`), `clients/IF/NEW.conf` links to it (the
/// old link's relative or absolute form), and the old link and target go; a file of the new
/// name already in the store refuses the rename, nothing changed.
#[test]
fn rename_of_a_linked_client_file_keeps_it_a_link_into_the_store() {
    if !root() {
        return;
    }
    use std::os::unix::fs::symlink;
    let s = Srv::new("rl", &server_text("10.69.0.1/24"));
    s.ok("add", &["alice"]);
    let store = tempfile::tempdir().unwrap();
    let real = store.path().join("alice.conf");
    std::fs::rename(s.client("alice"), &real).unwrap();
    symlink(&real, s.client("alice")).unwrap();
    let is_link = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
    // The new name taken in the store: refused.
    std::fs::write(store.path().join("dave.conf"), "not ours").unwrap();
    let before = s.text();
    let o = s.peer("rename", &["alice", "dave"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("dave.conf"), "{}", err(&o));
    assert_eq!(s.text(), before);
    assert_eq!(std::fs::read_to_string(store.path().join("dave.conf")).unwrap(), "not ours");
    assert!(is_link(&s.client("alice")) && real.exists() && !s.client("dave").exists());
    s.ok("rename", &["alice", "carol"]);
    let new_real = store.path().join("carol.conf");
    assert!(is_link(&s.client("carol")), "clients/IF/carol.conf is no link");
    assert_eq!(std::fs::read_link(s.client("carol")).unwrap(), new_real);
    let t = std::fs::read_to_string(&new_real).unwrap();
    assert!(t.contains("# Name = carol") && t.contains("PrivateKey"), "{t}");
    assert!(std::fs::symlink_metadata(s.client("alice")).is_err() && !real.exists());
    assert!(s.text().contains("# Name = carol"));
}

// Issue 22 §2 and §6: no input panics the block editor or a value parser; `peer set --route`
// keeps the peer's own addresses; `peer rotate --pubkey` leaves no stale private key; `peer
// import` keeps what PiVPN disabled; an `# Expires` that is no date is reported.

#[test]
fn a_peer_named_twice_by_name_and_by_key_is_one_selection() {
    if !root() {
        return;
    }
    let s = Srv::new("sel", &server_text("10.40.0.1/24"));
    s.ok("add", &["alice", "--pubkey", P1]);
    s.ok("add", &["bob", "--pubkey", P2]);
    for sub in ["disable", "enable", "remove"] {
        let o = s.peer(sub, &["alice", P1, "alice"]);
        assert_ne!(o.status.code(), Some(101), "peer {sub} panicked: {}", err(&o));
        assert!(o.status.success(), "peer {sub}: {}", err(&o));
        assert_eq!(err(&o).matches("peer alice").count(), 1, "{}", err(&o));
    }
    let ps = s.peers();
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].name.as_deref(), Some("bob"));
    assert!(wgq::config::parse(s.text().as_bytes(), &s.path()).is_ok());
}

#[test]
fn non_ascii_expiry_values_are_refused_without_a_panic() {
    if !root() {
        return;
    }
    let s = Srv::new("exp", &server_text("10.41.0.1/24"));
    s.ok("add", &["alice"]);
    let before = s.text();
    for v in ["+1é", "+é", "é", "+30dé", "+\u{1F600}", "2027-01-0é", "2027-01-01T00:00:0é", "+", "+99999999999999999999d"] {
        for (sub, rest) in [("add", vec!["bob", "--expires", v]), ("set", vec!["alice", "--expires", v])] {
            let o = s.peer(sub, &rest);
            assert_eq!(o.status.code(), Some(1), "peer {sub} --expires {v:?}: {}", err(&o));
            assert!(err(&o).contains("--expires"), "{}", err(&o));
        }
    }
    assert_eq!(s.text(), before);
}

#[test]
fn set_route_keeps_an_address_outside_the_pool() {
    if !root() {
        return;
    }
    let s = Srv::new("rt", &server_text("10.42.0.1/24"));
    s.ok("add", &["out", "--ip", "10.99.0.7", "--route", "192.168.70.0/24"]);
    assert!(s.text().contains("AllowedIPs = 10.99.0.7/32, 192.168.70.0/24"), "{}", s.text());
    s.ok("set", &["out", "--route", "192.168.71.0/24"]);
    assert!(s.text().contains("AllowedIPs = 10.99.0.7/32, 192.168.71.0/24"), "{}", s.text());
    s.ok("set", &["out", "--route", "none"]);
    assert!(s.text().contains("AllowedIPs = 10.99.0.7/32\n"), "{}", s.text());
    // In the pool, with a v6 pool too, as before.
    let s = Srv::new("rt6", &server_text("10.43.0.1/24, fd00:43::1/64"));
    s.ok("add", &["in", "--route", "192.168.72.0/24"]);
    s.ok("set", &["in", "--route", "192.168.73.0/24,192.168.74.0/24"]);
    assert!(s.text().contains("AllowedIPs = 10.43.0.2/32, fd00:43::2/128, 192.168.73.0/24, 192.168.74.0/24"), "{}", s.text());
}

#[test]
fn rotate_with_pubkey_leaves_no_stale_private_key() {
    if !root() {
        return;
    }
    let s = Srv::new("rot", &server_text("10.44.0.1/24"));
    s.ok("add", &["alice"]);
    let old = std::fs::read_to_string(s.client("alice")).unwrap();
    assert!(old.lines().any(|l| l.starts_with("PrivateKey = ")));
    let said = s.said("rotate", &["alice", "--pubkey", P3]);
    assert!(said.contains("client file"), "{said}");
    let new = std::fs::read_to_string(s.client("alice")).unwrap();
    assert!(!new.lines().any(|l| l.starts_with("PrivateKey")), "the old private key is still there:\n{new}");
    assert!(new.contains("# PrivateKey = (the client's own key"), "{new}");
    // The rest is the client's, with the new PresharedKey of the server's block.
    let p = &s.peers()[0];
    assert_eq!(p.public_key.unwrap().to_base64(), P3);
    let psk = p.preshared_key.as_ref().unwrap().to_base64();
    assert!(new.contains(&format!("PresharedKey = {psk}")), "{new}");
    assert!(new.contains("Address = 10.44.0.2/32"));
    // From now on the client holds its own key: a rotation needs --pubkey.
    let o = s.peer("rotate", &["alice"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("--pubkey"));
}

#[test]
fn import_keeps_clients_pivpn_disabled() {
    if !root() {
        return;
    }
    // PiVPN disables a client by prefixing every line from `### begin` to `### end`.
    let t = format!(
        "{}\n### begin on ###\n[Peer]\nPublicKey = {P1}\nAllowedIPs = 10.45.0.2/32\n### end on ###\n\n\
         #[disabled] ### begin off ###\n#[disabled] [Peer]\n#[disabled] PublicKey = {P2}\n#[disabled] AllowedIPs = 10.45.0.3/32\n#[disabled] ### end off ###\n\n\
         ### begin last ###\n[Peer]\nPublicKey = {P3}\nAllowedIPs = 10.45.0.4/32\n### end last ###\n",
        server_text("10.45.0.1/24")
    );
    let s = Srv::new("piv", &t);
    s.ok("import", &[]);
    let names: Vec<_> = s.peers().iter().map(|p| (p.name.clone().unwrap_or_default(), p.disabled)).collect();
    assert_eq!(names, [("on".into(), false), ("off".into(), true), ("last".into(), false)], "{}", s.text());
    let text = s.text();
    assert!(!text.contains("###") && !text.contains("#[disabled]"), "{text}");
    assert!(wgq::config::parse(text.as_bytes(), &s.path()).is_ok());
    s.ok("enable", &["off"]);
    assert!(s.peers().iter().all(|p| !p.disabled));
}

#[test]
fn an_expiry_that_is_no_date_is_reported_and_fails_expire() {
    if !root() {
        return;
    }
    let t = format!(
        "{}\n[Peer]\n# Name = soon\n# Expires = next tuesday\nPublicKey = {P1}\nAllowedIPs = 10.46.0.2/32\n\n\
         [Peer]\n# Name = past\n# Expires = 2001-01-01\nPublicKey = {P2}\nAllowedIPs = 10.46.0.3/32\n",
        server_text("10.46.0.1/24")
    );
    let s = Srv::new("bx", &t);
    let o = s.peer("list", &[]);
    assert!(o.status.success());
    assert!(err(&o).contains("peer soon: `# Expires = next tuesday' is no date"), "{}", err(&o));
    let o = s.peer("expire", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("peer soon") && err(&o).contains("peer past expired"), "{}", err(&o));
    // The expired one is disabled all the same; the other is left as it is.
    let ps = s.peers();
    assert!(!ps[0].disabled && ps[1].disabled);
    // Without a directory argument too.
    let o = Command::new(WGQ).args(["peer", "expire", "--config-dir"]).arg(s.dir.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
}

#[test]
fn set_ip_changes_the_block_and_the_client_file_and_refuses_by_option_name() {
    if !root() {
        return;
    }
    let s = Srv::new("sip", &server_text("10.47.0.1/24, fd00:47::1/64"));
    s.ok("add", &["alice", "--route", "192.168.47.0/24"]);
    s.ok("add", &["bob"]);
    let said = s.said("set", &["alice", "--ip", "10.47.0.40,fd00:47::40"]);
    assert!(said.contains("client file"), "{said}");
    assert!(s.text().contains("AllowedIPs = 10.47.0.40/32, fd00:47::40/128, 192.168.47.0/24"), "{}", s.text());
    let c = std::fs::read_to_string(s.client("alice")).unwrap();
    assert!(c.contains("Address = 10.47.0.40/32, fd00:47::40/128\n"), "{c}");
    let before = (s.text(), std::fs::read_to_string(s.client("bob")).unwrap());
    for bad in [
        "10.47.0.40",
        "10.48.0.1",
        "10.47.0.0",
        "10.47.0.255",
        "10.47.0.0/24",
        "10.47.0.5,10.47.0.6",
        "x",
        "10.47.0.5\nPostUp = x",
        "",
    ] {
        let o = s.peer("set", &["bob", "--ip", bad]);
        assert_eq!(o.status.code(), Some(1), "--ip {bad:?}: {}", err(&o));
        assert!(err(&o).starts_with("wgq: --ip"), "--ip {bad:?}: {}", err(&o));
    }
    assert_eq!((s.text(), std::fs::read_to_string(s.client("bob")).unwrap()), before, "nothing changed");
    assert!(wgq::config::parse(s.text().as_bytes(), &s.path()).is_ok());
}
