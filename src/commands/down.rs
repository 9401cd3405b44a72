//! `wgq down`: the interface removed with what `up` recorded, and with `--kill-switch=off`
//! its kill switch (also when only the switch is left).

use std::path::Path;

use clap::builder::{PossibleValuesParser, TypedValueParser};

use super::session::{Open, Session, reconcile_switches};
use super::{AppError, CONFIG_DIR, io, phase};
use crate::config::locate;
use crate::plan::{self, exec::Executor};
use crate::system::LinuxSystem;
use crate::system::runstate::RunState;

// `wgq down`'s arguments (and clap's definition of them).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct DownArgs {
    /// Print the plan instead of applying it
    #[arg(long)]
    pub dry_run: bool,
    /// --kill-switch=off also removes the interface's kill switch, a strict one included (also when the interface is already gone)
    #[arg(
        long,
        value_name = "off",
        require_equals = true,
        value_parser = PossibleValuesParser::new(["off"]).map(|_| KillSwitchOff)
    )]
    pub kill_switch: Option<KillSwitchOff>,
    /// A file named INTERFACE.conf, or an interface name (its file is /etc/wireguard/INTERFACE.conf)
    #[arg(value_name = "CONFIG_FILE|INTERFACE")]
    pub target: String,
}

/// `--kill-switch=off`, the one value `down` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KillSwitchOff;

impl DownArgs {
    /// `down` of `target` as wg-quick's grammar has it: no flag.
    pub fn plain(target: &str) -> DownArgs {
        DownArgs { dry_run: false, kill_switch: None, target: target.to_string() }
    }
}

/// `wgq down`: removes the interface and what `up` added for it (only what it recorded).
pub(crate) fn run(a: &DownArgs) -> Result<i32, AppError> {
    let (target, dry_run, kill_switch_off) = (a.target.as_str(), a.dry_run, a.kill_switch.is_some());
    let mut t = std::time::Instant::now();
    if let Some(code) = down_without_device(target, dry_run, kill_switch_off)? {
        return Ok(code);
    }
    let mut x = Session::open(target, Open { dry_run, must_be_running: !kill_switch_off, peers: false })?;
    phase("parse", &mut t);
    let present = if kill_switch_off { crate::system::firewall::kill_switches_present(&x.ifname) } else { Vec::new() };
    let mut facts = x.sys.observe_down(&x.cfg, x.recorded())?;
    facts.kill_switch_off = kill_switch_off;
    facts.kill_switch_present = present;
    (facts.other_switches, facts.other_tunnels) = x.sys.observe_neighbours(&x.state, false);
    let plan = plan::plan_down(&x.cfg, &x.ifname, &facts);
    phase("observe", &mut t);
    if x.run(&plan, dry_run, false)? {
        x.state.remove(&x.ifname);
        crate::system::runstate::collect_garbage(&x.state);
        if !facts.other_switches.is_empty() {
            reconcile_switches(&mut x.sys, &x.state);
        }
        if !kill_switch_off {
            kill_switch_stays(&x.ifname);
        }
    }
    phase("apply", &mut t);
    Ok(0)
}

/// After `down`: a kill switch still in place (a strict one, or one whose `up` was killed
/// before it recorded it) keeps rejecting; say so, and how to remove it.
fn kill_switch_stays(ifname: &str) {
    if crate::system::firewall::kill_switch_present(ifname, false).is_some() {
        eprintln!(
            "{}: the kill switch of {ifname} stays in place (nothing but the tunnel may leave); `wgq down --kill-switch=off {ifname}' removes it",
            crate::program_name(),
        );
    }
}

/// `down` where the interface is not there: its device vanished (the userspace daemon
/// crashed, the link was deleted) and its record says what its `up` left, or (with
/// `--kill-switch=off`) only its kill switch is left (a strict one after `down`). Found by
/// the interface's name, so its file may be gone or broken. `None` when the interface
/// exists: `down` proper then (which refuses a link that is no WireGuard one).
fn down_without_device(target: &str, dry_run: bool, kill_switch_off: bool) -> Result<Option<i32>, AppError> {
    let loc = locate::locate_config(target, Path::new(CONFIG_DIR));
    let ifname = match &loc {
        Ok(l) => l.interface.clone(),
        Err(locate::LocateError::Missing(_)) => {
            match if locate::is_interface_name(target) { Some(target.to_string()) } else { locate::interface_from_path(target) } {
                Some(n) => n,
                None => return Ok(None),
            }
        }
        Err(_) => return Ok(None),
    };
    if !kill_switch_off && crate::system::runstate::ifindex(&ifname).is_some() {
        return Ok(None);
    }
    let run = RunState::current().map_err(|e| io("Unable to identify the network namespace", e))?;
    let file = loc.as_ref().ok().map(|l| l.path.as_path());
    let _lock = if dry_run { None } else { Some(run.lock_config(file, &ifname)?) };
    let mut sys = LinuxSystem::new(&ifname, None)?;
    if sys.is_wireguard(&ifname)? || (crate::system::runstate::ifindex(&ifname).is_some() && !kill_switch_off) {
        return Ok(None);
    }
    let recorded = run.orphan(&ifname);
    let present = if kill_switch_off { crate::system::firewall::kill_switches_present(&ifname) } else { Vec::new() };
    if recorded.is_none() && present.is_empty() {
        return Err(loc.map(|_| AppError::NotWireGuard(ifname)).unwrap_or_else(|e| e.into()));
    }
    let mut facts = sys.observe_down_vanished(recorded)?;
    facts.kill_switch_off = kill_switch_off;
    facts.kill_switch_present = present;
    facts.tables_of_others.extend(run.running_others(&ifname).into_iter().filter_map(|(_, r)| r.table));
    (facts.other_switches, facts.other_tunnels) = sys.observe_neighbours(&run, false);
    let plan = plan::plan_down_vanished(&ifname, &facts);
    if let Some(s) = plan::vanished_summary(&ifname, &facts, &plan) {
        eprintln!("{}: {s}", crate::program_name());
    }
    if dry_run {
        print!("{plan}");
        return Ok(Some(0));
    }
    crate::os::signals::install();
    Executor::new(&mut sys, &mut std::io::stderr()).apply_teardown(&plan)?;
    run.remove(&ifname);
    if !facts.other_switches.is_empty() {
        reconcile_switches(&mut sys, &run);
    }
    if !kill_switch_off {
        kill_switch_stays(&ifname);
    }
    Ok(Some(0))
}
