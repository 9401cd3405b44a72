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

fn read_pem(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut b = Vec::new();
    f.take(MAX_PEM + 1).read_to_end(&mut b).map_err(|e| format!("{}: {e}", path.display()))?;
    if b.len() as u64 > MAX_PEM {
        return Err(format!("{}: larger than 1 MiB", path.display()));
    }
    Ok(b)
}

/// The certificate chain (leaf first) and its key, checked to belong together.
fn load(provider: &CryptoProvider, cert: &Path, key: &Path) -> Result<CertifiedKey, String> {
    let pem = read_pem(cert)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not a PEM certificate chain: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no CERTIFICATE in it", cert.display()));
    }
    let mut pem = read_pem(key)?;
    let k = PrivateKeyDer::from_pem_slice(&pem);
    crate::key::wipe(&mut pem);
    let k = k.map_err(|e| format!("{}: no PEM private key (PKCS#8, PKCS#1 or SEC1) in it: {e}", key.display()))?;
    CertifiedKey::from_der(chain, k, provider).map_err(|e| format!("{} and {}: {e}", cert.display(), key.display()))
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
            match load(&self.provider, &self.cert, &self.key) {
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

/// The TLS configuration of `--tls-cert` and `--tls-key` (HTTP/1.1 only).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    // ring: pure Rust and assembly, no cmake or C++ toolchain, small. rustls 0.23.48 marks
    // it deprecated because it has no post-quantum key exchange (docs/dependencies.md).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let stamps = (stamp(cert), stamp(key));
    let first = load(&provider, cert, key)?;
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
