//! `wgq reresolve`: which peers to look up again and which endpoint each gets, as pure
//! functions of the file, the device's state, the clock and the lookups' answers.
//!
//! A peer is looked up only when its `Endpoint` in the file is a host name (IP literals
//! never change), it exists on the device (a peer removed meanwhile is never re-created),
//! and it is stale: no handshake for `stale_after` seconds, or never (a fresh handshake
//! means the endpoint works, or the peer roamed on purpose). A peer gets a new endpoint
//! only when the answers say its address really changed.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::config::Config;
use crate::device::DeviceState;
use crate::key::Key;

use super::{Op, Plan};

/// wireguard-tools' contrib reresolve-dns.sh threshold: REKEY_AFTER_TIME 120 +
/// REKEY_TIMEOUT 5 + KEEPALIVE_TIMEOUT 10, the longest a working peer goes without a
/// handshake while traffic flows.
pub const DEFAULT_STALE_AFTER: u64 = 135;

/// A peer to look up again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub public_key: Key,
    pub host: String,
    pub port: u16,
    /// The line of its `Endpoint` in the file (for messages).
    pub line: usize,
    /// Its endpoint on the device now.
    pub current: Option<SocketAddr>,
}

/// Why a peer of the file is left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    NoEndpoint,
    /// The endpoint is an IP literal.
    Literal,
    /// Not on the device (never created here).
    NotOnDevice,
    /// A handshake within the threshold.
    Fresh,
}

/// Whether a peer whose last handshake was at `last` (since the epoch; `None` = never)
/// is stale at `now` (since the epoch). A handshake "in the future" (a clock set back) is
/// fresh.
pub fn is_stale(last: Option<Duration>, now: Duration, stale_after: u64) -> bool {
    match last {
        None => true,
        Some(t) if t.is_zero() => true,
        Some(t) => now.saturating_sub(t) > Duration::from_secs(stale_after),
    }
}

/// The file's peers with what to do about each: look up again, or why not (file order).
pub fn select(cfg: &Config, dev: &DeviceState, now: Duration, stale_after: u64) -> Vec<Result<Candidate, (Key, Skip)>> {
    cfg.peers
        .iter()
        .map(|p| {
            let skip = |s| Err((p.public_key, s));
            let Some(e) = &p.endpoint else { return skip(Skip::NoEndpoint) };
            let host = &e.value.host;
            // `fe80::1%eth0` too: an address with a zone is a literal.
            if crate::net::parse_addr_strict(host.split('%').next().unwrap_or(host)).is_some() {
                return skip(Skip::Literal);
            }
            let Some(on) = dev.peers.iter().find(|d| d.public_key == p.public_key) else {
                return skip(Skip::NotOnDevice);
            };
            if !is_stale(on.last_handshake, now, stale_after) {
                return skip(Skip::Fresh);
            }
            Ok(Candidate { public_key: p.public_key, host: host.clone(), port: e.value.port, line: e.line, current: on.endpoint })
        })
        .collect()
}

/// The endpoint a stale peer should get from `answers` (in the resolver's order), or
/// `None` to leave it as it is:
/// - its current address is the only answer: unchanged;
/// - its current address is one of several answers: the next one after it (the current
///   one does not work, the peer is stale: fail over, round robin);
/// - otherwise (moved, or no endpoint yet): the first answer.
///
/// The port is the file's; only the address is compared (a port changed in the file alone
/// is a change too).
pub fn choose(current: Option<SocketAddr>, answers: &[IpAddr], port: u16) -> Option<SocketAddr> {
    let first = *answers.first()?;
    let Some(cur) = current else { return Some(SocketAddr::new(first, port)) };
    let cur_ip = canonical(cur.ip());
    match answers.iter().position(|a| canonical(*a) == cur_ip) {
        None => Some(SocketAddr::new(first, port)),
        Some(_) if answers.len() == 1 => (cur.port() != port).then(|| SocketAddr::new(first, port)),
        Some(i) => {
            // The next different address (answers may repeat one).
            let next = (1..answers.len()).map(|k| answers[(i + k) % answers.len()]).find(|a| canonical(*a) != cur_ip);
            match next {
                Some(n) => Some(SocketAddr::new(n, port)),
                None => (cur.port() != port).then(|| SocketAddr::new(first, port)),
            }
        }
    }
}

/// The answers worth trying: those the device has a route to (`routable`, looked up with
/// its fwmark), in the resolver's order; all of them when it has a route to none (the
/// route may come back, and the timer tries again). So a name with A and AAAA records on a
/// host whose IPv6 (or IPv4) is broken does not stick to the unreachable family.
pub fn prefer_routable(answers: &[IpAddr], routable: &[IpAddr]) -> Vec<IpAddr> {
    let reachable: Vec<IpAddr> = answers.iter().copied().filter(|a| routable.contains(a)).collect();
    if reachable.is_empty() { answers.to_vec() } else { reachable }
}

/// An IPv4-mapped IPv6 address compares as the IPv4 address it maps.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The plan: one `Op::SetEndpoint` per candidate whose lookup gave a different endpoint
/// (lookups are `Ok(answers)`; failed ones are the caller's to report, and change nothing).
pub fn plan_reresolve<E>(ifname: &str, lookups: &[(Candidate, Result<Vec<IpAddr>, E>)]) -> Plan {
    let ops = lookups
        .iter()
        .filter_map(|(c, r)| {
            let answers = r.as_ref().ok()?;
            choose(c.current, answers, c.port).map(|endpoint| Op::SetEndpoint { peer: c.public_key, endpoint })
        })
        .collect();
    Plan { interface: ifname.to_string(), ops }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::PeerState;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }
    fn key(n: u8) -> Key {
        Key([n; 32])
    }

    #[test]
    fn staleness() {
        let now = Duration::from_secs(1_000_000);
        assert!(is_stale(None, now, 135));
        assert!(is_stale(Some(Duration::ZERO), now, 135), "wg's 0 is never");
        assert!(!is_stale(Some(now - Duration::from_secs(135)), now, 135), "exactly the threshold is fresh");
        assert!(is_stale(Some(now - Duration::from_secs(136)), now, 135));
        assert!(!is_stale(Some(now + Duration::from_secs(50)), now, 135), "a future handshake is fresh");
        assert!(!is_stale(Some(now - Duration::from_secs(20)), now, 30));
        assert!(is_stale(Some(now - Duration::from_secs(31)), now, 30));
    }

    #[test]
    fn choice_of_answer() {
        let one = [ip("203.0.113.7")];
        // No change when the only answer is the current address (same port).
        assert_eq!(choose(Some(sa("203.0.113.7:51820")), &one, 51820), None);
        // The port in the file changed: same address, new port.
        assert_eq!(choose(Some(sa("203.0.113.7:1")), &one, 51820), Some(sa("203.0.113.7:51820")));
        // Moved.
        assert_eq!(choose(Some(sa("198.51.100.7:51820")), &one, 51820), Some(sa("203.0.113.7:51820")));
        // No endpoint yet.
        assert_eq!(choose(None, &one, 51820), Some(sa("203.0.113.7:51820")));
        // No answers: nothing to do.
        assert_eq!(choose(Some(sa("198.51.100.7:51820")), &[], 51820), None);
        // Several answers, current among them: the next one, round robin.
        let three = [ip("192.0.2.1"), ip("192.0.2.2"), ip("2001:db8::3")];
        assert_eq!(choose(Some(sa("192.0.2.1:5")), &three, 5), Some(sa("192.0.2.2:5")));
        assert_eq!(choose(Some(sa("192.0.2.2:5")), &three, 5), Some(sa("[2001:db8::3]:5")));
        assert_eq!(choose(Some(sa("[2001:db8::3]:5")), &three, 5), Some(sa("192.0.2.1:5")));
        // Several answers, current not among them: the first.
        assert_eq!(choose(Some(sa("203.0.113.1:5")), &three, 5), Some(sa("192.0.2.1:5")));
        // Repeats of the current one are not "another" answer.
        assert_eq!(choose(Some(sa("192.0.2.1:5")), &[ip("192.0.2.1"), ip("192.0.2.1")], 5), None);
        // A v4-mapped device endpoint is the same address.
        assert_eq!(choose(Some(sa("[::ffff:203.0.113.7]:51820")), &one, 51820), None);
    }

    #[test]
    fn routable_answers_first_all_when_none_is() {
        let answers = [ip("2001:db8::7"), ip("203.0.113.7"), ip("203.0.113.8")];
        // No IPv6 route: the IPv4 answers only, in order.
        assert_eq!(prefer_routable(&answers, &[ip("203.0.113.7"), ip("203.0.113.8")]), [ip("203.0.113.7"), ip("203.0.113.8")]);
        // No route at all: every answer.
        assert_eq!(prefer_routable(&answers, &[]), answers);
        // A current IPv6 endpoint that has no route any more moves to IPv4.
        let usable = prefer_routable(&answers, &[ip("203.0.113.7"), ip("203.0.113.8")]);
        assert_eq!(choose(Some(sa("[2001:db8::7]:5")), &usable, 5), Some(sa("203.0.113.7:5")));
    }

    fn config(text: &str) -> Config {
        crate::config::parse_unstripped(text.as_bytes(), std::path::Path::new("/etc/wireguard/wg0.conf")).unwrap()
    }

    #[test]
    fn selection_and_plan() {
        let k = |n: u8| key(n).to_base64();
        let cfg = config(&format!(
            "[Interface]\nPrivateKey = {}\n\
             [Peer]\nPublicKey = {}\nEndpoint = stale.example:51820\nAllowedIPs = 10.0.0.1/32\n\
             [Peer]\nPublicKey = {}\nEndpoint = fresh.example:51820\n\
             [Peer]\nPublicKey = {}\nEndpoint = 192.0.2.9:51820\n\
             [Peer]\nPublicKey = {}\nEndpoint = gone.example:51820\n\
             [Peer]\nPublicKey = {}\n\
             [Peer]\nPublicKey = {}\nEndpoint = never.example:4\n",
            k(9),
            k(1),
            k(2),
            k(3),
            k(4),
            k(5),
            k(6)
        ));
        let now = Duration::from_secs(2_000_000);
        let peer = |n: u8, hs: Option<u64>, ep: &str| PeerState {
            public_key: key(n),
            last_handshake: hs.map(|s| now - Duration::from_secs(s)),
            endpoint: Some(sa(ep)),
            ..Default::default()
        };
        let dev = DeviceState {
            peers: vec![
                peer(1, Some(500), "198.51.100.1:51820"),
                peer(2, Some(10), "198.51.100.2:51820"),
                peer(3, Some(500), "192.0.2.9:51820"),
                peer(5, None, "198.51.100.5:1"),
                PeerState { public_key: key(6), ..Default::default() },
            ],
            ..Default::default()
        };
        let sel = select(&cfg, &dev, now, DEFAULT_STALE_AFTER);
        let skips: Vec<_> = sel.iter().filter_map(|r| r.as_ref().err().copied()).collect();
        assert_eq!(
            skips,
            [(key(2), Skip::Fresh), (key(3), Skip::Literal), (key(4), Skip::NotOnDevice), (key(5), Skip::NoEndpoint)]
        );
        let cands: Vec<Candidate> = sel.into_iter().filter_map(Result::ok).collect();
        assert_eq!(cands.len(), 2);
        assert_eq!((cands[0].host.as_str(), cands[0].port, cands[0].line), ("stale.example", 51820, 5));
        assert_eq!((cands[1].host.as_str(), cands[1].current), ("never.example", None));
        // stale.example moved; never.example's lookup failed: one op, for the first only.
        let lookups = vec![(cands[0].clone(), Ok(vec![ip("203.0.113.1")])), (cands[1].clone(), Err("NXDOMAIN"))];
        let plan = plan_reresolve("wg0", &lookups);
        assert_eq!(plan.ops, [Op::SetEndpoint { peer: key(1), endpoint: sa("203.0.113.1:51820") }]);
        assert_eq!(plan.to_string(), format!("[#] wg set wg0 peer {} endpoint 203.0.113.1:51820\n", k(1)));
        // Unchanged answers: an empty plan.
        let same = vec![(cands[0].clone(), Ok::<_, ()>(vec![ip("198.51.100.1")]))];
        assert!(plan_reresolve("wg0", &same).ops.is_empty());
    }
}
