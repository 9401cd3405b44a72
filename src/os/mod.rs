//! The process wgq runs as: the termination signals it watches for, and the child
//! processes it starts (hooks, helpers, the userspace implementation) with bounds.

pub mod announce;
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

/// Small system files (resolv.conf, resolvconf's records, rt_tables, run state, /proc
/// values): at most this many bytes are taken.
pub const MAX_SMALL_FILE: u64 = 1 << 20;
/// /etc/hosts, which blocking lists make large: at most this many bytes are taken.
pub const MAX_HOSTS_FILE: u64 = 64 << 20;

/// Seconds on the monotonic clock that also counts suspend (`CLOCK_BOOTTIME`): never set
/// back or forward with the wall clock, the same for every process until the next boot (as
/// long as the run state in /run lives).
pub fn boot_secs() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    if rc != 0 {
        return 0;
    }
    u64::try_from(ts.tv_sec).unwrap_or(0)
}

/// The text of a file wgq reads but does not own, bounded: opened without blocking (a FIFO
/// with no writer reads as empty instead of hanging), at most `max` bytes (more, as from a
/// link to /dev/zero, is an `InvalidData` error), not valid UTF-8 an `InvalidData` error.
pub fn read_bounded(path: impl AsRef<std::path::Path>, max: u64) -> std::io::Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let path = path.as_ref();
    let f = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    let mut v = Vec::new();
    match f.take(max + 1).read_to_end(&mut v) {
        Ok(_) => {}
        // A FIFO or socket-like file with nothing to read now.
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    if v.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is larger than {} bytes", path.display(), max),
        ));
    }
    String::from_utf8(v).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_are_bounded_and_never_block() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, "nameserver 192.0.2.1\n").unwrap();
        assert_eq!(super::read_bounded(&p, 100).unwrap(), "nameserver 192.0.2.1\n");
        assert_eq!(super::read_bounded(&p, 21).unwrap().len(), 21);
        assert_eq!(super::read_bounded(&p, 20).unwrap_err().kind(), std::io::ErrorKind::InvalidData);
        // A link to an endless file.
        let z = d.path().join("z");
        std::os::unix::fs::symlink("/dev/zero", &z).unwrap();
        let t = std::time::Instant::now();
        assert_eq!(super::read_bounded(&z, 1 << 20).unwrap_err().kind(), std::io::ErrorKind::InvalidData);
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
        // A FIFO nobody writes to.
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(super::read_bounded(&fifo, 100).unwrap(), "");
    }
}
