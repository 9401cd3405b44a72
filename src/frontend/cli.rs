//! Command-line grammars. The binary speaks one per name it is run as ([`Personality`]):
//!
//! - as `wgq`: wgq's own commands, parsed by clap ([`parse_wgq`]); the man page and the
//!   completions are generated from the same clap command ([`wgq_command`], `docs`);
//! - as `wg-quick` (a link to the binary, or `wgq wg-quick ARGS...`): exactly wg-quick's
//!   grammar, exit codes and usage-on-stderr behaviour (reference §1), parsed by hand
//!   ([`parse_args`], [`usage`]) so that it accepts what wg-quick accepts and nothing else.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use crate::commands;
pub use crate::commands::Command;

/// The grammar the binary speaks, chosen by the name it was run as (busybox style).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personality {
    /// Any other name: wgq's own commands, parsed by clap ([`parse_wgq`]).
    Wgq,
    /// `wg-quick` (a link to the binary): exactly wg-quick's grammar ([`parse_args`]).
    WgQuick,
    /// `wg` (a link to the binary): wg(8)'s grammar, output and statuses (`frontend::wg`).
    Wg,
}

impl Personality {
    /// The personality for `argv[0]`: its file name decides, the directory does not.
    pub fn from_argv0(argv0: &OsStr) -> Personality {
        match Path::new(argv0).file_name().and_then(OsStr::to_str) {
            Some("wg-quick") => Personality::WgQuick,
            Some("wg") => Personality::Wg,
            _ => Personality::Wgq,
        }
    }

    /// The program name of messages, usage and the sudo prompt.
    pub fn program(self) -> &'static str {
        match self {
            Personality::Wgq => "wgq",
            Personality::WgQuick => "wg-quick",
            Personality::Wg => "wg",
        }
    }
}

/// The name of wgq's subcommand that runs the rest of the line as wg-quick would.
pub const WG_QUICK_SUBCOMMAND: &str = "wg-quick";

/// The name of wgq's subcommand that runs the rest of the line as wg(8) would.
pub const WG_SUBCOMMAND: &str = "wg";

/// The text after wgq's help (it is also the man page's description of the file).
const AFTER_HELP: &str = "\
CONFIG_FILE is a path to a file named after the interface with `.conf' appended;
INTERFACE is an interface name whose configuration is read from
/etc/wireguard/INTERFACE.conf. The file uses wg(8)'s format plus the [Interface] keys
Address, DNS, MTU, Table, PreUp, PostUp, PreDown, PostDown and SaveConfig, which wgq
handles itself.

Run as wg-quick (through a link of that name, or as `wgq wg-quick ARGS...`), wgq
accepts exactly wg-quick's command lines: up, down, save and strip.

See wgq(8) for more information. Exit status is 0 on success, 1 on a usage or
configuration error, otherwise the status of the step that failed.";

// wgq's own command line (clap; doc comments here would become help text).
// [`wgq_command`] is the same grammar as a value, from which the man page and the
// completions are generated.
#[derive(Debug, clap::Parser)]
#[command(
    name = "wgq",
    version,
    about = "Set up a WireGuard interface simply, transactionally and fast",
    after_help = AFTER_HELP,
    arg_required_else_help = true
)]
struct WgqArgs {
    #[command(subcommand)]
    command: WgqCommand,
}

#[derive(Debug, clap::Subcommand)]
enum WgqCommand {
    /// Create and configure the interface; everything is rolled back if any step fails
    Up(commands::up::UpArgs),
    /// Remove the interface and everything up added for it
    Down(commands::down::DownArgs),
    /// Write the running configuration of the interface back to its file
    Save(commands::save::SaveArgs),
    /// Print the configuration without wg-quick's keys, as wg(8) reads it
    Strip(commands::check::StripArgs),
    /// Validate the file and print every error and warning, changing nothing
    Check(commands::check::CheckArgs),
    /// Bring the running interface to the file without recreating it
    Reload(commands::reload::ReloadArgs),
    /// Look up stale peers' host-name endpoints again and update the ones that moved (dynamic DNS)
    Reresolve(commands::reresolve::ReresolveArgs),
    /// Show the state of WireGuard interfaces
    Show(commands::show::ShowArgs),
    /// Print the running configuration of the interface in config-file form
    Showconf(commands::show::ShowconfArgs),
    /// Print a new private key
    Genkey,
    /// Print a new preshared key
    Genpsk,
    /// Read a private key on stdin and print its public key
    Pubkey,
    /// Run ARGS exactly as wg-quick would: its grammar, usage and exit codes
    #[command(name = WG_QUICK_SUBCOMMAND, disable_help_flag = true)]
    WgQuick {
        /// wg-quick's arguments: up, down, save or strip, and CONFIG_FILE or INTERFACE
        #[arg(value_name = "ARGS", trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Run ARGS exactly as wg(8) would: show, showconf, set, setconf, addconf, syncconf, genkey, genpsk, pubkey
    #[command(name = WG_SUBCOMMAND, disable_help_flag = true)]
    Wg {
        /// wg's subcommand and its arguments
        #[arg(value_name = "ARGS", trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Set up a VPN server: its file with keys, address pools, port, NAT and client defaults
    Server {
        #[command(subcommand)]
        command: crate::commands::server::ServerCmd,
    },
    /// A server's clients, kept in its file: add, list, show, remove, disable, enable, rename, set, rotate, expire, import
    Peer {
        #[command(subcommand)]
        command: crate::commands::peer::PeerCmd,
    },
    /// Bring the interfaces up (each as up does), stay in the foreground (stale peers' host names looked up again every 30 s), and bring them down on SIGTERM, SIGINT or SIGHUP (containers, supervisors; correct as PID 1); up's flags come from WGQ_UP_FLAGS (as a container's init, a --kill-switch stays after the stop, as a strict one)
    Run {
        /// Files named INTERFACE.conf, or interface names (their files are /etc/wireguard/INTERFACE.conf)
        #[arg(value_name = "CONFIG_FILE|INTERFACE", required = true)]
        targets: Vec<String>,
        /// Also serve the web page for the servers among them (wgq web's variables: PORT, PASSWORD_HASH, WEBUI_HOST...). As wg-easy: with PASSWORD_HASH set, on WEBUI_HOST, default 0.0.0.0 (every address; no --insecure needed); without it, on 127.0.0.1 only. HTTPS when WGQ_WEB_TLS_CERT and WGQ_WEB_TLS_KEY name a PEM certificate chain and its key (checked before anything comes up; a renewal is picked up without a restart), else plain HTTP as wg-easy's. Its state in WGQ_WEB_STATE_DIR (default /var/lib/wgq/web; 0700, owned by this user)
        #[arg(long)]
        web: bool,
    },
    /// Exit 0 when every interface wgq run brought up (or each one named) exists; one line of output (a container's health check)
    Health(crate::commands::health::HealthArgs),
    /// The container image's default command: a server wg0 from wg-easy's WG_* variables (created, imported from wg-easy 15's wg-easy.db or wg-easy 14's wg0.json, or updated; a wg-easy 15 volume without WG_HOST is imported with its own settings), and every /config/*.conf and /config/wg_confs/*.conf, run as wgq run runs them
    Container {
        /// Where linuxserver/wireguard-style files are looked for (DIR/*.conf, DIR/wg_confs/*.conf)
        #[arg(long, value_name = "DIR", default_value = crate::commands::container::CONFIG_ROOT)]
        config_root: std::path::PathBuf,
    },
    /// Peers behind NAT talk directly, with endpoints learned from their hub: serve, connect, status
    P2p {
        #[command(subcommand)]
        command: crate::commands::p2p::P2pCmd,
    },
    /// Serve the web page and its API (wg-easy 14's routes and /api/v1) for server interfaces
    Web(crate::commands::web::WebArgs),
    /// The web page's credentials: hash-password, token add|list|revoke, totp enable|disable
    WebAdmin {
        #[command(subcommand)]
        command: crate::commands::web_admin::WebAdminCmd,
    },
    /// Print a file (a client's configuration) as a QR code on the terminal
    Qr(commands::qr::QrArgs),
    /// Print the version (as --version does)
    #[command(hide = true)]
    Version,
}

/// wgq's grammar as a clap command (for the generated man page, completions and tests).
pub fn wgq_command() -> clap::Command {
    <WgqArgs as clap::CommandFactory>::command()
}

/// What a wgq command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Run a command.
    Run(Command),
    /// `wgq wg-quick ARGS...`: parse ARGS with [`parse_args`], as the `wg-quick` name does.
    WgQuick(Vec<OsString>),
    /// `wgq wg ARGS...`: run ARGS as wg(8) does (`frontend::wg::main`).
    Wg(Vec<OsString>),
    /// Print `text` instead of running anything (help, the version, a usage error) and
    /// exit with `status`: 0 for help and the version, 1 for every usage error (wg-quick's
    /// status; clap's own would be 2). Only the version goes to stdout.
    Print { text: String, stdout: bool, status: u8 },
}

/// Parses a command line of the `wgq` name (without the program name).
pub fn parse_wgq(args: &[OsString]) -> Invocation {
    // Before clap, so that wg-quick sees every argument as given (even `--`).
    if let Some((first, rest)) = args.split_first()
        && first == WG_QUICK_SUBCOMMAND
    {
        return Invocation::WgQuick(rest.to_vec());
    }
    if let Some((first, rest)) = args.split_first()
        && first == WG_SUBCOMMAND
    {
        return Invocation::Wg(rest.to_vec());
    }
    let parsed = <WgqArgs as clap::Parser>::try_parse_from(std::iter::once(OsString::from("wgq")).chain(args.iter().cloned()));
    let command = match parsed {
        Ok(a) => a.command,
        Err(e) => {
            use clap::error::ErrorKind;
            let (stdout, status) = match e.kind() {
                ErrorKind::DisplayHelp => (false, 0),
                ErrorKind::DisplayVersion => {
                    return Invocation::Print { text: crate::os::binary::version_text(), stdout: true, status: 0 };
                }
                // Including DisplayHelpOnMissingArgumentOrSubcommand: `wgq` alone.
                _ => (false, 1),
            };
            return Invocation::Print { text: e.render().to_string(), stdout, status };
        }
    };
    Invocation::Run(match command {
        WgqCommand::Up(a) => Command::Up(a),
        WgqCommand::Down(a) => Command::Down(a),
        WgqCommand::Save(a) => Command::Save(a),
        WgqCommand::Strip(a) => Command::Strip(a),
        WgqCommand::Check(a) => Command::Check(a),
        WgqCommand::Reload(a) => Command::Reload(a),
        WgqCommand::Reresolve(a) => Command::Reresolve(a),
        WgqCommand::Show(a) => Command::Show(a),
        WgqCommand::Showconf(a) => Command::Showconf(a),
        WgqCommand::Genkey => Command::Genkey,
        WgqCommand::Genpsk => Command::Genpsk,
        WgqCommand::Pubkey => Command::Pubkey,
        WgqCommand::Version => Command::Version,
        WgqCommand::Server { command: crate::commands::server::ServerCmd::Init(i) } => Command::ServerInit(Box::new(i)),
        WgqCommand::Peer { command } => Command::Peer(Box::new(command)),
        WgqCommand::P2p { command } => Command::P2p(command),
        WgqCommand::Qr(a) => Command::Qr(a),
        WgqCommand::Run { targets, web } => match up_flags_var().and_then(|f| run_command(targets, web, f.as_deref())) {
            Ok(c) => c,
            Err(text) => return Invocation::Print { text, stdout: false, status: 1 },
        },
        WgqCommand::Health(h) => Command::Health(h),
        WgqCommand::Container { config_root } => match up_flags_var().and_then(|f| up_flags(f.as_deref())) {
            Ok(kill_switch) => Command::Container(crate::commands::container::ContainerArgs { config_root, kill_switch }),
            Err(text) => return Invocation::Print { text, stdout: false, status: 1 },
        },
        WgqCommand::Web(w) => Command::Web(Box::new(w)),
        WgqCommand::WebAdmin { command } => Command::WebAdmin(Box::new(command)),
        WgqCommand::WgQuick { args } => return Invocation::WgQuick(args),
        WgqCommand::Wg { args } => return Invocation::Wg(args),
    })
}

/// The variable with `up`'s flags for `wgq run` (as in the wgq@.service unit).
pub const UP_FLAGS_ENV: &str = "WGQ_UP_FLAGS";

/// The value of [`UP_FLAGS_ENV`]; one that is not UTF-8 is an error, not unset (which would
/// run without the `--kill-switch` it may hold).
fn up_flags_var() -> Result<Option<String>, String> {
    match std::env::var(UP_FLAGS_ENV) {
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(v)) => {
            Err(format!("wgq: {UP_FLAGS_ENV}={}: not UTF-8\n", crate::config::values::shown(&v.to_string_lossy())))
        }
    }
}

/// `wgq run TARGETS` with `up`'s flags from `flags` (the value of [`UP_FLAGS_ENV`], split
/// at white space as the unit's `$WGQ_UP_FLAGS` is), parsed by `up`'s own grammar;
/// `--dry-run` has no meaning there. `Err`: the message to print.
pub fn up_flags(flags: Option<&str>) -> Result<Option<crate::plan::KillSwitch>, String> {
    let words: Vec<&str> = flags.unwrap_or("").split_ascii_whitespace().collect();
    let argv = ["wgq", "up"].into_iter().chain(words.iter().copied()).chain(["--", "wgq-run"]);
    match <WgqArgs as clap::Parser>::try_parse_from(argv) {
        Ok(WgqArgs { command: WgqCommand::Up(a) }) if !a.dry_run => Ok(a.kill_switch()),
        Ok(_) => Err(format!("wgq: {UP_FLAGS_ENV}: --dry-run has no meaning for wgq run\n")),
        Err(e) => Err(format!("wgq: {UP_FLAGS_ENV}={:?} is not a list of up's flags:\n{}", flags.unwrap_or(""), e.render())),
    }
}

fn run_command(targets: Vec<String>, web: bool, flags: Option<&str>) -> Result<Command, String> {
    let web = web.then(|| std::path::PathBuf::from(crate::web::DEFAULT_STATE_DIR));
    Ok(Command::Run(crate::commands::run::RunArgs { targets, kill_switch: up_flags(flags)?, web }))
}

/// wg-quick's usage text (printed on stderr), for the `wg-quick` name. Its first line is
/// wg-quick's; the rest is wgq's own wording.
pub fn usage(program: &str) -> String {
    format!(
        "Usage: {program} [ up | down | save | strip ] [ CONFIG_FILE | INTERFACE ]\n\
         \n\
         \x20 CONFIG_FILE is a path to a file named after the interface with `.conf'\n\
         \x20 appended; INTERFACE is an interface name whose configuration is read\n\
         \x20 from /etc/wireguard/INTERFACE.conf. The file uses wg(8)'s format plus the\n\
         \x20 [Interface] keys Address, DNS, MTU, Table, PreUp, PostUp, PreDown,\n\
         \x20 PostDown and SaveConfig, which {program} handles itself.\n\
         \n\
         \x20 up creates and configures the interface, down removes it and everything\n\
         \x20 up added for it, save writes the running configuration back to the file,\n\
         \x20 and strip prints the file without those keys, as wg(8) reads it.\n\
         \n\
         See wgq(8) for more information. Exit status is 0 on success, 1 on a usage or\n\
         configuration error, otherwise the status of the step that failed.\n"
    )
}

/// A command line that does not fit the grammar: print usage, exit 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid arguments")]
pub struct UsageError;

/// Parses argv (without the program name) of the `wg-quick` name: exactly wg-quick's
/// grammar. `help`, `-h` or `--help` alone is [`Command::Help`]; otherwise one of its four
/// commands and exactly one more argument, taken as given (`up --dry-run` names a file
/// `--dry-run`, as in wg-quick). Anything else, wgq's own commands included, is a usage
/// error.
pub fn parse_args(args: &[OsString]) -> Result<Command, UsageError> {
    let args: Vec<&str> = args.iter().map(|a| a.to_str().ok_or(UsageError)).collect::<Result<_, _>>()?;
    let cmd = match args[..] {
        ["help" | "-h" | "--help"] => Command::Help,
        ["up", target] => Command::Up(commands::up::UpArgs::plain(target)),
        ["down", target] => Command::Down(commands::down::DownArgs::plain(target)),
        ["save", target] => Command::Save(commands::TargetArgs { target: target.into() }),
        ["strip", target] => Command::Strip(commands::TargetArgs { target: target.into() }),
        _ => return Err(UsageError),
    };
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::down::{DownArgs, KillSwitchOff};
    use crate::commands::reload::ReloadArgs;
    use crate::commands::up::UpArgs;

    fn p(v: &[&str]) -> Result<Command, UsageError> {
        parse_args(&v.iter().map(OsString::from).collect::<Vec<_>>())
    }

    fn wgq(v: &[&str]) -> Invocation {
        parse_wgq(&v.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn wg_quick_grammar() {
        let bad: &[&[&str]] = &[
            &[],
            &["UP", "wg0"],
            &["up"],
            &["up", "a", "b"],
            &["up", "--dry-run", "wg0"],
            &["help", "x"],
            &["--help", "x"],
            &["--version"],
            &["version"],
            &["check", "wg0"],
            &["reload", "wg0"],
            &["show"],
            &["show", "wg0"],
            &["showconf", "wg0"],
            &["genkey"],
            &["wg-quick", "up", "wg0"],
        ];
        for bad in bad {
            assert_eq!(p(bad), Err(UsageError), "{bad:?}");
        }
        for h in ["help", "-h", "--help"] {
            assert_eq!(p(&[h]), Ok(Command::Help));
        }
        assert_eq!(
            p(&["up", "wg0"]),
            Ok(Command::Up(UpArgs { dry_run: false, kill_switch: None, allow_lan: false, target: "wg0".into() }))
        );
        assert_eq!(
            p(&["down", "/x/wg0.conf"]),
            Ok(Command::Down(DownArgs { dry_run: false, kill_switch: None, target: "/x/wg0.conf".into() }))
        );
        assert_eq!(p(&["save", "wg0"]), Ok(Command::Save(commands::TargetArgs { target: "wg0".into() })));
        assert_eq!(p(&["strip", "wg0"]), Ok(Command::Strip(commands::TargetArgs { target: "wg0".into() })));
        // The second argument is taken as given, like wg-quick does.
        assert_eq!(
            p(&["up", "--dry-run"]),
            Ok(Command::Up(UpArgs { dry_run: false, kill_switch: None, allow_lan: false, target: "--dry-run".into() }))
        );
        assert_eq!(p(&["strip", "--"]), Ok(Command::Strip(commands::TargetArgs { target: "--".into() })));
    }

    #[test]
    fn wgq_grammar() {
        use Invocation::Run;
        assert_eq!(
            wgq(&["up", "wg0"]),
            Run(Command::Up(UpArgs { dry_run: false, kill_switch: None, allow_lan: false, target: "wg0".into() }))
        );
        assert_eq!(
            wgq(&["up", "--dry-run", "wg0"]),
            Run(Command::Up(UpArgs { dry_run: true, kill_switch: None, allow_lan: false, target: "wg0".into() }))
        );
        assert_eq!(
            wgq(&["down", "wg0", "--dry-run"]),
            Run(Command::Down(DownArgs { dry_run: true, kill_switch: None, target: "wg0".into() }))
        );
        use crate::plan::KillSwitch;
        for (args, ks) in [
            (&["up", "--kill-switch", "wg0"][..], KillSwitch { strict: false, allow_lan: false }),
            (&["up", "--kill-switch=normal", "wg0"], KillSwitch { strict: false, allow_lan: false }),
            (&["up", "--kill-switch=strict", "--allow-lan", "wg0"], KillSwitch { strict: true, allow_lan: true }),
            (&["up", "wg0", "--allow-lan", "--kill-switch"], KillSwitch { strict: false, allow_lan: true }),
        ] {
            match wgq(args) {
                Run(Command::Up(a)) => assert!(a.target == "wg0" && !a.dry_run && a.kill_switch() == Some(ks), "{args:?}: {a:?}"),
                other => panic!("{args:?}: {other:?}"),
            }
        }
        assert_eq!(
            wgq(&["down", "--kill-switch=off", "wg0"]),
            Run(Command::Down(DownArgs { dry_run: false, kill_switch: Some(KillSwitchOff), target: "wg0".into() }))
        );
        assert_eq!(
            wgq(&["reload", "--dry-run", "wg0"]),
            Run(Command::Reload(ReloadArgs { dry_run: true, target: "wg0".into() }))
        );
        assert_eq!(wgq(&["save", "wg0"]), Run(Command::Save(commands::TargetArgs { target: "wg0".into() })));
        assert_eq!(wgq(&["strip", "wg0"]), Run(Command::Strip(commands::TargetArgs { target: "wg0".into() })));
        assert_eq!(wgq(&["check", "x/wg0.conf"]), Run(Command::Check(commands::TargetArgs { target: "x/wg0.conf".into() })));
        use crate::commands::reresolve::ReresolveArgs;
        assert_eq!(
            wgq(&["reresolve", "wg0"]),
            Run(Command::Reresolve(ReresolveArgs { target: "wg0".into(), stale_after: 135, dry_run: false }))
        );
        assert_eq!(
            wgq(&["reresolve", "--stale-after", "30", "--dry-run", "/x/wg0.conf"]),
            Run(Command::Reresolve(ReresolveArgs { target: "/x/wg0.conf".into(), stale_after: 30, dry_run: true }))
        );
        use crate::commands::show::{ShowArgs, ShowconfArgs};
        assert_eq!(wgq(&["show"]), Run(Command::Show(ShowArgs { interface: None, json: false })));
        assert_eq!(wgq(&["show", "all", "--json"]), Run(Command::Show(ShowArgs { interface: Some("all".into()), json: true })));
        assert_eq!(wgq(&["show", "wg0"]), Run(Command::Show(ShowArgs { interface: Some("wg0".into()), json: false })));
        assert_eq!(wgq(&["showconf", "wg0"]), Run(Command::Showconf(ShowconfArgs { interface: "wg0".into() })));
        assert_eq!(wgq(&["genkey"]), Run(Command::Genkey));
        assert_eq!(wgq(&["genpsk"]), Run(Command::Genpsk));
        assert_eq!(wgq(&["pubkey"]), Run(Command::Pubkey));
        assert_eq!(wgq(&["version"]), Run(Command::Version));
        // Everything after `wg-quick` goes to wg-quick's grammar untouched.
        let rest: Vec<OsString> = ["--", "up", "--help"].map(OsString::from).to_vec();
        assert_eq!(wgq(&["wg-quick", "--", "up", "--help"]), Invocation::WgQuick(rest));
        assert_eq!(wgq(&["wg-quick"]), Invocation::WgQuick(vec![]));
        let rest: Vec<OsString> = ["show", "--help"].map(OsString::from).to_vec();
        assert_eq!(wgq(&["wg", "show", "--help"]), Invocation::Wg(rest));
        assert_eq!(wgq(&["wg"]), Invocation::Wg(vec![]));
    }

    #[test]
    fn wgq_usage_errors_exit_1_help_and_version_0() {
        let status = |v: &[&str]| match wgq(v) {
            Invocation::Print { stdout, status, .. } => (stdout, status),
            other => panic!("{v:?}: {other:?}"),
        };
        let bad: &[&[&str]] = &[
            &[],
            &["UP", "wg0"],
            &["up"],
            &["up", "a", "b"],
            &["up", "--bogus", "wg0"],
            &["strip", "--dry-run", "wg0"],
            &["check", "--dry-run", "wg0"],
            &["show", "a", "b"],
            &["show", "--dry-run"],
            &["up", "--json", "wg0"],
            &["showconf"],
            &["genkey", "x"],
            &["pubkey", "--json"],
            &["help", "bogus"],
            &["reresolve"],
            &["reresolve", "--stale-after", "x", "wg0"],
            &["up", "--kill-switch=on", "wg0"],
            &["up", "--kill-switch=strct", "wg0"],
            &["up", "--allow-lan", "wg0"],
            &["down", "--kill-switch", "wg0"],
            &["down", "--kill-switch=strict", "wg0"],
            &["reload", "--kill-switch", "wg0"],
        ];
        for v in bad {
            assert_eq!(status(v), (false, 1), "{v:?}");
        }
        for v in [&["--help"][..], &["-h"], &["help"], &["help", "up"], &["up", "--help"], &["show", "-h"]] {
            assert_eq!(status(v), (false, 0), "{v:?}");
        }
        for v in [&["--version"][..], &["-V"]] {
            assert_eq!(status(v), (true, 0), "{v:?}");
        }
        let Invocation::Print { text, .. } = wgq(&["--version"]) else { unreachable!() };
        assert_eq!(text, crate::os::binary::version_text());
        assert!(text.starts_with(&format!("wgq {}\ntarget ", env!("CARGO_PKG_VERSION"))), "{text}");
        let Invocation::Print { text, .. } = wgq(&[]) else { unreachable!() };
        assert!(text.contains("Usage: wgq <COMMAND>") && text.contains("genkey"), "{text}");
    }

    #[test]
    fn run_takes_ups_flags_from_the_environment_value() {
        use crate::plan::KillSwitch;
        assert_eq!(up_flags(None), Ok(None));
        assert_eq!(up_flags(Some("  ")), Ok(None));
        assert_eq!(up_flags(Some("--kill-switch")), Ok(Some(KillSwitch { strict: false, allow_lan: false })));
        assert_eq!(up_flags(Some(" --kill-switch=strict\t--allow-lan ")), Ok(Some(KillSwitch { strict: true, allow_lan: true })));
        for bad in ["--dry-run", "--allow-lan", "--kill-switch=on", "wg0", "--bogus", "--help"] {
            let e = up_flags(Some(bad)).unwrap_err();
            assert!(e.starts_with("wgq: WGQ_UP_FLAGS"), "{bad}: {e}");
        }
        let Invocation::Run(Command::Run(a)) = wgq(&["run", "wg0", "/x/wg1.conf"]) else { panic!() };
        assert_eq!((&a.targets[..], &a.web), (&["wg0".to_string(), "/x/wg1.conf".into()][..], &None));
        let Invocation::Run(Command::Run(a)) = wgq(&["run", "--web", "wg0"]) else { panic!() };
        assert_eq!(a.web.as_deref(), Some(std::path::Path::new(crate::web::DEFAULT_STATE_DIR)));
        assert!(matches!(wgq(&["run"]), Invocation::Print { status: 1, .. }));
        use crate::commands::health::HealthArgs;
        assert_eq!(wgq(&["health"]), Invocation::Run(Command::Health(HealthArgs { handshake_within: None, interfaces: vec![] })));
        assert_eq!(
            wgq(&["health", "--handshake-within", "180", "wg0"]),
            Invocation::Run(Command::Health(HealthArgs { handshake_within: Some(180), interfaces: vec!["wg0".into()] }))
        );
        assert!(matches!(wgq(&["health", "--handshake-within", "-1"]), Invocation::Print { status: 1, .. }));
    }

    #[test]
    fn personality_is_the_file_name_of_argv0() {
        for (argv0, p) in [
            ("wg-quick", Personality::WgQuick),
            ("/usr/bin/wg-quick", Personality::WgQuick),
            ("./wg-quick", Personality::WgQuick),
            ("wgq", Personality::Wgq),
            ("/usr/local/bin/wgq", Personality::Wgq),
            ("/usr/bin/wg-quick.bak", Personality::Wgq),
            ("/opt/wg-quick/wgq", Personality::Wgq),
            ("wg", Personality::Wg),
            ("/usr/bin/wg", Personality::Wg),
            ("/usr/bin/wg.real", Personality::Wgq),
            ("", Personality::Wgq),
        ] {
            assert_eq!(Personality::from_argv0(OsStr::new(argv0)), p, "{argv0}");
        }
        assert_eq!(Personality::WgQuick.program(), "wg-quick");
    }

    #[test]
    fn clap_command_is_consistent() {
        wgq_command().debug_assert();
    }

    #[test]
    fn usage_first_line_is_wg_quicks() {
        let u = usage("wg-quick");
        assert!(u.starts_with("Usage: wg-quick [ up | down | save | strip ] [ CONFIG_FILE | INTERFACE ]\n"));
        for wgq_only in ["check", "reload", "show", "genkey", "dry-run"] {
            assert!(!u.contains(wgq_only), "wg-quick's usage mentions {wgq_only}");
        }
    }
}
