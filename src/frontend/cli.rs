//! Command-line grammars. The binary speaks one per name it is run as ([`Personality`]):
//!
//! - as `wgq`: wgq's own commands, parsed by clap ([`parse_wgq`]); the man page and the
//!   completions are generated from the same clap command ([`wgq_command`], `docs`);
//! - as `wg-quick` (a link to the binary, or `wgq wg-quick ARGS...`): exactly wg-quick's
//!   grammar, exit codes and usage-on-stderr behaviour (reference §1), parsed by hand
//!   ([`parse_args`], [`usage`]) so that it accepts what wg-quick accepts and nothing else.

use std::ffi::{OsStr, OsString};
use std::path::Path;

pub use crate::commands::Command;

/// The grammar the binary speaks, chosen by the name it was run as (busybox style).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personality {
    /// Any other name: wgq's own commands, parsed by clap ([`parse_wgq`]).
    Wgq,
    /// `wg-quick` (a link to the binary): exactly wg-quick's grammar ([`parse_args`]).
    WgQuick,
    /// `wg` (a link to the binary): wg(8)'s grammar, output and statuses (`frontend::wg`).
    Wg,
}

impl Personality {
    /// The personality for `argv[0]`: its file name decides, the directory does not.
    pub fn from_argv0(argv0: &OsStr) -> Personality {
        match Path::new(argv0).file_name().and_then(OsStr::to_str) {
            Some("wg-quick") => Personality::WgQuick,
            Some("wg") => Personality::Wg,
            _ => Personality::Wgq,
        }
    }

    /// The program name of messages, usage and the sudo prompt.
    pub fn program(self) -> &'static str {
        match self {
            Personality::Wgq => "wgq",
            Personality::WgQuick => "wg-quick",
            Personality::Wg => "wg",
        }
    }
}

/// The name of wgq's subcommand that runs the rest of the line as wg-quick would.
pub const WG_QUICK_SUBCOMMAND: &str = "wg-quick";

/// The name of wgq's subcommand that runs the rest of the line as wg(8) would.
pub const WG_SUBCOMMAND: &str = "wg";

/// The text after wgq's help (it is also the man page's description of the file).
const AFTER_HELP: &str = "\
CONFIG_FILE is a path to a file named after the interface with `.conf' appended;
INTERFACE is an interface name whose configuration is read from
/etc/wireguard/INTERFACE.conf. The file uses wg(8)'s format plus the [Interface] keys
Address, DNS, MTU, Table, PreUp, PostUp, PreDown, PostDown and SaveConfig, which wgq
handles itself.

Run as wg-quick (through a link of that name, or as `wgq wg-quick ARGS...`), wgq
accepts exactly wg-quick's command lines: up, down, save and strip.

See wgq(8) for more information. Exit status is 0 on success, 1 on a usage or
configuration error, otherwise the status of the step that failed.";

// wgq's own command line (clap; doc comments here would become help text).
// [`wgq_command`] is the same grammar as a value, from which the man page and the
// completions are generated.
#[derive(Debug, clap::Parser)]
#[command(
    name = "wgq",
    version,
    about = "Set up a WireGuard interface simply, transactionally and fast",
    after_help = AFTER_HELP,
    arg_required_else_help = true
)]
struct WgqArgs {
    #[command(subcommand)]
    command: WgqCommand,
}

#[derive(Debug, clap::Subcommand)]
enum WgqCommand {
    /// Create and configure the interface; everything is rolled back if any step fails
    Up(UpCli),
    /// Remove the interface and everything up added for it
    Down(DownCli),
    /// Write the running configuration of the interface back to its file
    Save(Target),
    /// Print the configuration without wg-quick's keys, as wg(8) reads it
    Strip(Target),
    /// Validate the file and print every error and warning, changing nothing
    Check(Target),
    /// Bring the running interface to the file without recreating it
    Reload(DryRunTarget),
    /// Look up stale peers' host-name endpoints again and update the ones that moved (dynamic DNS)
    Reresolve {
        /// A peer is stale without a handshake for this long (or never)
        #[arg(long, value_name = "SECS", default_value_t = crate::plan::reresolve::DEFAULT_STALE_AFTER)]
        stale_after: u64,
        /// Print the endpoint changes instead of making them
        #[arg(long)]
        dry_run: bool,
        /// A file named INTERFACE.conf, or an interface name (its file is /etc/wireguard/INTERFACE.conf)
        #[arg(value_name = "CONFIG_FILE|INTERFACE")]
        target: String,
    },
    /// Show the state of WireGuard interfaces
    Show {
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
        /// The interface to show; all (or none) for every WireGuard interface
        #[arg(value_name = "INTERFACE|all")]
        interface: Option<String>,
    },
    /// Print the running configuration of the interface in config-file form
    Showconf {
        /// A WireGuard interface
        #[arg(value_name = "INTERFACE")]
        interface: String,
    },
    /// Print a new private key
    Genkey,
    /// Print a new preshared key
    Genpsk,
    /// Read a private key on stdin and print its public key
    Pubkey,
    /// Run ARGS exactly as wg-quick would: its grammar, usage and exit codes
    #[command(name = WG_QUICK_SUBCOMMAND, disable_help_flag = true)]
    WgQuick {
        /// wg-quick's arguments: up, down, save or strip, and CONFIG_FILE or INTERFACE
        #[arg(value_name = "ARGS", trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Run ARGS exactly as wg(8) would: show, showconf, set, setconf, addconf, syncconf, genkey, genpsk, pubkey
    #[command(name = WG_SUBCOMMAND, disable_help_flag = true)]
    Wg {
        /// wg's subcommand and its arguments
        #[arg(value_name = "ARGS", trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Set up a VPN server: its file with keys, address pools, port, NAT and client defaults
    Server {
        #[command(subcommand)]
        command: ServerCommand,
    },
    /// A server's clients, kept in its file: add, list, show, remove, disable, enable, rename, set, rotate, expire, import
    Peer {
        #[command(subcommand)]
        command: PeerCommand,
    },
    /// Peers behind NAT talk directly, with endpoints learned from their hub: serve, connect, status
    P2p {
        #[command(subcommand)]
        command: P2pCommand,
    },
    /// Print a file (a client's configuration) as a QR code on the terminal
    Qr {
        /// The file; standard input for - or none
        #[arg(value_name = "FILE|-")]
        file: Option<String>,
    },
    /// Print the version (as --version does)
    #[command(hide = true)]
    Version,
}

#[derive(Debug, clap::Subcommand)]
enum ServerCommand {
    /// Write INTERFACE's server file (keys, Address pools, ListenPort, NAT, client defaults) and turn on IP forwarding
    Init(InitCli),
}

const IF_VALUE: &str = "CONFIG_FILE|INTERFACE";

#[derive(Debug, clap::Args)]
struct InitCli {
    /// The interface name (its file is CONFIG_DIR/INTERFACE.conf)
    #[arg(value_name = "INTERFACE")]
    interface: String,
    /// The server's addresses with their pools' prefix lengths (default 10.8.0.1/24 and a random IPv6 ULA /64)
    #[arg(long, value_name = "CIDR[,CIDR]")]
    address: Option<String>,
    /// ListenPort (default 51820; random: one of 49152-65535)
    #[arg(long, value_name = "N|random")]
    port: Option<String>,
    /// The name or address clients reach the server at (default: the default route's source address)
    #[arg(long, value_name = "HOST[:PORT]")]
    endpoint: Option<String>,
    /// The uplink the clients' traffic is masqueraded out of (default: the default route's device)
    #[arg(long, value_name = "DEV")]
    out_dev: Option<String>,
    /// No NAT hooks (the clients' addresses are routed to this host)
    #[arg(long)]
    no_nat: bool,
    /// The NAT tool of PostUp/PostDown (default nft, iptables where nft is absent)
    #[arg(long, value_name = "nft|iptables", value_parser = ["nft", "iptables"])]
    nat: Option<String>,
    /// DNS servers for the clients (default 1.1.1.1, 2606:4700:4700::1111; none for none)
    #[arg(long, value_name = "ADDR[,ADDR]|none")]
    dns: Option<String>,
    /// What clients route through the tunnel (default 0.0.0.0/0, ::/0)
    #[arg(long, value_name = "CIDR[,CIDR]")]
    client_allowed_ips: Option<String>,
    /// The clients' PersistentKeepalive (default 25; 0 for none)
    #[arg(long, value_name = "SECONDS")]
    keepalive: Option<u16>,
    /// The clients' MTU (default: automatic)
    #[arg(long, value_name = "N")]
    mtu: Option<u32>,
    /// Leave IP forwarding as it is
    #[arg(long)]
    no_forwarding: bool,
    /// Where the forwarding drop-in goes (default /etc/sysctl.d)
    #[arg(long, value_name = "DIR")]
    sysctl_dir: Option<std::path::PathBuf>,
    /// Where the server file goes (default /etc/wireguard)
    #[arg(long, value_name = "DIR")]
    config_dir: Option<std::path::PathBuf>,
    /// Replace an existing file (its peers and keys are lost)
    #[arg(long)]
    force: bool,
    /// Print the file (keys hidden) and the forwarding change; write nothing
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, clap::Args)]
struct EditCli {
    /// Print the file diff and the live device/route plan; change nothing
    #[arg(long)]
    dry_run: bool,
    /// Edit the file only, even when the interface runs
    #[arg(long)]
    no_apply: bool,
    /// Edit a file with SaveConfig = true all the same
    #[arg(long)]
    force: bool,
    /// The directory of INTERFACE.conf (default /etc/wireguard)
    #[arg(long, value_name = "DIR")]
    config_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, clap::Args)]
struct PeerTarget {
    /// The server: a file named INTERFACE.conf, or an interface name
    #[arg(value_name = IF_VALUE)]
    interface: String,
}

#[derive(Debug, clap::Subcommand)]
enum P2pCommand {
    /// On the hub: tell opted-in peers (# P2P = true) where the other opted-in peers are, on the tunnel address only
    Serve {
        /// The UDP port on the interface's tunnel addresses
        #[arg(long, value_name = "N", default_value_t = crate::plan::p2p::DEFAULT_PORT)]
        port: u16,
        /// A file named INTERFACE.conf, or an interface name (its file is /etc/wireguard/INTERFACE.conf)
        #[arg(value_name = "CONFIG_FILE|INTERFACE")]
        target: String,
    },
    /// On a peer: add the other peers of the mesh at run time and go direct while a handshake works
    Connect {
        /// The hub's p2p address (default: the first host of this interface's subnet, port 51819)
        #[arg(long, value_name = "ADDR[:PORT]")]
        hub: Option<String>,
        /// A file named INTERFACE.conf, or an interface name
        #[arg(value_name = "CONFIG_FILE|INTERFACE")]
        target: String,
    },
    /// Each other peer of the mesh: direct or via the hub, since when, its endpoint
    Status {
        /// A file named INTERFACE.conf, or an interface name
        #[arg(value_name = "CONFIG_FILE|INTERFACE")]
        target: String,
    },
}

#[derive(Debug, clap::Subcommand)]
enum PeerCommand {
    /// Add a client: next free address of each pool, keys, its block, its client file (live on a running interface)
    Add {
        #[command(flatten)]
        target: PeerTarget,
        /// The client's name: 1-15 letters, digits and _ = + . -
        #[arg(value_name = "NAME")]
        name: String,
        /// Its addresses instead of the next free ones
        #[arg(long, value_name = "ADDR[,ADDR]")]
        ip: Option<String>,
        /// What the client routes through the tunnel (default: the server's # ClientAllowedIPs)
        #[arg(long, value_name = "CIDR[,CIDR]")]
        allowed_ips: Option<String>,
        /// A LAN behind the client: routed to it by the server (repeatable)
        #[arg(long, value_name = "CIDR[,CIDR]")]
        route: Vec<String>,
        /// The client's DNS servers (none for none)
        #[arg(long, value_name = "ADDR[,ADDR]|none")]
        dns: Option<String>,
        /// The client's PersistentKeepalive
        #[arg(long, value_name = "SECONDS")]
        keepalive: Option<u16>,
        /// The client's MTU
        #[arg(long, value_name = "N")]
        mtu: Option<u32>,
        /// The server's address as the client reaches it (default: # ClientEndpoint)
        #[arg(long, value_name = "HOST[:PORT]")]
        endpoint: Option<String>,
        /// When `wgq peer expire' disables it: a date, or +N days/hours/weeks
        #[arg(long, value_name = "DATE|+30d")]
        expires: Option<String>,
        /// A note kept in its block
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        /// In this interface's `wgq p2p` mesh (# P2P = true in its block)
        #[arg(long)]
        p2p: bool,
        /// The client made its own key: its public key (no private key is made or kept)
        #[arg(long, value_name = "KEY")]
        pubkey: Option<String>,
        /// No PresharedKey
        #[arg(long)]
        no_psk: bool,
        /// Print the client file once instead of keeping it
        #[arg(long)]
        no_store: bool,
        /// Print the client file as a QR code
        #[arg(long)]
        qr: bool,
        #[command(flatten)]
        edit: EditCli,
    },
    /// List the clients: name, addresses, state, dates, and (when running) endpoint, handshake, transfer
    List {
        /// The server (every file of the config directory when absent)
        #[arg(value_name = IF_VALUE)]
        interface: Option<String>,
        /// Print machine-readable JSON
        #[arg(long)]
        json: bool,
        /// The directory of INTERFACE.conf (default /etc/wireguard)
        #[arg(long, value_name = "DIR")]
        config_dir: Option<std::path::PathBuf>,
    },
    /// Print a client's file (or its QR code)
    Show {
        #[command(flatten)]
        target: PeerTarget,
        #[arg(value_name = "NAME")]
        name: String,
        /// As a QR code
        #[arg(long)]
        qr: bool,
        /// The directory of INTERFACE.conf (default /etc/wireguard)
        #[arg(long, value_name = "DIR")]
        config_dir: Option<std::path::PathBuf>,
    },
    /// Remove clients: their blocks and client files; live, their traffic ends at once
    Remove {
        #[command(flatten)]
        target: PeerTarget,
        #[arg(value_name = "NAME", required = true)]
        names: Vec<String>,
        #[command(flatten)]
        edit: EditCli,
    },
    /// Disable clients: every line of their blocks commented out (their addresses stay reserved)
    Disable {
        #[command(flatten)]
        target: PeerTarget,
        #[arg(value_name = "NAME", required = true)]
        names: Vec<String>,
        #[command(flatten)]
        edit: EditCli,
    },
    /// Enable disabled clients again
    Enable {
        #[command(flatten)]
        target: PeerTarget,
        #[arg(value_name = "NAME", required = true)]
        names: Vec<String>,
        #[command(flatten)]
        edit: EditCli,
    },
    /// Rename a client (its block's # Name and its client file)
    Rename {
        #[command(flatten)]
        target: PeerTarget,
        #[arg(value_name = "OLD")]
        old: String,
        #[arg(value_name = "NEW")]
        new: String,
        #[command(flatten)]
        edit: EditCli,
    },
    /// Change a client's settings
    Set {
        #[command(flatten)]
        target: PeerTarget,
        #[arg(value_name = "NAME")]
        name: String,
        /// What the client routes through the tunnel (its client file)
        #[arg(long, value_name = "CIDR[,CIDR]")]
        allowed_ips: Option<String>,
        /// The LANs behind the client (replaces them; none for none)
        #[arg(long, value_name = "CIDR[,CIDR]|none")]
        route: Vec<String>,
        /// The client's DNS servers (none for none)
        #[arg(long, value_name = "ADDR[,ADDR]|none")]
        dns: Option<String>,
        /// The client's PersistentKeepalive (0 for none)
        #[arg(long, value_name = "SECONDS")]
        keepalive: Option<u16>,
        /// The client's MTU
        #[arg(long, value_name = "N")]
        mtu: Option<u32>,
        /// When it expires: a date, +N days/hours/weeks, or never
        #[arg(long, value_name = "DATE|+30d|never")]
        expires: Option<String>,
        /// Its note (empty to remove it)
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        /// Into this interface's `wgq p2p` mesh (# P2P = true in its block)
        #[arg(long, conflicts_with = "no_p2p")]
        p2p: bool,
        /// Out of the `wgq p2p` mesh
        #[arg(long)]
        no_p2p: bool,
        #[command(flatten)]
        edit: EditCli,
    },
    /// New keys (and PresharedKey) for a client, same addresses
    Rotate {
        #[command(flatten)]
        target: PeerTarget,
        #[arg(value_name = "NAME")]
        name: String,
        /// The client's new public key (a client that makes its own keys)
        #[arg(long, value_name = "KEY")]
        pubkey: Option<String>,
        /// Print the new client file as a QR code
        #[arg(long)]
        qr: bool,
        #[command(flatten)]
        edit: EditCli,
    },
    /// Disable the clients whose Expires date has passed (run by wgq-expire.timer)
    Expire {
        /// The server (every file of the config directory when absent)
        #[arg(value_name = IF_VALUE)]
        interface: Option<String>,
        #[command(flatten)]
        edit: EditCli,
    },
    /// Turn other tools' markers (wireguard-install, Nyr, PiVPN, wg-easy) into wgq's names
    Import {
        #[command(flatten)]
        target: PeerTarget,
        #[command(flatten)]
        edit: EditCli,
    },
}

impl EditCli {
    fn split(self, interface: String) -> (crate::commands::peer::Target, crate::commands::peer::EditOpts) {
        (
            crate::commands::peer::Target { interface, config_dir: self.config_dir },
            crate::commands::peer::EditOpts { dry_run: self.dry_run, no_apply: self.no_apply, force: self.force },
        )
    }
}

fn peer_command(c: PeerCommand) -> Command {
    use crate::commands::peer::{AddArgs, PeerCmd, SetArgs, Target};
    let cmd = match c {
        PeerCommand::Add {
            target,
            name,
            ip,
            allowed_ips,
            route,
            dns,
            keepalive,
            mtu,
            endpoint,
            expires,
            note,
            p2p,
            pubkey,
            no_psk,
            no_store,
            qr,
            edit,
        } => {
            let (target, opts) = edit.split(target.interface);
            let args = AddArgs {
                name,
                ip,
                allowed_ips,
                routes: route,
                dns,
                keepalive,
                mtu,
                endpoint,
                expires,
                note,
                p2p,
                pubkey,
                no_psk,
                no_store,
                qr,
            };
            PeerCmd::Add { target, opts, args }
        }
        PeerCommand::List { interface, json, config_dir } => PeerCmd::List {
            all: interface.is_none(),
            target: Target { interface: interface.unwrap_or_default(), config_dir },
            json,
        },
        PeerCommand::Show { target, name, qr, config_dir } => {
            PeerCmd::Show { target: Target { interface: target.interface, config_dir }, name, qr }
        }
        PeerCommand::Remove { target, names, edit } => {
            let (target, opts) = edit.split(target.interface);
            PeerCmd::Remove { target, opts, names }
        }
        PeerCommand::Disable { target, names, edit } => {
            let (target, opts) = edit.split(target.interface);
            PeerCmd::Disable { target, opts, names }
        }
        PeerCommand::Enable { target, names, edit } => {
            let (target, opts) = edit.split(target.interface);
            PeerCmd::Enable { target, opts, names }
        }
        PeerCommand::Rename { target, old, new, edit } => {
            let (target, opts) = edit.split(target.interface);
            PeerCmd::Rename { target, opts, old, new }
        }
        PeerCommand::Set { target, name, allowed_ips, route, dns, keepalive, mtu, expires, note, p2p, no_p2p, edit } => {
            let (target, opts) = edit.split(target.interface);
            let routes = if route.is_empty() { None } else { Some(route.into_iter().filter(|r| r != "none").collect()) };
            let p2p = if p2p {
                Some(true)
            } else if no_p2p {
                Some(false)
            } else {
                None
            };
            PeerCmd::Set { target, opts, name, args: SetArgs { allowed_ips, routes, dns, keepalive, mtu, expires, note, p2p } }
        }
        PeerCommand::Rotate { target, name, pubkey, qr, edit } => {
            let (target, opts) = edit.split(target.interface);
            PeerCmd::Rotate { target, opts, name, pubkey, qr }
        }
        PeerCommand::Expire { interface, edit } => {
            let all = interface.is_none();
            let (target, opts) = edit.split(interface.unwrap_or_default());
            PeerCmd::Expire { target, all, opts }
        }
        PeerCommand::Import { target, edit } => {
            let (target, opts) = edit.split(target.interface);
            PeerCmd::Import { target, opts }
        }
    };
    Command::Peer(Box::new(cmd))
}

fn server_command(c: ServerCommand) -> Command {
    let ServerCommand::Init(i) = c;
    Command::ServerInit(Box::new(crate::commands::server::InitArgs {
        interface: i.interface,
        config_dir: i.config_dir,
        address: i.address,
        port: i.port,
        endpoint: i.endpoint,
        out_dev: i.out_dev,
        no_nat: i.no_nat,
        nat: i.nat.map(|n| if n == "nft" { crate::commands::server::Nat::Nft } else { crate::commands::server::Nat::Iptables }),
        dns: i.dns,
        client_allowed_ips: i.client_allowed_ips,
        keepalive: i.keepalive,
        mtu: i.mtu,
        no_forwarding: i.no_forwarding,
        sysctl_dir: i.sysctl_dir,
        force: i.force,
        dry_run: i.dry_run,
    }))
}

#[derive(Debug, clap::Args)]
struct Target {
    /// A file named INTERFACE.conf, or an interface name (its file is /etc/wireguard/INTERFACE.conf)
    #[arg(value_name = "CONFIG_FILE|INTERFACE")]
    target: String,
}

#[derive(Debug, clap::Args)]
struct DryRunTarget {
    /// Print the plan instead of applying it
    #[arg(long)]
    dry_run: bool,
    /// A file named INTERFACE.conf, or an interface name (its file is /etc/wireguard/INTERFACE.conf)
    #[arg(value_name = "CONFIG_FILE|INTERFACE")]
    target: String,
}

#[derive(Debug, clap::Args)]
struct UpCli {
    /// Print the plan instead of applying it
    #[arg(long)]
    dry_run: bool,
    /// Reject every packet that does not leave through the tunnel (full tunnels only); --kill-switch=strict keeps rejecting after down and after a crash, until `down --kill-switch=off'
    #[arg(
        long,
        value_name = "strict",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "normal",
        value_parser = ["normal", "strict"]
    )]
    kill_switch: Option<String>,
    /// With --kill-switch: let packets to the private and link-local ranges out too (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, fc00::/7, fe80::/10)
    #[arg(long, requires = "kill_switch")]
    allow_lan: bool,
    /// A file named INTERFACE.conf, or an interface name (its file is /etc/wireguard/INTERFACE.conf)
    #[arg(value_name = "CONFIG_FILE|INTERFACE")]
    target: String,
}

#[derive(Debug, clap::Args)]
struct DownCli {
    /// Print the plan instead of applying it
    #[arg(long)]
    dry_run: bool,
    /// --kill-switch=off also removes the interface's kill switch, a strict one included (also when the interface is already gone)
    #[arg(long, value_name = "off", require_equals = true, value_parser = ["off"])]
    kill_switch: Option<String>,
    /// A file named INTERFACE.conf, or an interface name (its file is /etc/wireguard/INTERFACE.conf)
    #[arg(value_name = "CONFIG_FILE|INTERFACE")]
    target: String,
}

/// wgq's grammar as a clap command (for the generated man page, completions and tests).
pub fn wgq_command() -> clap::Command {
    <WgqArgs as clap::CommandFactory>::command()
}

/// What a wgq command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Run a command.
    Run(Command),
    /// `wgq wg-quick ARGS...`: parse ARGS with [`parse_args`], as the `wg-quick` name does.
    WgQuick(Vec<OsString>),
    /// `wgq wg ARGS...`: run ARGS as wg(8) does (`frontend::wg::main`).
    Wg(Vec<OsString>),
    /// Print `text` instead of running anything (help, the version, a usage error) and
    /// exit with `status`: 0 for help and the version, 1 for every usage error (wg-quick's
    /// status; clap's own would be 2). Only the version goes to stdout.
    Print { text: String, stdout: bool, status: u8 },
}

/// Parses a command line of the `wgq` name (without the program name).
pub fn parse_wgq(args: &[OsString]) -> Invocation {
    // Before clap, so that wg-quick sees every argument as given (even `--`).
    if let Some((first, rest)) = args.split_first()
        && first == WG_QUICK_SUBCOMMAND
    {
        return Invocation::WgQuick(rest.to_vec());
    }
    if let Some((first, rest)) = args.split_first()
        && first == WG_SUBCOMMAND
    {
        return Invocation::Wg(rest.to_vec());
    }
    let parsed = <WgqArgs as clap::Parser>::try_parse_from(std::iter::once(OsString::from("wgq")).chain(args.iter().cloned()));
    let command = match parsed {
        Ok(a) => a.command,
        Err(e) => {
            use clap::error::ErrorKind;
            let (stdout, status) = match e.kind() {
                ErrorKind::DisplayHelp => (false, 0),
                ErrorKind::DisplayVersion => (true, 0),
                // Including DisplayHelpOnMissingArgumentOrSubcommand: `wgq` alone.
                _ => (false, 1),
            };
            return Invocation::Print { text: e.render().to_string(), stdout, status };
        }
    };
    Invocation::Run(match command {
        WgqCommand::Up(UpCli { dry_run, kill_switch, allow_lan, target }) => Command::Up {
            target,
            dry_run,
            kill_switch: kill_switch.map(|m| crate::plan::KillSwitch { strict: m == "strict", allow_lan }),
        },
        WgqCommand::Down(DownCli { dry_run, kill_switch, target }) => {
            Command::Down { target, dry_run, kill_switch_off: kill_switch.is_some() }
        }
        WgqCommand::Save(Target { target }) => Command::Save { target },
        WgqCommand::Strip(Target { target }) => Command::Strip { target },
        WgqCommand::Check(Target { target }) => Command::Check { target },
        WgqCommand::Reload(DryRunTarget { dry_run, target }) => Command::Reload { target, dry_run },
        WgqCommand::Reresolve { stale_after, dry_run, target } => {
            Command::Reresolve(crate::commands::reresolve::ReresolveArgs { target, stale_after, dry_run })
        }
        WgqCommand::Show { json, interface } => Command::Show { interface: interface.filter(|i| i != "all"), json },
        WgqCommand::Showconf { interface } => Command::Showconf { interface },
        WgqCommand::Genkey => Command::Genkey,
        WgqCommand::Genpsk => Command::Genpsk,
        WgqCommand::Pubkey => Command::Pubkey,
        WgqCommand::Version => Command::Version,
        WgqCommand::Server { command } => server_command(command),
        WgqCommand::Peer { command } => peer_command(command),
        WgqCommand::P2p { command } => {
            use crate::commands::p2p::P2pCmd;
            Command::P2p(match command {
                P2pCommand::Serve { port, target } => P2pCmd::Serve { target, port },
                P2pCommand::Connect { hub, target } => P2pCmd::Connect { target, hub },
                P2pCommand::Status { target } => P2pCmd::Status { target },
            })
        }
        WgqCommand::Qr { file } => Command::Qr { file: file.filter(|f| f != "-") },
        WgqCommand::WgQuick { args } => return Invocation::WgQuick(args),
        WgqCommand::Wg { args } => return Invocation::Wg(args),
    })
}

/// wg-quick's usage text (printed on stderr), for the `wg-quick` name. Its first line is
/// wg-quick's; the rest is wgq's own wording.
pub fn usage(program: &str) -> String {
    format!(
        "Usage: {program} [ up | down | save | strip ] [ CONFIG_FILE | INTERFACE ]\n\
         \n\
         \x20 CONFIG_FILE is a path to a file named after the interface with `.conf'\n\
         \x20 appended; INTERFACE is an interface name whose configuration is read\n\
         \x20 from /etc/wireguard/INTERFACE.conf. The file uses wg(8)'s format plus the\n\
         \x20 [Interface] keys Address, DNS, MTU, Table, PreUp, PostUp, PreDown,\n\
         \x20 PostDown and SaveConfig, which {program} handles itself.\n\
         \n\
         \x20 up creates and configures the interface, down removes it and everything\n\
         \x20 up added for it, save writes the running configuration back to the file,\n\
         \x20 and strip prints the file without those keys, as wg(8) reads it.\n\
         \n\
         See wgq(8) for more information. Exit status is 0 on success, 1 on a usage or\n\
         configuration error, otherwise the status of the step that failed.\n"
    )
}

/// A command line that does not fit the grammar: print usage, exit 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid arguments")]
pub struct UsageError;

/// Parses argv (without the program name) of the `wg-quick` name: exactly wg-quick's
/// grammar. `help`, `-h` or `--help` alone is [`Command::Help`]; otherwise one of its four
/// commands and exactly one more argument, taken as given (`up --dry-run` names a file
/// `--dry-run`, as in wg-quick). Anything else, wgq's own commands included, is a usage
/// error.
pub fn parse_args(args: &[OsString]) -> Result<Command, UsageError> {
    let args: Vec<&str> = args.iter().map(|a| a.to_str().ok_or(UsageError)).collect::<Result<_, _>>()?;
    let cmd = match args[..] {
        ["help" | "-h" | "--help"] => Command::Help,
        ["up", target] => Command::Up { target: target.into(), dry_run: false, kill_switch: None },
        ["down", target] => Command::Down { target: target.into(), dry_run: false, kill_switch_off: false },
        ["save", target] => Command::Save { target: target.into() },
        ["strip", target] => Command::Strip { target: target.into() },
        _ => return Err(UsageError),
    };
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Result<Command, UsageError> {
        parse_args(&v.iter().map(OsString::from).collect::<Vec<_>>())
    }

    fn wgq(v: &[&str]) -> Invocation {
        parse_wgq(&v.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn wg_quick_grammar() {
        let bad: &[&[&str]] = &[
            &[],
            &["UP", "wg0"],
            &["up"],
            &["up", "a", "b"],
            &["up", "--dry-run", "wg0"],
            &["help", "x"],
            &["--help", "x"],
            &["--version"],
            &["version"],
            &["check", "wg0"],
            &["reload", "wg0"],
            &["show"],
            &["show", "wg0"],
            &["showconf", "wg0"],
            &["genkey"],
            &["wg-quick", "up", "wg0"],
        ];
        for bad in bad {
            assert_eq!(p(bad), Err(UsageError), "{bad:?}");
        }
        for h in ["help", "-h", "--help"] {
            assert_eq!(p(&[h]), Ok(Command::Help));
        }
        assert_eq!(p(&["up", "wg0"]), Ok(Command::Up { target: "wg0".into(), dry_run: false, kill_switch: None }));
        assert_eq!(
            p(&["down", "/x/wg0.conf"]),
            Ok(Command::Down { target: "/x/wg0.conf".into(), dry_run: false, kill_switch_off: false })
        );
        assert_eq!(p(&["save", "wg0"]), Ok(Command::Save { target: "wg0".into() }));
        assert_eq!(p(&["strip", "wg0"]), Ok(Command::Strip { target: "wg0".into() }));
        // The second argument is taken as given, like wg-quick does.
        assert_eq!(p(&["up", "--dry-run"]), Ok(Command::Up { target: "--dry-run".into(), dry_run: false, kill_switch: None }));
        assert_eq!(p(&["strip", "--"]), Ok(Command::Strip { target: "--".into() }));
    }

    #[test]
    fn wgq_grammar() {
        use Invocation::Run;
        assert_eq!(wgq(&["up", "wg0"]), Run(Command::Up { target: "wg0".into(), dry_run: false, kill_switch: None }));
        assert_eq!(wgq(&["up", "--dry-run", "wg0"]), Run(Command::Up { target: "wg0".into(), dry_run: true, kill_switch: None }));
        assert_eq!(
            wgq(&["down", "wg0", "--dry-run"]),
            Run(Command::Down { target: "wg0".into(), dry_run: true, kill_switch_off: false })
        );
        use crate::plan::KillSwitch;
        for (args, ks) in [
            (&["up", "--kill-switch", "wg0"][..], KillSwitch { strict: false, allow_lan: false }),
            (&["up", "--kill-switch=normal", "wg0"], KillSwitch { strict: false, allow_lan: false }),
            (&["up", "--kill-switch=strict", "--allow-lan", "wg0"], KillSwitch { strict: true, allow_lan: true }),
            (&["up", "wg0", "--allow-lan", "--kill-switch"], KillSwitch { strict: false, allow_lan: true }),
        ] {
            assert_eq!(wgq(args), Run(Command::Up { target: "wg0".into(), dry_run: false, kill_switch: Some(ks) }), "{args:?}");
        }
        assert_eq!(
            wgq(&["down", "--kill-switch=off", "wg0"]),
            Run(Command::Down { target: "wg0".into(), dry_run: false, kill_switch_off: true })
        );
        assert_eq!(wgq(&["reload", "--dry-run", "wg0"]), Run(Command::Reload { target: "wg0".into(), dry_run: true }));
        assert_eq!(wgq(&["save", "wg0"]), Run(Command::Save { target: "wg0".into() }));
        assert_eq!(wgq(&["strip", "wg0"]), Run(Command::Strip { target: "wg0".into() }));
        assert_eq!(wgq(&["check", "x/wg0.conf"]), Run(Command::Check { target: "x/wg0.conf".into() }));
        use crate::commands::reresolve::ReresolveArgs;
        assert_eq!(
            wgq(&["reresolve", "wg0"]),
            Run(Command::Reresolve(ReresolveArgs { target: "wg0".into(), stale_after: 135, dry_run: false }))
        );
        assert_eq!(
            wgq(&["reresolve", "--stale-after", "30", "--dry-run", "/x/wg0.conf"]),
            Run(Command::Reresolve(ReresolveArgs { target: "/x/wg0.conf".into(), stale_after: 30, dry_run: true }))
        );
        assert_eq!(wgq(&["show"]), Run(Command::Show { interface: None, json: false }));
        assert_eq!(wgq(&["show", "all", "--json"]), Run(Command::Show { interface: None, json: true }));
        assert_eq!(wgq(&["show", "wg0"]), Run(Command::Show { interface: Some("wg0".into()), json: false }));
        assert_eq!(wgq(&["showconf", "wg0"]), Run(Command::Showconf { interface: "wg0".into() }));
        assert_eq!(wgq(&["genkey"]), Run(Command::Genkey));
        assert_eq!(wgq(&["genpsk"]), Run(Command::Genpsk));
        assert_eq!(wgq(&["pubkey"]), Run(Command::Pubkey));
        assert_eq!(wgq(&["version"]), Run(Command::Version));
        // Everything after `wg-quick` goes to wg-quick's grammar untouched.
        let rest: Vec<OsString> = ["--", "up", "--help"].map(OsString::from).to_vec();
        assert_eq!(wgq(&["wg-quick", "--", "up", "--help"]), Invocation::WgQuick(rest));
        assert_eq!(wgq(&["wg-quick"]), Invocation::WgQuick(vec![]));
        let rest: Vec<OsString> = ["show", "--help"].map(OsString::from).to_vec();
        assert_eq!(wgq(&["wg", "show", "--help"]), Invocation::Wg(rest));
        assert_eq!(wgq(&["wg"]), Invocation::Wg(vec![]));
    }

    #[test]
    fn wgq_usage_errors_exit_1_help_and_version_0() {
        let status = |v: &[&str]| match wgq(v) {
            Invocation::Print { stdout, status, .. } => (stdout, status),
            other => panic!("{v:?}: {other:?}"),
        };
        let bad: &[&[&str]] = &[
            &[],
            &["UP", "wg0"],
            &["up"],
            &["up", "a", "b"],
            &["up", "--bogus", "wg0"],
            &["strip", "--dry-run", "wg0"],
            &["check", "--dry-run", "wg0"],
            &["show", "a", "b"],
            &["show", "--dry-run"],
            &["up", "--json", "wg0"],
            &["showconf"],
            &["genkey", "x"],
            &["pubkey", "--json"],
            &["help", "bogus"],
            &["reresolve"],
            &["reresolve", "--stale-after", "x", "wg0"],
            &["up", "--kill-switch=on", "wg0"],
            &["up", "--kill-switch=strct", "wg0"],
            &["up", "--allow-lan", "wg0"],
            &["down", "--kill-switch", "wg0"],
            &["down", "--kill-switch=strict", "wg0"],
            &["reload", "--kill-switch", "wg0"],
        ];
        for v in bad {
            assert_eq!(status(v), (false, 1), "{v:?}");
        }
        for v in [&["--help"][..], &["-h"], &["help"], &["help", "up"], &["up", "--help"], &["show", "-h"]] {
            assert_eq!(status(v), (false, 0), "{v:?}");
        }
        for v in [&["--version"][..], &["-V"]] {
            assert_eq!(status(v), (true, 0), "{v:?}");
        }
        let Invocation::Print { text, .. } = wgq(&["--version"]) else { unreachable!() };
        assert_eq!(text, format!("wgq {}\n", env!("CARGO_PKG_VERSION")));
        let Invocation::Print { text, .. } = wgq(&[]) else { unreachable!() };
        assert!(text.contains("Usage: wgq <COMMAND>") && text.contains("genkey"), "{text}");
    }

    #[test]
    fn personality_is_the_file_name_of_argv0() {
        for (argv0, p) in [
            ("wg-quick", Personality::WgQuick),
            ("/usr/bin/wg-quick", Personality::WgQuick),
            ("./wg-quick", Personality::WgQuick),
            ("wgq", Personality::Wgq),
            ("/usr/local/bin/wgq", Personality::Wgq),
            ("/usr/bin/wg-quick.bak", Personality::Wgq),
            ("/opt/wg-quick/wgq", Personality::Wgq),
            ("wg", Personality::Wg),
            ("/usr/bin/wg", Personality::Wg),
            ("/usr/bin/wg.real", Personality::Wgq),
            ("", Personality::Wgq),
        ] {
            assert_eq!(Personality::from_argv0(OsStr::new(argv0)), p, "{argv0}");
        }
        assert_eq!(Personality::WgQuick.program(), "wg-quick");
    }

    #[test]
    fn clap_command_is_consistent() {
        wgq_command().debug_assert();
    }

    #[test]
    fn usage_first_line_is_wg_quicks() {
        let u = usage("wg-quick");
        assert!(u.starts_with("Usage: wg-quick [ up | down | save | strip ] [ CONFIG_FILE | INTERFACE ]\n"));
        for wgq_only in ["check", "reload", "show", "genkey", "dry-run"] {
            assert!(!u.contains(wgq_only), "wg-quick's usage mentions {wgq_only}");
        }
    }
}
