//! `wgq server init`: a VPN server's file (keys, address pools, port, NAT, client
//! defaults) and IP forwarding; the work is `provision::init`.

use std::path::PathBuf;

use super::AppError;
use super::render::say;
use crate::provision::{self, InitRequest, Nat};

/// `wgq server …`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum ServerCmd {
    /// Write INTERFACE's server file (keys, Address pools, ListenPort, NAT, client defaults) and turn on IP forwarding
    Init(InitArgs),
}

#[derive(Debug, Clone, PartialEq, Eq, Default, clap::Args)]
pub struct InitArgs {
    /// The interface name (its file is CONFIG_DIR/INTERFACE.conf)
    #[arg(value_name = "INTERFACE")]
    pub interface: String,
    /// The server's addresses with their pools' prefix lengths (default 10.8.0.1/24 and a random IPv6 ULA /64)
    #[arg(long, value_name = "CIDR[,CIDR]")]
    pub address: Option<String>,
    /// ListenPort (default 51820; random: one of 49152-65535)
    #[arg(long, value_name = "N|random")]
    pub port: Option<String>,
    /// The name or address clients reach the server at (default: the default route's source address)
    #[arg(long, value_name = "HOST[:PORT]")]
    pub endpoint: Option<String>,
    /// The uplink the clients' traffic is masqueraded out of (default: the default route's device)
    #[arg(long, value_name = "DEV")]
    pub out_dev: Option<String>,
    /// No NAT hooks (the clients' addresses are routed to this host)
    #[arg(long)]
    pub no_nat: bool,
    /// The NAT tool of PostUp/PostDown (default nft, iptables where nft is absent)
    #[arg(long, value_name = "nft|iptables", value_enum)]
    pub nat: Option<Nat>,
    /// DNS servers for the clients (default 1.1.1.1, 2606:4700:4700::1111; none for none)
    #[arg(long, value_name = "ADDR[,ADDR]|none")]
    pub dns: Option<String>,
    /// What clients route through the tunnel (default 0.0.0.0/0, ::/0)
    #[arg(long, value_name = "CIDR[,CIDR]")]
    pub client_allowed_ips: Option<String>,
    /// The clients' PersistentKeepalive (default 25; 0 for none)
    #[arg(long, value_name = "SECONDS")]
    pub keepalive: Option<u16>,
    /// The clients' MTU (default: automatic)
    #[arg(long, value_name = "N")]
    pub mtu: Option<u32>,
    /// Leave IP forwarding as it is
    #[arg(long)]
    pub no_forwarding: bool,
    /// Where the forwarding drop-in goes (default /etc/sysctl.d)
    #[arg(long, value_name = "DIR")]
    pub sysctl_dir: Option<PathBuf>,
    /// Where the server file goes (default /etc/wireguard)
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// Replace an existing file (its peers and keys are lost)
    #[arg(long)]
    pub force: bool,
    /// Print the file (keys hidden) and the forwarding change; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs `wgq server …`.
pub fn run(cmd: &ServerCmd) -> Result<i32, AppError> {
    let ServerCmd::Init(a) = cmd;
    init(a)
}

/// Runs `wgq server init`: check and make (looking at the uplink), then write.
pub fn init(a: &InitArgs) -> Result<i32, AppError> {
    let prepared = provision::init(&InitRequest {
        interface: &a.interface,
        config_dir: a.config_dir.as_deref(),
        address: a.address.as_deref(),
        port: a.port.as_deref(),
        endpoint: a.endpoint.as_deref(),
        out_dev: a.out_dev.as_deref(),
        no_nat: a.no_nat,
        nat: a.nat,
        dns: a.dns.as_deref(),
        client_allowed_ips: a.client_allowed_ips.as_deref(),
        keepalive: a.keepalive,
        mtu: a.mtu,
        no_forwarding: a.no_forwarding,
        sysctl_dir: a.sysctl_dir.as_deref(),
        force: a.force,
        key: None,
    })?;
    if let Some((src, what)) = prepared.private_endpoint {
        say(&format!(
            "warning: the endpoint for clients is {src}, the source address of the default route: {what}. \
             Clients outside this network cannot reach it; behind NAT, forward UDP port {} here and pass \
             --endpoint with the public name or address (it is kept as `# ClientEndpoint' in the file)",
            prepared.port
        ));
    }
    if a.dry_run {
        print!("{}", prepared.dry_run());
        return Ok(0);
    }
    let done = prepared.write(&mut std::io::stderr())?;
    let ifname = &done.ifname;
    say(&format!("wrote {} (clients reach it at {})", done.path.display(), done.endpoint));
    if let Some((k, d)) = &done.nat {
        say(&format!("NAT with {} for the pools out of {d} (PostUp/PostDown)", if *k == Nat::Nft { "nft" } else { "iptables" }));
    }
    say(&format!(
        "start it with `wgq up {ifname}' (at boot: `systemctl enable --now wgq@{ifname}'); add a client with `wgq peer add {ifname} NAME'"
    ));
    Ok(0)
}
