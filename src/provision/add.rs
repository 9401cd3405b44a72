//! `add`: a new client — its addresses (the next free of each pool, or given), keys, its
//! block in the server file and its client file.

use std::net::IpAddr;

use super::util::{self, client_shown};
use super::{EditOpts, Edited, Host, Note, Outcome, ProvisionError, QrRenderer, Server, edit};
use crate::config::peers::{self, ClientConfig, NewPeer};
use crate::config::values::{DnsList, NetList};
use crate::key::SecretKey;
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
    /// The client made its own key: its public key.
    pub pubkey: Option<&'a str>,
    pub no_psk: bool,
    /// Print the client file once instead of keeping it.
    pub no_store: bool,
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
    let edited = edit(host, server, opts, |c| {
        c.check_new_name(a.name)?;
        let (private, public) = match a.pubkey {
            Some(k) => (None, util::pubkey(k)?),
            None => {
                let sk = SecretKey::generate_private().map_err(ProvisionError::random)?;
                let pk = sk.public_key();
                (Some(sk), pk)
            }
        };
        if c.peers.iter().any(|p| p.public_key == Some(public)) {
            return Err(ProvisionError::KeyTaken(c.server.path.clone()));
        }
        let psk = if a.no_psk { None } else { Some(SecretKey::generate_preshared().map_err(ProvisionError::random)?) };
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
            created: peers::format_time(c.now),
            expires,
            note,
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
            addresses: addresses.clone(),
            dns: dns.map(|d| d.to_string()),
            mtu: a.mtu.or(c.info.mtu),
            server_public_key: server_pub,
            preshared_key: psk.clone(),
            allowed_ips: allowed_ips.to_string(),
            endpoint: util::client_endpoint(c, a.endpoint)?,
            keepalive: Some(a.keepalive.or(c.info.keepalive).unwrap_or(25)),
        };
        let text = peers::client_config(&client);
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
