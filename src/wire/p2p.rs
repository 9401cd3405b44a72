//! The messages of `wgq p2p` (docs/p2p.md): a peer asks its hub, through the tunnel, which
//! other peers of the mesh exist and where the hub sees them; the hub answers one page of
//! at most [`MAX_ENTRIES`] peers, or refuses.
//!
//! Every message starts with the magic `wgqP`, a version byte ([`VERSION`]) and a type
//! byte, then a 32-bit nonce chosen by the asker (an answer carries its query's). All
//! integers are big-endian. A message is at most [`MAX_MESSAGE`] bytes; decoding refuses
//! another version, an unknown type, counts above the limits, and trailing bytes.
//!
//! ```text
//! query:   magic(4) version(1) type=1 nonce(4) page(2)                    12 bytes
//! answer:  magic(4) version(1) type=2 nonce(4) page(2) flags(1) count(1) entries
//!          entry: public key(32) endpoint family(1: 4|6) address(4|16) port(2)
//!                 address count(1) { family(1: 4|6) address(4|16) }*
//!          flags: bit 0 = more pages follow
//! refused: magic(4) version(1) type=3 nonce(4) reason(1)                  11 bytes
//!          reason: 1 = the asker is not opted in, 2 = unsupported version
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::key::Key;

pub const MAGIC: [u8; 4] = *b"wgqP";
pub const VERSION: u8 = 1;
/// The longest message (fits a tunnel MTU of 1280 with room to spare).
pub const MAX_MESSAGE: usize = 1200;
/// Peers per answer.
pub const MAX_ENTRIES: usize = 8;
/// Tunnel addresses per peer.
pub const MAX_ADDRESSES: usize = 4;
/// Pages an asker reads per round (so a mesh lists at most 512 peers).
pub const MAX_PAGES: u16 = 64;

const T_QUERY: u8 = 1;
const T_ANSWER: u8 = 2;
const T_REFUSED: u8 = 3;
const HEADER: usize = 10;

/// One other peer of the mesh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub public_key: Key,
    /// Where the hub sees it (its public `IP:port`).
    pub endpoint: SocketAddr,
    /// Its own tunnel addresses (hosts, not routed networks).
    pub addresses: Vec<IpAddr>,
}

/// Why the hub does not answer with peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The asker is not opted in (or unknown).
    NotOptedIn,
    /// The query's version is not one the hub speaks.
    BadVersion,
}

impl Refusal {
    fn code(self) -> u8 {
        match self {
            Refusal::NotOptedIn => 1,
            Refusal::BadVersion => 2,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::NotOptedIn => "this peer is not opted in on the hub (wgq peer set … --p2p)",
            Refusal::BadVersion => "the hub speaks another protocol version",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Query { nonce: u32, page: u16 },
    Answer { nonce: u32, page: u16, more: bool, peers: Vec<Entry> },
    Refused { nonce: u32, reason: Refusal },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message too short")]
    Short,
    #[error("message longer than {MAX_MESSAGE} bytes")]
    TooLong,
    #[error("not a wgq p2p message")]
    Magic,
    #[error("unsupported protocol version {0}")]
    Version(u8),
    #[error("unknown message type {0}")]
    Type(u8),
    #[error("{0} entries or addresses exceed the limit")]
    TooMany(usize),
    #[error("unknown address family {0}")]
    Family(u8),
    #[error("invalid endpoint")]
    Endpoint,
    #[error("unknown refusal {0}")]
    Reason(u8),
    #[error("{0} trailing bytes")]
    Trailing(usize),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("an answer holds at most {MAX_ENTRIES} peers of at most {MAX_ADDRESSES} addresses each")]
    TooMany,
}

fn put_addr(out: &mut Vec<u8>, a: IpAddr) {
    match a {
        IpAddr::V4(v4) => {
            out.push(4);
            out.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            out.push(6);
            out.extend_from_slice(&v6.octets());
        }
    }
}

/// The bytes of a message.
pub fn encode(m: &Message) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    match m {
        Message::Query { nonce, page } => {
            out.push(T_QUERY);
            out.extend_from_slice(&nonce.to_be_bytes());
            out.extend_from_slice(&page.to_be_bytes());
        }
        Message::Answer { nonce, page, more, peers } => {
            if peers.len() > MAX_ENTRIES || peers.iter().any(|e| e.addresses.len() > MAX_ADDRESSES) {
                return Err(EncodeError::TooMany);
            }
            out.push(T_ANSWER);
            out.extend_from_slice(&nonce.to_be_bytes());
            out.extend_from_slice(&page.to_be_bytes());
            out.push(u8::from(*more));
            out.push(peers.len() as u8);
            for e in peers {
                out.extend_from_slice(&e.public_key.0);
                put_addr(&mut out, e.endpoint.ip());
                out.extend_from_slice(&e.endpoint.port().to_be_bytes());
                out.push(e.addresses.len() as u8);
                for a in &e.addresses {
                    put_addr(&mut out, *a);
                }
            }
        }
        Message::Refused { nonce, reason } => {
            out.push(T_REFUSED);
            out.extend_from_slice(&nonce.to_be_bytes());
            out.push(reason.code());
        }
    }
    debug_assert!(out.len() <= MAX_MESSAGE);
    Ok(out)
}

/// A bounded reader over untrusted bytes.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len()).ok_or(DecodeError::Short)?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        let s = self.take(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        let s = self.take(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn addr(&mut self) -> Result<IpAddr, DecodeError> {
        match self.u8()? {
            4 => {
                let s = self.take(4)?;
                Ok(IpAddr::V4(Ipv4Addr::new(s[0], s[1], s[2], s[3])))
            }
            6 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(self.take(16)?);
                Ok(IpAddr::V6(Ipv6Addr::from(o)))
            }
            f => Err(DecodeError::Family(f)),
        }
    }
}

/// Reads a message; anything that is not exactly one well-formed message of [`VERSION`]
/// is an error (the version is checked before anything after it is read).
/// Whether `ip` can be a peer's endpoint as a hub sees it: never loopback, unspecified,
/// multicast or broadcast (WireGuard would send its handshakes there every 5 seconds).
fn public_endpoint(ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    let broadcast = matches!(ip, IpAddr::V4(a) if a.is_broadcast());
    !(ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() || broadcast)
}

pub fn decode(b: &[u8]) -> Result<Message, DecodeError> {
    if b.len() > MAX_MESSAGE {
        return Err(DecodeError::TooLong);
    }
    if b.len() < 6 {
        return Err(DecodeError::Short);
    }
    if b[..4] != MAGIC {
        return Err(DecodeError::Magic);
    }
    if b[4] != VERSION {
        return Err(DecodeError::Version(b[4]));
    }
    if b.len() < HEADER {
        return Err(DecodeError::Short);
    }
    let mut r = Reader { b, at: 5 };
    let t = r.u8()?;
    let nonce = r.u32()?;
    let m = match t {
        T_QUERY => Message::Query { nonce, page: r.u16()? },
        T_ANSWER => {
            let page = r.u16()?;
            let more = r.u8()? & 1 == 1;
            let count = r.u8()? as usize;
            if count > MAX_ENTRIES {
                return Err(DecodeError::TooMany(count));
            }
            let mut peers = Vec::with_capacity(count);
            for _ in 0..count {
                let mut k = [0u8; 32];
                k.copy_from_slice(r.take(32)?);
                let ip = r.addr()?;
                let port = r.u16()?;
                if port == 0 || !public_endpoint(ip) {
                    return Err(DecodeError::Endpoint);
                }
                let n = r.u8()? as usize;
                if n > MAX_ADDRESSES {
                    return Err(DecodeError::TooMany(n));
                }
                let mut addresses = Vec::with_capacity(n);
                for _ in 0..n {
                    addresses.push(r.addr()?);
                }
                peers.push(Entry { public_key: Key(k), endpoint: SocketAddr::new(ip, port), addresses });
            }
            Message::Answer { nonce, page, more, peers }
        }
        T_REFUSED => {
            let reason = match r.u8()? {
                1 => Refusal::NotOptedIn,
                2 => Refusal::BadVersion,
                c => return Err(DecodeError::Reason(c)),
            };
            Message::Refused { nonce, reason }
        }
        t => return Err(DecodeError::Type(t)),
    };
    if r.at != b.len() {
        return Err(DecodeError::Trailing(b.len() - r.at));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u8, addrs: usize) -> Entry {
        Entry {
            public_key: Key([n; 32]),
            endpoint: "[2001:db8::1]:51820".parse().unwrap(),
            addresses: (0..addrs).map(|i| IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, i as u16))).collect(),
        }
    }

    #[test]
    fn query_bytes() {
        let b = encode(&Message::Query { nonce: 0x01020304, page: 2 }).unwrap();
        assert_eq!(b, [b'w', b'g', b'q', b'P', 1, 1, 1, 2, 3, 4, 0, 2]);
        assert_eq!(decode(&b).unwrap(), Message::Query { nonce: 0x01020304, page: 2 });
    }

    #[test]
    fn answer_bytes() {
        let m = Message::Answer {
            nonce: 7,
            page: 0,
            more: true,
            peers: vec![Entry {
                public_key: Key([0xab; 32]),
                endpoint: "203.0.113.5:4500".parse().unwrap(),
                addresses: vec!["10.9.0.3".parse().unwrap(), "fd00::3".parse().unwrap()],
            }],
        };
        let b = encode(&m).unwrap();
        let mut want = vec![b'w', b'g', b'q', b'P', 1, 2, 0, 0, 0, 7, 0, 0, 1, 1];
        want.extend_from_slice(&[0xab; 32]);
        want.extend_from_slice(&[4, 203, 0, 113, 5, 0x11, 0x94, 2, 4, 10, 9, 0, 3, 6, 0xfd, 0]);
        want.extend_from_slice(&[0; 13]);
        want.push(3);
        assert_eq!(b, want);
        assert_eq!(decode(&b).unwrap(), m);
        // Empty answer, last page.
        let e = Message::Answer { nonce: 1, page: 3, more: false, peers: vec![] };
        assert_eq!(encode(&e).unwrap(), [b'w', b'g', b'q', b'P', 1, 2, 0, 0, 0, 1, 0, 3, 0, 0]);
    }

    #[test]
    fn refused_bytes() {
        for (r, c) in [(Refusal::NotOptedIn, 1), (Refusal::BadVersion, 2)] {
            let b = encode(&Message::Refused { nonce: 9, reason: r }).unwrap();
            assert_eq!(b, [b'w', b'g', b'q', b'P', 1, 3, 0, 0, 0, 9, c]);
            assert_eq!(decode(&b).unwrap(), Message::Refused { nonce: 9, reason: r });
        }
    }

    #[test]
    fn largest_answer_fits() {
        let m = Message::Answer { nonce: 0, page: 0, more: false, peers: (0..8).map(|n| entry(n, MAX_ADDRESSES)).collect() };
        let b = encode(&m).unwrap();
        assert!(b.len() <= MAX_MESSAGE, "{}", b.len());
        assert_eq!(decode(&b).unwrap(), m);
        // Over the limits: refused by the encoder.
        let nine = Message::Answer { nonce: 0, page: 0, more: false, peers: (0..9).map(|n| entry(n, 1)).collect() };
        assert_eq!(encode(&nine), Err(EncodeError::TooMany));
        let fat = Message::Answer { nonce: 0, page: 0, more: false, peers: vec![entry(1, 5)] };
        assert_eq!(encode(&fat), Err(EncodeError::TooMany));
    }

    #[test]
    fn bad_input_refused() {
        let q = encode(&Message::Query { nonce: 1, page: 0 }).unwrap();
        // Another version: refused before the rest is read, whatever follows.
        let mut v2 = q.clone();
        v2[4] = 2;
        assert_eq!(decode(&v2), Err(DecodeError::Version(2)));
        assert_eq!(decode(&[b'w', b'g', b'q', b'P', 0]), Err(DecodeError::Short));
        assert_eq!(decode(&[b'w', b'g', b'q', b'P', 9, 1]), Err(DecodeError::Version(9)));
        let mut magic = q.clone();
        magic[0] = b'W';
        assert_eq!(decode(&magic), Err(DecodeError::Magic));
        let mut t = q.clone();
        t[5] = 4;
        assert_eq!(decode(&t), Err(DecodeError::Type(4)));
        let mut trailing = q.clone();
        trailing.push(0);
        assert_eq!(decode(&trailing), Err(DecodeError::Trailing(1)));
        assert_eq!(decode(&q[..11]), Err(DecodeError::Short));
        assert_eq!(decode(&vec![0u8; MAX_MESSAGE + 1]), Err(DecodeError::TooLong));
        // Counts over the limits, families and endpoints that make no sense.
        let a = encode(&Message::Answer { nonce: 0, page: 0, more: false, peers: vec![entry(1, 1)] }).unwrap();
        let mut many = a.clone();
        many[13] = 9;
        assert_eq!(decode(&many), Err(DecodeError::TooMany(9)));
        let mut fam = a.clone();
        fam[14 + 32] = 5;
        assert_eq!(decode(&fam), Err(DecodeError::Family(5)));
        let mut port0 = a.clone();
        port0[14 + 32 + 17] = 0;
        port0[14 + 32 + 18] = 0;
        assert_eq!(decode(&port0), Err(DecodeError::Endpoint));
        for ep in [
            "127.0.0.1:53",
            "[::1]:53",
            "0.0.0.0:1",
            "[::]:1",
            "255.255.255.255:67",
            "224.0.0.1:1",
            "[ff02::1]:1",
            "[::ffff:127.0.0.1]:1",
        ] {
            let e = Entry { endpoint: ep.parse().unwrap(), ..entry(1, 1) };
            let m = Message::Answer { nonce: 1, page: 0, more: false, peers: vec![e] };
            assert_eq!(decode(&encode(&m).unwrap()), Err(DecodeError::Endpoint), "{ep}");
        }
        let mut naddr = a.clone();
        naddr[14 + 32 + 19] = 5;
        assert_eq!(decode(&naddr), Err(DecodeError::TooMany(5)));
        assert_eq!(decode(&a[..a.len() - 1]), Err(DecodeError::Short));
        let mut reason = encode(&Message::Refused { nonce: 0, reason: Refusal::BadVersion }).unwrap();
        reason[10] = 0;
        assert_eq!(decode(&reason), Err(DecodeError::Reason(0)));
        // Every prefix of a valid answer, and every single-byte change, decodes or errs
        // without panicking.
        for n in 0..a.len() {
            let _ = decode(&a[..n]);
            for v in [0u8, 1, 4, 6, 0xff] {
                let mut c = a.clone();
                c[n] = v;
                let _ = decode(&c);
            }
        }
    }
}
