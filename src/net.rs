//! IP prefixes (`10.0.0.0/8`, `fd00::/64`) with wg(8)'s strict parsing rules, and the
//! policy rules wg-quick adds for a full tunnel, as plain data.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address with a prefix length. The address may have host bits set
/// (an interface address like `10.0.0.1/24`); [`IpNet::network`] masks them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

/// Why a prefix string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpNetError {
    #[error("Unable to parse IP address")]
    BadAddress,
    #[error("prefix length {0} is larger than {1}")]
    PrefixTooLong(u64, u8),
    #[error("prefix length is not a number")]
    BadPrefix,
}

impl IpNet {
    pub fn new(addr: IpAddr, prefix: u8) -> IpNet {
        IpNet { addr, prefix }
    }

    /// Maximum prefix length of this family: 32 or 128.
    pub fn max_prefix(&self) -> u8 {
        if self.addr.is_ipv4() { 32 } else { 128 }
    }

    pub fn is_ipv6(&self) -> bool {
        self.addr.is_ipv6()
    }

    /// An IPv6 link-local address (fe80::/10).
    pub fn is_link_local(&self) -> bool {
        matches!(self.addr, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80)
    }

    /// Parses `addr[/len]` like wg(8): strict inet_pton (IPv6 when the text has a `:`),
    /// a decimal length that starts with a digit, /32 or /128 when absent.
    pub fn parse(s: &str) -> Result<IpNet, IpNetError> {
        let (a, p) = match s.find('/') {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        };
        let addr = parse_addr_strict(a).ok_or(IpNetError::BadAddress)?;
        let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(IpNetError::BadPrefix);
                }
                // Saturate instead of overflowing on absurdly long digit strings.
                let v = p.bytes().fold(0u64, |acc, b| acc.saturating_mul(10).saturating_add(u64::from(b - b'0')));
                if v > u64::from(max) {
                    return Err(IpNetError::PrefixTooLong(v, max));
                }
                v as u8
            }
        };
        Ok(IpNet { addr, prefix })
    }

    /// The same prefix with host bits cleared.
    pub fn network(&self) -> IpNet {
        IpNet { addr: mask(self.addr, self.prefix), prefix: self.prefix }
    }

    /// True when host bits are set (wg warns "AllowedIP has nonzero host part").
    pub fn has_host_bits(&self) -> bool {
        self.network().addr != self.addr
    }

    /// True if `other` lies entirely inside this prefix (same family).
    pub fn contains(&self, other: &IpNet) -> bool {
        if self.addr.is_ipv4() != other.addr.is_ipv4() || other.prefix < self.prefix {
            return false;
        }
        mask(other.addr, self.prefix) == mask(self.addr, self.prefix)
    }

    pub fn is_default(&self) -> bool {
        self.prefix == 0
    }
}

/// Clears all but the first `prefix` bits of `addr`.
pub fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix.min(32))) };
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix.min(128))) };
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

/// Strict inet_pton: IPv6 if the text contains `:`, else dotted-quad IPv4 with no
/// leading zeros (Rust's parser already refuses `010.0.0.1` and `10.0.0`).
pub fn parse_addr_strict(s: &str) -> Option<IpAddr> {
    if s.contains(':') { s.parse::<Ipv6Addr>().ok().map(IpAddr::V6) } else { s.parse::<Ipv4Addr>().ok().map(IpAddr::V4) }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl std::str::FromStr for IpNet {
    type Err = IpNetError;
    fn from_str(s: &str) -> Result<IpNet, IpNetError> {
        IpNet::parse(s)
    }
}

/// One of the two policy rules per family that wg-quick adds for a default route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// `ip rule add not fwmark T table T`
    NotFwmark { v6: bool, mark: u32, table: u32, priority: Option<u32> },
    /// `ip rule add table main suppress_prefixlength 0`
    SuppressMain { v6: bool, priority: Option<u32> },
}

impl Rule {
    pub fn v6(&self) -> bool {
        match *self {
            Rule::NotFwmark { v6, .. } | Rule::SuppressMain { v6, .. } => v6,
        }
    }
}

/// A policy rule as found on the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedRule {
    pub v6: bool,
    pub priority: u32,
    /// `Some((mark, table))` for `not fwmark M lookup T`, `None` for `lookup main suppress_prefixlength 0`.
    pub not_fwmark: Option<(u32, u32)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rules() {
        assert_eq!(IpNet::parse("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(IpNet::parse("10.0.0.1").unwrap().prefix, 32);
        assert_eq!(IpNet::parse("fd00::1").unwrap().prefix, 128);
        assert_eq!(IpNet::parse("10.0.0.0/08").unwrap().prefix, 8);
        assert_eq!(IpNet::parse("10.0.0.0/33"), Err(IpNetError::PrefixTooLong(33, 32)));
        assert_eq!(IpNet::parse("::/129"), Err(IpNetError::PrefixTooLong(129, 128)));
        for bad in ["010.0.0.0/8", "10.0.0/8", "fe80::1%eth0", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", ""] {
            assert!(IpNet::parse(bad).is_err(), "{bad}");
        }
        assert!(IpNet::parse("::ffff:10.0.0.1/128").is_ok());
    }

    #[test]
    fn masking_and_containment() {
        let n = IpNet::parse("10.6.0.5/24").unwrap();
        assert!(n.has_host_bits());
        assert_eq!(n.network().to_string(), "10.6.0.0/24");
        let big = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(big.contains(&n));
        assert!(!n.contains(&big));
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains(&big));
        assert!(!IpNet::parse("::/0").unwrap().contains(&big));
        assert_eq!(IpNet::parse("fd00:1:2:3::9/64").unwrap().network().to_string(), "fd00:1:2:3::/64");
    }
}
