//! The commands: locate and parse the config, take the interface lock, observe the
//! system, plan, and apply through the executor. The binary calls [`run`].

pub mod check;
pub mod container;
pub mod down;
mod error;
pub mod health;
pub mod keys;
pub mod p2p;
pub mod peer;
pub mod qr;
pub mod reload;
pub mod render;
pub mod reresolve;
pub mod run;
pub mod save;
pub mod server;
mod session;
pub mod show;
pub mod up;
pub mod web;
pub mod web_admin;

pub use error::AppError;

use std::io::Write;
use std::path::Path;

use crate::config::locate::{self, ConfigLocation};
use crate::config::{self, Config, ParseErrors};

/// A command, as a front-end parsed it from its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// wg-quick's `help`, `-h`, `--help` as the only argument: usage on stderr, exit 0.
    /// (wgq's help is clap's, printed by the front-end.)
    Help,
    Up(up::UpArgs),
    Down(down::DownArgs),
    Save(save::SaveArgs),
    Strip(check::StripArgs),
    Check(check::CheckArgs),
    Reload(reload::ReloadArgs),
    Show(show::ShowArgs),
    Showconf(show::ShowconfArgs),
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
    /// `wgq run`.
    Run(run::RunArgs),
    /// `wgq health`.
    Health(health::HealthArgs),
    /// `wgq container`.
    Container(container::ContainerArgs),
    /// `wgq p2p serve|connect|status`.
    P2p(p2p::P2pCmd),
    /// `wgq qr [FILE|-]`: the QR code of a file (stdin for `-` or none).
    Qr(qr::QrArgs),
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
            Command::Up(_)
                | Command::Down(_)
                | Command::Save(_)
                | Command::Strip(_)
                | Command::Reload(_)
                | Command::Show(_)
                | Command::Showconf(_)
                | Command::Reresolve(_)
                | Command::Run(_)
                | Command::Health(_)
                | Command::Container(_)
                | Command::P2p(_)
                | Command::ServerInit(_)
                | Command::Peer(_)
        )
    }
}

// The arguments of a command that takes only its file (and clap's definition of them).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct TargetArgs {
    /// A file named INTERFACE.conf, or an interface name (its file is /etc/wireguard/INTERFACE.conf)
    #[arg(value_name = "CONFIG_FILE|INTERFACE")]
    pub target: String,
}

/// Where wg-quick and wgq look up `INTERFACE` arguments.
pub const CONFIG_DIR: &str = "/etc/wireguard";

/// Checks the environment variables wgq reads before a command starts (`WGQ_LOCK_WAIT`):
/// a value that does not parse is refused, naming the variable, before anything is done.
pub fn check_env() -> Result<(), String> {
    crate::os::lock::check_wait_env()
}

/// Runs one command; returns the exit status for success paths that are not 0
/// (`check` with errors).
pub fn run(cmd: Command) -> Result<i32, AppError> {
    crate::os::no_core_dumps();
    match cmd {
        Command::Help | Command::Version => version(),
        Command::Strip(a) => check::strip(&a),
        Command::Check(a) => check::check(&a),
        Command::Up(a) => up::run(&a),
        Command::Down(a) => down::run(&a),
        Command::Save(a) => save::run(&a),
        Command::Reload(a) => reload::run(&a),
        Command::Show(a) => show::run(&a),
        Command::Showconf(a) => show::showconf(&a),
        Command::ServerInit(a) => server::init(&a),
        Command::Reresolve(a) => reresolve::reresolve(&a),
        Command::Run(a) => run::run(&a),
        Command::Health(a) => health::health(&a),
        Command::Container(a) => container::container(&a),
        Command::P2p(c) => p2p::run(&c),
        Command::Peer(p) => peer::run(&p),
        Command::Qr(a) => qr::run(&a),
        Command::Genkey => keys::genkey(),
        Command::Genpsk => keys::genpsk(),
        Command::Pubkey => keys::pubkey(),
        Command::Web(w) => w.run(),
        Command::WebAdmin(a) => web_admin::run(&a),
    }
}

/// `wgq version` (`--version` is clap's, with the same text).
fn version() -> Result<i32, AppError> {
    print!("{}", crate::os::binary::version_text());
    Ok(0)
}

/// With WGQ_STATS set, prints how long each phase took and the peak RSS at its end (for
/// bench/ and tests/vm/).
pub(crate) fn phase(name: &str, since: &mut std::time::Instant) {
    if std::env::var_os("WGQ_STATS").is_some() {
        let rss = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).map(|u| u.max_rss()).unwrap_or(0);
        eprintln!("wgq: phase {name}: {:.3} s, peak RSS so far {rss} KiB", since.elapsed().as_secs_f64());
    }
    *since = std::time::Instant::now();
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
pub(crate) fn load(target: &str) -> Result<(ConfigLocation, Config), AppError> {
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
pub(crate) fn read_located(
    loc: ConfigLocation,
    parse: fn(&[u8], &Path) -> Result<Config, ParseErrors>,
) -> Result<(ConfigLocation, Config), AppError> {
    if loc.world_accessible {
        eprintln!("Warning: `{}' is world accessible", loc.path.display());
    }
    let (loc, cfg) = read_quietly(loc, parse)?;
    for w in &cfg.warnings {
        eprintln!("{w}");
    }
    Ok((loc, cfg))
}

/// [`read_located`] without its warnings (a file read again and again while `wgq run`
/// runs, whose warnings `up` printed once).
pub(crate) fn read_quietly(
    loc: ConfigLocation,
    parse: fn(&[u8], &Path) -> Result<Config, ParseErrors>,
) -> Result<(ConfigLocation, Config), AppError> {
    let mut bytes = std::fs::read(&loc.path).map_err(|e| AppError::Read { path: loc.path.display().to_string(), source: e })?;
    let parsed = parse(&bytes, &loc.path);
    // The file's text holds the private key: gone once parsed.
    crate::key::wipe(&mut bytes);
    Ok((loc, parsed.map_err(AppError::Parse)?))
}
