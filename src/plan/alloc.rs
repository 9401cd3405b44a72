//! Address allocation for new peers: the lowest free host of each pool (the server's
//! `Address` networks), by CIDR arithmetic over every address in use (the server's own, and
//! every host of every peer's AllowedIPs, disabled peers included). Pure.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::net::IpNet;

/// Why no address could be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocError {
    #[error(
        "the address pool {pool} is exhausted: all {size} of its host addresses are in use (the server's and \
         every peer's AllowedIPs, disabled peers included); remove peers, widen the Address prefix, or give \
         an address with --ip"
    )]
    Exhausted { pool: IpNet, size: u128 },
    #[error("{0} is already in use (by the server or a peer, disabled peers included)")]
    InUse(IpAddr),
    #[error("{addr} is the {what} address of the pool {pool}")]
    Reserved { addr: IpAddr, pool: IpNet, what: &'static str },
}

fn to_u128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn from_u128(v: u128, v6: bool) -> IpAddr {
    if v6 { IpAddr::V6(Ipv6Addr::from(v)) } else { IpAddr::V4(Ipv4Addr::from(v as u32)) }
}

/// The first and last address of a prefix, as numbers.
fn span(n: &IpNet) -> (u128, u128) {
    let bits = u32::from(n.max_prefix() - n.prefix);
    let start = to_u128(n.network().addr);
    let size_minus_one = if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 };
    (start, start + size_minus_one)
}

/// The host addresses of a pool: IPv4 without its network and broadcast addresses (a /31
/// has two hosts, RFC 3021; a /32 one), IPv6 without the subnet-router anycast address.
fn hosts(pool: &IpNet) -> (u128, u128) {
    let (s, e) = span(pool);
    let bits = pool.max_prefix() - pool.prefix;
    match (pool.is_ipv6(), bits) {
        (_, 0) => (s, e),
        (false, 1) => (s, e),
        (false, _) => (s + 1, e - 1),
        (true, 1) => (s, e),
        (true, _) => (s + 1, e),
    }
}

/// Addresses in use, as sorted disjoint ranges of one family.
#[derive(Debug, Clone, Default)]
pub struct Used {
    v4: Vec<(u128, u128)>,
    v6: Vec<(u128, u128)>,
}

impl Used {
    /// Every address of every prefix given (host bits of a prefix are ignored: the whole
    /// network is in use; a host address `/32` or `/128` is one address).
    pub fn new<'a>(nets: impl IntoIterator<Item = &'a IpNet>) -> Used {
        let mut u = Used::default();
        for n in nets {
            let r = span(n);
            if n.is_ipv6() { u.v6.push(r) } else { u.v4.push(r) }
        }
        for v in [&mut u.v4, &mut u.v6] {
            v.sort_unstable();
            let mut merged: Vec<(u128, u128)> = Vec::with_capacity(v.len());
            for &(s, e) in v.iter() {
                match merged.last_mut() {
                    Some(last) if s <= last.1.saturating_add(1) => last.1 = last.1.max(e),
                    _ => merged.push((s, e)),
                }
            }
            *v = merged;
        }
        u
    }

    fn ranges(&self, v6: bool) -> &[(u128, u128)] {
        if v6 { &self.v6 } else { &self.v4 }
    }

    /// Whether `a` is in use.
    pub fn contains(&self, a: IpAddr) -> bool {
        let x = to_u128(a);
        let r = self.ranges(a.is_ipv6());
        let i = r.partition_point(|&(s, _)| s <= x);
        i > 0 && r[i - 1].1 >= x
    }

    /// The lowest free host of `pool`; with `prefer`, that offset from the pool's start
    /// when it is a free host (so a peer's IPv6 host can match its IPv4 one).
    pub fn next_free(&self, pool: &IpNet, prefer: Option<u128>) -> Result<IpAddr, AllocError> {
        let v6 = pool.is_ipv6();
        let (lo, hi) = hosts(pool);
        let (start, _) = span(pool);
        if let Some(off) = prefer
            && let Some(c) = start.checked_add(off)
            && (lo..=hi).contains(&c)
            && !self.contains(from_u128(c, v6))
        {
            return Ok(from_u128(c, v6));
        }
        let r = self.ranges(v6);
        let mut cand = lo;
        let mut i = r.partition_point(|&(_, e)| e < lo);
        while i < r.len() && r[i].0 <= cand {
            if r[i].1 >= hi {
                return Err(self.exhausted(pool));
            }
            cand = cand.max(r[i].1 + 1);
            i += 1;
        }
        if cand > hi {
            return Err(self.exhausted(pool));
        }
        Ok(from_u128(cand, v6))
    }

    fn exhausted(&self, pool: &IpNet) -> AllocError {
        let (lo, hi) = hosts(pool);
        AllocError::Exhausted { pool: pool.network(), size: hi - lo + 1 }
    }

    /// Marks `a` as in use.
    pub fn insert(&mut self, a: IpAddr) {
        let r = if a.is_ipv6() { &mut self.v6 } else { &mut self.v4 };
        let x = to_u128(a);
        let i = r.partition_point(|&(s, _)| s <= x);
        if i > 0 && r[i - 1].1 >= x {
            return;
        }
        r.insert(i, (x, x));
        // Merge with neighbours.
        let mut merged: Vec<(u128, u128)> = Vec::with_capacity(r.len());
        for &(s, e) in r.iter() {
            match merged.last_mut() {
                Some(last) if s <= last.1.saturating_add(1) => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        *r = merged;
    }
}

/// The offset of `a` from the start of its pool.
pub fn offset(pool: &IpNet, a: IpAddr) -> u128 {
    to_u128(a) - span(pool).0
}

/// The pools to allocate from: the first `Address` of each family (the server's own
/// address in it is in use).
pub fn pools(addresses: &[IpNet]) -> (Option<IpNet>, Option<IpNet>) {
    (addresses.iter().find(|a| !a.is_ipv6()).copied(), addresses.iter().find(|a| a.is_ipv6()).copied())
}

/// Allocates one address per pool: IPv4 first, then IPv6 at the same offset when free.
/// `used` must already hold the server's and every peer's addresses.
pub fn allocate(used: &Used, v4: Option<&IpNet>, v6: Option<&IpNet>) -> Result<Vec<IpAddr>, AllocError> {
    let mut out = Vec::new();
    let mut prefer = None;
    if let Some(p) = v4 {
        let a = used.next_free(p, None)?;
        prefer = Some(offset(p, a));
        out.push(a);
    }
    if let Some(p) = v6 {
        out.push(used.next_free(p, prefer)?);
    }
    Ok(out)
}

/// Checks an address given with `--ip`: free, and not a pool's network or broadcast address.
pub fn check_given(used: &Used, pools: &[IpNet], a: IpAddr) -> Result<(), AllocError> {
    if used.contains(a) {
        return Err(AllocError::InUse(a));
    }
    for p in pools.iter().filter(|p| p.is_ipv6() == a.is_ipv6() && p.contains(&IpNet::new(a, p.max_prefix()))) {
        let (lo, hi) = hosts(p);
        let x = to_u128(a);
        if x < lo || x > hi {
            let what = if x == span(p).0 { if p.is_ipv6() { "subnet-router anycast" } else { "network" } } else { "broadcast" };
            return Err(AllocError::Reserved { addr: a, pool: p.network(), what });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> IpNet {
        IpNet::parse(s).unwrap()
    }

    fn a(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn lowest_free_host_by_cidr_arithmetic() {
        let pool = n("10.8.0.1/24");
        let used = Used::new(&[n("10.8.0.1/32"), n("10.8.0.2/32"), n("10.8.0.4/30"), n("10.8.0.20/32")]);
        assert_eq!(used.next_free(&pool, None), Ok(a("10.8.0.3")));
        let used = Used::new(&[n("10.8.0.1/32"), n("10.8.0.2/32"), n("10.8.0.3/32"), n("10.8.0.4/30")]);
        // 10.8.0.4/30 covers .4-.7; substring-free: .20 does not hide .2.
        assert_eq!(used.next_free(&pool, None), Ok(a("10.8.0.8")));
        assert!(used.contains(a("10.8.0.6")) && !used.contains(a("10.8.0.8")));
        // A route behind a peer covering part of the pool counts too.
        let used = Used::new(&[n("10.8.0.1/32"), n("10.8.0.0/25")]);
        assert_eq!(used.next_free(&pool, None), Ok(a("10.8.0.128")));
    }

    #[test]
    fn a_slash_16_pool_with_a_thousand_peers() {
        let pool = n("10.20.0.1/16");
        let mut nets = vec![n("10.20.0.1/32")];
        let mut used = Used::new(&nets);
        let mut got = std::collections::HashSet::new();
        for _ in 0..1000 {
            let x = used.next_free(&pool, None).unwrap();
            assert!(got.insert(x), "{x} twice");
            used.insert(x);
            nets.push(IpNet::new(x, 32));
        }
        assert_eq!(used.next_free(&pool, None), Ok(a("10.20.3.234")), "past the first /24s");
        // The same from scratch (as a new process sees the file).
        assert_eq!(Used::new(&nets).next_free(&pool, None), Ok(a("10.20.3.234")));
        assert!(got.contains(&a("10.20.0.255")) && got.contains(&a("10.20.1.0")), ".255 and .0 are hosts inside a /16");
    }

    #[test]
    fn ipv6_pools_and_pairing() {
        let v4 = n("10.8.0.1/24");
        let v6 = n("fd42:42:42::1/64");
        let used = Used::new(&[n("10.8.0.1/32"), n("fd42:42:42::1/128"), n("10.8.0.2/32"), n("fd42:42:42::2/128")]);
        assert_eq!(allocate(&used, Some(&v4), Some(&v6)).unwrap(), [a("10.8.0.3"), a("fd42:42:42::3")]);
        // The paired offset is taken: lowest free instead.
        let used = Used::new(&[n("10.8.0.1/32"), n("fd42:42:42::1/128"), n("fd42:42:42::2/126")]);
        assert_eq!(allocate(&used, Some(&v4), Some(&v6)).unwrap(), [a("10.8.0.2"), a("fd42:42:42::4")]);
        // A v6-only server; any prefix length.
        let used = Used::new(&[n("2001:db8::1/128")]);
        assert_eq!(allocate(&used, None, Some(&n("2001:db8::1/120"))).unwrap(), [a("2001:db8::2")]);
        assert_eq!(used.next_free(&n("2001:db8::/127"), None), Ok(a("2001:db8::")));
    }

    #[test]
    fn exhausted_pools_are_named() {
        let pool = n("10.9.0.1/30");
        let used = Used::new(&[n("10.9.0.1/32"), n("10.9.0.2/32")]);
        let e = used.next_free(&pool, None).unwrap_err();
        assert_eq!(e, AllocError::Exhausted { pool: n("10.9.0.0/30"), size: 2 });
        assert!(e.to_string().starts_with("the address pool 10.9.0.0/30 is exhausted: all 2 of its host addresses"));
        let used = Used::new(&[n("10.9.0.0/16")]);
        assert!(matches!(used.next_free(&n("10.9.0.1/24"), None), Err(AllocError::Exhausted { size: 254, .. })));
        let used = Used::new(&[n("fd00::1/128"), n("fd00::2/127"), n("fd00::4/126")]);
        assert!(matches!(used.next_free(&n("fd00::/125"), None), Err(AllocError::Exhausted { size: 7, .. })));
        assert!(Used::new(&[n("10.0.0.1/32")]).next_free(&n("10.0.0.1/32"), None).is_err());
    }

    #[test]
    fn given_addresses_are_checked() {
        let pools = [n("10.8.0.1/24"), n("fd00::1/64")];
        let used = Used::new(&[n("10.8.0.1/32"), n("10.8.0.2/32")]);
        assert_eq!(check_given(&used, &pools, a("10.8.0.2")), Err(AllocError::InUse(a("10.8.0.2"))));
        assert!(matches!(check_given(&used, &pools, a("10.8.0.255")), Err(AllocError::Reserved { what: "broadcast", .. })));
        assert!(matches!(check_given(&used, &pools, a("10.8.0.0")), Err(AllocError::Reserved { what: "network", .. })));
        assert!(matches!(check_given(&used, &pools, a("fd00::")), Err(AllocError::Reserved { .. })));
        assert_eq!(check_given(&used, &pools, a("10.8.0.9")), Ok(()));
        assert_eq!(check_given(&used, &pools, a("192.0.2.7")), Ok(()), "outside the pools is the admin's choice");
    }
}
