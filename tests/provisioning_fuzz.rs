//! A bounded fuzz run of provisioning's value parsers (durations, dates, addresses, DNS
//! lists, endpoints, keys, names, notes) and of the block editor with overlapping and
//! repeated selections, which CI always executes (the cargo-fuzz targets `value_parsers`
//! and `editor` in fuzz/ run the same invariants for longer). WGQ_FUZZ_SECONDS sets the
//! duration of each (default 10 s); the seed is printed for replay (WGQ_FUZZ_SEED).

mod common;

use std::time::{Duration, Instant};

use common::Rng;

const PIECES: &[&str] = &[
    "+",
    "30",
    "d",
    "h",
    "w",
    "y",
    "2027-03-01",
    "T12:00:00Z",
    "2000-02-29",
    "-",
    ":",
    "::",
    "[",
    "]",
    "%",
    "eth0",
    "fe80::1",
    "2001:db8::1",
    "10.0.0.1",
    "/24",
    "/33",
    "/",
    ",",
    " ",
    "\n",
    "\r",
    "\0",
    "#",
    "=",
    "[Peer]",
    "é",
    "\u{1F600}",
    "\u{1b}[2J",
    "\u{9b}",
    "vpn.example.org",
    "51820",
    "99999",
    "none",
    "never",
    "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",
    "0",
    "1.1.1.1",
    "corp.example",
    "PostUp = x",
    "\t",
    "a",
    "Z",
    ".",
    "_",
];

const LINES: &[&str] = &[
    "[Interface]",
    "[Peer]",
    "#- [Peer]",
    "#-",
    "#- # Name = a",
    "# Name = b",
    "# Expires = 2001-01-01",
    "# Note = n",
    "",
    "PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
    "AllowedIPs = 10.0.0.2/32",
    "#[disabled] [Peer]",
    "#[disabled] PublicKey = x",
    "### begin p ###",
    "### end p ###",
    "#[disabled] ### begin q ###",
    "# BEGIN_PEER n",
    "# END_PEER n",
    "### Client c d",
    "# Client: e (1)",
    "PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",
    "# ClientDNS = 1.1.1.1",
    "Address = 10.0.0.1/24",
    "#-[Peer]",
    "[ peer ]",
    "\u{1b}[2J",
    "é",
];

fn seed() -> u64 {
    common::fuzz_seed()
}

fn secs() -> u64 {
    common::fuzz_secs(10)
}

#[test]
fn value_parsers_survive_random_values() {
    let seed = seed();
    eprintln!("value fuzz: seed {seed}, {} s", secs());
    let mut r = Rng(seed);
    let end = Instant::now() + Duration::from_secs(secs());
    let mut n = 0u64;
    while Instant::now() < end {
        for _ in 0..200 {
            let mut v = Vec::new();
            for _ in 0..r.next() % 8 {
                if r.next().is_multiple_of(6) {
                    v.push((r.next() & 0xff) as u8);
                } else {
                    v.extend_from_slice(r.pick(PIECES).as_bytes());
                }
            }
            wgq::fuzzing::check_value_parsers(&v);
            n += 1;
        }
    }
    wgq::fuzzing::check_value_parsers("A".repeat(100_000).as_bytes());
    eprintln!("value fuzz: {n} inputs");
    assert!(n > 1000, "fuzz loop ran only {n} inputs");
}

#[test]
fn the_editor_survives_overlapping_and_repeated_selections() {
    let seed = seed();
    eprintln!("editor fuzz: seed {seed}, {} s", secs());
    let mut r = Rng(seed);
    let end = Instant::now() + Duration::from_secs(secs());
    let mut n = 0u64;
    while Instant::now() < end {
        for _ in 0..100 {
            let mut v: Vec<u8> = (0..8).map(|_| (r.next() & 0xff) as u8).collect();
            for _ in 0..r.next() % 30 {
                v.extend_from_slice(r.pick(LINES).as_bytes());
                v.extend_from_slice(if r.next().is_multiple_of(5) { b"\r\n" } else { b"\n" });
            }
            if r.next().is_multiple_of(3) {
                v.pop();
            }
            wgq::fuzzing::check_editor(&v);
            n += 1;
        }
    }
    eprintln!("editor fuzz: {n} inputs");
    assert!(n > 1000, "fuzz loop ran only {n} inputs");
}

/// Values a backup's fields take in the backup fuzz: good ones, wrong types, hostile text.
const BACKUP_VALUES: &[&str] = &[
    "\"10.8.0.3\"",
    "\"10.8.0.4\"",
    "\"10.8.0.1\"",
    "\"10.9.0.3\"",
    "\"fd08::3\"",
    "\"fd08::1\"",
    "\"2001:db8::1\"",
    "\"phone\"",
    "\"Zoë's phone <b>\"",
    "\"a\\r\\nPostUp = reboot\"",
    "\" padded \"",
    "\"\"",
    "\"张伟的手机\"",
    "\"wg0\"",
    "\"..\"",
    "\"old\"",
    "\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"",
    "\"TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=\"",
    "\"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\"",
    "\"AAAA\"",
    "\"2024-01-01T10:00:00.000Z\"",
    "\"2030-02-30T00:00:00Z\"",
    "null",
    "true",
    "false",
    "5",
    "51999",
    "[]",
    "{}",
];

/// `good`, or (one time in four) one of [`BACKUP_VALUES`].
fn pick_or(r: &mut Rng, good: &str) -> String {
    if r.next().is_multiple_of(4) { r.pick(BACKUP_VALUES).to_string() } else { good.to_string() }
}

#[test]
fn restores_of_random_backups_make_valid_files() {
    let seed = seed();
    eprintln!("backup fuzz: seed {seed}, {} s", secs());
    let mut r = Rng(seed);
    let end = Instant::now() + Duration::from_secs(secs());
    let (mut n, mut accepted) = (0u64, 0u64);
    let keys = ["privateKey", "publicKey", "preSharedKey", "name", "address", "addressV6", "enabled", "createdAt", "expiredAt"];
    while Instant::now() < end {
        for _ in 0..50 {
            let server = format!(
                "{{\"privateKey\":{},\"address\":{},\"listenPort\":{}}}",
                pick_or(&mut r, "\"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\""),
                pick_or(&mut r, "\"10.8.0.1\""),
                pick_or(&mut r, "51820")
            );
            let mut clients = Vec::new();
            for (i, (pk, addr, name)) in [
                ("\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"", "\"10.8.0.2\"", "\"old\""),
                ("\"TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=\"", "\"10.8.0.5\"", "\"Zoë\""),
            ]
            .into_iter()
            .enumerate()
            {
                let mut fields = vec![
                    format!("\"publicKey\":{}", pick_or(&mut r, pk)),
                    format!("\"address\":{}", pick_or(&mut r, addr)),
                    format!("\"name\":{}", pick_or(&mut r, name)),
                    format!("\"enabled\":{}", pick_or(&mut r, "true")),
                ];
                for _ in 0..r.next() % 3 {
                    let k = r.pick(&keys);
                    let v = r.pick(BACKUP_VALUES).to_string();
                    fields.push(format!("\"{k}\":{v}"));
                }
                clients.push(format!("\"c{i}\":{{{}}}", fields.join(",")));
            }
            let text = format!("{{\"server\":{server},\"clients\":{{{}}}}}", clients.join(","));
            if wgq::provision::restore::parse_backup(text.as_bytes()).is_ok() {
                accepted += 1;
            }
            wgq::fuzzing::check_backup(text.as_bytes());
            // And cut anywhere.
            let cut = (r.next() as usize) % text.len();
            wgq::fuzzing::check_backup(&text.as_bytes()[..cut]);
            n += 1;
        }
    }
    eprintln!("backup fuzz: {n} backups, {accepted} accepted");
    assert!(n > 200 && accepted > 10, "fuzz loop ran {n} backups, {accepted} accepted");
}
