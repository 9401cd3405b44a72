//! WireGuard generic-netlink messages: building, splitting and parsing (pure).
//!
//! A SET_DEVICE request is split so that every message fits `limit` bytes (wg(8) uses the
//! page size): at peer granularity, and inside one peer at allowed-IP granularity. Only the
//! first message carries the device flags (REPLACE_PEERS), and only a peer's first
//! fragment carries its flags (REPLACE_ALLOWEDIPS) and settings; later fragments repeat
//! the public key and add allowed IPs.

use netlink_packet_core::{Emitable, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_generic::{
    GenlMessage,
    ctrl::{GenlCtrl, GenlCtrlCmd, nlas::GenlCtrlAttrs},
};
use netlink_packet_wireguard::{
    WireguardAddressFamily, WireguardAllowedIp, WireguardAllowedIpAttr, WireguardAllowedIpFlags, WireguardAttribute as D,
    WireguardCmd, WireguardDeviceFlags, WireguardMessage, WireguardPeer, WireguardPeerAttribute as P, WireguardPeerFlags,
};

use super::{DeviceConfig, DeviceState, PeerConfig, PeerState};
use crate::key::{Key, SecretKey};
use crate::net::IpNet;

pub type WgMsg = NetlinkMessage<GenlMessage<WireguardMessage>>;

/// The default size limit of one SET_DEVICE message: the page size, as wg(8) uses.
pub const DEFAULT_LIMIT: usize = 4096;
/// netlink header (16) + genl header (4).
const HEADERS: usize = 20;

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
    let mut v =
        vec![WireguardAllowedIpAttr::Family(fam), WireguardAllowedIpAttr::IpAddr(n.addr), WireguardAllowedIpAttr::Cidr(n.prefix)];
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
        let mut ips = p.allowed_ips.iter().map(|n| (n, false)).chain(p.remove_allowed_ips.iter().map(|n| (n, true))).peekable();
        loop {
            let head_len = WireguardPeer(head.clone()).buffer_len() + 4 /* AllowedIps nest */;
            if used + head_len + 24 > limit && !peers.is_empty() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::NetlinkDeserializable;

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
                    endpoint: (i % 2 == 0).then(|| format!("192.0.2.{}:{}", i % 250, 1000 + i % 60000).parse().unwrap()),
                    persistent_keepalive: Some(25),
                    replace_allowed_ips: true,
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
                    ..Default::default()
                })
                .collect(),
        }
    }

    fn emit(m: &WgMsg) -> Vec<u8> {
        let mut b = vec![0u8; m.buffer_len()];
        m.serialize(&mut b);
        b
    }

    /// Emits every message, parses it back as the kernel would, and merges.
    fn round_trip(msgs: &[WgMsg], limit: usize) -> DeviceState {
        let mut parsed = Vec::new();
        for m in msgs {
            let b = emit(m);
            assert!(b.len() <= limit, "message of {} bytes over the {limit} limit", b.len());
            let mut h = netlink_packet_core::NetlinkHeader::default();
            h.length = b.len() as u32;
            h.message_type = 0x20;
            parsed.push(GenlMessage::<WireguardMessage>::deserialize(&h, &b[16..]).unwrap());
        }
        parse_dump(&parsed)
    }

    fn expect_same(cfg: &DeviceConfig, got: &DeviceState) {
        assert_eq!(got.private_key, cfg.private_key);
        assert_eq!(got.listen_port, cfg.listen_port.unwrap_or(0));
        assert_eq!(got.peers.len(), cfg.peers.len());
        for (p, s) in cfg.peers.iter().zip(&got.peers) {
            assert_eq!(p.public_key, s.public_key);
            assert_eq!(p.preshared_key, s.preshared_key);
            assert_eq!(p.endpoint, s.endpoint);
            assert_eq!(p.allowed_ips, s.allowed_ips);
        }
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
        let NetlinkPayload::InnerMessage(g) = &msgs[0].payload else { panic!() };
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
    fn twenty_thousand_peers_split_under_the_limit_and_round_trip() {
        let cfg = server(20_000, 2);
        let msgs = set_requests(0x15, "wg0", &cfg, DEFAULT_LIMIT);
        assert!(msgs.len() > 100);
        // Device flags only on the first message.
        let flagged = msgs
            .iter()
            .filter(|m| matches!(&m.payload, NetlinkPayload::InnerMessage(g) if g.payload.attributes.iter().any(|a| matches!(a, D::Flags(_)))))
            .count();
        assert_eq!(flagged, 1);
        expect_same(&cfg, &round_trip(&msgs, DEFAULT_LIMIT));
    }

    #[test]
    fn one_peer_with_ten_thousand_allowed_ips_is_split_inside_the_peer() {
        let cfg = server(1, 10_000);
        let msgs = set_requests(0x15, "wg0", &cfg, DEFAULT_LIMIT);
        assert!(msgs.len() > 10);
        // REPLACE_ALLOWEDIPS only in the peer's first fragment.
        let replace = msgs
            .iter()
            .filter(|m| match &m.payload {
                NetlinkPayload::InnerMessage(g) => g.payload.attributes.iter().any(|a| match a {
                    D::Peers(ps) => ps.iter().any(|p| {
                        p.0.iter().any(|x| matches!(x, P::Flags(f) if f.contains(WireguardPeerFlags::ReplaceAllowedIps)))
                    }),
                    _ => false,
                }),
                _ => false,
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
    }
}
