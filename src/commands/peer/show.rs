//! `wgq peer show`.

use super::ServerArg;
use crate::commands::{AppError, render};
use crate::provision::{self, Target};

#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub target: ServerArg,
    #[arg(value_name = "NAME")]
    pub name: String,
    /// As a QR code
    #[arg(long)]
    pub qr: bool,
    /// The directory of INTERFACE.conf (default /etc/wireguard)
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<std::path::PathBuf>,
}

impl ShowArgs {
    pub fn run(&self) -> Result<i32, AppError> {
        let server = Target { interface: self.target.interface.clone(), config_dir: self.config_dir.clone() }.locate()?;
        let file = provision::show(server, &self.name)?;
        render::client_file(&file, self.qr)?;
        Ok(0)
    }
}
