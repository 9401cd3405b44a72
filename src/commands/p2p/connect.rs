//! `wgq p2p connect`: a peer's side (docs/p2p.md).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::config::locate;
use crate::net::IpNet;
use crate::plan::exec::Executor;
use crate::plan::p2p::{self as p2p, HubView, Mesh};
use crate::system::p2p as sysp2p;
use crate::system::runstate::{self, RunState};

use super::super::{AppError, io};
use super::{file_peers, handshakes_on_mono, interface_of, mono_secs, now_secs, open};

/// `ADDR[:PORT]`, `[V6]:PORT` or a bare IPv6 address.
fn parse_hub(s: &str) -> Result<SocketAddr, AppError> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    let bare = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(s);
    crate::net::parse_addr_strict(bare)
        .map(|ip| SocketAddr::new(ip, p2p::DEFAULT_PORT))
        .ok_or_else(|| AppError::Other(format!("--hub {s}: not an address (ADDR[:PORT], [ADDR]:PORT)")))
}

/// The first host address of the interface's first subnet (IPv4 first): the usual hub.
fn default_hub(addrs: &[IpNet]) -> Option<IpAddr> {
    let mut v: Vec<&IpNet> = addrs.iter().filter(|a| a.prefix + 1 < a.max_prefix()).collect();
    v.sort_by_key(|a| a.is_ipv6());
    let n = v.first()?.network();
    Some(match n.addr {
        IpAddr::V4(a) => IpAddr::V4((u32::from(a) + 1).into()),
        IpAddr::V6(a) => IpAddr::V6((u128::from(a) + 1).into()),
    })
}

pub(super) fn connect(target: &str, hub: Option<&str>) -> Result<i32, AppError> {
    let ifname = interface_of(target)?;
    let mut sys = open(&ifname)?;
    let run = RunState::current().map_err(|e| io("Unable to identify the network namespace", e))?;
    let own = sys.interface_addresses(&ifname)?;
    let hub = match hub {
        Some(h) => parse_hub(h)?,
        None => SocketAddr::new(
            default_hub(&own).ok_or_else(|| {
                AppError::Other(format!("{ifname} has no address with a subnet to find the hub in: pass --hub ADDR[:PORT]"))
            })?,
            p2p::DEFAULT_PORT,
        ),
    };
    let sock = sysp2p::connect_hub(&ifname, hub).map_err(|e| io(&format!("Unable to open a socket to the hub {hub}"), e))?;
    crate::os::signals::install();
    eprintln!("[#] p2p: {ifname} asks {hub} every {} seconds", p2p::POLL_EVERY);
    // The interface's file, if it has one: the peers it defines are never managed here.
    let file = locate::locate_config(target, std::path::Path::new(super::super::CONFIG_DIR)).ok().map(|l| l.path);
    let file_keys = || file.as_deref().and_then(|f| file_peers(f).ok()).map(|(_, all)| all).unwrap_or_default();
    let index = runstate::ifindex(&ifname);
    let mut mesh = {
        // The device and the record as one view (up, down, save and reload change them
        // under this lock).
        let _lock = run.lock_wait(&ifname, Duration::from_secs(2)).map_err(|e| AppError::Other(format!("p2p: {e}")))?;
        let dev = sys.observe_p2p(&ifname)?;
        match run.read_p2p(&ifname, index) {
            Some(r) => Mesh::adopt(&r, &dev, &own, mono_secs()),
            None => Mesh::default(),
        }
    };
    let mut recorded = None;
    let mut next_poll = Instant::now();
    let mut last_note: Option<String> = None;
    let mut stderr = std::io::stderr();
    let mut stopping = false;
    loop {
        stopping |= crate::os::signals::pending().is_some();
        let view = if stopping {
            // Everything back through the hub, the added peers removed.
            HubView::NotOptedIn
        } else if Instant::now() >= next_poll {
            next_poll = Instant::now() + Duration::from_secs(p2p::POLL_EVERY);
            let (v, note) = sysp2p::ask_hub(&sock, Duration::from_secs(1));
            if note != last_note {
                if let Some(n) = &note {
                    eprintln!("{}: p2p: {ifname}: {n}", crate::program_name());
                }
                last_note = note;
            }
            v
        } else {
            HubView::Silent
        };
        // Up, down, save and reload look at the device under this lock too: the device is
        // read, the record written and the device changed within one hold, so they never
        // see a peer of the mesh that the record does not name (nor this round a device
        // they are changing).
        let lock = match run.lock_wait(&ifname, Duration::from_secs(2)) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{}: p2p: {e}", crate::program_name());
                sysp2p::wait_readable(&[], Duration::from_secs(1));
                continue;
            }
        };
        match sys.observe_p2p(&ifname) {
            Ok(mut dev) => {
                let now = mono_secs();
                handshakes_on_mono(&mut dev, now_secs(), now);
                let own = sys.interface_addresses(&ifname).unwrap_or_else(|_| own.clone());
                mesh.disown(&file_keys());
                let plan = mesh.round(&ifname, &dev, &own, hub.ip(), &view, now);
                let rec = mesh.record();
                if recorded.as_ref() != Some(&rec)
                    && let Some(i) = runstate::ifindex(&ifname)
                {
                    match run.write_p2p(&ifname, i, &rec) {
                        Ok(()) => recorded = Some(rec),
                        Err(e) => eprintln!("{}: p2p: cannot record the mesh: {e}", crate::program_name()),
                    }
                }
                let mut ex = Executor::new(&mut sys, &mut stderr);
                // A signal stops the loop after this round (which, when stopping, is the one
                // that puts everything back).
                if let Err(crate::plan::exec::ExecError::Signal(_)) = ex.apply_each(&plan) {
                    stopping = true;
                    drop(lock);
                    continue;
                }
            }
            Err(e) => {
                // The interface went away (down): nothing of ours is left on it.
                if !sys.link_exists(&ifname).unwrap_or(true) {
                    run.remove_p2p(&ifname);
                    return Err(e.into());
                }
                eprintln!("{}: p2p: {e}", crate::program_name());
            }
        }
        drop(lock);
        if stopping {
            run.remove_p2p(&ifname);
            return Ok(0);
        }
        let tick = if mesh.settling(mono_secs()) { Duration::from_millis(250) } else { Duration::from_secs(1) };
        sysp2p::wait_readable(&[], tick);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_addresses() {
        let n = |s: &str| IpNet::parse(s).unwrap();
        assert_eq!(default_hub(&[n("10.9.0.2/24")]), Some("10.9.0.1".parse().unwrap()));
        assert_eq!(default_hub(&[n("fd00::5/64"), n("10.9.0.7/16")]), Some("10.9.0.1".parse().unwrap()));
        assert_eq!(default_hub(&[n("fd00::5/64")]), Some("fd00::1".parse().unwrap()));
        assert_eq!(default_hub(&[n("10.9.0.2/32"), n("10.9.0.2/31")]), None);
        assert_eq!(parse_hub("10.9.0.1").unwrap(), "10.9.0.1:51819".parse().unwrap());
        assert_eq!(parse_hub("10.9.0.1:7").unwrap(), "10.9.0.1:7".parse().unwrap());
        assert_eq!(parse_hub("[fd00::1]:7").unwrap(), "[fd00::1]:7".parse().unwrap());
        assert_eq!(parse_hub("fd00::1").unwrap(), "[fd00::1]:51819".parse().unwrap());
        assert_eq!(parse_hub("[fd00::1]").unwrap(), "[fd00::1]:51819".parse().unwrap());
        assert!(parse_hub("hub.example").is_err());
        assert!(parse_hub("10.9.0.1:99999").is_err());
    }
}
