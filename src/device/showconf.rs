//! `wg showconf` output for a device state.

use std::fmt::Write as _;
use std::net::SocketAddr;

use super::DeviceState;

/// Exactly what `wg showconf` prints.
pub fn showconf(d: &DeviceState) -> String {
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
    for p in &d.peers {
        let _ = writeln!(s, "\n[Peer]\nPublicKey = {}", p.public_key.to_base64());
        if let Some(k) = &p.preshared_key {
            let _ = writeln!(s, "PresharedKey = {}", k.to_base64());
        }
        if !p.allowed_ips.is_empty() {
            let ips: Vec<String> = p.allowed_ips.iter().map(|a| a.to_string()).collect();
            let _ = writeln!(s, "AllowedIPs = {}", ips.join(", "));
        }
        if let Some(e) = p.endpoint {
            let _ = writeln!(s, "Endpoint = {}", endpoint(&e));
        }
        if p.persistent_keepalive != 0 {
            let _ = writeln!(s, "PersistentKeepalive = {}", p.persistent_keepalive);
        }
    }
    s
}

fn endpoint(e: &SocketAddr) -> String {
    match e {
        SocketAddr::V4(a) => a.to_string(),
        SocketAddr::V6(a) => {
            if a.scope_id() != 0 {
                let name = nix::net::if_::if_indextoname(a.scope_id())
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|_| a.scope_id().to_string());
                format!("[{}%{}]:{}", a.ip(), name, a.port())
            } else {
                format!("[{}]:{}", a.ip(), a.port())
            }
        }
    }
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
    }
}
