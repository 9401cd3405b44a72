//! `wgq container`: the image's default command, for both ways WireGuard runs in containers.
//! With wg-easy 14's variables (`WG_HOST` set) a server `wg0` in `WG_PATH`: created on first
//! start (or imported from wg-easy 15's `wg-easy.db` or wg-easy 14's `wg0.json`), its port,
//! hooks and client defaults set from the variables at every start. Without `WG_HOST`, a
//! wg-easy 15 volume (`wg-easy.db` in `WG_PATH`) is imported with its own settings. Then
//! linuxserver/wireguard's files, `/config/*.conf` and `/config/wg_confs/*.conf`. All of them
//! run as `wgq run` runs them, with the web page for `wg0` (as `wgq run --web` serves it)
//! when a wg-easy server is there.

use std::path::{Path, PathBuf};

use super::AppError;
use crate::provision::wgeasy::{IFNAME, WgEasy};
use crate::provision::{self, EditOpts, Host, Nat, migrate15};

/// linuxserver/wireguard's configuration directory.
pub const CONFIG_ROOT: &str = "/config";

/// The web page's state directory in `WG_PATH` (the volume), unless `WGQ_WEB_STATE_DIR`
/// names another.
pub const WEB_STATE: &str = "wgq-web";

/// `wgq container`'s arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerArgs {
    /// Where linuxserver-style files are looked for (`/config`).
    pub config_root: PathBuf,
    /// `--kill-switch…` from `WGQ_UP_FLAGS`.
    pub kill_switch: Option<crate::plan::KillSwitch>,
}

/// The files of linuxserver's layout: `ROOT/*.conf`, then `ROOT/wg_confs/*.conf`, each sorted,
/// regular files named as interfaces only.
pub fn linuxserver_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in [root.to_path_buf(), root.join("wg_confs")] {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut v: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".conf"))
                    .is_some_and(crate::config::locate::is_interface_name)
            })
            .collect();
        v.sort();
        out.extend(v);
    }
    out
}

fn say(msg: &str) {
    eprintln!("{}: {msg}", crate::program_name());
}

/// The NAT tool of the default hooks: nft where installed, else iptables.
fn nat_tool() -> Nat {
    if which::which("nft").is_ok() || which::which("iptables").is_err() { Nat::Nft } else { Nat::Iptables }
}

/// wg-easy's server: created, migrated or brought to the variables; its file's path.
pub fn prepare_wg_easy(w: &WgEasy) -> Result<PathBuf, AppError> {
    let path = w.path();
    let host = Host::current()?;
    let json = w.dir.join(format!("{IFNAME}.json"));
    let aside = w.dir.join(format!("{IFNAME}.conf.wg-easy"));
    // Imported once: wg-easy's own wg0.conf is then aside, and the file is wgq's (again when
    // the import was cut short). wg-easy 15's database first: a volume that went from 14 to
    // 15 still has the older wg0.json.
    let import = provision::migrate::import_mark(&w.dir).exists() || (!aside.exists() && !made_by_wgq(&path));
    if w.dir.join(migrate15::DB_FILE).exists() && import {
        import15(&host, &w.dir, Some(&w.endpoint))?;
    } else if json.exists() && import {
        provision::migrate::migrate_wg_easy(&host, w, &json, &aside, &mut std::io::stderr())?;
        say(&format!(
            "imported wg-easy's {} into {} (wg-easy's own file is now {})",
            json.display(),
            path.display(),
            aside.display()
        ));
    } else if !path.exists() {
        let texts = w.init_texts();
        let made = provision::init(&texts.request(w, None))?.write(&mut std::io::stderr())?;
        say(&format!("created {} (clients reach it at {})", made.path.display(), made.endpoint));
    }
    let server = provision::Target { interface: IFNAME.into(), config_dir: Some(w.dir.clone()) }.locate()?;
    if let provision::Edited::Done { .. } = provision::configure(&host, server, &EditOpts::default(), &w.settings(nat_tool()))? {
        say(&format!("{}: ListenPort, hooks and client defaults set from the environment", path.display()));
    }
    Ok(path)
}

/// Imports wg-easy 15's database in `dir` (`endpoint`: `WG_HOST`'s, else the database's).
fn import15(host: &Host, dir: &Path, endpoint: Option<&crate::config::Endpoint>) -> Result<(), AppError> {
    let db = dir.join(migrate15::DB_FILE);
    let aside = dir.join(format!("{IFNAME}.conf.wg-easy"));
    let env = migrate15::Env::from_env(|k| std::env::var(k).ok());
    let d = migrate15::migrate_wg_easy15(host, dir, &db, endpoint, &env, &aside, &mut std::io::stderr())?;
    say(&format!(
        "imported wg-easy's {} ({} clients) into {} (wg-easy's own file is now {}; its users are not imported: set PASSWORD_HASH)",
        db.display(),
        d.clients.len(),
        dir.join(format!("{IFNAME}.conf")).display(),
        aside.display()
    ));
    Ok(())
}

/// A wg-easy 15 volume without wg-easy 14's variables (`WG_HOST` unset): `dir` (`WG_PATH`,
/// default /etc/wireguard) holds `wg-easy.db`. Imported on first start with the database's
/// settings; later starts run the server file as it is (the database is not read again).
/// `None` when there is no such database.
pub fn prepare_wg_easy15(dir: &Path) -> Result<Option<PathBuf>, AppError> {
    let path = dir.join(format!("{IFNAME}.conf"));
    if !dir.join(migrate15::DB_FILE).exists() {
        return Ok(None);
    }
    let cut_short = provision::migrate::import_mark(dir).exists();
    if cut_short || (!dir.join(format!("{IFNAME}.conf.wg-easy")).exists() && !made_by_wgq(&path)) {
        import15(&Host::current()?, dir, None)?;
    }
    Ok(Some(path))
}

/// Whether the file at `path` is a server file `wgq server init` (or this command) made.
fn made_by_wgq(path: &Path) -> bool {
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path).and_then(|mut f| std::io::Read::read(&mut f, &mut head)).unwrap_or(0);
    head[..n].starts_with(b"# wgq server ")
}

/// Forwarding for a server: on, turned on, or (read-only /proc/sys, as containers have it)
/// a warning naming the runtime's option. Never fails.
pub fn check_forwarding() {
    let f = "/proc/sys/net/ipv4/ip_forward";
    match std::fs::read_to_string(f) {
        Ok(v) if v.trim() == "1" => {}
        Ok(_) => {
            if std::fs::write(f, "1").is_ok() {
                say("[#] sysctl -w net.ipv4.ip_forward=1");
            } else {
                say("warning: IP forwarding is off and /proc/sys is read-only: clients reach this container only; \
                     start it with --sysctl net.ipv4.ip_forward=1 (compose: sysctls)");
            }
        }
        Err(e) => say(&format!("warning: unable to read {f}: {e}")),
    }
}

/// wg-easy's variables (`WG_*`) are read as text, and one that is not UTF-8 would read as
/// unset: its default taken, written into the server file at every start (a `WG_POST_UP`
/// replaced by the default hooks, a `WG_DEFAULT_DNS` by wg-easy's public resolver). An error
/// names it instead, before anything is done.
fn wg_vars_utf8() -> Result<(), AppError> {
    for (k, v) in std::env::vars_os() {
        if k.to_str().is_some_and(|k| k.starts_with("WG_")) && v.to_str().is_none() {
            return Err(AppError::Other(format!("{}: not UTF-8 (it is not taken as unset)", k.to_string_lossy())));
        }
    }
    Ok(())
}

/// `wgq container`: see the module's text.
pub fn container(a: &ContainerArgs) -> Result<i32, AppError> {
    wg_vars_utf8()?;
    // Before any tunnel changes the routes: the neighbours learn this start's MAC address.
    for (ifname, addr) in crate::os::announce::announce_ipv4() {
        say(&format!("{ifname}: {addr} announced (a broadcast ARP request: neighbours take this start's MAC address)"));
    }
    let mut targets = Vec::new();
    let mut web = None;
    if let Some(w) = WgEasy::from_env(|k| std::env::var(k).ok())? {
        targets.push(prepare_wg_easy(&w)?);
        check_forwarding();
        // The page, as wg-easy serves it; its state on the volume, so that it outlives the
        // container.
        web = Some(w.dir.join(WEB_STATE));
    } else {
        let dir = std::env::var("WG_PATH").ok().filter(|p| !p.trim().is_empty());
        let dir = dir.map_or_else(|| PathBuf::from(provision::CONFIG_DIR), |p| PathBuf::from(p.trim()));
        if let Some(p) = prepare_wg_easy15(&dir)? {
            targets.push(p);
            check_forwarding();
            web = Some(dir.join(WEB_STATE));
        }
    }
    targets.extend(linuxserver_files(&a.config_root));
    if targets.is_empty() {
        return Err(AppError::Other(format!(
            "nothing to run: set WG_HOST (a wg-easy server), put wg-easy 15's wg-easy.db in WG_PATH, or put files in {root} or {root}/wg_confs",
            root = a.config_root.display()
        )));
    }
    let targets = targets.into_iter().map(|p| p.display().to_string()).collect();
    super::run::run(&super::run::RunArgs { targets, kill_switch: a.kill_switch, web })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linuxserver_files_in_their_order() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir(root.join("wg_confs")).unwrap();
        for f in ["wg1.conf", "wg0.conf", "notes.txt", "bad name.conf", "wg_confs/b.conf", "wg_confs/a.conf"] {
            std::fs::write(root.join(f), "").unwrap();
        }
        std::fs::create_dir(root.join("dir.conf")).unwrap();
        let got: Vec<String> =
            linuxserver_files(root).iter().map(|p| p.strip_prefix(root).unwrap().display().to_string()).collect();
        assert_eq!(got, ["wg0.conf", "wg1.conf", "wg_confs/a.conf", "wg_confs/b.conf"]);
        assert!(linuxserver_files(&root.join("missing")).is_empty());
    }
}
