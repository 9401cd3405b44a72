//! `list` (the peers of one server file or of every one, with the device's live state) and
//! `show` (a client's stored file).

use super::{ProvisionError, Server, Target, read_server};
use crate::config::peers::{self, PeerEntry};
use crate::device::{DeviceState, PeerState};
use crate::key::KeyMap;

/// The server files `list` and `expire` look at: the one named, or (with `all`) every
/// `*.conf` of the target's config directory. Symbolic links are followed: a link to a file
/// is that file; a link to a directory is skipped, as a directory is; a dangling link is
/// skipped with a warning (nothing to list or expire, but the admin should know).
pub fn targets(target: &Target, all: bool) -> Result<Vec<Server>, ProvisionError> {
    if !all {
        return Ok(vec![target.locate()?]);
    }
    let dir = target.dir();
    let mut v = Vec::new();
    let rd = std::fs::read_dir(&dir).map_err(|e| ProvisionError::Read { path: dir.clone(), source: e })?;
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(ifname) = crate::config::locate::interface_from_path(&name) else { continue };
        match std::fs::metadata(e.path()) {
            Ok(m) if m.is_file() => v.push(Target { interface: ifname, config_dir: Some(dir.clone()) }.server()?),
            Ok(_) => {}
            Err(err) => {
                if e.file_type().is_ok_and(|t| t.is_symlink()) {
                    eprintln!("{}: {}: skipped: {err}", crate::program_name(), e.path().display());
                }
            }
        }
    }
    v.sort_by(|a, b| a.ifname.cmp(&b.ifname));
    Ok(v)
}

/// One server file's peers with their live state.
#[derive(Debug, Clone)]
pub struct Listed {
    pub ifname: String,
    /// The interface runs (its device was read).
    pub running: bool,
    pub rows: Vec<ListRow>,
}

/// One peer: what its block says, and what the device says of it (when it runs and has it).
#[derive(Debug, Clone)]
pub struct ListRow {
    pub entry: PeerEntry,
    pub live: Option<PeerState>,
}

/// The peers of the target's server file, or (with `all`) of every server file of its
/// directory that has peers (unreadable ones skipped).
pub fn list(target: &Target, all: bool) -> Result<Vec<Listed>, ProvisionError> {
    let mut out = Vec::new();
    for server in targets(target, all)? {
        let ifname = server.ifname.clone();
        // The device is read (and indexed by key) while the file is parsed.
        let (file, dev) = std::thread::scope(|s| {
            let h = s.spawn(|| {
                if !crate::device::valid_name(&ifname) {
                    return None;
                }
                let d: DeviceState = crate::device::Devices::default().get_summary(&ifname).ok()?;
                let index: KeyMap<usize> = d.peers.iter().enumerate().map(|(i, p)| (p.public_key, i)).collect();
                Some((d, index))
            });
            let c = std::fs::read(&server.path).map(|mut b| {
                let e = peers::list_entries(&b);
                // The text holds the private key.
                crate::key::wipe(&mut b);
                e
            });
            (c, h.join().ok().flatten())
        });
        let entries = match file {
            Ok(c) => c,
            Err(e) if !all => return Err(ProvisionError::Read { path: server.path.clone(), source: e }),
            Err(_) => continue,
        };
        if all && entries.is_empty() {
            continue;
        }
        let rows = entries
            .into_iter()
            .map(|entry| {
                let live =
                    dev.as_ref().and_then(|(d, index)| entry.public_key.and_then(|k| index.get(&k)).map(|&i| d.peers[i].clone()));
                ListRow { entry, live }
            })
            .collect();
        out.push(Listed { ifname, running: dev.is_some(), rows });
    }
    Ok(out)
}

/// The stored client file of the peer `name` (or whose public key is `name`), as it is on
/// disk (a hand-edited one too: the caller escapes it for a terminal).
pub fn show(server: Server, name: &str) -> Result<Vec<u8>, ProvisionError> {
    let c = read_server(server)?;
    let p = c.find(name)?;
    let pname = p.name.clone().unwrap_or_else(|| name.to_string());
    c.client_file(&pname).ok_or_else(|| ProvisionError::NoClientFile { name: pname, dir: c.server.clients.clone() })
}
