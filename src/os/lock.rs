//! The lock of a config file, shared by every process that edits or applies it, in every
//! network namespace and container that sees the file.
//!
//! It is an exclusive `flock` on a lock file beside the file (beside its target when the
//! file is a symbolic link): `DIR/.NAME.lock` for `DIR/NAME`. Not on the file itself, which
//! edits replace by rename (a lock on the old inode would protect nothing), and not on the
//! directory, which would make every interface of the directory wait for each other (and
//! a PostUp that brings up a second interface wait for itself). The lock file is never
//! removed (removing it while another process waits on it would give two holders); it
//! holds a line naming its last holder, for the message of those who wait. Where the file
//! cannot be made (a read-only directory) nothing can edit the config either: no lock.
//! The lock goes with the process, however it ends (the kernel releases a `flock`).

use std::io::{self, Read as _, Seek as _, Write as _};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a command waits for a lock another process holds, unless `WGQ_LOCK_WAIT`
/// (seconds, 0 to 3600) says otherwise.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// The environment variable that overrides [`DEFAULT_WAIT`].
pub const WAIT_ENV: &str = "WGQ_LOCK_WAIT";

/// After this long waiting, a command says who it is waiting for.
const SAY_AFTER: Duration = Duration::from_secs(1);

/// The wait for locks: [`WAIT_ENV`] when it holds a number of seconds up to an hour,
/// [`DEFAULT_WAIT`] otherwise.
/// (The front-end refuses any other value of it first: [`check_wait_env`].)
pub fn wait_bound() -> Duration {
    std::env::var(WAIT_ENV).ok().and_then(|v| parse_wait(&v)).unwrap_or(DEFAULT_WAIT)
}

/// A value of [`WAIT_ENV`]: whole seconds, 0 to 3600.
fn parse_wait(v: &str) -> Option<Duration> {
    v.trim().parse::<u64>().ok().filter(|&s| s <= 3600).map(Duration::from_secs)
}

/// Refuses a [`WAIT_ENV`] that is set but no whole number of seconds from 0 to 3600 (`1s`,
/// `2m`, `-1`): silently waiting the default instead would surprise whoever set it.
pub fn check_wait_env() -> Result<(), String> {
    match std::env::var_os(WAIT_ENV) {
        None => Ok(()),
        Some(v) if v.to_str().and_then(parse_wait).is_some() => Ok(()),
        Some(v) => Err(format!(
            "{WAIT_ENV}=`{}': not a number of seconds from 0 to 3600 (no unit)",
            v.to_string_lossy().escape_debug()
        )),
    }
}

/// Where the lock of `config` lives: `.NAME.lock` beside the file the path leads to.
pub fn lock_path(config: &Path) -> PathBuf {
    let target = crate::os::files::resolve_links(config).unwrap_or_else(|_| config.to_path_buf());
    let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "wgq".into());
    dir.join(format!(".{name}.lock"))
}

/// A held lock of a config file; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct FileLock {
    _file: std::fs::File,
}

/// Waiting for a lock ended without it.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("Unable to open the lock file {}", .0.display())]
    Io(PathBuf, #[source] io::Error),
    #[error("{what} is held by {holder}: gave up after waiting {} s ({WAIT_ENV}=<seconds> sets the wait)", .waited.as_secs())]
    Timeout { what: String, holder: String, waited: Duration },
}

/// Tries `attempt` until it gives `Some`, sleeping a little in between, until `deadline`.
/// After [`SAY_AFTER`] it says once on stderr who it waits for (`holder()`); at the deadline
/// the error names the holder too.
pub fn wait_for<T>(
    what: &str,
    deadline: Instant,
    started: Instant,
    mut attempt: impl FnMut() -> Result<Option<T>, WaitError>,
    holder: impl Fn() -> String,
) -> Result<T, WaitError> {
    let mut pause = Duration::from_millis(1);
    let mut said = false;
    loop {
        if let Some(t) = attempt()? {
            return Ok(t);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(WaitError::Timeout { what: what.to_string(), holder: holder(), waited: now - started });
        }
        if !said && now - started >= SAY_AFTER {
            said = true;
            eprintln!(
                "{}: {what} is held by {}; waiting up to {} s",
                crate::program_name(),
                holder(),
                deadline.saturating_duration_since(started).as_secs()
            );
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(25));
    }
}

impl FileLock {
    /// Takes the lock of `config`, waiting until `deadline` while another process holds it.
    /// `Ok(None)`: the lock file cannot be made because its directory is read-only.
    pub fn acquire(config: &Path, deadline: Instant, started: Instant) -> Result<Option<FileLock>, WaitError> {
        let path = lock_path(config);
        let file = match open(&path) {
            Ok(f) => f,
            Err(e) if read_only(&e) => return Ok(None),
            Err(e) => return Err(WaitError::Io(path, e)),
        };
        let what = format!("the lock of {} ({})", config.display(), path.display());
        let unsupported = std::cell::Cell::new(false);
        let attempt = || match flock_now(&file) {
            Ok(true) => Ok(Some(())),
            Ok(false) => Ok(None),
            Err(e) => {
                // No locks on this file system: what wgq did before it had this lock.
                eprintln!(
                    "{}: warning: {} cannot be locked ({e}): edits from other network namespaces or containers are not \
                     kept apart",
                    crate::program_name(),
                    path.display()
                );
                unsupported.set(true);
                Ok(Some(()))
            }
        };
        wait_for(&what, deadline, started, attempt, || holder(&file))?;
        if unsupported.get() {
            return Ok(None);
        }
        record_holder(&file);
        Ok(Some(FileLock { _file: file }))
    }
}

/// Opens (makes) the lock file: never blocking in open(2) (a FIFO or a device planted at
/// its name would), never following a link, and only a regular file is used.
fn open(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    const FLAGS: i32 = libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY;
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(FLAGS)
        .open(path)
    {
        // A read-only file system: an existing lock file can still be locked for reading.
        Err(e) if read_only(&e) => std::fs::OpenOptions::new().read(true).custom_flags(FLAGS).open(path).map_err(|_| e),
        r => r,
    }?;
    if !file.metadata()?.file_type().is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
    }
    Ok(file)
}

fn read_only(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EROFS)
}

/// Takes an exclusive `flock` without waiting: `Ok(false)` when another holds it; an error
/// when the file system has no such locks (some FUSE and network file systems).
pub(crate) fn flock_now(file: &std::fs::File) -> io::Result<bool> {
    loop {
        // SAFETY: flock on a valid, owned descriptor.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EWOULDBLOCK) => return Ok(false),
            Some(libc::EINTR) => continue,
            _ => return Err(e),
        }
    }
}

/// [`flock_now`], with a file system without locks counted as held.
pub(crate) fn try_flock(file: &std::fs::File) -> bool {
    flock_now(file).unwrap_or(false)
}

/// The words of this process's command line that say what it does (program name and
/// subcommand words up to the first option), for the lock file.
fn command_words() -> String {
    let mut s = String::new();
    for (i, a) in std::env::args_os().take(4).enumerate() {
        let a = a.to_string_lossy();
        if i > 0 && a.starts_with('-') {
            break;
        }
        let a = if i == 0 { a.rsplit('/').next().unwrap_or("").to_string() } else { a.into_owned() };
        if !s.is_empty() {
            s.push(' ');
        }
        s.extend(a.chars().take(64).map(|c| if c.is_control() { '?' } else { c }));
    }
    s
}

/// The inode of this process's PID namespace (0 when unknown).
fn pid_namespace() -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self/ns/pid").map(|m| m.ino()).unwrap_or(0)
}

/// Writes `pid=… pidns=… command=…` into the held lock file (best effort: the lock works
/// without it).
fn record_holder(mut file: &std::fs::File) {
    let line = format!("pid={} pidns={} command={}\n", std::process::id(), pid_namespace(), command_words());
    let _ = file.set_len(0).and_then(|_| file.rewind()).and_then(|_| file.write_all(line.as_bytes()));
}

/// Who holds the `flock` of the file at `path`, as [`FileLock::acquire`] says it.
pub fn holder_of(path: &Path) -> String {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .ok()
        .filter(|f| f.metadata().is_ok_and(|m| m.file_type().is_file()))
        .map_or_else(|| "another process".into(), |f| holder(&f))
}

/// Who holds the lock on `file`: the process /proc/locks names (as this process sees it),
/// else what the holder wrote into the file; both are untrusted and printed escaped.
fn holder(file: &std::fs::File) -> String {
    use std::os::unix::fs::MetadataExt;
    let recorded = read_record(file);
    let seen = file.metadata().ok().and_then(|m| flock_holder(m.dev(), m.ino()));
    match (seen, recorded) {
        (Some(pid), _) => {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|b| {
                    let words: Vec<String> = b
                        .split(|&c| c == 0)
                        .filter(|w| !w.is_empty())
                        .take(4)
                        .map(|w| escape(&String::from_utf8_lossy(&w[..w.len().min(64)])))
                        .collect();
                    words.join(" ")
                })
                .unwrap_or_default();
            if cmd.is_empty() { format!("process {pid}") } else { format!("process {pid} ({cmd})") }
        }
        (None, Some((pid, pidns, cmd))) if pidns == pid_namespace() => format!("process {pid} ({cmd})"),
        (None, Some((pid, _, cmd))) => format!("process {pid} of another PID namespace ({cmd})"),
        (None, None) => "another process".into(),
    }
}

/// The holder the lock file names: pid, PID namespace, command (escaped).
fn read_record(mut file: &std::fs::File) -> Option<(u32, u64, String)> {
    let mut buf = Vec::new();
    file.rewind().ok()?;
    file.take(512).read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let line = text.lines().next()?;
    let pid = line.strip_prefix("pid=")?.split(' ').next()?.parse().ok()?;
    let pidns = line.split(' ').find_map(|w| w.strip_prefix("pidns=")).and_then(|v| v.parse().ok()).unwrap_or(0);
    let cmd = line.split_once(" command=").map(|(_, c)| escape(c)).unwrap_or_default();
    Some((pid, pidns, cmd))
}

/// Control characters shown as `\xNN`.
fn escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_control() {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// The pid that holds a `flock` on the file (`dev`, `ino`) according to /proc/locks, if
/// it is visible from here.
fn flock_holder(dev: u64, ino: u64) -> Option<u32> {
    let mut text = String::new();
    std::fs::File::open("/proc/locks").ok()?.take(1 << 20).read_to_string(&mut text).ok()?;
    let want = format!("{:02x}:{:02x}:{ino}", libc::major(dev), libc::minor(dev));
    text.lines().filter(|l| !l.contains("->")).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(1) == Some(&"FLOCK") && f.get(5) == Some(&want.as_str()))
            .then(|| f.get(4)?.parse::<u32>().ok())
            .flatten()
            .filter(|&p| p != 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_values() {
        assert_eq!(parse_wait("0"), Some(Duration::ZERO));
        assert_eq!(parse_wait(" 3600 "), Some(Duration::from_secs(3600)));
        for bad in ["1s", "2m", "-1", "3601", "", "1.5"] {
            assert_eq!(parse_wait(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_lock_is_beside_the_target_and_a_second_holder_waits_then_gives_up_naming_the_first() {
        let d = tempfile::tempdir().unwrap();
        let store = d.path().join("store");
        std::fs::create_dir(&store).unwrap();
        std::fs::write(store.join("real.conf"), "x").unwrap();
        let link = d.path().join("wg0.conf");
        std::os::unix::fs::symlink("store/real.conf", &link).unwrap();
        assert_eq!(lock_path(&link), store.join(".real.conf.lock"));
        let now = Instant::now();
        let held = FileLock::acquire(&link, now, now).unwrap().unwrap();
        let start = Instant::now();
        let e = FileLock::acquire(&store.join("real.conf"), start + Duration::from_millis(300), start).unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(300));
        let msg = e.to_string();
        assert!(msg.contains(&format!("process {}", std::process::id())), "{msg}");
        assert!(msg.contains("real.conf.lock"), "{msg}");
        drop(held);
        let now = Instant::now();
        assert!(FileLock::acquire(&link, now, now).unwrap().is_some());
    }

    #[test]
    fn a_lock_released_while_waiting_is_taken() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("wg0.conf");
        let now = Instant::now();
        let held = FileLock::acquire(&p, now, now).unwrap().unwrap();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(held);
        });
        let now = Instant::now();
        assert!(FileLock::acquire(&p, now + Duration::from_secs(10), now).unwrap().is_some());
        t.join().unwrap();
    }

    #[test]
    fn the_record_is_read_back_escaped() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, "pid=42 pidns=7 command=wgq \u{1b}[2J peer\n").unwrap();
        let f = std::fs::File::open(&p).unwrap();
        assert_eq!(read_record(&f), Some((42, 7, "wgq \\x1b[2J peer".into())));
        std::fs::write(&p, "garbage").unwrap();
        assert_eq!(read_record(&std::fs::File::open(&p).unwrap()), None);
    }
}
