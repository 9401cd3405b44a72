//! Kernel backend: the link over rtnetlink, WG_CMD_SET_DEVICE / WG_CMD_GET_DEVICE over
//! generic netlink.

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_generic::{GenlMessage, ctrl::GenlCtrl};
use netlink_packet_route::{
    RouteNetlinkMessage,
    link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage},
};

use super::genl;
use super::{DeviceConfig, DeviceError, DeviceState};
use crate::wire::netlink::{NetlinkError, Socket};

/// True when the kernel has WireGuard (loaded module or built in).
pub fn module_present() -> bool {
    std::path::Path::new("/sys/module/wireguard").exists()
}

/// `ip link add dev <name> type wireguard`, on the caller's rtnetlink socket.
pub fn create_link(rt: &mut Socket, name: &str) -> Result<(), NetlinkError> {
    let m = new_wireguard_link(name);
    let mut h = NetlinkHeader::default();
    h.flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
    let mut msg = NetlinkMessage::new(h, NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(m)));
    msg.finalize();
    rt.request(msg)
}

/// The RTM_NEWLINK body of `ip link add dev <name> type wireguard`.
fn new_wireguard_link(name: &str) -> LinkMessage {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    m.attributes.push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Wireguard)]));
    m
}

/// `ip link delete dev <name>`, on the caller's rtnetlink socket.
pub fn delete_link(rt: &mut Socket, name: &str) -> Result<(), NetlinkError> {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    delete_link_message(rt, m)
}

/// Deletes the link with this index (the one a run created, whatever its name now).
pub fn delete_link_index(rt: &mut Socket, index: u32) -> Result<(), NetlinkError> {
    let mut m = LinkMessage::default();
    m.header.index = index;
    delete_link_message(rt, m)
}

fn delete_link_message(rt: &mut Socket, m: LinkMessage) -> Result<(), NetlinkError> {
    let mut h = NetlinkHeader::default();
    h.flags = NLM_F_REQUEST;
    let mut msg = NetlinkMessage::new(h, NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(m)));
    msg.finalize();
    rt.request(msg)
}

/// Whether a link is of kind `wireguard`.
fn is_wireguard_kind(l: &LinkMessage) -> bool {
    l.attributes.iter().any(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().any(|i| matches!(i, LinkInfo::Kind(InfoKind::Wireguard))),
        _ => false,
    })
}

/// Names of the kernel's WireGuard links (in this network namespace).
pub fn list_links(rt: &mut Socket) -> Result<Vec<String>, NetlinkError> {
    let msgs = rt.dump(crate::wire::rtnl::dump_links())?;
    Ok(msgs
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) if is_wireguard_kind(&l) => {
                l.attributes.iter().find_map(|a| if let LinkAttribute::IfName(n) = a { Some(n.clone()) } else { None })
            }
            _ => None,
        })
        .collect())
}

/// Whether `name` is a kernel WireGuard link (a missing link is not).
pub fn is_wireguard_link(rt: &mut Socket, name: &str) -> Result<bool, NetlinkError> {
    match rt.dump(crate::wire::rtnl::get_link_by_name(name)) {
        Ok(msgs) => Ok(msgs.iter().any(|m| matches!(m, RouteNetlinkMessage::NewLink(l) if is_wireguard_kind(l)))),
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A generic-netlink connection to the wireguard family, resolved once.
pub struct Genl {
    sock: Socket,
    family: u16,
}

impl Genl {
    /// Opens the socket and resolves the family (ENOENT: no WireGuard in the kernel).
    pub fn open() -> Result<Genl, NetlinkError> {
        let mut sock = Socket::open(libc::NETLINK_GENERIC as isize)?;
        let replies: Vec<GenlMessage<GenlCtrl>> = sock.dump(genl::resolve_family_request())?;
        let family = replies.iter().find_map(genl::family_id).ok_or_else(|| NetlinkError::from_errno(libc::ENOENT))?;
        Ok(Genl { sock, family })
    }

    /// Programs the device. Messages are built and sent a group at a time (one `sendmsg`
    /// each), so memory stays flat with the number of peers; the first refused message
    /// stops the rest.
    pub fn set(&mut self, name: &str, cfg: &DeviceConfig) -> Result<(), DeviceError> {
        const GROUP: usize = 8;
        let sock = &mut self.sock;
        let send = |sock: &mut Socket, msgs: Vec<genl::WgMsg>| -> Result<(), DeviceError> {
            for r in sock.batch(msgs).map_err(|e| DeviceError::modify(name, e))? {
                r.map_err(|e| DeviceError::modify(name, e))?;
            }
            Ok(())
        };
        let mut group = Vec::with_capacity(GROUP);
        genl::each_set_request(self.family, name, cfg, genl::DEFAULT_LIMIT, |m| {
            group.push(m);
            if group.len() == GROUP { send(sock, std::mem::take(&mut group)) } else { Ok(()) }
        })?;
        if group.is_empty() { Ok(()) } else { send(sock, group) }
    }

    pub fn get(&mut self, name: &str) -> Result<DeviceState, DeviceError> {
        let msgs: Vec<genl::RawGenl> =
            self.sock.dump(genl::get_request(self.family, name)).map_err(|e| DeviceError::access(name, e))?;
        let mut d = genl::parse_dump(&msgs);
        d.name = name.to_string();
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn wireguard_link_is_rtnetlinks() {
        // The message rtnetlink's builder made before wgq built it itself.
        assert_eq!(super::new_wireguard_link("wg0"), rtnetlink::LinkWireguard::new("wg0").build());
    }
}
