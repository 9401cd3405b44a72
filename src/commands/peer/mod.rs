//! `wgq peer …`: a server's clients, kept in the server file itself. One file per command,
//! each with its argument struct (also its clap definition) and a short `run`: locate the
//! server, call the `provision` operation, render what it returns (`commands::render`).

mod add;
mod expire;
mod import;
mod list;
mod names;
mod rename;
mod rotate;
mod set;
mod show;

pub use add::AddArgs;
pub use expire::ExpireArgs;
pub use import::ImportArgs;
pub use list::ListArgs;
pub use names::NamesArgs;
pub use rename::RenameArgs;
pub use rotate::RotateArgs;
pub use set::SetArgs;
pub use show::ShowArgs;

use super::AppError;
use crate::provision::{EditOpts, Server, Target};

/// The `wgq peer` commands.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum PeerCmd {
    /// Add a client: next free address of each pool, keys, its block, its client file (live on a running interface)
    Add(AddArgs),
    /// List the clients: name, addresses, state, dates, and (when running) endpoint, handshake, transfer
    List(ListArgs),
    /// Print a client's file (or its QR code)
    Show(ShowArgs),
    /// Remove clients: their blocks and client files; live, their traffic ends at once
    Remove(NamesArgs),
    /// Disable clients: every line of their blocks commented out (their addresses stay reserved)
    Disable(NamesArgs),
    /// Enable disabled clients again
    Enable(NamesArgs),
    /// Rename a client (its block's # Name and its client file)
    Rename(RenameArgs),
    /// Change a client's settings
    Set(SetArgs),
    /// New keys (and PresharedKey) for a client, same addresses
    Rotate(RotateArgs),
    /// Disable the clients whose Expires date has passed (run by wgq-expire.timer)
    Expire(ExpireArgs),
    /// Turn other tools' markers (wireguard-install, Nyr, PiVPN, wg-easy) into wgq's names
    Import(ImportArgs),
}

/// Runs a `wgq peer` command.
pub fn run(cmd: &PeerCmd) -> Result<i32, AppError> {
    match cmd {
        PeerCmd::Add(a) => a.run(),
        PeerCmd::List(a) => a.run(),
        PeerCmd::Show(a) => a.run(),
        PeerCmd::Remove(a) => a.remove(),
        PeerCmd::Disable(a) => a.disable(),
        PeerCmd::Enable(a) => a.enable(),
        PeerCmd::Rename(a) => a.run(),
        PeerCmd::Set(a) => a.run(),
        PeerCmd::Rotate(a) => a.run(),
        PeerCmd::Expire(a) => a.run(),
        PeerCmd::Import(a) => a.run(),
    }
}

/// The server a command works on.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ServerArg {
    /// The server: a file named INTERFACE.conf, or an interface name
    #[arg(value_name = "CONFIG_FILE|INTERFACE")]
    pub interface: String,
}

/// The options of every editing command.
#[derive(Debug, Clone, PartialEq, Eq, Default, clap::Args)]
pub struct EditArgs {
    /// Print the file diff and the live device/route plan; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Edit the file only, even when the interface runs
    #[arg(long)]
    pub no_apply: bool,
    /// Edit a file with SaveConfig = true all the same
    #[arg(long)]
    pub force: bool,
    /// The directory of INTERFACE.conf (default /etc/wireguard)
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<std::path::PathBuf>,
}

impl EditArgs {
    pub fn opts(&self) -> EditOpts {
        EditOpts { dry_run: self.dry_run, no_apply: self.no_apply, force: self.force }
    }

    /// Locates the server file `interface` names.
    pub fn locate(&self, interface: &str) -> Result<Server, AppError> {
        Ok(Target { interface: interface.to_string(), config_dir: self.config_dir.clone() }.locate()?)
    }
}
