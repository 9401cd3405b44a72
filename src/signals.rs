//! SIGINT, SIGTERM and SIGHUP during `up`/`reload`: the handler only records the signal;
//! the executor notices it between steps (and the hook runner while waiting) and rolls back.

use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};

static PENDING: AtomicI32 = AtomicI32::new(0);

extern "C" fn record(sig: libc::c_int) {
    PENDING.store(sig, Ordering::SeqCst);
}

/// The signals that stop a run: rolled back during `up`/`reload`, held during a save.
const STOPPING: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// Installs the recording handlers (without SA_RESTART, so blocking waits wake up).
pub fn install() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, sigaction};
    let act = SigAction::new(SigHandler::Handler(record), SaFlags::empty(), SigSet::empty());
    for s in STOPPING {
        // SAFETY: the handler only stores into an atomic, which is async-signal-safe.
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
