//! `wgq genkey`, `genpsk` and `pubkey` produce what `wg` produces, in its formats.

use std::io::Write;
use std::process::{Command, Stdio};

const WGQ: &str = env!("CARGO_BIN_EXE_wgq");

fn run(bin: &str, args: &[&str], input: &str) -> String {
    let mut c = Command::new(bin).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    c.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{bin} {args:?}");
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn keys_have_wg_formats() {
    for cmd in ["genkey", "genpsk"] {
        let k = run(WGQ, &[cmd], "");
        assert_eq!(k.len(), 45, "{cmd}: 44 characters and a newline");
        assert!(wgq::key::Key::from_base64(k.trim_end()).is_ok());
    }
    // RFC 7748 §6.1 test vector, base64.
    let alice = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n";
    assert_eq!(run(WGQ, &["pubkey"], alice), "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n");
}

#[test]
fn pubkey_matches_wg() {
    if which::which("wg").is_err() {
        eprintln!("skipped: wg (wireguard-tools) is not installed");
        return;
    }
    for _ in 0..5 {
        let k = run(WGQ, &["genkey"], "");
        assert_eq!(run(WGQ, &["pubkey"], &k), run("wg", &["pubkey"], &k));
        let theirs = run("wg", &["genkey"], "");
        assert_eq!(run(WGQ, &["pubkey"], &theirs), run("wg", &["pubkey"], &theirs));
    }
}

#[test]
fn keys_written_under_umask_077_are_private() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("private.key");
    let st = Command::new("bash").arg("-c").arg(format!("umask 077; {WGQ} genkey > {}", f.display())).status().unwrap();
    assert!(st.success());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
}
