//! Every operation on files only: a temporary directory, the locks in a temporary run
//! directory, no device (no root, no network).

use std::path::PathBuf;

use super::*;
use crate::config::peers::PeerEntry;

const K: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const P1: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
const P2: &str = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";

struct T {
    dir: tempfile::TempDir,
    host: Host,
    ifname: String,
}

impl T {
    fn new(tag: &str, pools: &str) -> T {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::files_only(&dir.path().join("run")).unwrap();
        let ifname = format!("{tag}{}", std::process::id() % 10_000);
        let t = T { dir, host, ifname };
        std::fs::write(
            t.path(),
            format!("[Interface]\n# ClientEndpoint = 192.0.2.1:51820\nAddress = {pools}\nListenPort = 51820\nPrivateKey = {K}\n"),
        )
        .unwrap();
        t
    }
    fn target(&self) -> Target {
        Target { interface: self.ifname.clone(), config_dir: Some(self.dir.path().to_path_buf()) }
    }
    fn server(&self) -> Server {
        self.target().locate().unwrap()
    }
    fn path(&self) -> PathBuf {
        self.dir.path().join(format!("{}.conf", self.ifname))
    }
    fn text(&self) -> String {
        std::fs::read_to_string(self.path()).unwrap()
    }
    fn peers(&self) -> Vec<PeerEntry> {
        crate::config::peers::peers(&crate::config::edit::Document::parse(self.text().into_bytes()))
    }
    fn client(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join("clients").join(&self.ifname).join(format!("{name}.conf"))).ok()
    }
    fn add(&self, name: &str, f: impl FnOnce(&mut AddRequest<'_>)) -> Result<Edited, ProvisionError> {
        let mut r = AddRequest { name, ..Default::default() };
        f(&mut r);
        add(&self.host, self.server(), &EditOpts::default(), &r, None).map(|a| a.edited)
    }
    fn names(&self) -> Vec<(String, bool)> {
        self.peers().into_iter().map(|p| (p.name.unwrap_or_default(), p.disabled)).collect()
    }
}

fn notes(e: &Edited) -> Vec<String> {
    match e {
        Edited::Done { notes, .. } | Edited::Unchanged(notes) => notes.iter().map(|n| n.to_string()).collect(),
        Edited::DryRun(_) => vec![],
    }
}

const O: EditOpts = EditOpts { dry_run: false, no_apply: false, force: false };

#[test]
fn init_makes_a_server_file_and_refuses_bad_values() {
    let dir = tempfile::tempdir().unwrap();
    let req = InitRequest {
        interface: "wgt0",
        config_dir: Some(dir.path()),
        address: Some("10.77.0.1/24"),
        endpoint: Some("vpn.example.org"),
        no_nat: true,
        no_forwarding: true,
        dns: Some("9.9.9.9 corp.example"),
        ..Default::default()
    };
    let p = init(&req).unwrap();
    assert!(p.dry_run().contains("PrivateKey = (hidden)"));
    let done = p.write(&mut Vec::new()).unwrap();
    assert_eq!(done.endpoint, "vpn.example.org:51820");
    let text = std::fs::read_to_string(&done.path).unwrap();
    assert!(text.contains("# ClientDNS = 9.9.9.9, corp.example\n"), "{text}");
    assert!(matches!(init(&req), Err(ProvisionError::ServerExists { .. })));
    let bad = |r: InitRequest<'_>| init(&InitRequest { force: true, ..r }).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(bad(InitRequest { dns: Some("1.1.1.1\nPostUp = x"), ..req.clone() }).starts_with("--dns: "));
    assert!(
        bad(InitRequest { client_allowed_ips: Some("0.0.0.0/0 [Peer]"), ..req.clone() }).starts_with("--client-allowed-ips: ")
    );
    assert!(bad(InitRequest { endpoint: Some("[fe80::1%a\nb]:1"), ..req.clone() }).starts_with("--endpoint: "));
    assert!(bad(InitRequest { port: Some("0"), ..req.clone() }).starts_with("--port: "));
    assert!(bad(InitRequest { interface: "a/b", ..req.clone() }).contains("an interface name"));
}

#[test]
fn add_list_show_and_the_refusals_of_add() {
    let t = T::new("pa", "10.78.0.1/24, fd00:78::1/64");
    let e = t.add("alice", |r| r.note = Some("phone")).unwrap();
    assert!(matches!(&e, Edited::Done { live: false, no_apply: true, .. }));
    assert!(notes(&e)[0].starts_with("peer alice: 10.78.0.2, fd00:78::2; client file "), "{:?}", notes(&e));
    t.add("bob", |r| {
        r.pubkey = Some(P1);
        r.routes = &[];
        r.ip = Some("10.78.0.9");
    })
    .unwrap();
    assert!(matches!(t.add("alice", |_| {}), Err(ProvisionError::NameTaken { .. })));
    assert!(matches!(t.add("carol", |r| r.pubkey = Some(P1)), Err(ProvisionError::KeyTaken(_))));
    assert!(matches!(t.add("carol", |r| r.pubkey = Some("x")), Err(ProvisionError::BadKey { .. })));
    assert!(matches!(t.add("carol", |r| r.expires = Some("+1é")), Err(ProvisionError::Expires(_))));
    assert!(matches!(t.add("carol", |r| r.dns = Some("-x")), Err(ProvisionError::Value { option: "--dns", .. })));
    assert!(matches!(t.add("carol", |r| r.ip = Some("10.78.0.9")), Err(ProvisionError::IpAlloc(_))));
    assert!(matches!(t.add("a b", |_| {}), Err(ProvisionError::Name(_))));
    let listed = list(&t.target(), false).unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].running);
    let rows: Vec<_> =
        listed[0].rows.iter().map(|r| (r.entry.name.clone().unwrap(), r.entry.note.clone(), r.live.is_none())).collect();
    assert_eq!(rows, [("alice".into(), Some("phone".into()), true), ("bob".into(), None, true)]);
    // Every server file of the directory.
    assert_eq!(list(&Target { interface: String::new(), config_dir: Some(t.dir.path().into()) }, true).unwrap().len(), 1);
    let file = show(t.server(), "alice").unwrap();
    assert!(String::from_utf8(file).unwrap().contains("Address = 10.78.0.2/32, fd00:78::2/128"));
    assert!(show(t.server(), "bob").unwrap().starts_with(b"[Interface]\n# Name = bob\n# PrivateKey = (the client's own key"));
    assert!(matches!(show(t.server(), "nobody"), Err(ProvisionError::NoPeer { .. })));
    // A dry run changes nothing.
    let before = t.text();
    let dry = add(&t.host, t.server(), &EditOpts { dry_run: true, ..O }, &AddRequest { name: "d", ..Default::default() }, None);
    assert!(matches!(dry, Ok(Added { edited: Edited::DryRun(_) })));
    assert_eq!(t.text(), before);
}

#[test]
fn remove_disable_enable_and_rename() {
    let t = T::new("pr", "10.79.0.1/24");
    t.add("alice", |r| r.pubkey = Some(P1)).unwrap();
    t.add("bob", |r| r.pubkey = Some(P2)).unwrap();
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let e = disable(&t.host, t.server(), &O, &names(&["alice", P1])).unwrap();
    assert_eq!(notes(&e), ["peer alice disabled"]);
    assert_eq!(t.names(), [("alice".into(), true), ("bob".into(), false)]);
    let e = disable(&t.host, t.server(), &O, &names(&["alice"])).unwrap();
    assert!(matches!(&e, Edited::Unchanged(_)) && notes(&e) == ["peer alice is already disabled"]);
    enable(&t.host, t.server(), &O, &names(&["alice"])).unwrap();
    assert_eq!(t.names(), [("alice".into(), false), ("bob".into(), false)]);
    let e = rename(&t.host, t.server(), &O, "alice", "carol").unwrap();
    assert_eq!(notes(&e), ["peer alice is now carol"]);
    assert!(t.client("carol").unwrap().contains("# Name = carol") && t.client("alice").is_none());
    assert!(matches!(rename(&t.host, t.server(), &O, "carol", "bob"), Err(ProvisionError::NameTaken { .. })));
    remove(&t.host, t.server(), &O, &names(&["carol", P1, "bob"])).unwrap();
    assert!(t.peers().is_empty() && t.client("carol").is_none());
    assert!(matches!(remove(&t.host, t.server(), &O, &names(&["bob"])), Err(ProvisionError::NoPeer { .. })));
}

#[test]
fn set_changes_addresses_routes_and_the_client_file() {
    let t = T::new("ps", "10.80.0.1/24, fd00:80::1/64");
    t.add("alice", |r| r.routes = &[]).unwrap();
    let set_ = |r: SetRequest<'_>| set(&t.host, t.server(), &O, &r);
    let routes = ["192.168.80.0/24".to_string()];
    set_(SetRequest { name: "alice", routes: Some(&routes), dns: Some("1.1.1.1"), ..Default::default() }).unwrap();
    assert!(t.text().contains("AllowedIPs = 10.80.0.2/32, fd00:80::2/128, 192.168.80.0/24"), "{}", t.text());
    assert!(t.client("alice").unwrap().contains("DNS = 1.1.1.1"));
    // --ip: the block and the client file's Address, routes kept.
    let e = set_(SetRequest { name: "alice", ip: Some("10.80.0.50, fd00:80::50"), ..Default::default() }).unwrap();
    assert!(notes(&e)[0].starts_with("client file "), "{:?}", notes(&e));
    assert!(t.text().contains("AllowedIPs = 10.80.0.50/32, fd00:80::50/128, 192.168.80.0/24"), "{}", t.text());
    assert!(t.client("alice").unwrap().contains("Address = 10.80.0.50/32, fd00:80::50/128\n"));
    t.add("bob", |_| {}).unwrap();
    let err = |r: SetRequest<'_>| set_(r).unwrap_err();
    assert!(matches!(err(SetRequest { name: "bob", ip: Some("10.80.0.50"), ..Default::default() }), ProvisionError::IpAlloc(_)));
    assert!(matches!(
        err(SetRequest { name: "bob", ip: Some("10.99.0.5"), ..Default::default() }),
        ProvisionError::IpOutsidePool(_)
    ));
    assert!(matches!(
        err(SetRequest { name: "bob", ip: Some("10.80.0.0/24"), ..Default::default() }),
        ProvisionError::IpPrefix(_)
    ));
    assert!(matches!(
        err(SetRequest { name: "bob", ip: Some("10.80.0.7,10.80.0.8"), ..Default::default() }),
        ProvisionError::IpTwice
    ));
    assert!(matches!(err(SetRequest { name: "bob", ip: Some("10.80.0.255"), ..Default::default() }), ProvisionError::IpAlloc(_)));
    assert!(err(SetRequest { name: "bob", ip: Some("x\ny"), ..Default::default() }).to_string().starts_with("--ip "));
    assert!(matches!(
        err(SetRequest { name: "bob", allowed_ips: Some(""), ..Default::default() }),
        ProvisionError::NoAddress { option: "--allowed-ips" }
    ));
    // Its own address again is fine (not in use by another peer).
    set_(SetRequest { name: "alice", ip: Some("10.80.0.50"), ..Default::default() }).unwrap();
    assert!(t.text().contains("AllowedIPs = 10.80.0.50/32, 192.168.80.0/24"), "{}", t.text());
    // Expiry and note in the block.
    set_(SetRequest { name: "bob", expires: Some("2030-01-01"), note: Some("x = y # z"), ..Default::default() }).unwrap();
    assert!(t.text().contains("# Expires = 2030-01-01T00:00:00Z\n# Note = x = y # z\n"), "{}", t.text());
}

#[test]
fn rotate_expire_and_import() {
    let t = T::new("pe", "10.81.0.1/24");
    t.add("alice", |r| r.expires = Some("2001-01-01")).unwrap();
    t.add("bob", |r| r.expires = Some("+30d")).unwrap();
    let old = t.peers()[0].public_key;
    let e = rotate(&t.host, t.server(), &O, &RotateRequest { name: "alice", pubkey: None }, None).unwrap();
    assert!(notes(&e)[0].starts_with("peer alice: new keys; client file "));
    let p = &t.peers()[0];
    assert_ne!(p.public_key, old);
    let c = t.client("alice").unwrap();
    let line = c.lines().find(|l| l.starts_with("PrivateKey = ")).unwrap();
    let sk = crate::key::SecretKey::from_base64(line.trim_start_matches("PrivateKey = ")).unwrap();
    assert_eq!(Some(sk.public_key()), p.public_key);
    rotate(&t.host, t.server(), &O, &RotateRequest { name: "alice", pubkey: Some(P2) }, None).unwrap();
    assert!(!t.client("alice").unwrap().contains("\nPrivateKey"));
    assert!(matches!(
        rotate(&t.host, t.server(), &O, &RotateRequest { name: "alice", pubkey: None }, None),
        Err(ProvisionError::OwnKey(_))
    ));
    let r = expire(&t.host, t.server(), &O).unwrap();
    assert!(r.bad.is_empty());
    let e = r.edited.unwrap().unwrap();
    assert_eq!(notes(&e).len(), 1);
    assert!(notes(&e)[0].contains("peer alice expired at 2001-01-01T00:00:00Z: disabled"));
    assert_eq!(t.names(), [("alice".into(), true), ("bob".into(), false)]);
    assert!(expire(&t.host, t.server(), &O).unwrap().edited.is_none(), "nothing due any more");
    // Import: PiVPN's disabled client keeps its name and state.
    let mut text = t.text();
    text.push_str("\n#[disabled] ### begin piv ###\n#[disabled] [Peer]\n#[disabled] PublicKey = HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=\n#[disabled] AllowedIPs = 10.81.0.9/32\n#[disabled] ### end piv ###\n");
    std::fs::write(t.path(), text).unwrap();
    let e = import(&t.host, t.server(), &O).unwrap();
    assert_eq!(notes(&e), ["PiVPN peer piv imported"]);
    assert_eq!(t.names()[2], ("piv".into(), true));
    let e = import(&t.host, t.server(), &O).unwrap();
    assert!(matches!(&e, Edited::Unchanged(n) if n == &[Note::NothingToImport]));
}

#[test]
fn save_config_files_and_bad_client_defaults_are_refused() {
    let t = T::new("pc", "10.82.0.1/24");
    std::fs::write(t.path(), t.text().replace("ListenPort", "# ClientDNS = [Peer]\nListenPort")).unwrap();
    assert!(matches!(t.add("a", |_| {}), Err(ProvisionError::FileDefault { key: "ClientDNS", .. })));
    std::fs::write(t.path(), t.text().replace("# ClientDNS = [Peer]\n", "SaveConfig = true\n")).unwrap();
    assert!(matches!(t.add("a", |_| {}), Err(ProvisionError::SaveConfig(_))));
    let forced = add(&t.host, t.server(), &EditOpts { force: true, ..O }, &AddRequest { name: "a", ..Default::default() }, None);
    assert!(forced.is_ok());
}

#[test]
fn display_names_are_one_comment_line() {
    let t = T::new("pd", "10.82.0.1/24");
    t.add("zoe", |r| r.display_name = Some("Zoë's <phone> ✓")).unwrap();
    assert!(t.text().contains("# Name = zoe\n# DisplayName = Zoë's <phone> ✓\n# Created = "), "{}", t.text());
    assert_eq!(t.peers()[0].display_name.as_deref(), Some("Zoë's <phone> ✓"));
    assert_eq!(crate::config::peers::list_entries(t.text().as_bytes())[0].display_name.as_deref(), Some("Zoë's <phone> ✓"));
    // A line break, a control character, 65 characters: refused, nothing written.
    let before = t.text();
    let long: &'static str = Box::leak("é".repeat(65).into_boxed_str());
    for bad in ["a\nPostUp = x", "a\u{1b}b", " lead", long] {
        assert!(t.add("x", |r| r.display_name = Some(bad)).is_err(), "{bad:?}");
        let set_ = SetRequest { name: "zoe", display_name: Some(bad), ..Default::default() };
        assert!(set(&t.host, t.server(), &O, &set_).is_err(), "{bad:?}");
    }
    assert_eq!(t.text(), before);
    let s = |d| set(&t.host, t.server(), &O, &SetRequest { name: "zoe", display_name: Some(d), ..Default::default() });
    s("Zoé 2").unwrap();
    assert!(t.text().contains("# Name = zoe\n# DisplayName = Zoé 2\n"));
    s("").unwrap();
    assert!(!t.text().contains("DisplayName"));
    // Disabled: the line stays, commented out with the block, and is read back.
    s("Ünïcode").unwrap();
    disable(&t.host, t.server(), &O, &["zoe".to_string()]).unwrap();
    assert!(t.text().contains("#- # DisplayName = Ünïcode\n"), "{}", t.text());
    assert_eq!(crate::config::peers::list_entries(t.text().as_bytes())[0].display_name.as_deref(), Some("Ünïcode"));
}

#[test]
fn p2p_opt_in_by_add_and_set() {
    let t = T::new("pp", "10.83.0.1/24");
    t.add("alice", |r| {
        r.note = Some("phone");
        r.p2p = true;
    })
    .unwrap();
    t.add("bob", |_| {}).unwrap();
    // add --p2p: one comment line after the note, read back by the listing.
    assert!(t.text().contains("# Note = phone\n# P2P = true\nPublicKey = "), "{}", t.text());
    let opted = |t: &T| t.peers().into_iter().map(|p| p.p2p).collect::<Vec<_>>();
    assert_eq!(opted(&t), [true, false]);
    let set_ = |r: SetRequest<'_>| set(&t.host, t.server(), &O, &r).unwrap();
    // set --p2p / --no-p2p: only that line changes.
    let before = t.text();
    set_(SetRequest { name: "bob", p2p: Some(true), ..Default::default() });
    assert_eq!(opted(&t), [true, true]);
    let mut lines_before: Vec<&str> = before.lines().collect();
    let after = t.text();
    let lines_after: Vec<&str> = after.lines().collect();
    assert_eq!(lines_after.len(), lines_before.len() + 1);
    assert_eq!(lines_after.iter().filter(|l| **l == "# P2P = true").count(), 2);
    lines_before.retain(|l| !l.is_empty());
    assert!(lines_before.iter().all(|l| after.contains(l)));
    set_(SetRequest { name: "alice", p2p: Some(false), ..Default::default() });
    assert_eq!(opted(&t), [false, true]);
    assert!(t.text().contains("# Note = phone\nPublicKey = "), "{}", t.text());
    // Asked again: nothing to change.
    let again = t.text();
    set_(SetRequest { name: "alice", p2p: Some(false), ..Default::default() });
    set_(SetRequest { name: "bob", p2p: Some(true), ..Default::default() });
    assert_eq!(t.text(), again);
    set_(SetRequest { name: "bob", p2p: Some(false), ..Default::default() });
    assert_eq!(opted(&t), [false, false]);
    assert!(!t.text().contains("P2P"));
}

/// A restore edits in place: a client in the file and the backup keeps its block, name and
/// other lines (routes, notes, endpoint); only what differs changes; the rest of the file
/// (comments, `[Interface]` lines) stays byte for byte.
#[test]
fn a_restore_changes_only_what_differs() {
    let t = T::new("rs", "10.8.0.1/24, fd08::1/64");
    let lan = ["192.168.50.0/24".to_string()];
    let r = AddRequest { name: "phone", note: Some("Anna's"), routes: &lan, ..Default::default() };
    add(&t.host, t.server(), &EditOpts::default(), &r, None).unwrap();
    t.add("gone", |_| {}).unwrap();
    // An admin's own lines: a comment at the top, an endpoint in phone's block.
    let text = t.text().replacen("[Interface]\n", "# my server\n[Interface]\n", 1).replacen(
        "# Note = Anna's\n",
        "# Note = Anna's\nEndpoint = 198.51.100.7:51820\n",
        1,
    );
    std::fs::write(t.path(), &text).unwrap();
    let mut b = restore::backup(t.server()).unwrap();
    assert_eq!(b.db.clients.len(), 2);
    b.db.clients.retain(|c| c.name == "phone");
    b.db.clients[0].address = "10.8.0.9".parse().unwrap();
    b.db.clients[0].enabled = false;
    let r = RestoreRequest { backup: &b, keep_as: "before-restore-test" };
    let e = restore(&t.host, t.server(), &EditOpts::default(), &r).unwrap();
    assert!(notes(&e).iter().any(|n| n.contains("before-restore-test")), "{:?}", notes(&e));
    let after = t.text();
    assert!(after.starts_with("# my server\n[Interface]\n"), "{after}");
    assert!(after.contains("#- # Note = Anna's\n#- Endpoint = 198.51.100.7:51820\n"), "{after}");
    assert!(after.contains("#- AllowedIPs = 10.8.0.9/32, fd08::2/128, 192.168.50.0/24\n"), "the rest stays: {after}");
    assert!(!after.contains("gone"), "{after}");
    assert!(t.client("gone").is_none());
    assert!(t.client("phone").unwrap().contains("Address = 10.8.0.9/32, fd08::2/128"));
    assert_eq!(std::fs::read_to_string(t.dir.path().join(format!("{}.conf.before-restore-test", t.ifname))).unwrap(), text);
    let kept = t.dir.path().join("clients").join(format!("{}.before-restore-test", t.ifname));
    assert!(kept.join("gone.conf").exists() && kept.join("phone.conf").exists());
    // Restored again: nothing to change.
    let r = RestoreRequest { backup: &b, keep_as: "before-restore-again" };
    assert!(matches!(restore(&t.host, t.server(), &EditOpts::default(), &r).unwrap(), Edited::Unchanged(_)));
}

/// The copies a restore keeps hold private keys: a symbolic link already at a copy's path
/// (a dangling one too) is never followed; the copy gets the next free name.
#[test]
fn a_restore_never_writes_its_copy_through_a_link() {
    use std::os::unix::fs::PermissionsExt as _;
    let t = T::new("rl", "10.8.0.1/24");
    t.add("a", |_| {}).unwrap();
    t.add("b", |_| {}).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("stolen");
    let copy = t.dir.path().join(format!("{}.conf.before-restore-l", t.ifname));
    std::os::unix::fs::symlink(&target, &copy).unwrap();
    let clients_target = elsewhere.path().join("stolen-clients");
    let clients_copy = t.dir.path().join("clients").join(format!("{}.before-restore-l-2", t.ifname));
    std::os::unix::fs::symlink(&clients_target, &clients_copy).unwrap();
    let mut b = restore::backup(t.server()).unwrap();
    b.db.clients.retain(|c| c.name == "a");
    let r = RestoreRequest { backup: &b, keep_as: "before-restore-l" };
    let e = restore(&t.host, t.server(), &EditOpts::default(), &r).unwrap();
    assert!(!target.exists() && !clients_target.exists(), "a copy went through a link");
    let kept = t.dir.path().join(format!("{}.conf.before-restore-l-3", t.ifname));
    assert!(notes(&e).iter().any(|n| n.contains(&kept.display().to_string())), "{:?}", notes(&e));
    assert_eq!(std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777, 0o600);
    let dir = t.dir.path().join("clients").join(format!("{}.before-restore-l-3", t.ifname));
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(std::fs::metadata(dir.join("b.conf")).unwrap().permissions().mode() & 0o777, 0o600);
}

/// A restore that moves the server's port moves the port of the clients' endpoint with it
/// where that was the old port: the `# ClientEndpoint =` default, the client files written
/// (a new client's, a kept one's); an endpoint of another port (a forwarded one) stays.
#[test]
fn a_restore_that_moves_the_port_moves_the_clients_endpoint() {
    let t = T::new("rp", "10.8.0.1/24");
    t.add("a", |_| {}).unwrap();
    let mut b = restore::backup(t.server()).unwrap();
    let mut new = b.db.clients[0].clone();
    new.name = "b".into();
    new.private_key = Some(crate::key::SecretKey::from_bytes([9; 32]));
    new.public_key = new.private_key.as_ref().unwrap().public_key();
    new.address = "10.8.0.20".parse().unwrap();
    b.db.clients.push(new);
    b.listen_port = Some(51999);
    let r = RestoreRequest { backup: &b, keep_as: "p" };
    restore(&t.host, t.server(), &EditOpts::default(), &r).unwrap();
    let text = t.text();
    assert!(text.contains("ListenPort = 51999\n") && text.contains("# ClientEndpoint = 192.0.2.1:51999\n"), "{text}");
    for n in ["a", "b"] {
        let f = t.client(n).unwrap();
        assert!(f.contains("Endpoint = 192.0.2.1:51999\n"), "{n}: {f}");
    }
    // A forwarded port (not the server's) is left as it is.
    let t = T::new("rq", "10.8.0.1/24");
    std::fs::write(t.path(), t.text().replace("192.0.2.1:51820", "192.0.2.1:443")).unwrap();
    t.add("a", |_| {}).unwrap();
    let mut b = restore::backup(t.server()).unwrap();
    b.listen_port = Some(51999);
    let r = RestoreRequest { backup: &b, keep_as: "p" };
    restore(&t.host, t.server(), &EditOpts::default(), &r).unwrap();
    assert!(t.text().contains("# ClientEndpoint = 192.0.2.1:443\n"), "{}", t.text());
    assert!(t.client("a").unwrap().contains("Endpoint = 192.0.2.1:443\n"));
}

/// A backup's client on the pool's network or broadcast address (IPv6: the subnet-router
/// anycast address) is refused, as `peer add --ip` refuses it; nothing is changed.
#[test]
fn a_restore_refuses_a_pools_reserved_addresses() {
    let t = T::new("rr", "10.8.0.1/24, fd08::1/64");
    t.add("a", |_| {}).unwrap();
    let before = t.text();
    let b = restore::backup(t.server()).unwrap();
    for (v4, v6) in [("10.8.0.0", None), ("10.8.0.255", None), ("10.8.0.9", Some("fd08::"))] {
        let mut b = b.clone();
        b.db.clients[0].address = v4.parse().unwrap();
        if let Some(v6) = v6 {
            b.v6.insert(b.db.clients[0].public_key, v6.parse().unwrap());
        }
        let r = RestoreRequest { backup: &b, keep_as: "r" };
        let e = restore(&t.host, t.server(), &EditOpts::default(), &r).unwrap_err();
        assert!(matches!(e, ProvisionError::Backup(restore::BackupError::Outside { .. })), "{v4} {v6:?}: {e}");
        assert_eq!(t.text(), before);
    }
}
