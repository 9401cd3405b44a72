//! wgq: WireGuard's userland for Linux in one binary.
//!
//! Parse (`config`) → plan (`plan`) → apply (`plan::exec` through a `system`). The folders
//! are layers, each using only the ones below it (docs/architecture.md):
//! `frontend` → `commands` → `system` → `plan` → `device` → `wire` → `os`, `config`,
//! `key`, `net`.

// The library's surface is what front-ends use: `frontend` (the grammars, which the binary
// runs), `commands` (what each command does), `provision` (servers and their clients),
// `config` (the files), and `key` and `net`, the plain data of their arguments and results. The other layers are
// the crate's own; with the `test-support` feature (tests/ and fuzz/ only, never shipped)
// they are public too, so that tests can reach every layer.
macro_rules! internal_layer {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[cfg(feature = "test-support")]
        pub mod $name;
        $(#[$doc])*
        #[cfg(not(feature = "test-support"))]
        pub(crate) mod $name;
    };
}

/// What each command does, around the interface lock and the run state.
pub mod commands;
/// The wg-quick configuration file.
pub mod config;
internal_layer!(
    /// The WireGuard device over generic netlink or the UAPI socket.
    device
);
/// The grammars: wgq's own, wg-quick's, wg(8)'s; the man page and completions.
pub mod frontend;
/// Keys: the public key, and the secret key wiped on drop (in provisioning's requests and
/// results).
pub mod key;
/// IP prefixes and policy rules (in provisioning's requests and results).
pub mod net;
internal_layer!(
    /// The process: signals, and the child processes wgq starts.
    os
);
internal_layer!(
    /// The pure core: operations, plans, planners, routing decisions; the executor.
    plan
);
/// Provisioning as a library: typed operations on a server's file and its clients, for
/// every front-end (the CLI's `wgq server`/`wgq peer`, the web UI).
pub mod provision;
internal_layer!(
    /// The Linux system (and the in-memory one for tests) behind the executor.
    system
);
/// `wgq web`: the web page's server, wg-easy 14's API and wgq's /api/v1 (a front-end over
/// `provision`, started by `commands::web`).
pub mod web;
internal_layer!(
    /// Netlink sockets and the rtnetlink/nfnetlink messages, as plain data.
    wire
);

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
