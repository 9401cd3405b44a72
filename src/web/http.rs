//! A small HTTP/1.1 server over std: a bounded request reader (header bytes, header count,
//! body size, and deadlines for the first byte, the head and the body), a response writer,
//! and a fixed pool of worker threads fed by one accepting thread through a bounded queue.
//! Keep-alive is bounded too (requests per connection, idle time).
//!
//! A worker waits on its connection, so a few hosts holding connections open (slowloris)
//! could take every worker. Two bounds stop that: each client address has at most
//! `Limits::per_addr` connections in the workers (more wait in a short queue of their
//! own, beyond that they are refused with a 503), and a connection gets only
//! `first_byte_time` for its first byte and `header_time` for the rest of its head.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The bounds of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The request line and headers together.
    pub header_bytes: usize,
    pub headers: usize,
    pub body_bytes: usize,
    /// From the connection's start to the first byte of its first request.
    pub first_byte_time: Duration,
    /// From the first byte of a request to the end of its head.
    pub header_time: Duration,
    /// For the body.
    pub body_time: Duration,
    /// Waiting for the next request on a kept-alive connection.
    pub idle_time: Duration,
    pub requests_per_connection: usize,
    /// Connections of one client address in the workers at once (a trusted proxy's: no
    /// bound), and how many more of its connections may wait for one of those to end.
    pub per_addr: usize,
    pub per_addr_waiting: usize,
    /// Waiting connections of all addresses together (each holds a file descriptor).
    pub waiting: usize,
    /// How long a waiting connection may wait.
    pub waiting_time: Duration,
    /// For a TLS handshake, from the connection's start.
    pub handshake_time: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_bytes: 16 * 1024,
            headers: 64,
            body_bytes: 1024 * 1024,
            first_byte_time: Duration::from_secs(3),
            header_time: Duration::from_secs(5),
            body_time: Duration::from_secs(30),
            idle_time: Duration::from_secs(5),
            requests_per_connection: 1000,
            per_addr: 4,
            per_addr_waiting: 16,
            waiting: 256,
            waiting_time: Duration::from_secs(10),
            handshake_time: Duration::from_secs(5),
        }
    }
}

#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// The path, percent-decoding not applied (routes match segments themselves).
    pub path: String,
    pub query: String,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The connection's peer.
    pub peer: SocketAddr,
    /// A body larger than the default holds [`LargeBody`] until the request is answered.
    large: Option<LargeBody>,
}

/// How many bodies larger than the limits' default (a restore's, up to 32 MiB, parsed into
/// a few times that) may be read or handled at once; another gets 503 before it is read.
const MAX_LARGE_BODIES: usize = 1;

/// Bodies larger than the default being read or handled now (one server per process).
static LARGE_BODIES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// One of the [`MAX_LARGE_BODIES`] places, given back when dropped.
#[derive(Debug)]
struct LargeBody(());

impl LargeBody {
    fn take() -> Option<LargeBody> {
        use std::sync::atomic::Ordering::SeqCst;
        LARGE_BODIES.fetch_update(SeqCst, SeqCst, |n| (n < MAX_LARGE_BODIES).then_some(n + 1)).ok().map(|_| LargeBody(()))
    }
}

impl Drop for LargeBody {
    fn drop(&mut self) {
        LARGE_BODIES.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// A body shared with a cache (sent in place of `body`, without a copy).
    pub shared: Option<Arc<Vec<u8>>>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response { status, headers: vec![("Content-Type".into(), content_type.into())], body: body.into(), shared: None }
    }

    /// A response whose body is shared (a cached answer).
    pub fn shared(status: u16, content_type: &str, body: Arc<Vec<u8>>) -> Response {
        Response { shared: Some(body), ..Response::new(status, content_type, Vec::new()) }
    }

    pub fn bytes(&self) -> &[u8] {
        self.shared.as_deref().map_or(&self.body, |v| v.as_slice())
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Why a request was not read.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The connection closed (or idled out) before a request began: nothing to answer.
    Closed,
    /// Answer with this status and close.
    Status(u16),
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// A connection: plain TCP, or TLS over it.
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsConn>),
}

/// A TLS connection and the deadline of the read under way.
pub struct TlsConn {
    s: rustls::StreamOwned<rustls::ServerConnection, TcpStream>,
    deadline: Option<Instant>,
}

impl Conn {
    fn sock(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(t) => &t.s.sock,
        }
    }

    /// The time the next read may take, in all: a TLS read that needs several packets for a
    /// record gets no fresh timeout for each (a client sending a byte now and then would
    /// hold the worker for good).
    fn set_read_timeout(&mut self, d: Option<Duration>) -> std::io::Result<()> {
        if let Conn::Tls(t) = self {
            t.deadline = d.map(|d| Instant::now() + d);
        }
        self.sock().set_read_timeout(d)
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let t = match self {
            Conn::Plain(s) => return s.read(buf),
            Conn::Tls(t) => t,
        };
        loop {
            match t.s.conn.reader().read(buf) {
                // No plaintext yet: read one more packet, within the deadline.
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                r => return r,
            }
            if let Some(d) = t.deadline {
                let left = d.checked_duration_since(Instant::now()).filter(|l| !l.is_zero());
                let Some(left) = left else { return Err(std::io::ErrorKind::TimedOut.into()) };
                t.s.sock.set_read_timeout(Some(left))?;
            }
            if t.s.conn.read_tls(&mut t.s.sock)? == 0 {
                // The peer closed: the reader now says how (close_notify or not).
                return t.s.conn.reader().read(buf);
            }
            let state = t.s.conn.process_new_packets();
            // An alert, a key update or a ticket may be due, an error's alert too.
            while t.s.conn.wants_write() {
                if t.s.conn.write_tls(&mut t.s.sock)? == 0 {
                    break;
                }
            }
            state.map_err(std::io::Error::other)?;
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(t) => t.s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(t) => t.s.flush(),
        }
    }
}

/// A TLS handshake within `limit` (a slow one holds a worker as a slow request head would).
/// Packet by packet, each read within what is left of `limit`: rustls' `complete_io` would
/// give every packet a fresh timeout, so a client sending its hello a byte at a time would
/// hold the worker for good.
fn handshake(cfg: &Arc<rustls::ServerConfig>, mut sock: TcpStream, limit: Duration) -> Option<Conn> {
    let mut tls = rustls::ServerConnection::new(Arc::clone(cfg)).ok()?;
    let deadline = Instant::now() + limit;
    // A plain HTTP request (a letter where a TLS record's type, 0x16, would be) gets a plain
    // answer that says so, in place of a closed connection the browser cannot explain.
    sock.set_read_timeout(Some(limit)).ok()?;
    let mut first = [0u8; 1];
    if sock.peek(&mut first).ok()? == 1 && first[0].is_ascii_uppercase() {
        let text = "This port speaks HTTPS: use an https:// address.\n";
        let _ = sock.set_write_timeout(Some(Duration::from_secs(1)));
        let _ = write!(
            sock,
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        );
        return None;
    }
    loop {
        let left = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())?;
        sock.set_read_timeout(Some(left)).ok()?;
        sock.set_write_timeout(Some(left)).ok()?;
        while tls.wants_write() {
            if tls.write_tls(&mut sock).ok()? == 0 {
                return None;
            }
        }
        if !tls.is_handshaking() {
            break;
        }
        match tls.read_tls(&mut sock) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
        if tls.process_new_packets().is_err() {
            // Its alert, then the end.
            let _ = tls.write_tls(&mut sock);
            return None;
        }
    }
    Some(Conn::Tls(Box::new(TlsConn { s: rustls::StreamOwned::new(tls, sock), deadline: None })))
}

fn timed_out(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
}

/// Waits until `deadline` for a request's first byte: false when the connection closed,
/// nothing came, or `give_up` (asked every 200 ms) says so.
fn wait_first_byte(r: &mut BufReader<Conn>, deadline: Instant, give_up: &dyn Fn() -> bool) -> bool {
    loop {
        if !r.buffer().is_empty() {
            return true;
        }
        let Some(left) = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) else { return false };
        if give_up() {
            return false;
        }
        let _ = r.get_mut().set_read_timeout(Some(left.min(Duration::from_millis(200))));
        match r.fill_buf() {
            Ok(b) => return !b.is_empty(),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::Interrupted) || timed_out(&e) => {}
            Err(_) => return false,
        }
    }
}

/// Reads one line, ended by CRLF, within `budget` bytes and the deadline. A bare LF (or a
/// CR not before the LF) is refused: a proxy in front that ends lines only at CRLF would
/// see other headers than this reader, and where they end.
fn read_line(r: &mut BufReader<Conn>, budget: &mut usize, deadline: Instant) -> Result<Vec<u8>, ReadError> {
    let mut line = Vec::new();
    loop {
        let left = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()).ok_or(ReadError::Status(408))?;
        let _ = r.get_mut().set_read_timeout(Some(left));
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if timed_out(&e) => return Err(ReadError::Status(408)),
            Err(_) => return Err(ReadError::Closed),
        };
        if buf.is_empty() {
            return Err(ReadError::Status(400));
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if take > *budget {
            return Err(ReadError::Status(431));
        }
        *budget -= take;
        line.extend_from_slice(&buf[..take]);
        r.consume(take);
        if done {
            if !line.ends_with(b"\r\n") {
                return Err(ReadError::Status(400));
            }
            line.truncate(line.len() - 2);
            if line.contains(&b'\r') {
                return Err(ReadError::Status(400));
            }
            return Ok(line);
        }
    }
}

/// Reads one request. `idle`: how long to wait for its first byte (unless `give_up` says
/// to stop waiting); the rest of its head then has `limits.header_time`. `body_limit`: the
/// most bytes of the body of this request, given its head (the handler's
/// [`Handler::body_limit`]).
pub fn read_request(
    r: &mut BufReader<Conn>,
    peer: SocketAddr,
    limits: &Limits,
    idle: Duration,
    give_up: &dyn Fn() -> bool,
    body_limit: &dyn Fn(&Request) -> usize,
) -> Result<Request, ReadError> {
    let mut budget = limits.header_bytes;
    if !wait_first_byte(r, Instant::now() + idle, give_up) {
        return Err(ReadError::Closed);
    }
    let deadline = Instant::now() + limits.header_time;
    let first = read_line(r, &mut budget, deadline)?;
    let first = String::from_utf8(first).map_err(|_| ReadError::Status(400))?;
    let mut parts = first.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(ReadError::Status(400));
    };
    if !matches!(version, "HTTP/1.1" | "HTTP/1.0") {
        return Err(ReadError::Status(400));
    }
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ReadError::Status(400));
    }
    if !target.starts_with('/') || !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ReadError::Status(400));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    loop {
        let line = read_line(r, &mut budget, deadline)?;
        if line.is_empty() {
            break;
        }
        if headers.len() >= limits.headers {
            return Err(ReadError::Status(431));
        }
        let line = String::from_utf8(line).map_err(|_| ReadError::Status(400))?;
        let (n, v) = line.split_once(':').ok_or(ReadError::Status(400))?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b)) {
            return Err(ReadError::Status(400));
        }
        if v.chars().any(|c| c.is_control() && c != '\t') {
            return Err(ReadError::Status(400));
        }
        headers.push((n.to_ascii_lowercase(), v.trim().to_string()));
    }
    let get = |name: &str| headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect::<Vec<_>>();
    if !get("transfer-encoding").is_empty() {
        // No chunked request bodies: every client this serves sends a length.
        return Err(ReadError::Status(411));
    }
    let lengths = get("content-length");
    let len = match lengths.as_slice() {
        [] => 0,
        // Digits only (`+2` parses as a usize but is no Content-Length: a proxy in front could
        // read the body's end elsewhere).
        [one] if !one.is_empty() && one.bytes().all(|b| b.is_ascii_digit()) => {
            one.parse::<usize>().map_err(|_| ReadError::Status(400))?
        }
        [_] => return Err(ReadError::Status(400)),
        _ => return Err(ReadError::Status(400)),
    };
    let mut req =
        Request { method: method.into(), path: path.into(), query: query.into(), headers, body: Vec::new(), peer, large: None };
    // The handler is asked only about a body larger than the default (it may look at who
    // asks, which costs).
    if len > limits.body_bytes {
        if len > body_limit(&req) {
            return Err(ReadError::Status(413));
        }
        req.large = Some(LargeBody::take().ok_or(ReadError::Status(503))?);
    }
    let mut body = vec![0u8; len];
    let deadline = Instant::now() + limits.body_time;
    let mut got = 0;
    while got < len {
        let left = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()).ok_or(ReadError::Status(408))?;
        let _ = r.get_mut().set_read_timeout(Some(left));
        match r.read(&mut body[got..]) {
            Ok(0) => return Err(ReadError::Closed),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if timed_out(&e) => return Err(ReadError::Status(408)),
            Err(_) => return Err(ReadError::Closed),
        }
    }
    req.body = body;
    Ok(req)
}

/// Writes a response (`head`: no body, as for HEAD).
pub fn write_response(w: &mut impl Write, resp: &Response, keep_alive: bool, head: bool) -> std::io::Result<()> {
    let mut s = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (n, v) in &resp.headers {
        // Values are made by this program; a line break would split the header.
        let v: String = v.chars().filter(|c| !c.is_control()).collect();
        s.push_str(&format!("{n}: {v}\r\n"));
    }
    let body = resp.bytes();
    s.push_str(&format!("Content-Length: {}\r\n", body.len()));
    s.push_str(if keep_alive { "Connection: keep-alive\r\n\r\n" } else { "Connection: close\r\n\r\n" });
    if head || body.is_empty() {
        w.write_all(s.as_bytes())?;
    } else if body.len() <= 64 * 1024 {
        let mut out = s.into_bytes();
        out.extend_from_slice(body);
        w.write_all(&out)?;
    } else {
        // A large body is not copied behind its header.
        w.write_all(s.as_bytes())?;
        w.write_all(body)?;
    }
    w.flush()
}

/// What answers requests.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, req: &Request) -> Response;
    /// The headers every answer gets (an error answer of the reader too).
    fn common_headers(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// The most bytes of the body of the request `head` (its body not read yet; `default`:
    /// the limits').
    fn body_limit(&self, _head: &Request, default: usize) -> usize {
        default
    }
}

fn error_response(h: &dyn Handler, status: u16) -> Response {
    let mut r = Response::new(status, "application/json", format!("{{\"error\":\"{}\"}}", reason(status)));
    r.headers.extend(h.common_headers());
    r
}

/// Serves one connection. `crowded`: other connections of the same address wait for this
/// one, which then ends at its next idle wait (a browser's kept-alive connections give
/// their places to its new ones). `handling`: true while a request is being handled (not
/// while reading or writing).
fn serve_connection(
    h: &dyn Handler,
    stream: TcpStream,
    limits: &Limits,
    tls: Option<&Arc<rustls::ServerConfig>>,
    crowded: &dyn Fn() -> bool,
    handling: &AtomicBool,
) {
    let Ok(peer) = stream.peer_addr() else { return };
    let _ = stream.set_nodelay(true);
    let conn = match tls {
        Some(cfg) => match handshake(cfg, stream, limits.handshake_time) {
            Some(c) => c,
            None => return,
        },
        None => Conn::Plain(stream),
    };
    let _ = conn.sock().set_write_timeout(Some(Duration::from_secs(30)));
    let mut r = BufReader::with_capacity(8192, conn);
    serve_requests(h, &mut r, peer, limits, crowded, handling);
    if let Conn::Tls(t) = r.get_mut() {
        t.s.conn.send_close_notify();
        let _ = t.s.flush();
    }
}

fn serve_requests(
    h: &dyn Handler,
    r: &mut BufReader<Conn>,
    peer: SocketAddr,
    limits: &Limits,
    crowded: &dyn Fn() -> bool,
    handling: &AtomicBool,
) {
    for i in 0..limits.requests_per_connection {
        let (idle, give_up): (_, &dyn Fn() -> bool) =
            if i == 0 { (limits.first_byte_time, &|| false) } else { (limits.idle_time, crowded) };
        match read_request(r, peer, limits, idle, give_up, &|head| h.body_limit(head, limits.body_bytes)) {
            Ok(req) => {
                let close = req.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
                handling.store(true, Ordering::SeqCst);
                let mut resp = h.handle(&req);
                handling.store(false, Ordering::SeqCst);
                resp.headers.extend(h.common_headers());
                let keep = !close && i + 1 < limits.requests_per_connection;
                if write_response(r.get_mut(), &resp, keep, req.method == "HEAD").is_err() || !keep {
                    return;
                }
            }
            Err(ReadError::Closed) => return,
            Err(ReadError::Status(s)) => {
                let _ = write_response(r.get_mut(), &error_response(h, s), false, false);
                return;
            }
        }
    }
}

/// The client's address as the bounds count it (an IPv4-mapped IPv6 address as IPv4).
fn plain(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v) => v.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v)),
        a => a,
    }
}

/// The connections of each client address: how many are in the workers, and those that
/// wait for one of them to end.
#[derive(Default)]
struct PerAddr {
    addrs: HashMap<IpAddr, (usize, VecDeque<(TcpStream, Instant)>)>,
    /// Waiting connections in all.
    waiting: usize,
}

enum Admit {
    Serve(TcpStream),
    Waiting,
    Refuse(TcpStream),
}

impl PerAddr {
    fn admit(&mut self, ip: IpAddr, s: TcpStream, limits: &Limits) -> Admit {
        let (active, waiting) = self.addrs.entry(ip).or_default();
        if *active < limits.per_addr.max(1) {
            *active += 1;
            Admit::Serve(s)
        } else if waiting.len() < limits.per_addr_waiting && self.waiting < limits.waiting {
            waiting.push_back((s, Instant::now()));
            self.waiting += 1;
            Admit::Waiting
        } else {
            Admit::Refuse(s)
        }
    }

    /// Whether connections of `ip` wait.
    fn waiting(&self, ip: IpAddr) -> bool {
        self.addrs.get(&ip).is_some_and(|(_, w)| !w.is_empty())
    }

    /// A connection of `ip` ended: the next of its waiting ones to serve, if any (those that
    /// waited too long are closed).
    fn done(&mut self, ip: IpAddr, limits: &Limits) -> Option<TcpStream> {
        let (active, waiting) = self.addrs.get_mut(&ip)?;
        while let Some((s, since)) = waiting.pop_front() {
            self.waiting -= 1;
            if since.elapsed() < limits.waiting_time {
                return Some(s);
            }
        }
        *active = active.saturating_sub(1);
        if *active == 0 {
            self.addrs.remove(&ip);
        }
        None
    }
}

/// How long [`Running::stop`] lets answers be written before it cuts their connections.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// A server started by [`start`]: its threads run until [`Running::stop`].
pub struct Running {
    listener: Arc<TcpListener>,
    shared: Arc<Shared>,
    acceptor: std::thread::JoinHandle<()>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

/// What the threads of a [`Running`] server share: whether it stops, and the connections
/// being served (so that a stop ends their reads).
struct Shared {
    stopping: AtomicBool,
    /// Each with whether a request of it is being handled.
    conns: Mutex<HashMap<u64, (TcpStream, Arc<AtomicBool>)>>,
}

/// Serves `listener` with `workers` threads (over TLS with `tls`) fed by one accepting
/// thread; connections beyond what the queue holds, or beyond what `limits` lets one address
/// have, get a 503 (plain HTTP) or are closed (TLS). Connections from `unbounded` (trusted
/// reverse proxies, which carry many clients) have no per-address bound.
pub fn start(
    listener: TcpListener,
    handler: Arc<dyn Handler>,
    workers: usize,
    limits: Limits,
    unbounded: Vec<crate::net::IpNet>,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Running {
    let (tx, rx) = mpsc::sync_channel::<(TcpStream, Option<IpAddr>)>(workers * 8);
    let rx = Arc::new(Mutex::new(rx));
    let per_addr = Arc::new(Mutex::new(PerAddr::default()));
    let shared = Arc::new(Shared { stopping: AtomicBool::new(false), conns: Mutex::new(HashMap::new()) });
    let next_id = Arc::new(AtomicU64::new(0));
    let plain_http = tls.is_none();
    let refuse = move |h: &dyn Handler, mut s: TcpStream| {
        // (A TLS client would not read a plain answer: it is closed.)
        if plain_http {
            let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = write_response(&mut s, &error_response(h, 503), false, false);
        }
    };
    let workers = (0..workers.max(1))
        .map(|_| {
            let rx = Arc::clone(&rx);
            let h = Arc::clone(&handler);
            let per_addr = Arc::clone(&per_addr);
            let shared = Arc::clone(&shared);
            let next_id = Arc::clone(&next_id);
            let tls = tls.clone();
            std::thread::spawn(move || {
                loop {
                    let next = rx.lock().map(|r| r.recv());
                    let Ok(Ok((mut s, ip))) = next else { return };
                    let crowded = || ip.is_some_and(|ip| super::lock(&per_addr).waiting(ip));
                    loop {
                        // Registered, unless the server stops (then the connection is closed).
                        let id = next_id.fetch_add(1, Ordering::Relaxed);
                        let handling = Arc::new(AtomicBool::new(false));
                        let registered = {
                            let mut conns = super::lock(&shared.conns);
                            !shared.stopping.load(Ordering::SeqCst)
                                && s.try_clone().map(|c| conns.insert(id, (c, Arc::clone(&handling)))).is_ok()
                        };
                        if registered {
                            serve_connection(h.as_ref(), s, &limits, tls.as_ref(), &crowded, &handling);
                            super::lock(&shared.conns).remove(&id);
                        }
                        // The next waiting connection of the same address takes this one's place.
                        match ip.and_then(|ip| super::lock(&per_addr).done(ip, &limits)) {
                            Some(n) => s = n,
                            None => break,
                        }
                    }
                }
            })
        })
        .collect();
    let listener = Arc::new(listener);
    let acceptor = {
        let listener = Arc::clone(&listener);
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            loop {
                let accepted = listener.accept();
                if shared.stopping.load(Ordering::SeqCst) {
                    return;
                }
                let (s, peer) = match accepted {
                    Ok(c) => c,
                    Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)) => {
                        std::thread::sleep(Duration::from_millis(100));
                        continue;
                    }
                    Err(_) => continue,
                };
                let ip = plain(peer.ip());
                let bounded = !unbounded.iter().any(|n| in_net(ip, n));
                let s = if bounded {
                    match super::lock(&per_addr).admit(ip, s, &limits) {
                        Admit::Serve(s) => s,
                        Admit::Waiting => continue,
                        Admit::Refuse(s) => {
                            refuse(handler.as_ref(), s);
                            continue;
                        }
                    }
                } else {
                    s
                };
                if let Err(mpsc::TrySendError::Full((s, _))) = tx.try_send((s, bounded.then_some(ip))) {
                    refuse(handler.as_ref(), s);
                    if bounded {
                        // Its place, and those waiting for it, are given up too.
                        let given_up: Vec<TcpStream> = {
                            let mut p = super::lock(&per_addr);
                            std::iter::from_fn(|| p.done(ip, &limits)).collect()
                        };
                        for w in given_up {
                            refuse(handler.as_ref(), w);
                        }
                    }
                }
            }
        })
    };
    Running { listener, shared, acceptor, workers }
}

impl Running {
    /// Serves until the process ends.
    pub fn wait(self) {
        let _ = self.acceptor.join();
    }

    /// Stops: no new connection is taken, the reads of those being served end (a request
    /// being handled, such as a change to a server file, is finished and answered first),
    /// and every thread has ended when this returns. An answer still being written after
    /// [`STOP_GRACE`] (to a client that does not read it) is cut short: its connection is
    /// shut down (a handler still at work finishes first; its answer is then written
    /// into the socket or cut).
    pub fn stop(self) {
        {
            let conns = super::lock(&self.shared.conns);
            self.shared.stopping.store(true, Ordering::SeqCst);
            for (c, _) in conns.values() {
                let _ = c.shutdown(std::net::Shutdown::Read);
            }
        }
        // accept(2) on a listening socket shut down fails at once (EINVAL), so the accepting
        // thread sees `stopping`.
        // SAFETY: shutdown on a descriptor the listener owns and keeps open until it drops.
        unsafe { libc::shutdown(self.listener.as_raw_fd(), libc::SHUT_RDWR) };
        let _ = self.acceptor.join();
        // The accepting thread held the queue's sender: the workers' queue ends.
        let end = Instant::now() + STOP_GRACE;
        while self.workers.iter().any(|w| !w.is_finished()) {
            if Instant::now() >= end {
                // Past the grace: a connection still reading or writing is cut; a request
                // being handled is left to finish (and its answer is then cut if it waits).
                for (c, handling) in super::lock(&self.shared.conns).values() {
                    if !handling.load(Ordering::SeqCst) {
                        let _ = c.shutdown(std::net::Shutdown::Both);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for w in self.workers {
            let _ = w.join();
        }
    }
}

/// An address or network (`--trusted-proxy`).
pub fn in_net(addr: IpAddr, net: &crate::net::IpNet) -> bool {
    let addr = match addr {
        IpAddr::V6(v) => v.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v)),
        a => a,
    };
    net.contains(&crate::net::IpNet::new(addr, if addr.is_ipv4() { 32 } else { 128 }))
}

/// Percent-decodes one path segment (refusing `/`, NUL and invalid UTF-8).
pub fn decode_segment(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let t = String::from_utf8(out).ok()?;
    (!t.contains(['/', '\0'])).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every request with a body far bigger than the sockets' buffers; `/slow`
    /// with a short one after 3 s (a change that takes its time).
    struct Big(Arc<Vec<u8>>);

    impl Handler for Big {
        fn handle(&self, req: &Request) -> Response {
            if req.path == "/slow" {
                std::thread::sleep(Duration::from_secs(3));
                return Response::new(200, "text/plain", "done");
            }
            Response::shared(200, "application/octet-stream", Arc::clone(&self.0))
        }
    }

    #[test]
    fn a_client_that_does_not_read_its_answer_does_not_hold_the_stop() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = start(listener, Arc::new(Big(Arc::new(vec![b'x'; 64 << 20]))), 4, Limits::default(), Vec::new(), None);
        // One asks and never reads the answer (its worker is stuck writing); one sends half a
        // header (its worker is stuck reading).
        let mut slow = TcpStream::connect(addr).unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut half = TcpStream::connect(addr).unwrap();
        half.write_all(b"GET / HTTP/1.1\r\n").unwrap();
        // And one whose request takes longer than the grace: it is finished and answered.
        let mut change = TcpStream::connect(addr).unwrap();
        change.write_all(b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(500));
        let t = Instant::now();
        server.stop();
        assert!(t.elapsed() < Duration::from_secs(5), "the stop took {:?}", t.elapsed());
        change.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut answer = String::new();
        change.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 ") && answer.ends_with("done"), "{answer}");
        // Both connections were ended, the listener too.
        half.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        half.read_to_end(&mut Vec::new()).expect("the connection was not closed");
        assert!(TcpStream::connect(addr).is_err(), "still accepting");
        drop(slow);
    }

    #[test]
    fn per_address_bounds() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let conn = || TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let limits = Limits { per_addr: 1, per_addr_waiting: 2, waiting: 3, ..Limits::default() };
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let mut p = PerAddr::default();
        assert!(matches!(p.admit(a, conn(), &limits), Admit::Serve(_)));
        assert!(matches!(p.admit(a, conn(), &limits), Admit::Waiting));
        assert!(matches!(p.admit(a, conn(), &limits), Admit::Waiting));
        assert!(matches!(p.admit(a, conn(), &limits), Admit::Refuse(_)), "its waiting room is full");
        assert!(matches!(p.admit(b, conn(), &limits), Admit::Serve(_)), "another address is served");
        assert!(matches!(p.admit(b, conn(), &limits), Admit::Waiting));
        assert!(matches!(p.admit(b, conn(), &limits), Admit::Refuse(_)), "all waiting rooms together are full");
        assert!(p.waiting(a) && p.waiting(b));
        // An ended connection's place goes to the next waiting one, then the count drops.
        assert!(p.done(a, &limits).is_some() && p.done(a, &limits).is_some());
        assert!(!p.waiting(a) && p.done(a, &limits).is_none());
        assert!(!p.addrs.contains_key(&a) && p.waiting == 1);
        assert!(matches!(p.admit(a, conn(), &limits), Admit::Serve(_)));
        // One that waited too long is closed, not served.
        let quick = Limits { waiting_time: Duration::ZERO, ..limits };
        assert!(p.done(b, &quick).is_none() && p.waiting == 0 && !p.addrs.contains_key(&b));
    }
}
