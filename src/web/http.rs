//! A small HTTP/1.1 server over std: a bounded request reader (header bytes, header count,
//! body size, and a deadline for the header and for the body), a response writer, and a
//! fixed pool of worker threads fed by one accepting thread through a bounded queue.
//! Keep-alive is bounded too (requests per connection, idle time).

use std::collections::HashMap;
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
    /// From the first byte of a request to the end of its header.
    pub header_time: Duration,
    /// For the body.
    pub body_time: Duration,
    /// Waiting for the next request on a kept-alive connection.
    pub idle_time: Duration,
    pub requests_per_connection: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_bytes: 16 * 1024,
            headers: 64,
            body_bytes: 1024 * 1024,
            header_time: Duration::from_secs(10),
            body_time: Duration::from_secs(30),
            idle_time: Duration::from_secs(5),
            requests_per_connection: 1000,
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

/// Reads one line (up to `\n`) within `budget` bytes and the deadline.
fn read_line(r: &mut BufReader<TcpStream>, budget: &mut usize, deadline: Instant, first: bool) -> Result<Vec<u8>, ReadError> {
    let mut line = Vec::new();
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(if first && line.is_empty() { ReadError::Closed } else { ReadError::Status(408) })?;
        let _ = r.get_ref().set_read_timeout(Some(left));
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::Interrupted) => continue,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Err(if first && line.is_empty() { ReadError::Closed } else { ReadError::Status(408) });
            }
            Err(_) => return Err(ReadError::Closed),
        };
        if buf.is_empty() {
            return Err(if first && line.is_empty() { ReadError::Closed } else { ReadError::Status(400) });
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
            while line.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                line.pop();
            }
            return Ok(line);
        }
    }
}

/// Reads one request. `idle`: how long to wait for its first byte.
/// `body_limit`: the most bytes of the body of this request, given its head (the handler's
/// [`Handler::body_limit`]).
pub fn read_request(
    r: &mut BufReader<TcpStream>,
    peer: SocketAddr,
    limits: &Limits,
    idle: Duration,
    body_limit: &dyn Fn(&Request) -> usize,
) -> Result<Request, ReadError> {
    let mut budget = limits.header_bytes;
    // The first line may wait the idle time; the rest of the header has header_time from then.
    let first = read_line(r, &mut budget, Instant::now() + idle.min(limits.header_time), true)?;
    let deadline = Instant::now() + limits.header_time;
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
        let line = read_line(r, &mut budget, deadline, false)?;
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
        let _ = r.get_ref().set_read_timeout(Some(left));
        match r.read(&mut body[got..]) {
            Ok(0) => return Err(ReadError::Closed),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Err(ReadError::Status(408));
            }
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

fn serve_connection(h: &dyn Handler, stream: TcpStream, limits: &Limits) {
    let Ok(peer) = stream.peer_addr() else { return };
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_nodelay(true);
    let Ok(mut w) = stream.try_clone() else { return };
    let mut r = BufReader::with_capacity(8192, stream);
    for i in 0..limits.requests_per_connection {
        let idle = if i == 0 { limits.header_time } else { limits.idle_time };
        match read_request(&mut r, peer, limits, idle, &|head| h.body_limit(head, limits.body_bytes)) {
            Ok(req) => {
                let close = req.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
                let mut resp = h.handle(&req);
                resp.headers.extend(h.common_headers());
                let keep = !close && i + 1 < limits.requests_per_connection;
                if write_response(&mut w, &resp, keep, req.method == "HEAD").is_err() || !keep {
                    return;
                }
            }
            Err(ReadError::Closed) => return,
            Err(ReadError::Status(s)) => {
                let _ = write_response(&mut w, &error_response(h, s), false, false);
                return;
            }
        }
    }
}

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
    conns: Mutex<HashMap<u64, TcpStream>>,
}

/// Serves `listener` with `workers` threads fed by one accepting thread; connections beyond
/// what the queue holds get a 503.
pub fn start(listener: TcpListener, handler: Arc<dyn Handler>, workers: usize, limits: Limits) -> Running {
    let (tx, rx) = mpsc::sync_channel::<TcpStream>(workers * 8);
    let rx = Arc::new(Mutex::new(rx));
    let shared = Arc::new(Shared { stopping: AtomicBool::new(false), conns: Mutex::new(HashMap::new()) });
    let next_id = Arc::new(AtomicU64::new(0));
    let workers = (0..workers.max(1))
        .map(|_| {
            let rx = Arc::clone(&rx);
            let h = Arc::clone(&handler);
            let shared = Arc::clone(&shared);
            let next_id = Arc::clone(&next_id);
            std::thread::spawn(move || {
                loop {
                    let next = rx.lock().map(|r| r.recv());
                    let Ok(Ok(s)) = next else { return };
                    // Registered, unless the server stops (then the connection is closed).
                    let id = next_id.fetch_add(1, Ordering::Relaxed);
                    {
                        let mut conns = super::lock(&shared.conns);
                        if shared.stopping.load(Ordering::SeqCst) {
                            continue;
                        }
                        match s.try_clone() {
                            Ok(c) => conns.insert(id, c),
                            Err(_) => continue,
                        };
                    }
                    serve_connection(h.as_ref(), s, &limits);
                    super::lock(&shared.conns).remove(&id);
                }
            })
        })
        .collect();
    let listener = Arc::new(listener);
    let acceptor = {
        let listener = Arc::clone(&listener);
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if shared.stopping.load(Ordering::SeqCst) {
                    return;
                }
                match conn {
                    Ok(s) => {
                        if let Err(mpsc::TrySendError::Full(mut s)) = tx.try_send(s) {
                            let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
                            let _ = write_response(&mut s, &error_response(handler.as_ref(), 503), false, false);
                        }
                    }
                    Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)) => {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    Err(_) => {}
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
    /// and every thread has ended when this returns.
    pub fn stop(self) {
        {
            let conns = super::lock(&self.shared.conns);
            self.shared.stopping.store(true, Ordering::SeqCst);
            for c in conns.values() {
                let _ = c.shutdown(std::net::Shutdown::Read);
            }
        }
        // accept(2) on a listening socket shut down fails at once (EINVAL), so the accepting
        // thread sees `stopping`.
        // SAFETY: shutdown on a descriptor the listener owns and keeps open until it drops.
        unsafe { libc::shutdown(self.listener.as_raw_fd(), libc::SHUT_RDWR) };
        let _ = self.acceptor.join();
        // The accepting thread held the queue's sender: the workers' queue ends.
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
