//! How a provisioning operation fails: one typed enum (no free-text variant), whose
//! messages are the ones `wgq server` and `wgq peer` print.

use std::path::PathBuf;

use crate::config::values::{ValueError, clean, shown};
use crate::config::{ParseErrors, locate, peers::NameError};
use crate::net::IpNetError;
use crate::plan::alloc::AllocError;
use crate::plan::exec::ExecError;
use crate::plan::peer::PeerPlanError;
use crate::system::SystemError;
use crate::system::runstate::LockError;

/// What an I/O error was about (the message's context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoWhat {
    /// Making a key.
    Random,
    /// Reading random bytes (a random port or IPv6 prefix).
    RandomBytes,
    /// Identifying the network namespace (the run state's directory).
    Netns,
    /// Writing a client file (or putting one back).
    ClientFile,
    /// Writing a file (the server file, the forwarding drop-in).
    Write(PathBuf),
    /// Creating a directory.
    CreateDir(PathBuf),
    /// Writing a sysctl.
    Sysctl(&'static str),
}

impl std::fmt::Display for IoWhat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IoWhat::Random => f.write_str("Unable to generate a key"),
            IoWhat::RandomBytes => f.write_str("Unable to read random bytes"),
            IoWhat::Netns => f.write_str("Unable to identify the network namespace"),
            IoWhat::ClientFile => f.write_str("Unable to write a client file"),
            IoWhat::Write(p) => write!(f, "Could not write {}", p.display()),
            IoWhat::CreateDir(p) => write!(f, "Unable to create {}", p.display()),
            IoWhat::Sysctl(p) => write!(f, "sysctl: unable to write {p}"),
        }
    }
}

/// Why a provisioning operation failed; nothing was changed unless said otherwise (a live
/// apply that failed was rolled back).
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Locate(#[from] locate::LocateError),
    #[error("Unable to read `{}'", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}")]
    Io {
        what: IoWhat,
        #[source]
        source: std::io::Error,
    },
    /// The file has errors of its own (not of the edit's lines).
    #[error("{}", .0)]
    Parse(ParseErrors),
    #[error("the edit would leave an invalid file (nothing was changed):\n{0}")]
    InvalidEdit(ParseErrors),
    #[error("the client file would be invalid (nothing was changed):\n{0}")]
    InvalidClient(ParseErrors),
    #[error("the server file would be invalid:\n{0}")]
    InvalidServer(ParseErrors),
    #[error(transparent)]
    System(#[from] SystemError),
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("{0}")]
    PeerPlan(PeerPlanError),
    #[error("{0}")]
    Reload(crate::plan::ReloadError),
    /// A backup that cannot be made or restored (which client, which field).
    #[error("{0}")]
    Backup(super::restore::BackupError),
    #[error(transparent)]
    Overlap(#[from] crate::config::edit::Overlap),
    #[error(
        "{}: SaveConfig = true: `wgq down' and `wg-quick down' would rewrite this file from the running \
         device and drop every comment, every disabled peer and the peers' names; set SaveConfig = false \
         (or pass --force to edit it all the same)",
        .0.display()
    )]
    SaveConfig(PathBuf),
    #[error("{}: no peer named {}", path.display(), shown(name))]
    NoPeer { path: PathBuf, name: String },
    #[error(
        "{}: the renamed client file goes there (its old file is a link into that directory), but a file of that \
         name exists; move it away first",
        .0.display()
    )]
    LinkTargetTaken(PathBuf),
    #[error(
        "{}: {} names more than one peer block (the blocks at lines {}): nothing done; remove or rename the \
         copies by hand first",
        path.display(),
        shown(name),
        lines.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
    )]
    Ambiguous { path: PathBuf, name: String, lines: Vec<usize> },
    #[error("{}: a peer named `{name}' already exists", path.display())]
    NameTaken { path: PathBuf, name: String },
    #[error("{}", .0)]
    Name(#[from] NameError),
    #[error("{}: a peer with this public key already exists", .0.display())]
    KeyTaken(PathBuf),
    #[error("{option}: Key is not the correct length or format")]
    BadKey { option: &'static str },
    /// An option's value that does not parse.
    #[error("{option}: {error}")]
    Value { option: &'static str, error: ValueError },
    /// One item of an address list that does not parse.
    #[error("{option}: {}: {error}", shown(item))]
    Net { option: &'static str, item: String, error: IpNetError },
    #[error("{option} {}: {error}", shown(item))]
    NetItem { option: &'static str, item: String, error: IpNetError },
    #[error("{option}: no address")]
    NoAddress { option: &'static str },
    #[error("{option}: longer than {max} bytes")]
    TooLong { option: &'static str, max: usize },
    #[error("--ip {}: one address per family (no prefix length)", shown(.0))]
    IpPrefix(String),
    #[error("--ip: {0}")]
    IpAlloc(AllocError),
    #[error("--ip {0}: outside every Address pool of the server (a client's addresses come from its pools)")]
    IpOutsidePool(std::net::IpAddr),
    #[error("--ip: two addresses of one family")]
    IpTwice,
    #[error("{}: {error}", path.display())]
    Alloc { path: PathBuf, error: AllocError },
    #[error("{}: the server has no Address to allocate from; pass --ip", .0.display())]
    NoPool(PathBuf),
    #[error("--route {0}: a default route to one client would send all of this host's traffic there")]
    RouteDefault(crate::net::IpNet),
    #[error("--route {route} overlaps the address pool {pool}")]
    RouteOverlapsPool { route: crate::net::IpNet, pool: crate::net::IpNet },
    #[error("--route {0}: already routed to another peer")]
    RouteTaken(crate::net::IpNet),
    #[error("--expires: {} is neither a date (2027-03-01, 2027-03-01T12:00:00Z) nor +N followed by h, d or w", shown(.0))]
    Expires(String),
    #[error("{}: # {key} = {}: {error}", path.display(), clean(value))]
    FileDefault { path: PathBuf, key: &'static str, value: String, error: ValueError },
    #[error(
        "{}: no endpoint for clients: pass --endpoint HOST[:PORT] (or add `# ClientEndpoint = HOST:PORT' to \
         [Interface])",
        .0.display()
    )]
    NoEndpoint(PathBuf),
    /// `--endpoint` (`path: None`) or `# ClientEndpoint` without a port, and no ListenPort.
    #[error("{} {}: no port, and the server has no ListenPort", endpoint_what(path), clean(value))]
    NoPort { path: Option<PathBuf>, value: String },
    #[error("{}: {error}", endpoint_what(path))]
    Endpoint { path: Option<PathBuf>, error: ValueError },
    #[error("{}: [Interface] has no PrivateKey: clients need the server's public key", .0.display())]
    NoServerKey(PathBuf),
    #[error(
        "peer {} has no client file in {} (it was printed once, or the client has its own): \
         --allowed-ips, --dns, --keepalive and --mtu change the client's side",
        clean(name), dir.display()
    )]
    NoClientFileToChange { name: String, dir: PathBuf },
    #[error(
        "peer {}: no client file in {} (it was printed once when added, or the client made its own key)",
        clean(name), dir.display()
    )]
    NoClientFile { name: String, dir: PathBuf },
    #[error("peer {} holds its own private key: pass its new public key with --pubkey", clean(.0))]
    OwnKey(String),
    #[error("the peer name {} cannot name a client file", shown(.0))]
    NotAFileName(String),
    /// Making a QR code of a client file failed (the renderer's reason).
    #[error("{0}")]
    Qr(Box<dyn std::error::Error + Send + Sync>),
    #[error(
        "{}: an interface name is 1 to 15 characters among letters, digits and _ = + . -, not `.' or `..'",
        crate::config::peers::shown(.0)
    )]
    BadInterface(String),
    #[error(
        "{} exists; add clients with `wgq peer add {ifname} NAME', or pass --force to replace it (its peers and keys are lost)",
        path.display()
    )]
    ServerExists { path: PathBuf, ifname: String },
    #[error("--address {0}: give the server's own address in its pool, with the pool's prefix length (10.8.0.1/24)")]
    PoolAddress(crate::net::IpNet),
    #[error("--port: {} is neither a port (1-65535) nor `random'", shown(.0))]
    Port(String),
    #[error(
        "no default route with a source address: pass --endpoint HOST[:PORT], the name or address clients reach this host at"
    )]
    NoUplinkAddress,
    #[error("no default route to masquerade the clients' traffic through: pass --out-dev DEV, or --no-nat")]
    NoUplinkDevice,
    #[error("--out-dev {}: not an interface name", crate::config::peers::shown(.0))]
    OutDev(String),
    #[error("NAT needs nft or iptables, and neither is installed: install nftables, or pass --no-nat")]
    NoNatTool,
    #[error("`{0}': nft table names cannot hold `+' or `='; choose another name or --nat iptables")]
    NftName(String),
    /// A variable of the environment (wg-easy's `WG_*`) that does not parse.
    #[error("{name}={}: {why}", shown(value))]
    Env { name: &'static str, value: String, why: String },
    /// A wg-easy database that cannot be imported (nothing was written).
    #[error("{}: {why}", path.display())]
    Migrate { path: PathBuf, why: String },
}

fn endpoint_what(path: &Option<PathBuf>) -> String {
    match path {
        None => "--endpoint".into(),
        Some(p) => format!("{}: # ClientEndpoint", p.display()),
    }
}

impl ProvisionError {
    /// The exit status a command ends with.
    pub fn status(&self) -> i32 {
        match self {
            ProvisionError::Exec(e) => e.status(),
            ProvisionError::System(e) => e.status(),
            _ => 1,
        }
    }

    /// True when the message was already printed where it happened (a failed live apply's
    /// trace), so only the exit status is left.
    pub fn already_reported(&self) -> bool {
        matches!(self, ProvisionError::Exec(ExecError::Failed(_)))
    }

    pub(crate) fn random(source: std::io::Error) -> ProvisionError {
        ProvisionError::Io { what: IoWhat::Random, source }
    }
}
