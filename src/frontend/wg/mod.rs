//! wg(8): the binary run as `wg` (a link to it) or as `wgq wg ARGS...`.
//!
//! All nine subcommands with wg's grammar, output, messages and exit statuses; the usage
//! names the program as it was run (argv[0] verbatim). Devices are read and written
//! through `crate::device` (a live UAPI socket in /var/run/wireguard wins over the kernel,
//! big requests are split, dumps merged). Parsing lives in [`conf`], the syncconf diff in
//! [`sync`], output formats in [`show`].

pub mod conf;
pub mod show;
pub mod sync;
mod table;
use crate::os::glibc as sys;
pub use table::{SUBCOMMANDS, Subcommand, WgFirst};

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::fs::FileTypeExt;

use crate::device::{self, DeviceError, DeviceState, Devices};
use crate::key::{Key, SecretKey};

/// The wireguard-tools release whose behaviour this follows (upstream, May 2025: the `+`/`-`
/// allowed-IPs syntax and syncconf's clearing of dropped preshared keys and keepalives).
pub const TOOLS_VERSION: &str = "1.0.20250521";

/// wg's top-level usage.
pub fn usage(prog: &str) -> String {
    let mut s = format!("Usage: {prog} <cmd> [<args>]\n\nAvailable subcommands:\n");
    for c in SUBCOMMANDS {
        s.push_str(&format!("  {}: {}\n", c.name, c.help));
    }
    s.push_str("You may pass `--help' to any of these subcommands to view usage.\n");
    s
}

fn show_usage(prog: &str, cmd: &str) -> String {
    format!("Usage: {prog} {cmd} {{ <interface> | all | interfaces }} [{}]\n", show::FIELDS.join(" | "))
}

/// stdout and stderr of one run.
struct Io<'a> {
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
}

impl Io<'_> {
    fn out(&mut self, s: &str) {
        let _ = self.out.write_all(s.as_bytes());
    }
    fn err(&mut self, s: &str) {
        let _ = self.err.write_all(s.as_bytes());
    }
}

/// Runs wg(8) with `args` (without argv[0]); `prog` is argv[0] as given. Returns the exit
/// status.
pub fn main(prog: &str, args: &[OsString]) -> u8 {
    // As wg: a closed stdout ends the program (SIGPIPE), keys never in a core dump.
    // SAFETY: restoring the default disposition of SIGPIPE has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    crate::os::no_core_dumps();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    let status = {
        let mut io = Io { out: &mut out, err: &mut err };
        run(&mut io, prog, args)
    };
    let _ = out.flush();
    status
}

fn arg(a: &OsStr) -> String {
    a.to_string_lossy().into_owned()
}

fn run(io: &mut Io, prog: &str, args: &[OsString]) -> u8 {
    if args.len() == 1 {
        match args[0].to_str() {
            Some("-v" | "--version" | "version") => {
                io.out(&format!("wireguard-tools v{TOOLS_VERSION} - https://git.zx2c4.com/wireguard-tools/\n"));
                return 0;
            }
            Some("-h" | "--help" | "help") => {
                io.out(&usage(prog));
                return 0;
            }
            _ => {}
        }
    }
    if args.is_empty() {
        return show_main(io, prog, &[OsString::from("show")]);
    }
    let sub = arg(&args[0]);
    match SUBCOMMANDS.iter().find(|c| c.name == sub) {
        Some(c) => (c.run)(io, prog, args),
        None => {
            io.err(&format!("Invalid subcommand: `{sub}'\n"));
            io.err(&usage(prog));
            1
        }
    }
}

/// An errno as wg would have seen it: the kernel path without the WireGuard family
/// answers EPROTONOSUPPORT (wg's wording), where the device layer says ENOENT.
fn wg_errno(name: &str, e: &DeviceError) -> i32 {
    match e.errno() {
        Some(libc::ENOENT) => libc::EPROTONOSUPPORT,
        Some(libc::ENODEV) if !device::valid_name(name) && !device::kernel::module_present() => libc::EPROTONOSUPPORT,
        Some(n) => n,
        None => libc::EPROTO,
    }
}

/// If `/var/run/wireguard/<name>.sock` is a socket nobody listens on, wg removes it
/// (the process is gone) before choosing the backend; so do we.
fn clean_stale_socket(name: &str) {
    if name.contains('/') || name.is_empty() {
        return;
    }
    let path = device::uapi::socket_path(name);
    let Ok(m) = std::fs::symlink_metadata(&path) else { return };
    if !m.file_type().is_socket() {
        return;
    }
    if let Err(e) = device::uapi::connect(&path)
        && e.raw_os_error() == Some(libc::ECONNREFUSED)
    {
        let _ = std::fs::remove_file(&path);
    }
}

/// ipc_get_device: the state, or the errno wg reports.
fn get(devices: &mut Devices, name: &str) -> Result<DeviceState, i32> {
    clean_stale_socket(name);
    if name.len() >= 16 && !live_socket(name) {
        return Err(libc::ENAMETOOLONG);
    }
    devices.get(name).map_err(|e| wg_errno(name, &e))
}

fn set(devices: &mut Devices, name: &str, cfg: &crate::device::DeviceConfig) -> Result<(), i32> {
    clean_stale_socket(name);
    devices.set(name, cfg).map_err(|e| wg_errno(name, &e))
}

fn live_socket(name: &str) -> bool {
    !name.contains('/') && device::uapi::listening(&device::uapi::socket_path(name))
}

/// wg's device name: at most 15 bytes (longer names are cut, as its strncpy does).
fn ifname(a: &OsStr) -> String {
    let s = arg(a);
    if s.len() <= 15 {
        return s;
    }
    let mut end = 15;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Kernel links in dump order, then live sockets in directory order (stale ones removed),
/// as `wg show interfaces` lists them.
fn list_devices() -> Result<Vec<String>, i32> {
    let mut v = device::kernel_links().map_err(|e| e.errno().unwrap_or(libc::EIO))?;
    let rd = match std::fs::read_dir(device::uapi::SOCKET_DIR) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(v),
        Err(e) => return Err(e.raw_os_error().unwrap_or(libc::EIO)),
    };
    for ent in rd.flatten() {
        let file = ent.file_name();
        let Some(n) = file.to_str().and_then(|n| n.strip_suffix(".sock")) else { continue };
        if n.is_empty() {
            continue;
        }
        let path = device::uapi::socket_path(n);
        if !std::fs::metadata(&path).is_ok_and(|m| m.file_type().is_socket()) {
            continue;
        }
        match device::uapi::connect(&path) {
            Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
                let _ = std::fs::remove_file(&path);
            }
            // wg counts a socket it may not connect to (EACCES, say) as an interface.
            _ => v.push(n.to_string()),
        }
    }
    Ok(v)
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn stdout_is_tty() -> bool {
    // SAFETY: isatty has no preconditions.
    unsafe { libc::isatty(libc::STDOUT_FILENO) == 1 }
}

fn show_main(io: &mut Io, prog: &str, args: &[OsString]) -> u8 {
    let cmd = arg(&args[0]);
    if args.len() > 3 {
        io.err(&show_usage(prog, &cmd));
        return 1;
    }
    let style = show::Style::from_env(stdout_is_tty());
    let mut devices = Devices::default();
    let first = args.get(1).map(|a| arg(a));
    match first.as_deref() {
        None | Some("all") => {
            let names = match list_devices() {
                Ok(n) => n,
                Err(e) => {
                    io.err(&format!("Unable to list interfaces: {}\n", sys::strerror(e)));
                    return 1;
                }
            };
            let mut ret = u8::from(!names.is_empty());
            let param = args.get(2).map(|a| arg(a));
            let t = now();
            for (i, n) in names.iter().enumerate() {
                let d = match get(&mut devices, n) {
                    Ok(d) => d,
                    Err(e) => {
                        io.err(&format!("Unable to access interface {n}: {}\n", sys::strerror(e)));
                        continue;
                    }
                };
                match &param {
                    Some(p) => match show::field(&d, p, true) {
                        Some(text) => io.out(&text),
                        None => {
                            io.err(&format!("Invalid parameter: `{p}'\n"));
                            io.err(&show_usage(prog, &cmd));
                            return 1;
                        }
                    },
                    None => {
                        io.out(&show::pretty(&d, t, style));
                        if i + 1 < names.len() {
                            io.out("\n");
                        }
                    }
                }
                ret = 0;
            }
            ret
        }
        Some("interfaces") => {
            if args.len() > 2 {
                io.err(&show_usage(prog, &cmd));
                return 1;
            }
            match list_devices() {
                Ok(names) => {
                    if !names.is_empty() {
                        io.out(&format!("{}\n", names.join(" ")));
                    }
                    0
                }
                Err(e) => {
                    io.err(&format!("Unable to list interfaces: {}\n", sys::strerror(e)));
                    1
                }
            }
        }
        Some("-h" | "--help" | "help") if args.len() == 2 => {
            io.err(&show_usage(prog, &cmd));
            0
        }
        Some(name) => {
            let d = match get(&mut devices, name) {
                Ok(d) => d,
                Err(e) => {
                    io.err(&format!("Unable to access interface: {}\n", sys::strerror(e)));
                    return 1;
                }
            };
            match args.get(2).map(|a| arg(a)) {
                Some(p) => match show::field(&d, &p, false) {
                    Some(text) => {
                        io.out(&text);
                        0
                    }
                    None => {
                        io.err(&format!("Invalid parameter: `{p}'\n"));
                        io.err(&show_usage(prog, &cmd));
                        1
                    }
                },
                None => {
                    io.out(&show::pretty(&d, now(), style));
                    0
                }
            }
        }
    }
}

fn showconf_main(io: &mut Io, prog: &str, args: &[OsString]) -> u8 {
    if args.len() != 2 {
        io.err(&format!("Usage: {prog} {} <interface>\n", arg(&args[0])));
        return 1;
    }
    match get(&mut Devices::default(), &arg(&args[1])) {
        Ok(d) => {
            io.out(&show::showconf(&d));
            0
        }
        Err(e) => {
            io.err(&format!("Unable to access interface: {}\n", sys::strerror(e)));
            1
        }
    }
}

fn set_main(io: &mut Io, prog: &str, args: &[OsString]) -> u8 {
    if args.len() < 3 {
        io.err(&format!(
            "Usage: {prog} {} <interface> [listen-port <port>] [fwmark <mark>] [private-key <file path>] \
             [peer <base64 public key> [remove] [preshared-key <file path>] [endpoint <ip>:<port>] \
             [persistent-keepalive <interval seconds>] [allowed-ips [+|-]<ip1>/<cidr1>[,[+|-]<ip2>/<cidr2>]...] ]...\n",
            arg(&args[0])
        ));
        return 1;
    }
    let mut env = conf::SystemEnv;
    let parsed = {
        let mut ctx = conf::Ctx { err: &mut *io.err, env: &mut env };
        conf::parse_set(&mut ctx, &args[2..])
    };
    let Ok(dev) = parsed else { return 1 };
    let name = ifname(&args[1]);
    match set(&mut Devices::default(), &name, &conf::to_config(&dev)) {
        Ok(()) => 0,
        Err(e) => {
            io.err(&format!("Unable to modify interface: {}\n", sys::strerror(e)));
            1
        }
    }
}

fn setconf_main(io: &mut Io, prog: &str, args: &[OsString]) -> u8 {
    let cmd = arg(&args[0]);
    if args.len() != 3 {
        io.err(&format!("Usage: {prog} {cmd} <interface> <configuration filename>\n"));
        return 1;
    }
    let mut env = conf::SystemEnv;
    let parsed = {
        let mut ctx = conf::Ctx { err: &mut *io.err, env: &mut env };
        conf::read_conf(&mut ctx, &args[2], cmd == "addconf")
    };
    let Ok(mut dev) = parsed else { return 1 };
    let name = ifname(&args[1]);
    let mut devices = Devices::default();
    if cmd == "syncconf" && !dev.peers.is_empty() {
        match get(&mut devices, &name) {
            Ok(runtime) => sync::sync(&mut dev, &runtime),
            Err(e) => {
                io.err(&format!("Unable to retrieve current interface configuration: {}\n", sys::strerror(e)));
                return 1;
            }
        }
    }
    match set(&mut devices, &name, &conf::to_config(&dev)) {
        Ok(()) => 0,
        Err(e) => {
            io.err(&format!("Unable to modify interface: {}\n", sys::strerror(e)));
            1
        }
    }
}

/// wg's warning when stdout is a regular file that others may access.
fn world_accessible_stdout() -> bool {
    // SAFETY: stat is a plain C struct of integers, for which all-zero bytes are valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes only into `st`, owned here and alive for the call; a closed fd 1
    // makes it fail with EBADF, which the result check below handles.
    let r = unsafe { libc::fstat(libc::STDOUT_FILENO, &mut st) };
    r == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFREG && st.st_mode & libc::S_IRWXO != 0
}

fn genkey_main(io: &mut Io, prog: &str, args: &[OsString]) -> u8 {
    let cmd = arg(&args[0]);
    if args.len() != 1 {
        io.err(&format!("Usage: {prog} {cmd}\n"));
        return 1;
    }
    if world_accessible_stdout() {
        io.err("Warning: writing to world accessible file.\nConsider setting the umask to 077 and trying again.\n");
    }
    let k = if cmd == "genkey" { SecretKey::generate_private() } else { SecretKey::generate_preshared() };
    match k {
        Ok(k) => {
            let mut line = k.to_base64();
            line.push('\n');
            io.out(&line);
            let mut bytes = line.into_bytes();
            crate::key::wipe(&mut bytes);
            0
        }
        Err(e) => {
            io.err(&format!("getrandom: {}\n", sys::strerror(e.raw_os_error().unwrap_or(libc::EIO))));
            1
        }
    }
}

fn pubkey_main(io: &mut Io, prog: &str, args: &[OsString]) -> u8 {
    if args.len() != 1 {
        io.err(&format!("Usage: {prog} {}\n", arg(&args[0])));
        return 1;
    }
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let r = pubkey(&mut input);
    match r {
        Ok(k) => {
            io.out(&format!("{}\n", k.to_base64()));
            0
        }
        Err(msg) => {
            io.err(&format!("{prog}: {msg}\n"));
            1
        }
    }
}

/// `wg pubkey`'s reading: 44 characters, then only white space or NULs.
pub fn pubkey(input: &mut dyn Read) -> Result<Key, &'static str> {
    const BAD: &str = "Key is not the correct length or format";
    let mut buf = [0u8; 44];
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    if got < buf.len() {
        crate::key::wipe(&mut buf);
        return Err(BAD);
    }
    let mut rest = [0u8; 256];
    let mut result = Ok(());
    loop {
        match input.read(&mut rest) {
            Ok(0) => break,
            Ok(n) => {
                if rest[..n].iter().any(|&c| c != 0 && !conf::is_space(c)) {
                    result = Err("Trailing characters found after key");
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    crate::key::wipe(&mut rest);
    let key = result.and_then(|_| {
        let text = &buf[..buf.iter().position(|&b| b == 0).unwrap_or(buf.len())];
        std::str::from_utf8(text).ok().and_then(|t| SecretKey::from_base64(t).ok()).ok_or(BAD)
    });
    crate::key::wipe(&mut buf);
    key.map(|k| k.public_key())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_args(prog: &str, args: &[&str]) -> (u8, String, String) {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let st = {
            let mut io = Io { out: &mut out, err: &mut err };
            run(&mut io, prog, &args)
        };
        (st, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
    }

    #[test]
    fn top_level_grammar() {
        let (st, out, err) = run_args("/usr/bin/wg", &["--help"]);
        assert_eq!((st, err.as_str()), (0, ""));
        assert!(out.starts_with("Usage: /usr/bin/wg <cmd> [<args>]\n\nAvailable subcommands:\n  show: "));
        assert!(out.ends_with("You may pass `--help' to any of these subcommands to view usage.\n"));
        let (st, out, _) = run_args("wg", &["version"]);
        assert_eq!((st, out), (0, format!("wireguard-tools v{TOOLS_VERSION} - https://git.zx2c4.com/wireguard-tools/\n")));
        let (st, out, err) = run_args("wg", &["bogus"]);
        assert_eq!((st, out.as_str()), (1, ""));
        assert!(err.starts_with("Invalid subcommand: `bogus'\nUsage: wg <cmd> [<args>]\n"));
        // --help with more arguments is not help.
        let (st, _, err) = run_args("wg", &["--help", "x"]);
        assert_eq!(st, 1);
        assert!(err.starts_with("Invalid subcommand: `--help'"));
    }

    #[test]
    fn subcommand_usages() {
        for (args, want) in [
            (
                &["show", "a", "b", "c"][..],
                "Usage: wg show { <interface> | all | interfaces } [public-key | private-key | listen-port | fwmark | peers | preshared-keys | endpoints | allowed-ips | latest-handshakes | transfer | persistent-keepalive | dump]\n",
            ),
            (
                &["show", "interfaces", "x"],
                "Usage: wg show { <interface> | all | interfaces } [public-key | private-key | listen-port | fwmark | peers | preshared-keys | endpoints | allowed-ips | latest-handshakes | transfer | persistent-keepalive | dump]\n",
            ),
            (&["showconf"], "Usage: wg showconf <interface>\n"),
            (&["setconf", "wg0"], "Usage: wg setconf <interface> <configuration filename>\n"),
            (&["syncconf", "wg0", "a", "b"], "Usage: wg syncconf <interface> <configuration filename>\n"),
            (&["genkey", "x"], "Usage: wg genkey\n"),
            (&["genpsk", "x"], "Usage: wg genpsk\n"),
            (&["pubkey", "x"], "Usage: wg pubkey\n"),
        ] {
            let (st, out, err) = run_args("wg", args);
            assert_eq!((st, out.as_str(), err.as_str()), (1, "", want), "{args:?}");
        }
        let (st, _, err) = run_args("wg", &["set", "wg0"]);
        assert_eq!(st, 1);
        assert!(err.starts_with("Usage: wg set <interface> [listen-port <port>]"), "{err}");
        assert!(err.contains("[allowed-ips [+|-]<ip1>/<cidr1>[,[+|-]<ip2>/<cidr2>]...] ]...\n"));
        let (st, _, err) = run_args("wg", &["show", "--help"]);
        assert_eq!(st, 0);
        assert!(err.starts_with("Usage: wg show {"));
    }

    #[test]
    fn config_errors_stop_before_the_device() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bad.conf");
        std::fs::write(&f, "[Interface]\nAddress = 10.0.0.1/24\n").unwrap();
        let (st, _, err) = run_args("wg", &["setconf", "wgqnonexist0", f.to_str().unwrap()]);
        assert_eq!((st, err.as_str()), (1, "Line unrecognized: `Address=10.0.0.1/24'\nConfiguration parsing error\n"));
        let (st, _, err) = run_args("wg", &["addconf", "wgqnonexist0", "/nonexistent/x.conf"]);
        assert_eq!((st, err.as_str()), (1, "fopen: No such file or directory\n"));
        std::fs::write(&f, "[Peer]\nAllowedIPs = 10.0.0.0/8\n").unwrap();
        let (st, _, err) = run_args("wg", &["syncconf", "wgqnonexist0", f.to_str().unwrap()]);
        assert_eq!((st, err.as_str()), (1, "A peer is missing a public key\nInvalid configuration\n"));
        let (st, _, err) = run_args("wg", &["set", "wgqnonexist0", "peer", "x"]);
        assert_eq!((st, err.as_str()), (1, "Key is not the correct length or format: `x'\n"));
    }

    #[test]
    fn pubkey_reading() {
        let pk = |s: &[u8]| pubkey(&mut &s[..]);
        let good = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
        let want = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";
        assert_eq!(pk(format!("{good}\n").as_bytes()).unwrap().to_base64(), want);
        assert_eq!(pk(format!("{good}\n\0\t \n").as_bytes()).unwrap().to_base64(), want);
        assert_eq!(pk(good.as_bytes()).unwrap().to_base64(), want);
        assert_eq!(pk(format!("{good}x").as_bytes()), Err("Trailing characters found after key"));
        assert_eq!(pk(format!(" {good}").as_bytes()), Err("Trailing characters found after key"));
        assert_eq!(pk(b"short\n"), Err("Key is not the correct length or format"));
        assert_eq!(pk(format!("{}\n", &good[..43]).as_bytes()), Err("Key is not the correct length or format"));
    }

    #[test]
    fn long_names_are_cut_for_set() {
        assert_eq!(ifname(OsStr::new("abcdefghijklmnopq")), "abcdefghijklmno");
        assert_eq!(ifname(OsStr::new("wg0")), "wg0");
    }
}
