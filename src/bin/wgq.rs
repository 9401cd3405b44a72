//! The `wgq` binary: argument handling, elevation and error printing only.
//! Everything else lives in the library.

use std::ffi::OsString;
use std::process::ExitCode;

use wgq::cli::{self, Command};

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let program = "wgq";
    let cmd = match cli::parse_args(&args) {
        Ok(c) => c,
        Err(_) => {
            eprint!("{}", cli::usage(program));
            return ExitCode::from(1);
        }
    };
    if cmd == Command::Help {
        eprint!("{}", cli::usage(program));
        return ExitCode::SUCCESS;
    }
    if cmd.needs_root() && !nix::unistd::getuid().is_root() {
        // Like wg-quick: re-run through sudo; argument errors never get here.
        return ExitCode::from(elevate(&args));
    }
    let result = wgq::app::run(cmd);
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

/// Re-executes this binary through sudo with wg-quick's prompt. Returns only on failure.
fn elevate(args: &[OsString]) -> u8 {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().unwrap_or_else(|_| "/proc/self/exe".into());
    let err = std::process::Command::new("sudo")
        .arg("-p")
        .arg("wgq must be run as root. Please enter the password for %u to continue: ")
        .arg("--")
        .arg(exe)
        .args(args)
        .exec();
    eprintln!("wgq: cannot run sudo: {err}");
    if err.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 }
}
