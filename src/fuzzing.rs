//! Invariants shared by the cargo-fuzz target and the bounded in-tree fuzz test.

use std::path::Path;

/// Parses arbitrary bytes; for accepted input, checks invariants and plans `up`.
pub fn check_config_bytes(data: &[u8]) {
    let path = Path::new("/fuzz/wg0.conf");
    let full = crate::config::parse(data, path);
    // What `up` parses is the same config without the stripped text, or the same errors.
    let unstripped = crate::config::parse_unstripped(data, path);
    match (&full, &unstripped) {
        (Ok(a), Ok(b)) => assert_eq!(crate::config::Config { stripped: Default::default(), ..a.clone() }, *b),
        (Err(a), Err(b)) => assert_eq!(a.0, b.0),
        _ => panic!("parse and parse_unstripped disagree"),
    }
    let Ok(cfg) = full else { return };
    // Every stripped line is an input line (trimmed of spaces and tabs).
    let input: std::collections::HashSet<&[u8]> = data
        .split(|&b| b == b'\n')
        .map(|l| {
            let s = l.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(l.len());
            let e = l.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(s, |e| e + 1);
            &l[s..e]
        })
        .collect();
    for l in cfg.stripped.0.split(|&b| b == b'\n') {
        assert!(l.is_empty() || input.contains(l), "stripped line not in input");
    }
    // Planning an accepted config never panics.
    let facts = crate::plan::UpFacts { nft_available: true, resolvconf_name: "wg0".into(), ..Default::default() };
    let _ = crate::plan::plan_up(&cfg, "wg0", &facts);
    let _ = crate::plan::plan_down(&cfg, "wg0", &crate::plan::DownFacts::default());
}
