//! wgq: a drop-in replacement for wg-quick on Linux.
//!
//! Parse (`config`) → plan (`plan`) → apply (`exec`). Every module but `exec`,
//! `netlink`, `device::kernel`, `device::uapi` and `hooks` is pure.

pub mod cli;
pub mod config;
pub mod device;
pub mod dns;
pub mod exec;
pub mod firewall;
pub mod hooks;
pub mod key;
pub mod net;
pub mod netlink;
pub mod plan;
pub mod routing;
pub mod save;
