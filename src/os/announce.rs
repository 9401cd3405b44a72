//! A container's IPv4 addresses made known again on its networks when it starts.
//!
//! A container started again keeps its address but gets a new MAC address (its veth is new).
//! Hosts on its network that talked to it before keep the old MAC in their neighbour tables
//! until the entry is found dead: about a minute (reachable time, then the delay and the
//! probes), during which a client's WireGuard packets to the restarted server go nowhere.
//! Linux takes the sender's MAC into an existing neighbour entry from any ARP request it
//! sees, so one broadcast request from the container puts them right at once. Sending one
//! needs no raw socket (and so no CAP_NET_RAW, which podman does not give by default): an
//! empty UDP datagram to a neighbour the kernel has not resolved yet makes it broadcast the
//! request.

use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::AsRawFd;

use nix::net::if_::InterfaceFlags;

/// The discard port: whatever answers there ignores the datagram.
const DISCARD: u16 = 9;

/// The neighbour asked for on network `addr`/`mask`: its first host, or the second when the
/// first is `addr` itself; None for networks too small to have one (/31, /32).
pub fn neighbour(addr: Ipv4Addr, mask: Ipv4Addr) -> Option<Ipv4Addr> {
    let (a, m) = (u32::from(addr), u32::from(mask));
    if m.leading_ones() > 30 || m.count_ones() != m.leading_ones() {
        return None;
    }
    let first = (a & m) + 1;
    Some(Ipv4Addr::from(if first == a { first + 1 } else { first }))
}

/// Sends the empty datagram to `to` out of interface `ifname` only, and only to a host on
/// its link: the interface is the socket's (`IP_UNICAST_IF`, no privilege needed) and
/// `MSG_DONTROUTE` refuses any route through a gateway, so a more specific route elsewhere
/// (a host route via another network, a tunnel's) is never taken. Whether it was sent.
fn send_on_link(ifname: &str, to: Ipv4Addr) -> bool {
    let Ok(index) = nix::net::if_::if_nametoindex(ifname) else { return false };
    let Ok(sock) = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)) else { return false };
    let _ = sock.set_nonblocking(true);
    // The kernel takes the index in network byte order.
    let index = index.to_be();
    // SAFETY: setsockopt on an open socket with a pointer to a u32 and its size.
    let set = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_UNICAST_IF,
            (&index as *const u32).cast(),
            std::mem::size_of::<u32>() as libc::socklen_t,
        )
    };
    if set != 0 {
        return false;
    }
    let dest = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: DISCARD.to_be(),
        sin_addr: libc::in_addr { s_addr: u32::from(to).to_be() },
        sin_zero: [0; 8],
    };
    // SAFETY: sendto of an empty buffer to a sockaddr_in that lives for the call.
    let r = unsafe {
        libc::sendto(
            sock.as_raw_fd(),
            std::ptr::null(),
            0,
            libc::MSG_DONTROUTE,
            (&dest as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    r == 0
}

/// Sends the request on every IPv4 network of this namespace's broadcast interfaces (up, not
/// loopback, not point-to-point), out of that interface to a host of that network only.
/// Returns `(interface, address)` of each; failures are ignored (nothing depends on it).
pub fn announce_ipv4() -> Vec<(String, Ipv4Addr)> {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else { return Vec::new() };
    let mut done = Vec::new();
    for i in addrs {
        let wanted = InterfaceFlags::IFF_UP | InterfaceFlags::IFF_BROADCAST;
        if !i.flags.contains(wanted) || i.flags.intersects(InterfaceFlags::IFF_LOOPBACK | InterfaceFlags::IFF_POINTOPOINT) {
            continue;
        }
        let (Some(a), Some(m)) = (
            i.address.as_ref().and_then(|s| s.as_sockaddr_in()).map(|s| s.ip()),
            i.netmask.as_ref().and_then(|s| s.as_sockaddr_in()).map(|s| s.ip()),
        ) else {
            continue;
        };
        let Some(to) = neighbour(a, m) else { continue };
        if send_on_link(&i.interface_name, to) {
            done.push((i.interface_name, a));
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_neighbour_asked_for() {
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(neighbour(ip("10.89.84.10"), ip("255.255.255.0")), Some(ip("10.89.84.1")));
        assert_eq!(neighbour(ip("10.89.84.1"), ip("255.255.255.0")), Some(ip("10.89.84.2")));
        assert_eq!(neighbour(ip("172.17.3.9"), ip("255.255.0.0")), Some(ip("172.17.0.1")));
        assert_eq!(neighbour(ip("192.0.2.2"), ip("255.255.255.252")), Some(ip("192.0.2.1")));
        assert_eq!(neighbour(ip("192.0.2.2"), ip("255.255.255.254")), None);
        assert_eq!(neighbour(ip("192.0.2.2"), ip("255.255.255.255")), None);
        assert_eq!(neighbour(ip("192.0.2.2"), ip("255.0.255.0")), None, "not a prefix");
    }
}
