//! The RPM packages (`scripts/build-rpms`, cargo-generate-rpm, the static musl binary of
//! `scripts/build-static`): what each contains (paths, modes) and declares (Requires,
//! Provides, Conflicts, Obsoletes: no library, no glibc version); rpmlint finds no error
//! and no warning that scripts/rpm/rpmlint.toml does not explain; both install, upgrade and
//! erase in a scratch `rpm --root` whose scriptlets run (a static busybox as /bin/sh and a
//! systemctl that records its calls), so what the scriptlets do on install, upgrade and
//! erase is checked; the installed binary runs alone in an empty root (`--version`,
//! `genkey`, `strip`, `check`); and it behaves as the Debian package's binary does on the
//! fixtures (the same `strip` and `check` output, the same version).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const MUSL: &str = "x86_64-unknown-linux-musl";

fn rpm_version() -> String {
    format!("{VERSION}-1")
}

fn have(tool: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Why the packages cannot be built (and unpacked) here, if so.
fn cannot_build() -> Option<String> {
    for tool in ["rpm", "rpm2cpio", "cpio", "cc"] {
        if !have(tool) {
            return Some(format!("{tool} is not installed"));
        }
    }
    if !Command::new(cargo()).args(["generate-rpm", "--version"]).output().is_ok_and(|o| o.status.success()) {
        return Some("cargo-generate-rpm is not installed (cargo install cargo-generate-rpm --locked)".into());
    }
    let sysroot = Command::new("rustc").args(["--print", "sysroot"]).output().unwrap();
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    if !Path::new(&sysroot).join("lib/rustlib").join(MUSL).join("lib").is_dir() {
        return Some(format!("the Rust target {MUSL} is not installed (rustup target add {MUSL})"));
    }
    None
}

/// Why the packages cannot be installed into a scratch root and run in an empty one.
fn cannot_install() -> Option<String> {
    if let Some(why) = cannot_build() {
        return Some(why);
    }
    if !nix::unistd::geteuid().is_root() {
        return Some("not root (rpm --root runs the scriptlets in a chroot)".into());
    }
    if !Path::new("/bin/busybox").is_file() {
        return Some("busybox-static is not installed (the scratch root's /bin/sh)".into());
    }
    None
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs scripts/build-rpms with `args` and returns the paths it printed.
fn build_rpms(args: &[&str], release: Option<&str>) -> Vec<PathBuf> {
    let t = Instant::now();
    let mut c = Command::new(Path::new(ROOT).join("scripts/build-rpms"));
    c.args(args);
    if let Some(r) = release {
        c.env("RPM_RELEASE", r);
    }
    let out = run(&mut c);
    eprintln!("scripts/build-rpms {args:?}: {:.1} s", t.elapsed().as_secs_f64());
    let rpms: Vec<PathBuf> = out.lines().filter(|l| l.ends_with(".rpm")).map(PathBuf::from).collect();
    for r in &rpms {
        eprintln!("{}: {} bytes", r.display(), std::fs::metadata(r).unwrap_or_else(|e| panic!("{}: {e}", r.display())).len());
    }
    rpms
}

/// Both packages, built once for every test of this file: (wgq, wgq-wireguard-tools).
fn build() -> &'static (PathBuf, PathBuf) {
    static BUILT: std::sync::OnceLock<(PathBuf, PathBuf)> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let rpms = build_rpms(&[], None);
        assert_eq!(rpms.len(), 2, "build-rpms printed {rpms:?}");
        let find = |name: &str| {
            let want = format!("{name}-{}.x86_64.rpm", rpm_version());
            rpms.iter()
                .find(|r| r.file_name().unwrap().to_str() == Some(&want))
                .unwrap_or_else(|| panic!("no {want} in {rpms:?}"))
                .clone()
        };
        (find("wgq"), find("wgq-wireguard-tools"))
    })
}

/// `rpm -qp` of one query format over the files: path -> (mode string, link target).
fn contents(rpm: &Path) -> BTreeMap<String, (String, String)> {
    let out = run(Command::new("rpm")
        .arg("-qp")
        .arg("--qf")
        .arg("[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES} %{FILELINKTOS}\n]")
        .arg(rpm));
    let mut m = BTreeMap::new();
    for line in out.lines() {
        let cols: Vec<&str> = line.split(' ').collect();
        assert!(cols.len() >= 3, "{line}");
        assert_eq!(cols[1], "root:root", "{line}: not owned by root");
        m.insert(cols[2].to_string(), (cols[0].to_string(), cols.get(3).copied().unwrap_or("").to_string()));
    }
    // The same list as `rpm -qpl`.
    let listed: Vec<String> = run(Command::new("rpm").arg("-qpl").arg(rpm)).lines().map(str::to_string).collect();
    assert_eq!(listed, m.keys().cloned().collect::<Vec<_>>());
    m
}

fn query(rpm: &Path, what: &str) -> Vec<String> {
    let mut v: Vec<String> =
        run(Command::new("rpm").arg("-qp").arg(format!("--{what}")).arg(rpm)).lines().map(|l| l.trim().to_string()).collect();
    v.sort();
    v
}

fn expect(c: &BTreeMap<String, (String, String)>, path: &str, mode: &str) {
    let (m, _) = c.get(path).unwrap_or_else(|| panic!("missing {path}; contents: {:?}", c.keys().collect::<Vec<_>>()));
    assert_eq!(m, mode, "mode of {path}");
}

const WGQ_FILES: &[(&str, &str)] = &[
    ("/usr/bin/wgq", "-rwxr-xr-x"),
    ("/usr/lib/systemd/system/wgq@.service", "-rw-r--r--"),
    ("/usr/lib/systemd/system/wgq.target", "-rw-r--r--"),
    ("/usr/lib/systemd/system/wgq-reresolve@.service", "-rw-r--r--"),
    ("/usr/lib/systemd/system/wgq-reresolve@.timer", "-rw-r--r--"),
    ("/usr/lib/systemd/system/wgq-expire.service", "-rw-r--r--"),
    ("/usr/lib/systemd/system/wgq-expire.timer", "-rw-r--r--"),
    ("/usr/lib/systemd/system/wgq-web.service", "-rw-r--r--"),
    ("/usr/share/man/man8/wgq.8.gz", "-rw-r--r--"),
    ("/usr/share/bash-completion/completions/wgq", "-rw-r--r--"),
    ("/usr/share/zsh/site-functions/_wgq", "-rw-r--r--"),
    ("/usr/share/fish/vendor_completions.d/wgq.fish", "-rw-r--r--"),
    ("/usr/share/doc/wgq/README.md", "-rw-r--r--"),
    ("/usr/share/doc/wgq/compatibility.md", "-rw-r--r--"),
    ("/usr/share/doc/wgq/packaging.md", "-rw-r--r--"),
];

const COMPAT_FILES: &[(&str, &str)] = &[
    ("/usr/bin/wg", "-rwxr-xr-x"),
    ("/usr/bin/wg-quick", "-rwxr-xr-x"),
    ("/usr/lib/systemd/system/wg-quick@.service", "-rw-r--r--"),
    ("/usr/lib/systemd/system/wg-quick.target", "-rw-r--r--"),
    ("/usr/share/man/man8/wg.8.gz", "-rw-r--r--"),
    ("/usr/share/man/man8/wg-quick.8.gz", "-rw-r--r--"),
    ("/usr/share/bash-completion/completions/wg", "-rw-r--r--"),
    ("/usr/share/bash-completion/completions/wg-quick", "-rw-r--r--"),
    ("/usr/share/zsh/site-functions/_wg", "-rw-r--r--"),
    ("/usr/share/zsh/site-functions/_wg-quick", "-rw-r--r--"),
    ("/usr/share/fish/vendor_completions.d/wg.fish", "-rw-r--r--"),
    ("/usr/share/fish/vendor_completions.d/wg-quick.fish", "-rw-r--r--"),
];

#[test]
fn metadata_names_this_version_and_the_wg_it_follows() {
    let toml = std::fs::read_to_string(Path::new(ROOT).join("Cargo.toml")).unwrap();
    let section = |name: &str| {
        let s = toml.split(&format!("[{name}]\n")).nth(1).unwrap_or_else(|| panic!("no [{name}]"));
        s.split("\n[").next().unwrap().to_string()
    };
    let requires = section("package.metadata.generate-rpm.variants.wireguard-tools.requires");
    assert!(requires.lines().any(|l| l == format!("wgq = \"= {}\"", rpm_version())), "update the variant's requires: {requires}");
    let provides = section("package.metadata.generate-rpm.variants.wireguard-tools.provides");
    assert_eq!(provides.trim(), format!("wireguard-tools = \"= {}\"", wgq::frontend::wg::TOOLS_VERSION));
    // No Obsoletes anywhere: see the comment above the variant in Cargo.toml.
    assert!(
        !toml.contains("generate-rpm.obsoletes") && !toml.contains("wireguard-tools.obsoletes"),
        "an Obsoletes on wireguard-tools"
    );
}

#[test]
fn packages_contain_and_declare_what_the_rhel_family_needs() {
    if let Some(why) = cannot_build() {
        eprintln!("skipped: {why}");
        return;
    }
    let (wgq_rpm, compat_rpm) = build();
    let c = contents(wgq_rpm);
    for (f, mode) in WGQ_FILES {
        expect(&c, f, mode);
    }
    assert_eq!(c.len(), WGQ_FILES.len(), "unexpected files in wgq: {:?}", c.keys().collect::<Vec<_>>());
    let k = contents(compat_rpm);
    for (f, mode) in COMPAT_FILES {
        expect(&k, f, mode);
    }
    assert_eq!(k.len(), COMPAT_FILES.len(), "unexpected files in wgq-wireguard-tools: {:?}", k.keys().collect::<Vec<_>>());
    for f in k.keys() {
        assert!(!c.contains_key(f), "{f} is in both packages");
    }

    // wgq: no library, no glibc version, only the shell of the scriptlets; coexists with
    // wireguard-tools (neither Conflicts nor Obsoletes).
    let requires = query(wgq_rpm, "requires");
    for r in &requires {
        assert!(r == "/bin/sh" || r.starts_with("rpmlib("), "wgq requires {r}: {requires:?}");
        assert!(!r.contains(".so") && !r.contains("GLIBC"), "wgq requires a library: {r}");
    }
    assert!(requires.iter().any(|r| r == "/bin/sh"), "{requires:?}");
    assert!(query(wgq_rpm, "provides").contains(&format!("wgq = {}", rpm_version())));
    assert_eq!(query(wgq_rpm, "conflicts"), Vec::<String>::new());
    assert_eq!(query(wgq_rpm, "obsoletes"), Vec::<String>::new());

    // wgq-wireguard-tools: this wgq, bash for the two scripts; wireguard-tools of the
    // version the wg name follows; Conflicts with wireguard-tools without Obsoleting it
    // (an Obsoletes would make every `dnf upgrade` replace a reinstalled wireguard-tools).
    let requires = query(compat_rpm, "requires");
    assert!(requires.contains(&format!("wgq = {}", rpm_version())), "{requires:?}");
    assert!(requires.iter().any(|r| r == "/bin/bash"), "{requires:?}");
    for r in &requires {
        assert!(r.starts_with("rpmlib(") || ["/bin/sh", "/bin/bash"].contains(&r.as_str()) || r.starts_with("wgq = "), "{r}");
    }
    let provides = query(compat_rpm, "provides");
    assert!(provides.contains(&format!("wireguard-tools = {}", wgq::frontend::wg::TOOLS_VERSION)), "{provides:?}");
    assert!(provides.contains(&format!("wgq-wireguard-tools = {}", rpm_version())), "{provides:?}");
    assert_eq!(query(compat_rpm, "conflicts"), vec!["wireguard-tools".to_string()]);
    assert_eq!(query(compat_rpm, "obsoletes"), Vec::<String>::new());

    // The scriptlets are the repository's files, for /bin/sh, with no macro left to expand.
    for (rpm, dir) in [(wgq_rpm, "scripts/rpm/wgq"), (compat_rpm, "scripts/rpm/wgq-wireguard-tools")] {
        let scripts = run(Command::new("rpm").arg("-qp").arg("--scripts").arg(rpm));
        for s in ["post", "preun", "postun"] {
            let text = std::fs::read_to_string(Path::new(ROOT).join(dir).join(s)).unwrap();
            assert!(scripts.contains(text.trim_end()), "{s} of {} differs from {dir}/{s}:\n{scripts}", rpm.display());
        }
        // Nothing for rpm to expand (the comments name the macros they stand for).
        assert!(
            !scripts.contains("%{") && !scripts.contains("%(") && !scripts.lines().any(|l| l.trim_start().starts_with('%')),
            "{scripts}"
        );
    }

    // The binary: static, for x86_64, no dynamic section asking for a library.
    let dir = tempfile::tempdir().unwrap();
    let bin = unpack(wgq_rpm, dir.path()).join("usr/bin/wgq");
    let elf = std::fs::read(&bin).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF");
    if have("readelf") {
        let headers = run(Command::new("readelf").args(["-l", "-d"]).arg(&bin));
        assert!(!headers.contains("INTERP"), "the binary asks for a dynamic loader:\n{headers}");
        assert!(!headers.contains("(NEEDED)"), "the binary needs a library:\n{headers}");
    }
    // The packaged man pages are the repository's, gzipped.
    // The packaged pages, units and completions are the repository's files.
    unpack(compat_rpm, dir.path());
    for page in ["wgq", "wg", "wg-quick"] {
        let text = run(Command::new("gzip").arg("-dc").arg(dir.path().join(format!("usr/share/man/man8/{page}.8.gz"))));
        assert_eq!(text, std::fs::read_to_string(Path::new(ROOT).join(format!("man/{page}.8"))).unwrap(), "{page}.8");
    }
    for (packaged, source) in [
        ("usr/lib/systemd/system/wgq@.service", "systemd/wgq@.service"),
        ("usr/lib/systemd/system/wg-quick@.service", "systemd/wg-quick@.service"),
        ("usr/share/zsh/site-functions/_wgq", "completions/_wgq"),
        ("usr/share/zsh/site-functions/_wg-quick", "completions/_wg-quick"),
        ("usr/bin/wg", "scripts/rpm/wg"),
        ("usr/bin/wg-quick", "scripts/rpm/wg-quick"),
    ] {
        let got = std::fs::read(dir.path().join(packaged)).unwrap();
        assert!(got == std::fs::read(Path::new(ROOT).join(source)).unwrap(), "{packaged} differs from {source}");
    }
}

/// Unpacks an RPM's payload into `dir` (rpm2cpio | cpio) and returns `dir`.
fn unpack(rpm: &Path, dir: &Path) -> PathBuf {
    let cmd = format!("rpm2cpio '{}' | cpio -idm --quiet --no-absolute-filenames", rpm.display());
    run(Command::new("sh").args(["-c", &cmd]).current_dir(dir));
    dir.to_path_buf()
}

#[test]
fn rpmlint_finds_nothing_unexplained() {
    if let Some(why) = cannot_build() {
        eprintln!("skipped: {why}");
        return;
    }
    if !have("rpmlint") {
        eprintln!("skipped: rpmlint is not installed");
        return;
    }
    let (wgq_rpm, compat_rpm) = build();
    // Every finding kept is filtered, with its reason, in scripts/rpm/rpmlint.toml.
    let out = Command::new("rpmlint")
        .arg("-c")
        .arg(Path::new(ROOT).join("scripts/rpm/rpmlint.toml"))
        .arg(wgq_rpm)
        .arg(compat_rpm)
        .env("HOME", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let findings: Vec<&str> = text.lines().filter(|l| l.contains(": E: ") || l.contains(": W: ")).collect();
    assert!(findings.is_empty(), "rpmlint:\n{text}");
    assert!(out.status.success(), "rpmlint failed:\n{text}");
    assert!(text.contains("2 packages and 0 specfiles checked; 0 errors, 0 warnings"), "rpmlint:\n{text}");
}

/// A scratch rpm root whose scriptlets can run: a static busybox as /bin/sh (and behind
/// a /bin/bash that runs it), `systemctl` recording each call in /systemctl.log, and
/// /run/systemd/system as on a booted system.
struct ScratchRoot(tempfile::TempDir);

impl ScratchRoot {
    fn new() -> ScratchRoot {
        let d = tempfile::tempdir().unwrap();
        for dir in ["bin", "etc", "usr/bin", "run/systemd/system", "tmp", "var/lib/rpm"] {
            std::fs::create_dir_all(d.path().join(dir)).unwrap();
        }
        std::fs::copy("/bin/busybox", d.path().join("bin/busybox")).unwrap();
        // The scriptlets send systemctl's output to /dev/null.
        std::fs::create_dir_all(d.path().join("dev")).unwrap();
        run(Command::new("mknod").args(["-m", "666"]).arg(d.path().join("dev/null")).args(["c", "1", "3"]));
        std::os::unix::fs::symlink("busybox", d.path().join("bin/sh")).unwrap();
        let script = |path: &str, text: &str| {
            let p = d.path().join(path);
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        };
        script("bin/bash", "#!/bin/sh\nexec /bin/sh \"$@\"\n");
        script("usr/bin/systemctl", "#!/bin/sh\necho \"$*\" >>/systemctl.log\n");
        ScratchRoot(d)
    }

    fn path(&self, p: &str) -> PathBuf {
        self.0.path().join(p.trim_start_matches('/'))
    }

    /// `rpm --root R --nodeps ARGS`; the files the scratch root lacks (glibc, bash) are
    /// not in its database.
    fn rpm(&self, args: &[&std::ffi::OsStr]) -> String {
        let mut c = Command::new("rpm");
        c.arg("--root").arg(self.0.path()).arg("--nodeps").args(args);
        let out = c.output().unwrap();
        let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{c:?} failed: {log}");
        log
    }

    fn installed(&self, pkg: &str) -> bool {
        Command::new("rpm").arg("--root").arg(self.0.path()).args(["-q", pkg]).output().unwrap().status.success()
    }

    /// The systemctl calls since the last look.
    fn systemctl_calls(&self) -> Vec<String> {
        let p = self.path("/systemctl.log");
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        let _ = std::fs::remove_file(&p);
        text.lines().map(str::to_string).collect()
    }

    fn mode(&self, p: &str) -> u32 {
        std::os::unix::fs::PermissionsExt::mode(&std::fs::symlink_metadata(self.path(p)).unwrap().permissions()) & 0o7777
    }
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

#[test]
fn packages_install_upgrade_and_erase_in_a_scratch_root() {
    if let Some(why) = cannot_install() {
        eprintln!("skipped: {why}");
        return;
    }
    let (wgq_rpm, compat_rpm) = build();
    let root = ScratchRoot::new();
    root.rpm(&[os("-i"), wgq_rpm.as_os_str()]);
    assert!(root.installed("wgq"));
    for (f, _) in WGQ_FILES {
        assert!(root.path(f).exists(), "{f} is not installed");
    }
    // %post makes /etc/wireguard, 0700.
    assert_eq!(root.mode("/etc/wireguard"), 0o700);
    assert_eq!(root.mode("/usr/bin/wgq"), 0o755);
    // %post: systemd reads the units; nothing is started or enabled.
    assert_eq!(root.systemctl_calls(), vec!["daemon-reload"]);

    root.rpm(&[os("-i"), compat_rpm.as_os_str()]);
    assert_eq!(root.systemctl_calls(), vec!["daemon-reload"]);
    // Through the scripts, the binary is wg and wg-quick (run in the scratch root: its
    // /bin/bash is busybox's sh).
    let chroot = |args: &[&str]| -> Output { Command::new("chroot").arg(root.0.path()).args(args).output().unwrap() };
    let o = chroot(&["/usr/bin/wg", "--version"]);
    let version = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && version.starts_with(&format!("wireguard-tools v{} ", wgq::frontend::wg::TOOLS_VERSION)),
        "wg --version: {o:?}"
    );
    let o = chroot(&["/usr/bin/wg-quick", "--help"]);
    assert!(
        o.status.success() && o.stderr.starts_with(b"Usage: wg-quick [ up | down | save | strip ]"),
        "wg-quick --help: {o:?}"
    );
    let o = chroot(&["/usr/bin/wg", "--bogus"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("Usage: /usr/bin/wg <cmd>"), "wg names argv[0] as given: {o:?}");

    // An upgrade of wgq (release 2) restarts nothing and stops nothing: the new %post
    // reloads systemd, the old %preun (with $1 = 1) does nothing, its %postun reloads.
    let upgrade = build_rpms(&["wgq"], Some("2"));
    assert_eq!(upgrade.len(), 1);
    std::fs::write(root.path("/etc/wireguard/wg0.conf"), "[Interface]\n").unwrap();
    root.rpm(&[os("-U"), upgrade[0].as_os_str()]);
    assert!(root.installed(&format!("wgq-{VERSION}-2")));
    let calls = root.systemctl_calls();
    assert_eq!(calls, vec!["daemon-reload", "daemon-reload"], "an upgrade must not stop or restart tunnels");

    // Erasing the compat package takes its tunnels down, without disabling them (the same
    // unit names come back with wireguard-tools); erasing wgq disables and stops its own.
    root.rpm(&[os("-e"), os("wgq-wireguard-tools")]);
    assert_eq!(root.systemctl_calls(), vec!["stop wg-quick.target", "daemon-reload"]);
    for (f, _) in COMPAT_FILES {
        assert!(std::fs::symlink_metadata(root.path(f)).is_err(), "{f} is left after erase");
    }
    root.rpm(&[os("-e"), os("wgq")]);
    assert_eq!(
        root.systemctl_calls(),
        vec![
            "--no-reload disable wgq.target wgq@.service wgq-reresolve@.timer wgq-expire.timer wgq-web.service",
            "stop wgq.target wgq-reresolve@*.timer wgq-expire.timer wgq-web.service",
            "daemon-reload"
        ]
    );
    assert!(!root.installed("wgq"));
    for (f, _) in WGQ_FILES {
        assert!(std::fs::symlink_metadata(root.path(f)).is_err(), "{f} is left after erase");
    }
    // /etc/wireguard is no file of the package: it stays, with the admin's files.
    assert!(root.path("/etc/wireguard/wg0.conf").is_file(), "erase removed a config");

    // An existing /etc/wireguard (wireguard-tools', or the admin's) keeps its mode.
    let root = ScratchRoot::new();
    std::fs::create_dir_all(root.path("/etc/wireguard")).unwrap();
    std::fs::set_permissions(root.path("/etc/wireguard"), std::os::unix::fs::PermissionsExt::from_mode(0o750)).unwrap();
    root.rpm(&[os("-i"), wgq_rpm.as_os_str()]);
    assert_eq!(root.mode("/etc/wireguard"), 0o750, "%post changed an existing /etc/wireguard");
}

/// The fixtures `strip` and `check` are compared on, by name.
fn fixtures() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in ["fixtures", "fixtures/bad"] {
        for e in std::fs::read_dir(Path::new(ROOT).join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "conf") {
                v.push(p);
            }
        }
    }
    v.sort();
    assert!(v.len() >= 10, "{v:?}");
    v
}

/// Copies the fixtures into `dir/etc/wireguard` (0600), as `NAME.conf`.
fn copy_fixtures(dir: &Path) -> Vec<String> {
    let etc = dir.join("etc/wireguard");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::set_permissions(&etc, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let mut names = Vec::new();
    for (i, f) in fixtures().iter().enumerate() {
        // Interface names of at most 15 bytes.
        let name = format!("fx{i}");
        let p = etc.join(format!("{name}.conf"));
        std::fs::copy(f, &p).unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        names.push(name);
    }
    names
}

/// (status, stdout, stderr) of a command, for comparison.
fn outcome(o: Output) -> (Option<i32>, String, String) {
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn the_installed_binary_runs_alone_in_an_empty_root() {
    if let Some(why) = cannot_install() {
        eprintln!("skipped: {why}");
        return;
    }
    let (wgq_rpm, _) = build();
    let root = ScratchRoot::new();
    root.rpm(&[os("-i"), wgq_rpm.as_os_str()]);
    // Nothing but the binary and the fixtures: no loader, no library, no /dev, no /proc.
    let empty = tempfile::tempdir().unwrap();
    std::fs::copy(root.path("/usr/bin/wgq"), empty.path().join("wgq")).unwrap();
    let names = copy_fixtures(empty.path());
    let entries: Vec<_> = std::fs::read_dir(empty.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    let chroot = |args: &[&str]| Command::new("chroot").arg(empty.path()).arg("/wgq").args(args).output().unwrap();

    let (code, out, err) = outcome(chroot(&["--version"]));
    assert_eq!((code, err.as_str()), (Some(0), ""));
    assert_eq!(out, format!("wgq {VERSION}\ntarget {MUSL}, static (no dynamic loader, no shared library)\n"));
    let (code, key, err) = outcome(chroot(&["genkey"]));
    assert_eq!((code, err.as_str()), (Some(0), ""));
    assert!(wgq::key::SecretKey::from_base64(key.trim_end()).is_ok() && key.ends_with('\n'), "genkey: {key:?}");
    let mut stripped = 0;
    for name in &names {
        let conf = format!("/etc/wireguard/{name}.conf");
        let (code, out, err) = outcome(chroot(&["strip", &conf]));
        assert!(code == Some(0) || code == Some(1), "strip {conf}: {code:?} {err}");
        // The same text as this build's wgq prints for the same file.
        let here =
            outcome(Command::new(env!("CARGO_BIN_EXE_wgq")).arg("strip").arg(empty.path().join(&conf[1..])).output().unwrap());
        assert_eq!((code, &out), (here.0, &here.1), "strip {conf}");
        if code == Some(0) {
            stripped += 1;
        }
        let (code, _, err) = outcome(chroot(&["check", name]));
        assert!(code == Some(0) || code == Some(1), "check {name}: {code:?} {err}");
        assert!(err.contains(&format!("{conf}: ")), "check {name}: {err}");
    }
    assert!(stripped >= 5, "only {stripped} fixtures stripped");
}

#[test]
fn the_rpm_and_the_deb_install_the_same_behaviour() {
    if let Some(why) = cannot_install() {
        eprintln!("skipped: {why}");
        return;
    }
    if !have("dpkg-deb") || !Command::new(cargo()).args(["deb", "--version"]).output().is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: dpkg-deb or cargo-deb is not installed (the Debian package to compare with)");
        return;
    }
    let (wgq_rpm, _) = build();
    // tests/packaging.rs builds the same package: the release build is then up to date.
    let t = Instant::now();
    let out = run(Command::new(Path::new(ROOT).join("scripts/build-debs")).arg("wgq"));
    eprintln!("scripts/build-debs wgq: {:.1} s", t.elapsed().as_secs_f64());
    let deb = out.lines().find(|l| l.ends_with(".deb")).expect("a .deb path");
    let from_deb = tempfile::tempdir().unwrap();
    run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(from_deb.path()));
    let from_rpm = tempfile::tempdir().unwrap();
    unpack(wgq_rpm, from_rpm.path());

    // Each runs in a root of its own holding the same fixtures under the same names (the
    // Debian package's binary needs the host's libraries: its root is the host's, with
    // the fixtures at the same path through a private copy of /etc/wireguard's contents).
    let work = tempfile::tempdir().unwrap();
    let names = copy_fixtures(work.path());
    let dir = work.path().join("etc/wireguard");
    let deb_bin = from_deb.path().join("usr/bin/wgq");
    let rpm_bin = from_rpm.path().join("usr/bin/wgq");
    let (dv, rv) = (run(Command::new(&deb_bin).arg("--version")), run(Command::new(&rpm_bin).arg("--version")));
    assert_eq!(dv.lines().next(), rv.lines().next(), "versions differ");
    assert_eq!(dv.lines().next(), Some(format!("wgq {VERSION}").as_str()));
    assert!(dv.contains(", dynamically linked") && rv.contains(&format!("target {MUSL}, static")), "{dv}{rv}");
    let mut compared = 0;
    for name in &names {
        let conf = dir.join(format!("{name}.conf"));
        for cmd in ["strip", "check"] {
            let d = outcome(Command::new(&deb_bin).arg(cmd).arg(&conf).output().unwrap());
            let r = outcome(Command::new(&rpm_bin).arg(cmd).arg(&conf).output().unwrap());
            assert_eq!(d, r, "`wgq {cmd} {}` differs between the deb's binary and the rpm's", conf.display());
            compared += 1;
        }
    }
    assert_eq!(compared, 2 * names.len());
}

/// A stand-in RPM made with cargo-generate-rpm from a scratch manifest: `name` at
/// `version`, one file, and `requires` (name, version requirement).
fn stand_in(dir: &Path, name: &str, version: &str, file: &str, requires: &[(&str, &str)]) -> PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(d.join("src")).unwrap();
    std::fs::write(d.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(d.join("file"), format!("{name}'s {file}\n")).unwrap();
    let mut toml = format!(
        "[package]\nname = \"{name}\"\nversion = \"{version}\"\nlicense = \"MIT\"\ndescription = \"Stand-in for tests/packaging_rpm.rs\"\n\
         [package.metadata.generate-rpm]\nauto-req = \"no\"\nrequire-sh = false\n\
         assets = [{{ source = \"file\", dest = \"{file}\", mode = \"644\" }}]\n"
    );
    if !requires.is_empty() {
        toml.push_str("[package.metadata.generate-rpm.requires]\n");
        for (n, v) in requires {
            toml.push_str(&format!("{n} = \"{v}\"\n"));
        }
    }
    std::fs::write(d.join("Cargo.toml"), toml).unwrap();
    let out = d.join(format!("{name}.rpm"));
    run(Command::new(cargo()).args(["generate-rpm", "--payload-compress", "gzip", "-o"]).arg(&out).current_dir(&d));
    out
}

/// What rpm's own dependency check says (`rpm --root R -i --test`), without --nodeps.
fn rpm_test_install(root: &ScratchRoot, rpms: &[&Path]) -> String {
    let out = Command::new("rpm").arg("--root").arg(root.0.path()).args(["-i", "--test"]).args(rpms).output().unwrap();
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn rpm_sees_the_swap_with_wireguard_tools() {
    if let Some(why) = cannot_install() {
        eprintln!("skipped: {why}");
        return;
    }
    let (wgq_rpm, compat_rpm) = build();
    let work = tempfile::tempdir().unwrap();
    let tools = stand_in(work.path(), "wireguard-tools", "1.0.20210914", "/usr/bin/wg", &[]);
    // A package that needs wireguard-tools, as Fedora's `wireguard` tooling does.
    let user = stand_in(
        work.path(),
        "needs-wireguard-tools",
        "1.0.0",
        "/usr/share/doc/needs",
        &[("wireguard-tools", ">= 1.0.20200513")],
    );

    // Together, in an empty database: the compat package's Conflicts does not hit its own
    // Provides; only the files of a system (/bin/sh, /bin/bash) are missing.
    let root = ScratchRoot::new();
    let said = rpm_test_install(&root, &[wgq_rpm, compat_rpm]);
    assert!(!said.contains("conflicts"), "{said}");
    for line in said.lines().filter(|l| l.contains("is needed by")) {
        assert!(line.trim_start().starts_with("/bin/sh ") || line.trim_start().starts_with("/bin/bash "), "{said}");
    }

    // With wireguard-tools installed, rpm refuses the compat package (dnf then needs
    // --allowerasing or swap) and accepts wgq next to it.
    root.rpm(&[os("-i"), tools.as_os_str()]);
    let said = rpm_test_install(&root, &[compat_rpm]);
    assert!(said.contains("wireguard-tools conflicts with wgq-wireguard-tools-"), "{said}");
    let said = rpm_test_install(&root, &[wgq_rpm]);
    assert!(!said.contains("conflicts"), "{said}");

    // In its place, the compat package satisfies what needs wireguard-tools.
    root.rpm(&[os("-e"), os("wireguard-tools")]);
    root.rpm(&[os("-i"), wgq_rpm.as_os_str(), compat_rpm.as_os_str()]);
    let said = rpm_test_install(&root, &[&user]);
    assert!(!said.contains("needed by") && !said.contains("conflicts"), "{said}");
    // And wireguard-tools cannot come back while it is installed.
    let said = rpm_test_install(&root, &[&tools]);
    assert!(said.contains("wireguard-tools conflicts with (installed) wgq-wireguard-tools-"), "{said}");
}
