//! Userspace backend: the cross-platform UAPI protocol over /var/run/wireguard/<if>.sock
//! (wireguard-go, boringtun, gotatun), and starting the userspace program.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{DeviceConfig, DeviceError, DeviceState, PeerState};
use crate::key::{Key, SecretKey};
use crate::net::IpNet;

/// Where userspace implementations put their control sockets.
pub const SOCKET_DIR: &str = "/var/run/wireguard";

/// The control socket of an interface.
pub fn socket_path(name: &str) -> PathBuf {
    PathBuf::from(SOCKET_DIR).join(format!("{name}.sock"))
}

/// The userspace program: `$WG_QUICK_USERSPACE_IMPLEMENTATION`, else `wireguard-go`.
pub fn implementation() -> String {
    std::env::var("WG_QUICK_USERSPACE_IMPLEMENTATION").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "wireguard-go".into())
}

/// Runs `<program> <name>` (which daemonises; bounded like every helper, see `crate::os::child`)
/// and waits, as long again at most, for its control socket.
pub fn spawn(program: &str, name: &str) -> Result<(), DeviceError> {
    let out = crate::os::child::Helper::new(program, &[name]).discard_stdout().run()?;
    let stderr = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
    if !out.status.success() {
        return Err(DeviceError::Userspace { program: program.into(), status: out.status.code().unwrap_or(1), output: stderr });
    }
    let deadline = Instant::now() + crate::os::child::helper_timeout();
    let path = socket_path(name);
    while Instant::now() < deadline {
        if UnixStream::connect(&path).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Err(DeviceError::Userspace {
        program: program.into(),
        status: 0,
        output: format!("no control socket {} appeared; {stderr}", path.display()),
    })
}

fn hex(k: &[u8; 32]) -> String {
    let mut s = String::with_capacity(64);
    for b in k {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut k = [0u8; 32];
    for (i, c) in k.iter_mut().enumerate() {
        *c = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(k)
}

fn unhex_secret(s: &str) -> Option<SecretKey> {
    let mut b = unhex(s)?;
    let k = SecretKey::from_bytes(b);
    crate::key::wipe(&mut b);
    Some(k).filter(|k| !k.is_zero())
}

/// The `set=1` request text for a device configuration (for tests; `set` streams it with
/// [`write_set_request`]).
#[cfg(test)]
pub fn set_request(cfg: &DeviceConfig) -> String {
    let mut v = Vec::new();
    let _ = write_set_request(&mut v, cfg);
    String::from_utf8(v).unwrap_or_default()
}

/// Writes the `set=1` request into `s` as it goes (a 20,000-peer request is megabytes).
pub fn write_set_request(s: &mut (impl Write + ?Sized), cfg: &DeviceConfig) -> std::io::Result<()> {
    s.write_all(b"set=1\n")?;
    if let Some(k) = &cfg.private_key {
        writeln!(s, "private_key={}", hex(k.as_bytes()))?;
    }
    if let Some(p) = cfg.listen_port {
        writeln!(s, "listen_port={p}")?;
    }
    if let Some(m) = cfg.fwmark {
        writeln!(s, "fwmark={m}")?;
    }
    if cfg.replace_peers {
        s.write_all(b"replace_peers=true\n")?;
    }
    for p in &cfg.peers {
        writeln!(s, "public_key={}", hex(&p.public_key.0))?;
        if p.remove {
            s.write_all(b"remove=true\n")?;
            continue;
        }
        if p.update_only {
            s.write_all(b"update_only=true\n")?;
        }
        if let Some(k) = &p.preshared_key {
            writeln!(s, "preshared_key={}", hex(k.as_bytes()))?;
        }
        if let Some(e) = p.endpoint {
            writeln!(s, "endpoint={e}")?;
        }
        if let Some(k) = p.persistent_keepalive {
            writeln!(s, "persistent_keepalive_interval={k}")?;
        }
        if p.replace_allowed_ips {
            s.write_all(b"replace_allowed_ips=true\n")?;
        }
        for a in &p.allowed_ips {
            writeln!(s, "allowed_ip={a}")?;
        }
        for a in &p.remove_allowed_ips {
            writeln!(s, "allowed_ip=-{a}")?;
        }
    }
    s.write_all(b"\n")
}

/// Parses a `get=1` reply (without the final `errno=` line's meaning).
pub fn parse_get(name: &str, text: &str) -> Result<DeviceState, DeviceError> {
    let mut p = GetParser::new(name);
    for line in text.lines() {
        p.line(line)?;
    }
    Ok(p.d)
}

/// A `get=1` reply parsed line by line (as it arrives).
struct GetParser {
    name: String,
    d: DeviceState,
    secs: Option<u64>,
    /// Keys, endpoints, handshakes and transfer only (no allowed IPs, no secrets).
    light: bool,
}

impl GetParser {
    fn new(name: &str) -> GetParser {
        GetParser {
            name: name.to_string(),
            d: DeviceState { name: name.to_string(), ..Default::default() },
            secs: None,
            light: false,
        }
    }

    fn line(&mut self, line: &str) -> Result<(), DeviceError> {
        if line.is_empty() {
            return Ok(());
        }
        if self.light {
            let b = line.as_bytes();
            if b.starts_with(b"allowed_ip=") || b.starts_with(b"preshared_key=") || b.starts_with(b"private_key=") {
                return Ok(());
            }
        }
        let GetParser { name, d, secs, .. } = self;
        let bad = |l: &str| DeviceError::Protocol(format!("unexpected line in the reply of {name}: `{l}'"));
        let (k, v) = line.split_once('=').ok_or_else(|| bad(line))?;
        let peer = d.peers.last_mut();
        match (k, peer) {
            ("private_key", _) => {
                d.private_key = unhex_secret(v);
                d.public_key = d.private_key.as_ref().map(|k| k.public_key());
            }
            ("own_public_key", _) => d.public_key = unhex(v).map(Key),
            ("listen_port", _) => d.listen_port = v.parse().map_err(|_| bad(line))?,
            ("fwmark", _) => d.fwmark = v.parse().map_err(|_| bad(line))?,
            ("public_key", _) => {
                let k = Key(unhex(v).ok_or_else(|| bad(line))?);
                d.peers.push(PeerState { public_key: k, ..Default::default() });
                *secs = None;
            }
            ("errno", _) => {}
            (_, None) => {}
            ("preshared_key", Some(p)) => p.preshared_key = unhex_secret(v),
            ("endpoint", Some(p)) => p.endpoint = v.parse().ok(),
            ("persistent_keepalive_interval", Some(p)) => p.persistent_keepalive = v.parse().unwrap_or(0),
            ("last_handshake_time_sec", Some(_)) => *secs = v.parse().ok(),
            ("last_handshake_time_nsec", Some(p)) => {
                let ns: u32 = v.parse().unwrap_or(0);
                if let Some(s) = secs.filter(|&s| s > 0 || ns > 0) {
                    p.last_handshake = Some(Duration::new(s, ns));
                }
            }
            ("rx_bytes", Some(p)) => p.rx_bytes = v.parse().unwrap_or(0),
            ("tx_bytes", Some(p)) => p.tx_bytes = v.parse().unwrap_or(0),
            ("allowed_ip", Some(p)) => p.allowed_ips.push(IpNet::parse(v).map_err(|_| bad(line))?),
            _ => {}
        }
        Ok(())
    }
}

/// How long one read or write on the control socket may block: a stopped or hung
/// implementation makes the request fail instead of hanging wgq.
pub fn timeout() -> Duration {
    crate::os::child::helper_timeout()
}

fn timed_out(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
}

/// One request on a control socket: the interface (for messages), whether it is a set (for
/// the wording of errors), and the bound of every read and write.
struct Request<'a> {
    name: &'a str,
    modify: bool,
    bound: Duration,
}

impl Request<'_> {
    fn new(name: &str, modify: bool) -> Request<'_> {
        Request { name, modify, bound: timeout() }
    }

    /// A socket error; a timeout when the bound ran out.
    fn error(&self, e: std::io::Error) -> DeviceError {
        let name = self.name.to_string();
        if timed_out(&e) {
            DeviceError::Timeout { name, modify: self.modify, bound: self.bound }
        } else if self.modify {
            DeviceError::modify_io(self.name, e)
        } else {
            DeviceError::Access { name, errno: e.raw_os_error().unwrap_or(libc::EIO) }
        }
    }

    /// Sends a request (written by `send` through a buffer, so it is never held whole) to the
    /// socket at `path` and returns the reply lines before `errno=`, and the errno. When the
    /// implementation stops reading early (it refused something), its `errno=` reply still
    /// wins over the write error; a write that timed out gets no wait for a reply.
    fn exchange(
        &self,
        path: &Path,
        send: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(String, i32), DeviceError> {
        let mut body = String::new();
        let errno = self.exchange_with(path, send, &mut |l| {
            body.push_str(l);
            body.push('\n');
            Ok(())
        })?;
        Ok((body, errno))
    }

    /// [`Request::exchange`], each reply line handed to `each` as it arrives.
    fn exchange_with(
        &self,
        path: &Path,
        send: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
        each: &mut dyn FnMut(&str) -> Result<(), DeviceError>,
    ) -> Result<i32, DeviceError> {
        let s = UnixStream::connect(path)
            .map_err(|e| DeviceError::Access { name: self.name.into(), errno: e.raw_os_error().unwrap_or(libc::ENODEV) })?;
        s.set_read_timeout(Some(self.bound)).and_then(|_| s.set_write_timeout(Some(self.bound))).map_err(|e| self.error(e))?;
        let mut w = std::io::BufWriter::with_capacity(64 * 1024, &s);
        let sent = send(&mut w).and_then(|_| w.flush());
        drop(w);
        match sent {
            Err(we) if timed_out(&we) => Err(self.error(we)),
            sent => self.read_lines(&s, each).map_err(|e| match sent {
                Err(we) => self.error(we),
                Ok(()) => e,
            }),
        }
    }

    /// Reads the reply in large pieces (a 20,000-peer reply is megabytes), hands each
    /// complete line before `errno=` to `each` as it arrives (so parsing overlaps the
    /// implementation's writing), and returns the errno.
    fn read_lines(&self, s: &UnixStream, each: &mut dyn FnMut(&str) -> Result<(), DeviceError>) -> Result<i32, DeviceError> {
        let mut buf: Vec<u8> = Vec::with_capacity(512 * 1024);
        let mut r = s;
        loop {
            let from = buf.len();
            buf.resize(from + 256 * 1024, 0);
            let n = r.read(&mut buf[from..]).map_err(|e| self.error(e))?;
            buf.truncate(from + n);
            if n == 0 {
                return Err(DeviceError::Protocol(format!("{}: the userspace implementation closed the socket", self.name)));
            }
            let mut start = 0;
            while let Some(p) = buf[start..].iter().position(|&b| b == b'\n') {
                let line = &buf[start..start + p];
                start += p + 1;
                let text = std::str::from_utf8(line)
                    .map_err(|_| DeviceError::Protocol(format!("{}: the reply is not text", self.name)))?;
                if let Some(e) = text.strip_prefix("errno=") {
                    return Ok(e.trim().parse().unwrap_or(libc::EPROTO));
                }
                each(text)?;
            }
            buf.drain(..start);
        }
    }
}

/// Applies a configuration over UAPI.
pub fn set(name: &str, cfg: &DeviceConfig) -> Result<(), DeviceError> {
    let (_, errno) = Request::new(name, true).exchange(&socket_path(name), |w| write_set_request(w, cfg))?;
    if errno != 0 {
        return Err(DeviceError::Modify { name: name.into(), errno: errno.abs() });
    }
    Ok(())
}

/// Reads the device state over UAPI.
pub fn get(name: &str) -> Result<DeviceState, DeviceError> {
    let mut p = GetParser::new(name);
    let req = Request::new(name, false);
    let errno = req.exchange_with(&socket_path(name), |w| w.write_all(b"get=1\n\n"), &mut |l| p.line(l))?;
    if errno != 0 {
        return Err(DeviceError::Access { name: name.into(), errno: errno.abs() });
    }
    Ok(p.d)
}

/// Waits, at most `bound`, until nothing accepts on the control socket of `name` any more
/// (the implementation has exited); returns whether it went.
pub fn wait_gone(name: &str, bound: Duration) -> bool {
    wait_gone_at(&socket_path(name), bound)
}

fn wait_gone_at(path: &Path, bound: Duration) -> bool {
    let deadline = Instant::now() + bound;
    loop {
        if UnixStream::connect(path).is_err() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// [`get`] without the allowed IPs and the keys but the public ones: what a listing of the
/// peers' live state needs, for less work on a large device.
pub fn get_summary(name: &str) -> Result<DeviceState, DeviceError> {
    let mut p = GetParser::new(name);
    p.light = true;
    let req = Request::new(name, false);
    let errno = req.exchange_with(&socket_path(name), |w| w.write_all(b"get=1\n\n"), &mut |l| p.line(l))?;
    if errno != 0 {
        return Err(DeviceError::Access { name: name.into(), errno: errno.abs() });
    }
    Ok(p.d)
}

/// Interfaces served by a live userspace implementation (a socket that accepts).
pub fn list() -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(SOCKET_DIR) else { return Vec::new() };
    let mut v: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".sock")).map(String::from))
        .filter(|n| UnixStream::connect(socket_path(n)).is_ok())
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_skips_allowed_ips_and_secrets_as_they_arrive() {
        let k = "11".repeat(32);
        let mut p = GetParser::new("wg0");
        p.light = true;
        for l in [
            format!("private_key={k}"),
            format!("public_key={k}"),
            format!("preshared_key={k}"),
            "endpoint=192.0.2.1:51820".into(),
            "rx_bytes=5".into(),
            "last_handshake_time_sec=7".into(),
            "last_handshake_time_nsec=0".into(),
            "allowed_ip=10.0.0.0/8".into(),
        ] {
            p.line(&l).unwrap();
        }
        let d = p.d;
        assert!(d.private_key.is_none() && d.peers.len() == 1);
        let peer = &d.peers[0];
        assert!(peer.allowed_ips.is_empty() && peer.preshared_key.is_none());
        assert_eq!((peer.rx_bytes, peer.last_handshake.map(|h| h.as_secs())), (5, Some(7)));
        assert_eq!(peer.endpoint.map(|e| e.to_string()).as_deref(), Some("192.0.2.1:51820"));
    }
    use crate::device::PeerConfig;

    #[test]
    fn set_text() {
        let cfg = DeviceConfig {
            private_key: Some(SecretKey::from_bytes([1; 32])),
            listen_port: Some(51820),
            fwmark: Some(0),
            replace_peers: true,
            peers: vec![
                PeerConfig {
                    public_key: Key([2; 32]),
                    preshared_key: Some(SecretKey::from_bytes([0; 32])),
                    endpoint: Some("[2001:db8::1]:51820".parse().unwrap()),
                    persistent_keepalive: Some(25),
                    replace_allowed_ips: true,
                    allowed_ips: vec![IpNet::parse("10.0.0.0/8").unwrap(), IpNet::parse("::/0").unwrap()],
                    ..Default::default()
                },
                PeerConfig { public_key: Key([3; 32]), remove: true, ..Default::default() },
            ],
        };
        let s = set_request(&cfg);
        let p2 = "02".repeat(32);
        assert!(s.starts_with(&format!(
            "set=1\nprivate_key={}\nlisten_port=51820\nfwmark=0\nreplace_peers=true\npublic_key={p2}\n",
            "01".repeat(32)
        )));
        assert!(s.contains(&format!("preshared_key={}\nendpoint=[2001:db8::1]:51820\npersistent_keepalive_interval=25\nreplace_allowed_ips=true\nallowed_ip=10.0.0.0/8\nallowed_ip=::/0\n", "00".repeat(32))));
        assert!(s.ends_with(&format!("public_key={}\nremove=true\n\n", "03".repeat(32))));
    }

    #[test]
    fn removed_allowed_ips_are_minus_lines() {
        let cfg = DeviceConfig {
            peers: vec![PeerConfig {
                public_key: Key([2; 32]),
                allowed_ips: vec![IpNet::parse("10.0.0.1/32").unwrap()],
                remove_allowed_ips: vec![IpNet::parse("fd00::/64").unwrap()],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(set_request(&cfg).ends_with("allowed_ip=10.0.0.1/32\nallowed_ip=-fd00::/64\n\n"));
    }

    #[test]
    fn get_text() {
        let t = format!(
            "private_key={}\nlisten_port=51820\nfwmark=51820\npublic_key={}\npreshared_key={}\nprotocol_version=1\n\
             endpoint=192.0.2.1:51820\nlast_handshake_time_sec=100\nlast_handshake_time_nsec=5\ntx_bytes=10\nrx_bytes=20\n\
             persistent_keepalive_interval=25\nallowed_ip=10.0.0.2/32\nallowed_ip=fd00::2/128\n",
            "01".repeat(32),
            "02".repeat(32),
            "00".repeat(32)
        );
        let d = parse_get("wg0", &t).unwrap();
        assert_eq!(d.private_key, Some(SecretKey::from_bytes([1; 32])));
        assert_eq!(d.public_key, Some(Key([1; 32]).public_key()));
        assert_eq!(d.fwmark, 51820);
        let p = &d.peers[0];
        assert_eq!(p.preshared_key, None);
        assert_eq!(p.last_handshake, Some(Duration::new(100, 5)));
        assert_eq!((p.rx_bytes, p.tx_bytes, p.persistent_keepalive), (20, 10, 25));
        assert_eq!(p.allowed_ips.len(), 2);
        assert!(parse_get("wg0", "garbage\n").is_err());
    }

    /// A control socket whose implementation accepts and then never reads nor answers (a
    /// stopped wireguard-go).
    fn silent_socket() -> (tempfile::TempDir, PathBuf, std::os::unix::net::UnixListener) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("wgt0.sock");
        let l = std::os::unix::net::UnixListener::bind(&p).unwrap();
        (d, p, l)
    }

    #[test]
    fn waits_for_the_implementation_to_let_go_of_its_socket() {
        let (_d, path, l) = silent_socket();
        let t = Instant::now();
        assert!(!wait_gone_at(&path, Duration::from_millis(100)));
        assert!(t.elapsed() >= Duration::from_millis(100));
        let closer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(l);
        });
        let t = Instant::now();
        assert!(wait_gone_at(&path, Duration::from_secs(5)));
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        closer.join().unwrap();
        assert!(wait_gone_at(Path::new("/nonexistent/x.sock"), Duration::ZERO));
    }

    #[test]
    fn a_silent_implementation_times_out_a_get_and_a_set() {
        let (_d, path, _l) = silent_socket();
        let bound = Duration::from_millis(200);
        let t = Instant::now();
        let e = Request { name: "wgt0", modify: false, bound }.exchange(&path, |w| w.write_all(b"get=1\n\n")).unwrap_err();
        assert!(t.elapsed() >= bound && t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert_eq!(e.to_string(), "Unable to access interface wgt0: its userspace implementation did not answer within 0.2 s");
        // A set larger than the socket buffers: the write itself times out.
        let peers = (0..20_000u32)
            .map(|i| {
                let mut k = [0u8; 32];
                k[..4].copy_from_slice(&i.to_be_bytes());
                crate::device::PeerConfig { public_key: Key(k), ..Default::default() }
            })
            .collect();
        let cfg = DeviceConfig { peers, ..Default::default() };
        let t = Instant::now();
        let e = Request { name: "wgt0", modify: true, bound }.exchange(&path, |w| write_set_request(w, &cfg)).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert_eq!(e.to_string(), "Unable to modify interface wgt0: its userspace implementation did not answer within 0.2 s");
    }
}
