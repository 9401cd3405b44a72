//! What the interface commands (up, down, save, reload) share: the session they open (the
//! parsed file, the interface lock, the system handle) and the phase timer.

use std::path::Path;

use super::{AppError, CONFIG_DIR, io, read_located};
use crate::config::locate;
use crate::config::{self, Config};
use crate::plan::exec::Executor;
use crate::plan::{self, UpRecord};
use crate::system::LinuxSystem;
use crate::system::runstate::RunState;

/// How a command opens its session.
#[derive(Debug, Clone, Copy)]
pub(super) struct Open {
    /// Only print the plan: no lock is taken.
    pub dry_run: bool,
    /// The interface must be a running WireGuard interface (down, save, reload).
    pub must_be_running: bool,
    /// The command uses the peers (up, reload); down and save only use wg-quick's own
    /// keys and, like wg-quick, do not validate the rest.
    pub peers: bool,
}

/// What every interface command starts with: the file's and the interface's locks (not
/// for a dry run; waited for while another process holds them), the file parsed once they
/// are held, the system handle, and (for down/save/reload) the check that the interface
/// is a running WireGuard interface.
pub(super) struct Session {
    pub(super) ifname: String,
    pub(super) cfg: Config,
    pub(super) sys: LinuxSystem,
    /// This namespace's run state (lock and record).
    pub(super) state: RunState,
    /// The file's lock, then the interface's ([`RunState::lock_config`]).
    _lock: Option<crate::system::runstate::ConfigLock>,
}

impl Session {
    pub(super) fn open(target: &str, o: Open) -> Result<Session, AppError> {
        let Open { dry_run, must_be_running, peers } = o;
        let parse = if peers { config::parse_unstripped } else { config::parse_interface_only };
        let loc = locate::locate_config(target, Path::new(CONFIG_DIR))?;
        let ifname = loc.interface.clone();
        let run = RunState::current().map_err(|e| io("Unable to identify the network namespace", e))?;
        // Locked before it is read: an edit in between would otherwise be applied stale.
        let lock = if dry_run { None } else { Some(run.lock_config(Some(&loc.path), &ifname)?) };
        let (loc, cfg) = read_located(loc, parse)?;
        let mut sys = LinuxSystem::new(&ifname, Some((&loc, &cfg)))?;
        if must_be_running && !sys.is_wireguard(&ifname)? {
            return Err(AppError::NotWireGuard(ifname));
        }
        Ok(Session { ifname, cfg, sys, state: run, _lock: lock })
    }

    /// What our `up` recorded for the interface running now under this name, if anything.
    pub(super) fn recorded(&self) -> Option<UpRecord> {
        self.state.read(&self.ifname, crate::system::runstate::ifindex(&self.ifname))
    }

    /// Prints the plan (dry run) or applies it; `transactional` plans are undone on failure.
    pub(super) fn run(&mut self, plan: &plan::Plan, dry_run: bool, transactional: bool) -> Result<bool, AppError> {
        if dry_run {
            print!("{plan}");
            return Ok(false);
        }
        let mut stderr = std::io::stderr();
        let mut ex = Executor::new(&mut self.sys, &mut stderr);
        crate::os::signals::install();
        if transactional {
            ex.apply_all(plan)?;
        } else {
            ex.apply_teardown(plan)?;
        }
        Ok(true)
    }
}

/// [`LinuxSystem::reconcile_switches`], its failure a warning (the plan already changed
/// the switches; this corrects what a command running at the same time planned).
pub(super) fn reconcile_switches(sys: &mut LinuxSystem, state: &RunState) {
    if let Err(e) = sys.reconcile_switches(state) {
        eprintln!("{}: warning: {e}", crate::program_name());
    }
}

/// The name servers of the host's resolv.conf, read before `up` or `reload` registers the
/// file's DNS= (none when the file has no DNS=: resolv.conf then stays the host's own).
pub(super) fn pre_up_resolvers(cfg: &Config) -> Vec<std::net::SocketAddr> {
    if cfg.interface.dns.is_empty() {
        return Vec::new();
    }
    crate::system::resolver::host_nameservers(Path::new(crate::system::resolver::RESOLV_CONF))
}
