//! Issue 24 in network namespaces (root; wireguard-go, wg, ping, curl): `wgq web` serves a
//! running server interface; a client created over wg-easy's API is on the device at once,
//! its configuration (downloaded over the API) brings a client namespace up with `wgq up`
//! and the server answers pings through the tunnel; disabling it over the API takes it off
//! the device (the pings stop), enabling brings it back. Names carry the process id.

mod common;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const WGQ: &str = env!("CARGO_BIN_EXE_wgq");

fn sh(c: &str) -> Output {
    Command::new("bash").arg("-c").arg(c).output().unwrap()
}

fn ok(c: &str) -> String {
    let o = sh(c);
    assert!(o.status.success(), "{c}: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn pings(ns: &str, to: &str) -> bool {
    sh(&format!("ip netns exec {ns} ping -c 1 -W 2 {to}")).status.success()
}

struct Cleanup(Vec<String>, Option<Child>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(c) = self.1.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in &self.0 {
            common::delete_netns(n);
        }
    }
}

/// What [`served`] made: two namespaces and a running server interface in the first.
struct Served {
    cleanup: Cleanup,
    id: u32,
    srv: String,
    cl: String,
    dir: tempfile::TempDir,
    d: String,
    ifname: String,
}

/// Namespaces `w{tag}s-ID` (the server) and `w{tag}c-ID` (a client) joined by a veth pair
/// (the server's end `{link}ID` at `addrs.0`/30, the client's `eth0` at `addrs.1`/30), and
/// the server interface `wg{link}ID` (`POOL.1/24`) made by `wgq server init` and up.
fn served(tag: char, link: char, addrs: (&str, &str), pool: &str) -> Served {
    let id = std::process::id() % 100_000;
    let (srv, cl) = (format!("w{tag}s-{id}"), format!("w{tag}c-{id}"));
    let cleanup = Cleanup(vec![srv.clone(), cl.clone()], None);
    for n in [&srv, &cl] {
        ok(&format!("ip netns add {n} && ip -n {n} link set lo up"));
    }
    let (a, b) = addrs;
    ok(&format!(
        "ip link add {link}{id} netns {srv} type veth peer name eth0 netns {cl} && \
         ip -n {srv} addr add {a}/30 dev {link}{id} && ip -n {srv} link set {link}{id} up && \
         ip -n {cl} addr add {b}/30 dev eth0 && ip -n {cl} link set eth0 up"
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let ifname = format!("wg{link}{id}");
    ok(&format!(
        "ip netns exec {srv} {WGQ} server init {ifname} --config-dir {d} --address {pool}.1/24 --endpoint {a} \
         --no-nat --no-forwarding --client-allowed-ips {pool}.0/24 --dns none"
    ));
    ok(&format!("ip netns exec {srv} {WGQ} up {d}/{ifname}.conf"));
    Served { cleanup, id, srv, cl, dir, d, ifname }
}

#[test]
fn a_client_made_over_the_api_connects() {
    if !common::ready(&["wireguard-go", "wg", "ping", "curl"]) {
        return;
    }
    let Served { mut cleanup, id, srv, cl, dir, d, ifname } = served('b', 'w', ("192.0.2.1", "192.0.2.2"), "10.79.0");
    let hash = ok(&format!("echo pw | {WGQ} web-admin hash-password")).trim().to_string();
    let log = format!("{d}/web.log");
    let child = Command::new("ip")
        .args(["netns", "exec", &srv, WGQ, "web", "--listen", "127.0.0.1:51821", "--config-dir", &d, "--state-dir"])
        .arg(format!("{d}/state"))
        .arg(&ifname)
        .env("PASSWORD_HASH", &hash)
        // Traffic slots of 1 s instead of 15 minutes (test only).
        .env("WGQ_WEB_TRAFFIC_SLOT_SECONDS", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    cleanup.1 = Some(child);
    let t = Instant::now();
    while !std::fs::read_to_string(&log).unwrap_or_default().contains("listening on") {
        assert!(t.elapsed() < Duration::from_secs(20), "{}", std::fs::read_to_string(&log).unwrap_or_default());
        std::thread::sleep(Duration::from_millis(50));
    }
    let curl = |args: &str| ok(&format!("ip netns exec {srv} curl -sf -b {d}/jar -c {d}/jar {args}"));
    let base = "http://127.0.0.1:51821";
    curl(&format!("-H 'Content-Type: application/json' -d '{{\"password\":\"pw\"}}' {base}/api/session"));
    curl(&format!("-H 'Content-Type: application/json' -d '{{\"name\":\"phone\"}}' {base}/api/wireguard/client"));
    let list: serde_json::Value = serde_json::from_str(&curl(&format!("{base}/api/wireguard/client"))).unwrap();
    let id_ = list[0]["id"].as_str().unwrap().to_string();
    let public = list[0]["publicKey"].as_str().unwrap().to_string();
    // Live: on the device at once.
    let dev = ok(&format!("ip netns exec {srv} wg show {ifname} allowed-ips"));
    assert!(dev.contains(&public) && dev.contains("10.79.0.2/32"), "{dev}");
    // Its file, downloaded, brings the client up.
    let cifname = format!("wgwc{id}");
    curl(&format!("-o {d}/{cifname}.conf {base}/api/wireguard/client/{id_}/configuration"));
    ok(&format!("chmod 600 {d}/{cifname}.conf"));
    ok(&format!("ip netns exec {cl} {WGQ} up {d}/{cifname}.conf"));
    assert!(pings(&cl, "10.79.0.1"), "the server answers through the tunnel");
    let l: serde_json::Value = serde_json::from_str(&curl(&format!("{base}/api/wireguard/client"))).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let l2: serde_json::Value = serde_json::from_str(&curl(&format!("{base}/api/wireguard/client"))).unwrap();
    assert!(l2[0]["latestHandshakeAt"].is_string() && l2[0]["transferRx"].as_u64().unwrap() > 0, "{l} {l2}");
    assert!(l2[0]["endpoint"].as_str().unwrap().starts_with("192.0.2.2:"), "{l2}");
    // prometheus_wireguard_exporter's names under /api/v1.
    let m = curl(&format!("{base}/api/v1/metrics"));
    let labels =
        format!("{{interface=\"{ifname}\",public_key=\"{public}\",allowed_ips=\"10.79.0.2/32\",friendly_name=\"phone\"}}");
    let value = |metric: &str| -> u64 {
        let line = m.lines().find(|l| l.starts_with(&format!("{metric}{labels} "))).unwrap_or_else(|| panic!("{metric}: {m}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(value("wireguard_sent_bytes_total") > 0 && value("wireguard_received_bytes_total") > 0, "{m}");
    let hs = value("wireguard_latest_handshake_seconds");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(hs <= now && now - hs < 60, "a UNIX timestamp: {hs}");
    // The sampler wrote the traffic of ended slots into the client's history file.
    let t = Instant::now();
    let hist = loop {
        assert!(pings(&cl, "10.79.0.1"));
        let h: serde_json::Value =
            serde_json::from_str(&curl(&format!("{base}/api/v1/interfaces/{ifname}/clients/{id_}/traffic"))).unwrap();
        let ended = &h["slots"].as_array().unwrap()[..95];
        if ended.iter().any(|s| s["rx"].as_u64().unwrap_or(0) > 0 && s["tx"].as_u64().unwrap_or(0) > 0) {
            break h;
        }
        assert!(t.elapsed() < Duration::from_secs(15), "no slot sampled: {h}");
    };
    assert_eq!(hist["slotSeconds"], 1);
    // Today's total holds every slot of today (the slots of 1 s all are, except just after midnight).
    let day = hist["days"][29]["rx"].as_u64().unwrap();
    let slots: u64 = hist["slots"].as_array().unwrap().iter().filter_map(|s| s["rx"].as_u64()).sum();
    let date = hist["days"][29]["date"].as_str().unwrap();
    if hist["slots"][0]["start"].as_str().unwrap().starts_with(date) {
        assert!(day >= slots && slots > 0, "{hist}");
    }
    let file = dir.path().join("state/traffic").join(&ifname).join(&id_);
    let meta = std::fs::metadata(&file).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!((meta.len(), meta.permissions().mode() & 0o777), (4096, 0o600));
    // Disabled over the API: off the device, no more traffic; enabled: back.
    curl(&format!("-X POST {base}/api/wireguard/client/{id_}/disable"));
    assert!(!ok(&format!("ip netns exec {srv} wg show {ifname} allowed-ips")).contains(&public));
    assert!(!pings(&cl, "10.79.0.1"));
    curl(&format!("-X POST {base}/api/wireguard/client/{id_}/enable"));
    assert!(ok(&format!("ip netns exec {srv} wg show {ifname} allowed-ips")).contains(&public));
    let t = Instant::now();
    while !pings(&cl, "10.79.0.1") {
        assert!(t.elapsed() < Duration::from_secs(15), "no traffic after enable");
    }
    // Deleted: gone from the file and the device.
    curl(&format!("-X DELETE {base}/api/wireguard/client/{id_}"));
    assert!(!ok(&format!("ip netns exec {srv} wg show {ifname} peers")).contains(&public));
    assert!(!std::fs::read_to_string(format!("{d}/{ifname}.conf")).unwrap().contains("[Peer]"));
    assert!(!file.exists(), "the deleted client's history is gone");
    let _ = sh(&format!("ip netns exec {cl} {WGQ} down {d}/{cifname}.conf"));
    let _ = sh(&format!("ip netns exec {srv} {WGQ} down {d}/{ifname}.conf"));
}

/// A restore on a running interface: the server's new key is on the device (the interface
/// reloaded in place), the backup's peers are on it and no other, and a restored client's
/// file (written by the restore) connects through the tunnel.
#[test]
fn a_restore_is_applied_live() {
    if !common::ready(&["wireguard-go", "wg", "ping", "curl"]) {
        return;
    }
    let Served { mut cleanup, id, srv, cl, dir: _dir, d, ifname } = served('r', 'r', ("192.0.2.5", "192.0.2.6"), "10.78.0");
    let log = format!("{d}/web.log");
    let child = Command::new("ip")
        .args(["netns", "exec", &srv, WGQ, "web", "--listen", "127.0.0.1:51821", "--config-dir", &d, "--state-dir"])
        .arg(format!("{d}/state"))
        .arg(&ifname)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    cleanup.1 = Some(child);
    let t = Instant::now();
    while !std::fs::read_to_string(&log).unwrap_or_default().contains("listening on") {
        assert!(t.elapsed() < Duration::from_secs(20), "{}", std::fs::read_to_string(&log).unwrap_or_default());
        std::thread::sleep(Duration::from_millis(50));
    }
    let curl = |args: &str| ok(&format!("ip netns exec {srv} curl -sf {args}"));
    let base = "http://127.0.0.1:51821";
    for n in ["keep", "gone"] {
        curl(&format!("-H 'Content-Type: application/json' -d '{{\"name\":\"{n}\"}}' {base}/api/wireguard/client"));
    }
    let mut b: serde_json::Value = serde_json::from_str(&curl(&format!("{base}/api/wireguard/backup"))).unwrap();
    let clients = b["clients"].as_object_mut().unwrap();
    let key_of = |n: &str, clients: &serde_json::Map<String, serde_json::Value>| {
        clients.values().find(|c| c["name"] == n).unwrap()["publicKey"].as_str().unwrap().to_string()
    };
    let (keep, gone) = (key_of("keep", clients), key_of("gone", clients));
    let gone_id = clients.iter().find(|(_, c)| c["name"] == "gone").unwrap().0.clone();
    clients.remove(&gone_id);
    // Two clients made elsewhere: one to connect, one disabled.
    let pair = || {
        let sk = ok("wg genkey").trim().to_string();
        let pk = ok(&format!("echo {sk} | wg pubkey")).trim().to_string();
        (sk, pk)
    };
    let ((new_sk, new_pk), (_, off_pk)) = (pair(), pair());
    let client = |name: &str, addr: &str, sk: Option<&str>, pk: &str, enabled: bool| {
        let mut c = serde_json::json!({
            "id": format!("uuid-{name}"), "name": name, "address": addr, "publicKey": pk, "preSharedKey": null,
            "createdAt": "2024-01-01T10:00:00.000Z", "updatedAt": "2024-01-01T10:00:00.000Z", "expiredAt": null,
            "enabled": enabled,
        });
        if let Some(k) = sk {
            c["privateKey"] = k.into();
        }
        c
    };
    clients.insert("uuid-new".into(), client("New one", "10.78.0.9", Some(&new_sk), &new_pk, true));
    clients.insert("uuid-off".into(), client("off", "10.78.0.10", None, &off_pk, false));
    let (server_sk, server_pk) = pair();
    b["server"]["privateKey"] = server_sk.clone().into();
    b["server"]["publicKey"] = server_pk.clone().into();
    let body = format!("{d}/restore.json");
    std::fs::write(&body, serde_json::json!({ "file": b.to_string() }).to_string()).unwrap();
    let r = curl(&format!("-X PUT -H 'Content-Type: application/json' --data-binary @{body} {base}/api/wireguard/restore"));
    assert!(r.contains("\"success\":true"), "{r}");
    // Live: the new server key, the backup's enabled peers and no other.
    let dev_key = ok(&format!("ip netns exec {srv} wg show {ifname} public-key"));
    assert_eq!(dev_key.trim(), server_pk);
    let peers = ok(&format!("ip netns exec {srv} wg show {ifname} allowed-ips"));
    assert!(peers.contains(&keep) && peers.contains(&new_pk), "{peers}");
    assert!(!peers.contains(&gone) && !peers.contains(&off_pk), "{peers}");
    assert!(peers.contains("10.78.0.9/32"), "{peers}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("audit: open@127.0.0.1 restore (3 clients)"), "{logged}");
    // The restored client's file (the restore wrote it) connects.
    let list: serde_json::Value = serde_json::from_str(&curl(&format!("{base}/api/wireguard/client"))).unwrap();
    let new_id = list.as_array().unwrap().iter().find(|c| c["name"] == "New one").unwrap()["id"].as_str().unwrap().to_string();
    let cifname = format!("wgrc{id}");
    curl(&format!("-o {d}/{cifname}.conf {base}/api/wireguard/client/{new_id}/configuration"));
    ok(&format!("chmod 600 {d}/{cifname}.conf"));
    ok(&format!("ip netns exec {cl} {WGQ} up {d}/{cifname}.conf"));
    let t = Instant::now();
    while !pings(&cl, "10.78.0.1") {
        assert!(t.elapsed() < Duration::from_secs(15), "no traffic through the restored interface");
    }
    let _ = sh(&format!("ip netns exec {cl} {WGQ} down {d}/{cifname}.conf"));
    let _ = sh(&format!("ip netns exec {srv} {WGQ} down {d}/{ifname}.conf"));
}
