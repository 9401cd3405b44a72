//! Planning the live side of `wgq peer`: on a running interface, one device update with
//! just the peers that changed (added, removed, re-keyed, their allowed IPs changed) and
//! exactly the routes `up` would have added for them — no restart, no other peer touched,
//! so every other peer keeps its session and counters. Pure.

use std::collections::HashSet;

use crate::config::{Config, TableSetting};
use crate::device::{DeviceConfig, PeerConfig};
use crate::key::{Key, SecretKey};
use crate::net::IpNet;

use super::record::route_key;
use super::*;

/// A peer as the server file defines it (what the device gets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSpec {
    pub public_key: Key,
    pub preshared_key: Option<SecretKey>,
    /// As written; the device and the routes get their network form.
    pub allowed_ips: Vec<IpNet>,
    pub keepalive: Option<u16>,
}

/// One peer before and after an edit (`None`: not in the device: absent or disabled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerChange {
    pub before: Option<PeerSpec>,
    pub after: Option<PeerSpec>,
}

/// What the live plan reads of the running interface.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerFacts {
    /// Unicast routes through the interface now (any table).
    pub device_routes: Vec<Route>,
    /// The numeric value of `Table` when it is a name.
    pub named_table: Option<u32>,
    /// What wgq owns on the interface (`up`'s record); without one, routes of the peers'
    /// allowed IPs count as wgq's, as `reload` infers them.
    pub recorded: Option<UpRecord>,
}

/// Why a live change cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerPlanError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(
        "{net}: a server-side AllowedIPs entry of prefix length 0 would send all of this host's traffic to one \
         peer; give the client's LAN (--route 192.168.1.0/24) instead"
    )]
    DefaultRoute { net: IpNet },
}

fn peer_config(p: &PeerSpec) -> PeerConfig {
    PeerConfig {
        public_key: p.public_key,
        preshared_key: Some(p.preshared_key.clone().unwrap_or_default()),
        persistent_keepalive: Some(p.keepalive.unwrap_or(0)),
        replace_allowed_ips: true,
        allowed_ips: p.allowed_ips.iter().map(|a| a.network()).collect(),
        ..Default::default()
    }
}

fn removal(k: Key) -> PeerConfig {
    PeerConfig { public_key: k, remove: true, ..Default::default() }
}

/// The routes `up` adds for one peer's allowed IPs (its order; with Table = auto, none for
/// a prefix the interface's addresses already cover).
pub fn peer_routes(cfg: &Config, p: &PeerSpec, named_table: Option<u32>) -> Result<Vec<Route>, PeerPlanError> {
    let i = &cfg.interface;
    let fixed: Option<(u32, String)> = match i.table_setting() {
        TableSetting::Off => return Ok(Vec::new()),
        TableSetting::Auto => None,
        TableSetting::Id(n) => Some((n, i.table.as_ref().map_or_else(|| n.to_string(), |t| t.value.clone()))),
        TableSetting::Name(name) => match named_table {
            Some(n) => Some((n, name)),
            None => {
                let line = i.table.as_ref().map(|t| t.line).unwrap_or(0);
                return Err(PlanError::UnknownTable { path: cfg.path.display().to_string(), line, name }.into());
            }
        },
    };
    let nets: Vec<IpNet> = p.allowed_ips.iter().map(|a| a.network()).collect();
    let covering: Vec<IpNet> =
        i.addresses.iter().map(|a| a.value).filter(|a| a.prefix < a.max_prefix()).map(|a| a.network()).collect();
    let mut out = Vec::new();
    for net in crate::plan::routing::sort_allowed_ips(&nets) {
        if net.is_default() {
            return Err(PeerPlanError::DefaultRoute { net });
        }
        match &fixed {
            Some((id, text)) => out.push(Route { net, table: Some(*id), table_text: Some(text.clone()) }),
            None if covering.iter().any(|c| c.contains(&net)) => {}
            None => out.push(Route { net, table: None, table_text: None }),
        }
    }
    Ok(out)
}

/// Plans the live change of `changes` on the running interface: one device update (each
/// changed peer set whole, or removed) with its exact inverse, then the routes that go and
/// those that come. `cfg` is the file after the edit: a route another peer of it still
/// needs stays.
pub fn plan_peers(cfg: &Config, ifname: &str, changes: &[PeerChange], f: &PeerFacts) -> Result<Plan, PeerPlanError> {
    let mut update = DeviceConfig::default();
    let mut restore = DeviceConfig::default();
    let mut want_before = Vec::new();
    let mut want_after = Vec::new();
    for c in changes {
        // An unchanged peer is not touched at all.
        if c.before == c.after {
            continue;
        }
        if let Some(b) = &c.before {
            want_before.extend(peer_routes(cfg, b, f.named_table)?);
        }
        if let Some(a) = &c.after {
            want_after.extend(peer_routes(cfg, a, f.named_table)?);
        }
        match (&c.before, &c.after) {
            (None, None) => {}
            (Some(b), Some(a)) if b.public_key == a.public_key => {
                update.peers.push(peer_config(a));
                restore.peers.push(peer_config(b));
            }
            (b, a) => {
                if let Some(b) = b {
                    update.peers.push(removal(b.public_key));
                }
                if let Some(a) = a {
                    update.peers.push(peer_config(a));
                    restore.peers.push(removal(a.public_key));
                }
                if let Some(b) = b {
                    restore.peers.push(peer_config(b));
                }
            }
        }
    }
    let mut ops = Vec::new();
    if !update.peers.is_empty() {
        ops.push(Op::SetPeers { update, restore });
    }
    let live: HashSet<(IpNet, u32)> = f.device_routes.iter().map(route_key).collect();
    let after_keys: HashSet<(IpNet, u32)> = want_after.iter().map(route_key).collect();
    // Prefixes the peers of the edited file still hold (a route for one of them stays).
    let held: HashSet<IpNet> = cfg.peers.iter().flat_map(|p| p.allowed_ips.iter().map(|a| a.network())).collect();
    let owned = |r: &Route| match &f.recorded {
        Some(rec) => rec.routes.iter().any(|o| route_key(o) == route_key(r)),
        None => true,
    };
    let mut seen = HashSet::new();
    let del: Vec<Route> = want_before
        .into_iter()
        .filter(|r| {
            !after_keys.contains(&route_key(r))
                && !held.contains(&r.net)
                && live.contains(&route_key(r))
                && owned(r)
                && seen.insert(route_key(r))
        })
        .collect();
    let add: Vec<Route> = want_after.into_iter().filter(|r| !live.contains(&route_key(r)) && seen.insert(route_key(r))).collect();
    if !del.is_empty() {
        ops.push(Op::DelRoutes(del));
    }
    if !add.is_empty() {
        ops.push(Op::AddRoutes(add));
    }
    Ok(Plan { interface: ifname.to_string(), ops })
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    const P1: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    const P2: &str = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";

    fn cfg(extra: &str) -> Config {
        let t = format!("[Interface]\nPrivateKey = {K}\nAddress = 10.8.0.1/24, fd00::1/64\n{extra}");
        crate::config::parse(t.as_bytes(), std::path::Path::new("/x/wg0.conf")).unwrap()
    }

    fn spec(k: &str, ips: &[&str]) -> PeerSpec {
        PeerSpec {
            public_key: Key::from_base64(k).unwrap(),
            preshared_key: Some(SecretKey::from_bytes([9; 32])),
            allowed_ips: ips.iter().map(|s| IpNet::parse(s).unwrap()).collect(),
            keepalive: None,
        }
    }

    fn trace(p: &Plan) -> String {
        p.to_string()
    }

    #[test]
    fn add_is_one_peer_and_only_the_routes_up_adds() {
        let c = cfg("");
        let a = spec(P1, &["10.8.0.2/32", "fd00::2/128", "192.168.7.0/24"]);
        let p = plan_peers(&c, "wg0", &[PeerChange { before: None, after: Some(a.clone()) }], &PeerFacts::default()).unwrap();
        assert_eq!(
            trace(&p),
            format!(
                "[#] wg set wg0 peer {P1} preshared-key /dev/fd/63 persistent-keepalive off allowed-ips 10.8.0.2/32,fd00::2/128,192.168.7.0/24\n\
                 [#] ip -4 route add 192.168.7.0/24 dev wg0\n"
            )
        );
        let Op::SetPeers { update, restore } = &p.ops[0] else { panic!() };
        assert_eq!(update.peers.len(), 1);
        assert!(!update.replace_peers && update.private_key.is_none() && update.listen_port.is_none());
        assert!(restore.peers[0].remove);
        // A route already there is not added again (and so not recorded as ours).
        let f = PeerFacts {
            device_routes: vec![Route { net: IpNet::parse("192.168.7.0/24").unwrap(), table: None, table_text: None }],
            ..Default::default()
        };
        let p = plan_peers(&c, "wg0", &[PeerChange { before: None, after: Some(a) }], &f).unwrap();
        assert_eq!(p.ops.len(), 1);
    }

    #[test]
    fn remove_deletes_only_owned_routes_nobody_else_needs() {
        let b = spec(P1, &["10.8.0.2/32", "192.168.7.0/24", "192.168.8.0/24"]);
        let net = |s: &str| IpNet::parse(s).unwrap();
        let live = vec![
            Route { net: net("192.168.7.0/24"), table: None, table_text: None },
            Route { net: net("192.168.8.0/24"), table: None, table_text: None },
        ];
        // Another peer of the file still routes 192.168.8.0/24.
        let c = cfg(&format!("[Peer]\nPublicKey = {P2}\nAllowedIPs = 192.168.8.0/24\n"));
        let f = PeerFacts { device_routes: live.clone(), ..Default::default() };
        let p = plan_peers(&c, "wg0", &[PeerChange { before: Some(b.clone()), after: None }], &f).unwrap();
        assert_eq!(trace(&p), format!("[#] wg set wg0 peer {P1} remove\n[#] ip -4 route del 192.168.7.0/24 dev wg0\n"));
        let Op::SetPeers { restore, .. } = &p.ops[0] else { panic!() };
        assert_eq!(restore.peers[0].allowed_ips.len(), 3);
        // With a record, a route wgq did not add stays.
        let f = PeerFacts { device_routes: live, recorded: Some(UpRecord::default()), ..Default::default() };
        let p = plan_peers(&cfg(""), "wg0", &[PeerChange { before: Some(b), after: None }], &f).unwrap();
        assert_eq!(p.ops.len(), 1);
    }

    #[test]
    fn rotate_and_change_tables() {
        let c = cfg("Table = 1234\n");
        let b = spec(P1, &["10.8.0.2/32"]);
        let a = spec(P2, &["10.8.0.2/32"]);
        let p = plan_peers(&c, "wg0", &[PeerChange { before: Some(b), after: Some(a) }], &PeerFacts::default()).unwrap();
        let t = trace(&p);
        assert!(t.starts_with(&format!("[#] wg set wg0 peer {P1} remove\n[#] wg set wg0 peer {P2} ")), "{t}");
        // Table = N: every allowed IP gets a route there (as up does), connected or not.
        assert!(t.ends_with("[#] ip -4 route add 10.8.0.2/32 dev wg0 table 1234\n"), "{t}");
        assert!(
            plan_peers(
                &cfg("Table = off\n"),
                "wg0",
                &[PeerChange { before: None, after: Some(spec(P1, &["192.168.1.0/24"])) }],
                &PeerFacts::default()
            )
            .unwrap()
            .ops
            .len()
                == 1
        );
        let e = plan_peers(
            &cfg(""),
            "wg0",
            &[PeerChange { before: None, after: Some(spec(P1, &["0.0.0.0/0"])) }],
            &PeerFacts::default(),
        );
        assert!(matches!(e, Err(PeerPlanError::DefaultRoute { .. })));
        let same = spec(P1, &["10.8.0.2/32"]);
        let p = plan_peers(&c, "wg0", &[PeerChange { before: Some(same.clone()), after: Some(same) }], &PeerFacts::default())
            .unwrap();
        assert!(p.ops.is_empty());
    }
}
