//! `add`: a new client — its addresses (the next free of each pool, or given), keys, its
//! block in the server file and its client file.

use std::net::IpAddr;

use super::util::{self, client_shown};
use super::{Ctx, EditOpts, Edited, Host, Note, Outcome, ProvisionError, QrRenderer, Server, edit};
use crate::config::peers::{self, ClientConfig, NewPeer};
use crate::config::values::{DnsList, NetList};
use crate::key::{Key, SecretKey};
use crate::net::IpNet;
use crate::plan::alloc;
use crate::plan::peer::{PeerChange, PeerSpec};

/// What to add. Values are the options' text, parsed (and refused, naming the option) here.
#[derive(Debug, Clone, Default)]
pub struct AddRequest<'a> {
    pub name: &'a str,
    /// `--ip`: its addresses instead of the next free ones.
    pub ip: Option<&'a str>,
    pub allowed_ips: Option<&'a str>,
    pub routes: &'a [String],
    pub dns: Option<&'a str>,
    pub keepalive: Option<u16>,
    pub mtu: Option<u32>,
    pub endpoint: Option<&'a str>,
    pub expires: Option<&'a str>,
    pub note: Option<&'a str>,
    /// `# DisplayName =` (the web page's name for people, when it is no file-safe name).
    pub display_name: Option<&'a str>,
    /// `--p2p`: in the interface's `wgq p2p` mesh (`# P2P = true` in its block).
    pub p2p: bool,
    /// The client made its own key: its public key.
    pub pubkey: Option<&'a str>,
    pub no_psk: bool,
    /// Print the client file once instead of keeping it.
    pub no_store: bool,
    /// The client's private key (an imported client keeps its own); a new one without.
    pub private_key: Option<&'a SecretKey>,
    /// The preshared key (an imported client keeps its own); a new one without (unless `no_psk`).
    pub preshared_key: Option<&'a SecretKey>,
    /// When the client was made (an imported client keeps its date), seconds since the epoch.
    pub created: Option<i64>,
}

/// What `add` made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    pub edited: Edited,
}

/// Adds a client (see [`AddRequest`]); with `qr`, the client file's QR code goes to the
/// result's stdout (not with `--dry-run`).
pub fn add(
    host: &Host,
    server: Server,
    opts: &EditOpts,
    a: &AddRequest<'_>,
    qr: Option<QrRenderer<'_>>,
) -> Result<Added, ProvisionError> {
    precheck(a, &server.ifname)?;
    let edited = edit(host, server, opts, |c| {
        c.check_new_name(a.name)?;
        let (private, public) = match (a.pubkey, a.private_key) {
            (Some(k), _) => (None, util::pubkey(k)?),
            (None, Some(sk)) => (Some(sk.clone()), sk.public_key()),
            (None, None) => {
                let sk = SecretKey::generate_private().map_err(ProvisionError::random)?;
                let pk = sk.public_key();
                (Some(sk), pk)
            }
        };
        if c.peers.iter().any(|p| p.public_key == Some(public)) {
            return Err(ProvisionError::KeyTaken(c.server.path.clone()));
        }
        let psk = match a.preshared_key {
            Some(k) => Some(k.clone()),
            None if a.no_psk => None,
            None => Some(SecretKey::generate_preshared().map_err(ProvisionError::random)?),
        };
        let used = util::used(c, None);
        let (v4, v6) = alloc::pools(&c.info.addresses);
        let addrs: Vec<IpAddr> = match a.ip {
            Some(list) => util::given_ips(c, list, &used, false)?,
            None => alloc::allocate(&used, v4.as_ref(), v6.as_ref())
                .map_err(|error| ProvisionError::Alloc { path: c.server.path.clone(), error })?,
        };
        if addrs.is_empty() {
            return Err(ProvisionError::NoPool(c.server.path.clone()));
        }
        let addresses: Vec<IpNet> = addrs.iter().map(|&a| util::host_net(a)).collect();
        let routes = util::parse_routes(c, a.routes, &used)?;
        let expires = a.expires.map(|e| util::expires(e, c.now)).transpose()?;
        let note = a.note.map(util::note).transpose()?.map(str::to_string);
        let display_name = a.display_name.map(util::display_name).transpose()?.map(str::to_string);
        let mut server_allowed = addresses.clone();
        server_allowed.extend(&routes);
        let block = NewPeer {
            name: a.name.to_string(),
            display_name,
            created: peers::format_time(a.created.unwrap_or(c.now)),
            expires,
            note,
            p2p: a.p2p,
            public_key: public,
            preshared_key: psk.clone(),
            allowed_ips: server_allowed.clone(),
        };
        let server_pub = c
            .info
            .private_key
            .as_ref()
            .map(|k| k.public_key())
            .ok_or_else(|| ProvisionError::NoServerKey(c.server.path.clone()))?;
        let text = client_text(c, a, private, addresses.clone(), psk.clone(), server_pub)?;
        util::check_client(&text, a.name)?;
        let mut out = Outcome {
            edits: vec![c.doc.append(&peers::peer_block(&block, c.doc.newline()))],
            changes: vec![PeerChange {
                before: None,
                after: Some(PeerSpec { public_key: public, preshared_key: psk, allowed_ips: server_allowed, keepalive: None }),
            }],
            ..Default::default()
        };
        if a.no_store {
            out.notes.push(Note::Added { name: a.name.to_string(), addresses: addrs, client: None });
            out.stdout.push_str(&text);
        } else {
            out.notes.push(Note::Added { name: a.name.to_string(), addresses: addrs, client: Some(client_shown(c, a.name)) });
            out.clients.push((a.name.to_string(), Some(text.clone().into_bytes())));
        }
        if a.pubkey.is_some() {
            out.notes.push(Note::OwnKey);
        }
        if let Some(render) = qr
            && !opts.dry_run
        {
            out.stdout.push_str(&render(text.as_bytes()).map_err(ProvisionError::Qr)?);
        }
        Ok(out)
    })?;
    Ok(Added { edited })
}

/// The client file of a new client: `a`'s values, else the server file's defaults
/// (`# Client… =`).
pub(crate) fn client_text(
    c: &Ctx,
    a: &AddRequest<'_>,
    private: Option<SecretKey>,
    addresses: Vec<IpNet>,
    psk: Option<SecretKey>,
    server_pub: Key,
) -> Result<String, ProvisionError> {
    let dns = match (a.dns, &c.info.dns) {
        (Some(d), _) => util::dns_list("--dns", d)?,
        (None, Some(d)) if d == "none" => None,
        (None, Some(d)) => Some(util::file_default(c, "ClientDNS", d, DnsList::parse)?),
        (None, None) => None,
    };
    let allowed_ips = match (a.allowed_ips, &c.info.allowed_ips) {
        (Some(v), _) => util::net_list("--allowed-ips", v)?,
        (None, Some(v)) => util::file_default(c, "ClientAllowedIPs", v, NetList::parse)?,
        (None, None) => NetList::parse("0.0.0.0/0, ::/0").expect("literal"),
    };
    let client = ClientConfig {
        name: a.name.to_string(),
        private_key: private,
        addresses,
        dns: dns.map(|d| d.to_string()),
        mtu: a.mtu.or(c.info.mtu),
        server_public_key: server_pub,
        preshared_key: psk,
        allowed_ips: allowed_ips.to_string(),
        endpoint: util::client_endpoint(c, a.endpoint)?,
        keepalive: Some(a.keepalive.or(c.info.keepalive).unwrap_or(25)),
    };
    Ok(peers::client_config(&client))
}

/// Every value of `a` that needs nothing of the file, checked before the file is locked:
/// a refused request makes nothing, not even the lock file.
fn precheck(a: &AddRequest<'_>, ifname: &str) -> Result<(), ProvisionError> {
    peers::check_name(a.name, ifname)?;
    if let Some(k) = a.pubkey {
        util::pubkey(k)?;
    }
    if let Some(ip) = a.ip {
        util::ip_syntax(ip)?;
    }
    util::route_syntax(a.routes)?;
    if let Some(d) = a.dns {
        util::dns_list("--dns", d)?;
    }
    if let Some(v) = a.allowed_ips {
        util::net_list("--allowed-ips", v)?;
    }
    if let Some(e) = a.expires {
        util::expires(e, super::now())?;
    }
    if let Some(n) = a.note {
        util::note(n)?;
    }
    if let Some(e) = a.endpoint {
        util::endpoint_syntax(e)?;
    }
    Ok(())
}
