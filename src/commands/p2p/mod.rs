//! `wgq p2p serve|connect|status`: peers behind NAT reach each other directly, with
//! endpoints learned from their hub (docs/p2p.md).
//!
//! - `serve` (on the hub) answers queries on the interface's tunnel addresses only, from
//!   peers opted in with `# P2P = true` in their `[Peer]` block, with the other opted-in
//!   peers (`plan::p2p::Listing`), rate limited per asking peer.
//! - `connect` (on a peer) asks the hub every few seconds and plans each second what the
//!   device needs (`plan::p2p::Mesh::round`); each change is applied on its own,
//!   update-only, under the interface's lock, and the peers it added are recorded in the
//!   run state (`save` leaves them out, `reload` keeps them). Stopping it puts every
//!   address back through the hub and removes the peers it added.
//! - `status` prints the record next to the device's endpoints.

use std::time::SystemTime;

use crate::config::locate;
use crate::system::LinuxSystem;

use super::AppError;

mod connect;
mod serve;
mod status;

// `wgq p2p`'s subcommands (and clap's definition of them).
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum P2pCmd {
    /// On the hub: tell opted-in peers (# P2P = true) where the other opted-in peers are, on the tunnel address only
    Serve {
        /// The UDP port on the interface's tunnel addresses
        #[arg(long, value_name = "N", default_value_t = crate::plan::p2p::DEFAULT_PORT)]
        port: u16,
        /// A file named INTERFACE.conf, or an interface name (its file is /etc/wireguard/INTERFACE.conf)
        #[arg(value_name = "CONFIG_FILE|INTERFACE")]
        target: String,
    },
    /// On a peer: add the other peers of the mesh at run time and go direct while a handshake works
    Connect {
        /// The hub's p2p address (default: the first host of this interface's subnet, port 51819)
        #[arg(long, value_name = "ADDR[:PORT]")]
        hub: Option<String>,
        /// A file named INTERFACE.conf, or an interface name
        #[arg(value_name = "CONFIG_FILE|INTERFACE")]
        target: String,
    },
    /// Each other peer of the mesh: direct or via the hub, since when, its endpoint
    Status {
        /// A file named INTERFACE.conf, or an interface name
        #[arg(value_name = "CONFIG_FILE|INTERFACE")]
        target: String,
    },
}

pub(crate) fn run(c: &P2pCmd) -> Result<i32, AppError> {
    match c {
        P2pCmd::Serve { target, port } => serve::serve(target, *port),
        P2pCmd::Connect { target, hub } => connect::connect(target, hub.as_deref()),
        P2pCmd::Status { target } => status::status(target),
    }
}

/// The wall clock (seconds since the epoch): for what is shown, and for the device's
/// handshake times.
fn now_secs() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// The clock of `connect`'s timers and of the record's `since` ([`crate::os::boot_secs`]).
fn mono_secs() -> u64 {
    crate::os::boot_secs()
}

/// The device's handshake times (wall clock) as times of `mono_secs`: a wall clock set
/// back or forward changes nothing else the rounds measure.
fn handshakes_on_mono(dev: &mut crate::device::DeviceState, wall: u64, mono: u64) {
    for p in &mut dev.peers {
        if let Some(t) = p.last_handshake.filter(|t| !t.is_zero()) {
            let age = wall.saturating_sub(t.as_secs());
            // Age 0 at mono 0 would read as "never": at least one second.
            p.last_handshake = Some(std::time::Duration::from_secs(mono.saturating_sub(age).max(1)));
        }
    }
}

/// The interface a `CONFIG_FILE|INTERFACE` argument names (its file need not exist for
/// an interface name: `connect` and `status` read only the device).
fn interface_of(target: &str) -> Result<String, AppError> {
    if locate::is_interface_name(target) {
        return Ok(target.to_string());
    }
    Ok(locate::locate_config(target, std::path::Path::new(super::CONFIG_DIR))?.interface)
}

fn open(ifname: &str) -> Result<LinuxSystem, AppError> {
    let mut sys = LinuxSystem::new(ifname, None)?;
    if !sys.is_wireguard(ifname)? {
        return Err(AppError::NotWireGuard(ifname.to_string()));
    }
    Ok(sys)
}

/// The largest server file `serve` reads.
const MAX_FILE: u64 = 64 << 20;

/// The peers of a config file: the opted-in ones (`# P2P = true` in an enabled `[Peer]`
/// block) and every enabled one. Read bounded, the text wiped after.
fn file_peers(path: &std::path::Path) -> Result<(Vec<crate::key::Key>, Vec<crate::key::Key>), AppError> {
    let text =
        crate::os::read_bounded(path, MAX_FILE).map_err(|e| AppError::Read { path: path.display().to_string(), source: e })?;
    let mut bytes = text.into_bytes();
    let entries = crate::config::peers::list_entries(&bytes);
    crate::key::wipe(&mut bytes);
    let enabled: Vec<_> = entries.into_iter().filter(|p| !p.disabled).collect();
    let opted = enabled.iter().filter(|p| p.p2p).filter_map(|p| p.public_key).collect();
    Ok((opted, enabled.iter().filter_map(|p| p.public_key).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn handshake_times_on_the_monotonic_clock() {
        let mut dev = crate::device::DeviceState::default();
        for t in [Some(1_000), Some(0), None, Some(2_000)] {
            dev.peers.push(crate::device::PeerState { last_handshake: t.map(Duration::from_secs), ..Default::default() });
        }
        // Wall clock 1_100 (a handshake 100 s ago; one "in the future" of a clock set
        // back), monotonic 500.
        handshakes_on_mono(&mut dev, 1_100, 500);
        let got: Vec<_> = dev.peers.iter().map(|p| p.last_handshake.map(|d| d.as_secs())).collect();
        assert_eq!(got, [Some(400), Some(0), None, Some(500)]);
        assert!(boot_secs_moves());
    }

    fn boot_secs_moves() -> bool {
        let a = mono_secs();
        a > 0 && mono_secs() >= a
    }
}
