//! The layers of docs/architecture.md: every file of src/ uses only its own layer and the
//! ones below it (a file may use its own folder's siblings; nothing below uses anything above),
//! the whole file read, its unit tests included.

use std::path::Path;

/// Lower number = higher layer.
const LAYERS: &[(&str, u8)] = &[
    ("frontend", 0),
    ("commands", 1),
    ("web", 2),
    ("provision", 3),
    ("system", 4),
    ("plan", 5),
    ("device", 6),
    ("wire", 7),
    ("os", 8),
    ("config", 8),
    ("key", 9),
    ("net", 9),
];

/// Layers of one rank that may use each other (the leaves: os and config, key and net).
const SHARED_FROM: u8 = 8;

fn rank(m: &str) -> Option<u8> {
    LAYERS.iter().find(|(n, _)| *n == m).map(|(_, r)| *r)
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The uses of a layer above its own in `code`, the text of the file `rel` (relative to src/).
fn violations(rel: &str, code: &str) -> Vec<String> {
    let top = rel.split('/').next().unwrap().trim_end_matches(".rs");
    let Some(mine) = rank(top) else { return Vec::new() };
    let mut bad = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let name: String = code[i + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if let Some(theirs) = rank(&name)
            && name != top
            && theirs <= mine
            && !(theirs == mine && mine >= SHARED_FROM)
        {
            bad.push(format!("{rel} uses crate::{name}"));
        }
    }
    bad
}

#[test]
fn no_layer_uses_one_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut bad = Vec::new();
    for p in &all {
        let rel = p.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        // The whole file, unit tests included: a `#[cfg(test)]` item may stand before
        // more code, and a unit test is held to its layer too.
        bad.extend(violations(&rel, &std::fs::read_to_string(p).unwrap()));
    }
    bad.sort();
    bad.dedup();
    assert!(bad.is_empty(), "layer violations:\n{}", bad.join("\n"));
    assert!(all.len() > 30, "read only {} files", all.len());
}

#[test]
fn code_after_a_test_item_and_unit_tests_are_checked() {
    let file = "#[cfg(test)]\nfn helper() {}\n\npub fn f() { crate::plan::x(); }\n\n#[cfg(test)]\nmod tests {\n    fn t() { crate::system::y(); }\n}\n";
    assert_eq!(violations("device/x.rs", file), ["device/x.rs uses crate::plan", "device/x.rs uses crate::system"]);
    // Its own folder, and a layer below, are fine.
    assert!(violations("device/x.rs", "crate::device::a(); crate::wire::b(); crate::key::Key").is_empty());
}
