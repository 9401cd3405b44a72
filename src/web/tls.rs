//! `wgq web --tls-cert FILE --tls-key FILE`: TLS (1.3 and 1.2, rustls with ring) for the
//! page's server. The two PEM files are read at start (a wrong one stops `wgq web` with its
//! message) and again when either changes (each handshake looks at their modification time
//! and size: a renewed certificate is served from the next handshake on, no restart); a
//! renewal that does not load keeps the last good pair and logs why, once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// A PEM file is read up to this size (a chain of a few certificates is a few KiB).
const MAX_PEM: u64 = 1024 * 1024;

/// A PEM file's bytes: a regular file only, opened without blocking (a FIFO would wait for a
/// writer: at start, or in a handshake holding the lock of [`Reloading`], stalling every
/// later one), at most [`MAX_PEM`] bytes.
fn read_pem(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let f = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).map_err(|e| e.to_string())?;
    let meta = f.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    // Room for the whole file at once: no reallocation leaves a copy of a key behind.
    let size = meta.len().min(MAX_PEM);
    let mut b = Vec::with_capacity(size as usize + 1);
    if let Err(e) = f.take(MAX_PEM + 1).read_to_end(&mut b) {
        crate::key::wipe(&mut b);
        return Err(e.to_string());
    }
    if b.len() as u64 > MAX_PEM {
        crate::key::wipe(&mut b);
        return Err("larger than 1 MiB".into());
    }
    Ok(b)
}

/// How the two files are named in messages: their paths (`--tls-cert`, `--tls-key`), or the
/// variables that gave them and their paths (`WGQ_WEB_TLS_CERT=…`).
#[derive(Debug, Clone)]
struct Names {
    cert: String,
    key: String,
}

impl Names {
    fn paths(cert: &Path, key: &Path) -> Names {
        Names { cert: cert.display().to_string(), key: key.display().to_string() }
    }
}

/// Why a PEM text did not parse, without any of its text: rustls's message may quote a line
/// or a character of it (of a key file, or of a key given as the certificate by mistake).
fn pem_error(e: &rustls::pki_types::pem::Error) -> &'static str {
    use rustls::pki_types::pem::Error as E;
    match e {
        E::MissingSectionEnd { .. } => "a PEM section without its END line",
        E::IllegalSectionStart { .. } => "a malformed BEGIN line",
        E::Base64Decode(_) => "a PEM section that is not base64",
        E::NoItemsFound => "none found",
        E::SectionTooLarge => "a PEM section too large",
        _ => "unreadable",
    }
}

/// The certificate chain (leaf first) and its key, checked to belong together.
fn load(provider: &CryptoProvider, cert: &Path, key: &Path, names: &Names) -> Result<CertifiedKey, String> {
    let pem = read_pem(cert).map_err(|e| format!("{}: {e}", names.cert))?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not a PEM certificate chain: {}", names.cert, pem_error(&e)))?;
    if chain.is_empty() {
        return Err(format!("{}: no CERTIFICATE in it", names.cert));
    }
    let mut pem = read_pem(key).map_err(|e| format!("{}: {e}", names.key))?;
    let k = PrivateKeyDer::from_pem_slice(&pem);
    crate::key::wipe(&mut pem);
    let k = k.map_err(|e| format!("{}: no PEM private key (PKCS#8, PKCS#1 or SEC1) in it: {}", names.key, pem_error(&e)))?;
    CertifiedKey::from_der(chain, k, provider).map_err(|e| format!("{} and {}: {e}", names.cert, names.key))
}

/// When a file last changed (and its size): a renewal is a new one.
fn stamp(p: &Path) -> Option<(SystemTime, u64)> {
    std::fs::metadata(p).ok().map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
}

type Stamps = (Option<(SystemTime, u64)>, Option<(SystemTime, u64)>);

#[derive(Debug)]
struct Reloading {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: Mutex<(Stamps, Arc<CertifiedKey>)>,
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut cur = super::lock(&self.current);
        let now = (stamp(&self.cert), stamp(&self.key));
        if now != cur.0 {
            cur.0 = now;
            match load(&self.provider, &self.cert, &self.key, &Names::paths(&self.cert, &self.key)) {
                Ok(k) => {
                    cur.1 = Arc::new(k);
                    eprintln!("wgq web: loaded the renewed certificate {}", self.cert.display());
                }
                Err(e) => eprintln!("wgq web: keeping the last certificate: {e}"),
            }
        }
        Some(Arc::clone(&cur.1))
    }
}

fn provider() -> Arc<CryptoProvider> {
    // ring: pure Rust and assembly, no cmake or C++ toolchain, small. rustls 0.23.48 marks
    // it deprecated because it has no post-quantum key exchange (docs/dependencies.md).
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Checks that `cert` and `key` load and belong together (what [`server_config`] does at
/// start), naming them `cert_name` and `key_name` in the error: for a setting checked
/// before anything else starts (`WGQ_WEB_TLS_CERT` and `WGQ_WEB_TLS_KEY` beside `wgq run`).
pub fn check(cert: &Path, key: &Path, cert_name: &str, key_name: &str) -> Result<(), String> {
    load(&provider(), cert, key, &Names { cert: cert_name.into(), key: key_name.into() }).map(drop)
}

/// The TLS configuration of `--tls-cert` and `--tls-key` (HTTP/1.1 only).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = provider();
    let stamps = (stamp(cert), stamp(key));
    let first = load(&provider, cert, key, &Names::paths(cert, key))?;
    let resolver = Reloading {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        provider: Arc::clone(&provider),
        current: Mutex::new((stamps, Arc::new(first))),
    };
    let mut c = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate (its key thrown away: loading stops at the key file).
    const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBfjCCASOgAwIBAgIUXjWsUqqNN+vNKeJO7k9/AYBEdUgwCgYIKoZIzj0EAwIw
EzERMA8GA1UEAwwId2dxLXRlc3QwIBcNMjYxMjA2MDg0ODA0WhgPMjEyNjExMTIw
ODQ4MDRaMBMxETAPBgNVBAMMCHdncS10ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAELO4+CKR+T7vtp5/oNZ5gkauzAmEYHHpLrn3imSaOa6bWTNTTqSK246Uh
IiJE1ZB75ZvyeC6odXwgrcFyP9pdDKNTMFEwHQYDVR0OBBYEFC/wtPGJHa/6XLgP
6tFfDhi8Yb+nMB8GA1UdIwQYMBaAFC/wtPGJHa/6XLgP6tFfDhi8Yb+nMA8GA1Ud
EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhAOOKOAN0ND0mAVyBJ+uhC583
HFywiuG+u1tvNTH9ci94AiEA+7VSTp1V9yX6+3ZCFmlzeWt+mvhwxSHospqGqjc7
rTM=
-----END CERTIFICATE-----
";

    #[test]
    fn errors_name_the_files_as_given_and_quote_nothing_of_a_key() {
        let d = tempfile::tempdir().unwrap();
        let (cert, key) = (d.path().join("c.pem"), d.path().join("k.pem"));
        std::fs::write(&cert, CERT).unwrap();
        let check = |k: &str| {
            std::fs::write(&key, k).unwrap();
            check(&cert, &key, "C=c.pem", "K=k.pem").unwrap_err()
        };
        for (text, why) in [
            ("-----BEGIN PRIVATE KEY-----\nSECRET*SECRET\n-----END PRIVATE KEY-----\n", "a PEM section that is not base64"),
            ("-----BEGIN PRIVATE KEY SECRET\nAAAA\n-----END PRIVATE KEY-----\n", "a malformed BEGIN line"),
            ("-----BEGIN PRIVATE KEY-----\nU0VDUkVU\n", "a PEM section without its END line"),
            ("SECRET\n", "none found"),
        ] {
            let e = check(text);
            assert_eq!(e, format!("K=k.pem: no PEM private key (PKCS#8, PKCS#1 or SEC1) in it: {why}"), "{text}");
        }
        // A key that is not the certificate's: both named.
        let other = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgVYGnfwXFFD7SMcjD\nWN6m6vtNSRElhBGuzPi3G91/IjuhRANCAARXWamO0gh0MI5oiq6QV0X3sXq+kJeY\n+U2XjqEbv3IpHn7V9VK8y0RiE5QdYVnu/dDl4aVEsdGrUYjXjzK88lFu\n-----END PRIVATE KEY-----\n";
        let e = check(other);
        assert!(e.starts_with("C=c.pem and K=k.pem: ") && e.to_lowercase().contains("mismatch"), "{e}");
        // Missing, or given the key as the certificate: the name of the one at fault.
        std::fs::remove_file(&key).unwrap();
        let e = super::check(&cert, &key, "C=c.pem", "K=k.pem").unwrap_err();
        assert!(e.starts_with("K=k.pem: No such file"), "{e}");
        std::fs::write(&key, other).unwrap();
        let e = super::check(&key, &key, "C=k.pem", "K=k.pem").unwrap_err();
        assert_eq!(e, "C=k.pem: no CERTIFICATE in it");
        // What the flags' path shows: the paths.
        let e = server_config(Path::new("/nonexistent.pem"), &key).unwrap_err();
        assert!(e.starts_with("/nonexistent.pem: No such file"), "{e}");
    }

    #[test]
    fn a_fifo_or_a_device_is_refused_at_once() {
        let d = tempfile::tempdir().unwrap();
        let (cert, fifo, zero) = (d.path().join("c.pem"), d.path().join("fifo"), d.path().join("zero"));
        std::fs::write(&cert, CERT).unwrap();
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        for (c, k, name) in [(&fifo, &cert, "C"), (&cert, &fifo, "K"), (&zero, &cert, "C"), (&cert, &zero, "K")] {
            let (c, k) = (c.clone(), k.clone());
            let (tx, rx) = std::sync::mpsc::channel();
            // In a thread: a blocking open of the FIFO would never return.
            std::thread::spawn(move || tx.send(check(&c, &k, "C", "K")));
            let r = rx.recv_timeout(std::time::Duration::from_secs(5)).expect("reading a PEM file hung");
            assert_eq!(r.unwrap_err(), format!("{name}: not a regular file"));
        }
    }
}
