//! Lossless editing of a wg-quick file: the file is read as lines (each keeping its own
//! terminator, `\n` or `\r\n`) grouped into blocks (`[Interface]`, `[Peer]`, and disabled
//! peers, whose every line is commented out with `#- `). An edit replaces the lines of one
//! block, or appends one; every other byte of the file is kept as it was.
//!
//! Pure: bytes in, bytes out. `peers` reads and writes the metadata comments of the blocks;
//! the commands write the result with `os::files::write_atomic` under the interface lock.

use std::ops::Range;

/// The prefix of every line of a disabled block (wg-meta's; wg-quick reads a comment).
pub const DISABLED_PREFIX: &str = "#- ";

/// One line of the file: `text` without its terminator, `end` past the terminator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub start: usize,
    /// End of the text (before `\r\n` or `\n`).
    pub text_end: usize,
    /// End of the line with its terminator.
    pub end: usize,
}

/// What a block's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Interface,
    Peer,
    /// Any other `[...]` header (wg-quick refuses it; kept as it is).
    Other,
}

/// A block: its header line and the lines that belong to it (`lines`, header included).
/// Blank lines and comments after the block's last line, when a blank line separates
/// them from it, belong to no block (they are usually a marker or a separator before the
/// next one) and are never touched by an edit of this block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub section: Section,
    /// Every line commented out with [`DISABLED_PREFIX`] (a disabled peer).
    pub disabled: bool,
    /// Line indices (into [`Document::lines`]) of the block, header first.
    pub lines: Range<usize>,
}

/// A parsed file: its bytes, its lines and its blocks.
#[derive(Debug, Clone)]
pub struct Document {
    pub text: Vec<u8>,
    pub lines: Vec<Line>,
    pub blocks: Vec<Block>,
}

impl Drop for Document {
    /// The text holds the private key.
    fn drop(&mut self) {
        crate::key::wipe(&mut self.text);
    }
}

fn is_blank(b: &[u8]) -> bool {
    b.iter().all(|&c| c == b' ' || c == b'\t')
}

fn trim(b: &[u8]) -> &[u8] {
    let s = b.iter().position(|&c| c != b' ' && c != b'\t').unwrap_or(b.len());
    let e = b.iter().rposition(|&c| c != b' ' && c != b'\t').map_or(s, |e| e + 1);
    &b[s..e]
}

/// The section a header line opens (comment cut, white space removed), if it is one.
pub(crate) fn header(line: &[u8]) -> Option<Section> {
    // Most lines are no header: their first visible character tells.
    if *line.iter().find(|b| !b.is_ascii_whitespace() && **b != 0x0b)? != b'[' {
        return None;
    }
    let uncommented = match line.iter().position(|&b| b == b'#') {
        Some(i) => &line[..i],
        None => line,
    };
    let squeezed: Vec<u8> = uncommented.iter().copied().filter(|b| !b.is_ascii_whitespace() && *b != 0x0b).collect();
    if !squeezed.starts_with(b"[") {
        return None;
    }
    Some(if squeezed.eq_ignore_ascii_case(b"[Interface]") {
        Section::Interface
    } else if squeezed.eq_ignore_ascii_case(b"[Peer]") {
        Section::Peer
    } else {
        Section::Other
    })
}

/// The text of a disabled line without its prefix (`#- x` → `x`, `#-` → ``).
pub fn undisabled(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(b"#-")?;
    Some(rest.strip_prefix(b" ").unwrap_or(rest))
}

/// A comment line of the form `# Key = value` (what the metadata lines look like).
pub fn meta_comment(line: &[u8]) -> Option<(&str, &str)> {
    let t = trim(line);
    let rest = t.strip_prefix(b"#")?;
    let eq = rest.iter().position(|&b| b == b'=')?;
    let k = trim(&rest[..eq]);
    let ok = k.first().is_some_and(|c| c.is_ascii_alphabetic()) && k.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
    if !ok {
        return None;
    }
    let v = std::str::from_utf8(trim(&rest[eq + 1..])).ok()?;
    // The key is ASCII: checked above.
    Some((std::str::from_utf8(k).ok()?, v))
}

/// The index of the first `\n` in `b` from `from`, eight bytes at a time.
pub(crate) fn find_newline(b: &[u8], from: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let mut i = from;
    while i + 8 <= b.len() {
        let w = u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes")) ^ NL;
        let z = w.wrapping_sub(LO) & !w & HI;
        if z != 0 {
            return Some(i + (z.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..].iter().position(|&c| c == b'\n').map(|p| i + p)
}

/// True for a line that is part of a block's content: a key line, or a `# Key = value`
/// metadata comment.
fn is_content(line: &[u8]) -> bool {
    let t = trim(line);
    !t.is_empty() && (!t.starts_with(b"#") || meta_comment(t).is_some())
}

fn is_comment(line: &[u8]) -> bool {
    trim(line).starts_with(b"#")
}

impl Document {
    pub fn parse(text: Vec<u8>) -> Document {
        let mut lines = Vec::with_capacity(text.iter().filter(|&&b| b == b'\n').count() + 1);
        let mut start = 0;
        while start < text.len() {
            let nl = find_newline(&text, start);
            let (text_end, end) = match nl {
                Some(i) if i > start && text[i - 1] == b'\r' => (i - 1, i + 1),
                Some(i) => (i, i + 1),
                None => (text.len(), text.len()),
            };
            lines.push(Line { start, text_end, end });
            start = end;
        }
        let mut d = Document { text, lines, blocks: Vec::new() };
        d.blocks = d.find_blocks();
        d
    }

    /// The text of line `i`, without its terminator.
    pub fn line(&self, i: usize) -> &[u8] {
        let l = self.lines[i];
        &self.text[l.start..l.text_end]
    }

    /// The terminator of line `i` (`\n`, `\r\n`, or empty for a last line without one).
    pub fn terminator(&self, i: usize) -> &[u8] {
        let l = self.lines[i];
        &self.text[l.text_end..l.end]
    }

    /// The terminator new lines get: the file's own (`\r\n` if its first line has one).
    pub fn newline(&self) -> &'static str {
        match self.lines.first() {
            Some(l) if self.text[l.text_end..l.end] == *b"\r\n" => "\r\n",
            _ => "\n",
        }
    }

    /// The byte range of lines `r` (terminators included).
    pub fn byte_range(&self, r: &Range<usize>) -> Range<usize> {
        if r.is_empty() {
            let at = self.lines.get(r.start).map_or(self.text.len(), |l| l.start);
            return at..at;
        }
        self.lines[r.start].start..self.lines[r.end - 1].end
    }

    fn find_blocks(&self) -> Vec<Block> {
        let mut blocks = Vec::new();
        let n = self.lines.len();
        let mut i = 0;
        while i < n {
            let line = self.line(i);
            if let Some(section) = header(line) {
                // Up to the next header, enabled or disabled.
                let mut next = i + 1;
                while next < n && header(self.line(next)).is_none() && !self.disabled_header(next) {
                    next += 1;
                }
                // The last content line, then the comments right below it.
                let mut last = i;
                for j in i + 1..next {
                    if is_content(self.line(j)) {
                        last = j;
                    }
                }
                let mut end = last + 1;
                while end < next && is_comment(self.line(end)) {
                    end += 1;
                }
                blocks.push(Block { section, disabled: false, lines: i..end });
                i = next;
            } else if self.disabled_header(i) {
                // Its `#-` lines, and the plain comments and blank lines between them (an
                // admin's note): `#-` lines after such a line still belong to this block.
                let mut end = i + 1;
                loop {
                    while end < n && undisabled(self.line(end)).is_some() && !self.disabled_header(end) {
                        end += 1;
                    }
                    let mut gap = end;
                    while gap < n
                        && undisabled(self.line(gap)).is_none()
                        && (trim(self.line(gap)).is_empty() || is_comment(self.line(gap)))
                    {
                        gap += 1;
                    }
                    if gap > end && gap < n && undisabled(self.line(gap)).is_some() && !self.disabled_header(gap) {
                        end = gap;
                    } else {
                        break;
                    }
                }
                blocks.push(Block { section: Section::Peer, disabled: true, lines: i..end });
                i = end;
            } else {
                i += 1;
            }
        }
        blocks
    }

    fn disabled_header(&self, i: usize) -> bool {
        undisabled(self.line(i)).and_then(header) == Some(Section::Peer)
    }

    /// The lines of a block as they read when enabled (a disabled block's prefix removed).
    pub fn block_lines(&self, b: &Block) -> Vec<&[u8]> {
        self.block_lines_iter(b).collect()
    }

    /// [`Document::block_lines`] without collecting them.
    pub fn block_lines_iter<'a>(&'a self, b: &Block) -> impl Iterator<Item = &'a [u8]> + 'a {
        let disabled = b.disabled;
        // A plain comment inside a disabled block stays as it is.
        b.lines.clone().map(move |i| if disabled { undisabled(self.line(i)).unwrap_or(self.line(i)) } else { self.line(i) })
    }

    /// The block's bytes, terminators included.
    pub fn block_text(&self, b: &Block) -> &[u8] {
        &self.text[self.byte_range(&b.lines)]
    }
}

/// One change of a file: the bytes of `range` replaced by `with`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub with: Vec<u8>,
}

/// Edits that cannot be applied together: two change the same bytes, or one lies outside
/// the text (a caller's bug; refused in every build instead of slicing out of bounds).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("two edits change the same lines of the file (nothing was changed)")]
pub struct Overlap;

/// Applies edits whose ranges do not overlap (in any order); every byte outside them is
/// kept. Two edits of the same bytes (or a range outside the text) are refused.
pub fn apply(text: &[u8], edits: &[Edit]) -> Result<Vec<u8>, Overlap> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = Vec::with_capacity(text.len() + edits.iter().map(|e| e.with.len()).sum::<usize>());
    let mut at = 0;
    let mut last_insert: Option<usize> = None;
    for e in sorted {
        let (s, end) = (e.range.start, e.range.end);
        // Two insertions at one place would depend on the order given: refused as well.
        if s < at || end < s || end > text.len() || (s == end && last_insert == Some(s)) {
            return Err(Overlap);
        }
        last_insert = (s == end).then_some(s);
        out.extend_from_slice(&text[at..s]);
        out.extend_from_slice(&e.with);
        at = end;
    }
    out.extend_from_slice(&text[at..]);
    Ok(out)
}

impl Document {
    /// Appends a block (`block`: its lines, each ending with [`Document::newline`]), after a
    /// blank line; a last line without a terminator gets one first.
    pub fn append(&self, block: &str) -> Edit {
        let nl = self.newline();
        let mut with = Vec::new();
        if self.text.last().is_some_and(|&b| b != b'\n') {
            with.extend_from_slice(nl.as_bytes());
        }
        if !self.text.is_empty() {
            with.extend_from_slice(nl.as_bytes());
        }
        with.extend_from_slice(block.as_bytes());
        Edit { range: self.text.len()..self.text.len(), with }
    }

    /// Removes a block: its lines, and the blank line before it when a blank line, a block
    /// or the end of the file follows (so that adding a block and removing it gives the
    /// file back byte for byte).
    pub fn remove(&self, b: &Block) -> Edit {
        let mut r = b.lines.clone();
        let before_blank = r.start > 0 && is_blank(self.line(r.start - 1));
        let after_ok = r.end >= self.lines.len()
            || is_blank(self.line(r.end))
            || header(self.line(r.end)).is_some()
            || self.disabled_header(r.end);
        if before_blank && after_ok {
            r.start -= 1;
        }
        Edit { range: self.byte_range(&r), with: Vec::new() }
    }

    /// Comments out every line of an enabled block with [`DISABLED_PREFIX`] (a blank line
    /// inside it becomes `#-`); [`Document::enable`] is the exact inverse.
    pub fn disable(&self, b: &Block) -> Edit {
        let mut with = Vec::new();
        for i in b.lines.clone() {
            let l = self.line(i);
            if l.is_empty() {
                with.extend_from_slice(b"#-");
            } else {
                with.extend_from_slice(DISABLED_PREFIX.as_bytes());
                with.extend_from_slice(l);
            }
            with.extend_from_slice(self.terminator(i));
        }
        Edit { range: self.byte_range(&b.lines), with }
    }

    /// Removes the [`DISABLED_PREFIX`] of every line of a disabled block.
    pub fn enable(&self, b: &Block) -> Edit {
        let mut with = Vec::new();
        for i in b.lines.clone() {
            with.extend_from_slice(undisabled(self.line(i)).unwrap_or(self.line(i)));
            with.extend_from_slice(self.terminator(i));
        }
        Edit { range: self.byte_range(&b.lines), with }
    }

    /// Replaces a block's lines with `lines` (text without terminators; they get the
    /// terminator of the block's header). A disabled block stays disabled.
    pub fn replace(&self, b: &Block, lines: &[impl AsRef<[u8]>]) -> Edit {
        self.replace_as(b, lines, b.disabled)
    }

    /// [`Document::replace`], the block disabled or enabled as `disabled` says.
    pub fn replace_as(&self, b: &Block, lines: &[impl AsRef<[u8]>], disabled: bool) -> Edit {
        let term = self.terminator(b.lines.start);
        // A block that ends the file without a terminator keeps ending that way.
        let last_term = self.terminator(b.lines.end - 1);
        let nl = if term.is_empty() { self.newline().as_bytes() } else { term };
        let mut with = Vec::new();
        for (k, l) in lines.iter().enumerate() {
            let l = l.as_ref();
            if disabled {
                if l.is_empty() {
                    with.extend_from_slice(b"#-");
                } else {
                    with.extend_from_slice(DISABLED_PREFIX.as_bytes());
                }
            }
            with.extend_from_slice(l);
            with.extend_from_slice(if k + 1 == lines.len() && last_term.is_empty() { b"" } else { nl });
        }
        Edit { range: self.byte_range(&b.lines), with }
    }
}

/// The lines of `new` that differ from `old`, as a minimal unified-style listing (`-`/`+`
/// lines with their line numbers), for `--dry-run`. Lines whose key is a secret are shown
/// with the value hidden.
pub fn diff(old: &[u8], new: &[u8]) -> String {
    let a: Vec<&[u8]> = old.split_inclusive(|&b| b == b'\n').collect();
    let b: Vec<&[u8]> = new.split_inclusive(|&b| b == b'\n').collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let mut s = String::new();
    let show = |l: &[u8]| {
        let t = String::from_utf8_lossy(l).trim_end_matches(['\n', '\r']).to_string();
        // Hand-written lines may hold control characters: never printed raw.
        super::values::clean(&hide_secret(&t)).into_owned()
    };
    for (k, l) in a[prefix..a.len() - suffix].iter().enumerate() {
        s.push_str(&format!("-{:>6} {}\n", prefix + k + 1, show(l)));
    }
    for (k, l) in b[prefix..b.len() - suffix].iter().enumerate() {
        s.push_str(&format!("+{:>6} {}\n", prefix + k + 1, show(l)));
    }
    s
}

/// `PrivateKey = …` and `PresharedKey = …` (also commented or disabled) with the value hidden.
pub fn hide_secret(line: &str) -> String {
    let lower = line.to_ascii_lowercase();
    for k in ["privatekey", "presharedkey"] {
        if let Some(i) = lower.find(k)
            && let Some(eq) = line[i..].find('=')
        {
            return format!("{}= (hidden)", &line[..i + eq]);
        }
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ap(t: &[u8], e: &[crate::config::edit::Edit]) -> Vec<u8> {
        apply(t, e).unwrap()
    }

    const FILE: &str = "# my server\r\n[Interface]\r\nPrivateKey = x\r\n\r\n# bob below\r\n[Peer]\r\n# Name = bob\r\nPublicKey = b\r\nAllowedIPs = 10.0.0.2/32\r\n# bob's note\r\n\r\n### marker\r\n[peer]\r\nPublicKey = c\r\n";

    fn doc(s: &str) -> Document {
        Document::parse(s.as_bytes().to_vec())
    }

    #[test]
    fn overlapping_or_out_of_range_edits_are_refused_in_every_build() {
        let d = doc(FILE);
        let b = &d.blocks[1];
        assert_eq!(apply(&d.text, &[d.remove(b), d.disable(b)]), Err(Overlap));
        assert_eq!(apply(&d.text, &[d.remove(b), d.remove(b)]), Err(Overlap));
        assert_eq!(apply(&d.text, &[d.append("x\n"), d.append("y\n")]), Err(Overlap));
        assert_eq!(apply(&d.text, &[Edit { range: 0..d.text.len() + 1, with: vec![] }]), Err(Overlap));
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = Edit { range: 5..2, with: vec![] };
        assert_eq!(apply(&d.text, &[backwards]), Err(Overlap));
        assert!(apply(&d.text, &[d.remove(&d.blocks[1]), d.disable(&d.blocks[2])]).is_ok());
    }

    #[test]
    fn a_comment_inside_a_disabled_block_does_not_split_it() {
        let t = "[Interface]\nPrivateKey = x\n\n#- [Peer]\n#- # Name = bob\n# kept for audit\n\n#- PublicKey = k\n#- AllowedIPs = 10.0.0.2/32\n\n# after\n[Peer]\nPublicKey = j\n";
        let d = doc(t);
        let kinds: Vec<_> = d.blocks.iter().map(|b| (b.section, b.disabled, b.lines.clone())).collect();
        assert_eq!(kinds, [(Section::Interface, false, 0..2), (Section::Peer, true, 3..9), (Section::Peer, false, 11..13)]);
        assert_eq!(d.block_lines(&d.blocks[1])[2], b"# kept for audit");
        let removed = ap(&d.text, &[d.remove(&d.blocks[1])]);
        assert!(!String::from_utf8(removed).unwrap().contains("#- "));
    }

    #[test]
    fn blocks_lines_and_terminators() {
        let d = doc(FILE);
        assert_eq!(d.lines.len(), 14);
        assert_eq!(d.line(1), b"[Interface]");
        assert_eq!(d.terminator(1), b"\r\n");
        assert_eq!(d.newline(), "\r\n");
        let kinds: Vec<_> = d.blocks.iter().map(|b| (b.section, b.disabled, b.lines.clone())).collect();
        // The interface ends at its key line; bob keeps his attached note; the marker after
        // the blank line belongs to no block.
        assert_eq!(kinds, [(Section::Interface, false, 1..3), (Section::Peer, false, 5..10), (Section::Peer, false, 12..14)]);
        assert_eq!(doc("").lines.len(), 0);
        assert_eq!(doc("[Peer]").lines[0].end, 6);
    }

    #[test]
    fn add_then_remove_is_the_identity_and_other_bytes_are_kept() {
        for original in [FILE, "[Interface]\nPrivateKey = x\n", "[Interface]\nPrivateKey = x", "", "[Interface]\n\n\n"] {
            let d = doc(original);
            let nl = d.newline();
            let added = ap(&d.text, &[d.append(&format!("[Peer]{nl}PublicKey = z{nl}"))]);
            let d2 = Document::parse(added.clone());
            assert!(added.starts_with(original.trim_end_matches('x').as_bytes()));
            let b = d2.blocks.last().unwrap().clone();
            assert_eq!(d2.block_lines(&b), [&b"[Peer]"[..], b"PublicKey = z"]);
            let removed = ap(&d2.text, &[d2.remove(&b)]);
            let want = if original.ends_with('x') { format!("{original}\n") } else { original.to_string() };
            assert_eq!(String::from_utf8(removed).unwrap(), want, "{original:?}");
        }
    }

    #[test]
    fn remove_of_a_middle_block_keeps_every_other_byte() {
        let d = doc(FILE);
        let out = String::from_utf8(ap(&d.text, &[d.remove(&d.blocks[1])])).unwrap();
        assert_eq!(
            out,
            "# my server\r\n[Interface]\r\nPrivateKey = x\r\n\r\n# bob below\r\n\r\n### marker\r\n[peer]\r\nPublicKey = c\r\n"
        );
        let out = String::from_utf8(ap(&d.text, &[d.remove(&d.blocks[2])])).unwrap();
        assert_eq!(out, FILE.replace("[peer]\r\nPublicKey = c\r\n", ""));
    }

    #[test]
    fn disable_and_enable_are_inverse() {
        let d = doc(FILE);
        let dis = ap(&d.text, &[d.disable(&d.blocks[1])]);
        let s = String::from_utf8(dis.clone()).unwrap();
        assert!(
            s.contains("#- [Peer]\r\n#- # Name = bob\r\n#- PublicKey = b\r\n#- AllowedIPs = 10.0.0.2/32\r\n#- # bob's note\r\n\r\n### marker"),
            "{s}"
        );
        let d2 = Document::parse(dis);
        assert_eq!(d2.blocks.len(), 3);
        assert!(d2.blocks[1].disabled && d2.blocks[1].lines == (5..10));
        assert_eq!(d2.block_lines(&d2.blocks[1])[1], b"# Name = bob");
        let en = ap(&d2.text, &[d2.enable(&d2.blocks[1])]);
        assert_eq!(String::from_utf8(en).unwrap(), FILE);
        // A blank line inside a block, and wg-quick reads a disabled block as comments only.
        let t = "[Peer]\nPublicKey = a\n\nAllowedIPs = 10.0.0.1/32\n";
        let d = doc(t);
        let dis = ap(&d.text, &[d.disable(&d.blocks[0])]);
        assert_eq!(String::from_utf8(dis.clone()).unwrap(), "#- [Peer]\n#- PublicKey = a\n#-\n#- AllowedIPs = 10.0.0.1/32\n");
        let d2 = Document::parse(dis);
        assert_eq!(String::from_utf8(ap(&d2.text, &[d2.enable(&d2.blocks[0])])).unwrap(), t);
    }

    #[test]
    fn replace_keeps_the_terminators_and_the_disabled_state() {
        let d = doc(FILE);
        let out = ap(&d.text, &[d.replace(&d.blocks[1], &["[Peer]", "# Name = robert", "PublicKey = b"])]);
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("# bob below\r\n[Peer]\r\n# Name = robert\r\nPublicKey = b\r\n\r\n### marker"), "{s}");
        let d = doc("#- [Peer]\n#- PublicKey = a");
        assert!(d.blocks[0].disabled);
        let out = ap(&d.text, &[d.replace(&d.blocks[0], &["[Peer]", "", "PublicKey = b"])]);
        assert_eq!(String::from_utf8(out).unwrap(), "#- [Peer]\n#-\n#- PublicKey = b");
    }

    #[test]
    fn metadata_comments_and_diff() {
        assert_eq!(meta_comment(b"  # Name = alice  "), Some(("Name", "alice")));
        assert_eq!(meta_comment(b"#Note=a = b"), Some(("Note", "a = b")));
        assert_eq!(meta_comment(b"### Client bob"), None);
        assert_eq!(meta_comment(b"# 1x = y"), None);
        let d = diff(b"a\nb\nc\n", b"a\nB\nPresharedKey = secret\nc\n");
        assert_eq!(d, "-     2 b\n+     2 B\n+     3 PresharedKey = (hidden)\n");
        assert_eq!(hide_secret("#- privatekey=abc"), "#- privatekey= (hidden)");
        for (t, want) in
            [(&b"abcdefgh\nx"[..], Some(8)), (b"\n", Some(0)), (b"abcdefghijklmnopq", None), (b"abcdefghijklmno\n", Some(15))]
        {
            assert_eq!(find_newline(t, 0), want);
        }
        assert_eq!(find_newline(b"a\nbcdefghij\n", 2), Some(11));
    }
}
