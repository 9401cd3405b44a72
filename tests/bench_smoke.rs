//! bench/updown.sh and bench/p2p.sh run end to end, small (issue 6: CI proves the benchmarks work;
//! its figures are read by people, not asserted). Needs root and the userspace tools.

mod common;

use std::process::Command;

#[test]
fn updown_benchmark_prints_its_table() {
    if !common::ready(&["wireguard-go", "wg", "bc", "python3"]) {
        return;
    }
    let with_wg_quick = std::path::Path::new("/usr/bin/wg-quick").exists();
    let mut cmd = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/bench/updown.sh"));
    cmd.arg("30").env("WGQ", env!("CARGO_BIN_EXE_wgq")).env("REPEAT", "2");
    if !with_wg_quick {
        eprintln!("note: /usr/bin/wg-quick missing, the wg-quick row is left out");
        cmd.env("SKIP_WG_QUICK", "1");
    }
    let out = cmd.output().expect("run bench/updown.sh");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "bench/updown.sh failed");
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
    let mut tools: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    tools.sort();
    let mut want = vec!["floor", "wgq"];
    if with_wg_quick {
        want.push("wg-quick");
    }
    want.sort();
    assert_eq!(tools, want, "one row per tool:\n{text}");
    for r in &rows {
        assert_eq!(r[1], "30", "{r:?}");
        for v in &r[2..6] {
            let x: f64 = v.parse().unwrap_or_else(|_| panic!("not a number: {v} in {r:?}"));
            assert!(x > 0.0, "{r:?}");
        }
    }
    let wgq = rows.iter().find(|r| r[0] == "wgq").unwrap();
    let rss: u64 = wgq[6].parse().expect("wgq's peak RSS in KiB");
    assert!(rss > 0 && wgq[7] == "KiB", "{wgq:?}");
}

/// bench/p2p.sh end to end with one connect and a 16-second idle window (longer than the
/// keepalive, so the direct peer exchanges something): its two lines,
/// with a time to a direct path within the tests' 10 s and positive byte counts.
#[test]
fn p2p_benchmark_prints_its_figures() {
    if !common::ready(&["wireguard-go", "nft", "bc", "python3"]) {
        return;
    }
    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/bench/p2p.sh"))
        .env("WGQ", env!("CARGO_BIN_EXE_wgq"))
        .env("REPEAT", "1")
        .env("DURATION", "16")
        .output()
        .expect("run bench/p2p.sh");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "bench/p2p.sh failed");
    let time =
        text.lines().find_map(|l| l.strip_prefix("time from p2p connect to a direct path: median ")).expect("the time line");
    let secs: f64 = time.split(' ').next().unwrap().parse().unwrap();
    assert!(secs > 0.0 && secs < 10.0, "{text}");
    let idle = text.lines().find_map(|l| l.strip_prefix("idle peer, bytes per minute: direct peer ")).expect("the bytes line");
    let direct: u64 = idle.split(',').next().unwrap().trim().parse().unwrap();
    assert!(direct > 0, "{text}");
}
