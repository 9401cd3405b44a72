//! `wgq p2p serve|connect|status`: peers behind NAT reach each other directly, with
//! endpoints learned from their hub (docs/p2p.md).
//!
//! - `serve` (on the hub) answers queries on the interface's tunnel addresses only, from
//!   peers opted in with `# P2P = true` in their `[Peer]` block, with the other opted-in
//!   peers (`plan::p2p::answer`), rate limited per source.
//! - `connect` (on a peer) asks the hub every few seconds and plans each second what the
//!   device needs (`plan::p2p::Mesh::round`); each change is applied on its own,
//!   update-only, under the interface's lock, and the peers it added are recorded in the
//!   run state (`save` leaves them out, `reload` keeps them). Stopping it puts every
//!   address back through the hub and removes the peers it added.
//! - `status` prints the record next to the device's endpoints.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime};

use crate::config::locate;
use crate::net::IpNet;
use crate::plan::exec::Executor;
use crate::plan::p2p::{self as p2p, HubView, Mesh, Via};
use crate::system::LinuxSystem;
use crate::system::p2p as sysp2p;
use crate::system::runstate::{self, RunState};
use crate::wire::p2p::{self as wire, MAX_MESSAGE};

use super::{AppError, io};

// `wgq p2p`'s subcommands (and clap's definition of them).
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum P2pCmd {
    /// On the hub: tell opted-in peers (# P2P = true) where the other opted-in peers are, on the tunnel address only
    Serve {
        /// The UDP port on the interface's tunnel addresses
        #[arg(long, value_name = "N", default_value_t = crate::plan::p2p::DEFAULT_PORT)]
        port: u16,
        /// A file named INTERFACE.conf, or an interface name (its file is /etc/wireguard/INTERFACE.conf)
        #[arg(value_name = "CONFIG_FILE|INTERFACE")]
        target: String,
    },
    /// On a peer: add the other peers of the mesh at run time and go direct while a handshake works
    Connect {
        /// The hub's p2p address (default: the first host of this interface's subnet, port 51819)
        #[arg(long, value_name = "ADDR[:PORT]")]
        hub: Option<String>,
        /// A file named INTERFACE.conf, or an interface name
        #[arg(value_name = "CONFIG_FILE|INTERFACE")]
        target: String,
    },
    /// Each other peer of the mesh: direct or via the hub, since when, its endpoint
    Status {
        /// A file named INTERFACE.conf, or an interface name
        #[arg(value_name = "CONFIG_FILE|INTERFACE")]
        target: String,
    },
}

pub(crate) fn run(c: &P2pCmd) -> Result<i32, AppError> {
    match c {
        P2pCmd::Serve { target, port } => serve(target, *port),
        P2pCmd::Connect { target, hub } => connect(target, hub.as_deref()),
        P2pCmd::Status { target } => status(target),
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// The interface a `CONFIG_FILE|INTERFACE` argument names (its file need not exist for
/// an interface name: `connect` and `status` read only the device).
fn interface_of(target: &str) -> Result<String, AppError> {
    if locate::is_interface_name(target) {
        return Ok(target.to_string());
    }
    Ok(locate::locate_config(target, std::path::Path::new(super::CONFIG_DIR))?.interface)
}

fn open(ifname: &str) -> Result<LinuxSystem, AppError> {
    let mut sys = LinuxSystem::new(ifname, None)?;
    if !sys.is_wireguard(ifname)? {
        return Err(AppError::NotWireGuard(ifname.to_string()));
    }
    Ok(sys)
}

/// The largest server file `serve` reads.
const MAX_FILE: u64 = 64 << 20;

/// The peers of a config file: the opted-in ones (`# P2P = true` in an enabled `[Peer]`
/// block) and every enabled one. Read bounded, the text wiped after.
fn file_peers(path: &std::path::Path) -> Result<(Vec<crate::key::Key>, Vec<crate::key::Key>), AppError> {
    let text =
        crate::os::read_bounded(path, MAX_FILE).map_err(|e| AppError::Read { path: path.display().to_string(), source: e })?;
    let mut bytes = text.into_bytes();
    let entries = crate::config::peers::list_entries(&bytes);
    crate::key::wipe(&mut bytes);
    let enabled: Vec<_> = entries.into_iter().filter(|p| !p.disabled).collect();
    let opted = enabled.iter().filter(|p| p.p2p).filter_map(|p| p.public_key).collect();
    Ok((opted, enabled.iter().filter_map(|p| p.public_key).collect()))
}

fn serve(target: &str, port: u16) -> Result<i32, AppError> {
    let loc = locate::locate_config(target, std::path::Path::new(super::CONFIG_DIR))?;
    let ifname = loc.interface.clone();
    let mut sys = open(&ifname)?;
    crate::os::signals::install();
    let mut socks: Vec<(IpAddr, UdpSocket)> = Vec::new();
    let mut bound_for: Vec<IpNet> = Vec::new();
    let mut bind_errors: Vec<String> = Vec::new();
    let mut subnets: Vec<IpNet> = Vec::new();
    let mut next_addresses = Instant::now();
    let mut opted: Vec<crate::key::Key> = Vec::new();
    let mut file_stamp = None;
    let mut next_file = Instant::now();
    let mut listing: Option<p2p::Listing> = None;
    let mut next_dev = Instant::now();
    let mut limit = p2p::RateLimit::default();
    let started = Instant::now();
    let mut buf = vec![0u8; MAX_MESSAGE + 1];
    loop {
        if crate::os::signals::pending().is_some() {
            return Ok(0);
        }
        // The interface's addresses (and so the sockets) are looked at every 5 seconds.
        if Instant::now() >= next_addresses {
            next_addresses = Instant::now() + Duration::from_secs(5);
            match sys.interface_addresses(&ifname) {
                Ok(a) if a != bound_for || socks.len() < a.len() => {
                    // New addresses, or one could not be bound yet (a tentative IPv6 address):
                    // the sockets are made again for all of them.
                    let before: Vec<IpAddr> = socks.iter().map(|(ip, _)| *ip).collect();
                    socks.clear();
                    let mut failed = Vec::new();
                    for n in &a {
                        let at = SocketAddr::new(n.addr, port);
                        match sysp2p::bind_hub(&ifname, n.addr, port) {
                            Ok(s) => {
                                if !before.contains(&n.addr) {
                                    eprintln!("[#] p2p: serving {ifname} on {at}");
                                }
                                socks.push((n.addr, s));
                            }
                            Err(e) => failed.push(format!("{}: p2p: cannot listen on {at}: {e}", crate::program_name())),
                        }
                    }
                    if failed != bind_errors {
                        for f in &failed {
                            eprintln!("{f}");
                        }
                        bind_errors = failed;
                    }
                    subnets = a.clone();
                    next_dev = Instant::now();
                    bound_for = a;
                }
                Ok(_) => {}
                Err(e) => eprintln!("{}: p2p: {e}", crate::program_name()),
            }
        }
        // The file's opt-ins, again when it changed (looked at every 2 seconds).
        if Instant::now() >= next_file {
            next_file = Instant::now() + Duration::from_secs(2);
            let stamp = std::fs::metadata(&loc.path).ok().map(|m| (m.modified().ok(), m.len()));
            if stamp != file_stamp {
                match file_peers(&loc.path) {
                    Ok((k, _)) => {
                        if k != opted {
                            // Listed again at the next query.
                            next_dev = Instant::now();
                        }
                        opted = k;
                        file_stamp = stamp;
                    }
                    Err(e) => eprintln!("{}: p2p: {e}", crate::program_name()),
                }
            }
        }
        let refs: Vec<&UdpSocket> = socks.iter().map(|(_, s)| s).collect();
        if refs.is_empty() {
            std::thread::sleep(Duration::from_millis(500));
            continue;
        }
        for i in sysp2p::wait_readable(&refs, Duration::from_secs(1)) {
            // A bounded number of datagrams per socket and wake-up.
            for _ in 0..64 {
                let s = refs[i];
                let _ = s.set_nonblocking(true);
                let Ok((len, from)) = s.recv_from(&mut buf) else { break };
                let now_ms = started.elapsed().as_millis() as u64;
                let query = match wire::decode(&buf[..len]) {
                    Ok(q) => Ok(q),
                    Err(wire::DecodeError::Version(_)) if len >= 10 => Err(u32::from_be_bytes([buf[6], buf[7], buf[8], buf[9]])),
                    Err(_) => continue,
                };
                // The device at most once a second (a failed read too: no read per query),
                // the mesh listed once per read: bounded work however many ask.
                if Instant::now() >= next_dev {
                    next_dev = Instant::now() + Duration::from_secs(1);
                    match sys.observe_p2p(&ifname) {
                        Ok(d) => listing = Some(p2p::Listing::new(d, &opted, &subnets)),
                        Err(e) => eprintln!("{}: p2p: {e}", crate::program_name()),
                    }
                }
                let Some(l) = &listing else { continue };
                let reply = l.reply(&mut limit, from.ip(), query.as_ref().map_err(|n| *n), now_ms);
                if let Some(r) = reply
                    && let Ok(bytes) = wire::encode(&r)
                {
                    let _ = s.send_to(&bytes, from);
                }
            }
        }
    }
}

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

fn connect(target: &str, hub: Option<&str>) -> Result<i32, AppError> {
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
    let file = locate::locate_config(target, std::path::Path::new(super::CONFIG_DIR)).ok().map(|l| l.path);
    let file_keys = || file.as_deref().and_then(|f| file_peers(f).ok()).map(|(_, all)| all).unwrap_or_default();
    let index = runstate::ifindex(&ifname);
    let mut mesh = {
        // The device and the record as one view (up, down, save and reload change them
        // under this lock).
        let _lock = run.lock_wait(&ifname, Duration::from_secs(2)).map_err(|e| AppError::Other(format!("p2p: {e}")))?;
        let dev = sys.observe_p2p(&ifname)?;
        match run.read_p2p(&ifname, index) {
            Some(r) => Mesh::adopt(&r, &dev, &own, now_secs()),
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
            Ok(dev) => {
                let own = sys.interface_addresses(&ifname).unwrap_or_else(|_| own.clone());
                mesh.disown(&file_keys());
                let plan = mesh.round(&ifname, &dev, &own, hub.ip(), &view, now_secs());
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
        let tick = if mesh.settling(now_secs()) { Duration::from_millis(250) } else { Duration::from_secs(1) };
        sysp2p::wait_readable(&[], tick);
    }
}

fn status(target: &str) -> Result<i32, AppError> {
    let ifname = interface_of(target)?;
    let mut sys = open(&ifname)?;
    let run = RunState::current().map_err(|e| io("Unable to identify the network namespace", e))?;
    let Some(rec) = run.read_p2p(&ifname, runstate::ifindex(&ifname)) else {
        eprintln!("{ifname}: no mesh (is `wgq p2p connect {ifname}' running?)");
        return Ok(1);
    };
    let dev = sys.observe_p2p(&ifname)?;
    let now = now_secs();
    let mut out = String::new();
    if let Some(h) = rec.hub {
        out.push_str(&format!("interface: {ifname}\nhub: {}\n", h.to_base64()));
    }
    for p in &rec.peers {
        let d = dev.peers.iter().find(|d| d.public_key == p.public_key);
        let path = if p.via == Via::Direct { "direct" } else { "via hub" };
        let endpoint = d.and_then(|d| d.endpoint).map_or_else(|| "(none)".to_string(), |e| e.to_string());
        let handshake = match d.and_then(|d| d.last_handshake).filter(|t| !t.is_zero()) {
            Some(t) => format!("{} seconds ago", now.saturating_sub(t.as_secs())),
            None => "never".into(),
        };
        let addrs: Vec<String> = p.addresses.iter().map(|a| a.to_string()).collect();
        out.push_str(&format!(
            "\npeer: {}\n  path: {path} since {} ({} seconds)\n  endpoint: {endpoint}\n  addresses: {}\n  latest handshake: {handshake}\n",
            p.public_key.to_base64(),
            crate::config::peers::format_time(p.since as i64),
            now.saturating_sub(p.since),
            addrs.join(", "),
        ));
    }
    super::write_out(&mut std::io::stdout().lock(), out.as_bytes())?;
    Ok(0)
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
