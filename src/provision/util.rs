//! Helpers of the operations: client files, option values, addresses in use, block lines.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::{Ctx, ProvisionError};
use crate::config::edit::{self, Document};
use crate::config::peers::{self, PeerEntry};
use crate::config::values::{self, DnsList, NetList, split};
use crate::key::Key;
use crate::net::IpNet;
use crate::plan::alloc;

impl Ctx {
    /// The peer named `name` (or whose public key is `name`).
    pub(crate) fn find(&self, name: &str) -> Result<&PeerEntry, ProvisionError> {
        self.peers
            .iter()
            .find(|p| p.name.as_deref() == Some(name))
            .or_else(|| Key::from_base64(name).ok().and_then(|k| self.peers.iter().find(|p| p.public_key == Some(k))))
            .ok_or_else(|| ProvisionError::NoPeer { path: self.server.path.clone(), name: name.to_string() })
    }

    pub(crate) fn block(&self, p: &PeerEntry) -> &edit::Block {
        &self.doc.blocks[p.block]
    }

    /// The stored client file of a peer, if any.
    pub(crate) fn client_file(&self, name: &str) -> Option<Vec<u8>> {
        std::fs::read(client_path(self, name)?).ok()
    }

    pub(crate) fn check_new_name(&self, name: &str) -> Result<(), ProvisionError> {
        peers::check_name(name, &self.server.ifname)?;
        if self.peers.iter().any(|p| p.name.as_deref() == Some(name)) {
            return Err(ProvisionError::NameTaken { path: self.server.path.clone(), name: name.to_string() });
        }
        Ok(())
    }
}

/// Where the client file of `name` lives; `None` for a name that is not an interface name
/// (one read from a file written by hand or by another tool, such as `../../x`): it never
/// becomes a path outside the clients directory.
pub(crate) fn client_path(c: &Ctx, name: &str) -> Option<PathBuf> {
    crate::config::locate::is_interface_name(name).then(|| c.server.clients.join(format!("{name}.conf")))
}

/// [`client_path`] for messages.
pub(crate) fn client_shown(c: &Ctx, name: &str) -> String {
    client_path(c, name).map_or_else(|| format!("(none: {} is no file name)", peers::shown(name)), |p| p.display().to_string())
}

/// What [`write_clients`] replaced: each file's path and old content (`None`: it is new).
pub(crate) type Replaced = Vec<(PathBuf, Option<Vec<u8>>)>;

/// Writes the new client files (0600, in a 0700 directory); returns what they replaced.
/// On a failure, those already written are put back as they were.
pub(crate) fn write_clients(ctx: &Ctx, clients: &[(String, Option<Vec<u8>>)]) -> std::io::Result<Replaced> {
    let mut replaced = Vec::new();
    if clients.iter().any(|(_, c)| c.is_some()) {
        ensure_private_dir(&ctx.server.clients)?;
    }
    for (name, content) in clients {
        let Some(c) = content else { continue };
        let written = match client_path(ctx, name) {
            Some(p) => {
                let old = std::fs::read(&p).ok();
                crate::os::files::write_atomic(&p, c).map(|()| (p, old))
            }
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the peer name {} cannot name a client file", peers::shown(name)),
            )),
        };
        match written {
            Ok(w) => replaced.push(w),
            Err(e) => {
                restore_clients(&mut replaced);
                return Err(e);
            }
        }
    }
    Ok(replaced)
}

/// Puts back what [`write_clients`] replaced (the server file could not be written): old
/// contents rewritten, new files removed; the old contents (keys) wiped from memory.
pub(crate) fn restore_clients(replaced: &mut Replaced) {
    for (p, old) in replaced.iter().rev() {
        let _ = match old {
            Some(b) => crate::os::files::write_atomic(p, b),
            // A new file: the one written (a dangling link's target; the link stays).
            None => crate::os::files::resolve_links(p).and_then(std::fs::remove_file),
        };
    }
    forget_clients(replaced);
}

/// Wipes the old contents [`write_clients`] kept (they hold the clients' private keys).
pub(crate) fn forget_clients(replaced: &mut Replaced) {
    for (_, old) in replaced.iter_mut() {
        if let Some(b) = old {
            crate::key::wipe(b);
        }
    }
    replaced.clear();
}

/// Creates `dir` and its parent `clients/` with mode 0700.
fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    for d in [Some(dir), dir.parent()].into_iter().flatten() {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// An option's list of addresses with prefix lengths, each parsed (the option named when one is not).
pub(crate) fn parse_nets(option: &'static str, v: &str) -> Result<Vec<IpNet>, ProvisionError> {
    if v.len() > values::MAX_VALUE {
        return Err(ProvisionError::TooLong { option, max: values::MAX_VALUE });
    }
    split(v).map(|s| IpNet::parse(s).map_err(|error| ProvisionError::Net { option, item: s.to_string(), error })).collect()
}

/// A client-side list option (`--allowed-ips`): parsed, at least one entry.
pub(crate) fn net_list(option: &'static str, v: &str) -> Result<NetList, ProvisionError> {
    let l = parse_nets(option, v)?;
    if l.is_empty() {
        return Err(ProvisionError::NoAddress { option });
    }
    Ok(NetList(l))
}

/// `--dns` (`none`: no DNS line).
pub(crate) fn dns_list(option: &'static str, v: &str) -> Result<Option<DnsList>, ProvisionError> {
    if v == "none" {
        return Ok(None);
    }
    DnsList::parse(v).map(Some).map_err(|error| ProvisionError::Value { option, error })
}

/// `--note`: one line of printable text, bounded.
pub(crate) fn note(v: &str) -> Result<&str, ProvisionError> {
    values::note(v).map_err(|error| ProvisionError::Value { option: "--note", error })
}

/// A display name (`# DisplayName =`).
pub(crate) fn display_name(v: &str) -> Result<&str, ProvisionError> {
    values::display_name(v).map_err(|error| ProvisionError::Value { option: "display name", error })
}

/// `--expires` as the text of `# Expires =`.
pub(crate) fn expires(v: &str, now: i64) -> Result<String, ProvisionError> {
    peers::parse_expires(v, now).map_err(|_| ProvisionError::Expires(v.to_string()))
}

/// `--pubkey`.
pub(crate) fn pubkey(v: &str) -> Result<Key, ProvisionError> {
    Key::from_base64(v).map_err(|_| ProvisionError::BadKey { option: "--pubkey" })
}

/// `--ip`: host addresses (no prefix length), at most one per family, each free (`used`);
/// with `in_pool`, inside one of the server's pools.
pub(crate) fn given_ips(c: &Ctx, list: &str, used: &alloc::Used, in_pool: bool) -> Result<Vec<IpAddr>, ProvisionError> {
    if list.len() > values::MAX_VALUE {
        return Err(ProvisionError::TooLong { option: "--ip", max: values::MAX_VALUE });
    }
    let mut v: Vec<IpAddr> = Vec::new();
    for s in split(list) {
        let n = IpNet::parse(s).map_err(|error| ProvisionError::NetItem { option: "--ip", item: s.to_string(), error })?;
        if n.prefix != n.max_prefix() {
            return Err(ProvisionError::IpPrefix(s.to_string()));
        }
        if in_pool {
            if !c.info.addresses.iter().any(|p| p.network().contains(&n)) {
                return Err(ProvisionError::IpOutsidePool(n.addr));
            }
            if v.iter().any(|a| a.is_ipv6() == n.addr.is_ipv6()) {
                return Err(ProvisionError::IpTwice);
            }
        }
        alloc::check_given(used, &c.info.addresses, n.addr).map_err(ProvisionError::IpAlloc)?;
        v.push(n.addr);
    }
    Ok(v)
}

/// The server-side routes of `--route` (LANs behind the client): no `/0`, nothing that
/// overlaps an address in use or a pool.
pub(crate) fn parse_routes(c: &Ctx, routes: &[String], used: &alloc::Used) -> Result<Vec<IpNet>, ProvisionError> {
    let mut out = Vec::new();
    for r in routes {
        for n in parse_nets("--route", r)? {
            let n = n.network();
            if n.is_default() {
                return Err(ProvisionError::RouteDefault(n));
            }
            if let Some(p) = c.info.addresses.iter().find(|p| p.network().contains(&n) || n.contains(&p.network())) {
                return Err(ProvisionError::RouteOverlapsPool { route: n, pool: p.network() });
            }
            if used.contains(n.addr) {
                return Err(ProvisionError::RouteTaken(n));
            }
            out.push(n);
        }
    }
    Ok(out)
}

/// Every address in use: the server's own and every peer's AllowedIPs, disabled ones too.
pub(crate) fn used(c: &Ctx, except: Option<usize>) -> alloc::Used {
    let mut nets: Vec<IpNet> = c.info.addresses.iter().map(|a| IpNet::new(a.addr, a.max_prefix())).collect();
    for p in c.peers.iter().filter(|p| Some(p.block) != except) {
        nets.extend(p.allowed_ips.iter().map(|a| a.network()));
    }
    alloc::Used::new(&nets)
}

pub(crate) fn host_net(a: IpAddr) -> IpNet {
    IpNet::new(a, if a.is_ipv6() { 128 } else { 32 })
}

/// Splits a peer's AllowedIPs into its addresses and its routes. Its addresses are the
/// host entries (/32, /128) that `peer add` writes first (given with `--ip`, they may lie
/// outside every pool), and any other host entry inside a pool; the rest are routes.
pub(crate) fn addresses_and_routes(c: &Ctx, p: &PeerEntry) -> (Vec<IpNet>, Vec<IpNet>) {
    let host = |a: &IpNet| a.prefix == a.max_prefix();
    let leading = p.allowed_ips.iter().take_while(|a| host(a)).count();
    let mut addresses = Vec::new();
    let mut routes = Vec::new();
    for (i, a) in p.allowed_ips.iter().enumerate() {
        if i < leading || (host(a) && c.info.addresses.iter().any(|pool| pool.network().contains(a))) {
            addresses.push(*a);
        } else {
            routes.push(*a);
        }
    }
    (addresses, routes)
}

/// The endpoint clients use: `--endpoint`, else `# ClientEndpoint`; a host without a port
/// gets the server's ListenPort.
pub(crate) fn client_endpoint(c: &Ctx, given: Option<&str>) -> Result<String, ProvisionError> {
    let e = given
        .map(str::to_string)
        .or_else(|| c.info.endpoint.clone())
        .ok_or_else(|| ProvisionError::NoEndpoint(c.server.path.clone()))?;
    let path = given.is_none().then(|| c.server.path.clone());
    if (e.starts_with('[') || !e.contains("::"))
        && let Ok(ep) = values::endpoint(&e)
    {
        return Ok(ep.to_string());
    }
    let port = c.info.listen_port.ok_or_else(|| ProvisionError::NoPort { path: path.clone(), value: e.clone() })?;
    values::endpoint_with_default(&e, port).map(|e| e.to_string()).map_err(|error| ProvisionError::Endpoint { path, error })
}

/// A client default of the server file (`# ClientDNS`, `# ClientAllowedIPs`), written by
/// hand perhaps: parsed like the options, the file and its key named when refused.
pub(crate) fn file_default<T>(
    c: &Ctx,
    key: &'static str,
    v: &str,
    parse: impl FnOnce(&str) -> Result<T, values::ValueError>,
) -> Result<T, ProvisionError> {
    parse(v).map_err(|error| ProvisionError::FileDefault { path: c.server.path.clone(), key, value: v.to_string(), error })
}

/// Checks a client file's text the way `wgq up` on the client will read it.
pub(crate) fn check_client(text: &str, name: &str) -> Result<(), ProvisionError> {
    crate::config::parse(text.as_bytes(), Path::new(&format!("{name}.conf"))).map(|_| ()).map_err(ProvisionError::InvalidClient)
}

/// `bytes` (a client file) with `key` set in its first block of `section`.
pub(crate) fn set_in_client(
    bytes: &[u8],
    section: edit::Section,
    key: &str,
    value: Option<&str>,
) -> Result<Vec<u8>, ProvisionError> {
    let d = Document::parse(bytes.to_vec());
    match d.blocks.iter().find(|b| b.section == section && !b.disabled) {
        Some(b) => Ok(edit::apply(&d.text, &[d.replace(b, &peers::set_key(&d, b, key, value))])?),
        None => Ok(d.text.clone()),
    }
}

/// `bytes` (a client file) with its `PrivateKey` line replaced by the line saying that the
/// client holds its own key (`rotate --pubkey`).
pub(crate) fn own_key(bytes: &[u8]) -> Result<Vec<u8>, ProvisionError> {
    let d = Document::parse(bytes.to_vec());
    match d.blocks.iter().find(|b| b.section == edit::Section::Interface && !b.disabled) {
        Some(b) => Ok(edit::apply(&d.text, &[d.replace(b, &peers::own_key_lines(&d, b))])?),
        None => Ok(d.text.clone()),
    }
}

/// Block lines (enabled form) with `key` set, as [`peers::set_key`] does on a document.
pub(crate) fn set_lines(lines: &[Vec<u8>], key: &str, value: Option<&str>) -> Vec<Vec<u8>> {
    let text: Vec<u8> = lines.iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect();
    let d = Document::parse(text);
    let Some(b) = d.blocks.first().filter(|b| b.lines.start == 0) else { return lines.to_vec() };
    let mut out = peers::set_key(&d, b, key, value);
    out.extend(lines[b.lines.end..].iter().cloned());
    out
}

/// The peers `names` select (by name or public key), each once: a peer named twice, or
/// once by name and once by key, is one selection (two edits of one block would overlap).
pub(crate) fn select<'a>(c: &'a Ctx, names: &'a [String]) -> Result<Vec<(&'a PeerEntry, &'a String)>, ProvisionError> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for n in names {
        let p = c.find(n)?;
        if seen.insert(p.block) {
            out.push((p, n));
        }
    }
    Ok(out)
}
