//! `remove`, `enable`, `disable` (of peers selected by name or public key), `rename` and
//! `import` (other tools' markers into names).

use super::util::{self, select};
use super::{EditOpts, Edited, Host, Note, Outcome, ProvisionError, Server, edit, spec};
use crate::config::edit::Section;
use crate::config::peers;
use crate::plan::peer::PeerChange;

/// Removes peers: their blocks and client files.
pub fn remove(host: &Host, server: Server, opts: &EditOpts, names: &[String]) -> Result<Edited, ProvisionError> {
    edit(host, server, opts, |c| {
        let mut out = Outcome::default();
        for (p, n) in select(c, names)? {
            out.edits.push(c.doc.remove(c.block(p)));
            out.changes.push(PeerChange { before: spec(p), after: None });
            let name = p.name.clone().unwrap_or_else(|| n.clone());
            if c.client_file(&name).is_some() {
                out.clients.push((name.clone(), None));
            }
            out.notes.push(Note::Removed(name));
        }
        Ok(out)
    })
}

/// Enables disabled peers.
pub fn enable(host: &Host, server: Server, opts: &EditOpts, names: &[String]) -> Result<Edited, ProvisionError> {
    toggle(host, server, opts, names, true)
}

/// Disables peers: every line of their blocks commented out.
pub fn disable(host: &Host, server: Server, opts: &EditOpts, names: &[String]) -> Result<Edited, ProvisionError> {
    toggle(host, server, opts, names, false)
}

fn toggle(host: &Host, server: Server, opts: &EditOpts, names: &[String], enable: bool) -> Result<Edited, ProvisionError> {
    edit(host, server, opts, |c| {
        let mut out = Outcome::default();
        for (p, n) in select(c, names)? {
            let name = p.name.clone().unwrap_or_else(|| n.clone());
            if p.disabled != enable {
                out.notes.push(Note::Already { name, enabled: enable });
                continue;
            }
            let b = c.block(p);
            if enable {
                if let Some(e) = p.expires.as_deref().and_then(peers::parse_time)
                    && e <= c.now
                {
                    out.notes.push(Note::ExpiredWarning {
                        name: name.clone(),
                        at: peers::format_time(e),
                        ifname: c.server.ifname.clone(),
                    });
                }
                out.edits.push(c.doc.enable(b));
                let mut now = p.clone();
                now.disabled = false;
                out.changes.push(PeerChange { before: None, after: spec(&now) });
            } else {
                out.edits.push(c.doc.disable(b));
                out.changes.push(PeerChange { before: spec(p), after: None });
            }
            out.notes.push(Note::Toggled { name, enabled: enable });
        }
        Ok(out)
    })
}

/// Renames a peer: its block's `# Name` and its client file.
pub fn rename(host: &Host, server: Server, opts: &EditOpts, old: &str, new: &str) -> Result<Edited, ProvisionError> {
    // Before the file is locked: a refused name makes nothing, not even the lock file.
    peers::check_name(new, &server.ifname)?;
    edit(host, server, opts, |c| {
        let p = c.find(old)?;
        c.check_new_name(new)?;
        let b = c.block(p);
        let mut out =
            Outcome { edits: vec![c.doc.replace(b, &peers::set_key(&c.doc, b, "Name", Some(new)))], ..Default::default() };
        if let Some(name) = &p.name
            && let Some(bytes) = c.client_file(name)
        {
            let renamed = util::set_in_client(&bytes, Section::Interface, "Name", Some(new))?;
            // A link (into the admin's store) stays a link: the new file beside the old
            // target, the new link to it; the old link and target go after the write.
            if let Some(link) = util::renamed_link(c, name, new)? {
                out.links.push((new.to_string(), link));
            }
            out.clients.push((new.to_string(), Some(renamed)));
            out.clients.push((name.clone(), None));
        }
        out.notes.push(Note::Renamed { old: old.to_string(), new: new.to_string() });
        Ok(out)
    })
}

/// Turns other tools' markers (wireguard-install, Nyr, PiVPN, wg-easy) into wgq's names.
pub fn import(host: &Host, server: Server, opts: &EditOpts) -> Result<Edited, ProvisionError> {
    edit(host, server, opts, |c| {
        let found = peers::import(&c.doc, &c.server.ifname);
        let mut out = Outcome { edits: found.edits, ..Default::default() };
        out.notes.extend(found.notes.into_iter().map(Note::Imported));
        if out.edits.is_empty() {
            out.notes.push(Note::NothingToImport);
        }
        Ok(out)
    })
}
