//! A userspace control socket that misbehaves, as `wg show` meets it: a fake implementation
//! (a thread serving /var/run/wireguard/<unique name>.sock) answers with values out of their
//! range, or without end. wgq run as wg(8) gives wg(8)'s answer (`Unable to access
//! interface: Protocol error`, status 1; a counter past 2^64-1 saturates), compared with
//! /usr/bin/wg case by case; for endless replies (where wg reads on) wgq ends within its
//! bounds.
//!
//! Needs root (the socket directory). Socket names carry the whole pid: the directory is
//! shared by every namespace and every test running at once.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const WGQ: &str = env!("CARGO_BIN_EXE_wgq");
const PEER: &str = "public_key=0202020202020202020202020202020202020202020202020202020202020202\n";

/// wg(8)'s words for `wg show NAME` (it does not name the interface there).
const PROTOCOL_ERROR: &str = "Unable to access interface: Protocol error\n";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fake implementation of a unique interface: every connection's request is read to its
/// blank line and answered by `reply`. Removed (socket and all) when dropped.
struct Fake {
    name: String,
    path: std::path::PathBuf,
}

impl Fake {
    fn new(reply: impl Fn(&mut std::os::unix::net::UnixStream) + Send + Sync + 'static) -> Fake {
        let name = format!("wu{}{}", common::pid_tag(), NEXT.fetch_add(1, Ordering::SeqCst));
        std::fs::create_dir_all("/var/run/wireguard").unwrap();
        let path = std::path::PathBuf::from(format!("/var/run/wireguard/{name}.sock"));
        let _ = std::fs::remove_file(&path);
        let l = UnixListener::bind(&path).unwrap();
        let reply = std::sync::Arc::new(reply);
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(mut c) = c else { return };
                let reply = reply.clone();
                std::thread::spawn(move || {
                    let mut req = Vec::new();
                    let mut b = [0u8; 1];
                    while !req.ends_with(b"\n\n") && c.read(&mut b).is_ok_and(|n| n == 1) {
                        req.push(b[0]);
                    }
                    reply(&mut c);
                });
            }
        });
        Fake { name, path }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `wg show NAME` by `program` (`wgq wg` or /usr/bin/wg), killed after `limit`.
fn show(program: &[&str], name: &str, limit: Duration) -> Option<Output> {
    let mut c = Command::new(program[0])
        .args(&program[1..])
        .args(["show", name])
        .env("WGQ_HELPER_TIMEOUT", "0.5")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while c.try_wait().unwrap().is_none() {
        if t.elapsed() > limit {
            let _ = c.kill();
            let _ = c.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(c.wait_with_output().unwrap())
}

#[test]
fn out_of_range_values_get_wg_s_protocol_error() {
    if !common::ready(&[]) {
        return;
    }
    let real = std::path::Path::new("/usr/bin/wg").exists();
    let fine =
        format!("listen_port=65535\nfwmark=4294967295\n{PEER}persistent_keepalive_interval=65535\nallowed_ip=10.0.0.0/32\n");
    let cases = [
        (fine.as_str(), true),
        ("listen_port=65536\n", false),
        ("fwmark=4294967296\n", false),
        (&format!("{PEER}persistent_keepalive_interval=65536\n"), false),
        (&format!("{PEER}last_handshake_time_sec=9223372036854775808\n"), false),
        // Counters saturate in wg(8) (strtoull), so they do in wgq.
        (&format!("{PEER}rx_bytes=18446744073709551616\ntx_bytes=99999999999999999999999\n"), true),
        (&format!("{PEER}tx_bytes=1e3\n"), false),
        (&format!("{PEER}last_handshake_time_nsec=9223372036854775808\n"), false),
        (&format!("{PEER}preshared_key=zz\n"), false),
        (&format!("{PEER}allowed_ip=10.0.0.0/4294967329\n"), false),
        (&format!("{PEER}allowed_ip=fd00::/129\n"), false),
    ];
    for (body, ok) in cases {
        let reply = format!("{body}errno=0\n\n");
        let f = Fake::new(move |c| {
            let _ = c.write_all(reply.as_bytes());
        });
        let mine = show(&[WGQ, "wg"], &f.name, Duration::from_secs(10)).expect("wgq did not end");
        let err = String::from_utf8_lossy(&mine.stderr);
        if ok {
            assert!(mine.status.success(), "{body:?}: {err}");
        } else {
            assert_eq!(mine.status.code(), Some(1), "{body:?}: {err}");
            assert_eq!(err, PROTOCOL_ERROR, "{body:?}");
        }
        if real {
            let theirs = show(&["/usr/bin/wg"], &f.name, Duration::from_secs(10)).expect("wg did not end");
            assert_eq!(theirs.status.code(), mine.status.code(), "{body:?}: {}", String::from_utf8_lossy(&theirs.stderr));
            assert_eq!(String::from_utf8_lossy(&theirs.stderr), err, "{body:?}");
        }
    }
    for errno in ["-1", "+5", "2147483648"] {
        let f = Fake::new(move |c| {
            let _ = c.write_all(format!("errno={errno}\n\n").as_bytes());
        });
        let mine = show(&[WGQ, "wg"], &f.name, Duration::from_secs(10)).expect("wgq did not end");
        let err = String::from_utf8_lossy(&mine.stderr).into_owned();
        assert_eq!((mine.status.code(), err.as_str()), (Some(1), PROTOCOL_ERROR), "errno={errno}");
        if real {
            let theirs = show(&["/usr/bin/wg"], &f.name, Duration::from_secs(10)).expect("wg did not end");
            assert_eq!(String::from_utf8_lossy(&theirs.stderr), err, "errno={errno}");
        }
    }
}

#[test]
fn endless_replies_end_within_the_bounds() {
    if !common::ready(&[]) {
        return;
    }
    // WGQ_HELPER_TIMEOUT=0.5: one read waits 0.5 s at most, a whole reply 3 s.
    let endless_line = Fake::new(|c| while c.write_all(&[b'x'; 4096]).is_ok() {});
    let endless_lines = Fake::new(|c| {
        let _ = c.write_all(PEER.as_bytes());
        let chunk = "rx_bytes=1\n".repeat(4096);
        while c.write_all(chunk.as_bytes()).is_ok() {}
    });
    let trickle = Fake::new(|c| {
        while c.write_all(b"f").is_ok() {
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    for f in [&endless_line, &endless_lines, &trickle] {
        let t = Instant::now();
        let o = show(&[WGQ, "wg"], &f.name, Duration::from_secs(15)).expect("wgq still reading after 15 s");
        assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(String::from_utf8_lossy(&o.stderr), PROTOCOL_ERROR);
    }
}
