//! `wgq peer remove`, `disable` and `enable`: one or more clients by name (or public key),
//! one `provision` operation over all of them, in one edit.

use super::{EditArgs, ServerArg};
use crate::commands::{AppError, render};
use crate::provision::{self, EditOpts, Edited, Host, ProvisionError, Server};

/// The arguments of `remove`, `disable` and `enable`: the server, the clients, the edit's
/// options.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct NamesArgs {
    #[command(flatten)]
    pub target: ServerArg,
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,
    #[command(flatten)]
    pub edit: EditArgs,
}

/// A provisioning operation on named clients.
type NamesOp = fn(&Host, Server, &EditOpts, &[String]) -> Result<Edited, ProvisionError>;

impl NamesArgs {
    fn apply(&self, op: NamesOp) -> Result<i32, AppError> {
        let server = self.edit.locate(&self.target.interface)?;
        render::edited(op(&Host::current()?, server, &self.edit.opts(), &self.names)?)
    }

    /// `wgq peer remove`.
    pub fn remove(&self) -> Result<i32, AppError> {
        self.apply(provision::remove)
    }

    /// `wgq peer disable`.
    pub fn disable(&self) -> Result<i32, AppError> {
        self.apply(provision::disable)
    }

    /// `wgq peer enable`.
    pub fn enable(&self) -> Result<i32, AppError> {
        self.apply(provision::enable)
    }
}
