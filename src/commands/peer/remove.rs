//! `wgq peer remove`.

use super::{EditArgs, ServerArg};
use crate::commands::{AppError, render};
use crate::provision;

#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct RemoveArgs {
    #[command(flatten)]
    pub target: ServerArg,
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,
    #[command(flatten)]
    pub edit: EditArgs,
}

impl RemoveArgs {
    pub fn run(&self) -> Result<i32, AppError> {
        let server = self.edit.locate(&self.target.interface)?;
        render::edited(provision::remove(&provision::Host::current()?, server, &self.edit.opts(), &self.names)?)
    }
}
