//! Where a config file is and which interface it names: wg-quick's rules (reference §1.2),
//! the same for every command and every front-end.

use std::path::{Path, PathBuf};

/// Where a config lives and which interface it names (reference §1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLocation {
    /// The interface name (from the path as given, before resolving symlinks).
    pub interface: String,
    /// The fully resolved path (`readlink -f`); every message and write uses it.
    pub path: PathBuf,
    /// Set when the file and its directory are both world-accessible (wg-quick's rule).
    pub world_accessible: bool,
}

/// Why a config argument could not be used. Messages match wg-quick's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocateError {
    #[error("`{0}' does not exist")]
    Missing(String),
    #[error("The config file must be a valid interface name, followed by .conf")]
    BadName,
}

/// True when `s` is a valid interface name in wg-quick's sense, `^[a-zA-Z0-9_=+.-]{1,15}$`,
/// but never `.` or `..`: the kernel refuses both as link names, and as a name that
/// becomes a path component (`clients/IF/`, a client file) they would leave the directory.
pub fn is_interface_name(s: &str) -> bool {
    (1..=15).contains(&s.len()) && s != "." && s != ".." && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_=+.-".contains(&b))
}

/// Resolves a CONFIG_FILE | INTERFACE argument like wg-quick (reference §1.2), under `etc_dir`
/// (normally `/etc/wireguard`).
pub fn locate_config(arg: &str, etc_dir: &Path) -> Result<ConfigLocation, LocateError> {
    let given: PathBuf = if is_interface_name(arg) { etc_dir.join(format!("{arg}.conf")) } else { PathBuf::from(arg) };
    // `-e` follows symlinks: a dangling link counts as missing.
    if std::fs::metadata(&given).is_err() {
        return Err(LocateError::Missing(given.display().to_string()));
    }
    let name = interface_from_path(&given.to_string_lossy()).ok_or(LocateError::BadName)?;
    let path = std::fs::canonicalize(&given).map_err(|_| LocateError::Missing(given.display().to_string()))?;
    Ok(ConfigLocation { interface: name, world_accessible: world_accessible(&path), path })
}

/// The interface name of `(^|/)([a-zA-Z0-9_=+.-]{1,15})\.conf$`, capture group 2.
pub fn interface_from_path(p: &str) -> Option<String> {
    let stem = p.strip_suffix(".conf")?;
    let base = stem.rsplit('/').next().unwrap_or(stem);
    is_interface_name(base).then(|| base.to_string())
}

/// wg-quick's check: the "other" bits of the file AND those of its directory.
fn world_accessible(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let f = std::fs::metadata(path).map(|m| m.permissions().mode()).unwrap_or(0);
    let d = path.parent().and_then(|p| std::fs::metadata(p).ok()).map(|m| m.permissions().mode()).unwrap_or(0);
    f & d & 0o007 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_from_paths() {
        assert_eq!(interface_from_path("/x/abcdefghijklmno.conf").as_deref(), Some("abcdefghijklmno"));
        assert_eq!(interface_from_path("/x/abcdefghijklmnop.conf"), None);
        assert_eq!(interface_from_path("/x/.conf"), None);
        assert_eq!(interface_from_path("/x/foo.txt"), None);
        assert_eq!(interface_from_path("wg0.conf").as_deref(), Some("wg0"));
        assert_eq!(interface_from_path("./d.conf").as_deref(), Some("d"));
        assert_eq!(interface_from_path("/x/...conf"), None);
        assert_eq!(interface_from_path("/x/..conf"), None);
        assert_eq!(interface_from_path("/x/....conf").as_deref(), Some("..."));
        assert!(!is_interface_name(".") && !is_interface_name("..") && is_interface_name("..."));
    }

    #[test]
    fn locate_rules() {
        let dir = tempfile::tempdir().unwrap();
        // `wg0.conf` is a valid interface name, so it is looked up under the etc dir.
        let e = locate_config("wg0.conf", dir.path()).unwrap_err();
        assert_eq!(e.to_string(), format!("`{}/wg0.conf.conf' does not exist", dir.path().display()));
        std::fs::write(dir.path().join("real.conf"), "").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real.conf"), dir.path().join("lnk0.conf")).unwrap();
        let l = locate_config(&format!("{}/lnk0.conf", dir.path().display()), dir.path()).unwrap();
        assert_eq!(l.interface, "lnk0");
        assert!(l.path.ends_with("real.conf"));
        std::fs::write(dir.path().join("foo.txt"), "").unwrap();
        assert_eq!(locate_config(&format!("{}/foo.txt", dir.path().display()), dir.path()), Err(LocateError::BadName));
        assert!(locate_config("wg9", dir.path()).unwrap_err().to_string().contains("wg9.conf"));
    }
}
