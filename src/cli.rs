//! Command-line grammar. wg-quick's four commands keep its exact grammar, exit codes and
//! usage-on-stderr behaviour (reference §1); wgq's additions follow the same shape.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `help`, `-h`, `--help` as the only argument: usage on stderr, exit 0.
    Help,
    Up {
        target: String,
        dry_run: bool,
    },
    Down {
        target: String,
        dry_run: bool,
    },
    Save {
        target: String,
    },
    Strip {
        target: String,
    },
    Check {
        target: String,
    },
    Reload {
        target: String,
        dry_run: bool,
    },
    Show {
        interface: Option<String>,
        json: bool,
    },
    Showconf {
        interface: String,
    },
    Genkey,
    Genpsk,
    Pubkey,
    Version,
}

impl Command {
    /// Commands that change or read privileged state re-run themselves through sudo
    /// when the real uid is not 0, like wg-quick.
    pub fn needs_root(&self) -> bool {
        matches!(
            self,
            Command::Up { .. }
                | Command::Down { .. }
                | Command::Save { .. }
                | Command::Strip { .. }
                | Command::Reload { .. }
                | Command::Show { .. }
                | Command::Showconf { .. }
        )
    }
}

/// One entry of the command table: the single source for usage, the man page and completions.
pub struct CommandSpec {
    pub name: &'static str,
    pub args: &'static str,
    pub options: &'static [(&'static str, &'static str)],
    pub about: &'static str,
}

/// Every command wgq accepts, in the order the usage text lists them.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "up",
        args: "CONFIG_FILE | INTERFACE",
        options: &[("--dry-run", "print the plan instead of applying it")],
        about: "create and configure the interface; everything is rolled back if any step fails",
    },
    CommandSpec {
        name: "down",
        args: "CONFIG_FILE | INTERFACE",
        options: &[("--dry-run", "print the plan instead of applying it")],
        about: "remove the interface and everything up added for it",
    },
    CommandSpec {
        name: "save",
        args: "CONFIG_FILE | INTERFACE",
        options: &[],
        about: "write the running configuration of the interface back to its file",
    },
    CommandSpec {
        name: "strip",
        args: "CONFIG_FILE | INTERFACE",
        options: &[],
        about: "print the configuration without wg-quick's keys, as wg(8) reads it",
    },
    CommandSpec {
        name: "check",
        args: "CONFIG_FILE | INTERFACE",
        options: &[],
        about: "validate the file and print every error and warning, changing nothing",
    },
    CommandSpec {
        name: "reload",
        args: "CONFIG_FILE | INTERFACE",
        options: &[("--dry-run", "print the plan instead of applying it")],
        about: "bring the running interface to the file without recreating it",
    },
    CommandSpec {
        name: "show",
        args: "[ INTERFACE | all ]",
        options: &[("--json", "print machine-readable JSON")],
        about: "show the state of WireGuard interfaces",
    },
    CommandSpec {
        name: "showconf",
        args: "INTERFACE",
        options: &[],
        about: "print the running configuration of the interface in config-file form",
    },
    CommandSpec { name: "genkey", args: "", options: &[], about: "print a new private key" },
    CommandSpec { name: "genpsk", args: "", options: &[], about: "print a new preshared key" },
    CommandSpec { name: "pubkey", args: "", options: &[], about: "read a private key on stdin and print its public key" },
];

/// The usage text (printed on stderr). Its first line keeps wg-quick's shape.
pub fn usage(program: &str) -> String {
    let mut s = format!(
        "Usage: {program} [ up | down | save | strip ] [ CONFIG_FILE | INTERFACE ]\n\
         \x20      {program} [ check | reload ] [ CONFIG_FILE | INTERFACE ]\n\
         \x20      {program} show [ INTERFACE | all ] [ --json ]\n\
         \x20      {program} showconf INTERFACE\n\
         \x20      {program} [ genkey | genpsk | pubkey ]\n\
         \n\
         \x20 CONFIG_FILE is a path to a file named after the interface with `.conf'\n\
         \x20 appended; INTERFACE is an interface name whose configuration is read\n\
         \x20 from /etc/wireguard/INTERFACE.conf. The file uses wg(8)'s format plus the\n\
         \x20 [Interface] keys Address, DNS, MTU, Table, PreUp, PostUp, PreDown,\n\
         \x20 PostDown and SaveConfig, which {program} handles itself.\n\
         \nCommands:\n"
    );
    for c in COMMANDS {
        s.push_str(&format!("  {:<9} {}\n", c.name, c.about));
        for (o, a) in c.options {
            s.push_str(&format!("  {:<9}   {o}: {a}\n", ""));
        }
    }
    s.push_str(&format!(
        "\nSee {program}(8) for more information. Exit status is 0 on success, 1 on a usage or\n\
         configuration error, otherwise the status of the step that failed.\n"
    ));
    s
}

/// A command line that does not fit the grammar: print usage, exit 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid arguments")]
pub struct UsageError;

/// Parses argv (without the program name).
pub fn parse_args(args: &[OsString]) -> Result<Command, UsageError> {
    let args: Vec<&str> = args.iter().map(|a| a.to_str().ok_or(UsageError)).collect::<Result<_, _>>()?;
    if args.len() == 1 && matches!(args[0], "help" | "-h" | "--help") {
        return Ok(Command::Help);
    }
    if args.len() == 1 && matches!(args[0], "--version" | "version") {
        return Ok(Command::Version);
    }
    let Some((&cmd, rest)) = args.split_first() else { return Err(UsageError) };
    // Options may appear anywhere after the command; positionals keep wg-quick's count.
    let mut dry_run = false;
    let mut json = false;
    let mut pos = Vec::new();
    for &a in rest {
        match a {
            "--dry-run" if matches!(cmd, "up" | "down" | "reload") => dry_run = true,
            "--json" if cmd == "show" => json = true,
            "--" => return Err(UsageError),
            _ if a.starts_with("--") => return Err(UsageError),
            _ => pos.push(a.to_string()),
        }
    }
    let one = |pos: &mut Vec<String>| if pos.len() == 1 { Ok(pos.remove(0)) } else { Err(UsageError) };
    let cmd = match cmd {
        "up" => Command::Up { target: one(&mut pos)?, dry_run },
        "down" => Command::Down { target: one(&mut pos)?, dry_run },
        "save" => Command::Save { target: one(&mut pos)? },
        "strip" => Command::Strip { target: one(&mut pos)? },
        "check" => Command::Check { target: one(&mut pos)? },
        "reload" => Command::Reload { target: one(&mut pos)?, dry_run },
        "showconf" => Command::Showconf { interface: one(&mut pos)? },
        "show" => match pos.len() {
            0 => Command::Show { interface: None, json },
            1 if pos[0] == "all" => Command::Show { interface: None, json },
            1 => Command::Show { interface: Some(pos.remove(0)), json },
            _ => return Err(UsageError),
        },
        "genkey" | "genpsk" | "pubkey" if !pos.is_empty() => return Err(UsageError),
        "genkey" => Command::Genkey,
        "genpsk" => Command::Genpsk,
        "pubkey" => Command::Pubkey,
        _ => return Err(UsageError),
    };
    Ok(cmd)
}

/// Where a config lives and which interface it names (reference §1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLocation {
    /// The interface name (from the path as given, before resolving symlinks).
    pub interface: String,
    /// The fully resolved path (`readlink -f`); every message and write uses it.
    pub path: PathBuf,
    /// Set when the file and its directory are both world-accessible (wg-quick's rule).
    pub world_accessible: bool,
}

/// Why a config argument could not be used. Messages match wg-quick's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocateError {
    #[error("`{0}' does not exist")]
    Missing(String),
    #[error("The config file must be a valid interface name, followed by .conf")]
    BadName,
}

/// True when `s` is a valid interface name in wg-quick's sense: `^[a-zA-Z0-9_=+.-]{1,15}$`.
pub fn is_interface_name(s: &str) -> bool {
    (1..=15).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_=+.-".contains(&b))
}

/// Resolves a CONFIG_FILE | INTERFACE argument like wg-quick (reference §1.2), under `etc_dir`
/// (normally `/etc/wireguard`).
pub fn locate_config(arg: &str, etc_dir: &Path) -> Result<ConfigLocation, LocateError> {
    let given: PathBuf = if is_interface_name(arg) { etc_dir.join(format!("{arg}.conf")) } else { PathBuf::from(arg) };
    // `-e` follows symlinks: a dangling link counts as missing.
    if std::fs::metadata(&given).is_err() {
        return Err(LocateError::Missing(given.display().to_string()));
    }
    let name = interface_from_path(&given.to_string_lossy()).ok_or(LocateError::BadName)?;
    let path = std::fs::canonicalize(&given).map_err(|_| LocateError::Missing(given.display().to_string()))?;
    Ok(ConfigLocation { interface: name, world_accessible: world_accessible(&path), path })
}

/// The interface name of `(^|/)([a-zA-Z0-9_=+.-]{1,15})\.conf$`, capture group 2.
pub fn interface_from_path(p: &str) -> Option<String> {
    let stem = p.strip_suffix(".conf")?;
    let base = stem.rsplit('/').next().unwrap_or(stem);
    is_interface_name(base).then(|| base.to_string())
}

/// wg-quick's check: the "other" bits of the file AND those of its directory.
fn world_accessible(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let f = std::fs::metadata(path).map(|m| m.permissions().mode()).unwrap_or(0);
    let d = path.parent().and_then(|p| std::fs::metadata(p).ok()).map(|m| m.permissions().mode()).unwrap_or(0);
    f & d & 0o007 != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Result<Command, UsageError> {
        parse_args(&v.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn wg_quick_grammar() {
        for bad in [&[][..], &["UP", "wg0"], &["up"], &["up", "a", "b"], &["help", "x"], &["--help", "x"]] {
            assert_eq!(p(bad), Err(UsageError), "{bad:?}");
        }
        for h in ["help", "-h", "--help"] {
            assert_eq!(p(&[h]), Ok(Command::Help));
        }
        assert_eq!(p(&["up", "wg0"]), Ok(Command::Up { target: "wg0".into(), dry_run: false }));
        assert_eq!(p(&["up", "--dry-run", "wg0"]), Ok(Command::Up { target: "wg0".into(), dry_run: true }));
        assert_eq!(p(&["strip", "--dry-run", "wg0"]), Err(UsageError));
        assert_eq!(p(&["show"]), Ok(Command::Show { interface: None, json: false }));
        assert_eq!(p(&["show", "all", "--json"]), Ok(Command::Show { interface: None, json: true }));
        assert_eq!(p(&["genkey", "x"]), Err(UsageError));
    }

    #[test]
    fn interface_names_from_paths() {
        assert_eq!(interface_from_path("/x/abcdefghijklmno.conf").as_deref(), Some("abcdefghijklmno"));
        assert_eq!(interface_from_path("/x/abcdefghijklmnop.conf"), None);
        assert_eq!(interface_from_path("/x/.conf"), None);
        assert_eq!(interface_from_path("/x/foo.txt"), None);
        assert_eq!(interface_from_path("wg0.conf").as_deref(), Some("wg0"));
        assert_eq!(interface_from_path("./d.conf").as_deref(), Some("d"));
    }

    #[test]
    fn locate_rules() {
        let dir = tempfile::tempdir().unwrap();
        // `wg0.conf` is a valid interface name, so it is looked up under the etc dir.
        let e = locate_config("wg0.conf", dir.path()).unwrap_err();
        assert_eq!(e.to_string(), format!("`{}/wg0.conf.conf' does not exist", dir.path().display()));
        std::fs::write(dir.path().join("real.conf"), "").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real.conf"), dir.path().join("lnk0.conf")).unwrap();
        let l = locate_config(&format!("{}/lnk0.conf", dir.path().display()), dir.path()).unwrap();
        assert_eq!(l.interface, "lnk0");
        assert!(l.path.ends_with("real.conf"));
        std::fs::write(dir.path().join("foo.txt"), "").unwrap();
        assert_eq!(locate_config(&format!("{}/foo.txt", dir.path().display()), dir.path()), Err(LocateError::BadName));
        assert!(locate_config("wg9", dir.path()).unwrap_err().to_string().contains("wg9.conf"));
    }

    #[test]
    fn usage_first_line_is_wg_quicks() {
        assert!(usage("wgq").starts_with("Usage: wgq [ up | down | save | strip ] [ CONFIG_FILE | INTERFACE ]\n"));
    }
}
