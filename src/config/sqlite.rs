//! A small read-only reader of SQLite database files, for the databases of other tools wgq
//! imports (wg-easy 15's `wg-easy.db`): the header, table b-trees (interior and leaf pages,
//! overflow chains), the record format, `sqlite_schema` for a table's root page and its
//! columns (from the `CREATE TABLE` text), the integer primary key that is the rowid, and the
//! committed frames of a write-ahead log (`-wal`) laid over the file's pages.
//!
//! Pure: it reads bytes given to it. The input is untrusted: sizes are bounded, every page
//! number is checked, a table walk visits each page at most once (cycles and shared pages are
//! refused), reads no more cell bytes than the database holds (cells sharing bytes are
//! refused) and descends at most [`MAX_DEPTH`] levels; a table's values take at most
//! [`MAX_VALUES`] bytes; no input panics or loops.
//! Not read: indexes, `WITHOUT ROWID` tables, UTF-16 databases (all refused or unused).

use std::collections::HashMap;
use std::fmt;

/// The largest database file (and write-ahead log) read; wg-easy's is some hundred KiB.
pub const MAX_FILE: usize = 64 << 20;
/// How deep a table b-tree may be (SQLite's own are a handful of levels).
pub const MAX_DEPTH: usize = 40;
/// The most memory the values of one table read may take (counting each value's own size):
/// a column's `DEFAULT` is copied into every row written before the column was added, so
/// a small file could otherwise make any amount.
pub const MAX_VALUES: usize = 128 << 20;

/// A value of a column.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    /// Text as stored (UTF-8; invalid bytes replaced).
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}

/// Why a file was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn err<T>(msg: impl Into<String>) -> Result<T, Error> {
    Err(Error(msg.into()))
}

/// A table's rows: the column names in their order, and each row's values in that order
/// (a row written before `ALTER TABLE … ADD` has the added columns' defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// The index of column `name` (ASCII case-insensitive, as SQL's names are).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.eq_ignore_ascii_case(name))
    }
}

/// An opened database: its pages, the log's committed pages laid over them.
pub struct Database<'a> {
    file: &'a [u8],
    page_size: usize,
    usable: usize,
    pages: u32,
    overlay: Overlay<'a>,
}

/// A big-endian integer of `n` bytes at `at` (n ≤ 8).
fn be(b: &[u8], at: usize, n: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(n)?)?;
    Some(s.iter().fold(0u64, |a, &x| (a << 8) | x as u64))
}

/// A varint at `at`: its value and length.
fn varint(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for i in 0..9 {
        let x = *b.get(at + i)?;
        if i == 8 {
            return Some(((v << 8) | x as u64, 9));
        }
        v = (v << 7) | (x & 0x7f) as u64;
        if x & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// Marks page `n` as read in this walk; a page read twice is a cycle or a damaged file.
fn mark(seen: &mut [bool], n: u32) -> Result<(), Error> {
    match seen.get_mut(n as usize) {
        Some(s) if !*s => {
            *s = true;
            Ok(())
        }
        Some(_) => err(format!("page {n} is used twice (a damaged database)")),
        None => err(format!("page {n} is outside the database")),
    }
}

/// SQLite's write-ahead log checksum over `data` (a multiple of 8 bytes), continuing `s`.
fn wal_checksum(data: &[u8], big_endian: bool, mut s: (u32, u32)) -> (u32, u32) {
    for w in data.chunks_exact(8) {
        let word = |b: &[u8]| {
            let a = [b[0], b[1], b[2], b[3]];
            if big_endian { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) }
        };
        s.0 = s.0.wrapping_add(word(&w[0..4])).wrapping_add(s.1);
        s.1 = s.1.wrapping_add(word(&w[4..8])).wrapping_add(s.0);
    }
    s
}

/// Page number -> its newest committed copy in the write-ahead log.
type Overlay<'a> = HashMap<u32, &'a [u8]>;

/// The log's committed pages: page number -> content, and the database's size in pages
/// after the last commit (`None`: no committed frame). Frames after the last valid commit
/// (a transaction in progress, a torn write, an older log's leftovers) are not used, nor is
/// a log whose header is not one (another magic number or page size, a wrong checksum).
fn wal_pages(wal: &[u8], page_size: usize) -> (Overlay<'_>, Option<u32>) {
    let mut out = HashMap::new();
    if wal.len() < 32 {
        return (out, None);
    }
    // A log without a valid header holds nothing SQLite would read (its recovery finds no
    // frame): the same here.
    let big_endian = match be(wal, 0, 4).unwrap_or(0) {
        0x377f0682 => false,
        0x377f0683 => true,
        _ => return (out, None),
    };
    if be(wal, 8, 4) != Some(page_size as u64) {
        return (out, None);
    }
    let salt = &wal[16..24];
    let mut sum = wal_checksum(&wal[0..24], big_endian, (0, 0));
    if (sum.0 as u64, sum.1 as u64) != (be(wal, 24, 4).unwrap_or(0), be(wal, 28, 4).unwrap_or(0)) {
        // A log whose header does not check out holds nothing valid (SQLite ignores it).
        return (out, None);
    }
    let mut pending: Vec<(u32, &[u8])> = Vec::new();
    let mut size = None;
    let mut at = 32;
    while let Some(frame) = wal.get(at..at + 24 + page_size) {
        let (head, data) = frame.split_at(24);
        let page = be(head, 0, 4).unwrap_or(0) as u32;
        let commit = be(head, 4, 4).unwrap_or(0) as u32;
        if &head[8..16] != salt || page == 0 {
            break;
        }
        sum = wal_checksum(&head[0..8], big_endian, sum);
        sum = wal_checksum(data, big_endian, sum);
        if (sum.0 as u64, sum.1 as u64) != (be(head, 16, 4).unwrap_or(0), be(head, 20, 4).unwrap_or(0)) {
            break;
        }
        pending.push((page, data));
        if commit != 0 {
            out.extend(pending.drain(..));
            size = Some(commit);
        }
        at += 24 + page_size;
    }
    (out, size)
}

impl<'a> Database<'a> {
    /// Opens `file` (the database's bytes) with `wal` (its `-wal` file's bytes, if any).
    pub fn open(file: &'a [u8], wal: Option<&'a [u8]>) -> Result<Database<'a>, Error> {
        if file.len() > MAX_FILE || wal.is_some_and(|w| w.len() > MAX_FILE) {
            return err(format!("larger than {} MiB", MAX_FILE >> 20));
        }
        if file.len() < 100 || &file[..16] != b"SQLite format 3\0" {
            return err("not an SQLite 3 database");
        }
        let page_size = match be(file, 16, 2).unwrap_or(0) {
            1 => 65536,
            n if (512..=32768).contains(&n) && n.is_power_of_two() => n as usize,
            n => return err(format!("page size {n} is not one SQLite writes")),
        };
        let reserved = file[20] as usize;
        let usable = page_size - reserved;
        if usable < 480 {
            return err("too little usable space per page");
        }
        if be(file, 56, 4) != Some(1) {
            return err("the text encoding is not UTF-8");
        }
        if file[18] > 2 || file[19] > 2 {
            return err("a file format version newer than this reader");
        }
        let in_file = (file.len() / page_size) as u32;
        let header_pages = be(file, 28, 4).unwrap_or(0) as u32;
        let header_valid = header_pages != 0 && be(file, 24, 4) == be(file, 92, 4);
        let mut pages = if header_valid { header_pages.min(in_file) } else { in_file };
        let (overlay, wal_size) = match wal {
            Some(w) => wal_pages(w, page_size),
            None => (HashMap::new(), None),
        };
        if let Some(n) = wal_size {
            pages = n;
        }
        // The log may say the database grew: never past what the file and the log could hold.
        if pages as usize > (2 * MAX_FILE) / page_size {
            return err("more pages than the size limit allows");
        }
        Ok(Database { file, page_size, usable, pages, overlay })
    }

    /// The bytes of page `n` (1-based), the log's copy where it has one.
    fn page(&self, n: u32) -> Result<&'a [u8], Error> {
        if n == 0 || n > self.pages {
            return err(format!("page {n} is outside the database (1-{})", self.pages));
        }
        if let Some(p) = self.overlay.get(&n) {
            return Ok(p);
        }
        let start = (n as usize - 1) * self.page_size;
        match self.file.get(start..start + self.page_size) {
            Some(p) => Ok(p),
            None => err(format!("page {n} is beyond the end of the file")),
        }
    }

    /// The rows of the table b-tree rooted at `root`: `(rowid, payload)` in rowid order.
    fn walk(&self, root: u32) -> Result<Vec<(i64, Vec<u8>)>, Error> {
        let mut seen = vec![false; self.pages as usize + 1];
        // The bytes of the cells read: at most what the database holds, or cells share
        // bytes (each would be read again per pointer to it).
        let mut spent = 0u64;
        let mut rows = Vec::new();
        // Pages still to read, the next one last; with its depth.
        let mut stack: Vec<(u32, usize)> = vec![(root, 0)];
        while let Some((n, depth)) = stack.pop() {
            if depth > MAX_DEPTH {
                return err("a table b-tree deeper than this reader allows");
            }
            mark(&mut seen, n)?;
            let page = self.page(n)?;
            let h = if n == 1 { 100 } else { 0 };
            let kind = *page.get(h).ok_or_else(|| Error("a page too short".into()))?;
            let cells = be(page, h + 3, 2).unwrap_or(0) as usize;
            match kind {
                0x05 => {
                    let right = be(page, h + 8, 4).ok_or_else(|| Error("a page too short".into()))? as u32;
                    let mut children = Vec::with_capacity(cells + 1);
                    for i in 0..cells {
                        let off = self.cell_offset(page, h + 12, i, n)?;
                        let child = be(page, off, 4).ok_or_else(|| Error(format!("page {n}: a cell beyond the page")))?;
                        children.push((child as u32, depth + 1));
                    }
                    children.push((right, depth + 1));
                    stack.extend(children.into_iter().rev());
                }
                0x0d => {
                    for i in 0..cells {
                        let off = self.cell_offset(page, h + 8, i, n)?;
                        rows.push(self.leaf_cell(page, off, n, &mut seen, &mut spent)?);
                    }
                }
                k => return err(format!("page {n} is no table b-tree page (type {k:#04x})")),
            }
        }
        Ok(rows)
    }

    fn cell_offset(&self, page: &[u8], array: usize, i: usize, n: u32) -> Result<usize, Error> {
        let off = be(page, array + 2 * i, 2).ok_or_else(|| Error(format!("page {n}: too many cells")))? as usize;
        if off < array || off >= self.usable {
            return err(format!("page {n}: a cell outside the page"));
        }
        Ok(off)
    }

    /// A table leaf cell: its rowid and its whole payload (overflow pages followed).
    fn leaf_cell(&self, page: &[u8], off: usize, n: u32, seen: &mut [bool], spent: &mut u64) -> Result<(i64, Vec<u8>), Error> {
        let bad = || Error(format!("page {n}: a damaged cell"));
        let page = &page[..self.usable];
        let (size, a) = varint(page, off).ok_or_else(bad)?;
        let (rowid, b) = varint(page, off + a).ok_or_else(bad)?;
        let start = off + a + b;
        let u = self.usable;
        if size > (self.pages as u64) * (u as u64) {
            return err(format!("page {n}: a record larger than the database"));
        }
        // The cell's pointer, its two varints and its payload lie on bytes of their own.
        *spent += 2 + (a + b) as u64 + size;
        if *spent > self.pages as u64 * self.page_size as u64 {
            return err(format!("page {n}: cells that overlap (a damaged database)"));
        }
        let size = size as usize;
        let max_local = u - 35;
        let local = if size <= max_local {
            size
        } else {
            let min_local = (u - 12) * 32 / 255 - 23;
            let k = min_local + (size - min_local) % (u - 4);
            if k <= max_local { k } else { min_local }
        };
        // Grown as pages arrive: a size is only a claim until its pages are read.
        let mut out = Vec::with_capacity(size.min(1 << 16));
        out.extend_from_slice(page.get(start..start + local).ok_or_else(bad)?);
        if local < size {
            let mut next = be(page, start + local, 4).ok_or_else(bad)? as u32;
            while out.len() < size {
                mark(seen, next)?;
                let p = &self.page(next)?[..u];
                let take = (size - out.len()).min(u - 4);
                out.extend_from_slice(&p[4..4 + take]);
                next = be(p, 0, 4).unwrap_or(0) as u32;
            }
        }
        Ok((rowid as i64, out))
    }

    /// The rows of table `name` (ASCII case-insensitive), its columns from its `CREATE TABLE`.
    pub fn table(&self, name: &str) -> Result<Table, Error> {
        let schema = self.walk(1)?;
        for (_, payload) in &schema {
            let r = record(payload)?;
            let text = |i: usize| r.get(i).and_then(Value::as_text);
            if text(0) != Some("table") || !text(1).is_some_and(|n| n.eq_ignore_ascii_case(name)) {
                continue;
            }
            let root = r.get(3).and_then(Value::as_int).filter(|&p| p > 0 && p <= u32::MAX as i64);
            let root = root.ok_or_else(|| Error(format!("table {name}: no root page")))? as u32;
            let sql = text(4).ok_or_else(|| Error(format!("table {name}: no CREATE TABLE text")))?;
            let cols = columns(sql).map_err(|e| Error(format!("table {name}: {e}")))?;
            let alias = cols.iter().position(|c| c.rowid_alias);
            let mut rows = Vec::new();
            let mut held = 0usize;
            for (rowid, payload) in self.walk(root)? {
                let mut v = record(&payload).map_err(|e| Error(format!("table {name}: {e}")))?;
                if v.len() > cols.len() {
                    return err(format!("table {name}: a row with more values than columns"));
                }
                for c in &cols[v.len()..] {
                    v.push(c.default.clone());
                }
                if let Some(i) = alias
                    && v[i] == Value::Null
                {
                    v[i] = Value::Int(rowid);
                }
                held += std::mem::size_of::<Vec<Value>>() + std::mem::size_of_val(&v[..]);
                held += v
                    .iter()
                    .map(|x| {
                        if let Value::Text(t) = x {
                            t.len()
                        } else if let Value::Blob(b) = x {
                            b.len()
                        } else {
                            0
                        }
                    })
                    .sum::<usize>();
                if held > MAX_VALUES {
                    return err(format!("table {name}: its values take more than {} MiB", MAX_VALUES >> 20));
                }
                rows.push(v);
            }
            return Ok(Table { columns: cols.into_iter().map(|c| c.name).collect(), rows });
        }
        err(format!("no table {name}"))
    }
}

/// A record's values (the record format: a header of serial types, then the values).
pub fn record(p: &[u8]) -> Result<Vec<Value>, Error> {
    let bad = || Error("a damaged record".into());
    let (hsize, mut at) = varint(p, 0).ok_or_else(bad)?;
    let hsize = usize::try_from(hsize).ok().filter(|&h| h >= at && h <= p.len()).ok_or_else(bad)?;
    let mut body = hsize;
    let mut out = Vec::new();
    while at < hsize {
        let (t, l) = varint(&p[..hsize], at).ok_or_else(bad)?;
        at += l;
        let int = |n: usize, body: usize| -> Result<i64, Error> {
            let v = be(p, body, n).ok_or_else(bad)?;
            let shift = 64 - 8 * n as u32;
            Ok(((v << shift) as i64) >> shift)
        };
        let (v, len) = match t {
            0 => (Value::Null, 0),
            1..=4 => (Value::Int(int(t as usize, body)?), t as usize),
            5 => (Value::Int(int(6, body)?), 6),
            6 => (Value::Int(int(8, body)?), 8),
            7 => (Value::Real(f64::from_bits(be(p, body, 8).ok_or_else(bad)?)), 8),
            8 => (Value::Int(0), 0),
            9 => (Value::Int(1), 0),
            10 | 11 => return Err(bad()),
            t => {
                let n = usize::try_from((t - 12) / 2).map_err(|_| bad())?;
                let end = body.checked_add(n).ok_or_else(bad)?;
                let b = p.get(body..end).ok_or_else(bad)?;
                let v = if t % 2 == 0 { Value::Blob(b.to_vec()) } else { Value::Text(String::from_utf8_lossy(b).into_owned()) };
                (v, n)
            }
        };
        body = body.checked_add(len).filter(|&e| e <= p.len()).ok_or_else(bad)?;
        out.push(v);
    }
    Ok(out)
}

/// A column as its `CREATE TABLE` declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// `INTEGER PRIMARY KEY`: the row's rowid is its value.
    pub rowid_alias: bool,
    /// A literal `DEFAULT` (numbers, strings, NULL, TRUE/FALSE); NULL otherwise.
    pub default: Value,
}

/// SQL tokens: words, quoted names (`"x"`, `` `x` ``, `[x]`), strings (`'x'`) and single
/// punctuation characters; comments (`-- …`, `/* … */`) skipped. `None` for an unterminated
/// quote or block comment.
fn tokens(sql: &str) -> Option<Vec<(char, String)>> {
    let mut out = Vec::new();
    let mut it = sql.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            c if c.is_whitespace() => {}
            '-' if it.peek() == Some(&'-') => {
                for c in it.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if it.peek() == Some(&'*') => {
                it.next();
                let mut star = false;
                loop {
                    let c = it.next()?;
                    if star && c == '/' {
                        break;
                    }
                    star = c == '*';
                }
            }
            '\'' | '"' | '`' | '[' => {
                let close = if c == '[' { ']' } else { c };
                let mut s = String::new();
                loop {
                    match it.next()? {
                        x if x == close && close != ']' && it.peek() == Some(&close) => {
                            it.next();
                            s.push(x);
                        }
                        x if x == close => break,
                        x => s.push(x),
                    }
                }
                out.push((if c == '\'' { '\'' } else { 'n' }, s));
            }
            c if c.is_alphanumeric() || c == '_' || c == '.' || c == '$' => {
                let mut s = c.to_string();
                while let Some(&x) = it.peek() {
                    if x.is_alphanumeric() || x == '_' || x == '.' || x == '$' {
                        s.push(x);
                        it.next();
                    } else {
                        break;
                    }
                }
                out.push(('w', s));
            }
            c => out.push(('p', c.to_string())),
        }
    }
    Some(out)
}

/// The columns of a `CREATE TABLE name (…)` text, in order.
pub fn columns(sql: &str) -> Result<Vec<Column>, String> {
    let t = tokens(sql).ok_or("an unterminated quote or comment in CREATE TABLE")?;
    let open = t.iter().position(|(k, s)| *k == 'p' && s == "(").ok_or("no column list in CREATE TABLE")?;
    // The column definitions: split at commas outside parentheses.
    let mut defs: Vec<&[(char, String)]> = Vec::new();
    let (mut depth, mut start, mut end) = (0usize, open + 1, None);
    for (i, (k, s)) in t.iter().enumerate().skip(open + 1) {
        if *k != 'p' {
            continue;
        }
        match s.as_str() {
            "(" => depth += 1,
            ")" if depth == 0 => {
                defs.push(&t[start..i]);
                end = Some(i);
                break;
            }
            ")" => depth -= 1,
            "," if depth == 0 => {
                defs.push(&t[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    let end = end.ok_or("an unclosed column list in CREATE TABLE")?;
    if t[end + 1..].iter().any(|(k, s)| *k == 'w' && s.eq_ignore_ascii_case("WITHOUT")) {
        return Err("a WITHOUT ROWID table (not read)".into());
    }
    const CONSTRAINTS: [&str; 5] = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"];
    let is = |tok: Option<&(char, String)>, w: &str| tok.is_some_and(|(k, s)| *k == 'w' && s.eq_ignore_ascii_case(w));
    let mut out = Vec::new();
    // Whether each column is declared `INTEGER`; the one column of a table's `PRIMARY KEY (…)`.
    let (mut integer, mut table_pk) = (Vec::new(), None);
    for d in defs {
        let Some((kind, name)) = d.first() else { return Err("an empty column definition".into()) };
        if *kind == 'w' && CONSTRAINTS.iter().any(|c| name.eq_ignore_ascii_case(c)) {
            // `[CONSTRAINT name] PRIMARY KEY (col [ASC|DESC])`: that column is the rowid's
            // alias when it is declared INTEGER (either order, unlike the column's own form).
            if let Some(p) = d.windows(3).position(|w| is(Some(&w[0]), "PRIMARY") && is(Some(&w[1]), "KEY") && w[2].1 == "(") {
                let inner: Vec<&(char, String)> = d[p + 3..].iter().take_while(|(k, s)| !(*k == 'p' && s == ")")).collect();
                let order = inner.get(1).is_some_and(|t| is(Some(t), "ASC") || is(Some(t), "DESC"));
                if (inner.len() == 1 || (inner.len() == 2 && order)) && matches!(inner[0].0, 'w' | 'n') {
                    table_pk = Some(inner[0].1.clone());
                }
            }
            continue;
        }
        if *kind != 'w' && *kind != 'n' {
            return Err("a column definition without a name".into());
        }
        // The declared type: words up to the first constraint keyword.
        let stop =
            ["CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT", "COLLATE", "REFERENCES", "GENERATED", "AS"];
        let ty: Vec<&str> = d[1..]
            .iter()
            .take_while(|(k, s)| *k == 'w' && !stop.iter().any(|w| s.eq_ignore_ascii_case(w)))
            .map(|(_, s)| s.as_str())
            .collect();
        let pk = d.windows(2).position(|w| is(Some(&w[0]), "PRIMARY") && is(Some(&w[1]), "KEY"));
        let desc = pk.is_some_and(|p| is(d.get(p + 2), "DESC"));
        let rowid_alias = ty.len() == 1 && ty[0].eq_ignore_ascii_case("INTEGER") && pk.is_some() && !desc;
        let default = match d.iter().position(|(k, s)| *k == 'w' && s.eq_ignore_ascii_case("DEFAULT")) {
            Some(i) => literal(&d[i + 1..]),
            None => Value::Null,
        };
        integer.push(ty.len() == 1 && ty[0].eq_ignore_ascii_case("INTEGER"));
        out.push(Column { name: name.clone(), rowid_alias, default });
    }
    if out.is_empty() {
        return Err("no columns in CREATE TABLE".into());
    }
    if let Some(pk) = table_pk
        && let Some(i) = out.iter().position(|c| c.name.eq_ignore_ascii_case(&pk))
        && integer[i]
    {
        out[i].rowid_alias = true;
    }
    Ok(out)
}

/// A literal after `DEFAULT`: a number (with its sign), a string, NULL, TRUE or FALSE.
fn literal(t: &[(char, String)]) -> Value {
    let (neg, t) = match t.first() {
        Some(('p', s)) if s == "-" => (true, &t[1..]),
        Some(('p', s)) if s == "+" => (false, &t[1..]),
        _ => (false, t),
    };
    match t.first() {
        Some(('\'', s)) if !neg => Value::Text(s.clone()),
        Some(('w', s)) if s.eq_ignore_ascii_case("TRUE") && !neg => Value::Int(1),
        Some(('w', s)) if s.eq_ignore_ascii_case("FALSE") && !neg => Value::Int(0),
        Some(('w', s)) => match (s.parse::<i64>(), s.parse::<f64>()) {
            (Ok(i), _) => Value::Int(if neg { i.wrapping_neg() } else { i }),
            (_, Ok(f)) if s.starts_with(|c: char| c.is_ascii_digit() || c == '.') => Value::Real(if neg { -f } else { f }),
            _ => Value::Null,
        },
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_records() {
        assert_eq!(varint(&[0x05], 0), Some((5, 1)));
        assert_eq!(varint(&[0x81, 0x00], 0), Some((128, 2)));
        assert_eq!(varint(&[0xff; 9], 0), Some((u64::MAX, 9)));
        assert_eq!(varint(&[0x81], 0), None);
        // Header: size 5, types NULL, int8, text of 2, int 1; body: -2, "hé" is 3 bytes (odd: 13+2*3=19).
        let r = [5, 0, 1, 19, 9, 0xfe, b'h', 0xc3, 0xa9];
        assert_eq!(record(&r).unwrap(), [Value::Null, Value::Int(-2), Value::Text("hé".into()), Value::Int(1)]);
        assert!(record(&[5, 0, 1, 19, 9, 0xfe, b'h']).is_err());
        assert!(record(&[9]).is_err());
        assert!(record(&[2, 10]).is_err());
    }

    #[test]
    fn create_table_columns() {
        let c = columns(
            "CREATE TABLE `t` (\n\t`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,\n\t\"a b\" text DEFAULT 'x,y' NOT NULL, \
             [c] int DEFAULT -7, d DEFAULT (CURRENT_TIMESTAMP), e integer DEFAULT false, -- note, here\n f, \
             FOREIGN KEY (`a b`) REFERENCES `u`(`id`) ON DELETE cascade)",
        )
        .unwrap();
        let names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "a b", "c", "d", "e", "f"]);
        assert!(c[0].rowid_alias && !c[2].rowid_alias);
        assert_eq!(c[1].default, Value::Text("x,y".into()));
        assert_eq!(
            (c[2].default.clone(), c[3].default.clone(), c[4].default.clone()),
            (Value::Int(-7), Value::Null, Value::Int(0))
        );
        assert!(!columns("CREATE TABLE t (id INT PRIMARY KEY, x)").unwrap()[0].rowid_alias);
        assert!(!columns("CREATE TABLE t (id INTEGER PRIMARY KEY DESC, x)").unwrap()[0].rowid_alias);
        assert!(columns("CREATE TABLE t (a) WITHOUT ROWID").is_err());
        assert!(columns("CREATE TABLE t (a").is_err());
        assert!(columns("CREATE TABLE t ('a").is_err());
        // SQLite keeps the text as written, comments too: a block comment is no column.
        let c = columns("CREATE TABLE t (a INTEGER PRIMARY KEY /* the id, */, b /* (x */ TEXT DEFAULT 'y', c)").unwrap();
        let names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(c[0].rowid_alias);
        assert_eq!(c[1].default, Value::Text("y".into()));
        assert!(columns("CREATE TABLE t (a /* open").is_err());
        // The table's PRIMARY KEY of one INTEGER column: the rowid's alias too.
        let alias = |sql: &str| columns(sql).unwrap().iter().map(|c| c.rowid_alias).collect::<Vec<_>>();
        assert_eq!(alias("CREATE TABLE t (x, id INTEGER NOT NULL, CONSTRAINT pk PRIMARY KEY (`id` DESC))"), [false, true]);
        assert_eq!(alias("CREATE TABLE t (id INTEGER, y, PRIMARY KEY (id, y))"), [false, false]);
        assert_eq!(alias("CREATE TABLE t (id INT, PRIMARY KEY (id))"), [false]);
    }

    /// A varint below 2^14.
    fn var(v: usize) -> Vec<u8> {
        if v < 128 { vec![v as u8] } else { vec![0x80 | (v >> 7) as u8, (v & 0x7f) as u8] }
    }

    /// A record of `values` (ints fit a byte; text).
    fn rec(values: &[Value]) -> Vec<u8> {
        let (mut head, mut body) = (Vec::new(), Vec::new());
        for v in values {
            match v {
                Value::Null => head.push(0),
                Value::Int(i) => {
                    head.push(1);
                    body.push(*i as u8);
                }
                Value::Text(t) => {
                    head.extend(var(13 + 2 * t.len()));
                    body.extend_from_slice(t.as_bytes());
                }
                _ => unreachable!(),
            }
        }
        let mut out = vec![head.len() as u8 + 1];
        out.extend(head);
        out.extend(body);
        out
    }

    /// A table leaf page (`page1`: after the file header) holding `cells` (rowid, record).
    fn leaf(page: &mut [u8], h: usize, cells: &[(u8, Vec<u8>)]) {
        page[h] = 0x0d;
        page[h + 3..h + 5].copy_from_slice(&(cells.len() as u16).to_be_bytes());
        let mut end = page.len();
        for (i, (rowid, r)) in cells.iter().enumerate() {
            let mut cell = var(r.len());
            cell.push(*rowid);
            cell.extend(r);
            end -= cell.len();
            page[end..end + cell.len()].copy_from_slice(&cell);
            page[h + 8 + 2 * i..h + 10 + 2 * i].copy_from_slice(&(end as u16).to_be_bytes());
        }
        page[h + 5..h + 7].copy_from_slice(&(end as u16).to_be_bytes());
    }

    /// A 512-byte-page database: page 1 names table `t` (root page 2, `sql`); `pages` pages.
    fn db(sql: &str, pages: u32) -> Vec<u8> {
        let mut f = vec![0u8; 512 * pages as usize];
        f[..16].copy_from_slice(b"SQLite format 3\0");
        f[16..18].copy_from_slice(&512u16.to_be_bytes());
        (f[18], f[19], f[21], f[22], f[23]) = (1, 1, 64, 32, 32);
        f[24..28].copy_from_slice(&1u32.to_be_bytes());
        f[28..32].copy_from_slice(&pages.to_be_bytes());
        f[56..60].copy_from_slice(&1u32.to_be_bytes());
        f[92..96].copy_from_slice(&1u32.to_be_bytes());
        let t = |s: &str| Value::Text(s.into());
        let schema = rec(&[t("table"), t("t"), t("t"), Value::Int(2), t(sql)]);
        leaf(&mut f[..512], 100, &[(1, schema)]);
        f
    }

    /// Page `n` an interior page with no cells whose right child is `right`.
    fn interior(f: &mut [u8], n: u32, right: u32) {
        let p = &mut f[(n as usize - 1) * 512..n as usize * 512];
        p[0] = 0x05;
        p[5..7].copy_from_slice(&512u16.to_be_bytes());
        p[8..12].copy_from_slice(&right.to_be_bytes());
    }

    #[test]
    fn rows_cycles_depth_and_the_log() {
        let sql = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, added TEXT DEFAULT 'later')";
        let mut f = db(sql, 3);
        interior(&mut f, 2, 3);
        leaf(&mut f[1024..], 0, &[(7, rec(&[Value::Null, Value::Text("seven".into())]))]);
        let t = Database::open(&f, None).unwrap().table("T").unwrap();
        assert_eq!(t.columns, ["id", "name", "added"]);
        // The rowid for the key; the default for the column added after the row.
        assert_eq!(t.rows, [vec![Value::Int(7), Value::Text("seven".into()), Value::Text("later".into())]]);
        assert!(Database::open(&f, None).unwrap().table("u").is_err());
        // A page that is its own child; a chain deeper than MAX_DEPTH; a child outside the file.
        let mut cyc = db(sql, 2);
        interior(&mut cyc, 2, 2);
        assert!(Database::open(&cyc, None).unwrap().table("t").unwrap_err().0.contains("used twice"));
        let n = MAX_DEPTH as u32 + 5;
        let mut deep = db(sql, n);
        for p in 2..n {
            interior(&mut deep, p, p + 1);
        }
        assert!(Database::open(&deep, None).unwrap().table("t").unwrap_err().0.contains("deeper"));
        let mut out = db(sql, 2);
        interior(&mut out, 2, 9);
        assert!(Database::open(&out, None).unwrap().table("t").unwrap_err().0.contains("outside"));
        // A log whose one frame commits page 2 as a leaf with another row (little-endian sums).
        let mut page = vec![0u8; 512];
        leaf(&mut page, 0, &[(9, rec(&[Value::Null, Value::Text("nine".into())]))]);
        let mut wal = vec![0u8; 32];
        wal[..4].copy_from_slice(&0x377f0682u32.to_be_bytes());
        wal[4..8].copy_from_slice(&3007000u32.to_be_bytes());
        wal[8..12].copy_from_slice(&512u32.to_be_bytes());
        wal[16..24].copy_from_slice(b"saltsalt");
        let s = wal_checksum(&wal[..24], false, (0, 0));
        wal[24..28].copy_from_slice(&s.0.to_be_bytes());
        wal[28..32].copy_from_slice(&s.1.to_be_bytes());
        let mut head = vec![0u8; 24];
        head[..4].copy_from_slice(&2u32.to_be_bytes());
        head[4..8].copy_from_slice(&2u32.to_be_bytes());
        head[8..16].copy_from_slice(b"saltsalt");
        let s = wal_checksum(&page, false, wal_checksum(&head[..8], false, s));
        head[16..20].copy_from_slice(&s.0.to_be_bytes());
        head[20..24].copy_from_slice(&s.1.to_be_bytes());
        wal.extend(&head);
        wal.extend(&page);
        let rows = |w: &[u8]| Database::open(&f, Some(w)).unwrap().table("t").unwrap().rows;
        assert_eq!(rows(&wal)[0][..2], [Value::Int(9), Value::Text("nine".into())]);
        // A wrong checksum, or the frame cut short: the file's own rows.
        let mut bad = wal.clone();
        bad[32 + 24 + 100] ^= 1;
        assert_eq!(rows(&bad)[0][0], Value::Int(7));
        assert_eq!(rows(&wal[..wal.len() - 1])[0][0], Value::Int(7));
        // No log header (another magic number, page size or header checksum): not used.
        for at in [3, 11, 24] {
            let mut other = wal.clone();
            other[at] ^= 1;
            assert_eq!(rows(&other)[0][0], Value::Int(7), "byte {at}");
        }
    }

    /// Cells that share their bytes (every pointer of a leaf at one cell): each row's bytes
    /// are read once per pointer, so memory and time would grow far past the file's size.
    #[test]
    fn cells_sharing_bytes_are_refused() {
        let sql = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)";
        let mut f = db(sql, 2);
        leaf(&mut f[512..], 0, &[(7, rec(&[Value::Null, Value::Text("x".repeat(200))]))]);
        let p = &mut f[512..];
        let one = [p[8], p[9]];
        p[3..5].copy_from_slice(&100u16.to_be_bytes());
        for i in 0..100 {
            p[8 + 2 * i..10 + 2 * i].copy_from_slice(&one);
        }
        let r = Database::open(&f, None).unwrap().table("t");
        assert!(matches!(&r, Err(e) if e.0.contains("overlap")), "{:?}", r.map(|t| t.rows.len()));
    }

    /// A column added with a long DEFAULT and many rows written before it: each row gets a
    /// copy of the default, so the values are bounded, not the file only.
    #[test]
    fn defaults_copied_into_many_rows_are_bounded() {
        let mut f = vec![0u8; 65536 * 2];
        f[..16].copy_from_slice(b"SQLite format 3\0");
        f[16..18].copy_from_slice(&1u16.to_be_bytes());
        (f[18], f[19], f[21], f[22], f[23]) = (1, 1, 64, 32, 32);
        f[24..28].copy_from_slice(&1u32.to_be_bytes());
        f[28..32].copy_from_slice(&2u32.to_be_bytes());
        f[56..60].copy_from_slice(&1u32.to_be_bytes());
        f[92..96].copy_from_slice(&1u32.to_be_bytes());
        let sql = format!("CREATE TABLE t (a TEXT DEFAULT '{}')", "d".repeat(30000));
        let mut schema = vec![0u8; 0];
        // The schema record by hand (its text is longer than `rec` writes).
        let head: Vec<Vec<u8>> = ["table", "t", "t"].iter().map(|s| var(13 + 2 * s.len())).collect();
        let long = 13 + 2 * sql.len();
        let long = vec![0x80 | (long >> 14) as u8, 0x80 | ((long >> 7) & 0x7f) as u8, (long & 0x7f) as u8];
        let hsize = 1 + head.iter().map(Vec::len).sum::<usize>() + 1 + long.len();
        schema.push(hsize as u8);
        head.iter().for_each(|h| schema.extend(h));
        schema.push(1);
        schema.extend(&long);
        schema.extend(b"tablett");
        schema.push(2);
        schema.extend(sql.as_bytes());
        let mut cell =
            vec![0x80 | (schema.len() >> 14) as u8, 0x80 | ((schema.len() >> 7) & 0x7f) as u8, (schema.len() & 0x7f) as u8, 1];
        cell.extend(&schema);
        let at = 65536 - cell.len();
        f[at..65536].copy_from_slice(&cell);
        f[100] = 0x0d;
        f[103..105].copy_from_slice(&1u16.to_be_bytes());
        f[105..107].copy_from_slice(&(at as u16).to_be_bytes());
        f[108..110].copy_from_slice(&(at as u16).to_be_bytes());
        // Page 2: 6000 rows of no values (3 bytes each), written before the column came.
        let p = &mut f[65536..];
        let n = 6000;
        p[0] = 0x0d;
        p[3..5].copy_from_slice(&(n as u16).to_be_bytes());
        for i in 0..n {
            let at = 65536 - 3 * (i + 1);
            p[at..at + 3].copy_from_slice(&[1, 1, 1]);
            p[8 + 2 * i..10 + 2 * i].copy_from_slice(&(at as u16).to_be_bytes());
        }
        let r = Database::open(&f, None).unwrap().table("t");
        assert!(matches!(&r, Err(e) if e.0.contains("MiB")), "{:?}", r.map(|t| t.rows.len()));
    }

    #[test]
    fn refuses_what_is_no_database() {
        assert!(Database::open(b"hello", None).is_err());
        let mut h = vec![0u8; 1024];
        h[..16].copy_from_slice(b"SQLite format 3\0");
        h[16..18].copy_from_slice(&1000u16.to_be_bytes());
        assert!(Database::open(&h, None).err().is_some_and(|e| e.0.contains("page size")));
    }
}
