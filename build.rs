//! Passes the target triple to the build (`wgq --version` prints it), and lists the web
//! page's files (`web/`) for `src/web/assets.rs`: every file under web/ is embedded, and
//! `/i18n/index.json` lists the languages found in web/i18n/, so adding a language is
//! adding one file.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=WGQ_TARGET={target}");
    web_assets();
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            println!("cargo:rerun-if-changed={}", p.display());
            out.push(p);
        }
    }
}

/// The raw JSON string literal of `"language.name"` in a language file (it is copied as
/// it is written: already valid JSON); the code when there is none.
fn language_name(text: &str, code: &str) -> String {
    let key = "\"language.name\"";
    if let Some(i) = text.find(key) {
        let rest = text[i + key.len()..].trim_start();
        if let Some(rest) = rest.strip_prefix(':') {
            let rest = rest.trim_start();
            if let Some(body) = rest.strip_prefix('"') {
                let mut end = None;
                let mut escaped = false;
                for (j, c) in body.char_indices() {
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => {
                            end = Some(j);
                            break;
                        }
                        _ => {}
                    }
                }
                if let Some(j) = end {
                    return body[..j].to_string();
                }
            }
        }
    }
    code.to_string()
}

fn web_assets() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("web");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut table = String::from("&[\n");
    let mut langs = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        // Only plain names reach the table (no hidden files, editor backups or odd bytes).
        if rel.split('/').any(|s| s.starts_with('.') || s.ends_with('~'))
            || !rel.chars().all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
        {
            continue;
        }
        writeln!(table, "    ({:?}, include_bytes!({:?}) as &[u8]),", format!("/{rel}"), f.display().to_string()).unwrap();
        if let Some(code) = rel.strip_prefix("i18n/").and_then(|r| r.strip_suffix(".json"))
            && code != "index"
        {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            langs.push(format!("{{\"code\":{:?},\"name\":\"{}\"}}", code, language_name(&text, code)));
        }
    }
    table.push(']');
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out.join("web_assets.rs"), table).unwrap();
    std::fs::write(out.join("web_languages.json"), format!("[{}]", langs.join(","))).unwrap();
}
