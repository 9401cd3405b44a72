//! The WireGuard device: desired configuration in, observed state out, over either
//! the kernel's generic netlink family (`kernel`) or a userspace implementation's
//! UAPI socket (`uapi`).

pub mod genl;
pub mod kernel;
pub mod uapi;

use std::net::SocketAddr;
use std::time::Duration;

use crate::key::Key;
use crate::net::IpNet;

/// A SET_DEVICE request (one logical request; the backends split it as needed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceConfig {
    pub private_key: Option<Key>,
    pub listen_port: Option<u16>,
    pub fwmark: Option<u32>,
    /// Remove every peer not listed (setconf semantics).
    pub replace_peers: bool,
    pub peers: Vec<PeerConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerConfig {
    pub public_key: Key,
    pub remove: bool,
    pub update_only: bool,
    /// `Some(Key([0;32]))` clears the preshared key.
    pub preshared_key: Option<Key>,
    pub endpoint: Option<SocketAddr>,
    /// `Some(0)` turns keepalive off.
    pub persistent_keepalive: Option<u16>,
    pub replace_allowed_ips: bool,
    /// Allowed IPs, network form (host bits masked).
    pub allowed_ips: Vec<IpNet>,
}

/// What a device reports (GET_DEVICE / `get=1`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceState {
    pub name: String,
    pub private_key: Option<Key>,
    pub public_key: Option<Key>,
    pub listen_port: u16,
    pub fwmark: u32,
    pub peers: Vec<PeerState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerState {
    pub public_key: Key,
    pub preshared_key: Option<Key>,
    pub endpoint: Option<SocketAddr>,
    pub persistent_keepalive: u16,
    /// Time since the epoch of the last handshake; `None` if never.
    pub last_handshake: Option<Duration>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub allowed_ips: Vec<IpNet>,
}
