//! The sockets and observations of `wgq p2p`: UDP sockets tied to the WireGuard interface
//! (SO_BINDTODEVICE: the hub hears only what came out of the tunnel, the peer's queries
//! go only into it), the interface's addresses, the device's full state, and one bounded
//! exchange of queries and answers with the hub.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use netlink_packet_route::RouteNetlinkMessage;

use crate::net::IpNet;
use crate::plan::p2p::HubView;
use crate::wire::p2p::{self as msg, Entry, MAX_MESSAGE, MAX_PAGES, Message, Refusal};
use crate::wire::rtnl;

use super::{LinuxSystem, SystemError, nl};

/// Ties `sock` to interface `ifname`: it receives only packets that arrived on it and
/// sends only through it.
fn bind_to_device(sock: &UdpSocket, ifname: &str) -> io::Result<()> {
    let name = ifname.as_bytes();
    // SAFETY: setsockopt reads `name.len()` bytes from a live slice.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            name.as_ptr().cast(),
            name.len() as libc::socklen_t,
        )
    };
    if r != 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// A UDP socket of `at`'s family already tied to `ifname` (before any address is bound:
/// no datagram that came in elsewhere is ever queued on it).
fn socket_on(ifname: &str, at: SocketAddr) -> io::Result<UdpSocket> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
    let family = if at.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 };
    let fd = socket(family, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None).map_err(io::Error::from)?;
    let s = UdpSocket::from(fd);
    bind_to_device(&s, ifname)?;
    Ok(s)
}

/// The hub's socket: `addr:port` on interface `ifname` only (tied to it before it is bound).
pub fn bind_hub(ifname: &str, addr: IpAddr, port: u16) -> io::Result<UdpSocket> {
    use nix::sys::socket::{SockaddrStorage, bind};
    let at = SocketAddr::new(addr, port);
    let s = socket_on(ifname, at)?;
    bind(s.as_raw_fd(), &SockaddrStorage::from(at)).map_err(io::Error::from)?;
    Ok(s)
}

/// A peer's socket to its hub, through interface `ifname` only: tied to it, then
/// connected (which binds it to a free port and filters the hub's address in one step), so
/// only the hub's datagrams are ever queued on it.
pub fn connect_hub(ifname: &str, hub: SocketAddr) -> io::Result<UdpSocket> {
    let s = socket_on(ifname, hub)?;
    s.connect(hub)?;
    Ok(s)
}

impl LinuxSystem {
    /// The addresses on interface `ifname` (link-local ones left out).
    pub fn interface_addresses(&mut self, ifname: &str) -> Result<Vec<IpNet>, SystemError> {
        let Some((index, _)) = self.link_index(ifname).map_err(nl(format!("Cannot find device \"{ifname}\"")))? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for m in self.rt.dump(rtnl::dump_addresses()).map_err(nl("Unable to list addresses"))? {
            if let RouteNetlinkMessage::NewAddress(a) = m
                && a.header.index == index
                && let Some(n) = rtnl::address_of(&a)
                && !n.is_link_local()
            {
                out.push(n);
            }
        }
        Ok(out)
    }

    /// The device with its peers' allowed IPs, endpoints, handshakes and counters.
    pub fn observe_p2p(&mut self, ifname: &str) -> Result<crate::device::DeviceState, SystemError> {
        Ok(self.devices.get(ifname)?)
    }
}

/// A random nonce.
fn nonce() -> u32 {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    u32::from_ne_bytes(b)
}

/// Asks the hub for every page of the mesh, waiting at most `wait` for each answer;
/// what it said ([`HubView::Silent`] when it did not answer in full), and a message worth
/// reporting when something went wrong.
pub fn ask_hub(sock: &UdpSocket, wait: Duration) -> (HubView, Option<String>) {
    let mut peers: Vec<Entry> = Vec::new();
    let mut buf = vec![0u8; MAX_MESSAGE + 1];
    for page in 0..MAX_PAGES {
        let n = nonce();
        let Ok(q) = msg::encode(&Message::Query { nonce: n, page }) else { return (HubView::Silent, None) };
        if let Err(e) = sock.send(&q) {
            return (HubView::Silent, Some(format!("cannot send to the hub: {e}")));
        }
        let deadline = Instant::now() + wait;
        let reply = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || sock.set_read_timeout(Some(left)).is_err() {
                return (HubView::Silent, Some("the hub did not answer".into()));
            }
            match sock.recv(&mut buf) {
                Ok(len) => match msg::decode(&buf[..len]) {
                    Ok(Message::Answer { nonce, page: p, more, peers }) if nonce == n && p == page => break (more, peers),
                    Ok(Message::Refused { nonce, reason }) if nonce == n => {
                        return match reason {
                            Refusal::NotOptedIn => (HubView::NotOptedIn, Some(reason.to_string())),
                            Refusal::BadVersion => (HubView::Silent, Some(reason.to_string())),
                        };
                    }
                    // Late answers to earlier queries, or noise: ignored.
                    Ok(_) => {}
                    Err(e) => return (HubView::Silent, Some(format!("unreadable answer from the hub: {e}"))),
                },
                Err(e)
                    if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted) => {}
                Err(e) => return (HubView::Silent, Some(format!("the hub did not answer: {e}"))),
            }
        };
        let (more, page_peers) = reply;
        peers.extend(page_peers);
        if !more {
            return (HubView::Peers(peers), None);
        }
    }
    (HubView::Peers(peers), None)
}

/// Waits until one of `socks` is readable, a stopping signal arrives, or `timeout`
/// passes; the indexes of the readable ones.
pub fn wait_readable(socks: &[&UdpSocket], timeout: Duration) -> Vec<usize> {
    let mut fds: Vec<libc::pollfd> =
        socks.iter().map(|s| libc::pollfd { fd: s.as_raw_fd(), events: libc::POLLIN, revents: 0 }).collect();
    if let Some(w) = crate::os::signals::wake_fd() {
        use std::os::fd::AsRawFd as _;
        fds.push(libc::pollfd { fd: w.as_raw_fd(), events: libc::POLLIN, revents: 0 });
    }
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: `fds` is a live array of `fds.len()` pollfd structures.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if r <= 0 {
        return Vec::new();
    }
    fds.iter().take(socks.len()).enumerate().filter(|(_, f)| f.revents & libc::POLLIN != 0).map(|(i, _)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The device a socket is tied to (SO_BINDTODEVICE read back).
    fn bound_device(s: &UdpSocket) -> String {
        let mut buf = [0u8; 32];
        let mut len = buf.len() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into a live buffer.
        let r = unsafe {
            libc::getsockopt(s.as_raw_fd(), libc::SOL_SOCKET, libc::SO_BINDTODEVICE, buf.as_mut_ptr().cast(), &mut len)
        };
        assert_eq!(r, 0);
        String::from_utf8_lossy(&buf[..len as usize]).trim_end_matches('\0').to_string()
    }

    #[test]
    fn sockets_are_tied_to_the_device_and_the_peers_connected() {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("skipped: not root (SO_BINDTODEVICE)");
            return;
        }
        let hub = bind_hub("lo", "127.0.0.1".parse().unwrap(), 0).unwrap();
        assert_eq!(bound_device(&hub), "lo");
        let at = hub.local_addr().unwrap();
        let peer = connect_hub("lo", at).unwrap();
        assert_eq!(bound_device(&peer), "lo");
        assert_eq!(peer.peer_addr().unwrap(), at);
        // A foreign sender's datagram to the peer's port is never queued.
        let other = UdpSocket::bind("127.0.0.1:0").unwrap();
        other.send_to(b"noise", peer.local_addr().unwrap()).unwrap();
        peer.send(b"query").unwrap();
        let mut b = [0u8; 16];
        let (n, from) = hub.recv_from(&mut b).unwrap();
        assert_eq!(&b[..n], b"query");
        hub.send_to(b"answer", from).unwrap();
        peer.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let n = peer.recv(&mut b).unwrap();
        assert_eq!(&b[..n], b"answer");
        // An unknown device is an error.
        assert!(bind_hub("nonexistent9", "127.0.0.1".parse().unwrap(), 0).is_err());
    }
}
