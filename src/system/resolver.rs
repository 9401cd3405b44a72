//! wgq's own bounded host-name lookup: `/etc/hosts` first (as glibc's `files` source),
//! then a small DNS stub client (A and AAAA over UDP, TCP when an answer is truncated)
//! whose sockets may carry a firewall mark, so that with a full tunnel the queries leave outside it (the mark makes them take the
//! main table, as WireGuard's own packets do) and go to the name servers the host had
//! before `up` changed DNS. Unlike getaddrinfo (and wg's 15 retries), one lookup never
//! takes longer than its bound.
//!
//! The messages are `wire::dns`; this file owns the sockets and the clock.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::wire::dns::{self, Answer, ReplyError, TYPE_A, TYPE_AAAA};

/// The default bound of one lookup (all servers, both families, retries included).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The resolv.conf systemd-resolved writes with its upstream servers (not its stub).
const RESOLVED_UPSTREAM: &str = "/run/systemd/resolve/resolv.conf";

/// How to look a name up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolver {
    /// The DNS servers, asked in order (port 53 unless given).
    pub servers: Vec<SocketAddr>,
    /// SO_MARK of every query socket (`None`: unmarked).
    pub mark: Option<u32>,
    /// The bound of one [`Resolver::lookup`], whatever happens.
    pub timeout: Duration,
    /// The hosts file consulted first (`None`: DNS only).
    pub hosts: Option<PathBuf>,
    /// resolv.conf's search list and ndots (a short name is asked with each domain, as
    /// getaddrinfo asks it).
    pub search: (Vec<String>, usize),
}

/// Why a name has no address.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LookupError {
    #[error("`{host}': {source}")]
    BadName {
        host: String,
        #[source]
        source: dns::NameError,
    },
    #[error("`{host}': no such host (NXDOMAIN from {server})")]
    NoSuchName { host: String, server: SocketAddr },
    #[error("`{host}': the name has no A or AAAA record (answer of {server})")]
    NoAddress { host: String, server: SocketAddr },
    #[error("`{host}': no name server to ask (none in resolv.conf)")]
    NoServers { host: String },
    #[error("`{host}': no usable answer from {} within {:.1} s{}", servers_text(.servers), .bound.as_secs_f64(), last_text(.last))]
    Timeout { host: String, servers: Vec<SocketAddr>, bound: Duration, last: Option<String> },
}

fn servers_text(s: &[SocketAddr]) -> String {
    s.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
}

fn last_text(l: &Option<String>) -> String {
    l.as_ref().map(|l| format!(" (last: {l})")).unwrap_or_default()
}

impl Resolver {
    /// `/etc/hosts`, then `servers`, `mark` on every socket, [`DEFAULT_TIMEOUT`].
    pub fn new(servers: &[SocketAddr], mark: Option<u32>) -> Resolver {
        Resolver {
            servers: servers.to_vec(),
            mark: mark.filter(|&m| m != 0),
            timeout: DEFAULT_TIMEOUT,
            hosts: Some(PathBuf::from("/etc/hosts")),
            search: crate::os::read_bounded(RESOLV_CONF, crate::os::MAX_SMALL_FILE)
                .map(|t| dns::resolv_conf_search(&t))
                .unwrap_or((Vec::new(), 1)),
        }
    }

    /// The addresses of `host`: an IP literal as is; else the hosts file's, if it names
    /// the host; else DNS (A and AAAA asked together; A's addresses first). Ends within
    /// `timeout`.
    pub fn lookup(&self, host: &str) -> Result<Vec<IpAddr>, LookupError> {
        if let Some(ip) = crate::net::parse_addr_strict(host) {
            return Ok(vec![ip]);
        }
        if let Some(path) = &self.hosts
            && let Ok(text) = crate::os::read_bounded(path, crate::os::MAX_HOSTS_FILE)
        {
            let found = dns::hosts_lookup(&text, host);
            if !found.is_empty() {
                return Ok(found);
            }
        }
        self.dns(host)
    }

    /// The resolver for interface `ifname` of this namespace's run state `state` (what
    /// `wgq reresolve` uses): queries marked with `mark` (the device's fwmark; 0 for none),
    /// sent to the name servers `up` recorded before it changed DNS, else to those of the
    /// host's resolv.conf ([`host_nameservers`]); /etc/hosts first; [`DEFAULT_TIMEOUT`].
    pub fn for_interface(state: &crate::system::runstate::RunState, ifname: &str, mark: u32) -> Resolver {
        let recorded = state.read(ifname, crate::system::runstate::ifindex(ifname)).map(|r| r.resolvers).unwrap_or_default();
        let servers = if !recorded.is_empty() {
            recorded
        } else {
            // No record (wg-quick's interface): resolv.conf may hold only what the tunnel's
            // `resolvconf -a … -x` put there; resolvconf still knows the other interfaces'.
            let dirs = RESOLVCONF_DIRS.map(Path::new);
            let others = other_interfaces_nameservers(&dirs, ifname);
            if others.is_empty() { host_nameservers(Path::new(RESOLV_CONF)) } else { others }
        };
        Resolver::new(&servers, Some(mark))
    }

    /// An endpoint's address as `up` needs it: an IP literal (a `%zone` too) as is, else the
    /// first address [`Resolver::lookup`] finds, with the endpoint's port.
    #[cfg(test)]
    pub fn lookup_endpoint(&self, e: &crate::config::Endpoint) -> Result<SocketAddr, LookupError> {
        if let Some(a) = crate::device::resolve::literal(&e.host, e.port) {
            return Ok(a);
        }
        let addrs = self.lookup(&e.host)?;
        addrs.first().map(|&ip| SocketAddr::new(ip, e.port)).ok_or_else(|| LookupError::NoServers { host: e.host.clone() })
    }

    /// DNS for `host` and, by resolv.conf's search rules, the names it stands for: the
    /// first that has addresses; all within one `timeout`. When none has, the error of the
    /// name as given.
    fn dns(&self, host: &str) -> Result<Vec<IpAddr>, LookupError> {
        let deadline = Instant::now() + self.timeout;
        let names = dns::search_names(host, &self.search.0, self.search.1);
        let mut first_error = None;
        for name in &names {
            match self.dns_name(name, deadline) {
                Ok(v) => return Ok(v),
                // Not there under this name: the next one.
                Err(e @ (LookupError::NoSuchName { .. } | LookupError::NoAddress { .. })) => {
                    if name == host || first_error.is_none() {
                        first_error = Some(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(first_error.unwrap_or(LookupError::NoServers { host: host.into() }))
    }

    fn dns_name(&self, host: &str, deadline: Instant) -> Result<Vec<IpAddr>, LookupError> {
        if self.servers.is_empty() {
            return Err(LookupError::NoServers { host: host.into() });
        }
        // Validates the name once (both queries have it).
        dns::query(0, host, TYPE_A).map_err(|source| LookupError::BadName { host: host.into(), source })?;
        // Each try gets a share of the bound; rounds go over every server until it ends
        // (two rounds at least when the bound allows: a lost datagram gets a second chance).
        let tries = (self.servers.len() * 2) as u32;
        let slice = (self.timeout / tries).max(Duration::from_millis(200));
        let mut last = None;
        'rounds: loop {
            for &server in &self.servers {
                let now = Instant::now();
                if now >= deadline {
                    break 'rounds;
                }
                let until = (now + slice).min(deadline);
                match self.ask(server, host, until) {
                    Ok(Outcome::Addresses(v)) if !v.is_empty() => return Ok(v),
                    Ok(Outcome::Addresses(_)) => return Err(LookupError::NoAddress { host: host.into(), server }),
                    Ok(Outcome::NoSuchName) => return Err(LookupError::NoSuchName { host: host.into(), server }),
                    Ok(Outcome::Retry(why)) => last = Some(format!("{server}: {why}")),
                    Err(e) => {
                        last = Some(format!("{server}: {e}"));
                        // A refused or unreachable server answers at once: do not spin on it.
                        std::thread::sleep(Duration::from_millis(50).min(until.saturating_duration_since(Instant::now())));
                    }
                }
            }
        }
        Err(LookupError::Timeout { host: host.into(), servers: self.servers.clone(), bound: self.timeout, last })
    }

    /// One try: A and AAAA queries to `server` on one connected socket, replies awaited
    /// until both came or `until`.
    fn ask(&self, server: SocketAddr, host: &str, until: Instant) -> io::Result<Outcome> {
        let sock = udp_socket(server, self.mark)?;
        let mut ids = [0u8; 4];
        getrandom::fill(&mut ids).map_err(|e| io::Error::other(e.to_string()))?;
        let qs = [(u16::from_be_bytes([ids[0], ids[1]]), TYPE_A), (u16::from_be_bytes([ids[2], ids[3]]) ^ 1, TYPE_AAAA)];
        for (id, t) in qs {
            let q = dns::query(id, host, t).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            sock.send(&q)?;
        }
        let mut got: [Option<Answer>; 2] = [None, None];
        let mut buf = [0u8; 1500];
        while got.iter().any(Option::is_none) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            sock.set_read_timeout(Some(left))?;
            let n = match sock.recv(&mut buf) {
                Ok(n) => n,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => break,
                Err(e) => return Err(e),
            };
            for (slot, (id, t)) in got.iter_mut().zip(qs) {
                match dns::parse_reply(&buf[..n], id, host, t) {
                    Ok(a) => *slot = Some(a),
                    Err(ReplyError::NotOurs) => {}
                    // A broken reply is as good as none: keep waiting for a good one.
                    Err(ReplyError::Malformed(_)) => {}
                }
            }
        }
        let mut why = None;
        // A truncated answer is asked again over TCP, within the same bound.
        for (slot, (id, t)) in got.iter_mut().zip(qs) {
            if matches!(slot, Some(Answer::Truncated)) {
                match self.ask_tcp(server, host, id, t, until) {
                    Ok(a) => *slot = Some(a),
                    Err(e) => why = Some(format!("truncated reply, and over TCP: {e}")),
                }
            }
        }
        let mut addrs = Vec::new();
        let mut answered = 0;
        let mut no_such_name = false;
        for a in got.into_iter().flatten() {
            match a {
                Answer::Addresses(v) => {
                    answered += 1;
                    addrs.extend(v);
                }
                // NXDOMAIN for one type while the other has addresses (a broken forwarder):
                // the addresses count, as glibc's getaddrinfo takes them.
                Answer::NoSuchName => no_such_name = true,
                Answer::Truncated => why = why.or(Some("truncated reply over TCP too".to_string())),
                Answer::ServerError(r) => why = Some(format!("server error (RCODE {r})")),
            }
        }
        // One family answered with addresses: enough (the other may be lost or slow).
        if !addrs.is_empty() || answered == 2 {
            return Ok(Outcome::Addresses(addrs));
        }
        if no_such_name {
            return Ok(Outcome::NoSuchName);
        }
        Ok(Outcome::Retry(why.unwrap_or_else(|| "no reply".into())))
    }
}

enum Outcome {
    Addresses(Vec<IpAddr>),
    NoSuchName,
    Retry(String),
}

impl Resolver {
    /// The query of type `qtype` over TCP (RFC 7766), connect, send and reply all within
    /// `until`; the socket carries the mark too.
    fn ask_tcp(&self, server: SocketAddr, host: &str, id: u16, qtype: u16, until: Instant) -> io::Result<Answer> {
        use std::io::{Read, Write};
        let left = || {
            let l = until.saturating_duration_since(Instant::now());
            if l.is_zero() { Err(io::Error::from(io::ErrorKind::TimedOut)) } else { Ok(l) }
        };
        let fd = marked_socket(server, libc::SOCK_STREAM | libc::SOCK_NONBLOCK, self.mark)?;
        let (sa, len) = sockaddr(server);
        // SAFETY: `sa` is a valid sockaddr of `len` bytes for this socket's family.
        let r = unsafe { libc::connect(fd.as_raw_fd(), (&sa as *const libc::sockaddr_storage).cast(), len) };
        if r != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(e);
            }
            let mut p = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLOUT, revents: 0 };
            let ms = left()?.as_millis().clamp(1, i32::MAX as u128) as i32;
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(&mut p, 1, ms) } <= 0 {
                return Err(io::Error::from(io::ErrorKind::TimedOut));
            }
            let mut err: libc::c_int = 0;
            let mut l = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: getsockopt writes at most `l` bytes into `err`.
            unsafe {
                libc::getsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_ERROR, (&mut err as *mut libc::c_int).cast(), &mut l)
            };
            if err != 0 {
                return Err(io::Error::from_raw_os_error(err));
            }
        }
        let mut stream = std::net::TcpStream::from(fd);
        stream.set_nonblocking(false)?;
        let q = dns::query(id, host, qtype).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        stream.set_write_timeout(Some(left()?))?;
        stream.write_all(&dns::tcp_frame(&q))?;
        let mut read = |buf: &mut [u8]| -> io::Result<()> {
            let mut at = 0;
            while at < buf.len() {
                stream.set_read_timeout(Some(left()?))?;
                match stream.read(&mut buf[at..]) {
                    Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
                    Ok(n) => at += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        };
        let mut n = [0u8; 2];
        read(&mut n)?;
        let mut body = vec![0u8; u16::from_be_bytes(n) as usize];
        read(&mut body)?;
        dns::parse_reply(&body, id, host, qtype).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

/// `server` as a sockaddr for connect(2).
fn sockaddr(server: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match server {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in and suitably aligned.
            unsafe { std::ptr::write((&mut ss as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr { s6_addr: a.ip().octets() },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in6 and suitably aligned.
            unsafe { std::ptr::write((&mut ss as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

/// A UDP socket connected to `server`, with SO_MARK `mark` set before anything is sent.
fn udp_socket(server: SocketAddr, mark: Option<u32>) -> io::Result<UdpSocket> {
    let sock = UdpSocket::from(marked_socket(server, libc::SOCK_DGRAM, mark)?);
    sock.connect(server)?;
    Ok(sock)
}

/// A socket of `kind` for `server`'s family, with SO_MARK `mark` set.
fn marked_socket(server: SocketAddr, kind: libc::c_int, mark: Option<u32>) -> io::Result<OwnedFd> {
    let family = if server.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    // SAFETY: a plain socket call; the descriptor is owned right away.
    let fd = unsafe { libc::socket(family, kind | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2) and nothing else owns it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    if let Some(m) = mark {
        // SAFETY: setsockopt reads exactly size_of::<u32>() bytes from `m`.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_MARK,
                (&m as *const u32).cast(),
                std::mem::size_of::<u32>() as libc::socklen_t,
            )
        };
        if r != 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(e.kind(), format!("unable to set SO_MARK {m}: {e}")));
        }
    }
    Ok(owned)
}

/// The name servers of the host's resolv.conf at `path`. When it names only
/// systemd-resolved's local stub (127.0.0.53/54), whose own upstream queries would not
/// carry our mark, resolved's upstream servers are taken instead (if it lists any).
pub fn host_nameservers(path: &Path) -> Vec<SocketAddr> {
    host_nameservers_with(path, Path::new(RESOLVED_UPSTREAM))
}

/// The name servers of the resolv.conf at `path`, on port 53; a link-local one with its
/// zone (`fe80::1%eth0`, `fe80::1%3`) gets that interface as its scope, and is left out
/// when there is no such interface (it could not be reached).
fn nameservers_of(path: &Path) -> Vec<SocketAddr> {
    let text = crate::os::read_bounded(path, crate::os::MAX_SMALL_FILE).unwrap_or_default();
    dns::resolv_conf_nameservers(&text)
        .into_iter()
        .filter_map(|(ip, zone)| match (ip, zone) {
            (IpAddr::V6(v6), Some(z)) => {
                let scope = z.parse::<u32>().ok().or_else(|| nix::net::if_::if_nametoindex(z.as_str()).ok())?;
                Some(SocketAddr::V6(std::net::SocketAddrV6::new(v6, 53, 0, scope)))
            }
            (ip, _) => Some(SocketAddr::new(ip, 53)),
        })
        .collect()
}

fn host_nameservers_with(path: &Path, resolved_upstream: &Path) -> Vec<SocketAddr> {
    let servers = nameservers_of(path);
    let stub =
        |a: &SocketAddr| matches!(a.ip(), IpAddr::V4(v) if v.octets()[..3] == [127, 0, 0] && matches!(v.octets()[3], 53 | 54));
    if !servers.is_empty() && servers.iter().all(stub) {
        let upstream = nameservers_of(resolved_upstream);
        if !upstream.is_empty() && !upstream.iter().all(stub) {
            return upstream;
        }
    }
    servers
}

/// resolvconf's state: one file per interface (Debian's resolvconf, openresolv).
const RESOLVCONF_DIRS: [&str; 2] = ["/run/resolvconf/interface", "/run/resolvconf/interfaces"];

/// The name servers resolvconf holds for interfaces other than `ifname` (whose own entry
/// is `ifname`, or `PREFIX.ifname` with an interface-order prefix such as wg-quick's
/// `tun.`), files in name order, at most 3: the host's own servers, whatever a full
/// tunnel's exclusive entry left in resolv.conf.
fn other_interfaces_nameservers(dirs: &[&Path], ifname: &str) -> Vec<SocketAddr> {
    let own_suffix = format!(".{ifname}");
    let mut out: Vec<SocketAddr> = Vec::new();
    for dir in dirs {
        let Ok(rd) = std::fs::read_dir(dir) else { continue };
        let mut names: Vec<String> = rd.flatten().filter_map(|e| e.file_name().into_string().ok()).collect();
        names.retain(|n| n != ifname && !n.ends_with(&own_suffix));
        names.sort();
        for n in names {
            for ip in nameservers_of(&dir.join(&n)) {
                if !out.contains(&ip) && out.len() < 3 {
                    out.push(ip);
                }
            }
        }
    }
    out
}

/// Where the host's resolver configuration is.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-shot DNS server on loopback answering with `reply(query)`.
    fn server(reply: impl Fn(&[u8]) -> Option<Vec<u8>> + Send + 'static) -> SocketAddr {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let a = s.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut b = [0u8; 512];
            while let Ok((n, from)) = s.recv_from(&mut b) {
                if let Some(r) = reply(&b[..n]) {
                    let _ = s.send_to(&r, from);
                }
            }
        });
        a
    }

    /// The reply to query `q`: same id and question, QR|RD|RA, `rcode`, A records for A.
    fn answer(q: &[u8], rcode: u8, a: &[[u8; 4]]) -> Vec<u8> {
        let qtype = u16::from_be_bytes([q[q.len() - 4], q[q.len() - 3]]);
        let mut m = q.to_vec();
        m[2] = 0x81;
        m[3] = 0x80 | rcode;
        let recs: &[[u8; 4]] = if qtype == TYPE_A { a } else { &[] };
        m[7] = recs.len() as u8;
        for r in recs {
            m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
            m.extend_from_slice(r);
        }
        m
    }

    fn resolver(servers: Vec<SocketAddr>, timeout_ms: u64) -> Resolver {
        Resolver { servers, mark: None, timeout: Duration::from_millis(timeout_ms), hosts: None, search: (Vec::new(), 1) }
    }

    #[test]
    fn answers_from_a_stub_server() {
        let s = server(|q| Some(answer(q, 0, &[[203, 0, 113, 7], [203, 0, 113, 8]])));
        let got = resolver(vec![s], 2000).lookup("vpn.example").unwrap();
        assert_eq!(got, ["203.0.113.7".parse::<IpAddr>().unwrap(), "203.0.113.8".parse().unwrap()]);
        assert_eq!(resolver(vec![], 100).lookup("192.0.2.1").unwrap(), ["192.0.2.1".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn nxdomain_is_final_and_fast() {
        let s = server(|q| Some(answer(q, 3, &[])));
        let t = Instant::now();
        let e = resolver(vec![s], 3000).lookup("gone.example").unwrap_err();
        assert!(matches!(e, LookupError::NoSuchName { .. }), "{e}");
        assert!(t.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_short_name_is_asked_with_the_search_domains() {
        // Only vpn.corp.example exists; `vpn` is asked as lab.example's, then corp.example's.
        let s = server(|q| {
            let (name, _) = dns::read_name(q, 12).ok()?;
            Some(if name == "vpn.corp.example" { answer(q, 0, &[[203, 0, 113, 5]]) } else { answer(q, 3, &[]) })
        });
        let mut r = resolver(vec![s], 3000);
        r.search = (vec!["lab.example".into(), "corp.example".into()], 1);
        assert_eq!(r.lookup("vpn").unwrap(), ["203.0.113.5".parse::<IpAddr>().unwrap()]);
        // A name found under none reports the name as given.
        let e = r.lookup("nothing").unwrap_err();
        assert!(matches!(&e, LookupError::NoSuchName { host, .. } if host == "nothing"), "{e}");
    }

    #[test]
    fn resolvconf_knows_the_other_interfaces_servers() {
        let d = tempfile::tempdir().unwrap();
        let w = |n: &str, t: &str| std::fs::write(d.path().join(n), t).unwrap();
        w("tun.wg0", "nameserver 10.8.0.1\n");
        w("wg0", "nameserver 10.8.0.2\n");
        w("eth0.dhclient", "search lan\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n");
        w("wlan0.dhcp", "nameserver 192.0.2.53\nnameserver 2001:db8::53\nnameserver 198.51.100.53\n");
        let got = other_interfaces_nameservers(&[d.path(), Path::new("/nonexistent")], "wg0");
        let want: Vec<SocketAddr> =
            ["192.0.2.53:53", "192.0.2.54:53", "[2001:db8::53]:53"].iter().map(|a| a.parse().unwrap()).collect();
        assert_eq!(got, want);
        // A tunnel alone in resolvconf: nothing (resolv.conf is asked then).
        let only = tempfile::tempdir().unwrap();
        std::fs::write(only.path().join("tun.wg0"), "nameserver 10.8.0.1\n").unwrap();
        assert!(other_interfaces_nameservers(&[only.path()], "wg0").is_empty());
    }

    #[test]
    fn nxdomain_for_aaaa_keeps_the_a_answer() {
        // A broken forwarder: A answered, AAAA NXDOMAIN. getaddrinfo takes the A records.
        let s = server(|q| {
            let qtype = u16::from_be_bytes([q[q.len() - 4], q[q.len() - 3]]);
            Some(if qtype == TYPE_A { answer(q, 0, &[[203, 0, 113, 9]]) } else { answer(q, 3, &[]) })
        });
        let t = Instant::now();
        let got = resolver(vec![s], 3000).lookup("half.example").unwrap();
        assert_eq!(got, ["203.0.113.9".parse::<IpAddr>().unwrap()]);
        assert!(t.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_silent_server_ends_at_the_bound_and_the_next_one_answers() {
        let silent = server(|_| None);
        let t = Instant::now();
        let e = resolver(vec![silent], 600).lookup("vpn.example").unwrap_err();
        let took = t.elapsed();
        assert!(matches!(e, LookupError::Timeout { .. }), "{e}");
        assert!(took >= Duration::from_millis(550) && took < Duration::from_millis(1500), "{took:?}");
        let good = server(|q| Some(answer(q, 0, &[[198, 51, 100, 1]])));
        let got = resolver(vec![silent, good], 3000).lookup("vpn.example").unwrap();
        assert_eq!(got, ["198.51.100.1".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn garbage_and_stray_replies_are_ignored() {
        // Only replies with another id, and a runt: never taken, the lookup times out.
        let s = server(|q| {
            let mut wrong = answer(q, 0, &[[192, 0, 2, 66]]);
            wrong[0] ^= 0xff;
            Some(wrong)
        });
        let e = resolver(vec![s], 500).lookup("vpn.example").unwrap_err();
        assert!(matches!(e, LookupError::Timeout { .. }), "{e}");
    }

    #[test]
    fn endpoints_literal_or_first_answer_with_their_port() {
        let s = server(|q| Some(answer(q, 0, &[[203, 0, 113, 7], [203, 0, 113, 8]])));
        let r = resolver(vec![s], 2000);
        let ep = |h: &str| crate::config::Endpoint { host: h.into(), port: 51820 };
        assert_eq!(r.lookup_endpoint(&ep("vpn.example")).unwrap(), "203.0.113.7:51820".parse().unwrap());
        assert_eq!(r.lookup_endpoint(&ep("2001:db8::1")).unwrap(), "[2001:db8::1]:51820".parse().unwrap());
    }

    #[test]
    fn a_truncated_answer_is_asked_again_over_tcp() {
        // The whole question kept; the header alone (qdcount 1, or 0 as some servers send);
        // cut inside the question.
        let cuts: [fn(Vec<u8>) -> Vec<u8>; 4] = [
            |r| r,
            |r| r[..12].to_vec(),
            |mut r| {
                r.truncate(12);
                r[5] = 0;
                r
            },
            |mut r| {
                r.truncate(15);
                r
            },
        ];
        for (i, cut) in cuts.into_iter().enumerate() {
            let t = Instant::now();
            truncated_then_tcp(cut);
            assert!(t.elapsed() < Duration::from_secs(2), "case {i}: {:?} (the UDP reply was dropped)", t.elapsed());
        }
    }

    /// UDP answers with TC set (then `cut`); TCP on the same port gives the full answer.
    fn truncated_then_tcp(cut: fn(Vec<u8>) -> Vec<u8>) {
        // A free UDP port whose TCP twin is free too (another test's TCP socket may hold it).
        let (u, t) = (0..100)
            .find_map(|_| {
                let u = UdpSocket::bind("127.0.0.1:0").unwrap();
                let t = std::net::TcpListener::bind(u.local_addr().unwrap()).ok()?;
                Some((u, t))
            })
            .expect("no UDP port with its TCP twin free in 100 tries");
        let addr = u.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut b = [0u8; 512];
            while let Ok((n, from)) = u.recv_from(&mut b) {
                let mut r = answer(&b[..n], 0, &[]);
                r[2] |= 0x02;
                let _ = u.send_to(&cut(r), from);
            }
        });
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            for c in t.incoming() {
                let Ok(mut c) = c else { break };
                let mut n = [0u8; 2];
                if c.read_exact(&mut n).is_err() {
                    continue;
                }
                let mut q = vec![0u8; u16::from_be_bytes(n) as usize];
                if c.read_exact(&mut q).is_err() {
                    continue;
                }
                let r = answer(&q, 0, &[[198, 51, 100, 44]]);
                let _ = c.write_all(&dns::tcp_frame(&r));
            }
        });
        let got = resolver(vec![addr], 3000).lookup("big.example").unwrap();
        assert_eq!(got, ["198.51.100.44".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn resolved_stub_gives_way_to_its_upstream_servers() {
        let dir = tempfile::tempdir().unwrap();
        let (rc, up) = (dir.path().join("resolv.conf"), dir.path().join("upstream.conf"));
        let ips = |v: &[&str]| v.iter().map(|a| SocketAddr::new(a.parse().unwrap(), 53)).collect::<Vec<_>>();
        std::fs::write(&rc, "nameserver 127.0.0.53\noptions edns0 trust-ad\n").unwrap();
        // No upstream file: the stub it is.
        assert_eq!(host_nameservers_with(&rc, &up), ips(&["127.0.0.53"]));
        std::fs::write(&up, "nameserver 192.0.2.53\nnameserver 2001:db8::53\n").unwrap();
        assert_eq!(host_nameservers_with(&rc, &up), ips(&["192.0.2.53", "2001:db8::53"]));
        // A resolv.conf with real servers is taken as it is.
        std::fs::write(&rc, "nameserver 198.51.100.53\n").unwrap();
        assert_eq!(host_nameservers_with(&rc, &up), ips(&["198.51.100.53"]));
        assert!(host_nameservers_with(&dir.path().join("none"), &up).is_empty());
        // A link-local server keeps its zone as the scope (by index, or by name: lo is 1);
        // one on an interface that does not exist is left out.
        std::fs::write(&rc, "nameserver fe80::1%lo\nnameserver fe80::2%7\nnameserver fe80::3%nosuchif0\n").unwrap();
        let v6 = |a: &str, scope| SocketAddr::V6(std::net::SocketAddrV6::new(a.parse().unwrap(), 53, 0, scope));
        assert_eq!(host_nameservers_with(&rc, &up), [v6("fe80::1", 1), v6("fe80::2", 7)]);
    }

    #[test]
    fn hosts_file_first() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = dir.path().join("hosts");
        std::fs::write(&hosts, "203.0.113.9 vpn.example\n").unwrap();
        let r = Resolver { hosts: Some(hosts), ..resolver(vec![], 100) };
        assert_eq!(r.lookup("VPN.example").unwrap(), ["203.0.113.9".parse::<IpAddr>().unwrap()]);
        assert!(matches!(r.lookup("other.example"), Err(LookupError::NoServers { .. })));
    }

    #[test]
    fn an_endless_hosts_file_is_not_read_to_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = dir.path().join("hosts");
        std::os::unix::fs::symlink("/dev/zero", &hosts).unwrap();
        let s = server(|q| Some(answer(q, 0, &[[203, 0, 113, 7]])));
        let r = Resolver { hosts: Some(hosts), ..resolver(vec![s], 2000) };
        let t = Instant::now();
        assert_eq!(r.lookup("vpn.example").unwrap(), ["203.0.113.7".parse::<IpAddr>().unwrap()]);
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    }
}
