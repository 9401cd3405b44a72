//! The C library calls whose exact behaviour wg(8)'s output and parsing depend on:
//! inet_pton/inet_ntop (address text), getnameinfo (endpoint text, scope names),
//! getaddrinfo (ports and endpoints, service names included), strerror and gai_strerror
//! (message wording). Calling glibc itself keeps every corner identical.

use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

// The libc crate does not declare these two.
unsafe extern "C" {
    fn inet_pton(af: libc::c_int, src: *const libc::c_char, dst: *mut libc::c_void) -> libc::c_int;
    fn inet_ntop(af: libc::c_int, src: *const libc::c_void, dst: *mut libc::c_char, size: libc::socklen_t)
    -> *const libc::c_char;
}

/// strerror(errno), glibc's wording (Rust's text without its " (os error N)").
pub fn strerror(errno: i32) -> String {
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    s.split(" (os error").next().unwrap_or(&s).to_string()
}

/// The text getaddrinfo's error code stands for (strerror(errno) for EAI_SYSTEM, as wg).
fn gai_message(rc: i32, errno: i32) -> String {
    if rc == libc::EAI_SYSTEM {
        return strerror(errno);
    }
    // SAFETY: gai_strerror returns a pointer to a static string.
    unsafe { CStr::from_ptr(libc::gai_strerror(rc)) }.to_string_lossy().into_owned()
}

/// inet_pton of `AF_INET6` when the text has a `:`, else `AF_INET` (wg's rule).
pub fn pton(s: &str) -> Option<IpAddr> {
    let c = CString::new(s).ok()?;
    if s.contains(':') {
        let mut b = [0u8; 16];
        // SAFETY: a valid C string and a 16-byte buffer for AF_INET6.
        let r = unsafe { inet_pton(libc::AF_INET6, c.as_ptr(), b.as_mut_ptr().cast()) };
        (r == 1).then(|| IpAddr::V6(Ipv6Addr::from(b)))
    } else {
        let mut b = [0u8; 4];
        // SAFETY: a valid C string and a 4-byte buffer for AF_INET.
        let r = unsafe { inet_pton(libc::AF_INET, c.as_ptr(), b.as_mut_ptr().cast()) };
        (r == 1).then(|| IpAddr::V4(Ipv4Addr::from(b)))
    }
}

/// inet_ntop: glibc's text (it writes `::a.b.c.d` for IPv4-compatible addresses, where
/// Rust's Display writes hex groups).
pub fn ntop(a: &IpAddr) -> String {
    let mut s = String::new();
    push_ntop(&mut s, a);
    s
}

/// [`ntop`] appended to `out`. IPv4 is written here (dotted decimal is all inet_ntop does
/// for it, through sprintf); IPv6 goes to glibc.
pub fn push_ntop(out: &mut String, a: &IpAddr) {
    match a {
        IpAddr::V4(v) => push_ipv4(out, v),
        IpAddr::V6(_) => out.push_str(&glibc_ntop(a)),
    }
}

fn push_ipv4(out: &mut String, v: &Ipv4Addr) {
    for (i, o) in v.octets().iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_u64(out, u64::from(*o));
    }
}

/// A decimal number appended to `out`.
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // The digits are ASCII.
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

fn glibc_ntop(a: &IpAddr) -> String {
    let mut buf = [0 as libc::c_char; 64];
    let (fam, bytes): (i32, Vec<u8>) = match a {
        IpAddr::V4(v) => (libc::AF_INET, v.octets().to_vec()),
        IpAddr::V6(v) => (libc::AF_INET6, v.octets().to_vec()),
    };
    // SAFETY: the source holds 4 or 16 bytes for its family; the buffer is large enough.
    let p = unsafe { inet_ntop(fam, bytes.as_ptr().cast(), buf.as_mut_ptr(), buf.len() as libc::socklen_t) };
    if p.is_null() {
        return a.to_string();
    }
    // SAFETY: inet_ntop wrote a NUL-terminated string into buf.
    unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
}

fn to_sockaddr(a: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match a {
        SocketAddr::V4(v) => {
            // SAFETY: sockaddr_storage is large enough and aligned for sockaddr_in.
            let sin = unsafe { &mut *(&mut ss as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = v.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(v.ip().octets());
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v) => {
            // SAFETY: sockaddr_storage is large enough and aligned for sockaddr_in6.
            let sin6 = unsafe { &mut *(&mut ss as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = v.port().to_be();
            sin6.sin6_flowinfo = v.flowinfo();
            sin6.sin6_addr.s6_addr = v.ip().octets();
            sin6.sin6_scope_id = v.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

/// An endpoint as wg prints it: numeric getnameinfo, `[host]:port` when the host of an
/// IPv6 address has a `:` (a scoped link-local address gets its interface name), else
/// `host:port`; the resolver's error text if getnameinfo fails.
pub fn endpoint(a: &SocketAddr) -> String {
    let mut s = String::new();
    push_endpoint(&mut s, a);
    s
}

/// [`endpoint`] appended to `out`. Without a scope, numeric getnameinfo is inet_ntop of
/// the address and the port in decimal, which is written here; a scoped IPv6 address goes
/// to getnameinfo for its interface name.
pub fn push_endpoint(out: &mut String, a: &SocketAddr) {
    match a {
        SocketAddr::V4(v) => push_ipv4(out, v.ip()),
        SocketAddr::V6(v) if v.scope_id() == 0 => {
            out.push('[');
            out.push_str(&glibc_ntop(&IpAddr::V6(*v.ip())));
            out.push(']');
        }
        SocketAddr::V6(_) => return out.push_str(&getnameinfo_endpoint(a)),
    }
    out.push(':');
    push_u64(out, u64::from(a.port()));
}

fn getnameinfo_endpoint(a: &SocketAddr) -> String {
    let (ss, len) = to_sockaddr(a);
    let mut host = [0 as libc::c_char; 4097];
    let mut serv = [0 as libc::c_char; 513];
    // SAFETY: a sockaddr of `len` bytes and output buffers of the sizes given.
    let rc = unsafe {
        libc::getnameinfo(
            (&ss as *const libc::sockaddr_storage).cast(),
            len,
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            serv.as_mut_ptr(),
            serv.len() as libc::socklen_t,
            libc::NI_DGRAM | libc::NI_NUMERICSERV | libc::NI_NUMERICHOST,
        )
    };
    if rc != 0 {
        return gai_message(rc, std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    // SAFETY: getnameinfo wrote NUL-terminated strings.
    let (h, s) = unsafe { (CStr::from_ptr(host.as_ptr()).to_string_lossy(), CStr::from_ptr(serv.as_ptr()).to_string_lossy()) };
    if a.is_ipv6() && h.contains(':') { format!("[{h}]:{s}") } else { format!("{h}:{s}") }
}

/// One getaddrinfo call's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The first result, if it is IPv4 or IPv6 (`None`: neither).
    Found(Option<SocketAddr>),
    /// The error code and its message.
    Failed { code: i32, message: String },
}

/// getaddrinfo(host, service) with wg's hints (AF_UNSPEC, SOCK_DGRAM, UDP; AI_PASSIVE when
/// `host` is `None`, as for a listen port).
pub fn getaddrinfo(host: Option<&str>, service: &str) -> Lookup {
    let failed = |code: i32| Lookup::Failed { code, message: gai_message(code, libc::EINVAL) };
    let Ok(c_serv) = CString::new(service) else { return failed(libc::EAI_NONAME) };
    let c_host = match host.map(CString::new) {
        Some(Ok(h)) => Some(h),
        Some(Err(_)) => return failed(libc::EAI_NONAME),
        None => None,
    };
    // SAFETY: zeroed addrinfo is a valid "no hints" value; fields set below.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_socktype = libc::SOCK_DGRAM;
    hints.ai_protocol = libc::IPPROTO_UDP;
    if host.is_none() {
        hints.ai_flags = libc::AI_PASSIVE;
    }
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid C strings (or NULL host) and out pointer; res is freed below.
    let rc =
        unsafe { libc::getaddrinfo(c_host.as_ref().map_or(std::ptr::null(), |h| h.as_ptr()), c_serv.as_ptr(), &hints, &mut res) };
    if rc != 0 {
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        return Lookup::Failed { code: rc, message: gai_message(rc, errno) };
    }
    // SAFETY: on success res points at the first result.
    let ai = unsafe { &*res };
    let out = if ai.ai_family == libc::AF_INET && ai.ai_addrlen as usize == std::mem::size_of::<libc::sockaddr_in>() {
        // SAFETY: family and length say sockaddr_in.
        let sa = unsafe { &*(ai.ai_addr as *const libc::sockaddr_in) };
        Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(sa.sin_addr.s_addr.to_ne_bytes()), u16::from_be(sa.sin_port))))
    } else if ai.ai_family == libc::AF_INET6 && ai.ai_addrlen as usize == std::mem::size_of::<libc::sockaddr_in6>() {
        // SAFETY: family and length say sockaddr_in6.
        let sa = unsafe { &*(ai.ai_addr as *const libc::sockaddr_in6) };
        Some(SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::from(sa.sin6_addr.s6_addr),
            u16::from_be(sa.sin6_port),
            sa.sin6_flowinfo,
            sa.sin6_scope_id,
        )))
    } else {
        None
    };
    // SAFETY: res came from getaddrinfo.
    unsafe { libc::freeaddrinfo(res) };
    Lookup::Found(out)
}

/// Whether a getaddrinfo error is permanent (no point retrying), as glibc documents.
pub fn permanent(code: i32) -> bool {
    matches!(code, libc::EAI_NONAME | libc::EAI_FAIL | libc::EAI_NODATA)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_address_text() {
        assert_eq!(ntop(&"::1:2".parse().unwrap()), "::0.1.0.2");
        assert_eq!(ntop(&"::ffff:1.2.3.4".parse().unwrap()), "::ffff:1.2.3.4");
        assert_eq!(ntop(&"2001:db8:0:0:1:0:0:1".parse().unwrap()), "2001:db8::1:0:0:1");
        assert_eq!(ntop(&"10.0.0.1".parse().unwrap()), "10.0.0.1");
        assert_eq!(pton("010.0.0.1"), None);
        assert_eq!(pton("1.2.3"), None);
        assert_eq!(pton("fd00::1"), Some("fd00::1".parse().unwrap()));
        assert_eq!(pton("fe80::1%eth0"), None);
    }

    #[test]
    fn fast_paths_are_glibc_text() {
        for a in ["0.0.0.0", "255.255.255.255", "10.0.0.1", "192.0.2.10", "1.22.133.4"] {
            let ip: IpAddr = a.parse().unwrap();
            assert_eq!(ntop(&ip), glibc_ntop(&ip));
        }
        for e in [
            "0.0.0.0:0",
            "192.0.2.1:65535",
            "[::]:1",
            "[::1]:51820",
            "[::ffff:10.0.0.1]:7",
            "[::1.2.3.4]:9",
            "[2001:db8::1:0:0:1]:80",
        ] {
            let a: SocketAddr = e.parse().unwrap();
            assert_eq!(endpoint(&a), getnameinfo_endpoint(&a), "{e}");
        }
        let mut s = String::new();
        for n in [0, 9, 10, 65535, u64::MAX] {
            s.clear();
            push_u64(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }

    #[test]
    fn endpoint_text() {
        assert_eq!(endpoint(&"192.0.2.1:51820".parse().unwrap()), "192.0.2.1:51820");
        assert_eq!(endpoint(&"[2001:db8::1]:5".parse().unwrap()), "[2001:db8::1]:5");
        assert_eq!(endpoint(&"[::ffff:192.0.2.1]:5".parse().unwrap()), "[::ffff:192.0.2.1]:5");
    }

    #[test]
    fn ports_by_number_and_service_name() {
        let port = |s: &str| match getaddrinfo(None, s) {
            Lookup::Found(Some(a)) => Some(a.port()),
            _ => None,
        };
        assert_eq!(port("51820"), Some(51820));
        // glibc reads numeric services with strtoul and no range check.
        assert_eq!(port("70000"), Some(4464));
        if std::path::Path::new("/etc/services").exists()
            && std::fs::read_to_string("/etc/services").is_ok_and(|s| s.contains("\ndomain"))
        {
            assert_eq!(port("domain"), Some(53));
        }
        assert!(matches!(getaddrinfo(None, "no-such-service-x"), Lookup::Failed { .. }));
    }
}
