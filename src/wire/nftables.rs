//! Listing nftables tables over nfnetlink (`NFT_MSG_GETTABLE` dump), which is what `down`
//! needs to find wg-quick's `wg-quick-<if>` tables without starting `nft list tables`.
//! Only the listing is done here; changes still go through `nft -f -` as wg-quick does.

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkDeserializable, NetlinkHeader, NetlinkMessage, NetlinkPayload, NetlinkSerializable,
};

use crate::wire::netlink::{NetlinkError, Socket};

/// nfnetlink subsystem of nf_tables.
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_GETTABLE: u16 = 1;
const NFTA_TABLE_NAME: u16 = 1;
/// `struct nfgenmsg`: family, version (NFNETLINK_V0), resource id (big endian).
const NFGENMSG_LEN: usize = 4;

/// One message of the table dump: the request (no table) or a reply naming a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableMessage {
    /// NFPROTO_* family (AF_UNSPEC in the request: every family).
    pub family: u8,
    pub name: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("malformed nf_tables message: {0}")]
pub struct DecodeError(&'static str);

impl NetlinkSerializable for TableMessage {
    fn message_type(&self) -> u16 {
        (NFNL_SUBSYS_NFTABLES << 8) | if self.name.is_some() { NFT_MSG_NEWTABLE } else { NFT_MSG_GETTABLE }
    }

    fn buffer_len(&self) -> usize {
        NFGENMSG_LEN + self.name.as_ref().map_or(0, |n| attr_len(n.len() + 1))
    }

    fn serialize(&self, buf: &mut [u8]) {
        buf[..NFGENMSG_LEN].copy_from_slice(&[self.family, 0, 0, 0]);
        if let Some(n) = &self.name {
            let a = &mut buf[NFGENMSG_LEN..];
            a[..2].copy_from_slice(&((4 + n.len() + 1) as u16).to_ne_bytes());
            a[2..4].copy_from_slice(&NFTA_TABLE_NAME.to_ne_bytes());
            a[4..4 + n.len()].copy_from_slice(n.as_bytes());
            a[4 + n.len()..attr_len(n.len() + 1)].fill(0);
        }
    }
}

impl NetlinkDeserializable for TableMessage {
    type Error = DecodeError;

    fn deserialize(header: &NetlinkHeader, payload: &[u8]) -> Result<Self, DecodeError> {
        if header.message_type != (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE {
            return Err(DecodeError("not a table"));
        }
        if payload.len() < NFGENMSG_LEN {
            return Err(DecodeError("short header"));
        }
        let family = payload[0];
        let mut rest = &payload[NFGENMSG_LEN..];
        let mut name = None;
        while rest.len() >= 4 {
            let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
            let kind = u16::from_ne_bytes([rest[2], rest[3]]) & 0x3fff;
            if len < 4 || len > rest.len() {
                return Err(DecodeError("bad attribute length"));
            }
            if kind == NFTA_TABLE_NAME {
                let v = &rest[4..len];
                let v = v.split(|&b| b == 0).next().unwrap_or_default();
                name = Some(String::from_utf8_lossy(v).into_owned());
            }
            rest = &rest[attr_len(len - 4).min(rest.len())..];
        }
        name.map(|n| TableMessage { family, name: Some(n) }).ok_or(DecodeError("table without a name"))
    }
}

/// Length of an attribute with `payload` bytes, padded to 4.
fn attr_len(payload: usize) -> usize {
    (4 + payload + 3) & !3
}

/// The dump request for every table of every family.
pub fn dump_tables_request() -> NetlinkMessage<TableMessage> {
    let mut m =
        NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::InnerMessage(TableMessage { family: 0, name: None }));
    m.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    m.finalize();
    m
}

/// nft's name of an NFPROTO_* family.
pub fn family_name(family: u8) -> Option<&'static str> {
    Some(match family {
        1 => "inet",
        2 => "ip",
        3 => "arp",
        5 => "netdev",
        7 => "bridge",
        10 => "ip6",
        _ => return None,
    })
}

/// Every table as `nft list tables` prints it (`table <family> <name>`, one per line).
pub fn render(tables: &[TableMessage]) -> String {
    tables.iter().filter_map(|t| Some(format!("table {} {}\n", family_name(t.family)?, t.name.as_deref()?))).collect()
}

/// Lists the tables of this network namespace over nfnetlink.
pub fn list_tables() -> Result<String, NetlinkError> {
    let mut sock = Socket::open(libc::NETLINK_NETFILTER as isize)?;
    Ok(render(&sock.dump(dump_tables_request())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bytes() {
        let mut m = dump_tables_request();
        m.header.sequence_number = 7;
        let mut b = vec![0; m.buffer_len()];
        m.serialize(&mut b);
        let mut want = Vec::new();
        want.extend_from_slice(&20u32.to_ne_bytes()); // length
        want.extend_from_slice(&0x0a01u16.to_ne_bytes()); // NFNL_SUBSYS_NFTABLES << 8 | GETTABLE
        want.extend_from_slice(&0x0301u16.to_ne_bytes()); // NLM_F_REQUEST | NLM_F_DUMP
        want.extend_from_slice(&7u32.to_ne_bytes());
        want.extend_from_slice(&0u32.to_ne_bytes());
        want.extend_from_slice(&[0, 0, 0, 0]); // AF_UNSPEC, NFNETLINK_V0, res_id 0
        assert_eq!(b, want);
    }

    #[test]
    fn reply_round_trip_and_render() {
        // A reply as the kernel sends it: nfgenmsg, NFTA_TABLE_NAME, then attributes we skip
        // (NFTA_TABLE_FLAGS, NFTA_TABLE_USE as be32, NFTA_TABLE_HANDLE as be64).
        let mut p = vec![2, 0, 0, 5];
        let name = b"wg-quick-wg0\0";
        p.extend_from_slice(&((4 + name.len()) as u16).to_ne_bytes());
        p.extend_from_slice(&1u16.to_ne_bytes());
        p.extend_from_slice(name);
        p.extend_from_slice(&[0, 0, 0]);
        p.extend_from_slice(&[8, 0, 2, 0, 0, 0, 0, 0]);
        p.extend_from_slice(&[8, 0, 3, 0, 0, 0, 0, 2]);
        p.extend_from_slice(&[12, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        let mut h = NetlinkHeader::default();
        h.message_type = 0x0a00;
        let t = TableMessage::deserialize(&h, &p).unwrap();
        assert_eq!(t, TableMessage { family: 2, name: Some("wg-quick-wg0".into()) });
        let mut b = vec![0; t.buffer_len()];
        t.serialize(&mut b);
        // The generation id the kernel puts in res_id is not kept.
        assert_eq!(b[..2], p[..2]);
        assert_eq!(b[4..], p[4..4 + 4 + name.len() + 3]);
        let t6 = TableMessage { family: 10, name: Some("filter".into()) };
        let odd = TableMessage { family: 99, name: Some("x".into()) };
        assert_eq!(render(&[t, t6, odd]), "table ip wg-quick-wg0\ntable ip6 filter\n");
    }

    #[test]
    fn malformed_replies_are_errors_not_panics() {
        let mut h = NetlinkHeader::default();
        h.message_type = 0x0a00;
        assert!(TableMessage::deserialize(&h, &[2, 0]).is_err());
        assert!(TableMessage::deserialize(&h, &[2, 0, 0, 0, 200, 0, 1, 0, b'a']).is_err());
        assert!(TableMessage::deserialize(&h, &[2, 0, 0, 0]).is_err());
        h.message_type = 0x0a03;
        assert!(TableMessage::deserialize(&h, &[2, 0, 0, 0]).is_err());
    }
}
