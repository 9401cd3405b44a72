//! `wgq container` on a real system, as the image's default command would run (root;
//! wireguard-go in a throwaway network namespace and a private mount namespace whose
//! /run/wireguard is a tmpfs, since wg-easy's interface is always `wg0`): wg-easy's variables
//! create the server on first start and update it losslessly at the next (clients kept);
//! linuxserver-style files come up beside it; SIGTERM brings all down; a wg-easy 14 volume
//! (a `wg0.json` written here) is imported once, keeping keys, names, expiry and disabled
//! state, with wg-easy's `wg0.conf` moved aside and `wg0.json` untouched.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const WGQ: &str = env!("CARGO_BIN_EXE_wgq");
const K: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";

static NEXT: AtomicU32 = AtomicU32::new(0);

struct Ns {
    ns: common::Netns,
    dir: tempfile::TempDir,
}

impl Ns {
    fn new() -> Option<Ns> {
        if !common::ready(&["wireguard-go", "ip", "bash", "unshare", "nft"]) {
            return None;
        }
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let name = format!("wgqctr-{}-{n}", std::process::id());
        let ns = Ns { ns: common::Netns::with_uplink(name), dir: tempfile::tempdir().unwrap() };
        std::fs::create_dir_all(ns.wg()).unwrap();
        std::fs::create_dir_all(ns.root().join("wg_confs")).unwrap();
        Some(ns)
    }

    fn wg(&self) -> PathBuf {
        self.dir.path().join("wg")
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// `wgq container` in the namespace with `vars`, behind a private /run/wireguard.
    fn container(&self, vars: &[(&str, &str)]) -> Child {
        self.container_raw(vars, &[])
    }

    /// [`Ns::container`] with `raw` variables too, whose values may be any bytes.
    fn container_raw(&self, vars: &[(&str, &str)], raw: &[(&str, &[u8])]) -> Child {
        use std::os::unix::ffi::OsStrExt;
        let mut c = Command::new("ip");
        c.args(["netns", "exec", self.ns.name(), "unshare", "--mount", "--propagation", "private", "bash", "-c"])
            .arg("mount -t tmpfs tmpfs /run/wireguard && exec \"$@\"")
            .arg("bash")
            .args([WGQ, "container", "--config-root"])
            .arg(self.root())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("WG_PATH", self.wg())
            .env("WG_DEVICE", "v0")
            .envs(vars.iter().copied())
            .envs(raw.iter().map(|(k, v)| (k, std::ffi::OsStr::from_bytes(v))))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        common::default_signals(&mut c);
        c.spawn().unwrap()
    }

    fn links(&self) -> String {
        common::sh_ns(self.ns.name(), "ip -n NS -o link show").unwrap()
    }

    fn nft(&self) -> String {
        common::sh_ns(self.ns.name(), "ip netns exec NS nft list tables").unwrap_or_default()
    }
}

fn stop(child: &mut Child) -> Option<i32> {
    // unshare and bash exec into each other: the pid is wgq's (`unshare` without --fork).
    let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}

/// Runs to "running", checks, stops; returns the stderr seen.
fn run_once(ns: &Ns, vars: &[(&str, &str)], expect: &str) -> String {
    let mut c = ns.container(vars);
    let (ok, mut seen, rest) = common::until(&mut c, "wgq: running");
    assert!(ok, "{seen}");
    assert!(seen.contains(expect), "{seen}");
    let code = stop(&mut c);
    // Until stderr closes (wgq has ended: moments).
    let end = Instant::now() + Duration::from_secs(5);
    while let Ok(l) = rest.recv_timeout(end.saturating_duration_since(Instant::now())) {
        seen += &l;
        seen.push('\n');
    }
    assert_eq!(code, Some(0), "{seen}");
    seen
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn wg_easy_variables_make_the_server_and_update_it_keeping_clients() {
    let Some(ns) = Ns::new() else { return };
    common::write_conf(&ns.root().join("wg_confs"), "wl0", &format!("[Interface]\nPrivateKey = {K}\nAddress = 10.99.0.2/32\n"));
    let links_before = ns.links();
    let vars = [("WG_HOST", "vpn.example.org"), ("WG_DEFAULT_ADDRESS", "10.1.9.x"), ("WG_MTU", "1380")];
    let seen = run_once(&ns, &vars, "running wg0 wl0");
    assert!(seen.contains("created "), "{seen}");
    assert!(seen.contains("[#] ip link delete dev wl0\n[#] ip link delete dev wg0"), "{seen}");
    assert_eq!(ns.links(), links_before, "links left behind");
    assert!(!ns.nft().contains("wgq-wg0"), "the NAT table was left: {}", ns.nft());
    let server = ns.wg().join("wg0.conf");
    let first = read(&server);
    for l in [
        "Address = 10.1.9.1/24\n",
        "ListenPort = 51820\n",
        "# ClientEndpoint = vpn.example.org:51820\n",
        "# ClientDNS = 1.1.1.1\n",
        "# ClientKeepalive = 0\n",
        "# ClientMTU = 1380\n",
        "oifname \"v0\" masquerade'\n",
        "PostDown = nft delete table inet wgq-wg0\n",
    ] {
        assert!(first.contains(l), "{l}: {first}");
    }
    // A client, as wg-easy's page would add it: 10.1.9.2.
    let o = Command::new("ip")
        .args(["netns", "exec", ns.ns.name(), WGQ, "peer", "add"])
        .arg(&server)
        .args(["phone", "--no-apply"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let with_client = read(&server);
    assert!(with_client.contains("AllowedIPs = 10.1.9.2/32"), "{with_client}");
    let client_file = ns.wg().join("clients/wg0/phone.conf");
    let client = read(&client_file);
    // A second start with the same variables changes nothing.
    run_once(&ns, &vars, "running wg0 wl0");
    assert_eq!(read(&server), with_client);
    // Changed variables: only their lines change.
    let vars2 = [
        ("WG_HOST", "vpn2.example.org"),
        ("WG_PORT", "51999"),
        ("WG_DEFAULT_ADDRESS", "10.1.9.x"),
        ("WG_DEFAULT_DNS", ""),
        ("WG_PERSISTENT_KEEPALIVE", "25"),
        ("WG_POST_UP", "echo up-hook"),
        ("WG_POST_DOWN", "echo down-hook"),
    ];
    let seen = run_once(&ns, &vars2, "running wg0 wl0");
    assert!(seen.contains("[#] echo up-hook") && seen.contains("[#] echo down-hook"), "{seen}");
    let after = read(&server);
    let expected = with_client
        .lines()
        .filter(|l| !l.starts_with("# ClientDNS") && !l.starts_with("# ClientMTU"))
        .map(|l| match l {
            l if l.starts_with("# ClientEndpoint") => "# ClientEndpoint = vpn2.example.org:51999".to_string(),
            l if l.starts_with("# ClientKeepalive") => "# ClientKeepalive = 25".to_string(),
            l if l.starts_with("ListenPort") => "ListenPort = 51999".to_string(),
            l if l.starts_with("PostUp") => "PostUp = echo up-hook".to_string(),
            l if l.starts_with("PostDown") => "PostDown = echo down-hook".to_string(),
            l => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    assert_eq!(after, expected);
    assert_eq!(read(&client_file), client, "the client's file changed");
    assert_eq!(ns.links(), links_before);
}

#[test]
fn bad_variables_and_nothing_to_run_are_refused_writing_nothing() {
    let Some(ns) = Ns::new() else { return };
    let mut c = ns.container(&[]);
    let mut err = String::new();
    std::io::Read::read_to_string(c.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(c.wait().unwrap().code(), Some(1), "{err}");
    assert!(err.contains("nothing to run: set WG_HOST"), "{err}");
    let mut c = ns.container(&[("WG_HOST", "vpn.example.org"), ("WG_PORT", "99999")]);
    let mut err = String::new();
    std::io::Read::read_to_string(c.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(c.wait().unwrap().code(), Some(1), "{err}");
    assert!(err.contains("WG_PORT=`99999': not a port"), "{err}");
    assert!(!ns.wg().join("wg0.conf").exists());
    // A value that is not UTF-8 is refused, not taken as unset (its default written into the
    // server file: here wg-easy's hooks instead of the admin's).
    let mut c =
        ns.container_raw(&[("WG_HOST", "vpn.example.org")], &[("WG_POST_UP", b"iptables -A FORWARD -i wg0 -j DROP \xa7")]);
    let (ran, seen, rest) = common::until(&mut c, "wgq: running");
    let code = stop(&mut c);
    let seen = seen + &rest.try_iter().collect::<Vec<_>>().join("\n");
    assert!(!ran && code == Some(1), "ran with WG_POST_UP unset ({code:?}):\n{seen}");
    assert!(seen.contains("WG_POST_UP: not UTF-8"), "{seen}");
    assert!(!ns.wg().join("wg0.conf").exists());
}

fn genkey() -> (String, String) {
    let k = Command::new(WGQ).arg("genkey").output().unwrap();
    let k = String::from_utf8(k.stdout).unwrap().trim().to_string();
    let mut p = Command::new(WGQ).arg("pubkey").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    p.stdin.take().unwrap().write_all(format!("{k}\n").as_bytes()).unwrap();
    let pubkey = String::from_utf8(p.wait_with_output().unwrap().stdout).unwrap().trim().to_string();
    (k, pubkey)
}

#[test]
fn a_wg_easy_14_volume_is_imported_once_losing_nothing() {
    let Some(ns) = Ns::new() else { return };
    let (sk, spk) = genkey();
    let (c1k, c1p) = genkey();
    let (_, c2p) = genkey();
    let (c3k, c3p) = genkey();
    let (psk, _) = genkey();
    // wg-easy 14's database, as it writes one (this test's own text).
    let json = format!(
        r#"{{
  "server": {{"privateKey": "{sk}", "publicKey": "{spk}", "address": "10.8.0.1"}},
  "clients": {{
    "11111111-aaaa": {{"id": "11111111-aaaa", "name": "Anna's phone", "address": "10.8.0.2", "privateKey": "{c1k}",
      "publicKey": "{c1p}", "preSharedKey": "{psk}", "createdAt": "2024-01-05T08:00:00.000Z",
      "updatedAt": "2024-01-05T08:00:00.000Z", "expiredAt": null, "enabled": true}},
    "22222222-bbbb": {{"id": "22222222-bbbb", "name": "router", "address": "10.8.0.3",
      "publicKey": "{c2p}", "createdAt": "2024-02-05T08:00:00.000Z", "updatedAt": "2024-02-05T08:00:00.000Z",
      "expiredAt": "2031-12-31T23:59:59.000Z", "enabled": true}},
    "33333333-cccc": {{"id": "33333333-cccc", "name": "old-laptop", "address": "10.8.0.5", "privateKey": "{c3k}",
      "publicKey": "{c3p}", "preSharedKey": "{psk}", "createdAt": "2024-03-05T08:00:00.000Z",
      "updatedAt": "2024-03-05T08:00:00.000Z", "expiredAt": null, "enabled": false}}
  }}
}}
"#
    );
    std::fs::write(ns.wg().join("wg0.json"), &json).unwrap();
    let generated =
        format!("# Note: generated by wg-easy\n[Interface]\nPrivateKey = {sk}\nAddress = 10.8.0.1/24\nListenPort = 51820\n");
    common::write_conf(&ns.wg(), "wg0", &generated);
    let vars = [("WG_HOST", "vpn.example.org")];
    let seen = run_once(&ns, &vars, "running wg0");
    assert!(seen.contains("imported wg-easy's"), "{seen}");
    assert_eq!(read(&ns.wg().join("wg0.json")), json, "wg0.json was changed");
    assert_eq!(read(&ns.wg().join("wg0.conf.wg-easy")), generated);
    let server = read(&ns.wg().join("wg0.conf"));
    assert!(server.contains(&format!("PrivateKey = {sk}\n")), "{server}");
    assert!(server.contains("Address = 10.8.0.1/24\n"), "{server}");
    for (name, key, ip) in [("Anna-s-phone", &c1p, "10.8.0.2"), ("router", &c2p, "10.8.0.3"), ("old-laptop", &c3p, "10.8.0.5")] {
        assert!(server.contains(&format!("# Name = {name}")), "{name}: {server}");
        assert!(server.contains(&format!("PublicKey = {key}")), "{name}: {server}");
        assert!(server.contains(&format!("AllowedIPs = {ip}/32")), "{name}: {server}");
    }
    assert!(server.contains("# DisplayName = Anna's phone"), "{server}");
    assert!(server.contains("# Created = 2024-01-05T08:00:00Z"), "{server}");
    assert!(server.contains("# Expires = 2031-12-31T23:59:59Z"), "{server}");
    assert_eq!(server.matches(&format!("PresharedKey = {psk}")).count(), 2, "{server}");
    assert!(server.contains("#- PublicKey = ") && server.contains("#- # Name = old-laptop"), "not disabled: {server}");
    // Client files with wg-easy's private keys; none for the client that holds its own.
    let anna = read(&ns.wg().join("clients/wg0/Anna-s-phone.conf"));
    assert!(anna.contains(&format!("PrivateKey = {c1k}")) && anna.contains("Address = 10.8.0.2/32"), "{anna}");
    assert!(anna.contains(&format!("PublicKey = {spk}")) && anna.contains("Endpoint = vpn.example.org:51820"), "{anna}");
    assert!(read(&ns.wg().join("clients/wg0/old-laptop.conf")).contains(&format!("PrivateKey = {c3k}")));
    // The next start imports nothing again.
    let seen = run_once(&ns, &vars, "running wg0");
    assert!(!seen.contains("imported"), "{seen}");
    assert_eq!(read(&ns.wg().join("wg0.conf")), server);
}

/// `curl` in the namespace: (whether it succeeded, its output).
fn curl(ns: &Ns, args: &str) -> (bool, String) {
    let jar = ns.dir.path().join("jar");
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!("ip netns exec {} curl -sf -m 5 -b {j} -c {j} {args}", ns.ns.name(), j = jar.display()))
        .output()
        .unwrap();
    (o.status.success(), String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn the_page_is_served_as_wg_easy_serves_it_and_stops_with_the_interfaces() {
    let Some(ns) = Ns::new() else { return };
    if !common::ready(&["curl"]) {
        return;
    }
    let hash = Command::new("bash").arg("-c").arg(format!("echo pw | {WGQ} web-admin hash-password")).output().unwrap();
    let hash = String::from_utf8(hash.stdout).unwrap().trim().to_string();
    assert!(hash.starts_with('$'), "{hash}");
    // With PASSWORD_HASH: on every address (WEBUI_HOST's default) at PORT, plain HTTP.
    let vars = [("WG_HOST", "vpn.example.org"), ("PASSWORD_HASH", hash.as_str()), ("PORT", "51831")];
    let mut c = ns.container(&vars);
    let (ok, seen, rest) = common::until(&mut c, "wgq: running");
    assert!(ok, "{seen}");
    assert!(seen.contains("web page on http://0.0.0.0:51831") && seen.contains("plain HTTP"), "{seen}");
    let base = "http://192.0.2.1:51831";
    assert!(curl(&ns, &format!("-H 'Content-Type: application/json' -d '{{\"password\":\"pw\"}}' {base}/api/session")).0);
    assert!(curl(&ns, &format!("-H 'Content-Type: application/json' -d '{{\"name\":\"phone\"}}' {base}/api/wireguard/client")).0);
    let (got, list) = curl(&ns, &format!("{base}/api/wireguard/client"));
    assert!(got && list.contains("\"name\":\"phone\""), "{list}");
    assert!(read(&ns.wg().join("wg0.conf")).contains("# Name = phone"));
    // In the container's mount namespace (its /run/wireguard holds the UAPI socket).
    let shown = Command::new("nsenter").args(["-t", &c.id().to_string(), "-m", "-n", WGQ, "show", "wg0"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&shown.stdout).matches("peer: ").count(), 1, "live on the device");
    // Its state on the volume, private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(ns.wg().join("wgq-web")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    // SIGTERM: the page and the interfaces stop, exit 0.
    let t = Instant::now();
    let code = stop(&mut c);
    let mut seen = seen;
    while let Ok(l) = rest.recv_timeout(Duration::from_secs(2)) {
        seen += &l;
        seen.push('\n');
    }
    assert_eq!(code, Some(0), "{seen}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(!curl(&ns, &format!("{base}/api/session")).0, "still served after the stop");
    assert!(!ns.links().contains("wg0"), "{}", ns.links());

    // Without PASSWORD_HASH: loopback only, whatever WEBUI_HOST says; the client kept.
    let vars = [("WG_HOST", "vpn.example.org"), ("PORT", "51831"), ("WEBUI_HOST", "0.0.0.0")];
    let mut c = ns.container(&vars);
    let (ok, seen, _rest) = common::until(&mut c, "wgq: running");
    assert!(ok, "{seen}");
    assert!(seen.contains("PASSWORD_HASH is not set") && seen.contains("web page on http://127.0.0.1:51831"), "{seen}");
    assert!(!curl(&ns, &format!("{base}/api/wireguard/client")).0, "served beyond loopback without a password");
    let (got, list) = curl(&ns, "http://127.0.0.1:51831/api/wireguard/client");
    assert!(got && list.contains("\"name\":\"phone\""), "{list}");
    assert_eq!(stop(&mut c), Some(0));
}

#[test]
fn the_start_up_announcement_leaves_only_by_its_own_network() {
    let Some(ns) = Ns::new() else { return };
    common::write_conf(&ns.root().join("wg_confs"), "wl2", &format!("[Interface]\nPrivateKey = {K}\nAddress = 10.99.0.2/32\n"));
    // v0 is on 192.0.2.0/24 (its neighbour asked for: 192.0.2.2), but a host route sends
    // 192.0.2.2 through a gateway on another network: the announcement must not follow it.
    for c in [
        "ip -n NS link add x0 type veth peer name x1",
        "ip -n NS link set x0 up",
        "ip -n NS link set x1 up",
        "ip -n NS addr add 198.51.100.1/24 dev x0",
        "ip -n NS route add 192.0.2.2/32 via 198.51.100.2 dev x0",
        "ip netns exec NS nft add table ip wgqtest",
        "ip netns exec NS nft add chain ip wgqtest out '{ type filter hook output priority 0; }'",
        "ip netns exec NS nft add rule ip wgqtest out oifname x0 ip daddr 192.0.2.2 udp dport 9 counter",
        "ip netns exec NS nft add rule ip wgqtest out oifname v0 ip daddr 192.0.2.2 udp dport 9 counter",
    ] {
        common::sh_ns(ns.ns.name(), c).unwrap_or_else(|e| panic!("{c}: {e}"));
    }
    ns.ns.wait_carrier();
    let seen = run_once(&ns, &[], "running wl2");
    assert!(seen.contains("v0: 192.0.2.1 announced"), "{seen}");
    let rules = common::sh_ns(ns.ns.name(), "ip netns exec NS nft list chain ip wgqtest out").unwrap();
    let count = |dev: &str| {
        let l = rules.lines().find(|l| l.contains(&format!("oifname \"{dev}\""))).unwrap_or_else(|| panic!("{rules}"));
        l.split("packets ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{l}"))
    };
    assert_eq!(count("x0"), 0, "sent through the gateway: {rules}");
    assert_eq!(count("v0"), 1, "{rules}");
}

#[test]
fn the_page_is_https_with_the_tls_variables_on_the_volume() {
    let Some(ns) = Ns::new() else { return };
    if !common::ready(&["curl", "openssl"]) {
        return;
    }
    // A self-signed certificate for the namespace's address, on the volume.
    let (c, k) = common::self_signed(&ns.wg(), "web");
    let hash = Command::new("bash").arg("-c").arg(format!("echo pw | {WGQ} web-admin hash-password")).output().unwrap();
    let hash = String::from_utf8(hash.stdout).unwrap().trim().to_string();
    let vars = [
        ("WG_HOST", "vpn.example.org"),
        ("PASSWORD_HASH", hash.as_str()),
        ("PORT", "51832"),
        ("WGQ_WEB_TLS_CERT", c.as_str()),
        ("WGQ_WEB_TLS_KEY", k.as_str()),
    ];
    let mut ctr = ns.container(&vars);
    let (ok, seen, _rest) = common::until(&mut ctr, "wgq: running");
    assert!(ok, "{seen}");
    assert!(seen.contains("web page on https://0.0.0.0:51832") && !seen.contains("plain HTTP"), "{seen}");
    assert!(curl(&ns, &format!("--cacert {c} https://192.0.2.1:51832/api/session")).0);
    assert!(!curl(&ns, "http://192.0.2.1:51832/api/session").0, "plain HTTP answered");
    assert_eq!(stop(&mut ctr), Some(0));
    // The key without the certificate: the container stops before wg0 comes up.
    let mut ctr = ns.container(&[vars[0], vars[1], vars[2], vars[4]]);
    let mut err = String::new();
    std::io::Read::read_to_string(ctr.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(ctr.wait().unwrap().code(), Some(1), "{err}");
    assert!(err.contains(&format!("WGQ_WEB_TLS_KEY={k} is set but WGQ_WEB_TLS_CERT is not")), "{err}");
    assert!(!err.contains("[#] ip link add") && !ns.links().contains("wg0"), "{err}");
}
