//! `wgq peer rotate`.

use super::{EditArgs, ServerArg};
use crate::commands::{AppError, render};
use crate::provision::{self, RotateRequest};

#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub target: ServerArg,
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The client's new public key (a client that makes its own keys)
    #[arg(long, value_name = "KEY")]
    pub pubkey: Option<String>,
    /// Print the new client file as a QR code
    #[arg(long)]
    pub qr: bool,
    #[command(flatten)]
    pub edit: EditArgs,
}

impl RotateArgs {
    pub fn run(&self) -> Result<i32, AppError> {
        let server = self.edit.locate(&self.target.interface)?;
        let req = RotateRequest { name: &self.name, pubkey: self.pubkey.as_deref() };
        render::edited(provision::rotate(
            &provision::Host::current()?,
            server,
            &self.edit.opts(),
            &req,
            self.qr.then_some(&render::qr as _),
        )?)
    }
}
