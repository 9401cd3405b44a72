//! The process wgq runs as: the termination signals it watches for, and the child
//! processes it starts (hooks, helpers, the userspace implementation) with bounds.

pub mod binary;
pub mod child;
pub mod files;
pub mod glibc;
pub mod lock;
pub mod signals;

/// Keys are in memory from here on: no core dump may hold them, and nobody but root may read
/// this process's memory. PR_SET_DUMPABLE is reset by execve, so hooks, helpers and the
/// userspace daemon keep their own core-dump settings.
pub fn no_core_dumps() {
    // SAFETY: prctl with PR_SET_DUMPABLE takes a plain integer argument.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}
