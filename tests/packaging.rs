//! The Debian packages (`scripts/build-debs`, cargo-deb): what each contains (paths,
//! modes, links) and declares (Depends, Provides, Conflicts, Replaces); that `wgq` shares
//! no file with wireguard-tools (also under /usr-merge aliases) while `wgq-wireguard-tools`
//! takes over wireguard-tools' own paths; and, as root, that `wgq` installs next to
//! wireguard-tools, runs, has units `systemd-analyze verify` accepts and a man page `man`
//! finds, and purges leaving no file behind. The compat package is never installed here (it
//! would remove wireguard-tools, which other tests use): its contents are checked, and it
//! replaces a stand-in wireguard-tools in a scratch `dpkg --root` with a merged /usr.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The files of Debian 12's wireguard-tools that a package taking its place must ship
/// under the same paths (and that `wgq` must not ship under any alias).
const WIREGUARD_TOOLS_FILES: &[&str] = &[
    "/usr/bin/wg",
    "/usr/bin/wg-quick",
    "/lib/systemd/system/wg-quick@.service",
    "/lib/systemd/system/wg-quick.target",
    "/usr/share/bash-completion/completions/wg",
    "/usr/share/bash-completion/completions/wg-quick",
    "/usr/share/man/man8/wg.8.gz",
    "/usr/share/man/man8/wg-quick.8.gz",
];

/// The Debian version cargo-deb gives the packages (revision 1).
fn deb_version() -> String {
    format!("{VERSION}-1")
}

#[test]
fn compat_variant_depends_on_this_wgq_and_provides_the_wg_it_follows() {
    let toml = std::fs::read_to_string(Path::new(ROOT).join("Cargo.toml")).unwrap();
    let variant = toml.split("[package.metadata.deb.variants.wireguard-tools]").nth(1).expect("the variant section");
    let depends = variant.lines().find(|l| l.starts_with("depends = ")).expect("a depends line");
    assert_eq!(depends, format!("depends = \"wgq (= {})\"", deb_version()), "update the variant's depends to the crate version");
    // It provides the wireguard-tools release the wg name follows.
    let provides = variant.lines().find(|l| l.starts_with("provides = ")).expect("a provides line");
    assert_eq!(provides, format!("provides = \"wireguard-tools (= {})\"", wgq::frontend::wg::TOOLS_VERSION));
}

/// One entry of `dpkg-deb -c`: its mode string and, for a link, its target.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    mode: String,
    link: Option<String>,
}

/// `dpkg-deb -c` as absolute paths (directories with a trailing `/`).
fn contents(deb: &Path) -> BTreeMap<String, Entry> {
    let out = Command::new("dpkg-deb").arg("-c").arg(deb).output().unwrap();
    assert!(out.status.success(), "dpkg-deb -c {}: {}", deb.display(), String::from_utf8_lossy(&out.stderr));
    let mut m = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        // drwxr-xr-x 0/0   0 2026-12-01 00:00 ./usr/share/    (or ./usr/bin/wg -> wgq)
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert!(cols.len() >= 6, "unexpected dpkg-deb -c line: {line}");
        let name_at = line.find(" ./").expect("a ./ path") + 1;
        let rest = &line[name_at..];
        let (path, link) = match rest.split_once(" -> ") {
            Some((p, l)) => (p, Some(l.to_string())),
            None => (rest, None),
        };
        let owner = cols[1];
        assert_eq!(owner, "0/0", "{path} is not owned by root");
        m.insert(path.trim_start_matches('.').to_string(), Entry { mode: cols[0].to_string(), link });
    }
    m
}

fn files(c: &BTreeMap<String, Entry>) -> Vec<&str> {
    c.keys().filter(|p| !p.ends_with('/')).map(|p| p.as_str()).collect()
}

/// The path as it is on a merged-/usr system (/lib is /usr/lib).
fn merged(p: &str) -> String {
    match p.strip_prefix("/lib/") {
        Some(rest) => format!("/usr/lib/{rest}"),
        None => p.to_string(),
    }
}

fn field(deb: &Path, name: &str) -> String {
    let out = Command::new("dpkg-deb").arg("-f").arg(deb).arg(name).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn expect(c: &BTreeMap<String, Entry>, path: &str, mode: &str) {
    let e = c.get(path).unwrap_or_else(|| panic!("missing {path}; contents: {:?}", c.keys().collect::<Vec<_>>()));
    assert_eq!(e.mode, mode, "mode of {path}");
    assert_eq!(e.link, None, "{path} is a link");
}

fn expect_link(c: &BTreeMap<String, Entry>, path: &str, target: &str) {
    let e = c.get(path).unwrap_or_else(|| panic!("missing {path}"));
    assert!(e.mode.starts_with('l'), "{path} is not a link: {}", e.mode);
    assert_eq!(e.link.as_deref(), Some(target), "target of {path}");
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{cmd:?} failed: {err}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Status}", pkg])
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout == b"installed")
}

/// Purges `wgq` on drop, so that a failed check does not leave it installed.
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        if installed("wgq") {
            let _ = Command::new("dpkg").args(["--purge", "wgq"]).output();
        }
    }
}

fn have(tool: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success())
}

/// Why the packages cannot be built here (and installed into a scratch dpkg root), if so.
fn cannot_build() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("not root (dpkg installs the packages, into the system and a scratch root)".into());
    }
    for tool in ["dpkg", "dpkg-deb", "dpkg-query", "gzip"] {
        if !have(tool) {
            return Some(format!("{tool} is not installed"));
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    if !Command::new(cargo).args(["deb", "--version"]).output().is_ok_and(|o| o.status.success()) {
        return Some("cargo-deb is not installed (cargo install cargo-deb --locked)".into());
    }
    None
}

/// Why the `wgq` package cannot be installed on this machine, if so.
fn cannot_install() -> Option<String> {
    if let Some(why) = cannot_build() {
        return Some(why);
    }
    for tool in ["systemd-analyze", "man", "bash"] {
        if !have(tool) {
            return Some(format!("{tool} is not installed"));
        }
    }
    for pkg in ["wgq", "wgq-wireguard-tools"] {
        if installed(pkg) {
            return Some(format!("the {pkg} package is installed here; this test installs and purges its own"));
        }
    }
    None
}

/// Both packages, built once by scripts/build-debs for every test: (wgq, wgq-wireguard-tools).
fn build() -> &'static (PathBuf, PathBuf) {
    static BUILT: std::sync::OnceLock<(PathBuf, PathBuf)> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let t = Instant::now();
        let out = run(&mut Command::new(Path::new(ROOT).join("scripts/build-debs")));
        eprintln!("scripts/build-debs: {:.1} s", t.elapsed().as_secs_f64());
        let debs: Vec<PathBuf> = out.lines().filter(|l| l.ends_with(".deb")).map(PathBuf::from).collect();
        assert_eq!(debs.len(), 2, "build-debs printed {out:?}");
        for d in &debs {
            eprintln!("{}: {} bytes", d.display(), std::fs::metadata(d).unwrap().len());
        }
        let find = |name: &str| {
            debs.iter()
                .find(|d| d.file_name().unwrap().to_str().unwrap().starts_with(&format!("{name}_{}_", deb_version())))
                .unwrap_or_else(|| panic!("no {name} package in {debs:?}"))
                .clone()
        };
        (find("wgq"), find("wgq-wireguard-tools"))
    })
}

fn check_wgq_package(deb: &Path) -> BTreeMap<String, Entry> {
    let c = contents(deb);
    expect(&c, "/usr/bin/wgq", "-rwxr-xr-x");
    for f in [
        "/lib/systemd/system/wgq@.service",
        "/lib/systemd/system/wgq.target",
        "/lib/systemd/system/wgq-reresolve@.service",
        "/lib/systemd/system/wgq-reresolve@.timer",
        "/lib/systemd/system/wgq-expire.service",
        "/lib/systemd/system/wgq-expire.timer",
        "/lib/systemd/system/wgq-web.service",
        "/usr/share/man/man8/wgq.8.gz",
        "/usr/share/bash-completion/completions/wgq",
        "/usr/share/zsh/vendor-completions/_wgq",
        "/usr/share/fish/vendor_completions.d/wgq.fish",
        "/usr/share/doc/wgq/README.md",
        "/usr/share/doc/wgq/compatibility.md",
        "/usr/share/doc/wgq/packaging.md",
        "/usr/share/doc/wgq/copyright",
    ] {
        expect(&c, f, "-rw-r--r--");
    }
    // Every file is wgq's by name: nothing that wireguard-tools has, under any alias.
    for f in files(&c) {
        assert!(f.contains("wgq"), "{f} in the wgq package is not named after wgq");
        assert!(!WIREGUARD_TOOLS_FILES.iter().any(|w| merged(w) == merged(f)), "{f} is also wireguard-tools'");
        assert!(!f.starts_with("/usr/lib/systemd/"), "{f}: units go to /lib/systemd/system, as Debian 12's");
    }
    for d in c.keys().filter(|p| p.ends_with('/')) {
        assert_eq!(c[d].mode, "drwxr-xr-x", "mode of {d}");
    }
    assert_eq!(field(deb, "Package"), "wgq");
    assert_eq!(field(deb, "Version"), deb_version());
    assert!(field(deb, "Depends").starts_with("libc6"), "Depends: {}", field(deb, "Depends"));
    for f in ["Provides", "Conflicts", "Replaces", "Breaks"] {
        assert_eq!(field(deb, f), "", "wgq must coexist with wireguard-tools: {f}");
    }
    c
}

fn check_compat_package(deb: &Path, wgq: &BTreeMap<String, Entry>) {
    let c = contents(deb);
    expect_link(&c, "/usr/bin/wg", "wgq");
    expect_link(&c, "/usr/bin/wg-quick", "wgq");
    for f in WIREGUARD_TOOLS_FILES.iter().filter(|f| !f.starts_with("/usr/bin/")) {
        expect(&c, f, "-rw-r--r--");
    }
    for f in [
        "/usr/share/zsh/vendor-completions/_wg",
        "/usr/share/zsh/vendor-completions/_wg-quick",
        "/usr/share/fish/vendor_completions.d/wg.fish",
        "/usr/share/fish/vendor_completions.d/wg-quick.fish",
        "/usr/share/doc/wgq-wireguard-tools/copyright",
    ] {
        expect(&c, f, "-rw-r--r--");
    }
    for f in files(&c) {
        assert!(!wgq.contains_key(f), "{f} is in both packages");
        assert!(!f.starts_with("/usr/lib/systemd/"), "{f}: units go to /lib/systemd/system, as wireguard-tools'");
    }
    assert_eq!(field(deb, "Package"), "wgq-wireguard-tools");
    assert_eq!(field(deb, "Version"), deb_version());
    assert_eq!(field(deb, "Depends"), format!("wgq (= {})", deb_version()));
    assert_eq!(field(deb, "Conflicts"), "wireguard-tools");
    assert_eq!(field(deb, "Replaces"), "wireguard-tools");
    assert_eq!(field(deb, "Provides"), format!("wireguard-tools (= {})", wgq::frontend::wg::TOOLS_VERSION));

    // The packaged units, man pages and completions are the repository's files.
    let dir = tempfile::tempdir().unwrap();
    run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(dir.path()));
    for (packaged, source) in [
        ("lib/systemd/system/wg-quick@.service", "systemd/wg-quick@.service"),
        ("lib/systemd/system/wg-quick.target", "systemd/wg-quick.target"),
        ("usr/share/bash-completion/completions/wg", "completions/wg.bash"),
        ("usr/share/bash-completion/completions/wg-quick", "completions/wg-quick.bash"),
    ] {
        let got = std::fs::read(dir.path().join(packaged)).unwrap();
        assert!(got == std::fs::read(Path::new(ROOT).join(source)).unwrap(), "{packaged} differs from {source}");
    }
    for page in ["wg", "wg-quick"] {
        let gz = dir.path().join(format!("usr/share/man/man8/{page}.8.gz"));
        let text = run(Command::new("gzip").arg("-dc").arg(&gz));
        assert_eq!(text, std::fs::read_to_string(Path::new(ROOT).join(format!("man/{page}.8"))).unwrap(), "{page}.8");
    }
}

#[test]
fn packages_build_install_and_purge() {
    if let Some(why) = cannot_install() {
        eprintln!("skipped: {why}");
        return;
    }
    let (wgq_deb, compat_deb) = build();
    let wgq = check_wgq_package(wgq_deb);
    check_compat_package(compat_deb, &wgq);

    let tools_before = installed("wireguard-tools");
    let etc_before = std::fs::metadata("/etc/wireguard").ok().map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()));
    let _purge = Purge;
    run(Command::new("dpkg").arg("-i").arg(wgq_deb));
    assert!(installed("wgq"));
    assert_eq!(installed("wireguard-tools"), tools_before, "installing wgq changed wireguard-tools");
    for f in files(&wgq) {
        assert!(Path::new(f).exists(), "{f} is not installed");
    }
    match etc_before {
        Some(mode) => assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata("/etc/wireguard").unwrap().permissions()),
            mode,
            "the postinst changed an existing /etc/wireguard"
        ),
        None => {
            let m = std::fs::metadata("/etc/wireguard").expect("postinst creates /etc/wireguard");
            assert_eq!(std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777, 0o700);
        }
    }

    // The Debian packages ship the build machine's glibc-linked binary.
    let version = run(Command::new("/usr/bin/wgq").arg("--version"));
    assert_eq!(version, format!("wgq {VERSION}\ntarget {}, dynamically linked\n", wgq::os::binary::TARGET));
    // The installed units, found by name on systemd's own unit path.
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new("systemd-analyze")
        .args([
            "verify",
            "--man=no",
            "wgq@wg0.service",
            "wgq.target",
            "wgq-reresolve@wg0.service",
            "wgq-reresolve@wg0.timer",
            "wgq-expire.service",
            "wgq-expire.timer",
            "wgq-web.service",
        ])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "systemd-analyze verify: {err}");
    assert_eq!(run(Command::new("man").args(["-w", "wgq"])).trim(), "/usr/share/man/man8/wgq.8.gz");
    let out = Command::new("man").args(["--warnings", "-P", "cat", "wgq"]).env("MANWIDTH", "80").output().unwrap();
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && page.contains("wgq - set up a WireGuard interface"), "man wgq: {page}");
    assert!(out.stderr.is_empty(), "man wgq warns: {}", String::from_utf8_lossy(&out.stderr));
    let complete = run(Command::new("bash").args(["-c", ". /usr/share/bash-completion/completions/wgq && complete -p wgq"]));
    assert_eq!(complete.trim(), "complete -F _wgq wgq");

    run(Command::new("dpkg").args(["--purge", "wgq"]));
    assert!(!installed("wgq"));
    assert!(!Command::new("dpkg-query").args(["-W", "wgq"]).output().unwrap().status.success(), "dpkg still knows wgq");
    for f in files(&wgq) {
        assert!(std::fs::symlink_metadata(f).is_err(), "{f} is left after purge");
    }
    assert!(!Path::new("/usr/share/doc/wgq").exists(), "/usr/share/doc/wgq is left after purge");
    assert_eq!(installed("wireguard-tools"), tools_before, "purging wgq changed wireguard-tools");
    // /etc/wireguard: wireguard-tools' stays; one the postinst made goes (when empty).
    if tools_before {
        assert!(Path::new("/etc/wireguard").is_dir(), "purging wgq removed wireguard-tools' /etc/wireguard");
    } else if etc_before.is_none() {
        assert!(!Path::new("/etc/wireguard").exists(), "/etc/wireguard made by the postinst is left after purge");
    }
}

/// A scratch dpkg root with a merged /usr (`lib` -> `usr/lib`, as on Debian 12) and an
/// empty package database; maintainer scripts run outside it with `$DPKG_ROOT` set (ours
/// then change only files below it).
struct ScratchRoot(tempfile::TempDir);

impl ScratchRoot {
    fn new() -> ScratchRoot {
        let d = tempfile::tempdir().unwrap();
        for dir in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "usr/lib", "usr/bin", "etc"] {
            std::fs::create_dir_all(d.path().join(dir)).unwrap();
        }
        for f in ["var/lib/dpkg/status", "var/lib/dpkg/available"] {
            std::fs::write(d.path().join(f), "").unwrap();
        }
        std::os::unix::fs::symlink("usr/lib", d.path().join("lib")).unwrap();
        ScratchRoot(d)
    }

    fn path(&self, p: &str) -> PathBuf {
        self.0.path().join(p.trim_start_matches('/'))
    }

    /// `dpkg --root ACTION WHAT`, its output and messages; libc6 and the like are not in the scratch database.
    fn dpkg(&self, action: &str, what: impl AsRef<std::ffi::OsStr>) -> String {
        let mut c = Command::new("dpkg");
        c.arg(format!("--root={}", self.0.path().display()))
            .args(["--force-script-chrootless", "--force-depends", action])
            .arg(what.as_ref());
        let out = c.output().unwrap();
        let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{c:?} failed: {log}");
        log
    }

    fn status(&self, pkg: &str) -> String {
        let out = Command::new("dpkg-query")
            .arg(format!("--root={}", self.0.path().display()))
            .args(["-W", "-f=${db:Status-Status}", pkg])
            .output()
            .unwrap();
        if out.status.success() { String::from_utf8_lossy(&out.stdout).into_owned() } else { "unknown".into() }
    }
}

/// A stand-in for Debian 12's wireguard-tools: its files (by path; the content names the
/// stand-in), its /etc/wireguard, no maintainer scripts.
fn fake_wireguard_tools(dir: &Path) -> PathBuf {
    let tree = dir.join("wireguard-tools");
    std::fs::create_dir_all(tree.join("DEBIAN")).unwrap();
    std::fs::write(
        tree.join("DEBIAN/control"),
        "Package: wireguard-tools\nVersion: 1.0.20210914-1\nArchitecture: all\nMaintainer: tests <root@localhost>\n\
         Description: stand-in for tests/packaging.rs\n",
    )
    .unwrap();
    for f in WIREGUARD_TOOLS_FILES {
        let p = tree.join(f.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, format!("wireguard-tools' {f}\n")).unwrap();
    }
    std::fs::create_dir_all(tree.join("etc/wireguard")).unwrap();
    let deb = dir.join("wireguard-tools.deb");
    run(Command::new("dpkg-deb").arg("--root-owner-group").arg("-b").arg(&tree).arg(&deb));
    deb
}

#[test]
fn compat_package_replaces_wireguard_tools_in_a_scratch_root() {
    if let Some(why) = cannot_build() {
        eprintln!("skipped: {why}");
        return;
    }
    let (wgq_deb, compat_deb) = build();
    let work = tempfile::tempdir().unwrap();
    let tools_deb = fake_wireguard_tools(work.path());
    let root = ScratchRoot::new();
    root.dpkg("-i", &tools_deb);
    root.dpkg("-i", wgq_deb);
    assert_eq!(root.status("wireguard-tools"), "installed", "wgq must coexist with wireguard-tools");
    assert!(std::fs::read_to_string(root.path("/usr/bin/wg")).unwrap().starts_with("wireguard-tools'"));

    // dpkg removes wireguard-tools in favour of the compat package (Conflicts + Replaces),
    // and every path the two share is then the compat package's file.
    let log = root.dpkg("-i", compat_deb);
    assert!(log.contains("will remove wireguard-tools in favour of wgq-wireguard-tools"), "{log}");
    assert_eq!(root.status("wireguard-tools"), "not-installed");
    assert_eq!(root.status("wgq-wireguard-tools"), "installed");
    assert_eq!(std::fs::read_link(root.path("/usr/bin/wg")).unwrap(), Path::new("wgq"));
    assert_eq!(std::fs::read_link(root.path("/usr/bin/wg-quick")).unwrap(), Path::new("wgq"));
    assert!(root.path("/usr/bin/wg").is_file(), "/usr/bin/wg does not lead to wgq");
    // Through the links, the binary is wg and wg-quick.
    let version = run(Command::new(root.path("/usr/bin/wg")).arg("--version"));
    assert!(version.starts_with(&format!("wireguard-tools v{} ", wgq::frontend::wg::TOOLS_VERSION)), "wg --version: {version}");
    let out = Command::new(root.path("/usr/bin/wg-quick")).arg("--help").output().unwrap();
    assert!(out.status.success() && out.stderr.starts_with(b"Usage: wg-quick [ up | down | save | strip ]"), "wg-quick --help");
    for (unit, source) in [
        ("/lib/systemd/system/wg-quick@.service", "systemd/wg-quick@.service"),
        ("/lib/systemd/system/wg-quick.target", "systemd/wg-quick.target"),
    ] {
        let got = std::fs::read(root.path(unit)).unwrap_or_else(|e| panic!("{unit} lost when wireguard-tools was removed: {e}"));
        assert!(got == std::fs::read(Path::new(ROOT).join(source)).unwrap(), "{unit} is not the compat package's");
    }
    for f in WIREGUARD_TOOLS_FILES {
        let text = std::fs::read(root.path(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(!text.starts_with(b"wireguard-tools'"), "{f} is still wireguard-tools'");
    }
    let etc = std::fs::metadata(root.path("/etc/wireguard")).expect("postinst recreates /etc/wireguard");
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&etc.permissions()) & 0o7777, 0o700);

    // Removing it leaves wgq; wireguard-tools installs again in its place.
    root.dpkg("--purge", "wgq-wireguard-tools");
    for f in WIREGUARD_TOOLS_FILES {
        assert!(std::fs::symlink_metadata(root.path(f)).is_err(), "{f} left by the compat package");
    }
    assert!(root.path("/usr/bin/wgq").is_file() && root.path("/lib/systemd/system/wgq@.service").is_file());
    root.dpkg("-i", &tools_deb);
    assert_eq!(root.status("wireguard-tools"), "installed");
    root.dpkg("--purge", "wgq");
    assert!(std::fs::symlink_metadata(root.path("/usr/bin/wgq")).is_err());
    assert!(root.path("/etc/wireguard").is_dir(), "purging wgq removed wireguard-tools' /etc/wireguard");

    // The check above can fail: the same package with its units under /usr/lib (another
    // path for the same file on a merged /usr) loses them when dpkg removes wireguard-tools.
    let tree = work.path().join("usr-lib-variant");
    run(Command::new("dpkg-deb").arg("-R").arg(compat_deb).arg(&tree));
    std::fs::create_dir_all(tree.join("usr/lib")).unwrap();
    std::fs::rename(tree.join("lib/systemd"), tree.join("usr/lib/systemd")).unwrap();
    std::fs::remove_dir(tree.join("lib")).unwrap();
    let moved = work.path().join("usr-lib-variant.deb");
    run(Command::new("dpkg-deb").arg("--root-owner-group").arg("-b").arg(&tree).arg(&moved));
    let root = ScratchRoot::new();
    root.dpkg("-i", &tools_deb);
    root.dpkg("-i", wgq_deb);
    root.dpkg("-i", &moved);
    assert!(!root.path("/usr/lib/systemd/system/wg-quick@.service").exists(), "the /usr/lib control lost no unit");
}
