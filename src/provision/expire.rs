//! `expire`: disable the peers whose `# Expires` date has passed (run by wgq-expire.timer).

use super::{EditOpts, Edited, Host, Note, Outcome, ProvisionError, Server, Target, edit, spec};
use crate::config::edit::Document;
use crate::config::peers::{self, PeerEntry};
use crate::plan::peer::PeerChange;

pub use super::list::targets as expire_targets;

/// A `# Expires` value that is no date (it would never expire).
pub fn bad_expiry(p: &PeerEntry) -> bool {
    p.expires.as_deref().is_some_and(|e| peers::parse_time(e).is_none())
}

/// What `expire` found in one server file.
#[derive(Debug)]
pub struct ExpireReport {
    pub ifname: String,
    /// Peers (enabled) whose `# Expires` is no date.
    pub bad: Vec<PeerEntry>,
    /// The edit of the due peers (`None`: none was due, nothing was locked or written).
    pub edited: Option<Result<Edited, ProvisionError>>,
}

/// Disables the due peers of one server file. A quick look without the lock first: most
/// runs of the timer find nothing to do.
pub fn expire(host: &Host, server: Server, opts: &EditOpts) -> Option<ExpireReport> {
    let bytes = std::fs::read(&server.path).ok()?;
    let now = super::now();
    let due = |p: &PeerEntry| !p.disabled && p.expires.as_deref().and_then(peers::parse_time).is_some_and(|e| e <= now);
    let found = peers::peers(&Document::parse(bytes));
    let bad: Vec<PeerEntry> = found.iter().filter(|p| !p.disabled && bad_expiry(p)).cloned().collect();
    let ifname = server.ifname.clone();
    if !found.iter().any(due) {
        return Some(ExpireReport { ifname, bad, edited: None });
    }
    // The edit reads the file again, by its path.
    let server = match (Target { interface: server.path.display().to_string(), config_dir: None }).locate() {
        Ok(s) => s,
        Err(e) => return Some(ExpireReport { ifname, bad, edited: Some(Err(e)) }),
    };
    let edited = edit(host, server, opts, |c| {
        let mut out = Outcome::default();
        for p in c.peers.iter().filter(|p| due(p)) {
            out.edits.push(c.doc.disable(c.block(p)));
            out.changes.push(PeerChange { before: spec(p), after: None });
            out.notes.push(Note::Expired {
                ifname: c.server.ifname.clone(),
                name: p.name.clone().unwrap_or_else(|| "(unnamed)".into()),
                at: p.expires.clone().unwrap_or_default(),
            });
        }
        Ok(out)
    });
    Some(ExpireReport { ifname, bad, edited: Some(edited) })
}
