//! `wgq health`: a container's health check. Exit 0 when every interface (those named, or
//! without names those `wgq run` brought up in this network namespace) is a WireGuard
//! interface that exists; with `--handshake-within SECS` each also needs a peer whose last
//! handshake is at most SECS old (an interface without peers passes). One line of output.

use std::time::{Duration, SystemTime};

use super::AppError;
use crate::device;

/// `wgq health`'s arguments.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct HealthArgs {
    /// Also require, on each interface with peers, a handshake at most SECS seconds old
    #[arg(long, value_name = "SECS")]
    pub handshake_within: Option<u64>,
    /// The interfaces to check; none: those `wgq run` brought up in this network namespace
    #[arg(value_name = "INTERFACE")]
    pub interfaces: Vec<String>,
}

/// What was seen of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Missing,
    /// Present: the last handshake of each peer (`None`: never), as times since the epoch.
    Present(Vec<Option<Duration>>),
    /// Present, but its peers could not be read.
    Unreadable(String),
}

/// The verdict on one interface: `Ok(summary)` or `Err(reason)`.
pub fn judge(name: &str, seen: &Seen, within: Option<u64>, now: Duration) -> Result<String, String> {
    let shown = crate::config::values::clean(name);
    match (seen, within) {
        (Seen::Missing, _) => Err(format!("{shown} is missing")),
        (Seen::Unreadable(e), Some(_)) => Err(format!("{shown}: {e}")),
        (Seen::Unreadable(_), None) => Ok(format!("{shown} up")),
        (Seen::Present(_), None) => Ok(format!("{shown} up")),
        (Seen::Present(peers), Some(_)) if peers.is_empty() => Ok(format!("{shown} up (no peers)")),
        (Seen::Present(peers), Some(secs)) => {
            let newest = peers.iter().flatten().max();
            match newest {
                Some(t) if now.saturating_sub(*t).as_secs() <= secs => {
                    Ok(format!("{shown} up, handshake {} s ago", now.saturating_sub(*t).as_secs()))
                }
                Some(t) => Err(format!("{shown}: last handshake {} s ago (over {secs} s)", now.saturating_sub(*t).as_secs())),
                None => Err(format!("{shown}: no handshake yet (of {} peers)", peers.len())),
            }
        }
    }
}

/// `wgq health`: prints one line, `ok: …` or `unhealthy: …`; 0 or 1.
pub fn health(a: &HealthArgs) -> Result<i32, AppError> {
    let names = if a.interfaces.is_empty() {
        let state =
            crate::system::runstate::RunState::current().map_err(|e| super::io("Unable to identify the network namespace", e))?;
        match state.run_list() {
            Some((_, n)) if !n.is_empty() => n,
            _ => {
                println!("unhealthy: no interface named, and no `wgq run' in this network namespace");
                return Ok(1);
            }
        }
    } else {
        a.interfaces.clone()
    };
    let mut rt = crate::wire::netlink::Socket::open(libc::NETLINK_ROUTE as isize)
        .map_err(crate::system::nl("Unable to open an rtnetlink socket"))?;
    let mut devices = device::Devices::default();
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for n in &names {
        let seen = match device::is_interface(&mut rt, n) {
            // A userspace socket (its directory is shared by every namespace) counts only
            // with a link of that name here.
            Ok(true) if crate::system::runstate::ifindex(n).is_none() => Seen::Missing,
            Ok(false) | Err(_) => Seen::Missing,
            Ok(true) if a.handshake_within.is_none() => Seen::Present(Vec::new()),
            Ok(true) => match devices.get_summary(n) {
                Ok(d) => Seen::Present(d.peers.iter().map(|p| p.last_handshake).collect()),
                Err(e) => Seen::Unreadable(e.to_string()),
            },
        };
        match judge(n, &seen, a.handshake_within, now) {
            Ok(s) => good.push(s),
            Err(s) => bad.push(s),
        }
    }
    if bad.is_empty() {
        println!("ok: {}", good.join("; "));
        Ok(0)
    } else {
        println!("unhealthy: {}", bad.join("; "));
        Ok(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Duration = Duration::from_secs(1_000_000);

    fn ago(s: u64) -> Option<Duration> {
        Some(NOW - Duration::from_secs(s))
    }

    #[test]
    fn verdicts() {
        assert_eq!(judge("wg0", &Seen::Missing, None, NOW), Err("wg0 is missing".into()));
        assert_eq!(judge("wg0", &Seen::Missing, Some(10), NOW), Err("wg0 is missing".into()));
        assert_eq!(judge("wg0", &Seen::Present(vec![]), None, NOW), Ok("wg0 up".into()));
        assert_eq!(judge("wg0", &Seen::Present(vec![]), Some(10), NOW), Ok("wg0 up (no peers)".into()));
        // One recent peer is enough.
        assert_eq!(
            judge("wg0", &Seen::Present(vec![None, ago(500), ago(3)]), Some(10), NOW),
            Ok("wg0 up, handshake 3 s ago".into())
        );
        assert_eq!(judge("wg0", &Seen::Present(vec![ago(10)]), Some(10), NOW), Ok("wg0 up, handshake 10 s ago".into()));
        assert_eq!(
            judge("wg0", &Seen::Present(vec![ago(11)]), Some(10), NOW),
            Err("wg0: last handshake 11 s ago (over 10 s)".into())
        );
        assert_eq!(
            judge("wg0", &Seen::Present(vec![None, None]), Some(10), NOW),
            Err("wg0: no handshake yet (of 2 peers)".into())
        );
        // Without the flag the peers are not looked at.
        assert_eq!(judge("wg0", &Seen::Present(vec![None]), None, NOW), Ok("wg0 up".into()));
        assert!(judge("wg0", &Seen::Unreadable("x".into()), Some(1), NOW).is_err());
        // A handshake "in the future" (clock stepped back) counts as now.
        assert!(judge("wg0", &Seen::Present(vec![Some(NOW + Duration::from_secs(5))]), Some(1), NOW).is_ok());
        // A name is never printed raw.
        assert!(!judge("a\x1bb", &Seen::Missing, None, NOW).unwrap_err().contains('\x1b'));
    }
}
