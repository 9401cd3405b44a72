//! `backup` and `restore`: a server file and its clients as wg-easy 14's database
//! (`wg0.json`, read by [`super::migrate`]), and such a database made the file's again.
//!
//! The backup holds the server's key and IPv4 address and every client (its IPv4 address,
//! keys, name, dates, enabled state) in wg-easy's shape, so that wg-easy 14 restores it as
//! well; ids are wgq's client ids (the public key in URL-safe base64). A client that holds
//! its own key has no `privateKey` (as wg-easy's imported clients). wgq adds the server's
//! `listenPort`, which wg-easy keeps in its environment.
//!
//! A restore is one edit of the file under its lock ([`super::edit`]): the server's key,
//! IPv4 address and port and the clients become the backup's; clients that are not in it are
//! removed; a client already in the file (the same public key) keeps its block, its name,
//! its other addresses and its other lines, and only what differs changes. The file as it
//! was, and every client file written over or removed, is kept first
//! ([`super::Outcome::keep_as`]). Running, only the changed peers are applied, or the whole
//! interface reloaded in place when the server's key, address or port changed.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::migrate::{self, Client, Database};
use super::util::{self, client_shown};
use super::{AddRequest, Ctx, EditOpts, Edited, Host, Note, Outcome, ProvisionError, Server, edit, spec};
use crate::config::edit::{DISABLED_PREFIX, Section};
use crate::config::json::{self, Json};
use crate::config::peers::{self, NewPeer, PeerEntry};
use crate::config::values::shown;
use crate::key::{Key, SecretKey};
use crate::net::IpNet;
use crate::plan::peer::PeerChange;

/// A backup: wg-easy's database, the server's port, and the clients' IPv6 addresses
/// (`addressV6`, as wg-easy's forks with IPv6 name it; wg-easy 14 has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    pub db: Database,
    pub listen_port: Option<u16>,
    pub v6: HashMap<Key, Ipv6Addr>,
}

/// Why a backup cannot be made or restored (nothing was changed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackupError {
    #[error("{}: the server has no IPv4 address (a wg-easy backup holds one)", .0.display())]
    ServerNoIpv4(std::path::PathBuf),
    #[error("client {} ({id}): no IPv4 address (a wg-easy backup holds one per client)", shown(name))]
    ClientNoIpv4 { name: String, id: String },
    #[error("client {}: \"{field}\" {address} is not a free address of the server's {pool}", shown(id))]
    Outside { id: String, field: &'static str, address: IpAddr, pool: IpNet },
    #[error("client {}: address {address} is taken twice", shown(id))]
    Taken { id: String, address: IpAddr },
}

/// What to restore.
#[derive(Debug, Clone)]
pub struct RestoreRequest<'a> {
    pub backup: &'a Backup,
    /// The suffix of the copies kept of the file and the client files
    /// (`before-restore-<UTC time>`).
    pub keep_as: &'a str,
}

/// A client's id: its public key in URL-safe base64 without padding (the web page's).
pub fn client_id(k: &Key) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k.0)
}

/// The most clients a backup may hold.
pub const MAX_CLIENTS: usize = 65_536;

/// The `PrivateKey` of a client file's `[Interface]`, when it is the key of `public`.
fn private_key_of(bytes: &[u8], public: &Key) -> Option<SecretKey> {
    let d = crate::config::edit::Document::parse(bytes.to_vec());
    let b = d.blocks.iter().find(|b| b.section == Section::Interface && !b.disabled)?;
    d.block_lines(b).into_iter().find_map(|l| {
        let t = std::str::from_utf8(l).ok()?.trim();
        let (k, v) = t.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("PrivateKey") {
            return None;
        }
        SecretKey::from_base64(v.trim()).ok().filter(|sk| sk.public_key() == *public)
    })
}

/// The value of the first `key` line of a client file's `section`.
fn value_of(bytes: &[u8], section: Section, key: &str) -> Option<String> {
    let d = crate::config::edit::Document::parse(bytes.to_vec());
    let b = d.blocks.iter().find(|b| b.section == section && !b.disabled)?;
    d.block_lines(b).into_iter().find_map(|l| {
        let (k, v) = std::str::from_utf8(l).ok()?.trim().split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then(|| v.trim().to_string())
    })
}

/// The first IPv4 host address of a peer.
fn v4_of(p: &PeerEntry) -> Option<Ipv4Addr> {
    p.allowed_ips.iter().find_map(|n| match n.addr {
        IpAddr::V4(a) if n.prefix == 32 => Some(a),
        _ => None,
    })
}

/// The first IPv6 host address of a peer.
fn v6_of(p: &PeerEntry) -> Option<Ipv6Addr> {
    p.allowed_ips.iter().find_map(|n| match n.addr {
        IpAddr::V6(a) if n.prefix == 128 => Some(a),
        _ => None,
    })
}

/// The server file and its clients as a backup (read only; no lock needed: the file is
/// read whole at once).
pub fn backup(server: Server) -> Result<Backup, ProvisionError> {
    let c = super::read_server(server)?;
    let server_key = c.info.private_key.clone().ok_or_else(|| ProvisionError::NoServerKey(c.server.path.clone()))?;
    let server_address = c
        .info
        .addresses
        .iter()
        .find_map(|n| match n.addr {
            IpAddr::V4(a) => Some(a),
            _ => None,
        })
        .ok_or_else(|| ProvisionError::Backup(BackupError::ServerNoIpv4(c.server.path.clone())))?;
    let mut clients = Vec::with_capacity(c.peers.len());
    let mut v6 = HashMap::new();
    for p in &c.peers {
        let Some(public_key) = p.public_key else { continue };
        let id = client_id(&public_key);
        let name = p.display_name.clone().or_else(|| p.name.clone()).unwrap_or_else(|| public_key.to_base64());
        let address =
            v4_of(p).ok_or_else(|| ProvisionError::Backup(BackupError::ClientNoIpv4 { name: name.clone(), id: id.clone() }))?;
        let private_key = p.name.as_deref().and_then(|n| c.client_file(n)).and_then(|b| private_key_of(&b, &public_key));
        if let Some(a) = v6_of(p) {
            v6.insert(public_key, a);
        }
        clients.push(Client {
            id,
            name,
            address,
            private_key,
            public_key,
            preshared_key: p.preshared_key.clone(),
            created: p.created.as_deref().and_then(peers::parse_time),
            expires: p.expires.as_deref().and_then(peers::parse_time),
            enabled: !p.disabled,
        });
    }
    Ok(Backup { db: Database { server_key, server_address, clients }, listen_port: c.info.listen_port, v6 })
}

/// Reads a backup (pure): at most [`migrate::MAX_DB`] bytes, every value typed, a value of
/// the wrong type refused (wg-easy's own import of its file is laxer), every name one line
/// of printable text. Errors name the client (its id) and the field.
pub fn parse_backup(text: &[u8]) -> Result<Backup, String> {
    if text.len() as u64 > migrate::MAX_DB {
        return Err(format!("larger than {} MiB", migrate::MAX_DB >> 20));
    }
    let v = json::parse(text).map_err(|e| e.to_string())?;
    let Json::Obj(_) = v else { return Err("not a JSON object".into()) };
    let Some(server @ Json::Obj(_)) = v.get("server") else { return Err("no \"server\" object".into()) };
    let listen_port = match server.get("listenPort") {
        None | Some(Json::Null) => None,
        Some(Json::Num(n)) => {
            Some(n.parse::<u16>().ok().filter(|p| *p != 0).ok_or("the server's \"listenPort\" is not a port (1-65535)")?)
        }
        Some(_) => return Err("the server's \"listenPort\" is not a number".into()),
    };
    for k in ["privateKey", "publicKey", "address"] {
        if !matches!(server.get(k), None | Some(Json::Str(_) | Json::Null)) {
            return Err(format!("the server's \"{k}\" is not a string"));
        }
    }
    let mut v6_by_id: HashMap<&str, Ipv6Addr> = HashMap::new();
    let mut v6_seen: HashSet<Ipv6Addr> = HashSet::new();
    if let Some(Json::Obj(members)) = v.get("clients") {
        if members.len() > MAX_CLIENTS {
            return Err(format!("more than {MAX_CLIENTS} clients"));
        }
        let mut ids = HashSet::new();
        for (i, (id, c)) in members.iter().enumerate() {
            // Its place too: an id that looks like a key is hidden in messages.
            let err = |what: &str| format!("client {} ({}): {what}", i + 1, shown(id));
            if !ids.insert(id.as_str()) {
                return Err(err("its id is there twice"));
            }
            if !matches!(c, Json::Obj(_)) {
                return Err(err("not an object"));
            }
            match c.get("name") {
                Some(Json::Str(n)) => {
                    crate::config::values::display_name(n.trim()).map_err(|e| err(&format!("\"name\": {e}")))?;
                }
                _ => return Err(err("\"name\" is not a string")),
            }
            for k in ["id", "address", "privateKey", "publicKey", "preSharedKey", "createdAt", "updatedAt", "expiredAt"] {
                if !matches!(c.get(k), None | Some(Json::Str(_) | Json::Null)) {
                    return Err(err(&format!("\"{k}\" is not a string")));
                }
            }
            if !matches!(c.get("enabled"), None | Some(Json::Bool(_))) {
                return Err(err("\"enabled\" is not true or false"));
            }
            match c.get("addressV6") {
                None | Some(Json::Null) => {}
                Some(Json::Str(a)) => {
                    let a: Ipv6Addr = a.parse().map_err(|_| err("\"addressV6\" is not an IPv6 address"))?;
                    if !v6_seen.insert(a) {
                        return Err(err(&format!("address {a} is taken twice")));
                    }
                    v6_by_id.insert(id, a);
                }
                Some(_) => return Err(err("\"addressV6\" is not a string")),
            }
        }
    }
    let mut db = migrate::parse_database(text)?;
    let mut v6 = HashMap::new();
    for c in &mut db.clients {
        c.name = c.name.trim().to_string();
        if let Some(a) = v6_by_id.get(c.id.as_str()) {
            v6.insert(c.public_key, *a);
        }
    }
    Ok(Backup { db, listen_port, v6 })
}

/// `list` with its first IPv4 host entry replaced by `v4` (first) and its first IPv6 host
/// entry by `v6` (second) when given; the others kept in their order.
fn with_hosts(list: &[IpNet], v4: IpNet, v6: Option<IpNet>) -> Vec<IpNet> {
    let mut out = vec![v4];
    out.extend(v6);
    let (mut seen4, mut seen6) = (false, v6.is_none());
    for n in list {
        if n.addr.is_ipv4() && n.prefix == 32 && !seen4 {
            seen4 = true;
        } else if n.addr.is_ipv6() && n.prefix == 128 && !seen6 {
            seen6 = true;
        } else {
            out.push(*n);
        }
    }
    out
}

fn nets(v: &[IpNet]) -> String {
    v.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
}

/// Restores a backup (see the module's text).
pub fn restore(host: &Host, server: Server, opts: &EditOpts, r: &RestoreRequest<'_>) -> Result<Edited, ProvisionError> {
    edit(host, server, opts, |c| plan_restore(c, r))
}

pub(crate) fn plan_restore(c: &Ctx, r: &RestoreRequest<'_>) -> Result<Outcome, ProvisionError> {
    let db = &r.backup.db;
    let bad = ProvisionError::Backup;
    let mut out = Outcome { keep_as: Some(r.keep_as.to_string()), ..Default::default() };
    // The server: key, IPv4 address (the pool's prefix kept; /24 as wg-easy's when new), port.
    let iface = c
        .doc
        .blocks
        .iter()
        .find(|b| b.section == Section::Interface && !b.disabled)
        .ok_or_else(|| ProvisionError::NoServerKey(c.server.path.clone()))?;
    let before: Vec<Vec<u8>> = c.doc.block_lines(iface).into_iter().map(<[u8]>::to_vec).collect();
    let mut lines = before.clone();
    let key_changed = c.info.private_key.as_ref() != Some(&db.server_key);
    if key_changed {
        lines = util::set_lines(&lines, "PrivateKey", Some(&db.server_key.to_base64()));
    }
    let old_v4 = c.info.addresses.iter().find(|n| n.addr.is_ipv4()).copied();
    let prefix = old_v4.map_or(24, |n| n.prefix);
    let server_net = IpNet::new(IpAddr::V4(db.server_address), prefix);
    if old_v4.map(|n| n.addr) != Some(IpAddr::V4(db.server_address)) {
        let mut all = vec![server_net];
        all.extend(c.info.addresses.iter().filter(|n| !n.addr.is_ipv4()).copied());
        lines = util::set_lines(&lines, "Address", Some(&nets(&all)));
    }
    let port_changed = r.backup.listen_port.filter(|p| c.info.listen_port != Some(*p));
    if let Some(p) = port_changed {
        lines = util::set_lines(&lines, "ListenPort", Some(&p.to_string()));
    }
    // The clients' endpoint follows the port where it is the server's old port (a
    // forwarded port of another number stays): `(old, new)`.
    let endpoint = port_changed.and_then(|new| {
        let old = crate::config::values::endpoint(&util::client_endpoint(c, None).ok()?).ok()?;
        (Some(old.port) == c.info.listen_port)
            .then(|| (old.to_string(), crate::config::Endpoint { host: old.host.clone(), port: new }.to_string()))
    });
    if let (Some((_, new)), Some(given)) = (&endpoint, &c.info.endpoint)
        && (given.starts_with('[') || !given.contains("::"))
        && crate::config::values::endpoint(given).is_ok()
    {
        // `# ClientEndpoint = HOST:PORT` (one without a port takes ListenPort's already).
        lines = super::configure::set_lines(lines, "ClientEndpoint", true, std::slice::from_ref(new));
    }
    if lines != before {
        out.edits.push(c.doc.replace(iface, &lines));
        out.reload = true;
    }
    let server_pub = db.server_key.public_key();
    let pool = IpNet::new(server_net.addr, prefix);
    for cl in &db.clients {
        // A name becomes a `# DisplayName =` line: one line of printable text (parse_backup
        // said so already; a backup made otherwise is held to it here).
        util::display_name(&cl.name)?;
    }
    let pool6 = c.info.addresses.iter().find(|n| n.addr.is_ipv6()).copied();
    // A pool's network and broadcast addresses (IPv6: subnet-router anycast) are no
    // client's, as `peer add --ip` says.
    let none = crate::plan::alloc::Used::new(&[]);
    let reserved = |p: IpNet, a: IpAddr| crate::plan::alloc::check_given(&none, &[p], a).is_err();
    for cl in &db.clients {
        if !pool.contains(&IpNet::new(IpAddr::V4(cl.address), 32)) || reserved(pool, IpAddr::V4(cl.address)) {
            return Err(bad(BackupError::Outside { id: cl.id.clone(), field: "address", address: IpAddr::V4(cl.address), pool }));
        }
        if let (Some(a), Some(p6)) = (r.backup.v6.get(&cl.public_key), pool6)
            && (!p6.contains(&IpNet::new(IpAddr::V6(*a), 128)) || IpAddr::V6(*a) == p6.addr || reserved(p6, IpAddr::V6(*a)))
        {
            return Err(bad(BackupError::Outside { id: cl.id.clone(), field: "addressV6", address: IpAddr::V6(*a), pool: p6 }));
        }
    }
    // IPv6 addresses: the backup's (where the server has an IPv6 pool); a client in the file
    // keeps its own otherwise; a new one gets the next free, as `peer add` gives.
    let mut taken6: Vec<IpNet> = c.info.addresses.iter().map(|a| IpNet::new(a.addr, a.max_prefix())).collect();
    taken6.extend(c.peers.iter().flat_map(|p| p.allowed_ips.iter().map(|a| a.network())));
    taken6.extend(r.backup.v6.values().map(|a| IpNet::new(IpAddr::V6(*a), 128)));
    let mut used6 = crate::plan::alloc::Used::new(&taken6);
    let mut allocated: HashSet<Ipv6Addr> = HashSet::new();
    let mut v6_for = |cl: &Client, p: Option<&PeerEntry>, used6: &mut crate::plan::alloc::Used| -> Option<Ipv6Addr> {
        let p6 = pool6?;
        if let Some(a) = r.backup.v6.get(&cl.public_key) {
            return Some(*a);
        }
        if let Some(a) = p.and_then(v6_of) {
            return Some(a);
        }
        // The IPv4 address's offset, as `peer add` gives; `used6` is marked only when an
        // address this restore gave comes again (marking every one would be quadratic).
        let prefer = crate::plan::alloc::offset(&pool, IpAddr::V4(cl.address));
        loop {
            match used6.next_free(&p6, Some(prefer)) {
                Ok(IpAddr::V6(a)) if allocated.insert(a) => return Some(a),
                Ok(a) => used6.insert(a),
                Err(_) => return None,
            }
        }
    };
    let mut final6: HashMap<Ipv6Addr, &str> = HashMap::new();
    // The file's blocks by key: one block per key, or the restore would act on one of them.
    let mut in_file: HashMap<Key, &PeerEntry> = HashMap::new();
    for p in &c.peers {
        if let Some(k) = p.public_key
            && let Some(other) = in_file.insert(k, p)
        {
            return Err(ProvisionError::Ambiguous {
                path: c.server.path.clone(),
                name: k.to_base64(),
                lines: vec![other.line, p.line],
            });
        }
    }
    let wanted: HashMap<Key, &Client> = db.clients.iter().map(|cl| (cl.public_key, cl)).collect();
    // Names of the file stay taken (a removed client's file name is not given to a new one).
    let mut taken: HashSet<String> = c.peers.iter().filter_map(|p| p.name.clone()).collect();
    let mut next = 1;
    for p in &c.peers {
        match p.public_key.and_then(|k| wanted.get(&k)) {
            None => {
                out.edits.push(c.doc.remove(c.block(p)));
                out.changes.push(PeerChange { before: spec(p), after: None });
                let name = p.name.clone().unwrap_or_else(|| p.public_key.map(|k| k.to_base64()).unwrap_or_default());
                if c.client_file(&name).is_some() {
                    out.clients.push((name.clone(), None));
                }
                out.notes.push(Note::Removed(name));
            }
            Some(cl) => {
                let a6 = v6_for(cl, Some(p), &mut used6);
                if let Some(a) = a6
                    && final6.insert(a, &cl.id).is_some()
                {
                    return Err(bad(BackupError::Taken { id: cl.id.clone(), address: IpAddr::V6(a) }));
                }
                let names = (&mut taken, &mut next);
                update(c, p, cl, a6, key_changed, &server_pub, endpoint.as_ref(), names, &mut out)?
            }
        }
    }
    // New clients, in the backup's order, appended as one edit.
    let nl = c.doc.newline();
    let mut appended = String::new();
    for cl in db.clients.iter().filter(|cl| !in_file.contains_key(&cl.public_key)) {
        let name = free_name(&cl.name, &c.server.ifname, &mut taken, &mut next)?;
        let mut addresses = vec![IpNet::new(IpAddr::V4(cl.address), 32)];
        if let Some(a) = v6_for(cl, None, &mut used6) {
            if final6.insert(a, &cl.id).is_some() {
                return Err(bad(BackupError::Taken { id: cl.id.clone(), address: IpAddr::V6(a) }));
            }
            addresses.push(IpNet::new(IpAddr::V6(a), 128));
        }
        let block = NewPeer {
            name: name.clone(),
            display_name: (cl.name != name).then(|| cl.name.clone()),
            created: peers::format_time(cl.created.unwrap_or(c.now)),
            expires: cl.expires.map(peers::format_time),
            note: None,
            p2p: false,
            public_key: cl.public_key,
            preshared_key: cl.preshared_key.clone(),
            allowed_ips: addresses.clone(),
        };
        if !appended.is_empty() {
            appended.push_str(nl);
        }
        for l in peers::peer_lines(&block) {
            if !cl.enabled {
                appended.push_str(DISABLED_PREFIX);
            }
            appended.push_str(&l);
            appended.push_str(nl);
        }
        // As `peer add` does: a client file, with the client's key or the line saying that
        // the client holds its own.
        let a = AddRequest { name: &name, endpoint: endpoint.as_ref().map(|(_, e)| e.as_str()), ..Default::default() };
        let text =
            super::add::client_text(c, &a, cl.private_key.clone(), addresses.clone(), cl.preshared_key.clone(), server_pub)?;
        util::check_client(&text, &name)?;
        out.notes.push(Note::Added {
            name: name.clone(),
            addresses: addresses.iter().map(|n| n.addr).collect(),
            client: Some(client_shown(c, &name)),
        });
        out.clients.push((name, Some(text.into_bytes())));
        let entry = PeerEntry {
            public_key: Some(cl.public_key),
            preshared_key: cl.preshared_key.clone(),
            allowed_ips: addresses,
            disabled: !cl.enabled,
            ..Default::default()
        };
        out.changes.push(PeerChange { before: None, after: spec(&entry) });
    }
    if !appended.is_empty() {
        out.edits.push(c.doc.append(&appended));
    }
    Ok(out)
}

/// The file name of a client whose name (for people) is `display`, as the web page gives
/// it: `display` itself when it is a free file-safe name; else its ASCII letters and digits
/// (the first 15) when free; else the first free `client-N`, N from `*next` (kept for the
/// next call: many names cost no more than one each).
pub fn file_name_for(display: &str, ifname: &str, free: impl Fn(&str) -> bool, next: &mut usize) -> Option<String> {
    let ok = |n: &str| peers::check_name(n, ifname).is_ok() && free(n);
    if ok(display) {
        return Some(display.to_string());
    }
    let ascii: String = display.chars().filter(char::is_ascii_alphanumeric).take(15).collect();
    if !ascii.is_empty() && ok(&ascii) {
        return Some(ascii);
    }
    while *next < 10_000_000 {
        let n = format!("client-{next}");
        *next += 1;
        if ok(&n) {
            return Some(n);
        }
    }
    None
}

/// [`file_name_for`] among `taken` (and taken with it).
fn free_name(display: &str, ifname: &str, taken: &mut HashSet<String>, next: &mut usize) -> Result<String, ProvisionError> {
    let n = file_name_for(display, ifname, |n| !taken.contains(n), next)
        .ok_or_else(|| ProvisionError::Name(peers::NameError::Invalid(shown(display))))?;
    taken.insert(n.clone());
    Ok(n)
}

/// A client in the file and in the backup: only what differs changes.
#[allow(clippy::too_many_arguments)]
fn update(
    c: &Ctx,
    p: &PeerEntry,
    cl: &Client,
    v6: Option<Ipv6Addr>,
    key_changed: bool,
    server_pub: &Key,
    endpoint: Option<&(String, String)>,
    (taken, next): (&mut HashSet<String>, &mut usize),
    out: &mut Outcome,
) -> Result<(), ProvisionError> {
    let b = c.block(p);
    let before: Vec<Vec<u8>> = c.doc.block_lines(b).into_iter().map(<[u8]>::to_vec).collect();
    let mut lines = before.clone();
    let name = match &p.name {
        Some(n) => n.clone(),
        None => {
            // From where the last search ended: many unnamed peers cost no more than one each.
            let n = free_name(&cl.name, &c.server.ifname, taken, next)?;
            lines = util::set_lines(&lines, "Name", Some(&n));
            n
        }
    };
    let display = (cl.name != name).then_some(cl.name.as_str());
    if p.display_name.as_deref() != display {
        lines = util::set_lines(&lines, "DisplayName", display);
    }
    if let Some(t) = cl.created
        && p.created.as_deref().and_then(peers::parse_time) != Some(t)
    {
        lines = util::set_lines(&lines, "Created", Some(&peers::format_time(t)));
    }
    if p.expires.as_deref().and_then(peers::parse_time) != cl.expires {
        lines = util::set_lines(&lines, "Expires", cl.expires.map(peers::format_time).as_deref());
    }
    let psk_changed = p.preshared_key != cl.preshared_key;
    if psk_changed {
        lines = util::set_lines(&lines, "PresharedKey", cl.preshared_key.as_ref().map(|k| k.to_base64()).as_deref());
    }
    let mut after = p.clone();
    let v4 = IpNet::new(IpAddr::V4(cl.address), 32);
    let v6net = v6.map(|a| IpNet::new(IpAddr::V6(a), 128));
    let address_changed = v4_of(p) != Some(cl.address) || (v6.is_some() && v6_of(p) != v6);
    if address_changed {
        after.allowed_ips = with_hosts(&p.allowed_ips, v4, v6net);
        lines = util::set_lines(&lines, "AllowedIPs", Some(&nets(&after.allowed_ips)));
    }
    after.preshared_key = cl.preshared_key.clone();
    after.disabled = !cl.enabled;
    if lines != before || p.disabled != after.disabled {
        out.edits.push(c.doc.replace_as(b, &lines, after.disabled));
    }
    out.changes.push(PeerChange { before: spec(p), after: spec(&after) });
    // Its client file, where one is kept: the lines that differ.
    let stored = c.client_file(&name);
    match stored {
        Some(bytes) => {
            let mut new = bytes.clone();
            if key_changed {
                new = util::set_in_client(&new, Section::Peer, "PublicKey", Some(&server_pub.to_base64()))?;
            }
            if psk_changed {
                new = util::set_in_client(
                    &new,
                    Section::Peer,
                    "PresharedKey",
                    cl.preshared_key.as_ref().map(|k| k.to_base64()).as_deref(),
                )?;
            }
            if address_changed {
                let (addresses, _) = util::addresses_and_routes(c, p);
                new = util::set_in_client(&new, Section::Interface, "Address", Some(&nets(&with_hosts(&addresses, v4, v6net))))?;
            }
            if let Some((old, new_ep)) = endpoint
                && value_of(&bytes, Section::Peer, "Endpoint").as_deref() == Some(old.as_str())
            {
                new = util::set_in_client(&new, Section::Peer, "Endpoint", Some(new_ep))?;
            }
            if let Some(sk) = &cl.private_key
                && private_key_of(&bytes, &cl.public_key).as_ref() != Some(sk)
            {
                new = util::set_in_client(&new, Section::Interface, "PrivateKey", Some(&sk.to_base64()))?;
            }
            if new != bytes {
                util::check_client(&String::from_utf8_lossy(&new), &name)?;
                out.notes.push(Note::ClientChanged(client_shown(c, &name)));
                out.clients.push((name, Some(new)));
            }
        }
        None => {
            if let Some(sk) = &cl.private_key {
                let (addresses, _) = util::addresses_and_routes(c, p);
                let a = AddRequest { name: &name, endpoint: endpoint.map(|(_, e)| e.as_str()), ..Default::default() };
                let text = super::add::client_text(
                    c,
                    &a,
                    Some(sk.clone()),
                    with_hosts(&addresses, v4, v6net),
                    cl.preshared_key.clone(),
                    *server_pub,
                )?;
                util::check_client(&text, &name)?;
                out.notes.push(Note::ClientChanged(client_shown(c, &name)));
                out.clients.push((name, Some(text.into_bytes())));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_backups_are_refused_naming_client_and_field() {
        let k = |b: u8| SecretKey::from_bytes([b; 32]);
        let good = format!(
            r#"{{"server":{{"privateKey":"{}","address":"10.8.0.1","listenPort":51999}},
"clients":{{"a":{{"id":"a","name":"Zoë's phone","address":"10.8.0.2","publicKey":"{}","enabled":false}}}}}}"#,
            k(1).to_base64(),
            k(2).public_key().to_base64()
        );
        let b = parse_backup(good.as_bytes()).unwrap();
        assert_eq!(b.listen_port, Some(51999));
        assert_eq!((b.db.clients[0].name.as_str(), b.db.clients[0].enabled), ("Zoë's phone", false));
        for (from, to, why) in [
            ("Zoë's phone", "a\\r\\nPostUp = x", "client 1 (`a'): \"name\""),
            ("\"name\":\"Zoë's phone\"", "\"name\":5", "client 1 (`a'): \"name\" is not a string"),
            ("\"enabled\":false", "\"enabled\":\"no\"", "\"enabled\" is not"),
            ("\"address\":\"10.8.0.2\"", "\"address\":[1]", "\"address\" is not a string"),
            ("51999", "70000", "listenPort"),
            ("51999", "\"1\"", "listenPort"),
            (&k(2).public_key().to_base64(), "AAAA", "publicKey"),
            ("{\"id\":\"a\"", "[{\"id\":\"a\"", "JSON"),
        ] {
            let t = good.replacen(from, to, 1);
            assert_ne!(t, good, "{from}");
            let e = parse_backup(t.as_bytes()).unwrap_err();
            assert!(e.contains(why), "{to}: {e}");
        }
        let big = vec![b' '; migrate::MAX_DB as usize + 1];
        assert!(parse_backup(&big).unwrap_err().contains("larger"));
    }

    #[test]
    fn names_are_file_safe_and_unique() {
        let mut taken: HashSet<String> = ["phone".to_string(), "Zosphone".to_string()].into();
        let mut next = 1;
        let mut f = |n: &str| free_name(n, "wg0", &mut taken, &mut next).unwrap();
        assert_eq!(f("laptop"), "laptop");
        assert_eq!(f("phone"), "client-1");
        assert_eq!(f("Zoë's laptop"), "Zoslaptop");
        assert_eq!(f("Zoë's phone"), "client-2");
        assert_eq!(f("wg0"), "client-3");
        assert_eq!(f(".."), "client-4");
        assert_eq!(f("张伟的手机"), "client-5");
        assert_eq!(f("a very long name indeed"), "averylongnamein");
    }

    #[test]
    fn ids_are_url_safe() {
        let k = Key([0xfb; 32]);
        let id = client_id(&k);
        assert!(!id.contains(['+', '/', '=']) && id.len() == 43, "{id}");
    }
}

#[cfg(test)]
mod scale_tests {
    use super::*;

    /// A backup of `n` clients, each with its own public key, IPv4 and IPv6 address.
    pub(super) fn big_backup(n: usize) -> String {
        let server = SecretKey::from_bytes([7; 32]);
        let mut s = format!(r#"{{"server":{{"privateKey":"{}","address":"10.0.0.1"}},"clients":{{"#, server.to_base64());
        for i in 0..n {
            let mut k = [0u8; 32];
            k[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
            let pk = Key(k).to_base64();
            let a = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 1, 0, 0)) + i as u32);
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!(
                r#""c{i}":{{"id":"c{i}","name":"c{i}","address":"{a}","addressV6":"fd00::{:x}:{:x}","publicKey":"{pk}","enabled":true}}"#,
                (i >> 16) + 1,
                i & 0xffff
            ));
        }
        s.push_str("}}");
        s
    }

    /// A file of `n` peers without `# Name` (as wg-quick users write them) restored from a
    /// backup that names every client alike: each gets the next free `client-N`, found from
    /// where the last search ended (from 1 each time: about n²/2 names tried, minutes here).
    #[test]
    fn unnamed_peers_are_named_in_linear_time() {
        let n = 20_000;
        let server = SecretKey::from_bytes([7; 32]);
        let mut text =
            format!("[Interface]\nPrivateKey = {}\nAddress = 10.0.0.1/8, fd00::1/64\nListenPort = 51820\n", server.to_base64());
        let mut b = parse_backup(big_backup(n).as_bytes()).unwrap();
        for cl in &mut b.db.clients {
            text.push_str(&format!("\n[Peer]\nPublicKey = {}\nAllowedIPs = {}/32\n", cl.public_key.to_base64(), cl.address));
            cl.name = "phone".into();
        }
        let doc = crate::config::edit::Document::parse(text.into_bytes());
        let ctx = Ctx {
            server: Server { ifname: "wg0".into(), path: "/nonexistent/wg0.conf".into(), clients: "/nonexistent/clients".into() },
            info: peers::server_info(&doc),
            peers: peers::peers(&doc),
            doc,
            now: 1_700_000_000,
        };
        let start = std::time::Instant::now();
        let out = plan_restore(&ctx, &RestoreRequest { backup: &b, keep_as: "before-restore-t" }).unwrap();
        let took = start.elapsed();
        eprintln!("a restore naming {n} unnamed peers planned in {:.2} s", took.as_secs_f64());
        let new = crate::config::edit::apply(&ctx.doc.text, &out.edits).unwrap();
        let new = String::from_utf8(new).unwrap();
        assert!(new.contains("# Name = phone\n") && new.contains(&format!("# Name = client-{}\n", n - 1)), "{}", &new[..2000]);
        assert!(!new.contains(&format!("# Name = client-{n}\n")));
        assert!(took < std::time::Duration::from_secs(20), "{took:?}");
    }

    #[test]
    fn the_largest_backup_is_read_in_linear_time() {
        let t = big_backup(MAX_CLIENTS);
        let start = std::time::Instant::now();
        let b = parse_backup(t.as_bytes()).unwrap();
        let took = start.elapsed();
        assert_eq!(b.db.clients.len(), MAX_CLIENTS);
        assert_eq!(b.v6.len(), MAX_CLIENTS);
        // Quadratic checks (each client against every earlier one) take minutes here.
        assert!(took < std::time::Duration::from_secs(20), "{took:?}");
    }
}
