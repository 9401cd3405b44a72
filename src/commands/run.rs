//! `wgq run`: the foreground form of `up` for containers and supervisors. Each interface is
//! brought up as `up` does (one transaction each); then wgq waits, reaping the orphans it
//! inherits as PID 1 (hooks' background jobs) and looking up stale peers' host names again
//! every 30 s (`wgq reresolve`), until SIGTERM, SIGINT or SIGHUP, and brings them down in
//! reverse order. With `--web` (and in `wgq container`) the web page is served in threads
//! of the same process from when the interfaces are up until just before they go down. A
//! failed `up` downs the ones already up and ends with its error. `wgq health` reads which
//! interfaces it brought up from the run state.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{AppError, CONFIG_DIR};
use crate::config::locate;
use crate::system::runstate::RunState;

/// How often the idle loop looks for ended children even without a SIGCHLD (a backstop: the
/// signal wakes it at once).
const REAP_EVERY: Duration = Duration::from_secs(5);
/// How often the host names of stale peers' endpoints are looked up again (`wgq reresolve`,
/// as `wgq-reresolve@.timer` runs it on a host: a container has no timers).
const RERESOLVE_EVERY: Duration = Duration::from_secs(30);

/// The arguments of `wgq run`, as the front-end parsed them (`WGQ_UP_FLAGS` included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunArgs {
    /// Files or interface names, brought up in this order and down in the reverse.
    pub targets: Vec<String>,
    /// `--kill-switch…` from `WGQ_UP_FLAGS`, for every interface.
    pub kill_switch: Option<crate::plan::KillSwitch>,
    /// Serve the web page beside them (`--web`): its state directory unless
    /// `WGQ_WEB_STATE_DIR` names one.
    pub web: Option<PathBuf>,
}

/// `wgq run`: see the module's text. Returns 0 after a clean stop; a failed `up` is the error.
pub fn run(a: &RunArgs) -> Result<i32, AppError> {
    if a.targets.is_empty() {
        return Err(AppError::Other("no interface to run".into()));
    }
    // Every name (and the page's settings) is checked before anything is brought up.
    let mut names = Vec::new();
    let mut files = Vec::new();
    for t in &a.targets {
        let loc = locate::locate_config(t, Path::new(CONFIG_DIR))?;
        if names.contains(&loc.interface) {
            return Err(AppError::Other(format!("`{}' is named twice", loc.interface)));
        }
        names.push(loc.interface);
        files.push(loc.path);
    }
    let page = match &a.web {
        Some(state_dir) => {
            let (dir, served) = served(&names, &files)?;
            Some(super::web::beside_run(dir, served, state_dir.clone())?)
        }
        None => None,
    };
    crate::os::signals::install();
    // Any stopping signal from here on ends the run, even one that a thread of the page took
    // first (its change is rolled back; the run must still stop).
    let (since, _) = crate::os::signals::received();
    let state = RunState::current().map_err(|e| super::io("Unable to identify the network namespace", e))?;
    let pid = std::process::id();
    let init = container_init();
    let kill_switch = switch_for(a.kill_switch, init.is_some());
    if kill_switch != a.kill_switch {
        eprintln!(
            "{}: a container's init ({}): the kill switch stays in place when the run stops, as --kill-switch=strict does: \
             nothing sharing this network namespace gets out until the runtime removes the container's network (with the \
             host's network or a pod's, `wgq down --kill-switch=off INTERFACE' removes it)",
            crate::program_name(),
            init.unwrap_or_default()
        );
    }
    let mut up: Vec<(&str, &str)> = Vec::new();
    for (t, n) in a.targets.iter().zip(&names) {
        // A signal before this `up` started: nothing more is brought up.
        let r = match crate::os::signals::peek() {
            Some(sig) => Err(AppError::Exec(crate::plan::exec::ExecError::Signal(sig))),
            None => super::up::run(&super::up::UpArgs {
                dry_run: false,
                kill_switch: kill_switch.map(|k| super::up::KillSwitchMode { strict: k.strict }),
                allow_lan: kill_switch.is_some_and(|k| k.allow_lan),
                target: t.clone(),
            }),
        };
        if let Err(e) = r {
            if !e.already_reported() {
                eprintln!("{}: {}", crate::program_name(), crate::error_chain(&e));
            }
            eprintln!("{}: `{n}' did not come up{}", crate::program_name(), stopping_note(&up));
            crate::os::signals::pending();
            stop(&state, pid, &up);
            return Err(AppError::Reported(Box::new(e)));
        }
        up.push((t, n));
    }
    let running: Vec<String> = up.iter().map(|(_, n)| n.to_string()).collect();
    if let Err(e) = state.write_run_list(pid, &running) {
        eprintln!(
            "{}: warning: unable to record the running interfaces in {}: {e}",
            crate::program_name(),
            state.dir().display()
        );
    }
    // The page, once its interfaces are up (as wg-easy starts it).
    let page = match page.map(super::web::start).transpose() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{}: {}", crate::program_name(), crate::error_chain(&e));
            eprintln!("{}: the web page did not start{}", crate::program_name(), stopping_note(&up));
            crate::os::signals::pending();
            stop(&state, pid, &up);
            return Err(AppError::Reported(Box::new(e)));
        }
    };
    eprintln!("{}: running {} (stop with SIGTERM or SIGINT)", crate::program_name(), running.join(" "));
    let sig = wait_for_stop(since, &up);
    eprintln!("{}: {}: stopping", crate::program_name(), signal_name(sig));
    // The page first: a change it is making is finished, and no other begins, before the
    // interfaces go down.
    if let Some(p) = page {
        p.stop();
    }
    Ok(if stop(&state, pid, &up) { 0 } else { 1 })
}

/// The interfaces the page serves: the servers (files with a `ListenPort`) among `names`
/// whose files are in the directory of the first one; another server elsewhere is named in
/// a warning. The directory and the names.
fn served(names: &[String], files: &[PathBuf]) -> Result<(PathBuf, Vec<String>), AppError> {
    let mut dir: Option<PathBuf> = None;
    let mut served = Vec::new();
    for (n, f) in names.iter().zip(files) {
        if !super::web::is_server_file(f) {
            continue;
        }
        let parent = f.parent().unwrap_or(Path::new("/")).to_path_buf();
        match &dir {
            None => dir = Some(parent),
            Some(d) if *d != parent => {
                eprintln!(
                    "{}: warning: the web page does not serve `{n}': it serves the servers of one directory, {}",
                    crate::program_name(),
                    d.display()
                );
                continue;
            }
            Some(_) => {}
        }
        served.push(n.clone());
    }
    match dir {
        Some(d) => Ok((d, served)),
        None => Err(AppError::Other(format!("--web: none of {} is a server (a file with a ListenPort)", names.join(", ")))),
    }
}

/// The kill switch `up` is given: as PID 1 (a container's init) a strict one. The runtime
/// takes a stopped container's network away only after its init has exited, and a switch
/// that `down` removed would let whatever shares the namespace (`network_mode: service:`) out
/// meanwhile: hundreds of packets in some stops tried with podman.
fn switch_for(asked: Option<crate::plan::KillSwitch>, pid1: bool) -> Option<crate::plan::KillSwitch> {
    asked.map(|k| crate::plan::KillSwitch { strict: k.strict || pid1, ..k })
}

/// Whether wgq is a container's init, and why (for the log): PID 1, or the child of the
/// small init a runtime puts first on request (`--init`, compose's `init: true`), which only
/// forwards signals and reaps. A full init (systemd, s6) is not one: it stops services, not
/// the container.
fn container_init() -> Option<String> {
    if std::process::id() == 1 {
        return Some("PID 1".into());
    }
    if nix::unistd::getppid().as_raw() != 1 {
        return None;
    }
    let comm = crate::os::read_bounded("/proc/1/comm", 64).ok()?;
    let comm = comm.trim();
    let cmdline = |pid: &str| -> Option<Vec<u8>> {
        use std::io::Read;
        let mut v = Vec::new();
        std::fs::File::open(format!("/proc/{pid}/cmdline")).ok()?.take(64 * 1024).read_to_end(&mut v).ok()?;
        Some(v)
    };
    // The command it was started with, not another wgq that a shell left to it.
    let started = started_by(&cmdline("1")?, &cmdline("self")?);
    (is_runtime_init(comm) && started).then(|| format!("the child of PID 1, {comm}"))
}

/// Whether an init whose command line is `init` (NUL-separated, as /proc has it) runs the
/// command `own`: its arguments end with `own`'s, whole.
fn started_by(init: &[u8], own: &[u8]) -> bool {
    !own.is_empty() && init.len() > own.len() && init.ends_with(own) && init[init.len() - own.len() - 1] == 0
}

/// The names of the inits runtimes add: tini (Docker's `docker-init`), catatonit (podman's
/// `podman-init`), dumb-init.
fn is_runtime_init(comm: &str) -> bool {
    matches!(comm, "docker-init" | "podman-init" | "tini" | "tini-static" | "catatonit" | "dumb-init")
}

/// ", bringing down a, b" when some are up.
fn stopping_note(up: &[(&str, &str)]) -> String {
    if up.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = up.iter().rev().map(|(_, n)| *n).collect();
    format!("; bringing down {}", names.join(", "))
}

/// Brings down what is up, in reverse order, each on its own (one failing does not keep the
/// others up); forgets the run record. Returns whether all went down.
fn stop(state: &RunState, pid: u32, up: &[(&str, &str)]) -> bool {
    let mut ok = true;
    for (t, n) in up.iter().rev() {
        // A signal that arrived meanwhile must not undo the teardown's first step.
        crate::os::signals::pending();
        if let Err(e) = super::down::run(&super::down::DownArgs::plain(t)) {
            if !e.already_reported() {
                eprintln!("{}: {n}: {}", crate::program_name(), crate::error_chain(&e));
            }
            ok = false;
        }
        crate::os::child::reap_orphans();
    }
    state.remove_run_list(pid);
    ok
}

/// Waits for a stopping signal, reaping ended orphans meanwhile (each SIGCHLD wakes the
/// wait). The web page's threads may run helpers and hooks now: `reap_orphans` never takes
/// the status of a child started through `os::child`.
/// `since`: the count of [`crate::os::signals::received`] when the run began. Every
/// [`RERESOLVE_EVERY`], the endpoints of `up`'s stale host-name peers are looked up again.
fn wait_for_stop(since: u32, up: &[(&str, &str)]) -> i32 {
    let _watch = crate::os::signals::watch_children();
    let owned: Vec<(String, String)> = up.iter().map(|(t, n)| (t.to_string(), n.to_string())).collect();
    let stopped = || {
        crate::os::child::reap_orphans();
        stop_signal(since)
    };
    let round = move || {
        let up: Vec<(&str, &str)> = owned.iter().map(|(t, n)| (t.as_str(), n.as_str())).collect();
        reresolve(&up)
    };
    wait_with_rounds(stopped, RERESOLVE_EVERY, round)
}

/// [`wait_for_stop`] with `round` every `every`, each in a thread of its own (one at a
/// time): a stop never waits for a round's lookups (up to 5 s a batch of names). A round
/// still running when the interfaces go down finds them gone, or waits for `down`'s lock.
/// `stopped`: the stopping signal, once one came (it reaps too: it is asked at every wake).
fn wait_with_rounds(stopped: impl Fn() -> Option<i32>, every: Duration, round: impl Fn() + Send + Sync + 'static) -> i32 {
    let round = std::sync::Arc::new(round);
    let mut running: Option<std::thread::JoinHandle<()>> = None;
    let mut next = std::time::Instant::now() + every;
    loop {
        if let Some(sig) = stopped() {
            return sig;
        }
        if std::time::Instant::now() >= next {
            if running.as_ref().is_none_or(|h| h.is_finished()) {
                let r = round.clone();
                running = std::thread::Builder::new().name("reresolve".into()).spawn(move || r()).ok();
            }
            next = std::time::Instant::now() + every;
            continue;
        }
        let Some(fd) = crate::os::signals::wake_fd() else {
            std::thread::sleep(Duration::from_millis(200).min(every));
            continue;
        };
        let mut p = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let wait = REAP_EVERY.min(next.saturating_duration_since(std::time::Instant::now()));
        // SAFETY: poll on one descriptor that lives for the call.
        let r = unsafe { libc::poll(&mut p, 1, wait.as_millis().max(1) as i32) };
        if r > 0 {
            let mut buf = [0u8; 64];
            while matches!(nix::unistd::read(fd, &mut buf), Ok(n) if n > 0) {}
        }
    }
}

/// `wgq reresolve` of each interface: only stale host-name peers are looked up, only a
/// changed address is set (one trace line); a failure is reported and the run goes on.
fn reresolve(up: &[(&str, &str)]) {
    for (t, n) in up {
        let args = super::reresolve::ReresolveArgs {
            stale_after: crate::plan::reresolve::DEFAULT_STALE_AFTER,
            dry_run: false,
            target: t.to_string(),
        };
        // Read without the warnings `up` printed once (a world-readable file, as a
        // read-only bind mount often is, must not fill the log every 30 s).
        let r = locate::locate_config(t, Path::new(CONFIG_DIR))
            .map_err(AppError::from)
            .and_then(|loc| super::read_quietly(loc, crate::config::parse_unstripped))
            .and_then(|(loc, cfg)| super::reresolve::reresolve_config(&args, loc, cfg));
        if let Err(e) = r
            && !e.already_reported()
        {
            eprintln!("{}: {n}: reresolve: {}", crate::program_name(), crate::error_chain(&e));
        }
    }
    super::reresolve::tidy_switches();
}

/// The stopping signal that arrived, if one did: the pending one, or one received since
/// `since` that an executor in another thread (the page's change) took first.
fn stop_signal(since: u32) -> Option<i32> {
    crate::os::signals::pending().or_else(|| match crate::os::signals::received() {
        (n, sig) if n != since => Some(sig),
        _ => None,
    })
}

fn signal_name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig).map_or_else(|_| format!("signal {sig}"), |s| s.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_another_thread_took_first_still_stops_the_run() {
        crate::os::signals::install();
        let (since, _) = crate::os::signals::received();
        assert_eq!(stop_signal(since), None);
        // SAFETY: raise(3) sends SIGTERM to this thread; the recording handler is installed.
        unsafe { libc::raise(libc::SIGTERM) };
        // The executor of a page's change in another thread takes it (and rolls back).
        let _ = crate::os::signals::pending();
        assert_eq!(stop_signal(since), Some(libc::SIGTERM));
    }

    #[test]
    fn as_pid_1_the_kill_switch_stays_after_the_stop() {
        use crate::plan::KillSwitch;
        let normal = KillSwitch { strict: false, allow_lan: true };
        assert_eq!(switch_for(Some(normal), false), Some(normal));
        assert_eq!(switch_for(Some(normal), true), Some(KillSwitch { strict: true, allow_lan: true }));
        assert_eq!(switch_for(None, true), None);
        assert!(is_runtime_init("docker-init") && is_runtime_init("podman-init") && is_runtime_init("catatonit"));
        assert!(!is_runtime_init("systemd") && !is_runtime_init("s6-svscan") && !is_runtime_init("init"));
        assert!(started_by(b"/sbin/docker-init\0--\0wgq\0container\0", b"wgq\0container\0"));
        assert!(!started_by(b"/sbin/docker-init\0--\0wgq\0container\0", b"wgq\0run\0wg1\0"));
        assert!(!started_by(b"/sbin/docker-init\0--\0xwgq\0container\0", b"wgq\0container\0"));
        assert!(!started_by(b"wgq\0container\0", b"wgq\0container\0") && !started_by(b"x\0", b""));
    }

    /// A stop during a round (its lookups hanging) does not wait for it; rounds do not pile
    /// up while one runs.
    #[test]
    fn a_stop_does_not_wait_for_a_round_of_lookups() {
        use std::sync::atomic::{AtomicU32, Ordering};
        static ROUNDS: AtomicU32 = AtomicU32::new(0);
        let t = std::time::Instant::now();
        // (A signal of its own would reach the other tests of this process; so would reaping
        // its unregistered children, which `wait_for_stop`'s `stopped` does.)
        let stopped = || (t.elapsed() > Duration::from_millis(300)).then_some(libc::SIGTERM);
        let sig = wait_with_rounds(stopped, Duration::from_millis(20), || {
            ROUNDS.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_secs(30));
        });
        assert_eq!(sig, libc::SIGTERM);
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        assert_eq!(ROUNDS.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_note_names_what_goes_down_in_reverse() {
        assert_eq!(stopping_note(&[]), "");
        assert_eq!(stopping_note(&[("a/wg0.conf", "wg0"), ("wg1", "wg1")]), "; bringing down wg1, wg0");
        assert_eq!(signal_name(libc::SIGTERM), "SIGTERM");
    }
}
