//! Provisioning as a library: a server's file (`server init`) and its clients (`peer add`,
//! `list`, `show`, `remove`, `enable`, `disable`, `rename`, `set`, `rotate`, `expire`,
//! `import`) as typed operations: each takes a [`Server`] (or a [`Target`] to locate one), its
//! options and a typed request, and returns a typed result (the rows a table, JSON or a web
//! page renders; what it changed, as [`Note`]s) or one [`ProvisionError`]. The CLI
//! (`commands::peer`, `commands::server`) renders them; any other front-end calls the same
//! functions.
//!
//! Every edit goes the same way ([`edit`]): take the interface lock (waiting for it), read the
//! file again, refuse a file with errors or `SaveConfig = true`, make the new text (pure:
//! `config::edit`, `config::peers`, `plan::alloc`), check it, then — on a running interface —
//! apply the device and route changes of just those peers through the executor (its trace
//! on stderr) and write the client files and the server file; a failure undoes the live
//! changes. The clients' keys live in 0600 client files under `DIR/clients/INTERFACE`.

mod add;
mod configure;
mod error;
mod expire;
mod init;
mod list;
pub mod migrate;
pub mod migrate15;
mod names;
pub mod restore;
mod rotate;
mod set;
mod util;
pub mod wgeasy;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use add::{AddRequest, Added, add};
pub use configure::{ServerSettings, configure};
pub use error::{IoWhat, ProvisionError};
pub use expire::{ExpireReport, bad_expiry, expire, expire_targets};
pub use init::{ClientDefaults, InitRequest, Initialized, Nat, init, is_private, nat_hooks, server_file};
pub use list::{ListRow, Listed, list, show};
pub use names::{disable, enable, import, remove, rename};
pub use restore::{Backup, RestoreRequest, backup, restore};
pub use rotate::{RotateRequest, rotate};
pub use set::{SetRequest, set};

use crate::config::edit::{self, Document, Edit};
use crate::config::peers::{self, PeerEntry, ServerInfo};
use crate::config::{self, locate};
use crate::plan::exec::Executor;
use crate::plan::peer::{PeerChange, PeerSpec};
use crate::system::LinuxSystem;
use crate::system::runstate::RunState;

/// Where wg-quick and wgq look up `INTERFACE` arguments.
pub const CONFIG_DIR: &str = "/etc/wireguard";

/// The server file an operation works on: `INTERFACE` (in `config_dir`, default
/// /etc/wireguard) or a path `DIR/INTERFACE.conf`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    pub interface: String,
    pub config_dir: Option<PathBuf>,
}

/// Options every editing operation takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EditOpts {
    /// Make the file diff and the live plan; change nothing.
    pub dry_run: bool,
    /// Edit the file only, even when the interface runs.
    pub no_apply: bool,
    /// Edit a file with `SaveConfig = true` all the same.
    pub force: bool,
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
    pub fn dir(&self) -> PathBuf {
        self.config_dir.clone().unwrap_or_else(|| PathBuf::from(CONFIG_DIR))
    }

    /// The server file named by the argument (it must exist).
    pub fn locate(&self) -> Result<Server, ProvisionError> {
        let s = self.server()?;
        if std::fs::metadata(&s.path).is_err() {
            return Err(locate::LocateError::Missing(s.path.display().to_string()).into());
        }
        Ok(s)
    }

    /// Where the server file is or would be.
    pub fn server(&self) -> Result<Server, ProvisionError> {
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

/// What an edit said it did (rendered as one line each on stderr by the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// `peer add`: the addresses, and where the client file went (`None`: printed once).
    Added {
        name: String,
        addresses: Vec<std::net::IpAddr>,
        client: Option<String>,
    },
    /// `peer add --pubkey`.
    OwnKey,
    Removed(String),
    Already {
        name: String,
        enabled: bool,
    },
    ExpiredWarning {
        name: String,
        at: String,
        ifname: String,
    },
    Toggled {
        name: String,
        enabled: bool,
    },
    Renamed {
        old: String,
        new: String,
    },
    ClientChanged(String),
    /// `peer set --ip` of a peer without a stored client file.
    AddressNoClientFile {
        name: String,
        addresses: String,
    },
    Rotated {
        name: String,
        client: Option<String>,
    },
    Expired {
        ifname: String,
        name: String,
        at: String,
    },
    /// `peer import`'s account of a peer.
    Imported(String),
    /// `restore`: where the file as it was is kept.
    Kept(PathBuf),
    NothingToImport,
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use config::values::clean;
        match self {
            Note::Added { name, addresses, client } => {
                let shown: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
                match client {
                    None => write!(f, "peer {name}: {}; its client file was printed and is kept nowhere", shown.join(", ")),
                    Some(c) => write!(f, "peer {name}: {}; client file {c}", shown.join(", ")),
                }
            }
            Note::OwnKey => f.write_str("the client's private key is its own: put it into PrivateKey of the client file"),
            Note::Removed(n) => write!(f, "peer {} removed", clean(n)),
            Note::Already { name, enabled } => {
                write!(f, "peer {} is already {}", clean(name), if *enabled { "enabled" } else { "disabled" })
            }
            Note::ExpiredWarning { name, at, ifname } => write!(
                f,
                "warning: peer {name} expired at {at}; `wgq peer expire' disables it again (change it with \
                 `wgq peer set {ifname} {name} --expires …')",
                name = clean(name)
            ),
            Note::Toggled { name, enabled } => {
                write!(f, "peer {} {}", clean(name), if *enabled { "enabled" } else { "disabled" })
            }
            Note::Renamed { old, new } => write!(f, "peer {} is now {new}", clean(old)),
            Note::ClientChanged(c) => write!(f, "client file {c} changed: give the client its new version"),
            Note::AddressNoClientFile { name, addresses } => {
                write!(f, "peer {}: no client file is kept: the client's own file needs `Address = {addresses}'", clean(name))
            }
            Note::Rotated { name, client: Some(c) } => {
                write!(f, "peer {}: new keys; client file {c} (give the client its new version)", clean(name))
            }
            Note::Rotated { name, client: None } => write!(
                f,
                "peer {}: new keys; no client file is kept: the client needs the new PresharedKey (`wgq peer show' cannot print it)",
                clean(name)
            ),
            Note::Expired { ifname, name, at } => write!(f, "{ifname}: peer {} expired at {}: disabled", clean(name), clean(at)),
            Note::Imported(t) => f.write_str(t),
            Note::Kept(p) => write!(f, "the file as it was is kept as {}", p.display()),
            Note::NothingToImport => f.write_str("nothing to import: no marker of another tool, every peer has a name"),
        }
    }
}

/// What an edit came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edited {
    /// `--dry-run`: the file diff, the client files, the live plan.
    DryRun(String),
    /// Nothing to change (the notes say why).
    Unchanged(Vec<Note>),
    /// Written (and applied live when `live`).
    Done {
        notes: Vec<Note>,
        /// The interface runs and got the change (false with `--no-apply` or when it is down).
        live: bool,
        no_apply: bool,
        ifname: String,
        /// To print on stdout (a client file shown once, a QR code).
        stdout: String,
    },
}

/// What an edit reads: the file as it is now, under the lock.
pub(crate) struct Ctx {
    pub server: Server,
    pub doc: Document,
    pub info: ServerInfo,
    pub peers: Vec<PeerEntry>,
    pub now: i64,
}

/// What an edit makes.
#[derive(Default)]
pub(crate) struct Outcome {
    pub edits: Vec<Edit>,
    /// The peers whose device entry changes.
    pub changes: Vec<PeerChange>,
    /// Client files to write (`Some`) or remove (`None`), by peer name.
    pub clients: Vec<(String, Option<Vec<u8>>)>,
    /// Client files made as symbolic links (to the given link text) before `clients` are
    /// written through them: a renamed client file that was a link stays one.
    pub links: Vec<(String, PathBuf)>,
    pub notes: Vec<Note>,
    pub stdout: String,
    /// The server's own settings (key, addresses, port) changed: a running interface is
    /// brought to the new file as `wgq reload` does, not only the peers of `changes`.
    pub reload: bool,
    /// Before anything is changed, the file as it was is kept beside it as
    /// `FILE.<suffix>` (0600), and the client files written over or removed in
    /// `DIR/clients/INTERFACE.<suffix>/` (0700): `restore` loses nothing.
    pub keep_as: Option<String>,
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// With WGQ_STATS set, prints how long each phase took and the peak RSS at its end (for
/// bench/ and tests/vm/).
fn phase(name: &str, since: &mut std::time::Instant) {
    if std::env::var_os("WGQ_STATS").is_some() {
        let rss = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).map(|u| u.max_rss()).unwrap_or(0);
        eprintln!("wgq: phase {name}: {:.3} s, peak RSS so far {rss} KiB", since.elapsed().as_secs_f64());
    }
    *since = std::time::Instant::now();
}

/// Reads the server file (the caller holds the lock when it will write). The file is
/// validated as a whole once edited.
pub(crate) fn read_server(server: Server) -> Result<Ctx, ProvisionError> {
    let bytes = std::fs::read(&server.path).map_err(|e| ProvisionError::Read { path: server.path.clone(), source: e })?;
    let doc = Document::parse(bytes);
    let info = peers::server_info(&doc);
    let peers = peers::peers(&doc);
    Ok(Ctx { server, doc, info, peers, now: now() })
}

/// Where edits run: the run state that holds the interface locks (and the records of
/// running interfaces), and whether the running device may be looked at and changed.
#[derive(Debug, Clone)]
pub struct Host {
    run: RunState,
    devices: bool,
}

impl Host {
    /// This host: the run state of the current network namespace; a running interface gets
    /// each change live.
    pub fn current() -> Result<Host, ProvisionError> {
        let run = RunState::current().map_err(|e| ProvisionError::Io { what: IoWhat::Netns, source: e })?;
        Ok(Host { run, devices: true })
    }

    /// Files only (a front-end without network access, tests): the locks under `run_dir`;
    /// no device is looked at or changed (as with `--no-apply`).
    pub fn files_only(run_dir: &Path) -> Result<Host, ProvisionError> {
        let netns =
            crate::system::runstate::Netns::current().map_err(|e| ProvisionError::Io { what: IoWhat::Netns, source: e })?;
        Ok(Host { run: RunState::at(run_dir, netns), devices: false })
    }

    /// The one place an edit takes its lock: the file's lock (shared by every namespace and
    /// process that sees the file), then the interface lock of the run state, both waited for
    /// (`WGQ_LOCK_WAIT`).
    fn lock(&self, server: &Server) -> Result<crate::system::runstate::ConfigLock, ProvisionError> {
        Ok(self.run.lock_config(Some(&server.path), &server.ifname)?)
    }
}

/// The edit transaction of every editing operation (see the module's text).
pub(crate) fn edit(
    host: &Host,
    server: Server,
    opts: &EditOpts,
    f: impl FnOnce(&Ctx) -> Result<Outcome, ProvisionError>,
) -> Result<Edited, ProvisionError> {
    let mut t = std::time::Instant::now();
    let _lock = if opts.dry_run { None } else { Some(host.lock(&server)?) };
    phase("lock", &mut t);
    let ctx = read_server(server)?;
    phase("read", &mut t);
    edit_locked(&ctx, host, opts, f)
}

fn edit_locked(
    ctx: &Ctx,
    host: &Host,
    opts: &EditOpts,
    f: impl FnOnce(&Ctx) -> Result<Outcome, ProvisionError>,
) -> Result<Edited, ProvisionError> {
    let path = &ctx.server.path;
    let ifname = ctx.server.ifname.clone();
    if ctx.info.save_config && !opts.force {
        return Err(ProvisionError::SaveConfig(path.clone()));
    }
    let mut t = std::time::Instant::now();
    let out = f(ctx)?;
    phase("edit", &mut t);
    if out.edits.is_empty() && out.clients.is_empty() {
        return Ok(Edited::Unchanged(out.notes));
    }
    let text = edit::apply(&ctx.doc.text, &out.edits)?;
    let new_cfg = config::parse_unstripped(&text, path).map_err(|e| {
        // Errors of lines the edit did not write are the file's own: name them as they are.
        match config::parse_unstripped(&ctx.doc.text, path) {
            Err(old) => ProvisionError::Parse(old),
            Ok(_) => ProvisionError::InvalidEdit(e),
        }
    })?;
    phase("check", &mut t);
    let run = &host.run;
    let mut sys = if host.devices { Some(LinuxSystem::new(&ifname, None)?) } else { None };
    let live = match &mut sys {
        Some(sys) if !opts.no_apply => sys.is_wireguard(&ifname)?,
        _ => false,
    };
    let recorded = if live { run.read(&ifname, crate::system::runstate::ifindex(&ifname)) } else { None };
    let plan = match sys.as_mut().filter(|_| live) {
        Some(sys) if out.reload => Some(plan_reload(sys, run, &new_cfg, &ifname, recorded.clone())?),
        Some(sys) => {
            let facts = sys.observe_peer(&new_cfg, recorded.clone())?;
            Some(crate::plan::peer::plan_peers(&new_cfg, &ifname, &out.changes, &facts).map_err(ProvisionError::PeerPlan)?)
        }
        None => None,
    };
    if opts.dry_run {
        let mut s = format!("# {}\n", path.display());
        if let Some(suffix) = &out.keep_as {
            let _ = writeln!(s, "# keep the file as it is as {}", kept_path(path, suffix).display());
        }
        s.push_str(&edit::diff(&ctx.doc.text, &text));
        for (name, target) in &out.links {
            let _ = writeln!(s, "# link {} -> {}", util::client_shown(ctx, name), target.display());
        }
        for (name, content) in &out.clients {
            let _ = writeln!(s, "# {} {}", if content.is_some() { "write" } else { "remove" }, util::client_shown(ctx, name));
        }
        match &plan {
            Some(p) if p.ops.is_empty() => s.push_str("# live: nothing to change on the running interface\n"),
            Some(p) => {
                s.push_str("# live:\n");
                s.push_str(&p.to_string());
            }
            None if opts.no_apply || !host.devices => s.push_str("# live: --no-apply: the file only\n"),
            None => {
                let _ = writeln!(s, "# live: `{ifname}' is not running: the file only");
            }
        }
        return Ok(Edited::DryRun(s));
    }
    phase("plan", &mut t);
    let mut notes = out.notes;
    if let Some(suffix) = &out.keep_as {
        notes.push(Note::Kept(keep_copies(ctx, &out.clients, suffix)?));
    }
    let mut stderr = std::io::stderr();
    let mut ex = match (&plan, sys.as_mut()) {
        (Some(p), Some(sys)) => {
            crate::os::signals::install();
            let mut ex = Executor::new(sys, &mut stderr);
            ex.apply_part(p)?;
            Some(ex)
        }
        _ => None,
    };
    phase("apply", &mut t);
    // Client files first: a peer never exists without its client's keys on disk.
    let links = util::make_links(ctx, &out.links).map_err(|e| ProvisionError::Io { what: IoWhat::ClientFile, source: e })?;
    let mut replaced = util::write_clients(ctx, &out.clients).map_err(|e| {
        util::remove_links(&links);
        ProvisionError::Io { what: IoWhat::ClientFile, source: e }
    })?;
    if let Err(e) = crate::os::files::write_atomic(path, &text) {
        util::restore_clients(&mut replaced);
        util::remove_links(&links);
        return Err(ProvisionError::Io { what: IoWhat::Write(path.clone()), source: e });
    }
    util::forget_clients(&mut replaced);
    if let Some(ex) = ex.as_mut() {
        ex.commit();
    }
    drop(ex);
    phase("write", &mut t);
    for (name, content) in &out.clients {
        if content.is_none()
            && let Some(p) = util::client_path(ctx, name)
        {
            let _ = crate::os::files::remove_followed(&p);
        }
    }
    if let (Some(p), Some(r), Some(index)) = (&plan, recorded, crate::system::runstate::ifindex(&ifname))
        && let Err(e) = run.write(&ifname, index, &r.after_reload(p))
    {
        eprintln!("{}: warning: unable to record state in {}: {e}", crate::program_name(), run.dir().display());
    }
    Ok(Edited::Done { notes, live, no_apply: opts.no_apply || !host.devices, ifname, stdout: out.stdout })
}

/// Where `keep_as` keeps the file.
pub(crate) fn kept_path(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}"));
    path.with_file_name(name)
}

/// Keeps the file as it is and the client files about to be written over or removed (see
/// [`Outcome::keep_as`]; a copy already there is never written over: `-2`, `-3`, … are
/// added); a copy that fails stops the edit before anything is changed. Returns where the
/// file is kept.
fn keep_copies(ctx: &Ctx, clients: &[(String, Option<Vec<u8>>)], suffix: &str) -> Result<PathBuf, ProvisionError> {
    let io = |p: &Path, source| ProvisionError::Io { what: IoWhat::Write(p.to_path_buf()), source };
    // Anything at a copy's path takes that name, a symbolic link too (a dangling one: the
    // copy, which holds keys, would be written where it points).
    let there = |p: PathBuf| std::fs::symlink_metadata(p).is_ok();
    let taken = |s: &str| there(kept_path(&ctx.server.path, s)) || there(kept_path(&ctx.server.clients, s));
    let suffix = (1..10_000)
        .map(|k| if k == 1 { suffix.to_string() } else { format!("{suffix}-{k}") })
        .find(|s| !taken(s))
        .ok_or_else(|| io(&ctx.server.path, std::io::Error::from(std::io::ErrorKind::AlreadyExists)))?;
    let suffix = suffix.as_str();
    let kept = kept_path(&ctx.server.path, suffix);
    crate::os::files::write_atomic(&kept, &ctx.doc.text).map_err(|e| io(&kept, e))?;
    let dir = kept_path(&ctx.server.clients, suffix);
    let mut copies: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for (name, _) in clients {
        if let Some(bytes) = ctx.client_file(name) {
            copies.push((dir.join(format!("{name}.conf")), bytes));
        }
    }
    if !copies.is_empty() {
        use std::os::unix::fs::DirBuilderExt as _;
        if let Some(parent) = dir.parent() {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(parent).map_err(|e| io(parent, e))?;
        }
        // Made here, not found (never one that appeared since, or a link).
        std::fs::DirBuilder::new().mode(0o700).create(&dir).map_err(|e| io(&dir, e))?;
        let files: Vec<(&Path, &[u8])> = copies.iter().map(|(p, b)| (p.as_path(), b.as_slice())).collect();
        let r = crate::os::files::write_atomic_all(&files).map_err(|(_, e)| io(&dir, e));
        for (_, b) in &mut copies {
            crate::key::wipe(b);
        }
        r?;
    }
    Ok(kept)
}

/// The plan that brings a running interface to `cfg` in place (`wgq reload`'s): peers that
/// do not change keep their sessions; peers `wgq p2p connect` added at run time stay.
fn plan_reload(
    sys: &mut LinuxSystem,
    run: &RunState,
    cfg: &config::Config,
    ifname: &str,
    recorded: Option<crate::plan::UpRecord>,
) -> Result<crate::plan::Plan, ProvisionError> {
    let facts = sys.observe_reload_with(cfg, recorded, run)?;
    crate::plan::plan_reload(cfg, ifname, &facts).map_err(ProvisionError::Reload)
}

/// The device entry of a block (`None` for a disabled block or one without a key).
pub(crate) fn spec(p: &PeerEntry) -> Option<PeerSpec> {
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

/// How a client file becomes a QR code (the front-end's renderer), for `--qr`: made before
/// anything is written, so that a file too large for one refuses the edit.
pub type QrRenderer<'a> = &'a dyn Fn(&[u8]) -> Result<String, Box<dyn std::error::Error + Send + Sync>>;

#[cfg(test)]
mod tests;
