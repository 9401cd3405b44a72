//! `wgq peer list`.

use crate::commands::{AppError, render};
use crate::provision::{self, Target};

#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ListArgs {
    /// The server (every file of the config directory when absent)
    #[arg(value_name = "CONFIG_FILE|INTERFACE")]
    pub interface: Option<String>,
    /// Print machine-readable JSON
    #[arg(long)]
    pub json: bool,
    /// The directory of INTERFACE.conf (default /etc/wireguard)
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<std::path::PathBuf>,
}

impl ListArgs {
    pub fn run(&self) -> Result<i32, AppError> {
        let target = Target { interface: self.interface.clone().unwrap_or_default(), config_dir: self.config_dir.clone() };
        let servers = provision::list(&target, self.interface.is_none())?;
        render::expiry_warnings(&servers);
        let text = if self.json { render::list_json(&servers) } else { render::list_table(&servers) };
        render::stdout(text.as_bytes())?;
        Ok(0)
    }
}
