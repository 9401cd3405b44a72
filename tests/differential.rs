//! The differential suite: Debian's wg-quick and wgq on the same configs, each in a fresh
//! network namespace, compared after every step (tests/diff/harness.sh). Needs root,
//! wg-quick, wireguard-go and nft; skips with the reason otherwise.

use std::process::Command;

fn harness(wgq: &str, scenarios: &[&str]) -> Option<(bool, String)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let out =
        Command::new(format!("{root}/tests/diff/harness.sh")).args(scenarios).env("WGQ", wgq).output().expect("run harness");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(77) {
        eprintln!("{}", text.trim());
        return None;
    }
    Some((out.status.success(), text))
}

#[test]
fn wgq_matches_wg_quick_on_every_scenario() {
    let Some((ok, text)) = harness(env!("CARGO_BIN_EXE_wgq"), &[]) else { return };
    eprintln!("{text}");
    assert!(ok, "differential suite failed:\n{text}");
    assert!(text.contains(" 0 failed"), "{text}");
}

#[test]
fn the_harness_notices_a_tool_that_leaves_state_behind() {
    // A stand-in for wgq: the real wg-quick plus one extra route on `up`.
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("leaky-wgq");
    std::fs::write(
        &fake,
        "#!/bin/bash\n/usr/bin/wg-quick \"$@\" || exit $?\n[ \"$1\" = up ] && ip route add 203.0.113.0/24 dev lo\nexit 0\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let Some((ok, text)) = harness(fake.to_str().unwrap(), &["split-tunnel"]) else { return };
    assert!(!ok, "the harness accepted a tool that left a route behind:\n{text}");
    assert!(text.contains("FAIL split-tunnel") && text.contains("203.0.113.0/24"), "{text}");
}
