//! `wgq p2p`: the decisions, as pure functions of the device's state, the hub's answers
//! and the clock (docs/p2p.md).
//!
//! The hub side: who asks (the peer whose allowed IPs route the query's source, as
//! WireGuard's cryptokey routing does), what it may learn (the other opted-in peers that
//! have an endpoint: key, observed endpoint, own host addresses), paged and rate limited.
//!
//! The peer side ([`Mesh::round`]): the other peers are added at run time with the hub's
//! endpoint for them and a persistent keepalive, so both sides send at once and punch
//! through their NATs; a peer's own tunnel addresses move from the hub's peer to it only
//! while the direct path is healthy (a handshake in the last [`SESSION_STALE`] seconds and
//! a packet in the last [`RX_STALE`]), and back when it is not; a peer that fell back waits
//! [`HOLD_FIRST`] seconds before going direct again, doubled at each flap up to
//! [`HOLD_MAX`] (hysteresis). Each round compares the wanted state with the device and plans
//! only the differences (update-only device changes), so a change lost or undone by someone
//! else (`wg syncconf`) is made again at the next round.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};

use crate::device::{DeviceConfig, DeviceState, PeerConfig, PeerState};
use crate::key::Key;
use crate::net::IpNet;
use crate::wire::p2p::{Entry, MAX_ADDRESSES, MAX_ENTRIES, MAX_PAGES, Message, Refusal};

use super::{Op, Plan};

/// The hub's UDP port (on its tunnel addresses only): one below WireGuard's usual 51820.
pub const DEFAULT_PORT: u16 = 51819;
/// How often a peer asks the hub (seconds).
pub const POLL_EVERY: u64 = 5;
/// The persistent keepalive of the peers `connect` adds: the NAT mappings stay open and
/// each side hears from the other at least this often while the path works.
pub const KEEPALIVE: u16 = 15;
/// No packet from a direct peer for this long (two keepalives and some): its path is stale.
pub const RX_STALE: u64 = 2 * KEEPALIVE as u64 + 10;
/// No handshake for this long: the session is dead (WireGuard's REJECT_AFTER_TIME).
pub const SESSION_STALE: u64 = 180;
/// After falling back to the hub, wait this long before going direct again...
pub const HOLD_FIRST: u64 = 30;
/// ...doubled at each fall back that follows a short direct period, up to this...
pub const HOLD_MAX: u64 = 600;
/// ...and back to [`HOLD_FIRST`] after a direct period this long.
pub const STABLE: u64 = 600;

/// How long after a peer was added (or its hold ended) the loop looks at the device four
/// times a second ([`Mesh::settling`]).
pub const SETTLING: u64 = 15;

/// A peer missing from the hub's answers for this long has left the mesh (a hub that was
/// restarted lists a peer only once it has handshaken with it again).
pub const LEAVE_AFTER: u64 = 30;

/// Queries an asking peer (whatever its source address) may send in a burst (a whole
/// listing of [`MAX_PAGES`] pages), and how many it earns per second after that (a listing
/// every [`POLL_EVERY`] seconds up to 80 pages a poll; the answer to each is bounded work:
/// the device is read at most once a second and the mesh listed once per read).
pub const RATE_BURST: u32 = MAX_PAGES as u32;
pub const RATE_PER_SEC: u32 = 16;
/// Askers the rate limiter remembers at once.
pub const RATE_SOURCES: usize = 4096;
/// The hub's budget for all askers together: a burst, then this many a second.
pub const GLOBAL_BURST: u32 = 4096;
pub const GLOBAL_PER_SEC: u32 = 2048;

/// The device's peer whose allowed IPs route `ip` (longest prefix wins), among `peers`.
pub fn owner_of<'a>(peers: impl IntoIterator<Item = &'a PeerState>, ip: IpAddr) -> Option<&'a PeerState> {
    let host = IpNet::new(ip, if ip.is_ipv4() { 32 } else { 128 });
    let mut best: Option<(&PeerState, u8)> = None;
    for p in peers {
        for a in &p.allowed_ips {
            if a.contains(&host) && best.is_none_or(|(_, l)| a.prefix > l) {
                best = Some((p, a.prefix));
            }
        }
    }
    best.map(|(p, _)| p)
}

/// A peer's own tunnel addresses: its single-host allowed IPs inside one of the
/// interface's subnets (routed networks behind it are left out), at most [`MAX_ADDRESSES`].
pub fn own_addresses(p: &PeerState, subnets: &[IpNet]) -> Vec<IpAddr> {
    p.allowed_ips
        .iter()
        .filter(|a| a.prefix == a.max_prefix() && subnets.iter().any(|s| s.prefix < s.max_prefix() && s.contains(a)))
        .map(|a| a.addr)
        .take(MAX_ADDRESSES)
        .collect()
}

/// The mesh as the hub tells it: every opted-in peer with an endpoint and an own address,
/// ordered by key (stable pages).
pub fn mesh_entries(dev: &DeviceState, opted_in: &HashSet<Key>, subnets: &[IpNet]) -> Vec<Entry> {
    let mut v: Vec<Entry> = dev
        .peers
        .iter()
        .filter(|p| opted_in.contains(&p.public_key))
        .filter_map(|p| {
            let endpoint = p.endpoint?;
            let addresses = own_addresses(p, subnets);
            (!addresses.is_empty()).then_some(Entry { public_key: p.public_key, endpoint, addresses })
        })
        .collect();
    v.sort_by_key(|e| e.public_key);
    v
}

/// What the hub answers from: one read of the device, the opt-ins and the interface's
/// subnets, with the mesh listed once (each query then costs a lookup of its asker and a
/// page of entries).
#[derive(Debug, Clone, Default)]
pub struct Listing {
    dev: DeviceState,
    opted: HashSet<Key>,
    subnets: Vec<IpNet>,
    entries: Vec<Entry>,
}

impl Listing {
    pub fn new(dev: DeviceState, opted_in: &[Key], subnets: &[IpNet]) -> Listing {
        let opted: HashSet<Key> = opted_in.iter().copied().collect();
        let entries = mesh_entries(&dev, &opted, subnets);
        Listing { dev, opted, subnets: subnets.to_vec(), entries }
    }

    /// Who asks from `src`: the peer whose allowed IPs route it, as WireGuard's cryptokey
    /// routing does, and only from one of its own host addresses (not from a host of a
    /// network it routes).
    pub fn asker(&self, src: IpAddr) -> Option<&PeerState> {
        owner_of(&self.dev.peers, src).filter(|p| own_addresses(p, &self.subnets).contains(&src))
    }

    /// The answer to `query` from `asker`, or `None` (not a query).
    pub fn answer(&self, asker: &PeerState, query: &Message) -> Option<Message> {
        let Message::Query { nonce, page } = *query else { return None };
        if !self.opted.contains(&asker.public_key) {
            return Some(Message::Refused { nonce, reason: Refusal::NotOptedIn });
        }
        let start = usize::from(page.min(MAX_PAGES)) * MAX_ENTRIES;
        // The asker is left out of its own listing (the entries after it move up).
        let all = self.entries.iter().filter(|e| e.public_key != asker.public_key);
        let mut rest = all.skip(start);
        let peers: Vec<Entry> = rest.by_ref().take(MAX_ENTRIES).cloned().collect();
        let more = rest.next().is_some() && page < MAX_PAGES - 1;
        Some(Message::Answer { nonce, page, more, peers })
    }

    /// What the hub sends back to a datagram from `src` (`query`, or `Err(nonce)` for a
    /// query of another version) at `now_ms`: nothing to a source that is not a peer's own
    /// address, nor beyond the asker's budget or the hub's.
    pub fn reply(&self, limit: &mut RateLimit, src: IpAddr, query: Result<&Message, u32>, now_ms: u64) -> Option<Message> {
        let asker = self.asker(src)?;
        if !limit.allow(asker.public_key, now_ms) {
            return None;
        }
        match query {
            Ok(q) => self.answer(asker, q),
            // Another version, from a peer of this interface: told which one is spoken.
            Err(nonce) => Some(Message::Refused { nonce, reason: Refusal::BadVersion }),
        }
    }
}

/// The hub's answer to `query` from `src` (a listing made for one query).
#[cfg(test)]
pub fn answer(dev: &DeviceState, opted_in: &[Key], subnets: &[IpNet], src: IpAddr, query: &Message) -> Option<Message> {
    let l = Listing::new(dev.clone(), opted_in, subnets);
    l.answer(l.asker(src)?, query)
}

/// A token bucket per asking peer, bounded in size, and one for the hub as a whole.
#[derive(Debug, Default)]
pub struct RateLimit {
    /// Tokens (in thousandths) and when they were counted (milliseconds).
    buckets: HashMap<Key, (u64, u64)>,
    global: Option<(u64, u64)>,
}

/// The tokens of a bucket `(tokens, at)` at `now_ms`, refilled at `per_sec`, up to `full`.
fn refill((t, at): (u64, u64), now_ms: u64, per_sec: u32, full: u64) -> u64 {
    t.saturating_add(now_ms.saturating_sub(at).saturating_mul(u64::from(per_sec))).min(full)
}

impl RateLimit {
    /// Whether a query of `asker` at `now_ms` may be answered.
    pub fn allow(&mut self, asker: Key, now_ms: u64) -> bool {
        let full = u64::from(RATE_BURST) * 1000;
        if !self.buckets.contains_key(&asker) && self.buckets.len() >= RATE_SOURCES {
            // Forget the askers whose buckets are full again (they lose nothing).
            self.buckets.retain(|_, b| refill(*b, now_ms, RATE_PER_SEC, full) < full);
            if self.buckets.len() >= RATE_SOURCES {
                return false;
            }
        }
        let b = self.buckets.entry(asker).or_insert((full, now_ms));
        let t = refill(*b, now_ms, RATE_PER_SEC, full);
        if t < 1000 {
            *b = (t, now_ms);
            return false;
        }
        let gfull = u64::from(GLOBAL_BURST) * 1000;
        let g = self.global.get_or_insert((gfull, now_ms));
        let gt = refill(*g, now_ms, GLOBAL_PER_SEC, gfull);
        if gt < 1000 {
            *g = (gt, now_ms);
            return false;
        }
        *g = (gt - 1000, now_ms);
        *b = (t - 1000, now_ms);
        true
    }
}

/// The path a mesh peer's addresses take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Hub,
    Direct,
}

/// One other peer of the mesh, as `connect` manages it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshPeer {
    pub public_key: Key,
    /// Its own tunnel addresses (from the hub, checked against the hub's peer).
    pub addresses: Vec<IpAddr>,
    /// Where the hub sees it.
    pub endpoint: SocketAddr,
    /// The endpoint last given to the device.
    pub applied: Option<SocketAddr>,
    pub via: Via,
    /// Since when (seconds since the epoch).
    pub since: u64,
    /// Addresses the hub's peer had as an exact host prefix when they moved (they go back
    /// to it; otherwise its wider prefix covers them again by itself).
    pub exact: Vec<IpAddr>,
    rx: u64,
    rx_at: Option<u64>,
    hold: u64,
    hold_until: u64,
    /// Since when the hub's answers have not listed it.
    missing_since: Option<u64>,
}

impl MeshPeer {
    fn new(e: &Entry, now: u64) -> MeshPeer {
        MeshPeer {
            public_key: e.public_key,
            addresses: e.addresses.clone(),
            endpoint: e.endpoint,
            applied: None,
            via: Via::Hub,
            since: now,
            exact: Vec::new(),
            rx: 0,
            rx_at: None,
            hold: 0,
            hold_until: 0,
            missing_since: None,
        }
    }

    fn host_nets(&self) -> Vec<IpNet> {
        self.addresses.iter().map(|&a| host(a)).collect()
    }
}

/// Whether `a` is a host of one of the interface's subnets (not its network or broadcast
/// prefix: a subnet of one host has none to share).
fn in_subnets(subnets: &[IpNet], a: IpAddr) -> bool {
    subnets.iter().any(|s| s.prefix < s.max_prefix() && s.contains(&host(a)))
}

/// Whether a device peer is as `connect` configures its peers: keepalive [`KEEPALIVE`] and
/// allowed IPs that are host prefixes of the interface's subnets (none while via the hub).
/// Any other state is someone else's (the file's, after `reload` or `wg syncconf`).
fn as_connect_gives(d: &PeerState, subnets: &[IpNet]) -> bool {
    d.persistent_keepalive == KEEPALIVE
        && d.allowed_ips.iter().all(|a| a.prefix == a.max_prefix() && in_subnets(subnets, a.addr))
}

fn host(a: IpAddr) -> IpNet {
    IpNet::new(a, if a.is_ipv4() { 32 } else { 128 })
}

/// What the hub said this round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubView {
    /// No (complete) answer: keep everything as it is.
    Silent,
    /// The other peers of the mesh (every page).
    Peers(Vec<Entry>),
    /// This peer is not (or no longer) in the mesh.
    NotOptedIn,
}

/// The peers `connect` manages on one interface, and the hub's peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mesh {
    pub hub: Option<Key>,
    pub peers: Vec<MeshPeer>,
}

/// Whether two lists hold the same prefixes (any order).
fn same_set(a: &[IpNet], b: &[IpNet]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.iter().any(|y| y.network() == x.network()))
}

impl Mesh {
    /// The mesh a restarted `connect` finds: the peers its record names that are still on
    /// the device, with the path the device gives them now.
    /// Only peers in the state `connect` gives them are taken (a leftover record must not
    /// hand over a peer the file defines); `own`: the interface's addresses.
    pub fn adopt(record: &P2pRecord, dev: &DeviceState, own: &[IpNet], now: u64) -> Mesh {
        let mut m = Mesh { hub: record.hub, peers: Vec::new() };
        for r in &record.peers {
            let Some(d) = dev.peers.iter().find(|p| p.public_key == r.public_key) else { continue };
            let Some(endpoint) = d.endpoint else { continue };
            if !as_connect_gives(d, own) {
                continue;
            }
            let addresses: Vec<IpAddr> = r.addresses.iter().copied().filter(|a| in_subnets(own, *a)).collect();
            let mut p = MeshPeer::new(&Entry { public_key: r.public_key, endpoint, addresses }, now);
            p.applied = Some(endpoint);
            p.exact = r.exact.iter().copied().filter(|a| in_subnets(own, *a)).collect();
            // A time in the future (a clock set back) counts from now.
            p.since = r.since.min(now);
            p.via = if d.allowed_ips.is_empty() { Via::Hub } else { Via::Direct };
            m.peers.push(p);
        }
        m
    }

    /// Peers the config file defines are never managed here: dropped from the mesh (not
    /// recorded any more), their device state left as the file made it.
    pub fn disown(&mut self, file_keys: &[Key]) {
        self.peers.retain(|p| !file_keys.contains(&p.public_key));
    }

    /// One round: the hub's view (if any) and the device now (`now`: seconds since the
    /// epoch) give the plan of device changes. `own`: this interface's addresses; `hub_ip`:
    /// the hub's tunnel address (its peer is the one that routes it).
    pub fn round(&mut self, ifname: &str, dev: &DeviceState, own: &[IpNet], hub_ip: IpAddr, view: &HubView, now: u64) -> Plan {
        let mut ops = Vec::new();
        // A peer of ours that the device now has in another state was configured by someone
        // else (the file, through `reload` or `wg syncconf`): it is theirs from now on, left
        // as it is and no longer recorded (so `save` keeps it).
        self.peers.retain(|p| dev.peers.iter().find(|d| d.public_key == p.public_key).is_none_or(|d| as_connect_gives(d, own)));
        let managed = |k: &Key, m: &Mesh| m.peers.iter().any(|p| p.public_key == *k);
        // The hub's peer: among the peers not managed here, the one routing the hub's address.
        let others: Vec<&PeerState> = dev.peers.iter().filter(|p| !managed(&p.public_key, self)).collect();
        let Some(hub) = owner_of(others.iter().copied(), hub_ip) else {
            return Plan { interface: ifname.to_string(), ops };
        };
        let hub_key = hub.public_key;
        self.hub = Some(hub_key);
        let hub_has_exact = |a: IpAddr| hub.allowed_ips.iter().any(|n| *n == host(a));
        // Which of an entry's addresses may move: routed by the hub's peer (or already moved
        // away from it), none of this interface's own.
        let movable = |a: &IpAddr, mine: Option<&MeshPeer>| {
            if own.iter().any(|o| o.addr == *a) || *a == hub_ip || !in_subnets(own, *a) {
                return false;
            }
            match owner_of(others.iter().copied(), *a) {
                Some(o) => o.public_key == hub_key,
                None => mine.is_some_and(|m| m.exact.contains(a)),
            }
        };
        let mut gone: Vec<Key> = Vec::new();
        match view {
            HubView::Silent => {}
            HubView::NotOptedIn => gone.extend(self.peers.iter().map(|p| p.public_key)),
            HubView::Peers(entries) => {
                for p in &mut self.peers {
                    if entries.iter().any(|e| e.public_key == p.public_key) {
                        p.missing_since = None;
                    } else if now.saturating_sub(*p.missing_since.get_or_insert(now)) >= LEAVE_AFTER {
                        gone.push(p.public_key);
                    }
                }
                for e in entries {
                    // Never this device itself, its hub, or a peer someone else configured.
                    if Some(e.public_key) == dev.public_key
                        || e.public_key == hub_key
                        || others.iter().any(|o| o.public_key == e.public_key)
                    {
                        if managed(&e.public_key, self) {
                            gone.push(e.public_key);
                        }
                        continue;
                    }
                    let mine = self.peers.iter().find(|p| p.public_key == e.public_key);
                    let addresses: Vec<IpAddr> = e.addresses.iter().copied().filter(|a| movable(a, mine)).collect();
                    if addresses.is_empty() {
                        if mine.is_some() {
                            gone.push(e.public_key);
                        }
                        continue;
                    }
                    let full = self.peers.len() >= usize::from(MAX_PAGES) * MAX_ENTRIES;
                    match self.peers.iter_mut().find(|p| p.public_key == e.public_key) {
                        Some(p) => {
                            p.endpoint = e.endpoint;
                            p.addresses = addresses;
                        }
                        None if !full => self.peers.push(MeshPeer::new(&Entry { addresses, ..e.clone() }, now)),
                        None => {}
                    }
                }
            }
        }
        // Peers that left: removed; the exact host prefixes they carried go back to the hub.
        gone.sort();
        gone.dedup();
        for k in &gone {
            let Some(i) = self.peers.iter().position(|p| p.public_key == *k) else { continue };
            let p = self.peers.remove(i);
            if dev.peers.iter().any(|d| d.public_key == *k) {
                ops.push(set(PeerConfig { public_key: *k, remove: true, ..Default::default() }));
            }
            let back: Vec<IpNet> = p.exact.iter().filter(|a| !hub_has_exact(**a)).map(|&a| host(a)).collect();
            if !back.is_empty() {
                ops.push(set(PeerConfig { public_key: hub_key, update_only: true, allowed_ips: back, ..Default::default() }));
            }
        }
        for p in &mut self.peers {
            let Some(d) = dev.peers.iter().find(|d| d.public_key == p.public_key) else {
                // Not on the device (new, or removed by someone else): added, via the hub.
                if p.via == Via::Direct {
                    p.via = Via::Hub;
                    p.since = now;
                }
                p.rx = 0;
                p.rx_at = None;
                p.applied = Some(p.endpoint);
                ops.push(set(PeerConfig {
                    public_key: p.public_key,
                    endpoint: Some(p.endpoint),
                    persistent_keepalive: Some(KEEPALIVE),
                    replace_allowed_ips: true,
                    ..Default::default()
                }));
                let back: Vec<IpNet> = p.exact.iter().filter(|a| !hub_has_exact(**a)).map(|&a| host(a)).collect();
                if !back.is_empty() {
                    ops.push(set(PeerConfig { public_key: hub_key, update_only: true, allowed_ips: back, ..Default::default() }));
                }
                p.exact.clear();
                continue;
            };
            if d.rx_bytes != p.rx {
                p.rx = d.rx_bytes;
                p.rx_at = Some(now);
            }
            // The hub sees it elsewhere now: follow (WireGuard's own roaming is not undone:
            // only a change of the hub's view is applied).
            if p.applied != Some(p.endpoint) || d.endpoint.is_none() {
                p.applied = Some(p.endpoint);
                ops.push(Op::SetEndpoint { peer: p.public_key, endpoint: p.endpoint });
            }
            let handshake_fresh =
                d.last_handshake.is_some_and(|t| !t.is_zero() && now.saturating_sub(t.as_secs()) <= SESSION_STALE);
            let heard = p.rx_at.is_some_and(|t| now.saturating_sub(t) <= RX_STALE);
            let healthy = handshake_fresh && heard;
            match p.via {
                Via::Hub if healthy && now >= p.hold_until => {
                    p.via = Via::Direct;
                    p.since = now;
                    p.exact = p.addresses.iter().copied().filter(|a| hub_has_exact(*a)).collect();
                }
                Via::Direct if !healthy => {
                    // Short direct periods lengthen the wait before the next one.
                    p.hold = if now.saturating_sub(p.since) >= STABLE || p.hold == 0 {
                        HOLD_FIRST
                    } else {
                        (p.hold * 2).min(HOLD_MAX)
                    };
                    p.hold_until = now + p.hold;
                    p.via = Via::Hub;
                    p.since = now;
                }
                _ => {}
            }
            let want = if p.via == Via::Direct { p.host_nets() } else { Vec::new() };
            if !same_set(&d.allowed_ips, &want) {
                ops.push(set(PeerConfig {
                    public_key: p.public_key,
                    update_only: true,
                    replace_allowed_ips: true,
                    allowed_ips: want,
                    ..Default::default()
                }));
            }
            if p.via == Via::Hub {
                // Exact host prefixes the hub's peer had go back to it.
                let back: Vec<IpNet> = p.exact.iter().filter(|a| !hub_has_exact(**a)).map(|&a| host(a)).collect();
                if !back.is_empty() {
                    ops.push(set(PeerConfig { public_key: hub_key, update_only: true, allowed_ips: back, ..Default::default() }));
                } else {
                    p.exact.clear();
                }
            }
        }
        Plan { interface: ifname.to_string(), ops }
    }

    /// Whether a peer may go direct any moment now: added (or back via the hub and free to
    /// go direct) in the last [`SETTLING`] seconds. The loop then looks at the device four
    /// times a second instead of once, so both sides move their addresses within a quarter
    /// of a second of the same handshake (until both have, each drops the other's packets).
    pub fn settling(&self, now: u64) -> bool {
        self.peers
            .iter()
            .any(|p| p.via == Via::Hub && now >= p.hold_until && now.saturating_sub(p.since.max(p.hold_until)) < SETTLING)
    }

    /// What the run state keeps of the mesh.
    pub fn record(&self) -> P2pRecord {
        P2pRecord {
            hub: self.hub,
            peers: self
                .peers
                .iter()
                .map(|p| RecordedPeer {
                    public_key: p.public_key,
                    via: p.via,
                    since: p.since,
                    addresses: p.addresses.clone(),
                    exact: p.exact.clone(),
                })
                .collect(),
        }
    }
}

/// A device change of one peer (nothing to restore: each runs on its own).
fn set(p: PeerConfig) -> Op {
    Op::SetPeers { update: DeviceConfig { peers: vec![p], ..Default::default() }, restore: DeviceConfig::default() }
}

/// What `connect` records in the run state (`<if>.p2p`): the peers it added (so `save`
/// never writes them and `reload` keeps them), their path and since when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct P2pRecord {
    pub hub: Option<Key>,
    pub peers: Vec<RecordedPeer>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedPeer {
    pub public_key: Key,
    pub via: Via,
    pub since: u64,
    pub addresses: Vec<IpAddr>,
    pub exact: Vec<IpAddr>,
}

fn join(v: &[IpAddr]) -> String {
    if v.is_empty() { "-".into() } else { v.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(",") }
}

fn split(s: &str) -> Vec<IpAddr> {
    s.split(',').filter_map(|a| a.parse().ok()).take(MAX_ADDRESSES).collect()
}

impl P2pRecord {
    /// `hub=KEY` and one `peer=KEY direct|hub SINCE ADDRS EXACT` line per peer.
    pub fn render(&self) -> String {
        let mut s = String::new();
        if let Some(h) = self.hub {
            s.push_str(&format!("hub={}\n", h.to_base64()));
        }
        for p in &self.peers {
            let via = if p.via == Via::Direct { "direct" } else { "hub" };
            s.push_str(&format!(
                "peer={} {via} {} {} {}\n",
                p.public_key.to_base64(),
                p.since,
                join(&p.addresses),
                join(&p.exact)
            ));
        }
        s
    }

    /// Reads a record; lines that do not parse are skipped (it is ours, but untrusted).
    pub fn parse(text: &str) -> P2pRecord {
        let mut r = P2pRecord::default();
        for l in text.lines().take(1 + usize::from(MAX_PAGES) * MAX_ENTRIES + 2) {
            if let Some(h) = l.strip_prefix("hub=") {
                r.hub = Key::from_base64(h.trim()).ok();
            } else if let Some(p) = l.strip_prefix("peer=") {
                let w: Vec<&str> = p.split_whitespace().collect();
                let [k, via, since, addrs, exact] = w[..] else { continue };
                let (Ok(public_key), Ok(since)) = (Key::from_base64(k), since.parse()) else { continue };
                let via = match via {
                    "direct" => Via::Direct,
                    "hub" => Via::Hub,
                    _ => continue,
                };
                r.peers.push(RecordedPeer { public_key, via, since, addresses: split(addrs), exact: split(exact) });
            }
        }
        r
    }

    /// The device as if `connect` had never run: its peers left out, the exact host
    /// prefixes they took from the hub's peer given back (what `save` writes and what
    /// `reload` compares with the file).
    ///
    /// `file_keys`: the peers the config file defines; they are the file's whatever the
    /// record says (a record left by a killed `connect`, or written before `reload` added
    /// the peer to the device from the file) and stay.
    pub fn strip(&self, dev: &mut DeviceState, file_keys: &[Key]) {
        let ours: Vec<&RecordedPeer> = self.peers.iter().filter(|r| !file_keys.contains(&r.public_key)).collect();
        dev.peers.retain(|p| !ours.iter().any(|r| r.public_key == p.public_key));
        let Some(hub) = self.hub else { return };
        if let Some(h) = dev.peers.iter_mut().find(|p| p.public_key == hub) {
            for a in ours.iter().flat_map(|p| &p.exact) {
                if !h.allowed_ips.contains(&host(*a)) {
                    h.allowed_ips.push(host(*a));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::p2p::{decode, encode};
    use std::time::Duration;

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

    #[test]
    fn longest_prefix_owner() {
        let peers = [peer(1, &["10.9.0.0/24"], None), peer(2, &["10.9.0.3/32", "192.168.3.0/24"], None)];
        assert_eq!(owner_of(&peers, ip("10.9.0.3")).unwrap().public_key, key(2));
        assert_eq!(owner_of(&peers, ip("10.9.0.4")).unwrap().public_key, key(1));
        assert_eq!(owner_of(&peers, ip("192.168.3.9")).unwrap().public_key, key(2));
        assert!(owner_of(&peers, ip("10.8.0.1")).is_none());
        assert!(owner_of(&peers, ip("fd00::1")).is_none());
    }

    fn hub_device() -> DeviceState {
        DeviceState {
            peers: vec![
                peer(1, &["10.9.0.2/32", "fd00::2/128", "192.168.1.0/24"], Some("198.51.100.2:40000")),
                peer(2, &["10.9.0.3/32"], Some("203.0.113.3:40001")),
                // Opted out:
                peer(3, &["10.9.0.4/32"], Some("203.0.113.4:40002")),
                // Opted in, never seen (no endpoint):
                peer(4, &["10.9.0.5/32"], None),
                // Opted in, only a routed network:
                peer(5, &["10.20.0.0/16"], Some("203.0.113.6:1")),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn hub_answers_only_opted_in_askers_with_opted_in_peers() {
        let dev = hub_device();
        let opted = [key(1), key(2), key(4), key(5)];
        let subnets = [net("10.9.0.1/24"), net("fd00::1/64")];
        let q = Message::Query { nonce: 42, page: 0 };
        // Peer 1 asks (from any of its addresses): it learns of peer 2 only.
        let a = answer(&dev, &opted, &subnets, ip("10.9.0.2"), &q).unwrap();
        assert_eq!(
            a,
            Message::Answer {
                nonce: 42,
                page: 0,
                more: false,
                peers: vec![Entry { public_key: key(2), endpoint: sa("203.0.113.3:40001"), addresses: vec![ip("10.9.0.3")] }]
            }
        );
        // Peer 2 learns of peer 1: its own host addresses, not its LAN.
        let Message::Answer { peers, .. } = answer(&dev, &opted, &subnets, ip("10.9.0.3"), &q).unwrap() else { panic!() };
        assert_eq!(peers.len(), 1);
        assert_eq!(peers[0].addresses, [ip("10.9.0.2"), ip("fd00::2")]);
        // Not from a host of its LAN (routed to peer 1, not one of its own addresses).
        assert_eq!(answer(&dev, &opted, &subnets, ip("192.168.1.7"), &q), None);
        // Peer 3 is not opted in: refused, told nothing.
        assert_eq!(
            answer(&dev, &opted, &subnets, ip("10.9.0.4"), &q),
            Some(Message::Refused { nonce: 42, reason: Refusal::NotOptedIn })
        );
        // A source no peer routes: silence. Answers are never answered.
        assert_eq!(answer(&dev, &opted, &subnets, ip("10.9.0.99"), &q), None);
        assert_eq!(
            answer(&dev, &opted, &subnets, ip("10.9.0.2"), &Message::Refused { nonce: 1, reason: Refusal::BadVersion }),
            None
        );
    }

    #[test]
    fn hub_pages() {
        let mut dev = DeviceState::default();
        for n in 1..=20u8 {
            dev.peers.push(peer(n, &[&format!("10.9.0.{}/32", n + 1)], Some("203.0.113.1:1")));
        }
        let opted: Vec<Key> = (1..=20).map(key).collect();
        let subnets = [net("10.9.0.1/24")];
        let mut seen = Vec::new();
        for page in 0..3u16 {
            let Some(Message::Answer { peers, more, .. }) =
                answer(&dev, &opted, &subnets, ip("10.9.0.2"), &Message::Query { nonce: 0, page })
            else {
                panic!()
            };
            assert_eq!(more, page < 2, "page {page}");
            assert!(peers.len() <= MAX_ENTRIES);
            seen.extend(peers.into_iter().map(|e| e.public_key));
        }
        assert_eq!(seen.len(), 19);
        assert!(!seen.contains(&key(1)));
        // Past the end: an empty last page; a huge page number costs nothing.
        let Some(Message::Answer { peers, more, .. }) =
            answer(&dev, &opted, &subnets, ip("10.9.0.2"), &Message::Query { nonce: 0, page: u16::MAX })
        else {
            panic!()
        };
        assert!(peers.is_empty() && !more);
    }

    #[test]
    fn rate_limit_per_asker_and_global() {
        let mut r = RateLimit::default();
        let (a, b) = (key(2), key(3));
        for _ in 0..RATE_BURST {
            assert!(r.allow(a, 1000));
        }
        assert!(!r.allow(a, 1000), "burst spent");
        assert!(r.allow(b, 1000), "another peer has its own bucket");
        let one = 1000u64.div_ceil(u64::from(RATE_PER_SEC));
        assert!(!r.allow(a, 1000 + one - 1), "not quite a token");
        assert!(r.allow(a, 1000 + one), "one token");
        assert!(!r.allow(a, 1000 + one));
        // Bounded memory: new askers beyond the limit are refused while all are busy...
        let mut r = RateLimit::default();
        let k = |i: u32| {
            let mut k = [0u8; 32];
            k[..4].copy_from_slice(&i.to_be_bytes());
            Key(k)
        };
        for i in 0..RATE_SOURCES as u32 {
            assert!(r.allow(k(i), 0));
        }
        assert!(!r.allow(k(RATE_SOURCES as u32), 0));
        assert_eq!(r.buckets.len(), RATE_SOURCES);
        // ...and accepted once the old ones are full again (forgotten).
        assert!(r.allow(k(RATE_SOURCES as u32), 10_000));
        assert_eq!(r.buckets.len(), 1);
        // The hub's own budget: many askers at once get GLOBAL_BURST answers in all.
        let mut r = RateLimit::default();
        let mut answered = 0u32;
        for i in 0..(GLOBAL_BURST / RATE_BURST + 8) {
            for _ in 0..RATE_BURST {
                r.buckets.clear();
                answered += u32::from(r.allow(k(i), 0));
            }
        }
        assert_eq!(answered, GLOBAL_BURST);
        assert!(r.allow(k(0), 1000), "refilled");
    }

    /// One peer with a routed LAN (a site gateway) gets one budget, whatever its source
    /// address, and no answer from a host of its LAN (review2 F-P4).
    #[test]
    fn one_peer_gets_one_budget() {
        let mut dev = hub_device();
        dev.peers[0].allowed_ips.push(net("192.168.0.0/16"));
        dev.peers[0].allowed_ips.push(net("10.9.0.12/32"));
        let l = Listing::new(dev, &[key(1), key(2)], &[net("10.9.0.1/24"), net("fd00::1/64")]);
        let q = Message::Query { nonce: 1, page: 0 };
        let mut r = RateLimit::default();
        let mut answered = 0u32;
        for i in 0..RATE_SOURCES as u32 {
            let src = IpAddr::V4((0xc0a8_0000u32 + i).into());
            answered += u32::from(l.reply(&mut r, src, Ok(&q), 0).is_some());
        }
        assert_eq!(answered, 0, "hosts of its LAN are not the peer");
        for src in ["10.9.0.2", "fd00::2", "10.9.0.12"].iter().cycle().take(3 * RATE_BURST as usize) {
            answered += u32::from(l.reply(&mut r, ip(src), Ok(&q), 0).is_some());
        }
        assert_eq!(answered, RATE_BURST, "one budget for all its addresses");
        // Another peer is not held back; another version is told so.
        assert!(matches!(l.reply(&mut r, ip("10.9.0.3"), Ok(&q), 0), Some(Message::Answer { .. })));
        assert_eq!(
            l.reply(&mut r, ip("10.9.0.3"), Err(7), 0),
            Some(Message::Refused { nonce: 7, reason: Refusal::BadVersion })
        );
    }

    const NOW: u64 = 2_000_000_000;

    /// A peer's device: the hub's peer routes 10.9.0.0/24 and fd00::/64.
    fn client(extra: Vec<PeerState>) -> DeviceState {
        let mut peers = vec![peer(9, &["10.9.0.0/24", "fd00::/64"], Some("192.0.2.1:51820"))];
        peers.extend(extra);
        DeviceState { public_key: Some(key(1)), peers, ..Default::default() }
    }
    fn own() -> Vec<IpNet> {
        vec![net("10.9.0.2/24")]
    }
    fn entry(n: u8, ep: &str, addrs: &[&str]) -> Entry {
        Entry { public_key: key(n), endpoint: sa(ep), addresses: addrs.iter().map(|a| ip(a)).collect() }
    }
    fn peer_ops(plan: &Plan) -> Vec<PeerConfig> {
        plan.ops
            .iter()
            .flat_map(|o| match o {
                Op::SetPeers { update, .. } => update.peers.clone(),
                Op::SetEndpoint { peer, endpoint } => {
                    vec![PeerConfig { public_key: *peer, endpoint: Some(*endpoint), update_only: true, ..Default::default() }]
                }
                _ => vec![],
            })
            .collect()
    }
    /// The device after the round's ops, as WireGuard would apply them (unique allowed IPs).
    fn apply(dev: &mut DeviceState, plan: &Plan) {
        for c in peer_ops(plan) {
            if c.remove {
                dev.peers.retain(|p| p.public_key != c.public_key);
                continue;
            }
            if !dev.peers.iter().any(|p| p.public_key == c.public_key) {
                assert!(!c.update_only);
                dev.peers.push(PeerState { public_key: c.public_key, ..Default::default() });
            }
            for n in &c.allowed_ips {
                for p in &mut dev.peers {
                    p.allowed_ips.retain(|a| a != n);
                }
            }
            let p = dev.peers.iter_mut().find(|p| p.public_key == c.public_key).unwrap();
            if let Some(e) = c.endpoint {
                p.endpoint = Some(e);
            }
            if let Some(k) = c.persistent_keepalive {
                p.persistent_keepalive = k;
            }
            if c.replace_allowed_ips {
                p.allowed_ips.clear();
            }
            p.allowed_ips.extend(c.allowed_ips.iter().copied());
        }
    }
    fn step(m: &mut Mesh, dev: &mut DeviceState, hub: IpAddr, view: &HubView, now: u64) {
        let p = m.round("wg0", dev, &own(), hub, view, now);
        apply(dev, &p);
    }
    fn handshake(dev: &mut DeviceState, n: u8, at: u64, rx: u64) {
        let p = dev.peers.iter_mut().find(|p| p.public_key == key(n)).unwrap();
        p.last_handshake = Some(Duration::from_secs(at));
        p.rx_bytes = rx;
    }
    fn allowed(dev: &DeviceState, n: u8) -> Vec<IpNet> {
        dev.peers.iter().find(|p| p.public_key == key(n)).map(|p| p.allowed_ips.clone()).unwrap_or_default()
    }

    #[test]
    fn added_then_direct_after_a_handshake_then_back_with_hysteresis() {
        let mut dev = client(vec![]);
        let mut m = Mesh::default();
        let hub = ip("10.9.0.1");
        let view = HubView::Peers(vec![entry(3, "203.0.113.3:40001", &["10.9.0.3", "10.9.0.77", "10.50.0.1"])]);
        // Round 1: added with endpoint and keepalive, no allowed IPs (still via the hub).
        let p = m.round("wg0", &dev, &own(), hub, &view, NOW);
        assert_eq!(
            peer_ops(&p),
            [PeerConfig {
                public_key: key(3),
                endpoint: Some(sa("203.0.113.3:40001")),
                persistent_keepalive: Some(KEEPALIVE),
                replace_allowed_ips: true,
                ..Default::default()
            }]
        );
        let k3 = key(3).to_base64();
        assert_eq!(
            p.to_string(),
            format!("[#] wg set wg0 peer {k3} endpoint 203.0.113.3:40001 persistent-keepalive 15 allowed-ips ''\n")
        );
        apply(&mut dev, &p);
        assert_eq!(m.hub, Some(key(9)));
        // 10.50.0.1 is not routed through the hub: never moved.
        assert_eq!(m.peers[0].addresses, [ip("10.9.0.3"), ip("10.9.0.77")]);
        // Just added: the loop looks closely for a while, then once a second.
        assert!(m.settling(NOW) && m.settling(NOW + SETTLING - 1) && !m.settling(NOW + SETTLING));
        // No handshake yet: nothing more, however long.
        assert!(m.round("wg0", &dev, &own(), hub, &HubView::Silent, NOW + 60).ops.is_empty());
        assert_eq!(m.peers[0].via, Via::Hub);
        // A handshake and packets: its own addresses move to it (update-only).
        handshake(&mut dev, 3, NOW + 61, 92);
        let p = m.round("wg0", &dev, &own(), hub, &HubView::Silent, NOW + 62);
        assert_eq!(
            peer_ops(&p),
            [PeerConfig {
                public_key: key(3),
                update_only: true,
                replace_allowed_ips: true,
                allowed_ips: vec![net("10.9.0.3/32"), net("10.9.0.77/32")],
                ..Default::default()
            }]
        );
        assert_eq!(p.to_string(), format!("[#] wg set wg0 peer {k3} allowed-ips 10.9.0.3/32,10.9.0.77/32\n"));
        apply(&mut dev, &p);
        assert_eq!((m.peers[0].via, m.peers[0].since), (Via::Direct, NOW + 62));
        // The hub's /24 is untouched (longest prefix wins for this address).
        assert_eq!(allowed(&dev, 9), [net("10.9.0.0/24"), net("fd00::/64")]);
        // Packets keep coming: it stays.
        handshake(&mut dev, 3, NOW + 61, 500);
        assert!(m.round("wg0", &dev, &own(), hub, &HubView::Silent, NOW + 62 + RX_STALE).ops.is_empty());
        // Silence for longer than RX_STALE: back to the hub.
        let t = NOW + 63 + 2 * RX_STALE;
        let p = m.round("wg0", &dev, &own(), hub, &HubView::Silent, t);
        assert_eq!(peer_ops(&p)[0].allowed_ips, []);
        assert!(peer_ops(&p)[0].replace_allowed_ips);
        apply(&mut dev, &p);
        assert_eq!(m.peers[0].via, Via::Hub);
        assert!(!m.settling(t + 1), "held back: no need to look closely");
        assert!(m.settling(t + HOLD_FIRST), "free to go direct again");
        // Packets again at once: held back for HOLD_FIRST seconds (no flapping)...
        handshake(&mut dev, 3, t + 1, 900);
        assert!(m.round("wg0", &dev, &own(), hub, &HubView::Silent, t + 1).ops.is_empty());
        assert!(m.round("wg0", &dev, &own(), hub, &HubView::Silent, t + HOLD_FIRST - 1).ops.is_empty());
        // ...then direct again.
        handshake(&mut dev, 3, t + HOLD_FIRST, 1000);
        let p = m.round("wg0", &dev, &own(), hub, &HubView::Silent, t + HOLD_FIRST);
        assert_eq!(peer_ops(&p).len(), 1);
        apply(&mut dev, &p);
        // A second short direct period: the next wait is twice as long.
        let t2 = t + HOLD_FIRST + RX_STALE + 1;
        step(&mut m, &mut dev, hub, &HubView::Silent, t2);
        assert_eq!(m.peers[0].via, Via::Hub);
        handshake(&mut dev, 3, t2 + 1, 2000);
        assert!(m.round("wg0", &dev, &own(), hub, &HubView::Silent, t2 + HOLD_FIRST + 1).ops.is_empty());
        assert!(!m.round("wg0", &dev, &own(), hub, &HubView::Silent, t2 + 2 * HOLD_FIRST).ops.is_empty());
    }

    #[test]
    fn a_session_older_than_reject_time_is_stale() {
        let mut dev = client(vec![]);
        let mut m = Mesh::default();
        let hub = ip("10.9.0.1");
        let view = HubView::Peers(vec![entry(3, "203.0.113.3:1", &["10.9.0.3"])]);
        step(&mut m, &mut dev, hub, &view, NOW);
        handshake(&mut dev, 3, NOW - SESSION_STALE - 1, 10);
        assert!(m.round("wg0", &dev, &own(), hub, &HubView::Silent, NOW).ops.is_empty(), "rx alone is not a handshake");
        assert_eq!(m.peers[0].via, Via::Hub);
    }

    #[test]
    fn endpoint_changes_removal_and_others_left_alone() {
        // Peer 4 is in the file (someone else's): never touched even when the hub names it.
        let mut dev = client(vec![peer(4, &["10.9.0.4/32"], Some("192.0.2.4:1"))]);
        let mut m = Mesh::default();
        let hub = ip("10.9.0.1");
        let view = HubView::Peers(vec![
            entry(3, "203.0.113.3:1", &["10.9.0.3"]),
            entry(4, "203.0.113.4:1", &["10.9.0.4"]),
            entry(1, "203.0.113.1:1", &["10.9.0.2"]),
            entry(9, "192.0.2.1:51820", &["10.9.0.1"]),
        ]);
        let p = m.round("wg0", &dev, &own(), hub, &view, NOW);
        assert_eq!(peer_ops(&p).iter().map(|c| c.public_key).collect::<Vec<_>>(), [key(3)]);
        apply(&mut dev, &p);
        // The hub sees peer 3 elsewhere: its endpoint follows (update-only), once.
        let moved = HubView::Peers(vec![entry(3, "203.0.113.33:7", &["10.9.0.3"])]);
        let p = m.round("wg0", &dev, &own(), hub, &moved, NOW + 5);
        assert_eq!(p.ops, [Op::SetEndpoint { peer: key(3), endpoint: sa("203.0.113.33:7") }]);
        apply(&mut dev, &p);
        assert!(m.round("wg0", &dev, &own(), hub, &moved, NOW + 10).ops.is_empty());
        // WireGuard roamed by itself (an authenticated packet from elsewhere): left as it is.
        dev.peers.iter_mut().find(|p| p.public_key == key(3)).unwrap().endpoint = Some(sa("203.0.113.34:8"));
        assert!(m.round("wg0", &dev, &own(), hub, &moved, NOW + 15).ops.is_empty());
        // Removed by someone else (wg syncconf): added back.
        dev.peers.retain(|p| p.public_key != key(3));
        let p = m.round("wg0", &dev, &own(), hub, &HubView::Silent, NOW + 20);
        assert_eq!(peer_ops(&p)[0].endpoint, Some(sa("203.0.113.33:7")));
        apply(&mut dev, &p);
        // The hub stops answering: nothing is removed.
        assert!(m.round("wg0", &dev, &own(), hub, &HubView::Silent, NOW + 25).ops.is_empty());
        // It no longer lists peer 3 (left the mesh, or the hub restarted and has not seen it
        // yet): kept for LEAVE_AFTER seconds, listed again meanwhile it stays...
        assert!(m.round("wg0", &dev, &own(), hub, &HubView::Peers(vec![]), NOW + 30).ops.is_empty());
        assert!(m.round("wg0", &dev, &own(), hub, &HubView::Peers(vec![]), NOW + 29 + LEAVE_AFTER).ops.is_empty());
        assert!(m.round("wg0", &dev, &own(), hub, &moved, NOW + 30 + LEAVE_AFTER).ops.is_empty());
        assert!(m.round("wg0", &dev, &own(), hub, &HubView::Peers(vec![]), NOW + 31 + LEAVE_AFTER).ops.is_empty());
        // ...then removed.
        let p = m.round("wg0", &dev, &own(), hub, &HubView::Peers(vec![]), NOW + 31 + 2 * LEAVE_AFTER);
        assert_eq!(peer_ops(&p), [PeerConfig { public_key: key(3), remove: true, ..Default::default() }]);
        apply(&mut dev, &p);
        assert!(m.peers.is_empty());
        assert_eq!(dev.peers.len(), 2);
    }

    #[test]
    fn exact_host_prefixes_of_the_hub_go_back_to_it() {
        // The hub's peer lists each address on its own.
        let mut dev = DeviceState {
            public_key: Some(key(1)),
            peers: vec![peer(9, &["10.9.0.1/32", "10.9.0.3/32"], Some("192.0.2.1:51820"))],
            ..Default::default()
        };
        let mut m = Mesh::default();
        let hub = ip("10.9.0.1");
        let view = HubView::Peers(vec![entry(3, "203.0.113.3:1", &["10.9.0.3"])]);
        step(&mut m, &mut dev, hub, &view, NOW);
        handshake(&mut dev, 3, NOW, 10);
        step(&mut m, &mut dev, hub, &view, NOW + 1);
        assert_eq!(allowed(&dev, 3), [net("10.9.0.3/32")]);
        assert_eq!(allowed(&dev, 9), [net("10.9.0.1/32")], "WireGuard moved it");
        assert_eq!(m.peers[0].exact, [ip("10.9.0.3")]);
        // The record strips the mesh for save/reload: the hub's peer as in the file.
        let rec = P2pRecord::parse(&m.record().render());
        assert_eq!(rec, m.record());
        let mut saved = dev.clone();
        rec.strip(&mut saved, &[]);
        assert_eq!(saved.peers.len(), 1);
        assert_eq!(allowed(&saved, 9), [net("10.9.0.1/32"), net("10.9.0.3/32")]);
        // Still movable although the hub's peer lost it (a later hub answer keeps it).
        step(&mut m, &mut dev, hub, &view, NOW + 2);
        assert_eq!(m.peers[0].addresses, [ip("10.9.0.3")]);
        // Stale: back to the hub's peer.
        let p = m.round("wg0", &dev, &own(), hub, &HubView::Silent, NOW + 2 + SESSION_STALE);
        assert_eq!(
            p.to_string(),
            format!(
                "[#] wg set wg0 peer {} allowed-ips ''\n[#] wg set wg0 peer {} allowed-ips +10.9.0.3/32\n",
                key(3).to_base64(),
                key(9).to_base64()
            )
        );
        apply(&mut dev, &p);
        assert_eq!(allowed(&dev, 3), []);
        assert_eq!(allowed(&dev, 9), [net("10.9.0.1/32"), net("10.9.0.3/32")]);
        // The peer leaves while direct: removed, and the address goes back too.
        handshake(&mut dev, 3, NOW + 300, 99);
        step(&mut m, &mut dev, hub, &HubView::Silent, NOW + 2 + SESSION_STALE + HOLD_FIRST + 1);
        assert_eq!(allowed(&dev, 3), [net("10.9.0.3/32")]);
        step(&mut m, &mut dev, hub, &HubView::NotOptedIn, NOW + 400);
        assert_eq!(dev.peers.len(), 1);
        assert_eq!(allowed(&dev, 9), [net("10.9.0.1/32"), net("10.9.0.3/32")]);
    }

    #[test]
    fn adopt_after_restart_and_record_lines() {
        let rec = P2pRecord::parse(&format!(
            "hub={}\npeer={} direct 77 10.9.0.3,fd00::3 -\npeer={} hub 5 10.9.0.4 -\npeer=bogus hub 1 - -\npeer={} sideways 1 - -\n",
            key(9).to_base64(),
            key(3).to_base64(),
            key(4).to_base64(),
            key(5).to_base64()
        ));
        assert_eq!(rec.hub, Some(key(9)));
        assert_eq!(rec.peers.len(), 2);
        assert_eq!(rec.peers[0].addresses, [ip("10.9.0.3"), ip("fd00::3")]);
        let mut dev = client(vec![
            PeerState { persistent_keepalive: KEEPALIVE, ..peer(3, &["10.9.0.3/32"], Some("203.0.113.3:1")) },
            // Peer 5 as the file has it (its LAN, another keepalive): never taken over.
            PeerState { persistent_keepalive: 25, ..peer(5, &["10.9.0.5/32", "192.168.5.0/24"], Some("203.0.113.5:1")) },
        ]);
        let m = Mesh::adopt(&rec, &dev, &own(), NOW);
        assert_eq!(m.peers.len(), 1, "peer 4 is gone from the device");
        assert_eq!((m.peers[0].via, m.peers[0].since), (Via::Direct, 77));
        // Only addresses of the interface's subnets are kept (fd00::3 is not one of them).
        assert_eq!(m.peers[0].addresses, [ip("10.9.0.3")]);
        // A leftover record that names a peer the file defines.
        let rec5 = P2pRecord::parse(&format!("peer={} direct 1 10.9.0.5 -\n", key(5).to_base64()));
        assert!(Mesh::adopt(&rec5, &dev, &own(), NOW).peers.is_empty(), "adopted a peer in the file's state");
        // A keepalive other than connect's: someone else's.
        dev.peers[1].persistent_keepalive = 0;
        assert!(Mesh::adopt(&rec, &dev, &own(), NOW).peers.is_empty());
        // A `since` in the future (the clock was set back) counts from now: it does not
        // keep `settling` true for ever.
        let future = P2pRecord::parse(&format!("peer={} hub {} 10.9.0.3 -\n", key(3).to_base64(), NOW + 1_000_000));
        dev.peers[1].persistent_keepalive = KEEPALIVE;
        dev.peers[1].allowed_ips.clear();
        let m = Mesh::adopt(&future, &dev, &own(), NOW);
        assert_eq!(m.peers[0].since, NOW);
        assert!(!m.settling(NOW + SETTLING));
    }

    /// review2 F-P1: a full-tunnel client (hub's peer routes 0.0.0.0/0, the usual road-warrior
    /// file) lets the hub's answer move ANY address to a mesh peer, not only "the peers' own
    /// tunnel addresses" (docs/p2p.md): `movable` checks only that the hub's peer routes it,
    /// never that it is a host of this interface's subnets.
    #[test]
    fn answered_addresses_outside_the_interface_subnets_never_move() {
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

    /// review2 F-P2: a peer that connect manages and that the FILE defines as well (added
    /// with `wgq reload`/`wg syncconf` after connect added it at run time) has its allowed IPs
    /// overwritten by the next round (its LAN dropped), and `save` then drops it from the
    /// file because the record names it.
    #[test]
    fn a_peer_the_file_defines_later_is_not_overwritten() {
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
        assert_eq!(peer_ops(&p).len(), 1);
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
            !peer_ops(&p).iter().any(|c| c.public_key == key(3)),
            "connect overwrote a peer it did not configure: {p}"
        );
        // save's view: the record strips it.
        let mut saved = dev.clone();
        m.record().strip(&mut saved, &[]);
        assert!(saved.peers.iter().any(|p| p.public_key == key(3)), "save would drop a peer the file defines");
    }

    /// A peer the file defines with just what connect would give it (keepalive 15, its host
    /// address): told apart by the file's keys; a record that still names it (a killed
    /// `connect`) does not make save or reload drop it.
    #[test]
    fn a_peer_the_file_names_is_disowned_and_kept_by_strip() {
        let mut dev = client(vec![]);
        let hub = ip("10.9.0.1");
        let mut m = Mesh::default();
        let view = HubView::Peers(vec![entry(3, "203.0.113.3:1", &["10.9.0.3"])]);
        step(&mut m, &mut dev, hub, &view, NOW);
        let rec = m.record();
        m.disown(&[key(3)]);
        assert!(m.peers.is_empty());
        assert!(m.round("wg0", &dev, &own(), hub, &view, NOW + 1).ops.is_empty(), "the file's peer is left alone");
        let mut saved = dev.clone();
        rec.strip(&mut saved, &[key(9), key(3)]);
        assert_eq!(saved.peers.len(), 2);
        rec.strip(&mut saved, &[key(9)]);
        assert_eq!(saved.peers.len(), 1);
    }

    /// Decoding random and mutated bytes never panics (a quick fuzz).
    #[test]
    fn decode_fuzz() {
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
        }

    /// review2 F-P5: with more than 512 opted-in peers, a query for page u16::MAX overflows
    /// `page + 1` in `answer` (a panic in debug builds, "no input may panic"; in release it
    /// wraps and answers page 64's peers with `more` set).
    #[test]
    fn last_page_number_does_not_overflow() {
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
}
