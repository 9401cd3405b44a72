//! A bounded, structure-aware fuzz run of the config parser that CI always executes
//! (the cargo-fuzz target in fuzz/ runs the same invariants for longer).
//! WGQ_FUZZ_SECONDS sets the duration (default 20 s); the seed is printed for replay
//! (WGQ_FUZZ_SEED).

mod common;

use std::time::{Duration, Instant};

use common::Rng;

const KEYS: &[&str] = &[
    "[Interface]",
    "[Peer]",
    "[interface]",
    "[ Interface ]",
    "[Bogus]",
    "PrivateKey",
    "ListenPort",
    "FwMark",
    "Address",
    "DNS",
    "MTU",
    "Table",
    "PreUp",
    "PostUp",
    "PreDown",
    "PostDown",
    "SaveConfig",
    "PublicKey",
    "PresharedKey",
    "AllowedIPs",
    "Endpoint",
    "PersistentKeepalive",
    "Allowed IPs",
    "#",
    "",
];
const VALUES: &[&str] = &[
    "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",
    "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
    "abc",
    "51820",
    "70000",
    "0x1234",
    "off",
    "10.0.0.1/24",
    "fd00::1/64",
    "10.0.0.0/33",
    "0.0.0.0/0, ::/0",
    "1.1.1.1, example.com",
    "[2001:db8::1]:51820",
    "host.example:1",
    "[::1",
    "1.2.3.4:",
    "true",
    "TRUE",
    "yes",
    "echo %i && true # c",
    "auto",
    "main",
    "1234",
    "25",
    "65536",
    "",
    " , ,",
    "10.0.0.0/8,fd00::/8",
    "\u{4e2d}\u{6587}",
    "\r",
];

fn one_config(r: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    let lines = r.next() % 40;
    for _ in 0..lines {
        match r.next() % 10 {
            0 => {
                let n = r.next() % 30;
                for _ in 0..n {
                    out.push((r.next() & 0xff) as u8);
                }
            }
            1 => out.extend_from_slice(r.pick(KEYS).as_bytes()),
            _ => {
                out.extend_from_slice(r.pick(KEYS).as_bytes());
                out.extend_from_slice(if r.next().is_multiple_of(5) { b"=" } else { b" = " });
                out.extend_from_slice(r.pick(VALUES).as_bytes());
                if r.next().is_multiple_of(4) {
                    out.extend_from_slice(b" # comment");
                }
            }
        }
        out.extend_from_slice(if r.next().is_multiple_of(7) { b"\r\n" } else { b"\n" });
    }
    out
}

#[test]
fn parser_survives_random_configs() {
    let secs = common::fuzz_secs(20);
    let seed = common::fuzz_seed();
    eprintln!("config fuzz: seed {seed}, {secs} s");
    let mut r = Rng(seed);
    let end = Instant::now() + Duration::from_secs(secs);
    let mut n = 0u64;
    let mut accepted = 0u64;
    while Instant::now() < end {
        for _ in 0..200 {
            let c = one_config(&mut r);
            if wgq::config::parse(&c, std::path::Path::new("/f/wg0.conf")).is_ok() {
                accepted += 1;
            }
            wgq::fuzzing::check_config_bytes(&c);
            n += 1;
        }
    }
    eprintln!("config fuzz: {n} inputs, {accepted} accepted");
    assert!(n > 1000, "fuzz loop ran only {n} inputs");
    assert!(accepted > 0, "the generator never produced a valid config");
}
