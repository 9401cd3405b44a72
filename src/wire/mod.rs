//! Netlink: our synchronous request loop over netlink-sys (`netlink`), and the rtnetlink
//! (`rtnl`) and nfnetlink (`nftables`) messages wgq sends and reads, built from plain data.

pub mod dns;
pub mod netlink;
pub mod nftables;
pub mod p2p;
pub mod rtnl;
