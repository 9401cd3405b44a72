//! Issue 22 §2 and §6 on files only (root for the interface lock in /run/wgq; the
//! interface names carry the process id and never run): no input panics the block editor
//! or a value parser; `peer set --route` keeps the peer's own addresses; `peer rotate
//! --pubkey` leaves no stale private key; `peer import` keeps what PiVPN disabled; an
//! `# Expires` that is no date is reported.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

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

struct Srv {
    dir: tempfile::TempDir,
    ifname: String,
}

impl Srv {
    fn new(tag: &str, text: &str) -> Srv {
        let dir = tempfile::tempdir().unwrap();
        let s = Srv { dir, ifname: format!("{tag}{}", common::pid_tag()) };
        std::fs::write(s.path(), text).unwrap();
        s
    }
    fn path(&self) -> PathBuf {
        self.dir.path().join(format!("{}.conf", self.ifname))
    }
    fn text(&self) -> String {
        std::fs::read_to_string(self.path()).unwrap()
    }
    fn peer(&self, sub: &str, rest: &[&str]) -> Output {
        let mut a = vec!["peer", sub, &self.ifname];
        a.extend_from_slice(rest);
        Command::new(WGQ).args(&a).arg("--config-dir").arg(self.dir.path()).output().unwrap()
    }
    fn ok(&self, sub: &str, rest: &[&str]) -> String {
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

fn server_text(address: &str) -> String {
    format!("[Interface]\n# ClientEndpoint = 192.0.2.1:51820\nAddress = {address}\nListenPort = 51820\nPrivateKey = {K}\n")
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

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
    let said = s.ok("rotate", &["alice", "--pubkey", P3]);
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
    let said = s.ok("set", &["alice", "--ip", "10.47.0.40,fd00:47::40"]);
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
