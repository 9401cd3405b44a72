//! `wgq up`: the interface created and configured as one transaction (rolled back on any
//! failure or signal), with PreUp hooks observed between its two parts.

use std::io::Write;

use clap::builder::{PossibleValuesParser, TypedValueParser};

use super::session::{Open, Session, pre_up_resolvers, reconcile_switches};
use super::{AppError, phase};
use crate::config::Config;
use crate::plan::exec::Executor;
use crate::plan::{self, UpRecord};
use crate::system::LinuxSystem;
use crate::system::runstate::RunState;

// `wgq up`'s arguments (and clap's definition of them).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct UpArgs {
    /// Print the plan instead of applying it
    #[arg(long)]
    pub dry_run: bool,
    /// Reject every packet that does not leave through the tunnel or another wgq tunnel (full tunnels only, one switch per host); --kill-switch=strict keeps rejecting after down and after a crash, until `down --kill-switch=off'
    #[arg(
        long,
        value_name = "strict",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "normal",
        value_parser = PossibleValuesParser::new(["normal", "strict"]).map(|v| KillSwitchMode { strict: v == "strict" })
    )]
    pub kill_switch: Option<KillSwitchMode>,
    /// With --kill-switch: let packets to the private and link-local ranges out too (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, fc00::/7, fe80::/10)
    #[arg(long, requires = "kill_switch")]
    pub allow_lan: bool,
    /// A file named INTERFACE.conf, or an interface name (its file is /etc/wireguard/INTERFACE.conf)
    #[arg(value_name = "CONFIG_FILE|INTERFACE")]
    pub target: String,
}

/// `--kill-switch` (normal) or `--kill-switch=strict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KillSwitchMode {
    pub strict: bool,
}

impl UpArgs {
    /// `up` of `target` as wg-quick's grammar has it: no flag.
    pub fn plain(target: &str) -> UpArgs {
        UpArgs { dry_run: false, kill_switch: None, allow_lan: false, target: target.to_string() }
    }

    /// The kill switch asked for, if any.
    pub fn kill_switch(&self) -> Option<plan::KillSwitch> {
        self.kill_switch.map(|m| plan::KillSwitch { strict: m.strict, allow_lan: self.allow_lan })
    }
}

/// `wgq up`: creates and configures the interface as one transaction, and records what it
/// added.
pub(crate) fn run(a: &UpArgs) -> Result<i32, AppError> {
    let (target, dry_run, kill_switch) = (a.target.as_str(), a.dry_run, a.kill_switch());
    let mut t = std::time::Instant::now();
    let mut x = Session::open(target, Open { dry_run, must_be_running: false, peers: true })?;
    let ifname = x.ifname.clone();
    if x.sys.link_exists(&ifname)? {
        return Err(AppError::AlreadyExists(ifname));
    }
    phase("parse", &mut t);
    // A kill switch left in place (a strict one, in nft, or in iptables where nft is
    // missing): its mark for the endpoints' lookups, and `up` sets the fwmark before the
    // link goes up.
    let switch = crate::system::firewall::see_kill_switch(&ifname, false);
    use_marked_lookups(&mut x.sys, &x.state, &x.cfg, &ifname, switch.as_ref());
    let mut facts = match x.sys.observe_up(&x.cfg) {
        Ok(f) => f,
        Err(e @ crate::system::SystemError::Resolve { .. }) => {
            if let Some(mark) = switch.as_ref().and_then(|s| s.mark(&ifname)) {
                eprintln!(
                    "{}: the kill switch of {ifname} is in place (it lets out only the tunnel and packets with fwmark \
                     {mark}) and rejects the lookup of the endpoint's name; an Endpoint given as an IP address works, \
                     or `wgq down --kill-switch=off {ifname}' removes the switch",
                    crate::program_name()
                );
            }
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    facts.kill_switch = kill_switch;
    facts.kill_switch_present = switch.as_ref().map(|s| s.kind);
    facts.kill_switch_jumps = switch.as_ref().map_or([false; 2], |s| s.jumps);
    let full_tunnel = crate::plan::kernel::full_tunnel_families(&x.cfg, crate::plan::own_public_key(&x.cfg, &facts));
    facts.kernel = Some(crate::system::observe_kernel(&full_tunnel));
    (facts.other_switches, facts.other_tunnels) = x.sys.observe_neighbours(&x.state, kill_switch.is_some());
    let switches_seen = kill_switch.is_some() || !facts.other_switches.is_empty();
    phase("observe", &mut t);
    if facts.dns_backend == crate::plan::dns::DnsBackend::Resolved
        && let Some(w) = crate::system::dns::resolv_conf_warning()
    {
        eprintln!("{}: {w}", crate::program_name());
    }
    if dry_run {
        print!("{}", plan::plan_up_start(&x.cfg, &ifname, &facts)?);
        if !x.cfg.interface.pre_up.is_empty() {
            println!("# The rest is planned after the PreUp hooks ran, from what they leave; as the system is now:");
        }
        print!("{}", plan::plan_up_rest(&x.cfg, &ifname, &facts)?);
        return Ok(0);
    }
    crate::os::signals::install();
    // The host's name servers before DNS= replaces them: `reresolve` asks them (outside a
    // full tunnel) when the tunnel's own servers are unreachable.
    let resolvers = pre_up_resolvers(&x.cfg);
    let mut record = match apply_up(&mut x.sys, &mut std::io::stderr(), &x.cfg, &ifname, facts) {
        Ok(r) => r,
        Err(e) => {
            if kill_switch.is_some_and(|k| k.strict) && crate::system::firewall::kill_switch_present(&ifname, false).is_some() {
                eprintln!(
                    "{}: the strict kill switch of {ifname} stays in place; `wgq down --kill-switch=off {ifname}' removes it",
                    crate::program_name()
                );
            }
            return Err(e);
        }
    };
    record.resolvers = resolvers;
    phase("apply", &mut t);
    let written = match crate::system::runstate::ifindex(&ifname) {
        Some(index) => x.state.write(&ifname, index, &record),
        None => Err(std::io::Error::from_raw_os_error(libc::ENODEV)),
    };
    if let Err(e) = written {
        eprintln!("{}: warning: unable to record state in {}: {e}", crate::program_name(), x.state.dir().display());
    }
    if switches_seen {
        reconcile_switches(&mut x.sys, &x.state);
    }
    crate::system::runstate::collect_garbage(&x.state);
    Ok(0)
}

/// With a kill switch of this interface already in place (a strict one left by `down` or a
/// crash), the endpoints' names are looked up by wgq's own resolver from sockets carrying
/// the fwmark the switch lets out, to the host's name servers: getaddrinfo's queries would
/// be rejected. Nothing is asked of the firewall unless an Endpoint is a host name.
fn use_marked_lookups(
    sys: &mut LinuxSystem,
    state: &RunState,
    cfg: &Config,
    ifname: &str,
    switch: Option<&crate::system::firewall::KillSwitchSeen>,
) {
    let Some(switch) = switch else { return };
    let names = cfg
        .peers
        .iter()
        .filter_map(|p| p.endpoint.as_ref())
        .any(|e| crate::device::resolve::literal(&e.value.host, e.value.port).is_none());
    if !names {
        return;
    }
    let Some(mark) = switch.mark(ifname) else { return };
    let resolver = crate::system::resolver::Resolver::for_interface(state, ifname, mark);
    sys.endpoint_lookup = Box::new(move |host, port| match resolver.lookup(host) {
        Ok(addrs) => addrs.first().map(|&a| std::net::SocketAddr::new(a, port)).ok_or_else(|| ("no address".into(), true)),
        // A timeout may pass (wg's retry rules then try again); the rest will not.
        Err(e) => {
            let transient = matches!(e, crate::system::resolver::LookupError::Timeout { .. });
            Err((e.to_string(), !transient))
        }
    });
}

/// Applies `up` as one transaction: the first part of the plan; then, with PreUp hooks, a
/// new look at the system, since they may add peers, routes or the key that the rest of
/// `up` must see (wg-quick reads the live system after them); the rest planned from that.
/// Without PreUp hooks nothing but wgq has touched the new interface, and the facts
/// observed before stand (no extra device dump). Any failure or signal, between the parts
/// too, undoes everything. Returns what to record. (Public for the failure-injection tests
/// of tests/plan_scenarios.rs, which drive it with the fake system.)
pub fn apply_up(
    sys: &mut dyn crate::plan::exec::System,
    trace: &mut dyn Write,
    cfg: &Config,
    ifname: &str,
    facts: plan::UpFacts,
) -> Result<UpRecord, AppError> {
    let start = plan::plan_up_start(cfg, ifname, &facts)?;
    let mut ex = Executor::new(sys, trace);
    ex.apply_part(&start)?;
    let facts = if cfg.interface.pre_up.is_empty() {
        facts
    } else {
        match ex.sys.observe_after_pre_up(cfg, &facts) {
            Ok(f) => f,
            Err(e) => return Err(ex.abort(e).into()),
        }
    };
    let rest = match plan::plan_up_rest(cfg, ifname, &facts) {
        Ok(p) => p,
        Err(e) => return Err(ex.abort(crate::plan::exec::SysError::with_source(1, e.to_string(), e)).into()),
    };
    ex.apply_part(&rest)?;
    ex.commit();
    Ok(UpRecord::from_ops(start.ops.iter().chain(&rest.ops)))
}
