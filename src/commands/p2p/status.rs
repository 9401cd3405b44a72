//! `wgq p2p status`: the record next to the device (docs/p2p.md).

use crate::plan::p2p::Via;
use crate::system::runstate::{self, RunState};

use super::super::{AppError, io};
use super::{interface_of, mono_secs, now_secs, open};

pub(super) fn status(target: &str) -> Result<i32, AppError> {
    let ifname = interface_of(target)?;
    let mut sys = open(&ifname)?;
    let run = RunState::current().map_err(|e| io("Unable to identify the network namespace", e))?;
    let Some(rec) = run.read_p2p(&ifname, runstate::ifindex(&ifname)) else {
        eprintln!("{ifname}: no mesh (is `wgq p2p connect {ifname}' running?)");
        return Ok(1);
    };
    let dev = sys.observe_p2p(&ifname)?;
    let now = now_secs();
    // The record's times are on the monotonic clock: shown on the wall clock.
    let mono = mono_secs();
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
            crate::config::peers::format_time(now.saturating_sub(mono.saturating_sub(p.since)) as i64),
            mono.saturating_sub(p.since),
            addrs.join(", "),
        ));
    }
    super::super::write_out(&mut std::io::stdout().lock(), out.as_bytes())?;
    Ok(0)
}
