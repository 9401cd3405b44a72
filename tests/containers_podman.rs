//! Issue 25 for real, with podman (runc: this host's cgroups are hybrid; explicit ulimits;
//! `/dev/net/tun` for wireguard-go, as there is no WireGuard module here). The images are
//! built once per run (`scripts/build-image`; `IMAGE_TAG_PREFIX` names them). The first test:
//! their sizes; a wg-easy-style server container and a client container on a podman network,
//! the client's request to an address on a second network that only the server is on
//! arriving from the server's address (the tunnel, then its NAT), and the time from `podman
//! run` to a handshake; a linuxserver-style relay and an app container sharing its network
//! namespace (`--network container:NAME`), whose request leaves through the relay's tunnel;
//! stop and restart (exit 0, the links gone from the namespace, clients kept, a running
//! client reconnected); a wg-easy 14 volume imported. The second: README's wg-easy compose
//! file with podman-compose: a login and a client over the page's API, that client connecting
//! from another container, `down` and `up` (the client kept, connecting again). Traffic only
//! between private addresses on networks the tests create.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn podman(args: &[&str]) -> Output {
    Command::new("podman").args(["--runtime", "runc"]).args(args).output().unwrap_or_else(|e| panic!("podman {args:?}: {e}"))
}

fn ok(args: &[&str]) -> String {
    let o = podman(args);
    assert!(o.status.success(), "podman {args:?}: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const LIMITS: [&str; 4] = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"];

/// What the test made, removed at the end (also when it fails).
struct Made {
    containers: Vec<String>,
    networks: Vec<String>,
}

impl Drop for Made {
    fn drop(&mut self) {
        // The last first: a container in another's network namespace goes before that one.
        for c in self.containers.iter().rev() {
            let _ = podman(&["rm", "-f", "-t", "2", c]);
        }
        for n in &self.networks {
            let _ = podman(&["network", "rm", "-f", n]);
        }
    }
}

/// `podman run -d` with the limits, NET_ADMIN and the tun device.
fn run(made: &mut Made, name: &str, extra: &[&str], image_args: &[&str]) {
    let _ = podman(&["rm", "-f", name]);
    let mut a = vec!["run", "-d", "--name", name, "--cap-add", "NET_ADMIN", "--device", "/dev/net/tun"];
    a.extend(LIMITS);
    a.extend(extra);
    a.extend(image_args);
    ok(&a);
    made.containers.push(name.into());
}

/// Creates network `name` on `subnet`, first removing any network (and its containers) that
/// holds the subnet: one left by a run that was killed before it cleaned up.
fn network(made: &mut Made, name: &str, subnet: &str) {
    let listed = ok(&["network", "ls", "--format", "{{.Name}} {{range .Subnets}}{{.Subnet}} {{end}}"]);
    for line in listed.lines() {
        let mut w = line.split_whitespace();
        if let Some(n) = w.next()
            && (n == name || w.any(|s| s == subnet))
        {
            let _ = podman(&["network", "rm", "-f", n]);
        }
    }
    ok(&["network", "create", "--subnet", subnet, name]);
    made.networks.push(name.into());
}

fn logs(name: &str) -> String {
    let o = podman(&["logs", name]);
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Waits until `wgq health ARGS` passes in the container (15 s); the time it took.
fn healthy(name: &str, args: &[&str], since: Instant) -> Duration {
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let mut a = vec!["exec", name, "wgq", "health"];
        a.extend(args);
        if podman(&a).status.success() {
            return since.elapsed();
        }
        assert!(Instant::now() < end, "{name} not healthy ({args:?}):\n{}", logs(name));
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The address the target's CGI saw the request come from, asked from `container`; tried
/// for up to 15 s while nothing answers (a first request right after the handshake was
/// seen to get no answer here now and then; an answer from a wrong address ends it).
fn seen_from(container: &str, target: &str) -> String {
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let s = seen_once(container, target);
        if !s.is_empty() || Instant::now() > end {
            return s;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn seen_once(container: &str, target: &str) -> String {
    let req = format!("printf 'GET /cgi-bin/ip HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {target} 8080");
    let o = podman(&["exec", container, "sh", "-c", &req]);
    let t = String::from_utf8_lossy(&o.stdout);
    t.lines().last().unwrap_or("").trim().trim_start_matches("[::ffff:").trim_end_matches(']').to_string()
}

fn write(p: &Path, text: &str, mode: u32) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    common::write_file(p, text, mode);
}

/// The images, built once per run by `scripts/build-image` (`IMAGE_TAG_PREFIX`, default
/// localhost/wgq, names them); their name prefix, or None (skipped, the reason printed).
fn images() -> Option<String> {
    static BUILT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let t = Instant::now();
            let built = Command::new(root.join("scripts/build-image")).output().unwrap();
            if !built.status.success() {
                let err = String::from_utf8_lossy(&built.stderr);
                if err.contains("build-static: missing") || err.contains("build-image: missing") {
                    eprintln!("skipped: {}", err.lines().find(|l| l.contains("missing")).unwrap_or(""));
                    return None;
                }
                panic!("build-image failed:\n{err}");
            }
            let prefix = std::env::var("IMAGE_TAG_PREFIX").unwrap_or_else(|_| "localhost/wgq".into());
            let names = String::from_utf8_lossy(&built.stdout).into_owned();
            assert_eq!(names, format!("{prefix}:static\n{prefix}:latest\n"));
            eprintln!("images built in {:.1} s", t.elapsed().as_secs_f64());
            Some(prefix)
        })
        .clone()
}

#[test]
fn images_a_server_a_client_a_relay_restarts_and_a_wg_easy_volume() {
    if !common::ready(&["podman", "buildah", "nft", "nsenter"]) {
        return;
    }
    if !Path::new("/dev/net/tun").exists() {
        eprintln!("skipped: no /dev/net/tun");
        return;
    }
    let Some(prefix) = images() else { return };
    let (latest, static_) = (format!("{prefix}:latest"), format!("{prefix}:static"));
    let size = |tag: &str| ok(&["image", "inspect", "--format", "{{.Size}}", tag]).trim().parse::<u64>().unwrap();
    let (full, stat) = (size(&latest), size(&static_));
    eprintln!("{latest} {full} B, {static_} {stat} B");
    assert!(full <= 25_000_000 && stat <= 8_000_000, "too large: {full} {stat}");
    let mut a = vec!["run", "--rm"];
    a.extend(LIMITS);
    a.extend([static_.as_str(), "--version"]);
    assert!(ok(&a).contains("static"));

    let tag = common::pid_tag();
    // Before `made`: dropped after it, the containers using it gone first.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut made = Made { containers: Vec::new(), networks: Vec::new() };
    // Two networks: the clients' (where the server listens) and one behind the server.
    let (front, back) = (format!("wgqf{tag}"), format!("wgqb{tag}"));
    for (n, subnet) in [(&front, "10.89.77.0/24"), (&back, "10.89.78.0/24")] {
        network(&mut made, n, subnet);
    }
    // The target: busybox httpd whose CGI says where a request came from.
    write(&d.join("www/cgi-bin/ip"), "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho \"$REMOTE_ADDR\"\n", 0o755);
    let www = format!("{}:/www", d.join("www").display());
    let target = format!("wgqt{tag}");
    let _ = podman(&["rm", "-f", &target]);
    let mut a = vec!["run", "-d", "--name", &target];
    a.extend(LIMITS);
    // Also on the clients' network: a neighbour on their LAN.
    let (net, lan) = (format!("{back}:ip=10.89.78.20"), format!("{front}:ip=10.89.77.20"));
    a.extend([
        "--network",
        &net,
        "--network",
        &lan,
        "-v",
        &www,
        "--entrypoint",
        "/bin/httpd",
        latest.as_str(),
        "-f",
        "-p",
        "8080",
        "-h",
        "/www",
    ]);
    ok(&a);
    made.containers.push(target.clone());

    // The server, as the wg-easy compose file has it (WG_DEVICE: its uplink to the back).
    let server = format!("wgqs{tag}");
    let vol = format!("{}:/etc/wireguard", d.join("server").display());
    std::fs::create_dir_all(d.join("server")).unwrap();
    // Named: podman does not keep the order of --network options for eth0, eth1 (a CI run
    // had the back network as eth0, WG_DEVICE then the wrong uplink, no NAT).
    let (sf, sb) = (format!("{front}:ip=10.89.77.10,interface_name=eth0"), format!("{back}:ip=10.89.78.10,interface_name=eth1"));
    let server_args = [
        "--network",
        &sf,
        "--network",
        &sb,
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "-e",
        "WG_HOST=10.89.77.10",
        "-e",
        "WG_DEVICE=eth1",
        "-e",
        "WG_DEFAULT_DNS=",
        "-v",
        &vol,
    ];
    run(&mut made, &server, &server_args, &[&latest]);
    healthy(&server, &[], Instant::now());
    for c in ["c1", "relay"] {
        let o = podman(&["exec", &server, "wgq", "peer", "add", "wg0", c]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let client_file = |n: &str| std::fs::read_to_string(d.join(format!("server/clients/wg0/{n}.conf"))).unwrap();

    // A client container (linuxserver layout), full tunnel: the time to a handshake.
    write(&d.join("client/wg_confs/c1.conf"), &client_file("c1"), 0o600);
    let client = format!("wgqc{tag}");
    let cvol = format!("{}:/config", d.join("client").display());
    let cf = format!("{front}:ip=10.89.77.30");
    let started = Instant::now();
    run(&mut made, &client, &["--network", &cf, "--sysctl", "net.ipv4.conf.all.src_valid_mark=1", "-v", &cvol], &[&latest]);
    let took = healthy(&client, &["--handshake-within", "60"], started);
    eprintln!("podman run to a handshake: {:.2} s", took.as_secs_f64());
    assert_eq!(
        seen_from(&client, "10.89.78.20"),
        "10.89.78.10",
        "not through the tunnel and the server's NAT:\n{}\n--- the server:\n{}\n{}\n--- the target:\n{}",
        logs(&client),
        logs(&server),
        ok(&["exec", &server, "sh", "-c", "wg show wg0; ip neigh; nft list ruleset | head -40"]),
        logs(&target)
    );

    // A relay and an app container in its network namespace.
    write(&d.join("relay/wg_confs/relay.conf"), &client_file("relay"), 0o600);
    let relay = format!("wgqr{tag}");
    let rvol = format!("{}:/config", d.join("relay").display());
    let rf = format!("{front}:ip=10.89.77.40");
    run(
        &mut made,
        &relay,
        &["--network", &rf, "--sysctl", "net.ipv4.conf.all.src_valid_mark=1", "-v", &rvol, "-e", "WGQ_UP_FLAGS=--kill-switch"],
        &[&latest],
    );
    healthy(&relay, &["--handshake-within", "60"], Instant::now());
    let app = format!("wgqa{tag}");
    let shared = format!("container:{relay}");
    let _ = podman(&["rm", "-f", &app]);
    let mut a = vec!["run", "-d", "--name", &app, "--network", &shared];
    a.extend(LIMITS);
    a.extend(["--entrypoint", "/bin/sleep", latest.as_str(), "600"]);
    ok(&a);
    made.containers.push(app.clone());
    assert_eq!(seen_from(&app, "10.89.78.20"), "10.89.78.10", "the app's traffic is not in the relay's tunnel");

    // Stop and restart: exit 0, everything down (the trace), the clients kept.
    let peers_before = std::fs::read_to_string(d.join("server/wg0.conf")).unwrap();
    ok(&["stop", "-t", "10", &server]);
    let code = ok(&["inspect", "--format", "{{.State.ExitCode}}", &server]);
    assert_eq!(code.trim(), "0", "{}", logs(&server));
    let l = logs(&server);
    assert!(l.contains("SIGTERM: stopping") && l.contains("[#] ip link delete dev wg0"), "{l}");
    ok(&["start", &server]);
    healthy(&server, &[], Instant::now());
    let links = ok(&["exec", &server, "ip", "-o", "link"]);
    assert_eq!(links.matches("wg0").count(), 1, "{links}");
    assert_eq!(std::fs::read_to_string(d.join("server/wg0.conf")).unwrap(), peers_before, "the restart changed the file");
    let shown = ok(&["exec", &server, "wgq", "show", "wg0"]);
    assert_eq!(shown.matches("peer: ").count(), 2, "{shown}");
    // The client kept running: it reaches the restarted server (same address, new MAC) once
    // WireGuard's rule starts a new handshake (no answer to data for 15 s). Before the
    // restarted container announced itself (os::announce), the client's neighbour entry
    // kept the old MAC for about 50 s more.
    let t = Instant::now();
    let mut seen = String::new();
    while t.elapsed() < Duration::from_secs(30) && seen != "10.89.78.10" {
        seen = seen_once(&client, "10.89.78.20");
    }
    assert_eq!(seen, "10.89.78.10", "the running client did not reach the restarted server in 30 s:\n{}", logs(&server));
    eprintln!("a running client through the restarted server again after {:.1} s", t.elapsed().as_secs_f64());
    assert!(logs(&server).contains("announced (a broadcast ARP request"), "{}", logs(&server));
    // The client restarted: exit 0, the same file, a handshake, the tunnel and NAT again.
    ok(&["stop", "-t", "10", &client]);
    assert_eq!(ok(&["inspect", "--format", "{{.State.ExitCode}}", &client]).trim(), "0", "{}", logs(&client));
    ok(&["start", &client]);
    healthy(&client, &["--handshake-within", "60"], Instant::now());
    assert_eq!(seen_from(&client, "10.89.78.20"), "10.89.78.10", "no tunnel after the restarts:\n{}", logs(&server));

    // A wg-easy 14 volume: its wg0.json imported, wg-easy's wg0.conf moved aside.
    let key = |args: &[&str], input: Option<&str>| -> String {
        let mut c = Command::new(env!("CARGO_BIN_EXE_wgq"));
        c.args(args).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
        let mut ch = c.spawn().unwrap();
        if let Some(i) = input {
            use std::io::Write;
            ch.stdin.take().unwrap().write_all(i.as_bytes()).unwrap();
        }
        drop(ch.stdin.take());
        String::from_utf8(ch.wait_with_output().unwrap().stdout).unwrap().trim().to_string()
    };
    let (sk, ck) = (key(&["genkey"], None), key(&["genkey"], None));
    let (spk, cpk) = (key(&["pubkey"], Some(&format!("{sk}\n"))), key(&["pubkey"], Some(&format!("{ck}\n"))));
    let json = format!(
        "{{\"server\":{{\"privateKey\":\"{sk}\",\"publicKey\":\"{spk}\",\"address\":\"10.8.0.1\"}},\"clients\":{{\
         \"9f1c\":{{\"id\":\"9f1c\",\"name\":\"my phone\",\"address\":\"10.8.0.2\",\"privateKey\":\"{ck}\",\
         \"publicKey\":\"{cpk}\",\"preSharedKey\":null,\"createdAt\":\"2024-04-01T09:00:00.000Z\",\
         \"updatedAt\":\"2024-04-01T09:00:00.000Z\",\"expiredAt\":null,\"enabled\":true}}}}}}\n"
    );
    write(&d.join("easy/wg0.json"), &json, 0o600);
    write(&d.join("easy/wg0.conf"), &format!("[Interface]\nPrivateKey = {sk}\nAddress = 10.8.0.1/24\n"), 0o600);
    let easy = format!("wgqe{tag}");
    let evol = format!("{}:/etc/wireguard", d.join("easy").display());
    let ef = format!("{front}:ip=10.89.77.50");
    run(&mut made, &easy, &["--network", &ef, "-e", "WG_HOST=10.89.77.50", "-v", &evol], &[&latest]);
    healthy(&easy, &[], Instant::now());
    assert!(logs(&easy).contains("imported wg-easy's"), "{}", logs(&easy));
    assert_eq!(std::fs::read_to_string(d.join("easy/wg0.json")).unwrap(), json);
    assert!(d.join("easy/wg0.conf.wg-easy").exists());
    let conf = std::fs::read_to_string(d.join("easy/wg0.conf")).unwrap();
    assert!(conf.contains(&format!("PrivateKey = {sk}")) && conf.contains(&format!("PublicKey = {cpk}")), "{conf}");
    assert!(conf.contains("# Name = my-phone") && conf.contains("# DisplayName = my phone"), "{conf}");
    let shown = ok(&["exec", &easy, "wgq", "show", "wg0"]);
    assert!(shown.contains(&format!("peer: {cpk}")), "{shown}");

    // The relay's tunnel down (WGQ_UP_FLAGS=--kill-switch): nothing of the app's leaves
    // beside it. What reaches the host from the relay's namespace, but for its encrypted
    // packets to the server, is counted there.
    let leaks = Counter::new(&format!("wgqleak{tag}"), "10.89.77.40", "10.89.77.10");
    // 1. Its device gone (a crashed wireguard-go, `ip link del`) while wgq runs on: the
    // switch rejects the app's requests, to the target behind the gateway and to the LAN
    // neighbour.
    ok(&["exec", &relay, "ip", "link", "delete", "relay"]);
    for to in ["10.89.78.20", "10.89.77.20"] {
        assert_eq!(seen_once(&app, to), "", "the app reached {to} beside the relay's dead tunnel");
    }
    assert_eq!(leaks.count(), 0, "the app's packets left beside the relay's dead tunnel");
    // 2. The relay stopped while the app keeps sending. The runtime takes the network away
    // only after wgq has exited; while the stop removed the switch, the app's requests
    // reached the target in plain meanwhile, now and then (hundreds of packets in a third
    // of a second). As PID 1, wgq leaves the switch: it is still in the namespace that the
    // app holds.
    let again = "while :; do printf 'GET /cgi-bin/ip HTTP/1.0\\r\\n\\r\\n' | nc -w 1 10.89.78.20 8080; done >/dev/null 2>&1";
    ok(&["exec", "-d", &app, "sh", "-c", again]);
    std::thread::sleep(Duration::from_millis(500));
    ok(&["stop", "-t", "10", &relay]);
    assert_eq!(ok(&["inspect", "--format", "{{.State.ExitCode}}", &relay]).trim(), "0", "{}", logs(&relay));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(leaks.count(), 0, "the app's packets left beside the stopping relay's tunnel:\n{}", logs(&relay));
    let pid = ok(&["inspect", "--format", "{{.State.Pid}}", &app]);
    let left = Command::new("nsenter")
        .args(["-t", pid.trim(), "-n", "nft", "list", "table", "inet", "wgq-killswitch-relay"])
        .output()
        .unwrap();
    assert!(left.status.success(), "the switch went with the stop:\n{}", logs(&relay));
    // Without a switch the same goes out: the client, its device gone, reaches the target
    // through the gateway (the host's NAT), and its LAN neighbour.
    // The same count of the client's packets sees them.
    let client_leaks = Counter::new(&format!("wgqleakc{tag}"), "10.89.77.30", "10.89.77.10");
    ok(&["exec", &client, "ip", "link", "delete", "c1"]);
    let beside = seen_from(&client, "10.89.78.20");
    assert!(client_leaks.count() > 0, "the host's count saw none of the client's packets: it proves nothing");
    assert!(
        !beside.is_empty() && beside != "10.89.78.10",
        "no way beside a dead tunnel here ({beside:?}): the test proves nothing"
    );
    assert_eq!(seen_from(&client, "10.89.77.20"), "10.89.77.30");
}

/// An nftables table of the host's that counts the IPv4 packets from `from` reaching it
/// (for itself or to be forwarded), but for UDP to `but`; removed when dropped.
struct Counter(String);

impl Counter {
    fn new(table: &str, from: &str, but: &str) -> Counter {
        let _ = Command::new("nft").args(["delete", "table", "inet", table]).output();
        let rules = format!(
            "table inet {table} {{\n chain pre {{\n type filter hook prerouting priority -400; policy accept;\n \
             ip saddr {from} ip daddr {but} meta l4proto udp accept\n ip saddr {from} counter\n }}\n}}\n"
        );
        let mut nft = Command::new("nft");
        nft.args(["-f", "-"]).stdin(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let o = nft.spawn().and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(rules.as_bytes())?;
            c.wait_with_output()
        });
        let o = o.unwrap();
        assert!(o.status.success(), "nft: {rules}{}", String::from_utf8_lossy(&o.stderr));
        Counter(table.into())
    }

    fn count(&self) -> u64 {
        let o = Command::new("nft").args(["list", "table", "inet", &self.0]).output().unwrap();
        let t = String::from_utf8_lossy(&o.stdout);
        let n = t.split("counter packets ").nth(1).and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse().ok());
        n.unwrap_or_else(|| panic!("no counter in {t}"))
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        let _ = Command::new("nft").args(["delete", "table", "inet", &self.0]).output();
    }
}

/// podman-compose, from the test's environment or the place scripts/install-test-deps puts it.
fn podman_compose() -> Option<String> {
    ["podman-compose", "/opt/wgq-vng/bin/podman-compose"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success()))
        .map(String::from)
}

/// The wg-easy 14 compose file of README's "Run in a container".
fn readme_compose() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let from = readme.find("**wg-easy 14**").expect("README: the wg-easy 14 compose file");
    let block = &readme[from..];
    let start = block.find("```yaml\n").unwrap() + "```yaml\n".len();
    block[start..start + block[start..].find("```").unwrap()].to_string()
}

/// Replaces the one line of `text` that starts (after its indent) with `key`.
fn set_line(text: &str, key: &str, line: &str) -> String {
    let hits: Vec<&str> = text.lines().filter(|l| l.trim_start().starts_with(key)).collect();
    assert_eq!(hits.len(), 1, "{key} in\n{text}");
    let indent = &hits[0][..hits[0].len() - hits[0].trim_start().len()];
    text.replacen(hits[0], &format!("{indent}{line}"), 1)
}

/// What the compose test made, removed at the end (also when it fails).
struct Compose {
    pc: String,
    dir: std::path::PathBuf,
    project: String,
    containers: Vec<String>,
    network: String,
}

impl Compose {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.pc)
            .current_dir(&self.dir)
            .args(["-p", &self.project])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("podman-compose {args:?}: {e}"))
    }

    fn up(&self) {
        let runtime_args = format!("--runtime runc {}", LIMITS.join(" "));
        let o = self.run(&["--podman-run-args", &runtime_args, "up", "-d"]);
        assert!(o.status.success(), "up: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    }

    fn down(&self) {
        let o = self.run(&["down"]);
        assert!(o.status.success(), "down: {}", String::from_utf8_lossy(&o.stderr));
    }
}

impl Drop for Compose {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = podman(&["rm", "-f", "-t", "2", c]);
        }
        let _ = self.run(&["down"]);
        let _ = podman(&["network", "rm", "-f", &self.network]);
    }
}

/// A free TCP port on loopback (and the UDP port of the same number is free as well).
fn free_port() -> u16 {
    loop {
        let t = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = t.local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("0.0.0.0", p)).is_ok() {
            return p;
        }
    }
}

#[test]
fn the_wg_easy_compose_file_with_its_page_a_client_and_a_restart() {
    if !common::ready(&["podman", "buildah", "curl"]) {
        return;
    }
    let Some(pc) = podman_compose() else {
        eprintln!("skipped: podman-compose is not installed (scripts/install-test-deps)");
        return;
    };
    if !Path::new("/dev/net/tun").exists() {
        eprintln!("skipped: no /dev/net/tun");
        return;
    }
    let Some(prefix) = images() else { return };
    let latest = format!("{prefix}:latest");
    let tag = common::pid_tag();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let project = format!("wgqpc{tag}");
    // The project's network, made first so that its address is known: podman-compose takes
    // `PROJECT_default` as it is. The host's end, 10.89.83.1, is where WireGuard's port is
    // published (clients reach a wg-easy server through the host, never by its container's
    // address, which changes at every `up`); the page's port only on loopback.
    let network = format!("{project}_default");
    let _ = podman(&["network", "rm", "-f", &network]);
    ok(&["network", "create", "--subnet", "10.89.83.0/24", &network]);
    let mut made = Compose { pc, dir: d.to_path_buf(), project: project.clone(), containers: Vec::new(), network };
    let (udp, web) = (free_port(), free_port());
    // wg-easy's own hash format ($2a$, bcryptjs), of a known test password.
    let hash = bcrypt::hash_with_result("compose test pw", 8).unwrap().format_for_version(bcrypt::Version::TwoA);
    let mut yaml = readme_compose();
    yaml = set_line(&yaml, "image:", &format!("image: {latest}"));
    yaml = set_line(&yaml, "- WG_HOST=", "- WG_HOST=10.89.83.1");
    yaml = set_line(&yaml, "- PASSWORD_HASH=", &format!("- PASSWORD_HASH={}", hash.replace('$', "$$")));
    // WireGuard's port, the published one (wg-easy's WG_PORT: listened on and given to clients).
    yaml = set_line(&yaml, "- \"51820:51820/udp\"", &format!("- \"10.89.83.1:{udp}:{udp}/udp\""));
    yaml = yaml.replacen("- WG_HOST=", &format!("- WG_PORT={udp}\n      - WG_HOST="), 1);
    yaml = set_line(&yaml, "- \"51821:51821/tcp\"", &format!("- \"127.0.0.1:{web}:51821/tcp\""));
    assert!(yaml.contains("devices: [/dev/net/tun]"), "{yaml}");
    std::fs::write(d.join("compose.yml"), &yaml).unwrap();
    eprintln!("{yaml}");

    let base = format!("http://127.0.0.1:{web}");
    let jar = d.join("jar");
    let curl = |args: &str| -> (bool, String) {
        let o = Command::new("bash")
            .arg("-c")
            .arg(format!("curl -sf -m 5 -b {j} -c {j} {args}", j = jar.display()))
            .output()
            .unwrap();
        (o.status.success(), String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let server = format!("{project}_wg-easy_1");
    let login = |since: Instant| {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let (got, _) = curl(&format!(
                "-H 'Content-Type: application/json' -d '{{\"password\":\"compose test pw\"}}' {base}/api/session"
            ));
            if got {
                return since.elapsed();
            }
            assert!(Instant::now() < end, "no login at {base}:\n{}", logs(&server));
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let started = Instant::now();
    made.up();
    let page = login(started);
    eprintln!("compose up to a login on the page: {:.2} s", page.as_secs_f64());
    let l = logs(&server);
    assert!(l.contains("plain HTTP") && l.contains("web page on http://0.0.0.0:51821"), "{l}");
    assert!(!curl(&format!("-H 'Content-Type: application/json' -d '{{\"password\":\"wrong\"}}' {base}/api/session")).0);
    assert!(curl(&format!("-H 'Content-Type: application/json' -d '{{\"name\":\"laptop\"}}' {base}/api/wireguard/client")).0);
    let (_, list) = curl(&format!("{base}/api/wireguard/client"));
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let id = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(list[0]["address"], "10.1.9.2", "{list}");
    let (got, conf) = curl(&format!("{base}/api/wireguard/client/{id}/configuration"));
    assert!(got && conf.contains(&format!("Endpoint = 10.89.83.1:{udp}")), "{conf}");
    write(&d.join("client/wg_confs/laptop.conf"), &conf, 0o600);

    // A client container on the same network, connecting through the host's published port.
    let client = format!("{project}c");
    let _ = podman(&["rm", "-f", &client]);
    let net = made.network.clone();
    let cvol = format!("{}:/config", d.join("client").display());
    let mut a = vec!["run", "-d", "--name", &client, "--network", &net, "--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW"];
    a.extend(["--device", "/dev/net/tun", "--sysctl", "net.ipv4.conf.all.src_valid_mark=1", "-v", &cvol]);
    a.extend(LIMITS);
    a.push(&latest);
    let run_client = Instant::now();
    ok(&a);
    made.containers.push(client.clone());
    let took = healthy(&client, &["--handshake-within", "60"], run_client);
    eprintln!(
        "client podman run to a handshake: {:.2} s; compose up to that handshake: {:.2} s",
        took.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let ping = |within: Duration| -> Option<Duration> {
        let t = Instant::now();
        while t.elapsed() < within {
            if podman(&["exec", &client, "ping", "-c", "1", "-W", "1", "10.1.9.1"]).status.success() {
                return Some(t.elapsed());
            }
        }
        None
    };
    assert!(ping(Duration::from_secs(10)).is_some(), "no ping through the tunnel:\n{}\n{}", logs(&client), logs(&server));

    // Stopped (SIGTERM): the page and wg0 go down, exit 0. Then down and up: the client is
    // still listed, and the client container (still running) connects to the new server
    // container (a new address behind the same published port).
    let address = |c: &str| ok(&["inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", c]);
    let first = address(&server);
    let o = made.run(&["stop"]);
    assert!(o.status.success(), "stop: {}", String::from_utf8_lossy(&o.stderr));
    let l = logs(&server);
    assert_eq!(ok(&["inspect", "--format", "{{.State.ExitCode}}", &server]).trim(), "0", "{l}");
    assert!(l.contains("SIGTERM: stopping") && l.contains("[#] ip link delete dev wg0"), "{l}");
    made.down();
    let down_at = Instant::now();
    let restarted = Instant::now();
    made.up();
    login(restarted);
    let (_, list) = curl(&format!("{base}/api/wireguard/client"));
    assert!(list.contains("\"name\":\"laptop\"") && list.contains(&id), "{list}");
    let second = address(&server);
    eprintln!("the server container's address: {} before, {} after", first.trim(), second.trim());
    let back = ping(Duration::from_secs(60));
    assert!(back.is_some(), "the client did not reconnect within 60 s:\n{}\n{}", logs(&client), logs(&server));
    let since = (down_at.elapsed().as_secs() + 1).to_string();
    healthy(&client, &["--handshake-within", &since], Instant::now());
    eprintln!(
        "after down and up: the page in {:.2} s, the client's ping through the tunnel {:.2} s after that",
        restarted.elapsed().as_secs_f64() - back.unwrap().as_secs_f64(),
        back.unwrap().as_secs_f64()
    );
}

/// A wg-easy 15 volume (its SQLite database, as `tests/wg_easy15.rs` makes it) under the
/// image with wg-easy 15's settings (no `WG_HOST`; its compose file's sysctls): imported on
/// the first start, the server up with the database's keys, addresses and hooks; an enabled
/// client's imported file (its endpoint set to the container's address) connects, a disabled
/// client's does not; a restart imports nothing again and keeps the file.
#[test]
fn a_wg_easy_15_volume_its_clients_connect_the_disabled_one_does_not() {
    if !common::ready(&["podman", "buildah"]) || !common::easy15::python_ready() {
        return;
    }
    if !Path::new("/dev/net/tun").exists() {
        eprintln!("skipped: no /dev/net/tun");
        return;
    }
    let Some(prefix) = images() else { return };
    let latest = format!("{prefix}:latest");
    let tag = common::pid_tag();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut made = Made { containers: Vec::new(), networks: Vec::new() };
    let net = format!("wgq15{tag}");
    network(&mut made, &net, "10.89.79.0/24");
    let mut s = common::easy15::spec();
    s.clients.truncate(3); // 10.8.0.2 "Laptop", 10.8.0.3 disabled, 10.8.0.4 expiring in 2031
    std::fs::create_dir_all(d.join("easy")).unwrap();
    let _ = common::easy15::make_db(&d.join("easy"), &s);
    let db = std::fs::read(d.join("easy/wg-easy.db")).unwrap();

    let server = format!("wgq15s{tag}");
    let vol = format!("{}:/etc/wireguard", d.join("easy").display());
    let at = format!("{net}:ip=10.89.79.10");
    let v6 = ["--sysctl", "net.ipv6.conf.all.disable_ipv6=0", "--sysctl", "net.ipv6.conf.all.forwarding=1"];
    let mut args = vec!["--network", at.as_str(), "--sysctl", "net.ipv4.ip_forward=1", "-v", &vol];
    args.extend(v6);
    run(&mut made, &server, &args, &[&latest]);
    healthy(&server, &[], Instant::now());
    assert!(logs(&server).contains("imported wg-easy's"), "{}", logs(&server));
    let shown = ok(&["exec", &server, "wgq", "show", "wg0"]);
    assert!(shown.contains(&format!("public key: {}", common::easy15::key(1).public_key().to_base64())), "{shown}");
    assert_eq!(shown.matches("peer: ").count(), 2, "the disabled client is not live:\n{shown}");
    let nat = ok(&["exec", &server, "iptables", "-t", "nat", "-S", "POSTROUTING"]);
    assert!(nat.contains("-s 10.8.0.0/24 -o eth0 -j MASQUERADE"), "the database's PostUp hook:\n{nat}");
    assert_eq!(std::fs::read(d.join("easy/wg-easy.db")).unwrap(), db, "the database was written");

    // The clients' files the import wrote, found by their keys; wg-easy's host name replaced
    // by the container's address.
    let file_of = |n: u32| -> String {
        let k = format!("PrivateKey = {}", common::easy15::key(n).to_base64());
        let found = std::fs::read_dir(d.join("easy/clients/wg0"))
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .find(|t| t.contains(&k));
        let text = found.unwrap_or_else(|| panic!("no client file with the key of client {n}"));
        assert!(text.contains("Endpoint = vpn.example.org:51820"), "{text}");
        // A keepalive: the client tries a handshake at once, with no traffic of its own.
        let text = text.replace("Endpoint = vpn.example.org:51820", "Endpoint = 10.89.79.10:51820\nPersistentKeepalive = 1");
        assert_eq!(text.matches("PersistentKeepalive").count(), 1, "{text}");
        text
    };
    let mut client = |n: u32, ip: &str| -> String {
        let name = format!("wgq15c{n}{tag}");
        write(&d.join(format!("c{n}/wg_confs/c{n}.conf")), &file_of(n), 0o600);
        let cvol = format!("{}:/config", d.join(format!("c{n}")).display());
        let at = format!("{net}:ip={ip}");
        let mut args = vec!["--network", at.as_str(), "--sysctl", "net.ipv4.conf.all.src_valid_mark=1", "-v", &cvol];
        args.extend(v6);
        run(&mut made, &name, &args, &[&latest]);
        healthy(&name, &[], Instant::now());
        name
    };
    let (laptop, disabled) = (client(2, "10.89.79.30"), client(3, "10.89.79.31"));
    let took = healthy(&laptop, &["--handshake-within", "60"], Instant::now());
    eprintln!("a wg-easy 15 client through the imported server: a handshake after {:.2} s", took.as_secs_f64());
    // The disabled one tries for as long (and more) and gets no answer.
    std::thread::sleep(took.max(Duration::from_secs(3)));
    let o = podman(&["exec", &disabled, "wgq", "health", "--handshake-within", "60"]);
    assert!(!o.status.success(), "the disabled client connected: {}", String::from_utf8_lossy(&o.stdout));
    // It did try: its handshake initiations went out.
    let sent = ok(&["exec", &disabled, "wg", "show", "c3", "transfer"]);
    let tx: u64 = sent.split_whitespace().nth(2).and_then(|t| t.parse().ok()).unwrap_or(0);
    assert!(tx > 0, "the disabled client sent nothing: the check proves nothing ({sent:?})");

    // A restart: nothing imported again, the file as it was.
    let before = std::fs::read_to_string(d.join("easy/wg0.conf")).unwrap();
    ok(&["restart", "-t", "10", &server]);
    healthy(&server, &[], Instant::now());
    assert_eq!(logs(&server).matches("imported wg-easy's").count(), 1, "{}", logs(&server));
    assert_eq!(std::fs::read_to_string(d.join("easy/wg0.conf")).unwrap(), before);
}
