//! `wgq save` (and SaveConfig on down): the saved file's layout (reference §5.1). The
//! write itself is `os::files::write_atomic`.

use std::fmt::Write as _;

/// The wg-quick part of a saved file, in the order it is written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaveHead {
    pub addresses: Vec<String>,
    pub dns: Vec<String>,
    pub mtu: Option<u32>,
    pub table: Option<String>,
    pub save_config: bool,
    pub pre_up: Vec<String>,
    pub post_up: Vec<String>,
    pub pre_down: Vec<String>,
    pub post_down: Vec<String>,
}

/// The saved file: the head, then `wg showconf` output without its first `[Interface]`
/// line; trailing newlines folded into one. `&` and every other character are written
/// literally (wg-quick under bash 5.2 corrupts hooks containing `&`).
pub fn render(head: &SaveHead, showconf: &str) -> String {
    let mut s = String::from("[Interface]\n");
    for a in &head.addresses {
        let _ = writeln!(s, "Address = {a}");
    }
    for d in &head.dns {
        let _ = writeln!(s, "DNS = {d}");
    }
    if let Some(m) = head.mtu {
        let _ = writeln!(s, "MTU = {m}");
    }
    if let Some(t) = &head.table {
        let _ = writeln!(s, "Table = {t}");
    }
    if head.save_config {
        s.push_str("SaveConfig = true\n");
    }
    for (k, v) in [("PreUp", &head.pre_up), ("PostUp", &head.post_up), ("PreDown", &head.pre_down), ("PostDown", &head.post_down)]
    {
        for h in v {
            let _ = writeln!(s, "{k} = {h}");
        }
    }
    let rest = showconf.strip_prefix("[Interface]\n").unwrap_or(showconf);
    s.push_str(rest);
    let trimmed = s.trim_end_matches('\n').len();
    s.truncate(trimmed);
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_of_the_reference() {
        let head = SaveHead {
            addresses: vec!["10.6.0.1/24".into()],
            dns: vec!["10.6.0.53".into()],
            mtu: Some(1280),
            table: Some("4321".into()),
            save_config: true,
            pre_up: vec!["echo preup %i && true".into()],
            post_up: vec!["echo postup".into()],
            pre_down: vec![],
            post_down: vec!["echo pd".into()],
        };
        let showconf = "[Interface]\nListenPort = 50583\nPrivateKey = K\n\n[Peer]\nPublicKey = P\nAllowedIPs = 10.6.0.0/24, 10.6.1.1/32\nEndpoint = 192.0.2.7:51820\n\n";
        assert_eq!(
            render(&head, showconf),
            "[Interface]\nAddress = 10.6.0.1/24\nDNS = 10.6.0.53\nMTU = 1280\nTable = 4321\nSaveConfig = true\n\
             PreUp = echo preup %i && true\nPostUp = echo postup\nPostDown = echo pd\nListenPort = 50583\nPrivateKey = K\n\n\
             [Peer]\nPublicKey = P\nAllowedIPs = 10.6.0.0/24, 10.6.1.1/32\nEndpoint = 192.0.2.7:51820\n"
        );
    }
}
