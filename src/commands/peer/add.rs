//! `wgq peer add`.

use super::{EditArgs, ServerArg};
use crate::commands::{AppError, render};
use crate::provision::{self, AddRequest};

#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct AddArgs {
    #[command(flatten)]
    pub target: ServerArg,
    /// The client's name: 1-15 letters, digits and _ = + . -
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Its addresses instead of the next free ones
    #[arg(long, value_name = "ADDR[,ADDR]")]
    pub ip: Option<String>,
    /// What the client routes through the tunnel (default: the server's # ClientAllowedIPs)
    #[arg(long, value_name = "CIDR[,CIDR]")]
    pub allowed_ips: Option<String>,
    /// A LAN behind the client: routed to it by the server (repeatable)
    #[arg(long, value_name = "CIDR[,CIDR]")]
    pub route: Vec<String>,
    /// The client's DNS servers (none for none)
    #[arg(long, value_name = "ADDR[,ADDR]|none")]
    pub dns: Option<String>,
    /// The client's PersistentKeepalive
    #[arg(long, value_name = "SECONDS")]
    pub keepalive: Option<u16>,
    /// The client's MTU
    #[arg(long, value_name = "N")]
    pub mtu: Option<u32>,
    /// The server's address as the client reaches it (default: # ClientEndpoint)
    #[arg(long, value_name = "HOST[:PORT]")]
    pub endpoint: Option<String>,
    /// When `wgq peer expire' disables it: a date, or +N days/hours/weeks
    #[arg(long, value_name = "DATE|+30d")]
    pub expires: Option<String>,
    /// A note kept in its block
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Its name for people, any printable text up to 64 characters (# DisplayName, shown by wgq web)
    #[arg(long, value_name = "TEXT")]
    pub display_name: Option<String>,
    /// The client made its own key: its public key (no private key is made or kept)
    #[arg(long, value_name = "KEY")]
    pub pubkey: Option<String>,
    /// No PresharedKey
    #[arg(long)]
    pub no_psk: bool,
    /// Print the client file once instead of keeping it
    #[arg(long)]
    pub no_store: bool,
    /// Print the client file as a QR code
    #[arg(long)]
    pub qr: bool,
    #[command(flatten)]
    pub edit: EditArgs,
}

impl AddArgs {
    pub fn run(&self) -> Result<i32, AppError> {
        let server = self.edit.locate(&self.target.interface)?;
        let req = AddRequest {
            name: &self.name,
            ip: self.ip.as_deref(),
            allowed_ips: self.allowed_ips.as_deref(),
            routes: &self.route,
            dns: self.dns.as_deref(),
            keepalive: self.keepalive,
            mtu: self.mtu,
            endpoint: self.endpoint.as_deref(),
            expires: self.expires.as_deref(),
            note: self.note.as_deref(),
            display_name: self.display_name.as_deref(),
            pubkey: self.pubkey.as_deref(),
            no_psk: self.no_psk,
            no_store: self.no_store,
        };
        let added =
            provision::add(&provision::Host::current()?, server, &self.edit.opts(), &req, self.qr.then_some(&render::qr as _))?;
        render::edited(added.edited)
    }
}
