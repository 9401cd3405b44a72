//! `wg showconf` output for a device state.

use std::fmt::Write as _;

use super::DeviceState;

/// Exactly what `wg showconf` prints (addresses and endpoints in glibc's text, as wg writes
/// them: inet_ntop, numeric getnameinfo with the scope's interface name).
pub fn showconf(d: &DeviceState) -> String {
    use crate::os::glibc;
    let mut s = String::from("[Interface]\n");
    if d.listen_port != 0 {
        let _ = writeln!(s, "ListenPort = {}", d.listen_port);
    }
    if d.fwmark != 0 {
        let _ = writeln!(s, "FwMark = 0x{:x}", d.fwmark);
    }
    if let Some(k) = &d.private_key {
        let _ = writeln!(s, "PrivateKey = {}", k.to_base64());
    }
    s.push('\n');
    for (i, p) in d.peers.iter().enumerate() {
        let _ = writeln!(s, "[Peer]\nPublicKey = {}", p.public_key.to_base64());
        if let Some(k) = &p.preshared_key {
            let _ = writeln!(s, "PresharedKey = {}", k.to_base64());
        }
        if !p.allowed_ips.is_empty() {
            let v: Vec<String> = p.allowed_ips.iter().map(|a| format!("{}/{}", glibc::ntop(&a.addr), a.prefix)).collect();
            let _ = writeln!(s, "AllowedIPs = {}", v.join(", "));
        }
        if let Some(e) = &p.endpoint {
            let _ = writeln!(s, "Endpoint = {}", glibc::endpoint(e));
        }
        if p.persistent_keepalive != 0 {
            let _ = writeln!(s, "PersistentKeepalive = {}", p.persistent_keepalive);
        }
        if i + 1 < d.peers.len() {
            s.push('\n');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::PeerState;
    use crate::key::Key;
    use crate::net::IpNet;

    #[test]
    fn layout() {
        let d = DeviceState {
            listen_port: 35634,
            fwmark: 0x1234,
            private_key: Some(crate::key::SecretKey::from_bytes([1; 32])),
            peers: vec![
                PeerState {
                    public_key: Key([2; 32]),
                    preshared_key: Some(crate::key::SecretKey::from_bytes([3; 32])),
                    allowed_ips: vec![IpNet::parse("10.0.0.0/8").unwrap(), IpNet::parse("fd00::/64").unwrap()],
                    endpoint: Some("[2001:db8::1]:51820".parse().unwrap()),
                    persistent_keepalive: 25,
                    ..Default::default()
                },
                PeerState { public_key: Key([4; 32]), ..Default::default() },
            ],
            ..Default::default()
        };
        assert_eq!(
            showconf(&d),
            format!(
                "[Interface]\nListenPort = 35634\nFwMark = 0x1234\nPrivateKey = {}\n\n[Peer]\nPublicKey = {}\nPresharedKey = {}\n\
                 AllowedIPs = 10.0.0.0/8, fd00::/64\nEndpoint = [2001:db8::1]:51820\nPersistentKeepalive = 25\n\n[Peer]\nPublicKey = {}\n",
                Key([1; 32]).to_base64(),
                Key([2; 32]).to_base64(),
                Key([3; 32]).to_base64(),
                Key([4; 32]).to_base64()
            )
        );
        // No peers: wg ends with the blank line after [Interface]; IPv4-compatible IPv6
        // text as glibc writes it.
        let lone = DeviceState { listen_port: 1, ..Default::default() };
        assert_eq!(showconf(&lone), "[Interface]\nListenPort = 1\n\n");
        let odd = DeviceState {
            peers: vec![PeerState {
                public_key: Key([2; 32]),
                allowed_ips: vec![IpNet::parse("::1:2/128").unwrap()],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(showconf(&odd).contains("AllowedIPs = ::0.1.0.2/128\n"), "{}", showconf(&odd));
    }
}
