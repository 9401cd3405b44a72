//! DNS messages of wgq's stub resolver (RFC 1035, A and AAAA only), and the resolver's text
//! files (`/etc/hosts`, `/etc/resolv.conf`): plain data in, bytes or addresses out. Nothing
//! here touches a socket; every parser takes any bytes and never panics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Record types wgq asks for.
pub const TYPE_A: u16 = 1;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;

/// Header flag bits (second 16-bit word).
const FLAG_QR: u16 = 0x8000;
const FLAG_TC: u16 = 0x0200;
const FLAG_RD: u16 = 0x0100;

/// RCODEs wgq tells apart.
pub const RCODE_NOERROR: u8 = 0;
#[cfg(test)]
pub const RCODE_SERVFAIL: u8 = 2;
pub const RCODE_NXDOMAIN: u8 = 3;

/// How many CNAMEs a chain may have before wgq gives up (glibc follows a handful too).
const MAX_CNAME_CHAIN: usize = 16;

/// A name that cannot be asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("empty label in host name `{0}'")]
    EmptyLabel(String),
    #[error("label longer than 63 bytes in host name `{0}'")]
    LongLabel(String),
    #[error("host name `{0}' is longer than 253 bytes")]
    LongName(String),
}

/// A reply that is not a usable answer to the question asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// Too short, a bad pointer, a name too long, a record running off the end...
    #[error("malformed reply ({0})")]
    Malformed(&'static str),
    /// Another query's reply, or no reply at all (QR clear): ignore it and keep waiting.
    #[error("reply to another query")]
    NotOurs,
}

/// What a well-formed reply to our question says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The addresses of the asked type at the end of the CNAME chain, in reply order
    /// (empty: the name exists but has no record of this type, NODATA).
    Addresses(Vec<IpAddr>),
    /// NXDOMAIN: the name does not exist.
    NoSuchName,
    /// The TC bit: the answer did not fit in UDP (ask again over TCP).
    Truncated,
    /// Any other RCODE (SERVFAIL, REFUSED, ...): ask the next server.
    ServerError(u8),
}

/// Writes `name` in wire form (labels, then the root's zero byte). A trailing dot is allowed.
pub fn encode_name(name: &str, out: &mut Vec<u8>) -> Result<(), NameError> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.len() > 253 {
        return Err(NameError::LongName(name.into()));
    }
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            if label.is_empty() {
                return Err(NameError::EmptyLabel(name.into()));
            }
            if label.len() > 63 {
                return Err(NameError::LongLabel(name.into()));
            }
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
    Ok(())
}

/// A standard query (RD set, one question of class IN) for `name` and `qtype`, with
/// EDNS-free header; `id` is the transaction id the reply must carry.
pub fn query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, NameError> {
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&FLAG_RD.to_be_bytes());
    // QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 0.
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    encode_name(name, &mut q)?;
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(q)
}

/// The same query framed for TCP (RFC 1035 4.2.2: a two-byte length first).
pub fn tcp_frame(msg: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(msg.len() + 2);
    v.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    v.extend_from_slice(msg);
    v
}

fn be16(m: &[u8], at: usize) -> Result<u16, ReplyError> {
    m.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]])).ok_or(ReplyError::Malformed("truncated field"))
}

/// Reads the (possibly compressed) name at `at`: its lower-cased dotted text and the offset
/// just after it in the message (after the first pointer, if any). Pointers must point
/// backwards (no loops), names stay within 255 bytes.
pub fn read_name(m: &[u8], mut at: usize) -> Result<(String, usize), ReplyError> {
    // The bytes as they are (ASCII lowered), read as UTF-8 at the end: a UTF-8 name
    // compares equal to the name asked for; other bytes become U+FFFD and never do.
    let mut name: Vec<u8> = Vec::new();
    let mut end = None;
    let mut wire_len = 0usize;
    let mut limit = at;
    loop {
        let len = *m.get(at).ok_or(ReplyError::Malformed("name runs off the end"))? as usize;
        match len & 0xc0 {
            0x00 if len == 0 => {
                let name = String::from_utf8(name).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                return Ok((name, end.unwrap_or(at + 1)));
            }
            0x00 => {
                let label = m.get(at + 1..at + 1 + len).ok_or(ReplyError::Malformed("label runs off the end"))?;
                wire_len += len + 1;
                if wire_len > 255 {
                    return Err(ReplyError::Malformed("name longer than 255 bytes"));
                }
                if !name.is_empty() {
                    name.push(b'.');
                }
                for &b in label {
                    name.push(b.to_ascii_lowercase());
                }
                at += 1 + len;
            }
            0xc0 => {
                let ptr = (be16(m, at)? & 0x3fff) as usize;
                // Strictly backwards from where this name (or the last pointer) started.
                if ptr >= limit {
                    return Err(ReplyError::Malformed("compression pointer does not point backwards"));
                }
                end.get_or_insert(at + 2);
                limit = ptr;
                at = ptr;
            }
            _ => return Err(ReplyError::Malformed("unknown label type")),
        }
    }
}

/// Normalizes a host name for comparison: lower case, no trailing dot.
fn norm(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// Where the one question of a reply ends, if the message holds all of it.
fn question_end(m: &[u8]) -> Option<usize> {
    let (_, next) = read_name(m, 12).ok()?;
    (m.len() >= next + 4).then_some(next + 4)
}

/// Parses a reply to `query(id, name, qtype)`. Replies with another id or without QR are
/// [`ReplyError::NotOurs`] (so a stray datagram never ends the wait). Answers are matched
/// to the question: the CNAME chain from `name` is followed (in any record order, at most
/// [`MAX_CNAME_CHAIN`] links) and the records of `qtype` owned by its end are returned.
pub fn parse_reply(m: &[u8], id: u16, name: &str, qtype: u16) -> Result<Answer, ReplyError> {
    if m.len() < 12 {
        return Err(ReplyError::Malformed("shorter than a header"));
    }
    if be16(m, 0)? != id {
        return Err(ReplyError::NotOurs);
    }
    let flags = be16(m, 2)?;
    if flags & FLAG_QR == 0 {
        return Err(ReplyError::NotOurs);
    }
    let rcode = (flags & 0x000f) as u8;
    let qd = be16(m, 4)?;
    let an = be16(m, 6)?;
    let truncated = flags & FLAG_TC != 0;
    // A truncated reply may be cut before or inside its question (RFC 2181 9: the server
    // keeps what fits, down to the header alone): with our id it is asked again over TCP,
    // where a whole reply, question included, is checked.
    if truncated && (qd == 0 || (qd == 1 && question_end(m).is_none())) {
        return Ok(Answer::Truncated);
    }
    // The question must be ours (a spoofed or confused reply for another name is not), and
    // there must be one: we asked one.
    if qd != 1 {
        return Err(ReplyError::NotOurs);
    }
    let mut at = 12;
    for _ in 0..qd {
        let (qname, next) = read_name(m, at)?;
        let (t, c) = (be16(m, next)?, be16(m, next + 2)?);
        if qname != norm(name) || t != qtype || c != CLASS_IN {
            return Err(ReplyError::NotOurs);
        }
        at = next + 4;
    }
    if truncated {
        return Ok(Answer::Truncated);
    }
    match rcode {
        RCODE_NOERROR => {}
        RCODE_NXDOMAIN => return Ok(Answer::NoSuchName),
        r => return Ok(Answer::ServerError(r)),
    }
    // (owner, type, data) of every answer record of class IN.
    let mut records: Vec<(String, u16, Record)> = Vec::new();
    for _ in 0..an {
        let (owner, next) = read_name(m, at)?;
        let t = be16(m, next)?;
        let c = be16(m, next + 2)?;
        let rdlen = be16(m, next + 8)? as usize;
        let rdata_at = next + 10;
        let rdata = m.get(rdata_at..rdata_at + rdlen).ok_or(ReplyError::Malformed("record data runs off the end"))?;
        at = rdata_at + rdlen;
        if c != CLASS_IN {
            continue;
        }
        let rec = match t {
            TYPE_A if rdlen == 4 => Record::Addr(IpAddr::V4(Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]))),
            TYPE_A => return Err(ReplyError::Malformed("A record of the wrong size")),
            TYPE_AAAA if rdlen == 16 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(rdata);
                Record::Addr(IpAddr::V6(Ipv6Addr::from(o)))
            }
            TYPE_AAAA => return Err(ReplyError::Malformed("AAAA record of the wrong size")),
            TYPE_CNAME => {
                let (target, end) = read_name(m, rdata_at)?;
                if end > at {
                    return Err(ReplyError::Malformed("CNAME runs past its record"));
                }
                Record::Alias(target)
            }
            _ => continue,
        };
        records.push((owner, t, rec));
    }
    let mut target = norm(name);
    for _ in 0..=MAX_CNAME_CHAIN {
        let addrs: Vec<IpAddr> = records
            .iter()
            .filter(|(o, t, _)| *o == target && *t == qtype)
            .filter_map(|(_, _, r)| if let Record::Addr(a) = r { Some(*a) } else { None })
            .collect();
        if !addrs.is_empty() {
            return Ok(Answer::Addresses(addrs));
        }
        match records.iter().find_map(|(o, _, r)| match r {
            Record::Alias(a) if *o == target => Some(a.clone()),
            _ => None,
        }) {
            Some(next) => target = next,
            None => return Ok(Answer::Addresses(Vec::new())),
        }
    }
    Err(ReplyError::Malformed("CNAME chain too long or looping"))
}

enum Record {
    Addr(IpAddr),
    Alias(String),
}

/// The addresses /etc/hosts gives `name`, as glibc's `files` source does for getaddrinfo:
/// every line whose canonical name or an alias equals it (ASCII case-insensitively), in
/// file order, without repeats; `#` starts a comment. IPv6 zones (`fe80::1%eth0`) are
/// skipped (an endpoint needs none from here).
pub fn hosts_lookup(text: &str, name: &str) -> Vec<IpAddr> {
    let want = norm(name);
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut it = line.split_whitespace();
        let Some(addr) = it.next().and_then(|a| a.parse::<IpAddr>().ok()) else { continue };
        if it.any(|n| norm(n) == want) && !out.contains(&addr) {
            out.push(addr);
        }
    }
    out
}

/// The search list of resolv.conf text and its `ndots` option (glibc's rules: the last
/// `search` or `domain` line wins; at most 6 domains, `domain`'s first only; `options ndots:N`, 1 by default,
/// at most 15).
pub fn resolv_conf_search(text: &str) -> (Vec<String>, usize) {
    let mut search = Vec::new();
    let mut ndots = 1;
    for line in text.lines() {
        let mut it = line.split_whitespace();
        match it.next() {
            Some(w @ ("search" | "domain")) => {
                // `domain` names one domain; `search` up to six.
                let most = if w == "domain" { 1 } else { 6 };
                search = it
                    .take_while(|w| !w.starts_with(['#', ';']))
                    .take(most)
                    .map(|d| d.trim_end_matches('.').to_string())
                    .collect();
                search.retain(|d| !d.is_empty());
            }
            Some("options") => {
                for o in it {
                    if let Some(n) = o.strip_prefix("ndots:").and_then(|n| n.parse::<usize>().ok()) {
                        ndots = n.min(15);
                    }
                }
            }
            _ => {}
        }
    }
    (search, ndots)
}

/// The names to ask for `host`, in order, as glibc's resolver does: a name ending in `.` as
/// it is only; one with at least `ndots` dots as it is, then with each search domain; one
/// with fewer, with each search domain first, then as it is.
pub fn search_names(host: &str, search: &[String], ndots: usize) -> Vec<String> {
    if host.ends_with('.') || search.is_empty() {
        return vec![host.to_string()];
    }
    let with: Vec<String> = search.iter().map(|d| format!("{host}.{d}")).collect();
    if host.matches('.').count() >= ndots {
        std::iter::once(host.to_string()).chain(with).collect()
    } else {
        with.into_iter().chain(std::iter::once(host.to_string())).collect()
    }
}

/// The name servers of resolv.conf text: `nameserver ADDR` lines in order, at most three
/// (glibc's MAXNS), unparsable ones skipped as glibc does; each with its `%zone` if it has
/// one (a link-local server's interface, by name or index).
pub fn resolv_conf_nameservers(text: &str) -> Vec<(IpAddr, Option<String>)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        if it.next() != Some("nameserver") {
            continue;
        }
        let Some(a) = it.next() else { continue };
        let (addr, zone) = match a.split_once('%') {
            Some((addr, zone)) => (addr, Some(zone.to_string())),
            None => (a, None),
        };
        if let Ok(ip) = addr.parse::<IpAddr>()
            && out.len() < 3
        {
            out.push((ip, zone));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_list_and_ndots_as_glibc_reads_them() {
        let t = "domain old.example\nsearch corp.example lab.example. # comment\noptions edns0 ndots:2\n";
        let (search, ndots) = resolv_conf_search(t);
        assert_eq!((search.as_slice(), ndots), (&["corp.example".to_string(), "lab.example".to_string()][..], 2));
        assert_eq!(resolv_conf_search("nameserver 192.0.2.53\n"), (vec![], 1));
        assert_eq!(resolv_conf_search("domain a.example b.example\n"), (vec!["a.example".to_string()], 1));
        let s = vec!["corp.example".to_string()];
        assert_eq!(search_names("vpn", &s, 1), ["vpn.corp.example", "vpn"]);
        assert_eq!(search_names("vpn.example.org", &s, 1), ["vpn.example.org", "vpn.example.org.corp.example"]);
        assert_eq!(search_names("vpn.example", &s, 2), ["vpn.example.corp.example", "vpn.example"]);
        assert_eq!(search_names("vpn.example.", &s, 1), ["vpn.example."]);
        assert_eq!(search_names("vpn", &[], 1), ["vpn"]);
    }

    #[test]
    fn query_bytes() {
        let q = query(0xbeef, "vpn.Example.org.", TYPE_AAAA).unwrap();
        #[rustfmt::skip]
        let want: Vec<u8> = vec![
            0xbe, 0xef, 0x01, 0x00, // id, RD
            0, 1, 0, 0, 0, 0, 0, 0, // one question
            3, b'v', b'p', b'n', 7, b'E', b'x', b'a', b'm', b'p', b'l', b'e', 3, b'o', b'r', b'g', 0,
            0, 28, 0, 1, // AAAA, IN
        ];
        assert_eq!(q, want);
        assert_eq!(tcp_frame(&q)[..2], [0, want.len() as u8]);
        assert_eq!(query(1, "a..b", TYPE_A), Err(NameError::EmptyLabel("a..b".into())));
        assert!(matches!(query(1, &"x".repeat(64), TYPE_A), Err(NameError::LongLabel(_))));
        assert!(matches!(query(1, &["abc"; 70].join("."), TYPE_A), Err(NameError::LongName(_))));
    }

    /// A reply: header, the question for `name`/`qtype`, then `answers` already encoded.
    fn reply(id: u16, flags: u16, name: &str, qtype: u16, an: u16, answers: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(&flags.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m.extend_from_slice(&an.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        encode_name(name, &mut m).unwrap();
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m.extend_from_slice(answers);
        m
    }

    fn rr(owner: &[u8], t: u16, data: &[u8]) -> Vec<u8> {
        let mut v = owner.to_vec();
        v.extend_from_slice(&t.to_be_bytes());
        v.extend_from_slice(&[0, 1, 0, 0, 0x0e, 0x10]);
        v.extend_from_slice(&(data.len() as u16).to_be_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn a_records_behind_a_compression_pointer() {
        // Owner names are pointers to the question's name at offset 12.
        let mut an = rr(&[0xc0, 12], TYPE_A, &[203, 0, 113, 7]);
        an.extend(rr(&[0xc0, 12], TYPE_A, &[203, 0, 113, 8]));
        let m = reply(7, 0x8180, "vpn.example", TYPE_A, 2, &an);
        assert_eq!(
            parse_reply(&m, 7, "VPN.example.", TYPE_A),
            Ok(Answer::Addresses(vec!["203.0.113.7".parse().unwrap(), "203.0.113.8".parse().unwrap()]))
        );
        // Another id, or a query instead of a reply, is not ours.
        assert_eq!(parse_reply(&m, 8, "vpn.example", TYPE_A), Err(ReplyError::NotOurs));
        let mut q = m.clone();
        q[2] &= 0x7f;
        assert_eq!(parse_reply(&q, 7, "vpn.example", TYPE_A), Err(ReplyError::NotOurs));
        // A reply about another name is not ours either.
        assert_eq!(parse_reply(&m, 7, "other.example", TYPE_A), Err(ReplyError::NotOurs));
        // Nor one without the question, or with two.
        for qd in [0u8, 2] {
            let mut r = m.clone();
            r[5] = qd;
            assert_eq!(parse_reply(&r, 7, "vpn.example", TYPE_A), Err(ReplyError::NotOurs), "qdcount {qd}");
        }
    }

    #[test]
    fn a_utf8_name_matches_its_reply() {
        let an = rr(&[0xc0, 12], TYPE_A, &[203, 0, 113, 9]);
        let m = reply(9, 0x8180, "Bücher.example", TYPE_A, 1, &an);
        assert_eq!(parse_reply(&m, 9, "bücher.example", TYPE_A), Ok(Answer::Addresses(vec!["203.0.113.9".parse().unwrap()])));
        // Only ASCII is folded: another non-ASCII name is not ours.
        assert_eq!(parse_reply(&m, 9, "bucher.example", TYPE_A), Err(ReplyError::NotOurs));
    }

    #[test]
    fn cname_chain_in_any_order() {
        // vpn.example CNAME b.cdn.example (label b + pointer to "example" at offset 16);
        // b.cdn.example CNAME c.example; c.example AAAA 2001:db8::7. Records out of order.
        let m0 = reply(1, 0x8180, "vpn.example", TYPE_AAAA, 3, &[]);
        let example_at = 16u8; // 12 + "\x03vpn"
        assert_eq!(&m0[example_at as usize..example_at as usize + 8], b"\x07example");
        let mut an = Vec::new();
        let b_cdn = [&[1, b'b', 3, b'c', b'd', b'n', 0xc0, example_at][..]].concat();
        let c_ex = [&[1, b'c', 0xc0, example_at][..]].concat();
        an.extend(rr(&c_ex, TYPE_AAAA, &"2001:db8::7".parse::<Ipv6Addr>().unwrap().octets()));
        an.extend(rr(&b_cdn, TYPE_CNAME, &c_ex));
        an.extend(rr(&[0xc0, 12], TYPE_CNAME, &b_cdn));
        // The CNAME data's pointers refer to offsets of this message: the records were
        // built for the final layout (the names only point into the question).
        let m = [m0.clone(), an].concat();
        assert_eq!(parse_reply(&m, 1, "vpn.example", TYPE_AAAA), Ok(Answer::Addresses(vec!["2001:db8::7".parse().unwrap()])));
        // A chain that ends without an address is NODATA.
        let only = [m0.clone(), rr(&[0xc0, 12], TYPE_CNAME, &b_cdn)].concat();
        let mut only = only;
        only[7] = 1;
        assert_eq!(parse_reply(&only, 1, "vpn.example", TYPE_AAAA), Ok(Answer::Addresses(vec![])));
        // A loop (vpn -> vpn) ends with an error, not a hang.
        let mut lp = [m0, rr(&[0xc0, 12], TYPE_CNAME, &[0xc0, 12])].concat();
        lp[7] = 1;
        assert!(matches!(parse_reply(&lp, 1, "vpn.example", TYPE_AAAA), Err(ReplyError::Malformed(_))));
    }

    #[test]
    fn rcodes_and_truncation() {
        let nx = reply(3, 0x8183, "gone.example", TYPE_A, 0, &[]);
        assert_eq!(parse_reply(&nx, 3, "gone.example", TYPE_A), Ok(Answer::NoSuchName));
        let sf = reply(3, 0x8182, "gone.example", TYPE_A, 0, &[]);
        assert_eq!(parse_reply(&sf, 3, "gone.example", TYPE_A), Ok(Answer::ServerError(RCODE_SERVFAIL)));
        let tc = reply(3, 0x8380, "big.example", TYPE_A, 0, &[]);
        assert_eq!(parse_reply(&tc, 3, "big.example", TYPE_A), Ok(Answer::Truncated));
        // Truncated before its question (the header alone, qdcount 0 or 1) or inside it:
        // asked again over TCP, not dropped as another reply.
        let mut bare = tc[..12].to_vec();
        assert_eq!(parse_reply(&bare, 3, "big.example", TYPE_A), Ok(Answer::Truncated));
        bare[5] = 0;
        assert_eq!(parse_reply(&bare, 3, "big.example", TYPE_A), Ok(Answer::Truncated));
        assert_eq!(parse_reply(&tc[..tc.len() - 2], 3, "big.example", TYPE_A), Ok(Answer::Truncated));
        // Still only with our id, and a question that is there must be ours.
        assert_eq!(parse_reply(&bare, 4, "big.example", TYPE_A), Err(ReplyError::NotOurs));
        assert_eq!(parse_reply(&tc, 3, "other.example", TYPE_A), Err(ReplyError::NotOurs));
        let mut two = tc.clone();
        two[5] = 2;
        assert_eq!(parse_reply(&two, 3, "big.example", TYPE_A), Err(ReplyError::NotOurs));
        // Records of other types and classes are skipped.
        let mut an = rr(&[0xc0, 12], 16, b"\x04text");
        an.extend(rr(&[0xc0, 12], TYPE_A, &[192, 0, 2, 1]));
        let m = reply(4, 0x8180, "x.example", TYPE_A, 2, &an);
        assert_eq!(parse_reply(&m, 4, "x.example", TYPE_A), Ok(Answer::Addresses(vec!["192.0.2.1".parse().unwrap()])));
    }

    #[test]
    fn malformed_replies_never_panic() {
        let good = {
            let an = rr(&[0xc0, 12], TYPE_A, &[203, 0, 113, 7]);
            reply(9, 0x8180, "vpn.example", TYPE_A, 1, &an)
        };
        // Every truncation of a good reply.
        for n in 0..good.len() {
            let r = parse_reply(&good[..n], 9, "vpn.example", TYPE_A);
            assert!(matches!(r, Err(ReplyError::Malformed(_))), "{n}: {r:?}");
        }
        // Every single-byte change, and forward and self pointers.
        for i in 0..good.len() {
            for v in [0u8, 0x3f, 0x40, 0xc0, 0xff] {
                let mut m = good.clone();
                m[i] = v;
                let _ = parse_reply(&m, 9, "vpn.example", TYPE_A);
            }
        }
        let mut fwd = good.clone();
        let owner = fwd.len() - 16;
        fwd[owner + 1] = 200;
        assert!(matches!(parse_reply(&fwd, 9, "vpn.example", TYPE_A), Err(ReplyError::Malformed(_))));
        assert!(matches!(read_name(&[0xc0, 0], 0), Err(ReplyError::Malformed(_))));
        // A wrong-sized A record.
        let bad = reply(9, 0x8180, "vpn.example", TYPE_A, 1, &rr(&[0xc0, 12], TYPE_A, &[1, 2, 3]));
        assert!(matches!(parse_reply(&bad, 9, "vpn.example", TYPE_A), Err(ReplyError::Malformed(_))));
        // Pseudo-random garbage.
        let mut x: u32 = 0x1234_5678;
        for _ in 0..2000 {
            let len = (x % 80) as usize;
            let mut m = Vec::with_capacity(len);
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                m.push(x as u8);
            }
            if m.len() >= 4 {
                m[0] = 0;
                m[1] = 9;
                m[2] |= 0x80;
            }
            let _ = parse_reply(&m, 9, "vpn.example", TYPE_A);
        }
    }

    #[test]
    fn hosts_file_as_glibc_files_source() {
        let text = "127.0.0.1 localhost\n\
                    203.0.113.7\tvpn.example vpn # the server\n\
                    # 198.51.100.1 vpn.example\n\
                    2001:db8::7 VPN.Example.\n\
                    203.0.113.7 vpn.example\n\
                    bogus vpn.example\n\
                    198.51.100.9 other vpn.example.\n";
        let want: Vec<IpAddr> = ["203.0.113.7", "2001:db8::7", "198.51.100.9"].iter().map(|a| a.parse().unwrap()).collect();
        assert_eq!(hosts_lookup(text, "vpn.example"), want);
        assert_eq!(hosts_lookup(text, "vpn"), vec!["203.0.113.7".parse::<IpAddr>().unwrap()]);
        assert!(hosts_lookup(text, "example").is_empty());
    }

    #[test]
    fn resolv_conf_servers() {
        let text = "# generated\nsearch example\nnameserver 192.0.2.53\nnameserver   2001:db8::53\nnameserver fe80::1%eth0\n\
                    nameserver bogus\nnameserver 198.51.100.53\noptions timeout:1\n";
        let ip = |a: &str| a.parse::<IpAddr>().unwrap();
        assert_eq!(
            resolv_conf_nameservers(text),
            [(ip("192.0.2.53"), None), (ip("2001:db8::53"), None), (ip("fe80::1"), Some("eth0".to_string()))]
        );
    }
}
