//! WireGuard generic-netlink messages: building, splitting and parsing (pure).
//!
//! A SET_DEVICE request is split so that every message fits `limit` bytes (wg(8) uses the
//! page size): at peer granularity, and inside one peer at allowed-IP granularity. Only the
//! first message carries the device flags (REPLACE_PEERS), and only a peer's first
//! fragment carries its flags (REPLACE_ALLOWEDIPS) and settings; later fragments repeat
//! the public key and add allowed IPs.
//!
//! The WireGuard family's messages are written and read here, byte by byte (attributes of
//! `include/uapi/linux/wireguard.h`): a 20,000-peer device is hundreds of messages, and
//! building them as trees of attribute values (netlink-packet-wireguard, which the tests
//! keep as the reference encoder and decoder) cost more than the kernel's own work.

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkDeserializable, NetlinkHeader, NetlinkMessage, NetlinkPayload,
    NetlinkSerializable,
};
use netlink_packet_generic::{
    GenlMessage,
    ctrl::{GenlCtrl, GenlCtrlCmd, nlas::GenlCtrlAttrs},
};

use super::{DeviceConfig, DeviceState, PeerConfig, PeerState};
use crate::key::{Key, SecretKey};
use crate::net::IpNet;

/// One WireGuard genl message: the family and the payload after the netlink header (the
/// genl header and the attributes), wiped when dropped (it may hold keys).
#[derive(Clone, PartialEq, Eq)]
pub struct RawGenl {
    family: u16,
    payload: Vec<u8>,
}

impl Drop for RawGenl {
    fn drop(&mut self) {
        crate::key::wipe(&mut self.payload);
    }
}

impl std::fmt::Debug for RawGenl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the bytes: they may hold keys.
        write!(f, "RawGenl {{ family: {}, {} bytes }}", self.family, self.payload.len())
    }
}

impl NetlinkSerializable for RawGenl {
    fn message_type(&self) -> u16 {
        self.family
    }
    fn buffer_len(&self) -> usize {
        self.payload.len()
    }
    fn serialize(&self, buffer: &mut [u8]) {
        buffer[..self.payload.len()].copy_from_slice(&self.payload);
    }
}

/// A reply that is not one: too short for a genl header.
#[derive(Debug)]
pub struct ShortMessage;

impl std::fmt::Display for ShortMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a generic netlink message shorter than its header")
    }
}

impl std::error::Error for ShortMessage {}

impl NetlinkDeserializable for RawGenl {
    type Error = ShortMessage;
    fn deserialize(header: &NetlinkHeader, payload: &[u8]) -> Result<Self, ShortMessage> {
        if payload.len() < 4 {
            return Err(ShortMessage);
        }
        Ok(RawGenl { family: header.message_type, payload: payload.to_vec() })
    }
}

pub type WgMsg = NetlinkMessage<RawGenl>;

/// The default size limit of one SET_DEVICE message: the page size, as wg(8) uses.
pub const DEFAULT_LIMIT: usize = 4096;
/// netlink header (16) + genl header (4).
const HEADERS: usize = 20;

const NLA_F_NESTED: u16 = 0x8000;
const WG_CMD_GET_DEVICE: u8 = 0;
const WG_CMD_SET_DEVICE: u8 = 1;
const WG_GENL_VERSION: u8 = 1;
const WGDEVICE_A_IFNAME: u16 = 2;
const WGDEVICE_A_PRIVATE_KEY: u16 = 3;
const WGDEVICE_A_PUBLIC_KEY: u16 = 4;
const WGDEVICE_A_FLAGS: u16 = 5;
const WGDEVICE_A_LISTEN_PORT: u16 = 6;
const WGDEVICE_A_FWMARK: u16 = 7;
const WGDEVICE_A_PEERS: u16 = 8;
const WGDEVICE_F_REPLACE_PEERS: u32 = 1;
const WGPEER_A_PUBLIC_KEY: u16 = 1;
const WGPEER_A_PRESHARED_KEY: u16 = 2;
const WGPEER_A_FLAGS: u16 = 3;
const WGPEER_A_ENDPOINT: u16 = 4;
const WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL: u16 = 5;
const WGPEER_A_LAST_HANDSHAKE_TIME: u16 = 6;
const WGPEER_A_RX_BYTES: u16 = 7;
const WGPEER_A_TX_BYTES: u16 = 8;
const WGPEER_A_ALLOWEDIPS: u16 = 9;
const WGPEER_F_REMOVE_ME: u32 = 1;
const WGPEER_F_REPLACE_ALLOWEDIPS: u32 = 2;
const WGPEER_F_UPDATE_ONLY: u32 = 4;
const WGALLOWEDIP_A_FAMILY: u16 = 1;
const WGALLOWEDIP_A_IPADDR: u16 = 2;
const WGALLOWEDIP_A_CIDR_MASK: u16 = 3;
const WGALLOWEDIP_A_FLAGS: u16 = 4;
const WGALLOWEDIP_F_REMOVE_ME: u32 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// Attribute sizes: header and value, padded to 4.
const fn nla(value: usize) -> usize {
    (4 + value + 3) & !3
}
const fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// A genl payload being written: the genl header, then attributes; nests are patched with
/// their length when closed.
struct Writer(Vec<u8>);

impl Writer {
    fn new(cmd: u8, capacity: usize) -> Writer {
        let mut v = Vec::with_capacity(capacity);
        v.extend_from_slice(&[cmd, WG_GENL_VERSION, 0, 0]);
        Writer(v)
    }
    fn attr(&mut self, kind: u16, value: &[u8]) {
        self.0.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        self.0.extend_from_slice(&kind.to_ne_bytes());
        self.0.extend_from_slice(value);
        self.0.resize(align(self.0.len()), 0);
    }
    fn u16(&mut self, kind: u16, v: u16) {
        self.attr(kind, &v.to_ne_bytes());
    }
    fn u32(&mut self, kind: u16, v: u32) {
        self.attr(kind, &v.to_ne_bytes());
    }
    fn nest(&mut self, kind: u16) -> usize {
        let at = self.0.len();
        self.0.extend_from_slice(&[0, 0]);
        self.0.extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        at
    }
    fn close(&mut self, at: usize) {
        let len = (self.0.len() - at) as u16;
        self.0[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }
    fn finish(self, family: u16, flags: u16) -> WgMsg {
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        let mut m = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(RawGenl { family, payload: self.0 }));
        m.finalize();
        m
    }
}

/// CTRL_CMD_GETFAMILY for "wireguard".
pub fn resolve_family_request() -> NetlinkMessage<GenlMessage<GenlCtrl>> {
    let mut m = NetlinkMessage::from(GenlMessage::from_payload(GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName("wireguard".into())],
    }));
    m.header.flags = NLM_F_REQUEST | NLM_F_ACK;
    m.finalize();
    m
}

/// The family id in a CTRL_CMD_GETFAMILY reply.
pub fn family_id(reply: &GenlMessage<GenlCtrl>) -> Option<u16> {
    reply.payload.nlas.iter().find_map(|a| if let GenlCtrlAttrs::FamilyId(id) = a { Some(*id) } else { None })
}

fn ifname_attr(w: &mut Writer, ifname: &str) {
    let mut v = Vec::with_capacity(ifname.len() + 1);
    v.extend_from_slice(ifname.as_bytes());
    v.push(0);
    w.attr(WGDEVICE_A_IFNAME, &v);
}

/// WG_CMD_GET_DEVICE dump for one interface.
pub fn get_request(family: u16, ifname: &str) -> WgMsg {
    let mut w = Writer::new(WG_CMD_GET_DEVICE, 64);
    ifname_attr(&mut w, ifname);
    w.finish(family, NLM_F_REQUEST | NLM_F_DUMP)
}

fn sockaddr(e: &std::net::SocketAddr) -> Vec<u8> {
    let mut b = Vec::with_capacity(28);
    match e {
        std::net::SocketAddr::V4(v) => {
            b.extend_from_slice(&AF_INET.to_ne_bytes());
            b.extend_from_slice(&v.port().to_be_bytes());
            b.extend_from_slice(&v.ip().octets());
            b.extend_from_slice(&[0; 8]);
        }
        std::net::SocketAddr::V6(v) => {
            b.extend_from_slice(&AF_INET6.to_ne_bytes());
            b.extend_from_slice(&v.port().to_be_bytes());
            b.extend_from_slice(&v.flowinfo().to_ne_bytes());
            b.extend_from_slice(&v.ip().octets());
            b.extend_from_slice(&v.scope_id().to_ne_bytes());
        }
    }
    b
}

/// The bytes of a peer's first fragment without allowed IPs (a nest's content), its
/// settings as the kernel takes them.
fn peer_head_len(p: &PeerConfig) -> usize {
    let mut n = nla(32);
    if p.remove || p.update_only || p.replace_allowed_ips {
        n += nla(4);
    }
    if p.remove {
        return n;
    }
    if p.preshared_key.is_some() {
        n += nla(32);
    }
    if let Some(e) = p.endpoint {
        n += nla(if e.is_ipv4() { 16 } else { 28 });
    }
    if p.persistent_keepalive.is_some() {
        n += nla(2);
    }
    n
}

fn write_peer_head(w: &mut Writer, p: &PeerConfig) {
    w.attr(WGPEER_A_PUBLIC_KEY, &p.public_key.0);
    let mut flags = 0;
    if p.remove {
        flags |= WGPEER_F_REMOVE_ME;
    }
    if p.update_only {
        flags |= WGPEER_F_UPDATE_ONLY;
    }
    if p.replace_allowed_ips {
        flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
    }
    if flags != 0 {
        w.u32(WGPEER_A_FLAGS, flags);
    }
    if p.remove {
        return;
    }
    if let Some(k) = &p.preshared_key {
        w.attr(WGPEER_A_PRESHARED_KEY, k.as_bytes());
    }
    if let Some(e) = &p.endpoint {
        w.attr(WGPEER_A_ENDPOINT, &sockaddr(e));
    }
    if let Some(k) = p.persistent_keepalive {
        w.u16(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, k);
    }
}

/// An allowed IP's nest (as counted when splitting: its size plus 4 to spare).
fn allowed_ip_len(n: &IpNet, remove: bool) -> usize {
    4 + nla(2) + nla(if n.is_ipv6() { 16 } else { 4 }) + nla(1) + if remove { nla(4) } else { 0 }
}

fn write_allowed_ip(w: &mut Writer, n: &IpNet, remove: bool) {
    let at = w.nest(0);
    match n.addr {
        std::net::IpAddr::V4(a) => {
            w.u16(WGALLOWEDIP_A_FAMILY, AF_INET);
            w.attr(WGALLOWEDIP_A_IPADDR, &a.octets());
        }
        std::net::IpAddr::V6(a) => {
            w.u16(WGALLOWEDIP_A_FAMILY, AF_INET6);
            w.attr(WGALLOWEDIP_A_IPADDR, &a.octets());
        }
    }
    w.attr(WGALLOWEDIP_A_CIDR_MASK, &[n.prefix]);
    if remove {
        // Only when asked: kernels before 6.16 refuse the attribute.
        w.u32(WGALLOWEDIP_A_FLAGS, WGALLOWEDIP_F_REMOVE_ME);
    }
    w.close(at);
}

/// Splits a SET_DEVICE request into messages of at most `limit` bytes each, collected (for
/// tests; the kernel backend streams them with [`each_set_request`]).
#[cfg(test)]
pub fn set_requests(family: u16, ifname: &str, cfg: &DeviceConfig, limit: usize) -> Vec<WgMsg> {
    let mut msgs = Vec::new();
    let _ = each_set_request(family, ifname, cfg, limit, |m| {
        msgs.push(m);
        Ok::<(), std::convert::Infallible>(())
    });
    msgs
}

/// One SET_DEVICE message being filled: its writer, the open peers nest, and whether it
/// has a peer yet.
struct SetMsg {
    w: Writer,
    peers: Option<usize>,
}

/// Splits a SET_DEVICE request into messages of at most `limit` bytes each, built one at a
/// time and handed to `emit` as soon as each is complete (so a 20,000-peer device never
/// exists as messages all at once); the first error of `emit` stops it.
pub fn each_set_request<E>(
    family: u16,
    ifname: &str,
    cfg: &DeviceConfig,
    limit: usize,
    mut emit: impl FnMut(WgMsg) -> Result<(), E>,
) -> Result<(), E> {
    let limit = limit.max(512);
    let name_len = nla(ifname.len() + 1);
    // The first message: the interface and the device's settings.
    let mut first = SetMsg { w: Writer::new(WG_CMD_SET_DEVICE, limit), peers: None };
    ifname_attr(&mut first.w, ifname);
    let mut base = HEADERS + name_len;
    if let Some(k) = &cfg.private_key {
        first.w.attr(WGDEVICE_A_PRIVATE_KEY, k.as_bytes());
        base += nla(32);
    }
    if let Some(p) = cfg.listen_port {
        first.w.u16(WGDEVICE_A_LISTEN_PORT, p);
        base += nla(2);
    }
    if let Some(m) = cfg.fwmark {
        first.w.u32(WGDEVICE_A_FWMARK, m);
        base += nla(4);
    }
    if cfg.replace_peers {
        first.w.u32(WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS);
        base += nla(4);
    }
    let mut sent = 0usize;
    let mut cur = first;
    // Bytes used by everything but the peers list, plus an empty peers nest.
    let mut used = base + 4;
    // Later messages carry only the interface.
    let later_base = HEADERS + name_len;
    let mut flush = |cur: &mut SetMsg, sent: &mut usize| {
        let mut next = SetMsg { w: Writer::new(WG_CMD_SET_DEVICE, limit), peers: None };
        ifname_attr(&mut next.w, ifname);
        let mut done = std::mem::replace(cur, next);
        if let Some(at) = done.peers.take() {
            done.w.close(at);
        }
        *sent += 1;
        emit(done.w.finish(family, NLM_F_REQUEST | NLM_F_ACK))
    };
    for p in &cfg.peers {
        let mut head_only_key = false;
        let mut ips = p.allowed_ips.iter().map(|n| (n, false)).chain(p.remove_allowed_ips.iter().map(|n| (n, true))).peekable();
        loop {
            let head = if head_only_key { nla(32) } else { peer_head_len(p) };
            // The peer nest's header, its head, and the allowed IPs nest's header.
            let head_len = 4 + head + 4;
            // The first allowed IP goes with the head whatever its size: it must fit too.
            let first_ip = ips.peek().map_or(0, |(ip, remove)| allowed_ip_len(ip, *remove) + 4);
            if used + head_len + first_ip > limit && cur.peers.is_some() {
                flush(&mut cur, &mut sent)?;
                used = later_base + 4;
            }
            if cur.peers.is_none() {
                cur.peers = Some(cur.w.nest(WGDEVICE_A_PEERS));
            }
            let peer_at = cur.w.nest(0);
            if head_only_key {
                cur.w.attr(WGPEER_A_PUBLIC_KEY, &p.public_key.0);
            } else {
                write_peer_head(&mut cur.w, p);
            }
            let mut size = used + head_len;
            let mut ips_at = None;
            while let Some((ip, remove)) = ips.peek() {
                let l = allowed_ip_len(ip, *remove) + 4;
                if size + l > limit && ips_at.is_some() {
                    break;
                }
                size += l;
                if ips_at.is_none() {
                    ips_at = Some(cur.w.nest(WGPEER_A_ALLOWEDIPS));
                }
                write_allowed_ip(&mut cur.w, ip, *remove);
                ips.next();
            }
            if let Some(at) = ips_at {
                cur.w.close(at);
            }
            cur.w.close(peer_at);
            used = size;
            if ips.peek().is_none() {
                break;
            }
            // Continuation: the key alone, then more allowed IPs, in the next message.
            flush(&mut cur, &mut sent)?;
            used = later_base + 4;
            head_only_key = true;
        }
    }
    if cur.peers.is_some() || sent == 0 || cur.w.0.len() > 4 + name_len {
        flush(&mut cur, &mut sent)?;
    }
    Ok(())
}

/// The attributes of a payload (after the genl header), as (kind without flags, value).
fn attrs(mut b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if b.len() < 4 {
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([b[0], b[1]]));
        let kind = u16::from_ne_bytes([b[2], b[3]]) & 0x3fff;
        if len < 4 || len > b.len() {
            return None;
        }
        let value = &b[4..len];
        b = &b[align(len).min(b.len())..];
        Some((kind, value))
    })
}

fn key32(v: &[u8]) -> Option<[u8; 32]> {
    v.try_into().ok()
}

fn ne_u16(v: &[u8]) -> Option<u16> {
    Some(u16::from_ne_bytes(v.get(..2)?.try_into().ok()?))
}

fn ne_u32(v: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(v.get(..4)?.try_into().ok()?))
}

fn ne_u64(v: &[u8]) -> Option<u64> {
    Some(u64::from_ne_bytes(v.get(..8)?.try_into().ok()?))
}

fn parse_sockaddr(v: &[u8]) -> Option<std::net::SocketAddr> {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
    let port = u16::from_be_bytes(v.get(2..4)?.try_into().ok()?);
    match v.len() {
        16 => Some(SocketAddrV4::new(Ipv4Addr::from(<[u8; 4]>::try_from(&v[4..8]).ok()?), port).into()),
        28 => {
            let ip = Ipv6Addr::from(<[u8; 16]>::try_from(&v[8..24]).ok()?);
            Some(SocketAddrV6::new(ip, port, ne_u32(&v[4..8])?, ne_u32(&v[24..28])?).into())
        }
        _ => None,
    }
}

/// Merges the messages of a GET_DEVICE dump into one device state. A peer continued in
/// the next message (same public key as the last one) gets its allowed IPs appended.
pub fn parse_dump(msgs: &[RawGenl]) -> DeviceState {
    let mut d = DeviceState::default();
    for m in msgs {
        let Some(body) = m.payload.get(4..) else { continue };
        for (kind, v) in attrs(body) {
            match kind {
                WGDEVICE_A_IFNAME => {
                    d.name = String::from_utf8_lossy(v.split(|&b| b == 0).next().unwrap_or_default()).into_owned()
                }
                WGDEVICE_A_PRIVATE_KEY => {
                    d.private_key = key32(v).map(SecretKey::from_bytes).filter(|k| !k.is_zero());
                }
                WGDEVICE_A_PUBLIC_KEY => d.public_key = key32(v).map(Key).filter(|k| !k.is_zero()),
                WGDEVICE_A_LISTEN_PORT => d.listen_port = ne_u16(v).unwrap_or(0),
                WGDEVICE_A_FWMARK => d.fwmark = ne_u32(v).unwrap_or(0),
                WGDEVICE_A_PEERS => {
                    for (_, p) in attrs(v) {
                        merge_peer(&mut d.peers, p);
                    }
                }
                _ => {}
            }
        }
    }
    d
}

fn merge_peer(peers: &mut Vec<PeerState>, p: &[u8]) {
    let key = attrs(p).find_map(|(k, v)| if k == WGPEER_A_PUBLIC_KEY { key32(v).map(Key) } else { None });
    let Some(key) = key else { return };
    if peers.last().is_none_or(|l| l.public_key != key) {
        peers.push(PeerState { public_key: key, ..Default::default() });
    }
    let Some(s) = peers.last_mut() else { return };
    for (kind, v) in attrs(p) {
        match kind {
            WGPEER_A_PRESHARED_KEY => s.preshared_key = key32(v).map(SecretKey::from_bytes).filter(|k| !k.is_zero()),
            WGPEER_A_ENDPOINT => s.endpoint = parse_sockaddr(v).filter(|e| !e.ip().is_unspecified() || e.port() != 0),
            WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL => s.persistent_keepalive = ne_u16(v).unwrap_or(0),
            WGPEER_A_LAST_HANDSHAKE_TIME => {
                s.last_handshake = super::handshake_time(ne_u64(v).unwrap_or(0), v.get(8..).and_then(ne_u64).unwrap_or(0));
            }
            WGPEER_A_RX_BYTES => s.rx_bytes = ne_u64(v).unwrap_or(0),
            WGPEER_A_TX_BYTES => s.tx_bytes = ne_u64(v).unwrap_or(0),
            WGPEER_A_ALLOWEDIPS => {
                for (_, ip) in attrs(v) {
                    let mut addr = None;
                    let mut cidr = None;
                    for (k, x) in attrs(ip) {
                        match k {
                            WGALLOWEDIP_A_IPADDR => {
                                addr = match x.len() {
                                    4 => <[u8; 4]>::try_from(x).ok().map(std::net::IpAddr::from),
                                    16 => <[u8; 16]>::try_from(x).ok().map(std::net::IpAddr::from),
                                    _ => None,
                                }
                            }
                            WGALLOWEDIP_A_CIDR_MASK => cidr = x.first().copied(),
                            _ => {}
                        }
                    }
                    if let (Some(a), Some(c)) = (addr, cidr) {
                        s.allowed_ips.push(IpNet::new(a, c));
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::NetlinkDeserializable;
    use netlink_packet_wireguard::{
        WireguardAllowedIp, WireguardAllowedIpAttr, WireguardAllowedIpFlags, WireguardAttribute as D, WireguardCmd,
        WireguardMessage, WireguardPeer, WireguardPeerAttribute as P, WireguardPeerFlags, WireguardTimeSpec,
    };

    mod reference {
        use netlink_packet_core::{
            Emitable, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
        };
        use netlink_packet_generic::GenlMessage;
        use netlink_packet_wireguard::{
            WireguardAddressFamily, WireguardAllowedIp, WireguardAllowedIpAttr, WireguardAllowedIpFlags, WireguardAttribute as D,
            WireguardCmd, WireguardDeviceFlags, WireguardMessage, WireguardPeer, WireguardPeerAttribute as P, WireguardPeerFlags,
        };

        use super::super::{DeviceConfig, DeviceState, HEADERS, PeerConfig, PeerState};
        use crate::key::{Key, SecretKey};
        use crate::net::IpNet;

        pub type WgMsg = NetlinkMessage<GenlMessage<WireguardMessage>>;

        fn wrap(family: u16, cmd: WireguardCmd, attributes: Vec<D>, flags: u16) -> WgMsg {
            let mut g = GenlMessage::from_payload(WireguardMessage { cmd, attributes });
            g.set_resolved_family_id(family);
            let mut header = NetlinkHeader::default();
            header.flags = flags;
            let mut m = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(g));
            m.finalize();
            m
        }

        /// WG_CMD_GET_DEVICE dump for one interface.
        pub fn get_request(family: u16, ifname: &str) -> WgMsg {
            wrap(family, WireguardCmd::GetDevice, vec![D::IfName(ifname.into())], NLM_F_REQUEST | NLM_F_DUMP)
        }

        fn allowed_ip(n: &IpNet, remove: bool) -> WireguardAllowedIp {
            let fam = if n.is_ipv6() { WireguardAddressFamily::Ipv6 } else { WireguardAddressFamily::Ipv4 };
            let mut v = vec![
                WireguardAllowedIpAttr::Family(fam),
                WireguardAllowedIpAttr::IpAddr(n.addr),
                WireguardAllowedIpAttr::Cidr(n.prefix),
            ];
            if remove {
                // Only when asked: kernels before 6.16 refuse the attribute.
                v.push(WireguardAllowedIpAttr::Flags(WireguardAllowedIpFlags::RemoveMe));
            }
            WireguardAllowedIp(v)
        }

        /// The attributes of a peer's first fragment, without allowed IPs.
        fn peer_head(p: &PeerConfig) -> Vec<P> {
            let mut v = vec![P::PublicKey(p.public_key.0)];
            let mut flags = WireguardPeerFlags::empty();
            if p.remove {
                flags |= WireguardPeerFlags::RemoveMe;
            }
            if p.update_only {
                flags |= WireguardPeerFlags::UpdateOnly;
            }
            if p.replace_allowed_ips {
                flags |= WireguardPeerFlags::ReplaceAllowedIps;
            }
            if !flags.is_empty() {
                v.push(P::Flags(flags));
            }
            if p.remove {
                return v;
            }
            if let Some(k) = &p.preshared_key {
                v.push(P::PresharedKey(*k.as_bytes()));
            }
            if let Some(e) = p.endpoint {
                v.push(P::Endpoint(e));
            }
            if let Some(k) = p.persistent_keepalive {
                v.push(P::PersistentKeepalive(k));
            }
            v
        }

        /// Splits a SET_DEVICE request into messages of at most `limit` bytes each, collected (for
        /// tests; the kernel backend streams them with [`each_set_request`]).
        #[cfg(test)]
        pub fn set_requests(family: u16, ifname: &str, cfg: &DeviceConfig, limit: usize) -> Vec<WgMsg> {
            let mut msgs = Vec::new();
            let _ = each_set_request(family, ifname, cfg, limit, |m| {
                msgs.push(m);
                Ok::<(), std::convert::Infallible>(())
            });
            msgs
        }

        /// Splits a SET_DEVICE request into messages of at most `limit` bytes each, built one at a
        /// time and handed to `emit` as soon as each is complete (so a 20,000-peer device never exists as messages all at once); the
        /// first error of `emit` stops it.
        pub fn each_set_request<E>(
            family: u16,
            ifname: &str,
            cfg: &DeviceConfig,
            limit: usize,
            mut emit: impl FnMut(WgMsg) -> Result<(), E>,
        ) -> Result<(), E> {
            let limit = limit.max(512);
            let mut first = vec![D::IfName(ifname.into())];
            if let Some(k) = &cfg.private_key {
                first.push(D::PrivateKey(*k.as_bytes()));
            }
            if let Some(p) = cfg.listen_port {
                first.push(D::ListenPort(p));
            }
            if let Some(m) = cfg.fwmark {
                first.push(D::Fwmark(m));
            }
            if cfg.replace_peers {
                first.push(D::Flags(WireguardDeviceFlags::ReplacePeers));
            }
            let sent = std::cell::Cell::new(0usize);
            let mut dev_attrs = first;
            let mut peers: Vec<WireguardPeer> = Vec::new();
            // Bytes used by everything but the peers list.
            let base = |attrs: &Vec<D>| HEADERS + attrs.as_slice().buffer_len();
            // An empty peers nest costs 4 bytes; each peer nest 4 more plus its content.
            let mut used = base(&dev_attrs) + 4;
            let mut flush = |dev_attrs: &mut Vec<D>, peers: &mut Vec<WireguardPeer>| {
                let mut attrs = std::mem::replace(dev_attrs, vec![D::IfName(ifname.into())]);
                if !peers.is_empty() {
                    attrs.push(D::Peers(std::mem::take(peers)));
                }
                sent.set(sent.get() + 1);
                emit(wrap(family, WireguardCmd::SetDevice, attrs, NLM_F_REQUEST | NLM_F_ACK))
            };
            for p in &cfg.peers {
                let mut head = peer_head(p);
                let mut ips =
                    p.allowed_ips.iter().map(|n| (n, false)).chain(p.remove_allowed_ips.iter().map(|n| (n, true))).peekable();
                loop {
                    let head_len = WireguardPeer(head.clone()).buffer_len() + 4 /* AllowedIps nest */;
                    let first_ip = ips.peek().map_or(0, |(ip, remove)| allowed_ip(ip, *remove).buffer_len() + 4);
                    if used + head_len + first_ip > limit && !peers.is_empty() {
                        flush(&mut dev_attrs, &mut peers)?;
                        used = base(&dev_attrs) + 4;
                    }
                    let mut chunk = Vec::new();
                    let mut size = used + head_len;
                    while let Some((ip, remove)) = ips.peek() {
                        let a = allowed_ip(ip, *remove);
                        let l = a.buffer_len() + 4;
                        if size + l > limit && !chunk.is_empty() {
                            break;
                        }
                        size += l;
                        chunk.push(a);
                        ips.next();
                    }
                    let mut attrs = head.clone();
                    if !chunk.is_empty() {
                        attrs.push(P::AllowedIps(chunk));
                    }
                    peers.push(WireguardPeer(attrs));
                    used = size;
                    if ips.peek().is_none() {
                        break;
                    }
                    // Continuation: the key alone, then more allowed IPs, in the next message.
                    flush(&mut dev_attrs, &mut peers)?;
                    used = base(&dev_attrs) + 4;
                    head = vec![P::PublicKey(p.public_key.0)];
                }
            }
            if !peers.is_empty() || sent.get() == 0 || dev_attrs.len() > 1 {
                flush(&mut dev_attrs, &mut peers)?;
            }
            Ok(())
        }

        /// Merges the messages of a GET_DEVICE dump into one device state. A peer continued in
        /// the next message (same public key as the last one) gets its allowed IPs appended.
        pub fn parse_dump(msgs: &[GenlMessage<WireguardMessage>]) -> DeviceState {
            let mut d = DeviceState::default();
            for m in msgs {
                for a in &m.payload.attributes {
                    match a {
                        D::IfName(n) => d.name = n.clone(),
                        D::PrivateKey(k) => d.private_key = Some(SecretKey::from_bytes(*k)).filter(|k| !k.is_zero()),
                        D::PublicKey(k) => d.public_key = Some(Key(*k)).filter(|k| !k.is_zero()),
                        D::ListenPort(p) => d.listen_port = *p,
                        D::Fwmark(f) => d.fwmark = *f,
                        D::Peers(ps) => {
                            for p in ps {
                                merge_peer(&mut d.peers, p);
                            }
                        }
                        _ => {}
                    }
                }
            }
            d
        }

        fn merge_peer(peers: &mut Vec<PeerState>, p: &WireguardPeer) {
            let key = p.0.iter().find_map(|a| if let P::PublicKey(k) = a { Some(Key(*k)) } else { None });
            let Some(key) = key else { return };
            if peers.last().is_none_or(|l| l.public_key != key) {
                peers.push(PeerState { public_key: key, ..Default::default() });
            }
            let Some(s) = peers.last_mut() else { return };
            for a in &p.0 {
                match a {
                    P::PresharedKey(k) => s.preshared_key = Some(SecretKey::from_bytes(*k)).filter(|k| !k.is_zero()),
                    P::Endpoint(e) => s.endpoint = Some(*e).filter(|e| !e.ip().is_unspecified() || e.port() != 0),
                    P::PersistentKeepalive(k) => s.persistent_keepalive = *k,
                    P::LastHandshake(t) => {
                        s.last_handshake = (t.seconds > 0 || t.nano_seconds > 0)
                            .then(|| std::time::Duration::new(t.seconds as u64, t.nano_seconds as u32))
                    }
                    P::RxBytes(b) => s.rx_bytes = *b,
                    P::TxBytes(b) => s.tx_bytes = *b,
                    P::AllowedIps(ips) => {
                        for ip in ips {
                            let mut addr = None;
                            let mut cidr = None;
                            for x in &ip.0 {
                                match x {
                                    WireguardAllowedIpAttr::IpAddr(a) => addr = Some(*a),
                                    WireguardAllowedIpAttr::Cidr(c) => cidr = Some(*c),
                                    _ => {}
                                }
                            }
                            if let (Some(a), Some(c)) = (addr, cidr) {
                                s.allowed_ips.push(IpNet::new(a, c));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn key(i: u32) -> Key {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&i.to_be_bytes());
        k[31] = 1;
        Key(k)
    }

    fn server(peers: u32, ips_each: u32) -> DeviceConfig {
        DeviceConfig {
            private_key: Some(SecretKey::from_bytes(key(999_999).0)),
            listen_port: Some(51820),
            fwmark: None,
            replace_peers: true,
            peers: (0..peers)
                .map(|i| PeerConfig {
                    public_key: key(i),
                    preshared_key: (i % 3 == 0).then(|| SecretKey::from_bytes(key(i + 7).0)),
                    endpoint: match i % 4 {
                        0 => Some(format!("192.0.2.{}:{}", i % 250, 1000 + i % 60000).parse().unwrap()),
                        1 => Some(format!("[2001:db8::{:x}]:{}", i, 2000 + i % 60000).parse().unwrap()),
                        2 => Some(std::net::SocketAddr::V6(std::net::SocketAddrV6::new("fe80::1".parse().unwrap(), 7, 0, 3))),
                        _ => None,
                    },
                    persistent_keepalive: (i % 5 != 0).then_some(25),
                    replace_allowed_ips: i % 7 != 0,
                    update_only: i % 11 == 0,
                    allowed_ips: (0..ips_each)
                        .map(|j| {
                            let n = i * ips_each + j;
                            if j % 2 == 0 {
                                IpNet::parse(&format!("10.{}.{}.{}/32", n >> 16 & 255, n >> 8 & 255, n & 255)).unwrap()
                            } else {
                                IpNet::parse(&format!("fd00::{:x}:{:x}/128", n >> 16, n & 0xffff)).unwrap()
                            }
                        })
                        .collect(),
                    remove_allowed_ips: if i % 13 == 0 { vec![IpNet::parse("10.255.0.0/16").unwrap()] } else { vec![] },
                    ..Default::default()
                })
                .collect(),
        }
    }

    fn emit<M: netlink_packet_core::NetlinkSerializable>(m: &NetlinkMessage<M>) -> Vec<u8> {
        let mut b = vec![0u8; m.buffer_len()];
        m.serialize(&mut b);
        b
    }

    /// A message as the kernel reads it (netlink-packet-wireguard's decoder).
    fn decode(m: &WgMsg) -> GenlMessage<WireguardMessage> {
        let b = emit(m);
        let mut h = NetlinkHeader::default();
        h.length = b.len() as u32;
        h.message_type = 0x15;
        GenlMessage::<WireguardMessage>::deserialize(&h, &b[16..]).unwrap()
    }

    /// Emits every message, parses it back as the kernel would, and merges.
    fn round_trip(msgs: &[WgMsg], limit: usize) -> DeviceState {
        let mut parsed = Vec::new();
        for m in msgs {
            assert!(emit(m).len() <= limit, "message of {} bytes over the {limit} limit", emit(m).len());
            parsed.push(decode(m));
        }
        reference::parse_dump(&parsed)
    }

    fn expect_same(cfg: &DeviceConfig, got: &DeviceState) {
        assert_eq!(got.private_key, cfg.private_key);
        assert_eq!(got.listen_port, cfg.listen_port.unwrap_or(0));
        assert_eq!(got.peers.len(), cfg.peers.len());
        for (p, s) in cfg.peers.iter().zip(&got.peers) {
            assert_eq!(p.public_key, s.public_key);
            assert_eq!(p.preshared_key, s.preshared_key);
            assert_eq!(p.endpoint, s.endpoint);
            let mut all = p.allowed_ips.clone();
            all.extend(p.remove_allowed_ips.iter().cloned());
            assert_eq!(all, s.allowed_ips);
        }
    }

    #[test]
    fn the_same_bytes_as_the_reference_encoder() {
        let mut cases = vec![
            (server(50, 30), vec![512, 1024, 3000, DEFAULT_LIMIT]),
            (server(2_000, 2), vec![DEFAULT_LIMIT]),
            (server(1, 10_000), vec![DEFAULT_LIMIT, 700]),
            (DeviceConfig { listen_port: Some(1), ..Default::default() }, vec![DEFAULT_LIMIT]),
            (DeviceConfig::default(), vec![DEFAULT_LIMIT]),
            (DeviceConfig { replace_peers: true, fwmark: Some(7), ..Default::default() }, vec![DEFAULT_LIMIT]),
        ];
        let mut removals = server(40, 3);
        for p in removals.peers.iter_mut().step_by(2) {
            p.remove = true;
        }
        cases.push((removals, vec![600, DEFAULT_LIMIT]));
        for (cfg, limits) in &cases {
            for &limit in limits {
                let mine: Vec<Vec<u8>> = set_requests(0x15, "wg0", cfg, limit).iter().map(emit).collect();
                let theirs: Vec<Vec<u8>> = reference::set_requests(0x15, "wg0", cfg, limit).iter().map(emit).collect();
                assert_eq!(mine.len(), theirs.len(), "{} peers, limit {limit}", cfg.peers.len());
                for (i, (a, b)) in mine.iter().zip(&theirs).enumerate() {
                    assert!(a == b, "message {i} of {} peers at limit {limit} differs", cfg.peers.len());
                }
            }
        }
        assert_eq!(emit(&get_request(0x15, "wg0")), emit(&reference::get_request(0x15, "wg0")));
    }

    /// GET_DEVICE replies made by the reference encoder: the device, then its peers spread
    /// over several messages, one peer continued into the next message.
    fn dump_messages(cfg: &DeviceConfig) -> Vec<NetlinkMessage<GenlMessage<WireguardMessage>>> {
        let peer = |p: &PeerConfig, i: usize, ips: &[IpNet]| {
            let mut v = vec![P::PublicKey(p.public_key.0)];
            if let Some(k) = &p.preshared_key {
                v.push(P::PresharedKey(*k.as_bytes()));
            } else {
                v.push(P::PresharedKey([0; 32]));
            }
            v.push(P::LastHandshake(WireguardTimeSpec { seconds: (i as i64) * 1000, nano_seconds: (i as i64) % 3 }));
            v.push(P::RxBytes(i as u64 * 7));
            v.push(P::TxBytes(u64::MAX - i as u64));
            v.push(P::PersistentKeepalive(p.persistent_keepalive.unwrap_or(0)));
            v.push(P::ProtocolVersion(1));
            if let Some(e) = p.endpoint {
                v.push(P::Endpoint(e));
            }
            v.push(P::AllowedIps(
                ips.iter()
                    .map(|n| {
                        let fam = if n.is_ipv6() {
                            netlink_packet_wireguard::WireguardAddressFamily::Ipv6
                        } else {
                            netlink_packet_wireguard::WireguardAddressFamily::Ipv4
                        };
                        WireguardAllowedIp(vec![
                            WireguardAllowedIpAttr::Family(fam),
                            WireguardAllowedIpAttr::IpAddr(n.addr),
                            WireguardAllowedIpAttr::Cidr(n.prefix),
                        ])
                    })
                    .collect(),
            ));
            WireguardPeer(v)
        };
        let head = vec![
            D::IfIndex(4),
            D::IfName("wg0".into()),
            D::PrivateKey(*cfg.private_key.as_ref().map_or(&[0; 32], |k| k.as_bytes())),
            D::PublicKey(key(5).0),
            D::ListenPort(cfg.listen_port.unwrap_or(0)),
            D::Fwmark(0xca6c),
        ];
        let mut msgs = Vec::new();
        if cfg.peers.is_empty() {
            msgs.push(head.clone());
        }
        for (c, chunk) in cfg.peers.chunks(7).enumerate() {
            let mut attrs = if c == 0 { head.clone() } else { vec![D::IfIndex(4), D::IfName("wg0".into())] };
            let mut ps = Vec::new();
            for (i, p) in chunk.iter().enumerate() {
                let n = c * 7 + i;
                let half = p.allowed_ips.len() / 2;
                if i + 1 == chunk.len() && half > 0 {
                    // Split this peer's allowed IPs over this message and the next.
                    ps.push(peer(p, n, &p.allowed_ips[..half]));
                    attrs.push(D::Peers(std::mem::take(&mut ps)));
                    msgs.push(attrs);
                    attrs = vec![D::IfIndex(4), D::IfName("wg0".into())];
                    ps.push(WireguardPeer(vec![
                        P::PublicKey(p.public_key.0),
                        P::AllowedIps(
                            peer(p, n, &p.allowed_ips[half..])
                                .0
                                .into_iter()
                                .find_map(|a| if let P::AllowedIps(v) = a { Some(v) } else { None })
                                .unwrap(),
                        ),
                    ]));
                } else {
                    ps.push(peer(p, n, &p.allowed_ips));
                }
            }
            attrs.push(D::Peers(ps));
            msgs.push(attrs);
        }
        msgs.into_iter()
            .map(|attributes| {
                let mut g = GenlMessage::from_payload(WireguardMessage { cmd: WireguardCmd::GetDevice, attributes });
                g.set_resolved_family_id(0x15);
                let mut m = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::InnerMessage(g));
                m.finalize();
                m
            })
            .collect()
    }

    #[test]
    fn dumps_parse_as_the_reference_decoder_parses_them() {
        for cfg in [server(60, 5), server(3, 0), DeviceConfig::default()] {
            let msgs = dump_messages(&cfg);
            let mut raw = Vec::new();
            let mut typed = Vec::new();
            for m in &msgs {
                let b = emit(m);
                let mut h = NetlinkHeader::default();
                h.message_type = 0x15;
                raw.push(RawGenl::deserialize(&h, &b[16..]).unwrap());
                typed.push(GenlMessage::<WireguardMessage>::deserialize(&h, &b[16..]).unwrap());
            }
            let got = parse_dump(&raw);
            assert_eq!(got, reference::parse_dump(&typed));
            assert_eq!(got.peers.len(), cfg.peers.len());
            assert_eq!(got.fwmark, 0xca6c);
            if let Some(p) = got.peers.get(8) {
                assert_eq!((p.rx_bytes, p.tx_bytes), (56, u64::MAX - 8));
                assert_eq!(p.last_handshake, Some(std::time::Duration::new(8000, 2)));
            }
        }
        // Truncated and odd messages do not panic.
        let msgs = dump_messages(&server(10, 3));
        let b = emit(&msgs[0]);
        let mut h = NetlinkHeader::default();
        h.message_type = 0x15;
        for cut in (17..b.len()).step_by(13) {
            if let Ok(r) = RawGenl::deserialize(&h, &b[16..cut]) {
                let _ = parse_dump(&[r]);
            }
        }
        assert!(RawGenl::deserialize(&h, &[1, 1]).is_err());
    }

    #[test]
    fn removed_allowed_ips_carry_the_remove_flag_after_the_added_ones() {
        let cfg = DeviceConfig {
            peers: vec![PeerConfig {
                public_key: key(1),
                allowed_ips: vec![IpNet::parse("10.0.0.1/32").unwrap()],
                remove_allowed_ips: vec![IpNet::parse("10.0.0.2/32").unwrap()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let msgs = set_requests(0x15, "wg0", &cfg, DEFAULT_LIMIT);
        let g = decode(&msgs[0]);
        let ips: Vec<(bool, String)> = g
            .payload
            .attributes
            .iter()
            .filter_map(|a| if let D::Peers(ps) = a { Some(ps) } else { None })
            .flatten()
            .flat_map(|p| p.0.iter())
            .filter_map(|a| if let P::AllowedIps(v) = a { Some(v) } else { None })
            .flatten()
            .map(|ip| {
                let remove =
                    ip.0.iter()
                        .any(|x| matches!(x, WireguardAllowedIpAttr::Flags(f) if f.contains(WireguardAllowedIpFlags::RemoveMe)));
                let addr =
                    ip.0.iter().find_map(|x| if let WireguardAllowedIpAttr::IpAddr(a) = x { Some(a.to_string()) } else { None });
                (remove, addr.unwrap())
            })
            .collect();
        assert_eq!(ips, [(false, "10.0.0.1".to_string()), (true, "10.0.0.2".to_string())]);
    }

    #[test]
    fn small_device_is_one_message_with_golden_bytes() {
        let cfg = DeviceConfig { listen_port: Some(51820), fwmark: Some(0xca6c), ..Default::default() };
        let msgs = set_requests(0x15, "wg0", &cfg, DEFAULT_LIMIT);
        assert_eq!(msgs.len(), 1);
        let b = emit(&msgs[0]);
        #[rustfmt::skip]
        let want: Vec<u8> = vec![
            // nlmsghdr: len 44, type 0x15, flags REQUEST|ACK, seq 0, port 0
            44, 0, 0, 0, 0x15, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            // genlmsghdr: cmd SET_DEVICE (1), version 1
            1, 1, 0, 0,
            // WGDEVICE_A_IFNAME (2) "wg0\0"
            8, 0, 2, 0, b'w', b'g', b'0', 0,
            // WGDEVICE_A_LISTEN_PORT (6) 51820, padded
            6, 0, 6, 0, 0x6c, 0xca, 0, 0,
            // WGDEVICE_A_FWMARK (7) 0xca6c
            8, 0, 7, 0, 0x6c, 0xca, 0, 0,
        ];
        assert_eq!(b, want);
    }

    #[test]
    fn an_endpoint_update_is_update_only_with_the_endpoint_alone_golden_bytes() {
        // What `wgq reresolve` sends for one peer (Op::SetEndpoint).
        let cfg = crate::device::DeviceConfig::endpoint_update(Key([7; 32]), "203.0.113.7:51820".parse().unwrap());
        let msgs = set_requests(0x15, "wg0", &cfg, DEFAULT_LIMIT);
        assert_eq!(msgs.len(), 1);
        let b = emit(&msgs[0]);
        let mut want: Vec<u8> = vec![
            // nlmsghdr: len 100, type 0x15, flags REQUEST|ACK, seq 0, port 0
            100, 0, 0, 0, 0x15, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, // genlmsghdr: cmd SET_DEVICE (1), version 1
            1, 1, 0, 0, // WGDEVICE_A_IFNAME (2) "wg0\0"
            8, 0, 2, 0, b'w', b'g', b'0', 0,
            // WGDEVICE_A_PEERS (8 | NLA_F_NESTED), 72 bytes; one peer nest (0 | NESTED), 68 bytes
            72, 0, 8, 0x80, 68, 0, 0, 0x80, // WGPEER_A_PUBLIC_KEY (1), 32 bytes
            36, 0, 1, 0,
        ];
        want.extend_from_slice(&[7; 32]);
        #[rustfmt::skip]
        want.extend_from_slice(&[
            // WGPEER_A_FLAGS (3) = WGPEER_F_UPDATE_ONLY (4): no REPLACE_ALLOWEDIPS, no REMOVE_ME
            8, 0, 3, 0, 4, 0, 0, 0,
            // WGPEER_A_ENDPOINT (4): sockaddr_in AF_INET, port 51820 (big endian), 203.0.113.7, zero padding
            20, 0, 4, 0, 2, 0, 0xca, 0x6c, 203, 0, 113, 7, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        assert_eq!(b, want);
        // The reference decoder reads the same: one peer, its key, the flag, the endpoint.
        let got = round_trip(&msgs, DEFAULT_LIMIT);
        assert_eq!(got.peers.len(), 1);
        assert_eq!(got.peers[0].endpoint, Some("203.0.113.7:51820".parse().unwrap()));
        assert!(got.peers[0].allowed_ips.is_empty() && got.peers[0].persistent_keepalive == 0);
    }

    #[test]
    fn twenty_thousand_peers_split_under_the_limit_and_round_trip() {
        let cfg = server(20_000, 2);
        let msgs = set_requests(0x15, "wg0", &cfg, DEFAULT_LIMIT);
        assert!(msgs.len() > 100);
        // Device flags only on the first message.
        let flagged = msgs.iter().filter(|m| decode(m).payload.attributes.iter().any(|a| matches!(a, D::Flags(_)))).count();
        assert_eq!(flagged, 1);
        expect_same(&cfg, &round_trip(&msgs, DEFAULT_LIMIT));
    }

    #[test]
    fn one_peer_with_ten_thousand_allowed_ips_is_split_inside_the_peer() {
        let mut cfg = server(1, 10_000);
        cfg.peers[0].replace_allowed_ips = true;
        cfg.peers[0].remove_allowed_ips.clear();
        let msgs = set_requests(0x15, "wg0", &cfg, DEFAULT_LIMIT);
        assert!(msgs.len() > 10);
        // REPLACE_ALLOWEDIPS only in the peer's first fragment.
        let replace = msgs
            .iter()
            .filter(|m| {
                decode(m).payload.attributes.iter().any(|a| match a {
                    D::Peers(ps) => ps.iter().any(|p| {
                        p.0.iter().any(|x| matches!(x, P::Flags(f) if f.contains(WireguardPeerFlags::ReplaceAllowedIps)))
                    }),
                    _ => false,
                })
            })
            .count();
        assert_eq!(replace, 1);
        let got = round_trip(&msgs, DEFAULT_LIMIT);
        expect_same(&cfg, &got);
        assert_eq!(got.peers[0].allowed_ips.len(), 10_000);
    }

    #[test]
    fn tiny_limits_still_respect_the_bound() {
        let cfg = server(50, 30);
        for limit in [512, 1024, 3000] {
            expect_same(&cfg, &round_trip(&set_requests(0x15, "wg0", &cfg, limit), limit));
        }
        // Random small devices at every limit from 512 to 711: a peer's head and its first
        // allowed IP (an IPv6 one to remove is the largest) never start past the limit.
        let mut seed: u64 = 0x1234_5678;
        let mut r = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for round in 0..5000u32 {
            let limit = 512 + (round % 200) as usize;
            let peers = (0..1 + r(12) as u32)
                .map(|i| {
                    let ips: Vec<IpNet> = (0..r(4))
                        .map(|j| {
                            IpNet::parse(&if r(2) == 0 { format!("10.0.{i}.{j}/32") } else { format!("fd00::{i:x}:{j:x}/128") })
                                .unwrap()
                        })
                        .collect();
                    let remove = r(3) == 0;
                    PeerConfig {
                        public_key: key(i),
                        replace_allowed_ips: r(2) == 0,
                        update_only: r(4) == 0,
                        preshared_key: (r(2) == 0).then(|| SecretKey::from_bytes([3; 32])),
                        endpoint: match r(3) {
                            0 => Some("192.0.2.1:5".parse().unwrap()),
                            1 => Some("[2001:db8::1]:5".parse().unwrap()),
                            _ => None,
                        },
                        persistent_keepalive: (r(2) == 0).then_some(25),
                        allowed_ips: if remove { vec![] } else { ips.clone() },
                        remove_allowed_ips: if remove { ips } else { vec![] },
                        ..Default::default()
                    }
                })
                .collect();
            let private_key = (r(2) == 0).then(|| SecretKey::from_bytes([5; 32]));
            let cfg = DeviceConfig { private_key, listen_port: Some(1), peers, ..Default::default() };
            for m in set_requests(0x15, "wg0", &cfg, limit) {
                assert!(emit(&m).len() <= limit, "round {round}: a message of {} bytes over the {limit} limit", emit(&m).len());
            }
        }
    }
}
