//! rtnetlink messages wgq sends (addresses, routes, rules, link MTU/up, dumps), built as
//! pure data with netlink-packet-route, and the parsers of the dumps it reads.
//! Each builder mirrors one `ip` command (the one the trace prints).

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::{
    AddressFamily, RouteNetlinkMessage,
    address::{AddressAttribute, AddressMessage},
    link::{LinkAttribute, LinkFlags, LinkMessage},
    route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteMetric, RouteProtocol, RouteScope, RouteType},
    rule::{RuleAction, RuleAttribute, RuleFlags, RuleMessage},
};

use crate::net::IpNet;
use crate::net::{ObservedRule, Rule};

pub type Msg = NetlinkMessage<RouteNetlinkMessage>;

fn msg(payload: RouteNetlinkMessage, flags: u16) -> Msg {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    let mut m = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(payload));
    m.finalize();
    m
}

fn family(v6: bool) -> AddressFamily {
    if v6 { AddressFamily::Inet6 } else { AddressFamily::Inet }
}

/// `ip -4|-6 address add <a> dev <if>` (no broadcast, like iproute2 without `brd`).
pub fn add_address(ifindex: u32, a: IpNet) -> Msg {
    msg(RouteNetlinkMessage::NewAddress(address_message(ifindex, a)), NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL)
}

/// `ip address del <a> dev <if>`.
pub fn del_address(ifindex: u32, a: IpNet) -> Msg {
    msg(RouteNetlinkMessage::DelAddress(address_message(ifindex, a)), NLM_F_REQUEST)
}

fn address_message(ifindex: u32, a: IpNet) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.family = family(a.is_ipv6());
    m.header.prefix_len = a.prefix;
    m.header.index = ifindex;
    m.attributes.push(AddressAttribute::Local(a.addr));
    m.attributes.push(AddressAttribute::Address(a.addr));
    m
}

/// `ip link set mtu <m> dev <if>`: no flag changes (an administratively down link stays down).
pub fn set_mtu(ifindex: u32, mtu: u32) -> Msg {
    let mut m = LinkMessage::default();
    m.header.index = ifindex;
    m.attributes.push(LinkAttribute::Mtu(mtu));
    msg(RouteNetlinkMessage::SetLink(m), NLM_F_REQUEST)
}

/// `ip link set mtu <m> up dev <if>`.
pub fn set_mtu_up(ifindex: u32, mtu: u32) -> Msg {
    let mut m = LinkMessage::default();
    m.header.index = ifindex;
    m.header.flags = LinkFlags::Up;
    m.header.change_mask = LinkFlags::Up;
    m.attributes.push(LinkAttribute::Mtu(mtu));
    msg(RouteNetlinkMessage::SetLink(m), NLM_F_REQUEST)
}

/// `ip link show dev <name>` (a GETLINK by name; the reply carries the index and MTU).
pub fn get_link_by_name(name: &str) -> Msg {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    msg(RouteNetlinkMessage::GetLink(m), NLM_F_REQUEST)
}

/// Dump of every link.
pub fn dump_links() -> Msg {
    msg(RouteNetlinkMessage::GetLink(LinkMessage::default()), NLM_F_REQUEST | NLM_F_DUMP)
}

fn route_message(ifindex: u32, net: IpNet, table: Option<u32>) -> RouteMessage {
    let v6 = net.is_ipv6();
    let table = table.unwrap_or(RouteHeader::RT_TABLE_MAIN.into());
    let mut m = RouteMessage::default();
    m.header.address_family = family(v6);
    m.header.destination_prefix_length = net.prefix;
    m.header.table = if table < 256 { table as u8 } else { RouteHeader::RT_TABLE_UNSPEC };
    m.header.protocol = RouteProtocol::Boot;
    // iproute2 uses link scope for a device route without gateway (IPv4), universe for IPv6.
    m.header.scope = if v6 { RouteScope::Universe } else { RouteScope::Link };
    m.header.kind = RouteType::Unicast;
    m.attributes.push(RouteAttribute::Table(table));
    m.attributes.push(RouteAttribute::Destination(RouteAddress::from(net.addr)));
    m.attributes.push(RouteAttribute::Oif(ifindex));
    m
}

/// `ip -4|-6 route add <net> dev <if> [table T]` (`None`: main).
pub fn add_route(ifindex: u32, net: IpNet, table: Option<u32>) -> Msg {
    msg(RouteNetlinkMessage::NewRoute(route_message(ifindex, net, table)), NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL)
}

/// `ip -4|-6 route del <net> dev <if> [table T]`, for the route of the shape wgq adds: with
/// `proto boot`, and for IPv6 the default metric, so the kernel cannot pick another route of
/// the same prefix (a daemon's, or one with its own metric). An IPv4 delete without a metric
/// takes the lowest, and wgq's has metric 0.
pub fn del_route(ifindex: u32, net: IpNet, table: Option<u32>) -> Msg {
    let mut m = route_message(ifindex, net, table);
    if net.is_ipv6() {
        m.attributes.push(RouteAttribute::Priority(default_metric(true)));
    }
    msg(RouteNetlinkMessage::DelRoute(m), NLM_F_REQUEST)
}

fn rule_message(r: &Rule) -> RuleMessage {
    let mut m = RuleMessage::default();
    m.header.family = family(r.v6());
    m.header.action = RuleAction::ToTable;
    let (table, prio) = match r {
        Rule::NotFwmark { mark, table, priority, .. } => {
            m.header.flags = RuleFlags::Invert;
            m.attributes.push(RuleAttribute::FwMark(*mark));
            (*table, *priority)
        }
        Rule::SuppressMain { priority, .. } => {
            m.attributes.push(RuleAttribute::SuppressPrefixLen(0));
            (254, *priority)
        }
    };
    m.header.table = if table < 256 { table as u8 } else { 0 };
    m.attributes.push(RuleAttribute::Table(table));
    if let Some(p) = prio {
        m.attributes.push(RuleAttribute::Priority(p));
    }
    m
}

/// `ip -4|-6 rule add not fwmark T table T` / `... table main suppress_prefixlength 0`.
pub fn add_rule(r: &Rule) -> Msg {
    msg(RouteNetlinkMessage::NewRule(rule_message(r)), NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL)
}

/// Deletes exactly this rule (by priority when known).
pub fn del_rule(r: &Rule) -> Msg {
    msg(RouteNetlinkMessage::DelRule(rule_message(r)), NLM_F_REQUEST)
}

/// Dump of the rules of one family.
pub fn dump_rules(v6: bool) -> Msg {
    let mut m = RuleMessage::default();
    m.header.family = family(v6);
    msg(RouteNetlinkMessage::GetRule(m), NLM_F_REQUEST | NLM_F_DUMP)
}

/// Which routes a dump is for: one family, optionally one table, one output interface,
/// default routes only. The kernel applies the table and interface filters when the socket
/// asks for strict checking (Linux 4.20+); [`RouteFilter::matches`] applies all of them to
/// each raw message, so older kernels give the same result, only slower.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteFilter {
    pub v6: bool,
    pub table: Option<u32>,
    pub oif: Option<u32>,
    pub default_only: bool,
}

impl RouteFilter {
    pub fn matches(&self, r: &RouteFrame) -> bool {
        r.v6 == self.v6
            && self.table.is_none_or(|t| t == r.table)
            && self.oif.is_none_or(|i| Some(i) == r.oif)
            && (!self.default_only || r.dst_len == 0)
    }
}

/// `ip -4|-6 route show [table T] [dev D]` as a dump request.
pub fn dump_routes_filtered(f: &RouteFilter) -> Msg {
    let mut m = RouteMessage::default();
    m.header.address_family = family(f.v6);
    if let Some(t) = f.table {
        m.header.table = if t < 256 { t as u8 } else { RouteHeader::RT_TABLE_UNSPEC };
        m.attributes.push(RouteAttribute::Table(t));
    }
    if let Some(i) = f.oif {
        m.attributes.push(RouteAttribute::Oif(i));
    }
    msg(RouteNetlinkMessage::GetRoute(m), NLM_F_REQUEST | NLM_F_DUMP)
}

/// What a route message says about itself, read from its bytes without decoding it: enough
/// to keep or skip it (a host with a full BGP table sends a million of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteFrame {
    pub v6: bool,
    pub dst_len: u8,
    pub table: u32,
    pub oif: Option<u32>,
}

/// Parses the rtmsg header and the RTA_TABLE/RTA_OIF attributes of one netlink frame (its
/// 16-byte header included). `None` for a frame that is not a route message.
pub fn route_frame(frame: &[u8]) -> Option<RouteFrame> {
    const RTM_NEWROUTE: u16 = 24;
    const RTA_OIF: u16 = 4;
    const RTA_TABLE: u16 = 15;
    let len = (u32::from_ne_bytes(frame.get(0..4)?.try_into().ok()?) as usize).min(frame.len());
    if u16::from_ne_bytes(frame.get(4..6)?.try_into().ok()?) != RTM_NEWROUTE || len < 28 {
        return None;
    }
    let (fam, dst_len, table8) = (frame[16], frame[17], frame[20]);
    let mut r = RouteFrame { v6: fam == libc::AF_INET6 as u8, dst_len, table: u32::from(table8), oif: None };
    let mut at = 28;
    while at + 4 <= len {
        let alen = usize::from(u16::from_ne_bytes([frame[at], frame[at + 1]]));
        let kind = u16::from_ne_bytes([frame[at + 2], frame[at + 3]]) & 0x3fff;
        if alen < 4 || at + alen > len {
            break;
        }
        let v = &frame[at + 4..at + alen];
        if v.len() >= 4 {
            let n = u32::from_ne_bytes([v[0], v[1], v[2], v[3]]);
            match kind {
                RTA_TABLE => r.table = n,
                RTA_OIF => r.oif = Some(n),
                _ => {}
            }
        }
        at += (alen + 3) & !3;
    }
    Some(r)
}

/// `ip route get <addr> [mark <mark>]`.
pub fn get_route(addr: IpAddr, mark: Option<u32>) -> Msg {
    let mut m = RouteMessage::default();
    m.header.address_family = family(addr.is_ipv6());
    m.header.destination_prefix_length = if addr.is_ipv6() { 128 } else { 32 };
    m.attributes.push(RouteAttribute::Destination(RouteAddress::from(addr)));
    if let Some(mark) = mark {
        m.attributes.push(RouteAttribute::Mark(mark));
    }
    msg(RouteNetlinkMessage::GetRoute(m), NLM_F_REQUEST)
}

/// Dump of the addresses of all links.
pub fn dump_addresses() -> Msg {
    msg(RouteNetlinkMessage::GetAddress(AddressMessage::default()), NLM_F_REQUEST | NLM_F_DUMP)
}

// ---- parsing what the kernel sends back -------------------------------------------

/// The table a route belongs to.
pub fn route_table(m: &RouteMessage) -> u32 {
    m.attributes
        .iter()
        .find_map(|a| if let RouteAttribute::Table(t) = a { Some(*t) } else { None })
        .unwrap_or(u32::from(m.header.table))
}

/// The `mtu` metric of a route, if any.
pub fn route_mtu(m: &RouteMessage) -> Option<u32> {
    m.attributes.iter().find_map(|a| match a {
        RouteAttribute::Metrics(ms) => ms.iter().find_map(|x| if let RouteMetric::Mtu(v) = x { Some(*v) } else { None }),
        _ => None,
    })
}

/// The output interface of a route, if any.
pub fn route_oif(m: &RouteMessage) -> Option<u32> {
    m.attributes.iter().find_map(|a| if let RouteAttribute::Oif(i) = a { Some(*i) } else { None })
}

/// The destination prefix of a route (`0.0.0.0/0` when absent).
pub fn route_destination(m: &RouteMessage) -> IpNet {
    let v6 = m.header.address_family == AddressFamily::Inet6;
    let addr = m
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Destination(RouteAddress::Inet(a)) => Some(IpAddr::V4(*a)),
            RouteAttribute::Destination(RouteAddress::Inet6(a)) => Some(IpAddr::V6(*a)),
            _ => None,
        })
        .unwrap_or(if v6 { IpAddr::V6(0u128.into()) } else { IpAddr::V4(0u32.into()) });
    IpNet::new(addr, m.header.destination_prefix_length)
}

/// The rules wgq cares about (`not fwmark M lookup T`, `lookup main suppress_prefixlength 0`).
pub fn observed_rule(m: &RuleMessage) -> Option<ObservedRule> {
    let v6 = m.header.family == AddressFamily::Inet6;
    let mut prio = 0;
    let mut mark = None;
    let mut suppress = None;
    let mut table = u32::from(m.header.table);
    let mut other = false;
    for a in &m.attributes {
        match a {
            RuleAttribute::Priority(p) => prio = *p,
            RuleAttribute::FwMark(f) => mark = Some(*f),
            RuleAttribute::SuppressPrefixLen(s) if *s != u32::MAX => suppress = Some(*s),
            RuleAttribute::SuppressPrefixLen(_) => {}
            RuleAttribute::Table(t) => table = *t,
            RuleAttribute::FwMask(0xffff_ffff) => {}
            RuleAttribute::Protocol(_) => {}
            _ => other = true,
        }
    }
    if other || m.header.action != RuleAction::ToTable || m.header.src_len != 0 || m.header.dst_len != 0 {
        return None;
    }
    match (mark, suppress) {
        (Some(mk), None) if m.header.flags.contains(RuleFlags::Invert) => {
            Some(ObservedRule { v6, priority: prio, not_fwmark: Some((mk, table)) })
        }
        (None, Some(0)) if table == 254 && !m.header.flags.contains(RuleFlags::Invert) => {
            Some(ObservedRule { v6, priority: prio, not_fwmark: None })
        }
        _ => None,
    }
}

/// Whether the `table main suppress_prefixlength 0` rule of `v6`'s family at `priority`,
/// as a dump gives it back, still has its `suppress_prefixlength`: `Some(false)` when the
/// kernel kept the rule but dropped the attribute (before Linux 3.12 it ignores attributes
/// it does not know), `None` when no such rule is in the dump.
pub fn rule_kept_suppress(rules: &[RuleMessage], v6: bool, priority: u32) -> Option<bool> {
    let rule = rules.iter().find(|m| {
        m.header.family == family(v6)
            && m.header.action == RuleAction::ToTable
            && rule_priority(m) == priority
            && m.attributes.iter().fold(u32::from(m.header.table), |t, a| match a {
                RuleAttribute::Table(t) => *t,
                _ => t,
            }) == 254
    })?;
    Some(rule.attributes.iter().any(|a| matches!(a, RuleAttribute::SuppressPrefixLen(0))))
}

/// The metric the kernel gives a route added without one: 0 for IPv4, 1024 for IPv6.
pub fn default_metric(v6: bool) -> u32 {
    if v6 { 1024 } else { 0 }
}

/// True for a route of the shape wgq (and wg-quick's `ip route add <net> dev <if>`) adds:
/// unicast, `proto boot`, no gateway, the default metric, not in the local table. Routes
/// of routing daemons (other protocols), gateway routes and routes with their own metric
/// are someone else's, whatever their prefix.
pub fn route_is_plain(m: &RouteMessage) -> bool {
    let v6 = m.header.address_family == AddressFamily::Inet6;
    let metric = m.attributes.iter().find_map(|a| if let RouteAttribute::Priority(p) = a { Some(*p) } else { None });
    m.header.protocol == RouteProtocol::Boot
        && m.header.kind == RouteType::Unicast
        && route_table(m) != 255
        && metric.unwrap_or(default_metric(v6)) == default_metric(v6)
        && !m
            .attributes
            .iter()
            .any(|a| matches!(a, RouteAttribute::Gateway(_) | RouteAttribute::MultiPath(_) | RouteAttribute::Via(_)))
        && !matches!(route_destination(m).addr, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80)
}

/// The MTU of a link message.
pub fn link_mtu(m: &LinkMessage) -> Option<u32> {
    m.attributes.iter().find_map(|a| if let LinkAttribute::Mtu(v) = a { Some(*v) } else { None })
}

/// The priority of a rule (0 when absent).
pub fn rule_priority(m: &RuleMessage) -> u32 {
    m.attributes.iter().find_map(|a| if let RuleAttribute::Priority(p) = a { Some(*p) } else { None }).unwrap_or(0)
}

/// The address and prefix of an address message.
pub fn address_of(m: &AddressMessage) -> Option<IpNet> {
    let a = m
        .attributes
        .iter()
        .find_map(|a| if let AddressAttribute::Local(a) = a { Some(*a) } else { None })
        .or_else(|| m.attributes.iter().find_map(|a| if let AddressAttribute::Address(a) = a { Some(*a) } else { None }))?;
    Some(IpNet::new(a, m.header.prefix_len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::Emitable;

    fn bytes(m: &Msg) -> Vec<u8> {
        let mut b = vec![0u8; m.buffer_len()];
        m.emit(&mut b);
        b
    }

    #[test]
    fn filtered_route_dump_request_and_raw_frames() {
        let b = bytes(&dump_routes_filtered(&RouteFilter { v6: true, table: Some(51820), oif: Some(9), default_only: false }));
        // nlmsghdr(16) + rtmsg(12) + RTA_TABLE(8) + RTA_OIF(8), RTM_GETROUTE, NLM_F_REQUEST|NLM_F_DUMP
        assert_eq!(b.len(), 16 + 12 + 8 + 8);
        assert_eq!(u16::from_ne_bytes([b[4], b[5]]), 26);
        assert_eq!(u16::from_ne_bytes([b[6], b[7]]), 0x301);
        assert_eq!(b[16], 10); // AF_INET6
        assert_eq!(b[20], 0); // table in RTA_TABLE
        assert_eq!(&b[28..36], &[8, 0, 15, 0, 0x6c, 0xca, 0, 0]);
        assert_eq!(&b[36..44], &[8, 0, 4, 0, 9, 0, 0, 0]);
        // A route the kernel would send: read back from its bytes.
        let mut r = add_route(7, IpNet::parse("0.0.0.0/0").unwrap(), Some(51820));
        r.header.message_type = 24;
        let f = route_frame(&bytes(&r)).unwrap();
        assert_eq!(f, RouteFrame { v6: false, dst_len: 0, table: 51820, oif: Some(7) });
        assert!(RouteFilter { table: Some(51820), default_only: true, ..Default::default() }.matches(&f));
        assert!(!RouteFilter { table: Some(254), ..Default::default() }.matches(&f));
        assert!(!RouteFilter { oif: Some(8), ..Default::default() }.matches(&f));
        assert!(!RouteFilter { v6: true, ..Default::default() }.matches(&f));
        let main = route_frame(&bytes(&{
            let mut m = add_route(3, IpNet::parse("10.0.0.0/8").unwrap(), None);
            m.header.message_type = 24;
            m
        }))
        .unwrap();
        assert_eq!((main.table, main.dst_len, main.oif), (254, 8, Some(3)));
        // Not a route message, or truncated: nothing.
        assert_eq!(route_frame(&bytes(&dump_links())), None);
        assert_eq!(route_frame(&[0u8; 10]), None);
    }

    #[test]
    fn route_in_high_table_uses_attribute() {
        let m = add_route(7, IpNet::parse("0.0.0.0/0").unwrap(), Some(51820));
        let b = bytes(&m);
        // nlmsghdr(16) + rtmsg(12) + RTA_TABLE(8) + RTA_DST(8) + RTA_OIF(8)
        assert_eq!(b.len(), 16 + 12 + 8 + 8 + 8);
        assert_eq!(u16::from_ne_bytes([b[4], b[5]]), 24); // RTM_NEWROUTE
        assert_eq!(b[16], 2); // AF_INET
        assert_eq!(b[17], 0); // dst_len
        assert_eq!(b[20], 0); // table: RT_TABLE_UNSPEC, real id in RTA_TABLE
        assert_eq!(b[21], 3); // RTPROT_BOOT
        assert_eq!(b[22], 253); // RT_SCOPE_LINK
        assert_eq!(b[23], 1); // RTN_UNICAST
        // RTA_TABLE = 15, value 51820
        assert_eq!(&b[28..36], &[8, 0, 15, 0, 0x6c, 0xca, 0, 0]);
    }

    #[test]
    fn route_lookup_with_and_without_mark() {
        let b = bytes(&get_route("198.51.100.7".parse().unwrap(), None));
        // nlmsghdr(16) + rtmsg(12) + RTA_DST(8)
        assert_eq!(b.len(), 16 + 12 + 8);
        assert_eq!(u16::from_ne_bytes([b[4], b[5]]), 26); // RTM_GETROUTE
        assert_eq!(u16::from_ne_bytes([b[6], b[7]]), 1); // NLM_F_REQUEST only: a lookup, not a dump
        assert_eq!((b[16], b[17]), (2, 32)); // AF_INET, dst_len 32
        assert_eq!(&b[28..36], &[8, 0, 1, 0, 198, 51, 100, 7]); // RTA_DST
        let b = bytes(&get_route("2001:db8::7".parse().unwrap(), Some(0xca6c)));
        // + RTA_DST(20) + RTA_MARK(8): RTA_MARK = 16, value 0xca6c
        assert_eq!(b.len(), 16 + 12 + 20 + 8);
        assert_eq!((b[16], b[17]), (10, 128));
        assert_eq!(&b[48..56], &[8, 0, 16, 0, 0x6c, 0xca, 0, 0]);
    }

    #[test]
    fn rule_round_trip_through_observer() {
        let r = Rule::NotFwmark { v6: false, mark: 51820, table: 51820, priority: Some(32765) };
        if let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRule(m)) = add_rule(&r).payload {
            let o = observed_rule(&m).unwrap();
            assert_eq!(o, ObservedRule { v6: false, priority: 32765, not_fwmark: Some((51820, 51820)) });
        } else {
            panic!("not a rule message");
        }
        let s = Rule::SuppressMain { v6: true, priority: None };
        if let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRule(m)) = add_rule(&s).payload {
            assert_eq!(m.header.table, 254);
            let o = observed_rule(&m).unwrap();
            assert!(o.v6 && o.not_fwmark.is_none());
        } else {
            panic!("not a rule message");
        }
    }

    #[test]
    fn a_dropped_suppress_prefixlength_is_seen() {
        let sent = |v6| match add_rule(&Rule::SuppressMain { v6, priority: Some(7) }).payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRule(m)) => m,
            _ => panic!("not a rule message"),
        };
        // A kernel that kept it (3.12 and later also give -1 on rules without it).
        let mut other = sent(false);
        other.attributes.retain(|a| !matches!(a, RuleAttribute::Priority(_)));
        other.attributes.push(RuleAttribute::Priority(32766));
        other.attributes.push(RuleAttribute::SuppressPrefixLen(u32::MAX));
        let kept = [other.clone(), sent(false)];
        assert_eq!(rule_kept_suppress(&kept, false, 7), Some(true));
        // Wrong family, wrong priority: not the probe's rule.
        assert_eq!(rule_kept_suppress(&kept, true, 7), None);
        assert_eq!(rule_kept_suppress(&kept, false, 8), None);
        assert_eq!(rule_kept_suppress(&[], false, 7), None);
        // What a 3.10 kernel without the backport gives back: the rule, not the attribute.
        let mut dropped = sent(true);
        dropped.attributes.retain(|a| !matches!(a, RuleAttribute::SuppressPrefixLen(_)));
        assert_eq!(rule_kept_suppress(&[other, dropped.clone()], true, 7), Some(false));
        // -1 is no suppress_prefixlength either; another table is not the rule.
        dropped.attributes.push(RuleAttribute::SuppressPrefixLen(u32::MAX));
        assert_eq!(rule_kept_suppress(std::slice::from_ref(&dropped), true, 7), Some(false));
        let mut elsewhere = sent(true);
        elsewhere.header.table = 0;
        elsewhere.attributes.retain(|a| !matches!(a, RuleAttribute::Table(_)));
        elsewhere.attributes.push(RuleAttribute::Table(1000));
        assert_eq!(rule_kept_suppress(&[elsewhere], true, 7), None);
    }
}
