//! Issue 25 for real, with podman (runc: this host's cgroups are hybrid; explicit ulimits;
//! `/dev/net/tun` for wireguard-go, as there is no WireGuard module here). One test, so that
//! the images are built once per run (`scripts/build-image`): their sizes; a wg-easy-style
//! server container and a client container on a podman network, the client's request to an
//! address on a second network that only the server is on arriving from the server's address
//! (the tunnel, then its NAT), and the time from `podman run` to a handshake; a
//! linuxserver-style relay and an app container sharing its network namespace
//! (`--network container:NAME`), whose request leaves through the relay's tunnel; stop and
//! restart (exit 0, the links gone from the namespace, clients kept); a wg-easy 14 volume
//! imported. Traffic only between private addresses on networks the test creates.

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
        for c in &self.containers {
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

#[test]
fn images_a_server_a_client_a_relay_restarts_and_a_wg_easy_volume() {
    if !common::ready(&["podman", "buildah"]) {
        return;
    }
    if !Path::new("/dev/net/tun").exists() {
        eprintln!("skipped: no /dev/net/tun");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let t = Instant::now();
    let built = Command::new(root.join("scripts/build-image")).output().unwrap();
    if !built.status.success() {
        let err = String::from_utf8_lossy(&built.stderr);
        if err.contains("build-static: missing") || err.contains("build-image: missing") {
            eprintln!("skipped: {}", err.lines().find(|l| l.contains("missing")).unwrap_or(""));
            return;
        }
        panic!("build-image failed:\n{err}");
    }
    let names = String::from_utf8_lossy(&built.stdout).into_owned();
    assert_eq!(names, "localhost/wgq:static\nlocalhost/wgq:latest\n");
    eprintln!("images built in {:.1} s", t.elapsed().as_secs_f64());
    let size = |tag: &str| ok(&["image", "inspect", "--format", "{{.Size}}", tag]).trim().parse::<u64>().unwrap();
    let (full, stat) = (size("localhost/wgq:latest"), size("localhost/wgq:static"));
    eprintln!("localhost/wgq:latest {full} B, localhost/wgq:static {stat} B");
    assert!(full <= 25_000_000 && stat <= 8_000_000, "too large: {full} {stat}");
    let mut a = vec!["run", "--rm"];
    a.extend(LIMITS);
    a.extend(["localhost/wgq:static", "--version"]);
    assert!(ok(&a).contains("static"));

    let tag = common::pid_tag();
    let mut made = Made { containers: Vec::new(), networks: Vec::new() };
    // Two networks: the clients' (where the server listens) and one behind the server.
    let (front, back) = (format!("wgqf{tag}"), format!("wgqb{tag}"));
    for (n, subnet) in [(&front, "10.89.77.0/24"), (&back, "10.89.78.0/24")] {
        let _ = podman(&["network", "rm", "-f", n]);
        ok(&["network", "create", "--subnet", subnet, n]);
        made.networks.push(n.clone());
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The target: busybox httpd whose CGI says where a request came from.
    write(&d.join("www/cgi-bin/ip"), "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho \"$REMOTE_ADDR\"\n", 0o755);
    let www = format!("{}:/www", d.join("www").display());
    let target = format!("wgqt{tag}");
    let _ = podman(&["rm", "-f", &target]);
    let mut a = vec!["run", "-d", "--name", &target];
    a.extend(LIMITS);
    let net = format!("{back}:ip=10.89.78.20");
    a.extend([
        "--network",
        &net,
        "-v",
        &www,
        "--entrypoint",
        "/bin/httpd",
        "localhost/wgq:latest",
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
    let (sf, sb) = (format!("{front}:ip=10.89.77.10"), format!("{back}:ip=10.89.78.10"));
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
    run(&mut made, &server, &server_args, &["localhost/wgq:latest"]);
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
    run(
        &mut made,
        &client,
        &["--network", &cf, "--sysctl", "net.ipv4.conf.all.src_valid_mark=1", "-v", &cvol],
        &["localhost/wgq:latest"],
    );
    let took = healthy(&client, &["--handshake-within", "60"], started);
    eprintln!("podman run to a handshake: {:.2} s", took.as_secs_f64());
    assert_eq!(
        seen_from(&client, "10.89.78.20"),
        "10.89.78.10",
        "not through the tunnel and the server's NAT:\n{}",
        logs(&client)
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
        &["localhost/wgq:latest"],
    );
    healthy(&relay, &["--handshake-within", "60"], Instant::now());
    let app = format!("wgqa{tag}");
    let shared = format!("container:{relay}");
    let _ = podman(&["rm", "-f", &app]);
    let mut a = vec!["run", "-d", "--name", &app, "--network", &shared];
    a.extend(LIMITS);
    a.extend(["--entrypoint", "/bin/sleep", "localhost/wgq:latest", "600"]);
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
    // The client restarted too (a client whose session died with the server's device, and
    // that kept running, did not reach the restarted server within 30 s here: left in
    // docs/containers.md): the same file, a handshake, the tunnel and NAT again.
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
    run(&mut made, &easy, &["--network", &ef, "-e", "WG_HOST=10.89.77.50", "-v", &evol], &["localhost/wgq:latest"]);
    healthy(&easy, &[], Instant::now());
    assert!(logs(&easy).contains("imported wg-easy's"), "{}", logs(&easy));
    assert_eq!(std::fs::read_to_string(d.join("easy/wg0.json")).unwrap(), json);
    assert!(d.join("easy/wg0.conf.wg-easy").exists());
    let conf = std::fs::read_to_string(d.join("easy/wg0.conf")).unwrap();
    assert!(conf.contains(&format!("PrivateKey = {sk}")) && conf.contains(&format!("PublicKey = {cpk}")), "{conf}");
    assert!(conf.contains("# Name = my-phone") && conf.contains("# Note = wg-easy name: my phone"), "{conf}");
    let shown = ok(&["exec", &easy, "wgq", "show", "wg0"]);
    assert!(shown.contains(&format!("peer: {cpk}")), "{shown}");
}
