//! QR codes on the terminal: half blocks (two modules per character), dark on light with
//! ANSI colours so that the code scans on dark and light terminals alike (the look of
//! `qrencode -t ansiutf8`).

use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the code (the quiet zone).
const MARGIN: usize = 2;

/// The most bytes a QR code holds (version 40, error correction L, bytes mode).
pub(crate) const MAX_BYTES: usize = 2953;

fn too_long(n: impl std::fmt::Display) -> String {
    format!("{n} bytes are too many for a QR code (2,953 at most); shorten AllowedIPs or DNS")
}

/// The lowest error correction that fits (L holds the most), as for a terminal. More than
/// [`MAX_BYTES`] is refused before any encoding is tried.
pub(crate) fn encode(data: &[u8]) -> Result<QrCode, String> {
    if data.len() > MAX_BYTES {
        return Err(too_long(data.len()));
    }
    QrCode::with_error_correction_level(data, EcLevel::L).map_err(|_| too_long(data.len()))
}

/// Reads what a QR code could hold from `r`, and no more: `Ok(Err(message))` as soon as
/// there is more (an endless pipe or /dev/zero is never read to its end).
pub(crate) fn read_bounded(r: impl std::io::Read) -> std::io::Result<Result<Vec<u8>, String>> {
    use std::io::Read as _;
    let mut v = Vec::with_capacity(MAX_BYTES + 1);
    r.take(MAX_BYTES as u64 + 1).read_to_end(&mut v)?;
    Ok(if v.len() > MAX_BYTES { Err(too_long(format!("more than {MAX_BYTES}"))) } else { Ok(v) })
}

/// The modules as rows of booleans (dark = true), quiet zone included.
pub(crate) fn modules(code: &QrCode) -> Vec<Vec<bool>> {
    let w = code.width();
    let colors = code.to_colors();
    let side = w + 2 * MARGIN;
    let mut rows = vec![vec![false; side]; side];
    for y in 0..w {
        for x in 0..w {
            rows[y + MARGIN][x + MARGIN] = colors[y * w + x] == Color::Dark;
        }
    }
    rows
}

/// The code as text: each line two rows of modules, `▀`, `▄`, `█` or a space in black on
/// a white background.
pub(crate) fn render(code: &QrCode, ansi: bool) -> String {
    let rows = modules(code);
    let mut s = String::new();
    for pair in rows.chunks(2) {
        if ansi {
            s.push_str("\x1b[30;47m");
        }
        for x in 0..pair[0].len() {
            let top = pair[0][x];
            let bottom = pair.get(1).is_some_and(|r| r[x]);
            s.push(match (top, bottom) {
                (true, true) => '\u{2588}',
                (true, false) => '\u{2580}',
                (false, true) => '\u{2584}',
                (false, false) => ' ',
            });
        }
        if ansi {
            s.push_str("\x1b[0m");
        }
        s.push('\n');
    }
    s
}

/// The QR code of `data` as terminal text.
pub(crate) fn terminal(data: &[u8]) -> Result<String, String> {
    Ok(render(&encode(data)?, true))
}

// `wgq qr`'s arguments (and clap's definition of them).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct QrArgs {
    /// The file; standard input for - or none
    #[arg(value_name = "FILE|-")]
    pub file: Option<String>,
}

/// `wgq qr`: the file (standard input for `-` or none) as a QR code on the terminal.
pub(crate) fn run(a: &QrArgs) -> Result<i32, super::AppError> {
    use super::AppError;
    // At most what a QR code holds is read (stdin may be endless, a file /dev/zero).
    let data = match a.file.as_deref() {
        None | Some("-") => read_bounded(std::io::stdin().lock()).map_err(|e| super::io("Unable to read standard input", e))?,
        Some(f) => {
            std::fs::File::open(f).and_then(read_bounded).map_err(|e| AppError::Read { path: f.to_string(), source: e })?
        }
    }
    .map_err(AppError::Other)?;
    let text = terminal(&data).map_err(AppError::Other)?;
    super::write_out(&mut std::io::stdout().lock(), text.as_bytes())?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_blocks_carry_every_module() {
        let data = b"[Interface]\nPrivateKey = x\nAddress = 10.8.0.2/32\n";
        let code = encode(data).unwrap();
        let text = render(&code, false);
        // Read the modules back from the characters.
        let mut back: Vec<Vec<bool>> = Vec::new();
        for line in text.lines() {
            let (mut top, mut bottom) = (Vec::new(), Vec::new());
            for c in line.chars() {
                top.push(c == '\u{2588}' || c == '\u{2580}');
                bottom.push(c == '\u{2588}' || c == '\u{2584}');
            }
            back.push(top);
            back.push(bottom);
        }
        let m = modules(&code);
        back.truncate(m.len());
        assert_eq!(back, m);
        assert_eq!(m.len(), code.width() + 4);
        assert!(render(&code, true).starts_with("\x1b[30;47m") && render(&code, true).contains("\x1b[0m\n"));
        assert!(encode(&[b'a'; 3000]).err().unwrap().contains("3000 bytes"));
    }

    #[test]
    fn too_much_is_refused_before_encoding_and_reading_stops_there() {
        assert!(encode(&[b'a'; MAX_BYTES]).is_ok());
        // 10 MB: refused by the size check before the encoder sees it (its own error would
        // not count the bytes; no timing here: speed is the benchmarks' business).
        assert!(encode(&vec![b'7'; 10 << 20]).err().unwrap().contains("10485760 bytes"));
        assert_eq!(read_bounded(&[b'a'; MAX_BYTES][..]).unwrap().unwrap().len(), MAX_BYTES);
        // An endless source: only one byte past the limit is read.
        let e = read_bounded(std::io::repeat(b'a')).unwrap().unwrap_err();
        assert!(e.contains("more than 2953 bytes"), "{e}");
    }
}
