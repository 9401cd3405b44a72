//! `wgq peer set`.

use super::{EditArgs, ServerArg};
use crate::commands::{AppError, render};
use crate::provision::{self, SetRequest};

#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct SetArgs {
    #[command(flatten)]
    pub target: ServerArg,
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Its addresses: one of each pool's family, free (its client file's Address too)
    #[arg(long, value_name = "ADDR[,ADDR]")]
    pub ip: Option<String>,
    /// What the client routes through the tunnel (its client file)
    #[arg(long, value_name = "CIDR[,CIDR]")]
    pub allowed_ips: Option<String>,
    /// The LANs behind the client (replaces them; none for none)
    #[arg(long, value_name = "CIDR[,CIDR]|none")]
    pub route: Vec<String>,
    /// The client's DNS servers (none for none)
    #[arg(long, value_name = "ADDR[,ADDR]|none")]
    pub dns: Option<String>,
    /// The client's PersistentKeepalive (0 for none)
    #[arg(long, value_name = "SECONDS")]
    pub keepalive: Option<u16>,
    /// The client's MTU
    #[arg(long, value_name = "N")]
    pub mtu: Option<u32>,
    /// When it expires: a date, +N days/hours/weeks, or never
    #[arg(long, value_name = "DATE|+30d|never")]
    pub expires: Option<String>,
    /// Its note (empty to remove it)
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Its name for people, any printable text up to 64 characters (empty to remove it)
    #[arg(long, value_name = "TEXT")]
    pub display_name: Option<String>,
    #[command(flatten)]
    pub edit: EditArgs,
}

impl SetArgs {
    pub fn run(&self) -> Result<i32, AppError> {
        let server = self.edit.locate(&self.target.interface)?;
        let routes: Option<Vec<String>> =
            (!self.route.is_empty()).then(|| self.route.iter().filter(|r| *r != "none").cloned().collect());
        let req = SetRequest {
            name: &self.name,
            ip: self.ip.as_deref(),
            allowed_ips: self.allowed_ips.as_deref(),
            routes: routes.as_deref(),
            dns: self.dns.as_deref(),
            keepalive: self.keepalive,
            mtu: self.mtu,
            expires: self.expires.as_deref(),
            note: self.note.as_deref(),
            display_name: self.display_name.as_deref(),
        };
        render::edited(provision::set(&provision::Host::current()?, server, &self.edit.opts(), &req)?)
    }
}
