//! `wg syncconf`: a setconf that leaves alone the peers the device has and the file keeps.
//!
//! Pure: given the file's device change and the running state, [`sync`] turns the change
//! into what syncconf sends. Without peers in the file, or on a device without peers, it is
//! a plain setconf. Otherwise peers are no longer replaced wholesale: runtime peers missing
//! from the file get a `remove` (placed before the file's peers, in descending key order, as
//! wg does), and, as upstream wg does since 2025, a peer that has a preshared key or a
//! persistent keepalive on the device but none in the file gets them cleared (Debian 12's
//! 2021 wg leaves them).

use std::collections::HashMap;

use super::conf::{WgDevice, WgPeer};
use crate::device::DeviceState;
use crate::key::{Key, SecretKey};

pub fn sync(file: &mut WgDevice, runtime: &DeviceState) {
    if file.peers.is_empty() || runtime.peers.is_empty() {
        return;
    }
    file.replace_peers = false;
    // The first file peer of each key (wg's sort puts it right after the runtime peer).
    let mut first: HashMap<Key, usize> = HashMap::new();
    for (i, p) in file.peers.iter().enumerate() {
        if let Some(k) = p.public_key {
            first.entry(k).or_insert(i);
        }
    }
    let mut removed: Vec<Key> = Vec::new();
    for r in &runtime.peers {
        match first.get(&r.public_key) {
            None => removed.push(r.public_key),
            Some(&i) => {
                let p = &mut file.peers[i];
                if r.preshared_key.is_some() && p.preshared_key.is_none() {
                    p.preshared_key = Some(SecretKey::default());
                }
                if r.persistent_keepalive != 0 && p.persistent_keepalive.is_none() {
                    p.persistent_keepalive = Some(0);
                }
            }
        }
    }
    removed.sort();
    removed.dedup();
    let mut peers: Vec<WgPeer> =
        removed.into_iter().rev().map(|k| WgPeer { public_key: Some(k), remove: true, ..Default::default() }).collect();
    peers.append(&mut file.peers);
    file.peers = peers;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::PeerState;

    fn k(i: u8) -> Key {
        Key([i; 32])
    }

    fn file_peer(i: u8) -> WgPeer {
        WgPeer { public_key: Some(k(i)), replace_allowed_ips: true, ..Default::default() }
    }

    #[test]
    fn removes_absent_peers_and_clears_dropped_psk_and_keepalive() {
        let mut file = WgDevice { replace_peers: true, peers: vec![file_peer(2), file_peer(5)], ..Default::default() };
        let rt = DeviceState {
            peers: vec![
                PeerState { public_key: k(9), ..Default::default() },
                PeerState {
                    public_key: k(2),
                    preshared_key: Some(SecretKey::from_bytes([7; 32])),
                    persistent_keepalive: 25,
                    ..Default::default()
                },
                PeerState { public_key: k(1), ..Default::default() },
            ],
            ..Default::default()
        };
        sync(&mut file, &rt);
        assert!(!file.replace_peers);
        let keys: Vec<(Key, bool)> = file.peers.iter().map(|p| (p.public_key.unwrap(), p.remove)).collect();
        assert_eq!(keys, [(k(9), true), (k(1), true), (k(2), false), (k(5), false)]);
        let p2 = &file.peers[2];
        assert!(p2.preshared_key.as_ref().is_some_and(|k| k.is_zero()));
        assert_eq!(p2.persistent_keepalive, Some(0));
        assert!(file.peers[3].preshared_key.is_none() && file.peers[3].persistent_keepalive.is_none());
    }

    #[test]
    fn plain_setconf_without_peers_on_either_side() {
        let rt = DeviceState { peers: vec![PeerState { public_key: k(1), ..Default::default() }], ..Default::default() };
        let mut file = WgDevice { replace_peers: true, ..Default::default() };
        sync(&mut file, &rt);
        assert!(file.replace_peers && file.peers.is_empty());
        let mut file = WgDevice { replace_peers: true, peers: vec![file_peer(1)], ..Default::default() };
        sync(&mut file, &DeviceState::default());
        assert!(file.replace_peers && file.peers.len() == 1);
    }

    #[test]
    fn set_values_in_the_file_are_kept() {
        let rt = DeviceState {
            peers: vec![PeerState {
                public_key: k(1),
                preshared_key: Some(SecretKey::from_bytes([7; 32])),
                persistent_keepalive: 25,
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut p = file_peer(1);
        p.preshared_key = Some(SecretKey::from_bytes([8; 32]));
        p.persistent_keepalive = Some(10);
        let mut file = WgDevice { replace_peers: true, peers: vec![p], ..Default::default() };
        sync(&mut file, &rt);
        assert_eq!(file.peers[0].preshared_key, Some(SecretKey::from_bytes([8; 32])));
        assert_eq!(file.peers[0].persistent_keepalive, Some(10));
    }
}
