//! `wgq reload`: the running interface brought to its file in place, transactionally; peers
//! that do not change keep their sessions.

use super::session::{Open, Session, pre_up_resolvers, reconcile_switches};
use super::{AppError, phase};
use crate::plan;

// `wgq reload`'s arguments (and clap's definition of them).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ReloadArgs {
    /// Print the plan instead of applying it
    #[arg(long)]
    pub dry_run: bool,
    /// A file named INTERFACE.conf, or an interface name (its file is /etc/wireguard/INTERFACE.conf)
    #[arg(value_name = "CONFIG_FILE|INTERFACE")]
    pub target: String,
}

/// `wgq reload`: brings the running interface to its file without recreating it.
pub(crate) fn run(a: &ReloadArgs) -> Result<i32, AppError> {
    let dry_run = a.dry_run;
    let mut t = std::time::Instant::now();
    let mut x = Session::open(&a.target, Open { dry_run, must_be_running: true, peers: true })?;
    phase("parse", &mut t);
    let recorded = x.recorded();
    // Peers `wgq p2p connect` added at run time stay (and what they took from the hub's
    // peer is counted as the hub's): the file is compared with the device without them.
    let facts = x.sys.observe_reload_with(&x.cfg, recorded.clone(), &x.state)?;
    phase("observe", &mut t);
    let plan = plan::plan_reload(&x.cfg, &x.ifname, &facts)?;
    phase("plan", &mut t);
    // Nothing to change: nothing is sent, nothing rewritten.
    if plan.ops.is_empty() {
        return Ok(0);
    }
    // A reload that registers DNS for the first time: the host's servers before it.
    let had_dns = recorded.as_ref().is_some_and(|r| r.dns_input.is_some());
    let adds_dns = !had_dns
        && plan.ops.iter().any(|op| {
            matches!(
                op,
                plan::Op::UpdateDns { input: Some(_), .. }
                    | plan::Op::Resolved { call: crate::plan::dns::ResolvedCall::Servers(_), .. }
            )
        });
    let resolvers = if adds_dns { pre_up_resolvers(&x.cfg) } else { Vec::new() };
    let applied = x.run(&plan, dry_run, true)?;
    phase("apply", &mut t);
    if applied {
        // What wgq owns now: the record with the reload's changes. An interface wg-quick
        // brought up keeps having none (what it owns is inferred each time, as down does).
        if let (Some(r), Some(index)) = (recorded, crate::system::runstate::ifindex(&x.ifname)) {
            let mut after = r.after_reload(&plan);
            if after.resolvers.is_empty() {
                after.resolvers = resolvers;
            }
            let _ = x.state.write(&x.ifname, index, &after);
        }
        if !facts.up.other_switches.is_empty() {
            reconcile_switches(&mut x.sys, &x.state);
        }
    }
    Ok(0)
}
