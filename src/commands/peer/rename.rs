//! `wgq peer rename`.

use super::{EditArgs, ServerArg};
use crate::commands::{AppError, render};
use crate::provision;

#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct RenameArgs {
    #[command(flatten)]
    pub target: ServerArg,
    #[arg(value_name = "OLD")]
    pub old: String,
    #[arg(value_name = "NEW")]
    pub new: String,
    #[command(flatten)]
    pub edit: EditArgs,
}

impl RenameArgs {
    pub fn run(&self) -> Result<i32, AppError> {
        let server = self.edit.locate(&self.target.interface)?;
        render::edited(provision::rename(&provision::Host::current()?, server, &self.edit.opts(), &self.old, &self.new)?)
    }
}
