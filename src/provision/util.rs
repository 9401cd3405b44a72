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
    /// The peer named `name` (or whose public key is `name`). More than one block matching
    /// (a copied block: the same `# Name` or the same key twice; a name one block carries
    /// and another block's key) is refused, naming the lines of the blocks: acting on the
    /// first alone would leave the others in effect (a removed key still allowed).
    pub(crate) fn find(&self, name: &str) -> Result<&PeerEntry, ProvisionError> {
        let key = Key::from_base64(name).ok();
        let matches: Vec<&PeerEntry> =
            self.peers.iter().filter(|p| p.name.as_deref() == Some(name) || (key.is_some() && p.public_key == key)).collect();
        match matches.as_slice() {
            [] => Err(ProvisionError::NoPeer { path: self.server.path.clone(), name: name.to_string() }),
            [p] => Ok(p),
            many => Err(ProvisionError::Ambiguous {
                path: self.server.path.clone(),
                name: name.to_string(),
                lines: many.iter().map(|p| p.line).collect(),
            }),
        }
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
/// The clients directory must end in `clients/IF` with IF one plain component, and the
/// file name must be one plain component too (never `.`, `..` or holding a `/`).
pub(crate) fn client_path(c: &Ctx, name: &str) -> Option<PathBuf> {
    use std::path::Component;
    let plain = |p: &Path| matches!(p.components().collect::<Vec<_>>().as_slice(), [Component::Normal(_)]);
    let dir = &c.server.clients;
    let ifname = dir.file_name()?.to_str()?;
    let ok_dir = crate::config::locate::is_interface_name(ifname)
        && dir.components().next_back().is_some_and(|x| matches!(x, Component::Normal(_)))
        && dir.parent().and_then(Path::file_name).is_some_and(|n| n == "clients");
    if !ok_dir || !crate::config::locate::is_interface_name(name) {
        return None;
    }
    let file = format!("{name}.conf");
    plain(Path::new(&file)).then(|| dir.join(file))
}

/// [`client_path`] for messages.
pub(crate) fn client_shown(c: &Ctx, name: &str) -> String {
    client_path(c, name).map_or_else(|| format!("(none: {} is no file name)", peers::shown(name)), |p| p.display().to_string())
}

/// Makes the client files `links` names as symbolic links (the clients directory made
/// first); returns the links made. A name already taken fails and undoes the links made.
pub(crate) fn make_links(ctx: &Ctx, links: &[(String, PathBuf)]) -> std::io::Result<Vec<PathBuf>> {
    let mut made = Vec::new();
    if !links.is_empty() {
        ensure_private_dir(&ctx.server.clients)?;
    }
    for (name, target) in links {
        let r = match client_path(ctx, name) {
            Some(p) => std::os::unix::fs::symlink(target, &p).map(|()| p),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the peer name {} cannot name a client file", peers::shown(name)),
            )),
        };
        match r {
            Ok(p) => made.push(p),
            Err(e) => {
                remove_links(&made);
                return Err(e);
            }
        }
    }
    Ok(made)
}

/// Removes the links [`make_links`] made (an edit that failed).
pub(crate) fn remove_links(links: &[PathBuf]) {
    for p in links {
        let _ = std::fs::remove_file(p);
    }
}

/// The link a renamed client file gets when the old one (`old`, in the clients directory)
/// is a symbolic link: the old link's text with its file name replaced by `NEW.conf` (the
/// new file goes beside the old target, in the admin's store, and the link keeps its
/// relative or absolute form). `Ok(None)`: the old file is no link. Refused when a file
/// of that name is already there (it may be another interface's client).
pub(crate) fn renamed_link(c: &Ctx, old: &str, new: &str) -> Result<Option<PathBuf>, ProvisionError> {
    let Some(p) = client_path(c, old) else { return Ok(None) };
    if !std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
        return Ok(None);
    }
    let text = std::fs::read_link(&p).map_err(|e| ProvisionError::Io { what: super::IoWhat::ClientFile, source: e })?;
    let link = text.with_file_name(format!("{new}.conf"));
    let there = match p.parent() {
        Some(dir) if link.is_relative() => dir.join(&link),
        _ => link.clone(),
    };
    if std::fs::symlink_metadata(&there).is_ok() {
        return Err(ProvisionError::LinkTargetTaken(there));
    }
    Ok(Some(link))
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
    let many = clients.iter().filter(|(_, c)| c.is_some()).count() > 1;
    if many {
        return write_many(ctx, clients);
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

/// [`write_clients`] of many files: written together ([`crate::os::files::write_atomic_all`]:
/// one flush for all instead of one per file).
fn write_many(ctx: &Ctx, clients: &[(String, Option<Vec<u8>>)]) -> std::io::Result<Replaced> {
    let mut paths = Vec::new();
    for (name, content) in clients {
        let Some(c) = content else { continue };
        let p = client_path(ctx, name).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the peer name {} cannot name a client file", peers::shown(name)),
            )
        })?;
        paths.push((p, c.as_slice()));
    }
    let mut replaced: Replaced = paths.iter().map(|(p, _)| (p.clone(), std::fs::read(p).ok())).collect();
    let files: Vec<(&Path, &[u8])> = paths.iter().map(|(p, c)| (p.as_path(), *c)).collect();
    match crate::os::files::write_atomic_all(&files) {
        Ok(()) => Ok(replaced),
        Err((n, e)) => {
            forget_clients(&mut replaced.split_off(n.min(replaced.len())));
            restore_clients(&mut replaced);
            Err(e)
        }
    }
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
    for n in ip_syntax(list)? {
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

/// `--ip` as text: host addresses without a prefix length (nothing of the file needed).
pub(crate) fn ip_syntax(list: &str) -> Result<Vec<IpNet>, ProvisionError> {
    if list.len() > values::MAX_VALUE {
        return Err(ProvisionError::TooLong { option: "--ip", max: values::MAX_VALUE });
    }
    split(list)
        .map(|s| {
            let n = IpNet::parse(s).map_err(|error| ProvisionError::NetItem { option: "--ip", item: s.to_string(), error })?;
            if n.prefix != n.max_prefix() {
                return Err(ProvisionError::IpPrefix(s.to_string()));
            }
            Ok(n)
        })
        .collect()
}

/// `--route` as text: prefixes, none a default route (nothing of the file needed).
pub(crate) fn route_syntax(routes: &[String]) -> Result<(), ProvisionError> {
    for r in routes {
        for n in parse_nets("--route", r)? {
            if n.network().is_default() {
                return Err(ProvisionError::RouteDefault(n.network()));
            }
        }
    }
    Ok(())
}

/// `--endpoint` as text: a host with an optional port (the port it lacks comes from the
/// file later; any stands in for it here).
pub(crate) fn endpoint_syntax(e: &str) -> Result<(), ProvisionError> {
    if (e.starts_with('[') || !e.contains("::")) && values::endpoint(e).is_ok() {
        return Ok(());
    }
    values::endpoint_with_default(e, 51820).map(|_| ()).map_err(|error| ProvisionError::Endpoint { path: None, error })
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
