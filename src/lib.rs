//! wgq: a drop-in replacement for wg-quick on Linux.
//!
//! Parse (`config`) → plan (`plan`) → apply (`exec`). Every module but `exec`,
//! `netlink`, `nftables::list_tables`, `device::kernel`, `device::uapi`, `child` and `hooks` is pure.

pub mod app;
pub mod child;
pub mod cli;
pub mod config;
pub mod device;
pub mod dns;
pub mod docs;
pub mod exec;
/// Test support (the `test-support` feature, on for tests/ and fuzz/): not shipped.
#[cfg(feature = "test-support")]
pub mod fake;
pub mod firewall;
/// Test support (the `test-support` feature, on for tests/ and fuzz/): not shipped.
#[cfg(feature = "test-support")]
pub mod fuzzing;
pub mod hooks;
pub mod key;
pub mod net;
pub mod netlink;
pub mod nftables;
pub mod plan;
pub mod routing;
pub mod rtnl;
pub mod runstate;
pub mod save;
pub mod show;
pub mod signals;
pub mod system;

static PROGRAM: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// Sets the name messages start with (`wgq`, or `wg-quick` when run under that name).
pub fn set_program_name(name: &'static str) {
    let _ = PROGRAM.set(name);
}

/// The name messages start with: `wgq` unless the binary said otherwise.
pub fn program_name() -> &'static str {
    PROGRAM.get().copied().unwrap_or("wgq")
}

/// Renders an error with its causes: `outer: cause: root cause` (each cause once).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.ends_with(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}
