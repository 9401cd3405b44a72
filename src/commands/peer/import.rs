//! `wgq peer import`.

use super::{EditArgs, ServerArg};
use crate::commands::{AppError, render};
use crate::provision;

#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub target: ServerArg,
    #[command(flatten)]
    pub edit: EditArgs,
}

impl ImportArgs {
    pub fn run(&self) -> Result<i32, AppError> {
        let server = self.edit.locate(&self.target.interface)?;
        render::edited(provision::import(&provision::Host::current()?, server, &self.edit.opts())?)
    }
}
