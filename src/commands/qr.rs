//! QR codes on the terminal: half blocks (two modules per character), dark on light with
//! ANSI colours so that the code scans on dark and light terminals alike (the look of
//! `qrencode -t ansiutf8`).

use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the code (the quiet zone).
const MARGIN: usize = 2;

/// The lowest error correction that fits (L holds the most), as for a terminal.
pub(crate) fn encode(data: &[u8]) -> Result<QrCode, String> {
    QrCode::with_error_correction_level(data, EcLevel::L)
        .map_err(|_| format!("{} bytes are too many for a QR code (2,953 at most); shorten AllowedIPs or DNS", data.len()))
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
    let data = match a.file.as_deref() {
        None | Some("-") => {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)
                .map_err(|e| super::io("Unable to read standard input", e))?;
            v
        }
        Some(f) => std::fs::read(f).map_err(|e| AppError::Read { path: f.to_string(), source: e })?,
    };
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
}
