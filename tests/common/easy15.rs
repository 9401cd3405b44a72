//! wg-easy 15's SQLite database, made with python3's sqlite3 module in wg-easy 15's schema
//! (its table and column names; this file's own SQL): for tests/wg_easy15.rs and the podman
//! test of a wg-easy 15 volume.

use std::path::Path;
use std::process::{Command, Stdio};

use wgq::key::SecretKey;

/// Makes `DIR/wg-easy.db` (and `DIR/wg-easy.db-wal` with `wal`) from the JSON on stdin.
pub const MAKE_DB: &str = r#"
import json, os, shutil, sqlite3, sys
spec = json.load(sys.stdin)
out = sys.argv[1]
work = os.path.join(out, "work.db")
con = sqlite3.connect(work, isolation_level=None)
con.execute("PRAGMA page_size = 512")
ddl = [
 """CREATE TABLE `users_table` (`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL, `username` text NOT NULL,
    `password` text, `email` text, `name` text NOT NULL, `role` integer NOT NULL, `totp_key` text,
    `totp_verified` integer NOT NULL, `enabled` integer NOT NULL, `oauth_provider` text, `oauth_id` text,
    `created_at` text DEFAULT (CURRENT_TIMESTAMP) NOT NULL, `updated_at` text DEFAULT (CURRENT_TIMESTAMP) NOT NULL)""",
 """CREATE TABLE `interfaces_table` (`name` text PRIMARY KEY NOT NULL, `device` text NOT NULL, `port` integer NOT NULL,
    `private_key` text NOT NULL, `public_key` text NOT NULL, `ipv4_cidr` text NOT NULL, `ipv6_cidr` text NOT NULL,
    `mtu` integer NOT NULL, `j_c` integer DEFAULT 7, `j_min` integer DEFAULT 10, `j_max` integer DEFAULT 1000,
    `s1` integer DEFAULT 128, `s2` integer DEFAULT 56, `s3` integer, `s4` integer, `h1` text, `h2` text, `h3` text,
    `h4` text, `i1` text, `i2` text, `i3` text, `i4` text, `i5` text, `enabled` integer NOT NULL,
    `created_at` text DEFAULT (CURRENT_TIMESTAMP) NOT NULL, `updated_at` text DEFAULT (CURRENT_TIMESTAMP) NOT NULL)""",
 """CREATE TABLE `hooks_table` (`id` text PRIMARY KEY NOT NULL, `pre_up` text NOT NULL, `post_up` text NOT NULL,
    `pre_down` text NOT NULL, `post_down` text NOT NULL, `created_at` text DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
    `updated_at` text DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
    FOREIGN KEY (`id`) REFERENCES `interfaces_table`(`name`) ON UPDATE cascade ON DELETE cascade)""",
 """CREATE TABLE `user_configs_table` (`id` text PRIMARY KEY NOT NULL, `default_mtu` integer NOT NULL,
    `default_persistent_keepalive` integer NOT NULL, `default_dns` text NOT NULL, `default_allowed_ips` text NOT NULL,
    `host` text NOT NULL, `port` integer NOT NULL, `created_at` text DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
    `updated_at` text DEFAULT (CURRENT_TIMESTAMP) NOT NULL)""",
 """CREATE TABLE `clients_table` (`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL, `user_id` integer NOT NULL,
    `interface_id` text NOT NULL, `name` text NOT NULL, `ipv4_address` text NOT NULL, `ipv6_address` text NOT NULL,
    `pre_up` text DEFAULT '' NOT NULL, `post_up` text DEFAULT '' NOT NULL, `pre_down` text DEFAULT '' NOT NULL,
    `post_down` text DEFAULT '' NOT NULL, `private_key` text NOT NULL, `public_key` text NOT NULL,
    `pre_shared_key` text NOT NULL, `expires_at` text, `allowed_ips` text, `server_allowed_ips` text NOT NULL,
    `persistent_keepalive` integer NOT NULL, `mtu` integer NOT NULL, `dns` text, `server_endpoint` text,
    `enabled` integer NOT NULL, `created_at` text DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
    `updated_at` text DEFAULT (CURRENT_TIMESTAMP) NOT NULL)""",
 "CREATE UNIQUE INDEX `clients_table_ipv4_address_unique` ON `clients_table` (`ipv4_address`)",
 "CREATE UNIQUE INDEX `clients_table_ipv6_address_unique` ON `clients_table` (`ipv6_address`)",
]
for s in ddl:
    con.execute(s)
i = spec["interface"]
con.execute("INSERT INTO users_table (username, password, name, role, totp_verified, enabled) VALUES ('admin', '$argon2id$x', 'Admin', 1, 0, 1)")
con.execute("INSERT INTO interfaces_table (name, device, port, private_key, public_key, ipv4_cidr, ipv6_cidr, mtu, enabled) VALUES ('wg0', ?, ?, ?, ?, ?, ?, ?, 1)",
            (i["device"], i["port"], i["private_key"], i["public_key"], i["ipv4_cidr"], i["ipv6_cidr"], i["mtu"]))
con.execute("INSERT INTO hooks_table (id, pre_up, post_up, pre_down, post_down) VALUES ('wg0', ?, ?, ?, ?)", tuple(spec["hooks"]))
u = spec["user_config"]
con.execute("INSERT INTO user_configs_table (id, default_mtu, default_persistent_keepalive, default_dns, default_allowed_ips, host, port) VALUES ('wg0', ?, ?, ?, ?, ?, ?)",
            (u["mtu"], u["keepalive"], json.dumps(u["dns"]), json.dumps(u["allowed_ips"]), u["host"], u["port"]))
def add(c):
    con.execute("""INSERT INTO clients_table (user_id, interface_id, name, ipv4_address, ipv6_address, private_key, public_key,
        pre_shared_key, expires_at, allowed_ips, server_allowed_ips, persistent_keepalive, mtu, dns, enabled, created_at,
        pre_up, server_endpoint)
        VALUES (1, 'wg0', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (c["name"], c["v4"], c["v6"], c["private_key"], c["public_key"], c["psk"], c.get("expires"),
         None if c.get("allowed_ips") is None else json.dumps(c["allowed_ips"]), json.dumps(c.get("routes", [])),
         c["keepalive"], c["mtu"], None if c.get("dns") is None else json.dumps(c["dns"]), c["enabled"], c["created"],
         c.get("pre_up", ""), c.get("server_endpoint")))
con.execute("BEGIN")
for c in spec["clients"][: spec["before_alter"]]:
    add(c)
con.execute("COMMIT")
# Later migrations add columns: rows written before them have none of their values.
con.execute("ALTER TABLE `clients_table` ADD `firewall_ips` text")
con.execute("ALTER TABLE `interfaces_table` ADD `firewall_enabled` integer DEFAULT false NOT NULL")
con.execute("ALTER TABLE `interfaces_table` ADD `routing_table` text DEFAULT 'auto' NOT NULL")
con.execute("BEGIN")
for c in spec["clients"][spec["before_alter"]:]:
    add(c)
con.execute("COMMIT")
dst = os.path.join(out, "wg-easy.db")
# The b-tree's shape, where SQLite has its dbstat table: interior and overflow pages.
try:
    shape = dict(con.execute("SELECT pagetype, count(*) FROM dbstat GROUP BY pagetype").fetchall())
    print(json.dumps(shape))
except sqlite3.Error:
    print("{}")
if spec["wal"]:
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA wal_autocheckpoint = 0")
    for c in spec["wal"]:
        con.execute("BEGIN")
        add(c)
        con.execute("COMMIT")
    # A killed wg-easy: the log is still there, never checkpointed.
    shutil.copyfile(work, dst)
    shutil.copyfile(work + "-wal", dst + "-wal")
    con.close()
else:
    con.close()
    shutil.copyfile(work, dst)
os.remove(work)
"#;

pub fn python_ready() -> bool {
    match Command::new("python3").args(["-c", "import sqlite3"]).output() {
        Ok(o) if o.status.success() => true,
        _ => {
            println!("skipped: python3 with its sqlite3 module is not installed");
            false
        }
    }
}

pub fn key(n: u32) -> SecretKey {
    let mut b = [0u8; 32];
    b[..4].copy_from_slice(&n.to_be_bytes());
    b[31] = 0x5a;
    SecretKey::from_bytes(b)
}

/// `s` as a JSON string.
pub fn q(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                o.push('\\');
                o.push(c);
            }
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

pub struct Spec {
    pub clients: Vec<String>,
    pub wal: Vec<String>,
}

pub const LONG: usize = 3000;

pub fn long_name() -> String {
    format!("Long {}", "ä".repeat(LONG))
}

/// Client `n` (10.8.0.n) as JSON; `extra` appended to its object.
pub fn client(n: u32, name: &str, enabled: bool, extra: &str) -> String {
    let k = key(n);
    format!(
        r#"{{"name": {}, "v4": "10.8.0.{n}", "v6": "fdcc:ad94:bacf:61a4::cafe:{n:x}", "private_key": "{}", "public_key": "{}",
           "psk": "{}", "keepalive": 0, "mtu": 1420, "enabled": {}, "created": "2024-01-05 08:{:02}:00"{extra}}}"#,
        q(name),
        k.to_base64(),
        k.public_key().to_base64(),
        key(1000 + n).to_base64(),
        if enabled { 1 } else { 0 },
        n % 60
    )
}

pub fn spec() -> Spec {
    let mut clients = vec![
        client(2, "Laptop", true, ""),
        client(3, "Zoë's phone ✓", false, ""),
        client(4, "expiring", true, r#", "expires": "2031-12-31T00:00:00.000Z""#),
        client(
            5,
            &long_name(),
            true,
            r#", "allowed_ips": ["10.8.0.0/24", "192.168.50.0/24"], "dns": ["9.9.9.9"], "keepalive": 15, "mtu": 1380, "routes": ["192.168.60.0/24"]"#,
        ),
        client(6, "no dns", true, r#", "dns": [], "pre_up": "echo hi", "server_endpoint": "198.51.100.7:51820""#),
    ];
    for n in 7..=160 {
        clients.push(client(n, &format!("client{n}"), n % 7 != 0, ""));
    }
    Spec { clients, wal: Vec::new() }
}

/// Makes the database; the count of its pages by kind (`internal`, `leaf`, `overflow`) where
/// python's SQLite can tell.
pub fn make_db(dir: &Path, s: &Spec) -> String {
    let server = key(1);
    let long_hook =
        (0..18).map(|i| format!("iptables -A FORWARD -i wg0 -s 10.9.{i}.0/24 -j ACCEPT")).collect::<Vec<_>>().join("; ");
    let json = format!(
        r#"{{"interface": {{"device": "eth0", "port": 51820, "private_key": "{}", "public_key": "{}", "ipv4_cidr": "10.8.0.0/24",
             "ipv6_cidr": "fdcc:ad94:bacf:61a4::cafe:0/112", "mtu": 1420}},
           "hooks": ["", "iptables -t nat -A POSTROUTING -s {{{{ipv4Cidr}}}} -o {{{{device}}}} -j MASQUERADE;\nip6tables -A INPUT -p udp --dport {{{{port}}}} -j ACCEPT;", {}, "iptables -t nat -D POSTROUTING -s {{{{ipv4Cidr}}}} -o {{{{device}}}} -j MASQUERADE"],
           "user_config": {{"mtu": 1420, "keepalive": 0, "dns": ["1.1.1.1", "2606:4700:4700::1111"], "allowed_ips": ["0.0.0.0/0", "::/0"], "host": "vpn.example.org", "port": 51820}},
           "clients": [{}], "before_alter": 3, "wal": [{}]}}"#,
        server.to_base64(),
        server.public_key().to_base64(),
        q(&long_hook),
        s.clients.join(","),
        s.wal.join(",")
    );
    let mut p = Command::new("python3")
        .args(["-c", MAKE_DB])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    p.stdin.take().unwrap().write_all(json.as_bytes()).unwrap();
    let o = p.wait_with_output().unwrap();
    assert!(o.status.success(), "python3: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}
