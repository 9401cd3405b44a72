//! Writing a file for the user: atomically and durably, never half-written.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// Random characters in a temporary file's name (after the writer's pid).
const TEMP_RANDOM_LEN: usize = 6;

/// How many symbolic links a path may go through (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// The file `path` leads to: `path` itself, or the target of the symbolic link(s) it is
/// (followed link by link, a relative target read from the link's directory). The last
/// path is returned even when nothing exists there (a new file, or a dangling link's
/// target); more links than the kernel follows (a loop) is `ELOOP`.
pub fn resolve_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let t = std::fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if t.is_relative() => dir.join(t),
                    _ => t,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(std::io::Error::from_raw_os_error(libc::ELOOP))
}

/// Whether `name` is one of [`write_atomic`]'s temporary files for the file named `target`:
/// `.TARGET.PID-RANDOM.tmp`.
fn is_temp_of(name: &str, target: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|n| n.strip_prefix(target))
        .and_then(|n| n.strip_prefix('.'))
        .and_then(|n| n.strip_suffix(".tmp"))
        .and_then(|n| n.split_once('-'))
        .is_some_and(|(pid, r)| {
            !pid.is_empty()
                && pid.bytes().all(|b| b.is_ascii_digit())
                && r.len() == TEMP_RANDOM_LEN
                && r.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// Writes `contents` to `path` atomically and durably. A symbolic link is followed: its
/// target is replaced and the link stays (the file is where the admin put it). A 0600
/// temporary file `.NAME.PID-RANDOM.tmp` in the target's directory, locked (`flock`) by
/// its writer while it exists, fsync, rename over the target, fsync of the directory. On
/// any failure the temporary file is removed and the target is untouched;
/// SIGINT/SIGTERM/SIGHUP wait until the write is over. SIGKILL can leave the temporary file
/// (never a partial target): a later write removes such a leftover once it can lock it,
/// that is once its writer is gone, in whatever namespace or container it ran; a file
/// another writer still holds is never touched.
pub fn write_atomic(path: &Path, contents: impl AsRef<[u8]>) -> std::io::Result<()> {
    let _hold = crate::os::signals::hold();
    let path = resolve_links(path)?;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let target = path.file_name().and_then(|n| n.to_str()).unwrap_or("wgq");
    let mut tmp = locked_temp(dir, target)?;
    tmp.write_all(contents.as_ref())?;
    tmp.as_file().sync_all()?;
    tmp.persist(&path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()?;
    remove_leftovers(dir, &[target].into());
    Ok(())
}

/// [`write_atomic`] of many files at once (a restore's client files), in groups of
/// [`BATCH`] (each temporary file stays open and locked until its rename): every temporary
/// file of a group written, one `syncfs` per file system instead of an fsync per file, then
/// the renames; at the end one fsync per directory and one look for leftovers per
/// directory. Each file is replaced whole or not at all; on a failure, `Err((n, error))`:
/// the first `n` files were replaced (the caller puts them back), the others are untouched.
pub fn write_atomic_all(files: &[(&Path, &[u8])]) -> Result<(), (usize, std::io::Error)> {
    let _hold = crate::os::signals::hold();
    let mut targets: Vec<(PathBuf, String)> = Vec::with_capacity(files.len());
    for group in files.chunks(BATCH) {
        let done = targets.len();
        let mut tmps = Vec::with_capacity(group.len());
        for (path, contents) in group {
            let written = (|| {
                let path = resolve_links(path)?;
                let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
                let target = path.file_name().and_then(|n| n.to_str()).unwrap_or("wgq").to_string();
                let mut tmp = locked_temp(&dir, &target)?;
                tmp.write_all(contents)?;
                Ok::<_, std::io::Error>((tmp, path, dir, target))
            })();
            tmps.push(written.map_err(|e| (done, e))?);
        }
        let mut synced = std::collections::HashSet::new();
        for (tmp, ..) in &tmps {
            use std::os::unix::fs::MetadataExt as _;
            let dev = tmp.as_file().metadata().map_err(|e| (done, e))?.dev();
            // SAFETY: syncfs on a file descriptor that stays open during the call.
            if synced.insert(dev) && unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(tmp.as_file())) } != 0 {
                return Err((done, std::io::Error::last_os_error()));
            }
        }
        for (tmp, path, dir, target) in tmps {
            tmp.persist(&path).map_err(|e| (targets.len(), e.error))?;
            targets.push((dir, target));
        }
    }
    let mut dirs: Vec<&PathBuf> = targets.iter().map(|(d, _)| d).collect();
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        std::fs::File::open(d).and_then(|f| f.sync_all()).map_err(|e| (files.len(), e))?;
        let names: std::collections::HashSet<&str> =
            targets.iter().filter(|(td, _)| td == d).map(|(_, t)| t.as_str()).collect();
        remove_leftovers(d, &names);
    }
    Ok(())
}

/// How many temporary files [`write_atomic_all`] holds open at once.
const BATCH: usize = 256;

/// A 0600 temporary file for `target` in `dir`, locked by this writer (see [`write_atomic`]).
fn locked_temp(dir: &Path, target: &str) -> std::io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    let mut attempts = 0;
    let tmp = loop {
        attempts += 1;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{target}.{}-", std::process::id()))
            .suffix(".tmp")
            .rand_bytes(TEMP_RANDOM_LEN)
            .permissions(std::fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)?;
        // Between its creation and this lock, another writer's clean-up may have taken the
        // file for a leftover and removed it: then take another. A file system without
        // locks: unlocked (and then never taken for a leftover, since no lock proves its
        // writer gone).
        match crate::os::lock::flock_now(tmp.as_file()) {
            Ok(true) if same_file(tmp.as_file(), tmp.path()) => break tmp,
            Err(_) => break tmp,
            _ if attempts >= 100 => {
                return Err(std::io::Error::new(std::io::ErrorKind::WouldBlock, "no temporary file could be locked"));
            }
            _ => {}
        }
    };
    Ok(tmp)
}

/// Removes the temporary files of writes of the `targets` whose writer is gone (their lock
/// can be taken).
fn remove_leftovers(dir: &Path, targets: &std::collections::HashSet<&str>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        // `.TARGET.PID-RANDOM.tmp`: its target read from the name, then looked up.
        let ours = e.file_name().to_str().is_some_and(|n| {
            n.strip_prefix('.')
                .and_then(|r| r.strip_suffix(".tmp"))
                .and_then(|r| r.rsplit_once('.'))
                .is_some_and(|(t, _)| is_temp_of(n, t) && targets.contains(&t))
        });
        if !ours {
            continue;
        }
        let p = e.path();
        // Only regular files: a FIFO (or a device) of that name would block open(2) for
        // ever, with the file's lock held; another kind is not ours to remove.
        if !std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_file()) {
            continue;
        }
        // Non-blocking and not followed: replaced by a FIFO or a link since the check, the
        // open still returns at once (or fails), and the type is checked again on the fd.
        let Ok(f) = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(&p)
        else {
            continue;
        };
        if !f.metadata().is_ok_and(|m| m.file_type().is_file()) {
            continue;
        }
        // Locked and still the file at that name: nobody writes it.
        if crate::os::lock::try_flock(&f) && same_file(&f, &p) {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// Removes the file `path` leads to and, when `path` is a symbolic link, the link too.
pub fn remove_followed(path: &Path) -> std::io::Result<()> {
    let target = resolve_links(path)?;
    let r = std::fs::remove_file(&target);
    if target != path {
        let _ = std::fs::remove_file(path);
    }
    r
}

/// Whether `file` is the file now at `path` (same device and inode; a link not followed).
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_is_0600_and_leaves_no_temp() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("wg0.conf");
        std::fs::write(&p, "old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&p, "new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn many_files_are_written_whole_or_not_at_all() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        // More than one group, and more than a process may keep open by default (1024).
        let n = 3 * BATCH + 500;
        let paths: Vec<PathBuf> = (0..n).map(|i| d.path().join(format!("c{i}.conf"))).collect();
        std::fs::write(&paths[7], "old").unwrap();
        let texts: Vec<String> = (0..n).map(|i| format!("file {i}\n")).collect();
        let files: Vec<(&Path, &[u8])> = paths.iter().zip(&texts).map(|(p, t)| (p.as_path(), t.as_bytes())).collect();
        write_atomic_all(&files).unwrap();
        for (p, t) in paths.iter().zip(&texts) {
            assert_eq!(&std::fs::read_to_string(p).unwrap(), t);
            assert_eq!(std::fs::metadata(p).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), n, "no temporary file left");
        // A file that cannot be written (its directory is missing) in the second group: the
        // first group is replaced and said so, nothing of the second is.
        let bad = d.path().join("missing").join("x.conf");
        let mut files2: Vec<(&Path, &[u8])> = paths[..BATCH + 3].iter().map(|p| (p.as_path(), b"again".as_slice())).collect();
        files2.push((bad.as_path(), b"x"));
        let (done, _) = write_atomic_all(&files2).unwrap_err();
        assert_eq!(done, BATCH);
        assert_eq!(std::fs::read_to_string(&paths[0]).unwrap(), "again");
        assert_eq!(std::fs::read_to_string(&paths[BATCH]).unwrap(), texts[BATCH]);
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), n, "no temporary file left");
    }

    #[test]
    fn leftovers_of_a_killed_write_are_removed_and_nothing_else() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("wg0.conf");
        let keep = [
            ".wg0.conf.swp",
            ".wg0.conf.ab.tmp",
            ".wg1.conf.1-Ab3dE9.tmp",
            "wg0.conf.1-Ab3dE9.tmp",
            ".wg0.conf.1-Ab-dE9.tmp",
            ".wg0.conf.x1-Ab3dE9.tmp",
            ".wg0.conf.lock",
        ];
        for n in keep.iter().chain([".wg0.conf.77-Ab3dE9.tmp", ".wg0.conf.123456-zzzzzz.tmp"].iter()) {
            std::fs::write(d.path().join(n), "x").unwrap();
        }
        write_atomic(&p, "new\n").unwrap();
        let mut left: Vec<String> =
            std::fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        let mut want: Vec<String> = keep.iter().map(|s| s.to_string()).chain(["wg0.conf".to_string()]).collect();
        want.sort();
        assert_eq!(left, want);
    }

    /// Issue 22: a writer removed the temporary file of another writer still at work
    /// (same file, another process, namespace or container), whose rename then failed.
    #[test]
    fn a_temporary_file_of_a_writer_at_work_is_never_removed() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("wg0.conf");
        // Another writer's file, in the name format of today and in that of wgq before,
        // still open and locked by its writer.
        let theirs = [".wg0.conf.4242-Ab3dE9.tmp", ".wg0.conf.Zx81Qa.tmp"];
        let _held: Vec<std::fs::File> = theirs
            .iter()
            .map(|n| {
                std::fs::write(d.path().join(n), "half").unwrap();
                let f = std::fs::File::open(d.path().join(n)).unwrap();
                assert!(crate::os::lock::try_flock(&f));
                f
            })
            .collect();
        write_atomic(&p, "new\n").unwrap();
        for n in theirs {
            assert!(d.path().join(n).exists(), "{n} of a writer at work was removed");
        }
        // Many writers of one file at once (each thread its own descriptors): every
        // rename finds its temporary file.
        let threads: Vec<_> = (0..6)
            .map(|t| {
                let p = p.clone();
                std::thread::spawn(move || {
                    for i in 0..150 {
                        write_atomic(&p, format!("{t} {i}\n")).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }

    #[test]
    fn a_symbolic_link_is_followed_and_stays() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let store = d.path().join("store");
        std::fs::create_dir(&store).unwrap();
        std::fs::write(store.join("server.conf"), "old").unwrap();
        // A chain: wg0.conf -> link2 -> store/server.conf (relative targets).
        std::os::unix::fs::symlink("store/server.conf", d.path().join("link2")).unwrap();
        std::os::unix::fs::symlink("link2", d.path().join("wg0.conf")).unwrap();
        let p = d.path().join("wg0.conf");
        write_atomic(&p, "new\n").unwrap();
        assert!(std::fs::symlink_metadata(&p).unwrap().file_type().is_symlink());
        assert!(std::fs::symlink_metadata(d.path().join("link2")).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(store.join("server.conf")).unwrap(), "new\n");
        assert_eq!(std::fs::metadata(store.join("server.conf")).unwrap().permissions().mode() & 0o777, 0o600);
        // The temporary file was made beside the target, and is gone.
        assert_eq!(std::fs::read_dir(&store).unwrap().count(), 1);
        // A dangling link: its target is made.
        std::os::unix::fs::symlink("store/new.conf", d.path().join("wg1.conf")).unwrap();
        write_atomic(&d.path().join("wg1.conf"), "x\n").unwrap();
        assert_eq!(std::fs::read_to_string(store.join("new.conf")).unwrap(), "x\n");
        // Removing follows too: target and link go.
        remove_followed(&d.path().join("wg1.conf")).unwrap();
        assert!(!store.join("new.conf").exists() && std::fs::symlink_metadata(d.path().join("wg1.conf")).is_err());
        // A loop ends (an error, no hang).
        std::os::unix::fs::symlink("loop2", d.path().join("loop1")).unwrap();
        std::os::unix::fs::symlink("loop1", d.path().join("loop2")).unwrap();
        assert!(write_atomic(&d.path().join("loop1"), "x").is_err());
    }
}
