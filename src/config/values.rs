//! The typed values provisioning writes into files (`wgq server init`, `wgq peer …`): each
//! option's text is parsed into one of these and the file gets its rendering, never the
//! text as given, so that no value can add a line, a key or a section. The same parsers
//! re-read what a server file says for its clients (`# ClientDNS = …` and the others), which
//! may have been written by hand.
//!
//! Pure, and panic-free on any input (tests/config_fuzz.rs and the fuzz targets check).

use std::fmt;
use std::net::IpAddr;

use super::Endpoint;
use crate::net::IpNet;

/// Longest value an option may have: no address list, DNS list or note is longer.
pub const MAX_VALUE: usize = 1024;

/// The longest `--note` (in characters).
pub const MAX_NOTE: usize = 256;

/// Why a value was refused; the option (or the file's key) is named by the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("{} is not an IP address with an optional prefix length", shown(.0))]
    Net(String),
    #[error("{} is not an IP address", shown(.0))]
    Addr(String),
    #[error("{} is neither an IP address nor a search domain (letters, digits, `-', `_' and `.', not starting with `-')", shown(.0))]
    Dns(String),
    #[error("no value")]
    Empty,
    #[error("longer than {0} bytes")]
    TooLong(usize),
    #[error("{0}")]
    Endpoint(String),
    #[error("the value must be one line of printable text (no control characters, no spaces at either end)")]
    Text,
    #[error("longer than {MAX_NOTE} characters")]
    NoteTooLong,
    #[error("longer than {MAX_DISPLAY_NAME} characters")]
    DisplayNameTooLong,
}

/// A value in a message: quoted, control characters escaped, cut after 64 characters.
pub fn shown(v: &str) -> String {
    let mut s: String = v.chars().take(64).collect();
    if s.len() < v.len() {
        s.push('…');
    }
    format!("`{}'", s.escape_debug())
}

/// Text read from a file or a device, for a terminal: control characters but the tab
/// escaped (a name holding an escape sequence never reaches the terminal raw); everything
/// else as it is.
pub fn clean(v: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c.is_control() && c != '\t';
    if !v.chars().any(bad) {
        return std::borrow::Cow::Borrowed(v);
    }
    let mut s = String::with_capacity(v.len() + 8);
    for c in v.chars() {
        if bad(c) {
            s.extend(c.escape_debug());
        } else {
            s.push(c);
        }
    }
    std::borrow::Cow::Owned(s)
}

/// [`clean`] for a whole file's text: its line breaks (`\n`, `\r\n`) and tabs are kept.
pub fn clean_text(v: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let t = String::from_utf8_lossy(v);
    let bad = |c: char, next: Option<char>| c.is_control() && c != '\n' && c != '\t' && !(c == '\r' && next == Some('\n'));
    let mut it = t.chars().peekable();
    let mut any = false;
    while let Some(c) = it.next() {
        if bad(c, it.peek().copied()) {
            any = true;
            break;
        }
    }
    if !any && matches!(t, std::borrow::Cow::Borrowed(_)) {
        return std::borrow::Cow::Borrowed(v);
    }
    let mut s = String::with_capacity(t.len() + 8);
    let mut it = t.chars().peekable();
    while let Some(c) = it.next() {
        if bad(c, it.peek().copied()) {
            s.extend(c.escape_debug());
        } else {
            s.push(c);
        }
    }
    std::borrow::Cow::Owned(s.into_bytes())
}

fn bounded(v: &str) -> Result<&str, ValueError> {
    if v.len() > MAX_VALUE {
        return Err(ValueError::TooLong(MAX_VALUE));
    }
    Ok(v)
}

/// Lists: commas and white space separate (wg-quick's rule); empty items vanish.
pub fn split(v: &str) -> impl Iterator<Item = &str> {
    v.split(|c: char| c == ',' || c.is_ascii_whitespace()).filter(|s| !s.is_empty())
}

/// A list of addresses with prefix lengths (`AllowedIPs`, `--route`, `--address`), at
/// least one; rendered `a, b`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetList(pub Vec<IpNet>);

impl NetList {
    pub fn parse(v: &str) -> Result<NetList, ValueError> {
        let v = bounded(v)?;
        let l: Vec<IpNet> =
            split(v).map(|s| IpNet::parse(s).map_err(|_| ValueError::Net(s.to_string()))).collect::<Result<_, _>>()?;
        if l.is_empty() {
            return Err(ValueError::Empty);
        }
        Ok(NetList(l))
    }
}

impl fmt::Display for NetList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, n) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

/// One item of `DNS`: a name server or a search domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsItem {
    Server(IpAddr),
    /// Letters, digits, `-`, `_` and `.`; never starting with `-` (it would read as an
    /// option to resolvectl or resolvconf).
    Search(String),
}

/// A `DNS` list (`--dns`, `# ClientDNS`), at least one item; rendered `a, b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsList(pub Vec<DnsItem>);

impl DnsList {
    pub fn parse(v: &str) -> Result<DnsList, ValueError> {
        let v = bounded(v)?;
        let mut out = Vec::new();
        for item in split(v) {
            // wg-quick: digits-and-dots, or anything with a colon, is a name server.
            if item.bytes().all(|b| b.is_ascii_digit() || b == b'.') || item.contains(':') {
                out.push(DnsItem::Server(crate::net::parse_addr_strict(item).ok_or_else(|| ValueError::Addr(item.to_string()))?));
            } else if !item.starts_with('-')
                && item.len() <= 253
                && item.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                out.push(DnsItem::Search(item.to_string()));
            } else {
                return Err(ValueError::Dns(item.to_string()));
            }
        }
        if out.is_empty() {
            return Err(ValueError::Empty);
        }
        Ok(DnsList(out))
    }
}

impl fmt::Display for DnsList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match d {
                DnsItem::Server(a) => write!(f, "{a}")?,
                DnsItem::Search(s) => f.write_str(s)?,
            }
        }
        Ok(())
    }
}

/// The zone of an IPv6 literal (`fe80::1%eth0`): an interface name or index.
fn zone_ok(z: &str) -> bool {
    !z.is_empty() && z.len() <= 15 && z.bytes().all(|b| b.is_ascii_alphanumeric() || b"_=+.-".contains(&b))
}

/// Parses an endpoint that goes into a file: `HOST:PORT`, `[V6]:PORT` (an IPv6 literal with
/// an optional zone); the host a name (letters, digits, `-`, `_`, `.`) or a literal.
pub fn endpoint(v: &str) -> Result<Endpoint, ValueError> {
    let v = bounded(v)?;
    // The parser quotes the value as it is: its control characters are escaped here.
    let e = super::parse::parse_endpoint(v).map_err(|m| ValueError::Endpoint(clean(&m).into_owned()))?;
    check_host(&e.host)?;
    Ok(e)
}

fn check_host(host: &str) -> Result<(), ValueError> {
    let bad = || ValueError::Endpoint(format!("{} is neither an IP address nor a host name", shown(host)));
    match host.split_once('%') {
        Some((a, z)) => {
            if !matches!(crate::net::parse_addr_strict(a), Some(IpAddr::V6(_))) || !zone_ok(z) {
                return Err(bad());
            }
        }
        None => {
            if crate::net::parse_addr_strict(host).is_none()
                && (host.starts_with('-') || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)))
            {
                return Err(bad());
            }
        }
    }
    Ok(())
}

/// `--endpoint HOST[:PORT]`: a host without a port gets `port`; IPv6 literals get brackets.
pub fn endpoint_with_default(given: &str, port: u16) -> Result<Endpoint, ValueError> {
    let given = bounded(given)?;
    if (given.starts_with('[') || !given.contains("::"))
        && let Ok(e) = endpoint(given)
    {
        return Ok(e);
    }
    let host = given.strip_prefix('[').and_then(|g| g.strip_suffix(']')).unwrap_or(given);
    if host.is_empty() {
        return Err(ValueError::Endpoint(format!("Unable to find host of endpoint: {}", shown(given))));
    }
    if !host.contains(':') && given.contains(':') {
        // `host:junk`: the port is wrong; say what the endpoint parser says.
        return endpoint(given);
    }
    check_host(host)?;
    Ok(Endpoint { host: host.to_string(), port })
}

/// A note or another one-line metadata value (`# Note = …`): printable, one line, no
/// spaces at either end, at most [`MAX_NOTE`] characters.
pub fn note(v: &str) -> Result<&str, ValueError> {
    if v.chars().any(char::is_control) || v.trim() != v {
        return Err(ValueError::Text);
    }
    if v.chars().count() > MAX_NOTE {
        return Err(ValueError::NoteTooLong);
    }
    Ok(v)
}

/// The most characters of a display name (`# DisplayName =`).
pub const MAX_DISPLAY_NAME: usize = 64;

/// A display name: printable, one line, no spaces at either end, 1 to
/// [`MAX_DISPLAY_NAME`] characters.
pub fn display_name(v: &str) -> Result<&str, ValueError> {
    if v.is_empty() || v.chars().any(char::is_control) || v.trim() != v {
        return Err(ValueError::Text);
    }
    if v.chars().count() > MAX_DISPLAY_NAME {
        return Err(ValueError::DisplayNameTooLong);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_render_from_their_values() {
        assert_eq!(NetList::parse("10.0.0.0/8,fd00::/8  1.2.3.4").unwrap().to_string(), "10.0.0.0/8, fd00::/8, 1.2.3.4/32");
        assert_eq!(DnsList::parse("1.1.1.1 corp.example,fd00::53").unwrap().to_string(), "1.1.1.1, corp.example, fd00::53");
        for bad in ["", " , ", "10.0.0.0/8\nPostUp = x", "[Peer]", "a=b", "é", "10.0.0.0/8#x"] {
            assert!(NetList::parse(bad).is_err(), "{bad:?}");
        }
        for bad in ["", "1.1.1.1\nPostUp = x", "-x", "a#b", "[Peer]", "a=b", "é.example", "1.2.3", "a\0b"] {
            assert!(DnsList::parse(bad).is_err(), "{bad:?}");
        }
        assert!(NetList::parse(&"1".repeat(100_000)).is_err());
    }

    #[test]
    fn endpoints_and_zones() {
        assert_eq!(endpoint_with_default("vpn.example.org", 51820).unwrap().to_string(), "vpn.example.org:51820");
        assert_eq!(endpoint_with_default("2001:db8::1", 1).unwrap().to_string(), "[2001:db8::1]:1");
        assert_eq!(endpoint_with_default("fe80::1%eth0", 1).unwrap().to_string(), "[fe80::1%eth0]:1");
        assert_eq!(endpoint_with_default("[fe80::1%eth0]:5", 1).unwrap().to_string(), "[fe80::1%eth0]:5");
        assert_eq!(endpoint_with_default("192.0.2.1:9", 1).unwrap().to_string(), "192.0.2.1:9");
        for bad in [
            "[fe80::1%eth0\nPostUp = touch /x]:51820",
            "fe80::1%eth0\nPostUp = x",
            "fe80::1%a b",
            "[fe80::1%]:1",
            "10.0.0.1%eth0:1",
            "a b:1",
            "-o:1",
            "x:1\n[Peer]",
            "é:1",
            "",
            "[]:1",
            "x:99999",
        ] {
            assert!(endpoint_with_default(bad, 51820).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn notes_and_cleaning() {
        assert!(note("my phone # = [x] é").is_ok());
        for bad in ["a\nb", "a\rb", "\0", " a", "a\u{1b}[2J", "a\u{9b}"] {
            assert!(note(bad).is_err(), "{bad:?}");
        }
        assert!(note(&"a".repeat(MAX_NOTE + 1)).is_err());
        assert_eq!(clean("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        for v in ["x\u{1b}[2J:1", "[x\u{1b}]:1", "[fe80::1%\u{1b}]:1", "x:\u{1b}"] {
            let e = endpoint_with_default(v, 1).unwrap_err().to_string();
            assert!(!e.contains('\u{1b}'), "{e:?}");
        }
        assert_eq!(clean("bob é"), "bob é");
        assert_eq!(&*clean_text(b"a\r\nb\tc\n"), b"a\r\nb\tc\n");
        assert_eq!(&*clean_text(b"a\x1b]0;x\x07\rb\n"), b"a\\u{1b}]0;x\\u{7}\\rb\n");
    }
}
