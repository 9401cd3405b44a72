//! The grammars the binary answers to: wgq's own (clap) and wg-quick's (byte-exact), and
//! the man page and completions generated from the same command table.

pub mod cli;
pub mod docs;
