//! The `wgq` binary: picks the grammar by the name it runs as, then argument handling,
//! elevation and error printing only. Everything else lives in the library.

use std::ffi::OsString;
use std::process::ExitCode;

use wgq::frontend::cli::{self, Command, Invocation, Personality};

fn main() -> ExitCode {
    let mut argv = std::env::args_os();
    let argv0 = argv.next().unwrap_or_default();
    let args: Vec<OsString> = argv.collect();
    match Personality::from_argv0(&argv0) {
        Personality::WgQuick => wg_quick(&args),
        // wg(8): usage and messages name argv[0] as given, as wg's do.
        Personality::Wg => wg(&argv0.to_string_lossy(), &args),
        Personality::Wgq => wgq(&args),
    }
}

/// The `wgq` name: clap's grammar; `wgq wg-quick ARGS...` is the `wg-quick` name.
fn wgq(args: &[OsString]) -> ExitCode {
    match cli::parse_wgq(args) {
        Invocation::Run(cmd) => run(Personality::Wgq, cmd, args.to_vec()),
        Invocation::WgQuick(rest) => wg_quick(&rest),
        Invocation::Wg(rest) => wg(Personality::Wg.program(), &rest),
        Invocation::Print { text, stdout, status } => {
            if stdout {
                print!("{text}");
            } else {
                eprint!("{text}");
            }
            ExitCode::from(status)
        }
    }
}

/// The `wg` name (or `wgq wg ARGS...`): wg(8), without sudo (wg itself never elevates).
fn wg(prog: &str, args: &[OsString]) -> ExitCode {
    wgq::set_program_name("wg");
    ExitCode::from(wgq::frontend::wg::main(prog, args))
}

/// The `wg-quick` name: exactly wg-quick's grammar, usage on stderr, status 1 for anything else.
fn wg_quick(args: &[OsString]) -> ExitCode {
    let p = Personality::WgQuick;
    match cli::parse_args(args) {
        Err(cli::UsageError) => {
            eprint!("{}", cli::usage(p.program()));
            ExitCode::from(1)
        }
        Ok(Command::Help) => {
            eprint!("{}", cli::usage(p.program()));
            ExitCode::SUCCESS
        }
        Ok(cmd) => {
            // Re-run through sudo as `wgq wg-quick ARGS...`: the same grammar whatever
            // name sudo gives the program.
            let again = std::iter::once(OsString::from(cli::WG_QUICK_SUBCOMMAND)).chain(args.iter().cloned()).collect();
            run(p, cmd, again)
        }
    }
}

/// Runs a parsed command; `again` is the argument list that re-runs it after elevation.
fn run(p: Personality, cmd: Command, again: Vec<OsString>) -> ExitCode {
    let program = p.program();
    wgq::set_program_name(program);
    if let Err(e) = wgq::commands::check_env() {
        eprintln!("{program}: {e}");
        return ExitCode::from(1);
    }
    if cmd.needs_root() && !nix::unistd::getuid().is_root() {
        // Like wg-quick: re-run through sudo; argument errors never get here.
        return ExitCode::from(elevate(program, &again));
    }
    let result = wgq::commands::run(cmd);
    if std::env::var_os("WGQ_STATS").is_some() {
        // Peak resident set size, for bench/updown.sh.
        if let Ok(u) = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF) {
            eprintln!("wgq: peak RSS {} KiB", u.max_rss());
        }
    }
    match result {
        Ok(status) => ExitCode::from(status.clamp(0, 255) as u8),
        Err(e) => {
            if !e.already_reported() {
                eprintln!("{program}: {}", wgq::error_chain(&e));
            }
            ExitCode::from(e.status().clamp(0, 255) as u8)
        }
    }
}

/// Re-executes this binary through sudo with wg-quick's prompt (naming `program`).
/// Returns only on failure.
fn elevate(program: &str, args: &[OsString]) -> u8 {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().unwrap_or_else(|_| "/proc/self/exe".into());
    let err = std::process::Command::new("sudo")
        .arg("-p")
        .arg(format!("{program} must be run as root. Please enter the password for %u to continue: "))
        .arg("--")
        .arg(exe)
        .args(args)
        .exec();
    eprintln!("{program}: cannot run sudo: {err}");
    if err.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 }
}
