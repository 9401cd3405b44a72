//! wg-easy 15's SQLite database imported: databases made here with python3's sqlite3 module
//! in wg-easy 15's schema (its table and column names; this file's own SQL), with many clients
//! (interior b-tree pages), long values (overflow pages), columns added by `ALTER TABLE`, and
//! a write-ahead log left beside the file as a killed wg-easy leaves it. The import through
//! the provisioning layer and through `wgq container`'s code path keeps every client, key,
//! name, expiry and disabled state; the database is not changed. A bounded fuzz run mutates
//! such a database and its log (WGQ_FUZZ_SECONDS, default 10 s; WGQ_FUZZ_SEED to replay).
//! Skipped (with the reason printed) where python3 or its sqlite3 module is missing.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::easy15::{client, key, long_name, make_db, python_ready, spec};
use wgq::key::SecretKey;
use wgq::provision::migrate15::{self, Env};

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn env() -> Env {
    Env { ipv6: true, ui_port: "51821".into() }
}

/// Imports `dir/wg-easy.db` through the provisioning layer (files only); the trace.
fn import(dir: &Path) -> Result<String, String> {
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let host = wgq::provision::Host::files_only(&run).unwrap();
    let mut trace = Vec::new();
    migrate15::migrate_wg_easy15(&host, dir, &dir.join("wg-easy.db"), None, &env(), &dir.join("wg0.conf.wg-easy"), &mut trace)
        .map(|_| String::from_utf8_lossy(&trace).into_owned())
        .map_err(|e| e.to_string())
}

/// The peer block of the server file whose PublicKey is `k`'s (disabled blocks too).
fn block<'a>(server: &'a str, k: &SecretKey) -> &'a str {
    let pk = k.public_key().to_base64();
    let at = server.find(&format!("PublicKey = {pk}")).unwrap_or_else(|| panic!("no peer {pk}:\n{server}"));
    let start = server[..at].rfind("[Peer]").unwrap();
    let end = server[at..].find("[Peer]").map_or(server.len(), |e| at + e);
    &server[start..end]
}

#[test]
fn a_wg_easy_15_database_is_imported_losing_nothing() {
    if !python_ready() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let s = spec();
    let shape = make_db(dir, &s);
    let db_before = std::fs::read(dir.join("wg-easy.db")).unwrap();
    assert!(db_before.len() > 80 * 1024, "too few pages for interior pages: {}", db_before.len());
    // Two levels of interior pages above the leaves, and overflow pages.
    let count = |kind: &str| {
        let at = shape.find(&format!("\"{kind}\": "))?;
        shape[at + kind.len() + 4..].split([',', '}']).next()?.trim().parse::<u32>().ok()
    };
    match count("internal") {
        Some(n) => assert!(n >= 3 && count("overflow").unwrap_or(0) >= 2, "{shape}"),
        None => println!("python's SQLite has no dbstat table: the tree's shape is not checked"),
    }
    let generated = "# Note: wg-easy's file\n[Interface]\nPrivateKey = x\n";
    std::fs::write(dir.join("wg0.conf"), generated).unwrap();
    let trace = import(dir).unwrap();
    assert_eq!(std::fs::read(dir.join("wg-easy.db")).unwrap(), db_before, "the database was changed");
    assert_eq!(read(&dir.join("wg0.conf.wg-easy")), generated);
    let server = read(&dir.join("wg0.conf"));
    // The interface.
    assert!(server.contains(&format!("PrivateKey = {}\n", key(1).to_base64())), "{server}");
    assert!(server.contains("Address = 10.8.0.1/24, fdcc:ad94:bacf:61a4::cafe:1/112\n"), "{server}");
    assert!(server.contains("ListenPort = 51820\nMTU = 1420\n"), "{server}");
    assert!(!server.contains("Table ="), "{server}");
    assert!(
        server.contains("PostUp = iptables -t nat -A POSTROUTING -s 10.8.0.0/24 -o eth0 -j MASQUERADE; ip6tables -A INPUT -p udp --dport 51820 -j ACCEPT;\n"),
        "{server}"
    );
    assert!(server.contains("PreDown = iptables -A FORWARD -i wg0 -s 10.9.0.0/24 -j ACCEPT; "), "{server}");
    assert!(server.contains("10.9.17.0/24 -j ACCEPT\n"), "the hook from overflow pages is cut: {server}");
    assert!(server.contains("PostDown = iptables -t nat -D POSTROUTING -s 10.8.0.0/24 -o eth0 -j MASQUERADE\n"), "{server}");
    assert!(!server.contains("PreUp"), "{server}");
    assert!(server.contains("# ClientEndpoint = vpn.example.org:51820\n"), "{server}");
    assert!(server.contains("# ClientDNS = 1.1.1.1, 2606:4700:4700::1111\n"), "{server}");
    assert!(server.contains("# ClientAllowedIPs = 0.0.0.0/0, ::/0\n# ClientKeepalive = 0\n# ClientMTU = 1420\n"), "{server}");
    // Every client, with its keys and both addresses; the disabled ones commented out.
    assert_eq!(server.matches("[Peer]").count(), 159, "{server}");
    for n in 2..=160u32 {
        let b = block(&server, &key(n));
        let disabled = n == 3 || (n >= 7 && n % 7 == 0);
        let pre = if disabled { "#- " } else { "" };
        assert!(b.contains(&format!("{pre}PresharedKey = {}\n", key(1000 + n).to_base64())), "{n}: {b}");
        let ips = format!("{pre}AllowedIPs = 10.8.0.{n}/32, fdcc:ad94:bacf:61a4::cafe:{n:x}/128");
        assert!(b.contains(&ips), "{n}: {b}");
        assert!(b.contains(&format!("# Created = 2024-01-05T08:{:02}:00Z", n % 60)), "{n}: {b}");
        assert_eq!(b.contains("#- PublicKey"), disabled, "{n}: {b}");
        if n >= 7 {
            assert!(b.contains(&format!("# Name = client{n}\n")) && !b.contains("DisplayName"), "{n}: {b}");
            let f = read(&dir.join(format!("clients/wg0/client{n}.conf")));
            assert!(f.contains(&format!("PrivateKey = {}\n", key(n).to_base64())), "{f}");
            assert!(f.contains(&format!("Address = 10.8.0.{n}/32, fdcc:ad94:bacf:61a4::cafe:{n:x}/128\n")), "{f}");
            assert!(f.contains(&format!("PublicKey = {}\n", key(1).public_key().to_base64())), "{f}");
            assert!(
                f.contains("Endpoint = vpn.example.org:51820\n") && f.contains("DNS = 1.1.1.1, 2606:4700:4700::1111\n"),
                "{f}"
            );
        }
    }
    // Names: file-safe ones as they are, the others with the page's display name.
    assert!(block(&server, &key(2)).contains("# Name = Laptop\n"));
    let zoe = block(&server, &key(3));
    assert!(zoe.contains("# Name = Zo-s-phone\n") && zoe.contains("# DisplayName = Zoë's phone ✓\n"), "{zoe}");
    let exp = block(&server, &key(4));
    assert!(exp.contains("# Expires = 2031-12-31T00:00:00Z\n") && !exp.contains("#-"), "{exp}");
    let long = block(&server, &key(5));
    let shown: String = long_name().chars().take(64).collect();
    assert!(long.contains("# Name = Long\n") && long.contains(&format!("# DisplayName = {shown}\n")), "{long}");
    assert!(long.contains("# Note = wg-easy name: Long ääää"), "{long}");
    assert!(long.contains("AllowedIPs = 10.8.0.5/32, fdcc:ad94:bacf:61a4::cafe:5/128, 192.168.60.0/24\n"), "{long}");
    // Per-client settings: in the client files.
    let f = read(&dir.join("clients/wg0/Long.conf"));
    for line in ["DNS = 9.9.9.9\n", "MTU = 1380\n", "PersistentKeepalive = 15\n", "AllowedIPs = 10.8.0.0/24, 192.168.50.0/24\n"] {
        assert!(f.contains(line), "{line}: {f}");
    }
    let f = read(&dir.join("clients/wg0/no-dns.conf"));
    assert!(!f.contains("DNS"), "{f}");
    assert!(read(&dir.join("clients/wg0/Zo-s-phone.conf")).contains(&key(3).to_base64()));
    assert!(
        trace.contains("[#] wg-easy client 5 (no-dns): not imported: its own PreUp, the server's Endpoint for it\n"),
        "{trace}"
    );
    assert!(!trace.contains(&key(1).to_base64()) && !trace.contains(&key(2).to_base64()), "a key in the trace: {trace}");
    // `wgq peer list` reads the result: every client, the disabled ones as such.
    let o = Command::new(env!("CARGO_BIN_EXE_wgq")).args(["peer", "list"]).arg(dir.join("wg0.conf")).output().unwrap();
    let list = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{list}{}", String::from_utf8_lossy(&o.stderr));
    assert!(list.contains("Laptop") && list.contains("client160") && list.contains("Zo-s-phone"), "{list}");
}

#[test]
fn the_write_ahead_log_s_committed_transactions_are_read() {
    if !python_ready() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let mut s = spec();
    s.clients.truncate(3);
    s.wal = vec![client(20, "in-the-log", true, ""), client(21, "last", true, "")];
    let _ = make_db(dir, &s);
    let wal = std::fs::read(dir.join("wg-easy.db-wal")).unwrap();
    assert!(!wal.is_empty());
    // The file alone lacks what the log holds.
    let only_file = migrate15::parse_database(&std::fs::read(dir.join("wg-easy.db")).unwrap(), None, &env()).unwrap();
    assert_eq!(only_file.clients.len(), 3);
    // A torn last write: the last transaction is not read, the others are.
    let db = std::fs::read(dir.join("wg-easy.db")).unwrap();
    let torn = migrate15::parse_database(&db, Some(&wal[..wal.len() - 100]), &env()).unwrap();
    let names: Vec<&str> = torn.clients.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Laptop", "Zoë's phone ✓", "expiring", "in-the-log"]);
    // A log of another database generation (other salts) is not used.
    let mut other = wal.clone();
    other[16] ^= 1;
    assert_eq!(migrate15::parse_database(&db, Some(&other), &env()).unwrap().clients.len(), 3);
    let trace = import(dir).unwrap();
    let server = read(&dir.join("wg0.conf"));
    assert!(server.contains("# Name = in-the-log\n") && server.contains("# Name = last\n"), "{trace}{server}");
    assert_eq!(std::fs::read(dir.join("wg-easy.db-wal")).unwrap(), wal, "the log was changed");
}

#[test]
fn a_broken_database_changes_nothing() {
    if !python_ready() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let mut s = spec();
    // A client outside the range.
    s.clients.truncate(3);
    s.clients.push(client(9, "outside", true, "").replace("\"10.8.0.9\"", "\"10.9.0.9\""));
    let _ = make_db(dir, &s);
    std::fs::write(dir.join("wg0.conf"), "wg-easy's\n").unwrap();
    let e = import(dir).unwrap_err();
    assert!(e.contains("10.9.0.9 is not a client address of 10.8.0.0/24"), "{e}");
    assert_eq!(read(&dir.join("wg0.conf")), "wg-easy's\n");
    assert!(!dir.join("wg0.conf.wg-easy").exists() && !dir.join("clients/wg0").exists());
    // Not a database at all.
    std::fs::write(dir.join("wg-easy.db"), b"SQLite format 2\0 and more bytes than a header needs to have here...").unwrap();
    assert!(import(dir).unwrap_err().contains("not an SQLite 3 database"));
}

/// `wgq container`'s code path without WG_HOST: the volume's database imported once with
/// its own settings; the next start leaves the file as it is.
#[test]
fn the_container_imports_a_wg_easy_15_volume_once() {
    if !python_ready() {
        return;
    }
    if !nix::unistd::Uid::effective().is_root() {
        println!("skipped: needs root (the run state's locks)");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let mut s = spec();
    s.clients.truncate(5);
    let _ = make_db(dir, &s);
    std::fs::write(dir.join("wg0.conf"), "wg-easy's\n").unwrap();
    let path = wgq::commands::container::prepare_wg_easy15(dir).unwrap().unwrap();
    assert_eq!(path, dir.join("wg0.conf"));
    assert_eq!(read(&dir.join("wg0.conf.wg-easy")), "wg-easy's\n");
    let server = read(&path);
    assert!(server.starts_with("# wgq server wg0"), "{server}");
    assert_eq!(server.matches("[Peer]").count(), 5, "{server}");
    // Edited after the import (as `wgq peer` would): a second start keeps it.
    std::fs::write(&path, format!("{server}# kept\n")).unwrap();
    assert_eq!(wgq::commands::container::prepare_wg_easy15(dir).unwrap(), Some(path.clone()));
    assert_eq!(read(&path), format!("{server}# kept\n"));
    // No database: not a wg-easy 15 volume.
    let e = tempfile::tempdir().unwrap();
    assert_eq!(wgq::commands::container::prepare_wg_easy15(e.path()).unwrap(), None);
}

/// An import killed part-way (the container stopped with SIGKILL, the host lost power): the
/// server file is wgq's and wg-easy's is aside, but clients (and the disabled state, set
/// last) are missing. The next start imports again from wg-easy's file and the database.
#[test]
fn an_import_cut_short_is_made_again_at_the_next_start() {
    if !python_ready() {
        return;
    }
    if !nix::unistd::Uid::effective().is_root() {
        println!("skipped: needs root (the run state's locks)");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let mut s = spec();
    s.clients.truncate(5);
    let _ = make_db(dir, &s);
    std::fs::write(dir.join("wg0.conf"), "wg-easy's\n").unwrap();
    let path = wgq::commands::container::prepare_wg_easy15(dir).unwrap().unwrap();
    let whole = read(&path);
    assert!(!dir.join("wg0.conf.importing").exists(), "no mark after a whole import");
    // As a kill after the second client leaves it: the mark, two peers, their files only.
    let cut: String = whole.split("\n[Peer]").take(3).collect::<Vec<_>>().join("\n[Peer]");
    let peers = |t: &str| t.matches("\n[Peer]").count();
    assert_eq!((peers(&whole), peers(&cut)), (4, 2), "one of the five disabled");
    std::fs::write(&path, &cut).unwrap();
    std::fs::write(dir.join("wg0.conf.importing"), "").unwrap();
    assert_eq!(wgq::commands::container::prepare_wg_easy15(dir).unwrap(), Some(path.clone()));
    // (The first line has the time of the import.)
    assert_eq!(read(&path).split_once('\n').unwrap().1, whole.split_once('\n').unwrap().1, "the whole import again");
    assert_eq!(read(&dir.join("wg0.conf.wg-easy")), "wg-easy's\n", "wg-easy's own file kept aside");
    assert!(!dir.join("wg0.conf.importing").exists());
}

#[test]
fn sqlite_reader_fuzz() {
    if !python_ready() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let mut s = spec();
    s.clients.truncate(12);
    s.wal = vec![client(90, "in-the-log", true, ""), client(91, "last", false, "")];
    let _ = make_db(dir, &s);
    let db = std::fs::read(dir.join("wg-easy.db")).unwrap();
    let wal = std::fs::read(dir.join("wg-easy.db-wal")).unwrap();
    assert_eq!(migrate15::parse_database(&db, Some(&wal), &env()).unwrap().clients.len(), 14);
    let seed = common::fuzz_seed();
    println!("seed {seed} (WGQ_FUZZ_SEED to replay)");
    let mut r = common::Rng(seed);
    let deadline = Instant::now() + Duration::from_secs(common::fuzz_secs(10));
    let mut runs = 0u64;
    while Instant::now() < deadline || runs < 50 {
        let (mut a, mut b) = (db.clone(), wal.clone());
        for _ in 0..1 + r.next() % 8 {
            let t = if r.next().is_multiple_of(3) && !b.is_empty() { &mut b } else { &mut a };
            let at = (r.next() as usize) % t.len().max(1);
            match r.next() % 6 {
                // A byte, a page number, a cell pointer or a varint anywhere.
                0 | 1 => {
                    if let Some(x) = t.get_mut(at) {
                        *x = r.next() as u8;
                    }
                }
                2 => {
                    let v = (r.next() % 200) as u32;
                    for (i, byte) in v.to_be_bytes().iter().enumerate() {
                        if let Some(x) = t.get_mut(at + i) {
                            *x = *byte;
                        }
                    }
                }
                3 => t.truncate(at),
                4 => {
                    // A page copied over another (cycles, shared children).
                    let ps = 512;
                    let pages = t.len() / ps;
                    if pages > 1 {
                        let (from, to) = ((r.next() as usize) % pages, (r.next() as usize) % pages);
                        let p = t[from * ps..(from + 1) * ps].to_vec();
                        t[to * ps..(to + 1) * ps].copy_from_slice(&p);
                    }
                }
                _ => {
                    if let Some(x) = t.get_mut(at) {
                        *x ^= 0x80;
                    }
                }
            }
        }
        let start = Instant::now();
        wgq::fuzzing::check_sqlite_parts(&a, (!b.is_empty()).then_some(&b[..]));
        assert!(start.elapsed() < Duration::from_secs(2), "one read took {:?} (seed {seed})", start.elapsed());
        runs += 1;
    }
    println!("{runs} mutated databases read");
}

/// `wgq container` as the image runs it, in a network namespace with a private
/// /run/wireguard (wireguard-go): a wg-easy 15 volume without `WG_HOST` is imported and its
/// server comes up with the database's hooks (iptables, as wg-easy's defaults); SIGTERM brings
/// it down and a second start imports nothing.
#[test]
fn wgq_container_runs_an_imported_wg_easy_15_volume() {
    if !python_ready() || !common::ready(&["wireguard-go", "ip", "bash", "unshare", "iptables", "ip6tables"]) {
        return;
    }
    let ns = common::Netns::with_uplink(format!("wgq15-{}", common::pid_tag()));
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("wg");
    std::fs::create_dir_all(&dir).unwrap();
    let mut s = spec();
    s.clients.truncate(5);
    let _ = make_db(&dir, &s);
    let run = |dir: &Path, vars: &[(&str, &str)], expect_import: bool| -> String {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns.name(), "unshare", "--mount", "--propagation", "private", "bash", "-c"])
            .arg("mount -t tmpfs tmpfs /run/wireguard && exec \"$@\"")
            .arg("bash")
            .args([env!("CARGO_BIN_EXE_wgq"), "container", "--config-root"])
            .arg(d.path().join("none"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("WG_PATH", dir)
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        common::default_signals(&mut c);
        let mut child = c.spawn().unwrap();
        let (ok, mut seen, rest) = common::until(&mut child, "wgq: running");
        assert!(ok, "{seen}");
        assert_eq!(seen.contains("imported wg-easy's"), expect_import, "{seen}");
        // unshare and bash exec into each other: the pid is wgq's.
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM);
        let status = child.wait().unwrap();
        while let Ok(l) = rest.recv_timeout(Duration::from_secs(5)) {
            seen += &l;
            seen.push('\n');
        }
        assert_eq!(status.code(), Some(0), "{seen}");
        seen
    };
    let seen = run(&dir, &[], true);
    assert!(seen.contains("users are not imported"), "{seen}");
    assert!(seen.contains("iptables -t nat -A POSTROUTING -s 10.8.0.0/24 -o eth0 -j MASQUERADE"), "the hook did not run: {seen}");
    let server = read(&dir.join("wg0.conf"));
    assert_eq!(server.matches("[Peer]").count(), 5, "{server}");
    assert!(!ns.sh("ip -n NS -o link show").unwrap().contains("wg0"), "wg0 left behind");
    run(&dir, &[], false);
    assert_eq!(read(&dir.join("wg0.conf")), server);
    // With WG_HOST too, and the wg0.json a volume that went from 14 to 15 still holds: the
    // database is imported, and the variables set the endpoint as at every start.
    let both = d.path().join("both");
    std::fs::create_dir_all(&both).unwrap();
    let _ = make_db(&both, &s);
    let old = key(77);
    let json = format!(r#"{{"server": {{"privateKey": "{}", "address": "10.8.0.1"}}, "clients": {{}}}}"#, old.to_base64());
    std::fs::write(both.join("wg0.json"), &json).unwrap();
    let seen = run(&both, &[("WG_HOST", "vpn2.example.org"), ("WG_DEVICE", "v0")], true);
    assert!(seen.contains("wg-easy.db (5 clients)"), "{seen}");
    let server = read(&both.join("wg0.conf"));
    assert!(server.contains(&format!("PrivateKey = {}\n", key(1).to_base64())), "{server}");
    assert!(server.contains("# ClientEndpoint = vpn2.example.org:51820\n"), "{server}");
    assert_eq!(server.matches("[Peer]").count(), 5, "{server}");
    assert_eq!(read(&both.join("wg0.json")), json);
}
