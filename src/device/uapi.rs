//! Userspace backend: the cross-platform UAPI protocol over /var/run/wireguard/<if>.sock
//! (wireguard-go, boringtun, gotatun), and starting the userspace program.

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

/// Connects to a control socket, waiting at most [`timeout`] for room in its backlog (a
/// stopped or flooded implementation's full backlog blocked connect(2) without end): a
/// connection still waiting then fails with `WouldBlock`.
pub fn connect(path: &Path) -> std::io::Result<UnixStream> {
    connect_within(path, timeout())
}

fn connect_within(path: &Path, bound: Duration) -> std::io::Result<UnixStream> {
    use std::os::fd::FromRawFd;
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: all-zero is a valid sockaddr_un.
    let mut sa: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= sa.sun_path.len() || bytes.contains(&0) {
        return Err(std::io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    sa.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, &b) in sa.sun_path.iter_mut().zip(bytes) {
        *d = b as libc::c_char;
    }
    // SAFETY: socket(2); the descriptor is owned by the UnixStream at once.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a descriptor socket(2) just returned, owned by nobody else.
    let s = unsafe { UnixStream::from_raw_fd(fd) };
    // SO_SNDTIMEO bounds a unix stream connect's wait for the listener's backlog.
    s.set_write_timeout(Some(bound.max(Duration::from_millis(1))))?;
    let len = (std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1) as libc::socklen_t;
    loop {
        // SAFETY: `sa` is a valid sockaddr_un of at least `len` bytes.
        if unsafe { libc::connect(fd, (&sa as *const libc::sockaddr_un).cast(), len) } == 0 {
            return Ok(s);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Whether something listens on the control socket at `path`: it accepts, or its backlog
/// stayed full for the bound (a stopped implementation is still there).
pub fn listening(path: &Path) -> bool {
    match connect(path) {
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
    }
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
        if connect_within(&path, Duration::from_millis(100)).is_ok() {
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

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex of a key, written straight into `out` (no formatting machinery: a
/// 20,000-peer request has tens of thousands of keys).
fn write_hex(out: &mut (impl Write + ?Sized), k: &[u8; 32]) -> std::io::Result<()> {
    let mut buf = [0u8; 64];
    for (i, b) in k.iter().enumerate() {
        buf[2 * i] = HEX[usize::from(b >> 4)];
        buf[2 * i + 1] = HEX[usize::from(b & 15)];
    }
    let r = out.write_all(&buf);
    crate::key::wipe(&mut buf);
    r
}

#[cfg(test)]
fn hex(k: &[u8; 32]) -> String {
    let mut v = Vec::new();
    let _ = write_hex(&mut v, k);
    String::from_utf8(v).unwrap_or_default()
}

/// Each byte's value as a hex digit, or 0xff.
const UNHEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

fn unhex(s: &[u8]) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut k = [0u8; 32];
    let mut bad = 0u8;
    for (c, pair) in k.iter_mut().zip(s.chunks_exact(2)) {
        let (h, l) = (UNHEX[usize::from(pair[0])], UNHEX[usize::from(pair[1])]);
        bad |= (h | l) & 0xf0;
        *c = h << 4 | (l & 15);
    }
    if bad != 0 {
        crate::key::wipe(&mut k);
        return None;
    }
    Some(k)
}

/// A secret key of a reply: `Err` unless 64 hex digits, `Ok(None)` for all zeros (none set).
fn unhex_secret(s: &[u8]) -> Result<Option<SecretKey>, ()> {
    let mut b = unhex(s).ok_or(())?;
    let k = SecretKey::from_bytes(b);
    crate::key::wipe(&mut b);
    Ok(Some(k).filter(|k| !k.is_zero()))
}

/// A value of a reply parsed as text (`None` unless it parses).
fn number<T: std::str::FromStr>(v: &[u8]) -> Option<T> {
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// An `endpoint=` value: `ADDR:PORT`, `[ADDR]:PORT`, or a link-local `[ADDR%ZONE]:PORT` whose
/// zone wireguard-go echoes as it was given (an interface name, which the standard parser
/// does not take).
fn endpoint(v: &[u8]) -> Option<std::net::SocketAddr> {
    number(v).or_else(|| {
        let (host, port) = std::str::from_utf8(v).ok()?.strip_prefix('[')?.rsplit_once("]:")?;
        super::resolve::literal(host, port.parse().ok()?)
    })
}

/// An unsigned decimal of a reply (`None` unless all digits, at most 20, in range).
fn unsigned<T: TryFrom<u64>>(v: &[u8]) -> Option<T> {
    if v.is_empty() || v.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in v {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    T::try_from(n).ok()
}

/// A counter of a reply: digits only, a value past 2^64-1 taken as 2^64-1 (as wg(8) reads
/// counters: strtoull saturates, and the maximum is allowed).
fn saturating(v: &[u8]) -> Option<u64> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(unsigned(v).unwrap_or(u64::MAX))
}

/// A time field of a reply: an unsigned decimal that fits a signed 64-bit `time_t`/`long`.
fn signed_range(v: &[u8]) -> Option<u64> {
    unsigned::<u64>(v).filter(|&n| n <= i64::MAX as u64)
}

/// The `errno=` value of a reply: digits up to 2^31-1 (a sign, or anything else, is a
/// protocol error, as wg(8) reads it).
fn errno_value(v: &[u8]) -> i32 {
    unsigned::<u32>(v.trim_ascii()).and_then(|n| i32::try_from(n).ok()).unwrap_or(libc::EPROTO)
}

/// The longest reply line taken: the longest valid one (an IPv6 endpoint with a zone name,
/// or an IPv6 allowed IP) is under 100 bytes.
const MAX_LINE: usize = 4096;
/// The most reply bytes taken (about 600,000 peers with their allowed IPs).
const MAX_REPLY: u64 = 256 << 20;
/// A whole reply must arrive within this many times the bound of one read: a socket that
/// trickles or streams without end cannot hold wgq.
const REPLY_BOUNDS: u32 = 6;

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
        s.write_all(b"private_key=")?;
        write_hex(s, k.as_bytes())?;
        s.write_all(b"\n")?;
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
        s.write_all(b"public_key=")?;
        write_hex(s, &p.public_key.0)?;
        s.write_all(b"\n")?;
        if p.remove {
            s.write_all(b"remove=true\n")?;
            continue;
        }
        if p.update_only {
            s.write_all(b"update_only=true\n")?;
        }
        if let Some(k) = &p.preshared_key {
            s.write_all(b"preshared_key=")?;
            write_hex(s, k.as_bytes())?;
            s.write_all(b"\n")?;
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
            write_allowed_ip(s, b"allowed_ip=", a)?;
        }
        for a in &p.remove_allowed_ips {
            write_allowed_ip(s, b"allowed_ip=-", a)?;
        }
    }
    s.write_all(b"\n")
}

/// `KEYprefix\n`; IPv4 written by hand (most allowed IPs are, and the formatting machinery
/// is the slow part of a big request).
fn write_allowed_ip(s: &mut (impl Write + ?Sized), key: &[u8], a: &IpNet) -> std::io::Result<()> {
    match a.addr {
        std::net::IpAddr::V4(v) => {
            fn put(buf: &mut [u8; 24], n: &mut usize, c: u8) {
                buf[*n] = c;
                *n += 1;
            }
            fn dec(buf: &mut [u8; 24], n: &mut usize, x: u8) {
                if x >= 100 {
                    put(buf, n, b'0' + x / 100);
                }
                if x >= 10 {
                    put(buf, n, b'0' + x / 10 % 10);
                }
                put(buf, n, b'0' + x % 10);
            }
            let (mut buf, mut n) = ([0u8; 24], 0);
            for (i, o) in v.octets().into_iter().enumerate() {
                if i > 0 {
                    put(&mut buf, &mut n, b'.');
                }
                dec(&mut buf, &mut n, o);
            }
            put(&mut buf, &mut n, b'/');
            dec(&mut buf, &mut n, a.prefix);
            put(&mut buf, &mut n, b'\n');
            s.write_all(key)?;
            s.write_all(&buf[..n])
        }
        std::net::IpAddr::V6(_) => {
            s.write_all(key)?;
            writeln!(s, "{a}")
        }
    }
}

/// Parses a `get=1` reply (without the final `errno=` line's meaning).
#[cfg(test)]
pub fn parse_get(name: &str, text: &str) -> Result<DeviceState, DeviceError> {
    let mut p = GetParser::new(name);
    for line in text.as_bytes().split(|&b| b == b'\n') {
        p.line(line)?;
    }
    Ok(p.d)
}

/// A `get=1` reply parsed line by line (as it arrives), on the bytes as they are (a
/// 20,000-peer reply is megabytes: no text conversion but for the values that need it).
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

    fn line(&mut self, line: &[u8]) -> Result<(), DeviceError> {
        if line.is_empty() {
            return Ok(());
        }
        if self.light
            && (line.starts_with(b"allowed_ip=") || line.starts_with(b"preshared_key=") || line.starts_with(b"private_key="))
        {
            return Ok(());
        }
        let GetParser { name, d, secs, .. } = self;
        // The line as text with control characters escaped, cut short: it comes from the socket.
        let bad = |l: &[u8]| {
            let t: String = String::from_utf8_lossy(&l[..l.len().min(120)]).escape_debug().collect();
            DeviceError::Protocol(format!("unexpected line in the reply of {name}: `{t}'"))
        };
        let eq = line.iter().position(|&b| b == b'=').ok_or_else(|| bad(line))?;
        let (k, v) = (&line[..eq], &line[eq + 1..]);
        let peer = d.peers.last_mut();
        match (k, peer) {
            (b"private_key", _) => {
                d.private_key = unhex_secret(v).map_err(|_| bad(b"private_key=(not a key)"))?;
                d.public_key = d.private_key.as_ref().map(|k| k.public_key());
            }
            (b"own_public_key", _) => d.public_key = unhex(v).map(Key),
            (b"listen_port", _) => d.listen_port = unsigned(v).ok_or_else(|| bad(line))?,
            (b"fwmark", _) => d.fwmark = unsigned(v).ok_or_else(|| bad(line))?,
            (b"public_key", _) => {
                let k = Key(unhex(v).ok_or_else(|| bad(line))?);
                d.peers.push(PeerState { public_key: k, ..Default::default() });
                *secs = None;
            }
            (b"errno", _) => {}
            (_, None) => {}
            (b"preshared_key", Some(p)) => p.preshared_key = unhex_secret(v).map_err(|_| bad(b"preshared_key=(not a key)"))?,
            (b"endpoint", Some(p)) => p.endpoint = endpoint(v),
            // Every number out of its range is a protocol error, as wg(8) reads the reply.
            (b"persistent_keepalive_interval", Some(p)) => p.persistent_keepalive = unsigned(v).ok_or_else(|| bad(line))?,
            (b"last_handshake_time_sec", Some(_)) => *secs = Some(signed_range(v).ok_or_else(|| bad(line))?),
            (b"last_handshake_time_nsec", Some(p)) => {
                let ns = signed_range(v).ok_or_else(|| bad(line))?;
                if let Some(s) = *secs {
                    p.last_handshake = super::handshake_time(s, ns);
                }
            }
            (b"rx_bytes", Some(p)) => p.rx_bytes = saturating(v).ok_or_else(|| bad(line))?,
            (b"tx_bytes", Some(p)) => p.tx_bytes = saturating(v).ok_or_else(|| bad(line))?,
            (b"allowed_ip", Some(p)) => {
                p.allowed_ips.push(std::str::from_utf8(v).ok().and_then(|v| IpNet::parse(v).ok()).ok_or_else(|| bad(line))?)
            }
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
            body.push_str(&String::from_utf8_lossy(l));
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
        each: &mut dyn FnMut(&[u8]) -> Result<(), DeviceError>,
    ) -> Result<i32, DeviceError> {
        // A backlog that stays full for the bound is the implementation not answering.
        let s = connect_within(path, self.bound).map_err(|e| {
            if timed_out(&e) {
                self.error(e)
            } else {
                DeviceError::Access { name: self.name.into(), errno: e.raw_os_error().unwrap_or(libc::ENODEV) }
            }
        })?;
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
    ///
    /// Bounded: a line longer than [`MAX_LINE`], a reply longer than [`MAX_REPLY`] or one
    /// that has not ended [`REPLY_BOUNDS`] read bounds after the request are protocol errors
    /// (wg(8)'s `Protocol error`); each read waits at most the bound.
    fn read_lines(&self, s: &UnixStream, each: &mut dyn FnMut(&[u8]) -> Result<(), DeviceError>) -> Result<i32, DeviceError> {
        let protocol = |why: &str| DeviceError::Protocol(format!("{}: the userspace implementation's reply {why}", self.name));
        let deadline = Instant::now() + self.bound.saturating_mul(REPLY_BOUNDS);
        let mut buf: Vec<u8> = Vec::with_capacity(512 * 1024);
        let mut total: u64 = 0;
        let mut r = s;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(protocol(&format!(
                    "did not end within {}",
                    crate::os::child::seconds(self.bound.saturating_mul(REPLY_BOUNDS))
                )));
            }
            s.set_read_timeout(Some(left.min(self.bound))).map_err(|e| self.error(e))?;
            let from = buf.len();
            buf.resize(from + 256 * 1024, 0);
            let n = match r.read(&mut buf[from..]) {
                Ok(n) => n,
                // The whole reply's deadline, not a silent socket: the same protocol error.
                Err(e) if timed_out(&e) && Instant::now() >= deadline => continue,
                Err(e) => return Err(self.error(e)),
            };
            buf.truncate(from + n);
            if n == 0 {
                return Err(DeviceError::Protocol(format!("{}: the userspace implementation closed the socket", self.name)));
            }
            total += n as u64;
            if total > MAX_REPLY {
                return Err(protocol(&format!("is longer than {} MiB", MAX_REPLY >> 20)));
            }
            let mut start = 0;
            while let Some(p) = buf[start..].iter().position(|&b| b == b'\n') {
                let line = &buf[start..start + p];
                start += p + 1;
                if line.len() > MAX_LINE {
                    return Err(protocol(&format!("has a line longer than {MAX_LINE} bytes")));
                }
                if let Some(e) = line.strip_prefix(b"errno=") {
                    return Ok(errno_value(e));
                }
                each(line)?;
            }
            buf.drain(..start);
            if buf.len() > MAX_LINE {
                return Err(protocol(&format!("has a line longer than {MAX_LINE} bytes")));
            }
        }
    }
}

/// Applies a configuration over UAPI.
pub fn set(name: &str, cfg: &DeviceConfig) -> Result<(), DeviceError> {
    let (_, errno) = Request::new(name, true).exchange(&socket_path(name), |w| write_set_request(w, cfg))?;
    if errno != 0 {
        return Err(DeviceError::Modify { name: name.into(), errno: errno.saturating_abs() });
    }
    Ok(())
}

/// Reads the device state over UAPI.
pub fn get(name: &str) -> Result<DeviceState, DeviceError> {
    get_at(&socket_path(name), Request::new(name, false))
}

fn get_at(path: &Path, req: Request) -> Result<DeviceState, DeviceError> {
    let mut p = GetParser::new(req.name);
    let errno = req.exchange_with(path, |w| w.write_all(b"get=1\n\n"), &mut |l| p.line(l))?;
    if errno != 0 {
        return Err(DeviceError::Access { name: req.name.into(), errno: errno.saturating_abs() });
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
        if connect_within(path, Duration::from_millis(100)).is_err_and(|e| e.kind() != std::io::ErrorKind::WouldBlock) {
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
        return Err(DeviceError::Access { name: name.into(), errno: errno.saturating_abs() });
    }
    Ok(p.d)
}

/// Interfaces served by a live userspace implementation (a socket that accepts).
pub fn list() -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(SOCKET_DIR) else { return Vec::new() };
    let mut v: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".sock")).map(String::from))
        .filter(|n| listening(&socket_path(n)))
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_with_a_named_zone_is_kept() {
        let v6 = |scope| Some(std::net::SocketAddr::V6(std::net::SocketAddrV6::new("fe80::1".parse().unwrap(), 51820, 0, scope)));
        assert_eq!(endpoint(b"[fe80::1%lo]:51820"), v6(1));
        assert_eq!(endpoint(b"[fe80::1%1]:51820"), v6(1));
        assert_eq!(endpoint(b"192.0.2.1:5"), Some("192.0.2.1:5".parse().unwrap()));
        assert_eq!(endpoint(b"[fe80::1%nosuchif0]:51820"), None);
        assert_eq!(endpoint(b"[fe80::1%lo]:x"), None);
    }

    #[test]
    fn absurd_handshake_times_do_not_panic() {
        let k = "11".repeat(32);
        for (sec, nsec) in [("9223372036854775807", "9223372036854775807"), ("0", "4000000000"), ("0", "0")] {
            let mut p = GetParser::new("wg0");
            for l in
                [format!("public_key={k}"), format!("last_handshake_time_sec={sec}"), format!("last_handshake_time_nsec={nsec}")]
            {
                p.line(l.as_bytes()).unwrap();
            }
            assert_eq!(p.d.peers[0].last_handshake.is_some(), sec != "0" || nsec != "0");
        }
        // Beyond a signed 64-bit time: wg(8)'s protocol error, no panic.
        for (sec, nsec) in [("18446744073709551615", "0"), ("0", "18446744073709551615")] {
            let mut p = GetParser::new("wg0");
            p.line(format!("public_key={k}").as_bytes()).unwrap();
            let r = p.line(format!("last_handshake_time_sec={sec}").as_bytes());
            let r = r.and_then(|_| p.line(format!("last_handshake_time_nsec={nsec}").as_bytes()));
            assert!(matches!(r, Err(DeviceError::Protocol(_))), "{sec} {nsec}");
        }
    }

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
            p.line(l.as_bytes()).unwrap();
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
    fn an_endpoint_update_is_update_only_text() {
        let cfg = crate::device::DeviceConfig::endpoint_update(Key([2; 32]), "[2001:db8::7]:51820".parse().unwrap());
        assert_eq!(
            set_request(&cfg),
            format!("set=1\npublic_key={}\nupdate_only=true\nendpoint=[2001:db8::7]:51820\n\n", "02".repeat(32))
        );
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
    fn allowed_ip_lines() {
        for a in ["0.0.0.0/0", "10.0.0.1/32", "192.168.100.255/24", "1.2.3.4/8", "fd00::1/128", "::/0"] {
            let net = IpNet::parse(a).unwrap();
            let mut v = Vec::new();
            write_allowed_ip(&mut v, b"allowed_ip=", &net).unwrap();
            assert_eq!(String::from_utf8(v).unwrap(), format!("allowed_ip={net}\n"));
        }
    }

    #[test]
    fn hex_both_ways() {
        let k: [u8; 32] = std::array::from_fn(|i| (i * 37 + 5) as u8);
        let h = hex(&k);
        assert_eq!(h.len(), 64);
        assert_eq!(unhex(h.as_bytes()), Some(k));
        assert_eq!(unhex(h.to_uppercase().as_bytes()), Some(k));
        let mut bad = h.clone().into_bytes();
        bad[17] = b'g';
        assert_eq!(unhex(&bad), None);
        assert_eq!(unhex(&h.as_bytes()[..62]), None);
        assert_eq!(unsigned::<u16>(b"51820"), Some(51820));
        assert_eq!(unsigned::<u16>(b"65536"), None);
        assert_eq!(unsigned::<u64>(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(unsigned::<u64>(b"18446744073709551616"), None);
        for bad in [&b""[..], b"-1", b"+1", b"1 ", b"0x1"] {
            assert_eq!(unsigned::<u32>(bad), None);
        }
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

    /// A fake implementation on a socket of its own: answers one request (read up to its
    /// blank line) by `reply`, in a thread.
    fn fake(reply: impl FnOnce(&mut std::os::unix::net::UnixStream) + Send + 'static) -> (tempfile::TempDir, PathBuf) {
        let (d, p, l) = silent_socket();
        std::thread::spawn(move || {
            let Ok((mut c, _)) = l.accept() else { return };
            let mut req = Vec::new();
            let mut b = [0u8; 1];
            while !req.ends_with(b"\n\n") && c.read(&mut b).is_ok_and(|n| n == 1) {
                req.push(b[0]);
            }
            reply(&mut c);
        });
        (d, p)
    }

    fn get_from(path: &Path, bound: Duration) -> Result<DeviceState, DeviceError> {
        get_at(path, Request { name: "wgt0", modify: false, bound })
    }

    /// What wg(8) makes of the error: `Protocol error` (EPROTO), whichever way it came.
    fn is_protocol_error(e: &DeviceError) -> bool {
        matches!(e, DeviceError::Protocol(_)) || e.errno() == Some(libc::EPROTO)
    }

    const PEER: &str = "public_key=0202020202020202020202020202020202020202020202020202020202020202\n";

    #[test]
    fn out_of_range_values_are_protocol_errors() {
        let bound = Duration::from_secs(2);
        let ok = |body: String| {
            let (_d, p) = fake(move |c| {
                let _ = c.write_all(format!("{body}errno=0\n\n").as_bytes());
            });
            get_from(&p, bound)
        };
        // The same replies with values in range are taken (so each case below can fail).
        let d = ok(format!(
            "listen_port=65535\nfwmark=4294967295\n{PEER}persistent_keepalive_interval=65535\n\
             last_handshake_time_sec=9223372036854775807\nlast_handshake_time_nsec=9223372036854775807\n\
             rx_bytes=18446744073709551615\ntx_bytes=0\nallowed_ip=10.0.0.0/32\nallowed_ip=fd00::/128\n"
        ))
        .unwrap();
        assert_eq!(
            (d.listen_port, d.fwmark, d.peers[0].persistent_keepalive, d.peers[0].rx_bytes),
            (65535, u32::MAX, 65535, u64::MAX)
        );
        // Counters past 2^64-1 saturate, as wg(8) reads them (strtoull).
        let d = ok(format!("{PEER}rx_bytes=18446744073709551616\ntx_bytes=99999999999999999999999999\n")).unwrap();
        assert_eq!((d.peers[0].rx_bytes, d.peers[0].tx_bytes), (u64::MAX, u64::MAX));
        for bad in [
            "listen_port=65536\n".to_string(),
            "fwmark=4294967296\n".into(),
            "listen_port=-1\n".into(),
            format!("{PEER}persistent_keepalive_interval=65536\n"),
            format!("{PEER}last_handshake_time_sec=9223372036854775808\n"),
            format!("{PEER}last_handshake_time_nsec=18446744073709551615\n"),
            format!("{PEER}tx_bytes=1e3\n"),
            format!("{PEER}allowed_ip=10.0.0.0/4294967329\n"),
            format!("{PEER}allowed_ip=fd00::/129\n"),
            format!("{PEER}preshared_key=zz\n"),
            format!("private_key={}\n", "0".repeat(63)),
            "no equals sign\n".into(),
        ] {
            let e = ok(bad.clone()).expect_err(&bad);
            assert!(is_protocol_error(&e), "{bad}: {e}");
        }
        for errno in ["-1", "+5", "2147483648", "99999999999999999999999", "x"] {
            let (_d, p) = fake(move |c| {
                let _ = c.write_all(format!("errno={errno}\n\n").as_bytes());
            });
            let e = get_from(&p, bound).unwrap_err();
            assert!(is_protocol_error(&e), "errno={errno}: {e}");
        }
        // A control character of a bad line is escaped in the message.
        let e = ok("\x1b[31mred\n".into()).unwrap_err();
        assert!(!e.to_string().contains('\x1b'), "{e}");
    }

    #[test]
    fn endless_or_trickling_replies_end_within_the_bounds() {
        let bound = Duration::from_millis(200);
        let limit = bound * REPLY_BOUNDS + Duration::from_secs(2);
        // One line without end.
        let (_d, p) = fake(|c| while c.write_all(&[b'x'; 4096]).is_ok() {});
        let t = Instant::now();
        let e = get_from(&p, bound).unwrap_err();
        assert!(is_protocol_error(&e) && e.to_string().contains("line longer"), "{e}");
        assert!(t.elapsed() < limit, "{:?}", t.elapsed());
        // Valid lines without end (a peer's counters over and over).
        let (_d, p) = fake(|c| {
            let _ = c.write_all(PEER.as_bytes());
            let chunk = "rx_bytes=1\n".repeat(4096);
            while c.write_all(chunk.as_bytes()).is_ok() {}
        });
        let t = Instant::now();
        let e = get_from(&p, bound).unwrap_err();
        assert!(is_protocol_error(&e), "{e}");
        assert!(t.elapsed() < limit, "{:?}", t.elapsed());
        // A byte now and then, each within the bound of one read.
        let (_d, p) = fake(move |c| {
            while c.write_all(b"f").is_ok() {
                std::thread::sleep(bound / 4);
            }
        });
        let t = Instant::now();
        let e = get_from(&p, bound).unwrap_err();
        assert!(is_protocol_error(&e) && e.to_string().contains("did not end"), "{e}");
        assert!(t.elapsed() >= bound * REPLY_BOUNDS && t.elapsed() < limit, "{:?}", t.elapsed());
    }

    /// A listener with the smallest backlog, already full: nobody accepts, and one more
    /// connect(2) has to wait for room.
    fn full_backlog() -> (tempfile::TempDir, PathBuf, std::os::unix::net::UnixListener, Vec<UnixStream>) {
        use std::os::fd::AsRawFd;
        let (d, p, l) = silent_socket();
        // SAFETY: listen(2) on the listener's own descriptor.
        assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 0) }, 0);
        let mut held = Vec::new();
        while let Ok(s) = connect_within(&p, Duration::from_millis(50)) {
            held.push(s);
            assert!(held.len() < 1000, "the backlog never filled");
        }
        (d, p, l, held)
    }

    #[test]
    fn a_full_backlog_makes_connect_wait_no_longer_than_the_bound() {
        let (_d, path, _l, _held) = full_backlog();
        let t = Instant::now();
        let e = connect_within(&path, Duration::from_millis(200)).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}");
        assert!(t.elapsed() >= Duration::from_millis(150) && t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        // A request to it times out as one to a silent implementation.
        let bound = Duration::from_millis(200);
        let t = Instant::now();
        let e = get_from(&path, bound).unwrap_err();
        assert!(matches!(e, DeviceError::Timeout { .. }), "{e}");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        // It is still there: not gone.
        assert!(!wait_gone_at(&path, Duration::from_millis(100)));
    }
}
