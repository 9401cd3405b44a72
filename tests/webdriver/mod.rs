//! A small W3C WebDriver client for the browser tests (chromedriver on loopback): HTTP/1.1
//! over std's TcpStream and a small JSON value of its own, so the tests add no dependency.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// ------------------------------------------------------------------------------- JSON

#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

impl Json {
    pub fn get(&self, k: &str) -> &Json {
        match self {
            Json::Obj(m) => m.get(k).unwrap_or(&Json::Null),
            _ => &Json::Null,
        }
    }
    pub fn str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn num(&self) -> Option<f64> {
        match self {
            Json::Num(n) => Some(*n),
            _ => None,
        }
    }
    pub fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            _ => &[],
        }
    }

    pub fn parse(s: &str) -> Result<Json, String> {
        let mut p = Parser { b: s.as_bytes(), i: 0 };
        let v = p.value(0)?;
        p.ws();
        if p.i != p.b.len() {
            return Err(format!("trailing bytes at {}", p.i));
        }
        Ok(v)
    }
}

pub fn obj<const N: usize>(pairs: [(&str, Json); N]) -> Json {
    Json::Obj(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

pub fn s(v: &str) -> Json {
    Json::Str(v.to_string())
}

impl std::fmt::Display for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Num(n) => write!(f, "{n}"),
            Json::Str(v) => {
                f.write_char('"')?;
                for c in v.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
                        c => f.write_char(c)?,
                    }
                }
                f.write_char('"')
            }
            Json::Arr(a) => {
                f.write_char('[')?;
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_char(']')
            }
            Json::Obj(m) => {
                f.write_char('{')?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{}:{v}", Json::Str(k.clone()))?;
                }
                f.write_char('}')
            }
        }
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, lit: &str) -> bool {
        if self.b[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }
    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > 64 {
            return Err("too deep".into());
        }
        self.ws();
        let Some(&c) = self.b.get(self.i) else { return Err("unexpected end".into()) };
        match c {
            b'n' if self.eat("null") => Ok(Json::Null),
            b't' if self.eat("true") => Ok(Json::Bool(true)),
            b'f' if self.eat("false") => Ok(Json::Bool(false)),
            b'"' => self.string().map(Json::Str),
            b'[' => {
                self.i += 1;
                let mut v = Vec::new();
                self.ws();
                if self.eat("]") {
                    return Ok(Json::Arr(v));
                }
                loop {
                    v.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat("]") {
                        return Ok(Json::Arr(v));
                    }
                    if !self.eat(",") {
                        return Err(format!("expected , at {}", self.i));
                    }
                }
            }
            b'{' => {
                self.i += 1;
                let mut m = BTreeMap::new();
                self.ws();
                if self.eat("}") {
                    return Ok(Json::Obj(m));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.ws();
                    if !self.eat(":") {
                        return Err(format!("expected : at {}", self.i));
                    }
                    let v = self.value(depth + 1)?;
                    m.insert(k, v);
                    self.ws();
                    if self.eat("}") {
                        return Ok(Json::Obj(m));
                    }
                    if !self.eat(",") {
                        return Err(format!("expected , at {}", self.i));
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                while self.i < self.b.len() && (self.b[self.i].is_ascii_digit() || b"+-.eE".contains(&self.b[self.i])) {
                    self.i += 1;
                }
                let t = std::str::from_utf8(&self.b[start..self.i]).unwrap();
                t.parse().map(Json::Num).map_err(|_| format!("bad number {t}"))
            }
            _ => Err(format!("unexpected byte {c} at {}", self.i)),
        }
    }
    fn hex4(&mut self) -> Result<u32, String> {
        let h = self.b.get(self.i..self.i + 4).ok_or("short \\u")?;
        self.i += 4;
        u32::from_str_radix(std::str::from_utf8(h).map_err(|_| "bad \\u")?, 16).map_err(|_| "bad \\u".into())
    }
    fn string(&mut self) -> Result<String, String> {
        if !self.eat("\"") {
            return Err(format!("expected a string at {}", self.i));
        }
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.b.get(self.i) else { return Err("unterminated string".into()) };
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).map_err(|_| "bad UTF-8".into()),
                b'\\' => {
                    let e = *self.b.get(self.i).ok_or("bad escape")?;
                    self.i += 1;
                    let ch = match e {
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => {
                            let hi = self.hex4()?;
                            let cp = if (0xd800..0xdc00).contains(&hi) && self.eat("\\u") {
                                let lo = self.hex4()?;
                                0x10000 + ((hi - 0xd800) << 10) + (lo.wrapping_sub(0xdc00) & 0x3ff)
                            } else {
                                hi
                            };
                            char::from_u32(cp).unwrap_or('\u{fffd}')
                        }
                        o => o as char,
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c => out.push(c),
            }
        }
    }
}

// ------------------------------------------------------------------------------- HTTP

/// An HTTP answer: the status, the headers (names in lower case) and the body.
pub type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// One HTTP/1.1 request (Connection: close).
pub fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<Answer> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut hs = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            hs.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let hdr = |n: &str| hs.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let mut out = Vec::new();
    if hdr("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let n = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16).map_err(std::io::Error::other)?;
            if n == 0 {
                break;
            }
            let mut chunk = vec![0; n];
            r.read_exact(&mut chunk)?;
            out.extend_from_slice(&chunk);
            line.clear();
            r.read_line(&mut line)?;
        }
    } else if let Some(n) = hdr("content-length").and_then(|v| v.parse::<usize>().ok()) {
        out.resize(n, 0);
        r.read_exact(&mut out)?;
    } else {
        r.read_to_end(&mut out)?;
    }
    Ok((status, hs, out))
}

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until something accepts TCP connections at `addr`.
pub fn wait_listening(addr: SocketAddr, within: Duration) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

// ------------------------------------------------------------------------------- WebDriver

/// The element reference key of the W3C protocol.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Why the browser tests cannot run here, or None.
pub fn missing() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root (the interface lock lives in /run/wgq; chromium runs with --no-sandbox)".into());
    }
    for t in ["chromium", "chromedriver"] {
        if which::which(t).is_err() {
            return Some(format!("{t} is not installed (scripts/install-test-deps installs chromium and chromium-driver)"));
        }
    }
    None
}

/// chromedriver listening on a free loopback port: tried three times (a port taken between
/// `free_port` and its bind ends it at once; a CI run once saw it not listen); what it
/// printed is in the panic's message.
fn chromedriver(dir: &std::path::Path) -> (Child, SocketAddr) {
    let log = dir.join("chromedriver.log");
    for attempt in 1..=3 {
        let port = free_port();
        let mut child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("chromedriver");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end && !wait_listening(addr, Duration::from_millis(500)) {
            if child.try_wait().ok().flatten().is_some() {
                break;
            }
        }
        if wait_listening(addr, Duration::from_millis(10)) {
            return (child, addr);
        }
        let _ = child.kill();
        let status = child.wait();
        eprintln!(
            "chromedriver did not listen (attempt {attempt}, {status:?}): {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    panic!("chromedriver did not listen in three attempts: {}", std::fs::read_to_string(&log).unwrap_or_default());
}

pub struct Driver {
    child: Child,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

#[derive(Clone, Debug)]
pub struct El(pub String);

impl El {
    /// The element as a script argument.
    pub fn json(&self) -> Json {
        obj([(ELEMENT, s(&self.0))])
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = http(self.addr, "DELETE", &format!("/session/{}", self.session), &[], b"");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts chromedriver on a loopback port and a headless Chromium session with a window
    /// of `width`×`height` and the browser language `lang` (Accept-Language).
    pub fn start(width: u32, height: u32, lang: &str) -> Driver {
        let profile = tempfile::tempdir().unwrap();
        let (child, addr) = chromedriver(profile.path());
        let args: Vec<Json> = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--hide-scrollbars".into(),
            format!("--lang={lang}"),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ]
        .into_iter()
        .map(Json::Str)
        .collect();
        let mut prefs = BTreeMap::new();
        prefs.insert("intl.accept_languages".to_string(), s(lang));
        let caps = obj([(
            "capabilities",
            obj([(
                "alwaysMatch",
                obj([
                    ("browserName", s("chrome")),
                    (
                        "goog:chromeOptions",
                        obj([("binary", s(&chromium())), ("args", Json::Arr(args)), ("prefs", Json::Obj(prefs))]),
                    ),
                    ("goog:loggingPrefs", obj([("browser", s("ALL"))])),
                ]),
            )]),
        )]);
        let mut d = Driver { child, addr, session: String::new(), _profile: profile };
        let v = d.raw("POST", "/session", Some(&caps)).unwrap_or_else(|e| panic!("new session: {e}"));
        d.session = v.get("sessionId").str().expect("sessionId").to_string();
        d
    }

    fn raw(&self, method: &str, path: &str, body: Option<&Json>) -> Result<Json, String> {
        let b = body.map(|b| b.to_string()).unwrap_or_default();
        let hs: &[(&str, &str)] = if body.is_some() { &[("Content-Type", "application/json")] } else { &[] };
        let (status, _, out) = http(self.addr, method, path, hs, b.as_bytes()).map_err(|e| format!("{method} {path}: {e}"))?;
        let text = String::from_utf8_lossy(&out);
        let v = Json::parse(&text).map_err(|e| format!("{method} {path}: {e}: {text}"))?;
        if status != 200 {
            return Err(format!("{method} {path}: {status}: {} {}", v.get("value").get("error"), v.get("value").get("message")));
        }
        Ok(v.get("value").clone())
    }

    fn cmd(&self, method: &str, rest: &str, body: Option<&Json>) -> Result<Json, String> {
        self.raw(method, &format!("/session/{}{rest}", self.session), body)
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(&obj([("url", s(url))]))).unwrap();
    }

    pub fn find(&self, css: &str) -> Option<El> {
        let v = self.cmd("POST", "/element", Some(&obj([("using", s("css selector")), ("value", s(css))])));
        let v = v.ok()?;
        v.get(ELEMENT).str().map(|id| El(id.to_string()))
    }

    /// Waits up to `secs` for `css` to match an element that is displayed.
    pub fn wait_visible(&self, css: &str, secs: u64) -> El {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(e) = self.find(css)
                && self.displayed(&e)
            {
                return e;
            }
            assert!(Instant::now() < end, "{css} not visible after {secs} s; page text: {}", self.body_text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether the element takes room on the page and is not invisible (a script: the
    /// W3C protocol has no `displayed` command).
    pub fn displayed(&self, e: &El) -> bool {
        self.exec(
            "const e = arguments[0]; if (!e.isConnected) return false; \
             const r = e.getBoundingClientRect(); \
             return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden';",
            vec![e.json()],
        )
        .bool()
        .unwrap_or(false)
    }

    pub fn click(&self, e: &El) {
        self.cmd("POST", &format!("/element/{}/click", e.0), Some(&obj([]))).unwrap_or_else(|err| panic!("click: {err}"));
    }

    pub fn click_css(&self, css: &str) {
        let e = self.wait_visible(css, 10);
        self.click(&e);
    }

    pub fn clear(&self, e: &El) {
        self.cmd("POST", &format!("/element/{}/clear", e.0), Some(&obj([]))).unwrap();
    }

    pub fn type_in(&self, css: &str, text: &str) {
        let e = self.wait_visible(css, 10);
        self.clear(&e);
        self.cmd("POST", &format!("/element/{}/value", e.0), Some(&obj([("text", s(text))]))).unwrap();
    }

    pub fn text(&self, css: &str) -> String {
        self.exec("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", vec![s(css)])
            .str()
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{css}: no element"))
    }

    pub fn body_text(&self) -> String {
        self.exec("return document.body ? document.body.innerText : ''", vec![]).str().unwrap_or("").to_string()
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub fn exec(&self, script: &str, args: Vec<Json>) -> Json {
        self.cmd("POST", "/execute/sync", Some(&obj([("script", s(script)), ("args", Json::Arr(args))])))
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Runs an async `script`: it calls `arguments[arguments.length - 1]` with its result.
    pub fn exec_async(&self, script: &str, args: Vec<Json>) -> Json {
        self.cmd("POST", "/execute/async", Some(&obj([("script", s(script)), ("args", Json::Arr(args))])))
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// `fetch` from the page (its cookies, its origin): `{status, text}`.
    pub fn fetch(&self, url: &str) -> (u16, String) {
        let v = self.exec_async(
            "const done = arguments[arguments.length - 1];\
             fetch(arguments[0], {credentials: 'same-origin', cache: 'no-store'})\
               .then(r => r.text().then(t => done({status: r.status, text: t})))\
               .catch(e => done({status: 0, text: String(e)}));",
            vec![s(url)],
        );
        (v.get("status").num().unwrap_or(0.0) as u16, v.get("text").str().unwrap_or("").to_string())
    }

    /// Waits until `script` (a function body) returns true.
    pub fn wait_until(&self, what: &str, script: &str, args: Vec<Json>, secs: u64) {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            if self.exec(script, args.clone()).bool() == Some(true) {
                return;
            }
            assert!(Instant::now() < end, "timed out waiting for {what}; page text: {}", self.body_text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The browser console's lines since the last call.
    pub fn console(&self) -> Vec<String> {
        self.cmd("POST", "/se/log", Some(&obj([("type", s("browser"))])))
            .map(|v| {
                v.arr()
                    .iter()
                    .map(|e| format!("{} {}", e.get("level").str().unwrap_or(""), e.get("message").str().unwrap_or("")))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A DevTools command through chromedriver (dark mode, phone metrics).
    pub fn cdp(&self, cmd: &str, params: Json) {
        self.cmd("POST", "/goog/cdp/execute", Some(&obj([("cmd", s(cmd)), ("params", params)])))
            .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let v = self.cmd("GET", "/screenshot", None).unwrap();
        base64::engine::general_purpose::STANDARD.decode(v.str().unwrap()).unwrap()
    }
}

fn chromium() -> String {
    which::which("chromium").map(|p| p.display().to_string()).unwrap_or_else(|_| "/usr/bin/chromium".into())
}

#[cfg(test)]
mod json_tests {
    use super::*;

    #[test]
    fn json_round_trips() {
        let t = r#"{"a":[1,2.5,-3e2,true,false,null],"b":"x\"\\\n\u00e9\ud83d\ude00","c":{}}"#;
        let v = Json::parse(t).unwrap();
        assert_eq!(v.get("b").str(), Some("x\"\\\né😀"));
        assert_eq!(v.get("a").arr().len(), 6);
        assert_eq!(Json::parse(&v.to_string()).unwrap(), v);
        for bad in ["", "{", "[1,]", "\"abc", "{\"a\" 1}", "tru", "1 2"] {
            assert!(Json::parse(bad).is_err(), "{bad}");
        }
    }
}
