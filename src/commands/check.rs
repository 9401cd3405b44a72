//! `wgq check` and `wgq strip`: the file alone, read and parsed, nothing on the system
//! changed.

use std::path::Path;

use super::{AppError, CONFIG_DIR, TargetArgs, load, write_out};
use crate::config;
use crate::config::locate::{self, ConfigLocation};

// `wgq check`'s arguments (and clap's definition of them).
pub type CheckArgs = TargetArgs;

// `wgq strip`'s arguments (and clap's definition of them).
pub type StripArgs = TargetArgs;

/// `wgq strip`: the file without wg-quick's keys, as wg(8) reads it.
pub(crate) fn strip(a: &StripArgs) -> Result<i32, AppError> {
    let (_, cfg) = load(&a.target)?;
    let mut out = std::io::stdout().lock();
    write_out(&mut out, &cfg.stripped.0)?;
    write_out(&mut out, b"\n")?;
    Ok(0)
}

/// `wgq check`: every error and warning of the file, nothing changed; status 1 with errors.
pub(crate) fn check(a: &CheckArgs) -> Result<i32, AppError> {
    let target = a.target.as_str();
    let loc = match locate::locate_config(target, Path::new(CONFIG_DIR)) {
        Ok(l) => l,
        // `check` also reads files that up/down would refuse by name, and says so.
        Err(locate::LocateError::BadName) => {
            let path = std::fs::canonicalize(target).map_err(|e| AppError::Read { path: target.into(), source: e })?;
            eprintln!("{}: warning: up and down refuse this file name: {}", path.display(), locate::LocateError::BadName);
            ConfigLocation { interface: String::new(), path, world_accessible: false }
        }
        Err(e) => return Err(e.into()),
    };
    let mut bytes = std::fs::read(&loc.path).map_err(|e| AppError::Read { path: loc.path.display().to_string(), source: e })?;
    let parsed = config::parse(&bytes, &loc.path);
    crate::key::wipe(&mut bytes);
    match parsed {
        Err(errs) => {
            for d in &errs.0 {
                eprintln!("{d}");
            }
            eprintln!("{}: {} error(s)", loc.path.display(), errs.0.len());
            Ok(1)
        }
        Ok(cfg) => {
            let mut facts = config::check::FileFacts::from_path(&loc.path, &loc.interface);
            facts.host = crate::system::host_addresses(&loc.interface);
            let mut all = cfg.warnings.clone();
            all.extend(config::check::check(&cfg, &facts));
            all.sort_by_key(|d| d.line);
            for d in &all {
                eprintln!("{d}");
            }
            eprintln!("{}: OK, {} warning(s)", loc.path.display(), all.len());
            Ok(0)
        }
    }
}
