//! `set`: a client's settings — its addresses (`--ip`), the LANs behind it, its expiry and
//! note in the server file; AllowedIPs, DNS, keepalive, MTU and Address in its client file.

use super::util::{self, client_shown};
use super::{EditOpts, Edited, Host, Note, Outcome, ProvisionError, Server, edit, spec};
use crate::config::edit::Section;
use crate::config::values::NetList;
use crate::plan::peer::PeerChange;

/// What to change (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct SetRequest<'a> {
    pub name: &'a str,
    /// The client's addresses: one per family, each free and inside one of the server's pools.
    pub ip: Option<&'a str>,
    pub allowed_ips: Option<&'a str>,
    /// The LANs behind the client (an empty list: none).
    pub routes: Option<&'a [String]>,
    pub dns: Option<&'a str>,
    pub keepalive: Option<u16>,
    pub mtu: Option<u32>,
    /// A date, `+N` with `h`, `d` or `w`, or `never`.
    pub expires: Option<&'a str>,
    /// Empty: removed.
    pub note: Option<&'a str>,
    /// `# DisplayName =` (empty: removed).
    pub display_name: Option<&'a str>,
}

/// Changes a client's settings.
pub fn set(host: &Host, server: Server, opts: &EditOpts, a: &SetRequest<'_>) -> Result<Edited, ProvisionError> {
    edit(host, server, opts, |c| {
        let p = c.find(a.name)?;
        // Every value is parsed before anything is made of them.
        let allowed = a.allowed_ips.map(|v| util::net_list("--allowed-ips", v)).transpose()?;
        let dns = a.dns.map(|v| util::dns_list("--dns", v)).transpose()?;
        let used = util::used(c, Some(p.block));
        let ips = a.ip.map(|v| util::given_ips(c, v, &used, true)).transpose()?;
        if ips.as_ref().is_some_and(|v| v.is_empty()) {
            return Err(ProvisionError::NoAddress { option: "--ip" });
        }
        let b = c.block(p);
        let original: Vec<Vec<u8>> = c.doc.block_lines(b).iter().map(|l| l.to_vec()).collect();
        let mut lines = original.clone();
        let mut set_server = |key: &str, value: Option<&str>| lines = util::set_lines(&lines, key, value);
        let mut after = p.clone();
        let mut notes = Vec::new();
        let new_addresses = ips.as_ref().map(|v| v.iter().map(|&a| util::host_net(a)).collect::<Vec<_>>());
        if a.routes.is_some() || new_addresses.is_some() {
            let (addresses, routes) = util::addresses_and_routes(c, p);
            let routes = match a.routes {
                Some(r) => util::parse_routes(c, r, &used)?,
                None => routes,
            };
            let mut all = new_addresses.clone().unwrap_or(addresses);
            all.extend(routes);
            let text: Vec<String> = all.iter().map(|n| n.to_string()).collect();
            set_server("AllowedIPs", Some(&text.join(", ")));
            after.allowed_ips = all;
        }
        if let Some(e) = a.expires {
            let v = if e == "never" { None } else { Some(util::expires(e, c.now)?) };
            set_server("Expires", v.as_deref());
        }
        if let Some(n) = a.note {
            if n.is_empty() {
                set_server("Note", None);
            } else {
                set_server("Note", Some(util::note(n)?));
            }
        }
        if let Some(n) = a.display_name {
            if n.is_empty() {
                set_server("DisplayName", None);
            } else {
                set_server("DisplayName", Some(util::display_name(n)?));
            }
        }
        let mut out = Outcome::default();
        if lines != original {
            out.edits.push(c.doc.replace(b, &lines));
        }
        let pname = p.name.clone().unwrap_or_else(|| a.name.to_string());
        let client_side = a.allowed_ips.is_some() || a.dns.is_some() || a.keepalive.is_some() || a.mtu.is_some();
        let stored = c.client_file(&pname);
        if client_side && stored.is_none() {
            return Err(ProvisionError::NoClientFileToChange { name: pname, dir: c.server.clients.clone() });
        }
        if let Some(mut bytes) = stored.filter(|_| client_side || new_addresses.is_some()) {
            if let Some(v) = &new_addresses {
                bytes = util::set_in_client(&bytes, Section::Interface, "Address", Some(&NetList(v.clone()).to_string()))?;
            }
            if let Some(v) = &allowed {
                bytes = util::set_in_client(&bytes, Section::Peer, "AllowedIPs", Some(&v.to_string()))?;
            }
            if let Some(v) = &dns {
                bytes = util::set_in_client(&bytes, Section::Interface, "DNS", v.as_ref().map(|d| d.to_string()).as_deref())?;
            }
            if let Some(k) = a.keepalive {
                bytes = util::set_in_client(
                    &bytes,
                    Section::Peer,
                    "PersistentKeepalive",
                    (k != 0).then(|| k.to_string()).as_deref(),
                )?;
            }
            if let Some(m) = a.mtu {
                bytes = util::set_in_client(&bytes, Section::Interface, "MTU", Some(&m.to_string()))?;
            }
            util::check_client(&String::from_utf8_lossy(&bytes), &pname)?;
            notes.push(Note::ClientChanged(client_shown(c, &pname)));
            out.clients.push((pname.clone(), Some(bytes)));
        } else if let Some(v) = &new_addresses {
            notes.push(Note::AddressNoClientFile { name: pname, addresses: NetList(v.clone()).to_string() });
        }
        out.changes.push(PeerChange { before: spec(p), after: spec(&after) });
        out.notes.extend(notes);
        Ok(out)
    })
}
