//! `wgq reresolve [--stale-after SECS] [--dry-run] CONFIG_FILE|IF`: endpoints that follow
//! dynamic DNS. The file's host-name peers that exist on the device and are stale are
//! looked up again (bounded, outside a full tunnel), and each one whose address changed
//! gets one update-only device update carrying its endpoint alone. A failed lookup is
//! reported with its file:line and never stops the others; the status is 1 if any failed.
//! Works for interfaces wg-quick brought up too (no wgq record: the host's resolv.conf).

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use crate::plan::exec::Executor;
use crate::plan::reresolve::{self as rr, Candidate};
use crate::system::LinuxSystem;
use crate::system::resolver::{LookupError, Resolver};
use crate::system::runstate::RunState;

use super::{AppError, io};

// `wgq reresolve`'s arguments (and clap's definition of them).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ReresolveArgs {
    /// A peer is stale without a handshake for this long (or never)
    #[arg(long, value_name = "SECS", default_value_t = crate::plan::reresolve::DEFAULT_STALE_AFTER)]
    pub stale_after: u64,
    /// Print the endpoint changes instead of making them
    #[arg(long)]
    pub dry_run: bool,
    /// A file named INTERFACE.conf, or an interface name (its file is /etc/wireguard/INTERFACE.conf)
    #[arg(value_name = "CONFIG_FILE|INTERFACE")]
    pub target: String,
}

pub(crate) fn reresolve(a: &ReresolveArgs) -> Result<i32, AppError> {
    let r = super::load_with(&a.target, crate::config::parse_unstripped).and_then(|(loc, cfg)| reresolve_config(a, loc, cfg));
    if !a.dry_run {
        tidy_switches();
    }
    r
}

/// After a round (this command's, as `wgq-reresolve@.timer` runs it, and `wgq run`'s):
/// every kill switch of the namespace lets out exactly the wgq tunnels running. A tunnel
/// that vanished without `down` (its userspace daemon crashed) was let out until the next
/// `up`, `reload` or `down`, its listen port open to any program that took it.
pub(crate) fn tidy_switches() {
    let Ok(state) = RunState::current() else { return };
    // Listed anew: `wgq run` lives long, and another process may have changed the firewall.
    crate::system::firewall::forget_nft_tables();
    // Cheaply first (nft's tables over netlink, the records): no `iptables-save` every 30 s
    // on a host whose filter table is Docker's, without any switch.
    let table = format!("table inet {}", crate::plan::firewall::kill_switch_table(""));
    let in_nft = crate::system::firewall::nft_tables().is_some_and(|t| t.contains(&table));
    let in_iptables =
        || state.running_others("").iter().any(|(_, r)| matches!(r.kill_switch, Some((_, crate::plan::FirewallKind::Iptables))));
    if !in_nft && !in_iptables() {
        return;
    }
    let Ok(mut sys) = LinuxSystem::new("", None) else { return };
    // An `up` admits itself to the switches before its record is written (its PostUp may
    // need the tunnel), a `down` takes itself out before its record goes: from the records
    // alone this round would undo that for a while. That command makes the switches right
    // when it ends; the next round sees the rest.
    if state.an_interface_is_changing() {
        return;
    }
    super::session::reconcile_switches(&mut sys, &state);
}

/// [`reresolve`] of a file already read (`wgq run` reads it without its warnings).
pub(crate) fn reresolve_config(
    a: &ReresolveArgs,
    loc: crate::config::locate::ConfigLocation,
    cfg: crate::config::Config,
) -> Result<i32, AppError> {
    let ifname = loc.interface.clone();
    let run = RunState::current().map_err(|e| io("Unable to identify the network namespace", e))?;
    let mut sys = LinuxSystem::new(&ifname, None)?;
    if !sys.is_wireguard(&ifname)? {
        return Err(AppError::NotWireGuard(ifname));
    }
    let dev = sys.observe_reresolve(&ifname)?;
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let candidates: Vec<Candidate> = rr::select(&cfg, &dev, now, a.stale_after).into_iter().filter_map(Result::ok).collect();
    if candidates.is_empty() {
        return Ok(0);
    }
    let res = Resolver::for_interface(&run, &ifname, dev.fwmark);
    let mut lookups = lookup_all(&res, &candidates);
    // Only answers the device can send to, when there are such (a broken address family
    // is skipped); a failed route lookup leaves the answers as they are.
    let all: Vec<IpAddr> = lookups.iter().filter_map(|(_, r)| r.as_ref().ok()).flatten().copied().collect();
    if !all.is_empty()
        && let Ok(routable) = sys.routable(&ifname, &all, dev.fwmark)
    {
        for (_, r) in &mut lookups {
            if let Ok(v) = r {
                *v = rr::prefer_routable(v, &routable);
            }
        }
    }
    // The lookups ran without the interface's lock (they may take seconds; an `up` or
    // `reload` meanwhile must not fail on it). With the lock, the device is read again and
    // only peers still there and still stale are changed, against their endpoints now.
    let _lock = if a.dry_run { None } else { Some(run.lock_wait(&ifname, Duration::from_secs(10))?) };
    if !a.dry_run {
        let now_dev = sys.observe_reresolve(&ifname)?;
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        let fresh: Vec<Candidate> = rr::select(&cfg, &now_dev, now, a.stale_after).into_iter().filter_map(Result::ok).collect();
        lookups.retain_mut(|(c, r)| match fresh.iter().find(|f| f.public_key == c.public_key) {
            Some(f) => {
                c.current = f.current;
                true
            }
            // Gone, or it handshook meanwhile: its failure is still worth reporting.
            None => r.is_err(),
        });
    }
    let plan = rr::plan_reresolve(&ifname, &lookups);
    let mut failed = 0;
    for (c, r) in &lookups {
        if let Err(e) = r {
            eprintln!(
                "{}: {}:{}: Endpoint: peer {}: {e}",
                crate::program_name(),
                loc.path.display(),
                c.line,
                c.public_key.to_base64()
            );
            failed += 1;
        }
    }
    if a.dry_run {
        print!("{plan}");
    } else if !plan.ops.is_empty() {
        let mut stderr = std::io::stderr();
        crate::os::signals::install();
        let mut ex = Executor::new(&mut sys, &mut stderr);
        failed += ex.apply_each(&plan)?;
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// How many lookups run at once.
const LOOKUP_THREADS: usize = 64;

/// Looks every candidate's host up at once (one thread per distinct host, up to
/// [`LOOKUP_THREADS`]), so that a run takes one lookup's bound for up to that many names.
fn lookup_all(res: &Resolver, candidates: &[Candidate]) -> Vec<(Candidate, Result<Vec<IpAddr>, LookupError>)> {
    let mut hosts: Vec<&str> = candidates.iter().map(|c| c.host.as_str()).collect();
    hosts.sort_unstable();
    hosts.dedup();
    // At most LOOKUP_THREADS at a time (a server with thousands of host-name peers).
    let mut answers: Vec<(&str, Result<Vec<IpAddr>, LookupError>)> = Vec::with_capacity(hosts.len());
    for chunk in hosts.chunks(LOOKUP_THREADS) {
        std::thread::scope(|s| {
            let handles: Vec<_> = chunk.iter().map(|&h| (h, s.spawn(move || res.lookup(h)))).collect();
            for (h, j) in handles {
                let r = j.join().unwrap_or_else(|_| {
                    Err(LookupError::Timeout { host: h.into(), servers: res.servers.clone(), bound: res.timeout, last: None })
                });
                answers.push((h, r));
            }
        });
    }
    candidates
        .iter()
        .map(|c| {
            let r = match answers.iter().find(|(h, _)| *h == c.host).map(|(_, r)| r) {
                Some(Ok(v)) => Ok(v.clone()),
                // Each peer reports its own copy of the host's failure.
                Some(Err(e)) => Err(e.clone()),
                None => Ok(Vec::new()),
            };
            (c.clone(), r)
        })
        .collect()
}
