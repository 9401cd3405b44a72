//! `wgq peer …`: a server's clients, kept in the server file itself (one `[Peer]` block
//! each, metadata in `# Key = value` comments, disabled peers commented out), edited
//! losslessly under the interface lock, and applied live one peer at a time.
//!
//! Every edit goes the same way ([`edit`]): take the interface lock (waiting for it), read
//! the file again, refuse a file with errors or `SaveConfig = true`, make the new text
//! (pure: `config::edit`, `config::peers`, `plan::alloc`), check it, then — on a running
//! interface — apply the device and route changes of just those peers through the executor
//! and write the client files and the server file; a failure undoes the live changes.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{AppError, CONFIG_DIR, io};
use crate::config::edit::{self, Document, Edit};
use crate::config::peers::{self, ClientConfig, NewPeer, PeerEntry, ServerInfo};
use crate::config::{self, locate};
use crate::key::{Key, KeyMap, SecretKey};
use crate::net::IpNet;
use crate::plan::alloc;
use crate::plan::exec::Executor;
use crate::plan::peer::{PeerChange, PeerSpec};
use crate::system::LinuxSystem;
use crate::system::runstate::RunState;

/// How long a `wgq peer` edit waits for the interface lock.
const LOCK_WAIT: Duration = Duration::from_secs(120);

/// The server file a command works on: `INTERFACE` (in `--config-dir`, default
/// /etc/wireguard) or a path `DIR/INTERFACE.conf`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    pub interface: String,
    pub config_dir: Option<PathBuf>,
}

/// Options every editing command takes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EditOpts {
    /// Print the file diff and the live plan; change nothing.
    pub dry_run: bool,
    /// Edit the file only, even when the interface runs.
    pub no_apply: bool,
    /// Edit a file with `SaveConfig = true` all the same.
    pub force: bool,
}

/// `wgq peer add`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddArgs {
    pub name: String,
    pub ip: Option<String>,
    pub allowed_ips: Option<String>,
    pub routes: Vec<String>,
    pub dns: Option<String>,
    pub keepalive: Option<u16>,
    pub mtu: Option<u32>,
    pub endpoint: Option<String>,
    pub expires: Option<String>,
    pub note: Option<String>,
    /// `--p2p`: `# P2P = true` in its block.
    pub p2p: bool,
    pub pubkey: Option<String>,
    pub no_psk: bool,
    pub no_store: bool,
    pub qr: bool,
}

/// `wgq peer set`: what to change (`None`: unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetArgs {
    pub allowed_ips: Option<String>,
    pub routes: Option<Vec<String>>,
    pub dns: Option<String>,
    pub keepalive: Option<u16>,
    pub mtu: Option<u32>,
    pub expires: Option<String>,
    pub note: Option<String>,
    /// `--p2p` / `--no-p2p`: `# P2P = true` set or removed.
    pub p2p: Option<bool>,
}

/// The `wgq peer` commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerCmd {
    Add { target: Target, opts: EditOpts, args: AddArgs },
    List { target: Target, all: bool, json: bool },
    Show { target: Target, name: String, qr: bool },
    Remove { target: Target, opts: EditOpts, names: Vec<String> },
    Disable { target: Target, opts: EditOpts, names: Vec<String> },
    Enable { target: Target, opts: EditOpts, names: Vec<String> },
    Rename { target: Target, opts: EditOpts, old: String, new: String },
    Set { target: Target, opts: EditOpts, name: String, args: SetArgs },
    Rotate { target: Target, opts: EditOpts, name: String, pubkey: Option<String>, qr: bool },
    Expire { target: Target, all: bool, opts: EditOpts },
    Import { target: Target, opts: EditOpts },
}

/// Runs a `wgq peer` command.
pub fn run(cmd: &PeerCmd) -> Result<i32, AppError> {
    match cmd {
        PeerCmd::Add { target, opts, args } => add(target, opts, args),
        PeerCmd::List { target, all, json } => list(target, *all, *json),
        PeerCmd::Show { target, name, qr } => show(target, name, *qr),
        PeerCmd::Remove { target, opts, names } => remove(target, opts, names),
        PeerCmd::Disable { target, opts, names } => toggle(target, opts, names, false),
        PeerCmd::Enable { target, opts, names } => toggle(target, opts, names, true),
        PeerCmd::Rename { target, opts, old, new } => rename(target, opts, old, new),
        PeerCmd::Set { target, opts, name, args } => set(target, opts, name, args),
        PeerCmd::Rotate { target, opts, name, pubkey, qr } => rotate(target, opts, name, pubkey.as_deref(), *qr),
        PeerCmd::Expire { target, all, opts } => expire(target, *all, opts),
        PeerCmd::Import { target, opts } => import(target, opts),
    }
}

/// A located server file.
#[derive(Debug, Clone)]
pub struct Server {
    pub ifname: String,
    pub path: PathBuf,
    /// `DIR/clients/INTERFACE`: the client files (directory 0700, files 0600).
    pub clients: PathBuf,
}

impl Target {
    fn dir(&self) -> PathBuf {
        self.config_dir.clone().unwrap_or_else(|| PathBuf::from(CONFIG_DIR))
    }

    /// The server file named by the argument (it must exist).
    pub fn locate(&self) -> Result<Server, AppError> {
        let s = self.server()?;
        if std::fs::metadata(&s.path).is_err() {
            return Err(locate::LocateError::Missing(s.path.display().to_string()).into());
        }
        Ok(s)
    }

    /// Where the server file is or would be.
    pub fn server(&self) -> Result<Server, AppError> {
        let (ifname, path) = if locate::is_interface_name(&self.interface) {
            (self.interface.clone(), self.dir().join(format!("{}.conf", self.interface)))
        } else {
            let name = locate::interface_from_path(&self.interface).ok_or(locate::LocateError::BadName)?;
            (name, PathBuf::from(&self.interface))
        };
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
        Ok(Server { clients: dir.join("clients").join(&ifname), ifname, path })
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn other(s: impl Into<String>) -> AppError {
    AppError::Other(s.into())
}

fn key_error(e: std::io::Error) -> AppError {
    io("Unable to generate a key", e)
}

/// What an edit reads: the file as it is now, under the lock.
pub struct Ctx {
    pub server: Server,
    pub doc: Document,
    pub info: ServerInfo,
    pub peers: Vec<PeerEntry>,
    pub now: i64,
}

/// What an edit makes.
#[derive(Default)]
pub struct Outcome {
    /// The edits of the server file.
    pub edits: Vec<Edit>,
    /// The peers whose device entry changes.
    pub changes: Vec<PeerChange>,
    /// Client files to write (`Some`) or remove (`None`), by peer name.
    pub clients: Vec<(String, Option<Vec<u8>>)>,
    /// Said on stderr once the edit is done.
    pub notes: Vec<String>,
    /// Printed on stdout once the edit is done (a QR code, a client file shown once).
    pub stdout: String,
}

impl Ctx {
    /// The peer named `name` (or whose public key is `name`).
    fn find(&self, name: &str) -> Result<&PeerEntry, AppError> {
        self.peers
            .iter()
            .find(|p| p.name.as_deref() == Some(name))
            .or_else(|| Key::from_base64(name).ok().and_then(|k| self.peers.iter().find(|p| p.public_key == Some(k))))
            .ok_or_else(|| other(format!("{}: no peer named {}", self.server.path.display(), peers::shown(name))))
    }

    fn block(&self, p: &PeerEntry) -> &edit::Block {
        &self.doc.blocks[p.block]
    }

    /// Where the client file of `name` lives; `None` for a name that is not an interface
    /// name (one read from a file written by hand or by another tool, such as
    /// `../../x`): it never becomes a path outside the clients directory.
    fn client_path(&self, name: &str) -> Option<PathBuf> {
        locate::is_interface_name(name).then(|| self.server.clients.join(format!("{name}.conf")))
    }

    /// `client_path` for messages.
    fn client_shown(&self, name: &str) -> String {
        self.client_path(name)
            .map_or_else(|| format!("(none: {} is no file name)", peers::shown(name)), |p| p.display().to_string())
    }

    /// The stored client file of a peer, if any.
    fn client_file(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.client_path(name)?).ok()
    }

    fn check_new_name(&self, name: &str) -> Result<(), AppError> {
        peers::check_name(name, &self.server.ifname).map_err(|e| other(e.to_string()))?;
        if self.peers.iter().any(|p| p.name.as_deref() == Some(name)) {
            return Err(other(format!("{}: a peer named `{name}' already exists", self.server.path.display())));
        }
        Ok(())
    }
}

/// The device entry of a block (`None` for a disabled block or one without a key).
fn spec(p: &PeerEntry) -> Option<PeerSpec> {
    if p.disabled {
        return None;
    }
    Some(PeerSpec {
        public_key: p.public_key?,
        preshared_key: p.preshared_key.clone(),
        allowed_ips: p.allowed_ips.clone(),
        keepalive: p.keepalive,
    })
}

/// Reads the server file (the caller holds the lock when it will write). The file is
/// validated as a whole once edited (an edit never makes a valid file invalid, and a file
/// with errors is refused then, with every error).
pub fn read_server(server: Server) -> Result<Ctx, AppError> {
    let bytes = std::fs::read(&server.path).map_err(|e| AppError::Read { path: server.path.display().to_string(), source: e })?;
    let doc = Document::parse(bytes);
    let info = peers::server_info(&doc);
    let peers = peers::peers(&doc);
    Ok(Ctx { server, doc, info, peers, now: now() })
}

/// The edit transaction of every editing command (see the module's text).
fn edit(target: &Target, opts: &EditOpts, f: impl FnOnce(&Ctx) -> Result<Outcome, AppError>) -> Result<i32, AppError> {
    let mut t = std::time::Instant::now();
    let server = target.locate()?;
    let run = RunState::current().map_err(|e| io("Unable to identify the network namespace", e))?;
    let _lock = if opts.dry_run { None } else { Some(run.lock_wait(&server.ifname, LOCK_WAIT)?) };
    super::phase("lock", &mut t);
    let ctx = read_server(server)?;
    super::phase("read", &mut t);
    edit_locked(&ctx, &run, opts, f)
}

fn edit_locked(
    ctx: &Ctx,
    run: &RunState,
    opts: &EditOpts,
    f: impl FnOnce(&Ctx) -> Result<Outcome, AppError>,
) -> Result<i32, AppError> {
    let path = &ctx.server.path;
    let ifname = ctx.server.ifname.clone();
    if ctx.info.save_config && !opts.force {
        return Err(other(format!(
            "{}: SaveConfig = true: `wgq down' and `wg-quick down' would rewrite this file from the running \
             device and drop every comment, every disabled peer and the peers' names; set SaveConfig = false \
             (or pass --force to edit it all the same)",
            path.display()
        )));
    }
    let mut t = std::time::Instant::now();
    let out = f(ctx)?;
    super::phase("edit", &mut t);
    if out.edits.is_empty() && out.clients.is_empty() {
        for n in &out.notes {
            eprintln!("{}: {n}", crate::program_name());
        }
        return Ok(0);
    }
    let text = edit::apply(&ctx.doc.text, &out.edits);
    let new_cfg = config::parse_unstripped(&text, path).map_err(|e| {
        // Errors of lines the edit did not write are the file's own: name them as they are.
        match config::parse_unstripped(&ctx.doc.text, path) {
            Err(old) => AppError::Parse(old),
            Ok(_) => other(format!("the edit would leave an invalid file (nothing was changed):\n{e}")),
        }
    })?;
    super::phase("check", &mut t);
    let mut sys = LinuxSystem::new(&ifname, None)?;
    let live = !opts.no_apply && sys.is_wireguard(&ifname)?;
    let recorded = if live { run.read(&ifname, crate::system::runstate::ifindex(&ifname)) } else { None };
    let plan = if live {
        let facts = sys.observe_peer(&new_cfg, recorded.clone())?;
        Some(crate::plan::peer::plan_peers(&new_cfg, &ifname, &out.changes, &facts).map_err(|e| other(e.to_string()))?)
    } else {
        None
    };
    if opts.dry_run {
        let mut s = format!("# {}\n", path.display());
        s.push_str(&edit::diff(&ctx.doc.text, &text));
        for (name, content) in &out.clients {
            let _ = writeln!(s, "# {} {}", if content.is_some() { "write" } else { "remove" }, ctx.client_shown(name));
        }
        match &plan {
            Some(p) if p.ops.is_empty() => s.push_str("# live: nothing to change on the running interface\n"),
            Some(p) => {
                s.push_str("# live:\n");
                s.push_str(&p.to_string());
            }
            None if opts.no_apply => s.push_str("# live: --no-apply: the file only\n"),
            None => {
                let _ = writeln!(s, "# live: `{ifname}' is not running: the file only");
            }
        }
        print!("{s}");
        return Ok(0);
    }
    super::phase("plan", &mut t);
    let mut stderr = std::io::stderr();
    let mut ex = Executor::new(&mut sys, &mut stderr);
    if let Some(p) = &plan {
        crate::os::signals::install();
        ex.apply_part(p)?;
    }
    super::phase("apply", &mut t);
    // Client files first: a peer never exists without its client's keys on disk.
    let mut replaced = write_clients(ctx, &out.clients).map_err(|e| io("Unable to write a client file", e))?;
    if let Err(e) = crate::os::files::write_atomic(path, &text) {
        restore_clients(&mut replaced);
        return Err(AppError::Io { context: format!("Could not write {}", path.display()), source: e });
    }
    forget_clients(&mut replaced);
    ex.commit();
    drop(ex);
    super::phase("write", &mut t);
    for (name, content) in &out.clients {
        if content.is_none()
            && let Some(p) = ctx.client_path(name)
        {
            let _ = std::fs::remove_file(p);
        }
    }
    if let (Some(p), Some(r), Some(index)) = (&plan, recorded, crate::system::runstate::ifindex(&ifname))
        && let Err(e) = run.write(&ifname, index, &r.after_reload(p))
    {
        eprintln!("{}: warning: unable to record state in {}: {e}", crate::program_name(), run.dir().display());
    }
    for n in &out.notes {
        eprintln!("{}: {n}", crate::program_name());
    }
    if !live && !opts.no_apply {
        eprintln!("{}: `{ifname}' is not running: the file changed; `wgq up {ifname}' starts it", crate::program_name());
    }
    super::write_out(&mut std::io::stdout().lock(), out.stdout.as_bytes())?;
    Ok(0)
}

/// What [`write_clients`] replaced: each file's path and old content (`None`: it is new).
type Replaced = Vec<(PathBuf, Option<Vec<u8>>)>;

/// Writes the new client files (0600, in a 0700 directory); returns what they replaced.
/// On a failure, those already written are put back as they were.
fn write_clients(ctx: &Ctx, clients: &[(String, Option<Vec<u8>>)]) -> std::io::Result<Replaced> {
    let mut replaced = Vec::new();
    if clients.iter().any(|(_, c)| c.is_some()) {
        ensure_private_dir(&ctx.server.clients)?;
    }
    for (name, content) in clients {
        let Some(c) = content else { continue };
        let written = match ctx.client_path(name) {
            Some(p) => {
                let old = std::fs::read(&p).ok();
                crate::os::files::write_atomic(&p, c).map(|()| (p, old))
            }
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the peer name {} cannot name a client file", peers::shown(name)),
            )),
        };
        match written {
            Ok(w) => replaced.push(w),
            Err(e) => {
                restore_clients(&mut replaced);
                return Err(e);
            }
        }
    }
    Ok(replaced)
}

/// Puts back what [`write_clients`] replaced (the server file could not be written): old
/// contents rewritten, new files removed; the old contents (keys) wiped from memory.
fn restore_clients(replaced: &mut Replaced) {
    for (p, old) in replaced.iter().rev() {
        let _ = match old {
            Some(b) => crate::os::files::write_atomic(p, b),
            None => std::fs::remove_file(p),
        };
    }
    forget_clients(replaced);
}

/// Wipes the old contents [`write_clients`] kept (they hold the clients' private keys).
fn forget_clients(replaced: &mut Replaced) {
    for (_, old) in replaced.iter_mut() {
        if let Some(b) = old {
            crate::key::wipe(b);
        }
    }
    replaced.clear();
}

/// Creates `dir` and its parent `clients/` with mode 0700.
fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    for d in [Some(dir), dir.parent()].into_iter().flatten() {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Splits `a, b c` lists.
fn split(v: &str) -> impl Iterator<Item = &str> {
    v.split(|c: char| c == ',' || c.is_ascii_whitespace()).filter(|s| !s.is_empty())
}

fn parse_nets(option: &str, v: &str) -> Result<Vec<IpNet>, AppError> {
    split(v).map(|s| IpNet::parse(s).map_err(|e| other(format!("{option}: `{s}': {e}")))).collect()
}

/// The server-side routes of `--route` (LANs behind the client): no `/0`, nothing that
/// overlaps an address in use or a pool.
fn parse_routes(c: &Ctx, routes: &[String], used: &alloc::Used) -> Result<Vec<IpNet>, AppError> {
    let mut out = Vec::new();
    for r in routes {
        for n in parse_nets("--route", r)? {
            let n = n.network();
            if n.is_default() {
                return Err(other(format!(
                    "--route {n}: a default route to one client would send all of this host's traffic there"
                )));
            }
            if let Some(p) = c.info.addresses.iter().find(|p| p.network().contains(&n) || n.contains(&p.network())) {
                return Err(other(format!("--route {n} overlaps the address pool {}", p.network())));
            }
            if used.contains(n.addr) {
                return Err(other(format!("--route {n}: already routed to another peer")));
            }
            out.push(n);
        }
    }
    Ok(out)
}

/// Every address in use: the server's own and every peer's AllowedIPs, disabled ones too.
fn used(c: &Ctx, except: Option<usize>) -> alloc::Used {
    let mut nets: Vec<IpNet> = c.info.addresses.iter().map(|a| IpNet::new(a.addr, a.max_prefix())).collect();
    for p in c.peers.iter().filter(|p| Some(p.block) != except) {
        nets.extend(p.allowed_ips.iter().map(|a| a.network()));
    }
    alloc::Used::new(&nets)
}

fn host_net(a: IpAddr) -> IpNet {
    IpNet::new(a, if a.is_ipv6() { 128 } else { 32 })
}

/// Splits a peer's AllowedIPs into its addresses (hosts inside a pool) and its routes.
fn addresses_and_routes(c: &Ctx, p: &PeerEntry) -> (Vec<IpNet>, Vec<IpNet>) {
    p.allowed_ips
        .iter()
        .partition(|a| a.prefix == a.max_prefix() && c.info.addresses.iter().any(|pool| pool.network().contains(a)))
}

/// The endpoint clients use: `--endpoint`, else `# ClientEndpoint`; a host without a port
/// gets the server's ListenPort.
fn client_endpoint(c: &Ctx, given: Option<&str>) -> Result<String, AppError> {
    let e = given.map(str::to_string).or_else(|| c.info.endpoint.clone()).ok_or_else(|| {
        other(format!(
            "{}: no endpoint for clients: pass --endpoint HOST[:PORT] (or add `# ClientEndpoint = HOST:PORT' to \
             [Interface])",
            c.server.path.display()
        ))
    })?;
    if (e.starts_with('[') || !e.contains("::")) && config::parse::parse_endpoint(&e).is_ok() {
        return Ok(e);
    }
    let port = c.info.listen_port.ok_or_else(|| other(format!("--endpoint {e}: no port, and the server has no ListenPort")))?;
    super::server::endpoint(&e, port)
}

/// Checks a client file's text the way `wgq up` on the client will read it.
fn check_client(text: &str, name: &str) -> Result<(), AppError> {
    config::parse(text.as_bytes(), Path::new(&format!("{name}.conf")))
        .map(|_| ())
        .map_err(|e| other(format!("the client file would be invalid (nothing was changed):\n{e}")))
}

fn qr_text(text: &[u8]) -> Result<String, AppError> {
    super::qr::terminal(text).map_err(other)
}

fn add(target: &Target, opts: &EditOpts, a: &AddArgs) -> Result<i32, AppError> {
    edit(target, opts, |c| {
        c.check_new_name(&a.name)?;
        let (private, public) = match &a.pubkey {
            Some(k) => (None, Key::from_base64(k).map_err(|_| other("--pubkey: Key is not the correct length or format"))?),
            None => {
                let sk = SecretKey::generate_private().map_err(key_error)?;
                let pk = sk.public_key();
                (Some(sk), pk)
            }
        };
        if c.peers.iter().any(|p| p.public_key == Some(public)) {
            return Err(other(format!("{}: a peer with this public key already exists", c.server.path.display())));
        }
        let psk = if a.no_psk { None } else { Some(SecretKey::generate_preshared().map_err(key_error)?) };
        let used = used(c, None);
        let (v4, v6) = alloc::pools(&c.info.addresses);
        let addrs: Vec<IpAddr> = match &a.ip {
            Some(list) => {
                let mut v = Vec::new();
                for s in split(list) {
                    let n = IpNet::parse(s).map_err(|e| other(format!("--ip `{s}': {e}")))?;
                    if n.prefix != n.max_prefix() {
                        return Err(other(format!("--ip `{s}': one address per family (no prefix length)")));
                    }
                    alloc::check_given(&used, &c.info.addresses, n.addr).map_err(|e| other(format!("--ip: {e}")))?;
                    v.push(n.addr);
                }
                v
            }
            None => alloc::allocate(&used, v4.as_ref(), v6.as_ref())
                .map_err(|e| other(format!("{}: {e}", c.server.path.display())))?,
        };
        if addrs.is_empty() {
            return Err(other(format!("{}: the server has no Address to allocate from; pass --ip", c.server.path.display())));
        }
        let addresses: Vec<IpNet> = addrs.iter().map(|&a| host_net(a)).collect();
        let routes = parse_routes(c, &a.routes, &used)?;
        let expires = a.expires.as_deref().map(|e| peers::parse_expires(e, c.now)).transpose().map_err(other)?;
        if let Some(n) = &a.note {
            peers::check_value("--note", n).map_err(|e| other(e.to_string()))?;
        }
        let mut server_allowed = addresses.clone();
        server_allowed.extend(&routes);
        let block = NewPeer {
            name: a.name.clone(),
            created: peers::format_time(c.now),
            expires,
            note: a.note.clone(),
            p2p: a.p2p,
            public_key: public,
            preshared_key: psk.clone(),
            allowed_ips: server_allowed.clone(),
        };
        let server_pub = c.info.private_key.as_ref().map(|k| k.public_key()).ok_or_else(|| {
            other(format!("{}: [Interface] has no PrivateKey: clients need the server's public key", c.server.path.display()))
        })?;
        let dns = match a.dns.as_deref().or(c.info.dns.as_deref()) {
            Some("none") | None => None,
            Some(d) => Some(d.to_string()),
        };
        let client = ClientConfig {
            name: a.name.clone(),
            private_key: private,
            addresses: addresses.clone(),
            dns,
            mtu: a.mtu.or(c.info.mtu),
            server_public_key: server_pub,
            preshared_key: psk.clone(),
            allowed_ips: a.allowed_ips.clone().or_else(|| c.info.allowed_ips.clone()).unwrap_or_else(|| "0.0.0.0/0, ::/0".into()),
            endpoint: client_endpoint(c, a.endpoint.as_deref())?,
            keepalive: Some(a.keepalive.or(c.info.keepalive).unwrap_or(25)),
        };
        let text = peers::client_config(&client);
        check_client(&text, &a.name)?;
        let mut out = Outcome {
            edits: vec![c.doc.append(&peers::peer_block(&block, c.doc.newline()))],
            changes: vec![PeerChange {
                before: None,
                after: Some(PeerSpec { public_key: public, preshared_key: psk, allowed_ips: server_allowed, keepalive: None }),
            }],
            ..Default::default()
        };
        let shown: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
        if a.no_store {
            out.notes.push(format!("peer {}: {}; its client file was printed and is kept nowhere", a.name, shown.join(", ")));
            out.stdout.push_str(&text);
        } else {
            out.notes.push(format!("peer {}: {}; client file {}", a.name, shown.join(", "), c.client_shown(&a.name)));
            out.clients.push((a.name.clone(), Some(text.clone().into_bytes())));
        }
        if a.pubkey.is_some() {
            out.notes.push("the client's private key is its own: put it into PrivateKey of the client file".into());
        }
        if a.qr && !opts.dry_run {
            out.stdout.push_str(&qr_text(text.as_bytes())?);
        }
        Ok(out)
    })
}

fn unique(names: &[String]) -> Vec<&String> {
    let mut seen = std::collections::HashSet::new();
    names.iter().filter(|n| seen.insert(n.as_str())).collect()
}

fn remove(target: &Target, opts: &EditOpts, names: &[String]) -> Result<i32, AppError> {
    edit(target, opts, |c| {
        let mut out = Outcome::default();
        for n in unique(names) {
            let p = c.find(n)?;
            out.edits.push(c.doc.remove(c.block(p)));
            out.changes.push(PeerChange { before: spec(p), after: None });
            let name = p.name.clone().unwrap_or_else(|| n.clone());
            if c.client_file(&name).is_some() {
                out.clients.push((name.clone(), None));
            }
            out.notes.push(format!("peer {name} removed"));
        }
        Ok(out)
    })
}

fn toggle(target: &Target, opts: &EditOpts, names: &[String], enable: bool) -> Result<i32, AppError> {
    edit(target, opts, |c| {
        let mut out = Outcome::default();
        for n in unique(names) {
            let p = c.find(n)?;
            let name = p.name.clone().unwrap_or_else(|| n.clone());
            if p.disabled != enable {
                out.notes.push(format!("peer {name} is already {}", if enable { "enabled" } else { "disabled" }));
                continue;
            }
            let b = c.block(p);
            if enable {
                if let Some(e) = p.expires.as_deref().and_then(peers::parse_time)
                    && e <= c.now
                {
                    out.notes.push(format!(
                        "warning: peer {name} expired at {}; `wgq peer expire' disables it again (change it with \
                         `wgq peer set {} {name} --expires …')",
                        peers::format_time(e),
                        c.server.ifname
                    ));
                }
                out.edits.push(c.doc.enable(b));
                let mut now = p.clone();
                now.disabled = false;
                out.changes.push(PeerChange { before: None, after: spec(&now) });
            } else {
                out.edits.push(c.doc.disable(b));
                out.changes.push(PeerChange { before: spec(p), after: None });
            }
            out.notes.push(format!("peer {name} {}", if enable { "enabled" } else { "disabled" }));
        }
        Ok(out)
    })
}

/// `bytes` (a client file) with `key` set in its first block of `section`.
fn set_in_client(bytes: &[u8], section: edit::Section, key: &str, value: Option<&str>) -> Vec<u8> {
    let d = Document::parse(bytes.to_vec());
    match d.blocks.iter().find(|b| b.section == section && !b.disabled) {
        Some(b) => edit::apply(&d.text, &[d.replace(b, &peers::set_key(&d, b, key, value))]),
        None => d.text.clone(),
    }
}

/// Block lines (enabled form) with `key` set, as [`peers::set_key`] does on a document.
fn set_lines(lines: &[Vec<u8>], key: &str, value: Option<&str>) -> Vec<Vec<u8>> {
    let text: Vec<u8> = lines.iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect();
    let d = Document::parse(text);
    let Some(b) = d.blocks.first().filter(|b| b.lines.start == 0) else { return lines.to_vec() };
    let mut out = peers::set_key(&d, b, key, value);
    out.extend(lines[b.lines.end..].iter().cloned());
    out
}

fn rename(target: &Target, opts: &EditOpts, old: &str, new: &str) -> Result<i32, AppError> {
    edit(target, opts, |c| {
        let p = c.find(old)?;
        c.check_new_name(new)?;
        let b = c.block(p);
        let mut out =
            Outcome { edits: vec![c.doc.replace(b, &peers::set_key(&c.doc, b, "Name", Some(new)))], ..Default::default() };
        if let Some(name) = &p.name
            && let Some(bytes) = c.client_file(name)
        {
            let renamed = set_in_client(&bytes, edit::Section::Interface, "Name", Some(new));
            out.clients.push((new.to_string(), Some(renamed)));
            out.clients.push((name.clone(), None));
        }
        out.notes.push(format!("peer {old} is now {new}"));
        Ok(out)
    })
}

fn set(target: &Target, opts: &EditOpts, name: &str, a: &SetArgs) -> Result<i32, AppError> {
    edit(target, opts, |c| {
        let p = c.find(name)?;
        let b = c.block(p);
        let original: Vec<Vec<u8>> = c.doc.block_lines(b).iter().map(|l| l.to_vec()).collect();
        let mut lines = original.clone();
        let mut set_server = |key: &str, value: Option<&str>| lines = set_lines(&lines, key, value);
        let mut after = p.clone();
        let mut notes = Vec::new();
        if let Some(routes) = &a.routes {
            let (addresses, _) = addresses_and_routes(c, p);
            let used = used(c, Some(p.block));
            let routes = parse_routes(c, routes, &used)?;
            let mut all = addresses;
            all.extend(routes);
            let text: Vec<String> = all.iter().map(|n| n.to_string()).collect();
            set_server("AllowedIPs", Some(&text.join(", ")));
            after.allowed_ips = all;
        }
        if let Some(e) = &a.expires {
            let v = if e == "never" { None } else { Some(peers::parse_expires(e, c.now).map_err(other)?) };
            set_server("Expires", v.as_deref());
        }
        if let Some(n) = &a.note {
            peers::check_value("--note", n).map_err(|e| other(e.to_string()))?;
            set_server("Note", (!n.is_empty()).then_some(n.as_str()));
        }
        if let Some(on) = a.p2p {
            set_server("P2P", on.then_some("true"));
        }
        let mut out = Outcome::default();
        if lines != original {
            out.edits.push(c.doc.replace(b, &lines));
        }
        let client_side = a.allowed_ips.is_some() || a.dns.is_some() || a.keepalive.is_some() || a.mtu.is_some();
        if client_side {
            let pname = p.name.clone().unwrap_or_else(|| name.to_string());
            let Some(mut bytes) = c.client_file(&pname) else {
                return Err(other(format!(
                    "peer {pname} has no client file in {} (it was printed once, or the client has its own): \
                     --allowed-ips, --dns, --keepalive and --mtu change the client's side",
                    c.server.clients.display()
                )));
            };
            use edit::Section::{Interface, Peer};
            if let Some(v) = &a.allowed_ips {
                parse_nets("--allowed-ips", v)?;
                bytes = set_in_client(&bytes, Peer, "AllowedIPs", Some(v));
            }
            if let Some(v) = &a.dns {
                bytes = set_in_client(&bytes, Interface, "DNS", (v != "none").then_some(v.as_str()));
            }
            if let Some(k) = a.keepalive {
                bytes = set_in_client(&bytes, Peer, "PersistentKeepalive", (k != 0).then(|| k.to_string()).as_deref());
            }
            if let Some(m) = a.mtu {
                bytes = set_in_client(&bytes, Interface, "MTU", Some(&m.to_string()));
            }
            check_client(&String::from_utf8_lossy(&bytes), &pname)?;
            notes.push(format!("client file {} changed: give the client its new version", c.client_shown(&pname)));
            out.clients.push((pname, Some(bytes)));
        }
        out.changes.push(PeerChange { before: spec(p), after: spec(&after) });
        out.notes.extend(notes);
        Ok(out)
    })
}

fn rotate(target: &Target, opts: &EditOpts, name: &str, pubkey: Option<&str>, qr: bool) -> Result<i32, AppError> {
    edit(target, opts, |c| {
        let p = c.find(name)?;
        let pname = p.name.clone().unwrap_or_else(|| name.to_string());
        let stored = c.client_file(&pname);
        let holds_key = stored.as_ref().is_some_and(|b| {
            let d = Document::parse(b.clone());
            d.blocks.iter().any(|blk| {
                blk.section == edit::Section::Interface
                    && d.block_lines(blk).iter().any(|l| {
                        std::str::from_utf8(l)
                            .is_ok_and(|t| !t.trim_start().starts_with('#') && t.to_ascii_lowercase().contains("privatekey"))
                    })
            })
        });
        let (private, public) = match pubkey {
            Some(k) => (None, Key::from_base64(k).map_err(|_| other("--pubkey: Key is not the correct length or format"))?),
            None if stored.is_some() && !holds_key => {
                return Err(other(format!("peer {pname} holds its own private key: pass its new public key with --pubkey")));
            }
            None => {
                let sk = SecretKey::generate_private().map_err(key_error)?;
                let pk = sk.public_key();
                (Some(sk), pk)
            }
        };
        let psk = SecretKey::generate_preshared().map_err(key_error)?;
        let b = c.block(p);
        let lines = peers::set_key(&c.doc, b, "PublicKey", Some(&public.to_base64()));
        let lines = set_lines(&lines, "PresharedKey", Some(&psk.to_base64()));
        let mut after = p.clone();
        after.public_key = Some(public);
        after.preshared_key = Some(psk.clone());
        let mut out = Outcome {
            edits: vec![c.doc.replace(b, &lines)],
            changes: vec![PeerChange { before: spec(p), after: spec(&after) }],
            ..Default::default()
        };
        match stored {
            Some(bytes) => {
                use edit::Section::{Interface, Peer};
                let mut bytes = set_in_client(&bytes, Peer, "PresharedKey", Some(&psk.to_base64()));
                if let Some(k) = &private {
                    bytes = set_in_client(&bytes, Interface, "PrivateKey", Some(&k.to_base64()));
                }
                if qr && !opts.dry_run {
                    out.stdout.push_str(&qr_text(&bytes)?);
                }
                out.notes.push(format!("peer {pname}: new keys; client file {} (give the client its new version)", c.client_shown(&pname)));
                out.clients.push((pname, Some(bytes)));
            }
            None => out.notes.push(format!(
                "peer {pname}: new keys; no client file is kept: the client needs the new PresharedKey (`wgq peer show' cannot print it)"
            )),
        }
        Ok(out)
    })
}

fn show(target: &Target, name: &str, qr: bool) -> Result<i32, AppError> {
    let c = read_server(target.locate()?)?;
    let p = c.find(name)?;
    let pname = p.name.clone().unwrap_or_else(|| name.to_string());
    let Some(bytes) = c.client_file(&pname) else {
        return Err(other(format!(
            "peer {pname}: no client file in {} (it was printed once when added, or the client made its own key)",
            c.server.clients.display()
        )));
    };
    let text = if qr { qr_text(&bytes)?.into_bytes() } else { bytes };
    super::write_out(&mut std::io::stdout().lock(), &text)?;
    Ok(0)
}

/// The server files `list` and `expire` look at: the one named, or (with no name) every
/// `*.conf` of the config directory that has peers.
fn targets(target: &Target, all: bool) -> Result<Vec<Server>, AppError> {
    if !all {
        return Ok(vec![target.locate()?]);
    }
    let dir = target.dir();
    let mut v = Vec::new();
    let rd = std::fs::read_dir(&dir).map_err(|e| AppError::Read { path: dir.display().to_string(), source: e })?;
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(ifname) = locate::interface_from_path(&name)
            && e.file_type().is_ok_and(|t| t.is_file())
        {
            v.push(Target { interface: ifname, config_dir: Some(dir.clone()) }.server()?);
        }
    }
    v.sort_by(|a, b| a.ifname.cmp(&b.ifname));
    Ok(v)
}

fn list(target: &Target, all: bool, json: bool) -> Result<i32, AppError> {
    let now_d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let mut text = String::new();
    let mut first = true;
    if json {
        text.push('[');
    }
    for server in targets(target, all)? {
        let ifname = server.ifname.clone();
        let path = server.path.clone();
        // The device is read (and indexed by key) while the file is parsed and the file's
        // columns rendered: after both, only the live columns are left to write.
        let (file, dev) = std::thread::scope(|s| {
            let h = s.spawn(|| {
                if !crate::device::valid_name(&ifname) {
                    return None;
                }
                let d = crate::device::Devices::default().get_summary(&ifname).ok()?;
                let index: KeyMap<usize> = d.peers.iter().enumerate().map(|(i, p)| (p.public_key, i)).collect();
                Some((d, index))
            });
            let c = std::fs::read(&path).map(|mut b| {
                let e = peers::list_entries(&b);
                // The text holds the private key.
                crate::key::wipe(&mut b);
                let cells = if json { None } else { Some(render_file_cells(&ifname, &e)) };
                (e, cells)
            });
            (c, h.join().ok().flatten())
        });
        let ((entries, cells), dev) = match file {
            Ok(c) => (c, dev),
            Err(e) if !all => return Err(AppError::Read { path: path.display().to_string(), source: e }),
            Err(_) => continue,
        };
        if all && entries.is_empty() {
            continue;
        }
        text.reserve(entries.len() * if json { 400 } else { 170 });
        let live = |p: &PeerEntry| {
            let (d, index) = dev.as_ref()?;
            p.public_key.and_then(|k| index.get(&k)).map(|&i| &d.peers[i])
        };
        if let Some((cells, ends)) = &cells {
            if first && !entries.is_empty() {
                let _ = writeln!(
                    text,
                    "{:<15} {:<15} {:<34} {:<8} {:<10} {:<10} {:<24} {:<16} TRANSFER (RX / TX)",
                    "INTERFACE", "NAME", "ADDRESSES", "STATE", "CREATED", "EXPIRES", "ENDPOINT", "HANDSHAKE"
                );
            }
            let mut at = 0;
            for (p, &end) in entries.iter().zip(ends) {
                text.push_str(&cells[at..end]);
                at = end;
                render_live_cells(&mut text, live(p), now_d);
                first = false;
            }
        } else {
            for p in &entries {
                render_json_peer(&mut text, &ifname, p, live(p), dev.is_some(), first);
                first = false;
            }
        }
    }
    if json {
        text.push_str(if first { "]\n" } else { "\n]\n" });
    }
    super::write_out(&mut std::io::stdout().lock(), text.as_bytes())?;
    Ok(0)
}

/// Appends `v` padded with spaces to `width`, then one space.
fn cell(s: &mut String, v: &str, width: usize) {
    s.push_str(v);
    let n = if v.is_ascii() { v.len() } else { v.chars().count() };
    for _ in n..width {
        s.push(' ');
    }
    s.push(' ');
}

/// The file's columns of every row (interface to expiry), in one text, and where each
/// row's part ends.
fn render_file_cells(ifname: &str, entries: &[PeerEntry]) -> (String, Vec<usize>) {
    fn day(t: &Option<String>) -> &str {
        t.as_deref().map(|t| t.get(..10).unwrap_or(t)).unwrap_or("-")
    }
    let mut s = String::with_capacity(entries.len() * 110);
    let mut ends = Vec::with_capacity(entries.len());
    for p in entries {
        cell(&mut s, ifname, 15);
        cell(&mut s, p.name.as_deref().unwrap_or("-"), 15);
        cell(&mut s, &p.allowed_text, 34);
        cell(&mut s, if p.disabled { "disabled" } else { "enabled" }, 8);
        cell(&mut s, day(&p.created), 10);
        cell(&mut s, day(&p.expires), 10);
        ends.push(s.len());
    }
    (s, ends)
}

/// The device's columns of a row (endpoint to transfer) and its newline.
fn render_live_cells(s: &mut String, l: Option<&crate::device::PeerState>, now: Duration) {
    match l {
        // "-" padded to 24 and to 16, then "-".
        None => s.push_str("-                        -                -\n"),
        Some(l) => {
            match l.endpoint {
                Some(e) => {
                    let at = s.len();
                    let _ = write!(s, "{e}");
                    let n = s.len() - at;
                    s.extend(std::iter::repeat_n(' ', 24usize.saturating_sub(n) + 1));
                }
                None => cell(s, "-", 24),
            }
            match l.last_handshake {
                Some(h) => cell(s, &super::show::ago(now.saturating_sub(h)), 16),
                None => cell(s, "never", 16),
            }
            s.push_str(&super::show::bytes(l.rx_bytes));
            s.push_str(" / ");
            s.push_str(&super::show::bytes(l.tx_bytes));
            s.push('\n');
        }
    }
}

fn render_json_peer(
    s: &mut String,
    ifname: &str,
    p: &PeerEntry,
    l: Option<&crate::device::PeerState>,
    running: bool,
    first: bool,
) {
    use super::show::json_str;
    let opt = |v: &Option<String>| v.as_deref().map(json_str).unwrap_or_else(|| "null".into());
    let ips: Vec<String> = p.allowed_ips.iter().map(|a| json_str(&a.to_string())).collect();
    let _ = write!(
        s,
        "{}\n  {{\"interface\": {}, \"name\": {}, \"public_key\": {}, \"allowed_ips\": [{}], \"enabled\": {}, \
         \"created\": {}, \"expires\": {}, \"note\": {}, \"running\": {}, \"endpoint\": {}, \"latest_handshake\": {}, \
         \"rx_bytes\": {}, \"tx_bytes\": {}}}",
        if first { "" } else { "," },
        json_str(ifname),
        opt(&p.name),
        p.public_key.map(|k| json_str(&k.to_base64())).unwrap_or_else(|| "null".into()),
        ips.join(", "),
        !p.disabled,
        opt(&p.created),
        opt(&p.expires),
        opt(&p.note),
        running && l.is_some(),
        l.and_then(|l| l.endpoint).map(|e| json_str(&e.to_string())).unwrap_or_else(|| "null".into()),
        l.and_then(|l| l.last_handshake).map(|h| h.as_secs()).unwrap_or(0),
        l.map(|l| l.rx_bytes).unwrap_or(0),
        l.map(|l| l.tx_bytes).unwrap_or(0),
    );
}

fn expire(target: &Target, all: bool, opts: &EditOpts) -> Result<i32, AppError> {
    let mut status = 0;
    for server in targets(target, all)? {
        let t = Target { interface: server.path.display().to_string(), config_dir: None };
        // A quick look without the lock: most runs of the timer find nothing to do.
        let Ok(bytes) = std::fs::read(&server.path) else { continue };
        let now = now();
        let due = |p: &PeerEntry| !p.disabled && p.expires.as_deref().and_then(peers::parse_time).is_some_and(|e| e <= now);
        if !peers::peers(&Document::parse(bytes)).iter().any(due) {
            continue;
        }
        let r = edit(&t, opts, |c| {
            let mut out = Outcome::default();
            for p in c.peers.iter().filter(|p| due(p)) {
                out.edits.push(c.doc.disable(c.block(p)));
                out.changes.push(PeerChange { before: spec(p), after: None });
                out.notes.push(format!(
                    "{}: peer {} expired at {}: disabled",
                    c.server.ifname,
                    p.name.as_deref().unwrap_or("(unnamed)"),
                    p.expires.as_deref().unwrap_or("")
                ));
            }
            Ok(out)
        });
        if let Err(e) = r {
            eprintln!("{}: {}", crate::program_name(), crate::error_chain(&e));
            status = e.status();
        }
    }
    Ok(status)
}

fn import(target: &Target, opts: &EditOpts) -> Result<i32, AppError> {
    edit(target, opts, |c| {
        let found = peers::import(&c.doc, &c.server.ifname);
        let mut out = Outcome { edits: found.edits, ..Default::default() };
        out.notes.extend(found.notes);
        if out.edits.is_empty() {
            out.notes.push("nothing to import: no marker of another tool, every peer has a name".into());
        }
        Ok(out)
    })
}
