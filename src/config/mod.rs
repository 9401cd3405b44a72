//! The wg-quick configuration file: a typed model, the parser (`parse`), the
//! stripped text for `wgq strip` and the advisory checks behind `wgq check`.
//!
//! Parsing is pure: it takes the file's bytes and its path (for messages) and
//! never touches the system. Hostnames in `Endpoint` are kept as written and
//! resolved later by the device layer.

pub mod check;
pub mod edit;
pub mod json;
pub mod locate;
pub mod parse;
pub mod peers;
pub mod save;
pub mod sqlite;
pub mod values;

use std::fmt;
use std::path::PathBuf;

use crate::key::{Key, SecretKey};
use crate::net::IpNet;

pub use parse::{parse, parse_interface_only, parse_unstripped};

/// One parsed configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file the config came from (the resolved path), for messages.
    pub path: PathBuf,
    pub interface: Interface,
    pub peers: Vec<Peer>,
    /// What `wg-quick strip` prints: every line wg-quick does not consume, as read,
    /// each followed by `\n` ([`parse`] only; empty from [`parse_unstripped`] and
    /// [`parse_interface_only`]). Contains the private key: never log it.
    pub stripped: StrippedText,
    /// Non-fatal findings of the parser (host bits set, ...), in line order.
    pub warnings: Vec<Diagnostic>,
}

/// The stripped config: every line wg-quick does not consume, as read (leading and
/// trailing spaces and tabs removed), each followed by `\n`. `wg-quick strip` prints this
/// followed by one more `\n`. Bytes, not text: comments may hold anything. A newtype so
/// that `Debug` never shows key material.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct StrippedText(pub Vec<u8>);

impl Drop for StrippedText {
    /// It holds the private key.
    fn drop(&mut self) {
        crate::key::wipe(&mut self.0);
    }
}

impl fmt::Debug for StrippedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StrippedText(<{} bytes>)", self.0.len())
    }
}

/// Settings of the `[Interface]` section(s), merged in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Interface {
    pub private_key: Option<SecretKey>,
    /// `ListenPort`; `None` when absent (the device then picks a random port).
    pub listen_port: Option<u16>,
    /// `FwMark`; `Some(0)` for an explicit `off`/`0`, `None` when absent.
    pub fwmark: Option<u32>,
    /// `Address` entries in config order, host bits kept (`10.0.0.1/24`).
    pub addresses: Vec<Located<IpNet>>,
    /// `DNS` entries that are nameservers, in config order.
    pub dns: Vec<std::net::IpAddr>,
    /// `DNS` entries that are search domains, in config order.
    pub dns_search: Vec<String>,
    /// `MTU`; `None` means automatic.
    pub mtu: Option<u32>,
    /// `Table`, as written (`None` when absent or empty).
    pub table: Option<Located<String>>,
    pub pre_up: Vec<Located<String>>,
    pub post_up: Vec<Located<String>>,
    pub pre_down: Vec<Located<String>>,
    pub post_down: Vec<Located<String>>,
    pub save_config: bool,
}

/// A value with the 1-based line it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub line: usize,
}

/// What `Table` means, following wg-quick's case-sensitive rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableSetting {
    /// Absent, empty or exactly `auto`: routes in main, default route via fwmark policy.
    Auto,
    /// Exactly `off`: no routes at all.
    Off,
    /// A number.
    Id(u32),
    /// A name (`main`, or one from rt_tables), resolved at plan time.
    Name(String),
}

impl Interface {
    /// Interprets `Table` the way wg-quick does.
    pub fn table_setting(&self) -> TableSetting {
        match self.table.as_ref().map(|t| t.value.as_str()) {
            None | Some("") | Some("auto") => TableSetting::Auto,
            Some("off") => TableSetting::Off,
            Some(s) => match parse_table_number(s) {
                // Table 0 is the kernel's "unspecified", which it files under main.
                Some(0) => TableSetting::Id(254),
                Some(n) => TableSetting::Id(n),
                None => TableSetting::Name(s.to_string()),
            },
        }
    }
}

/// A table number as iproute2 reads it (`strtoul` with base 0): `0x10` is 16, `010` is 8,
/// `10` is 10. `None` for anything else (a name) or a value above u32.
pub fn parse_table_number(s: &str) -> Option<u32> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(digits, radix).ok()
}

/// One `[Peer]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Line of the `[Peer]` header.
    pub line: usize,
    pub public_key: Key,
    pub preshared_key: Option<SecretKey>,
    /// As written, host bits kept; the kernel masks them.
    pub allowed_ips: Vec<IpNet>,
    pub endpoint: Option<Located<Endpoint>>,
    /// `PersistentKeepalive`; `Some(0)` for an explicit `off`/`0`.
    pub persistent_keepalive: Option<u16>,
}

/// An endpoint as written: host (IP literal, with optional `%zone`, or a name) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Severity of a diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// A finding about a config file, tied to a line (0 when it concerns the whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    /// `/etc/wireguard/wg0.conf:7: AllowedIPs: prefix length 33 is larger than 32`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = if self.severity == Severity::Warning { "warning: " } else { "" };
        if self.line == 0 {
            write!(f, "{}: {}{}", self.path.display(), sev, self.message)
        } else {
            write!(f, "{}:{}: {}{}", self.path.display(), self.line, sev, self.message)
        }
    }
}

/// All errors found in one file. Display prints one diagnostic per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseErrors(pub Vec<Diagnostic>);

impl fmt::Display for ParseErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_numbers_as_iproute2_reads_them() {
        let t = |v: &str| Interface { table: Some(Located { value: v.into(), line: 1 }), ..Default::default() }.table_setting();
        assert_eq!(t("010"), TableSetting::Id(8));
        assert_eq!(t("0x10"), TableSetting::Id(16));
        assert_eq!(t("1234"), TableSetting::Id(1234));
        assert_eq!(t("0"), TableSetting::Id(254), "table 0 is main");
        assert_eq!(t("main"), TableSetting::Name("main".into()));
        assert_eq!(t("09"), TableSetting::Name("09".into()));
        assert_eq!(parse_table_number("4294967296"), None);
    }
}
