//! PreUp/PostUp/PreDown/PostDown hooks: `%i` expansion and running them under bash with
//! errexit and pipefail, as wg-quick does (reference §6).
//!
//! wg-quick runs a hook in wg-quick's own process group, so in the terminal's foreground,
//! and `read`, a sudo or ssh prompt or a pager work. wgq runs a hook as a job-control shell
//! runs a job: in a process group of its own (so that it can end the hook's whole tree on a
//! signal without ending itself), made the terminal's foreground group for the hook's run when
//! wgq is in the foreground, and wgq takes the terminal back afterwards. A hook stopped from
//! the terminal (Ctrl-Z, or a read while in the background) stops wgq's job too, and `fg`/`bg`
//! continue both. Without a terminal nothing of this applies.

use std::fs::File;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::Command;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::os::child::{Event, Group, KILL_GRACE};

/// What a hook sees in its environment besides the caller's.
#[derive(Debug, Clone, Default)]
pub struct HookEnv {
    pub interface: String,
    pub config_file: PathBuf,
}

/// A hook failed or was interrupted.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("hook failed with status {0}")]
    Failed(i32),
    /// The hook died of a signal wgq did not send (Ctrl-C reaches the hook's group only).
    #[error("hook killed by signal {0}")]
    Killed(i32),
    /// wgq received this signal while the hook ran, and ended the hook's group.
    #[error("hook interrupted by signal {0}")]
    Interrupted(i32),
    #[error("unable to run bash")]
    Spawn(#[source] std::io::Error),
    #[error("unable to wait for the hook")]
    Wait(#[source] std::io::Error),
}

impl HookError {
    /// The exit status to end with: the hook's own.
    pub fn status(&self) -> i32 {
        match self {
            HookError::Failed(s) => *s,
            HookError::Killed(s) | HookError::Interrupted(s) => 128 + s,
            HookError::Spawn(e) if e.kind() == std::io::ErrorKind::NotFound => 127,
            HookError::Spawn(_) => 126,
            HookError::Wait(_) => 1,
        }
    }
}

/// The bash script for a hook: errexit, pipefail and extglob, then the hook text.
pub fn script(expanded: &str) -> String {
    format!("set -e -o pipefail\nshopt -s extglob\n{expanded}\n")
}

/// Runs `f` with SIGTTOU ignored, as shells do around tcsetpgrp: a process in a background
/// group may then hand the terminal over. Async-signal-safe (used between fork and exec).
fn with_sigttou_ignored<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: signal(2) swaps a disposition; the old one is put back.
    unsafe {
        let old = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        let r = f();
        libc::signal(libc::SIGTTOU, old);
        r
    }
}

/// wgq's controlling terminal, if it has one.
struct Terminal {
    tty: File,
    /// The terminal's settings when wgq handed it to the hook, put back after wgq ended the
    /// hook (a killed password prompt may leave echo off).
    saved: Option<libc::termios>,
}

impl Terminal {
    fn open() -> Option<Terminal> {
        let tty = std::fs::OpenOptions::new().read(true).write(true).custom_flags(libc::O_NOCTTY).open("/dev/tty").ok()?;
        Some(Terminal { tty, saved: None })
    }

    fn fd(&self) -> RawFd {
        self.tty.as_raw_fd()
    }

    fn foreground(&self) -> Option<libc::pid_t> {
        // SAFETY: tcgetpgrp on an open descriptor.
        let g = unsafe { libc::tcgetpgrp(self.fd()) };
        (g > 0).then_some(g)
    }

    /// Whether wgq's process group is the terminal's foreground group.
    fn ours(&self) -> bool {
        self.foreground() == Some(nix::unistd::getpgrp().as_raw())
    }

    fn give(&self, pgid: libc::pid_t) -> bool {
        // SAFETY: tcsetpgrp on an open descriptor.
        with_sigttou_ignored(|| unsafe { libc::tcsetpgrp(self.fd(), pgid) }) == 0
    }

    fn save(&mut self) {
        // SAFETY: termios is a plain C struct of integers and arrays, for which all-zero
        // bytes are a valid value.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: tcgetattr writes only into `t`, a termios owned here and alive for the
        // call; a bad descriptor makes it fail with an errno, not write.
        if unsafe { libc::tcgetattr(self.fd(), &mut t) } == 0 {
            self.saved = Some(t);
        }
    }

    fn restore(&self) {
        if let Some(t) = &self.saved {
            // SAFETY: tcsetattr with settings tcgetattr returned.
            with_sigttou_ignored(|| unsafe { libc::tcsetattr(self.fd(), libc::TCSADRAIN, t) });
        }
    }

    /// Takes the terminal back for wgq if the hook's group still has it.
    fn take_back(&self, hook: libc::pid_t) {
        if self.foreground() == Some(hook) {
            self.give(nix::unistd::getpgrp().as_raw());
        }
    }
}

/// Puts the terminal back in wgq's hands when the hook's run ends, however it ends.
struct Foreground<'a> {
    term: Option<&'a Terminal>,
    hook: libc::pid_t,
}

impl Drop for Foreground<'_> {
    fn drop(&mut self) {
        if let Some(t) = self.term {
            t.take_back(self.hook);
        }
    }
}

fn is_job_control_stop(sig: i32) -> bool {
    matches!(sig, libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU)
}

/// Runs one expanded hook with `bash -c`, inheriting stdin/stdout/stderr, in its own process
/// group, in the terminal's foreground when wgq is (see the module's text). If a termination
/// signal arrives meanwhile (recorded by `crate::os::signals`), the hook's group gets SIGTERM
/// and SIGCONT, SIGKILL after [`KILL_GRACE`], and the hook counts as interrupted.
pub fn run(expanded: &str, env: &HookEnv) -> Result<(), HookError> {
    if let Some(sig) = crate::os::signals::peek() {
        return Err(HookError::Interrupted(sig));
    }
    let mut term = Terminal::open();
    let hand_over = term.as_ref().filter(|t| t.ours()).map(Terminal::fd);
    if hand_over.is_some()
        && let Some(t) = &mut term
    {
        t.save();
    }
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(script(expanded))
        .arg("wgq-hook")
        .env("LC_ALL", "C")
        .env("INTERFACE", &env.interface)
        .env("CONFIG_FILE", &env.config_file);
    if let Some(fd) = hand_over {
        // The child takes the terminal itself, before exec: the hook cannot read it before
        // it is in the foreground.
        // SAFETY: only async-signal-safe calls (setpgid, signal, tcsetpgrp) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::setpgid(0, 0);
                with_sigttou_ignored(|| libc::tcsetpgrp(fd, libc::getpid()));
                Ok(())
            });
        }
    }
    let _watch = crate::os::signals::watch_children();
    let mut g = Group::spawn(&mut cmd).map_err(HookError::Spawn)?;
    let hook = g.id();
    let fg = Foreground { term: term.as_ref(), hook };
    // A hook stopped for reading the terminal from the background, waiting for wgq to be in
    // the foreground again.
    let mut parked = false;
    loop {
        if let Some(sig) = crate::os::signals::peek() {
            g.terminate(KILL_GRACE);
            drop(fg);
            if let Some(t) = &term {
                t.restore();
            }
            return Err(HookError::Interrupted(sig));
        }
        let ev = match g.wait(None, crate::os::signals::wake_fd(), true) {
            Ok(ev) => ev,
            Err(e) => {
                g.terminate(KILL_GRACE);
                return Err(HookError::Wait(e));
            }
        };
        match ev {
            Event::Exited(st) => {
                return match (st.code(), st.signal()) {
                    (Some(0), _) => Ok(()),
                    (Some(c), _) => Err(HookError::Failed(c)),
                    (None, Some(s)) => Err(HookError::Killed(s)),
                    (None, None) => Err(HookError::Failed(1)),
                };
            }
            Event::Stopped(sig) if is_job_control_stop(sig) => {
                let Some(t) = term.as_ref() else { continue };
                // Stop wgq's job as the hook's was stopped (unless the hook only wants the
                // terminal wgq has now); a job-control shell then has it, and `fg` or `bg`
                // continues wgq here.
                let mut was_stopped = false;
                if sig == libc::SIGTSTP || !t.ours() {
                    t.take_back(hook);
                    let before = crate::os::signals::times_continued();
                    let _ = killpg(nix::unistd::getpgrp(), Signal::try_from(sig).unwrap_or(Signal::SIGTSTP));
                    was_stopped = crate::os::signals::times_continued() != before;
                }
                // In the foreground: the hook gets the terminal and goes on. In the background
                // (`bg`): it goes on too, and stops again, wgq with it, if it reads the
                // terminal. A process group without job control ignores the stop signals;
                // then a hook that wants the terminal stays stopped (no busy loop) until wgq
                // is in the foreground or a termination signal ends it.
                parked = !resume(t, hook, sig == libc::SIGTSTP || was_stopped);
            }
            // SIGSTOP from someone else, or no terminal: whoever stopped it continues it.
            Event::Stopped(_) => {}
            Event::Woken | Event::Deadline => {
                if parked && let Some(t) = &term {
                    parked = !resume(t, hook, false);
                }
            }
        }
    }
}

/// Continues a stopped hook: in the foreground if wgq is there (handing it the terminal),
/// else only when `anyway`. Returns whether it continued.
fn resume(term: &Terminal, hook: libc::pid_t, anyway: bool) -> bool {
    let fore = term.ours() && term.give(hook);
    if fore || anyway {
        let _ = killpg(Pid::from_raw(hook), Signal::SIGCONT);
    }
    fore || anyway
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn errexit_and_pipefail() {
        let env = HookEnv { interface: "wgq0".into(), config_file: "/x/wgq0.conf".into() };
        assert!(matches!(run("false; echo after >&2", &env), Err(HookError::Failed(1))));
        assert!(matches!(run("false | true", &env), Err(HookError::Failed(1))));
        assert!(matches!(run("exit 5", &env), Err(HookError::Failed(5))));
        assert!(run("false || true", &env).is_ok());
        assert!(run("[ \"$INTERFACE\" = wgq0 ] && [ \"$CONFIG_FILE\" = /x/wgq0.conf ]", &env).is_ok());
        assert!(run("x=abc; [[ $x == @(abc|def) ]]", &env).is_ok(), "extglob");
        assert!(run("echo \"a#b\" | grep -q 'a#b' # comment", &env).is_ok());
    }

    #[test]
    fn a_hook_killed_by_a_signal_says_so() {
        // SIGTERM, not SIGINT: a suite started as a background job has SIGINT ignored, and a
        // shell cannot take back a signal it found ignored at start.
        let env = HookEnv::default();
        let e = run("kill -TERM $$", &env).unwrap_err();
        assert!(matches!(e, HookError::Killed(15)), "{e}");
        assert_eq!(e.status(), 143);
    }

    #[test]
    fn a_quick_hook_is_not_held_up_by_its_background_children() {
        let env = HookEnv::default();
        let t = Instant::now();
        run("sleep 5 >/dev/null 2>&1 </dev/null & true", &env).unwrap();
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
}
