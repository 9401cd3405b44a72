//! `wgq web` over HTTP on 127.0.0.1, files only (`--no-apply`: no device, no root): login
//! (right, wrong, throttled; sessions and `Authorization: <password>`), wg-easy 14's client
//! routes and their exact JSON shapes, cross-site requests refused, one-time links used
//! once, hostile names kept as text, tokens, request limits and the security headers.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const WGQ: &str = env!("CARGO_BIN_EXE_wgq");
const K: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";

struct Web {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
    ifname: String,
    stderr: Arc<Mutex<String>>,
}

impl Drop for Web {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, n: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn hash(password: &str) -> String {
    let mut c = Command::new(WGQ)
        .args(["web-admin", "hash-password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let h = String::from_utf8(o.stdout).unwrap().trim().to_string();
    assert!(h.starts_with("$argon2id$"), "{h}");
    h
}

static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
fn secret_hash() -> String {
    HASH.get_or_init(|| hash("s3cret pass")).clone()
}

fn start_with(tag: &str, env: &[(&str, &str)], args: &[&str]) -> Result<Web, String> {
    let dir = tempfile::tempdir().unwrap();
    let ifname = format!("{tag}{}", std::process::id() % 100_000);
    std::fs::write(
        dir.path().join(format!("{ifname}.conf")),
        format!(
            "[Interface]\n# ClientEndpoint = 192.0.2.1:51820\nAddress = 10.8.0.1/24, fd08::1/64\nListenPort = 51820\nPrivateKey = {K}\n"
        ),
    )
    .unwrap();
    start_in(dir, ifname, env, args)
}

/// `wgq web` on the files (and state) of `dir`.
fn start_in(dir: tempfile::TempDir, ifname: String, env: &[(&str, &str)], args: &[&str]) -> Result<Web, String> {
    let mut cmd = Command::new(WGQ);
    cmd.arg("web");
    if !args.contains(&"--listen") {
        cmd.args(["--listen", "127.0.0.1:0"]);
    }
    cmd.args(["--no-apply", "--config-dir"])
        .arg(dir.path())
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .args(args)
        .arg(&ifname)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut err = child.stderr.take().unwrap();
    let stderr = Arc::new(Mutex::new(String::new()));
    let s2 = Arc::clone(&stderr);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            s2.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let t = Instant::now();
    loop {
        let text = stderr.lock().unwrap().clone();
        // The whole line (the pipe may give it in pieces).
        if let Some(i) = text.find("listening on http")
            && let Some((_, rest)) = text[i..].split_once("://")
            && let Some((addr, _)) = rest.split_once('\n')
        {
            let addr = addr.trim().parse().unwrap();
            return Ok(Web { child, addr, dir, ifname, stderr });
        }
        if let Ok(Some(_)) = child.try_wait() {
            std::thread::sleep(Duration::from_millis(100));
            return Err(stderr.lock().unwrap().clone());
        }
        assert!(t.elapsed() < Duration::from_secs(20), "wgq web did not start: {text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn start(tag: &str, env: &[(&str, &str)]) -> Web {
    let h = secret_hash();
    let mut e = vec![("PASSWORD_HASH", h.as_str())];
    e.extend_from_slice(env);
    start_with(tag, &e, &[]).unwrap()
}

impl Web {
    /// Stops this server and starts another on the same files and state.
    fn restart(mut self, env: &[(&str, &str)]) -> Web {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = tempfile::TempDir::new().unwrap();
        let dir = std::mem::replace(&mut self.dir, dir);
        start_in(dir, self.ifname.clone(), env, &[]).unwrap()
    }

    fn raw(&self, bytes: &[u8]) -> Resp {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let _ = s.write_all(bytes);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        parse(&out)
    }

    fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Resp {
        let mut r = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", self.addr);
        for (k, v) in headers {
            r.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(b) = body {
            r.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}", b.len()));
        } else {
            r.push_str("\r\n");
        }
        self.raw(r.as_bytes())
    }

    /// Logs in; returns the Cookie header value.
    fn login(&self) -> String {
        let r = self.req("POST", "/api/session", &[], Some(r#"{"password":"s3cret pass"}"#));
        assert_eq!(r.status, 200, "{}", r.text());
        let c = r.header("set-cookie").unwrap().to_string();
        c.split(';').next().unwrap().to_string()
    }

    fn conf(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{}.conf", self.ifname))).unwrap()
    }

    fn clients(&self, cookie: &str) -> Vec<Value> {
        let r = self.req("GET", "/api/wireguard/client", &[("Cookie", cookie)], None);
        assert_eq!(r.status, 200, "{}", r.text());
        r.json().as_array().unwrap().clone()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Its stderr once `pred` holds (the lines come through a pipe: wait up to 5 s).
    fn stderr_until(&self, pred: impl Fn(&str) -> bool) -> String {
        let t = Instant::now();
        loop {
            let s = self.stderr();
            if pred(&s) || t.elapsed() > Duration::from_secs(5) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn parse(out: &[u8]) -> Resp {
    let end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no answer: {out:?}"));
    let head = String::from_utf8_lossy(&out[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines.filter_map(|l| l.split_once(": ")).map(|(a, b)| (a.to_string(), b.to_string())).collect();
    Resp { status, headers, body: out[end + 4..].to_vec() }
}

const CLIENT_KEYS: [&str; 17] = [
    "id",
    "name",
    "enabled",
    "address",
    "publicKey",
    "createdAt",
    "updatedAt",
    "expiredAt",
    "allowedIPs",
    "oneTimeLink",
    "oneTimeLinkExpiresAt",
    "downloadableConfig",
    "persistentKeepalive",
    "latestHandshakeAt",
    "transferRx",
    "transferTx",
    "endpoint",
];

#[test]
fn login_right_wrong_throttled_and_sessions() {
    let w = start("wl", &[("WGQ_WEB_LOGIN_PER_MINUTE", "3")]);
    let s = w.req("GET", "/api/session", &[], None).json();
    assert_eq!(s, serde_json::json!({"requiresPassword": true, "authenticated": false}));
    assert_eq!(w.req("GET", "/api/wireguard/client", &[], None).status, 401);
    // Right password: a session cookie with its flags.
    let r = w.req("POST", "/api/session", &[], Some(r#"{"password":"s3cret pass","remember":false}"#));
    assert_eq!((r.status, r.json()), (200, serde_json::json!({"success": true})));
    let set = r.header("set-cookie").unwrap().to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && !set.contains("Max-Age"), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();
    let id = cookie.split('=').nth(1).unwrap();
    assert!(id.len() >= 43, "at least 128 random bits: {id}");
    assert!(w.req("GET", "/api/session", &[("Cookie", &cookie)], None).json()["authenticated"].as_bool().unwrap());
    assert_eq!(w.req("GET", "/api/wireguard/client", &[("Cookie", &cookie)], None).status, 200);
    // A new id at each login.
    assert_ne!(w.login(), cookie);
    // The password header of 14's scripts.
    assert_eq!(w.req("GET", "/api/wireguard/client", &[("Authorization", "s3cret pass")], None).status, 200);
    // Logout ends the session.
    assert_eq!(w.req("DELETE", "/api/session", &[("Cookie", &cookie)], None).status, 200);
    assert_eq!(w.req("GET", "/api/wireguard/client", &[("Cookie", &cookie)], None).status, 401);
    // Wrong passwords: refused, then throttled (the right one too) for this address.
    for _ in 0..3 {
        let r = w.req("POST", "/api/session", &[], Some(r#"{"password":"guess"}"#));
        assert_eq!(r.status, 401, "{}", r.text());
    }
    let r = w.req("POST", "/api/session", &[], Some(r#"{"password":"s3cret pass"}"#));
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    assert_eq!(w.req("GET", "/api/wireguard/client", &[("Authorization", "s3cret pass")], None).status, 429);
    assert!(w.stderr_until(|e| e.contains("refused: wrong password")).contains("refused: wrong password"));
}

#[test]
fn clients_crud_with_wg_easy_shapes() {
    let w = start("wc", &[]);
    let c = w.login();
    assert!(w.clients(&c).is_empty());
    let r = w.req("POST", "/api/wireguard/client", &[("Cookie", &c)], Some(r#"{"name":"phone","expiredDate":"2030-01-02"}"#));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["success"], true);
    let list = w.clients(&c);
    assert_eq!(list.len(), 1);
    let cl = list[0].as_object().unwrap();
    let mut keys: Vec<&str> = cl.keys().map(String::as_str).collect();
    keys.sort();
    let mut want = CLIENT_KEYS.to_vec();
    want.sort();
    assert_eq!(keys, want, "wg-easy 14's client object");
    assert_eq!(cl["name"], "phone");
    assert_eq!(cl["enabled"], true);
    assert_eq!(cl["address"], "10.8.0.2");
    assert_eq!(cl["expiredAt"], "2030-01-02T23:59:59Z");
    assert_eq!(cl["downloadableConfig"], true);
    assert!(cl["createdAt"].as_str().unwrap().ends_with('Z'));
    let id = cl["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 43);
    assert!(!id.contains(['+', '/', '=']));
    assert!(w.conf().contains("# Name = phone\n"));
    let path = |a: &str| format!("/api/wireguard/client/{id}/{a}");
    // Disable, enable.
    assert_eq!(w.req("POST", &path("disable"), &[("Cookie", &c)], None).json(), serde_json::json!({"success": true}));
    assert!(w.conf().contains("#- [Peer]\n#- # Name = phone\n"), "{}", w.conf());
    // The cache of the list is dropped at each change.
    assert_eq!(w.clients(&c)[0]["enabled"], false);
    assert_eq!(w.req("POST", &path("enable"), &[("Cookie", &c)], None).status, 200);
    assert_eq!(w.clients(&c)[0]["enabled"], true);
    // Rename (file-safe: the name itself), address, expiry.
    assert_eq!(w.req("PUT", &path("name"), &[("Cookie", &c)], Some(r#"{"name":"laptop"}"#)).status, 200);
    assert!(w.conf().contains("# Name = laptop\n"));
    let r = w.req("PUT", &path("address"), &[("Cookie", &c)], Some(r#"{"address":"10.8.0.77"}"#));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(w.conf().contains("AllowedIPs = 10.8.0.77/32, fd08::2/128"), "the IPv6 address stays: {}", w.conf());
    assert_eq!(w.req("PUT", &path("address"), &[("Cookie", &c)], Some(r#"{"address":"10.9.9.9"}"#)).status, 400);
    assert_eq!(w.req("PUT", &path("address"), &[("Cookie", &c)], Some(r#"{"address":"x\nPostUp = id"}"#)).status, 400);
    assert_eq!(w.req("PUT", &path("expireDate"), &[("Cookie", &c)], Some(r#"{"expireDate":null}"#)).status, 200);
    assert!(!w.conf().contains("Expires"));
    let l = &w.clients(&c)[0];
    assert_eq!((l["name"].as_str(), l["address"].as_str(), &l["expiredAt"]), (Some("laptop"), Some("10.8.0.77"), &Value::Null));
    // QR code and configuration.
    let q = w.req("GET", &path("qrcode.svg"), &[("Cookie", &c)], None);
    assert_eq!(q.header("content-type"), Some("image/svg+xml"));
    assert!(q.text().contains("<svg"));
    let f = w.req("GET", &path("configuration"), &[("Cookie", &c)], None);
    assert_eq!(f.header("content-disposition"), Some("attachment; filename=\"laptop.conf\""));
    assert!(f.text().contains("PrivateKey = ") && f.text().contains("Address = 10.8.0.77/32"));
    // Every change has its audit line.
    let e = w.stderr_until(|e| e.contains(" read configuration "));
    for what in [" create ", " disable ", " enable ", " rename to laptop ", " address 10.8.0.77 ", " read configuration "] {
        assert!(e.lines().any(|l| l.contains("audit: session:") && l.contains(what) && l.contains(&w.ifname)), "{what}: {e}");
    }
    // A preview changes nothing and logs nothing.
    let before = (w.conf(), w.stderr().matches("audit:").count());
    let r = w.req("DELETE", &format!("/api/wireguard/client/{id}?dryRun=1"), &[("Cookie", &c)], None);
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.json()["dryRun"].as_str().unwrap().to_string();
    assert!(text.lines().any(|l| l.starts_with('-') && l.ends_with(" [Peer]")) && text.contains("# remove "), "{text}");
    let r = w.req("POST", "/api/wireguard/client?dryRun=1", &[("Cookie", &c)], Some(r#"{"name":"preview"}"#));
    let text = r.json()["dryRun"].as_str().unwrap().to_string();
    assert!(text.lines().any(|l| l.starts_with('+') && l.ends_with(" # Name = preview")), "{text}");
    assert!(text.contains("PresharedKey = (hidden)") && !text.contains("PrivateKey = "), "{text}");
    let r = w.req("PUT", &format!("/api/wireguard/client/{id}/name?dryRun=1"), &[("Cookie", &c)], Some(r#"{"name":"Zoë"}"#));
    let text = r.json()["dryRun"].as_str().unwrap().to_string();
    assert!(text.lines().any(|l| l.starts_with('+') && l.ends_with(" # DisplayName = Zoë")), "{text}");
    assert_eq!((w.conf(), w.stderr().matches("audit:").count()), before);
    // Delete.
    assert_eq!(w.req("DELETE", &format!("/api/wireguard/client/{id}"), &[("Cookie", &c)], None).status, 200);
    assert!(w.clients(&c).is_empty() && !w.conf().contains("[Peer]"));
    let e = w.stderr_until(|e| e.contains(" delete "));
    assert!(e.lines().any(|l| l.contains("audit: session:") && l.contains(" delete ") && l.ends_with(" laptop")), "{e}");
    assert_eq!(w.req("DELETE", &format!("/api/wireguard/client/{id}"), &[("Cookie", &c)], None).status, 404);
}

#[test]
fn cli_edits_show_and_nothing_changes_on_get() {
    let w = start("wg", &[]);
    let c = w.login();
    let o = Command::new(WGQ)
        .args(["peer", "add", &w.ifname, "tablet", "--no-apply", "--config-dir"])
        .arg(w.dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::thread::sleep(Duration::from_millis(1100));
    let l = w.clients(&c);
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["name"], "tablet");
    let id = l[0]["id"].as_str().unwrap();
    let before = w.conf();
    for p in ["disable", "enable", "generateOneTimeLink"] {
        let r = w.req("GET", &format!("/api/wireguard/client/{id}/{p}"), &[("Cookie", &c)], None);
        assert_eq!(r.status, 404, "GET {p}");
    }
    assert_eq!(w.req("GET", &format!("/api/wireguard/client/{id}"), &[("Cookie", &c)], None).status, 404, "GET is no delete");
    assert_eq!(w.conf(), before);
}

#[test]
fn cross_site_state_changes_are_refused() {
    let w = start("wx", &[]);
    let c = w.login();
    let body = Some(r#"{"name":"x1"}"#);
    let host = w.addr.to_string();
    let same = format!("http://{host}");
    for h in [
        vec![("Cookie", c.as_str()), ("Origin", "http://evil.example")],
        vec![("Cookie", c.as_str()), ("Origin", "null")],
        vec![("Cookie", c.as_str()), ("Sec-Fetch-Site", "cross-site")],
        vec![("Cookie", c.as_str()), ("Sec-Fetch-Site", "same-site")],
    ] {
        let r = w.req("POST", "/api/wireguard/client", &h, body);
        assert_eq!(r.status, 403, "{h:?}");
    }
    // A login from another site is refused too.
    let r = w.req("POST", "/api/session", &[("Origin", "http://evil.example")], Some(r#"{"password":"s3cret pass"}"#));
    assert_eq!(r.status, 403);
    assert!(!w.conf().contains("[Peer]"));
    // The page itself, and a script without Origin, may.
    let r = w.req("POST", "/api/wireguard/client", &[("Cookie", &c), ("Origin", &same), ("Sec-Fetch-Site", "same-origin")], body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(w.req("POST", "/api/wireguard/client", &[("Cookie", &c)], Some(r#"{"name":"x2"}"#)).status, 200);
}

#[test]
fn one_time_link_works_once() {
    let w = start("wo", &[("WG_ENABLE_ONE_TIME_LINKS", "true")]);
    let c = w.login();
    assert_eq!(w.req("GET", "/api/wg-enable-one-time-links", &[], None).json(), true);
    assert_eq!(w.req("POST", "/api/wireguard/client", &[("Cookie", &c)], Some(r#"{"name":"otl"}"#)).status, 200);
    let id = w.clients(&c)[0]["id"].as_str().unwrap().to_string();
    let r = w.req("POST", &format!("/api/wireguard/client/{id}/generateOneTimeLink"), &[("Cookie", &c)], None);
    assert_eq!(r.status, 200, "{}", r.text());
    let link = r.json()["oneTimeLink"].as_str().unwrap().to_string();
    assert_eq!(link.len(), 43, "256 random bits");
    let l = &w.clients(&c)[0];
    assert_eq!(l["oneTimeLink"], link.as_str());
    assert!(l["oneTimeLinkExpiresAt"].is_string());
    let stored = std::fs::read_to_string(w.dir.path().join("state/links")).unwrap();
    assert!(!stored.contains(&link), "stored hashed");
    let r = w.req("GET", &format!("/cnf/{link}"), &[], None);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("[Interface]") && r.header("content-disposition").unwrap().contains("otl.conf"));
    assert_eq!(w.req("GET", &format!("/cnf/{link}"), &[], None).status, 404, "once");
    assert_eq!(w.clients(&c)[0]["oneTimeLink"], Value::Null);
    // Taken by many at once: one gets the file.
    let r = w.req("POST", &format!("/api/wireguard/client/{id}/generateOneTimeLink"), &[("Cookie", &c)], None);
    let link = r.json()["oneTimeLink"].as_str().unwrap().to_string();
    let got: Vec<u16> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8).map(|_| s.spawn(|| w.req("GET", &format!("/cnf/{link}"), &[], None).status)).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(got.iter().filter(|s| **s == 200).count(), 1, "{got:?}");
    assert_eq!(w.req("GET", "/cnf/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &[], None).status, 404);
    assert_eq!(w.req("GET", "/cnf/..%2F..%2Fetc%2Fpasswd", &[], None).status, 404);
}

#[test]
fn hostile_names_are_kept_as_text() {
    let w = start("wh", &[]);
    let c = w.login();
    let name = "<img src=x onerror=alert(1)> Zoë's \u{202e}phone";
    let body = serde_json::json!({ "name": name }).to_string();
    let r = w.req("POST", "/api/wireguard/client", &[("Cookie", &c)], Some(&body));
    assert_eq!(r.status, 200, "{}", r.text());
    let raw = w.req("GET", "/api/wireguard/client", &[("Cookie", &c)], None);
    assert!(!raw.text().contains('<') && !raw.text().contains('>'), "{}", raw.text());
    let l = raw.json();
    assert_eq!(l[0]["name"], name);
    let conf = w.conf();
    assert!(conf.contains(&format!("# DisplayName = {name}\n")), "{conf}");
    assert!(conf.contains("# Name = imgsrcxonerrora\n"), "{conf}");
    // The audit line shows it in order, on one line.
    let e = w.stderr_until(|e| e.contains(" create "));
    let line = e.lines().find(|l| l.contains(" create ")).unwrap();
    assert!(line.ends_with("Zoë's \\u{202e}phone") && !line.contains('\u{202e}'), "{line}");
    // Control characters, too long, empty: refused, nothing written.
    let before = w.conf();
    for bad in ["a\nPostUp = touch /tmp/x", "a\rb", "x\u{7f}", "\u{1b}[31m", "", "   "] {
        let body = serde_json::json!({ "name": bad }).to_string();
        assert_eq!(w.req("POST", "/api/wireguard/client", &[("Cookie", &c)], Some(&body)).status, 400, "{bad:?}");
    }
    let long = "é".repeat(65);
    let body = serde_json::json!({ "name": long }).to_string();
    assert_eq!(w.req("POST", "/api/wireguard/client", &[("Cookie", &c)], Some(&body)).status, 400);
    assert_eq!(w.conf(), before);
    // A second hostile name gets another file-safe name; a rename to plain text drops the line.
    let body = serde_json::json!({ "name": "<img src=x onerror=alert(1)> 2" }).to_string();
    assert_eq!(w.req("POST", "/api/wireguard/client", &[("Cookie", &c)], Some(&body)).status, 200);
    assert!(w.conf().contains("# Name = client-1\n"), "{}", w.conf());
    let id = l[0]["id"].as_str().unwrap();
    let r = w.req("PUT", &format!("/api/wireguard/client/{id}/name"), &[("Cookie", &c)], Some(r#"{"name":"Zoë 2"}"#));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(w.conf().contains("# Name = imgsrcxonerrora\n# DisplayName = Zoë 2\n"), "{}", w.conf());
    let r = w.req("PUT", &format!("/api/wireguard/client/{id}/name"), &[("Cookie", &c)], Some(r#"{"name":"zoe"}"#));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(w.conf().contains("# Name = zoe\n") && !w.conf().contains("Zoë 2"), "{}", w.conf());
}

#[test]
fn limits_headers_and_paths() {
    let w = start("wm", &[]);
    let c = w.login();
    // Every answer has the security headers.
    for p in ["/", "/api/session", "/nope", "/api/wireguard/client"] {
        let r = w.req("GET", p, &[], None);
        let csp = r.header("content-security-policy").unwrap_or_else(|| panic!("{p}"));
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
    // A header too large; a body too large; no chunked bodies; garbage.
    let big = "a".repeat(20_000);
    assert_eq!(w.req("GET", "/api/session", &[("X-Big", &big)], None).status, 431);
    let r = w.raw(format!("POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", 2 << 20).as_bytes());
    assert_eq!(r.status, 413);
    let r = w.raw(b"POST /api/session HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    assert_eq!(r.status, 411);
    assert_eq!(w.raw(b"GET /\x01 HTTP/1.1\r\n\r\n").status, 400);
    assert_eq!(w.raw(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n").status, 400);
    // Ids and paths.
    for p in [
        "/api/wireguard/client/..%2F..%2Fetc%2Fpasswd/configuration",
        "/api/wireguard/client/%00/configuration",
        "/api/wireguard/client/AAAA/qrcode.svg",
        "/api/v1/interfaces/..%2Fetc/clients",
        "/../../etc/passwd",
    ] {
        let r = w.req("GET", p, &[("Cookie", &c)], None);
        assert!(r.status == 404 || r.status == 400, "{p}: {}", r.status);
    }
    // A request that never ends its head is cut off (5 s from its first byte).
    let mut s = TcpStream::connect(w.addr).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let t = Instant::now();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 408"), "{}", String::from_utf8_lossy(&out));
}

#[test]
fn settings_routes_and_tokens() {
    let w = start(
        "wt",
        &[
            ("UI_CHART_TYPE", "2"),
            ("UI_TRAFFIC_STATS", "true"),
            ("LANG", "zh_CN.UTF-8"),
            ("MAX_AGE", "60"),
            ("ENABLE_PROMETHEUS_METRICS", "true"),
        ],
    );
    assert_eq!(w.req("GET", "/api/ui-chart-type", &[], None).json(), 2);
    assert_eq!(w.req("GET", "/api/ui-traffic-stats", &[], None).json(), true);
    assert_eq!(w.req("GET", "/api/ui-sort-clients", &[], None).json(), false);
    assert_eq!(w.req("GET", "/api/wg-enable-expire-time", &[], None).json(), false);
    assert_eq!(w.req("GET", "/api/remember-me", &[], None).json(), true);
    assert_eq!(w.req("GET", "/api/lang", &[], None).json(), "chs");
    assert!(w.req("GET", "/api/release", &[], None).json().is_number());
    // remember: the cookie lasts MAX_AGE.
    let r = w.req("POST", "/api/session", &[], Some(r#"{"password":"s3cret pass","remember":true}"#));
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=3600"));
    // Tokens: read-only reads, may not change; revoked: refused.
    let state = w.dir.path().join("state");
    let tok = |args: &[&str]| {
        let o = Command::new(WGQ).args(["web-admin", "token"]).args(args).arg("--state-dir").arg(&state).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    };
    let ro = tok(&["add", "grafana", "--read-only"]);
    let rw = tok(&["add", "ci"]);
    assert!(tok(&["list"]).contains("grafana\tread-only"));
    let bearer = |t: &str| format!("Bearer {t}");
    let path = format!("/api/v1/interfaces/{}/clients", w.ifname);
    assert_eq!(w.req("GET", &path, &[("Authorization", &bearer(&ro))], None).status, 200);
    assert_eq!(w.req("POST", &path, &[("Authorization", &bearer(&ro))], Some(r#"{"name":"n"}"#)).status, 403);
    let r = w.req("POST", &path, &[("Authorization", &bearer(&rw))], Some(r#"{"name":"n"}"#));
    assert_eq!(r.status, 200, "{}", r.text());
    let l = w.req("GET", &path, &[("Authorization", &bearer(&ro))], None).json();
    assert_eq!(l[0]["addresses"], serde_json::json!(["10.8.0.2", "fd08::2"]));
    assert!(w.stderr_until(|e| e.contains("audit: token:ci@127.0.0.1 create")).contains("audit: token:ci@127.0.0.1 create"));
    tok(&["revoke", "ci"]);
    assert_eq!(w.req("GET", &path, &[("Authorization", &bearer(&rw))], None).status, 401);
    // Client files hold private keys: a read-only token gets neither them nor the live
    // one-time links (which open them without a login).
    let id = l[0]["id"].as_str().unwrap().to_string();
    for action in ["configuration", "qrcode.svg"] {
        let r = w.req("GET", &format!("{path}/{id}/{action}"), &[("Authorization", &bearer(&ro))], None);
        assert_eq!(r.status, 403, "{action}: {}", r.text());
        assert!(!r.text().contains("PrivateKey"));
    }
    // prometheus_wireguard_exporter's names for every interface: behind login.
    assert_eq!(w.req("GET", "/api/v1/metrics", &[], None).status, 401);
    let m = w.req("GET", "/api/v1/metrics", &[("Authorization", &bearer(&ro))], None).text();
    assert!(
        m.contains("# TYPE wireguard_sent_bytes_total counter") && m.contains("# TYPE wireguard_latest_handshake_seconds gauge")
    );
    // Metrics with wg-easy 14's names.
    let m = w.req("GET", "/metrics", &[], None).text();
    assert!(m.contains(&format!("wireguard_configured_peers{{interface=\"{}\"}} 1", w.ifname)), "{m}");
    assert!(m.contains("wireguard_sent_bytes{") && m.contains("name=\"n\""));
}

#[test]
fn exposure_is_refused() {
    let h = secret_hash();
    let e = start_with("we", &[], &["--listen", "0.0.0.0:0"]).err().expect("no password: only loopback");
    assert!(e.contains("without a password"), "{e}");
    let e = start_with("we", &[("PASSWORD_HASH", &h)], &["--listen", "0.0.0.0:0"]).err().expect("plain HTTP: only loopback");
    assert!(e.contains("--insecure"), "{e}");
    let e = start_with("we", &[("PASSWORD_HASH", "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")], &[])
        .err()
        .expect("a hostile hash is refused");
    assert!(e.contains("above the bounds"), "{e}");
    // Without a password, loopback: open, with a warning.
    let w = start_with("we", &[], &[]).unwrap();
    assert!(w.stderr_until(|e| e.contains("warning: no password")).contains("warning: no password"));
    assert_eq!(w.req("GET", "/api/wireguard/client", &[], None).status, 200);
}

#[test]
fn base_path_and_trusted_proxy() {
    let h = secret_hash();
    let w = start_with("wb", &[("PASSWORD_HASH", &h)], &["--base-path", "/wg/", "--trusted-proxy", "127.0.0.0/8"]).unwrap();
    assert_eq!(w.req("GET", "/wg/api/session", &[], None).status, 200);
    assert_eq!(w.req("GET", "/wg", &[], None).status, 200);
    for p in ["/api/session", "/wgx/api/session", "/w/api/session"] {
        assert_eq!(w.req("GET", p, &[], None).status, 404, "{p}");
    }
    // Behind the proxy: Secure cookies under https, the cookie's path is the base path, and the
    // client's own address is throttled (not the proxy's).
    let r = w.req("POST", "/wg/api/session", &[("X-Forwarded-Proto", "https")], Some(r#"{"password":"s3cret pass"}"#));
    let c = r.header("set-cookie").unwrap();
    assert!(c.contains("; Secure") && c.contains("Path=/wg;"), "{c}");
    for _ in 0..5 {
        let r = w.req("POST", "/wg/api/session", &[("X-Forwarded-For", "198.51.100.7")], Some(r#"{"password":"x"}"#));
        assert_eq!(r.status, 401);
    }
    let r = w.req("POST", "/wg/api/session", &[("X-Forwarded-For", "198.51.100.7")], Some(r#"{"password":"x"}"#));
    assert_eq!(r.status, 429);
    let r = w.req("POST", "/wg/api/session", &[("X-Forwarded-For", "198.51.100.8")], Some(r#"{"password":"s3cret pass"}"#));
    assert_eq!(r.status, 200, "another client behind the proxy is not throttled");
    let e = w.stderr_until(|e| e.contains("refused: wrong password") && e.contains("from 198.51.100.7"));
    assert!(e.contains("refused: wrong password") && e.contains("from 198.51.100.7"), "{e}");
}

#[test]
fn forwarded_headers_are_ignored_from_others() {
    let w = start("wf", &[]);
    let r = w.req("POST", "/api/session", &[("X-Forwarded-Proto", "https")], Some(r#"{"password":"s3cret pass"}"#));
    assert!(!r.header("set-cookie").unwrap().contains("Secure"));
    // A forged X-Forwarded-For does not escape the throttle.
    for i in 0..5 {
        let xff = format!("198.51.100.{i}");
        assert_eq!(w.req("POST", "/api/session", &[("X-Forwarded-For", &xff)], Some(r#"{"password":"x"}"#)).status, 401);
    }
    assert_eq!(w.req("POST", "/api/session", &[("X-Forwarded-For", "198.51.100.99")], Some(r#"{"password":"x"}"#)).status, 429);
}

#[test]
fn totp_second_factor() {
    let w = start("wz", &[]);
    let state = w.dir.path().join("state");
    let admin = |args: &[&str]| {
        let o = Command::new(WGQ).arg("web-admin").args(args).arg("--state-dir").arg(&state).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let tok = admin(&["token", "add", "ci"]).trim().to_string();
    let uri = admin(&["totp", "enable"]);
    let secret = uri.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let key = wgq::web::auth::unbase32(&secret).unwrap();
    assert_eq!(key.len(), 20);
    let stored = std::fs::metadata(state.join("totp")).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&stored.permissions()) & 0o777, 0o600);
    assert_eq!(w.req("GET", "/api/session", &[], None).json()["requiresTotp"], true);
    let code = |t: u64| format!("{:06}", wgq::web::auth::totp_code(&key, t / 30));
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    // The password alone, a wrong code: refused; the right code: in, once.
    assert_eq!(w.req("POST", "/api/session", &[], Some(r#"{"password":"s3cret pass"}"#)).status, 401);
    let wrong = format!("{:06}", (wgq::web::auth::totp_code(&key, now() / 30) + 1) % 1_000_000);
    let body = |c: &str| format!(r#"{{"password":"s3cret pass","totp":"{c}"}}"#);
    assert_eq!(w.req("POST", "/api/session", &[], Some(&body(&wrong))).status, 401);
    let c = code(now());
    let r = w.req("POST", "/api/session", &[], Some(&body(&c)));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(w.req("POST", "/api/session", &[], Some(&body(&c))).status, 401, "a code works once");
    // Across a restart too: the step is stored (0600).
    let stored = std::fs::metadata(state.join("totp-step")).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&stored.permissions()) & 0o777, 0o600);
    let h = secret_hash();
    let w = w.restart(&[("PASSWORD_HASH", &h)]);
    assert_eq!(w.req("POST", "/api/session", &[], Some(&body(&c))).status, 401, "a code works once, across a restart");
    // The password header no longer works; tokens do.
    assert_eq!(w.req("GET", "/api/wireguard/client", &[("Authorization", "s3cret pass")], None).status, 401);
    assert_eq!(w.req("GET", "/api/wireguard/client", &[("Authorization", &format!("Bearer {tok}"))], None).status, 200);
    admin(&["totp", "disable"]);
    assert_eq!(w.req("GET", "/api/wireguard/client", &[("Authorization", "s3cret pass")], None).status, 200);
    assert!(w.req("GET", "/api/session", &[], None).json().get("requiresTotp").is_none());
}

/// Without a password (loopback, anyone on the host may manage) a page of another site that
/// an attacker's name points at 127.0.0.1 (DNS rebinding) is same-origin to the browser: its
/// requests carry that name in Host and are refused; an IP address or localhost is served.
#[test]
fn dns_rebinding_is_refused_without_a_password() {
    let w = start_with("wr", &[], &[]).unwrap();
    let port = w.addr.port();
    let evil = format!("attacker.example:{port}");
    let origin = format!("http://{evil}");
    let r = w.raw(
        format!(
            "POST /api/wireguard/client HTTP/1.1\r\nHost: {evil}\r\nOrigin: {origin}\r\nSec-Fetch-Site: same-origin\r\n\
             Connection: close\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{{\"name\":\"rebound\"}}"
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(!w.conf().contains("rebound"));
    let get = |host: &str| {
        w.raw(format!("GET /api/wireguard/client HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).status
    };
    assert_eq!(get(&evil), 403);
    assert_eq!(get(&format!("localhost:{port}")), 200);
    assert_eq!(get(&format!("127.0.0.1:{port}")), 200);
    assert_eq!(get(&format!("[::1]:{port}")), 200);
    assert_eq!(get("127.0.0.1"), 200);
    // With a password set, a reverse proxy's name is served (the attacker has no password).
    let p = start("wp", &[]);
    let cookie = p.login();
    let r = p.raw(
        format!("GET /api/wireguard/client HTTP/1.1\r\nHost: vpn.example.org\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

/// A Content-Length is digits only: `+2` (which Rust's integer parser takes) is refused, so
/// no proxy in front can read the body's end elsewhere.
#[test]
fn a_content_length_is_digits_only() {
    let w = start("wn", &[]);
    for bad in ["+2", "2 2", "0x2", ""] {
        let r = w.raw(format!("POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Length: {bad}\r\n\r\n{{}}").as_bytes());
        assert_eq!(r.status, 400, "Content-Length: {bad:?}");
    }
}

/// A connection from `src` (a loopback address such as 127.0.0.2) to `to`.
fn connect_from(src: std::net::Ipv4Addr, to: SocketAddr) -> TcpStream {
    use std::os::fd::FromRawFd as _;
    let SocketAddr::V4(to) = to else { panic!("{to}: IPv4 only") };
    let sin = |ip: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr { s_addr: u32::from(ip).to_be() },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket(2); the result is checked.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: `fd` is a socket just made and owned by nothing else; TcpStream now owns it
    // (and closes it).
    let s = unsafe { TcpStream::from_raw_fd(fd) };
    let a = sin(src, 0);
    // SAFETY: `a` is a valid sockaddr_in of `len` bytes that outlives the call.
    let r = unsafe { libc::bind(fd, (&a as *const libc::sockaddr_in).cast(), len) };
    assert_eq!(r, 0, "bind {src}: {}", std::io::Error::last_os_error());
    let b = sin(*to.ip(), to.port());
    // SAFETY: as for bind.
    let r = unsafe { libc::connect(fd, (&b as *const libc::sockaddr_in).cast(), len) };
    assert_eq!(r, 0, "connect {to}: {}", std::io::Error::last_os_error());
    s
}

impl Web {
    /// A login attempt from `src`: the status.
    fn login_from(&self, src: [u8; 4], password: &str) -> u16 {
        let mut s = connect_from(src.into(), self.addr);
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let b = format!(r#"{{"password":"{password}"}}"#);
        let r = format!(
            "POST /api/session HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
            self.addr,
            b.len()
        );
        s.write_all(r.as_bytes()).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        parse(&out).status
    }
}

#[test]
fn correct_passwords_never_spend_the_login_budget() {
    use base64::Engine as _;
    let h = secret_hash();
    let w = start("wb", &[("ENABLE_PROMETHEUS_METRICS", "true"), ("PROMETHEUS_METRICS_PASSWORD", &h)]);
    // Prometheus every few seconds: more scrapes than the per-address bound (5), all served.
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("prometheus:s3cret pass"));
    for i in 0..7 {
        let r = w.req("GET", "/metrics", &[("Authorization", &basic)], None);
        assert_eq!(r.status, 200, "scrape {i}: {}", r.text());
    }
    w.login();
    // A wg-easy 14 script: more calls a minute than the global bound (30), all served.
    for i in 0..35 {
        let r = w.req("GET", "/api/wireguard/client", &[("Authorization", "s3cret pass")], None);
        assert_eq!(r.status, 200, "call {i}: {}", r.text());
    }
    w.login();
    // A wrong metrics password is refused, and its failures do not block logins.
    let wrong = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("prometheus:guess"));
    for _ in 0..5 {
        assert_eq!(w.req("GET", "/metrics", &[("Authorization", &wrong)], None).status, 401);
    }
    assert_eq!(w.req("GET", "/metrics", &[("Authorization", &wrong)], None).status, 429);
    w.login();
    // A remembered correct header is refused while its address is throttled (no oracle for
    // a guesser).
    for _ in 0..5 {
        assert_eq!(w.req("GET", "/api/wireguard/client", &[("Authorization", "guess")], None).status, 401);
    }
    assert_eq!(w.req("GET", "/api/wireguard/client", &[("Authorization", "s3cret pass")], None).status, 429);
}

#[test]
fn wrong_passwords_from_many_addresses_do_not_lock_out_the_admin() {
    // bcrypt at its lowest cost: 30 wrong checks stay quick in a debug build.
    let h = bcrypt::hash("s3cret pass", 4).unwrap();
    let w = start_with("wm", &[("PASSWORD_HASH", &h)], &[]).unwrap();
    // 6 addresses × 5 wrong passwords: the global bound (30) is reached.
    for a in 2..=7 {
        for i in 0..5 {
            assert_eq!(w.login_from([127, 0, 0, a], "guess"), 401, "127.0.0.{a} try {i}");
        }
    }
    // Each attacking address is stopped, even with the right password.
    assert_eq!(w.login_from([127, 0, 0, 3], "s3cret pass"), 429);
    // The admin, whose address has not failed, logs in.
    assert_eq!(w.login_from([127, 0, 0, 1], "s3cret pass"), 200);
    // Over the global bound a fresh address gets one check, then waits: no brute force by
    // spraying either.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(w.login_from([127, 0, 0, 9], "guess"), 401);
    assert_eq!(w.login_from([127, 0, 0, 9], "guess"), 429);
    assert_eq!(w.login_from([127, 0, 0, 10], "guess"), 429, "one fresh check a second over the bound");
}

#[test]
fn brute_force_from_one_address_is_throttled() {
    let h = bcrypt::hash("s3cret pass", 4).unwrap();
    let w = start_with("wf", &[("PASSWORD_HASH", &h)], &[]).unwrap();
    for i in 0..5 {
        assert_eq!(w.login_from([127, 0, 0, 2], &format!("guess{i}")), 401);
    }
    for _ in 0..3 {
        assert_eq!(w.login_from([127, 0, 0, 2], "guess"), 429);
    }
    assert_eq!(w.login_from([127, 0, 0, 2], "s3cret pass"), 429, "the right password too, once throttled");
    assert_eq!(w.login_from([127, 0, 0, 1], "s3cret pass"), 200);
}

/// A client's traffic history: 96 slots and 30 days, null where nothing was sampled; read
/// from its file in the state directory (a damaged one ignored with a warning); read-only
/// tokens may read it; the file goes with the client, and files of unknown clients are
/// pruned at the start.
#[test]
fn traffic_history() {
    let w = start("wh", &[]);
    let c = w.login();
    let r = w.req("POST", "/api/wireguard/client", &[("Cookie", &c)], Some(r#"{"name":"phone"}"#));
    assert_eq!(r.status, 200, "{}", r.text());
    let id = w.clients(&c)[0]["id"].as_str().unwrap().to_string();
    let v1 = format!("/api/v1/interfaces/{}/clients/{id}/traffic", w.ifname);
    let r = w.req("GET", &v1, &[("Cookie", &c)], None);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(
        (v["slotSeconds"].as_u64(), v["interface"].as_str(), v["id"].as_str()),
        (Some(900), Some(w.ifname.as_str()), Some(id.as_str()))
    );
    let (slots, days) = (v["slots"].as_array().unwrap(), v["days"].as_array().unwrap());
    assert_eq!((slots.len(), days.len()), (96, 30));
    assert!(slots.iter().chain(days).all(|s| s["rx"].is_null() && s["tx"].is_null()), "no device here: nothing sampled: {v}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let start0 = slots[95]["start"].as_str().unwrap();
    assert!(start0.ends_with(":00Z") && days[29]["date"].as_str().unwrap().len() == 10, "{v}");
    // A history file in the state directory (as the sampler writes it): shown.
    let dir = w.dir.path().join("state/traffic").join(&w.ifname);
    // No device here: the sampler makes files only for peers on one.
    assert!(!dir.exists());
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(&id);
    let (slot, day) = (now / 900 - 1, now / 86400);
    std::fs::write(&file, common::traffic_file(900, slot + 1, (slot, 1234, 5678), (day, 11_111, 22_222))).unwrap();
    let v = w.req("GET", &v1, &[("Cookie", &c)], None).json();
    assert_eq!((v["slots"][94]["rx"].as_u64(), v["slots"][94]["tx"].as_u64()), (Some(1234), Some(5678)), "{v}");
    assert_eq!(v["days"][29]["rx"].as_u64(), Some(11_111), "{v}");
    // wg-easy's client path has it too; a read-only token may read it; no login: no.
    let easy = format!("/api/wireguard/client/{id}/traffic");
    assert_eq!(w.req("GET", &easy, &[("Cookie", &c)], None).json()["slots"][94]["rx"].as_u64(), Some(1234));
    let state = w.dir.path().join("state");
    let o = Command::new(WGQ)
        .args(["web-admin", "token", "add", "graph", "--read-only", "--state-dir"])
        .arg(&state)
        .output()
        .unwrap();
    let ro = format!("Bearer {}", String::from_utf8(o.stdout).unwrap().trim());
    assert_eq!(w.req("GET", &v1, &[("Authorization", &ro)], None).status, 200);
    assert_eq!(w.req("GET", &v1, &[], None).status, 401);
    assert_eq!(w.req("POST", &v1, &[("Cookie", &c)], None).status, 404, "read only");
    let other = format!("/api/v1/interfaces/{}/clients/{}/traffic", w.ifname, "A".repeat(43));
    assert_eq!(w.req("GET", &other, &[("Cookie", &c)], None).status, 404);
    // Damaged (truncated, a flipped bit): ignored with a warning, never an error.
    let good = std::fs::read(&file).unwrap();
    for bad in [good[..1000].to_vec(), {
        let mut b = good.clone();
        b[64 + (slot % 96) as usize * 32 + 9] ^= 1;
        b
    }] {
        std::fs::write(&file, bad).unwrap();
        let r = w.req("GET", &v1, &[("Cookie", &c)], None);
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.json()["slots"][94]["rx"].is_null());
    }
    assert!(w.stderr_until(|e| e.contains("ignored")).contains("traffic history"), "{}", w.stderr());
    // Deleted: its history goes with it.
    std::fs::write(&file, &good).unwrap();
    assert_eq!(w.req("DELETE", &format!("/api/wireguard/client/{id}?dryRun=1"), &[("Cookie", &c)], None).status, 200);
    assert!(file.exists(), "a preview deletes nothing");
    assert_eq!(w.req("DELETE", &format!("/api/wireguard/client/{id}"), &[("Cookie", &c)], None).status, 200);
    assert!(!file.exists());
    drop(w);
}

/// At the start the files of clients no longer in the server file (deleted from the command
/// line, or a rotated key) are removed; a kept client's stays.
#[test]
fn traffic_files_of_gone_clients_are_pruned() {
    let w = start("wp", &[]);
    let c = w.login();
    assert_eq!(w.req("POST", "/api/wireguard/client", &[("Cookie", &c)], Some(r#"{"name":"kept"}"#)).status, 200);
    let id = w.clients(&c)[0]["id"].as_str().unwrap().to_string();
    let dir = w.dir.path().join("state/traffic").join(&w.ifname);
    let gone = "B".repeat(43);
    std::fs::create_dir_all(&dir).unwrap();
    let file = common::traffic_file(900, 1, (0, 0, 0), (0, 0, 0));
    std::fs::write(dir.join(&id), &file).unwrap();
    std::fs::write(dir.join(&gone), &file).unwrap();
    let (ifname, tmp) = (w.ifname.clone(), w.dir.path().to_path_buf());
    // Restarted over the same directories.
    let mut w = w;
    let _ = w.child.kill();
    let _ = w.child.wait();
    let mut cmd = Command::new(WGQ);
    cmd.args(["web", "--listen", "127.0.0.1:0", "--no-apply", "--config-dir"])
        .arg(&tmp)
        .arg("--state-dir")
        .arg(tmp.join("state"))
        .arg(&ifname)
        .env_clear()
        .env("PASSWORD_HASH", secret_hash())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    w.child = cmd.spawn().unwrap();
    let t = Instant::now();
    while dir.join(&gone).exists() {
        assert!(t.elapsed() < Duration::from_secs(10), "the gone client's file is still there");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(dir.join(&id).exists(), "the kept client's file stays");
}

/// The files of a config dir (server file, copies, client files) with their contents.
fn tree(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.starts_with(dir.join("state")) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// `{"file": text}` as a body.
fn restore_body(text: &str) -> String {
    serde_json::json!({ "file": text }).to_string()
}

#[test]
fn backup_restores_into_a_fresh_interface() {
    let a = start("ba", &[]);
    let ca = a.login();
    let post = |body: &str| {
        let r = a.req("POST", "/api/wireguard/client", &[("Cookie", &ca)], Some(body));
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["id"].as_str().unwrap().to_string()
    };
    post(r#"{"name":"phone","expiredDate":"2030-01-02"}"#);
    let laptop = post(r#"{"name":"Zoë's laptop <b>"}"#);
    let own = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    post(&format!(r#"{{"name":"own-key","publicKey":"{own}"}}"#));
    let r = a.req("POST", &format!("/api/wireguard/client/{laptop}/disable"), &[("Cookie", &ca)], None);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = a.req("GET", "/api/wireguard/backup", &[("Cookie", &ca)], None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-disposition"), Some("attachment; filename=\"wg0.json\""));
    let text = r.text();
    let b = r.json();
    // wg-easy 14's database: the server, and clients by id with their fields.
    assert_eq!(b["server"]["privateKey"], K);
    assert_eq!(b["server"]["address"], "10.8.0.1");
    assert_eq!(b["server"]["listenPort"], 51820);
    let clients = b["clients"].as_object().unwrap();
    assert_eq!(clients.len(), 3);
    let listed = a.clients(&ca);
    for l in &listed {
        let id = l["id"].as_str().unwrap();
        let c = &clients[id];
        assert_eq!(c["id"], id, "the ids are the page's client ids");
        for k in ["name", "address", "publicKey", "createdAt", "expiredAt", "enabled"] {
            assert_eq!(c[k], l[k], "{k}");
        }
        // A client holding its own key has no privateKey (wg-easy: not downloadable).
        assert_eq!(c.get("privateKey").is_some(), l["publicKey"] != own, "{c}");
    }
    assert_eq!(clients[&laptop]["enabled"], false);
    assert_eq!(clients[&laptop]["name"], "Zoë's laptop <b>");
    // Another interface with another key: a preview first (nothing changes), then the restore.
    let z = start("bz", &[]);
    let cz = z.login();
    let other = "aPxGwq8zERHQ3Q1cOZFdJ+cvJX5Ouo4YTWmQ1FlsmUE=";
    std::fs::write(
        z.dir.path().join(format!("{}.conf", z.ifname)),
        format!("[Interface]\n# ClientEndpoint = 192.0.2.1:51820\nAddress = 10.9.0.1/24, fd08::1/64\nListenPort = 4000\nPrivateKey = {other}\n"),
    )
    .unwrap();
    let r = z.req("POST", "/api/wireguard/client", &[("Cookie", &cz)], Some(r#"{"name":"gone"}"#));
    // A client that is not in the backup: removed by the restore (its file kept aside).
    assert_eq!(r.status, 200, "{}", r.text());
    let before = tree(z.dir.path());
    let r = z.req("PUT", "/api/wireguard/restore?dryRun=1", &[("Cookie", &cz)], Some(&restore_body(&text)));
    assert_eq!(r.status, 200, "{}", r.text());
    let preview = r.json()["dryRun"].as_str().unwrap().to_string();
    assert!(preview.contains("before-restore-") && preview.contains("# Name = phone"), "{preview}");
    assert!(!preview.contains(K), "no key in a preview: {preview}");
    assert_eq!(tree(z.dir.path()), before, "a preview changes nothing");
    let r = z.req("PUT", "/api/wireguard/restore", &[("Cookie", &cz)], Some(&restore_body(&text)));
    assert_eq!(r.status, 200, "{}", r.text());
    let kept = r.json()["kept"].as_str().unwrap().to_string();
    // The file as it was is kept beside it, 0600.
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::read(&kept).unwrap(), before.iter().find(|(n, _)| n.ends_with(".conf")).unwrap().1);
    assert_eq!(std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(kept.starts_with(&z.dir.path().join(format!("{}.conf.before-restore-", z.ifname)).display().to_string()), "{kept}");
    // The same clients, keys, names, expiry, enabled state: the restored interface's backup
    // is the backup.
    let conf = z.conf();
    assert!(conf.contains(&format!("PrivateKey = {K}")) && conf.contains("ListenPort = 51820"), "{conf}");
    assert!(conf.contains("Address = 10.8.0.1/24, fd08::1/64"), "the IPv6 address stays: {conf}");
    let back = z.req("GET", "/api/wireguard/backup", &[("Cookie", &cz)], None).json();
    assert_eq!(back, b);
    let lz = z.clients(&cz);
    for k in ["id", "name", "address", "publicKey", "createdAt", "expiredAt", "enabled", "downloadableConfig"] {
        let v = |l: &Vec<Value>| {
            let mut v: Vec<String> = l.iter().map(|c| c[k].to_string()).collect();
            v.sort();
            v
        };
        assert_eq!(v(&lz), v(&listed), "{k}");
    }
    // The client files: the same private keys, the new server's key.
    let phone = listed.iter().find(|c| c["name"] == "phone").unwrap()["id"].as_str().unwrap().to_string();
    let cfg =
        |w: &Web, c: &str| w.req("GET", &format!("/api/wireguard/client/{phone}/configuration"), &[("Cookie", c)], None).text();
    assert_eq!(cfg(&z, &cz), cfg(&a, &ca));
    assert!(z.stderr_until(|e| e.contains("restore (3 clients)")).contains("audit: session:"));
    // The same backup again: nothing to change, nothing kept.
    let n = std::fs::read_dir(z.dir.path()).unwrap().count();
    let r = z.req("PUT", "/api/wireguard/restore", &[("Cookie", &cz)], Some(&restore_body(&text)));
    assert_eq!(r.json()["changed"], false, "{}", r.text());
    assert_eq!(std::fs::read_dir(z.dir.path()).unwrap().count(), n);
    // A backup larger than other bodies may be (2 MiB: blanks), without one client, at once
    // again: another copy, the first one kept as it was.
    let mut smaller = b.clone();
    smaller["clients"].as_object_mut().unwrap().remove(&laptop);
    let padded = format!("{}{}", smaller, " ".repeat(2 << 20));
    let r = z.req("PUT", "/api/wireguard/restore", &[("Cookie", &cz)], Some(&restore_body(&padded)));
    assert_eq!(r.status, 200, "{}", r.text());
    let kept2 = r.json()["kept"].as_str().unwrap().to_string();
    assert_ne!(kept2, kept);
    assert_eq!(std::fs::read(&kept).unwrap(), before.iter().find(|(n, _)| n.ends_with(".conf")).unwrap().1);
    assert_eq!(z.clients(&cz).len(), 2);
    // The laptop's client file is kept too.
    let kept_clients = format!("{}/clients/{}.{}", z.dir.path().display(), z.ifname, kept2.rsplit_once(".conf.").unwrap().1);
    assert!(std::fs::read_dir(&kept_clients).unwrap().count() >= 1, "{kept_clients}");
    // Without a login, a body that large is not even read.
    let r = z.req("PUT", "/api/wireguard/restore", &[], Some(&restore_body(&padded)));
    assert_eq!(r.status, 413);
}

#[test]
fn hostile_restores_change_nothing() {
    let w = start("bh", &[]);
    let c = w.login();
    let r = w.req("POST", "/api/wireguard/client", &[("Cookie", &c)], Some(r#"{"name":"phone"}"#));
    assert_eq!(r.status, 200);
    let good = w.req("GET", "/api/wireguard/backup", &[("Cookie", &c)], None).text();
    let id = w.clients(&c)[0]["id"].as_str().unwrap().to_string();
    let before = tree(w.dir.path());
    let v: Value = serde_json::from_str(&good).unwrap();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = v.clone();
        f(&mut v);
        restore_body(&v.to_string())
    };
    let second = |v: &mut Value| {
        let mut c2 = v["clients"][&id].clone();
        c2["publicKey"] = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=".into();
        c2.as_object_mut().unwrap().remove("privateKey");
        v["clients"]["x"] = c2;
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("bad key", with(&|v| v["clients"][&id]["publicKey"] = "AAAA".into()), "publicKey"),
        ("bad server key", with(&|v| v["server"]["privateKey"] = "nope".into()), "privateKey"),
        ("CR/LF in a name", with(&|v| v["clients"][&id]["name"] = "a\r\nPostUp = reboot".into()), "\"name\""),
        ("duplicate addresses", with(&second), "taken twice"),
        ("name not a string", with(&|v| v["clients"][&id]["name"] = 5.into()), "\"name\" is not a string"),
        ("enabled not a bool", with(&|v| v["clients"][&id]["enabled"] = "yes".into()), "\"enabled\""),
        (
            "address outside",
            with(&|v| v["clients"][&id]["address"] = "10.9.9.9".into()),
            "\"address\" 10.9.9.9 is not a free address",
        ),
        ("address not one", with(&|v| v["clients"][&id]["address"] = "10.8.0.2/32\nx".into()), "\"address\""),
        ("bad IPv6 address", with(&|v| v["clients"][&id]["addressV6"] = "fd08::zz".into()), "addressV6"),
        ("IPv6 outside", with(&|v| v["clients"][&id]["addressV6"] = "2001:db8::2".into()), "addressV6"),
        ("clients an array", with(&|v| v["clients"] = serde_json::json!([])), "\"clients\""),
        ("file an object", serde_json::json!({ "file": v }).to_string(), "Missing: file"),
        ("file not JSON", restore_body("{\"server\":"), "refused"),
        ("body not JSON", "{".to_string(), "not JSON"),
    ];
    for (what, body, why) in &cases {
        let r = w.req("PUT", "/api/wireguard/restore", &[("Cookie", &c)], Some(body));
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        assert!(r.json()["error"].as_str().unwrap().contains(why), "{what}: {}", r.text());
        assert!(!r.text().contains(K), "{what}: no key in an error");
        assert_eq!(tree(w.dir.path()), before, "{what}: nothing changed");
    }
    // Each refusal is an audit line too, in one line whatever the file held.
    let log = w.stderr_until(|e| e.matches("restore (refused:").count() >= cases.len() - 3);
    assert!(log.contains("restore (refused: client 1 (`(key not shown)'): \"name\": the value must be one line"), "{log}");
    assert!(!log.contains("PostUp"), "{log}");
    // 100 MB: refused by its length, before the body is read.
    let r = w.raw(
        format!(
            "PUT /api/wireguard/restore HTTP/1.1\r\nHost: {}\r\nCookie: {c}\r\nContent-Length: 100000000\r\n\r\n{{\"file\":\"",
            w.addr
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 413);
    // Read-only tokens get neither backup nor restore; another site's page is refused.
    let state = w.dir.path().join("state");
    let o =
        Command::new(WGQ).args(["web-admin", "token", "add", "ro", "--read-only", "--state-dir"]).arg(&state).output().unwrap();
    let ro = format!("Bearer {}", String::from_utf8(o.stdout).unwrap().trim());
    let r = w.req("GET", "/api/wireguard/backup", &[("Authorization", &ro)], None);
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(!r.text().contains("privateKey"));
    let good_body = restore_body(&good);
    assert_eq!(w.req("PUT", "/api/wireguard/restore", &[("Authorization", &ro)], Some(&good_body)).status, 403);
    let path = format!("/api/v1/interfaces/{}/restore", w.ifname);
    assert_eq!(w.req("PUT", &path, &[("Authorization", &ro)], Some(&good_body)).status, 403);
    let evil = [("Cookie", c.as_str()), ("Origin", "http://evil.example"), ("Sec-Fetch-Site", "cross-site")];
    assert_eq!(w.req("PUT", "/api/wireguard/restore", &evil, Some(&good_body)).status, 403);
    assert_eq!(w.req("GET", "/api/wireguard/backup", &[], None).status, 401);
    assert_eq!(tree(w.dir.path()), before, "nothing changed");
    // /api/v1 serves every interface's backup too.
    let r = w.req("GET", &format!("/api/v1/interfaces/{}/backup", w.ifname), &[("Cookie", &c)], None);
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), v);
}

/// A database as wg-easy 14 writes it (UUID ids, dates with milliseconds, one-time link
/// fields, no port, a disabled client, a client imported with its public key only): restored,
/// the page lists its clients with their names, addresses, expiry and state.
#[test]
fn a_wg_easy_database_restores() {
    let w = start("be", &[]);
    let c = w.login();
    let (sk, pk) = ("mFQAmFtr1DucnQFoq0vRmo3zUrx1++PM8hz3SH6SkXM=", "Vwslf5Xndu20w1kPUtpxteYPIB/V/EE9X3pYmHqDrzE=");
    let db = serde_json::json!({
        "server": { "privateKey": K, "publicKey": "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=", "address": "10.8.0.1" },
        "clients": {
            "5b1e2c9a-0d4f-4b8e-9a51-2f7c3d1e6a10": {
                "id": "5b1e2c9a-0d4f-4b8e-9a51-2f7c3d1e6a10", "name": "Anna's iPhone", "address": "10.8.0.2",
                "privateKey": sk, "publicKey": pk, "preSharedKey": "n3I9RXe5SmGIIxnAv6PCV1FQ6xD68F2ejmbHPFXV33k=",
                "createdAt": "2024-03-01T08:15:30.123Z", "updatedAt": "2024-04-01T08:15:30.123Z",
                "expiredAt": "2030-06-30T23:59:59.000Z", "enabled": true,
                "oneTimeLink": null, "oneTimeLinkExpiresAt": null
            },
            "c0ffee00-1111-4222-8333-944455556666": {
                "id": "c0ffee00-1111-4222-8333-944455556666", "name": "router", "address": "10.8.0.3",
                "publicKey": "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=", "preSharedKey": null,
                "createdAt": "2024-03-02T08:15:30.000Z", "updatedAt": "2024-03-02T08:15:30.000Z",
                "expiredAt": null, "enabled": false
            }
        }
    });
    let r = w.req("PUT", "/api/wireguard/restore", &[("Cookie", &c)], Some(&restore_body(&db.to_string())));
    assert_eq!(r.status, 200, "{}", r.text());
    let mut l = w.clients(&c);
    l.sort_by_key(|c| c["address"].as_str().unwrap().to_string());
    let pick = |c: &Value| {
        (c["name"].clone(), c["address"].clone(), c["enabled"].clone(), c["expiredAt"].clone(), c["downloadableConfig"].clone())
    };
    let j = |v: &str| Value::from(v);
    assert_eq!(pick(&l[0]), (j("Anna's iPhone"), j("10.8.0.2"), Value::from(true), j("2030-06-30T23:59:59Z"), Value::from(true)));
    assert_eq!(
        pick(&l[1]),
        (j("router"), j("10.8.0.3"), Value::from(false), Value::Null, Value::from(false)),
        "its own key: no file to download"
    );
    assert_eq!(l[0]["createdAt"], "2024-03-01T08:15:30Z");
    let conf = w.conf();
    assert!(conf.contains("# Name = AnnasiPhone\n# DisplayName = Anna's iPhone\n"), "{conf}");
    assert!(conf.contains("#- # Name = router\n"), "disabled: {conf}");
    // The iPhone's file has its key; the router's is not offered (it holds its own).
    let file = |id: &Value| {
        w.req("GET", &format!("/api/wireguard/client/{}/configuration", id.as_str().unwrap()), &[("Cookie", &c)], None).text()
    };
    assert!(file(&l[0]["id"]).contains(&format!("PrivateKey = {sk}")));
    let own =
        w.req("GET", &format!("/api/wireguard/client/{}/configuration", l[1]["id"].as_str().unwrap()), &[("Cookie", &c)], None);
    assert_eq!(own.status, 409, "the router holds its own key: {}", own.text());
    // Its backup again: the wg-easy fields it has, with the page's ids.
    let b = w.req("GET", "/api/wireguard/backup", &[("Cookie", &c)], None).json();
    let iphone = &b["clients"][l[0]["id"].as_str().unwrap()];
    assert_eq!(iphone["privateKey"], sk);
    assert_eq!(iphone["preSharedKey"], "n3I9RXe5SmGIIxnAv6PCV1FQ6xD68F2ejmbHPFXV33k=");
    assert!(b["clients"][l[1]["id"].as_str().unwrap()].get("privateKey").is_none());
}

/// Slowloris: many idle connections from one address (more than there are workers) do not
/// keep another client from being served (without the bounds it waited 10 s, the old
/// first-byte time); that address's own connections beyond its bound wait or are refused,
/// and an idle one is closed after the first-byte time (bounds of 2 s: a loaded machine).
#[test]
fn idle_connections_from_one_address_do_not_take_every_worker() {
    let w = start("wi", &[]);
    let idle: Vec<TcpStream> = (0..48).map(|_| connect_from([127, 0, 0, 2].into(), w.addr)).collect();
    // Let the server accept them all.
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    let mut s = connect_from([127, 0, 0, 3].into(), w.addr);
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"GET /api/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert_eq!(parse(&out).status, 200);
    assert!(t.elapsed() < Duration::from_secs(2), "another client waited {:?}", t.elapsed());
    // The idle address's connections beyond its bound and its waiting room were refused at
    // once; the others are closed within the first-byte time (3 s) of reaching a worker.
    let refused = idle
        .iter()
        .filter(|c| {
            c.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            let mut b = [0u8; 12];
            (&**c).read(&mut b).is_ok_and(|n| n == 12 && &b == b"HTTP/1.1 503")
        })
        .count();
    assert_eq!(refused, 48 - 4 - 16, "4 in the workers, 16 waiting");
    let mut first = &idle[0];
    first.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let t = Instant::now();
    assert_eq!(first.read(&mut [0u8; 1]).unwrap_or(0), 0, "closed without an answer");
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    // A browser's kept-alive connections give their places to its new ones.
    let get = |s: &mut TcpStream, close: bool| {
        let c = if close { "close" } else { "keep-alive" };
        s.write_all(format!("GET /api/session HTTP/1.1\r\nHost: x\r\nConnection: {c}\r\n\r\n").as_bytes()).unwrap();
        let mut out = vec![0u8; 4096];
        let n = s.read(&mut out).unwrap();
        assert!(out[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&out[..n]));
    };
    let mut kept: Vec<TcpStream> = (0..4).map(|_| connect_from([127, 0, 0, 4].into(), w.addr)).collect();
    for k in &mut kept {
        k.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        get(k, false);
    }
    let t = Instant::now();
    let mut fifth = connect_from([127, 0, 0, 4].into(), w.addr);
    fifth.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    get(&mut fifth, true);
    assert!(t.elapsed() < Duration::from_secs(2), "a fifth connection waited {:?}", t.elapsed());
}

/// A bare LF ends no line of the head: a proxy in front that ends lines only at CRLF would
/// read other headers (and another end of the head) than wgq.
#[test]
fn a_bare_lf_in_the_head_is_refused() {
    let w = start("wl", &[]);
    for bad in [
        &b"GET /api/session HTTP/1.1\nHost: x\r\nConnection: close\r\n\r\n"[..],
        b"GET /api/session HTTP/1.1\r\nHost: x\nConnection: close\r\n\r\n",
        b"GET /api/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\n",
        b"GET /api/session HTTP/1.1\r\nHost: x\r\nX-A: 1\rX-B: 2\r\nConnection: close\r\n\r\n",
        b"GET /api/session HTTP/1.1\r\r\nHost: x\r\nConnection: close\r\n\r\n",
    ] {
        assert_eq!(w.raw(bad).status, 400, "{:?}", String::from_utf8_lossy(bad));
    }
    assert_eq!(w.raw(b"GET /api/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").status, 200);
}

/// A client that made its own key (a public key given in the page, or `peer add --pubkey`):
/// its client file has no private key, so it is not downloadable, and its QR code,
/// configuration and one-time link are refused with a message that says why.
#[test]
fn a_client_with_its_own_key_is_not_downloadable() {
    let w = start("wk", &[("WG_ENABLE_ONE_TIME_LINKS", "true")]);
    let c = w.login();
    let own = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    let body = format!(r#"{{"name":"own","publicKey":"{own}"}}"#);
    let r = w.req("POST", "/api/wireguard/client", &[("Cookie", &c)], Some(&body));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(w.req("POST", "/api/wireguard/client", &[("Cookie", &c)], Some(r#"{"name":"held"}"#)).status, 200);
    let o = Command::new(WGQ)
        .args(["peer", "add", &w.ifname, "cli-own", "--pubkey", "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=", "--no-apply"])
        .arg("--config-dir")
        .arg(w.dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = std::fs::read_to_string(w.dir.path().join(format!("clients/{}/own.conf", w.ifname))).unwrap();
    assert!(!file.lines().any(|l| l.starts_with("PrivateKey")), "{file}");
    std::thread::sleep(Duration::from_millis(1100));
    let by_name = |l: &[Value], n: &str| l.iter().find(|c| c["name"] == n).unwrap_or_else(|| panic!("{n}: {l:?}")).clone();
    let l = w.clients(&c);
    assert_eq!(by_name(&l, "held")["downloadableConfig"], true);
    for n in ["own", "cli-own"] {
        assert_eq!(by_name(&l, n)["downloadableConfig"], false, "{n}");
    }
    let v1 = w.req("GET", &format!("/api/v1/interfaces/{}/clients", w.ifname), &[("Cookie", &c)], None).json();
    assert_eq!(by_name(v1.as_array().unwrap(), "own")["downloadableConfig"], false);
    let id = by_name(&l, "own")["id"].as_str().unwrap().to_string();
    for (m, a) in [("GET", "configuration"), ("GET", "qrcode.svg"), ("POST", "generateOneTimeLink")] {
        let r = w.req(m, &format!("/api/wireguard/client/{id}/{a}"), &[("Cookie", &c)], None);
        assert_eq!(r.status, 409, "{a}: {}", r.text());
        assert!(r.text().contains("holds its own private key"), "{a}: {}", r.text());
    }
    let held = by_name(&l, "held")["id"].as_str().unwrap().to_string();
    assert_eq!(w.req("GET", &format!("/api/wireguard/client/{held}/configuration"), &[("Cookie", &c)], None).status, 200);
    // A client whose file is gone: 404, saying so.
    std::fs::remove_file(w.dir.path().join(format!("clients/{}/held.conf", w.ifname))).unwrap();
    let r = w.req("GET", &format!("/api/wireguard/client/{held}/configuration"), &[("Cookie", &c)], None);
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.text().contains("no client file is kept"), "{}", r.text());
}

/// A self-signed certificate for 127.0.0.1 and localhost made by the openssl CLI in `dir`
/// (`NAME.pem`, `NAME.key`); None when openssl is missing.
fn self_signed(dir: &std::path::Path, name: &str) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let (cert, key) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
    let o = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", &format!("/CN={name}"), "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .ok()?;
    assert!(o.status.success(), "openssl: {}", String::from_utf8_lossy(&o.stderr));
    Some((cert, key))
}

/// `curl --cacert CA -i ARGS… https://ADDR/PATH`: the status and the head, or None when the
/// TLS connection failed.
fn curl_tls(ca: &std::path::Path, addr: SocketAddr, path: &str, args: &[&str]) -> Option<(u16, String)> {
    let o = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "10", "--cacert"])
        .arg(ca)
        .args(args)
        .arg(format!("https://{addr}{path}"))
        .output()
        .unwrap();
    if !o.status.success() {
        return None;
    }
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let status = out.split(' ').nth(1)?.parse().ok()?;
    Some((status, out))
}

#[test]
fn tls_with_a_certificate_and_key() {
    for tool in ["openssl", "curl"] {
        if Command::new(tool).arg("--version").output().is_err() && Command::new(tool).arg("version").output().is_err() {
            eprintln!("skipped: {tool} is not installed");
            return;
        }
    }
    let certs = tempfile::tempdir().unwrap();
    let Some((cert, key)) = self_signed(certs.path(), "one") else {
        eprintln!("skipped: openssl is not installed");
        return;
    };
    let h = secret_hash();
    let (c, k) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let w = start_with("wt", &[("PASSWORD_HASH", &h)], &["--tls-cert", c, "--tls-key", k]).unwrap();
    assert!(w.stderr().contains(&format!("listening on https://{}", w.addr)), "{}", w.stderr());
    let (status, out) = curl_tls(&cert, w.addr, "/api/session", &[]).expect("a TLS request");
    assert_eq!(status, 200, "{out}");
    // Logged in over TLS: the cookie is Secure.
    let (status, out) = curl_tls(
        &cert,
        w.addr,
        "/api/session",
        &["-H", "Content-Type: application/json", "--data", r#"{"password":"s3cret pass"}"#],
    )
    .unwrap();
    assert_eq!(status, 200, "{out}");
    let set = out.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).unwrap_or_else(|| panic!("{out}"));
    assert!(set.contains("; Secure") && set.contains("HttpOnly"), "{set}");
    // Plain HTTP on the TLS port: a plain 400 that says to use https, and nothing else.
    let r = w.raw(b"GET /api/session HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 400);
    assert_eq!(r.text(), "This port speaks HTTPS: use an https:// address.\n");
    // A handshake that never comes is cut off (5 s), as a slow request head is.
    let mut s = TcpStream::connect(w.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let t = Instant::now();
    assert_eq!(s.read(&mut [0u8; 1]).unwrap_or(0), 0);
    assert!(t.elapsed() < Duration::from_secs(7), "{:?}", t.elapsed());
    // A renewed certificate (and key) is served from the next handshake on.
    let (cert2, key2) = self_signed(certs.path(), "two").unwrap();
    std::fs::rename(&key2, &key).unwrap();
    std::fs::rename(&cert2, &cert).unwrap();
    let renewed = cert.with_file_name("renewed.pem");
    std::fs::copy(&cert, &renewed).unwrap();
    assert_eq!(curl_tls(&renewed, w.addr, "/api/session", &[]).map(|r| r.0), Some(200));
    assert!(w.stderr_until(|e| e.contains("loaded the renewed certificate")).contains("loaded the renewed certificate"));
    // A broken renewal keeps the last good pair.
    std::fs::write(&cert, "not a certificate\n").unwrap();
    assert_eq!(curl_tls(&renewed, w.addr, "/api/session", &[]).map(|r| r.0), Some(200));
    assert!(w.stderr_until(|e| e.contains("keeping the last certificate")).contains("keeping the last certificate"));
    // With TLS, an address beyond loopback needs no --insecure (a password still).
    std::fs::copy(&renewed, &cert).unwrap();
    let any = start_with("wt", &[("PASSWORD_HASH", &h)], &["--listen", "0.0.0.0:0", "--tls-cert", c, "--tls-key", k]);
    assert!(any.is_ok(), "{:?}", any.err());
    drop(any);
    let e = start_with("wt", &[], &["--listen", "0.0.0.0:0", "--tls-cert", c, "--tls-key", k]).err().unwrap();
    assert!(e.contains("without a password"), "{e}");
    // A key that is not the certificate's, a missing file: refused at start, saying so.
    let (_, other) = self_signed(certs.path(), "three").unwrap();
    let e = start_with("wt", &[("PASSWORD_HASH", &h)], &["--tls-cert", c, "--tls-key", other.to_str().unwrap()]).err().unwrap();
    assert!(e.contains("TLS: ") && e.to_lowercase().contains("mismatch"), "{e}");
    let e = start_with("wt", &[("PASSWORD_HASH", &h)], &["--tls-cert", "/nonexistent.pem", "--tls-key", k]).err().unwrap();
    assert!(e.contains("TLS: /nonexistent.pem: "), "{e}");
    let e = start_with("wt", &[("PASSWORD_HASH", &h)], &["--tls-cert", c]).err().unwrap();
    assert!(e.contains("--tls-key"), "{e}");
}

#[test]
fn tls_files_from_the_variables_when_no_flag_is_given() {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("skipped: curl is not installed");
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    let Some((cert, key)) = self_signed(certs.path(), "env") else {
        eprintln!("skipped: openssl is not installed");
        return;
    };
    let h = secret_hash();
    let (c, k) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let vars = [("PASSWORD_HASH", h.as_str()), ("WGQ_WEB_TLS_CERT", c), ("WGQ_WEB_TLS_KEY", k)];
    let w = start_with("wv", &vars, &[]).unwrap();
    assert!(w.stderr().contains(&format!("listening on https://{}", w.addr)), "{}", w.stderr());
    assert_eq!(curl_tls(&cert, w.addr, "/api/session", &[]).map(|r| r.0), Some(200));
    drop(w);
    // The flags win over the variables (here: a variable naming a file that is not there).
    let vars = [("PASSWORD_HASH", h.as_str()), ("WGQ_WEB_TLS_CERT", "/nonexistent.pem"), ("WGQ_WEB_TLS_KEY", k)];
    let w = start_with("wv", &vars, &["--tls-cert", c, "--tls-key", k]).unwrap();
    assert_eq!(curl_tls(&cert, w.addr, "/api/session", &[]).map(|r| r.0), Some(200));
    drop(w);
    // One without the other, a missing file: refused at start, naming the variable and file.
    let e = start_with("wv", &[("PASSWORD_HASH", &h), ("WGQ_WEB_TLS_KEY", k)], &[]).err().unwrap();
    assert!(e.contains(&format!("WGQ_WEB_TLS_KEY={k} is set but WGQ_WEB_TLS_CERT is not")), "{e}");
    let e = start_with("wv", &[("PASSWORD_HASH", &h), ("WGQ_WEB_TLS_CERT", "/nonexistent.pem"), ("WGQ_WEB_TLS_KEY", k)], &[])
        .err()
        .unwrap();
    assert!(e.contains("TLS: WGQ_WEB_TLS_CERT=/nonexistent.pem: No such file"), "{e}");
    // A path that is not UTF-8 is refused, not taken as unset (the page then in plain HTTP).
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("wv0.conf"), format!("[Interface]\nListenPort = 51820\nPrivateKey = {K}\n")).unwrap();
    let o = Command::new(WGQ)
        .args(["web", "--listen", "127.0.0.1:0", "--no-apply", "--config-dir"])
        .arg(dir.path())
        .arg("wv0")
        .env_clear()
        .env("PASSWORD_HASH", &h)
        .env("WGQ_WEB_TLS_CERT", std::ffi::OsStr::from_bytes(b"/v/\xffweb.pem"))
        .env("WGQ_WEB_TLS_KEY", k)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains("WGQ_WEB_TLS_CERT: not a UTF-8 path"), "{e}");
}

/// A rustls client that trusts `ca` (the server's self-signed certificate).
fn tls_client(ca: &std::path::Path) -> rustls::ClientConnection {
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from_pem_file(ca).unwrap()).unwrap();
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    rustls::ClientConnection::new(std::sync::Arc::new(cfg), "127.0.0.1".try_into().unwrap()).unwrap()
}

/// Sends `bytes` one every `every` until the server closes the connection; how long that
/// took (None: not within 20 s).
fn drip(s: &mut TcpStream, bytes: &[u8], every: Duration) -> Option<Duration> {
    let t = Instant::now();
    for b in bytes {
        if s.write_all(&[*b]).is_err() {
            return Some(t.elapsed());
        }
        s.set_read_timeout(Some(every)).unwrap();
        match s.read(&mut [0u8; 256]) {
            Ok(0) => return Some(t.elapsed()),
            Err(e) if !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Some(t.elapsed());
            }
            _ => {}
        }
        if t.elapsed() > Duration::from_secs(20) {
            return None;
        }
    }
    None
}

/// Slowloris over TLS: a hello (a byte every 100 ms), or a request's TLS record (a byte every
/// 20 ms), does not get a fresh timeout for every packet: the handshake is cut at 5 s, the
/// request at its first-byte time (3 s: no byte of it is readable before its record is
/// whole).
#[test]
fn tls_sent_a_byte_at_a_time_is_cut_off() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("skipped: openssl is not installed");
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(certs.path(), "drip").unwrap();
    let h = secret_hash();
    let args = ["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()];
    let w = start_with("wd", &[("PASSWORD_HASH", &h)], &args).unwrap();
    // The hello.
    let mut c = tls_client(&cert);
    let mut hello = Vec::new();
    c.write_tls(&mut hello).unwrap();
    let mut s = TcpStream::connect(w.addr).unwrap();
    let took = drip(&mut s, &hello, Duration::from_millis(100))
        .unwrap_or_else(|| panic!("a {}-byte hello dripped for 20 s", hello.len()));
    assert!(took < Duration::from_secs(7), "{took:?}");
    // A request after a quick handshake: one record of 2 KB, a byte at a time.
    let mut c = tls_client(&cert);
    let mut s = TcpStream::connect(w.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    while c.is_handshaking() {
        c.complete_io(&mut s).unwrap();
    }
    let req = format!("GET /api/session HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n", "a".repeat(2000));
    c.writer().write_all(req.as_bytes()).unwrap();
    let mut rec = Vec::new();
    while c.wants_write() {
        c.write_tls(&mut rec).unwrap();
    }
    let took =
        drip(&mut s, &rec, Duration::from_millis(20)).unwrap_or_else(|| panic!("a {}-byte request dripped for 20 s", rec.len()));
    assert!(took < Duration::from_secs(5), "{took:?}");
    // Sent at once, the same request is answered.
    let mut c = tls_client(&cert);
    let mut s = TcpStream::connect(w.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut t = rustls::Stream::new(&mut c, &mut s);
    t.write_all(req.replace("HTTP/1.1\r\n", "HTTP/1.1\r\nConnection: close\r\n").as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = t.read_to_end(&mut out);
    assert!(out.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&out));
}

/// A body larger than the default (a restore's, up to 32 MiB, parsed into a few times that)
/// is read and handled one at a time: while one is being sent, another gets 503 before it
/// is read; once that one is gone, the next is read.
#[test]
fn large_bodies_are_read_one_at_a_time() {
    let w = start("bl", &[]);
    let c = w.login();
    let padded = restore_body(&" ".repeat(2 << 20));
    let held = format!(
        "PUT /api/wireguard/restore HTTP/1.1\r\nHost: {}\r\nCookie: {c}\r\nContent-Length: {}\r\n\r\n{{\"file\":\"",
        w.addr,
        padded.len()
    );
    let mut s1 = TcpStream::connect(w.addr).unwrap();
    s1.write_all(held.as_bytes()).unwrap();
    let t = Instant::now();
    loop {
        let r = w.req("PUT", "/api/wireguard/restore", &[("Cookie", &c)], Some(&padded));
        if r.status == 503 {
            break;
        }
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(t.elapsed() < Duration::from_secs(10), "a second large body was read while one was being sent");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Small bodies are not held up.
    let r = w.req("PUT", "/api/wireguard/restore", &[("Cookie", &c)], Some(&restore_body("{")));
    assert_eq!(r.status, 400, "{}", r.text());
    drop(s1);
    let t = Instant::now();
    loop {
        let r = w.req("PUT", "/api/wireguard/restore", &[("Cookie", &c)], Some(&padded));
        if r.status == 400 {
            break;
        }
        assert_eq!(r.status, 503, "{}", r.text());
        assert!(t.elapsed() < Duration::from_secs(10), "the place of a body given up is not given back");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A page variable whose value is not UTF-8 is refused at start, not read as unset: a
/// metrics password unset would serve /metrics to anyone, a state directory unset another
/// directory without its TOTP secret, a password hash unset no password.
#[test]
fn a_page_variable_that_is_not_utf8_is_refused_not_unset() {
    use std::os::unix::ffi::OsStrExt;
    let h = secret_hash();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("wu0.conf"), format!("[Interface]\nListenPort = 51820\nPrivateKey = {K}\n")).unwrap();
    let bad = std::ffi::OsStr::from_bytes(b"s\xe9cret");
    for var in ["PROMETHEUS_METRICS_PASSWORD", "PASSWORD_HASH", "WGQ_WEB_STATE_DIR", "WEBUI_HOST"] {
        let mut c = Command::new(WGQ);
        c.args(["web", "--listen", "127.0.0.1:0", "--no-apply", "--config-dir"])
            .arg(dir.path())
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .arg("wu0")
            .env_clear()
            .env("ENABLE_PROMETHEUS_METRICS", "true")
            .env("PASSWORD_HASH", &h)
            .env(var, bad)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        while child.try_wait().unwrap().is_none() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
        }
        let served = child.try_wait().unwrap().is_none();
        if served {
            let _ = child.kill();
        }
        let o = child.wait_with_output().unwrap();
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!served, "{var}: served with the value taken as unset: {e}");
        assert!(!o.status.success() && e.contains(&format!("{var}: not UTF-8")), "{var}: {e}");
    }
}
