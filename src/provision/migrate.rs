//! Migration of a wg-easy 14 volume: its database `wg0.json` becomes a wgq server file and
//! client files, losing no client, key, name, expiry or disabled state. Everything in the
//! database is read and checked first; only then is wg-easy's generated `wg0.conf` moved aside
//! (`wg0.conf.wg-easy`) and wgq's written, through [`super::init`], [`super::add`] and
//! [`super::disable`]. A failure after that removes what was written and puts wg-easy's file
//! back. `wg0.json` is never changed.

use std::collections::HashSet;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use super::wgeasy::{IFNAME, WgEasy};
use super::{AddRequest, EditOpts, Host, ProvisionError, Target, add, disable};
use crate::config::json::{self, Json};
use crate::config::peers::{self, fit_name};
use crate::key::{Key, SecretKey};

/// The most of `wg0.json` that is read (wg-easy keeps a few hundred bytes per client).
pub const MAX_DB: u64 = 16 << 20;

/// One client of wg-easy's database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub address: Ipv4Addr,
    /// `None`: imported into wg-easy with its public key only.
    pub private_key: Option<SecretKey>,
    pub public_key: Key,
    pub preshared_key: Option<SecretKey>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
    pub enabled: bool,
}

/// wg-easy's database, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    pub server_key: SecretKey,
    pub server_address: Ipv4Addr,
    /// In the order they were made (then as in the file).
    pub clients: Vec<Client>,
}

/// wg-easy's dates (`2024-05-01T12:34:56.789Z`, JavaScript's toISOString) in seconds.
fn iso_time(s: &str) -> Option<i64> {
    let base = match (s.find('.'), s.strip_suffix('Z')) {
        (Some(dot), Some(_)) => format!("{}Z", &s[..dot]),
        _ => s.to_string(),
    };
    peers::parse_time(&base)
}

/// Reads and checks the database (pure). Errors name the client by its id.
pub fn parse_database(text: &[u8]) -> Result<Database, String> {
    let v = json::parse(text).map_err(|e| e.to_string())?;
    let server = v.get("server").ok_or("no \"server\" object")?;
    let key = |o: &Json, k: &str| -> Result<Option<SecretKey>, String> {
        match o.get(k) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Str(s)) if s.is_empty() => Ok(None),
            Some(Json::Str(s)) => SecretKey::from_base64(s).map(Some).map_err(|_| format!("\"{k}\" is not a key")),
            Some(_) => Err(format!("\"{k}\" is not a string")),
        }
    };
    let server_key = key(server, "privateKey")?.ok_or("the server has no \"privateKey\"")?;
    if let Some(p) = server.get("publicKey").and_then(Json::as_str)
        && Key::from_base64(p).ok() != Some(server_key.public_key())
    {
        return Err("the server's \"publicKey\" is not that of its \"privateKey\"".into());
    }
    let server_address: Ipv4Addr = server
        .get("address")
        .and_then(Json::as_str)
        .and_then(|a| a.parse().ok())
        .ok_or("the server's \"address\" is not an IPv4 address")?;
    let mut clients = Vec::new();
    match v.get("clients") {
        None | Some(Json::Null) => {}
        Some(Json::Obj(members)) => {
            for (i, (id, c)) in members.iter().enumerate() {
                let shown = crate::config::values::shown(id);
                let err = |what: String| format!("client {shown}: {what}");
                let text = |k: &str| c.get(k).and_then(Json::as_str);
                let private_key = key(c, "privateKey").map_err(err)?;
                let public_key = match (text("publicKey").map(Key::from_base64), &private_key) {
                    (Some(Ok(p)), Some(sk)) if sk.public_key() != p => {
                        return Err(err("\"publicKey\" is not that of its \"privateKey\"".into()));
                    }
                    (Some(Ok(p)), _) => p,
                    (None, Some(sk)) => sk.public_key(),
                    _ => return Err(err("no valid \"publicKey\"".into())),
                };
                let address: Ipv4Addr = text("address")
                    .and_then(|a| a.parse().ok())
                    .ok_or_else(|| err("\"address\" is not an IPv4 address".into()))?;
                let time = |k: &str| -> Result<Option<i64>, String> {
                    match c.get(k) {
                        None | Some(Json::Null) => Ok(None),
                        Some(Json::Str(s)) => iso_time(s).map(Some).ok_or_else(|| err(format!("\"{k}\" is not a date"))),
                        Some(_) => Err(err(format!("\"{k}\" is not a date"))),
                    }
                };
                clients.push((
                    i,
                    Client {
                        id: id.clone(),
                        name: text("name").unwrap_or("").to_string(),
                        address,
                        private_key,
                        public_key,
                        preshared_key: key(c, "preSharedKey").map_err(err)?,
                        created: time("createdAt")?,
                        expires: time("expiredAt")?,
                        enabled: c.get("enabled").and_then(Json::as_bool).unwrap_or(true),
                    },
                ));
            }
        }
        Some(_) => return Err("\"clients\" is not an object".into()),
    }
    clients.sort_by_key(|(i, c)| (c.created.unwrap_or(i64::MAX), *i));
    let clients: Vec<Client> = clients.into_iter().map(|(_, c)| c).collect();
    // Each client against the earlier ones (sets: a backup may hold 65,536 clients).
    let server_public = server_key.public_key();
    let mut addresses: HashSet<Ipv4Addr> = HashSet::from([server_address]);
    let mut keys: HashSet<Key> = HashSet::from([server_public]);
    for c in &clients {
        if !addresses.insert(c.address) {
            return Err(format!("client {}: address {} is taken twice", crate::config::values::shown(&c.id), c.address));
        }
        if !keys.insert(c.public_key) {
            return Err(format!("client {}: its public key is taken twice", crate::config::values::shown(&c.id)));
        }
    }
    Ok(Database { server_key, server_address, clients })
}

/// The names wgq gives the clients: file-safe and unique (not the interface's either), and the
/// web page's display name (`# DisplayName =`) where wg-easy's differs; a name longer than a
/// display name is kept whole in the note.
pub fn names<'a>(wg_easy: impl Iterator<Item = &'a str>) -> Vec<(String, Option<String>, Option<String>)> {
    let mut taken: std::collections::HashSet<String> = [IFNAME.to_string()].into();
    // The next suffix to try for each base name (no suffix is tried twice).
    let mut next: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    wg_easy
        .map(|name| {
            // wgq's rule, without runs of `-` or one at either end (as wg-easy's file names).
            let fit = fit_name(name);
            let mut base = String::new();
            for ch in fit.chars() {
                if !(ch == '-' && (base.is_empty() || base.ends_with('-'))) {
                    base.push(ch);
                }
            }
            let base = match base.trim_end_matches('-') {
                "" => "client".to_string(),
                b => b.to_string(),
            };
            let mut n = base.clone();
            let k = next.entry(base.clone()).or_insert(2);
            while taken.contains(&n) {
                let suffix = format!("-{k}");
                n = format!("{}{suffix}", &base[..base.len().min(15 - suffix.len())]);
                *k += 1;
            }
            taken.insert(n.clone());
            let t: String = name.chars().map(|ch| if ch.is_control() { ' ' } else { ch }).collect();
            let t = t.trim();
            let shown: String = t.chars().take(crate::config::values::MAX_DISPLAY_NAME).collect();
            let shown = shown.trim_end().to_string();
            let display = (!shown.is_empty() && shown != n).then_some(shown.clone());
            let note = (shown != t).then(|| {
                let whole: String = t.chars().take(crate::config::values::MAX_NOTE - 14).collect();
                format!("wg-easy name: {}", whole.trim_end())
            });
            (n, display, note)
        })
        .collect()
}

/// Imports `json` (see the module's text); `aside`: where wg-easy's `wg0.conf` goes.
pub fn migrate_wg_easy(
    host: &Host,
    w: &WgEasy,
    json: &Path,
    aside: &Path,
    trace: &mut dyn std::io::Write,
) -> Result<Database, ProvisionError> {
    let fail = |why: String| ProvisionError::Migrate { path: json.to_path_buf(), why };
    let mut text = Vec::new();
    std::fs::File::open(json)
        .and_then(|f| f.take(MAX_DB + 1).read_to_end(&mut text))
        .map_err(|e| ProvisionError::Read { path: json.to_path_buf(), source: e })?;
    if text.len() as u64 > MAX_DB {
        return Err(fail(format!("larger than {} MiB", MAX_DB >> 20)));
    }
    let db = parse_database(&text).map_err(fail)?;
    crate::key::wipe(&mut text);
    let pool = crate::net::IpNet::new(IpAddr::V4(db.server_address), 24);
    for c in &db.clients {
        if !pool.contains(&crate::net::IpNet::new(IpAddr::V4(c.address), 32)) {
            return Err(fail(format!("client {}: {} is outside {pool}", crate::config::values::shown(&c.id), c.address)));
        }
    }
    replace_generated(&w.dir, aside, || write_all(host, w, &db, pool, trace))?;
    Ok(db)
}

/// The mark of an import under way in `dir` (`wg0.conf.importing`): made before wg-easy's
/// file is moved aside, removed once every client is written. Found at a start, the last
/// import was cut short (killed, power lost): it is made again.
pub fn import_mark(dir: &Path) -> PathBuf {
    dir.join(format!("{IFNAME}.conf.importing"))
}

/// Moves wg-easy's generated `wg0.conf` in `dir` to `aside` and runs `write` (which makes
/// wgq's server file and client files); when `write` fails, what it wrote is removed and
/// wg-easy's file comes back. An import cut short before ([`import_mark`]) is undone first.
pub(super) fn replace_generated(
    dir: &Path,
    aside: &Path,
    write: impl FnOnce() -> Result<(), ProvisionError>,
) -> Result<(), ProvisionError> {
    let path = dir.join(format!("{IFNAME}.conf"));
    let mark = import_mark(dir);
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| ProvisionError::Io { what: super::IoWhat::Write(p), source }
    };
    if mark.exists() {
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir_all(dir.join("clients").join(IFNAME));
        if aside.exists() {
            std::fs::rename(aside, &path).map_err(io(&path))?;
        }
    }
    crate::os::files::write_atomic(&mark, b"").map_err(io(&mark))?;
    let moved = path.exists();
    if moved {
        std::fs::rename(&path, aside)
            .map_err(|e| ProvisionError::Io { what: super::IoWhat::Write(aside.to_path_buf()), source: e })?;
    }
    let r = write();
    if r.is_err() {
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir_all(dir.join("clients").join(IFNAME));
        if moved {
            let _ = std::fs::rename(aside, &path);
        }
    }
    let _ = std::fs::remove_file(&mark);
    r
}

fn write_all(
    host: &Host,
    w: &WgEasy,
    db: &Database,
    pool: crate::net::IpNet,
    trace: &mut dyn std::io::Write,
) -> Result<(), ProvisionError> {
    let mut texts = w.init_texts();
    texts.address = pool.to_string();
    let mut req = texts.request(w, Some(&db.server_key));
    req.force = true;
    super::init(&req)?.write(trace)?;
    let target = Target { interface: IFNAME.into(), config_dir: Some(w.dir.clone()) };
    let opts = EditOpts { no_apply: true, ..Default::default() };
    let now = super::now();
    let mut disabled = Vec::new();
    for (c, (name, display, note)) in db.clients.iter().zip(names(db.clients.iter().map(|c| c.name.as_str()))) {
        let ip = c.address.to_string();
        let expires = c.expires.map(peers::format_time);
        let pubkey = c.public_key.to_base64();
        let a = AddRequest {
            name: &name,
            ip: Some(&ip),
            display_name: display.as_deref(),
            note: note.as_deref(),
            expires: expires.as_deref(),
            pubkey: c.private_key.is_none().then_some(pubkey.as_str()),
            private_key: c.private_key.as_ref(),
            preshared_key: c.preshared_key.as_ref(),
            no_psk: c.preshared_key.is_none(),
            created: c.created.or(Some(now)),
            ..Default::default()
        };
        add(host, target.locate()?, &opts, &a, None)?;
        if !c.enabled {
            disabled.push(name);
        }
    }
    if !disabled.is_empty() {
        disable(host, target.locate()?, &opts, &disabled)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(k: &SecretKey) -> String {
        k.to_base64()
    }

    /// A database as wg-easy 14 writes it (written for this test: keys made from fixed bytes).
    fn db_text(server: &SecretKey, c1: &SecretKey, c2_pub: &Key, psk: &SecretKey) -> String {
        format!(
            r#"{{"server":{{"privateKey":"{}","publicKey":"{}","address":"10.8.0.1"}},
"clients":{{
 "b2c1":{{"id":"b2c1","name":"Laptop","address":"10.8.0.3","privateKey":"{}","publicKey":"{}","preSharedKey":"{}",
   "createdAt":"2024-02-01T10:00:00.000Z","updatedAt":"2024-02-01T10:00:00.000Z","expiredAt":null,"enabled":false}},
 "a1f0":{{"id":"a1f0","name":"Phone é","address":"10.8.0.2","publicKey":"{}",
   "createdAt":"2024-01-01T10:00:00.000Z","expiredAt":"2025-06-30T23:59:59.000Z","enabled":true,"oneTimeLink":null}}
}}}}"#,
            b64(server),
            server.public_key().to_base64(),
            b64(c1),
            c1.public_key().to_base64(),
            b64(psk),
            c2_pub.to_base64()
        )
    }

    #[test]
    fn the_database_is_read_whole_and_checked() {
        let server = SecretKey::from_bytes([1; 32]);
        let c1 = SecretKey::from_bytes([2; 32]);
        let c2 = SecretKey::from_bytes([3; 32]).public_key();
        let psk = SecretKey::from_bytes([4; 32]);
        let db = parse_database(db_text(&server, &c1, &c2, &psk).as_bytes()).unwrap();
        assert_eq!(db.server_key, server);
        assert_eq!(db.server_address, Ipv4Addr::new(10, 8, 0, 1));
        // In the order they were made, not the file's.
        assert_eq!(db.clients.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["a1f0", "b2c1"]);
        let (a, b) = (&db.clients[0], &db.clients[1]);
        assert_eq!(
            (a.name.as_str(), a.address, a.private_key.is_none(), a.public_key),
            ("Phone é", Ipv4Addr::new(10, 8, 0, 2), true, c2)
        );
        assert_eq!(a.expires, peers::parse_time("2025-06-30T23:59:59Z"));
        assert!(a.enabled && a.preshared_key.is_none());
        assert_eq!((b.private_key.as_ref(), b.preshared_key.as_ref(), b.enabled), (Some(&c1), Some(&psk), false));
        assert_eq!(b.created, peers::parse_time("2024-02-01T10:00:00Z"));
        // Broken databases are refused before anything is written.
        let good = db_text(&server, &c1, &c2, &psk);
        for (from, to, why) in [
            ("10.8.0.3", "10.8.0.2", "taken twice"),
            ("\"address\":\"10.8.0.1\"", "\"address\":\"10.8.0\"", "server's \"address\""),
            ("2025-06-30T23:59:59.000Z", "soon", "is not a date"),
            (&c1.public_key().to_base64(), &c2.to_base64(), "not that of its"),
            (&b64(&server), "AAAA", "is not a key"),
            ("\"enabled\":false}", "\"enabled\":false", "not JSON"),
        ] {
            let t = good.replacen(from, to, 1);
            assert_ne!(t, good, "{from}");
            let e = parse_database(t.as_bytes()).unwrap_err();
            assert!(e.contains(why), "{from}: {e}");
        }
    }

    #[test]
    fn dates_and_names() {
        assert_eq!(iso_time("2024-05-01T12:34:56.789Z"), peers::parse_time("2024-05-01T12:34:56Z"));
        assert_eq!(iso_time("2024-05-01T12:34:56Z"), peers::parse_time("2024-05-01T12:34:56Z"));
        assert_eq!(iso_time("yesterday"), None);
        let c = |name: &str| Client {
            id: "x".into(),
            name: name.into(),
            address: Ipv4Addr::new(10, 8, 0, 2),
            private_key: None,
            public_key: Key::default(),
            preshared_key: None,
            created: None,
            expires: None,
            enabled: true,
        };
        let n = names([c("phone"), c("Anna's laptop"), c("phone"), c("wg0"), c(""), c("a\nb")].iter().map(|c| c.name.as_str()));
        assert_eq!(n[0], ("phone".into(), None, None));
        assert_eq!(n[1], ("Anna-s-laptop".into(), Some("Anna's laptop".into()), None));
        assert_eq!(n[2], ("phone-2".into(), Some("phone".into()), None));
        assert_eq!(n[3].0, "wg0-2");
        assert_eq!(n[4].0, "peer");
        assert_eq!(n[5], ("a-b".into(), Some("a b".into()), None));
    }
}
