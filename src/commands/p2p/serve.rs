//! `wgq p2p serve`: the hub's side (docs/p2p.md).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::config::locate;
use crate::net::IpNet;
use crate::plan::p2p;
use crate::system::p2p as sysp2p;
use crate::wire::p2p::{self as wire, MAX_MESSAGE};

use super::super::AppError;
use super::{file_peers, open};

pub(super) fn serve(target: &str, port: u16) -> Result<i32, AppError> {
    let loc = locate::locate_config(target, std::path::Path::new(super::super::CONFIG_DIR))?;
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
