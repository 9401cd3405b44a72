//! `wgq save`: the running interface written back to its file (wg-quick's layout, mode 0600).

use super::session::{Open, Session};
use super::{AppError, TargetArgs};

// `wgq save`'s arguments (and clap's definition of them).
pub type SaveArgs = TargetArgs;

/// `wgq save`: writes the running configuration back to the interface's file.
pub(crate) fn run(a: &SaveArgs) -> Result<i32, AppError> {
    let mut x = Session::open(&a.target, Open { dry_run: false, must_be_running: true, peers: false })?;
    eprintln!("[#] wg showconf {}", x.ifname);
    let ifname = x.ifname.clone();
    x.sys.save(&ifname)?;
    Ok(0)
}
