//! Migration of a wg-easy 15 volume: its SQLite database `wg-easy.db` (with the committed
//! frames of its `wg-easy.db-wal`, read by [`crate::config::sqlite`]) becomes a wgq server
//! file and client files. Read from it: the interface (`interfaces_table`: private key,
//! port, IPv4 and IPv6 ranges, MTU, routing table), its hooks (`hooks_table`), the client
//! defaults (`user_configs_table`: host and port, DNS, allowed IPs, keepalive, MTU) and
//! every client (`clients_table`: name, addresses, keys, expiry, enabled, allowed IPs, DNS,
//! MTU, keepalive, the routes behind it). Its users are not imported (the admin sets
//! `PASSWORD_HASH`). Everything is read and checked first; then wg-easy's `wg0.conf` is moved
//! aside and wgq's written, as for wg-easy 14 ([`super::migrate`]). The database is never
//! changed.

use std::io::Read;
use std::net::IpAddr;
use std::path::Path;

use super::wgeasy::IFNAME;
use super::{AddRequest, EditOpts, Host, ProvisionError, ServerSettings, Target, add, disable};
use crate::config::Endpoint;
use crate::config::json::{self, Json};
use crate::config::peers;
use crate::config::sqlite::{self, Table, Value};
use crate::config::values::{self, DnsList, Hook, NetList};
use crate::key::{Key, SecretKey};
use crate::net::IpNet;

/// wg-easy 15's database in its volume.
pub const DB_FILE: &str = "wg-easy.db";

/// One client of the database, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: i64,
    pub name: String,
    pub v4: IpAddr,
    /// `None` when IPv6 is off (`DISABLE_IPV6=true`).
    pub v6: Option<IpAddr>,
    pub private_key: Option<SecretKey>,
    pub public_key: Key,
    pub preshared_key: Option<SecretKey>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
    pub enabled: bool,
    /// The client file's AllowedIPs; `None`: the default.
    pub allowed_ips: Option<NetList>,
    /// The client file's DNS: `None` the default, `Some(None)` none.
    pub dns: Option<Option<DnsList>>,
    pub keepalive: u16,
    pub mtu: u32,
    /// Networks behind the client (`server_allowed_ips`).
    pub routes: Vec<IpNet>,
    /// What is in the database and not imported, for the trace.
    pub not_imported: Vec<&'static str>,
}

/// The database, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    pub server_key: SecretKey,
    pub port: u16,
    /// The server's addresses (the first of each range) with the ranges' prefixes.
    pub addresses: Vec<IpNet>,
    /// The interface's MTU.
    pub mtu: u32,
    /// `routing_table` when it is not `auto`.
    pub table: Option<String>,
    pub pre_up: Option<Hook>,
    pub post_up: Option<Hook>,
    pub pre_down: Option<Hook>,
    pub post_down: Option<Hook>,
    /// The clients' Endpoint (`host`, `port`); `None` when the host is empty.
    pub endpoint: Option<Endpoint>,
    pub dns: Option<DnsList>,
    pub allowed_ips: NetList,
    pub keepalive: u16,
    pub client_mtu: u32,
    /// In the order they were made (their ids).
    pub clients: Vec<Client>,
}

/// What the database is read with: wg-easy's own variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// `DISABLE_IPV6=true` turns IPv6 off.
    pub ipv6: bool,
    /// `PORT` (the web page's port), for a hook's `{{uiPort}}`.
    pub ui_port: String,
}

impl Env {
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Env {
        Env {
            ipv6: get("DISABLE_IPV6").is_none_or(|v| v.trim() != "true"),
            ui_port: get("PORT").filter(|p| !p.trim().is_empty()).unwrap_or_else(|| "51821".into()).trim().to_string(),
        }
    }
}

/// The first address of a range, with its prefix (wg-easy's server address).
fn first_host(cidr: &str) -> Option<IpNet> {
    let n = IpNet::parse(cidr.trim()).ok()?.network();
    let addr = match n.addr {
        IpAddr::V4(a) => IpAddr::V4(u32::from(a).checked_add(1)?.into()),
        IpAddr::V6(a) => IpAddr::V6(u128::from(a).checked_add(1)?.into()),
    };
    (n.prefix + 1 < n.max_prefix()).then_some(IpNet::new(addr, n.prefix))
}

/// wg-easy's dates: `2025-06-30T00:00:00.000Z` (toISOString), SQLite's `2024-01-05 08:00:00`
/// (CURRENT_TIMESTAMP, UTC), or a date.
fn time(s: &str) -> Option<i64> {
    let s = s.trim();
    let base = match (s.find('.'), s.ends_with('Z')) {
        (Some(dot), true) => format!("{}Z", &s[..dot]),
        _ if s.len() == 19 && s.as_bytes()[10] == b' ' => format!("{}T{}Z", &s[..10], &s[11..]),
        _ => s.to_string(),
    };
    peers::parse_time(&base)
}

/// A hook as wg-easy writes it into its `wg0.conf`: `{{…}}` filled in, newlines as spaces;
/// then what wg-quick runs of that line: the text before a `#`, trimmed. `None`: no hook.
fn hook(t: &str, vars: &[(&str, &str)]) -> Result<Option<Hook>, String> {
    let mut s = t.replace("\r\n", " ").replace(['\r', '\n'], " ");
    for (k, v) in vars {
        s = s.replace(&format!("{{{{{k}}}}}"), v);
    }
    let s = s.split('#').next().unwrap_or("").trim();
    if s.is_empty() {
        return Ok(None);
    }
    Hook::parse(s).map(Some).map_err(|e| e.to_string())
}

/// A JSON list of strings (wg-easy's `mode: 'json'` columns) joined with ", "; `None` for NULL.
fn json_list(v: &Value) -> Result<Option<String>, String> {
    let text = match v {
        Value::Null => return Ok(None),
        Value::Text(t) => t,
        _ => return Err("not a JSON list".into()),
    };
    match json::parse(text.as_bytes()).map_err(|e| e.to_string())? {
        Json::Null => Ok(None),
        Json::Arr(items) => {
            let mut out = Vec::new();
            for i in items {
                match i {
                    Json::Str(s) if !s.trim().is_empty() => out.push(s.trim().to_string()),
                    Json::Str(_) => {}
                    _ => return Err("not a list of strings".into()),
                }
            }
            Ok(Some(out.join(", ")))
        }
        _ => Err("not a JSON list".into()),
    }
}

/// One row of a table, read by column name.
struct Row<'a> {
    t: &'a Table,
    v: &'a [Value],
    what: String,
}

impl Row<'_> {
    fn err(&self, col: &str, why: impl std::fmt::Display) -> String {
        format!("{}: {col}: {why}", self.what)
    }
    fn get(&self, col: &str) -> Result<&Value, String> {
        self.t.column(col).and_then(|i| self.v.get(i)).ok_or_else(|| format!("{}: no column {col}", self.what))
    }
    fn text(&self, col: &str) -> Result<&str, String> {
        self.get(col)?.as_text().ok_or_else(|| self.err(col, "not text"))
    }
    fn opt_text(&self, col: &str) -> Result<Option<&str>, String> {
        match self.get(col)? {
            Value::Null => Ok(None),
            v => v.as_text().map(Some).ok_or_else(|| self.err(col, "not text")),
        }
    }
    fn int(&self, col: &str) -> Result<i64, String> {
        self.get(col)?.as_int().ok_or_else(|| self.err(col, "not an integer"))
    }
    fn key(&self, col: &str) -> Result<Option<SecretKey>, String> {
        match self.opt_text(col)?.map(str::trim) {
            None | Some("") => Ok(None),
            Some(k) => SecretKey::from_base64(k).map(Some).map_err(|_| self.err(col, "not a key")),
        }
    }
    fn list(&self, col: &str) -> Result<Option<String>, String> {
        json_list(self.get(col)?).map_err(|e| self.err(col, e))
    }
    /// A list of networks; `Some` of an empty list for `[]`.
    fn nets(&self, col: &str) -> Result<Option<Vec<IpNet>>, String> {
        match self.list(col)? {
            None => Ok(None),
            Some(l) if l.is_empty() => Ok(Some(Vec::new())),
            Some(l) => NetList::parse(&l).map(|l| Some(l.0)).map_err(|e| self.err(col, e)),
        }
    }
    /// A list of networks that may not be empty.
    fn allowed(&self, col: &str) -> Result<Option<NetList>, String> {
        match self.nets(col)? {
            Some(l) if l.is_empty() => Err(self.err(col, "empty")),
            l => Ok(l.map(NetList)),
        }
    }
    fn dns(&self, col: &str) -> Result<Option<Option<DnsList>>, String> {
        match self.list(col)? {
            None => Ok(None),
            Some(l) if l.is_empty() => Ok(Some(None)),
            Some(l) => DnsList::parse(&l).map(|d| Some(Some(d))).map_err(|e| self.err(col, e)),
        }
    }
    fn ranged(&self, col: &str, lo: i64, hi: i64) -> Result<i64, String> {
        let v = self.int(col)?;
        if (lo..=hi).contains(&v) { Ok(v) } else { Err(self.err(col, format!("{v} is not in {lo}-{hi}"))) }
    }
}

/// The row of `table` whose column `key` is `wg0`.
fn wg0_row<'a>(t: &'a Table, table: &str, key: &str) -> Result<Row<'a>, String> {
    let i = t.column(key).ok_or_else(|| format!("{table}: no column {key}"))?;
    let v = t
        .rows
        .iter()
        .find(|r| r.get(i).and_then(Value::as_text) == Some(IFNAME))
        .ok_or_else(|| format!("{table}: no row {IFNAME}"))?;
    Ok(Row { t, v, what: table.to_string() })
}

/// Reads and checks the database (pure): `db` the file's bytes, `wal` its `-wal` file's.
pub fn parse_database(db: &[u8], wal: Option<&[u8]>, env: &Env) -> Result<Database, String> {
    let d = sqlite::Database::open(db, wal).map_err(|e| e.to_string())?;
    let table = |n: &str| d.table(n).map_err(|e| e.to_string());
    let ifaces = table("interfaces_table")?;
    let i = wg0_row(&ifaces, "interfaces_table", "name")?;
    let server_key = i.key("private_key")?.ok_or_else(|| i.err("private_key", "empty"))?;
    if let Some(p) = i.opt_text("public_key")?
        && Key::from_base64(p.trim()).ok() != Some(server_key.public_key())
    {
        return Err(i.err("public_key", "not that of private_key"));
    }
    let port = i.ranged("port", 1, 65535)? as u16;
    let v4_cidr = i.text("ipv4_cidr")?.to_string();
    let v6_cidr = i.text("ipv6_cidr")?.to_string();
    let v4 = first_host(&v4_cidr).filter(|n| !n.is_ipv6()).ok_or_else(|| i.err("ipv4_cidr", "not an IPv4 range"))?;
    let mut addresses = vec![v4];
    if env.ipv6 {
        addresses.push(first_host(&v6_cidr).filter(IpNet::is_ipv6).ok_or_else(|| i.err("ipv6_cidr", "not an IPv6 range"))?);
    }
    let mtu = i.ranged("mtu", 576, 65535)? as u32;
    let table_name = match i.t.column("routing_table") {
        Some(_) => i.text("routing_table")?.trim().to_string(),
        None => "auto".into(),
    };
    if table_name.is_empty() || !table_name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(i.err("routing_table", "not a routing table"));
    }
    let table_opt = (table_name != "auto").then_some(table_name);
    let device = i.text("device")?.to_string();
    let port_s = port.to_string();
    let vars = [
        ("ipv4Cidr", v4_cidr.as_str()),
        ("ipv6Cidr", v6_cidr.as_str()),
        ("device", device.as_str()),
        ("port", port_s.as_str()),
        ("uiPort", env.ui_port.as_str()),
    ];
    let hooks_t = table("hooks_table")?;
    let h = wg0_row(&hooks_t, "hooks_table", "id")?;
    let hk = |c: &str| hook(h.text(c)?, &vars).map_err(|e| h.err(c, e));
    let (pre_up, post_up, pre_down, post_down) = (hk("pre_up")?, hk("post_up")?, hk("pre_down")?, hk("post_down")?);
    let uc_t = table("user_configs_table")?;
    let u = wg0_row(&uc_t, "user_configs_table", "id")?;
    let host = u.text("host")?.trim();
    let client_port = u.ranged("port", 1, 65535)? as u16;
    let endpoint = if host.is_empty() {
        None
    } else {
        let e = values::endpoint_with_default(host, client_port).map_err(|e| u.err("host", e))?;
        if e.port != client_port {
            return Err(u.err("host", "a host with a port"));
        }
        Some(e)
    };
    let dns = u.dns("default_dns")?.flatten();
    let allowed_ips = u.allowed("default_allowed_ips")?.ok_or_else(|| u.err("default_allowed_ips", "empty"))?;
    let keepalive = u.ranged("default_persistent_keepalive", 0, 65535)? as u16;
    let client_mtu = u.ranged("default_mtu", 576, 65535)? as u32;
    let clients_t = table("clients_table")?;
    let mut clients: Vec<Client> = Vec::new();
    for v in &clients_t.rows {
        let mut r = Row { t: &clients_t, v, what: "clients_table".into() };
        let id = r.int("id")?;
        r.what = format!("client {id}");
        if r.text("interface_id")? != IFNAME {
            continue;
        }
        let private_key = r.key("private_key")?;
        let public_key = match (r.opt_text("public_key")?.map(|p| Key::from_base64(p.trim())), &private_key) {
            (Some(Ok(p)), Some(sk)) if sk.public_key() != p => return Err(r.err("public_key", "not that of private_key")),
            (Some(Ok(p)), _) => p,
            (None, Some(sk)) => sk.public_key(),
            _ => return Err(r.err("public_key", "not a key")),
        };
        let addr = |col: &str, v6: bool| -> Result<IpAddr, String> {
            let a: IpAddr = r.text(col)?.trim().parse().map_err(|_| r.err(col, "not an address"))?;
            let pool = addresses.iter().find(|p| p.is_ipv6() == v6).expect("both families when asked");
            if a.is_ipv6() != v6 || !pool.network().contains(&IpNet::new(a, if v6 { 128 } else { 32 })) || a == pool.addr {
                return Err(r.err(col, format!("{a} is not a client address of {}", pool.network())));
            }
            Ok(a)
        };
        let v4 = addr("ipv4_address", false)?;
        let v6 = if env.ipv6 { Some(addr("ipv6_address", true)?) } else { None };
        let when = |col: &str| -> Result<Option<i64>, String> {
            match r.opt_text(col)? {
                None => Ok(None),
                Some(s) if s.trim().is_empty() => Ok(None),
                Some(s) => time(s).map(Some).ok_or_else(|| r.err(col, "not a date")),
            }
        };
        let routes = r.nets("server_allowed_ips")?.unwrap_or_default();
        let mut not_imported = Vec::new();
        for (col, what) in [
            ("pre_up", "its own PreUp"),
            ("post_up", "its own PostUp"),
            ("pre_down", "its own PreDown"),
            ("post_down", "its own PostDown"),
            ("server_endpoint", "the server's Endpoint for it"),
            ("firewall_ips", "its firewall addresses"),
        ] {
            let set = match r.t.column(col).and_then(|i| r.v.get(i)) {
                // A JSON list: set when it has an item.
                Some(v) if col == "firewall_ips" => json_list(v).ok().flatten().is_some_and(|l| !l.is_empty()),
                Some(v) => v.as_text().is_some_and(|t| !t.trim().is_empty()),
                None => false,
            };
            if set {
                not_imported.push(what);
            }
        }
        clients.push(Client {
            id,
            name: r.text("name")?.to_string(),
            v4,
            v6,
            private_key,
            public_key,
            preshared_key: r.key("pre_shared_key")?,
            created: when("created_at")?,
            expires: when("expires_at")?,
            enabled: r.int("enabled")? != 0,
            allowed_ips: r.allowed("allowed_ips")?,
            dns: r.dns("dns")?,
            keepalive: r.ranged("persistent_keepalive", 0, 65535)? as u16,
            mtu: r.ranged("mtu", 576, 65535)? as u32,
            routes,
            not_imported,
        });
    }
    unique(&clients, &server_key.public_key())?;
    Ok(Database {
        server_key,
        port,
        addresses,
        mtu,
        table: table_opt,
        pre_up,
        post_up,
        pre_down,
        post_down,
        endpoint,
        dns,
        allowed_ips,
        keepalive,
        client_mtu,
        clients,
    })
}

/// No address or public key (the server's either) twice, in one step per client.
fn unique(clients: &[Client], server: &Key) -> Result<(), String> {
    let mut addrs = std::collections::HashSet::new();
    let mut keys = std::collections::HashSet::from([*server]);
    for c in clients {
        if !addrs.insert(c.v4) || c.v6.is_some_and(|a| !addrs.insert(a)) {
            return Err(format!("client {}: its address is taken twice", c.id));
        }
        if !keys.insert(c.public_key) {
            return Err(format!("client {}: its public key is taken twice", c.id));
        }
    }
    Ok(())
}

/// Reads `path` (at most [`sqlite::MAX_FILE`] bytes); `None` when it does not exist. A FIFO
/// or device is refused (opened without waiting for a writer).
fn read_bounded(path: &Path) -> Result<Option<Vec<u8>>, ProvisionError> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ProvisionError::Read { path: path.to_path_buf(), source: e }),
    };
    if !f.metadata().map_err(|e| ProvisionError::Read { path: path.to_path_buf(), source: e })?.is_file() {
        return Err(ProvisionError::Migrate { path: path.to_path_buf(), why: "not a regular file".into() });
    }
    let mut v = Vec::new();
    f.take(sqlite::MAX_FILE as u64 + 1)
        .read_to_end(&mut v)
        .map_err(|e| ProvisionError::Read { path: path.to_path_buf(), source: e })?;
    if v.len() > sqlite::MAX_FILE {
        return Err(ProvisionError::Migrate {
            path: path.to_path_buf(),
            why: format!("larger than {} MiB", sqlite::MAX_FILE >> 20),
        });
    }
    Ok(Some(v))
}

/// The database at `db` with its `-wal` file, read and checked.
pub fn read_database(db: &Path, env: &Env) -> Result<Database, ProvisionError> {
    let fail = |why: String| ProvisionError::Migrate { path: db.to_path_buf(), why };
    let mut bytes = read_bounded(db)?.ok_or_else(|| fail("not found".into()))?;
    let mut wal_path = db.as_os_str().to_owned();
    wal_path.push("-wal");
    let mut wal = read_bounded(Path::new(&wal_path))?;
    let r = parse_database(&bytes, wal.as_deref().filter(|w| !w.is_empty()), env).map_err(fail);
    crate::key::wipe(&mut bytes);
    if let Some(w) = wal.as_mut() {
        crate::key::wipe(w);
    }
    r
}

/// Imports the database `db` into a server `wg0` in `dir` (see the module's text).
/// `endpoint`: the clients' Endpoint when given (`WG_HOST`), else the database's; `aside`:
/// where wg-easy's `wg0.conf` goes.
pub fn migrate_wg_easy15(
    host: &Host,
    dir: &Path,
    db_path: &Path,
    endpoint: Option<&Endpoint>,
    env: &Env,
    aside: &Path,
    trace: &mut dyn std::io::Write,
) -> Result<Database, ProvisionError> {
    let db = read_database(db_path, env)?;
    let endpoint = match (endpoint, &db.endpoint) {
        (Some(e), _) | (None, Some(e)) => e.to_string(),
        (None, None) => {
            return Err(ProvisionError::Migrate {
                path: db_path.to_path_buf(),
                why: "it has no host for the clients' Endpoint (user_configs_table): set WG_HOST".into(),
            });
        }
    };
    super::migrate::replace_generated(dir, aside, || write_all(host, dir, &db, &endpoint, trace))?;
    Ok(db)
}

fn write_all(
    host: &Host,
    dir: &Path,
    db: &Database,
    endpoint: &str,
    trace: &mut dyn std::io::Write,
) -> Result<(), ProvisionError> {
    let address = db.addresses.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ");
    let port = db.port.to_string();
    let dns = db.dns.as_ref().map_or_else(|| "none".to_string(), |d| d.to_string());
    let allowed = db.allowed_ips.to_string();
    let req = super::InitRequest {
        interface: IFNAME,
        config_dir: Some(dir),
        address: Some(&address),
        port: Some(&port),
        endpoint: Some(endpoint),
        no_nat: true,
        dns: Some(&dns),
        client_allowed_ips: Some(&allowed),
        keepalive: Some(db.keepalive),
        mtu: Some(db.client_mtu),
        no_forwarding: true,
        key: Some(&db.server_key),
        force: true,
        ..Default::default()
    };
    let mut prepared = super::init(&req)?;
    // The interface's own MTU and routing table, after ListenPort (keys wg-quick reads).
    let mut extra = format!("MTU = {}\n", db.mtu);
    if let Some(t) = &db.table {
        extra.push_str(&format!("Table = {t}\n"));
    }
    let at = prepared.text.find("\nListenPort = ").and_then(|i| prepared.text[i + 1..].find('\n').map(|j| i + j + 2));
    let at = at.ok_or_else(|| ProvisionError::Migrate { path: prepared.path.clone(), why: "no ListenPort line".into() })?;
    prepared.text.insert_str(at, &extra);
    crate::config::parse(prepared.text.as_bytes(), &prepared.path).map_err(ProvisionError::InvalidServer)?;
    prepared.write(trace)?;
    let target = Target { interface: IFNAME.into(), config_dir: Some(dir.to_path_buf()) };
    let opts = EditOpts { no_apply: true, ..Default::default() };
    let hooks = |h: &Option<Hook>| Some(h.iter().cloned().collect());
    let settings = ServerSettings {
        pre_up: hooks(&db.pre_up),
        post_up: hooks(&db.post_up),
        pre_down: hooks(&db.pre_down),
        post_down: hooks(&db.post_down),
        ..Default::default()
    };
    super::configure(host, target.locate()?, &opts, &settings)?;
    let now = super::now();
    let mut disabled = Vec::new();
    for (c, (name, display, note)) in db.clients.iter().zip(super::migrate::names(db.clients.iter().map(|c| c.name.as_str()))) {
        let ip = match c.v6 {
            Some(v6) => format!("{}, {v6}", c.v4),
            None => c.v4.to_string(),
        };
        let expires = c.expires.map(peers::format_time);
        let pubkey = c.public_key.to_base64();
        let allowed = c.allowed_ips.as_ref().map(|a| a.to_string());
        let dns = c.dns.as_ref().map(|d| d.as_ref().map_or_else(|| "none".to_string(), |d| d.to_string()));
        let routes: Vec<String> = c.routes.iter().map(|r| r.to_string()).collect();
        let a = AddRequest {
            name: &name,
            ip: Some(&ip),
            allowed_ips: allowed.as_deref(),
            routes: &routes,
            dns: dns.as_deref(),
            keepalive: Some(c.keepalive),
            mtu: Some(c.mtu),
            note: note.as_deref(),
            display_name: display.as_deref(),
            expires: expires.as_deref(),
            pubkey: c.private_key.is_none().then_some(pubkey.as_str()),
            private_key: c.private_key.as_ref(),
            preshared_key: c.preshared_key.as_ref(),
            no_psk: c.preshared_key.is_none(),
            created: c.created.or(Some(now)),
            ..Default::default()
        };
        add(host, target.locate()?, &opts, &a, None)?;
        if !c.not_imported.is_empty() {
            let _ = writeln!(trace, "[#] wg-easy client {} ({name}): not imported: {}", c.id, c.not_imported.join(", "));
        }
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

    #[test]
    fn dates_ranges_hooks_and_lists() {
        assert_eq!(time("2025-06-30T00:00:00.000Z"), peers::parse_time("2025-06-30T00:00:00Z"));
        assert_eq!(time("2024-01-05 08:00:00"), peers::parse_time("2024-01-05T08:00:00Z"));
        assert_eq!(time("2024-01-05"), peers::parse_time("2024-01-05"));
        assert_eq!(time("soon"), None);
        assert_eq!(first_host("10.8.0.0/24").unwrap().to_string(), "10.8.0.1/24");
        assert_eq!(first_host("fdcc:ad94:bacf:61a4::cafe:0/112").unwrap().to_string(), "fdcc:ad94:bacf:61a4::cafe:1/112");
        assert_eq!(first_host("10.8.0.7/32"), None);
        let vars = [("ipv4Cidr", "10.8.0.0/24"), ("device", "eth0"), ("port", "51820")];
        assert_eq!(
            hook("iptables -t nat -A POSTROUTING -s {{ipv4Cidr}} -o {{device}} -j MASQUERADE;\n iptables -A INPUT --dport {{port}} {{x}}", &vars)
                .unwrap()
                .unwrap()
                .to_string(),
            "iptables -t nat -A POSTROUTING -s 10.8.0.0/24 -o eth0 -j MASQUERADE;  iptables -A INPUT --dport 51820 {{x}}"
        );
        assert_eq!(hook("echo a # b", &vars).unwrap().unwrap().to_string(), "echo a");
        assert_eq!(hook("  \n ", &vars).unwrap(), None);
        assert_eq!(
            json_list(&Value::Text(r#"["1.1.1.1", "2606:4700:4700::1111"]"#.into())).unwrap().as_deref(),
            Some("1.1.1.1, 2606:4700:4700::1111")
        );
        assert_eq!(json_list(&Value::Text("[]".into())).unwrap().as_deref(), Some(""));
        assert_eq!(json_list(&Value::Null).unwrap(), None);
        assert!(json_list(&Value::Text("[1]".into())).is_err() && json_list(&Value::Int(1)).is_err());
    }

    /// A volume's `wg-easy.db` or `-wal` that is a FIFO (or another special file): refused,
    /// never waited on (opening a FIFO waits for a writer).
    #[test]
    fn special_files_are_refused_not_waited_on() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join(DB_FILE);
        nix::unistd::mkfifo(&db, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let p = db.clone();
        std::thread::spawn(move || {
            let env = Env { ipv6: true, ui_port: "51821".into() };
            let _ = tx.send(read_database(&p, &env).map(|_| ()).map_err(|e| e.to_string()));
        });
        let r = rx.recv_timeout(std::time::Duration::from_secs(5)).expect("waited on a FIFO");
        assert!(r.unwrap_err().contains("not a regular file"));
    }

    fn names_of(cs: &[Client]) -> Vec<(String, Option<String>, Option<String>)> {
        crate::provision::migrate::names(cs.iter().map(|c| c.name.as_str()))
    }

    #[test]
    fn names_and_display_names() {
        let c = |name: &str| Client {
            id: 1,
            name: name.into(),
            v4: "10.8.0.2".parse().unwrap(),
            v6: None,
            private_key: None,
            public_key: Key::default(),
            preshared_key: None,
            created: None,
            expires: None,
            enabled: true,
            allowed_ips: None,
            dns: None,
            keepalive: 0,
            mtu: 1420,
            routes: vec![],
            not_imported: vec![],
        };
        let long = "x".repeat(70);
        let n = names_of(&[c("phone"), c("Zoë's phone"), c("phone"), c(&long), c("a\nb"), c("✓ ✓"), c("wg0")]);
        assert_eq!(n[0], ("phone".into(), None, None));
        assert_eq!(n[1], ("Zo-s-phone".into(), Some("Zoë's phone".into()), None));
        assert_eq!(n[2], ("phone-2".into(), Some("phone".into()), None));
        assert_eq!(n[3].0, "xxxxxxxxxxxxxxx");
        assert_eq!(n[3].1.as_deref(), Some(&long[..64]));
        assert_eq!(n[3].2, Some(format!("wg-easy name: {long}")));
        assert_eq!(n[4], ("a-b".into(), Some("a b".into()), None));
        assert_eq!(n[5], ("client".into(), Some("✓ ✓".into()), None));
        assert_eq!(n[6], ("wg0-2".into(), Some("wg0".into()), None));
        // Cut where a space is: no space at the end of either line.
        let spaced = format!("{} {}", "y".repeat(63), "z".repeat(300));
        let n = names_of(&[c(&spaced)]);
        assert_eq!(n[0].1.as_deref(), Some("y".repeat(63).as_str()));
        let note = n[0].2.clone().unwrap();
        assert!(values::note(&note).is_ok() && values::display_name(n[0].1.as_deref().unwrap()).is_ok());
    }

    /// Many clients of one name (a database may hold any number): each name is found in one
    /// step, not by trying every suffix against every name taken.
    #[test]
    fn many_clients_are_checked_and_named_quickly() {
        let c = |name: &str| Client {
            id: 1,
            name: name.into(),
            v4: "10.8.0.2".parse().unwrap(),
            v6: None,
            private_key: None,
            public_key: Key::default(),
            preshared_key: None,
            created: None,
            expires: None,
            enabled: true,
            allowed_ips: None,
            dns: None,
            keepalive: 0,
            mtu: 1420,
            routes: vec![],
            not_imported: vec![],
        };
        // A database of 40,000 distinct clients is checked for doubles in one step each.
        let many: Vec<Client> = (0..40_000u32)
            .map(|i| {
                let mut k = [1u8; 32];
                k[..4].copy_from_slice(&i.to_le_bytes());
                Client { v4: std::net::Ipv4Addr::from(0x0a00_0000 + i).into(), public_key: Key(k), ..c("x") }
            })
            .collect();
        let t = std::time::Instant::now();
        assert_eq!(unique(&many, &Key([9; 32])), Ok(()));
        assert!(t.elapsed() < std::time::Duration::from_secs(3), "{:?}", t.elapsed());
        let mut twice = many[..3].to_vec();
        twice[2].v4 = twice[0].v4;
        assert!(unique(&twice, &Key([9; 32])).unwrap_err().contains("address"));
        twice[2].v4 = "10.9.9.9".parse().unwrap();
        twice[2].public_key = Key([9; 32]);
        assert!(unique(&twice, &Key([9; 32])).unwrap_err().contains("public key"));
        let mut all: Vec<Client> = (0..1500).map(|_| c("phone")).collect();
        all.push(c("phone-2"));
        let t = std::time::Instant::now();
        let n = crate::provision::migrate::names(all.iter().map(|c| c.name.as_str()));
        assert!(t.elapsed() < std::time::Duration::from_secs(3), "{:?}", t.elapsed());
        assert_eq!((n[0].0.as_str(), n[1].0.as_str(), n[1499].0.as_str()), ("phone", "phone-2", "phone-1500"));
        assert_eq!(n[1500].0, "phone-2-2", "a name taken by a suffix before: a suffix of its own");
        let unique: std::collections::HashSet<&str> = n.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(unique.len(), n.len());
    }
}
