//! SIGINT, SIGTERM and SIGHUP during `up`/`reload`/`down`: the handler only records the signal
//! and writes a byte to a wake-up pipe; the executor notices the signal between steps, and
//! whoever waits for a child (the hook runner) has the pipe in its poll(2) set, so it wakes
//! at once instead of polling.
//!
//! A signal that was ignored when wgq started stays ignored, as a POSIX shell leaves it (so
//! wg-quick's `trap` does not catch it either): `nohup wgq up wg0` survives the terminal's
//! hang-up, and `wgq up wg0 &` started from a script is not rolled back by a Ctrl-C meant
//! for the foreground. Hooks and helpers inherit the ignored disposition, as wg-quick's do.

use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal, pthread_sigmask, sigaction};

static PENDING: AtomicI32 = AtomicI32::new(0);

/// The write end of the wake-up pipe, for the handlers (-1 until the pipe exists).
static WAKE_WRITE: AtomicI32 = AtomicI32::new(-1);
/// The wake-up pipe (read end, write end): non-blocking, close-on-exec.
static WAKE: OnceLock<Option<(OwnedFd, OwnedFd)>> = OnceLock::new();

/// Writes one byte to the wake-up pipe (a full pipe already wakes its reader).
fn nudge() {
    let fd = WAKE_WRITE.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write(2) and errno are async-signal-safe; errno is put back for the code the
        // signal interrupted.
        unsafe {
            let errno = *libc::__errno_location();
            libc::write(fd, [1u8].as_ptr().cast(), 1);
            *libc::__errno_location() = errno;
        }
    }
}

/// Every stopping signal received, counted (never forgotten), and the last one: a
/// long-running command (`wgq run`) learns of a signal even when another thread's executor
/// took it from [`PENDING`] (the web page's change that the signal rolled back).
static RECEIVED: AtomicU32 = AtomicU32::new(0);
static LAST: AtomicI32 = AtomicI32::new(0);

extern "C" fn record(sig: libc::c_int) {
    PENDING.store(sig, Ordering::SeqCst);
    LAST.store(sig, Ordering::SeqCst);
    RECEIVED.fetch_add(1, Ordering::SeqCst);
    nudge();
}

/// How many stopping signals were received so far, and the last one (0: none).
pub fn received() -> (u32, i32) {
    (RECEIVED.load(Ordering::SeqCst), LAST.load(Ordering::SeqCst))
}

/// How many times wgq was continued (SIGCONT) while [`watch_children`] was in effect.
static CONTINUED: AtomicU32 = AtomicU32::new(0);

extern "C" fn wake_only(sig: libc::c_int) {
    if sig == libc::SIGCONT {
        CONTINUED.fetch_add(1, Ordering::SeqCst);
    }
    nudge();
}

/// See [`CONTINUED`]: comparing it before and after stopping itself tells wgq whether it was
/// really stopped (a process group without job control ignores SIGTSTP, SIGTTIN, SIGTTOU).
pub fn times_continued() -> u32 {
    CONTINUED.load(Ordering::SeqCst)
}

/// The signals that stop a run: rolled back during `up`/`reload`, held during a save.
const STOPPING: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// The read end of the wake-up pipe (created on first use); `None` only if pipe2 failed.
pub fn wake_fd() -> Option<BorrowedFd<'static>> {
    let p = WAKE.get_or_init(|| {
        let mut fds = [-1; 2];
        // SAFETY: pipe2 fills two descriptors, owned here from now on.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            return None;
        }
        // SAFETY: descriptors pipe2 just returned, owned by nobody else.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        WAKE_WRITE.store(fds[1], Ordering::SeqCst);
        Some((r, w))
    });
    p.as_ref().map(|(r, _)| r.as_fd())
}

/// Whether `sig`'s disposition is "ignore" (false if it cannot be read).
pub fn ignored(sig: Signal) -> bool {
    // SAFETY: sigaction(2) with no new action only fills `old`, a zeroed struct owned here.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig as libc::c_int, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Installs the recording handlers (without SA_RESTART, so blocking waits wake up), except
/// for a signal ignored at this point: that one stays ignored (see the module's text).
pub fn install() {
    wake_fd();
    let act = SigAction::new(SigHandler::Handler(record), SaFlags::empty(), SigSet::empty());
    for s in STOPPING {
        if ignored(s) {
            continue;
        }
        // SAFETY: the handler only stores into an atomic and writes to a pipe, both
        // async-signal-safe.
        let _ = unsafe { sigaction(s, &act) };
    }
}

/// The signal received since the last call, if any (and forgets it).
pub fn pending() -> Option<i32> {
    match PENDING.swap(0, Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Peeks without forgetting.
pub fn peek() -> Option<i32> {
    match PENDING.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// While the returned guard lives, SIGCHLD (a child stopped or ended) and SIGCONT (wgq was
/// continued) also wake the wake-up pipe's reader; the hook runner needs both for job
/// control. The previous handlers come back when it is dropped.
pub fn watch_children() -> ChildWatch {
    wake_fd();
    // SA_RESTART: other blocking calls are not disturbed; SIGCHLD also for stopped children.
    let act = SigAction::new(SigHandler::Handler(wake_only), SaFlags::SA_RESTART, SigSet::empty());
    let mut old = Vec::new();
    for s in [Signal::SIGCHLD, Signal::SIGCONT] {
        // SAFETY: the handler only writes to a pipe (async-signal-safe).
        if let Ok(o) = unsafe { sigaction(s, &act) } {
            old.push((s, o));
        }
    }
    ChildWatch(old)
}

/// See [`watch_children`].
pub struct ChildWatch(Vec<(Signal, SigAction)>);

impl Drop for ChildWatch {
    fn drop(&mut self) {
        for (s, o) in &self.0 {
            // SAFETY: puts back the handler that was installed before.
            let _ = unsafe { sigaction(*s, o) };
        }
    }
}

/// The stopping signals held back while the returned guard lives: one that arrives meanwhile
/// is delivered when the guard is dropped, so it cannot interrupt what must not be left half
/// done.
pub fn hold() -> Hold {
    let set: SigSet = STOPPING.into_iter().collect();
    let mut old = SigSet::empty();
    Hold(pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old)).ok().map(|_| old))
}

/// See [`hold`]; restores the previous signal mask when dropped.
pub struct Hold(Option<SigSet>);

impl Drop for Hold {
    fn drop(&mut self) {
        if let Some(old) = &self.0 {
            let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(old), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dispositions of the stopping signals are process-wide: one test at a time.
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn handler_of(s: Signal) -> libc::sighandler_t {
        // SAFETY: as in `ignored`.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(s as libc::c_int, std::ptr::null(), &mut old);
            old.sa_sigaction
        }
    }

    #[test]
    fn a_signal_ignored_at_start_stays_ignored_and_the_others_are_caught() {
        let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let before: Vec<_> = STOPPING
            .iter()
            // SAFETY: swaps in a known disposition; the old ones are put back below.
            .map(|&s| (s, unsafe { sigaction(s, &SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty())) }))
            .collect();
        // Whatever the test runner inherited: SIGHUP ignored (nohup), SIGINT and SIGTERM not.
        // SAFETY: as above.
        unsafe {
            sigaction(Signal::SIGHUP, &SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty())).unwrap();
        }
        install();
        let ours = record as extern "C" fn(libc::c_int) as libc::sighandler_t;
        assert_eq!(handler_of(Signal::SIGHUP), libc::SIG_IGN, "nohup's ignored SIGHUP was caught");
        assert_eq!(handler_of(Signal::SIGINT), ours);
        assert_eq!(handler_of(Signal::SIGTERM), ours);
        // A second install (up, then its rollback's teardown) changes nothing.
        install();
        assert_eq!(handler_of(Signal::SIGHUP), libc::SIG_IGN);
        assert_eq!(handler_of(Signal::SIGINT), ours);
        for (s, old) in before {
            if let Ok(old) = old {
                // SAFETY: puts back what was there.
                let _ = unsafe { sigaction(s, &old) };
            }
        }
    }
}
