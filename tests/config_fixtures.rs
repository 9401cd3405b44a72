//! The fixtures: every valid one parses and `wgq strip` prints byte for byte what Debian's
//! `wg-quick strip` prints; every bad one yields exactly the diagnostics of its `.expected`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    v.sort();
    assert!(!v.is_empty());
    v
}

#[test]
fn valid_fixtures_parse() {
    for f in fixtures("fixtures") {
        let bytes = std::fs::read(&f).unwrap();
        if let Err(e) = wgq::config::parse(&bytes, &f) {
            panic!("{}: {e}", f.display());
        }
    }
}

#[test]
fn bad_fixtures_report_every_error_with_its_line() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    for f in fixtures("fixtures/bad") {
        let rel = Path::new("fixtures/bad").join(f.file_name().unwrap());
        let want = std::fs::read_to_string(f.with_extension("expected")).unwrap();
        let got = match wgq::config::parse(&std::fs::read(&f).unwrap(), &rel) {
            Ok(_) => panic!("{} parsed", rel.display()),
            Err(e) => e.to_string() + "\n",
        };
        assert_eq!(got, want, "{}", rel.display());
        // The CLI: `check` prints them all and fails; `strip` fails too.
        let o = Command::new(env!("CARGO_BIN_EXE_wgq")).args(["check", rel.to_str().unwrap()]).output().unwrap();
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            err.lines().filter(|l| l.contains(".conf:") && !l.ends_with("error(s)")).count(),
            want.lines().count(),
            "{err}"
        );
    }
}

#[test]
fn strip_is_byte_identical_to_wg_quick() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: wg-quick strip needs root (it re-runs itself through sudo)");
        return;
    }
    if !Path::new("/usr/bin/wg-quick").exists() {
        eprintln!("skipped: /usr/bin/wg-quick is not installed (wireguard-tools)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (i, f) in fixtures("fixtures").into_iter().enumerate() {
        // wg-quick wants `<interface name>.conf`, at most 15 characters.
        let p = dir.path().join(format!("fx{i}.conf"));
        std::fs::copy(&f, &p).unwrap();
        let theirs = Command::new("/usr/bin/wg-quick").arg("strip").arg(&p).output().unwrap();
        let ours = Command::new(env!("CARGO_BIN_EXE_wgq")).arg("strip").arg(&p).output().unwrap();
        assert!(theirs.status.success(), "{}: {}", f.display(), String::from_utf8_lossy(&theirs.stderr));
        assert!(ours.status.success(), "{}: {}", f.display(), String::from_utf8_lossy(&ours.stderr));
        assert!(theirs.stdout == ours.stdout, "{}: wgq strip differs from wg-quick strip", f.display());
    }
}

#[test]
fn check_warns_and_passes_a_good_file() {
    let o = Command::new(env!("CARGO_BIN_EXE_wgq"))
        .args(["check", &format!("{}/fixtures/full-tunnel-client.conf", env!("CARGO_MANIFEST_DIR"))])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}

/// The base64 runs of a file long enough to be keys (what no message may repeat).
fn key_like_runs(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/'))
        .filter(|w| w.len() >= 40)
        .map(|w| w[..40].to_string())
        .collect()
}

#[test]
fn no_output_of_any_command_on_a_bad_file_contains_key_material() {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        eprintln!("skipped (up/reload/strip part): needs root; checking `check` only");
    }
    let dir = tempfile::tempdir().unwrap();
    for f in fixtures("fixtures/bad") {
        let text = std::fs::read_to_string(&f).unwrap();
        let keys = key_like_runs(&text);
        // Up and down want an interface name: the same file as `wgqbad0.conf`.
        let p = dir.path().join("wgqbad0.conf");
        std::fs::write(&p, &text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut runs: Vec<Vec<&str>> = vec![vec!["check"]];
        if root {
            runs.extend([
                vec!["strip"],
                vec!["up", "--dry-run"],
                vec!["up"],
                vec!["reload", "--dry-run"],
                vec!["down"],
                vec!["save"],
            ]);
        }
        for args in runs {
            let o = Command::new(env!("CARGO_BIN_EXE_wgq")).args(&args).arg(&p).output().unwrap();
            assert_ne!(o.status.code(), Some(0), "{args:?} {} succeeded", f.display());
            let out = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
            for k in &keys {
                assert!(!out.contains(k.as_str()), "{args:?} {}: key material in the output:\n{out}", f.display());
            }
        }
    }
}
