//! Run state under /run/wgq: the per-interface lock and the record of what `up` did, kept
//! per network namespace.
//!
//! `/run` is shared by every namespace entered with `ip netns exec`, so the files live in a
//! directory named after the namespace's cookie (`SO_NETNS_COOKIE`, never reused while the
//! machine runs): `/run/wgq/ns-<cookie>/<if>.lock` and `<if>.state`. A record also names
//! the ifindex of the interface it describes and is used only while that interface is the
//! one running under that name; anything else is stale and removed. Directories of
//! namespaces that no longer exist are removed by [`collect_garbage`].

use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::plan::UpRecord;

/// Where wgq keeps its run state.
pub const RUN_DIR: &str = "/run/wgq";

/// The network namespace this process runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Netns {
    /// The namespace's cookie (unique while the machine runs), or 0 where the kernel has none.
    pub cookie: u64,
    /// The inode of /proc/self/ns/net (what `ip netns identify` compares).
    pub inode: u64,
}

impl Netns {
    pub fn current() -> io::Result<Netns> {
        use std::os::unix::fs::MetadataExt;
        let inode = std::fs::metadata("/proc/self/ns/net")?.ino();
        // SAFETY: a plain socket call; the descriptor is owned right away.
        let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by socket(2) and nothing else owns it.
        let sock = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        let mut cookie: u64 = 0;
        let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `cookie`.
        let r = unsafe {
            libc::getsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_NETNS_COOKIE,
                (&mut cookie as *mut u64).cast(),
                &mut len,
            )
        };
        if r != 0 {
            cookie = 0;
        }
        Ok(Netns { cookie, inode })
    }

    /// The directory name of this namespace's run state.
    fn dir_name(&self) -> String {
        if self.cookie != 0 { format!("ns-{}", self.cookie) } else { format!("ns-ino-{}", self.inode) }
    }
}

/// This namespace's run-state directory (created on demand).
#[derive(Debug, Clone)]
pub struct RunState {
    root: PathBuf,
    netns: Netns,
}

impl RunState {
    /// The run state of the current namespace under [`RUN_DIR`].
    pub fn current() -> io::Result<RunState> {
        Ok(RunState::at(Path::new(RUN_DIR), Netns::current()?))
    }

    pub fn at(root: &Path, netns: Netns) -> RunState {
        RunState { root: root.to_path_buf(), netns }
    }

    pub fn dir(&self) -> PathBuf {
        self.root.join(self.netns.dir_name())
    }

    fn ensure_dir(&self) -> io::Result<PathBuf> {
        let dir = self.dir();
        std::fs::create_dir_all(&dir)?;
        // The namespace's inode, for garbage collection from other namespaces.
        let ns = dir.join("netns");
        if !ns.exists() {
            // Whole or not at all: another namespace's garbage collection reads it.
            let tmp = dir.join(format!("netns.{}", std::process::id()));
            std::fs::write(&tmp, format!("inode={}\n", self.netns.inode))?;
            std::fs::rename(&tmp, &ns)?;
        }
        Ok(dir)
    }

    fn state_path(&self, ifname: &str) -> PathBuf {
        self.dir().join(format!("{ifname}.state"))
    }

    /// Takes the interface's lock (never waits: another wgq changing it is an error).
    pub fn lock(&self, ifname: &str) -> Result<InterfaceLock, LockError> {
        let dir = self.ensure_dir().map_err(|e| LockError::Io(self.dir(), e))?;
        InterfaceLock::acquire(&dir.join(format!("{ifname}.lock")), ifname)
    }

    /// Takes the interface's lock, waiting up to `bound` while another wgq holds it (the
    /// `wgq peer` commands: fifty of them started at once each get their turn).
    pub fn lock_wait(&self, ifname: &str, bound: std::time::Duration) -> Result<InterfaceLock, LockError> {
        let deadline = std::time::Instant::now() + bound;
        let mut pause = std::time::Duration::from_millis(1);
        loop {
            match self.lock(ifname) {
                Err(LockError::Held { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(20));
                }
                r => return r,
            }
        }
    }

    /// The locks of a command that applies or edits a config file (`up`, `down`, `save`,
    /// `reload`, the `wgq peer` edits): first the file's lock ([`crate::os::lock`], shared by
    /// every namespace and container that sees the file), then this namespace's lock of the
    /// interface (another file may name an interface of the same name here). Always in
    /// that order, so two commands never wait for each other in a circle. Each is waited
    /// for while another process holds it, both together for at most
    /// [`crate::os::lock::wait_bound`]; then the error names the holder. `config`: `None`
    /// when there is no file (`down --kill-switch=off` of what is left of an interface).
    pub fn lock_config(&self, config: Option<&Path>, ifname: &str) -> Result<ConfigLock, LockError> {
        let started = std::time::Instant::now();
        let deadline = started + crate::os::lock::wait_bound();
        let file = match config {
            Some(p) => crate::os::lock::FileLock::acquire(p, deadline, started)?,
            None => None,
        };
        let what =
            format!("the lock of `{ifname}' in this network namespace ({})", self.dir().join(format!("{ifname}.lock")).display());
        let iface = crate::os::lock::wait_for(
            &what,
            deadline,
            started,
            || match self.lock(ifname) {
                Ok(l) => Ok(Some(Ok(l))),
                Err(LockError::Held { .. }) => Ok(None),
                Err(e) => Ok(Some(Err(e))),
            },
            || crate::os::lock::holder_of(&self.dir().join(format!("{ifname}.lock"))),
        )??;
        Ok(ConfigLock { _iface: iface, _file: file })
    }

    /// What `up` recorded for `ifname`, if the record describes the interface running now
    /// under that name (`ifindex`); a record of another interface (deleted and made anew,
    /// by wgq or anything else) is removed and never used.
    /// With no interface of that name (`ifindex` `None`) nothing is used and the record is
    /// kept: it is what [`RunState::orphan`] gives `down` of a vanished interface.
    pub fn read(&self, ifname: &str, ifindex: Option<u32>) -> Option<UpRecord> {
        let path = self.state_path(ifname);
        let text = crate::os::read_bounded(&path, crate::os::MAX_SMALL_FILE).ok()?;
        match record_ifindex(&text) {
            Some(i) if Some(i) == ifindex => Some(UpRecord::parse(&text)),
            Some(_) if ifindex.is_none() => None,
            _ => {
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// The record of an interface that vanished without `down` (its userspace daemon
    /// crashed, its link was deleted): what its `up` left that outlives the link (policy
    /// rules, firewall rules, the kill switch, a resolvconf registration). `None` while an
    /// interface of that name exists (that one's record is [`RunState::read`]'s).
    pub fn orphan(&self, ifname: &str) -> Option<UpRecord> {
        if ifindex(ifname).is_some() {
            return None;
        }
        let text = std::fs::read_to_string(self.state_path(ifname)).ok()?;
        record_ifindex(&text).map(|_| UpRecord::parse(&text))
    }

    /// The interfaces of this namespace that have a record (running or vanished).
    pub fn recorded_interfaces(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.dir()) else { return Vec::new() };
        let mut v: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".state").map(String::from))
            .filter(|n| crate::config::locate::is_interface_name(n))
            .collect();
        v.sort();
        v
    }

    /// Records what `up` did for the interface with this ifindex.
    pub fn write(&self, ifname: &str, ifindex: u32, record: &UpRecord) -> io::Result<()> {
        self.ensure_dir()?;
        let text = format!("ifindex={ifindex}\n{}", record.render());
        let path = self.state_path(ifname);
        let tmp = path.with_extension("state.tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &path)
    }

    /// Forgets the record of `ifname` (after `down`, or an `up` that rolled back).
    pub fn remove(&self, ifname: &str) {
        let _ = std::fs::remove_file(self.state_path(ifname));
    }

    fn p2p_path(&self, ifname: &str) -> PathBuf {
        self.dir().join(format!("{ifname}.p2p"))
    }

    /// The peers `wgq p2p connect` added to the interface running now as `ifname`
    /// (`<if>.p2p`, kept apart from `up`'s record: an interface wg-quick brought up has
    /// one too); a record of another interface under that name is removed.
    pub fn read_p2p(&self, ifname: &str, ifindex: Option<u32>) -> Option<crate::plan::p2p::P2pRecord> {
        let path = self.p2p_path(ifname);
        let text = crate::os::read_bounded(&path, crate::os::MAX_SMALL_FILE).ok()?;
        match record_ifindex(&text) {
            Some(i) if Some(i) == ifindex => Some(crate::plan::p2p::P2pRecord::parse(&text)),
            _ => {
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Records the peers `wgq p2p connect` manages (whole or not at all).
    pub fn write_p2p(&self, ifname: &str, ifindex: u32, record: &crate::plan::p2p::P2pRecord) -> io::Result<()> {
        self.ensure_dir()?;
        let path = self.p2p_path(ifname);
        let tmp = path.with_extension(format!("p2p.{}", std::process::id()));
        std::fs::write(&tmp, format!("ifindex={ifindex}\n{}", record.render()))?;
        std::fs::rename(&tmp, &path)
    }

    pub fn remove_p2p(&self, ifname: &str) {
        let _ = std::fs::remove_file(self.p2p_path(ifname));
    }
}

/// The file in which `wgq run` lists the interfaces it brought up (for `wgq health`).
const RUN_LIST: &str = "run.interfaces";

impl RunState {
    /// Records the interfaces `wgq run` (process `pid`) brought up, whole or not at all:
    /// `pid=N` and one name a line.
    pub fn write_run_list(&self, pid: u32, interfaces: &[String]) -> io::Result<()> {
        let dir = self.ensure_dir()?;
        let mut text = format!("pid={pid}\n");
        for i in interfaces {
            text.push_str(i);
            text.push('\n');
        }
        let tmp = dir.join(format!("{RUN_LIST}.{pid}"));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, dir.join(RUN_LIST))
    }

    /// What [`RunState::write_run_list`] recorded: the pid and the interface names (only
    /// valid interface names; `None` without a record).
    pub fn run_list(&self) -> Option<(u32, Vec<String>)> {
        let text = crate::os::read_bounded(self.dir().join(RUN_LIST), crate::os::MAX_SMALL_FILE).ok()?;
        let mut lines = text.lines();
        let pid = lines.next()?.strip_prefix("pid=")?.parse().ok()?;
        Some((pid, lines.filter(|l| crate::config::locate::is_interface_name(l)).map(String::from).collect()))
    }

    /// Removes the record of `wgq run` (process `pid`), if it is that process's.
    pub fn remove_run_list(&self, pid: u32) {
        if self.run_list().is_some_and(|(p, _)| p == pid) {
            let _ = std::fs::remove_file(self.dir().join(RUN_LIST));
        }
    }
}

impl RunState {
    /// The namespace's kill-switch lock, held while the sets of what its kill switches let
    /// out are made again from the records (see `LinuxSystem::reconcile_switches`): two
    /// commands doing it at once end with the later one's view. Waits for the holder (its
    /// work is a few firewall and device calls, no hook).
    pub fn lock_switches(&self) -> io::Result<std::fs::File> {
        let dir = self.ensure_dir()?;
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.join(SWITCHES_LOCK))?;
        // SAFETY: flock on a valid, owned descriptor.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(file)
    }

    /// Whether an interface of this namespace is being changed now (its lock is held, by
    /// another process or another thread of this one): an `up` between admitting itself to
    /// the kill switches and writing its record, a `down` between taking itself out and
    /// forgetting its record. The lock is only looked at (taken and let go at once when
    /// free); no lock file is created.
    pub fn an_interface_is_changing(&self) -> bool {
        let Ok(entries) = std::fs::read_dir(self.dir()) else { return false };
        entries.flatten().any(|e| {
            let name = e.file_name();
            let Some(ifname) = name.to_str().and_then(|n| n.strip_suffix(".lock")) else { return false };
            if !crate::config::locate::is_interface_name(ifname) {
                return false;
            }
            let Ok(file) = std::fs::OpenOptions::new().write(true).open(e.path()) else { return false };
            !try_flock(&file)
        })
    }

    /// The records of the other interfaces running in this namespace (vanished ones are
    /// left out): `(name, record)`.
    pub fn running_others(&self, except: &str) -> Vec<(String, UpRecord)> {
        self.recorded_interfaces()
            .into_iter()
            .filter(|n| n != except)
            .filter_map(|n| {
                let r = self.read(&n, ifindex(&n))?;
                Some((n, r))
            })
            .collect()
    }
}

/// The file of [`RunState::lock_switches`] (no `.lock`: it is no interface's).
const SWITCHES_LOCK: &str = "killswitch.mutex";

/// The `ifindex=` line of a record.
fn record_ifindex(text: &str) -> Option<u32> {
    text.lines().find_map(|l| l.strip_prefix("ifindex=")).and_then(|v| v.trim().parse().ok())
}

/// The interface index of `ifname` in this namespace, if it exists.
pub fn ifindex(ifname: &str) -> Option<u32> {
    let c = std::ffi::CString::new(ifname).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// The locks [`RunState::lock_config`] took; the interface's goes first when dropped.
pub struct ConfigLock {
    _iface: InterfaceLock,
    _file: Option<crate::os::lock::FileLock>,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(transparent)]
    Wait(#[from] crate::os::lock::WaitError),
    #[error("Unable to create {}", .0.display())]
    Io(PathBuf, #[source] io::Error),
    #[error("`{ifname}' is being changed by another wgq process (lock {} is held)", .path.display())]
    Held { ifname: String, path: PathBuf },
}

/// An interface's lock (flock on its lock file), held until dropped. Dropping it also
/// removes the file when the interface is gone, so lock files do not pile up.
pub struct InterfaceLock {
    _file: std::fs::File,
    path: PathBuf,
    ifname: String,
}

impl InterfaceLock {
    fn acquire(path: &Path, ifname: &str) -> Result<InterfaceLock, LockError> {
        loop {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(path)
                .map_err(|e| LockError::Io(path.to_path_buf(), e))?;
            if !try_flock(&file) {
                return Err(LockError::Held { ifname: ifname.to_string(), path: path.to_path_buf() });
            }
            // Lock files are removed while locked; a lock taken on a file that was removed
            // meanwhile protects nothing, so take the one now at the path instead.
            if same_file(&file, path) {
                return Ok(InterfaceLock { _file: file, path: path.to_path_buf(), ifname: ifname.to_string() });
            }
        }
    }
}

impl Drop for InterfaceLock {
    /// Removes the lock file (still locked) when the interface no longer exists; the lock
    /// itself goes when the file is closed, right after.
    fn drop(&mut self) {
        if ifindex(&self.ifname).is_none() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether `file` is the file now at `path` (same device and inode).
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    }
}

fn try_flock(file: &std::fs::File) -> bool {
    // SAFETY: flock on a valid, owned descriptor.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Removes run state nobody can use any more: directories of namespaces that no longer
/// exist, records and lock files of interfaces gone from this namespace, and the files of
/// wgq versions that named them by interface only. Files locked by a running wgq are left
/// alone. Errors are ignored: this is housekeeping.
pub fn collect_garbage(state: &RunState) {
    let Ok(entries) = std::fs::read_dir(&state.root) else { return };
    let mine = state.netns.dir_name();
    let mut live: Option<std::collections::HashSet<u64>> = None;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if name == mine {
            collect_interfaces(&path);
        } else if name.starts_with("ns-") {
            let inode = crate::os::read_bounded(path.join("netns"), crate::os::MAX_SMALL_FILE)
                .ok()
                .and_then(|t| t.trim().strip_prefix("inode=").and_then(|v| v.parse::<u64>().ok()));
            let live = live.get_or_insert_with(live_netns_inodes);
            // An inode seen alive may belong to a newer namespace: then the directory waits
            // (it can never be read: the cookie differs).
            // A directory without its marker is being made (or was left by a crash): only
            // an old one is taken for dead.
            let old = || {
                std::fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > std::time::Duration::from_secs(60))
            };
            if inode.map_or_else(old, |i| !live.contains(&i)) {
                remove_unlocked(&path, |_| true);
                let _ = std::fs::remove_file(path.join(SWITCHES_LOCK));
                let _ = std::fs::remove_file(path.join("netns"));
                let _ = std::fs::remove_dir(&path);
            }
        } else if name.ends_with(".state") || name.ends_with(".lock") {
            remove_unlocked_file(&path);
        }
    }
}

/// In this namespace's directory: locks of interfaces that do not exist. Their records
/// stay: an interface that vanished without `down` left rules, firewall rules or a kill
/// switch behind, and `down` removes them by its record ([`RunState::orphan`]). The
/// records of `wgq p2p connect` (`<if>.p2p`) of such interfaces go: their peers went with
/// the device.
fn collect_interfaces(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".p2p")
            && ifindex(stem).is_none()
        {
            let _ = std::fs::remove_file(e.path());
            continue;
        }
        if let Some(stem) = name.strip_suffix(".lock")
            && ifindex(stem).is_none()
            && let Ok(file) = std::fs::OpenOptions::new().write(true).open(e.path())
            && try_flock(&file)
            && same_file(&file, &e.path())
            && ifindex(stem).is_none()
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Removes `<if>.state` and `<if>.lock` files in `dir` for which `gone(if)` holds, unless
/// another process holds the lock.
fn remove_unlocked(dir: &Path, gone: impl Fn(&str) -> bool) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".lock") else { continue };
        if !gone(stem) {
            continue;
        }
        let lock_path = e.path();
        let Ok(file) = std::fs::OpenOptions::new().write(true).open(&lock_path) else { continue };
        // Holding the lock, and only if the file is still the one at the path (it may have
        // been removed and made anew meanwhile) and the interface still gone (an `up` may
        // have finished in between): then nobody uses it.
        if try_flock(&file) && same_file(&file, &lock_path) && gone(stem) {
            let _ = std::fs::remove_file(dir.join(format!("{stem}.state")));
            let _ = std::fs::remove_file(dir.join(format!("{stem}.p2p")));
            let _ = std::fs::remove_file(&lock_path);
        }
    }
    // Records without a lock file (the lock is made before any record, and removed after).
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".state").or_else(|| name.strip_suffix(".p2p"))
            && gone(stem)
            && !dir.join(format!("{stem}.lock")).exists()
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn remove_unlocked_file(path: &Path) {
    if let Ok(file) = std::fs::OpenOptions::new().write(true).open(path)
        && try_flock(&file)
    {
        let _ = std::fs::remove_file(path);
    }
}

/// The inodes of every network namespace that still exists as far as can be seen: those
/// of running processes and those bind-mounted by `ip netns` (a namespace kept alive only
/// by an open descriptor is not seen; its interfaces then fall back to what the live
/// system shows, as for an interface wg-quick brought up).
fn live_netns_inodes() -> std::collections::HashSet<u64> {
    use std::os::unix::fs::MetadataExt;
    let mut set = std::collections::HashSet::new();
    if let Ok(procs) = std::fs::read_dir("/proc") {
        for p in procs.flatten() {
            if p.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit())
                && let Ok(m) = std::fs::metadata(p.path().join("ns/net"))
            {
                set.insert(m.ino());
            }
        }
    }
    for d in ["/run/netns", "/var/run/netns"] {
        if let Ok(entries) = std::fs::read_dir(d) {
            for e in entries.flatten() {
                if let Ok(m) = std::fs::metadata(e.path()) {
                    set.insert(m.ino());
                }
            }
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(cookie: u64, inode: u64) -> Netns {
        Netns { cookie, inode }
    }

    #[test]
    fn the_run_list_is_per_namespace_and_removed_only_by_its_writer() {
        let root = tempfile::tempdir().unwrap();
        let a = RunState::at(root.path(), ns(21, 1));
        let b = RunState::at(root.path(), ns(22, 1));
        assert_eq!(a.run_list(), None);
        a.write_run_list(7, &["wg0".into(), "wg1".into()]).unwrap();
        assert_eq!(a.run_list(), Some((7, vec!["wg0".to_string(), "wg1".to_string()])));
        assert_eq!(b.run_list(), None);
        a.remove_run_list(8);
        assert!(a.run_list().is_some(), "another process's record was removed");
        a.remove_run_list(7);
        assert_eq!(a.run_list(), None);
        // What is no interface name is never listed.
        std::fs::write(a.dir().join(RUN_LIST), "pid=3\nwg0\n../x\n\n").unwrap();
        assert_eq!(a.run_list(), Some((3, vec!["wg0".to_string()])));
        std::fs::write(a.dir().join(RUN_LIST), "wg0\n").unwrap();
        assert_eq!(a.run_list(), None);
    }

    #[test]
    fn records_are_per_namespace_and_checked_against_the_ifindex() {
        let root = tempfile::tempdir().unwrap();
        let a = RunState::at(root.path(), ns(11, 1));
        let b = RunState::at(root.path(), ns(12, 1));
        let net = |s: &str| crate::net::IpNet::parse(s).unwrap();
        let rec = UpRecord {
            table: Some(51820),
            firewall: Some(crate::plan::FirewallKind::Nft),
            dns_name: Some("tun.wg0".into()),
            dns_input: Some("nameserver 10.8.0.1\nsearch example.com corp.local\n".into()),
            dns_backend: Default::default(),
            addresses: vec![net("10.8.0.2/24"), net("fe80::1/64")],
            routes: vec![
                crate::plan::Route { net: net("10.9.0.0/16"), table: None, table_text: None },
                crate::plan::Route { net: net("0.0.0.0/0"), table: Some(51820), table_text: Some("51820".into()) },
            ],
            resolvers: vec![
                "192.0.2.53:53".parse().unwrap(),
                "[2001:db8::53]:53".parse().unwrap(),
                std::net::SocketAddr::V6(std::net::SocketAddrV6::new("fe80::1".parse().unwrap(), 53, 0, 3)),
            ],
            kill_switch: Some((crate::plan::KillSwitch { strict: true, allow_lan: false }, crate::plan::FirewallKind::Nft)),
        };
        a.write("wg0", 7, &rec).unwrap();
        // Another namespace never sees it, even with the same name and ifindex.
        assert_eq!(b.read("wg0", Some(7)), None);
        assert_eq!(a.read("wg0", Some(7)), Some(rec.clone()));
        // A different interface under the same name: stale, removed.
        assert_eq!(a.read("wg0", Some(8)), None);
        assert_eq!(a.read("wg0", Some(7)), None, "a stale record must be gone");
        // A record without an ifindex (older wgq) is never used.
        std::fs::write(a.dir().join("wg1.state"), "table=51820\n").unwrap();
        assert_eq!(a.read("wg1", Some(3)), None);
        // `wgq p2p connect`'s record: apart from up's, checked the same way.
        let p2p = crate::plan::p2p::P2pRecord { hub: Some(crate::key::Key([9; 32])), peers: Vec::new() };
        a.write_p2p("wg0", 7, &p2p).unwrap();
        assert_eq!(b.read_p2p("wg0", Some(7)), None);
        assert_eq!(a.read_p2p("wg0", Some(7)), Some(p2p));
        assert_eq!(a.read("wg0", Some(7)), None, "not up's record");
        assert_eq!(a.read_p2p("wg0", Some(8)), None);
        assert!(!a.dir().join("wg0.p2p").exists(), "a stale record must be gone");
    }

    #[test]
    fn a_held_lock_is_refused_and_a_removed_lock_file_is_not_trusted() {
        let root = tempfile::tempdir().unwrap();
        let a = RunState::at(root.path(), ns(21, 2));
        let held = a.lock("wgz9").unwrap();
        assert!(matches!(a.lock("wgz9"), Err(LockError::Held { .. })));
        let path = a.dir().join("wgz9.lock");
        // Released for an interface that does not exist: the file goes with it.
        drop(held);
        assert!(!path.exists());
        let again = a.lock("wgz9").unwrap();
        assert!(path.exists());
        drop(again);
    }

    #[test]
    fn garbage_of_dead_namespaces_and_old_versions_is_collected() {
        let root = tempfile::tempdir().unwrap();
        let me = RunState::at(root.path(), ns(31, 3));
        // A namespace whose inode no process has: gone.
        let dead = RunState::at(root.path(), ns(32, u64::MAX - 1));
        dead.write("wg0", 5, &UpRecord::default()).unwrap();
        dead.write_p2p("wg0", 5, &Default::default()).unwrap();
        drop(dead.lock("wg0").unwrap());
        // The namespace of this very process: kept.
        let alive = RunState::at(root.path(), Netns { cookie: 33, ..Netns::current().unwrap() });
        alive.write("wg0", 5, &UpRecord::default()).unwrap();
        let held = alive.lock("wg0").unwrap();
        // Files of an older wgq.
        std::fs::write(root.path().join("wg0.state"), "table=51820\n").unwrap();
        std::fs::write(root.path().join("wg0.lock"), "").unwrap();
        // In my namespace: a record of an interface that does not exist (vanished without
        // `down`): kept for `down`, its lock file goes.
        me.write("nonexistent0", 9, &UpRecord { table: Some(51820), ..Default::default() }).unwrap();
        drop(me.lock("nonexistent0").unwrap());
        std::fs::write(me.dir().join("nonexistent0.lock"), "").unwrap();
        // And a `wgq p2p connect` record of one (without a lock file): nothing uses it.
        me.write_p2p("nonexistent1", 9, &Default::default()).unwrap();
        collect_garbage(&me);
        assert!(!me.dir().join("nonexistent1.p2p").exists());
        assert!(!dead.dir().exists(), "the dead namespace's directory stays");
        assert!(alive.dir().join("wg0.state").exists() && alive.dir().join("wg0.lock").exists());
        assert!(!root.path().join("wg0.state").exists() && !root.path().join("wg0.lock").exists());
        assert!(!me.dir().join("nonexistent0.lock").exists());
        assert_eq!(me.orphan("nonexistent0").and_then(|r| r.table), Some(51820), "the record of a vanished interface went");
        assert_eq!(me.read("nonexistent0", None), None);
        assert!(me.dir().join("nonexistent0.state").exists(), "read removed the record of a vanished interface");
        assert_eq!(me.recorded_interfaces(), ["nonexistent0"]);
        drop(held);
    }
}
