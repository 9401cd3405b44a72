//! The commands: locate and parse the config, take the interface lock, observe the
//! system, plan, and apply through the executor. The binary calls [`run`].

mod error;
pub mod peer;
pub mod qr;
pub mod render;
pub mod reresolve;
pub mod server;
pub mod show;
pub mod web;
pub mod web_admin;

pub use error::AppError;

use std::io::Write;
use std::path::Path;

use crate::config::locate::{self, ConfigLocation};
use crate::config::{self, Config, ParseErrors};
use crate::plan::exec::Executor;
use crate::plan::{self, UpRecord};
use crate::system::LinuxSystem;
use crate::system::runstate::RunState;

/// A command, as a front-end parsed it from its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// wg-quick's `help`, `-h`, `--help` as the only argument: usage on stderr, exit 0.
    /// (wgq's help is clap's, printed by the front-end.)
    Help,
    Up {
        target: String,
        dry_run: bool,
        /// `--kill-switch[=strict] [--allow-lan]`.
        kill_switch: Option<plan::KillSwitch>,
    },
    Down {
        target: String,
        dry_run: bool,
        /// `--kill-switch=off`: the kill switch goes too, a strict one included.
        kill_switch_off: bool,
    },
    Save {
        target: String,
    },
    Strip {
        target: String,
    },
    Check {
        target: String,
    },
    Reload {
        target: String,
        dry_run: bool,
    },
    Show {
        interface: Option<String>,
        json: bool,
    },
    Showconf {
        interface: String,
    },
    Genkey,
    Genpsk,
    Pubkey,
    Version,
    /// `wgq server init`.
    ServerInit(Box<server::InitArgs>),
    /// `wgq peer ...`.
    Peer(Box<peer::PeerCmd>),
    /// `wgq reresolve`.
    Reresolve(reresolve::ReresolveArgs),
    /// `wgq qr [FILE|-]`: the QR code of a file (stdin for `-` or none).
    Qr {
        file: Option<String>,
    },
    /// `wgq web`.
    Web(Box<web::WebArgs>),
    /// `wgq web-admin ...`.
    WebAdmin(Box<web_admin::WebAdminCmd>),
}

impl Command {
    /// Commands that change or read privileged state re-run themselves through sudo
    /// when the real uid is not 0, like wg-quick.
    pub fn needs_root(&self) -> bool {
        matches!(
            self,
            Command::Up { .. }
                | Command::Down { .. }
                | Command::Save { .. }
                | Command::Strip { .. }
                | Command::Reload { .. }
                | Command::Show { .. }
                | Command::Showconf { .. }
                | Command::Reresolve(_)
                | Command::ServerInit(_)
                | Command::Peer(_)
        )
    }
}

/// Where wg-quick and wgq look up `INTERFACE` arguments.
pub const CONFIG_DIR: &str = "/etc/wireguard";
pub use crate::system::runstate::RUN_DIR;

/// Runs one command; returns the exit status for success paths that are not 0
/// (`check` with errors).
pub fn run(cmd: Command) -> Result<i32, AppError> {
    crate::os::no_core_dumps();
    match cmd {
        Command::Help | Command::Version => {
            print!("{}", crate::os::binary::version_text());
            Ok(0)
        }
        Command::Strip { target } => {
            let (_, cfg) = load(&target)?;
            let mut out = std::io::stdout().lock();
            write_out(&mut out, &cfg.stripped.0)?;
            write_out(&mut out, b"\n")?;
            Ok(0)
        }
        Command::Check { target } => check(&target),
        Command::Up { target, dry_run, kill_switch } => up(&target, dry_run, kill_switch),
        Command::Down { target, dry_run, kill_switch_off } => down(&target, dry_run, kill_switch_off),
        Command::Save { target } => save(&target),
        Command::Reload { target, dry_run } => reload(&target, dry_run),
        Command::Show { interface, json } => crate::commands::show::show(interface.as_deref(), json).map(|_| 0),
        Command::Showconf { interface } => {
            let mut sys = LinuxSystem::new(&interface, None)?;
            let text = sys.showconf(&interface)?;
            write_out(&mut std::io::stdout().lock(), text.as_bytes())?;
            Ok(0)
        }
        Command::ServerInit(a) => server::init(&a),
        Command::Reresolve(a) => reresolve::reresolve(&a),
        Command::Peer(p) => peer::run(&p),
        Command::Web(w) => w.run(),
        Command::WebAdmin(a) => web_admin::run(&a),
        Command::Qr { file } => {
            let data = match file.as_deref() {
                None | Some("-") => {
                    let mut v = Vec::new();
                    std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)
                        .map_err(|e| io("Unable to read standard input", e))?;
                    v
                }
                Some(f) => std::fs::read(f).map_err(|e| AppError::Read { path: f.to_string(), source: e })?,
            };
            let text = qr::terminal(&data).map_err(AppError::Other)?;
            write_out(&mut std::io::stdout().lock(), text.as_bytes())?;
            Ok(0)
        }
        Command::Genkey => {
            let k = crate::key::SecretKey::generate_private().map_err(|e| io("Unable to generate a key", e))?;
            println!("{}", k.to_base64());
            Ok(0)
        }
        Command::Genpsk => {
            let k = crate::key::SecretKey::generate_preshared().map_err(|e| io("Unable to generate a key", e))?;
            println!("{}", k.to_base64());
            Ok(0)
        }
        Command::Pubkey => {
            let mut s = String::new();
            let read = std::io::stdin().read_line(&mut s);
            let k = crate::key::SecretKey::from_base64(s.trim_end_matches(['\n', '\r']));
            // The line held the private key.
            // SAFETY: zeros are valid UTF-8, so the String stays valid.
            crate::key::wipe(unsafe { s.as_bytes_mut() });
            read.map_err(|e| io("Unable to read private key", e))?;
            let k = k.map_err(|_| AppError::Other("Key is not the correct length or format".into()))?;
            println!("{}", k.public_key().to_base64());
            Ok(0)
        }
    }
}

fn io(context: &str, source: std::io::Error) -> AppError {
    AppError::Io { context: context.to_string(), source }
}

fn write_out(w: &mut dyn Write, b: &[u8]) -> Result<(), AppError> {
    match w.write_all(b).and_then(|_| w.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`wgq strip wg0 | head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(io("Unable to write output", e)),
    }
}

/// Locates, reads and parses a config; prints the world-accessible warning and the
/// parser's warnings on stderr.
pub fn load(target: &str) -> Result<(ConfigLocation, Config), AppError> {
    load_with(target, config::parse)
}

pub(crate) fn load_with(
    target: &str,
    parse: fn(&[u8], &Path) -> Result<Config, ParseErrors>,
) -> Result<(ConfigLocation, Config), AppError> {
    let loc = locate::locate_config(target, Path::new(CONFIG_DIR))?;
    read_located(loc, parse)
}

/// [`load_with`] of a located file (read after its lock is taken).
fn read_located(
    loc: ConfigLocation,
    parse: fn(&[u8], &Path) -> Result<Config, ParseErrors>,
) -> Result<(ConfigLocation, Config), AppError> {
    if loc.world_accessible {
        eprintln!("Warning: `{}' is world accessible", loc.path.display());
    }
    let mut bytes = std::fs::read(&loc.path).map_err(|e| AppError::Read { path: loc.path.display().to_string(), source: e })?;
    let parsed = parse(&bytes, &loc.path);
    // The file's text holds the private key: gone once parsed.
    crate::key::wipe(&mut bytes);
    let cfg = parsed.map_err(AppError::Parse)?;
    for w in &cfg.warnings {
        eprintln!("{w}");
    }
    Ok((loc, cfg))
}

fn check(target: &str) -> Result<i32, AppError> {
    let loc = match locate::locate_config(target, Path::new(CONFIG_DIR)) {
        Ok(l) => l,
        // `check` also reads files that up/down would refuse by name, and says so.
        Err(locate::LocateError::BadName) => {
            let path = std::fs::canonicalize(target).map_err(|e| AppError::Read { path: target.into(), source: e })?;
            eprintln!("{}: warning: up and down refuse this file name: {}", path.display(), locate::LocateError::BadName);
            ConfigLocation { interface: String::new(), path, world_accessible: false }
        }
        Err(e) => return Err(e.into()),
    };
    let mut bytes = std::fs::read(&loc.path).map_err(|e| AppError::Read { path: loc.path.display().to_string(), source: e })?;
    let parsed = config::parse(&bytes, &loc.path);
    crate::key::wipe(&mut bytes);
    match parsed {
        Err(errs) => {
            for d in &errs.0 {
                eprintln!("{d}");
            }
            eprintln!("{}: {} error(s)", loc.path.display(), errs.0.len());
            Ok(1)
        }
        Ok(cfg) => {
            let mut facts = config::check::FileFacts::from_path(&loc.path, &loc.interface);
            facts.host = crate::system::host_addresses(&loc.interface);
            let mut all = cfg.warnings.clone();
            all.extend(config::check::check(&cfg, &facts));
            all.sort_by_key(|d| d.line);
            for d in &all {
                eprintln!("{d}");
            }
            eprintln!("{}: OK, {} warning(s)", loc.path.display(), all.len());
            Ok(0)
        }
    }
}

/// What every interface command starts with: the file's and the interface's locks (not
/// for a dry run; waited for while another process holds them), the file parsed once they
/// are held, the system handle, and (for down/save/reload) the check that the interface
/// is a running WireGuard interface.
struct Session {
    ifname: String,
    cfg: Config,
    sys: LinuxSystem,
    /// This namespace's run state (lock and record).
    state: RunState,
    /// The file's lock, then the interface's ([`RunState::lock_config`]).
    _lock: Option<crate::system::runstate::ConfigLock>,
}

impl Session {
    /// `peers`: whether the command uses the peers (up, reload); down and save only use
    /// wg-quick's own keys and, like wg-quick, do not validate the rest.
    fn open(target: &str, dry_run: bool, must_be_running: bool, peers: bool) -> Result<Session, AppError> {
        let parse = if peers { config::parse_unstripped } else { config::parse_interface_only };
        let loc = locate::locate_config(target, Path::new(CONFIG_DIR))?;
        let ifname = loc.interface.clone();
        let run = RunState::current().map_err(|e| io("Unable to identify the network namespace", e))?;
        // Locked before it is read: an edit in between would otherwise be applied stale.
        let lock = if dry_run { None } else { Some(run.lock_config(Some(&loc.path), &ifname)?) };
        let (loc, cfg) = read_located(loc, parse)?;
        let mut sys = LinuxSystem::new(&ifname, Some((&loc, &cfg)))?;
        if must_be_running && !sys.is_wireguard(&ifname)? {
            return Err(AppError::NotWireGuard(ifname));
        }
        Ok(Session { ifname, cfg, sys, state: run, _lock: lock })
    }

    /// What our `up` recorded for the interface running now under this name, if anything.
    fn recorded(&self) -> Option<UpRecord> {
        self.state.read(&self.ifname, crate::system::runstate::ifindex(&self.ifname))
    }

    /// Prints the plan (dry run) or applies it; `transactional` plans are undone on failure.
    fn run(&mut self, plan: &plan::Plan, dry_run: bool, transactional: bool) -> Result<bool, AppError> {
        if dry_run {
            print!("{plan}");
            return Ok(false);
        }
        let mut stderr = std::io::stderr();
        let mut ex = Executor::new(&mut self.sys, &mut stderr);
        crate::os::signals::install();
        if transactional {
            ex.apply_all(plan)?;
        } else {
            ex.apply_teardown(plan)?;
        }
        Ok(true)
    }
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

fn up(target: &str, dry_run: bool, kill_switch: Option<plan::KillSwitch>) -> Result<i32, AppError> {
    let mut t = std::time::Instant::now();
    let mut x = Session::open(target, dry_run, false, true)?;
    let ifname = x.ifname.clone();
    if x.sys.link_exists(&ifname)? {
        return Err(AppError::AlreadyExists(ifname));
    }
    phase("parse", &mut t);
    // A kill switch left in place (a strict one, in nft, or in iptables where nft is
    // missing): its mark for the endpoints' lookups, and `up` sets the fwmark before the
    // link goes up.
    let switch = crate::system::firewall::see_kill_switch(&ifname, false);
    use_marked_lookups(&mut x.sys, &x.state, &x.cfg, &ifname, switch.as_ref());
    let mut facts = match x.sys.observe_up(&x.cfg) {
        Ok(f) => f,
        Err(e @ crate::system::SystemError::Resolve { .. }) => {
            if let Some(mark) = switch.as_ref().and_then(|s| s.mark(&ifname)) {
                eprintln!(
                    "{}: the kill switch of {ifname} is in place (it lets out only the tunnel and packets with fwmark \
                     {mark}) and rejects the lookup of the endpoint's name; an Endpoint given as an IP address works, \
                     or `wgq down --kill-switch=off {ifname}' removes the switch",
                    crate::program_name()
                );
            }
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    facts.kill_switch = kill_switch;
    facts.kill_switch_present = switch.as_ref().map(|s| s.kind);
    facts.kill_switch_jumps = switch.as_ref().map_or([false; 2], |s| s.jumps);
    let full_tunnel = crate::plan::kernel::full_tunnel_families(&x.cfg, crate::plan::own_public_key(&x.cfg, &facts));
    facts.kernel = Some(crate::system::observe_kernel(&full_tunnel));
    (facts.other_switches, facts.other_tunnels) = x.sys.observe_neighbours(&x.state, kill_switch.is_some());
    let switches_seen = kill_switch.is_some() || !facts.other_switches.is_empty();
    phase("observe", &mut t);
    if facts.dns_backend == crate::plan::dns::DnsBackend::Resolved
        && let Some(w) = crate::system::dns::resolv_conf_warning()
    {
        eprintln!("{}: {w}", crate::program_name());
    }
    if dry_run {
        print!("{}", plan::plan_up_start(&x.cfg, &ifname, &facts)?);
        if !x.cfg.interface.pre_up.is_empty() {
            println!("# The rest is planned after the PreUp hooks ran, from what they leave; as the system is now:");
        }
        print!("{}", plan::plan_up_rest(&x.cfg, &ifname, &facts)?);
        return Ok(0);
    }
    crate::os::signals::install();
    // The host's name servers before DNS= replaces them: `reresolve` asks them (outside a
    // full tunnel) when the tunnel's own servers are unreachable.
    let resolvers = pre_up_resolvers(&x.cfg);
    let mut record = match apply_up(&mut x.sys, &mut std::io::stderr(), &x.cfg, &ifname, facts) {
        Ok(r) => r,
        Err(e) => {
            if kill_switch.is_some_and(|k| k.strict) && crate::system::firewall::kill_switch_present(&ifname, false).is_some() {
                eprintln!(
                    "{}: the strict kill switch of {ifname} stays in place; `wgq down --kill-switch=off {ifname}' removes it",
                    crate::program_name()
                );
            }
            return Err(e);
        }
    };
    record.resolvers = resolvers;
    phase("apply", &mut t);
    let written = match crate::system::runstate::ifindex(&ifname) {
        Some(index) => x.state.write(&ifname, index, &record),
        None => Err(std::io::Error::from_raw_os_error(libc::ENODEV)),
    };
    if let Err(e) = written {
        eprintln!("{}: warning: unable to record state in {}: {e}", crate::program_name(), x.state.dir().display());
    }
    if switches_seen {
        reconcile_switches(&mut x.sys, &x.state);
    }
    crate::system::runstate::collect_garbage(&x.state);
    Ok(0)
}

/// The name servers of the host's resolv.conf, read before `up` or `reload` registers the
/// file's DNS= (none when the file has no DNS=: resolv.conf then stays the host's own).
/// With a kill switch of this interface already in place (a strict one left by `down` or a
/// crash), the endpoints' names are looked up by wgq's own resolver from sockets carrying
/// the fwmark the switch lets out, to the host's name servers: getaddrinfo's queries would
/// be rejected. Nothing is asked of the firewall unless an Endpoint is a host name.
fn use_marked_lookups(
    sys: &mut LinuxSystem,
    state: &RunState,
    cfg: &Config,
    ifname: &str,
    switch: Option<&crate::system::firewall::KillSwitchSeen>,
) {
    let Some(switch) = switch else { return };
    let names = cfg
        .peers
        .iter()
        .filter_map(|p| p.endpoint.as_ref())
        .any(|e| crate::device::resolve::literal(&e.value.host, e.value.port).is_none());
    if !names {
        return;
    }
    let Some(mark) = switch.mark(ifname) else { return };
    let resolver = crate::system::resolver::Resolver::for_interface(state, ifname, mark);
    sys.endpoint_lookup = Box::new(move |host, port| match resolver.lookup(host) {
        Ok(addrs) => addrs.first().map(|&a| std::net::SocketAddr::new(a, port)).ok_or_else(|| ("no address".into(), true)),
        // A timeout may pass (wg's retry rules then try again); the rest will not.
        Err(e) => {
            let transient = matches!(e, crate::system::resolver::LookupError::Timeout { .. });
            Err((e.to_string(), !transient))
        }
    });
}

fn pre_up_resolvers(cfg: &Config) -> Vec<std::net::SocketAddr> {
    if cfg.interface.dns.is_empty() {
        return Vec::new();
    }
    crate::system::resolver::host_nameservers(Path::new(crate::system::resolver::RESOLV_CONF))
}

/// Applies `up` as one transaction: the first part of the plan; then, with PreUp hooks, a
/// new look at the system, since they may add peers, routes or the key that the rest of
/// `up` must see (wg-quick reads the live system after them); the rest planned from that.
/// Without PreUp hooks nothing but wgq has touched the new interface, and the facts
/// observed before stand (no extra device dump). Any failure or signal, between the parts
/// too, undoes everything. Returns what to record.
pub fn apply_up(
    sys: &mut dyn crate::plan::exec::System,
    trace: &mut dyn Write,
    cfg: &Config,
    ifname: &str,
    facts: plan::UpFacts,
) -> Result<UpRecord, AppError> {
    let start = plan::plan_up_start(cfg, ifname, &facts)?;
    let mut ex = Executor::new(sys, trace);
    ex.apply_part(&start)?;
    let facts = if cfg.interface.pre_up.is_empty() {
        facts
    } else {
        match ex.sys.observe_after_pre_up(cfg, &facts) {
            Ok(f) => f,
            Err(e) => return Err(ex.abort(e).into()),
        }
    };
    let rest = match plan::plan_up_rest(cfg, ifname, &facts) {
        Ok(p) => p,
        Err(e) => return Err(ex.abort(crate::plan::exec::SysError::with_source(1, e.to_string(), e)).into()),
    };
    ex.apply_part(&rest)?;
    ex.commit();
    Ok(UpRecord::from_ops(start.ops.iter().chain(&rest.ops)))
}

fn down(target: &str, dry_run: bool, kill_switch_off: bool) -> Result<i32, AppError> {
    let mut t = std::time::Instant::now();
    if let Some(code) = down_without_device(target, dry_run, kill_switch_off)? {
        return Ok(code);
    }
    let mut x = Session::open(target, dry_run, !kill_switch_off, false)?;
    phase("parse", &mut t);
    let present = if kill_switch_off { crate::system::firewall::kill_switches_present(&x.ifname) } else { Vec::new() };
    let mut facts = x.sys.observe_down(&x.cfg, x.recorded())?;
    facts.kill_switch_off = kill_switch_off;
    facts.kill_switch_present = present;
    (facts.other_switches, facts.other_tunnels) = x.sys.observe_neighbours(&x.state, false);
    let plan = plan::plan_down(&x.cfg, &x.ifname, &facts);
    phase("observe", &mut t);
    if x.run(&plan, dry_run, false)? {
        x.state.remove(&x.ifname);
        crate::system::runstate::collect_garbage(&x.state);
        if !facts.other_switches.is_empty() {
            reconcile_switches(&mut x.sys, &x.state);
        }
        if !kill_switch_off {
            kill_switch_stays(&x.ifname);
        }
    }
    phase("apply", &mut t);
    Ok(0)
}

/// [`LinuxSystem::reconcile_switches`], its failure a warning (the plan already changed
/// the switches; this corrects what a command running at the same time planned).
fn reconcile_switches(sys: &mut LinuxSystem, state: &RunState) {
    if let Err(e) = sys.reconcile_switches(state) {
        eprintln!("{}: warning: {e}", crate::program_name());
    }
}

/// After `down`: a kill switch still in place (a strict one, or one whose `up` was killed
/// before it recorded it) keeps rejecting; say so, and how to remove it.
fn kill_switch_stays(ifname: &str) {
    if crate::system::firewall::kill_switch_present(ifname, false).is_some() {
        eprintln!(
            "{}: the kill switch of {ifname} stays in place (nothing but the tunnel may leave); `wgq down --kill-switch=off {ifname}' removes it",
            crate::program_name(),
        );
    }
}

/// `down` where the interface is not there: its device vanished (the userspace daemon
/// crashed, the link was deleted) and its record says what its `up` left, or (with
/// `--kill-switch=off`) only its kill switch is left (a strict one after `down`). Found by
/// the interface's name, so its file may be gone or broken. `None` when the interface
/// exists: `down` proper then (which refuses a link that is no WireGuard one).
fn down_without_device(target: &str, dry_run: bool, kill_switch_off: bool) -> Result<Option<i32>, AppError> {
    let loc = locate::locate_config(target, Path::new(CONFIG_DIR));
    let ifname = match &loc {
        Ok(l) => l.interface.clone(),
        Err(locate::LocateError::Missing(_)) => {
            match if locate::is_interface_name(target) { Some(target.to_string()) } else { locate::interface_from_path(target) } {
                Some(n) => n,
                None => return Ok(None),
            }
        }
        Err(_) => return Ok(None),
    };
    if !kill_switch_off && crate::system::runstate::ifindex(&ifname).is_some() {
        return Ok(None);
    }
    let run = RunState::current().map_err(|e| io("Unable to identify the network namespace", e))?;
    let file = loc.as_ref().ok().map(|l| l.path.as_path());
    let _lock = if dry_run { None } else { Some(run.lock_config(file, &ifname)?) };
    let mut sys = LinuxSystem::new(&ifname, None)?;
    if sys.is_wireguard(&ifname)? || (crate::system::runstate::ifindex(&ifname).is_some() && !kill_switch_off) {
        return Ok(None);
    }
    let recorded = run.orphan(&ifname);
    let present = if kill_switch_off { crate::system::firewall::kill_switches_present(&ifname) } else { Vec::new() };
    if recorded.is_none() && present.is_empty() {
        return Err(loc.map(|_| AppError::NotWireGuard(ifname)).unwrap_or_else(|e| e.into()));
    }
    let mut facts = sys.observe_down_vanished(recorded)?;
    facts.kill_switch_off = kill_switch_off;
    facts.kill_switch_present = present;
    facts.tables_of_others.extend(run.running_others(&ifname).into_iter().filter_map(|(_, r)| r.table));
    (facts.other_switches, facts.other_tunnels) = sys.observe_neighbours(&run, false);
    let plan = plan::plan_down_vanished(&ifname, &facts);
    if let Some(s) = plan::vanished_summary(&ifname, &facts, &plan) {
        eprintln!("{}: {s}", crate::program_name());
    }
    if dry_run {
        print!("{plan}");
        return Ok(Some(0));
    }
    crate::os::signals::install();
    Executor::new(&mut sys, &mut std::io::stderr()).apply_teardown(&plan)?;
    run.remove(&ifname);
    if !facts.other_switches.is_empty() {
        reconcile_switches(&mut sys, &run);
    }
    if !kill_switch_off {
        kill_switch_stays(&ifname);
    }
    Ok(Some(0))
}

fn save(target: &str) -> Result<i32, AppError> {
    let mut x = Session::open(target, false, true, false)?;
    eprintln!("[#] wg showconf {}", x.ifname);
    let ifname = x.ifname.clone();
    x.sys.save(&ifname)?;
    Ok(0)
}

fn reload(target: &str, dry_run: bool) -> Result<i32, AppError> {
    let mut t = std::time::Instant::now();
    let mut x = Session::open(target, dry_run, true, true)?;
    phase("parse", &mut t);
    let recorded = x.recorded();
    let mut facts = x.sys.observe_reload(&x.cfg, recorded.clone())?;
    (facts.up.other_switches, facts.up.other_tunnels) = x.sys.observe_neighbours(&x.state, false);
    phase("observe", &mut t);
    let plan = plan::plan_reload(&x.cfg, &x.ifname, &facts)?;
    phase("plan", &mut t);
    // Nothing to change: nothing is sent, nothing rewritten.
    if plan.ops.is_empty() {
        return Ok(0);
    }
    // A reload that registers DNS for the first time: the host's servers before it.
    let had_dns = recorded.as_ref().is_some_and(|r| r.dns_input.is_some());
    let adds_dns = !had_dns
        && plan.ops.iter().any(|op| {
            matches!(
                op,
                plan::Op::UpdateDns { input: Some(_), .. }
                    | plan::Op::Resolved { call: crate::plan::dns::ResolvedCall::Servers(_), .. }
            )
        });
    let resolvers = if adds_dns { pre_up_resolvers(&x.cfg) } else { Vec::new() };
    let applied = x.run(&plan, dry_run, true)?;
    phase("apply", &mut t);
    if applied {
        // What wgq owns now: the record with the reload's changes. An interface wg-quick
        // brought up keeps having none (what it owns is inferred each time, as down does).
        if let (Some(r), Some(index)) = (recorded, crate::system::runstate::ifindex(&x.ifname)) {
            let mut after = r.after_reload(&plan);
            if after.resolvers.is_empty() {
                after.resolvers = resolvers;
            }
            let _ = x.state.write(&x.ifname, index, &after);
        }
        if !facts.up.other_switches.is_empty() {
            reconcile_switches(&mut x.sys, &x.state);
        }
    }
    Ok(0)
}
