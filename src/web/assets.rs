//! The web page's files, embedded in the binary (build.rs lists every file under `web/`):
//! nothing is fetched at run time and nothing is read from the disk. Only the exact paths
//! of the table exist, so no request path can reach anything else.

/// Every file of `web/`, by its path under `/` (`/app.js`, `/i18n/en.json`, …).
const FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// `[{"code": "en", "name": "English"}, …]`: the languages of web/i18n/ (build.rs).
const LANGUAGES: &str = include_str!(concat!(env!("OUT_DIR"), "/web_languages.json"));

/// The content type of a file, by its extension; text types carry their charset.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, e)| e) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json; charset=utf-8",
        Some("svg") => "image/svg+xml; charset=utf-8",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The bytes and content type of the page's file at `path` (`/` is `/index.html`; a query
/// string is ignored), or None.
pub fn get(path: &str) -> Option<(&'static [u8], &'static str)> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let path = if path == "/" || path.is_empty() { "/index.html" } else { path };
    if path == "/i18n/index.json" {
        return Some((LANGUAGES.as_bytes(), content_type(path)));
    }
    FILES.iter().find(|(p, _)| *p == path).map(|(p, b)| (*b, content_type(p)))
}

/// The paths of every embedded file (for the server's listing in tests and docs).
pub fn paths() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(p, _)| *p).chain(std::iter::once("/i18n/index.json"))
}

/// Whether the page has a language file for `code` (wg-easy's codes: `en`, `chs`, …).
pub fn has_language(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 16
        && FILES.iter().any(|(p, _)| p.strip_prefix("/i18n/").and_then(|r| r.strip_suffix(".json")) == Some(code))
}

/// The language code of a browser's language tag (`zh-CN` → `chs`, `en-GB` → `en`), among
/// the page's languages.
fn code_of_tag(tag: &str) -> Option<String> {
    let t = tag.trim().to_ascii_lowercase().replace('_', "-");
    let alias = |t: &str| -> Option<&'static str> {
        Some(match t {
            "zh" | "zh-cn" | "zh-sg" | "zh-my" | "zh-hans" | "zh-hans-cn" => "chs",
            "zh-tw" | "zh-hk" | "zh-mo" | "zh-hant" | "zh-hant-tw" => "cht",
            "uk" => "ua",
            "nb" | "nn" => "no",
            _ => return None,
        })
    };
    let primary = t.split('-').next().unwrap_or("");
    [Some(t.as_str()), alias(&t), Some(primary), alias(primary)]
        .into_iter()
        .flatten()
        .find(|c| has_language(c))
        .map(str::to_string)
}

/// The page's language (what `GET /api/lang` answers), by issue 24's rule: `LANG` when it
/// is one of wg-easy's codes (`lang` is `(code, true)`) and the page has it; else the best
/// language of the browser's Accept-Language the page has; else `LANG` read from a POSIX
/// locale (`(code, false)`: `zh_CN.UTF-8` → `chs`); else English.
pub fn language(lang: Option<(&str, bool)>, accept_language: Option<&str>) -> String {
    if let Some((code, true)) = lang
        && has_language(code)
    {
        return code.to_string();
    }
    if let Some(al) = accept_language {
        // `tag;q=0.8` items, best first (a stable sort keeps the browser's order on ties);
        // bounded: a header of hundreds of items is cut.
        let mut items: Vec<(u32, &str)> = al
            .split(',')
            .take(32)
            .filter_map(|item| {
                let mut parts = item.split(';');
                let tag = parts.next()?.trim();
                let q = parts.find_map(|p| p.trim().strip_prefix("q=")).map_or(Some(1000), |q| {
                    q.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)).map(|q| (q * 1000.0) as u32)
                })?;
                (q > 0 && !tag.is_empty() && tag != "*").then_some((q, tag))
            })
            .collect();
        items.sort_by_key(|i| std::cmp::Reverse(i.0));
        if let Some(code) = items.iter().find_map(|(_, tag)| code_of_tag(tag)) {
            return code;
        }
    }
    if let Some((code, false)) = lang
        && has_language(code)
    {
        return code.to_string();
    }
    "en".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn text(path: &str) -> &'static str {
        std::str::from_utf8(get(path).unwrap_or_else(|| panic!("{path} missing")).0).unwrap()
    }

    /// A flat JSON object of strings (the language files' shape): key → value.
    fn flat_json(s: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut chars = s.trim().chars().peekable();
        assert_eq!(chars.next(), Some('{'));
        let string = |chars: &mut std::iter::Peekable<std::str::Chars>| -> String {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            assert_eq!(chars.next(), Some('"'), "a string expected");
            let mut v = String::new();
            loop {
                match chars.next().expect("unterminated string") {
                    '"' => return v,
                    '\\' => match chars.next().unwrap() {
                        'n' => v.push('\n'),
                        'u' => {
                            let h: String = (0..4).map(|_| chars.next().unwrap()).collect();
                            v.push(char::from_u32(u32::from_str_radix(&h, 16).unwrap()).unwrap());
                        }
                        c => v.push(c),
                    },
                    c => {
                        assert!(c >= ' ', "a control character in a string");
                        v.push(c)
                    }
                }
            }
        };
        loop {
            let k = string(&mut chars);
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            assert_eq!(chars.next(), Some(':'));
            let v = string(&mut chars);
            assert!(out.insert(k.clone(), v).is_none(), "{k} twice");
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            match chars.next() {
                Some(',') => continue,
                Some('}') => break,
                c => panic!("unexpected {c:?}"),
            }
        }
        out
    }

    #[test]
    fn the_language_follows_lang_then_the_browser() {
        assert!(has_language("en") && has_language("chs") && !has_language("") && !has_language("../en") && !has_language("xx"));
        // A wg-easy code wins over the browser.
        assert_eq!(language(Some(("chs", true)), Some("en-US,en;q=0.9")), "chs");
        assert_eq!(language(Some(("en", true)), Some("zh-CN,zh;q=0.9")), "en");
        // One the page lacks does not: the browser's, then English.
        assert_eq!(language(Some(("de", true)), Some("zh-CN")), "chs");
        assert_eq!(language(Some(("de", true)), None), "en");
        // A POSIX locale loses to the browser, and is used without one.
        assert_eq!(language(Some(("chs", false)), Some("en-US,en;q=0.9")), "en");
        assert_eq!(language(Some(("chs", false)), Some("fr-FR")), "chs");
        assert_eq!(language(Some(("chs", false)), None), "chs");
        assert_eq!(language(None, None), "en");
        // Tags and weights.
        assert_eq!(language(None, Some("zh-Hans-CN")), "chs");
        assert_eq!(language(None, Some("zh_SG")), "chs");
        assert_eq!(language(None, Some("fr;q=0.9, zh-CN;q=0.8, en;q=0.7")), "chs");
        assert_eq!(language(None, Some("en;q=0.2, zh;q=0.5")), "chs");
        assert_eq!(language(None, Some("zh;q=0, en-GB")), "en");
        assert_eq!(language(None, Some("*, zh-TW")), "chs", "without cht, Chinese script before English");
        for hostile in ["", ",,,", ";q=1", "zh;q=abc", "zh;q=2", &"x,".repeat(10_000), "\u{0}", "zh-CN;q=NaN"] {
            assert_eq!(language(None, Some(hostile)), "en", "{hostile:?}");
        }
    }

    /// The `{name}` placeholders of a message.
    fn placeholders(s: &str) -> Vec<&str> {
        let mut v: Vec<&str> = s.split('{').skip(1).filter_map(|p| p.split_once('}').map(|(n, _)| n)).collect();
        v.sort();
        v
    }

    #[test]
    fn the_page_and_its_files_are_served_with_their_types() {
        let (html, ty) = get("/").unwrap();
        assert_eq!(ty, "text/html; charset=utf-8");
        assert_eq!(get("/index.html").unwrap().0, html);
        assert_eq!(get("/?x=1").unwrap().0, html);
        assert_eq!(get("/app.js").unwrap().1, "text/javascript; charset=utf-8");
        assert_eq!(get("/app.css").unwrap().1, "text/css; charset=utf-8");
        assert_eq!(get("/i18n/en.json").unwrap().1, "application/json; charset=utf-8");
        assert_eq!(get("/icon.svg").unwrap().1, "image/svg+xml; charset=utf-8");
        for bad in ["/../Cargo.toml", "/app.js/", "//app.js", "/web/app.js", "/i18n", "/nope", "app.js", "/APP.JS", "/app.js%00"]
        {
            assert!(get(bad).is_none(), "{bad} served");
        }
        assert!(paths().any(|p| p == "/i18n/chs.json"));
    }

    #[test]
    fn every_language_has_every_key_and_the_same_placeholders() {
        let en = flat_json(text("/i18n/en.json"));
        let langs = text("/i18n/index.json");
        let mut n = 0;
        for code in langs.split("\"code\":\"").skip(1).map(|s| s.split('"').next().unwrap()) {
            n += 1;
            let l = flat_json(text(&format!("/i18n/{code}.json")));
            let missing: Vec<_> = en.keys().filter(|k| !l.contains_key(*k)).collect();
            let extra: Vec<_> = l.keys().filter(|k| !en.contains_key(*k)).collect();
            assert!(missing.is_empty() && extra.is_empty(), "{code}: missing {missing:?}, unknown {extra:?}");
            for (k, v) in &en {
                assert_eq!(placeholders(v), placeholders(&l[k]), "{code}: {k}");
                assert!(!l[k].trim().is_empty(), "{code}: {k} is empty");
            }
        }
        assert!(n >= 2, "languages: {langs}");
        assert!(langs.contains("{\"code\":\"chs\",\"name\":\"简体中文\"}"), "{langs}");
    }

    /// Every key the page uses (`data-i18n…="key"` in the HTML, `i18n("key"` in the script)
    /// is in en.json, and en.json has no key nothing uses.
    #[test]
    fn the_page_uses_exactly_the_keys_of_the_language_files() {
        let en = flat_json(text("/i18n/en.json"));
        let html = text("/index.html");
        let js = text("/app.js");
        let mut used = std::collections::BTreeSet::new();
        for part in html.split("data-i18n").skip(1) {
            let v = part.split_once("=\"").unwrap().1.split('"').next().unwrap();
            used.insert(v.to_string());
        }
        for part in js.split("i18n(\"").skip(1) {
            used.insert(part.split('"').next().unwrap().to_string());
        }
        let missing: Vec<_> = used.iter().filter(|k| !en.contains_key(*k)).collect();
        assert!(missing.is_empty(), "used but not in en.json: {missing:?}");
        let unused: Vec<_> = en.keys().filter(|k| !used.contains(*k) && *k != "language.name").collect();
        assert!(unused.is_empty(), "in en.json but unused: {unused:?}");
    }

    /// The page runs under `script-src 'self'; style-src 'self'`: no inline script, no
    /// event handler or style attribute, and the script builds the page with textContent
    /// and DOM calls only.
    #[test]
    fn nothing_inline_and_nothing_parsed_as_html() {
        let html = text("/index.html");
        let lower = html.to_ascii_lowercase();
        assert!(lower.starts_with("<!doctype html>"));
        assert!(lower.contains("<meta charset=\"utf-8\">"));
        for s in lower.split("<script").skip(1) {
            let tag = s.split('>').next().unwrap();
            assert!(tag.contains(" src="), "inline script: <script{tag}>");
            assert!(s.split_once('>').unwrap().1.starts_with("</script>"), "script with a body");
        }
        assert!(!lower.contains("<style"), "inline style element");
        assert!(!lower.contains(" style="), "style attribute");
        for w in lower.split(|c: char| c.is_whitespace()).skip(1) {
            assert!(!(w.starts_with("on") && w.contains('=')), "event handler attribute {w}");
        }
        assert!(!lower.contains("javascript:"));
        for remote in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
            assert!(!lower.contains(remote), "remote asset: {remote}");
        }
        let js = text("/app.js");
        for bad in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "setAttribute(\"style\"",
            ".onclick",
            "fetch(\"http",
            "from \"http",
            "import(\"http",
        ] {
            assert!(!js.contains(bad), "app.js uses {bad}");
        }
        let css = text("/app.css");
        assert!(!css.contains("@import") && !css.contains("url(http"), "remote CSS");
    }
}
