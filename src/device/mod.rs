//! The WireGuard device: desired configuration in, observed state out, over either
//! the kernel's generic netlink family (`kernel`) or a userspace implementation's
//! UAPI socket (`uapi`).

pub mod genl;
pub mod kernel;
pub mod uapi;

use std::net::SocketAddr;
use std::time::Duration;

use crate::key::{Key, SecretKey};
use crate::net::IpNet;

/// A SET_DEVICE request (one logical request; the backends split it as needed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceConfig {
    pub private_key: Option<SecretKey>,
    pub listen_port: Option<u16>,
    pub fwmark: Option<u32>,
    /// Remove every peer not listed (setconf semantics).
    pub replace_peers: bool,
    pub peers: Vec<PeerConfig>,
}

impl DeviceConfig {
    /// The update of one peer's endpoint (`Op::SetEndpoint`, what `wgq reresolve` sends):
    /// the peer's key, update-only, the endpoint; nothing else (no device field, no other
    /// peer setting).
    pub fn endpoint_update(peer: Key, endpoint: SocketAddr) -> DeviceConfig {
        DeviceConfig {
            peers: vec![PeerConfig { public_key: peer, update_only: true, endpoint: Some(endpoint), ..Default::default() }],
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerConfig {
    pub public_key: Key,
    pub remove: bool,
    pub update_only: bool,
    /// The all-zero key clears the preshared key.
    pub preshared_key: Option<SecretKey>,
    pub endpoint: Option<SocketAddr>,
    /// `Some(0)` turns keepalive off.
    pub persistent_keepalive: Option<u16>,
    pub replace_allowed_ips: bool,
    /// Allowed IPs, network form (host bits masked).
    pub allowed_ips: Vec<IpNet>,
    /// Allowed IPs to take away from this peer (wg(8)'s `-` prefix; Linux 6.16 or a
    /// userspace implementation that knows `allowed_ip=-`). Sent after `allowed_ips`.
    pub remove_allowed_ips: Vec<IpNet>,
}

/// What a device reports (GET_DEVICE / `get=1`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceState {
    pub name: String,
    pub private_key: Option<SecretKey>,
    pub public_key: Option<Key>,
    pub listen_port: u16,
    pub fwmark: u32,
    pub peers: Vec<PeerState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerState {
    pub public_key: Key,
    pub preshared_key: Option<SecretKey>,
    pub endpoint: Option<SocketAddr>,
    pub persistent_keepalive: u16,
    /// Time since the epoch of the last handshake; `None` if never.
    pub last_handshake: Option<Duration>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub allowed_ips: Vec<IpNet>,
}

pub mod resolve;
pub mod showconf;

#[cfg(test)]
mod tests {
    #[test]
    fn names_that_name_no_interface() {
        for bad in ["", ".", "..", "../../tmp/x", "a/b", "a:b", "a b", "abcdefghijklmnop"] {
            assert!(!super::valid_name(bad), "{bad:?}");
        }
        for good in ["wg0", "x+y", "a=b", "wg.home-1", "abcdefghijklmno"] {
            assert!(super::valid_name(good), "{good:?}");
        }
    }
}

/// A device operation failed. Messages follow wg(8).
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("Unable to modify interface {name}: {}", strerror(*.errno))]
    Modify { name: String, errno: i32 },
    #[error("Unable to access interface {name}: {}", strerror(*.errno))]
    Access { name: String, errno: i32 },
    #[error("{0}")]
    Protocol(String),
    /// Starting the userspace implementation failed or did not finish in time.
    #[error(transparent)]
    Helper(#[from] crate::os::child::ChildError),
    /// The userspace implementation did not answer on its control socket in time.
    #[error("Unable to {} interface {name}: its userspace implementation did not answer within {}", if *.modify { "modify" } else { "access" }, crate::os::child::seconds(*.bound))]
    Timeout { name: String, modify: bool, bound: Duration },
    #[error("{program} failed (status {status}){}", if .output.is_empty() { String::new() } else { format!(": {}", .output) })]
    Userspace { program: String, status: i32, output: String },
}

/// strerror text without Rust's " (os error N)".
pub fn strerror(errno: i32) -> String {
    crate::os::glibc::strerror(errno)
}

impl DeviceError {
    /// The exit status to end with: a helper's own (124 when killed at its bound), else 1.
    pub fn status(&self) -> i32 {
        match self {
            DeviceError::Helper(e) => e.status(),
            _ => 1,
        }
    }

    pub fn modify(name: &str, e: crate::wire::netlink::NetlinkError) -> DeviceError {
        DeviceError::Modify { name: name.into(), errno: e.raw_os_error().unwrap_or(libc::EIO) }
    }
    pub fn access(name: &str, e: crate::wire::netlink::NetlinkError) -> DeviceError {
        DeviceError::Access { name: name.into(), errno: e.raw_os_error().unwrap_or(libc::EIO) }
    }
    pub fn modify_io(name: &str, e: std::io::Error) -> DeviceError {
        DeviceError::Modify { name: name.into(), errno: e.raw_os_error().unwrap_or(libc::EIO) }
    }
    /// The errno behind this error, if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            DeviceError::Modify { errno, .. } | DeviceError::Access { errno, .. } => Some(*errno),
            DeviceError::Helper(e) => e.raw_os_error(),
            DeviceError::Timeout { .. } => Some(libc::ETIMEDOUT),
            _ => None,
        }
    }
}

/// Which implementation serves an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Kernel,
    Userspace,
}

/// Whether the kernel would accept `name` for a link (its dev_valid_name rule): 1 to 15
/// bytes, not `.` or `..`, no `/`, `:` or white space. Anything else names no interface,
/// and must never be joined into a socket path (`../../tmp/x`).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && !name.bytes().any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0)
}

/// The backend of an existing interface: a live UAPI socket means userspace.
pub fn backend_of(name: &str) -> Backend {
    if valid_name(name) && uapi::listening(&uapi::socket_path(name)) { Backend::Userspace } else { Backend::Kernel }
}

/// Device access for one run: the generic-netlink connection to kernel devices is opened
/// (and the family resolved) on first use and kept, so a run that reads and writes a
/// device uses one socket.
#[derive(Default)]
pub struct Devices {
    genl: Option<kernel::Genl>,
}

impl Devices {
    fn genl(&mut self) -> Result<&mut kernel::Genl, crate::wire::netlink::NetlinkError> {
        match &mut self.genl {
            Some(g) => Ok(g),
            slot => Ok(slot.insert(kernel::Genl::open()?)),
        }
    }

    /// Applies a configuration to an existing interface.
    pub fn set(&mut self, name: &str, cfg: &DeviceConfig) -> Result<(), DeviceError> {
        if !valid_name(name) {
            return Err(DeviceError::Modify { name: name.into(), errno: libc::ENODEV });
        }
        match backend_of(name) {
            Backend::Userspace => uapi::set(name, cfg),
            Backend::Kernel => self.genl().map_err(|e| DeviceError::modify(name, e))?.set(name, cfg),
        }
    }

    /// The peers' keys, endpoints, handshakes and transfer counters (a userspace device
    /// sends everything; the rest is not kept). Other fields may be empty.
    pub fn get_summary(&mut self, name: &str) -> Result<DeviceState, DeviceError> {
        if valid_name(name) && backend_of(name) == Backend::Userspace {
            return uapi::get_summary(name);
        }
        self.get(name)
    }

    /// Reads the state of an interface.
    pub fn get(&mut self, name: &str) -> Result<DeviceState, DeviceError> {
        if !valid_name(name) {
            return Err(DeviceError::Access { name: name.into(), errno: libc::ENODEV });
        }
        match backend_of(name) {
            Backend::Userspace => uapi::get(name),
            Backend::Kernel => self.genl().map_err(|e| DeviceError::access(name, e))?.get(name),
        }
    }
}

/// Whether `name` is one of the interfaces [`list_interfaces`] lists (a kernel WireGuard
/// link or a live userspace socket), looking at that name only. `rt` is the caller's
/// rtnetlink socket.
pub fn is_interface(rt: &mut crate::wire::netlink::Socket, name: &str) -> Result<bool, DeviceError> {
    if !valid_name(name) {
        return Ok(false);
    }
    if backend_of(name) == Backend::Userspace {
        return Ok(true);
    }
    kernel::is_wireguard_link(rt, name)
        .map_err(|e| DeviceError::Access { name: name.into(), errno: e.raw_os_error().unwrap_or(libc::EIO) })
}

/// The kernel's WireGuard links in this network namespace, in the kernel's dump order
/// (what `wg show interfaces` lists before the userspace sockets), on an rtnetlink socket
/// of its own.
pub fn kernel_links() -> Result<Vec<String>, DeviceError> {
    let access = |e: crate::wire::netlink::NetlinkError| DeviceError::Access {
        name: "(all)".into(),
        errno: e.raw_os_error().unwrap_or(libc::EIO),
    };
    let mut rt = crate::wire::netlink::Socket::open(libc::NETLINK_ROUTE as isize).map_err(access)?;
    kernel::list_links(&mut rt).map_err(access)
}

/// Every WireGuard interface: kernel links and live userspace sockets (like `wg show interfaces`).
/// `rt` is the caller's rtnetlink socket.
pub fn list_interfaces(rt: &mut crate::wire::netlink::Socket) -> Result<Vec<String>, DeviceError> {
    let mut v = kernel::list_links(rt)
        .map_err(|e| DeviceError::Access { name: "(all)".into(), errno: e.raw_os_error().unwrap_or(libc::EIO) })?;
    v.extend(uapi::list());
    v.sort();
    v.dedup();
    Ok(v)
}

/// A peer's latest handshake as the device reports it (seconds and nanoseconds since the
/// epoch; both zero: never). Any values a malformed reply holds give a time, never a panic.
pub(crate) fn handshake_time(secs: u64, nanos: u64) -> Option<std::time::Duration> {
    (secs > 0 || nanos > 0).then(|| std::time::Duration::from_secs(secs).saturating_add(std::time::Duration::from_nanos(nanos)))
}

#[cfg(test)]
mod handshake_tests {
    #[test]
    fn handshake_times_saturate_instead_of_panicking() {
        assert_eq!(super::handshake_time(0, 0), None);
        assert_eq!(super::handshake_time(5, 1_500_000_000), Some(std::time::Duration::from_millis(6_500)));
        assert_eq!(super::handshake_time(u64::MAX, u64::MAX), Some(std::time::Duration::MAX));
    }
}
