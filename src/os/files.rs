//! Writing a file for the user: atomically and durably, never half-written.

use std::io::Write as _;
use std::path::Path;

/// Random characters in a temporary file's name (tempfile's default).
const TEMP_RANDOM_LEN: usize = 6;

/// Whether `name` is one of [`write_atomic`]'s temporary files for the file named `target`.
fn is_temp_of(name: &str, target: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|n| n.strip_prefix(target))
        .and_then(|n| n.strip_prefix('.'))
        .and_then(|n| n.strip_suffix(".tmp"))
        .is_some_and(|r| r.len() == TEMP_RANDOM_LEN && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Writes `contents` to `path` atomically and durably: a 0600 temporary file in the same
/// directory, fsync, rename over `path`, fsync of the directory. On any failure the
/// temporary file is removed and `path` is untouched; SIGINT/SIGTERM/SIGHUP wait until the
/// write is over. SIGKILL can leave the temporary file (never a partial `path`); the next
/// write removes such leftovers (callers hold the interface's lock, so none is in use).
pub fn write_atomic(path: &Path, contents: impl AsRef<[u8]>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let _hold = crate::os::signals::hold();
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let target = path.file_name().and_then(|n| n.to_str()).unwrap_or("wgq");
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{target}."))
        .suffix(".tmp")
        .rand_bytes(TEMP_RANDOM_LEN)
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)?;
    tmp.write_all(contents.as_ref())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()?;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_str().is_some_and(|n| is_temp_of(n, target)) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(())
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
    fn leftovers_of_a_killed_write_are_removed_and_nothing_else() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("wg0.conf");
        let keep = [".wg0.conf.swp", ".wg0.conf.ab.tmp", ".wg1.conf.Ab3dE9.tmp", "wg0.conf.Ab3dE9.tmp", ".wg0.conf.Ab-dE9.tmp"];
        for n in keep.iter().chain([".wg0.conf.Ab3dE9.tmp", ".wg0.conf.zzzzzz.tmp"].iter()) {
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
}
