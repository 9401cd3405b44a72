//! Endpoint resolution as wg(8) does it: IP literals directly; host names through
//! getaddrinfo (first result), retrying transient failures with a growing delay
//! (`WG_ENDPOINT_RESOLUTION_RETRIES`, default 15, `infinity`), failing at once on
//! permanent ones.

use std::ffi::{CStr, CString};
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use crate::config::Endpoint;

/// Resolution failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("{message}: `{endpoint}'")]
    Lookup { message: String, endpoint: String },
    #[error("Unable to parse WG_ENDPOINT_RESOLUTION_RETRIES: `{0}'")]
    BadRetries(String),
}

/// One getaddrinfo outcome: an address, or (error text, permanent?).
pub type Lookup = Result<SocketAddr, (String, bool)>;

/// `None` means infinity.
pub fn retries_from_env(v: Option<&str>) -> Result<Option<u32>, ResolveError> {
    match v {
        None => Ok(Some(15)),
        Some("infinity") => Ok(None),
        Some(s) => {
            s.parse::<i32>().ok().filter(|n| *n >= 0).map(|n| Some(n as u32)).ok_or_else(|| ResolveError::BadRetries(s.into()))
        }
    }
}

/// The resolution loop with injectable lookup, sleep and notice printing (for tests).
pub fn resolve_with(
    e: &Endpoint,
    retries: Option<u32>,
    mut lookup: impl FnMut(&str, u16) -> Lookup,
    mut sleep: impl FnMut(Duration),
    mut notice: impl FnMut(&str),
) -> Result<SocketAddr, ResolveError> {
    if let Some(a) = literal(&e.host, e.port) {
        return Ok(a);
    }
    let shown = e.to_string();
    let mut delay = 1.0f64;
    let mut attempt = 0u32;
    loop {
        match lookup(&e.host, e.port) {
            Ok(a) => return Ok(a),
            Err((msg, permanent)) => {
                if permanent || retries.is_some_and(|r| attempt >= r) {
                    return Err(ResolveError::Lookup { message: msg, endpoint: shown });
                }
                notice(&format!("{msg}: `{shown}'. Trying again in {delay:.2} seconds..."));
                sleep(Duration::from_secs_f64(delay));
                delay = (delay * 1.2).min(20.0);
                attempt += 1;
            }
        }
    }
}

/// An IP literal (with an optional IPv6 `%zone`) needs no resolver.
pub fn literal(host: &str, port: u16) -> Option<SocketAddr> {
    let (addr, zone) = match host.split_once('%') {
        Some((a, z)) => (a, Some(z)),
        None => (host, None),
    };
    let ip = crate::net::parse_addr_strict(addr)?;
    match (ip, zone) {
        (IpAddr::V6(v6), Some(z)) => {
            let scope = z.parse::<u32>().ok().or_else(|| nix::net::if_::if_nametoindex(z).ok())?;
            Some(SocketAddr::V6(SocketAddrV6::new(v6, port, 0, scope)))
        }
        (ip, None) => Some(SocketAddr::new(ip, port)),
        _ => None,
    }
}

/// getaddrinfo(AF_UNSPEC, SOCK_DGRAM, UDP); the first result.
pub fn getaddrinfo(host: &str, port: u16) -> Lookup {
    let c_host = CString::new(host).map_err(|_| ("Name or service not known".to_string(), true))?;
    let c_port = CString::new(port.to_string()).unwrap_or_default();
    // SAFETY: zeroed addrinfo is a valid "no hints" value; fields set below.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_socktype = libc::SOCK_DGRAM;
    hints.ai_protocol = libc::IPPROTO_UDP;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid C strings and out pointer; res is freed below.
    let rc = unsafe { libc::getaddrinfo(c_host.as_ptr(), c_port.as_ptr(), &hints, &mut res) };
    if rc != 0 {
        // SAFETY: gai_strerror returns a static string.
        let msg = unsafe { CStr::from_ptr(libc::gai_strerror(rc)) }.to_string_lossy().into_owned();
        let permanent = matches!(rc, libc::EAI_NONAME | libc::EAI_FAIL | libc::EAI_NODATA);
        return Err((msg, permanent));
    }
    let mut out = None;
    let mut cur = res;
    while !cur.is_null() && out.is_none() {
        // SAFETY: cur walks the list getaddrinfo returned.
        let ai = unsafe { &*cur };
        if !ai.ai_addr.is_null() {
            out = match ai.ai_family {
                libc::AF_INET => {
                    // SAFETY: family says sockaddr_in.
                    let sa = unsafe { &*(ai.ai_addr as *const libc::sockaddr_in) };
                    Some(SocketAddr::new(IpAddr::from(u32::from_be(sa.sin_addr.s_addr).to_be_bytes()), port))
                }
                libc::AF_INET6 => {
                    // SAFETY: family says sockaddr_in6.
                    let sa = unsafe { &*(ai.ai_addr as *const libc::sockaddr_in6) };
                    Some(SocketAddr::V6(SocketAddrV6::new(sa.sin6_addr.s6_addr.into(), port, 0, sa.sin6_scope_id)))
                }
                _ => None,
            };
        }
        cur = ai.ai_next;
    }
    // SAFETY: res came from getaddrinfo.
    unsafe { libc::freeaddrinfo(res) };
    out.ok_or_else(|| ("No address associated with hostname".to_string(), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(h: &str, p: u16) -> Endpoint {
        Endpoint { host: h.into(), port: p }
    }

    #[test]
    fn literals_need_no_lookup() {
        let r = resolve_with(&ep("2001:db8::1", 51820), Some(0), |_, _| panic!("no lookup"), |_| {}, |_| {});
        assert_eq!(r.unwrap(), "[2001:db8::1]:51820".parse().unwrap());
        let r = resolve_with(&ep("fe80::1%1", 5), Some(0), |_, _| panic!("no lookup"), |_| {}, |_| {}).unwrap();
        assert!(matches!(r, SocketAddr::V6(a) if a.scope_id() == 1));
    }

    #[test]
    fn transient_errors_retry_with_growing_delay() {
        let mut calls = 0;
        let mut slept = Vec::new();
        let mut notes = Vec::new();
        let r = resolve_with(
            &ep("vpn.example", 51820),
            Some(15),
            |_, _| {
                calls += 1;
                if calls < 4 {
                    Err(("Temporary failure in name resolution".into(), false))
                } else {
                    Ok("192.0.2.9:51820".parse().unwrap())
                }
            },
            |d| slept.push(d.as_secs_f64()),
            |m| notes.push(m.to_string()),
        );
        assert_eq!(r.unwrap(), "192.0.2.9:51820".parse().unwrap());
        assert_eq!(slept.len(), 3);
        assert!((slept[1] - 1.2).abs() < 1e-9 && (slept[2] - 1.44).abs() < 1e-9);
        assert_eq!(notes[0], "Temporary failure in name resolution: `vpn.example:51820'. Trying again in 1.00 seconds...");
    }

    #[test]
    fn permanent_errors_and_exhausted_retries_fail() {
        let r = resolve_with(
            &ep("nonexistent.invalid", 1),
            None,
            |_, _| Err(("Name or service not known".into(), true)),
            |_| panic!(),
            |_| {},
        );
        assert_eq!(r.unwrap_err().to_string(), "Name or service not known: `nonexistent.invalid:1'");
        let mut n = 0;
        let r = resolve_with(
            &ep("x", 1),
            Some(2),
            |_, _| {
                n += 1;
                Err(("Temporary failure".into(), false))
            },
            |_| {},
            |_| {},
        );
        assert!(r.is_err());
        assert_eq!(n, 3);
        assert_eq!(retries_from_env(Some("infinity")), Ok(None));
        assert!(retries_from_env(Some("abc")).is_err());
    }

    #[test]
    fn localhost_resolves() {
        let a = getaddrinfo("localhost", 51820).unwrap();
        assert!(a.ip().is_loopback());
    }
}
