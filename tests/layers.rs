//! The layers of docs/architecture.md: every file of src/ uses only its own layer and the
//! ones below it (a file may use its own folder's siblings; nothing below uses anything above).

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

#[test]
fn no_layer_uses_one_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut bad = Vec::new();
    for p in &all {
        let rel = p.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        let top = rel.split('/').next().unwrap().trim_end_matches(".rs");
        let Some(mine) = rank(top) else { continue };
        let text = std::fs::read_to_string(p).unwrap();
        // Unit tests may reach anywhere.
        let code = text.split("#[cfg(test)]").next().unwrap();
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
    }
    bad.sort();
    bad.dedup();
    assert!(bad.is_empty(), "layer violations:\n{}", bad.join("\n"));
    assert!(all.len() > 30, "read only {} files", all.len());
}
