//! The device wgq programs over UAPI is the one `wg setconf` programs from the stripped
//! config (root; wireguard-go in a throwaway namespace; both compared with `wg showconf`).
//! The kernel-module version of this comparison is tests/vm/bigserver.sh.

mod common;

use std::process::Command;

const K: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const WGQ: &str = env!("CARGO_BIN_EXE_wgq");

fn ready() -> bool {
    common::ready(&["wireguard-go", "wg"])
}

struct Ns(common::Netns);

impl Ns {
    fn sh(&self, cmd: &str) -> String {
        let o = Command::new("bash").arg("-c").arg(cmd.replace("NS", self.0.name())).output().unwrap();
        assert!(o.status.success(), "{cmd}: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

/// The sections of `wg showconf`, peers in a fixed order and each peer's allowed IPs sorted
/// (wireguard-go lists both in an order of its own).
fn canonical(showconf: &str) -> Vec<String> {
    let mut blocks: Vec<String> = Vec::new();
    for line in showconf.lines().filter(|l| !l.is_empty()) {
        if line.starts_with('[') || blocks.is_empty() {
            blocks.push(String::new());
        }
        let line = match line.strip_prefix("AllowedIPs = ") {
            Some(list) => {
                let mut v: Vec<&str> = list.split(", ").collect();
                v.sort();
                format!("AllowedIPs = {}", v.join(", "))
            }
            None => line.to_string(),
        };
        let b = blocks.last_mut().unwrap();
        b.push_str(&line);
        b.push('\n');
    }
    blocks[1..].sort();
    blocks
}

fn key(i: usize, tag: u8) -> String {
    let mut b = [tag; 32];
    b[..8].copy_from_slice(&(i as u64).to_le_bytes());
    wgq::key::Key(b).to_base64()
}

fn config(peers: usize) -> String {
    let mut s = format!("[Interface]\nPrivateKey = {K}\nListenPort = 51999\nFwMark = 0x1234\nTable = off\n");
    for i in 0..peers {
        s += &format!(
            "\n[Peer]\nPublicKey = {}\nAllowedIPs = 10.{}.{}.0/24, fd00::{:x}/128\n",
            key(i, 7),
            i / 250,
            i % 250,
            i + 1
        );
        if i % 3 == 0 {
            s += &format!("PresharedKey = {}\n", key(i, 9));
        }
        match i % 4 {
            0 => s += &format!("Endpoint = 192.0.2.{}:{}\n", i % 250 + 1, 1024 + i),
            1 => s += &format!("Endpoint = [2001:db8::{:x}]:{}\n", i + 1, 2048 + i),
            _ => {}
        }
        if i % 5 == 0 {
            s += "PersistentKeepalive = 25\n";
        }
    }
    // One peer with many allowed IPs, v4 and v6.
    s += &format!("\n[Peer]\nPublicKey = {}\n", key(0, 11));
    for j in 0..1000 {
        s += &format!("AllowedIPs = 172.{}.{}.0/24, 2001:db8:{:x}::/48\n", 16 + j / 250, j % 250, j + 1);
    }
    s
}

#[test]
fn device_programmed_by_wgq_equals_wg_setconf_of_the_stripped_config() {
    if !ready() {
        return;
    }
    let ns = Ns(common::Netns::new(format!("wgqdev-{}", std::process::id())));
    ns.sh("ip -n NS link set lo up");
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (format!("wda{}", common::pid_tag()), format!("wdb{}", common::pid_tag()));
    let conf = dir.path().join(format!("{a}.conf"));
    std::fs::write(&conf, config(300)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600)).unwrap();

    // Under strace when it is there: one netlink socket per protocol per run (issue 6).
    let traced = |what: &str| {
        let log = dir.path().join(format!("sockets.{what}"));
        let strace = if which::which("strace").is_ok() {
            format!("strace -qq -e trace=socket -o {} ", log.display())
        } else {
            eprintln!("note: strace is not installed, sockets not counted");
            String::new()
        };
        ns.sh(&format!("ip netns exec NS {strace}{WGQ} {what} {} 2>/dev/null", conf.display()));
        let calls = std::fs::read_to_string(&log).unwrap_or_default();
        let mut protocols: Vec<&str> = calls.lines().filter_map(|l| l.split("NETLINK_").nth(1)).collect();
        let n = protocols.len();
        assert!(n > 0 || strace.is_empty(), "no netlink socket seen in the trace of `wgq {what}`");
        protocols.sort();
        protocols.dedup();
        assert_eq!(n, protocols.len(), "`wgq {what}` opened a netlink protocol twice:\n{calls}");
    };
    traced("up");
    let by_wgq = ns.sh(&format!("ip netns exec NS wg showconf {a}"));
    // Down first: the second device needs the same listen port.
    traced("down");
    ns.sh(&format!("ip netns exec NS wireguard-go {b} >/dev/null 2>&1"));
    ns.sh(&format!("ip netns exec NS wg setconf {b} <({WGQ} strip {})", conf.display()));
    let by_setconf = ns.sh(&format!("ip netns exec NS wg showconf {b}"));

    assert_eq!(by_wgq.matches("[Peer]").count(), 301, "{by_wgq}");
    assert!(by_wgq.contains("FwMark = 0x1234") && by_wgq.contains("ListenPort = 51999"), "{by_wgq}");
    let (x, y) = (canonical(&by_wgq), canonical(&by_setconf));
    let only_wgq: Vec<&String> = x.iter().filter(|b| !y.contains(b)).collect();
    let only_setconf: Vec<&String> = y.iter().filter(|b| !x.contains(b)).collect();
    assert!(
        x.len() == y.len() && only_wgq.is_empty() && only_setconf.is_empty(),
        "sections only in wgq's device: {only_wgq:#?}\nonly in wg setconf's: {only_setconf:#?}"
    );
    ns.sh(&format!("ip -n NS link del {b}"));
}
