//! wgq: WireGuard's userland for Linux in one binary.
//!
//! Parse (`config`) → plan (`plan`) → apply (`plan::exec` through a `system`). The folders
//! are layers, each using only the ones below it (docs/architecture.md):
//! `frontend` → `commands` → `system` → `plan` → `device` → `wire` → `os`, `config`,
//! `key`, `net`.

/// What each command does, around the interface lock and the run state.
pub mod commands;
/// The wg-quick configuration file.
pub mod config;
/// The WireGuard device over generic netlink or the UAPI socket.
pub mod device;
/// The grammars: wgq's own, wg-quick's, wg(8)'s; the man page and completions.
pub mod frontend;
pub mod key;
pub mod net;
/// The process: signals, and the child processes wgq starts.
pub mod os;
/// The pure core: operations, plans, planners, routing decisions; the executor.
pub mod plan;
pub mod provision;
/// The Linux system (and the in-memory one for tests) behind the executor.
pub mod system;
/// `wgq web`: the web page's server, wg-easy 14's API and wgq's /api/v1 (a front-end over `provision`).
pub mod web;
/// Netlink sockets and the rtnetlink/nfnetlink messages, as plain data.
pub mod wire;

/// Test support (the `test-support` feature, on for tests/ and fuzz/): not shipped.
#[cfg(feature = "test-support")]
pub mod fuzzing;

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
