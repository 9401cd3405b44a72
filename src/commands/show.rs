//! `wgq show`: the familiar `wg show` layout, and a stable JSON form for scripts.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use crate::device::{self, DeviceState};

use super::{AppError, write_out};

// `wgq show`'s arguments (and clap's definition of them).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ShowArgs {
    /// Print machine-readable JSON
    #[arg(long)]
    pub json: bool,
    /// The interface to show; all (or none) for every WireGuard interface
    #[arg(value_name = "INTERFACE|all")]
    pub interface: Option<String>,
}

// `wgq showconf`'s arguments (and clap's definition of them).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ShowconfArgs {
    /// A WireGuard interface
    #[arg(value_name = "INTERFACE")]
    pub interface: String,
}

/// `wgq show`: `all` is every WireGuard interface, as no name is.
pub(crate) fn run(a: &ShowArgs) -> Result<i32, AppError> {
    show(a.interface.as_deref().filter(|i| *i != "all"), a.json).map(|_| 0)
}

/// `wgq showconf`: the running configuration in the file's form.
pub(crate) fn showconf(a: &ShowconfArgs) -> Result<i32, AppError> {
    let mut sys = crate::system::LinuxSystem::new(&a.interface, None)?;
    let text = sys.showconf(&a.interface)?;
    write_out(&mut std::io::stdout().lock(), text.as_bytes())?;
    Ok(0)
}

/// Prints the state of one interface, or of all WireGuard interfaces.
pub(crate) fn show(interface: Option<&str>, json: bool) -> Result<(), AppError> {
    let names = match interface {
        Some(n) => vec![n.to_string()],
        None => {
            let mut rt = crate::wire::netlink::Socket::open(libc::NETLINK_ROUTE as isize)
                .map_err(crate::system::nl("Unable to open an rtnetlink socket"))?;
            device::list_interfaces(&mut rt).map_err(crate::system::SystemError::from)?
        }
    };
    let mut states = Vec::new();
    let mut devices = device::Devices::default();
    for n in &names {
        states.push(devices.get(n).map_err(crate::system::SystemError::from)?);
    }
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let out =
        if json { render_json(&states) } else { states.iter().map(|s| render_pretty(s, now)).collect::<Vec<_>>().join("\n") };
    print!("{out}");
    Ok(())
}

/// `wg show` layout (without colours). Peers with the most recent handshake first.
pub(crate) fn render_pretty(d: &DeviceState, now: Duration) -> String {
    let mut s = String::new();
    // An interface name may hold any byte but `/`, `:` and white space (a terminal escape
    // sequence too): never printed raw.
    let _ = writeln!(s, "interface: {}", crate::config::values::clean(&d.name));
    if let Some(k) = &d.public_key {
        let _ = writeln!(s, "  public key: {}", k.to_base64());
    }
    if d.private_key.is_some() {
        let _ = writeln!(s, "  private key: (hidden)");
    }
    if d.listen_port != 0 {
        let _ = writeln!(s, "  listening port: {}", d.listen_port);
    }
    if d.fwmark != 0 {
        let _ = writeln!(s, "  fwmark: 0x{:x}", d.fwmark);
    }
    let mut peers: Vec<_> = d.peers.iter().collect();
    peers.sort_by_key(|p| std::cmp::Reverse(p.last_handshake));
    for p in peers {
        let _ = writeln!(s, "\npeer: {}", p.public_key.to_base64());
        if p.preshared_key.is_some() {
            let _ = writeln!(s, "  preshared key: (hidden)");
        }
        if let Some(e) = p.endpoint {
            let _ = writeln!(s, "  endpoint: {e}");
        }
        let ips = if p.allowed_ips.is_empty() {
            "(none)".to_string()
        } else {
            p.allowed_ips.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
        };
        let _ = writeln!(s, "  allowed ips: {ips}");
        if let Some(h) = p.last_handshake {
            let _ = writeln!(s, "  latest handshake: {}", ago(now.saturating_sub(h)));
        }
        if p.rx_bytes != 0 || p.tx_bytes != 0 {
            let _ = writeln!(s, "  transfer: {} received, {} sent", bytes(p.rx_bytes), bytes(p.tx_bytes));
        }
        if p.persistent_keepalive != 0 {
            let _ = writeln!(s, "  persistent keepalive: every {}", units(u64::from(p.persistent_keepalive)));
        }
    }
    s
}

fn plural(n: u64, unit: &str) -> String {
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// `1 minute, 2 seconds`
fn units(mut secs: u64) -> String {
    if secs == 0 {
        return "0 seconds".into();
    }
    let mut parts = Vec::new();
    for (len, name) in [(365 * 86400, "year"), (86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")] {
        if secs >= len {
            parts.push(plural(secs / len, name));
            secs %= len;
        }
    }
    parts.join(", ")
}

pub(crate) fn ago(d: Duration) -> String {
    if d.as_secs() == 0 { "Now".into() } else { format!("{} ago", units(d.as_secs())) }
}

pub(crate) fn bytes(b: u64) -> String {
    let f = b as f64;
    if b < 1024 {
        format!("{b} B")
    } else if b < 1024 * 1024 {
        format!("{:.2} KiB", f / 1024.0)
    } else if b < 1024 * 1024 * 1024 {
        format!("{:.2} MiB", f / (1024.0 * 1024.0))
    } else if b < 1024u64.pow(4) {
        format!("{:.2} GiB", f / 1024f64.powi(3))
    } else {
        format!("{:.2} TiB", f / 1024f64.powi(4))
    }
}

pub(crate) fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            // C0, DEL and C1 (a terminal reads U+009B as an escape sequence's start).
            c if c.is_control() => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// JSON for scripts. Field names are stable (documented in the man page); keys are
/// never included except public keys.
pub(crate) fn render_json(devs: &[DeviceState]) -> String {
    let mut s = String::from("[");
    for (i, d) in devs.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            "\n  {{\"interface\": {}, \"public_key\": {}, \"listen_port\": {}, \"fwmark\": {}, \"peers\": [",
            json_str(&d.name),
            d.public_key.map(|k| json_str(&k.to_base64())).unwrap_or_else(|| "null".into()),
            d.listen_port,
            d.fwmark
        );
        for (j, p) in d.peers.iter().enumerate() {
            if j > 0 {
                s.push(',');
            }
            let ips: Vec<String> = p.allowed_ips.iter().map(|a| json_str(&a.to_string())).collect();
            let _ = write!(
                s,
                "\n    {{\"public_key\": {}, \"preshared_key\": {}, \"endpoint\": {}, \"allowed_ips\": [{}], \
                 \"latest_handshake\": {}, \"rx_bytes\": {}, \"tx_bytes\": {}, \"persistent_keepalive\": {}}}",
                json_str(&p.public_key.to_base64()),
                p.preshared_key.is_some(),
                p.endpoint.map(|e| json_str(&e.to_string())).unwrap_or_else(|| "null".into()),
                ips.join(", "),
                p.last_handshake.map(|h| h.as_secs()).unwrap_or(0),
                p.rx_bytes,
                p.tx_bytes,
                p.persistent_keepalive
            );
        }
        if !d.peers.is_empty() {
            s.push_str("\n  ");
        }
        s.push_str("]}");
    }
    if !devs.is_empty() {
        s.push('\n');
    }
    s.push_str("]\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::PeerState;
    use crate::key::Key;
    use crate::net::IpNet;

    fn dev() -> DeviceState {
        DeviceState {
            name: "wg0".into(),
            private_key: Some(crate::key::SecretKey::from_bytes([1; 32])),
            public_key: Some(Key([1; 32]).public_key()),
            listen_port: 51820,
            fwmark: 0xca6c,
            peers: vec![PeerState {
                public_key: Key([2; 32]),
                preshared_key: Some(crate::key::SecretKey::from_bytes([3; 32])),
                endpoint: Some("192.0.2.1:51820".parse().unwrap()),
                persistent_keepalive: 25,
                last_handshake: Some(Duration::from_secs(1000)),
                rx_bytes: 1536,
                tx_bytes: 100,
                allowed_ips: vec![IpNet::parse("10.0.0.2/32").unwrap()],
            }],
        }
    }

    #[test]
    fn control_characters_of_a_name_are_escaped() {
        let d = DeviceState { name: "x\x1b]0;pwned\x07\u{9b}2J\x7f".into(), ..dev() };
        let p = render_pretty(&d, Duration::from_secs(1062));
        assert!(p.starts_with("interface: x\\u{1b}]0;pwned\\u{7}\\u{9b}2J\\u{7f}\n"), "{p}");
        let j = render_json(std::slice::from_ref(&d));
        assert!(j.contains("\"interface\": \"x\\u001b]0;pwned\\u0007\\u009b2J\\u007f\""), "{j}");
        for out in [p, j] {
            assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        }
    }

    #[test]
    fn pretty_layout() {
        let s = render_pretty(&dev(), Duration::from_secs(1062));
        assert!(s.starts_with("interface: wg0\n  public key: "));
        assert!(s.contains("  private key: (hidden)\n  listening port: 51820\n  fwmark: 0xca6c\n\npeer: "));
        assert!(s.contains("  latest handshake: 1 minute, 2 seconds ago\n"));
        assert!(s.contains("  transfer: 1.50 KiB received, 100 B sent\n"));
        assert!(s.contains("  persistent keepalive: every 25 seconds\n"));
        assert!(!s.contains(&Key([3; 32]).to_base64()), "preshared key must not be shown");
        assert!(!s.contains(&Key([1; 32]).to_base64()), "private key must not be shown");
    }

    #[test]
    fn json_is_stable_and_keyless() {
        let s = render_json(&[dev()]);
        assert!(s.contains("\"interface\": \"wg0\""));
        assert!(s.contains("\"endpoint\": \"192.0.2.1:51820\""));
        assert!(s.contains("\"allowed_ips\": [\"10.0.0.2/32\"]"));
        assert!(s.contains("\"preshared_key\": true"));
        assert!(!s.contains(&Key([3; 32]).to_base64()));
        assert_eq!(render_json(&[]), "[]\n");
    }
}
