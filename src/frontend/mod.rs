//! The grammars the binary answers to: wgq's own (clap), wg-quick's and wg(8)'s (byte-exact), and
//! the man page and completions generated from the same command table.

pub mod cli;
pub mod docs;
/// wg(8): the binary run as `wg` (uses only `device`, `key`, `net`).
pub mod wg;
