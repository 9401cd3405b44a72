//! The page's files, embedded in the binary. Placeholder until the page (branch `webui`)
//! replaces this file: an empty page.

const INDEX: &[u8] =
    b"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>wgq</title></head><body></body></html>\n";

/// The embedded file at `path` (`/` is the page), with its content type.
pub fn get(path: &str) -> Option<(&'static [u8], &'static str)> {
    match path {
        "/" | "/index.html" | "index.html" => Some((INDEX, "text/html; charset=utf-8")),
        _ => None,
    }
}
