//! Invariants shared by the cargo-fuzz target and the bounded in-tree fuzz test.

use std::path::Path;

/// Parses arbitrary bytes; for accepted input, checks invariants and plans `up`.
pub fn check_config_bytes(data: &[u8]) {
    let path = Path::new("/fuzz/wg0.conf");
    let full = crate::config::parse(data, path);
    // What `up` parses is the same config without the stripped text, or the same errors.
    let unstripped = crate::config::parse_unstripped(data, path);
    match (&full, &unstripped) {
        (Ok(a), Ok(b)) => assert_eq!(crate::config::Config { stripped: Default::default(), ..a.clone() }, *b),
        (Err(a), Err(b)) => assert_eq!(a.0, b.0),
        _ => panic!("parse and parse_unstripped disagree"),
    }
    let Ok(cfg) = full else { return };
    // Every stripped line is an input line (trimmed of spaces and tabs).
    let input: std::collections::HashSet<&[u8]> = data
        .split(|&b| b == b'\n')
        .map(|l| {
            let s = l.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(l.len());
            let e = l.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(s, |e| e + 1);
            &l[s..e]
        })
        .collect();
    for l in cfg.stripped.0.split(|&b| b == b'\n') {
        assert!(l.is_empty() || input.contains(l), "stripped line not in input");
    }
    // Planning an accepted config never panics.
    let facts = crate::plan::UpFacts { nft_available: true, resolvconf_name: "wg0".into(), ..Default::default() };
    let _ = crate::plan::plan_up(&cfg, "wg0", &facts);
    let _ = crate::plan::plan_down(&cfg, "wg0", &crate::plan::DownFacts::default());
}

/// Every CLI value parser of provisioning on arbitrary text: none panics, and what one
/// accepts renders to one line without `#`, `=` or `[` that parses back to the same value.
pub fn check_value_parsers(data: &[u8]) {
    use crate::config::{peers, values};
    let s = String::from_utf8_lossy(data);
    let s = s.as_ref();
    let line_safe = |r: &str| {
        assert!(!r.chars().any(|c| c.is_control() || c == '#' || c == '=' || c == '['), "rendered {r:?} from {s:?}");
    };
    let now = 1_700_000_000;
    if let Ok(e) = peers::parse_expires(s, now) {
        line_safe(&e);
        assert!(peers::parse_time(&e).is_some(), "{e} does not parse back");
    }
    if let Some(t) = peers::parse_time(s) {
        assert_eq!(peers::parse_time(&peers::format_time(t)), Some(t));
    }
    if let Ok(l) = values::NetList::parse(s) {
        let r = l.to_string();
        line_safe(&r);
        assert_eq!(values::NetList::parse(&r).as_ref(), Ok(&l));
    }
    if let Ok(l) = values::DnsList::parse(s) {
        let r = l.to_string();
        line_safe(&r);
        assert!(!r.starts_with('-') && !r.contains(" -"), "{r}");
        assert_eq!(values::DnsList::parse(&r).as_ref(), Ok(&l));
    }
    for e in [values::endpoint(s), values::endpoint_with_default(s, 51820)].into_iter().flatten() {
        let r = e.to_string();
        // An `=` is only in a zone (an interface name may hold one; a value's `=` after the
        // key's is data to wg-quick and wg).
        let outside_zone = r.split('%').next().unwrap_or_default();
        assert!(!r.chars().any(|c| c.is_control() || c == '#' || c == ' '), "rendered {r:?} from {s:?}");
        assert!(!outside_zone.contains('='), "rendered {r:?} from {s:?}");
        assert_eq!(values::endpoint(&r).as_ref(), Ok(&e));
    }
    if let Ok(n) = values::note(s) {
        assert!(!n.chars().any(char::is_control));
    }
    if peers::check_name(s, "wg0").is_ok() {
        assert!(crate::config::locate::is_interface_name(s) && !s.contains('/') && s != "." && s != "..");
    }
    if crate::config::locate::is_interface_name(s) {
        // A name becomes one path component (`IF.conf`, `clients/IF/`): never `.`/`..`.
        assert!(s != "." && s != ".." && !s.contains('/'), "{s:?}");
        let p = std::path::Path::new(s);
        assert!(matches!(p.components().collect::<Vec<_>>().as_slice(), [std::path::Component::Normal(_)]), "{s:?}");
    }
    let _ = crate::key::Key::from_base64(s);
    let _ = crate::net::IpNet::parse(s);
    let _ = crate::config::parse::parse_port(s);
    let _ = crate::config::parse::parse_keepalive(s);
    for piece in values::split(s) {
        let _ = crate::net::IpNet::parse(piece);
    }
    // What is printed of a value read back from a file holds no control character but the tab.
    assert!(!values::clean(s).chars().any(|c| c.is_control() && c != '\t'));
    let t = values::clean_text(data);
    let t = String::from_utf8_lossy(&t);
    let mut it = t.chars().peekable();
    while let Some(c) = it.next() {
        assert!(!c.is_control() || c == '\n' || c == '\t' || (c == '\r' && it.peek() == Some(&'\n')), "{c:?} printed raw");
    }
}

/// The block editor with any file and any selections, overlapping and repeated: edits of
/// distinct blocks always apply and keep every other block; overlapping ones are refused
/// (an error, in every build); nothing panics. The metadata readers and `import` run too.
pub fn check_editor(data: &[u8]) {
    use crate::config::edit::{self, Document};
    use crate::config::peers;
    // The first bytes choose the edits; the rest is the file.
    let (ops, text) = data.split_at(data.len().min(8));
    let doc = Document::parse(text.to_vec());
    let n = doc.blocks.len();
    let _ = peers::peers(&doc);
    let _ = peers::list_entries(&doc.text);
    let _ = peers::server_info(&doc);
    let imported = peers::import(&doc, "wg0");
    let _ = edit::apply(&doc.text, &imported.edits).expect("import makes one edit");
    if n == 0 {
        return;
    }
    let mut edits = Vec::new();
    let mut chosen = Vec::new();
    for &o in ops {
        let b = &doc.blocks[usize::from(o >> 3) % n];
        chosen.push(usize::from(o >> 3) % n);
        edits.push(match o & 7 {
            0 => doc.remove(b),
            1 if !b.disabled => doc.disable(b),
            2 if b.disabled => doc.enable(b),
            3 => doc.replace(b, &peers::set_key(&doc, b, "Name", Some("x"))),
            4 => doc.replace(b, &peers::set_key(&doc, b, "AllowedIPs", None)),
            5 => doc.append("[Peer]\nPublicKey = x\n"),
            _ => doc.replace(b, &doc.block_lines(b)),
        });
    }
    let distinct = {
        let mut c = chosen.clone();
        c.sort_unstable();
        c.dedup();
        c.len() == chosen.len() && ops.iter().filter(|o| *o & 7 == 5).count() <= 1
    };
    match edit::apply(&doc.text, &edits) {
        Ok(out) => {
            // Bytes before the first edited block are kept.
            let first = edits.iter().map(|e| e.range.start).min().unwrap_or(0);
            assert_eq!(out.get(..first), doc.text.get(..first));
        }
        Err(_) => assert!(!distinct, "edits of distinct blocks refused"),
    }
}

/// The SQLite reader and wg-easy 15's database reader on arbitrary bytes: the first four
/// bytes (big-endian) say how many of the rest are the database; the others are its `-wal`
/// file. Nothing panics; every row read has one value per column.
pub fn check_sqlite(data: &[u8]) {
    let (db, wal) = match data.get(..4) {
        Some(n) => {
            let n = (u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize).min(data.len() - 4);
            let (db, wal) = data[4..].split_at(n);
            (db, (!wal.is_empty()).then_some(wal))
        }
        None => (data, None),
    };
    check_sqlite_parts(db, wal);
}

/// [`check_sqlite`] on a database and its log given apart (the in-tree fuzz test mutates a
/// real database and log).
pub fn check_sqlite_parts(db: &[u8], wal: Option<&[u8]>) {
    use crate::config::sqlite;
    if let Ok(d) = sqlite::Database::open(db, wal) {
        for t in ["interfaces_table", "hooks_table", "user_configs_table", "clients_table", "sqlite_schema", "users_table"] {
            if let Ok(t) = d.table(t) {
                assert!(t.rows.iter().all(|r| r.len() == t.columns.len()), "a row without one value per column");
            }
        }
    }
    for ipv6 in [true, false] {
        let env = crate::provision::migrate15::Env { ipv6, ui_port: "51821".into() };
        if let Ok(parsed) = crate::provision::migrate15::parse_database(db, wal, &env) {
            // What is accepted renders to values the server file takes.
            for h in [&parsed.pre_up, &parsed.post_up, &parsed.pre_down, &parsed.post_down].into_iter().flatten() {
                assert!(!h.to_string().contains(['#', '\n']), "{h}");
            }
            assert!(parsed.clients.iter().all(|c| c.v6.is_some() == ipv6));
        }
    }
}

/// A backup (the text of `PUT /api/wireguard/restore`'s `file`): reading it never panics;
/// an accepted one has only one-line names and distinct addresses, and restored into a
/// server file its edits apply, the file parses, and every enabled client of the backup is
/// one enabled peer of it, every other peer gone.
pub fn check_backup(data: &[u8]) {
    use crate::config::{edit, peers};
    use crate::provision::restore::{self, RestoreRequest};
    let Ok(b) = restore::parse_backup(data) else { return };
    let mut seen = std::collections::HashSet::new();
    for c in &b.db.clients {
        assert!(crate::config::values::display_name(&c.name).is_ok(), "{:?}", c.name);
        assert!(seen.insert(c.address), "{} twice", c.address);
    }
    let text = String::from(
        "# the admin's\n[Interface]\n# ClientEndpoint = 192.0.2.1:51820\nAddress = 10.8.0.1/24, fd08::1/64\n\
         ListenPort = 51820\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n\n[Peer]\n# Name = old\n\
         PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nAllowedIPs = 10.8.0.2/32, 192.168.9.0/24\n",
    );
    let doc = edit::Document::parse(text.into_bytes());
    let path = Path::new("/nonexistent/wgq-fuzz/wg0.conf");
    let ctx = crate::provision::Ctx {
        server: crate::provision::Server {
            ifname: "wg0".into(),
            path: path.to_path_buf(),
            clients: "/nonexistent/wgq-fuzz/clients/wg0".into(),
        },
        info: peers::server_info(&doc),
        peers: peers::peers(&doc),
        doc,
        now: 1_700_000_000,
    };
    let Ok(out) = restore::plan_restore(&ctx, &RestoreRequest { backup: &b, keep_as: "before-restore-fuzz" }) else { return };
    let new = edit::apply(&ctx.doc.text, &out.edits).expect("a restore's edits never overlap");
    let cfg = crate::config::parse_unstripped(&new, path).unwrap_or_else(|e| panic!("invalid file:\n{e}"));
    let mut want: Vec<String> = b.db.clients.iter().filter(|c| c.enabled).map(|c| c.public_key.to_base64()).collect();
    let mut have: Vec<String> = cfg.peers.iter().map(|p| p.public_key.to_base64()).collect();
    want.sort();
    have.sort();
    assert_eq!(have, want);
    assert!(String::from_utf8_lossy(&new).starts_with("# the admin's\n[Interface]\n"));
}
