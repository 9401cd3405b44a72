//! `wgq peer expire`.

use super::EditArgs;
use crate::commands::{AppError, render};
use crate::provision::{self, Target};

#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ExpireArgs {
    /// The server (every file of the config directory when absent)
    #[arg(value_name = "CONFIG_FILE|INTERFACE")]
    pub interface: Option<String>,
    #[command(flatten)]
    pub edit: EditArgs,
}

impl ExpireArgs {
    pub fn run(&self) -> Result<i32, AppError> {
        let target = Target { interface: self.interface.clone().unwrap_or_default(), config_dir: self.edit.config_dir.clone() };
        let mut status = 0;
        for server in provision::expire_targets(&target, self.interface.is_none())? {
            let Some(report) = provision::expire(&provision::Host::current()?, server, &self.edit.opts()) else { continue };
            // An expiry that is no date never expires: said, and the run fails (the admin
            // meant a date; the timer's failure shows).
            for p in &report.bad {
                render::say(&render::bad_expiry(&report.ifname, p));
                status = 1;
            }
            match report.edited {
                None => {}
                Some(Ok(e)) => {
                    render::edited(e)?;
                }
                Some(Err(e)) => {
                    let e = AppError::from(e);
                    render::say(&crate::error_chain(&e));
                    status = e.status();
                }
            }
        }
        Ok(status)
    }
}
