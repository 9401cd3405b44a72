//! Failing tests of the review of `wgq p2p` (review2). Each names its finding.

use super::*;
use crate::wire::p2p::{decode, encode};
use std::time::Duration;

const NOW: u64 = 2_000_000_000;

fn key(n: u8) -> Key {
    Key([n; 32])
}
fn net(s: &str) -> IpNet {
    IpNet::parse(s).unwrap()
}
fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}
fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}
fn peer(n: u8, allowed: &[&str], ep: Option<&str>) -> PeerState {
    PeerState {
        public_key: key(n),
        allowed_ips: allowed.iter().map(|a| net(a)).collect(),
        endpoint: ep.map(sa),
        ..Default::default()
    }
}
fn entry(n: u8, ep: &str, addrs: &[&str]) -> Entry {
    Entry { public_key: key(n), endpoint: sa(ep), addresses: addrs.iter().map(|a| ip(a)).collect() }
}
fn touched(plan: &Plan) -> Vec<PeerConfig> {
    plan.ops
        .iter()
        .flat_map(|o| match o {
            Op::SetPeers { update, .. } => update.peers.clone(),
            _ => vec![],
        })
        .collect()
}

/// F-P1 (medium): a full-tunnel client (hub's peer routes 0.0.0.0/0, the usual road-warrior
/// file) lets the hub's answer move ANY address to a mesh peer, not only "the peers' own
/// tunnel addresses" (docs/p2p.md): `movable` checks only that the hub's peer routes it,
/// never that it is a host of this interface's subnets.
#[test]
fn review_answered_addresses_outside_the_interface_subnets_never_move() {
    let dev = DeviceState {
        public_key: Some(key(1)),
        peers: vec![peer(9, &["0.0.0.0/0", "::/0"], Some("192.0.2.1:51820"))],
        ..Default::default()
    };
    let own = vec![net("10.9.0.2/24")];
    let mut m = Mesh::default();
    let view = HubView::Peers(vec![entry(3, "203.0.113.3:1", &["10.9.0.3", "1.1.1.1", "192.168.1.1", "2001:db8::53"])]);
    let _ = m.round("wg0", &dev, &own, ip("10.9.0.1"), &view, NOW);
    assert_eq!(m.peers[0].addresses, [ip("10.9.0.3")], "only hosts of 10.9.0.0/24 may go direct");
}

/// F-P2 (medium): a peer that connect manages and that the FILE defines as well (added
/// with `wgq reload`/`wg syncconf` after connect added it at run time) has its allowed IPs
/// overwritten by the next round (its LAN dropped), and `save` then drops it from the
/// file because the record names it.
#[test]
fn review_a_peer_the_file_defines_later_is_not_overwritten() {
    let mut dev = DeviceState {
        public_key: Some(key(1)),
        peers: vec![peer(9, &["10.9.0.0/24"], Some("192.0.2.1:51820"))],
        ..Default::default()
    };
    let own = vec![net("10.9.0.2/24")];
    let hub = ip("10.9.0.1");
    let mut m = Mesh::default();
    let view = HubView::Peers(vec![entry(3, "203.0.113.3:1", &["10.9.0.3"])]);
    let p = m.round("wg0", &dev, &own, hub, &view, NOW);
    assert_eq!(touched(&p).len(), 1);
    // The admin makes peer 3 static: the file now has it with its LAN; reload adds it.
    dev.peers.push(PeerState {
        public_key: key(3),
        endpoint: Some(sa("203.0.113.3:1")),
        persistent_keepalive: 25,
        allowed_ips: vec![net("10.9.0.3/32"), net("192.168.3.0/24")],
        ..Default::default()
    });
    let p = m.round("wg0", &dev, &own, hub, &HubView::Silent, NOW + 1);
    assert!(
        !touched(&p).iter().any(|c| c.public_key == key(3)),
        "connect overwrote a peer it did not configure: {p}"
    );
    // save's view: the record strips it.
    let mut saved = dev.clone();
    m.record().strip(&mut saved, &[]);
    assert!(saved.peers.iter().any(|p| p.public_key == key(3)), "save would drop a peer the file defines");
}

/// F-P3 (low): a hub's answer may point a mesh peer's endpoint at loopback, broadcast or
/// the asker's own LAN; WireGuard then sends handshake initiations there every 5 s.
#[test]
fn review_loopback_and_broadcast_endpoints_refused() {
    for ep in ["127.0.0.1:53", "255.255.255.255:67", "[::1]:53"] {
        let m = Message::Answer { nonce: 1, page: 0, more: false, peers: vec![entry(3, ep, &["10.9.0.3"])] };
        assert!(decode(&encode(&m).unwrap()).is_err(), "{ep} accepted as a peer's public endpoint");
    }
}

/// F-P4 (low/medium): the hub's rate limit is per SOURCE ADDRESS, not per asking peer: one
/// peer with a routed LAN (a site gateway) gets RATE_SOURCES times the budget and can keep
/// the table full so that new askers are refused.
#[test]
fn review_one_peer_gets_one_budget() {
    let mut r = RateLimit::default();
    let mut answered = 0u32;
    for i in 0..RATE_SOURCES as u32 {
        // 192.168.(i/256).(i%256): all routed to one peer's 192.168.0.0/16
        let src = IpAddr::V4((0xc0a8_0000u32 + i).into());
        for _ in 0..RATE_BURST {
            answered += u32::from(r.allow(src, 0));
        }
    }
    assert!(answered <= RATE_BURST, "one peer had {answered} answers at once (burst {RATE_BURST})");
}

/// Decoding random and mutated bytes never panics (quick fuzz; passes).
#[test]
fn review_decode_fuzz() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let valid = encode(&Message::Answer {
        nonce: 0,
        page: 0,
        more: true,
        peers: (0..8).map(|n| entry(n, "[2001:db8::1]:1", &["10.9.0.3", "fd00::1", "10.9.0.4", "fd00::2"])).collect(),
    })
    .unwrap();
    for i in 0..300_000u32 {
        let mut b: Vec<u8> = if i % 2 == 0 {
            let n = (rnd() % 1300) as usize;
            let mut v: Vec<u8> = (0..n).map(|_| rnd() as u8).collect();
            if n >= 6 {
                v[..6].copy_from_slice(&[b'w', b'g', b'q', b'P', 1, (rnd() % 4) as u8]);
            }
            v
        } else {
            valid.clone()
        };
        for _ in 0..(rnd() % 4) {
            if b.is_empty() {
                break;
            }
            let at = (rnd() as usize) % b.len();
            match rnd() % 3 {
                0 => b[at] = rnd() as u8,
                1 => b.truncate(at),
                _ => b.insert(at, rnd() as u8),
            }
        }
        let _ = decode(&b);
    }
    let _ = Duration::ZERO;
}

/// F-P5 (low): with more than 512 opted-in peers, a query for page u16::MAX overflows
/// `page + 1` in `answer` (a panic in debug builds, "no input may panic"; in release it
/// wraps and answers page 64's peers with `more` set).
#[test]
fn review_last_page_number_does_not_overflow() {
    let mut dev = DeviceState::default();
    let mut opted = Vec::new();
    for n in 0..530u32 {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&n.to_be_bytes());
        let a = IpAddr::V4((0x0a09_0000u32 + n + 2).into());
        dev.peers.push(PeerState {
            public_key: Key(k),
            allowed_ips: vec![IpNet::new(a, 32)],
            endpoint: Some(sa("203.0.113.1:1")),
            ..Default::default()
        });
        opted.push(Key(k));
    }
    let subnets = [net("10.9.0.1/16")];
    let r = std::panic::catch_unwind(|| {
        answer(&dev, &opted, &subnets, ip("10.9.0.2"), &Message::Query { nonce: 0, page: u16::MAX })
    });
    assert!(r.is_ok(), "answer panicked on page u16::MAX");
}
