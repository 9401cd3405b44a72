//! The binary's two grammars: clap's for the `wgq` name, wg-quick's exactly for the
//! `wg-quick` name (a link) and `wgq wg-quick ARGS...`. Where /usr/bin/wg-quick is
//! installed, the `wg-quick` name is compared with it on command lines that fail before
//! anything is touched. Nothing here creates an interface: every file named does not
//! exist, except a config that is only stripped.

use std::path::{Path, PathBuf};
use std::process::Command;

const WGQ: &str = env!("CARGO_BIN_EXE_wgq");
const WG_QUICK: &str = "/usr/bin/wg-quick";
/// A config path that does not exist (wg-quick and wgq fail on it before anything else).
const MISSING: &str = "/nonexistent-wgq-test/wgqtest0.conf";

#[derive(Debug, PartialEq, Eq)]
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn output(c: &mut Command) -> Out {
    let o = c.output().expect("run");
    Out {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn run(program: &Path, args: &[&str]) -> Out {
    output(Command::new(program).args(args))
}

/// A directory (readable by everyone) with a `wg-quick` link to the binary.
fn link_dir() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let link = d.path().join("wg-quick");
    std::os::unix::fs::symlink(WGQ, &link).unwrap();
    (d, link)
}

fn root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Command lines that are not wg-quick's (its usage, status 1), wgq's own included.
const NOT_WG_QUICK: &[&[&str]] = &[
    &[],
    &["up"],
    &["up", "a", "b"],
    &["UP", MISSING],
    &["up", "--dry-run", MISSING],
    &["help", "x"],
    &["-h", "x"],
    &["--version"],
    &["-V"],
    &["version"],
    &["check", MISSING],
    &["reload", MISSING],
    &["show"],
    &["show", "all"],
    &["showconf", "wgqtest0"],
    &["genkey"],
    &["genpsk"],
    &["pubkey"],
    &["wg-quick", "up", MISSING],
];

#[test]
fn wgq_prints_usage_and_errors_on_stderr_with_status_1() {
    let wgq = Path::new(WGQ);
    let none = run(wgq, &[]);
    assert_eq!(none.code, Some(1), "{none:?}");
    assert!(none.stdout.is_empty() && none.stderr.contains("Usage: wgq <COMMAND>"), "{none:?}");
    for args in [
        &["bogus"][..],
        &["up"],
        &["up", "a", "b"],
        &["up", "--bogus", "wg0"],
        &["strip", "--dry-run", "wg0"],
        &["show", "--dry-run"],
        &["showconf"],
        &["genkey", "x"],
        &["help", "bogus"],
    ] {
        let o = run(wgq, args);
        assert_eq!(o.code, Some(1), "{args:?}: {o:?}");
        assert!(o.stdout.is_empty() && o.stderr.starts_with("error: ") && o.stderr.contains("Usage: wgq"), "{args:?}: {o:?}");
    }
    for args in [&["--help"][..], &["-h"], &["help"], &["help", "up"], &["up", "--help"]] {
        let o = run(wgq, args);
        assert_eq!(o.code, Some(0), "{args:?}: {o:?}");
        assert!(o.stdout.is_empty() && o.stderr.contains("Usage: wgq"), "{args:?}: {o:?}");
    }
    for args in [&["--version"][..], &["-V"], &["version"]] {
        let o = run(wgq, args);
        // The version, then the target and how the binary is linked (os::binary).
        let want = Out { code: Some(0), stdout: wgq::os::binary::version_text(), stderr: String::new() };
        assert!(want.stdout.starts_with(&format!("wgq {}\ntarget ", env!("CARGO_PKG_VERSION"))));
        assert_eq!(o, want, "{args:?}");
    }
}

#[test]
fn the_wg_quick_name_speaks_exactly_wg_quicks_grammar() {
    let (_d, link) = link_dir();
    let usage = wgq::frontend::cli::usage("wg-quick");
    let via_wgq = |args: &[&str]| run(Path::new(WGQ), &[&["wg-quick"], args].concat());
    for &args in NOT_WG_QUICK {
        let o = run(&link, args);
        assert_eq!(o, Out { code: Some(1), stdout: String::new(), stderr: usage.clone() }, "wg-quick {args:?}");
        assert_eq!(via_wgq(args), o, "wgq wg-quick {args:?}");
    }
    for args in [&["help"][..], &["-h"], &["--help"]] {
        let o = run(&link, args);
        assert_eq!(o, Out { code: Some(0), stdout: String::new(), stderr: usage.clone() }, "wg-quick {args:?}");
        assert_eq!(via_wgq(args), o, "wgq wg-quick {args:?}");
    }
    if !root() {
        eprintln!("skipped the rest: up, down, save and strip run through sudo when not root");
        return;
    }
    // Its four commands run, and their messages name wg-quick.
    for cmd in ["up", "down", "save", "strip"] {
        let o = run(&link, &[cmd, MISSING]);
        let want = format!("wg-quick: `{MISSING}' does not exist\n");
        assert_eq!(o, Out { code: Some(1), stdout: String::new(), stderr: want }, "wg-quick {cmd}");
        assert_eq!(via_wgq(&[cmd, MISSING]), o, "wgq wg-quick {cmd}");
        let o = run(Path::new(WGQ), &[cmd, MISSING]);
        assert_eq!(o.stderr, format!("wgq: `{MISSING}' does not exist\n"), "wgq {cmd}");
    }
    // The second argument is taken as given: an interface named `--dry-run`.
    let o = run(&link, &["up", "--dry-run"]);
    assert_eq!(o.stderr, "wg-quick: `/etc/wireguard/--dry-run.conf' does not exist\n");
}

#[test]
fn the_wg_quick_name_matches_wg_quick() {
    if !root() || !Path::new(WG_QUICK).exists() {
        eprintln!("skipped: needs root and {WG_QUICK} (wireguard-tools)");
        return;
    }
    let (_d, link) = link_dir();
    let extra: &[&[&str]] = &[
        &["help"],
        &["-h"],
        &["--help"],
        &["up", MISSING],
        &["down", MISSING],
        &["save", MISSING],
        &["strip", MISSING],
        &["up", "--dry-run"],
        &["strip", "--"],
        &["down", "/nonexistent-wgq-test/not an interface.txt"],
    ];
    for &args in NOT_WG_QUICK.iter().chain(extra) {
        let theirs = run(Path::new(WG_QUICK), args);
        let ours = run(&link, args);
        assert_eq!(ours.code, theirs.code, "wg-quick {args:?}: {ours:?} vs {theirs:?}");
        assert_eq!(ours.stdout, theirs.stdout, "wg-quick {args:?}");
        // Usage texts are worded differently after their first line; messages are equal.
        if theirs.stderr.starts_with("Usage: ") {
            assert_eq!(ours.stderr.lines().next(), theirs.stderr.lines().next(), "wg-quick {args:?}");
        } else {
            assert_eq!(ours.stderr, theirs.stderr, "wg-quick {args:?}");
        }
    }
}

#[test]
fn strip_is_the_same_under_every_name() {
    if !root() {
        eprintln!("skipped: strip runs through sudo when not root");
        return;
    }
    let (d, link) = link_dir();
    let conf = d.path().join("wgqtest0.conf");
    std::fs::copy(format!("{}/fixtures/full-tunnel-client.conf", env!("CARGO_MANIFEST_DIR")), &conf).unwrap();
    let conf = conf.to_str().unwrap();
    let ours = run(Path::new(WGQ), &["strip", conf]);
    assert_eq!(ours.code, Some(0), "{ours:?}");
    assert!(ours.stdout.contains("[Peer]"), "{ours:?}");
    assert_eq!(run(&link, &["strip", conf]), ours);
    assert_eq!(run(Path::new(WGQ), &["wg-quick", "strip", conf]), ours);
}

/// Runs `program args` as nobody, with a `sudo` that prints its arguments as `<arg>` lines.
fn as_nobody(dir: &Path, program: &Path, args: &[&str]) -> Out {
    output(
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(program)
            .args(args)
            .env("PATH", format!("{}:/usr/bin:/bin", dir.display())),
    )
}

#[test]
fn without_root_the_commands_run_again_through_sudo() {
    if !root() || Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("skipped: needs root and setpriv to run as another user");
        return;
    }
    let (d, link) = link_dir();
    let sudo = d.path().join("sudo");
    std::fs::write(&sudo, "#!/bin/sh\nprintf '<%s>\\n' \"$@\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&sudo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = std::fs::canonicalize(WGQ).unwrap();
    let lines = |v: &[&str]| v.iter().map(|a| format!("<{a}>\n")).collect::<String>();
    let prompt = |p: &str| format!("{p} must be run as root. Please enter the password for %u to continue: ");
    let exe = exe.to_str().unwrap();

    let o = as_nobody(d.path(), &link, &["up", MISSING]);
    let want = lines(&["-p", &prompt("wg-quick"), "--", exe, "wg-quick", "up", MISSING]);
    assert_eq!(o, Out { code: Some(0), stdout: want.clone(), stderr: String::new() });
    assert_eq!(as_nobody(d.path(), Path::new(WGQ), &["wg-quick", "up", MISSING]), o);
    let o = as_nobody(d.path(), Path::new(WGQ), &["up", "--dry-run", MISSING]);
    let want = lines(&["-p", &prompt("wgq"), "--", exe, "up", "--dry-run", MISSING]);
    assert_eq!(o, Out { code: Some(0), stdout: want, stderr: String::new() });
    // Usage errors, help and commands that need no root never ask.
    for (args, code) in [(&["up"][..], 1), (&["check", MISSING], 1), (&["help"], 0)] {
        let o = as_nobody(d.path(), &link, args);
        assert_eq!(o.code, Some(code), "{args:?}: {o:?}");
        assert!(o.stdout.is_empty(), "{args:?}: {o:?}");
    }
    let o = as_nobody(d.path(), Path::new(WGQ), &["check", MISSING]);
    assert_eq!(o, Out { code: Some(1), stdout: String::new(), stderr: format!("wgq: `{MISSING}' does not exist\n") });

    // wg-quick itself asks with the same prompt and passes the same arguments on (its own
    // PATH puts /usr/bin first, so only where that holds no real sudo).
    if Path::new(WG_QUICK).exists() && !Path::new("/usr/bin/sudo").exists() {
        for args in [&["up", MISSING][..], &["strip", "--"], &["save", MISSING]] {
            let theirs = as_nobody(d.path(), Path::new(WG_QUICK), args);
            let ours = as_nobody(d.path(), &link, args);
            let t: Vec<&str> = theirs.stdout.lines().collect();
            let o: Vec<&str> = ours.stdout.lines().collect();
            assert_eq!((ours.code, &ours.stderr), (theirs.code, &theirs.stderr), "{args:?}");
            assert_eq!(o[..3], t[..3], "{args:?}: sudo -p PROMPT --");
            assert_eq!(o[o.len() - args.len()..], t[t.len() - args.len()..], "{args:?}: the arguments");
        }
    }
}

/// `up` on a kernel whose module lists name no WireGuard module, with no userspace
/// implementation in PATH: one line saying what to install, before any operation (the
/// module lists are a scratch /lib/modules bind-mounted in a private mount namespace).
#[test]
fn up_refuses_a_kernel_without_wireguard_before_touching_anything() {
    if !root() || Command::new("unshare").arg("--version").output().is_err() {
        eprintln!("skipped: needs root and unshare (a private mount namespace)");
        return;
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap().trim().to_string();
    if std::path::Path::new("/sys/module/wireguard").exists() {
        eprintln!("skipped: the WireGuard module is loaded here");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let modules = dir.path().join("modules");
    std::fs::create_dir_all(modules.join(&release)).unwrap();
    std::fs::write(modules.join(&release).join("modules.dep"), "kernel/drivers/net/tun.ko:\n").unwrap();
    let conf = dir.path().join("wgk0.conf");
    std::fs::write(
        &conf,
        "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\nAddress = 10.0.0.2/32\n\
         [Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nAllowedIPs = 10.0.0.0/24\n",
    )
    .unwrap();
    std::fs::set_permissions(&conf, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let script = format!(
        "mkdir -p /lib/modules && mount --bind '{}' /lib/modules && exec '{WGQ}' up --dry-run '{}'",
        modules.display(),
        conf.display()
    );
    let o = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .env("WG_QUICK_USERSPACE_IMPLEMENTATION", "wgq-no-such-program")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(o.stdout.is_empty(), "planned anyway: {}", String::from_utf8_lossy(&o.stdout));
    // One line; the module to install depends on the kernel's version (5.6 has it in tree).
    let head = format!(
        "wgq: Linux {release} has no WireGuard kernel module and `wgq-no-such-program' (the userspace implementation) \
         is not in PATH: install "
    );
    assert!(err.starts_with(&head) && err.ends_with(", or wireguard-go (or set WG_QUICK_USERSPACE_IMPLEMENTATION)\n"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// `wgq run`'s flags come from WGQ_UP_FLAGS: a value that is not UTF-8 (a Latin-1 no-break
/// space from an env file) is refused before anything, not taken as unset, which would run
/// the tunnel without the `--kill-switch` it holds.
#[test]
fn run_refuses_up_flags_that_are_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let flags = std::ffi::OsStr::from_bytes(b"--kill-switch\xa0--allow-lan");
    let o = output(Command::new(WGQ).args(["run", MISSING]).env("WGQ_UP_FLAGS", flags));
    assert_eq!(o.code, Some(1), "{o:?}");
    assert!(o.stderr.contains("WGQ_UP_FLAGS=`--kill-switch\u{fffd}--allow-lan': not UTF-8"), "{o:?}");
    assert!(!o.stderr.contains("nonexistent-wgq-test"), "the file was looked at: {o:?}");
}
