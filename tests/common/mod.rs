//! Helpers shared by the network-namespace tests.

use std::process::Command;

/// Deletes a network namespace after ending the processes still in it: a userspace
/// WireGuard daemon left by a failed test would otherwise keep the namespace, its
/// interface and its /var/run/wireguard socket alive.
pub fn delete_netns(name: &str) {
    if let Ok(o) = Command::new("ip").args(["netns", "pids", name]).output() {
        for pid in String::from_utf8_lossy(&o.stdout).split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
        }
    }
    let _ = Command::new("ip").args(["netns", "del", name]).output();
}
