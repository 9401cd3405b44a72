//! `configure`: the server's own settings changed in place — ListenPort, the hooks and the
//! defaults of client files (`# Client… =` comments) — as one lossless edit of the
//! `[Interface]` block: only the lines of the keys asked for change, the others (comments,
//! Address, PrivateKey, keys of other tools) stay byte for byte. `wgq container` calls it at
//! every start with what the environment says, as wg-easy reads its variables each time.

use super::{EditOpts, Edited, Host, Outcome, ProvisionError, Server, edit};
use crate::config::Endpoint;
use crate::config::edit::{Section, meta_comment};
use crate::config::values::{DnsList, Hook, NetList};

/// What to set. `None` leaves a key as it is; `Some` sets it (an empty list or `None`
/// inside removes it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerSettings {
    pub listen_port: Option<u16>,
    pub pre_up: Option<Vec<Hook>>,
    pub post_up: Option<Vec<Hook>>,
    pub pre_down: Option<Vec<Hook>>,
    pub post_down: Option<Vec<Hook>>,
    pub client_endpoint: Option<Endpoint>,
    pub client_dns: Option<Option<DnsList>>,
    pub client_allowed_ips: Option<NetList>,
    pub client_keepalive: Option<u16>,
    pub client_mtu: Option<Option<u32>>,
}

impl ServerSettings {
    /// `(key, is a comment key, the lines' values)` of every key to set.
    fn keys(&self) -> Vec<(&'static str, bool, Vec<String>)> {
        let mut v = Vec::new();
        let hooks = |h: &Vec<Hook>| h.iter().map(|h| h.to_string()).collect::<Vec<_>>();
        if let Some(e) = &self.client_endpoint {
            v.push(("ClientEndpoint", true, vec![e.to_string()]));
        }
        if let Some(d) = &self.client_dns {
            v.push(("ClientDNS", true, d.iter().map(|d| d.to_string()).collect()));
        }
        if let Some(a) = &self.client_allowed_ips {
            v.push(("ClientAllowedIPs", true, vec![a.to_string()]));
        }
        if let Some(k) = self.client_keepalive {
            v.push(("ClientKeepalive", true, vec![k.to_string()]));
        }
        if let Some(m) = self.client_mtu {
            v.push(("ClientMTU", true, m.iter().map(|m| m.to_string()).collect()));
        }
        if let Some(p) = self.listen_port {
            v.push(("ListenPort", false, vec![p.to_string()]));
        }
        for (k, h) in
            [("PreUp", &self.pre_up), ("PostUp", &self.post_up), ("PreDown", &self.pre_down), ("PostDown", &self.post_down)]
        {
            if let Some(h) = h {
                v.push((k, false, hooks(h)));
            }
        }
        v
    }
}

/// The key of a `Key = value` line that is no comment.
fn key_of(line: &[u8]) -> Option<String> {
    let t = line.iter().skip_while(|b| b.is_ascii_whitespace()).copied().collect::<Vec<u8>>();
    if t.first() == Some(&b'#') {
        return None;
    }
    let eq = t.iter().position(|&b| b == b'=')?;
    Some(String::from_utf8_lossy(&t[..eq]).trim().to_string())
}

/// `lines` (a block, its header first) with every line of `key` replaced by `values` (one
/// line each, where the first of them was; none removes them). A missing key goes after the
/// header and its comment keys (a comment key) or after the last key line (a key).
pub(crate) fn set_lines(lines: Vec<Vec<u8>>, key: &str, meta: bool, values: &[String]) -> Vec<Vec<u8>> {
    let new: Vec<Vec<u8>> =
        values.iter().map(|v| if meta { format!("# {key} = {v}") } else { format!("{key} = {v}") }.into_bytes()).collect();
    let is_key = |l: &[u8]| {
        if meta {
            meta_comment(l).is_some_and(|(k, _)| k.eq_ignore_ascii_case(key))
        } else {
            key_of(l).is_some_and(|k| k.eq_ignore_ascii_case(key))
        }
    };
    // Unchanged when the lines are already these values (their spacing kept).
    let old: Vec<&Vec<u8>> = lines.iter().filter(|l| is_key(l)).collect();
    let value_of = |l: &[u8]| -> String {
        let s = String::from_utf8_lossy(l);
        let s = if meta { s.trim_start().trim_start_matches('#').to_string() } else { s.to_string() };
        s.split_once('=').map(|(_, v)| v.trim().to_string()).unwrap_or_default()
    };
    if old.len() == values.len() && old.iter().zip(values).all(|(l, v)| value_of(l) == *v) {
        return lines;
    }
    let mut out = Vec::with_capacity(lines.len() + new.len());
    let mut placed = false;
    for l in lines {
        if is_key(&l) {
            if !placed {
                out.extend(new.iter().cloned());
                placed = true;
            }
            continue;
        }
        out.push(l);
    }
    if !placed {
        let at = if meta {
            1 + out.iter().skip(1).take_while(|l| meta_comment(l).is_some()).count()
        } else {
            out.iter().rposition(|l| key_of(l).is_some()).map_or(out.len(), |i| i + 1)
        };
        for (i, n) in new.into_iter().enumerate() {
            out.insert(at + i, n);
        }
    }
    out
}

/// Sets the server's settings (see the module's text). On a running interface nothing is
/// applied live: ListenPort and the hooks take effect at the next `up`.
pub fn configure(host: &Host, server: Server, opts: &EditOpts, s: &ServerSettings) -> Result<Edited, ProvisionError> {
    edit(host, server, opts, |c| {
        let Some(b) = c.doc.blocks.iter().find(|b| b.section == Section::Interface && !b.disabled) else {
            return Err(ProvisionError::NoServerKey(c.server.path.clone()));
        };
        let before: Vec<Vec<u8>> = c.doc.block_lines(b).into_iter().map(<[u8]>::to_vec).collect();
        let mut lines = before.clone();
        for (key, meta, values) in s.keys() {
            lines = set_lines(lines, key, meta, &values);
        }
        let mut out = Outcome::default();
        if lines != before {
            out.edits.push(c.doc.replace(b, &lines));
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(t: &str) -> Vec<Vec<u8>> {
        t.lines().map(|l| l.as_bytes().to_vec()).collect()
    }

    fn text(l: &[Vec<u8>]) -> String {
        l.iter().map(|l| String::from_utf8_lossy(l).into_owned() + "\n").collect()
    }

    #[test]
    fn keys_are_replaced_added_and_removed_in_place() {
        let b = lines(
            "[Interface]\n# ClientDNS = 1.1.1.1\n# keep me\nAddress = 10.8.0.1/24\nListenPort  =  51820\nPostUp = a\nPostUp = b\nPrivateKey = k",
        );
        // The same value, spacing aside: nothing changes.
        assert_eq!(set_lines(b.clone(), "ListenPort", false, &["51820".into()]), b);
        assert_eq!(set_lines(b.clone(), "ClientDNS", true, &["1.1.1.1".into()]), b);
        let t = text(&set_lines(b.clone(), "ListenPort", false, &["51821".into()]));
        assert!(t.contains("Address = 10.8.0.1/24\nListenPort = 51821\nPostUp = a\n"), "{t}");
        // Two lines become one, where the first was.
        let t = text(&set_lines(b.clone(), "PostUp", false, &["c".into()]));
        assert!(t.contains("ListenPort  =  51820\nPostUp = c\nPrivateKey = k\n"), "{t}");
        // Removed.
        let t = text(&set_lines(b.clone(), "PostUp", false, &[]));
        assert!(!t.contains("PostUp"), "{t}");
        let t = text(&set_lines(b.clone(), "ClientDNS", true, &[]));
        assert_eq!(
            t,
            "[Interface]\n# keep me\nAddress = 10.8.0.1/24\nListenPort  =  51820\nPostUp = a\nPostUp = b\nPrivateKey = k\n"
        );
        // Added: a comment key after the header's comment keys, a key after the last key.
        let t = text(&set_lines(b.clone(), "ClientMTU", true, &["1380".into()]));
        assert!(t.starts_with("[Interface]\n# ClientDNS = 1.1.1.1\n# ClientMTU = 1380\n# keep me\n"), "{t}");
        let t = text(&set_lines(b.clone(), "PreDown", false, &["x".into(), "y".into()]));
        assert!(t.ends_with("PrivateKey = k\nPreDown = x\nPreDown = y\n"), "{t}");
        // A commented-out key line is no key.
        let c = lines("[Interface]\n#ListenPort = 1\nListenPort = 2");
        assert_eq!(text(&set_lines(c, "ListenPort", false, &["3".into()])), "[Interface]\n#ListenPort = 1\nListenPort = 3\n");
    }
}
