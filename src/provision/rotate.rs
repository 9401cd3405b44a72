//! `rotate`: new keys (and PresharedKey) for a client, same addresses.

use super::util::{self, client_shown};
use super::{EditOpts, Edited, Host, Note, Outcome, ProvisionError, QrRenderer, Server, edit, spec};
use crate::config::edit::{Document, Section};
use crate::config::peers;
use crate::key::SecretKey;
use crate::plan::peer::PeerChange;

/// What to rotate.
#[derive(Debug, Clone, Default)]
pub struct RotateRequest<'a> {
    pub name: &'a str,
    /// The client's new public key (a client that makes its own keys).
    pub pubkey: Option<&'a str>,
}

/// Gives a client new keys. A stored client file gets them; with `pubkey`, its private key
/// line is replaced by the line saying the key is the client's own (the old one no longer
/// matches the server). With `qr`, the new client file's QR code goes to stdout.
pub fn rotate(
    host: &Host,
    server: Server,
    opts: &EditOpts,
    r: &RotateRequest<'_>,
    qr: Option<QrRenderer<'_>>,
) -> Result<Edited, ProvisionError> {
    // Before the file is locked: a refused key makes nothing, not even the lock file.
    if let Some(k) = r.pubkey {
        util::pubkey(k)?;
    }
    edit(host, server, opts, |c| {
        let p = c.find(r.name)?;
        let pname = p.name.clone().unwrap_or_else(|| r.name.to_string());
        let stored = c.client_file(&pname);
        let holds_key = stored.as_ref().is_some_and(|b| {
            let d = Document::parse(b.clone());
            d.blocks.iter().any(|blk| {
                blk.section == Section::Interface
                    && d.block_lines(blk).iter().any(|l| {
                        std::str::from_utf8(l)
                            .is_ok_and(|t| !t.trim_start().starts_with('#') && t.to_ascii_lowercase().contains("privatekey"))
                    })
            })
        });
        let (private, public) = match r.pubkey {
            Some(k) => (None, util::pubkey(k)?),
            None if stored.is_some() && !holds_key => return Err(ProvisionError::OwnKey(pname)),
            None => {
                let sk = SecretKey::generate_private().map_err(ProvisionError::random)?;
                let pk = sk.public_key();
                (Some(sk), pk)
            }
        };
        let psk = SecretKey::generate_preshared().map_err(ProvisionError::random)?;
        let b = c.block(p);
        let lines = peers::set_key(&c.doc, b, "PublicKey", Some(&public.to_base64()));
        let lines = util::set_lines(&lines, "PresharedKey", Some(&psk.to_base64()));
        let mut after = p.clone();
        after.public_key = Some(public);
        after.preshared_key = Some(psk.clone());
        let mut out = Outcome {
            edits: vec![c.doc.replace(b, &lines)],
            changes: vec![PeerChange { before: spec(p), after: spec(&after) }],
            ..Default::default()
        };
        match stored {
            Some(bytes) => {
                let mut bytes = util::set_in_client(&bytes, Section::Peer, "PresharedKey", Some(&psk.to_base64()))?;
                match &private {
                    Some(k) => bytes = util::set_in_client(&bytes, Section::Interface, "PrivateKey", Some(&k.to_base64()))?,
                    // --pubkey: the client's new key is its own. The stored file is rewritten
                    // (not removed: its addresses, DNS and new PresharedKey are still the
                    // client's) with the old private key, which no longer matches the
                    // server, replaced by the line that says the key is the client's.
                    None if holds_key => bytes = util::own_key(&bytes)?,
                    None => {}
                }
                if let Some(render) = qr
                    && !opts.dry_run
                {
                    out.stdout.push_str(&render(&bytes).map_err(ProvisionError::Qr)?);
                }
                out.notes.push(Note::Rotated { name: pname.clone(), client: Some(client_shown(c, &pname)) });
                out.clients.push((pname, Some(bytes)));
            }
            None => out.notes.push(Note::Rotated { name: pname, client: None }),
        }
        Ok(out)
    })
}
