//! Routing decisions of wg-quick, as pure functions: route order, table names (of rt_tables
//! text the system layer reads), the automatic MTU.

use std::cmp::Ordering;

use crate::net::IpNet;

/// Orders allowed IPs the way wg-quick adds their routes: `LC_ALL=C sort -nr -k 2 -t /`
/// over the kernel's normalized text. That is: prefix length descending; ties broken by
/// comparing the whole text bytewise, descending (so `::/0` comes before `0.0.0.0/0`).
pub fn sort_allowed_ips(v: &[IpNet]) -> Vec<IpNet> {
    use std::io::Write as _;
    // All texts in one buffer and small fixed-size keys (prefix, text offset and length,
    // index): no allocation per entry, which matters at 40,000 allowed IPs.
    let mut text = Vec::with_capacity(v.len() * 16);
    let mut keyed: Vec<(u8, u32, u8, u32)> = Vec::with_capacity(v.len());
    for (i, n) in v.iter().enumerate() {
        let at = text.len();
        let _ = write!(text, "{n}");
        keyed.push((n.prefix, at as u32, (text.len() - at) as u8, i as u32));
    }
    let t = |k: &(u8, u32, u8, u32)| &text[k.1 as usize..k.1 as usize + k.2 as usize];
    keyed.sort_by(|a, b| match b.0.cmp(&a.0) {
        Ordering::Equal => t(b).cmp(t(a)),
        o => o,
    });
    keyed.into_iter().map(|k| v[k.3 as usize]).collect()
}

/// Parses rt_tables text: `<number> <name>` lines, `#` comments.
pub fn parse_rt_tables(text: &str) -> Vec<(u32, String)> {
    text.lines()
        .filter_map(|l| {
            let l = l.split('#').next().unwrap_or("");
            let mut it = l.split_whitespace();
            let id = it.next()?;
            let name = it.next()?;
            let id = if let Some(h) = id.strip_prefix("0x") { u32::from_str_radix(h, 16).ok()? } else { id.parse().ok()? };
            Some((id, name.to_string()))
        })
        .collect()
}

/// The table id of a name: the built-in names, then the rt_tables entries.
pub fn resolve_table(name: &str, tables: &[(u32, String)]) -> Option<u32> {
    match name {
        "main" => return Some(254),
        "local" => return Some(255),
        "default" => return Some(253),
        "unspec" => return Some(0),
        _ => {}
    }
    tables.iter().find(|(_, n)| n == name).map(|(i, _)| *i)
}

/// The automatic MTU (upstream wg-quick): the smallest MTU towards any endpoint, else the
/// MTU of the IPv4 default route, else 1500; minus 80 for WireGuard's overhead.
/// (The 2021 wg-quick took the largest endpoint MTU.)
pub fn auto_mtu(endpoint_mtus: &[u32], default_route_mtu: Option<u32>) -> u32 {
    let base = endpoint_mtus.iter().copied().filter(|&m| m > 0).min().or(default_route_mtu.filter(|&m| m > 0)).unwrap_or(1500);
    base.saturating_sub(80)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(v: &[&str]) -> Vec<IpNet> {
        v.iter().map(|s| IpNet::parse(s).unwrap()).collect()
    }

    #[test]
    fn order_of_the_reference() {
        let want = nets(&[
            "fd00::1/128",
            "fd00::/64",
            "2001:db8::/32",
            "1.2.3.4/32",
            "192.168.0.0/24",
            "10.0.0.0/24",
            "10.1.0.0/16",
            "9.0.0.0/8",
            "::/0",
            "0.0.0.0/0",
        ]);
        let mut shuffled = want.clone();
        shuffled.reverse();
        shuffled.swap(0, 3);
        assert_eq!(sort_allowed_ips(&shuffled), want);
        assert_eq!(sort_allowed_ips(&nets(&["0.0.0.0/1", "128.0.0.0/1"])), nets(&["128.0.0.0/1", "0.0.0.0/1"]));
    }

    #[test]
    fn tables() {
        let t = parse_rt_tables("# comment\n255\tlocal\n254 main\n100 vpn # x\n0x10 hex\nbad line\n");
        assert_eq!(resolve_table("vpn", &t), Some(100));
        assert_eq!(resolve_table("hex", &t), Some(16));
        assert_eq!(resolve_table("main", &[]), Some(254));
        assert_eq!(resolve_table("Off", &t), None);
    }

    #[test]
    fn mtu() {
        assert_eq!(auto_mtu(&[1400, 1460, 1300], Some(1500)), 1220);
        assert_eq!(auto_mtu(&[], Some(1460)), 1380);
        assert_eq!(auto_mtu(&[], None), 1420);
        assert_eq!(auto_mtu(&[65536], None), 65456);
    }
}
